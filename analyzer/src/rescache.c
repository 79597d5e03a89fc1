/*
 * The resolution cache (see rescache.h). File format, little-endian; every u32 array starts at
 * an offset that is a multiple of 4:
 *
 *   file         = header digests import_start edge_start modules dist_names unknowns dists
 *                  edges origins strings padding checksum
 *   header       = "ASHRESLV" format:u32 resolver:u32 context:16 nodes:u32 imports:u32
 *                  edges:u32 dist_count:u32 unknown_count:u32 strings_len:u32 messages:u32
 *                  reserved:u32                                                    (64 bytes)
 *   digests      = digest:16 {nodes}            each node's imports' digest; zeros: none
 *   import_start = u32 {nodes + 1}              0, ascending, ends at imports
 *   edge_start   = u32 {nodes + 1}              0, ascending, ends at edges
 *   modules      = u32 {nodes}                  offset of the node's module name in strings
 *   dist_names   = u32 {dist_count}             offset of each distribution name in strings
 *   unknowns     = (import:u32 name:u32) {unknown_count}
 *                                               imports ascending; name: offset in strings
 *   dists        = u32 {imports}                1-based index into dist_names, 0 none
 *   edges        = (target:u32 line:u32 kind:u32 flags:u32) {edges}
 *                                               per node sorted by target, one per target
 *   origins      = u8 {imports}                 ash_origin, | 0x80 past the top-level package
 *   strings      = NUL-terminated strings back to back (strings_len bytes, the last a NUL);
 *                  `messages` is the offset of the project-wide warnings, one per line
 *   padding      = zeros up to a multiple of 8
 *   checksum     = XXH3-64 of everything before it:u64
 *
 * `format` names this layout and what linking (link.c) records, `resolver` the resolution
 * code's version (ASH_RESOLVER_VERSION): a file of another one is replaced without a word.
 * Everything is validated on load (bounds, order, ranges), so that no file, however made,
 * can send a reader outside it. Writers write a temporary file in the same directory, fsync
 * it, rename it over the old one and fsync the directory.
 */
#include "rescache.h"

#include "resolve.h"

#include <string.h>

#define MAGIC "ASHRESLV"
/* Bump when the layout changes or when link.c records something else for the same inputs. */
#define FORMAT 1u
#define HEADER_SIZE 64
#define FILE_NAME "resolve-cache.bin"
#define BEYOND_TOP 0x80u

struct ash_rescache {
    ash_mapped file;
    const char *data; /* file.data */
    size_t len;
    int valid;
    ash_hash context;
    uint32_t nodes, imports, edges, dist_count, unknown_count, strings_len;
    const uint8_t *digests, *import_start, *edge_start, *modules, *dist_names, *unknowns, *dists,
        *edgev, *origins;
    const char *strings, *messages;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- the context key ---- */

/* A tagged field: tag, then the length, then the bytes (no two inputs blur into one). */
static int put_field(ash_buf *b, const char *tag, const void *data, size_t len)
{
    return ash__buf_puts(b, tag) < 0 || ash__buf_putc(b, '\0') < 0 || ash__le_put(b, len, 8) < 0 ||
                   ash__buf_put(b, data, len) < 0
               ? ASH_ENOMEM
               : 0;
}

/* Strings behind their own lengths, all under one tag. */
static int put_strings(ash_buf *b, const char *tag, char *const *items, size_t count)
{
    int rc = put_field(b, tag, "", 0) < 0 || ash__le_put(b, count, 8) < 0 ? ASH_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        size_t n = strlen(items[i]);
        rc = ash__le_put(b, n, 4) < 0 || ash__buf_put(b, items[i], n) < 0 ? ASH_ENOMEM : 0;
    }
    return rc;
}

