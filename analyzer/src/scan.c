/*
 * The lexical pass (see scan.h). It is the hot loop of extraction: every byte of every file
 * goes through `scan_code`, so plain code runs through a class table, and strings and
 * comments through memchr-style inner loops. tree-sitter then parses only the skeleton, which
 * on real code is a few percent of the bytes.
 *
 * Logical lines are found the way CPython's tokenizer finds them: a newline ends one unless it
 * is inside brackets, a string, an f-string replacement field, or follows a backslash.
 * Indentation uses CPython's rule (tab to the next multiple of 8, form feed resets).
 */
#include "scan.h"

#include <string.h>

enum {
    C_OTHER = 0, /* operators, digits handled as identifiers */
    C_SPACE,
    C_IDENT,
    C_NL,
    C_HASH,
    C_QUOTE,
    C_BSLASH,
    C_OPEN,
    C_CLOSE,
    C_COLON,
};

static unsigned char char_class[256];

static void init_classes(void)
{
    if (char_class['a'] == C_IDENT) {
        return;
    }
    for (int c = 0; c < 256; c++) {
        unsigned char k = C_OTHER;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c >= 0x80) {
            k = C_IDENT;
        } else if (c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r') {
            k = C_SPACE;
        } else if (c == '\n') {
            k = C_NL;
        } else if (c == '#') {
            k = C_HASH;
        } else if (c == '"' || c == '\'') {
            k = C_QUOTE;
        } else if (c == '\\') {
            k = C_BSLASH;
        } else if (c == '(' || c == '[' || c == '{') {
            k = C_OPEN;
        } else if (c == ')' || c == ']' || c == '}') {
            k = C_CLOSE;
        } else if (c == ':') {
            k = C_COLON;
        }
        char_class[c] = k;
    }
}

/* f-string contexts: literal text, a replacement field's expression, its format spec. */
enum { F_STR, F_EXPR, F_SPEC };

typedef struct frame {
    uint8_t type;
    uint8_t quote;
    uint8_t triple;
    uint8_t raw;
    uint32_t depth; /* brackets open inside an F_EXPR */
} frame;

/* Nesting beyond this is refused by CPython long before; past it we scan f-strings as plain
 * strings, which keeps the scanner bounded on adversarial input. */
#define MAX_FRAMES 256

/* The scanner's working state for one file. */
typedef struct scanner {
    ash_scan *scan;
    const char *src;
    const char *end;
    frame *frames;
    size_t nframes;
    uint32_t depth; /* brackets open at the top level */
    /* the logical line being read */
    const char *line_start;
    const char *comment; /* start of the last comment seen */
    uint32_t indent;
    uint8_t kw;
    uint8_t selected;
    int in_line;
    const char *bad; /* first lexical error */
    const char *bad_what;
    /* lazy line counting */
    const char *counted;
    uint32_t line_no;
} scanner;

static uint32_t count_newlines(const char *p, const char *end)
{
    uint32_t n = 0;
    for (; p < end; p++) {
        n += (*p == '\n');
    }
    return n;
}

static int is_ident(unsigned char c)
{
    return char_class[c] == C_IDENT;
}

static void lex_error(scanner *s, const char *at, const char *what)
{
    if (!s->bad) {
        s->bad = at;
        s->bad_what = what;
    }
}

/* Keyword class of the identifier at p (n bytes), looking at the next word after `async`. */
static uint8_t classify(const char *p, size_t n, const char *end)
{
#define KW(s, k)                                                                                   \
    if (n == sizeof(s) - 1 && memcmp(p, s, n) == 0) {                                              \
        return k;                                                                                  \
    }
    switch (p[0]) {
    case 'i':
        KW("if", ASH_KW_IF);
        break;
    case 'e':
        KW("elif", ASH_KW_ELIF);
        KW("else", ASH_KW_ELSE);
        KW("except", ASH_KW_EXCEPT);
        break;
    case 't':
        KW("try", ASH_KW_TRY);
        break;
    case 'f':
        KW("finally", ASH_KW_FINALLY);
        KW("for", ASH_KW_FOR);
        break;
    case 'w':
        KW("while", ASH_KW_WHILE);
        KW("with", ASH_KW_WITH);
        break;
    case 'd':
        KW("def", ASH_KW_DEF);
        break;
    case 'c':
        KW("class", ASH_KW_CLASS);
        KW("case", ASH_KW_CASE);
        break;
    case 'm':
        KW("match", ASH_KW_MATCH);
        break;
    case 'a':
        if (n == 5 && memcmp(p, "async", 5) == 0) {
            const char *q = p + n;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\f')) {
                q++;
            }
            const char *w = q;
            while (q < end && is_ident((unsigned char)*q)) {
                q++;
            }
            if (q > w) {
                uint8_t k = classify(w, (size_t)(q - w), end);
                if (k == ASH_KW_DEF || k == ASH_KW_FOR || k == ASH_KW_WITH) {
                    return k;
                }
            }
        }
        break;
    default:
        break;
    }
