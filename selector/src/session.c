/*
 * Selection sessions (see session.h).
 */
#include "session.h"

#include "project.h"
#include "rcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A pytest argument naming a file or directory of the project (with an optional ::node id):
 * its path relative to the root into `*rel` (owned), the node id part into `*rest`. */
static int as_path(char **rel, const char **rest, const char *arg, const char *root)
{
    *rel = NULL;
    *rest = NULL;
    if (arg[0] == '-') {
        return 0;
    }
    const char *sep = strstr(arg, "::");
    char *file = sep ? ash__strndup(arg, (size_t)(sep - arg)) : ash__strdup(arg);
    if (!file) {
        return ash__error_oom();
    }
    int rc = ash__real_below(rel, root, file);
    ash__free(file);
    *rest = *rel ? sep : NULL;
    return rc;
}

/* pytest options (its own and common plugins') that take no value. */
static const char *const flags[] = {
    "--cache-clear",
    "--co",
    "--collect-only",
    "--cov-append",
    "--cov-branch",
    "--disable-pytest-warnings",
    "--disable-warnings",
    "--doctest-continue-on-failure",
    "--doctest-modules",
    "--exitfirst",
    "--failed-first",
    "--ff",
    "--fixtures",
    "--fixtures-per-test",
    "--full-trace",
    "--funcargs",
    "--help",
    "--keep-duplicates",
    "--last-failed",
    "--lf",
    "--looponfail",
    "--markers",
    "--new-first",
    "--nf",
    "--no-cov",
    "--no-cov-on-fail",
    "--no-header",
    "--no-showlocals",
    "--no-summary",
    "--noconftest",
    "--pdb",
    "--quiet",
    "--runxfail",
    "--setup-only",
    "--setup-plan",
    "--setup-show",
    "--showlocals",
    "--stepwise",
    "--stepwise-skip",
    "--strict",
    "--strict-config",
    "--strict-markers",
    "--sw",
    "--sw-skip",
    "--trace",
    "--verbose",
    "--version",
};

/*
 * Does the argument after option `arg` belong to it? Yes for an option that may take a
 * separate value (`--ignore PATH`, `--deselect ID`, `-k EXPR`, `--cov SRC`), and for any option
 * not known to be a flag: taking a plugin option's value for a path would narrow the
 * selection to it and skip modules pytest runs; taking a path for a value only runs more.
 */
static int takes_next(const char *arg)
{
    if (arg[0] != '-' || strchr(arg, '=')) {
        return 0; /* not an option, or its value is attached */
    }
    if (arg[1] != '-') {
        /* -v, -vvx: flags only; -k EXPR, -vk EXPR: the value follows; -kEXPR: attached */
        size_t n = strspn(arg + 1, "vqxslhVf");
        return arg[1 + n] != '\0' && arg[2 + n] == '\0';
    }
    for (size_t i = 0; i < ASH_ARRAY_SIZE(flags); i++) {
        if (strcmp(arg, flags[i]) == 0) {
            return 0;
        }
    }
    return arg[2] != '\0'; /* "--" alone ends the options */
}

static int split_args(ash_session *s, const ash_session_options *o)
{
    const char *root = ash_project_root(s->project);
    int rc = 0, value_next = 0;
    for (size_t i = 0; rc == 0 && i < o->pytest_arg_count; i++) {
        const char *arg = o->pytest_args[i];
        char *rel = NULL;
        const char *rest = NULL;
        int is_value = value_next && arg[0] != '-';
        value_next = takes_next(arg);
        if (!is_value && (rc = as_path(&rel, &rest, arg, root)) < 0) {
            break;
        }
        if (!rel) {
            rc = ash__strings_add(&s->args, arg, strlen(arg));
            if (rc == 0) {
                rc = ash__strings_add(&s->keyed, arg, strlen(arg));
            }
            continue;
        }
        rc = ash__strings_add_unique(&s->paths, rel, strlen(rel));
        if (rc == 0 && rest) {
            ash_buf id = ASH_BUF_INIT;
            rc = ash__buf_printf(&id, "%s%s", rel, rest);
            if (rc == 0) {
                rc = ash__strings_add(&s->nodeids, id.ptr, id.len);
            }
            ash__buf_free(&id);
        }
        ash__free(rel);
    }
    /* one module's node ids side by side, for ash__session_nodeids */
    ash__sort_unique_strings(s->nodeids.items, &s->nodeids.count);
    if (rc == 0 && o->cov) {
        ash_buf k = ASH_BUF_INIT;
        rc = ash__buf_printf(&k, "--cov=%s", o->cov);
        if (rc == 0) {
            rc = ash__strings_add(&s->keyed, k.ptr, k.len);
        }
        ash__buf_free(&k);
    }
    return rc;
}

