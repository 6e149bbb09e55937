/*
 * http/server: the connection layer of opshub's HTTP/1.1 server on libuv.
 * Owns the listener, every connection (socket, one timer, http_parser,
 * pipelining backlog) and the requests while the server still needs them.
 * One request per connection is in flight: parsing pauses at the end of a
 * request and resumes when its response is fully written, so responses
 * leave in request order. Timeouts are enforced here; request fields, their
 * limits and response formatting live in http/request.c. With TLS each
 * connection also owns an SSL (http/tls.c) fed from the read callback and
 * drained into uv_write; the parser only ever sees decrypted bytes.
 * Never blocks, never logs request contents.
 */
#include "http/http_int.h"

#include "http/frame.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/proc.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF_SIZE (64 * 1024)
/* A plain-HTTP read takes at most this much: what a connection can make the
 * server hold for it beyond its fixed state (see BACKLOG_MAX). */
#define READ_CHUNK (8 * 1024)
#define LISTEN_BACKLOG 511
#define LINGER_MS 2000
#define DRAIN_MS 2000
#define DEFAULT_IDLE_MS 30000
#define DEFAULT_READ_MS 10000
#define DEFAULT_MAX_CONNS 4096
/* Pipelined bytes kept while a request is in flight: at most one read. A
 * connection whose response is not yet written reads only into what is
 * left of this, then stops reading (backpressure): a client that pipelines
 * and never reads costs the server its fixed state and these 8 KiB. */
#define BACKLOG_MAX READ_CHUNK
/* Ciphertext kept undecrypted in a TLS connection's input: one whole
 * record (16 KiB + overhead) always fits, so decryption can go on. */
#define TLS_IN_MAX (18 * 1024)
/* Closed connections between two returns of freed heap to the system. */
#define TRIM_AFTER_CLOSES 512
/* At most one log line per refusal reason per this many ms (the count of
 * the ones left out goes with the next). */
#define REJECT_LOG_MS 10000
/* Decrypted bytes per SSL_read: one TLS record's plaintext at most. */
#define TLS_PLAIN_BUF (16 * 1024)

enum conn_state { CONN_OPEN, CONN_LINGER, CONN_CLOSING };
enum deadline_kind { DL_NONE, DL_IDLE, DL_READ, DL_WRITE, DL_LINGER, DL_HANDSHAKE };

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    struct http_server *srv;
    struct http_conn *prev, *next;
    http_parser parser;
    struct http_frame frame;     /* strict framing, checked ahead of the parser */
    size_t frame_ahead;          /* bytes past the parser's position the check passed */
    struct http_request_priv *req;  /* being parsed or in flight; reused */
    struct base_buf backlog;     /* bytes read but not yet parsed */
    size_t backlog_off;
    uint64_t deadline, timer_due;
    enum deadline_kind dl_kind;
    enum conn_state state;
    int handles_open;
    size_t writes_pending;
    bool timer_armed;
    bool reading;
    bool in_parse;     /* inside conn_parse: do not re-enter it */
    bool in_request;   /* a request has begun and is not yet dispatched */
    bool busy;         /* a request was dispatched; its response is not written */
    bool resp_queued;  /* the final response sits in uv_write */
    bool close_after;  /* close (gracefully) once the response is written */
    bool eof;
    bool got_bytes;    /* the peer sent something */
    SSL *ssl;          /* TLS only: owns its memory BIOs, refs its SSL_CTX */
    bool tls_ready;    /* handshake finished */
    bool tls_failed;   /* fatal TLS error: no close_notify may follow */
    char remote[64];
    const char *fail_headers; /* extra header lines of a head_check refusal (static) */
    size_t out_pending;       /* copied bytes of this connection waiting for the socket */
    /* A streamed response (http_stream_start): the connection is the stream. */
    bool streaming;
    size_t stream_max;        /* bound on out_pending */
    http_stream_closed_cb stream_closed;
    void *stream_data;
};

struct write_req {
    uv_write_t req;
    struct http_conn *conn;
    size_t len;               /* counted in the server's out_bytes until written */
    char data[];
};

/* A write of borrowed parts, in batches of at most WRITE_BATCH_BYTES: the
 * next batch is queued from the previous one's callback (a later loop
 * turn), so a 35 MB body never makes one turn copy megabytes into the
 * kernel, and a client that stops reading holds at most one batch in
 * flight. The head is copied (head[]); the parts are released at the end. */
#define WRITE_BATCH_BYTES (512u * 1024)
#define WRITE_BATCH_BUFS 16
struct write_parts {
    uv_write_t req;
    struct http_conn *conn;
    const uv_buf_t *parts;    /* borrowed until release */
    unsigned n, next;         /* parts and the first one not fully written */
    size_t off;               /* bytes of parts[next] already written */
    size_t head_len, head_off;
    size_t batch;             /* bytes in the write in flight */
    void (*release)(void *data);
    void *data;
    uv_buf_t cur[WRITE_BATCH_BUFS];
    char head[];
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t drain;
    http_handler_cb handler;
    void *data;
    int (*head_check)(void *data, const struct http_request *req, const char **msg, const char **headers);
    struct http_request_limits limits;
    uint64_t idle_ms, read_ms;
    size_t max_conns;
    size_t out_bytes, out_budget;  /* copied response bytes waiting for sockets */
    size_t closed_since_trim;
    struct {
        uint64_t next_ms;            /* no line for this reason before */
        uint64_t left_out;           /* refusals not logged since the last line */
    } reject_log[HTTP_REJECT_MAX];
    struct http_server_stats stats;
    struct http_conn *conns;
    size_t streams;              /* connections carrying a stream */
    int handles_open;            /* listener, drain timer, rejected sockets */
    bool listening, drain_open, closing, finished;
    http_close_cb close_cb;
    void *close_data;
    uint64_t rng;
    time_t date_sec;
    char date[64];               /* "Date: ...\r\n" */
    char *tls_cert, *tls_key;    /* owned copies; NULL: plain HTTP */
    SSL_CTX *tls_ctx;            /* new connections take a reference */
    char rbuf[READ_BUF_SIZE];    /* shared: read_cb consumes or copies it */
    char pbuf[TLS_PLAIN_BUF];    /* shared: decrypted bytes, consumed or copied */
};

static void conn_close(struct http_conn *c);
static void conn_resume(struct http_conn *c);
static void conn_fail(struct http_conn *c, int status, const char *msg);
static void server_maybe_finish(struct http_server *s);

