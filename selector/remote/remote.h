/*
 * The HTTP client of the shared cache: batches of GET, PUT and DELETE requests against one
 * base URL, run in parallel over reused connections (libcurl's multi interface), with bearer
 * or basic authentication and a stall timeout.
 *
 * A shared cache is an optimisation, never a dependency: the first request that cannot be
 * served as a hit or a miss (a refused connection, a stall past the timeout, an HTTP status
 * other than 2xx and 404) makes the remote "failed". That prints one warning, the requests
 * still in flight are abandoned, and every later request does nothing: a miss for a read,
 * nothing stored for a write. One ash_remote must not be used from two threads at once.
 */
#ifndef ASH_REMOTE_H
#define ASH_REMOTE_H

#include "util.h"

#include <stdint.h>

typedef struct ash_remote ash_remote;

typedef struct ash_remote_options {
    const char *url;      /* base URL, http:// or https://; borrowed */
    double timeout;       /* seconds a request may stall (connect, or no byte moving) */
    const char *token;    /* bearer token, or NULL */
    const char *user;     /* basic auth, or NULL */
    const char *password; /* with `user` */
    ash_diag_fn diag;     /* the one warning when the remote fails */
    void *payload;
} ash_remote_options;

typedef enum { ASH_REMOTE_GET, ASH_REMOTE_PUT, ASH_REMOTE_DELETE } ash_remote_method;

typedef struct ash_remote_request {
    ash_remote_method method;
    const char *path; /* below the base URL, e.g. "cas/<hex>"; borrowed */
    const void *data; /* PUT: the body (borrowed) */
    size_t len;       /* PUT: its length */
    uint64_t max;     /* GET: a longer body is treated as a corrupt object (status 0) */
    ash_buf body;     /* GET: the body of a 200 (owned by the request: free it) */
    long status;      /* HTTP status; 0 if the request was not made or failed */
} ash_remote_request;

/* Create a client for `o->url` (copied; a trailing '/' is dropped). Nothing is sent yet. 0,
 * ASH_EINVAL (not an http(s) URL, credentials inside it) or ASH_ENOMEM, with a message. */
int ash__remote_open(ash_remote **out, const ash_remote_options *o);
void ash__remote_close(ash_remote *r);

/*
 * Make the requests reqs[0..n), several at once. Afterwards each status is the HTTP status
 * (200/201/204 done, 404 missing), or 0 when the remote failed (or had failed before) or a
 * GET body exceeded its `max`. 0, or ASH_ENOMEM.
 */
int ash__remote_send(ash_remote *r, ash_remote_request *reqs, size_t n);

/* Why the remote failed ("connection refused", "timed out after 5 s", "HTTP 403 for PUT
 * ..."), or NULL while it works. Borrowed. */
const char *ash__remote_error(const ash_remote *r);

/* The base URL, without a trailing '/'; borrowed. */
const char *ash__remote_url(const ash_remote *r);

/* Requests sent, and bytes received and sent, so far. */
typedef struct ash_remote_stats {
    uint64_t requests, bytes_in, bytes_out;
} ash_remote_stats;
void ash__remote_stats(const ash_remote *r, ash_remote_stats *out);

#endif
