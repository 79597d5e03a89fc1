/*
 * Installing the embedded Python files (see embedded.h). The directory name carries the hash
 * of their contents, so a binary never runs another version's plugin, and two runs at once
 * write the same bytes atomically.
 */
#include "embedded.h"

#include "hash.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ash__embedded_install(char **out, const char *dir)
{
    *out = NULL;
    ash_hasher h;
    if (ash__hasher_init(&h) < 0) {
        return ASH_ENOMEM;
    }
    for (size_t i = 0; i < ash__embedded_file_count; i++) {
        const ash_embedded_file *f = &ash__embedded_files[i];
        ash__hasher_field(&h, f->name, f->data, f->size);
    }
    ash_hash sum = ash__hasher_final(&h);
    ash__hasher_free(&h);
    char hex[33], name[48];
    ash__hash_hex(&sum, hex);
    snprintf(name, sizeof(name), "python-%.16s", hex);
    char *target = ash__path_join(dir, name);
    if (!target) {
        return ash__error_oom();
    }
    if (mkdir(target, 0700) < 0 && errno != EEXIST) {
        int rc = ash__error(ASH_EIO, "%s: %s", target, strerror(errno));
        ash__free(target);
        return rc;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ash__embedded_file_count; i++) {
        const ash_embedded_file *f = &ash__embedded_files[i];
        char *path = ash__path_join(target, f->name);
        struct stat st;
        if (!path) {
            rc = ash__error_oom();
        } else if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != f->size) {
            rc = ash__write_atomic(path, f->data, f->size);
        }
        ash__free(path);
    }
    if (rc < 0) {
        ash__free(target);
        return rc;
    }
    *out = target;
    return 0;
}
