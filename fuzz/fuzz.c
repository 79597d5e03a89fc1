/*
 * Helpers of the fuzz targets (see fuzz.h): the scratch directory that path-based readers are
 * given, and small checked wrappers.
 */
#include "fuzz.h"

#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[512];

void ash_fuzz__fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_scratch(void)
{
    if (scratch[0]) {
        nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *ash_fuzz__dir(void)
{
    if (scratch[0]) {
        return scratch;
    }
    const char *base = getenv("TMPDIR");
    if (!base || !*base) {
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    }
    int n = snprintf(scratch, sizeof(scratch), "%s/ash-fuzz-XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof(scratch) || !mkdtemp(scratch)) {
        fprintf(stderr, "fuzz: cannot create a scratch directory in %s: %s\n", base,
                strerror(errno));
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

void ash_fuzz__path(char *out, size_t size, const char *rel)
{
    int n = snprintf(out, size, "%s/%s", ash_fuzz__dir(), rel);
    ASH_FUZZ_CHECK(n > 0 && (size_t)n < size);
}

void ash_fuzz__write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
        abort();
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

size_t ash_fuzz__diag_bytes;

void ash_fuzz__diag(const char *path, const char *message, void *payload)
{
    (void)payload;
    ash_fuzz__diag_bytes += (path ? strlen(path) : 0) + strlen(message);
}

char *ash_fuzz__cstr(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    ASH_FUZZ_CHECK(s != NULL);
    if (len) {
        memcpy(s, data, len);
    }
    s[len] = '\0';
    return s;
}

uint8_t *ash_fuzz__copy(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    ASH_FUZZ_CHECK(copy != NULL);
    if (len) {
        memcpy(copy, data, len);
    }
    return copy;
}

void ash_fuzz__fix_checksum(uint8_t *file, size_t len)
{
    if (len < 8) {
        return;
    }
    uint64_t sum = ash__hash64(file, len - 8);
    for (int k = 0; k < 8; k++) {
        file[len - 8 + k] = (uint8_t)(sum >> (8 * k));
    }
}
