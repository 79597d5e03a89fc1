/*
 * Scoped results and state snapshots on a remote cache (see share.h). The objects, all
 * little-endian:
 *
 *   result    = "ASHR" version:u32 entry_len:u32 entry sha256{3} checksum:u64
 *   entry     = an action entry of the local cache (grammar in rcache.c), under the same key
 *   sha256    = 32 bytes: the SHA-256 of blob i (junit, output, coverage), naming it in cas/;
 *               all zero for an empty blob
 *   snapshot  = "ASHS" version:u32 count:u32 file{count} checksum:u64
 *   file      = name_len:u32 name size:u64 sha256:32
 *   duration  = "ASHD" version:u32 path_len:u32 path seconds:f64 checksum:u64
 *               ; a module's last duration, under SHA-256("aftershock duration 1" 0 S 0 XXH3-128
 *               ; of its path): durations survive the change of inputs that makes a module
 *               ; cold, which is when a plan needs them
 *   checksum  = XXH3-64 of every byte before it
 *
 * version is 1. A result is trusted no more than a local entry: the inner entry must decode
 * under the very key looked up, name the module asked for and be a pass; each blob must have
 * the size the entry gives and hash to both its SHA-256 and the entry's XXH3-128.
 */
#include "share.h"

#include "hash.h"
#include "pcache.h"
#include "rcache.h"
#include "sha256.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#define RESULT_MAGIC "ASHR"
#define SNAPSHOT_MAGIC "ASHS"
#define DURATION_MAGIC "ASHD"
#define VERSION 1
#define SHA_LEN 32
/* Larger than any local entry (module paths are at most ASH_RESULT_PATH_MAX bytes). */
#define RESULT_MAX (64u << 10)
#define SNAPSHOT_MAX (64u << 10)
#define SNAPSHOT_FILES_MAX 16
/* A state file (the parse cache of a very large repository) may be large. */
#define STATE_BLOB_MAX ((uint64_t)1 << 30)
#define PATH_MAX_LEN (2 * ASH_SHARE_SCOPE_MAX + 128)

typedef struct sha256 {
    uint8_t bytes[SHA_LEN];
} sha256;

static void sha256_of(sha256 *out, const void *data, size_t len)
{
    ash__sha256(out->bytes, data ? data : "", len);
}

static void sha256_hex(const sha256 *h, char out[2 * SHA_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SHA_LEN; i++) {
        out[2 * i] = digits[h->bytes[i] >> 4];
        out[2 * i + 1] = digits[h->bytes[i] & 15];
    }
    out[2 * SHA_LEN] = '\0';
}

static int sha256_zero(const sha256 *h)
{
    static const sha256 zero;
    return memcmp(h, &zero, sizeof(zero)) == 0;
}

const char *ash__share_scope_problem(const char *scope)
{
    size_t n = strlen(scope);
    if (n == 0) {
        return "empty scope name";
    }
    if (n > ASH_SHARE_SCOPE_MAX) {
        return "scope name too long";
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)scope[i] < 0x20 || scope[i] == 0x7f) {
            return "control character in the scope name";
        }
    }
    return NULL;
}

/* "<segment>/ac/<64 hex>" of `what` ("result" with a key, or "state") in `scope`. */
static void ac_path(char out[PATH_MAX_LEN], const char *scope, const char *what, const ash_key *key)
{
    uint8_t tagged[64 + ASH_SHARE_SCOPE_MAX + 16];
    size_t n = (size_t)snprintf((char *)tagged, sizeof(tagged), "aftershock %s 1", what) + 1;
    size_t slen = strlen(scope);
    memcpy(tagged + n, scope, slen + 1);
    n += slen + 1;
    if (key) {
        memcpy(tagged + n, key->bytes, sizeof(key->bytes));
        n += sizeof(key->bytes);
    }
    sha256 h;
    sha256_of(&h, tagged, n);
    size_t k = 0;
    for (size_t i = 0; i < slen; i++) {
        char c = scope[i];
        int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || (c == '.' && i > 0);
        out[k++] = safe ? c : '_';
    }
    memcpy(out + k, "/ac/", 4);
    sha256_hex(&h, out + k + 4);
}

