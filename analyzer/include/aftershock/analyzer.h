/*
 * aftershock analyzer: import extraction, module resolution and the import graph of a Python
 * project.
 *
 * Conventions, for every function below:
 * - Functions that can fail return 0 or a negative ASH_E* code; `ash_error_last()` then gives a
 *   one-line message naming the file and the reason.
 * - `ash_x_new(&x, ...)` / `ash_x_free(x)`: the object is owned by the caller; freeing NULL does
 *   nothing. Output parameters come first and are named `out`.
 * - Strings returned by accessors are borrowed from the object they come from and stay valid
 *   until it is freed. The caller should not free them.
 * - Paths inside a project are relative to its root, with `/` as separator.
 * - Thread safety: distinct objects may be used from distinct threads at once; one object may be
 *   read (accessors, writers) from several threads at once but not read while it is modified.
 *   `ash_set_allocator` must be called before any other function.
 */
#ifndef AFTERSHOCK_ANALYZER_H
#define AFTERSHOCK_ANALYZER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define ASH_API
#else
#define ASH_API __attribute__((visibility("default")))
#endif

#define ASH_VERSION "0.1.0"

/** Error codes: every failing function returns one of these (negative) values. */
enum {
    ASH_OK = 0,
    ASH_ERROR = -1,     /**< generic failure */
    ASH_ENOMEM = -2,    /**< out of memory */
    ASH_EIO = -3,       /**< a file could not be read or written */
    ASH_EINVAL = -4,    /**< invalid argument (a usage error of the caller) */
    ASH_ENOTFOUND = -5, /**< a file, module or project was not found */
    ASH_ECONFIG = -6,   /**< the configuration is malformed */
    ASH_ECHILD = -7,    /**< a child process (git, python) failed */
};

/**
 * The message of the last error raised on the calling thread, or "" if none. Borrowed: valid
 * until the next failing call on the same thread. Thread-safe (thread-local).
 */
ASH_API const char *ash_error_last(void);

/**
 * Replace the allocator used by aftershock, tree-sitter and uthash. Call before anything else;
 * not thread-safe. Any pointer may be NULL to keep the C library's function. aftershock's own
 * allocations report failure as ASH_ENOMEM; tree-sitter cannot recover from a failed
 * allocation, so a failure inside it aborts the process with a message (as tree-sitter's own
 * allocator does).
 */
ASH_API void ash_set_allocator(void *(*new_malloc)(size_t), void *(*new_calloc)(size_t, size_t),
                               void *(*new_realloc)(void *, size_t), void (*new_free)(void *));

/**
 * Receives warnings about one file (`path`, relative to the project root where there is one)
 * while work continues. `message` is one line without the path. Called from the thread that
 * owns the operation, never concurrently for one operation.
 */
typedef void (*ash_diag_fn)(const char *path, const char *message, void *payload);
/* `path` is NULL for a message about the whole project. */

/* ---------------------------------------------------------------------------------------- */
/* Import extraction                                                                        */

typedef enum {
    ASH_IMPORT_PLAIN = 0,  /**< `import a.b.c [as x]`: one record per name */
    ASH_IMPORT_FROM = 1,   /**< `from [.]a.b import c, d`: one record per statement */
    ASH_IMPORT_STRING = 2, /**< importlib.import_module / __import__ / pytest_plugins literal */
} ash_import_kind;

/** Flags of an import record. */
enum {
    ASH_IMPORT_TYPE_CHECKING = 1 << 0, /**< under `if TYPE_CHECKING:` */
    ASH_IMPORT_OPTIONAL = 1 << 1,      /**< in a `try` whose handlers catch ImportError */
    ASH_IMPORT_LAZY = 1 << 2,          /**< inside a function body */
};

/** One import as written in a file. */
typedef struct ash_import {
    ash_import_kind kind;
    uint32_t line;  /**< 1-based line where the statement (or the call) starts */
    uint32_t level; /**< leading dots of a relative import, 0 when absolute */
    uint32_t flags; /**< ASH_IMPORT_* bits */
    /** Dotted module name without the leading dots; "" for `from . import x`. */
    const char *module;
    /**
     * For ASH_IMPORT_STRING with a literal `package=` argument: the anchor package of a
     * relative name; NULL otherwise (a relative string import then resolves from the file).
     */
    const char *package;
    uint32_t name_count;      /**< names after `import` in a `from` import; 0 otherwise */
    const char *const *names; /**< `*` for a star import; aliases are not kept */
} ash_import;

/** The imports of one file, in source order. */
typedef struct ash_imports ash_imports;

