/*
 * Projects and graph building: find the root, read the configuration, list the files, detect
 * source roots; then, for every Python file on N threads, stat it, take its imports from the
 * parse cache when the stat (or, failing that, the content hash) matches, and extract them
 * otherwise; then resolve every import and link the graph. Warnings are collected per file by
 * the workers and reported by the calling thread in path order, so output is deterministic.
 */
#include "project.h"

#include "ash_uthash.h"
#include "config.h"
#include "envinfo.h"
#include "extract.h"
#include "files.h"
#include "graph.h"
#include "hash.h"
#include "imports.h"
#include "pcache.h"
#include "resolve.h"
#include "source.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ash_project {
    char *root;
    char *cache_dir; /* NULL: no parse cache */
    char *python;
    ash_config config;
    char **py_paths; /* sorted Python files: the graph's nodes */
    size_t py_count;
    char **markers; /* pyproject.toml / setup.cfg files */
    size_t marker_count;
    char **roots;
    size_t root_count;
    int jobs;
    double list_seconds;
    ash_envinfo *env; /* of the last graph build */
    ash_diag_fn diag;
    void *payload;
};

void ash_graph_stats(const ash_graph *graph, ash_build_stats *out)
{
    *out = graph->stats;
}

const char *ash_project_root(const ash_project *p)
{
    return p->root;
}

const ash_config *ash__project_config(const ash_project *p)
{
    return &p->config;
}

const ash_envinfo *ash__project_envinfo(const ash_project *p)
{
    return p->env;
}

ash_diag_fn ash__project_diag(const ash_project *p)
{
    return p->diag;
}

void *ash__project_payload(const ash_project *p)
{
    return p->payload;
}

const char *ash__project_cache_dir(const ash_project *p)
{
    return p->cache_dir;
}

int ash__project_add_roots(ash_project *p, char *const *roots, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int known = 0;
        for (size_t k = 0; k < p->root_count && !known; k++) {
            known = strcmp(p->roots[k], roots[i]) == 0;
        }
        if (known) {
            continue;
        }
        char **grown = ash__realloc(p->roots, (p->root_count + 2) * sizeof(char *));
        if (!grown) {
            return ash__error_oom();
        }
        p->roots = grown;
        if (!(p->roots[p->root_count] = ash__strdup(roots[i]))) {
            return ash__error_oom();
        }
        p->roots[++p->root_count] = NULL;
    }
    return 0;
}

int ash__project_list_all(ash_strings *out, const ash_project *p)
{
    ash_file_list files = {0};
    int rc = ash__list_files(&files, p->root, ASH_LIST_ALL, (const char *const *)p->config.exclude,
                             p->config.exclude_count, p->diag, p->payload);
    if (rc == 0) {
        out->items = files.paths;
        out->count = files.count;
        out->cap = files.cap;
    }
    return rc;
}

int ash_project_type_checking_imports(const ash_project *p)
{
    return p->config.type_checking_imports;
}

size_t ash_project_source_root_count(const ash_project *p)
{
    return p->root_count;
}

const char *ash_project_source_root(const ash_project *p, size_t i)
{
    return i < p->root_count ? p->roots[i] : NULL;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ash__free(v[i]);
    }
    ash__free(v);
}

void ash_project_free(ash_project *p)
{
    if (!p) {
        return;
    }
    ash__free(p->root);
    ash__free(p->cache_dir);
    ash__envinfo_free(p->env);
    ash__free(p->python);
    ash__config_free(&p->config);
    free_strings(p->py_paths, p->py_count);
    free_strings(p->markers, p->marker_count);
    free_strings(p->roots, p->root_count);
    ash__free(p);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Split the listed files into Python sources and packaging markers. */
static int split_files(ash_project *p, ash_file_list *files)
{
    p->py_paths = ash__calloc(files->count ? files->count : 1, sizeof(char *));
    p->markers = ash__calloc(files->count ? files->count : 1, sizeof(char *));
    if (!p->py_paths || !p->markers) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < files->count; i++) {
        char *path = files->paths[i];
        files->paths[i] = NULL;
        if (ash__is_python_file(path, strlen(path))) {
            p->py_paths[p->py_count++] = path;
        } else {
            p->markers[p->marker_count++] = path;
        }
    }
    return 0;
}

