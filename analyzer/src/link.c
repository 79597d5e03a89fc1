/*
 * Linking (see link.h). Each node is linked from the resolution cache when the cache's context
 * key matches this link's and the node's imports digest matches its entry, and by the resolver
 * otherwise; the resolver (a hash of every path, directory and name) is only built when some
 * node or the project-wide root check needs it. Edges are placed straight into the graph's CSR
 * arrays in node order, each node's merged as ash__graph_finish would merge them, so the graph
 * comes out finished. Warnings come out in node order, whichever way a node was linked: the
 * project-wide ones first, a line per relative import past the top, then one summary of the
 * modules found nowhere.
 */
#include "link.h"

#include "ash_uthash.h"
#include "rescache.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

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

typedef struct linker {
    ash_graph *g;
    const ash_link_options *o;
    ash_resolver *r;     /* built on first need */
    ash_rescache *cache; /* NULL without a cache directory */
    ash_hash context;
    int cached;   /* the cache was written in this context: its entries may be used */
    int store;    /* collect a new cache generation */
    int unstored; /* something could not be collected: write nothing */
    /* What the new generation needs beyond the graph: per import, past the top or not, and
     * the name an unknown import counts under (offset + 1 in unknown_names). */
    uint8_t *beyond;
    uint32_t *unknown;
    ash_buf unknown_names;
    ash_buf messages; /* the project-wide warnings, one per line */
    dist_entry *dists;
    size_t dist_cap;
    uint32_t *dist_map;   /* cache distribution index -> graph index (0: not yet interned) */
    ash_buf module_names; /* every node's module name, NUL-terminated, in node order */
    size_t *module_at;    /* per node: offset of its name in module_names */
    unknown_name *unknown_counts;
    size_t unknown_imports;
    size_t edge_cap;
    /* the edges of the node being resolved, before merging */
    ash_edge *pending;
    size_t pending_count, pending_cap;
    uint32_t from;
    const ash_import *imp;
} linker;

static int need_resolver(linker *l)
{
    if (l->r) {
        return 0;
    }
    return ash__resolver_new(&l->r, l->g->paths, l->g->node_count, l->o->roots, l->o->root_count,
                             l->o->env);
}

/* ---- project-wide warnings ---- */

/* Pass a warning on and keep it for the cache. */
static void capture(const char *path, const char *message, void *payload)
{
    linker *l = payload;
    if (l->o->diag) {
        l->o->diag(path, message, l->o->payload);
    }
    if (ash__buf_puts(&l->messages, message) < 0 || ash__buf_putc(&l->messages, '\n') < 0) {
        l->unstored = 1;
    }
}

static int project_warnings(linker *l)
{
    if (l->cached) {
        const char *text = ash__rescache_messages(l->cache);
        for (const char *line = text; *line;) {
            const char *nl = strchr(line, '\n');
            size_t n = nl ? (size_t)(nl - line) : strlen(line);
            char *copy = ash__strndup(line, n);
            if (!copy) {
                return ash__error_oom();
            }
            capture(NULL, copy, l);
            ash__free(copy);
            line += n + (nl != NULL);
        }
        return 0;
    }
    if (!l->o->check_roots) {
        return 0;
    }
    int rc = need_resolver(l);
    if (rc == 0 && ash__resolver_check_roots(l->r, capture, l) < 0) {
        l->unstored = 1; /* a warning may be missing: not one for the cache (nor an error) */
    }
    return rc;
}

/* ---- per import ---- */

static int intern_dist(linker *l, const char *name, uint32_t *index)
{
    ash_graph *g = l->g;
    size_t len = strlen(name);
    dist_entry *d;
    HASH_FIND(hh, l->dists, name, len, d);
    if (!d) {
        void *names = g->dist_names;
        if (ash__grow(&names, &l->dist_cap, g->dist_count + 1, sizeof(char *)) < 0) {
            return ASH_ENOMEM;
        }
        g->dist_names = names;
        d = ash__calloc(1, sizeof(*d) + len + 1);
        if (!d || !(g->dist_names[g->dist_count] = ash__strdup(name))) {
            ash__free(d);
            return ash__error_oom();
        }
        memcpy(d->name, name, len);
        d->index = (uint32_t)++g->dist_count;
        ash__uthash_oom = 0;
        HASH_ADD(hh, l->dists, name, len, d);
        if (ash__uthash_oom) {
            ash__free(d);
            return ash__error_oom();
        }
    }
    *index = d->index;
    return 0;
}

