/*
 * Unit tests of the TOML reader (analyzer/src/toml.c): every kind of key, table, string,
 * number, date-time, array and inline table; the accessors; the rules about defining tables
 * and keys once; every rejected input with its exact message and line; inputs built to exhaust
 * the stack or run slowly; a realistic pyproject.toml; and allocation failures at every
 * allocation.
 */
#include "alloc_hook.h"
#include "toml.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

static ash_toml *parse_ok(const char *text)
{
    ash_toml *doc = NULL;
    int rc = ash__toml_parse(&doc, text, strlen(text), "test.toml");
    if (rc != 0) {
        print_error("unexpected error: %s\n", ash_error_last());
    }
    assert_int_equal(rc, 0);
    assert_non_null(doc);
    assert_int_equal(ash__toml_type(doc), ASH_TOML_TABLE);
    return doc;
}

/* `text` (of `len` bytes) is rejected with exactly `message`. */
static void check_error_len(const char *text, size_t len, const char *message)
{
    ash_toml *doc = (ash_toml *)1;
    int rc = ash__toml_parse(&doc, text, len, "test.toml");
    if (rc != ASH_ECONFIG || strcmp(ash_error_last(), message) != 0) {
        print_error("input: %s\n  got %d: %s\n  expected: %s\n", text, rc, ash_error_last(),
                    message);
    }
    assert_int_equal(rc, ASH_ECONFIG);
    assert_null(doc);
    assert_string_equal(ash_error_last(), message);
}

static void check_error(const char *text, const char *message)
{
    check_error_len(text, strlen(text), message);
}

static const char *str_at(const ash_toml *doc, const char *path)
{
    const ash_toml *v = ash__toml_get(doc, path);
    assert_non_null(v);
    assert_int_equal(ash__toml_type(v), ASH_TOML_STRING);
    return ash__toml_string(v);
}

static int64_t int_at(const ash_toml *doc, const char *path)
{
    const ash_toml *v = ash__toml_get(doc, path);
    assert_non_null(v);
    assert_int_equal(ash__toml_type(v), ASH_TOML_INTEGER);
    return ash__toml_int(v);
}

static double float_at(const ash_toml *doc, const char *path)
{
    const ash_toml *v = ash__toml_get(doc, path);
    assert_non_null(v);
    assert_int_equal(ash__toml_type(v), ASH_TOML_FLOAT);
    return ash__toml_float(v);
}

static const char *datetime_at(const ash_toml *doc, const char *path)
{
    const ash_toml *v = ash__toml_get(doc, path);
    assert_non_null(v);
    assert_int_equal(ash__toml_type(v), ASH_TOML_DATETIME);
    return ash__toml_string(v);
}

/* A growable string for generated documents. */
static char *repeat(const char *prefix, const char *unit, size_t times, const char *suffix)
{
    size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix);
    char *s = malloc(lp + lu * times + ls + 1);
    assert_non_null(s);
    memcpy(s, prefix, lp);
    for (size_t i = 0; i < times; i++) {
        memcpy(s + lp + i * lu, unit, lu);
    }
    memcpy(s + lp + lu * times, suffix, ls + 1);
    return s;
}

/* ---------------------------------------------------------------------------------------- */
/* Keys and tables                                                                          */

static void test_keys(void **state)
{
    ash_toml *doc = parse_ok("# a comment line\n"
                             "bare_key-1 = 1   # trailing comment\n"
                             "\"quoted key\" = 2\n"
                             "'literal \"key\"' = 3\n"
                             "\"\" = 4\n"
                             "1234 = 5\n"
                             "site . \"google.com\" . 'x' = 6\n"
                             "\"\\u00e9t\\u00e9\" = 7\n");
    assert_int_equal(int_at(doc, "bare_key-1"), 1);
    assert_int_equal(ash__toml_int(ash__toml_find(doc, "quoted key")), 2);
    assert_int_equal(ash__toml_int(ash__toml_find(doc, "literal \"key\"")), 3);
    assert_int_equal(ash__toml_int(ash__toml_find(doc, "")), 4);
    assert_int_equal(int_at(doc, "1234"), 5);
    /* find does not split on dots; get does, so a dotted key name is only reachable by find. */
    const ash_toml *site = ash__toml_find(doc, "site");
    assert_int_equal(ash__toml_int(ash__toml_find(ash__toml_find(site, "google.com"), "x")), 6);
    assert_null(ash__toml_get(doc, "site.google.com.x"));
    assert_int_equal(ash__toml_int(ash__toml_find(doc, "\xc3\xa9t\xc3\xa9")), 7);
    /* Keys come back in document order. */
    assert_int_equal(ash__toml_count(doc), 7);
    const char *expected[] = {"bare_key-1", "quoted key", "literal \"key\"", "", "1234", "site",
                              "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(ash__toml_key_at(doc, i), expected[i]);
        assert_ptr_equal(ash__toml_at(doc, i), ash__toml_find(doc, expected[i]));
    }
    assert_null(ash__toml_key_at(doc, 7));
    assert_null(ash__toml_at(doc, 7));
    ash__toml_free(doc);
}

static void test_tables(void **state)
{
    ash_toml *doc = parse_ok("top = 0\n"
                             "[table]\n"
                             "a = 1\n"
                             "[ dog . \"tater.man\" ]\n"
                             "type.name = \"pug\"\n"
                             "[x.y.z.w]   # x, x.y, x.y.z are made implicitly\n"
                             "[x]         # and x may still be defined once\n"
                             "k = 2\n"
                             "[fruit]\n"
                             "apple.color = \"red\"\n"
                             "apple.taste.sweet = true\n"
                             "[fruit.apple.texture]  # below a table made by dotted keys\n"
                             "smooth = true\n"
                             "[empty]\n");
    assert_int_equal(int_at(doc, "top"), 0);
    assert_int_equal(int_at(doc, "table.a"), 1);
    const ash_toml *dog = ash__toml_find(ash__toml_find(doc, "dog"), "tater.man");
    assert_string_equal(ash__toml_string(ash__toml_get(dog, "type.name")), "pug");
    assert_int_equal(ash__toml_type(ash__toml_get(doc, "x.y.z.w")), ASH_TOML_TABLE);
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "x.y.z.w")), 0);
    assert_int_equal(int_at(doc, "x.k"), 2);
    /* x was first made by the header on line 6, then defined on line 7. */
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "x")), 7);
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "x.y")), 6);
    assert_string_equal(str_at(doc, "fruit.apple.color"), "red");
    assert_true(ash__toml_bool(ash__toml_get(doc, "fruit.apple.taste.sweet")));
    assert_true(ash__toml_bool(ash__toml_get(doc, "fruit.apple.texture.smooth")));
    assert_int_equal(ash__toml_type(ash__toml_get(doc, "empty")), ASH_TOML_TABLE);
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "empty")), 0);
    ash__toml_free(doc);
}

