/*
 * Fuzz target: import extraction on arbitrary bytes (source.c decoding with BOM and PEP 263
 * coding cookies, scan.c's lexical pass, the tree-sitter parse of the skeleton or of the whole
 * file, and extract.c's walk). One extractor is reused across inputs, as a worker thread reuses
 * its own. Extraction must never fail on bad input (only on allocation failure), every record
 * it returns must be well formed, and extracting the same bytes again gives the same records.
 */
#include "extract.h"
#include "fuzz.h"

#include <string.h>

static ash_extractor *extractor;

static void check_imports(const ash_imports *imp)
{
    size_t n = ash_imports_count(imp);
    unsigned known = ASH_SOURCE_SYNTAX_ERROR | ASH_SOURCE_BINARY | ASH_SOURCE_BAD_ENCODING |
                     ASH_SOURCE_TOO_LARGE;
    ASH_FUZZ_CHECK((ash_imports_status(imp) & ~known) == 0);
    for (size_t i = 0; i < n; i++) {
        const ash_import *r = ash_imports_get(imp, i);
        ASH_FUZZ_CHECK(r != NULL);
        ASH_FUZZ_CHECK(r->kind <= ASH_IMPORT_STRING);
        ASH_FUZZ_CHECK(r->line >= 1);
        ASH_FUZZ_CHECK(r->module != NULL);
        ASH_FUZZ_CHECK(r->name_count == 0 || r->names != NULL);
        size_t total = strlen(r->module) + (r->package ? strlen(r->package) : 0);
        for (uint32_t k = 0; k < r->name_count; k++) {
            ASH_FUZZ_CHECK(r->names[k] != NULL);
            total += strlen(r->names[k]);
        }
        (void)total;
    }
    ASH_FUZZ_CHECK(ash_imports_get(imp, n) == NULL);
}

static int same_string(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Extraction is a function of the bytes: a reused extractor must not carry anything over. */
static void check_same(const ash_imports *a, const ash_imports *b)
{
    ASH_FUZZ_CHECK(ash_imports_count(a) == ash_imports_count(b));
    ASH_FUZZ_CHECK(ash_imports_status(a) == ash_imports_status(b));
    for (size_t i = 0; i < ash_imports_count(a); i++) {
        const ash_import *x = ash_imports_get(a, i), *y = ash_imports_get(b, i);
        ASH_FUZZ_CHECK(x->kind == y->kind && x->line == y->line && x->level == y->level &&
                       x->flags == y->flags && x->name_count == y->name_count);
        ASH_FUZZ_CHECK(same_string(x->module, y->module) && same_string(x->package, y->package));
        for (uint32_t k = 0; k < x->name_count; k++) {
            ASH_FUZZ_CHECK(same_string(x->names[k], y->names[k]));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!extractor) {
        ASH_FUZZ_CHECK(ash__extractor_new(&extractor) == 0);
    }
    ash_imports *imp = NULL;
    int rc =
        ash__extract(extractor, &imp, (const char *)data, size, "fuzz.py", ash_fuzz__diag, NULL);
    /* bad input yields what can be recovered: only allocation can fail */
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc == 0) {
        ASH_FUZZ_CHECK(imp != NULL);
        check_imports(imp);
        ash_imports *again = NULL;
        rc = ash__extract(extractor, &again, (const char *)data, size, "fuzz.py", NULL, NULL);
        ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
        if (rc == 0) {
            check_same(imp, again);
        }
        ash_imports_free(again);
    }
    ash_imports_free(imp);
    return 0;
}
