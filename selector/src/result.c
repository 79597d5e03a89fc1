/*
 * Worker result files (see result.h). The parser trusts nothing: every length is checked
 * against the bytes it was given, numbers are read digit by digit with overflow checks, and
 * any input gives either a result or an error saying at which byte it went wrong.
 */
#include "result.h"

#include <inttypes.h>
#include <string.h>

#define HEADER "ASHW 1\n"
#define HEADER_LEN (sizeof(HEADER) - 1)
/* Durations are written to the microsecond and clamped to this many seconds (31 years). */
#define DURATION_MAX 1e9

static const char *const blob_names[] = {"junit", "output", "coverage"};

/* One bit per field, to refuse a field given twice; blob i is BLOB << i. */
enum { MODULE = 1, COUNTS = 2, DURATION = 4, COLLECTED = 8, BLOB = 16 };

ash_outcome ash__result_outcome(const ash_result *r)
{
    if (r->outcome == ASH_OUTCOME_CRASHED) {
        return ASH_OUTCOME_CRASHED;
    }
    if (r->counts[ASH_COUNT_ERRORS] > 0) {
        return ASH_OUTCOME_ERROR;
    }
    /* A strict xpass is reported by pytest as a failed test, so it is in the failed count; a
     * non-strict one is no failure. */
    if (r->counts[ASH_COUNT_FAILED] > 0) {
        return ASH_OUTCOME_FAILED;
    }
    return ASH_OUTCOME_PASSED;
}

const char *ash__result_path_problem(const char *path, size_t len)
{
    if (len == 0) {
        return "empty module path";
    }
    if (len > ASH_RESULT_PATH_MAX) {
        return "module path too long";
    }
    if (path[0] == '/') {
        return "absolute module path";
    }
    if (memchr(path, '\0', len) || memchr(path, '\n', len)) {
        return "NUL or newline in the module path";
    }
    for (size_t i = 0; i < len;) {
        const char *slash = memchr(path + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - path) : len;
        if (end - i == 2 && path[i] == '.' && path[i + 1] == '.') {
            return "'..' in the module path";
        }
        i = end + 1;
    }
    return NULL;
}

/* The decimal digits s[0..n) as a number no larger than `max`; 0, or -1 if they are not. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* DIGITS ["." DIGITS] as seconds. Not strtod: it follows the locale's decimal point, accepts
 * much more (signs, exponents, "inf") and wants a terminated string. */
static int parse_seconds(const char *s, size_t n, double *out)
{
    const char *dot = memchr(s, '.', n);
    size_t whole = dot ? (size_t)(dot - s) : n;
    uint64_t ip, fp = 0;
    double scale = 1;
    if (whole > 15 || parse_uint(s, whole, UINT64_MAX, &ip) < 0) {
        return -1;
    }
    if (dot) {
        size_t digits = n - whole - 1;
        if (digits == 0 || digits > 64) {
            return -1;
        }
        for (size_t i = 0; i < digits; i++) {
            char c = dot[1 + i];
            if (c < '0' || c > '9') {
                return -1;
            }
            if (i < 18) { /* further digits are below a double's precision anyway */
                fp = fp * 10 + (uint64_t)(c - '0');
                scale *= 10;
            }
        }
    }
    *out = (double)ip + (double)fp / scale;
    return 0;
}

static int parse_counts(ash_result *out, const char *s, size_t n)
{
    for (int k = 0; k < ASH_COUNT_KINDS; k++) {
        const char *sp = memchr(s, ' ', n);
        size_t len = sp && k < ASH_COUNT_KINDS - 1 ? (size_t)(sp - s) : n;
        uint64_t v;
        if (parse_uint(s, len, UINT32_MAX, &v) < 0) {
            return -1;
        }
        out->counts[k] = (uint32_t)v;
        s += len + 1;
        n -= len < n ? len + 1 : n;
    }
    return 0;
}

typedef struct parser {
    const char *data;
    size_t len, pos; /* pos: the byte after the current line */
    const char *path;
    unsigned seen;
} parser;

static int malformed(const parser *p, size_t at, const char *why)
{
    return ash__error(ASH_ERROR, "%s: byte %zu: %s", p->path, at, why);
}

/* A blob field whose header line ended at p->pos: LEN bytes and a newline follow. */
static int parse_blob(parser *p, ash_buf *blob, const char *arg, size_t arg_len, size_t at)
{
    uint64_t n;
    if (parse_uint(arg, arg_len, SIZE_MAX, &n) < 0) {
        return malformed(p, at, "blob length is not a decimal number");
    }
    if (n >= p->len - p->pos) {
        return malformed(p, at, "blob runs past the end of the file");
    }
    if (p->data[p->pos + n] != '\n') {
        return malformed(p, at, "blob is not followed by a newline");
    }
    if (n > 0 && ash__buf_put(blob, p->data + p->pos, (size_t)n) < 0) {
        return ASH_ENOMEM;
    }
    p->pos += (size_t)n + 1;
    return 0;
}

static int is(const char *name, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(name, word, len) == 0;
}

