/*
 * tests/http/test_server: runs the real server on 127.0.0.1 (port 0) on a
 * loop in the test's main thread, with an echo handler; a helper thread
 * plays the client over plain blocking sockets and records what it saw;
 * the main thread asserts after joining it. Covers keep-alive, pipelining,
 * bodies, limits, timeouts, deferred and abandoned responses, close. The
 * client never sleeps to order itself after the server: it waits for the
 * server's counters or loop turns (tests/http/server_watch.h).
 */
#include "http/http_int.h"
#include "http/server.h"
#include "http/server_watch.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#define MAX_RESP 8
#define BIG_BODY (32u * 1024 * 1024)  /* /big: more than loopback sockets hold unread */
#define RESP_BODY 8192

struct resp {
    int status;
    char head[4096];
    char body[RESP_BODY];
    size_t body_len;
};

struct fixture;
typedef void (*client_fn)(struct fixture *f);

struct fixture {
    uv_loop_t loop;
    struct http_server *srv;
    struct http_server_opts opts;
    int port;
    uv_async_t done, close_now;
    bool server_closed, close_cb_ran;
    pthread_t th;
    client_fn client;
    struct http_server_stats stats;
    /* filled by the client thread */
    struct resp r[MAX_RESP];
    int n_resp;
    int eof_after;          /* 1 when the server closed after the last response */
    int errors;
    long elapsed_ms;
    int ints[8];
    int statuses[32];       /* every response's status, in order (first 32) */
    /* filled by the handler (loop thread), read by the client too */
    atomic_uint_fast64_t deferred_started;
    atomic_uint_fast64_t deferred_fired;
    atomic_uint_fast64_t deferred_abandoned;
    struct server_watch watch;
    int parts_released;     /* release callbacks of /parts bodies (loop thread) */
};

static struct fixture *F;

/* ---- handler (loop thread) --------------------------------------------- */

struct deferred {
    uv_timer_t timer;
    struct http_request *req;
    struct fixture *f;
    uint64_t give_up;       /* until_gone: answer anyway after this loop time */
};

static void send_echo(struct http_request *req)
{
    char q[256] = "", qx[8] = "";
    bool has_q = http_request_query(req, "q", q, sizeof(q));
    bool has_x = http_request_query(req, "x", qx, sizeof(qx));
    const char *xt = http_request_header(req, "x-test");
    json_t *o = json_pack("{s:s, s:s, s:s, s:s%, s:i, s:s, s:s, s:s?, s:b, s:b}", "method", req->method,
                          "path", req->path, "query", req->query, "body", req->body, req->body_len,
                          "n_headers", (int)req->n_headers, "id", req->request_id, "remote",
                          req->remote_addr, "x_test", xt, "has_q", has_q, "has_x", has_x);
    if (has_q)
        json_object_set_new(o, "q", json_string(q));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    http_response_send(req, 200, "application/json", "X-Extra: 1\r\n", text, strlen(text));
    free(text);
}

static void deferred_closed(uv_handle_t *h)
{
    free(h->data);
}

static void deferred_fire(uv_timer_t *t)
{
    struct deferred *d = t->data;
    bool gone = http_request_is_abandoned(d->req);
    if (d->give_up && !gone && uv_now(t->loop) < d->give_up)
        return;  /* /defer/until-gone: not yet */
    atomic_fetch_add(&d->f->deferred_fired, 1);
    if (gone)
        atomic_fetch_add(&d->f->deferred_abandoned, 1);
    send_echo(d->req);
    http_request_unref(d->req);
    uv_close((uv_handle_t *)t, deferred_closed);
}

/* /parts: a 3 MB body given as borrowed pieces (http_response_send_parts)
 * of awkward sizes around the server's write batches, one of them empty. */
#define PARTS_TOTAL (1 + 700000 + 1300000 + 1048575)
static unsigned char parts_data[PARTS_TOTAL];

static unsigned char parts_byte(size_t i)
{
    return (unsigned char)((i * 7 + 3) & 0xff);
}

static void parts_release(void *data)
{
    ((struct fixture *)data)->parts_released++;
}

static void send_parts(struct fixture *f, struct http_request *req)
{
    static uv_buf_t bufs[5];
    static struct http_body_parts body;
    for (size_t i = 0; i < PARTS_TOTAL; i++)
        parts_data[i] = parts_byte(i);
    size_t sizes[5] = {1, 700000, 0, 1300000, 1048575}, off = 0;
    for (int i = 0; i < 5; i++) {
        bufs[i] = uv_buf_init((char *)parts_data + off, (unsigned)sizes[i]);
        off += sizes[i];
    }
    body = (struct http_body_parts){bufs, 5, PARTS_TOTAL, parts_release, f};
    http_response_send_parts(req, 200, "application/octet-stream", NULL, &body);
}

