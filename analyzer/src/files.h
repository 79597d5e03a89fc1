/*
 * File discovery: where a project's root is, which Python files it holds (from git's index when
 * there is one, else by walking the tree), and the gitignore-style globs that exclude some.
 */
#ifndef ASH_FILES_H
#define ASH_FILES_H

#include "proc.h"
#include "util.h"

#include <stddef.h>

/**
 * Find the project root for directory `start` (borrowed; NULL: the current directory). Walking
 * up from `start`, the first directory holding `.git` (a directory, or a file as in worktrees
 * and submodules) is the root; without one, the nearest directory holding `pyproject.toml`.
 * Never runs git. On success `*out` is the absolute, canonical (symlink-free) root, owned by the
 * caller (free with `ash__free`); on failure `*out` is NULL and the result is ASH_ENOTFOUND
 * ("<start>: not inside a git repository or a directory with pyproject.toml", or `start` does
 * not exist), ASH_EIO or ASH_ENOMEM. Thread-safe.
 */
int ash__find_root(char **out, const char *start);

/**
 * A list of paths relative to a project root: '/' separators, no leading "./", sorted in byte
 * order (strcmp) and unique. The list owns `paths` and every string in it.
 */
typedef struct ash_file_list {
    char **paths;
    size_t count;
    size_t cap;
} ash_file_list;

/**
 * List the `*.py` and `*.pyi` files of the project at `root` (borrowed, absolute or relative to
 * the working directory) into `*out`, which is overwritten (it need not be initialised) and
 * owned by the caller: release it with `ash__file_list_free`.
 *
 * When `root` holds `.git`, the list is what `git ls-files --cached --others --exclude-standard`
 * reports: tracked files, whether or not they still exist, plus untracked files that are not
 * ignored. If git is missing or fails, one warning goes to `diag` (path ".") and the tree is
 * walked instead. The walk follows symlinks but enters each directory once, and skips VCS and
 * tool directories (.git, node_modules, build, dist, __pycache__, .venv, *.egg-info, ...) and
 * any directory other than the root holding `pyvenv.cfg`; broken symlinks, symlink loops and
 * unreadable directories are reported to `diag` and skipped.
 *
 * In both modes a path matching one of the `exclude_count` globs of `exclude` (borrowed; see
 * `ash__glob_match`) is left out, as is everything under a directory one matches. File names
 * are kept as raw bytes. Warnings go to `diag(path, message, payload)` (may be NULL).
 *
 * Fails with ASH_EIO when `root` itself cannot be read, or ASH_ENOMEM; `*out` is then empty.
 * Thread-safe for distinct `out` lists (runs git as a child process).
 */
int ash__list_python_files(ash_file_list *out, const char *root, const char *const *exclude,
                           size_t exclude_count, ash_diag_fn diag, void *payload);

/** What `ash__list_files` lists. */
enum {
    ASH_LIST_PYTHON = 1 << 0,  /**< *.py and *.pyi */
    ASH_LIST_MARKERS = 1 << 1, /**< packaging markers: pyproject.toml and setup.cfg */
    ASH_LIST_ALL = 1 << 2,     /**< every file (data files of tests) */
};

/**
 * `ash__list_python_files` for the kinds of file in `what` (ASH_LIST_* bits), in one listing:
 * the same modes, skip rules, exclusions, warnings and ownership.
 */
int ash__list_files(ash_file_list *out, const char *root, unsigned what, const char *const *exclude,
                    size_t exclude_count, ash_diag_fn diag, void *payload);

/**
 * `ash__list_files`, calling `beside` (may be NULL; see proc.h) once: as soon as git runs, or
 * before the walk, so that work can go on beside the listing (not at all when the listing
 * fails before either, out of memory).
 */
int ash__list_files_beside(ash_file_list *out, const char *root, unsigned what,
                           const char *const *exclude, size_t exclude_count, ash_diag_fn diag,
                           void *payload, const ash_beside *beside);

/** Is name[0..len) (a file name or a path) a Python source or stub, `.py` or `.pyi`? */
int ash__is_python_file(const char *name, size_t len);

/** Free the paths of `list` and reset it to empty. NULL or an empty list does nothing. */
void ash__file_list_free(ash_file_list *list);

/**
 * Whether the gitignore-style `pattern` (borrowed) matches the relative, '/'-separated `path`
 * (borrowed) or one of its leading directories. Returns 1 or 0.
 *
 * `*` matches within one component, `?` one character other than '/', `[abc]`, `[a-z]` and
 * `[!a]` (or `[^a]`) one character of a class, `\` escapes the next character. A component that
 * is exactly `**` matches zero or more components: "a/", `**`, "/b" matches "a/b" and "a/x/y/b";
 * a trailing `**` component matches everything below its directory but not the directory
 * itself. Elsewhere `**` is `*`. A pattern without '/' (a trailing one aside)
 * matches a component at any depth ("build" matches "a/build/x.py"); one with a '/', or with a
 * leading "/" or "./" (which are dropped), is anchored at the root. A trailing '/' makes the
 * pattern match directories only: "x/" matches "x/a.py", not a file "x". A `path` ending in '/'
 * names a directory ("x/" is matched by "x/"). Runs in time polynomial in the lengths, whatever
 * the pattern. Thread-safe.
 */
int ash__glob_match(const char *pattern, const char *path);

#endif
