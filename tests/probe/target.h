/*
 * tests/probe/target: in-process target servers for the probe tests, on
 * 127.0.0.1 with an ephemeral port. One accept thread plus one thread per
 * connection using blocking sockets, so a slow or hanging answer never
 * blocks the test's libuv loop. Every wait also polls a stop pipe, so
 * target_stop() always returns promptly and joins every thread.
 * HTTP paths: /metrics (TARGET_METRICS) /ok /s500 /slow[/MS] /degraded /invalid /close /huge /hang
 * /redirect /echo /text /health (TARGET_HEALTH_JSON with X-Cache, Age and
 * two X-Multi headers) /auth (echoes the Authorization header). Banner
 * modes: PONG, WRONG, SILENT, FLOOD.
 */
#ifndef TESTS_PROBE_TARGET_H
#define TESTS_PROBE_TARGET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_port.h"

enum target_mode { TARGET_HTTP, TARGET_PONG, TARGET_WRONG, TARGET_SILENT, TARGET_FLOOD };

#define TARGET_CONNS_MAX 64
#define TARGET_HUGE_SIZE (50L * 1024 * 1024)
#define TARGET_OK_JSON "{\"status\":\"ok\",\"data\":{\"items\":[1,2]}}"
#define TARGET_HEALTH_JSON                                                                            \
    "{\"status\":\"ok\",\"version\":\"2.4.1\",\"checks\":{\"database\":{\"status\":\"up\",\"responseTime\":812},"  \
    "\"cache\":{\"status\":\"up\",\"responseTime\":12.5}},\"items\":[{\"ready\":true},{\"ready\":false}],"         \
    "\"nothing\":null,\"db.primary\":{\"up\":true},\"back\\\\slash\":1,\"count\":\"12\",\"log\":\"all fine\"}"

#define TARGET_METRICS                                                                               \
    "# TYPE http_requests_total counter\n"                                                            \
    "http_requests_total{method=\"get\",code=\"500\"} 7\n"                                         \
    "http_requests_total{code=\"200\",method=\"get\"} 1027 1395066363000\n"                        \
    "# TYPE queue_depth gauge\n"                                                                      \
    "queue_depth 3.5\n"

struct target {
    enum target_mode mode;
    int lfd, port;
    int stop_pipe[2];
    pthread_t accept_thr;
    pthread_mutex_t mu;
    pthread_t conn_thr[TARGET_CONNS_MAX];
    int conn_fd[TARGET_CONNS_MAX];
    int n_conn;
    atomic_int requests;      /* complete requests (or banner connections) seen */
    atomic_long huge_sent;
    atomic_int huge_complete;
};

struct target_conn {
    struct target *t;
    int fd;
};

/* Waits up to ms (-1 = forever) for fd to be readable; false when stopping
 * or timed out. */
static inline bool target_wait(struct target *t, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = t->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n <= 0 || p[0].revents)
        return false;
    return true;
}

static inline bool target_send(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static inline void target_reply(int fd, const char *status, const char *ctype, const char *extra,
                         const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     status, ctype, strlen(body), extra);
    if (target_send(fd, head, (size_t)n))
        target_send(fd, body, strlen(body));
}

/* Blocks until the peer closes or the target stops. */
static inline void target_drain(struct target *t, int fd)
{
    char buf[4096];
    while (target_wait(t, fd, -1))
        if (recv(fd, buf, sizeof(buf), 0) <= 0)
            return;
}

static inline void target_huge(struct target *t, int fd)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %ld\r\nConnection: close\r\n\r\n",
                     TARGET_HUGE_SIZE);
    if (!target_send(fd, head, (size_t)n))
        return;
    static char chunk[65536];
    memset(chunk, 'x', sizeof(chunk));
    long left = TARGET_HUGE_SIZE;
    while (left > 0) {
        size_t k = left < (long)sizeof(chunk) ? (size_t)left : sizeof(chunk);
        if (!target_send(fd, chunk, k))
            return;
        atomic_fetch_add(&t->huge_sent, (long)k);
        left -= (long)k;
    }
    atomic_store(&t->huge_complete, 1);
}

