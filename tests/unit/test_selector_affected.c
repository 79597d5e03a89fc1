/*
 * Unit tests of the suite and of affected-module selection: which files are a test module's
 * inputs, which modules a change set reaches (deleted files by the names that imported them,
 * relative imports, conftest and package files, data rules, configuration), and the chains
 * `why` prints.
 */
#define TMP_TREE_PREFIX "ash-affected-"
#include "affected.h"
#include "session.h"
#include "tmp_tree.h"

#include <cmocka.h>

static ash_session session;

static void open_session(char *const *args, size_t nargs)
{
    ash_project_options po = {.root = tmp_root, .python = "/nonexistent/python", .no_cache = 1};
    ash_session_options so = {args, nargs, NULL};
    assert_int_equal(ash__session_open(&session, &po, &so), 0);
}

static void make_project(void)
{
    put("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n"
                          "pythonpath = [\"src\"]\n\n[tool.aftershock]\n"
                          "data = { \"tests/api/*\" = [\"tests/api/cassettes/**\"] }\n");
    put("src/app/__init__.py", "");
    put("src/app/core.py", "X = 1\n");
    put("src/app/leaf.py", "from . import core\n");
    put("src/app/util/__init__.py", "from .text import clean\n");
    put("src/app/util/text.py", "def clean(s):\n    return s\n");
    put("tests/conftest.py", "");
    put("tests/helpers.py", "import app.util\n");
    put("tests/api/__init__.py", "");
    put("tests/api/conftest.py", "");
    put("tests/api/cassettes/a.json", "{}");
    put("tests/api/test_api.py", "def test_api():\n    pass\n");
    put("tests/test_core.py", "from app import core\n");
    put("tests/test_leaf.py", "import app.leaf\nfrom helpers import *\n");
    put("tests/test_nothing.py", "import os\n");
    put("tests/notatest.py", "import app.core\n");
}

/* The affected modules, as "path:reason" lines sorted by path. */
static char *affected_by(const char *const *changed, size_t n, int all)
{
    ash_strings set = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ash__strings_add(&set, changed[i], strlen(changed[i])), 0);
    }
    ash__sort_unique_strings(set.items, &set.count);
    ash_affected aff;
    assert_int_equal(ash__affected(&aff, &session, &set, NULL, all, NULL), 0);
    ash_buf out = ASH_BUF_INIT;
    for (size_t m = 0; m < session.suite.count; m++) {
        if (aff.why[m] != ASH_REASON_NONE) {
            ash__buf_printf(&out, "%s:%s ",
                            ash_graph_node_path(session.graph, session.suite.modules[m].node),
                            ash_reason_name(aff.why[m]));
        }
    }
    ash__affected_free(&aff);
    ash__strings_free(&set);
    return ash__buf_detach(&out);
}

#define EXPECT(expected, all, ...)                                                                 \
    do {                                                                                           \
        const char *const changed_[] = {__VA_ARGS__};                                              \
        char *got_ = affected_by(changed_, ASH_ARRAY_SIZE(changed_), all);                         \
        assert_string_equal(got_, expected);                                                       \
        ash__free(got_);                                                                           \
    } while (0)

static void test_suite_and_inputs(void **state)
{
    (void)state;
    make_project();
    open_session(NULL, 0);
    /* testpaths, python_files: notatest.py is not a test module */
    assert_int_equal(session.suite.count, 4);
    const ash_test_module *api = ash__suite_find(&session.suite, "tests/api/test_api.py");
    assert_non_null(api);
    assert_null(ash__suite_find(&session.suite, "tests/notatest.py"));
    /* its package, then the conftests from rootdir down */
    assert_int_equal(api->input_count, 3);
    const ash_suite_input *in = &session.suite.inputs[api->input_first];
    assert_int_equal(in[0].kind, ASH_INPUT_PACKAGE);
    assert_string_equal(ash_graph_node_path(session.graph, in[0].node), "tests/api/__init__.py");
    assert_int_equal(in[1].kind, ASH_INPUT_CONFTEST);
    assert_string_equal(ash_graph_node_path(session.graph, in[1].node), "tests/conftest.py");
    assert_string_equal(ash_graph_node_path(session.graph, in[2].node), "tests/api/conftest.py");
    assert_int_equal(api->data_count, 1);
    /* pythonpath made src a source root: app.core resolved, nothing is unresolved */
    for (size_t m = 0; m < session.suite.count; m++) {
        assert_false(session.suite.modules[m].unresolved);
    }
    ash__session_close(&session);
}

