/*
 * probe/tls: the tls check type: uv_tcp plus an OpenSSL client between two
 * memory BIOs, so the loop moves the bytes and never blocks inside OpenSSL.
 * One allocation per run holds the handles, the read buffer and copies of
 * the address, server name and CA path. The SSL_CTX is built per run on
 * libuv's thread pool (it reads the system store or ca_file from disk);
 * the work callback touches only the run's ctx and ctx_err. Contexts are
 * kept per engine by ca_file for an hour (curl keeps its CA cache a day),
 * so a run at most every hour pays for parsing the bundle. The chain and
 * the name are verified by OpenSSL during the handshake with
 * SSL_VERIFY_NONE, so the handshake completes and the verify result is
 * read afterwards: an invalid certificate still reports its dates. The run
 * counts its open handles, pending resolution and pending work; after the
 * callback (or a cancel) it closes them and frees itself in the last one.
 */
#include "probe/tls.h"

#include "base/alloc.h"
#include "probe/probe_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHOWN_MAX 72
#define NAME_SHOWN_MAX 64   /* subject and issuer in error texts */
#define READ_CHUNK 16384
#define CACHE_MAX 32                          /* distinct ca_files (and the system store) */
#define CACHE_TTL_MS (60 * 60 * 1000)         /* a changed bundle is read again after this */

/* Loop-owned: SSL_CTX are reference counted, so a run holds its own. */
struct probe_tls_cache {
    struct {
        char *ca_file;                        /* NULL: the system store */
        SSL_CTX *ctx;
        uint64_t loaded_ms;                   /* uv_now */
    } items[CACHE_MAX];
    size_t n;
};

struct probe_tls {
    struct probe_run run;           /* first: a run pointer is a probe_tls pointer */
    uv_timer_t timer;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    uv_work_t work;
    struct addrinfo *ai, *ai_cur;
    SSL_CTX *ctx;                   /* set by the work callback */
    SSL *ssl;                       /* owns both memory BIOs */
    int pending;                    /* open handles + resolution + work in flight */
    bool tcp_open, resolving, working, connected, failed, retrying, tearing_down;
    bool starting;                  /* inside tls_start: failures are reported on the next turn */
    const char *host, *port, *server_name, *ca_file;
    int warn_days, crit_days;
    size_t received;
    double dns_ms, connect_ms;      /* phase ends in ms from the start; -1 until reached */
    char ctx_err[160];              /* written by the work callback */
    char rbuf[READ_CHUNK];
    char strings[];                 /* address, server name, ca_file */
};

/* One uv_write of handshake bytes; freed in its callback. */
struct tls_out {
    uv_write_t req;
    struct probe_tls *t;
    char data[];
};

static void on_timer(uv_timer_t *h);
static void start_connect(struct probe_tls *t, const struct sockaddr *addr);

enum sample_result probe_tls_result(double days_left, int warn_days, int crit_days)
{
    if (days_left < crit_days)
        return SAMPLE_DOWN;
    if (days_left < warn_days)
        return SAMPLE_DEGRADED;
    return SAMPLE_UP;
}

/* ---- teardown ---- */

static void unref(struct probe_tls *t)
{
    if (--t->pending > 0 || !t->tearing_down)
        return;
    struct probe_engine *e = t->run.engine;
    if (t->ai)
        uv_freeaddrinfo(t->ai);
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    ERR_clear_error();
    base_free(t);
    probe_engine_release(e);
}

