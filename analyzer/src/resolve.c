/*
 * Module resolution (see resolve.h). Every lookup is memoised per (search scope, dotted name),
 * so a name is looked up once however many files import it: resolution costs O(modules), not
 * O(imports x roots).
 */
#include "resolve.h"

#include "ash_uthash.h"
#include "names.h"

#include <string.h>

enum { MOD_NONE, MOD_MODULE, MOD_PACKAGE, MOD_NAMESPACE };

typedef struct path_entry {
    UT_hash_handle hh;
    const char *key;
    uint32_t index;
    int8_t is_package; /* directories: 0 not yet known, 1 no, 2 yes */
} path_entry;

typedef struct modinfo {
    UT_hash_handle hh;
    uint8_t kind;
    int32_t files[2]; /* .py and .pyi nodes, -1 if absent */
    char **paths;     /* submodule search locations */
    uint32_t npaths;
    size_t key_len;
    char key[]; /* scope '\1' dotted name */
} modinfo;

typedef struct file_ctx {
    char *module;   /* dotted name, "" if none */
    char *package;  /* the package relative imports start from: module itself for an __init__,
                       else its directory's dotted name (also when the file's own name is not an
                       identifier, as a Django migration's `0002_x.py` is not); "" if none */
    char *basedir;  /* first directory upwards without __init__ */
    int is_package; /* an __init__ file */
    int scope_is_roots;
    int done;
} file_ctx;

struct ash_resolver {
    char *const *paths;
    size_t count;
    char *const *roots;
    size_t root_count;
    const ash_envinfo *env;
    path_entry *path_items; /* one allocation, `count` items */
    path_entry *by_path;
    path_entry *dirs; /* owned keys */
    ash_name *names;  /* every path component (file names without .py/.pyi): a module name
                         no file or directory carries is found in no directory */
    modinfo *memo;
    file_ctx *files;
    ash_buf key;
    ash_buf tmp;
    ash_buf name;
    modinfo **chain;
    size_t chain_cap;
};

static long find_path(const ash_resolver *r, const char *p, size_t len)
{
    path_entry *e;
    HASH_FIND(hh, r->by_path, p, len, e);
    return e ? (long)e->index : -1;
}

static int dir_exists(const ash_resolver *r, const char *p, size_t len)
{
    path_entry *e;
    HASH_FIND(hh, r->dirs, p, len, e);
    return e != NULL;
}

/* Record every ancestor directory of `path` in the directory set. */
static int add_dirs(ash_resolver *r, const char *path)
{
    for (const char *slash = strrchr(path, '/'); slash; slash = NULL) {
        size_t len = (size_t)(slash - path);
        while (len) {
            if (dir_exists(r, path, len)) {
                return 0; /* its ancestors are in already */
            }
            path_entry *e = ash__calloc(1, sizeof(*e) + len + 1);
            if (!e) {
                return ash__error_oom();
            }
            char *key = (char *)(e + 1);
            memcpy(key, path, len);
            e->key = key;
            ash__uthash_oom = 0;
            HASH_ADD_KEYPTR(hh, r->dirs, e->key, len, e);
            if (ash__uthash_oom) {
                ash__free(e);
                return ash__error_oom();
            }
            len = ash__dirname_len(path, len);
        }
    }
    return 0;
}

/* Record every component of `path` (the file's without its extension) as a name. */
static int add_names(ash_resolver *r, const char *path)
{
    for (const char *p = path; *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!slash) {
            const char *dot = memchr(p, '.', len);
            len = dot ? (size_t)(dot - p) : len;
        }
        if (ash__names_add(&r->names, p, len, NULL) < 0) {
            return ASH_ENOMEM;
        }
        if (!slash) {
            break;
        }
        p = slash + 1;
    }
    return 0;
}

static int has_name(const ash_resolver *r, const char *name, size_t len)
{
    return ash__names_find(r->names, name, len) != NULL;
}