static void cas_path(char out[PATH_MAX_LEN], const sha256 *digest)
{
    memcpy(out, "cas/", 4);
    sha256_hex(digest, out + 4);
}

/* The checksum trailer of data[0..len) is right. */
static int checksum_ok(const char *data, size_t len)
{
    if (len < 8) {
        return 0;
    }
    ash_le_reader sum = {(const uint8_t *)data + len - 8, (const uint8_t *)data + len, 0};
    return ash__hash64(data, len - 8) == ash__le_u(&sum, 8);
}

static void warn_object(const ash_share *s, const char *path, const char *why)
{
    ash__diag(s->diag, s->payload, NULL, "remote cache %s/%s: %s; treated as a miss",
              ash__remote_url(s->remote), path, why);
}

/* ---- results ---- */

/* One looked-up module while its result is fetched. */
typedef struct lookup {
    size_t index;
    char path[PATH_MAX_LEN];
    ash_buf body; /* the result object, once found */
    ash_rcache_entry e;
    sha256 blob[ASH_RCACHE_BLOBS];
    int scope;
} lookup;

/* Decode the result object in l->body for key `key` and module `module`: NULL or why not. */
static const char *decode_result(lookup *l, const ash_key *key, const char *module)
{
    const char *d = l->body.ptr;
    size_t len = l->body.len;
    if (len < 12 || memcmp(d, RESULT_MAGIC, 4) != 0) {
        return "not an aftershock result";
    }
    if (!checksum_ok(d, len)) {
        return "checksum mismatch";
    }
    ash_le_reader r = {(const uint8_t *)d + 4, (const uint8_t *)d + len - 8, 0};
    if (ash__le_u(&r, 4) != VERSION) {
        return "unknown format version";
    }
    size_t elen = (size_t)ash__le_u(&r, 4);
    const uint8_t *inner = ash__le_take(&r, elen);
    for (int i = 0; i < ASH_RCACHE_BLOBS; i++) {
        const uint8_t *h = ash__le_take(&r, SHA_LEN);
        if (h) {
            memcpy(l->blob[i].bytes, h, SHA_LEN);
        }
    }
    if (!inner || r.p != r.end) {
        return "wrong length";
    }
    const char *why = ash__rcache_entry_decode(&l->e, (const char *)inner, elen, key);
    if (why) {
        return why;
    }
    if (l->e.module_len != strlen(module) || memcmp(l->e.module, module, l->e.module_len) != 0) {
        return "the result of another module";
    }
    if (l->e.outcome != ASH_OUTCOME_PASSED) {
        return "not a pass";
    }
    for (int i = 0; i < ASH_RCACHE_BLOBS; i++) {
        if ((l->e.size[i] == 0) != sha256_zero(&l->blob[i])) {
            return "bad blob digest";
        }
    }
    return NULL;
}

/* GET the result objects of the lookups still unresolved (scope < 0) in scope `si`. */
static int fetch_entries(const ash_share *s, const ash_key *keys, char *const *modules, lookup *ls,
                         size_t n, int si)
{
    ash_remote_request *reqs = ash__calloc(n + 1, sizeof(*reqs));
    size_t *which = ash__calloc(n + 1, sizeof(*which));
    if (!reqs || !which) {
        ash__free(reqs);
        ash__free(which);
        return ash__error_oom();
    }
    size_t m = 0;
    for (size_t j = 0; j < n; j++) {
        if (ls[j].scope < 0) {
            ac_path(ls[j].path, s->scopes[si], "result", &keys[ls[j].index]);
            reqs[m] = (ash_remote_request){
                .method = ASH_REMOTE_GET, .path = ls[j].path, .max = RESULT_MAX};
            which[m++] = j;
        }
    }
    int rc = ash__remote_send(s->remote, reqs, m);
    for (size_t q = 0; q < m; q++) {
        lookup *l = &ls[which[q]];
        if (rc == 0 && reqs[q].status == 200) {
            l->body = reqs[q].body;
            reqs[q].body = (ash_buf)ASH_BUF_INIT;
            const char *why = decode_result(l, &keys[l->index], modules[l->index]);
            if (why) {
                warn_object(s, l->path, why);
                ash__buf_free(&l->body);
            } else {
                l->scope = si;
            }
        }
        ash__buf_free(&reqs[q].body);
    }
    ash__free(reqs);
    ash__free(which);
    return rc;
}

