/*
 * Unit tests of the import record container (analyzer/src/imports.c): the builder (add,
 * add_name, reset, finish twice), the finished object's strings and name arrays,
 * internal flags kept out of records, accessors on NULL and out-of-range indexes, status, the
 * empty result, and allocation failures at every allocation.
 */
#include "alloc_hook.h"
#include "imports.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

static int add(ash_ib *ib, ash_import_kind kind, uint32_t line, uint32_t level, uint32_t flags,
               const char *module, const char *package)
{
    return ash__ib_add(ib, kind, line, level, flags, module, strlen(module), package,
                       package ? strlen(package) : 0);
}

static int add_name(ash_ib *ib, const char *name)
{
    return ash__ib_add_name(ib, name, strlen(name));
}

/* Record `i` of `imp` has these fields; `names` is comma-separated, NULL for none. */
static void assert_record(const ash_imports *imp, size_t i, ash_import_kind kind, uint32_t line,
                          uint32_t level, uint32_t flags, const char *module, const char *package,
                          const char *names)
{
    const ash_import *r = ash_imports_get(imp, i);
    assert_non_null(r);
    assert_int_equal(r->kind, kind);
    assert_int_equal(r->line, line);
    assert_int_equal(r->level, level);
    assert_int_equal(r->flags, flags);
    assert_string_equal(r->module, module);
    if (package) {
        assert_non_null(r->package);
        assert_string_equal(r->package, package);
    } else {
        assert_null(r->package);
    }
    if (!names) {
        assert_int_equal(r->name_count, 0);
        assert_null(r->names);
        return;
    }
    char buf[256];
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t k = 0; k < r->name_count; k++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", k ? "," : "", r->names[k]);
    }
    assert_string_equal(buf, names);
}

/* ---------------------------------------------------------------------------------------- */
/* Builder and accessors                                                                    */

static void test_build_and_read(void **state)
{
    (void)state;
    ash_ib ib = {0};
    assert_int_equal(add(&ib, ASH_IMPORT_PLAIN, 1, 0, 0, "a.b.c", NULL), 0);
    assert_int_equal(add(&ib, ASH_IMPORT_FROM, 2, 2, ASH_IMPORT_TYPE_CHECKING, "p.q", NULL), 0);
    assert_int_equal(add_name(&ib, "r"), 0);
    assert_int_equal(add_name(&ib, "s"), 0);
    assert_int_equal(add(&ib, ASH_IMPORT_FROM, 3, 1, 0, "", NULL), 0);
    assert_int_equal(add_name(&ib, "*"), 0);
    assert_int_equal(
        add(&ib, ASH_IMPORT_STRING, 4, 1, ASH_IMPORT_LAZY | ASH_IMPORT_OPTIONAL, "x", "pkg.sub"),
        0);
    assert_int_equal(add(&ib, ASH_IMPORT_STRING, 5, 0, 0, "y", ""), 0); /* "" is not NULL */
    ash_imports *imp = NULL;
    assert_int_equal(ash__ib_finish(&ib, &imp, ASH_SOURCE_SYNTAX_ERROR), 0);
    ash__ib_free(&ib); /* the finished object owns copies of everything */

    assert_int_equal(ash_imports_count(imp), 5);
    assert_int_equal(ash_imports_status(imp), ASH_SOURCE_SYNTAX_ERROR);
    assert_record(imp, 0, ASH_IMPORT_PLAIN, 1, 0, 0, "a.b.c", NULL, NULL);
    assert_record(imp, 1, ASH_IMPORT_FROM, 2, 2, ASH_IMPORT_TYPE_CHECKING, "p.q", NULL, "r,s");
    assert_record(imp, 2, ASH_IMPORT_FROM, 3, 1, 0, "", NULL, "*");
    assert_record(imp, 3, ASH_IMPORT_STRING, 4, 1, ASH_IMPORT_LAZY | ASH_IMPORT_OPTIONAL, "x",
                  "pkg.sub", NULL);
    assert_record(imp, 4, ASH_IMPORT_STRING, 5, 0, 0, "y", "", NULL);
    assert_null(ash_imports_get(imp, 5));
    assert_null(ash_imports_get(imp, SIZE_MAX));
    ash_imports_free(imp);
}