int ash__rescache_context(ash_hash *out, char *const *paths, size_t count, char *const *roots,
                          size_t root_count, int check_roots, const ash_envinfo *env)
{
    ash_buf b = ASH_BUF_INIT;
    uint8_t versions[9] = {0};
    wr32(versions, FORMAT);
    wr32(versions + 4, ASH_RESOLVER_VERSION);
    versions[8] = check_roots ? 1 : 0;
    /* the facts, not the interpreter's path: the same interpreter is reached by several
     * paths (a pyenv shim, the binary behind it), which must not thrash the cache */
    uint8_t available = ash__envinfo_available(env) ? 1 : 0;
    const char *facts = ash__envinfo_facts(env);
    int rc = ash__buf_reserve(&b, 64 + count * 48) < 0 ||
                     put_field(&b, "versions", versions, sizeof(versions)) < 0 ||
                     put_strings(&b, "paths", paths, count) < 0 ||
                     put_strings(&b, "roots", roots, root_count) < 0 ||
                     put_field(&b, "env-available", &available, 1) < 0 ||
                     put_field(&b, "env-facts", facts, strlen(facts)) < 0
                 ? ASH_ENOMEM
                 : 0;
    if (rc == 0) {
        *out = ash__hash_bytes(b.ptr, b.len);
    }
    ash__buf_free(&b);
    return rc;
}

/* ---- reading ---- */

/* Point the sections into c->data; the reason the file is unusable, "" if it is usable, or
 * NULL for a file of another version (replaced silently). */
static const char *layout(ash_rescache *c)
{
    const uint8_t *d = (const uint8_t *)c->data;
    if (c->len < HEADER_SIZE + 8 || memcmp(d, MAGIC, 8) != 0) {
        return "not a resolution cache";
    }
    if (rd32(d + 8) != FORMAT || rd32(d + 12) != ASH_RESOLVER_VERSION) {
        return NULL;
    }
    uint64_t sum = 0;
    for (int k = 7; k >= 0; k--) {
        sum = sum << 8 | d[c->len - 8 + (size_t)k];
    }
    if (ash__hash64(d, c->len - 8) != sum) {
        return "checksum mismatch";
    }
    memcpy(c->context.bytes, d + 16, 16);
    c->nodes = rd32(d + 32);
    c->imports = rd32(d + 36);
    c->edges = rd32(d + 40);
    c->dist_count = rd32(d + 44);
    c->unknown_count = rd32(d + 48);
    c->strings_len = rd32(d + 52);
    uint32_t messages = rd32(d + 56);
    /* section offsets, in 64 bits: no count can overflow them */
    uint64_t n = c->nodes, at[11];
    uint64_t sizes[10] = {16 * n,
                          4 * (n + 1),
                          4 * (n + 1),
                          4 * n,
                          4 * (uint64_t)c->dist_count,
                          8 * (uint64_t)c->unknown_count,
                          4 * (uint64_t)c->imports,
                          16 * (uint64_t)c->edges,
                          c->imports,
                          c->strings_len};
    at[0] = HEADER_SIZE;
    for (size_t k = 0; k < 10; k++) {
        at[k + 1] = at[k] + sizes[k];
    }
    if (((at[10] + 7) & ~(uint64_t)7) + 8 != c->len) {
        return "truncated";
    }
    c->digests = d + at[0];
    c->import_start = d + at[1];
    c->edge_start = d + at[2];
    c->modules = d + at[3];
    c->dist_names = d + at[4];
    c->unknowns = d + at[5];
    c->dists = d + at[6];
    c->edgev = d + at[7];
    c->origins = d + at[8];
    c->strings = (const char *)d + at[9];
    if (c->strings_len == 0 || c->strings[c->strings_len - 1] != '\0' ||
        messages >= c->strings_len) {
        return "malformed strings";
    }
    c->messages = c->strings + messages;
    return "";
}

