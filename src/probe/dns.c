/*
 * probe/dns: a run is one c-ares channel with one query. The channel is
 * per run, not shared per server: c-ares takes the query timeout and the
 * try count per channel and each check has its own deadline, a channel
 * costs little next to its socket (which a shared one would open per
 * query anyway), and a run that owns its channel can destroy it when it
 * ends or is canceled without touching anyone else's queries. The cost is
 * that c-ares reads /etc/resolv.conf at each run's start (a small local
 * file, as the libc resolver does per process).
 *
 * c-ares tells which sockets it wants watched (ARES_OPT_SOCK_STATE_CB):
 * each gets a uv_poll_t; a uv_timer_t follows ares_timeout for its
 * retransmissions; a second one is the run's deadline (the check's
 * timeout, also c-ares' own with one try, so it never retries past it).
 * Nothing is done inside a c-ares callback but noting what it said: the
 * sample is built and the channel destroyed only after ares_process_fd
 * (or ares_query) has returned, because c-ares must not be destroyed from
 * its own callbacks. ares_destroy calls the query callback with
 * ARES_EDESTRUCTION and the socket callback for each socket it closes;
 * both are expected then and only close poll handles.
 */
#include "probe/dns.h"

#include "base/alloc.h"
#include "probe/dns_answer.h"
#include "probe/dns_conf.h"
#include "probe/probe_int.h"

#include <ares.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define C_IN 1
#define SHOWN_MAX 96
#define NAME_SHOWN_MAX 80

struct dns_sock {
    uv_poll_t poll;
    struct probe_dns *d;
    ares_socket_t fd;
    struct dns_sock *next;
};

struct probe_dns {
    struct probe_run run;           /* first: a run pointer is a probe_dns pointer */
    uv_timer_t deadline, tick;
    ares_channel channel;           /* NULL until made, and once destroyed */
    struct dns_sock *socks;         /* watched for c-ares */
    int open_handles;               /* timers and polls not yet through their close callback */
    bool failed, answered, tearing_down;
    int status;                     /* the query callback's ARES_* status */
    int parsed;                     /* probe_dns_answer_parse's status; ARES_EBADRESP without a response */
    enum probe_dns_record record;
    char server[PROBE_DNS_SERVER_MAX]; /* c-ares' form; "" for the system's resolvers */
    const char *name;
    const char **expect;
    size_t n_expect;
    struct probe_dns_answer answer;
    const char *slots[];            /* the expect pointers, then the entries and the name */
};

static void on_deadline(uv_timer_t *t);

/* ---- teardown ---- */

static void handle_closed(struct probe_dns *d)
{
    if (--d->open_handles > 0 || !d->tearing_down)
        return;
    struct probe_engine *e = d->run.engine;
    base_free(d);
    ares_library_cleanup();
    probe_engine_release(e);
}

