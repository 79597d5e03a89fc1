/*
 * Unit tests of the resolution cache (analyzer/src/rescache.c): a write/open round trip of
 * module names, import results, distributions, unknown names, edges and warnings; the context
 * key changing with every input resolution reads (paths, stubs, packages, case, roots and
 * their order, the root check, the interpreter's facts) and a node missing on a changed
 * digest; corrupt, truncated, foreign, other-version and well-checksummed but malformed files
 * (a miss, with one warning or, for another version, none); the parse cache's two digests of
 * the same records agreeing; and allocation failures.
 */
#include "alloc_hook.h"
#include "envinfo.h"
#include "hash.h"
#include "pcache.h"
#include "rescache.h"
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

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

#define NODES 3
#define IMPORTS 5
#define EDGES 3

/* The link of three files: a.py (three imports), pkg/__init__.py (none), pkg/b.py (two). */
typedef struct fixture {
    char *paths[NODES];
    char *modules[NODES];
    ash_hash digests[NODES];
    uint32_t import_start[NODES + 1];
    uint8_t origins[IMPORTS];
    uint8_t beyond[IMPORTS];
    uint32_t dists[IMPORTS];
    char *dist_names[1];
    uint32_t unknown[IMPORTS];
    uint32_t edge_start[NODES + 1];
    ash_edge edges[EDGES];
    ash_rescache_input in;
} fixture;

static const char unknown_names[] = "missing\0pkg.gone";
static const char messages[] = "module 'a' is in source roots '.' and 'src'\n";

static void fixture_make(fixture *fx)
{
    static const char *const paths[NODES] = {"a.py", "pkg/__init__.py", "pkg/b.py"};
    static const char *const modules[NODES] = {"a", "pkg", "pkg.b"};
    memset(fx, 0, sizeof(*fx));
    for (size_t i = 0; i < NODES; i++) {
        fx->paths[i] = (char *)paths[i];
        fx->modules[i] = (char *)modules[i];
        fx->digests[i] = ash__hash_bytes(paths[i], strlen(paths[i]));
    }
    memcpy(fx->import_start, (uint32_t[]){0, 3, 3, 5}, sizeof(fx->import_start));
    memcpy(fx->origins,
           (uint8_t[]){ASH_ORIGIN_PROJECT, ASH_ORIGIN_THIRD_PARTY, ASH_ORIGIN_UNKNOWN,
                       ASH_ORIGIN_UNKNOWN, ASH_ORIGIN_UNKNOWN},
           sizeof(fx->origins));
    fx->beyond[3] = 1;
    fx->dists[1] = 1;
    fx->dist_names[0] = "requests";
    fx->unknown[2] = 1;                     /* "missing" */
    fx->unknown[4] = sizeof("missing") + 1; /* "pkg.gone" */
    memcpy(fx->edge_start, (uint32_t[]){0, 2, 2, 3}, sizeof(fx->edge_start));
    fx->edges[0] = (ash_edge){1, 1, ASH_EDGE_PARENT, 0};
    fx->edges[1] = (ash_edge){2, 3, ASH_EDGE_IMPORT, ASH_IMPORT_TYPE_CHECKING};
    fx->edges[2] = (ash_edge){1, 7, ASH_EDGE_STRING, ASH_IMPORT_LAZY | ASH_IMPORT_OPTIONAL};
    char *roots[] = {""};
    assert_int_equal(ash__rescache_context(&fx->in.context, fx->paths, NODES, roots, 1, 1, NULL),
                     0);
    fx->in.node_count = NODES;
    fx->in.digests = fx->digests;
    fx->in.modules = fx->modules;
    fx->in.import_start = fx->import_start;
    fx->in.origins = fx->origins;
    fx->in.beyond_top = fx->beyond;
    fx->in.dists = fx->dists;
    fx->in.dist_names = fx->dist_names;
    fx->in.dist_count = 1;
    fx->in.unknown = fx->unknown;
    fx->in.unknown_names = unknown_names;
    fx->in.edge_start = fx->edge_start;
    fx->in.edges = fx->edges;
    fx->in.messages = messages;
}

