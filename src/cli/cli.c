/*
 * cli/cli: top-level usage and dispatch to the cmd_*.c entry points.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"serve", cli_cmd_serve, "run the daemon"},
    {"check", cli_cmd_check, "run checks once and print a table (exit 0 up, 1 degraded, 2 down)"},
    {"config", cli_cmd_config, "validate the configuration (config check)"},
    {"version", cli_cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: opshub COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'opshub COMMAND --help' for the options of a command.\n");
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "opshub: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