static void test_array_of_tables(void **state)
{
    ash_toml *doc = parse_ok("[[products]]\n"
                             "name = \"Hammer\"\n"
                             "sku = 738594937\n"
                             "\n"
                             "[[products]]  # an empty table in the array\n"
                             "\n"
                             "[[ products ]]\n"
                             "name = \"Nail\"\n"
                             "\n"
                             "[[fruits]]\n"
                             "name = \"apple\"\n"
                             "[fruits.physical]  # a subtable of the last element\n"
                             "color = \"red\"\n"
                             "[[fruits.varieties]]\n"
                             "name = \"red delicious\"\n"
                             "[[fruits.varieties]]\n"
                             "name = \"granny smith\"\n"
                             "[[fruits]]\n"
                             "name = \"banana\"\n"
                             "[[fruits.varieties]]\n"
                             "name = \"plantain\"\n");
    const ash_toml *products = ash__toml_get(doc, "products");
    assert_int_equal(ash__toml_type(products), ASH_TOML_ARRAY);
    assert_int_equal(ash__toml_count(products), 3);
    assert_string_equal(str_at(ash__toml_at(products, 0), "name"), "Hammer");
    assert_int_equal(int_at(ash__toml_at(products, 0), "sku"), 738594937);
    assert_int_equal(ash__toml_count(ash__toml_at(products, 1)), 0);
    assert_string_equal(str_at(ash__toml_at(products, 2), "name"), "Nail");
    assert_int_equal(ash__toml_line(ash__toml_at(products, 2)), 7);
    const ash_toml *fruits = ash__toml_get(doc, "fruits");
    assert_int_equal(ash__toml_count(fruits), 2);
    const ash_toml *apple = ash__toml_at(fruits, 0);
    assert_string_equal(str_at(apple, "physical.color"), "red");
    assert_int_equal(ash__toml_count(ash__toml_get(apple, "varieties")), 2);
    assert_string_equal(str_at(ash__toml_at(ash__toml_get(apple, "varieties"), 1), "name"),
                        "granny smith");
    const ash_toml *banana = ash__toml_at(fruits, 1);
    assert_int_equal(ash__toml_count(ash__toml_get(banana, "varieties")), 1);
    assert_null(ash__toml_at(fruits, 2));
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Strings                                                                                  */

static void test_basic_strings(void **state)
{
    ash_toml *doc = parse_ok("s = \"I'm a string. \\\"You can quote me\\\". Tab\\there\"\n"
                             "esc = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
                             "u = \"Jos\\u00E9 \\u20ac \\U0001F600\"\n"
                             "nul = \"a\\u0000b\"\n"
                             "empty = \"\"\n"
                             "utf8 = \"\xe2\x82\xac literally\"\n"
                             "tab = \"a\tb\"\n");
    assert_string_equal(str_at(doc, "s"), "I'm a string. \"You can quote me\". Tab\there");
    assert_string_equal(str_at(doc, "esc"), "\b\t\n\f\r\"\\");
    assert_string_equal(str_at(doc, "u"), "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    const ash_toml *nul = ash__toml_get(doc, "nul");
    assert_int_equal(ash__toml_string_len(nul), 3);
    assert_memory_equal(ash__toml_string(nul), "a\0b", 4);
    assert_string_equal(str_at(doc, "empty"), "");
    assert_int_equal(ash__toml_string_len(ash__toml_get(doc, "empty")), 0);
    assert_string_equal(str_at(doc, "utf8"), "\xe2\x82\xac literally");
    assert_string_equal(str_at(doc, "tab"), "a\tb");
    ash__toml_free(doc);
}

static void test_literal_strings(void **state)
{
    ash_toml *doc = parse_ok("winpath = 'C:\\Users\\nodejs\\templates'\n"
                             "quoted = 'Tom \"Dubs\" Preston-Werner'\n"
                             "regex = '<\\i\\c*\\s*>'\n"
                             "empty = ''\n");
    assert_string_equal(str_at(doc, "winpath"), "C:\\Users\\nodejs\\templates");
    assert_string_equal(str_at(doc, "quoted"), "Tom \"Dubs\" Preston-Werner");
    assert_string_equal(str_at(doc, "regex"), "<\\i\\c*\\s*>");
    assert_string_equal(str_at(doc, "empty"), "");
    ash__toml_free(doc);
}

static void test_multiline_strings(void **state)
{
    ash_toml *doc = parse_ok("a = \"\"\"\nRoses are red\r\nViolets are blue\"\"\"\n"
                             "b = \"\"\"\\\n"
                             "       The quick brown \\\n"
                             "\n"
                             "       fox jumps over \\   \n"
                             "       the lazy dog.\\\n"
                             "       \"\"\"\n"
                             "c = \"\"\"Two quotes: \"\". Three: \"\"\\\".\"\"\"\n"
                             "d = \"\"\"\"This,\" she said, \"is pointless.\"\"\"\"\"\n"
                             "e = '''\nThe first newline is\n"
                             "trimmed in raw strings.\n   \\n kept\n'''\n"
                             "f = ''''That,' she said, 'is still pointless.''''\n"
                             "g = \"\"\"\"\"\"\n"
                             "h = \"\"\"tab\there \\u00e9\"\"\"\n"
                             "after = 1\n");
    assert_string_equal(str_at(doc, "a"), "Roses are red\nViolets are blue");
    assert_string_equal(str_at(doc, "b"), "The quick brown fox jumps over the lazy dog.");
    assert_string_equal(str_at(doc, "c"), "Two quotes: \"\". Three: \"\"\".");
    assert_string_equal(str_at(doc, "d"), "\"This,\" she said, \"is pointless.\"\"");
    assert_string_equal(str_at(doc, "e"),
                        "The first newline is\ntrimmed in raw strings.\n   \\n kept\n");
    assert_string_equal(str_at(doc, "f"), "'That,' she said, 'is still pointless.'");
    assert_string_equal(str_at(doc, "g"), "");
    assert_string_equal(str_at(doc, "h"), "tab\there \xc3\xa9");
    /* Lines are counted through multi-line strings. */
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "after")), 20);
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Numbers, booleans and date-times                                                         */

