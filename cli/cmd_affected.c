/*
 * `aftershock affected [--since REF] [--staged] [--files F...] [--json] [-- PYTEST_ARGS]`: the
 * test modules a change set affects.
 * `aftershock why TEST_MODULE [--changed FILE] [--since REF] [--staged]`: why one would run:
 * the shortest import chain to a changed file, or the other reason.
 */
#include "affected.h"
#include "changes.h"
#include "cli.h"
#include "session.h"
#include "state.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_SINCE = 1, OPT_STAGED, OPT_FILES, OPT_JSON, OPT_CHANGED };

#define CHANGE_OPTIONS                                                                             \
    {OPT_SINCE, "since",                                                                           \
     0,         CLI_REQUIRED_ARG,                                                                  \
     "REF",     "changes since git revision REF (default: the work tree against HEAD)"},           \
    {                                                                                              \
        OPT_STAGED, "staged", 0, CLI_NO_ARG, NULL, "the staged changes (what a commit records)"    \
    }

static const cli_option affected_options[] = {
    CHANGE_OPTIONS,
    {OPT_FILES, "files", 0, CLI_NO_ARG, NULL, "the arguments are the changed files"},
    {OPT_JSON, "json", 0, CLI_NO_ARG, NULL, "print JSON with the reason for each module"},
    CLI_PROJECT_OPTIONS,
    {0},
};

static const cli_option why_options[] = {
    {OPT_CHANGED, "changed", 0, CLI_REQUIRED_ARG, "FILE",
     "explain how FILE reaches the module (default: the changes found by git)"},
    CHANGE_OPTIONS,
    CLI_PROJECT_OPTIONS,
    {0},
};

const cli_command cli_affected_command = {
    .name = "affected",
    .args = "[--files FILE...] [-- PYTEST_ARGS]",
    .summary = "List the test modules whose inputs include a changed file.",
    .options = affected_options,
    .run = cmd_affected,
};

const cli_command cli_why_command = {
    .name = "why",
    .args = "TEST_MODULE",
    .summary = "Say why a test module is affected: the import chain to the change, or the "
               "other reason.",
    .options = why_options,
    .run = cmd_why,
};

typedef struct sel_args {
    ash_project_options project;
    ash_strings files;       /* --files, or why's TEST_MODULE */
    ash_strings pytest_args; /* after -- */
    const char *since;
    const char *changed; /* why --changed */
    int staged, use_files, json;
} sel_args;

static void free_args(sel_args *a);
static int parse_options(const cli_command *cmd, int argc, char **argv, sel_args *a,
                         cli_diag *diag);

/* Parse into `a`: 0, -1 after --help, or an exit status (then `a` holds nothing). */
static int parse(const cli_command *cmd, int argc, char **argv, sel_args *a, cli_diag *diag)
{
    int status = parse_options(cmd, argc, argv, a, diag);
    if (status != 0) {
        free_args(a);
    }
    return status;
}

static int parse_options(const cli_command *cmd, int argc, char **argv, sel_args *a, cli_diag *diag)
{
    cli_parser p;
    int opt, rc = 0;
    cli_parser_init(&p, cmd, argc, argv);
    while (rc == 0 && (opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_SINCE:
            a->since = p.value;
            break;
        case OPT_STAGED:
            a->staged = 1;
            break;
        case OPT_FILES:
            a->use_files = 1;
            break;
        case OPT_JSON:
            a->json = 1;
            break;
        case OPT_CHANGED:
            a->changed = p.value;
            break;
        case CLI_POSITIONAL:
            rc = ash__strings_add(p.only_positional ? &a->pytest_args : &a->files, p.value,
                                  strlen(p.value));
            break;
        case CLI_HELP:
            return -1;
        case CLI_USAGE:
            return CLI_EXIT_ERROR;
        default:
            if (cli_project_option(cmd, opt, p.value, &a->project, diag) <= 0) {
                return CLI_EXIT_ERROR;
            }
        }
    }
    if (rc < 0) {
        return cli_fail(rc);
    }
    if (a->staged && a->since) {
        return cli_usage_error(cmd, "--staged and --since cannot be used together");
    }
    return 0;
}

