/*
 * Import extraction (see extract.h): the tree-sitter walk. The walk is iterative (a tree
 * cursor and a context stack indexed by depth), so 100,000 nested brackets cannot overflow
 * the C stack. Each depth carries the flags its subtree inherits: a function body is lazy, the
 * consequence of `if TYPE_CHECKING:` is type-checking, the body of a `try` whose handlers
 * catch ImportError is optional.
 */
#include "extract.h"

#include "imports.h"
#include "scan.h"
#include "source.h"
#include "ts_compat.h"

#include <stdlib.h>
#include <string.h>

/* Internal flag: inside a class body (pytest reads pytest_plugins only at module level). */
#define FLAG_CLASS (1u << 16)
/* Internal flag: an ERROR node whose tokens its parent's reader already took. */
#define FLAG_SPLICED (1u << 17)

enum {
    S_IMPORT,
    S_FROM,
    S_FUTURE,
    S_ALIASED,
    S_DOTTED,
    S_RELATIVE,
    S_PREFIX,
    S_WILDCARD,
    S_IDENTIFIER,
    S_CALL,
    S_ATTRIBUTE,
    S_ARGUMENTS,
    S_KEYWORD_ARG,
    S_STRING,
    S_STRING_START,
    S_STRING_CONTENT,
    S_INTERPOLATION,
    S_CONCAT,
    S_EXPR_STMT,
    S_ASSIGNMENT,
    S_AUG_ASSIGNMENT,
    S_LIST,
    S_TUPLE,
    S_PAREN,
    S_FUNCTION,
    S_LAMBDA,
    S_CLASS,
    S_IF,
    S_ELIF,
    S_TRY,
    S_EXCEPT,
    S_EXCEPT_GROUP,
    S_AS_PATTERN,
    S_LIST_SPLAT,
    S_NOT,
    S_INTEGER,
    S_COMMENT,
    S_EXPR_LIST,
    S_COUNT
};

static const char *const symbol_names[S_COUNT] = {
    "import_statement",
    "import_from_statement",
    "future_import_statement",
    "aliased_import",
    "dotted_name",
    "relative_import",
    "import_prefix",
    "wildcard_import",
    "identifier",
    "call",
    "attribute",
    "argument_list",
    "keyword_argument",
    "string",
    "string_start",
    "string_content",
    "interpolation",
    "concatenated_string",
    "expression_statement",
    "assignment",
    "augmented_assignment",
    "list",
    "tuple",
    "parenthesized_expression",
    "function_definition",
    "lambda",
    "class_definition",
    "if_statement",
    "elif_clause",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "as_pattern",
    "list_splat",
    "not_operator",
    "integer",
    "comment",
    "expression_list",
};

enum {
    F_BODY,
    F_CONSEQUENCE,
    F_ALTERNATIVE,
    F_CONDITION,
    F_NAME,
    F_MODULE_NAME,
    F_FUNCTION,
    F_ARGUMENTS,
    F_LEFT,
    F_RIGHT,
    F_VALUE,
    F_ATTRIBUTE,
    F_ARGUMENT,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "body",      "consequence", "alternative", "condition", "name",      "module_name", "function",
    "arguments", "left",        "right",       "value",     "attribute", "argument",
};

/* What a node's children inherit beyond its own flags. */
enum { CTX_NONE, CTX_FUNC, CTX_IF_TC, CTX_IF_NOT_TC, CTX_TRY_OPT, CTX_CLASS, CTX_SPLICE };

typedef struct ctx_level {
    uint32_t flags;
    uint8_t ctx;
} ctx_level;

struct ash_extractor {
    TSParser *parser;
    const TSLanguage *lang;
    TSSymbol sym[S_COUNT];
    TSFieldId field[F_COUNT];
    ash_scan scan;
    ash_ib ib;
    ash_buf tmp;
    ash_buf tmp2;
    TSNode *nodes; /* a work stack */
    size_t node_cap;
    TSNode *tokens; /* the tokens of a broken import statement */
    size_t token_cap;
    ctx_level *levels;
    size_t level_cap;
    ash_extract_stats stats;
    int debug_skeleton; /* AFTERSHOCK_DEBUG_SKELETON: report skeletons that needed a full parse */
};

/* One walk over one tree. */
typedef struct walk {
    ash_extractor *ex;
    const char *text;
    const uint32_t *rows; /* skeleton row -> source line; NULL: rows are source lines */
    size_t row_count;
} walk;

int ash__extractor_new(ash_extractor **out)
{
    *out = NULL;
    ash_extractor *ex = ash__calloc(1, sizeof(*ex));
    if (!ex) {
        return ash__error_oom();
    }
    ex->lang = tree_sitter_python();
    ex->parser = ts_parser_new();
    if (!ex->parser || !ts_parser_set_language(ex->parser, ex->lang)) {
        ash__extractor_free(ex);
        return ash__error(ASH_ERROR, "cannot load the tree-sitter Python grammar");
    }
    for (int i = 0; i < S_COUNT; i++) {
        ex->sym[i] = ts_language_symbol_for_name(ex->lang, symbol_names[i],
                                                 (uint32_t)strlen(symbol_names[i]), true);
    }
    for (int i = 0; i < F_COUNT; i++) {
        ex->field[i] = ts_language_field_id_for_name(ex->lang, field_names[i],
                                                     (uint32_t)strlen(field_names[i]));
    }
    const char *debug = getenv("AFTERSHOCK_DEBUG_SKELETON");
    ex->debug_skeleton = debug && *debug && strcmp(debug, "0") != 0;
    *out = ex;
    return 0;
}

