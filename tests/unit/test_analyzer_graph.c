/*
 * Unit tests of the import graph (analyzer/src/graph.c): building the CSR arrays from edges
 * added in any order, merging duplicate edges, path lookup, strongly connected components
 * (including chains and rings deep enough to overflow a recursive search), the reverse CSR,
 * the JSON and dot writers, write errors, and allocation failures at every allocation.
 */
#include "alloc_hook.h"
#include "graph.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ASH_GRAPH_TEST_STANDALONE
/* Built without imports.c: a stand-in that counts what the graph frees. */
static int imports_freed;

void ash_imports_free(ash_imports *imports)
{
    if (imports) {
        imports_freed++;
    }
}
#endif

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

typedef struct spec_edge {
    uint32_t from, to, line;
    ash_edge_kind kind;
    uint32_t flags;
} spec_edge;

/* A graph of the sorted `names` with `edges`, finished; 0 or the first error. */
static int build(ash_graph **out, const char *const *names, size_t n, const spec_edge *edges,
                 size_t m)
{
    *out = NULL;
    char **paths = ash__malloc(n * sizeof *paths);
    if (!paths) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        paths[i] = ash__strdup(names[i]);
        if (!paths[i]) {
            while (i--) {
                ash__free(paths[i]);
            }
            ash__free(paths);
            return ash__error_oom();
        }
    }
    ash_graph *g = NULL;
    int rc = ash__graph_new(&g, paths, n);
    for (size_t k = 0; rc == 0 && k < m; k++) {
        const spec_edge *e = &edges[k];
        rc = ash__graph_add_edge(g, e->from, e->to, e->line, e->kind, e->flags);
    }
    if (rc == 0) {
        rc = ash__graph_finish(g);
    }
    if (rc == 0) {
        *out = g;
        g = NULL;
    }
    ash_graph_free(g);
    return rc;
}

/* An unfinished graph of `n` nodes named m000000.py, m000001.py, ... (sorted as numbered). */
static ash_graph *numbered(size_t n)
{
    char **paths = ash__malloc(n * sizeof *paths);
    assert_non_null(paths);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "m%06zu.py", i);
        paths[i] = ash__strdup(name);
        assert_non_null(paths[i]);
    }
    ash_graph *g;
    assert_int_equal(ash__graph_new(&g, paths, n), 0);
    return g;
}

typedef int (*write_fn)(const ash_graph *, FILE *, unsigned);

