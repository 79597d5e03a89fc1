/*
 * Unit tests of module resolution (analyzer/src/resolve.c): absolute and relative imports,
 * `from` imports of submodules and attributes, packages before modules, regular packages of a
 * later root before namespace portions of an earlier one, namespace portions merged across
 * roots, stubs, a file's base directory searched first, unresolved and partial names, module
 * names of nodes, source-root detection and the duplicate-module warning.
 */
#include "resolve.h"
#include "util.h"

// clang-format off
#include "diag_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

typedef struct hit {
    uint32_t target;
    ash_edge_kind kind;
} hit;

typedef struct hits {
    hit items[32];
    size_t n;
} hits;

static int collect(uint32_t target, ash_edge_kind kind, void *payload)
{
    hits *h = payload;
    assert_true(h->n < ASH_ARRAY_SIZE(h->items));
    h->items[h->n].target = target;
    h->items[h->n].kind = kind;
    h->n++;
    return 0;
}

/* Index of `path` in the sorted `paths`; fails the test if absent. */
static uint32_t idx(char *const *paths, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(paths[i], path) == 0) {
            return (uint32_t)i;
        }
    }
    fail_msg("no path %s", path);
    return 0;
}

static void check_sorted(char *const *paths, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        assert_true(strcmp(paths[i - 1], paths[i]) < 0);
    }
}

/* A fixture: a resolver over `paths` and `roots`. */
typedef struct fx {
    char *const *paths;
    size_t n;
    ash_resolver *r;
    hits h;
    ash_resolution res;
} fx;

static void fx_init(fx *f, char *const *paths, size_t n, char *const *roots, size_t nroots)
{
    memset(f, 0, sizeof(*f));
    check_sorted(paths, n);
    f->paths = paths;
    f->n = n;
    assert_int_equal(ash__resolver_new(&f->r, paths, n, roots, nroots, NULL), 0);
    assert_non_null(f->r);
}

#define FX(f, paths, roots) fx_init(f, paths, ASH_ARRAY_SIZE(paths), roots, ASH_ARRAY_SIZE(roots))

/* Resolve one import of `from` into f->h and f->res. */
static void run(fx *f, const char *from, ash_import_kind kind, uint32_t level, const char *module,
                const char *const *names, uint32_t name_count)
{
    ash_import imp = {0};
    imp.kind = kind;
    imp.line = 1;
    imp.level = level;
    imp.module = module;
    imp.name_count = name_count;
    imp.names = names;
    f->h.n = 0;
    assert_int_equal(
        ash__resolve_import(f->r, idx(f->paths, f->n, from), &imp, collect, &f->h, &f->res), 0);
}

/* Assert the i-th target is `path` with `kind`. */
static void expect(const fx *f, size_t i, const char *path, ash_edge_kind kind)
{
    assert_true(i < f->h.n);
    assert_string_equal(f->paths[f->h.items[i].target], path);
    assert_int_equal(f->h.items[i].kind, kind);
}

/* ---------------------------------------------------------------------------------------- */
/* Imports                                                                                  */

static char *root_only[] = {""};

static void test_plain_import_parents(void **state)
{
    (void)state;
    char *paths[] = {"a/__init__.py", "a/b/__init__.py", "a/b/c.py", "main.py"};
    fx f;
    FX(&f, paths, root_only);
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "a.b.c", NULL, 0);
    assert_int_equal(f.h.n, 3);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "a/b/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 2, "a/b/c.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);
    assert_false(f.res.partial);
    assert_false(f.res.beyond_top);
    assert_string_equal(f.res.name, "a.b.c");

    /* a package itself is the IMPORT target */
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "a.b", NULL, 0);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "a/b/__init__.py", ASH_EDGE_IMPORT);
    ash__resolver_free(f.r);
}

static void test_from_import_submodule_vs_attribute(void **state)
{
    (void)state;
    char *paths[] = {"a/__init__.py", "a/b.py", "main.py"};
    fx f;
    FX(&f, paths, root_only);
    const char *sub[] = {"b"};
    run(&f, "main.py", ASH_IMPORT_FROM, 0, "a", sub, 1);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_IMPORT);
    expect(&f, 1, "a/b.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);

    const char *attr[] = {"helper"};
    run(&f, "main.py", ASH_IMPORT_FROM, 0, "a", attr, 1);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);
    assert_false(f.res.partial);

    const char *star[] = {"*"};
    run(&f, "main.py", ASH_IMPORT_FROM, 0, "a", star, 1);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_IMPORT);

    /* from a module: names are attributes, never submodules */
    const char *x[] = {"x"};
    run(&f, "main.py", ASH_IMPORT_FROM, 0, "a.b", x, 1);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "a/b.py", ASH_EDGE_IMPORT);
    ash__resolver_free(f.r);
}

