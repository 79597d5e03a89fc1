/*
 * aftershock's entry point: dispatches to one command per verb.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* The test selection first (the main job), then the graph underneath it. */
static const cli_command *const commands[] = {
    &cli_run_command,   &cli_plan_command,  &cli_affected_command, &cli_why_command,
    &cli_cache_command, &cli_graph_command, &cli_imports_command,  &cli_hash_command,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aftershock <command> [options]\n\n"
            "Import graphs of Python projects, and the tests their changes select.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    }
    fprintf(out, "\n'aftershock <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_ERROR;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0) {
        printf("aftershock %s\n", ASH_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(verb, commands[i]->name) == 0) {
            return commands[i]->run(commands[i], argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "aftershock: unknown command '%s'\n", verb);
    usage(stderr);
    return CLI_EXIT_ERROR;
}
