/*
 * The last-run state (see state.h). File format, little-endian:
 *
 *   file      = "ASHSTATE" version:u32 env:16 field_count:u32 module_count:u32
 *               field{field_count} module{module_count} checksum:u64
 *   field     = name_len:u32 name hash:16
 *   module    = path_len:u32 path inputs:16 outcome:u32 duration:f64
 *   checksum  = XXH3-64 of every byte before it
 *
 * version is 1. A name is 1 to ASH_RESULT_PATH_MAX bytes without NUL; paths are module paths
 * (ash__result_path_problem), strictly increasing in byte order; outcome is an ash_outcome and
 * duration a finite non-negative double. Anything else makes the whole file corrupt.
 */
#include "state.h"

#include "hash.h"
#include "rcache.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "ASHSTATE"
#define VERSION 1
#define HEADER_SIZE (8 + 4 + 16 + 4 + 4)
#define FIELD_MIN (4 + 1 + 16)
#define MODULE_MIN (4 + 1 + 16 + 4 + 8)
#define FILE_MAX ((size_t)256 << 20)

static int cmp_module(const void *a, const void *b)
{
    return strcmp(((const ash_state_module *)a)->path, ((const ash_state_module *)b)->path);
}

static int valid_record(ash_outcome outcome, double duration)
{
    return (unsigned)outcome <= ASH_OUTCOME_CRASHED && isfinite(duration) && duration >= 0;
}

/* ---- loading ---- */

static const char *decode_fields(ash_run_state *s, ash_le_reader *r, uint32_t n, int *rc)
{
    if (!(s->fields = ash__calloc(n ? n : 1, sizeof(*s->fields)))) {
        *rc = ash__error_oom();
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)ash__le_u(r, 4);
        const char *name = (const char *)ash__le_take(r, len);
        const uint8_t *hash = ash__le_take(r, 16);
        if (r->bad) {
            return "truncated";
        }
        if (len == 0 || len > ASH_RESULT_PATH_MAX || memchr(name, '\0', len)) {
            return "bad field name";
        }
        ash_state_field *f = &s->fields[s->field_count];
        if (!(f->name = ash__strndup(name, len))) {
            *rc = ash__error_oom();
            return NULL;
        }
        memcpy(f->hash.bytes, hash, 16);
        s->field_count++;
    }
    return NULL;
}

static const char *decode_modules(ash_run_state *s, ash_le_reader *r, uint32_t n, int *rc)
{
    if (!(s->modules = ash__calloc(n ? n : 1, sizeof(*s->modules)))) {
        *rc = ash__error_oom();
        return NULL;
    }
    s->cap = n ? n : 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)ash__le_u(r, 4);
        const char *path = (const char *)ash__le_take(r, len);
        const uint8_t *inputs = ash__le_take(r, 16);
        ash_outcome outcome = (ash_outcome)ash__le_u(r, 4);
        double duration = ash__le_f64(r);
        if (r->bad) {
            return "truncated";
        }
        if (ash__result_path_problem(path, len) || !valid_record(outcome, duration)) {
            return "bad module record";
        }
        ash_state_module *m = &s->modules[s->count];
        if (!(m->path = ash__strndup(path, len))) {
            *rc = ash__error_oom();
            return NULL;
        }
        memcpy(m->inputs.bytes, inputs, 16);
        m->outcome = outcome;
        m->duration = duration;
        s->count++;
        if (i > 0 && strcmp(m[-1].path, m->path) >= 0) {
            return "modules out of order";
        }
    }
    s->sorted = s->count;
    return NULL;
}

/* Decode data[0..len) into `s`: NULL, or why the file is corrupt (with *rc 0), or NULL with
 * *rc ASH_ENOMEM. */
static const char *decode(ash_run_state *s, const char *data, size_t len, int *rc)
{
    if (len < HEADER_SIZE + 8 || memcmp(data, MAGIC, 8) != 0) {
        return "not a state file";
    }
    ash_le_reader sum = {(const uint8_t *)data + len - 8, (const uint8_t *)data + len, 0};
    if (ash__hash64(data, len - 8) != ash__le_u(&sum, 8)) {
        return "checksum mismatch";
    }
    ash_le_reader r = {(const uint8_t *)data + 8, (const uint8_t *)data + len - 8, 0};
    if (ash__le_u(&r, 4) != VERSION) {
        return "unknown format version";
    }
    memcpy(s->env.bytes, ash__le_take(&r, 16), 16);
    uint32_t fields = (uint32_t)ash__le_u(&r, 4), modules = (uint32_t)ash__le_u(&r, 4);
    /* what the file can hold at most, so that a bad count cannot ask for a huge allocation */
    if (fields > len / FIELD_MIN || modules > len / MODULE_MIN) {
        return "counts out of range";
    }
    const char *why = decode_fields(s, &r, fields, rc);
    if (!why && *rc == 0) {
        why = decode_modules(s, &r, modules, rc);
    }
    if (!why && *rc == 0 && r.p != r.end) {
        why = "trailing bytes";
    }
    return why;
}

