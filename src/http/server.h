/*
 * http/server: opshub's own HTTP/1.1 server on the libuv loop. The
 * connection layer (accept, keep-alive, pipelining, limits, timeouts) is
 * ours; request parsing is done by http-parser (libhttp-parser-dev). One
 * handler callback receives each complete request; the response may be sent
 * right away or later (after an asynchronous store query): hold the request
 * with http_request_ref and send when ready. If the client went away
 * meanwhile, http_response_send is a harmless no-op.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_HEADERS 64
#define HTTP_APP_CTX_MAX 1536
#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define HTTP_DEFAULT_MAX_HEADER_BYTES (16 * 1024)
#define HTTP_DEFAULT_OUTPUT_BUDGET (32u * 1024 * 1024)

struct http_server;
struct http_conn;

struct http_header {
    const char *name;   /* NUL-terminated, as received */
    const char *value;
};

struct http_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* decoded path without query, NUL-terminated */
    const char *query;         /* raw query string without '?', "" when none */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t n_headers;
    const char *body;          /* NUL-terminated; body_len may be 0 */
    size_t body_len;
    char request_id[72];       /* X-Request-Id from the client if 1-64 chars of
                                * [A-Za-z0-9._-], else 16 generated hex chars */
    char remote_addr[64];      /* client IP address, no port: the peer's, unless the
                                * handler layer resolved a client behind a trusted
                                * proxy (http/proxy) */
    char peer_addr[64];        /* the TCP peer's IP address, no port */
    bool tls;                  /* it came over TLS (session cookies get Secure) */
    uint64_t start_ns;         /* monotonic, for the access log and histogram */
    /* Scratch space owned by the handler layer for this request (http/api
     * keeps its per-request context here: route, caller, response headers).
     * Not initialised by the server. */
    _Alignas(16) unsigned char app_ctx[HTTP_APP_CTX_MAX];
    /* private: */
    struct http_conn *conn;
    int refs;
};

struct http_server_opts {
    size_t max_body;           /* 0 = HTTP_DEFAULT_MAX_BODY; larger => 413 */
    size_t max_header_bytes;   /* 0 = HTTP_DEFAULT_MAX_HEADER_BYTES; larger => 431 */
    uint64_t idle_timeout_ms;  /* keep-alive idle; 0 = 30000 */
    uint64_t read_timeout_ms;  /* a started request must complete within; 0 = 10000 */
    size_t max_connections;    /* 0 = 4096; beyond, new connections are closed */
    size_t output_budget;      /* 0 = HTTP_DEFAULT_OUTPUT_BUDGET: response bytes copied
                                * and waiting for slow sockets, all connections together */
    /* TLS: both PEM files or neither (plain HTTP). Paths are copied; the
     * files are read at http_server_listen (errors name the file) and again
     * by http_server_tls_reload. With TLS every accepted connection speaks
     * TLS 1.2+ (ALPN http/1.1) and every response carries HSTS. */
    const char *tls_cert_file; /* certificate chain, leaf first */
    const char *tls_key_file;  /* unencrypted private key matching it */
    /* Optional: called with the data of http_server_new once a request's
     * head is complete and it announces a body, before any of the body is
     * read. Returns 0 to go on, or an HTTP status (401, 403, ...) to refuse
     * it unread: the server answers that status with the JSON error body
     * (*msg, a static string), extra header lines *headers (static or NULL)
     * and closes the connection. Keeps unauthenticated clients from making
     * the server buffer bodies. Must not keep req. */
    int (*head_check)(void *data, const struct http_request *req, const char **msg, const char **headers);
};

/* Why the server itself refused a request or a connection (before any
 * handler): exported as opshub_http_rejected_total{reason}. */
enum http_reject {
    HTTP_REJECT_BAD_REQUEST,      /* 400: malformed or smuggling-shaped framing */
    HTTP_REJECT_UNAUTHENTICATED,  /* 401/403: a body refused unread (head_check) */
    HTTP_REJECT_TIMEOUT,          /* 408: a request not received in time */
    HTTP_REJECT_BODY_TOO_LARGE,   /* 413 */
    HTTP_REJECT_URI_TOO_LONG,     /* 414 */
    HTTP_REJECT_HEADER_TOO_LARGE, /* 431 */
    HTTP_REJECT_NOT_IMPLEMENTED,  /* 501: a transfer coding other than chunked */
    HTTP_REJECT_UNAVAILABLE,      /* 503: out of memory */
    HTTP_REJECT_CONNECTION_CAP,   /* a connection closed at accept: the cap was reached */
    HTTP_REJECT_OUTPUT_BUDGET,    /* closed: its unsent output would pass the server's budget */
    HTTP_REJECT_WRITE_TIMEOUT,    /* closed: a response made no progress for read_timeout_ms */
    HTTP_REJECT_MAX
};
const char *http_reject_name(enum http_reject r);

/* Connections by what they are doing, counted when stats are read. */
enum http_conn_state_kind {
    HTTP_CONN_IDLE,       /* keep-alive, waiting for a request */
    HTTP_CONN_READING,    /* a request has begun */
    HTTP_CONN_WRITING,    /* a request is being handled or its response written */
    HTTP_CONN_CLOSING,    /* lingering or closing */
    HTTP_CONN_STATE_MAX
};
const char *http_conn_state_name(enum http_conn_state_kind k);

