/*
 * A counting allocator for ash_set_allocator that makes allocations fail on demand, shared by
 * the unit tests (SQLite's test_malloc.c idea). It lets the first N allocations succeed and
 * fails every later one, counts the blocks allocated and not freed so that a test can see a
 * leak without a sanitizer, and drives the usual loop: fail allocation N for N = 0, 1, ...
 * until the call succeeds, each failure being ASH_ENOMEM and leaking nothing.
 *
 * Header-only with static state: every test file is its own executable. No cmocka assertion
 * here, so that the loop can also run in a child process.
 */
#ifndef ASH_TEST_ALLOC_HOOK_H
#define ASH_TEST_ALLOC_HOOK_H

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long alloc_hook_fail_after = -1; /* allocations that succeed before all fail; -1: none */
static long alloc_hook_allocs;          /* allocation calls since the last reset */
static long alloc_hook_live;            /* blocks allocated and not freed */

/* Whether the next allocation may succeed; counts it either way. */
static inline int alloc_hook__grant(void)
{
    return alloc_hook_fail_after < 0 || alloc_hook_allocs++ < alloc_hook_fail_after;
}

static inline void *alloc_hook__malloc(size_t size)
{
    void *p = alloc_hook__grant() ? malloc(size) : NULL;
    alloc_hook_live += p != NULL;
    return p;
}

static inline void *alloc_hook__calloc(size_t count, size_t size)
{
    void *p = alloc_hook__grant() ? calloc(count, size) : NULL;
    alloc_hook_live += p != NULL;
    return p;
}

static inline void *alloc_hook__realloc(void *ptr, size_t size)
{
    /* A failed realloc leaves `ptr` allocated, as the C library's does. */
    void *p = alloc_hook__grant() ? realloc(ptr, size) : NULL;
    alloc_hook_live += p != NULL && ptr == NULL;
    return p;
}

static inline void alloc_hook__free(void *ptr)
{
    alloc_hook_live -= ptr != NULL;
    free(ptr);
}

/*
 * Reset the counters and route aftershock's allocations (and tree-sitter's and uthash's,
 * which ash_set_allocator feeds from the same hook) through the counting allocator. The first
 * `fail_after` allocations succeed and every later one fails; -1: none fails.
 */
static inline void alloc_hook_install(long fail_after)
{
    alloc_hook_fail_after = fail_after;
    alloc_hook_allocs = 0;
    alloc_hook_live = 0;
    ash_set_allocator(alloc_hook__malloc, alloc_hook__calloc, alloc_hook__realloc,
                      alloc_hook__free);
}

/* Back to the C library's allocator. Blocks allocated through the hook may still be freed. */
static inline void alloc_hook_remove(void)
{
    alloc_hook_fail_after = -1;
    ash_set_allocator(NULL, NULL, NULL, NULL);
}

/*
 * With the hook installed, run `attempt` with allocation N failing, for N = 0, 1, ... until it
 * returns 0. After each run, with failures off again, `cleanup` (may be NULL) checks and frees
 * what the run made; it gets the run's rc and returns 0, or non-zero if the result was wrong.
 * Every failing run must return ASH_ENOMEM with "out of memory" as the last error, and every
 * run must leave as many live blocks as it found. Returns the number of failing runs, or -1
 * after printing the first wrong one.
 */
static inline long alloc_hook_fail_each(int (*attempt)(void *payload),
                                        int (*cleanup)(void *payload, int rc), void *payload)
{
    for (long n = 0; n < 1000000; n++) {
        long before = alloc_hook_live;
        ash__error(ASH_OK, "%s", ""); /* so that a stale message cannot pass for this run's */
        alloc_hook_allocs = 0;
        alloc_hook_fail_after = n;
        int rc = attempt(payload);
        alloc_hook_fail_after = -1;
        int bad_rc = rc != 0 && (rc != ASH_ENOMEM || strcmp(ash_error_last(), "out of memory"));
        int wrong = cleanup ? cleanup(payload, rc) : 0;
        if (bad_rc || wrong || alloc_hook_live != before) {
            fprintf(stderr,
                    "allocation %ld failed: rc %d (\"%s\"), %s result, %ld block(s) leaked\n", n,
                    rc, rc ? ash_error_last() : "", wrong ? "wrong" : "right",
                    alloc_hook_live - before);
            return -1;
        }
        if (rc == 0) {
            return n;
        }
    }
    fprintf(stderr, "the call never succeeded\n");
    return -1;
}

#endif