/* The field whose line starts at `at`: 0, 1 after the end line, or an error. */
static int parse_field(parser *p, ash_result *out, size_t at)
{
    const char *line = p->data + at;
    const char *nl = memchr(line, '\n', p->len - at);
    if (!nl) {
        return malformed(p, at, at == p->len ? "no end line" : "unterminated line");
    }
    size_t n = (size_t)(nl - line);
    const char *sp = memchr(line, ' ', n);
    size_t name_len = sp ? (size_t)(sp - line) : n;
    const char *arg = sp ? sp + 1 : nl;
    size_t arg_len = (size_t)(nl - arg);
    p->pos = at + n + 1;
    unsigned bit = 0;
    int rc = 0;
    if (is(line, n, "end")) {
        if (!(p->seen & MODULE)) {
            return malformed(p, at, "no module line");
        }
        return p->pos == p->len ? 1 : malformed(p, p->pos, "bytes after the end line");
    } else if (!sp) {
        return malformed(p, at, "field without a value");
    } else if (is(line, name_len, "module")) {
        bit = MODULE;
        const char *why = ash__result_path_problem(arg, arg_len);
        if (why) {
            return malformed(p, at, why);
        }
        if (!(p->seen & bit) && !(out->module = ash__strndup(arg, arg_len))) {
            return ash__error_oom();
        }
    } else if (is(line, name_len, "counts")) {
        bit = COUNTS;
        if (parse_counts(out, arg, arg_len) < 0) {
            return malformed(p, at, "counts are not six decimal 32-bit numbers");
        }
    } else if (is(line, name_len, "duration")) {
        bit = DURATION;
        if (parse_seconds(arg, arg_len, &out->duration) < 0) {
            return malformed(p, at, "duration is not a decimal number of seconds");
        }
    } else if (is(line, name_len, "collected")) {
        bit = COLLECTED;
        uint64_t v;
        if (parse_uint(arg, arg_len, UINT32_MAX, &v) < 0) {
            return malformed(p, at, "collected is not a decimal 32-bit number");
        }
        out->collected = (uint32_t)v;
    } else {
        ash_buf *blobs[] = {&out->junit, &out->output, &out->coverage};
        for (size_t i = 0; i < ASH_ARRAY_SIZE(blob_names) && !bit; i++) {
            if (is(line, name_len, blob_names[i])) {
                bit = (unsigned)BLOB << i;
                rc = (p->seen & bit) ? 0 : parse_blob(p, blobs[i], arg, arg_len, at);
            }
        }
        if (!bit) {
            return malformed(p, at, "unknown field");
        }
    }
    if (p->seen & bit) {
        return malformed(p, at, "field given twice");
    }
    p->seen |= bit;
    return rc;
}

int ash__result_parse(ash_result *out, const char *data, size_t len, const char *path)
{
    memset(out, 0, sizeof(*out));
    parser p = {data, len, HEADER_LEN, path ? path : "result", 0};
    int rc = 0;
    if (len < HEADER_LEN || memcmp(data, HEADER, HEADER_LEN) != 0) {
        rc = malformed(&p, 0, "not an aftershock result file");
    }
    while (rc == 0) {
        rc = parse_field(&p, out, p.pos);
    }
    if (rc < 0) {
        ash__result_free(out);
        return rc;
    }
    out->outcome = ash__result_outcome(out);
    return 0;
}

int ash__result_write(ash_buf *out, const ash_result *r)
{
    const char *why =
        r->module ? ash__result_path_problem(r->module, strlen(r->module)) : "no module path";
    if (why) {
        return ash__error(ASH_EINVAL, "%s: %s", r->module ? r->module : "result", why);
    }
    /* integers only, so that the locale's decimal point cannot get in */
    double d = r->duration > 0 ? r->duration : 0; /* NaN too */
    uint64_t us = (uint64_t)((d < DURATION_MAX ? d : DURATION_MAX) * 1e6 + 0.5);
    const uint32_t *c = r->counts;
    if (ash__buf_printf(out,
                        HEADER "module %s\ncounts %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32
                               " %" PRIu32 " %" PRIu32 "\ncollected %" PRIu32 "\nduration %" PRIu64
                               ".%06" PRIu64 "\n",
                        r->module, c[0], c[1], c[2], c[3], c[4], c[5], r->collected, us / 1000000,
                        us % 1000000) < 0) {
        return ASH_ENOMEM;
    }
    const ash_buf *blobs[] = {&r->junit, &r->output, &r->coverage};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(blob_names); i++) {
        if (blobs[i]->len > 0 &&
            (ash__buf_printf(out, "%s %zu\n", blob_names[i], blobs[i]->len) < 0 ||
             ash__buf_put(out, blobs[i]->ptr, blobs[i]->len) < 0 || ash__buf_putc(out, '\n') < 0)) {
            return ASH_ENOMEM;
        }
    }
    return ash__buf_puts(out, "end\n");
}

void ash__result_free(ash_result *r)
{
    if (!r) {
        return;
    }
    ash__free(r->module);
    ash__buf_free(&r->junit);
    ash__buf_free(&r->output);
    ash__buf_free(&r->coverage);
    memset(r, 0, sizeof(*r));
}
