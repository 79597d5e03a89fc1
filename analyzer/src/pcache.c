/*
 * The parse cache (see pcache.h). File format, little-endian:
 *
 *   file      = header entry{count} paths records checksum
 *   header    = "ASHPARSE" format:u32 count:u32 extractor:u64 paths_len:u64 records_len:u64
 *   entry     = path_off:u32 path_len:u32 size:u64 mtime_ns:i64 ctime_ns:i64 ino:u64
 *               hash:16 records_off:u64 records_len:u32 flags:u32          (72 bytes)
 *   paths     = the entries' paths, sorted, not terminated
 *   records   = per entry: status:u32 n:u32 record{n} messages_len:u32 messages
 *               (messages: the file's warnings, one per line, replayed on a hit)
 *   record    = kind:u8 flags:u8 level:u16 line:u32 module_len:u16 package_len:u16
 *               name_count:u16 module package name{name_count}
 *               (package_len 0xFFFF: no package)
 *   name      = len:u16 bytes
 *   checksum  = XXH3-64 of everything before it:u64
 *
 * `extractor` names the extraction code's version: records written by another version are
 * not trusted. Writers write a temporary file in the same directory, fsync it, rename it over
 * the old one and fsync the directory, so a reader sees a whole file or the previous one.
 */
#include "pcache.h"

#include "imports.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "ASHPARSE"
#define FORMAT 2
/* Bump when extraction changes what it records for the same bytes. */
#define EXTRACTOR_VERSION 0x0001000000000001ull
#define HEADER_SIZE 40
#define ENTRY_SIZE 72
#define FILE_NAME "parse-cache.bin"

typedef struct entry {
    uint32_t path_off, path_len;
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    uint64_t ino;
    uint8_t hash[16];
    uint64_t records_off;
    uint32_t records_len;
    uint32_t flags;
} entry;

_Static_assert(sizeof(entry) == ENTRY_SIZE, "entry layout");

struct ash_pcache {
    ash_mapped file;
    const char *data; /* file.data */
    size_t len;
    uint32_t count;
    const entry *entries;
    const char *paths;
    uint64_t paths_len;
    const uint8_t *records;
    uint64_t records_len;
    /* content-hash index, built on first use */
    pthread_mutex_t lock;
    uint32_t *by_hash;
    int by_hash_ready;
};

static uint32_t rd32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Validate the loaded bytes; 0 if the file is usable, else a reason. */
static const char *validate(ash_pcache *c)
{
    if (c->len < HEADER_SIZE + 8 || memcmp(c->data, MAGIC, 8) != 0) {
        return "not a parse cache";
    }
    if (rd32(c->data + 8) != FORMAT || rd64(c->data + 16) != EXTRACTOR_VERSION) {
        return NULL; /* another version: silently replaced */
    }
    uint64_t sum = rd64(c->data + c->len - 8);
    if (ash__hash64(c->data, c->len - 8) != sum) {
        return "checksum mismatch";
    }
    c->count = rd32(c->data + 12);
    c->paths_len = rd64(c->data + 24);
    c->records_len = rd64(c->data + 32);
    /* each section against the room the ones before it left: no sum of untrusted sizes can
     * wrap around */
    uint64_t room = c->len - HEADER_SIZE - 8, entries = (uint64_t)c->count * ENTRY_SIZE;
    if (entries > room || c->paths_len > room - entries ||
        c->records_len != room - entries - c->paths_len) {
        c->count = 0;
        return "truncated";
    }
    c->entries = (const entry *)(void *)(c->data + HEADER_SIZE);
    c->paths = c->data + HEADER_SIZE + (size_t)c->count * ENTRY_SIZE;
    c->records = (const uint8_t *)c->paths + c->paths_len;
    for (uint32_t i = 0; i < c->count; i++) {
        const entry *e = &c->entries[i];
        if ((uint64_t)e->path_off + e->path_len > c->paths_len || e->records_off > c->records_len ||
            e->records_len > c->records_len - e->records_off) {
            c->count = 0;
            return "entry out of bounds";
        }
    }
    return "";
}

int ash__pcache_open(ash_pcache **out, const char *cache_dir, ash_diag_fn diag, void *payload)
{
    *out = NULL;
    ash_pcache *c = ash__calloc(1, sizeof(*c));
    if (!c) {
        return ash__error_oom();
    }
    pthread_mutex_init(&c->lock, NULL);
    char *file = cache_dir ? ash__path_join(cache_dir, FILE_NAME) : NULL;
    if (cache_dir && !file) {
        ash__pcache_free(c);
        return ash__error_oom();
    }
    int rc = file ? ash__map_file(&c->file, file) : ASH_EIO;
    c->data = c->file.data;
    c->len = c->file.len;
    if (rc == ASH_ENOMEM) {
        ash__free(file);
        ash__pcache_free(c);
        return rc;
    }
    if (rc == 0) {
        /* entries are 8-byte aligned in the file; make sure they are in memory too */
        const char *why = ((uintptr_t)c->data % 8) ? "misaligned buffer" : validate(c);
        if (why && *why) {
            ash__diag(diag, payload, file, "%s; ignoring the parse cache (it will be rebuilt)",
                      why);
        }
        if (!why || *why) {
            c->count = 0;
        }
    }
    ash__free(file);
    *out = c;
    return 0;
}

