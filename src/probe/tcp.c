/*
 * probe/tcp: the tcp check type over a probe/conn connection (names
 * resolved on the pool, each address tried in turn). One allocation per
 * run holds the deadline timer, the 4 KiB reply buffer and copies of the
 * address, payload and expected text; after the callback (or a cancel) the
 * run closes its connection and its timer and frees itself in the timer's
 * close callback, keeping the engine open until then. A reply is never
 * logged; error texts show it escaped and truncated.
 */
#include "probe/tcp.h"

#include "base/alloc.h"
#include "probe/conn.h"
#include "probe/conn_run.h"
#include "probe/probe_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 72

struct probe_tcp {
    struct probe_conn_run cr;       /* first: a run pointer is a probe_tcp pointer */
    const char *address, *send, *expect;
    size_t send_len, expect_len;
    size_t rlen;
    double reply_ms;                /* ms from the start; -1 until the expected text is read */
    char rbuf[PROBE_TCP_READ_MAX];
    char strings[];                 /* address, send, expect */
};

static void on_timer(uv_timer_t *t);

/* Milliseconds from the run's start to a phase end (uv_hrtime), -1 when
 * not reached. */
static double since_start(const struct probe_tcp *t, uint64_t ns)
{
    return ns ? (double)(ns - t->cr.run.t0_ns) / 1e6 : -1;
}

/* The phases reached, as values: resolve (names only), connect, reply (up
 * to the expected text). */
static void fill_values(struct probe_tcp *t)
{
    struct sample *s = &t->cr.run.s;
    const struct probe_conn_times *tm = t->cr.conn ? probe_conn_times(t->cr.conn) : NULL;
    double dns_ms = tm ? since_start(t, tm->resolved_ns) : -1;
    double connect_ms = tm ? since_start(t, tm->connected_ns) : -1;
    if (dns_ms >= 0)
        sample_value_set(s, "phase_resolve_seconds", dns_ms / 1000.0);
    if (connect_ms >= 0)
        sample_value_set(s, "phase_connect_seconds", (connect_ms - (dns_ms > 0 ? dns_ms : 0)) / 1000.0);
    if (t->reply_ms >= 0 && connect_ms >= 0)
        sample_value_set(s, "phase_reply_seconds", (t->reply_ms - connect_ms) / 1000.0);
}

static void before_finish(struct probe_conn_run *cr)
{
    fill_values((struct probe_tcp *)cr);
}

static const struct probe_conn_run_ops tcp_run_ops = {.before_finish = before_finish};

static void tcp_cancel(struct probe_run *r)
{
    probe_conn_run_teardown((struct probe_conn_run *)r);
}

/* ---- reply ---- */

static void fail_expect(struct probe_tcp *t, const char *why)
{
    char want[SHOWN_MAX], got[SHOWN_MAX];
    probe_escape(t->expect, t->expect_len, want, sizeof(want));
    if (!t->rlen) {
        probe_conn_run_fail(&t->cr, false, "expected \"%s\" in reply, got nothing (%s)", want, why);
        return;
    }
    probe_escape(t->rbuf, t->rlen, got, sizeof(got));
    probe_conn_run_fail(&t->cr, false, "expected \"%s\" in reply, got \"%s\" (%s)", want, got, why);
}

static void on_read(void *data, const char *buf, size_t n)
{
    struct probe_tcp *t = data;
    if (!t->expect || t->rlen == sizeof(t->rbuf))
        return;
    size_t take = n < sizeof(t->rbuf) - t->rlen ? n : sizeof(t->rbuf) - t->rlen;
    size_t from = t->rlen >= t->expect_len ? t->rlen - t->expect_len + 1 : 0;
    memcpy(t->rbuf + t->rlen, buf, take);
    t->rlen += take;
    if (memmem(t->rbuf + from, t->rlen - from, t->expect, t->expect_len)) {
        t->reply_ms = t->cr.run.s.latency_ms = probe_run_elapsed_ms(&t->cr.run);
        probe_conn_run_finish(&t->cr, SAMPLE_UP);
        return;
    }
    if (t->rlen == sizeof(t->rbuf))
        fail_expect(t, "not in the first 4096 bytes");
}

