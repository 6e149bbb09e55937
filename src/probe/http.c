/*
 * probe/http: the http check type. Its settings table (below) is all the
 * config loader knows of it; runs go on the engine's curl multi. One
 * allocation per run holds the run and curl's error buffer, and an arena
 * per run a copy of the expectations (http_expect.c parses and evaluates
 * them); the body is kept (up to max_body_bytes) only when a body
 * condition needs it. Evaluation order: transport error, status, headers,
 * body size, body_contains, body, body_not, json, latency; the first
 * failure names the sample's error. Credentials (basic_auth, bearer_token)
 * and client certificates are handed to curl. Never logs, never puts a
 * URL or a credential in an error text.
 */
#include "probe/http_int.h"

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "probe/curlm.h"
#include "probe/probe_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_LINE_MAX (16 * 1024)

struct probe_http {
    struct probe_run run;           /* first: a run pointer is a probe_http pointer */
    struct probe_curl_owner curl;   /* CURLOPT_PRIVATE */
    CURL *easy;
    struct curl_slist *headers;
    struct base_buf body;           /* used only when need_body */
    size_t body_seen;               /* bytes read, kept or not */
    size_t max_body;
    bool need_body, overflow, nomem;
    /* The run's copy of the conditions (the check may be reloaded away
     * while it runs), in its own arena. */
    struct probe_http_expect expect;
    struct base_arena arena;
    /* Cumulative phase ends in ms from the start; -1 when not reached. */
    double dns_ms, connect_ms, tls_ms, ttfb_ms;
    bool has_cert;                  /* the last request's connection had a peer certificate */
    int64_t cert_not_after;         /* its notAfter, unix seconds */
    char errbuf[CURL_ERROR_SIZE];
};

static const struct probe_http_conf *conf_of(const struct conf_check *c)
{
    return c->settings;
}

/* ---- curl setup ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct probe_http *h = ud;
    size_t n = size * nmemb;
    h->body_seen += n;
    if (!h->need_body) {
        if (h->body_seen > h->max_body) {
            h->overflow = true;
            return 0;
        }
        return n;
    }
    int rc = base_buf_append(&h->body, p, n);
    if (rc == BASE_ERR_TOO_BIG) {
        h->overflow = true;
        return 0;
    }
    if (rc) {
        h->nomem = true;
        return 0;
    }
    return n;
}

static int set_headers(struct probe_http *h, const struct probe_http_conf *c)
{
    struct base_buf line;
    int rc = 0;
    base_buf_init(&line, HEADER_LINE_MAX);
    for (size_t i = 0; i < c->n_headers && !rc; i++) {
        const char *v = c->headers[i].value;
        base_buf_reset(&line);
        /* "Name;" is curl's way to send a header with an empty value. */
        if (v && *v)
            rc = base_buf_appendf(&line, "%s: %s", c->headers[i].key, v);
        else
            rc = base_buf_appendf(&line, "%s;", c->headers[i].key);
        struct curl_slist *l = rc ? NULL : curl_slist_append(h->headers, line.data);
        if (!rc && !l)
            rc = BASE_ERR_NOMEM;
        if (l)
            h->headers = l;
    }
    /* A body must not wait a second for "100 Continue". */
    if (!rc && c->body) {
        struct curl_slist *l = curl_slist_append(h->headers, "Expect:");
        if (l)
            h->headers = l;
        else
            rc = BASE_ERR_NOMEM;
    }
    base_buf_free(&line);
    return rc;
}

static CURLcode set_method(CURL *easy, const struct probe_http_conf *c)
{
    const char *m = c->method ? c->method : "GET";
    CURLcode rc = CURLE_OK;
    if (strcmp(m, "HEAD") == 0)
        return curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (c->body || strcmp(m, "POST") == 0) {
        const char *body = c->body ? c->body : "";
        rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        if (!rc)
            rc = curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, body);
    }
    if (!rc && strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0)
        rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m);
    else if (!rc && strcmp(m, "GET") == 0 && c->body)
        rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "GET");
    return rc;
}

