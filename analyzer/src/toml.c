/*
 * A strict TOML 1.0 reader. One pass over the input builds a tree of values in an arena owned
 * by the document, so that freeing is one walk over a list of chunks and every error path can
 * simply abandon what it built. Recursion only follows the nesting of arrays and inline tables,
 * which is bounded by ASH_TOML_MAX_DEPTH before each level is entered; everything else loops.
 *
 * Which tables may be extended from where follows tomllib (see the F_* flags below): a table is
 * defined once by a [header]; tables made by dotted keys belong to the section that made them;
 * inline tables and array literals are complete as written.
 */
#include "toml.h"

#include "ash_uthash.h"

#include <assert.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tables with more keys than this get a hash index besides their ordered entries. */
#define HASH_THRESHOLD 16
#define CHUNK_SIZE 16384
/* Longest excerpt of a key quoted in an error message. */
#define NAME_MAX_BYTES 64

/* Flags of a value, as tomllib tracks them. */
enum {
    F_EXPLICIT = 1 << 0, /* table defined by a [header], or array of tables: not again */
    F_DOTTED = 1 << 1,   /* table made or extended by dotted keys in `section` only */
    F_FROZEN = 1 << 2,   /* inline table or array literal: nothing may be added */
    F_AOT = 1 << 3,      /* array of tables, grown by [[header]] */
};

typedef struct entry {
    const char *key; /* arena copy, NUL-terminated */
    size_t keylen;
    ash_toml *value;
    UT_hash_handle hh;
} entry;

struct ash_toml {
    ash_toml_type type;
    unsigned short flags;
    unsigned short depth; /* 0 for the document */
    int line;
    int section; /* with F_DOTTED: the section whose dotted keys may extend it */
    union {
        struct {
            char *ptr;
            size_t len;
        } str;
        int64_t i;
        double f;
        int b;
        struct {
            ash_toml **items;
            size_t count, cap;
        } arr;
        struct {
            entry **entries; /* document order */
            size_t count, cap;
            entry *hash;           /* index once count > HASH_THRESHOLD */
            ash_toml *next_hashed; /* list of hashed tables, to clear the indexes */
        } tab;
    } u;
};

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    max_align_t data[];
} chunk;

typedef struct doc {
    ash_toml root; /* first, so that the document pointer is the root table */
    chunk *chunks;
    ash_toml *hashed;
} doc;

typedef struct keypart {
    const char *ptr; /* into the input (bare keys) or the arena (quoted keys) */
    size_t len;
    size_t pos; /* offset in the input, for messages */
} keypart;

typedef struct parser {
    const char *src;
    size_t len, pos;
    const char *path;
    doc *doc;
    size_t line_pos; /* cache of line_at: offset `line_pos` is on line `line` */
    int line;
    int section;  /* id of the current [header] section; 0 before the first header */
    int sections; /* ids handed out so far (sections and inline tables) */
    ash_buf scratch;
    keypart key[ASH_TOML_MAX_DEPTH]; /* the key being parsed */
    size_t nkey;
} parser;

/* ---------------------------------------------------------------------------------------- */
/* Arena and values                                                                         */

static void *arena_alloc(parser *p, size_t size)
{
    const size_t align = _Alignof(max_align_t);
    if (size > SIZE_MAX / 2) {
        return NULL;
    }
    size = (size + align - 1) & ~(align - 1);
    chunk *c = p->doc->chunks;
    if (c && c->size - c->used >= size) {
        void *r = (char *)c->data + c->used;
        c->used += size;
        return r;
    }
    /* Large requests get a chunk of their own behind the current one, which stays in use. */
    int own = size > CHUNK_SIZE / 4;
    size_t cap = own ? size : CHUNK_SIZE;
    chunk *n = ash__malloc(sizeof(chunk) + cap);
    if (!n) {
        return NULL;
    }
    n->size = cap;
    n->used = size;
    if (own && c) {
        n->next = c->next;
        c->next = n;
    } else {
        n->next = c;
        p->doc->chunks = n;
    }
    return n->data;
}

static char *arena_strndup(parser *p, const char *s, size_t n)
{
    char *r = arena_alloc(p, n + 1);
    if (r) {
        if (n) {
            memcpy(r, s, n);
        }
        r[n] = '\0';
    }
    return r;
}

/* Room for one more item in an arena array: the array, maybe moved, or NULL. The old copy is
 * abandoned, which at most doubles the array's cost. */
static void *arena_grow(parser *p, void *items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap) {
        return items;
    }
    size_t ncap = *cap ? *cap * 2 : 4;
    void *n = arena_alloc(p, ncap * size);
    if (!n) {
        return NULL;
    }
    if (count) {
        memcpy(n, items, count * size);
    }
    *cap = ncap;
    return n;
}

/* The line of offset `pos`, counted from the previous query: values are met in order, so this
 * stays linear over the document even when a message looks back a little. */
static int line_at(parser *p, size_t pos)
{
    if (pos > p->len) {
        pos = p->len;
    }
    for (size_t i = pos; i < p->line_pos; i++) {
        p->line -= p->src[i] == '\n';
    }
    for (size_t i = p->line_pos; i < pos; i++) {
        p->line += p->src[i] == '\n';
    }
    p->line_pos = pos;
    return p->line;
}

static int fail(parser *p, size_t pos, const char *fmt, ...) ASH_PRINTF(3, 4);