static int copy_roots(ash_project *p)
{
    p->roots = ash__calloc(p->config.root_count + 1, sizeof(char *));
    if (!p->roots) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < p->config.root_count; i++) {
        if (!(p->roots[i] = ash__strdup(p->config.roots[i]))) {
            return ash__error_oom();
        }
        p->root_count++;
    }
    return 0;
}

/* The first python3 on $PATH outside directory `venv`; "python3" if there is none. */
static char *python_outside(const char *venv)
{
    const char *path = getenv("PATH");
    size_t vlen = strlen(venv);
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        int inside = n >= vlen && strncmp(p, venv, vlen) == 0 && (n == vlen || p[vlen] == '/');
        char *dir = ash__strndup(p, n);
        char *py = dir && n && !inside ? ash__path_join(dir, "python3") : NULL;
        ash__free(dir);
        if (py && access(py, X_OK) == 0) {
            return py;
        }
        ash__free(py);
        p += n + (p[n] == ':');
    }
    return ash__strdup("python3");
}

static char *choose_python(const ash_project_options *o, const ash_config *c)
{
    if (o && o->python) {
        return ash__strdup(o->python);
    }
    if (c->python) {
        return c->python[0] == '/' ? ash__strdup(c->python) : NULL;
    }
    const char *venv = getenv("VIRTUAL_ENV");
    if (venv && *venv && getenv("PRE_COMMIT")) {
        /* under pre-commit, $VIRTUAL_ENV and the front of $PATH are the hook's own
         * environment (aftershock and nothing else): the project's python3 comes after */
        return python_outside(venv);
    }
    if (venv && *venv) {
        char *py = ash__path_join(venv, "bin/python");
        if (py && access(py, X_OK) == 0) {
            return py;
        }
        ash__free(py);
    }
    return ash__strdup("python3");
}

