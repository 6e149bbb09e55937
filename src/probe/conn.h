/*
 * probe/conn: one client connection for the check types that speak over
 * TCP (tcp, tls, redis): names resolved on libuv's pool, each address
 * tried in turn, and optionally a TLS client between two OpenSSL memory
 * BIOs, so the loop moves the bytes and never blocks inside OpenSSL. The
 * SSL_CTX is built on the pool and kept by the engine per ca_file for an
 * hour. A connection has no timer: its owner (a run) bounds it with its
 * own deadline and reads probe_conn_phase for the timeout text. Probe-
 * internal: only src/probe includes it.
 */
#ifndef PROBE_CONN_H
#define PROBE_CONN_H

#include "probe/probe_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes read from the server before the TLS handshake must be done. */
#define PROBE_CONN_HANDSHAKE_MAX (256 * 1024)

struct probe_conn;
struct ssl_st;

enum probe_conn_phase {
    PROBE_CONN_IDLE,       /* not started */
    PROBE_CONN_LOADING,    /* TLS: reading the CA certificates on the pool */
    PROBE_CONN_RESOLVING,
    PROBE_CONN_CONNECTING,
    PROBE_CONN_HANDSHAKE,  /* TLS */
    PROBE_CONN_OPEN,       /* the owner's bytes flow */
    PROBE_CONN_ENDED,      /* an error or the end of the stream was reported */
};

/* TLS for a connection; every pointer is copied by probe_conn_new. */
struct probe_conn_tls {
    const char *server_name;  /* SNI and the name verified; NULL: the host */
    const char *ca_file;      /* PEM bundle instead of the system store; may be NULL */
    /* Fail after the handshake ("certificate verify failed: <reason>")
     * unless the chain and the name verify. Without it the handshake
     * completes whatever the certificate and the owner judges it
     * (SSL_get_verify_result on probe_conn_ssl). */
    bool verify;
};

/* What the connection tells its owner, on the loop. After `error` nothing
 * more is called; after `closed` only what writes still in flight report
 * (`sent` or `error`); after probe_conn_close nothing at all. */
struct probe_conn_cbs {
    /* Connected (TLS: handshake done): the owner may write. Required. */
    void (*open)(void *data);
    /* Bytes from the server (decrypted), borrowed for the call. May be NULL. */
    void (*read)(void *data, const char *buf, size_t n);
    /* The server ended the open stream: UV_EOF, or a read error (a UV_E*
     * code). May be NULL: `error` is called instead ("connection closed",
     * "read failed: ..."). */
    void (*closed)(void *data, int status);
    /* The connection failed: a short text without the owner's secrets
     * ("connection refused", "DNS: host: ...", "TLS handshake failed: ...").
     * Required. */
    void (*error)(void *data, const char *why);
    /* A probe_conn_write has been handed to the kernel. May be NULL. */
    void (*sent)(void *data);
};

/* uv_hrtime() at the end of each phase; 0 until reached (resolved: only
 * when a name was resolved). */
struct probe_conn_times {
    uint64_t resolved_ns, connected_ns, handshaken_ns;
};

/* A connection to host:port (both copied; port numeric), with TLS when
 * tls is not NULL. cbs is borrowed for the connection's life (a static
 * table); data is passed to every callback. NULL on OOM. Nothing happens
 * before probe_conn_start. */
struct probe_conn *probe_conn_new(struct probe_engine *e, const char *host, const char *port,
                                  const struct probe_conn_tls *tls, const struct probe_conn_cbs *cbs, void *data);
/* Starts: loads the CA certificates (TLS, unless cached), resolves a name,
 * connects. 0, or -1 with the reason in err when it failed at once (no
 * callback follows; the owner reports it on a later loop turn). Never
 * calls back from inside this call. */
int probe_conn_start(struct probe_conn *c, char *err, size_t n);
/* Sends a copy of buf[0..n) (encrypted with TLS); only when open. 0 or a
 * UV_E* code (the owner reports "send failed: ..."); a failure later
 * comes through `error`. */
int probe_conn_write(struct probe_conn *c, const void *buf, size_t n);
/* Stops every callback, cancels what is pending, closes the socket; the
 * connection frees itself once libuv has handed everything back, holding
 * the engine open until then. c may be NULL. */
void probe_conn_close(struct probe_conn *c);

enum probe_conn_phase probe_conn_phase(const struct probe_conn *c);
const struct probe_conn_times *probe_conn_times(const struct probe_conn *c);
/* The OpenSSL connection once the handshake is done, else NULL. */
struct ssl_st *probe_conn_ssl(const struct probe_conn *c);

/* Splits "host:port" or "[v6]:port" in place (host and port point into
 * buf); 0, or -1 when it is not one (port 1..65535). */
int probe_conn_split_address(char *buf, char **host, char **port);

/* Frees the engine's TLS contexts (NULL is fine); at engine free. */
void probe_conn_tls_cache_free(struct probe_conn_tls_cache *cache);

#endif