/* Every index and offset in range, every list in order; the reason if not, else "". */
static const char *check(const ash_rescache *c)
{
    uint32_t prev_i = 0, prev_e = 0;
    for (uint32_t i = 0; i <= c->nodes; i++) {
        uint32_t si = rd32(c->import_start + 4 * i), se = rd32(c->edge_start + 4 * i);
        if (si < prev_i || se < prev_e || (i == 0 && (si || se))) {
            return "malformed node table";
        }
        if (i < c->nodes && rd32(c->modules + 4 * i) >= c->strings_len) {
            return "malformed node table";
        }
        prev_i = si;
        prev_e = se;
    }
    if (prev_i != c->imports || prev_e != c->edges) {
        return "malformed node table";
    }
    for (uint32_t k = 0; k < c->dist_count; k++) {
        if (rd32(c->dist_names + 4 * k) >= c->strings_len) {
            return "malformed distribution table";
        }
    }
    for (uint32_t k = 0; k < c->unknown_count; k++) {
        uint32_t imp = rd32(c->unknowns + 8 * k);
        if (imp >= c->imports || (k && imp <= rd32(c->unknowns + 8 * (k - 1))) ||
            rd32(c->unknowns + 8 * k + 4) >= c->strings_len) {
            return "malformed unknown-module table";
        }
    }
    for (uint32_t k = 0; k < c->imports; k++) {
        if (rd32(c->dists + 4 * k) > c->dist_count ||
            (c->origins[k] & ~BEYOND_TOP) > ASH_ORIGIN_UNKNOWN) {
            return "malformed import results";
        }
    }
    for (uint32_t k = 0; k < c->edges; k++) {
        const uint8_t *e = c->edgev + 16 * (size_t)k;
        if (rd32(e) >= c->nodes || rd32(e + 8) > ASH_EDGE_STRING) {
            return "malformed edges";
        }
    }
    return "";
}

int ash__rescache_open(ash_rescache **out, const char *cache_dir, ash_diag_fn diag, void *payload)
{
    *out = NULL;
    ash_rescache *c = ash__calloc(1, sizeof(*c));
    if (!c) {
        return ash__error_oom();
    }
    char *file = cache_dir ? ash__path_join(cache_dir, FILE_NAME) : NULL;
    if (cache_dir && !file) {
        ash__rescache_free(c);
        return ash__error_oom();
    }
    int rc = file ? ash__map_file(&c->file, file) : ASH_EIO;
    c->data = c->file.data;
    c->len = c->file.len;
    if (rc == ASH_ENOMEM) {
        ash__free(file);
        ash__rescache_free(c);
        return rc;
    }
    if (rc == 0) {
        const char *why = layout(c);
        if (why && !*why) {
            why = check(c);
        }
        if (why && *why) {
            ash__diag(diag, payload, file, "%s; ignoring the resolution cache (it will be rebuilt)",
                      why);
        }
        c->valid = why && !*why;
    }
    ash__free(file);
    *out = c;
    return 0;
}

void ash__rescache_free(ash_rescache *c)
{
    if (!c) {
        return;
    }
    ash__unmap_file(&c->file);
    ash__free(c);
}

int ash__rescache_matches(const ash_rescache *c, const ash_hash *context, size_t count)
{
    return c && c->valid && c->nodes == count && ash__hash_equal(&c->context, context);
}

int ash__rescache_hit(const ash_rescache *c, size_t i, const ash_hash *digest, size_t import_count)
{
    static const uint8_t none[16];
    const uint8_t *d = c->digests + 16 * i;
    return memcmp(digest->bytes, none, 16) != 0 && memcmp(d, digest->bytes, 16) == 0 &&
           rd32(c->import_start + 4 * (i + 1)) - rd32(c->import_start + 4 * i) == import_count;
}

const char *ash__rescache_module(const ash_rescache *c, size_t i)
{
    return c->strings + rd32(c->modules + 4 * i);
}

size_t ash__rescache_edge_count(const ash_rescache *c, size_t i)
{
    return rd32(c->edge_start + 4 * (i + 1)) - rd32(c->edge_start + 4 * i);
}

void ash__rescache_edges(const ash_rescache *c, size_t i, ash_edge *out)
{
    uint32_t begin = rd32(c->edge_start + 4 * i), end = rd32(c->edge_start + 4 * (i + 1));
    for (uint32_t k = begin; k < end; k++) {
        const uint8_t *e = c->edgev + 16 * (size_t)k;
        *out++ = (ash_edge){rd32(e), rd32(e + 4), (ash_edge_kind)rd32(e + 8), rd32(e + 12)};
    }
}

