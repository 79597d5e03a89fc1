/*
 * The Python side of the selector, carried inside the library (generated from
 * selector/python/ at build time by cmake/embed.cmake): the internal pytest plugin the workers
 * load and the coverage report script. Written out to a directory when a run needs them.
 */
#ifndef ASH_EMBEDDED_H
#define ASH_EMBEDDED_H

#include <stddef.h>

typedef struct ash_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} ash_embedded_file;

extern const ash_embedded_file ash__embedded_files[];
extern const size_t ash__embedded_file_count;

/*
 * Write the embedded files into `<dir>/python-<hash of their contents>/` unless it is there
 * already (each file atomically), and give that directory's path (owned) in `*out`. `dir`
 * must be private to the caller (a run's own temporary directory): what is there is
 * executed, so it must not be a directory others can write, such as a shared cache.
 */
int ash__embedded_install(char **out, const char *dir);

#endif