/* Count an import of a module found nowhere under `name`. */
static int note_unknown(linker *l, const char *name)
{
    size_t len = strlen(name);
    unknown_name *u;
    HASH_FIND(hh, l->unknown_counts, name, len, u);
    if (!u) {
        u = ash__calloc(1, sizeof(*u) + len + 1);
        if (!u) {
            return ash__error_oom();
        }
        memcpy(u->name, name, len);
        ash__uthash_oom = 0;
        HASH_ADD(hh, l->unknown_counts, name, len, u);
        if (ash__uthash_oom) {
            ash__free(u);
            return ash__error_oom();
        }
    }
    u->count++;
    l->unknown_imports++;
    return 0;
}

/* Record what became of import `k` of node `i` (`dist`: the graph's 1-based index of its
 * distribution, 0 for none; `unknown`: the name it counts under when found nowhere, or NULL),
 * and warn about it. */
static int import_done(linker *l, size_t i, size_t k, ash_origin origin, int beyond_top,
                       uint32_t dist, const char *unknown)
{
    ash_graph *g = l->g;
    size_t at = g->import_start[i] + k;
    int rc = 0;
    g->origins[at] = (uint8_t)origin;
    g->dists[at] = dist;
    g->stats.imports++;
    if (l->store) {
        l->beyond[at] = (uint8_t)(beyond_top != 0);
        if (unknown) {
            if (l->unknown_names.len >= UINT32_MAX - strlen(unknown) - 2) {
                l->unstored = 1;
            } else {
                l->unknown[at] = (uint32_t)l->unknown_names.len + 1;
                if (ash__buf_put(&l->unknown_names, unknown, strlen(unknown) + 1) < 0) {
                    return ASH_ENOMEM;
                }
            }
        }
    }
    if (!beyond_top && origin != ASH_ORIGIN_UNKNOWN) {
        return 0; /* the common case: the record itself is not needed (nor its cache line) */
    }
    const ash_import *imp = ash_imports_get(g->imports[i], k);
    if (beyond_top) {
        ash__diag(l->o->diag, l->o->payload, g->paths[i],
                  "line %u: relative import beyond the top-level package; no edge", imp->line);
    } else if (unknown && ash__envinfo_available(l->o->env) &&
               !(imp->flags & (ASH_IMPORT_OPTIONAL | ASH_IMPORT_TYPE_CHECKING))) {
        rc = note_unknown(l, unknown);
    }
    return rc;
}

/* ---- per node ---- */

/* Room for `count` more edges in the graph's CSR arrays. */
static int reserve_edges(linker *l, size_t count)
{
    ash_graph *g = l->g;
    if (count > UINT32_MAX - 1 - g->edge_count) {
        return ash__error(ASH_EINVAL, "too many imports for one graph");
    }
    void *grown = g->edges;
    if (ash__grow(&grown, &l->edge_cap, g->edge_count + count + 1, sizeof(ash_edge)) < 0) {
        return ASH_ENOMEM;
    }
    g->edges = grown;
    return 0;
}

static int pending_reserve(linker *l, size_t count)
{
    void *grown = l->pending;
    if (ash__grow(&grown, &l->pending_cap, count, sizeof(ash_edge)) < 0) {
        return ASH_ENOMEM;
    }
    l->pending = grown;
    return 0;
}

static int add_module(linker *l, size_t i, const char *name)
{
    l->module_at[i] = l->module_names.len;
    return ash__buf_put(&l->module_names, name, strlen(name) + 1);
}

/* The graph's index of the cache's distribution `d` (1-based), interning it on first use. */
static int cached_dist(linker *l, uint32_t d, uint32_t *index)
{
    if (!l->dist_map[d]) {
        int rc = intern_dist(l, ash__rescache_dist_name(l->cache, d), &l->dist_map[d]);
        if (rc < 0) {
            return rc;
        }
    }
    *index = l->dist_map[d];
    return 0;
}

static int link_cached(linker *l, size_t i)
{
    ash_graph *g = l->g;
    int rc = add_module(l, i, ash__rescache_module(l->cache, i));
    size_t n = g->import_start[i + 1] - g->import_start[i];
    for (size_t k = 0; rc == 0 && k < n; k++) {
        int beyond_top;
        uint32_t d, dist = 0;
        ash_origin origin = ash__rescache_import(l->cache, i, k, &beyond_top, &d);
        const char *unknown = origin == ASH_ORIGIN_UNKNOWN && !beyond_top
                                  ? ash__rescache_unknown(l->cache, i, k)
                                  : NULL;
        if (d && (rc = cached_dist(l, d, &dist)) < 0) {
            break;
        }
        rc = import_done(l, i, k, origin, beyond_top, dist, unknown);
    }
    size_t count = ash__rescache_edge_count(l->cache, i);
    if (rc == 0 && count && (rc = reserve_edges(l, count)) == 0) {
        ash__rescache_edges(l->cache, i, g->edges + g->edge_count);
        g->edge_count += count;
    }
    return rc;
}

