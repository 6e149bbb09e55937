/*
 * main: the opshub binary. Everything lives under src/; this only hands the
 * arguments to the command table.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
