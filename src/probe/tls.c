/*
 * probe/tls: the tls check type over a probe/conn connection (uv_tcp plus
 * an OpenSSL client between two memory BIOs, the SSL_CTX built on the
 * thread pool and cached per ca_file). The connection completes the
 * handshake whatever the certificate (it does not verify for this type),
 * so an invalid certificate still reports its dates: the chain and the
 * name are judged here from the verify result. One allocation per run
 * holds the deadline timer and copies of the address, server name and CA
 * path; after the callback (or a cancel) the run closes its connection
 * and its timer and frees itself in the timer's close callback.
 */
#include "probe/tls.h"

#include "base/alloc.h"
#include "probe/conn.h"
#include "probe/conn_run.h"
#include "probe/probe_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHOWN_MAX 72
#define NAME_SHOWN_MAX 64   /* subject and issuer in error texts */

struct probe_tls {
    struct probe_conn_run cr;       /* first: a run pointer is a probe_tls pointer */
    int warn_days, crit_days;
    char address[];                 /* split in place into host and port */
};

static void on_timer(uv_timer_t *h);

enum sample_result probe_tls_result(double days_left, int warn_days, int crit_days)
{
    if (days_left < crit_days)
        return SAMPLE_DOWN;
    if (days_left < warn_days)
        return SAMPLE_DEGRADED;
    return SAMPLE_UP;
}

/* ---- teardown ---- */

static const struct probe_conn_run_ops tls_run_ops = {0};

static void tls_cancel(struct probe_run *r)
{
    probe_conn_run_teardown((struct probe_conn_run *)r);
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

/* "subject /CN=a, issuer /CN=b, not_after 2026-12-05T10:00:00Z" into buf,
 * and the same three as the sample's detail. */
static void describe(struct probe_tls *t, X509 *leaf, int64_t not_after, char *buf, size_t n)
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
    /* X509_NAME_oneline writes ASCII (other bytes as \xXX): valid JSON strings */
    probe_run_detail_set(&t->cr.run, json_pack("{s:s, s:s, s:s}", "subject", subject, "issuer", issuer,
                                            "not_after", when));
}

/* The handshake is done: values, then verification, then the thresholds. */
static void judge(struct probe_tls *t)
{
    struct sample *s = &t->cr.run.s;
    double now_ms = probe_run_elapsed_ms(&t->cr.run);
    double connect_ms = (double)(probe_conn_times(t->cr.conn)->connected_ns - t->cr.run.t0_ns) / 1e6;
    SSL *ssl = probe_conn_ssl(t->cr.conn);
    s->latency_ms = now_ms;
    sample_value_set(s, "handshake_seconds", (now_ms - connect_ms) / 1000.0);

    X509 *leaf = SSL_get0_peer_certificate(ssl);
    int64_t not_after;
    if (!leaf || !not_after_unix(leaf, &not_after)) {
        probe_conn_run_fail(&t->cr, false, "TLS: the server sent no readable certificate");
        return;
    }
    int64_t earliest = not_after;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        int64_t na;
        if (not_after_unix(sk_X509_value(chain, i), &na) && na < earliest)
            earliest = na;
    }
    double days_left = ((double)not_after * 1000.0 - (double)s->ts_ms) / 86400000.0;
    sample_value_set(s, "days_left", days_left);
    sample_value_set(s, "earliest_expiry_seconds", (double)earliest);

    char about[SAMPLE_ERROR_MAX];
    describe(t, leaf, not_after, about, sizeof(about));
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK) {
        probe_conn_run_fail(&t->cr, false, "certificate verify failed: %s (%s)", X509_verify_cert_error_string(vr), about);
        return;
    }
    enum sample_result r = probe_tls_result(days_left, t->warn_days, t->crit_days);
    if (r != SAMPLE_UP)
        sample_set_error(s, "certificate expires in %.1f days (%s %d): %s", days_left,
                         r == SAMPLE_DOWN ? "crit_days" : "warn_days",
                         r == SAMPLE_DOWN ? t->crit_days : t->warn_days, about);
    probe_conn_run_finish(&t->cr, r);
}

/* ---- the connection ---- */

static void on_open(void *data)
{
    judge(data);
}

static void on_error(void *data, const char *why)
{
    probe_conn_run_fail(data, false, "%s", why);
}

static const struct probe_conn_cbs conn_cbs = {.open = on_open, .error = on_error};

/* ---- timeout ---- */

static void on_timer(uv_timer_t *h)
{
    struct probe_tls *t = h->data;
    if (probe_conn_run_timer_over(&t->cr))
        return;
    enum probe_conn_phase phase = probe_conn_phase(t->cr.conn);
    probe_conn_run_fail(&t->cr, false, "timeout after %" PRId64 " ms (%s)", t->cr.run.timeout_ms,
         phase == PROBE_CONN_LOADING      ? "loading CA certificates"
         : phase == PROBE_CONN_RESOLVING  ? "resolving"
         : phase == PROBE_CONN_CONNECTING ? "connecting"
                                          : "TLS handshake");
}

/* ---- start ---- */

static struct probe_tls *tls_alloc(const struct probe_tls_conf *c)
{
    const char *addr = c->address ? c->address : "";
    size_t n = strlen(addr);
    struct probe_tls *t = base_malloc(sizeof(*t) + n + 1);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    memcpy(t->address, addr, n + 1);
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
    probe_conn_run_init(&t->cr, e, check, &tls_run_ops, on_timer);

    char *host, *port;
    if (probe_conn_split_address(t->address, &host, &port) != 0) {
        char shown[SHOWN_MAX];
        probe_escape(c->address ? c->address : "", c->address ? strlen(c->address) : 0, shown,
                     sizeof(shown));
        probe_conn_run_fail(&t->cr, true, "invalid address \"%s\" (expected host:port)", shown);
        return &t->cr.run;
    }
    struct probe_conn_tls tls = {.server_name = c->server_name, .ca_file = c->ca_file};
    t->cr.conn = probe_conn_new(e, host, port, &tls, &conn_cbs, t);
    char why[SAMPLE_ERROR_MAX];
    if (!t->cr.conn)
        probe_conn_run_fail(&t->cr, true, "out of memory");
    else if (probe_conn_start(t->cr.conn, why, sizeof(why)) != 0)
        probe_conn_run_fail(&t->cr, true, "%s", why);
    return &t->cr.run;
}

/* ---- the type ---- */

static void tls_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_tls_conf *c = cc->settings;
    if (c->warn_days < c->crit_days) {
        const struct conf_node *at = conf_value_member(map, "warn_days");
        if (!at)
            at = conf_value_member(map, "crit_days");
        conf_value_error(ctx, at ? at : map, "warn_days (%d) must not be less than crit_days (%d)", c->warn_days,
                         c->crit_days);
    }
    if (c->server_name) {
        size_t n = strlen(c->server_name);
        bool bad = n == 0 || n > 253;
        for (const char *p = c->server_name; *p && !bad; p++)
            bad = *p <= ' ' || *p == 0x7f || *p == '/' || *p == '@';
        if (bad)
            conf_value_error(ctx, conf_value_member(map, "server_name") ? conf_value_member(map, "server_name") : map,
                             "server_name must be a host name or an IP address");
    }
    if (c->ca_file && !c->ca_file[0])
        conf_value_error(ctx, conf_value_member(map, "ca_file") ? conf_value_member(map, "ca_file") : map,
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
