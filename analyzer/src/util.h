/*
 * Helpers shared by the analyzer's files and the layers above it: allocation through the
 * replaceable allocator, error recording, and growable byte buffers. Knows nothing of Python.
 */
#ifndef ASH_UTIL_H
#define ASH_UTIL_H

#include "aftershock/analyzer.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ASH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ASH_PRINTF(f, a)
#endif

#define ASH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation: every allocation of aftershock goes through these. ash__malloc(0) returns a
 * unique non-NULL pointer. */
void *ash__malloc(size_t size);
void *ash__calloc(size_t count, size_t size);
void *ash__realloc(void *ptr, size_t size);
void ash__free(void *ptr);
char *ash__strdup(const char *s);
char *ash__strndup(const char *s, size_t n);
/* Grow `*array` (of `*cap` elements of `size` bytes) to hold at least `need` elements. */
int ash__grow(void **array, size_t *cap, size_t need, size_t size);

/* Record the calling thread's last error and return `code` (negative), so that callers can
 * write `return ash__error(ASH_EIO, "%s: %s", path, strerror(errno));`. */
int ash__error(int code, const char *fmt, ...) ASH_PRINTF(2, 3);
/* Record "out of memory" and return ASH_ENOMEM. */
int ash__error_oom(void);

/* Send one warning about `path` to `diag` (if set), formatted. */
void ash__diag(ash_diag_fn diag, void *payload, const char *path, const char *fmt, ...)
    ASH_PRINTF(4, 5);

/* A growable byte buffer; `ptr` is always NUL-terminated once anything was written. */
typedef struct ash_buf {
    char *ptr;
    size_t len;
    size_t cap;
} ash_buf;

#define ASH_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

int ash__buf_reserve(ash_buf *buf, size_t extra);
int ash__buf_put(ash_buf *buf, const void *data, size_t len);
int ash__buf_puts(ash_buf *buf, const char *s);
int ash__buf_putc(ash_buf *buf, char c);
int ash__buf_printf(ash_buf *buf, const char *fmt, ...) ASH_PRINTF(2, 3);
int ash__buf_vprintf(ash_buf *buf, const char *fmt, va_list ap);
/* Append `s[0..len)` as a JSON string literal, quotes included; invalid UTF-8 bytes become
 * U+FFFD so that the output is always valid JSON. */
int ash__buf_json(ash_buf *buf, const char *s, size_t len);
/* Length (1..4) of the valid UTF-8 sequence at s[0..n), or 0 if it is not valid (overlong
 * forms, surrogates and code points past U+10FFFF are not). */
size_t ash__utf8_seq(const unsigned char *s, size_t n);
/* Offset of the first invalid UTF-8 sequence in s[0..len), or len if it is all valid. */
size_t ash__utf8_check(const char *s, size_t len);

/* The contents as a C string ("" when empty); borrowed. */
const char *ash__buf_cstr(const ash_buf *buf);
/* Hand the contents to the caller (owned; "" when empty) and reset the buffer. */
char *ash__buf_detach(ash_buf *buf);
void ash__buf_clear(ash_buf *buf);
void ash__buf_free(ash_buf *buf);

/* Little-endian fixed-width fields of the binary cache files. A reader never goes past `end`:
 * a short read sets `bad` and yields zeros (NULL from take), so a parser checks once at the end. */
typedef struct ash_le_reader {
    const uint8_t *p, *end;
    int bad;
} ash_le_reader;

/* The next n bytes, or NULL (and `bad` set) when fewer are left. Inline: the parse-cache
 * decoder calls it for every string of every record. */
static inline const uint8_t *ash__le_take(ash_le_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

/* An unsigned integer of n <= 8 bytes. */
uint64_t ash__le_u(ash_le_reader *r, size_t n);
double ash__le_f64(ash_le_reader *r);
/* Append v as n <= 8 bytes. 0 or ASH_ENOMEM. */
int ash__le_put(ash_buf *b, uint64_t v, size_t n);
int ash__le_put_f64(ash_buf *b, double v);

/* A growable list of owned strings. Zero-initialise. */
typedef struct ash_strings {
    char **items;
    size_t count, cap;
} ash_strings;

/* Append a copy of s[0..len). 0 or ASH_ENOMEM. */
int ash__strings_add(ash_strings *list, const char *s, size_t len);
/* Append unless an equal string is in the list already (a linear search: short lists). */
int ash__strings_add_unique(ash_strings *list, const char *s, size_t len);
void ash__strings_free(ash_strings *list);
/* qsort/bsearch comparator of `char *` elements by strcmp. */
int ash__cmp_strp(const void *a, const void *b);
/* Sort items[0..*count) by strcmp and drop (and free) duplicates; *count shrinks. */
void ash__sort_unique_strings(char **items, size_t *count);
/* Length of the directory part of path[0..len): up to its last '/', 0 at the top. */
size_t ash__dirname_len(const char *path, size_t len);

/* Read the whole file at `path` into `*out` (owned, NUL-terminated, `*len` bytes). Files larger
 * than `limit` bytes (0: no limit) fail with ASH_EINVAL and set `*len` to their size. */
int ash__read_file(char **out, size_t *len, const char *path, size_t limit);
/* The same for an open descriptor; `path` names it in messages. */
int ash__read_fd(char **out, size_t *len, int fd, const char *path, size_t limit);

/* A whole file in memory, read-only: mapped (the page cache's own pages, neither copied nor
 * zeroed: for the large cache files read on every run), or read where it cannot be mapped. */
typedef struct ash_mapped {
    const char *data; /* `len` bytes; NULL when nothing is held */
    size_t len;
    int mapped; /* 1: munmap it; 0: ash__free it */
} ash_mapped;

/* Map the file at `path` into `*out` (reset first). Only our own writers, which replace files
 * by renaming (ash__write_atomic), may write the files mapped this way: a file truncated in
 * place under a mapping faults its reader (as git's index does). 0, ASH_EIO or ASH_ENOMEM. */
int ash__map_file(ash_mapped *out, const char *path);
/* Release what `m` holds and reset it; an empty one is left as it is. */
void ash__unmap_file(ash_mapped *m);

/* Replace the file at `path` with data[0..len) so that a reader sees the old file or the new
 * one, never a part: a temporary file beside it (O_EXCL, not following links), fsync, rename,
 * fsync of the directory. 0 or ASH_EIO. */
int ash__write_atomic(const char *path, const void *data, size_t len);

/* `path` relative to directory `dir`: "" when they are equal, the rest when `path` is below
 * `dir`, `path` itself when `dir` is "" (the top); NULL when `path` is not inside `dir`.
 * Borrowed from `path`. */
const char *ash__path_below(const char *dir, const char *path);

/* `path` (relative to the working directory, or absolute) with symbolic links resolved, made
 * relative to `dir` as ash__path_below does, into `*out` (owned); `*out` NULL when `path` does
 * not exist or is not inside `dir`. 0 or ASH_ENOMEM. */
int ash__real_below(char **out, const char *dir, const char *path);

/* mkdir -p `path` (modified in place) with `mode`: 0, or -1 with errno set and `path` cut
 * at the directory that could not be made, for the message. */
int ash__make_dirs(char *path, unsigned mode);

/* Join `a` and `b` with '/', leaving out empty parts; owned. */
char *ash__path_join(const char *a, const char *b);

#endif