/* Called once per request (redirects too) on its connection, TLS done:
 * the only moment curl's SSL pointer is certainly alive, as the connection
 * is closed when the transfer ends (FORBID_REUSE). */
static int on_prereq(void *data, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    struct probe_http *h = data;
    const struct curl_tlssessioninfo *ti = NULL;
    h->has_cert = curl_easy_getinfo(h->easy, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK && ti &&
                  ti->backend == CURLSSLBACKEND_OPENSSL &&
                  probe_tls_peer_not_after(ti->internals, &h->cert_not_after);
    return CURL_PREREQFUNC_OK;
}

static int configure(struct probe_http *h, const struct probe_http_conf *c)
{
    CURL *easy = h->easy;
    CURLcode rc = CURLE_OK;
    long tmo = (long)h->run.timeout_ms;
#define SET(opt, val) do { if (!rc) rc = curl_easy_setopt(easy, opt, val); } while (0)
    SET(CURLOPT_PRIVATE, &h->curl);
    SET(CURLOPT_SHARE, h->run.engine->share);
    if (c->url)
        SET(CURLOPT_URL, c->url);
    SET(CURLOPT_ERRORBUFFER, h->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, tmo);
    SET(CURLOPT_CONNECTTIMEOUT_MS, tmo);
    SET(CURLOPT_FOLLOWLOCATION, c->follow_redirects ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, 10L);
    SET(CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    /* Each check measures a fresh connection, as blackbox_exporter does. */
    SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_USERAGENT, "opshub/0.1");
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, h);
    SET(CURLOPT_PREREQFUNCTION, on_prereq);
    SET(CURLOPT_PREREQDATA, h);
    const struct probe_http_basic_auth *ba = &c->basic_auth;
    /* curl copies these; it sends them to the URL's host only, also across
     * redirects (CURLOPT_UNRESTRICTED_AUTH stays off). */
    if (ba->username || ba->password) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, ba->username ? ba->username : "");
        SET(CURLOPT_PASSWORD, ba->password ? ba->password : "");
    } else if (c->bearer_token) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        SET(CURLOPT_XOAUTH2_BEARER, c->bearer_token);
    }
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    if (c->client_cert) {
        SET(CURLOPT_SSLCERT, c->client_cert);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY, c->client_key ? c->client_key : c->client_cert);
    }
#undef SET
    if (!rc)
        rc = set_method(easy, c);
    if (rc)
        return rc == CURLE_OUT_OF_MEMORY ? BASE_ERR_NOMEM : BASE_ERR_INVALID;
    if (c->n_headers || c->body) {
        int err = set_headers(h, c);
        if (err)
            return err;
        if (curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h->headers) != CURLE_OK)
            return BASE_ERR_NOMEM;
    }
    return 0;
}

static void http_free(struct probe_http *h)
{
    if (h->easy)
        curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
    base_buf_free(&h->body);
    base_arena_free(&h->arena);
    base_free(h);
}

static void on_curl_done(struct probe_curl_owner *owner, CURLcode rc);

static struct probe_run *http_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_http_conf *c = conf_of(check);
    struct probe_http *h = base_calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    base_arena_init(&h->arena, 1024);
    probe_run_init(&h->run, e, check);
    h->curl.done = on_curl_done;
    h->dns_ms = h->connect_ms = h->tls_ms = h->ttfb_ms = -1;
    h->max_body = c->max_body_bytes ? c->max_body_bytes : PROBE_HTTP_DEFAULT_MAX_BODY;
    h->need_body = c->expect.body_contains || c->expect.json.n || c->expect.body.pattern ||
                   c->expect.body_not.pattern;
    base_buf_init(&h->body, h->max_body);
    h->expect = c->expect;
    if (conf_schema_copy(probe_http_expect_fields, &h->expect, &h->arena) != 0)
        goto fail;
    /* A new easy handle per run: reusing them (curl_easy_reset) measured
     * no difference in bench/probe_engine.c. */
    if (!(h->easy = curl_easy_init()))
        goto fail;
    if (configure(h, c) != 0)
        goto fail;
    if (probe_curlm_add(e->curlm, h->easy) != 0)
        goto fail;
    return &h->run;
