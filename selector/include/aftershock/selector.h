/*
 * aftershock selector: closure keys of an import graph, the test modules of a project with the
 * inputs keys their results are cached under, the modules a change affects and why, and the
 * result cache.
 *
 * Conventions are those of aftershock/analyzer.h: functions that can fail return 0 or a
 * negative ASH_E* code with `ash_error_last()` set; objects are created by `_new`/`_compute`
 * and freed by `_free` (NULL does nothing); returned pointers are borrowed from their object.
 */
#ifndef AFTERSHOCK_SELECTOR_H
#define AFTERSHOCK_SELECTOR_H

#include "aftershock/analyzer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A 128-bit key (XXH3-128, canonical byte order). */
typedef struct ash_key {
    uint8_t bytes[16];
} ash_key;

/** Write `key` as 32 lowercase hex digits and a NUL into out[33]. */
ASH_API void ash_key_hex(const ash_key *key, char out[33]);

/**
 * The closure key of every node of a graph: a Merkle hash over the graph condensed by strongly
 * connected components, so a node's key covers the content (and relative path) of every file
 * in its transitive import closure. Files of one import cycle share a closure, hence a key.
 * Computed in O(V + E log E); the same files and imports give the same keys on any machine and
 * checkout path. The object borrows nothing from the graph.
 */
typedef struct ash_closure_keys ash_closure_keys;

ASH_API int ash_closure_keys_compute(ash_closure_keys **out, const ash_graph *graph);
ASH_API void ash_closure_keys_free(ash_closure_keys *keys);
/** The key of node `i`; borrowed. */
ASH_API const ash_key *ash_closure_key(const ash_closure_keys *keys, size_t i);
/**
 * One key for a set of nodes (a package, a directory): the hash of their paths and closure
 * keys, in path order. `nodes` need not be sorted or unique.
 */
ASH_API int ash_closure_keys_combine(ash_key *out, const ash_closure_keys *keys,
                                     const ash_graph *graph, const size_t *nodes, size_t count);

/**
 * The environment key of a project whose graph was built (`ash_graph_build`): its interpreter
 * (path and version), the installed distributions (or the contents of the configured
 * lockfiles) and the values of the configured `env` variables; what a build or test of its
 * files depends on besides them. Warnings (a lockfile glob matching nothing) go to the
 * project's diag.
 */
ASH_API int ash_environment_key(ash_key *out, const ash_project *project);
/** `closure` with `environment` mixed in (what `aftershock hash --env` prints). */
ASH_API void ash_key_with_environment(ash_key *out, const ash_key *closure,
                                      const ash_key *environment);

/* ---------------------------------------------------------------------------------------- */
/* Selection: the test suite of a project and what each test module depends on              */

/**
 * A project's import graph, closure keys and test suite (test modules found the way pytest
 * finds them), each test module with its inputs key: the key `aftershock run` caches its
 * result under. Read-only once opened: may be read from several threads at once.
 */
typedef struct ash_selection ash_selection;

typedef struct ash_selection_options {
    const ash_project_options *project; /**< may be NULL: the defaults */
    /** pytest's arguments as a user gives them (relative paths from the working directory):
     *  paths and node ids select test modules, the rest is part of the environment key. */
    const char *const *pytest_args;
    size_t pytest_arg_count;
    const char *cov; /**< NULL: coverage is not measured; else its sources ("" for default) */
} ash_selection_options;

/** Open the project that contains the working directory (or `project->root`), build its graph
 *  and its suite. */
ASH_API int ash_selection_open(ash_selection **out, const ash_selection_options *options);
ASH_API void ash_selection_free(ash_selection *selection);
ASH_API const ash_project *ash_selection_project(const ash_selection *selection);
ASH_API const ash_graph *ash_selection_graph(const ash_selection *selection);
ASH_API const ash_closure_keys *ash_selection_closure_keys(const ash_selection *selection);
/** Test modules, in path order. */
ASH_API size_t ash_selection_count(const ash_selection *selection);
ASH_API const char *ash_selection_path(const ash_selection *selection, size_t i);
/** The inputs key of test module `i` (see the README: closure, packages, conftests, data
 *  files, configuration, environment). */
