/*
 * cli/cli: the command table (git's git.c maps names to builtin/cmd_*.c).
 * Each command parses its own options and returns the process exit code.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
    const char *summary;
};

int cli_cmd_serve(int argc, char **argv);
int cli_cmd_check(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_version(int argc, char **argv);

/* Dispatches `opshub ARGS...`; returns the exit code. */
int cli_main(int argc, char **argv);

#endif
