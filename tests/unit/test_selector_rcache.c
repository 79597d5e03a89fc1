/*
 * Unit tests of the result cache (selector/src/rcache.c): its layout, put/get round trips,
 * every kind of damage (a flipped byte anywhere in an entry, a truncated entry, an entry under
 * another key's name, an altered or missing blob, a planted link) being a miss with one warning
 * and the entry removed, least-recently-used pruning that sweeps only old unreferenced blobs,
 * clear, read-only caches, processes sharing one cache, and allocation failures.
 */
#include "alloc_hook.h"
#include "hash.h"
#include "rcache.h"
#include "tmp_tree.h"

// clang-format off
#include "diag_log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                  */

static char cache_dir[512];
static diag_log warnings;

static ash_key key_of(int i)
{
    ash_key k;
    for (int b = 0; b < 16; b++) {
        k.bytes[b] = (uint8_t)(i * 37 + b * 11 + 0xa5);
    }
    return k;
}

/* Result `i`: a junit blob of 1000 bytes of its own; the output blob only when `with_output`
 * (and the same for every result). */
static void make_result(ash_result *r, int i, int with_output)
{
    memset(r, 0, sizeof(*r));
    char module[64];
    snprintf(module, sizeof(module), "tests/test_%03d.py", i);
    r->module = ash__strdup(module);
    assert_non_null(r->module);
    for (int k = 0; k < ASH_COUNT_KINDS; k++) {
        r->counts[k] = (uint32_t)(i + k);
    }
    r->collected = (uint32_t)i * 3;
    r->duration = 0.5 + i;
    r->outcome = i % 4 == 3 ? ASH_OUTCOME_CRASHED : ash__result_outcome(r);
    for (int n = 0; n < 1000; n++) {
        assert_int_equal(ash__buf_putc(&r->junit, (char)('a' + (n * (i + 1)) % 26)), 0);
    }
    if (with_output) {
        assert_int_equal(ash__buf_puts(&r->output, "E   assert 1 == 2\n"), 0);
    }
}

/* Results are the same when they serialise the same (result.c's own test covers that), have
 * the same outcome (not serialised) and the same duration (serialised to the microsecond). */
static void assert_same_result(const ash_result *a, const ash_result *b)
{
    ash_buf x = ASH_BUF_INIT, y = ASH_BUF_INIT;
    assert_int_equal(ash__result_write(&x, a), 0);
    assert_int_equal(ash__result_write(&y, b), 0);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.ptr, y.ptr, x.len);
    assert_int_equal(a->outcome, b->outcome);
    assert_true(a->duration == b->duration);
    ash__buf_free(&x);
    ash__buf_free(&y);
}

static void object_file(char *out, size_t size, const char *kind, const uint8_t *id)
{
    char hex[33];
    ash_key_hex((const ash_key *)(const void *)id, hex);
    snprintf(out, size, "%s/%s/%.2s/%s", cache_dir, kind, hex, hex);
}

static void entry_file(char *out, size_t size, int i)
{
    ash_key k = key_of(i);
    object_file(out, size, "ac", k.bytes);
}

static void blob_file(char *out, size_t size, const ash_buf *blob)
{
    ash_key digest;
    ash_hash h = ash__hash_bytes(blob->ptr, blob->len);
    memcpy(digest.bytes, h.bytes, 16);
    object_file(out, size, "cas", digest.bytes);
}

static ash_rcache *open_cache(void)
{
    ash_rcache *c;
    assert_int_equal(ash__rcache_open(&c, cache_dir, 1, diag_log_add, &warnings), 0);
    return c;
}

static void put(ash_rcache *c, int i, int with_output)
{
    ash_result r;
    make_result(&r, i, with_output);
    ash_key k = key_of(i);
    assert_int_equal(ash__rcache_put(c, &k, &r), 0);
    ash__result_free(&r);
}

