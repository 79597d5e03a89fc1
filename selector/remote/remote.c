/*
 * The shared cache's HTTP client (see remote.h), on libcurl's multi interface: up to
 * PARALLEL transfers at once over a pool of kept-alive connections, each request bounded by
 * the connect timeout and by a stall timeout (no byte moving), never by a total time, so that
 * a large blob on a slow but live link still arrives.
 */
#include "remote.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Transfers in flight at once: enough to hide a WAN round trip behind the others. */
#define PARALLEL 16

struct ash_remote {
    char *url;
    long timeout_ms;
    char *user, *password;
    struct curl_slist *headers; /* "Expect:" and the bearer token */
    CURLM *multi;
    CURL *idle[PARALLEL]; /* easy handles kept for reuse */
    size_t idle_count;
    char *error; /* why it failed; NULL while it works */
    ash_remote_stats stats;
    ash_diag_fn diag;
    void *payload;
};

/* What one transfer needs while it runs. */
typedef struct transfer {
    ash_remote_request *req;
    size_t sent;  /* PUT: bytes given to curl so far */
    int too_long; /* GET: the body passed req->max */
    CURL *handle; /* while it runs */
    char curl_error[CURL_ERROR_SIZE];
} transfer;

/*
 * libcurl is loaded when a remote is first opened, not linked: the binary (and the wheel that
 * carries it) needs nothing but the C library, and a machine without libcurl loses only the
 * shared cache, with one message.
 */
static struct {
    CURLcode (*global_init)(long);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURL *(*easy_init)(void);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
} cu;

/* Load libcurl and initialise it, once: 0, or ASH_ENOTFOUND with a message. */
static int load_curl(void)
{
    static int state; /* 0 not tried, 1 loaded, -1 failed */
    if (state) {
        return state > 0 ? 0 : ash__error(ASH_ENOTFOUND, "%s", "libcurl not found");
    }
    static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    void *lib = NULL;
    for (size_t i = 0; !lib && i < sizeof(names) / sizeof(names[0]); i++) {
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    state = -1;
    if (!lib) {
        return ash__error(ASH_ENOTFOUND,
                          "remote cache: libcurl not found (libcurl.so.4; Debian: libcurl4)");
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
#define SYM(field, name) {(void **)&cu.field, name}
        SYM(global_init, "curl_global_init"),
        SYM(slist_append, "curl_slist_append"),
        SYM(slist_free_all, "curl_slist_free_all"),
        SYM(multi_init, "curl_multi_init"),
        SYM(multi_setopt, "curl_multi_setopt"),
        SYM(multi_cleanup, "curl_multi_cleanup"),
        SYM(multi_add_handle, "curl_multi_add_handle"),
        SYM(multi_remove_handle, "curl_multi_remove_handle"),
        SYM(multi_perform, "curl_multi_perform"),
        SYM(multi_poll, "curl_multi_poll"),
        SYM(multi_info_read, "curl_multi_info_read"),
        SYM(easy_init, "curl_easy_init"),
        SYM(easy_reset, "curl_easy_reset"),
        SYM(easy_cleanup, "curl_easy_cleanup"),
        SYM(easy_setopt, "curl_easy_setopt"),
        SYM(easy_getinfo, "curl_easy_getinfo"),
        SYM(easy_strerror, "curl_easy_strerror"),
#undef SYM
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (!(*syms[i].slot = dlsym(lib, syms[i].name))) {
            return ash__error(ASH_ENOTFOUND, "remote cache: libcurl too old (no %s; 7.66 or later)",
                              syms[i].name);
        }
    }
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return ash__error(ASH_ENOMEM, "remote cache: libcurl could not be initialised");
    }
    state = 1;
    return 0;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int ash__remote_open(ash_remote **out, const ash_remote_options *o)
{
    *out = NULL;
    const char *u = o->url;
    if (!has_prefix(u, "http://") && !has_prefix(u, "https://")) {
        return ash__error(ASH_EINVAL, "remote cache %s: not an http:// or https:// URL", u);
    }
    const char *host = strstr(u, "//") + 2;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash)) {
        return ash__error(ASH_EINVAL, "remote cache URL with credentials in it refused: set "
                                      "AFTERSHOCK_REMOTE_TOKEN or AFTERSHOCK_REMOTE_USER and "
                                      "AFTERSHOCK_REMOTE_PASSWORD instead");
    }
    int rc = load_curl();
    if (rc < 0) {
        return rc;
    }
    ash_remote *r = ash__calloc(1, sizeof(*r));
    if (!r || !(r->url = ash__strdup(u))) {
        ash__free(r);
        return ash__error_oom();
    }
    size_t n = strlen(r->url);
    while (n > 0 && r->url[n - 1] == '/') {
        r->url[--n] = '\0';
    }
    double t = o->timeout > 0 ? o->timeout : 5;
    r->timeout_ms = (long)(t * 1000);
    r->diag = o->diag;
    r->payload = o->payload;
    r->headers = cu.slist_append(NULL, "Expect:");
    if (!r->headers) {
        rc = ash__error_oom();
    }
    if (rc == 0 && o->token && *o->token) {
        ash_buf h = ASH_BUF_INIT;
        struct curl_slist *more = NULL;
        if (ash__buf_printf(&h, "Authorization: Bearer %s", o->token) < 0 ||
            !(more = cu.slist_append(r->headers, h.ptr))) {
            rc = ash__error_oom();
        }
        r->headers = more ? more : r->headers;
        ash__buf_free(&h);
    } else if (rc == 0 && o->user && *o->user) {
        r->user = ash__strdup(o->user);
        r->password = ash__strdup(o->password ? o->password : "");
        if (!r->user || !r->password) {
            rc = ash__error_oom();
        }
    }
    if (rc == 0 && !(r->multi = cu.multi_init())) {
        rc = ash__error_oom();
    }
    if (rc == 0) {
        cu.multi_setopt(r->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)PARALLEL);
    }
    if (rc < 0) {
        ash__remote_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void ash__remote_close(ash_remote *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->idle_count; i++) {
        cu.easy_cleanup(r->idle[i]);
    }
    if (r->multi) {
        cu.multi_cleanup(r->multi);
    }
    cu.slist_free_all(r->headers);
    ash__free(r->url);
    ash__free(r->user);
    ash__free(r->password);
    ash__free(r->error);
    ash__free(r);
}

