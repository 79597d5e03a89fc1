/*
 * The change set of a test selection: the files that differ between a git revision and the
 * work tree (untracked files included), or between HEAD and the index. When git cannot
 * answer, the set is "everything": selection fails open.
 */
#ifndef ASH_CHANGES_H
#define ASH_CHANGES_H

#include "util.h"

typedef enum {
    ASH_CHANGES_WORKTREE = 0, /* work tree against `ref` (HEAD if NULL), untracked included */
    ASH_CHANGES_STAGED = 1,   /* the index against HEAD: what a commit would record */
} ash_changes_mode;

/*
 * Append to `out` the paths (relative to the git top level `root`, '/'-separated, sorted,
 * unique) changed in `mode`; deleted and renamed files appear under their old and new paths.
 * `added` (may be NULL) receives those of them that are new (added or untracked).
 * When git fails (not a repository, unknown revision, no git), `*all` is set, one warning goes
 * to `diag`, and 0 is returned. ASH_ENOMEM otherwise.
 */
int ash__changed_files(ash_strings *out, ash_strings *added, int *all, const char *root,
                       ash_changes_mode mode, const char *ref, ash_diag_fn diag, void *payload);

#endif
