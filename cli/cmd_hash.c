/*
 * `aftershock hash [--json] [PATH|MODULE...]`: closure keys. Each Python file's key covers
 * the content of every file it imports, transitively (parent packages included), so the same
 * inputs give the same key on any machine and checkout path: a cache key for CI and wheel
 * builds. A directory gets one key for all its files; a dotted MODULE name is looked up in the
 * graph.
 */
#include "cli.h"
#include "util.h"

#include "aftershock/selector.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_JSON = 1, OPT_ENV };

static const cli_option options[] = {
    {OPT_JSON, "json", 0, CLI_NO_ARG, NULL,
     "print {\"path\": \"key\"} instead of `key  path` lines"},
    {OPT_ENV, "env", 0, CLI_NO_ARG, NULL,
     "mix in the environment key: interpreter, installed distributions (or the configured "
     "lockfiles), configured env vars"},
    CLI_PROJECT_OPTIONS,
    {0},
};

const cli_command cli_hash_command = {
    .name = "hash",
    .args = "[PATH|MODULE...]",
    .summary = "Print closure keys: per Python file, a hash of every file it imports, "
               "transitively (for a directory, one key over its files).",
    .options = options,
    .run = cmd_hash,
};

typedef struct hash_out {
    int json;
    int count;
    const ash_key *env; /* mixed into every key printed; NULL: closure keys alone */
} hash_out;

static void emit(hash_out *o, const char *name, const ash_key *key)
{
    char hex[33];
    ash_key mixed;
    if (o->env) {
        ash_key_with_environment(&mixed, key, o->env);
        key = &mixed;
    }
    ash_key_hex(key, hex);
    if (o->json) {
        fputs(o->count ? ",\n  " : "{\n  ", stdout);
        ash_write_json_string(stdout, name);
        printf(": \"%s\"", hex);
    } else {
        printf("%s  %s\n", hex, name);
    }
    o->count++;
}

/* The nodes an argument names: a file, every file under a directory, or a module. */
static int select_nodes(size_t **out, size_t *n, const ash_project *p, const ash_graph *g,
                        const char *arg, char **label, int *dir)
{
    *out = malloc((ash_graph_node_count(g) + 1) * sizeof(size_t));
    *n = 0;
    *label = NULL;
    if (!*out) {
        return ASH_ENOMEM;
    }
    char *abs = realpath(arg, NULL);
    const char *rel = abs ? ash__path_below(ash_project_root(p), abs) : NULL;
    if (rel) {
        size_t len = strlen(rel);
        struct stat st;
        *dir = stat(abs, &st) == 0 && S_ISDIR(st.st_mode);
        for (size_t i = 0; i < ash_graph_node_count(g); i++) {
            const char *path = ash_graph_node_path(g, i);
            if (*dir ? (len == 0 || (strncmp(path, rel, len) == 0 && path[len] == '/'))
                     : strcmp(path, rel) == 0) {
                (*out)[(*n)++] = i;
            }
        }
        size_t lsize = len + 3;
        *label = malloc(lsize);
        if (*label) {
            snprintf(*label, lsize, "%s%s", len ? rel : ".", *dir && len ? "/" : "");
        }
    } else {
        for (size_t i = 0; i < ash_graph_node_count(g); i++) {
            if (strcmp(ash_graph_node_module(g, i), arg) == 0) {
                (*out)[(*n)++] = i;
            }
        }
        *label = strdup(arg);
    }
    free(abs);
    return *label ? 0 : ASH_ENOMEM;
}

static int print_args(const cli_command *cmd, cli_parser *p, const ash_project *project,
                      const ash_graph *g, const ash_closure_keys *keys, hash_out *o)
{
    int opt, status = CLI_EXIT_OK;
    while ((opt = cli_next(p)) != CLI_END) {
        if (opt != CLI_POSITIONAL) {
            continue;
        }
        size_t *nodes, n;
        char *label;
        int dir = 0;
        if (select_nodes(&nodes, &n, project, g, p->value, &label, &dir) < 0) {
            free(nodes);
            free(label);
            fprintf(stderr, "aftershock: out of memory\n");
            return CLI_EXIT_ERROR;
        }
        ash_key key;
        if (n == 0) {
            fprintf(stderr, "aftershock %s: %s: no Python file or module of the project\n",
                    cmd->name, p->value);
            status = CLI_EXIT_ERROR;
        } else if (n == 1 && !dir) {
            /* a file, or a module that is one file: its own closure key */
            emit(o, label, ash_closure_key(keys, nodes[0]));
        } else if (ash_closure_keys_combine(&key, keys, g, nodes, n) == 0) {
            emit(o, label, &key);
        } else {
            status = cli_fail(ASH_ENOMEM);
        }
        free(nodes);
        free(label);
    }
    return status;
}

int cmd_hash(const cli_command *cmd, int argc, char **argv)
{
    cli_diag diag = {0};
    ash_project_options popts = {.diag = cli_diag_print, .payload = &diag};
    hash_out o = {0};
    int opt, args = 0, want_env = 0;
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_JSON:
            o.json = 1;
            break;
        case OPT_ENV:
            want_env = 1;
            break;
        case CLI_POSITIONAL:
            args++;
            break;
        case CLI_HELP:
            return CLI_EXIT_OK;
        default:
            if (cli_project_option(cmd, opt, p.value, &popts, &diag) <= 0) {
                return CLI_EXIT_ERROR;
            }
        }
    }
    ash_project *project = NULL;
    ash_graph *graph = NULL;
    ash_closure_keys *keys = NULL;
    ash_key env;
    int rc, status = CLI_EXIT_OK;
    if ((rc = ash_project_open(&project, NULL, &popts)) < 0 ||
        (rc = ash_graph_build(&graph, project)) < 0 ||
        (rc = ash_closure_keys_compute(&keys, graph)) < 0 ||
        (want_env && (rc = ash_environment_key(&env, project)) < 0)) {
        status = cli_fail(rc);
        goto done;
    }
    o.env = want_env ? &env : NULL;
    if (args) {
        cli_parser_init(&p, cmd, argc, argv);
        status = print_args(cmd, &p, project, graph, keys, &o);
    } else {
        for (size_t i = 0; i < ash_graph_node_count(graph); i++) {
            emit(&o, ash_graph_node_path(graph, i), ash_closure_key(keys, i));
        }
    }
    if (o.json) {
        fputs(o.count ? "\n}\n" : "{}\n", stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "aftershock: cannot write the output\n");
        status = CLI_EXIT_ERROR;
    }
done:
    ash_closure_keys_free(keys);
    ash_graph_free(graph);
    ash_project_free(project);
    return status;
}
