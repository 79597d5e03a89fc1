/*
 * Unit tests of shards (selector/src/shard.c): the "K/N" arguments accepted and refused, the
 * longest-first balance (the split of small cases, unknown durations at the mean, tie-breaking,
 * no modules, more shards than modules, a large random suite assigned once and summed right,
 * a suite where it beats round-robin), round-robin itself, and allocation failures.
 */
#include "alloc_hook.h"
#include "shard.h"

// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void assert_parses(const char *s, unsigned want_k, unsigned want_n)
{
    unsigned k = 0, n = 0;
    if (ash__shard_parse(s, &k, &n) != 0) {
        fail_msg("'%s' refused: %s", s, ash_error_last());
    }
    assert_int_equal(k, want_k);
    assert_int_equal(n, want_n);
}

static void assert_refused(const char *s)
{
    unsigned k = 77, n = 88;
    if (ash__shard_parse(s, &k, &n) != ASH_EINVAL) {
        fail_msg("'%s' accepted as %u/%u", s, k, n);
    }
    /* the message quotes the text, and the outputs are left alone */
    char quoted[128];
    snprintf(quoted, sizeof(quoted), "'%s'", s);
    assert_non_null(strstr(ash_error_last(), quoted));
    assert_int_equal(k, 77);
    assert_int_equal(n, 88);
}

static void test_parse(void **state)
{
    (void)state;
    assert_parses("1/1", 1, 1);
    assert_parses("3/4", 3, 4);
    assert_parses("4/4", 4, 4);
    assert_parses("1/10000", 1, 10000);
    assert_parses("10000/10000", 10000, 10000);
    assert_parses("02/03", 2, 3); /* decimal, leading zeros and all */

    const char *bad[] = {"",
                         "1",
                         "/",
                         "1/",
                         "/2",
                         "0/1",
                         "0/0",
                         "2/1",
                         "1/0",
                         "5/4",
                         "a/b",
                         "1/b",
                         "a/2",
                         " 1/2",
                         "1/2 ",
                         "1 /2",
                         "1/ 2",
                         "1/2x",
                         "1/2/3",
                         "1//2",
                         "+1/2",
                         "-1/2",
                         "1/-2",
                         "1.0/2",
                         "1/2.",
                         "0x1/2",
                         "1/10001",
                         "10001/10001",
                         "1/99999",
                         "1/4294967297",
                         "99999999999999999999/2",
                         "1/2\n",
                         "1\\2",
                         "1-2"};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(bad); i++) {
        assert_refused(bad[i]);
    }
}

/* The longest shard's total. */
static double longest(const double *totals, unsigned shards)
{
    double m = 0;
    for (unsigned s = 0; s < shards; s++) {
        m = totals[s] > m ? totals[s] : m;
    }
    return m;
}

static void test_small_split_is_optimal(void **state)
{
    (void)state;
    /* 20 seconds in all: 7 + 3 and 5 + 4 + 1 is a perfect split, and longest-first finds it */
    const double seconds[] = {3, 7, 1, 5, 4};
    const unsigned want[] = {0, 0, 1, 1, 1};
    unsigned out[5];
    double totals[2];
    assert_int_equal(ash__shard_balance(seconds, 5, 2, out, totals), 0);
    assert_memory_equal(out, want, sizeof(want));
    assert_true(totals[0] == 10 && totals[1] == 10);

    /* 23 seconds over three shards: 8 | 5 + 2 + 1 | 4 + 3, no shard under 8 can do better */
    const double three[] = {2, 8, 3, 4, 5, 1};
    const unsigned want3[] = {1, 0, 2, 2, 1, 1};
    unsigned out3[6];
    double totals3[3];
    assert_int_equal(ash__shard_balance(three, 6, 3, out3, totals3), 0);
    assert_memory_equal(out3, want3, sizeof(want3));
    assert_true(totals3[0] == 8 && totals3[1] == 8 && totals3[2] == 7);
}

