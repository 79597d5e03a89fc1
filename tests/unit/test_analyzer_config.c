/*
 * Unit tests of the configuration reader (analyzer/src/config.c): defaults, every key, root
 * normalisation, and every way a pyproject.toml can be wrong, each checked through the exact
 * warning it gives and the default it leaves; then allocation failures at every allocation.
 * Each test writes its pyproject.toml into a fresh mkdtemp() directory.
 */
#include "alloc_hook.h"
#include "config.h"
#include "util.h"

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* Fixture: a temporary project directory and a warning collector                           */

#define MAX_WARNINGS 8

typedef struct fixture {
    char dir[64];
    int warning_count;
    char paths[MAX_WARNINGS][256];
    char messages[MAX_WARNINGS][512];
} fixture;

static void collect(const char *path, const char *message, void *payload)
{
    fixture *f = payload;
    if (f->warning_count < MAX_WARNINGS) {
        snprintf(f->paths[f->warning_count], sizeof(f->paths[0]), "%s", path);
        snprintf(f->messages[f->warning_count], sizeof(f->messages[0]), "%s", message);
    }
    f->warning_count++;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/ash_config_test.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static void remove_path(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    struct stat st;
    if (lstat(path, &st) < 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* Every file the tests create, deepest first. */
    static const char *const made[] = {"pyproject.toml", "sub/pyproject.toml", "sub"};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(made); i++) {
        remove_path(f->dir, made[i]);
    }
    int rc = rmdir(f->dir);
    free(f);
    return rc;
}

static void write_file(fixture *f, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* Load `text` as <dir>/pyproject.toml into `config`. */
static void load(fixture *f, ash_config *config, const char *text)
{
    write_file(f, "pyproject.toml", text);
    ash__config_init(config);
    assert_int_equal(ash__config_load(config, f->dir, "pyproject.toml", collect, f), 0);
}

static void assert_defaults(const ash_config *config)
{
    assert_null(config->roots);
    assert_int_equal(config->root_count, 0);
    assert_int_equal(config->roots_set, 0);
    assert_null(config->exclude);
    assert_int_equal(config->exclude_count, 0);
    assert_null(config->python);
    assert_int_equal(config->type_checking_imports, 1);
}

static void assert_warning(const fixture *f, int i, const char *message)
{
    assert_true(i < f->warning_count);
    assert_string_equal(f->paths[i], "pyproject.toml");
    assert_string_equal(f->messages[i], message);
}

/* ---------------------------------------------------------------------------------------- */
/* Valid configurations                                                                     */

static void test_defaults(void **state)
{
    ash_config config;
    memset(&config, 0xAB, sizeof(config));
    ash__config_init(&config);
    assert_defaults(&config);
    ash__config_free(&config);
    assert_defaults(&config);
    ash__config_free(NULL);
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    ash_config config;
    ash__config_init(&config);
    assert_int_equal(ash__config_load(&config, f->dir, "pyproject.toml", collect, f), 0);
    assert_defaults(&config);
    assert_int_equal(f->warning_count, 0);
    /* A missing directory on the way is the same as a missing file. */
    assert_int_equal(ash__config_load(&config, f->dir, "nope/pyproject.toml", collect, f), 0);
    assert_defaults(&config);
    assert_int_equal(f->warning_count, 0);
}

static void test_no_aftershock_table(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[project]\nname = \"x\"\n[tool.ruff]\nline-length = 100\n");
    assert_defaults(&config);
    assert_int_equal(f->warning_count, 0);
}

static void test_every_key(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[project]\n"
         "name = \"demo\"\n"
         "dependencies = [\"requests\"]\n"
         "\n"
         "[tool.aftershock]\n"
         "roots = [\"src\", \"libs/a\"]\n"
         "exclude = [\"tests/fixtures/**\", \"build\", \"./odd//glob/\"]\n"
         "python = \".venv/bin/python\"\n"
         "type-checking-imports = false\n");
    assert_int_equal(f->warning_count, 0);
    assert_int_equal(config.roots_set, 1);
    assert_int_equal(config.root_count, 2);
    assert_string_equal(config.roots[0], "src");
    assert_string_equal(config.roots[1], "libs/a");
    assert_int_equal(config.exclude_count, 3);
    assert_string_equal(config.exclude[0], "tests/fixtures/**");
    assert_string_equal(config.exclude[2], "./odd//glob/"); /* globs are kept verbatim */
    assert_string_equal(config.python, ".venv/bin/python");
    assert_int_equal(config.type_checking_imports, 0);
    ash__config_free(&config);
    assert_defaults(&config);
}

