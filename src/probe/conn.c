/*
 * probe/conn: a client connection on uv_tcp, optionally TLS through an
 * OpenSSL client between two memory BIOs. One allocation holds the handle,
 * the requests, the read buffers and copies of host, port, server name and
 * CA path. The SSL_CTX is built on libuv's thread pool (it reads the
 * system store or ca_file from disk); the work callback touches only the
 * connection's ca_file, ctx and ctx_err. Contexts are kept per engine by
 * ca_file for an hour (curl keeps its CA cache a day), so a check run at
 * most every hour pays for parsing the bundle. The chain and the name are
 * verified by OpenSSL during the handshake with SSL_VERIFY_NONE, so the
 * handshake completes and the verify result is read afterwards. The
 * connection counts its tcp handle (open or closing), pending resolution
 * and pending work; once closed it frees itself when the last comes back.
 */
#include "probe/conn.h"

#include "base/alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK_TLS 16384   /* a TLS record */
#define READ_CHUNK_PLAIN 4096  /* plain connections read small replies: keep a run small */
#define WHY_MAX 160
#define CACHE_MAX 32                          /* distinct ca_files (and the system store) */
#define CACHE_TTL_MS (60 * 60 * 1000)         /* a changed bundle is read again after this */

/* Loop-owned: SSL_CTX are reference counted, so a connection holds its own. */
struct probe_conn_tls_cache {
    struct {
        char *ca_file;                        /* NULL: the system store */
        SSL_CTX *ctx;
        uint64_t loaded_ms;                   /* uv_now */
    } items[CACHE_MAX];
    size_t n;
};

struct probe_conn {
    struct probe_engine *engine;
    const struct probe_conn_cbs *cbs;
    void *data;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    uv_work_t work;
    struct addrinfo *ai, *ai_cur;
    SSL_CTX *ctx;                   /* set by the work callback or taken from the cache */
    SSL *ssl;                       /* owns both memory BIOs */
    enum probe_conn_phase phase;
    int pending;                    /* tcp handle + resolution + work in flight */
    bool tls, verify;
    bool tcp_open, resolving, working, retrying, closing, starting;
    bool peer_ended;                /* `closed` was reported: writes in flight still report */
    size_t received;                /* bytes read during the handshake */
    struct probe_conn_times times;
    const char *host, *port, *server_name, *ca_file;
    char why[WHY_MAX];              /* a failure inside probe_conn_start */
    char ctx_err[WHY_MAX];          /* written by the work callback */
    char *rbuf;                     /* from the socket: rbuf_size bytes in the tail */
    char *pbuf;                     /* TLS: decrypted, READ_CHUNK_TLS bytes in the tail */
    size_t rbuf_size;
    char strings[];                 /* the buffers, then host, port, server name, CA path */
};

/* One uv_write; freed in its callback. */
struct conn_out {
    uv_write_t req;
    struct probe_conn *c;
    bool owner;                     /* carries a probe_conn_write: `sent` follows */
    size_t n;
    char data[];
};

static void start_connect(struct probe_conn *c, const struct sockaddr *addr);

/* ---- lifetime ---- */

static void unref(struct probe_conn *c)
{
    if (--c->pending > 0 || !c->closing)
        return;
    struct probe_engine *e = c->engine;
    if (c->ai)
        uv_freeaddrinfo(c->ai);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    base_free(c);
    probe_engine_release(e);
}

static void on_tcp_closed(uv_handle_t *h)
{
    struct probe_conn *c = h->data;
    c->tcp_open = false;
    if (c->retrying && !c->closing) {
        c->retrying = false;
        c->pending--;
        start_connect(c, c->ai_cur->ai_addr);
        return;
    }
    unref(c);
}

void probe_conn_close(struct probe_conn *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    c->engine->tearing_down++;
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->gai);   /* on_resolved still runs, with UV_EAI_CANCELED */
    if (c->working)
        uv_cancel((uv_req_t *)&c->work);  /* on_ctx_built still runs (UV_ECANCELED if it was queued) */
    if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    if (c->pending == 0) { /* a retry whose handle could not be made: nothing to wait for */
        c->pending = 1;
        unref(c);
    }
}

/* Nothing more may reach the owner once it closed us or heard of a
 * failure; after the server ended the stream only writes still report. */
static bool quiet(const struct probe_conn *c)
{
    return c->closing || (c->phase == PROBE_CONN_ENDED && !c->peer_ended);
}

