/*
 * Extraction throughput on files already in memory, one thread (MB/s per core), with how
 * much of it went to tree-sitter.
 * usage: extract_bench FILE-LIST [REPEATS]   (FILE-LIST: one path per line)
 */
#include "extract.h"
#include "scan.h"
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: extract_bench FILE-LIST [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    FILE *list = fopen(argv[1], "r");
    if (!list) {
        perror(argv[1]);
        return 2;
    }
    size_t n = 0, cap = 0, total = 0;
    char **data = NULL;
    size_t *lens = NULL;
    char line[4096];
    while (fgets(line, sizeof(line), list)) {
        line[strcspn(line, "\n")] = '\0';
        char *d;
        size_t len;
        if (!line[0] || ash__read_file(&d, &len, line, 0) < 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            data = realloc(data, cap * sizeof(*data));
            lens = realloc(lens, cap * sizeof(*lens));
        }
        data[n] = d;
        lens[n++] = len;
        total += len;
    }
    fclose(list);
    ash_extractor *ex;
    if (ash__extractor_new(&ex) < 0) {
        return 1;
    }
    double best = 1e9, best_scan = 1e9;
    size_t records = 0;
    for (int r = 0; r < repeats; r++) {
        /* lexical pass only */
        ash_scan scan = {0};
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            ash_source src;
            ash__source_decode(&src, data[i], lens[i], NULL, NULL, NULL);
            ash__scan(&scan, src.text, src.len);
            ash__source_free(&src);
        }
        double t1 = now();
        ash__scan_free(&scan);
        records = 0;
        for (size_t i = 0; i < n; i++) {
            ash_imports *imp;
            ash__extract(ex, &imp, data[i], lens[i], NULL, NULL, NULL);
            records += ash_imports_count(imp);
            ash_imports_free(imp);
        }
        double t2 = now();
        best_scan = t1 - t0 < best_scan ? t1 - t0 : best_scan;
        best = t2 - t1 < best ? t2 - t1 : best;
    }
    const ash_extract_stats *st = ash__extractor_stats(ex);
    printf("files %zu  bytes %.1f MB  records %zu\n", n, total / 1e6, records);
    printf("decode+scan: %.3f s  %.0f MB/s\n", best_scan, total / 1e6 / best_scan);
    printf("extract:     %.3f s  %.0f MB/s  (skeleton %.1f%% of bytes, %llu whole-file parses)\n",
           best, total / 1e6 / best, 100.0 * (double)st->skeleton_bytes / (double)st->bytes,
           (unsigned long long)st->full_parses / (unsigned long long)repeats);
    ash__extractor_free(ex);
    for (size_t i = 0; i < n; i++) {
        free(data[i]);
    }
    free(data);
    free(lens);
    return 0;
}