static int fail(parser *p, size_t pos, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return ash__error(ASH_ECONFIG, "%s:%d: %s", p->path ? p->path : "<input>", line_at(p, pos),
                      reason);
}

/* A new value of `type` at nesting `depth`, starting at offset `pos`. */
static int new_value(parser *p, ash_toml **out, ash_toml_type type, unsigned depth, size_t pos)
{
    if (depth > ASH_TOML_MAX_DEPTH) {
        return fail(p, pos, "nesting deeper than %d levels", ASH_TOML_MAX_DEPTH);
    }
    ash_toml *v = arena_alloc(p, sizeof(*v));
    if (!v) {
        return ash__error_oom();
    }
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->depth = (unsigned short)depth;
    v->line = line_at(p, pos);
    *out = v;
    return 0;
}

static entry *table_lookup(const ash_toml *t, const char *key, size_t len)
{
    entry *e = NULL;
    if (t->u.tab.hash) {
        entry *head = t->u.tab.hash;
        HASH_FIND(hh, head, key, len, e);
        return e;
    }
    for (size_t i = 0; i < t->u.tab.count; i++) {
        e = t->u.tab.entries[i];
        if (e->keylen == len && memcmp(e->key, key, len) == 0) {
            return e;
        }
    }
    return NULL;
}

static int index_entry(parser *p, ash_toml *t, entry *e)
{
    int had_index = t->u.tab.hash != NULL;
    ash__uthash_oom = 0;
    HASH_ADD_KEYPTR(hh, t->u.tab.hash, e->key, e->keylen, e);
    if (!had_index && t->u.tab.hash) {
        t->u.tab.next_hashed = p->doc->hashed;
        p->doc->hashed = t;
    }
    return ash__uthash_oom ? ash__error_oom() : 0;
}

/* Add `key` (copied) = `v` to table `t`; the caller has checked that the key is new. */
static int table_insert(parser *p, ash_toml *t, const char *key, size_t len, ash_toml *v)
{
    entry *e = arena_alloc(p, sizeof(*e));
    char *k = arena_strndup(p, key, len);
    if (!e || !k) {
        return ash__error_oom();
    }
    memset(e, 0, sizeof(*e));
    e->key = k;
    e->keylen = len;
    e->value = v;
    entry **entries = arena_grow(p, t->u.tab.entries, &t->u.tab.cap, t->u.tab.count, sizeof(e));
    if (!entries) {
        return ash__error_oom();
    }
    t->u.tab.entries = entries;
    t->u.tab.entries[t->u.tab.count++] = e;
    if (t->u.tab.count <= HASH_THRESHOLD) {
        return 0;
    }
    if (t->u.tab.hash) {
        return index_entry(p, t, e);
    }
    int rc = 0;
    for (size_t i = 0; i < t->u.tab.count && rc == 0; i++) {
        rc = index_entry(p, t, t->u.tab.entries[i]);
    }
    return rc;
}

static int array_push(parser *p, ash_toml *a, ash_toml *v)
{
    ash_toml **items = arena_grow(p, a->u.arr.items, &a->u.arr.cap, a->u.arr.count, sizeof(v));
    if (!items) {
        return ash__error_oom();
    }
    a->u.arr.items = items;
    a->u.arr.items[a->u.arr.count++] = v;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Characters, whitespace, comments and newlines                                            */

static int peek_at(const parser *p, size_t off)
{
    return p->pos + off < p->len ? (unsigned char)p->src[p->pos + off] : -1;
}

static int peek(const parser *p)
{
    return peek_at(p, 0);
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_bare(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '-';
}

/* Control characters TOML forbids in strings and comments: all but tab. */
static int is_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t')) {
        p->pos++;
    }
}

/* At '#': skip to the end of the line (not past it). */
static int skip_comment(parser *p)
{
    for (p->pos++; p->pos < p->len; p->pos++) {
        int c = peek(p);
        if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n')) {
            break;
        }
        if (is_control(c)) {
            return fail(p, p->pos, "control character U+%04X in a comment", (unsigned)c);
        }
    }
    return 0;
}

/* Consume one newline: 1 if there was one, 0 if not, an error for a lone carriage return. */
static int eat_newline(parser *p)
{
    int c = peek(p);
    if (c == '\n') {
        p->pos++;
        return 1;
    }
    if (c == '\r') {
        if (peek_at(p, 1) != '\n') {
            return fail(p, p->pos, "carriage return not followed by a newline");
        }
        p->pos += 2;
        return 1;
    }
    return 0;
}

/* Skip whitespace, comments and newlines, as allowed between array items. */
static int skip_blank(parser *p)
{
    for (;;) {
        skip_ws(p);
        if (peek(p) == '#') {
            int rc = skip_comment(p);
            if (rc < 0) {
                return rc;
            }
        }
        int rc = eat_newline(p);
        if (rc <= 0) {
            return rc;
        }
    }
}

/* After a statement: optional whitespace and comment, then a newline or the end. */
static int end_of_line(parser *p, const char *after)
{
    skip_ws(p);
    if (peek(p) == '#') {
        int rc = skip_comment(p);
        if (rc < 0) {
            return rc;
        }
    }
    if (p->pos >= p->len) {
        return 0;
    }
    int rc = eat_newline(p);
    if (rc == 0) {
        return fail(p, p->pos, "expected a newline after %s", after);
    }
    return rc < 0 ? rc : 0;
}

