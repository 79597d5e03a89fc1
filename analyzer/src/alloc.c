/*
 * The allocator hook: one set of functions serves aftershock, tree-sitter (including the
 * grammar's scanner, which allocates through the runtime) and uthash, so that tests can make
 * any allocation fail.
 */
#include "util.h"

#include <tree_sitter/api.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*cur_malloc)(size_t) = malloc;
static void *(*cur_calloc)(size_t, size_t) = calloc;
static void *(*cur_realloc)(void *, size_t) = realloc;
static void (*cur_free)(void *) = free;

_Thread_local int ash__uthash_oom;

/*
 * tree-sitter never checks an allocation (its own allocator aborts on failure), so its hook
 * goes through these: the same allocator, but a failure stops the process with a message
 * instead of letting tree-sitter dereference NULL.
 */
static void ts_out_of_memory(size_t size)
{
    fprintf(stderr, "aftershock: tree-sitter failed to allocate %zu bytes\n", size);
    abort();
}

static void *ts_malloc_hook(size_t size)
{
    void *p = cur_malloc(size ? size : 1);
    if (!p) {
        ts_out_of_memory(size);
    }
    return p;
}

static void *ts_calloc_hook(size_t count, size_t size)
{
    void *p = cur_calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        ts_out_of_memory(count * size);
    }
    return p;
}

static void *ts_realloc_hook(void *ptr, size_t size)
{
    void *p = cur_realloc(ptr, size ? size : 1);
    if (!p) {
        ts_out_of_memory(size);
    }
    return p;
}

static void ts_free_hook(void *ptr)
{
    cur_free(ptr);
}

void ash_set_allocator(void *(*new_malloc)(size_t), void *(*new_calloc)(size_t, size_t),
                       void *(*new_realloc)(void *, size_t), void (*new_free)(void *))
{
    cur_malloc = new_malloc ? new_malloc : malloc;
    cur_calloc = new_calloc ? new_calloc : calloc;
    cur_realloc = new_realloc ? new_realloc : realloc;
    cur_free = new_free ? new_free : free;
    ts_set_allocator(ts_malloc_hook, ts_calloc_hook, ts_realloc_hook, ts_free_hook);
}

void *ash__malloc(size_t size)
{
    return cur_malloc(size ? size : 1);
}

void *ash__calloc(size_t count, size_t size)
{
    return cur_calloc(count ? count : 1, size ? size : 1);
}

void *ash__realloc(void *ptr, size_t size)
{
    return cur_realloc(ptr, size ? size : 1);
}

void ash__free(void *ptr)
{
    if (ptr) {
        cur_free(ptr);
    }
}

void ash_free(void *ptr)
{
    ash__free(ptr);
}

char *ash__strndup(const char *s, size_t n)
{
    char *copy = ash__malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

char *ash__strdup(const char *s)
{
    return ash__strndup(s, strlen(s));
}

int ash__grow(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size) {
            return ash__error_oom();
        }
        ncap *= 2;
    }
    void *p = ash__realloc(*array, ncap * size);
    if (!p) {
        return ash__error_oom();
    }
    *array = p;
    *cap = ncap;
    return 0;
}