static int add_target(uint32_t target, ash_edge_kind kind, void *payload)
{
    linker *l = payload;
    if (target == l->from) {
        return 0; /* no self-edges, as ash__graph_add_edge */
    }
    if (pending_reserve(l, l->pending_count + 1) < 0) {
        return ASH_ENOMEM;
    }
    l->pending[l->pending_count++] = (ash_edge){target, l->imp->line, kind, l->imp->flags};
    return 0;
}

static int link_resolved(linker *l, size_t i)
{
    ash_graph *g = l->g;
    const char *module;
    int rc = need_resolver(l);
    if (rc < 0 || (rc = ash__resolver_module(l->r, (uint32_t)i, &module)) < 0 ||
        (rc = add_module(l, i, module)) < 0) {
        return rc;
    }
    const ash_imports *imps = g->imports[i];
    l->from = (uint32_t)i;
    l->pending_count = 0;
    for (size_t k = 0; rc == 0 && k < ash_imports_count(imps); k++) {
        ash_resolution res;
        l->imp = ash_imports_get(imps, k);
        if ((rc = ash__resolve_import(l->r, l->from, l->imp, add_target, l, &res)) < 0) {
            break;
        }
        /* found nowhere: counted by its top-level name, or by its full name when the project
         * has the package but not the module */
        char *unknown = NULL;
        if (res.origin == ASH_ORIGIN_UNKNOWN && !res.beyond_top &&
            !(unknown = ash__strndup(res.name,
                                     res.partial ? strlen(res.name) : strcspn(res.name, ".")))) {
            return ash__error_oom();
        }
        uint32_t dist = 0;
        if (res.dist) {
            rc = intern_dist(l, res.dist, &dist);
        }
        if (rc == 0) {
            rc = import_done(l, i, k, res.origin, res.beyond_top, dist, unknown);
        }
        ash__free(unknown);
    }
    size_t count = rc == 0 ? ash__graph_merge(l->pending, l->pending_count) : 0;
    if (rc == 0 && count && (rc = reserve_edges(l, count)) == 0) {
        memcpy(g->edges + g->edge_count, l->pending, count * sizeof(ash_edge));
        g->edge_count += count;
    }
    return rc;
}

/* ---- the whole graph ---- */

static int by_count(const void *a, const void *b)
{
    const unknown_name *x = *(unknown_name *const *)a, *y = *(unknown_name *const *)b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->name, y->name);
}

/* One line naming the most imported unknown modules. */
static void report_unknown(linker *l)
{
    size_t n = HASH_COUNT(l->unknown_counts), k = 0;
    unknown_name **all = n ? ash__malloc(n * sizeof(*all)) : NULL;
    if (all) {
        unknown_name *u, *tmp;
        HASH_ITER(hh, l->unknown_counts, u, tmp)
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
        ash__diag(l->o->diag, l->o->payload, NULL,
                  "%zu imports of %zu modules found neither in the project, the standard library "
                  "nor %s's site-packages: %s",
                  l->unknown_imports, n, l->o->python, ash__buf_cstr(&names));
        ash__buf_free(&names);
    }
    ash__free(all);
}

/* Allocate the per-node and per-import arrays of the graph. */
static int alloc_arrays(linker *l)
{
    ash_graph *g = l->g;
    size_t total = 0, n = g->node_count;
    g->import_start = ash__calloc(n + 1, sizeof(uint32_t));
    g->modules = ash__calloc(n ? n : 1, sizeof(char *));
    l->module_at = ash__calloc(n ? n : 1, sizeof(size_t));
    if (!g->import_start || !g->modules || !l->module_at) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        g->import_start[i] = (uint32_t)total;
        total += ash_imports_count(g->imports[i]);
        if (total >= UINT32_MAX) {
            return ash__error(ASH_EINVAL, "too many imports: %zu", total);
        }
    }
    g->import_start[n] = (uint32_t)total;
    g->origins = ash__calloc(total ? total : 1, 1);
    g->dists = ash__calloc(total ? total : 1, sizeof(uint32_t));
    return g->origins && g->dists ? 0 : ash__error_oom();
}

/* What the new cache generation needs beyond the graph, when one is written. */
static int alloc_results(linker *l)
{
    size_t total = l->g->import_start[l->g->node_count];
    if (!l->store) {
        return 0;
    }
    l->beyond = ash__calloc(total ? total : 1, 1);
    l->unknown = ash__calloc(total ? total : 1, sizeof(uint32_t));
    return l->beyond && l->unknown ? 0 : ash__error_oom();
}

