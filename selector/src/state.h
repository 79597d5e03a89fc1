/*
 * The last-run state of `aftershock run`: the environment key and the hashes of the fields it
 * was made of (so that a changed key can be explained), and for every test module the key of
 * its inputs, its outcome and its duration at its last run. One file (the caller names it,
 * e.g. `<cache>/last-run`), replaced atomically, read with full validation: a corrupt file is
 * an empty state and one warning, a missing one an empty state. Not thread-safe.
 */
#ifndef ASH_STATE_H
#define ASH_STATE_H

#include "envkey.h"
#include "result.h"
#include "util.h"

#include "aftershock/selector.h"

/* One field of the environment key, e.g. "python", "distributions", "env:FOO". */
typedef struct ash_state_field {
    char *name; /* owned (ash__malloc) */
    ash_key hash;
} ash_state_field;

typedef struct ash_state_module {
    char *path; /* relative to the project root; owned */
    ash_key inputs;
    ash_outcome outcome;
    double duration; /* seconds */
} ash_state_module;

/* How many modules ash__state_set may append out of path order before it sorts them in. */
#define ASH_STATE_PENDING_MAX 256

/*
 * Zero-initialise. The caller may fill `env` and `fields` (names allocated with ash__malloc;
 * ash__state_free frees them) but changes `modules` only through ash__state_set.
 */
typedef struct ash_run_state {
    ash_key env;
    size_t field_count;
    ash_state_field *fields;
    size_t count;
    /* Unique paths in two runs, each in path order: modules[0..sorted), and the fewer than
     * ASH_STATE_PENDING_MAX that ash__state_set added out of order since, which
     * ash__state_sort merges in. After ash__state_load all are in the first run. */
    ash_state_module *modules;
    size_t sorted;
    size_t cap; /* allocated modules */
} ash_run_state;

/* Read the state file `path` into `out` (zeroed first; free with ash__state_free). A missing
 * file gives an empty state; an unreadable or corrupt one an empty state and one warning to
 * `diag`. 0 or ASH_ENOMEM. */
int ash__state_load(ash_run_state *out, const char *path, ash_diag_fn diag, void *payload);

/* Write `s` to `path` atomically, modules in path order. 0, ASH_ENOMEM, ASH_EINVAL (a module
 * path or field name that cannot be stored, see ash__result_path_problem) or ASH_EIO. */
int ash__state_save(const ash_run_state *s, const char *path);

/* Insert the module `path` (copied), or replace what is recorded for it. O(log n) to replace
 * or to append in path order; 0 or ASH_ENOMEM. */
int ash__state_set(ash_run_state *s, const char *path, const ash_key *inputs, ash_outcome outcome,
                   double duration);

/* The record of module `path`, borrowed (valid until the next set or free), or NULL. */
const ash_state_module *ash__state_find(const ash_run_state *s, const char *path);

/* Put every module in path order (after ash__state_set appended some out of order). */
void ash__state_sort(ash_run_state *s);

void ash__state_free(ash_run_state *s);

/* What one run learnt of a module. */
typedef struct ash_state_update {
    const char *path;
    ash_key inputs;
    ash_outcome outcome;
    double duration;
} ash_state_update;

/*
 * Read the state at `path` afresh (so that what a concurrent run saved is kept), replace its
 * environment with `env`'s fields, set each of `updates`, and save it. 0 or an error (the
 * caller warns: the state is advisory).
 */
int ash__state_merge_save(const char *path, const ash_env_key *env, const ash_state_update *updates,
                          size_t count, ash_diag_fn diag, void *payload);

#endif
