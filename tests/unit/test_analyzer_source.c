/*
 * Unit tests of source decoding (analyzer/src/source.c): the UTF-8 fast path that borrows the
 * input, NUL bytes, the BOM, PEP 263 coding cookies (line 1, line 2 after a comment, `=` and
 * `:` forms, unknown names, BOM conflicts), invalid UTF-8 with its line, universal newlines,
 * the UTF-8 validator on every class of bad sequence, and allocation failures.
 */
#include "alloc_hook.h"
#include "source.h"
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

static ash_source src; /* the last decoded source; freed by the next decode and teardown */
static char diags[8][256];
static size_t diag_count;

static void collect(const char *path, const char *message, void *payload)
{
    assert_string_equal(path, "m.py");
    assert_ptr_equal(payload, &diag_count);
    if (diag_count < ASH_ARRAY_SIZE(diags)) {
        snprintf(diags[diag_count], sizeof(diags[0]), "%s", message);
    }
    diag_count++;
}

static int free_source(void **state)
{
    (void)state;
    ash__source_free(&src);
    return 0;
}

/* Decode data[0..len) into `src`; asserts success. */
static ash_source *decode_n(const char *data, size_t len)
{
    ash__source_free(&src);
    diag_count = 0;
    assert_int_equal(ash__source_decode(&src, data, len, "m.py", collect, &diag_count), 0);
    return &src;
}

static ash_source *decode(const char *data)
{
    return decode_n(data, strlen(data));
}

/* The decoded text is exactly `expected`. */
static void assert_text(const char *expected)
{
    assert_int_equal(src.len, strlen(expected));
    assert_memory_equal(src.text, expected, src.len);
}

