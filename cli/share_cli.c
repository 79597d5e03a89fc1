/*
 * The shared cache of `run` and `plan` (see share_cli.h).
 */
#include "share_cli.h"

#include "config.h"
#include "project.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_SCOPE "default"

int cli_share_option(cli_share *sh, int opt, const char *value)
{
    switch (opt) {
    case CLI_OPT_REMOTE:
        sh->url = value;
        return 1;
    case CLI_OPT_NO_REMOTE:
        sh->off = 1;
        return 1;
    case CLI_OPT_SCOPE:
        sh->scope = value;
        return 1;
    case CLI_OPT_READ_SCOPES:
        sh->read_scopes = value;
        return 1;
    default:
        return 0;
    }
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Add `scope` (len bytes) unless it is there already; why it is refused, or NULL. */
static const char *add_scope(cli_share *sh, const char *scope, size_t len)
{
    char *copy = ash__strndup(scope, len);
    if (!copy) {
        return "out of memory";
    }
    const char *why = ash__share_scope_problem(copy);
    if (!why && ash__strings_add_unique(&sh->scopes, copy, len) < 0) {
        why = "out of memory";
    }
    ash__free(copy);
    return why;
}

/* The own scope, then the read scopes (comma-separated `list`, or the configured ones). */
static const char *collect_scopes(cli_share *sh, const ash_config *config)
{
    const char *own = sh->scope ? sh->scope : env("AFTERSHOCK_SCOPE");
    const char *why = add_scope(sh, own ? own : DEFAULT_SCOPE, strlen(own ? own : DEFAULT_SCOPE));
    const char *list = sh->read_scopes ? sh->read_scopes : env("AFTERSHOCK_READ_SCOPES");
    if (list) {
        for (const char *p = list; !why && *p;) {
            size_t n = strcspn(p, ",");
            while (n > 0 && p[n - 1] == ' ') {
                n--;
            }
            if (n > 0) {
                why = add_scope(sh, p, n);
            }
            p += strcspn(p, ",");
            p += *p == ',';
            p += strspn(p, " ");
        }
    } else {
        for (size_t i = 0; !why && i < config->read_scope_count; i++) {
            why = add_scope(sh, config->read_scopes[i], strlen(config->read_scopes[i]));
        }
    }
    return why;
}

/* Where the remote is configured, and its URL: NULL when none is. */
static const char *remote_url(const cli_share *sh, const ash_config *config)
{
    if (sh->off) {
        return NULL;
    }
    if (sh->url) {
        return *sh->url ? sh->url : NULL;
    }
    const char *e = getenv("AFTERSHOCK_REMOTE");
    if (e) {
        return *e ? e : NULL; /* set but empty: no remote, whatever the configuration says */
    }
    return config->remote && *config->remote ? config->remote : NULL;
}

/* The stall timeout: AFTERSHOCK_REMOTE_TIMEOUT, else remote-timeout (0: the client's
 * default). A variable that is no number of seconds is said once and ignored. */
static double remote_timeout(const ash_config *config, cli_diag *diag)
{
    const char *e = env("AFTERSHOCK_REMOTE_TIMEOUT");
    char *end;
    double t = e ? strtod(e, &end) : 0;
    if (e && (*end || !(t > 0 && t <= 3600))) {
        cli_diag_print(NULL, "AFTERSHOCK_REMOTE_TIMEOUT: not a number of seconds; ignored", diag);
        t = 0;
    }
    return t > 0 ? t : config->remote_timeout;
}

/* The files of the state snapshot: the parse cache and the last run's durations. */
static int state_files(ash_project *project, ash_share_file *files, char **owned)
{
    const char *dir = ash__project_cache_dir(project);
    int private_dir;
    char *rdir = ash__result_cache_dir(project, &private_dir);
    owned[0] = dir ? ash__path_join(dir, "parse-cache.bin") : NULL;
    owned[1] = rdir ? ash__last_run_path(rdir) : NULL;
    ash__free(rdir);
    if (!owned[0] || !owned[1]) {
        return 0;
    }
    files[0] = (ash_share_file){"parse-cache", owned[0]};
    files[1] = (ash_share_file){"last-run", owned[1]};
    return 2;
}

int cli_share_prepare(ash_project *project, void *payload)
{
    cli_share *sh = payload;
    const ash_config *config = ash__project_config(project);
    sh->restored_from = -1;
    const char *url = remote_url(sh, config);
    if (!url || !ash__project_cache_dir(project)) {
        return 0; /* no remote, or --no-cache */
    }
    const char *why = collect_scopes(sh, config);
    if (why) {
        ash__error(ASH_EINVAL, "%s", why);
    }
    ash_remote_options ro = {
        .url = url,
        .timeout = remote_timeout(config, sh->diag),
        .token = env("AFTERSHOCK_REMOTE_TOKEN"),
        .user = env("AFTERSHOCK_REMOTE_USER"),
        .password = getenv("AFTERSHOCK_REMOTE_PASSWORD"),
        .diag = cli_diag_print,
        .payload = sh->diag,
    };
    if (why || ash__remote_open(&sh->remote, &ro) < 0 ||
        !(sh->hits = ash__calloc(sh->scopes.count + 1, sizeof(size_t)))) {
        ash_buf msg = ASH_BUF_INIT;
        ash__buf_printf(&msg, "remote cache not used: %s", ash_error_last());
        cli_diag_print(NULL, msg.ptr ? msg.ptr : "remote cache not used", sh->diag);
        sh->config_error = ash__buf_detach(&msg);
        ash__remote_close(sh->remote);
        sh->remote = NULL;
        return 0;
    }
    sh->share =
        (ash_share){sh->remote, sh->scopes.items, sh->scopes.count, cli_diag_print, sh->diag};
    ash_share_file files[2];
    char *owned[2] = {NULL, NULL};
    size_t n = (size_t)state_files(project, files, owned);
    struct stat st;
    if (n && lstat(files[0].path, &st) < 0 && errno == ENOENT) {
        ash__share_pull_state(&sh->share, files, n, &sh->restored_from);
        if (sh->restored_from >= 0 && !sh->diag->quiet) {
            fprintf(stderr, "aftershock: state restored from the remote cache, scope %s\n",
                    sh->scopes.items[sh->restored_from]);
        }
    }
    ash__free(owned[0]);
    ash__free(owned[1]);
    return 0;
}

int cli_share_lookup(cli_share *sh, const ash_session *s, ash_rcache *cache, const size_t *idx,
                     size_t n, ash_result *results, int *hit)
{
    memset(hit, 0, n * sizeof(*hit));
    if (!sh->remote || n == 0) {
        return 0;
    }
    ash_key *keys = ash__calloc(n, sizeof(*keys));
    char **modules = ash__calloc(n, sizeof(*modules));
    ash_result *found = ash__calloc(n, sizeof(*found));
    int *scope_of = ash__calloc(n, sizeof(*scope_of));
    int rc = keys && modules && found && scope_of ? 0 : ash__error_oom();
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const ash_test_module *m = &s->suite.modules[idx[k]];
        keys[k] = m->inputs;
        modules[k] = (char *)ash_graph_node_path(s->graph, m->node);
    }
    if (rc == 0) {
        rc = ash__share_fetch(&sh->share, keys, modules, n, found, scope_of);
    }
    int warned = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        if (scope_of[k] < 0) {
            continue;
        }
        /* written through to the local cache: the next run here needs no remote */
        if (cache && ash__rcache_writable(cache) &&
            ash__rcache_put(cache, &keys[k], &found[k]) < 0 && !warned++) {
            cli_diag_print(NULL, ash_error_last(), sh->diag);
        }
        results[idx[k]] = found[k];
        memset(&found[k], 0, sizeof(found[k]));
        hit[k] = 1;
        sh->hits[scope_of[k]]++;
    }
    for (size_t k = 0; found && k < n; k++) {
        ash__result_free(&found[k]);
    }
    ash__free(keys);
    ash__free(modules);
    ash__free(found);
    ash__free(scope_of);
    return rc;
}