/* Does `data` match blob i of lookup `l`? NULL, or why not. */
static const char *check_blob(const lookup *l, int i, const ash_buf *data)
{
    if (data->len != l->e.size[i]) {
        return "wrong size";
    }
    sha256 h;
    sha256_of(&h, data->ptr, data->len);
    ash_hash x = ash__hash_bytes(data->ptr, data->len);
    if (memcmp(&h, &l->blob[i], sizeof(h)) != 0 || !ash__hash_equal(&x, &l->e.digest[i])) {
        return "does not match its digest";
    }
    return NULL;
}

/* GET every blob of the lookups that hit; fill out[] for those whose blobs all verify. */
static int fetch_blobs(const ash_share *s, lookup *ls, size_t n, ash_result *out, int *scope_of)
{
    size_t total = 0;
    for (size_t j = 0; j < n; j++) {
        for (int i = 0; ls[j].scope >= 0 && i < ASH_RCACHE_BLOBS; i++) {
            total += ls[j].e.size[i] > 0;
        }
    }
    ash_remote_request *reqs = ash__calloc(total + 1, sizeof(*reqs));
    char(*paths)[PATH_MAX_LEN] = ash__calloc(total + 1, PATH_MAX_LEN);
    if (!reqs || !paths) {
        ash__free(reqs);
        ash__free(paths);
        return ash__error_oom();
    }
    size_t m = 0;
    for (size_t j = 0; j < n; j++) {
        for (int i = 0; ls[j].scope >= 0 && i < ASH_RCACHE_BLOBS; i++) {
            if (ls[j].e.size[i] > 0) {
                cas_path(paths[m], &ls[j].blob[i]);
                reqs[m] = (ash_remote_request){
                    .method = ASH_REMOTE_GET, .path = paths[m], .max = ls[j].e.size[i]};
                m++;
            }
        }
    }
    int rc = ash__remote_send(s->remote, reqs, m);
    m = 0;
    for (size_t j = 0; j < n; j++) {
        lookup *l = &ls[j];
        if (l->scope < 0) {
            continue;
        }
        ash_result *r = &out[l->index];
        ash_buf *dest[ASH_RCACHE_BLOBS] = {&r->junit, &r->output, &r->coverage};
        const char *why = NULL;
        const char *bad = NULL;
        for (int i = 0; i < ASH_RCACHE_BLOBS; i++) {
            if (l->e.size[i] == 0) {
                continue;
            }
            ash_remote_request *q = &reqs[m++];
            if (!why) {
                why = q->status == 200   ? check_blob(l, i, &q->body)
                      : q->status == 404 ? "missing"
                                         : "not fetched";
                bad = why ? q->path : NULL;
                if (!why) {
                    *dest[i] = q->body;
                    q->body = (ash_buf)ASH_BUF_INIT;
                }
            }
            ash__buf_free(&q->body);
        }
        if (!why && rc == 0 && !(r->module = ash__strndup(l->e.module, l->e.module_len))) {
            rc = ash__error_oom();
        }
        if (why || rc < 0) {
            if (why && ash__remote_error(s->remote) == NULL) {
                warn_object(s, bad, why);
            }
            ash__result_free(r);
            memset(r, 0, sizeof(*r));
            continue;
        }
        r->outcome = ASH_OUTCOME_PASSED;
        memcpy(r->counts, l->e.counts, sizeof(r->counts));
        r->collected = l->e.collected;
        r->duration = l->e.duration;
        scope_of[l->index] = l->scope;
    }
    ash__free(reqs);
    ash__free(paths);
    return rc;
}

