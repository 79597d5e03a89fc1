/*
 * The result cache (see rcache.h). An action entry, DIR/ac/<2 hex>/<32 hex key>, little-endian:
 *
 *   entry     = "ASHC" version:u32 key:16 module_len:u32 module outcome:u32 counts:u32{6}
 *               collected:u32 duration:f64 created:i64 blob{3} checksum:u64
 *   counts    = passed failed skipped errors xfailed xpassed
 *   blob      = size:u64 digest:16        ; junit, output, coverage, in this order
 *   checksum  = XXH3-64 of every byte before it
 *
 * version is 1. key is the key the entry was stored under: it must match the file's name (an
 * entry copied or renamed by hand is refused). module is a module path as result.h defines it
 * (module_len <= ASH_RESULT_PATH_MAX), outcome an ash_outcome, duration a finite non-negative
 * IEEE-754 double (seconds), created the unix time of the put. A blob of size 0 is empty: its
 * digest is all zero and nothing is stored for it. Any other blob is the file
 * DIR/cas/<2 hex>/<32 hex digest> holding exactly its `size` bytes (at most
 * ASH_RCACHE_BLOB_MAX), digest being their XXH3-128 (ash__hash_bytes); a reader hashes them
 * again before trusting them.
 *
 * A put writes the blobs, then the entry, each to a temporary file beside its target that is
 * renamed into place. A prune removes entries first and only then the blobs no entry
 * references that are older than the grace period, so the blobs of a put in progress (written,
 * their entry not yet) survive it.
 */
#include "rcache.h"

#include "hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "ASHC"
#define VERSION 1
#define NBLOBS ASH_RCACHE_BLOBS
/* Everything but the module path: magic .. key, module_len, outcome .. created, blobs, sum. */
#define ENTRY_FIXED (4 + 4 + 16 + 4 + 4 + 4 * ASH_COUNT_KINDS + 4 + 8 + 8 + NBLOBS * 24 + 8)
#define ENTRY_MAX (ENTRY_FIXED + ASH_RESULT_PATH_MAX)
#define PATH_SIZE 4096
/* Room below PATH_SIZE for "/cas/ab/<32 hex>" and ash__write_atomic's ".<name>.<pid>.tmp". */
#define DIR_MAX (PATH_SIZE - 128)