int ash_project_open(ash_project **out, const char *start, const ash_project_options *opts)
{
    *out = NULL;
    ash_project *p = ash__calloc(1, sizeof(*p));
    if (!p) {
        return ash__error_oom();
    }
    ash__config_init(&p->config);
    ash_file_list files = {0};
    int rc = 0;
    p->diag = opts ? opts->diag : NULL;
    p->payload = opts ? opts->payload : NULL;
    p->jobs = opts && opts->jobs > 0 ? opts->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (opts && opts->root) {
        p->root = realpath(opts->root, NULL);
        if (!p->root) {
            rc = ash__error(ASH_ENOTFOUND, "%s: %s", opts->root, strerror(errno));
            goto done;
        }
    } else if ((rc = ash__find_root(&p->root, start)) < 0) {
        goto done;
    }
    if ((rc = ash__config_load(&p->config, p->root, "pyproject.toml", p->diag, p->payload)) < 0) {
        goto done;
    }
    if (p->config.python && p->config.python[0] != '/') {
        /* relative to the project root, as written in its pyproject.toml */
        char *abs = ash__path_join(p->root, p->config.python);
        if (!abs) {
            rc = ash__error_oom();
            goto done;
        }
        ash__free(p->config.python);
        p->config.python = abs;
    }
    if (!(p->python = choose_python(opts, &p->config))) {
        rc = ash__error_oom();
        goto done;
    }
    if (!(opts && opts->no_cache)) {
        p->cache_dir = opts && opts->cache_dir ? ash__strdup(opts->cache_dir)
                                               : ash__path_join(p->root, ".aftershock");
        if (!p->cache_dir) {
            rc = ash__error_oom();
            goto done;
        }
    }
    struct timespec listing;
    clock_gettime(CLOCK_MONOTONIC, &listing);
    rc = ash__list_files(&files, p->root, ASH_LIST_PYTHON | ASH_LIST_MARKERS,
                         (const char *const *)p->config.exclude, p->config.exclude_count, p->diag,
                         p->payload);
    p->list_seconds = seconds_since(&listing);
    if (rc < 0 || (rc = split_files(p, &files)) < 0) {
        goto done;
    }
    if (p->config.roots_set) {
        rc = copy_roots(p);
    } else {
        rc = ash__detect_roots(&p->roots, &p->root_count, p->py_paths, p->py_count, p->markers,
                               p->marker_count);
    }
done:
    ash__file_list_free(&files);
    if (rc < 0) {
        ash_project_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- extraction on worker threads ---- */

/* What a worker found out about one file. */
typedef struct file_result {
    ash_imports *imports;
    ash_hash hash;
    ash_filestat stat;
    uint32_t flags;   /* ASH_PCACHE_RACY */
    int missing;      /* listed but gone (deleted in the work tree) */
    int fresh;        /* taken from the cache unchanged */
    ash_buf messages; /* warnings, one per line */
} file_result;

typedef struct build_ctx {
    ash_project *project;
    ash_pcache *cache;
    file_result *results;
    int rootfd;
    int64_t racy_after; /* timestamps from here on are not trusted */
    atomic_size_t next;
    atomic_int failed;
    atomic_size_t read;
    atomic_size_t parsed;
} build_ctx;

/* Warnings raised off the calling thread wait in a buffer, one per line (payload: ash_buf). */
static void buffer_diag(const char *path, const char *message, void *payload)
{
    (void)path;
    ash__buf_puts(payload, message);
    ash__buf_putc(payload, '\n');
}

static void collect_diag(const char *path, const char *message, void *payload)
{
    buffer_diag(path, message, &((file_result *)payload)->messages);
}

/* Send the buffered warnings to the project's diag, in order, and empty the buffer. */
static void replay(ash_project *p, const char *path, ash_buf *messages)
{
    for (char *line = messages->ptr; line && *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        if (p->diag) {
            p->diag(path, line, p->payload);
        }
        *nl = '\n';
        line = nl + 1;
    }
}

static int64_t ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Read and hash the file, then take its records from the cache or extract them. */
static int load_file(build_ctx *b, ash_extractor *ex, size_t i, long entry)
{
    file_result *r = &b->results[i];
    const char *path = b->project->py_paths[i];
    int fd = openat(b->rootfd, path, O_RDONLY | O_CLOEXEC);
    char *data = NULL;
    size_t len = 0;
    int rc = 0;
    if (fd < 0) {
        collect_diag(path, strerror(errno), r);
        return ash__imports_empty(&r->imports, 0);
    }
    rc = ash__read_fd(&data, &len, fd, path, ASH_SOURCE_MAX);
    close(fd);
    atomic_fetch_add(&b->read, 1);
    if (rc == ASH_EINVAL) {
        collect_diag(path, "larger than 256 MiB; not read", r);
        return ash__imports_empty(&r->imports, ASH_SOURCE_TOO_LARGE);
    }
    if (rc < 0) {
        if (rc == ASH_ENOMEM) {
            return rc;
        }
        const char *msg = strrchr(ash_error_last(), ':');
        collect_diag(path, msg ? msg + 2 : ash_error_last(), r);
        return ash__imports_empty(&r->imports, 0);
    }
    r->hash = ash__hash_bytes(data, len);
    if (entry < 0 || !ash__hash_equal(ash__pcache_hash(b->cache, entry), &r->hash)) {
        entry = ash__pcache_count(b->cache) ? ash__pcache_find_hash(b->cache, &r->hash) : -1;
    }
    if (entry < 0 || ash__pcache_imports(b->cache, entry, &r->imports, &r->messages) < 0) {
        ash__buf_clear(&r->messages); /* a malformed entry may have left some */
        atomic_fetch_add(&b->parsed, 1);
        rc = ash__extract(ex, &r->imports, data, len, path, collect_diag, r);
    }
    ash__free(data);
    return rc;
}

static int process(build_ctx *b, ash_extractor *ex, size_t i)
{
    file_result *r = &b->results[i];
    const char *path = b->project->py_paths[i];
    struct stat st;
    if (fstatat(b->rootfd, path, &st, 0) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            r->missing = 1;
            return 0;
        }
        collect_diag(path, strerror(errno), r);
        return ash__imports_empty(&r->imports, 0);
    }
    if (S_ISDIR(st.st_mode)) {
        r->missing = 1; /* a directory named like a module is no module */
        return 0;
    }
    r->stat = (ash_filestat){(uint64_t)st.st_size, ns_of(st.st_mtim), ns_of(st.st_ctim),
                             (uint64_t)st.st_ino};
    if (r->stat.mtime_ns >= b->racy_after || r->stat.ctime_ns >= b->racy_after) {
        r->flags |= ASH_PCACHE_RACY;
    }
    long entry = ash__pcache_find(b->cache, path);
    if (entry >= 0 && ash__pcache_fresh(b->cache, entry, &r->stat)) {
        r->hash = *ash__pcache_hash(b->cache, entry);
        if (ash__pcache_imports(b->cache, entry, &r->imports, &r->messages) == 0) {
            r->fresh = 1;
            return 0;
        }
        ash__buf_clear(&r->messages);
    }
    return load_file(b, ex, i, entry);
}

static void *worker(void *arg)
{
    build_ctx *b = arg;
    ash_extractor *ex;
    if (ash__extractor_new(&ex) < 0) {
        atomic_store(&b->failed, ASH_ENOMEM);
        return NULL;
    }
    size_t n = b->project->py_count;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= n || atomic_load(&b->failed)) {
            break;
        }
        int rc = process(b, ex, i);
        if (rc < 0) {
            atomic_store(&b->failed, rc);
            break;
        }
    }
    ash__extractor_free(ex);
    return NULL;
}

