/*
 * Unit tests of the interpreter facts (analyzer/src/envinfo.c): parsing the probe's output,
 * classifying top-level names, and loading from a fake interpreter (a shell script) with and
 * without the cache directory, including interpreters that fail or do not exist.
 */
#include "envinfo.h"

#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char facts[] = "version 3.11.7\n"
                            "stdlib os\n"
                            "stdlib json\n"
                            "top requests requests\n"
                            "top yaml PyYAML\n"
                            "top mystery -\n"
                            "dist requests 2.32.3\n";

static ash_origin classify(const ash_envinfo *env, const char *name, const char **dist)
{
    return ash__envinfo_classify(env, name, strlen(name), dist);
}

static void test_from_facts(void **state)
{
    (void)state;
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_from_facts(&env, "/usr/bin/python3", facts), 0);
    assert_non_null(env);
    assert_int_equal(ash__envinfo_available(env), 1);
    assert_string_equal(ash__envinfo_version(env), "3.11.7");
    assert_string_equal(ash__envinfo_python(env), "/usr/bin/python3");
    assert_string_equal(ash__envinfo_facts(env), facts);

    const char *dist = "sentinel";
    assert_int_equal(classify(env, "os", &dist), ASH_ORIGIN_STDLIB);
    assert_null(dist);
    assert_int_equal(classify(env, "json", &dist), ASH_ORIGIN_STDLIB);
    assert_int_equal(classify(env, "requests", &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "requests");
    assert_int_equal(classify(env, "yaml", &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "PyYAML");
    dist = "sentinel";
    assert_int_equal(classify(env, "mystery", &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_null(dist);
    dist = "sentinel";
    assert_int_equal(classify(env, "nowhere", &dist), ASH_ORIGIN_UNKNOWN);
    assert_null(dist);
    /* names are matched whole: no prefixes, no case folding, no distribution names */
    assert_int_equal(classify(env, "o", &dist), ASH_ORIGIN_UNKNOWN);
    assert_int_equal(classify(env, "oss", &dist), ASH_ORIGIN_UNKNOWN);
    assert_int_equal(classify(env, "OS", &dist), ASH_ORIGIN_UNKNOWN);
    assert_int_equal(classify(env, "PyYAML", &dist), ASH_ORIGIN_UNKNOWN);
    assert_int_equal(classify(env, "version", &dist), ASH_ORIGIN_UNKNOWN);
    assert_int_equal(classify(env, "2.32.3", &dist), ASH_ORIGIN_UNKNOWN);
    assert_int_equal(classify(env, "", &dist), ASH_ORIGIN_UNKNOWN);
    ash__envinfo_free(env);
}

static void test_classify_dotted_uses_len(void **state)
{
    (void)state;
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_from_facts(&env, "py", facts), 0);
    const char *dist = NULL;
    const char *name = "os.path";
    assert_int_equal(ash__envinfo_classify(env, name, 2, &dist), ASH_ORIGIN_STDLIB);
    assert_int_equal(ash__envinfo_classify(env, name, strlen(name), &dist), ASH_ORIGIN_UNKNOWN);
    name = "requests.adapters";
    assert_int_equal(ash__envinfo_classify(env, name, 8, &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "requests");
    name = "yamlfoo";
    assert_int_equal(ash__envinfo_classify(env, name, 4, &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "PyYAML");
    ash__envinfo_free(env);
}

static void test_unavailable_and_null(void **state)
{
    (void)state;
    const char *dist = "sentinel";
    assert_int_equal(ash__envinfo_available(NULL), 0);
    assert_string_equal(ash__envinfo_version(NULL), "");
    assert_string_equal(ash__envinfo_python(NULL), "");
    assert_string_equal(ash__envinfo_facts(NULL), "");
    assert_int_equal(classify(NULL, "os", &dist), ASH_ORIGIN_UNKNOWN);
    assert_null(dist);
    ash__envinfo_free(NULL);
}

static void test_from_facts_odd_lines(void **state)
{
    (void)state;
    /* unknown kinds, lines without an argument, no trailing newline, duplicates */
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_from_facts(&env, "py",
                                             "garbage\n\nexecutable /x/python\nfuture thing\n"
                                             "top dup first\ntop dup second\nstdlib re"),
                     0);
    assert_string_equal(ash__envinfo_version(env), "");
    const char *dist = NULL;
    assert_int_equal(classify(env, "re", &dist), ASH_ORIGIN_STDLIB);
    assert_int_equal(classify(env, "dup", &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "first");
    assert_int_equal(classify(env, "garbage", &dist), ASH_ORIGIN_UNKNOWN);
    ash__envinfo_free(env);

    assert_int_equal(ash__envinfo_from_facts(&env, "py", ""), 0);
    assert_int_equal(ash__envinfo_available(env), 1);
    assert_int_equal(classify(env, "os", &dist), ASH_ORIGIN_UNKNOWN);
    ash__envinfo_free(env);
}

/* ---------------------------------------------------------------------------------------- */
/* Loading from a fake interpreter                                                          */

static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int dir_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ash-envinfo-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int dir_teardown(void **state)
{
    (void)state;
    return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct diag_log {
    int calls;
    char message[1024];
};

static void diag_cb(const char *path, const char *message, void *payload)
{
    (void)path;
    struct diag_log *log = payload;
    log->calls++;
    snprintf(log->message, sizeof(log->message), "%s", message);
}

/* An executable script dir/name with `body` after the shebang; its path into out. */
static void write_script(char *out, size_t size, const char *name, const char *body)
{
    snprintf(out, size, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(out, 0755), 0);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

static int count_cache_files(const char *cache)
{
    DIR *d = opendir(cache);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        n += strncmp(e->d_name, "python-", 7) == 0;
    }
    closedir(d);
    return n;
}

static void write_fake_python(char *python, size_t size, char *marker, size_t msize)
{
    snprintf(marker, msize, "%s/marker", dir);
    char body[1024];
    snprintf(body, sizeof(body), "echo ran >> '%s'\nprintf '%%s' '%s'\n", marker, facts);
    write_script(python, size, "python", body);
}

static void test_load_fake_interpreter_cached(void **state)
{
    (void)state;
    char python[256], marker[256], cache[256];
    write_fake_python(python, sizeof(python), marker, sizeof(marker));
    snprintf(cache, sizeof(cache), "%s/cache", dir);
    assert_int_equal(mkdir(cache, 0755), 0);

    struct diag_log log = {0};
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_load(&env, python, cache, diag_cb, &log), 0);
    assert_int_equal(log.calls, 0);
    assert_int_equal(ash__envinfo_available(env), 1);
    assert_string_equal(ash__envinfo_version(env), "3.11.7");
    assert_string_equal(ash__envinfo_python(env), python);
    assert_string_equal(ash__envinfo_facts(env), facts);
    const char *dist = NULL;
    assert_int_equal(classify(env, "yaml", &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "PyYAML");
    ash__envinfo_free(env);
    assert_int_equal(count_lines(marker), 1);
    assert_int_equal(count_cache_files(cache), 1);

    /* the second load reads the cache: the script does not run again */
    assert_int_equal(ash__envinfo_load(&env, python, cache, diag_cb, &log), 0);
    assert_int_equal(log.calls, 0);
    assert_int_equal(count_lines(marker), 1);
    assert_int_equal(ash__envinfo_available(env), 1);
    assert_string_equal(ash__envinfo_version(env), "3.11.7");
    assert_string_equal(ash__envinfo_facts(env), facts);
    assert_int_equal(classify(env, "json", &dist), ASH_ORIGIN_STDLIB);
    assert_int_equal(classify(env, "requests", &dist), ASH_ORIGIN_THIRD_PARTY);
    assert_string_equal(dist, "requests");
    ash__envinfo_free(env);
    assert_int_equal(count_cache_files(cache), 1);

    /* without a cache directory it is asked every time */
    assert_int_equal(ash__envinfo_load(&env, python, NULL, diag_cb, &log), 0);
    assert_int_equal(ash__envinfo_available(env), 1);
    assert_int_equal(count_lines(marker), 2);
    ash__envinfo_free(env);
}

static void test_load_cache_invalidated_by_interpreter_change(void **state)
{
    (void)state;
    char python[256], marker[256], cache[256];
    write_fake_python(python, sizeof(python), marker, sizeof(marker));
    snprintf(cache, sizeof(cache), "%s/cache", dir);
    assert_int_equal(mkdir(cache, 0755), 0);
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_load(&env, python, cache, NULL, NULL), 0);
    ash__envinfo_free(env);
    assert_int_equal(count_lines(marker), 1);

    /* the interpreter changes (size and content): asked again, new facts */
    char body[1024];
    snprintf(body, sizeof(body), "echo ran >> '%s'\nprintf 'version 3.12.1\\nstdlib tomllib\\n'\n",
             marker);
    write_script(python, sizeof(python), "python", body);
    assert_int_equal(ash__envinfo_load(&env, python, cache, NULL, NULL), 0);
    assert_int_equal(count_lines(marker), 2);
    assert_string_equal(ash__envinfo_version(env), "3.12.1");
    const char *dist;
    assert_int_equal(classify(env, "tomllib", &dist), ASH_ORIGIN_STDLIB);
    assert_int_equal(classify(env, "os", &dist), ASH_ORIGIN_UNKNOWN);
    ash__envinfo_free(env);
}

static void test_load_from_path_name(void **state)
{
    (void)state;
    char python[256], marker[256];
    write_fake_python(python, sizeof(python), marker, sizeof(marker));
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", dir, 1);
    ash_envinfo *env = NULL;
    int rc = ash__envinfo_load(&env, "python", NULL, NULL, NULL);
    if (saved) {
        setenv("PATH", saved, 1);
        free(saved);
    } else {
        unsetenv("PATH");
    }
    assert_int_equal(rc, 0);
    assert_int_equal(ash__envinfo_available(env), 1);
    assert_string_equal(ash__envinfo_python(env), python); /* the resolved path */
    ash__envinfo_free(env);
}

static void test_load_failing_interpreter(void **state)
{
    (void)state;
    char python[256], cache[256];
    write_script(python, sizeof(python), "python", "echo boom >&2\nexit 1\n");
    snprintf(cache, sizeof(cache), "%s/cache", dir);
    assert_int_equal(mkdir(cache, 0755), 0);
    struct diag_log log = {0};
    ash_envinfo *env = NULL;
    assert_int_equal(ash__envinfo_load(&env, python, cache, diag_cb, &log), 0);
    assert_non_null(env);
    assert_int_equal(ash__envinfo_available(env), 0);
    assert_int_equal(log.calls, 1);
    assert_non_null(strstr(log.message, python));
    assert_non_null(strstr(log.message, "boom"));
    assert_string_equal(ash__envinfo_version(env), "");
    assert_string_equal(ash__envinfo_facts(env), "");
    const char *dist = "sentinel";
    assert_int_equal(classify(env, "os", &dist), ASH_ORIGIN_UNKNOWN);
    assert_null(dist);
    ash__envinfo_free(env);
    assert_int_equal(count_cache_files(cache), 0); /* a failure is not cached */

    /* no diag: still fine */
    assert_int_equal(ash__envinfo_load(&env, python, NULL, NULL, NULL), 0);
    assert_int_equal(ash__envinfo_available(env), 0);
    ash__envinfo_free(env);
}

static void test_load_missing_interpreter(void **state)
{
    (void)state;
    struct diag_log log = {0};
    ash_envinfo *env = NULL;
    char python[256];
    snprintf(python, sizeof(python), "%s/no-such-python", dir);
    assert_int_equal(ash__envinfo_load(&env, python, dir, diag_cb, &log), 0);
    assert_non_null(env);
    assert_int_equal(ash__envinfo_available(env), 0);
    assert_int_equal(log.calls, 1);
    assert_non_null(strstr(log.message, "no-such-python"));
    ash__envinfo_free(env);

    log.calls = 0;
    assert_int_equal(ash__envinfo_load(&env, "no-such-python-xyz", NULL, diag_cb, &log), 0);
    assert_int_equal(ash__envinfo_available(env), 0);
    assert_int_equal(log.calls, 1);
    assert_non_null(strstr(log.message, "no-such-python-xyz"));
    ash__envinfo_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_facts),
        cmocka_unit_test(test_classify_dotted_uses_len),
        cmocka_unit_test(test_unavailable_and_null),
        cmocka_unit_test(test_from_facts_odd_lines),
        cmocka_unit_test_setup_teardown(test_load_fake_interpreter_cached, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_cache_invalidated_by_interpreter_change,
                                        dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_from_path_name, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_failing_interpreter, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_load_missing_interpreter, dir_setup, dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