/* /defer/...: answers from a timer 50 ms later. /defer/until-gone: answers
 * as soon as the server has marked the request abandoned (its client left),
 * or after 5 s, checking every 5 ms. */
static void handler(void *data, struct http_request *req)
{
    struct fixture *f = data;
    if (strcmp(req->path, "/parts") == 0) {
        send_parts(f, req);
        return;
    }
    if (strncmp(req->path, "/defer", 6) == 0) {
        struct deferred *d = calloc(1, sizeof(*d));
        d->req = req;
        d->f = f;
        http_request_ref(req);
        uv_timer_init(&f->loop, &d->timer);
        d->timer.data = d;
        if (strcmp(req->path, "/defer/until-gone") == 0) {
            d->give_up = uv_now(&f->loop) + 5000;
            uv_timer_start(&d->timer, deferred_fire, 5, 5);
        } else {
            uv_timer_start(&d->timer, deferred_fire, 50, 0);
        }
        atomic_fetch_add(&f->deferred_started, 1);
        return;
    }
    if (strcmp(req->path, "/big") == 0) {
        /* 32 MB copied: more than a loopback socket takes while unread. */
        size_t n = BIG_BODY;
        char *body = malloc(n);
        memset(body, 'b', n);
        http_response_send(req, 200, "application/octet-stream", NULL, body, n);
        free(body);
        return;
    }
    if (strcmp(req->path, "/nocontent") == 0) {
        http_response_send(req, 204, NULL, NULL, NULL, 0);
        return;
    }
    send_echo(req);
}

/* ---- loop side plumbing -------------------------------------------------- */

static void on_server_closed(void *data)
{
    struct fixture *f = data;
    f->close_cb_ran = true;
}

static void close_server(struct fixture *f)
{
    if (f->server_closed)
        return;
    http_server_stats_get(f->srv, &f->stats);
    f->server_closed = true;
    server_watch_detach(&f->watch);
    http_server_close(f->srv, on_server_closed, f);
}

static void on_close_now(uv_async_t *a)
{
    close_server(a->data);
}

static void on_done(uv_async_t *a)
{
    struct fixture *f = a->data;
    close_server(f);
    uv_close((uv_handle_t *)&f->done, NULL);
    uv_close((uv_handle_t *)&f->close_now, NULL);
    server_watch_close(&f->watch);
}

static void *client_main(void *arg)
{
    struct fixture *f = arg;
    f->client(f);
    uv_async_send(&f->done);
    return NULL;
}