static void test_relative_imports(void **state)
{
    (void)state;
    char *paths[] = {"pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/m.py", "pkg/sub/n.py",
                     "pkg/util.py"};
    fx f;
    FX(&f, paths, root_only);
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 5, "pkg/sub/m.py")), "pkg.sub.m");

    const char *n[] = {"n"};
    run(&f, "pkg/sub/m.py", ASH_IMPORT_FROM, 1, "", n, 1);
    assert_string_equal(f.res.name, "pkg.sub");
    assert_int_equal(f.h.n, 3);
    expect(&f, 0, "pkg/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "pkg/sub/__init__.py", ASH_EDGE_IMPORT);
    expect(&f, 2, "pkg/sub/n.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);

    const char *x[] = {"x"};
    run(&f, "pkg/sub/m.py", ASH_IMPORT_FROM, 2, "util", x, 1);
    assert_string_equal(f.res.name, "pkg.util");
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "pkg/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "pkg/util.py", ASH_EDGE_IMPORT);

    /* from the package's own __init__, one dot is the package itself */
    run(&f, "pkg/sub/__init__.py", ASH_IMPORT_FROM, 1, "n", x, 1);
    assert_string_equal(f.res.name, "pkg.sub.n");
    assert_int_equal(f.h.n, 3);
    expect(&f, 2, "pkg/sub/n.py", ASH_EDGE_IMPORT);

    /* three dots from pkg.sub.m: past the top-level package */
    run(&f, "pkg/sub/m.py", ASH_IMPORT_FROM, 3, "", x, 1);
    assert_true(f.res.beyond_top);
    assert_int_equal(f.res.origin, ASH_ORIGIN_UNKNOWN);
    assert_int_equal(f.h.n, 0);
    run(&f, "pkg/util.py", ASH_IMPORT_FROM, 2, "", x, 1);
    assert_true(f.res.beyond_top);
    assert_int_equal(f.h.n, 0);
    ash__resolver_free(f.r);
}

static void test_package_beats_module(void **state)
{
    (void)state;
    char *paths[] = {"main.py", "pkg.py", "pkg/__init__.py"};
    fx f;
    FX(&f, paths, root_only);
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "pkg", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "pkg/__init__.py", ASH_EDGE_IMPORT);
    ash__resolver_free(f.r);
}

static void test_regular_package_in_later_root_beats_namespace(void **state)
{
    (void)state;
    char *paths[] = {"main.py", "ns/x.py", "src/ns/__init__.py", "src/ns/x.py"};
    char *roots[] = {"", "src"};
    fx f;
    FX(&f, paths, roots);
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "ns", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "src/ns/__init__.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);

    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "ns.x", NULL, 0);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "src/ns/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "src/ns/x.py", ASH_EDGE_IMPORT);
    ash__resolver_free(f.r);
}

static void test_namespace_merged_across_roots(void **state)
{
    (void)state;
    char *paths[] = {"libs/a/ns/one.py", "libs/b/ns/two.py", "main.py"};
    char *roots[] = {"libs/a", "libs/b"};
    fx f;
    FX(&f, paths, roots);
    const char *names[] = {"one", "two"};
    run(&f, "main.py", ASH_IMPORT_FROM, 0, "ns", names, 2);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "libs/a/ns/one.py", ASH_EDGE_IMPORT);
    expect(&f, 1, "libs/b/ns/two.py", ASH_EDGE_IMPORT);

    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "ns.two", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "libs/b/ns/two.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);

    /* files inside a root are named from it */
    assert_string_equal(ash__resolver_module_name(f.r, 1), "ns.two");
    ash__resolver_free(f.r);
}