#undef KW
    return ASH_KW_NONE;
}

/* Does the identifier p[0..n) name an import? */
static int is_trigger(const char *p, size_t n)
{
    switch (n) {
    case 6:
        return memcmp(p, "import", 6) == 0;
    case 10:
        return memcmp(p, "__import__", 10) == 0;
    case 13:
        return memcmp(p, "import_module", 13) == 0;
    case 14:
        return memcmp(p, "pytest_plugins", 14) == 0;
    default:
        return 0;
    }
}

/* A string prefix (r, b, u, f, t and two-letter mixes) before a quote? Sets *fmt and *raw. */
static int string_prefix(const char *p, size_t n, int *fmt, int *raw)
{
    if (n > 2) {
        return 0;
    }
    *fmt = *raw = 0;
    for (size_t i = 0; i < n; i++) {
        switch (p[i] | 0x20) {
        case 'f':
        case 't':
            *fmt = 1;
            break;
        case 'r':
            *raw = 1;
            break;
        case 'b':
        case 'u':
            break;
        default:
            return 0;
        }
    }
    return 1;
}

/*
 * Skip a plain (non-f) string whose opening quote is at p. Returns the position just past the
 * closing quote; an unterminated single-quoted string stops before its newline (CPython
 * rejects it; we keep the line structure intact), an unterminated triple-quoted one at EOF.
 */
static const char *skip_string(scanner *s, const char *p, int raw)
{
    const char *end = s->end;
    const char *open = p;
    char q = *p;
    if (end - p >= 3 && p[1] == q && p[2] == q) {
        p += 3;
        for (;;) {
            const char *hit = p;
            while (hit < end && *hit != q && *hit != '\\') {
                hit++;
            }
            if (hit >= end) {
                lex_error(s, open, "unterminated triple-quoted string");
                return end;
            }
            if (*hit == '\\') {
                p = hit + 2 <= end ? hit + 2 : end;
                continue;
            }
            if (end - hit >= 3 && hit[1] == q && hit[2] == q) {
                return hit + 3;
            }
            p = hit + 1;
        }
    }
    p++;
    while (p < end) {
        char c = *p;
        if (c == q) {
            return p + 1;
        }
        if (c == '\n') {
            lex_error(s, open, "unterminated string");
            return p;
        }
        if (c == '\\') {
            /* A backslash escapes the next character, in raw strings too (r"\"" is one
             * string); a backslash-newline continues the string on the next line. */
            p += 2;
            continue;
        }
        p++;
    }
    (void)raw;
    lex_error(s, open, "unterminated string");
    return end;
}

static int push_frame(scanner *s, uint8_t type, uint8_t quote, uint8_t triple, uint8_t raw)
{
    if (s->nframes >= s->scan->frame_cap) {
        void *fr = s->scan->frames;
        if (ash__grow(&fr, &s->scan->frame_cap, s->nframes + 1, sizeof(frame)) < 0) {
            return ASH_ENOMEM;
        }
        s->scan->frames = fr;
        s->frames = fr;
    }
    frame *f = &s->frames[s->nframes++];
    f->type = type;
    f->quote = quote;
    f->triple = triple;
    f->raw = raw;
    f->depth = 0;
    return 0;
}

/* The f-string that the top frame (F_STR or F_SPEC) belongs to. */
static frame *enclosing_fstr(scanner *s)
{
    for (size_t i = s->nframes; i-- > 0;) {
        if (s->frames[i].type == F_STR) {
            return &s->frames[i];
        }
    }
    return NULL;
}

/*
 * Scan the literal text of an f-string (top frame F_STR) or of a format spec (F_SPEC) from p.
 * Returns where code scanning resumes: inside a replacement field (a frame F_EXPR pushed), or
 * after the string's closing quote (its frames popped). NULL on allocation failure.
 */
