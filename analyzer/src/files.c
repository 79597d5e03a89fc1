/*
 * File discovery. The project root is found by looking for `.git` or `pyproject.toml` on the
 * way up (plain stat calls: spawning git costs more than the whole search). Python files come
 * from `git ls-files`, which knows what is tracked and what is ignored, or, outside git or when
 * git fails, from an iterative walk that follows symlinks, enters every directory once and
 * stats only entries whose type readdir does not give. Exclusions are gitignore-style globs,
 * matched component by component with the greedy star-backtracking algorithm so that no
 * pattern can make them exponential.
 */
#include "files.h"

#include "ash_uthash.h"
#include "proc.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------- */
/* Glob matching                                                                            */

/* Match the bracket expression starting at `p` ('[') against `c`: 1 or 0, with `*end` set past
 * its ']'; -1 when there is no closing ']' (the '[' is then an ordinary character). */
static int match_class(const char *p, const char *pe, unsigned char c, const char **end)
{
    const char *q = p + 1;
    int negate = 0, matched = 0;
    if (q < pe && (*q == '!' || *q == '^')) {
        negate = 1;
        q++;
    }
    /* A ']' right after the '[' (or the '!') is a member, not the end. */
    for (int first = 1; q < pe && (*q != ']' || first); first = 0) {
        if (*q == '\\' && q + 1 < pe) {
            q++;
        }
        unsigned char lo = (unsigned char)*q++, hi = lo;
        if (q + 1 < pe && *q == '-' && q[1] != ']') {
            q++;
            if (*q == '\\' && q + 1 < pe) {
                q++;
            }
            hi = (unsigned char)*q++;
        }
        if (lo <= c && c <= hi) {
            matched = 1;
        }
    }
    if (q >= pe) {
        return -1;
    }
    *end = q + 1;
    return matched != negate;
}

/* Whether pattern token p[0..pe) at its first character matches `c`; `*next` is set past it. */
static int match_char(const char *p, const char *pe, char c, const char **next)
{
    *next = p + 1;
    if (*p == '?') {
        return 1;
    }
    if (*p == '[') {
        int m = match_class(p, pe, (unsigned char)c, next);
        if (m >= 0) {
            return m;
        }
        *next = p + 1;
    } else if (*p == '\\' && p + 1 < pe) {
        *next = p + 2;
        return p[1] == c;
    }
    return *p == c;
}

/* One component: p[0..pe) against s[0..se). On a mismatch only the last '*' is retried one
 * character further: an earlier star could not do better, so the cost stays O(|p| * |s|). */
static int match_component(const char *p, const char *pe, const char *s, const char *se)
{
    const char *star_p = NULL, *star_s = NULL;
    while (s < se) {
        if (p < pe && *p == '*') {
            while (p < pe && *p == '*') {
                p++;
            }
            star_p = p;
            star_s = s;
            continue;
        }
        const char *next;
        if (p < pe && match_char(p, pe, *s, &next)) {
            p = next;
            s++;
            continue;
        }
        if (!star_p) {
            return 0;
        }
        p = star_p;
        s = ++star_s;
    }
    while (p < pe && *p == '*') {
        p++;
    }
    return p == pe;
}

static const char *token_end(const char *p, const char *pe)
{
    const char *slash = memchr(p, '/', (size_t)(pe - p));
    return slash ? slash : pe;
}

static const char *skip_slashes(const char *p, const char *pe)
{
    while (p < pe && *p == '/') {
        p++;
    }
    return p;
}

/* A path is matched by units: its components, plus an empty "directory marker" unit when it
 * ends with '/', which no component pattern matches but which counts as something below for a
 * pattern that requires it. A unit is a pointer to its start; NULL is past the last one. */
static const char *unit_end(const char *s)
{
    const char *slash = strchr(s, '/');
    return slash ? slash : s + strlen(s);
}

static const char *next_unit(const char *s)
{
    if (!*s) {
        return NULL;
    }
    const char *e = unit_end(s);
    if (!*e) {
        return NULL;
    }
    while (*e == '/') {
        e++;
    }
    return e;
}