static const char tag_text[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
                               "# This file is a cache directory tag created by aftershock.\n";
static const char *const blob_names[NBLOBS] = {"junit", "output", "coverage"};

struct ash_rcache {
    char *dir;
    mode_t mode; /* of the directories it creates */
    int writable;
    int unwritable_errno; /* why not, when !writable */
    uint64_t max_bytes;
    ash_diag_fn diag;
    void *payload;
};

typedef ash_rcache_entry entry;

/* ---- little-endian fields ---- */

static void take_bytes(ash_le_reader *r, void *out, size_t n)
{
    const uint8_t *p = ash__le_take(r, n);
    if (p) {
        memcpy(out, p, n);
    } else {
        memset(out, 0, n);
    }
}

/* ---- entries ---- */

static int is_zero(const ash_hash *h)
{
    static const ash_hash zero;
    return ash__hash_equal(h, &zero);
}

/* Decode and check data[0..len), read from the file of `key`: NULL, or why it is unusable. */
const char *ash__rcache_entry_decode(entry *e, const char *data, size_t len, const ash_key *key)
{
    if (len < 4 || memcmp(data, MAGIC, 4) != 0) {
        return "not a cache entry";
    }
    if (len < ENTRY_FIXED) {
        return "truncated";
    }
    ash_le_reader sum = {(const uint8_t *)data + len - 8, (const uint8_t *)data + len, 0};
    ash_le_reader mlen = {(const uint8_t *)data + 24, (const uint8_t *)data + 28, 0};
    if (ash__hash64(data, len - 8) != ash__le_u(&sum, 8)) {
        uint64_t want = ENTRY_FIXED + ash__le_u(&mlen, 4);
        return want <= ENTRY_MAX && len < want ? "truncated" : "checksum mismatch";
    }
    ash_le_reader r = {(const uint8_t *)data + 4, (const uint8_t *)data + len, 0};
    if (ash__le_u(&r, 4) != VERSION) {
        return "unknown format version";
    }
    take_bytes(&r, e->key.bytes, 16);
    e->module_len = (uint32_t)ash__le_u(&r, 4);
    e->module = (const char *)ash__le_take(&r, e->module_len);
    e->outcome = (uint32_t)ash__le_u(&r, 4);
    for (int k = 0; k < ASH_COUNT_KINDS; k++) {
        e->counts[k] = (uint32_t)ash__le_u(&r, 4);
    }
    e->collected = (uint32_t)ash__le_u(&r, 4);
    e->duration = ash__le_f64(&r);
    e->created = (int64_t)ash__le_u(&r, 8);
    for (int i = 0; i < NBLOBS; i++) {
        e->size[i] = ash__le_u(&r, 8);
        take_bytes(&r, e->digest[i].bytes, 16);
    }
    if (ash__le_take(&r, 8) == NULL || r.p != r.end) {
        return "wrong length";
    }
    if (memcmp(e->key.bytes, key->bytes, 16) != 0) {
        return "stored under another key than its file name";
    }
    if (ash__result_path_problem(e->module, e->module_len)) {
        return "bad module path";
    }
    if (e->outcome > ASH_OUTCOME_CRASHED || !isfinite(e->duration) || e->duration < 0) {
        return "bad outcome or duration";
    }
    for (int i = 0; i < NBLOBS; i++) {
        if (e->size[i] > ASH_RCACHE_BLOB_MAX || (e->size[i] == 0 && !is_zero(&e->digest[i]))) {
            return "bad blob size";
        }
    }
    return NULL;
}

int ash__rcache_entry_encode(ash_buf *b, const ash_key *key, const ash_result *r,
                             const ash_hash *digest)
{
    size_t mlen = strlen(r->module);
    /* one allocation: every put below fits */
    if (ash__buf_reserve(b, ENTRY_FIXED + mlen) < 0) {
        return ASH_ENOMEM;
    }
    double d = isfinite(r->duration) && r->duration > 0 ? r->duration : 0;
    int failed = ash__buf_put(b, MAGIC, 4) < 0 || ash__le_put(b, VERSION, 4) < 0 ||
                 ash__buf_put(b, key->bytes, 16) < 0 || ash__le_put(b, mlen, 4) < 0 ||
                 ash__buf_put(b, r->module, mlen) < 0 || ash__le_put(b, r->outcome, 4) < 0;
    for (int k = 0; k < ASH_COUNT_KINDS; k++) {
        failed |= ash__le_put(b, r->counts[k], 4) < 0;
    }
    failed |= ash__le_put(b, r->collected, 4) < 0 || ash__le_put_f64(b, d) < 0 ||
              ash__le_put(b, (uint64_t)(int64_t)time(NULL), 8) < 0;
    const ash_buf *blobs[NBLOBS] = {&r->junit, &r->output, &r->coverage};
    for (int i = 0; i < NBLOBS; i++) {
        failed |= ash__le_put(b, blobs[i]->len, 8) < 0 || ash__buf_put(b, digest[i].bytes, 16) < 0;
    }
    failed |= ash__le_put(b, ash__hash64(b->ptr, b->len), 8) < 0;
    return failed ? ASH_ENOMEM : 0;
}

/* ---- paths ---- */

/* "DIR/<kind>/<2 hex>/<32 hex id>" into out[PATH_SIZE]; the length of its directory part. */
static size_t object_path(const ash_rcache *c, const char *kind, const uint8_t *id, char *out)
{
    char hex[33];
    ash__hash_hex((const ash_hash *)(const void *)id, hex);
    int n = snprintf(out, PATH_SIZE, "%s/%s/%.2s/%s", c->dir, kind, hex, hex);
    return (size_t)n - 33;
}

/* Create the directory path[0..dirlen) (a fan-out directory, and its parent if it went away),
 * refusing anything but a real directory there: a planted link would redirect the writes. */
static int make_fanout(const ash_rcache *c, char *path, size_t dirlen)
{
    path[dirlen] = '\0';
    int ok = mkdir(path, c->mode) == 0 || errno == EEXIST;
    if (!ok && errno == ENOENT) {
        path[dirlen - 3] = '\0';
        mkdir(path, c->mode);
        path[dirlen - 3] = '/';
        ok = mkdir(path, c->mode) == 0 || errno == EEXIST;
    }
    int e = errno;
    struct stat st;
    if (ok && (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
        ok = 0;
        e = ENOTDIR;
    }
    int rc = ok ? 0 : ash__error(ASH_EIO, "%s: %s", path, strerror(e));
    path[dirlen] = '/';
    return rc;
}

/* ---- open ---- */

/* The subdirectories and the tag of a writable DIR; 0 or ASH_EIO. */
static int prepare(ash_rcache *c)
{
    static const char *const subdirs[] = {"ac", "cas"};
    char path[PATH_SIZE];
    for (size_t i = 0; i < ASH_ARRAY_SIZE(subdirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", c->dir, subdirs[i]);
        if (mkdir(path, c->mode) < 0 && errno != EEXIST) {
            return ash__error(ASH_EIO, "%s: cache directory not writable: %s", c->dir,
                              strerror(errno));
        }
        /* a link planted here would send every write below it elsewhere */
        struct stat sub;
        if (lstat(path, &sub) < 0 || !S_ISDIR(sub.st_mode)) {
            return ash__error(ASH_EIO, "%s: not a directory (a symbolic link?); cache not used",
                              path);
        }
    }
    snprintf(path, sizeof(path), "%s/CACHEDIR.TAG", c->dir);
    struct stat st;
    if (lstat(path, &st) < 0 && ash__write_atomic(path, tag_text, sizeof(tag_text) - 1) < 0) {
        return ash__error(ASH_EIO, "%s: cache directory not writable: %s", c->dir,
                          ash_error_last());
    }
    return 0;
}

int ash__rcache_open(ash_rcache **out, const char *dir, int private_dir, ash_diag_fn diag,
                     void *payload)
{
    *out = NULL;
    size_t n = strlen(dir);
    if (n == 0 || n > DIR_MAX) {
        return ash__error(ASH_EINVAL, "%s: cache directory path empty or too long", dir);
    }
    ash_rcache *c = ash__calloc(1, sizeof(*c));
    if (!c || !(c->dir = ash__strdup(dir))) {
        ash__free(c);
        return ash__error_oom();
    }
    c->mode = private_dir ? 0700 : 0777;
    c->diag = diag;
    c->payload = payload;
    char path[PATH_SIZE];
    memcpy(path, dir, n + 1);
    struct stat st;
    int existed = stat(dir, &st) == 0;
    int rc = 0;
    if (!existed && ash__make_dirs(path, c->mode) < 0) {
        rc = ash__error(ASH_EIO, "%s: cannot create the cache directory: %s", dir, strerror(errno));
    } else if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = ash__error(ASH_EIO, "%s: cache directory is not a directory", dir);
    } else if (!existed || access(dir, W_OK) == 0) {
        rc = prepare(c);
        c->writable = rc == 0;
    } else { /* an existing read-only cache: gets only */
        c->unwritable_errno = errno;
    }
    if (rc < 0) {
        ash__rcache_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ash__rcache_close(ash_rcache *c)
{
    if (!c) {
        return;
    }
    ash__free(c->dir);
    ash__free(c);
}

const char *ash__rcache_dir(const ash_rcache *c)
{
    return c->dir;
}

int ash__rcache_writable(const ash_rcache *c)
{
    return c->writable;
}

/* ---- get ---- */

/*
 * Read the entry at `path`, the file of `key`, into `e` (pointing into `*data`, which the
 * caller frees). 1 when usable; 0 when not, with `*why` saying why (NULL: there is no entry);
 * or ASH_ENOMEM. `st` gets the file's identity (st_mode 0 if it could not be opened).
 */
static int read_entry(const char *path, const ash_key *key, entry *e, char **data, struct stat *st,
                      const char **why)
{
    *data = NULL;
    *why = NULL;
    memset(st, 0, sizeof(*st));
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *why = errno == ENOENT ? NULL : errno == ELOOP ? "a symbolic link" : strerror(errno);
        return 0;
    }
    size_t len = 0;
    int rc = 0;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        *why = "not a regular file";
    } else if ((uint64_t)st->st_size > ENTRY_MAX) {
        *why = "too large";
    } else if ((rc = ash__read_fd(data, &len, fd, path, ENTRY_MAX)) < 0) {
        *why = "unreadable";
    } else {
        *why = ash__rcache_entry_decode(e, *data, len, key);
    }
    close(fd);
    return rc == ASH_ENOMEM ? rc : *why == NULL;
}

/*
 * Warn that the entry at `path` is unusable and remove it (when `remove`), unless another
 * process replaced or removed it since it was read (`st`; st_mode 0: it could not be opened).
 * What could not be opened is removed only when it is a link planted there: other reasons
 * (permissions, too many open files) may pass. Whether it was removed.
 */
static int drop(const ash_rcache *c, const char *path, const struct stat *st, const char *why,
                int remove)
{
    struct stat now;
    if (lstat(path, &now) < 0 ||
        (st->st_mode && (now.st_ino != st->st_ino || now.st_dev != st->st_dev))) {
        return 0;
    }
    remove = remove && (st->st_mode || S_ISLNK(now.st_mode));
    int removed = remove && c->writable && unlink(path) == 0;
    ash__diag(c->diag, c->payload, path, "%s; cache entry %s", why,
              removed ? "removed" : "ignored");
    return removed;
}

/* Read blob `i` of `e` into `out`. 1 when its bytes match its digest; 0 when not, with the
 * reason in why[0..size) (a corrupt blob is removed, or every later put would keep it) and
 * `*remove` cleared if the entry may be fine (the blob could not be opened for a reason that
 * may pass); or ASH_ENOMEM. */
static int load_blob(const ash_rcache *c, const entry *e, int i, ash_buf *out, char *why,
                     size_t size, int *remove)
{
    char path[PATH_SIZE], hex[33];
    object_path(c, "cas", e->digest[i].bytes, path);
    ash__hash_hex(&e->digest[i], hex);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *remove = errno == ENOENT || errno == ELOOP;
        snprintf(why, size, "%s blob %s %s", blob_names[i], hex,
                 errno == ENOENT ? "missing" : strerror(errno));
        return 0;
    }
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    int rc = 0, corrupt = 1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size[i] &&
        (rc = ash__read_fd(&data, &len, fd, path, (size_t)e->size[i])) == 0) {
        ash_hash h = ash__hash_bytes(data, len);
        corrupt = len != e->size[i] || !ash__hash_equal(&h, &e->digest[i]);
    }
    close(fd);
    if (rc == ASH_ENOMEM) {
        return rc;
    }
    if (corrupt) {
        snprintf(why, size, "%s blob %s does not match its digest", blob_names[i], hex);
        if (c->writable) {
            unlink(path);
        }
        ash__free(data);
        return 0;
    }
    *out = (ash_buf){data, len, len + 1};
    return 1;
}