int ash__share_fetch(const ash_share *s, const ash_key *keys, char *const *modules, size_t n,
                     ash_result *out, int *scope_of)
{
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        scope_of[i] = -1;
    }
    lookup *ls = ash__calloc(n + 1, sizeof(*ls));
    if (!ls) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        ls[i].index = i;
        ls[i].scope = -1;
    }
    int rc = 0;
    for (size_t si = 0; rc == 0 && si < s->scope_count; si++) {
        rc = fetch_entries(s, keys, modules, ls, n, (int)si);
    }
    if (rc == 0) {
        rc = fetch_blobs(s, ls, n, out, scope_of);
    }
    for (size_t i = 0; i < n; i++) {
        ash__buf_free(&ls[i].body);
    }
    ash__free(ls);
    return rc;
}

/* ---- storing results ---- */

/* The result object of `r` under `key` into `b`, its blobs' SHA-256 into sha[]. */
static int encode_result(ash_buf *b, const ash_key *key, const ash_result *r, sha256 *sha)
{
    const ash_buf *blobs[ASH_RCACHE_BLOBS] = {&r->junit, &r->output, &r->coverage};
    ash_hash xxh[ASH_RCACHE_BLOBS];
    memset(xxh, 0, sizeof(xxh));
    memset(sha, 0, ASH_RCACHE_BLOBS * sizeof(*sha));
    for (int i = 0; i < ASH_RCACHE_BLOBS; i++) {
        if (blobs[i]->len) {
            xxh[i] = ash__hash_bytes(blobs[i]->ptr, blobs[i]->len);
            sha256_of(&sha[i], blobs[i]->ptr, blobs[i]->len);
        }
    }
    ash_buf entry = ASH_BUF_INIT;
    int rc = ash__rcache_entry_encode(&entry, key, r, xxh);
    if (rc == 0 && (ash__buf_put(b, RESULT_MAGIC, 4) < 0 || ash__le_put(b, VERSION, 4) < 0 ||
                    ash__le_put(b, entry.len, 4) < 0 || ash__buf_put(b, entry.ptr, entry.len) < 0 ||
                    ash__buf_put(b, sha, ASH_RCACHE_BLOBS * SHA_LEN) < 0 ||
                    ash__le_put(b, ash__hash64(b->ptr, b->len), 8) < 0)) {
        rc = ash__error_oom();
    }
    ash__buf_free(&entry);
    return rc;
}

/* One result on its way up. */
typedef struct upload {
    ash_buf object;
    sha256 sha[ASH_RCACHE_BLOBS];
    char path[PATH_MAX_LEN];
    char blob_path[ASH_RCACHE_BLOBS][PATH_MAX_LEN];
    size_t first_blob; /* index of its first blob request */
} upload;

