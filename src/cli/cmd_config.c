/*
 * cli/cmd_config: `opshub config check` — validates a configuration file and
 * the files it includes and prints every error of every file as
 * FILE:LINE:COL: message.
 */
#include "cli/cli.h"

#include "conf/conf.h"
#include "incidents/incidents.h"
#include "notify/notify.h"
#include "rules/rules.h"
#include "probe/registry.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: opshub config check [--config FILE]\n\n"
            "Validates the configuration (and the files it includes) and prints every error\n"
            "found as FILE:LINE:COL: message.\n"
            "Exit 0 when valid, 2 when not.\n\n"
            "  -c, --config FILE   configuration file (default ./opshub.yaml)\n"
            "  -h, --help          this help\n");
}

int cli_cmd_config(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "opshub config: unknown subcommand '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    const char *path = "opshub.yaml";
    int ch;
    optind = 1;
    argc--, argv++;
    while ((ch = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "opshub config check: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    int rc = conf_load_file(probe_registry_types(), path, &c, &errs);
    if (rc == 0 && (rules_validate(c, &errs) | notify_validate(c, &errs) | incidents_validate(c, &errs)) != 0) {
        conf_destroy(c);
        c = NULL;
        rc = BASE_ERR_INVALID;
    }
    if (rc != 0) {
        base_errors_print(&errs, stderr);
        if (!errs.len)
            fprintf(stderr, "%s: %s\n", path, base_strerror(rc));
        base_errors_free(&errs);
        return 2;
    }
    size_t rules = c->n_alerts;
    for (size_t i = 0; i < c->n_rule_groups; i++)
        rules += c->rule_groups[i].n_rules;
    char more[64] = "";
    if (rules)
        snprintf(more, sizeof(more), ", %zu rules", rules);
    if (c->n_files > 1)
        printf("%s: ok (%zu checks, %zu projects%s, %zu files)\n", path, c->n_checks, c->n_projects, more,
               c->n_files);
    else
        printf("%s: ok (%zu checks, %zu projects%s)\n", path, c->n_checks, c->n_projects, more);
    conf_destroy(c);
    base_errors_free(&errs);
    return 0;
}