int ash__resolver_new(ash_resolver **out, char *const *paths, size_t count, char *const *roots,
                      size_t root_count, const ash_envinfo *env)
{
    *out = NULL;
    ash_resolver *r = ash__calloc(1, sizeof(*r));
    if (!r) {
        return ash__error_oom();
    }
    r->paths = paths;
    r->count = count;
    r->roots = roots;
    r->root_count = root_count;
    r->env = env;
    r->path_items = ash__calloc(count ? count : 1, sizeof(path_entry));
    r->files = ash__calloc(count ? count : 1, sizeof(file_ctx));
    if (!r->path_items || !r->files) {
        ash__resolver_free(r);
        return ash__error_oom();
    }
    for (size_t i = 0; i < count; i++) {
        path_entry *e = &r->path_items[i];
        e->key = paths[i];
        e->index = (uint32_t)i;
        ash__uthash_oom = 0;
        HASH_ADD_KEYPTR(hh, r->by_path, e->key, strlen(e->key), e);
        if (ash__uthash_oom || add_dirs(r, paths[i]) < 0 || add_names(r, paths[i]) < 0) {
            ash__resolver_free(r);
            return ash__error_oom();
        }
    }
    *out = r;
    return 0;
}

static modinfo *modinfo_new(const char *key, size_t key_len, uint8_t kind)
{
    modinfo *m = ash__calloc(1, sizeof(*m) + key_len + 1);
    if (m) {
        memcpy(m->key, key, key_len);
        m->key_len = key_len;
        m->kind = kind;
        m->files[0] = m->files[1] = -1;
    }
    return m;
}

static void clear_paths(modinfo *m)
{
    for (uint32_t i = 0; i < m->npaths; i++) {
        ash__free(m->paths[i]);
    }
    m->npaths = 0;
}

static void modinfo_free(modinfo *m)
{
    clear_paths(m);
    ash__free(m->paths);
    ash__free(m);
}

void ash__resolver_free(ash_resolver *r)
{
    if (!r) {
        return;
    }
    HASH_CLEAR(hh, r->by_path);
    ash__free(r->path_items);
    path_entry *e, *etmp;
    HASH_ITER(hh, r->dirs, e, etmp)
    {
        HASH_DEL(r->dirs, e);
        ash__free(e);
    }
    ash__names_free(&r->names);
    modinfo *m, *mtmp;
    HASH_ITER(hh, r->memo, m, mtmp)
    {
        HASH_DEL(r->memo, m);
        modinfo_free(m);
    }
    for (size_t i = 0; r->files && i < r->count; i++) {
        ash__free(r->files[i].module);
        ash__free(r->files[i].package);
        ash__free(r->files[i].basedir);
    }
    ash__free(r->files);
    ash__buf_free(&r->key);
    ash__buf_free(&r->tmp);
    ash__buf_free(&r->name);
    ash__free(r->chain);
    ash__free(r);
}

/* ---- one lookup step: FileFinder.find_spec over a list of directories ---- */

