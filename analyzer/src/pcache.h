/*
 * The parse cache: every Python file's import records, keyed by the XXH3-128 of its content
 * and found first by path + size + mtime_ns + ctime_ns + inode, so that a warm run stats files
 * and reads none. One file, `<cache_dir>/parse-cache.bin`, loaded with one read and replaced
 * atomically; a corrupt or foreign file is a miss (with one warning), never a crash.
 */
#ifndef ASH_PCACHE_H
#define ASH_PCACHE_H

#include "hash.h"
#include "imports.h"
#include "util.h"

typedef struct ash_filestat {
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    uint64_t ino;
} ash_filestat;

/* Entry flag: the file changed within a second of the run that stored it, so its stat may not
 * reflect a later change (ccache's racy-file guard); its content must be hashed again. */
#define ASH_PCACHE_RACY 1u

typedef struct ash_pcache ash_pcache;

/* Load the cache of `cache_dir` (missing: empty). Thread-safe lookups afterwards. */
int ash__pcache_open(ash_pcache **out, const char *cache_dir, ash_diag_fn diag, void *payload);
void ash__pcache_free(ash_pcache *cache);
size_t ash__pcache_count(const ash_pcache *cache);

/* Entry index of `path`, or -1. */
long ash__pcache_find(const ash_pcache *cache, const char *path);
/* The entry index of each of `paths` (sorted by strcmp, unique) into out[0..count), -1 for
 * none: one merge of two sorted lists instead of a search per path. */
void ash__pcache_match(const ash_pcache *cache, char *const *paths, size_t count, long *out);
/* Entry index of a file with content `hash`, or -1 (for renamed and copied files). */
long ash__pcache_find_hash(ash_pcache *cache, const ash_hash *hash);
/* Does entry `i` describe a file with stat `st`, and may its stat be trusted? */
int ash__pcache_fresh(const ash_pcache *cache, long i, const ash_filestat *st);
const ash_hash *ash__pcache_hash(const ash_pcache *cache, long i);
/* The path of entry `i`, `*len` bytes, not NUL-terminated; borrowed. */
const char *ash__pcache_path(const ash_pcache *cache, long i, size_t *len);
/* The records of entry `i` (owned by the caller), and its warnings appended to `messages`
 * (may be NULL). ASH_ERROR if the entry is malformed. */
int ash__pcache_imports(const ash_pcache *cache, long i, ash_imports **out, ash_buf *messages);
/* The same, built into `arena` unless it is NULL (see imports.h). */
int ash__pcache_imports_with(const ash_pcache *cache, long i, ash_imports **out, ash_buf *messages,
                             ash_imports_arena *arena);

/*
 * The digest of entry `i`'s records and warnings: the XXH3-128 of their encoding in the file,
 * equal to what ash__pcache_digest_of gives for what ash__pcache_imports returns, so that equal
 * digests mean equal records whichever way a file's records were obtained.
 */
void ash__pcache_digest(const ash_pcache *cache, long i, ash_hash *out);
/* The digest of `imports` with warnings `messages` (may be NULL), encoded in `scratch` (a buffer
 * reused between calls). 0, ASH_EINVAL (too large for the cache's encoding) or ASH_ENOMEM. */
int ash__pcache_digest_of(ash_hash *out, const ash_imports *imports, const char *messages,
                          ash_buf *scratch);

/* One file of a new cache generation. */
typedef struct ash_pcache_item {
    const char *path;
    ash_filestat stat;
    ash_hash hash;
    uint32_t flags; /* ASH_PCACHE_RACY */
    const ash_imports *imports;
    const char *messages; /* its warnings, one per line (may be NULL) */
} ash_pcache_item;

/* Write a new cache of `items` (sorted by path) to `cache_dir`, atomically. */
int ash__pcache_write(const char *cache_dir, const ash_pcache_item *items, size_t count);

/* Create `dir` (and parents) with CACHEDIR.TAG and a .gitignore of `*`. */
int ash__cache_dir_prepare(const char *dir);

#endif