/* Checking the whole input once lets the rest of the parser work on bytes. */
static int check_utf8(parser *p)
{
    size_t bad = ash__utf8_check(p->src, p->len);
    return bad < p->len ? fail(p, bad, "invalid UTF-8") : 0;
}

/* `s[0..len)` made fit for a one-line message: control bytes become '?', long keys are cut. */
static void printable(char *buf, size_t size, const char *s, size_t len)
{
    size_t n = 0;
    size_t limit = size - 1 < NAME_MAX_BYTES ? size - 1 : NAME_MAX_BYTES;
    if (len > limit) {
        len = limit;
        /* Do not cut a UTF-8 sequence in the middle. */
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) {
            len--;
        }
    }
    for (size_t i = 0; i < len; i++) {
        buf[n++] = is_control((unsigned char)s[i]) || s[i] == '\t' ? '?' : s[i];
    }
    buf[n] = '\0';
}

/* The first `count` parts of the current key, joined with '.', for messages. */
static const char *key_name(parser *p, size_t count, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && n + 2 < size; i++) {
        if (i) {
            buf[n++] = '.';
        }
        printable(buf + n, size - n, p->key[i].ptr, p->key[i].len);
        n += strlen(buf + n);
    }
    return buf;
}

/* Fail at `pos` with "<before>'<first `count` parts of the key>'<after>". Kept out of the
 * recursive functions so that their frames stay small. */
static int fail_key(parser *p, size_t pos, size_t count, const char *before, const char *after)
{
    char name[256];
    return fail(p, pos, "%s'%s'%s", before, key_name(p, count, name, sizeof(name)), after);
}

/* ---------------------------------------------------------------------------------------- */
/* Strings                                                                                  */

static int put_utf8(ash_buf *b, uint32_t cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) {
        s[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | (cp >> 6));
        s[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        s[0] = (char)(0xF0 | (cp >> 18));
        s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return ash__buf_put(b, s, n);
}

/* After "\u" or "\U" (the backslash at `at`): `digits` hex digits naming a scalar value. */
static int unicode_escape(parser *p, size_t at, int digits)
{
    uint32_t cp = 0;
    for (int i = 0; i < digits; i++) {
        int c = peek(p);
        int d = is_digit(c)              ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) {
            return fail(p, at, "invalid escape: \\%c needs %d hex digits", digits == 4 ? 'u' : 'U',
                        digits);
        }
        cp = cp * 16 + (uint32_t)d;
        p->pos++;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return fail(p, at, "invalid escape: U+%X is not a Unicode scalar value", (unsigned)cp);
    }
    return put_utf8(&p->scratch, cp);
}

/* A backslash at the end of a line of a multi-line basic string: drop all whitespace after. */
static int line_ending_backslash(parser *p, size_t at)
{
    skip_ws(p);
    int rc = eat_newline(p);
    if (rc == 0) {
        return fail(p, at, "invalid escape: only whitespace may follow a line-ending backslash");
    }
    while (rc > 0) {
        skip_ws(p);
        rc = eat_newline(p);
    }
    return rc;
}

/* At a backslash in a basic string: decode one escape into the scratch buffer. */
static int escape(parser *p, int multiline)
{
    static const char from[] = "btnfr\"\\";
    static const char to[] = "\b\t\n\f\r\"\\";
    size_t at = p->pos++;
    int c = peek(p);
    const char *known = c > 0 ? strchr(from, c) : NULL;
    if (known) {
        p->pos++;
        return ash__buf_putc(&p->scratch, to[known - from]);
    }
    if (c == 'u' || c == 'U') {
        p->pos++;
        return unicode_escape(p, at, c == 'u' ? 4 : 8);
    }
    if (multiline && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
        return line_ending_backslash(p, at);
    }
    if (c > 0x20 && c < 0x7f) {
        return fail(p, at, "invalid escape sequence '\\%c'", c);
    }
    return fail(p, at, "invalid escape sequence");
}

/*
 * The body of a string after its opening delimiter, up to and including the closing one, into
 * the scratch buffer. `basic`: escapes are decoded. A multi-line string may end with up to two
 * extra quotes that belong to its content ("""a""""" is `a""`).
 */
static int string_body(parser *p, int basic, int multiline, size_t open)
{
    const char quote = basic ? '"' : '\'';
    size_t start = p->pos;
    for (;;) {
        int c = peek(p);
        int rc = 0;
        if (c < 0) {
            return fail(p, open, "unterminated string");
        }
        if (c == quote) {
            size_t run = 1;
            while (multiline && run < 6 && peek_at(p, run) == quote) {
                run++;
            }
            if (!multiline || run >= 3) {
                if (run > 5) {
                    return fail(p, p->pos, "too many quotes at the end of a multi-line string");
                }
                size_t keep = multiline ? run - 3 : 0;
                rc = ash__buf_put(&p->scratch, p->src + start, p->pos + keep - start);
                p->pos += run;
                return rc;
            }
            p->pos += run;
            continue;
        }
        if (c == '\n' || c == '\r' || (basic && c == '\\')) {
            rc = ash__buf_put(&p->scratch, p->src + start, p->pos - start);
            if (rc == 0 && c == '\\') {
                rc = escape(p, multiline);
            } else if (rc == 0 && !multiline) {
                return fail(p, p->pos, "newline in a single-line string");
            } else if (rc == 0 && (rc = eat_newline(p)) > 0) {
                /* "\r\n" is kept as "\n". */
                rc = ash__buf_putc(&p->scratch, '\n');
            }
            if (rc < 0) {
                return rc;
            }
            start = p->pos;
            continue;
        }
        if (is_control(c)) {
            return fail(p, p->pos, "control character U+%04X in a string", (unsigned)c);
        }
        p->pos++;
    }
}