/* Memoise m (built with status rc) and hand it out; on any failure m is freed. */
static int memo_add(ash_resolver *r, modinfo *m, int rc, modinfo **out)
{
    if (rc == 0) {
        ash__uthash_oom = 0;
        HASH_ADD(hh, r->memo, key, m->key_len, m);
        rc = ash__uthash_oom ? ash__error_oom() : 0;
    }
    if (rc < 0) {
        modinfo_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int add_search_path(modinfo *m, const char *p, size_t len)
{
    char **paths = ash__realloc(m->paths, (m->npaths + 1) * sizeof(char *));
    if (!paths) {
        return ash__error_oom();
    }
    m->paths = paths;
    if (!(m->paths[m->npaths] = ash__strndup(p, len))) {
        return ash__error_oom();
    }
    m->npaths++;
    return 0;
}

/* Look `part` up in the directories `dirs`, filling m (kind, files, paths). */
static int find_spec(ash_resolver *r, modinfo *m, char *const *dirs, size_t ndirs, const char *part,
                     size_t part_len)
{
    ash_buf *b = &r->tmp;
    if (!has_name(r, part, part_len)) {
        m->kind = MOD_NONE; /* os, typing, requests...: no file or directory is called that */
        return 0;
    }
    for (size_t i = 0; i < ndirs; i++) {
        ash__buf_clear(b);
        if ((dirs[i][0] && (ash__buf_puts(b, dirs[i]) < 0 || ash__buf_putc(b, '/') < 0)) ||
            ash__buf_put(b, part, part_len) < 0) {
            return ASH_ENOMEM;
        }
        size_t base = b->len;
        if (ash__buf_puts(b, "/__init__.py") < 0) {
            return ASH_ENOMEM;
        }
        long py = find_path(r, b->ptr, b->len);
        if (ash__buf_putc(b, 'i') < 0) {
            return ASH_ENOMEM;
        }
        long pyi = find_path(r, b->ptr, b->len);
        if (py >= 0 || pyi >= 0) {
            /* a regular package found after namespace portions of earlier entries wins */
            clear_paths(m);
            m->kind = MOD_PACKAGE;
            m->files[0] = (int32_t)py;
            m->files[1] = (int32_t)pyi;
            return add_search_path(m, b->ptr, base);
        }
        b->len = base;
        if (ash__buf_puts(b, ".py") < 0) {
            return ASH_ENOMEM;
        }
        py = find_path(r, b->ptr, b->len);
        if (ash__buf_putc(b, 'i') < 0) {
            return ASH_ENOMEM;
        }
        pyi = find_path(r, b->ptr, b->len);
        if (py >= 0 || pyi >= 0) {
            /* a module found after namespace portions of earlier entries still wins */
            clear_paths(m);
            m->kind = MOD_MODULE;
            m->files[0] = (int32_t)py;
            m->files[1] = (int32_t)pyi;
            return 0;
        }
        if (dir_exists(r, b->ptr, base) && add_search_path(m, b->ptr, base) < 0) {
            return ASH_ENOMEM;
        }
    }
    m->kind = m->npaths ? MOD_NAMESPACE : MOD_NONE;
    return 0;
}

/* Memoised lookup of key (scope '\1' name) whose last component is `part`. */
static int lookup(ash_resolver *r, const char *key, size_t key_len, char *const *dirs, size_t ndirs,
                  const char *part, size_t part_len, modinfo **out)
{
    modinfo *m;
    HASH_FIND(hh, r->memo, key, key_len, m);
    if (m) {
        *out = m;
        return 0;
    }
    m = modinfo_new(key, key_len, MOD_NONE);
    if (!m) {
        return ash__error_oom();
    }
    int rc = ndirs ? find_spec(r, m, dirs, ndirs, part, part_len) : 0;
    return memo_add(r, m, rc, out);
}

/* Memoised merge of two namespace results under `key` (base directory portions first). */
static int merged_namespace(ash_resolver *r, const char *key, size_t key_len, const modinfo *a,
                            const modinfo *b, modinfo **out)
{
    HASH_FIND(hh, r->memo, key, key_len, *out);
    if (*out) {
        return 0;
    }
    modinfo *m = modinfo_new(key, key_len, MOD_NAMESPACE);
    if (!m) {
        return ash__error_oom();
    }
    int rc = 0;
    for (const modinfo *src = a; src && rc == 0; src = src == a ? b : NULL) {
        for (uint32_t i = 0; rc == 0 && src->kind == MOD_NAMESPACE && i < src->npaths; i++) {
            rc = add_search_path(m, src->paths[i], strlen(src->paths[i]));
        }
    }
    return memo_add(r, m, rc, out);
}

/* Set r->key to scope, `sep`, and name[0..len). */
static int set_key(ash_resolver *r, const char *scope, char sep, const char *name, size_t len)
{
    ash__buf_clear(&r->key);
    return ash__buf_puts(&r->key, scope) < 0 || ash__buf_putc(&r->key, sep) < 0 ||
                   ash__buf_put(&r->key, name, len) < 0
               ? ASH_ENOMEM
               : 0;
}

/*
 * The top-level module `part` for file f, where sys.path is [base directory] + roots. The
 * roots' answer is memoised once for all files, the base directory's alone once per
 * directory; when the roots' answer wins, r->key is left in the roots' scope so that the
 * submodules of root packages are also looked up once, whichever file imports them.
 */
static int top_level(ash_resolver *r, const file_ctx *f, const char *part, size_t len,
                     modinfo **out)
{
    modinfo *roots = NULL, *base = NULL;
    int rc = set_key(r, "", '\1', part, len);
    if (rc < 0 ||
        (rc = lookup(r, r->key.ptr, r->key.len, r->roots, r->root_count, part, len, &roots)) < 0) {
        return rc;
    }
    *out = roots;
    if (f->scope_is_roots) {
        return 0;
    }
    char *dirs[1] = {f->basedir};
    if ((rc = set_key(r, f->basedir, '\2', part, len)) < 0 ||
        (rc = lookup(r, r->key.ptr, r->key.len, dirs, 1, part, len, &base)) < 0) {
        return rc;
    }
    if (base->kind == MOD_PACKAGE || base->kind == MOD_MODULE) {
        *out = base; /* the base directory comes first on sys.path */
    } else if (base->kind == MOD_NAMESPACE && roots->kind != MOD_PACKAGE &&
               roots->kind != MOD_MODULE) {
        if ((rc = set_key(r, f->basedir, '\1', part, len)) < 0) {
            return rc;
        }
        return merged_namespace(r, r->key.ptr, r->key.len, base, roots, out);
    } else {
        return set_key(r, "", '\1', part, len);
    }
    return set_key(r, f->basedir, '\1', part, len);
}

static int chain_push(ash_resolver *r, size_t *n, modinfo *m)
{
    void *chain = r->chain;
    if (ash__grow(&chain, &r->chain_cap, *n + 1, sizeof(modinfo *)) < 0) {
        return ASH_ENOMEM;
    }
    r->chain = chain;
    r->chain[(*n)++] = m;
    return 0;
}

/*
 * Resolve `name` component by component in the scope of file `f`; fills r->chain with the
 * modinfo of each resolved prefix and returns how many (the last may be MOD_NONE).
 * *complete is set when every component resolved.
 */
static int resolve_chain(ash_resolver *r, const file_ctx *f, const char *name, size_t len,
                         size_t *n, int *complete)
{
    *n = 0;
    *complete = 0;
    const char *dot = memchr(name, '.', len);
    size_t end = dot ? (size_t)(dot - name) : len;
    modinfo *m = NULL;
    if (end == 0 || ash__envinfo_is_builtin(r->env, name, end)) {
        /* empty component: not a module name; a builtin module: found before sys.path */
        return 0;
    }
    int rc = top_level(r, f, name, end, &m);
    while (rc == 0 && (rc = chain_push(r, n, m)) == 0) {
        if (!dot) {
            *complete = m->kind != MOD_NONE;
            break;
        }
        if (m->kind == MOD_NONE || m->kind == MOD_MODULE) {
            break;
        }
        size_t start = end + 1;
        dot = memchr(name + start, '.', len - start);
        end = dot ? (size_t)(dot - name) : len;
        if (end == start) {
            break;
        }
        modinfo *prev = m;
        if (ash__buf_putc(&r->key, '.') < 0 ||
            ash__buf_put(&r->key, name + start, end - start) < 0) {
            return ASH_ENOMEM;
        }
        rc = lookup(r, r->key.ptr, r->key.len, prev->paths, prev->npaths, name + start, end - start,
                    &m);
    }
    return rc;
}

/* ---- per-file context ---- */

static int is_identifier(const char *s, size_t len)
{
    if (!len || (s[0] >= '0' && s[0] <= '9')) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c >= 0x80)) {
            return 0;
        }
    }
    return 1;
}

