/*
 * Linking: every node's module name, where each of its imports was found, and its edges, from
 * the resolver (resolve.h) or, for files whose imports and context are unchanged, from the
 * resolution cache (rescache.h). Warnings come out in the same order either way.
 */
#ifndef ASH_LINK_H
#define ASH_LINK_H

#include "envinfo.h"
#include "graph.h"
#include "hash.h"
#include "rescache.h"

typedef struct ash_link_options {
    char *const *roots; /* source roots, in search order */
    size_t root_count;
    int check_roots;         /* warn about top-level modules that several roots provide */
    const ash_envinfo *env;  /* may be NULL */
    const char *python;      /* the interpreter named in the unknown-modules warning */
    const char *cache_dir;   /* where the resolution cache lives; NULL: no cache */
    ash_rescache *cache;     /* with cache_dir: that cache opened already (taken over, also on
                                failure; its warnings given), or NULL to open it here */
    const ash_hash *digests; /* with cache_dir: per node, its imports' digest (zeros: none) */
    int cache_unwritable;    /* writing the parse cache there just failed and was reported:
                                a failure to write the resolution cache goes unreported */
    ash_diag_fn diag;
    void *payload;
} ash_link_options;

/*
 * Link graph `g`, whose nodes have their imports (ash__graph_set_imports) and no edges yet:
 * fill its module names, import origins, distributions and finished edges, and the imports and
 * unresolved counts of its stats. With a cache directory, use and refresh the resolution cache
 * there (a cache that cannot be written is a warning). 0, ASH_ENOMEM or ASH_EINVAL (too many
 * imports).
 */
int ash__link(ash_graph *g, const ash_link_options *options);

#endif