static void cache_file(char *out, size_t size)
{
    snprintf(out, size, "%s/resolve-cache.bin", tmp_root);
}

static int setup(void **state)
{
    (void)state;
    return tmp_tree_make("ash-rescache-");
}

static int teardown(void **state)
{
    (void)state;
    tmp_tree_remove();
    return 0;
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

/* Rewrite the checksum of a file image changed on purpose. */
static void reseal(char *data, size_t len)
{
    uint64_t sum = ash__hash64(data, len - 8);
    for (int k = 0; k < 8; k++) {
        data[len - 8 + (size_t)k] = (char)(uint8_t)(sum >> (8 * k));
    }
}

static void put32(char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        p[k] = (char)(uint8_t)(v >> (8 * k));
    }
}

/* Open the cache; whether it matches fixture `fx`, and the warnings it gave into `log`. */
static int open_matches(const fixture *fx, diag_log *log)
{
    ash_rescache *c = NULL;
    assert_int_equal(ash__rescache_open(&c, tmp_root, diag_log_add, log), 0);
    assert_non_null(c);
    int matches = ash__rescache_matches(c, &fx->in.context, NODES);
    ash__rescache_free(c);
    return matches;
}

/* A damaged file: a miss with one warning saying the cache is ignored. */
static void expect_damaged(const fixture *fx)
{
    diag_log log = {0};
    assert_false(open_matches(fx, &log));
    assert_int_equal(log.count, 1);
    assert_non_null(strstr(log.last, "ignoring the resolution cache"));
}

/* ---------------------------------------------------------------------------------------- */
/* Round trip                                                                               */

static void test_missing_cache_is_empty(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    diag_log log = {0};
    assert_false(open_matches(&fx, &log));
    assert_int_equal(log.count, 0);
    assert_false(ash__rescache_matches(NULL, &fx.in.context, NODES));
}

static void test_round_trip(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    diag_log log = {0};
    ash_rescache *c = NULL;
    assert_int_equal(ash__rescache_open(&c, tmp_root, diag_log_add, &log), 0);
    assert_int_equal(log.count, 0);
    assert_true(ash__rescache_matches(c, &fx.in.context, NODES));
    assert_false(ash__rescache_matches(c, &fx.in.context, NODES + 1));
    assert_string_equal(ash__rescache_messages(c), messages);
    assert_int_equal(ash__rescache_dist_count(c), 1);
    for (size_t i = 0; i < NODES; i++) {
        size_t n = fx.import_start[i + 1] - fx.import_start[i];
        assert_true(ash__rescache_hit(c, i, &fx.digests[i], n));
        assert_false(ash__rescache_hit(c, i, &fx.digests[i], n + 1));
        assert_string_equal(ash__rescache_module(c, i), fx.modules[i]);
        for (size_t k = 0; k < n; k++) {
            size_t at = fx.import_start[i] + k;
            int beyond;
            uint32_t dist;
            ash_origin origin = ash__rescache_import(c, i, k, &beyond, &dist);
            assert_int_equal(origin, fx.origins[at]);
            assert_int_equal(beyond, fx.beyond[at]);
            assert_int_equal(dist, fx.dists[at]);
            if (dist) {
                assert_string_equal(ash__rescache_dist_name(c, dist), fx.dist_names[dist - 1]);
            }
            const char *unknown = ash__rescache_unknown(c, i, k);
            if (fx.unknown[at]) {
                assert_string_equal(unknown, unknown_names + fx.unknown[at] - 1);
            } else {
                assert_null(unknown);
            }
        }
        size_t count = ash__rescache_edge_count(c, i);
        assert_int_equal(count, fx.edge_start[i + 1] - fx.edge_start[i]);
        ash_edge got[EDGES];
        ash__rescache_edges(c, i, got);
        for (size_t k = 0; k < count; k++) {
            const ash_edge *want = &fx.edges[fx.edge_start[i] + k];
            assert_int_equal(got[k].target, want->target);
            assert_int_equal(got[k].line, want->line);
            assert_int_equal(got[k].kind, want->kind);
            assert_int_equal(got[k].flags, want->flags);
        }
    }
    ash__rescache_free(c);
}

