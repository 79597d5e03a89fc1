/*
 * Fuzz target: the TOML reader (toml.c) on arbitrary bytes. A document is either rejected
 * with ASH_ECONFIG and a message, or accepted and then walked through every accessor: the
 * walk reads every string and key, so a value pointing outside the document's arena shows up.
 */
#include "fuzz.h"
#include "toml.h"

#include "aftershock/analyzer.h"

#include <string.h>

static void walk(const ash_toml *v, int depth)
{
    ASH_FUZZ_CHECK(v != NULL);
    /* the document is depth 0; nested tables and arrays are bounded */
    ASH_FUZZ_CHECK(depth <= ASH_TOML_MAX_DEPTH + 1);
    ASH_FUZZ_CHECK(ash__toml_line(v) >= 1);
    size_t n = ash__toml_count(v);
    switch (ash__toml_type(v)) {
    case ASH_TOML_STRING:
    case ASH_TOML_DATETIME: {
        const char *s = ash__toml_string(v);
        size_t len = ash__toml_string_len(v);
        ASH_FUZZ_CHECK(s != NULL && s[len] == '\0');
        /* every string the reader returns is valid UTF-8 (the document had to be) */
        ASH_FUZZ_CHECK(ash__utf8_check(s, len) == len);
        ASH_FUZZ_CHECK(n == 0);
        break;
    }
    case ASH_TOML_INTEGER:
    case ASH_TOML_FLOAT:
    case ASH_TOML_BOOL:
        (void)ash__toml_int(v);
        (void)ash__toml_float(v);
        ASH_FUZZ_CHECK(ash__toml_bool(v) == 0 || ash__toml_bool(v) == 1);
        ASH_FUZZ_CHECK(ash__toml_string(v) == NULL && n == 0);
        break;
    case ASH_TOML_ARRAY:
        for (size_t i = 0; i < n; i++) {
            walk(ash__toml_at(v, i), depth + 1);
        }
        ASH_FUZZ_CHECK(ash__toml_at(v, n) == NULL && ash__toml_key_at(v, 0) == NULL);
        break;
    case ASH_TOML_TABLE:
        for (size_t i = 0; i < n; i++) {
            const char *key = ash__toml_key_at(v, i);
            ASH_FUZZ_CHECK(key != NULL);
            /* not checked: a key with "\u0000" reads truncated and may find nothing */
            (void)ash__toml_find(v, key);
            walk(ash__toml_at(v, i), depth + 1);
        }
        ASH_FUZZ_CHECK(ash__toml_at(v, n) == NULL && ash__toml_key_at(v, n) == NULL);
        break;
    default:
        ASH_FUZZ_CHECK(!"unknown TOML type");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ash_toml *doc = (ash_toml *)1;
    int rc = ash__toml_parse(&doc, (const char *)data, size, "fuzz.toml");
    if (rc < 0) {
        ASH_FUZZ_CHECK(doc == NULL);
        ASH_FUZZ_CHECK(rc == ASH_ECONFIG || rc == ASH_ENOMEM);
        ASH_FUZZ_CHECK(strncmp(ash_error_last(), "fuzz.toml", 9) == 0 || rc == ASH_ENOMEM);
        return 0;
    }
    ASH_FUZZ_CHECK(rc == 0 && doc != NULL && ash__toml_type(doc) == ASH_TOML_TABLE);
    walk(doc, 0);
    (void)ash__toml_get(doc, "tool.aftershock.roots");
    (void)ash__toml_get(doc, "tool.pytest.ini_options");
    ash__toml_free(doc);
    return 0;
}