/* The name of the unknown import at absolute index `at`, or NULL (binary search). */
static const char *unknown_name(const ash_rescache *c, uint32_t at)
{
    size_t lo = 0, hi = c->unknown_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t imp = rd32(c->unknowns + 8 * mid);
        if (imp == at) {
            return c->strings + rd32(c->unknowns + 8 * mid + 4);
        }
        if (imp < at) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

ash_origin ash__rescache_import(const ash_rescache *c, size_t i, size_t k, int *beyond_top,
                                uint32_t *dist)
{
    size_t at = rd32(c->import_start + 4 * i) + k;
    uint8_t o = c->origins[at];
    *beyond_top = (o & BEYOND_TOP) != 0;
    *dist = rd32(c->dists + 4 * at);
    return (ash_origin)(o & ~BEYOND_TOP);
}

size_t ash__rescache_dist_count(const ash_rescache *c)
{
    return c->dist_count;
}

const char *ash__rescache_dist_name(const ash_rescache *c, uint32_t d)
{
    return c->strings + rd32(c->dist_names + 4 * (size_t)(d - 1));
}

const char *ash__rescache_unknown(const ash_rescache *c, size_t i, size_t k)
{
    return unknown_name(c, rd32(c->import_start + 4 * i) + (uint32_t)k);
}

const char *ash__rescache_messages(const ash_rescache *c)
{
    return c && c->valid ? c->messages : "";
}

/* ---- writing ---- */

/* Append s and its NUL to strings; its offset into *off. */
static int add_string(ash_buf *strings, const char *s, uint32_t *off)
{
    size_t n = strlen(s);
    if (strings->len + n + 1 > UINT32_MAX) {
        return ash__error(ASH_EINVAL, "too many names for the resolution cache");
    }
    *off = (uint32_t)strings->len;
    return ash__buf_put(strings, s, n + 1) < 0 ? ASH_ENOMEM : 0;
}

/* The string table and the offsets into it: modules[nodes], dist_names[dist_count] and the
 * (import, name) pairs of unknowns (allocated here, `*unknown_count` of them). */
static int make_strings(ash_buf *strings, uint32_t *modules, uint32_t *dist_names,
                        uint32_t **unknowns, uint32_t *unknown_count, uint32_t *messages,
                        const ash_rescache_input *in, size_t imports)
{
    int rc = 0;
    size_t count = 0, cap = 0;
    for (size_t i = 0; rc == 0 && i < in->node_count; i++) {
        rc = add_string(strings, in->modules[i], &modules[i]);
    }
    for (size_t k = 0; rc == 0 && k < in->dist_count; k++) {
        rc = add_string(strings, in->dist_names[k], &dist_names[k]);
    }
    for (size_t k = 0; rc == 0 && in->unknown && k < imports; k++) {
        if (!in->unknown[k]) {
            continue;
        }
        void *grown = *unknowns;
        if (ash__grow(&grown, &cap, 2 * (count + 1), sizeof(uint32_t)) < 0) {
            return ASH_ENOMEM;
        }
        *unknowns = grown;
        (*unknowns)[2 * count] = (uint32_t)k;
        rc = add_string(strings, in->unknown_names + in->unknown[k] - 1,
                        &(*unknowns)[2 * count + 1]);
        count++;
    }
    if (rc == 0) {
        rc = add_string(strings, in->messages ? in->messages : "", messages);
    }
    *unknown_count = (uint32_t)count;
    return rc;
}

/* Fill the file image `d` (of `len` bytes, zeroed) from `in` and the string table. */
static void fill(uint8_t *d, size_t len, const ash_rescache_input *in, const ash_buf *strings,
                 const uint32_t *modules, const uint32_t *dist_names, const uint32_t *unknowns,
                 uint32_t unknown_count, uint32_t messages)
{
    size_t n = in->node_count, imports = in->import_start[n], edges = in->edge_start[n];
    memcpy(d, MAGIC, 8);
    uint32_t header[] = {FORMAT, ASH_RESOLVER_VERSION};
    for (size_t k = 0; k < 2; k++) {
        wr32(d + 8 + 4 * k, header[k]);
    }
    memcpy(d + 16, in->context.bytes, 16);
    uint32_t counts[] = {
        (uint32_t)n,   (uint32_t)imports,      (uint32_t)edges, (uint32_t)in->dist_count,
        unknown_count, (uint32_t)strings->len, messages};
    for (size_t k = 0; k < ASH_ARRAY_SIZE(counts); k++) {
        wr32(d + 32 + 4 * k, counts[k]);
    }
    uint8_t *p = d + HEADER_SIZE;
    for (size_t i = 0; i < n; i++, p += 16) {
        memcpy(p, in->digests[i].bytes, 16);
    }
    for (size_t i = 0; i <= n; i++, p += 4) {
        wr32(p, in->import_start[i]);
    }
    for (size_t i = 0; i <= n; i++, p += 4) {
        wr32(p, in->edge_start[i]);
    }
    for (size_t i = 0; i < n; i++, p += 4) {
        wr32(p, modules[i]);
    }
    for (size_t k = 0; k < in->dist_count; k++, p += 4) {
        wr32(p, dist_names[k]);
    }
    for (size_t k = 0; k < 2 * (size_t)unknown_count; k++, p += 4) {
        wr32(p, unknowns[k]);
    }
    for (size_t k = 0; k < imports; k++, p += 4) {
        wr32(p, in->dists[k]);
    }
    for (size_t k = 0; k < edges; k++, p += 16) {
        const ash_edge *e = &in->edges[k];
        wr32(p, e->target);
        wr32(p + 4, e->line);
        wr32(p + 8, (uint32_t)e->kind);
        wr32(p + 12, e->flags);
    }
    for (size_t k = 0; k < imports; k++) {
        *p++ = (uint8_t)(in->origins[k] | (in->beyond_top && in->beyond_top[k] ? BEYOND_TOP : 0));
    }
    memcpy(p, strings->ptr, strings->len);
    uint64_t sum = ash__hash64(d, len - 8);
    for (int k = 0; k < 8; k++) {
        d[len - 8 + k] = (uint8_t)(sum >> (8 * k));
    }
}

int ash__rescache_write(const char *cache_dir, const ash_rescache_input *in)
{
    size_t n = in->node_count, imports = in->import_start[n], edges = in->edge_start[n];
    if (n >= UINT32_MAX || in->dist_count >= UINT32_MAX || edges >= UINT32_MAX) {
        return ash__error(ASH_EINVAL, "graph too large for the resolution cache");
    }
    ash_buf strings = ASH_BUF_INIT;
    uint32_t *modules = ash__malloc((n + 1) * sizeof(uint32_t));
    uint32_t *dist_names = ash__malloc((in->dist_count + 1) * sizeof(uint32_t));
    uint32_t *unknowns = NULL, unknown_count = 0, messages = 0;
    uint8_t *image = NULL;
    char *file = NULL;
    int rc = modules && dist_names ? 0 : ash__error_oom();
    if (rc == 0) {
        rc = make_strings(&strings, modules, dist_names, &unknowns, &unknown_count, &messages, in,
                          imports);
    }
    if (rc < 0) {
        goto done;
    }
    size_t len = HEADER_SIZE + 16 * n + 4 * (n + 1) * 2 + 4 * n + 4 * in->dist_count +
                 8 * (size_t)unknown_count + 4 * imports + 16 * edges + imports + strings.len;
    len = ((len + 7) & ~(size_t)7) + 8;
    image = ash__calloc(1, len);
    file = ash__path_join(cache_dir, FILE_NAME);
    if (!image || !file) {
        rc = ash__error_oom();
        goto done;
    }
    fill(image, len, in, &strings, modules, dist_names, unknowns, unknown_count, messages);
    rc = ash__write_atomic(file, image, len);
done:
    ash__free(file);
    ash__free(image);
    ash__free(unknowns);
    ash__free(dist_names);
    ash__free(modules);
    ash__buf_free(&strings);
    return rc;
}