int ash__share_store(const ash_share *s, const ash_key *keys, const ash_result *const *results,
                     size_t n, size_t *written)
{
    *written = 0;
    if (n == 0 || ash__remote_error(s->remote)) {
        return 0;
    }
    upload *ups = ash__calloc(n, sizeof(*ups));
    ash_remote_request *blobs = ash__calloc(n * ASH_RCACHE_BLOBS + 1, sizeof(*blobs));
    ash_remote_request *entries = ash__calloc(n + 1, sizeof(*entries));
    int rc = ups && blobs && entries ? 0 : ash__error_oom();
    size_t nb = 0;
    for (size_t j = 0; rc == 0 && j < n; j++) {
        const ash_result *r = results[j];
        upload *u = &ups[j];
        rc = encode_result(&u->object, &keys[j], r, u->sha);
        ac_path(u->path, s->scopes[0], "result", &keys[j]);
        const ash_buf *data[ASH_RCACHE_BLOBS] = {&r->junit, &r->output, &r->coverage};
        u->first_blob = nb;
        for (int i = 0; rc == 0 && i < ASH_RCACHE_BLOBS; i++) {
            if (data[i]->len) {
                cas_path(u->blob_path[i], &u->sha[i]);
                blobs[nb++] = (ash_remote_request){.method = ASH_REMOTE_PUT,
                                                   .path = u->blob_path[i],
                                                   .data = data[i]->ptr,
                                                   .len = data[i]->len};
            }
        }
    }
    if (rc == 0) {
        rc = ash__remote_send(s->remote, blobs, nb);
    }
    size_t ne = 0;
    for (size_t j = 0; rc == 0 && j < n; j++) {
        size_t end = j + 1 < n ? ups[j + 1].first_blob : nb;
        int ok = 1;
        for (size_t b = ups[j].first_blob; b < end; b++) {
            ok &= blobs[b].status >= 200 && blobs[b].status < 300;
        }
        if (ok) {
            entries[ne++] = (ash_remote_request){.method = ASH_REMOTE_PUT,
                                                 .path = ups[j].path,
                                                 .data = ups[j].object.ptr,
                                                 .len = ups[j].object.len};
        }
    }
    if (rc == 0) {
        rc = ash__remote_send(s->remote, entries, ne);
    }
    for (size_t e = 0; rc == 0 && e < ne; e++) {
        *written += entries[e].status >= 200 && entries[e].status < 300;
    }
    for (size_t j = 0; ups && j < n; j++) {
        ash__buf_free(&ups[j].object);
    }
    ash__free(ups);
    ash__free(blobs);
    ash__free(entries);
    return rc;
}

int ash__share_forget(const ash_share *s, const ash_key *keys, size_t n)
{
    if (n == 0 || ash__remote_error(s->remote)) {
        return 0;
    }
    ash_remote_request *reqs = ash__calloc(n, sizeof(*reqs));
    char(*paths)[PATH_MAX_LEN] = ash__calloc(n, PATH_MAX_LEN);
    int rc = reqs && paths ? 0 : ash__error_oom();
    for (size_t j = 0; rc == 0 && j < n; j++) {
        ac_path(paths[j], s->scopes[0], "result", &keys[j]);
        reqs[j] = (ash_remote_request){.method = ASH_REMOTE_DELETE, .path = paths[j]};
    }
    if (rc == 0) {
        rc = ash__remote_send(s->remote, reqs, n);
    }
    ash__free(reqs);
    ash__free(paths);
    return rc;
}

/* ---- state snapshots ---- */

typedef struct snapshot_file {
    const char *name;
    size_t name_len;
    uint64_t size;
    sha256 sha;
} snapshot_file;

/* Decode a snapshot: its files into out[0..*count) (names point into data). NULL or why not. */
static const char *decode_snapshot(const char *data, size_t len, snapshot_file *out, size_t *count)
{
    if (len < 12 || memcmp(data, SNAPSHOT_MAGIC, 4) != 0) {
        return "not an aftershock state snapshot";
    }
    if (!checksum_ok(data, len)) {
        return "checksum mismatch";
    }
    ash_le_reader r = {(const uint8_t *)data + 4, (const uint8_t *)data + len - 8, 0};
    if (ash__le_u(&r, 4) != VERSION) {
        return "unknown format version";
    }
    uint64_t n = ash__le_u(&r, 4);
    if (n > SNAPSHOT_FILES_MAX) {
        return "too many files";
    }
    for (size_t i = 0; i < n; i++) {
        out[i].name_len = (size_t)ash__le_u(&r, 4);
        out[i].name = (const char *)ash__le_take(&r, out[i].name_len);
        out[i].size = ash__le_u(&r, 8);
        const uint8_t *h = ash__le_take(&r, SHA_LEN);
        if (!h || !out[i].name || out[i].size > STATE_BLOB_MAX) {
            return "truncated or oversized";
        }
        memcpy(out[i].sha.bytes, h, SHA_LEN);
    }
    if (r.p != r.end) {
        return "wrong length";
    }
    *count = (size_t)n;
    return NULL;
}