static void on_closed(uv_handle_t *h)
{
    struct probe_tls *t = h->data;
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

static void teardown(struct probe_tls *t)
{
    t->tearing_down = true;
    t->run.engine->tearing_down++;
    if (t->resolving)
        uv_cancel((uv_req_t *)&t->gai);   /* on_resolved still runs, with UV_EAI_CANCELED */
    if (t->working)
        uv_cancel((uv_req_t *)&t->work);  /* after_work still runs (UV_ECANCELED if it was queued) */
    if (t->tcp_open && !t->retrying)
        uv_close((uv_handle_t *)&t->tcp, on_closed);
    uv_close((uv_handle_t *)&t->timer, on_closed);
}

static void finish(struct probe_tls *t, enum sample_result result)
{
    t->run.s.result = result;
    if (result == SAMPLE_UP)
        t->run.s.error[0] = '\0';
    if (t->run.s.latency_ms < 0.001)
        t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
    uv_timer_stop(&t->timer);
    probe_run_finish(&t->run);
    teardown(t);
}

static void tls_cancel(struct probe_run *r)
{
    teardown((struct probe_tls *)r);
}

/* Reports a failure: at once from a loop callback, on the next loop turn
 * from tls_start (a run never completes synchronously). */
static void fail(struct probe_tls *t, bool deferred, const char *fmt, ...) BASE_PRINTF(3, 4);
static void fail(struct probe_tls *t, bool deferred, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->run.s.error, sizeof(t->run.s.error), fmt, ap);
    va_end(ap);
    t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
    if (deferred || t->starting) {
        t->failed = true;
        uv_timer_start(&t->timer, on_timer, 0, 0);
    } else {
        finish(t, SAMPLE_DOWN);
    }
}

/* The first OpenSSL reason in the queue (the root cause), emptying it. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : fallback;
}

/* ---- the certificate ---- */

/* notAfter of a certificate as unix seconds; false when unreadable. */
static bool not_after_unix(const X509 *x, int64_t *out)
{
    struct tm tm;
    const ASN1_TIME *na = x ? X509_get0_notAfter(x) : NULL;
    if (!na || ASN1_TIME_to_tm(na, &tm) != 1)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

bool probe_tls_peer_not_after(const SSL *ssl, int64_t *unix_s)
{
    return ssl && not_after_unix(SSL_get0_peer_certificate(ssl), unix_s);
}

/* "subject /CN=a, issuer /CN=b, not_after 2026-12-05T10:00:00Z" */
static void describe(X509 *leaf, int64_t not_after, char *buf, size_t n)
{
    char subject[NAME_SHOWN_MAX], issuer[NAME_SHOWN_MAX], when[32] = "?";
    if (!X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof(subject)))
        snprintf(subject, sizeof(subject), "?");
    if (!X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer)))
        snprintf(issuer, sizeof(issuer), "?");
    time_t na = (time_t)not_after;
    struct tm tm;
    if (gmtime_r(&na, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(buf, n, "subject %s, issuer %s, not_after %s", subject, issuer, when);
}

/* The handshake is done: values, then verification, then the thresholds. */
static void judge(struct probe_tls *t)
{
    struct sample *s = &t->run.s;
    double now_ms = probe_run_elapsed_ms(&t->run);
    s->latency_ms = now_ms;
    sample_value_set(s, "handshake_seconds", (now_ms - t->connect_ms) / 1000.0);

    X509 *leaf = SSL_get0_peer_certificate(t->ssl);
    int64_t not_after;
    if (!leaf || !not_after_unix(leaf, &not_after)) {
        fail(t, false, "TLS: the server sent no readable certificate");
        return;
    }
    int64_t earliest = not_after;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(t->ssl);
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        int64_t na;
        if (not_after_unix(sk_X509_value(chain, i), &na) && na < earliest)
            earliest = na;
    }
    double days_left = ((double)not_after * 1000.0 - (double)s->ts_ms) / 86400000.0;
    sample_value_set(s, "days_left", days_left);
    sample_value_set(s, "earliest_expiry_seconds", (double)earliest);

    char about[SAMPLE_ERROR_MAX];
    describe(leaf, not_after, about, sizeof(about));
    long vr = SSL_get_verify_result(t->ssl);
    if (vr != X509_V_OK) {
        fail(t, false, "certificate verify failed: %s (%s)", X509_verify_cert_error_string(vr), about);
        return;
    }
    enum sample_result r = probe_tls_result(days_left, t->warn_days, t->crit_days);
    if (r != SAMPLE_UP)
        sample_set_error(s, "certificate expires in %.1f days (%s %d): %s", days_left,
                         r == SAMPLE_DOWN ? "crit_days" : "warn_days",
                         r == SAMPLE_DOWN ? t->crit_days : t->warn_days, about);
    finish(t, r);
}