int ash__rcache_get(ash_rcache *c, const ash_key *key, ash_result *out, int *hit)
{
    memset(out, 0, sizeof(*out));
    *hit = 0;
    char path[PATH_SIZE], reason[160];
    object_path(c, "ac", key->bytes, path);
    entry e;
    char *data;
    struct stat st;
    const char *why;
    int rc = read_entry(path, key, &e, &data, &st, &why), remove = 1;
    ash_buf *blobs[NBLOBS] = {&out->junit, &out->output, &out->coverage};
    for (int i = 0; rc == 1 && i < NBLOBS; i++) {
        if (e.size[i] > 0) {
            rc = load_blob(c, &e, i, blobs[i], reason, sizeof(reason), &remove);
            why = rc == 0 ? reason : NULL;
        }
    }
    if (rc == 1 && !(out->module = ash__strndup(e.module, e.module_len))) {
        rc = ash__error_oom();
    }
    if (rc == 1) {
        out->outcome = (ash_outcome)e.outcome;
        memcpy(out->counts, e.counts, sizeof(out->counts));
        out->collected = e.collected;
        out->duration = e.duration;
        *hit = 1;
        rc = 0;
        if (c->writable) { /* least recently used goes first in a prune */
            utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
        }
    } else if (rc == 0 && why) {
        drop(c, path, &st, why, remove);
    }
    ash__free(data);
    if (!*hit) {
        ash__result_free(out);
    }
    return rc;
}

