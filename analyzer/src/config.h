/*
 * aftershock's configuration: the `[tool.aftershock]` table of a project's pyproject.toml.
 * A configuration problem never stops the tool: it is reported as a warning and the default is
 * used for what was wrong.
 */
#ifndef ASH_CONFIG_H
#define ASH_CONFIG_H

#include "util.h"

#include <stddef.h>

/** The configuration; every pointer in it is owned by it (see `ash__config_free`). */
typedef struct ash_config {
    /** `roots = ["src", "libs/a"]`: source roots relative to the project root, normalised
     *  ("./src/" is "src", "." is ""), without duplicates. */
    char **roots;
    size_t root_count;
    /** 1 when `roots` was given and at least one root was usable (or the list was empty). */
    int roots_set;
    /** `exclude = ["tests/fixtures", ...]`: glob strings, kept verbatim. */
    char **exclude;
    size_t exclude_count;
    /** `python = "path"`: the interpreter; NULL if unset. */
    char *python;
    /** `type-checking-imports = true|false` (or `type_checking_imports`); default 1. */
    int type_checking_imports;
    /** `env = ["DJANGO_SETTINGS_MODULE", ...]`: variables whose values decide test outcomes. */
    char **env;
    size_t env_count;
    /** `lockfiles = ["uv.lock", "requirements*.txt"]`: globs relative to the root; when set,
     *  their contents stand for the installed distributions in the environment key. */
    char **lockfiles;
    size_t lockfile_count;
    /** `data = { "<glob>" = ["<glob>", ...] }`: files (globs, relative to
     *  the root) that the test modules matching a glob read; they count as those modules'
     *  inputs. In document order. */
    struct ash_config_data *data;
    size_t data_count;
    /** `cache-dir = "path"`: where results are cached (relative to the root unless absolute);
     *  NULL: `.aftershock/cache`. */
    char *cache_dir;
    /** `cache-size = "1GiB"` (or a number of bytes): the result cache's cap; 0: the default. */
    uint64_t cache_size;
    /** `remote = "http://host/prefix"`: the shared result cache; NULL: none. */
    char *remote;
    /** `remote-timeout = 5`: seconds a request to it may stall; 0: the default. */
    double remote_timeout;
    /** `read-scopes = ["main"]`: the scopes read after the run's own, in order. */
    char **read_scopes;
    size_t read_scope_count;
} ash_config;

/** One `data` rule: test modules matching `pattern` read the files matching `files`. */
typedef struct ash_config_data {
    char *pattern;
    char **files;
    size_t file_count;
} ash_config_data;

/** Parse a size: a number of bytes with an optional unit (K, M, G, T, KB, KiB...: powers of
 *  1024). 0 when `s` is not one. */
uint64_t ash__parse_size(const char *s);

/** Set `*config` to the defaults; it then owns nothing. */
void ash__config_init(ash_config *config);

/**
 * Replace `*config` (initialised or loaded before) by the defaults overlaid with
 * `[tool.aftershock]` of `<root>/<pyproject_relpath>` (`root` NULL: `pyproject_relpath` as is).
 * A missing file gives the defaults. An unreadable or malformed file, a key of the wrong type
 * or an unknown key is reported through `diag` (path `pyproject_relpath`, a message starting
 * with "line N: " where there is a line) and the default is kept for what was wrong. Borrows
 * every argument for the duration of the call. Returns 0, or ASH_ENOMEM (then `*config` holds
 * the defaults). Thread-safe for distinct configs.
 */
int ash__config_load(ash_config *config, const char *root, const char *pyproject_relpath,
                     ash_diag_fn diag, void *payload);

/** Free what `*config` owns and reset it to the defaults; NULL does nothing. */
void ash__config_free(ash_config *config);

#endif