fail:
    http_free(h);
    return NULL;
}

static void http_cancel(struct probe_run *r)
{
    struct probe_http *h = (struct probe_http *)r;
    probe_curlm_remove(r->engine->curlm, h->easy);
    http_free(h);
}

/* ---- evaluation ---- */

static double us_to_ms(curl_off_t us)
{
    return (double)us / 1000.0;
}

static bool is_https(CURL *easy)
{
    char *scheme = NULL;
    curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
    return scheme && strcasecmp(scheme, "https") == 0;
}

static double seconds(double ms)
{
    return ms / 1000.0;
}

/* Phase ends from curl, and the values blackbox_exporter reports: each
 * phase's own duration (resolve, connect, tls, processing = first byte
 * after the connection is ready, transfer = the rest). After redirects
 * curl sums each phase over the requests, so the phases stay ordered and
 * below the total. */
static void fill_timings(struct probe_http *h)
{
    struct sample *s = &h->run.s;
    curl_off_t dns = 0, conn = 0, tls = 0, ttfb = 0, total = 0;
    curl_easy_getinfo(h->easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
    curl_easy_getinfo(h->easy, CURLINFO_CONNECT_TIME_T, &conn);
    curl_easy_getinfo(h->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(h->easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME_T, &total);
    /* 0 = phase not reached. */
    h->dns_ms = (dns > 0 || conn > 0) ? us_to_ms(dns) : -1;
    h->connect_ms = conn > 0 ? us_to_ms(conn) : -1;
    h->tls_ms = tls > 0 ? us_to_ms(tls) : -1;
    h->ttfb_ms = ttfb > 0 ? us_to_ms(ttfb) : -1;
    s->latency_ms = total > 0 ? us_to_ms(total) : probe_run_elapsed_ms(&h->run);
    if (h->dns_ms >= 0)
        sample_value_set(s, "phase_resolve_seconds", seconds(h->dns_ms));
    if (h->connect_ms >= 0)
        sample_value_set(s, "phase_connect_seconds", seconds(h->connect_ms - (h->dns_ms > 0 ? h->dns_ms : 0)));
    if (h->tls_ms >= 0 && h->connect_ms >= 0)
        sample_value_set(s, "phase_tls_seconds", seconds(h->tls_ms - h->connect_ms));
    double ready = h->tls_ms >= 0 ? h->tls_ms : h->connect_ms;
    if (h->ttfb_ms >= 0 && ready >= 0)
        sample_value_set(s, "phase_processing_seconds", seconds(h->ttfb_ms - ready));
    if (h->ttfb_ms >= 0 && total > 0)
        sample_value_set(s, "phase_transfer_seconds", seconds(us_to_ms(total) - h->ttfb_ms));
}

/* Status, redirects, sizes, version and TLS of the response. */
static void fill_response(struct probe_http *h)
{
    struct sample *s = &h->run.s;
    long redirects = 0, version = 0;
    curl_off_t length = -1;
    sample_value_set(s, "http_status_code", s->code);
    if (h->has_cert)
        sample_value_set(s, "tls_days_left", ((double)h->cert_not_after * 1000.0 - (double)s->ts_ms) / 86400000.0);
    if (s->code == 0)
        return;
    curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &version);
    sample_value_set(s, "http_redirects", (double)redirects);
    if (length >= 0)
        sample_value_set(s, "http_content_length_bytes", (double)length);
    sample_value_set(s, "http_body_bytes", (double)h->body_seen);
    double v = version == CURL_HTTP_VERSION_1_0 ? 1.0 : version == CURL_HTTP_VERSION_1_1 ? 1.1
             : version == CURL_HTTP_VERSION_2_0 ? 2.0 : version == CURL_HTTP_VERSION_3 ? 3.0 : 0;
    if (v > 0)
        sample_value_set(s, "http_version", v);
    sample_value_set(s, "http_ssl", is_https(h->easy) ? 1 : 0);
}


static const char *timeout_phase(const struct probe_http *h)
{
    if (h->connect_ms < 0)
        return h->dns_ms < 0 ? "resolving" : "connecting";
    if (h->tls_ms < 0 && is_https(h->easy))
        return "TLS handshake";
    if (h->ttfb_ms < 0)
        return "waiting for response";
    return "reading body";
}

/* curl's message, its first word lowered when it is an ordinary word
 * ("Could not ..." but not "OpenSSL"), or curl's generic text. */
static const char *detail(struct probe_http *h, CURLcode rc)
{
    char *m = h->errbuf;
    if (!m[0])
        return curl_easy_strerror(rc);
    size_t n = strlen(m);
    if (m[n - 1] == '\n')
        m[n - 1] = '\0';
    bool plain = m[0] >= 'A' && m[0] <= 'Z';
    for (size_t i = 1; plain && m[i] && m[i] != ' ' && m[i] != ':'; i++)
        if (m[i] < 'a' || m[i] > 'z')
            plain = false;
    if (plain)
        m[0] = (char)(m[0] - 'A' + 'a');
    return m;
}

static void transport_error(struct probe_http *h, CURLcode rc)
{
    struct sample *s = &h->run.s;
    long oserr = 0;
    curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        sample_set_error(s, "timeout after %" PRId64 " ms (%s)", h->run.timeout_ms, timeout_phase(h));
        break;
    case CURLE_COULDNT_CONNECT:
        if (oserr == ECONNREFUSED)
            sample_set_error(s, "connection refused");
        else if (oserr == EHOSTUNREACH)
            sample_set_error(s, "host unreachable");
        else if (oserr == ENETUNREACH)
            sample_set_error(s, "network unreachable");
        else
            sample_set_error(s, "connect failed: %s", detail(h, rc));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        sample_set_error(s, "DNS: %s", detail(h, rc));
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        sample_set_error(s, "TLS: %s", detail(h, rc));
        break;
    case CURLE_GOT_NOTHING:
        sample_set_error(s, "connection closed before response");
        break;
    case CURLE_RECV_ERROR:
        if (s->code == 0)
            sample_set_error(s, "connection closed before response (%s)", detail(h, rc));
        else
            sample_set_error(s, "connection error while reading the body: %s", detail(h, rc));
        break;
    case CURLE_PARTIAL_FILE:
        sample_set_error(s, "response body truncated (connection closed early)");
        break;
    case CURLE_SEND_ERROR:
        sample_set_error(s, "send failed: %s", detail(h, rc));
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        sample_set_error(s, "too many redirects (more than 10)");
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* once connected it is the reply's protocol (HTTP/0.9, garbage) */
        if (h->connect_ms >= 0)
            sample_set_error(s, "invalid HTTP response: %s", detail(h, rc));
        else
            sample_set_error(s, "unsupported protocol (only http and https)");
        break;
    case CURLE_URL_MALFORMAT:
        sample_set_error(s, "invalid URL");
        break;
    case CURLE_WEIRD_SERVER_REPLY:
        sample_set_error(s, "invalid HTTP response: %s", detail(h, rc));
        break;
    case CURLE_OUT_OF_MEMORY:
        sample_set_error(s, "out of memory");
        break;
    case CURLE_WRITE_ERROR:
        sample_set_error(s, h->nomem ? "out of memory reading the body" : "%s", detail(h, rc));
        break;
    default:
        sample_set_error(s, "%s", detail(h, rc));
        break;
    }
}

