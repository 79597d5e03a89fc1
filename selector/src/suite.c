/*
 * The test suite and its inputs keys (see suite.h). Everything here is linear in the graph:
 * inputs are closure keys already computed over the condensation, and the reverse closure is
 * one breadth-first walk over the reverse edges.
 */
#include "suite.h"

#include "files.h"
#include "graph.h"
#include "names.h"
#include "project.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* Would pytest collect `path` from the arguments/testpaths/start directory it was given? */
static int selected(const ash_pytest_config *c, const char *path, const ash_suite_options *o)
{
    ash_pytest_config anywhere = *c;
    anywhere.testpaths.count = 0; /* explicit arguments and subdirectories ignore testpaths */
    if (o->path_count) {
        for (size_t i = 0; i < o->path_count; i++) {
            if (strcmp(path, o->paths[i]) == 0) {
                return 1; /* a file named on the command line is collected whatever its name */
            }
            if (ash__path_below(o->paths[i], path) && ash__pytest_is_test_module(&anywhere, path)) {
                return 1;
            }
        }
        return 0;
    }
    const char *start = o->start ? o->start : "";
    if (strcmp(start, c->rootdir) == 0) {
        return ash__pytest_is_test_module(c, path);
    }
    return ash__path_below(start, path) && ash__pytest_is_test_module(&anywhere, path);
}

static int node_exists(const char *path, void *payload)
{
    return ash_graph_find(payload, path) >= 0;
}

static int add_input(ash_suite *s, ash_input_kind kind, long node)
{
    if (node < 0) {
        return 0;
    }
    if (ash__grow((void **)&s->inputs, &s->input_cap, s->input_count + 1, sizeof(*s->inputs)) < 0) {
        return ash__error_oom();
    }
    s->inputs[s->input_count++] = (ash_suite_input){kind, (uint32_t)node};
    return 0;
}

/* The base directory of `path` into `out`: the first directory upwards without an
 * __init__.py (where pytest's `prepend` mode imports it from). With `packages` set, the
 * __init__.py files on the way, the packages `path` is imported through, become its inputs. */
static int base_dir(ash_buf *out, const ash_graph *g, const char *path, ash_suite *packages)
{
    ash__buf_clear(out);
    int rc = ash__buf_put(out, path, ash__dirname_len(path, strlen(path)));
    while (rc == 0 && out->len > 0) {
        size_t keep = out->len;
        if ((rc = ash__buf_puts(out, "/__init__.py")) < 0) {
            break;
        }
        long node = ash_graph_find(g, out->ptr);
        out->len = keep;
        out->ptr[keep] = '\0';
        if (node < 0) {
            break;
        }
        if (packages && (rc = add_input(packages, ASH_INPUT_PACKAGE, node)) < 0) {
            break;
        }
        out->len = ash__dirname_len(out->ptr, keep);
        out->ptr[out->len] = '\0';
    }
    return rc < 0 ? rc : ash__buf_puts(out, "");
}

/* The user's pytest arguments, then addopts' words, into `words`. */
static int option_words(ash_strings *words, char *const *args, size_t nargs, const char *addopts)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nargs; i++) {
        rc = ash__strings_add(words, args[i], strlen(args[i]));
    }
    for (const char *p = addopts; rc == 0 && *p;) {
        p += strspn(p, " \t\n");
        size_t n = strcspn(p, " \t\n");
        rc = n ? ash__strings_add(words, p, n) : 0;
        p += n;
    }
    return rc;
}

/* `-p name` / `-pname` arguments (and addopts) naming a module of the project. */
static int plugin_nodes(uint32_t **out, size_t *count, const ash_suite *s, const ash_strings *words)
{
    *out = NULL;
    *count = 0;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < words->count; i++) {
        const char *w = words->items[i], *name = NULL;
        if (strcmp(w, "-p") == 0 && i + 1 < words->count) {
            name = words->items[++i];
        } else if (strncmp(w, "-p", 2) == 0 && w[2] && w[2] != '-') {
            name = w + 2;
        }
        if (!name || strncmp(name, "no:", 3) == 0) {
            continue;
        }
        for (size_t k = 0; k < ash_graph_node_count(s->graph); k++) {
            if (strcmp(ash_graph_node_module(s->graph, k), name) != 0) {
                continue;
            }
            if (ash__grow((void **)out, &cap, *count + 1, sizeof(**out)) < 0) {
                rc = ash__error_oom();
                break;
            }
            (*out)[(*count)++] = (uint32_t)k;
        }
    }
    return rc;
}

