/*
 * Closure keys (see aftershock/selector.h). Tarjan numbers components so that a component's
 * dependencies come first; walking components in that order, each key hashes the component's
 * own files (path and content hash, in path order) and the keys of the components it imports
 * (sorted and unique, so edge order does not matter): a Merkle hash over the condensation.
 */
#include "hash.h"
#include "util.h"

#include "aftershock/selector.h"

#include <stdlib.h>
#include <string.h>

struct ash_closure_keys {
    size_t count;
    ash_key *keys;
};

void ash_key_hex(const ash_key *key, char out[33])
{
    ash__hash_hex((const ash_hash *)(const void *)key, out);
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(ash_key));
}

/* Members of every component, in node (that is, path) order: a counting sort. */
static int group(uint32_t **start, uint32_t **members, const uint32_t *comp, size_t n, size_t ncomp)
{
    *start = ash__calloc(ncomp + 1, sizeof(uint32_t));
    *members = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    if (!*start || !*members) {
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        (*start)[comp[i] + 1]++;
    }
    for (size_t c = 0; c < ncomp; c++) {
        (*start)[c + 1] += (*start)[c];
    }
    uint32_t *fill = ash__malloc((ncomp ? ncomp : 1) * sizeof(uint32_t));
    if (!fill) {
        return ash__error_oom();
    }
    memcpy(fill, *start, ncomp * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        (*members)[fill[comp[i]]++] = (uint32_t)i;
    }
    ash__free(fill);
    return 0;
}

/* The key of component c from its members and the keys of the components they import. */
static int component_key(ash_key *out, const ash_graph *g, const uint32_t *comp, uint32_t c,
                         const uint32_t *members, size_t count, const ash_key *done, ash_key **deps,
                         size_t *deps_cap)
{
    ash_hasher h;
    if (ash__hasher_init(&h) < 0) {
        return ASH_ENOMEM;
    }
    size_t ndeps = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t m = members[k];
        const char *path = ash_graph_node_path(g, m);
        uint8_t content[16];
        ash_graph_node_hash(g, m, content);
        ash__hasher_field(&h, "file", path, strlen(path));
        ash__hasher_field(&h, "content", content, sizeof(content));
        size_t nedges;
        const ash_edge *edges = ash_graph_edges(g, m, &nedges);
        for (size_t e = 0; e < nedges; e++) {
            uint32_t d = comp[edges[e].target];
            if (d == c) {
                continue;
            }
            void *p = *deps;
            if (ash__grow(&p, deps_cap, ndeps + 1, sizeof(ash_key)) < 0) {
                ash__hasher_free(&h);
                return ASH_ENOMEM;
            }
            *deps = p;
            (*deps)[ndeps++] = done[d];
        }
    }
    if (ndeps > 1) {
        qsort(*deps, ndeps, sizeof(ash_key), cmp_key);
    }
    for (size_t k = 0; k < ndeps; k++) {
        if (k == 0 || memcmp(&(*deps)[k], &(*deps)[k - 1], sizeof(ash_key)) != 0) {
            ash__hasher_field(&h, "dep", (*deps)[k].bytes, sizeof(ash_key));
        }
    }
    ash_hash key = ash__hasher_final(&h);
    memcpy(out->bytes, key.bytes, sizeof(out->bytes));
    ash__hasher_free(&h);
    return 0;
}

int ash_closure_keys_compute(ash_closure_keys **out, const ash_graph *g)
{
    *out = NULL;
    size_t n = ash_graph_node_count(g), ncomp = 0;
    uint32_t *comp = NULL, *start = NULL, *members = NULL;
    ash_key *done = NULL, *deps = NULL;
    size_t deps_cap = 0;
    ash_closure_keys *keys = ash__calloc(1, sizeof(*keys));
    int rc = keys ? ash_graph_components(&comp, g, &ncomp) : ash__error_oom();
    if (rc < 0 || (rc = group(&start, &members, comp, n, ncomp)) < 0) {
        goto done;
    }
    done = ash__malloc((ncomp ? ncomp : 1) * sizeof(ash_key));
    keys->keys = ash__malloc((n ? n : 1) * sizeof(ash_key));
    if (!done || !keys->keys) {
        rc = ash__error_oom();
        goto done;
    }
    for (uint32_t c = 0; c < ncomp; c++) {
        rc = component_key(&done[c], g, comp, c, members + start[c], start[c + 1] - start[c], done,
                           &deps, &deps_cap);
        if (rc < 0) {
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        keys->keys[i] = done[comp[i]];
    }
    keys->count = n;
    *out = keys;
    keys = NULL;
done:
    ash_free(comp);
    ash__free(start);
    ash__free(members);
    ash__free(done);
    ash__free(deps);
    ash_closure_keys_free(keys);
    return rc;
}

void ash_closure_keys_free(ash_closure_keys *keys)
{
    if (keys) {
        ash__free(keys->keys);
        ash__free(keys);
    }
}

const ash_key *ash_closure_key(const ash_closure_keys *keys, size_t i)
{
    return i < keys->count ? &keys->keys[i] : NULL;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int ash_closure_keys_combine(ash_key *out, const ash_closure_keys *keys, const ash_graph *graph,
                             const size_t *nodes, size_t count)
{
    size_t *sorted = ash__malloc((count ? count : 1) * sizeof(size_t));
    ash_hasher h;
    if (!sorted || ash__hasher_init(&h) < 0) {
        ash__free(sorted);
        return ash__error_oom();
    }
    if (count) {
        memcpy(sorted, nodes, count * sizeof(size_t));
    }
    qsort(sorted, count, sizeof(size_t), cmp_size); /* node order is path order */
    for (size_t k = 0; k < count; k++) {
        if (k && sorted[k] == sorted[k - 1]) {
            continue;
        }
        const char *path = ash_graph_node_path(graph, sorted[k]);
        ash__hasher_field(&h, "file", path, strlen(path));
        ash__hasher_field(&h, "closure", keys->keys[sorted[k]].bytes, sizeof(ash_key));
    }
    ash_hash key = ash__hasher_final(&h);
    memcpy(out->bytes, key.bytes, sizeof(out->bytes));
    ash__hasher_free(&h);
    ash__free(sorted);
    return 0;
}