/* ---- refusals ----------------------------------------------------------- */

static const char *const reject_names[HTTP_REJECT_MAX] = {
    [HTTP_REJECT_BAD_REQUEST] = "bad_request",
    [HTTP_REJECT_UNAUTHENTICATED] = "unauthenticated_body",
    [HTTP_REJECT_TIMEOUT] = "timeout",
    [HTTP_REJECT_BODY_TOO_LARGE] = "body_too_large",
    [HTTP_REJECT_URI_TOO_LONG] = "uri_too_long",
    [HTTP_REJECT_HEADER_TOO_LARGE] = "header_too_large",
    [HTTP_REJECT_NOT_IMPLEMENTED] = "not_implemented",
    [HTTP_REJECT_UNAVAILABLE] = "unavailable",
    [HTTP_REJECT_CONNECTION_CAP] = "connection_cap",
    [HTTP_REJECT_OUTPUT_BUDGET] = "output_budget",
    [HTTP_REJECT_WRITE_TIMEOUT] = "write_timeout",
};

const char *http_reject_name(enum http_reject r)
{
    return (unsigned)r < HTTP_REJECT_MAX ? reject_names[r] : "unknown";
}

const char *http_conn_state_name(enum http_conn_state_kind k)
{
    static const char *const names[HTTP_CONN_STATE_MAX] = {"idle", "reading", "writing", "closing"};
    return (unsigned)k < HTTP_CONN_STATE_MAX ? names[k] : "unknown";
}

static enum http_reject reject_of_status(int status)
{
    switch (status) {
    case 401:
    case 403: return HTTP_REJECT_UNAUTHENTICATED;
    case 408: return HTTP_REJECT_TIMEOUT;
    case 413: return HTTP_REJECT_BODY_TOO_LARGE;
    case 414: return HTTP_REJECT_URI_TOO_LONG;
    case 431: return HTTP_REJECT_HEADER_TOO_LARGE;
    case 501: return HTTP_REJECT_NOT_IMPLEMENTED;
    case 503: return HTTP_REJECT_UNAVAILABLE;
    default: return HTTP_REJECT_BAD_REQUEST;
    }
}

/* Counts a refusal and logs it, at most one line per reason per
 * REJECT_LOG_MS: a flood of bad requests costs a counter, not a log line
 * each. Refusals of connections (cap, budget, stalled writes) are warnings:
 * they say the server is under pressure. */
static void reject_note(struct http_server *s, enum http_reject r, int status, const char *msg,
                        const char *remote)
{
    s->stats.rejected[r]++;
    uint64_t now = uv_now(s->loop);
    if (now < s->reject_log[r].next_ms) {
        s->reject_log[r].left_out++;
        return;
    }
    enum base_log_level level = r >= HTTP_REJECT_CONNECTION_CAP ? BASE_LOG_WARN : BASE_LOG_INFO;
    BASE_LOG_(level, r >= HTTP_REJECT_CONNECTION_CAP ? "connection refused" : "request refused",
              BASE_LOG_STR("reason", reject_names[r]), BASE_LOG_INT("status", status),
              BASE_LOG_STR("error", msg), BASE_LOG_STR("remote", remote),
              BASE_LOG_INT("connections_open", (long long)s->stats.connections_open),
              BASE_LOG_INT("max_connections", (long long)s->max_conns),
              BASE_LOG_INT("not_logged_before", (long long)s->reject_log[r].left_out));
    s->reject_log[r].left_out = 0;
    s->reject_log[r].next_ms = now + REJECT_LOG_MS;
}

/* ---- time, ids ---------------------------------------------------------- */