static void test_integers(void **state)
{
    ash_toml *doc = parse_ok("a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\n"
                             "g = 0xDEADBEEF\nh = 0xdead_beef\ni = 0o755\nj = 0b1101_0110\n"
                             "max = 9223372036854775807\nmin = -9223372036854775808\n"
                             "k = -0\nl = +0\nm = 0x0\nn = 0o0\no = 0x7FFFFFFFFFFFFFFF\n");
    assert_int_equal(int_at(doc, "a"), 99);
    assert_int_equal(int_at(doc, "b"), 42);
    assert_int_equal(int_at(doc, "c"), 0);
    assert_int_equal(int_at(doc, "d"), -17);
    assert_int_equal(int_at(doc, "e"), 1000);
    assert_int_equal(int_at(doc, "f"), 5349221);
    assert_int_equal(int_at(doc, "g"), 0xDEADBEEF);
    assert_int_equal(int_at(doc, "h"), 0xDEADBEEF);
    assert_int_equal(int_at(doc, "i"), 0755);
    assert_int_equal(int_at(doc, "j"), 0xD6);
    assert_true(int_at(doc, "max") == INT64_MAX);
    assert_true(int_at(doc, "min") == INT64_MIN);
    assert_int_equal(int_at(doc, "k"), 0);
    assert_int_equal(int_at(doc, "l"), 0);
    assert_int_equal(int_at(doc, "m"), 0);
    assert_int_equal(int_at(doc, "n"), 0);
    assert_true(int_at(doc, "o") == INT64_MAX);
    ash__toml_free(doc);
}

static void test_floats(void **state)
{
    ash_toml *doc = parse_ok("a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\n"
                             "f = -2E-2\ng = 6.626e-34\nh = 224_617.445_991_228\ni = 0.0\n"
                             "j = -0.0\nk = 1e1_0\nl = 0e0\nm = 1.5E3\n"
                             "pinf = inf\npinf2 = +inf\nninf = -inf\nnan1 = nan\nnan2 = +nan\n"
                             "nan3 = -nan\n");
    assert_true(float_at(doc, "a") == 1.0);
    assert_true(float_at(doc, "b") == 3.1415);
    assert_true(float_at(doc, "c") == -0.01);
    assert_true(float_at(doc, "d") == 5e22);
    assert_true(float_at(doc, "e") == 1e6);
    assert_true(float_at(doc, "f") == -2e-2);
    assert_true(float_at(doc, "g") == 6.626e-34);
    assert_true(float_at(doc, "h") == 224617.445991228);
    assert_true(float_at(doc, "i") == 0.0);
    assert_true(float_at(doc, "j") == 0.0 && signbit(float_at(doc, "j")));
    assert_true(float_at(doc, "k") == 1e10);
    assert_true(float_at(doc, "l") == 0.0);
    assert_true(float_at(doc, "m") == 1500.0);
    assert_true(isinf(float_at(doc, "pinf")) && float_at(doc, "pinf") > 0);
    assert_true(isinf(float_at(doc, "pinf2")) && float_at(doc, "pinf2") > 0);
    assert_true(isinf(float_at(doc, "ninf")) && float_at(doc, "ninf") < 0);
    assert_true(isnan(float_at(doc, "nan1")));
    assert_true(isnan(float_at(doc, "nan2")));
    assert_true(isnan(float_at(doc, "nan3")));
    ash__toml_free(doc);
}

static void test_booleans(void **state)
{
    ash_toml *doc = parse_ok("t = true\nf = false\n");
    assert_int_equal(ash__toml_type(ash__toml_get(doc, "t")), ASH_TOML_BOOL);
    assert_int_equal(ash__toml_bool(ash__toml_get(doc, "t")), 1);
    assert_int_equal(ash__toml_type(ash__toml_get(doc, "f")), ASH_TOML_BOOL);
    assert_int_equal(ash__toml_bool(ash__toml_get(doc, "f")), 0);
    ash__toml_free(doc);
}

static void test_datetimes(void **state)
{
    ash_toml *doc = parse_ok("odt1 = 1979-05-27T07:32:00Z\n"
                             "odt2 = 1979-05-27T00:32:00-07:00\n"
                             "odt3 = 1979-05-27T00:32:00.999999+05:30\n"
                             "odt4 = 1979-05-27 07:32:00Z\n"
                             "odt5 = 1979-05-27t07:32:00z\n"
                             "ldt1 = 1979-05-27T07:32:00\n"
                             "ldt2 = 1979-05-27T00:32:00.999999\n"
                             "ld1 = 1979-05-27\n"
                             "ld2 = 1979-05-27 # a date, then a comment\n"
                             "leap = 2000-02-29\n"
                             "lt1 = 07:32:00\n"
                             "lt2 = 00:32:00.999999\n"
                             "arr = [1979-05-27, 07:32:00]\n");
    assert_string_equal(datetime_at(doc, "odt1"), "1979-05-27T07:32:00Z");
    assert_string_equal(datetime_at(doc, "odt2"), "1979-05-27T00:32:00-07:00");
    assert_string_equal(datetime_at(doc, "odt3"), "1979-05-27T00:32:00.999999+05:30");
    assert_string_equal(datetime_at(doc, "odt4"), "1979-05-27 07:32:00Z");
    assert_string_equal(datetime_at(doc, "odt5"), "1979-05-27t07:32:00z");
    assert_string_equal(datetime_at(doc, "ldt1"), "1979-05-27T07:32:00");
    assert_string_equal(datetime_at(doc, "ldt2"), "1979-05-27T00:32:00.999999");
    assert_string_equal(datetime_at(doc, "ld1"), "1979-05-27");
    assert_string_equal(datetime_at(doc, "ld2"), "1979-05-27");
    assert_string_equal(datetime_at(doc, "leap"), "2000-02-29");
    assert_string_equal(datetime_at(doc, "lt1"), "07:32:00");
    assert_string_equal(datetime_at(doc, "lt2"), "00:32:00.999999");
    assert_int_equal(ash__toml_string_len(ash__toml_get(doc, "lt1")), 8);
    const ash_toml *arr = ash__toml_get(doc, "arr");
    assert_int_equal(ash__toml_type(ash__toml_at(arr, 0)), ASH_TOML_DATETIME);
    assert_string_equal(ash__toml_string(ash__toml_at(arr, 1)), "07:32:00");
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Arrays and inline tables                                                                 */

static void test_arrays(void **state)
{
    ash_toml *doc = parse_ok("ints = [ 1, 2, 3 ]\n"
                             "empty = [ ]\n"
                             "nested = [ [ 1, 2 ], [\"a\", 'b', \"\"\"c\"\"\"] ]\n"
                             "mixed = [ 0.1, 1, \"x\", true, { a = 1 }, [] ]\n"
                             "multi = [\n"
                             "  # a comment before the first item\n"
                             "  \"one\",  # after an item\n"
                             "\n"
                             "  \"two\"\r\n"
                             "  , \"three\",   # a trailing comma is allowed\n"
                             "]\n"
                             "after = 1\n");
    const ash_toml *ints = ash__toml_get(doc, "ints");
    assert_int_equal(ash__toml_type(ints), ASH_TOML_ARRAY);
    assert_int_equal(ash__toml_count(ints), 3);
    assert_int_equal(ash__toml_int(ash__toml_at(ints, 2)), 3);
    assert_null(ash__toml_at(ints, 3));
    assert_null(ash__toml_key_at(ints, 0));
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "empty")), 0);
    const ash_toml *nested = ash__toml_get(doc, "nested");
    assert_int_equal(ash__toml_count(ash__toml_at(nested, 0)), 2);
    assert_string_equal(ash__toml_string(ash__toml_at(ash__toml_at(nested, 1), 2)), "c");
    const ash_toml *mixed = ash__toml_get(doc, "mixed");
    assert_int_equal(ash__toml_count(mixed), 6);
    assert_int_equal(ash__toml_type(ash__toml_at(mixed, 0)), ASH_TOML_FLOAT);
    assert_int_equal(ash__toml_type(ash__toml_at(mixed, 3)), ASH_TOML_BOOL);
    assert_int_equal(ash__toml_int(ash__toml_find(ash__toml_at(mixed, 4), "a")), 1);
    assert_int_equal(ash__toml_type(ash__toml_at(mixed, 5)), ASH_TOML_ARRAY);
    const ash_toml *multi = ash__toml_get(doc, "multi");
    assert_int_equal(ash__toml_count(multi), 3);
    assert_string_equal(ash__toml_string(ash__toml_at(multi, 2)), "three");
    assert_int_equal(ash__toml_line(multi), 5);
    assert_int_equal(ash__toml_line(ash__toml_at(multi, 1)), 9);
    assert_int_equal(int_at(doc, "after"), 1);
    ash__toml_free(doc);
}

