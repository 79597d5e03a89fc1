/*
 * Results and state shared through a remote cache, in scopes. The layout is Bazel's HTTP
 * remote-cache protocol, which nginx's WebDAV module and bazel-remote serve unchanged:
 *
 *   <URL>/cas/<sha256 hex>              blobs (JUnit, output, coverage, state files), named by
 *                                       the SHA-256 of their bytes, verified on every read
 *   <URL>/<segment>/ac/<64 hex>         action entries of scope S: a module's result under
 *                                       SHA-256("aftershock result 1" 0 S 0 key), or the
 *                                       scope's state snapshot under
 *                                       SHA-256("aftershock state 1" 0 S 0), or a
 *                                       module's last duration (see share.c)
 *
 * <segment> is S with every byte other than a letter, digit, '.', '_' or '-' (and a leading
 * '.') replaced by '_': a readable directory per scope, for per-scope access rules on the
 * server. The scope is also inside the key, so scopes stay apart on a server that ignores the
 * prefix (bazel-remote) and whatever two scopes share a segment.
 *
 * A run reads its own scope first, then the scopes it may read, and writes only its own: a
 * pull request's scope cannot put a result where the main branch reads it.
 */
#ifndef ASH_SHARE_H
#define ASH_SHARE_H

#include "remote.h"
#include "result.h"

#include "aftershock/selector.h"

/* Longest scope name, in bytes. */
#define ASH_SHARE_SCOPE_MAX 200

/* What the caller sets up: the client and the scopes, [0] the run's own. All borrowed. */
typedef struct ash_share {
    ash_remote *remote;
    char *const *scopes;
    size_t scope_count;
    ash_diag_fn diag; /* warnings about corrupt remote objects */
    void *payload;
} ash_share;

/* Why `scope` cannot be a scope name (NULL when it can): empty, longer than
 * ASH_SHARE_SCOPE_MAX, or holding a control byte. */
const char *ash__share_scope_problem(const char *scope);

/*
 * Look up the passing results of modules[0..n) (their paths) stored under keys[0..n), in each
 * scope in turn. For a hit, out[i] holds the result with its blobs (owned: ash__result_free)
 * and scope_of[i] the index of the scope it came from; for a miss out[i] is zeroed and
 * scope_of[i] is -1. An entry that does not decode, is another module's or not a pass, or
 * whose blob is missing or does not match its SHA-256 is a miss, with one warning naming the
 * object. 0 or ASH_ENOMEM.
 */
int ash__share_fetch(const ash_share *s, const ash_key *keys, char *const *modules, size_t n,
                     ash_result *out, int *scope_of);

/*
 * Store results[0..n) (passes, borrowed) under keys[0..n) in the own scope: every blob
 * first, then the entries whose blobs were all stored, so that no entry points at a missing
 * blob. `*written` gets the number of entries stored. 0 or ASH_ENOMEM.
 */
int ash__share_store(const ash_share *s, const ash_key *keys, const ash_result *const *results,
                     size_t n, size_t *written);

/* Delete the own scope's entries under keys[0..n) (modules that failed with those inputs),
 * where the server deletes. 0 or ASH_ENOMEM. */
int ash__share_forget(const ash_share *s, const ash_key *keys, size_t n);

/* Store the durations seconds[0..n) of modules[0..n) (paths) in the own scope: what a plan
 * balances shards by, once the modules' inputs changed. 0 or ASH_ENOMEM. */
int ash__share_store_durations(const ash_share *s, char *const *modules, const double *seconds,
                               size_t n);

/* The last stored duration of each of modules[0..n) into out[0..n), from the first scope
 * that has one; -1 where none has. 0 or ASH_ENOMEM. */
int ash__share_fetch_durations(const ash_share *s, char *const *modules, size_t n, double *out);

/* A file of a state snapshot: its name in the snapshot and its local path. */
typedef struct ash_share_file {
    const char *name;
    const char *path;
} ash_share_file;

/*
 * Restore the snapshot of the first scope that has a usable one: each of files[0..n) that is
 * in it and does not exist locally is written (atomically, parents created). `*from` gets the
 * scope's index, or -1 when none was restored. 0 or ASH_ENOMEM.
 */
int ash__share_pull_state(const ash_share *s, const ash_share_file *files, size_t n, int *from);

/* Upload files[0..n) that exist as the own scope's snapshot, replacing the last one. 0, or
 * ASH_ENOMEM; a file that cannot be read is left out with a warning. */
int ash__share_push_state(const ash_share *s, const ash_share_file *files, size_t n);

#endif