static uint64_t rng_next(struct http_server *s)
{
    /* xorshift64*: ids only need to be unlikely to collide, not secret. */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void request_id_generate(struct http_server *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = rng_next(s);
    for (int i = 0; i < 16; i++)
        out[i] = hex[(v >> (i * 4)) & 15];
    out[16] = '\0';
}

static const char *date_line(struct http_server *s)
{
    time_t now = time(NULL);
    if (now != s->date_sec) {
        struct tm tm;
        s->date_sec = now;
        if (gmtime_r(&now, &tm))
            strftime(s->date, sizeof(s->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    }
    return s->date;
}

/* One timer per connection, re-armed lazily: moving a deadline later only
 * stores it; the timer re-arms itself when it fires early. Keeps the
 * per-request cost to two stores instead of two heap operations. */
static void conn_timer_cb(uv_timer_t *t);

static void conn_deadline(struct http_conn *c, enum deadline_kind kind, uint64_t ms)
{
    c->dl_kind = kind;
    if (kind == DL_NONE)
        return;
    uint64_t now = uv_now(c->srv->loop);
    c->deadline = now + ms;
    if (!c->timer_armed || c->timer_due > c->deadline) {
        uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
        c->timer_armed = true;
        c->timer_due = c->deadline;
    }
}

static void conn_timer_cb(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    c->timer_armed = false;
    if (c->state == CONN_CLOSING || c->dl_kind == DL_NONE)
        return;
    uint64_t now = uv_now(c->srv->loop);
    if (now < c->deadline) {
        uv_timer_start(&c->timer, conn_timer_cb, c->deadline - now, 0);
        c->timer_armed = true;
        c->timer_due = c->deadline;
        return;
    }
    switch (c->dl_kind) {
    case DL_READ:
        c->srv->stats.timeouts++;
        conn_fail(c, 408, "request not received in time");
        break;
    case DL_WRITE:
        c->srv->stats.timeouts++;
        reject_note(c->srv, HTTP_REJECT_WRITE_TIMEOUT, 0, "response not taken by the client in time", c->remote);
        conn_close(c);
        break;
    case DL_HANDSHAKE:
        c->srv->stats.timeouts++;
        c->srv->stats.tls_handshake_errors++;
        conn_close(c);
        break;
    default:
        conn_close(c);
        break;
    }
}

/* ---- writing ------------------------------------------------------------ */

static void conn_linger(struct http_conn *c);
static void conn_response_done(struct http_conn *c);

static void write_finished(struct http_conn *c, int status);

static void write_cb(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct http_conn *c = wr->conn;
    c->srv->out_bytes -= wr->len;
    c->out_pending -= wr->len;
    base_free(wr);
    write_finished(c, status);
}

static void write_finished(struct http_conn *c, int status)
{
    c->writes_pending--;
    if (c->state == CONN_CLOSING)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->streaming && !c->writes_pending && !c->resp_queued)
        c->dl_kind = DL_NONE;  /* all taken: a quiet stream has no deadline */
    if (c->writes_pending || !c->resp_queued)
        return;
    c->resp_queued = false;
    conn_response_done(c);
}

/* Writes bufs in order: uv_try_write first (no copy, no allocation), the
 * rest copied into one owned uv_write. Returns true when all bytes went out
 * synchronously, false when a write is queued or the connection failed. */
static bool conn_write_raw(struct http_conn *c, const uv_buf_t *bufs, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (w < 0 && w != UV_EAGAIN && w != UV_ENOSYS) {
        conn_close(c);
        return false;
    }
    size_t done = w > 0 ? (size_t)w : 0;
    if (done == total)
        return true;
    /* The socket is full: what is left is copied and waits. A client that
     * does not read makes this pile up, so all of it together is bounded;
     * past the budget the connection whose output does not fit is closed. */
    struct http_server *s = c->srv;
    if (s->out_bytes > 0 && s->out_bytes + (total - done) > s->out_budget) {
        reject_note(s, HTTP_REJECT_OUTPUT_BUDGET, 0, "unsent output over the server's budget", c->remote);
        conn_close(c);
        return false;
    }
    struct write_req *wr = base_malloc(sizeof(*wr) + (total - done));
    if (!wr) {
        conn_close(c);
        return false;
    }
    wr->conn = c;
    wr->len = 0;
    for (unsigned i = 0; i < n; i++) {
        size_t skip = done < bufs[i].len ? done : bufs[i].len;
        done -= skip;
        memcpy(wr->data + wr->len, bufs[i].base + skip, bufs[i].len - skip);
        wr->len += bufs[i].len - skip;
    }
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
        base_free(wr);
        conn_close(c);
        return false;
    }
    s->out_bytes += wr->len;
    c->out_pending += wr->len;
    c->writes_pending++;
    /* A response must leave in time; TLS records written while idle or
     * during the handshake keep the deadline they have. */
    if (c->busy)
        conn_deadline(c, DL_WRITE, c->srv->read_ms);
    return false;
}

/* Sends the ciphertext the SSL has produced. Same result as conn_write_raw;
 * true when there was nothing to send. */
static bool conn_tls_flush(struct http_conn *c)
{
    const char *data;
    size_t len = http_tls_pending_out(c->ssl, &data);
    if (len == 0)
        return true;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    bool done = conn_write_raw(c, &b, 1);  /* copies what it cannot send now */
    http_tls_consume_out(c->ssl);
    return done;
}

/* Writes plaintext: as is, or encrypted first on a TLS connection. */
static bool conn_write(struct http_conn *c, const uv_buf_t *bufs, unsigned n)
{
    if (!c->ssl)
        return conn_write_raw(c, bufs, n);
    for (unsigned i = 0; i < n; i++) {
        if (bufs[i].len && http_tls_write(c->ssl, bufs[i].base, bufs[i].len) != 0) {
            c->tls_failed = true;
            conn_close(c);
            return false;
        }
    }
    return conn_tls_flush(c);
}

struct response {
    struct http_response_head head;
    const char *body;
    const struct http_body_parts *parts; /* instead of body: borrowed, released once */
    bool head_only;
};

static void write_parts_cb(uv_write_t *w, int status);

/* Queues the next batch; false when nothing is left. */
static bool parts_pump(struct write_parts *wp)
{
    unsigned k = 0;
    size_t bytes = 0;
    if (wp->head_off < wp->head_len) {
        wp->cur[k++] = uv_buf_init(wp->head + wp->head_off, (unsigned)(wp->head_len - wp->head_off));
        bytes += wp->head_len - wp->head_off;
    }
    size_t off = wp->off;
    for (unsigned i = wp->next; i < wp->n && k < WRITE_BATCH_BUFS && bytes < WRITE_BATCH_BYTES; i++) {
        size_t len = wp->parts[i].len - off;
        if (len > WRITE_BATCH_BYTES - bytes)
            len = WRITE_BATCH_BYTES - bytes;
        if (len)
            wp->cur[k++] = uv_buf_init(wp->parts[i].base + off, (unsigned)len);
        bytes += len;
        off = 0;
    }
    if (!bytes)
        return false;
    wp->batch = bytes;
    if (uv_write(&wp->req, (uv_stream_t *)&wp->conn->tcp, wp->cur, k, write_parts_cb) != 0)
        return false;
    return true;
}

/* Moves the cursor past `bytes` written. */
static void parts_advance(struct write_parts *wp, size_t bytes)
{
    size_t h = wp->head_len - wp->head_off < bytes ? wp->head_len - wp->head_off : bytes;
    wp->head_off += h;
    bytes -= h;
    while (bytes && wp->next < wp->n) {
        size_t left = wp->parts[wp->next].len - wp->off;
        size_t k = left < bytes ? left : bytes;
        wp->off += k;
        bytes -= k;
        if (wp->off == wp->parts[wp->next].len) {
            wp->next++;
            wp->off = 0;
        }
    }
    while (wp->next < wp->n && wp->parts[wp->next].len == 0)
        wp->next++;
}

static void write_parts_cb(uv_write_t *w, int status)
{
    struct write_parts *wp = (struct write_parts *)w;
    struct http_conn *c = wp->conn;
    if (status == 0 && c->state == CONN_OPEN) {
        parts_advance(wp, wp->batch);
        if (c->busy)
            conn_deadline(c, DL_WRITE, c->srv->read_ms); /* progress: a new deadline for the next batch */
        if (parts_pump(wp))
            return;
        if (wp->head_off < wp->head_len || wp->next < wp->n)
            status = UV_EIO; /* the next batch could not be queued */
    }
    wp->release(wp->data);
    base_free(wp);
    write_finished(c, status);
}

/* Writes the head (copied) and the borrowed parts on plain TCP, batch by
 * batch. Same result as conn_write_raw (false: queued or failed); every
 * path releases the parts exactly once. */
static bool conn_write_parts(struct http_conn *c, const uv_buf_t *head, const struct http_body_parts *p)
{
    struct write_parts *wp = base_malloc(sizeof(*wp) + head->len);
    if (!wp) {
        p->release(p->data);
        conn_close(c);
        return false;
    }
    memset(wp, 0, sizeof(*wp));
    wp->conn = c;
    wp->parts = p->parts;
    wp->n = p->n;
    wp->release = p->release;
    wp->data = p->data;
    memcpy(wp->head, head->base, head->len);
    wp->head_len = head->len;
    parts_advance(wp, 0);
    if (!parts_pump(wp)) {
        p->release(p->data);
        base_free(wp);
        conn_close(c);
        return false;
    }
    c->writes_pending++;
    if (c->busy)
        conn_deadline(c, DL_WRITE, c->srv->read_ms);
    return false;
}

/* Formats and writes one final response; then either keeps the connection
 * for the next request or closes it gracefully. */
static void conn_send(struct http_conn *c, struct response *resp)
{
    char stack[1024];
    char *head = stack;
    resp->head.close = resp->head.close || c->srv->closing;
    resp->head.date_line = date_line(c->srv);
    resp->head.hsts = c->ssl != NULL;
    size_t hlen = http_request_format_head(&resp->head, stack, sizeof(stack));
    if (hlen >= sizeof(stack)) {
        /* Long extra headers: format again into a buffer sized for them. */
        head = base_malloc(hlen + 1);
        if (!head) {
            if (resp->parts)
                resp->parts->release(resp->parts->data);
            conn_close(c);
            return;
        }
        http_request_format_head(&resp->head, head, hlen + 1);
    }
    int st = resp->head.status;
    bool no_body = resp->head_only || st < 200 || st == 204 || st == 304;
    uv_buf_t bufs[2];
    unsigned n = 0;
    bufs[n++] = uv_buf_init(head, (unsigned)hlen);
    if (resp->head.body_len && !no_body && !resp->parts)
        bufs[n++] = uv_buf_init((char *)resp->body, (unsigned)resp->head.body_len);
    if (resp->head.close)
        c->close_after = true;
    bool sent;
    if (resp->parts && !no_body && !c->ssl) {
        sent = conn_write_parts(c, &bufs[0], resp->parts);
    } else if (resp->parts) {
        /* TLS (or no body): encrypting copies the parts; queued writes
         * stay in order (uv_try_write refuses while one is pending). */
        sent = conn_write(c, bufs, n);
        for (unsigned i = 0; !no_body && c->state == CONN_OPEN && i < resp->parts->n; i++)
            sent = conn_write(c, &resp->parts->parts[i], 1) && sent;
        resp->parts->release(resp->parts->data);
    } else {
        sent = conn_write(c, bufs, n);
    }
    if (sent)
        conn_response_done(c);
    else if (c->state == CONN_OPEN)
        c->resp_queued = true;
    if (head != stack)
        base_free(head);
}

static void conn_response_done(struct http_conn *c)
{
    if (c->close_after) {
        conn_linger(c);
        return;
    }
    c->busy = false;
    conn_deadline(c, DL_IDLE, c->srv->idle_ms);
    if (!c->in_parse)
        conn_resume(c);
}

/* Error responses: JSON body, Connection: close, then a graceful close. */
static void conn_fail(struct http_conn *c, int status, const char *msg)
{
    if (c->state != CONN_OPEN || c->busy)
        return;
    if (status != 408)
        c->srv->stats.parse_errors++;
    reject_note(c->srv, reject_of_status(status), status, msg, c->remote);
    char body[256];
    int blen = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                        http_request_status_code(status), msg);
    if (blen < 0 || (size_t)blen >= sizeof(body))
        blen = 0;
    struct response resp = {0};
    char id[24];
    request_id_generate(c->srv, id);
    resp.head.status = status;
    resp.head.content_type = "application/json";
    resp.body = body;
    resp.head.body_len = (size_t)blen;
    resp.head.request_id = c->req && c->req->have_client_id ? c->req->pub.request_id : id;
    resp.head.extra_headers = c->fail_headers;
    resp.head.close = true;
    c->in_request = false;
    c->busy = true;  /* nothing more is parsed on this connection */
    conn_send(c, &resp);
}