void ash__extractor_free(ash_extractor *ex)
{
    if (!ex) {
        return;
    }
    if (ex->parser) {
        ts_parser_delete(ex->parser);
    }
    ash__scan_free(&ex->scan);
    ash__ib_free(&ex->ib);
    ash__buf_free(&ex->tmp);
    ash__buf_free(&ex->tmp2);
    ash__free(ex->levels);
    ash__free(ex->nodes);
    ash__free(ex->tokens);
    ash__free(ex);
}

const ash_extract_stats *ash__extractor_stats(const ash_extractor *ex)
{
    return &ex->stats;
}

/* ---- node helpers ---- */

static int is(const walk *w, TSNode n, int s)
{
    return ts_node_symbol(n) == w->ex->sym[s];
}

static TSNode field(const walk *w, TSNode n, int f)
{
    return ts_node_child_by_field_id(n, w->ex->field[f]);
}

static const char *text_of(const walk *w, TSNode n, size_t *len)
{
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    *len = b - a;
    return w->text + a;
}

static int text_is(const walk *w, TSNode n, const char *s)
{
    size_t len;
    const char *t = text_of(w, n, &len);
    return len == strlen(s) && memcmp(t, s, len) == 0;
}

static uint32_t line_of(const walk *w, TSNode n)
{
    uint32_t row = ts_node_start_point(n).row;
    if (!w->rows) {
        return row + 1;
    }
    return w->rows[row < w->row_count ? row : w->row_count - 1];
}

