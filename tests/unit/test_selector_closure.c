/*
 * Closure keys: a key changes exactly when a file of the closure (or the closure's shape)
 * changes; import cycles share a key; edge order does not matter; combining is order-free.
 */
#include "graph.h"

#include "aftershock/selector.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct edge {
    uint32_t from, to;
} edge;

/* A graph of files "f000000.py".. with content hashes content[i] (one byte each). */
static ash_graph *make(size_t n, const uint8_t *content, const edge *edges, size_t nedges)
{
    char **paths = ash__calloc(n, sizeof(char *));
    assert_non_null(paths);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f%06zu.py", i); /* sorted: nodes are in path order */
        paths[i] = ash__strdup(name);
    }
    ash_graph *g;
    assert_int_equal(ash__graph_new(&g, paths, n), 0);
    for (size_t i = 0; i < n; i++) {
        memset(g->hashes[i].bytes, content[i], 16);
    }
    for (size_t e = 0; e < nedges; e++) {
        assert_int_equal(ash__graph_add_edge(g, edges[e].from, edges[e].to, 1, ASH_EDGE_IMPORT, 0),
                         0);
    }
    assert_int_equal(ash__graph_finish(g), 0);
    return g;
}

static ash_key *keys_of(size_t n, const uint8_t *content, const edge *edges, size_t nedges)
{
    ash_graph *g = make(n, content, edges, nedges);
    ash_closure_keys *keys;
    assert_int_equal(ash_closure_keys_compute(&keys, g), 0);
    ash_key *out = malloc(n * sizeof(ash_key));
    for (size_t i = 0; i < n; i++) {
        out[i] = *ash_closure_key(keys, i);
    }
    ash_closure_keys_free(keys);
    ash_graph_free(g);
    return out;
}

static int same(const ash_key *a, const ash_key *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* 0 -> 1 -> 2, 3 alone; 2 changes: 0, 1, 2 change and 3 does not. */
static void test_change_propagates_up_the_chain(void **state)
{
    (void)state;
    const edge e[] = {{0, 1}, {1, 2}};
    uint8_t before[] = {1, 2, 3, 4}, after[] = {1, 2, 9, 4};
    ash_key *a = keys_of(4, before, e, 2), *b = keys_of(4, after, e, 2);
    assert_false(same(&a[0], &b[0]));
    assert_false(same(&a[1], &b[1]));
    assert_false(same(&a[2], &b[2]));
    assert_true(same(&a[3], &b[3]));
    /* and a change at the top does not reach down */
    uint8_t top[] = {7, 2, 3, 4};
    ash_key *c = keys_of(4, top, e, 2);
    assert_false(same(&a[0], &c[0]));
    assert_true(same(&a[1], &c[1]));
    assert_true(same(&a[2], &c[2]));
    free(a), free(b), free(c);
}

static void test_cycle_shares_a_key(void **state)
{
    (void)state;
    const edge e[] = {{0, 1}, {1, 2}, {2, 0}, {3, 0}};
    uint8_t content[] = {1, 2, 3, 4};
    ash_key *k = keys_of(4, content, e, 4);
    assert_true(same(&k[0], &k[1]));
    assert_true(same(&k[1], &k[2]));
    assert_false(same(&k[3], &k[0]));
    free(k);
}

static void test_edge_order_and_duplicates_do_not_matter(void **state)
{
    (void)state;
    const edge a[] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
    const edge b[] = {{2, 3}, {0, 2}, {1, 3}, {0, 1}, {0, 2}};
    uint8_t content[] = {1, 2, 3, 4};
    ash_key *x = keys_of(4, content, a, 4), *y = keys_of(4, content, b, 5);
    for (int i = 0; i < 4; i++) {
        assert_true(same(&x[i], &y[i]));
    }
    free(x), free(y);
}

/* The shape counts: dropping an edge changes the importer's key. */
static void test_shape_changes_the_key(void **state)
{
    (void)state;
    const edge with[] = {{0, 1}}, without[] = {{1, 1}};
    uint8_t content[] = {1, 2};
    ash_key *x = keys_of(2, content, with, 1), *y = keys_of(2, content, without, 1);
    assert_false(same(&x[0], &y[0]));
    assert_true(same(&x[1], &y[1]));
    free(x), free(y);
}

static void test_combine(void **state)
{
    (void)state;
    const edge e[] = {{0, 1}};
    uint8_t content[] = {1, 2, 3};
    ash_graph *g = make(3, content, e, 1);
    ash_closure_keys *keys;
    assert_int_equal(ash_closure_keys_compute(&keys, g), 0);
    size_t ab[] = {0, 1}, ba[] = {1, 0, 1}, ac[] = {0, 2};
    ash_key k1, k2, k3;
    assert_int_equal(ash_closure_keys_combine(&k1, keys, g, ab, 2), 0);
    assert_int_equal(ash_closure_keys_combine(&k2, keys, g, ba, 3), 0);
    assert_int_equal(ash_closure_keys_combine(&k3, keys, g, ac, 2), 0);
    assert_true(same(&k1, &k2));
    assert_false(same(&k1, &k3));
    char hex[33];
    ash_key_hex(&k1, hex);
    assert_int_equal(strlen(hex), 32);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 32);
    ash_closure_keys_free(keys);
    ash_graph_free(g);
}

/* 200,000 files in one chain: no recursion, and the deepest change reaches the top. */
static void test_long_chain(void **state)
{
    (void)state;
    size_t n = 200000;
    edge *e = malloc((n - 1) * sizeof(edge));
    uint8_t *content = calloc(n, 1);
    for (size_t i = 0; i + 1 < n; i++) {
        e[i] = (edge){(uint32_t)i, (uint32_t)(i + 1)};
    }
    ash_key *a = keys_of(n, content, e, n - 1);
    content[n - 1] = 1;
    ash_key *b = keys_of(n, content, e, n - 1);
    assert_false(same(&a[0], &b[0]));
    free(a), free(b), free(e), free(content);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_change_propagates_up_the_chain),
        cmocka_unit_test(test_cycle_shares_a_key),
        cmocka_unit_test(test_edge_order_and_duplicates_do_not_matter),
        cmocka_unit_test(test_shape_changes_the_key),
        cmocka_unit_test(test_combine),
        cmocka_unit_test(test_long_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