/* ---- parser callbacks ---------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = p->data;
    c->fail_headers = NULL;
    /* A request still referenced by a handler keeps its memory; it is
     * detached and freed by its last unref. */
    if (c->req && c->req->pub.refs > 0) {
        c->req->pub.conn = NULL;
        c->req = NULL;
    }
    if (!c->req) {
        c->req = http_request_priv_new(&c->srv->limits);
        if (!c->req) {
            c->req = NULL;
            return -1;
        }
    }
    http_request_priv_reset(c->req);
    c->req->pub.start_ns = uv_hrtime();
    c->in_request = true;
    conn_deadline(c, DL_READ, c->srv->read_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    return http_request_on_url(c->req, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    return http_request_on_header_field(c->req, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    return http_request_on_header_value(c->req, at, len);
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    int rc = http_request_on_headers_complete(c->req, p);
    if (rc != 0)
        return rc;
    bool has_body = ((p->flags & F_CONTENTLENGTH) && p->content_length > 0) || (p->flags & F_CHUNKED);
    if (has_body && c->srv->head_check) {
        const char *msg = "refused", *headers = NULL;
        int status = c->srv->head_check(c->srv->data, &c->req->pub, &msg, &headers);
        if (status) {
            c->req->err_status = status;
            c->req->err_msg = msg;
            c->fail_headers = headers;
            return -1;
        }
    }
    if (c->req->expect_continue && p->http_major == 1 && p->http_minor >= 1) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t b = uv_buf_init((char *)cont, sizeof(cont) - 1);
        conn_write(c, &b, 1);
        if (c->state != CONN_OPEN)
            return -1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    return http_request_on_body(c->req, at, len);
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    http_request_on_message_complete(c->req, p);
    /* Stop here: conn_parse dispatches the request, and parsing of any
     * pipelined bytes continues only once the response is written. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- request flow -------------------------------------------------------- */

static void conn_dispatch(struct http_conn *c)
{
    struct http_server *s = c->srv;
    struct http_request_priv *r = c->req;
    c->in_request = false;
    c->busy = true;
    c->dl_kind = DL_NONE;  /* the handler's own work has its own timeouts */
    r->pub.conn = c;
    r->pub.refs = 1;       /* the server's: dropped by http_response_send */
    memcpy(r->pub.remote_addr, c->remote, sizeof(r->pub.remote_addr));
    memcpy(r->pub.peer_addr, c->remote, sizeof(r->pub.peer_addr));
    r->pub.tls = c->ssl != NULL;
    if (!r->have_client_id)
        request_id_generate(s, r->pub.request_id);
    s->stats.requests++;
    s->handler(s->data, &r->pub);
}

static int errno_status(enum http_errno e, const char **msg)
{
    *msg = "malformed request";
    if (e == HPE_HEADER_OVERFLOW) {
        *msg = "request header too large";
        return 431;
    }
    if (e == HPE_INVALID_VERSION)
        *msg = "unsupported HTTP version";
    else if (e == HPE_INVALID_METHOD)
        *msg = "unknown method";
    else if (e == HPE_INVALID_CHUNK_SIZE)
        *msg = "bad chunk size";
    else if (e == HPE_UNEXPECTED_CONTENT_LENGTH || e == HPE_INVALID_CONTENT_LENGTH)
        *msg = "bad Content-Length";
    return 400;
}

/* Parses as much of data as the connection may: stops when a request is in
 * flight or the connection is closing. data starts at the parser's
 * position; the parser only sees bytes the framing check passed, and once
 * it has had all of them a framing error is answered (400 or 501, then
 * close). Returns the bytes consumed. */
static size_t conn_parse(struct http_conn *c, const char *data, size_t len)
{
    size_t off = 0;
    if (!c->frame.error && c->frame_ahead < len)
        c->frame_ahead += http_frame_feed(&c->frame, data + c->frame_ahead, len - c->frame_ahead);
    size_t limit = c->frame_ahead < len ? c->frame_ahead : len;
    c->in_parse = true;
    while (off < limit && c->state == CONN_OPEN && !c->busy) {
        size_t n = http_parser_execute(&c->parser, &parser_settings, data + off, limit - off);
        off += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            conn_dispatch(c);
        } else if (e != HPE_OK) {
            const char *msg;
            int status = errno_status(e, &msg);
            if (c->req && c->req->err_status) {
                status = c->req->err_status;
                msg = c->req->err_msg;
            } else if (e == HPE_CB_message_begin) {
                status = 503;
                msg = "out of memory";
            }
            conn_fail(c, status, msg);
        } else if (n == 0) {
            /* An upgrade or CONNECT tunnel stops the parser: not served. */
            conn_fail(c, 400, "protocol upgrade not supported");
        }
    }
    c->frame_ahead -= off;
    if (c->frame.error && off == limit && c->state == CONN_OPEN && !c->busy)
        conn_fail(c, c->frame.status, c->frame.error);
    c->in_parse = false;
    return off;
}

static size_t backlog_pending(const struct http_conn *c);

/* Plain HTTP: READ_CHUNK at most, and while a request is in flight only
 * what the backlog still has room for. TLS: one read buffer (records are
 * up to 16 KiB; the input BIO is bounded by TLS_IN_MAX). */
static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct http_conn *c = h->data;
    (void)hint;
    size_t n = READ_CHUNK;
    if (c->ssl)
        n = sizeof(c->srv->rbuf);
    else if (c->busy || backlog_pending(c))
        n = BACKLOG_MAX - backlog_pending(c);
    buf->base = c->srv->rbuf;
    buf->len = n ? n : 1;  /* 0 would read nothing; reading stops at a full backlog */
}

static void conn_read_stop(struct http_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_read_start(struct http_conn *c)
{
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
        c->reading = true;
}

/* EOF while a request is unanswered means the client gave up (nginx treats
 * it the same way): the request is abandoned. A response already being
 * written finishes first; otherwise the connection closes now. */
static void conn_on_eof(struct http_conn *c)
{
    c->eof = true;
    conn_read_stop(c);
    if (!c->busy || !c->resp_queued)
        conn_close(c);
}

static size_t backlog_pending(const struct http_conn *c)
{
    return c->backlog.len - c->backlog_off;
}

/* Plaintext in: parsed at once when nothing is in flight and nothing is
 * queued before it, else queued in the backlog. */
static void conn_input(struct http_conn *c, const char *data, size_t len)
{
    if (c->streaming)
        return;  /* nothing more is parsed on a stream: dropped */
    size_t used = 0;
    if (!c->busy && backlog_pending(c) == 0)
        used = conn_parse(c, data, len);
    if (c->state != CONN_OPEN || used == len)
        return;
    /* What was parsed from the backlog's front does not count against its
     * bound: move what waits to the front first (at most BACKLOG_MAX). */
    if (c->backlog_off) {
        size_t pending = backlog_pending(c);
        memmove(c->backlog.data, c->backlog.data + c->backlog_off, pending);
        c->backlog.len = pending;
        c->backlog_off = 0;
    }
    if (base_buf_append(&c->backlog, data + used, len - used) != 0)
        conn_close(c);
}

/* Decrypts and parses while no request is in flight. Ciphertext beyond
 * that waits in the SSL's input BIO, bounded by stopping reads. */
static void conn_tls_pump(struct http_conn *c)
{
    struct http_server *s = c->srv;
    while (c->state == CONN_OPEN && (!c->busy || c->streaming) && backlog_pending(c) == 0) {
        int n = http_tls_read(c->ssl, s->pbuf, sizeof(s->pbuf));
        if (n > 0) {
            conn_input(c, s->pbuf, (size_t)n);
            continue;
        }
        if (n == HTTP_TLS_CLOSED) {
            conn_on_eof(c);  /* close_notify: the client is done */
        } else if (n < 0) {
            c->tls_failed = true;
            conn_close(c);
        }
        break;
    }
    /* SSL_read may have produced records too (session tickets, alerts). */
    if (c->state != CONN_CLOSING)
        conn_tls_flush(c);
}

static void conn_tls_input(struct http_conn *c, const char *data, size_t len)
{
    if (http_tls_feed(c->ssl, data, len) != 0) {
        conn_close(c);
        return;
    }
    if (!c->tls_ready) {
        int rc = http_tls_handshake(c->ssl);
        conn_tls_flush(c);  /* our handshake records, or the alert */
        if (c->state != CONN_OPEN)
            return;
        if (rc < 0) {
            c->tls_failed = true;
            c->srv->stats.tls_handshake_errors++;
            conn_close(c);
            return;
        }
        if (rc == 0)
            return;
        c->tls_ready = true;
        conn_deadline(c, DL_IDLE, c->srv->idle_ms);
    }
    conn_tls_pump(c);
    if (c->state == CONN_OPEN && http_tls_pending_in(c->ssl) >= TLS_IN_MAX)
        conn_read_stop(c);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct http_conn *c = stream->data;
    if (nread == 0 || c->state == CONN_CLOSING)
        return;
    if (nread < 0) {
        /* Gone mid-handshake after starting one: a failed handshake. */
        if (c->ssl && !c->tls_ready && c->got_bytes && c->state == CONN_OPEN)
            c->srv->stats.tls_handshake_errors++;
        if (nread == UV_EOF && c->state == CONN_OPEN)
            conn_on_eof(c);
        else
            conn_close(c);
        return;
    }
    if (c->state == CONN_LINGER)
        return;  /* discarded: the answer is out, waiting for the peer's FIN */
    c->got_bytes = true;
    if (c->ssl) {
        conn_tls_input(c, buf->base, (size_t)nread);
        return;
    }
    /* While a request is in flight reading goes on (so a client that goes
     * away is noticed), but bytes only queue, up to BACKLOG_MAX. */
    conn_input(c, buf->base, (size_t)nread);
    if (c->state == CONN_OPEN && backlog_pending(c) >= BACKLOG_MAX)
        conn_read_stop(c);
}

/* Continues after a response went out: parses the backlog, then reads. */
static void conn_resume(struct http_conn *c)
{
    if (c->in_parse || c->state != CONN_OPEN)
        return;
    while (backlog_pending(c) > 0 && !c->busy && c->state == CONN_OPEN)
        c->backlog_off += conn_parse(c, c->backlog.data + c->backlog_off, backlog_pending(c));
    if (c->state != CONN_OPEN || c->busy)
        return;
    base_buf_free(&c->backlog);  /* an idle connection holds no buffer */
    c->backlog_off = 0;
    if (c->ssl) {
        conn_tls_pump(c);  /* pipelined records that waited undecrypted */
        if (c->state != CONN_OPEN || c->busy)
            return;
    }
    if (c->eof)
        conn_close(c);
    else
        conn_read_start(c);
}

/* ---- closing -------------------------------------------------------------- */

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct http_conn *c = req->data;
    if (status < 0 && c->state != CONN_CLOSING)
        conn_close(c);
}

/* Graceful close after a final response: FIN our side, then drain what the
 * client still sends (bounded in time) so the kernel does not answer unread
 * bytes with a reset that could destroy the response in flight. */
static void conn_linger(struct http_conn *c)
{
    if (c->state != CONN_OPEN)
        return;
    c->state = CONN_LINGER;
    if (c->eof) {
        conn_close(c);
        return;
    }
    if (c->ssl && c->tls_ready && !c->tls_failed) {
        http_tls_close_notify(c->ssl);  /* written before our FIN */
        conn_tls_flush(c);
        if (c->state != CONN_LINGER)
            return;
    }
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
        conn_close(c);
        return;
    }
    conn_deadline(c, DL_LINGER, LINGER_MS);
    conn_read_start(c);
}