void ash__pcache_free(ash_pcache *c)
{
    if (!c) {
        return;
    }
    pthread_mutex_destroy(&c->lock);
    ash__free(c->by_hash);
    ash__unmap_file(&c->file);
    ash__free(c);
}

size_t ash__pcache_count(const ash_pcache *c)
{
    return c ? c->count : 0;
}

static int cmp_path(const ash_pcache *c, uint32_t i, const char *path, size_t len)
{
    const entry *e = &c->entries[i];
    size_t n = e->path_len < len ? e->path_len : len;
    int r = memcmp(c->paths + e->path_off, path, n);
    if (r) {
        return r;
    }
    return e->path_len < len ? -1 : e->path_len > len ? 1 : 0;
}

long ash__pcache_find(const ash_pcache *c, const char *path)
{
    size_t len = strlen(path), lo = 0, hi = c->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = cmp_path(c, (uint32_t)mid, path, len);
        if (r == 0) {
            return (long)mid;
        }
        if (r < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

void ash__pcache_match(const ash_pcache *c, char *const *paths, size_t count, long *out)
{
    size_t e = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(paths[i]);
        int r = 1;
        while (e < c->count && (r = cmp_path(c, (uint32_t)e, paths[i], len)) < 0) {
            e++;
        }
        out[i] = e < c->count && r == 0 ? (long)e : -1;
    }
}

/* qsort has no context argument in C11: the cache being sorted is passed through this, under
 * sort_lock (one for all caches: two projects may be built on two threads). */
static const ash_pcache *sort_cache;
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int cmp_by_hash(const void *a, const void *b)
{
    const entry *ea = &sort_cache->entries[*(const uint32_t *)a];
    const entry *eb = &sort_cache->entries[*(const uint32_t *)b];
    return memcmp(ea->hash, eb->hash, 16);
}

long ash__pcache_find_hash(ash_pcache *c, const ash_hash *hash)
{
    long found = -1;
    pthread_mutex_lock(&c->lock);
    if (!c->by_hash_ready) {
        c->by_hash = ash__malloc((c->count ? c->count : 1) * sizeof(uint32_t));
        if (c->by_hash) {
            for (uint32_t i = 0; i < c->count; i++) {
                c->by_hash[i] = i;
            }
            pthread_mutex_lock(&sort_lock);
            sort_cache = c;
            qsort(c->by_hash, c->count, sizeof(uint32_t), cmp_by_hash);
            pthread_mutex_unlock(&sort_lock);
            c->by_hash_ready = 1;
        }
    }
    if (c->by_hash_ready) {
        size_t lo = 0, hi = c->count;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int r = memcmp(c->entries[c->by_hash[mid]].hash, hash->bytes, 16);
            if (r == 0) {
                found = c->by_hash[mid];
                break;
            }
            if (r < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

int ash__pcache_fresh(const ash_pcache *c, long i, const ash_filestat *st)
{
    const entry *e = &c->entries[i];
    return !(e->flags & ASH_PCACHE_RACY) && e->size == st->size && e->mtime_ns == st->mtime_ns &&
           e->ctime_ns == st->ctime_ns && e->ino == st->ino;
}

const char *ash__pcache_path(const ash_pcache *c, long i, size_t *len)
{
    *len = c->entries[i].path_len;
    return c->paths + c->entries[i].path_off;
}

const ash_hash *ash__pcache_hash(const ash_pcache *c, long i)
{
    return (const ash_hash *)(const void *)c->entries[i].hash;
}

/* One record's header (see the grammar above). */
typedef struct record_head {
    uint32_t kind, flags, level, line, mlen, plen, names;
} record_head;

/* ash__le_u and ash__le_take for the decoder's hot loop, inlined: n is 1, 2 or 4. */
static inline uint32_t get_u(ash_le_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    const uint8_t *p = r->p;
    uint32_t v = p[0];
    if (n > 1) {
        v |= (uint32_t)p[1] << 8;
    }
    if (n > 2) {
        v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    r->p += n;
    return v;
}

/* ash__le_take() of a string the writer stored from a C string: one with a NUL inside would read
 * back truncated, so it marks the entry malformed. */
static inline const uint8_t *take_string(ash_le_reader *r, size_t n)
{
    const uint8_t *at = ash__le_take(r, n);
    if (at && n && memchr(at, '\0', n)) {
        r->bad = 1;
        return NULL;
    }
    return at;
}

static void read_head(ash_le_reader *r, record_head *h)
{
    h->kind = get_u(r, 1);
    h->flags = get_u(r, 1);
    h->level = get_u(r, 2);
    h->line = get_u(r, 4);
    h->mlen = get_u(r, 2);
    h->plen = get_u(r, 2);
    h->names = get_u(r, 2);
}

/* Copy s[0..n) and a NUL to *at; the copy. */
static const char *put_cstr(char **at, const uint8_t *s, size_t n)
{
    char *copy = *at;
    memcpy(copy, s, n);
    copy[n] = '\0';
    *at += n + 1;
    return copy;
}

/*
 * Decode entry records in two passes over its bytes: the first checks them and sizes the
 * object, the second fills it, built in place (no builder, one copy of each string).
 */
int ash__pcache_imports_with(const ash_pcache *c, long i, ash_imports **out, ash_buf *messages,
                             ash_imports_arena *arena)
{
    *out = NULL;
    const entry *e = &c->entries[i];
    const uint8_t *begin = c->records + e->records_off, *end = begin + e->records_len;
    ash_le_reader r = {begin, end, 0};
    unsigned status = get_u(&r, 4);
    uint32_t n = get_u(&r, 4);
    const uint8_t *first = r.p;
    size_t names = 0, strings = 1;
    for (uint32_t k = 0; k < n && !r.bad; k++) {
        record_head h;
        read_head(&r, &h);
        take_string(&r, h.mlen);
        strings += h.mlen + 1;
        if (h.plen != 0xFFFF) {
            take_string(&r, h.plen);
            strings += h.plen + 1;
        }
        r.bad |= h.kind > ASH_IMPORT_STRING;
        for (uint32_t m = 0; m < h.names && !r.bad; m++) {
            uint32_t len = get_u(&r, 2);
            take_string(&r, len);
            strings += len + 1;
        }
        names += h.names;
    }
    uint32_t mlen = get_u(&r, 4);
    const uint8_t *text = take_string(&r, mlen);
    if (r.bad || r.p != r.end) {
        return ash__error(ASH_ERROR, "malformed parse-cache entry");
    }
    ash_imports_space space;
    if (ash__imports_reserve(&space, n, names, strings, status, arena) < 0) {
        return ash__error_oom();
    }
    if (messages && ash__buf_put(messages, text, mlen) < 0) {
        if (!arena) {
            ash_imports_free(space.imports);
        }
        return ASH_ENOMEM;
    }
    /* the bytes were checked above: the second pass reads them without checks */
    ash_le_reader w = {first, end, 0};
    char *at = space.strings;
    const char **name_at = space.names;
    for (uint32_t k = 0; k < n; k++) {
        record_head h;
        read_head(&w, &h);
        ash_import *imp = &space.items[k];
        imp->kind = (ash_import_kind)h.kind;
        imp->line = h.line;
        imp->level = h.level;
        imp->flags = h.flags;
        imp->module = put_cstr(&at, ash__le_take(&w, h.mlen), h.mlen);
        imp->package = h.plen == 0xFFFF ? NULL : put_cstr(&at, ash__le_take(&w, h.plen), h.plen);
        imp->name_count = h.names;
        imp->names = h.names ? name_at : NULL;
        for (uint32_t m = 0; m < h.names; m++) {
            uint32_t len = get_u(&w, 2);
            *name_at++ = put_cstr(&at, ash__le_take(&w, len), len);
        }
    }
    *at = '\0';
    *out = space.imports;
    return 0;
}

int ash__pcache_imports(const ash_pcache *c, long i, ash_imports **out, ash_buf *messages)
{
    return ash__pcache_imports_with(c, i, out, messages, NULL);
}

/* ---- digests ---- */

void ash__pcache_digest(const ash_pcache *c, long i, ash_hash *out)
{
    const entry *e = &c->entries[i];
    *out = ash__hash_bytes(c->records + e->records_off, e->records_len);
}

static int put_records(ash_buf *b, const ash_imports *imp, const char *messages);

int ash__pcache_digest_of(ash_hash *out, const ash_imports *imports, const char *messages,
                          ash_buf *scratch)
{
    ash__buf_clear(scratch);
    int rc = put_records(scratch, imports, messages);
    if (rc == 0) {
        *out = ash__hash_bytes(scratch->ptr, scratch->len);
    }
    return rc;
}

/* ---- writing ---- */

static int put_str16(ash_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n >= 0xFFFF) {
        return ash__error(ASH_EINVAL, "name too long for the parse cache");
    }
    return ash__le_put(b, n, 2) < 0 || ash__buf_put(b, s, n) < 0 ? ASH_ENOMEM : 0;
}

static int put_records(ash_buf *b, const ash_imports *imp, const char *messages)
{
    size_t n = ash_imports_count(imp);
    if (ash__le_put(b, ash_imports_status(imp), 4) < 0 || ash__le_put(b, n, 4) < 0) {
        return ASH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const ash_import *r = ash_imports_get(imp, i);
        size_t ml = strlen(r->module), pl = r->package ? strlen(r->package) : 0xFFFF;
        if (ml >= 0xFFFF || (r->package && pl >= 0xFFFF) || r->name_count > 0xFFFF ||
            r->level > 0xFFFF) {
            return ash__error(ASH_EINVAL, "import too large for the parse cache");
        }
        if (ash__le_put(b, r->kind, 1) < 0 || ash__le_put(b, r->flags, 1) < 0 ||
            ash__le_put(b, r->level, 2) < 0 || ash__le_put(b, r->line, 4) < 0 ||
            ash__le_put(b, ml, 2) < 0 || ash__le_put(b, pl, 2) < 0 ||
            ash__le_put(b, r->name_count, 2) < 0 || ash__buf_put(b, r->module, ml) < 0 ||
            (r->package && ash__buf_put(b, r->package, pl) < 0)) {
            return ASH_ENOMEM;
        }
        for (uint32_t k = 0; k < r->name_count; k++) {
            int rc = put_str16(b, r->names[k]);
            if (rc < 0) {
                return rc;
            }
        }
    }
    size_t mlen = messages ? strlen(messages) : 0;
    return ash__le_put(b, mlen, 4) < 0 || ash__buf_put(b, messages ? messages : "", mlen) < 0
               ? ASH_ENOMEM
               : 0;
}

int ash__pcache_write(const char *cache_dir, const ash_pcache_item *items, size_t count)
{
    ash_buf paths = ASH_BUF_INIT, records = ASH_BUF_INIT, out = ASH_BUF_INIT;
    entry *entries = ash__calloc(count ? count : 1, sizeof(entry));
    int rc = entries ? 0 : ash__error_oom();
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const ash_pcache_item *it = &items[i];
        entry *e = &entries[i];
        e->path_off = (uint32_t)paths.len;
        e->path_len = (uint32_t)strlen(it->path);
        e->size = it->stat.size;
        e->mtime_ns = it->stat.mtime_ns;
        e->ctime_ns = it->stat.ctime_ns;
        e->ino = it->stat.ino;
        memcpy(e->hash, it->hash.bytes, 16);
        e->records_off = records.len;
        e->flags = it->flags;
        if (ash__buf_put(&paths, it->path, e->path_len) < 0 ||
            (rc = put_records(&records, it->imports, it->messages)) < 0) {
            rc = rc < 0 ? rc : ASH_ENOMEM;
            break;
        }
        e->records_len = (uint32_t)(records.len - e->records_off);
    }
    if (rc == 0) {
        if (ash__buf_put(&out, MAGIC, 8) < 0 || ash__le_put(&out, FORMAT, 4) < 0 ||
            ash__le_put(&out, count, 4) < 0 || ash__le_put(&out, EXTRACTOR_VERSION, 8) < 0 ||
            ash__le_put(&out, paths.len, 8) < 0 || ash__le_put(&out, records.len, 8) < 0 ||
            ash__buf_put(&out, entries, count * sizeof(entry)) < 0 ||
            ash__buf_put(&out, paths.ptr, paths.len) < 0 ||
            ash__buf_put(&out, records.ptr, records.len) < 0 ||
            ash__le_put(&out, ash__hash64(out.ptr, out.len), 8) < 0) {
            rc = ASH_ENOMEM;
        }
    }
    if (rc == 0) {
        char *file = ash__path_join(cache_dir, FILE_NAME);
        rc = file ? ash__write_atomic(file, out.ptr, out.len) : ash__error_oom();
        ash__free(file);
    }
    ash__free(entries);
    ash__buf_free(&paths);
    ash__buf_free(&records);
    ash__buf_free(&out);
    return rc;
}

static int write_small(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (access(path, F_OK) == 0) {
        return 0;
    }
    ash_buf b = ASH_BUF_INIT;
    int rc = ash__buf_puts(&b, text);
    if (rc == 0) {
        rc = ash__write_atomic(path, b.ptr, b.len);
    }
    ash__buf_free(&b);
    return rc;
}

int ash__cache_dir_prepare(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n + 1 >= sizeof(path)) {
        return ash__error(ASH_EINVAL, "%s: path too long", dir);
    }
    memcpy(path, dir, n + 1);
    if (ash__make_dirs(path, 0755) < 0) {
        return ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
    }
    int rc = write_small(
        dir, "CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by aftershock.\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n");
    if (rc == 0) {
        rc = write_small(dir, ".gitignore", "# Created by aftershock automatically.\n*\n");
    }
    return rc;
}