static void test_underscore_spelling(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "tool.aftershock.type_checking_imports = false\n");
    assert_int_equal(f->warning_count, 0);
    assert_int_equal(config.type_checking_imports, 0);
    ash__config_free(&config);
    load(f, &config, "[tool.aftershock]\ntype-checking-imports = true\n");
    assert_int_equal(config.type_checking_imports, 1);
    ash__config_free(&config);
}

static void test_roots_normalised(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "roots = [\"./src/\", \".\", \"libs//a/./b\", \"src\", \"./\", \"pkg.d/x\", \"..a\"]\n");
    assert_int_equal(f->warning_count, 0);
    assert_int_equal(config.roots_set, 1);
    /* "src" and "./" repeat "./src/" and "." once normalised. */
    assert_int_equal(config.root_count, 5);
    assert_string_equal(config.roots[0], "src");
    assert_string_equal(config.roots[1], "");
    assert_string_equal(config.roots[2], "libs/a/b");
    assert_string_equal(config.roots[3], "pkg.d/x");
    assert_string_equal(config.roots[4], "..a");
    ash__config_free(&config);
}

static void test_empty_roots(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[tool.aftershock]\nroots = []\nexclude = []\n");
    assert_int_equal(f->warning_count, 0);
    assert_int_equal(config.roots_set, 1);
    assert_int_equal(config.root_count, 0);
    assert_int_equal(config.exclude_count, 0);
    ash__config_free(&config);
}

/* The file may live below the root; warnings name it as given. */
static void test_relative_path_in_subdirectory(void **state)
{
    fixture *f = *state;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/sub", f->dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    write_file(f, "sub/pyproject.toml", "[tool.aftershock]\nroots = \"src\"\npython = \"py\"\n");
    ash_config config;
    ash__config_init(&config);
    assert_int_equal(ash__config_load(&config, f->dir, "sub/pyproject.toml", collect, f), 0);
    assert_int_equal(f->warning_count, 1);
    assert_string_equal(f->paths[0], "sub/pyproject.toml");
    assert_string_equal(f->messages[0],
                        "line 2: tool.aftershock.roots must be an array of strings; ignored");
    assert_string_equal(config.python, "py");
    ash__config_free(&config);
}

/* Loading again replaces everything, and what the file does not set returns to its default. */
static void test_load_replaces(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\nroots = [\"a\"]\nexclude = [\"x\"]\npython = \"p\"\n"
         "type-checking-imports = false\n");
    assert_int_equal(config.root_count, 1);
    write_file(f, "pyproject.toml", "[tool.aftershock]\nroots = [\"b\", \"c\"]\n");
    assert_int_equal(ash__config_load(&config, f->dir, "pyproject.toml", collect, f), 0);
    assert_int_equal(config.root_count, 2);
    assert_string_equal(config.roots[1], "c");
    assert_int_equal(config.exclude_count, 0);
    assert_null(config.python);
    assert_int_equal(config.type_checking_imports, 1);
    ash__config_free(&config);
}

/* ---------------------------------------------------------------------------------------- */
/* Configurations with problems                                                             */

static void test_malformed_toml(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "roots = [\"src\"]\n"
         "python \"py\"\n");
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, "line 3: expected '=' after key; using the default configuration");
    /* Nothing of a malformed file is used, not even the keys before the error. */
    assert_defaults(&config);
}

static void test_duplicate_key(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[tool.aftershock]\nroots = [\"a\"]\n\nroots = [\"b\"]\n");
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, "line 4: duplicate key 'roots'; using the default configuration");
    assert_defaults(&config);
}