/* At a quote: parse any of the four kinds of strings into the scratch buffer. */
static int parse_string(parser *p, int allow_multiline)
{
    size_t open = p->pos;
    int basic = peek(p) == '"';
    int multiline = peek_at(p, 1) == peek(p) && peek_at(p, 2) == peek(p);
    ash__buf_clear(&p->scratch);
    if (multiline && !allow_multiline) {
        return fail(p, open, "a key cannot be a multi-line string");
    }
    if (!multiline) {
        p->pos++;
        return string_body(p, basic, 0, open);
    }
    p->pos += 3;
    /* A newline right after the opening delimiter is not part of the string. */
    int rc = eat_newline(p);
    return rc < 0 ? rc : string_body(p, basic, 1, open);
}

/* ---------------------------------------------------------------------------------------- */
/* Numbers and date-times                                                                   */

static int digit_value(int c, int base)
{
    int d = is_digit(c)              ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : 99;
    return d < base ? d : -1;
}

/* Length of a run of digits of `base`, with single underscores between digits; 0 if none. */
static size_t digit_run(const char *s, size_t n, int base)
{
    if (n == 0 || digit_value((unsigned char)s[0], base) < 0) {
        return 0;
    }
    size_t i = 1;
    while (i < n) {
        if (digit_value((unsigned char)s[i], base) >= 0) {
            i++;
        } else if (s[i] == '_' && i + 1 < n && digit_value((unsigned char)s[i + 1], base) >= 0) {
            i += 2;
        } else {
            break;
        }
    }
    return i;
}

/* The integer of a digit run (already checked); -1 if it does not fit under `limit`. */
static int run_value(const char *s, size_t n, int base, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            continue;
        }
        uint64_t d = (uint64_t)digit_value((unsigned char)s[i], base);
        if (v > (limit - d) / (uint64_t)base) {
            return -1;
        }
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return 0;
}

/* A float written as checked TOML: underscores dropped, '.' as the C locale's decimal point. */
static int float_value(parser *p, const char *s, size_t n, double *out)
{
    const char *point = localeconv()->decimal_point;
    ash__buf_clear(&p->scratch);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (s[i] == '.') {
            rc = ash__buf_puts(&p->scratch, point);
        } else if (s[i] != '_') {
            rc = ash__buf_putc(&p->scratch, s[i]);
        }
    }
    if (rc == 0) {
        *out = strtod(ash__buf_cstr(&p->scratch), NULL);
    }
    return rc;
}

static int integer_token(parser *p, ash_toml *v, const char *s, size_t n, size_t start)
{
    int neg = s[0] == '-';
    size_t sign = s[0] == '-' || s[0] == '+';
    int base = 10;
    if (n - sign > 2 && s[sign] == '0' && strchr("xob", s[sign + 1])) {
        if (sign) {
            return fail(p, start, "a sign is not allowed on hexadecimal, octal or binary integers");
        }
        base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        sign = 2;
        if (digit_run(s + 2, n - 2, base) != n - 2) {
            return fail(p, start, "invalid number '%.*s'", (int)(n < 32 ? n : 32), s);
        }
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t u;
    if (run_value(s + sign, n - sign, base, limit, &u) < 0) {
        return fail(p, start, "integer out of range");
    }
    v->type = ASH_TOML_INTEGER;
    v->u.i = !neg ? (int64_t)u : u > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)u;
    return 0;
}

/* Classify and convert a number token already cut out of the input. */
static int number_token(parser *p, ash_toml *v, const char *s, size_t n, size_t start)
{
    size_t i = s[0] == '+' || s[0] == '-';
    if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
        v->type = ASH_TOML_FLOAT;
        v->u.f = s[i] == 'i' ? INFINITY : NAN;
        v->u.f = s[0] == '-' ? -v->u.f : v->u.f;
        return 0;
    }
    if (n - i > 2 && s[i] == '0' && strchr("xob", s[i + 1])) {
        return integer_token(p, v, s, n, start);
    }
    size_t int_len = digit_run(s + i, n - i, 10);
    if (int_len == 0) {
        return fail(p, start, "invalid number '%.*s'", (int)(n < 32 ? n : 32), s);
    }
    if (s[i] == '0' && int_len > 1) {
        return fail(p, start, "leading zeros are not allowed in '%.*s'", (int)(n < 32 ? n : 32), s);
    }
    size_t j = i + int_len, run = 1;
    int is_float = 0;
    if (j < n && s[j] == '.') {
        run = digit_run(s + j + 1, n - j - 1, 10);
        j += 1 + run;
        is_float = 1;
    }
    if (run && j < n && (s[j] == 'e' || s[j] == 'E')) {
        j += j + 1 < n && (s[j + 1] == '+' || s[j + 1] == '-') ? 2 : 1;
        run = digit_run(s + j, n - j, 10);
        j += run;
        is_float = 1;
    }
    if (run == 0 || j != n) {
        return fail(p, start, "invalid number '%.*s'", (int)(n < 32 ? n : 32), s);
    }
    if (!is_float) {
        return integer_token(p, v, s, n, start);
    }
    v->type = ASH_TOML_FLOAT;
    return float_value(p, s, n, &v->u.f);
}

