/*
 * The lexical pass: one linear scan over decoded Python source that finds the logical lines
 * holding an import (an `import` keyword, `__import__`, `import_module`, `pytest_plugins`) and
 * the compound-statement headers around them, then writes a skeleton program of just those
 * lines for tree-sitter to parse. Strings (3.12 f-strings nested included), comments, brackets
 * and backslash continuations are honoured, so the skeleton is a faithful excerpt of the file.
 */
#ifndef ASH_SCAN_H
#define ASH_SCAN_H

#include "util.h"

/* First-keyword classes of a logical line. */
enum {
    ASH_KW_NONE = 0,
    ASH_KW_IF,
    ASH_KW_ELIF,
    ASH_KW_ELSE,
    ASH_KW_TRY,
    ASH_KW_EXCEPT,
    ASH_KW_FINALLY,
    ASH_KW_FOR,
    ASH_KW_WHILE,
    ASH_KW_WITH,
    ASH_KW_DEF,
    ASH_KW_CLASS,
    ASH_KW_MATCH,
    ASH_KW_CASE,
    ASH_KW_DECORATOR,
};

/* A stored logical line: a compound-statement line, or one that holds an import. */
typedef struct ash_scan_line {
    uint32_t start;      /* offset of the line's first byte (its indentation) */
    uint32_t end;        /* offset just past its final newline */
    uint32_t line;       /* 1-based line number of `start` */
    uint32_t indent;     /* column of the first token, tabs to multiples of 8 */
    int32_t parent;      /* enclosing block header, or -1 */
    int32_t prev_clause; /* previous clause of the same compound statement, or -1 */
    int32_t next_clause; /* next clause of the same compound statement, or -1 */
    uint8_t kw;          /* ASH_KW_* */
    uint8_t selected;    /* holds an import trigger */
    uint8_t opens_block; /* ends with ':' (its body is on the following lines) */
    uint8_t marked;      /* part of the skeleton */
} ash_scan_line;

/* Scanner state; reusable across files (buffers are kept). Zero-initialise. */
typedef struct ash_scan {
    ash_scan_line *lines;
    size_t count, cap;
    int32_t *stack;
    size_t stack_len, stack_cap;
    void *frames; /* f-string context stack */
    size_t frame_cap;
    ash_buf skeleton; /* the excerpt for tree-sitter; '\n' line ends */
    uint32_t *rows;   /* skeleton row -> 1-based source line */
    size_t row_count, row_cap;
    size_t selected; /* number of selected lines */
    /* The first lexical error (unclosed bracket or string, stray closing bracket): its 1-based
     * line, 0 if none, and what it is. */
    uint32_t error_line;
    const char *error;
} ash_scan;

/*
 * Scan `src[0..len)` (UTF-8, '\n' newlines) and build the skeleton. Fails only on allocation
 * failure (ASH_ENOMEM). Files over 4 GiB are the caller's to refuse.
 */
int ash__scan(ash_scan *scan, const char *src, size_t len);
void ash__scan_free(ash_scan *scan);

#endif
