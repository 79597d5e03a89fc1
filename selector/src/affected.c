/*
 * Affected test modules (see affected.h). A changed file that is still in the graph marks its
 * node; a deleted one marks the files whose imports named it (by every module name it could
 * have had); one reverse-closure walk then marks every file that reaches a marked one.
 */
#include "affected.h"

#include "files.h"
#include "graph.h"
#include "project.h"

#include <stdlib.h>
#include <string.h>

/* Does import `imp` of the file at `from` name the file at `gone` (a .py/.pyi path)? */
static int names_file(const ash_import *imp, const char *from, const char *gone)
{
    size_t glen = strlen(gone);
    size_t stem = glen - (gone[glen - 1] == 'i' ? 4 : 3); /* without .py / .pyi */
    ash_buf target = ASH_BUF_INIT;
    int hit = 0;
    /* the module the import names, as a path prefix: relative ones from the importing file */
    if (imp->level > 0) {
        size_t dir = ash__dirname_len(from, strlen(from));
        for (uint32_t l = 1; l < imp->level && dir > 0; l++) {
            dir = ash__dirname_len(from, dir);
        }
        ash__buf_put(&target, from, dir);
    }
    for (const char *m = imp->module; *m; m++) {
        if (m == imp->module && target.len) {
            ash__buf_putc(&target, '/');
        }
        ash__buf_putc(&target, *m == '.' ? '/' : *m);
    }
    size_t base = target.len;
    for (uint32_t k = 0; k <= imp->name_count && !hit; k++) {
        target.len = base;
        if (k < imp->name_count) {
            if (target.len) {
                ash__buf_putc(&target, '/');
            }
            ash__buf_puts(&target, imp->names[k]);
        }
        const char *t = ash__buf_cstr(&target);
        size_t tl = target.len;
        /* absolute names match any suffix of the path at a component boundary (any root or
         * base directory could have held it); relative ones the exact path */
        for (size_t at = 0; at <= stem && !hit; at++) {
            if (at && gone[at - 1] != '/') {
                continue;
            }
            if (imp->level > 0 && at > 0) {
                break;
            }
            const char *g = gone + at;
            size_t gl = stem - at;
            hit = (gl == tl && memcmp(g, t, tl) == 0) ||
                  (gl == tl + 9 && memcmp(g, t, tl) == 0 && memcmp(g + tl, "/__init__", 9) == 0) ||
                  (tl > gl && memcmp(t, g, gl) == 0 && t[gl] == '/'); /* a module inside */
        }
    }
    ash__buf_free(&target);
    return hit;
}

#define UNMARKED ASH_UNLABELLED
#define DELETED (UINT32_MAX - 1)
#define ADDED (UINT32_MAX - 2)

/* Does node i import node t? */
static int imports_node(const ash_graph *g, size_t i, long t)
{
    size_t n;
    const ash_edge *edges = ash_graph_edges(g, i, &n);
    for (size_t e = 0; t >= 0 && e < n; e++) {
        if (edges[e].target == (uint32_t)t) {
            return 1;
        }
    }
    return 0;
}

/* Mark (with `label`) the files whose imports name the file at `path`, but do not import it
 * (those are reached through the graph, with a chain to show). */
static void mark_importers(uint32_t *via, const ash_graph *g, const char *path, uint32_t label)
{
    long node = ash_graph_find(g, path);
    for (size_t i = 0; i < ash_graph_node_count(g); i++) {
        const ash_imports *imports = ash_graph_node_imports(g, i);
        if (imports_node(g, i, node)) {
            continue;
        }
        for (size_t k = 0; imports && k < ash_imports_count(imports) && via[i] == UNMARKED; k++) {
            if (names_file(ash_imports_get(imports, k), ash_graph_node_path(g, i), path)) {
                via[i] = label;
            }
        }
    }
}

static int is_python_path(const char *p)
{
    return ash__is_python_file(p, strlen(p));
}