static int parse_number(parser *p, ash_toml **out, unsigned depth)
{
    size_t start = p->pos;
    while (p->pos < p->len && (is_bare(peek(p)) || peek(p) == '.' || peek(p) == '+')) {
        p->pos++;
    }
    int rc = new_value(p, out, ASH_TOML_INTEGER, depth, start);
    if (rc == 0) {
        rc = number_token(p, *out, p->src + start, p->pos - start, start);
    }
    return rc;
}

/* Exactly `count` digits at s[*i], as a number; -1 if they are not there. */
static int read_digits(const char *s, size_t n, size_t *i, int count)
{
    int v = 0;
    for (int k = 0; k < count; k++, (*i)++) {
        if (*i >= n || !is_digit(s[*i])) {
            return -1;
        }
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

static int read_field(const char *s, size_t n, size_t *i, int count, int min, int max)
{
    int v = read_digits(s, n, i, count);
    return v >= min && v <= max ? v : -1;
}

static int expect_char(const char *s, size_t n, size_t *i, char c)
{
    if (*i < n && s[*i] == c) {
        (*i)++;
        return 0;
    }
    return -1;
}

static int scan_date(const char *s, size_t n, size_t *i)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = read_digits(s, n, i, 4);
    if (y < 0 || expect_char(s, n, i, '-') < 0) {
        return -1;
    }
    int m = read_field(s, n, i, 2, 1, 12);
    if (m < 0 || expect_char(s, n, i, '-') < 0) {
        return -1;
    }
    int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    int d = read_field(s, n, i, 2, 1, days[m - 1] - (m == 2 && !leap));
    return d < 0 ? -1 : 0;
}

/* HH:MM:SS[.fraction]: TOML 1.0 requires the seconds. A leap second is refused, as tomllib. */
static int scan_time(const char *s, size_t n, size_t *i)
{
    if (read_field(s, n, i, 2, 0, 23) < 0 || expect_char(s, n, i, ':') < 0 ||
        read_field(s, n, i, 2, 0, 59) < 0 || expect_char(s, n, i, ':') < 0 ||
        read_field(s, n, i, 2, 0, 59) < 0) {
        return -1;
    }
    if (*i < n && s[*i] == '.') {
        (*i)++;
        if (*i >= n || !is_digit(s[*i])) {
            return -1;
        }
        while (*i < n && is_digit(s[*i])) {
            (*i)++;
        }
    }
    return 0;
}

/* Z, or +HH:MM / -HH:MM, or nothing for a local date-time. */
static int scan_offset(const char *s, size_t n, size_t *i)
{
    if (*i < n && (s[*i] == 'Z' || s[*i] == 'z')) {
        (*i)++;
    } else if (*i < n && (s[*i] == '+' || s[*i] == '-')) {
        (*i)++;
        if (read_field(s, n, i, 2, 0, 23) < 0 || expect_char(s, n, i, ':') < 0 ||
            read_field(s, n, i, 2, 0, 59) < 0) {
            return -1;
        }
    }
    return 0;
}

/* A date, date-time or time, kept as its source text. */
static int parse_datetime(parser *p, ash_toml **out, unsigned depth, int has_date)
{
    const char *s = p->src + p->pos;
    size_t n = p->len - p->pos, i = 0;
    int bad;
    if (has_date) {
        bad = scan_date(s, n, &i);
        /* A space separates a time only when a time follows: "1979-05-27 # comment" is a date. */
        if (!bad && i < n &&
            (s[i] == 'T' || s[i] == 't' ||
             (s[i] == ' ' && i + 3 < n && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
              s[i + 3] == ':'))) {
            i++;
            bad = scan_time(s, n, &i) < 0 || scan_offset(s, n, &i) < 0;
        }
    } else {
        bad = scan_time(s, n, &i);
    }
    if (bad) {
        return fail(p, p->pos, "invalid date or time");
    }
    int rc = new_value(p, out, ASH_TOML_DATETIME, depth, p->pos);
    if (rc < 0) {
        return rc;
    }
    (*out)->u.str.ptr = arena_strndup(p, s, i);
    (*out)->u.str.len = i;
    p->pos += i;
    return (*out)->u.str.ptr ? 0 : ash__error_oom();
}

/* ---------------------------------------------------------------------------------------- */
/* Values                                                                                   */

static int parse_value(parser *p, ash_toml **out, unsigned depth);
static int parse_keyval(parser *p, ash_toml *table, int section);

static int parse_string_value(parser *p, ash_toml **out, unsigned depth)
{
    size_t start = p->pos;
    int rc = parse_string(p, 1);
    if (rc == 0) {
        rc = new_value(p, out, ASH_TOML_STRING, depth, start);
    }
    if (rc < 0) {
        return rc;
    }
    (*out)->u.str.len = p->scratch.len;
    (*out)->u.str.ptr = arena_strndup(p, ash__buf_cstr(&p->scratch), p->scratch.len);
    return (*out)->u.str.ptr ? 0 : ash__error_oom();
}

static int parse_array(parser *p, ash_toml **out, unsigned depth)
{
    size_t open = p->pos;
    ash_toml *a;
    int rc = new_value(p, &a, ASH_TOML_ARRAY, depth, open);
    if (rc < 0) {
        return rc;
    }
    a->flags = F_FROZEN;
    p->pos++;
    for (;;) {
        if ((rc = skip_blank(p)) < 0) {
            return rc;
        }
        if (peek(p) == ']') {
            break;
        }
        if (p->pos >= p->len) {
            return fail(p, open, "unterminated array");
        }
        ash_toml *item;
        if ((rc = parse_value(p, &item, depth + 1)) < 0 || (rc = array_push(p, a, item)) < 0 ||
            (rc = skip_blank(p)) < 0) {
            return rc;
        }
        if (peek(p) == ']') {
            break;
        }
        if (peek(p) != ',') {
            return p->pos >= p->len ? fail(p, open, "unterminated array")
                                    : fail(p, p->pos, "expected ',' or ']' in an array");
        }
        p->pos++;
    }
    p->pos++;
    *out = a;
    return 0;
}

static int parse_inline_table(parser *p, ash_toml **out, unsigned depth)
{
    size_t open = p->pos;
    ash_toml *t;
    int rc = new_value(p, &t, ASH_TOML_TABLE, depth, open);
    if (rc < 0) {
        return rc;
    }
    /* Dotted keys inside may extend the tables they make here, and nothing else. */
    int section = ++p->sections;
    p->pos++;
    skip_ws(p);
    int c = peek(p);
    while (c != '}') {
        if (c < 0) {
            return fail(p, open, "unterminated inline table");
        }
        if (c == '\n' || c == '\r') {
            return fail(p, p->pos, "newline in an inline table");
        }
        if ((rc = parse_keyval(p, t, section)) < 0) {
            return rc;
        }
        skip_ws(p);
        c = peek(p);
        if (c == ',') {
            p->pos++;
            skip_ws(p);
            c = peek(p);
            if (c == '}') {
                return fail(p, p->pos, "trailing comma in an inline table");
            }
        } else if (c < 0) {
            return fail(p, open, "unterminated inline table");
        } else if (c != '}' && c != '\n' && c != '\r') {
            return fail(p, p->pos, "expected ',' or '}' in an inline table");
        }
    }
    p->pos++;
    t->flags = F_FROZEN;
    *out = t;
    return 0;
}

static int match_word(parser *p, const char *word)
{
    size_t n = strlen(word);
    return p->len - p->pos >= n && memcmp(p->src + p->pos, word, n) == 0;
}

static int parse_bool(parser *p, ash_toml **out, unsigned depth)
{
    int b = match_word(p, "true");
    if (!b && !match_word(p, "false")) {
        return fail(p, p->pos, "expected a value");
    }
    int rc = new_value(p, out, ASH_TOML_BOOL, depth, p->pos);
    if (rc == 0) {
        (*out)->u.b = b;
        p->pos += b ? 4 : 5;
    }
    return rc;
}

/* One value of any type at nesting `depth`. */
static int parse_value(parser *p, ash_toml **out, unsigned depth)
{
    const char *s = p->src + p->pos;
    size_t n = p->len - p->pos;
    int c = peek(p);
    if (c == '"' || c == '\'') {
        return parse_string_value(p, out, depth);
    } else if (c == '[') {
        return parse_array(p, out, depth);
    } else if (c == '{') {
        return parse_inline_table(p, out, depth);
    } else if (c == 't' || c == 'f') {
        return parse_bool(p, out, depth);
    } else if (n >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
               s[4] == '-') {
        return parse_datetime(p, out, depth, 1);
    } else if (n >= 3 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':') {
        return parse_datetime(p, out, depth, 0);
    } else if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n') {
        return parse_number(p, out, depth);
    }
    return fail(p, p->pos, "expected a value");
}