static void test_changed_files(void **state)
{
    (void)state;
    make_project();
    open_session(NULL, 0);
    EXPECT("tests/test_core.py:changed tests/test_leaf.py:changed ", 0, "src/app/core.py");
    EXPECT("tests/test_leaf.py:changed ", 0, "src/app/util/text.py");
    EXPECT("tests/api/test_api.py:changed ", 0, "tests/api/conftest.py");
    EXPECT("tests/api/test_api.py:changed tests/test_core.py:changed tests/test_leaf.py:changed "
           "tests/test_nothing.py:changed ",
           0, "tests/conftest.py");
    EXPECT("tests/api/test_api.py:data ", 0, "tests/api/cassettes/new.json");
    EXPECT("", 0, "README.md", "tests/notatest.py");
    EXPECT("tests/api/test_api.py:all tests/test_core.py:all tests/test_leaf.py:all "
           "tests/test_nothing.py:all ",
           0, "pyproject.toml");
    EXPECT("tests/api/test_api.py:all tests/test_core.py:all tests/test_leaf.py:all "
           "tests/test_nothing.py:all ",
           1, "README.md");
    ash__session_close(&session);
}

static void test_deleted_files(void **state)
{
    (void)state;
    make_project();
    open_session(NULL, 0);
    /* deleted: found by the names that imported them (absolute, relative, from-import name) */
    EXPECT("tests/test_core.py:deleted tests/test_leaf.py:deleted ", 0, "src/app/gone.py",
           "src/app/core.py.bak", "src/app/core.pyi");
    EXPECT("tests/test_leaf.py:deleted ", 0, "tests/helpers.pyi");
    EXPECT("", 0, "tests/api/gone/conftest.py", "src/other/core.py.orig");
    ash__session_close(&session);
    /* a conftest.py that is gone changed how the modules below it are collected */
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/api/conftest.py", tmp_root);
    assert_int_equal(unlink(path), 0);
    open_session(NULL, 0);
    EXPECT("tests/api/test_api.py:deleted ", 0, "tests/api/conftest.py");
    ash__session_close(&session);
}

static void test_why_chain(void **state)
{
    (void)state;
    make_project();
    open_session(NULL, 0);
    const ash_test_module *leaf = ash__suite_find(&session.suite, "tests/test_leaf.py");
    long target = ash_graph_find(session.graph, "src/app/util/text.py");
    ash_hop *chain;
    size_t n;
    assert_int_equal(ash__why_chain(&chain, &n, &session, (size_t)(leaf - session.suite.modules),
                                    (uint32_t)target),
                     0);
    const char *expected[] = {"tests/test_leaf.py", "tests/helpers.py", "src/app/util/__init__.py",
                              "src/app/util/text.py"};
    const uint32_t lines[] = {2, 1, 1, 0};
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ash_graph_node_path(session.graph, chain[i].node), expected[i]);
        assert_int_equal(chain[i].line, lines[i]);
    }
    ash__free(chain);
    const ash_test_module *core = ash__suite_find(&session.suite, "tests/test_core.py");
    assert_int_equal(ash__why_chain(&chain, &n, &session, (size_t)(core - session.suite.modules),
                                    (uint32_t)target),
                     0);
    assert_int_equal(n, 0);
    ash__free(chain);
    ash__session_close(&session);
}

static void test_path_arguments_select(void **state)
{
    (void)state;
    make_project();
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tmp_root), 0);
    char *args[] = {"-x", "tests/api", "tests/notatest.py", "tests/test_core.py::test_x",
                    "-k", "nothing"};
    open_session(args, ASH_ARRAY_SIZE(args));
    assert_int_equal(chdir(cwd), 0);
    /* a directory selects its test modules; a named file is collected whatever its name */
    assert_int_equal(session.suite.count, 3);
    assert_non_null(ash__suite_find(&session.suite, "tests/notatest.py"));
    size_t ids;
    char *const *nodeids = ash__session_nodeids(&session, "tests/test_core.py", &ids);
    assert_int_equal(ids, 1);
    assert_string_equal(nodeids[0], "tests/test_core.py::test_x");
    /* the rest is passed on to pytest */
    assert_int_equal(session.args.count, 3);
    assert_string_equal(session.args.items[2], "nothing");
    ash__session_close(&session);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmp_tree_setup, tmp_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_suite_and_inputs), T(test_changed_files),         T(test_deleted_files),
        T(test_why_chain),        T(test_path_arguments_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
