/*
 * Unit tests of worker result files (selector/src/result.c): the outcome the counts imply, a
 * write/parse round trip, every class of malformed input the parser refuses (with the file and
 * the byte named), truncations and random mutations that must neither crash nor read past the
 * data (the sanitizer build checks), and allocation failures.
 */
#include "alloc_hook.h"
#include "result.h"

// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdlib.h>
#include <string.h>

static const char valid[] = "ASHW 1\n"
                            "module pkg/tests/test_a.py\n"
                            "counts 3 1 2 0 1 1\n"
                            "collected 8\n"
                            "duration 1.250000\n"
                            "junit 11\n<testcase/>\n"
                            "output 0\n\n"
                            "end\n";

/* Parse `text` from a buffer of exactly its size, so that a read past it is an ASan error. */
static int parse_exact(ash_result *r, const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = ash__result_parse(r, copy, len, "w/1.result");
    free(copy);
    return rc;
}

static void make_result(ash_result *r)
{
    memset(r, 0, sizeof(*r));
    r->module = ash__strdup("tests/test_x.py");
    assert_non_null(r->module);
    for (int k = 0; k < ASH_COUNT_KINDS; k++) {
        r->counts[k] = (uint32_t)(k * 7 + 1);
    }
    r->counts[ASH_COUNT_ERRORS] = 0;
    r->collected = 4294967295u;
    r->duration = 12.125;
    assert_int_equal(ash__buf_puts(&r->junit, "<testcase name=\"t\"/>\n"), 0);
    /* blobs are bytes: newlines, NUL, a line that looks like a field */
    assert_int_equal(ash__buf_put(&r->output, "E   x\0y\nend\n", 12), 0);
    assert_int_equal(ash__buf_puts(&r->coverage, "{\"version\": 1}"), 0);
    r->outcome = ash__result_outcome(r);
}

static void assert_same_result(const ash_result *a, const ash_result *b)
{
    assert_string_equal(a->module, b->module);
    assert_int_equal(a->outcome, b->outcome);
    assert_memory_equal(a->counts, b->counts, sizeof(a->counts));
    assert_int_equal(a->collected, b->collected);
    assert_true(a->duration == b->duration);
    const ash_buf *x[] = {&a->junit, &a->output, &a->coverage};
    const ash_buf *y[] = {&b->junit, &b->output, &b->coverage};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x[i]->len, y[i]->len);
        if (x[i]->len) {
            assert_memory_equal(x[i]->ptr, y[i]->ptr, x[i]->len);
        }
    }
}

static void test_outcome(void **state)
{
    (void)state;
    ash_result r = {0};
    assert_int_equal(ash__result_outcome(&r), ASH_OUTCOME_PASSED);
    r.counts[ASH_COUNT_SKIPPED] = 3;
    r.counts[ASH_COUNT_XFAILED] = 1;
    r.counts[ASH_COUNT_XPASSED] = 2; /* non-strict xpass: no failure */
    assert_int_equal(ash__result_outcome(&r), ASH_OUTCOME_PASSED);
    r.counts[ASH_COUNT_FAILED] = 1;
    assert_int_equal(ash__result_outcome(&r), ASH_OUTCOME_FAILED);
    r.counts[ASH_COUNT_ERRORS] = 1;
    assert_int_equal(ash__result_outcome(&r), ASH_OUTCOME_ERROR);
    r.outcome = ASH_OUTCOME_CRASHED;
    assert_int_equal(ash__result_outcome(&r), ASH_OUTCOME_CRASHED);
}

static void test_parse_valid(void **state)
{
    (void)state;
    ash_result r;
    assert_int_equal(parse_exact(&r, valid, sizeof(valid) - 1), 0);
    assert_string_equal(r.module, "pkg/tests/test_a.py");
    uint32_t counts[] = {3, 1, 2, 0, 1, 1};
    assert_memory_equal(r.counts, counts, sizeof(counts));
    assert_int_equal(r.collected, 8);
    assert_true(r.duration == 1.25);
    assert_int_equal(r.outcome, ASH_OUTCOME_FAILED);
    assert_int_equal(r.junit.len, 11);
    assert_memory_equal(r.junit.ptr, "<testcase/>", 11);
    assert_int_equal(r.output.len, 0);
    assert_int_equal(r.coverage.len, 0);
    ash__result_free(&r);
    assert_null(r.module);

    /* only module and end are required; fields in any order; a fraction of any length */
    static const char minimal[] = "ASHW 1\nduration 7\nmodule a.py\nend\n";
    assert_int_equal(parse_exact(&r, minimal, sizeof(minimal) - 1), 0);
    assert_true(r.duration == 7.0);
    assert_int_equal(r.outcome, ASH_OUTCOME_PASSED);
    ash__result_free(&r);
    static const char odd[] = "ASHW 1\nmodule a/..b/..c.py\nduration 0.1234567890123456789\nend\n";
    assert_int_equal(parse_exact(&r, odd, sizeof(odd) - 1), 0);
    assert_string_equal(r.module, "a/..b/..c.py");
    assert_true(r.duration > 0.1234567 && r.duration < 0.1234568);
    ash__result_free(&r);
}