int ash__state_load(ash_run_state *out, const char *path, ash_diag_fn diag, void *payload)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            ash__diag(diag, payload, path, "cannot read the last-run state (%s); starting afresh",
                      strerror(errno));
        }
        return 0;
    }
    char *data;
    size_t len;
    int rc = ash__read_fd(&data, &len, fd, path, FILE_MAX);
    close(fd);
    const char *why = rc == 0 ? decode(out, data, len, &rc) : "unreadable or too large";
    if (rc == ASH_EIO || rc == ASH_EINVAL) {
        rc = 0;
    }
    if (why || rc < 0) {
        ash__state_free(out);
    }
    if (why && rc == 0) {
        ash__diag(diag, payload, path, "%s; ignoring the last-run state", why);
    }
    ash__free(data);
    return rc;
}

/* ---- saving ---- */

static int put_string(ash_buf *b, const char *s)
{
    size_t len = strlen(s);
    return ash__le_put(b, len, 4) < 0 || ash__buf_put(b, s, len) < 0 ? ASH_ENOMEM : 0;
}

static int put_module(ash_buf *b, const ash_state_module *m)
{
    const char *why = ash__result_path_problem(m->path, strlen(m->path));
    if (why || !valid_record(m->outcome, m->duration)) {
        return ash__error(ASH_EINVAL, "%s: %s", m->path, why ? why : "bad outcome or duration");
    }
    return put_string(b, m->path) < 0 || ash__buf_put(b, m->inputs.bytes, 16) < 0 ||
                   ash__le_put(b, m->outcome, 4) < 0 || ash__le_put_f64(b, m->duration) < 0
               ? ASH_ENOMEM
               : 0;
}

/* The modules in path order: the two sorted runs (see state.h) merged. A module out of order
 * (added other than by ash__state_set) is refused rather than written into a corrupt file. */
static int put_modules(ash_buf *b, const ash_run_state *s)
{
    const ash_state_module *pending = s->modules + s->sorted, *last = NULL;
    size_t np = s->count - s->sorted, i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < s->sorted || j < np)) {
        int first = j == np || (i < s->sorted && cmp_module(&s->modules[i], &pending[j]) < 0);
        const ash_state_module *m = first ? &s->modules[i++] : &pending[j++];
        if (last && cmp_module(last, m) >= 0) {
            return ash__error(ASH_EINVAL, "%s: module out of order or twice in the state", m->path);
        }
        rc = put_module(b, m);
        last = m;
    }
    return rc;
}

int ash__state_save(const ash_run_state *s, const char *path)
{
    if (s->count > UINT32_MAX || s->field_count > UINT32_MAX) {
        return ash__error(ASH_EINVAL, "%s: too many modules", path);
    }
    ash_buf b = ASH_BUF_INIT;
    int rc = ash__buf_put(&b, MAGIC, 8) < 0 || ash__le_put(&b, VERSION, 4) < 0 ||
                     ash__buf_put(&b, s->env.bytes, 16) < 0 ||
                     ash__le_put(&b, s->field_count, 4) < 0 || ash__le_put(&b, s->count, 4) < 0
                 ? ASH_ENOMEM
                 : 0;
    for (size_t i = 0; rc == 0 && i < s->field_count; i++) {
        const char *name = s->fields[i].name;
        size_t len = strlen(name);
        if (len == 0 || len > ASH_RESULT_PATH_MAX) {
            rc = ash__error(ASH_EINVAL, "%s: bad environment field name '%s'", path, name);
        } else if (put_string(&b, name) < 0 || ash__buf_put(&b, s->fields[i].hash.bytes, 16) < 0) {
            rc = ASH_ENOMEM;
        }
    }
    if (rc == 0) {
        rc = put_modules(&b, s);
    }
    if (rc == 0 && ash__le_put(&b, ash__hash64(b.ptr, b.len), 8) < 0) {
        rc = ASH_ENOMEM;
    }
    if (rc == 0) {
        rc = ash__write_atomic(path, b.ptr, b.len);
    }
    ash__buf_free(&b);
    return rc;
}

/* ---- lookups and updates ---- */