static void evaluate(struct probe_http *h, CURLcode rc)
{
    struct sample *s = &h->run.s;
    long code = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
    s->code = (int)code;
    fill_timings(h);
    fill_response(h);
    s->result = SAMPLE_DOWN;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->overflow)) {
        transport_error(h, rc);
        return;
    }
    const struct probe_http_expect *x = &h->expect;
    if (!probe_http_expect_status_ok(&x->status, s->code)) {
        probe_http_expect_status_error(&x->status, s->code, s);
        return;
    }
    if (x->headers.n && !probe_http_expect_headers(&x->headers, h->easy, s))
        return;
    if (h->overflow && h->need_body) {
        sample_set_error(s, "response body exceeds max_body (%zu bytes)", h->max_body);
        return;
    }
    if (x->body_contains && !memmem(h->body.data ? h->body.data : "", h->body.len, x->body_contains,
                                    strlen(x->body_contains))) {
        char shown[PROBE_HTTP_SHOWN_MAX];
        probe_escape(x->body_contains, strlen(x->body_contains), shown, sizeof(shown));
        sample_set_error(s, "body does not contain \"%s\"", shown);
        return;
    }
    if (!probe_http_expect_body(x, h->body.data, h->body.len, s))
        return;
    if (x->json.n && !probe_http_expect_json(&x->json, h->body.data, h->body.len, s))
        return;
    if (x->max_latency_ms > 0 && s->latency_ms > (double)x->max_latency_ms) {
        s->result = SAMPLE_DEGRADED;
        sample_set_error(s, "latency %.0f ms exceeds max_latency %" PRId64 " ms", s->latency_ms,
                         x->max_latency_ms);
        return;
    }
    s->result = SAMPLE_UP;
    s->error[0] = '\0';
}