static void test_unknown_durations_get_the_mean(void **state)
{
    (void)state;
    /* known: 2 and 4, so the mean is 3 for the negative and the NaN one */
    const double seconds[] = {2, -1, 4, NAN};
    const unsigned want[] = {0, 1, 0, 1}; /* 4 | 3 (index 1) | 3 (index 3) | 2 */
    unsigned out[4];
    double totals[2];
    assert_int_equal(ash__shard_balance(seconds, 4, 2, out, totals), 0);
    assert_memory_equal(out, want, sizeof(want));
    assert_true(totals[0] == 6 && totals[1] == 6);

    /* infinite is unknown too; 0 is known */
    const double inf[] = {INFINITY, 0, 6};
    unsigned out_inf[3];
    double totals_inf[2];
    assert_int_equal(ash__shard_balance(inf, 3, 2, out_inf, totals_inf), 0);
    assert_true(totals_inf[0] + totals_inf[1] == 9); /* 6 + 0 + the mean 3 */
    assert_int_equal(out_inf[2], 0);
    assert_int_equal(out_inf[0], 1);

    /* nothing known: 1 second each */
    const double none[] = {-1, -1, -5};
    unsigned out_none[3];
    double totals_none[2];
    assert_int_equal(ash__shard_balance(none, 3, 2, out_none, totals_none), 0);
    const unsigned want_none[] = {0, 1, 0};
    assert_memory_equal(out_none, want_none, sizeof(want_none));
    assert_true(totals_none[0] == 2 && totals_none[1] == 1);
}

static void test_ties_are_deterministic(void **state)
{
    (void)state;
    /* equal durations: index order onto the lowest shard of the least loaded */
    const double equal[] = {1, 1, 1, 1, 1};
    const unsigned want[] = {0, 1, 2, 0, 1};
    unsigned out[5];
    assert_int_equal(ash__shard_balance(equal, 5, 3, out, NULL), 0);
    assert_memory_equal(out, want, sizeof(want));

    /* durations of 0 still spread over the shards (fewer modules first) */
    const double zero[] = {0, 0, 0, 0};
    const unsigned want_zero[] = {0, 1, 0, 1};
    unsigned out_zero[4];
    double totals[2];
    assert_int_equal(ash__shard_balance(zero, 4, 2, out_zero, totals), 0);
    assert_memory_equal(out_zero, want_zero, sizeof(want_zero));
    assert_true(totals[0] == 0 && totals[1] == 0);

    /* the same input gives the same split every time */
    double seconds[200];
    for (int i = 0; i < 200; i++) {
        seconds[i] = (double)(i % 5); /* many ties */
    }
    unsigned first[200], again[200];
    assert_int_equal(ash__shard_balance(seconds, 200, 7, first, NULL), 0);
    assert_int_equal(ash__shard_balance(seconds, 200, 7, again, NULL), 0);
    assert_memory_equal(first, again, sizeof(first));
}

static void test_no_modules(void **state)
{
    (void)state;
    double totals[3] = {5, 6, 7};
    assert_int_equal(ash__shard_balance(NULL, 0, 3, NULL, totals), 0);
    assert_true(totals[0] == 0 && totals[1] == 0 && totals[2] == 0);
    assert_int_equal(ash__shard_balance(NULL, 0, 1, NULL, NULL), 0);
}

static void test_more_shards_than_modules(void **state)
{
    (void)state;
    const double seconds[] = {1, 2, 3};
    const unsigned want[] = {2, 1, 0}; /* one each, the longest on the first */
    unsigned out[3];
    double totals[5] = {9, 9, 9, 9, 9};
    assert_int_equal(ash__shard_balance(seconds, 3, 5, out, totals), 0);
    assert_memory_equal(out, want, sizeof(want));
    const double want_totals[] = {3, 2, 1, 0, 0};
    assert_memory_equal(totals, want_totals, sizeof(want_totals));

    unsigned one;
    double big[ASH_SHARD_MAX];
    const double s = 4;
    assert_int_equal(ash__shard_balance(&s, 1, ASH_SHARD_MAX, &one, big), 0);
    assert_int_equal(one, 0);
    assert_true(big[0] == 4 && big[ASH_SHARD_MAX - 1] == 0);
}

/* A reproducible pseudo-random duration in [0, 100), some unknown. */
static double duration_of(uint32_t *seed)
{
    *seed = *seed * 1664525u + 1013904223u;
    if ((*seed >> 24) % 10 == 0) {
        return -1;
    }
    return (double)(*seed >> 8) / (double)(1u << 24) * 100.0;
}