/* ---- handshake ---- */

static void on_written(uv_write_t *req, int status)
{
    struct tls_out *o = req->data;
    struct probe_tls *t = o->t;
    base_free(o);
    if (t->run.done || status == 0)
        return;
    fail(t, false, "TLS handshake: send failed: %s", uv_strerror(status));
}

/* Sends what OpenSSL wrote into its output BIO; 0 or -1 after failing. */
static int flush(struct probe_tls *t)
{
    BIO *out = SSL_get_wbio(t->ssl);
    size_t n = BIO_ctrl_pending(out);
    if (!n)
        return 0;
    struct tls_out *o = base_malloc(sizeof(*o) + n);
    if (!o) {
        fail(t, false, "out of memory");
        return -1;
    }
    o->t = t;
    o->req.data = o;
    int got = BIO_read(out, o->data, (int)n);
    if (got <= 0) {
        base_free(o);
        fail(t, false, "TLS: %s", ssl_reason("cannot read the output buffer"));
        return -1;
    }
    uv_buf_t b = uv_buf_init(o->data, (unsigned)got);
    int rc = uv_write(&o->req, (uv_stream_t *)&t->tcp, &b, 1, on_written);
    if (rc) {
        base_free(o);
        fail(t, false, "TLS handshake: send failed: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void step(struct probe_tls *t)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    if (flush(t) != 0)
        return;
    if (rc == 1) {
        judge(t);
        return;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return;
    }
    fail(t, false, "TLS handshake failed: %s", ssl_reason("protocol error"));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct probe_tls *t = h->data;
    *buf = uv_buf_init(t->rbuf, sizeof(t->rbuf));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_tls *t = st->data;
    if (t->run.done || nread == 0)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            fail(t, false, "TLS handshake: connection closed by the server");
        else
            fail(t, false, "TLS handshake: read failed: %s", uv_strerror((int)nread));
        return;
    }
    t->received += (size_t)nread;
    if (t->received > PROBE_TLS_READ_MAX) {
        fail(t, false, "TLS handshake: more than %d bytes without completing", PROBE_TLS_READ_MAX);
        return;
    }
    if (BIO_write(SSL_get_rbio(t->ssl), buf->base, (int)nread) != (int)nread) {
        fail(t, false, "TLS: %s", ssl_reason("cannot buffer the input"));
        return;
    }
    step(t);
}

static bool is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* A client SSL between two memory BIOs, checking server_name: SNI and a
 * host name, or an IP address (never sent as SNI). */
static int start_handshake(struct probe_tls *t)
{
    BIO *in = NULL, *out = NULL;
    ERR_clear_error();
    t->ssl = SSL_new(t->ctx);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    if (!t->ssl || !in || !out)
        goto fail;
    BIO_set_mem_eof_return(in, -1);  /* empty means "wait for more", not end of file */
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(t->ssl, in, out);    /* ssl owns both from here */
    in = out = NULL;
    if (is_ip(t->server_name)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->server_name) != 1)
            goto fail;
    } else if (SSL_set_tlsext_host_name(t->ssl, t->server_name) != 1 ||
               SSL_set1_host(t->ssl, t->server_name) != 1) {
        goto fail;
    }
    SSL_set_connect_state(t->ssl);
    return 0;
fail:
    BIO_free(in);
    BIO_free(out);
    return -1;
}

/* ---- connect ---- */