static void test_wrong_types(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "roots = \"src\"\n"
         "exclude = [\"ok\", 1]\n"
         "python = 3\n"
         "type-checking-imports = \"no\"\n");
    assert_int_equal(f->warning_count, 4);
    assert_warning(f, 0, "line 2: tool.aftershock.roots must be an array of strings; ignored");
    assert_warning(f, 1, "line 3: tool.aftershock.exclude must be an array of strings; ignored");
    assert_warning(f, 2, "line 4: tool.aftershock.python must be a non-empty string; ignored");
    assert_warning(f, 3,
                   "line 5: tool.aftershock.type-checking-imports must be true or false; ignored");
    assert_defaults(&config);
}

/* The keys of the environment key: variables that matter, lockfiles standing for the installed
 * distributions. */
static void test_env_and_lockfiles(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "env = [\"DJANGO_SETTINGS_MODULE\", \"TZ\"]\n"
         "lockfiles = [\"uv.lock\", \"requirements*.txt\"]\n");
    assert_int_equal(f->warning_count, 0);
    assert_int_equal(config.env_count, 2);
    assert_string_equal(config.env[0], "DJANGO_SETTINGS_MODULE");
    assert_string_equal(config.env[1], "TZ");
    assert_int_equal(config.lockfile_count, 2);
    assert_string_equal(config.lockfiles[1], "requirements*.txt");
    ash__config_free(&config);
    load(f, &config, "[tool.aftershock]\nenv = \"TZ\"\n");
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, "line 2: tool.aftershock.env must be an array of strings; ignored");
    assert_int_equal(config.env_count, 0);
    ash__config_free(&config);
}

/* A wrong key costs only itself. */
static void test_wrong_type_keeps_other_keys(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "roots = [1]\n"
         "exclude = [\"build\"]\n"
         "python = \"\"\n"
         "type_checking_imports = false\n"
         "\n"
         "[tool.aftershock.nested]\n"
         "roots = [\"x\"]\n");
    assert_int_equal(f->warning_count, 3);
    assert_warning(f, 0, "line 2: tool.aftershock.roots must be an array of strings; ignored");
    assert_warning(f, 1, "line 4: tool.aftershock.python must be a non-empty string; ignored");
    assert_warning(f, 2, "line 7: unknown key tool.aftershock.nested; ignored");
    assert_int_equal(config.roots_set, 0);
    assert_int_equal(config.exclude_count, 1);
    assert_string_equal(config.exclude[0], "build");
    assert_null(config.python);
    assert_int_equal(config.type_checking_imports, 0);
    ash__config_free(&config);
}

static void test_unknown_keys(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "root = [\"src\"]\n"
         "roots = [\"lib\"]\n"
         "\"odd\\nkey\" = 1\n");
    assert_int_equal(f->warning_count, 2);
    assert_warning(f, 0, "line 2: unknown key tool.aftershock.root; ignored");
    /* Control characters never reach the one-line message. */
    assert_warning(f, 1, "line 4: unknown key tool.aftershock.odd?key; ignored");
    assert_int_equal(config.root_count, 1);
    assert_string_equal(config.roots[0], "lib");
    ash__config_free(&config);
    /* A long key is cut, between UTF-8 sequences. */
    char text[512] = "[tool.aftershock]\n\"";
    char expected[512] = "line 2: unknown key tool.aftershock.";
    for (int i = 0; i < 100; i++) {
        strcat(text, "\xc3\xa9");
    }
    strcat(text, "\" = 1\n");
    for (int i = 0; i < 59; i++) { /* 118 of the 119 bytes that fit */
        strcat(expected, "\xc3\xa9");
    }
    strcat(expected, "; ignored");
    f->warning_count = 0;
    load(f, &config, text);
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, expected);
    ash__config_free(&config);
}

static void test_bad_roots_skipped(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config,
         "[tool.aftershock]\n"
         "roots = [\n"
         "  \"/abs/src\",\n"
         "  \"src\",\n"
         "  \"../outside\",\n"
         "  \"a/../b\",\n"
         "  \"ok/..\",\n"
         "]\n");
    assert_int_equal(f->warning_count, 4);
    assert_warning(f, 0,
                   "line 3: tool.aftershock.roots: \"/abs/src\" is an absolute path; skipped");
    assert_warning(f, 1,
                   "line 5: tool.aftershock.roots: \"../outside\" goes outside the project; "
                   "skipped");
    assert_warning(f, 2, "line 6: tool.aftershock.roots: \"a/../b\" goes outside the project; "
                         "skipped");
    assert_warning(f, 3, "line 7: tool.aftershock.roots: \"ok/..\" goes outside the project; "
                         "skipped");
    assert_int_equal(config.roots_set, 1);
    assert_int_equal(config.root_count, 1);
    assert_string_equal(config.roots[0], "src");
    ash__config_free(&config);
}