static void run(struct fixture *f, client_fn fn)
{
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->srv = http_server_new(&f->loop, &f->opts, handler, f);
    assert_non_null(f->srv);
    char err[200];
    assert_int_equal(http_server_listen(f->srv, "127.0.0.1:0", err, sizeof(err)), 0);
    f->port = http_server_port(f->srv);
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->done, on_done);
    uv_async_init(&f->loop, &f->close_now, on_close_now);
    f->done.data = f->close_now.data = f;
    server_watch_start(&f->watch, &f->loop, f->srv);
    f->client = fn;
    assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->th, NULL);
    assert_true(f->close_cb_ran);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int setup(void **state)
{
    F = calloc(1, sizeof(*F));
    *state = F;
    return F ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* ---- client side (helper thread, blocking sockets) ------------------------ */

struct conn {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* rcvbuf > 0: that receive buffer, set before connecting (no autotuning:
 * the kernel then holds little of what the client does not read). */
static struct conn *cl_connect_rcvbuf(struct fixture *f, int rcvbuf)
{
    struct conn *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        f->errors++;
    return c;
}

static struct conn *cl_connect(struct fixture *f)
{
    return cl_connect_rcvbuf(f, 0);
}

static void cl_close(struct conn *c)
{
    close(c->fd);
    free(c);
}

static void cl_send(struct conn *c, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void cl_sends(struct conn *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

static int cl_fill(struct conn *c)
{
    if (c->len == sizeof(c->buf))
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return 0;
}

/* Reads one response (Content-Length framed; none for HEAD/204). */
static int cl_read(struct fixture *f, struct conn *c, bool head_only)
{
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (cl_fill(c) != 0)
            return -1;
    struct resp *r = &f->r[f->n_resp < MAX_RESP ? f->n_resp : MAX_RESP - 1];
    if (f->n_resp < 32)
        f->statuses[f->n_resp] = atoi(c->buf + 9);
    f->n_resp++;
    size_t hlen = (size_t)(end - c->buf) + 4;
    memset(r, 0, sizeof(*r));
    memcpy(r->head, c->buf, hlen < sizeof(r->head) - 1 ? hlen : sizeof(r->head) - 1);
    r->status = atoi(r->head + 9);
    size_t blen = 0;
    const char *cl = strcasestr(r->head, "\r\nContent-Length: ");
    if (cl && !head_only)
        blen = strtoul(cl + 18, NULL, 10);
    while (c->len < hlen + blen)
        if (cl_fill(c) != 0)
            return -1;
    r->body_len = blen < RESP_BODY - 1 ? blen : RESP_BODY - 1;
    memcpy(r->body, c->buf + hlen, r->body_len);
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return 0;
}

/* 1 if the server closes (EOF or reset) with no further bytes. */
static int cl_expect_eof(struct conn *c)
{
    char tmp[256];
    if (c->len)
        return 0;
    ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static const char *jget(const struct resp *r, const char *key, char *out, size_t n)
{
    json_t *o = json_loadb(r->body, r->body_len, 0, NULL);
    const char *v = o ? json_string_value(json_object_get(o, key)) : NULL;
    snprintf(out, n, "%s", v ? v : "(none)");
    json_decref(o);
    return out;
}

static char S[256];
#define J(i, key) jget(&F->r[i], key, S, sizeof(S))

/* ---- tests ---------------------------------------------------------------------- */

static void c_keepalive(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    const char *paths[] = {"/one", "/two", "/three"};
    for (int i = 0; i < 3; i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        cl_sends(c, req);
        if (cl_read(f, c, false) != 0)
            f->errors++;
    }
    cl_close(c);
}

static void test_server_keeps_alive_several_requests_on_one_connection(void **state)
{
    run(F, c_keepalive);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 3);
    assert_string_equal(J(0, "path"), "/one");
    assert_string_equal(J(2, "path"), "/three");
    assert_null(strstr(F->r[2].head, "Connection: close"));
    assert_int_equal(F->stats.connections_accepted, 1);
    assert_int_equal(F->stats.requests, 3);
}

static void c_pipelined(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /c?q=a+b%21 HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 4; i++)
        if (cl_read(f, c, false) != 0)
            f->errors++;
    cl_close(c);
}

static void test_server_answers_pipelined_requests_in_order(void **state)
{
    run(F, c_pipelined);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 4);
    assert_string_equal(J(0, "path"), "/a");
    assert_string_equal(J(1, "path"), "/b");
    assert_string_equal(J(1, "body"), "hello");
    assert_string_equal(J(2, "path"), "/defer");
    assert_string_equal(J(3, "path"), "/c");
    assert_string_equal(J(3, "query"), "q=a+b%21");
    assert_string_equal(J(3, "q"), "a b!");
}

static void c_conn_close(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->eof_after = cl_expect_eof(c);
    cl_close(c);
}

static void test_server_honours_connection_close(void **state)
{
    run(F, c_conn_close);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 1);
    assert_non_null(strstr(F->r[0].head, "\r\nConnection: close\r\n"));
    assert_int_equal(F->eof_after, 1);
    assert_int_equal(F->stats.requests, 1);
}

static void c_http10(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    cl_sends(c, "GET /plain HTTP/1.0\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->eof_after = cl_expect_eof(c);
    cl_close(c);
}

static void test_server_http10_closes_unless_keep_alive_asked(void **state)
{
    run(F, c_http10);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 2);
    assert_non_null(strstr(F->r[0].head, "\r\nConnection: keep-alive\r\n"));
    assert_non_null(strstr(F->r[1].head, "\r\nConnection: close\r\n"));
    assert_int_equal(F->eof_after, 1);
}

static void c_chunked(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    if (!server_watch_settled(&f->watch, 2000))  /* the server has read the first part alone */
        f->errors++;
    /* Trailer fields after the last chunk are dropped, never kept. */
    cl_sends(c, "lo\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    /* A Content-Length body split across writes, on the same connection. */
    cl_sends(c, "PUT /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
    if (!server_watch_settled(&f->watch, 2000))
        f->errors++;
    cl_sends(c, "56789");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    cl_close(c);
}

static void test_server_reassembles_chunked_and_length_bodies(void **state)
{
    run(F, c_chunked);
    assert_int_equal(F->errors, 0);
    assert_string_equal(J(0, "body"), "hello world");
    assert_string_equal(J(0, "method"), "POST");
    assert_string_equal(J(0, "x_test"), "(none)");
    assert_string_equal(J(1, "body"), "0123456789");
    assert_string_equal(J(1, "method"), "PUT");
}

static void c_big_body(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    size_t size = 10u * 1024 * 1024;
    char head[128];
    snprintf(head, sizeof(head), "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", size);
    cl_sends(c, head);
    char *body = calloc(1, size);
    memset(body, 'a', size);
    cl_send(c, body, size);
    free(body);
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->eof_after = cl_expect_eof(c);
    cl_close(c);
    /* Chunked: refused while streaming, past max_body. */
    c = cl_connect(f);
    cl_sends(c, "POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[8192 + 16];
    memset(chunk, 'b', sizeof(chunk));
    memcpy(chunk, "2000\r\n", 6);
    memcpy(chunk + 6 + 8192, "\r\n", 2);
    for (int i = 0; i < 200; i++)
        cl_send(c, chunk, 6 + 8192 + 2);
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->ints[0] = cl_expect_eof(c);
    cl_close(c);
}

static void test_server_refuses_oversized_body_with_413_and_closes(void **state)
{
    run(F, c_big_body);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 2);
    assert_int_equal(F->r[0].status, 413);
    assert_non_null(strstr(F->r[0].body, "\"code\":\"payload_too_large\""));
    assert_non_null(strstr(F->r[0].head, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(F->r[0].head, "\r\nContent-Type: application/json\r\n"));
    assert_int_equal(F->eof_after, 1);
    assert_int_equal(F->r[1].status, 413);
    assert_int_equal(F->ints[0], 1);
    assert_int_equal(F->stats.requests, 0);
    assert_int_equal(F->stats.parse_errors, 2);
}

/* Sends `req` on a fresh connection and reads one response. */
static void one_shot(struct fixture *f, const char *req, size_t len)
{
    struct conn *c = cl_connect(f);
    cl_send(c, req, len);
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->ints[f->n_resp - 1] = cl_expect_eof(c);
    cl_close(c);
}

static void c_limits(struct fixture *f)
{
    static char big[24 * 1024];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'h', 20000);
    memcpy(big + n + 20000, "\r\n\r\n", 4);
    one_shot(f, big, (size_t)n + 20004);
    n = snprintf(big, sizeof(big), "GET /");
    memset(big + n, 'u', 9000);
    n += 9000;
    n += snprintf(big + n, sizeof(big) - (size_t)n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    one_shot(f, big, (size_t)n);
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 70; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X-H%d: v\r\n", i);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    one_shot(f, big, (size_t)n);
    one_shot(f, "GARBAGE\r\n\r\n", 11);
    one_shot(f, "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    one_shot(f, "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 32);
    one_shot(f, "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 66);
}

static void test_server_enforces_header_url_and_syntax_limits(void **state)
{
    run(F, c_limits);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 7);
    int want[] = {431, 414, 431, 400, 400, 400, 400};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(F->r[i].status, want[i]);
        assert_int_equal(F->ints[i], 1);  /* closed after the error */
        assert_non_null(strstr(F->r[i].head, "\r\nConnection: close\r\n"));
        assert_non_null(strstr(F->r[i].head, "\r\nX-Content-Type-Options: nosniff\r\n"));
        json_t *o = json_loadb(F->r[i].body, F->r[i].body_len, 0, NULL);
        assert_non_null(o);
        assert_true(json_is_string(json_object_get(json_object_get(o, "error"), "message")));
        json_decref(o);
    }
    assert_non_null(strstr(F->r[3].body, "\"code\":\"bad_request\""));
    assert_non_null(strstr(F->r[1].body, "\"code\":\"uri_too_long\""));
    assert_int_equal(F->stats.parse_errors, 7);
    /* Each refusal is counted by its reason (opshub_http_rejected_total). */
    assert_int_equal(F->stats.rejected[HTTP_REJECT_HEADER_TOO_LARGE], 2);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_URI_TOO_LONG], 1);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_BAD_REQUEST], 4);
    assert_int_equal(F->stats.requests, 0);
}