static void test_stub_beside_source_and_stub_only(void **state)
{
    (void)state;
    char *paths[] = {"m.py", "m.pyi", "main.py", "s.pyi"};
    fx f;
    FX(&f, paths, root_only);
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "m", NULL, 0);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "m.py", ASH_EDGE_IMPORT);
    expect(&f, 1, "m.pyi", ASH_EDGE_IMPORT);

    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "s", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "s.pyi", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);
    ash__resolver_free(f.r);
}

static void test_base_directory_first(void **state)
{
    (void)state;
    char *paths[] = {"helpers.py", "main.py", "tests/helpers.py", "tests/test_x.py"};
    fx f;
    FX(&f, paths, root_only);
    run(&f, "tests/test_x.py", ASH_IMPORT_PLAIN, 0, "helpers", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "tests/helpers.py", ASH_EDGE_IMPORT);
    assert_int_equal(f.res.origin, ASH_ORIGIN_PROJECT);

    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "helpers", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "helpers.py", ASH_EDGE_IMPORT);

    /* the base directory alone also works with no root-level twin */
    char *paths2[] = {"tests/helpers.py", "tests/test_x.py"};
    fx g;
    FX(&g, paths2, root_only);
    run(&g, "tests/test_x.py", ASH_IMPORT_PLAIN, 0, "helpers", NULL, 0);
    assert_int_equal(g.h.n, 1);
    expect(&g, 0, "tests/helpers.py", ASH_EDGE_IMPORT);
    ash__resolver_free(g.r);
    ash__resolver_free(f.r);
}

static void test_unresolved_and_partial(void **state)
{
    (void)state;
    char *paths[] = {"a/__init__.py", "main.py"};
    fx f;
    FX(&f, paths, root_only);
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "requests", NULL, 0);
    assert_int_equal(f.h.n, 0);
    assert_int_equal(f.res.origin, ASH_ORIGIN_UNKNOWN);
    assert_null(f.res.dist);
    assert_false(f.res.partial);

    /* a name that exists as a file component but not as a top-level module */
    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "__init__", NULL, 0);
    assert_int_equal(f.h.n, 0);
    assert_int_equal(f.res.origin, ASH_ORIGIN_UNKNOWN);

    run(&f, "main.py", ASH_IMPORT_PLAIN, 0, "a.missing", NULL, 0);
    assert_int_equal(f.h.n, 1);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_PARENT);
    assert_true(f.res.partial);
    assert_int_equal(f.res.origin, ASH_ORIGIN_UNKNOWN);
    ash__resolver_free(f.r);
}

static void test_string_import_kind(void **state)
{
    (void)state;
    char *paths[] = {"a/__init__.py", "a/b.py", "main.py"};
    fx f;
    FX(&f, paths, root_only);
    run(&f, "main.py", ASH_IMPORT_STRING, 0, "a.b", NULL, 0);
    assert_int_equal(f.h.n, 2);
    expect(&f, 0, "a/__init__.py", ASH_EDGE_PARENT);
    expect(&f, 1, "a/b.py", ASH_EDGE_STRING);
    ash__resolver_free(f.r);
}

/* ---------------------------------------------------------------------------------------- */
/* Module names                                                                             */

static void test_module_names(void **state)
{
    (void)state;
    char *paths[] = {"a/__init__.py", "a/b/c.py",       "a/my-mod.py",
                     "main.py",       "scripts/run.py", "src/pkg/__init__.py",
                     "src/pkg/mod.py"};
    char *roots[] = {"", "src"};
    fx f;
    FX(&f, paths, roots);
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "a/__init__.py")), "a");
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "a/b/c.py")), "a.b.c");
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "a/my-mod.py")), "");
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "main.py")), "main");
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "scripts/run.py")),
                        "scripts.run"); /* named from the root "" (a namespace package) */
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "src/pkg/__init__.py")),
                        "pkg");
    assert_string_equal(ash__resolver_module_name(f.r, idx(paths, 7, "src/pkg/mod.py")), "pkg.mod");
    ash__resolver_free(f.r);
}

/* ---------------------------------------------------------------------------------------- */
/* Source roots                                                                             */

static void expect_roots(char *const *paths, size_t n, char *const *markers, size_t nm,
                         const char *const *want, size_t nwant)
{
    check_sorted(paths, n);
    char **roots = NULL;
    size_t count = 0;
    assert_int_equal(ash__detect_roots(&roots, &count, paths, n, markers, nm), 0);
    for (size_t i = 0; i < count && i < nwant; i++) {
        assert_string_equal(roots[i], want[i]);
    }
    assert_int_equal(count, nwant);
    for (size_t i = 0; i < count; i++) {
        ash__free(roots[i]);
    }
    ash__free(roots);
}