/* Reports a failure: through `error`, or kept for probe_conn_start. */
static void fail(struct probe_conn *c, const char *fmt, ...) BASE_PRINTF(2, 3);
static void fail(struct probe_conn *c, const char *fmt, ...)
{
    if (quiet(c))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    c->phase = PROBE_CONN_ENDED;
    c->peer_ended = false;
    if (c->tcp_open)
        uv_read_stop((uv_stream_t *)&c->tcp);
    if (!c->starting)
        c->cbs->error(c->data, c->why);
}

/* The open stream ended (UV_EOF or a read error). */
static void ended(struct probe_conn *c, int status)
{
    if (!c->cbs->closed) {
        if (status == UV_EOF)
            fail(c, "connection closed");
        else
            fail(c, "read failed: %s", uv_strerror(status));
        return;
    }
    c->phase = PROBE_CONN_ENDED;
    c->peer_ended = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->cbs->closed(c->data, status);
}

/* The first OpenSSL reason in the queue (the root cause), emptying it. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : fallback;
}

/* ---- writing ---- */

static void on_written(uv_write_t *req, int status)
{
    struct conn_out *o = req->data;
    struct probe_conn *c = o->c;
    bool owner = o->owner;
    OPENSSL_cleanse(o->data, o->n);  /* an owner's bytes may hold a password (redis AUTH) */
    base_free(o);
    if (quiet(c))
        return;
    if (status < 0) {
        fail(c, "%ssend failed: %s", c->phase == PROBE_CONN_HANDSHAKE ? "TLS handshake: " : "",
             uv_strerror(status));
        return;
    }
    if (owner && c->cbs->sent)
        c->cbs->sent(c->data);
}

/* Queues n bytes taken from the output BIO (TLS) or from p; 0 or a UV_E* code. */
static int send_bytes(struct probe_conn *c, const void *p, size_t n, bool owner)
{
    struct conn_out *o = base_malloc(sizeof(*o) + n);
    if (!o)
        return UV_ENOMEM;
    o->c = c;
    o->owner = owner;
    o->n = n;
    o->req.data = o;
    if (p) {
        memcpy(o->data, p, n);
    } else if (BIO_read(SSL_get_wbio(c->ssl), o->data, (int)n) != (int)n) {
        base_free(o);
        return UV_EIO;
    }
    uv_buf_t b = uv_buf_init(o->data, (unsigned)n);
    int rc = uv_write(&o->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc) {
        OPENSSL_cleanse(o->data, n);
        base_free(o);
    }
    return rc;
}

/* Sends what OpenSSL wrote into its output BIO; 0 or -1 after failing. */
static int flush(struct probe_conn *c, bool owner)
{
    size_t n = BIO_ctrl_pending(SSL_get_wbio(c->ssl));
    if (!n)
        return 0;
    int rc = send_bytes(c, NULL, n, owner);
    if (rc == UV_ENOMEM) {
        fail(c, "out of memory");
        return -1;
    }
    if (rc == UV_EIO) {
        fail(c, "TLS: %s", ssl_reason("cannot read the output buffer"));
        return -1;
    }
    if (rc) {
        fail(c, "%ssend failed: %s", c->phase == PROBE_CONN_HANDSHAKE ? "TLS handshake: " : "", uv_strerror(rc));
        return -1;
    }
    return 0;
}

int probe_conn_write(struct probe_conn *c, const void *buf, size_t n)
{
    if (c->phase != PROBE_CONN_OPEN || c->closing)
        return UV_ENOTCONN;
    if (!n)
        return 0;
    if (!c->tls)
        return send_bytes(c, buf, n, true);
    if (n > INT32_MAX)
        return UV_E2BIG;
    ERR_clear_error();
    if (SSL_write(c->ssl, buf, (int)n) != (int)n) {  /* a memory BIO takes it all */
        ERR_clear_error();
        return UV_EIO;
    }
    size_t pending = BIO_ctrl_pending(SSL_get_wbio(c->ssl));
    return pending ? send_bytes(c, NULL, pending, true) : UV_EIO;
}

/* ---- reading ---- */

