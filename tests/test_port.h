/*
 * tests/test_port: loopback ports for tests. test_port_free() is a port
 * nothing listens on right now, for a server the test is about to start
 * (another process may take it first: callers retry). test_port_closed()
 * is a port that refuses connections for as long as the test holds the
 * returned socket: it is bound without listen(), and without SO_REUSEADDR
 * nobody else can bind it meanwhile. Test code only, static inline.
 */
#ifndef TESTS_TEST_PORT_H
#define TESTS_TEST_PORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Binds a TCP socket to 127.0.0.1 on an ephemeral port; the port, or 0
 * with *fd = -1 on failure. The caller owns *fd. */
static inline int test_port_bind(int *fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0)
        return 0;
    if (bind(*fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &len) != 0) {
        close(*fd);
        *fd = -1;
        return 0;
    }
    return ntohs(a.sin_port);
}

/* A loopback TCP port nothing listens on right now (0 on failure). */
static inline int test_port_free(void)
{
    int fd;
    int port = test_port_bind(&fd);
    if (fd >= 0)
        close(fd);
    return port;
}

/* A loopback TCP port that refuses connections until close(*held). */
static inline int test_port_closed(int *held)
{
    return test_port_bind(held);
}

#endif
