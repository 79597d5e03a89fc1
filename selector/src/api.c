/*
 * The public selection and results API (aftershock/selector.h) over the selector's internals:
 * a selection is a session; affected and why are affected.c's; results are the result cache
 * and the last-run state, as `aftershock run` keeps them.
 */
#include "affected.h"
#include "hash.h"
#include "project.h"
#include "rcache.h"
#include "session.h"
#include "state.h"

#include <stdlib.h>
#include <string.h>

int ash_environment_key(ash_key *out, const ash_project *project)
{
    ash_env_key_input in;
    ash__env_key_input_of(&in, project);
    ash_env_key key;
    int rc = ash__env_key(&key, &in, ash__project_diag(project), ash__project_payload(project));
    if (rc == 0) {
        *out = key.key;
        ash__env_key_free(&key);
    }
    return rc;
}

void ash_key_with_environment(ash_key *out, const ash_key *closure, const ash_key *environment)
{
    ash_hasher h;
    ash_key mixed = *closure;
    if (ash__hasher_init(&h) == 0) {
        ash__hasher_field(&h, "closure", closure->bytes, 16);
        ash__hasher_field(&h, "environment", environment->bytes, 16);
        ash_hash sum = ash__hasher_final(&h);
        memcpy(mixed.bytes, sum.bytes, 16);
        ash__hasher_free(&h);
    }
    *out = mixed;
}

struct ash_selection {
    ash_session session;
};

int ash_selection_open(ash_selection **out, const ash_selection_options *o)
{
    *out = NULL;
    ash_selection *s = ash__calloc(1, sizeof(*s));
    if (!s) {
        return ash__error_oom();
    }
    ash_project_options defaults = {0};
    ash_session_options so = {(char *const *)o->pytest_args, o->pytest_arg_count, o->cov};
    int rc = ash__session_open(&s->session, o->project ? o->project : &defaults, &so);
    if (rc < 0) {
        ash__free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ash_selection_free(ash_selection *s)
{
    if (s) {
        ash__session_close(&s->session);
        ash__free(s);
    }
}

const ash_project *ash_selection_project(const ash_selection *s)
{
    return s->session.project;
}

const ash_graph *ash_selection_graph(const ash_selection *s)
{
    return s->session.graph;
}

const ash_closure_keys *ash_selection_closure_keys(const ash_selection *s)
{
    return s->session.keys;
}

size_t ash_selection_count(const ash_selection *s)
{
    return s->session.suite.count;
}

const char *ash_selection_path(const ash_selection *s, size_t i)
{
    return i < s->session.suite.count
               ? ash_graph_node_path(s->session.graph, s->session.suite.modules[i].node)
               : NULL;
}

const ash_key *ash_selection_inputs(const ash_selection *s, size_t i)
{
    return i < s->session.suite.count ? &s->session.suite.modules[i].inputs : NULL;
}

int ash_selection_cacheable(const ash_selection *s, size_t i)
{
    return i < s->session.suite.count && !s->session.suite.modules[i].unresolved;
}

long ash_selection_find(const ash_selection *s, const char *path)
{
    const ash_test_module *m = ash__suite_find(&s->session.suite, path);
    return m ? (long)(m - s->session.suite.modules) : -1;
}

const char *ash_reason_name(ash_reason reason)
{
    static const char *const names[] = {"none", "changed",    "deleted", "added", "data",
                                        "all",  "unresolved", "failed",  "new"};
    return (size_t)reason < ASH_ARRAY_SIZE(names) ? names[reason] : "unknown";
}

static int strings_of(ash_strings *out, const char *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ash__strings_add(out, items[i], strlen(items[i])) < 0) {
            return ash__error_oom();
        }
    }
    ash__sort_unique_strings(out->items, &out->count);
    return 0;
}

