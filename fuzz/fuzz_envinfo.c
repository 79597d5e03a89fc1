/*
 * Fuzz target: the interpreter facts reader (envinfo.c): the lines the interpreter probe
 * prints, as they are read back from its output or from the cached python-*.txt. Every word of
 * the input is then looked up as a module name.
 */
#include "envinfo.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *facts = ash_fuzz__cstr(data, size);
    ash_envinfo *env = NULL;
    int rc = ash__envinfo_from_facts(&env, "/usr/bin/python3", facts);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc == 0) {
        ASH_FUZZ_CHECK(ash__envinfo_available(env));
        ASH_FUZZ_CHECK(strcmp(ash__envinfo_python(env), "/usr/bin/python3") == 0);
        /* the facts are kept verbatim, for the cache file */
        ASH_FUZZ_CHECK(strcmp(ash__envinfo_facts(env), facts) == 0);
        (void)strlen(ash__envinfo_version(env));
        int words = 0;
        for (const char *p = facts; *p && words < 64;) {
            size_t n = strcspn(p, " \n");
            if (n > 0) {
                const char *dist = NULL;
                ash_origin o = ash__envinfo_classify(env, p, n, &dist);
                (void)o;
                (void)(dist ? strlen(dist) : 0);
                (void)ash__envinfo_is_builtin(env, p, n);
                words++;
            }
            p += n + (p[n] != '\0');
        }
    }
    ash__envinfo_free(env);
    free(facts);
    return 0;
}