/** Extraction status bits, see `ash_imports_status`. */
enum {
    /** A lexical error anywhere (unclosed bracket or string, stray closing bracket), or a grammar
     *  error in an import statement or the block headers around one (only those are parsed);
     *  what could be recovered is kept. */
    ASH_SOURCE_SYNTAX_ERROR = 1 << 0,
    ASH_SOURCE_BINARY = 1 << 1,       /**< NUL bytes: Python refuses the file; no imports */
    ASH_SOURCE_BAD_ENCODING = 1 << 2, /**< not valid in its declared encoding */
    ASH_SOURCE_TOO_LARGE = 1 << 3,    /**< larger than 256 MiB (no Python source is); not read */
};

/**
 * Extract the imports of Python source `data[0..len)` (raw file bytes: BOM and PEP 263 coding
 * cookie are honoured). `path` only names the file in warnings sent to `diag` (may be NULL).
 * Fails only on allocation failure: bad input yields what can be recovered plus warnings.
 * The returned object is owned by the caller. Thread-safe (each call has its own parser).
 */
ASH_API int ash_imports_parse(ash_imports **out, const char *data, size_t len, const char *path,
                              ash_diag_fn diag, void *payload);

/** Read `path` from disk and extract its imports; fails with ASH_EIO if it cannot be read. */
ASH_API int ash_imports_parse_file(ash_imports **out, const char *path, ash_diag_fn diag,
                                   void *payload);

ASH_API size_t ash_imports_count(const ash_imports *imports);
/** Record `i`, borrowed from `imports`; NULL when `i` is not below the count. */
ASH_API const ash_import *ash_imports_get(const ash_imports *imports, size_t i);
/** ASH_SOURCE_* bits describing what went wrong with the source, 0 when it was clean. */
ASH_API unsigned ash_imports_status(const ash_imports *imports);
ASH_API void ash_imports_free(ash_imports *imports);

/* ---------------------------------------------------------------------------------------- */
/* Projects and graphs                                                                      */

typedef struct ash_project ash_project;
typedef struct ash_graph ash_graph;

/** Options of `ash_project_open`; zero-initialise, then set what you need. */
typedef struct ash_project_options {
    /** Project root; NULL to discover it from `start` (git top level, else pyproject.toml). */
    const char *root;
    /** Interpreter used to classify stdlib/third-party modules; NULL: config, $VIRTUAL_ENV,
     *  then `python3` on PATH. */
    const char *python;
    /** Directory of the parse and resolution caches; NULL: `.aftershock` under the root. */
    const char *cache_dir;
    int no_cache; /**< neither read nor write the parse and resolution caches */
    int jobs;     /**< extraction threads; 0: the number of online CPUs */
    ash_diag_fn diag;
    void *payload;
    /** Called once the root and the configuration are known, before any cache of the project
     *  is read or a file listed (e.g. to restore the caches from a shared store), with
     *  `prepare_payload`; a negative return fails the open with that code. NULL: none. */
    int (*prepare)(ash_project *project, void *prepare_payload);
    void *prepare_payload;
} ash_project_options;

/**
 * Open the project that contains directory `start` (NULL: the current directory): find its
 * root, read `[tool.aftershock]` from its pyproject.toml, list its Python files and detect its
 * source roots. A malformed configuration is reported through `diag` and defaults are used.
 */
ASH_API int ash_project_open(ash_project **out, const char *start,
                             const ash_project_options *options);
ASH_API void ash_project_free(ash_project *project);
/** Absolute path of the project root; borrowed. */
ASH_API const char *ash_project_root(const ash_project *project);
/** Whether `[tool.aftershock] type-checking-imports` keeps TYPE_CHECKING edges (default 1). */
ASH_API int ash_project_type_checking_imports(const ash_project *project);
/** Source roots, relative to the project root ("" is the root itself); borrowed. */
ASH_API size_t ash_project_source_root_count(const ash_project *project);
ASH_API const char *ash_project_source_root(const ash_project *project, size_t i);

/** Edge kinds: how the source file reaches the target file. */
typedef enum {
    ASH_EDGE_IMPORT = 0, /**< the target is the module named by an import */
    ASH_EDGE_PARENT = 1, /**< the target is a parent package's __init__ executed on the way */
    ASH_EDGE_STRING = 2, /**< the target is named by a string import */
} ash_edge_kind;

typedef struct ash_edge {
    uint32_t target;    /**< node index */
    uint32_t line;      /**< line of the import statement in the source file */
    ash_edge_kind kind; /**< ASH_EDGE_* */
    uint32_t flags;     /**< ASH_IMPORT_* flags of the import that produced it */
} ash_edge;

/**
 * Build the import graph of `project`: extract every file's imports (using and refreshing the
 * parse cache), resolve them (using and refreshing the resolution cache, which answers for a
 * file while its imports, the set of files, the source roots and the interpreter's facts are
 * unchanged), and link the files. Warnings go to the project's `diag`. The graph borrows
 * nothing from the project and may outlive it. The first build after `ash_project_open`
 * takes the stats made while the files were listed, if it starts within half a second.
 */