static int run_workers(build_ctx *b)
{
    int jobs = b->project->jobs;
    if ((size_t)jobs > b->project->py_count / 64 + 1) {
        jobs = (int)(b->project->py_count / 64) + 1; /* threads cost more than small trees */
    }
    pthread_t threads[64];
    int started = 0;
    for (int t = 1; t < jobs && t < 64; t++) {
        if (pthread_create(&threads[started], NULL, worker, b) == 0) {
            started++;
        }
    }
    worker(b);
    for (int t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
    }
    int rc = atomic_load(&b->failed);
    return rc < 0 ? ash__error(rc, "%s", rc == ASH_ENOMEM ? "out of memory" : "extraction failed")
                  : 0;
}

/* ---- after extraction ---- */

static void report(build_ctx *b)
{
    for (size_t i = 0; i < b->project->py_count; i++) {
        replay(b->project, b->project->py_paths[i], &b->results[i].messages);
    }
}

/* Write a new parse-cache generation if anything differs from the loaded one. */
static void save_cache(build_ctx *b, const ash_graph *g)
{
    ash_project *p = b->project;
    int changed = g->node_count != ash__pcache_count(b->cache);
    for (size_t i = 0; i < p->py_count && !changed; i++) {
        changed = !b->results[i].missing && (!b->results[i].fresh || b->results[i].flags);
    }
    if (!changed) {
        return;
    }
    ash_pcache_item *items = ash__calloc(g->node_count ? g->node_count : 1, sizeof(*items));
    if (!items) {
        return;
    }
    for (size_t i = 0, k = 0; i < p->py_count; i++) {
        file_result *r = &b->results[i];
        if (!r->missing) {
            items[k] = (ash_pcache_item){g->paths[k], r->stat,       r->hash,
                                         r->flags,    g->imports[k], r->messages.ptr};
            k++;
        }
    }
    if (ash__cache_dir_prepare(p->cache_dir) < 0 ||
        ash__pcache_write(p->cache_dir, items, g->node_count) < 0) {
        ash__diag(p->diag, p->payload, NULL, "cannot write the parse cache: %s", ash_error_last());
    }
    ash__free(items);
}

