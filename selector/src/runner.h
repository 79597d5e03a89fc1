/*
 * Running test modules: pytest worker processes, each running a batch of modules in one
 * session through the internal plugin (aftershock_worker.py), which reports each finished
 * module as a result file and an event line on a pipe. Batches are balanced by expected
 * duration (longest first onto the least loaded worker); a worker that dies, or overruns the
 * module timeout, blames the module it was in, and the rest of its batch runs again in a new
 * worker.
 */
#ifndef ASH_RUNNER_H
#define ASH_RUNNER_H

#include "result.h"
#include "util.h"

typedef struct ash_run_item {
    const char *path;     /* relative to the root */
    char *const *targets; /* node ids (relative) selecting tests in it; none: all of it */
    size_t target_count;
    double expected; /* expected duration in seconds (for balancing) */
} ash_run_item;

typedef struct ash_run_options {
    const char *python;     /* interpreter */
    const char *root;       /* absolute project root: the workers' working directory */
    const char *plugin_dir; /* holds aftershock_worker.py */
    const char *work_dir;   /* private scratch directory of this run (exists) */
    char *const *pytest_args;
    size_t pytest_arg_count;
    const char *cov; /* NULL: no coverage */
    int jobs;        /* worker processes at once (>= 1) */
    int isolate;     /* one process per module */
    /* Seconds a module may take, collection included (0: no limit). A worker past it gets
     * SIGINT (pytest prints where it was), SIGKILL STOP_GRACE later; the module is reported
     * crashed, "timed out", and the rest of its batch runs in a new worker. */
    double module_timeout;
    /* Called after each module finishes (results[i] is set), from the calling thread. */
    void (*progress)(void *payload, size_t index, const ash_result *result);
    void *payload;
    ash_diag_fn diag;
} ash_run_options;

/*
 * Run `items[0..n)`, filling `results[i]` (zeroed by the caller) for every module that
 * finished, crashed or could not start; modules left unrun (pytest -x, an interrupt) keep a
 * NULL `module`. `*interrupted` is set when SIGINT or SIGTERM arrived: the workers are stopped
 * and what completed is kept. 0, or an error when no worker could be started.
 */
int ash__run_modules(const ash_run_options *o, const ash_run_item *items, size_t n,
                     ash_result *results, int *interrupted);

#endif
