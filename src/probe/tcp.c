/*
 * probe/tcp: the tcp check type on uv_tcp. One allocation per run holds the handles
 * (timer, tcp, requests), the 4 KiB reply buffer and copies of the address,
 * payload and expected text. The run counts its open handles and pending
 * resolution; after the callback (or a cancel) it closes them and frees
 * itself in the last close callback, keeping the engine open until then.
 * A reply is never logged; error texts show it escaped and truncated.
 */
#include "probe/tcp.h"

#include "base/alloc.h"
#include "probe/probe_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 72

struct probe_tcp {
    struct probe_run run;           /* first: a run pointer is a probe_tcp pointer */
    uv_timer_t timer;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_getaddrinfo_t gai;
    struct addrinfo *ai, *ai_cur;
    int pending;                    /* open handles + resolution in flight */
    bool tcp_open, resolving, connected, failed, retrying, tearing_down;
    const char *host, *port, *send, *expect;
    size_t send_len, expect_len;
    size_t rlen;
    double dns_ms, connect_ms, reply_ms; /* phase ends in ms from the start; -1 until reached */
    char rbuf[PROBE_TCP_READ_MAX];
    char strings[];                 /* host, port, send, expect */
};

static void on_timer(uv_timer_t *t);
static void start_connect(struct probe_tcp *t, const struct sockaddr *addr);

/* ---- teardown ---- */

static void unref(struct probe_tcp *t)
{
    if (--t->pending > 0 || !t->tearing_down)
        return;
    struct probe_engine *e = t->run.engine;
    if (t->ai)
        uv_freeaddrinfo(t->ai);
    base_free(t);
    probe_engine_release(e);
}

static void on_closed(uv_handle_t *h)
{
    struct probe_tcp *t = h->data;
    if (h == (uv_handle_t *)&t->tcp) {
        t->tcp_open = false;
        if (t->retrying && !t->tearing_down) {
            t->retrying = false;
            t->pending--;
            start_connect(t, t->ai_cur->ai_addr);
            return;
        }
    }
    unref(t);
}

static void teardown(struct probe_tcp *t)
{
    t->tearing_down = true;
    t->run.engine->tearing_down++;
    if (t->resolving)
        uv_cancel((uv_req_t *)&t->gai);  /* on_resolved still runs, with UV_EAI_CANCELED */
    if (t->tcp_open && !t->retrying)
        uv_close((uv_handle_t *)&t->tcp, on_closed);
    uv_close((uv_handle_t *)&t->timer, on_closed);
}

/* The phases reached, as values: resolve (names only), connect, reply (up
 * to the expected text). */
static void fill_values(struct probe_tcp *t)
{
    struct sample *s = &t->run.s;
    if (t->dns_ms >= 0)
        sample_value_set(s, "phase_resolve_seconds", t->dns_ms / 1000.0);
    if (t->connect_ms >= 0)
        sample_value_set(s, "phase_connect_seconds", (t->connect_ms - (t->dns_ms > 0 ? t->dns_ms : 0)) / 1000.0);
    if (t->reply_ms >= 0 && t->connect_ms >= 0)
        sample_value_set(s, "phase_reply_seconds", (t->reply_ms - t->connect_ms) / 1000.0);
}

static void finish(struct probe_tcp *t, enum sample_result result)
{
    fill_values(t);
    t->run.s.result = result;
    if (result == SAMPLE_UP)
        t->run.s.error[0] = '\0';
    if (t->run.s.latency_ms < 0.001)
        t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
    uv_timer_stop(&t->timer);
    probe_run_finish(&t->run);
    teardown(t);
}

static void tcp_cancel(struct probe_run *r)
{
    teardown((struct probe_tcp *)r);
}

/* Reports a failure: at once from a loop callback, on the next loop turn
 * from tcp_start (a run never completes synchronously). */
static void fail(struct probe_tcp *t, bool deferred, const char *fmt, ...) BASE_PRINTF(3, 4);
static void fail(struct probe_tcp *t, bool deferred, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->run.s.error, sizeof(t->run.s.error), fmt, ap);
    va_end(ap);
    t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
    if (deferred) {
        t->failed = true;
        uv_timer_start(&t->timer, on_timer, 0, 0);
    } else {
        finish(t, SAMPLE_DOWN);
    }
}

/* ---- reply ---- */

