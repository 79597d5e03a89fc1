/*
 * Splitting the test modules of a run into N shards that separate machines run side by side
 * (`aftershock plan --shards N`, `aftershock run --shard K/N`). A plan balances the modules
 * that must run by their last known durations, longest first onto the least loaded shard; a
 * shard run without a plan takes every N-th module in path order. The shard argument "K/N" is
 * parsed here so that both commands accept the same text. Pure computation: no I/O, and no
 * state shared between calls (thread-safe).
 */
#ifndef ASH_SHARD_H
#define ASH_SHARD_H

#include "util.h"

/* The largest shard count (N of "K/N"). */
#define ASH_SHARD_MAX 10000

/*
 * Parse the shard argument `s` (borrowed), "K/N": two decimal numbers with
 * 1 <= K <= N <= ASH_SHARD_MAX and nothing else (no sign, no space). Sets `*k` and `*n` and
 * returns 0, or returns ASH_EINVAL with a message naming the text and leaves them unchanged.
 */
int ash__shard_parse(const char *s, unsigned *k, unsigned *n);

/*
 * Split `count` modules into `shards` (>= 1) shards by longest processing time first:
 * modules taken by duration descending (ties: lower index first), each put on the shard with
 * the smallest total so far (ties: the one with fewer modules, then the lowest shard, so that
 * modules of duration 0 still spread). seconds[i] (borrowed) is module i's duration; negative,
 * NaN or infinite means unknown and counts as the mean of the known ones (1.0 when none is
 * known). Callers pass the modules in path order, which makes the split deterministic.
 *
 * Writes out_shard[0..count) (each in 0..shards-1) and, unless `out_totals` is NULL, the
 * seconds of each shard to out_totals[0..shards) (unknown durations counted at the mean;
 * shards that get nothing total 0). Allocates O(count) scratch memory and frees it before
 * returning. 0, or ASH_ENOMEM (the outputs are then unspecified). count 0 is fine.
 */
int ash__shard_balance(const double *seconds, size_t count, unsigned shards, unsigned *out_shard,
                       double *out_totals);

/*
 * The shard (0-based) of the module at `index` in path order when there is no plan: every
 * `shards`-th module. It depends on nothing but the suite's module list, never on what a
 * cache holds, so N shards that each compute it on their own machine, whatever their caches
 * hold, still cover the suite exactly once between them. `shards` >= 1.
 */
unsigned ash__shard_round_robin(size_t index, unsigned shards);

#endif