/* ---------------------------------------------------------------------------------------- */
/* Keys, key/value pairs and table headers                                                  */

/* A bare, quoted or dotted key into p->key[0..nkey); whitespace around dots is allowed. */
static int parse_key(parser *p)
{
    p->nkey = 0;
    for (;;) {
        skip_ws(p);
        if (p->nkey == ASH_TOML_MAX_DEPTH) {
            return fail(p, p->pos, "key with more than %d parts", ASH_TOML_MAX_DEPTH);
        }
        keypart *k = &p->key[p->nkey];
        k->pos = p->pos;
        int c = peek(p);
        if (is_bare(c)) {
            while (is_bare(peek(p))) {
                p->pos++;
            }
            k->ptr = p->src + k->pos;
            k->len = p->pos - k->pos;
        } else if (c == '"' || c == '\'') {
            int rc = parse_string(p, 0);
            if (rc < 0) {
                return rc;
            }
            k->len = p->scratch.len;
            k->ptr = arena_strndup(p, ash__buf_cstr(&p->scratch), k->len);
            if (!k->ptr) {
                return ash__error_oom();
            }
        } else {
            return fail(p, p->pos, "expected a key");
        }
        p->nkey++;
        skip_ws(p);
        if (peek(p) != '.') {
            return 0;
        }
        p->pos++;
    }
}