static void fail_expect(struct probe_tcp *t, const char *why)
{
    char want[SHOWN_MAX], got[SHOWN_MAX];
    probe_escape(t->expect, t->expect_len, want, sizeof(want));
    if (!t->rlen) {
        fail(t, false, "expected \"%s\" in reply, got nothing (%s)", want, why);
        return;
    }
    probe_escape(t->rbuf, t->rlen, got, sizeof(got));
    fail(t, false, "expected \"%s\" in reply, got \"%s\" (%s)", want, got, why);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct probe_tcp *t = h->data;
    *buf = uv_buf_init(t->rbuf + t->rlen, (unsigned)(sizeof(t->rbuf) - t->rlen));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_tcp *t = s->data;
    if (t->run.done || nread == 0)
        return;
    if (nread == UV_EOF) {
        fail_expect(t, "connection closed");
        return;
    }
    if (nread < 0) {
        char why[96];
        snprintf(why, sizeof(why), "read failed: %s", uv_strerror((int)nread));
        fail_expect(t, why);
        return;
    }

    size_t from = t->rlen >= t->expect_len ? t->rlen - t->expect_len + 1 : 0;
    t->rlen += (size_t)nread;
    if (memmem(t->rbuf + from, t->rlen - from, t->expect, t->expect_len)) {
        t->reply_ms = t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
        finish(t, SAMPLE_UP);
        return;
    }
    if (t->rlen == sizeof(t->rbuf))
        fail_expect(t, "not in the first 4096 bytes");
}

/* ---- connect and send ---- */

