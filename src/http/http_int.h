/*
 * http/http_int: what src/http/server.c (connections) and src/http/request.c
 * (request fields, response head) share, plus hooks for the unit tests and
 * the fuzz target. Private to src/http and tests/http, tests/fuzz. The test
 * hooks run through the same connection, parsing and limit code as sockets
 * accepted by the listener do.
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include "http/server.h"

#include "base/buf.h"

#include <http_parser.h>
#include <openssl/ssl.h>
#include <stdbool.h>

/* Request targets longer than this get 414. */
#define HTTP_MAX_URL 8192

struct http_request_limits {
    size_t max_body;
    size_t max_header_bytes;
};

/* A request plus its parsing state. Owned by its connection while attached
 * (pub.conn != NULL, reused for the next request), else by its references. */
struct http_request_priv {
    struct http_request pub;
    const struct http_request_limits *limits;
    struct base_buf head;   /* url, header names/values, path, query; NUL-separated */
    struct base_buf body;
    size_t url_off, url_len;
    size_t hdr[HTTP_MAX_HEADERS][4];  /* name off, len, value off, len in head */
    size_t n_hdr;
    size_t head_bytes;      /* counted against max_header_bytes */
    int err_status;         /* set by a callback that refused the request */
    const char *err_msg;    /* static text for the error body */
    bool in_value;
    bool head_done;         /* pointers into head are set; trailers are dropped */
    bool have_client_id;
    bool expect_continue;
    bool keep_alive, http10, is_head;
    bool responded, abandoned;
};

static inline struct http_request_priv *http_request_priv_of(struct http_request *r)
{
    return (struct http_request_priv *)r;
}

/* Allocates a request using `limits` (borrowed; owned by the server, which
 * outlives attached requests; detached ones no longer read it). */
struct http_request_priv *http_request_priv_new(const struct http_request_limits *limits);
void http_request_priv_free(struct http_request_priv *r);
/* Empties the request for the next message, keeping small allocations. */
void http_request_priv_reset(struct http_request_priv *r);

/* http_parser callbacks' bodies: 0, or -1 with err_status/err_msg set. */
int http_request_on_url(struct http_request_priv *r, const char *at, size_t len);
int http_request_on_header_field(struct http_request_priv *r, const char *at, size_t len);
int http_request_on_header_value(struct http_request_priv *r, const char *at, size_t len);
int http_request_on_headers_complete(struct http_request_priv *r, const http_parser *p);
int http_request_on_body(struct http_request_priv *r, const char *at, size_t len);
void http_request_on_message_complete(struct http_request_priv *r, const http_parser *p);


struct http_response_head {
    int status;
    const char *content_type;   /* NULL: no Content-Type */
    const char *extra_headers;  /* "Name: value\r\n" lines or NULL */
    size_t body_len;
    const char *request_id;
    const char *date_line;      /* "Date: ...\r\n" or "" */
    bool close;                 /* Connection: close */
    bool keep_alive_header;     /* Connection: keep-alive (HTTP/1.0) */
    bool hsts;                  /* Strict-Transport-Security (served over TLS) */
    bool no_length;             /* a streamed body, ended by closing: no Content-Length */
};

/* Formats status line and headers into buf. Returns the full length needed
 * (without NUL); when it is >= n the output is incomplete and the caller
 * retries with a larger buffer. */
size_t http_request_format_head(const struct http_response_head *h, char *buf, size_t n);
/* "Not Found" for 404; "Unknown" when not in the table. */
const char *http_request_status_reason(int status);
/* Error code for the JSON error body: 404 -> "not_found", ... */
const char *http_request_status_code(int status);

/* ---- http/tls.c: OpenSSL behind memory BIOs (used by server.c) ---------- */

/* A server context from PEM files: TLS 1.2+, ALPN http/1.1, no
 * renegotiation, encrypted keys refused (never a prompt). NULL on failure
 * with err naming the file (unreadable, bad PEM, key not matching). */
SSL_CTX *http_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t n);
/* Drops the caller's reference; connections keep theirs (refcounted). */
void http_tls_ctx_free(SSL_CTX *ctx);
/* One server-side SSL between two memory BIOs (owned by it), or NULL. */
SSL *http_tls_conn_new(SSL_CTX *ctx);
void http_tls_conn_free(SSL *ssl);
/* Appends received ciphertext. 0 or -1 (out of memory). */
int http_tls_feed(SSL *ssl, const char *data, size_t len);
/* Ciphertext received but not yet decrypted. */
size_t http_tls_pending_in(SSL *ssl);
/* 1 done, 0 needs more input, -1 failed (alert, if any, is in the output). */
int http_tls_handshake(SSL *ssl);
#define HTTP_TLS_CLOSED (-2)
/* Plaintext bytes (> 0), 0 needs more input, HTTP_TLS_CLOSED on the
 * peer's close_notify, -1 on a fatal error. */
int http_tls_read(SSL *ssl, char *buf, size_t n);
/* Encrypts all of data into the output. 0 or -1. */
int http_tls_write(SSL *ssl, const char *data, size_t len);
/* Ciphertext waiting to be sent (pointer valid until the next SSL call);
 * http_tls_consume_out drops it once the caller has taken it. */
size_t http_tls_pending_out(SSL *ssl, const char **data);
void http_tls_consume_out(SSL *ssl);
/* Queues close_notify in the output (after a completed handshake only). */
void http_tls_close_notify(SSL *ssl);

/* Serves an already connected stream socket (e.g. one end of a socketpair)
 * as if it had been accepted. Ownership of fd passes to the server (closed
 * with the connection), also on failure. 0 or a negative libuv error. */
int http_server_adopt_fd(struct http_server *s, uv_os_sock_t fd);

/* The local port the listener is bound to (useful after listening on port
 * 0), or a negative libuv error. */
int http_server_port(const struct http_server *s);

#endif
