/*
 * The local result cache of `aftershock run`: a module's result stored under the key of its
 * inputs, so that a module whose inputs did not change is not run again. Laid out like Bazel's
 * disk and remote caches, so that an HTTP store can later serve the same objects:
 *
 *   DIR/CACHEDIR.TAG               marks DIR as a cache for backup tools
 *   DIR/ac/<2 hex>/<32 hex key>    action entries: a result's counts and its blobs' digests
 *   DIR/cas/<2 hex>/<32 hex>       content blobs (junit, output, coverage), named by the
 *                                  XXH3-128 of their bytes
 *
 * Every file is written to a temporary file beside it and renamed into place, so several
 * processes may put, get and prune one DIR at once: a reader sees a whole entry or none, and
 * whatever goes wrong (corruption, a blob pruned under a reader) is a miss, never a wrong hit.
 * One ash_rcache must not be used from two threads at once.
 */
#ifndef ASH_RCACHE_H
#define ASH_RCACHE_H

#include "hash.h"
#include "result.h"
#include "util.h"

#include "aftershock/selector.h"

/* Blobs larger than this are neither stored nor read (as corrupt). */
#define ASH_RCACHE_BLOB_MAX ((uint64_t)256 << 20)
/* Unreferenced blobs and temporary files younger than this survive a prune: they may belong to
 * a put in progress in another process. */
#define ASH_RCACHE_GRACE_SECONDS 600
/* The cap of a result cache when the configuration sets none: 1 GiB. */
#define ASH_RCACHE_DEFAULT_BYTES ((uint64_t)1 << 30)

typedef struct ash_rcache ash_rcache;

/* The blobs of an entry, in this order. */
enum { ASH_RCACHE_JUNIT, ASH_RCACHE_OUTPUT, ASH_RCACHE_COVERAGE, ASH_RCACHE_BLOBS };

/* A decoded action entry (the grammar is in rcache.c); `module` points into the bytes it was
 * decoded from. A blob of size 0 is empty. */
typedef struct ash_rcache_entry {
    ash_key key;
    const char *module;
    uint32_t module_len;
    uint32_t outcome, counts[ASH_COUNT_KINDS], collected;
    double duration;
    int64_t created;
    uint64_t size[ASH_RCACHE_BLOBS];
    ash_hash digest[ASH_RCACHE_BLOBS]; /* XXH3-128 of each blob's bytes */
} ash_rcache_entry;

/* Decode and check the entry data[0..len) that must have been stored under `key`: NULL, or
 * why it is unusable. The same checks as a get, for entries read from elsewhere (a remote
 * store). */
const char *ash__rcache_entry_decode(ash_rcache_entry *out, const char *data, size_t len,
                                     const ash_key *key);

/* Append the entry of `r` under `key` to `out`, `digest` being the XXH3-128 of each of r's
 * blobs (all zero for an empty one). 0 or ASH_ENOMEM. */
int ash__rcache_entry_encode(ash_buf *out, const ash_key *key, const ash_result *r,
                             const ash_hash *digest);

typedef struct ash_rcache_stats {
    uint64_t entries;   /* ac entries */
    uint64_t blobs;     /* cas blobs */
    uint64_t bytes;     /* their sizes together */
    uint64_t max_bytes; /* the limit of the last prune through this handle; 0 if none */
    uint64_t removed;   /* files the call removed (prune, clear); 0 for stats */
} ash_rcache_stats;

/*
 * Open the cache in `dir` (borrowed), creating it and its parents when missing (mode 0700 when
 * `private_dir`, else 0777 less the umask), its subdirectories and CACHEDIR.TAG. A directory
 * that exists but cannot be written opens read-only: gets work, puts fail. Warnings (corrupt
 * entries) go to `diag` with `payload`. 0, ASH_ENOMEM, ASH_EINVAL (path too long) or ASH_EIO
 * naming the directory that cannot be created.
 */
int ash__rcache_open(ash_rcache **out, const char *dir, int private_dir, ash_diag_fn diag,
                     void *payload);

/*
 * Look up the result stored under `key`. On a hit, `*hit` is 1, `out` holds the result
 * (owned: ash__result_free) and the entry's mtime becomes now (least-recently-used order). On
 * a miss `*hit` is 0 and `out` is zeroed. A corrupt, truncated or mismatched entry, or one
 * whose blob is missing or does not hash to its digest, is a miss with one warning naming the
 * entry file and the reason; the entry (and a corrupt blob) is removed. 0 or ASH_ENOMEM.
 */
int ash__rcache_get(ash_rcache *c, const ash_key *key, ash_result *out, int *hit);

/*
 * Store `r` (borrowed) under `key`: its blobs first (one already stored is kept), then the
 * entry, atomically. 0, ASH_ENOMEM, ASH_EINVAL (a blob over ASH_RCACHE_BLOB_MAX, a bad module
 * path) or ASH_EIO (read-only cache, disk full), with a message; no partial entry is left.
 */
int ash__rcache_put(ash_rcache *c, const ash_key *key, const ash_result *r);

/* Count entries, blobs and bytes into `out`. 0 (a missing directory counts as empty). */
/* The cached result under `key` if it is a pass of module `path` (what a run replays): `*out`
 * filled and *passed set, else `*out` empty and *passed 0. 0 or ASH_ENOMEM. */
int ash__rcache_get_pass(ash_rcache *c, const ash_key *key, const char *path, ash_result *out,
                         int *passed);

/* Record the outcome of a module run with inputs `key`: a pass is stored when `cacheable`; a
 * failure forgets any pass stored under the same inputs (a flaky module), so that none is
 * replayed. 0 or an error (the caller warns and goes on). */
int ash__rcache_record(ash_rcache *c, const ash_key *key, const ash_result *r, int cacheable);

/* Forget the entry under `key` (a module failed with those inputs: a pass cached under them
 * must not be replayed). Its blobs go with the next prune. 0 when there was none. */
int ash__rcache_remove(ash_rcache *c, const ash_key *key);

int ash__rcache_stats(ash_rcache *c, ash_rcache_stats *out);

/*
 * Shrink the cache to `max_bytes`: remove entries least recently used first until entries and
 * blobs fit, then the blobs no entry references and the temporary files, both only when older
 * than ASH_RCACHE_GRACE_SECONDS. Corrupt entries found on the way are removed. `out` (may be
 * NULL) gets the stats afterwards and the number of files removed. 0, ASH_ENOMEM, or ASH_EIO
 * for a read-only cache.
 */
int ash__rcache_prune(ash_rcache *c, uint64_t max_bytes, ash_rcache_stats *out);

/* Remove every entry and blob (and temporary files older than the grace period); DIR and
 * CACHEDIR.TAG stay. 0 or ASH_EIO (read-only cache, a file that cannot be removed). */
int ash__rcache_clear(ash_rcache *c);

void ash__rcache_close(ash_rcache *c);

/* The cache directory, as given to ash__rcache_open; borrowed. */
const char *ash__rcache_dir(const ash_rcache *c);

/* Can entries be put (and removed)? Not when the directory existed read-only at open. */
int ash__rcache_writable(const ash_rcache *c);

#endif