static void free_args(sel_args *a)
{
    ash__strings_free(&a->files);
    ash__strings_free(&a->pytest_args);
}

/* A path the user gave (relative to the working directory) relative to the root, or NULL. */
static char *project_path(const ash_session *s, const char *arg)
{
    char *abs = realpath(arg, NULL);
    const char *root = ash_project_root(s->project);
    const char *below = NULL;
    char *rel = NULL;
    if (!abs) {
        /* a deleted file: relative to the working directory inside the project */
        ash_buf b = ASH_BUF_INIT;
        if (s->start[0] && arg[0] != '/') {
            ash__buf_printf(&b, "%s/%s", s->start, arg);
        } else if ((below = ash__path_below(root, arg)) && *below) {
            ash__buf_puts(&b, below);
        } else if (arg[0] != '/') {
            ash__buf_puts(&b, arg);
        }
        return b.len ? ash__buf_detach(&b) : (ash__buf_free(&b), NULL);
    }
    if ((below = ash__path_below(root, abs)) && *below) {
        rel = ash__strdup(below);
    }
    free(abs);
    return rel;
}

/* The change set: --files, or git's answer. */
static int change_set(ash_strings *out, ash_strings *added, int *all, const ash_session *s,
                      const sel_args *a)
{
    *all = 0;
    if (a->use_files) {
        for (size_t i = 0; i < a->files.count; i++) {
            char *rel = project_path(s, a->files.items[i]);
            if (!rel) {
                fprintf(stderr, "aftershock: %s: not a file of the project; ignored\n",
                        a->files.items[i]);
                continue;
            }
            int rc = ash__strings_add_unique(out, rel, strlen(rel));
            ash__free(rel);
            if (rc < 0) {
                return rc;
            }
        }
        ash__sort_unique_strings(out->items, &out->count);
        return 0;
    }
    return ash__changed_files(out, added, all, ash_project_root(s->project),
                              a->staged ? ASH_CHANGES_STAGED : ASH_CHANGES_WORKTREE, a->since,
                              a->project.diag, a->project.payload);
}

/* What both commands compute: the session, the change set, the last run, the decision. */
typedef struct selection {
    ash_session s;
    ash_strings changed;
    ash_strings added;
    ash_run_state last;
    ash_affected aff;
} selection;

static void selection_free(selection *sel)
{
    ash__affected_free(&sel->aff);
    ash__state_free(&sel->last);
    ash__strings_free(&sel->changed);
    ash__strings_free(&sel->added);
    ash__session_close(&sel->s);
}

/* Open the session and decide; the caller prints. 0 or an exit status (after a message). */
static int decide(sel_args *a, selection *sel)
{
    memset(sel, 0, sizeof(*sel));
    ash_session_options so = {a->pytest_args.items, a->pytest_args.count, NULL};
    int all = 0, rc = ash__session_open(&sel->s, &a->project, &so);
    if (rc < 0) {
        return cli_fail(rc);
    }
    if (!a->project.no_cache) {
        ash__last_run_load(&sel->last, sel->s.project, a->project.diag, a->project.payload);
    }
    if ((rc = change_set(&sel->changed, &sel->added, &all, &sel->s, a)) < 0 ||
        (rc = ash__affected(&sel->aff, &sel->s, &sel->changed, &sel->added, all, &sel->last)) < 0) {
        return cli_fail(rc);
    }
    return 0;
}