/* ---- put ---- */

static int put_blob(const ash_rcache *c, const ash_hash *digest, const char *data, size_t len)
{
    char path[PATH_SIZE];
    size_t dirlen = object_path(c, "cas", digest->bytes, path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len) {
        /* stored already; a fresh mtime keeps a prune running now from sweeping it */
        utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    int rc = make_fanout(c, path, dirlen);
    return rc < 0 ? rc : ash__write_atomic(path, data, len);
}

int ash__rcache_put(ash_rcache *c, const ash_key *key, const ash_result *r)
{
    if (!c->writable) {
        return ash__error(ASH_EIO, "%s: cache directory not writable (%s): results are not cached",
                          c->dir, strerror(c->unwritable_errno));
    }
    const char *why = !r->module ? "no module path"
                      : (unsigned)r->outcome > ASH_OUTCOME_CRASHED
                          ? "bad outcome"
                          : ash__result_path_problem(r->module, strlen(r->module));
    if (why) {
        return ash__error(ASH_EINVAL, "%s: %s", r->module ? r->module : "result", why);
    }
    const ash_buf *blobs[NBLOBS] = {&r->junit, &r->output, &r->coverage};
    ash_hash digest[NBLOBS] = {{{0}}};
    for (int i = 0; i < NBLOBS; i++) {
        if (blobs[i]->len > ASH_RCACHE_BLOB_MAX) {
            return ash__error(ASH_EINVAL, "%s: %s larger than %llu MiB; not cached", r->module,
                              blob_names[i], (unsigned long long)(ASH_RCACHE_BLOB_MAX >> 20));
        }
        if (blobs[i]->len > 0) {
            digest[i] = ash__hash_bytes(blobs[i]->ptr, blobs[i]->len);
            int rc = put_blob(c, &digest[i], blobs[i]->ptr, blobs[i]->len);
            if (rc < 0) {
                return rc;
            }
        }
    }
    ash_buf b = ASH_BUF_INIT;
    char path[PATH_SIZE];
    size_t dirlen = object_path(c, "ac", key->bytes, path);
    int rc = ash__rcache_entry_encode(&b, key, r, digest);
    if (rc == 0) {
        rc = make_fanout(c, path, dirlen);
    }
    if (rc == 0) {
        rc = ash__write_atomic(path, b.ptr, b.len);
    }
    ash__buf_free(&b);
    return rc;
}

/* ---- walking the cache: stats, prune, clear ---- */

typedef enum { ENTRY, BLOB, TEMP } file_kind;

/* Called with each entry, blob and temporary file below DIR/<kind>/, its path and lstat. */
typedef int (*visit_fn)(const ash_rcache *c, const char *path, file_kind kind,
                        const struct stat *st, void *payload);

/* Object names: 32 lowercase hex digits, the first two those of their directory. */
static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return s[n] == '\0';
}