/* The wanted file called name[0..len), or NULL. */
static const ash_share_file *wanted(const ash_share_file *files, size_t n, const char *name,
                                    size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(files[i].name) == len && memcmp(files[i].name, name, len) == 0) {
            return &files[i];
        }
    }
    return NULL;
}

/* Create the parent directories of `path`; a failure shows when the file is written. */
static void make_parents(const char *path)
{
    char *dir = ash__strndup(path, ash__dirname_len(path, strlen(path)));
    if (dir && *dir) {
        ash__make_dirs(dir, 0777);
    }
    ash__free(dir);
}

/* Fetch and write the files of snapshot data[0..len) from scope `si`; 1 if it was usable. */
static int restore(const ash_share *s, const char *snap_path, const char *data, size_t len,
                   const ash_share_file *files, size_t n)
{
    snapshot_file sf[SNAPSHOT_FILES_MAX];
    size_t count = 0;
    const char *why = decode_snapshot(data, len, sf, &count);
    if (why) {
        warn_object(s, snap_path, why);
        return 0;
    }
    ash_remote_request reqs[SNAPSHOT_FILES_MAX];
    char paths[SNAPSHOT_FILES_MAX][PATH_MAX_LEN];
    const ash_share_file *dest[SNAPSHOT_FILES_MAX];
    size_t m = 0;
    for (size_t i = 0; i < count; i++) {
        const ash_share_file *f = wanted(files, n, sf[i].name, sf[i].name_len);
        struct stat st;
        if (!f || lstat(f->path, &st) == 0 || errno != ENOENT) {
            continue; /* not ours, or there already: a restore never overwrites */
        }
        cas_path(paths[m], &sf[i].sha);
        reqs[m] =
            (ash_remote_request){.method = ASH_REMOTE_GET, .path = paths[m], .max = sf[i].size};
        dest[m] = f;
        sf[m] = sf[i];
        m++;
    }
    if (ash__remote_send(s->remote, reqs, m) < 0) {
        return ASH_ENOMEM;
    }
    int usable = ash__remote_error(s->remote) == NULL;
    for (size_t i = 0; i < m; i++) {
        sha256 h;
        sha256_of(&h, reqs[i].body.ptr, reqs[i].body.len);
        if (reqs[i].status != 200 || reqs[i].body.len != sf[i].size ||
            memcmp(&h, &sf[i].sha, sizeof(h)) != 0) {
            if (usable) {
                warn_object(s, paths[i],
                            reqs[i].status == 404 ? "missing" : "does not match its digest");
            }
            usable = 0;
        } else {
            make_parents(dest[i]->path);
            if (ash__write_atomic(dest[i]->path, reqs[i].body.ptr ? reqs[i].body.ptr : "",
                                  reqs[i].body.len) < 0) {
                ash__diag(s->diag, s->payload, NULL, "%s", ash_error_last());
            }
        }
        ash__buf_free(&reqs[i].body);
    }
    return usable;
}

int ash__share_pull_state(const ash_share *s, const ash_share_file *files, size_t n, int *from)
{
    *from = -1;
    for (size_t si = 0; si < s->scope_count && !ash__remote_error(s->remote); si++) {
        char path[PATH_MAX_LEN];
        ac_path(path, s->scopes[si], "state", NULL);
        ash_remote_request q = {.method = ASH_REMOTE_GET, .path = path, .max = SNAPSHOT_MAX};
        if (ash__remote_send(s->remote, &q, 1) < 0) {
            return ASH_ENOMEM;
        }
        int ok = q.status == 200 ? restore(s, path, q.body.ptr, q.body.len, files, n) : 0;
        ash__buf_free(&q.body);
        if (ok < 0) {
            return ok;
        }
        if (ok) {
            *from = (int)si;
            break;
        }
    }
    return 0;
}