/* ---- resolution ---- */

typedef struct unknown_name {
    UT_hash_handle hh;
    size_t count;
    char name[];
} unknown_name;

typedef struct dist_entry {
    UT_hash_handle hh;
    uint32_t index; /* 1-based index in graph->dist_names */
    char name[];
} dist_entry;

typedef struct link_ctx {
    ash_graph *graph;
    dist_entry *dists;
    uint32_t from;
    const ash_import *imp;
    unknown_name *unknown;
    size_t unknown_imports;
} link_ctx;

static int add_target(uint32_t target, ash_edge_kind kind, void *payload)
{
    link_ctx *l = payload;
    return ash__graph_add_edge(l->graph, l->from, target, l->imp->line, kind, l->imp->flags);
}

/* Count an import of a module found nowhere: by its top-level name, or by its full name when
 * the project has the package but not the module. */
static int note_unknown(link_ctx *l, const ash_resolution *res)
{
    const char *name = res->name;
    size_t len = res->partial ? strlen(name) : strcspn(name, ".");
    unknown_name *u;
    HASH_FIND(hh, l->unknown, name, len, u);
    if (!u) {
        u = ash__calloc(1, sizeof(*u) + len + 1);
        if (!u) {
            return ash__error_oom();
        }
        memcpy(u->name, name, len);
        ash__uthash_oom = 0;
        HASH_ADD(hh, l->unknown, name, len, u);
        if (ash__uthash_oom) {
            ash__free(u);
            return ash__error_oom();
        }
    }
    u->count++;
    l->unknown_imports++;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const unknown_name *x = *(unknown_name *const *)a, *y = *(unknown_name *const *)b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->name, y->name);
}

/* One line naming the most imported unknown modules. */
static void report_unknown(ash_project *p, link_ctx *l)
{
    size_t n = HASH_COUNT(l->unknown), k = 0;
    unknown_name **all = n ? ash__malloc(n * sizeof(*all)) : NULL;
    if (all) {
        unknown_name *u, *tmp;
        HASH_ITER(hh, l->unknown, u, tmp)
        {
            all[k++] = u;
        }
        qsort(all, n, sizeof(*all), by_count);
        ash_buf names = ASH_BUF_INIT;
        for (k = 0; k < n && k < 8; k++) {
            ash__buf_printf(&names, "%s%s", k ? ", " : "", all[k]->name);
        }
        if (n > 8) {
            ash__buf_printf(&names, " and %zu more", n - 8);
        }
        ash__diag(p->diag, p->payload, NULL,
                  "%zu imports of %zu modules found neither in the project, the standard library "
                  "nor %s's site-packages: %s",
                  l->unknown_imports, n, p->python, ash__buf_cstr(&names));
        ash__buf_free(&names);
    }
    ash__free(all);
}

static void free_unknown(link_ctx *l)
{
    unknown_name *u, *tmp;
    HASH_ITER(hh, l->unknown, u, tmp)
    {
        HASH_DEL(l->unknown, u);
        ash__free(u);
    }
}

/* Allocate the per-import origin arrays. */
static int origins_alloc(ash_graph *g)
{
    size_t total = 0;
    g->import_start = ash__calloc(g->node_count + 1, sizeof(uint32_t));
    if (!g->import_start) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < g->node_count; i++) {
        g->import_start[i] = (uint32_t)total;
        total += ash_imports_count(g->imports[i]);
    }
    if (total >= UINT32_MAX) {
        return ash__error(ASH_EINVAL, "too many imports: %zu", total);
    }
    g->import_start[g->node_count] = (uint32_t)total;
    g->origins = ash__calloc(total ? total : 1, 1);
    g->dists = ash__calloc(total ? total : 1, sizeof(uint32_t));
    return g->origins && g->dists ? 0 : ash__error_oom();
}

