/*
 * Growable byte buffers, JSON string escaping, whole-file reads and path joins.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ash__buf_reserve(ash_buf *buf, size_t extra)
{
    if (buf->len + extra + 1 <= buf->cap) {
        return 0;
    }
    if (extra > SIZE_MAX / 2 - buf->len) {
        return ash__error_oom();
    }
    size_t ncap = buf->cap ? buf->cap : 64;
    while (ncap < buf->len + extra + 1) {
        ncap *= 2;
    }
    char *p = ash__realloc(buf->ptr, ncap);
    if (!p) {
        return ash__error_oom();
    }
    buf->ptr = p;
    buf->cap = ncap;
    return 0;
}

int ash__buf_put(ash_buf *buf, const void *data, size_t len)
{
    if (ash__buf_reserve(buf, len) < 0) {
        return ASH_ENOMEM;
    }
    if (len) {
        memcpy(buf->ptr + buf->len, data, len);
    }
    buf->len += len;
    buf->ptr[buf->len] = '\0';
    return 0;
}

int ash__buf_puts(ash_buf *buf, const char *s)
{
    return ash__buf_put(buf, s, strlen(s));
}

int ash__buf_putc(ash_buf *buf, char c)
{
    return ash__buf_put(buf, &c, 1);
}

int ash__buf_vprintf(ash_buf *buf, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        return ash__error(ASH_EINVAL, "bad format string");
    }
    if (ash__buf_reserve(buf, (size_t)n) < 0) {
        return ASH_ENOMEM;
    }
    vsnprintf(buf->ptr + buf->len, (size_t)n + 1, fmt, ap);
    buf->len += (size_t)n;
    return 0;
}

int ash__buf_printf(ash_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ash__buf_vprintf(buf, fmt, ap);
    va_end(ap);
    return rc;
}

size_t ash__utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    return len;
}

size_t ash__utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, eight bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) {
                break;
            }
            i += 8;
        }
        if (i >= len) {
            break;
        }
        size_t n = ash__utf8_seq(s + i, len - i);
        if (!n) {
            return i;
        }
        i += n;
    }
    return len;
}

int ash__buf_json(ash_buf *buf, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    if (ash__buf_reserve(buf, len + 2) < 0 || ash__buf_putc(buf, '"') < 0) {
        return ASH_ENOMEM;
    }
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') {
            i++;
        }
        if (i > start && ash__buf_put(buf, s + start, i - start) < 0) {
            return ASH_ENOMEM;
        }
        if (i >= len) {
            break;
        }
        unsigned char c = p[i];
        int rc;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = ash__buf_put(buf, esc, 2);
            i++;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = ash__buf_put(buf, esc, 6);
            i++;
        } else {
            size_t n = ash__utf8_seq(p + i, len - i);
            if (n) {
                rc = ash__buf_put(buf, s + i, n);
                i += n;
            } else {
                rc = ash__buf_puts(buf, "\xEF\xBF\xBD");
                i++;
            }
        }
        if (rc < 0) {
            return rc;
        }
    }
    return ash__buf_putc(buf, '"');
}

const char *ash__buf_cstr(const ash_buf *buf)
{
    return buf->ptr ? buf->ptr : "";
}

char *ash__buf_detach(ash_buf *buf)
{
    char *p = buf->ptr ? buf->ptr : ash__strdup("");
    buf->ptr = NULL;
    buf->len = buf->cap = 0;
    return p;
}

void ash__buf_clear(ash_buf *buf)
{
    buf->len = 0;
    if (buf->ptr) {
        buf->ptr[0] = '\0';
    }
}

void ash__buf_free(ash_buf *buf)
{
    ash__free(buf->ptr);
    buf->ptr = NULL;
    buf->len = buf->cap = 0;
}

int ash__read_fd(char **out, size_t *len, int fd, const char *path, size_t limit)
{
    *out = NULL;
    *len = 0;
    int rc = 0;
    char *data = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        return ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        return ash__error(ASH_EIO, "%s: is a directory", path);
    }
    if (limit && (size_t)st.st_size > limit) {
        *len = (size_t)st.st_size;
        return ash__error(ASH_EINVAL, "%s: larger than %zu bytes", path, limit);
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    size_t n = 0;
    data = ash__malloc(cap);
    if (!data) {
        return ash__error_oom();
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *p = ash__realloc(data, cap * 2);
            if (!p) {
                rc = ash__error_oom();
                goto done;
            }
            data = p;
            cap *= 2;
        }
        ssize_t got = read(fd, data + n, cap - n - 1);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
        if (limit && n > limit) {
            *len = n;
            rc = ash__error(ASH_EINVAL, "%s: larger than %zu bytes", path, limit);
            goto done;
        }
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    data = NULL;
done:
    ash__free(data);
    return rc;
}

int ash__read_file(char **out, size_t *len, const char *path, size_t limit)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
    }
    int rc = ash__read_fd(out, len, fd, path, limit);
    close(fd);
    return rc;
}

int ash__map_file(ash_mapped *out, const char *path)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ash__error(ASH_EIO, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) {
            out->data = p;
            out->len = (size_t)st.st_size;
            out->mapped = 1;
        }
    }
    if (!out->data) {
        char *data = NULL;
        rc = ash__read_fd(&data, &out->len, fd, path, 0);
        out->data = data;
    }
    close(fd);
    return rc;
}

void ash__unmap_file(ash_mapped *m)
{
    if (m->data && m->mapped) {
        munmap((void *)m->data, m->len);
    } else {
        ash__free((void *)m->data);
    }
    memset(m, 0, sizeof(*m));
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int ash__write_atomic(const char *path, const void *data, size_t len)
{
    /* the temporary file lives beside the target: ".name.<pid>.tmp" in the same directory */
    const char *slash = strrchr(path, '/');
    int prefix = slash ? (int)(slash - path + 1) : 0;
    char tmp[4096], dir[4096];
    snprintf(tmp, sizeof(tmp), "%.*s.%s.%ld.tmp", prefix, path, path + prefix, (long)getpid());
    snprintf(dir, sizeof(dir), "%.*s", prefix > 1 ? prefix - 1 : prefix, prefix ? path : ".");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return ash__error(ASH_EIO, "%s: %s", tmp, strerror(errno));
    }
    int failed = write_all(fd, data, len) < 0 || fsync(fd) < 0;
    int e = errno;
    if (close(fd) < 0 && !failed) {
        failed = 1;
        e = errno;
    }
    if (failed || rename(tmp, path) < 0) {
        e = failed ? e : errno;
        unlink(tmp);
        return ash__error(ASH_EIO, "%s: %s", failed ? tmp : path, strerror(e));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

const char *ash__path_below(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    if (n == 0) {
        return path;
    }
    if (strncmp(path, dir, n) != 0 || (path[n] != '\0' && path[n] != '/')) {
        return NULL;
    }
    return path[n] ? path + n + 1 : path + n;
}

int ash__real_below(char **out, const char *dir, const char *path)
{
    char *real = realpath(path, NULL);
    const char *rel = real ? ash__path_below(dir, real) : NULL;
    *out = rel ? ash__strdup(rel) : NULL;
    free(real); /* from realpath: the C library's allocator */
    return rel && !*out ? ash__error_oom() : 0;
}

char *ash__path_join(const char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
    while (la > 1 && a[la - 1] == '/') {
        la--;
    }
    char *p = ash__malloc(la + lb + 2);
    if (!p) {
        return NULL;
    }
    size_t n = 0;
    if (la) {
        memcpy(p, a, la);
        n = la;
    }
    if (la && lb && p[n - 1] != '/') {
        p[n++] = '/';
    }
    if (lb) {
        memcpy(p + n, b, lb);
        n += lb;
    }
    p[n] = '\0';
    return p;
}

int ash_write_json_string(FILE *stream, const char *s)
{
    ash_buf buf = ASH_BUF_INIT;
    int rc = ash__buf_json(&buf, s, strlen(s));
    if (rc == 0 && fwrite(buf.ptr, 1, buf.len, stream) != buf.len) {
        rc = ash__error(ASH_EIO, "cannot write: %s", strerror(errno));
    }
    ash__buf_free(&buf);
    return rc;
}

int ash__strings_add(ash_strings *list, const char *s, size_t len)
{
    void *items = list->items;
    if (ash__grow(&items, &list->cap, list->count + 1, sizeof(char *)) < 0) {
        return ASH_ENOMEM;
    }
    list->items = items;
    if (!(list->items[list->count] = ash__strndup(s, len))) {
        return ash__error_oom();
    }
    list->count++;
    return 0;
}

int ash__strings_add_unique(ash_strings *list, const char *s, size_t len)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strlen(list->items[i]) == len && strncmp(list->items[i], s, len) == 0) {
            return 0;
        }
    }
    return ash__strings_add(list, s, len);
}

