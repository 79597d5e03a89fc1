/*
 * Unit tests of linking (analyzer/src/link.c) through the resolution cache: a link answered by
 * the cache, or partly by it after one file's imports changed, or after the set of files
 * changed, equals a link without it (module names, edges with their kinds, lines and flags,
 * origins, distributions, unresolved counts and every warning, in order); an answered link
 * leaves the cache file alone; and every allocation failure, with a cache or without, is
 * ASH_ENOMEM without a leak.
 */
#include "alloc_hook.h"
#include "envinfo.h"
#include "graph.h"
#include "link.h"
#include "pcache.h"
#include "tmp_tree.h"
#include "util.h"

// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

typedef struct source {
    const char *path;
    const char *text;
} source;

/* Relative imports past the top, modules found nowhere (counted or not), a stdlib module
 * shadowed by a project file, third-party modules, string imports, a stub, a namespace
 * package, a package importing its own submodule, and two source roots with one module. */
static const source base[] = {
    {"app/__init__.py", "from . import core\nfrom .core import run\n"},
    {"app/core.py", "import json\nimport requests\nfrom app import util\nimport nothere\n"
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ghost\n"
                    "def f():\n    import ns.part.mod\n"
                    "try:\n    import yaml\nexcept ImportError:\n    pass\n"},
    {"app/util.py", "import app.core\nfrom ... import beyond\nfrom app.missing import x\n"},
    {"app/util.pyi", "def f() -> int: ...\n"},
    {"json.py", ""},
    {"ns/part/mod.py", "import importlib\nimportlib.import_module('app.util')\n"},
    {"src/json.py", ""},
    {"tests/helpers.py", "import requests.adapters\n"},
    {"tests/test_core.py", "import app.core\nfrom ns.part import mod\nimport helpers\n"
                           "import json\nfrom . import nothing\n"},
};

#define FACTS                                                                                      \
    "version 3.11.7\nstdlib json\nstdlib typing\nstdlib importlib\nbuiltin sys\n"                  \
    "top requests requests\ntop yaml PyYAML\ndist requests 2.31.0\ndist pyyaml 6.0\n"

static char *roots[] = {"", "src"};

/* Everything a link produced, as text: compared whole. */
typedef struct outcome {
    ash_buf text;
} outcome;

static void on_diag(const char *path, const char *message, void *payload)
{
    ash_buf *b = payload;
    ash__buf_printf(b, "warning %s: %s\n", path ? path : "-", message);
}

/* A copy of `src` built without tree-sitter (whose allocation failures abort). */
static int clone_imports(ash_imports **out, const ash_imports *src)
{
    ash_ib ib = {0};
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < ash_imports_count(src); k++) {
        const ash_import *r = ash_imports_get(src, k);
        rc = ash__ib_add(&ib, r->kind, r->line, r->level, r->flags, r->module, strlen(r->module),
                         r->package, r->package ? strlen(r->package) : 0);
        for (uint32_t j = 0; rc == 0 && j < r->name_count; j++) {
            rc = ash__ib_add_name(&ib, r->names[j], strlen(r->names[j]));
        }
    }
    if (rc == 0) {
        rc = ash__ib_finish(&ib, out, ash_imports_status(src));
    }
    ash__ib_free(&ib);
    return rc;
}

/* The files' imports, parsed once (outside any allocation-failure run), and their digests. */
typedef struct parsed {
    size_t n;
    ash_imports *imports[16];
    ash_hash digests[16];
} parsed;

static void parse_files(parsed *p, const source *files, size_t n)
{
    ash_buf scratch = ASH_BUF_INIT;
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ash_imports_parse(&p->imports[i], files[i].text, strlen(files[i].text),
                                           files[i].path, NULL, NULL),
                         0);
        assert_int_equal(ash__pcache_digest_of(&p->digests[i], p->imports[i], NULL, &scratch), 0);
    }
    ash__buf_free(&scratch);
}

static void parsed_free(parsed *p)
{
    for (size_t i = 0; i < p->n; i++) {
        ash_imports_free(p->imports[i]);
    }
}