/* Exactly one warning was sent, and it contains `part`. */
static void assert_one_diag(const char *part)
{
    assert_int_equal(diag_count, 1);
    if (!strstr(diags[0], part)) {
        print_error("warning \"%s\" does not contain \"%s\"\n", diags[0], part);
        fail();
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Plain UTF-8, NUL, BOM                                                                    */

static void test_utf8_borrowed(void **state)
{
    (void)state;
    const char *data = "import os\ns = 'h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'\n";
    decode(data);
    assert_ptr_equal(src.text, data); /* no copy on the common path */
    assert_null(src.owned);
    assert_int_equal(src.len, strlen(data));
    assert_int_equal(src.status, 0);
    assert_int_equal(diag_count, 0);
}

static void test_empty(void **state)
{
    (void)state;
    decode("");
    assert_int_equal(src.len, 0);
    assert_int_equal(src.status, 0);
    assert_int_equal(diag_count, 0);
}

static void test_nul_is_binary(void **state)
{
    (void)state;
    static const char data[] = "import os\n\0import sys\n";
    decode_n(data, sizeof(data) - 1);
    assert_int_equal(src.status, ASH_SOURCE_BINARY);
    assert_int_equal(src.len, 0);
    assert_one_diag("NUL");

    /* a NUL as the very last byte counts too */
    static const char last[] = "import os\n\0";
    decode_n(last, sizeof(last) - 1);
    assert_int_equal(src.status, ASH_SOURCE_BINARY);
    assert_int_equal(src.len, 0);
}

static void test_bom(void **state)
{
    (void)state;
    const char *data = "\xef\xbb\xbfimport os\n";
    decode(data);
    assert_ptr_equal(src.text, data + 3);
    assert_text("import os\n");
    assert_int_equal(src.status, 0);
    assert_int_equal(diag_count, 0);

    /* a BOM alone, and an incomplete one (invalid UTF-8) */
    decode("\xef\xbb\xbf");
    assert_int_equal(src.len, 0);
    assert_int_equal(src.status, 0);
    decode("\xef\xbbimport os\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
}

static void test_bom_with_cookie(void **state)
{
    (void)state;
    /* A BOM agrees with a UTF-8 cookie... */
    decode("\xef\xbb\xbf# -*- coding: utf-8 -*-\nimport os\n");
    assert_text("# -*- coding: utf-8 -*-\nimport os\n");
    assert_int_equal(src.status, 0);
    assert_int_equal(diag_count, 0);
    /* ...and contradicts any other: reported, read as UTF-8. */
    decode("\xef\xbb\xbf# coding: latin-1\ns = '\xc3\xa9'\n");
    assert_text("# coding: latin-1\ns = '\xc3\xa9'\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_one_diag("BOM");
    assert_non_null(strstr(diags[0], "latin-1"));
}

/* ---------------------------------------------------------------------------------------- */
/* Coding cookies                                                                           */

static void test_cookie_latin1(void **state)
{
    (void)state;
    decode("# -*- coding: latin-1 -*-\ns = '\xe9\xe8\xff'\nimport a\n");
    assert_text("# -*- coding: latin-1 -*-\ns = '\xc3\xa9\xc3\xa8\xc3\xbf'\nimport a\n");
    assert_non_null(src.owned);
    assert_int_equal(src.status, 0);
    assert_int_equal(diag_count, 0);
}

static void test_cookie_line2(void **state)
{
    (void)state;
    /* Emacs and vim forms, after a shebang or a blank line. */
    decode("#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-15 :\ns = '\xa4'\n");
    assert_text("#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-15 :\ns = "
                "'\xe2\x82\xac'\n");
    assert_int_equal(src.status, 0);

    decode("\n#coding=latin_1\ns = '\xe9'\n");
    assert_text("\n#coding=latin_1\ns = '\xc3\xa9'\n");
    assert_int_equal(src.status, 0);

    decode("  \t\n  # coding: Latin-1\ns = '\xe9'\n");
    assert_text("  \t\n  # coding: Latin-1\ns = '\xc3\xa9'\n");
}

static void test_cookie_ignored(void **state)
{
    (void)state;
    /* Line 1 is code: a cookie on line 2 does not count. The latin-1 byte is then invalid
     * UTF-8 on line 3. */
    decode("import os\n# coding: latin-1\ns = '\xe9'\n");
    assert_ptr_equal(src.owned, NULL);
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_one_diag("invalid UTF-8 at line 3");

    /* Line 3 is too late. */
    decode("#!/usr/bin/python\n# hello\n# coding: latin-1\ns = '\xe9'\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_one_diag("invalid UTF-8 at line 4");

    /* Not in a comment. */
    decode("s = 'coding: latin-1'\nt = '\xe9'\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);

    /* `coding` without `:` or `=`. */
    decode("# coding latin-1\ns = '\xe9'\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
}

static void test_cookie_utf8_names(void **state)
{
    (void)state;
    static const char *const files[] = {
        "# coding: utf-8\nimport os\n",     "# coding: UTF-8\nimport os\n",
        "# coding: utf_8\nimport os\n",     "# coding=utf8\nimport os\n",
        "# coding: utf-8-sig\nimport os\n",
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(files); i++) {
        decode(files[i]);
        assert_ptr_equal(src.text, files[i]); /* no conversion */
        assert_int_equal(src.status, 0);
        assert_int_equal(diag_count, 0);
    }
}

static void test_cookie_unknown(void **state)
{
    (void)state;
    decode("# -*- coding: klingon -*-\nimport a\n");
    assert_text("# -*- coding: klingon -*-\nimport a\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_one_diag("klingon");
}

static void test_cookie_bytes_invalid(void **state)
{
    (void)state;
    /* ascii cannot hold 0xE9: reported, then the bytes are read as UTF-8 (valid here). */
    decode("# coding: ascii\ns = '\xc3\xa9'\n");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_int_equal(diag_count, 1);
    assert_non_null(strstr(diags[0], "ascii"));
    assert_text("# coding: ascii\ns = '\xc3\xa9'\n");
}

static void test_cookie_with_crlf(void **state)
{
    (void)state;
    decode("# coding: latin-1\r\ns = '\xe9'\r\nimport a\r\n");
    assert_text("# coding: latin-1\ns = '\xc3\xa9'\nimport a\n");
    assert_int_equal(src.status, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Invalid UTF-8, newlines                                                                  */

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char *data = "import a\n\ns = '\xff'\nimport b\n";
    decode(data);
    assert_ptr_equal(src.text, data); /* kept as is: the scanner copes with any byte */
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_one_diag("invalid UTF-8 at line 3");
}

static void test_newlines(void **state)
{
    (void)state;
    decode("import a\r\nimport b\r\n");
    assert_text("import a\nimport b\n");
    assert_non_null(src.owned);
    decode("import a\rimport b\r");
    assert_text("import a\nimport b\n");
    decode("a\r\r\nb\n\rc\r");
    assert_text("a\n\nb\n\nc\n");
    decode("\r");
    assert_text("\n");
    assert_int_equal(src.status, 0);
    assert_int_equal(diag_count, 0);
}

/* The line of invalid UTF-8 counts newlines the universal way (lone CR, CRLF). */
static void test_invalid_utf8_line_with_cr_newlines(void **state)
{
    (void)state;
    decode("import a\rx = 1\rs = '\xff'\r");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_one_diag("invalid UTF-8 at line 3");

    decode("import a\r\n\r\rx = 1\r\ns = '\xff'\r\n");
    assert_one_diag("invalid UTF-8 at line 5");
}

/* The cookie lines are split the universal way too: with lone-CR newlines, a cookie on line 2
 * counts and one on line 3 does not (the 0xE9 byte is then invalid UTF-8, not latin-1). */
static void test_cookie_with_cr_newlines(void **state)
{
    (void)state;
    decode("#!/usr/bin/python\r# coding: latin-1\rs = '\xe9'\r");
    assert_int_equal(src.status, 0);
    assert_text("#!/usr/bin/python\n# coding: latin-1\ns = '\xc3\xa9'\n");

    decode("# first\rimport a\r# coding: latin-1\rs = '\xe9'\r");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
    assert_text("# first\nimport a\n# coding: latin-1\ns = '\xe9'\n");

    decode("import a\r# coding: latin-1\rs = '\xe9'\r");
    assert_int_equal(src.status, ASH_SOURCE_BAD_ENCODING);
}

/* ---------------------------------------------------------------------------------------- */
/* ash__utf8_check                                                                          */

static void test_utf8_check(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t bad; /* offset of the first invalid sequence; SIZE_MAX: valid */
    } cases[] = {
        {"", SIZE_MAX},
        {"plain ascii, longer than eight bytes", SIZE_MAX},
        {"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf", SIZE_MAX},
        {"\xed\x9f\xbf \xee\x80\x80", SIZE_MAX}, /* just around the surrogates */
        {"\x80", 0},                             /* stray continuation */
        {"abcdefghij\xbf", 10},                  /* after the 8-byte fast path */
        {"\xc0\x80", 0},                         /* overlong 2-byte */
        {"\xc1\xbf", 0},
        {"ab\xe0\x80\x80", 2}, /* overlong 3-byte */
        {"\xe0\x9f\xbf", 0},
        {"\xf0\x8f\xbf\xbf", 0}, /* overlong 4-byte */
        {"\xed\xa0\x80", 0},     /* surrogate */
        {"\xed\xbf\xbf", 0},
        {"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"abc\xe2\x82", 3}, /* truncated at the end */
        {"abc\xf0\x9f\x98", 3},
        {"x\xe2\x28\xa1", 1}, /* bad continuation */
        {"12345678\xc3\xa9"
         "12345678\xc3",
         18},
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(cases); i++) {
        size_t len = strlen(cases[i].s);
        size_t expected = cases[i].bad == SIZE_MAX ? len : cases[i].bad;
        size_t got = ash__utf8_check(cases[i].s, len);
        if (got != expected) {
            print_error("case %zu: %zu, expected %zu\n", i, got, expected);
        }
        assert_int_equal(got, expected);
    }
    /* a length that stops inside a sequence */
    assert_int_equal(ash__utf8_check("a\xc3\xa9", 2), 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

typedef struct decode_case {
    const char *text;
    ash_source source;
} decode_case;

static int decode_attempt(void *payload)
{
    decode_case *c = payload;
    return ash__source_decode(&c->source, c->text, strlen(c->text), "m.py", NULL, NULL);
}

static int decode_cleanup(void *payload, int rc)
{
    decode_case *c = payload;
    if (rc == 0) {
        assert_non_null(memchr(c->source.text, '\n', c->source.len));
        assert_null(memchr(c->source.text, '\r', c->source.len));
        ash__source_free(&c->source);
    }
    return 0;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    static const char *const files[] = {
        "# coding: latin-1\r\ns = '\xe9'\r\n", /* convert, then newlines in place */
        "import a\r\nimport b\r\n",            /* newlines into a new buffer */
        "import a\n",                          /* no allocation at all */
    };
    alloc_hook_install(-1);
    for (size_t f = 0; f < ASH_ARRAY_SIZE(files); f++) {
        decode_case c = {.text = files[f]};
        assert_true(alloc_hook_fail_each(decode_attempt, decode_cleanup, &c) >= 0);
    }
    alloc_hook_remove();
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, free_source)
    const struct CMUnitTest tests[] = {
        T(test_utf8_borrowed),
        T(test_empty),
        T(test_nul_is_binary),
        T(test_bom),
        T(test_bom_with_cookie),
        T(test_cookie_latin1),
        T(test_cookie_line2),
        T(test_cookie_ignored),
        T(test_cookie_utf8_names),
        T(test_cookie_unknown),
        T(test_cookie_bytes_invalid),
        T(test_cookie_with_crlf),
        T(test_invalid_utf8),
        T(test_newlines),
        T(test_invalid_utf8_line_with_cr_newlines),
        T(test_cookie_with_cr_newlines),
        T(test_utf8_check),
        T(test_alloc_failures),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