static void test_round_trip(void **state)
{
    (void)state;
    ash_result r, back;
    make_result(&r);
    ash_buf text = ASH_BUF_INIT, again = ASH_BUF_INIT;
    assert_int_equal(ash__result_write(&text, &r), 0);
    assert_int_equal(parse_exact(&back, text.ptr, text.len), 0);
    assert_same_result(&r, &back);
    /* and the text is a fixed point */
    assert_int_equal(ash__result_write(&again, &back), 0);
    assert_int_equal(again.len, text.len);
    assert_memory_equal(again.ptr, text.ptr, text.len);
    ash__result_free(&back);

    /* empty blobs are left out and come back empty */
    ash__buf_free(&r.junit);
    ash__buf_free(&r.coverage);
    ash__buf_clear(&text);
    assert_int_equal(ash__result_write(&text, &r), 0);
    assert_null(strstr(text.ptr, "junit"));
    assert_int_equal(parse_exact(&back, text.ptr, text.len), 0);
    assert_same_result(&r, &back);
    ash__result_free(&back);
    ash__result_free(&r);
    ash__buf_free(&text);
    ash__buf_free(&again);
}

static void test_write_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {"/abs.py", "../up.py", "a/../b.py", "", "a\nb.py"};
    ash_buf out = ASH_BUF_INIT;
    for (size_t i = 0; i < ASH_ARRAY_SIZE(bad); i++) {
        ash_result r = {.module = (char *)bad[i]};
        assert_int_equal(ash__result_write(&out, &r), ASH_EINVAL);
    }
    ash_result none = {0};
    assert_int_equal(ash__result_write(&out, &none), ASH_EINVAL);
    /* durations that cannot be written as a plain decimal become 0, or the clamp */
    ash_result r = {.module = "a.py", .duration = -3};
    assert_int_equal(ash__result_write(&out, &r), 0);
    assert_non_null(strstr(out.ptr, "duration 0.000000\n"));
    ash__buf_free(&out);
}

typedef struct bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    const char *why;
} bad_case;

#define HDR "ASHW 1\n"
#define MOD "module a.py\n"

static const bad_case bad_cases[] = {
    {"", 0, "not an aftershock result file"},
    {"ASHW 2\n" MOD "end\n", 0, "not an aftershock result file"},
    {"ASHW 1", 0, "not an aftershock result file"},
    {HDR, 0, "no end line"},
    {HDR MOD, 0, "no end line"},
    {HDR "module a.py", 0, "unterminated line"},
    {HDR "end\n", 0, "no module line"},
    {HDR "counts 0 0 0 0 0 0\nend\n", 0, "no module line"},
    {HDR MOD "end\nx", 0, "bytes after the end line"},
    {HDR MOD "end\n\n", 0, "bytes after the end line"},
    {HDR MOD "end \n", 0, "unknown field"},
    {HDR MOD "module b.py\nend\n", 0, "field given twice"},
    {HDR MOD "collected 1\ncollected 1\nend\n", 0, "field given twice"},
    {HDR MOD "duration 1\nduration 1\nend\n", 0, "field given twice"},
    {HDR MOD "counts 0 0 0 0 0 0\ncounts 0 0 0 0 0 0\nend\n", 0, "field given twice"},
    {HDR MOD "junit 1\nx\njunit 1\nx\nend\n", 0, "field given twice"},
    {HDR MOD "frobnicate 1\nend\n", 0, "unknown field"},
    {HDR MOD "counts\nend\n", 0, "field without a value"},
    {HDR MOD "\nend\n", 0, "field without a value"},
    {HDR MOD "counts 1 2 3 4 5\nend\n", 0, "counts are not"},
    {HDR MOD "counts 1 2 3 4 5 6 7\nend\n", 0, "counts are not"},
    {HDR MOD "counts 1 2 3 4 5 4294967296\nend\n", 0, "counts are not"},
    {HDR MOD "counts 99999999999999999999999 0 0 0 0 0\nend\n", 0, "counts are not"},
    {HDR MOD "counts -1 0 0 0 0 0\nend\n", 0, "counts are not"},
    {HDR MOD "counts +1 0 0 0 0 0\nend\n", 0, "counts are not"},
    {HDR MOD "counts 1  2 3 4 5 6\nend\n", 0, "counts are not"},
    {HDR MOD "counts 1 2 3 4 5 6 \nend\n", 0, "counts are not"},
    {HDR MOD "counts 1 2 3 4 5 x\nend\n", 0, "counts are not"},
    {HDR MOD "collected 4294967296\nend\n", 0, "collected is not"},
    {HDR MOD "collected \nend\n", 0, "collected is not"},
    {HDR MOD "collected 0x10\nend\n", 0, "collected is not"},
    {HDR MOD "duration 1e3\nend\n", 0, "duration is not"},
    {HDR MOD "duration -1\nend\n", 0, "duration is not"},
    {HDR MOD "duration .5\nend\n", 0, "duration is not"},
    {HDR MOD "duration 5.\nend\n", 0, "duration is not"},
    {HDR MOD "duration inf\nend\n", 0, "duration is not"},
    {HDR MOD "duration nan\nend\n", 0, "duration is not"},
    {HDR MOD "duration 1.2.3\nend\n", 0, "duration is not"},
    {HDR MOD "duration 1,5\nend\n", 0, "duration is not"},
    {HDR MOD "duration 1234567890123456\nend\n", 0, "duration is not"},
    {HDR MOD "junit 10\nabc\nend\n", 0, "blob runs past the end"},
    {HDR MOD "junit 3\nabcd\nend\n", 0, "blob is not followed by a newline"},
    {HDR MOD "junit 3\nabc", 0, "blob runs past the end"},
    {HDR MOD "output 99999999999999999999999\nend\n", 0, "blob length is not"},
    {HDR MOD "coverage x\nend\n", 0, "blob length is not"},
    {HDR MOD "coverage -1\nend\n", 0, "blob length is not"},
    {HDR "module /abs/a.py\nend\n", 0, "absolute module path"},
    {HDR "module ../a.py\nend\n", 0, "'..' in the module path"},
    {HDR "module a/../b.py\nend\n", 0, "'..' in the module path"},
    {HDR "module a/..\nend\n", 0, "'..' in the module path"},
    {HDR "module ..\nend\n", 0, "'..' in the module path"},
    {HDR "module \nend\n", 0, "empty module path"},
    {HDR "module a\0b.py\nend\n", sizeof(HDR "module a\0b.py\nend\n") - 1, "NUL"},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < ASH_ARRAY_SIZE(bad_cases); i++) {
        const bad_case *c = &bad_cases[i];
        ash_result r;
        int rc = parse_exact(&r, c->text, c->len ? c->len : strlen(c->text));
        if (rc != ASH_ERROR || !strstr(ash_error_last(), c->why) ||
            strncmp(ash_error_last(), "w/1.result: byte ", 17) != 0) {
            fail_msg("case %zu: rc %d, message \"%s\", expected \"%s\"", i, rc, ash_error_last(),
                     c->why);
        }
        assert_null(r.module);
        assert_null(r.junit.ptr);
    }
    /* a module path over the limit */
    ash_buf big = ASH_BUF_INIT;
    assert_int_equal(ash__buf_puts(&big, HDR "module "), 0);
    for (int i = 0; i < ASH_RESULT_PATH_MAX; i++) {
        assert_int_equal(ash__buf_putc(&big, 'a'), 0);
    }
    assert_int_equal(ash__buf_puts(&big, ".py\nend\n"), 0);
    ash_result r;
    assert_int_equal(parse_exact(&r, big.ptr, big.len), ASH_ERROR);
    assert_non_null(strstr(ash_error_last(), "too long"));
    ash__buf_free(&big);
}

