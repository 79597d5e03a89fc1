/*
 * The import graph: CSR storage built from edges added in any order, path lookup, strongly
 * connected components, and the JSON and Graphviz writers.
 *
 * Graphs of real projects have long import chains, so nothing here recurses: Tarjan's algorithm
 * keeps its call stack in an array, and closures are breadth-first searches. The writers build
 * their output in a buffer handed to the stream in chunks, each path escaped once up front.
 */
#include "graph.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Marks a node not yet visited (Tarjan) or not yet in a component; never a node index, since
 * node counts are checked to stay below it. */
#define UNSET UINT32_MAX

/* Output is handed to the stream once this much has built up. */
#define WRITE_CHUNK (64 * 1024)

/* ---------------------------------------------------------------------------------------- */
/* Construction and accessors                                                               */

static void free_paths(char **paths, size_t count)
{
    if (!paths) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        ash__free(paths[i]);
    }
    ash__free(paths);
}

int ash__graph_new(ash_graph **out, char **paths, size_t count)
{
    *out = NULL;
    int rc = 0;
    ash_graph *g = NULL;
    if (count >= UNSET) {
        rc = ash__error(ASH_EINVAL, "too many files for one graph: %zu", count);
        goto done;
    }
    for (size_t i = 1; i < count; i++) {
        assert(strcmp(paths[i - 1], paths[i]) < 0 && "paths must be sorted and unique");
    }
    g = ash__calloc(1, sizeof *g);
    if (!g) {
        rc = ash__error_oom();
        goto done;
    }
    g->node_count = count;
    g->paths = paths;
    paths = NULL;
    g->imports = ash__calloc(count, sizeof *g->imports);
    g->hashes = ash__calloc(count ? count : 1, sizeof *g->hashes);
    /* Zeroed offsets: an unfinished graph reads as one without edges. */
    g->edge_start = ash__calloc(count + 1, sizeof *g->edge_start);
    if (!g->imports || !g->hashes || !g->edge_start) {
        rc = ash__error_oom();
        goto done;
    }
    *out = g;
    g = NULL;
done:
    free_paths(paths, count);
    ash_graph_free(g);
    return rc;
}

void ash_graph_free(ash_graph *graph)
{
    if (!graph) {
        return;
    }
    if (graph->imports) {
        for (size_t i = 0; i < graph->node_count; i++) {
            ash_imports_free(graph->imports[i]);
        }
    }
    ash__imports_arena_free(&graph->arena);
    free_paths(graph->paths, graph->node_count);
    ash__free(graph->imports);
    ash__free(graph->hashes);
    ash__free(graph->edge_start);
    ash__free(graph->edges);
    ash__free(graph->pending);
    for (size_t i = 0; graph->modules && !graph->module_names && i < graph->node_count; i++) {
        ash__free(graph->modules[i]);
    }
    ash__free(graph->modules);
    ash__free(graph->module_names);
    ash__free(graph->import_start);
    ash__free(graph->origins);
    ash__free(graph->dists);
    for (size_t i = 0; i < graph->dist_count; i++) {
        ash__free(graph->dist_names[i]);
    }
    ash__free(graph->dist_names);
    ash__free(graph);
}

ash_origin ash_graph_import_origin(const ash_graph *graph, size_t i, size_t k,
                                   const char **distribution)
{
    if (distribution) {
        *distribution = NULL;
    }
    if (!graph->import_start || i >= graph->node_count ||
        k >= graph->import_start[i + 1] - graph->import_start[i]) {
        return ASH_ORIGIN_UNKNOWN;
    }
    size_t at = graph->import_start[i] + k;
    if (distribution && graph->dists[at]) {
        *distribution = graph->dist_names[graph->dists[at] - 1];
    }
    return (ash_origin)graph->origins[at];
}

void ash__graph_set_imports(ash_graph *g, size_t node, ash_imports *imports)
{
    assert(node < g->node_count);
    ash_imports_free(g->imports[node]);
    g->imports[node] = imports;
}

