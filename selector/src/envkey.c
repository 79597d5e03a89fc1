/*
 * The environment key (see envkey.h). Environment variables are keyed in name order, so the
 * order of `env = [...]` does not matter; an unset variable and an empty one differ.
 */
#include "envkey.h"

#include "hash.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>

int ash__pytest_arg_is_cosmetic(const char *a)
{
    static const char *const exact[] = {
        "-q",
        "-qq",
        "--quiet",
        "-v",
        "-vv",
        "-vvv",
        "--verbose",
        "--no-header",
        "--no-summary",
        "-l",
        "--showlocals",
        "--no-showlocals",
        "--force-short-summary",
    };
    static const char *const prefixes[] = {"--tb=",        "--color=",         "--code-highlight=",
                                           "--durations=", "--durations-min=", "--verbosity="};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(exact); i++) {
        if (strcmp(a, exact[i]) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < ASH_ARRAY_SIZE(prefixes); i++) {
        if (strncmp(a, prefixes[i], strlen(prefixes[i])) == 0) {
            return 1;
        }
    }
    /* -r<chars>: which outcomes the summary lists */
    return a[0] == '-' && a[1] == 'r' && a[2] && strspn(a + 2, "fEsxXpPaAN") == strlen(a + 2);
}

static void field_str(ash_hasher *h, const char *tag, const char *s)
{
    ash__hasher_field(h, tag, s, strlen(s));
}

/* Distributions: the configured lockfiles' contents, else name==version per distribution. */
static int key_distributions(ash_hasher *h, const ash_env_key_input *in, ash_diag_fn diag,
                             void *payload)
{
    if (in->lockfile_count == 0) {
        const char *facts = ash__envinfo_facts(in->env);
        for (const char *p = facts; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            if (n > 5 && strncmp(p, "dist ", 5) == 0) {
                ash__hasher_field(h, "dist", p + 5, n - 5);
            }
            p += n + (nl ? 1 : 0);
        }
        return 0;
    }
    for (size_t i = 0; i < in->lockfile_count; i++) {
        char *pattern = ash__path_join(in->root, in->lockfiles[i]);
        if (!pattern) {
            return ash__error_oom();
        }
        glob_t g;
        int found = glob(pattern, 0, NULL, &g) == 0; /* glob sorts its matches */
        ash__free(pattern);
        if (!found) {
            ash__diag(diag, payload, NULL, "lockfile %s matches no file; keyed as missing",
                      in->lockfiles[i]);
            field_str(h, "lockfile-missing", in->lockfiles[i]);
            continue;
        }
        size_t rootlen = strlen(in->root);
        for (size_t k = 0; k < g.gl_pathc; k++) {
            char *data;
            size_t len;
            int rc = ash__read_file(&data, &len, g.gl_pathv[k], 0);
            if (rc == ASH_ENOMEM) {
                globfree(&g);
                return rc;
            }
            ash_hash content = rc == 0 ? ash__hash_bytes(data, len) : (ash_hash){{0}};
            ash__free(data);
            field_str(h, "lockfile", g.gl_pathv[k] + rootlen + 1);
            ash__hasher_field(h, rc == 0 ? "content" : "unreadable", content.bytes, 16);
        }
        globfree(&g);
    }
    return 0;
}

static int key_env_vars(ash_hasher *h, const ash_env_key_input *in)
{
    char **names = ash__malloc((in->env_var_count ? in->env_var_count : 1) * sizeof(char *));
    if (!names) {
        return ash__error_oom();
    }
    if (in->env_var_count) {
        memcpy(names, in->env_vars, in->env_var_count * sizeof(char *));
        qsort(names, in->env_var_count, sizeof(char *), ash__cmp_strp);
    }
    for (size_t i = 0; i < in->env_var_count; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) {
            continue;
        }
        const char *value = getenv(names[i]);
        field_str(h, "env-name", names[i]);
        if (value) {
            field_str(h, "env-value", value);
        } else {
            field_str(h, "env-unset", "");
        }
    }
    ash__free(names);
    return 0;
}

int ash__env_key(ash_key *out, const ash_env_key_input *in, ash_diag_fn diag, void *payload)
{
    ash_hasher h;
    if (ash__hasher_init(&h) < 0) {
        return ASH_ENOMEM;
    }
    char format[16];
    snprintf(format, sizeof(format), "%d", ASH_CACHE_FORMAT);
    field_str(&h, "aftershock", ASH_VERSION);
    field_str(&h, "cache-format", format);
    if (ash__envinfo_available(in->env)) {
        field_str(&h, "python", ash__envinfo_python(in->env));
        field_str(&h, "python-version", ash__envinfo_version(in->env));
    } else {
        field_str(&h, "python-unavailable", "");
    }
    int rc = key_distributions(&h, in, diag, payload);
    if (rc == 0) {
        rc = key_env_vars(&h, in);
    }
    for (size_t i = 0; rc == 0 && i < in->pytest_arg_count; i++) {
        if (!ash__pytest_arg_is_cosmetic(in->pytest_args[i])) {
            field_str(&h, "pytest-arg", in->pytest_args[i]);
        }
    }
    if (rc == 0) {
        ash_hash key = ash__hasher_final(&h);
        memcpy(out->bytes, key.bytes, 16);
    }
    ash__hasher_free(&h);
    return rc;
}
