/*
 * Fuzz target: the parse-cache reader (pcache.c), which loads <cache dir>/parse-cache.bin. The
 * first input byte is flags, the rest the file: flag 1 rewrites the trailing XXH3-64 checksum
 * so that mutated files get past it to the structure checks (without it the fuzzer would only
 * ever test the checksum). Every entry of a file that loads is then read through every
 * accessor, and its records' digest must equal the digest of its records re-encoded.
 */
#include "fuzz.h"
#include "hash.h"
#include "pcache.h"

#include "aftershock/analyzer.h"

#include <stdlib.h>
#include <string.h>

enum { FIX_CHECKSUM = 1 };

/*
 * Known issue, reported with a patch for analyzer/src/pcache.c: read_record() accepts NUL bytes
 * inside module, package and name strings (the writer never stores any), and such records read
 * back truncated, so their re-encoding is shorter than what the file holds and the digests
 * differ. Until the reader refuses them, a digest mismatch is tolerated when the re-encoding
 * is shorter than the stored records (their length is read from the file: entry i is at
 * 40 + 72 * i, its records_len at offset 64 in it). Set to 0 once pcache.c is fixed.
 */
#define TOLERATE_NUL_IN_RECORDS 0

static uint32_t stored_records_len(const uint8_t *file, long i)
{
    const uint8_t *p = file + 40 + 72 * (size_t)i + 64;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_entry(ash_pcache *c, long i, ash_buf *scratch, const uint8_t *file)
{
    const ash_hash *h = ash__pcache_hash(c, i);
    long by_hash = ash__pcache_find_hash(c, h);
    ASH_FUZZ_CHECK(by_hash >= 0 && (size_t)by_hash < ash__pcache_count(c));
    ash_filestat st = {0};
    (void)ash__pcache_fresh(c, i, &st);
    ash_imports *imp = NULL;
    ash_buf messages = ASH_BUF_INIT;
    int rc = ash__pcache_imports(c, i, &imp, &messages);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ERROR || rc == ASH_ENOMEM);
    if (rc == 0) {
        size_t n = ash_imports_count(imp);
        for (size_t k = 0; k < n; k++) {
            const ash_import *r = ash_imports_get(imp, k);
            ASH_FUZZ_CHECK(r && r->module);
            for (uint32_t m = 0; m < r->name_count; m++) {
                (void)strlen(r->names[m]);
            }
        }
        /* equal digests must mean equal records, whichever way they were obtained */
        ash_hash stored, again;
        ash__pcache_digest(c, i, &stored);
        rc = ash__pcache_digest_of(&again, imp, ash__buf_cstr(&messages), scratch);
        ASH_FUZZ_CHECK(rc == 0 || rc == ASH_EINVAL || rc == ASH_ENOMEM);
        /* (warnings are passed on as a C string: one with a NUL byte cannot round-trip) */
        if (rc == 0 && !memchr(messages.ptr ? messages.ptr : "", '\0', messages.len)) {
            ASH_FUZZ_CHECK(ash__hash_equal(&stored, &again) ||
                           (TOLERATE_NUL_IN_RECORDS && scratch->len < stored_records_len(file, i)));
        }
    }
    ash_imports_free(imp);
    ash__buf_free(&messages);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    unsigned flags = data[0];
    size_t len = size - 1;
    uint8_t *file = ash_fuzz__copy(data + 1, len);
    if (flags & FIX_CHECKSUM) {
        ash_fuzz__fix_checksum(file, len);
    }
    char path[1024];
    ash_fuzz__path(path, sizeof(path), "parse-cache.bin");
    ash_fuzz__write(path, file, len);

    ash_pcache *c = NULL;
    int rc = ash__pcache_open(&c, ash_fuzz__dir(), ash_fuzz__diag, NULL);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc < 0) {
        free(file);
        return 0;
    }
    ash_buf scratch = ASH_BUF_INIT;
    size_t n = ash__pcache_count(c);
    for (size_t i = 0; i < n; i++) {
        check_entry(c, (long)i, &scratch, file);
    }
    static const char *const paths[] = {"", "a.py", "src/shop/cart.py", "tests/test_cart.py"};
    for (size_t k = 0; k < ASH_ARRAY_SIZE(paths); k++) {
        long i = ash__pcache_find(c, paths[k]);
        ASH_FUZZ_CHECK(i >= -1 && i < (long)n);
    }
    ash__buf_free(&scratch);
    ash__pcache_free(c);
    free(file);
    return 0;
}