/* Everything is affected when what every module depends on changed. */
static char *all_reason(const ash_session *s, const ash_strings *changed, int all_changed,
                        const ash_run_state *last)
{
    ash_buf why = ASH_BUF_INIT;
    const ash_suite *suite = &s->suite;
    const ash_config *config = ash__project_config(s->project);
    if (all_changed) {
        ash__buf_puts(&why, "git could not list the changes");
    }
    for (size_t i = 0; !why.len && i < changed->count; i++) {
        const char *p = changed->items[i];
        if (suite->pytest.configfile && strcmp(p, suite->pytest.configfile) == 0) {
            ash__buf_printf(&why, "the pytest configuration %s changed", p);
        } else if (strcmp(p, "pyproject.toml") == 0) {
            ash__buf_puts(&why, "pyproject.toml changed");
        }
        for (size_t k = 0; !why.len && k < config->lockfile_count; k++) {
            if (ash__glob_match(config->lockfiles[k], p)) {
                ash__buf_printf(&why, "the lockfile %s changed", p);
            }
        }
    }
    if (!why.len && last && last->field_count &&
        memcmp(&last->env, &suite->env.key, sizeof(ash_key)) != 0) {
        const char *field = NULL;
        for (size_t i = 0; i < suite->env.count && !field; i++) {
            const ash_env_field *f = &suite->env.fields[i];
            int same = 0, seen = 0;
            for (size_t k = 0; k < last->field_count; k++) {
                if (strcmp(last->fields[k].name, f->name) == 0) {
                    seen = 1;
                    same = memcmp(&last->fields[k].hash, &f->hash, sizeof(ash_key)) == 0;
                }
            }
            field = !seen || !same ? f->name : NULL;
        }
        ash__buf_printf(&why, "the environment changed since the last run (%s)",
                        field ? field : "a setting was removed");
    }
    return why.len ? ash__buf_detach(&why) : NULL;
}

/* The first changed path matching one of the module's data rules. */
static const char *data_change(const ash_suite *suite, const ash_test_module *m,
                               const ash_config *config, const ash_strings *changed)
{
    for (uint32_t d = 0; d < m->data_count; d++) {
        const ash_config_data *rule = &config->data[suite->module_data[m->data_first + d]];
        for (size_t i = 0; i < changed->count; i++) {
            for (size_t k = 0; k < rule->file_count; k++) {
                if (ash__glob_match(rule->files[k], changed->items[i])) {
                    return changed->items[i];
                }
            }
        }
    }
    return NULL;
}

int ash__affected(ash_affected *out, const ash_session *s, const ash_strings *changed,
                  const ash_strings *added, int all_changed, const ash_run_state *last)
{
    memset(out, 0, sizeof(*out));
    const ash_suite *suite = &s->suite;
    const ash_graph *g = s->graph;
    size_t n = ash_graph_node_count(g);
    uint32_t *via = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    out->why = ash__calloc(suite->count + 1, sizeof(*out->why));
    out->via = ash__calloc(suite->count + 1, sizeof(*out->via));
    out->via_path = ash__calloc(suite->count + 1, sizeof(*out->via_path));
    if (!via || !out->why || !out->via || !out->via_path) {
        ash__free(via);
        ash__affected_free(out);
        return ash__error_oom();
    }
    out->all_reason = all_reason(s, changed, all_changed, last);
    memset(via, 0xff, n * sizeof(uint32_t));
    const char *deleted = NULL, *new_file = NULL;
    for (size_t i = 0; i < changed->count; i++) {
        long node = ash_graph_find(g, changed->items[i]);
        if (node < 0 && is_python_path(changed->items[i])) {
            mark_importers(via, g, changed->items[i], DELETED);
            deleted = deleted ? deleted : changed->items[i];
        }
    }
    for (size_t i = 0; added && i < added->count; i++) {
        if (ash_graph_find(g, added->items[i]) >= 0 && is_python_path(added->items[i])) {
            mark_importers(via, g, added->items[i], ADDED);
            new_file = new_file ? new_file : added->items[i];
        }
    }
    for (size_t i = 0; i < changed->count; i++) {
        long node = ash_graph_find(g, changed->items[i]);
        if (node >= 0) {
            via[node] = (uint32_t)node; /* a real import chain explains it better */
        }
    }
    int rc = ash__reverse_spread(g, via);
    for (size_t m = 0; rc == 0 && m < suite->count; m++) {
        const ash_test_module *tm = &suite->modules[m];
        const char *path = ash_graph_node_path(g, tm->node);
        uint32_t reached = via[tm->node];
        for (uint32_t k = 0; k < tm->input_count && reached == UNMARKED; k++) {
            reached = via[suite->inputs[tm->input_first + k].node];
        }
        const char *gone = reached == DELETED ? deleted : NULL;
        /* a conftest.py or __init__.py deleted above the module changes how it is collected */
        for (size_t i = 0; i < changed->count && reached == UNMARKED; i++) {
            const char *c = changed->items[i];
            size_t len = strlen(c), dir = ash__dirname_len(c, len);
            const char *base = c + dir + (dir > 0);
            if (ash_graph_find(g, c) < 0 &&
                (strcmp(base, "conftest.py") == 0 || strcmp(base, "__init__.py") == 0) &&
                (dir == 0 || (strncmp(path, c, dir) == 0 && path[dir] == '/'))) {
                reached = DELETED;
                gone = c;
            }
        }
        const char *data = reached != UNMARKED
                               ? NULL
                               : data_change(suite, tm, ash__project_config(s->project), changed);
        const ash_state_module *seen = last ? ash__state_find(last, path) : NULL;
        ash_reason why = ASH_REASON_NONE;
        if (out->all_reason) {
            why = ASH_REASON_ALL;
        } else if (reached == DELETED) {
            why = ASH_REASON_DELETED;
            out->via_path[m] = gone;
        } else if (reached == ADDED) {
            why = ASH_REASON_ADDED;
            out->via_path[m] = new_file;
        } else if (reached != UNMARKED) {
            why = ASH_REASON_CHANGED;
            out->via[m] = reached;
        } else if (data) {
            why = ASH_REASON_DATA;
            out->via_path[m] = data;
        } else if (tm->unresolved) {
            why = ASH_REASON_UNRESOLVED;
        } else if (seen && seen->outcome != ASH_OUTCOME_PASSED) {
            why = ASH_REASON_FAILED;
        } else if (last && last->count && !seen) {
            why = ASH_REASON_NEW;
        }
        out->why[m] = why;
        out->count += why != ASH_REASON_NONE;
    }
    ash__free(via);
    if (rc < 0) {
        ash__affected_free(out);
    }
    return rc;
}

