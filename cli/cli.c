/*
 * The option parser, help output, warnings and exit statuses shared by every command.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_parser_init(cli_parser *p, const cli_command *cmd, int argc, char **argv)
{
    memset(p, 0, sizeof(*p));
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->index = 1;
}

static const cli_option *find_long(const cli_command *cmd, const char *name, size_t len)
{
    for (const cli_option *o = cmd->options; o->id; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
            return o;
        }
    }
    return NULL;
}

static const cli_option *find_short(const cli_command *cmd, char c)
{
    for (const cli_option *o = cmd->options; o->id; o++) {
        if (o->short_name && o->short_name == c) {
            return o;
        }
    }
    return NULL;
}

int cli_next(cli_parser *p)
{
    if (p->index >= p->argc) {
        return CLI_END;
    }
    char *a = p->argv[p->index++];
    if (p->only_positional || a[0] != '-' || a[1] == '\0') {
        p->value = a;
        return CLI_POSITIONAL;
    }
    if (strcmp(a, "--") == 0) {
        p->only_positional = 1;
        return cli_next(p);
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        cli_print_help(p->cmd, stdout);
        return CLI_HELP;
    }
    const cli_option *o;
    const char *inline_value = NULL;
    if (a[1] == '-') {
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        o = find_long(p->cmd, a + 2, len);
        inline_value = eq ? eq + 1 : NULL;
    } else {
        o = find_short(p->cmd, a[1]);
        inline_value = a[2] ? a + 2 : NULL;
    }
    if (!o) {
        cli_usage_error(p->cmd, "unknown option '%s'", a);
        return CLI_USAGE;
    }
    if (o->arg == CLI_OPTIONAL_ARG) {
        p->value = inline_value; /* only as --name=VALUE */
        return o->id;
    }
    if (o->arg == CLI_NO_ARG) {
        if (inline_value) {
            cli_usage_error(p->cmd, "option '--%s' takes no value", o->name);
            return CLI_USAGE;
        }
        p->value = NULL;
        return o->id;
    }
    if (!inline_value) {
        if (p->index >= p->argc) {
            cli_usage_error(p->cmd, "option '--%s' needs a value (%s)", o->name, o->arg_name);
            return CLI_USAGE;
        }
        inline_value = p->argv[p->index++];
    }
    p->value = inline_value;
    return o->id;
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: aftershock %s [options]%s%s\n\n%s\n\noptions:\n", cmd->name,
            cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->summary);
    for (const cli_option *o = cmd->options; o->id; o++) {
        char left[96];
        snprintf(left, sizeof(left), "%s--%s%s%s%s", o->short_name ? "-x, " : "    ", o->name,
                 o->arg == CLI_OPTIONAL_ARG ? "[="
                 : o->arg                   ? " "
                                            : "",
                 o->arg ? o->arg_name : "", o->arg == CLI_OPTIONAL_ARG ? "]" : "");
        if (o->short_name) {
            left[1] = o->short_name;
        }
        /* a long left column gets the help on the next line, as argparse does */
        if (strlen(left) > 30) {
            fprintf(out, "  %s\n  %-30s %s\n", left, "", o->help);
        } else {
            fprintf(out, "  %-30s %s\n", left, o->help);
        }
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help and exit");
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "aftershock %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'aftershock %s --help')\n", cmd->name);
    va_end(ap);
    return CLI_EXIT_ERROR;
}

int cli_fail(int rc)
{
    (void)rc;
    fprintf(stderr, "aftershock: %s\n", ash_error_last());
    return CLI_EXIT_ERROR;
}

int cli_parse_jobs(const cli_command *cmd, const char *s, int *jobs)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 1024) {
        return cli_usage_error(cmd, "-j needs a number of jobs from 1 to 1024, not '%s'", s);
    }
    *jobs = (int)v;
    return 0;
}

void cli_diag_print(const char *path, const char *message, void *payload)
{
    cli_diag *d = payload;
    d->count++;
    if (d->quiet) {
        return;
    }
    if (path) {
        fprintf(stderr, "aftershock: %s: %s\n", path, message);
    } else {
        fprintf(stderr, "aftershock: %s\n", message);
    }
}

double cli_elapsed(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int cli_project_option(const cli_command *cmd, int opt, const char *value,
                       ash_project_options *options, cli_diag *diag)
{
    switch (opt) {
    case CLI_OPT_ROOT:
        options->root = value;
        return 1;
    case CLI_OPT_JOBS:
        return cli_parse_jobs(cmd, value, &options->jobs) == 0 ? 1 : -1;
    case CLI_OPT_NO_CACHE:
        options->no_cache = 1;
        return 1;
    case CLI_OPT_PYTHON:
        options->python = value;
        return 1;
    case CLI_OPT_QUIET:
        diag->quiet = 1;
        return 1;
    default:
        return 0;
    }
}
