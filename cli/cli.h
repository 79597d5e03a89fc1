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

enum { CLI_NO_ARG = 0, CLI_REQUIRED_ARG = 1 };

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
    int only_positional; /* after "--" */
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

extern const cli_command cli_imports_command;
extern const cli_command cli_graph_command;

#endif