static inline void target_http(struct target *t, int fd)
{
    char req[8192];
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len == sizeof(req) - 1 || !target_wait(t, fd, 5000))
            return;
        ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - req) + 4;
    long clen = 0;
    char *cl = strcasestr(req, "\r\nContent-Length:");
    if (cl && cl < end)
        clen = strtol(cl + 17, NULL, 10);
    while ((long)(len - head_len) < clen && len < sizeof(req) - 1) {
        if (!target_wait(t, fd, 5000))
            return;
        ssize_t r = recv(fd, req + len, sizeof(req) - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = '\0';
    }
    char method[16] = "", path[256] = "";
    sscanf(req, "%15s %255s", method, path);
    atomic_fetch_add(&t->requests, 1);

    if (strcmp(path, "/ok") == 0) {
        target_reply(fd, "200 OK", "application/json", "", TARGET_OK_JSON);
    } else if (strcmp(path, "/s500") == 0) {
        target_reply(fd, "500 Internal Server Error", "text/plain", "", "boom");
    } else if (strncmp(path, "/slow", 5) == 0) {
        int ms = path[5] == '/' ? atoi(path + 6) : 2000;
        (void)target_wait(t, -1, ms);
        target_reply(fd, "200 OK", "application/json", "", TARGET_OK_JSON);
    } else if (strcmp(path, "/degraded") == 0) {
        target_reply(fd, "200 OK", "application/json", "", "{\"status\":\"degraded\"}");
    } else if (strcmp(path, "/invalid") == 0) {
        target_reply(fd, "200 OK", "application/json", "", "{\"status\": ok");
    } else if (strcmp(path, "/close") == 0) {
        return;
    } else if (strcmp(path, "/huge") == 0) {
        target_huge(t, fd);
    } else if (strcmp(path, "/hang") == 0) {
        target_drain(t, fd);
    } else if (strcmp(path, "/redirect") == 0) {
        target_reply(fd, "302 Found", "text/plain", "Location: /ok\r\n", "moved");
    } else if (strcmp(path, "/echo") == 0) {
        char body[512], xt[64] = "";
        char *h = strcasestr(req, "\r\nX-Test:");
        if (h && h < end)
            sscanf(h + 9, " %63[^\r]", xt);
        /* The request body back when it is short plain text (the tests' are). */
        char sent[128] = "";
        if (clen > 0 && clen < (long)sizeof(sent) && !memchr(end + 4, '"', (size_t)clen) &&
            !memchr(end + 4, '\\', (size_t)clen))
            memcpy(sent, end + 4, (size_t)clen);
        snprintf(body, sizeof(body), "{\"method\":\"%s\",\"len\":%ld,\"x_test\":\"%s\",\"body\":\"%s\"}", method,
                 clen, xt, sent);
        target_reply(fd, "200 OK", "application/json", "", body);
    } else if (strcmp(path, "/health") == 0) {
        target_reply(fd, "200 OK", "application/json",
                     "X-Cache: HIT\r\nAge: 42\r\nX-Multi: a\r\nX-Multi: b\r\n", TARGET_HEALTH_JSON);
    } else if (strcmp(path, "/auth") == 0) {
        char body[512], auth[256] = "";
        char *h = strcasestr(req, "\r\nAuthorization:");
        if (h && h < end)
            sscanf(h + 16, " %255[^\r]", auth);
        snprintf(body, sizeof(body), "{\"authorization\":\"%s\"}", auth);
        target_reply(fd, "200 OK", "application/json", "", body);
    } else if (strcmp(path, "/metrics") == 0) {
        target_reply(fd, "200 OK", "text/plain; version=0.0.4", "", TARGET_METRICS);
    } else if (strcmp(path, "/text") == 0) {
        target_reply(fd, "200 OK", "text/plain", "", "hello ok world");
    } else {
        target_reply(fd, "404 Not Found", "text/plain", "", "no");
    }
    shutdown(fd, SHUT_WR);
    target_drain(t, fd);
}

static inline void target_banner(struct target *t, int fd)
{
    atomic_fetch_add(&t->requests, 1);
    if (t->mode == TARGET_WRONG) {
        target_send(fd, "-ERR wrong\r\n", 12);
        return;
    }
    if (t->mode == TARGET_FLOOD) {
        char junk[5000];
        memset(junk, 'x', sizeof(junk));
        target_send(fd, junk, sizeof(junk));
        target_drain(t, fd);
        return;
    }
    if (t->mode == TARGET_SILENT) {
        target_drain(t, fd);
        return;
    }
    char buf[256];
    size_t len = 0;
    while (len < sizeof(buf) - 1 && target_wait(t, fd, 5000)) {
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "PING")) {
            target_send(fd, "+PONG\r\n", 7);
            target_drain(t, fd);
            return;
        }
    }
}

static inline void *target_conn_main(void *arg)
{
    struct target_conn *c = arg;
    if (c->t->mode == TARGET_HTTP)
        target_http(c->t, c->fd);
    else
        target_banner(c->t, c->fd);
    /* the fd is closed by target_stop, so it is never reused while tracked */
    shutdown(c->fd, SHUT_RDWR);
    free(c);
    return NULL;
}

static inline void *target_accept_main(void *arg)
{
    struct target *t = arg;
    while (target_wait(t, t->lfd, -1)) {
        int fd = accept(t->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&t->mu);
        if (t->n_conn == TARGET_CONNS_MAX) {
            pthread_mutex_unlock(&t->mu);
            close(fd);
            continue;
        }
        struct target_conn *c = malloc(sizeof(*c));
        c->t = t;
        c->fd = fd;
        t->conn_fd[t->n_conn] = fd;
        pthread_create(&t->conn_thr[t->n_conn], NULL, target_conn_main, c);
        t->n_conn++;
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

static inline int target_start(struct target *t, enum target_mode mode)
{
    memset(t, 0, sizeof(*t));
    t->mode = mode;
    pthread_mutex_init(&t->mu, NULL);
    if (pipe(t->stop_pipe) != 0)
        return -1;
    t->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(t->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(t->lfd, 128) != 0 ||
        getsockname(t->lfd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    t->port = ntohs(a.sin_port);
    return pthread_create(&t->accept_thr, NULL, target_accept_main, t);
}

static inline void target_stop(struct target *t)
{
    close(t->stop_pipe[1]);  /* every poll on the read end now wakes up */
    pthread_join(t->accept_thr, NULL);
    pthread_mutex_lock(&t->mu);
    int n = t->n_conn;
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; i < n; i++)
        shutdown(t->conn_fd[i], SHUT_RDWR);  /* unblocks a send() in progress */
    for (int i = 0; i < n; i++) {
        pthread_join(t->conn_thr[i], NULL);
        close(t->conn_fd[i]);
    }
    close(t->lfd);
    close(t->stop_pipe[0]);
    pthread_mutex_destroy(&t->mu);
}


#endif