const char *ash__remote_error(const ash_remote *r)
{
    return r->error;
}

const char *ash__remote_url(const ash_remote *r)
{
    return r->url;
}

void ash__remote_stats(const ash_remote *r, ash_remote_stats *out)
{
    *out = r->stats;
}

/* Mark the remote failed, with one warning; what is in flight is abandoned by the caller. */
static void fail(ash_remote *r, const char *fmt, ...)
{
    if (r->error) {
        return;
    }
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    r->error = ash__strdup(why);
    ash__diag(r->diag, r->payload, NULL,
              "remote cache %s: %s; it is not used for the rest of this run", r->url, why);
}

static size_t on_body(char *data, size_t size, size_t count, void *payload)
{
    transfer *t = payload;
    size_t n = size * count;
    if (t->req->body.len + n > t->req->max) {
        t->too_long = 1;
        return 0; /* aborts the transfer */
    }
    return ash__buf_put(&t->req->body, data, n) < 0 ? 0 : n;
}

static size_t on_upload(char *buffer, size_t size, size_t count, void *payload)
{
    transfer *t = payload;
    size_t n = t->req->len - t->sent;
    if (n > size * count) {
        n = size * count;
    }
    memcpy(buffer, (const char *)t->req->data + t->sent, n);
    t->sent += n;
    return n;
}

static const char *method_name(ash_remote_method m)
{
    return m == ASH_REMOTE_GET ? "GET" : m == ASH_REMOTE_PUT ? "PUT" : "DELETE";
}

/* An easy handle set up for `t`; NULL when out of memory. */
static CURL *start(ash_remote *r, transfer *t)
{
    CURL *h = r->idle_count ? r->idle[--r->idle_count] : cu.easy_init();
    if (!h) {
        return NULL;
    }
    cu.easy_reset(h);
    ash_remote_request *q = t->req;
    ash_buf url = ASH_BUF_INIT;
    if (ash__buf_printf(&url, "%s/%s", r->url, q->path) < 0) {
        cu.easy_cleanup(h);
        return NULL;
    }
    cu.easy_setopt(h, CURLOPT_URL, url.ptr); /* copied by curl */
    ash__buf_free(&url);
    cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
    cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
    /* a stall, not a slow transfer, is what fails: under 1 byte/s for the whole timeout */
    cu.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cu.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (r->timeout_ms + 999) / 1000);
    cu.easy_setopt(h, CURLOPT_ERRORBUFFER, t->curl_error);
    cu.easy_setopt(h, CURLOPT_PRIVATE, t);
    cu.easy_setopt(h, CURLOPT_USERAGENT, "aftershock");
    if (r->user) {
        cu.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        cu.easy_setopt(h, CURLOPT_USERNAME, r->user);
        cu.easy_setopt(h, CURLOPT_PASSWORD, r->password);
    }
    switch (q->method) {
    case ASH_REMOTE_GET:
        cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        cu.easy_setopt(h, CURLOPT_WRITEDATA, t);
        break;
    case ASH_REMOTE_PUT:
        cu.easy_setopt(h, CURLOPT_UPLOAD, 1L);
        cu.easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        cu.easy_setopt(h, CURLOPT_READDATA, t);
        cu.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->len);
        break;
    case ASH_REMOTE_DELETE:
        cu.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        cu.easy_setopt(h, CURLOPT_NOBODY, 1L);
        break;
    }
    return h;
}