/* Open a directory, not following a link: a planted one would have clear() empty another
 * directory. NULL if it cannot (or does not exist). */
static DIR *open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0) {
        close(fd);
    }
    return d;
}

static int walk_fanout(const ash_rcache *c, char *path, size_t n, file_kind kind, visit_fn visit,
                       void *payload)
{
    DIR *d = open_dir(path);
    if (!d) {
        return 0;
    }
    const char *sub = path + n - 2;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        int object = len == 32 && is_hex(name, 32) && memcmp(name, sub, 2) == 0;
        int temp = name[0] == '.' && len > 4 && strcmp(name + len - 4, ".tmp") == 0;
        struct stat st;
        if ((!object && !temp) || fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            continue; /* another file, or one removed meanwhile */
        }
        snprintf(path + n, PATH_SIZE - n, "/%s", name);
        rc = visit(c, path, object ? kind : TEMP, &st, payload);
        path[n] = '\0';
    }
    closedir(d);
    return rc;
}

static int walk(const ash_rcache *c, const char *kind, visit_fn visit, void *payload)
{
    char path[PATH_SIZE];
    size_t n = (size_t)snprintf(path, sizeof(path), "%s/%s", c->dir, kind);
    DIR *d = open_dir(path);
    if (!d) {
        return 0; /* none yet */
    }
    file_kind objects = strcmp(kind, "ac") == 0 ? ENTRY : BLOB;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (is_hex(de->d_name, 2)) {
            snprintf(path + n, sizeof(path) - n, "/%s", de->d_name);
            rc = walk_fanout(c, path, n + 3, objects, visit, payload);
            path[n] = '\0';
        }
    }
    closedir(d);
    return rc;
}

static int old(const struct stat *st, time_t now)
{
    return st->st_mtim.tv_sec < now - ASH_RCACHE_GRACE_SECONDS;
}

static int count_visit(const ash_rcache *c, const char *path, file_kind kind, const struct stat *st,
                       void *payload)
{
    ash_rcache_stats *s = payload;
    if (kind != TEMP && S_ISREG(st->st_mode)) {
        *(kind == ENTRY ? &s->entries : &s->blobs) += 1;
        s->bytes += (uint64_t)st->st_size;
    }
    return 0;
}

