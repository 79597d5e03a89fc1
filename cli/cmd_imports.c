/*
 * `aftershock imports [--json] [--strict] FILE...`: the import records of files, as
 * extracted (unresolved), one per line.
 */
#include "cli.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1, OPT_STRICT, OPT_RESOLVE, OPT_ROOT };

static const cli_option options[] = {
    {OPT_JSON, "json", 0, CLI_NO_ARG, NULL, "one JSON object per import and line"},
    {OPT_RESOLVE, "resolve", 0, CLI_NO_ARG, NULL,
     "also say where each module was found: project, stdlib, third-party (with its "
     "distribution) or unknown"},
    {OPT_ROOT, "root", 0, CLI_REQUIRED_ARG, "DIR", "project root for --resolve (default: found)"},
    {OPT_STRICT, "strict", 0, CLI_NO_ARG, NULL, "exit 1 if any file gave a warning"},
    {0},
};

static const char *const origin_names[] = {"project", "stdlib", "third-party", "unknown"};

/* Where each import was found, for --resolve; NULL origin: not resolved. */
typedef struct origin_info {
    const ash_graph *graph;
    long node;
} origin_info;

const cli_command cli_imports_command = {
    .name = "imports",
    .args = "FILE...",
    .summary = "List the imports of Python files: every import statement, string import "
               "(importlib.import_module, __import__) and pytest_plugins entry.",
    .options = options,
    .run = cmd_imports,
};

static const char *kind_name(ash_import_kind kind)
{
    switch (kind) {
    case ASH_IMPORT_PLAIN:
        return "import";
    case ASH_IMPORT_FROM:
        return "from";
    default:
        return "string";
    }
}

static void json_string(FILE *out, const char *s)
{
    ash_write_json_string(out, s);
}

static void print_json(FILE *out, const char *file, const ash_import *imp, const origin_info *o,
                       size_t k)
{
    fputs("{\"file\": ", out);
    json_string(out, file);
    fprintf(out, ", \"line\": %u, \"kind\": \"%s\", \"module\": ", imp->line, kind_name(imp->kind));
    json_string(out, imp->module);
    fprintf(out, ", \"level\": %u, \"names\": [", imp->level);
    for (uint32_t i = 0; i < imp->name_count; i++) {
        if (i) {
            fputs(", ", out);
        }
        json_string(out, imp->names[i]);
    }
    fprintf(out, "], \"type_checking\": %s, \"optional\": %s, \"lazy\": %s",
            imp->flags & ASH_IMPORT_TYPE_CHECKING ? "true" : "false",
            imp->flags & ASH_IMPORT_OPTIONAL ? "true" : "false",
            imp->flags & ASH_IMPORT_LAZY ? "true" : "false");
    if (imp->package) {
        fputs(", \"package\": ", out);
        json_string(out, imp->package);
    }
    if (o) {
        const char *dist = NULL;
        ash_origin origin = o->node >= 0
                                ? ash_graph_import_origin(o->graph, (size_t)o->node, k, &dist)
                                : ASH_ORIGIN_UNKNOWN;
        fprintf(out, ", \"origin\": \"%s\"", origin_names[origin]);
        if (dist) {
            fputs(", \"distribution\": ", out);
            json_string(out, dist);
        }
    }
    fputs("}\n", out);
}

static void print_text(FILE *out, const char *file, const ash_import *imp, const origin_info *o,
                       size_t k)
{
    fprintf(out, "%s:%u: ", file, imp->line);
    switch (imp->kind) {
    case ASH_IMPORT_PLAIN:
        fprintf(out, "import %s", imp->module);
        break;
    case ASH_IMPORT_FROM:
        fprintf(out, "from %.*s%s import ", (int)imp->level, "................................",
                imp->module);
        for (uint32_t i = 0; i < imp->name_count; i++) {
            fprintf(out, "%s%s", i ? ", " : "", imp->names[i]);
        }
        break;
    default:
        fprintf(out, "string %.*s%s", (int)imp->level, "................................",
                imp->module);
        if (imp->package) {
            fprintf(out, " (package %s)", imp->package);
        }
        break;
    }
    const char *sep = " [";
    if (o) {
        const char *dist = NULL;
        ash_origin origin = o->node >= 0
                                ? ash_graph_import_origin(o->graph, (size_t)o->node, k, &dist)
                                : ASH_ORIGIN_UNKNOWN;
        fprintf(out, "%s%s%s%s", sep, origin_names[origin], dist ? " " : "", dist ? dist : "");
        sep = ", ";
    }
    if (imp->flags & ASH_IMPORT_TYPE_CHECKING) {
        fprintf(out, "%stype-checking", sep);
        sep = ", ";
    }
    if (imp->flags & ASH_IMPORT_OPTIONAL) {
        fprintf(out, "%soptional", sep);
        sep = ", ";
    }
    if (imp->flags & ASH_IMPORT_LAZY) {
        fprintf(out, "%slazy", sep);
        sep = ", ";
    }
    fputs(sep[0] == ',' ? "]\n" : "\n", out);
}