static void print_json(const ash_session *s, const ash_strings *changed, const ash_affected *aff)
{
    const ash_suite *suite = &s->suite;
    fputs("{\n  \"affected\": [", stdout);
    size_t shown = 0;
    for (size_t m = 0; m < suite->count; m++) {
        if (aff->why[m] == ASH_REASON_NONE) {
            continue;
        }
        fputs(shown++ ? ",\n    {\"path\": " : "\n    {\"path\": ", stdout);
        ash_write_json_string(stdout, ash_graph_node_path(s->graph, suite->modules[m].node));
        printf(", \"reason\": \"%s\"", ash_reason_name(aff->why[m]));
        const char *via = aff->why[m] == ASH_REASON_CHANGED
                              ? ash_graph_node_path(s->graph, aff->via[m])
                              : aff->via_path[m];
        if (via) {
            fputs(", \"via\": ", stdout);
            ash_write_json_string(stdout, via);
        }
        fputs("}", stdout);
    }
    printf("%s],\n  \"count\": %zu,\n  \"total\": %zu,\n  \"all\": ", shown ? "\n  " : "",
           aff->count, suite->count);
    if (aff->all_reason) {
        ash_write_json_string(stdout, aff->all_reason);
    } else {
        fputs("null", stdout);
    }
    fputs(",\n  \"changed\": [", stdout);
    for (size_t i = 0; i < changed->count; i++) {
        fputs(i ? ", " : "", stdout);
        ash_write_json_string(stdout, changed->items[i]);
    }
    fputs("]\n}\n", stdout);
}

int cmd_affected(const cli_command *cmd, int argc, char **argv)
{
    cli_diag diag = {0};
    sel_args a = {.project = {.diag = cli_diag_print, .payload = &diag}};
    int status = parse(cmd, argc, argv, &a, &diag);
    if (status != 0) {
        return status < 0 ? CLI_EXIT_OK : status;
    }
    if (!a.use_files && a.files.count) {
        cli_usage_error(cmd,
                        "unexpected argument '%s' (changed files need --files; pytest "
                        "arguments go after --)",
                        a.files.items[0]);
        free_args(&a);
        return CLI_EXIT_ERROR;
    }
    selection sel;
    status = decide(&a, &sel);
    if (status == 0) {
        if (a.json) {
            print_json(&sel.s, &sel.changed, &sel.aff);
        } else {
            for (size_t m = 0; m < sel.s.suite.count; m++) {
                if (sel.aff.why[m] != ASH_REASON_NONE) {
                    puts(ash_graph_node_path(sel.s.graph, sel.s.suite.modules[m].node));
                }
            }
        }
        if (!diag.quiet && sel.aff.all_reason) {
            fprintf(stderr, "aftershock: all %zu test modules are affected: %s\n",
                    sel.s.suite.count, sel.aff.all_reason);
        } else if (!diag.quiet) {
            fprintf(stderr, "aftershock: %zu of %zu test modules affected by %zu changed file%s\n",
                    sel.aff.count, sel.s.suite.count, sel.changed.count,
                    sel.changed.count == 1 ? "" : "s");
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "aftershock: cannot write the output\n");
            status = CLI_EXIT_ERROR;
        }
    }
    selection_free(&sel);
    free_args(&a);
    return status;
}