static void on_curl_done(struct probe_curl_owner *owner, CURLcode rc)
{
    struct probe_http *h = (struct probe_http *)(void *)((char *)owner - offsetof(struct probe_http, curl));
    evaluate(h, rc);
    probe_run_finish(&h->run);
    http_free(h);
}

/* ---- the type: settings, values, registration ---- */

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};


#define B(m) offsetof(struct probe_http_basic_auth, m)
static const struct conf_field basic_auth_fields[] = {
    CONF_FIELD("username", CONF_FIELD_STRING, B(username), 0, "User name (no ':'); default empty",
               .example = "monitor"),
    CONF_FIELD("password", CONF_FIELD_STRING, B(password), 0, "Password; default empty", .example = "s3cret"),
    CONF_FIELD_END,
};
#undef B

/* basic_auth is a mapping of the fields above, custom only so that an
 * unset one stays out of the canonical JSON (an OBJECT is always there:
 * every API-created check would carry a sealed "basic_auth": {}). */
static int basic_auth_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return -1;
    conf_schema_parse_map(ctx, n, basic_auth_fields, field, "basic_auth");
    return 0;
}

static void basic_auth_hash(uint64_t *h, const void *field)
{
    conf_schema_hash(h, basic_auth_fields, field);
}

static int basic_auth_copy(void *field, struct base_arena *a)
{
    return conf_schema_copy(basic_auth_fields, field, a);
}

static int basic_auth_json(const void *field, json_t **out)
{
    const struct probe_http_basic_auth *ba = field;
    *out = NULL;
    if (!ba->username && !ba->password)
        return 0;
    json_t *o = json_object();
    if (!o || conf_schema_to_json(basic_auth_fields, ba, o) != 0) {
        json_decref(o);
        return BASE_ERR_NOMEM;
    }
    *out = o;
    return 0;
}

static const struct conf_field_ops basic_auth_ops = {basic_auth_parse, basic_auth_hash, basic_auth_copy,
                                                     basic_auth_json};