static void test_inline_tables(void **state)
{
    ash_toml *doc = parse_ok("name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
                             "point = {x=1,y=2}\n"
                             "empty = {}\n"
                             "dotted = { type.name = \"pug\", type.kind = 'dog', "
                             "n.m = { o = 1 } }\n"
                             "deep = { a = { b = [ { c = 1 } ] } }\n"
                             "multiline_array = { list = [\n 1,\n 2,\n] }\n");
    assert_string_equal(str_at(doc, "name.first"), "Tom");
    assert_string_equal(str_at(doc, "name.last"), "Preston-Werner");
    assert_int_equal(int_at(doc, "point.y"), 2);
    assert_int_equal(ash__toml_type(ash__toml_get(doc, "empty")), ASH_TOML_TABLE);
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "empty")), 0);
    assert_string_equal(str_at(doc, "dotted.type.name"), "pug");
    assert_string_equal(str_at(doc, "dotted.type.kind"), "dog");
    assert_int_equal(int_at(doc, "dotted.n.m.o"), 1);
    const ash_toml *b = ash__toml_get(doc, "deep.a.b");
    assert_int_equal(int_at(ash__toml_at(b, 0), "c"), 1);
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "multiline_array.list")), 2);
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                */

static void test_accessors_on_other_types(void **state)
{
    ash_toml *doc = parse_ok("s = \"x\"\ni = 7\nf = 1.5\nb = true\na = [1]\n[t]\nk = 1\n");
    const ash_toml *s = ash__toml_get(doc, "s");
    const ash_toml *i = ash__toml_get(doc, "i");
    const ash_toml *f = ash__toml_get(doc, "f");
    const ash_toml *b = ash__toml_get(doc, "b");
    const ash_toml *a = ash__toml_get(doc, "a");
    assert_null(ash__toml_string(i));
    assert_int_equal(ash__toml_string_len(i), 0);
    assert_int_equal(ash__toml_int(s), 0);
    assert_int_equal(ash__toml_int(f), 0);
    assert_true(ash__toml_float(i) == 0.0);
    assert_true(ash__toml_float(f) == 1.5);
    assert_int_equal(ash__toml_bool(i), 0);
    assert_int_equal(ash__toml_bool(b), 1);
    assert_int_equal(ash__toml_count(s), 0);
    assert_null(ash__toml_at(s, 0));
    assert_null(ash__toml_find(a, "x"));
    assert_null(ash__toml_key_at(a, 0));
    /* get: a missing part, or a part that is not a table, gives NULL. */
    assert_null(ash__toml_get(doc, "missing"));
    assert_null(ash__toml_get(doc, "s.x"));
    assert_null(ash__toml_get(doc, "a.0"));
    assert_null(ash__toml_get(doc, "t.k.z"));
    assert_null(ash__toml_get(doc, "t."));
    assert_non_null(ash__toml_get(doc, "t.k"));
    /* NULL is accepted everywhere but ash__toml_type. */
    assert_null(ash__toml_get(NULL, "a"));
    assert_null(ash__toml_find(NULL, "a"));
    assert_null(ash__toml_string(NULL));
    assert_int_equal(ash__toml_count(NULL), 0);
    assert_int_equal(ash__toml_line(NULL), 0);
    assert_int_equal(ash__toml_int(NULL), 0);
    assert_int_equal(ash__toml_line(doc), 1);
    ash__toml_free(doc);
    ash__toml_free(NULL);
}

static void test_lines(void **state)
{
    ash_toml *doc = parse_ok("\n# comment\na = 1\n\n[t]\nb = \"\"\"\n\n\"\"\"\nc = [\n1,\n2]\n"
                             "[[arr]]\n[[arr]]\nd.e = 3\n");
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "a")), 3);
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "t")), 5);
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "t.b")), 6);
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "t.c")), 9);
    assert_int_equal(ash__toml_line(ash__toml_at(ash__toml_get(doc, "t.c"), 1)), 11);
    const ash_toml *arr = ash__toml_get(doc, "arr");
    assert_int_equal(ash__toml_line(arr), 12);
    assert_int_equal(ash__toml_line(ash__toml_at(arr, 1)), 13);
    assert_int_equal(ash__toml_line(ash__toml_get(ash__toml_at(arr, 1), "d")), 14);
    ash__toml_free(doc);
}

/* The document may end anywhere; the reader never looks past `len`. */
static void test_unterminated_buffer(void **state)
{
    const char text[] = "a = 1\nb = \"xy\"";
    char *copy = malloc(sizeof(text) - 1);
    assert_non_null(copy);
    memcpy(copy, text, sizeof(text) - 1);
    ash_toml *doc = NULL;
    assert_int_equal(ash__toml_parse(&doc, copy, sizeof(text) - 1, NULL), 0);
    assert_string_equal(str_at(doc, "b"), "xy");
    ash__toml_free(doc);
    /* Cut inside the string: unterminated. Without a path, messages name "<input>". */
    assert_int_equal(ash__toml_parse(&doc, copy, sizeof(text) - 2, NULL), ASH_ECONFIG);
    assert_string_equal(ash_error_last(), "<input>:2: unterminated string");
    /* Cut after "a = 1". */
    assert_int_equal(ash__toml_parse(&doc, copy, 5, NULL), 0);
    assert_int_equal(ash__toml_count(doc), 1);
    ash__toml_free(doc);
    free(copy);
    /* Empty documents. */
    assert_int_equal(ash__toml_parse(&doc, "", 0, NULL), 0);
    assert_int_equal(ash__toml_count(doc), 0);
    ash__toml_free(doc);
    assert_int_equal(ash__toml_parse(&doc, NULL, 0, NULL), 0);
    ash__toml_free(doc);
}

