/*
 * Projects and graph building: find the root, read the configuration, list the files, detect
 * source roots; then, for every Python file on N threads, stat it, take its imports from the
 * parse cache when the stat (or, failing that, the content hash) matches, and extract them
 * otherwise; then resolve every import and link the graph (link.c, through the resolution
 * cache). While git lists the files, a prefetch already stats the files the parse cache holds
 * and takes their records, so that a warm build mostly finds its work done. Warnings are
 * collected per file by the workers and reported by the calling thread in path order, so
 * output is deterministic.
 */
#include "project.h"

#include "config.h"
#include "envinfo.h"
#include "extract.h"
#include "files.h"
#include "graph.h"
#include "hash.h"
#include "imports.h"
#include "link.h"
#include "pcache.h"
#include "rescache.h"
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

/* The parse cache's files statted (and their records taken) while the files are listed. */
typedef struct prefetch prefetch;
static void start_prefetch(void *project);
static double prefetch_join(prefetch *f);
static void prefetch_free(prefetch *f);

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
    double prefetch_seconds; /* waiting for the prefetch after the listing */
    prefetch *pre;           /* for the first graph build, if it comes soon enough */
    ash_envinfo *env;        /* of the last graph build */
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
    prefetch_free(p->pre);
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
        char *real = realpath(opts->root, NULL);
        if (!real) {
            rc = ash__error(ASH_ENOTFOUND, "%s: %s", opts->root, strerror(errno));
            goto done;
        }
        /* realpath allocates with the C library; the project frees with ours */
        p->root = ash__strdup(real);
        free(real);
        if (!p->root) {
            rc = ash__error_oom();
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
    if (opts && opts->prepare && (rc = opts->prepare(p, opts->prepare_payload)) < 0) {
        goto done;
    }
    struct timespec listing;
    /* git (or the walk) and the stats of the cached files run side by side, on threads of
     * their own unless one thread was asked for */
    ash_beside beside = {start_prefetch, p};
    clock_gettime(CLOCK_MONOTONIC, &listing);
    rc = ash__list_files_beside(&files, p->root, ASH_LIST_PYTHON | ASH_LIST_MARKERS,
                                (const char *const *)p->config.exclude, p->config.exclude_count,
                                p->diag, p->payload, p->cache_dir && p->jobs > 1 ? &beside : NULL);
    p->list_seconds = seconds_since(&listing);
    p->prefetch_seconds = prefetch_join(p->pre);
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
    ash_hash digest; /* of the records, for the resolution cache (zeros: none) */
    ash_filestat stat;
    uint32_t flags;   /* ASH_PCACHE_RACY */
    int missing;      /* listed but gone (deleted in the work tree) */
    int fresh;        /* taken from the cache unchanged */
    ash_buf messages; /* warnings, one per line */
} file_result;

typedef struct build_ctx {
    ash_project *project;
    prefetch *pre; /* NULL: none */
    ash_pcache *cache;
    long *entries; /* per listed file: its cache entry or -1; NULL: search each */
    file_result *results;
    int rootfd;
    int digests;        /* compute the records' digests (there is a cache) */
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

/* ---- the prefetch: stats of the cached files while the files are listed ---- */

/*
 * Listing runs git, a process of its own, so another CPU is free meanwhile: the prefetch opens
 * the parse cache and stats every file it holds, taking the records of those that are fresh,
 * which is most of the work of a build where little changed. The first graph build then takes
 * those results for the listed files it finds there and does the rest itself.
 *
 * The build then sees those files as they were while the project was opened, as it sees the
 * file list: an edit made while the command runs may be seen or not, as before. But a build
 * that starts later than PREFETCH_TTL_NS after the project was opened stats everything again,
 * and so does every later build. The racy guard counts from the prefetch's start.
 */
#define PREFETCH_TTL_NS 500000000LL
#define PREFETCH_THREADS 64

typedef struct prefetch_thread prefetch_thread;

struct prefetch {
    const char *root;      /* borrowed from the project */
    const char *cache_dir; /* borrowed from the project */
    const char *python;    /* borrowed from the project */
    int jobs;
    int rc; /* a prefetch that failed is dropped */
    ash_pcache *cache;
    size_t count;         /* cache entries */
    file_result *results; /* per cache entry: `fresh` when its stat matched */
    int rootfd;
    int64_t started_ns;  /* CLOCK_REALTIME, before the first stat */
    int64_t opened_ns;   /* CLOCK_MONOTONIC, when the project was open */
    ash_buf messages;    /* the parse cache's warnings, replayed by the build that uses it */
    char *messages_path; /* the file they are about */
    atomic_size_t next;
    atomic_int failed;
    pthread_t leader;
    int started;
    prefetch_thread *threads; /* PREFETCH_THREADS, each with the arena of its records */
    atomic_size_t fresh;      /* entries taken */
    /* the resolution cache, opened after the stats, and its warnings (about its file) */
    ash_rescache *rcache;
    ash_buf rcache_messages;
    char *rcache_path;
    /* the interpreter's facts, loaded after the stats when the cache directory exists */
    int env_loaded;
    int env_rc;
    ash_envinfo *env;
    ash_buf env_messages;
};

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns_of(t);
}

