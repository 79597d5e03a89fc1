/*
 * Fuzz target: the worker result-file reader (result.c), the reader of what pytest workers
 * report (counts, duration, and the JUnit, output and coverage blobs). Any input gives a
 * result or an error; a result must survive a round trip through the writer: writing it and
 * reading that back gives the same module, counts and blobs (durations to the microsecond).
 */
#include "fuzz.h"
#include "result.h"

#include "aftershock/analyzer.h"

#include <math.h>
#include <string.h>

static int same_buf(const ash_buf *a, const ash_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static void round_trip(const ash_result *r)
{
    ash_buf text = ASH_BUF_INIT;
    int rc = ash__result_write(&text, r);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc < 0) {
        ash__buf_free(&text);
        return;
    }
    ash_result again;
    rc = ash__result_parse(&again, text.ptr, text.len, "again");
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc == 0) {
        ASH_FUZZ_CHECK(strcmp(r->module, again.module) == 0);
        ASH_FUZZ_CHECK(memcmp(r->counts, again.counts, sizeof(r->counts)) == 0);
        ASH_FUZZ_CHECK(r->collected == again.collected);
        ASH_FUZZ_CHECK(again.outcome == r->outcome);
        double expect = r->duration < 1e9 ? r->duration : 1e9;
        ASH_FUZZ_CHECK(fabs(again.duration - expect) <= 1e-6 * (1 + expect));
        ASH_FUZZ_CHECK(same_buf(&r->junit, &again.junit));
        ASH_FUZZ_CHECK(same_buf(&r->output, &again.output));
        ASH_FUZZ_CHECK(same_buf(&r->coverage, &again.coverage));
    }
    ash__result_free(&again);
    ash__buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ash_result r;
    int rc = ash__result_parse(&r, (const char *)data, size, "fuzz.res");
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ERROR || rc == ASH_ENOMEM);
    if (rc < 0) {
        /* an error message says where: "<path>: byte N: why" */
        ASH_FUZZ_CHECK(rc == ASH_ENOMEM || strncmp(ash_error_last(), "fuzz.res: ", 10) == 0);
        ASH_FUZZ_CHECK(r.module == NULL && r.junit.ptr == NULL && r.coverage.ptr == NULL);
        return 0;
    }
    ASH_FUZZ_CHECK(r.module != NULL);
    ASH_FUZZ_CHECK(ash__result_path_problem(r.module, strlen(r.module)) == NULL);
    ASH_FUZZ_CHECK(isfinite(r.duration) && r.duration >= 0);
    ASH_FUZZ_CHECK(r.outcome == ash__result_outcome(&r));
    round_trip(&r);
    ash__result_free(&r);
    return 0;
}
