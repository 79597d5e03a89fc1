/*
 * XXH3 wrappers (see hash.h). xxHash is used header-only (XXH_INLINE_ALL), so no xxHash
 * library is needed at run time.
 */
#define XXH_INLINE_ALL
#include "hash.h"

#include <xxhash.h>

#include <string.h>

ash_hash ash__hash_bytes(const void *data, size_t len)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
    ash_hash h;
    memcpy(h.bytes, c.digest, 16);
    return h;
}

uint64_t ash__hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

void ash__hash_hex(const ash_hash *h, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[h->bytes[i] >> 4];
        out[2 * i + 1] = hex[h->bytes[i] & 15];
    }
    out[32] = '\0';
}

int ash__hash_equal(const ash_hash *a, const ash_hash *b)
{
    return memcmp(a->bytes, b->bytes, 16) == 0;
}

int ash__hasher_init(ash_hasher *h)
{
    h->state = ash__malloc(sizeof(XXH3_state_t));
    if (!h->state) {
        return ash__error_oom();
    }
    XXH3_128bits_reset(h->state);
    return 0;
}

void ash__hasher_field(ash_hasher *h, const char *tag, const void *data, size_t len)
{
    uint64_t n = len;
    uint8_t size[8];
    for (int i = 0; i < 8; i++) {
        size[i] = (uint8_t)(n >> (8 * i));
    }
    XXH3_128bits_update(h->state, tag, strlen(tag) + 1);
    XXH3_128bits_update(h->state, size, sizeof(size));
    XXH3_128bits_update(h->state, data, len);
}

ash_hash ash__hasher_final(ash_hasher *h)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->state));
    ash_hash out;
    memcpy(out.bytes, c.digest, 16);
    return out;
}

void ash__hasher_free(ash_hasher *h)
{
    ash__free(h->state);
    h->state = NULL;
}

int ash__hasher_file(ash_hasher *h, const char *tag, const char *shown, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ash__read_file(&data, &len, path, 0);
    if (rc == ASH_ENOMEM) {
        return rc;
    }
    ash_hash content = rc == 0 ? ash__hash_bytes(data, len) : (ash_hash){{0}};
    ash__free(data);
    ash__hasher_field(h, tag, shown, strlen(shown));
    ash__hasher_field(h, rc == 0 ? "content" : "unreadable", content.bytes, 16);
    return 0;
}
