/*
 * The environment key (see envkey.h). Environment variables are keyed in name order, so the
 * order of `env = [...]` does not matter; an unset variable and an empty one differ.
 */
#include "envkey.h"

#include "hash.h"
#include "project.h"

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
            if (ash__hasher_file(h, "lockfile", g.gl_pathv[k] + rootlen + 1, g.gl_pathv[k]) < 0) {
                globfree(&g);
                return ASH_ENOMEM;
            }
        }
        globfree(&g);
    }
    return 0;
}

/* One field group: its own hasher, ended as a named field of the key. */
typedef struct field_sink {
    ash_env_key *out;
    size_t cap;
} field_sink;

static int add_field(field_sink *sink, const char *name, ash_hasher *h)
{
    ash_env_key *k = sink->out;
    if (ash__grow((void **)&k->fields, &sink->cap, k->count + 1, sizeof(*k->fields)) < 0) {
        return ash__error_oom();
    }
    ash_env_field *f = &k->fields[k->count];
    if (!(f->name = ash__strdup(name))) {
        return ash__error_oom();
    }
    ash_hash hash = ash__hasher_final(h);
    memcpy(f->hash.bytes, hash.bytes, 16);
    k->count++;
    return 0;
}

/* Environment variables in name order (the order of `env = [...]` does not matter), one field
 * each, so that a change names its variable. */
static int key_env_vars(field_sink *sink, const ash_env_key_input *in)
{
    char **names = ash__malloc((in->env_var_count ? in->env_var_count : 1) * sizeof(char *));
    if (!names) {
        return ash__error_oom();
    }
    if (in->env_var_count) {
        memcpy(names, in->env_vars, in->env_var_count * sizeof(char *));
        qsort(names, in->env_var_count, sizeof(char *), ash__cmp_strp);
    }
    int rc = 0;
    ash_buf name = ASH_BUF_INIT;
    for (size_t i = 0; rc == 0 && i < in->env_var_count; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) {
            continue;
        }
        ash_hasher h;
        if (ash__hasher_init(&h) < 0) {
            rc = ASH_ENOMEM;
            break;
        }
        const char *value = getenv(names[i]);
        field_str(&h, value ? "env-value" : "env-unset", value ? value : "");
        ash__buf_clear(&name);
        rc = ash__buf_printf(&name, "env:%s", names[i]);
        if (rc == 0) {
            rc = add_field(sink, ash__buf_cstr(&name), &h);
        }
        ash__hasher_free(&h);
    }
    ash__buf_free(&name);
    ash__free(names);
    return rc;
}

/* Fill field `name` with `fill`; 0 or ASH_ENOMEM. */
static int field(field_sink *sink, const char *name, const ash_env_key_input *in,
                 int (*fill)(ash_hasher *h, const ash_env_key_input *in, ash_diag_fn diag,
                             void *payload),
                 ash_diag_fn diag, void *payload)
{
    ash_hasher h;
    if (ash__hasher_init(&h) < 0) {
        return ASH_ENOMEM;
    }
    int rc = fill(&h, in, diag, payload);
    if (rc == 0) {
        rc = add_field(sink, name, &h);
    }
    ash__hasher_free(&h);
    return rc;
}

static int key_aftershock(ash_hasher *h, const ash_env_key_input *in, ash_diag_fn diag,
                          void *payload)
{
    (void)in, (void)diag, (void)payload;
    char format[16];
    snprintf(format, sizeof(format), "%d", ASH_CACHE_FORMAT);
    field_str(h, "aftershock", ASH_VERSION);
    field_str(h, "cache-format", format);
    return 0;
}

static int key_python(ash_hasher *h, const ash_env_key_input *in, ash_diag_fn diag, void *payload)
{
    (void)diag, (void)payload;
    if (ash__envinfo_available(in->env)) {
        field_str(h, "python", ash__envinfo_python(in->env));
        field_str(h, "python-version", ash__envinfo_version(in->env));
    } else {
        field_str(h, "python-unavailable", "");
    }
    return 0;
}

static int key_pytest_args(ash_hasher *h, const ash_env_key_input *in, ash_diag_fn diag,
                           void *payload)
{
    (void)diag, (void)payload;
    /* pytest-xdist's worker count and distribution: `aftershock run` runs each module in one
     * process whatever they say (its workers switch xdist off), so they decide no outcome */
    static const char *const xdist_options[] = {"-n", "--numprocesses", "--dist", "--maxprocesses"};
    for (size_t i = 0; i < in->pytest_arg_count; i++) {
        const char *a = in->pytest_args[i];
        int xdist_value = 0;
        for (size_t k = 0; k < ASH_ARRAY_SIZE(xdist_options); k++) {
            size_t n = strlen(xdist_options[k]);
            if (strncmp(a, xdist_options[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                xdist_value = a[n] == '\0' ? 2 : 1; /* the value follows, or is attached */
            }
        }
        if (xdist_value || (a[0] == '-' && a[1] == 'n' && a[2] >= '0' && a[2] <= '9')) {
            i += xdist_value == 2;
            continue;
        }
        if (!ash__pytest_arg_is_cosmetic(a)) {
            field_str(h, "pytest-arg", a);
        }
    }
    return 0;
}

int ash__env_key(ash_env_key *out, const ash_env_key_input *in, ash_diag_fn diag, void *payload)
{
    memset(out, 0, sizeof(*out));
    field_sink sink = {out, 0};
    int rc = field(&sink, "aftershock", in, key_aftershock, diag, payload);
    if (rc == 0) {
        rc = field(&sink, "python", in, key_python, diag, payload);
    }
    if (rc == 0) {
        rc = field(&sink, "distributions", in, key_distributions, diag, payload);
    }
    if (rc == 0) {
        rc = key_env_vars(&sink, in);
    }
    if (rc == 0) {
        rc = field(&sink, "pytest-args", in, key_pytest_args, diag, payload);
    }
    ash_hasher h;
    if (rc == 0 && ash__hasher_init(&h) < 0) {
        rc = ASH_ENOMEM;
    }
    if (rc < 0) {
        ash__env_key_free(out);
        return rc;
    }
    for (size_t i = 0; i < out->count; i++) {
        field_str(&h, "field", out->fields[i].name);
        ash__hasher_field(&h, "hash", out->fields[i].hash.bytes, 16);
    }
    ash_hash key = ash__hasher_final(&h);
    memcpy(out->key.bytes, key.bytes, 16);
    ash__hasher_free(&h);
    return 0;
}

void ash__env_key_free(ash_env_key *k)
{
    for (size_t i = 0; k && i < k->count; i++) {
        ash__free(k->fields[i].name);
    }
    if (k) {
        ash__free(k->fields);
        memset(k, 0, sizeof(*k));
    }
}

void ash__env_key_input_of(ash_env_key_input *in, const ash_project *project)
{
    const ash_config *config = ash__project_config(project);
    *in = (ash_env_key_input){
        .env = ash__project_envinfo(project),
        .root = ash_project_root(project),
        .env_vars = config->env,
        .env_var_count = config->env_count,
        .lockfiles = config->lockfiles,
        .lockfile_count = config->lockfile_count,
    };
}