/* A graph of the files (sorted by path) with copies of their imports. */
static int make_graph(ash_graph **out, const source *files, const parsed *p)
{
    *out = NULL;
    char **paths = ash__calloc(p->n, sizeof(char *));
    if (!paths) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < p->n; i++) {
        if (!(paths[i] = ash__strdup(files[i].path))) {
            for (size_t k = 0; k < i; k++) {
                ash__free(paths[k]);
            }
            ash__free(paths);
            return ash__error_oom();
        }
    }
    ash_graph *g = NULL;
    int rc = ash__graph_new(&g, paths, p->n);
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        ash_imports *copy = NULL;
        if ((rc = clone_imports(&copy, p->imports[i])) == 0) {
            ash__graph_set_imports(g, i, copy);
        }
    }
    if (rc < 0) {
        ash_graph_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

static void describe(ash_buf *b, const ash_graph *g)
{
    for (size_t i = 0; i < ash_graph_node_count(g); i++) {
        ash__buf_printf(b, "node %s module '%s'\n", ash_graph_node_path(g, i),
                        ash_graph_node_module(g, i));
        size_t n;
        const ash_edge *e = ash_graph_edges(g, i, &n);
        for (size_t k = 0; k < n; k++) {
            ash__buf_printf(b, "  edge %s line %u kind %d flags %u\n",
                            ash_graph_node_path(g, e[k].target), e[k].line, (int)e[k].kind,
                            e[k].flags);
        }
        const ash_imports *imports = ash_graph_node_imports(g, i);
        for (size_t k = 0; k < ash_imports_count(imports); k++) {
            const char *dist;
            ash_origin o = ash_graph_import_origin(g, i, k, &dist);
            ash__buf_printf(b, "  import %zu origin %d dist %s\n", k, (int)o, dist ? dist : "-");
        }
    }
    ash_build_stats st;
    ash_graph_stats(g, &st);
    ash__buf_printf(b, "imports %zu unresolved %zu\n", st.imports, st.unresolved);
}

/* Link the files with the cache in `cache_dir` (NULL: none) into `*out`; the warnings go to
 * `diags`. */
static int link_graph(ash_graph **out, ash_buf *diags, const source *files, const parsed *p,
                      const char *cache_dir, const ash_envinfo *env)
{
    int rc = make_graph(out, files, p);
    if (rc < 0) {
        return rc;
    }
    ash_link_options o = {
        .roots = roots,
        .root_count = 2,
        .check_roots = 1,
        .env = env,
        .python = "python3",
        .cache_dir = cache_dir,
        .digests = p->digests,
        .diag = on_diag,
        .payload = diags,
    };
    if ((rc = ash__link(*out, &o)) < 0) {
        ash_graph_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Link `n` files with the cache in `cache_dir` (NULL: none); what came of it, as text. */
static int link_files(ash_buf *out, const source *files, size_t n, const char *cache_dir,
                      const ash_envinfo *env)
{
    parsed p;
    parse_files(&p, files, n);
    ash_graph *g = NULL;
    int rc = link_graph(&g, out, files, &p, cache_dir, env);
    if (rc == 0) {
        describe(out, g);
    }
    ash_graph_free(g);
    parsed_free(&p);
    return rc;
}

static ash_envinfo *env_of(const char *facts)
{
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_from_facts(&env, "/usr/bin/python3", facts), 0);
    return env;
}

static void cache_file(char *out, size_t size)
{
    snprintf(out, size, "%s/resolve-cache.bin", tmp_root);
}

/* The cache file's inode and size: a rewrite (a rename over it) changes the inode. */
static void cache_stamp(ino_t *ino, off_t *size)
{
    char path[512];
    cache_file(path, sizeof(path));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    *ino = st.st_ino;
    *size = st.st_size;
}

/* The link of `files` with the cache equals the one without, warnings included. */
static void expect_as_uncached(const source *files, size_t n, const ash_envinfo *env)
{
    ash_buf cached = ASH_BUF_INIT, uncached = ASH_BUF_INIT;
    assert_int_equal(link_files(&uncached, files, n, NULL, env), 0);
    assert_int_equal(link_files(&cached, files, n, tmp_root, env), 0);
    assert_string_equal(ash__buf_cstr(&cached), ash__buf_cstr(&uncached));
    ash__buf_free(&cached);
    ash__buf_free(&uncached);
}

static int setup(void **state)
{
    (void)state;
    return tmp_tree_make("ash-link-");
}

static int teardown(void **state)
{
    (void)state;
    tmp_tree_remove();
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Tests                                                                                    */

static void test_answered_link_equals_resolved_link(void **state)
{
    (void)state;
    ash_envinfo *env = env_of(FACTS);
    size_t n = ASH_ARRAY_SIZE(base);
    expect_as_uncached(base, n, env); /* writes the cache */
    ino_t ino;
    off_t size;
    cache_stamp(&ino, &size);
    expect_as_uncached(base, n, env); /* answered by it */
    ino_t ino2;
    off_t size2;
    cache_stamp(&ino2, &size2);
    assert_true(ino == ino2 && size == size2); /* and not rewritten */
    ash_buf text = ASH_BUF_INIT;
    assert_int_equal(link_files(&text, base, n, tmp_root, env), 0);
    const char *t = ash__buf_cstr(&text);
    assert_non_null(strstr(t, "relative import beyond the top-level package"));
    assert_non_null(strstr(t, "found neither in the project"));
    assert_non_null(strstr(t, "is in source roots"));
    assert_non_null(strstr(t, "dist requests"));
    ash__buf_free(&text);
    ash__envinfo_free(env);
}

static void test_changed_imports_and_files(void **state)
{
    (void)state;
    ash_envinfo *env = env_of(FACTS);
    size_t n = ASH_ARRAY_SIZE(base);
    source files[16];
    memcpy(files, base, sizeof(base));
    expect_as_uncached(files, n, env);
    /* one file's imports changed: the others are answered, that one is resolved */
    files[2].text = "import tests.helpers\nimport requests\n";
    expect_as_uncached(files, n, env);
    files[7].text = "";
    expect_as_uncached(files, n, env);
    /* a file gone: the context changed */
    memmove(&files[4], &files[5], (n - 5) * sizeof(source));
    expect_as_uncached(files, n - 1, env);
    /* other interpreter facts */
    ash_envinfo *other = env_of("version 3.12.0\nstdlib json\nbuiltin helpers\n");
    expect_as_uncached(files, n - 1, other);
    expect_as_uncached(files, n - 1, NULL);
    expect_as_uncached(files, n - 1, env);
    ash__envinfo_free(other);
    ash__envinfo_free(env);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

typedef struct oom_run {
    const parsed *p;
    const ash_envinfo *env;
    const char *cache_dir;
    const char *want;
    ash_graph *g;
    ash_buf diags;
} oom_run;

static int oom_attempt(void *payload)
{
    oom_run *run = payload;
    return link_graph(&run->g, &run->diags, base, run->p, run->cache_dir, run->env);
}

/* Runs with failures off again: the graph of a successful run must be whole. (A run may
 * succeed while its cache could not be written; the graph is whole anyway.) */
static int oom_check(void *payload, int rc)
{
    oom_run *run = payload;
    int wrong = 0;
    if (rc == 0) {
        ash_buf got = ASH_BUF_INIT;
        describe(&got, run->g);
        wrong = strcmp(ash__buf_cstr(&got), run->want) != 0;
        ash__buf_free(&got);
    }
    ash_graph_free(run->g);
    run->g = NULL;
    ash__buf_free(&run->diags);
    return wrong;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    ash_envinfo *env = env_of(FACTS);
    parsed p;
    parse_files(&p, base, ASH_ARRAY_SIZE(base));
    ash_buf want = ASH_BUF_INIT;
    assert_int_equal(link_files(&want, base, ASH_ARRAY_SIZE(base), NULL, env), 0);
    /* the graph's description comes after the warnings */
    const char *graph_text = strstr(ash__buf_cstr(&want), "node ");
    assert_non_null(graph_text);
    const char *dirs[] = {NULL, tmp_root, tmp_root}; /* no cache, a miss (writes), a hit */
    char path[512];
    cache_file(path, sizeof(path));
    for (size_t d = 0; d < ASH_ARRAY_SIZE(dirs); d++) {
        oom_run run = {&p, env, dirs[d], graph_text, NULL, ASH_BUF_INIT};
        if (d == 1) {
            remove(path);
        }
        alloc_hook_install(-1);
        long failures = alloc_hook_fail_each(oom_attempt, oom_check, &run);
        alloc_hook_remove();
        assert_true(failures > 0);
    }
    /* the last runs left a whole cache: a link answered by it is right */
    expect_as_uncached(base, ASH_ARRAY_SIZE(base), env);
    parsed_free(&p);
    ash__buf_free(&want);
    ash__envinfo_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answered_link_equals_resolved_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_imports_and_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
