/*
 * Unit tests of the last-run state (selector/src/state.c): set/find in and out of path order,
 * a save/load round trip (100,000 modules too), a missing file (quietly empty), every flipped
 * byte and every truncation of a file (empty, with one warning), well-checksummed files that
 * break the rules, values save refuses, and allocation failures.
 */
#include "alloc_hook.h"
#include "hash.h"
#include "rcache.h"
#include "state.h"
#include "tmp_tree.h"

// clang-format off
#include "diag_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char state_file[512];
static diag_log warnings;

static ash_key key_of(uint32_t i)
{
    ash_key k;
    for (int b = 0; b < 16; b++) {
        k.bytes[b] = (uint8_t)(i >> (8 * (b % 4))) ^ (uint8_t)(b * 29);
    }
    return k;
}

static void module_path(char *out, size_t size, uint32_t i)
{
    snprintf(out, size, "pkg%u/tests/test_%06u.py", i % 7, i);
}

static void fill(ash_run_state *s, uint32_t n, uint32_t step)
{
    /* i * step mod n visits every i when step and n are coprime: an out-of-order insertion */
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (uint32_t)(((uint64_t)k * step) % n);
        char path[64];
        module_path(path, sizeof(path), i);
        ash_key key = key_of(i);
        assert_int_equal(ash__state_set(s, path, &key, (ash_outcome)(i % 4), i * 0.25), 0);
    }
}

/* Modules 0..n-1 are there, as fill() set them. */
static void check(const ash_run_state *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char path[64];
        module_path(path, sizeof(path), i);
        const ash_state_module *m = ash__state_find(s, path);
        assert_non_null(m);
        assert_string_equal(m->path, path);
        ash_key key = key_of(i);
        assert_memory_equal(m->inputs.bytes, key.bytes, 16);
        assert_int_equal(m->outcome, (ash_outcome)(i % 4));
        assert_true(m->duration == i * 0.25);
    }
    assert_null(ash__state_find(s, "not/there.py"));
}

static void assert_sorted(const ash_run_state *s)
{
    assert_int_equal(s->sorted, s->count);
    for (size_t i = 1; i < s->count; i++) {
        assert_true(strcmp(s->modules[i - 1].path, s->modules[i].path) < 0);
    }
}

static void add_fields(ash_run_state *s)
{
    static const char *const names[] = {"python", "distributions", "env:FOO"};
    s->fields = ash__calloc(3, sizeof(*s->fields));
    assert_non_null(s->fields);
    for (uint32_t i = 0; i < 3; i++) {
        s->fields[i].name = ash__strdup(names[i]);
        s->fields[i].hash = key_of(1000 + i);
    }
    s->field_count = 3;
    s->env = key_of(77);
}

