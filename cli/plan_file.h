/*
 * Plan files: what `aftershock plan --json` prints and `aftershock run --shard K/N --plan FILE`
 * reads back. A plan says which test modules must run ("cold") and how they are split into N
 * shards, and which replay from the cache ("warm", all of them shard 1's). The format, JSON
 * with the keys in this order:
 *
 *   {
 *     "version": 1,
 *     "shards": N,
 *     "modules": M, "cold": C, "warm": W, "unaffected": U,
 *     "cold_modules": [PATH, ...],           ; C paths
 *     "warm_modules": [PATH, ...],           ; W paths
 *     "plan": [{"shard": K, "seconds": S, "modules": [PATH, ...]}, ...],   ; N entries
 *     "matrix": {"include": [{"shard": "K/N", "index": K, "modules": COUNT, "seconds": S}, ...]}
 *   }
 *
 * PATH is a module path relative to the project root (see ash__result_path_problem), S the
 * shard's expected seconds. `matrix` repeats `plan` in the shape GitHub Actions' strategy
 * matrix takes; a reader ignores it, and any key it does not know. A reader refuses a plan
 * whose shards do not split the cold modules exactly: every shard 1..N listed once, every
 * cold module on one shard, nothing else on any, no module both cold and warm. Calls on
 * different plans may run on different threads.
 */
#ifndef ASH_PLAN_FILE_H
#define ASH_PLAN_FILE_H

#include "util.h"

#include <stdio.h>

/* One shard of a plan. */
typedef struct plan_shard {
    double seconds;      /* expected: the sum of its modules' last known durations */
    ash_strings modules; /* owned; in the order they were added */
} plan_shard;

/* Where a module is in a plan; built by plan_file_read. */
typedef struct plan_entry {
    const char *module; /* borrowed from the plan's shard lists */
    unsigned shard;     /* 1-based */
} plan_entry;

/*
 * A plan. To write one, zero-initialise it, set `shards` and allocate `shard` (ash__calloc, N
 * entries; shard[k - 1] is shard k), and fill the lists; plan_free frees all of it. The
 * "cold" and "warm" counts of the file are cold.count and warm.count.
 */
typedef struct plan {
    unsigned shards;   /* N >= 1 */
    plan_shard *shard; /* [shards], owned */
    ash_strings cold;  /* modules that must run, owned */
    ash_strings warm;  /* modules that replay from the cache, owned */
    size_t modules;    /* test modules of the suite */
    size_t unaffected; /* modules the selection left out (--since, --staged) */
    /* Sorted by module, for plan_shard_of; NULL unless plan_file_read made it. Owned. */
    plan_entry *index;
    size_t index_count;
} plan;

/*
 * Print `p` (borrowed) to `out` as the format above, indented by 2 spaces, with one trailing
 * newline; seconds are rounded to the millisecond. `p->shards` >= 1. 0, ASH_ENOMEM, ASH_EINVAL
 * (a module path that is no module path or not UTF-8, or seconds negative or not finite) or
 * ASH_EIO (writing to `out` failed).
 */
int plan_file_write(FILE *out, const plan *p);

/*
 * Read and check the plan file at `path` into `out` (zeroed first; free with plan_free, also
 * after a failure). 0, ASH_EIO when it cannot be read, ASH_ENOMEM, or ASH_ERROR when it is no
 * valid plan, with the message "<path>: <reason>".
 */
int plan_file_read(plan *out, const char *path);

/* Free what `p` holds and zero it; a zeroed plan is left as it is. */
void plan_free(plan *p);

/*
 * The shard (1..N) that has `module` (borrowed), or 0 if none has it (a warm module, or one
 * the plan does not know). A binary search in a plan from plan_file_read, a linear one in a
 * plan made by hand.
 */
int plan_shard_of(const plan *p, const char *module);

#endif
