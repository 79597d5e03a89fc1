/*
 * Change sets from git: modified, added, deleted, renamed (both paths), untracked (not
 * ignored) files against HEAD; the index alone with --staged; against another revision; and
 * "everything" with a warning when git cannot answer.
 */
#include "changes.h"
#define TMP_TREE_PREFIX "ash_changes_"
#include "tmp_tree.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char last_diag[512];
static int ndiags;

static void on_diag(const char *path, const char *message, void *payload)
{
    (void)path, (void)payload;
    snprintf(last_diag, sizeof(last_diag), "%s", message);
    ndiags++;
}

static void sh(const char *fmt, ...)
{
    char cmd[4096], body[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && export GIT_CONFIG_NOSYSTEM=1 HOME='%s' && "
             "git -c init.defaultBranch=main -c user.name=t -c user.email=t@t %s >/dev/null 2>&1",
             tmp_root, tmp_root, body);
    assert_int_equal(system(cmd), 0);
}

/* A repository with one commit of a.py, b.py, c.py, pkg/d.py and a .gitignore of *.log. */
static void committed_repo(void)
{
    sh("init -q");
    put("a.py", "a\n");
    put("b.py", "b\n");
    put("c.py", "c\n");
    put("pkg/d.py", "d\n");
    put(".gitignore", "*.log\n");
    sh("add -A && git -c user.name=t -c user.email=t@t commit -qm one");
}

static void expect(ash_changes_mode mode, const char *ref, const char *const *want, size_t n)
{
    ash_strings got = {0};
    int all = -1;
    assert_int_equal(ash__changed_files(&got, NULL, &all, tmp_root, mode, ref, on_diag, NULL), 0);
    assert_int_equal(all, 0);
    if (got.count != n) {
        for (size_t i = 0; i < got.count; i++) {
            print_error("got %s\n", got.items[i]);
        }
    }
    assert_int_equal(got.count, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got.items[i], want[i]);
    }
    ash__strings_free(&got);
}

static void test_worktree_against_head(void **state)
{
    (void)state;
    ndiags = 0;
    committed_repo();
    expect(ASH_CHANGES_WORKTREE, NULL, NULL, 0);
    put("a.py", "a2\n"); /* modified, unstaged */
    put("b.py", "b2\n"); /* modified, staged */
    sh("add b.py");
    sh("mv c.py pkg/c2.py"); /* renamed (git mv stages it): both paths */
    char d[512];
    snprintf(d, sizeof(d), "%s/pkg/d.py", tmp_root);
    assert_int_equal(unlink(d), 0); /* deleted in the work tree only */
    put("new.py", "n\n");           /* untracked */
    put("debug.log", "x\n");        /* ignored */
    static const char *const want[] = {"a.py", "b.py", "c.py", "new.py", "pkg/c2.py", "pkg/d.py"};
    expect(ASH_CHANGES_WORKTREE, NULL, want, 6);
    /* the index alone: what a commit would record */
    static const char *const staged[] = {"b.py", "c.py", "pkg/c2.py"};
    expect(ASH_CHANGES_STAGED, NULL, staged, 3);
    assert_int_equal(ndiags, 0);
    /* the new ones among them: added (a rename's new path) or untracked */
    ash_strings got = {0}, added = {0};
    int all = -1;
    assert_int_equal(
        ash__changed_files(&got, &added, &all, tmp_root, ASH_CHANGES_WORKTREE, NULL, on_diag, NULL),
        0);
    assert_int_equal(added.count, 2);
    assert_string_equal(added.items[0], "new.py");
    assert_string_equal(added.items[1], "pkg/c2.py");
    ash__strings_free(&got);
    ash__strings_free(&added);
}

static void test_since_a_revision(void **state)
{
    (void)state;
    committed_repo();
    sh("tag base");
    put("a.py", "a2\n");
    sh("commit -qam two");
    put("b.py", "b2\n");
    /* since base: the commit after it and the work tree */
    static const char *const want[] = {"a.py", "b.py"};
    expect(ASH_CHANGES_WORKTREE, "base", want, 2);
    static const char *const head[] = {"b.py"};
    expect(ASH_CHANGES_WORKTREE, NULL, head, 1);
}

static void test_fails_open(void **state)
{
    (void)state;
    ash_strings got = {0};
    int all = 0;
    /* not a repository */
    assert_int_equal(
        ash__changed_files(&got, NULL, &all, tmp_root, ASH_CHANGES_WORKTREE, NULL, on_diag, NULL),
        0);
    assert_int_equal(all, 1);
    assert_int_equal(got.count, 0);
    assert_non_null(strstr(last_diag, "every test is affected"));
    /* a repository without commits */
    sh("init -q");
    all = 0;
    assert_int_equal(
        ash__changed_files(&got, NULL, &all, tmp_root, ASH_CHANGES_STAGED, NULL, on_diag, NULL), 0);
    assert_int_equal(all, 1);
    assert_non_null(strstr(last_diag, "no commit yet"));
    /* an unknown revision */
    committed_repo();
    all = 0;
    assert_int_equal(ash__changed_files(&got, NULL, &all, tmp_root, ASH_CHANGES_WORKTREE,
                                        "no-such-ref", on_diag, NULL),
                     0);
    assert_int_equal(all, 1);
    assert_non_null(strstr(last_diag, "against no-such-ref"));
    ash__strings_free(&got);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmp_tree_setup, tmp_tree_teardown)
    const struct CMUnitTest tests[] = {
        T(test_worktree_against_head),
        T(test_since_a_revision),
        T(test_fails_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