/* The dotted name of a dotted_name node into buf ("a.b.c", no white space); 0 or ENOMEM. */
static int dotted(const walk *w, TSNode n, ash_buf *buf)
{
    ash__buf_clear(buf);
    if (!is(w, n, S_DOTTED)) {
        size_t len;
        const char *t = text_of(w, n, &len);
        return ash__buf_put(buf, t, len);
    }
    uint32_t count = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < count; i++) {
        TSNode id = ts_node_named_child(n, i);
        if (!is(w, id, S_IDENTIFIER)) {
            continue;
        }
        size_t len;
        const char *t = text_of(w, id, &len);
        if ((buf->len && ash__buf_putc(buf, '.') < 0) || ash__buf_put(buf, t, len) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

/* The imported name of a dotted_name or aliased_import (the alias is not kept). */
static TSNode name_node(const walk *w, TSNode n)
{
    return is(w, n, S_ALIASED) ? field(w, n, F_NAME) : n;
}

/* ---- import statements ---- */

static int handle_import(walk *w, TSNode n, uint32_t flags)
{
    ash_extractor *ex = w->ex;
    uint32_t line = line_of(w, n);
    uint32_t count = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_named_child(n, i);
        if (!is(w, c, S_DOTTED) && !is(w, c, S_ALIASED)) {
            continue;
        }
        TSNode name = name_node(w, c);
        if (ts_node_is_null(name) || dotted(w, name, &ex->tmp) < 0 ||
            ash__ib_add(&ex->ib, ASH_IMPORT_PLAIN, line, 0, flags, ex->tmp.ptr, ex->tmp.len, NULL,
                        0) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

static int add_names(walk *w, TSNode n, TSNode skip)
{
    ash_extractor *ex = w->ex;
    uint32_t count = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_named_child(n, i);
        if (ts_node_eq(c, skip)) {
            continue;
        }
        if (is(w, c, S_WILDCARD)) {
            if (ash__ib_add_name(&ex->ib, "*", 1) < 0) {
                return ASH_ENOMEM;
            }
        } else if (is(w, c, S_DOTTED) || is(w, c, S_ALIASED)) {
            TSNode name = name_node(w, c);
            if (ts_node_is_null(name) || dotted(w, name, &ex->tmp) < 0 ||
                ash__ib_add_name(&ex->ib, ex->tmp.ptr, ex->tmp.len) < 0) {
                return ASH_ENOMEM;
            }
        }
    }
    return 0;
}

static int handle_from(walk *w, TSNode n, uint32_t flags, int future)
{
    ash_extractor *ex = w->ex;
    uint32_t level = 0;
    TSNode mod = future ? ts_node_child(n, 0) : field(w, n, F_MODULE_NAME);
    ash__buf_clear(&ex->tmp);
    if (future) {
        if (ash__buf_puts(&ex->tmp, "__future__") < 0) {
            return ASH_ENOMEM;
        }
        mod = (TSNode){0};
    } else if (ts_node_is_null(mod)) {
        return 0;
    } else if (is(w, mod, S_RELATIVE)) {
        uint32_t count = ts_node_named_child_count(mod);
        for (uint32_t i = 0; i < count; i++) {
            TSNode c = ts_node_named_child(mod, i);
            if (is(w, c, S_PREFIX)) {
                size_t len;
                const char *t = text_of(w, c, &len);
                for (size_t k = 0; k < len; k++) {
                    level += t[k] == '.';
                }
            } else if (is(w, c, S_DOTTED) && dotted(w, c, &ex->tmp) < 0) {
                return ASH_ENOMEM;
            }
        }
    } else if (dotted(w, mod, &ex->tmp) < 0) {
        return ASH_ENOMEM;
    }
    if (ash__ib_add(&ex->ib, ASH_IMPORT_FROM, line_of(w, n), level, flags,
                    ex->tmp.ptr ? ex->tmp.ptr : "", ex->tmp.len, NULL, 0) < 0) {
        return ASH_ENOMEM;
    }
    return add_names(w, n, mod);
}

/*
 * Import statements that tree-sitter could not fit into its grammar: an ERROR node holding the
 * tokens of one (`from __future__ import *`, which ast accepts, is one), or an import statement
 * with an ERROR inside (broken files). Their tokens are read directly: `from` module `import`
 * names, or `import` names; a statement ends at a line break outside parentheses or at the
 * next `from`/`import`.
 */
static int anon_is(const walk *w, TSNode n, const char *s)
{
    return !ts_node_is_named(n) && text_is(w, n, s);
}

/* The children of n into ex->tokens, those of ERROR children spliced in. */
static int flatten(walk *w, TSNode n, uint32_t *count)
{
    ash_extractor *ex = w->ex;
    *count = 0;
    uint32_t children = ts_node_child_count(n);
    for (uint32_t i = 0; i < children; i++) {
        TSNode c = ts_node_child(n, i);
        int splice = ts_node_is_error(c);
        uint32_t k = splice ? ts_node_child_count(c) : 1;
        void *toks = ex->tokens;
        if (ash__grow(&toks, &ex->token_cap, *count + k, sizeof(TSNode)) < 0) {
            return ASH_ENOMEM;
        }
        ex->tokens = toks;
        for (uint32_t j = 0; j < k; j++) {
            ex->tokens[(*count)++] = splice ? ts_node_child(c, j) : c;
        }
    }
    return 0;
}

/* Is text[0..len) a Python keyword (which no imported name can be)? */
static int python_keyword(const char *t, size_t len)
{
    static const char *const kw[] = {
        "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
        "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
        "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
        "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield",
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(kw); i++) {
        if (strlen(kw[i]) == len && memcmp(kw[i], t, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A keyword token, also when error recovery re-lexed it as an identifier. */
static int keyword_is(const walk *w, TSNode n, const char *s)
{
    return (!ts_node_is_named(n) || is(w, n, S_IDENTIFIER)) && text_is(w, n, s);
}

/* Read names from token i on (token i-1 is the keyword); returns the index after them. */
static uint32_t token_names(walk *w, uint32_t i, uint32_t count, int plain, uint32_t line,
                            uint32_t flags, int *rc)
{
    ash_extractor *ex = w->ex;
    const TSNode *t = ex->tokens;
    uint32_t depth = 0;
    for (; i < count && *rc == 0; i++) {
        TSNode c = t[i];
        if (depth == 0 && ts_node_start_point(c).row > ts_node_end_point(t[i - 1]).row) {
            break; /* the statement ended with its line */
        }
        size_t tlen;
        const char *text = text_of(w, c, &tlen);
        if (anon_is(w, c, "as")) {
            i++; /* the alias */
            continue;
        }
        if ((!ts_node_is_named(c) || is(w, c, S_IDENTIFIER)) && python_keyword(text, tlen)) {
            break; /* the next statement begins */
        }
        if (anon_is(w, c, "(")) {
            depth++;
        } else if (anon_is(w, c, ")")) {
            depth -= depth > 0;
        } else if (anon_is(w, c, "*") || is(w, c, S_DOTTED) || is(w, c, S_ALIASED) ||
                   is(w, c, S_IDENTIFIER)) {
            TSNode name = name_node(w, c);
            if (ts_node_is_null(name) || dotted(w, name, &ex->tmp2) < 0) {
                *rc = ASH_ENOMEM;
            } else if (plain) {
                *rc = ash__ib_add(&ex->ib, ASH_IMPORT_PLAIN, line, 0, flags, ex->tmp2.ptr,
                                  ex->tmp2.len, NULL, 0);
            } else {
                *rc = ash__ib_add_name(&ex->ib, ex->tmp2.ptr, ex->tmp2.len);
            }
        }
    }
    return i;
}

/* Read `from` module `import` names starting after the `from` at token i-1. */
static uint32_t token_from(walk *w, uint32_t i, uint32_t count, uint32_t line, uint32_t flags,
                           int *rc)
{
    ash_extractor *ex = w->ex;
    const TSNode *t = ex->tokens;
    uint32_t level = 0;
    ash__buf_clear(&ex->tmp);
    for (; i < count && !anon_is(w, t[i], "import"); i++) {
        size_t len;
        const char *s = text_of(w, t[i], &len);
        if (is(w, t[i], S_RELATIVE)) {
            break; /* a whole relative_import node: not this token-level form */
        }
        if (is(w, t[i], S_PREFIX) || (len && s[0] == '.')) {
            for (size_t k = 0; k < len; k++) {
                level += s[k] == '.';
            }
        } else if (is(w, t[i], S_DOTTED) || is(w, t[i], S_IDENTIFIER) || !ts_node_is_named(t[i])) {
            if (dotted(w, t[i], &ex->tmp2) < 0 ||
                ash__buf_put(&ex->tmp, ex->tmp2.ptr, ex->tmp2.len) < 0) {
                *rc = ASH_ENOMEM;
                return count;
            }
        } else {
            return i;
        }
    }
    if (i >= count || (ex->tmp.len == 0 && level == 0)) {
        return i;
    }
    *rc = ash__ib_add(&ex->ib, ASH_IMPORT_FROM, line, level, flags, ex->tmp.ptr ? ex->tmp.ptr : "",
                      ex->tmp.len, NULL, 0);
    return *rc == 0 ? token_names(w, i + 1, count, 0, line, flags, rc) : count;
}

static int handle_broken_imports(walk *w, TSNode n, uint32_t flags)
{
    uint32_t count, i = 0;
    int rc = flatten(w, n, &count);
    while (i < count && rc == 0) {
        TSNode kw = w->ex->tokens[i++];
        if (keyword_is(w, kw, "import")) {
            i = token_names(w, i, count, 1, line_of(w, kw), flags, &rc);
        } else if (keyword_is(w, kw, "from")) {
            i = token_from(w, i, count, line_of(w, kw), flags, &rc);
        }
    }
    return rc;
}

/* ---- string imports ---- */

/*
 * The value of a string literal without prefix letters f/b/t, escapes or interpolation,
 * appended to buf. Returns 1 if it is such a literal, 0 if not, ASH_ENOMEM.
 */
static TSNode unparen(const walk *w, TSNode n)
{
    while (!ts_node_is_null(n) && is(w, n, S_PAREN) && ts_node_named_child_count(n) == 1) {
        n = ts_node_named_child(n, 0);
    }
    return n;
}

static int literal(const walk *w, TSNode n, ash_buf *buf)
{
    n = unparen(w, n);
    if (is(w, n, S_CONCAT)) {
        uint32_t count = ts_node_named_child_count(n);
        for (uint32_t i = 0; i < count; i++) {
            TSNode c = ts_node_named_child(n, i);
            if (is(w, c, S_COMMENT)) {
                continue;
            }
            int rc = is(w, c, S_STRING) ? literal(w, c, buf) : 0;
            if (rc <= 0) {
                return rc;
            }
        }
        return 1;
    }
    if (!is(w, n, S_STRING)) {
        return 0;
    }
    uint32_t count = ts_node_child_count(n);
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_child(n, i);
        size_t len;
        const char *t = text_of(w, c, &len);
        if (is(w, c, S_STRING_START)) {
            for (size_t k = 0; k < len; k++) {
                char l = (char)(t[k] | 0x20);
                if (l == 'f' || l == 'b' || l == 't') {
                    return 0;
                }
            }
        } else if (is(w, c, S_INTERPOLATION)) {
            return 0;
        } else if (is(w, c, S_STRING_CONTENT)) {
            if (ts_node_named_child_count(c) > 0 || memchr(t, '\\', len)) {
                return 0;
            }
            if (ash__buf_put(buf, t, len) < 0) {
                return ASH_ENOMEM;
            }
        }
    }
    return 1;
}

/* A module name as Python would accept it: dotted identifiers, leading dots allowed. */
static int valid_module(const char *s, size_t len, uint32_t *level, size_t *skip)
{
    size_t i = 0;
    while (i < len && s[i] == '.') {
        i++;
    }
    *level = (uint32_t)i;
    *skip = i;
    if (i == len) {
        return i > 0; /* "." names the anchor package itself */
    }
    int part = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (!part) {
                return 0;
            }
            part = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 ||
                   (part && c >= '0' && c <= '9')) {
            part = 1;
        } else {
            return 0;
        }
    }
    return part;
}

/* Arguments of a call: positional ones by index, keyword ones by name. */
static TSNode argument(const walk *w, TSNode args, uint32_t index, const char *keyword)
{
    uint32_t count = ts_node_named_child_count(args), pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_named_child(args, i);
        if (is(w, c, S_COMMENT)) {
            continue;
        }
        if (is(w, c, S_KEYWORD_ARG)) {
            TSNode name = field(w, c, F_NAME);
            if (keyword && !ts_node_is_null(name) && text_is(w, name, keyword)) {
                return field(w, c, F_VALUE);
            }
            continue;
        }
        if (pos++ == index) {
            return c;
        }
    }
    return (TSNode){0};
}

static int fromlist(walk *w, TSNode list)
{
    ash_extractor *ex = w->ex;
    if (ts_node_is_null(list) || !(is(w, list, S_LIST) || is(w, list, S_TUPLE))) {
        return 0;
    }
    uint32_t count = ts_node_named_child_count(list);
    for (uint32_t i = 0; i < count; i++) {
        ash__buf_clear(&ex->tmp2);
        int rc = literal(w, ts_node_named_child(list, i), &ex->tmp2);
        if (rc < 0) {
            return rc;
        }
        if (rc > 0 &&
            ash__ib_add_name(&ex->ib, ex->tmp2.ptr ? ex->tmp2.ptr : "", ex->tmp2.len) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

/* `importlib.import_module("a.b", package=...)` and `__import__("a.b", ..., fromlist, level)`. */
static int handle_call(walk *w, TSNode n, uint32_t flags)
{
    ash_extractor *ex = w->ex;
    TSNode fn = field(w, n, F_FUNCTION), args = field(w, n, F_ARGUMENTS);
    if (ts_node_is_null(fn) || ts_node_is_null(args) || !is(w, args, S_ARGUMENTS)) {
        return 0;
    }
    if (is(w, fn, S_ATTRIBUTE)) {
        fn = field(w, fn, F_ATTRIBUTE);
    }
    if (ts_node_is_null(fn) || !is(w, fn, S_IDENTIFIER)) {
        return 0;
    }
    int dunder = text_is(w, fn, "__import__");
    if (!dunder && !text_is(w, fn, "import_module")) {
        return 0;
    }
    TSNode name = argument(w, args, 0, "name");
    ash__buf_clear(&ex->tmp);
    int rc = ts_node_is_null(name) ? 0 : literal(w, name, &ex->tmp);
    if (rc <= 0) {
        return rc;
    }
    uint32_t level;
    size_t skip;
    const char *s = ex->tmp.ptr ? ex->tmp.ptr : "";
    if (!valid_module(s, ex->tmp.len, &level, &skip) || (dunder && level)) {
        return 0;
    }
    const char *package = NULL;
    size_t package_len = 0;
    if (dunder) {
        TSNode lv = argument(w, args, 4, "level");
        if (!ts_node_is_null(lv) && is(w, lv, S_INTEGER)) {
            size_t len;
            const char *t = text_of(w, lv, &len);
            level = (len == 1 && t[0] >= '0' && t[0] <= '9') ? (uint32_t)(t[0] - '0') : 0;
        }
    } else if (level) {
        TSNode pkg = argument(w, args, 1, "package");
        ash__buf_clear(&ex->tmp2);
        if (!ts_node_is_null(pkg) && (rc = literal(w, pkg, &ex->tmp2)) != 0) {
            if (rc < 0) {
                return rc;
            }
            package = ex->tmp2.ptr ? ex->tmp2.ptr : "";
            package_len = ex->tmp2.len;
        }
    }
    if (ash__ib_add(&ex->ib, ASH_IMPORT_STRING, line_of(w, n), level, flags, s + skip,
                    ex->tmp.len - skip, package, package_len) < 0) {
        return ASH_ENOMEM;
    }
    return dunder ? fromlist(w, argument(w, args, 3, "fromlist")) : 0;
}

static int add_plugin(walk *w, TSNode value, uint32_t line, uint32_t flags)
{
    ash_extractor *ex = w->ex;
    ash__buf_clear(&ex->tmp);
    int rc = literal(w, value, &ex->tmp);
    if (rc <= 0) {
        return rc;
    }
    uint32_t level;
    size_t skip;
    const char *s = ex->tmp.ptr ? ex->tmp.ptr : "";
    if (!valid_module(s, ex->tmp.len, &level, &skip) || level) {
        return 0;
    }
    return ash__ib_add(&ex->ib, ASH_IMPORT_STRING, line, 0, flags, s, ex->tmp.len, NULL, 0);
}

/* `pytest_plugins = "a.b"` or a list/tuple of literals, at module level. */
static int handle_plugins(walk *w, TSNode stmt, uint32_t flags)
{
    if (flags & (ASH_IMPORT_LAZY | FLAG_CLASS) || ts_node_named_child_count(stmt) != 1) {
        return 0;
    }
    TSNode a = ts_node_named_child(stmt, 0);
    if (!is(w, a, S_ASSIGNMENT) && !is(w, a, S_AUG_ASSIGNMENT)) {
        return 0;
    }
    TSNode left = field(w, a, F_LEFT), right = field(w, a, F_RIGHT);
    if (ts_node_is_null(left) || ts_node_is_null(right) || !is(w, left, S_IDENTIFIER) ||
        !text_is(w, left, "pytest_plugins")) {
        return 0;
    }
    right = unparen(w, right);
    uint32_t line = line_of(w, stmt);
    if (!is(w, right, S_LIST) && !is(w, right, S_TUPLE) && !is(w, right, S_EXPR_LIST)) {
        return add_plugin(w, right, line, flags);
    }
    uint32_t count = ts_node_named_child_count(right);
    for (uint32_t i = 0; i < count; i++) {
        int rc = add_plugin(w, ts_node_named_child(right, i), line, flags);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- block context ---- */

/* 1: `TYPE_CHECKING` / `x.TYPE_CHECKING`; -1: `not` that; 0: anything else. */
static int type_checking_condition(const walk *w, TSNode cond)
{
    int sign = 1;
    cond = unparen(w, cond);
    if (!ts_node_is_null(cond) && is(w, cond, S_NOT)) {
        cond = unparen(w, field(w, cond, F_ARGUMENT));
        sign = -1;
    }
    if (ts_node_is_null(cond)) {
        return 0;
    }
    if (is(w, cond, S_ATTRIBUTE)) {
        cond = field(w, cond, F_ATTRIBUTE);
    }
    if (!ts_node_is_null(cond) && is(w, cond, S_IDENTIFIER) && text_is(w, cond, "TYPE_CHECKING")) {
        return sign;
    }
    return 0;
}

static int names_import_error(const walk *w, TSNode type)
{
    if (is(w, type, S_ATTRIBUTE)) {
        type = field(w, type, F_ATTRIBUTE);
    }
    return !ts_node_is_null(type) && is(w, type, S_IDENTIFIER) &&
           (text_is(w, type, "ImportError") || text_is(w, type, "ModuleNotFoundError") ||
            text_is(w, type, "Exception") || text_is(w, type, "BaseException"));
}

/* Does an except clause's type catch ImportError (Exception and nested tuples included)?
 * Iterative, with the extractor's node stack: the nesting comes from the file and can be
 * 100,000 deep. -1 on allocation failure. */
static int catches_import_error(const walk *w, TSNode type)
{
    ash_extractor *ex = w->ex;
    size_t top = 0;
    int found = 0;
    for (TSNode n = type; !found;) {
        if (!ts_node_is_null(n)) {
            int tuple = is(w, n, S_TUPLE) || is(w, n, S_LIST_SPLAT) || is(w, n, S_PAREN);
            /* of `X as e` only X names the type */
            uint32_t count = is(w, n, S_AS_PATTERN) ? 1 : tuple ? ts_node_named_child_count(n) : 0;
            if (!tuple && count == 0) {
                found = names_import_error(w, n);
            }
            void *nodes = ex->nodes;
            if (ash__grow(&nodes, &ex->node_cap, top + count, sizeof(TSNode)) < 0) {
                return -1;
            }
            ex->nodes = nodes;
            for (uint32_t i = 0; i < count; i++) {
                ex->nodes[top++] = ts_node_named_child(n, i);
            }
        }
        if (top == 0) {
            break;
        }
        n = ex->nodes[--top];
    }
    return found;
}

static int try_is_optional(const walk *w, TSNode n)
{
    uint32_t count = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < count; i++) {
        TSNode c = ts_node_named_child(n, i);
        if (!is(w, c, S_EXCEPT) && !is(w, c, S_EXCEPT_GROUP)) {
            continue;
        }
        TSNode type = field(w, c, F_VALUE);
        int rc = ts_node_is_null(type) ? 1 : catches_import_error(w, type); /* bare: catches */
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Visit one node: extract records, and say what its children inherit. 0 or ASH_ENOMEM;
 * *descend = 0 for nodes whose children need no visit. */
static int visit(walk *w, TSNode n, ctx_level *lv, int *descend)
{
    *descend = 1;
    lv->ctx = CTX_NONE;
    TSSymbol s = ts_node_symbol(n);
    const TSSymbol *sym = w->ex->sym;
    if ((s == sym[S_IMPORT] || s == sym[S_FROM] || s == sym[S_FUTURE]) && ts_node_has_error(n)) {
        *descend = 0;
        return handle_broken_imports(w, n, lv->flags);
    }
    if (s == sym[S_IMPORT]) {
        *descend = 0;
        return handle_import(w, n, lv->flags);
    }
    if (s == sym[S_FROM] || s == sym[S_FUTURE]) {
        *descend = 0;
        return handle_from(w, n, lv->flags, s == sym[S_FUTURE]);
    }
    if (s == sym[S_CALL]) {
        return handle_call(w, n, lv->flags);
    }
    if (ts_node_is_error(n)) {
        if (lv->flags & FLAG_SPLICED) {
            return 0; /* read with its parent's tokens */
        }
        lv->ctx = CTX_SPLICE;
        return handle_broken_imports(w, n, lv->flags);
    }
    if (s == sym[S_EXPR_STMT]) {
        return handle_plugins(w, n, lv->flags);
    }
    if (s == sym[S_FUNCTION] || s == sym[S_LAMBDA]) {
        lv->ctx = CTX_FUNC;
    } else if (s == sym[S_CLASS]) {
        lv->ctx = CTX_CLASS;
    } else if (s == sym[S_IF] || s == sym[S_ELIF]) {
        int tc = type_checking_condition(w, field(w, n, F_CONDITION));
        lv->ctx = tc > 0 ? CTX_IF_TC : (tc < 0 && s == sym[S_IF]) ? CTX_IF_NOT_TC : CTX_NONE;
    } else if (s == sym[S_TRY]) {
        int opt = try_is_optional(w, n);
        if (opt < 0) {
            return ash__error_oom();
        }
        lv->ctx = opt ? CTX_TRY_OPT : CTX_NONE;
    }
    return 0;
}

/* The flags a child inherits from its parent's level, given the child's field. */
static uint32_t inherit(const walk *w, const ctx_level *parent, TSFieldId f, TSNode child)
{
    const TSFieldId *fid = w->ex->field;
    uint32_t flags = parent->flags & ~FLAG_SPLICED;
    switch (parent->ctx) {
    case CTX_SPLICE:
        return ts_node_is_error(child) ? flags | FLAG_SPLICED : flags;
    case CTX_FUNC:
        return f == fid[F_BODY] ? flags | ASH_IMPORT_LAZY : flags;
    case CTX_CLASS:
        return f == fid[F_BODY] ? flags | FLAG_CLASS : flags;
    case CTX_IF_TC:
        return f == fid[F_CONSEQUENCE] ? flags | ASH_IMPORT_TYPE_CHECKING : flags;
    case CTX_IF_NOT_TC:
        /* every alternative of `if not TYPE_CHECKING:` runs only under a type checker */
        return f == fid[F_ALTERNATIVE] ? flags | ASH_IMPORT_TYPE_CHECKING : flags;
    case CTX_TRY_OPT:
        return f == fid[F_BODY] ? flags | ASH_IMPORT_OPTIONAL : flags;
    default:
        return flags;
    }
}

static int walk_tree(walk *w, TSNode root)
{
    ash_extractor *ex = w->ex;
    TSTreeCursor cur = ts_tree_cursor_new(root);
    size_t depth = 0;
    int rc = 0, descend;
    void *levels = ex->levels;
    if (ash__grow(&levels, &ex->level_cap, 1, sizeof(ctx_level)) < 0) {
        rc = ASH_ENOMEM;
        goto done;
    }
    ex->levels = levels;
    ex->levels[0] = (ctx_level){0, CTX_NONE};
    if ((rc = visit(w, root, &ex->levels[0], &descend)) < 0) {
        goto done;
    }
    for (;;) {
        if (descend && ts_tree_cursor_goto_first_child(&cur)) {
            depth++;
            levels = ex->levels;
            if (ash__grow(&levels, &ex->level_cap, depth + 1, sizeof(ctx_level)) < 0) {
                rc = ASH_ENOMEM;
                goto done;
            }
            ex->levels = levels;
        } else {
            while (!ts_tree_cursor_goto_next_sibling(&cur)) {
                if (depth == 0 || !ts_tree_cursor_goto_parent(&cur)) {
                    goto done;
                }
                depth--;
            }
        }
        TSNode n = ts_tree_cursor_current_node(&cur);
        ctx_level *lv = &ex->levels[depth];
        lv->flags = inherit(w, &ex->levels[depth - 1], ts_tree_cursor_current_field_id(&cur), n);
        if (!ts_node_is_named(n)) {
            descend = 0;
            continue;
        }
        if ((rc = visit(w, n, lv, &descend)) < 0) {
            goto done;
        }
    }
done:
    ts_tree_cursor_delete(&cur);
    return rc;
}

/* Does a node type name a statement ("..._statement", "..._definition")? */
static int is_statement_type(const char *type)
{
    size_t n = strlen(type);
    return (n > 10 && strcmp(type + n - 10, "_statement") == 0) ||
           (n > 11 && strcmp(type + n - 11, "_definition") == 0);
}

/* Row of the first error: where the innermost statement holding the first ERROR or MISSING
 * node starts (tree-sitter often notices an incomplete statement only on the next line). */
static uint32_t first_error_row(TSNode n)
{
    uint32_t stmt = UINT32_MAX;
    for (;;) {
        if (is_statement_type(ts_node_type(n))) {
            stmt = ts_node_start_point(n).row;
        }
        if (ts_node_is_error(n) || ts_node_is_missing(n)) {
            break;
        }
        uint32_t count = ts_node_child_count(n), i;
        for (i = 0; i < count; i++) {
            TSNode c = ts_node_child(n, i);
            if (ts_node_has_error(c)) {
                n = c;
                break;
            }
        }
        if (i == count) {
            break;
        }
    }
    uint32_t row = ts_node_start_point(n).row;
    return stmt < row ? stmt : row;
}

/* Parse text[0..len) and walk it. *error_row receives the first error's row, or -1. */
static int parse_and_walk(walk *w, const char *text, size_t len, long *error_row)
{
    *error_row = -1;
    ts_parser_reset(w->ex->parser);
    TSTree *tree = ts_parser_parse_string(w->ex->parser, NULL, text, (uint32_t)len);
    if (!tree) {
        return ash__error_oom();
    }
    TSNode root = ts_tree_root_node(tree);
    int rc = 0;
    if (ts_node_has_error(root)) {
        *error_row = first_error_row(root);
    } else {
        w->text = text;
        rc = walk_tree(w, root);
    }
    if (*error_row >= 0 && w->rows == NULL) {
        /* the whole file: keep what tree-sitter's recovery kept */
        w->text = text;
        rc = walk_tree(w, root);
    }
    ts_tree_delete(tree);
    return rc;
}

static int extract_text(ash_extractor *ex, const ash_source *src, unsigned *status,
                        const char *path, ash_diag_fn diag, void *payload)
{
    ash_scan *scan = &ex->scan;
    int rc = ash__scan(scan, src->text, src->len);
    if (rc < 0) {
        return rc;
    }
    if (scan->selected == 0) {
        if (scan->error_line) {
            *status |= ASH_SOURCE_SYNTAX_ERROR;
            ash__diag(diag, payload, path, "syntax error at line %u (%s)", scan->error_line,
                      scan->error);
        }
        return 0;
    }
    ex->stats.skeleton_bytes += scan->skeleton.len;
    walk w = {.ex = ex, .rows = scan->rows, .row_count = scan->row_count};
    long err;
    rc = parse_and_walk(&w, scan->skeleton.ptr, scan->skeleton.len, &err);
    if (rc < 0) {
        return rc;
    }
    if (err >= 0) {
        /* The skeleton did not parse: let tree-sitter see the whole file. */
        if (ex->debug_skeleton) {
            ash__diag(diag, payload, path,
                      "skeleton did not parse at line %u; parsing the whole file",
                      scan->rows[err < (long)scan->row_count ? err : (long)scan->row_count - 1]);
        }
        ash__ib_reset(&ex->ib);
        ex->stats.full_parses++;
        w = (walk){.ex = ex};
        rc = parse_and_walk(&w, src->text, src->len, &err);
        if (rc < 0) {
            return rc;
        }
        /* error recovery can put statements out of order, or read one twice */
        ash__ib_sort_unique(&ex->ib);
    }
    if (err >= 0 || scan->error_line) {
        *status |= ASH_SOURCE_SYNTAX_ERROR;
        /* a lexical error (unclosed bracket or string) is located exactly by the scan */
        uint32_t line = scan->error_line ? scan->error_line : (uint32_t)err + 1;
        ash__diag(diag, payload, path, "syntax error at line %u; imports read from the rest", line);
    }
    return 0;
}

/* A statement with bytes that are not UTF-8 names no module Python could import: drop the
 * records of the lines that hold such bytes. */
static int drop_undecodable(ash_extractor *ex, const ash_source *src)
{
    uint32_t *lines = NULL;
    size_t n = 0, cap = 0, at = 0, line = 1;
    const char *counted = src->text;
    while (at < src->len) {
        size_t bad = at + ash__utf8_check(src->text + at, src->len - at);
        if (bad >= src->len) {
            break;
        }
        for (; counted < src->text + bad; counted++) {
            line += *counted == '\n';
        }
        void *p = lines;
        if (ash__grow(&p, &cap, n + 1, sizeof(uint32_t)) < 0) {
            ash__free(lines);
            return ASH_ENOMEM;
        }
        lines = p;
        if (!n || lines[n - 1] != line) {
            lines[n++] = (uint32_t)line;
        }
        at = bad + 1;
    }
    ash__ib_drop_lines(&ex->ib, lines, n);
    ash__free(lines);
    return 0;
}

int ash__extract(ash_extractor *ex, ash_imports **out, const char *data, size_t len,
                 const char *path, ash_diag_fn diag, void *payload)
{
    *out = NULL;
    ash__ib_reset(&ex->ib);
    ex->stats.files++;
    if (len > ASH_SOURCE_MAX) {
        ash__diag(diag, payload, path, "larger than %zu MiB; not read", ASH_SOURCE_MAX >> 20);
        return ash__imports_empty(out, ASH_SOURCE_TOO_LARGE);
    }
    ash_source src;
    int rc = ash__source_decode(&src, data, len, path, diag, payload);
    if (rc < 0) {
        return rc;
    }
    unsigned status = src.status;
    ex->stats.bytes += src.len;
    rc = extract_text(ex, &src, &status, path, diag, payload);
    if (rc == 0 && (status & ASH_SOURCE_BAD_ENCODING)) {
        rc = drop_undecodable(ex, &src);
    }
    if (rc == 0) {
        rc = ash__ib_finish(&ex->ib, out, status);
    }
    ash__source_free(&src);
    return rc;
}

int ash_imports_parse(ash_imports **out, const char *data, size_t len, const char *path,
                      ash_diag_fn diag, void *payload)
{
    ash_extractor *ex;
    *out = NULL;
    int rc = ash__extractor_new(&ex);
    if (rc < 0) {
        return rc;
    }
    rc = ash__extract(ex, out, data, len, path, diag, payload);
    ash__extractor_free(ex);
    return rc;
}

int ash_imports_parse_file(ash_imports **out, const char *path, ash_diag_fn diag, void *payload)
{
    char *data;
    size_t len;
    *out = NULL;
    int rc = ash__read_file(&data, &len, path, ASH_SOURCE_MAX);
    if (rc == ASH_EINVAL) {
        ash__diag(diag, payload, path, "larger than %zu MiB; not read", ASH_SOURCE_MAX >> 20);
        return ash__imports_empty(out, ASH_SOURCE_TOO_LARGE);
    }
    if (rc < 0) {
        return rc;
    }
    rc = ash_imports_parse(out, data, len, path, diag, payload);
    ash__free(data);
    return rc;
}