/* What `write` prints for `g`; owned (free). */
static char *capture(write_fn write, const ash_graph *g, unsigned options, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    *rc = write(g, f, options);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void assert_output(write_fn write, const ash_graph *g, unsigned options,
                          const char *expected)
{
    int rc;
    char *text = capture(write, g, options, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(text, expected);
    free(text);
}

/* For every edge u -> v: comp[v] <= comp[u] (dependencies are numbered first). */
static void assert_reverse_topological(const ash_graph *g, const uint32_t *comp)
{
    for (size_t u = 0; u < ash_graph_node_count(g); u++) {
        size_t count;
        const ash_edge *e = ash_graph_edges(g, u, &count);
        for (size_t k = 0; k < count; k++) {
            assert_true(comp[e[k].target] <= comp[u]);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The counting allocator, installed around the allocation failure tests                    */

static int counting_setup(void **state)
{
    alloc_hook_install(-1);
    return 0;
}

static int counting_teardown(void **state)
{
    alloc_hook_remove();
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The sample graph used by the writer tests                                                */

static const char *const sample_names[] = {
    "a.py", "b.py", "c.py", "pkg/__init__.py", "pkg/d.py", "z.py",
};

enum { A, B, C, PKG, PKG_D, Z };

static const spec_edge sample_edges[] = {
    {A, B, 1, ASH_EDGE_IMPORT, 0},
    {A, C, 2, ASH_EDGE_IMPORT, ASH_IMPORT_TYPE_CHECKING},
    {B, PKG_D, 3, ASH_EDGE_IMPORT, ASH_IMPORT_LAZY},
    {B, PKG, 3, ASH_EDGE_PARENT, 0},
    {PKG_D, PKG, 1, ASH_EDGE_PARENT, 0},
    {C, A, 1, ASH_EDGE_IMPORT, 0},
};

static ash_graph *sample(void)
{
    ash_graph *g;
    assert_int_equal(build(&g, sample_names, ASH_ARRAY_SIZE(sample_names), sample_edges,
                           ASH_ARRAY_SIZE(sample_edges)),
                     0);
    return g;
}

/* ---------------------------------------------------------------------------------------- */
/* Construction                                                                             */

static void test_nodes_and_find(void **state)
{
    ash_graph *g = sample();
    assert_int_equal(ash_graph_node_count(g), 6);
    assert_string_equal(ash_graph_node_path(g, PKG), "pkg/__init__.py");
    for (size_t i = 0; i < ASH_ARRAY_SIZE(sample_names); i++) {
        assert_int_equal(ash_graph_find(g, sample_names[i]), (long)i);
        assert_null(ash_graph_node_imports(g, i));
    }
    assert_int_equal(ash_graph_find(g, ""), -1);
    assert_int_equal(ash_graph_find(g, "a"), -1);
    assert_int_equal(ash_graph_find(g, "a.pyc"), -1);
    assert_int_equal(ash_graph_find(g, "pkg"), -1);
    assert_int_equal(ash_graph_find(g, "zz.py"), -1);
    ash_graph_free(g);
    ash_graph_free(NULL);
}

static void test_empty_graph(void **state)
{
    ash_graph *g;
    assert_int_equal(build(&g, NULL, 0, NULL, 0), 0);
    assert_int_equal(ash_graph_node_count(g), 0);
    assert_int_equal(ash_graph_find(g, "a.py"), -1);
    uint32_t *comp;
    size_t count = 99;
    assert_int_equal(ash_graph_components(&comp, g, &count), 0);
    assert_int_equal(count, 0);
    ash_free(comp);
    assert_output(ash_graph_write_json, g, 0, "{}\n");
    assert_output(ash_graph_write_json, g, ASH_WRITE_CLOSURE, "{}\n");
    assert_output(ash_graph_write_dot, g, 0, "digraph imports {\n}\n");
    ash_graph_free(g);
}

static void test_unfinished_graph_has_no_edges(void **state)
{
    ash_graph *g = numbered(3);
    assert_int_equal(ash__graph_add_edge(g, 0, 1, 1, ASH_EDGE_IMPORT, 0), 0);
    size_t count = 99;
    assert_null(ash_graph_edges(g, 0, &count));
    assert_int_equal(count, 0);
    assert_int_equal(ash__graph_finish(g), 0);
    const ash_edge *e = ash_graph_edges(g, 0, &count);
    assert_int_equal(count, 1);
    assert_int_equal(e[0].target, 1);
    ash_graph_free(g);
}

static void test_csr_sorted_by_target(void **state)
{
    static const char *const names[] = {"a.py", "b.py", "c.py", "d.py", "e.py"};
    static const spec_edge edges[] = {
        {3, 0, 9, ASH_EDGE_IMPORT, 0}, {0, 4, 1, ASH_EDGE_IMPORT, 0},
        {0, 1, 5, ASH_EDGE_STRING, 0}, {3, 4, 2, ASH_EDGE_IMPORT, 0},
        {0, 3, 2, ASH_EDGE_PARENT, 0}, {4, 2, 7, ASH_EDGE_IMPORT, ASH_IMPORT_LAZY},
        {0, 2, 3, ASH_EDGE_IMPORT, 0},
    };
    ash_graph *g;
    assert_int_equal(build(&g, names, 5, edges, ASH_ARRAY_SIZE(edges)), 0);
    assert_int_equal(g->edge_count, 7);
    static const uint32_t start[] = {0, 4, 4, 4, 6, 7};
    assert_memory_equal(g->edge_start, start, sizeof start);

    size_t count;
    const ash_edge *e = ash_graph_edges(g, 0, &count);
    assert_int_equal(count, 4);
    static const uint32_t targets[] = {1, 2, 3, 4}, lines[] = {5, 3, 2, 1};
    for (size_t k = 0; k < count; k++) {
        assert_int_equal(e[k].target, targets[k]);
        assert_int_equal(e[k].line, lines[k]);
    }
    assert_int_equal(e[0].kind, ASH_EDGE_STRING);
    assert_int_equal(e[2].kind, ASH_EDGE_PARENT);
    assert_null(ash_graph_edges(g, 1, &count));
    assert_int_equal(count, 0);
    e = ash_graph_edges(g, 3, &count);
    assert_int_equal(count, 2);
    assert_int_equal(e[0].target, 0);
    assert_int_equal(e[1].target, 4);
    e = ash_graph_edges(g, 4, &count);
    assert_int_equal(count, 1);
    assert_int_equal(e[0].flags, ASH_IMPORT_LAZY);
    ash_graph_free(g);
}

static void test_duplicates_merged(void **state)
{
    enum { TC = ASH_IMPORT_TYPE_CHECKING, LAZY = ASH_IMPORT_LAZY, OPT = ASH_IMPORT_OPTIONAL };
    static const char *const names[] = {"a.py", "b.py", "c.py"};
    static const spec_edge edges[] = {
        /* a -> b: every import under TYPE_CHECKING, one of them also lazy or optional */
        {0, 1, 7, ASH_EDGE_STRING, TC | LAZY},
        {0, 1, 3, ASH_EDGE_PARENT, TC},
        {0, 1, 5, ASH_EDGE_IMPORT, TC | OPT},
        /* a -> c: one plain import among type-checking ones makes it a plain edge */
        {0, 2, 4, ASH_EDGE_STRING, TC},
        {0, 2, 9, ASH_EDGE_STRING, 0},
        {0, 2, 2, ASH_EDGE_PARENT, TC | LAZY},
    };
    ash_graph *g;
    assert_int_equal(build(&g, names, 3, edges, ASH_ARRAY_SIZE(edges)), 0);
    size_t count;
    const ash_edge *e = ash_graph_edges(g, 0, &count);
    assert_int_equal(count, 2);
    assert_int_equal(g->edge_count, 2);
    assert_int_equal(e[0].target, 1);
    assert_int_equal(e[0].line, 3);
    assert_int_equal(e[0].kind, ASH_EDGE_IMPORT);
    assert_int_equal(e[0].flags, TC);
    assert_int_equal(e[1].target, 2);
    assert_int_equal(e[1].line, 2);
    assert_int_equal(e[1].kind, ASH_EDGE_PARENT);
    assert_int_equal(e[1].flags, 0);
    ash_graph_free(g);
}

static void test_self_edges_ignored(void **state)
{
    static const char *const names[] = {"a.py", "b.py"};
    static const spec_edge edges[] = {
        {0, 0, 1, ASH_EDGE_IMPORT, 0},
        {1, 1, 2, ASH_EDGE_PARENT, 0},
        {1, 0, 3, ASH_EDGE_IMPORT, 0},
    };
    ash_graph *g;
    assert_int_equal(build(&g, names, 2, edges, ASH_ARRAY_SIZE(edges)), 0);
    assert_int_equal(g->edge_count, 1);
    size_t count;
    assert_null(ash_graph_edges(g, 0, &count));
    assert_int_equal(count, 0);
    const ash_edge *e = ash_graph_edges(g, 1, &count);
    assert_int_equal(count, 1);
    assert_int_equal(e[0].target, 0);
    uint32_t *comp;
    size_t ncomp;
    assert_int_equal(ash_graph_components(&comp, g, &ncomp), 0);
    assert_int_equal(ncomp, 2);
    ash_free(comp);
    ash_graph_free(g);
}

static void test_finish_again_merges(void **state)
{
    ash_graph *g = numbered(4);
    assert_int_equal(ash__graph_add_edge(g, 2, 3, 10, ASH_EDGE_STRING, ASH_IMPORT_LAZY), 0);
    assert_int_equal(ash__graph_add_edge(g, 0, 1, 1, ASH_EDGE_IMPORT, 0), 0);
    assert_int_equal(ash__graph_finish(g), 0);
    assert_int_equal(ash__graph_finish(g), 0);
    assert_int_equal(g->edge_count, 2);

    /* A second batch: one new edge, one duplicate of an edge already placed. */
    assert_int_equal(ash__graph_add_edge(g, 2, 3, 4, ASH_EDGE_IMPORT, ASH_IMPORT_LAZY), 0);
    assert_int_equal(ash__graph_add_edge(g, 2, 0, 8, ASH_EDGE_IMPORT, 0), 0);
    assert_int_equal(ash__graph_finish(g), 0);
    assert_int_equal(g->edge_count, 3);
    size_t count;
    const ash_edge *e = ash_graph_edges(g, 2, &count);
    assert_int_equal(count, 2);
    assert_int_equal(e[0].target, 0);
    assert_int_equal(e[1].target, 3);
    assert_int_equal(e[1].line, 4);
    assert_int_equal(e[1].kind, ASH_EDGE_IMPORT);
    assert_int_equal(e[1].flags, ASH_IMPORT_LAZY);
    e = ash_graph_edges(g, 0, &count);
    assert_int_equal(count, 1);
    assert_int_equal(e[0].target, 1);
    ash_graph_free(g);
}

static void test_imports_owned(void **state)
{
    ash_graph *g = numbered(2);
#ifdef ASH_GRAPH_TEST_STANDALONE
    static int fake[2];
    ash_imports *first = (ash_imports *)&fake[0], *second = (ash_imports *)&fake[1];
    imports_freed = 0;
#else
    ash_imports *first, *second;
    assert_int_equal(ash_imports_parse(&first, "import os\n", 10, NULL, NULL, NULL), 0);
    assert_int_equal(ash_imports_parse(&second, "import sys\n", 11, NULL, NULL, NULL), 0);
#endif
    ash__graph_set_imports(g, 1, first);
    assert_ptr_equal(ash_graph_node_imports(g, 1), first);
    assert_null(ash_graph_node_imports(g, 0));
    /* Replacing frees the imports the node had. */
    ash__graph_set_imports(g, 1, second);
    assert_ptr_equal(ash_graph_node_imports(g, 1), second);
#ifdef ASH_GRAPH_TEST_STANDALONE
    assert_int_equal(imports_freed, 1);
#endif
    ash_graph_free(g);
#ifdef ASH_GRAPH_TEST_STANDALONE
    assert_int_equal(imports_freed, 2);
#endif
}

/* ---------------------------------------------------------------------------------------- */
/* Components                                                                               */

static uint32_t *components(const ash_graph *g, size_t *count)
{
    uint32_t *comp;
    assert_int_equal(ash_graph_components(&comp, g, count), 0);
    assert_reverse_topological(g, comp);
    return comp;
}

static void test_components_dag(void **state)
{
    /* a -> b -> d, a -> c -> d, e alone */
    static const char *const names[] = {"a.py", "b.py", "c.py", "d.py", "e.py"};
    static const spec_edge edges[] = {
        {0, 1, 1, ASH_EDGE_IMPORT, 0},
        {0, 2, 2, ASH_EDGE_IMPORT, 0},
        {1, 3, 1, ASH_EDGE_IMPORT, 0},
        {2, 3, 1, ASH_EDGE_IMPORT, 0},
    };
    ash_graph *g;
    assert_int_equal(build(&g, names, 5, edges, ASH_ARRAY_SIZE(edges)), 0);
    size_t count;
    uint32_t *comp = components(g, &count);
    assert_int_equal(count, 5);
    /* Every node alone, dependencies strictly first. */
    assert_true(comp[3] < comp[1] && comp[3] < comp[2]);
    assert_true(comp[1] < comp[0] && comp[2] < comp[0]);
    bool seen[5] = {false};
    for (size_t i = 0; i < 5; i++) {
        assert_true(comp[i] < 5);
        assert_false(seen[comp[i]]);
        seen[comp[i]] = true;
    }
    ash_free(comp);
    ash_graph_free(g);
}

static void test_components_single_cycle(void **state)
{
    ash_graph *g = numbered(4);
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(ash__graph_add_edge(g, i, (i + 1) % 4, 1, ASH_EDGE_IMPORT, 0), 0);
    }
    assert_int_equal(ash__graph_finish(g), 0);
    size_t count;
    uint32_t *comp = components(g, &count);
    assert_int_equal(count, 1);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(comp[i], 0);
    }
    ash_free(comp);
    ash_graph_free(g);
}

static void test_components_two_cycles_joined(void **state)
{
    /* {0, 1} <-> each other, {2, 3, 4} a ring, 1 -> 2 joins them, 5 depends on both, 6 alone.
     * Listed so that the search meets the dependent cycle first. */
    static const char *const names[] = {"a.py", "b.py", "c.py", "d.py", "e.py", "f.py", "g.py"};
    static const spec_edge edges[] = {
        {0, 1, 1, ASH_EDGE_IMPORT, 0}, {1, 0, 1, ASH_EDGE_IMPORT, 0}, {1, 2, 2, ASH_EDGE_IMPORT, 0},
        {2, 3, 1, ASH_EDGE_IMPORT, 0}, {3, 4, 1, ASH_EDGE_IMPORT, 0}, {4, 2, 1, ASH_EDGE_IMPORT, 0},
        {5, 0, 1, ASH_EDGE_IMPORT, 0}, {5, 3, 1, ASH_EDGE_IMPORT, 0},
    };
    ash_graph *g;
    assert_int_equal(build(&g, names, 7, edges, ASH_ARRAY_SIZE(edges)), 0);
    size_t count;
    uint32_t *comp = components(g, &count);
    assert_int_equal(count, 4);
    assert_int_equal(comp[0], comp[1]);
    assert_int_equal(comp[2], comp[3]);
    assert_int_equal(comp[2], comp[4]);
    assert_int_not_equal(comp[0], comp[2]);
    assert_true(comp[2] < comp[0]);
    assert_true(comp[0] < comp[5]);
    assert_int_not_equal(comp[6], comp[0]);
    assert_int_not_equal(comp[6], comp[2]);
    assert_int_not_equal(comp[6], comp[5]);
    ash_free(comp);
    ash_graph_free(g);
}

static void test_components_isolated_nodes(void **state)
{
    ash_graph *g = numbered(6);
    assert_int_equal(ash__graph_finish(g), 0);
    size_t count;
    uint32_t *comp = components(g, &count);
    assert_int_equal(count, 6);
    for (uint32_t i = 0; i < 6; i++) {
        assert_int_equal(comp[i], i);
    }
    ash_free(comp);
    ash_graph_free(g);
}

static uint32_t lcg(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* Random graphs against reachability computed by brute force: two nodes share a component iff
 * each reaches the other. */
static void test_components_random(void **state)
{
    enum { N = 40 };
    uint32_t seed = 7;
    for (int round = 0; round < 30; round++) {
        ash_graph *g = numbered(N);
        static bool reach[N][N];
        memset(reach, 0, sizeof reach);
        int edges = (int)(lcg(&seed) % (2 * N));
        for (int k = 0; k < edges; k++) {
            uint32_t u = lcg(&seed) % N, v = lcg(&seed) % N;
            assert_int_equal(ash__graph_add_edge(g, u, v, 1, ASH_EDGE_IMPORT, 0), 0);
            reach[u][v] = true;
        }
        assert_int_equal(ash__graph_finish(g), 0);
        for (int i = 0; i < N; i++) {
            reach[i][i] = true;
        }
        for (int k = 0; k < N; k++) {
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < N; j++) {
                    reach[i][j] = reach[i][j] || (reach[i][k] && reach[k][j]);
                }
            }
        }
        size_t count;
        uint32_t *comp = components(g, &count);
        size_t roots = 0;
        for (int i = 0; i < N; i++) {
            bool first = true;
            for (int j = 0; j < N; j++) {
                bool same = reach[i][j] && reach[j][i];
                assert_int_equal(comp[i] == comp[j], same);
                first = first && !(same && j < i);
            }
            assert_true(comp[i] < count);
            roots += first;
        }
        assert_int_equal(roots, count);
        ash_free(comp);
        ash_graph_free(g);
    }
}

enum { DEEP = 200000 };

static void test_components_long_chain(void **state)
{
    ash_graph *g = numbered(DEEP);
    for (uint32_t i = 0; i + 1 < DEEP; i++) {
        assert_int_equal(ash__graph_add_edge(g, i, i + 1, 1, ASH_EDGE_IMPORT, 0), 0);
    }
    assert_int_equal(ash__graph_finish(g), 0);
    size_t count;
    uint32_t *comp = components(g, &count);
    assert_int_equal(count, DEEP);
    for (uint32_t i = 0; i < DEEP; i++) {
        assert_int_equal(comp[i], DEEP - 1 - i);
    }
    ash_free(comp);
    ash_graph_free(g);
}

static void test_components_long_ring(void **state)
{
    ash_graph *g = numbered(DEEP);
    for (uint32_t i = 0; i < DEEP; i++) {
        assert_int_equal(ash__graph_add_edge(g, i, (i + 1) % DEEP, 1, ASH_EDGE_IMPORT, 0), 0);
    }
    assert_int_equal(ash__graph_finish(g), 0);
    size_t count;
    uint32_t *comp = components(g, &count);
    assert_int_equal(count, 1);
    for (uint32_t i = 0; i < DEEP; i++) {
        assert_int_equal(comp[i], 0);
    }
    ash_free(comp);
    ash_graph_free(g);
}

/* ---------------------------------------------------------------------------------------- */
/* Reverse CSR                                                                              */

static void test_reverse(void **state)
{
    ash_graph *g = sample();
    uint32_t *start, *sources;
    assert_int_equal(ash__graph_reverse(&start, &sources, g, 0), 0);
    static const uint32_t all_start[] = {0, 1, 2, 3, 5, 6, 6};
    static const uint32_t all_sources[] = {C, A, A, B, PKG_D, B};
    assert_memory_equal(start, all_start, sizeof all_start);
    assert_memory_equal(sources, all_sources, sizeof all_sources);
    ash__free(start);
    ash__free(sources);

    /* The writers' other bits do not matter; type-checking-only edges can be left out. */
    assert_int_equal(
        ash__graph_reverse(&start, &sources, g, ASH_WRITE_NO_TYPE_CHECKING | ASH_WRITE_CLOSURE), 0);
    static const uint32_t run_start[] = {0, 1, 2, 2, 4, 5, 5};
    static const uint32_t run_sources[] = {C, A, B, PKG_D, B};
    assert_memory_equal(start, run_start, sizeof run_start);
    assert_memory_equal(sources, run_sources, sizeof run_sources);
    ash__free(start);
    ash__free(sources);
    ash_graph_free(g);
}

/* ---------------------------------------------------------------------------------------- */
/* Writers                                                                                  */

static void test_json_direct(void **state)
{
    ash_graph *g = sample();
    assert_output(ash_graph_write_json, g, 0,
                  "{\n"
                  "  \"a.py\": [\n    \"b.py\",\n    \"c.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"pkg/__init__.py\",\n    \"pkg/d.py\"\n  ],\n"
                  "  \"c.py\": [\n    \"a.py\"\n  ],\n"
                  "  \"pkg/__init__.py\": [],\n"
                  "  \"pkg/d.py\": [\n    \"pkg/__init__.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    ash_graph_free(g);
}

static void test_json_dependents(void **state)
{
    ash_graph *g = sample();
    assert_output(ash_graph_write_json, g, ASH_WRITE_DEPENDENTS,
                  "{\n"
                  "  \"a.py\": [\n    \"c.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"a.py\"\n  ],\n"
                  "  \"c.py\": [\n    \"a.py\"\n  ],\n"
                  "  \"pkg/__init__.py\": [\n    \"b.py\",\n    \"pkg/d.py\"\n  ],\n"
                  "  \"pkg/d.py\": [\n    \"b.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    ash_graph_free(g);
}

static void test_json_closure(void **state)
{
    ash_graph *g = sample();
    /* a and c are on a cycle: each still leaves itself out. */
    assert_output(ash_graph_write_json, g, ASH_WRITE_CLOSURE,
                  "{\n"
                  "  \"a.py\": [\n    \"b.py\",\n    \"c.py\",\n    \"pkg/__init__.py\",\n"
                  "    \"pkg/d.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"pkg/__init__.py\",\n    \"pkg/d.py\"\n  ],\n"
                  "  \"c.py\": [\n    \"a.py\",\n    \"b.py\",\n    \"pkg/__init__.py\",\n"
                  "    \"pkg/d.py\"\n  ],\n"
                  "  \"pkg/__init__.py\": [],\n"
                  "  \"pkg/d.py\": [\n    \"pkg/__init__.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    assert_output(ash_graph_write_json, g, ASH_WRITE_CLOSURE | ASH_WRITE_DEPENDENTS,
                  "{\n"
                  "  \"a.py\": [\n    \"c.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"a.py\",\n    \"c.py\"\n  ],\n"
                  "  \"c.py\": [\n    \"a.py\"\n  ],\n"
                  "  \"pkg/__init__.py\": [\n    \"a.py\",\n    \"b.py\",\n    \"c.py\",\n"
                  "    \"pkg/d.py\"\n  ],\n"
                  "  \"pkg/d.py\": [\n    \"a.py\",\n    \"b.py\",\n    \"c.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    ash_graph_free(g);
}

static void test_json_no_type_checking(void **state)
{
    ash_graph *g = sample();
    assert_output(ash_graph_write_json, g, ASH_WRITE_NO_TYPE_CHECKING,
                  "{\n"
                  "  \"a.py\": [\n    \"b.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"pkg/__init__.py\",\n    \"pkg/d.py\"\n  ],\n"
                  "  \"c.py\": [\n    \"a.py\"\n  ],\n"
                  "  \"pkg/__init__.py\": [],\n"
                  "  \"pkg/d.py\": [\n    \"pkg/__init__.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    /* Without a -> c, c is no longer reached from a, and c's dependents shrink. */
    assert_output(ash_graph_write_json, g, ASH_WRITE_NO_TYPE_CHECKING | ASH_WRITE_CLOSURE,
                  "{\n"
                  "  \"a.py\": [\n    \"b.py\",\n    \"pkg/__init__.py\",\n"
                  "    \"pkg/d.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"pkg/__init__.py\",\n    \"pkg/d.py\"\n  ],\n"
                  "  \"c.py\": [\n    \"a.py\",\n    \"b.py\",\n    \"pkg/__init__.py\",\n"
                  "    \"pkg/d.py\"\n  ],\n"
                  "  \"pkg/__init__.py\": [],\n"
                  "  \"pkg/d.py\": [\n    \"pkg/__init__.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    assert_output(ash_graph_write_json, g, ASH_WRITE_NO_TYPE_CHECKING | ASH_WRITE_DEPENDENTS,
                  "{\n"
                  "  \"a.py\": [\n    \"c.py\"\n  ],\n"
                  "  \"b.py\": [\n    \"a.py\"\n  ],\n"
                  "  \"c.py\": [],\n"
                  "  \"pkg/__init__.py\": [\n    \"b.py\",\n    \"pkg/d.py\"\n  ],\n"
                  "  \"pkg/d.py\": [\n    \"b.py\"\n  ],\n"
                  "  \"z.py\": []\n"
                  "}\n");
    ash_graph_free(g);
}

static const char *const odd_names[] = {"a\"b\\c.py", "line\nbreak.py", "x.py"};

static const spec_edge odd_edges[] = {
    {2, 0, 1, ASH_EDGE_PARENT, ASH_IMPORT_TYPE_CHECKING | ASH_IMPORT_LAZY},
    {2, 1, 2, ASH_EDGE_PARENT, ASH_IMPORT_LAZY},
};

static void test_json_escapes_paths(void **state)
{
    ash_graph *g;
    assert_int_equal(build(&g, odd_names, 3, odd_edges, 2), 0);
    assert_output(ash_graph_write_json, g, 0,
                  "{\n"
                  "  \"a\\\"b\\\\c.py\": [],\n"
                  "  \"line\\u000abreak.py\": [],\n"
                  "  \"x.py\": [\n    \"a\\\"b\\\\c.py\",\n    \"line\\u000abreak.py\"\n  ]\n"
                  "}\n");
    ash_graph_free(g);
}

static void test_dot(void **state)
{
    ash_graph *g = sample();
    static const char nodes[] = "digraph imports {\n"
                                "  \"a.py\";\n"
                                "  \"b.py\";\n"
                                "  \"c.py\";\n"
                                "  \"pkg/__init__.py\";\n"
                                "  \"pkg/d.py\";\n"
                                "  \"z.py\";\n";
    char expected[1024];
    snprintf(expected, sizeof expected, "%s%s", nodes,
             "  \"a.py\" -> \"b.py\";\n"
             "  \"a.py\" -> \"c.py\" [style=dashed];\n"
             "  \"b.py\" -> \"pkg/__init__.py\" [color=gray];\n"
             "  \"b.py\" -> \"pkg/d.py\" [style=dotted];\n"
             "  \"c.py\" -> \"a.py\";\n"
             "  \"pkg/d.py\" -> \"pkg/__init__.py\" [color=gray];\n"
             "}\n");
    assert_output(ash_graph_write_dot, g, 0, expected);

    /* Dependents: each arrow goes from a file to one that imports it, attributes kept. */
    snprintf(expected, sizeof expected, "%s%s", nodes,
             "  \"a.py\" -> \"c.py\";\n"
             "  \"b.py\" -> \"a.py\";\n"
             "  \"pkg/__init__.py\" -> \"b.py\" [color=gray];\n"
             "  \"pkg/__init__.py\" -> \"pkg/d.py\" [color=gray];\n"
             "  \"pkg/d.py\" -> \"b.py\" [style=dotted];\n"
             "}\n");
    assert_output(ash_graph_write_dot, g, ASH_WRITE_DEPENDENTS | ASH_WRITE_NO_TYPE_CHECKING,
                  expected);

    /* Closure edges stand for paths: no attributes. */
    snprintf(expected, sizeof expected, "%s%s", nodes,
             "  \"a.py\" -> \"b.py\";\n"
             "  \"a.py\" -> \"pkg/__init__.py\";\n"
             "  \"a.py\" -> \"pkg/d.py\";\n"
             "  \"b.py\" -> \"pkg/__init__.py\";\n"
             "  \"b.py\" -> \"pkg/d.py\";\n"
             "  \"c.py\" -> \"a.py\";\n"
             "  \"c.py\" -> \"b.py\";\n"
             "  \"c.py\" -> \"pkg/__init__.py\";\n"
             "  \"c.py\" -> \"pkg/d.py\";\n"
             "  \"pkg/d.py\" -> \"pkg/__init__.py\";\n"
             "}\n");
    assert_output(ash_graph_write_dot, g, ASH_WRITE_CLOSURE | ASH_WRITE_NO_TYPE_CHECKING, expected);
    ash_graph_free(g);
}

static void test_dot_escapes_and_combined_attributes(void **state)
{
    ash_graph *g;
    assert_int_equal(build(&g, odd_names, 3, odd_edges, 2), 0);
    assert_output(ash_graph_write_dot, g, 0,
                  "digraph imports {\n"
                  "  \"a\\\"b\\\\c.py\";\n"
                  "  \"line\\nbreak.py\";\n"
                  "  \"x.py\";\n"
                  "  \"x.py\" -> \"a\\\"b\\\\c.py\" [style=dashed, color=gray];\n"
                  "  \"x.py\" -> \"line\\nbreak.py\" [style=dotted, color=gray];\n"
                  "}\n");
    ash_graph_free(g);
}

/* Number of lines listing a path inside a JSON array (4-space indent). */
static size_t listed(const char *json)
{
    /* A plain scan: strstr in a loop is quadratic under ASan, which measures the rest of the
     * string at each call. */
    size_t count = 0;
    for (const char *p = json; *p; p++) {
        count += p[0] == '\n' && strncmp(p + 1, "    \"", 5) == 0;
    }
    return count;
}

/* 100,000 files, each importing its parent in a binary tree: closures stay small one way and
 * cover the whole graph the other way (every file depends on the root). */
static void test_json_closure_large(void **state)
{
    enum { N = 100000 };
    ash_graph *g = numbered(N);
    size_t depth_sum = 0;
    for (uint32_t i = 1; i < N; i++) {
        assert_int_equal(ash__graph_add_edge(g, i, (i - 1) / 2, 1, ASH_EDGE_IMPORT, 0), 0);
        for (uint32_t v = i; v > 0; v = (v - 1) / 2) {
            depth_sum++;
        }
    }
    assert_int_equal(ash__graph_finish(g), 0);
    int rc;
    char *text = capture(ash_graph_write_json, g, ASH_WRITE_CLOSURE, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(listed(text), depth_sum);
    assert_non_null(strstr(text, "\"m099999.py\": [\n    \"m000000.py\",\n    \"m000002.py\",\n"
                                 "    \"m000005.py\",\n    \"m000011.py\",\n"));
    free(text);
    text = capture(ash_graph_write_json, g, ASH_WRITE_CLOSURE | ASH_WRITE_DEPENDENTS, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(listed(text), depth_sum);
    assert_non_null(strstr(text, "\"m000000.py\": [\n    \"m000001.py\",\n    \"m000002.py\",\n"));
    assert_non_null(strstr(text, "    \"m099999.py\"\n  ],\n  \"m000001.py\": [\n"));
    free(text);
    ash_graph_free(g);
}

static void test_write_errors(void **state)
{
    FILE *full = fopen("/dev/full", "w");
    if (!full) {
        skip();
    }
    ash_graph *g = sample();
    /* Small output fails when flushed, large output already in fwrite. */
    assert_int_equal(ash_graph_write_json(g, full, 0), ASH_EIO);
    assert_non_null(strstr(ash_error_last(), "cannot write the graph"));
    clearerr(full);
    assert_int_equal(ash_graph_write_dot(g, full, 0), ASH_EIO);
    ash_graph_free(g);

    clearerr(full);
    g = numbered(20000);
    assert_int_equal(ash__graph_finish(g), 0);
    assert_int_equal(ash_graph_write_json(g, full, 0), ASH_EIO);
    assert_non_null(strstr(ash_error_last(), "No space left on device"));
    ash_graph_free(g);
    fclose(full);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

static int op_build(void *payload)
{
    ash_graph *g;
    int rc = build(&g, sample_names, ASH_ARRAY_SIZE(sample_names), sample_edges,
                   ASH_ARRAY_SIZE(sample_edges));
    if (rc == 0) {
        /* Whatever allocation failed on the way, a successful build is the full graph. */
        assert_int_equal(g->edge_count, ASH_ARRAY_SIZE(sample_edges));
        ash_graph_free(g);
    }
    return rc;
}

static void test_alloc_build(void **state)
{
    assert_true(alloc_hook_fail_each(op_build, NULL, NULL) > 0);
    assert_int_equal(alloc_hook_live, 0);
}

static int op_finish_again(void *payload)
{
    ash_graph *g = payload;
    /* A failing add or finish must leave the graph as it was. */
    size_t before = g->edge_count;
    int rc = ash__graph_add_edge(g, Z, A, 5, ASH_EDGE_IMPORT, 0);
    if (rc == 0) {
        rc = ash__graph_finish(g);
    }
    if (rc < 0) {
        assert_int_equal(g->edge_count, before);
        /* Drop the pending edge so that the next run starts from the same state. */
        ash__free(g->pending);
        g->pending = NULL;
        g->pending_count = g->pending_cap = 0;
    }
    return rc;
}

static void test_alloc_finish_again(void **state)
{
    ash_graph *g = sample();
    assert_true(alloc_hook_fail_each(op_finish_again, NULL, g) > 0);
    assert_int_equal(g->edge_count, ASH_ARRAY_SIZE(sample_edges) + 1);
    ash_graph_free(g);
    assert_int_equal(alloc_hook_live, 0);
}

static int op_components(void *payload)
{
    uint32_t *comp;
    size_t count;
    int rc = ash_graph_components(&comp, payload, &count);
    if (rc == 0) {
        assert_int_equal(count, 5);
        ash_free(comp);
    } else {
        assert_null(comp);
    }
    return rc;
}

static int op_reverse(void *payload)
{
    uint32_t *start, *sources;
    int rc = ash__graph_reverse(&start, &sources, payload, 0);
    if (rc == 0) {
        assert_int_equal(start[ASH_ARRAY_SIZE(sample_names)], ASH_ARRAY_SIZE(sample_edges));
        ash__free(start);
        ash__free(sources);
    } else {
        assert_null(start);
        assert_null(sources);
    }
    return rc;
}

typedef struct write_case {
    const ash_graph *g;
    write_fn write;
    unsigned options;
    char *expected; /* the output without failures */
} write_case;

static int op_write(void *payload)
{
    write_case *c = payload;
    int rc;
    char *text = capture(c->write, c->g, c->options, &rc);
    if (rc == 0) {
        assert_string_equal(text, c->expected);
    }
    free(text);
    return rc;
}

static void test_alloc_readers(void **state)
{
    ash_graph *g = sample();
    long base = alloc_hook_live;
    assert_true(alloc_hook_fail_each(op_components, NULL, g) > 0);
    assert_true(alloc_hook_fail_each(op_reverse, NULL, g) > 0);

    static const unsigned options[] = {
        0,
        ASH_WRITE_DEPENDENTS,
        ASH_WRITE_CLOSURE,
        ASH_WRITE_CLOSURE | ASH_WRITE_DEPENDENTS | ASH_WRITE_NO_TYPE_CHECKING,
    };
    static const write_fn writers[] = {ash_graph_write_json, ash_graph_write_dot};
    for (size_t w = 0; w < ASH_ARRAY_SIZE(writers); w++) {
        for (size_t k = 0; k < ASH_ARRAY_SIZE(options); k++) {
            write_case c = {g, writers[w], options[k], NULL};
            int rc;
            c.expected = capture(c.write, g, c.options, &rc);
            assert_int_equal(rc, 0);
            assert_true(alloc_hook_fail_each(op_write, NULL, &c) > 0);
            free(c.expected);
        }
    }
    assert_int_equal(alloc_hook_live, base);
    ash_graph_free(g);
    assert_int_equal(alloc_hook_live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_and_find),
        cmocka_unit_test(test_empty_graph),
        cmocka_unit_test(test_unfinished_graph_has_no_edges),
        cmocka_unit_test(test_csr_sorted_by_target),
        cmocka_unit_test(test_duplicates_merged),
        cmocka_unit_test(test_self_edges_ignored),
        cmocka_unit_test(test_finish_again_merges),
        cmocka_unit_test(test_imports_owned),
        cmocka_unit_test(test_components_dag),
        cmocka_unit_test(test_components_single_cycle),
        cmocka_unit_test(test_components_two_cycles_joined),
        cmocka_unit_test(test_components_isolated_nodes),
        cmocka_unit_test(test_components_random),
        cmocka_unit_test(test_components_long_chain),
        cmocka_unit_test(test_components_long_ring),
        cmocka_unit_test(test_reverse),
        cmocka_unit_test(test_json_direct),
        cmocka_unit_test(test_json_dependents),
        cmocka_unit_test(test_json_closure),
        cmocka_unit_test(test_json_no_type_checking),
        cmocka_unit_test(test_json_escapes_paths),
        cmocka_unit_test(test_dot),
        cmocka_unit_test(test_dot_escapes_and_combined_attributes),
        cmocka_unit_test(test_json_closure_large),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test_setup_teardown(test_alloc_build, counting_setup, counting_teardown),
        cmocka_unit_test_setup_teardown(test_alloc_finish_again, counting_setup, counting_teardown),
        cmocka_unit_test_setup_teardown(test_alloc_readers, counting_setup, counting_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