void cli_share_upload(cli_share *sh, const ash_session *s, const ash_result *results,
                      const size_t *idx, size_t n)
{
    if (!sh->remote || !sh->write) {
        return;
    }
    ash_key *keys = ash__calloc(n + 1, sizeof(*keys));
    ash_key *failed = ash__calloc(n + 1, sizeof(*failed));
    const ash_result **passes = ash__calloc(n + 1, sizeof(*passes));
    size_t np = 0, nf = 0;
    int rc = keys && failed && passes ? 0 : ash__error_oom();
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const ash_result *r = &results[idx[k]];
        const ash_key *key = &s->suite.modules[idx[k]].inputs;
        if (r->outcome == ASH_OUTCOME_PASSED) {
            keys[np] = *key;
            passes[np++] = r;
        } else {
            failed[nf++] = *key;
        }
    }
    if (rc == 0) {
        rc = ash__share_store(&sh->share, keys, passes, np, &sh->written);
    }
    if (rc == 0) {
        rc = ash__share_forget(&sh->share, failed, nf);
    }
    char **paths = rc == 0 ? ash__calloc(n + 1, sizeof(char *)) : NULL;
    double *seconds = paths ? ash__calloc(n + 1, sizeof(double)) : NULL;
    for (size_t k = 0; seconds && k < n; k++) {
        paths[k] = results[idx[k]].module;
        seconds[k] = results[idx[k]].duration;
    }
    if (rc == 0) {
        rc = seconds ? ash__share_store_durations(&sh->share, paths, seconds, n) : ash__error_oom();
    }
    ash__free(paths);
    ash__free(seconds);
    if (rc < 0) {
        cli_diag_print(NULL, ash_error_last(), sh->diag);
    }
    ash__free(keys);
    ash__free(failed);
    ash__free(passes);
}

