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

/* An empty result with `status` (owned). */
int ash__imports_empty(ash_imports **out, unsigned status);

#endif