static int has_init(ash_resolver *r, const char *dir, size_t len);

/* Is `dir` a package directory (holds __init__.py or __init__.pyi)? Cached per directory. */
static int is_package_dir(ash_resolver *r, const char *dir, size_t len)
{
    path_entry *e = NULL;
    if (len) {
        HASH_FIND(hh, r->dirs, dir, len, e);
        if (e && e->is_package) {
            return e->is_package == 2;
        }
    }
    int yes = has_init(r, dir, len);
    if (e) {
        e->is_package = (int8_t)(yes ? 2 : 1);
    }
    return yes;
}

/* Does directory `dir` hold an __init__.py or __init__.pyi? */
static int has_init(ash_resolver *r, const char *dir, size_t len)
{
    ash_buf *b = &r->tmp;
    ash__buf_clear(b);
    if ((len && (ash__buf_put(b, dir, len) < 0 || ash__buf_putc(b, '/') < 0)) ||
        ash__buf_puts(b, "__init__.py") < 0) {
        return 0;
    }
    if (find_path(r, b->ptr, b->len) >= 0) {
        return 1;
    }
    return ash__buf_putc(b, 'i') == 0 && find_path(r, b->ptr, b->len) >= 0;
}

/* Dotted name of path[from..] without its extension and /__init__; "" if not importable. */
static int module_name_from(ash_buf *out, const char *path, size_t from, int *is_package)
{
    ash__buf_clear(out);
    const char *p = path + from, *end = path + strlen(path);
    const char *dot = strrchr(p, '.');
    if (!dot) {
        return 0;
    }
    end = dot;
    const char *base = strrchr(p, '/');
    base = base ? base + 1 : p;
    *is_package = (size_t)(end - base) == 8 && memcmp(base, "__init__", 8) == 0;
    if (*is_package) {
        end = base > p ? base - 1 : p;
    }
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash ? slash : end;
        if (!is_identifier(p, (size_t)(e - p))) {
            ash__buf_clear(out);
            return 0;
        }
        if ((out->len && ash__buf_putc(out, '.') < 0) ||
            ash__buf_put(out, p, (size_t)(e - p)) < 0) {
            return ASH_ENOMEM;
        }
        p = slash ? slash + 1 : end;
    }
    return 0;
}