/* Record where import `at` was found, interning its distribution name. */
static int set_origin(link_ctx *l, size_t at, const ash_resolution *res)
{
    ash_graph *g = l->graph;
    g->origins[at] = (uint8_t)res->origin;
    if (!res->dist) {
        return 0;
    }
    size_t len = strlen(res->dist);
    dist_entry *d;
    HASH_FIND(hh, l->dists, res->dist, len, d);
    if (!d) {
        void *names = g->dist_names;
        size_t cap = g->dist_count;
        if (ash__grow(&names, &cap, g->dist_count + 1, sizeof(char *)) < 0) {
            return ASH_ENOMEM;
        }
        g->dist_names = names;
        d = ash__calloc(1, sizeof(*d) + len + 1);
        if (!d || !(g->dist_names[g->dist_count] = ash__strdup(res->dist))) {
            ash__free(d);
            return ash__error_oom();
        }
        memcpy(d->name, res->dist, len);
        d->index = (uint32_t)++g->dist_count;
        ash__uthash_oom = 0;
        HASH_ADD(hh, l->dists, name, len, d);
        if (ash__uthash_oom) {
            ash__free(d);
            return ash__error_oom();
        }
    }
    g->dists[at] = d->index;
    return 0;
}

static void free_dists(link_ctx *l)
{
    dist_entry *d, *tmp;
    HASH_ITER(hh, l->dists, d, tmp)
    {
        HASH_DEL(l->dists, d);
        ash__free(d);
    }
}

static int link_graph(ash_project *p, ash_graph *g, const ash_envinfo *env)
{
    ash_resolver *r;
    int rc = ash__resolver_new(&r, g->paths, g->node_count, p->roots, p->root_count, env);
    if (rc < 0) {
        return rc;
    }
    if (!p->config.roots_set) {
        ash__resolver_check_roots(r, p->diag, p->payload);
    }
    link_ctx l = {.graph = g};
    rc = origins_alloc(g);
    g->modules = ash__calloc(g->node_count ? g->node_count : 1, sizeof(char *));
    if (rc == 0 && !g->modules) {
        rc = ash__error_oom();
    }
    for (size_t i = 0; rc == 0 && i < g->node_count; i++) {
        if (!(g->modules[i] = ash__strdup(ash__resolver_module_name(r, (uint32_t)i)))) {
            rc = ash__error_oom();
        }
    }
    for (size_t i = 0; rc == 0 && i < g->node_count; i++) {
        const ash_imports *imps = g->imports[i];
        l.from = (uint32_t)i;
        for (size_t k = 0; rc == 0 && k < ash_imports_count(imps); k++) {
            ash_resolution res;
            l.imp = ash_imports_get(imps, k);
            g->stats.imports++;
            rc = ash__resolve_import(r, l.from, l.imp, add_target, &l, &res);
            if (rc < 0 || (rc = set_origin(&l, g->import_start[i] + k, &res)) < 0) {
                break;
            }
            if (res.beyond_top) {
                ash__diag(p->diag, p->payload, g->paths[i],
                          "line %u: relative import beyond the top-level package; no edge",
                          l.imp->line);
            } else if (res.origin == ASH_ORIGIN_UNKNOWN && ash__envinfo_available(env) &&
                       !(l.imp->flags & (ASH_IMPORT_OPTIONAL | ASH_IMPORT_TYPE_CHECKING))) {
                rc = note_unknown(&l, &res);
            }
        }
    }
    if (rc == 0 && l.unknown_imports) {
        report_unknown(p, &l);
    }
    g->stats.unresolved = l.unknown_imports;
    free_unknown(&l);
    free_dists(&l);
    ash__resolver_free(r);
    return rc;
}