long ash_selection_affected(const ash_selection *s, const char *const *changed,
                            size_t changed_count, const char *const *added, size_t added_count,
                            int all_changed, ash_reason *reasons, const char **via)
{
    ash_strings c = {0}, a = {0};
    ash_run_state last;
    ash_affected aff = {0};
    ash__last_run_load(&last, s->session.project, NULL, NULL);
    int rc = strings_of(&c, changed, changed_count);
    if (rc == 0) {
        rc = strings_of(&a, added, added_count);
    }
    if (rc == 0) {
        rc = ash__affected(&aff, &s->session, &c, &a, all_changed, &last);
    }
    long count = 0;
    for (size_t m = 0; rc == 0 && m < s->session.suite.count; m++) {
        /* ash_reason and ash_reason name the same reasons in the same order */
        reasons[m] = (ash_reason)aff.why[m];
        count += aff.why[m] != ASH_REASON_NONE;
        if (!via) {
            continue;
        }
        const char *v = aff.why[m] == ASH_REASON_CHANGED
                            ? ash_graph_node_path(s->session.graph, aff.via[m])
                            : aff.via_path[m];
        /* via_path points into our copies: hand out the caller's own strings */
        via[m] = NULL;
        for (size_t k = 0; v && k < changed_count && !via[m]; k++) {
            via[m] = strcmp(changed[k], v) == 0 ? changed[k] : NULL;
        }
        for (size_t k = 0; v && k < added_count && !via[m]; k++) {
            via[m] = strcmp(added[k], v) == 0 ? added[k] : NULL;
        }
        if (v && !via[m] && aff.why[m] == ASH_REASON_CHANGED) {
            via[m] = v; /* the graph's */
        }
    }
    ash__affected_free(&aff);
    ash__state_free(&last);
    ash__strings_free(&c);
    ash__strings_free(&a);
    return rc < 0 ? rc : count;
}

int ash_selection_why(const ash_selection *s, size_t i, const char *target, char **out)
{
    *out = NULL;
    if (i >= s->session.suite.count) {
        return ash__error(ASH_EINVAL, "no test module %zu", i);
    }
    long node = ash_graph_find(s->session.graph, target);
    if (node < 0) {
        return 0;
    }
    ash_buf text = ASH_BUF_INIT;
    int found = 0;
    int rc = ash__why_text(&text, &found, &s->session, i, (uint32_t)node, "");
    if (rc < 0) {
        ash__buf_free(&text);
        return rc;
    }
    *out = found ? ash__buf_detach(&text) : NULL;
    ash__buf_free(&text);
    return 0;
}

struct ash_results {
    const ash_selection *selection;
    ash_rcache *cache;
    char *state_path;
    ash_state_update *updates; /* paths borrowed from the selection */
    size_t count, cap;
};

int ash_results_open(ash_results **out, const ash_selection *s)
{
    *out = NULL;
    ash_results *r = ash__calloc(1, sizeof(*r));
    if (!r) {
        return ash__error_oom();
    }
    r->selection = s;
    int private_dir = 0;
    char *dir = ash__result_cache_dir(s->session.project, &private_dir);
    int rc = dir ? ash__rcache_open(&r->cache, dir, private_dir, NULL, NULL) : ash__error_oom();
    if (rc == 0 && !(r->state_path = ash__last_run_path(dir))) {
        rc = ash__error_oom();
    }
    ash__free(dir);
    if (rc < 0) {
        ash__rcache_close(r->cache);
        ash__free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ash_results_passed(ash_results *r, size_t i, int *passed)
{
    *passed = 0;
    const ash_suite *suite = &r->selection->session.suite;
    if (i >= suite->count || suite->modules[i].unresolved) {
        return i >= suite->count ? ash__error(ASH_EINVAL, "no test module %zu", i) : 0;
    }
    ash_result res;
    int rc = ash__rcache_get_pass(r->cache, &suite->modules[i].inputs,
                                  ash_selection_path(r->selection, i), &res, passed);
    ash__result_free(&res);
    return rc;
}

int ash_results_record(ash_results *r, size_t i, const char *data, size_t len)
{
    const ash_suite *suite = &r->selection->session.suite;
    if (i >= suite->count) {
        return ash__error(ASH_EINVAL, "no test module %zu", i);
    }
    const char *path = ash_selection_path(r->selection, i);
    ash_result res;
    int rc = ash__result_parse(&res, data, len, path);
    if (rc < 0) {
        return rc;
    }
    if (strcmp(res.module, path) != 0) {
        rc = ash__error(ASH_EINVAL, "%s: the result is of %s", path, res.module);
    }
    res.outcome = ash__result_outcome(&res);
    if (rc == 0) {
        rc = ash__rcache_record(r->cache, &suite->modules[i].inputs, &res,
                                !suite->modules[i].unresolved);
    }
    if (rc == 0 &&
        ash__grow((void **)&r->updates, &r->cap, r->count + 1, sizeof(*r->updates)) == 0) {
        r->updates[r->count++] =
            (ash_state_update){path, suite->modules[i].inputs, res.outcome, res.duration};
    } else if (rc == 0) {
        rc = ash__error_oom();
    }
    ash__result_free(&res);
    return rc;
}

int ash_results_close(ash_results *r)
{
    if (!r) {
        return 0;
    }
    int rc = 0;
    if (r->count) {
        rc = ash__state_merge_save(r->state_path, &r->selection->session.suite.env, r->updates,
                                   r->count, NULL, NULL);
    }
    ash__rcache_close(r->cache);
    ash__free(r->state_path);
    ash__free(r->updates);
    ash__free(r);
    return rc;
}
