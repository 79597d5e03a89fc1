/*
 * `aftershock plan [--shards N] [--json] [--cache-status cold|warm] [-- PYTEST_ARGS]`: which
 * test modules a run would have to run ("cold": no cached pass, locally or in the shared
 * cache) and which it would replay ("warm"), and the cold ones split into N shards balanced
 * by their last durations, for CI systems that fan a run out over machines. `run --shard K/N
 * --plan FILE` runs one shard of the JSON this prints.
 */
#include "cli.h"
#include "plan_file.h"
#include "rcache.h"
#include "session.h"
#include "shard.h"
#include "share_cli.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_SHARDS = 1, OPT_JSON, OPT_CACHE_STATUS };

static const cli_option options[] = {
    {OPT_SHARDS, "shards", 0, CLI_REQUIRED_ARG, "N", "split the cold modules into N shards"},
    {OPT_JSON, "json", 0, CLI_NO_ARG, NULL, "print the plan as JSON (what run --plan reads)"},
    {OPT_CACHE_STATUS, "cache-status", 0, CLI_REQUIRED_ARG, "cold|warm",
     "only list the cold (must run) or warm (replayed) modules, one per line"},
    CLI_SHARE_OPTIONS,
    CLI_PROJECT_OPTIONS,
    {0},
};

const cli_command cli_plan_command = {
    .name = "plan",
    .args = "[-- PYTEST_ARGS]",
    .summary = "List the modules a run must run and split them into balanced shards.",
    .options = options,
    .run = cmd_plan,
};

typedef struct plan_args {
    ash_project_options project;
    ash_strings pytest_args;
    unsigned shards;
    int json;
    const char *status; /* "cold", "warm" or NULL */
    cli_share share;
} plan_args;

static int parse(const cli_command *cmd, int argc, char **argv, plan_args *a, cli_diag *diag)
{
    cli_parser p;
    int opt;
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_SHARDS: {
            char *end;
            unsigned long n = strtoul(p.value, &end, 10);
            if (*p.value < '0' || *p.value > '9' || *end || n < 1 || n > ASH_SHARD_MAX) {
                return cli_usage_error(cmd, "--shards needs a number from 1 to %d, not '%s'",
                                       ASH_SHARD_MAX, p.value);
            }
            a->shards = (unsigned)n;
            break;
        }
        case OPT_JSON:
            a->json = 1;
            break;
        case OPT_CACHE_STATUS:
            if (strcmp(p.value, "cold") != 0 && strcmp(p.value, "warm") != 0) {
                return cli_usage_error(cmd, "--cache-status takes cold or warm, not '%s'", p.value);
            }
            a->status = p.value;
            break;
        case CLI_POSITIONAL:
            if (ash__strings_add(&a->pytest_args, p.value, strlen(p.value)) < 0) {
                return cli_fail(ASH_ENOMEM);
            }
            break;
        case CLI_HELP:
            return -1;
        case CLI_USAGE:
            return CLI_EXIT_ERROR;
        default:
            if (cli_share_option(&a->share, opt, p.value)) {
                break;
            }
            if (cli_project_option(cmd, opt, p.value, &a->project, diag) <= 0) {
                return CLI_EXIT_ERROR;
            }
        }
    }
    return 0;
}

/* warm[i] = 1 for each suite module with a cached pass (local, then shared). */
static int find_warm(ash_session *s, cli_share *sh, uint8_t *warm)
{
    int private_dir;
    char *dir = ash__result_cache_dir(s->project, &private_dir);
    ash_rcache *cache = NULL;
    if (dir && ash__rcache_open(&cache, dir, private_dir, cli_diag_print, sh->diag) < 0) {
        cli_diag_print(NULL, ash_error_last(), sh->diag);
        cache = NULL;
    }
    ash__free(dir);
    size_t total = s->suite.count, n = 0;
    size_t *misses = ash__calloc(total + 1, sizeof(size_t));
    ash_result *results = ash__calloc(total + 1, sizeof(ash_result));
    int *hit = ash__calloc(total + 1, sizeof(int));
    int rc = misses && results && hit ? 0 : ash__error_oom();
    for (size_t i = 0; rc == 0 && i < total; i++) {
        if (!ash__session_cacheable(s, i)) {
            continue; /* never replayed */
        }
        const ash_test_module *m = &s->suite.modules[i];
        const char *path = ash_graph_node_path(s->graph, m->node);
        int passed = 0;
        if (cache) {
            rc = ash__rcache_get_pass(cache, &m->inputs, path, &results[i], &passed);
            ash__result_free(&results[i]);
        }
        warm[i] = (uint8_t)passed;
        sh->local_hits += (size_t)passed;
        if (!passed) {
            misses[n++] = i;
        }
    }
    if (rc == 0) {
        rc = cli_share_lookup(sh, s, cache, misses, n, results, hit);
    }
    for (size_t k = 0; rc == 0 && k < n; k++) {
        warm[misses[k]] = (uint8_t)hit[k];
    }
    for (size_t i = 0; results && i < total; i++) {
        ash__result_free(&results[i]);
    }
    ash__free(results);
    ash__free(misses);
    ash__free(hit);
    ash__rcache_close(cache);
    return rc;
}

