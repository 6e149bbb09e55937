/*
 * cli/cmd_serve: `opshub serve` — parses options and runs the daemon.
 */
#include "cli/cli.h"

#include "app/app.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: opshub serve [--config FILE] [--data DIR] [--listen ADDR]\n\n"
            "Runs the opshub daemon: probes the configured checks, stores samples and serves\n"
            "the health endpoints, /metrics and the API.\n\n"
            "  -c, --config FILE   configuration file (default ./opshub.yaml; built-in defaults if absent)\n"
            "  -d, --data DIR      data directory for the embedded SQLite store (default ./data)\n"
            "  -l, --listen ADDR   listen address HOST:PORT (default OPSHUB_LISTEN, server.listen, 127.0.0.1:4000)\n"
            "  -h, --help          this help\n\n"
            "Storage: storage.url, else DATABASE_URL, else sqlite://DIR/opshub.db.\n"
            "Signals: SIGHUP reloads the configuration; SIGTERM/SIGINT stop gracefully.\n");
}

int cli_cmd_serve(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    struct app_opts opts = {0};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:d:l:h", options, NULL)) != -1) {
        switch (ch) {
        case 'c': opts.config_path = optarg; break;
        case 'd': opts.data_dir = optarg; break;
        case 'l': opts.listen = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "opshub serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return app_run(&opts);
}
