/*
 * Plan files (see plan_file.h for the format): written with jansson in the key order the
 * format shows, read back with every rule checked, because `run --plan` trusts the split: a
 * cold module on no shard would silently not run anywhere.
 */
#include "plan_file.h"

#include "result.h"
#include "shard.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define VERSION 1
/* Far above any real plan (100,000 modules of 100 bytes, listed twice, are 20 MB). */
#define PLAN_FILE_MAX (256u << 20)

/* Make `s` one line: control bytes (a module path may hold a tab, a newline) become '?'. */
static void one_line(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = '?';
        }
    }
}

/* Record a one-line message and return `code`. */
static int fail(int code, const char *fmt, ...) ASH_PRINTF(2, 3);

static int fail(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    one_line(msg);
    return ash__error(code, "%s", msg);
}

/* ---- writing ---- */

/* Set obj[key] to `value` (taken, NULL after a failed allocation). 0 or ASH_ENOMEM. */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) < 0) {
        return ash__error_oom();
    }
    return 0;
}

static json_t *count_of(size_t n)
{
    return json_integer((json_int_t)n);
}

/* Set obj[key] to `s` seconds, rounded to the millisecond. 0, ASH_ENOMEM or ASH_EINVAL. */
static int put_seconds(json_t *obj, const char *key, double s)
{
    if (!isfinite(s) || s < 0) {
        return ash__error(ASH_EINVAL, "cannot write the plan: %g seconds", s);
    }
    /* by hand: the CLI does not link libm (s >= 0; huge values have no milliseconds anyway) */
    double ms = s < 1e12 ? (double)(int64_t)(s * 1000 + 0.5) / 1000 : s;
    return put(obj, key, json_real(ms));
}

/* The module paths of `list` as a JSON array into `*out` (owned). 0, ASH_ENOMEM or ASH_EINVAL
 * for a path the format cannot hold. */
static int path_array(json_t **out, const ash_strings *list)
{
    json_t *arr = json_array();
    if (!arr) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < list->count; i++) {
        const char *m = list->items[i];
        size_t len = strlen(m);
        const char *why = ash__result_path_problem(m, len);
        if (!why && ash__utf8_check(m, len) != len) {
            why = "not UTF-8";
        }
        if (why) {
            json_decref(arr);
            return fail(ASH_EINVAL, "cannot write the plan: '%.200s': %s", m, why);
        }
        if (json_array_append_new(arr, json_stringn(m, len)) < 0) {
            json_decref(arr);
            return ash__error_oom();
        }
    }
    *out = arr;
    return 0;
}

/* "plan" entry of shard k (1-based), and its "matrix" entry. */
static int shard_objects(json_t *plan_arr, json_t *include, const plan *p, unsigned k)
{
    const plan_shard *sh = &p->shard[k - 1];
    json_t *entry = json_object(), *row = json_object(), *modules = NULL;
    char name[32];
    int rc = 0;
    /* json_array_append_new takes the value even when it fails */
    if (!entry || !row) {
        json_decref(entry);
        json_decref(row);
        return ash__error_oom();
    }
    if (json_array_append_new(plan_arr, entry) < 0) {
        json_decref(row);
        return ash__error_oom();
    }
    if (json_array_append_new(include, row) < 0) {
        return ash__error_oom();
    }
    snprintf(name, sizeof(name), "%u/%u", k, p->shards);
    if ((rc = put(entry, "shard", json_integer(k))) < 0 ||
        (rc = put_seconds(entry, "seconds", sh->seconds)) < 0 ||
        (rc = path_array(&modules, &sh->modules)) < 0 ||
        (rc = put(entry, "modules", modules)) < 0) {
        return rc;
    }
    if ((rc = put(row, "shard", json_string(name))) < 0 ||
        (rc = put(row, "index", json_integer(k))) < 0 ||
        (rc = put(row, "modules", count_of(sh->modules.count))) < 0 ||
        (rc = put_seconds(row, "seconds", sh->seconds)) < 0) {
        return rc;
    }
    return 0;
}