/* Split the cold modules into p->shards shards by their last durations: the shared cache's,
 * else the last run's here. */
static int make_plan(plan *p, const ash_session *s, const uint8_t *warm, cli_share *sh)
{
    ash_run_state last;
    ash__last_run_load(&last, s->project, NULL, NULL);
    size_t total = s->suite.count;
    double *seconds = ash__calloc(total + 1, sizeof(double));
    unsigned *shard_of = ash__calloc(total + 1, sizeof(unsigned));
    double *totals = ash__calloc(p->shards, sizeof(double));
    p->shard = ash__calloc(p->shards, sizeof(plan_shard));
    int rc = seconds && shard_of && totals && p->shard ? 0 : ash__error_oom();
    for (size_t i = 0; rc == 0 && i < total; i++) {
        const char *path = ash_graph_node_path(s->graph, s->suite.modules[i].node);
        ash_strings *list = warm[i] ? &p->warm : &p->cold;
        rc = ash__strings_add(list, path, strlen(path));
        if (rc == 0 && !warm[i]) {
            const ash_state_module *m = ash__state_find(&last, path);
            seconds[p->cold.count - 1] = m ? m->duration : -1;
        }
    }
    if (rc == 0) {
        rc = cli_share_durations(sh, p->cold.items, p->cold.count, seconds);
    }
    if (rc == 0) {
        rc = ash__shard_balance(seconds, p->cold.count, p->shards, shard_of, totals);
    }
    for (size_t k = 0; rc == 0 && k < p->cold.count; k++) {
        const char *path = p->cold.items[k];
        rc = ash__strings_add(&p->shard[shard_of[k]].modules, path, strlen(path));
    }
    for (unsigned k = 0; rc == 0 && k < p->shards; k++) {
        p->shard[k].seconds = totals[k];
    }
    p->modules = total;
    ash__free(seconds);
    ash__free(shard_of);
    ash__free(totals);
    ash__state_free(&last);
    return rc;
}

static void print_text(const plan *p)
{
    printf("%zu test module%s: %zu cold (to run), %zu warm (replayed)\n", p->modules,
           p->modules == 1 ? "" : "s", p->cold.count, p->warm.count);
    for (unsigned k = 0; k < p->shards; k++) {
        const plan_shard *sh = &p->shard[k];
        printf("shard %u/%u: %zu module%s, %.1fs expected\n", k + 1, p->shards, sh->modules.count,
               sh->modules.count == 1 ? "" : "s", sh->seconds);
        for (size_t i = 0; i < sh->modules.count; i++) {
            printf("  %s\n", sh->modules.items[i]);
        }
    }
}

int cmd_plan(const cli_command *cmd, int argc, char **argv)
{
    cli_diag diag = {0};
    plan_args a = {.shards = 1};
    a.project.diag = cli_diag_print;
    a.project.payload = &diag;
    a.project.prepare = cli_share_prepare;
    a.project.prepare_payload = &a.share;
    a.share.diag = &diag;
    int rc = parse(cmd, argc, argv, &a, &diag), status = CLI_EXIT_OK;
    if (rc != 0) {
        ash__strings_free(&a.pytest_args);
        return rc < 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }
    ash_session s;
    ash_session_options so = {a.pytest_args.items, a.pytest_args.count, NULL};
    plan p = {.shards = a.shards};
    uint8_t *warm = NULL;
    if ((rc = ash__session_open(&s, &a.project, &so)) < 0) {
        status = cli_fail(rc);
        goto free_args;
    }
    warm = ash__calloc(s.suite.count + 1, 1);
    rc = warm ? find_warm(&s, &a.share, warm) : ash__error_oom();
    if (rc == 0) {
        rc = make_plan(&p, &s, warm, &a.share);
    }
    if (rc < 0) {
        status = cli_fail(rc);
    } else if (a.status) {
        const ash_strings *list = strcmp(a.status, "cold") == 0 ? &p.cold : &p.warm;
        for (size_t i = 0; i < list->count; i++) {
            printf("%s\n", list->items[i]);
        }
    } else if (a.json) {
        if (plan_file_write(stdout, &p) < 0) {
            status = cli_fail(ASH_EIO);
        }
    } else {
        print_text(&p);
    }
    plan_free(&p);
    ash__free(warm);
    ash__session_close(&s);
free_args:
    cli_share_free(&a.share);
    ash__strings_free(&a.pytest_args);
    return status;
}
