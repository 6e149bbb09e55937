/*
 * probe/tls: the `tls` check type: connect to host:port (names resolved
 * on libuv's pool), run a TLS client handshake through OpenSSL memory BIOs
 * on the loop, verify the chain and the name, and report how many days the
 * leaf certificate has left. The SSL_CTX (system store or ca_file) is
 * built on the thread pool, so no file is read on the loop, and kept by the
 * engine for an hour per ca_file. One uv_timer_t
 * bounds the whole run; a finished or canceled run closes its handles and
 * frees itself in the last close callback.
 */
#ifndef PROBE_TLS_H
#define PROBE_TLS_H

#include "conf/conf.h"
#include "model/sample.h"

/* Bytes read from the server before the handshake must be done. */
#define PROBE_TLS_READ_MAX (256 * 1024)
#define PROBE_TLS_DEFAULT_WARN_DAYS 30
#define PROBE_TLS_DEFAULT_CRIT_DAYS 7
#define PROBE_TLS_MAX_DAYS 3650

/* The settings of a tls check (conf_check.settings). */
struct probe_tls_conf {
    const char *address;     /* host:port or [v6]:port */
    const char *server_name; /* SNI and the name verified; NULL: the host of address */
    const char *ca_file;     /* PEM bundle trusted instead of the system store; may be NULL */
    int warn_days;           /* fewer days left: degraded */
    int crit_days;           /* fewer days left: down; <= warn_days */
};

/* The result for a verified certificate with days_left days to go: down
 * below crit_days, degraded below warn_days, else up. */
enum sample_result probe_tls_result(double days_left, int warn_days, int crit_days);

extern const struct conf_check_type probe_tls_type;

#endif