static int find_start(ash_session *s)
{
    if (ash__real_below(&s->start, ash_project_root(s->project), ".") < 0) {
        return ASH_ENOMEM;
    }
    if (!s->start && !(s->start = ash__strdup(""))) {
        return ash__error_oom();
    }
    return 0;
}

int ash__session_open(ash_session *s, const ash_project_options *popts,
                      const ash_session_options *o)
{
    memset(s, 0, sizeof(*s));
    ash_pytest_config pytest = {0};
    int rc = ash_project_open(&s->project, NULL, popts);
    if (rc == 0) {
        rc = find_start(s);
    }
    if (rc == 0) {
        rc = split_args(s, o);
    }
    ash_suite_options so = {
        .start = s->start,
        .pytest_args = s->keyed.items,
        .pytest_arg_count = s->keyed.count,
        .paths = s->paths.items,
        .path_count = s->paths.count,
        .cov = o->cov,
        .diag = popts->diag,
        .payload = popts->payload,
    };
    if (rc == 0) {
        rc = ash__suite_prepare(&pytest, s->project, &so);
    }
    if (rc == 0) {
        rc = ash_graph_build(&s->graph, s->project);
    }
    if (rc == 0) {
        rc = ash_closure_keys_compute(&s->keys, s->graph);
    }
    if (rc == 0) {
        rc = ash__suite_build(&s->suite, s->project, &pytest, s->graph, s->keys, &so);
    }
    ash__pytest_config_free(&pytest);
    if (rc < 0) {
        ash__session_close(s);
    }
    return rc;
}

void ash__session_close(ash_session *s)
{
    ash__suite_free(&s->suite);
    ash_closure_keys_free(s->keys);
    ash_graph_free(s->graph);
    ash_project_free(s->project);
    ash__free(s->start);
    ash__strings_free(&s->paths);
    ash__strings_free(&s->nodeids);
    ash__strings_free(&s->args);
    ash__strings_free(&s->keyed);
    memset(s, 0, sizeof(*s));
}

char *ash__result_cache_dir(const ash_project *project, int *private_dir)
{
    const char *root = ash_project_root(project);
    const char *env = getenv("AFTERSHOCK_CACHE_DIR");
    const ash_config *config = ash__project_config(project);
    char *dir;
    if (env && *env) {
        dir = env[0] == '/' ? ash__strdup(env) : ash__path_join(root, env);
    } else if (config->cache_dir) {
        dir = config->cache_dir[0] == '/' ? ash__strdup(config->cache_dir)
                                          : ash__path_join(root, config->cache_dir);
    } else {
        dir = ash__path_join(root, ".aftershock/cache");
    }
    *private_dir = dir && !ash__path_below(root, dir);
    return dir;
}

char *const *ash__session_nodeids(const ash_session *s, const char *path, size_t *n)
{
    size_t len = strlen(path), first = s->nodeids.count;
    *n = 0;
    for (size_t i = 0; i < s->nodeids.count; i++) {
        const char *id = s->nodeids.items[i];
        if (strncmp(id, path, len) == 0 && id[len] == ':') {
            first = *n ? first : i;
            (*n)++;
        }
    }
    return s->nodeids.items + first;
}

int ash__session_cacheable(const ash_session *s, size_t i)
{
    const ash_test_module *m = &s->suite.modules[i];
    size_t ids;
    ash__session_nodeids(s, ash_graph_node_path(s->graph, m->node), &ids);
    return !m->unresolved && ids == 0;
}

uint64_t ash__result_cache_cap(const ash_project *project)
{
    uint64_t size = ash__project_config(project)->cache_size;
    return size ? size : ASH_RCACHE_DEFAULT_BYTES;
}

char *ash__last_run_path(const char *cache_dir)
{
    return ash__path_join(cache_dir, "last-run");
}

int ash__last_run_load(ash_run_state *out, const ash_project *project, ash_diag_fn diag,
                       void *payload)
{
    memset(out, 0, sizeof(*out));
    int private_dir;
    char *dir = ash__result_cache_dir(project, &private_dir);
    char *path = dir ? ash__last_run_path(dir) : NULL;
    int rc = path ? ash__state_load(out, path, diag, payload) : ash__error_oom();
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
    }
    ash__free(path);
    ash__free(dir);
    return rc;
}
