/*
 * Import extraction: decode, scan (scan.h), parse the skeleton with tree-sitter, and walk it
 * for import records with their block context (TYPE_CHECKING, optional, lazy). When the
 * skeleton does not parse cleanly, the whole file is parsed instead, so that tree-sitter's own
 * error recovery decides what is kept.
 */
#ifndef ASH_EXTRACT_H
#define ASH_EXTRACT_H

#include "util.h"

/* Per-thread extraction state: a tree-sitter parser and reusable buffers. Not thread-safe;
 * use one per thread. */
typedef struct ash_extractor ash_extractor;

int ash__extractor_new(ash_extractor **out);
void ash__extractor_free(ash_extractor *ex);

/* Extract the imports of raw file bytes data[0..len); see ash_imports_parse. */
int ash__extract(ash_extractor *ex, ash_imports **out, const char *data, size_t len,
                 const char *path, ash_diag_fn diag, void *payload);

/* Counters for benchmarks and tests. */
typedef struct ash_extract_stats {
    uint64_t files;
    uint64_t bytes;          /* decoded source bytes scanned */
    uint64_t skeleton_bytes; /* bytes given to tree-sitter */
    uint64_t full_parses;    /* files whose skeleton did not parse and were parsed whole */
} ash_extract_stats;

const ash_extract_stats *ash__extractor_stats(const ash_extractor *ex);

#endif