/* Stat entry `e` of the cache and take its records if the stat matches. 0 or ASH_ENOMEM. */
static int prefetch_one(prefetch *f, size_t e, ash_buf *path, ash_imports_arena *arena)
{
    file_result *r = &f->results[e];
    size_t len;
    const char *rel = ash__pcache_path(f->cache, (long)e, &len);
    ash__buf_clear(path);
    if (ash__buf_put(path, rel, len) < 0) {
        return ASH_ENOMEM;
    }
    struct stat st;
    if (fstatat(f->rootfd, path->ptr, &st, 0) < 0 || S_ISDIR(st.st_mode)) {
        return 0; /* the build looks again and says why */
    }
    r->stat = (ash_filestat){(uint64_t)st.st_size, ns_of(st.st_mtim), ns_of(st.st_ctim),
                             (uint64_t)st.st_ino};
    if (!ash__pcache_fresh(f->cache, (long)e, &r->stat)) {
        return 0;
    }
    if (ash__pcache_imports_with(f->cache, (long)e, &r->imports, &r->messages, arena) < 0) {
        ash__buf_clear(&r->messages);
        return 0;
    }
    r->hash = *ash__pcache_hash(f->cache, (long)e);
    ash__pcache_digest(f->cache, (long)e, &r->digest);
    r->fresh = 1;
    return 0;
}

/* One thread of the prefetch, with its own arena for the records it takes. */
struct prefetch_thread {
    prefetch *f;
    ash_imports_arena arena;
    pthread_t thread;
};

static void *prefetch_worker(void *arg)
{
    prefetch_thread *t = arg;
    prefetch *f = t->f;
    ash_buf path = ASH_BUF_INIT;
    size_t n = f->count, fresh = 0;
    for (;;) {
        size_t e = atomic_fetch_add(&f->next, 1);
        if (e >= n || atomic_load(&f->failed)) {
            break;
        }
        if (prefetch_one(f, e, &path, &t->arena) < 0) {
            atomic_store(&f->failed, 1);
            break;
        }
        fresh += f->results[e].fresh;
    }
    atomic_fetch_add(&f->fresh, fresh);
    ash__buf_free(&path);
    return NULL;
}

/* Keep the parse cache's warnings (all about its file) for the build. */
static void prefetch_diag(const char *path, const char *message, void *payload)
{
    prefetch *f = payload;
    if (path && !f->messages_path) {
        f->messages_path = ash__strdup(path);
    }
    buffer_diag(path, message, &f->messages);
}

/* The same for the resolution cache's. */
static void prefetch_rdiag(const char *path, const char *message, void *payload)
{
    prefetch *f = payload;
    if (path && !f->rcache_path) {
        f->rcache_path = ash__strdup(path);
    }
    buffer_diag(path, message, &f->rcache_messages);
}

/* Open the cache, then stat its files, with helpers when there are cores to spare (one is
 * git's) and enough files to pay for them; then load the interpreter's facts, which the build
 * would load beside its own extraction, unless the cache directory is new. */
