/*
 * Fuzz target: source decoding (source.c) and the lexical pass (scan.c) alone, without
 * tree-sitter, so that many more inputs per second reach the scanner's string, f-string,
 * bracket and continuation handling. Checks that the stored lines and the skeleton stay inside
 * the decoded text and agree with each other.
 */
#include "fuzz.h"
#include "scan.h"
#include "source.h"

#include <string.h>

static ash_scan scan; /* reused across inputs, as the extractor reuses its own */

static void check_scan(const ash_source *src)
{
    uint32_t prev_line = 0;
    for (size_t i = 0; i < scan.count; i++) {
        const ash_scan_line *l = &scan.lines[i];
        ASH_FUZZ_CHECK(l->start <= l->end && l->end <= src->len);
        ASH_FUZZ_CHECK(l->line >= 1 && l->line >= prev_line);
        ASH_FUZZ_CHECK(l->parent < (int32_t)i);
        ASH_FUZZ_CHECK(l->prev_clause < (int32_t)i);
        ASH_FUZZ_CHECK(l->next_clause == -1 ||
                       (l->next_clause > (int32_t)i && (size_t)l->next_clause < scan.count));
        ASH_FUZZ_CHECK(l->kw <= ASH_KW_DECORATOR);
        prev_line = l->line;
    }
    if (scan.selected == 0) {
        return;
    }
    /* the skeleton: '\n'-terminated rows, each mapped to a source line */
    size_t rows = 0;
    for (size_t k = 0; k < scan.skeleton.len; k++) {
        rows += scan.skeleton.ptr[k] == '\n';
    }
    ASH_FUZZ_CHECK(scan.skeleton.len > 0 && scan.skeleton.ptr[scan.skeleton.len - 1] == '\n');
    ASH_FUZZ_CHECK(rows == scan.row_count);
    for (size_t k = 0; k < scan.row_count; k++) {
        ASH_FUZZ_CHECK(scan.rows[k] >= 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ash_source src;
    int rc = ash__source_decode(&src, (const char *)data, size, "fuzz.py", ash_fuzz__diag, NULL);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc < 0) {
        return 0;
    }
    /* decoded text: no '\r' left, NUL-free unless a decoder produced one */
    ASH_FUZZ_CHECK(src.text != NULL && memchr(src.text, '\r', src.len) == NULL);
    rc = ash__scan(&scan, src.text, src.len);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc == 0) {
        check_scan(&src);
    }
    ash__source_free(&src);
    return 0;
}