static void test_module_with_length(void **state)
{
    (void)state;
    /* Only `len` bytes are copied: the builder takes slices of the source. */
    ash_ib ib = {0};
    const char *text = "pkg.mod import x";
    assert_int_equal(ash__ib_add(&ib, ASH_IMPORT_PLAIN, 7, 0, 0, text, 7, text + 4, 3), 0);
    assert_int_equal(ash__ib_add_name(&ib, text + 15, 1), 0);
    ash_imports *imp;
    assert_int_equal(ash__ib_finish(&ib, &imp, 0), 0);
    assert_record(imp, 0, ASH_IMPORT_PLAIN, 7, 0, 0, "pkg.mod", "mod", "x");
    ash_imports_free(imp);
    ash__ib_free(&ib);
}

static void test_internal_flags_dropped(void **state)
{
    (void)state;
    ash_ib ib = {0};
    assert_int_equal(add(&ib, ASH_IMPORT_PLAIN, 1, 0, 0xFFFF0000u | ASH_IMPORT_LAZY, "a", NULL), 0);
    ash_imports *imp;
    assert_int_equal(ash__ib_finish(&ib, &imp, 0), 0);
    assert_int_equal(ash_imports_get(imp, 0)->flags, ASH_IMPORT_LAZY);
    ash_imports_free(imp);
    ash__ib_free(&ib);
}

static void test_finish_twice_and_reset(void **state)
{
    (void)state;
    ash_ib ib = {0};
    assert_int_equal(add(&ib, ASH_IMPORT_FROM, 1, 0, 0, "a", NULL), 0);
    assert_int_equal(add_name(&ib, "b"), 0);
    ash_imports *one, *two;
    assert_int_equal(ash__ib_finish(&ib, &one, 0), 0);
    /* the builder keeps its contents: a second finish gives an equal, separate object */
    assert_int_equal(add(&ib, ASH_IMPORT_PLAIN, 2, 0, 0, "c", NULL), 0);
    assert_int_equal(ash__ib_finish(&ib, &two, ASH_SOURCE_BAD_ENCODING), 0);
    assert_int_equal(ash_imports_count(one), 1);
    assert_int_equal(ash_imports_count(two), 2);
    assert_record(two, 0, ASH_IMPORT_FROM, 1, 0, 0, "a", NULL, "b");
    assert_record(two, 1, ASH_IMPORT_PLAIN, 2, 0, 0, "c", NULL, NULL);
    ash_imports_free(one);
    assert_record(two, 0, ASH_IMPORT_FROM, 1, 0, 0, "a", NULL, "b");
    ash_imports_free(two);

    ash__ib_reset(&ib);
    assert_int_equal(add(&ib, ASH_IMPORT_PLAIN, 9, 0, 0, "z", NULL), 0);
    assert_int_equal(ash__ib_finish(&ib, &one, 0), 0);
    assert_int_equal(ash_imports_count(one), 1);
    assert_record(one, 0, ASH_IMPORT_PLAIN, 9, 0, 0, "z", NULL, NULL);
    ash_imports_free(one);
    ash__ib_free(&ib);
    ash__ib_free(&ib); /* freeing twice is harmless: the builder is zeroed */
}