#define F(m) offsetof(struct probe_http_conf, m)
static const struct conf_field http_fields[] = {
    CONF_FIELD("url", CONF_FIELD_URL, F(url), CONF_FIELD_REQUIRED | CONF_FIELD_SECRET,
     "The http:// or https:// URL to request (sealed at rest: it may carry credentials)",
               .example = "'http://127.0.0.1:3001/health'"),
    CONF_FIELD("method", CONF_FIELD_ENUM, F(method), 0, "GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
     .choices = methods, .example = "POST"),
    CONF_FIELD("headers", CONF_FIELD_KV, F(headers), CONF_FIELD_SECRET, "Request headers (sealed at rest)",
     .count_offset = F(n_headers), .key_bad = conf_value_header_name_bad,
     .value_bad = conf_value_header_value_bad,
     .example = "{X-Api-Key: t0ken}"),
    CONF_FIELD("body", CONF_FIELD_STRING, F(body), CONF_FIELD_SECRET, "Request body (sealed at rest)",
               .example = "'{\"ping\": true}'"),
    CONF_FIELD("basic_auth", CONF_FIELD_CUSTOM, F(basic_auth), CONF_FIELD_SECRET,
     "HTTP Basic credentials {username, password} (sealed at rest, never shown)", .ops = &basic_auth_ops,
     .example = "{username: monitor, password: s3cret}"),
    CONF_FIELD("bearer_token", CONF_FIELD_STRING, F(bearer_token), CONF_FIELD_SECRET,
     "Sent as Authorization: Bearer <token> (sealed at rest, never shown)", .example = "eyJhbGciOiJIUzI1NiJ9.e30.x"),
    CONF_FIELD("expect", CONF_FIELD_OBJECT, F(expect), 0,
     "Conditions: status, headers, body_contains, body, body_not, json, max_latency",
     .fields = probe_http_expect_fields, .example = "{status: 200, max_latency: 2s}"),
    CONF_FIELD("tls_verify", CONF_FIELD_BOOL, F(tls_verify), 0, "Verify the server certificate; default true",
               .example = "false"),
    CONF_FIELD("ca_file", CONF_FIELD_STRING, F(ca_file), 0,
     "PEM bundle of CA certificates trusted instead of the system store (checked readable at load)",
     .example = "/etc/ssl/certs/ca-certificates.crt"),
    /* The two examples below only need to be readable files where the tests run. */
    CONF_FIELD("client_cert", CONF_FIELD_STRING, F(client_cert), 0,
     "PEM client certificate (chain) for mutual TLS (checked readable at load)",
     .example = "/etc/ssl/certs/ca-certificates.crt"),
    CONF_FIELD("client_key", CONF_FIELD_STRING, F(client_key), 0,
     "PEM private key of client_cert, unencrypted; default: read from client_cert",
     .example = "/etc/ssl/certs/ca-certificates.crt"),
    CONF_FIELD("follow_redirects", CONF_FIELD_BOOL, F(follow_redirects), 0, "Follow up to 10 redirects; default true",
               .example = "false"),
    CONF_FIELD("max_body", CONF_FIELD_SIZE, F(max_body_bytes), 0, "Most of the body read, 1 byte to 16 MiB; default 64KiB",
     .max = PROBE_HTTP_MAX_BODY_LIMIT, .example = "1MiB"),
    CONF_FIELD_END,
};
#undef F

/* The node of `key` in map, or the map itself (for errors). */
static const struct conf_node *at(const struct conf_node *map, const char *key)
{
    const struct conf_node *n = conf_value_member(map, key);
    return n ? n : map;
}

/* Credentials reach curl and the request line only: no control bytes (a
 * header injection), no blanks in a token. Never quoted back. */
static bool credential_bad(const char *s, bool token)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (token && *p == ' '))
            return true;
    return false;
}

/* A file curl reads at each run: refused now when it cannot be read
 * (O_NONBLOCK: a FIFO must not stall the load). */