/* Request smuggling shapes (RFC 9112): each is followed on the same
 * connection by a well-formed request that must never be served. */
static const struct {
    const char *req;
    int status;
} smuggles[] = {
    {"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
    {"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", 400},
    {"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400},
    {"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", 400},
    {"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n", 400},
    {"GET /s HTTP/1.1\nHost: x\n\n", 400},
    {"GET /s HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
    {"GET /s HTTP/1.1\r\n\r\n", 400},
    {"GET /s HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
    {"GET /s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n", 400},
    {"POST /s HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
    {"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
    {"GET /s\r\n", 400},  /* HTTP/0.9: answered now, not at the read timeout */
};
#define N_SMUGGLES (sizeof(smuggles) / sizeof(smuggles[0]))

static void c_smuggle(struct fixture *f)
{
    for (size_t i = 0; i < N_SMUGGLES; i++) {
        char req[512];
        int n = snprintf(req, sizeof(req), "%sGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
                         smuggles[i].req);
        struct conn *c = cl_connect(f);
        /* HTTP/0.9 is sent alone: nothing may follow it for the server to wait on. */
        if (strncmp(smuggles[i].req, "GET /s\r\n", 8) == 0)
            n = (int)strlen(smuggles[i].req);
        cl_send(c, req, (size_t)n);
        if (cl_read(f, c, false) != 0)
            f->errors++;
        f->ints[0] += cl_expect_eof(c);
        cl_close(c);
    }
}

static void test_server_refuses_smuggling_shapes_and_closes(void **state)
{
    F->opts.read_timeout_ms = 10000;  /* a 408 would take this long: the answer is 400 at once */
    run(F, c_smuggle);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, (int)N_SMUGGLES);
    for (size_t i = 0; i < N_SMUGGLES; i++)
        assert_int_equal(F->statuses[i], smuggles[i].status);
    assert_int_equal(F->ints[0], (int)N_SMUGGLES);  /* every connection closed after its answer */
    assert_int_equal(F->stats.requests, 0);          /* neither the bad one nor /next was served */
    assert_int_equal(F->stats.parse_errors, N_SMUGGLES);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_BAD_REQUEST], N_SMUGGLES - 1);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_NOT_IMPLEMENTED], 1);
}



/* Two clients ask for 32 MB and do not read. The first one's unsent output
 * is copied and waits; the second's would pass the budget: it is closed.
 * The first then reads its whole answer. */
static void c_budget(struct fixture *f)
{
    struct conn *a = cl_connect_rcvbuf(f, 256 * 1024);  /* far below 32 MB, quick to drain */
    struct timeval patient = {.tv_sec = 30};
    setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &patient, sizeof(patient));
    cl_sends(a, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    /* 32 MB made and copied: generous deadlines for a loaded machine */
    if (!server_watch_until(&f->watch, &f->watch.requests, 1, UINT64_MAX, 15000) ||
        !server_watch_settled(&f->watch, 15000))
        f->errors++;
    struct conn *b = cl_connect_rcvbuf(f, 16384);
    setsockopt(b->fd, SOL_SOCKET, SO_RCVTIMEO, &patient, sizeof(patient));
    cl_sends(b, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    /* b: what the kernel took before the close, then EOF */
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(b->fd, b->buf, sizeof(b->buf), 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    f->ints[0] = got < BIG_BODY;
    cl_close(b);
    got = 0;
    for (;;) {
        ssize_t n = recv(a->fd, a->buf, sizeof(a->buf), 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got > BIG_BODY + 100)  /* the body and a head of more than 100 bytes */
            break;
    }
    f->ints[1] = got > BIG_BODY;
    cl_close(a);
}

static void test_server_closes_what_passes_the_output_budget(void **state)
{
    F->opts.output_budget = 1;  /* one connection's output may wait, no second one */
    /* a's 32 MB must not meet the write deadline while b is looked at, on a loaded machine */
    F->opts.read_timeout_ms = 120000;
    run(F, c_budget);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->ints[0], 1);   /* b never got its answer */
    assert_int_equal(F->ints[1], 1);   /* a got all of its */
    assert_int_equal(F->stats.rejected[HTTP_REJECT_OUTPUT_BUDGET], 1);
    assert_int_equal(F->stats.output_bytes, 0);
    assert_int_equal(F->stats.output_budget, 1);
}

/* Pipelined requests behind slow (deferred) answers: the backlog is
 * parsed from its front while more arrives at its end; what was parsed
 * must not count against its bound (a client sending 1 KB requests in
 * two bursts is served every one of them). */
static void c_pipeline_refill(struct fixture *f)
{
    char req[1100];
    char pad[1000];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(req, sizeof(req), "GET /defer HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", pad);
    struct conn *c = cl_connect(f);
    for (int i = 0; i < 6; i++)  /* ~6.2 KB: all of it waits behind the first */
        cl_sends(c, req);
    for (int i = 0; i < 2; i++)  /* two answered: the backlog's front is parsed, not its end */
        if (cl_read(f, c, false) != 0)
            f->errors++;
    for (int i = 0; i < 3; i++)  /* ~3.1 KB more: within the bound of what waits */
        cl_sends(c, req);
    for (int i = 0; i < 7; i++)
        if (cl_read(f, c, false) != 0)
            f->errors++;
    cl_close(c);
}

static void test_server_refills_a_partly_parsed_backlog(void **state)
{
    run(F, c_pipeline_refill);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 9);
    assert_int_equal(F->stats.requests, 9);
}

/* Trickles a header line every 50 ms, until the server answers or for 3 s:
 * a deadline that every read pushed back would not expire meanwhile. */
static void c_slow(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    long t0 = now_ms();
    cl_sends(c, "GET /slow HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; now_ms() - t0 < 3000; i++) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 50) != 0)
            break;  /* the answer (or the close) is there */
        char line[32];
        snprintf(line, sizeof(line), "X-More-%d: 1\r\n", i);
        cl_sends(c, line);
    }
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->elapsed_ms = now_ms() - t0;
    f->eof_after = cl_expect_eof(c);
    cl_close(c);
}

static void test_server_times_out_slow_client_with_408(void **state)
{
    F->opts.read_timeout_ms = 200;
    run(F, c_slow);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->r[0].status, 408);
    assert_non_null(strstr(F->r[0].body, "request_timeout"));
    assert_int_equal(F->eof_after, 1);
    assert_in_range(F->elapsed_ms, 150, 2000);
    assert_int_equal(F->stats.timeouts, 1);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_TIMEOUT], 1);
}

