/*
 * cli/cmd_version: `opshub version`.
 */
#include "cli/cli.h"

#include "base/version.h"

#include <stdio.h>
#include <string.h>

int cli_cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: opshub version\n\nPrints the version and the git commit it was built from.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "opshub version: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("opshub %s (commit %s)\n", base_version(), base_version_commit());
    return 0;
}