int cli_share_durations(cli_share *sh, char *const *modules, size_t n, double *seconds)
{
    double *found = sh->remote ? ash__calloc(n + 1, sizeof(double)) : NULL;
    if (!sh->remote) {
        return 0;
    }
    int rc = found ? ash__share_fetch_durations(&sh->share, modules, n, found) : ash__error_oom();
    for (size_t k = 0; rc == 0 && k < n; k++) {
        seconds[k] = found[k] >= 0 ? found[k] : seconds[k];
    }
    ash__free(found);
    return rc;
}

void cli_share_push_state(cli_share *sh, ash_project *project)
{
    if (!sh->remote || !sh->write) {
        return;
    }
    ash_share_file files[2];
    char *owned[2] = {NULL, NULL};
    size_t n = (size_t)state_files(project, files, owned);
    if (n && ash__share_push_state(&sh->share, files, n) < 0) {
        cli_diag_print(NULL, ash_error_last(), sh->diag);
    }
    ash__free(owned[0]);
    ash__free(owned[1]);
}

int cli_share_summary(const cli_share *sh, const cli_share_counts *c, const char *path)
{
    ash_buf j = ASH_BUF_INIT;
    size_t remote_hits = 0;
    for (size_t i = 0; sh->hits && i < sh->scopes.count; i++) {
        remote_hits += sh->hits[i];
    }
    const char *own = sh->scopes.count ? sh->scopes.items[0] : NULL;
    int rc = ash__buf_puts(&j, "{\n  \"version\": 1,\n  \"scope\": ");
    rc |= own ? ash__buf_json(&j, own, strlen(own)) : ash__buf_puts(&j, "null");
    rc |= ash__buf_puts(&j, ",\n  \"read_scopes\": [");
    for (size_t i = 1; i < sh->scopes.count; i++) {
        rc |= ash__buf_puts(&j, i > 1 ? ", " : "");
        rc |= ash__buf_json(&j, sh->scopes.items[i], strlen(sh->scopes.items[i]));
    }
    size_t misses = c->modules - c->unaffected - sh->local_hits - remote_hits;
    const char *hit = c->run == 0 ? "full" : c->replayed == 0 ? "none" : "partial";
    rc |= ash__buf_printf(&j,
                          "],\n  \"modules\": %zu,\n  \"run\": %zu,\n  \"replayed\": %zu,\n"
                          "  \"unaffected\": %zu,\n  \"hits\": {\"local\": %zu, \"remote\": {",
                          c->modules, c->run, c->replayed, c->unaffected, sh->local_hits);
    for (size_t i = 0; sh->hits && i < sh->scopes.count; i++) {
        rc |= ash__buf_puts(&j, i ? ", " : "");
        rc |= ash__buf_json(&j, sh->scopes.items[i], strlen(sh->scopes.items[i]));
        rc |= ash__buf_printf(&j, ": %zu", sh->hits[i]);
    }
    rc |= ash__buf_printf(
        &j, "}},\n  \"misses\": %zu,\n  \"cache_hit\": \"%s\",\n  \"remote\": ", misses, hit);
    const char *error = sh->remote ? ash__remote_error(sh->remote) : sh->config_error;
    if (!sh->remote && !sh->config_error) {
        rc |= ash__buf_puts(&j, "{\"url\": null, \"status\": \"off\", \"error\": null, "
                                "\"written\": 0}");
    } else {
        rc |= ash__buf_puts(&j, "{\"url\": ");
        const char *url = sh->remote ? ash__remote_url(sh->remote) : NULL;
        rc |= url ? ash__buf_json(&j, url, strlen(url)) : ash__buf_puts(&j, "null");
        rc |= ash__buf_printf(&j, ", \"status\": \"%s\", \"error\": ", error ? "failed" : "ok");
        rc |= error ? ash__buf_json(&j, error, strlen(error)) : ash__buf_puts(&j, "null");
        rc |= ash__buf_printf(&j, ", \"written\": %zu}", sh->written);
    }
    rc |= ash__buf_puts(&j, ",\n  \"state\": {\"restored_from\": ");
    if (sh->restored_from >= 0) {
        const char *from = sh->scopes.items[sh->restored_from];
        rc |= ash__buf_json(&j, from, strlen(from));
    } else {
        rc |= ash__buf_puts(&j, "null");
    }
    rc |= ash__buf_puts(&j, "}\n}\n");
    if (rc) {
        ash__buf_free(&j);
        return ash__error_oom();
    }
    if (strcmp(path, "-") == 0) {
        fwrite(j.ptr, 1, j.len, stdout);
    } else {
        rc = ash__write_atomic(path, j.ptr, j.len);
    }
    ash__buf_free(&j);
    return rc;
}

void cli_share_free(cli_share *sh)
{
    ash__remote_close(sh->remote);
    ash__strings_free(&sh->scopes);
    ash__free(sh->hits);
    ash__free(sh->config_error);
    sh->remote = NULL;
    sh->hits = NULL;
    sh->config_error = NULL;
}
