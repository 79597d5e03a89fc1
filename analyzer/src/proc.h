/*
 * Child processes: run a program (no shell) and capture its standard output.
 */
#ifndef ASH_PROC_H
#define ASH_PROC_H

#include "util.h"

/*
 * Run argv[0] (searched on PATH) with `argv` in directory `cwd` (NULL: ours), standard input
 * from /dev/null, standard output captured into `*out` (owned, NUL-terminated, `*len` bytes),
 * standard error's first line into `err` (may be NULL). `*status` receives the exit status, or
 * 128 + signal. Kills the child after `timeout_ms` (0: none). Fails with ASH_ECHILD if it could
 * not be started or timed out.
 */
int ash__run_capture(char **out, size_t *len, int *status, char *const argv[], const char *cwd,
                     char *err, size_t err_size, int timeout_ms);

/* Work to do while a child runs: `fn(payload)` is called once, on the calling thread. */
typedef struct ash_beside {
    void (*fn)(void *payload);
    void *payload;
} ash_beside;

/* ash__run_capture, calling `beside` (may be NULL) as soon as the child runs, before its output
 * is read; or before returning, when it could not be started. Starting threads only then
 * leaves the child a CPU to start on. */
int ash__run_capture_beside(char **out, size_t *len, int *status, char *const argv[],
                            const char *cwd, char *err, size_t err_size, int timeout_ms,
                            const ash_beside *beside);

/* Absolute path of `name` on PATH (or `name` itself if it has a '/'), owned; NULL if absent. */
char *ash__which(const char *name);

#endif