static void *prefetch_leader(void *arg)
{
    prefetch *f = arg;
    f->rc = ash__pcache_open(&f->cache, f->cache_dir, prefetch_diag, f);
    size_t n = f->rc == 0 ? ash__pcache_count(f->cache) : 0;
    if (f->rc == 0 && n) {
        f->results = ash__calloc(n, sizeof(file_result));
        f->count = f->results ? n : 0;
        f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        f->rc = !f->results ? ASH_ENOMEM : f->rootfd < 0 ? ASH_EIO : 0;
    }
    if (f->rc == 0 && n) {
        prefetch_thread *threads = f->threads;
        int started = 1;
        threads[0].f = f;
        for (int t = 1; t < f->jobs && (size_t)t <= n / 1024 && t < PREFETCH_THREADS; t++) {
            threads[started].f = f;
            started += pthread_create(&threads[started].thread, NULL, prefetch_worker,
                                      &threads[started]) == 0;
        }
        prefetch_worker(&threads[0]);
        for (int t = 1; t < started; t++) {
            pthread_join(threads[t].thread, NULL);
        }
        if (atomic_load(&f->failed)) {
            f->rc = ASH_ENOMEM;
        }
    }
    if (f->rc == 0 && n) {
        if (ash__rescache_open(&f->rcache, f->cache_dir, prefetch_rdiag, f) < 0) {
            f->rcache = NULL; /* the link opens it */
            ash__buf_clear(&f->rcache_messages);
        }
        f->env_rc =
            ash__envinfo_load(&f->env, f->python, f->cache_dir, buffer_diag, &f->env_messages);
        f->env_loaded = 1;
    }
    return NULL;
}

/* Start the prefetch of `project` (an ash_project): called once git runs. A prefetch that
 * cannot start leaves the build all the work. */
static void start_prefetch(void *project)
{
    ash_project *p = project;
    prefetch *f = ash__calloc(1, sizeof(*f));
    if (!f) {
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    f->root = p->root;
    f->cache_dir = p->cache_dir;
    f->python = p->python;
    f->jobs = p->jobs;
    f->rootfd = -1;
    f->started_ns = ns_of(now);
    f->threads = ash__calloc(PREFETCH_THREADS, sizeof(prefetch_thread));
    if (!f->threads || pthread_create(&f->leader, NULL, prefetch_leader, f) != 0) {
        ash__free(f->threads);
        ash__free(f);
        return;
    }
    f->started = 1;
    p->pre = f;
}

/* Wait for the prefetch; the seconds waited. */
static double prefetch_join(prefetch *f)
{
    if (!f || !f->started) {
        return 0;
    }
    int64_t t0 = mono_ns();
    pthread_join(f->leader, NULL);
    f->started = 0;
    f->opened_ns = mono_ns();
    return (double)(f->opened_ns - t0) / 1e9;
}

static void prefetch_free(prefetch *f)
{
    if (!f) {
        return;
    }
    prefetch_join(f);
    for (size_t i = 0; i < f->count; i++) {
        ash_imports_free(f->results[i].imports);
        ash__buf_free(&f->results[i].messages);
    }
    ash__free(f->results);
    if (f->rootfd >= 0) {
        close(f->rootfd);
    }
    ash__pcache_free(f->cache);
    for (int t = 0; t < PREFETCH_THREADS; t++) {
        ash__imports_arena_free(&f->threads[t].arena);
    }
    ash__free(f->threads);
    ash__buf_free(&f->messages);
    ash__free(f->messages_path);
    ash__envinfo_free(f->env);
    ash__buf_free(&f->env_messages);
    ash__rescache_free(f->rcache);
    ash__buf_free(&f->rcache_messages);
    ash__free(f->rcache_path);
    ash__free(f);
}

/* The project's prefetch if the build may use it (it is taken from the project either way). */
static prefetch *prefetch_take(ash_project *p)
{
    prefetch *f = p->pre;
    p->pre = NULL;
    if (f && (f->rc < 0 || mono_ns() - f->opened_ns > PREFETCH_TTL_NS)) {
        prefetch_free(f);
        f = NULL;
    }
    return f;
}

/* Take what the prefetch found about `entry` for listed file `r`; 1 if there was something. */
static int prefetched(build_ctx *b, long entry, file_result *r)
{
    if (!b->pre || entry < 0 || !b->pre->results || !b->pre->results[entry].fresh) {
        return 0;
    }
    file_result *f = &b->pre->results[entry];
    *r = *f;
    memset(f, 0, sizeof(*f));
    if (r->stat.mtime_ns >= b->racy_after || r->stat.ctime_ns >= b->racy_after) {
        r->flags |= ASH_PCACHE_RACY;
    }
    return 1;
}

static int process(build_ctx *b, ash_extractor *ex, size_t i)
{
    file_result *r = &b->results[i];
    const char *path = b->project->py_paths[i];
    long entry = b->entries ? b->entries[i] : ash__pcache_find(b->cache, path);
    if (prefetched(b, entry, r)) {
        return 0;
    }
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
    if (entry >= 0 && ash__pcache_fresh(b->cache, entry, &r->stat)) {
        r->hash = *ash__pcache_hash(b->cache, entry);
        if (ash__pcache_imports_with(b->cache, entry, &r->imports, &r->messages, NULL) == 0) {
            r->fresh = 1;
            if (b->digests) {
                ash__pcache_digest(b->cache, entry, &r->digest);
            }
            return 0;
        }
        ash__buf_clear(&r->messages);
    }
    return load_file(b, ex, i, entry);
}

/* The digest of a file's records when they were not taken whole from the parse cache. Records
 * too large for the cache's encoding get none (their file is resolved on every run). */
static int digest(build_ctx *b, size_t i, ash_buf *scratch)
{
    file_result *r = &b->results[i];
    if (!b->digests || r->missing || r->fresh) {
        return 0;
    }
    int rc = ash__pcache_digest_of(&r->digest, r->imports, r->messages.ptr, scratch);
    if (rc == ASH_EINVAL) {
        memset(&r->digest, 0, sizeof(r->digest));
        return 0;
    }
    return rc;
}

static void *worker(void *arg)
{
    build_ctx *b = arg;
    ash_extractor *ex;
    ash_buf scratch = ASH_BUF_INIT;
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
        if (rc == 0) {
            rc = digest(b, i, &scratch);
        }
        if (rc < 0) {
            atomic_store(&b->failed, rc);
            break;
        }
    }
    ash__buf_free(&scratch);
    ash__extractor_free(ex);
    return NULL;
}

