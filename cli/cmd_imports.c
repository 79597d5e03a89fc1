/*
 * `aftershock imports [--json] [--strict] FILE...`: the import records of files, as
 * extracted (unresolved), one per line.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1, OPT_STRICT };

static const cli_option options[] = {
    {OPT_JSON, "json", 0, CLI_NO_ARG, NULL, "one JSON object per import and line"},
    {OPT_STRICT, "strict", 0, CLI_NO_ARG, NULL, "exit 1 if any file gave a warning"},
    {0},
};

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
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p);
        } else {
            fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void print_json(FILE *out, const char *file, const ash_import *imp)
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
    fputs("}\n", out);
}

static void print_text(FILE *out, const char *file, const ash_import *imp)
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

int cmd_imports(const cli_command *cmd, int argc, char **argv)
{
    int json = 0, strict = 0, opt, files = 0;
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
    int status = CLI_EXIT_OK;
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        if (opt != CLI_POSITIONAL) {
            continue;
        }
        ash_imports *imports;
        int rc = ash_imports_parse_file(&imports, p.value, cli_diag_print, &diag);
        if (rc == ASH_ENOMEM) {
            return cli_fail(rc);
        }
        if (rc < 0) {
            cli_diag_print(p.value,
                           strchr(ash_error_last(), ':') ? strchr(ash_error_last(), ':') + 2
                                                         : ash_error_last(),
                           &diag);
            continue;
        }
        for (size_t i = 0; i < ash_imports_count(imports); i++) {
            const ash_import *imp = ash_imports_get(imports, i);
            if (json) {
                print_json(stdout, p.value, imp);
            } else {
                print_text(stdout, p.value, imp);
            }
        }
        ash_imports_free(imports);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "aftershock: cannot write the output\n");
        return CLI_EXIT_ERROR;
    }
    if (strict && diag.count) {
        status = CLI_EXIT_WARNINGS;
    }
    return status;
}