/* Hands every decrypted byte to the owner; stops once it is quiet. */
static void drain(struct probe_conn *c)
{
    while (!quiet(c) && c->phase == PROBE_CONN_OPEN) {
        ERR_clear_error();
        int got = SSL_read(c->ssl, c->pbuf, READ_CHUNK_TLS);
        if (got > 0) {
            if (c->cbs->read)
                c->cbs->read(c->data, c->pbuf, (size_t)got);
            continue;
        }
        int e = SSL_get_error(c->ssl, got);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            flush(c, false);  /* a key update or an alert may be waiting to go */
            return;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            ended(c, UV_EOF);
            return;
        }
        fail(c, "TLS: %s", ssl_reason("protocol error"));
        return;
    }
}

static void handshake_done(struct probe_conn *c)
{
    c->times.handshaken_ns = uv_hrtime();
    if (c->verify) {
        long vr = SSL_get_verify_result(c->ssl);
        if (vr != X509_V_OK) {
            fail(c, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
            return;
        }
    }
    c->phase = PROBE_CONN_OPEN;
    c->cbs->open(c->data);
    drain(c);  /* application data may have come with the last flight */
}

static void step(struct probe_conn *c)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(c->ssl);
    if (flush(c, false) != 0)
        return;
    if (rc == 1) {
        handshake_done(c);
        return;
    }
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return;
    }
    fail(c, "TLS handshake failed: %s", ssl_reason("protocol error"));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct probe_conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, (unsigned)c->rbuf_size);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_conn *c = st->data;
    if (quiet(c) || c->phase == PROBE_CONN_ENDED || nread == 0)
        return;
    if (nread < 0) {
        if (c->phase == PROBE_CONN_HANDSHAKE)
            fail(c, nread == UV_EOF ? "TLS handshake: connection closed by the server" : "TLS handshake: read failed: %s",
                 uv_strerror((int)nread));
        else
            ended(c, (int)nread);
        return;
    }
    if (!c->tls) {
        if (c->cbs->read)
            c->cbs->read(c->data, buf->base, (size_t)nread);
        return;
    }
    if (c->phase == PROBE_CONN_HANDSHAKE) {
        c->received += (size_t)nread;
        if (c->received > PROBE_CONN_HANDSHAKE_MAX) {
            fail(c, "TLS handshake: more than %d bytes without completing", PROBE_CONN_HANDSHAKE_MAX);
            return;
        }
    }
    if (BIO_write(SSL_get_rbio(c->ssl), buf->base, (int)nread) != (int)nread) {
        fail(c, "TLS: %s", ssl_reason("cannot buffer the input"));
        return;
    }
    if (c->phase == PROBE_CONN_HANDSHAKE)
        step(c);
    else
        drain(c);
}

static bool is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* A client SSL between two memory BIOs, checking server_name: SNI and a
 * host name, or an IP address (never sent as SNI). */
static int start_handshake(struct probe_conn *c)
{
    BIO *in = NULL, *out = NULL;
    ERR_clear_error();
    c->ssl = SSL_new(c->ctx);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    if (!c->ssl || !in || !out)
        goto fail;
    BIO_set_mem_eof_return(in, -1);  /* empty means "wait for more", not end of file */
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(c->ssl, in, out);    /* ssl owns both from here */
    in = out = NULL;
    if (is_ip(c->server_name)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->server_name) != 1)
            goto fail;
    } else if (SSL_set_tlsext_host_name(c->ssl, c->server_name) != 1 ||
               SSL_set1_host(c->ssl, c->server_name) != 1) {
        goto fail;
    }
    SSL_set_connect_state(c->ssl);
    return 0;
fail:
    BIO_free(in);
    BIO_free(out);
    return -1;
}

/* ---- connect ---- */

static void on_connect(uv_connect_t *req, int status)
{
    struct probe_conn *c = req->data;
    if (quiet(c))
        return;
    if (status < 0) {
        if (c->ai_cur && c->ai_cur->ai_next) {
            /* try the next address once this socket is closed */
            c->ai_cur = c->ai_cur->ai_next;
            c->retrying = true;
            uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
            return;
        }
        if (status == UV_ECONNREFUSED)
            fail(c, "connection refused");
        else
            fail(c, "connect failed: %s", uv_strerror(status));
        return;
    }
    c->times.connected_ns = uv_hrtime();
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc) {
        fail(c, "read failed: %s", uv_strerror(rc));
        return;
    }
    if (!c->tls) {
        c->phase = PROBE_CONN_OPEN;
        c->cbs->open(c->data);
        return;
    }
    c->phase = PROBE_CONN_HANDSHAKE;
    if (start_handshake(c) != 0) {
        fail(c, "TLS: %s", ssl_reason("cannot set up the client"));
        return;
    }
    step(c);
}

