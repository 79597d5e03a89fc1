/*
 * Unit tests of the content hashing (analyzer/src/hash.c): XXH3-128 in canonical big-endian
 * order (checked against xxHash's own one-shot functions and a published vector), hex output,
 * and the tagged streaming hasher whose field boundaries cannot blur.
 */
#define XXH_INLINE_ALL
#include "hash.h"

#include <xxhash.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void hex_of(const ash_hash *h, char out[33])
{
    ash__hash_hex(h, out);
}

/* The canonical big-endian bytes of XXH3-128 as xxHash computes them. */
static ash_hash reference(const void *data, size_t len)
{
    XXH128_hash_t r = XXH3_128bits(data, len);
    ash_hash h;
    for (int i = 0; i < 8; i++) {
        h.bytes[i] = (uint8_t)(r.high64 >> (56 - 8 * i));
        h.bytes[8 + i] = (uint8_t)(r.low64 >> (56 - 8 * i));
    }
    return h;
}

static void test_known_vectors(void **state)
{
    (void)state;
    char hex[33];
    /* XXH3-128 of the empty input: high64 99aa06d3014798d8, low64 6001c324468d497f */
    ash_hash h = ash__hash_bytes("", 0);
    hex_of(&h, hex);
    assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
    /* XXH3-64 of the empty input */
    assert_true(ash__hash64("", 0) == UINT64_C(0x2D06800538D394C2));
}

static void test_matches_xxhash_big_endian(void **state)
{
    (void)state;
    static char data[5000];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (char)(i * 31 + 7);
    }
    /* lengths across XXH3's internal size classes */
    static const size_t lens[] = {0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 5000};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(lens); i++) {
        ash_hash got = ash__hash_bytes(data, lens[i]);
        ash_hash want = reference(data, lens[i]);
        assert_memory_equal(got.bytes, want.bytes, 16);
        assert_true(ash__hash64(data, lens[i]) == XXH3_64bits(data, lens[i]));
    }
}

static void test_deterministic_and_distinct(void **state)
{
    (void)state;
    ash_hash a1 = ash__hash_bytes("hello", 5), a2 = ash__hash_bytes("hello", 5);
    ash_hash b = ash__hash_bytes("hellp", 5), c = ash__hash_bytes("hell", 4);
    assert_true(ash__hash_equal(&a1, &a2));
    assert_false(ash__hash_equal(&a1, &b));
    assert_false(ash__hash_equal(&a1, &c));
    assert_false(ash__hash_equal(&b, &c));
    assert_true(ash__hash64("hello", 5) == ash__hash64("hello", 5));
    assert_true(ash__hash64("hello", 5) != ash__hash64("hellp", 5));
    assert_true(ash__hash64("hello", 5) != ash__hash64("hello", 4));
    /* embedded NUL matters */
    ash_hash n1 = ash__hash_bytes("a\0b", 3), n2 = ash__hash_bytes("a\0c", 3);
    assert_false(ash__hash_equal(&n1, &n2));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void test_hex(void **state)
{
    (void)state;
    ash_hash h = ash__hash_bytes("some content", 12);
    char hex[33];
    memset(hex, 'X', sizeof(hex));
    ash__hash_hex(&h, hex);
    assert_int_equal(strlen(hex), 32);
    for (int i = 0; i < 16; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0); /* lowercase hex only */
        assert_int_equal(hi * 16 + lo, h.bytes[i]);
    }
    ash_hash fixed;
    for (int i = 0; i < 16; i++) {
        fixed.bytes[i] = (uint8_t)(i * 17);
    }
    ash__hash_hex(&fixed, hex);
    assert_string_equal(hex, "00112233445566778899aabbccddeeff");
}

static ash_hash hash_fields(const char *const *tags, const char *const *values, int n)
{
    ash_hasher h;
    assert_int_equal(ash__hasher_init(&h), 0);
    for (int i = 0; i < n; i++) {
        ash__hasher_field(&h, tags[i], values[i], strlen(values[i]));
    }
    ash_hash out = ash__hasher_final(&h);
    ash__hasher_free(&h);
    assert_null(h.state);
    return out;
}

static void test_fields_cannot_blur(void **state)
{
    (void)state;
    const char *tags[] = {"t", "t"};
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"}, *abc_[] = {"abc", ""};
    ash_hash x = hash_fields(tags, ab_c, 2), y = hash_fields(tags, a_bc, 2);
    ash_hash z = hash_fields(tags, abc_, 2);
    assert_false(ash__hash_equal(&x, &y));
    assert_false(ash__hash_equal(&x, &z));
    assert_false(ash__hash_equal(&y, &z));
    /* the same fields give the same hash */
    ash_hash x2 = hash_fields(tags, ab_c, 2);
    assert_true(ash__hash_equal(&x, &x2));
    /* the tag counts: same data under another tag differs */
    const char *tags2[] = {"t", "u"};
    ash_hash w = hash_fields(tags2, ab_c, 2);
    assert_false(ash__hash_equal(&x, &w));
    /* tag and data cannot trade bytes either */
    const char *ta[] = {"ta"}, *t[] = {"t"}, *b1[] = {"b"}, *ab1[] = {"ab"};
    ash_hash p = hash_fields(ta, b1, 1), q = hash_fields(t, ab1, 1);
    assert_false(ash__hash_equal(&p, &q));
    /* one field of "abc" is not three fields, nor the plain hash */
    const char *t3[] = {"t", "t", "t"}, *a_b_c[] = {"a", "b", "c"}, *abc1[] = {"abc"};
    ash_hash r = hash_fields(t3, a_b_c, 3), s = hash_fields(t, abc1, 1);
    ash_hash plain = ash__hash_bytes("abc", 3);
    assert_false(ash__hash_equal(&r, &s));
    assert_false(ash__hash_equal(&s, &plain));
    /* no fields at all is XXH3-128 of nothing */
    ash_hash none = hash_fields(NULL, NULL, 0), empty = ash__hash_bytes("", 0);
    assert_true(ash__hash_equal(&none, &empty));
}

static void test_field_encoding(void **state)
{
    (void)state;
    /* tag, NUL, length as 8 little-endian bytes, data: as documented in hash.h/hash.c */
    unsigned char expect[] = {'k', 'e', 'y', 0, 5, 0, 0, 0, 0, 0, 0, 0, 'v', 'a', 'l', 'u', 'e'};
    ash_hasher h;
    assert_int_equal(ash__hasher_init(&h), 0);
    ash__hasher_field(&h, "key", "value", 5);
    ash_hash got = ash__hasher_final(&h);
    ash__hasher_free(&h);
    ash_hash want = ash__hash_bytes(expect, sizeof(expect));
    assert_true(ash__hash_equal(&got, &want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_matches_xxhash_big_endian),
        cmocka_unit_test(test_deterministic_and_distinct),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_fields_cannot_blur),
        cmocka_unit_test(test_field_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
