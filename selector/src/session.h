/*
 * A selection session: the project, its import graph, closure keys and test suite, set up
 * once for `run`, `affected`, `why` (and the bindings). The user's pytest arguments are split
 * here: paths and node ids select test modules; everything else is passed to pytest and keyed.
 */
#ifndef ASH_SESSION_H
#define ASH_SESSION_H

#include "state.h"
#include "suite.h"

#include "aftershock/selector.h"

typedef struct ash_session_options {
    char *const *pytest_args; /* as the user wrote them, relative to the working directory */
    size_t pytest_arg_count;
    const char *cov; /* NULL: no coverage */
} ash_session_options;

typedef struct ash_session {
    ash_project *project;
    ash_graph *graph;
    ash_closure_keys *keys;
    ash_suite suite;
    char *start;         /* working directory relative to the root ("" for the root) */
    ash_strings paths;   /* selected files/directories, relative to the root */
    ash_strings nodeids; /* "relpath::rest" selections of single tests */
    ash_strings args;    /* the other pytest arguments, passed on */
    ash_strings keyed;   /* what the environment key hashes: args, plus coverage */
} ash_session;

/* Open the project (options as for ash_project_open), build its graph and suite. */
int ash__session_open(ash_session *s, const ash_project_options *project,
                      const ash_session_options *o);
void ash__session_close(ash_session *s);

/* The result cache directory: AFTERSHOCK_CACHE_DIR, `cache-dir` in the configuration, else
 * `.aftershock/cache` under the root (owned). `*private_dir` is set when it lies outside the
 * project (then it is created 0700). */
char *ash__result_cache_dir(const ash_project *project, int *private_dir);

/* The result cache's cap: `cache-size` in the configuration, else 1 GiB. */
uint64_t ash__result_cache_cap(const ash_project *project);

/* The path of the last-run state in result cache directory `cache_dir` (owned). */
char *ash__last_run_path(const char *cache_dir);

/* Load the last-run state of the project's result cache into `*out` (empty when there is
 * none, or it is corrupt: then with a warning to `diag`). 0 or ASH_ENOMEM. */
int ash__last_run_load(ash_run_state *out, const ash_project *project, ash_diag_fn diag,
                       void *payload);

/* Can the result of suite module i be cached and replayed: every import of its closure
 * resolved, and all of it selected (node ids inside it run only part of it)? */
int ash__session_cacheable(const ash_session *s, size_t i);

/* The node ids selected inside module `path` (a pointer into s->nodeids, count in *n). */
char *const *ash__session_nodeids(const ash_session *s, const char *path, size_t *n);

#endif