/* When no root survives, roots count as unset so that they are detected instead. */
static void test_all_roots_rejected(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[tool.aftershock]\nroots = [\"/src\"]\n");
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, "line 2: tool.aftershock.roots: \"/src\" is an absolute path; skipped");
    assert_defaults(&config);
}

static void test_section_not_a_table(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[tool]\nruff = {}\naftershock = [\"src\"]\n");
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0,
                   "line 3: tool.aftershock must be a table; using the default configuration");
    assert_defaults(&config);
}

static void test_nul_in_strings(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[tool.aftershock]\nroots = [\"a\\u0000b\"]\npython = \"p\\u0000\"\n");
    assert_int_equal(f->warning_count, 2);
    assert_warning(f, 0, "line 2: tool.aftershock.roots must be an array of strings; ignored");
    assert_warning(f, 1, "line 3: tool.aftershock.python must be a non-empty string; ignored");
    assert_defaults(&config);
}

static void test_unreadable_file(void **state)
{
    fixture *f = *state;
    char path[512];
    /* A directory where the file should be: it exists but cannot be read as a file. */
    snprintf(path, sizeof(path), "%s/pyproject.toml", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    ash_config config;
    ash__config_init(&config);
    assert_int_equal(ash__config_load(&config, f->dir, "pyproject.toml", collect, f), 0);
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, "cannot be read (is a directory); using the default configuration");
    assert_defaults(&config);
}

static void test_invalid_utf8_file(void **state)
{
    fixture *f = *state;
    ash_config config;
    load(f, &config, "[tool.aftershock]\n# caf\xe9\nroots = [\"src\"]\n");
    assert_int_equal(f->warning_count, 1);
    assert_warning(f, 0, "line 2: invalid UTF-8; using the default configuration");
    assert_defaults(&config);
}

static void test_no_diag_callback(void **state)
{
    fixture *f = *state;
    write_file(f, "pyproject.toml", "[tool.aftershock]\nroots = 1\nbad = 2\npython = \"py\"\n");
    ash_config config;
    ash__config_init(&config);
    assert_int_equal(ash__config_load(&config, f->dir, "pyproject.toml", NULL, NULL), 0);
    assert_string_equal(config.python, "py");
    assert_int_equal(config.roots_set, 0);
    ash__config_free(&config);
}

/* ---------------------------------------------------------------------------------------- */
/* Allocation failures                                                                      */

typedef struct load_case {
    fixture *f;
    ash_config config;
} load_case;

static int load_attempt(void *payload)
{
    load_case *c = payload;
    ash__config_init(&c->config);
    return ash__config_load(&c->config, c->f->dir, "pyproject.toml", collect, c->f);
}

static int load_cleanup(void *payload, int rc)
{
    load_case *c = payload;
    if (rc == ASH_ENOMEM) {
        /* A failed load leaves the defaults. */
        assert_defaults(&c->config);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(c->config.root_count, 2);
        assert_string_equal(c->config.roots[0], "src");
        assert_int_equal(c->config.exclude_count, 2);
        assert_string_equal(c->config.python, "py");
    }
    ash__config_free(&c->config);
    return 0;
}

static void test_allocation_failures(void **state)
{
    fixture *f = *state;
    write_file(f, "pyproject.toml",
               "[project]\nname = \"x\"\n"
               "[tool.aftershock]\n"
               "roots = [\"./src\", \"lib\", \"/abs\", \"lib\"]\n"
               "exclude = [\"a\", \"b\"]\n"
               "python = \"py\"\n"
               "type-checking-imports = false\n"
               "unknown = 1\n");
    load_case c = {.f = f};
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(load_attempt, load_cleanup, &c);
    alloc_hook_remove();
    assert_true(failures > 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_aftershock_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_underscore_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_normalised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_path_in_subdirectory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_toml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_and_lockfiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type_keeps_other_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_roots_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_roots_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_section_not_a_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_diag_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