static void test_empty_graph(void **state)
{
    (void)state;
    ash_rescache_input in = {0};
    uint32_t zero = 0;
    in.import_start = in.edge_start = &zero;
    assert_int_equal(ash__rescache_context(&in.context, NULL, 0, NULL, 0, 0, NULL), 0);
    assert_int_equal(ash__rescache_write(tmp_root, &in), 0);
    ash_rescache *c = NULL;
    diag_log log = {0};
    assert_int_equal(ash__rescache_open(&c, tmp_root, diag_log_add, &log), 0);
    assert_int_equal(log.count, 0);
    assert_true(ash__rescache_matches(c, &in.context, 0));
    assert_string_equal(ash__rescache_messages(c), "");
    ash__rescache_free(c);
}

/* A changed digest misses that node only; a digest of zeros (none) never hits. */
static void test_node_misses(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    memset(&fx.digests[1], 0, sizeof(fx.digests[1]));
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    ash_rescache *c = NULL;
    assert_int_equal(ash__rescache_open(&c, tmp_root, NULL, NULL), 0);
    assert_true(ash__rescache_matches(c, &fx.in.context, NODES));
    ash_hash edited = fx.digests[0];
    edited.bytes[15] ^= 1;
    assert_false(ash__rescache_hit(c, 0, &edited, 3));
    assert_true(ash__rescache_hit(c, 0, &fx.digests[0], 3));
    assert_false(ash__rescache_hit(c, 1, &fx.digests[1], 0));
    assert_true(ash__rescache_hit(c, 2, &fx.digests[2], 2));
    ash__rescache_free(c);
}

/* ---------------------------------------------------------------------------------------- */
/* The context key                                                                          */

#define FACTS                                                                                      \
    "version 3.11.7\nstdlib os\nstdlib json\nbuiltin sys\ntop requests requests\n"                 \
    "dist requests 2.31.0\n"

typedef struct context_case {
    const char *what;
    const char *paths[6];
    const char *roots[3];
    int check_roots;
    const char *python; /* NULL: no interpreter facts */
    const char *facts;
} context_case;

static ash_hash context_of(const context_case *k)
{
    char *paths[6], *roots[3];
    size_t n = 0, r = 0;
    while (n < 6 && k->paths[n]) {
        paths[n] = (char *)k->paths[n];
        n++;
    }
    while (r < 3 && k->roots[r]) {
        roots[r] = (char *)k->roots[r];
        r++;
    }
    ash_envinfo *env = NULL;
    if (k->python) {
        assert_int_equal(ash__envinfo_from_facts(&env, k->python, k->facts), 0);
    }
    ash_hash h;
    assert_int_equal(ash__rescache_context(&h, paths, n, roots, r, k->check_roots, env), 0);
    ash__envinfo_free(env);
    return h;
}

