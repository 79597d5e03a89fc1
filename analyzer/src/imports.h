/*
 * The ash_imports container and its builder. A finished ash_imports is one allocation
 * (records, name arrays and strings together), so it is cheap to free, to copy into the parse
 * cache and to rebuild from it.
 */
#ifndef ASH_IMPORTS_H
#define ASH_IMPORTS_H

#include "util.h"

/* Flags for internal use only; never stored in a finished record. */
#define ASH_IMPORT_INTERNAL_MASK 0xFFFF0000u

typedef struct ash_ib_record {
    ash_import_kind kind;
    uint32_t line, level, flags;
    uint32_t module; /* offset in strings */
    int64_t package; /* offset in strings, or -1 */
    uint32_t first_name, name_count;
} ash_ib_record;

/* Collects records before `ash__ib_finish`. Reusable after `ash__ib_reset`. */
typedef struct ash_ib {
    ash_ib_record *records;
    size_t count, cap;
    uint32_t *names; /* offsets in strings */
    size_t name_count, name_cap;
    ash_buf strings; /* NUL-separated */
} ash_ib;

void ash__ib_reset(ash_ib *ib);
void ash__ib_free(ash_ib *ib);
/* Start a record; `package` may be NULL. */
int ash__ib_add(ash_ib *ib, ash_import_kind kind, uint32_t line, uint32_t level, uint32_t flags,
                const char *module, size_t module_len, const char *package, size_t package_len);
/* Append a name to the last record. */
int ash__ib_add_name(ash_ib *ib, const char *name, size_t len);
/* Drop the records that start on one of `lines` (sorted ascending). */
void ash__ib_drop_lines(ash_ib *ib, const uint32_t *lines, size_t n);
/* Sort the records by line (stably) and drop exact duplicates. */
void ash__ib_sort_unique(ash_ib *ib);
/* Build the finished object (owned by the caller). The builder keeps its contents. */
int ash__ib_finish(ash_ib *ib, ash_imports **out, unsigned status);

/*
 * Storage for many finished ash_imports at once: a bump allocator over large blocks, so that
 * the records of thousands of files cost a few allocations. An object built into an arena is
 * freed with it; ash_imports_free leaves it alone. One arena per thread. Zero-initialise.
 */
typedef struct ash_imports_arena {
    char **blocks;
    size_t count, cap;
    char *next; /* free space in the last block */
    size_t left;
} ash_imports_arena;

/* ash__ib_finish, the object built into `arena` (it lives as long as the arena). */
int ash__ib_finish_into(ash_ib *ib, ash_imports **out, unsigned status, ash_imports_arena *arena);
/* Room for a finished ash_imports, for decoders that know its size before they fill it. */
typedef struct ash_imports_space {
    ash_imports *imports; /* the object: count and status set, items pointing at `items` */
    ash_import *items;    /* `count` records to fill */
    const char **names;   /* `name_count` name pointers to fill */
    char *strings;        /* `strings_len` bytes for the records' strings */
} ash_imports_space;

/* Lay out an object of `count` records, `name_count` names and `strings_len` bytes of strings
 * in `arena` (NULL: an allocation of its own, owned by the caller). 0 or ASH_ENOMEM. */
int ash__imports_reserve(ash_imports_space *out, size_t count, size_t name_count,
                         size_t strings_len, unsigned status, ash_imports_arena *arena);
/* Free every block (and every object built into them); the arena is empty again. */
void ash__imports_arena_free(ash_imports_arena *arena);
/* Hand the blocks of `from` to `to` (`from` is empty afterwards). 0 or ASH_ENOMEM (then
 * nothing moved). */
int ash__imports_arena_move(ash_imports_arena *to, ash_imports_arena *from);

/* An empty result with `status` (owned). */
int ash__imports_empty(ash_imports **out, unsigned status);

#endif
