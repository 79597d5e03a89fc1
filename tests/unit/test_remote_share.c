/*
 * The shared cache's client without a server: what it refuses to be configured with, scope
 * names, and that a remote nobody answers turns every request into a miss with one warning.
 * (tests/integration/test_remote_cache.py drives it against a real nginx.)
 */
#include "remote.h"
#include "sha256.h"
#include "share.h"

#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static int warnings;
static char last_warning[512];

static void count_diag(const char *path, const char *message, void *payload)
{
    (void)path, (void)payload;
    warnings++;
    snprintf(last_warning, sizeof(last_warning), "%s", message);
}

static void test_urls_refused(void **state)
{
    (void)state;
    ash_remote *r = NULL;
    ash_remote_options o = {.url = "ftp://host/x"};
    assert_int_equal(ash__remote_open(&r, &o), ASH_EINVAL);
    assert_null(r);
    o.url = "http://user:secret@host/x";
    assert_int_equal(ash__remote_open(&r, &o), ASH_EINVAL);
    assert_null(strstr(ash_error_last(), "secret"));
    o.url = "http://host/a@b/"; /* an '@' in the path is no credential */
    assert_int_equal(ash__remote_open(&r, &o), 0);
    assert_string_equal(ash__remote_url(r), "http://host/a@b");
    ash__remote_close(r);
}

static void test_scope_names(void **state)
{
    (void)state;
    assert_null(ash__share_scope_problem("main"));
    assert_null(ash__share_scope_problem("feature/x y"));
    assert_non_null(ash__share_scope_problem(""));
    assert_non_null(ash__share_scope_problem("a\nb"));
    char big[ASH_SHARE_SCOPE_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_non_null(ash__share_scope_problem(big));
    big[ASH_SHARE_SCOPE_MAX] = '\0';
    assert_null(ash__share_scope_problem(big));
}

/* A loopback port that refuses connections: bound, never listening. */
static int refusing_port(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static void test_unreachable_remote_is_misses_and_one_warning(void **state)
{
    (void)state;
    int fd;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/cache", refusing_port(&fd));
    ash_remote *r = NULL;
    ash_remote_options o = {.url = url, .timeout = 2, .diag = count_diag};
    assert_int_equal(ash__remote_open(&r, &o), 0);
    char *scopes[] = {"pr-1", "main"};
    ash_share s = {r, scopes, 2, count_diag, NULL};
    ash_key keys[3];
    memset(keys, 7, sizeof(keys));
    char *modules[] = {"tests/test_a.py", "tests/test_b.py", "tests/test_c.py"};
    ash_result out[3];
    int scope_of[3];
    warnings = 0;
    assert_int_equal(ash__share_fetch(&s, keys, modules, 3, out, scope_of), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(scope_of[i], -1);
        assert_null(out[i].module);
    }
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(last_warning, url));
    assert_non_null(ash__remote_error(r));
    /* later calls send nothing and warn no more */
    size_t written = 7;
    const ash_result *passes[1] = {&out[0]};
    assert_int_equal(ash__share_store(&s, keys, passes, 1, &written), 0);
    assert_int_equal(written, 0);
    double seconds[3];
    assert_int_equal(ash__share_fetch_durations(&s, modules, 3, seconds), 0);
    assert_true(seconds[0] < 0 && seconds[2] < 0);
    int from = 5;
    ash_share_file files[] = {{"parse-cache", "/nonexistent/parse-cache.bin"}};
    assert_int_equal(ash__share_pull_state(&s, files, 1, &from), 0);
    assert_int_equal(from, -1);
    assert_int_equal(warnings, 1);
    ash__remote_close(r);
    close(fd);
}

static void hex(const uint8_t *d, char out[65])
{
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* FIPS 180-4's examples, and the padding's edge (55, 56 and 64 bytes) against known digests. */
static void test_sha256_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *digest;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t d[32];
    char h[65];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ash__sha256(d, cases[i].in, strlen(cases[i].in));
        hex(d, h);
        assert_string_equal(h, cases[i].digest);
    }
    static char million[1000000];
    memset(million, 'a', sizeof(million));
    ash__sha256(d, million, sizeof(million));
    hex(d, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_urls_refused),
        cmocka_unit_test(test_scope_names),
        cmocka_unit_test(test_unreachable_remote_is_misses_and_one_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