/* Every input that resolution reads changes the key; the same inputs give the same key. */
static void test_context_changes_with_every_input(void **state)
{
    (void)state;
    static const context_case cases[] = {
        {"base", {"a.py", "pkg/__init__.py", "pkg/b.py"}, {"", "src"}, 1, "/py", FACTS},
        {"file added (shadows a module)",
         {"a.py", "json.py", "pkg/__init__.py", "pkg/b.py"},
         {"", "src"},
         1,
         "/py",
         FACTS},
        {"file removed", {"a.py", "pkg/__init__.py"}, {"", "src"}, 1, "/py", FACTS},
        {"package turned namespace", {"a.py", "pkg/b.py"}, {"", "src"}, 1, "/py", FACTS},
        {"stub added",
         {"a.py", "a.pyi", "pkg/__init__.py", "pkg/b.py"},
         {"", "src"},
         1,
         "/py",
         FACTS},
        {"case changed", {"A.py", "pkg/__init__.py", "pkg/b.py"}, {"", "src"}, 1, "/py", FACTS},
        {"file moved to a directory",
         {"a.py", "pkg/__init__.py", "pkg/sub/b.py"},
         {"", "src"},
         1,
         "/py",
         FACTS},
        {"boundaries moved", {"a.pypkg/__init__.py", "pkg/b.py"}, {"", "src"}, 1, "/py", FACTS},
        {"roots reordered", {"a.py", "pkg/__init__.py", "pkg/b.py"}, {"src", ""}, 1, "/py", FACTS},
        {"root added",
         {"a.py", "pkg/__init__.py", "pkg/b.py"},
         {"", "src", "lib"},
         1,
         "/py",
         FACTS},
        {"root removed", {"a.py", "pkg/__init__.py", "pkg/b.py"}, {""}, 1, "/py", FACTS},
        {"roots configured", {"a.py", "pkg/__init__.py", "pkg/b.py"}, {"", "src"}, 0, "/py", FACTS},
        {"no interpreter", {"a.py", "pkg/__init__.py", "pkg/b.py"}, {"", "src"}, 1, NULL, NULL},
        {"builtin module added",
         {"a.py", "pkg/__init__.py", "pkg/b.py"},
         {"", "src"},
         1,
         "/py",
         FACTS "builtin a\n"},
        {"stdlib module removed",
         {"a.py", "pkg/__init__.py", "pkg/b.py"},
         {"", "src"},
         1,
         "/py",
         "version 3.11.7\nstdlib os\nbuiltin sys\ntop requests requests\ndist requests 2.31.0\n"},
        {"distribution changed",
         {"a.py", "pkg/__init__.py", "pkg/b.py"},
         {"", "src"},
         1,
         "/py",
         "version 3.11.7\nstdlib os\nstdlib json\nbuiltin sys\ntop requests requests2\n"
         "dist requests2 2.31.0\n"},
    };
    size_t n = ASH_ARRAY_SIZE(cases);
    ash_hash keys[ASH_ARRAY_SIZE(cases)];
    for (size_t i = 0; i < n; i++) {
        keys[i] = context_of(&cases[i]);
        ash_hash again = context_of(&cases[i]);
        assert_true(ash__hash_equal(&keys[i], &again));
        for (size_t j = 0; j < i; j++) {
            if (ash__hash_equal(&keys[i], &keys[j])) {
                fail_msg("'%s' and '%s' have the same context key", cases[i].what, cases[j].what);
            }
        }
    }
}

/* An interpreter reached by another path (a shim, a symlink) with the same facts resolves the
 * same: the key does not change with the path. */
static void test_interpreter_path_is_not_in_the_key(void **state)
{
    (void)state;
    context_case a = {"a", {"a.py"}, {""}, 1, "/usr/bin/python3", FACTS};
    context_case b = {"b", {"a.py"}, {""}, 1, "/root/.pyenv/shims/python3", FACTS};
    ash_hash ka = context_of(&a), kb = context_of(&b);
    assert_true(ash__hash_equal(&ka, &kb));
}

