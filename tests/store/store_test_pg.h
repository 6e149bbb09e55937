/*
 * tests/store/store_test_pg: helpers shared by the store tests: a throw-away
 * PostgreSQL server started and stopped through scripts/pg-test.sh (the one
 * implementation, which the integration harness uses too) in a temp
 * directory, and temp directories. Ports come from tests/test_port.h. Test
 * code only; static inline so each test executable gets its own copy.
 */
#ifndef TESTS_STORE_TEST_PG_H
#define TESTS_STORE_TEST_PG_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_port.h"

struct pg_test {
    char dir[256];
    int port;
    char url[256];
    bool running;
};

static inline int test_mkdtemp(char *out, size_t n)
{
    snprintf(out, n, "/tmp/opshub-store-XXXXXX");
    return mkdtemp(out) ? 0 : -1;
}

static inline void test_rmtree(const char *dir)
{
    char cmd[512];
    if (!dir[0] || strncmp(dir, "/tmp/opshub-", 12) != 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static inline int pg_test_script(const char *args)
{
    const char *src = getenv("OPSHUB_TEST_SRCDIR");
    char cmd[1024];
    if (!src) {
        fprintf(stderr, "OPSHUB_TEST_SRCDIR is not set\n");
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "sh '%s/scripts/pg-test.sh' %s", src, args);
    return system(cmd) == 0 ? 0 : -1;
}

static inline void pg_test_set_port(struct pg_test *pg, int port)
{
    pg->port = port;
    snprintf(pg->url, sizeof(pg->url), "postgres://opshub@127.0.0.1:%d/opshub_test", pg->port);
}

/* Prepares pg->dir, pg->port (free) and pg->url without starting anything. */
static inline int pg_test_prepare(struct pg_test *pg)
{
    memset(pg, 0, sizeof(*pg));
    pg_test_set_port(pg, test_port_free());
    if (!pg->port || test_mkdtemp(pg->dir, sizeof(pg->dir)) != 0)
        return -1;
    return 0;
}

/* Starts the server on pg->port. 0 or -1. */
static inline int pg_test_start(struct pg_test *pg)
{
    char args[512];
    snprintf(args, sizeof(args), "start '%s' %d", pg->dir, pg->port);
    if (pg_test_script(args) != 0)
        return -1;
    pg->running = true;
    return 0;
}

/* pg_test_prepare + pg_test_start, for callers that do not care about the
 * port: when the free port was taken meanwhile by another process, twice
 * more on new ports (the cluster made in pg->dir is kept). 0 or -1. */
static inline int pg_test_start_anywhere(struct pg_test *pg)
{
    if (pg_test_prepare(pg) != 0)
        return -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0)
            pg_test_set_port(pg, test_port_free());
        if (pg_test_start(pg) == 0)
            return 0;
    }
    return -1;
}

/* Stops the server (if running) and removes its directory. */
static inline void pg_test_stop(struct pg_test *pg)
{
    char args[512];
    if (pg->running) {
        snprintf(args, sizeof(args), "stop '%s'", pg->dir);
        pg_test_script(args);
        pg->running = false;
    }
    test_rmtree(pg->dir);
    pg->dir[0] = '\0';
}

#endif