/* The handle is done: put it back for reuse (or free it). */
static void recycle(ash_remote *r, CURL *h)
{
    cu.multi_remove_handle(r->multi, h);
    if (r->idle_count < PARALLEL) {
        r->idle[r->idle_count++] = h;
    } else {
        cu.easy_cleanup(h);
    }
}

/* Record how transfer `t` ended; fails the remote when it neither hit nor missed. */
static void finish(ash_remote *r, CURL *h, transfer *t, CURLcode result)
{
    ash_remote_request *q = t->req;
    long status = 0;
    cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t down = 0, up = 0;
    cu.easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down);
    cu.easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
    r->stats.requests++;
    r->stats.bytes_in += (uint64_t)down;
    r->stats.bytes_out += (uint64_t)up;
    if (t->too_long) {
        q->status = 0; /* a corrupt object: the caller's miss, not the remote's failure */
        ash__buf_free(&q->body);
        return;
    }
    if (result != CURLE_OK) {
        q->status = 0;
        if (result == CURLE_OPERATION_TIMEDOUT) {
            fail(r, "no answer within %.3g s (remote-timeout)", (double)r->timeout_ms / 1000);
        } else {
            fail(r, "%s", t->curl_error[0] ? t->curl_error : cu.easy_strerror(result));
        }
        return;
    }
    q->status = status;
    if (status == 404 || (status >= 200 && status < 300)) {
        if (q->method == ASH_REMOTE_GET && status != 200) {
            ash__buf_free(&q->body);
        }
        return;
    }
    if (q->method == ASH_REMOTE_DELETE && (status == 405 || status == 501)) {
        return; /* a server that does not delete: the entry stays, as on a write-once store */
    }
    q->status = 0;
    ash__buf_free(&q->body);
    fail(r, "HTTP %ld for %s /%s%s", status, method_name(q->method), q->path,
         status == 401 || status == 403
             ? " (credentials: AFTERSHOCK_REMOTE_TOKEN, or AFTERSHOCK_REMOTE_USER and "
               "AFTERSHOCK_REMOTE_PASSWORD)"
             : "");
}

int ash__remote_send(ash_remote *r, ash_remote_request *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reqs[i].status = 0;
        reqs[i].body = (ash_buf)ASH_BUF_INIT;
    }
    if (r->error || n == 0) {
        return 0;
    }
    transfer *ts = ash__calloc(n, sizeof(*ts));
    if (!ts) {
        return ash__error_oom();
    }
    size_t next = 0, running = 0;
    int rc = 0;
    while (rc == 0 && !r->error && (next < n || running > 0)) {
        while (next < n && running < PARALLEL) {
            ts[next].req = &reqs[next];
            CURL *h = start(r, &ts[next]);
            if (!h || cu.multi_add_handle(r->multi, h) != CURLM_OK) {
                rc = ash__error_oom();
                if (h) {
                    cu.easy_cleanup(h);
                }
                break;
            }
            ts[next].handle = h;
            next++;
            running++;
        }
        int still = 0;
        if (cu.multi_perform(r->multi, &still) != CURLM_OK) {
            fail(r, "libcurl failed");
            break;
        }
        CURLMsg *msg;
        int left;
        while ((msg = cu.multi_info_read(r->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            transfer *t = NULL;
            cu.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            CURL *h = msg->easy_handle;
            CURLcode result = msg->data.result;
            finish(r, h, t, result);
            t->handle = NULL;
            recycle(r, h);
            running--;
        }
        /* wait only for transfers still moving: a finished batch returns at once */
        if (still > 0 && !r->error && cu.multi_poll(r->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
            fail(r, "libcurl failed");
        }
    }
    /* abandon what is still in flight (the remote failed, or memory ran out) */
    for (size_t i = 0; i < next; i++) {
        if (ts[i].handle) {
            ts[i].req->status = 0;
            ash__buf_free(&ts[i].req->body);
            cu.multi_remove_handle(r->multi, ts[i].handle);
            cu.easy_cleanup(ts[i].handle);
        }
    }
    ash__free(ts);
    return rc;
}
