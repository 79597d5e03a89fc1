/*
 * uthash wired to aftershock's allocator, with out-of-memory reported instead of exiting:
 * after HASH_ADD*, check `ash__uthash_oom` (then the element was not added).
 */
#ifndef ASH_UTHASH_H
#define ASH_UTHASH_H

#include "util.h"

extern _Thread_local int ash__uthash_oom;

#define uthash_malloc(sz) ash__malloc(sz)
#define uthash_free(ptr, sz) ash__free(ptr)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (ash__uthash_oom = 1)

#include <uthash.h>

#endif