static const char *scan_fliteral(scanner *s, const char *p)
{
    const char *end = s->end;
    while (s->nframes && s->frames[s->nframes - 1].type != F_EXPR) {
        frame *top = &s->frames[s->nframes - 1];
        frame *str = enclosing_fstr(s);
        char q = (char)str->quote;
        int spec = top->type == F_SPEC;
        for (;;) {
            if (p >= end) {
                return end;
            }
            char c = *p;
            if (c == q && (!str->triple || (end - p >= 3 && p[1] == q && p[2] == q))) {
                /* the string ends (inside a spec this is an error CPython reports) */
                p += str->triple ? 3 : 1;
                while (s->nframes && &s->frames[s->nframes - 1] != str) {
                    s->nframes--;
                }
                s->nframes--;
                return p;
            }
            if (c == '\n' && !str->triple) {
                /* unterminated: drop the f-string, leave the newline to the code scanner */
                lex_error(s, p, "unterminated f-string");
                while (s->nframes && &s->frames[s->nframes - 1] != str) {
                    s->nframes--;
                }
                s->nframes--;
                return p;
            }
            if (c == '\\' && str->raw) {
                /* in raw strings a backslash still keeps the next quote from closing */
                p += (end - p >= 2 && p[1] == q) ? 2 : 1;
                continue;
            }
            if (c == '\\') {
                if (end - p >= 3 && p[1] == 'N' && p[2] == '{') {
                    const char *close = memchr(p + 3, '}', (size_t)(end - p - 3));
                    p = close ? close + 1 : end;
                } else if (end - p >= 2 && p[1] != '{' && p[1] != '}') {
                    p += 2;
                } else {
                    p++;
                }
                continue;
            }
            if (c == '{') {
                if (!spec && end - p >= 2 && p[1] == '{') {
                    p += 2;
                    continue;
                }
                if (push_frame(s, F_EXPR, 0, 0, 0) < 0) {
                    return NULL;
                }
                return p + 1;
            }
            if (c == '}') {
                if (spec) {
                    s->nframes--; /* the spec, and with it the replacement field, ends */
                    p++;
                    break;
                }
                p += (end - p >= 2 && p[1] == '}') ? 2 : 1;
                continue;
            }
            p++;
        }
    }
    return p;
}

/*
 * A newline at the top of a replacement field of a single-quoted f-string: CPython reports the
 * f-string as unterminated. Drop it, so that the newline ends the logical line as it would.
 * (Newlines inside brackets of a replacement field are valid since 3.12.)
 */
static void drop_unterminated(scanner *s, const char *p)
{
    frame *top = &s->frames[s->nframes - 1];
    if (top->type != F_EXPR || top->depth != 0) {
        return;
    }
    for (size_t i = s->nframes; i-- > 0;) {
        if (s->frames[i].type == F_STR && !s->frames[i].triple) {
            lex_error(s, p, "unterminated f-string");
            s->nframes = i;
            return;
        }
    }
}

/* Open a string at p (its quote); returns where scanning resumes. NULL on ENOMEM. */
static const char *open_string(scanner *s, const char *p, int fmt, int raw)
{
    if (!fmt || s->nframes >= MAX_FRAMES) {
        return skip_string(s, p, raw);
    }
    char q = *p;
    int triple = s->end - p >= 3 && p[1] == q && p[2] == q;
    if (push_frame(s, F_STR, (uint8_t)q, (uint8_t)triple, (uint8_t)raw) < 0) {
        return NULL;
    }
    return scan_fliteral(s, p + (triple ? 3 : 1));
}

static int push_line(ash_scan *scan, const ash_scan_line *line)
{
    if (scan->count >= scan->cap) {
        void *lines = scan->lines;
        if (ash__grow(&lines, &scan->cap, scan->count + 1, sizeof(ash_scan_line)) < 0) {
            return ASH_ENOMEM;
        }
        scan->lines = lines;
    }
    scan->lines[scan->count++] = *line;
    return 0;
}

static int is_clause(uint8_t kw)
{
    return kw == ASH_KW_ELIF || kw == ASH_KW_ELSE || kw == ASH_KW_EXCEPT || kw == ASH_KW_FINALLY;
}

