/*
 * pytest's configuration: which file configures pytest and where its rootdir is, the options
 * read from each kind of file, which paths pytest collects as test modules, and the conftest.py
 * chain of a test module. Trees are built in a temporary directory.
 */
#include "alloc_hook.h"
#include "pytest_config.h"
#define TMP_TREE_PREFIX "ash_pytest_config_"
#include "tmp_tree.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char diags[8][512];
static int ndiags;

static void on_diag(const char *path, const char *message, void *payload)
{
    (void)payload;
    if (ndiags < 8) {
        snprintf(diags[ndiags], sizeof(diags[0]), "%s: %s", path ? path : "-", message);
    }
    ndiags++;
}

static ash_pytest_config load(const char *start)
{
    ash_pytest_config c;
    assert_int_equal(ash__pytest_config_load(&c, tmp_root, start, on_diag, NULL), 0);
    return c;
}

static void assert_list(const ash_strings *l, const char *const *want, size_t n)
{
    assert_int_equal(l->count, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l->items[i], want[i]);
    }
}

static void test_defaults_without_config(void **state)
{
    (void)state;
    ndiags = 0;
    put("pkg/mod.py", "");
    ash_pytest_config c = load("");
    assert_string_equal(c.rootdir, "");
    assert_null(c.configfile);
    assert_string_equal(c.addopts, "");
    assert_true(ash__pytest_is_test_module(&c, "tests/test_a.py"));
    assert_true(ash__pytest_is_test_module(&c, "tests/a_test.py"));
    assert_true(ash__pytest_is_test_module(&c, "test_top.py"));
    assert_false(ash__pytest_is_test_module(&c, "tests/helper.py"));
    assert_false(ash__pytest_is_test_module(&c, "tests/conftest.py"));
    assert_false(ash__pytest_is_test_module(&c, "build/test_x.py"));
    assert_false(ash__pytest_is_test_module(&c, ".tox/py/test_x.py"));
    assert_false(ash__pytest_is_test_module(&c, "a/venv/test_x.py"));
    assert_false(ash__pytest_is_test_module(&c, "pkg/__pycache__/test_x.py"));
    assert_false(ash__pytest_is_test_module(&c, "x.egg/test_x.py"));
    assert_int_equal(ndiags, 0);
    ash__pytest_config_free(&c);
}

static void test_pytest_ini(void **state)
{
    (void)state;
    put("pytest.ini", "[pytest]\n"
                      "# a comment\n"
                      "testpaths = tests\n"
                      "python_files = check_*.py\n"
                      "addopts = -ra --strict-markers\n");
    put("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"elsewhere\"]\n");
    ash_pytest_config c = load("");
    /* pytest.ini comes first, even beside a pyproject.toml that configures pytest */
    assert_string_equal(c.configfile, "pytest.ini");
    assert_string_equal(c.addopts, "-ra --strict-markers");
    assert_true(ash__pytest_is_test_module(&c, "tests/check_a.py"));
    assert_true(ash__pytest_is_test_module(&c, "tests/sub/check_b.py"));
    assert_false(ash__pytest_is_test_module(&c, "src/check_b.py")); /* not in testpaths */
    assert_false(ash__pytest_is_test_module(&c, "tests/test_a.py"));
    assert_false(ash__pytest_is_test_module(&c, "elsewhere/check_a.py"));
    ash__pytest_config_free(&c);
}

static void test_pyproject(void **state)
{
    (void)state;
    put("pyproject.toml", "[project]\nname = \"x\"\n"
                          "[tool.pytest.ini_options]\n"
                          "testpaths = [\"tests\", \"integration\"]\n"
                          "norecursedirs = [\"fixtures\", \".*\"]\n"
                          "pythonpath = [\"src\"]\n"
                          "addopts = [\"-x\", \"-q\"]\n");
    ash_pytest_config c = load("");
    assert_string_equal(c.configfile, "pyproject.toml");
    static const char *const tp[] = {"tests", "integration"}, *const pp[] = {"src"};
    assert_list(&c.testpaths, tp, 2);
    assert_list(&c.pythonpath, pp, 1);
    assert_string_equal(c.addopts, "-x -q");
    assert_true(ash__pytest_is_test_module(&c, "integration/test_y.py"));
    assert_false(ash__pytest_is_test_module(&c, "tests/fixtures/test_x.py"));
    /* norecursedirs replaced the defaults: build is collected now */
    assert_true(ash__pytest_is_test_module(&c, "tests/build/test_z.py"));
    ash__pytest_config_free(&c);
}

static void test_section_decides(void **state)
{
    (void)state;
    /* a pyproject.toml without the section and a tox.ini with it: tox.ini configures pytest */
    put("pyproject.toml", "[project]\nname = \"x\"\n");
    put("tox.ini", "[tox]\nenvlist = py311\n[pytest]\npython_files = t_*.py\n");
    ash_pytest_config c = load("");
    assert_string_equal(c.configfile, "tox.ini");
    static const char *const pf[] = {"t_*.py"};
    assert_list(&c.python_files, pf, 1);
    ash__pytest_config_free(&c);
}

