/*
 * aftershock._core: the CPython binding of aftershock's analyzer and selector.
 *
 * `open_project()` returns a Project: an opened project (aftershock/analyzer.h) whose import
 * graph and closure keys are built on first use, and whose selection (aftershock/selector.h:
 * the test suite, inputs keys, affected, why) is opened on first use. `Project.results()`
 * returns a Results: the result cache `aftershock run` keeps, for other runners (the pytest
 * plugin). Paths are relative to the project root with '/' separators, in the file system
 * encoding (os.fsencode / os.fsdecode).
 *
 * Threads: a Project is immutable once built; its lazy builds are serialised by a lock and
 * publish their result while holding both that lock and the GIL, so readers (which hold the
 * GIL) never see half of one. Long C work (project listing, graph build, selection, affected,
 * closure searches and key combining, result-cache I/O) runs with the GIL released. A Results
 * is serialised by its own lock. The C library's error message is thread-local: it is read on
 * the thread that failed, right after the failing call.
 *
 * Multi-phase initialisation; the types and exceptions live in the module's state, and every
 * object keeps a reference to its module, so the state outlives the objects.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "aftershock/analyzer.h"
#include "aftershock/selector.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What the C API gained after 3.8, the oldest Python supported. */
#if PY_VERSION_HEX < 0x030A0000
static PyObject *compat_new_ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#define Py_NewRef(o) compat_new_ref((PyObject *)(o))
static int PyModule_AddObjectRef(PyObject *module, const char *name, PyObject *value)
{
    Py_INCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_DECREF(value);
        return -1;
    }
    return 0;
}
#endif
#if PY_VERSION_HEX < 0x03090000
#define PyObject_CallOneArg(callable, arg) PyObject_CallFunctionObjArgs(callable, arg, NULL)
#endif

/* Objects are made by open_project() and Project.results() only. */
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define DISALLOW_INSTANTIATION Py_TPFLAGS_DISALLOW_INSTANTIATION
#else
#define DISALLOW_INSTANTIATION 0
#endif

/* A function in a type or module slot: ISO C has no conversion from function to object
 * pointers, the C API's `void *pfunc` needs one (through an integer, as POSIX's dlsym does). */
#define SLOT_FN(f) ((void *)(uintptr_t)(f))

/* A method's C function as a PyMethodDef wants it. */
#define METHOD(f) ((PyCFunction)(void (*)(void))(f))

typedef struct core_state {
    PyObject *project_type;
    PyObject *results_type;
    PyObject *error;     /* aftershock.Error */
    PyObject *not_found; /* aftershock.NotFoundError(Error, FileNotFoundError) */
} core_state;

static core_state *state_of(PyObject *module)
{
    return (core_state *)PyModule_GetState(module);
}

/* Raise the exception for C error `rc` with the message the C side left on this thread. */
static void raise_ash(PyObject *module, int rc)
{
    const char *msg = ash_error_last();
    if (rc == ASH_ENOMEM) {
        PyErr_SetString(PyExc_MemoryError, *msg ? msg : "out of memory");
        return;
    }
    core_state *st = state_of(module);
    PyObject *type = rc == ASH_ENOTFOUND ? st->not_found : st->error;
    PyObject *text = PyUnicode_DecodeFSDefault(*msg ? msg : "aftershock: unknown error");
    PyObject *exc = text ? PyObject_CallOneArg(type, text) : NULL;
    PyObject *code = exc ? PyLong_FromLong(rc) : NULL;
    if (code && PyObject_SetAttrString(exc, "code", code) == 0) {
        PyErr_SetObject(type, exc);
    }
    Py_XDECREF(code);
    Py_XDECREF(exc);
    Py_XDECREF(text);
}

/* Raise NotFoundError("<path>: <what>"). */
static PyObject *raise_not_found(PyObject *module, const char *path, const char *what)
{
    PyObject *name = PyUnicode_DecodeFSDefault(path);
    PyObject *text = name ? PyUnicode_FromFormat("%U: %s", name, what) : NULL;
    if (text) {
        PyErr_SetObject(state_of(module)->not_found, text);
    }
    Py_XDECREF(text);
    Py_XDECREF(name);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Strings between Python and C                                                             */

static PyObject *fs_str(const char *s)
{
    return PyUnicode_DecodeFSDefault(s);
}

/* O& converter: None -> NULL, else os.fsencode(obj) as a new bytes reference. */
static int opt_fspath(PyObject *obj, void *out)
{
    if (obj == NULL) { /* cleanup call after a later argument failed */
        Py_CLEAR(*(PyObject **)out);
        return 1;
    }
    if (obj == Py_None) {
        *(PyObject **)out = NULL;
        return 1;
    }
    return PyUnicode_FSConverter(obj, out);
}

static char *dup_cstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = PyMem_RawMalloc(n);
    if (d) {
        memcpy(d, s, n);
    }
    return d;
}

