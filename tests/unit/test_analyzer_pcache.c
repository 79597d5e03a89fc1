/*
 * Unit tests of the parse cache (analyzer/src/pcache.c): a write/open round trip of records,
 * statuses and messages, lookups by path and by content hash, the stat freshness check and
 * its racy flag, corrupt, truncated, foreign and other-version files (a miss, with one warning
 * or, for another version, none), the cache directory's tag files, and allocation failures.
 */
#include "alloc_hook.h"
#include "hash.h"
#include "pcache.h"
#include "tmp_tree.h"
#include "util.h"

// clang-format off
#include "diag_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

#define NITEMS 3

static const char *const sources[NITEMS] = {
    "import os\nfrom . import x, y\nfrom ..pkg.mod import *\n",
    "import json as j\nimport importlib\nimportlib.import_module('z.w')\n"
    "try:\n    import yaml\nexcept ImportError:\n    pass\n",
    "import a.b\nimport (\n",
};
static const char *const item_paths[NITEMS] = {"a.py", "pkg/b.py", "zz/broken.py"};
static const char *const item_messages[NITEMS] = {NULL, "", "zz/broken.py:2: syntax error\n"};

typedef struct fixture {
    ash_imports *imports[NITEMS];
    ash_pcache_item items[NITEMS];
} fixture;

static void fixture_make(fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    for (size_t i = 0; i < NITEMS; i++) {
        assert_int_equal(ash_imports_parse(&fx->imports[i], sources[i], strlen(sources[i]),
                                           item_paths[i], NULL, NULL),
                         0);
        ash_pcache_item *it = &fx->items[i];
        it->path = item_paths[i];
        it->stat.size = strlen(sources[i]);
        it->stat.mtime_ns = 1700000000123456789 + (int64_t)i;
        it->stat.ctime_ns = 1700000000987654321 + (int64_t)i;
        it->stat.ino = 1000 + i;
        it->hash = ash__hash_bytes(sources[i], strlen(sources[i]));
        it->flags = i == 1 ? ASH_PCACHE_RACY : 0;
        it->imports = fx->imports[i];
        it->messages = item_messages[i];
    }
    assert_true(ash_imports_count(fx->imports[0]) >= 3);
}

static void fixture_free(fixture *fx)
{
    for (size_t i = 0; i < NITEMS; i++) {
        ash_imports_free(fx->imports[i]);
    }
}

static void cache_file(char *out, size_t size)
{
    snprintf(out, size, "%s/parse-cache.bin", tmp_root);
}

static int setup(void **state)
{
    (void)state;
    return tmp_tree_make("ash-pcache-");
}