int ash__share_push_state(const ash_share *s, const ash_share_file *files, size_t n)
{
    if (ash__remote_error(s->remote)) {
        return 0;
    }
    n = n < SNAPSHOT_FILES_MAX ? n : SNAPSHOT_FILES_MAX;
    char *data[SNAPSHOT_FILES_MAX] = {0};
    size_t len[SNAPSHOT_FILES_MAX];
    sha256 sha[SNAPSHOT_FILES_MAX];
    char paths[SNAPSHOT_FILES_MAX][PATH_MAX_LEN];
    ash_remote_request reqs[SNAPSHOT_FILES_MAX];
    ash_buf snap = ASH_BUF_INIT;
    size_t m = 0;
    int rc = 0;
    uint32_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (ash__read_file(&data[i], &len[i], files[i].path, STATE_BLOB_MAX) < 0) {
            if (errno != ENOENT) {
                ash__diag(s->diag, s->payload, files[i].path, "not shared: %s", ash_error_last());
            }
            data[i] = NULL;
            continue;
        }
        sha256_of(&sha[i], data[i], len[i]);
        cas_path(paths[m], &sha[i]);
        reqs[m] = (ash_remote_request){
            .method = ASH_REMOTE_PUT, .path = paths[m], .data = data[i], .len = len[i]};
        m++;
        kept++;
    }
    if (ash__buf_put(&snap, SNAPSHOT_MAGIC, 4) < 0 || ash__le_put(&snap, VERSION, 4) < 0 ||
        ash__le_put(&snap, kept, 4) < 0) {
        rc = ash__error_oom();
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t nl = strlen(files[i].name);
        if (data[i] &&
            (ash__le_put(&snap, nl, 4) < 0 || ash__buf_put(&snap, files[i].name, nl) < 0 ||
             ash__le_put(&snap, len[i], 8) < 0 || ash__buf_put(&snap, sha[i].bytes, SHA_LEN) < 0)) {
            rc = ash__error_oom();
        }
    }
    if (rc == 0 && ash__le_put(&snap, ash__hash64(snap.ptr, snap.len), 8) < 0) {
        rc = ash__error_oom();
    }
    if (rc == 0 && kept > 0) {
        rc = ash__remote_send(s->remote, reqs, m);
    }
    int all = 1;
    for (size_t i = 0; i < m; i++) {
        all &= reqs[i].status >= 200 && reqs[i].status < 300;
    }
    if (rc == 0 && kept > 0 && all) {
        char path[PATH_MAX_LEN];
        ac_path(path, s->scopes[0], "state", NULL);
        ash_remote_request q = {
            .method = ASH_REMOTE_PUT, .path = path, .data = snap.ptr, .len = snap.len};
        rc = ash__remote_send(s->remote, &q, 1);
    }
    for (size_t i = 0; i < n; i++) {
        ash__free(data[i]);
    }
    ash__buf_free(&snap);
    return rc;
}

/* ---- durations ---- */

/* The key of module `path`'s duration record. */
static ash_key duration_key(const char *path)
{
    ash_hash h = ash__hash_bytes(path, strlen(path));
    ash_key k;
    memcpy(k.bytes, h.bytes, sizeof(k.bytes));
    return k;
}