static void test_many_records(void **state)
{
    (void)state;
    ash_ib ib = {0};
    char name[32];
    for (uint32_t i = 0; i < 10000; i++) {
        snprintf(name, sizeof(name), "m%u", i);
        assert_int_equal(add(&ib, ASH_IMPORT_FROM, i + 1, i % 4, 0, name, NULL), 0);
        for (uint32_t k = 0; k < i % 3; k++) {
            assert_int_equal(add_name(&ib, name), 0);
        }
    }
    ash_imports *imp;
    assert_int_equal(ash__ib_finish(&ib, &imp, 0), 0);
    ash__ib_free(&ib);
    assert_int_equal(ash_imports_count(imp), 10000);
    for (uint32_t i = 0; i < 10000; i++) {
        const ash_import *r = ash_imports_get(imp, i);
        snprintf(name, sizeof(name), "m%u", i);
        assert_string_equal(r->module, name);
        assert_int_equal(r->line, i + 1);
        assert_int_equal(r->level, i % 4);
        assert_int_equal(r->name_count, i % 3);
        for (uint32_t k = 0; k < r->name_count; k++) {
            assert_string_equal(r->names[k], name);
        }
    }
    ash_imports_free(imp);
}

static void test_empty_and_null(void **state)
{
    (void)state;
    ash_imports *imp = NULL;
    assert_int_equal(ash__imports_empty(&imp, ASH_SOURCE_BINARY), 0);
    assert_non_null(imp);
    assert_int_equal(ash_imports_count(imp), 0);
    assert_int_equal(ash_imports_status(imp), ASH_SOURCE_BINARY);
    assert_null(ash_imports_get(imp, 0));
    ash_imports_free(imp);

    ash_ib ib = {0};
    assert_int_equal(ash__ib_finish(&ib, &imp, 0), 0);
    assert_int_equal(ash_imports_count(imp), 0);
    assert_int_equal(ash_imports_status(imp), 0);
    ash_imports_free(imp);
    ash__ib_free(&ib);

    assert_int_equal(ash_imports_count(NULL), 0);
    assert_null(ash_imports_get(NULL, 0));
    assert_int_equal(ash_imports_status(NULL), 0);
    ash_imports_free(NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

/* Fill a builder with 100 records; stops at the first failure and returns it. */
static int fill(ash_ib *ib)
{
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "module_%d", i);
        int rc = add(ib, ASH_IMPORT_STRING, (uint32_t)i + 1, 0, 0, name, i % 2 ? "pkg" : NULL);
        for (int k = 0; rc == 0 && k < 3; k++) {
            rc = add_name(ib, name);
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

typedef struct fill_case {
    ash_ib ib;
    ash_imports *imp;
} fill_case;

static int fill_attempt(void *payload)
{
    fill_case *c = payload;
    memset(c, 0, sizeof(*c));
    int rc = fill(&c->ib);
    if (rc == 0) {
        rc = ash__ib_finish(&c->ib, &c->imp, 0);
    }
    return rc;
}

static int fill_cleanup(void *payload, int rc)
{
    fill_case *c = payload;
    if (rc == 0) {
        assert_int_equal(ash_imports_count(c->imp), 100);
        assert_record(c->imp, 99, ASH_IMPORT_STRING, 100, 0, 0, "module_99", "pkg",
                      "module_99,module_99,module_99");
    } else {
        assert_null(c->imp);
        /* the builder stays consistent: what was added before the failure is intact */
        for (size_t i = 0; i < c->ib.count; i++) {
            assert_int_equal(c->ib.records[i].line, i + 1);
            assert_true(c->ib.records[i].first_name + c->ib.records[i].name_count <=
                        c->ib.name_count);
        }
    }
    ash_imports_free(c->imp);
    ash__ib_free(&c->ib);
    return 0;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    fill_case c;
    alloc_hook_install(-1);
    assert_true(alloc_hook_fail_each(fill_attempt, fill_cleanup, &c) > 0);
    alloc_hook_remove();
    /* ash__imports_empty fails cleanly too */
    alloc_hook_install(0);
    ash_imports *imp = (ash_imports *)&c;
    int rc = ash__imports_empty(&imp, 0);
    alloc_hook_remove();
    assert_int_equal(rc, ASH_ENOMEM);
    assert_null(imp);
    assert_int_equal(alloc_hook_live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_read),
        cmocka_unit_test(test_module_with_length),
        cmocka_unit_test(test_internal_flags_dropped),
        cmocka_unit_test(test_finish_twice_and_reset),
        cmocka_unit_test(test_many_records),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