static void c_idle(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    long t0 = now_ms();
    f->eof_after = cl_expect_eof(c);
    f->elapsed_ms = now_ms() - t0;
    cl_close(c);
    /* A connection that never sends anything is closed the same way. */
    c = cl_connect(f);
    f->ints[0] = cl_expect_eof(c);
    cl_close(c);
}

static void test_server_closes_idle_connections_silently(void **state)
{
    F->opts.idle_timeout_ms = 200;
    run(F, c_idle);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 1);
    assert_int_equal(F->eof_after, 1);
    assert_int_equal(F->ints[0], 1);
    assert_in_range(F->elapsed_ms, 100, 2000);
    assert_int_equal(F->stats.timeouts, 0);
}

static void c_deferred(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    long t0 = now_ms();
    cl_sends(c, "GET /defer/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    f->elapsed_ms = now_ms() - t0;
    cl_sends(c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    cl_close(c);
}

static void test_server_sends_deferred_response_from_timer(void **state)
{
    run(F, c_deferred);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 2);
    assert_string_equal(J(0, "path"), "/defer/1");
    assert_string_equal(J(1, "path"), "/after");
    assert_true(F->elapsed_ms >= 45);
    assert_int_equal(F->deferred_fired, 1);
    assert_int_equal(F->deferred_abandoned, 0);
}

static void c_abandon(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /defer/until-gone HTTP/1.1\r\nHost: x\r\n\r\n");
    if (!server_watch_until(&f->watch, &f->deferred_started, 1, 1, 5000))
        f->errors++;
    cl_close(c);
    /* It answers once the server has marked it abandoned, or after 5 s. */
    if (!server_watch_until(&f->watch, &f->deferred_fired, 1, 1, 8000))
        f->errors++;
    if (!server_watch_until(&f->watch, &f->watch.open, 0, 0, 5000))
        f->errors++;
}

static void test_server_abandons_request_when_client_leaves(void **state)
{
    run(F, c_abandon);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->deferred_fired, 1);
    assert_int_equal(F->deferred_abandoned, 1);
    assert_int_equal(F->stats.connections_open, 0);
}

