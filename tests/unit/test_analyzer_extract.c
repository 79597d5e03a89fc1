/*
 * Unit tests of import extraction (analyzer/src/extract.c through ash_imports_parse and the
 * private extractor): every import form with its module, level, names, line and kind; imports
 * in every kind of block; the TYPE_CHECKING, optional and lazy flags; string imports
 * (importlib.import_module, __import__, pytest_plugins) and the literals that are refused;
 * decoding (cookies, BOM, CRLF, CR); 3.12 f-strings, docstrings and comments; syntax errors and
 * their warnings; binary and badly encoded files; adversarial nesting and a 200,000-line
 * file; and allocation failures at every allocation.
 *
 * Inputs that crash the process run in a child process, so that they fail their own test
 * instead of ending the whole run.
 */
#include "alloc_hook.h"
#include "extract.h"
#include "source.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <tree_sitter/api.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PLAIN = ASH_IMPORT_PLAIN, FROM = ASH_IMPORT_FROM, STRING = ASH_IMPORT_STRING };
enum { TC = ASH_IMPORT_TYPE_CHECKING, OPT = ASH_IMPORT_OPTIONAL, LAZY = ASH_IMPORT_LAZY };

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

static ash_imports *result; /* the last parse; freed by the next one and by the teardown */
static char diags[8][256];  /* warnings of the last parse */
static size_t diag_count;

static void collect(const char *path, const char *message, void *payload)
{
    (void)payload;
    assert_string_equal(path, "t.py"); /* warnings name the file they are about */
    if (diag_count < ASH_ARRAY_SIZE(diags)) {
        snprintf(diags[diag_count], sizeof(diags[0]), "%s", message);
    }
    diag_count++;
}

static int free_result(void **state)
{
    (void)state;
    ash_imports_free(result);
    result = NULL;
    return 0;
}

/* Extract the imports of src[0..len) into `result`; asserts success. */
static const ash_imports *parse_n(const char *src, size_t len)
{
    free_result(NULL);
    diag_count = 0;
    assert_int_equal(ash_imports_parse(&result, src, len, "t.py", collect, NULL), 0);
    assert_non_null(result);
    return result;
}

static const ash_imports *parse(const char *src)
{
    return parse_n(src, strlen(src));
}

/* Record i of `result` is exactly this; `names` comma-separated, NULL when there are none. */
static void expect_record(const char *file, int at, size_t i, int kind, uint32_t line,
                          uint32_t level, uint32_t flags, const char *module, const char *names,
                          const char *package)
{
    const ash_import *r = ash_imports_get(result, i);
    if (!r) {
        print_error("%s:%d: no record %zu (count %zu)\n", file, at, i, ash_imports_count(result));
        _fail(file, at);
    }
    char got[512];
    size_t n = (size_t)snprintf(got, sizeof(got), "kind=%d line=%u level=%u flags=%u module=%s",
                                (int)r->kind, r->line, r->level, r->flags, r->module);
    n += (size_t)snprintf(got + n, sizeof(got) - n, " names=");
    for (uint32_t k = 0; k < r->name_count; k++) {
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", k ? "," : "", r->names[k]);
    }
    if (r->name_count == 0) {
        n += (size_t)snprintf(got + n, sizeof(got) - n, "(none)");
    }
    snprintf(got + n, sizeof(got) - n, " package=%s", r->package ? r->package : "(null)");
    char want[512];
    snprintf(want, sizeof(want), "kind=%d line=%u level=%u flags=%u module=%s names=%s package=%s",
             kind, line, level, flags, module, names ? names : "(none)",
             package ? package : "(null)");
    if (strcmp(got, want) != 0) {
        print_error("record %zu:\n   got: %s\n  want: %s\n", i, got, want);
    }
    _assert_string_equal(got, want, file, at);
    /* no names means no array */
    _assert_int_equal(r->name_count == 0, r->names == NULL, file, at);
}

#define EXPECT(i, kind, line, level, flags, module, names)                                         \
    expect_record(__FILE__, __LINE__, i, kind, line, level, flags, module, names, NULL)
#define EXPECT_PKG(i, line, level, flags, module, package)                                         \
    expect_record(__FILE__, __LINE__, i, STRING, line, level, flags, module, NULL, package)

static void expect_count(size_t n)
{
    if (ash_imports_count(result) != n) {
        for (size_t i = 0; i < ash_imports_count(result); i++) {
            const ash_import *r = ash_imports_get(result, i);
            print_error("  record %zu: line %u module %s\n", i, r->line, r->module);
        }
    }
    assert_int_equal(ash_imports_count(result), n);
}

/* Some warning of the last parse contains `part`. */
static void expect_diag(const char *part)
{
    for (size_t i = 0; i < diag_count && i < ASH_ARRAY_SIZE(diags); i++) {
        if (strstr(diags[i], part)) {
            return;
        }
    }
    print_error("no warning contains \"%s\"; %zu warning(s)%s%s\n", part, diag_count,
                diag_count ? ", first: " : "", diag_count ? diags[0] : "");
    fail();
}

/*
 * Run `fn` in a child process and return its exit status (fn's result), or 128 + the signal
 * that killed it. Under ASan a crash exits with status 1 after its report. The child uses no
 * cmocka assertion (a failing one would carry on with the parent's remaining tests).
 */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches these to fail a test and carry on: here they must end the child */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        _exit(fn());
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Parse src[0..len) without cmocka: 0 on success (any records), 1 on failure. */
static int parse_quietly(const char *src, size_t len)
{
    ash_imports *imp = NULL;
    int rc = ash_imports_parse(&imp, src, len, "t.py", NULL, NULL);
    ash_imports_free(imp);
    return rc == 0 ? 0 : 1;
}

/* A file with every construct; its records are listed in test_every_construct. */
static const char every_construct[] =
    "\"\"\"Module docstring: import os\"\"\"\n"                 /* 1 */
    "from __future__ import annotations\n"                      /* 2 */
    "import a.b.c as abc, d\n"                                  /* 3 */
    "from .. import (e,\n"                                      /* 4 */
    "    f as g)\n"                                             /* 5 */
    "from typing import TYPE_CHECKING\n"                        /* 6 */
    "if TYPE_CHECKING:\n"                                       /* 7 */
    "    from h import H\n"                                     /* 8 */
    "else:\n"                                                   /* 9 */
    "    H = None\n"                                            /* 10 */
    "try:\n"                                                    /* 11 */
    "    import i\n"                                            /* 12 */
    "except (ImportError, ValueError):\n"                       /* 13 */
    "    i = None\n"                                            /* 14 */
    "@decorate(__import__(\"j\"))\n"                            /* 15 */
    "async def k(x=importlib.import_module(\"l\")):\n"          /* 16 */
    "    import m\n"                                            /* 17 */
    "    async with n:\n"                                       /* 18 */
    "        from . import o\n"                                 /* 19 */
    "    return lambda: __import__(\"p\")\n"                    /* 20 */
    "class Q:\n"                                                /* 21 */
    "    import r\n"                                            /* 22 */
    "    class R:\n"                                            /* 23 */
    "        def s(self):\n"                                    /* 24 */
    "            if TYPE_CHECKING:\n"                           /* 25 */
    "                import t\n"                                /* 26 */
    "for u in v:\n"                                             /* 27 */
    "    pass\n"                                                /* 28 */
    "else:\n"                                                   /* 29 */
    "    import w\n"                                            /* 30 */
    "while x:\n"                                                /* 31 */
    "    import y\n"                                            /* 32 */
    "else:\n"                                                   /* 33 */
    "    pass\n"                                                /* 34 */
    "with z() as zz:\n"                                         /* 35 */
    "    import aa\n"                                           /* 36 */
    "match cmd:\n"                                              /* 37 */
    "    case [1, 2]:\n"                                        /* 38 */
    "        import bb\n"                                       /* 39 */
    "    case _:\n"                                             /* 40 */
    "        pass\n"                                            /* 41 */
    "s = f\"{\"import no\"}\" + '''import no'''  # import no\n" /* 42 */
    "pytest_plugins = [\"cc\", \"dd.ee\"]\n"                    /* 43 */
    "importlib.import_module(\".ff\", package=\"gg\")\n";       /* 44 */