int ash__rcache_get_pass(ash_rcache *c, const ash_key *key, const char *path, ash_result *out,
                         int *passed)
{
    int hit = 0;
    int rc = ash__rcache_get(c, key, out, &hit);
    *passed = rc == 0 && hit && out->outcome == ASH_OUTCOME_PASSED && out->module &&
              strcmp(out->module, path) == 0;
    if (!*passed) {
        ash__result_free(out);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

int ash__rcache_record(ash_rcache *c, const ash_key *key, const ash_result *r, int cacheable)
{
    if (r->outcome != ASH_OUTCOME_PASSED) {
        return ash__rcache_remove(c, key);
    }
    return cacheable ? ash__rcache_put(c, key, r) : 0;
}

int ash__rcache_remove(ash_rcache *c, const ash_key *key)
{
    char path[PATH_SIZE];
    object_path(c, "ac", key->bytes, path);
    if (!c->writable || unlink(path) == 0 || errno == ENOENT) {
        return 0;
    }
    return ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
}

int ash__rcache_stats(ash_rcache *c, ash_rcache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->max_bytes = c->max_bytes;
    walk(c, "ac", count_visit, out);
    walk(c, "cas", count_visit, out);
    return 0;
}

typedef struct clear_run {
    time_t now;
    uint64_t removed;
    int failed;
} clear_run;

static int clear_visit(const ash_rcache *c, const char *path, file_kind kind, const struct stat *st,
                       void *payload)
{
    clear_run *run = payload;
    if (kind == TEMP && !old(st, run->now)) {
        return 0; /* a put in progress */
    }
    if (unlink(path) == 0) {
        run->removed++;
    } else if (errno != ENOENT && !run->failed) {
        run->failed = ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
    }
    return 0;
}

int ash__rcache_clear(ash_rcache *c)
{
    if (!c->writable) {
        return ash__error(ASH_EIO, "%s: cache directory not writable", c->dir);
    }
    clear_run run = {time(NULL), 0, 0};
    walk(c, "ac", clear_visit, &run);
    walk(c, "cas", clear_visit, &run);
    return run.failed;
}

/* ---- prune ---- */

typedef struct prune_entry {
    ash_key key;
    struct timespec used;
    uint64_t size;
    size_t blob[NBLOBS]; /* indices into prune_run.blobs; SIZE_MAX: none */
} prune_entry;

typedef struct prune_blob {
    ash_hash digest;
    uint64_t size;
    size_t refs;
    int old;
} prune_blob;

typedef struct prune_run {
    time_t now;
    prune_entry *entries;
    size_t entry_count, entry_cap;
    prune_blob *blobs;
    size_t blob_count, blob_cap;
    uint64_t removed;
} prune_run;

static void from_hex(uint8_t *out, const char *hex)
{
    for (int i = 0; i < 16; i++) {
        int hi = hex[2 * i], lo = hex[2 * i + 1];
        hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
        lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

static int collect_visit(const ash_rcache *c, const char *path, file_kind kind,
                         const struct stat *st, void *payload)
{
    prune_run *run = payload;
    const char *name = strrchr(path, '/') + 1;
    if (kind == TEMP || !S_ISREG(st->st_mode)) {
        if (old(st, run->now) && unlink(path) == 0) { /* stale: its writer died */
            run->removed++;
        }
        return 0;
    }
    if (kind == ENTRY) {
        if (ash__grow((void **)&run->entries, &run->entry_cap, run->entry_count + 1,
                      sizeof(prune_entry)) < 0) {
            return ASH_ENOMEM;
        }
        prune_entry *e = &run->entries[run->entry_count++];
        from_hex(e->key.bytes, name);
        e->used = st->st_mtim;
        e->size = (uint64_t)st->st_size;
        return 0;
    }
    size_t need = run->blob_count + 1;
    if (ash__grow((void **)&run->blobs, &run->blob_cap, need, sizeof(prune_blob)) < 0) {
        return ASH_ENOMEM;
    }
    prune_blob *b = &run->blobs[run->blob_count++];
    from_hex(b->digest.bytes, name);
    b->size = (uint64_t)st->st_size;
    b->refs = 0;
    b->old = old(st, run->now);
    return 0;
}

static int cmp_blob(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(ash_hash)); /* the digest comes first */
}

static int cmp_used(const void *a, const void *b)
{
    const prune_entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec) {
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    }
    if (x->used.tv_nsec != y->used.tv_nsec) {
        return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
    }
    return memcmp(x->key.bytes, y->key.bytes, 16);
}

/* Read every entry for the blobs it references; drop the unusable ones (size set to
 * UINT64_MAX). 0 or ASH_ENOMEM. */
static int count_refs(const ash_rcache *c, prune_run *run)
{
    for (size_t k = 0; k < run->entry_count; k++) {
        prune_entry *pe = &run->entries[k];
        char path[PATH_SIZE], *data;
        object_path(c, "ac", pe->key.bytes, path);
        entry e;
        struct stat st;
        const char *why;
        int rc = read_entry(path, &pe->key, &e, &data, &st, &why);
        for (int i = 0; i < NBLOBS; i++) {
            prune_blob *b = rc == 1 && e.size[i] && run->blob_count
                                ? bsearch(&e.digest[i], run->blobs, run->blob_count,
                                          sizeof(prune_blob), cmp_blob)
                                : NULL;
            pe->blob[i] = b ? (size_t)(b - run->blobs) : SIZE_MAX;
            if (b) {
                b->refs++;
            }
        }
        ash__free(data);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            if (why) {
                run->removed += (uint64_t)drop(c, path, &st, why, 1);
            }
            pe->size = UINT64_MAX;
        }
    }
    return 0;
}

/* Remove entries, least recently used first, while `*total` exceeds `max_bytes`. */
static void evict(const ash_rcache *c, prune_run *run, uint64_t max_bytes, uint64_t *total,
                  uint64_t *entries)
{
    if (run->entry_count > 1) { /* entries is NULL when there are none */
        qsort(run->entries, run->entry_count, sizeof(prune_entry), cmp_used);
    }
    for (size_t k = 0; k<run->entry_count && * total> max_bytes; k++) {
        prune_entry *pe = &run->entries[k];
        if (pe->size == UINT64_MAX) {
            continue;
        }
        char path[PATH_SIZE];
        object_path(c, "ac", pe->key.bytes, path);
        int gone = unlink(path) == 0;
        if (gone || errno == ENOENT) {
            run->removed += (uint64_t)gone;
            *total -= pe->size;
            (*entries)--;
            for (int i = 0; i < NBLOBS; i++) {
                prune_blob *b = pe->blob[i] == SIZE_MAX ? NULL : &run->blobs[pe->blob[i]];
                if (b && --b->refs == 0 && b->old) {
                    *total -= b->size; /* swept below */
                }
            }
        }
    }
}

int ash__rcache_prune(ash_rcache *c, uint64_t max_bytes, ash_rcache_stats *out)
{
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    if (!c->writable) {
        return ash__error(ASH_EIO, "%s: cache directory not writable", c->dir);
    }
    c->max_bytes = max_bytes;
    /* entries before blobs: the blobs of every entry seen were written before it */
    prune_run run = {.now = time(NULL)};
    int rc = walk(c, "ac", collect_visit, &run);
    if (rc == 0) {
        rc = walk(c, "cas", collect_visit, &run);
    }
    if (rc == 0) {
        if (run.blob_count > 1) {
            qsort(run.blobs, run.blob_count, sizeof(prune_blob), cmp_blob);
        }
        rc = count_refs(c, &run);
    }
    uint64_t total = 0, entries = 0, blobs = 0;
    for (size_t k = 0; rc == 0 && k < run.entry_count; k++) {
        if (run.entries[k].size != UINT64_MAX) {
            total += run.entries[k].size;
            entries++;
        }
    }
    for (size_t k = 0; rc == 0 && k < run.blob_count; k++) {
        prune_blob *b = &run.blobs[k];
        total += b->refs == 0 && b->old ? 0 : b->size;
    }
    if (rc == 0) {
        evict(c, &run, max_bytes, &total, &entries);
    }
    for (size_t k = 0; rc == 0 && k < run.blob_count; k++) {
        prune_blob *b = &run.blobs[k];
        char path[PATH_SIZE];
        struct stat st;
        object_path(c, "cas", b->digest.bytes, path);
        /* looked at again: a put may have just taken it up (and touched it) */
        if (b->refs > 0 || !b->old) {
            blobs++;
        } else if (lstat(path, &st) == 0 && old(&st, run.now) && unlink(path) == 0) {
            run.removed++;
        } else {
            blobs++;
            total += b->size;
        }
    }
    if (rc == 0 && out) {
        *out = (ash_rcache_stats){entries, blobs, total, max_bytes, run.removed};
    }
    ash__free(run.entries);
    ash__free(run.blobs);
    return rc;
}