/* Link a stored line into the block structure: its parent and the clauses it continues. */
static int place_line(ash_scan *scan, int32_t idx)
{
    ash_scan_line *l = &scan->lines[idx];
    while (scan->stack_len && scan->lines[scan->stack[scan->stack_len - 1]].indent > l->indent) {
        scan->stack_len--;
    }
    int32_t prev = -1;
    if (scan->stack_len && scan->lines[scan->stack[scan->stack_len - 1]].indent == l->indent) {
        prev = scan->stack[--scan->stack_len];
    }
    if (prev >= 0 && is_clause(l->kw) && scan->lines[prev].kw != ASH_KW_DECORATOR) {
        l->prev_clause = prev;
        scan->lines[prev].next_clause = idx;
    }
    l->parent = scan->stack_len ? scan->stack[scan->stack_len - 1] : -1;
    if (l->kw != ASH_KW_NONE && l->kw != ASH_KW_DECORATOR) {
        void *st = scan->stack;
        if (ash__grow(&st, &scan->stack_cap, scan->stack_len + 1, sizeof(int32_t)) < 0) {
            return ASH_ENOMEM;
        }
        scan->stack = st;
        scan->stack[scan->stack_len++] = idx;
    }
    return 0;
}

/* The logical line being read ends just before `nl` (its newline, or EOF). */
static int end_line(scanner *s, const char *nl)
{
    s->in_line = 0;
    uint8_t kw = s->kw;
    if (kw == ASH_KW_NONE && !s->selected) {
        return 0;
    }
    const char *q = (s->comment && s->comment > s->line_start && s->comment < nl) ? s->comment : nl;
    while (q > s->line_start && char_class[(unsigned char)q[-1]] == C_SPACE) {
        q--;
    }
    int opens = q > s->line_start && q[-1] == ':';
    if ((kw == ASH_KW_MATCH || kw == ASH_KW_CASE) && !opens) {
        kw = ASH_KW_NONE; /* soft keywords: `match = 3` is an assignment */
        if (!s->selected) {
            return 0;
        }
    }
    s->line_no += count_newlines(s->counted, s->line_start);
    s->counted = s->line_start;
    ash_scan_line l = {
        .start = (uint32_t)(s->line_start - s->src),
        .end = (uint32_t)((nl < s->end ? nl + 1 : nl) - s->src),
        .line = s->line_no,
        .indent = s->indent,
        .parent = -1,
        .prev_clause = -1,
        .next_clause = -1,
        .kw = kw,
        .selected = s->selected,
        .opens_block = (uint8_t)opens,
    };
    if (push_line(s->scan, &l) < 0) {
        return ASH_ENOMEM;
    }
    s->scan->selected += s->selected;
    return place_line(s->scan, (int32_t)s->scan->count - 1);
}

/*
 * At the start of a physical line outside brackets: measure the indentation, skip blank and
 * comment-only lines, and open a logical line at its first token. Returns the position of
 * that token (or of the end).
 */
static const char *begin_line(scanner *s, const char *p)
{
    const char *end = s->end;
    for (;;) {
        const char *start = p;
        uint32_t col = 0;
        while (p < end) {
            char c = *p;
            if (c == ' ') {
                col++;
            } else if (c == '\t') {
                col = (col / 8 + 1) * 8;
            } else if (c == '\f') {
                col = 0;
            } else if (c != '\r' && c != '\v') {
                break;
            }
            p++;
        }
        if (p >= end) {
            return end;
        }
        if (*p == '\n') {
            p++;
            continue;
        }
        if (*p == '#') {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) {
                return end;
            }
            p = nl + 1;
            continue;
        }
        s->in_line = 1;
        s->line_start = start;
        s->indent = col;
        s->selected = 0;
        s->comment = NULL;
        s->kw = ASH_KW_NONE;
        if (*p == '@') {
            s->kw = ASH_KW_DECORATOR;
        } else if (is_ident((unsigned char)*p)) {
            const char *w = p;
            while (w < end && is_ident((unsigned char)*w)) {
                w++;
            }
            s->kw = classify(p, (size_t)(w - p), end);
        }
        return p;
    }
}