/* Components of p[0..pe) against the units from `s`. A `**` component is a star over units, and
 * an unanchored pattern starts with an implicit one; as in match_component only the last star
 * is ever extended. The pattern matches once it is used up, leading directories included, but
 * with `below` only if at least one unit is left. */
static int match_units(const char *p, const char *pe, int anchored, int below, const char *s)
{
    const char *star_p = anchored ? NULL : p, *star_s = s;
    for (;;) {
        if (p == pe) {
            if (!below || s) {
                return 1;
            }
        } else {
            const char *te = token_end(p, pe);
            if (te - p == 2 && p[0] == '*' && p[1] == '*') {
                p = skip_slashes(te, pe);
                star_p = p;
                star_s = s;
                continue;
            }
            if (s && *s && match_component(p, te, s, unit_end(s))) {
                p = skip_slashes(te, pe);
                s = next_unit(s);
                continue;
            }
        }
        if (!star_p || !star_s) {
            return 0;
        }
        star_s = next_unit(star_s);
        p = star_p;
        s = star_s;
    }
}

int ash__glob_match(const char *pattern, const char *path)
{
    const char *p = pattern;
    int anchored = 0, below = 0;
    while (*p == '/' || (p[0] == '.' && p[1] == '/')) {
        p += *p == '/' ? 1 : 2;
        anchored = 1;
    }
    const char *pe = p + strlen(p);
    if (pe > p && pe[-1] == '/') {
        below = 1;
        while (pe > p && pe[-1] == '/') {
            pe--;
        }
    }
    if (memchr(p, '/', (size_t)(pe - p))) {
        anchored = 1;
    }
    /* A trailing `**` component matches what is below its directory, as a trailing '/' does. */
    if (pe - p >= 2 && pe[-1] == '*' && pe[-2] == '*' && (pe - p == 2 || pe[-3] == '/')) {
        below = 1;
        pe -= 2;
        while (pe > p && pe[-1] == '/') {
            pe--;
        }
    }
    while (path[0] == '/' || (path[0] == '.' && path[1] == '/')) {
        path += path[0] == '/' ? 1 : 2;
    }
    if ((p == pe && !below) || !*path) {
        return 0;
    }
    return match_units(p, pe, anchored, below, path);
}

/* ---------------------------------------------------------------------------------------- */
/* Project root                                                                             */

/* Whether directory dir[0..len) holds `name` of an accepted type; `dir` has room for it. */
static int has_entry(char *dir, size_t len, const char *name, int dir_ok)
{
    size_t n = len;
    if (dir[n - 1] != '/') {
        dir[n++] = '/';
    }
    strcpy(dir + n, name);
    struct stat st;
    int found = stat(dir, &st) == 0 && (S_ISREG(st.st_mode) || (dir_ok && S_ISDIR(st.st_mode)));
    dir[len] = '\0';
    return found;
}

