/*
 * `aftershock cache stats | prune [--max-size SIZE] | clear [--json]`: the local result cache.
 */
#include "cli.h"
#include "config.h"
#include "project.h"
#include "rcache.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_MAX_SIZE = 1, OPT_JSON };

static const cli_option options[] = {
    {OPT_MAX_SIZE, "max-size", 0, CLI_REQUIRED_ARG, "SIZE",
     "prune down to SIZE (e.g. 500M; default: cache-size, else 1GiB)"},
    {OPT_JSON, "json", 0, CLI_NO_ARG, NULL, "print the figures as JSON"},
    {CLI_OPT_ROOT, "root", 0, CLI_REQUIRED_ARG, "DIR", "project root"},
    {CLI_OPT_QUIET, "quiet", 'q', CLI_NO_ARG, NULL, "do not print warnings"},
    {0},
};

const cli_command cli_cache_command = {
    .name = "cache",
    .args = "stats|prune|clear",
    .summary = "Show, prune (least recently used first) or clear the result cache.",
    .options = options,
    .run = cmd_cache,
};

static void print_stats(const char *dir, const ash_rcache_stats *st, int json, const char *verb)
{
    if (json) {
        fputs("{\"directory\": ", stdout);
        ash_write_json_string(stdout, dir);
        printf(", \"entries\": %llu, \"blobs\": %llu, \"bytes\": %llu, \"removed\": %llu}\n",
               (unsigned long long)st->entries, (unsigned long long)st->blobs,
               (unsigned long long)st->bytes, (unsigned long long)st->removed);
        return;
    }
    printf("%s: %llu results, %llu blobs, %.1f MiB", dir, (unsigned long long)st->entries,
           (unsigned long long)st->blobs, (double)st->bytes / (1024.0 * 1024.0));
    if (verb) {
        printf("; %s %llu files", verb, (unsigned long long)st->removed);
    }
    putchar('\n');
}

int cmd_cache(const cli_command *cmd, int argc, char **argv)
{
    cli_diag diag = {0};
    ash_project_options popts = {.diag = cli_diag_print, .payload = &diag, .no_cache = 1};
    const char *action = NULL, *max_size = NULL;
    int json = 0, opt;
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv);
    while ((opt = cli_next(&p)) != CLI_END) {
        switch (opt) {
        case OPT_MAX_SIZE:
            max_size = p.value;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case CLI_POSITIONAL:
            if (action) {
                return cli_usage_error(cmd, "unexpected argument '%s'", p.value);
            }
            action = p.value;
            break;
        case CLI_HELP:
            return CLI_EXIT_OK;
        case CLI_USAGE:
            return CLI_EXIT_ERROR;
        default:
            if (cli_project_option(cmd, opt, p.value, &popts, &diag) <= 0) {
                return CLI_EXIT_ERROR;
            }
        }
    }
    if (!action ||
        (strcmp(action, "stats") && strcmp(action, "prune") && strcmp(action, "clear"))) {
        return cli_usage_error(cmd, "say stats, prune or clear");
    }
    uint64_t cap = 0;
    if (max_size && !(cap = ash__parse_size(max_size))) {
        return cli_usage_error(cmd, "--max-size needs a size such as 500M, not '%s'", max_size);
    }
    ash_project *project = NULL;
    ash_rcache *cache = NULL;
    char *dir = NULL;
    int private_dir = 0, rc, status = CLI_EXIT_OK;
    ash_rcache_stats st = {0};
    if ((rc = ash_project_open(&project, NULL, &popts)) < 0 ||
        !(dir = ash__result_cache_dir(project, &private_dir)) ||
        (rc = ash__rcache_open(&cache, dir, private_dir, cli_diag_print, &diag)) < 0) {
        status = cli_fail(rc < 0 ? rc : ASH_ENOMEM);
        goto done;
    }
    if (strcmp(action, "stats") == 0) {
        rc = ash__rcache_stats(cache, &st);
    } else if (strcmp(action, "prune") == 0) {
        rc = ash__rcache_prune(cache, cap ? cap : ash__result_cache_cap(project), &st);
    } else if ((rc = ash__rcache_clear(cache)) == 0) {
        rc = ash__rcache_stats(cache, &st);
    }
    if (rc < 0) {
        status = cli_fail(rc);
        goto done;
    }
    print_stats(dir, &st, json, strcmp(action, "prune") == 0 ? "removed" : NULL);
done:
    ash__rcache_close(cache);
    ash__free(dir);
    ash_project_free(project);
    return status;
}