/* Get entry `i`: 1 on a hit (checked against what put stored), 0 on a miss. */
static int get(ash_rcache *c, int i, int with_output)
{
    ash_result got, want;
    int hit = -1;
    ash_key k = key_of(i);
    assert_int_equal(ash__rcache_get(c, &k, &got, &hit), 0);
    if (hit) {
        make_result(&want, i, with_output);
        assert_same_result(&got, &want);
        ash__result_free(&want);
    } else {
        assert_null(got.module);
        assert_null(got.junit.ptr);
    }
    ash__result_free(&got);
    return hit;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

#define PATH_LEN 700
#define DATA_LEN 8192

static void read_bytes(const char *path, char *out, size_t *len, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(out, 1, cap, f);
    fclose(f);
}

/* Put result `i` (with output); its entry file into path[PATH_LEN], bytes into data[DATA_LEN]. */
static void stored_entry(ash_rcache *c, int i, char *path, char *data, size_t *len)
{
    put(c, i, 1);
    entry_file(path, PATH_LEN, i);
    read_bytes(path, data, len, DATA_LEN);
}

/* Write data[0..len) to `path`, creating its directory. */
static void write_bytes(const char *path, const char *data, size_t len)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0700);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void set_mtime(const char *path, time_t when)
{
    struct timespec times[2] = {{when, 0}, {when, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

/* A warning about an entry file said `why` and that it was removed. */
static void assert_warned(const char *why)
{
    assert_int_equal(warnings.count, 1);
    if (!strstr(warnings.last, why) || !strstr(warnings.last, "; cache entry removed")) {
        fail_msg("warning \"%s\", expected \"%s\"", warnings.last, why);
    }
    warnings.count = 0;
}

static int setup(void **state)
{
    (void)state;
    if (tmp_tree_make("ash_rcache_") < 0) {
        return -1;
    }
    snprintf(cache_dir, sizeof(cache_dir), "%s/.aftershock/cache", tmp_root);
    memset(&warnings, 0, sizeof(warnings));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof(path), "chmod -R u+w %s", tmp_root);
    if (system(path) != 0) {
        return -1;
    }
    tmp_tree_remove();
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Tests                                                                                    */

static void test_open_layout(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    assert_string_equal(ash__rcache_dir(c), cache_dir);
    char path[700], tag[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/CACHEDIR.TAG", cache_dir);
    read_bytes(path, tag, &len, sizeof(tag) - 1);
    tag[len] = '\0';
    assert_true(strncmp(tag, "Signature: 8a477f597d28d172789f06886806bc55\n#", 45) == 0);
    struct stat st;
    assert_int_equal(stat(cache_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/ac", cache_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(path, sizeof(path), "%s/cas", cache_dir);
    assert_true(exists(path));
    ash__rcache_close(c);
    /* opening again changes nothing */
    c = open_cache();
    ash__rcache_close(c);
    assert_int_equal(warnings.count, 0);

    /* shared: 0777 less the umask */
    mode_t old = umask(022);
    snprintf(path, sizeof(path), "%s/shared/cache", tmp_root);
    assert_int_equal(ash__rcache_open(&c, path, 0, NULL, NULL), 0);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    ash__rcache_close(c);

    /* a file where the directory should be */
    assert_int_equal(tmp_tree_put("file", "x"), 0);
    snprintf(path, sizeof(path), "%s/file/cache", tmp_root);
    assert_int_equal(ash__rcache_open(&c, path, 1, NULL, NULL), ASH_EIO);
    assert_null(c);
    assert_non_null(strstr(ash_error_last(), path));
}

static void test_round_trip(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    assert_int_equal(get(c, 1, 1), 0); /* nothing yet: a quiet miss */
    put(c, 1, 1);
    put(c, 2, 1);
    put(c, 3, 0);
    assert_int_equal(get(c, 1, 1), 1);
    assert_int_equal(get(c, 2, 1), 1);
    assert_int_equal(get(c, 3, 0), 1);
    assert_int_equal(get(c, 4, 0), 0);
    /* blobs are named by their digest and shared: three junit blobs and one output blob */
    ash_result r;
    make_result(&r, 2, 1);
    char path[700];
    blob_file(path, sizeof(path), &r.junit);
    assert_true(exists(path));
    blob_file(path, sizeof(path), &r.output);
    assert_true(exists(path));
    ash__result_free(&r);
    ash_rcache_stats st;
    assert_int_equal(ash__rcache_stats(c, &st), 0);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.blobs, 4);
    assert_true(st.bytes > 3 * 1000 + 18 && st.bytes < 3 * 1000 + 18 + 3 * 400);
    /* a put replaces */
    ash_result other;
    make_result(&other, 9, 0);
    ash_key k = key_of(1);
    assert_int_equal(ash__rcache_put(c, &k, &other), 0);
    ash_result got;
    int hit;
    assert_int_equal(ash__rcache_get(c, &k, &got, &hit), 0);
    assert_int_equal(hit, 1);
    assert_same_result(&got, &other);
    ash__result_free(&got);
    ash__result_free(&other);
    assert_int_equal(warnings.count, 0);
    ash__rcache_close(c);
}

static void test_put_refuses(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    ash_key k = key_of(1);
    ash_result r = {.module = "/abs.py"};
    assert_int_equal(ash__rcache_put(c, &k, &r), ASH_EINVAL);
    r.module = NULL;
    assert_int_equal(ash__rcache_put(c, &k, &r), ASH_EINVAL);
    r.module = "a.py";
    r.outcome = (ash_outcome)7;
    assert_int_equal(ash__rcache_put(c, &k, &r), ASH_EINVAL);
    assert_int_equal(get(c, 1, 0), 0);
    ash__rcache_close(c);
}

static void test_every_flipped_byte(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    char path[PATH_LEN], good[DATA_LEN], bad[DATA_LEN];
    size_t len;
    stored_entry(c, 5, path, good, &len);
    assert_true(len > 150 && len < 300);
    for (size_t at = 0; at < len; at++) {
        memcpy(bad, good, len);
        bad[at] ^= 0x10;
        write_bytes(path, bad, len);
        assert_int_equal(get(c, 5, 1), 0);
        assert_warned(at < 4 ? "not a cache entry" : "checksum mismatch");
        assert_false(exists(path));
    }
    /* and the good bytes are still a hit */
    write_bytes(path, good, len);
    assert_int_equal(get(c, 5, 1), 1);
    assert_int_equal(warnings.count, 0);
    ash__rcache_close(c);
}

static void test_truncated_and_odd_entries(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    char path[PATH_LEN], good[DATA_LEN];
    size_t len;
    stored_entry(c, 6, path, good, &len);
    size_t cuts[] = {0, 3, 10, 100, len - 9, len - 1};
    for (size_t i = 0; i < ASH_ARRAY_SIZE(cuts); i++) {
        write_bytes(path, good, cuts[i]);
        assert_int_equal(get(c, 6, 1), 0);
        assert_warned(cuts[i] < 4 ? "not a cache entry" : "truncated");
        assert_false(exists(path));
    }
    /* trailing bytes */
    memcpy(good + len, "xyz", 3);
    write_bytes(path, good, len + 3);
    assert_int_equal(get(c, 6, 1), 0);
    assert_warned("checksum mismatch");
    /* a directory where the entry should be: a miss; it cannot be removed */
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(get(c, 6, 1), 0);
    assert_int_equal(warnings.count, 1);
    assert_non_null(strstr(warnings.last, "not a regular file; cache entry ignored"));
    rmdir(path);
    ash__rcache_close(c);
}

static void test_key_mismatch(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    char from[PATH_LEN], to[PATH_LEN], data[DATA_LEN];
    size_t len;
    stored_entry(c, 7, from, data, &len);
    put(c, 8, 1);
    entry_file(to, sizeof(to), 8);
    write_bytes(to, data, len); /* entry 7's bytes under key 8's name */
    assert_int_equal(get(c, 8, 1), 0);
    assert_warned("stored under another key than its file name");
    assert_false(exists(to));
    assert_int_equal(get(c, 7, 1), 1);
    ash__rcache_close(c);
}

static void test_altered_and_missing_blobs(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    put(c, 10, 1);
    put(c, 11, 1);
    ash_result r;
    make_result(&r, 10, 1);
    char blob[700], entry[700];
    blob_file(blob, sizeof(blob), &r.junit);
    entry_file(entry, sizeof(entry), 10);

    /* same size, other bytes */
    r.junit.ptr[500] ^= 1;
    write_bytes(blob, r.junit.ptr, r.junit.len);
    assert_int_equal(get(c, 10, 1), 0);
    assert_warned("does not match its digest");
    assert_false(exists(entry));
    assert_false(exists(blob)); /* or every later put would keep it */
    /* another size */
    put(c, 10, 1);
    write_bytes(blob, r.junit.ptr, 10);
    assert_int_equal(get(c, 10, 1), 0);
    assert_warned("does not match its digest");
    /* missing */
    put(c, 10, 1);
    assert_int_equal(get(c, 10, 1), 1);
    assert_int_equal(unlink(blob), 0);
    assert_int_equal(get(c, 10, 1), 0);
    assert_warned("missing");
    /* the shared output blob altered: both entries miss */
    char out[700];
    blob_file(out, sizeof(out), &r.output);
    write_bytes(out, "E   assert 1 == 3\n", r.output.len);
    assert_int_equal(get(c, 11, 1), 0);
    assert_warned("output blob");
    put(c, 11, 1);
    assert_int_equal(get(c, 11, 1), 1);
    ash__result_free(&r);
    ash__rcache_close(c);
}

static void test_planted_links(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    char entry[PATH_LEN], elsewhere[PATH_LEN], data[DATA_LEN];
    size_t len;
    stored_entry(c, 12, entry, data, &len);
    snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", tmp_root);
    write_bytes(elsewhere, data, len);
    assert_int_equal(unlink(entry), 0);
    assert_int_equal(symlink(elsewhere, entry), 0);
    /* a link, even to a valid entry, is not read */
    assert_int_equal(get(c, 12, 1), 0);
    assert_warned("symbolic link");
    assert_false(exists(entry));
    assert_true(exists(elsewhere));
    /* a put replaces a planted link instead of writing through it */
    assert_int_equal(symlink(elsewhere, entry), 0);
    put(c, 12, 1);
    struct stat st;
    assert_int_equal(lstat(entry, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    size_t len2;
    char data2[DATA_LEN];
    read_bytes(elsewhere, data2, &len2, sizeof(data2));
    assert_int_equal(len2, len);
    assert_memory_equal(data2, data, len);
    assert_int_equal(get(c, 12, 1), 1);
    ash__rcache_close(c);
}

static void test_planted_subdirectory_link(void **state)
{
    (void)state;
    char ac[PATH_LEN], elsewhere[PATH_LEN], cmd[PATH_LEN * 2];
    ash__rcache_close(open_cache());
    snprintf(ac, sizeof(ac), "%s/ac", cache_dir);
    snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", tmp_root);
    assert_int_equal(mkdir(elsewhere, 0700), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ac);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(symlink(elsewhere, ac), 0);
    /* the cache is refused rather than written through the link */
    ash_rcache *c = (ash_rcache *)1;
    assert_int_equal(ash__rcache_open(&c, cache_dir, 1, diag_log_add, &warnings), ASH_EIO);
    assert_null(c);
    assert_non_null(strstr(ash_error_last(), "not a directory"));
    DIR *d = opendir(elsewhere);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));) {
        entries += e->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(entries, 0);
}

static void test_prune_lru(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    time_t now = time(NULL);
    char path[700];
    for (int i = 0; i < 4; i++) {
        put(c, i, 0);
        entry_file(path, sizeof(path), i);
        set_mtime(path, now - 3600 + i * 60);
        ash_result r;
        make_result(&r, i, 0);
        blob_file(path, sizeof(path), &r.junit);
        set_mtime(path, now - 7200);
        ash__result_free(&r);
    }
    ash_rcache_stats before;
    assert_int_equal(ash__rcache_stats(c, &before), 0);
    assert_int_equal(before.entries, 4);
    assert_int_equal(before.blobs, 4);
    /* entry 0, the oldest stored, is the most recently used now */
    assert_int_equal(get(c, 0, 0), 1);
    /* unreferenced blobs: a fresh one (a put in progress) and an old one; temporary files */
    char fresh[700], stale[700], fresh_tmp[700], stale_tmp[700];
    ash_buf b = {"fresh blob", 10, 11};
    blob_file(fresh, sizeof(fresh), &b);
    write_bytes(fresh, b.ptr, b.len);
    ash_buf o = {"old blob", 8, 9};
    blob_file(stale, sizeof(stale), &o);
    write_bytes(stale, o.ptr, o.len);
    set_mtime(stale, now - 3600);
    snprintf(fresh_tmp, sizeof(fresh_tmp), "%s/ac/00/.x.1.tmp", cache_dir);
    snprintf(stale_tmp, sizeof(stale_tmp), "%s/cas/00/.y.2.tmp", cache_dir);
    assert_int_equal(tmp_tree_put(fresh_tmp + strlen(tmp_root) + 1, "partial"), 0);
    assert_int_equal(tmp_tree_put(stale_tmp + strlen(tmp_root) + 1, "partial"), 0);
    set_mtime(stale_tmp, now - 3600);

    /* one byte too many: exactly one entry goes, the least recently used (1) */
    ash_rcache_stats after;
    assert_int_equal(ash__rcache_prune(c, before.bytes + b.len - 1, &after), 0);
    assert_int_equal(after.entries, 3);
    assert_int_equal(after.blobs, 4);   /* three junit blobs and the fresh one */
    assert_int_equal(after.removed, 4); /* entry 1, its blob, the old blob, the old temp */
    assert_int_equal(after.max_bytes, before.bytes + b.len - 1);
    assert_true(after.bytes <= after.max_bytes);
    assert_int_equal(get(c, 1, 0), 0);
    assert_int_equal(warnings.count, 0);
    assert_int_equal(get(c, 0, 0), 1);
    assert_int_equal(get(c, 2, 0), 1);
    assert_int_equal(get(c, 3, 0), 1);
    assert_true(exists(fresh));
    assert_false(exists(stale));
    assert_true(exists(fresh_tmp));
    assert_false(exists(stale_tmp));
    ash_rcache_stats st;
    assert_int_equal(ash__rcache_stats(c, &st), 0);
    assert_int_equal(st.entries, after.entries);
    assert_int_equal(st.blobs, after.blobs);
    assert_int_equal(st.bytes, after.bytes);
    assert_int_equal(st.max_bytes, after.max_bytes);

    /* nothing fits in 0 bytes but what must stay: the fresh blob */
    assert_int_equal(ash__rcache_prune(c, 0, &after), 0);
    assert_int_equal(after.entries, 0);
    assert_int_equal(after.blobs, 1);
    assert_int_equal(after.bytes, b.len);
    assert_true(exists(fresh));
    ash__rcache_close(c);
}

static void test_prune_shared_blob_and_corrupt_entry(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    time_t now = time(NULL);
    char path[700];
    char out[700];
    for (int i = 0; i < 3; i++) {
        put(c, i, 1); /* all share the output blob */
        entry_file(path, sizeof(path), i);
        set_mtime(path, now - 3600 + i);
        ash_result r;
        make_result(&r, i, 1);
        blob_file(path, sizeof(path), &r.junit);
        set_mtime(path, now - 7200);
        blob_file(out, sizeof(out), &r.output);
        set_mtime(out, now - 7200);
        ash__result_free(&r);
    }
    entry_file(path, sizeof(path), 2);
    write_bytes(path, "ASHC junk", 9);
    ash_rcache_stats st;
    assert_int_equal(ash__rcache_stats(c, &st), 0);
    /* entry 2 is corrupt (removed with a warning), entry 0 evicted, entry 1 keeps the output */
    assert_int_equal(ash__rcache_prune(c, st.bytes - 2000, &st), 0);
    assert_int_equal(warnings.count, 1);
    assert_non_null(strstr(warnings.last, "truncated; cache entry removed"));
    warnings.count = 0;
    assert_int_equal(st.entries, 1);
    assert_int_equal(get(c, 0, 1), 0);
    assert_int_equal(get(c, 1, 1), 1);
    assert_true(exists(out));
    assert_int_equal(warnings.count, 0);
    ash__rcache_close(c);
}

static void test_clear(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    for (int i = 0; i < 5; i++) {
        put(c, i, 1);
    }
    assert_int_equal(ash__rcache_clear(c), 0);
    ash_rcache_stats st;
    assert_int_equal(ash__rcache_stats(c, &st), 0);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.blobs, 0);
    assert_int_equal(st.bytes, 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(get(c, i, 1), 0);
    }
    char path[700];
    snprintf(path, sizeof(path), "%s/CACHEDIR.TAG", cache_dir);
    assert_true(exists(path));
    assert_int_equal(warnings.count, 0);
    /* and it works afterwards */
    put(c, 1, 1);
    assert_int_equal(get(c, 1, 1), 1);
    ash__rcache_close(c);
}

static void test_read_only(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        skip(); /* root writes anywhere: a read-only cache cannot be made */
    }
    ash_rcache *c = open_cache();
    put(c, 1, 1);
    put(c, 2, 0);
    ash__rcache_close(c);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "chmod -R a-w %s", cache_dir);
    assert_int_equal(system(cmd), 0);
    c = open_cache();
    assert_int_equal(get(c, 1, 1), 1);
    ash_key k = key_of(3);
    ash_result r;
    make_result(&r, 3, 0);
    assert_int_equal(ash__rcache_put(c, &k, &r), ASH_EIO);
    assert_non_null(strstr(ash_error_last(), cache_dir));
    ash__result_free(&r);
    assert_int_equal(ash__rcache_prune(c, 0, NULL), ASH_EIO);
    assert_int_equal(ash__rcache_clear(c), ASH_EIO);
    /* a corrupt entry is a miss, left in place */
    char path[700];
    entry_file(path, sizeof(path), 2);
    assert_int_equal(chmod(path, 0600), 0);
    write_bytes(path, "ASHC", 4);
    assert_int_equal(get(c, 2, 0), 0);
    assert_int_equal(warnings.count, 1);
    assert_non_null(strstr(warnings.last, "cache entry ignored"));
    assert_true(exists(path));
    ash__rcache_close(c);

    /* a cache that cannot be created */
    char parent[600], dir[700];
    snprintf(parent, sizeof(parent), "%s/locked", tmp_root);
    assert_int_equal(mkdir(parent, 0500), 0);
    snprintf(dir, sizeof(dir), "%s/cache", parent);
    assert_int_equal(ash__rcache_open(&c, dir, 1, NULL, NULL), ASH_EIO);
    assert_non_null(strstr(ash_error_last(), dir));
    assert_non_null(strstr(ash_error_last(), "Permission denied"));
}

static void test_unreadable_entry_and_blob(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        skip(); /* root reads anything */
    }
    ash_rcache *c = open_cache();
    put(c, 1, 1);
    char entry[PATH_LEN], blob[PATH_LEN];
    entry_file(entry, sizeof(entry), 1);
    /* a reason that may pass: a miss with a warning, the entry kept */
    assert_int_equal(chmod(entry, 0), 0);
    assert_int_equal(get(c, 1, 1), 0);
    assert_int_equal(warnings.count, 1);
    assert_non_null(strstr(warnings.last, "Permission denied; cache entry ignored"));
    assert_true(exists(entry));
    assert_int_equal(chmod(entry, 0600), 0);
    ash_result r;
    make_result(&r, 1, 1);
    blob_file(blob, sizeof(blob), &r.junit);
    ash__result_free(&r);
    assert_int_equal(chmod(blob, 0), 0);
    assert_int_equal(get(c, 1, 1), 0);
    assert_int_equal(warnings.count, 2);
    assert_non_null(strstr(warnings.last, "Permission denied; cache entry ignored"));
    assert_true(exists(entry));
    assert_int_equal(chmod(blob, 0600), 0);
    assert_int_equal(get(c, 1, 1), 1);
    ash__rcache_close(c);
}

/* Processes putting, getting and pruning one cache at once: never a wrong hit, never a
 * warning. */
static void test_processes_share_a_cache(void **state)
{
    (void)state;
    ash_rcache *c = open_cache();
    ash__rcache_close(c);
    pid_t pids[3];
    for (int p = 0; p < 3; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            int bad = 0;
            diag_log mine = {0};
            ash_rcache *cc;
            bad |= ash__rcache_open(&cc, cache_dir, 1, diag_log_add, &mine) != 0;
            for (int n = 0; n < 60 && !bad; n++) {
                int i = (n * 7 + p * 3) % 12;
                ash_result r, got;
                make_result(&r, i, n % 2);
                ash_key k = key_of(i);
                bad |= ash__rcache_put(cc, &k, &r) != 0;
                ash__result_free(&r);
                int j = (n * 5 + p) % 12, hit;
                k = key_of(j);
                bad |= ash__rcache_get(cc, &k, &got, &hit) != 0;
                if (hit) { /* either output variant may be stored; all else must agree */
                    make_result(&r, j, got.output.len > 0);
                    bad |= strcmp(got.module, r.module) != 0 || got.junit.len != r.junit.len ||
                           memcmp(got.junit.ptr, r.junit.ptr, r.junit.len) != 0 ||
                           got.collected != r.collected;
                    ash__result_free(&r);
                }
                ash__result_free(&got);
                if (n % 10 == p) {
                    bad |= ash__rcache_prune(cc, 6000, NULL) != 0;
                }
            }
            ash__rcache_close(cc);
            _exit(bad || mine.count ? 1 : 0);
        }
    }
    for (int p = 0; p < 3; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

/* Open, put, get and prune with allocation N failing; `*(int *)payload` says whether the run
 * that got through found its result again. */
static int oom_attempt(void *payload)
{
    int *right = payload;
    ash_rcache *c;
    int rc = ash__rcache_open(&c, cache_dir, 1, NULL, NULL);
    if (rc < 0) {
        return rc;
    }
    ash_result r = {0}, got;
    ash_key k = key_of(1); /* the same every time: a prune reads as many entries each time */
    r.module = "tests/test_oom.py";
    r.junit = (ash_buf){"<testcase/>", 11, 12};
    r.output = (ash_buf){"output", 6, 7};
    int hit = 0;
    rc = ash__rcache_put(c, &k, &r);
    if (rc == 0 && (rc = ash__rcache_get(c, &k, &got, &hit)) == 0) {
        *right =
            hit && strcmp(got.module, r.module) == 0 && got.junit.len == 11 && got.output.len == 6;
        ash__result_free(&got);
    }
    ash_rcache_stats st;
    if (rc == 0 && (rc = ash__rcache_prune(c, 1 << 20, &st)) == 0) {
        *right = *right && st.entries == 1;
    }
    ash__rcache_close(c);
    return rc;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    int right = 0;
    alloc_hook_install(-1);
    long failures = alloc_hook_fail_each(oom_attempt, NULL, &right);
    alloc_hook_remove();
    assert_true(failures > 0 && right);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_layout),
        T(test_round_trip),
        T(test_put_refuses),
        T(test_every_flipped_byte),
        T(test_truncated_and_odd_entries),
        T(test_key_mismatch),
        T(test_altered_and_missing_blobs),
        T(test_planted_links),
        T(test_planted_subdirectory_link),
        T(test_prune_lru),
        T(test_prune_shared_blob_and_corrupt_entry),
        T(test_clear),
        T(test_read_only),
        T(test_unreadable_entry_and_blob),
        T(test_processes_share_a_cache),
        T(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