ASH_API const ash_key *ash_selection_inputs(const ash_selection *selection, size_t i);
/** 0 when module `i` imports, transitively, a module found nowhere: it cannot be keyed and
 *  always runs. */
ASH_API int ash_selection_cacheable(const ash_selection *selection, size_t i);
/** Index of the test module at relative `path`, or -1. */
ASH_API long ash_selection_find(const ash_selection *selection, const char *path);

/** Why a test module is affected by a change set. */
typedef enum {
    ASH_REASON_NONE = 0,   /**< not affected */
    ASH_REASON_CHANGED,    /**< a changed file is among its inputs */
    ASH_REASON_DELETED,    /**< it imported a file that is gone */
    ASH_REASON_ADDED,      /**< a new file is named like a module it imports */
    ASH_REASON_DATA,       /**< a changed file is one of its declared data files */
    ASH_REASON_ALL,        /**< the configuration or environment changed: everything is */
    ASH_REASON_UNRESOLVED, /**< it imports a module found nowhere: always */
    ASH_REASON_FAILED,     /**< it did not pass last time */
    ASH_REASON_NEW,        /**< the last run did not know it */
} ash_reason;

/** A lower-case word for `reason` ("changed", "deleted", ...). */
ASH_API const char *ash_reason_name(ash_reason reason);

/**
 * Decide which test modules `changed` (paths relative to the root; `added` those of them that
 * are new, may be NULL/0) affects. `reasons[i]` (ash_selection_count entries, caller's) gets
 * module i's reason; `via[i]` (may be NULL) the changed path that explains it, or NULL,
 * borrowed from `changed`/`added` or the graph. `all_changed`: the change set is unknown
 * (everything is affected). The last run's state (in the result cache) counts as described
 * for ASH_REASON_*. Returns the number of affected modules, or an error.
 */
ASH_API long ash_selection_affected(const ash_selection *selection, const char *const *changed,
                                    size_t changed_count, const char *const *added,
                                    size_t added_count, int all_changed, ash_reason *reasons,
                                    const char **via);

/**
 * The shortest chain by which test module `i` depends on the file at relative path `target`:
 * `*out` (free with ash_free) holds one line per step, "path:line" where the step imports the
 * next one (a conftest or package reached as such is followed by "  (its conftest)" or "  (its
 * package)"), the target last. `*out` is NULL when module i does not depend on `target`.
 */
ASH_API int ash_selection_why(const ash_selection *selection, size_t i, const char *target,
                              char **out);

/* ---------------------------------------------------------------------------------------- */
/* Results: the local result cache `aftershock run` uses, for other runners                 */

/**
 * The project's result cache (`.aftershock/cache`, moved by AFTERSHOCK_CACHE_DIR or
 * `cache-dir`) as a selection sees it. Use from one thread; several processes at once are
 * safe (an xdist worker each).
 */
typedef struct ash_results ash_results;

ASH_API int ash_results_open(ash_results **out, const ash_selection *selection);
/** Whether test module `i` passed last time with the same inputs (its result would be
 *  replayed). 0 for a module that cannot be keyed. */
ASH_API int ash_results_passed(ash_results *results, size_t i, int *passed);
/** Record module i's result: `data[0..len)` in the worker result-file grammar (the module
 *  line names the module). A passing result is cached; every outcome goes into the last-run
 *  state written by ash_results_close. */
ASH_API int ash_results_record(ash_results *results, size_t i, const char *data, size_t len);
/** Write the last-run state (merged with the file on disk) and free. */
ASH_API int ash_results_close(ash_results *results);

#ifdef __cplusplus
}
#endif

#endif /* AFTERSHOCK_SELECTOR_H */
