/*
 * Fuzz target: the result cache's entry reader (rcache.c), through ash__rcache_get and
 * ash__rcache_prune (which reads every entry for the blobs it references). The first input
 * byte is flags, the rest the entry file, written to ac/<fan-out>/<key> of a cache in the
 * scratch directory. So that mutated entries get past the cheap checks to the deep ones:
 *
 *   1  write the key the file is stored under into the entry (offset 8)
 *   2  rewrite the trailing XXH3-64 checksum
 *   4  store a blob for every blob field with a size of 1..64 KiB, and set its digest
 *   8  ... but store it corrupted (one byte changed), so that its digest does not match
 *
 * Every hit must be a well-formed result; every miss leaves no entry behind.
 */
#include "fuzz.h"
#include "hash.h"
#include "rcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FIX_KEY = 1, FIX_CHECKSUM = 2, WRITE_BLOBS = 4, CORRUPT_BLOBS = 8 };

/* Entry layout (see rcache.c): the module path starts at 28; the blob fields (size:u64
 * digest:16, three of them) start 48 bytes after it. */
#define MODULE_AT 28
#define BLOBS_AFTER_MODULE 48
#define BLOB_FIELD 24
#define NBLOBS 3
#define BLOB_FUZZ_MAX 65536

static ash_rcache *cache;
static char cache_dir[1024];
/* the blob fan-out directories made for this input, removed after it (a prune or clear walks
 * every one there is) */
static char made[NBLOBS][1024];
static int made_count;
static const ash_key key = {{0x5a, 0x3c, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                             0x0b, 0x0c, 0x0d, 0x0e}};

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--) {
        v = v << 8 | p[k];
    }
    return v;
}

/* "<cache>/<kind>/<2 hex>/<32 hex>" into out, creating the fan-out directory. */
static void object_path(char *out, size_t size, const char *kind, const uint8_t id[16])
{
    char hex[33];
    ash__hash_hex((const ash_hash *)(const void *)id, hex);
    snprintf(out, size, "%s/%s/%.2s", cache_dir, kind, hex);
    if (mkdir(out, 0700) == 0 && strcmp(kind, "cas") == 0 && made_count < NBLOBS) {
        snprintf(made[made_count++], sizeof(made[0]), "%s", out);
    }
    size_t n = strlen(out);
    snprintf(out + n, size - n, "/%s", hex);
}

static void write_blobs(uint8_t *entry, size_t len, unsigned flags)
{
    if (len < MODULE_AT) {
        return;
    }
    uint64_t at = MODULE_AT + get_le(entry + 24, 4) + BLOBS_AFTER_MODULE;
    for (int i = 0; i < NBLOBS && at + (uint64_t)(i + 1) * BLOB_FIELD <= len; i++) {
        uint8_t *field = entry + at + (size_t)i * BLOB_FIELD;
        uint64_t size = get_le(field, 8);
        if (size == 0 || size > BLOB_FUZZ_MAX) {
            continue;
        }
        uint8_t *blob = malloc((size_t)size);
        ASH_FUZZ_CHECK(blob != NULL);
        for (uint64_t k = 0; k < size; k++) {
            blob[k] = (uint8_t)(k * 7 + (unsigned)i + flags);
        }
        ash_hash digest = ash__hash_bytes(blob, (size_t)size);
        memcpy(field + 8, digest.bytes, 16);
        if (flags & CORRUPT_BLOBS) {
            blob[size / 2] ^= 1;
        }
        char path[2048];
        object_path(path, sizeof(path), "cas", digest.bytes);
        ash_fuzz__write(path, blob, (size_t)size);
        free(blob);
    }
}

static void check_hit(const ash_result *r)
{
    ASH_FUZZ_CHECK(r->module != NULL);
    ASH_FUZZ_CHECK(ash__result_path_problem(r->module, strlen(r->module)) == NULL);
    ASH_FUZZ_CHECK((unsigned)r->outcome <= ASH_OUTCOME_CRASHED);
    ASH_FUZZ_CHECK(r->duration >= 0);
    const ash_buf *blobs[] = {&r->junit, &r->output, &r->coverage};
    for (int i = 0; i < NBLOBS; i++) {
        /* what get hands out is a buffer like any other: NUL-terminated, len below cap */
        ASH_FUZZ_CHECK(blobs[i]->len == 0 || (blobs[i]->ptr && blobs[i]->len < blobs[i]->cap &&
                                              blobs[i]->ptr[blobs[i]->len] == '\0'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (!cache) {
        ash_fuzz__path(cache_dir, sizeof(cache_dir), "rcache");
        ASH_FUZZ_CHECK(ash__rcache_open(&cache, cache_dir, 1, ash_fuzz__diag, NULL) == 0);
    }
    unsigned flags = data[0];
    size_t len = size - 1;
    uint8_t *entry = ash_fuzz__copy(data + 1, len);
    if ((flags & FIX_KEY) && len >= 24) {
        memcpy(entry + 8, key.bytes, 16);
    }
    if (flags & WRITE_BLOBS) {
        write_blobs(entry, len, flags);
    }
    if (flags & FIX_CHECKSUM) {
        ash_fuzz__fix_checksum(entry, len);
    }
    char path[2048];
    object_path(path, sizeof(path), "ac", key.bytes);
    ash_fuzz__write(path, entry, len);

    ash_result r;
    int hit = -1;
    int rc = ash__rcache_get(cache, &key, &r, &hit);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    ASH_FUZZ_CHECK(hit == 0 || hit == 1);
    if (hit) {
        check_hit(&r);
    } else {
        ASH_FUZZ_CHECK(r.module == NULL && r.junit.ptr == NULL);
    }
    ash__result_free(&r);

    /* the same entry through a replay and a prune; then empty the cache for the next input */
    ash_fuzz__write(path, entry, len);
    int passed = -1;
    rc = ash__rcache_get_pass(cache, &key, "tests/test_cart.py", &r, &passed);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    ASH_FUZZ_CHECK(passed == 0 || passed == 1);
    ash__result_free(&r);
    ash_fuzz__write(path, entry, len);
    ash_rcache_stats stats;
    rc = ash__rcache_prune(cache, UINT64_MAX, &stats);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    ASH_FUZZ_CHECK(ash__rcache_clear(cache) == 0);
    while (made_count > 0) {
        rmdir(made[--made_count]);
    }
    free(entry);
    return 0;
}