static int setup(void **state)
{
    (void)state;
    memset(&warnings, 0, sizeof(warnings));
    if (tmp_tree_make("ash_state_") < 0) {
        return -1;
    }
    snprintf(state_file, sizeof(state_file), "%s/last-run", tmp_root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tmp_tree_remove();
    return 0;
}

static void load_empty(const char *why)
{
    ash_run_state s;
    warnings.count = 0;
    assert_int_equal(ash__state_load(&s, state_file, diag_log_add, &warnings), 0);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.field_count, 0);
    assert_null(s.modules);
    assert_int_equal(warnings.count, why ? 1 : 0);
    if (why && !strstr(warnings.last, why)) {
        fail_msg("warning \"%s\", expected \"%s\"", warnings.last, why);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    load_empty(NULL);
    /* a directory where the file should be */
    assert_int_equal(mkdir(state_file, 0700), 0);
    load_empty("ignoring the last-run state");
}

static void test_set_find_sort(void **state)
{
    (void)state;
    ash_run_state s = {0};
    fill(&s, 1000, 7);
    assert_int_equal(s.count, 1000);
    check(&s, 1000);
    /* replacing keeps one record */
    ash_key k = key_of(5);
    assert_int_equal(ash__state_set(&s, "pkg5/tests/test_000005.py", &k, ASH_OUTCOME_CRASHED, 9),
                     0);
    assert_int_equal(s.count, 1000);
    assert_int_equal(ash__state_find(&s, "pkg5/tests/test_000005.py")->outcome,
                     ASH_OUTCOME_CRASHED);
    /* pending ones are found and replaced too */
    assert_int_equal(ash__state_set(&s, "zzz.py", &k, ASH_OUTCOME_PASSED, 1), 0);
    assert_int_equal(ash__state_set(&s, "aaa.py", &k, ASH_OUTCOME_PASSED, 1), 0);
    assert_true(s.sorted < s.count);
    assert_int_equal(ash__state_set(&s, "aaa.py", &k, ASH_OUTCOME_FAILED, 2), 0);
    assert_int_equal(s.count, 1002);
    assert_int_equal(ash__state_find(&s, "aaa.py")->outcome, ASH_OUTCOME_FAILED);
    ash__state_sort(&s);
    assert_sorted(&s);
    assert_string_equal(s.modules[0].path, "aaa.py");
    assert_string_equal(s.modules[1001].path, "zzz.py");
    ash__state_free(&s);
    assert_null(s.modules);
    ash__state_free(NULL);
}

static void test_round_trip(void **state)
{
    (void)state;
    ash_run_state s = {0}, back;
    add_fields(&s);
    fill(&s, 300, 11);
    ash_key k = key_of(1);
    assert_int_equal(ash__state_set(&s, "a.py", &k, ASH_OUTCOME_PASSED, 0), 0);
    assert_true(s.sorted < s.count); /* saved in order all the same */
    assert_int_equal(ash__state_save(&s, state_file), 0);
    assert_int_equal(ash__state_load(&back, state_file, diag_log_add, &warnings), 0);
    assert_int_equal(warnings.count, 0);
    assert_memory_equal(back.env.bytes, s.env.bytes, 16);
    assert_int_equal(back.field_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(back.fields[i].name, s.fields[i].name);
        assert_memory_equal(back.fields[i].hash.bytes, s.fields[i].hash.bytes, 16);
    }
    assert_sorted(&back);
    assert_int_equal(back.count, 301);
    check(&back, 300);
    assert_string_equal(back.modules[0].path, "a.py");
    /* an empty state round-trips too */
    ash_run_state empty = {0};
    assert_int_equal(ash__state_save(&empty, state_file), 0);
    ash__state_free(&back);
    assert_int_equal(ash__state_load(&back, state_file, diag_log_add, &warnings), 0);
    assert_int_equal(back.count, 0);
    assert_int_equal(warnings.count, 0);
    ash__state_free(&back);
    ash__state_free(&s);
}

static void test_hundred_thousand_modules(void **state)
{
    (void)state;
    ash_run_state s = {0}, back;
    fill(&s, 100000, 7919); /* out of path order throughout */
    assert_int_equal(s.count, 100000);
    check(&s, 100000);
    assert_int_equal(ash__state_save(&s, state_file), 0);
    assert_int_equal(ash__state_load(&back, state_file, diag_log_add, &warnings), 0);
    assert_int_equal(warnings.count, 0);
    assert_sorted(&back);
    assert_int_equal(back.count, 100000);
    check(&back, 100000);
    ash__state_free(&back);
    ash__state_free(&s);
}

/* A small valid file's bytes into out[0..*len). */
static void small_file(char *out, size_t *len, size_t cap)
{
    ash_run_state s = {0};
    add_fields(&s);
    fill(&s, 3, 2);
    assert_int_equal(ash__state_save(&s, state_file), 0);
    ash__state_free(&s);
    FILE *f = fopen(state_file, "rb");
    assert_non_null(f);
    *len = fread(out, 1, cap, f);
    fclose(f);
}

static void write_file(const char *data, size_t len)
{
    FILE *f = fopen(state_file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_corrupt_files(void **state)
{
    (void)state;
    char good[4096], bad[4096];
    size_t len;
    small_file(good, &len, sizeof(good));
    for (size_t at = 0; at < len; at++) {
        memcpy(bad, good, len);
        bad[at] ^= 0x01;
        write_file(bad, len);
        load_empty(at < 8 ? "not a state file" : "checksum mismatch");
    }
    for (size_t n = 0; n < len; n++) {
        write_file(good, n);
        load_empty("ignoring the last-run state");
    }
    write_file("garbage", 7);
    load_empty("not a state file");
    write_file(good, len);
    ash_run_state s;
    assert_int_equal(ash__state_load(&s, state_file, diag_log_add, &warnings), 0);
    assert_int_equal(s.count, 3);
    ash__state_free(&s);
}

/* Write a file with a valid checksum around `body` (what follows the magic), and load it:
 * empty, with the warning `why`. */
static void forge(ash_buf *body, const char *why)
{
    ash_buf b = ASH_BUF_INIT;
    assert_int_equal(ash__buf_put(&b, "ASHSTATE", 8), 0);
    assert_int_equal(ash__buf_put(&b, body->ptr, body->len), 0);
    assert_int_equal(ash__le_put(&b, ash__hash64(b.ptr, b.len), 8), 0);
    write_file(b.ptr, b.len);
    ash__buf_free(&b);
    ash__buf_clear(body);
    load_empty(why);
}

static void header(ash_buf *b, uint32_t version, uint32_t fields, uint32_t modules)
{
    ash_key env = key_of(3);
    assert_int_equal(ash__le_put(b, version, 4), 0);
    assert_int_equal(ash__buf_put(b, env.bytes, 16), 0);
    assert_int_equal(ash__le_put(b, fields, 4), 0);
    assert_int_equal(ash__le_put(b, modules, 4), 0);
}

static void module(ash_buf *b, const char *path, size_t len, uint32_t outcome, double duration)
{
    ash_key k = key_of(9);
    assert_int_equal(ash__le_put(b, len, 4), 0);
    assert_int_equal(ash__buf_put(b, path, len), 0);
    assert_int_equal(ash__buf_put(b, k.bytes, 16), 0);
    assert_int_equal(ash__le_put(b, outcome, 4), 0);
    assert_int_equal(ash__le_put_f64(b, duration), 0);
}

/* Files with a valid checksum that break the rules all the same. */
static void test_forged_files(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        size_t len;
        uint32_t outcome;
        double duration;
    } bad_modules[] = {
        {"../a.py", 7, 0, 1}, {"a\0.py", 5, 0, 1}, {"", 0, 0, 1},
        {"a.py", 4, 4, 1},    {"a.py", 4, 0, -1},  {"a.py", 4, 0, INFINITY},
    };
    ash_buf b = ASH_BUF_INIT;
    for (size_t i = 0; i < ASH_ARRAY_SIZE(bad_modules); i++) {
        header(&b, 1, 0, 1);
        module(&b, bad_modules[i].path, bad_modules[i].len, bad_modules[i].outcome,
               bad_modules[i].duration);
        forge(&b, "bad module record");
    }
    static const char *const pairs[][2] = {{"b.py", "a.py"}, {"a.py", "a.py"}};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(pairs); i++) {
        header(&b, 1, 0, 2);
        module(&b, pairs[i][0], 4, 0, 1);
        module(&b, pairs[i][1], 4, 0, 1);
        forge(&b, "modules out of order");
    }
    header(&b, 2, 0, 0);
    forge(&b, "unknown format version");
    header(&b, 1, 0, 0xFFFFFFFF);
    forge(&b, "counts out of range");
    header(&b, 1, 0, 1);
    forge(&b, "truncated");
    header(&b, 1, 1, 0);
    assert_int_equal(ash__le_put(&b, 0, 4), 0);
    assert_int_equal(ash__buf_put(&b, "0123456789abcdef", 16), 0);
    forge(&b, "bad field name");
    header(&b, 1, 0, 1);
    module(&b, "a.py", 4, 0, 1);
    assert_int_equal(ash__buf_puts(&b, "x"), 0);
    forge(&b, "trailing bytes");
    ash__buf_free(&b);
}

static void test_save_refuses(void **state)
{
    (void)state;
    ash_run_state s = {0};
    ash_key k = key_of(1);
    assert_int_equal(ash__state_set(&s, "/abs.py", &k, ASH_OUTCOME_PASSED, 1), 0);
    assert_int_equal(ash__state_save(&s, state_file), ASH_EINVAL);
    assert_non_null(strstr(ash_error_last(), "/abs.py"));
    ash__state_free(&s);
    assert_int_equal(ash__state_set(&s, "a.py", &k, ASH_OUTCOME_PASSED, -1), 0);
    assert_int_equal(ash__state_save(&s, state_file), ASH_EINVAL);
    ash__state_free(&s);
    /* modules added by hand out of order: refused by save, put in order by sort */
    ash_state_module by_hand[3] = {{"c.py", k, ASH_OUTCOME_PASSED, 1},
                                   {"b.py", k, ASH_OUTCOME_PASSED, 1},
                                   {"a.py", k, ASH_OUTCOME_PASSED, 1}};
    ash_run_state manual = {.count = 3, .modules = by_hand, .sorted = 1};
    assert_int_equal(ash__state_save(&manual, state_file), ASH_EINVAL);
    assert_non_null(strstr(ash_error_last(), "out of order"));
    ash__state_sort(&manual);
    assert_sorted(&manual);
    load_empty(NULL); /* nothing was written */
    /* a directory that does not exist */
    char path[600];
    snprintf(path, sizeof(path), "%s/no/such/dir/last-run", tmp_root);
    assert_int_equal(ash__state_save(&s, path), ASH_EIO);
}

/* Set, save and load with allocation N failing; `*(int *)payload` says whether the run that
 * got through loaded what it saved. */
static int oom_attempt(void *payload)
{
    ash_run_state s = {0}, back;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < 40; i++) {
        char path[64];
        module_path(path, sizeof(path), (i * 17) % 40);
        ash_key k = key_of(i);
        rc = ash__state_set(&s, path, &k, ASH_OUTCOME_PASSED, 1);
    }
    if (rc == 0) {
        rc = ash__state_save(&s, state_file);
    }
    ash__state_free(&s);
    if (rc == 0 && (rc = ash__state_load(&back, state_file, NULL, NULL)) == 0) {
        *(int *)payload = back.count == 40;
        ash__state_free(&back);
    }
    return rc;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    int loaded = 0;
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(oom_attempt, NULL, &loaded);
    alloc_hook_remove();
    assert_true(failures > 0);
    assert_true(loaded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_find_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hundred_thousand_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
