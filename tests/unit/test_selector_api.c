/*
 * Unit tests of the public selection and results API (aftershock/selector.h), the one the
 * Python bindings wrap: test modules and their keys, affected with reasons, why chains, and
 * results recorded by one runner and replayed by another.
 */
#define TMP_TREE_PREFIX "ash-api-"
#include "tmp_tree.h"

#include "aftershock/selector.h"

#include "alloc_hook.h"

#include <cmocka.h>
#include <tree_sitter/api.h>

static ash_selection *open_selection(void)
{
    put("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n"
                          "pythonpath = [\"src\"]\n");
    put("src/app/__init__.py", "");
    put("src/app/core.py", "X = 1\n");
    put("src/app/leaf.py", "from app import core\n");
    put("tests/conftest.py", "");
    put("tests/test_core.py", "import app.core\n");
    put("tests/test_leaf.py", "import app.leaf\n");
    char cache[512];
    snprintf(cache, sizeof(cache), "%s/cache", tmp_root);
    setenv("AFTERSHOCK_CACHE_DIR", cache, 1);
    ash_project_options po = {.root = tmp_root, .python = "/nonexistent/python", .no_cache = 1};
    ash_selection_options so = {.project = &po};
    ash_selection *s;
    assert_int_equal(ash_selection_open(&s, &so), 0);
    return s;
}

static void test_modules_affected_why(void **state)
{
    (void)state;
    ash_selection *s = open_selection();
    assert_int_equal(ash_selection_count(s), 2);
    assert_string_equal(ash_selection_path(s, 0), "tests/test_core.py");
    assert_int_equal(ash_selection_find(s, "tests/test_leaf.py"), 1);
    assert_int_equal(ash_selection_find(s, "src/app/core.py"), -1);
    assert_true(ash_selection_cacheable(s, 0));
    assert_memory_not_equal(ash_selection_inputs(s, 0), ash_selection_inputs(s, 1), 16);

    const char *changed[] = {"src/app/leaf.py"};
    ash_reason reasons[2];
    const char *via[2];
    assert_int_equal(ash_selection_affected(s, changed, 1, NULL, 0, 0, reasons, via), 1);
    assert_int_equal(reasons[0], ASH_REASON_NONE);
    assert_int_equal(reasons[1], ASH_REASON_CHANGED);
    assert_ptr_equal(via[1], changed[0]);
    assert_string_equal(ash_reason_name(reasons[1]), "changed");
    assert_int_equal(ash_selection_affected(s, NULL, 0, NULL, 0, 1, reasons, NULL), 2);
    assert_int_equal(reasons[0], ASH_REASON_ALL);

    char *chain;
    assert_int_equal(ash_selection_why(s, 1, "src/app/core.py", &chain), 0);
    assert_non_null(chain);
    assert_string_equal(chain, "tests/test_leaf.py:1\nsrc/app/leaf.py:1\nsrc/app/core.py\n");
    ash_free(chain);
    assert_int_equal(ash_selection_why(s, 0, "src/app/leaf.py", &chain), 0);
    assert_null(chain);
    assert_int_equal(ash_selection_why(s, 7, "src/app/leaf.py", &chain), ASH_EINVAL);
    ash_selection_free(s);
}

