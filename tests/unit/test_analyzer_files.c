/*
 * Unit tests of analyzer/src/files.c: project root discovery, listing Python files through git
 * and by walking real trees built in a temporary directory, and gitignore-style globs.
 */
#include "alloc_hook.h"
#include "files.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_DIAGS 64

/* snprintf into an array, failing the test rather than truncating. */
#define FORMAT(array, ...)                                                                         \
    assert_true(snprintf(array, sizeof(array), __VA_ARGS__) < (int)sizeof(array))

/* One temporary tree per test, and the warnings received while listing it. */
typedef struct fixture {
    char dir[64];
    char real[PATH_MAX]; /* the canonical path of `dir` */
    char diags[MAX_DIAGS][600];
    int diag_count;
} fixture;

static void collect_diag(const char *path, const char *message, void *payload)
{
    fixture *f = payload;
    if (f->diag_count < MAX_DIAGS) {
        snprintf(f->diags[f->diag_count++], sizeof(f->diags[0]), "%s: %s", path, message);
    }
}

static int count_diags(const fixture *f, const char *needle)
{
    int n = 0;
    for (int i = 0; i < f->diag_count; i++) {
        n += strstr(f->diags[i], needle) != NULL;
    }
    return n;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/ash_files_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_non_null(realpath(f->dir, f->real));
    *state = f;
    return 0;
}

static int run(const char *fmt, ...) ASH_PRINTF(1, 2);