static void on_write(uv_write_t *req, int status)
{
    struct probe_tcp *t = req->data;
    if (t->run.done)
        return;
    if (status < 0) {
        fail(t, false, "send failed: %s", uv_strerror(status));
        return;
    }
    if (!t->expect) {
        t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
        finish(t, SAMPLE_UP);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct probe_tcp *t = req->data;
    if (t->run.done)
        return;
    if (status < 0) {
        if (t->ai_cur && t->ai_cur->ai_next) {
            /* try the next address once this socket is closed */
            t->ai_cur = t->ai_cur->ai_next;
            t->retrying = true;
            uv_close((uv_handle_t *)&t->tcp, on_closed);
            return;
        }
        if (status == UV_ECONNREFUSED)
            fail(t, false, "connection refused");
        else
            fail(t, false, "connect failed: %s", uv_strerror(status));
        return;
    }
    t->connected = true;
    t->connect_ms = probe_run_elapsed_ms(&t->run);
    t->run.s.latency_ms = t->connect_ms;
    if (!t->send && !t->expect) {
        finish(t, SAMPLE_UP);
        return;
    }
    if (t->expect) {
        int rc = uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
        if (rc) {
            fail(t, false, "read failed: %s", uv_strerror(rc));
            return;
        }
    }
    if (t->send) {
        uv_buf_t b = uv_buf_init((char *)t->send, (unsigned)t->send_len);
        int rc = uv_write(&t->write, (uv_stream_t *)&t->tcp, &b, 1, on_write);
        if (rc)
            fail(t, false, "send failed: %s", uv_strerror(rc));
    }
}

static void start_connect(struct probe_tcp *t, const struct sockaddr *addr)
{
    bool deferred = !t->resolving && !t->ai;  /* called from tcp_start */
    int rc = uv_tcp_init(t->run.engine->loop, &t->tcp);
    if (rc) {
        fail(t, deferred, "connect failed: %s", uv_strerror(rc));
        return;
    }
    t->tcp.data = t;
    t->tcp_open = true;
    t->pending++;
    rc = uv_tcp_connect(&t->connect, &t->tcp, addr, on_connect);
    if (rc == UV_ECONNREFUSED)
        fail(t, deferred, "connection refused");
    else if (rc)
        fail(t, deferred, "connect failed: %s", uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct probe_tcp *t = req->data;
    t->resolving = false;
    if (t->run.done) {
        if (res)
            uv_freeaddrinfo(res);
        unref(t);
        return;
    }
    t->pending--;
    t->dns_ms = probe_run_elapsed_ms(&t->run);
    if (status < 0 || !res) {
        fail(t, false, "DNS: %s: %s", t->host, uv_strerror(status));
        return;
    }
    t->ai = t->ai_cur = res;
    start_connect(t, res->ai_addr);
}

/* ---- timeout ---- */

static void on_timer(uv_timer_t *h)
{
    struct probe_tcp *t = h->data;
    if (t->run.done)
        return;
    if (t->failed) {
        finish(t, SAMPLE_DOWN);
        return;
    }
    t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
    if (t->connected && t->expect) {
        char why[64];
        snprintf(why, sizeof(why), "timeout after %" PRId64 " ms", t->run.timeout_ms);
        fail_expect(t, why);
        return;
    }
    fail(t, false, "timeout after %" PRId64 " ms (%s)", t->run.timeout_ms,
         t->resolving ? "resolving" : !t->connected ? "connecting" : "sending");
}

/* ---- start ---- */

/* Splits "host:port" or "[v6]:port"; 0 or -1. host/port point into buf. */
static int split_address(char *buf, char **host, char **port)
{
    char *colon;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (!end || end[1] != ':')
            return -1;
        *end = '\0';
        *host = buf + 1;
        colon = end + 1;
    } else {
        colon = strrchr(buf, ':');
        if (!colon || memchr(buf, ':', (size_t)(colon - buf)))
            return -1;
        *colon = '\0';
        *host = buf;
    }
    *port = colon + 1;
    char *endp;
    long p = strtol(*port, &endp, 10);
    if (!**host || !**port || *endp || p < 1 || p > 65535)
        return -1;
    return 0;
}

static char *copy_str(char **p, const char *s, size_t n)
{
    char *d = *p;
    memcpy(d, s, n);
    d[n] = '\0';
    *p += n + 1;
    return d;
}

static struct probe_tcp *tcp_alloc(const struct probe_tcp_conf *c)
{
    const char *addr = c->address ? c->address : "";
    size_t alen = strlen(addr), slen = c->send ? strlen(c->send) : 0;
    size_t xlen = c->expect ? strlen(c->expect) : 0;
    struct probe_tcp *t = base_malloc(sizeof(*t) + alen + 1 + slen + 1 + xlen + 1);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->dns_ms = t->connect_ms = t->reply_ms = -1;
    char *p = t->strings;
    t->host = copy_str(&p, addr, alen);
    if (c->send) {
        t->send = copy_str(&p, c->send, slen);
        t->send_len = slen;
    }
    if (c->expect && xlen) {
        t->expect = copy_str(&p, c->expect, xlen);
        t->expect_len = xlen;
    }
    return t;
}

static struct probe_run *tcp_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_tcp_conf *c = check->settings;
    struct probe_tcp *t = tcp_alloc(c);
    if (!t)
        return NULL;
    probe_run_init(&t->run, e, check);
    uv_timer_init(e->loop, &t->timer);
    t->timer.data = t;
    t->connect.data = t;
    t->write.data = t;
    t->gai.data = t;
    t->pending = 1;
    uv_timer_start(&t->timer, on_timer, (uint64_t)t->run.timeout_ms, 0);

    char *host, *port;
    if (split_address((char *)t->host, &host, &port) != 0) {
        char shown[SHOWN_MAX];
        probe_escape(c->address ? c->address : "", c->address ? strlen(c->address) : 0, shown,
                     sizeof(shown));
        fail(t, true, "invalid address \"%s\" (expected host:port)", shown);
        return &t->run;
    }
    t->host = host;
    t->port = port;
    struct sockaddr_storage ss;
    int port_n = atoi(port);
    if (uv_ip4_addr(host, port_n, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, port_n, (struct sockaddr_in6 *)&ss) == 0) {
        start_connect(t, (const struct sockaddr *)&ss);
        return &t->run;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    int rc = uv_getaddrinfo(e->loop, &t->gai, on_resolved, host, port, &hints);
    if (rc) {
        fail(t, true, "DNS: %s: %s", host, uv_strerror(rc));
        return &t->run;
    }
    t->resolving = true;
    t->pending++;
    return &t->run;
}

/* ---- the type ---- */

#define F(m) offsetof(struct probe_tcp_conf, m)
static const struct conf_field tcp_fields[] = {
    CONF_FIELD("address", CONF_FIELD_HOSTPORT, F(address), CONF_FIELD_REQUIRED, "host:port or [v6]:port to connect to",
               .example = "'127.0.0.1:6379'"),
    CONF_FIELD("send", CONF_FIELD_STRING, F(send), CONF_FIELD_SECRET, "Bytes to send once connected (sealed at rest)",
               .example = "\"PING\\r\\n\""),
    CONF_FIELD("expect", CONF_FIELD_STRING, F(expect), 0,
     "Text the reply must contain within its first 4096 bytes (a banner, +PONG)", .example = "+PONG"),
    CONF_FIELD_END,
};
#undef F

static void tcp_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_tcp_conf *t = c->settings;
    snprintf(buf, n, "%s", t && t->address ? t->address : "");
}

static const struct conf_check_value tcp_values[] = {
    {"phase_resolve_seconds", "Name resolution (not for IP addresses)", "probe_dns_lookup_time_seconds", NULL, NULL},
    {"phase_connect_seconds", "TCP connect, after resolution", "opshub_tcp_duration_seconds", "phase", "connect"},
    {"phase_reply_seconds", "From connected to the expected text read", "opshub_tcp_duration_seconds", "phase",
     "reply"},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_tcp_type = {
    .name = "tcp",
    .summary = "Connects to a TCP port, optionally sends a payload and expects a reply",
    .settings_size = sizeof(struct probe_tcp_conf),
    .fields = tcp_fields,
    .target = tcp_target,
    .values = tcp_values,
    .start = tcp_start,
    .cancel = tcp_cancel,
};