/* The whole document into `root`, in the format's key order. */
static int build(json_t *root, const plan *p)
{
    json_t *cold = NULL, *warm = NULL, *plan_arr = NULL, *matrix = NULL, *include = NULL;
    int rc;
    if ((rc = put(root, "version", json_integer(VERSION))) < 0 ||
        (rc = put(root, "shards", json_integer(p->shards))) < 0 ||
        (rc = put(root, "modules", count_of(p->modules))) < 0 ||
        (rc = put(root, "cold", count_of(p->cold.count))) < 0 ||
        (rc = put(root, "warm", count_of(p->warm.count))) < 0 ||
        (rc = put(root, "unaffected", count_of(p->unaffected))) < 0 ||
        (rc = path_array(&cold, &p->cold)) < 0 || (rc = put(root, "cold_modules", cold)) < 0 ||
        (rc = path_array(&warm, &p->warm)) < 0 || (rc = put(root, "warm_modules", warm)) < 0 ||
        (rc = put(root, "plan", plan_arr = json_array())) < 0 ||
        (rc = put(root, "matrix", matrix = json_object())) < 0 ||
        (rc = put(matrix, "include", include = json_array())) < 0) {
        return rc;
    }
    for (unsigned k = 1; k <= p->shards; k++) {
        if ((rc = shard_objects(plan_arr, include, p, k)) < 0) {
            return rc;
        }
    }
    return 0;
}

/* Print `root` and a newline to `out`, flushed (so that a full disk is this call's error, not
 * a lost one of fclose). Dumped into memory first: a failed allocation prints nothing. */
static int print(FILE *out, const json_t *root)
{
    /* 15 significant digits print a millisecond-rounded number as short as it looks */
    size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    size_t len = json_dumpb(root, NULL, 0, flags);
    char *text = len ? ash__malloc(len + 1) : NULL;
    if (!text || json_dumpb(root, text, len, flags) != len) {
        ash__free(text);
        return ash__error_oom();
    }
    text[len] = '\n';
    errno = 0;
    int rc = 0;
    if (fwrite(text, 1, len + 1, out) != len + 1 || fflush(out) != 0 || ferror(out)) {
        rc = ash__error(ASH_EIO, "cannot write the plan: %s",
                        errno ? strerror(errno) : "write error");
    }
    ash__free(text);
    return rc;
}

int plan_file_write(FILE *out, const plan *p)
{
    assert(out && p && p->shards >= 1 && p->shard);
    json_t *root = json_object();
    if (!root) {
        return ash__error_oom();
    }
    int rc = build(root, p);
    if (rc == 0) {
        rc = print(out, root);
    }
    json_decref(root);
    return rc;
}

/* ---- reading ---- */

/* Record "<path>: <reason>" as ASH_ERROR. */
static int bad(const char *path, const char *fmt, ...) ASH_PRINTF(2, 3);

static int bad(const char *path, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    one_line(reason);
    return ash__error(ASH_ERROR, "%s: %s", path, reason);
}