/* Walk the dotted prefix of the current key from table `t` in `section`, making tables. */
static int resolve_dotted(parser *p, ash_toml *t, int section, ash_toml **out)
{
    for (size_t i = 0; i + 1 < p->nkey; i++) {
        keypart *k = &p->key[i];
        entry *e = table_lookup(t, k->ptr, k->len);
        ash_toml *v;
        if (!e) {
            int rc = new_value(p, &v, ASH_TOML_TABLE, t->depth + 1u, k->pos);
            if (rc < 0 || (rc = table_insert(p, t, k->ptr, k->len, v)) < 0) {
                return rc;
            }
        } else {
            v = e->value;
            if (v->type != ASH_TOML_TABLE) {
                return fail_key(p, k->pos, i + 1, "key ", " is already defined and is not a table");
            }
            if (v->flags & F_FROZEN) {
                return fail_key(p, k->pos, i + 1, "cannot add keys to inline table ", "");
            }
            if ((v->flags & F_EXPLICIT) || ((v->flags & F_DOTTED) && v->section != section)) {
                return fail_key(p, k->pos, i + 1, "cannot add keys to table ",
                                " with dotted keys here");
            }
        }
        /* Once extended by dotted keys, a table belongs to this section (as in tomllib). */
        v->flags |= F_DOTTED;
        v->section = section;
        t = v;
    }
    *out = t;
    return 0;
}

/* `key = value` into `table`, whose dotted keys belong to `section`. */
static int parse_keyval(parser *p, ash_toml *table, int section)
{
    int rc = parse_key(p);
    if (rc < 0) {
        return rc;
    }
    if (peek(p) != '=') {
        return fail(p, p->pos, "expected '=' after key");
    }
    p->pos++;
    skip_ws(p);
    ash_toml *parent = NULL, *v;
    if ((rc = resolve_dotted(p, table, section, &parent)) < 0) {
        return rc;
    }
    /* The value may parse keys of its own: keep the last part of this one. */
    keypart stem = p->key[p->nkey - 1];
    if (table_lookup(parent, stem.ptr, stem.len)) {
        return fail_key(p, stem.pos, p->nkey, "duplicate key ", "");
    }
    if ((rc = parse_value(p, &v, parent->depth + 1u)) < 0) {
        return rc;
    }
    return table_insert(p, parent, stem.ptr, stem.len, v);
}

/* One part of a header's prefix: descend into (or make) a table, or the last of an AOT. */
static int header_step(parser *p, ash_toml *t, size_t i, ash_toml **out)
{
    keypart *k = &p->key[i];
    entry *e = table_lookup(t, k->ptr, k->len);
    if (!e) {
        int rc = new_value(p, out, ASH_TOML_TABLE, t->depth + 1u, k->pos);
        return rc < 0 ? rc : table_insert(p, t, k->ptr, k->len, *out);
    }
    ash_toml *v = e->value;
    if (v->flags & F_FROZEN) {
        return fail_key(p, k->pos, i + 1, "cannot add a table to ", ", an inline table or array");
    }
    if (v->type == ASH_TOML_ARRAY) {
        v = v->u.arr.items[v->u.arr.count - 1]; /* an array of tables is never empty */
    } else if (v->type != ASH_TOML_TABLE) {
        return fail_key(p, k->pos, i + 1, "key ", " is already defined and is not a table");
    }
    *out = v;
    return 0;
}

/* The last part of a [header] in table `t`: define the table. */
static int define_table(parser *p, ash_toml *t, size_t open, ash_toml **out)
{
    keypart *k = &p->key[p->nkey - 1];
    entry *e = table_lookup(t, k->ptr, k->len);
    if (!e) {
        int rc = new_value(p, out, ASH_TOML_TABLE, t->depth + 1u, open);
        if (rc < 0 || (rc = table_insert(p, t, k->ptr, k->len, *out)) < 0) {
            return rc;
        }
    } else if (e->value->type == ASH_TOML_TABLE &&
               !(e->value->flags & (F_EXPLICIT | F_DOTTED | F_FROZEN))) {
        *out = e->value;
        (*out)->line = line_at(p, open);
    } else {
        return fail_key(p, k->pos, p->nkey, "table ", " is already defined");
    }
    (*out)->flags |= F_EXPLICIT;
    return 0;
}

/* The last part of a [[header]] in table `t`: append a table to the array of tables. */
static int define_aot(parser *p, ash_toml *t, size_t open, ash_toml **out)
{
    keypart *k = &p->key[p->nkey - 1];
    entry *e = table_lookup(t, k->ptr, k->len);
    ash_toml *a;
    int rc = 0;
    if (!e) {
        rc = new_value(p, &a, ASH_TOML_ARRAY, t->depth + 1u, open);
        if (rc < 0 || (rc = table_insert(p, t, k->ptr, k->len, a)) < 0) {
            return rc;
        }
        a->flags = F_AOT | F_EXPLICIT;
    } else if (e->value->flags & F_AOT) {
        a = e->value;
    } else {
        return fail_key(p, k->pos, p->nkey, "cannot define array of tables ",
                        ": the key is already defined");
    }
    if ((rc = new_value(p, out, ASH_TOML_TABLE, a->depth + 1u, open)) < 0) {
        return rc;
    }
    (*out)->flags = F_EXPLICIT;
    return array_push(p, a, *out);
}