/* What `--ignore PATH` and `--ignore-glob GLOB` (either spelling, in the arguments or addopts)
 * keep pytest from collecting: paths relative to the root, and globs made absolute from the
 * start directory, matched as pytest does (fnmatch against the whole path). */
typedef struct ignores {
    ash_strings paths, globs;
} ignores;

static int collect_ignores(ignores *out, const ash_strings *words, const char *root,
                           const char *start)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < words->count; i++) {
        const char *w = words->items[i], *value = NULL;
        int glob = 0;
        for (int g = 0; g < 2 && !value; g++) {
            const char *opt = g ? "--ignore-glob" : "--ignore";
            size_t n = strlen(opt);
            if (strcmp(w, opt) == 0 && i + 1 < words->count) {
                value = words->items[++i];
            } else if (strncmp(w, opt, n) == 0 && w[n] == '=') {
                value = w + n + 1;
            }
            glob = g;
        }
        if (!value || !*value) {
            continue;
        }
        ash_buf abs = ASH_BUF_INIT;
        rc = value[0] == '/'
                 ? ash__buf_puts(&abs, value)
                 : ash__buf_printf(&abs, "%s%s%s/%s", root, *start ? "/" : "", start, value);
        if (rc == 0 && glob) {
            rc = ash__strings_add(&out->globs, abs.ptr, abs.len);
        } else if (rc == 0) {
            char *rel;
            rc = ash__real_below(&rel, root, abs.ptr);
            if (rc == 0 && rel) {
                rc = ash__strings_add(&out->paths, rel, strlen(rel));
            }
            ash__free(rel);
        }
        ash__buf_free(&abs);
    }
    return rc;
}