static void start_connect(struct probe_conn *c, const struct sockaddr *addr)
{
    c->phase = PROBE_CONN_CONNECTING;
    if (!c->tcp_open) {
        int rc = uv_tcp_init(c->engine->loop, &c->tcp);
        if (rc) {
            fail(c, "connect failed: %s", uv_strerror(rc));
            return;
        }
        c->tcp.data = c;
        c->tcp_open = true;
        c->pending++;
    }
    int rc = uv_tcp_connect(&c->connect, &c->tcp, addr, on_connect);
    if (rc == UV_ECONNREFUSED)
        fail(c, "connection refused");
    else if (rc)
        fail(c, "connect failed: %s", uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct probe_conn *c = req->data;
    c->resolving = false;
    if (c->closing) {
        if (res)
            uv_freeaddrinfo(res);
        unref(c);
        return;
    }
    c->pending--;
    c->times.resolved_ns = uv_hrtime();
    if (status < 0 || !res) {
        if (res)
            uv_freeaddrinfo(res);
        fail(c, "DNS: %s: %s", c->host, uv_strerror(status));
        return;
    }
    c->ai = c->ai_cur = res;
    start_connect(c, res->ai_addr);
}

/* Connects to an IP address at once, or resolves the name first. */
static void resolve_and_connect(struct probe_conn *c)
{
    struct sockaddr_storage ss;
    int port_n = atoi(c->port);
    if (uv_ip4_addr(c->host, port_n, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(c->host, port_n, (struct sockaddr_in6 *)&ss) == 0) {
        start_connect(c, (const struct sockaddr *)&ss);
        return;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    c->phase = PROBE_CONN_RESOLVING;
    int rc = uv_getaddrinfo(c->engine->loop, &c->gai, on_resolved, c->host, c->port, &hints);
    if (rc) {
        fail(c, "DNS: %s: %s", c->host, uv_strerror(rc));
        return;
    }
    c->resolving = true;
    c->pending++;
}

/* ---- the context: cached, or built on the thread pool ---- */

static bool same_file(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* A new reference to a fresh cached context for ca_file, or NULL. */
static SSL_CTX *cache_get(struct probe_engine *e, const char *ca_file)
{
    struct probe_conn_tls_cache *cache = e->tls_cache;
    uint64_t now = uv_now(e->loop);
    for (size_t i = 0; cache && i < cache->n; i++)
        if (same_file(cache->items[i].ca_file, ca_file) && now - cache->items[i].loaded_ms < CACHE_TTL_MS &&
            SSL_CTX_up_ref(cache->items[i].ctx) == 1)
            return cache->items[i].ctx;
    return NULL;
}

/* Keeps a reference to ctx for ca_file, replacing that file's entry or the
 * oldest one. Out of memory: not cached. */
static void cache_put(struct probe_engine *e, const char *ca_file, SSL_CTX *ctx)
{
    if (!e->tls_cache && !(e->tls_cache = base_calloc(1, sizeof(*e->tls_cache))))
        return;
    struct probe_conn_tls_cache *cache = e->tls_cache;
    size_t at = cache->n;
    for (size_t i = 0; i < cache->n && at == cache->n; i++)
        if (same_file(cache->items[i].ca_file, ca_file))
            at = i;
    if (at == CACHE_MAX) {
        at = 0;
        for (size_t i = 1; i < cache->n; i++)
            if (cache->items[i].loaded_ms < cache->items[at].loaded_ms)
                at = i;
    }
    char *copy = NULL;
    if ((ca_file && !(copy = base_strdup(ca_file))) || SSL_CTX_up_ref(ctx) != 1) {
        base_free(copy);
        return;
    }
    if (at < cache->n) {
        SSL_CTX_free(cache->items[at].ctx);
        base_free(cache->items[at].ca_file);
    } else {
        cache->n++;
    }
    cache->items[at].ca_file = copy;
    cache->items[at].ctx = ctx;
    cache->items[at].loaded_ms = uv_now(e->loop);
}

void probe_conn_tls_cache_free(struct probe_conn_tls_cache *cache)
{
    for (size_t i = 0; cache && i < cache->n; i++) {
        SSL_CTX_free(cache->items[i].ctx);
        base_free(cache->items[i].ca_file);
    }
    base_free(cache);
}

/* Thread pool: reads only c->ca_file, writes only c->ctx and c->ctx_err. */
static void build_ctx(uv_work_t *w)
{
    struct probe_conn *c = w->data;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(c->ctx_err, sizeof(c->ctx_err), "TLS: cannot create a context: %s", ssl_reason("?"));
        return;
    }
    if (c->ca_file) {
        FILE *f = fopen(c->ca_file, "r");
        if (!f) {
            snprintf(c->ctx_err, sizeof(c->ctx_err), "cannot read ca_file %s: %s", c->ca_file, strerror(errno));
            goto fail;
        }
        fclose(f);
        if (SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1) {
            snprintf(c->ctx_err, sizeof(c->ctx_err), "cannot load ca_file %s: %s", c->ca_file,
                     ssl_reason("no certificate in it"));
            goto fail;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(c->ctx_err, sizeof(c->ctx_err), "TLS: cannot load the system CA store: %s", ssl_reason("?"));
        goto fail;
    }
    /* Verified during the handshake, judged after it (see the file header). */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ERR_clear_error();
    c->ctx = ctx;
    return;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

static void on_ctx_built(uv_work_t *w, int status)
{
    struct probe_conn *c = w->data;
    c->working = false;
    if (c->closing) {
        unref(c);  /* frees c->ctx with the connection */
        return;
    }
    c->pending--;
    if (status < 0) {
        fail(c, "TLS: %s", uv_strerror(status));
        return;
    }
    if (!c->ctx) {
        fail(c, "%s", c->ctx_err[0] ? c->ctx_err : "TLS: cannot create a context");
        return;
    }
    cache_put(c->engine, c->ca_file, c->ctx);
    resolve_and_connect(c);
}

/* ---- start ---- */

static char *copy_str(char **p, const char *s)
{
    size_t n = strlen(s);
    char *d = *p;
    memcpy(d, s, n + 1);
    *p += n + 1;
    return d;
}

struct probe_conn *probe_conn_new(struct probe_engine *e, const char *host, const char *port,
                                  const struct probe_conn_tls *tls, const struct probe_conn_cbs *cbs, void *data)
{
    const char *sni = tls && tls->server_name ? tls->server_name : NULL;
    const char *ca = tls && tls->ca_file ? tls->ca_file : NULL;
    size_t bufs = tls ? 2 * READ_CHUNK_TLS : READ_CHUNK_PLAIN;
    size_t need = bufs + strlen(host) + 1 + strlen(port) + 1 + (sni ? strlen(sni) + 1 : 0) + (ca ? strlen(ca) + 1 : 0);
    struct probe_conn *c = base_malloc(sizeof(*c) + need);
    if (!c)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->engine = e;
    c->cbs = cbs;
    c->data = data;
    c->rbuf = c->strings;
    c->rbuf_size = tls ? READ_CHUNK_TLS : READ_CHUNK_PLAIN;
    c->pbuf = tls ? c->strings + READ_CHUNK_TLS : NULL;
    char *p = c->strings + bufs;
    c->host = copy_str(&p, host);
    c->port = copy_str(&p, port);
    c->server_name = sni ? copy_str(&p, sni) : c->host;
    c->ca_file = ca ? copy_str(&p, ca) : NULL;
    c->tls = tls != NULL;
    c->verify = tls && tls->verify;
    c->connect.data = c;
    c->gai.data = c;
    c->work.data = c;
    return c;
}

int probe_conn_start(struct probe_conn *c, char *err, size_t n)
{
    c->starting = true;
    if (!c->tls) {
        resolve_and_connect(c);
    } else if ((c->ctx = cache_get(c->engine, c->ca_file))) {
        resolve_and_connect(c);
    } else {
        c->phase = PROBE_CONN_LOADING;
        int rc = uv_queue_work(c->engine->loop, &c->work, build_ctx, on_ctx_built);
        if (rc) {
            fail(c, "TLS: %s", uv_strerror(rc));
        } else {
            c->working = true;
            c->pending++;
        }
    }
    c->starting = false;
    if (c->phase == PROBE_CONN_ENDED) {
        snprintf(err, n, "%s", c->why);
        return -1;
    }
    return 0;
}

enum probe_conn_phase probe_conn_phase(const struct probe_conn *c)
{
    return c->phase;
}

const struct probe_conn_times *probe_conn_times(const struct probe_conn *c)
{
    return &c->times;
}

SSL *probe_conn_ssl(const struct probe_conn *c)
{
    return c->times.handshaken_ns ? c->ssl : NULL;
}

int probe_conn_split_address(char *buf, char **host, char **port)
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
