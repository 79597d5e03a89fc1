/*
 * aftershock selector: closure keys of an import graph, and (later) the tests they select.
 *
 * Conventions are those of aftershock/analyzer.h: functions that can fail return 0 or a
 * negative ASH_E* code with `ash_error_last()` set; objects are created by `_new`/`_compute`
 * and freed by `_free` (NULL does nothing); returned pointers are borrowed from their object.
 */
#ifndef AFTERSHOCK_SELECTOR_H
#define AFTERSHOCK_SELECTOR_H

#include "aftershock/analyzer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A 128-bit key (XXH3-128, canonical byte order). */
typedef struct ash_key {
    uint8_t bytes[16];
} ash_key;

/** Write `key` as 32 lowercase hex digits and a NUL into out[33]. */
ASH_API void ash_key_hex(const ash_key *key, char out[33]);

/**
 * The closure key of every node of a graph: a Merkle hash over the graph condensed by strongly
 * connected components, so a node's key covers the content (and relative path) of every file
 * in its transitive import closure. Files of one import cycle share a closure, hence a key.
 * Computed in O(V + E log E); the same files and imports give the same keys on any machine and
 * checkout path. The object borrows nothing from the graph.
 */
typedef struct ash_closure_keys ash_closure_keys;

ASH_API int ash_closure_keys_compute(ash_closure_keys **out, const ash_graph *graph);
ASH_API void ash_closure_keys_free(ash_closure_keys *keys);
/** The key of node `i`; borrowed. */
ASH_API const ash_key *ash_closure_key(const ash_closure_keys *keys, size_t i);
/**
 * One key for a set of nodes (a package, a directory): the hash of their paths and closure
 * keys, in path order. `nodes` need not be sorted or unique.
 */
ASH_API int ash_closure_keys_combine(ash_key *out, const ash_closure_keys *keys,
                                     const ash_graph *graph, const size_t *nodes, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* AFTERSHOCK_SELECTOR_H */