static void c_head(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, true) != 0)
        f->errors++;
    cl_sends(c, "GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, true) != 0)
        f->errors++;
    cl_sends(c, "GET /g HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    cl_close(c);
}

/* Reads a /parts body of Content-Length bytes, checking every byte;
 * returns the number of bytes that were right. */
static size_t cl_read_parts(struct conn *c)
{
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (cl_fill(c) != 0)
            return 0;
    size_t hlen = (size_t)(end - c->buf) + 4;
    const char *cl = strcasestr(c->buf, "\r\nContent-Length: ");
    size_t want = cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0, got = 0;
    memmove(c->buf, c->buf + hlen, c->len - hlen);
    c->len -= hlen;
    while (got < want) {
        if (!c->len && cl_fill(c) != 0)
            break;
        size_t k = c->len < want - got ? c->len : want - got;
        for (size_t i = 0; i < k; i++)
            if ((unsigned char)c->buf[i] != parts_byte(got + i))
                return got + i;
        got += k;
        memmove(c->buf, c->buf + k, c->len - k);
        c->len -= k;
    }
    return got;
}

static void c_parts(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /parts HTTP/1.1\r\nHost: x\r\n\r\n");
    f->ints[0] = (int)cl_read_parts(c);
    /* the connection goes on: the body was framed exactly */
    cl_sends(c, "HEAD /parts HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, true) != 0 || cl_read(f, c, false) != 0)
        f->errors++;
    cl_close(c);
    /* a client that leaves in the middle of the body */
    c = cl_connect(f);
    cl_sends(c, "GET /parts HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_fill(c) != 0)
        f->errors++;
    cl_close(c);
}

static void test_server_sends_borrowed_parts_without_copy_and_releases_once(void **state)
{
    run(F, c_parts);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->ints[0], PARTS_TOTAL);
    assert_int_equal(F->n_resp, 2);
    assert_int_equal(F->r[0].status, 200);
    char want[64];
    snprintf(want, sizeof(want), "\r\nContent-Length: %d\r\n", PARTS_TOTAL);
    assert_non_null(strstr(F->r[0].head, want)); /* HEAD: the length, no body */
    assert_string_equal(J(1, "path"), "/after");
    /* every body released exactly once: sent, HEAD, and the abandoned one */
    assert_int_equal(F->parts_released, 3);
}

static void test_server_head_gets_headers_only(void **state)
{
    run(F, c_head);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->n_resp, 3);
    assert_int_equal(F->r[0].status, 200);
    assert_non_null(strstr(F->r[0].head, "\r\nContent-Length: "));
    assert_null(strstr(F->r[0].head, "Content-Length: 0\r\n"));
    assert_int_equal(F->r[1].status, 204);
    assert_null(strstr(F->r[1].head, "Content-Length"));
    /* If HEAD had leaked a body, this response would be misframed. */
    assert_int_equal(F->r[2].status, 200);
    assert_string_equal(J(2, "path"), "/g");
}

static void c_headers(struct fixture *f)
{
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /%7Euser/a%20b?x HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-DEF_1.2\r\nX-Test: yes\r\n\r\n");
    cl_read(f, c, false);
    cl_sends(c, "GET /i HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id!\r\n\r\n");
    cl_read(f, c, false);
    char req[256];
    char longid[70];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    snprintf(req, sizeof(req), "GET /i HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\n\r\n", longid);
    cl_sends(c, req);
    cl_read(f, c, false);
    cl_close(c);
}

static void test_server_sets_security_headers_and_request_ids(void **state)
{
    run(F, c_headers);
    assert_int_equal(F->n_resp, 3);
    const char *h = F->r[0].head;
    assert_non_null(strstr(h, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(h, "\r\nReferrer-Policy: no-referrer\r\n"));
    assert_non_null(strstr(h, "\r\nContent-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"));
    assert_null(strstr(h, "unsafe-inline"));
    /* HSTS only over TLS (tests/http/test_tls.c), never on plain HTTP. */
    assert_null(strstr(h, "Strict-Transport-Security"));
    assert_non_null(strstr(h, "\r\nX-Extra: 1\r\n"));
    assert_non_null(strstr(h, "\r\nX-Request-Id: abc-DEF_1.2\r\n"));
    assert_string_equal(J(0, "id"), "abc-DEF_1.2");
    assert_string_equal(J(0, "path"), "/~user/a b");
    assert_string_equal(J(0, "x_test"), "yes");
    assert_string_equal(J(0, "remote"), "127.0.0.1");
    char ids[2][64];
    for (int i = 1; i < 3; i++) {
        snprintf(ids[i - 1], sizeof(ids[0]), "%s", J(i, "id"));
        assert_int_equal(strlen(ids[i - 1]), 16);
        assert_int_equal(strspn(ids[i - 1], "0123456789abcdef"), 16);
    }
    assert_string_not_equal(ids[0], ids[1]);
}

static void c_maxconn(struct fixture *f)
{
    struct conn *a = cl_connect(f), *b = cl_connect(f);
    cl_sends(a, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    cl_sends(b, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    cl_read(f, a, false);
    cl_read(f, b, false);
    struct conn *c = cl_connect(f);
    cl_sends(c, "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    f->eof_after = cl_expect_eof(c);
    cl_close(c);
    cl_close(a);
    if (!server_watch_until(&f->watch, &f->watch.open, 0, 1, 5000))  /* only b is left */
        f->errors++;
    c = cl_connect(f);  /* a slot is free again */
    cl_sends(c, "GET /4 HTTP/1.1\r\nHost: x\r\n\r\n");
    if (cl_read(f, c, false) != 0)
        f->errors++;
    cl_close(c);
    cl_close(b);
}

static void test_server_rejects_connections_beyond_max(void **state)
{
    F->opts.max_connections = 2;
    run(F, c_maxconn);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->eof_after, 1);
    assert_int_equal(F->n_resp, 3);
    assert_string_equal(J(2, "path"), "/4");
    assert_int_equal(F->stats.connections_rejected, 1);
    assert_int_equal(F->stats.rejected[HTTP_REJECT_CONNECTION_CAP], 1);
    assert_int_equal(F->stats.max_connections, 2);
    assert_int_equal(F->stats.connections_accepted, 3);
}

static void c_close_server(struct fixture *f)
{
    struct conn *idle = cl_connect(f), *busy = cl_connect(f);
    cl_sends(idle, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    cl_read(f, idle, false);
    cl_sends(busy, "GET /defer/x HTTP/1.1\r\nHost: x\r\n\r\n");
    if (!server_watch_until(&f->watch, &f->deferred_started, 1, 1, 5000))  /* in flight */
        f->errors++;
    uv_async_send(&f->close_now);
    f->ints[0] = cl_expect_eof(idle);
    if (cl_read(f, busy, false) != 0)
        f->errors++;
    f->ints[1] = cl_expect_eof(busy);
    /* The listener is gone. */
    struct conn *late = cl_connect(f);
    f->ints[2] = f->errors;
    f->errors = 0;
    cl_close(late);
    cl_close(idle);
    cl_close(busy);
}

static void test_server_close_drains_in_flight_and_closes_idle(void **state)
{
    run(F, c_close_server);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->ints[0], 1);
    assert_int_equal(F->n_resp, 2);
    assert_string_equal(J(1, "path"), "/defer/x");
    assert_non_null(strstr(F->r[1].head, "\r\nConnection: close\r\n"));
    assert_int_equal(F->ints[1], 1);
    assert_int_equal(F->ints[2], 1);  /* connect refused */
    assert_int_equal(F->deferred_abandoned, 0);
}

static void c_nothing(struct fixture *f)
{
    (void)f;
}

static void test_server_listen_parses_addresses(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct http_server *s = http_server_new(&loop, NULL, handler, F);
    char err[200];
    const char *bad[] = {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "::1:80", "[::1]80",
                         "host.example:80", "127.0.0.1:8x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_true(http_server_listen(s, bad[i], err, sizeof(err)) < 0);
        assert_non_null(strstr(err, "listen address"));
    }
    assert_int_equal(http_server_listen(s, ":0", err, sizeof(err)), 0);
    assert_true(http_server_port(s) > 0);
    assert_true(http_server_listen(s, ":0", err, sizeof(err)) < 0);  /* once */
    bool closed = false;
    http_server_close(s, on_server_closed, F);
    uv_run(&loop, UV_RUN_DEFAULT);
    closed = F->close_cb_ran;
    assert_true(closed);
    F->close_cb_ran = false;
    /* IPv6 loopback, when the machine has it. */
    s = http_server_new(&loop, NULL, handler, F);
    if (http_server_listen(s, "[::1]:0", err, sizeof(err)) != 0)
        print_message("no IPv6 loopback here: %s\n", err);
    http_server_close(s, on_server_closed, F);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(F->close_cb_ran);
    assert_int_equal(uv_loop_close(&loop), 0);
    (void)c_nothing;
}

int main(void)
{
    /* as opshub does (app.c): a write to a peer that left is EPIPE, not a signal */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_keeps_alive_several_requests_on_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_answers_pipelined_requests_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_honours_connection_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_http10_closes_unless_keep_alive_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_reassembles_chunked_and_length_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_refuses_oversized_body_with_413_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_enforces_header_url_and_syntax_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_refuses_smuggling_shapes_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_what_passes_the_output_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_refills_a_partly_parsed_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_times_out_slow_client_with_408, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes_idle_connections_silently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_sends_deferred_response_from_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_abandons_request_when_client_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_head_gets_headers_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_sets_security_headers_and_request_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_rejects_connections_beyond_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_close_drains_in_flight_and_closes_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_listen_parses_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_sends_borrowed_parts_without_copy_and_releases_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