/* The main loop over code. Returns 0 or ASH_ENOMEM. */
static int scan_code(scanner *s)
{
    const char *p = s->src, *end = s->end;
    p = begin_line(s, p);
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        switch (char_class[c]) {
        case C_IDENT: {
            const char *w = p;
            while (w < end && is_ident((unsigned char)*w)) {
                w++;
            }
            int fmt, raw;
            if (w < end && (*w == '"' || *w == '\'') &&
                string_prefix(p, (size_t)(w - p), &fmt, &raw)) {
                p = open_string(s, w, fmt, raw);
                if (!p) {
                    return ASH_ENOMEM;
                }
                break;
            }
            if (is_trigger(p, (size_t)(w - p))) {
                s->selected = 1;
            }
            p = w;
            break;
        }
        case C_QUOTE:
            p = open_string(s, p, 0, 0);
            break;
        case C_HASH:
            s->comment = p;
            p = memchr(p, '\n', (size_t)(end - p));
            if (!p) {
                p = end;
            }
            break;
        case C_BSLASH:
            p += (end - p >= 2 && p[1] == '\n') ? 2 : 1;
            break;
        case C_OPEN:
            if (s->nframes) {
                s->frames[s->nframes - 1].depth++;
            } else {
                s->depth++;
            }
            p++;
            break;
        case C_CLOSE:
            if (s->nframes) {
                frame *top = &s->frames[s->nframes - 1];
                if (top->depth == 0 && c == '}') {
                    s->nframes--; /* the replacement field ends */
                    p = scan_fliteral(s, p + 1);
                    if (!p) {
                        return ASH_ENOMEM;
                    }
                    break;
                }
                if (top->depth) {
                    top->depth--;
                }
            } else if (s->depth) {
                s->depth--;
            } else {
                lex_error(s, p, "unmatched closing bracket");
            }
            p++;
            break;
        case C_COLON:
            if (s->nframes && s->frames[s->nframes - 1].depth == 0) {
                s->frames[s->nframes - 1].type = F_SPEC;
                p = scan_fliteral(s, p + 1);
                if (!p) {
                    return ASH_ENOMEM;
                }
                break;
            }
            p++;
            break;
        case C_NL:
            if (s->nframes) {
                drop_unterminated(s, p);
            }
            if (s->depth == 0 && s->nframes == 0) {
                if (s->in_line && end_line(s, p) < 0) {
                    return ASH_ENOMEM;
                }
                p = begin_line(s, p + 1);
                break;
            }
            s->comment = NULL; /* a comment on an earlier physical line cannot end the line */
            p++;
            break;
        default:
            p++;
            while (p < end && (char_class[(unsigned char)*p] == C_OTHER ||
                               char_class[(unsigned char)*p] == C_SPACE)) {
                p++;
            }
            break;
        }
    }
    if (s->depth || s->nframes) {
        lex_error(s, s->in_line ? s->line_start : end,
                  s->depth ? "unclosed bracket" : "unterminated f-string");
    }
    if (s->in_line && end_line(s, end) < 0) {
        return ASH_ENOMEM;
    }
    return 0;
}

/* Mark line i, the clauses its statement needs, and its enclosing headers. */
static void mark(ash_scan *scan, int32_t i)
{
    while (i >= 0 && !scan->lines[i].marked) {
        ash_scan_line *l = &scan->lines[i];
        l->marked = 1;
        int32_t first = i;
        while (scan->lines[first].prev_clause >= 0) {
            first = scan->lines[first].prev_clause;
        }
        /* A try needs its handlers (syntax, and they decide "optional"); other statements
         * need the clauses before the marked one. */
        int32_t last = scan->lines[first].kw == ASH_KW_TRY ? -1 : i;
        for (int32_t k = first; k >= 0; k = scan->lines[k].next_clause) {
            scan->lines[k].marked = 1;
            if (k == last) {
                break;
            }
        }
        /* A decorator is no statement on its own: keep what it decorates. */
        for (int32_t k = i;
             scan->lines[k].kw == ASH_KW_DECORATOR && k + 1 < (int32_t)scan->count;) {
            k++;
            scan->lines[k].marked = 1;
            if (scan->lines[k].kw != ASH_KW_DECORATOR) {
                mark(scan, scan->lines[k].parent);
                break;
            }
        }
        i = l->parent;
    }
}

static int add_rows(ash_scan *scan, uint32_t line, uint32_t n)
{
    void *rows = scan->rows;
    if (ash__grow(&rows, &scan->row_cap, scan->row_count + n, sizeof(uint32_t)) < 0) {
        return ASH_ENOMEM;
    }
    scan->rows = rows;
    for (uint32_t k = 0; k < n; k++) {
        scan->rows[scan->row_count++] = line + k;
    }
    return 0;
}

/* The body of a header whose own body is left out: `pass` one column deeper, or for a
 * `match` (whose body must be cases) `case _: pass`. */
static int fill_body(ash_scan *scan, const char *src, const ash_scan_line *l)
{
    ash_buf *out = &scan->skeleton;
    const char *ws = src + l->start, *w = ws;
    while (*w == ' ' || *w == '\t' || *w == '\f') {
        w++;
    }
    const char *body = l->kw == ASH_KW_MATCH ? " case _: pass\n" : " pass\n";
    if (ash__buf_put(out, ws, (size_t)(w - ws)) < 0 || ash__buf_puts(out, body) < 0 ||
        add_rows(scan, l->line, 1) < 0) {
        return ASH_ENOMEM;
    }
    return 0;
}