/* A NULL-safe copy of a bytes object's contents; sets MemoryError. */
static int dup_bytes(char **out, PyObject *bytes)
{
    *out = NULL;
    if (bytes && !(*out = dup_cstr(PyBytes_AS_STRING(bytes)))) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

typedef struct cstrings {
    char **items;
    size_t count;
} cstrings;

static void cstrings_free(cstrings *s)
{
    for (size_t i = 0; i < s->count; i++) {
        PyMem_RawFree(s->items[i]);
    }
    PyMem_RawFree(s->items);
    s->items = NULL;
    s->count = 0;
}

/* An iterable of str / bytes / os.PathLike (or None: empty) as file-system-encoded C strings. */
static int cstrings_from(cstrings *out, PyObject *iterable)
{
    out->items = NULL;
    out->count = 0;
    if (iterable == NULL || iterable == Py_None) {
        return 0;
    }
    if (PyUnicode_Check(iterable) || PyBytes_Check(iterable)) {
        PyErr_SetString(PyExc_TypeError, "expected a sequence of paths, not one string");
        return -1;
    }
    PyObject *seq = PySequence_Fast(iterable, "expected a sequence of paths");
    if (!seq) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    out->items = PyMem_RawCalloc((size_t)n + 1, sizeof(char *));
    int rc = out->items ? 0 : (PyErr_NoMemory(), -1);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *bytes = NULL;
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &bytes)) {
            rc = -1;
            break;
        }
        rc = dup_bytes(&out->items[i], bytes);
        Py_DECREF(bytes);
        out->count += rc == 0;
    }
    Py_DECREF(seq);
    if (rc < 0) {
        cstrings_free(out);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Warnings the C side reports while it works (possibly with the GIL released)              */

typedef struct diag_buf {
    PyThread_type_lock lock;
    cstrings lines;
    size_t cap;
} diag_buf;

static void diag_collect(const char *path, const char *message, void *payload)
{
    diag_buf *d = payload;
    size_t n = (path ? strlen(path) + 2 : 0) + strlen(message) + 1;
    char *line = PyMem_RawMalloc(n);
    if (!line) {
        return; /* a warning lost to memory pressure: the work goes on */
    }
    snprintf(line, n, "%s%s%s", path ? path : "", path ? ": " : "", message);
    PyThread_acquire_lock(d->lock, WAIT_LOCK);
    if (d->lines.count == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        char **grown = PyMem_RawRealloc(d->lines.items, cap * sizeof(char *));
        if (grown) {
            d->lines.items = grown;
            d->cap = cap;
        }
    }
    if (d->lines.count < d->cap) {
        d->lines.items[d->lines.count++] = line;
        line = NULL;
    }
    PyThread_release_lock(d->lock);
    PyMem_RawFree(line);
}

/* Move the collected lines to the end of `list` (GIL held). */
static int diag_flush(diag_buf *d, PyObject *list)
{
    int rc = 0;
    PyThread_acquire_lock(d->lock, WAIT_LOCK);
    for (size_t i = 0; i < d->lines.count; i++) {
        PyObject *s = rc == 0 ? fs_str(d->lines.items[i]) : NULL;
        if (rc == 0 && (!s || PyList_Append(list, s) < 0)) {
            rc = -1;
        }
        Py_XDECREF(s);
    }
    cstrings_free(&d->lines);
    d->cap = 0;
    PyThread_release_lock(d->lock);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Project                                                                                  */

typedef struct ProjectObject {
    PyObject_HEAD
    PyObject *module;
    PyThread_type_lock lock; /* serialises the lazy builds */
    diag_buf diag;
    PyObject *warnings;     /* list of str */
    PyObject *root_str;     /* str, taken at open: the graph build may change the project */
    PyObject *source_roots; /* list of str, likewise */
    /* what open_project was given, kept for the selection */
    char *root, *python, *cache_dir, *cov;
    int no_cache, jobs, has_cov;
    cstrings pytest_args;
    ash_project_options options;
    ash_project *project;
    int type_checking; /* keep edges made only under TYPE_CHECKING */
    /* built on first use; set only while holding `lock` and the GIL */
    ash_graph *graph;
    ash_closure_keys *keys;
    uint32_t *rev_start, *rev_nodes; /* reverse CSR: dependents */
    ash_selection *selection;
} ProjectObject;

static int keep_edge(const ProjectObject *p, const ash_edge *e)
{
    return p->type_checking || !(e->flags & ASH_IMPORT_TYPE_CHECKING);
}

/* The reverse adjacency of the kept edges, sources ascending. */
static int build_reverse(const ProjectObject *p, ash_graph *g, uint32_t **start, uint32_t **nodes)
{
    size_t n = ash_graph_node_count(g), total = 0, count;
    *start = PyMem_RawCalloc(n + 2, sizeof(uint32_t));
    for (size_t i = 0; *start && i < n; i++) {
        const ash_edge *e = ash_graph_edges(g, i, &count);
        for (size_t k = 0; k < count; k++) {
            if (keep_edge(p, &e[k])) {
                (*start)[e[k].target + 2]++;
                total++;
            }
        }
    }
    *nodes = *start ? PyMem_RawMalloc((total + 1) * sizeof(uint32_t)) : NULL;
    if (!*nodes) {
        PyMem_RawFree(*start);
        *start = NULL;
        return ASH_ENOMEM;
    }
    for (size_t v = 2; v < n + 2; v++) {
        (*start)[v] += (*start)[v - 1];
    }
    /* (*start)[v + 1] is now the fill position of v; filling leaves (*start)[v] its start */
    for (size_t i = 0; i < n; i++) {
        const ash_edge *e = ash_graph_edges(g, i, &count);
        for (size_t k = 0; k < count; k++) {
            if (keep_edge(p, &e[k])) {
                (*nodes)[(*start)[e[k].target + 1]++] = (uint32_t)i;
            }
        }
    }
    return 0;
}

typedef struct graph_parts {
    ash_graph *graph;
    ash_closure_keys *keys;
    uint32_t *rev_start, *rev_nodes;
} graph_parts;

static int build_graph(ProjectObject *p, graph_parts *out)
{
    int rc = ash_graph_build(&out->graph, p->project);
    if (rc == 0) {
        rc = ash_closure_keys_compute(&out->keys, out->graph);
    }
    if (rc == 0) {
        rc = build_reverse(p, out->graph, &out->rev_start, &out->rev_nodes);
    }
    return rc;
}

/* Build the graph once (GIL held on entry and exit). 0, or -1 with an exception set. */
static int ensure_graph(ProjectObject *self)
{
    if (self->graph) {
        return 0;
    }
    graph_parts parts = {0};
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    if (!self->graph) {
        rc = build_graph(self, &parts);
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(self->module, rc);
        ash_closure_keys_free(parts.keys);
        ash_graph_free(parts.graph);
    } else if (parts.graph) {
        self->graph = parts.graph;
        self->keys = parts.keys;
        self->rev_start = parts.rev_start;
        self->rev_nodes = parts.rev_nodes;
    }
    PyThread_release_lock(self->lock);
    if (diag_flush(&self->diag, self->warnings) < 0) {
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

/* Open the selection once (GIL held on entry and exit). 0, or -1 with an exception set. */
static int ensure_selection(ProjectObject *self)
{
    if (self->selection) {
        return 0;
    }
    ash_selection *sel = NULL;
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    if (!self->selection) {
        ash_project_options po = self->options;
        po.root = ash_project_root(self->project); /* the same project, not found again */
        ash_selection_options so = {
            .project = &po,
            .pytest_args = (const char *const *)self->pytest_args.items,
            .pytest_arg_count = self->pytest_args.count,
            .cov = self->has_cov ? self->cov : NULL,
        };
        rc = ash_selection_open(&sel, &so);
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(self->module, rc);
    } else if (sel) {
        self->selection = sel;
    }
    PyThread_release_lock(self->lock);
    if (diag_flush(&self->diag, self->warnings) < 0) {
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

static int project_traverse(ProjectObject *self, visitproc visit, void *arg)
{
#if PY_VERSION_HEX >= 0x03090000
    Py_VISIT(Py_TYPE(self));
#endif
    Py_VISIT(self->module);
    Py_VISIT(self->warnings);
    Py_VISIT(self->source_roots);
    return 0;
}

static int project_clear(ProjectObject *self)
{
    Py_CLEAR(self->module);
    Py_CLEAR(self->warnings);
    Py_CLEAR(self->root_str);
    Py_CLEAR(self->source_roots);
    return 0;
}

static void project_dealloc(ProjectObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    ash_selection_free(self->selection);
    ash_closure_keys_free(self->keys);
    ash_graph_free(self->graph);
    ash_project_free(self->project);
    PyMem_RawFree(self->rev_start);
    PyMem_RawFree(self->rev_nodes);
    PyMem_RawFree(self->root);
    PyMem_RawFree(self->python);
    PyMem_RawFree(self->cache_dir);
    PyMem_RawFree(self->cov);
    cstrings_free(&self->pytest_args);
    if (self->diag.lock) {
        cstrings_free(&self->diag.lines);
        PyThread_free_lock(self->diag.lock);
    }
    if (self->lock) {
        PyThread_free_lock(self->lock);
    }
    project_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* The node at relative `path` (bytes converted by the caller), or -1 with NotFoundError. */
static long find_node(ProjectObject *self, const char *path)
{
    long node = ash_graph_find(self->graph, path);
    if (node < 0) {
        raise_not_found(self->module, path, "not a Python file of the project");
    }
    return node;
}

/* Parse one path argument and build the graph; the node, or -1 with an exception. */
static long node_arg(ProjectObject *self, PyObject *arg)
{
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) {
        return -1;
    }
    long node = ensure_graph(self) < 0 ? -1 : find_node(self, PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    return node;
}

/* String `i` of some C object, for str_list. */
typedef const char *(*string_at_fn)(const void *obj, size_t i);

/* [at(obj, 0), ..., at(obj, n - 1)] as a list of str (file system encoding). */
static PyObject *str_list(const void *obj, size_t n, string_at_fn at)
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = fs_str(at(obj, i));
        if (!s) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    return list;
}

static const char *node_path_at(const void *graph, size_t i)
{
    return ash_graph_node_path(graph, i);
}

static const char *source_root_at(const void *project, size_t i)
{
    return ash_project_source_root(project, i);
}

static const char *test_path_at(const void *selection, size_t i)
{
    return ash_selection_path(selection, i);
}

static const char *import_name_at(const void *imp, size_t i)
{
    return ((const ash_import *)imp)->names[i];
}

typedef struct picked_nodes {
    const ash_graph *graph;
    const uint32_t *nodes;
} picked_nodes;

static const char *picked_path_at(const void *picked, size_t i)
{
    const picked_nodes *p = picked;
    return ash_graph_node_path(p->graph, p->nodes[i]);
}

static PyObject *project_get_root(ProjectObject *self, void *closure)
{
    return Py_NewRef(self->root_str);
}

static PyObject *project_get_source_roots(ProjectObject *self, void *closure)
{
    return PyList_GetSlice(self->source_roots, 0, PY_SSIZE_T_MAX);
}

/* What the getters return, read once the project is open. */
static int project_snapshot(ProjectObject *self)
{
    self->root_str = fs_str(ash_project_root(self->project));
    self->source_roots =
        str_list(self->project, ash_project_source_root_count(self->project), source_root_at);
    return self->root_str && self->source_roots ? 0 : -1;
}

static PyObject *project_get_warnings(ProjectObject *self, void *closure)
{
    return PyList_GetSlice(self->warnings, 0, PY_SSIZE_T_MAX);
}

static PyObject *project_files(ProjectObject *self, PyObject *unused)
{
    if (ensure_graph(self) < 0) {
        return NULL;
    }
    return str_list(self->graph, ash_graph_node_count(self->graph), node_path_at);
}

static PyObject *project_module_name(ProjectObject *self, PyObject *arg)
{
    long node = node_arg(self, arg);
    return node < 0 ? NULL : fs_str(ash_graph_node_module(self->graph, (size_t)node));
}

static const char *const import_kinds[] = {"import", "from", "string"};
static const char *const origin_names[] = {"project", "stdlib", "third-party", "unknown"};
static const char *const edge_kinds[] = {"import", "parent", "string"};

static PyObject *flag_list(uint32_t flags)
{
    static const char *const names[] = {"type_checking", "optional", "lazy"};
    PyObject *list = PyList_New(0);
    for (size_t b = 0; list && b < 3; b++) {
        if (flags & (1u << b)) {
            PyObject *s = PyUnicode_FromString(names[b]);
            if (!s || PyList_Append(list, s) < 0) {
                Py_CLEAR(list);
            }
            Py_XDECREF(s);
        }
    }
    return list;
}

static PyObject *str_or_none(const char *s)
{
    return s ? PyUnicode_FromString(s) : Py_NewRef(Py_None);
}

static PyObject *import_record(ProjectObject *self, long node, size_t k, const ash_import *imp)
{
    const char *dist = NULL;
    ash_origin origin = ash_graph_import_origin(self->graph, (size_t)node, k, &dist);
    PyObject *names = str_list(imp, imp->name_count, import_name_at);
    PyObject *flags = flag_list(imp->flags);
    PyObject *package = str_or_none(imp->package);
    PyObject *distribution = str_or_none(dist);
    PyObject *rec = NULL;
    if (names && flags && package && distribution) {
        rec = Py_BuildValue("{s:s,s:s,s:I,s:O,s:I,s:O,s:s,s:O,s:O}", "kind",
                            import_kinds[imp->kind], "module", imp->module, "level", imp->level,
                            "names", names, "line", imp->line, "flags", flags, "origin",
                            origin_names[origin], "distribution", distribution, "package", package);
    }
    Py_XDECREF(names);
    Py_XDECREF(flags);
    Py_XDECREF(package);
    Py_XDECREF(distribution);
    return rec;
}

static PyObject *project_imports(ProjectObject *self, PyObject *arg)
{
    long node = node_arg(self, arg);
    if (node < 0) {
        return NULL;
    }
    const ash_imports *imports = ash_graph_node_imports(self->graph, (size_t)node);
    size_t n = imports ? ash_imports_count(imports) : 0;
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t k = 0; list && k < n; k++) {
        PyObject *rec = import_record(self, node, k, ash_imports_get(imports, k));
        if (!rec) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, rec);
    }
    return list;
}

static PyObject *project_edges(ProjectObject *self, PyObject *arg)
{
    long node = node_arg(self, arg);
    if (node < 0) {
        return NULL;
    }
    size_t n;
    const ash_edge *e = ash_graph_edges(self->graph, (size_t)node, &n);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t k = 0; list && k < n; k++) {
        PyObject *path = fs_str(ash_graph_node_path(self->graph, e[k].target));
        PyObject *module = fs_str(ash_graph_node_module(self->graph, e[k].target));
        PyObject *flags = flag_list(e[k].flags);
        PyObject *t = path && module && flags ? Py_BuildValue("(OOIsO)", path, module, e[k].line,
                                                              edge_kinds[e[k].kind], flags)
                                              : NULL;
        Py_XDECREF(path);
        Py_XDECREF(module);
        Py_XDECREF(flags);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, t);
    }
    return list;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The direct or transitive dependencies (or dependents) of `start`, never `start` itself,
 * ascending (path order). Runs without the GIL. */
static int neighbours(const ProjectObject *p, uint32_t start, int reverse, int closure,
                      uint32_t **out, size_t *n)
{
    size_t count = ash_graph_node_count(p->graph);
    uint8_t *seen = PyMem_RawCalloc(count, 1);
    *out = PyMem_RawMalloc((count + 1) * sizeof(uint32_t));
    *n = 0;
    if (!seen || !*out) {
        PyMem_RawFree(seen);
        PyMem_RawFree(*out);
        *out = NULL;
        return ASH_ENOMEM;
    }
    seen[start] = 1;
    /* `*out` doubles as the breadth-first queue: [done, *n) is still to expand */
    uint32_t at = start;
    for (size_t done = 0;; at = (*out)[done++]) {
        size_t m;
        const ash_edge *e = reverse ? NULL : ash_graph_edges(p->graph, at, &m);
        if (reverse) {
            m = p->rev_start[at + 1] - p->rev_start[at];
        }
        for (size_t k = 0; k < m; k++) {
            if (!reverse && !keep_edge(p, &e[k])) {
                continue;
            }
            uint32_t v = reverse ? p->rev_nodes[p->rev_start[at] + k] : e[k].target;
            if (!seen[v]) {
                seen[v] = 1;
                (*out)[(*n)++] = v;
            }
        }
        if (!closure || done == *n) {
            break;
        }
    }
    PyMem_RawFree(seen);
    qsort(*out, *n, sizeof(uint32_t), cmp_u32);
    return 0;
}

static PyObject *related(ProjectObject *self, PyObject *args, PyObject *kwds, int reverse)
{
    static char *kwlist[] = {"path", "closure", NULL};
    PyObject *path;
    int closure = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|p", kwlist, &path, &closure)) {
        return NULL;
    }
    long node = node_arg(self, path);
    if (node < 0) {
        return NULL;
    }
    uint32_t *nodes;
    size_t n;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = neighbours(self, (uint32_t)node, reverse, closure, &nodes, &n);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        return PyErr_NoMemory();
    }
    picked_nodes picked = {self->graph, nodes};
    PyObject *list = str_list(&picked, n, picked_path_at);
    PyMem_RawFree(nodes);
    return list;
}

static PyObject *project_dependencies(ProjectObject *self, PyObject *args, PyObject *kwds)
{
    return related(self, args, kwds, 0);
}

static PyObject *project_dependents(ProjectObject *self, PyObject *args, PyObject *kwds)
{
    return related(self, args, kwds, 1);
}

/* The nodes `target` names, as `aftershock hash` selects them: kind "file" (one path), "dir"
 * (every file below; "" for the whole project) or "module" (a dotted name). */
static size_t select_nodes(const ProjectObject *p, const char *target, const char *kind,
                           size_t *nodes)
{
    size_t n = 0, len = strlen(target), count = ash_graph_node_count(p->graph);
    for (size_t i = 0; i < count; i++) {
        const char *path = ash_graph_node_path(p->graph, i);
        int match;
        if (strcmp(kind, "module") == 0) {
            match = strcmp(ash_graph_node_module(p->graph, i), target) == 0;
        } else if (strcmp(kind, "dir") == 0) {
            match = len == 0 || (strncmp(path, target, len) == 0 && path[len] == '/');
        } else {
            match = strcmp(path, target) == 0;
        }
        if (match) {
            nodes[n++] = i;
        }
    }
    return n;
}

static PyObject *project_closure_hash(ProjectObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"target", "kind", "env", NULL};
    PyObject *bytes = NULL;
    const char *kind = "file";
    int env = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&|sp", kwlist, PyUnicode_FSConverter, &bytes,
                                     &kind, &env)) {
        return NULL;
    }
    PyObject *result = NULL;
    size_t *nodes = NULL;
    if (strcmp(kind, "file") && strcmp(kind, "dir") && strcmp(kind, "module")) {
        PyErr_Format(PyExc_ValueError, "kind must be 'file', 'dir' or 'module', not '%s'", kind);
        goto done;
    }
    if (ensure_graph(self) < 0) {
        goto done;
    }
    const char *target = PyBytes_AS_STRING(bytes);
    if (!(nodes = PyMem_RawMalloc((ash_graph_node_count(self->graph) + 1) * sizeof(size_t)))) {
        PyErr_NoMemory();
        goto done;
    }
    size_t n = select_nodes(self, target, kind, nodes);
    if (n == 0) {
        raise_not_found(self->module, target, "no Python file or module of the project");
        goto done;
    }
    ash_key key;
    int rc = 0;
    if (n == 1 && strcmp(kind, "dir") != 0) {
        key = *ash_closure_key(self->keys, nodes[0]); /* a file, or a one-file module */
    } else {
        Py_BEGIN_ALLOW_THREADS
        rc = ash_closure_keys_combine(&key, self->keys, self->graph, nodes, n);
        Py_END_ALLOW_THREADS
    }
    if (rc == 0 && env) {
        ash_key environment;
        Py_BEGIN_ALLOW_THREADS
        rc = ash_environment_key(&environment, self->project);
        Py_END_ALLOW_THREADS
        if (rc == 0) {
            ash_key_with_environment(&key, &key, &environment);
        }
    }
    if (rc < 0) {
        raise_ash(self->module, rc);
        goto done;
    }
    char hex[33];
    ash_key_hex(&key, hex);
    result = PyUnicode_FromString(hex);