int ash__graph_add_edge(ash_graph *g, uint32_t from, uint32_t to, uint32_t line, ash_edge_kind kind,
                        uint32_t flags)
{
    assert(from < g->node_count && to < g->node_count);
    if (from == to) {
        return 0;
    }
    void *pending = g->pending;
    if (ash__grow(&pending, &g->pending_cap, g->pending_count + 1, sizeof *g->pending) < 0) {
        return ASH_ENOMEM;
    }
    g->pending = pending;
    g->pending[g->pending_count++] = (ash_graph_pending){from, {to, line, kind, flags}};
    return 0;
}

size_t ash_graph_node_count(const ash_graph *graph)
{
    return graph ? graph->node_count : 0;
}

const char *ash_graph_node_path(const ash_graph *graph, size_t i)
{
    assert(i < graph->node_count);
    return graph->paths[i];
}

long ash_graph_find(const ash_graph *graph, const char *path)
{
    size_t lo = 0, hi = graph->node_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(graph->paths[mid], path);
        if (cmp == 0) {
            return (long)mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

const ash_edge *ash_graph_edges(const ash_graph *graph, size_t i, size_t *count)
{
    assert(i < graph->node_count);
    uint32_t begin = graph->edge_start[i], end = graph->edge_start[i + 1];
    *count = end - begin;
    return end > begin ? graph->edges + begin : NULL;
}

const ash_imports *ash_graph_node_imports(const ash_graph *graph, size_t i)
{
    assert(i < graph->node_count);
    return graph->imports[i];
}

/* ---------------------------------------------------------------------------------------- */
/* Finishing: from the pending list to merged, sorted CSR                                   */

static int edge_cmp(const void *a, const void *b)
{
    const ash_edge *x = a, *y = b;
    if (x->target != y->target) {
        return x->target < y->target ? -1 : 1;
    }
    return (x->line > y->line) - (x->line < y->line);
}

size_t ash__graph_merge(ash_edge *edges, size_t count)
{
    if (count > 1) {
        qsort(edges, count, sizeof *edges, edge_cmp);
    }
    size_t kept = 0;
    for (size_t e = 0; e < count; e++) {
        ash_edge *last = kept ? &edges[kept - 1] : NULL;
        if (last && last->target == edges[e].target) {
            /* Sorted by line, so `last` already has the smallest one. */
            last->kind = edges[e].kind < last->kind ? edges[e].kind : last->kind;
            last->flags &= edges[e].flags;
        } else {
            edges[kept++] = edges[e];
        }
    }
    return kept;
}

/* Sort each node's range of `edges` (given by `start`) and merge the edges of one target, in
 * place; rewrites `start` to the compacted ranges and returns the number of edges kept. */
static size_t merge_edges(ash_edge *edges, uint32_t *start, size_t n)
{
    size_t kept = 0;
    uint32_t begin = start[0];
    for (size_t i = 0; i < n; i++) {
        uint32_t end = start[i + 1];
        size_t count = ash__graph_merge(edges + begin, end - begin);
        memmove(edges + kept, edges + begin, count * sizeof *edges);
        start[i] = (uint32_t)kept;
        kept += count;
        begin = end;
    }
    start[n] = (uint32_t)kept;
    return kept;
}

int ash__graph_finish(ash_graph *g)
{
    if (g->pending_count == 0) {
        return 0;
    }
    size_t n = g->node_count;
    int rc = 0;
    uint32_t *start = NULL;
    ash_edge *edges = NULL;
    if (g->pending_count > UINT32_MAX - g->edge_count) {
        rc = ash__error(ASH_EINVAL, "too many imports for one graph");
        goto done;
    }
    size_t total = g->edge_count + g->pending_count;
    start = ash__calloc(n + 1, sizeof *start);
    edges = ash__malloc(total * sizeof *edges);
    if (!start || !edges) {
        rc = ash__error_oom();
        goto done;
    }
    /* Counting sort by source: the edges already placed, then the pending ones. */
    for (size_t i = 0; i < n; i++) {
        start[i + 1] = g->edge_start[i + 1] - g->edge_start[i];
    }
    for (size_t p = 0; p < g->pending_count; p++) {
        start[g->pending[p].from + 1]++;
    }
    for (size_t i = 0; i < n; i++) {
        start[i + 1] += start[i];
    }
    /* start[i] serves as node i's cursor and ends at node i + 1's offset: shift back after. */
    for (size_t i = 0; i < n; i++) {
        for (uint32_t e = g->edge_start[i]; e < g->edge_start[i + 1]; e++) {
            edges[start[i]++] = g->edges[e];
        }
    }
    for (size_t p = 0; p < g->pending_count; p++) {
        edges[start[g->pending[p].from]++] = g->pending[p].edge;
    }
    memmove(start + 1, start, n * sizeof *start);
    start[0] = 0;
    size_t kept = merge_edges(edges, start, n);
    ash_edge *shrunk = kept < total ? ash__realloc(edges, kept * sizeof *edges) : NULL;
    edges = shrunk ? shrunk : edges;

    ash__free(g->edges);
    ash__free(g->edge_start);
    ash__free(g->pending);
    g->edges = edges;
    g->edge_start = start;
    g->edge_count = kept;
    g->pending = NULL;
    g->pending_count = g->pending_cap = 0;
    edges = NULL;
    start = NULL;
done:
    ash__free(start);
    ash__free(edges);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Strongly connected components: Tarjan with an explicit call stack                        */

typedef struct tarjan {
    const ash_graph *g;
    uint32_t *comp;  /* the result; UNSET until the node's component is complete */
    uint32_t *index; /* visit order; UNSET before the visit */
    uint32_t *low;
    uint32_t *stack; /* visited nodes whose component is not complete yet */
    size_t stack_len;
    uint32_t *call; /* the depth-first search's path from the root */
    uint32_t *next; /* per entry of `call`: the next edge of that node to follow */
    size_t call_len;
    uint32_t visited;
    uint32_t comp_count;
} tarjan;

static void tarjan_enter(tarjan *t, uint32_t v)
{
    t->index[v] = t->low[v] = t->visited++;
    t->stack[t->stack_len++] = v;
    t->call[t->call_len] = v;
    t->next[t->call_len] = t->g->edge_start[v];
    t->call_len++;
}

/* The search returns from `v` (already popped from `call`): `v` roots a component when nothing
 * below it reached a node visited earlier, and its caller learns how far up it reached. */
static void tarjan_leave(tarjan *t, uint32_t v)
{
    if (t->low[v] == t->index[v]) {
        uint32_t w;
        do {
            w = t->stack[--t->stack_len];
            t->comp[w] = t->comp_count;
        } while (w != v);
        t->comp_count++;
    }
    if (t->call_len > 0) {
        uint32_t u = t->call[t->call_len - 1];
        t->low[u] = t->low[v] < t->low[u] ? t->low[v] : t->low[u];
    }
}

static void tarjan_run(tarjan *t, uint32_t root)
{
    tarjan_enter(t, root);
    while (t->call_len > 0) {
        size_t top = t->call_len - 1;
        uint32_t v = t->call[top];
        if (t->next[top] == t->g->edge_start[v + 1]) {
            t->call_len--;
            tarjan_leave(t, v);
            continue;
        }
        uint32_t w = t->g->edges[t->next[top]++].target;
        if (t->index[w] == UNSET) {
            tarjan_enter(t, w);
        } else if (t->comp[w] == UNSET && t->index[w] < t->low[v]) {
            /* Visited and in no finished component: w is on the stack, in v's component. */
            t->low[v] = t->index[w];
        }
    }
}

int ash_graph_components(uint32_t **out, const ash_graph *graph, size_t *count)
{
    assert(graph->pending_count == 0 && "ash__graph_finish first");
    *out = NULL;
    if (count) {
        *count = 0;
    }
    size_t n = graph->node_count;
    int rc = 0;
    tarjan t = {.g = graph};
    uint32_t *comp = ash__malloc(n * sizeof *comp);
    /* One block for the five work arrays: fewer ways to fail, one free. */
    uint32_t *work = ash__malloc(5 * n * sizeof *work);
    if (!comp || !work) {
        rc = ash__error_oom();
        goto done;
    }
    t.comp = comp;
    t.index = work;
    t.low = work + n;
    t.stack = work + 2 * n;
    t.call = work + 3 * n;
    t.next = work + 4 * n;
    memset(comp, 0xFF, n * sizeof *comp);
    memset(t.index, 0xFF, n * sizeof *t.index);
    for (size_t root = 0; root < n; root++) {
        if (t.index[root] == UNSET) {
            tarjan_run(&t, (uint32_t)root);
        }
    }
    *out = comp;
    comp = NULL;
    if (count) {
        *count = t.comp_count;
    }
done:
    ash__free(comp);
    ash__free(work);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Adjacency for the writers: filtered, forward or reversed                                 */

static bool edge_followed(const ash_edge *e, unsigned options)
{
    return !(options & ASH_WRITE_NO_TYPE_CHECKING) || !(e->flags & ASH_IMPORT_TYPE_CHECKING);
}

/* A CSR of node indices: each node's dependencies, or with ASH_WRITE_DEPENDENTS its dependents,
 * ascending; with ASH_WRITE_NO_TYPE_CHECKING without type-checking-only edges. */
static int adjacency(uint32_t **start_out, uint32_t **nodes_out, const ash_graph *g,
                     unsigned options)
{
    assert(g->pending_count == 0 && "ash__graph_finish first");
    *start_out = NULL;
    *nodes_out = NULL;
    size_t n = g->node_count;
    bool reverse = options & ASH_WRITE_DEPENDENTS;
    int rc = 0;
    uint32_t *start = ash__calloc(n + 1, sizeof *start);
    uint32_t *nodes = ash__malloc(g->edge_count * sizeof *nodes);
    if (!start || !nodes) {
        rc = ash__error_oom();
        goto done;
    }
    for (size_t u = 0; u < n; u++) {
        for (uint32_t e = g->edge_start[u]; e < g->edge_start[u + 1]; e++) {
            if (edge_followed(&g->edges[e], options)) {
                start[(reverse ? g->edges[e].target : u) + 1]++;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        start[i + 1] += start[i];
    }
    /* Sources come in ascending order and targets are sorted per node: both lists come out
     * sorted. start[i] is a cursor again, shifted back after (see ash__graph_finish). */
    for (size_t u = 0; u < n; u++) {
        for (uint32_t e = g->edge_start[u]; e < g->edge_start[u + 1]; e++) {
            uint32_t v = g->edges[e].target;
            if (edge_followed(&g->edges[e], options)) {
                nodes[start[reverse ? v : u]++] = reverse ? (uint32_t)u : v;
            }
        }
    }
    memmove(start + 1, start, n * sizeof *start);
    start[0] = 0;
    *start_out = start;
    *nodes_out = nodes;
    start = NULL;
    nodes = NULL;
done:
    ash__free(start);
    ash__free(nodes);
    return rc;
}

int ash__graph_reverse(uint32_t **start, uint32_t **sources, const ash_graph *g, unsigned options)
{
    return adjacency(start, sources, g,
                     (options & ASH_WRITE_NO_TYPE_CHECKING) | ASH_WRITE_DEPENDENTS);
}

/* ---------------------------------------------------------------------------------------- */
/* Transitive closure, one node at a time                                                   */

typedef struct closure {
    const uint32_t *start; /* the adjacency followed */
    const uint32_t *nodes;
    size_t node_count;
    uint32_t *stamp; /* stamp[v] == node + 1: v was reached from `node`; never cleared */
    uint32_t *queue; /* the search's queue, then the closure */
} closure;

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Fill c->queue with the nodes reachable from `node` by one edge or more, except `node` itself
 * (even on a cycle), ascending; returns how many. */
static size_t closure_of(closure *c, uint32_t node)
{
    uint32_t stamp = node + 1;
    size_t head = 0, tail = 0;
    c->stamp[node] = stamp;
    for (uint32_t v = node;;) {
        for (uint32_t k = c->start[v]; k < c->start[v + 1]; k++) {
            uint32_t w = c->nodes[k];
            if (c->stamp[w] != stamp) {
                c->stamp[w] = stamp;
                c->queue[tail++] = w;
            }
        }
        if (head == tail) {
            break;
        }
        v = c->queue[head++];
    }
    /* Sorting costs k log k: once the closure is a good part of the graph, a scan of the stamps
     * is cheaper and comes out in order. */
    if (tail > c->node_count / 16) {
        size_t k = 0;
        for (size_t v = 0; v < c->node_count; v++) {
            if (c->stamp[v] == stamp && v != node) {
                c->queue[k++] = (uint32_t)v;
            }
        }
    } else {
        qsort(c->queue, tail, sizeof *c->queue, u32_cmp);
    }
    return tail;
}

/* ---------------------------------------------------------------------------------------- */
/* Writers                                                                                  */

typedef int (*quote_fn)(ash_buf *buf, const char *s, size_t len);

typedef struct writer {
    const ash_graph *g;
    FILE *stream;
    unsigned options;
    ash_buf out;
    /* Every path quoted for the format, back to back: node i's is
     * names.ptr[name_at[i] .. name_at[i + 1]). A path is listed many times in closures. */
    ash_buf names;
    size_t *name_at;
    uint32_t *start; /* adjacency(options) */
    uint32_t *nodes;
    closure cl; /* searches over the adjacency, with ASH_WRITE_CLOSURE */
} writer;

static void writer_close(writer *w)
{
    ash__buf_free(&w->out);
    ash__buf_free(&w->names);
    ash__free(w->name_at);
    ash__free(w->start);
    ash__free(w->nodes);
    ash__free(w->cl.stamp);
    ash__free(w->cl.queue);
}

static int writer_open(writer *w, const ash_graph *g, FILE *stream, unsigned options,
                       quote_fn quote)
{
    *w = (writer){.g = g, .stream = stream, .options = options};
    size_t n = g->node_count;
    w->name_at = ash__malloc((n + 1) * sizeof *w->name_at);
    if (!w->name_at) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        w->name_at[i] = w->names.len;
        if (quote(&w->names, g->paths[i], strlen(g->paths[i])) < 0) {
            return ASH_ENOMEM;
        }
    }
    w->name_at[n] = w->names.len;
    if (adjacency(&w->start, &w->nodes, g, options) < 0) {
        return ASH_ENOMEM;
    }
    if (options & ASH_WRITE_CLOSURE) {
        w->cl = (closure){w->start, w->nodes, n, NULL, NULL};
        w->cl.stamp = ash__calloc(n, sizeof *w->cl.stamp);
        w->cl.queue = ash__malloc(n * sizeof *w->cl.queue);
        if (!w->cl.stamp || !w->cl.queue) {
            return ash__error_oom();
        }
    }
    return 0;
}

/* The nodes listed for `node`: its dependencies or dependents, direct or transitive; `*list` is
 * borrowed from the writer until the next call. */
static size_t writer_list(writer *w, uint32_t node, const uint32_t **list)
{
    if (w->options & ASH_WRITE_CLOSURE) {
        *list = w->cl.queue;
        return closure_of(&w->cl, node);
    }
    *list = w->nodes + w->start[node];
    return w->start[node + 1] - w->start[node];
}

static int put_name(writer *w, uint32_t node)
{
    return ash__buf_put(&w->out, w->names.ptr + w->name_at[node],
                        w->name_at[node + 1] - w->name_at[node]);
}

static int write_error(int err)
{
    return ash__error(ASH_EIO, "cannot write the graph: %s", err ? strerror(err) : "write error");
}

/* Hand the buffered output to the stream once a chunk has built up, or with `all` whatever
 * there is, and then flush the stream so that a full disk or closed pipe is reported here. */
static int writer_flush(writer *w, bool all)
{
    if (w->out.len > 0 && (all || w->out.len >= WRITE_CHUNK)) {
        errno = 0;
        if (fwrite(w->out.ptr, 1, w->out.len, w->stream) != w->out.len) {
            return write_error(errno);
        }
        ash__buf_clear(&w->out);
    }
    if (all) {
        errno = 0;
        if (fflush(w->stream) != 0) {
            return write_error(errno);
        }
    }
    return 0;
}

/* One `  "path": [...]` member, pretty-printed like serde_json. */
static int json_member(writer *w, uint32_t node, const uint32_t *list, size_t count, bool last)
{
    if (ash__buf_puts(&w->out, "  ") < 0 || put_name(w, node) < 0 ||
        ash__buf_puts(&w->out, count ? ": [\n" : ": []") < 0) {
        return ASH_ENOMEM;
    }
    for (size_t k = 0; k < count; k++) {
        if (ash__buf_puts(&w->out, "    ") < 0 || put_name(w, list[k]) < 0 ||
            ash__buf_puts(&w->out, k + 1 < count ? ",\n" : "\n") < 0) {
            return ASH_ENOMEM;
        }
    }
    if (count && ash__buf_puts(&w->out, "  ]") < 0) {
        return ASH_ENOMEM;
    }
    return ash__buf_puts(&w->out, last ? "\n" : ",\n");
}

/* The shape of `ruff analyze graph`. ruff has no closure: with ASH_WRITE_CLOSURE a file never
 * lists itself, even when it sits on an import cycle. */
int ash_graph_write_json(const ash_graph *graph, FILE *stream, unsigned options)
{
    writer w;
    size_t n = graph->node_count;
    int rc = writer_open(&w, graph, stream, options, ash__buf_json);
    if (rc < 0) {
        goto done;
    }
    /* serde_json's pretty printer writes an empty object as `{}`. */
    rc = ash__buf_puts(&w.out, n ? "{\n" : "{}\n");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint32_t *list;
        size_t count = writer_list(&w, (uint32_t)i, &list);
        rc = json_member(&w, (uint32_t)i, list, count, i + 1 == n);
        if (rc == 0) {
            rc = writer_flush(&w, false);
        }
    }
    if (rc == 0 && n) {
        rc = ash__buf_puts(&w.out, "}\n");
    }
    if (rc == 0) {
        rc = writer_flush(&w, true);
    }
done:
    writer_close(&w);
    return rc;
}

/* A dot ID in double quotes. Backslashes are doubled so that Graphviz's label escapes (`\N`,
 * `\l`) cannot fire; line breaks are written as `\n`, which the default label shows as one. */
static int dot_quote(ash_buf *buf, const char *s, size_t len)
{
    if (ash__buf_putc(buf, '"') < 0) {
        return ASH_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        int rc;
        switch (s[i]) {
        case '"':
            rc = ash__buf_puts(buf, "\\\"");
            break;
        case '\\':
            rc = ash__buf_puts(buf, "\\\\");
            break;
        case '\n':
            rc = ash__buf_puts(buf, "\\n");
            break;
        case '\r':
            rc = ash__buf_puts(buf, "\\r");
            break;
        default: {
            /* dot reads UTF-8: a byte that is not becomes U+FFFD, as in the JSON output */
            size_t n = ash__utf8_seq((const unsigned char *)s + i, len - i);
            rc = n ? ash__buf_put(buf, s + i, n) : ash__buf_puts(buf, "\xEF\xBF\xBD");
            i += n ? n - 1 : 0;
        }
        }
        if (rc < 0) {
            return rc;
        }
    }
    return ash__buf_putc(buf, '"');
}

/* The edge from `from` to `to`, which must exist (binary search over `from`'s sorted edges). */
static const ash_edge *find_edge(const ash_graph *g, uint32_t from, uint32_t to)
{
    uint32_t lo = g->edge_start[from], hi = g->edge_start[from + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->edges[mid].target < to) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    assert(lo < g->edge_start[from + 1] && g->edges[lo].target == to);
    return &g->edges[lo];
}

/* `  "a" -> "b" [attributes];` where `e`, when known, gives the attributes. */
static int dot_edge(writer *w, uint32_t a, uint32_t b, const ash_edge *e)
{
    const char *style = NULL;
    bool gray = false;
    if (e) {
        style = (e->flags & ASH_IMPORT_TYPE_CHECKING) ? "dashed"
                : (e->flags & ASH_IMPORT_LAZY)        ? "dotted"
                                                      : NULL;
        gray = e->kind == ASH_EDGE_PARENT;
    }
    if (ash__buf_puts(&w->out, "  ") < 0 || put_name(w, a) < 0 ||
        ash__buf_puts(&w->out, " -> ") < 0 || put_name(w, b) < 0) {
        return ASH_ENOMEM;
    }
    if ((style || gray) &&
        ash__buf_printf(&w->out, " [%s%s%s%s]", style ? "style=" : "", style ? style : "",
                        style && gray ? ", " : "", gray ? "color=gray" : "") < 0) {
        return ASH_ENOMEM;
    }
    return ash__buf_puts(&w->out, ";\n");
}

/* Every edge listed for node `i`, with the attributes of the import edge behind it when the
 * listing is direct (a closure edge stands for a path, which has no single kind). */
static int dot_edges_of(writer *w, uint32_t i)
{
    const uint32_t *list;
    size_t count = writer_list(w, i, &list);
    bool reverse = w->options & ASH_WRITE_DEPENDENTS;
    for (size_t k = 0; k < count; k++) {
        const ash_edge *e = NULL;
        if (!(w->options & ASH_WRITE_CLOSURE)) {
            e = reverse ? find_edge(w->g, list[k], i) : find_edge(w->g, i, list[k]);
        }
        if (dot_edge(w, i, list[k], e) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

/* `a -> b` means a imports b; with ASH_WRITE_DEPENDENTS the arrows are turned around (b is
 * imported by a) and keep the attributes of the import edge behind them. */
int ash_graph_write_dot(const ash_graph *graph, FILE *stream, unsigned options)
{
    writer w;
    size_t n = graph->node_count;
    int rc = writer_open(&w, graph, stream, options, dot_quote);
    if (rc < 0) {
        goto done;
    }
    rc = ash__buf_puts(&w.out, "digraph imports {\n");
    /* Every node on its own line first, so that files without imports show too. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (ash__buf_puts(&w.out, "  ") < 0 || put_name(&w, (uint32_t)i) < 0 ||
            ash__buf_puts(&w.out, ";\n") < 0) {
            rc = ASH_ENOMEM;
        } else {
            rc = writer_flush(&w, false);
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = dot_edges_of(&w, (uint32_t)i);
        if (rc == 0) {
            rc = writer_flush(&w, false);
        }
    }
    if (rc == 0) {
        rc = ash__buf_puts(&w.out, "}\n");
    }
    if (rc == 0) {
        rc = writer_flush(&w, true);
    }
done:
    writer_close(&w);
    return rc;
}

void ash_graph_node_hash(const ash_graph *graph, size_t i, uint8_t out[16])
{
    assert(i < graph->node_count);
    memcpy(out, graph->hashes[i].bytes, 16);
}

const char *ash_graph_node_module(const ash_graph *graph, size_t i)
{
    return i < graph->node_count && graph->modules && graph->modules[i] ? graph->modules[i] : "";
}