int ash__share_store_durations(const ash_share *s, char *const *modules, const double *seconds,
                               size_t n)
{
    if (n == 0 || ash__remote_error(s->remote)) {
        return 0;
    }
    ash_remote_request *reqs = ash__calloc(n, sizeof(*reqs));
    ash_buf *bodies = ash__calloc(n, sizeof(*bodies));
    char(*paths)[PATH_MAX_LEN] = ash__calloc(n, PATH_MAX_LEN);
    int rc = reqs && bodies && paths ? 0 : ash__error_oom();
    for (size_t j = 0; rc == 0 && j < n; j++) {
        ash_buf *b = &bodies[j];
        size_t len = strlen(modules[j]);
        double d = isfinite(seconds[j]) && seconds[j] > 0 ? seconds[j] : 0;
        if (ash__buf_put(b, DURATION_MAGIC, 4) < 0 || ash__le_put(b, VERSION, 4) < 0 ||
            ash__le_put(b, len, 4) < 0 || ash__buf_put(b, modules[j], len) < 0 ||
            ash__le_put_f64(b, d) < 0 || ash__le_put(b, ash__hash64(b->ptr, b->len), 8) < 0) {
            rc = ash__error_oom();
            break;
        }
        ash_key k = duration_key(modules[j]);
        ac_path(paths[j], s->scopes[0], "duration", &k);
        reqs[j] = (ash_remote_request){
            .method = ASH_REMOTE_PUT, .path = paths[j], .data = b->ptr, .len = b->len};
    }
    if (rc == 0) {
        rc = ash__remote_send(s->remote, reqs, n);
    }
    for (size_t j = 0; bodies && j < n; j++) {
        ash__buf_free(&bodies[j]);
    }
    ash__free(bodies);
    ash__free(reqs);
    ash__free(paths);
    return rc;
}

/* The seconds of duration record data[0..len) if it is module `path`'s, else -1. */
static double decode_duration(const char *data, size_t len, const char *path)
{
    size_t plen = strlen(path);
    if (len != 4 + 4 + 4 + plen + 8 + 8 || memcmp(data, DURATION_MAGIC, 4) != 0 ||
        !checksum_ok(data, len)) {
        return -1;
    }
    ash_le_reader r = {(const uint8_t *)data + 4, (const uint8_t *)data + len - 8, 0};
    if (ash__le_u(&r, 4) != VERSION || ash__le_u(&r, 4) != plen) {
        return -1;
    }
    const uint8_t *p = ash__le_take(&r, plen);
    double d = ash__le_f64(&r);
    return p && memcmp(p, path, plen) == 0 && isfinite(d) && d >= 0 ? d : -1;
}

int ash__share_fetch_durations(const ash_share *s, char *const *modules, size_t n, double *out)
{
    for (size_t j = 0; j < n; j++) {
        out[j] = -1;
    }
    ash_remote_request *reqs = ash__calloc(n + 1, sizeof(*reqs));
    size_t *which = ash__calloc(n + 1, sizeof(*which));
    char(*paths)[PATH_MAX_LEN] = ash__calloc(n + 1, PATH_MAX_LEN);
    int rc = reqs && which && paths ? 0 : ash__error_oom();
    for (size_t si = 0; rc == 0 && si < s->scope_count && !ash__remote_error(s->remote); si++) {
        size_t m = 0;
        for (size_t j = 0; j < n; j++) {
            if (out[j] < 0) {
                ash_key k = duration_key(modules[j]);
                ac_path(paths[m], s->scopes[si], "duration", &k);
                reqs[m] = (ash_remote_request){
                    .method = ASH_REMOTE_GET, .path = paths[m], .max = 64 + strlen(modules[j])};
                which[m++] = j;
            }
        }
        rc = ash__remote_send(s->remote, reqs, m);
        for (size_t q = 0; q < m; q++) {
            if (rc == 0 && reqs[q].status == 200) {
                out[which[q]] =
                    decode_duration(reqs[q].body.ptr, reqs[q].body.len, modules[which[q]]);
            }
            ash__buf_free(&reqs[q].body);
        }
    }
    ash__free(reqs);
    ash__free(which);
    ash__free(paths);
    return rc;
}