void ash__affected_free(ash_affected *a)
{
    ash__free(a->why);
    ash__free(a->via);
    ash__free(a->via_path);
    ash__free(a->all_reason);
    memset(a, 0, sizeof(*a));
}

int ash__why_chain(ash_hop **out, size_t *count, const ash_session *s, size_t module,
                   uint32_t target)
{
    const ash_graph *g = s->graph;
    const ash_test_module *tm = &s->suite.modules[module];
    size_t n = ash_graph_node_count(g);
    uint32_t *prev = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    uint32_t *line = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    int32_t *input = ash__malloc((n ? n : 1) * sizeof(int32_t));
    uint32_t *queue = ash__malloc((n ? n : 1) * sizeof(uint32_t));
    *out = NULL;
    *count = 0;
    if (!prev || !line || !input || !queue) {
        ash__free(prev);
        ash__free(line);
        ash__free(input);
        ash__free(queue);
        return ash__error_oom();
    }
    memset(prev, 0xff, n * sizeof(uint32_t));
    size_t head = 0, tail = 0;
    /* breadth first from the module and its other inputs (each a chain of its own) */
    prev[tm->node] = tm->node;
    input[tm->node] = -1;
    queue[tail++] = tm->node;
    for (uint32_t k = 0; k < tm->input_count; k++) {
        const ash_suite_input *in = &s->suite.inputs[tm->input_first + k];
        if (prev[in->node] == UINT32_MAX) {
            prev[in->node] = tm->node;
            line[in->node] = 0;
            input[in->node] = (int32_t)in->kind;
            queue[tail++] = in->node;
        }
    }
    while (head < tail && prev[target] == UINT32_MAX) {
        uint32_t v = queue[head++];
        size_t ne;
        const ash_edge *edges = ash_graph_edges(g, v, &ne);
        for (size_t e = 0; e < ne; e++) {
            uint32_t t = edges[e].target;
            if (prev[t] == UINT32_MAX) {
                prev[t] = v;
                line[t] = edges[e].line;
                input[t] = -1;
                queue[tail++] = t;
            }
        }
    }
    int rc = 0;
    if (prev[target] != UINT32_MAX) {
        size_t len = 1;
        for (uint32_t v = target; v != tm->node; v = prev[v]) {
            len++;
        }
        ash_hop *chain = ash__calloc(len, sizeof(*chain));
        if (!chain) {
            rc = ash__error_oom();
        } else {
            /* hop i: node, and the line where it imports hop i + 1 */
            size_t i = len;
            uint32_t v = target;
            chain[--i] = (ash_hop){v, 0, input[v]};
            while (v != tm->node) {
                uint32_t p = prev[v];
                chain[--i] = (ash_hop){p, line[v], p == tm->node ? -1 : input[p]};
                if (input[v] >= 0) {
                    chain[i + 1].input = input[v];
                }
                v = p;
            }
            *out = chain;
            *count = len;
        }
    }
    ash__free(prev);
    ash__free(line);
    ash__free(input);
    ash__free(queue);
    return rc;
}

int ash__why_text(ash_buf *out, int *found, const ash_session *s, size_t module, uint32_t target,
                  const char *indent)
{
    static const char *const kinds[] = {"its package", "its conftest", "a -p plugin"};
    ash_hop *chain = NULL;
    size_t n = 0;
    int rc = ash__why_chain(&chain, &n, s, module, target);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const char *path = ash_graph_node_path(s->graph, chain[k].node);
        rc = chain[k].line ? ash__buf_printf(out, "%s%s:%u", indent, path, chain[k].line)
                           : ash__buf_printf(out, "%s%s", indent, path);
        if (rc == 0 && chain[k].input >= 0) {
            rc = ash__buf_printf(out, "  (%s)", kinds[chain[k].input]);
        }
        if (rc == 0) {
            rc = ash__buf_putc(out, '\n');
        }
    }
    ash__free(chain);
    *found = n > 0;
    return rc;
}