static void conn_closed_cb(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    struct http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->stats.connections_open--;
    if (c->req)
        http_request_priv_free(c->req);
    http_tls_conn_free(c->ssl);
    base_buf_free(&c->backlog);
    base_free(c);
    /* After a flood the freed connections' memory would stay with the
     * process (small blocks, scattered): hand it back now and then. */
    if (++s->closed_since_trim >= TRIM_AFTER_CLOSES || (s->stats.connections_open == 0 && s->closed_since_trim >= 64)) {
        s->closed_since_trim = 0;
        base_proc_release_free_memory();
    }
    server_maybe_finish(s);
}

/* Best effort close_notify on an abrupt close of a healthy TLS connection
 * (idle timeout, server close): only what the socket takes right now. */
static void conn_tls_goodbye(struct http_conn *c)
{
    if (!c->ssl || !c->tls_ready || c->tls_failed || c->eof || c->writes_pending)
        return;
    http_tls_close_notify(c->ssl);
    const char *data;
    size_t len = http_tls_pending_out(c->ssl, &data);
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    if (len)
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    http_tls_consume_out(c->ssl);
}

static void conn_close(struct http_conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    if (c->state == CONN_OPEN)
        conn_tls_goodbye(c);
    c->state = CONN_CLOSING;
    c->reading = false;
    if (c->streaming) {
        c->streaming = false;
        c->srv->streams--;
        http_stream_closed_cb cb = c->stream_closed;
        c->stream_closed = NULL;
        if (cb)
            cb(c->stream_data);
    }
    /* A request a handler still holds outlives the connection: it is
     * marked abandoned (if unanswered) and freed by its last unref. */
    if (c->req && c->req->pub.refs > 0) {
        if (!c->req->responded)
            c->req->abandoned = true;
        c->req->pub.conn = NULL;
        c->req = NULL;
    }
    c->handles_open = 2;
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
    uv_close((uv_handle_t *)&c->timer, conn_closed_cb);
}