/* Whether the cache answers for node `i` (once it matches the context). */
static int hit(const linker *l, size_t i)
{
    const ash_graph *g = l->g;
    return ash__rescache_hit(l->cache, i, &l->o->digests[i],
                             g->import_start[i + 1] - g->import_start[i]);
}

/* Open the cache and see what it can answer: sets l->cached, and l->store unless every node
 * is answered (then the file stays as it is). */
static int open_cache(linker *l)
{
    const ash_link_options *o = l->o;
    ash_graph *g = l->g;
    int rc = ash__rescache_context(&l->context, g->paths, g->node_count, o->roots, o->root_count,
                                   o->check_roots, o->env);
    if (rc == 0 && !l->cache) {
        rc = ash__rescache_open(&l->cache, o->cache_dir, o->diag, o->payload);
    }
    if (rc < 0) {
        return rc;
    }
    l->cached = ash__rescache_matches(l->cache, &l->context, g->node_count);
    l->store = !l->cached;
    for (size_t i = 0; i < g->node_count && !l->store; i++) {
        l->store = !hit(l, i);
    }
    if (l->cached) {
        l->dist_map = ash__calloc(ash__rescache_dist_count(l->cache) + 1, sizeof(uint32_t));
        if (!l->dist_map) {
            return ash__error_oom();
        }
    }
    return 0;
}

static void save_cache(linker *l)
{
    ash_graph *g = l->g;
    ash_rescache_input in = {
        .context = l->context,
        .node_count = g->node_count,
        .digests = l->o->digests,
        .modules = g->modules,
        .import_start = g->import_start,
        .origins = g->origins,
        .beyond_top = l->beyond,
        .dists = g->dists,
        .dist_names = g->dist_names,
        .dist_count = g->dist_count,
        .unknown = l->unknown,
        .unknown_names = l->unknown_names.ptr,
        .edge_start = g->edge_start,
        .edges = g->edges,
        .messages = ash__buf_cstr(&l->messages),
    };
    if (ash__rescache_write(l->o->cache_dir, &in) < 0 && !l->o->cache_unwritable) {
        ash__diag(l->o->diag, l->o->payload, NULL, "cannot write the resolution cache: %s",
                  ash_error_last());
    }
}

static void linker_free(linker *l)
{
    unknown_name *u, *utmp;
    HASH_ITER(hh, l->unknown_counts, u, utmp)
    {
        HASH_DEL(l->unknown_counts, u);
        ash__free(u);
    }
    dist_entry *d, *dtmp;
    HASH_ITER(hh, l->dists, d, dtmp)
    {
        HASH_DEL(l->dists, d);
        ash__free(d);
    }
    ash__resolver_free(l->r);
    ash__rescache_free(l->cache);
    ash__free(l->beyond);
    ash__free(l->unknown);
    ash__free(l->dist_map);
    ash__free(l->module_at);
    ash__buf_free(&l->module_names);
    ash__free(l->pending);
    ash__buf_free(&l->unknown_names);
    ash__buf_free(&l->messages);
}

/* Point the graph's module names into one block (one allocation instead of one per node). */
static int set_modules(linker *l)
{
    ash_graph *g = l->g;
    if (!(g->module_names = ash__buf_detach(&l->module_names))) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < g->node_count; i++) {
        g->modules[i] = g->module_names + l->module_at[i];
    }
    return 0;
}

int ash__link(ash_graph *g, const ash_link_options *o)
{
    linker l = {.g = g, .o = o, .cache = o->cache};
    l.store = o->cache_dir != NULL;
    int rc = alloc_arrays(&l);
    if (rc == 0 && o->cache_dir) {
        rc = open_cache(&l);
    }
    if (rc < 0 || (rc = alloc_results(&l)) < 0 || (rc = project_warnings(&l)) < 0) {
        goto done;
    }
    for (size_t i = 0; rc == 0 && i < g->node_count; i++) {
        g->edge_start[i] = (uint32_t)g->edge_count;
        rc = l.cached && hit(&l, i) ? link_cached(&l, i) : link_resolved(&l, i);
    }
    if (rc < 0 || (rc = set_modules(&l)) < 0) {
        goto done;
    }
    g->edge_start[g->node_count] = (uint32_t)g->edge_count;
    if (l.unknown_imports) {
        report_unknown(&l);
    }
    g->stats.unresolved = l.unknown_imports;
    if (l.store && !l.unstored) {
        save_cache(&l);
    }
done:
    linker_free(&l);
    return rc;
}