done:
    PyMem_RawFree(nodes);
    Py_XDECREF(bytes);
    return result;
}

static PyObject *project_test_modules(ProjectObject *self, PyObject *unused)
{
    if (ensure_selection(self) < 0) {
        return NULL;
    }
    return str_list(self->selection, ash_selection_count(self->selection), test_path_at);
}

/* The selection's index of test module `arg`, or -1 with an exception. */
static long test_index(ProjectObject *self, PyObject *arg)
{
    PyObject *bytes = NULL;
    if (ensure_selection(self) < 0 || !PyUnicode_FSConverter(arg, &bytes)) {
        return -1;
    }
    long i = ash_selection_find(self->selection, PyBytes_AS_STRING(bytes));
    if (i < 0) {
        raise_not_found(self->module, PyBytes_AS_STRING(bytes), "not a test module of the project");
    }
    Py_DECREF(bytes);
    return i;
}

static PyObject *project_inputs_key(ProjectObject *self, PyObject *arg)
{
    long i = test_index(self, arg);
    if (i < 0) {
        return NULL;
    }
    if (!ash_selection_cacheable(self->selection, (size_t)i)) {
        Py_RETURN_NONE;
    }
    char hex[33];
    ash_key_hex(ash_selection_inputs(self->selection, (size_t)i), hex);
    return PyUnicode_FromString(hex);
}