struct http_server_stats {
    uint64_t connections_accepted, connections_open, connections_rejected;
    uint64_t requests;
    uint64_t parse_errors, timeouts;
    uint64_t rejected[HTTP_REJECT_MAX];
    uint64_t connections[HTTP_CONN_STATE_MAX];
    size_t max_connections;       /* the cap in force */
    size_t output_bytes;          /* response bytes copied and waiting for the socket */
    size_t output_budget;         /* their limit across all connections */
    /* Failed TLS handshakes: bad records, no shared protocol/cipher, the
     * handshake deadline (read_timeout_ms; also counted in timeouts), or
     * a peer that left mid-handshake after sending something. */
    uint64_t tls_handshake_errors;
};

/* Called once per complete request. The request is valid until a response
 * is sent (if the handler did not take a reference) or until the last
 * http_request_unref. */
typedef void (*http_handler_cb)(void *data, struct http_request *req);

struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_opts *opts,
                                    http_handler_cb handler, void *data);
/* Binds and listens on "HOST:PORT" ("127.0.0.1:4000", "[::1]:4000", ":4000").
 * 0 or a negative libuv error; errbuf gets a readable message. */
int http_server_listen(struct http_server *s, const char *addr, char *errbuf, size_t errlen);
void http_server_stats_get(const struct http_server *s, struct http_server_stats *out);
/* Changes the connection cap (n >= 1); open connections beyond it stay
 * until they close. For the cap sized from the open-file limit, which
 * moves with the number of checks. */
void http_server_set_max_connections(struct http_server *s, size_t n);
/* Re-reads the certificate and key files named in the options into a new
 * TLS context (for SIGHUP). On success new connections use it while open
 * ones keep the context they started with. On error (unreadable file, bad
 * PEM, key not matching the certificate) the old context stays in use and
 * errbuf names the file (never key material). 0, UV_EINVAL (also when TLS
 * is not configured) or UV_ENOMEM. Loop thread only. */
int http_server_tls_reload(struct http_server *s, char *errbuf, size_t errlen);

/* Request accessors. Header lookup is case-insensitive; NULL when absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Percent-decodes src[0..len) into dst (room for len + 1 bytes). With
 * plus_is_space, '+' becomes ' ' (query strings and form bodies). Rejects
 * %00 and invalid escapes (false); on success *out_len is the decoded
 * length. */
bool http_request_percent_decode(const char *src, size_t len, char *dst, size_t *out_len,
                                 bool plus_is_space);
/* Copies the decoded value (%XX, '+' as space) of query parameter `name`
 * into buf; returns true when present. False (buf "") also when the value
 * is malformed (%00, bad escape) or does not fit in n bytes: never cut. */
bool http_request_query(const struct http_request *req, const char *name, char *buf, size_t n);

/* Keeps the request (and its memory) alive after the handler returns. */
void http_request_ref(struct http_request *req);
void http_request_unref(struct http_request *req);
/* True when the client has gone away: sending is then a no-op. */
bool http_request_is_abandoned(const struct http_request *req);

/* Sends a complete response. `extra_headers` are "Name: value\r\n" lines
 * or NULL. The body is copied. Call exactly once per request. */
void http_response_send(struct http_request *req, int status, const char *content_type,
                        const char *extra_headers, const char *body, size_t len);

/* A response body the server borrows instead of copying: parts[0..n) in
 * order (len bytes in all). `release(data)` runs exactly once, on the loop,
 * when the server no longer needs the parts: after they are written, when
 * the write fails or the client went away, possibly before
 * http_response_send_parts returns. Over TLS the parts are encrypted (a
 * copy) and released at once. */
struct http_body_parts {
    const uv_buf_t *parts;
    unsigned n;
    size_t len;
    void (*release)(void *data);
    void *data;
};
/* http_response_send with a borrowed, many-piece body (a big /metrics page
 * is not copied on the loop). */
void http_response_send_parts(struct http_request *req, int status, const char *content_type,
                              const char *extra_headers, const struct http_body_parts *body);

/* A streamed response (Server-Sent Events): a head without Content-Length
 * and "Connection: close", then bytes as they come, until either side
 * closes. The stream is the request's connection: nothing more is parsed
 * on it (bytes the client sends are read and dropped, so its leaving is
 * seen at once). Its unsent output is bounded per stream (max_pending) and
 * by the server's output budget; a write that would pass either closes the
 * stream, as does a write that makes no progress for read_timeout_ms. */
struct http_stream;
/* Runs exactly once, on the loop, when the stream's connection closes (the
 * client left, a bound was passed, the server closes, or http_stream_close
 * finished): the handle is invalid from then on. It may run inside
 * http_stream_write or http_stream_close. */
typedef void (*http_stream_closed_cb)(void *data);

/* Answers req with the stream's head (status, content type and extra
 * header lines as http_response_send's) and returns the stream, or NULL
 * when the client is already gone (closed_cb does not run then). Counts as
 * the request's response: call it instead of http_response_send. */
struct http_stream *http_stream_start(struct http_request *req, int status, const char *content_type,
                                      const char *extra_headers, size_t max_pending,
                                      http_stream_closed_cb closed_cb, void *data);
/* Writes bufs[0..n) (taken by the socket now, or copied). 0, or -1 when
 * the stream is closed or has just been closed for passing a bound. */
int http_stream_write(struct http_stream *st, const uv_buf_t *bufs, unsigned n);
/* Bytes written but not yet taken by the socket. */
size_t http_stream_pending(const struct http_stream *st);
/* Ends the stream after what is queued (closed_cb runs when it is closed). */
void http_stream_close(struct http_stream *st);
/* Streams open now. */
size_t http_server_streams(const struct http_server *s);

/* Stops accepting, lets in-flight responses finish (bounded), closes every
 * connection; cb runs on the loop when all handles are closed and the server
 * has been freed. */
typedef void (*http_close_cb)(void *data);
void http_server_close(struct http_server *s, http_close_cb cb, void *data);

#endif
