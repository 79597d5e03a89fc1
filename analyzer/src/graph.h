/*
 * The import graph's storage, shared by the files of the analyzer that fill it (graph building)
 * and read it (selection, writers). Nodes are the project's files, sorted by path; edges live in
 * a CSR layout built once by `ash__graph_finish` from a list of edges added in any order.
 *
 * Building: `ash__graph_new` with the sorted paths, `ash__graph_set_imports` and
 * `ash__graph_add_edge` for each node, then `ash__graph_finish`. Reading (the public
 * `ash_graph_*` accessors, components, writers) needs a finished graph.
 */
#ifndef ASH_GRAPH_H
#define ASH_GRAPH_H

#include "hash.h"
#include "imports.h"
#include "util.h"

/* An edge added but not yet placed in the CSR arrays. */
typedef struct ash_graph_pending {
    uint32_t from;
    ash_edge edge;
} ash_graph_pending;

struct ash_graph {
    size_t node_count;
    char **paths;            /* owned; sorted by strcmp; relative '/' paths */
    ash_imports **imports;   /* owned per node (freed with ash_imports_free); may hold NULL */
    ash_imports_arena arena; /* holds the imports built into it (freed after them) */
    ash_hash *hashes;        /* per node: XXH3-128 of the file's content (zero if unread) */
    ash_build_stats stats;   /* filled by the builder */
    char **modules;          /* per node: dotted module name, owned (or pointing into
                                module_names when that is set); NULL until set */
    char *module_names;      /* owned: every node's module name back to back, or NULL */
    /* Where each import was found: imports of node i are origins[import_start[i] ..]. */
    uint32_t *import_start; /* node_count + 1 entries, NULL until set */
    uint8_t *origins;       /* ash_origin */
    uint32_t *dists;        /* per import: index into dist_names + 1, 0 for none */
    char **dist_names;      /* owned */
    size_t dist_count;
    uint32_t *edge_start; /* node_count + 1 entries: edges of node i are
                             edges[edge_start[i] .. edge_start[i + 1]) */
    ash_edge *edges;      /* per node sorted by target, one edge per (from, to) */
    size_t edge_count;

    /* private: edges added since the last ash__graph_finish */
    ash_graph_pending *pending;
    size_t pending_count;
    size_t pending_cap;
};

/*
 * Create a graph of `count` nodes without edges. Takes ownership of `paths` (the array and its
 * strings, allocated with ash__malloc), which the caller has sorted by strcmp and deduplicated;
 * on failure they are freed too. Every node's imports start NULL. Fails with ASH_ENOMEM, or
 * ASH_EINVAL when `count` does not fit node indices (uint32_t).
 */
int ash__graph_new(ash_graph **out, char **paths, size_t count);

/* Give node `node` its extracted imports (owned by the graph from now on; may be NULL). Frees
 * any imports the node had. */
void ash__graph_set_imports(ash_graph *g, size_t node, ash_imports *imports);

/*
 * Record an edge `from` -> `to` made by an import at `line`; `flags` are ASH_IMPORT_* bits.
 * Self-edges are ignored. Takes effect at the next ash__graph_finish. On ASH_ENOMEM the graph is
 * unchanged.
 */
int ash__graph_add_edge(ash_graph *g, uint32_t from, uint32_t to, uint32_t line, ash_edge_kind kind,
                        uint32_t flags);

/*
 * Place the edges added so far into the CSR arrays, merged with those already there: each
 * node's edges sorted by target, and the edges of one (from, to) pair merged into one with the
 * smallest line, the smallest kind value and the AND of the flags (so an edge counts as
 * type-checking-only or lazy only when every import making it is). May be called again after
 * more edges are added. On failure (ASH_ENOMEM, or ASH_EINVAL beyond 2^32 - 1 edges) the graph
 * is unchanged.
 */
int ash__graph_finish(ash_graph *g);

/*
 * Sort one node's `count` edges by target and merge the edges of one target into one, in
 * place, the way ash__graph_finish does; returns how many are kept (at the front). The result
 * depends on the set of edges only, not their order.
 */
size_t ash__graph_merge(ash_edge *edges, size_t count);

/*
 * The reverse CSR of a finished graph, for dependents: `(*sources)[(*start)[v] ..
 * (*start)[v + 1])` are the nodes with an edge to `v`, ascending. `*start` has node_count + 1
 * entries. With ASH_WRITE_NO_TYPE_CHECKING in `options`, edges flagged
 * ASH_IMPORT_TYPE_CHECKING are left out; other bits are ignored. Both arrays are owned by the
 * caller (ash__free); on failure both are NULL.
 */
int ash__graph_reverse(uint32_t **start, uint32_t **sources, const ash_graph *g, unsigned options);

#endif
