/*
 * The resolution cache: what linking made of every file's imports (its module name, where each
 * import was found, its merged edges), so that a run where nothing changed loads the graph's
 * links instead of resolving them again. One file, `<cache_dir>/resolve-cache.bin`, beside the
 * parse cache, loaded with one read and replaced atomically; a corrupt or foreign file is a
 * miss (with one warning), never a wrong answer.
 *
 * Soundness rests on two keys. The context key hashes everything resolution reads besides a
 * file's own imports: every node path in order (so the set of modules, packages, stubs and
 * directories, which resolve.c derives from the paths alone), the source roots in order,
 * whether source-root conflicts are reported, the interpreter's facts (standard library,
 * builtin modules, distributions; not the path it was reached by) and the resolver's version. A
 * file's digest hashes its import records. A cached file is used only when the context key of the
 * whole cache and the file's digest both match; any other change re-resolves.
 */
#ifndef ASH_RESCACHE_H
#define ASH_RESCACHE_H

#include "envinfo.h"
#include "hash.h"
#include "util.h"

typedef struct ash_rescache ash_rescache;

/*
 * The context key of a link over node `paths` (sorted, the graph's nodes), source `roots` (in
 * search order), with source-root conflicts reported (`check_roots`) or not, and interpreter
 * facts `env` (may be NULL). 0 or ASH_ENOMEM.
 */
int ash__rescache_context(ash_hash *out, char *const *paths, size_t count, char *const *roots,
                          size_t root_count, int check_roots, const ash_envinfo *env);

/* The results of resolving the imports of every node, as the writer takes them: the graph's
 * own arrays (see graph.h) plus what only linking knows. */
typedef struct ash_rescache_input {
    ash_hash context;
    size_t node_count;
    const ash_hash *digests;      /* per node: its imports' digest (see pcache.h) */
    char *const *modules;         /* per node: dotted module name */
    const uint32_t *import_start; /* node_count + 1: imports of node i are [start[i], ..) */
    const uint8_t *origins;       /* per import: ash_origin */
    const uint8_t *beyond_top;    /* per import: 1 for a relative import past the top */
    const uint32_t *dists;        /* per import: 1-based index into dist_names, 0 none */
    char *const *dist_names;      /* dist_count names */
    size_t dist_count;
    const uint32_t *unknown;    /* per import: offset + 1 in unknown_names of the name an
                                   unknown import is counted under, 0 none */
    const char *unknown_names;  /* NUL-terminated names back to back */
    const uint32_t *edge_start; /* node_count + 1 */
    const ash_edge *edges;      /* per node merged and sorted by target (ash__graph_finish) */
    const char *messages;       /* project-wide warnings of linking, one per line; may be
                                   NULL */
} ash_rescache_input;

/* Write a new cache of `in` to `cache_dir`, atomically. 0, ASH_EIO, ASH_EINVAL (too large) or
 * ASH_ENOMEM. */
int ash__rescache_write(const char *cache_dir, const ash_rescache_input *in);

/*
 * Load the cache of `cache_dir` (missing, foreign version: empty, silently; corrupt: empty
 * after one warning to diag). Only ASH_ENOMEM fails. Read-only afterwards, so thread-safe.
 */
int ash__rescache_open(ash_rescache **out, const char *cache_dir, ash_diag_fn diag, void *payload);
void ash__rescache_free(ash_rescache *cache);

/* Whether the cache was written for `count` nodes in context `context`; 0 for an empty one.
 * Nothing below may be asked of a cache that does not match. */
int ash__rescache_matches(const ash_rescache *cache, const ash_hash *context, size_t count);
/* Whether node `i`'s entry was written for imports with `digest`, `import_count` of them. */
int ash__rescache_hit(const ash_rescache *cache, size_t i, const ash_hash *digest,
                      size_t import_count);
/* Node `i`'s module name; borrowed. */
const char *ash__rescache_module(const ash_rescache *cache, size_t i);
/* How many edges node `i` has, and the edges themselves into out[0..count), merged and sorted
 * by target as ash__graph_finish leaves them. */
size_t ash__rescache_edge_count(const ash_rescache *cache, size_t i);
void ash__rescache_edges(const ash_rescache *cache, size_t i, ash_edge *out);
/* Import `k` of node `i`: its origin, with `*beyond_top` set for a relative import past the
 * top-level package and `*dist` to its distribution's 1-based index (0: none). */
ash_origin ash__rescache_import(const ash_rescache *cache, size_t i, size_t k, int *beyond_top,
                                uint32_t *dist);
/* How many distributions the cache names, and the name of the 1-based `d`-th; borrowed. */
size_t ash__rescache_dist_count(const ash_rescache *cache);
const char *ash__rescache_dist_name(const ash_rescache *cache, uint32_t d);
/* The name import `k` of node `i` counts under when found nowhere, or NULL; borrowed. */
const char *ash__rescache_unknown(const ash_rescache *cache, size_t i, size_t k);
/* The project-wide warnings of the link that wrote it, one per line ("" for none); borrowed. */
const char *ash__rescache_messages(const ash_rescache *cache);

#endif