static void on_connect(uv_connect_t *req, int status)
{
    struct probe_tls *t = req->data;
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
    if (start_handshake(t) != 0) {
        fail(t, false, "TLS: %s", ssl_reason("cannot set up the client"));
        return;
    }
    int rc = uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
    if (rc) {
        fail(t, false, "read failed: %s", uv_strerror(rc));
        return;
    }
    step(t);
}

static void start_connect(struct probe_tls *t, const struct sockaddr *addr)
{
    int rc = uv_tcp_init(t->run.engine->loop, &t->tcp);
    if (rc) {
        fail(t, false, "connect failed: %s", uv_strerror(rc));
        return;
    }
    t->tcp.data = t;
    t->tcp_open = true;
    t->pending++;
    rc = uv_tcp_connect(&t->connect, &t->tcp, addr, on_connect);
    if (rc == UV_ECONNREFUSED)
        fail(t, false, "connection refused");
    else if (rc)
        fail(t, false, "connect failed: %s", uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct probe_tls *t = req->data;
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

/* Connects to an IP address at once, or resolves the name first. */
static void resolve_and_connect(struct probe_tls *t)
{
    struct sockaddr_storage ss;
    int port_n = atoi(t->port);
    if (uv_ip4_addr(t->host, port_n, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(t->host, port_n, (struct sockaddr_in6 *)&ss) == 0) {
        start_connect(t, (const struct sockaddr *)&ss);
        return;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    int rc = uv_getaddrinfo(t->run.engine->loop, &t->gai, on_resolved, t->host, t->port, &hints);
    if (rc) {
        fail(t, false, "DNS: %s: %s", t->host, uv_strerror(rc));
        return;
    }
    t->resolving = true;
    t->pending++;
}

/* ---- the context: cached, or built on the thread pool ---- */

static bool same_file(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A new reference to a fresh cached context for ca_file, or NULL. */
static SSL_CTX *cache_get(struct probe_engine *e, const char *ca_file)
{
    struct probe_tls_cache *c = e->tls_cache;
    uint64_t now = uv_now(e->loop);
    for (size_t i = 0; c && i < c->n; i++)
        if (same_file(c->items[i].ca_file, ca_file) && now - c->items[i].loaded_ms < CACHE_TTL_MS &&
            SSL_CTX_up_ref(c->items[i].ctx) == 1)
            return c->items[i].ctx;
    return NULL;
}

/* Keeps a reference to ctx for ca_file, replacing that file's entry or the
 * oldest one. Out of memory: not cached. */
static void cache_put(struct probe_engine *e, const char *ca_file, SSL_CTX *ctx)
{
    if (!e->tls_cache && !(e->tls_cache = base_calloc(1, sizeof(*e->tls_cache))))
        return;
    struct probe_tls_cache *c = e->tls_cache;
    size_t at = c->n;
    for (size_t i = 0; i < c->n && at == c->n; i++)
        if (same_file(c->items[i].ca_file, ca_file))
            at = i;
    if (at == CACHE_MAX) {
        at = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->items[i].loaded_ms < c->items[at].loaded_ms)
                at = i;
    }
    char *copy = NULL;
    if ((ca_file && !(copy = base_strdup(ca_file))) || SSL_CTX_up_ref(ctx) != 1) {
        base_free(copy);
        return;
    }
    if (at < c->n) {
        SSL_CTX_free(c->items[at].ctx);
        base_free(c->items[at].ca_file);
    } else {
        c->n++;
    }
    c->items[at].ca_file = copy;
    c->items[at].ctx = ctx;
    c->items[at].loaded_ms = uv_now(e->loop);
}

void probe_tls_cache_free(struct probe_tls_cache *c)
{
    for (size_t i = 0; c && i < c->n; i++) {
        SSL_CTX_free(c->items[i].ctx);
        base_free(c->items[i].ca_file);
    }
    base_free(c);
}

/* Thread pool: reads only t->ca_file, writes only t->ctx and t->ctx_err. */
static void build_ctx(uv_work_t *w)
{
    struct probe_tls *t = w->data;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(t->ctx_err, sizeof(t->ctx_err), "TLS: cannot create a context: %s", ssl_reason("?"));
        return;
    }
    if (t->ca_file) {
        FILE *f = fopen(t->ca_file, "r");
        if (!f) {
            snprintf(t->ctx_err, sizeof(t->ctx_err), "cannot read ca_file %s: %s", t->ca_file, strerror(errno));
            goto fail;
        }
        fclose(f);
        if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
            snprintf(t->ctx_err, sizeof(t->ctx_err), "cannot load ca_file %s: %s", t->ca_file,
                     ssl_reason("no certificate in it"));
            goto fail;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(t->ctx_err, sizeof(t->ctx_err), "TLS: cannot load the system CA store: %s", ssl_reason("?"));
        goto fail;
    }
    /* Verified during the handshake, judged after it (see the file header). */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ERR_clear_error();
    t->ctx = ctx;
    return;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

static void on_ctx_built(uv_work_t *w, int status)
{
    struct probe_tls *t = w->data;
    t->working = false;
    if (t->run.done) {
        unref(t);  /* frees t->ctx with the run */
        return;
    }
    t->pending--;
    if (status < 0) {
        fail(t, false, "TLS: %s", uv_strerror(status));
        return;
    }
    if (!t->ctx) {
        fail(t, false, "%s", t->ctx_err[0] ? t->ctx_err : "TLS: cannot create a context");
        return;
    }
    cache_put(t->run.engine, t->ca_file, t->ctx);
    resolve_and_connect(t);
}

/* ---- timeout ---- */

static void on_timer(uv_timer_t *h)
{
    struct probe_tls *t = h->data;
    if (t->run.done)
        return;
    if (t->failed) {
        finish(t, SAMPLE_DOWN);
        return;
    }
    fail(t, false, "timeout after %" PRId64 " ms (%s)", t->run.timeout_ms,
         t->working     ? "loading CA certificates"
         : t->resolving ? "resolving"
         : !t->connected ? "connecting"
                         : "TLS handshake");
}

/* ---- start ---- */

/* Splits "host:port" or "[v6]:port" in place; 0 or -1. */
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

static char *copy_str(char **p, const char *s)
{
    size_t n = strlen(s);
    char *d = *p;
    memcpy(d, s, n + 1);
    *p += n + 1;
    return d;
}

static struct probe_tls *tls_alloc(const struct probe_tls_conf *c)
{
    const char *addr = c->address ? c->address : "";
    size_t need = strlen(addr) + 1 + (c->server_name ? strlen(c->server_name) + 1 : 0) +
                  (c->ca_file ? strlen(c->ca_file) + 1 : 0);
    struct probe_tls *t = base_malloc(sizeof(*t) + need);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->dns_ms = t->connect_ms = -1;
    char *p = t->strings;
    t->host = copy_str(&p, addr);
    t->server_name = c->server_name ? copy_str(&p, c->server_name) : NULL;
    t->ca_file = c->ca_file ? copy_str(&p, c->ca_file) : NULL;
    t->warn_days = c->warn_days;
    t->crit_days = c->crit_days;
    return t;
}

static struct probe_run *tls_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_tls_conf *c = check->settings;
    struct probe_tls *t = tls_alloc(c);
    if (!t)
        return NULL;
    probe_run_init(&t->run, e, check);
    uv_timer_init(e->loop, &t->timer);
    t->timer.data = t;
    t->connect.data = t;
    t->gai.data = t;
    t->work.data = t;
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
    if (!t->server_name)
        t->server_name = host;
    if ((t->ctx = cache_get(e, t->ca_file))) {
        t->starting = true;
        resolve_and_connect(t);
        t->starting = false;
        return &t->run;
    }
    int rc = uv_queue_work(e->loop, &t->work, build_ctx, on_ctx_built);
    if (rc) {
        fail(t, true, "TLS: %s", uv_strerror(rc));
        return &t->run;
    }
    t->working = true;
    t->pending++;
    return &t->run;
}

/* ---- the type ---- */

static const struct conf_node *member(const struct conf_node *map, const char *key)
{
    for (const struct conf_node *n = map && map->kind == CONF_NODE_MAP ? map->child : NULL; n; n = n->next)
        if (n->key && strcmp(n->key->text, key) == 0)
            return n;
    return NULL;
}

static void tls_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_tls_conf *c = cc->settings;
    if (c->warn_days < c->crit_days) {
        const struct conf_node *at = member(map, "warn_days");
        if (!at)
            at = member(map, "crit_days");
        conf_value_error(ctx, at ? at : map, "warn_days (%d) must not be less than crit_days (%d)", c->warn_days,
                         c->crit_days);
    }
    if (c->server_name) {
        size_t n = strlen(c->server_name);
        bool bad = n == 0 || n > 253;
        for (const char *p = c->server_name; *p && !bad; p++)
            bad = *p <= ' ' || *p == 0x7f || *p == '/' || *p == '@';
        if (bad)
            conf_value_error(ctx, member(map, "server_name") ? member(map, "server_name") : map,
                             "server_name must be a host name or an IP address");
    }
    if (c->ca_file && !c->ca_file[0])
        conf_value_error(ctx, member(map, "ca_file") ? member(map, "ca_file") : map,
                         "ca_file must be a path to a PEM file");
}

static int tls_init(void *settings, struct base_arena *a)
{
    struct probe_tls_conf *c = settings;
    c->warn_days = PROBE_TLS_DEFAULT_WARN_DAYS;
    c->crit_days = PROBE_TLS_DEFAULT_CRIT_DAYS;
    return 0;
}

#define F(m) offsetof(struct probe_tls_conf, m)
static const struct conf_field tls_fields[] = {
    CONF_FIELD("address", CONF_FIELD_HOSTPORT, F(address), CONF_FIELD_REQUIRED, "host:port or [v6]:port to connect to",
               .example = "'db.example.com:5432'"),
    CONF_FIELD("server_name", CONF_FIELD_STRING, F(server_name), 0,
     "Name sent as SNI and verified against the certificate; default the host of address",
               .example = "www.example.com"),
    CONF_FIELD("ca_file", CONF_FIELD_STRING, F(ca_file), 0,
     "PEM bundle of CA certificates trusted instead of the system store", .example = "/etc/ssl/internal-ca.pem"),
    CONF_FIELD("warn_days", CONF_FIELD_INT, F(warn_days), 0, "Fewer days left makes the sample degraded; default 30",
     .min = 0, .max = PROBE_TLS_MAX_DAYS, .example = "21"),
    CONF_FIELD("crit_days", CONF_FIELD_INT, F(crit_days), 0, "Fewer days left makes the sample down; default 7",
     .min = 0, .max = PROBE_TLS_MAX_DAYS, .example = "3"),
    CONF_FIELD_END,
};
#undef F

static void tls_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_tls_conf *t = c->settings;
    snprintf(buf, n, "%s", t && t->address ? t->address : "");
}

static const struct conf_check_value tls_values[] = {
    {"days_left", "Days until the leaf certificate's notAfter (negative once expired)", "opshub_tls_cert_days_left",
     NULL, NULL},
    {"earliest_expiry_seconds", "Unix time of the earliest notAfter of the chain the server sent",
     "probe_ssl_earliest_cert_expiry", NULL, NULL},
    {"handshake_seconds", "TLS handshake, from connected to done", "opshub_tls_handshake_seconds", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_tls_type = {
    .name = "tls",
    .summary = "Connects with TLS, verifies the certificate and reports the days until it expires",
    .settings_size = sizeof(struct probe_tls_conf),
    .fields = tls_fields,
    .init = tls_init,
    .validate = tls_validate,
    .target = tls_target,
    .values = tls_values,
    .start = tls_start,
    .cancel = tls_cancel,
};
