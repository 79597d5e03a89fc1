/*
 * Fuzz target: aftershock's configuration, `[tool.aftershock]` of pyproject.toml (config.c on
 * top of toml.c). config.c reads a path only, so the input is written to pyproject.toml in the
 * scratch directory. Loading never fails on bad input (only on allocation failure): what is
 * wrong is reported and the default kept. The result is loaded twice, the second time over
 * the first (as a reload replaces a configuration), and every string in it is read.
 */
#include "config.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void read_list(char *const *list, size_t count)
{
    ASH_FUZZ_CHECK(count == 0 || list != NULL);
    for (size_t i = 0; i < count; i++) {
        ASH_FUZZ_CHECK(list[i] != NULL);
        (void)strlen(list[i]);
    }
}

/* A normalised root: "" or '/'-separated parts, none of them empty, "." or "..". */
static int normalised(const char *r)
{
    if (!*r) {
        return 1;
    }
    for (const char *part = r;;) {
        size_t len = strcspn(part, "/");
        if (len == 0 || (len == 1 && part[0] == '.') ||
            (len == 2 && part[0] == '.' && part[1] == '.')) {
            return 0;
        }
        if (!part[len]) {
            return 1;
        }
        part += len + 1;
    }
}

static void check_config(const ash_config *c)
{
    read_list(c->roots, c->root_count);
    for (size_t i = 0; i < c->root_count; i++) {
        ASH_FUZZ_CHECK(normalised(c->roots[i]));
    }
    ASH_FUZZ_CHECK(c->roots_set || c->root_count == 0);
    read_list(c->exclude, c->exclude_count);
    read_list(c->env, c->env_count);
    read_list(c->lockfiles, c->lockfile_count);
    ASH_FUZZ_CHECK(c->data_count == 0 || c->data != NULL);
    for (size_t i = 0; i < c->data_count; i++) {
        ASH_FUZZ_CHECK(c->data[i].pattern != NULL);
        read_list(c->data[i].files, c->data[i].file_count);
    }
    ASH_FUZZ_CHECK(!c->python || *c->python);
    ASH_FUZZ_CHECK(!c->cache_dir || *c->cache_dir);
    ASH_FUZZ_CHECK(c->type_checking_imports == 0 || c->type_checking_imports == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[1024];
    ash_fuzz__path(path, sizeof(path), "pyproject.toml");
    ash_fuzz__write(path, data, size);
    ash_config config;
    ash__config_init(&config);
    for (int round = 0; round < 2; round++) {
        int rc = ash__config_load(&config, ash_fuzz__dir(), "pyproject.toml", ash_fuzz__diag, NULL);
        ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
        check_config(&config);
    }
    /* the size parser on the input as a string, too */
    char *s = ash_fuzz__cstr(data, size < 64 ? size : 64);
    (void)ash__parse_size(s);
    free(s);
    ash__config_free(&config);
    return 0;
}
