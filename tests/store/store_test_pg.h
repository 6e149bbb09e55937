/*
 * tests/store/store_test_pg: helpers shared by the store tests: a free
 * loopback port, a throw-away PostgreSQL server started and stopped through
 * scripts/pg-test.sh in a temp directory, and temp directories. Test code
 * only; static inline so each test executable gets its own copy.
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

struct pg_test {
    char dir[256];
    int port;
    char url[256];
    bool running;
};

/* A loopback TCP port nothing listens on right now (0 on failure). */
static inline int pg_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

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

/* Prepares pg->dir, pg->port (free) and pg->url without starting anything. */
static inline int pg_test_prepare(struct pg_test *pg)
{
    memset(pg, 0, sizeof(*pg));
    pg->port = pg_test_free_port();
    if (!pg->port || test_mkdtemp(pg->dir, sizeof(pg->dir)) != 0)
        return -1;
    snprintf(pg->url, sizeof(pg->url), "postgres://opshub@127.0.0.1:%d/opshub_test", pg->port);
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