void ash__strings_free(ash_strings *list)
{
    for (size_t i = 0; i < list->count; i++) {
        ash__free(list->items[i]);
    }
    ash__free(list->items);
    memset(list, 0, sizeof(*list));
}

int ash__cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ash__sort_unique_strings(char **items, size_t *count)
{
    if (*count < 2) {
        return;
    }
    qsort(items, *count, sizeof(char *), ash__cmp_strp);
    size_t kept = 1;
    for (size_t i = 1; i < *count; i++) {
        if (strcmp(items[i], items[kept - 1]) == 0) {
            ash__free(items[i]);
        } else {
            items[kept++] = items[i];
        }
    }
    *count = kept;
}

size_t ash__dirname_len(const char *path, size_t len)
{
    while (len && path[len - 1] != '/') {
        len--;
    }
    return len ? len - 1 : 0;
}

uint64_t ash__le_u(ash_le_reader *r, size_t n)
{
    const uint8_t *p = ash__le_take(r, n);
    uint64_t v = 0;
    for (size_t k = 0; p && k < n; k++) {
        v |= (uint64_t)p[k] << (8 * k);
    }
    return v;
}

double ash__le_f64(ash_le_reader *r)
{
    uint64_t bits = ash__le_u(r, 8);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

int ash__le_put(ash_buf *b, uint64_t v, size_t n)
{
    uint8_t bytes[8];
    for (size_t k = 0; k < n; k++) {
        bytes[k] = (uint8_t)(v >> (8 * k));
    }
    return ash__buf_put(b, bytes, n);
}

int ash__le_put_f64(ash_buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return ash__le_put(b, bits, 8);
}

int ash__make_dirs(char *path, unsigned mode)
{
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    return mkdir(path, (mode_t)mode) < 0 && errno != EEXIST ? -1 : 0;
}
