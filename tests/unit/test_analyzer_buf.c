/*
 * Unit tests of the analyzer's byte buffers, allocation and error helpers (analyzer/src/buf.c,
 * alloc.c, error.c): growth, JSON string literals, UTF-8 validation, reading files, joining
 * paths, string lists, per-thread error messages and warnings.
 */
#include "util.h"

#include <errno.h>
#include <pthread.h>
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

/* ---------------------------------------------------------------------------------------- */
/* Buffers                                                                                  */

static void test_buf_empty(void **state)
{
    (void)state;
    ash_buf buf = ASH_BUF_INIT;
    assert_string_equal(ash__buf_cstr(&buf), "");
    ash__buf_clear(&buf);
    assert_int_equal(buf.len, 0);
    ash__buf_free(&buf);
    ash__buf_free(&buf); /* twice: harmless */
    assert_null(buf.ptr);
}

static void test_buf_put_puts_putc_printf(void **state)
{
    (void)state;
    ash_buf buf = ASH_BUF_INIT;
    assert_int_equal(ash__buf_put(&buf, "ab", 2), 0);
    assert_int_equal(ash__buf_puts(&buf, "cd"), 0);
    assert_int_equal(ash__buf_putc(&buf, 'e'), 0);
    assert_int_equal(ash__buf_printf(&buf, "-%d-%s-", 42, "x"), 0);
    assert_int_equal(ash__buf_put(&buf, "", 0), 0);
    assert_string_equal(ash__buf_cstr(&buf), "abcde-42-x-");
    assert_int_equal(buf.len, strlen("abcde-42-x-"));
    assert_true(buf.cap > buf.len);
    assert_int_equal(ash__buf_put(&buf, "\0z", 2), 0);
    assert_int_equal(buf.len, 13);
    assert_memory_equal(buf.ptr + 11, "\0z", 3);
    ash__buf_free(&buf);
}

static void test_buf_growth(void **state)
{
    (void)state;
    ash_buf buf = ASH_BUF_INIT;
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(ash__buf_putc(&buf, (char)('a' + i % 26)), 0);
    }
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(ash__buf_printf(&buf, "%05d", i), 0);
    }
    char big[10000];
    memset(big, 'Q', sizeof(big));
    assert_int_equal(ash__buf_put(&buf, big, sizeof(big)), 0);
    /* one printf larger than any buffer so far */
    assert_int_equal(ash__buf_printf(&buf, "%70000s", "end"), 0);
    size_t expect = 20000 + 5000 * 5 + sizeof(big) + 70000;
    assert_int_equal(buf.len, expect);
    assert_int_equal(strlen(buf.ptr), expect);
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(buf.ptr[i], 'a' + i % 26);
    }
    for (int i = 0; i < 5000; i++) {
        char want[8];
        snprintf(want, sizeof(want), "%05d", i);
        assert_memory_equal(buf.ptr + 20000 + 5 * i, want, 5);
    }
    assert_memory_equal(buf.ptr + 45000, big, sizeof(big));
    assert_string_equal(buf.ptr + expect - 3, "end");
    ash__buf_free(&buf);
}

static void test_buf_detach_clear(void **state)
{
    (void)state;
    ash_buf buf = ASH_BUF_INIT;
    char *p = ash__buf_detach(&buf);
    assert_non_null(p);
    assert_string_equal(p, "");
    ash__free(p);

    assert_int_equal(ash__buf_puts(&buf, "hello"), 0);
    ash__buf_clear(&buf);
    assert_int_equal(buf.len, 0);
    assert_string_equal(ash__buf_cstr(&buf), "");
    assert_int_equal(ash__buf_puts(&buf, "world"), 0);
    p = ash__buf_detach(&buf);
    assert_string_equal(p, "world");
    assert_null(buf.ptr);
    assert_int_equal(buf.len, 0);
    assert_int_equal(buf.cap, 0);
    ash__free(p);
    /* usable again after detach */
    assert_int_equal(ash__buf_puts(&buf, "again"), 0);
    assert_string_equal(ash__buf_cstr(&buf), "again");
    ash__buf_free(&buf);
}

/* ---------------------------------------------------------------------------------------- */
/* JSON                                                                                     */