static int run_workers(build_ctx *b)
{
    int jobs = b->project->jobs;
    /* threads cost more than small trees (or files the prefetch left) */
    size_t todo = b->project->py_count - (b->pre ? atomic_load(&b->pre->fresh) : 0);
    if (todo > b->project->py_count) {
        todo = 0; /* the cache held entries no longer listed */
    }
    if ((size_t)jobs > todo / 64 + 1) {
        jobs = (int)(todo / 64) + 1;
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

/* Write a new parse-cache generation if anything differs from the loaded one; 1 if that
 * failed (and was reported), else 0. */
static int save_cache(build_ctx *b, const ash_graph *g)
{
    ash_project *p = b->project;
    int changed = g->node_count != ash__pcache_count(b->cache);
    for (size_t i = 0; i < p->py_count && !changed; i++) {
        changed = !b->results[i].missing && (!b->results[i].fresh || b->results[i].flags);
    }
    if (!changed) {
        return 0;
    }
    ash_pcache_item *items = ash__calloc(g->node_count ? g->node_count : 1, sizeof(*items));
    if (!items) {
        return 0;
    }
    for (size_t i = 0, k = 0; i < p->py_count; i++) {
        file_result *r = &b->results[i];
        if (!r->missing) {
            items[k] = (ash_pcache_item){g->paths[k], r->stat,       r->hash,
                                         r->flags,    g->imports[k], r->messages.ptr};
            k++;
        }
    }
    int failed = 0;
    if (ash__cache_dir_prepare(p->cache_dir) < 0 ||
        ash__pcache_write(p->cache_dir, items, g->node_count) < 0) {
        ash__diag(p->diag, p->payload, NULL, "cannot write the parse cache: %s", ash_error_last());
        failed = 1;
    }
    ash__free(items);
    return failed;
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

/* Resolve every import and link the graph, through the resolution cache when there is one. */
static int link_graph(build_ctx *b, ash_graph *g, const ash_envinfo *env, int unwritable)
{
    ash_project *p = b->project;
    ash_hash *digests = NULL;
    if (b->digests) {
        digests = ash__calloc(g->node_count ? g->node_count : 1, sizeof(ash_hash));
        if (!digests) {
            return ash__error_oom();
        }
        for (size_t i = 0, k = 0; i < p->py_count; i++) {
            if (!b->results[i].missing) {
                digests[k++] = b->results[i].digest;
            }
        }
    }
    ash_rescache *opened = NULL;
    if (b->digests && b->pre && b->pre->rcache) {
        /* opened beside the listing: its warnings come where opening it would give them */
        opened = b->pre->rcache;
        b->pre->rcache = NULL;
        replay(p, b->pre->rcache_path, &b->pre->rcache_messages);
    }
    ash_link_options o = {
        .roots = p->roots,
        .root_count = p->root_count,
        .check_roots = !p->config.roots_set,
        .env = env,
        .python = p->python,
        .cache_dir = b->digests ? p->cache_dir : NULL,
        .cache = opened,
        .digests = digests,
        .cache_unwritable = unwritable,
        .diag = p->diag,
        .payload = p->payload,
    };
    int rc = ash__link(g, &o);
    ash__free(digests);
    return rc;
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
    int preloaded; /* env, rc and messages came with the prefetch */
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
    } else if (!j->preloaded) {
        env_thread(j);
    }
    replay(j->project, NULL, &j->messages);
    ash__buf_free(&j->messages);
    /* the message of a failure on another thread is that thread's: say it again here */
    return j->rc < 0 ? ash__error(j->rc, "%s",
                                  j->rc == ASH_ENOMEM ? "out of memory"
                                                      : "cannot learn the interpreter's modules")
                     : 0;
}

int ash_graph_build(ash_graph **out, ash_project *p)
{
    *out = NULL;
    struct timespec now, t0, t1;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    build_ctx b = {.project = p,
                   .rootfd = -1,
                   .digests = p->cache_dir != NULL,
                   .racy_after = ns_of(now) - 1000000000LL};
    env_job env = {.project = p};
    ash_graph *g = NULL;
    size_t count = 0;
    int rc = 0;
    if ((b.pre = prefetch_take(p)) != NULL) {
        /* its cache and warnings stand for the ones opening it now would give */
        b.cache = b.pre->cache;
        b.pre->cache = NULL;
        replay(p, b.pre->messages_path, &b.pre->messages);
        b.racy_after = b.pre->started_ns - 1000000000LL < b.racy_after
                           ? b.pre->started_ns - 1000000000LL
                           : b.racy_after;
    } else if ((rc = ash__pcache_open(&b.cache, p->cache_dir, p->diag, p->payload)) < 0) {
        return rc;
    }
    b.results = ash__calloc(p->py_count ? p->py_count : 1, sizeof(file_result));
    b.entries = ash__pcache_count(b.cache) ? ash__malloc(p->py_count * sizeof(long) + 1) : NULL;
    if (!b.results || (ash__pcache_count(b.cache) && !b.entries)) {
        rc = ash__error_oom();
        goto done;
    }
    if (b.entries) {
        ash__pcache_match(b.cache, p->py_paths, p->py_count, b.entries);
    }
    b.rootfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b.rootfd < 0) {
        rc = ash__error(ASH_EIO, "%s: %s", p->root, strerror(errno));
        goto done;
    }
    if (p->cache_dir) {
        ash__cache_dir_prepare(p->cache_dir); /* the probe caches its answer there */
    }
    if (b.pre && b.pre->env_loaded) {
        env = (env_job){.project = p, .env = b.pre->env, .rc = b.pre->env_rc, .preloaded = 1};
        env.messages = b.pre->env_messages;
        b.pre->env = NULL;
        b.pre->env_messages = (ash_buf)ASH_BUF_INIT;
    } else {
        env.started = pthread_create(&env.thread, NULL, env_thread, &env) == 0;
    }
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
    for (int t = 0; b.pre && t < PREFETCH_THREADS && rc == 0; t++) {
        rc = ash__imports_arena_move(&g->arena, &b.pre->threads[t].arena);
    }
    if (rc < 0) {
        goto done;
    }
    int unwritable = p->cache_dir ? save_cache(&b, g) : 0;
    if ((rc = link_graph(&b, g, env.env, unwritable)) < 0 || (rc = ash__graph_finish(g)) < 0) {
        goto done;
    }
    g->stats.files = g->node_count;
    g->stats.read = atomic_load(&b.read);
    g->stats.parsed = atomic_load(&b.parsed);
    g->stats.cached = g->node_count - g->stats.read;
    g->stats.edges = g->edge_count;
    g->stats.list_seconds = p->list_seconds;
    /* the prefetch's wait after the listing was extraction too */
    g->stats.extract_seconds = p->prefetch_seconds + (double)(t1.tv_sec - t0.tv_sec) +
                               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    p->prefetch_seconds = 0;
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
    ash__free(b.entries);
    if (b.rootfd >= 0) {
        close(b.rootfd);
    }
    ash__pcache_free(b.cache);
    ash_graph_free(g); /* before the prefetch: its imports may live in the prefetch's arenas */
    prefetch_free(b.pre);
    ash__envinfo_free(env.env);
    return rc;
}
