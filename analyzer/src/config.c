/*
 * Reading `[tool.aftershock]` from pyproject.toml. Each key is one entry of `keys` below, with
 * a handler that checks the value's type and stores it; a value of the wrong type is reported
 * and leaves the default in place, so one mistake never costs the rest of the configuration.
 */
#include "config.h"

#include "toml.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* pyproject.toml files are small; a huge one is a mistake we should not spend memory on. */
#define MAX_PYPROJECT_BYTES (16u << 20)
/* Longest excerpt of a user string quoted in a warning. */
#define QUOTE_MAX 120

typedef struct loader {
    ash_config *config;
    const char *path; /* pyproject_relpath, names the file in warnings */
    ash_diag_fn diag;
    void *payload;
} loader;

/* Apply `value` of `tool.aftershock.<key>`: 0 (after a warning if it was unusable), or
 * ASH_ENOMEM. */
typedef int (*key_fn)(loader *ld, const char *key, const ash_toml *value);

static int apply_roots(loader *ld, const char *key, const ash_toml *value);
static int apply_exclude(loader *ld, const char *key, const ash_toml *value);
static int apply_python(loader *ld, const char *key, const ash_toml *value);
static int apply_type_checking_imports(loader *ld, const char *key, const ash_toml *value);
static int apply_env(loader *ld, const char *key, const ash_toml *value);
static int apply_lockfiles(loader *ld, const char *key, const ash_toml *value);
static int apply_data(loader *ld, const char *key, const ash_toml *value);
static int apply_cache_dir(loader *ld, const char *key, const ash_toml *value);
static int apply_cache_size(loader *ld, const char *key, const ash_toml *value);
static int apply_remote(loader *ld, const char *key, const ash_toml *value);
static int apply_remote_timeout(loader *ld, const char *key, const ash_toml *value);
static int apply_read_scopes(loader *ld, const char *key, const ash_toml *value);

static const struct {
    const char *name;
    key_fn apply;
} keys[] = {
    {"roots", apply_roots},
    {"exclude", apply_exclude},
    {"python", apply_python},
    {"type-checking-imports", apply_type_checking_imports},
    {"type_checking_imports", apply_type_checking_imports},
    {"env", apply_env},
    {"lockfiles", apply_lockfiles},
    {"data", apply_data},
    {"cache-dir", apply_cache_dir},
    {"cache-size", apply_cache_size},
    {"remote", apply_remote},
    {"remote-timeout", apply_remote_timeout},
    {"read-scopes", apply_read_scopes},
};