/* Where `path` is or would go in the sorted a[0..n). */
static size_t lower_bound(const ash_state_module *a, size_t n, const char *path)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a[mid].path, path) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const ash_state_module *ash__state_find(const ash_run_state *s, const char *path)
{
    if (s->count == 0) {
        return NULL;
    }
    /* two sorted runs: modules[0..sorted) and the pending ones after them */
    const ash_state_module *runs[2] = {s->modules, s->modules + s->sorted};
    size_t lens[2] = {s->sorted, s->count - s->sorted};
    for (int r = 0; r < 2; r++) {
        size_t i = lower_bound(runs[r], lens[r], path);
        if (i < lens[r] && strcmp(runs[r][i].path, path) == 0) {
            return &runs[r][i];
        }
    }
    return NULL;
}

void ash__state_sort(ash_run_state *s)
{
    size_t np = s->count - s->sorted, sz = sizeof(*s->modules);
    if (np == 0) {
        return;
    }
    if (np > ASH_STATE_PENDING_MAX) { /* modules added by hand: no merge, a full sort */
        qsort(s->modules, s->count, sz, cmp_module);
        s->sorted = s->count;
        return;
    }
    ash_state_module pending[ASH_STATE_PENDING_MAX];
    memcpy(pending, s->modules + s->sorted, np * sz);
    qsort(pending, np, sz, cmp_module); /* sorted already, unless added by hand */
    /* from the back: the sorted ones above each pending one move up in one block */
    size_t i = s->sorted, k = s->count;
    for (size_t j = np; j-- > 0;) {
        size_t p = lower_bound(s->modules, i, pending[j].path);
        k -= i - p;
        memmove(s->modules + k, s->modules + p, (i - p) * sz);
        i = p;
        s->modules[--k] = pending[j];
    }
    s->sorted = s->count;
}

int ash__state_set(ash_run_state *s, const char *path, const ash_key *inputs, ash_outcome outcome,
                   double duration)
{
    ash_state_module *m = (ash_state_module *)ash__state_find(s, path);
    if (m) {
        m->inputs = *inputs;
        m->outcome = outcome;
        m->duration = duration;
        return 0;
    }
    char *copy = ash__strdup(path);
    if (!copy || ash__grow((void **)&s->modules, &s->cap, s->count + 1, sizeof(*m)) < 0) {
        ash__free(copy);
        return ash__error_oom();
    }
    ash_state_module *pending = s->modules + s->sorted;
    size_t np = s->count - s->sorted;
    if (np == 0 && (s->sorted == 0 || strcmp(pending[-1].path, path) < 0)) {
        pending[0] = (ash_state_module){copy, *inputs, outcome, duration};
        s->count = ++s->sorted;
        return 0;
    }
    /* out of order: into the short sorted run of pending ones, merged in when it is full */
    size_t at = lower_bound(pending, np, path);
    memmove(pending + at + 1, pending + at, (np - at) * sizeof(*m));
    pending[at] = (ash_state_module){copy, *inputs, outcome, duration};
    if (++s->count - s->sorted >= ASH_STATE_PENDING_MAX) {
        ash__state_sort(s);
    }
    return 0;
}

void ash__state_free(ash_run_state *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->field_count; i++) {
        ash__free(s->fields[i].name);
    }
    for (size_t i = 0; i < s->count; i++) {
        ash__free(s->modules[i].path);
    }
    ash__free(s->fields);
    ash__free(s->modules);
    memset(s, 0, sizeof(*s));
}

int ash__state_merge_save(const char *path, const ash_env_key *env, const ash_state_update *updates,
                          size_t count, ash_diag_fn diag, void *payload)
{
    ash_run_state state;
    int rc = ash__state_load(&state, path, diag, payload);
    if (rc < 0) {
        return rc;
    }
    ash_state_field *fields = ash__calloc(env->count + 1, sizeof(*fields));
    if (!fields) {
        rc = ash__error_oom();
    }
    for (size_t i = 0; rc == 0 && i < env->count; i++) {
        fields[i].hash = env->fields[i].hash;
        if (!(fields[i].name = ash__strdup(env->fields[i].name))) {
            rc = ash__error_oom();
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < state.field_count; i++) {
            ash__free(state.fields[i].name);
        }
        ash__free(state.fields);
        state.fields = fields;
        state.field_count = env->count;
        state.env = env->key;
        fields = NULL;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = ash__state_set(&state, updates[i].path, &updates[i].inputs, updates[i].outcome,
                            updates[i].duration);
    }
    if (rc == 0) {
        rc = ash__state_save(&state, path);
    }
    for (size_t i = 0; fields && i < env->count; i++) {
        ash__free(fields[i].name);
    }
    ash__free(fields);
    ash__state_free(&state);
    return rc;
}
