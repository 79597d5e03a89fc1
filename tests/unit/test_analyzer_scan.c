/*
 * Unit tests of the lexical pass (analyzer/src/scan.c): the exact skeleton and its row -> line
 * map for small inputs (synthesized ` pass` lines included), logical lines that strings,
 * brackets and backslashes keep whole, 3.12 f-strings, indentation columns with tabs and form
 * feeds, keyword classes, block links, lexical errors, reuse of one scanner, and allocation
 * failures at every allocation.
 */
#include "alloc_hook.h"
#include "scan.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

static ash_scan scan; /* shared by the tests; freed by the teardown */

static int free_scan(void **state)
{
    (void)state;
    ash__scan_free(&scan);
    return 0;
}

/* Scan a C string with the shared scanner; asserts success. */
static ash_scan *scan_str(const char *src)
{
    assert_int_equal(ash__scan(&scan, src, strlen(src)), 0);
    return &scan;
}

static const char *skeleton(void)
{
    return ash__buf_cstr(&scan.skeleton);
}

/* The skeleton's rows map to `lines[0..n)`. */
static void assert_rows(const uint32_t *lines, size_t n)
{
    assert_int_equal(scan.row_count, n);
    for (size_t i = 0; i < n; i++) {
        if (scan.rows[i] != lines[i]) {
            print_error("row %zu maps to line %u, expected %u\n", i, scan.rows[i], lines[i]);
        }
        assert_int_equal(scan.rows[i], lines[i]);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Skeletons                                                                                */

static void test_skeleton_blocks(void **state)
{
    (void)state;
    const char *src = "import os\n"                                 /* 1 */
                      "x = 1\n"                                     /* 2 */
                      "class A:\n"                                  /* 3 */
                      "    y = 2\n"                                 /* 4 */
                      "    def f(self):\n"                          /* 5 */
                      "        z = 3\n"                             /* 6 */
                      "        if TYPE_CHECKING:\n"                 /* 7 */
                      "            from b import c\n"               /* 8 */
                      "        return z\n"                          /* 9 */
                      "try:\n"                                      /* 10 */
                      "    import d\n"                              /* 11 */
                      "except ImportError:\n"                       /* 12 */
                      "    d = None\n"                              /* 13 */
                      "else:\n"                                     /* 14 */
                      "    pass\n"                                  /* 15 */
                      "if a:\n"                                     /* 16 */
                      "    pass\n"                                  /* 17 */
                      "elif b:\n"                                   /* 18 */
                      "    import e\n"                              /* 19 */
                      "else:\n"                                     /* 20 */
                      "    pass\n"                                  /* 21 */
                      "@deco(__import__(\"f\"))\n"                  /* 22 */
                      "def g():\n"                                  /* 23 */
                      "    return 1\n"                              /* 24 */
                      "with importlib.import_module(\"h\") as m:\n" /* 25 */
                      "    m.run()\n";                              /* 26 */
    scan_str(src);
    assert_int_equal(scan.selected, 6);
    assert_int_equal(scan.error_line, 0);
    assert_null(scan.error);
    /* The try keeps all its clauses (they decide "optional"); an if keeps the clauses up to
     * the one holding the import; a header whose body is left out gets ` pass`; a header that
     * is only context is cut to its keyword, unless it names TYPE_CHECKING. */
    assert_string_equal(skeleton(), "import os\n"
                                    "class _:\n"
                                    "    def _():\n"
                                    "        if TYPE_CHECKING:\n"
                                    "            from b import c\n"
                                    "try:\n"
                                    "    import d\n"
                                    "except ImportError:\n"
                                    " pass\n"
                                    "else:\n"
                                    " pass\n"
                                    "if _:\n"
                                    " pass\n"
                                    "elif _:\n"
                                    "    import e\n"
                                    "@deco(__import__(\"f\"))\n"
                                    "def _():\n"
                                    " pass\n"
                                    "with importlib.import_module(\"h\") as m:\n"
                                    " pass\n");
    static const uint32_t rows[] = {1,  3,  5,  7,  8,  10, 11, 12, 12, 14,
                                    14, 16, 16, 18, 19, 22, 23, 23, 25, 25};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_skeleton_pass_keeps_indentation(void **state)
{
    (void)state;
    /* The synthesized pass is indented one column deeper than its header, with the header's
     * own indentation characters (a tab here). */
    scan_str("def f():\n"
             "\ttry:\n"
             "\t\timport a\n"
             "\texcept ImportError:\n"
             "\t\tpass\n"
             "\tfinally:\n"
             "\t\tx = 1\n");
    assert_string_equal(skeleton(), "def _():\n"
                                    "\ttry:\n"
                                    "\t\timport a\n"
                                    "\texcept ImportError:\n"
                                    "\t pass\n"
                                    "\tfinally:\n"
                                    "\t pass\n");
    static const uint32_t rows[] = {1, 2, 3, 4, 4, 6, 6};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_skeleton_multiline_logical_lines(void **state)
{
    (void)state;
    const char *src = "x = 1\n"
                      "from a import (\n"
                      "    b,  # comment\n"
                      "    c)\n"
                      "import d, \\\n"
                      "    e\n"
                      "y = [\n"
                      "  1]\n"
                      "m = importlib.import_module(\n"
                      "    \"f\"\n"
                      ")";
    scan_str(src);
    assert_int_equal(scan.selected, 3);
    /* Each logical line is copied whole; the last one gets the newline it lacked. */
    assert_string_equal(skeleton(), "from a import (\n"
                                    "    b,  # comment\n"
                                    "    c)\n"
                                    "import d, \\\n"
                                    "    e\n"
                                    "m = importlib.import_module(\n"
                                    "    \"f\"\n"
                                    ")\n");
    static const uint32_t rows[] = {2, 3, 4, 5, 6, 9, 10, 11};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
    assert_int_equal(scan.count, 3);
    assert_int_equal(scan.lines[0].line, 2);
    assert_int_equal(scan.lines[0].start, 6);
    assert_int_equal(scan.lines[0].end, 6 + strlen("from a import (\n    b,  # comment\n    c)\n"));
    assert_int_equal(scan.lines[2].line, 9);
    assert_int_equal(scan.lines[2].end, strlen(src));
}

static void test_skeleton_decorated_in_class(void **state)
{
    (void)state;
    scan_str("class A:\n"
             "    @staticmethod\n"
             "    @register(__import__(\"p\"))\n"
             "    # a comment between decorator and def\n"
             "    def f():\n"
             "        return 1\n"
             "    z = 2\n");
    /* The decorator line is kept with what it decorates and the class around it; the first,
     * unselected decorator is not needed. */
    assert_string_equal(skeleton(), "class _:\n"
                                    "    @register(__import__(\"p\"))\n"
                                    "    def _():\n"
                                    "     pass\n");
    static const uint32_t rows[] = {1, 3, 5, 5};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_skeleton_clauses(void **state)
{
    (void)state;
    scan_str("for x in y:\n"
             "    pass\n"
             "else:\n"
             "    import a\n"
             "while w:\n"
             "    import b\n"
             "else:\n"
             "    pass\n"
             "match cmd:\n"
             "    case 1:\n"
             "        pass\n"
             "    case _:\n"
             "        import c\n"
             "if TYPE_CHECKING: import d\n"
             "else: import e\n");
    assert_string_equal(skeleton(), "for _ in _:\n"
                                    " pass\n"
                                    "else:\n"
                                    "    import a\n"
                                    "while _:\n"
                                    "    import b\n"
                                    "match _:\n"
                                    "    case _:\n"
                                    "        import c\n"
                                    "if TYPE_CHECKING: import d\n"
                                    "else: import e\n");
    static const uint32_t rows[] = {1, 1, 3, 4, 5, 6, 9, 12, 13, 14, 15};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_skeleton_nothing_selected(void **state)
{
    (void)state;
    scan_str("def f():\n    return 1\nclass A:\n    pass\n");
    assert_int_equal(scan.selected, 0);
    assert_int_equal(scan.row_count, 0);
    assert_string_equal(skeleton(), "");
    assert_int_equal(scan.count, 2); /* the two headers are still stored */

    scan_str("");
    assert_int_equal(scan.selected, 0);
    assert_int_equal(scan.count, 0);
    assert_int_equal(scan.error_line, 0);

    scan_str("# import os\n\n   # import sys\n#");
    assert_int_equal(scan.selected, 0);
    assert_int_equal(scan.count, 0);
}

static void test_skeleton_reuse(void **state)
{
    (void)state;
    scan_str("if a:\n    import b\nx = (\n");
    assert_int_equal(scan.error_line, 3);
    /* A second file through the same scanner starts from scratch. */
    scan_str("import c\n");
    assert_string_equal(skeleton(), "import c\n");
    static const uint32_t rows[] = {1};
    assert_rows(rows, 1);
    assert_int_equal(scan.count, 1);
    assert_int_equal(scan.selected, 1);
    assert_int_equal(scan.error_line, 0);
    assert_null(scan.error);
}

/* ---------------------------------------------------------------------------------------- */
/* Logical lines: strings, brackets, continuations                                           */

static void test_strings_are_not_split(void **state)
{
    (void)state;
    /* Nothing here starts a logical line with a keyword, and every `import` is inside a
     * string or a comment. */
    scan_str("x = \"\"\"\n"
             "if a:\n"
             "import b\n"
             "\"\"\"\n"
             "y = (1,\n"
             "if_ )\n"
             "s = 'a\\\n"
             "import c'\n"
             "t = r'\\' import d'\n"
             "u = b\"import e\"\n"
             "v = '''it''s' import f'''\n"
             "w = 1  # import g\n");
    assert_int_equal(scan.selected, 0);
    assert_int_equal(scan.count, 0);
    assert_int_equal(scan.error_line, 0);
}

static void test_brackets_join_lines(void **state)
{
    (void)state;
    scan_str("x = [\n"
             "if a:\n"
             "    import b\n"
             "]\n"
             "import c\n");
    /* Lines 1-4 are one logical line (selected: it holds `import`), line 5 another. */
    assert_int_equal(scan.count, 2);
    assert_int_equal(scan.lines[0].line, 1);
    assert_int_equal(scan.lines[0].kw, ASH_KW_NONE);
    assert_int_equal(scan.lines[1].line, 5);
    static const uint32_t rows[] = {1, 2, 3, 4, 5};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_backslash_continuation(void **state)
{
    (void)state;
    scan_str("if a and \\\n"
             "   b:\n"
             "    import c\n"
             "x = 1 + \\\n"
             "    2; import d\n");
    assert_int_equal(scan.count, 3);
    assert_int_equal(scan.lines[0].kw, ASH_KW_IF);
    assert_true(scan.lines[0].opens_block);
    assert_int_equal(scan.lines[2].line, 4);
    /* the header is only context: cut to its keyword, its two lines to one row */
    assert_string_equal(skeleton(), "if _:\n    import c\nx = 1 + \\\n    2; import d\n");
    static const uint32_t rows[] = {1, 3, 4, 5};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_fstrings(void **state)
{
    (void)state;
    /* 3.12 f-strings: the same quotes nested, format specs with fields, braces in strings
     * inside fields. No `import` inside them selects a line; the imports after them do. */
    scan_str("a = f\"{\"import x\"}\"\n"
             "import b1\n"
             "c = f\"{x:{y}}\"\n"
             "import b2\n"
             "d = f\"{'{'}\"\n"
             "import b3\n"
             "e = f\"{d[\"k\"]!r:>{w}}\"\n"
             "import b4\n"
             "g = f'''{\n"
             "  \"import w\"\n"
             "}''' + f\"{{import}}\" + rf\"\\{x}\" + f\"{f'{\"import z\"}'}\"\n"
             "import b5\n");
    assert_int_equal(scan.selected, 5);
    assert_int_equal(scan.error_line, 0);
    assert_string_equal(skeleton(), "import b1\nimport b2\nimport b3\nimport b4\nimport b5\n");
    static const uint32_t rows[] = {2, 4, 6, 8, 12};
    assert_rows(rows, ASH_ARRAY_SIZE(rows));
}

static void test_fstring_code_is_scanned(void **state)
{
    (void)state;
    /* A replacement field is code: a call in it is an import. */
    scan_str("x = f\"{__import__('os').sep}\"\n");
    assert_int_equal(scan.selected, 1);
}

static void test_unterminated_fstring_keeps_lines(void **state)
{
    (void)state;
    /* An unterminated single-quoted f-string ends at its line, as in CPython. */
    scan_str("x = f\"{a\n"
             "import b\n");
    assert_int_equal(scan.selected, 1);
    assert_int_equal(scan.count, 1);
    assert_int_equal(scan.lines[0].line, 2);
}

static void test_triggers(void **state)
{
    (void)state;
    static const char *const selected[] = {
        "import a\n",
        "from a import b\n",
        "x = __import__('a')\n",
        "m = import_module(n)\n",
        "pytest_plugins = []\n",
        "if x: import y\n",
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(selected); i++) {
        scan_str(selected[i]);
        assert_int_equal(scan.selected, 1);
    }
    static const char *const not_selected[] = {
        "importlib = 1\n", "x.imports = 2\n", "_import = 3\n", "pytest_plugin = 4\n",
        "from_ = 5\n",     "reimport()\n",    "# import\n",    "'import'\n",
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(not_selected); i++) {
        scan_str(not_selected[i]);
        assert_int_equal(scan.selected, 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Indentation, keywords, block links                                                       */

static void test_indentation_columns(void **state)
{
    (void)state;
    /* Every line is a header, so every line is stored with its column. */
    scan_str("if a:\n"           /* 0 */
             "\tif b:\n"         /* tab: 8 */
             "   \tif c:\n"      /* 3 then tab: 8 */
             "        \tif d:\n" /* 8 then tab: 16 */
             "\t \tif e:\n"      /* 8, 9, 16 */
             "\f    if f:\n"     /* form feed resets: 4 */
             "    \f\tif g:\n"   /* 4, reset, tab: 8 */
             "  \f  if h:\n"     /* 2, reset, 2 */
             "       \tif i:\n"  /* 7 then tab: 8 */
             "\n"
             "  \t  \n"      /* blank lines do not count */
             "\t\tif j:\n"); /* 16 */
    static const uint32_t cols[] = {0, 8, 8, 16, 16, 4, 8, 2, 8, 16};
    assert_int_equal(scan.count, ASH_ARRAY_SIZE(cols));
    for (size_t i = 0; i < ASH_ARRAY_SIZE(cols); i++) {
        assert_int_equal(scan.lines[i].indent, cols[i]);
        assert_int_equal(scan.lines[i].kw, ASH_KW_IF);
    }
    assert_int_equal(scan.lines[9].line, 12);
}

static void test_tabs_build_blocks(void **state)
{
    (void)state;
    /* A tab and eight spaces are the same column: the import is in the if's body. */
    scan_str("def f():\n"
             "\tif TYPE_CHECKING:\n"
             "\t        import a\n"
             "        x = 1\n"
             "\tif b:\n"
             "\t\tpass\n");
    assert_int_equal(scan.count, 4);
    assert_int_equal(scan.lines[1].parent, 0);
    assert_int_equal(scan.lines[2].parent, 1);
    assert_int_equal(scan.lines[3].parent, 0);
    assert_string_equal(skeleton(), "def _():\n\tif TYPE_CHECKING:\n\t        import a\n");
}

static void test_keyword_classes(void **state)
{
    (void)state;
    scan_str("if a:\n"
             "    pass\n"
             "elif b:\n"
             "    pass\n"
             "else:\n"
             "    pass\n"
             "try:\n"
             "    pass\n"
             "except* E:\n"
             "    pass\n"
             "finally:\n"
             "    pass\n"
             "for x in y:\n"
             "    pass\n"
             "while z:\n"
             "    pass\n"
             "with w:\n"
             "    pass\n"
             "@d\n"
             "def f():\n"
             "    pass\n"
             "class C:\n"
             "    pass\n"
             "match m:\n"
             "    case 1:\n"
             "        pass\n"
             "async def g():\n"
             "    async with q:\n"
             "        pass\n"
             "    async for r in s:\n"
             "        pass\n"
             "match = 1\n"
             "case = 2\n"
             "match(x)\n"
             "async = 3\n"
             "iffy = 4\n");
    static const uint8_t kws[] = {
        ASH_KW_IF,    ASH_KW_ELIF,  ASH_KW_ELSE, ASH_KW_TRY,       ASH_KW_EXCEPT, ASH_KW_FINALLY,
        ASH_KW_FOR,   ASH_KW_WHILE, ASH_KW_WITH, ASH_KW_DECORATOR, ASH_KW_DEF,    ASH_KW_CLASS,
        ASH_KW_MATCH, ASH_KW_CASE,  ASH_KW_DEF,  ASH_KW_WITH,      ASH_KW_FOR,
    };
    /* `match = 1`, `case = 2`, `match(x)` and the rest are plain statements: not stored. */
    assert_int_equal(scan.count, ASH_ARRAY_SIZE(kws));
    for (size_t i = 0; i < ASH_ARRAY_SIZE(kws); i++) {
        if (scan.lines[i].kw != kws[i]) {
            print_error("line %u: kw %u, expected %u\n", scan.lines[i].line, scan.lines[i].kw,
                        kws[i]);
        }
        assert_int_equal(scan.lines[i].kw, kws[i]);
    }
    assert_false(scan.lines[9].opens_block); /* the decorator */
    assert_true(scan.lines[10].opens_block);
}

static void test_soft_keywords_selected(void **state)
{
    (void)state;
    /* `match` as a name on a selected line: a plain statement, no pass added. */
    scan_str("match = __import__(\"m\")\n"
             "match x:  # comment:\n"
             "    case 1:\n"
             "        import a\n");
    assert_int_equal(scan.count, 4);
    assert_int_equal(scan.lines[0].kw, ASH_KW_NONE);
    assert_int_equal(scan.lines[1].kw, ASH_KW_MATCH);
    assert_true(scan.lines[1].opens_block);
    assert_string_equal(skeleton(), "match = __import__(\"m\")\n"
                                    "match _:\n"
                                    "    case _:\n"
                                    "        import a\n");
}

static void test_opens_block(void **state)
{
    (void)state;
    scan_str("if a: import b\n"
             "if c:  # trailing: comment\n"
             "    import d\n"
             "if (e and  # a comment on an earlier physical line\n"
             "    f):   \n"
             "    import g\n"
             "if h: x = y[1:]\n"
             "if i == ':':\n"
             "    pass\n");
    assert_int_equal(scan.count, 7);
    assert_false(scan.lines[0].opens_block);
    assert_true(scan.lines[1].opens_block);
    assert_true(scan.lines[3].opens_block);
    assert_false(scan.lines[5].opens_block);
    assert_true(scan.lines[6].opens_block);
}

static void test_block_links(void **state)
{
    (void)state;
    scan_str("try:\n"      /* 0 */
             "    if a:\n" /* 1 */
             "        pass\n"
             "    elif b:\n"      /* 2 */
             "        import c\n" /* 3 */
             "    else:\n"        /* 4 */
             "        pass\n"
             "except ImportError:\n" /* 5 */
             "    pass\n"
             "else:\n" /* 6 */
             "    pass\n"
             "finally:\n" /* 7 */
             "    pass\n");
    assert_int_equal(scan.count, 8);
    assert_int_equal(scan.lines[0].parent, -1);
    assert_int_equal(scan.lines[1].parent, 0);
    assert_int_equal(scan.lines[3].parent, 2);
    assert_int_equal(scan.lines[2].prev_clause, 1);
    assert_int_equal(scan.lines[1].next_clause, 2);
    assert_int_equal(scan.lines[4].prev_clause, 2);
    assert_int_equal(scan.lines[5].prev_clause, 0);
    assert_int_equal(scan.lines[6].prev_clause, 5);
    assert_int_equal(scan.lines[7].prev_clause, 6);
    assert_int_equal(scan.lines[7].next_clause, -1);
    assert_int_equal(scan.lines[5].parent, -1);
    /* marked: the import, its if/elif (not the else), and the whole try */
    static const uint8_t marked[] = {1, 1, 1, 1, 0, 1, 1, 1};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(marked); i++) {
        assert_int_equal(scan.lines[i].marked, marked[i]);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Lexical errors                                                                           */

static void test_lexical_errors(void **state)
{
    (void)state;
    static const struct {
        const char *src;
        uint32_t line;
        const char *what;
    } cases[] = {
        {"import a\nx = (1,\n  2\n", 2, "unclosed bracket"},
        {"import a\n    y = [\n", 2, "unclosed bracket"},
        {"import a\nx = 'abc\nimport b\n", 2, "unterminated string"},
        {"import a\nx = 'abc", 2, "unterminated string"},
        {"x = 1\n\n'''\nimport a\n", 3, "unterminated triple-quoted string"},
        {"import a\nx = 1)\n", 2, "unmatched closing bracket"},
        {"import a\nx = f'''{\n", 2, "unterminated f-string"},
        {"x = (\n)\ny = [\n", 3, "unclosed bracket"},
        {"x = 1)\ny = (\n", 1, "unmatched closing bracket"}, /* the first error wins */
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(cases); i++) {
        scan_str(cases[i].src);
        if (scan.error_line != cases[i].line) {
            print_error("case %zu: error at line %u, expected %u\n", i, scan.error_line,
                        cases[i].line);
        }
        assert_int_equal(scan.error_line, cases[i].line);
        assert_non_null(scan.error);
        assert_string_equal(scan.error, cases[i].what);
    }
}

/* An unterminated single-quoted f-string is a lexical error like an unterminated plain string
 * (CPython: "unterminated f-string literal"); its line still ends at the newline. */
static void test_unterminated_fstring_reported(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "x = f\"abc\nimport b\n",
        "x = f\"{a\nimport b\n",
        "x = f\"{a:x\nimport b\n",
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(cases); i++) {
        scan_str(cases[i]);
        assert_int_equal(scan.selected, 1); /* the import on line 2 is still found */
        if (scan.error_line != 1) {
            print_error("case %zu: error_line %u, expected 1\n", i, scan.error_line);
        }
        assert_int_equal(scan.error_line, 1);
        assert_non_null(scan.error);
        assert_string_equal(scan.error, "unterminated f-string");
    }
}

static void test_unterminated_string_keeps_next_line(void **state)
{
    (void)state;
    scan_str("x = 'abc\nimport b\n");
    /* the string stops at its newline, so line 2 is a logical line of its own */
    assert_int_equal(scan.selected, 1);
    assert_string_equal(skeleton(), "import b\n");
    static const uint32_t rows[] = {2};
    assert_rows(rows, 1);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* 100,000 open brackets, then nested f-strings: bounded work, no recursion. */
    size_t n = 100000;
    char *src = malloc(3 * n + 64);
    assert_non_null(src);
    char *p = src;
    p += sprintf(p, "x = ");
    memset(p, '(', n);
    p += n;
    p += sprintf(p, "\nimport a\n");
    assert_int_equal(ash__scan(&scan, src, (size_t)(p - src)), 0);
    assert_int_equal(scan.error_line, 1);
    assert_string_equal(scan.error, "unclosed bracket");

    p = src;
    p += sprintf(p, "x = ");
    for (size_t i = 0; i < n / 2; i++) {
        p += sprintf(p, "f\"{");
    }
    p += sprintf(p, "\nimport a\n");
    assert_int_equal(ash__scan(&scan, src, (size_t)(p - src)), 0);
    assert_int_equal(scan.selected, 1);

    p = src;
    memset(p, '[', n);
    p += n;
    memset(p, ']', n);
    p += n;
    p += sprintf(p, "\nimport a\n");
    assert_int_equal(ash__scan(&scan, src, (size_t)(p - src)), 0);
    assert_int_equal(scan.error_line, 0);
    assert_string_equal(skeleton(), "import a\n");
    free(src);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

typedef struct scan_case {
    const ash_buf *src;
    ash_scan scan;
} scan_case;

static int scan_attempt(void *payload)
{
    scan_case *c = payload;
    memset(&c->scan, 0, sizeof(c->scan));
    return ash__scan(&c->scan, c->src->ptr, c->src->len);
}

static int scan_cleanup(void *payload, int rc)
{
    scan_case *c = payload;
    if (rc == 0) {
        assert_int_equal(c->scan.selected, 300);
    }
    ash__scan_free(&c->scan);
    return 0;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* Large enough that every buffer grows more than once. */
    ash_buf src = ASH_BUF_INIT;
    for (int i = 0; i < 300; i++) {
        assert_int_equal(ash__buf_printf(&src,
                                         "class C%d:\n"
                                         "    if TYPE_CHECKING:\n"
                                         "        x = f\"{f'{a:{b}}'}\"; import m%d\n"
                                         "    try:\n"
                                         "        y = 1\n"
                                         "    except E:\n"
                                         "        pass\n",
                                         i, i),
                         0);
    }
    scan_case c = {.src = &src};
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(scan_attempt, scan_cleanup, &c);
    alloc_hook_remove();
    assert_true(failures > 0);
    ash__buf_free(&src);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, free_scan)
    const struct CMUnitTest tests[] = {
        T(test_skeleton_blocks),
        T(test_skeleton_pass_keeps_indentation),
        T(test_skeleton_multiline_logical_lines),
        T(test_skeleton_decorated_in_class),
        T(test_skeleton_clauses),
        T(test_skeleton_nothing_selected),
        T(test_skeleton_reuse),
        T(test_strings_are_not_split),
        T(test_brackets_join_lines),
        T(test_backslash_continuation),
        T(test_fstrings),
        T(test_fstring_code_is_scanned),
        T(test_unterminated_fstring_keeps_lines),
        T(test_triggers),
        T(test_indentation_columns),
        T(test_tabs_build_blocks),
        T(test_keyword_classes),
        T(test_soft_keywords_selected),
        T(test_opens_block),
        T(test_block_links),
        T(test_lexical_errors),
        T(test_unterminated_string_keeps_next_line),
        T(test_unterminated_fstring_reported),
        T(test_deep_nesting),
        T(test_alloc_failures),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