/* At '[': a [table] or [[array of tables]] header; `*cur` becomes the table it opens. */
static int parse_header(parser *p, ash_toml **cur)
{
    size_t open = p->pos;
    int aot = peek_at(p, 1) == '[';
    p->pos += aot ? 2 : 1;
    int rc = parse_key(p);
    if (rc < 0) {
        return rc;
    }
    if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
        return fail(p, p->pos, "expected '%s' after the table name", aot ? "]]" : "]");
    }
    p->pos += aot ? 2 : 1;
    ash_toml *t = &p->doc->root;
    for (size_t i = 0; i + 1 < p->nkey; i++) {
        if ((rc = header_step(p, t, i, &t)) < 0) {
            return rc;
        }
    }
    rc = aot ? define_aot(p, t, open, cur) : define_table(p, t, open, cur);
    if (rc < 0) {
        return rc;
    }
    p->section = ++p->sections;
    return end_of_line(p, "the table header");
}

static int parse_document(parser *p)
{
    ash_toml *cur = &p->doc->root;
    if (p->len >= 3 && memcmp(p->src, "\xEF\xBB\xBF", 3) == 0) {
        p->pos = 3;
    }
    while (p->pos < p->len) {
        skip_ws(p);
        int c = peek(p), rc;
        if (c == '[') {
            rc = parse_header(p, &cur);
        } else if (c == '#' || c == '\n' || c == '\r' || c < 0) {
            rc = end_of_line(p, "a comment");
        } else if ((rc = parse_keyval(p, cur, p->section)) == 0) {
            rc = end_of_line(p, "the value");
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Public functions                                                                         */

int ash__toml_parse(ash_toml **out, const char *data, size_t len, const char *path)
{
    *out = NULL;
    parser *p = ash__calloc(1, sizeof(*p));
    doc *d = ash__calloc(1, sizeof(*d));
    int rc = 0;
    if (!p || !d) {
        rc = ash__error_oom();
        goto done;
    }
    d->root.type = ASH_TOML_TABLE;
    d->root.line = 1;
    p->src = data ? data : "";
    p->len = data ? len : 0;
    p->path = path;
    p->doc = d;
    p->line = 1;
    if (p->len > INT_MAX) {
        rc = fail(p, 0, "document larger than %d bytes", INT_MAX);
        goto done;
    }
    if ((rc = check_utf8(p)) == 0 && (rc = parse_document(p)) == 0) {
        *out = &d->root;
        d = NULL;
    }
done:
    if (p) {
        ash__buf_free(&p->scratch);
    }
    ash__free(p);
    ash__toml_free(d ? &d->root : NULL);
    return rc;
}

void ash__toml_free(ash_toml *doc_root)
{
    if (!doc_root) {
        return;
    }
    doc *d = (doc *)doc_root;
    for (ash_toml *t = d->hashed; t; t = t->u.tab.next_hashed) {
        HASH_CLEAR(hh, t->u.tab.hash);
    }
    for (chunk *c = d->chunks, *next; c; c = next) {
        next = c->next;
        ash__free(c);
    }
    ash__free(d);
}

ash_toml_type ash__toml_type(const ash_toml *v)
{
    assert(v);
    return v->type;
}

const ash_toml *ash__toml_find(const ash_toml *table, const char *key)
{
    if (!table || table->type != ASH_TOML_TABLE) {
        return NULL;
    }
    entry *e = table_lookup(table, key, strlen(key));
    return e ? e->value : NULL;
}

const ash_toml *ash__toml_get(const ash_toml *table, const char *dotted_path)
{
    const char *s = dotted_path;
    for (;;) {
        if (!table || table->type != ASH_TOML_TABLE) {
            return NULL;
        }
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        entry *e = table_lookup(table, s, n);
        if (!e || !dot) {
            return e ? e->value : NULL;
        }
        table = e->value;
        s = dot + 1;
    }
}

const char *ash__toml_string(const ash_toml *v)
{
    return v && (v->type == ASH_TOML_STRING || v->type == ASH_TOML_DATETIME) ? v->u.str.ptr : NULL;
}

size_t ash__toml_string_len(const ash_toml *v)
{
    return ash__toml_string(v) ? v->u.str.len : 0;
}

int64_t ash__toml_int(const ash_toml *v)
{
    return v && v->type == ASH_TOML_INTEGER ? v->u.i : 0;
}

double ash__toml_float(const ash_toml *v)
{
    return v && v->type == ASH_TOML_FLOAT ? v->u.f : 0.0;
}

int ash__toml_bool(const ash_toml *v)
{
    return v && v->type == ASH_TOML_BOOL ? v->u.b : 0;
}

size_t ash__toml_count(const ash_toml *v)
{
    if (!v) {
        return 0;
    }
    return v->type == ASH_TOML_ARRAY   ? v->u.arr.count
           : v->type == ASH_TOML_TABLE ? v->u.tab.count
                                       : 0;
}

const ash_toml *ash__toml_at(const ash_toml *v, size_t i)
{
    if (i >= ash__toml_count(v)) {
        return NULL;
    }
    return v->type == ASH_TOML_ARRAY ? v->u.arr.items[i] : v->u.tab.entries[i]->value;
}

const char *ash__toml_key_at(const ash_toml *table, size_t i)
{
    if (!table || table->type != ASH_TOML_TABLE || i >= table->u.tab.count) {
        return NULL;
    }
    return table->u.tab.entries[i]->key;
}

int ash__toml_line(const ash_toml *v)
{
    return v ? v->line : 0;
}