static int run(const char *fmt, ...)
{
    char command[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(command, sizeof(command), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && n < (int)sizeof(command));
    return system(command);
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* chmod first: a test may have left an unreadable directory behind. */
    run("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", f->dir, f->dir);
    free(f);
    return 0;
}

/* Create directory root/rel and its parents. */
static void make_dirs(const char *root, const char *rel)
{
    char path[PATH_MAX];
    FORMAT(path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
            *p = '/';
        }
    }
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Create file root/rel (and its directories) holding `text`. */
static void write_file(const char *root, const char *rel, const char *text)
{
    char path[PATH_MAX];
    FORMAT(path, "%s", rel);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        make_dirs(root, path);
    }
    FORMAT(path, "%s/%s", root, rel);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void make_link(const char *root, const char *rel, const char *target)
{
    char path[PATH_MAX];
    FORMAT(path, "%s/%s", root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static void touch_all(const char *root, const char *const *rels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        write_file(root, rels[i], "");
    }
}

/* The list is exactly `expected` (given in sorted order). */
static void assert_list(const ash_file_list *list, const char *const *expected, size_t n)
{
    for (size_t i = 0; i < list->count && i < n; i++) {
        if (strcmp(list->paths[i], expected[i]) != 0) {
            fail_msg("entry %zu: got \"%s\", expected \"%s\"", i, list->paths[i], expected[i]);
        }
    }
    if (list->count != n) {
        for (size_t i = 0; i < list->count; i++) {
            print_message("  listed: %s\n", list->paths[i]);
        }
        fail_msg("%zu paths listed, %zu expected", list->count, n);
    }
}

static int git_available(void)
{
    return run("git --version >/dev/null 2>&1") == 0;
}

/* Run git in `dir` with an identity and without the user's or the system's configuration. */
#define GIT                                                                                        \
    "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -c user.email=t@example.com "           \
    "-c user.name=t -c init.defaultBranch=main -c commit.gpgsign=false"

/* ---------------------------------------------------------------------------------------- */
/* ash__find_root                                                                           */

static void expect_root(const char *start, const char *expected)
{
    char *root = NULL;
    int rc = ash__find_root(&root, start);
    if (rc != 0) {
        fail_msg("find_root(%s): %d %s", start, rc, ash_error_last());
    }
    assert_string_equal(root, expected);
    ash__free(root);
}

static void test_root_git_dir(void **state)
{
    fixture *f = *state;
    make_dirs(f->dir, ".git");
    make_dirs(f->dir, "src/pkg/sub");
    char start[PATH_MAX];
    FORMAT(start, "%s/src/pkg/sub", f->dir);
    expect_root(start, f->real);
    expect_root(f->dir, f->real);
}

static void test_root_git_file(void **state)
{
    fixture *f = *state;
    /* A worktree or submodule: .git is a file pointing elsewhere. */
    write_file(f->dir, "wt/.git", "gitdir: /somewhere/else/.git/worktrees/wt\n");
    make_dirs(f->dir, "wt/a/b");
    char start[PATH_MAX], expected[PATH_MAX + 16];
    FORMAT(start, "%s/wt/a/b", f->dir);
    FORMAT(expected, "%s/wt", f->real);
    expect_root(start, expected);
}

static void test_root_pyproject_only(void **state)
{
    fixture *f = *state;
    write_file(f->dir, "proj/pyproject.toml", "[project]\nname = 'x'\n");
    write_file(f->dir, "proj/src/pkg/__init__.py", "");
    char start[PATH_MAX], expected[PATH_MAX + 16];
    FORMAT(start, "%s/proj/src/pkg", f->dir);
    FORMAT(expected, "%s/proj", f->real);
    expect_root(start, expected);
    /* The nearest pyproject.toml wins over one further up. */
    write_file(f->dir, "proj/src/pyproject.toml", "");
    FORMAT(expected, "%s/proj/src", f->real);
    expect_root(start, expected);
}

static void test_root_git_wins_over_nested_pyproject(void **state)
{
    fixture *f = *state;
    make_dirs(f->dir, ".git");
    write_file(f->dir, "libs/one/pyproject.toml", "");
    make_dirs(f->dir, "libs/one/src");
    char start[PATH_MAX];
    FORMAT(start, "%s/libs/one/src", f->dir);
    expect_root(start, f->real);
}

static void test_root_not_found(void **state)
{
    fixture *f = *state;
    make_dirs(f->dir, "plain/dir");
    char start[PATH_MAX];
    FORMAT(start, "%s/plain/dir", f->dir);
    char *root = (char *)"unchanged";
    assert_int_equal(ash__find_root(&root, start), ASH_ENOTFOUND);
    assert_null(root);
    char expected[PATH_MAX + 100];
    FORMAT(expected, "%s: not inside a git repository or a directory with pyproject.toml", start);
    assert_string_equal(ash_error_last(), expected);

    /* A directory named pyproject.toml does not make a project. */
    make_dirs(f->dir, "plain/pyproject.toml");
    assert_int_equal(ash__find_root(&root, start), ASH_ENOTFOUND);

    FORMAT(start, "%s/does/not/exist", f->dir);
    assert_int_equal(ash__find_root(&root, start), ASH_ENOTFOUND);
    assert_non_null(strstr(ash_error_last(), "No such file or directory"));
}

static void test_root_cwd_and_symlinked_start(void **state)
{
    fixture *f = *state;
    make_dirs(f->dir, "real/.git");
    make_dirs(f->dir, "real/pkg");
    make_link(f->dir, "alias", "real/pkg");
    char expected[PATH_MAX + 16], start[PATH_MAX], cwd[PATH_MAX];
    FORMAT(expected, "%s/real", f->real);
    /* The root is canonical even when reached through a symlink. */
    FORMAT(start, "%s/alias", f->dir);
    expect_root(start, expected);

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    FORMAT(start, "%s/real/pkg", f->dir);
    assert_int_equal(chdir(start), 0);
    char *root = NULL;
    int rc = ash__find_root(&root, NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(root, expected);
    ash__free(root);
}

/* ---------------------------------------------------------------------------------------- */
/* Walk mode                                                                                */

static void list_ok(fixture *f, const char *root, ash_file_list *list, const char *const *exclude,
                    size_t n)
{
    int rc = ash__list_python_files(list, root, exclude, n, collect_diag, f);
    if (rc != 0) {
        fail_msg("list: %d %s", rc, ash_error_last());
    }
}

static void test_walk_skip_rules(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {
        "a.py", "b.pyi", "notes.txt", "pkg/__init__.py", "pkg/mod.py", "pkg/data.json",
        "pkg/build_helpers.py", "pkg/builder/x.py", "my.egg-info.d/keep.py",
        /* a package may be called venv: only a pyvenv.cfg makes a virtualenv */
        "venv/__init__.py",
        /* Every one of these is skipped. */
        "vendor/.git/hooks/x.py", ".hg/x.py", ".svn/x.py", "node_modules/x/y.py", "build/lib/a.py",
        "dist/a.py", "pkg/__pycache__/mod.py", "lib/site-packages/x.py", ".tox/py3/x.py",
        ".nox/x.py", ".venv/x.py", ".mypy_cache/x.py", ".pytest_cache/x.py",
        ".ruff_cache/x.py", ".aftershock/x.py", "foo.egg-info/x.py", "pkg/deep/build/x.py",
        "pkg/node_modules/x.py"};
    touch_all(f->dir, files, ASH_ARRAY_SIZE(files));
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    static const char *const expected[] = {"a.py",
                                           "b.pyi",
                                           "my.egg-info.d/keep.py",
                                           "pkg/__init__.py",
                                           "pkg/build_helpers.py",
                                           "pkg/builder/x.py",
                                           "pkg/mod.py",
                                           "venv/__init__.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    if (f->diag_count) {
        fail_msg("unexpected warning: %s", f->diags[0]);
    }
    ash__file_list_free(&list);
    assert_null(list.paths);
    assert_int_equal(list.count, 0);
}

static void test_walk_virtualenv(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"app.py",
                                        "env-3.12/pyvenv.cfg",
                                        "env-3.12/top.py",
                                        "env-3.12/bin/activate_this.py",
                                        "env-3.12/lib/python3.12/site-packages/six.py",
                                        "tools/myenv/pyvenv.cfg",
                                        "tools/myenv/lib/x.py",
                                        "tools/script.py",
                                        "pkg/pyvenv.cfg.py"};
    touch_all(f->dir, files, ASH_ARRAY_SIZE(files));
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    static const char *const expected[] = {"app.py", "pkg/pyvenv.cfg.py", "tools/script.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    ash__file_list_free(&list);

    /* A pyvenv.cfg in the root itself does not empty the project. */
    write_file(f->dir, "pyvenv.cfg", "home = /usr/bin\n");
    list_ok(f, f->dir, &list, NULL, 0);
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    ash__file_list_free(&list);
}

static void test_walk_exclude(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"setup.py",
                                        "src/pkg/a.py",
                                        "src/pkg/a_pb2.py",
                                        "tests/fixtures/bad.py",
                                        "tests/fixtures/deep/x.py",
                                        "tests/test_a.py",
                                        "gen/out.py",
                                        "src/gen/keep.py",
                                        "docs/conf.py",
                                        "scripts/tool.py"};
    touch_all(f->dir, files, ASH_ARRAY_SIZE(files));
    static const char *const exclude[] = {"tests/fixtures", "*_pb2.py",   "/gen/",
                                          "docs/**",        "./setup.py", "scripts/tool.py/"};
    ash_file_list list;
    list_ok(f, f->dir, &list, exclude, ASH_ARRAY_SIZE(exclude));
    /* "scripts/tool.py/" only matches a directory, and tool.py is a file. */
    static const char *const expected[] = {"scripts/tool.py", "src/gen/keep.py", "src/pkg/a.py",
                                           "tests/test_a.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    ash__file_list_free(&list);
}

static void test_walk_symlinks(void **state)
{
    fixture *f = *state;
    char outside[PATH_MAX], proj[PATH_MAX];
    FORMAT(outside, "%s/outside", f->dir);
    FORMAT(proj, "%s/proj", f->dir);
    write_file(f->dir, "outside/ext.py", "");
    make_dirs(f->dir, "proj");
    write_file(proj, "pkg/mod.py", "");
    write_file(proj, "other/o.py", "");
    write_file(proj, "real.py", "");
    make_link(proj, "pkg/loop", "..");        /* a loop back to the root */
    make_link(proj, "pkg/self", ".");         /* a loop to itself */
    make_link(proj, "pkg/again", "../other"); /* a second path to a plain directory */
    make_link(proj, "ext", outside);          /* a directory outside the project */
    make_link(proj, "ext2", outside);         /* ... reached twice */
    make_link(proj, "alias.py", "real.py");   /* a symlinked file is listed */
    ash_file_list list;
    list_ok(f, proj, &list, NULL, 0);
    static const char *const expected[] = {"alias.py", "ext/ext.py", "other/o.py", "pkg/mod.py",
                                           "real.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    assert_int_equal(count_diags(f, "pkg/loop: symlink loop; skipped"), 1);
    assert_int_equal(count_diags(f, "pkg/self: symlink loop; skipped"), 1);
    /* Repeated links are skipped silently. */
    assert_int_equal(f->diag_count, 2);
    ash__file_list_free(&list);
}

static void test_walk_broken_symlink(void **state)
{
    fixture *f = *state;
    write_file(f->dir, "ok.py", "");
    make_link(f->dir, "gone.py", "nowhere.py");
    make_link(f->dir, "gonedir", "no/such/dir");
    make_link(f->dir, "spin", "spin");                /* a link to itself */
    make_link(f->dir, ".#ok.py", "user@host.1234:1"); /* an editor's lock file */
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    static const char *const expected[] = {"ok.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    assert_int_equal(count_diags(f, "gone.py: broken symlink; skipped"), 1);
    assert_int_equal(count_diags(f, "gonedir: broken symlink; skipped"), 1);
    assert_int_equal(count_diags(f, "spin: symlink loop; skipped"), 1);
    assert_int_equal(f->diag_count, 3);
    ash__file_list_free(&list);
}

static void test_walk_unreadable_dir(void **state)
{
    fixture *f = *state;
    write_file(f->dir, "ok.py", "");
    write_file(f->dir, "locked/secret.py", "");
    char path[PATH_MAX];
    FORMAT(path, "%s/locked", f->dir);
    assert_int_equal(chmod(path, 0), 0);
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    int blocked = access(path, R_OK) != 0;
    if (blocked) {
        static const char *const expected[] = {"ok.py"};
        assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
        assert_int_equal(count_diags(f, "locked: cannot read directory: Permission denied"), 1);
    } else {
        assert_int_equal(list.count, 2);
    }
    ash__file_list_free(&list);
    chmod(path, 0755);
    if (!blocked) {
        skip(); /* root reads anything: the warning cannot be provoked */
    }
}

static void test_walk_root_missing(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX];
    FORMAT(path, "%s/nope", f->dir);
    ash_file_list list;
    assert_int_equal(ash__list_python_files(&list, path, NULL, 0, collect_diag, f), ASH_EIO);
    assert_non_null(strstr(ash_error_last(), "cannot read directory"));
    assert_int_equal(list.count, 0);
    assert_null(list.paths);
}

static void test_walk_directory_named_py(void **state)
{
    fixture *f = *state;
    write_file(f->dir, "x.py/inner.py", "");
    write_file(f->dir, "x.py/data.txt", "");
    make_dirs(f->dir, "empty.pyi");
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    static const char *const expected[] = {"x.py/inner.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    ash__file_list_free(&list);
}

static void test_walk_deep_nesting(void **state)
{
    fixture *f = *state;
    enum { DEPTH = 2000 };
    /* Components of 2 characters: the paths get longer than PATH_MAX. */
    static char rel[DEPTH * 3 + 16];
    int fd = open(f->dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    size_t n = 0;
    for (int i = 0; i < DEPTH; i++) {
        assert_int_equal(mkdirat(fd, "ab", 0755), 0);
        int next = openat(fd, "ab", O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        close(fd);
        fd = next;
        memcpy(rel + n, "ab/", 3);
        n += 3;
    }
    int file = openat(fd, "deep.py", O_WRONLY | O_CREAT, 0644);
    assert_true(file >= 0);
    close(file);
    close(fd);
    strcpy(rel + n, "deep.py");
    write_file(f->dir, "top.py", "");

    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    const char *expected[] = {rel, "top.py"};
    assert_true(strlen(rel) > PATH_MAX);
    assert_list(&list, expected, 2);
    assert_int_equal(f->diag_count, 0);
    ash__file_list_free(&list);
}

static void test_walk_sorted_raw_bytes(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"b.py",           "a/b.py", "a.py",   "a-b.py",
                                        "A.py",           "a/a.py", "_x.py",  "z/\xff\xfe.py",
                                        "caf\xc3\xa9.py", "a0.py",  "a/B.pyi"};
    touch_all(f->dir, files, ASH_ARRAY_SIZE(files));
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    /* strcmp order: bytes compare unsigned, '-' < '.' < '/' < '0' < 'A' < '_' < 'a'. */
    static const char *const expected[] = {"A.py",    "_x.py",          "a-b.py",       "a.py",
                                           "a/B.pyi", "a/a.py",         "a/b.py",       "a0.py",
                                           "b.py",    "caf\xc3\xa9.py", "z/\xff\xfe.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    for (size_t i = 1; i < list.count; i++) {
        assert_true(strcmp(list.paths[i - 1], list.paths[i]) < 0);
    }
    ash__file_list_free(&list);
}

/* ---------------------------------------------------------------------------------------- */
/* git mode                                                                                 */

static void test_git_mode(void **state)
{
    fixture *f = *state;
    if (!git_available()) {
        skip();
    }
    static const char *const tracked[] = {"a.py",      "pkg/__init__.py", "pkg/types.pyi",
                                          "README.md", "build/gen.py",    "gone.py",
                                          "skip/me.py"};
    touch_all(f->dir, tracked, ASH_ARRAY_SIZE(tracked));
    write_file(f->dir, ".gitignore", "ignored.py\nout/\n");
    assert_int_equal(run("cd '%s' && " GIT " init -q && " GIT " add -A && " GIT
                         " commit -qm init >/dev/null",
                         f->dir),
                     0);
    write_file(f->dir, "new.py", "");     /* untracked, listed */
    write_file(f->dir, "ignored.py", ""); /* ignored */
    write_file(f->dir, "out/x.py", "");   /* in an ignored directory */
    run("rm '%s/gone.py'", f->dir);       /* tracked, deleted: still listed */
    static const char *const exclude[] = {"skip"};
    ash_file_list list;
    list_ok(f, f->dir, &list, exclude, ASH_ARRAY_SIZE(exclude));
    /* build/ would be skipped by a walk: git's answer is what counts here. */
    static const char *const expected[] = {"a.py",   "build/gen.py",    "gone.py",
                                           "new.py", "pkg/__init__.py", "pkg/types.pyi"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    assert_int_equal(f->diag_count, 0);
    ash__file_list_free(&list);
}

static void test_git_unmerged_paths_listed_once(void **state)
{
    fixture *f = *state;
    if (!git_available()) {
        skip();
    }
    write_file(f->dir, "c.py", "a\n");
    assert_int_equal(run("cd '%s' && " GIT " init -q && " GIT " add c.py && " GIT
                         " commit -qm 1 && " GIT " checkout -qb other && echo b > c.py && " GIT
                         " commit -qam 2 && " GIT " checkout -q main && echo c > c.py && " GIT
                         " commit -qam 3 && " GIT " merge -q other >/dev/null 2>&1; "
                         "test \"$(" GIT " ls-files | wc -l)\" = 3",
                         f->dir),
                     0);
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    static const char *const expected[] = {"c.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    ash__file_list_free(&list);
}

static void test_git_failure_falls_back_to_walk(void **state)
{
    fixture *f = *state;
    if (!git_available()) {
        skip();
    }
    write_file(f->dir, ".git", "this is not a gitdir line\n");
    write_file(f->dir, "pkg/a.py", "");
    write_file(f->dir, "build/b.py", "");
    ash_file_list list;
    list_ok(f, f->dir, &list, NULL, 0);
    static const char *const expected[] = {"pkg/a.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    assert_int_equal(f->diag_count, 1);
    const char *prefix = ".: git ls-files failed (exit 128: fatal: ";
    if (strncmp(f->diags[0], prefix, strlen(prefix)) != 0 ||
        !strstr(f->diags[0], "); walking the directory instead")) {
        fail_msg("unexpected warning: %s", f->diags[0]);
    }
    ash__file_list_free(&list);
}

static void test_git_missing_falls_back_to_walk(void **state)
{
    fixture *f = *state;
    make_dirs(f->dir, ".git");
    make_dirs(f->dir, "bin");
    write_file(f->dir, "m.py", "");
    char *saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    char empty_path[PATH_MAX];
    FORMAT(empty_path, "%s/bin", f->dir);
    setenv("PATH", empty_path, 1);
    ash_file_list list;
    int rc = ash__list_python_files(&list, f->dir, NULL, 0, collect_diag, f);
    setenv("PATH", saved, 1);
    free(saved);
    assert_int_equal(rc, 0);
    static const char *const expected[] = {"m.py"};
    assert_list(&list, expected, ASH_ARRAY_SIZE(expected));
    assert_int_equal(f->diag_count, 1);
    assert_string_equal(f->diags[0], ".: git ls-files failed (cannot run git: No such file or "
                                     "directory); walking the directory instead");
    ash__file_list_free(&list);
}

/* ---------------------------------------------------------------------------------------- */
/* Out of memory                                                                            */

typedef struct listing {
    fixture *f;
    const char *const *expected; /* what a successful listing gives */
    size_t n;
    ash_file_list list;
} listing;

static int list_attempt(void *payload)
{
    static const char *const exclude[] = {"skipped"};
    listing *c = payload;
    return ash__list_python_files(&c->list, c->f->dir, exclude, 1, collect_diag, c->f);
}

static int list_cleanup(void *payload, int rc)
{
    listing *c = payload;
    if (rc == 0) {
        assert_list(&c->list, c->expected, c->n);
        ash__file_list_free(&c->list);
    } else {
        assert_int_equal(c->list.count, 0);
        assert_null(c->list.paths);
    }
    return 0;
}

/* Fail the 1st, 2nd, ... allocation of a listing until one succeeds: every failure must give
 * ASH_ENOMEM and an empty list, and leak nothing. */
static void list_under_memory_pressure(fixture *f, const char *const *expected, size_t n)
{
    listing c = {.f = f, .expected = expected, .n = n};
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(list_attempt, list_cleanup, &c);
    alloc_hook_remove();
    assert_true(failures > 0);
}

typedef struct root_search {
    const char *dir;
    char *root;
    int rc; /* what ash__find_root returned */
} root_search;

/* The tree has no project marker: once allocations stop failing, the search must end in
 * ASH_ENOTFOUND, which is this attempt's success. */
static int root_attempt(void *payload)
{
    root_search *c = payload;
    c->rc = ash__find_root(&c->root, c->dir);
    return c->rc == ASH_ENOTFOUND ? 0 : c->rc;
}

static int root_cleanup(void *payload, int rc)
{
    root_search *c = payload;
    if (rc == 0) {
        assert_int_equal(c->rc, ASH_ENOTFOUND);
    } else {
        assert_null(c->root);
    }
    return 0;
}

static void test_out_of_memory_walk(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"a.py",         "pkg/b.py",       "pkg/sub/c.pyi",
                                        "skipped/d.py", "env/pyvenv.cfg", "env/e.py"};
    touch_all(f->dir, files, ASH_ARRAY_SIZE(files));
    make_link(f->dir, "pkg/up", "..");
    make_link(f->dir, "ext", "pkg/sub");
    make_link(f->dir, "gone.py", "nowhere.py");
    static const char *const expected[] = {"a.py", "pkg/b.py", "pkg/sub/c.pyi"};
    list_under_memory_pressure(f, expected, ASH_ARRAY_SIZE(expected));

    root_search c = {.dir = f->dir};
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(root_attempt, root_cleanup, &c);
    alloc_hook_remove();
    assert_true(failures >= 0);
}

static void test_out_of_memory_git(void **state)
{
    fixture *f = *state;
    if (!git_available()) {
        skip();
    }
    static const char *const files[] = {"a.py", "pkg/b.py", "skipped/c.py"};
    touch_all(f->dir, files, ASH_ARRAY_SIZE(files));
    assert_int_equal(run("cd '%s' && " GIT " init -q", f->dir), 0);
    static const char *const expected[] = {"a.py", "pkg/b.py"};
    list_under_memory_pressure(f, expected, ASH_ARRAY_SIZE(expected));
    assert_int_equal(f->diag_count, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* ash__glob_match                                                                          */

typedef struct glob_case {
    const char *pattern;
    const char *path;
    int expected;
} glob_case;

static const glob_case glob_cases[] = {
    /* No '/': any component at any depth, and everything below a match. */
    {"*.py", "a.py", 1},
    {"*.py", "pkg/sub/a.py", 1},
    {"*.py", "a.pyc", 0},
    {"*.py", "a.py/readme.txt", 1},
    {"build", "build", 1},
    {"build", "a/build/x.py", 1},
    {"build", "a/builder/x.py", 0},
    {"build", "rebuild/x.py", 0},
    {"*_pb2.py", "proto/x_pb2.py", 1},
    {"*.egg-info", "a.egg-info/b.py", 1},
    {"*", "a/b", 1},
    /* Trailing '/': directories only. */
    {"build/", "build", 0},
    {"build/", "build/x.py", 1},
    {"build/", "src/build/x.py", 1},
    {"build/", "build/", 1},
    {"a/b/", "a/b", 0},
    /* A '/' anchors the pattern at the root; leading "/" and "./" are dropped. */
    {"tests/fixtures", "tests/fixtures/a.py", 1},
    {"tests/fixtures", "tests/fixtures", 1},
    {"tests/fixtures", "src/tests/fixtures/a.py", 0},
    {"tests/fixtures", "tests/fixturesx/a.py", 0},
    {"a/b", "a/b/c/d", 1},
    {"/setup.py", "setup.py", 1},
    {"/setup.py", "pkg/setup.py", 0},
    {"./setup.py", "setup.py", 1},
    {"./setup.py", "pkg/setup.py", 0},
    {"./pkg/", "pkg/a.py", 1},
    {"setup.py", "./setup.py", 1},
    /* '*' stays in its component; '**' crosses them. */
    {"a/*/c.py", "a/b/c.py", 1},
    {"a/*/c.py", "a/b/x/c.py", 0},
    {"a/*", "a/b/c", 1},
    {"a/*", "a", 0},
    {"**/conftest.py", "conftest.py", 1},
    {"**/conftest.py", "a/b/conftest.py", 1},
    {"**/conftest.py", "a/b/conftest.pyi", 0},
    {"a/**/b", "a/b", 1},
    {"a/**/b", "a/x/b", 1},
    {"a/**/b", "a/x/y/z/b", 1},
    {"a/**/b", "a/x/y/z/c", 0},
    {"a/**/b", "x/a/b", 0},
    {"a/**/b/*.py", "a/q/b/m.py", 1},
    {"a/**/b/*.py", "a/q/b/m.txt", 0},
    {"tests/fixtures/**", "tests/fixtures/a/b.py", 1},
    {"tests/fixtures/**", "tests/fixtures", 0},
    {"tests/fixtures/**", "tests/fixtures/", 1},
    {"**", "anything/at/all.py", 1},
    {"**/**/x", "a/b/x", 1},
    {"x/**/**/y", "x/y", 1},
    {"a**b", "axxb", 1}, /* not a whole component: an ordinary star */
    {"a**b", "ax/b", 0},
    /* '?', classes and escapes. */
    {"a?c.py", "abc.py", 1},
    {"a?c.py", "a/c.py", 0},
    {"[abc].py", "b.py", 1},
    {"[abc].py", "d.py", 0},
    {"[a-c]x.py", "bx.py", 1},
    {"[!a-c]x.py", "bx.py", 0},
    {"[!a-c]x.py", "dx.py", 1},
    {"[^a]*.py", "b.py", 1},
    {"[]]x", "]x", 1},
    {"[a-]", "-", 1},
    {"[", "[", 1}, /* no closing ']': an ordinary character */
    {"\\*.py", "*.py", 1},
    {"\\*.py", "a.py", 0},
    {"foo\\?", "foo?", 1},
    {"foo\\?", "foox", 0},
    {"[\\]]", "]", 1},
    /* Raw bytes. */
    {"\xff*.py", "\xff\xfe.py", 1},
    {"[\x80-\xff]*", "\xc3\xa9t\xc3\xa9.py", 1},
    {"[\x80-\xff]*", "ete.py", 0},
    /* Degenerate input. */
    {"", "a.py", 0},
    {"/", "a.py", 0},
    {"a.py", "", 0},
    /* Patterns that make naive backtracking explode, on inputs that almost match. */
    {"*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
    {"*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", 1},
    {"**/a/**/a/**/a/**/a/**/a/**/b",
     "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/c", 0},
    {"**/a/**/a/**/a/**/a/**/a/**/b", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b", 1},
    {"*?*?*?*?*?*?*?*?*x", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 0},
};

static void test_glob_table(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < ASH_ARRAY_SIZE(glob_cases); i++) {
        const glob_case *c = &glob_cases[i];
        int got = ash__glob_match(c->pattern, c->path);
        if (got != c->expected) {
            print_error("glob_match(\"%s\", \"%s\") = %d, expected %d\n", c->pattern, c->path, got,
                        c->expected);
            failures++;
        }
    }
    assert_true(ASH_ARRAY_SIZE(glob_cases) >= 40);
    assert_int_equal(failures, 0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_glob_pathological_is_fast(void **state)
{
    /* 20 stars on 4,000 characters, and 20 '**' over 2,000 components: exponential matchers
     * take years; a polynomial one milliseconds. */
    static char pattern[128], text[4096], deep_pattern[256], deep_path[4096];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        pattern[n++] = '*';
        pattern[n++] = 'a';
    }
    strcpy(pattern + n, "*b");
    memset(text, 'a', sizeof(text) - 1);
    n = 0;
    for (int i = 0; i < 20; i++) {
        memcpy(deep_pattern + n, "**/a/", 5);
        n += 5;
    }
    strcpy(deep_pattern + n, "b");
    for (n = 0; n + 2 < sizeof(deep_path) - 2; n += 2) {
        memcpy(deep_path + n, "a/", 2);
    }
    strcpy(deep_path + n, "c");
    double start = now();
    assert_int_equal(ash__glob_match(pattern, text), 0);
    assert_int_equal(ash__glob_match(deep_pattern, deep_path), 0);
    deep_path[n] = 'b';
    assert_int_equal(ash__glob_match(deep_pattern, deep_path), 1);
    assert_true(now() - start < 5.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root_git_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_git_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_pyproject_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_git_wins_over_nested_pyproject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_cwd_and_symlinked_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_skip_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_virtualenv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_exclude, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_broken_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_unreadable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_root_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_directory_named_py, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_sorted_raw_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_unmerged_paths_listed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_failure_falls_back_to_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git_missing_falls_back_to_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory_git, setup, teardown),
        cmocka_unit_test(test_glob_table),
        cmocka_unit_test(test_glob_pathological_is_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