/* ---- connections ------------------------------------------------------------ */

static void peer_address(struct http_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    c->remote[0] = '\0';
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, c->remote, sizeof(c->remote));
    else if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, c->remote, sizeof(c->remote));
    else
        snprintf(c->remote, sizeof(c->remote), "local");
}

static struct http_conn *conn_new(struct http_server *s)
{
    struct http_conn *c = base_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    base_buf_init(&c->backlog, BACKLOG_MAX);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    http_frame_init(&c->frame);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->stats.connections_open++;
    return c;
}

static void conn_start(struct http_conn *c)
{
    struct http_server *s = c->srv;
    s->stats.connections_accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    peer_address(c);
    if (s->tls_ctx) {
        c->ssl = http_tls_conn_new(s->tls_ctx);
        if (!c->ssl) {
            conn_close(c);
            return;
        }
        /* The handshake must complete within the read timeout. */
        conn_deadline(c, DL_HANDSHAKE, s->read_ms);
    } else {
        conn_deadline(c, DL_IDLE, s->idle_ms);
    }
    conn_read_start(c);
    if (!c->reading)
        conn_close(c);
}

static void reject_closed_cb(uv_handle_t *h)
{
    struct http_server *s = h->data;
    base_free(h);
    s->handles_open--;
    server_maybe_finish(s);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct http_server *s = listener->data;
    if (status < 0 || s->closing)
        return;
    if (s->stats.connections_open >= s->max_conns) {
        /* Accept and close at once: leaving it in the backlog would make
         * libuv stop polling the listener until it is taken. */
        uv_tcp_t *t = base_malloc(sizeof(*t));
        if (!t)
            return;
        uv_tcp_init(s->loop, t);
        t->data = s;
        uv_accept(listener, (uv_stream_t *)t);
        s->handles_open++;
        s->stats.connections_rejected++;
        reject_note(s, HTTP_REJECT_CONNECTION_CAP, 0, "at the connection cap", "");
        uv_close((uv_handle_t *)t, reject_closed_cb);
        return;
    }
    struct http_conn *c = conn_new(s);
    if (!c)
        return;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    conn_start(c);
}