static void test_truncations_and_mutations(void **state)
{
    (void)state;
    ash_result r;
    size_t len = sizeof(valid) - 1;
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(parse_exact(&r, valid, n), ASH_ERROR);
    }
    /* random bytes written over a valid file: a result or an error, never a crash */
    char buf[sizeof(valid)];
    uint32_t seed = 12345;
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, valid, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            static const char alphabet[] = "0123456789 \n.-/a\0\xff";
            buf[at] = (seed >> 16) & 1 ? (char)(seed >> 24) : alphabet[(seed >> 20) % 19];
        }
        int rc = parse_exact(&r, buf, len - (round % 3 == 0 ? (size_t)round % len : 0));
        assert_true(rc == 0 || rc == ASH_ERROR);
        if (rc == 0) {
            accepted++;
            assert_non_null(r.module);
            assert_null(ash__result_path_problem(r.module, strlen(r.module)));
        }
        ash__result_free(&r);
    }
    assert_true(accepted > 0);
}

static int parse_attempt(void *payload)
{
    ash_result *r = payload;
    return ash__result_parse(r, valid, sizeof(valid) - 1, "w");
}

static int parse_cleanup(void *payload, int rc)
{
    ash_result *r = payload;
    int wrong = rc == 0 ? r->junit.len != 11 || strcmp(r->module, "pkg/tests/test_a.py") != 0
                        : r->module != NULL;
    ash__result_free(r);
    return wrong;
}

static int write_attempt(void *payload)
{
    ash_buf *out = payload;
    ash_result r = {.module = "a.py", .duration = 2};
    r.output = (ash_buf){"x\ny", 3, 4};
    ash__buf_free(out);
    return ash__result_write(out, &r);
}

static int write_cleanup(void *payload, int rc)
{
    ash_buf *out = payload;
    int wrong = rc == 0 && !strstr(out->ptr, "output 3\nx\ny\nend\n");
    ash__buf_free(out);
    return wrong;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    ash_result r;
    ash_buf out = ASH_BUF_INIT;
    alloc_hook_install(-1);
    long parse_failures = alloc_hook_fail_each(parse_attempt, parse_cleanup, &r);
    long write_failures = alloc_hook_fail_each(write_attempt, write_cleanup, &out);
    alloc_hook_remove();
    assert_true(parse_failures > 0);
    assert_true(write_failures > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outcome),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_write_refuses),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncations_and_mutations),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