static void test_setup_cfg_continuation_lines(void **state)
{
    (void)state;
    put("setup.cfg", "[metadata]\nname = x\n"
                     "[tool:pytest]\n"
                     "testpaths =\n"
                     "    tests\n"
                     "    \"more tests\"\n"
                     "norecursedirs: data\n");
    ash_pytest_config c = load("");
    assert_string_equal(c.configfile, "setup.cfg");
    static const char *const tp[] = {"tests", "more tests"}, *const nr[] = {"data"};
    assert_list(&c.testpaths, tp, 2);
    assert_list(&c.norecursedirs, nr, 1);
    assert_true(ash__pytest_is_test_module(&c, "more tests/test_a.py"));
    ash__pytest_config_free(&c);
}

static void test_nearest_config_wins(void **state)
{
    (void)state;
    put("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n");
    put("sub/pytest.ini", "[pytest]\n");
    ash_pytest_config c = load("sub/deeper");
    assert_string_equal(c.rootdir, "sub");
    assert_string_equal(c.configfile, "sub/pytest.ini");
    assert_true(ash__pytest_is_test_module(&c, "sub/x/test_a.py"));
    assert_false(ash__pytest_is_test_module(&c, "tests/test_a.py")); /* outside the rootdir */
    ash__pytest_config_free(&c);
    c = load("");
    assert_string_equal(c.rootdir, "");
    assert_string_equal(c.configfile, "pyproject.toml");
    ash__pytest_config_free(&c);
}

static void test_setup_py_and_plain_files(void **state)
{
    (void)state;
    put("pkg/setup.py", "");
    ash_pytest_config c = load("pkg/sub");
    assert_string_equal(c.rootdir, "pkg");
    assert_null(c.configfile);
    ash__pytest_config_free(&c);
    /* no setup.py either: the first of the files, even without pytest's section */
    put("other/tox.ini", "[tox]\n");
    c = load("other/deep");
    assert_string_equal(c.rootdir, "other");
    assert_string_equal(c.configfile, "other/tox.ini");
    ash__pytest_config_free(&c);
}

static void test_malformed_files_warn(void **state)
{
    (void)state;
    ndiags = 0;
    put("pyproject.toml", "[tool.pytest.ini_options\ntestpaths = 1\n");
    put("tox.ini", "[pytest]\nthis line is wrong\ntestpaths = t\n");
    ash_pytest_config c = load("");
    assert_int_equal(ndiags, 2);
    assert_non_null(strstr(diags[0], "pyproject.toml: "));
    assert_non_null(strstr(diags[0], "pytest's options in it are not read"));
    assert_string_equal(diags[1], "tox.ini: line 2: not `name = value`; line ignored");
    assert_string_equal(c.configfile, "tox.ini");
    static const char *const tp[] = {"t"};
    assert_list(&c.testpaths, tp, 1);
    ash__pytest_config_free(&c);
}

static int exists_in_set(const char *path, void *payload)
{
    for (const char *const *p = payload; *p; p++) {
        if (strcmp(*p, path) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_conftest_chain(void **state)
{
    (void)state;
    put("sub/pytest.ini", "[pytest]\n");
    ash_pytest_config c = load("sub");
    static const char *const present[] = {"conftest.py", "sub/conftest.py",
                                          "sub/tests/unit/conftest.py", NULL};
    ash_strings chain = {0};
    assert_int_equal(ash__pytest_conftests(&chain, &c, "sub/tests/unit/test_a.py", exists_in_set,
                                           (void *)present),
                     0);
    /* from the rootdir down; the project tmp_root's conftest.py is above the rootdir */
    static const char *const want[] = {"sub/conftest.py", "sub/tests/unit/conftest.py"};
    assert_list(&chain, want, 2);
    ash__strings_free(&chain);
    ash__pytest_config_free(&c);
}

static int attempt_load(void *payload)
{
    ash_pytest_config *c = payload;
    return ash__pytest_config_load(c, tmp_root, "sub", NULL, NULL);
}

static int cleanup_load(void *payload, int rc)
{
    ash_pytest_config *c = payload;
    int wrong =
        rc == 0 && (strcmp(c->configfile, "pyproject.toml") != 0 || c->testpaths.count != 2);
    if (rc == 0) {
        ash__pytest_config_free(c);
    }
    return wrong;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    put("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"a\", \"b\"]\n"
                          "addopts = \"-x -q\"\n");
    ash_pytest_config c;
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(attempt_load, cleanup_load, &c);
    alloc_hook_remove();
    assert_true(failures > 5);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmp_tree_setup, tmp_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults_without_config),
        T(test_pytest_ini),
        T(test_pyproject),
        T(test_section_decides),
        T(test_setup_cfg_continuation_lines),
        T(test_nearest_config_wins),
        T(test_setup_py_and_plain_files),
        T(test_malformed_files_warn),
        T(test_conftest_chain),
        T(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
