/*
 * pytest's configuration (see pytest_config.h). The search follows pytest's rootdir rules:
 * from the start directory upwards, the first of pytest.ini, .pytest.ini, pyproject.toml with
 * [tool.pytest.ini_options], tox.ini with [pytest], setup.cfg with [tool:pytest]; failing
 * that, the first setup.py upwards; failing that, the first of those files even without the
 * section; failing that, the start directory. INI files are read the way iniconfig reads them:
 * `name = value` (or `name: value`), indented continuation lines, `#`/`;` comment lines.
 */
#include "pytest_config.h"

#include "files.h"
#include "toml.h"

#include <string.h>
#include <sys/stat.h>

static const char *const default_python_files[] = {"test_*.py", "*_test.py"};
static const char *const default_norecursedirs[] = {
    "*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}",
};

/* Split `s` the way shlex does for plain words: white space separates, quotes group. */
static int split_words(ash_strings *out, const char *s)
{
    ash_buf word = ASH_BUF_INIT;
    int rc = 0;
    while (*s && rc == 0) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            s++;
        }
        if (!*s) {
            break;
        }
        ash__buf_clear(&word);
        char quote = 0;
        for (; *s && (quote || !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')); s++) {
            if (!quote && (*s == '"' || *s == '\'')) {
                quote = *s;
            } else if (quote && *s == quote) {
                quote = 0;
            } else if (ash__buf_putc(&word, *s) < 0) {
                rc = ASH_ENOMEM;
                break;
            }
        }
        if (rc == 0) {
            rc = ash__strings_add(out, ash__buf_cstr(&word), word.len);
        }
    }
    ash__buf_free(&word);
    return rc;
}