/* [{"path", "reason", "via"}] for the modules with a reason (path order). */
static PyObject *affected_list(ProjectObject *self, const ash_reason *reasons, const char **via)
{
    PyObject *list = PyList_New(0);
    size_t n = ash_selection_count(self->selection);
    for (size_t i = 0; list && i < n; i++) {
        if (reasons[i] == ASH_REASON_NONE) {
            continue;
        }
        PyObject *path = fs_str(ash_selection_path(self->selection, i));
        PyObject *v = via[i] ? fs_str(via[i]) : Py_NewRef(Py_None);
        PyObject *d = path && v ? Py_BuildValue("{s:O,s:s,s:O}", "path", path, "reason",
                                                ash_reason_name(reasons[i]), "via", v)
                                : NULL;
        if (!d || PyList_Append(list, d) < 0) {
            Py_CLEAR(list);
        }
        Py_XDECREF(d);
        Py_XDECREF(path);
        Py_XDECREF(v);
    }
    return list;
}

static PyObject *project_affected(ProjectObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"changed", "added", "all_changed", NULL};
    PyObject *changed_obj, *added_obj = NULL;
    int all = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$Op", kwlist, &changed_obj, &added_obj, &all)) {
        return NULL;
    }
    cstrings changed = {0}, added = {0};
    ash_reason *reasons = NULL;
    const char **via = NULL;
    PyObject *result = NULL;
    if (cstrings_from(&changed, changed_obj) < 0 || cstrings_from(&added, added_obj) < 0 ||
        ensure_selection(self) < 0) {
        goto done;
    }
    size_t n = ash_selection_count(self->selection);
    reasons = PyMem_RawCalloc(n + 1, sizeof(*reasons));
    via = PyMem_RawCalloc(n + 1, sizeof(*via));
    if (!reasons || !via) {
        PyErr_NoMemory();
        goto done;
    }
    long rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ash_selection_affected(self->selection, (const char *const *)changed.items, changed.count,
                                (const char *const *)added.items, added.count, all, reasons, via);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(self->module, (int)rc);
        goto done;
    }
    result = affected_list(self, reasons, via); /* before `changed` (which via borrows) goes */