static int is_ignored(const ignores *ig, const char *root, const char *path)
{
    for (size_t i = 0; i < ig->paths.count; i++) {
        if (!*ig->paths.items[i] || strcmp(ig->paths.items[i], path) == 0 ||
            ash__path_below(ig->paths.items[i], path)) {
            return 1;
        }
    }
    if (ig->globs.count) {
        char full[4096];
        snprintf(full, sizeof(full), "%s/%s", root, path);
        for (size_t i = 0; i < ig->globs.count; i++) {
            if (fnmatch(ig->globs.items[i], full, 0) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Content hash of root/rel, or zeros when it cannot be read. */
static int hash_file(ash_hasher *h, const char *root, const char *rel)
{
    char *path = ash__path_join(root, rel);
    int rc = path ? ash__hasher_file(h, "path", rel, path) : ash__error_oom();
    ash__free(path);
    return rc;
}

/* The configuration files that decide what coverage.py measures and reports. */
static int coverage_config(ash_hash *out, const char *root)
{
    static const char *const files[] = {".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml"};
    ash_hasher h;
    if (ash__hasher_init(&h) < 0) {
        return ASH_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ASH_ARRAY_SIZE(files); i++) {
        rc = hash_file(&h, root, files[i]);
    }
    *out = ash__hasher_final(&h);
    ash__hasher_free(&h);
    return rc;
}

/* Match the data rules against every file of the project, once. */
static int load_data(ash_suite *s, const ash_project *project)
{
    const ash_config *config = ash__project_config(project);
    if (config->data_count == 0) {
        return 0;
    }
    ash_strings all = {0};
    int rc = ash__project_list_all(&all, project);
    if (rc < 0) {
        return rc;
    }
    s->data = ash__calloc(config->data_count, sizeof(*s->data));
    if (!s->data) {
        ash__strings_free(&all);
        return ash__error_oom();
    }
    s->data_count = config->data_count;
    for (size_t r = 0; rc == 0 && r < config->data_count; r++) {
        const ash_config_data *rule = &config->data[r];
        ash_suite_data *d = &s->data[r];
        d->pattern = rule->pattern;
        ash_hasher h;
        if (ash__hasher_init(&h) < 0) {
            rc = ASH_ENOMEM;
            break;
        }
        for (size_t i = 0; rc == 0 && i < all.count; i++) {
            for (size_t k = 0; k < rule->file_count; k++) {
                if (ash__glob_match(rule->files[k], all.items[i])) {
                    rc = ash__strings_add(&d->files, all.items[i], strlen(all.items[i]));
                    if (rc == 0) {
                        rc = hash_file(&h, ash_project_root(project), all.items[i]);
                    }
                    break;
                }
            }
        }
        d->hash = ash__hasher_final(&h);
        ash__hasher_free(&h);
    }
    ash__strings_free(&all);
    return rc;
}

static int add_module_data(ash_suite *s, ash_test_module *m, const char *path)
{
    m->data_first = (uint32_t)s->module_data_count;
    for (size_t r = 0; r < s->data_count; r++) {
        if (!ash__glob_match(s->data[r].pattern, path)) {
            continue;
        }
        if (ash__grow((void **)&s->module_data, &s->module_data_cap, s->module_data_count + 1,
                      sizeof(*s->module_data)) < 0) {
            return ash__error_oom();
        }
        s->module_data[s->module_data_count++] = (uint32_t)r;
    }
    m->data_count = (uint32_t)(s->module_data_count - m->data_first);
    return 0;
}

static void field_key(ash_hasher *h, const char *tag, const ash_suite *s, uint32_t node)
{
    const char *path = ash_graph_node_path(s->graph, node);
    ash__hasher_field(h, tag, path, strlen(path));
    ash__hasher_field(h, "closure", ash_closure_key(s->keys, node)->bytes, 16);
}

/* ---- what the sys.path directories of a test module offer ---- */

/*
 * In pytest's prepend mode, the base directory of every conftest and test module loaded is
 * put first on sys.path (and `python -m pytest` puts the working directory there too). A new
 * file in one of those directories named like an imported module shadows that module for the
 * test, though no import of the test resolves to it yet: so each such directory's entries
 * named like a top-level import (modules and packages, not their contents) are an input.
 */
typedef struct path_dirs {
    ash_name *tops; /* top-level names of every absolute import of the project */
    ash_name *memo; /* directory -> hex hash of its entries among `tops` */
} path_dirs;

static int collect_tops(path_dirs *pd, const ash_graph *g)
{
    for (size_t i = 0; i < ash_graph_node_count(g); i++) {
        const ash_imports *imports = ash_graph_node_imports(g, i);
        for (size_t k = 0; imports && k < ash_imports_count(imports); k++) {
            const ash_import *imp = ash_imports_get(imports, k);
            size_t len = strcspn(imp->module, ".");
            if (imp->level == 0 && len && ash__names_add(&pd->tops, imp->module, len, NULL) < 0) {
                return ash__error_oom();
            }
        }
    }
    return 0;
}

/* First node whose path is >= key (paths are sorted). */
static size_t lower_bound(const ash_graph *g, const char *key)
{
    size_t lo = 0, hi = ash_graph_node_count(g);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ash_graph_node_path(g, mid), key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The hash (as hex) of directory `dir`'s entries named like a top-level import. */
static int dir_entries(const char **out, path_dirs *pd, const ash_graph *g, const char *dir)
{
    ash_name *known = ash__names_find(pd->memo, dir, strlen(dir));
    if (known) {
        *out = known->value;
        return 0;
    }
    ash_hasher h;
    ash_buf prefix = ASH_BUF_INIT;
    if (ash__hasher_init(&h) < 0 || ash__buf_printf(&prefix, "%s%s", dir, *dir ? "/" : "") < 0) {
        ash__hasher_free(&h);
        ash__buf_free(&prefix);
        return ash__error_oom();
    }
    for (size_t i = lower_bound(g, ash__buf_cstr(&prefix)); i < ash_graph_node_count(g); i++) {
        const char *path = ash_graph_node_path(g, i);
        if (strncmp(path, prefix.ptr ? prefix.ptr : "", prefix.len) != 0) {
            break;
        }
        const char *rest = path + prefix.len;
        size_t len = strcspn(rest, "/");
        int package = rest[len] == '/';
        const char *dot = package ? NULL : strrchr(rest, '.');
        if (dot) {
            len = (size_t)(dot - rest);
        }
        if (ash__names_find(pd->tops, rest, len)) {
            ash__hasher_field(&h, package ? "package" : "module", rest, len);
        }
    }
    ash_hash sum = ash__hasher_final(&h);
    ash__hasher_free(&h);
    ash__buf_free(&prefix);
    char hex[33];
    ash__hash_hex(&sum, hex);
    if (ash__names_add(&pd->memo, dir, strlen(dir), hex) < 0) {
        return ash__error_oom();
    }
    *out = ash__names_find(pd->memo, dir, strlen(dir))->value;
    return 0;
}

/* Hash the sys.path directories of module m (its own and its conftests' base directories,
 * and the start directory) into h. */
static int key_path_dirs(ash_hasher *h, ash_suite *s, const ash_test_module *m, path_dirs *pd,
                         const char *start)
{
    ash_buf dir = ASH_BUF_INIT;
    const char *entries;
    int rc = dir_entries(&entries, pd, s->graph, start);
    if (rc == 0) {
        ash__hasher_field(h, "sys-path-dir", entries, strlen(entries));
    }
    for (uint32_t i = 0; rc == 0 && i <= m->input_count; i++) {
        uint32_t node = i < m->input_count ? s->inputs[m->input_first + i].node : m->node;
        if (i < m->input_count && s->inputs[m->input_first + i].kind != ASH_INPUT_CONFTEST) {
            continue;
        }
        if ((rc = base_dir(&dir, s->graph, ash_graph_node_path(s->graph, node), NULL)) == 0 &&
            (rc = dir_entries(&entries, pd, s->graph, ash__buf_cstr(&dir))) == 0) {
            ash__hasher_field(h, "sys-path-dir", entries, strlen(entries));
        }
    }
    ash__buf_free(&dir);
    return rc;
}

static int inputs_key(ash_suite *s, ash_test_module *m, int coverage, path_dirs *pd,
                      const char *start)
{
    ash_hasher h;
    if (ash__hasher_init(&h) < 0) {
        return ASH_ENOMEM;
    }
    ash__hasher_field(&h, "env", s->env.key.bytes, 16);
    ash__hasher_field(&h, "pytest-config", s->config_hash.bytes, 16);
    if (coverage) {
        ash__hasher_field(&h, "coverage-config", s->coverage_hash.bytes, 16);
    }
    field_key(&h, "module", s, m->node);
    static const char *const tags[] = {"package", "conftest", "plugin"};
    for (uint32_t i = 0; i < m->input_count; i++) {
        const ash_suite_input *in = &s->inputs[m->input_first + i];
        field_key(&h, tags[in->kind], s, in->node);
    }
    for (uint32_t i = 0; i < m->data_count; i++) {
        const ash_suite_data *d = &s->data[s->module_data[m->data_first + i]];
        ash__hasher_field(&h, "data", d->pattern, strlen(d->pattern));
        ash__hasher_field(&h, "data-hash", d->hash.bytes, 16);
    }
    int rc = key_path_dirs(&h, s, m, pd, start);
    ash_hash key = ash__hasher_final(&h);
    memcpy(m->inputs.bytes, key.bytes, 16);
    ash__hasher_free(&h);
    return rc;
}

int ash__reverse_spread(const ash_graph *g, uint32_t *label)
{
    size_t n = ash_graph_node_count(g), head = 0, tail = 0;
    uint32_t *start = NULL, *sources = NULL;
    uint32_t *queue = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    if (!queue || ash__graph_reverse(&start, &sources, g, 0) < 0) {
        ash__free(queue);
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        if (label[i] != ASH_UNLABELLED) {
            queue[tail++] = (uint32_t)i;
        }
    }
    while (head < tail) {
        uint32_t v = queue[head++];
        for (uint32_t e = start[v]; e < start[v + 1]; e++) {
            if (label[sources[e]] == ASH_UNLABELLED) {
                label[sources[e]] = label[v];
                queue[tail++] = sources[e];
            }
        }
    }
    ash__free(queue);
    ash__free(start);
    ash__free(sources);
    return 0;
}

/* Nodes whose closure holds an import found nowhere (not optional, not TYPE_CHECKING only).
 * Without the interpreter's facts nothing can be called that: none. */
static int unresolved_nodes(uint8_t **out, const ash_suite *s, const ash_envinfo *env)
{
    size_t n = ash_graph_node_count(s->graph);
    uint32_t *label = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    *out = ash__calloc(n ? n : 1, 1);
    if (!*out || !label) {
        ash__free(label);
        return ash__error_oom();
    }
    for (size_t i = 0; i < n; i++) {
        const ash_imports *imports = ash_graph_node_imports(s->graph, i);
        label[i] = ASH_UNLABELLED;
        for (size_t k = 0; ash__envinfo_available(env) && imports &&
                           k < ash_imports_count(imports) && label[i] == ASH_UNLABELLED;
             k++) {
            const ash_import *imp = ash_imports_get(imports, k);
            if (!(imp->flags & (ASH_IMPORT_OPTIONAL | ASH_IMPORT_TYPE_CHECKING)) &&
                ash_graph_import_origin(s->graph, i, k, NULL) == ASH_ORIGIN_UNKNOWN) {
                label[i] = (uint32_t)i;
            }
        }
    }
    int rc = ash__reverse_spread(s->graph, label);
    for (size_t i = 0; i < n; i++) {
        (*out)[i] = label[i] != ASH_UNLABELLED;
    }
    ash__free(label);
    return rc;
}

int ash__suite_prepare(ash_pytest_config *out, ash_project *project, const ash_suite_options *o)
{
    int rc = ash__pytest_config_load(out, ash_project_root(project), o->start ? o->start : "",
                                     o->diag, o->payload);
    if (rc == 0 && out->pythonpath.count) {
        ash_strings roots = {0};
        for (size_t i = 0; rc == 0 && i < out->pythonpath.count; i++) {
            char *joined = ash__path_join(out->rootdir, out->pythonpath.items[i]);
            rc = joined ? ash__strings_add(&roots, joined, strlen(joined)) : ash__error_oom();
            ash__free(joined);
        }
        if (rc == 0) {
            rc = ash__project_add_roots(project, roots.items, roots.count);
        }
        ash__strings_free(&roots);
    }
    return rc;
}

static int env_key(ash_suite *s, const ash_project *project, const ash_suite_options *o)
{
    ash_env_key_input in;
    ash__env_key_input_of(&in, project);
    in.pytest_args = o->pytest_args;
    in.pytest_arg_count = o->pytest_arg_count;
    return ash__env_key(&s->env, &in, o->diag, o->payload);
}

int ash__suite_build(ash_suite *s, ash_project *project, ash_pytest_config *pytest,
                     const ash_graph *g, const ash_closure_keys *keys, const ash_suite_options *o)
{
    memset(s, 0, sizeof(*s));
    s->graph = g;
    s->keys = keys;
    s->pytest = *pytest;
    memset(pytest, 0, sizeof(*pytest));
    const char *root = ash_project_root(project);
    size_t n = ash_graph_node_count(g);
    uint8_t *unresolved = NULL;
    uint32_t *plugins = NULL;
    size_t plugin_count = 0;
    ash_strings conftests = {0}, words = {0};
    ignores ignored = {{0}, {0}};
    path_dirs dirs = {NULL, NULL};
    int rc = env_key(s, project, o);
    if (rc == 0) {
        rc = collect_tops(&dirs, g);
    }
    if (rc == 0 && s->pytest.configfile) {
        ash_hasher h;
        if (ash__hasher_init(&h) < 0) {
            rc = ASH_ENOMEM;
        } else {
            rc = hash_file(&h, root, s->pytest.configfile);
            s->config_hash = ash__hasher_final(&h);
            ash__hasher_free(&h);
        }
    }
    if (rc == 0 && o->cov) {
        rc = coverage_config(&s->coverage_hash, root);
    }
    if (rc == 0) {
        rc = load_data(s, project);
    }
    if (rc == 0) {
        rc = option_words(&words, o->pytest_args, o->pytest_arg_count,
                          s->pytest.addopts ? s->pytest.addopts : "");
    }
    if (rc == 0) {
        rc = plugin_nodes(&plugins, &plugin_count, s, &words);
    }
    if (rc == 0) {
        rc = collect_ignores(&ignored, &words, root, o->start ? o->start : "");
    }
    if (rc == 0) {
        rc = unresolved_nodes(&unresolved, s, ash__project_envinfo(project));
    }
    if (rc == 0 && !(s->modules = ash__calloc(n ? n : 1, sizeof(*s->modules)))) {
        rc = ash__error_oom();
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *path = ash_graph_node_path(g, i);
        size_t len = strlen(path);
        if (len < 3 || strcmp(path + len - 3, ".py") != 0 || !selected(&s->pytest, path, o) ||
            is_ignored(&ignored, root, path)) {
            continue;
        }
        ash_test_module *m = &s->modules[s->count];
        m->node = (uint32_t)i;
        m->unresolved = unresolved[i];
        m->input_first = (uint32_t)s->input_count;
        ash_buf base = ASH_BUF_INIT;
        rc = base_dir(&base, g, path, s);
        ash__buf_free(&base);
        for (size_t k = 0; k < conftests.count; k++) {
            ash__free(conftests.items[k]);
        }
        conftests.count = 0;
        if (rc == 0) {
            rc = ash__pytest_conftests(&conftests, &s->pytest, path, node_exists, (void *)g);
        }
        for (size_t k = 0; rc == 0 && k < conftests.count; k++) {
            long node = ash_graph_find(g, conftests.items[k]);
            rc = add_input(s, ASH_INPUT_CONFTEST, node);
            if (rc == 0 && node >= 0) {
                m->unresolved |= unresolved[node];
            }
        }
        for (size_t k = 0; rc == 0 && k < plugin_count; k++) {
            rc = add_input(s, ASH_INPUT_PLUGIN, plugins[k]);
            m->unresolved |= unresolved[plugins[k]];
        }
        m->input_count = (uint32_t)(s->input_count - m->input_first);
        if (rc == 0) {
            rc = add_module_data(s, m, path);
        }
        if (rc == 0) {
            rc = inputs_key(s, m, o->cov != NULL, &dirs, o->start ? o->start : "");
        }
        s->count += rc == 0;
    }
    ash__strings_free(&conftests);
    ash__names_free(&dirs.tops);
    ash__names_free(&dirs.memo);
    ash__free(plugins);
    ash__free(unresolved);
    ash__strings_free(&words);
    ash__strings_free(&ignored.paths);
    ash__strings_free(&ignored.globs);
    if (rc < 0) {
        ash__suite_free(s);
    }
    return rc;
}

const ash_test_module *ash__suite_find(const ash_suite *s, const char *path)
{
    size_t lo = 0, hi = s->count; /* modules are in node order, which is path order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, ash_graph_node_path(s->graph, s->modules[mid].node));
        if (c == 0) {
            return &s->modules[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

void ash__suite_free(ash_suite *s)
{
    if (!s) {
        return;
    }
    ash__pytest_config_free(&s->pytest);
    ash__env_key_free(&s->env);
    ash__free(s->modules);
    ash__free(s->inputs);
    for (size_t i = 0; i < s->data_count; i++) {
        ash__strings_free(&s->data[i].files);
    }
    ash__free(s->data);
    ash__free(s->module_data);
    memset(s, 0, sizeof(*s));
}