static int teardown(void **state)
{
    (void)state;
    tmp_tree_remove();
    return 0;
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Are the two record lists equal field by field? */
static int same_imports(const ash_imports *a, const ash_imports *b)
{
    if (ash_imports_count(a) != ash_imports_count(b) ||
        ash_imports_status(a) != ash_imports_status(b)) {
        return 0;
    }
    for (size_t i = 0; i < ash_imports_count(a); i++) {
        const ash_import *x = ash_imports_get(a, i), *y = ash_imports_get(b, i);
        if (x->kind != y->kind || x->line != y->line || x->level != y->level ||
            x->flags != y->flags || !same_str(x->module, y->module) ||
            !same_str(x->package, y->package) || x->name_count != y->name_count) {
            return 0;
        }
        for (uint32_t k = 0; k < x->name_count; k++) {
            if (strcmp(x->names[k], y->names[k]) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

static void write_fixture(fixture *fx)
{
    fixture_make(fx);
    assert_int_equal(ash__pcache_write(tmp_root, fx->items, NITEMS), 0);
}

static void open_expect(size_t count, int warned)
{
    diag_log w = {0};
    ash_pcache *c = NULL;
    assert_int_equal(ash__pcache_open(&c, tmp_root, diag_log_add, &w), 0);
    assert_non_null(c);
    assert_int_equal(ash__pcache_count(c), count);
    assert_int_equal(w.count, warned);
    if (warned) {
        assert_non_null(strstr(w.last, "ignoring the parse cache"));
    }
    assert_int_equal(ash__pcache_find(c, "a.py"), count ? 0 : -1);
    ash__pcache_free(c);
}

static char *slurp(size_t *len)
{
    char path[512];
    cache_file(path, sizeof(path));
    char *data = NULL;
    assert_int_equal(ash__read_file(&data, len, path, 0), 0);
    return data;
}

static void spill(const char *data, size_t len)
{
    char path[512];
    cache_file(path, sizeof(path));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Round trip                                                                               */

static void test_missing_cache_is_empty(void **state)
{
    (void)state;
    open_expect(0, 0);
    diag_log w = {0};
    ash_pcache *c = NULL;
    assert_int_equal(ash__pcache_open(&c, NULL, diag_log_add, &w), 0);
    assert_int_equal(ash__pcache_count(c), 0);
    assert_int_equal(w.count, 0);
    ash_hash h = ash__hash_bytes("x", 1);
    assert_int_equal(ash__pcache_find_hash(c, &h), -1);
    ash__pcache_free(c);
    ash__pcache_free(NULL);
}

static void test_round_trip(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    diag_log w = {0};
    ash_pcache *c = NULL;
    assert_int_equal(ash__pcache_open(&c, tmp_root, diag_log_add, &w), 0);
    assert_int_equal(w.count, 0);
    assert_int_equal(ash__pcache_count(c), NITEMS);

    for (size_t i = 0; i < NITEMS; i++) {
        long e = ash__pcache_find(c, item_paths[i]);
        assert_int_equal(e, (long)i);
        assert_true(ash__hash_equal(ash__pcache_hash(c, e), &fx.items[i].hash));
        assert_int_equal(ash__pcache_find_hash(c, &fx.items[i].hash), e);

        ash_imports *got = NULL;
        ash_buf messages = ASH_BUF_INIT;
        assert_int_equal(ash__buf_puts(&messages, "before\n"), 0);
        assert_int_equal(ash__pcache_imports(c, e, &got, &messages), 0);
        assert_non_null(got);
        assert_true(same_imports(got, fx.imports[i]));
        char want[256];
        snprintf(want, sizeof(want), "before\n%s", item_messages[i] ? item_messages[i] : "");
        assert_string_equal(ash__buf_cstr(&messages), want);
        ash__buf_free(&messages);
        ash_imports_free(got);

        /* messages may be NULL */
        assert_int_equal(ash__pcache_imports(c, e, &got, NULL), 0);
        assert_true(same_imports(got, fx.imports[i]));
        ash_imports_free(got);
    }
    assert_int_not_equal(ash_imports_status(fx.imports[2]), 0);

    assert_int_equal(ash__pcache_find(c, "missing.py"), -1);
    assert_int_equal(ash__pcache_find(c, ""), -1);
    assert_int_equal(ash__pcache_find(c, "a.p"), -1);
    assert_int_equal(ash__pcache_find(c, "a.pyi"), -1);
    assert_int_equal(ash__pcache_find(c, "zz/broken.py/x"), -1);
    ash_hash other = ash__hash_bytes("other", 5);
    assert_int_equal(ash__pcache_find_hash(c, &other), -1);
    ash__pcache_free(c);
    fixture_free(&fx);
}

static void test_fresh(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    ash_pcache *c = NULL;
    assert_int_equal(ash__pcache_open(&c, tmp_root, NULL, NULL), 0);

    ash_filestat st = fx.items[0].stat;
    assert_true(ash__pcache_fresh(c, 0, &st));
    st.size++;
    assert_false(ash__pcache_fresh(c, 0, &st));
    st = fx.items[0].stat;
    st.mtime_ns++;
    assert_false(ash__pcache_fresh(c, 0, &st));
    st = fx.items[0].stat;
    st.ctime_ns--;
    assert_false(ash__pcache_fresh(c, 0, &st));
    st = fx.items[0].stat;
    st.ino = 7;
    assert_false(ash__pcache_fresh(c, 0, &st));

    /* racy entry: never trusted, even with an equal stat */
    st = fx.items[1].stat;
    assert_false(ash__pcache_fresh(c, 1, &st));
    st = fx.items[2].stat;
    assert_true(ash__pcache_fresh(c, 2, &st));
    ash__pcache_free(c);
    fixture_free(&fx);
}

static void test_empty_cache_written(void **state)
{
    (void)state;
    assert_int_equal(ash__pcache_write(tmp_root, NULL, 0), 0);
    open_expect(0, 0);
}

static void test_rewrite_replaces(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    assert_int_equal(ash__pcache_write(tmp_root, fx.items + 1, 1), 0);
    ash_pcache *c = NULL;
    assert_int_equal(ash__pcache_open(&c, tmp_root, NULL, NULL), 0);
    assert_int_equal(ash__pcache_count(c), 1);
    assert_int_equal(ash__pcache_find(c, "a.py"), -1);
    assert_int_equal(ash__pcache_find(c, "pkg/b.py"), 0);
    ash__pcache_free(c);
    fixture_free(&fx);
    /* no temporary file left behind */
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s/.parse-cache.bin.%ld.tmp", tmp_root, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Damaged files                                                                            */

static void test_flipped_byte(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    size_t len;
    char *data = slurp(&len);
    data[len / 2] ^= 0x40;
    spill(data, len);
    ash__free(data);
    open_expect(0, 1);
    fixture_free(&fx);
}

static void test_truncated(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    size_t len;
    char *data = slurp(&len);
    spill(data, len - 9);
    open_expect(0, 1);
    spill(data, 47); /* shorter than header + checksum */
    open_expect(0, 1);
    ash__free(data);
    fixture_free(&fx);
}

static void test_garbage_and_empty(void **state)
{
    (void)state;
    char garbage[300];
    for (size_t i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (char)(i * 37 + 11);
    }
    spill(garbage, sizeof(garbage));
    open_expect(0, 1);
    spill("", 0);
    open_expect(0, 1);
}

static void test_other_version_is_silent(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    size_t len;
    char *data = slurp(&len);
    data[8] ^= 0x7; /* format */
    spill(data, len);
    open_expect(0, 0);
    data[8] ^= 0x7;
    data[16] ^= 0x1; /* extractor version */
    spill(data, len);
    open_expect(0, 0);
    data[16] ^= 0x1;
    spill(data, len);
    open_expect(NITEMS, 0);
    ash__free(data);
    fixture_free(&fx);
}

/* ---------------------------------------------------------------------------------------- */
/* Cache directory                                                                          */

static void test_cache_dir_prepare(void **state)
{
    (void)state;
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/deep/er/cache", tmp_root);
    assert_int_equal(ash__cache_dir_prepare(dir), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    snprintf(path, sizeof(path), "%s/CACHEDIR.TAG", dir);
    char *text = NULL;
    size_t len;
    assert_int_equal(ash__read_file(&text, &len, path, 0), 0);
    assert_true(strncmp(text, "Signature: 8a477f597d28d172789f06886806bc55", 43) == 0);
    ash__free(text);

    snprintf(path, sizeof(path), "%s/.gitignore", dir);
    assert_int_equal(ash__read_file(&text, &len, path, 0), 0);
    assert_non_null(strstr(text, "\n*\n"));
    ash__free(text);

    /* again: existing files are kept */
    assert_int_equal(tmp_tree_put("deep/er/cache/.gitignore", "mine\n"), 0);
    assert_int_equal(ash__cache_dir_prepare(dir), 0);
    assert_int_equal(ash__read_file(&text, &len, path, 0), 0);
    assert_string_equal(text, "mine\n");
    ash__free(text);

    /* the cache is usable there */
    assert_int_equal(ash__pcache_write(dir, NULL, 0), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

typedef struct oom_run {
    const fixture *fx;
    int right; /* the successful run's results matched */
} oom_run;

static int oom_attempt(void *payload)
{
    oom_run *run = payload;
    run->right = 0;
    ash_pcache *c = NULL;
    int rc = ash__pcache_open(&c, tmp_root, NULL, NULL);
    int right = rc == 0 && ash__pcache_count(c) == NITEMS;
    for (size_t i = 0; rc == 0 && i < NITEMS; i++) {
        ash_imports *got = NULL;
        ash_buf messages = ASH_BUF_INIT;
        rc = ash__pcache_imports(c, (long)i, &got, &messages);
        if (rc == 0) {
            right = right && same_imports(got, run->fx->imports[i]) &&
                    strcmp(ash__buf_cstr(&messages), item_messages[i] ? item_messages[i] : "") == 0;
        } else {
            right = right && got == NULL;
        }
        ash_imports_free(got);
        ash__buf_free(&messages);
    }
    ash__pcache_free(c);
    run->right = rc == 0 && right;
    return rc;
}

static int oom_cleanup(void *payload, int rc)
{
    oom_run *run = payload;
    return rc == 0 && !run->right;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    fixture fx;
    write_fixture(&fx);
    oom_run run = {&fx, 0};
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(oom_attempt, oom_cleanup, &run);
    alloc_hook_remove();
    assert_true(failures > 0);
    assert_true(run.right);
    fixture_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_cache_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_cache_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_version_is_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_dir_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
