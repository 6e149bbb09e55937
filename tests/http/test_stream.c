/*
 * tests/http/test_stream: streamed responses (http_stream_*, the transport
 * of Server-Sent Events) on the real server on 127.0.0.1. The loop runs
 * in the main thread; a client thread uses blocking sockets and records
 * what it saw; the main thread asserts after joining it. Covers the head
 * (no Content-Length, Connection: close), bytes arriving as written, the
 * client leaving (the closed callback runs once), a client that never
 * reads (the stream is closed at its bound, memory stays bounded), a
 * graceful end, and the server closing with a stream open.
 */
#include "http/http_int.h"
#include "http/server.h"
#include "http/server_watch.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#define CHUNK 16384
#define BOUND (64u * 1024)

struct fx;
typedef void (*client_fn)(struct fx *f);

struct fx {
    uv_loop_t loop;
    struct http_server *srv;
    struct http_server_stats stats;
    uv_timer_t pump;             /* writes CHUNK to the stream every ms while `flood` */
    uv_async_t done, act;
    pthread_t th;
    client_fn client;
    struct server_watch watch;
    int port;
    struct http_stream *st;      /* loop thread */
    atomic_int closed;           /* closed callbacks run */
    atomic_int opened;
    atomic_size_t written;       /* bytes the server accepted for the stream */
    atomic_int action;           /* for the loop: 1 write "hello", 2 flood, 3 close gracefully, 4 close server */
    bool flood, server_closed;
    /* client's findings */
    char head[2048];
    char body[256];
    size_t body_len;
    int saw_eof;
    int errors;
};

static struct fx *F;

static void on_stream_closed(void *data)
{
    struct fx *f = data;
    f->st = NULL;
    atomic_fetch_add(&f->closed, 1);
}

static void handler(void *data, struct http_request *req)
{
    struct fx *f = data;
    f->st = http_stream_start(req, 200, "text/event-stream", "Cache-Control: no-store\r\n", BOUND, on_stream_closed, f);
    if (f->st)
        atomic_fetch_add(&f->opened, 1);
}

static void pump_cb(uv_timer_t *t)
{
    struct fx *f = t->data;
    static char chunk[CHUNK];
    if (!f->flood || !f->st)
        return;
    uv_buf_t b = uv_buf_init(chunk, sizeof(chunk));
    if (http_stream_write(f->st, &b, 1) == 0)
        atomic_fetch_add(&f->written, CHUNK);
}

static void server_closed_cb(void *data)
{
    ((struct fx *)data)->server_closed = true;
}

static void act_cb(uv_async_t *a)
{
    struct fx *f = a->data;
    int what = atomic_exchange(&f->action, 0);
    if (what == 1 && f->st) {
        uv_buf_t b = uv_buf_init("data: hello\n\n", 13);
        http_stream_write(f->st, &b, 1);
    } else if (what == 2) {
        f->flood = true;
    } else if (what == 3 && f->st) {
        uv_buf_t b = uv_buf_init("bye\n", 4);
        http_stream_write(f->st, &b, 1);
        http_stream_close(f->st);
    } else if (what == 4 && f->srv) {
        server_watch_detach(&f->watch);
        http_server_stats_get(f->srv, &f->stats);
        http_server_close(f->srv, server_closed_cb, f);
        f->srv = NULL;
    }
}

static void done_cb(uv_async_t *a)
{
    struct fx *f = a->data;
    if (f->srv) {
        server_watch_detach(&f->watch);
        http_server_stats_get(f->srv, &f->stats);
        http_server_close(f->srv, server_closed_cb, f);
        f->srv = NULL;
    }
    server_watch_close(&f->watch);
    uv_close((uv_handle_t *)&f->done, NULL);
    uv_close((uv_handle_t *)&f->act, NULL);
    uv_close((uv_handle_t *)&f->pump, NULL);
}

static void *client_main(void *arg)
{
    struct fx *f = arg;
    f->client(f);
    uv_async_send(&f->done);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof(*F));
    uv_loop_init(&F->loop);
    struct http_server_opts o = {0};
    F->srv = http_server_new(&F->loop, &o, handler, F);
    char err[128];
    assert_int_equal(http_server_listen(F->srv, "127.0.0.1:0", err, sizeof(err)), 0);
    F->port = http_server_port(F->srv);
    uv_async_init(&F->loop, &F->done, done_cb);
    uv_async_init(&F->loop, &F->act, act_cb);
    uv_timer_init(&F->loop, &F->pump);
    F->done.data = F->act.data = F->pump.data = F;
    uv_timer_start(&F->pump, pump_cb, 1, 1);
    server_watch_start(&F->watch, &F->loop, F->srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_loop_close(&F->loop);
    free(F);
    return 0;
}

static void run(client_fn fn)
{
    F->client = fn;
    pthread_create(&F->th, NULL, client_main, F);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    pthread_join(F->th, NULL);
    assert_true(F->server_closed);
}

