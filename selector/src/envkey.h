/*
 * The environment key: what every test module's outcome depends on besides its own files. The
 * interpreter (path and version), the installed distributions (name==version from the
 * environment's metadata, or the content of configured lockfiles), the values of configured
 * environment variables, pytest's arguments less those that only change its output, and
 * aftershock's version and cache format. Each field is hashed behind a tag.
 */
#ifndef ASH_ENVKEY_H
#define ASH_ENVKEY_H

#include "envinfo.h"
#include "util.h"

#include "aftershock/selector.h"

/* Bump when what goes into the key, or what cached results hold, changes. */
#define ASH_CACHE_FORMAT 1

typedef struct ash_env_key_input {
    const ash_envinfo *env; /* interpreter facts; unavailable facts are keyed as such */
    const char *root;       /* absolute project root, for lockfiles */
    char *const *env_vars;  /* names of environment variables that matter */
    size_t env_var_count;
    char *const *lockfiles; /* globs relative to root; none: distributions from metadata */
    size_t lockfile_count;
    char *const *pytest_args;
    size_t pytest_arg_count;
} ash_env_key_input;

/* One named part of the key ("aftershock", "python", "distributions", "env:NAME",
 * "pytest-args"), so that a change can be explained by naming the part that changed. */
typedef struct ash_env_field {
    char *name; /* owned */
    ash_key hash;
} ash_env_field;

typedef struct ash_env_key {
    ash_key key;           /* the hash of every field's name and hash */
    ash_env_field *fields; /* owned, in the order above; env vars sorted by name */
    size_t count;
} ash_env_key;

/* The input of a project whose graph was built: its interpreter facts, root, configured env
 * vars and lockfiles; no pytest arguments. */
void ash__env_key_input_of(ash_env_key_input *in, const ash_project *project);

/* Compute the key. A lockfile glob matching nothing is keyed as missing (adding the file
 * changes the key) with a warning. 0 or ASH_ENOMEM (then `*out` holds nothing). */
int ash__env_key(ash_env_key *out, const ash_env_key_input *in, ash_diag_fn diag, void *payload);
void ash__env_key_free(ash_env_key *key);

/* Does pytest argument `arg` only change pytest's output (-q, -v, --tb=..., -r..., --color=...)? */
int ash__pytest_arg_is_cosmetic(const char *arg);

#endif