static int set_list(ash_strings *list, const char *const *items, size_t n)
{
    ash__strings_free(list);
    for (size_t i = 0; i < n; i++) {
        if (ash__strings_add(list, items[i], strlen(items[i])) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

/* ---- INI files ---- */

/* One option of the pytest section; `value` is NUL-terminated, continuation lines joined. */
static int apply_option(ash_pytest_config *c, const char *name, const char *value)
{
    ash_strings *list = !strcmp(name, "testpaths")       ? &c->testpaths
                        : !strcmp(name, "python_files")  ? &c->python_files
                        : !strcmp(name, "norecursedirs") ? &c->norecursedirs
                        : !strcmp(name, "pythonpath")    ? &c->pythonpath
                                                         : NULL;
    if (list) {
        ash__strings_free(list);
        return split_words(list, value);
    }
    if (!strcmp(name, "addopts")) {
        ash__free(c->addopts);
        return (c->addopts = ash__strdup(value)) ? 0 : ash__error_oom();
    }
    return 0;
}

typedef struct ini_reader {
    const char *section;       /* the section that holds pytest's options */
    ash_pytest_config *config; /* NULL: only say whether the section exists */
    int found;
    unsigned bad_line;
} ini_reader;

/* Flush a pending option (name, value) of the wanted section. */
static int ini_flush(ini_reader *r, ash_buf *name, ash_buf *value, int in_section)
{
    int rc = 0;
    if (in_section && name->len && r->config) {
        rc = apply_option(r->config, ash__buf_cstr(name), ash__buf_cstr(value));
    }
    ash__buf_clear(name);
    ash__buf_clear(value);
    return rc;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t')) {
        (*s)++;
    }
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r')) {
        (*e)--;
    }
}

static int ini_line(ini_reader *r, const char *s, const char *e, unsigned line, int *in_section,
                    ash_buf *name, ash_buf *value)
{
    const char *t = s;
    while (t < e && (*t == ' ' || *t == '\t')) {
        t++;
    }
    if (t == e || *t == '#' || *t == ';') {
        return 0; /* blank or comment */
    }
    if (t > s) { /* a continuation of the value above */
        const char *ve = e;
        trim(&t, &ve);
        if (!name->len) {
            r->bad_line = r->bad_line ? r->bad_line : line;
            return 0;
        }
        return (value->len && ash__buf_putc(value, '\n') < 0) ||
                       ash__buf_put(value, t, (size_t)(ve - t)) < 0
                   ? ASH_ENOMEM
                   : 0;
    }
    int rc = ini_flush(r, name, value, *in_section);
    if (rc < 0) {
        return rc;
    }
    if (*s == '[') {
        const char *close = memchr(s, ']', (size_t)(e - s));
        if (!close) {
            r->bad_line = r->bad_line ? r->bad_line : line;
            return 0;
        }
        size_t n = (size_t)(close - s - 1);
        *in_section = n == strlen(r->section) && memcmp(s + 1, r->section, n) == 0;
        r->found |= *in_section;
        return 0;
    }
    const char *sep = s;
    while (sep < e && *sep != '=' && *sep != ':') {
        sep++;
    }
    if (sep == e) {
        r->bad_line = r->bad_line ? r->bad_line : line;
        return 0;
    }
    const char *ne = sep, *vs = sep + 1, *ve = e;
    trim(&s, &ne);
    trim(&vs, &ve);
    return ash__buf_put(name, s, (size_t)(ne - s)) < 0 ||
                   ash__buf_put(value, vs, (size_t)(ve - vs)) < 0
               ? ASH_ENOMEM
               : 0;
}

static int ini_read(ini_reader *r, const char *text, size_t len)
{
    ash_buf name = ASH_BUF_INIT, value = ASH_BUF_INIT;
    int in_section = 0, rc = 0;
    unsigned line = 1;
    for (const char *p = text, *end = text + len; p < end && rc == 0; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        rc = ini_line(r, p, e, line, &in_section, &name, &value);
        p = nl ? nl + 1 : end;
    }
    if (rc == 0) {
        rc = ini_flush(r, &name, &value, in_section);
    }
    ash__buf_free(&name);
    ash__buf_free(&value);
    return rc;
}

/* ---- pyproject.toml ---- */

static int toml_list(ash_strings *list, const ash_toml *v)
{
    if (!v) {
        return 0;
    }
    ash__strings_free(list);
    if (ash__toml_type(v) == ASH_TOML_STRING) {
        return split_words(list, ash__toml_string(v));
    }
    for (size_t i = 0; i < ash__toml_count(v); i++) {
        const char *s = ash__toml_string(ash__toml_at(v, i));
        if (s && ash__strings_add(list, s, strlen(s)) < 0) {
            return ASH_ENOMEM;
        }
    }
    return 0;
}

static int pyproject_options(ash_pytest_config *c, const ash_toml *t)
{
    const ash_toml *addopts = ash__toml_find(t, "addopts");
    if (addopts) {
        ash_strings words = {0};
        int rc = toml_list(&words, addopts);
        ash_buf joined = ASH_BUF_INIT;
        for (size_t i = 0; rc == 0 && i < words.count; i++) {
            rc = ash__buf_printf(&joined, "%s%s", i ? " " : "", words.items[i]);
        }
        ash__strings_free(&words);
        ash__free(c->addopts);
        c->addopts = rc == 0 ? ash__buf_detach(&joined) : NULL;
        ash__buf_free(&joined);
        if (rc < 0 || !c->addopts) {
            return ash__error_oom();
        }
    }
    if (toml_list(&c->testpaths, ash__toml_find(t, "testpaths")) < 0 ||
        toml_list(&c->python_files, ash__toml_find(t, "python_files")) < 0 ||
        toml_list(&c->norecursedirs, ash__toml_find(t, "norecursedirs")) < 0 ||
        toml_list(&c->pythonpath, ash__toml_find(t, "pythonpath")) < 0) {
        return ASH_ENOMEM;
    }
    return 0;
}

/* ---- finding the config file ---- */

static const struct {
    const char *name;
    const char *section; /* NULL: pyproject.toml */
    int always;          /* matches without its section (pytest.ini) */
} candidates[] = {
    {"pytest.ini", "pytest", 1}, {".pytest.ini", "pytest", 1},    {"pyproject.toml", NULL, 0},
    {"tox.ini", "pytest", 0},    {"setup.cfg", "tool:pytest", 0},
};

/* Read candidate k at rel into c (when c is not NULL). 1 if it configures pytest, 0 if not,
 * ASH_ENOMEM. A file that cannot be parsed is reported and does not configure pytest. */
static int try_file(ash_pytest_config *c, const char *root, const char *rel, int k,
                    ash_diag_fn diag, void *payload)
{
    char *abs = ash__path_join(root, rel), *text = NULL;
    size_t len;
    int rc = abs ? ash__read_file(&text, &len, abs, 16 << 20) : ash__error_oom();
    ash__free(abs);
    if (rc < 0) {
        return rc == ASH_ENOMEM ? rc : 0;
    }
    if (candidates[k].section) {
        ini_reader r = {.section = candidates[k].section, .config = c};
        rc = ini_read(&r, text, len);
        if (rc == 0 && r.bad_line) {
            ash__diag(diag, payload, rel, "line %u: not `name = value`; line ignored", r.bad_line);
        }
        rc = rc < 0 ? rc : (r.found || candidates[k].always);
    } else {
        ash_toml *doc = NULL;
        rc = ash__toml_parse(&doc, text, len, rel);
        if (rc == ASH_ECONFIG) {
            const char *msg = ash_error_last();
            size_t n = strlen(rel);
            ash__diag(diag, payload, rel, "%s%s; pytest's options in it are not read",
                      strncmp(msg, rel, n) == 0 && msg[n] == ':' ? "line " : "",
                      strncmp(msg, rel, n) == 0 && msg[n] == ':' ? msg + n + 1 : msg);
            rc = 0;
        } else if (rc == 0) {
            const ash_toml *t = ash__toml_get(doc, "tool.pytest.ini_options");
            rc = t ? (c ? pyproject_options(c, t) : 0) : 0;
            rc = rc < 0 ? rc : t != NULL;
        }
        ash__toml_free(doc);
    }
    ash__free(text);
    return rc;
}

static int file_exists(const char *root, const char *rel, int want_dir)
{
    char *abs = ash__path_join(root, rel);
    struct stat st;
    int ok = abs && stat(abs, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
    ash__free(abs);
    return ok;
}

/* The three steps of pytest's rootdir search. */
enum { FIND_CONFIG, FIND_SETUP_PY, FIND_ANY_FILE };

/* Does `rel` (an existing file named like candidate k, or setup.py) settle the search? 1, 0,
 * or ASH_ENOMEM. */
static int settles(ash_pytest_config *c, const char *root, const char *rel, int k, int step,
                   ash_diag_fn diag, void *payload)
{
    if (!file_exists(root, rel, 0)) {
        return 0;
    }
    return step == FIND_CONFIG ? try_file(c, root, rel, k, diag, payload) : 1;
}

/* One step: from `start` up to the project root, the first directory that settles it becomes
 * the rootdir (and its file the config file, but for setup.py). 1 when found. */
static int search(ash_pytest_config *c, const char *root, const char *start, int step,
                  ash_diag_fn diag, void *payload)
{
    size_t len = strlen(start);
    int n = step == FIND_SETUP_PY ? 1 : (int)ASH_ARRAY_SIZE(candidates);
    for (;;) {
        char *dir = ash__strndup(start, len);
        if (!dir) {
            return ash__error_oom();
        }
        for (int k = 0; k < n; k++) {
            char *rel =
                ash__path_join(dir, step == FIND_SETUP_PY ? "setup.py" : candidates[k].name);
            int rc = rel ? settles(c, root, rel, k, step, diag, payload) : ash__error_oom();
            if (rc > 0) {
                c->rootdir = dir;
                c->configfile = step == FIND_SETUP_PY ? NULL : rel;
                if (step == FIND_SETUP_PY) {
                    ash__free(rel);
                }
                return 1;
            }
            ash__free(rel);
            if (rc < 0) {
                ash__free(dir);
                return rc;
            }
        }
        ash__free(dir);
        if (len == 0) {
            return 0;
        }
        len = ash__dirname_len(start, len);
    }
}

int ash__pytest_config_load(ash_pytest_config *c, const char *root, const char *start,
                            ash_diag_fn diag, void *payload)
{
    memset(c, 0, sizeof(*c));
    int rc = set_list(&c->python_files, default_python_files, 2);
    if (rc == 0) {
        rc = set_list(&c->norecursedirs, default_norecursedirs,
                      ASH_ARRAY_SIZE(default_norecursedirs));
    }
    for (int step = FIND_CONFIG; rc == 0 && step <= FIND_ANY_FILE; step++) {
        rc = search(c, root, start, step, diag, payload);
    }
    if (rc > 0) {
        rc = 0;
    }
    if (rc == 0 && !c->rootdir && !(c->rootdir = ash__strdup(start))) {
        rc = ash__error_oom();
    }
    if (rc == 0 && !c->addopts && !(c->addopts = ash__strdup(""))) {
        rc = ash__error_oom();
    }
    if (rc < 0) {
        ash__pytest_config_free(c);
    }
    return rc;
}

void ash__pytest_config_free(ash_pytest_config *c)
{
    ash__free(c->rootdir);
    ash__free(c->configfile);
    ash__free(c->addopts);
    ash__strings_free(&c->testpaths);
    ash__strings_free(&c->python_files);
    ash__strings_free(&c->norecursedirs);
    ash__strings_free(&c->pythonpath);
    memset(c, 0, sizeof(*c));
}

/* ---- collection ---- */

/* `path` relative to `dir` ("" is the project root), or NULL when it is not below it. */
static const char *below(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    if (n == 0) {
        return path;
    }
    return strncmp(dir, path, n) == 0 && path[n] == '/' ? path + n + 1 : NULL;
}

/* Does any directory of rel (its components but the last) match a norecursedirs glob? */
static int recursion_stopped(const ash_pytest_config *c, const char *rel)
{
    char part[4096];
    for (const char *slash; (slash = strchr(rel, '/')); rel = slash + 1) {
        size_t n = (size_t)(slash - rel);
        if (n >= sizeof(part)) {
            continue;
        }
        memcpy(part, rel, n);
        part[n] = '\0';
        if (strcmp(part, "__pycache__") == 0) {
            return 1;
        }
        for (size_t k = 0; k < c->norecursedirs.count; k++) {
            if (ash__glob_match(c->norecursedirs.items[k], part)) {
                return 1;
            }
        }
    }
    return 0;
}

int ash__pytest_is_test_module(const ash_pytest_config *c, const char *path)
{
    const char *rel = below(c->rootdir, path);
    if (!rel) {
        return 0;
    }
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    int named = 0;
    for (size_t k = 0; k < c->python_files.count && !named; k++) {
        const char *pattern = c->python_files.items[k];
        named = ash__glob_match(pattern, strchr(pattern, '/') ? rel : base);
    }
    if (!named) {
        return 0;
    }
    if (c->testpaths.count == 0) {
        return !recursion_stopped(c, rel);
    }
    for (size_t k = 0; k < c->testpaths.count; k++) {
        const char *tp = c->testpaths.items[k];
        while (tp[0] == '.' && tp[1] == '/') {
            tp += 2;
        }
        if (strcmp(tp, ".") == 0 || tp[0] == '\0') {
            return !recursion_stopped(c, rel);
        }
        if (ash__glob_match(tp, rel)) {
            /* below the test path, only the directories it contains are filtered */
            size_t n = strlen(tp);
            const char *inner = strncmp(tp, rel, n) == 0 && rel[n] == '/' ? rel + n + 1 : rel;
            return !recursion_stopped(c, inner);
        }
    }
    return 0;
}

int ash__pytest_conftests(ash_strings *out, const ash_pytest_config *c, const char *path,
                          int (*exists)(const char *path, void *payload), void *payload)
{
    const char *rel = below(c->rootdir, path);
    if (!rel) {
        return 0;
    }
    ash_buf dir = ASH_BUF_INIT;
    int rc = ash__buf_puts(&dir, c->rootdir);
    for (const char *p = rel; rc == 0;) {
        size_t keep = dir.len;
        if ((dir.len && ash__buf_putc(&dir, '/') < 0) || ash__buf_puts(&dir, "conftest.py") < 0) {
            rc = ASH_ENOMEM;
            break;
        }
        if (exists(ash__buf_cstr(&dir), payload)) {
            rc = ash__strings_add(out, dir.ptr, dir.len);
        }
        dir.len = keep;
        const char *slash = strchr(p, '/');
        if (!slash || rc < 0) {
            break;
        }
        if ((dir.len && ash__buf_putc(&dir, '/') < 0) ||
            ash__buf_put(&dir, p, (size_t)(slash - p)) < 0) {
            rc = ASH_ENOMEM;
        }
        p = slash + 1;
    }
    ash__buf_free(&dir);
    return rc;
}
