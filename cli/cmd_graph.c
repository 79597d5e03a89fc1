/*
 * `aftershock graph`: the import graph of the project around the current directory, as JSON
 * in the shape `ruff analyze graph` prints ({"path": ["dependency", ...]}) or as Graphviz dot.
 */
#include "cli.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_DIRECTION = 1,
    OPT_CLOSURE,
    OPT_FORMAT,
    OPT_NO_TC,
    OPT_STRICT,
    OPT_STATS,
};

static const cli_option options[] = {
    {OPT_DIRECTION, "direction", 0, CLI_REQUIRED_ARG, "dependencies|dependents",
     "list what each file imports (default) or what imports it"},
    {OPT_CLOSURE, "closure", 0, CLI_NO_ARG, NULL, "transitive closure instead of direct edges"},
    {OPT_FORMAT, "format", 0, CLI_REQUIRED_ARG, "json|dot", "output format (default: json)"},
    {OPT_NO_TC, "no-type-checking-imports", 0, CLI_NO_ARG, NULL,
     "leave out imports made only under `if TYPE_CHECKING:`"},
    {OPT_STRICT, "strict", 0, CLI_NO_ARG, NULL, "exit 1 if there was any warning"},
    {OPT_STATS, "stats", 0, CLI_NO_ARG, NULL,
     "print what was read, parsed and taken from the parse cache (stderr)"},
    CLI_PROJECT_OPTIONS,
    {0},
};

const cli_command cli_graph_command = {
    .name = "graph",
    .summary = "Print the import graph of the project: every Python file with the project files "
               "it imports (parent packages' __init__.py included).",
    .options = options,
    .run = cmd_graph,
};

typedef struct graph_args {
    ash_project_options project;
    unsigned write;
    int dot;
    int strict;
    int stats;
} graph_args;

static int parse(const cli_command *cmd, int argc, char **argv, graph_args *a, cli_diag *diag)
{
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv);
    int opt;
    while ((opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_DIRECTION:
            if (strcmp(p.value, "dependents") == 0) {
                a->write |= ASH_WRITE_DEPENDENTS;
            } else if (strcmp(p.value, "dependencies") != 0) {
                return cli_usage_error(cmd, "--direction is dependencies or dependents, not '%s'",
                                       p.value);
            }
            break;
        case OPT_CLOSURE:
            a->write |= ASH_WRITE_CLOSURE;
            break;
        case OPT_FORMAT:
            if (strcmp(p.value, "dot") == 0) {
                a->dot = 1;
            } else if (strcmp(p.value, "json") != 0) {
                return cli_usage_error(cmd, "--format is json or dot, not '%s'", p.value);
            }
            break;
        case OPT_NO_TC:
            a->write |= ASH_WRITE_NO_TYPE_CHECKING;
            break;
        case OPT_STRICT:
            a->strict = 1;
            break;
        case OPT_STATS:
            a->stats = 1;
            break;
        case CLI_POSITIONAL:
            return cli_usage_error(cmd, "unexpected argument '%s'", p.value);
        case CLI_HELP:
            return -1;
        default:
            if (cli_project_option(cmd, opt, p.value, &a->project, diag) <= 0) {
                return CLI_EXIT_ERROR;
            }
        }
    }
    return 0;
}

int cmd_graph(const cli_command *cmd, int argc, char **argv)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cli_diag diag = {0};
    graph_args a = {0};
    int rc = parse(cmd, argc, argv, &a, &diag);
    if (rc != 0) {
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    a.project.diag = cli_diag_print;
    a.project.payload = &diag;
    ash_project *project = NULL;
    ash_graph *graph = NULL;
    int status = CLI_EXIT_OK;
    if ((rc = ash_project_open(&project, NULL, &a.project)) < 0 ||
        (rc = ash_graph_build(&graph, project)) < 0) {
        status = cli_fail(rc);
        goto done;
    }
    if (!ash_project_type_checking_imports(project)) {
        a.write |= ASH_WRITE_NO_TYPE_CHECKING;
    }
    rc = a.dot ? ash_graph_write_dot(graph, stdout, a.write)
               : ash_graph_write_json(graph, stdout, a.write);
    if (rc < 0) {
        status = cli_fail(rc);
        goto done;
    }
    if (a.stats) {
        ash_build_stats st;
        ash_graph_stats(graph, &st);
        fprintf(stderr,
                "aftershock: %zu files: %zu from the parse cache, %zu read, %zu parsed; "
                "%zu imports, %zu edges, %zu unresolved; %.3f s (list %.3f, extract %.3f, "
                "link %.3f)\n",
                st.files, st.cached, st.read, st.parsed, st.imports, st.edges, st.unresolved,
                cli_elapsed(&start), st.list_seconds, st.extract_seconds, st.link_seconds);
    }
    if (a.strict && diag.count) {
        status = CLI_EXIT_WARNINGS;
    }
done:
    ash_graph_free(graph);
    ash_project_free(project);
    return status;
}