/* The graph's nodes: the listed files that exist, with their records and hashes. */
static int make_graph(ash_graph **out, build_ctx *b, size_t *count)
{
    ash_project *p = b->project;
    size_t n = 0;
    for (size_t i = 0; i < p->py_count; i++) {
        n += !b->results[i].missing;
    }
    *count = n;
    char **paths = ash__calloc(n ? n : 1, sizeof(char *));
    if (!paths) {
        return ash__error_oom();
    }
    for (size_t i = 0, k = 0; i < p->py_count; i++) {
        if (!b->results[i].missing && !(paths[k++] = ash__strdup(p->py_paths[i]))) {
            free_strings(paths, k);
            return ash__error_oom();
        }
    }
    int rc = ash__graph_new(out, paths, n);
    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0, k = 0; i < p->py_count; i++) {
        file_result *r = &b->results[i];
        if (!r->missing) {
            (*out)->hashes[k] = r->hash;
            ash__graph_set_imports(*out, k++, r->imports);
            r->imports = NULL;
        }
    }
    return 0;
}

/* The interpreter probe, run beside extraction: it is a process start and a site-packages scan
 * (half a second and more), which extraction can hide. Its warnings wait for the join. */
typedef struct env_job {
    ash_project *project;
    ash_envinfo *env;
    int rc;
    ash_buf messages;
    pthread_t thread;
    int started;
} env_job;

static void *env_thread(void *arg)
{
    env_job *j = arg;
    j->rc = ash__envinfo_load(&j->env, j->project->python, j->project->cache_dir, buffer_diag,
                              &j->messages);
    return NULL;
}

static int env_finish(env_job *j)
{
    if (j->started) {
        pthread_join(j->thread, NULL);
    } else {
        env_thread(j);
    }
    replay(j->project, NULL, &j->messages);
    ash__buf_free(&j->messages);
    return j->rc;
}

int ash_graph_build(ash_graph **out, ash_project *p)
{
    *out = NULL;
    struct timespec now, t0, t1;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    build_ctx b = {.project = p, .rootfd = -1, .racy_after = ns_of(now) - 1000000000LL};
    env_job env = {.project = p};
    ash_graph *g = NULL;
    size_t count = 0;
    int rc = ash__pcache_open(&b.cache, p->cache_dir, p->diag, p->payload);
    if (rc < 0) {
        return rc;
    }
    b.results = ash__calloc(p->py_count ? p->py_count : 1, sizeof(file_result));
    if (!b.results) {
        rc = ash__error_oom();
        goto done;
    }
    b.rootfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b.rootfd < 0) {
        rc = ash__error(ASH_EIO, "%s: %s", p->root, strerror(errno));
        goto done;
    }
    if (p->cache_dir) {
        ash__cache_dir_prepare(p->cache_dir); /* the probe caches its answer there */
    }
    env.started = pthread_create(&env.thread, NULL, env_thread, &env) == 0;
    rc = run_workers(&b);
    int env_rc = env_finish(&env);
    env.started = 0;
    if (rc < 0 || (rc = env_rc) < 0) {
        goto done;
    }
    report(&b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if ((rc = make_graph(&g, &b, &count)) < 0) {
        goto done;
    }
    if (p->cache_dir) {
        save_cache(&b, g);
    }
    if ((rc = link_graph(p, g, env.env)) < 0 || (rc = ash__graph_finish(g)) < 0) {
        goto done;
    }
    g->stats.files = g->node_count;
    g->stats.read = atomic_load(&b.read);
    g->stats.parsed = atomic_load(&b.parsed);
    g->stats.cached = g->node_count - g->stats.read;
    g->stats.edges = g->edge_count;
    g->stats.list_seconds = p->list_seconds;
    g->stats.extract_seconds =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    g->stats.link_seconds = seconds_since(&t1);
    *out = g;
    g = NULL;
    ash__envinfo_free(p->env);
    p->env = env.env;
    env.env = NULL;
done:
    for (size_t i = 0; b.results && i < p->py_count; i++) {
        ash_imports_free(b.results[i].imports);
        ash__buf_free(&b.results[i].messages);
    }
    ash__free(b.results);
    if (b.rootfd >= 0) {
        close(b.rootfd);
    }
    ash__pcache_free(b.cache);
    ash__envinfo_free(env.env);
    ash_graph_free(g);
    return rc;
}
