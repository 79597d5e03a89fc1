/*
 * Change sets from git (see changes.h). Renames are asked for as deletions plus additions
 * (--no-renames), so both paths count; NUL-separated output (-z), so any file name works. A
 * repository without commits has no HEAD: everything in it is new, so everything is changed.
 */
#include "changes.h"

#include "proc.h"

#include <stdlib.h>
#include <string.h>

/* Run git in root with `args`; its NUL-separated paths appended to out. 0, 1 when git
 * failed (reason in `why`), or ASH_ENOMEM. */
static int git_paths(ash_strings *out, const char *root, const char *const *args, char *why,
                     size_t why_size)
{
    char *argv[16] = {"git", "-C", (char *)root};
    int n = 3;
    for (int i = 0; args[i] && n < 15; i++) {
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    char *text = NULL, err[256];
    size_t len;
    int status;
    int rc = ash__run_capture(&text, &len, &status, argv, NULL, err, sizeof(err), 0);
    if (rc == ASH_ENOMEM) {
        return rc;
    }
    if (rc < 0 || status != 0) {
        snprintf(why, why_size, "%s", rc < 0 ? ash_error_last() : err[0] ? err : "git failed");
        ash__free(text);
        return 1;
    }
    for (const char *p = text, *end = text + len; p < end && rc == 0;) {
        size_t k = strnlen(p, (size_t)(end - p));
        if (k) {
            rc = ash__strings_add(out, p, k);
        }
        p += k + 1;
    }
    ash__free(text);
    return rc;
}

int ash__changed_files(ash_strings *out, ash_strings *added, int *all, const char *root,
                       ash_changes_mode mode, const char *ref, ash_diag_fn diag, void *payload)
{
    *all = 0;
    char why[300] = "";
    const char *against = ref ? ref : "HEAD";
    const char *verify[] = {"rev-parse", "--verify", "--quiet", "HEAD^{commit}", NULL};
    ash_strings ignored = {0};
    int rc = git_paths(&ignored, root, verify, why, sizeof(why));
    ash__strings_free(&ignored);
    if (rc == 1 && !ref) {
        /* no commit yet: nothing to compare with, every file is new */
        *all = 1;
        ash__diag(diag, payload, NULL, "the repository has no commit yet; every test is affected");
        return 0;
    }
    if (rc == 1) {
        rc = 0; /* an explicit revision is git diff's to judge */
    }
    if (rc == 0) {
        const char *staged[] = {"diff", "--cached", "--name-only", "-z", "--no-renames", NULL};
        const char *worktree[] = {"diff", "--name-only", "-z", "--no-renames", against, "--", NULL};
        const char *untracked[] = {"ls-files", "-z", "--others", "--exclude-standard", NULL};
        rc = git_paths(out, root, mode == ASH_CHANGES_STAGED ? staged : worktree, why, sizeof(why));
        if (rc == 0 && mode == ASH_CHANGES_WORKTREE) {
            rc = git_paths(out, root, untracked, why, sizeof(why));
            if (rc == 0 && added) {
                rc = git_paths(added, root, untracked, why, sizeof(why));
            }
        }
        if (rc == 0 && added) {
            const char *staged_new[] = {"diff",         "--cached",        "--name-only", "-z",
                                        "--no-renames", "--diff-filter=A", NULL};
            const char *worktree_new[] = {
                "diff",  "--name-only", "-z", "--no-renames", "--diff-filter=A",
                against, "--",          NULL};
            rc = git_paths(added, root, mode == ASH_CHANGES_STAGED ? staged_new : worktree_new, why,
                           sizeof(why));
        }
    }
    if (rc == 1) {
        *all = 1;
        ash__diag(diag, payload, NULL,
                  "git cannot say what changed against %s (%s); every test is affected",
                  mode == ASH_CHANGES_STAGED ? "the index" : against, why);
        return 0;
    }
    if (rc == 0) {
        ash__sort_unique_strings(out->items, &out->count);
        if (added) {
            ash__sort_unique_strings(added->items, &added->count);
        }
    }
    return rc;
}