static void file_check(struct conf_ctx *ctx, const struct conf_node *map, const char *key, const char *path)
{
    char shown[160];
    if (!path)
        return;
    const struct conf_node *n = at(map, key);
    if (!path[0]) {
        conf_value_error(ctx, n, "%s must be a path to a PEM file", key);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        conf_value_error(ctx, n, "cannot read %s %s: %s", key, conf_value_show(n, path, false, shown, sizeof(shown)),
                         strerror(errno));
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        conf_value_error(ctx, n, "%s %s is not a regular file", key,
                         conf_value_show(n, path, false, shown, sizeof(shown)));
    if (fd >= 0)
        close(fd);
}

static void http_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_http_conf *c = cc->settings;
    const struct probe_http_basic_auth *ba = &c->basic_auth;
    bool basic = ba->username || ba->password;
    if (ba->username && strchr(ba->username, ':'))
        conf_value_error(ctx, at(map, "basic_auth"), "basic_auth: a username cannot contain ':'");
    if ((ba->username && credential_bad(ba->username, false)) || (ba->password && credential_bad(ba->password, false)))
        conf_value_error(ctx, at(map, "basic_auth"), "basic_auth must not contain control characters");
    if (c->bearer_token && (!c->bearer_token[0] || credential_bad(c->bearer_token, true)))
        conf_value_error(ctx, at(map, "bearer_token"),
                         "bearer_token must be one word without blanks or control characters");
    if (basic && c->bearer_token)
        conf_value_error(ctx, at(map, "bearer_token"), "use basic_auth or bearer_token, not both");
    for (size_t i = 0; i < c->n_headers && (basic || c->bearer_token); i++)
        if (strcasecmp(c->headers[i].key, "Authorization") == 0)
            conf_value_error(ctx, at(map, "headers"), "headers sets Authorization and so does %s: use one",
                             basic ? "basic_auth" : "bearer_token");
    if (c->client_key && !c->client_cert)
        conf_value_error(ctx, at(map, "client_key"), "client_key needs client_cert");
    file_check(ctx, map, "ca_file", c->ca_file);
    file_check(ctx, map, "client_cert", c->client_cert);
    file_check(ctx, map, "client_key", c->client_key);
}

static int http_init(void *settings, struct base_arena *a)
{
    struct probe_http_conf *c = settings;
    c->method = methods[0];
    c->tls_verify = true;
    c->follow_redirects = true;
    c->max_body_bytes = PROBE_HTTP_DEFAULT_MAX_BODY;
    c->expect.status.items = base_arena_alloc(a, sizeof(*c->expect.status.items));
    if (!c->expect.status.items)
        return BASE_ERR_NOMEM;
    c->expect.status.items[0] = (struct probe_http_status_range){200, 299};
    c->expect.status.n = 1;
    return 0;
}

static void http_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_http_conf *h = conf_of(c);
    base_log_redact_url(h && h->url ? h->url : "", buf, n);
}

static const struct conf_check_value http_values[] = {
    {"http_status_code", "HTTP status of the response, 0 without one", "probe_http_status_code", NULL, NULL},
    {"phase_resolve_seconds", "Name resolution", "probe_http_duration_seconds", "phase", "resolve"},
    {"phase_connect_seconds", "TCP connect, after resolution", "probe_http_duration_seconds", "phase", "connect"},
    {"phase_tls_seconds", "TLS handshake (https)", "probe_http_duration_seconds", "phase", "tls"},
    {"phase_processing_seconds", "From the connection being ready to the first response byte",
     "probe_http_duration_seconds", "phase", "processing"},
    {"phase_transfer_seconds", "From the first response byte to the end", "probe_http_duration_seconds",
     "phase", "transfer"},
    {"http_redirects", "Redirects followed", "probe_http_redirects", NULL, NULL},
    {"http_content_length_bytes", "Content-Length of the response, when sent", "probe_http_content_length",
     NULL, NULL},
    {"http_body_bytes", "Body bytes read (at most max_body)", "probe_http_uncompressed_body_length", NULL, NULL},
    {"http_version", "HTTP version of the response (1.0, 1.1, 2, 3)", "probe_http_version", NULL, NULL},
    {"http_ssl", "1 when the final request used TLS", "probe_http_ssl", NULL, NULL},
    {"tls_days_left", "Days until the final request's server certificate expires (https)", "opshub_tls_cert_days_left",
     NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_http_type = {
    .name = "http",
    .summary = "Requests a URL and checks status, latency and body",
    .settings_size = sizeof(struct probe_http_conf),
    .fields = http_fields,
    .init = http_init,
    .validate = http_validate,
    .target = http_target,
    .values = http_values,
    .start = http_start,
    .cancel = http_cancel,
};