/* `s[0..len)` fit for a one-line message: control bytes become '?', long strings are cut. */
static void quote(char *buf, size_t size, const char *s, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;
    if (n < len) {
        /* Do not cut a UTF-8 sequence in the middle. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    }
    buf[n] = '\0';
}

static void free_list(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ash__free(list[i]);
    }
    ash__free(list);
}

static void wrong_type(loader *ld, const char *key, const ash_toml *value, const char *expected)
{
    ash__diag(ld->diag, ld->payload, ld->path, "line %d: tool.aftershock.%s must be %s; ignored",
              ash__toml_line(value), key, expected);
}

/* A string without NUL bytes (which no path or glob can hold), or NULL. */
static const char *plain_string(const ash_toml *value)
{
    if (ash__toml_type(value) != ASH_TOML_STRING) {
        return NULL;
    }
    const char *s = ash__toml_string(value);
    return strlen(s) == ash__toml_string_len(value) ? s : NULL;
}

/* Copy an array of strings into `*out` (owned); 1 after a warning if `value` is not one. */
static int string_array(loader *ld, const char *key, const ash_toml *value, char ***out,
                        size_t *count)
{
    *out = NULL;
    *count = 0;
    size_t n = ash__toml_count(value);
    int ok = ash__toml_type(value) == ASH_TOML_ARRAY;
    for (size_t i = 0; ok && i < n; i++) {
        ok = plain_string(ash__toml_at(value, i)) != NULL;
    }
    if (!ok) {
        wrong_type(ld, key, value, "an array of strings");
        return 1;
    }
    char **list = ash__calloc(n, sizeof(*list));
    if (!list) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        list[i] = ash__strdup(ash__toml_string(ash__toml_at(value, i)));
        if (!list[i]) {
            free_list(list, i);
            return ash__error_oom();
        }
    }
    *out = list;
    *count = n;
    return 0;
}

/*
 * Normalise source root `s` in place: drop empty and "." components and trailing slashes
 * ("./src/" is "src", "." is ""). NULL when usable, else why not.
 */
static const char *normalise_root(char *s)
{
    if (s[0] == '/') {
        return "is an absolute path";
    }
    size_t n = 0;
    for (const char *part = s; *part;) {
        size_t len = strcspn(part, "/");
        if (len == 2 && part[0] == '.' && part[1] == '.') {
            return "goes outside the project";
        }
        if (len > 0 && !(len == 1 && part[0] == '.')) {
            if (n > 0) {
                s[n++] = '/';
            }
            memmove(s + n, part, len);
            n += len;
        }
        part += len + (part[len] == '/');
    }
    s[n] = '\0';
    return NULL;
}

static int apply_roots(loader *ld, const char *key, const ash_toml *value)
{
    char **list;
    size_t n, kept = 0;
    int rc = string_array(ld, key, value, &list, &n);
    if (rc != 0) {
        return rc < 0 ? rc : 0;
    }
    for (size_t i = 0; i < n; i++) {
        char shown[QUOTE_MAX];
        quote(shown, sizeof(shown), list[i], strlen(list[i]));
        const char *why = normalise_root(list[i]);
        int duplicate = 0;
        for (size_t j = 0; !why && j < kept && !duplicate; j++) {
            duplicate = strcmp(list[j], list[i]) == 0;
        }
        if (why) {
            ash__diag(ld->diag, ld->payload, ld->path,
                      "line %d: tool.aftershock.%s: \"%s\" %s; skipped",
                      ash__toml_line(ash__toml_at(value, i)), key, shown, why);
        }
        if (why || duplicate) {
            ash__free(list[i]);
        } else {
            list[kept++] = list[i];
        }
    }
    /* When every root was rejected, source roots are detected as if none were configured. */
    if (n > 0 && kept == 0) {
        ash__free(list);
        return 0;
    }
    free_list(ld->config->roots, ld->config->root_count);
    ld->config->roots = list;
    ld->config->root_count = kept;
    ld->config->roots_set = 1;
    return 0;
}

/* A key holding an array of strings: replace *list (of *count) with it. */
static int replace_list(loader *ld, const char *key, const ash_toml *value, char ***list,
                        size_t *count)
{
    char **items;
    size_t n;
    int rc = string_array(ld, key, value, &items, &n);
    if (rc != 0) {
        return rc < 0 ? rc : 0;
    }
    free_list(*list, *count);
    *list = items;
    *count = n;
    return 0;
}

static int apply_exclude(loader *ld, const char *key, const ash_toml *value)
{
    return replace_list(ld, key, value, &ld->config->exclude, &ld->config->exclude_count);
}

/* A key holding a non-empty string: replace *field with it. */
static int replace_string(loader *ld, const char *key, const ash_toml *value, char **field)
{
    const char *s = plain_string(value);
    if (!s || !*s) {
        wrong_type(ld, key, value, "a non-empty string");
        return 0;
    }
    char *copy = ash__strdup(s);
    if (!copy) {
        return ash__error_oom();
    }
    ash__free(*field);
    *field = copy;
    return 0;
}

static int apply_python(loader *ld, const char *key, const ash_toml *value)
{
    return replace_string(ld, key, value, &ld->config->python);
}

static int apply_cache_dir(loader *ld, const char *key, const ash_toml *value)
{
    return replace_string(ld, key, value, &ld->config->cache_dir);
}

uint64_t ash__parse_size(const char *s)
{
    char *end;
    errno = 0;
    double n = strtod(s, &end);
    if (end == s || errno || !(n > 0)) {
        return 0;
    }
    while (*end == ' ') {
        end++;
    }
    static const char units[] = "KMGT";
    double scale = 1;
    if (*end) {
        const char *u = strchr(units, *end & ~0x20);
        if (!u) {
            return 0;
        }
        for (const char *k = units; k <= u; k++) {
            scale *= 1024;
        }
        end++;
        if ((*end & ~0x20) == 'I') {
            end++;
        }
        end += (*end & ~0x20) == 'B';
    }
    double bytes = n * scale;
    return *end || bytes >= 18e18 ? 0 : (uint64_t)bytes;
}

static int apply_cache_size(loader *ld, const char *key, const ash_toml *value)
{
    uint64_t size = 0;
    if (ash__toml_type(value) == ASH_TOML_INTEGER && ash__toml_int(value) > 0) {
        size = (uint64_t)ash__toml_int(value);
    } else if (plain_string(value)) {
        size = ash__parse_size(plain_string(value));
    }
    if (!size) {
        wrong_type(ld, key, value, "a size such as \"1GiB\" or a number of bytes");
        return 0;
    }
    ld->config->cache_size = size;
    return 0;
}

static int apply_remote(loader *ld, const char *key, const ash_toml *value)
{
    return replace_string(ld, key, value, &ld->config->remote);
}

static int apply_remote_timeout(loader *ld, const char *key, const ash_toml *value)
{
    int type = ash__toml_type(value);
    double t = type == ASH_TOML_INTEGER ? (double)ash__toml_int(value)
               : type == ASH_TOML_FLOAT ? ash__toml_float(value)
                                        : 0;
    if (!(t > 0 && t <= 3600)) {
        wrong_type(ld, key, value, "a number of seconds (0 < s <= 3600)");
        return 0;
    }
    ld->config->remote_timeout = t;
    return 0;
}

static int apply_read_scopes(loader *ld, const char *key, const ash_toml *value)
{
    return replace_list(ld, key, value, &ld->config->read_scopes, &ld->config->read_scope_count);
}

static void free_data(ash_config_data *data, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ash__free(data[i].pattern);
        free_list(data[i].files, data[i].file_count);
    }
    ash__free(data);
}