int ash__find_root(char **out, const char *start)
{
    *out = NULL;
    int rc = 0;
    char *dir = NULL;
    char *real = realpath(start ? start : ".", NULL);
    if (!real) {
        int code = errno == ENOENT || errno == ENOTDIR ? ASH_ENOTFOUND : ASH_EIO;
        return ash__error(code, "%s: %s", start ? start : ".", strerror(errno));
    }
    size_t len = strlen(real);
    dir = ash__malloc(len + sizeof("/pyproject.toml"));
    if (!dir) {
        rc = ash__error_oom();
        goto done;
    }
    memcpy(dir, real, len + 1);
    size_t pyproject_len = 0;
    /* Keep going after a pyproject.toml: a git top level above it still wins. */
    for (;;) {
        if (has_entry(dir, len, ".git", 1)) {
            break;
        }
        if (!pyproject_len && has_entry(dir, len, "pyproject.toml", 0)) {
            pyproject_len = len;
        }
        if (len == 1) {
            len = pyproject_len;
            break;
        }
        while (len > 1 && dir[len - 1] != '/') {
            len--;
        }
        len -= len > 1;
        dir[len] = '\0';
    }
    if (!len) {
        rc = ash__error(ASH_ENOTFOUND,
                        "%s: not inside a git repository or a directory with pyproject.toml",
                        start ? start : real);
        goto done;
    }
    /* `dir` was cut short on the way up; `real` still has the whole path. */
    *out = ash__strndup(real, len);
    if (!*out) {
        rc = ash__error_oom();
    }
done:
    free(real); /* from realpath: the C library's allocator */
    ash__free(dir);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* File lists                                                                               */

void ash__file_list_free(ash_file_list *list)
{
    if (!list) {
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        ash__free(list->paths[i]);
    }
    ash__free(list->paths);
    list->paths = NULL;
    list->count = list->cap = 0;
}

/* Append a copy of path[0..len). */
static int list_add(ash_file_list *list, const char *path, size_t len)
{
    void *paths = list->paths;
    if (ash__grow(&paths, &list->cap, list->count + 1, sizeof(char *)) < 0) {
        return ASH_ENOMEM;
    }
    list->paths = paths;
    char *copy = ash__strndup(path, len);
    if (!copy) {
        return ash__error_oom();
    }
    list->paths[list->count++] = copy;
    return 0;
}

static int is_excluded(const char *path, const char *const *exclude, size_t exclude_count)
{
    for (size_t i = 0; i < exclude_count; i++) {
        if (ash__glob_match(exclude[i], path)) {
            return 1;
        }
    }
    return 0;
}

/* Is a file called name[0..len) one that `what` (ASH_LIST_*) asks for? */
int ash__is_python_file(const char *name, size_t len)
{
    return (len >= 3 && memcmp(name + len - 3, ".py", 3) == 0) ||
           (len >= 4 && memcmp(name + len - 4, ".pyi", 4) == 0);
}

static int is_listed(const char *name, size_t len, unsigned what)
{
    if (what & ASH_LIST_ALL) {
        return 1;
    }
    if ((what & ASH_LIST_PYTHON) && ash__is_python_file(name, len)) {
        return 1;
    }
    if (what & ASH_LIST_MARKERS) {
        return (len == 14 && memcmp(name, "pyproject.toml", 14) == 0) ||
               (len == 9 && memcmp(name, "setup.cfg", 9) == 0);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* git mode                                                                                 */

/* Run `git ls-files` in `root`, its NUL-separated output into `*listing` (owned). Returns 0,
 * 1 when git could not run or failed (`reason` says how), or ASH_ENOMEM. */
static int run_git(char **listing, size_t *len, const char *root, unsigned what, char *reason,
                   size_t size, const ash_beside *beside)
{
    char *argv[16] = {"git",      "-C",       (char *)root,         "ls-files", "-z",
                      "--cached", "--others", "--exclude-standard", "--"};
    int n = (what & ASH_LIST_ALL) ? 8 : 9; /* no pathspec: everything */
    if (what & ASH_LIST_ALL) {
        what = 0;
    }
    if (what & ASH_LIST_PYTHON) {
        argv[n++] = "*.py";
        argv[n++] = "*.pyi";
    }
    if (what & ASH_LIST_MARKERS) {
        argv[n++] = "*pyproject.toml";
        argv[n++] = "*setup.cfg";
    }
    argv[n] = NULL;
    char err[256];
    int status;
    int rc =
        ash__run_capture_beside(listing, len, &status, argv, NULL, err, sizeof(err), 0, beside);
    if (rc == ASH_ENOMEM) {
        return rc;
    }
    if (rc < 0) {
        snprintf(reason, size, "%s", ash_error_last());
        return 1;
    }
    if (status != 0) {
        snprintf(reason, size, err[0] ? "exit %d: %s" : "exit %d", status, err);
        ash__free(*listing);
        *listing = NULL;
        return 1;
    }
    return 0;
}

/* List through git. Returns 0, 1 when git failed (warned; the caller walks), or ASH_ENOMEM. */
static int list_with_git(ash_file_list *out, const char *root, unsigned what,
                         const char *const *exclude, size_t exclude_count, ash_diag_fn diag,
                         void *payload, const ash_beside *beside)
{
    char *listing = NULL;
    size_t len = 0;
    char reason[320] = "";
    int rc = run_git(&listing, &len, root, what, reason, sizeof(reason), beside);
    if (rc == 1) {
        ash__diag(diag, payload, ".", "git ls-files failed (%s); walking the directory instead",
                  reason);
        goto done;
    }
    if (rc < 0) {
        goto done;
    }
    /* The buffer is NUL-terminated after its last entry too, so every entry is a C string. A
     * trailing '/' would be an untracked nested repository, which git does not look into. */
    const char *p = listing, *end = p + len;
    while (p < end) {
        size_t n = strlen(p);
        const char *base = memrchr(p, '/', n);
        base = base ? base + 1 : p;
        if (n && p[n - 1] != '/' && is_listed(base, (size_t)(p + n - base), what) &&
            !is_excluded(p, exclude, exclude_count)) {
            rc = list_add(out, p, n);
            if (rc < 0) {
                goto done;
            }
        }
        p += n + 1;
    }
done:
    ash__free(listing);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Walk mode                                                                                */

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

/* A directory entered, keyed by device and inode; `parent` is the directory it was found in,
 * so that a directory met again can be told apart as a loop (an ancestor) or a repeat. */
typedef struct visit {
    dir_id key;
    struct visit *parent;
    UT_hash_handle hh;
} visit;

typedef struct pending {
    char *rel;     /* owned; "" for the root */
    visit *parent; /* NULL for the root */
} pending;

#define DIR_CACHE 32

typedef struct walker {
    const char *root;
    unsigned what; /* ASH_LIST_* */
    const char *const *exclude;
    size_t exclude_count;
    ash_diag_fn diag;
    void *payload;
    ash_file_list *out;
    /* Plain directories, depth first. Directories reached through a symlink wait in `links`
     * until no plain one is left, then go in path order: a directory reachable without
     * symlinks is always listed under that path, and the choice among links is stable. */
    pending *stack;
    size_t depth, stack_cap;
    pending *links;
    size_t link_count, link_cap;
    int links_sorted;
    visit *visited;
    ash_buf abs;   /* absolute path of the directory being opened */
    ash_buf child; /* relative path of the entry being looked at */
    /* The last directories read, still open: a directory is opened relative to its parent when
     * the parent is here (usually: depth first pops the child of the directory just read), which
     * spares the kernel from resolving the whole path again, quadratic in deep trees. */
    struct {
        visit *node;
        DIR *dir;
    } cache[DIR_CACHE];
    size_t cache_next;
} walker;

static const char *const skipped_dirs[] = {
    ".git",          "build",       "dist",          "node_modules", "__pycache__",
    "site-packages", ".hg",         ".svn",          ".tox",         ".nox",
    ".venv",         ".mypy_cache", ".pytest_cache", ".ruff_cache",  ".aftershock",
};

static int is_skipped_dir(const char *name, size_t len)
{
    for (size_t i = 0; i < ASH_ARRAY_SIZE(skipped_dirs); i++) {
        if (strcmp(name, skipped_dirs[i]) == 0) {
            return 1;
        }
    }
    return len >= 9 && memcmp(name + len - 9, ".egg-info", 9) == 0;
}

/* Open a directory whatever the length of its path: one longer than PATH_MAX (deep trees) is
 * opened piece by piece, each piece relative to the directory before. Sets errno on failure. */
static int open_dir(const char *path)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    if (strlen(path) < PATH_MAX) {
        return open(path, flags);
    }
    char *copy = ash__strdup(path);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    int fd = AT_FDCWD;
    char *p = copy;
    while (fd != -1 && strlen(p) >= PATH_MAX) {
        char *cut = p + PATH_MAX - 1;
        while (cut > p && *cut != '/') {
            cut--;
        }
        int next = -1;
        if (cut == p) {
            errno = ENAMETOOLONG;
        } else {
            *cut = '\0';
            next = openat(fd, p, flags);
        }
        int saved = errno;
        if (fd != AT_FDCWD) {
            close(fd);
        }
        errno = saved;
        fd = next;
        p = cut + 1;
    }
    if (fd != -1) {
        int dir = openat(fd, p, flags);
        int saved = errno;
        if (fd != AT_FDCWD) {
            close(fd);
        }
        errno = saved;
        fd = dir;
    }
    ash__free(copy);
    return fd;
}

/* Put rel + "/" + name (+ "/" when `dir`) in w->child. */
static int set_child(walker *w, const char *rel, const char *name, int dir)
{
    ash__buf_clear(&w->child);
    if ((*rel && (ash__buf_puts(&w->child, rel) < 0 || ash__buf_putc(&w->child, '/') < 0)) ||
        ash__buf_puts(&w->child, name) < 0 || (dir && ash__buf_putc(&w->child, '/') < 0)) {
        return ASH_ENOMEM;
    }
    return 0;
}

static int push_dir(walker *w, int via_link, visit *parent)
{
    /* w->child ends with the '/' used to match directory-only globs; the copy drops it. */
    char *rel = ash__strndup(w->child.ptr, w->child.len - 1);
    void *array = via_link ? w->links : w->stack;
    size_t *count = via_link ? &w->link_count : &w->depth;
    if (!rel || ash__grow(&array, via_link ? &w->link_cap : &w->stack_cap, *count + 1,
                          sizeof(pending)) < 0) {
        ash__free(rel);
        return ash__error_oom();
    }
    if (via_link) {
        w->links = array;
        w->links_sorted = 0;
    } else {
        w->stack = array;
    }
    ((pending *)array)[(*count)++] = (pending){rel, parent};
    return 0;
}

/* Resolve the type of an entry readdir could not type, or a symlink (followed). Returns the
 * DT_ type, DT_UNKNOWN to skip the entry (after a warning if it deserves one), or ASH_ENOMEM. */
static int entry_type(walker *w, int dfd, const char *rel, const char *name, int type, int *link)
{
    struct stat st;
    if (type == DT_UNKNOWN) {
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            return DT_UNKNOWN; /* gone since readdir */
        }
        if (!S_ISLNK(st.st_mode)) {
            return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
    }
    *link = 1;
    if (fstatat(dfd, name, &st, 0) == 0) {
        return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    int err = errno;
    /* Editors' lock files (".#name") are dangling symlinks on purpose. */
    if (strncmp(name, ".#", 2) == 0) {
        return DT_UNKNOWN;
    }
    if (set_child(w, rel, name, 0) < 0) {
        return ASH_ENOMEM;
    }
    if (is_excluded(w->child.ptr, w->exclude, w->exclude_count)) {
        return DT_UNKNOWN;
    }
    if (err == ENOENT) {
        ash__diag(w->diag, w->payload, w->child.ptr, "broken symlink; skipped");
    } else if (err == ELOOP) {
        ash__diag(w->diag, w->payload, w->child.ptr, "symlink loop; skipped");
    } else {
        ash__diag(w->diag, w->payload, w->child.ptr, "cannot follow symlink: %s", strerror(err));
    }
    return DT_UNKNOWN;
}

/* Look at one entry of directory `rel` (open as `dfd`, visited as `dir`). */
static int walk_entry(walker *w, int dfd, const char *rel, visit *dir, struct dirent *ent,
                      int *venv)
{
    const char *name = ent->d_name;
    if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) {
        return 0;
    }
    size_t len = strlen(name);
    int python = is_listed(name, len, w->what), type = ent->d_type, link = 0;
    if (type == DT_REG && !python) {
        *venv |= strcmp(name, "pyvenv.cfg") == 0;
        return 0; /* the common case: no path to build, no system call */
    }
    if (type == DT_DIR && is_skipped_dir(name, len)) {
        return 0;
    }
    if (type == DT_LNK || type == DT_UNKNOWN) {
        if (!python && is_skipped_dir(name, len)) {
            return 0; /* skipped whatever it is, so not worth a stat */
        }
        type = entry_type(w, dfd, rel, name, type, &link);
        if (type < 0) {
            return type;
        }
        if (type == DT_DIR && is_skipped_dir(name, len)) {
            return 0;
        }
        if (type == DT_REG && !python) {
            *venv |= strcmp(name, "pyvenv.cfg") == 0;
            return 0;
        }
    }
    if (type != DT_DIR && type != DT_REG) {
        return 0;
    }
    if (set_child(w, rel, name, type == DT_DIR) < 0) {
        return ASH_ENOMEM;
    }
    if (is_excluded(w->child.ptr, w->exclude, w->exclude_count)) {
        return 0;
    }
    return type == DT_DIR ? push_dir(w, link, dir) : list_add(w->out, w->child.ptr, w->child.len);
}

static DIR *cache_find(const walker *w, const visit *node)
{
    for (size_t i = 1; i <= DIR_CACHE && i <= w->cache_next; i++) {
        size_t slot = (w->cache_next - i) % DIR_CACHE;
        if (w->cache[slot].node == node) {
            return w->cache[slot].dir;
        }
    }
    return NULL;
}

/* Keep `dir` open (owned by the cache now), closing the oldest one. */
static void cache_put(walker *w, visit *node, DIR *dir)
{
    size_t slot = w->cache_next++ % DIR_CACHE;
    if (w->cache[slot].dir) {
        closedir(w->cache[slot].dir);
    }
    w->cache[slot].node = node;
    w->cache[slot].dir = dir;
}

/* Open directory `item`: returns the fd, -1 (errno set), or ASH_ENOMEM. */
static int open_item(walker *w, const pending *item)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    DIR *parent = item->parent ? cache_find(w, item->parent) : NULL;
    if (parent) {
        const char *slash = strrchr(item->rel, '/');
        return openat(dirfd(parent), slash ? slash + 1 : item->rel, flags);
    }
    ash__buf_clear(&w->abs);
    if (ash__buf_puts(&w->abs, w->root) < 0 ||
        (*item->rel &&
         (ash__buf_putc(&w->abs, '/') < 0 || ash__buf_puts(&w->abs, item->rel) < 0))) {
        return ash__error_oom();
    }
    return open_dir(w->abs.ptr);
}

/* Record directory `st` as visited from `item`: 0 with the new node in `*out`, 1 when it was
 * visited before (a loop is reported), or ASH_ENOMEM. */
static int visit_dir(walker *w, const pending *item, const struct stat *st, visit **out)
{
    dir_id id;
    memset(&id, 0, sizeof(id)); /* the key is hashed as bytes, padding included */
    id.dev = st->st_dev;
    id.ino = st->st_ino;
    visit *seen;
    HASH_FIND(hh, w->visited, &id, sizeof(id), seen);
    if (seen) {
        for (visit *v = item->parent; v; v = v->parent) {
            if (v == seen) {
                ash__diag(w->diag, w->payload, item->rel, "symlink loop; skipped");
                break;
            }
        }
        return 1;
    }
    visit *node = ash__calloc(1, sizeof(*node));
    if (!node) {
        return ash__error_oom();
    }
    node->key = id;
    node->parent = item->parent;
    ash__uthash_oom = 0;
    HASH_ADD(hh, w->visited, key, sizeof(node->key), node);
    if (ash__uthash_oom) {
        ash__free(node);
        return ash__error_oom();
    }
    *out = node;
    return 0;
}

/* Open directory `item`, or say why not. Returns the fd, -1 to skip it, or an error code. */
static int enter_dir(walker *w, const pending *item, visit **out)
{
    int fd = open_item(w, item);
    if (fd == ASH_ENOMEM) {
        return fd;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        if (!*item->rel) {
            return ash__error(ASH_EIO, "%s: cannot read directory: %s", w->root, strerror(err));
        }
        ash__diag(w->diag, w->payload, item->rel, "cannot read directory: %s", strerror(err));
        return -1;
    }
    int rc = visit_dir(w, item, &st, out);
    if (rc != 0) {
        close(fd);
        return rc == 1 ? -1 : rc;
    }
    return fd;
}

/* Drop what a virtualenv's directory added: its files and the subdirectories queued. */
static void forget_since(walker *w, size_t files, size_t depth, size_t links)
{
    while (w->out->count > files) {
        ash__free(w->out->paths[--w->out->count]);
    }
    while (w->depth > depth) {
        ash__free(w->stack[--w->depth].rel);
    }
    while (w->link_count > links) {
        ash__free(w->links[--w->link_count].rel);
    }
}

static int walk_dir(walker *w, const pending *item)
{
    visit *node = NULL;
    int fd = enter_dir(w, item, &node);
    if (fd < 0) {
        return fd == -1 ? 0 : fd;
    }
    int rc = 0;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        ash__diag(w->diag, w->payload, *item->rel ? item->rel : ".", "cannot read directory: %s",
                  strerror(errno));
        close(fd);
        return 0;
    }
    size_t files = w->out->count, depth = w->depth, links = w->link_count;
    int venv = 0;
    struct dirent *ent;
    errno = 0;
    while ((ent = readdir(dir)) != NULL) {
        rc = walk_entry(w, fd, item->rel, node, ent, &venv);
        if (rc < 0) {
            goto done;
        }
        errno = 0;
    }
    if (errno) {
        ash__diag(w->diag, w->payload, *item->rel ? item->rel : ".", "cannot read directory: %s",
                  strerror(errno));
    }
    /* A virtualenv, whatever its name; the root is the project even if it is one. */
    if (venv && *item->rel) {
        forget_since(w, files, depth, links);
    }
    cache_put(w, node, dir);
    dir = NULL;
done:
    if (dir) {
        closedir(dir);
    }
    return rc;
}

static int compare_pending_desc(const void *a, const void *b)
{
    return strcmp(((const pending *)b)->rel, ((const pending *)a)->rel);
}

/* Take the next directory: plain ones first, then the symlinked one with the smallest path. */
static int next_dir(walker *w, pending *out)
{
    if (w->depth) {
        *out = w->stack[--w->depth];
        return 1;
    }
    if (!w->link_count) {
        return 0;
    }
    if (!w->links_sorted) {
        qsort(w->links, w->link_count, sizeof(pending), compare_pending_desc);
        w->links_sorted = 1;
    }
    *out = w->links[--w->link_count];
    return 1;
}

static int walk_tree(ash_file_list *out, const char *root, unsigned what,
                     const char *const *exclude, size_t exclude_count, ash_diag_fn diag,
                     void *payload)
{
    walker w = {.root = root,
                .what = what,
                .exclude = exclude,
                .exclude_count = exclude_count,
                .diag = diag,
                .payload = payload,
                .out = out};
    int rc = 0;
    pending item = {ash__strdup(""), NULL};
    if (!item.rel) {
        rc = ash__error_oom();
        goto done;
    }
    do {
        rc = walk_dir(&w, &item);
        ash__free(item.rel);
        item.rel = NULL;
    } while (rc == 0 && next_dir(&w, &item));
done:
    forget_since(&w, out->count, 0, 0);
    ash__free(w.stack);
    ash__free(w.links);
    while (w.visited) {
        visit *v = w.visited;
        HASH_DEL(w.visited, v);
        ash__free(v);
    }
    for (size_t i = 0; i < DIR_CACHE; i++) {
        if (w.cache[i].dir) {
            closedir(w.cache[i].dir);
        }
    }
    ash__buf_free(&w.abs);
    ash__buf_free(&w.child);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

int ash__list_python_files(ash_file_list *out, const char *root, const char *const *exclude,
                           size_t exclude_count, ash_diag_fn diag, void *payload)
{
    return ash__list_files(out, root, ASH_LIST_PYTHON, exclude, exclude_count, diag, payload);
}

int ash__list_files(ash_file_list *out, const char *root, unsigned what, const char *const *exclude,
                    size_t exclude_count, ash_diag_fn diag, void *payload)
{
    return ash__list_files_beside(out, root, what, exclude, exclude_count, diag, payload, NULL);
}

int ash__list_files_beside(ash_file_list *out, const char *root, unsigned what,
                           const char *const *exclude, size_t exclude_count, ash_diag_fn diag,
                           void *payload, const ash_beside *beside)
{
    memset(out, 0, sizeof(*out));
    int rc = 1;
    struct stat st;
    char *dot_git = ash__path_join(root, ".git");
    if (!dot_git) {
        rc = ash__error_oom();
        goto done;
    }
    if (stat(dot_git, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
        rc = list_with_git(out, root, what, exclude, exclude_count, diag, payload, beside);
        beside = NULL; /* called by now, whatever became of git */
    }
    if (beside && beside->fn) {
        beside->fn(beside->payload);
    }
    if (rc == 1) {
        ash__file_list_free(out);
        rc = walk_tree(out, root, what, exclude, exclude_count, diag, payload);
    }
    if (rc == 0) {
        ash__sort_unique_strings(out->paths, &out->count);
    }
done:
    if (rc < 0) {
        ash__file_list_free(out);
    }
    ash__free(dot_git);
    return rc;
}
