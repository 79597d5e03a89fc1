/*
 * Source decoding (see source.h). The common case, a UTF-8 file with '\n' newlines, costs
 * three fast passes (NUL, UTF-8, '\r') and no copy.
 */
#include "source.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

/* 1-based line of offset `off`, counting newlines the universal way ("\r\n", "\r", "\n"). */
static uint32_t line_of(const char *s, size_t off)
{
    uint32_t line = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && !(i + 1 < off && s[i + 1] == '\n'))) {
            line++;
        }
    }
    return line;
}

/* End of the line starting at p: its "\r" or "\n" (or end). */
static const char *line_end(const char *p, const char *end)
{
    while (p < end && *p != '\n' && *p != '\r') {
        p++;
    }
    return p;
}

/* Start of the line after the one ending at e. */
static const char *next_line(const char *e, const char *end)
{
    if (e < end && *e == '\r') {
        e++;
    }
    return e < end && *e == '\n' ? e + 1 : e;
}

/* The PEP 263 cookie in line [p, e), lower-cased into enc; 1 if there is one. */
static int cookie_in_line(const char *p, const char *e, char *enc, size_t cap)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\f')) {
        p++;
    }
    if (p >= e || *p != '#') {
        return 0;
    }
    for (const char *q = p; q + 7 <= e; q++) {
        if (memcmp(q, "coding", 6) == 0 && (q[6] == ':' || q[6] == '=')) {
            const char *v = q + 7;
            while (v < e && (*v == ' ' || *v == '\t')) {
                v++;
            }
            size_t n = 0;
            while (v < e && n + 1 < cap &&
                   ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
                    (*v >= '0' && *v <= '9') || *v == '-' || *v == '_' || *v == '.')) {
                char c = *v++;
                enc[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : (c == '_' ? '-' : c));
            }
            enc[n] = '\0';
            return n > 0;
        }
    }
    return 0;
}

/* Is the line [p, e) blank or a comment only? (Only then may the cookie be on line 2.) */
static int blank_or_comment(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\f' || *p == '\r')) {
        p++;
    }
    return p >= e || *p == '#';
}

/* The declared encoding, or "utf-8": a cookie on line 1, or on line 2 below a blank or
 * comment-only line 1 (PEP 263). */
static void find_encoding(const char *s, size_t len, char *enc, size_t cap)
{
    strcpy(enc, "utf-8");
    const char *end = s + len;
    const char *e1 = line_end(s, end);
    if (cookie_in_line(s, e1, enc, cap)) {
        return;
    }
    if (e1 < end && blank_or_comment(s, e1)) {
        const char *s2 = next_line(e1, end);
        if (!cookie_in_line(s2, line_end(s2, end), enc, cap)) {
            strcpy(enc, "utf-8");
        }
    } else {
        strcpy(enc, "utf-8");
    }
}

static int is_utf8_name(const char *enc)
{
    return strcmp(enc, "utf-8") == 0 || strncmp(enc, "utf-8-", 6) == 0 || strcmp(enc, "utf8") == 0;
}

/* Convert with iconv; 0 on success, 1 if the encoding is unknown or the bytes invalid. */
static int convert(ash_source *out, const char *data, size_t len, const char *enc)
{
    const char *name = enc;
    if (strcmp(enc, "latin-1") == 0 || strncmp(enc, "latin-1-", 8) == 0 ||
        strcmp(enc, "iso-latin-1") == 0 || strcmp(enc, "l1") == 0) {
        name = "ISO-8859-1";
    }
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) {
        return 1;
    }
    int rc = 1;
    size_t cap = len * 4 + 16;
    char *buf = ash__malloc(cap);
    if (!buf) {
        iconv_close(cd);
        return ash__error_oom();
    }
    char *in = (char *)data, *o = buf;
    size_t inleft = len, outleft = cap - 1;
    if (iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1 &&
        iconv(cd, NULL, NULL, &o, &outleft) != (size_t)-1) {
        *o = '\0';
        out->owned = buf;
        out->text = buf;
        out->len = (size_t)(o - buf);
        buf = NULL;
        rc = 0;
    }
    ash__free(buf);
    iconv_close(cd);
    return rc;
}

/* Universal newlines: "\r\n" and "\r" become "\n". */
static int normalize_newlines(ash_source *out)
{
    char *buf = out->owned;
    if (!buf) {
        buf = ash__malloc(out->len + 1);
        if (!buf) {
            return ash__error_oom();
        }
    }
    const char *s = out->text;
    size_t n = 0;
    for (size_t i = 0; i < out->len; i++) {
        if (s[i] == '\r') {
            buf[n++] = '\n';
            if (i + 1 < out->len && s[i + 1] == '\n') {
                i++;
            }
        } else {
            buf[n++] = s[i];
        }
    }
    buf[n] = '\0';
    out->owned = buf;
    out->text = buf;
    out->len = n;
    return 0;
}

int ash__source_decode(ash_source *out, const char *data, size_t len, const char *path,
                       ash_diag_fn diag, void *payload)
{
    memset(out, 0, sizeof(*out));
    out->text = data;
    out->len = len;
    if (memchr(data, '\0', len)) {
        ash__diag(diag, payload, path, "contains NUL bytes, which Python refuses; no imports read");
        out->status |= ASH_SOURCE_BINARY;
        out->text = "";
        out->len = 0;
        return 0;
    }
    int bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0;
    if (bom) {
        out->text += 3;
        out->len -= 3;
    }
    char enc[64];
    find_encoding(out->text, out->len, enc, sizeof(enc));
    if (!is_utf8_name(enc)) {
        int rc = bom ? 1 : convert(out, out->text, out->len, enc);
        if (rc < 0) {
            return rc;
        }
        if (rc > 0) {
            ash__diag(diag, payload, path, "%s '%s'; read as UTF-8",
                      bom ? "a UTF-8 BOM contradicts the coding cookie"
                          : "cannot decode with the declared encoding",
                      enc);
            out->status |= ASH_SOURCE_BAD_ENCODING;
        }
    }
    if (!out->owned) {
        size_t bad = ash__utf8_check(out->text, out->len);
        if (bad < out->len) {
            ash__diag(diag, payload, path, "invalid UTF-8 at line %u; imports read from the rest",
                      line_of(out->text, bad));
            out->status |= ASH_SOURCE_BAD_ENCODING;
        }
    }
    if (memchr(out->text, '\r', out->len)) {
        return normalize_newlines(out);
    }
    return 0;
}

void ash__source_free(ash_source *src)
{
    ash__free(src->owned);
    memset(src, 0, sizeof(*src));
}