static int server_tls_load(struct http_server *s, char *errbuf, size_t errlen)
{
    if (s->tls_ctx || (!s->tls_cert && !s->tls_key))
        return 0;
    s->tls_ctx = http_tls_ctx_new(s->tls_cert, s->tls_key, errbuf, errlen);
    return s->tls_ctx ? 0 : UV_EINVAL;
}

int http_server_adopt_fd(struct http_server *s, uv_os_sock_t fd)
{
    if (s->closing) {
        close(fd);
        return UV_ECANCELED;
    }
    if (server_tls_load(s, NULL, 0) != 0) {
        close(fd);
        return UV_EINVAL;
    }
    struct http_conn *c = conn_new(s);
    if (!c) {
        close(fd);
        return UV_ENOMEM;
    }
    int rc = uv_tcp_open(&c->tcp, fd);
    if (rc != 0) {
        close(fd);
        conn_close(c);
        return rc;
    }
    conn_start(c);
    return 0;
}

/* ---- server ------------------------------------------------------------------ */

struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_opts *opts,
                                    http_handler_cb handler, void *data)
{
    struct http_server_opts o = {0};
    if (opts)
        o = *opts;
    struct http_server *s = base_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->handler = handler;
    s->data = data;
    s->head_check = opts ? opts->head_check : NULL;
    s->limits.max_body = o.max_body ? o.max_body : HTTP_DEFAULT_MAX_BODY;
    s->limits.max_header_bytes = o.max_header_bytes ? o.max_header_bytes : HTTP_DEFAULT_MAX_HEADER_BYTES;
    s->idle_ms = o.idle_timeout_ms ? o.idle_timeout_ms : DEFAULT_IDLE_MS;
    s->read_ms = o.read_timeout_ms ? o.read_timeout_ms : DEFAULT_READ_MS;
    s->max_conns = o.max_connections ? o.max_connections : DEFAULT_MAX_CONNS;
    s->out_budget = o.output_budget ? o.output_budget : HTTP_DEFAULT_OUTPUT_BUDGET;
    /* One of the two alone is kept too: listening then says what is missing. */
    if ((o.tls_cert_file && !(s->tls_cert = base_strdup(o.tls_cert_file))) ||
        (o.tls_key_file && !(s->tls_key = base_strdup(o.tls_key_file)))) {
        base_free(s->tls_cert);
        base_free(s);
        return NULL;
    }
    if (getrandom(&s->rng, sizeof(s->rng), GRND_NONBLOCK) != (ssize_t)sizeof(s->rng))
        s->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32);
    s->rng |= 1;  /* xorshift must not start at 0 */
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->handles_open = 1;
    return s;
}

static int parse_listen_addr(const char *addr, struct sockaddr_storage *ss)
{
    char host[64];
    const char *port;
    if (!addr)
        return UV_EINVAL;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof(host))
            return UV_EINVAL;
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof(host) || memchr(addr, ':', (size_t)(colon - addr)))
            return UV_EINVAL;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        port = colon + 1;
    }
    if (!port[0] || strlen(port) > 5)
        return UV_EINVAL;
    int p = 0;
    for (const char *q = port; *q; q++) {
        if (*q < '0' || *q > '9')
            return UV_EINVAL;
        p = p * 10 + (*q - '0');
    }
    if (p > 65535)
        return UV_EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (addr[0] == '[')
        return uv_ip6_addr(host, p, (struct sockaddr_in6 *)ss);
    return uv_ip4_addr(host[0] ? host : "0.0.0.0", p, (struct sockaddr_in *)ss);
}

int http_server_listen(struct http_server *s, const char *addr, char *errbuf, size_t errlen)
{
    struct sockaddr_storage ss;
    const char *what = "bad listen address (want HOST:PORT, [V6]:PORT or :PORT)";
    int rc = UV_EALREADY;
    if (s->listening || s->closing)
        goto fail;
    rc = parse_listen_addr(addr, &ss);
    if (rc != 0)
        goto fail;
    /* Certificate and key are checked before the port is taken. */
    rc = server_tls_load(s, errbuf, errlen);
    if (rc != 0)
        return rc;
    what = "cannot bind";
    /* libuv sets SO_REUSEADDR on bind. */
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc != 0)
        goto fail;
    what = "cannot listen";
    rc = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG, on_connection);
    if (rc != 0)
        goto fail;
    s->listening = true;
    return 0;
fail:
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s %s: %s", what, addr ? addr : "(null)", uv_strerror(rc));
    return rc;
}

int http_server_port(const struct http_server *s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return rc;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void http_server_stats_get(const struct http_server *s, struct http_server_stats *out)
{
    *out = s->stats;
    out->max_connections = s->max_conns;
    out->output_bytes = s->out_bytes;
    out->output_budget = s->out_budget;
    memset(out->connections, 0, sizeof(out->connections));
    for (const struct http_conn *c = s->conns; c; c = c->next) {
        enum http_conn_state_kind k = HTTP_CONN_IDLE;
        if (c->state != CONN_OPEN)
            k = HTTP_CONN_CLOSING;
        else if (c->busy)
            k = HTTP_CONN_WRITING;
        else if (c->in_request || backlog_pending(c))
            k = HTTP_CONN_READING;
        out->connections[k]++;
    }
}

void http_server_set_max_connections(struct http_server *s, size_t n)
{
    s->max_conns = n ? n : 1;
}

int http_server_tls_reload(struct http_server *s, char *errbuf, size_t errlen)
{
    if (!s->tls_cert && !s->tls_key) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "TLS is not configured (no certificate and key files)");
        return UV_EINVAL;
    }
    SSL_CTX *ctx = http_tls_ctx_new(s->tls_cert, s->tls_key, errbuf, errlen);
    if (!ctx)
        return UV_EINVAL;  /* the old context stays */
    /* Open connections hold their own reference to the old one. */
    http_tls_ctx_free(s->tls_ctx);
    s->tls_ctx = ctx;
    return 0;
}

static void server_handle_closed_cb(uv_handle_t *h)
{
    struct http_server *s = h->data;
    s->handles_open--;
    server_maybe_finish(s);
}

static void drain_timer_cb(uv_timer_t *t)
{
    struct http_server *s = t->data;
    for (struct http_conn *c = s->conns; c; c = c->next)
        conn_close(c);
}