/* `data = { "<glob>" = ["<glob>", ...], ... }` */
static int apply_data(loader *ld, const char *key, const ash_toml *value)
{
    if (ash__toml_type(value) != ASH_TOML_TABLE) {
        wrong_type(ld, key, value, "a table of glob = [globs]");
        return 0;
    }
    size_t n = ash__toml_count(value), kept = 0;
    ash_config_data *data = ash__calloc(n ? n : 1, sizeof(*data));
    if (!data) {
        return ash__error_oom();
    }
    ash_buf name = ASH_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ash_config_data *d = &data[kept];
        ash__buf_clear(&name);
        if ((rc = ash__buf_printf(&name, "%s.\"%s\"", key, ash__toml_key_at(value, i))) < 0) {
            break;
        }
        rc = string_array(ld, ash__buf_cstr(&name), ash__toml_at(value, i), &d->files,
                          &d->file_count);
        if (rc == 0 && !(d->pattern = ash__strdup(ash__toml_key_at(value, i)))) {
            free_list(d->files, d->file_count);
            rc = ash__error_oom();
        }
        kept += rc == 0;
        rc = rc < 0 ? rc : 0;
    }
    ash__buf_free(&name);
    if (rc < 0) {
        free_data(data, kept);
        return rc;
    }
    free_data(ld->config->data, ld->config->data_count);
    ld->config->data = data;
    ld->config->data_count = kept;
    return 0;
}

static int apply_type_checking_imports(loader *ld, const char *key, const ash_toml *value)
{
    if (ash__toml_type(value) != ASH_TOML_BOOL) {
        wrong_type(ld, key, value, "true or false");
        return 0;
    }
    ld->config->type_checking_imports = ash__toml_bool(value);
    return 0;
}

