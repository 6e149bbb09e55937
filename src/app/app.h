/*
 * app/app: the opshub daemon. Builds the loop and every module from the
 * configuration, wires samples from the scheduler to the store and the log,
 * serves HTTP, reloads on SIGHUP and shuts down gracefully on SIGTERM/SIGINT.
 * Owns the one struct that everything hangs off (no hidden globals).
 */
#ifndef APP_APP_H
#define APP_APP_H

#include <stdbool.h>
#include <stddef.h>

struct app_opts {
    const char *config_path;   /* NULL: ./opshub.yaml if it exists, else built-in defaults */
    const char *data_dir;      /* NULL: ./data */
    const char *listen;        /* NULL: OPSHUB_LISTEN, server.listen, 127.0.0.1:4000 */
};

/* Runs until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
 * shutdown, 1 when a runtime resource could not be set up (listen failed),
 * 2 for an invalid configuration (errors printed to stderr). */
int app_run(const struct app_opts *opts);

/* Resolves the storage URL as serve does: storage.url, else DATABASE_URL,
 * else sqlite://DATA/opshub.db. Writes into buf; returns buf. */
char *app_storage_url(const char *conf_url, const char *data_dir, char *buf, size_t n);

#endif