static void server_maybe_finish(struct http_server *s)
{
    if (!s->closing || s->finished || s->conns)
        return;
    if (s->drain_open) {
        s->drain_open = false;
        uv_close((uv_handle_t *)&s->drain, server_handle_closed_cb);
        return;
    }
    if (s->handles_open > 0)
        return;
    s->finished = true;
    http_close_cb cb = s->close_cb;
    void *data = s->close_data;
    http_tls_ctx_free(s->tls_ctx);
    base_free(s->tls_cert);
    base_free(s->tls_key);
    base_free(s);
    if (cb)
        cb(data);
}

void http_server_close(struct http_server *s, http_close_cb cb, void *data)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    s->close_cb = cb;
    s->close_data = data;
    uv_close((uv_handle_t *)&s->listener, server_handle_closed_cb);
    /* Idle connections go now; requests in flight (or half received) get
     * DRAIN_MS to finish, their responses carrying Connection: close. */
    for (struct http_conn *c = s->conns; c; c = c->next) {
        if (c->state == CONN_OPEN && c->streaming)
            http_stream_close((struct http_stream *)c);  /* a stream never finishes by itself */
        else if (c->state == CONN_OPEN && !c->busy && !c->in_request)
            conn_close(c);
    }
    if (s->conns) {
        uv_timer_init(s->loop, &s->drain);
        s->drain.data = s;
        s->handles_open++;
        s->drain_open = true;
        uv_timer_start(&s->drain, drain_timer_cb, DRAIN_MS, 0);
    }
    server_maybe_finish(s);
}

/* ---- requests ------------------------------------------------------------------ */

void http_request_ref(struct http_request *req)
{
    req->refs++;
}

void http_request_unref(struct http_request *req)
{
    if (--req->refs > 0)
        return;
    /* Still attached: the connection keeps it for reuse (or frees it when
     * it closes). Detached: nobody else needs it. */
    if (!req->conn)
        http_request_priv_free(http_request_priv_of(req));
}

bool http_request_is_abandoned(const struct http_request *req)
{
    return ((const struct http_request_priv *)req)->abandoned;
}

static void send_response(struct http_request *req, int status, const char *content_type,
                          const char *extra_headers, const char *body, size_t len,
                          const struct http_body_parts *parts)
{
    struct http_request_priv *r = http_request_priv_of(req);
    if (r->responded) {
        if (parts)
            parts->release(parts->data);
        return;
    }
    r->responded = true;
    struct http_conn *c = req->conn;
    if (c && !r->abandoned && c->state == CONN_OPEN && c->busy) {
        struct response resp = {
            .head = {
                .status = status,
                .content_type = content_type,
                .extra_headers = extra_headers,
                .body_len = parts ? parts->len : len,
                .request_id = req->request_id,
                .close = !r->keep_alive,
                .keep_alive_header = r->keep_alive && r->http10,
            },
            .body = body,
            .parts = parts,
            .head_only = r->is_head,
        };
        conn_send(c, &resp);
    } else if (parts) {
        parts->release(parts->data);
    }
    http_request_unref(req);
}

void http_response_send(struct http_request *req, int status, const char *content_type,
                        const char *extra_headers, const char *body, size_t len)
{
    send_response(req, status, content_type, extra_headers, body, len, NULL);
}

void http_response_send_parts(struct http_request *req, int status, const char *content_type,
                              const char *extra_headers, const struct http_body_parts *body)
{
    send_response(req, status, content_type, extra_headers, NULL, 0, body);
}

/* ---- streams ---------------------------------------------------------------- */

struct http_stream *http_stream_start(struct http_request *req, int status, const char *content_type,
                                      const char *extra_headers, size_t max_pending,
                                      http_stream_closed_cb closed_cb, void *data)
{
    struct http_request_priv *r = http_request_priv_of(req);
    struct http_conn *c = req->conn;
    if (r->responded)
        return NULL;
    if (!c || r->abandoned || c->state != CONN_OPEN || !c->busy || r->is_head || c->srv->closing) {
        send_response(req, c && c->srv->closing ? 503 : status, content_type, extra_headers, "", 0, NULL);
        return NULL;
    }
    r->responded = true;
    struct http_response_head head = {
        .status = status,
        .content_type = content_type,
        .extra_headers = extra_headers,
        .request_id = req->request_id,
        .date_line = date_line(c->srv),
        .close = true,
        .hsts = c->ssl != NULL,
        .no_length = true,
    };
    char stack[1024];
    size_t hlen = http_request_format_head(&head, stack, sizeof(stack));
    if (hlen >= sizeof(stack)) {
        conn_close(c);  /* extra headers are the caller's literals: never this long */
        http_request_unref(req);
        return NULL;
    }
    c->streaming = true;
    c->srv->streams++;
    c->stream_max = max_pending;
    c->close_after = true;
    c->dl_kind = DL_NONE;
    http_request_unref(req);  /* the server's reference: the connection keeps the request */
    uv_buf_t b = uv_buf_init(stack, (unsigned)hlen);
    conn_write(c, &b, 1);
    if (c->state != CONN_OPEN) /* closed by the write, before closed_cb was set */
        return NULL;
    c->stream_closed = closed_cb;
    c->stream_data = data;
    conn_read_start(c);  /* to see the client leave */
    return (struct http_stream *)c;
}

int http_stream_write(struct http_stream *st, const uv_buf_t *bufs, unsigned n)
{
    struct http_conn *c = (struct http_conn *)st;
    if (!c->streaming || c->state != CONN_OPEN || c->resp_queued)
        return -1;
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += bufs[i].len;
    if (c->stream_max && c->out_pending + len > c->stream_max) {
        reject_note(c->srv, HTTP_REJECT_OUTPUT_BUDGET, 0, "stream's unsent output over its bound", c->remote);
        conn_close(c);
        return -1;
    }
    conn_write(c, bufs, n);
    return c->state == CONN_OPEN ? 0 : -1;
}

size_t http_stream_pending(const struct http_stream *st)
{
    return ((const struct http_conn *)st)->out_pending;
}

void http_stream_close(struct http_stream *st)
{
    struct http_conn *c = (struct http_conn *)st;
    if (!c->streaming || c->state != CONN_OPEN || c->resp_queued)
        return;
    if (c->writes_pending)
        c->resp_queued = true;  /* write_finished lingers once the queue is out */
    else
        conn_linger(c);
}

size_t http_server_streams(const struct http_server *s)
{
    return s->streams;
}