static void test_bom_and_crlf(void **state)
{
    ash_toml *doc = parse_ok("\xef\xbb\xbf"
                             "a = 1\r\n[b]\r\nc = 'x' # c\r\n");
    assert_int_equal(int_at(doc, "a"), 1);
    assert_string_equal(str_at(doc, "b.c"), "x");
    assert_int_equal(ash__toml_line(ash__toml_get(doc, "b.c")), 3);
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Rejected documents                                                                       */

static void test_syntax_errors(void **state)
{
    check_error("a = 1\nb 2\n", "test.toml:2: expected '=' after key");
    check_error("a.b\n", "test.toml:1: expected '=' after key");
    check_error("= 1", "test.toml:1: expected a key");
    check_error("a. = 1", "test.toml:1: expected a key");
    check_error("\"\"\"a\"\"\" = 1", "test.toml:1: a key cannot be a multi-line string");
    check_error("a = ", "test.toml:1: expected a value");
    check_error("a =\n1", "test.toml:1: expected a value");
    check_error("a = tru", "test.toml:1: expected a value");
    check_error("a = 1 b = 2", "test.toml:1: expected a newline after the value");
    check_error("a = true1", "test.toml:1: expected a newline after the value");
    check_error("a = \"x\" \"y\"", "test.toml:1: expected a newline after the value");
    check_error("[a] b = 1", "test.toml:1: expected a newline after the table header");
    check_error("[a", "test.toml:1: expected ']' after the table name");
    check_error("[[a]", "test.toml:1: expected ']]' after the table name");
    check_error("[[a] ]", "test.toml:1: expected ']]' after the table name");
    check_error("[]", "test.toml:1: expected a key");
    check_error("[ [a] ]", "test.toml:1: expected a key");
    check_error("a = 1\rb = 2", "test.toml:1: carriage return not followed by a newline");
    check_error("a = [1 2]", "test.toml:1: expected ',' or ']' in an array");
    check_error("a = [1,,2]", "test.toml:1: expected a value");
    check_error("a = [,]", "test.toml:1: expected a value");
    check_error("a = [\n1,\n2", "test.toml:1: unterminated array");
    check_error("a = {b = 1,}", "test.toml:1: trailing comma in an inline table");
    check_error("a = {b = 1\n}", "test.toml:1: newline in an inline table");
    check_error("a = {\nb = 1}", "test.toml:1: newline in an inline table");
    check_error("a = {b = 1 c = 2}", "test.toml:1: expected ',' or '}' in an inline table");
    check_error("a = {b = 1", "test.toml:1: unterminated inline table");
    check_error("a = {b = 1,", "test.toml:1: unterminated inline table");
    check_error("a = {b = 1, # c\n}", "test.toml:1: expected a key");
}

static void test_string_errors(void **state)
{
    check_error("a = \"x", "test.toml:1: unterminated string");
    check_error("a = 'x", "test.toml:1: unterminated string");
    check_error("\n\na = \"\"\"x\n\n", "test.toml:3: unterminated string");
    check_error("a = '''x''", "test.toml:1: unterminated string");
    check_error("a = \"x\ny\"", "test.toml:1: newline in a single-line string");
    check_error("a = 'x\ny'", "test.toml:1: newline in a single-line string");
    check_error("a = \"\\e\"", "test.toml:1: invalid escape sequence '\\e'");
    check_error("a = \"\\x41\"", "test.toml:1: invalid escape sequence '\\x'");
    check_error("a = \"\\ \"", "test.toml:1: invalid escape sequence");
    check_error("a = \"\\u00\"", "test.toml:1: invalid escape: \\u needs 4 hex digits");
    check_error("a = \"\\U0001F60\"", "test.toml:1: invalid escape: \\U needs 8 hex digits");
    check_error("a = \"\\uD800\"",
                "test.toml:1: invalid escape: U+D800 is not a Unicode scalar value");
    check_error("a = \"\\U00110000\"",
                "test.toml:1: invalid escape: U+110000 is not a Unicode scalar value");
    check_error("a = \"\"\"x \\  y\"\"\"",
                "test.toml:1: invalid escape: only whitespace may follow a line-ending backslash");
    check_error("a = \"\"\"a\"\"\"\"\"\"", "test.toml:1: too many quotes at the end of a "
                                           "multi-line string");
    check_error("\"a\\nb = 1", "test.toml:1: unterminated string");
}

static void test_control_characters(void **state)
{
    check_error("a = \"\x01\"", "test.toml:1: control character U+0001 in a string");
    check_error("a = 'x\x7f'", "test.toml:1: control character U+007F in a string");
    check_error("a = '''\n\x1b'''", "test.toml:2: control character U+001B in a string");
    check_error("a = \"\"\"\x0c\"\"\"", "test.toml:1: control character U+000C in a string");
    check_error("a = \"\"\"x\ry\"\"\"", "test.toml:1: carriage return not followed by a newline");
    check_error("# \x7f\n", "test.toml:1: control character U+007F in a comment");
    check_error("a = 1 # \x08", "test.toml:1: control character U+0008 in a comment");
    check_error("# x\r", "test.toml:1: control character U+000D in a comment");
    check_error("a = [ # \x01\n]", "test.toml:1: control character U+0001 in a comment");
    check_error_len("a = \"\0\"", 7, "test.toml:1: control character U+0000 in a string");
    check_error_len("a = 1\0", 6, "test.toml:1: expected a newline after the value");
}

static void test_invalid_utf8(void **state)
{
    check_error("a = \"\xff\"", "test.toml:1: invalid UTF-8");
    check_error("\n# \xc3\n", "test.toml:2: invalid UTF-8");            /* truncated */
    check_error("a = '\xc0\x80'", "test.toml:1: invalid UTF-8");        /* overlong NUL */
    check_error("a = '\xed\xa0\x80'", "test.toml:1: invalid UTF-8");    /* surrogate */
    check_error("a = '\xf4\x90\x80\x80'", "test.toml:1: invalid UTF-8"); /* > U+10FFFF */
    check_error("\xe9t\xe9 = 1", "test.toml:1: invalid UTF-8");          /* Latin-1 */
    check_error("a = 1 # \xe2\x82", "test.toml:1: invalid UTF-8");       /* cut at the end */
    /* A BOM is only skipped at the very start. */
    check_error("a = 1\nb = 2\n\xef\xbb\xbf", "test.toml:3: expected a key");
}

static void test_number_errors(void **state)
{
    check_error("a = 01", "test.toml:1: leading zeros are not allowed in '01'");
    check_error("a = -01.5", "test.toml:1: leading zeros are not allowed in '-01.5'");
    check_error("a = 0_1", "test.toml:1: leading zeros are not allowed in '0_1'");
    check_error("a = 1__0", "test.toml:1: invalid number '1__0'");
    check_error("a = _1", "test.toml:1: expected a value");
    check_error("a = 1_", "test.toml:1: invalid number '1_'");
    check_error("a = 1.", "test.toml:1: invalid number '1.'");
    check_error("a = .5", "test.toml:1: expected a value");
    check_error("a = 1e", "test.toml:1: invalid number '1e'");
    check_error("a = 1.e5", "test.toml:1: invalid number '1.e5'");
    check_error("a = 1e_5", "test.toml:1: invalid number '1e_5'");
    check_error("a = 0x", "test.toml:1: invalid number '0x'");
    check_error("a = 0X1", "test.toml:1: invalid number '0X1'");
    check_error("a = 0x_1", "test.toml:1: invalid number '0x_1'");
    check_error("a = 0b2", "test.toml:1: invalid number '0b2'");
    check_error("a = 0o8", "test.toml:1: invalid number '0o8'");
    check_error("a = +0x1",
                "test.toml:1: a sign is not allowed on hexadecimal, octal or binary integers");
    check_error("a = 9223372036854775808", "test.toml:1: integer out of range");
    check_error("a = -9223372036854775809", "test.toml:1: integer out of range");
    check_error("a = 0x8000000000000000", "test.toml:1: integer out of range");
    check_error("a = infinity", "test.toml:1: invalid number 'infinity'");
    check_error("a = Inf", "test.toml:1: expected a value");
    check_error("a = 1-2", "test.toml:1: invalid number '1-2'");
}

static void test_datetime_errors(void **state)
{
    check_error("a = 1979-13-01", "test.toml:1: invalid date or time");
    check_error("a = 1979-02-29", "test.toml:1: invalid date or time");
    check_error("a = 1900-02-29", "test.toml:1: invalid date or time");
    check_error("a = 1979-04-31", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T24:00:00", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T07:60:00", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T07:32:60", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T07:32", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T07:32:00.", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27T07:32:00+7:00", "test.toml:1: invalid date or time");
    check_error("a = 1979-5-27", "test.toml:1: invalid date or time");
    check_error("a = 07:32", "test.toml:1: invalid date or time");
    check_error("a = 07:32:00Z", "test.toml:1: expected a newline after the value");
    check_error("a = 1979-05-27 07:32", "test.toml:1: invalid date or time");
    check_error("a = 1979-05-27 07", "test.toml:1: expected a newline after the value");
}

/* A key or table is defined once; what tomllib refuses, we refuse. */
static void test_redefinitions(void **state)
{
    check_error("a = 1\na = 2", "test.toml:2: duplicate key 'a'");
    check_error("a = 1\n\"a\" = 2", "test.toml:2: duplicate key 'a'");
    check_error("a = 1\n'a' = 2", "test.toml:2: duplicate key 'a'");
    check_error("[t]\nx.y = 1\nx.y = 2", "test.toml:3: duplicate key 'x.y'");
    check_error("a = {b = 1, b = 2}", "test.toml:1: duplicate key 'b'");
    check_error("[a]\n[a]", "test.toml:2: table 'a' is already defined");
    check_error("[a]\n[a.b]\n[a]", "test.toml:3: table 'a' is already defined");
    check_error("[a.b]\n[a]\n[a.b]", "test.toml:3: table 'a.b' is already defined");
    check_error("a = 1\n[a]", "test.toml:2: table 'a' is already defined");
    check_error("a = 1\n[a.b]", "test.toml:2: key 'a' is already defined and is not a table");
    check_error("a = {}\n[a]", "test.toml:2: table 'a' is already defined");
    check_error("a = {b = {}}\n[a.b.c]",
                "test.toml:2: cannot add a table to 'a', an inline table or array");
    check_error("a = [{}]\n[a.b]",
                "test.toml:2: cannot add a table to 'a', an inline table or array");
    /* Tables made by dotted keys cannot be defined by a header later... */
    check_error("a.b = 1\n[a]", "test.toml:2: table 'a' is already defined");
    check_error("[x]\na.b = 1\n[x.a]", "test.toml:3: table 'x.a' is already defined");
    /* ...nor extended by dotted keys from another section. */
    check_error("[a.b]\nc = 1\n[a]\nb.d = 2",
                "test.toml:4: cannot add keys to table 'b' with dotted keys here");
    /* An implicit table extended by dotted keys belongs to that section from then on. */
    check_error("[a.b.c]\n[a]\nb.d = 1\n[a.b]", "test.toml:4: table 'a.b' is already defined");
    check_error("a = 1\na.b = 2", "test.toml:2: key 'a' is already defined and is not a table");
    check_error("a = {b = 1}\na.c = 2", "test.toml:2: cannot add keys to inline table 'a'");
    check_error("a = {b = {}, b.c = 1}", "test.toml:1: cannot add keys to inline table 'b'");
    check_error("a = {b.c = 1, b = 2}", "test.toml:1: duplicate key 'b'");
    /* Long keys are cut in messages, never inside a UTF-8 sequence; control bytes are hidden. */
    char *key = repeat("\"x", "\xc3\xa9", 70, "\" = 1\n");
    char *twice = repeat(key, key, 1, "");
    char *message = repeat("test.toml:2: duplicate key 'x", "\xc3\xa9", 31, "'");
    check_error(twice, message);
    free(key);
    free(twice);
    free(message);
    check_error("\"a\\tb\\u0001\" = 1\n\"a\\tb\\u0001\" = 2",
                "test.toml:2: duplicate key 'a?b?'");
    /* Arrays of tables. */
    check_error("[[a]]\n[a]", "test.toml:2: table 'a' is already defined");
    check_error("[a]\n[[a]]",
                "test.toml:2: cannot define array of tables 'a': the key is already defined");
    check_error("a = []\n[[a]]",
                "test.toml:2: cannot define array of tables 'a': the key is already defined");
    check_error("a = [{}]\n[[a]]",
                "test.toml:2: cannot define array of tables 'a': the key is already defined");
    check_error("[[a.b]]\n[a]\nb.c = 1",
                "test.toml:3: key 'b' is already defined and is not a table");
    check_error("[[a]]\nb = 1\n[a.b]", "test.toml:3: table 'a.b' is already defined");
}

/* Documents that follow the rules above and must stay accepted. */
static void test_definitions_allowed(void **state)
{
    ash_toml *doc = parse_ok("[a.b.c]\nz = 1\n[a]\nb.x = 2\n"   /* extend an implicit table */
                             "[p]\nq.r = 1\nq.s = 2\n"          /* same section */
                             "[p.q.t]\n"                        /* below a dotted table */
                             "[[aot]]\n[aot.sub]\nk = 1\n[[aot]]\n[aot.sub]\nk = 2\n");
    assert_int_equal(int_at(doc, "a.b.c.z"), 1);
    assert_int_equal(int_at(doc, "a.b.x"), 2);
    assert_int_equal(int_at(doc, "p.q.s"), 2);
    assert_non_null(ash__toml_get(doc, "p.q.t"));
    const ash_toml *aot = ash__toml_get(doc, "aot");
    assert_int_equal(int_at(ash__toml_at(aot, 0), "sub.k"), 1);
    assert_int_equal(int_at(ash__toml_at(aot, 1), "sub.k"), 2);
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Hostile inputs                                                                           */

static void test_nesting_limit(void **state)
{
    /* 128 levels (the document is level 0) are fine; the 129th is refused. */
    char *ok = repeat("a = ", "[", ASH_TOML_MAX_DEPTH, "");
    char *closing = repeat(ok, "]", ASH_TOML_MAX_DEPTH, "\n");
    ash_toml *doc = parse_ok(closing);
    const ash_toml *v = ash__toml_get(doc, "a");
    int levels = 0;
    while (v && ash__toml_type(v) == ASH_TOML_ARRAY) {
        levels++;
        v = ash__toml_at(v, 0);
    }
    assert_int_equal(levels, ASH_TOML_MAX_DEPTH);
    ash__toml_free(doc);
    free(ok);
    free(closing);
    char *deep = repeat("a = ", "[", ASH_TOML_MAX_DEPTH + 1, "");
    check_error(deep, "test.toml:1: nesting deeper than 128 levels");
    free(deep);
    /* Nesting counts through dotted keys, headers and inline tables together. */
    char *value = repeat("x = ", "{a=", 200, "");
    check_error(value, "test.toml:1: nesting deeper than 128 levels");
    free(value);
    char *dotted = repeat("a", ".a", 127, " = 1\n");
    doc = parse_ok(dotted);
    ash__toml_free(doc);
    free(dotted);
    dotted = repeat("[a", ".a", 127, "]\nb = [1]\n");
    check_error(dotted, "test.toml:2: nesting deeper than 128 levels");
    free(dotted);
    char *parts = repeat("a", ".a", 1000, " = 1\n");
    check_error(parts, "test.toml:1: key with more than 128 parts");
    free(parts);
}

static void test_hostile_inputs(void **state)
{
    /* Each of these is large and must fail fast, without recursion proportional to it. */
    char *brackets = repeat("", "[", 200000, "");
    check_error(brackets, "test.toml:1: expected a key");
    free(brackets);
    char *values = repeat("a = ", "[", 200000, "");
    check_error(values, "test.toml:1: nesting deeper than 128 levels");
    free(values);
    char *braces = repeat("a = ", "{b = ", 100000, "");
    check_error(braces, "test.toml:1: nesting deeper than 128 levels");
    free(braces);
    char *quotes = repeat("a = \"\"\"", "\"\"", 100000, "");
    check_error(quotes, "test.toml:1: too many quotes at the end of a multi-line string");
    free(quotes);
    char *newlines = repeat("a = [", "\n", 100000, "");
    check_error(newlines, "test.toml:1: unterminated array");
    free(newlines);
    char *comments = repeat("", "# c\n", 100000, "a = 1 =");
    check_error(comments, "test.toml:100001: expected a newline after the value");
    free(comments);
}

/* Big tables are hashed: lookups and duplicate checks must work across the switch. */
static void test_large_tables(void **state)
{
    ash_buf text = ASH_BUF_INIT;
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(ash__buf_printf(&text, "key%d = %d\n", i, i), 0);
    }
    assert_int_equal(ash__buf_puts(&text, "[[package]]\nname = \"p0\"\n"), 0);
    for (int i = 1; i < 2000; i++) {
        assert_int_equal(ash__buf_printf(&text,
                                         "[[package]]\nname = \"p%d\"\nversion = \"1.%d\"\n"
                                         "dependencies = [{ name = \"p%d\" }]\n",
                                         i, i, i - 1),
                         0);
    }
    ash_toml *doc = parse_ok(ash__buf_cstr(&text));
    assert_int_equal(ash__toml_count(doc), 3001);
    for (int i = 0; i < 3000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(int_at(doc, key), i);
        assert_string_equal(ash__toml_key_at(doc, (size_t)i), key);
    }
    assert_null(ash__toml_find(doc, "key3000"));
    assert_null(ash__toml_find(doc, "key"));
    const ash_toml *packages = ash__toml_get(doc, "package");
    assert_int_equal(ash__toml_count(packages), 2000);
    assert_string_equal(str_at(ash__toml_at(packages, 1999), "name"), "p1999");
    assert_int_equal(ash__toml_line(packages), 3001);
    ash__toml_free(doc);
    /* A duplicate among many keys. */
    assert_int_equal(ash__buf_puts(&text, "\n[x]\n"), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(ash__buf_printf(&text, "k%d = 1\n", i), 0);
    }
    int line = 1;
    for (size_t i = 0; i < text.len; i++) {
        line += text.ptr[i] == '\n';
    }
    assert_int_equal(ash__buf_puts(&text, "k33 = 2\n"), 0);
    ash_toml *bad = NULL;
    assert_int_equal(ash__toml_parse(&bad, text.ptr, text.len, "big.toml"), ASH_ECONFIG);
    char expected[64];
    snprintf(expected, sizeof(expected), "big.toml:%d: duplicate key 'k33'", line);
    assert_string_equal(ash_error_last(), expected);
    ash__buf_free(&text);
}

/* ---------------------------------------------------------------------------------------- */
/* A realistic pyproject.toml                                                               */

static const char pyproject[] =
    "[build-system]\n"
    "requires = [\"setuptools>=61.0\", \"wheel\"]\n"
    "build-backend = \"setuptools.build_meta\"\n"
    "\n"
    "[project]\n"
    "name = \"example-app\"\n"
    "version = \"1.4.0\"\n"
    "description = \"An example \\\"application\\\"\"\n"
    "readme = \"README.md\"\n"
    "requires-python = \">=3.9\"\n"
    "license = { text = \"MIT\" }\n"
    "authors = [\n"
    "    { name = \"Ada\", email = \"ada@example.com\" },\n"
    "]\n"
    "classifiers = [\n"
    "    \"Programming Language :: Python :: 3\",\n"
    "    \"Operating System :: OS Independent\",  # any OS\n"
    "]\n"
    "dependencies = [\n"
    "    \"requests>=2.28\",\n"
    "    \"click>=8; python_version >= '3.9'\",\n"
    "]\n"
    "\n"
    "[project.optional-dependencies]\n"
    "test = [\"pytest>=7\", \"pytest-cov\"]\n"
    "\n"
    "[project.scripts]\n"
    "example = \"example.cli:main\"\n"
    "\n"
    "[tool.setuptools.packages.find]\n"
    "where = [\"src\"]\n"
    "\n"
    "[tool.ruff]\n"
    "line-length = 100\n"
    "target-version = \"py39\"\n"
    "\n"
    "[tool.ruff.lint]\n"
    "select = [\"E\", \"F\", \"I\"]\n"
    "ignore = [\"E501\"]\n"
    "per-file-ignores = { \"tests/*\" = [\"S101\"] }\n"
    "\n"
    "[tool.pytest.ini_options]\n"
    "minversion = \"7.0\"\n"
    "addopts = \"-ra -q\"\n"
    "testpaths = [\n"
    "    \"tests\",\n"
    "    \"integration\",\n"
    "]\n"
    "filterwarnings = [\n"
    "    'ignore:.*deprecated.*:DeprecationWarning',\n"
    "]\n"
    "\n"
    "[tool.coverage.run]\n"
    "branch = true\n"
    "omit = ['''*/tests/*''']\n"
    "\n"
    "[tool.aftershock]\n"
    "roots = [\"src\", \"libs/a\"]\n"
    "exclude = [\"tests/fixtures/**\"]\n"
    "type-checking-imports = false\n";

static void test_pyproject(void **state)
{
    ash_toml *doc = NULL;
    assert_int_equal(ash__toml_parse(&doc, pyproject, sizeof(pyproject) - 1, "pyproject.toml"),
                     0);
    assert_string_equal(str_at(doc, "build-system.build-backend"), "setuptools.build_meta");
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "build-system.requires")), 2);
    assert_string_equal(str_at(doc, "project.description"), "An example \"application\"");
    assert_string_equal(str_at(doc, "project.license.text"), "MIT");
    assert_string_equal(str_at(ash__toml_at(ash__toml_get(doc, "project.authors"), 0), "email"),
                        "ada@example.com");
    const ash_toml *deps = ash__toml_get(doc, "project.dependencies");
    assert_int_equal(ash__toml_count(deps), 2);
    assert_string_equal(ash__toml_string(ash__toml_at(deps, 1)),
                        "click>=8; python_version >= '3.9'");
    assert_int_equal(ash__toml_line(deps), 19);
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "project.optional-dependencies.test")),
                     2);
    const ash_toml *where = ash__toml_get(doc, "tool.setuptools.packages.find.where");
    assert_int_equal(ash__toml_count(where), 1);
    assert_string_equal(ash__toml_string(ash__toml_at(where, 0)), "src");
    assert_int_equal(int_at(doc, "tool.ruff.line-length"), 100);
    const ash_toml *pfi = ash__toml_get(doc, "tool.ruff.lint.per-file-ignores");
    assert_string_equal(ash__toml_string(ash__toml_at(ash__toml_find(pfi, "tests/*"), 0)), "S101");
    assert_string_equal(str_at(doc, "tool.pytest.ini_options.addopts"), "-ra -q");
    assert_int_equal(ash__toml_count(ash__toml_get(doc, "tool.pytest.ini_options.testpaths")), 2);
    assert_true(ash__toml_bool(ash__toml_get(doc, "tool.coverage.run.branch")));
    const ash_toml *roots = ash__toml_get(doc, "tool.aftershock.roots");
    assert_int_equal(ash__toml_count(roots), 2);
    assert_string_equal(ash__toml_string(ash__toml_at(roots, 1)), "libs/a");
    assert_int_equal(ash__toml_line(roots), 58);
    assert_int_equal(ash__toml_type(ash__toml_get(doc, "tool.aftershock.type-checking-imports")),
                     ASH_TOML_BOOL);
    /* The tool table holds its subtables in the order they were first named. */
    const ash_toml *tool = ash__toml_get(doc, "tool");
    assert_int_equal(ash__toml_count(tool), 5);
    assert_string_equal(ash__toml_key_at(tool, 0), "setuptools");
    assert_string_equal(ash__toml_key_at(tool, 4), "aftershock");
    ash__toml_free(doc);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

