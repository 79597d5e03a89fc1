/*
 * The result of one test module's run: what a worker reports, what the result cache stores,
 * and what the final reports are made of.
 *
 * A worker (the internal pytest plugin, selector/python/aftershock_worker.py) writes one
 * result file per finished module. Grammar (every count and length in ASCII decimal):
 *
 *   file     = "ASHW 1\n" field* "end\n"
 *   field    = "module " PATH "\n"            ; relative to the project root; required
 *            | "counts " N " " N " " N " " N " " N " " N "\n"
 *                                             ; passed failed skipped errors xfailed xpassed
 *            | "duration " SECONDS "\n"        ; wall time of the module, a decimal fraction
 *            | "collected " N "\n"            ; items collected (after deselection)
 *            | blob
 *   blob     = ("junit" | "output" | "coverage") " " LEN "\n" BYTES "\n"
 *                                             ; exactly LEN bytes, then a newline
 *
 * Unknown field names are an error (the plugin and the reader ship together). `junit` holds
 * the module's <testcase> elements (UTF-8 XML, no enclosing <testsuite>); `output` the failure
 * reports as pytest prints them; `coverage` the module's coverage data as JSON:
 * {"version": 1, "arcs": false, "files": {"rel/path.py": [1, 2, 5]}} (or arcs as [[a, b], ...]
 * when "arcs" is true), paths relative to the project root where they are under it.
 */
#ifndef ASH_RESULT_H
#define ASH_RESULT_H

#include "util.h"

typedef enum {
    ASH_OUTCOME_PASSED = 0,  /* no failure and no error (all skipped, or nothing collected, too) */
    ASH_OUTCOME_FAILED = 1,  /* a test failed, or xpassed strictly */
    ASH_OUTCOME_ERROR = 2,   /* collection, setup or teardown error */
    ASH_OUTCOME_CRASHED = 3, /* the worker died or timed out inside the module */
} ash_outcome;

enum {
    ASH_COUNT_PASSED,
    ASH_COUNT_FAILED,
    ASH_COUNT_SKIPPED,
    ASH_COUNT_ERRORS,
    ASH_COUNT_XFAILED,
    ASH_COUNT_XPASSED,
    ASH_COUNT_KINDS
};

typedef struct ash_result {
    char *module; /* relative path; owned */
    ash_outcome outcome;
    uint32_t counts[ASH_COUNT_KINDS];
    uint32_t collected;
    double duration;  /* seconds */
    ash_buf junit;    /* <testcase> elements */
    ash_buf output;   /* failure reports as pytest shows them */
    ash_buf coverage; /* coverage JSON; empty when coverage was not measured */
} ash_result;

/* The outcome the counts imply. */
ash_outcome ash__result_outcome(const ash_result *r);

/* Parse a worker's result file data[0..len) into `out` (zeroed first; free with
 * ash__result_free). `path` names the file in the error message. 0, ASH_ENOMEM, or ASH_ERROR
 * for malformed input with a message saying where. */
int ash__result_parse(ash_result *out, const char *data, size_t len, const char *path);

/* Longest module path a result (and the result cache) holds, in bytes. */
#define ASH_RESULT_PATH_MAX 4096

/* Why path[0..len) cannot name a module (NULL when it can): a module path is relative (no
 * leading '/'), not empty, at most ASH_RESULT_PATH_MAX bytes, without a ".." component and
 * without NUL or newline bytes. Shared by the readers of results and of the result cache. */
const char *ash__result_path_problem(const char *path, size_t len);

/* Append `r` to `out` in the worker-file grammar above (the inverse of ash__result_parse;
 * empty blobs are left out, durations are written to the microsecond). 0, ASH_ENOMEM, or
 * ASH_EINVAL when r->module is no module path (see ash__result_path_problem). */
int ash__result_write(ash_buf *out, const ash_result *r);

void ash__result_free(ash_result *r);

#endif
