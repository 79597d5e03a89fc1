/*
 * Fuzz target: pytest's configuration files as pytest_config.c reads them: the INI files
 * (pytest.ini, .pytest.ini, tox.ini [pytest], setup.cfg [tool:pytest]) and pyproject.toml
 * [tool.pytest.ini_options]. The reader takes a directory, so the first input byte picks the
 * file name (modulo 5) and the rest is written to that file in the scratch directory. Loading
 * never fails on bad input; the options it yields are then used as collection uses them.
 */
#include "fuzz.h"
#include "pytest_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const names[] = {"pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini",
                                    "setup.cfg"};

static int every_file_exists(const char *path, void *payload)
{
    (void)payload;
    return path[0] != '\0';
}

static void use(const ash_pytest_config *c, const char *path)
{
    (void)ash__pytest_is_test_module(c, path);
    ash_strings conftests = {0};
    int rc = ash__pytest_conftests(&conftests, c, path, every_file_exists, NULL);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    ash__strings_free(&conftests);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    char path[1024];
    for (size_t k = 0; k < ASH_ARRAY_SIZE(names); k++) {
        ash_fuzz__path(path, sizeof(path), names[k]);
        unlink(path);
    }
    ash_fuzz__path(path, sizeof(path), names[data[0] % ASH_ARRAY_SIZE(names)]);
    ash_fuzz__write(path, data + 1, size - 1);

    ash_pytest_config c;
    int rc = ash__pytest_config_load(&c, ash_fuzz__dir(), "", ash_fuzz__diag, NULL);
    ASH_FUZZ_CHECK(rc == 0 || rc == ASH_ENOMEM);
    if (rc < 0) {
        return 0;
    }
    ASH_FUZZ_CHECK(c.rootdir != NULL && strcmp(c.rootdir, "") == 0);
    ASH_FUZZ_CHECK(c.addopts != NULL);
    static const char *const paths[] = {
        "test_a.py", "tests/test_b.py", "pkg/sub/c_test.py", "build/test_d.py", "x.py", "tests/",
    };
    for (size_t k = 0; k < ASH_ARRAY_SIZE(paths); k++) {
        use(&c, paths[k]);
    }
    /* a module below each configured test path */
    for (size_t k = 0; k < c.testpaths.count && k < 8; k++) {
        char module[512];
        snprintf(module, sizeof(module), "%s/test_e.py", c.testpaths.items[k]);
        use(&c, module);
    }
    ash__pytest_config_free(&c);
    return 0;
}