typedef struct parse_case {
    const char *text;
    const char *probe; /* a key that a successful parse has */
    ash_toml *doc;
} parse_case;

static int parse_attempt(void *payload)
{
    parse_case *c = payload;
    c->doc = (ash_toml *)1;
    return ash__toml_parse(&c->doc, c->text, strlen(c->text), "oom.toml");
}

static int parse_cleanup(void *payload, int rc)
{
    parse_case *c = payload;
    if (rc == ASH_ENOMEM) {
        assert_null(c->doc);
    } else {
        assert_int_equal(rc, 0);
        assert_non_null(ash__toml_get(c->doc, c->probe));
        ash__toml_free(c->doc);
    }
    return 0;
}

/* Parse `text` with allocation N failing, for N = 0, 1, ... until it succeeds; the document
 * then has a value at `probe`. */
static void check_allocation_failures(const char *text, const char *probe)
{
    parse_case c = {text, probe, NULL};
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(parse_attempt, parse_cleanup, &c);
    alloc_hook_remove();
    assert_true(failures > 2); /* there was something to fail */
}

static void test_allocation_failures(void **state)
{
    check_allocation_failures(pyproject, "tool.aftershock.roots");
    ash_buf text = ASH_BUF_INIT;
    /* Enough keys for the hash index to grow its buckets, escapes, and a string long enough
     * for an arena chunk of its own. */
    for (int i = 0; i < 400; i++) {
        assert_int_equal(ash__buf_printf(&text, "\"k\\u00e9%d\" = [\"%d\", {x.y = %d}]\n", i, i, i),
                         0);
    }
    assert_int_equal(ash__buf_puts(&text, "big = \""), 0);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(ash__buf_puts(&text, "\\t"), 0);
    }
    assert_int_equal(ash__buf_puts(&text, "\"\nf = 1.5e3\nlast = 1\n[[a]]\n[[a]]\n"), 0);
    check_allocation_failures(ash__buf_cstr(&text), "last");
    ash__buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_array_of_tables),
        cmocka_unit_test(test_basic_strings),
        cmocka_unit_test(test_literal_strings),
        cmocka_unit_test(test_multiline_strings),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_inline_tables),
        cmocka_unit_test(test_accessors_on_other_types),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_unterminated_buffer),
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_number_errors),
        cmocka_unit_test(test_datetime_errors),
        cmocka_unit_test(test_redefinitions),
        cmocka_unit_test(test_definitions_allowed),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_hostile_inputs),
        cmocka_unit_test(test_large_tables),
        cmocka_unit_test(test_pyproject),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