/* The node of `file` in the graph, or -1 (with a warning) if it is not a project file. */
static long node_of(const ash_project *project, const ash_graph *graph, const char *file,
                    cli_diag *diag)
{
    char *abs = realpath(file, NULL);
    const char *root = ash_project_root(project);
    const char *rel = abs ? ash__path_below(root, abs) : NULL;
    long node = rel && *rel ? ash_graph_find(graph, rel) : -1;
    if (node < 0) {
        char msg[4200];
        snprintf(msg, sizeof(msg), "not a Python file of the project at %s; not resolved", root);
        cli_diag_print(file, msg, diag);
    }
    free(abs);
    return node;
}

/* Print the records of one file. */
static int print_file(const char *file, int json, const ash_project *project,
                      const ash_graph *graph, cli_diag *diag)
{
    ash_imports *own = NULL;
    const ash_imports *imports = NULL;
    origin_info o = {graph, -1};
    if (graph) {
        o.node = node_of(project, graph, file, diag);
        imports = o.node >= 0 ? ash_graph_node_imports(graph, (size_t)o.node) : NULL;
    }
    if (!imports) {
        int rc = ash_imports_parse_file(&own, file, cli_diag_print, diag);
        if (rc == ASH_ENOMEM) {
            return rc;
        }
        if (rc < 0) {
            const char *colon = strstr(ash_error_last(), ": ");
            cli_diag_print(file, colon ? colon + 2 : ash_error_last(), diag);
            return 0;
        }
        imports = own;
    }
    for (size_t i = 0; i < ash_imports_count(imports); i++) {
        const ash_import *imp = ash_imports_get(imports, i);
        if (json) {
            print_json(stdout, file, imp, graph ? &o : NULL, i);
        } else {
            print_text(stdout, file, imp, graph ? &o : NULL, i);
        }
    }
    ash_imports_free(own);
    return 0;
}

int cmd_imports(const cli_command *cmd, int argc, char **argv)
{
    int json = 0, strict = 0, resolve = 0, opt, files = 0;
    ash_project_options popts = {0};
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_JSON:
            json = 1;
            break;
        case OPT_STRICT:
            strict = 1;
            break;
        case OPT_RESOLVE:
            resolve = 1;
            break;
        case OPT_ROOT:
            popts.root = p.value;
            break;
        case CLI_POSITIONAL:
            files++;
            break;
        case CLI_HELP:
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_ERROR;
        }
    }
    if (!files) {
        return cli_usage_error(cmd, "no FILE given");
    }
    cli_diag diag = {0};
    ash_project *project = NULL;
    ash_graph *graph = NULL;
    int rc = 0, status = CLI_EXIT_OK;
    if (resolve) {
        cli_diag quiet = {.quiet = 1}; /* the project's own warnings belong to `graph` */
        popts.diag = cli_diag_print;
        popts.payload = &quiet;
        if ((rc = ash_project_open(&project, NULL, &popts)) < 0 ||
            (rc = ash_graph_build(&graph, project)) < 0) {
            status = cli_fail(rc);
            goto done;
        }
    }
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        if (opt == CLI_POSITIONAL && (rc = print_file(p.value, json, project, graph, &diag)) < 0) {
            status = cli_fail(rc);
            goto done;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "aftershock: cannot write the output\n");
        status = CLI_EXIT_ERROR;
    } else if (strict && diag.count) {
        status = CLI_EXIT_WARNINGS;
    }
done:
    ash_graph_free(graph);
    ash_project_free(project);
    return status;
}