static void on_closed_by_peer(void *data, int status)
{
    struct probe_tcp *t = data;
    if (!t->expect) /* a send without expect ends when the payload is written */
        return;
    if (status == UV_EOF) {
        fail_expect(t, "connection closed");
        return;
    }
    char why[96];
    snprintf(why, sizeof(why), "read failed: %s", uv_strerror(status));
    fail_expect(t, why);
}

/* ---- connect and send ---- */

static void on_sent(void *data)
{
    struct probe_tcp *t = data;
    if (!t->expect) {
        t->cr.run.s.latency_ms = probe_run_elapsed_ms(&t->cr.run);
        probe_conn_run_finish(&t->cr, SAMPLE_UP);
    }
}

static void on_open(void *data)
{
    struct probe_tcp *t = data;
    t->cr.run.s.latency_ms = probe_run_elapsed_ms(&t->cr.run);
    if (!t->send && !t->expect) {
        probe_conn_run_finish(&t->cr, SAMPLE_UP);
        return;
    }
    if (t->send) {
        int rc = probe_conn_write(t->cr.conn, t->send, t->send_len);
        if (rc)
            probe_conn_run_fail(&t->cr, false, "send failed: %s", uv_strerror(rc));
    }
}

static void on_error(void *data, const char *why)
{
    probe_conn_run_fail(data, false, "%s", why);
}

static const struct probe_conn_cbs conn_cbs = {
    .open = on_open, .read = on_read, .closed = on_closed_by_peer, .error = on_error, .sent = on_sent,
};

/* ---- timeout ---- */

static void on_timer(uv_timer_t *h)
{
    struct probe_tcp *t = h->data;
    if (probe_conn_run_timer_over(&t->cr))
        return;
    t->cr.run.s.latency_ms = probe_run_elapsed_ms(&t->cr.run);
    enum probe_conn_phase phase = t->cr.conn ? probe_conn_phase(t->cr.conn) : PROBE_CONN_IDLE;
    if (phase == PROBE_CONN_OPEN && t->expect) {
        char why[64];
        snprintf(why, sizeof(why), "timeout after %" PRId64 " ms", t->cr.run.timeout_ms);
        fail_expect(t, why);
        return;
    }
    probe_conn_run_fail(&t->cr, false, "timeout after %" PRId64 " ms (%s)", t->cr.run.timeout_ms,
         phase == PROBE_CONN_RESOLVING ? "resolving" : phase == PROBE_CONN_OPEN ? "sending" : "connecting");
}

/* ---- start ---- */

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
    t->reply_ms = -1;
    char *p = t->strings;
    t->address = copy_str(&p, addr, alen);
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
    probe_conn_run_init(&t->cr, e, check, &tcp_run_ops, on_timer);

    char *host, *port;
    if (probe_conn_split_address((char *)t->address, &host, &port) != 0) {
        char shown[SHOWN_MAX];
        probe_escape(c->address ? c->address : "", c->address ? strlen(c->address) : 0, shown,
                     sizeof(shown));
        probe_conn_run_fail(&t->cr, true, "invalid address \"%s\" (expected host:port)", shown);
        return &t->cr.run;
    }
    t->cr.conn = probe_conn_new(e, host, port, NULL, &conn_cbs, t);
    char why[SAMPLE_ERROR_MAX];
    if (!t->cr.conn)
        probe_conn_run_fail(&t->cr, true, "out of memory");
    else if (probe_conn_start(t->cr.conn, why, sizeof(why)) != 0)
        probe_conn_run_fail(&t->cr, true, "%s", why);
    return &t->cr.run;
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