static void test_large_suite(void **state)
{
    (void)state;
    enum { COUNT = 5000, SHARDS = 13 };
    double *seconds = malloc(COUNT * sizeof(double));
    unsigned *out = malloc(COUNT * sizeof(unsigned));
    assert_non_null(seconds);
    assert_non_null(out);
    uint32_t seed = 12345;
    double known_sum = 0, max = 0;
    size_t known = 0;
    for (size_t i = 0; i < COUNT; i++) {
        seconds[i] = duration_of(&seed);
        out[i] = UINT_MAX;
        if (seconds[i] >= 0) {
            known_sum += seconds[i];
            known++;
            max = seconds[i] > max ? seconds[i] : max;
        }
    }
    double mean = known_sum / (double)known;
    double totals[SHARDS];
    assert_int_equal(ash__shard_balance(seconds, COUNT, SHARDS, out, totals), 0);

    /* every module on exactly one shard, and each total is the sum of its modules */
    double sums[SHARDS] = {0};
    size_t modules[SHARDS] = {0};
    for (size_t i = 0; i < COUNT; i++) {
        assert_true(out[i] < SHARDS);
        sums[out[i]] += seconds[i] >= 0 ? seconds[i] : mean;
        modules[out[i]]++;
    }
    double all = 0;
    for (unsigned s = 0; s < SHARDS; s++) {
        assert_true(fabs(sums[s] - totals[s]) < 1e-6);
        assert_true(modules[s] > 0);
        all += totals[s];
    }
    assert_true(fabs(all - (known_sum + mean * (double)(COUNT - known))) < 1e-6);
    /* the longest shard is within one module of the ideal */
    assert_true(longest(totals, SHARDS) <= all / SHARDS + max);
    free(seconds);
    free(out);
}

static void test_beats_round_robin(void **state)
{
    (void)state;
    /* slow and fast modules alternating in path order: every other one lands on one shard */
    enum { COUNT = 40, SHARDS = 4 };
    double seconds[COUNT];
    for (int i = 0; i < COUNT; i++) {
        seconds[i] = i % SHARDS == 0 ? 30.0 : 1.0;
    }
    double rr[SHARDS] = {0};
    for (size_t i = 0; i < COUNT; i++) {
        rr[ash__shard_round_robin(i, SHARDS)] += seconds[i];
    }
    unsigned out[COUNT];
    double lpt[SHARDS];
    assert_int_equal(ash__shard_balance(seconds, COUNT, SHARDS, out, lpt), 0);
    /* 330 seconds: round-robin's longest shard has 300 of them; longest-first ~ a quarter */
    assert_true(longest(rr, SHARDS) == 300);
    assert_true(longest(lpt, SHARDS) <= 90);
    assert_true(longest(lpt, SHARDS) < longest(rr, SHARDS) / 3);
}

static void test_round_robin(void **state)
{
    (void)state;
    assert_int_equal(ash__shard_round_robin(0, 1), 0);
    assert_int_equal(ash__shard_round_robin(12345, 1), 0);
    assert_int_equal(ash__shard_round_robin(0, 4), 0);
    assert_int_equal(ash__shard_round_robin(5, 4), 1);
    assert_int_equal(ash__shard_round_robin(11, 4), 3);
    assert_int_equal(ash__shard_round_robin(SIZE_MAX, 2), 1);
    /* shards take equal counts, within one */
    unsigned counts[3] = {0};
    for (size_t i = 0; i < 100; i++) {
        counts[ash__shard_round_robin(i, 3)]++;
    }
    assert_int_equal(counts[0], 34);
    assert_int_equal(counts[1], 33);
    assert_int_equal(counts[2], 33);
}

static unsigned attempt_out[50];

static int balance_attempt(void *payload)
{
    (void)payload;
    double seconds[50];
    for (int i = 0; i < 50; i++) {
        seconds[i] = i % 3 ? i : -1;
    }
    return ash__shard_balance(seconds, 50, 6, attempt_out, NULL);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(balance_attempt, NULL, NULL);
    alloc_hook_remove();
    assert_true(failures > 0);
    for (int i = 0; i < 50; i++) {
        assert_true(attempt_out[i] < 6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_small_split_is_optimal),
        cmocka_unit_test(test_unknown_durations_get_the_mean),
        cmocka_unit_test(test_ties_are_deterministic),
        cmocka_unit_test(test_no_modules),
        cmocka_unit_test(test_more_shards_than_modules),
        cmocka_unit_test(test_large_suite),
        cmocka_unit_test(test_beats_round_robin),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