static void expect_every_construct(void)
{
    expect_count(21);
    EXPECT(0, FROM, 2, 0, 0, "__future__", "annotations");
    EXPECT(1, PLAIN, 3, 0, 0, "a.b.c", NULL);
    EXPECT(2, PLAIN, 3, 0, 0, "d", NULL);
    EXPECT(3, FROM, 4, 2, 0, "", "e,f");
    EXPECT(4, FROM, 6, 0, 0, "typing", "TYPE_CHECKING");
    EXPECT(5, FROM, 8, 0, TC, "h", "H");
    EXPECT(6, PLAIN, 12, 0, OPT, "i", NULL);
    EXPECT(7, STRING, 15, 0, 0, "j", NULL);
    EXPECT(8, STRING, 16, 0, 0, "l", NULL);
    EXPECT(9, PLAIN, 17, 0, LAZY, "m", NULL);
    EXPECT(10, FROM, 19, 1, LAZY, "", "o");
    EXPECT(11, STRING, 20, 0, LAZY, "p", NULL);
    EXPECT(12, PLAIN, 22, 0, 0, "r", NULL);
    EXPECT(13, PLAIN, 26, 0, LAZY | TC, "t", NULL);
    EXPECT(14, PLAIN, 30, 0, 0, "w", NULL);
    EXPECT(15, PLAIN, 32, 0, 0, "y", NULL);
    EXPECT(16, PLAIN, 36, 0, 0, "aa", NULL);
    EXPECT(17, PLAIN, 39, 0, 0, "bb", NULL);
    EXPECT(18, STRING, 43, 0, 0, "cc", NULL);
    EXPECT(19, STRING, 43, 0, 0, "dd.ee", NULL);
    EXPECT_PKG(20, 44, 1, 0, "ff", "gg");
}

/* ---------------------------------------------------------------------------------------- */
/* Import forms                                                                             */

static void test_plain_imports(void **state)
{
    (void)state;
    parse("import a.b.c\n"
          "import a.b.c as x\n"
          "import a, b\n"
          "import a . b\n"
          "import p.q as r, s as t, u\n");
    expect_count(8);
    EXPECT(0, PLAIN, 1, 0, 0, "a.b.c", NULL);
    EXPECT(1, PLAIN, 2, 0, 0, "a.b.c", NULL);
    EXPECT(2, PLAIN, 3, 0, 0, "a", NULL);
    EXPECT(3, PLAIN, 3, 0, 0, "b", NULL);
    EXPECT(4, PLAIN, 4, 0, 0, "a.b", NULL);
    EXPECT(5, PLAIN, 5, 0, 0, "p.q", NULL);
    EXPECT(6, PLAIN, 5, 0, 0, "s", NULL);
    EXPECT(7, PLAIN, 5, 0, 0, "u", NULL);
    assert_int_equal(ash_imports_status(result), 0);
    assert_int_equal(diag_count, 0);
}

static void test_from_imports(void **state)
{
    (void)state;
    parse("from a.b import c, d\n"
          "from a import (b as c,)\n"
          "from . import x\n"
          "from ..p.q import r\n"
          "from ... import w\n"
          "from .... import v\n"
          "from a import *\n"
          "from __future__ import annotations\n"
          "from . a import b\n"
          "from a . b import c as d, e\n"
          "from .m import *\n");
    expect_count(11);
    EXPECT(0, FROM, 1, 0, 0, "a.b", "c,d");
    EXPECT(1, FROM, 2, 0, 0, "a", "b");
    EXPECT(2, FROM, 3, 1, 0, "", "x");
    EXPECT(3, FROM, 4, 2, 0, "p.q", "r");
    EXPECT(4, FROM, 5, 3, 0, "", "w");
    EXPECT(5, FROM, 6, 4, 0, "", "v");
    EXPECT(6, FROM, 7, 0, 0, "a", "*");
    EXPECT(7, FROM, 8, 0, 0, "__future__", "annotations");
    EXPECT(8, FROM, 9, 1, 0, "a", "b");
    EXPECT(9, FROM, 10, 0, 0, "a.b", "c,e");
    EXPECT(10, FROM, 11, 1, 0, "m", "*");
    assert_int_equal(ash_imports_status(result), 0);
}

static void test_future_star(void **state)
{
    (void)state;
    /* ast accepts it, tree-sitter's grammar does not: read back from the ERROR node. */
    parse("import a\nfrom __future__ import *\n");
    expect_count(2);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, FROM, 2, 0, 0, "__future__", "*");
}

/*
 * when `from __future__ import *` is followed by another statement, tree-sitter's
 * recovery folds that statement into the future import, and the record gets the next
 * import's name instead of "*" (the next import is lost); with code in between the names are
 * empty.
 */
static void test_future_star_recovered(void **state)
{
    (void)state;
    parse("from __future__ import *\nimport a\n");
    expect_count(2);
    EXPECT(0, FROM, 1, 0, 0, "__future__", "*");
    EXPECT(1, PLAIN, 2, 0, 0, "a", NULL);

    /* here tree-sitter's recovery gives the `*` to the next statement: the module and the
     * statements around it are still right */
    parse("import x\nfrom __future__ import *\nx = 1\nimport b\n");
    expect_count(3);
    EXPECT(1, FROM, 2, 0, 0, "__future__", NULL);
    EXPECT(2, PLAIN, 4, 0, 0, "b", NULL);
}

static void test_multiline_imports(void **state)
{
    (void)state;
    parse("from a import (\n"
          "    b,  # comment\n"
          "    c as d,\n"
          "    # another\n"
          "    e,\n"
          ")\n"
          "import f, \\\n"
          "    g\n"
          "from \\\n"
          "    h \\\n"
          "    import \\\n"
          "    i\n"
          "from .\\\n"
          ". import j\n"
          "import k\n");
    expect_count(6);
    EXPECT(0, FROM, 1, 0, 0, "a", "b,c,e");
    EXPECT(1, PLAIN, 7, 0, 0, "f", NULL);
    EXPECT(2, PLAIN, 7, 0, 0, "g", NULL);
    EXPECT(3, FROM, 9, 0, 0, "h", "i");
    EXPECT(4, FROM, 13, 2, 0, "", "j");
    EXPECT(5, PLAIN, 15, 0, 0, "k", NULL);
}

