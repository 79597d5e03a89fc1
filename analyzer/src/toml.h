/*
 * A strict, small TOML 1.0 reader, enough for pyproject.toml and lock files. The whole document
 * is parsed into a tree of values that lives in one arena; values are read through the accessors
 * below. Invalid documents (bad syntax, duplicate keys, redefined tables, control characters,
 * invalid UTF-8) are rejected with the line of the problem. Input is untrusted: nesting is
 * bounded, so no input can exhaust the stack.
 *
 * Where the specification leaves room, the reader follows Python's tomllib, which is what
 * Python packaging tools use to read pyproject.toml.
 */
#ifndef ASH_TOML_H
#define ASH_TOML_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/** The type of a value. */
typedef enum {
    ASH_TOML_STRING,
    ASH_TOML_INTEGER,
    ASH_TOML_FLOAT,
    ASH_TOML_BOOL,
    ASH_TOML_DATETIME, /**< offset/local date-time, local date or local time, as source text */
    ASH_TOML_ARRAY,
    ASH_TOML_TABLE,
} ash_toml_type;

/** A value; the document itself is a table. */
typedef struct ash_toml ash_toml;

/** Tables and arrays nested deeper than this are rejected. */
#define ASH_TOML_MAX_DEPTH 128

/**
 * Parse the TOML document `data[0..len)` (need not be NUL-terminated; a leading UTF-8 BOM is
 * skipped). `path` only names the document in error messages (NULL: "<input>"). Borrows `data`
 * and `path` for the duration of the call only. On success `*out` is the document, owned by the
 * caller (free with `ash__toml_free`). On failure `*out` is NULL and the result is ASH_ECONFIG,
 * with `ash_error_last()` = "<path>:<line>: <reason>", or ASH_ENOMEM. Thread-safe.
 */
int ash__toml_parse(ash_toml **out, const char *data, size_t len, const char *path);

/**
 * Free a document returned by `ash__toml_parse` and every value in it; NULL does nothing. Only
 * the document may be freed, never a value inside it.
 */
void ash__toml_free(ash_toml *doc);

/** The type of `v` (not NULL). */
ash_toml_type ash__toml_type(const ash_toml *v);

/**
 * The value at `dotted_path` under `table`, e.g. "tool.aftershock.roots": the path is split on
 * every '.', with no quoting. NULL if `table` is NULL, a part is missing, or a part before the
 * last is not a table. Borrowed from the document.
 */
const ash_toml *ash__toml_get(const ash_toml *table, const char *dotted_path);

/**
 * The value of `key` (one key, not split on '.') in `table`; NULL if `table` is NULL or not a
 * table, or has no such key. Borrowed from the document. Tables with many keys are hashed.
 */
const ash_toml *ash__toml_find(const ash_toml *table, const char *key);

/**
 * The bytes of a STRING, or the source text of a DATETIME, NUL-terminated; NULL for other types
 * or NULL `v`. A string may contain NUL bytes (written "\u0000"): see `ash__toml_string_len`.
 * Borrowed from the document. Newlines of multi-line strings are "\n", even when the document
 * used "\r\n".
 */
const char *ash__toml_string(const ash_toml *v);

/** The length in bytes of what `ash__toml_string` returns; 0 for other types. */
size_t ash__toml_string_len(const ash_toml *v);

/** The value of an INTEGER; 0 for other types or NULL. */
int64_t ash__toml_int(const ash_toml *v);

/** The value of a FLOAT; 0.0 for other types (integers included) or NULL. */
double ash__toml_float(const ash_toml *v);

/** 1 for `true`, 0 for `false`, other types or NULL. */
int ash__toml_bool(const ash_toml *v);

/** Items of an ARRAY or keys of a TABLE; 0 for other types or NULL. */
size_t ash__toml_count(const ash_toml *v);

/**
 * The `i`-th item of an ARRAY, or the `i`-th value of a TABLE in document order (the order in
 * which keys were first defined); NULL when out of range or for other types. Borrowed.
 */
const ash_toml *ash__toml_at(const ash_toml *v, size_t i);

/**
 * The `i`-th key of a TABLE in document order (matching `ash__toml_at`); NULL when out of range
 * or for other types. Borrowed. A quoted key may contain "\u0000": it then reads truncated.
 */
const char *ash__toml_key_at(const ash_toml *table, size_t i);

/**
 * The 1-based line where `v` starts (for a table: its header or the first key that created it;
 * 1 for the document); 0 for NULL.
 */
int ash__toml_line(const ash_toml *v);

#endif