/* A cache written in one context is no answer in another. */
static void test_other_context_misses(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    fixture other = fx;
    char *roots[] = {"", "src"};
    assert_int_equal(ash__rescache_context(&other.in.context, fx.paths, NODES, roots, 2, 1, NULL),
                     0);
    diag_log log = {0};
    assert_true(open_matches(&fx, &log));
    assert_false(open_matches(&other, &log));
    assert_int_equal(log.count, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Damaged and foreign files                                                                */

static void test_flipped_bytes(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    size_t len;
    char *data = slurp(&len);
    for (size_t at = 0; at < len; at += 7) {
        data[at] ^= 0x20;
        spill(data, len);
        diag_log log = {0};
        if (open_matches(&fx, &log) || (at >= 16 && log.count != 1)) {
            fail_msg("a flipped byte at %zu was not caught", at);
        }
        data[at] ^= 0x20;
    }
    spill(data, len);
    diag_log log = {0};
    assert_true(open_matches(&fx, &log));
    ash__free(data);
}

static void test_truncated(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    size_t len;
    char *data = slurp(&len);
    spill(data, len - 9);
    expect_damaged(&fx);
    spill(data, 60); /* shorter than the header */
    expect_damaged(&fx);
    ash__free(data);
}

static void test_garbage_and_empty(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    char garbage[300];
    for (size_t i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (char)(i * 37 + 11);
    }
    spill(garbage, sizeof(garbage));
    expect_damaged(&fx);
    spill("", 0);
    expect_damaged(&fx);
    memcpy(garbage, "ASHPARSE", 8); /* the parse cache's magic: foreign */
    spill(garbage, sizeof(garbage));
    expect_damaged(&fx);
}

static void test_other_version_is_silent(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    size_t len;
    char *data = slurp(&len);
    for (size_t at = 8; at <= 12; at += 4) { /* format, then resolver version */
        data[at] ^= 0x5;
        reseal(data, len);
        spill(data, len);
        diag_log log = {0};
        assert_false(open_matches(&fx, &log));
        assert_int_equal(log.count, 0);
        data[at] ^= 0x5;
    }
    ash__free(data);
}

/* Offsets in the fixture's file (see the grammar in rescache.c): one distribution, two
 * unknown names. */
#define AT_IMPORT_START (64 + 16 * NODES)
#define AT_MODULES (AT_IMPORT_START + 8 * (NODES + 1))
#define AT_DISTS (AT_MODULES + 4 * NODES + 4 + 8 * 2)
#define AT_EDGES (AT_DISTS + 4 * IMPORTS)
#define AT_ORIGINS (AT_EDGES + 16 * EDGES)

/* A file with a right checksum but wrong contents (a writer's bug, or a hand-made file) is
 * damaged too: nothing in it can send a reader out of bounds. */
static void test_malformed_with_good_checksum(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    assert_int_equal(ash__rescache_write(tmp_root, &fx.in), 0);
    size_t len;
    char *data = slurp(&len);
    struct {
        size_t at;
        uint32_t value;
    } damage[] = {
        {AT_EDGES, NODES},                /* an edge to no node */
        {AT_EDGES + 8, 3},                /* an edge kind that does not exist */
        {AT_IMPORT_START + 4, 4},         /* imports out of order */
        {AT_IMPORT_START + 4 * NODES, 9}, /* imports past the end */
        {AT_MODULES, 100000},             /* a module name outside the strings */
        {AT_DISTS + 4, 2},                /* a distribution that does not exist */
        {32, NODES + 1},                  /* more nodes than there are */
    };
    for (size_t d = 0; d < ASH_ARRAY_SIZE(damage); d++) {
        char *copy = ash__malloc(len);
        memcpy(copy, data, len);
        put32(copy + damage[d].at, damage[d].value);
        reseal(copy, len);
        spill(copy, len);
        diag_log log = {0};
        if (open_matches(&fx, &log) || log.count != 1) {
            fail_msg("damage %zu was not caught", d);
        }
        ash__free(copy);
    }
    char *copy = ash__malloc(len);
    memcpy(copy, data, len);
    copy[AT_ORIGINS] = 9; /* no such origin */
    reseal(copy, len);
    spill(copy, len);
    expect_damaged(&fx);
    ash__free(copy);
    ash__free(data);
}

/* ---------------------------------------------------------------------------------------- */
/* The parse cache's digests                                                                */

/* The digest of an entry's stored records equals the digest of the records read back from it
 * and of the records that were stored, so a file gets the same digest whether it was parsed
 * or taken from the parse cache; other records get another digest. */
static void test_pcache_digests_agree(void **state)
{
    (void)state;
    static const char *const sources[] = {
        "import os\nfrom . import x, y\nfrom ..pkg.mod import *\n",
        "import json as j\nimport importlib\nimportlib.import_module('z.w', package='p')\n"
        "try:\n    import yaml\nexcept ImportError:\n    pass\n",
        "import os\nfrom . import x, y\nfrom ..pkg.mod import *\nimport a\n",
        "",
    };
    static const char *const paths[] = {"a.py", "b.py", "c.py", "d.py"};
    static const char *const msgs[] = {NULL, "line 3: something\n", NULL, NULL};
    enum { N = 4 };
    ash_imports *imports[N];
    ash_pcache_item items[N];
    memset(items, 0, sizeof(items));
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(
            ash_imports_parse(&imports[i], sources[i], strlen(sources[i]), paths[i], NULL, NULL),
            0);
        items[i] = (ash_pcache_item){paths[i], {1, 2, 3, 4}, {{0}}, 0, imports[i], msgs[i]};
    }
    assert_int_equal(ash__pcache_write(tmp_root, items, N), 0);
    ash_pcache *c = NULL;
    assert_int_equal(ash__pcache_open(&c, tmp_root, NULL, NULL), 0);
    assert_int_equal(ash__pcache_count(c), N);
    ash_buf scratch = ASH_BUF_INIT;
    ash_hash digests[N];
    for (size_t i = 0; i < N; i++) {
        ash_hash stored, parsed, read_back;
        ash__pcache_digest(c, (long)i, &stored);
        assert_int_equal(ash__pcache_digest_of(&parsed, imports[i], msgs[i], &scratch), 0);
        ash_imports *back = NULL;
        ash_buf back_msgs = ASH_BUF_INIT;
        assert_int_equal(ash__pcache_imports(c, (long)i, &back, &back_msgs), 0);
        assert_int_equal(
            ash__pcache_digest_of(&read_back, back, ash__buf_cstr(&back_msgs), &scratch), 0);
        assert_true(ash__hash_equal(&stored, &parsed));
        assert_true(ash__hash_equal(&stored, &read_back));
        digests[i] = stored;
        for (size_t j = 0; j < i; j++) {
            assert_false(ash__hash_equal(&digests[i], &digests[j]));
        }
        ash_imports_free(back);
        ash__buf_free(&back_msgs);
    }
    ash__buf_free(&scratch);
    ash__pcache_free(c);
    for (size_t i = 0; i < N; i++) {
        ash_imports_free(imports[i]);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

static fixture oom_fx;

static int oom_write(void *payload)
{
    (void)payload;
    return ash__rescache_write(tmp_root, &oom_fx.in);
}

static int oom_open(void *payload)
{
    ash_rescache **out = payload;
    return ash__rescache_open(out, tmp_root, NULL, NULL);
}

static int oom_open_check(void *payload, int rc)
{
    ash_rescache **c = payload;
    int wrong = rc == 0 && (!ash__rescache_matches(*c, &oom_fx.in.context, NODES) ||
                            strcmp(ash__rescache_module(*c, 2), "pkg.b") != 0);
    ash__rescache_free(*c);
    *c = NULL;
    return wrong;
}

static int oom_context(void *payload)
{
    ash_hash *h = payload;
    char *roots[] = {""};
    return ash__rescache_context(h, oom_fx.paths, NODES, roots, 1, 1, NULL);
}

static int oom_context_check(void *payload, int rc)
{
    return rc == 0 && !ash__hash_equal(payload, &oom_fx.in.context);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    fixture_make(&oom_fx);
    alloc_hook_install(-1);
    assert_true(alloc_hook_fail_each(oom_write, NULL, NULL) > 0);
    ash_rescache *c = NULL;
    assert_true(alloc_hook_fail_each(oom_open, oom_open_check, &c) > 0);
    ash_hash h;
    assert_true(alloc_hook_fail_each(oom_context, oom_context_check, &h) > 0);
    alloc_hook_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_cache_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_graph, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_misses, setup, teardown),
        cmocka_unit_test(test_context_changes_with_every_input),
        cmocka_unit_test(test_interpreter_path_is_not_in_the_key),
        cmocka_unit_test_setup_teardown(test_other_context_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_version_is_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_with_good_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcache_digests_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