done:
    PyMem_RawFree(reasons);
    PyMem_RawFree(via);
    cstrings_free(&changed);
    cstrings_free(&added);
    return result;
}

static PyObject *project_why(ProjectObject *self, PyObject *args)
{
    PyObject *test, *target_bytes = NULL;
    if (!PyArg_ParseTuple(args, "OO&", &test, PyUnicode_FSConverter, &target_bytes)) {
        return NULL;
    }
    long i = test_index(self, test);
    char *chain = NULL;
    int rc = 0;
    if (i >= 0) {
        const char *target = PyBytes_AS_STRING(target_bytes);
        Py_BEGIN_ALLOW_THREADS
        rc = ash_selection_why(self->selection, (size_t)i, target, &chain);
        Py_END_ALLOW_THREADS
        if (rc < 0) {
            raise_ash(self->module, rc);
        }
    }
    Py_DECREF(target_bytes);
    if (i < 0 || rc < 0) {
        return NULL;
    }
    if (!chain) {
        Py_RETURN_NONE;
    }
    PyObject *text = fs_str(chain);
    ash_free(chain);
    PyObject *lines = text ? PyUnicode_Splitlines(text, 0) : NULL;
    Py_XDECREF(text);
    return lines;
}

static PyObject *project_results(ProjectObject *self, PyObject *unused);