ASH_API int ash_graph_build(ash_graph **out, ash_project *project);

/** What one ash_graph_build did. */
typedef struct ash_build_stats {
    size_t files;           /**< nodes */
    size_t cached;          /**< files whose stat matched the parse cache: not opened */
    size_t read;            /**< files opened and hashed */
    size_t parsed;          /**< files whose imports were extracted (not found in the cache) */
    size_t imports;         /**< import records */
    size_t edges;           /**< edges after merging */
    size_t unresolved;      /**< imports of modules found nowhere (optional ones not counted) */
    double list_seconds;    /**< listing the files (git ls-files or the walk), in open */
    double extract_seconds; /**< stat, parse cache, extraction (all threads) */
    double link_seconds;    /**< resolution and graph assembly */
} ash_build_stats;

/** The statistics of the build that made `graph`. */
ASH_API void ash_graph_stats(const ash_graph *graph, ash_build_stats *out);
ASH_API void ash_graph_free(ash_graph *graph);

ASH_API size_t ash_graph_node_count(const ash_graph *graph);
/** Path of node `i`, relative to the project root; borrowed. Nodes are sorted by path. */
ASH_API const char *ash_graph_node_path(const ash_graph *graph, size_t i);
/** XXH3-128 of node `i`'s file content (canonical byte order) into out[16]; zeros if it could
 *  not be read. */
ASH_API void ash_graph_node_hash(const ash_graph *graph, size_t i, uint8_t out[16]);
/** The dotted module name node `i` is imported as ("" if none); borrowed. */
ASH_API const char *ash_graph_node_module(const ash_graph *graph, size_t i);
/** Node index of relative `path`, or -1. */
ASH_API long ash_graph_find(const ash_graph *graph, const char *path);
/** Outgoing edges of node `i`, sorted by target then line; borrowed. */
ASH_API const ash_edge *ash_graph_edges(const ash_graph *graph, size_t i, size_t *count);
/** The imports of node `i` as extracted; borrowed. NULL for a file that could not be read. */
ASH_API const ash_imports *ash_graph_node_imports(const ash_graph *graph, size_t i);

/**
 * Strongly connected component of every node, by iterative Tarjan: `(*out)[i]` for node i.
 * Components are numbered in reverse topological order (a component's dependencies have
 * smaller or equal numbers). Returns 0 and the number of components in `*count`, or
 * ASH_ENOMEM; `*out` is owned by the caller (free with `ash_free`).
 */
ASH_API int ash_graph_components(uint32_t **out, const ash_graph *graph, size_t *count);

/** Where an imported module was found. */
typedef enum {
    ASH_ORIGIN_PROJECT = 0,     /**< a file of the project (an edge) */
    ASH_ORIGIN_STDLIB = 1,      /**< the interpreter's standard library */
    ASH_ORIGIN_THIRD_PARTY = 2, /**< an installed distribution */
    ASH_ORIGIN_UNKNOWN = 3,     /**< found nowhere (or a relative import past the top) */
} ash_origin;

/**
 * Where import `k` of node `i` (as in `ash_graph_node_imports`) was found. For third-party
 * modules `*distribution` (if not NULL) receives the distribution's name, or NULL when
 * site-packages holds the module without metadata; borrowed from the graph.
 */
ASH_API ash_origin ash_graph_import_origin(const ash_graph *graph, size_t i, size_t k,
                                           const char **distribution);

/**
 * Write `s` to `stream` as a JSON string literal: quoted, escaped, and with U+FFFD for bytes
 * that are not UTF-8 (file names need not be), as the graph writers do. 0 or ASH_EIO.
 */
ASH_API int ash_write_json_string(FILE *stream, const char *s);

/** Free memory returned by aftershock with a plain pointer (arrays, strings). */
ASH_API void ash_free(void *ptr);

/** Options of the graph writers. */
enum {
    ASH_WRITE_DEPENDENTS = 1 << 0,       /**< reverse the edges */
    ASH_WRITE_CLOSURE = 1 << 1,          /**< transitive closure (never the node itself, even
                                              in a cycle) instead of direct edges */
    ASH_WRITE_NO_TYPE_CHECKING = 1 << 2, /**< drop edges only made under TYPE_CHECKING */
};

/** Write `{"path": ["dep", ...]}` with sorted keys and lists (ruff's `analyze graph` shape). */
ASH_API int ash_graph_write_json(const ash_graph *graph, FILE *stream, unsigned options);
/** Write the graph in Graphviz dot. */
ASH_API int ash_graph_write_dot(const ash_graph *graph, FILE *stream, unsigned options);

#ifdef __cplusplus
}
#endif

#endif /* AFTERSHOCK_ANALYZER_H */