/* f->package: the dotted name of the directory of `path` (named from offset `from`), or the
 * module itself for an __init__ file. */
static int package_name(ash_resolver *r, file_ctx *f, const char *path, size_t from)
{
    if (f->is_package) {
        return (f->package = ash__strdup(f->module)) ? 0 : ash__error_oom();
    }
    size_t dir = ash__dirname_len(path, strlen(path));
    ash_buf init = ASH_BUF_INIT;
    int is_package = 0, rc = 0;
    ash__buf_clear(&r->name);
    if (dir > from || (dir == from && dir > 0)) {
        rc = ash__buf_put(&init, path, dir);
        if (rc == 0) {
            rc = ash__buf_puts(&init, "/__init__.py");
        }
        if (rc == 0) {
            rc = module_name_from(&r->name, init.ptr, from, &is_package);
        }
    }
    ash__buf_free(&init);
    if (rc < 0 || !(f->package = ash__strdup(ash__buf_cstr(&r->name)))) {
        return ash__error_oom();
    }
    return 0;
}

static int file_context(ash_resolver *r, uint32_t i, file_ctx **out)
{
    file_ctx *f = &r->files[i];
    *out = f;
    if (f->done) {
        return 0;
    }
    const char *path = r->paths[i];
    /* up through package directories; a project root that is itself a package stops there */
    size_t dir_len = ash__dirname_len(path, strlen(path));
    while (dir_len && is_package_dir(r, path, dir_len)) {
        dir_len = ash__dirname_len(path, dir_len);
    }
    if (!(f->basedir = ash__strndup(path, dir_len))) {
        return ash__error_oom();
    }
    /* Name it from the innermost root holding its base directory (namespace packages keep
     * their full name), else from the base directory. */
    size_t best = SIZE_MAX;
    f->scope_is_roots = 0;
    for (size_t k = 0; k < r->root_count; k++) {
        if (ash__path_below(r->roots[k], f->basedir)) {
            size_t n = strlen(r->roots[k]);
            if (best == SIZE_MAX || n > best) {
                best = n;
            }
            /* sys.path is [base directory] + roots: the same as the roots alone only when
             * the base directory is the first root (pytest puts a test module's base
             * directory first, before pythonpath and the installed project) */
            if (k == 0 && strcmp(r->roots[k], f->basedir) == 0) {
                f->scope_is_roots = 1;
            }
        }
    }
    int rc = 0;
    size_t from = SIZE_MAX;
    if (best != SIZE_MAX) {
        from = best ? best + 1 : 0;
        rc = module_name_from(&r->name, path, from, &f->is_package);
    }
    if (rc == 0 && (best == SIZE_MAX || r->name.len == 0)) {
        from = dir_len ? dir_len + 1 : 0;
        rc = module_name_from(&r->name, path, from, &f->is_package);
    }
    if (rc < 0 || !(f->module = ash__strdup(ash__buf_cstr(&r->name)))) {
        return ash__error_oom();
    }
    if ((rc = package_name(r, f, path, from)) < 0) {
        return rc;
    }
    f->done = 1;
    return 0;
}

const char *ash__resolver_module_name(ash_resolver *r, uint32_t i)
{
    file_ctx *f;
    return file_context(r, i, &f) == 0 ? f->module : "";
}

int ash__resolver_module(ash_resolver *r, uint32_t i, const char **out)
{
    file_ctx *f;
    int rc = file_context(r, i, &f);
    *out = rc == 0 ? f->module : "";
    return rc;
}

/* ---- imports ---- */