/* Apply every key of `[tool.aftershock]` in `doc`, in document order. */
static int apply_document(loader *ld, const ash_toml *doc)
{
    const ash_toml *section = ash__toml_find(ash__toml_find(doc, "tool"), "aftershock");
    if (!section) {
        return 0;
    }
    if (ash__toml_type(section) != ASH_TOML_TABLE) {
        ash__diag(ld->diag, ld->payload, ld->path,
                  "line %d: tool.aftershock must be a table; using the default configuration",
                  ash__toml_line(section));
        return 0;
    }
    for (size_t i = 0; i < ash__toml_count(section); i++) {
        const char *key = ash__toml_key_at(section, i);
        const ash_toml *value = ash__toml_at(section, i);
        size_t k = 0;
        while (k < ASH_ARRAY_SIZE(keys) && strcmp(keys[k].name, key) != 0) {
            k++;
        }
        if (k == ASH_ARRAY_SIZE(keys)) {
            char shown[QUOTE_MAX];
            quote(shown, sizeof(shown), key, strlen(key));
            ash__diag(ld->diag, ld->payload, ld->path,
                      "line %d: unknown key tool.aftershock.%s; ignored", ash__toml_line(value),
                      shown);
            continue;
        }
        int rc = keys[k].apply(ld, key, value);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* The last error message without its "<prefix>:" (the file's path, which diag already has). */
static const char *error_after(const char *prefix)
{
    const char *message = ash_error_last();
    size_t n = strlen(prefix);
    if (strncmp(message, prefix, n) == 0 && message[n] == ':') {
        message += n + 1;
        message += *message == ' ';
    }
    return message;
}

/* Read and parse the file: 0 with `*doc` NULL when the defaults apply (after a warning). */
static int read_document(loader *ld, const char *path, ash_toml **doc)
{
    char *data = NULL;
    size_t len;
    struct stat st;
    *doc = NULL;
    if (stat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        return 0;
    }
    int rc = ash__read_file(&data, &len, path, MAX_PYPROJECT_BYTES);
    if (rc < 0 && rc != ASH_ENOMEM) {
        ash__diag(ld->diag, ld->payload, ld->path,
                  "cannot be read (%s); using the default configuration", error_after(path));
        rc = 0;
        goto done;
    }
    if (rc == 0) {
        rc = ash__toml_parse(doc, data, len, ld->path);
    }
    if (rc < 0 && rc != ASH_ENOMEM) {
        /* The message is "<path>:<line>: <reason>"; diag gets the path on its own. */
        ash__diag(ld->diag, ld->payload, ld->path, "line %s; using the default configuration",
                  error_after(ld->path));
        rc = 0;
    }
done:
    ash__free(data);
    return rc;
}

void ash__config_init(ash_config *config)
{
    memset(config, 0, sizeof(*config));
    config->type_checking_imports = 1;
}

int ash__config_load(ash_config *config, const char *root, const char *pyproject_relpath,
                     ash_diag_fn diag, void *payload)
{
    assert(config && pyproject_relpath);
    ash_config next;
    ash_toml *doc = NULL;
    loader ld = {&next, pyproject_relpath, diag, payload};
    ash__config_init(&next);
    char *path = ash__path_join(root, pyproject_relpath);
    int rc = path ? read_document(&ld, path, &doc) : ash__error_oom();
    if (rc == 0 && doc) {
        rc = apply_document(&ld, doc);
    }
    ash__config_free(config);
    if (rc == 0) {
        *config = next;
    } else {
        ash__config_free(&next);
    }
    ash__toml_free(doc);
    ash__free(path);
    return rc;
}

static int apply_env(loader *ld, const char *key, const ash_toml *value)
{
    return replace_list(ld, key, value, &ld->config->env, &ld->config->env_count);
}

static int apply_lockfiles(loader *ld, const char *key, const ash_toml *value)
{
    return replace_list(ld, key, value, &ld->config->lockfiles, &ld->config->lockfile_count);
}

void ash__config_free(ash_config *config)
{
    if (!config) {
        return;
    }
    free_list(config->roots, config->root_count);
    free_list(config->exclude, config->exclude_count);
    free_list(config->env, config->env_count);
    free_list(config->lockfiles, config->lockfile_count);
    free_list(config->read_scopes, config->read_scope_count);
    ash__free(config->remote);
    free_data(config->data, config->data_count);
    ash__free(config->python);
    ash__free(config->cache_dir);
    ash__config_init(config);
}