static void test_detect_roots(void **state)
{
    (void)state;
    {
        char *paths[] = {"src/pkg/__init__.py", "src/pkg/m.py", "tests/test_a.py"};
        const char *want[] = {"", "src"};
        expect_roots(paths, 3, NULL, 0, want, 2);
    }
    {
        char *paths[] = {"libs/x/x/__init__.py", "libs/x/x/m.py"};
        char *markers[] = {"libs/x/pyproject.toml"};
        const char *want[] = {"", "libs/x"};
        expect_roots(paths, 2, markers, 1, want, 2);
    }
    {
        char *paths[] = {"libs/x/src/x/__init__.py", "libs/x/src/x/m.py"};
        char *markers[] = {"libs/x/pyproject.toml"};
        const char *want[] = {"", "libs/x/src"};
        expect_roots(paths, 2, markers, 1, want, 2);
    }
    {
        /* setup.py among the files marks a distribution too; the root's own marker adds
         * nothing */
        char *paths[] = {"setup.py", "tools/t/setup.py", "tools/t/t/__init__.py"};
        char *markers[] = {"pyproject.toml"};
        const char *want[] = {"", "tools/t"};
        expect_roots(paths, 3, markers, 1, want, 2);
    }
    {
        char *paths[] = {"a/__init__.py", "services/api/api/__init__.py",
                         "services/api/api/sub/__init__.py", "services/web/web/__init__.py",
                         "tests/test_a.py"};
        const char *want[] = {"", "services/api", "services/web"};
        expect_roots(paths, 5, NULL, 0, want, 3);
    }
    {
        /* a stub-only package is a package too */
        char *paths[] = {"typings/lib/lib/__init__.pyi"};
        const char *want[] = {"", "typings/lib"};
        expect_roots(paths, 1, NULL, 0, want, 2);
    }
}

static void test_check_roots_duplicate_module(void **state)
{
    (void)state;
    char *paths[] = {"pkg/__init__.py", "pkg/__init__.pyi",    "pkg/m.py",
                     "src/other.py",    "src/pkg/__init__.py", "src/pkg/m.py"};
    char *roots[] = {"", "src"};
    fx f;
    FX(&f, paths, roots);
    diag_log w = {0};
    ash__resolver_check_roots(f.r, diag_log_add, &w);
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.last, "'pkg'"));
    assert_non_null(strstr(w.last, "'.'"));
    assert_non_null(strstr(w.last, "'src'"));
    ash__resolver_free(f.r);

    /* a module file and a package of the same name in two non-project roots */
    char *paths2[] = {"a/util.py", "b/util/__init__.py", "b/x.py"};
    char *roots2[] = {"", "a", "b"};
    FX(&f, paths2, roots2);
    memset(&w, 0, sizeof(w));
    ash__resolver_check_roots(f.r, diag_log_add, &w);
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.last, "'util'"));
    assert_non_null(strstr(w.last, "'a'"));
    assert_non_null(strstr(w.last, "'b'"));
    ash__resolver_free(f.r);

    /* distinct top-level modules: silence */
    char *paths3[] = {"pkg/__init__.py", "src/other.py", "src/pkg2/__init__.py"};
    FX(&f, paths3, roots);
    memset(&w, 0, sizeof(w));
    ash__resolver_check_roots(f.r, diag_log_add, &w);
    assert_int_equal(w.count, 0);
    ash__resolver_free(f.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_import_parents),
        cmocka_unit_test(test_from_import_submodule_vs_attribute),
        cmocka_unit_test(test_relative_imports),
        cmocka_unit_test(test_package_beats_module),
        cmocka_unit_test(test_regular_package_in_later_root_beats_namespace),
        cmocka_unit_test(test_namespace_merged_across_roots),
        cmocka_unit_test(test_stub_beside_source_and_stub_only),
        cmocka_unit_test(test_base_directory_first),
        cmocka_unit_test(test_unresolved_and_partial),
        cmocka_unit_test(test_string_import_kind),
        cmocka_unit_test(test_module_names),
        cmocka_unit_test(test_detect_roots),
        cmocka_unit_test(test_check_roots_duplicate_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