static PyMethodDef project_methods[] = {
    {"files", METHOD(project_files), METH_NOARGS,
     "files() -> list[str]\n--\n\nEvery Python file of the project, in path order."},
    {"module_name", METHOD(project_module_name), METH_O,
     "module_name(path) -> str\n--\n\nThe dotted name the file is imported as ('' if none)."},
    {"imports", METHOD(project_imports), METH_O,
     "imports(path) -> list[dict]\n--\n\nThe file's imports as extracted, with their origin."},
    {"edges", METHOD(project_edges), METH_O,
     "edges(path) -> list[tuple]\n--\n\nThe file's graph edges: (target path, target module, "
     "line, kind, flags), by target."},
    {"dependencies", METHOD(project_dependencies), METH_VARARGS | METH_KEYWORDS,
     "dependencies(path, closure=False) -> list[str]\n--\n\nFiles the file imports."},
    {"dependents", METHOD(project_dependents), METH_VARARGS | METH_KEYWORDS,
     "dependents(path, closure=False) -> list[str]\n--\n\nFiles that import the file."},
    {"closure_hash", METHOD(project_closure_hash), METH_VARARGS | METH_KEYWORDS,
     "closure_hash(target, kind='file', env=False) -> str\n--\n\nThe hex closure key of a file, a "
     "directory ('dir') or a dotted module name ('module')."},
    {"test_modules", METHOD(project_test_modules), METH_NOARGS,
     "test_modules() -> list[str]\n--\n\nThe test modules pytest would collect."},
    {"inputs_key", METHOD(project_inputs_key), METH_O,
     "inputs_key(test_path) -> str | None\n--\n\nThe key the module's results are cached "
     "under; None when it cannot be keyed."},
    {"affected", METHOD(project_affected), METH_VARARGS | METH_KEYWORDS,
     "affected(changed, *, added=(), all_changed=False) -> list[dict]\n--\n\n"
     "The test modules the change affects: {'path', 'reason', 'via'}."},
    {"why", METHOD(project_why), METH_VARARGS,
     "why(test_path, target) -> list[str] | None\n--\n\nThe import chain from the test module "
     "to target, one 'path:line' per step, or None."},
    {"results", METHOD(project_results), METH_NOARGS,
     "results() -> Results\n--\n\nThe project's result cache, as the selection keys it."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef project_getset[] = {
    {"root", (getter)project_get_root, NULL, "Absolute path of the project root.", NULL},
    {"source_roots", (getter)project_get_source_roots, NULL,
     "Source roots, relative to the root ('' is the root).", NULL},
    {"warnings", (getter)project_get_warnings, NULL,
     "Warnings so far, one 'path: message' line each.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot project_slots[] = {
    {Py_tp_doc, "An opened aftershock project; made by open_project(). Thread-safe."},
    {Py_tp_dealloc, SLOT_FN(project_dealloc)},
    {Py_tp_traverse, SLOT_FN(project_traverse)},
    {Py_tp_clear, SLOT_FN(project_clear)},
    {Py_tp_methods, project_methods},
    {Py_tp_getset, project_getset},
    {0, NULL},
};

static PyType_Spec project_spec = {
    .name = "aftershock._core.Project",
    .basicsize = sizeof(ProjectObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | DISALLOW_INSTANTIATION,
    .slots = project_slots,
};

/* Keep what open_project was given (the selection is opened later with it). */
static int project_keep_options(ProjectObject *self, PyObject *root, PyObject *python,
                                PyObject *cache_dir, PyObject *pytest_args, PyObject *cov)
{
    if (dup_bytes(&self->root, root) < 0 || dup_bytes(&self->python, python) < 0 ||
        dup_bytes(&self->cache_dir, cache_dir) < 0 ||
        cstrings_from(&self->pytest_args, pytest_args) < 0) {
        return -1;
    }
    if (cov && cov != Py_None) {
        PyObject *cov_bytes = NULL;
        if (!PyUnicode_FSConverter(cov, &cov_bytes)) {
            return -1;
        }
        int rc = dup_bytes(&self->cov, cov_bytes);
        Py_DECREF(cov_bytes);
        if (rc < 0) {
            return -1;
        }
        self->has_cov = 1;
    }
    self->options = (ash_project_options){
        .root = self->root,
        .python = self->python,
        .cache_dir = self->cache_dir,
        .no_cache = self->no_cache,
        .jobs = self->jobs,
        .diag = diag_collect,
        .payload = &self->diag,
    };
    return 0;
}

static PyObject *open_project(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"root", "python",      "cache_dir", "no_cache",
                             "jobs", "pytest_args", "cov",       NULL};
    PyObject *root = NULL, *python = NULL, *cache_dir = NULL, *pytest_args = NULL, *cov = NULL;
    int no_cache = 0, jobs = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O&$O&O&piOO", kwlist, opt_fspath, &root,
                                     opt_fspath, &python, opt_fspath, &cache_dir, &no_cache, &jobs,
                                     &pytest_args, &cov)) {
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)state_of(module)->project_type;
    ProjectObject *self = NULL;
    if (jobs < 0) {
        PyErr_SetString(PyExc_ValueError, "jobs must be >= 0");
        goto done;
    }
    if (!(self = (ProjectObject *)type->tp_alloc(type, 0))) {
        goto done;
    }
    self->module = Py_NewRef(module);
    self->no_cache = no_cache;
    self->jobs = jobs;
    self->lock = PyThread_allocate_lock();
    self->diag.lock = PyThread_allocate_lock();
    self->warnings = PyList_New(0);
    if (!self->lock || !self->diag.lock) {
        PyErr_NoMemory();
    }
    if (PyErr_Occurred() ||
        project_keep_options(self, root, python, cache_dir, pytest_args, cov) < 0) {
        Py_CLEAR(self);
        goto done;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ash_project_open(&self->project, NULL, &self->options);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(module, rc);
        Py_CLEAR(self);
    } else {
        self->type_checking = ash_project_type_checking_imports(self->project);
        if (project_snapshot(self) < 0 || diag_flush(&self->diag, self->warnings) < 0) {
            Py_CLEAR(self);
        }
    }
done:
    Py_XDECREF(root);
    Py_XDECREF(python);
    Py_XDECREF(cache_dir);
    return (PyObject *)self;
}

/* ---------------------------------------------------------------------------------------- */
/* Results                                                                                  */

typedef struct ResultsObject {
    PyObject_HEAD
    ProjectObject *project;  /* owns the selection the results borrow */
    PyThread_type_lock lock; /* ash_results is for one thread at a time */
    ash_results *results;    /* NULL once closed */
} ResultsObject;

static int results_traverse(ResultsObject *self, visitproc visit, void *arg)
{
#if PY_VERSION_HEX >= 0x03090000
    Py_VISIT(Py_TYPE(self));
#endif
    Py_VISIT(self->project);
    return 0;
}

static void results_dealloc(ResultsObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    /* not closed: the last-run state is still written; a failure here has no one to tell */
    (void)ash_results_close(self->results);
    if (self->lock) {
        PyThread_free_lock(self->lock);
    }
    Py_CLEAR(self->project);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* 0 when open; -1 with Error when closed. */
static int results_check(ResultsObject *self)
{
    if (!self->results) {
        PyErr_SetString(state_of(self->project->module)->error, "aftershock: results closed");
        return -1;
    }
    return 0;
}

static PyObject *results_passed(ResultsObject *self, PyObject *arg)
{
    long i = results_check(self) < 0 ? -1 : test_index(self->project, arg);
    if (i < 0) {
        return NULL;
    }
    int passed = 0, rc;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    rc = self->results ? ash_results_passed(self->results, (size_t)i, &passed) : 0;
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(self->project->module, rc);
        return NULL;
    }
    return PyBool_FromLong(passed);
}

/* mark[i] = 1 for the modules whose result would be replayed and that the last run did not see
 * fail (a pass cached before a failure with the same inputs is not trusted). */
static int replayable_marks(ResultsObject *self, uint8_t *mark, ash_reason *reasons)
{
    const ash_selection *sel = self->project->selection;
    size_t n = ash_selection_count(sel);
    long rc = ash_selection_affected(sel, NULL, 0, NULL, 0, 0, reasons, NULL);
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        int passed = 0;
        if (reasons[i] != ASH_REASON_FAILED && ash_selection_cacheable(sel, i)) {
            rc = ash_results_passed(self->results, i, &passed);
        }
        mark[i] = (uint8_t)passed;
    }
    return rc < 0 ? (int)rc : 0;
}