/* ---- client helpers (client thread) ----------------------------------- */

static int cl_connect(struct fx *f, int rcvbuf)
{
    int port = f->port;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        f->errors++;
    const char *req = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
        f->errors++;
    return fd;
}

/* Reads until the head is complete (and what follows it into body). */
static void cl_head(struct fx *f, int fd)
{
    size_t n = 0;
    while (n < sizeof(f->head) - 1 && !strstr(f->head, "\r\n\r\n")) {
        ssize_t k = recv(fd, f->head + n, 1, 0);
        if (k <= 0) {
            f->errors++;
            return;
        }
        n += (size_t)k;
        f->head[n] = '\0';
    }
}

/* Reads into body until `want` is in it or EOF (saw_eof) or 5 s pass. */
static void cl_read_until(struct fx *f, int fd, const char *want)
{
    for (int waited = 0; waited < 5000;) {
        if (want && strstr(f->body, want))
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) == 0) {
            waited += 50;
            continue;
        }
        ssize_t k = recv(fd, f->body + f->body_len, sizeof(f->body) - 1 - f->body_len, 0);
        if (k <= 0) {
            f->saw_eof = 1;
            return;
        }
        f->body_len += (size_t)k;
        f->body[f->body_len] = '\0';
    }
}

static void wait_until(atomic_int *v, int want)
{
    for (int i = 0; i < 5000 && atomic_load(v) < want; i++) {
        uv_async_send(&F->watch.kick);
        usleep(1000);
    }
}

static void loop_do(struct fx *f, int what)
{
    atomic_store(&f->action, what);
    uv_async_send(&f->act);
}

/* ---- tests ----------------------------------------------------------------- */

static void c_basic(struct fx *f)
{
    int fd = cl_connect(f, 0);
    cl_head(f, fd);
    wait_until(&f->opened, 1);
    loop_do(f, 1);
    cl_read_until(f, fd, "data: hello\n\n");
    close(fd);  /* the client leaves: the server must notice */
    wait_until(&f->closed, 1);
}

static void test_stream_head_bytes_and_client_leaving(void **state)
{
    (void)state;
    run(c_basic);
    assert_int_equal(F->errors, 0);
    assert_non_null(strstr(F->head, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(F->head, "Content-Type: text/event-stream\r\n"));
    assert_non_null(strstr(F->head, "Cache-Control: no-store\r\n"));
    assert_non_null(strstr(F->head, "Connection: close\r\n"));
    assert_null(strstr(F->head, "Content-Length"));
    assert_string_equal(F->body, "data: hello\n\n");
    assert_int_equal(atomic_load(&F->closed), 1);
    assert_int_equal(F->stats.connections_open, 0);
}

static void c_never_reads(struct fx *f)
{
    int fd = cl_connect(f, 4096);
    cl_head(f, fd);
    wait_until(&f->opened, 1);
    loop_do(f, 2);
    wait_until(&f->closed, 1);  /* the server gives up on the stream */
    f->saw_eof = 1;
    close(fd);
}

static void test_stream_that_is_never_read_is_closed_at_its_bound(void **state)
{
    (void)state;
    run(c_never_reads);
    assert_int_equal(F->errors, 0);
    assert_int_equal(atomic_load(&F->closed), 1);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_OUTPUT_BUDGET], 1);
    assert_int_equal(F->stats.output_bytes, 0);  /* nothing of it is held any more */
    /* What was accepted: the kernel's buffers plus at most the bound. */
    assert_true(atomic_load(&F->written) < (size_t)16 * 1024 * 1024);
}

static void c_graceful(struct fx *f)
{
    int fd = cl_connect(f, 0);
    cl_head(f, fd);
    wait_until(&f->opened, 1);
    loop_do(f, 3);
    cl_read_until(f, fd, NULL);  /* to EOF */
    close(fd);
    wait_until(&f->closed, 1);
}

static void test_stream_close_sends_what_is_queued_then_ends(void **state)
{
    (void)state;
    run(c_graceful);
    assert_int_equal(F->errors, 0);
    assert_string_equal(F->body, "bye\n");
    assert_int_equal(F->saw_eof, 1);
    assert_int_equal(atomic_load(&F->closed), 1);
}

static void c_server_closes(struct fx *f)
{
    int fd = cl_connect(f, 0);
    cl_head(f, fd);
    wait_until(&f->opened, 1);
    loop_do(f, 4);
    cl_read_until(f, fd, NULL);
    close(fd);
    wait_until(&f->closed, 1);
}

static void test_server_close_ends_open_streams(void **state)
{
    (void)state;
    run(c_server_closes);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->saw_eof, 1);
    assert_int_equal(atomic_load(&F->closed), 1);
    assert_int_equal(F->stats.connections_open, 1);  /* read just before the close began */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_head_bytes_and_client_leaving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_that_is_never_read_is_closed_at_its_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_close_sends_what_is_queued_then_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_close_ends_open_streams, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