static void on_sock_closed(uv_handle_t *h)
{
    struct dns_sock *s = h->data;
    struct probe_dns *d = s->d;
    base_free(s);
    handle_closed(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void sock_close(struct probe_dns *d, struct dns_sock *s)
{
    for (struct dns_sock **p = &d->socks; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* Destroys the channel (never from inside a c-ares callback) and closes
 * every handle; the last close callback frees the run. */
static void teardown(struct probe_dns *d)
{
    if (d->tearing_down)
        return;
    d->tearing_down = true;
    d->run.engine->tearing_down++;
    if (d->channel)
        ares_destroy(d->channel); /* closes its sockets: sock_state closes their polls */
    d->channel = NULL;
    while (d->socks)
        sock_close(d, d->socks);
    uv_close((uv_handle_t *)&d->deadline, on_timer_closed);
    uv_close((uv_handle_t *)&d->tick, on_timer_closed);
}

static void dns_cancel(struct probe_run *r)
{
    teardown((struct probe_dns *)r);
}

/* ---- the sample ---- */

static void finish(struct probe_dns *d, enum sample_result result)
{
    struct sample *s = &d->run.s;
    s->result = result;
    if (result == SAMPLE_UP)
        s->error[0] = '\0';
    if (s->latency_ms < 0.001)
        s->latency_ms = probe_run_elapsed_ms(&d->run);
    uv_timer_stop(&d->deadline);
    uv_timer_stop(&d->tick);
    probe_run_finish(&d->run);
    teardown(d);
}

/* Notes a failure for on_deadline to report on the next loop turn (from
 * dns_start, or from inside a c-ares callback). */
static void fail_later(struct probe_dns *d, const char *fmt, ...) BASE_PRINTF(2, 3);
static void fail_later(struct probe_dns *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->run.s.error, sizeof(d->run.s.error), fmt, ap);
    va_end(ap);
    d->failed = true;
    uv_timer_start(&d->deadline, on_deadline, 0, 0);
}

static const char *server_shown(const struct probe_dns *d)
{
    return d->server[0] ? d->server : "the system resolver";
}

/* Every expected answer present: true; else the sample's error names the
 * missing ones and what was answered. */
static bool expect_met(struct probe_dns *d, const char *name)
{
    char missing[SHOWN_MAX * 2] = "", shown[SHOWN_MAX], got[SHOWN_MAX];
    size_t used = 0, n_missing = 0;
    for (size_t i = 0; i < d->n_expect; i++) {
        if (probe_dns_answer_has(&d->answer, d->record, d->expect[i]))
            continue;
        probe_escape(d->expect[i], strlen(d->expect[i]), shown, sizeof(shown));
        int w = snprintf(missing + used, sizeof(missing) - used, "%s\"%s\"", n_missing ? ", " : "", shown);
        if (w > 0 && (size_t)w < sizeof(missing) - used)
            used += (size_t)w;
        n_missing++;
    }
    if (!n_missing)
        return true;
    probe_dns_answer_list(&d->answer, got, sizeof(got));
    sample_set_error(&d->run.s, "%s %s: missing %s (answered: %s)", name, probe_dns_record_names[d->record],
                     missing, got);
    return false;
}

/* The sample from what the query callback noted. */
static void complete(struct probe_dns *d)
{
    struct sample *s = &d->run.s;
    const char *rec = probe_dns_record_names[d->record];
    char name[NAME_SHOWN_MAX];
    probe_escape(d->name, strlen(d->name), name, sizeof(name));
    if (d->answer.has_header) {
        sample_value_set(s, "lookup_time_seconds", s->latency_ms / 1000.0);
        sample_value_set(s, "answer_rrs", d->answer.answer_rrs);
        sample_value_set(s, "authority_rrs", d->answer.authority_rrs);
        sample_value_set(s, "additional_rrs", d->answer.additional_rrs);
        s->code = (int)d->answer.rcode;
    }
    switch (d->status) {
    case ARES_SUCCESS:
        if (d->parsed == ARES_ENODATA)
            sample_set_error(s, "no %s record for %s", rec, name);
        else if (d->parsed != ARES_SUCCESS)
            sample_set_error(s, "bad %s response for %s: %s", rec, name, ares_strerror(d->parsed));
        else if (expect_met(d, name)) {
            finish(d, SAMPLE_UP);
            return;
        }
        break;
    case ARES_ENODATA:
        sample_set_error(s, "no %s record for %s", rec, name);
        break;
    case ARES_ENOTFOUND:
        sample_set_error(s, "NXDOMAIN: %s", name);
        break;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ENOTIMP:
    case ARES_EFORMERR:
        sample_set_error(s, "%s from %s for %s %s",
                         d->status == ARES_ESERVFAIL ? "SERVFAIL" : d->status == ARES_EREFUSED ? "REFUSED"
                         : d->status == ARES_ENOTIMP ? "NOTIMP" : "FORMERR", server_shown(d), name, rec);
        break;
    case ARES_ETIMEOUT:
        sample_set_error(s, "timeout after %" PRId64 " ms (no answer from %s)", d->run.timeout_ms, server_shown(d));
        break;
    case ARES_ECONNREFUSED:
        if (d->server[0]) /* one server, asked once: the port was unreachable */
            sample_set_error(s, "connection refused by %s (nothing listening?)", d->server);
        else
            sample_set_error(s, "no usable answer from the system resolver (refused, unreachable or failing)");
        break;
    default:
        sample_set_error(s, "DNS: %s", ares_strerror(d->status));
        break;
    }
    finish(d, SAMPLE_DOWN);
}

/* ---- c-ares ---- */

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct probe_dns *d = arg;
    if (d->tearing_down || d->answered)
        return; /* ARES_EDESTRUCTION or ARES_ECANCELLED from teardown */
    d->answered = true;
    d->status = status;
    d->run.s.latency_ms = probe_run_elapsed_ms(&d->run);
    d->parsed = ARES_EBADRESP;
    if (abuf && alen > 0) /* abuf lives for this call only */
        d->parsed = probe_dns_answer_parse(d->record, abuf, (size_t)alen, &d->answer);
}

static void on_tick(uv_timer_t *t);

/* The tick follows c-ares' next retransmission or timeout. */
static void rearm_tick(struct probe_dns *d)
{
    struct timeval tv;
    if (!d->channel || !ares_timeout(d->channel, NULL, &tv)) {
        uv_timer_stop(&d->tick);
        return;
    }
    uint64_t ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    uv_timer_start(&d->tick, on_tick, ms, 0);
}

/* After c-ares returned: report what its callbacks noted, or wait on. */
static void after_ares(struct probe_dns *d);

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct dns_sock *s = h->data;
    struct probe_dns *d = s->d;
    if (d->tearing_down || !d->channel)
        return;
    ares_socket_t fd = s->fd;
    bool readable = status < 0 || (events & (UV_READABLE | UV_DISCONNECT));
    bool writable = status < 0 || (events & UV_WRITABLE);
    ares_process_fd(d->channel, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
    after_ares(d);
}

/* c-ares wants fd watched for reading and/or writing, or no longer. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct probe_dns *d = data;
    struct dns_sock *s = d->socks;
    while (s && s->fd != fd)
        s = s->next;
    if (!readable && !writable) {
        if (s)
            sock_close(d, s);
        return;
    }
    if (d->tearing_down)
        return;
    if (!s) {
        if (!(s = base_calloc(1, sizeof(*s)))) {
            fail_later(d, "out of memory");
            return;
        }
        int rc = uv_poll_init_socket(d->run.engine->loop, &s->poll, fd);
        if (rc) {
            base_free(s);
            fail_later(d, "cannot watch the DNS socket: %s", uv_strerror(rc));
            return;
        }
        s->poll.data = s;
        s->d = d;
        s->fd = fd;
        s->next = d->socks;
        d->socks = s;
        d->open_handles++;
    }
    uv_poll_start(&s->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
}

static void after_ares(struct probe_dns *d)
{
    if (d->tearing_down || d->run.done)
        return;
    if (d->failed)
        finish(d, SAMPLE_DOWN);
    else if (d->answered)
        complete(d);
    else
        rearm_tick(d);
}

static void on_tick(uv_timer_t *t)
{
    struct probe_dns *d = t->data;
    if (d->tearing_down || !d->channel)
        return;
    ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    after_ares(d);
}

/* The check's timeout, or a failure noted earlier. */
static void on_deadline(uv_timer_t *t)
{
    struct probe_dns *d = t->data;
    if (d->run.done || d->tearing_down)
        return;
    if (d->failed) {
        finish(d, SAMPLE_DOWN);
        return;
    }
    if (d->answered) {
        complete(d);
        return;
    }
    d->run.s.latency_ms = probe_run_elapsed_ms(&d->run);
    sample_set_error(&d->run.s, "timeout after %" PRId64 " ms (no answer from %s)", d->run.timeout_ms,
                     server_shown(d));
    finish(d, SAMPLE_DOWN);
}

/* ---- start ---- */

static struct probe_dns *dns_alloc(const struct probe_dns_conf *c)
{
    const char *name = c->name ? c->name : "";
    size_t size = sizeof(struct probe_dns) + c->expect.n * sizeof(char *) + strlen(name) + 1;
    for (size_t i = 0; i < c->expect.n; i++)
        size += strlen(c->expect.items[i]) + 1;
    struct probe_dns *d = base_malloc(size);
    if (!d)
        return NULL;
    memset(d, 0, sizeof(*d));
    d->expect = d->slots;
    char *p = (char *)(d->slots + c->expect.n);
    for (size_t i = 0; i < c->expect.n; i++) {
        size_t len = strlen(c->expect.items[i]);
        memcpy(p, c->expect.items[i], len + 1);
        d->expect[i] = p;
        p += len + 1;
    }
    d->n_expect = c->expect.n;
    memcpy(p, name, strlen(name) + 1);
    d->name = p;
    d->record = probe_dns_conf_record(c);
    return d;
}

/* The channel and the query; a failure is reported on the next turn. */
static void query_start(struct probe_dns *d, const struct probe_dns_conf *c)
{
    const char *why;
    if (c->server && probe_dns_conf_server_parse(c->server, d->server, sizeof(d->server), &why) != 0) {
        d->server[0] = '\0';
        fail_later(d, "%s", why); /* validated at load: only a settings struct built by hand */
        return;
    }
    struct ares_options o;
    memset(&o, 0, sizeof(o));
    o.timeout = d->run.timeout_ms > INT_MAX ? INT_MAX : (int)d->run.timeout_ms;
    o.tries = 1;
    o.sock_state_cb = sock_state;
    o.sock_state_cb_data = d;
    /* With one named server there is nothing to fall back to: its
     * SERVFAIL or REFUSED is the answer. The system's resolvers keep
     * c-ares' default of asking the next one. */
    o.flags = d->server[0] ? ARES_FLAG_NOCHECKRESP : 0;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS;
    int rc = ares_init_options(&d->channel, &o, mask);
    if (rc != ARES_SUCCESS) {
        d->channel = NULL;
        fail_later(d, "DNS: cannot start the resolver: %s", ares_strerror(rc));
        return;
    }
    if (d->server[0] && (rc = ares_set_servers_ports_csv(d->channel, d->server)) != ARES_SUCCESS) {
        fail_later(d, "DNS: cannot use server %s: %s", d->server, ares_strerror(rc));
        return;
    }
    ares_query(d->channel, d->name, C_IN, probe_dns_conf_record_type(d->record), on_answer, d);
    if (d->answered || d->failed)
        uv_timer_start(&d->deadline, on_deadline, 0, 0); /* answered at once: report on the next turn */
    else
        rearm_tick(d);
}

static struct probe_run *dns_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_dns_conf *c = check->settings;
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
        return NULL;
    struct probe_dns *d = dns_alloc(c);
    if (!d) {
        ares_library_cleanup();
        return NULL;
    }
    probe_run_init(&d->run, e, check);
    uv_timer_init(e->loop, &d->deadline);
    uv_timer_init(e->loop, &d->tick);
    d->deadline.data = d->tick.data = d;
    d->open_handles = 2;
    uv_timer_start(&d->deadline, on_deadline, (uint64_t)d->run.timeout_ms, 0);
    query_start(d, c);
    return &d->run;
}

/* ---- the type ---- */

const struct conf_check_type probe_dns_type = {
    .name = "dns",
    .summary = "Asks a resolver for A, AAAA, CNAME, MX, TXT or NS records of a name and expects answers among them",
    .settings_size = sizeof(struct probe_dns_conf),
    .fields = probe_dns_conf_fields,
    .validate = probe_dns_conf_validate,
    .target = probe_dns_conf_target,
    .values = probe_dns_conf_values,
    .start = dns_start,
    .cancel = dns_cancel,
};
