/*
 * The shared cache as `run` and `plan` use it: the options and environment that configure it,
 * the state restore before the project is read, remote lookups of modules the local cache
 * misses, uploads, and the JSON summary of where the hits came from.
 */
#ifndef ASH_SHARE_CLI_H
#define ASH_SHARE_CLI_H

#include "cli.h"
#include "rcache.h"
#include "session.h"
#include "share.h"

enum {
    CLI_OPT_REMOTE = 120,
    CLI_OPT_NO_REMOTE,
    CLI_OPT_SCOPE,
    CLI_OPT_READ_SCOPES,
};

// clang-format off
#define CLI_SHARE_OPTIONS                                                                          \
    {CLI_OPT_REMOTE, "remote", 0, CLI_REQUIRED_ARG, "URL",                                         \
     "shared cache (default: $AFTERSHOCK_REMOTE, else [tool.aftershock] remote)"},                 \
    {CLI_OPT_NO_REMOTE, "no-remote", 0, CLI_NO_ARG, NULL, "do not use the shared cache"},          \
    {CLI_OPT_SCOPE, "scope", 0, CLI_REQUIRED_ARG, "NAME",                                          \
     "the scope written and read first, e.g. the branch (default: $AFTERSHOCK_SCOPE, else "        \
     "default)"},                                                                                  \
    {CLI_OPT_READ_SCOPES, "read-scopes", 0, CLI_REQUIRED_ARG, "A,B",                               \
     "scopes read after it, in order (default: $AFTERSHOCK_READ_SCOPES, else read-scopes)"}
// clang-format on

typedef struct cli_share {
    /* from the command line */
    const char *url;
    int off;
    const char *scope;
    const char *read_scopes;
    int write; /* --remote-write */
    cli_diag *diag;
    /* set up by cli_share_prepare */
    ash_remote *remote; /* NULL: no shared cache */
    ash_share share;
    ash_strings scopes; /* [0] the own scope */
    char *config_error; /* why a configured remote is not used */
    /* what happened */
    size_t local_hits;
    size_t *hits; /* per scope */
    size_t written;
    int restored_from; /* scope index, or -1 */
} cli_share;

/* Take option `opt` with `value` if it is one of CLI_SHARE_OPTIONS: 1, else 0. */
int cli_share_option(cli_share *sh, int opt, const char *value);

/* The ash_project_options.prepare hook (payload: the cli_share): set up the shared cache from
 * the options, the environment and the configuration, and restore the state snapshot when
 * the project has no parse cache yet. Never fails the open. */
int cli_share_prepare(ash_project *project, void *payload);

/*
 * Look up suite modules idx[0..n) remotely; a hit's result is stored in `cache` (if not NULL)
 * and moved into results[idx[k]], and hit[k] set. 0 or ASH_ENOMEM.
 */
int cli_share_lookup(cli_share *sh, const ash_session *s, ash_rcache *cache, const size_t *idx,
                     size_t n, ash_result *results, int *hit);

/* With --remote-write: upload the passes among results[idx[0..n)], forget the failures'
 * entries, and store every one's duration. */
void cli_share_upload(cli_share *sh, const ash_session *s, const ash_result *results,
                      const size_t *idx, size_t n);

/* Overlay seconds[0..n) (the local durations of modules[0..n), -1 unknown) with the ones the
 * shared cache has: fresher, from whichever machine ran them last. 0 or ASH_ENOMEM. */
int cli_share_durations(cli_share *sh, char *const *modules, size_t n, double *seconds);

/* With --remote-write: upload the state snapshot (the parse cache, the last run's durations)
 * as the own scope's. */
void cli_share_push_state(cli_share *sh, ash_project *project);

/* Counts for the summary. */
typedef struct cli_share_counts {
    size_t modules, run, replayed, unaffected;
} cli_share_counts;

/* Write the JSON summary to `path` ("-": stdout). 0 or an error (with a message). */
int cli_share_summary(const cli_share *sh, const cli_share_counts *c, const char *path);

void cli_share_free(cli_share *sh);

#endif