static void test_one_line_statements(void **state)
{
    (void)state;
    parse("import a; import b\n"
          "if x: import y\n"
          "x = 1; from c import d; z = 2\n"
          "try: import e\n"
          "except ImportError: import f\n"
          "def g(): import h\n"
          "class C: import i\n"
          "while w: import j\n");
    expect_count(9);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 1, 0, 0, "b", NULL);
    EXPECT(2, PLAIN, 2, 0, 0, "y", NULL);
    EXPECT(3, FROM, 3, 0, 0, "c", "d");
    EXPECT(4, PLAIN, 4, 0, OPT, "e", NULL);
    EXPECT(5, PLAIN, 5, 0, 0, "f", NULL);
    EXPECT(6, PLAIN, 6, 0, LAZY, "h", NULL);
    EXPECT(7, PLAIN, 7, 0, 0, "i", NULL);
    EXPECT(8, PLAIN, 8, 0, 0, "j", NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Anywhere in the file                                                                     */

static void test_every_construct(void **state)
{
    (void)state;
    parse(every_construct);
    expect_every_construct();
    assert_int_equal(ash_imports_status(result), 0);
    assert_int_equal(diag_count, 0);
}

static void test_blocks(void **state)
{
    (void)state;
    parse("if a:\n"
          "    import b1\n"
          "elif c:\n"
          "    import b2\n"
          "else:\n"
          "    import b3\n"
          "try:\n"
          "    pass\n"
          "except E:\n"
          "    import b4\n"
          "else:\n"
          "    import b5\n"
          "finally:\n"
          "    import b6\n"
          "async def f():\n"
          "    async for q in r:\n"
          "        import b7\n"
          "    else:\n"
          "        import b8\n"
          "class A:\n"
          "    class B:\n"
          "        class C:\n"
          "            import b9\n"
          "    @deco(__import__(\"b10\"))\n"
          "    @other(importlib.import_module(\"b11\"))\n"
          "    def m(self, f=lambda: __import__(\"b12\")):\n"
          "        pass\n"
          "x = [lambda: __import__(\"b13\") for _ in y]\n"
          "with a as b, c as d:\n"
          "    import b14\n"
          "match p:\n"
          "    case {\"k\": v} if v:\n"
          "        from b15 import z\n");
    expect_count(15);
    EXPECT(0, PLAIN, 2, 0, 0, "b1", NULL);
    EXPECT(1, PLAIN, 4, 0, 0, "b2", NULL);
    EXPECT(2, PLAIN, 6, 0, 0, "b3", NULL);
    EXPECT(3, PLAIN, 10, 0, 0, "b4", NULL);
    EXPECT(4, PLAIN, 12, 0, 0, "b5", NULL);
    EXPECT(5, PLAIN, 14, 0, 0, "b6", NULL);
    EXPECT(6, PLAIN, 17, 0, LAZY, "b7", NULL);
    EXPECT(7, PLAIN, 19, 0, LAZY, "b8", NULL);
    EXPECT(8, PLAIN, 23, 0, 0, "b9", NULL);
    EXPECT(9, STRING, 24, 0, 0, "b10", NULL);
    EXPECT(10, STRING, 25, 0, 0, "b11", NULL);
    EXPECT(11, STRING, 26, 0, LAZY, "b12", NULL);
    EXPECT(12, STRING, 28, 0, LAZY, "b13", NULL);
    EXPECT(13, PLAIN, 30, 0, 0, "b14", NULL);
    EXPECT(14, FROM, 33, 0, 0, "b15", "z");
}

/* ---------------------------------------------------------------------------------------- */
/* Flags                                                                                    */

static void test_type_checking(void **state)
{
    (void)state;
    parse("if TYPE_CHECKING:\n"          /* 1 */
          "    import a\n"               /* 2 */
          "else:\n"                      /* 3 */
          "    import b\n"               /* 4 */
          "if typing.TYPE_CHECKING:\n"   /* 5 */
          "    import c\n"               /* 6 */
          "    if x:\n"                  /* 7 */
          "        import c2\n"          /* 8 */
          "if not TYPE_CHECKING:\n"      /* 9 */
          "    import d\n"               /* 10 */
          "else:\n"                      /* 11 */
          "    import e\n"               /* 12 */
          "if x:\n"                      /* 13 */
          "    import f\n"               /* 14 */
          "elif TYPE_CHECKING:\n"        /* 15 */
          "    import g\n"               /* 16 */
          "else:\n"                      /* 17 */
          "    import h\n"               /* 18 */
          "def fn():\n"                  /* 19 */
          "    if TYPE_CHECKING:\n"      /* 20 */
          "        import i\n"           /* 21 */
          "class K:\n"                   /* 22 */
          "    if TYPE_CHECKING:\n"      /* 23 */
          "        import j\n"           /* 24 */
          "if TYPE_CHECKING:\n"          /* 25 */
          "    try:\n"                   /* 26 */
          "        import k\n"           /* 27 */
          "    except ImportError:\n"    /* 28 */
          "        pass\n"               /* 29 */
          "if TYPE_CHECKING: import l\n" /* 30 */
          "else: import m\n"             /* 31 */
          "if TYPE_CHECKING_X:\n"        /* 32 */
          "    import n\n"               /* 33 */
          "if TYPE_CHECKING or x:\n"     /* 34 */
          "    import o\n");             /* 35 */
    expect_count(16);
    EXPECT(0, PLAIN, 2, 0, TC, "a", NULL);
    EXPECT(1, PLAIN, 4, 0, 0, "b", NULL);
    EXPECT(2, PLAIN, 6, 0, TC, "c", NULL);
    EXPECT(3, PLAIN, 8, 0, TC, "c2", NULL);
    EXPECT(4, PLAIN, 10, 0, 0, "d", NULL);
    EXPECT(5, PLAIN, 12, 0, TC, "e", NULL);
    EXPECT(6, PLAIN, 14, 0, 0, "f", NULL);
    EXPECT(7, PLAIN, 16, 0, TC, "g", NULL);
    EXPECT(8, PLAIN, 18, 0, 0, "h", NULL);
    EXPECT(9, PLAIN, 21, 0, TC | LAZY, "i", NULL);
    EXPECT(10, PLAIN, 24, 0, TC, "j", NULL);
    EXPECT(11, PLAIN, 27, 0, TC | OPT, "k", NULL);
    EXPECT(12, PLAIN, 30, 0, TC, "l", NULL);
    EXPECT(13, PLAIN, 31, 0, 0, "m", NULL);
    EXPECT(14, PLAIN, 33, 0, 0, "n", NULL);
    EXPECT(15, PLAIN, 35, 0, 0, "o", NULL);
}

/*
 * after `if not TYPE_CHECKING:`, an `elif` branch, like the `else`, only runs when
 * TYPE_CHECKING is true (never at run time), but only the `else` is flagged.
 */
static void test_elif_after_not_type_checking(void **state)
{
    (void)state;
    parse("if not TYPE_CHECKING:\n"
          "    pass\n"
          "elif x:\n"
          "    import j\n"
          "else:\n"
          "    import k\n");
    expect_count(2);
    EXPECT(1, PLAIN, 6, 0, TC, "k", NULL);
    EXPECT(0, PLAIN, 4, 0, TC, "j", NULL);
}

/* a parenthesised condition, `if (TYPE_CHECKING):`, is not recognised. */
static void test_parenthesized_type_checking(void **state)
{
    (void)state;
    parse("if (TYPE_CHECKING):\n"
          "    import a\n"
          "if (not TYPE_CHECKING):\n"
          "    pass\n"
          "else:\n"
          "    import b\n");
    expect_count(2);
    EXPECT(0, PLAIN, 2, 0, TC, "a", NULL);
    EXPECT(1, PLAIN, 6, 0, TC, "b", NULL);
}

static void test_optional(void **state)
{
    (void)state;
    parse("try:\n"                                      /* 1 */
          "    import a\n"                              /* 2 */
          "except ImportError:\n"                       /* 3 */
          "    import b\n"                              /* 4 */
          "else:\n"                                     /* 5 */
          "    import c\n"                              /* 6 */
          "finally:\n"                                  /* 7 */
          "    import d\n"                              /* 8 */
          "try:\n"                                      /* 9 */
          "    import e\n"                              /* 10 */
          "except ModuleNotFoundError:\n"               /* 11 */
          "    pass\n"                                  /* 12 */
          "try:\n"                                      /* 13 */
          "    import f\n"                              /* 14 */
          "except (ValueError, ImportError):\n"         /* 15 */
          "    pass\n"                                  /* 16 */
          "try:\n"                                      /* 17 */
          "    import g\n"                              /* 18 */
          "except ImportError as exc:\n"                /* 19 */
          "    pass\n"                                  /* 20 */
          "try:\n"                                      /* 21 */
          "    import h\n"                              /* 22 */
          "except:\n"                                   /* 23 */
          "    pass\n"                                  /* 24 */
          "try:\n"                                      /* 25 */
          "    import i\n"                              /* 26 */
          "except Exception:\n"                         /* 27 */
          "    pass\n"                                  /* 28 */
          "try:\n"                                      /* 29 */
          "    import j\n"                              /* 30 */
          "except ValueError:\n"                        /* 31 */
          "    pass\n"                                  /* 32 */
          "try:\n"                                      /* 33 */
          "    import k\n"                              /* 34 */
          "except ValueError:\n"                        /* 35 */
          "    pass\n"                                  /* 36 */
          "except builtins.ImportError:\n"              /* 37 */
          "    pass\n"                                  /* 38 */
          "try:\n"                                      /* 39 */
          "    import l\n"                              /* 40 */
          "except* ImportError:\n"                      /* 41 */
          "    pass\n"                                  /* 42 */
          "try:\n"                                      /* 43 */
          "    import m\n"                              /* 44 */
          "finally:\n"                                  /* 45 */
          "    pass\n"                                  /* 46 */
          "try:\n"                                      /* 47 */
          "    pass\n"                                  /* 48 */
          "except ImportError:\n"                       /* 49 */
          "    try:\n"                                  /* 50 */
          "        import n\n"                          /* 51 */
          "    except ImportError:\n"                   /* 52 */
          "        n = None\n"                          /* 53 */
          "def fn():\n"                                 /* 54 */
          "    try:\n"                                  /* 55 */
          "        import o\n"                          /* 56 */
          "        if p:\n"                             /* 57 */
          "            import q\n"                      /* 58 */
          "    except (ImportError, OSError) as exc:\n" /* 59 */
          "        pass\n");                            /* 60 */
    expect_count(16);
    EXPECT(0, PLAIN, 2, 0, OPT, "a", NULL);
    EXPECT(1, PLAIN, 4, 0, 0, "b", NULL);
    EXPECT(2, PLAIN, 6, 0, 0, "c", NULL);
    EXPECT(3, PLAIN, 8, 0, 0, "d", NULL);
    EXPECT(4, PLAIN, 10, 0, OPT, "e", NULL);
    EXPECT(5, PLAIN, 14, 0, OPT, "f", NULL);
    EXPECT(6, PLAIN, 18, 0, OPT, "g", NULL);
    EXPECT(7, PLAIN, 22, 0, OPT, "h", NULL);
    EXPECT(8, PLAIN, 26, 0, OPT, "i", NULL);
    EXPECT(9, PLAIN, 30, 0, 0, "j", NULL);
    EXPECT(10, PLAIN, 34, 0, OPT, "k", NULL);
    EXPECT(11, PLAIN, 40, 0, OPT, "l", NULL);
    EXPECT(12, PLAIN, 44, 0, 0, "m", NULL);
    EXPECT(13, PLAIN, 51, 0, OPT, "n", NULL);
    EXPECT(14, PLAIN, 56, 0, OPT | LAZY, "o", NULL);
    EXPECT(15, PLAIN, 58, 0, OPT | LAZY, "q", NULL);
}

static void test_lazy(void **state)
{
    (void)state;
    parse("@d(__import__(\"a\"))\n" /* 1 */
          "def f(x=__import__(\"b\"), *, y: __import__(\"c\") = 1) -> __import__(\"d\"):\n"
          "    import e\n"                                      /* 3 */
          "    class Inner:\n"                                  /* 4 */
          "        import f2\n"                                 /* 5 */
          "    def g():\n"                                      /* 6 */
          "        import h\n"                                  /* 7 */
          "class C:\n"                                          /* 8 */
          "    import i\n"                                      /* 9 */
          "    def m(self):\n"                                  /* 10 */
          "        import j\n"                                  /* 11 */
          "    k = lambda self: __import__(\"k\")\n"            /* 12 */
          "l = lambda z=__import__(\"l\"): __import__(\"m\")\n" /* 13 */
          "async def n():\n"                                    /* 14 */
          "    import o\n");                                    /* 15 */
    expect_count(13);
    EXPECT(0, STRING, 1, 0, 0, "a", NULL);
    EXPECT(1, STRING, 2, 0, 0, "b", NULL);
    EXPECT(2, STRING, 2, 0, 0, "c", NULL);
    EXPECT(3, STRING, 2, 0, 0, "d", NULL);
    EXPECT(4, PLAIN, 3, 0, LAZY, "e", NULL);
    EXPECT(5, PLAIN, 5, 0, LAZY, "f2", NULL);
    EXPECT(6, PLAIN, 7, 0, LAZY, "h", NULL);
    EXPECT(7, PLAIN, 9, 0, 0, "i", NULL);
    EXPECT(8, PLAIN, 11, 0, LAZY, "j", NULL);
    EXPECT(9, STRING, 12, 0, LAZY, "k", NULL);
    EXPECT(10, STRING, 13, 0, 0, "l", NULL);
    EXPECT(11, STRING, 13, 0, LAZY, "m", NULL);
    EXPECT(12, PLAIN, 15, 0, LAZY, "o", NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* String imports                                                                           */

static void test_string_imports(void **state)
{
    (void)state;
    parse("importlib.import_module(\"a.b\")\n"                          /* 1 */
          "import_module(\".x\", package=\"a.b\")\n"                    /* 2 */
          "importlib.import_module(\"..y\", \"pkg.sub\")\n"             /* 3 */
          "__import__(\"a.b\")\n"                                       /* 4 */
          "__import__(\"x\", globals(), locals(), [\"y\", \"z\"], 0)\n" /* 5 */
          "importlib.import_module(name=\"kw.mod\")\n"                  /* 6 */
          "importlib.import_module('single')\n"                         /* 7 */
          "importlib.import_module(r\"raw.mod\")\n"                     /* 8 */
          "importlib.import_module(\"con\" \"cat.mod\")\n"              /* 9 */
          "importlib.import_module((\"paren\"))\n"                      /* 10 */
          "importlib.import_module(\"abs\", \"ignored\")\n"             /* 11 */
          "importlib.import_module(\".rel\", package=pkg)\n"            /* 12 */
          "__import__(\"f\", fromlist=(\"g\",), level=1)\n"             /* 13 */
          "__import__(\"h\", None, None, [\"i\"], 2)\n"                 /* 14 */
          "importlib.import_module(\n"                                  /* 15 */
          "    \"multi\")\n"
          "m = importlib.import_module(\"\\u00e9t\\u00e9\") or "
          "importlib.import_module(\"\xc3\xa9t\xc3\xa9\")\n");
    expect_count(16);
    EXPECT(0, STRING, 1, 0, 0, "a.b", NULL);
    EXPECT_PKG(1, 2, 1, 0, "x", "a.b");
    EXPECT_PKG(2, 3, 2, 0, "y", "pkg.sub");
    EXPECT(3, STRING, 4, 0, 0, "a.b", NULL);
    EXPECT(4, STRING, 5, 0, 0, "x", "y,z");
    EXPECT(5, STRING, 6, 0, 0, "kw.mod", NULL);
    EXPECT(6, STRING, 7, 0, 0, "single", NULL);
    EXPECT(7, STRING, 8, 0, 0, "raw.mod", NULL);
    EXPECT(8, STRING, 9, 0, 0, "concat.mod", NULL);
    EXPECT(9, STRING, 10, 0, 0, "paren", NULL);
    EXPECT(10, STRING, 11, 0, 0, "abs", NULL); /* absolute: the package is not kept */
    EXPECT(11, STRING, 12, 1, 0, "rel", NULL); /* not a literal: resolved from the file */
    EXPECT(12, STRING, 13, 1, 0, "f", "g");
    EXPECT(13, STRING, 14, 2, 0, "h", "i");
    EXPECT(14, STRING, 15, 0, 0, "multi", NULL);
    EXPECT(15, STRING, 17, 0, 0, "\xc3\xa9t\xc3\xa9", NULL); /* escapes refused, UTF-8 kept */
}

static void test_string_imports_refused(void **state)
{
    (void)state;
    parse("importlib.import_module(f\"a{b}\")\n"
          "importlib.import_module(f\"plain\")\n"
          "importlib.import_module(b\"bytes\")\n"
          "importlib.import_module(t\"tmpl\")\n"
          "importlib.import_module(name)\n"
          "importlib.import_module(\"a\\x2eb\")\n"
          "importlib.import_module(\"a\\\\b\")\n"
          "importlib.import_module(\"a..b\")\n"
          "importlib.import_module(\"1a\")\n"
          "importlib.import_module(\"a.1b\")\n"
          "importlib.import_module(\"a.\")\n"
          "importlib.import_module(\"a-b\")\n"
          "importlib.import_module(\"a b\")\n"
          "importlib.import_module(\"\")\n"
          "importlib.import_module()\n"
          "importlib.import_module(\"a\" + \"b\")\n"
          "importlib.import_module(\"x\" f\"{y}\")\n"
          "__import__(\".rel\")\n"
          "__import__(x)\n"
          "import_modules(\"no\")\n"
          "x.__import__\n"
          "s = \"importlib.import_module('no')\"\n"
          "def f():\n"
          "    pytest_plugins = [\"in.function\"]\n"
          "class C:\n"
          "    pytest_plugins = [\"in.klass\"]\n"
          "pytest_plugins = [f\"no{x}\", b\"no\", \"..rel\", \"a..b\", name]\n"
          "pytest_plugin = [\"typo\"]\n"
          "other = pytest_plugins = [\"chained\"]\n"
          "pytest_plugins.append(\"appended\")\n"
          "import ok\n");
    expect_count(1);
    EXPECT(0, PLAIN, 31, 0, 0, "ok", NULL);
}

static void test_pytest_plugins(void **state)
{
    (void)state;
    parse("pytest_plugins = \"a.b\"\n"            /* 1 */
          "pytest_plugins = [\"c\", \"d.e\"]\n"   /* 2 */
          "pytest_plugins = (\"f\", \"g\")\n"     /* 3 */
          "pytest_plugins = (\"h\")\n"            /* 4 */
          "pytest_plugins += [\"i\"]\n"           /* 5 */
          "pytest_plugins: list = [\"j\"]\n"      /* 6 */
          "if x:\n"                               /* 7 */
          "    pytest_plugins = [\"k\"]\n"        /* 8 */
          "try:\n"                                /* 9 */
          "    pytest_plugins = \"l\"\n"          /* 10 */
          "except ImportError:\n"                 /* 11 */
          "    pass\n"                            /* 12 */
          "pytest_plugins = [\"m\",  # comment\n" /* 13 */
          "]\n");
    expect_count(11);
    EXPECT(0, STRING, 1, 0, 0, "a.b", NULL);
    EXPECT(1, STRING, 2, 0, 0, "c", NULL);
    EXPECT(2, STRING, 2, 0, 0, "d.e", NULL);
    EXPECT(3, STRING, 3, 0, 0, "f", NULL);
    EXPECT(4, STRING, 3, 0, 0, "g", NULL);
    EXPECT(5, STRING, 4, 0, 0, "h", NULL);
    EXPECT(6, STRING, 5, 0, 0, "i", NULL);
    EXPECT(7, STRING, 6, 0, 0, "j", NULL);
    EXPECT(8, STRING, 8, 0, 0, "k", NULL);
    EXPECT(9, STRING, 10, 0, OPT, "l", NULL);
    EXPECT(10, STRING, 13, 0, 0, "m", NULL);
}

/* a bare tuple (`pytest_plugins = "a", "b"`, an expression_list) gives no record. */
static void test_pytest_plugins_bare_tuple(void **state)
{
    (void)state;
    parse("pytest_plugins = \"a\", \"b\"\n");
    expect_count(2);
    EXPECT(0, STRING, 1, 0, 0, "a", NULL);
    EXPECT(1, STRING, 1, 0, 0, "b", NULL);
}

/*
 * analyzer.h says `line` is where the statement (or the call) starts: every element of a
 * multi-line pytest_plugins list gets the line of the assignment.
 */
static void test_pytest_plugins_line(void **state)
{
    (void)state;
    parse("pytest_plugins = [\n"
          "    \"a\",\n"
          "    \"b\",\n"
          "]\n");
    expect_count(2);
    EXPECT(0, STRING, 1, 0, 0, "a", NULL);
    EXPECT(1, STRING, 1, 0, 0, "b", NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Text handling                                                                            */

static void test_latin1_cookie(void **state)
{
    (void)state;
    parse("# -*- coding: latin-1 -*-\n"
          "s = '\xe9\xe8\xe0 import no'\n"
          "t = \"\xff\"; import a\n"
          "from b import c\n");
    expect_count(2);
    EXPECT(0, PLAIN, 3, 0, 0, "a", NULL);
    EXPECT(1, FROM, 4, 0, 0, "b", "c");
    assert_int_equal(ash_imports_status(result), 0);
    assert_int_equal(diag_count, 0);

    /* on line 2 after a comment line, with CRLF */
    parse("#!/usr/bin/env python\r\n"
          "# vim: set fileencoding=latin-1 :\r\n"
          "s = '\xe9'\r\n"
          "import d\r\n");
    expect_count(1);
    EXPECT(0, PLAIN, 4, 0, 0, "d", NULL);
    assert_int_equal(ash_imports_status(result), 0);
}

static void test_bom_and_newlines(void **state)
{
    (void)state;
    parse("\xef\xbb\xbfimport a\n");
    expect_count(1);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    assert_int_equal(ash_imports_status(result), 0);

    parse("import a\r\n"
          "x = '''\r\n"
          "import no\r\n"
          "'''\r\n"
          "if TYPE_CHECKING:\r\n"
          "    from b import (c,\r\n"
          "        d)\r\n"
          "import e\r\n");
    expect_count(3);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, FROM, 6, 0, TC, "b", "c,d");
    EXPECT(2, PLAIN, 8, 0, 0, "e", NULL);

    parse("import a\rx = 1\r\rif y:\r    import b\rimport c");
    expect_count(3);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 5, 0, 0, "b", NULL);
    EXPECT(2, PLAIN, 6, 0, 0, "c", NULL);
    assert_int_equal(ash_imports_status(result), 0);
}

static void test_tabs_and_form_feeds(void **state)
{
    (void)state;
    parse("def f():\n"
          "\tif TYPE_CHECKING:\n"
          "\t\timport a\n"
          "\tx = 1\n"
          "\timport b\n"
          "\f\n"
          "\fimport c\n"
          "class C:\n"
          "\f    if TYPE_CHECKING:\n"
          "        \timport d\n");
    expect_count(4);
    EXPECT(0, PLAIN, 3, 0, LAZY | TC, "a", NULL);
    EXPECT(1, PLAIN, 5, 0, LAZY, "b", NULL);
    EXPECT(2, PLAIN, 7, 0, 0, "c", NULL);
    EXPECT(3, PLAIN, 10, 0, TC, "d", NULL);
    assert_int_equal(ash_imports_status(result), 0);
}

static void test_fstrings(void **state)
{
    (void)state;
    parse("a = f\"{\"import x\"}\"\n"
          "import b1\n"
          "c = f\"{x:{y}}\"\n"
          "import b2\n"
          "d = f\"{'{'}\"\n"
          "import b3\n"
          "e = f\"{d[\"k\"]!r:>{w}}\"\n"
          "import b4\n"
          "g = f'''{\n"
          "    \"import w\"\n"
          "}''' + f\"{{import}}\"\n"
          "import b5\n"
          "h = f\"{f\"{f\"{\"import z\"}\"}\"}\"; import b6\n");
    expect_count(6);
    static const uint32_t lines[] = {2, 4, 6, 8, 12, 13};
    for (size_t i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof(name), "b%zu", i + 1);
        EXPECT(i, PLAIN, lines[i], 0, 0, name, NULL);
    }
    assert_int_equal(ash_imports_status(result), 0);
    assert_int_equal(diag_count, 0);
}

static void test_strings_and_comments(void **state)
{
    (void)state;
    parse("\"\"\"import os\n"
          "from a import b\n"
          "\"\"\"\n"
          "def f():\n"
          "    '''import sys'''\n"
          "    # import re\n"
          "    return 'import json'\n"
          "# from x import y\n"
          "s = r'import \\' still a string'\n"
          "t = '''it''' 'import no'\n"
          "import real  # import not_this\n");
    expect_count(1);
    EXPECT(0, PLAIN, 11, 0, 0, "real", NULL);
}

static void test_match_soft_keyword(void **state)
{
    (void)state;
    parse("match = 1\n"
          "match(x)\n"
          "case = match\n"
          "import a\n"
          "match command.split():\n"
          "    case [\"go\", direction]:\n"
          "        import b\n"
          "    case _:\n"
          "        from c import d\n");
    expect_count(3);
    EXPECT(0, PLAIN, 4, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 7, 0, 0, "b", NULL);
    EXPECT(2, FROM, 9, 0, 0, "c", "d");
    assert_int_equal(ash_imports_status(result), 0);
}

static void test_pep695(void **state)
{
    (void)state;
    parse("type X = int\n"
          "type Y[T] = list[T]\n"
          "def f[T](x: T): import y\n"
          "class C[T]: import z\n"
          "def g[T: (int, str)]():\n"
          "    import w\n");
    expect_count(3);
    EXPECT(0, PLAIN, 3, 0, LAZY, "y", NULL);
    EXPECT(1, PLAIN, 4, 0, 0, "z", NULL);
    EXPECT(2, PLAIN, 6, 0, LAZY, "w", NULL);
    assert_int_equal(ash_imports_status(result), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Syntax errors and bad files                                                              */

static void test_syntax_error_after_imports(void **state)
{
    (void)state;
    parse("import a\n"
          "def f(:\n"
          "    pass\n"
          "import b\n");
    expect_count(2);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 4, 0, 0, "b", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    assert_int_equal(diag_count, 1);
    expect_diag("syntax error at line 2");
}

static void test_syntax_error_before_imports(void **state)
{
    (void)state;
    parse("x = 'unterminated\n"
          "import a\n"
          "if TYPE_CHECKING:\n"
          "    import b\n");
    expect_count(2);
    EXPECT(0, PLAIN, 2, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 4, 0, TC, "b", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 1");
}

static void test_syntax_error_in_import_lines(void **state)
{
    (void)state;
    /* The skeleton does not parse: the whole file is parsed and tree-sitter's recovery keeps
     * what it can. */
    parse("import a\n"
          "x = 1\n"
          "import b as\n"
          "y = 2\n"
          "import c\n");
    assert_true(ash_imports_count(result) >= 2);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    const ash_import *last = ash_imports_get(result, ash_imports_count(result) - 1);
    assert_string_equal(last->module, "c");
    assert_int_equal(last->line, 5);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 3");
}

static void test_unclosed_bracket(void **state)
{
    (void)state;
    parse("import a\nx = (1,\nimport b\n");
    assert_true(ash_imports_count(result) >= 1);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 2");

    /* nothing selected: still reported */
    parse("x = [1,\n  2\n");
    expect_count(0);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 1");
}

static void test_unterminated_strings(void **state)
{
    (void)state;
    parse("import a\nx = \"abc\nimport b\n");
    expect_count(2);
    EXPECT(1, PLAIN, 3, 0, 0, "b", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 2");

    parse("x = f\"abc\nimport a\ny = f\"{b\n");
    expect_count(1);
    EXPECT(0, PLAIN, 2, 0, 0, "a", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 1");

    parse("import a\ns = '''\nimport no\n");
    expect_count(1);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 2");
}

/*
 * only lexical errors (brackets, strings) outside the import lines are noticed; any
 * other syntax error there leaves the status clean and sends no warning, although
 * ASH_SOURCE_SYNTAX_ERROR promises "parts did not parse".
 */
/*
 * Only import lines and the headers around them are parsed (that is what makes extraction
 * fast), so a grammar error elsewhere gets no warning: Python reports it. Lexical errors
 * anywhere (unclosed brackets and strings) are found by the scan and do get one. Either way
 * the imports are right.
 */
static void test_syntax_error_outside_import_lines(void **state)
{
    (void)state;
    static const char *const grammar[] = {
        "x = = 1\nimport a\n",
        "import a\nclass\n",
        "import a\ndef f():\nreturn 1\n",
    };
    for (size_t i = 0; i < ASH_ARRAY_SIZE(grammar); i++) {
        parse(grammar[i]);
        expect_count(1);
        EXPECT(0, PLAIN, i == 0 ? 2 : 1, 0, 0, "a", NULL);
        assert_int_equal(ash_imports_status(result), 0);
    }
    parse("x = (1,\nimport a\n");
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    expect_diag("syntax error at line 1");
}

static void test_binary(void **state)
{
    (void)state;
    static const char data[] = "import a\n\0import b\n";
    parse_n(data, sizeof(data) - 1);
    expect_count(0);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_BINARY);
    assert_int_equal(diag_count, 1);
    expect_diag("NUL");
}

static void test_bad_encoding(void **state)
{
    (void)state;
    parse("import a\ns = '\xff\xfe'\nimport b\n");
    expect_count(2);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 3, 0, 0, "b", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_BAD_ENCODING);
    assert_int_equal(diag_count, 1);
    expect_diag("invalid UTF-8 at line 2");

    parse("# -*- coding: klingon -*-\nimport a\n");
    expect_count(1);
    EXPECT(0, PLAIN, 2, 0, 0, "a", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_BAD_ENCODING);
    expect_diag("klingon");
}

static void test_too_large(void **state)
{
    (void)state;
    /* never touched: the size alone decides */
    size_t len = ASH_SOURCE_MAX + 1;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    parse_n(map, len);
    expect_count(0);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_TOO_LARGE);
    expect_diag("not read");
    munmap(map, len);
}

static void test_empty_and_comments(void **state)
{
    (void)state;
    parse_n("", 0);
    expect_count(0);
    assert_int_equal(ash_imports_status(result), 0);
    assert_int_equal(diag_count, 0);

    parse("# import a\n#\n   # from b import c\n\n# end");
    expect_count(0);
    assert_int_equal(ash_imports_status(result), 0);
    assert_int_equal(diag_count, 0);

    parse("\n\n\n");
    expect_count(0);
}

static void test_no_diag_callback(void **state)
{
    (void)state;
    /* diag and path may be NULL; warnings are then dropped */
    ash_imports *imp = NULL;
    const char *src = "import a\nx = (\n";
    assert_int_equal(ash_imports_parse(&imp, src, strlen(src), NULL, NULL, NULL), 0);
    assert_int_equal(ash_imports_status(imp), ASH_SOURCE_SYNTAX_ERROR);
    ash_imports_free(imp);
}

static void test_parse_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ash_test_extract_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *src = "import a\nfrom b import c\n";
    assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
    close(fd);
    ash_imports *imp = NULL;
    assert_int_equal(ash_imports_parse_file(&imp, path, NULL, NULL), 0);
    assert_int_equal(ash_imports_count(imp), 2);
    assert_string_equal(ash_imports_get(imp, 1)->module, "b");
    ash_imports_free(imp);
    unlink(path);

    imp = (ash_imports *)path;
    assert_int_equal(ash_imports_parse_file(&imp, path, NULL, NULL), ASH_EIO);
    assert_null(imp);
    assert_non_null(strstr(ash_error_last(), path));
}

/* ---------------------------------------------------------------------------------------- */
/* Adversarial sizes                                                                        */

#define DEEP 100000

/* `prefix` + DEEP x open + `middle` + DEEP x close + `suffix`, owned. */
static char *nested(const char *prefix, char open, const char *middle, char close,
                    const char *suffix, size_t *len)
{
    size_t a = strlen(prefix), b = strlen(middle), c = strlen(suffix);
    char *s = malloc(a + b + c + 2 * DEEP + 1);
    if (!s) {
        return NULL;
    }
    char *p = s;
    memcpy(p, prefix, a);
    p += a;
    memset(p, open, DEEP);
    p += DEEP;
    memcpy(p, middle, b);
    p += b;
    memset(p, close, close ? DEEP : 0);
    p += close ? DEEP : 0;
    memcpy(p, suffix, c);
    p += c;
    *p = '\0';
    *len = (size_t)(p - s);
    return s;
}

static void test_deep_nesting_plain_code(void **state)
{
    (void)state;
    size_t len;
    char *s = nested("import a\nx = ", '[', "", ']', "\nimport b\n", &len);
    assert_non_null(s);
    parse_n(s, len);
    expect_count(2);
    EXPECT(1, PLAIN, 3, 0, 0, "b", NULL);
    free(s);

    /* on the import's own line: the tree is 100,000 deep */
    s = nested("import a; x = ", '(', "1", ')', "\nimport b\n", &len);
    assert_non_null(s);
    parse_n(s, len);
    expect_count(2);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    EXPECT(1, PLAIN, 2, 0, 0, "b", NULL);
    free(s);

    /* never closed */
    s = nested("import a\nx = ", '{', "", 0, "\nimport b\n", &len);
    assert_non_null(s);
    parse_n(s, len);
    EXPECT(0, PLAIN, 1, 0, 0, "a", NULL);
    assert_int_equal(ash_imports_status(result), ASH_SOURCE_SYNTAX_ERROR);
    free(s);
}

static int deep_import_module_argument(void)
{
    size_t len;
    char *s = nested("importlib.import_module(", '(', "\"x\"", ')', ")\nimport b\n", &len);
    int rc = s ? parse_quietly(s, len) : 2;
    free(s);
    return rc;
}

static int deep_pytest_plugins(void)
{
    size_t len;
    char *s = nested("pytest_plugins = ", '(', "\"x\"", ')', "\n", &len);
    int rc = s ? parse_quietly(s, len) : 2;
    free(s);
    return rc;
}

static int deep_except_tuple(void)
{
    /* except ((((ImportError,),),),): tuples nested DEEP times */
    const char *head = "try:\n    import a\nexcept ";
    size_t n = strlen(head);
    char *s = malloc(n + 5 * (size_t)DEEP + 64);
    if (!s) {
        return 2;
    }
    char *p = s;
    memcpy(p, head, n);
    p += n;
    memset(p, '(', DEEP);
    p += DEEP;
    p += sprintf(p, "ImportError,)");
    for (int i = 1; i < DEEP; i++) {
        memcpy(p, ",)", 2);
        p += 2;
    }
    p += sprintf(p, ":\n    pass\n");
    int rc = parse_quietly(s, (size_t)(p - s));
    free(s);
    return rc;
}

/*
 * literal() recurses once per parenthesized_expression, so 100,000 parentheses around
 * the argument of import_module (or the value of pytest_plugins) overflow the C stack.
 */
static void test_deep_nesting_import_module_argument(void **state)
{
    (void)state;
    assert_int_equal(in_child(deep_import_module_argument), 0);
    assert_int_equal(in_child(deep_pytest_plugins), 0);
}

/* catches_import_error() recurses once per nested tuple of an except clause. */
static void test_deep_nesting_except_tuple(void **state)
{
    (void)state;
    assert_int_equal(in_child(deep_except_tuple), 0);
}

static void test_large_file(void **state)
{
    (void)state;
    ash_buf src = ASH_BUF_INIT;
    for (int i = 0; i < 200000; i++) {
        assert_int_equal(ash__buf_printf(&src, "import m%d\n", i), 0);
    }
    parse_n(src.ptr, src.len);
    expect_count(200000);
    char name[16];
    for (uint32_t i = 0; i < 200000; i++) {
        const ash_import *r = ash_imports_get(result, i);
        snprintf(name, sizeof(name), "m%u", i);
        if (r->line != i + 1 || strcmp(r->module, name) != 0) {
            print_error("record %u: line %u module %s\n", i, r->line, r->module);
            fail();
        }
    }
    ash__buf_free(&src);
}

/* ---------------------------------------------------------------------------------------- */
/* The extractor                                                                            */

static void test_skeleton_is_enough(void **state)
{
    (void)state;
    /* Clean code never needs the whole-file fallback: a fallback here means the scanner
     * wrote a skeleton that does not parse. */
    ash_extractor *ex;
    assert_int_equal(ash__extractor_new(&ex), 0);
    ash_imports *imp;
    assert_int_equal(
        ash__extract(ex, &imp, every_construct, sizeof(every_construct) - 1, "t.py", collect, NULL),
        0);
    result = imp;
    expect_every_construct();
    const ash_extract_stats *st = ash__extractor_stats(ex);
    assert_int_equal(st->files, 1);
    assert_int_equal(st->full_parses, 0);
    assert_int_equal(st->bytes, sizeof(every_construct) - 1);
    assert_true(st->skeleton_bytes > 0 && st->skeleton_bytes < st->bytes);
    ash__extractor_free(ex);
}

static void test_extractor_reuse(void **state)
{
    (void)state;
    /* One extractor, several files: nothing carries over from one to the next. */
    ash_extractor *ex;
    assert_int_equal(ash__extractor_new(&ex), 0);
    static const char *const files[] = {
        "import a\nimport b\n",
        "import c\nimport d as\n", /* the skeleton does not parse */
        "",
        "try:\n    import d\nexcept ImportError:\n    pass\n",
        "\0",
    };
    static const size_t counts[] = {2, 2, 0, 1, 0};
    static const unsigned status[] = {0, ASH_SOURCE_SYNTAX_ERROR, 0, 0, ASH_SOURCE_BINARY};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(files); i++) {
        ash_imports *imp;
        size_t len = i == 4 ? 1 : strlen(files[i]);
        assert_int_equal(ash__extract(ex, &imp, files[i], len, "t.py", NULL, NULL), 0);
        assert_int_equal(ash_imports_count(imp), counts[i]);
        assert_int_equal(ash_imports_status(imp), status[i]);
        if (i == 3) {
            assert_string_equal(ash_imports_get(imp, 0)->module, "d");
            assert_int_equal(ash_imports_get(imp, 0)->flags, OPT);
        }
        ash_imports_free(imp);
    }
    assert_int_equal(ash__extractor_stats(ex)->files, ASH_ARRAY_SIZE(files));
    assert_int_equal(ash__extractor_stats(ex)->full_parses, 1);
    ash__extractor_free(ex);
    ash__extractor_free(NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

/* A file that takes the other paths: conversion, CRLF, an unclosed bracket, a fallback parse,
 * a warning. */
static const char latin1_broken[] = "# coding: latin-1\r\n"
                                    "s = '\xe9'\r\n"
                                    "import a\r\n"
                                    "from b import (c,\r\n"
                                    "try:\r\n"
                                    "    import d\r\n"
                                    "except ImportError:\r\n"
                                    "    pass\r\n";

typedef struct parse_case {
    const char *src;
    size_t len;
    size_t expect;    /* records in a successful result */
    ash_imports *imp; /* the last run's result */
} parse_case;

static int parse_attempt(void *payload)
{
    parse_case *c = payload;
    c->imp = (ash_imports *)c; /* a failure must set it to NULL */
    return ash_imports_parse(&c->imp, c->src, c->len, "t.py", NULL, NULL);
}

/* A failure leaves no result; a success has every record. */
static int parse_cleanup(void *payload, int rc)
{
    parse_case *c = payload;
    if (rc != 0) {
        return c->imp != NULL;
    }
    int good = ash_imports_count(c->imp) == c->expect;
    ash_imports_free(c->imp);
    return !good;
}

/*
 * Fail every allocation in turn until ash_imports_parse succeeds: each failure must be
 * ASH_ENOMEM with no result and nothing leaked. Returns the number of failing runs, or -1
 * after the first wrong one. No cmocka assertion: it also runs in a child process.
 */
static long fail_each_allocation(const char *src, size_t len, size_t expect)
{
    parse_case c = {src, len, expect, NULL};
    return alloc_hook_fail_each(parse_attempt, parse_cleanup, &c);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* aftershock's own allocations; tree-sitter keeps its default allocator, which never
     * returns NULL (see the next test for the shared hook) */
    alloc_hook_install(-1);
    ts_set_allocator(NULL, NULL, NULL, NULL);
    long a = fail_each_allocation(every_construct, sizeof(every_construct) - 1, 21);
    long b = fail_each_allocation(latin1_broken, sizeof(latin1_broken) - 1, 3);
    alloc_hook_remove();
    ts_set_allocator(NULL, NULL, NULL, NULL);
    assert_true(a > 10);
    assert_true(b > 5);
}

static int alloc_failures_through_tree_sitter(void)
{
    alloc_hook_install(-1);
    long a = fail_each_allocation(every_construct, sizeof(every_construct) - 1, 21);
    alloc_hook_remove();
    return a > 0 ? 0 : 1;
}

/*
 * tree-sitter cannot recover from a failed allocation; through the shared hook, a failure
 * inside it stops the process with a message (SIGABRT, as tree-sitter's own allocator does)
 * instead of crashing on NULL.
 */
static void test_alloc_failure_inside_tree_sitter_aborts(void **state)
{
    (void)state;
    assert_int_equal(in_child(alloc_failures_through_tree_sitter), 128 + SIGABRT);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, free_result)
    const struct CMUnitTest tests[] = {
        T(test_plain_imports),
        T(test_from_imports),
        T(test_future_star),
        T(test_future_star_recovered),
        T(test_multiline_imports),
        T(test_one_line_statements),
        T(test_every_construct),
        T(test_blocks),
        T(test_type_checking),
        T(test_elif_after_not_type_checking),
        T(test_parenthesized_type_checking),
        T(test_optional),
        T(test_lazy),
        T(test_string_imports),
        T(test_string_imports_refused),
        T(test_pytest_plugins),
        T(test_pytest_plugins_bare_tuple),
        T(test_pytest_plugins_line),
        T(test_latin1_cookie),
        T(test_bom_and_newlines),
        T(test_tabs_and_form_feeds),
        T(test_fstrings),
        T(test_strings_and_comments),
        T(test_match_soft_keyword),
        T(test_pep695),
        T(test_syntax_error_after_imports),
        T(test_syntax_error_before_imports),
        T(test_syntax_error_in_import_lines),
        T(test_unclosed_bracket),
        T(test_unterminated_strings),
        T(test_syntax_error_outside_import_lines),
        T(test_binary),
        T(test_bad_encoding),
        T(test_too_large),
        T(test_empty_and_comments),
        T(test_no_diag_callback),
        T(test_parse_file),
        T(test_deep_nesting_plain_code),
        T(test_deep_nesting_import_module_argument),
        T(test_deep_nesting_except_tuple),
        T(test_large_file),
        T(test_skeleton_is_enough),
        T(test_extractor_reuse),
        T(test_alloc_failures),
        T(test_alloc_failure_inside_tree_sitter_aborts),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
