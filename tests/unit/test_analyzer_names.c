/*
 * Unit tests of the name sets (analyzer/src/names.c): add, find, free; duplicates keep the
 * first value; values are copied; binary names; many names.
 */
#include "names.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_empty(void **state)
{
    (void)state;
    ash_name *set = NULL;
    assert_null(ash__names_find(set, "x", 1));
    ash__names_free(&set);
    assert_null(set);
}

static void test_add_find_free(void **state)
{
    (void)state;
    ash_name *set = NULL;
    assert_int_equal(ash__names_add(&set, "os", 2, NULL), 0);
    assert_int_equal(ash__names_add(&set, "requests", 8, "requests-dist"), 0);
    assert_int_equal(ash__names_add(&set, "yamlXXX", 4, "PyYAML"), 0); /* only "yaml" */

    ash_name *e = ash__names_find(set, "os", 2);
    assert_non_null(e);
    assert_string_equal(e->name, "os");
    assert_null(e->value);
    e = ash__names_find(set, "requests", 8);
    assert_non_null(e);
    assert_string_equal(e->value, "requests-dist");
    e = ash__names_find(set, "yaml", 4);
    assert_non_null(e);
    assert_string_equal(e->name, "yaml");
    assert_string_equal(e->value, "PyYAML");

    assert_null(ash__names_find(set, "yamlXXX", 7));
    assert_null(ash__names_find(set, "o", 1));
    assert_null(ash__names_find(set, "oss", 3));
    assert_null(ash__names_find(set, "OS", 2));
    assert_null(ash__names_find(set, "", 0));
    /* find uses len, not NUL */
    assert_non_null(ash__names_find(set, "os.path", 2));
    assert_int_equal(HASH_COUNT(set), 3);
    ash__names_free(&set);
    assert_null(set);
    ash__names_free(&set); /* twice: harmless */
}

static void test_duplicates_keep_first(void **state)
{
    (void)state;
    ash_name *set = NULL;
    assert_int_equal(ash__names_add(&set, "dup", 3, "first"), 0);
    assert_int_equal(ash__names_add(&set, "dup", 3, "second"), 0);
    assert_int_equal(ash__names_add(&set, "dup", 3, NULL), 0);
    assert_int_equal(HASH_COUNT(set), 1);
    assert_string_equal(ash__names_find(set, "dup", 3)->value, "first");

    assert_int_equal(ash__names_add(&set, "nul", 3, NULL), 0);
    assert_int_equal(ash__names_add(&set, "nul", 3, "later"), 0);
    assert_null(ash__names_find(set, "nul", 3)->value);
    assert_int_equal(HASH_COUNT(set), 2);
    ash__names_free(&set);
}

static void test_values_copied(void **state)
{
    (void)state;
    ash_name *set = NULL;
    char name[16], value[16];
    strcpy(name, "mod");
    strcpy(value, "dist");
    assert_int_equal(ash__names_add(&set, name, 3, value), 0);
    ash_name *e = ash__names_find(set, "mod", 3);
    assert_ptr_not_equal(e->value, value);
    assert_ptr_not_equal(e->name, name);
    strcpy(name, "xxx");
    strcpy(value, "changed");
    e = ash__names_find(set, "mod", 3);
    assert_non_null(e);
    assert_string_equal(e->name, "mod");
    assert_string_equal(e->value, "dist");
    assert_null(ash__names_find(set, "xxx", 3));
    /* empty value stays an empty string, distinct from NULL */
    assert_int_equal(ash__names_add(&set, "empty", 5, ""), 0);
    e = ash__names_find(set, "empty", 5);
    assert_non_null(e->value);
    assert_string_equal(e->value, "");
    ash__names_free(&set);
}

static void test_binary_names(void **state)
{
    (void)state;
    ash_name *set = NULL;
    assert_int_equal(ash__names_add(&set, "a\0b", 3, "ab"), 0);
    assert_int_equal(ash__names_add(&set, "a\0c", 3, "ac"), 0);
    assert_int_equal(ash__names_add(&set, "a", 1, "a"), 0);
    assert_int_equal(ash__names_add(&set, "", 0, "empty"), 0);
    assert_int_equal(ash__names_add(&set, "\xff\x01\x80", 3, "hi"), 0);
    assert_int_equal(HASH_COUNT(set), 5);
    assert_string_equal(ash__names_find(set, "a\0b", 3)->value, "ab");
    assert_string_equal(ash__names_find(set, "a\0c", 3)->value, "ac");
    assert_string_equal(ash__names_find(set, "a", 1)->value, "a");
    assert_string_equal(ash__names_find(set, "", 0)->value, "empty");
    assert_string_equal(ash__names_find(set, "\xff\x01\x80", 3)->value, "hi");
    ash_name *e = ash__names_find(set, "a\0b", 3);
    assert_memory_equal(e->name, "a\0b", 3);
    assert_null(ash__names_find(set, "a\0d", 3));
    assert_null(ash__names_find(set, "a\0", 2));
    ash__names_free(&set);
}

static void test_many_names(void **state)
{
    (void)state;
    enum { N = 100000 };
    ash_name *set = NULL;
    char name[32], value[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), "name_%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        assert_int_equal(ash__names_add(&set, name, (size_t)n, i % 7 ? value : NULL), 0);
    }
    assert_int_equal(HASH_COUNT(set), N);
    for (int i = 0; i < N; i++) {
        int n = snprintf(name, sizeof(name), "name_%d", i);
        ash_name *e = ash__names_find(set, name, (size_t)n);
        if (!e) {
            fail_msg("%s not found", name);
        }
        if (i % 7) {
            snprintf(value, sizeof(value), "v%d", i);
            assert_string_equal(e->value, value);
        } else {
            assert_null(e->value);
        }
    }
    assert_null(ash__names_find(set, "name_100000", 11));
    assert_null(ash__names_find(set, "name_-1", 7));
    ash__names_free(&set);
    assert_null(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_add_find_free),
        cmocka_unit_test(test_duplicates_keep_first),
        cmocka_unit_test(test_values_copied),
        cmocka_unit_test(test_binary_names),
        cmocka_unit_test(test_many_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