/* Explain module m: the chain to `target` node, or the reason in `aff`. */
static int explain(const ash_session *s, size_t m, const ash_affected *aff, long target,
                   const char *changed_arg, const ash_run_state *last)
{
    const char *path = ash_graph_node_path(s->graph, s->suite.modules[m].node);
    if (target >= 0 || aff->why[m] == ASH_REASON_CHANGED) {
        uint32_t t = target >= 0 ? (uint32_t)target : aff->via[m];
        ash_buf chain = ASH_BUF_INIT;
        int found = 0;
        if (ash__why_text(&chain, &found, s, m, t, "  ") < 0) {
            ash__buf_free(&chain);
            return cli_fail(ASH_ENOMEM);
        }
        if (found) {
            printf("%s depends on %s:\n%s", path, ash_graph_node_path(s->graph, t),
                   ash__buf_cstr(&chain));
        }
        ash__buf_free(&chain);
        if (found) {
            return CLI_EXIT_OK;
        }
        if (changed_arg) {
            printf("%s does not depend on %s\n", path, changed_arg);
            return CLI_EXIT_WARNINGS;
        }
    }
    switch (aff->why[m]) {
    case ASH_REASON_ALL:
        printf("%s: every test module is affected: %s\n", path, aff->all_reason);
        break;
    case ASH_REASON_DELETED:
        printf("%s: it imported %s, which is gone\n", path, aff->via_path[m]);
        break;
    case ASH_REASON_ADDED:
        printf("%s: the new file %s is named like a module it imports, and may shadow it\n", path,
               aff->via_path[m]);
        break;
    case ASH_REASON_DATA:
        printf("%s: %s changed, one of its data files ([tool.aftershock] data)\n", path,
               aff->via_path[m]);
        break;
    case ASH_REASON_UNRESOLVED:
        printf("%s: its imports reach a module found nowhere, so it always runs "
               "(`aftershock imports --resolve` shows which)\n",
               path);
        break;
    case ASH_REASON_FAILED:
        printf("%s: it did not pass last time\n", path);
        break;
    case ASH_REASON_NEW:
        printf("%s: new since the last run\n", path);
        break;
    default: {
        const ash_state_module *seen = last ? ash__state_find(last, path) : NULL;
        if (changed_arg) {
            printf("%s does not depend on %s\n", path, changed_arg);
            return CLI_EXIT_WARNINGS;
        }
        if (seen && memcmp(&seen->inputs, &s->suite.modules[m].inputs, sizeof(ash_key)) != 0) {
            printf("%s: no uncommitted change reaches it, but its inputs changed since the "
                   "last run (committed changes): it would run\n",
                   path);
        } else {
            printf("%s: not affected: no changed file is among its inputs%s\n", path,
                   seen ? "; its last result would be replayed" : "");
        }
    }
    }
    return CLI_EXIT_OK;
}

int cmd_why(const cli_command *cmd, int argc, char **argv)
{
    cli_diag diag = {0};
    sel_args a = {.project = {.diag = cli_diag_print, .payload = &diag}};
    int status = parse(cmd, argc, argv, &a, &diag);
    if (status != 0) {
        return status < 0 ? CLI_EXIT_OK : status;
    }
    if (a.files.count != 1) {
        free_args(&a);
        return cli_usage_error(cmd, "give one test module");
    }
    selection sel;
    memset(&sel, 0, sizeof(sel));
    char *module = NULL, *target_path = NULL;
    char *module_arg = a.files.items[0];
    a.files.items[0] = NULL;
    a.files.count = 0;
    if (a.changed) {
        a.use_files = 1; /* the change set is that one file */
        if (ash__strings_add(&a.files, a.changed, strlen(a.changed)) < 0) {
            status = cli_fail(ASH_ENOMEM);
            goto done;
        }
    }
    if ((status = decide(&a, &sel)) != 0) {
        goto done;
    }
    module = project_path(&sel.s, module_arg);
    const ash_test_module *tm = module ? ash__suite_find(&sel.s.suite, module) : NULL;
    if (!tm) {
        fprintf(stderr, "aftershock why: %s: not a test module of the project\n", module_arg);
        status = CLI_EXIT_ERROR;
        goto done;
    }
    long target = -1;
    if (a.changed) {
        target_path = project_path(&sel.s, a.changed);
        target = target_path ? ash_graph_find(sel.s.graph, target_path) : -1;
    }
    status =
        explain(&sel.s, (size_t)(tm - sel.s.suite.modules), &sel.aff, target, a.changed, &sel.last);
done:
    ash__free(module_arg);
    ash__free(module);
    ash__free(target_path);
    selection_free(&sel);
    free_args(&a);
    return status;
}