static PyObject *results_replayable(ResultsObject *self, PyObject *unused)
{
    if (results_check(self) < 0) {
        return NULL;
    }
    size_t n = ash_selection_count(self->project->selection);
    uint8_t *mark = PyMem_RawCalloc(n + 1, 1);
    ash_reason *reasons = PyMem_RawCalloc(n + 1, sizeof(*reasons));
    int rc = ASH_ENOMEM;
    if (mark && reasons) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        rc = self->results ? replayable_marks(self, mark, reasons) : 0;
        PyThread_release_lock(self->lock);
        Py_END_ALLOW_THREADS
    }
    PyObject *list = rc < 0 ? NULL : PyList_New(0);
    if (rc < 0) {
        raise_ash(self->project->module, rc);
    }
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = mark[i] ? fs_str(ash_selection_path(self->project->selection, i)) : NULL;
        if (mark[i] && (!s || PyList_Append(list, s) < 0)) {
            Py_CLEAR(list);
        }
        Py_XDECREF(s);
    }
    PyMem_RawFree(mark);
    PyMem_RawFree(reasons);
    return list;
}

static PyObject *results_record(ResultsObject *self, PyObject *args)
{
    PyObject *path;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "Oy*", &path, &data)) {
        return NULL;
    }
    long i = results_check(self) < 0 ? -1 : test_index(self->project, path);
    int rc = 0;
    if (i >= 0) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        rc = self->results
                 ? ash_results_record(self->results, (size_t)i, data.buf, (size_t)data.len)
                 : 0;
        PyThread_release_lock(self->lock);
        Py_END_ALLOW_THREADS
        if (rc < 0) {
            raise_ash(self->project->module, rc);
        }
    }
    PyBuffer_Release(&data);
    if (i < 0 || rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *results_close(ResultsObject *self, PyObject *unused)
{
    int rc;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    rc = ash_results_close(self->results);
    self->results = NULL;
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(self->project->module, rc);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *results_enter(ResultsObject *self, PyObject *unused)
{
    return Py_NewRef(self);
}

static PyObject *results_exit(ResultsObject *self, PyObject *args)
{
    PyObject *r = results_close(self, NULL);
    if (!r) {
        return NULL;
    }
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyMethodDef results_methods[] = {
    {"passed", METHOD(results_passed), METH_O,
     "passed(test_path) -> bool\n--\n\nWhether the module passed last time with the same "
     "inputs (its result would be replayed)."},
    {"replayable", METHOD(results_replayable), METH_NOARGS,
     "replayable() -> list[str]\n--\n\nThe test modules whose cached pass would be replayed "
     "and that the last run did not see fail."},
    {"record", METHOD(results_record), METH_VARARGS,
     "record(test_path, data) -> None\n--\n\nRecord a result in the worker result-file "
     "grammar; a pass is cached."},
    {"close", METHOD(results_close), METH_NOARGS,
     "close() -> None\n--\n\nWrite the last-run state; later calls do nothing."},
    {"__enter__", METHOD(results_enter), METH_NOARGS, NULL},
    {"__exit__", METHOD(results_exit), METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot results_slots[] = {
    {Py_tp_doc, "The project's result cache; made by Project.results(). Calls are serialised."},
    {Py_tp_dealloc, SLOT_FN(results_dealloc)},
    {Py_tp_traverse, SLOT_FN(results_traverse)},
    {Py_tp_methods, results_methods},
    {0, NULL},
};

static PyType_Spec results_spec = {
    .name = "aftershock._core.Results",
    .basicsize = sizeof(ResultsObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | DISALLOW_INSTANTIATION,
    .slots = results_slots,
};

static PyObject *project_results(ProjectObject *self, PyObject *unused)
{
    if (ensure_selection(self) < 0) {
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)state_of(self->module)->results_type;
    ResultsObject *r = (ResultsObject *)type->tp_alloc(type, 0);
    if (!r) {
        return NULL;
    }
    r->project = (ProjectObject *)Py_NewRef(self);
    if (!(r->lock = PyThread_allocate_lock())) {
        Py_DECREF(r);
        return PyErr_NoMemory();
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ash_results_open(&r->results, self->selection);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        raise_ash(self->module, rc);
        Py_DECREF(r);
        return NULL;
    }
    return (PyObject *)r;
}

/* ---------------------------------------------------------------------------------------- */
/* The module                                                                               */

static PyObject *new_type(PyObject *module, PyType_Spec *spec)
{
#if PY_VERSION_HEX >= 0x03090000
    PyObject *type = PyType_FromModuleAndSpec(module, spec, NULL);
#else
    PyObject *type = PyType_FromSpec(spec);
#endif
#ifndef Py_TPFLAGS_DISALLOW_INSTANTIATION
    if (type) {
        ((PyTypeObject *)type)->tp_new = NULL; /* before 3.10: the flag's effect */
    }
#endif
    return type;
}

static int core_exec(PyObject *module)
{
    core_state *st = state_of(module);
    st->project_type = new_type(module, &project_spec);
    st->results_type = new_type(module, &results_spec);
    /* `code` is a class attribute too: errors raised without a C code (a path outside the
     * project) have one */
    PyObject *error_dict = Py_BuildValue("{s:i}", "code", ASH_ERROR);
    PyObject *not_found_dict = Py_BuildValue("{s:i}", "code", ASH_ENOTFOUND);
    st->error = error_dict && not_found_dict
                    ? PyErr_NewExceptionWithDoc(
                          "aftershock.Error",
                          "A failure of aftershock's C core; str() is its one-line message, "
                          "`code` the negative ASH_E* code.",
                          NULL, error_dict)
                    : NULL;
    PyObject *bases = st->error ? PyTuple_Pack(2, st->error, PyExc_FileNotFoundError) : NULL;
    st->not_found =
        bases
            ? PyErr_NewExceptionWithDoc("aftershock.NotFoundError",
                                        "A file, module, test module or project that is not there.",
                                        bases, not_found_dict)
            : NULL;
    Py_XDECREF(bases);
    Py_XDECREF(error_dict);
    Py_XDECREF(not_found_dict);
    if (!st->project_type || !st->results_type || !st->not_found) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Project", st->project_type) < 0 ||
        PyModule_AddObjectRef(module, "Results", st->results_type) < 0 ||
        PyModule_AddObjectRef(module, "Error", st->error) < 0 ||
        PyModule_AddObjectRef(module, "NotFoundError", st->not_found) < 0 ||
        PyModule_AddStringConstant(module, "__version__", ASH_VERSION) < 0) {
        return -1;
    }
    return 0;
}

static int core_traverse(PyObject *module, visitproc visit, void *arg)
{
    core_state *st = state_of(module);
    Py_VISIT(st->project_type);
    Py_VISIT(st->results_type);
    Py_VISIT(st->error);
    Py_VISIT(st->not_found);
    return 0;
}

static int core_clear(PyObject *module)
{
    core_state *st = state_of(module);
    Py_CLEAR(st->project_type);
    Py_CLEAR(st->results_type);
    Py_CLEAR(st->error);
    Py_CLEAR(st->not_found);
    return 0;
}

static void core_free(void *module)
{
    core_clear((PyObject *)module);
}

static PyMethodDef core_methods[] = {
    {"open_project", METHOD(open_project), METH_VARARGS | METH_KEYWORDS,
     "open_project(root=None, *, python=None, cache_dir=None, no_cache=False, jobs=0, "
     "pytest_args=None, cov=None) -> Project\n--\n\n"
     "Open the project at root (None: the one holding the working directory)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, SLOT_FN(core_exec)},
    {0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "aftershock._core",
    .m_doc = "aftershock's C core: import graphs, closure keys, test selection, result cache.",
    .m_size = sizeof(core_state),
    .m_methods = core_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
