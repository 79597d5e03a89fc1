/*
 * Module resolution the way Python's import system does it, over the project's files: source
 * roots are sys.path entries; a name is searched component by component, a regular package
 * (`__init__.py`) before a module (`x.py`) in each entry, namespace portions (PEP 420) only when
 * no entry has either, and a submodule only in its package's own path. A file's own base
 * directory (the first directory upwards without `__init__.py`, where pytest's `prepend` mode
 * and `python script.py` put it) is searched before the roots. `.pyi` stubs count beside their
 * `.py`.
 */
#ifndef ASH_RESOLVE_H
#define ASH_RESOLVE_H

#include "envinfo.h"
#include "util.h"

/* The version of what resolution answers for the same inputs: the resolution cache
 * (rescache.h) trusts only answers of its own version. Bump it with any change here, in
 * resolve.c, or in envinfo.c's classification that can change a module name, an edge or an
 * origin. */
#define ASH_RESOLVER_VERSION 1u

typedef struct ash_resolver ash_resolver;

/*
 * A resolver over `paths` (sorted, relative, the graph's nodes: node i is paths[i]) and source
 * `roots` ("" is the project root). Borrows both; they must outlive the resolver. `env` (may
 * be NULL) classifies names outside the project.
 */
int ash__resolver_new(ash_resolver **out, char *const *paths, size_t count, char *const *roots,
                      size_t root_count, const ash_envinfo *env);
void ash__resolver_free(ash_resolver *r);

/* Receives each file an import reaches. */
typedef int (*ash_target_fn)(uint32_t target, ash_edge_kind kind, void *payload);

/* What became of one import. */
typedef struct ash_resolution {
    ash_origin origin; /* PROJECT when the module (or its package) is a project file */
    const char *dist;  /* third-party distribution, or NULL */
    int beyond_top;    /* a relative import past the top-level package */
    int partial;       /* a project package was found, but not the module inside it */
    const char *name;  /* the absolute module name tried (borrowed, valid until next call) */
} ash_resolution;

/*
 * Resolve import `imp` of node `from`: call `fn` for every file it executes (parent packages
 * as ASH_EDGE_PARENT, the module and imported submodules as ASH_EDGE_IMPORT or
 * ASH_EDGE_STRING), and describe the outcome in `*res`. 0, or what `fn` returned, or
 * ASH_ENOMEM.
 */
int ash__resolve_import(ash_resolver *r, uint32_t from, const ash_import *imp, ash_target_fn fn,
                        void *payload, ash_resolution *res);

/* The dotted module name of node `i` ("" if it is not importable by name); borrowed. */
const char *ash__resolver_module_name(ash_resolver *r, uint32_t i);
/* The same into `*out`, telling a failure (ASH_ENOMEM) from a file without a name. */
int ash__resolver_module(ash_resolver *r, uint32_t i, const char **out);

/* Warn about top-level modules that more than one source root provides. 0, or ASH_ENOMEM when
 * some warning may be missing. */
int ash__resolver_check_roots(ash_resolver *r, ash_diag_fn diag, void *payload);

/* Detect source roots from the file list: "" (the project root), "src" when present,
 * distribution roots (directories holding pyproject.toml, setup.py or setup.cfg, or their
 * `src/`), and the parents of top-level packages outside those. `marker_paths` lists the
 * pyproject.toml/setup.cfg files (relative); `*out` is owned (free each and the array). */
int ash__detect_roots(char ***out, size_t *count, char *const *paths, size_t path_count,
                      char *const *marker_paths, size_t marker_count);

#endif