/*
 * A header that is only context (it opens a block holding an import, but holds none itself)
 * matters to tree-sitter by its keyword alone: `def _():` says "lazy" as well as the whole
 * signature would, for a fraction of the parsing. Conditions that may name TYPE_CHECKING and
 * `except` clauses (which decide "optional") are kept. NULL: keep the line as written.
 */
static const char *short_header(const ash_scan_line *l, const char *src, const char *token)
{
    int async = strncmp(token, "async", 5) == 0;
    switch (l->kw) {
    case ASH_KW_DEF:
        return async ? "async def _():\n" : "def _():\n";
    case ASH_KW_CLASS:
        return "class _:\n";
    case ASH_KW_FOR:
        return async ? "async for _ in _:\n" : "for _ in _:\n";
    case ASH_KW_WHILE:
        return "while _:\n";
    case ASH_KW_WITH:
        return async ? "async with _:\n" : "with _:\n";
    case ASH_KW_MATCH:
        return "match _:\n";
    case ASH_KW_CASE:
        return "case _:\n";
    case ASH_KW_IF:
    case ASH_KW_ELIF:
        if (memmem(src + l->start, l->end - l->start, "TYPE_CHECKING", 13)) {
            return NULL;
        }
        return l->kw == ASH_KW_IF ? "if _:\n" : "elif _:\n";
    default:
        return NULL;
    }
}

/* Write the marked lines, with a filler body for a header whose body is left out. */
static int emit(ash_scan *scan, const char *src)
{
    ash_buf *out = &scan->skeleton;
    int32_t n = (int32_t)scan->count;
    int32_t next = 0;
    while (next < n && !scan->lines[next].marked) {
        next++;
    }
    while (next < n) {
        int32_t i = next;
        const ash_scan_line *l = &scan->lines[i];
        for (next = i + 1; next < n && !scan->lines[next].marked; next++) {
        }
        size_t before = out->len;
        const char *token = src + l->start;
        while (*token == ' ' || *token == '\t' || *token == '\f') {
            token++;
        }
        const char *header = !l->selected && l->opens_block ? short_header(l, src, token) : NULL;
        if (header) {
            if (ash__buf_put(out, src + l->start, (size_t)(token - src - l->start)) < 0 ||
                ash__buf_puts(out, header) < 0) {
                return ASH_ENOMEM;
            }
        } else if (ash__buf_put(out, src + l->start, l->end - l->start) < 0) {
            return ASH_ENOMEM;
        }
        if (out->len == before || out->ptr[out->len - 1] != '\n') {
            if (ash__buf_putc(out, '\n') < 0) {
                return ASH_ENOMEM;
            }
        }
        uint32_t rows = count_newlines(out->ptr + before, out->ptr + out->len);
        if (add_rows(scan, l->line, rows) < 0) {
            return ASH_ENOMEM;
        }
        if (l->opens_block && (next >= n || scan->lines[next].indent <= l->indent) &&
            fill_body(scan, src, l) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

int ash__scan(ash_scan *scan, const char *src, size_t len)
{
    init_classes();
    scan->count = 0;
    scan->stack_len = 0;
    scan->row_count = 0;
    scan->selected = 0;
    ash__buf_clear(&scan->skeleton);
    scanner s = {
        .scan = scan,
        .src = src,
        .end = src + len,
        .frames = scan->frames,
        .counted = src,
        .line_no = 1,
    };
    int rc = scan_code(&s);
    scan->error_line = 0;
    scan->error = s.bad_what;
    if (s.bad) {
        /* skip the indentation so the line is that of the first token */
        scan->error_line = 1 + count_newlines(src, s.bad);
    }
    if (rc < 0 || scan->selected == 0) {
        return rc;
    }
    for (size_t i = 0; i < scan->count; i++) {
        if (scan->lines[i].selected) {
            mark(scan, (int32_t)i);
        }
    }
    return emit(scan, src);
}

void ash__scan_free(ash_scan *scan)
{
    ash__free(scan->lines);
    ash__free(scan->stack);
    ash__free(scan->frames);
    ash__free(scan->rows);
    ash__buf_free(&scan->skeleton);
    memset(scan, 0, sizeof(*scan));
}