/* The absolute name of a relative import into r->name; 0, 1 if beyond the top, ENOMEM. */
static int absolute_name(ash_resolver *r, const file_ctx *f, const ash_import *imp)
{
    ash_buf *b = &r->name;
    ash__buf_clear(b);
    if (imp->level == 0) {
        return ash__buf_puts(b, imp->module);
    }
    const char *anchor = imp->package ? imp->package : f->package;
    size_t len = strlen(anchor);
    for (uint32_t k = 1; k < imp->level; k++) {
        if (!len) {
            return 1;
        }
        const char *dot = memrchr(anchor, '.', len);
        len = dot ? (size_t)(dot - anchor) : 0;
    }
    if (!len) {
        return 1;
    }
    if (ash__buf_put(b, anchor, len) < 0 ||
        (imp->module[0] && (ash__buf_putc(b, '.') < 0 || ash__buf_puts(b, imp->module) < 0))) {
        return ASH_ENOMEM;
    }
    return 0;
}

static int emit_files(const modinfo *m, ash_edge_kind kind, ash_target_fn fn, void *payload)
{
    for (int k = 0; k < 2; k++) {
        if (m->files[k] >= 0) {
            int rc = fn((uint32_t)m->files[k], kind, payload);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* Classify a name whose top level is not a project module or package. */
static void classify(ash_resolver *r, const char *name, ash_resolution *res)
{
    size_t top = strcspn(name, ".");
    res->origin = ash__envinfo_classify(r->env, name, top, &res->dist);
}

/* Edges for `from X import names`: the submodules among the names. */
static int from_names(ash_resolver *r, const file_ctx *f, const ash_import *imp, ash_edge_kind kind,
                      ash_target_fn fn, void *payload)
{
    size_t base = r->name.len;
    for (uint32_t k = 0; k < imp->name_count; k++) {
        if (strcmp(imp->names[k], "*") == 0) {
            continue;
        }
        r->name.len = base;
        if (ash__buf_putc(&r->name, '.') < 0 || ash__buf_puts(&r->name, imp->names[k]) < 0) {
            return ASH_ENOMEM;
        }
        size_t n;
        int complete;
        int rc = resolve_chain(r, f, r->name.ptr, r->name.len, &n, &complete);
        if (rc < 0) {
            return rc;
        }
        if (complete && (rc = emit_files(r->chain[n - 1], kind, fn, payload)) < 0) {
            return rc;
        }
    }
    r->name.len = base;
    r->name.ptr[base] = '\0';
    return 0;
}

int ash__resolve_import(ash_resolver *r, uint32_t from, const ash_import *imp, ash_target_fn fn,
                        void *payload, ash_resolution *res)
{
    memset(res, 0, sizeof(*res));
    file_ctx *f;
    int rc = file_context(r, from, &f);
    if (rc < 0) {
        return rc;
    }
    rc = absolute_name(r, f, imp);
    if (rc < 0) {
        return rc;
    }
    res->name = ash__buf_cstr(&r->name);
    if (rc == 1) {
        res->beyond_top = 1;
        res->origin = ASH_ORIGIN_UNKNOWN;
        return 0;
    }
    size_t n;
    int full;
    if ((rc = resolve_chain(r, f, r->name.ptr, r->name.len, &n, &full)) < 0) {
        return rc;
    }
    modinfo *top = n ? r->chain[0] : NULL;
    const char *dist;
    if (!top || top->kind == MOD_NONE ||
        (!full && top->kind == MOD_NAMESPACE &&
         ash__envinfo_classify(r->env, r->name.ptr, strcspn(r->name.ptr, "."), &dist) !=
             ASH_ORIGIN_UNKNOWN)) {
        /* not a project module (a regular package elsewhere beats namespace portions) */
        classify(r, r->name.ptr, res);
        return 0;
    }
    ash_edge_kind kind = imp->kind == ASH_IMPORT_STRING ? ASH_EDGE_STRING : ASH_EDGE_IMPORT;
    for (size_t k = 0; k < n; k++) {
        ash_edge_kind kk = (k + 1 == n && full) ? kind : ASH_EDGE_PARENT;
        if ((rc = emit_files(r->chain[k], kk, fn, payload)) < 0) {
            return rc;
        }
    }
    res->origin = full ? ASH_ORIGIN_PROJECT : ASH_ORIGIN_UNKNOWN;
    res->partial = !full;
    if (full && r->chain[n - 1]->kind != MOD_MODULE &&
        (imp->kind == ASH_IMPORT_FROM || imp->name_count)) {
        rc = from_names(r, f, imp, kind, fn, payload);
    }
    res->name = ash__buf_cstr(&r->name);
    return rc;
}

/* ---- source roots ---- */

static int has_path(char *const *paths, size_t count, const char *p)
{
    return bsearch(&p, paths, count, sizeof(char *), ash__cmp_strp) != NULL;
}

static int has_prefix_dir(char *const *paths, size_t count, const char *dir)
{
    size_t n = strlen(dir);
    size_t lo = 0, hi = count;
    while (lo < hi) { /* first path >= dir */
        size_t mid = (lo + hi) / 2;
        if (strcmp(paths[mid], dir) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < count && strncmp(paths[i], dir, n) == 0; i++) {
        if (paths[i][n] == '/') {
            return 1;
        }
    }
    return 0;
}

/* Distribution roots: directories with a packaging marker, or their src/. */
static int dist_roots(ash_strings *out, char *const *paths, size_t count, char *const *markers,
                      size_t marker_count)
{
    char buf[4096];
    for (size_t i = 0; i < count + marker_count; i++) {
        const char *p = i < count ? paths[i] : markers[i - count];
        const char *base = strrchr(p, '/');
        if (!base || (i < count && strcmp(base + 1, "setup.py") != 0)) {
            continue; /* the project root's own marker adds nothing */
        }
        size_t len = (size_t)(base - p);
        if (len + 5 >= sizeof(buf)) {
            continue;
        }
        memcpy(buf, p, len);
        memcpy(buf + len, "/src", 5);
        int rc = has_prefix_dir(paths, count, buf) ? ash__strings_add_unique(out, buf, len + 4)
                                                   : ash__strings_add_unique(out, p, len);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

int ash__detect_roots(char ***out, size_t *count, char *const *paths, size_t path_count,
                      char *const *marker_paths, size_t marker_count)
{
    ash_strings roots = {0}, dists = {0};
    char buf[4096];
    int rc = ash__strings_add_unique(&roots, "", 0);
    if (rc == 0 && has_prefix_dir(paths, path_count, "src")) {
        rc = ash__strings_add_unique(&roots, "src", 3);
    }
    if (rc == 0) {
        rc = dist_roots(&dists, paths, path_count, marker_paths, marker_count);
    }
    for (size_t i = 0; rc == 0 && i < dists.count; i++) {
        rc = ash__strings_add_unique(&roots, dists.items[i], strlen(dists.items[i]));
    }
    for (size_t i = 0; rc == 0 && i < path_count; i++) {
        const char *p = paths[i];
        const char *base = strrchr(p, '/');
        if (!base ||
            (strcmp(base + 1, "__init__.py") != 0 && strcmp(base + 1, "__init__.pyi") != 0)) {
            continue;
        }
        size_t pkg = (size_t)(base - p), parent = 0;
        for (size_t k = pkg; k > 0; k--) {
            if (p[k - 1] == '/') {
                parent = k - 1;
                break;
            }
        }
        if (parent + 16 >= sizeof(buf)) {
            continue;
        }
        memcpy(buf, p, parent);
        strcpy(buf + parent, parent ? "/__init__.py" : "__init__.py");
        int is_pkg = has_path(paths, path_count, buf);
        strcat(buf, "i");
        if (is_pkg || has_path(paths, path_count, buf)) {
            continue; /* not a top-level package */
        }
        buf[parent] = '\0';
        int inside = !strcmp(buf, "src") ? 0 : strncmp(buf, "src/", 4) == 0;
        for (size_t k = 0; k < dists.count && !inside; k++) {
            size_t n = strlen(dists.items[k]);
            inside = strncmp(dists.items[k], buf, n) == 0 && buf[n] == '/';
        }
        if (!inside) {
            rc = ash__strings_add_unique(&roots, buf, parent);
        }
    }
    ash__strings_free(&dists);
    if (rc < 0) {
        ash__strings_free(&roots);
        return rc;
    }
    qsort(roots.items + 1, roots.count - 1, sizeof(char *), ash__cmp_strp);
    *out = roots.items;
    *count = roots.count;
    return 0;
}

typedef struct top_entry {
    UT_hash_handle hh;
    size_t root;
    int warned;
    char name[];
} top_entry;

/* The top-level module name that `path` gives under `root`, into name; 0 if none. */
static size_t top_name(const char *root, const char *path, const char **name)
{
    size_t n = strlen(root);
    if (n && (strncmp(root, path, n) != 0 || path[n] != '/')) {
        return 0;
    }
    const char *rest = path + (n ? n + 1 : 0);
    const char *slash = strchr(rest, '/');
    *name = rest;
    if (!slash) {
        const char *dot = strrchr(rest, '.');
        return dot ? (size_t)(dot - rest) : 0;
    }
    if (strcmp(slash + 1, "__init__.py") == 0 || strcmp(slash + 1, "__init__.pyi") == 0) {
        return (size_t)(slash - rest);
    }
    return 0;
}

/* Index of the root path[0..len) (`nonempty` 0: the project root ""), or -1. */
static long root_index(const ash_resolver *r, path_entry *roots, const char *path, size_t len,
                       int nonempty)
{
    path_entry *e;
    if (!nonempty) {
        len = 0;
    }
    HASH_FIND(hh, roots, len ? path : "", len, e);
    (void)r;
    return e ? (long)e->index : -1;
}

int ash__resolver_check_roots(ash_resolver *r, ash_diag_fn diag, void *payload)
{
    int rc = ASH_ENOMEM;
    top_entry *seen = NULL, *e, *tmp;
    path_entry *roots = NULL, *items = ash__calloc(r->root_count + 1, sizeof(path_entry));
    if (!items) {
        return ash__error_oom();
    }
    for (size_t k = 0; k < r->root_count; k++) {
        path_entry *have;
        HASH_FIND(hh, roots, r->roots[k], strlen(r->roots[k]), have);
        if (!have) {
            items[k].key = r->roots[k];
            items[k].index = (uint32_t)k;
            ash__uthash_oom = 0;
            HASH_ADD_KEYPTR(hh, roots, items[k].key, strlen(items[k].key), &items[k]);
            if (ash__uthash_oom) {
                goto done;
            }
        }
    }
    /* A top-level module of root R is R/x.py or R/x/__init__.py: the candidates of a path are
     * its directory and, for an __init__, the directory above, looked up among the roots. */
    for (size_t i = 0; i < r->count; i++) {
        const char *path = r->paths[i];
        size_t dir = ash__dirname_len(path, strlen(path)), up = ash__dirname_len(path, dir);
        const char *base = path + (dir ? dir + 1 : 0);
        int init = strncmp(base, "__init__.", 9) == 0;
        size_t candidates[2] = {dir, up};
        for (int c = 0; c < 1 + init; c++) {
            long k = root_index(r, roots, path, candidates[c], c == 1 || dir > 0);
            if (k < 0) {
                continue;
            }
            const char *name;
            size_t len = top_name(r->roots[k], path, &name);
            if (!len || !is_identifier(name, len) || (len == 8 && !memcmp(name, "__init__", 8))) {
                continue;
            }
            HASH_FIND(hh, seen, name, len, e);
            if (!e) {
                e = ash__calloc(1, sizeof(*e) + len + 1);
                if (!e) {
                    goto done;
                }
                memcpy(e->name, name, len);
                e->root = (size_t)k;
                ash__uthash_oom = 0;
                HASH_ADD(hh, seen, name, len, e);
                if (ash__uthash_oom) {
                    ash__free(e);
                    goto done;
                }
            } else if (e->root != (size_t)k && !e->warned) {
                e->warned = 1;
                size_t first = e->root < (size_t)k ? e->root : (size_t)k;
                size_t second = e->root < (size_t)k ? (size_t)k : e->root;
                ash__diag(diag, payload, NULL,
                          "module '%s' is in source roots '%s' and '%s'; imports resolve to "
                          "'%s' (roots are searched in order: the project root, then by path)",
                          e->name, r->roots[first][0] ? r->roots[first] : ".",
                          r->roots[second][0] ? r->roots[second] : ".",
                          r->roots[first][0] ? r->roots[first] : ".");
            }
        }
    }
    rc = 0;
done:
    HASH_ITER(hh, seen, e, tmp)
    {
        HASH_DEL(seen, e);
        ash__free(e);
    }
    HASH_CLEAR(hh, roots);
    ash__free(items);
    return rc == 0 ? 0 : ash__error_oom();
}