static void check_json_len(const char *in, size_t len, const char *want)
{
    ash_buf buf = ASH_BUF_INIT;
    assert_int_equal(ash__buf_json(&buf, in, len), 0);
    assert_string_equal(ash__buf_cstr(&buf), want);
    assert_int_equal(buf.len, strlen(want));
    /* the output is always valid UTF-8 */
    assert_int_equal(ash__utf8_check(buf.ptr, buf.len), buf.len);
    ash__buf_free(&buf);
}

static void check_json(const char *in, const char *want)
{
    check_json_len(in, strlen(in), want);
}

static void test_json_plain_and_escapes(void **state)
{
    (void)state;
    check_json("", "\"\"");
    check_json("abc", "\"abc\"");
    check_json("a\"b", "\"a\\\"b\"");
    check_json("a\\b", "\"a\\\\b\"");
    check_json("/", "\"/\"");
    check_json("\n\t\r", "\"\\u000a\\u0009\\u000d\"");
    check_json("\x01\x1f", "\"\\u0001\\u001f\"");
    check_json("\x7f", "\"\x7f\"");
    check_json_len("a\0b", 3, "\"a\\u0000b\"");
}

static void test_json_utf8(void **state)
{
    (void)state;
    check_json("caf\xC3\xA9", "\"caf\xC3\xA9\"");           /* é */
    check_json("\xE2\x82\xAC", "\"\xE2\x82\xAC\"");         /* € */
    check_json("\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""); /* 😀 */
    check_json("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\""); /* U+10FFFF */
    check_json("\xEF\xBF\xBD", "\"\xEF\xBF\xBD\"");         /* U+FFFD itself */
    check_json("\xEE\x80\x80", "\"\xEE\x80\x80\"");         /* U+E000 */
}

#define FFFD "\xEF\xBF\xBD"

static void test_json_invalid_utf8(void **state)
{
    (void)state;
    check_json("\xFF", "\"" FFFD "\"");
    check_json("a\x80z", "\"a" FFFD "z\"");
    check_json("\xC3", "\"" FFFD "\"");                            /* truncated at the end */
    check_json("\xC3z", "\"" FFFD "z\"");                          /* bad continuation */
    check_json("\xC0\xAF", "\"" FFFD FFFD "\"");                   /* overlong '/' */
    check_json("\xC1\xBF", "\"" FFFD FFFD "\"");                   /* overlong */
    check_json("\xE0\x80\xAF", "\"" FFFD FFFD FFFD "\"");          /* overlong 3 bytes */
    check_json("\xF0\x80\x80\xAF", "\"" FFFD FFFD FFFD FFFD "\""); /* overlong 4 bytes */
    check_json("\xED\xA0\x80", "\"" FFFD FFFD FFFD "\"");          /* surrogate D800 */
    check_json("\xED\xBF\xBF", "\"" FFFD FFFD FFFD "\"");          /* surrogate DFFF */
    check_json("\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
    check_json("\xF5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"");
    check_json("\xE2\x82", "\"" FFFD FFFD "\""); /* truncated 3-byte */
    /* an invalid byte between valid ones, and quotes after it still escaped */
    check_json("\xC3\xA9\xFE\"", "\"\xC3\xA9" FFFD "\\\"\"");
}

static void test_write_json_string(void **state)
{
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    assert_int_equal(ash_write_json_string(f, "a\"b\\c\n\xFF"), 0);
    assert_int_equal(ash_write_json_string(f, ""), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(text, "\"a\\\"b\\\\c\\u000a" FFFD "\"\"\"");
    free(text);
}

/* ---------------------------------------------------------------------------------------- */
/* UTF-8                                                                                    */

struct utf8_case {
    const char *bytes;
    size_t n;
    size_t seq; /* ash__utf8_seq of the whole */
};

static const struct utf8_case utf8_cases[] = {
    {"a", 1, 1},
    {"\x00", 1, 1},
    {"\x7F", 1, 1},
    {"\xC2\x80", 2, 2},         /* U+0080, smallest 2-byte */
    {"\xDF\xBF", 2, 2},         /* U+07FF */
    {"\xE0\xA0\x80", 3, 3},     /* U+0800, smallest 3-byte */
    {"\xED\x9F\xBF", 3, 3},     /* U+D7FF, before the surrogates */
    {"\xEE\x80\x80", 3, 3},     /* U+E000, after them */
    {"\xEF\xBF\xBF", 3, 3},     /* U+FFFF */
    {"\xF0\x90\x80\x80", 4, 4}, /* U+10000 */
    {"\xF4\x8F\xBF\xBF", 4, 4}, /* U+10FFFF */
    {"\x80", 1, 0},             /* lone continuation */
    {"\xBF", 1, 0},
    {"\xC0\x80", 2, 0}, /* overlong NUL */
    {"\xC1\xBF", 2, 0},
    {"\xE0\x9F\xBF", 3, 0},     /* overlong U+07FF */
    {"\xF0\x8F\xBF\xBF", 4, 0}, /* overlong U+FFFF */
    {"\xED\xA0\x80", 3, 0},     /* U+D800 */
    {"\xED\xBF\xBF", 3, 0},     /* U+DFFF */
    {"\xF4\x90\x80\x80", 4, 0}, /* U+110000 */
    {"\xF5\x80\x80\x80", 4, 0},
    {"\xF8\x88\x80\x80\x80", 5, 0},
    {"\xFE", 1, 0},
    {"\xFF", 1, 0},
    {"\xC3", 1, 0}, /* truncated */
    {"\xE2\x82", 2, 0},
    {"\xF0\x9F\x98", 3, 0},
    {"\xC3\x28", 2, 0}, /* bad continuation */
    {"\xE2\x28\xA1", 3, 0},
    {"\xF0\x9F\x28\x80", 4, 0},
};

static void test_utf8_seq_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ASH_ARRAY_SIZE(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        size_t got = ash__utf8_seq((const unsigned char *)c->bytes, c->n);
        if (got != c->seq) {
            print_error("case %zu: got %zu, want %zu\n", i, got, c->seq);
        }
        assert_int_equal(got, c->seq);
        /* check: the whole is valid iff seq covers it; otherwise invalid at 0 */
        size_t chk = ash__utf8_check(c->bytes, c->n);
        assert_int_equal(chk, c->seq == c->n ? c->n : 0);
    }
}

static void test_utf8_check_offsets(void **state)
{
    (void)state;
    assert_int_equal(ash__utf8_check("", 0), 0);
    const char *ascii = "the quick brown fox jumps over the lazy dog";
    assert_int_equal(ash__utf8_check(ascii, strlen(ascii)), strlen(ascii));
    /* invalid byte after the eight-byte fast path, at various offsets */
    for (size_t off = 0; off < 24; off++) {
        char s[40];
        memset(s, 'x', sizeof(s));
        s[off] = (char)0xFF;
        assert_int_equal(ash__utf8_check(s, sizeof(s)), off);
        memcpy(s + off, "\xC3\xA9", 2); /* valid now */
        assert_int_equal(ash__utf8_check(s, sizeof(s)), sizeof(s));
    }
    const char *mixed = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z\xED\xA0\x80";
    assert_int_equal(ash__utf8_check(mixed, strlen(mixed)), 12);
    /* a valid sequence cut by len */
    assert_int_equal(ash__utf8_check("a\xE2\x82\xAC", 3), 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Files and paths                                                                          */

static char tmpdir[64];

static int files_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ash-buf-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int files_teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/f.txt", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/empty", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub", tmpdir);
    rmdir(path);
    return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_read_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/f.txt", tmpdir);
    write_file(path, "hello\0world", 11);
    char *data = (char *)1;
    size_t len = 99;
    assert_int_equal(ash__read_file(&data, &len, path, 0), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "hello\0world", 12); /* NUL-terminated */
    ash__free(data);

    /* exactly at the limit is allowed */
    assert_int_equal(ash__read_file(&data, &len, path, 11), 0);
    assert_int_equal(len, 11);
    ash__free(data);

    snprintf(path, sizeof(path), "%s/empty", tmpdir);
    write_file(path, "", 0);
    assert_int_equal(ash__read_file(&data, &len, path, 0), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    ash__free(data);
}

static void test_read_file_missing(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/no-such-file", tmpdir);
    char *data = (char *)1;
    size_t len = 99;
    assert_int_equal(ash__read_file(&data, &len, path, 0), ASH_EIO);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_non_null(strstr(ash_error_last(), path));
    assert_non_null(strstr(ash_error_last(), strerror(ENOENT)));
}

static void test_read_file_directory(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/sub", tmpdir);
    assert_int_equal(mkdir(path, 0755), 0);
    char *data = (char *)1;
    size_t len = 99;
    assert_int_equal(ash__read_file(&data, &len, path, 0), ASH_EIO);
    assert_null(data);
    assert_non_null(strstr(ash_error_last(), path));
}

static void test_read_file_over_limit(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/f.txt", tmpdir);
    write_file(path, "0123456789", 10);
    char *data = (char *)1;
    size_t len = 0;
    assert_int_equal(ash__read_file(&data, &len, path, 9), ASH_EINVAL);
    assert_null(data);
    assert_int_equal(len, 10);
    assert_non_null(strstr(ash_error_last(), path));
}

static void test_read_fd_pipe(void **state)
{
    (void)state;
    /* not a regular file: the size is unknown, growth happens while reading */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char chunk[1000];
    memset(chunk, 'p', sizeof(chunk));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(write(fds[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    }
    close(fds[1]);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(ash__read_fd(&data, &len, fds[0], "<pipe>", 0), 0);
    close(fds[0]);
    assert_int_equal(len, 10000);
    assert_int_equal(strlen(data), 10000);
    ash__free(data);

    assert_int_equal(pipe(fds), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(write(fds[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    }
    close(fds[1]);
    assert_int_equal(ash__read_fd(&data, &len, fds[0], "<pipe>", 5000), ASH_EINVAL);
    close(fds[0]);
    assert_null(data);
    assert_true(len > 5000);
    assert_non_null(strstr(ash_error_last(), "<pipe>"));
}

static void test_path_below(void **state)
{
    (void)state;
    assert_string_equal(ash__path_below("src", "src/a/b.py"), "a/b.py");
    assert_string_equal(ash__path_below("src", "src"), "");
    assert_string_equal(ash__path_below("", "src/a.py"), "src/a.py");
    assert_string_equal(ash__path_below("/r/p", "/r/p/x"), "x");
    assert_null(ash__path_below("src", "srcx/a.py")); /* a component boundary, not a prefix */
    assert_null(ash__path_below("src/a", "src"));
    assert_null(ash__path_below("/r/p", "/r/q/x"));
}

static void check_join(const char *a, const char *b, const char *want)
{
    char *p = ash__path_join(a, b);
    assert_non_null(p);
    assert_string_equal(p, want);
    ash__free(p);
}

static void test_path_join(void **state)
{
    (void)state;
    check_join("a", "b", "a/b");
    check_join("a/b", "c/d.py", "a/b/c/d.py");
    check_join("", "b", "b");
    check_join("a", "", "a");
    check_join("", "", "");
    check_join(NULL, "b", "b");
    check_join("a", NULL, "a");
    check_join("a/", "b", "a/b");
    check_join("a///", "b", "a/b");
    check_join("/", "b", "/b");
    check_join("/", "", "/");
    check_join("/tmp/", "x", "/tmp/x");
}

/* ---------------------------------------------------------------------------------------- */
/* String lists and allocation                                                              */

static void test_strings(void **state)
{
    (void)state;
    ash_strings list = {0};
    assert_int_equal(ash__strings_add(&list, "alpha", 5), 0);
    assert_int_equal(ash__strings_add(&list, "beta-ignored", 4), 0);
    assert_int_equal(ash__strings_add(&list, "alpha", 5), 0); /* duplicates allowed */
    assert_int_equal(ash__strings_add(&list, "", 0), 0);
    assert_int_equal(list.count, 4);
    assert_string_equal(list.items[0], "alpha");
    assert_string_equal(list.items[1], "beta");
    assert_string_equal(list.items[2], "alpha");
    assert_string_equal(list.items[3], "");
    assert_int_equal(ash__strings_add_unique(&list, "beta", 4), 0);
    assert_int_equal(ash__strings_add_unique(&list, "alphabet", 5), 0); /* "alpha" */
    assert_int_equal(list.count, 4);
    assert_int_equal(ash__strings_add_unique(&list, "gamma", 5), 0);
    assert_int_equal(ash__strings_add_unique(&list, "alp", 3), 0); /* prefix: distinct */
    assert_int_equal(list.count, 6);
    assert_string_equal(list.items[4], "gamma");
    assert_string_equal(list.items[5], "alp");
    for (int i = 0; i < 1000; i++) {
        char s[16];
        int n = snprintf(s, sizeof(s), "s%d", i);
        assert_int_equal(ash__strings_add(&list, s, (size_t)n), 0);
    }
    assert_int_equal(list.count, 1006);
    assert_string_equal(list.items[1005], "s999");
    ash__strings_free(&list);
    assert_int_equal(list.count, 0);
    ash__strings_free(&list); /* twice: harmless */
}

static void test_grow(void **state)
{
    (void)state;
    int *arr = NULL;
    size_t cap = 0;
    assert_int_equal(ash__grow((void **)&arr, &cap, 1, sizeof(int)), 0);
    assert_true(cap >= 1);
    arr[0] = 7;
    for (size_t need = 2; need < 5000; need++) {
        assert_int_equal(ash__grow((void **)&arr, &cap, need, sizeof(int)), 0);
        assert_true(cap >= need);
        arr[need - 1] = (int)need;
    }
    assert_int_equal(arr[0], 7);
    for (size_t i = 1; i < 4999; i++) {
        assert_int_equal(arr[i], (int)i + 1);
    }
    size_t before = cap;
    assert_int_equal(ash__grow((void **)&arr, &cap, 3, sizeof(int)), 0); /* no shrink */
    assert_int_equal(cap, before);
    ash__free(arr);
}

static void test_alloc_helpers(void **state)
{
    (void)state;
    void *a = ash__malloc(0), *b = ash__malloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    ash__free(a);
    ash__free(b);
    ash__free(NULL);
    unsigned char *z = ash__calloc(16, 4);
    assert_non_null(z);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(z[i], 0);
    }
    ash__free(z);
    char *s = ash__strdup("dup");
    assert_string_equal(s, "dup");
    ash__free(s);
    s = ash__strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    ash__free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* Errors and warnings                                                                      */

static void test_error_records_message(void **state)
{
    (void)state;
    assert_int_equal(ash__error(ASH_ECONFIG, "bad %s at %d", "key", 3), ASH_ECONFIG);
    assert_string_equal(ash_error_last(), "bad key at 3");
    assert_int_equal(ash__error_oom(), ASH_ENOMEM);
    assert_string_equal(ash_error_last(), "out of memory");
    /* a very long message is truncated, not overflowed */
    char big[3000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(ash__error(ASH_ERROR, "%s", big), ASH_ERROR);
    assert_true(strlen(ash_error_last()) > 0);
    assert_true(strlen(ash_error_last()) < sizeof(big) - 1);
}

static void *thread_main(void *arg)
{
    (void)arg;
    char *seen = malloc(256);
    snprintf(seen, 256, "[%s]", ash_error_last()); /* initially empty on a new thread */
    ash__error(ASH_EIO, "from the thread");
    size_t n = strlen(seen);
    snprintf(seen + n, 256 - n, "%s", ash_error_last());
    return seen;
}

static void test_error_per_thread(void **state)
{
    (void)state;
    ash__error(ASH_EINVAL, "from main");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, thread_main, NULL), 0);
    void *ret = NULL;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_string_equal((char *)ret, "[]from the thread");
    free(ret);
    assert_string_equal(ash_error_last(), "from main");
}

struct diag_log {
    int calls;
    char path[64];
    char message[256];
};

static void diag_cb(const char *path, const char *message, void *payload)
{
    struct diag_log *log = payload;
    log->calls++;
    snprintf(log->path, sizeof(log->path), "%s", path ? path : "(null)");
    snprintf(log->message, sizeof(log->message), "%s", message);
}

static void test_diag(void **state)
{
    (void)state;
    struct diag_log log = {0};
    ash__diag(NULL, &log, "x.py", "ignored %d", 1); /* no-op */
    ash__diag(NULL, NULL, NULL, "ignored");
    assert_int_equal(log.calls, 0);
    ash__diag(diag_cb, &log, "x.py", "line %d: %s", 4, "odd");
    assert_int_equal(log.calls, 1);
    assert_string_equal(log.path, "x.py");
    assert_string_equal(log.message, "line 4: odd");
    ash__diag(diag_cb, &log, NULL, "no path");
    assert_int_equal(log.calls, 2);
    assert_string_equal(log.path, "(null)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_empty),
        cmocka_unit_test(test_buf_put_puts_putc_printf),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_buf_detach_clear),
        cmocka_unit_test(test_json_plain_and_escapes),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_write_json_string),
        cmocka_unit_test(test_utf8_seq_table),
        cmocka_unit_test(test_utf8_check_offsets),
        cmocka_unit_test_setup_teardown(test_read_file, files_setup, files_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_missing, files_setup, files_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_directory, files_setup, files_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_over_limit, files_setup, files_teardown),
        cmocka_unit_test(test_read_fd_pipe),
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_path_below),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_alloc_helpers),
        cmocka_unit_test(test_error_records_message),
        cmocka_unit_test(test_error_per_thread),
        cmocka_unit_test(test_diag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
