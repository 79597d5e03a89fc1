/*
 * Projects and graph building through the public API: root and source roots found, every
 * file a node with its edges, warnings reported once per file in path order, the parse cache
 * making a second build read nothing, one thread or two giving the same graph.
 */
#define TMP_TREE_PREFIX "ash_project_"
#include "tmp_tree.h"

#include "aftershock/analyzer.h"

#include <stdlib.h>
#include <string.h>

static char diags[16][512];
static int ndiags;

static void on_diag(const char *path, const char *message, void *payload)
{
    (void)payload;
    if (ndiags < 16) {
        snprintf(diags[ndiags], sizeof(diags[0]), "%s: %s", path ? path : "-", message);
    }
    ndiags++;
}

static void make_project(void)
{
    put("pyproject.toml", "[project]\nname = \"x\"\n");
    put("src/pkg/__init__.py", "from .core import run\n");
    put("src/pkg/core.py", "import os\nfrom pkg import util\n");
    put("src/pkg/util.py", "");
    put("tests/test_core.py", "import pkg.core\nimport helpers\n");
    put("tests/helpers.py", "");
    put("tests/broken.py", "import pkg\nx = (\n");
}

static ash_graph *build(const char *cache, int jobs, int no_cache)
{
    ash_project_options o = {.python = "/nonexistent/python",
                             .cache_dir = cache,
                             .no_cache = no_cache,
                             .jobs = jobs,
                             .diag = on_diag};
    ash_project *p;
    assert_int_equal(ash_project_open(&p, tmp_root, &o), 0);
    ash_graph *g;
    assert_int_equal(ash_graph_build(&g, p), 0);
    ash_project_free(p);
    return g;
}

static int has_edge(const ash_graph *g, const char *from, const char *to, ash_edge_kind kind)
{
    long a = ash_graph_find(g, from), b = ash_graph_find(g, to);
    assert_true(a >= 0 && b >= 0);
    size_t n;
    const ash_edge *e = ash_graph_edges(g, (size_t)a, &n);
    for (size_t i = 0; i < n; i++) {
        if (e[i].target == (uint32_t)b && e[i].kind == kind) {
            return 1;
        }
    }
    return 0;
}

static void test_build(void **state)
{
    (void)state;
    make_project();
    ndiags = 0;
    ash_graph *g = build(NULL, 2, 1);
    assert_int_equal(ash_graph_node_count(g), 6);
    assert_string_equal(ash_graph_node_path(g, 0), "src/pkg/__init__.py");
    assert_true(has_edge(g, "src/pkg/__init__.py", "src/pkg/core.py", ASH_EDGE_IMPORT));
    assert_true(has_edge(g, "src/pkg/core.py", "src/pkg/util.py", ASH_EDGE_IMPORT));
    assert_true(has_edge(g, "tests/test_core.py", "src/pkg/__init__.py", ASH_EDGE_PARENT));
    assert_true(has_edge(g, "tests/test_core.py", "src/pkg/core.py", ASH_EDGE_IMPORT));
    assert_true(has_edge(g, "tests/test_core.py", "tests/helpers.py", ASH_EDGE_IMPORT));
    assert_string_equal(ash_graph_node_module(g, (size_t)ash_graph_find(g, "src/pkg/core.py")),
                        "pkg.core");
    /* the interpreter is missing: one warning, and os is not classified */
    int interpreter = 0, syntax = 0;
    for (int i = 0; i < ndiags && i < 16; i++) {
        interpreter += strstr(diags[i], "interpreter not found") != NULL;
        syntax += strstr(diags[i], "tests/broken.py: syntax error at line 2") != NULL;
    }
    assert_int_equal(interpreter, 1);
    assert_int_equal(syntax, 1);
    ash_build_stats st;
    ash_graph_stats(g, &st);
    assert_int_equal(st.files, 6);
    assert_int_equal(st.parsed, 6);
    ash_graph_free(g);
}

static void test_cache_and_threads_agree(void **state)
{
    (void)state;
    make_project();
    char cache[300];
    snprintf(cache, sizeof(cache), "%s/.cache-dir", tmp_root);
    ash_graph *cold = build(cache, 1, 0);
    ndiags = 0;
    ash_graph *warm = build(cache, 2, 0);
    ash_build_stats st;
    ash_graph_stats(warm, &st);
    /* timestamps this fresh are not trusted: the files are read again, but not parsed */
    assert_int_equal(st.parsed, 0);
    /* and the cached warnings are reported as on the first build */
    int syntax = 0;
    for (int i = 0; i < ndiags && i < 16; i++) {
        syntax += strstr(diags[i], "syntax error") != NULL;
    }
    assert_int_equal(syntax, 1);
    assert_int_equal(ash_graph_node_count(cold), ash_graph_node_count(warm));
    for (size_t i = 0; i < ash_graph_node_count(cold); i++) {
        size_t a, b;
        const ash_edge *ea = ash_graph_edges(cold, i, &a), *eb = ash_graph_edges(warm, i, &b);
        assert_string_equal(ash_graph_node_path(cold, i), ash_graph_node_path(warm, i));
        assert_int_equal(a, b);
        for (size_t k = 0; k < a; k++) {
            assert_int_equal(ea[k].target, eb[k].target);
            assert_int_equal(ea[k].line, eb[k].line);
            assert_int_equal(ea[k].kind, eb[k].kind);
        }
        uint8_t ha[16], hb[16];
        ash_graph_node_hash(cold, i, ha);
        ash_graph_node_hash(warm, i, hb);
        assert_memory_equal(ha, hb, 16);
    }
    ash_graph_free(cold);
    ash_graph_free(warm);
    char tag[400];
    snprintf(tag, sizeof(tag), "%s/CACHEDIR.TAG", cache);
    assert_int_equal(access(tag, F_OK), 0);
}

static void test_errors(void **state)
{
    (void)state;
    ash_project *p = NULL;
    ash_project_options o = {.root = "/nonexistent/project/root"};
    assert_int_equal(ash_project_open(&p, NULL, &o), ASH_ENOTFOUND);
    assert_null(p);
    assert_non_null(strstr(ash_error_last(), "/nonexistent/project/root"));
    ash_project_free(NULL);
    ash_graph_free(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmp_tree_setup, tmp_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_build),
        T(test_cache_and_threads_agree),
        T(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
