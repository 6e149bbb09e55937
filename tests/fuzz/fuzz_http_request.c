/*
 * fuzz_http_request: feeds raw bytes to a real opshub HTTP server through
 * one end of a socketpair adopted as a connection (http_server_adopt_fd),
 * so the input goes through the same reading, http_parser callbacks,
 * limits, pipelining, deferred responses and closing code as a TCP client.
 * The first input byte picks where the input is split into two writes.
 */
#include "http/http_int.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t loop;
static struct http_server *srv;

static void timer_free(uv_handle_t *h)
{
    free(h);
}

static void deferred_fire(uv_timer_t *t)
{
    struct http_request *req = t->data;
    if (!http_request_is_abandoned(req))
        http_response_send(req, 200, "text/plain", NULL, "late", 4);
    else
        http_response_send(req, 200, "text/plain", NULL, "gone", 4);
    http_request_unref(req);
    uv_close((uv_handle_t *)t, timer_free);
}

static void handler(void *data, struct http_request *req)
{
    char buf[64];
    (void)data;
    http_request_query(req, "q", buf, sizeof(buf));
    (void)http_request_header(req, "Host");
    if (strncmp(req->path, "/defer", 6) == 0) {
        uv_timer_t *t = malloc(sizeof(*t));
        if (!t) {
            http_response_send(req, 503, NULL, NULL, NULL, 0);
            return;
        }
        http_request_ref(req);
        uv_timer_init(&loop, t);
        t->data = req;
        uv_timer_start(t, deferred_fire, 0, 0);
        return;
    }
    if (strncmp(req->path, "/head", 5) == 0) {
        http_response_send(req, 204, NULL, "X-A: b\r\n", NULL, 0);
        return;
    }
    http_response_send(req, 200, "application/octet-stream", NULL, req->body, req->body_len);
}

static void drain(int fd)
{
    char tmp[65536];
    while (read(fd, tmp, sizeof(tmp)) > 0)
        ;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            uv_run(&loop, UV_RUN_NOWAIT);
            drain(fd);
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) {
        uv_loop_init(&loop);
        struct http_server_opts o = {
            .max_body = 4096, .max_header_bytes = 2048, .idle_timeout_ms = 1000, .read_timeout_ms = 1000,
        };
        srv = http_server_new(&loop, &o, handler, NULL);
        if (!srv)
            abort();
    }
    if (size == 0)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    if (http_server_adopt_fd(srv, sv[1]) != 0) {
        close(sv[0]);
        return 0;
    }
    size_t split = data[0] % size;
    data++;
    size--;
    if (split > size)
        split = size;
    write_all(sv[0], data, split);
    uv_run(&loop, UV_RUN_NOWAIT);
    drain(sv[0]);
    write_all(sv[0], data + split, size - split);
    shutdown(sv[0], SHUT_WR);
    struct http_server_stats st;
    uint64_t t0 = uv_hrtime();
    for (;;) {
        uv_run(&loop, UV_RUN_NOWAIT);
        drain(sv[0]);
        http_server_stats_get(srv, &st);
        if (st.connections_open == 0 && !uv_loop_alive(&loop))
            break;
        /* The client half-closed: nothing may keep the connection 5 s. */
        if (uv_hrtime() - t0 > 5000000000ULL)
            abort();
    }
    close(sv[0]);
    return 0;
}
