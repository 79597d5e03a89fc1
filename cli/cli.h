/*
 * The command-line interface: the shared option parser driven by each command's declarative
 * option table (the table also writes --help), warning output, and the one place that maps
 * error codes to exit statuses.
 */
#ifndef ASH_CLI_H
#define ASH_CLI_H

#include "aftershock/analyzer.h"

#include <stdio.h>
#include <time.h>

/* Exit statuses of the analyzer commands (ruff's convention). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_WARNINGS = 1, /* --strict and warnings were printed */
    CLI_EXIT_ERROR = 2,    /* usage error, or nothing could be done */
};

enum { CLI_NO_ARG = 0, CLI_REQUIRED_ARG = 1, CLI_OPTIONAL_ARG = 2 /* --name[=VALUE] */ };

typedef struct cli_option {
    int id;               /* returned by cli_next; > 0 */
    const char *name;     /* long name without "--" */
    char short_name;      /* 0 if none */
    int arg;              /* CLI_NO_ARG / CLI_REQUIRED_ARG */
    const char *arg_name; /* shown in --help */
    const char *help;
} cli_option;

typedef struct cli_command {
    const char *name;
    const char *args; /* positional arguments, for the usage line */
    const char *summary;
    const cli_option *options; /* terminated by an entry with id 0 */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
} cli_command;

/* Iteration over argv by a command's table. */
typedef struct cli_parser {
    const cli_command *cmd;
    int argc;
    char **argv;
    int index;
    int only_positional; /* after "--": the remaining arguments are positional */
    const char *value;   /* the option's argument, or the positional argument */
} cli_parser;

enum { CLI_END = 0, CLI_POSITIONAL = -1, CLI_HELP = -2, CLI_USAGE = -3 };

void cli_parser_init(cli_parser *p, const cli_command *cmd, int argc, char **argv);
/* Next option id, CLI_POSITIONAL (value set), CLI_END, CLI_HELP (help printed) or CLI_USAGE
 * (message printed). */
int cli_next(cli_parser *p);
void cli_print_help(const cli_command *cmd, FILE *out);
/* Print "aftershock <cmd>: <message>" and return CLI_EXIT_ERROR. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...);
/* Print "aftershock: <message>" for a failed call (ash_error_last()) and return the exit
 * status for `rc`. */
int cli_fail(int rc);
/* Parse a positive job count. */
int cli_parse_jobs(const cli_command *cmd, const char *s, int *jobs);

/* Options shared by every command that opens a project; their ids are above any command's
 * own. Put CLI_PROJECT_OPTIONS in a command's table and pass unknown ids to
 * cli_project_option. */
enum { CLI_OPT_ROOT = 100, CLI_OPT_JOBS, CLI_OPT_NO_CACHE, CLI_OPT_PYTHON, CLI_OPT_QUIET };

// clang-format off
#define CLI_PROJECT_OPTIONS                                                                        \
    {CLI_OPT_ROOT, "root", 0, CLI_REQUIRED_ARG, "DIR",                                             \
     "project root (default: the git top level, else the nearest pyproject.toml)"},                \
    {CLI_OPT_JOBS, "jobs", 'j', CLI_REQUIRED_ARG, "N", "parallel jobs (default: all cores)"},      \
    {CLI_OPT_NO_CACHE, "no-cache", 0, CLI_NO_ARG, NULL,                                            \
     "neither read nor write aftershock's caches"},                                                \
    {CLI_OPT_PYTHON, "python", 0, CLI_REQUIRED_ARG, "PATH",                                        \
     "the project's interpreter (classifies imports; runs pytest)"},                               \
    {CLI_OPT_QUIET, "quiet", 'q', CLI_NO_ARG, NULL, "do not print warnings"}
// clang-format on

struct cli_diag;
/* Apply shared option `opt` (value: the parser's). 1 if it was one, 0 if not, -1 after a usage
 * error was printed. */
int cli_project_option(const cli_command *cmd, int opt, const char *value,
                       ash_project_options *options, struct cli_diag *diag);

/* Warnings: printed as "aftershock: <path>: <message>" on stderr, counted. */
typedef struct cli_diag {
    unsigned long count;
    int quiet;
} cli_diag;
void cli_diag_print(const char *path, const char *message, void *payload);

/* Seconds since `start` (CLOCK_MONOTONIC). */
double cli_elapsed(const struct timespec *start);

int cmd_imports(const cli_command *cmd, int argc, char **argv);
int cmd_graph(const cli_command *cmd, int argc, char **argv);
int cmd_hash(const cli_command *cmd, int argc, char **argv);
int cmd_run(const cli_command *cmd, int argc, char **argv);
int cmd_plan(const cli_command *cmd, int argc, char **argv);
int cmd_affected(const cli_command *cmd, int argc, char **argv);
int cmd_why(const cli_command *cmd, int argc, char **argv);
int cmd_cache(const cli_command *cmd, int argc, char **argv);

extern const cli_command cli_imports_command;
extern const cli_command cli_graph_command;
extern const cli_command cli_hash_command;
extern const cli_command cli_run_command;
extern const cli_command cli_plan_command;
extern const cli_command cli_affected_command;
extern const cli_command cli_why_command;
extern const cli_command cli_cache_command;

#endif