/* root[key] as an integer in min..max into *out; 0 or -1. */
static int get_int(const json_t *root, const char *key, json_int_t min, json_int_t max,
                   json_int_t *out)
{
    const json_t *v = json_object_get(root, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* Append the module paths of the JSON array `arr` (named `what` in messages) to `list`. */
static int read_paths(ash_strings *list, const json_t *arr, const char *path, const char *what)
{
    if (!json_is_array(arr)) {
        return bad(path, "%s is not a list of module paths", what);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v)) {
            return bad(path, "%s: item %zu is not a string", what, i + 1);
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        const char *why = ash__result_path_problem(s, len);
        if (why) {
            return bad(path, "%s: '%.200s': %s", what, s, why);
        }
        if (ash__strings_add(list, s, len) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

/* The "plan" array into out->shard[0..out->shards). */
static int read_shards(plan *out, const json_t *arr, const char *path)
{
    if (!json_is_array(arr) || json_array_size(arr) != out->shards) {
        return bad(path, "\"plan\" is not a list of %u shards", out->shards);
    }
    if (!(out->shard = ash__calloc(out->shards, sizeof(plan_shard)))) {
        return ash__error_oom();
    }
    unsigned char *seen = ash__calloc(out->shards, 1);
    if (!seen) {
        return ash__error_oom();
    }
    int rc = 0;
    for (size_t i = 0; i < out->shards && rc == 0; i++) {
        const json_t *e = json_array_get(arr, i);
        const json_t *sec = json_object_get(e, "seconds");
        json_int_t k;
        if (!json_is_object(e) || get_int(e, "shard", 1, out->shards, &k) < 0) {
            rc = bad(path, "plan entry %zu: \"shard\" is not a number from 1 to %u", i + 1,
                     out->shards);
        } else if (seen[k - 1]++) {
            rc = bad(path, "shard %lld is in the plan twice", (long long)k);
        } else if (!json_is_number(sec) || !isfinite(json_number_value(sec)) ||
                   json_number_value(sec) < 0) {
            rc = bad(path, "shard %lld: \"seconds\" is not a number of seconds", (long long)k);
        } else {
            char what[64];
            snprintf(what, sizeof(what), "shard %lld", (long long)k);
            out->shard[k - 1].seconds = json_number_value(sec);
            rc = read_paths(&out->shard[k - 1].modules, json_object_get(e, "modules"), path, what);
        }
    }
    ash__free(seen);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const plan_entry *)a)->module, ((const plan_entry *)b)->module);
}

static int cmp_key_entry(const void *key, const void *e)
{
    return strcmp(key, ((const plan_entry *)e)->module);
}

/* The shard modules into out->index, sorted; a module on two shards (or twice on one) is an
 * error. */
static int build_index(plan *out, const char *path)
{
    size_t n = 0;
    for (unsigned k = 0; k < out->shards; k++) {
        n += out->shard[k].modules.count;
    }
    if (!(out->index = ash__calloc(n ? n : 1, sizeof(plan_entry)))) {
        return ash__error_oom();
    }
    for (unsigned k = 0; k < out->shards; k++) {
        for (size_t i = 0; i < out->shard[k].modules.count; i++) {
            out->index[out->index_count++] = (plan_entry){out->shard[k].modules.items[i], k + 1};
        }
    }
    qsort(out->index, n, sizeof(plan_entry), cmp_entry);
    for (size_t i = 1; i < n; i++) {
        const plan_entry *a = &out->index[i - 1], *b = &out->index[i];
        if (strcmp(a->module, b->module) == 0) {
            if (a->shard == b->shard) {
                return bad(path, "'%.200s' is on shard %u twice", a->module, a->shard);
            }
            return bad(path, "'%.200s' is on shard %u and on shard %u", a->module,
                       a->shard < b->shard ? a->shard : b->shard,
                       a->shard < b->shard ? b->shard : a->shard);
        }
    }
    return 0;
}

/* Sorted copies of list's pointers into *out (owned), or a duplicate reported. */
static int sorted_unique(char ***out, const ash_strings *list, const char *path, const char *what)
{
    *out = ash__malloc((list->count ? list->count : 1) * sizeof(char *));
    if (!*out) {
        return ash__error_oom();
    }
    if (list->count) {
        memcpy(*out, list->items, list->count * sizeof(char *));
    }
    qsort(*out, list->count, sizeof(char *), ash__cmp_strp);
    for (size_t i = 1; i < list->count; i++) {
        if (strcmp((*out)[i - 1], (*out)[i]) == 0) {
            return bad(path, "'%.200s' is in %s twice", (*out)[i], what);
        }
    }
    return 0;
}

/* The shards hold exactly the cold modules, and no module is both cold and warm. */
static int check_split(const plan *p, const char *path)
{
    char **cold = NULL, **warm = NULL;
    int rc;
    if ((rc = sorted_unique(&cold, &p->cold, path, "cold_modules")) < 0 ||
        (rc = sorted_unique(&warm, &p->warm, path, "warm_modules")) < 0) {
        goto done;
    }
    /* merge cold with the index, then cold with warm; both sorted by strcmp */
    for (size_t c = 0, x = 0; c < p->cold.count || x < p->index_count; c++, x++) {
        int cmp = c == p->cold.count    ? 1
                  : x == p->index_count ? -1
                                        : strcmp(cold[c], p->index[x].module);
        if (cmp < 0) {
            rc = bad(path, "cold module '%.200s' is on no shard", cold[c]);
            goto done;
        }
        if (cmp > 0) {
            rc = bad(path, "'%.200s' is on shard %u but not a cold module", p->index[x].module,
                     p->index[x].shard);
            goto done;
        }
    }
    for (size_t c = 0, w = 0; c < p->cold.count && w < p->warm.count;) {
        int cmp = strcmp(cold[c], warm[w]);
        if (cmp == 0) {
            rc = bad(path, "'%.200s' is both cold and warm", cold[c]);
            goto done;
        }
        c += cmp < 0;
        w += cmp > 0;
    }
done:
    ash__free(cold);
    ash__free(warm);
    return rc;
}

/* Everything of `root` into `out`. */
static int read_plan(plan *out, const json_t *root, const char *path)
{
    json_int_t version, shards, modules, cold, warm, unaffected;
    const json_int_t most = (json_int_t)1 << 40;
    if (!json_is_object(root)) {
        return bad(path, "not a JSON object");
    }
    if (get_int(root, "version", 0, most, &version) < 0 || version != VERSION) {
        return bad(path, "not a plan of format version %d", VERSION);
    }
    if (get_int(root, "shards", 1, ASH_SHARD_MAX, &shards) < 0) {
        return bad(path, "\"shards\" is not a number from 1 to %d", ASH_SHARD_MAX);
    }
    if (get_int(root, "modules", 0, most, &modules) < 0 ||
        get_int(root, "cold", 0, most, &cold) < 0 || get_int(root, "warm", 0, most, &warm) < 0 ||
        get_int(root, "unaffected", 0, most, &unaffected) < 0) {
        return bad(path, "\"modules\", \"cold\", \"warm\" and \"unaffected\" must be counts");
    }
    out->shards = (unsigned)shards;
    out->modules = (size_t)modules;
    out->unaffected = (size_t)unaffected;
    int rc;
    if ((rc = read_paths(&out->cold, json_object_get(root, "cold_modules"), path, "cold_modules")) <
            0 ||
        (rc = read_paths(&out->warm, json_object_get(root, "warm_modules"), path, "warm_modules")) <
            0) {
        return rc;
    }
    if ((size_t)cold != out->cold.count || (size_t)warm != out->warm.count) {
        return bad(path, "\"cold\" and \"warm\" do not count cold_modules and warm_modules");
    }
    if ((rc = read_shards(out, json_object_get(root, "plan"), path)) < 0 ||
        (rc = build_index(out, path)) < 0) {
        return rc;
    }
    return check_split(out, path);
}

int plan_file_read(plan *out, const char *path)
{
    memset(out, 0, sizeof(*out));
    char *data = NULL;
    size_t len = 0;
    int rc = ash__read_file(&data, &len, path, PLAN_FILE_MAX);
    if (rc == ASH_EINVAL) {
        return bad(path, "larger than %u bytes", PLAN_FILE_MAX);
    }
    if (rc < 0) {
        return rc; /* ASH_EIO or ASH_ENOMEM, "<path>: <reason>" recorded */
    }
    json_error_t err;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    ash__free(data);
    if (!root) {
        /* some of jansson's failed allocations leave the error text empty */
        if (json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0') {
            return ash__error_oom();
        }
        return bad(path, "line %d column %d: %s", err.line, err.column, err.text);
    }
    rc = read_plan(out, root, path);
    json_decref(root);
    return rc;
}

void plan_free(plan *p)
{
    if (!p) {
        return;
    }
    for (unsigned k = 0; p->shard && k < p->shards; k++) {
        ash__strings_free(&p->shard[k].modules);
    }
    ash__free(p->shard);
    ash__strings_free(&p->cold);
    ash__strings_free(&p->warm);
    ash__free(p->index);
    memset(p, 0, sizeof(*p));
}

int plan_shard_of(const plan *p, const char *module)
{
    if (p->index) {
        const plan_entry *e =
            bsearch(module, p->index, p->index_count, sizeof(plan_entry), cmp_key_entry);
        return e ? (int)e->shard : 0;
    }
    for (unsigned k = 0; p->shard && k < p->shards; k++) {
        for (size_t i = 0; i < p->shard[k].modules.count; i++) {
            if (strcmp(p->shard[k].modules.items[i], module) == 0) {
                return (int)k + 1;
            }
        }
    }
    return 0;
}
