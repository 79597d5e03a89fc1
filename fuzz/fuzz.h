/*
 * What the fuzz targets of fuzz/ share. Each fuzz_<name>.c defines LLVMFuzzerTestOneInput and
 * is built twice: as a libFuzzer executable (ASH_FUZZ, clang, `make fuzz`) and, with
 * standalone.c for main(), as a plain executable that replays its seeds and saved crash inputs
 * under CTest. A target never leaks on any path (libFuzzer's leak detection is on) and checks
 * its invariants with ASH_FUZZ_CHECK, which aborts in release builds too.
 */
#ifndef ASH_FUZZ_H
#define ASH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point each target defines: always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the failed condition: a broken invariant is a finding like a crash. */
#define ASH_FUZZ_CHECK(cond)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ash_fuzz__fail(__FILE__, __LINE__, #cond);                                             \
        }                                                                                          \
    } while (0)

void ash_fuzz__fail(const char *file, int line, const char *what) __attribute__((noreturn));

/*
 * The scratch directory of this process, created on first use (in $TMPDIR, else /dev/shm, else
 * /tmp) and removed with everything in it at exit. Borrowed; never NULL (aborts on failure).
 */
const char *ash_fuzz__dir(void);

/* "<scratch dir>/<rel>" in a buffer of the caller's of `size` bytes (aborts when too small). */
void ash_fuzz__path(char *out, size_t size, const char *rel);

/* Replace the file at `path` with data[0..len) (no fsync: a scratch file); aborts on failure. */
void ash_fuzz__write(const char *path, const void *data, size_t len);

/* A diag callback that reads every byte of what it is given, so that a message built from
 * freed or unterminated memory shows up under ASan; ash_fuzz__diag_bytes counts them. */
void ash_fuzz__diag(const char *path, const char *message, void *payload);
extern size_t ash_fuzz__diag_bytes;

/* A NUL-terminated copy of data[0..len) (owned by the caller: free()); aborts when out of
 * memory. */
char *ash_fuzz__cstr(const uint8_t *data, size_t len);

/* A copy of data[0..len) (owned by the caller: free()); aborts when out of memory. */
uint8_t *ash_fuzz__copy(const uint8_t *data, size_t len);

/* Rewrite the last 8 bytes of file[0..len) as the XXH3-64 of the bytes before them, little-
 * endian: the trailer of every checksummed cache file, so that the fuzzer reaches the
 * decoder behind the checksum. Nothing when len < 8. */
void ash_fuzz__fix_checksum(uint8_t *file, size_t len);

#endif
