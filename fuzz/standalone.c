/*
 * main() for a fuzz target built without libFuzzer (the "standalone driver" idea): every file
 * named on the command line, and every regular file in every directory named there, is given
 * to LLVMFuzzerTestOneInput once, in name order. A missing directory is skipped (a target may
 * have no saved regressions yet). Exit status 0 when every input ran; a bug aborts.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    ASH_FUZZ_CHECK(data != NULL);
    size_t got;
    while ((got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(data, cap *= 2);
            ASH_FUZZ_CHECK(bigger != NULL);
            data = bigger;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: read error\n", path);
        free(data);
        return -1;
    }
    /* an exact-size copy, so that ASan sees a read past the input's end */
    uint8_t *exact = malloc(len ? len : 1);
    ASH_FUZZ_CHECK(exact != NULL);
    if (len) {
        memcpy(exact, data, len);
    }
    free(data);
    fprintf(stderr, "running %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int skip_dot(const struct dirent *de)
{
    return de->d_name[0] != '.';
}

static int run_dir(const char *dir, int *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dot, alphasort);
    if (n < 0) {
        return errno == ENOENT ? 0 : -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(path);
            *count += rc == 0;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else if (stat(argv[i], &st) == 0) {
            rc = run_file(argv[i]);
            count += rc == 0;
        } else if (errno != ENOENT) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            rc = -1;
        }
    }
    fprintf(stderr, "%s: %d input(s) ran\n", argv[0], count);
    return rc == 0 ? 0 : 1;
}
