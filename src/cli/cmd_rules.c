/*
 * cli/cmd_rules: `opshub rules check FILE...`, promtool's `check rules`
 * for opshub: each file is read as a Prometheus rule file and every
 * expression parsed; errors as FILE:LINE:COL, then a line per file.
 * Exit 0 when every file is good, 1 when any is not (promtool's codes), 2
 * on a usage error.
 */
#include "cli/cli.h"

#include "conf/conf.h"
#include "rules/rules.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: opshub rules check FILE...\n\n"
                 "Checks Prometheus rule files (groups: name, interval, rules: alert|record, expr, for,\n"
                 "keep_firing_for, labels, annotations) as opshub will load them from rule_files:.\n"
                 "Exit 0 when all are valid, 1 when any is not.\n");
}

static int check_one(const char *path)
{
    struct base_errors errs;
    struct conf *c = NULL;
    base_errors_init(&errs, 0);
    printf("Checking %s\n", path);
    int rc = conf_load_rule_files(&path, 1, &c, &errs);
    if (rc == 0 && rules_validate(c, &errs) != 0)
        rc = BASE_ERR_INVALID;
    if (rc) {
        base_errors_print(&errs, stderr);
        if (!errs.len)
            fprintf(stderr, "%s: %s\n", path, base_strerror(rc));
        printf("  FAILED: %zu error(s)\n", errs.len ? errs.len : 1);
    } else {
        size_t n = 0;
        for (size_t i = 0; i < c->n_rule_groups; i++)
            n += c->rule_groups[i].n_rules;
        printf("  SUCCESS: %zu rules found\n", n);
    }
    conf_destroy(c);
    base_errors_free(&errs);
    return rc ? 1 : 0;
}

int cli_cmd_rules(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "opshub rules: unknown subcommand '%s' (expected check)\n", argv[1]);
        return 2;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++)
        rc |= check_one(argv[i]);
    return rc;
}
