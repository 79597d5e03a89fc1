/*
 * Content hashing: XXH3-128, with tagged fields so that field boundaries cannot blur (ccache's
 * hash_delimiter idea): every field is hashed as tag, length, bytes.
 */
#ifndef ASH_HASH_H
#define ASH_HASH_H

#include "util.h"

typedef struct ash_hash {
    uint8_t bytes[16];
} ash_hash;

/* XXH3-128 of data[0..len), in canonical (big-endian) byte order. */
ash_hash ash__hash_bytes(const void *data, size_t len);
/* 64-bit XXH3 (checksums of cache files). */
uint64_t ash__hash64(const void *data, size_t len);
/* 32 lowercase hex digits plus NUL into out[33]. */
void ash__hash_hex(const ash_hash *h, char out[33]);
int ash__hash_equal(const ash_hash *a, const ash_hash *b);

/* Streaming hasher over tagged fields. */
typedef struct ash_hasher {
    void *state; /* XXH3_state_t, allocated */
} ash_hasher;

int ash__hasher_init(ash_hasher *h);
/* Hash `tag`, then the length, then the bytes. */
void ash__hasher_field(ash_hasher *h, const char *tag, const void *data, size_t len);
/* Hash a file: `shown` behind `tag` (its name as the key should see it, e.g. relative to a
 * root), then its content's XXH3-128 behind "content", or zeros behind "unreadable" when
 * `path` cannot be read. 0 or ASH_ENOMEM. */
int ash__hasher_file(ash_hasher *h, const char *tag, const char *shown, const char *path);
ash_hash ash__hasher_final(ash_hasher *h);
void ash__hasher_free(ash_hasher *h);

#endif
