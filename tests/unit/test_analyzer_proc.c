/*
 * Unit tests of child processes (analyzer/src/proc.c): captured output with NUL bytes, exit
 * status and first line of standard error, large output on both streams, timeouts, programs
 * that cannot be started, the working directory, and PATH lookup.
 */
#include "proc.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_capture_output_status_err(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "printf 'a\\0b'; echo err >&2; echo second >&2; exit 3", NULL};
    char *out = NULL, err[64];
    size_t len = 0;
    int status = 0;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, err, sizeof(err), 0), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "a\0b", 4); /* NUL-terminated too */
    assert_int_equal(status, 3);
    assert_string_equal(err, "err"); /* the first line only */
    ash__free(out);
}

static void test_capture_success_no_err(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "echo hello", NULL};
    char *out = NULL, err[16] = "junk";
    size_t len = 0;
    int status = -5;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, err, sizeof(err), 5000), 0);
    assert_string_equal(out, "hello\n");
    assert_int_equal(len, 6);
    assert_int_equal(status, 0);
    assert_string_equal(err, "");
    ash__free(out);
    /* err may be NULL; empty output is "" */
    char *quiet[] = {"sh", "-c", "echo ignored >&2", NULL};
    assert_int_equal(ash__run_capture(&out, &len, &status, quiet, NULL, NULL, 0, 0), 0);
    assert_non_null(out);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    ash__free(out);
}

static void test_err_truncated(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "echo 0123456789abcdef >&2", NULL};
    char *out = NULL, err[8];
    size_t len;
    int status;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, err, sizeof(err), 0), 0);
    assert_string_equal(err, "0123456");
    ash__free(out);
}

static void test_stdin_is_dev_null(void **state)
{
    (void)state;
    char *argv[] = {"cat", NULL};
    char *out = NULL;
    size_t len = 9;
    int status = -1;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, NULL, 0, 5000), 0);
    assert_int_equal(len, 0);
    assert_int_equal(status, 0);
    ash__free(out);
}

static void test_large_both_streams(void **state)
{
    (void)state;
    /* 1 MB on each stream, interleaved: a reader of one pipe at a time would deadlock */
    char *argv[] = {"sh", "-c",
                    "i=0; while [ $i -lt 16 ]; do "
                    "head -c 65536 /dev/zero | tr '\\0' o; "
                    "head -c 65536 /dev/zero | tr '\\0' e >&2; "
                    "i=$((i+1)); done",
                    NULL};
    char *out = NULL, err[32];
    size_t len = 0;
    int status = -1;
    long long t0 = now_ms();
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, err, sizeof(err), 30000), 0);
    assert_true(now_ms() - t0 < 30000);
    assert_int_equal(status, 0);
    assert_int_equal(len, 1 << 20);
    assert_int_equal(strlen(out), 1 << 20);
    for (size_t i = 0; i < len; i++) {
        if (out[i] != 'o') {
            fail_msg("byte %zu is %d", i, out[i]);
        }
    }
    /* no newline on stderr: the whole first "line" truncated to err */
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(err[0], 'e');
    ash__free(out);
}

static void test_timeout_kills(void **state)
{
    (void)state;
    char *argv[] = {"sleep", "5", NULL};
    char *out = (char *)1;
    size_t len = 7;
    int status = 0;
    long long t0 = now_ms();
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, NULL, 0, 200), ASH_ECHILD);
    long long took = now_ms() - t0;
    assert_true(took >= 150);
    assert_true(took < 2000);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(status, 128 + SIGKILL);
    assert_non_null(strstr(ash_error_last(), "timed out"));
}

static void test_timeout_with_output(void **state)
{
    (void)state;
    /* a child that keeps writing is still stopped at the deadline */
    char *argv[] = {"sh", "-c", "while :; do echo spam; done", NULL};
    char *out = NULL;
    size_t len;
    int status;
    long long t0 = now_ms();
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, NULL, 0, 200), ASH_ECHILD);
    assert_true(now_ms() - t0 < 2000);
    assert_null(out);
}

static void test_missing_program(void **state)
{
    (void)state;
    char *argv[] = {"no-such-program-xyz", NULL};
    char *out = (char *)1, err[32];
    size_t len = 3;
    int status = 0;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, err, sizeof(err), 0),
                     ASH_ECHILD);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_non_null(strstr(ash_error_last(), "no-such-program-xyz"));
    char *abs[] = {"/nonexistent/dir/prog", NULL};
    assert_int_equal(ash__run_capture(&out, &len, &status, abs, NULL, NULL, 0, 0), ASH_ECHILD);
    assert_null(out);
}

static void test_cwd(void **state)
{
    (void)state;
    char *argv[] = {"pwd", NULL};
    char *out = NULL;
    size_t len;
    int status;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, "/tmp", NULL, 0, 5000), 0);
    assert_string_equal(out, "/tmp\n");
    ash__free(out);
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, "/", NULL, 0, 5000), 0);
    assert_string_equal(out, "/\n");
    ash__free(out);
    /* our own directory is unchanged */
    char here[4096];
    assert_non_null(getcwd(here, sizeof(here)));
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, NULL, 0, 5000), 0);
    assert_int_equal(strlen(out), strlen(here) + 1);
    assert_memory_equal(out, here, strlen(here));
    ash__free(out);
}

static void test_signal_status(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
    char *out = NULL;
    size_t len;
    int status;
    assert_int_equal(ash__run_capture(&out, &len, &status, argv, NULL, NULL, 0, 5000), 0);
    assert_int_equal(status, 128 + SIGTERM);
    ash__free(out);
}

static void test_which(void **state)
{
    (void)state;
    char *sh = ash__which("sh");
    assert_non_null(sh);
    assert_int_equal(sh[0], '/');
    assert_int_equal(access(sh, X_OK), 0);
    assert_non_null(strstr(sh, "/sh"));
    ash__free(sh);

    assert_null(ash__which("no-such-program-xyz"));

    char *bin = ash__which("/bin/sh");
    assert_non_null(bin);
    assert_string_equal(bin, "/bin/sh");
    ash__free(bin);

    assert_null(ash__which("/nonexistent/sh"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_output_status_err),
        cmocka_unit_test(test_capture_success_no_err),
        cmocka_unit_test(test_err_truncated),
        cmocka_unit_test(test_stdin_is_dev_null),
        cmocka_unit_test(test_large_both_streams),
        cmocka_unit_test(test_timeout_kills),
        cmocka_unit_test(test_timeout_with_output),
        cmocka_unit_test(test_missing_program),
        cmocka_unit_test(test_cwd),
        cmocka_unit_test(test_signal_status),
        cmocka_unit_test(test_which),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
