/*
 * Temporary directory trees for the unit tests: make one, write files into it (parent
 * directories created), remove it with everything below. Header-only, static state: every test
 * file is its own executable.
 */
#ifndef ASH_TEST_TMP_TREE_H
#define ASH_TEST_TMP_TREE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_root[256];

/* Create a fresh directory /tmp/<prefix>XXXXXX into tmp_root; 0 or -1. */
static inline int tmp_tree_make(const char *prefix)
{
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/%sXXXXXX", prefix);
    return mkdtemp(tmp_root) ? 0 : -1;
}

/* Write `text` to tmp_root/rel, creating its directories; 0 or -1. */
static inline int tmp_tree_put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
    for (char *p = path + strlen(tmp_root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    fputs(text, f);
    return fclose(f);
}

static inline int tmp_tree__remove(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove tmp_root and everything below it. */
static inline void tmp_tree_remove(void)
{
    nftw(tmp_root, tmp_tree__remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* cmocka fixtures and a checked `put`, for test files that define TMP_TREE_PREFIX (the
 * temporary directory's name) before including this. */
#ifdef TMP_TREE_PREFIX
// clang-format off: cmocka needs these before it
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

static int tmp_tree_setup(void **state)
{
    (void)state;
    return tmp_tree_make(TMP_TREE_PREFIX);
}

static int tmp_tree_teardown(void **state)
{
    (void)state;
    tmp_tree_remove();
    return 0;
}

static void put(const char *rel, const char *text)
{
    assert_int_equal(tmp_tree_put(rel, text), 0);
}
#endif

#endif
