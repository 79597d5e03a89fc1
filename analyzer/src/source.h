/*
 * Source decoding: turns a file's raw bytes into the text CPython's tokenizer sees: UTF-8
 * without BOM, PEP 263 coding cookie honoured, universal newlines. Bad input is reported and
 * degraded, never refused outright, so extraction recovers what it can.
 */
#ifndef ASH_SOURCE_H
#define ASH_SOURCE_H

#include "util.h"

typedef struct ash_source {
    const char *text; /* decoded text: borrowed from the input or from `owned` */
    size_t len;
    char *owned;
    unsigned status; /* ASH_SOURCE_* */
} ash_source;

/* Files larger than this are not read (a Python module of that size is not source). */
#define ASH_SOURCE_MAX ((size_t)256 << 20)

/* Decode data[0..len), which must stay alive as long as `out`. Warnings name `path`. Fails
 * only with ASH_ENOMEM. */
int ash__source_decode(ash_source *out, const char *data, size_t len, const char *path,
                       ash_diag_fn diag, void *payload);
void ash__source_free(ash_source *src);

#endif