static void test_results_recorded_then_replayed(void **state)
{
    (void)state;
    ash_selection *s = open_selection();
    ash_results *r;
    int passed = -1;
    assert_int_equal(ash_results_open(&r, s), 0);
    assert_int_equal(ash_results_passed(r, 0, &passed), 0);
    assert_false(passed);
    static const char ok[] = "ASHW 1\nmodule tests/test_core.py\ncounts 2 0 0 0 0 0\n"
                             "duration 0.5\nend\n";
    static const char bad[] = "ASHW 1\nmodule tests/test_leaf.py\ncounts 1 1 0 0 0 0\nend\n";
    static const char wrong[] = "ASHW 1\nmodule tests/test_leaf.py\nend\n";
    assert_int_equal(ash_results_record(r, 0, ok, sizeof(ok) - 1), 0);
    assert_int_equal(ash_results_record(r, 1, bad, sizeof(bad) - 1), 0);
    /* a result of another module, or a malformed one, is refused */
    assert_int_equal(ash_results_record(r, 0, wrong, sizeof(wrong) - 1), ASH_EINVAL);
    assert_true(ash_results_record(r, 1, "junk", 4) < 0);
    assert_int_equal(ash_results_close(r), 0);
    ash_selection_free(s);

    /* another runner, later: the passing module is replayed, the failed one is not, and the
     * last run remembers the failure */
    s = open_selection();
    assert_int_equal(ash_results_open(&r, s), 0);
    assert_int_equal(ash_results_passed(r, 0, &passed), 0);
    assert_true(passed);
    assert_int_equal(ash_results_passed(r, 1, &passed), 0);
    assert_false(passed);
    /* a failure under the same inputs (a flaky module) forgets the cached pass */
    static const char failed[] = "ASHW 1\nmodule tests/test_core.py\ncounts 1 1 0 0 0 0\nend\n";
    assert_int_equal(ash_results_record(r, 0, failed, sizeof(failed) - 1), 0);
    assert_int_equal(ash_results_passed(r, 0, &passed), 0);
    assert_false(passed);
    assert_int_equal(ash_results_close(r), 0);
    ash_reason reasons[2];
    assert_int_equal(ash_selection_affected(s, NULL, 0, NULL, 0, 0, reasons, NULL), 2);
    assert_int_equal(reasons[0], ASH_REASON_FAILED);
    assert_int_equal(reasons[1], ASH_REASON_FAILED);
    ash_selection_free(s);
    unsetenv("AFTERSHOCK_CACHE_DIR");
}

/* One of everything the bindings do: open a selection (config, files, parse, resolve, graph,
 * suite, keys), ask what a change affects and why, record a result and close. */
static int use_selection(void *payload)
{
    char **chain = payload;
    ash_project_options po = {
        .root = tmp_root, .python = "/nonexistent/python", .no_cache = 1, .jobs = 1};
    ash_selection_options so = {.project = &po};
    ash_selection *s = NULL;
    ash_results *r = NULL;
    const char *changed[] = {"src/app/core.py"};
    ash_reason reasons[2];
    static const char ok[] = "ASHW 1\nmodule tests/test_core.py\ncounts 1 0 0 0 0 0\nend\n";
    int rc = ash_selection_open(&s, &so);
    if (rc == 0 && (rc = ash_selection_affected(s, changed, 1, NULL, 0, 0, reasons, NULL)) >= 0) {
        rc = rc == 2 ? ash_selection_why(s, 1, "src/app/core.py", chain) : ASH_ERROR;
    }
    if (rc == 0 && (rc = ash_results_open(&r, s)) == 0) {
        rc = ash_results_record(r, 0, ok, sizeof(ok) - 1);
        int closed = ash_results_close(r);
        rc = rc ? rc : closed;
    }
    ash_selection_free(s);
    return rc;
}

static int check_chain(void *payload, int rc)
{
    char **chain = payload;
    int wrong = rc == 0 && (!*chain || strcmp(*chain, "tests/test_leaf.py:1\nsrc/app/leaf.py:1\n"
                                                      "src/app/core.py\n") != 0);
    ash_free(*chain);
    *chain = NULL;
    return wrong;
}

static void test_every_allocation_failure(void **state)
{
    (void)state;
    ash_selection_free(open_selection()); /* the tree, and the cache directory */
    char *chain = NULL;
    alloc_hook_install(-1);
    /* aftershock's own allocations: tree-sitter cannot recover from a failed one and stops
     * the process (test_analyzer_extract covers that), so it keeps the C library's */
    ts_set_allocator(NULL, NULL, NULL, NULL);
    long failures = alloc_hook_fail_each(use_selection, check_chain, &chain);
    alloc_hook_remove();
    assert_true(failures > 100); /* a selection allocates a lot: each failure was met */
    unsetenv("AFTERSHOCK_CACHE_DIR");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmp_tree_setup, tmp_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_modules_affected_why),
        T(test_results_recorded_then_replayed),
        T(test_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
