/*
 * probe/http: the http check type. Its settings table (below) is all the
 * config loader knows of it; runs go on the engine's curl multi. One
 * allocation per run holds the run, curl's error buffer and a copy of the
 * expectations; the body is kept (up to max_body_bytes) only when a body
 * condition needs it. Evaluation order: transport error, status, body size,
 * body_contains, json, latency; the first failure names the sample's error.
 * Never logs, never puts a URL in an error text (it may carry credentials).
 */
#include "probe/http.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "probe/curlm.h"
#include "probe/probe_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_LINE_MAX (16 * 1024)
#define SHOWN_VALUE_MAX 80

struct probe_http {
    struct probe_run run;           /* first: a run pointer is a probe_http pointer */
    struct probe_curl_owner curl;   /* CURLOPT_PRIVATE */
    CURL *easy;
    struct curl_slist *headers;
    struct base_buf body;           /* used only when need_body */
    size_t body_seen;               /* bytes read, kept or not */
    size_t max_body;
    bool need_body, overflow, nomem;
    int64_t max_latency_ms;
    const char *body_contains;
    const struct probe_http_status_range *status;
    size_t n_status;
    const struct probe_http_json_expect *json;
    size_t n_json;
    /* Cumulative phase ends in ms from the start; -1 when not reached. */
    double dns_ms, connect_ms, tls_ms, ttfb_ms;
    bool has_cert;                  /* the last request's connection had a peer certificate */
    int64_t cert_not_after;         /* its notAfter, unix seconds */
    char errbuf[CURL_ERROR_SIZE];
};

static const struct probe_http_status_range default_status = {200, 299};

static const struct probe_http_conf *conf_of(const struct conf_check *c)
{
    return c->settings;
}

/* ---- copying the expectations into the run's own allocation ---- */

struct tail {
    char *p, *end;
};

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *tail_str(struct tail *t, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = t->p;
    memcpy(d, s, n);
    t->p += n;
    return d;
}

static size_t align_up(size_t n)
{
    size_t a = alignof(max_align_t);
    return (n + a - 1) / a * a;
}

static struct probe_http *http_alloc(const struct probe_http_conf *c)
{
    const struct probe_http_expect *x = &c->expect;
    size_t head = align_up(sizeof(struct probe_http));
    size_t size = head + x->status.n * sizeof(struct probe_http_status_range) +
                  x->json.n * sizeof(struct probe_http_json_expect) + str_size(x->body_contains);
    for (size_t i = 0; i < x->json.n; i++)
        size += str_size(x->json.items[i].path) + str_size(x->json.items[i].value_json);
    struct probe_http *h = base_malloc(size);
    if (!h)
        return NULL;
    memset(h, 0, sizeof(*h));
    char *p = (char *)h + head;
    if (x->status.n) {
        memcpy(p, x->status.items, x->status.n * sizeof(*x->status.items));
        h->status = (const struct probe_http_status_range *)p;
        h->n_status = x->status.n;
        p += x->status.n * sizeof(*x->status.items);
    } else {
        h->status = &default_status;
        h->n_status = 1;
    }
    struct probe_http_json_expect *json = (struct probe_http_json_expect *)p;
    p += x->json.n * sizeof(*json);
    struct tail t = {p, (char *)h + size};
    for (size_t i = 0; i < x->json.n; i++) {
        json[i].path = tail_str(&t, x->json.items[i].path ? x->json.items[i].path : "");
        json[i].value_json = tail_str(&t, x->json.items[i].value_json ? x->json.items[i].value_json : "null");
    }
    h->json = json;
    h->n_json = x->json.n;
    h->body_contains = tail_str(&t, x->body_contains);
    return h;
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
    base_free(h);
}

static void on_curl_done(struct probe_curl_owner *owner, CURLcode rc);

static struct probe_run *http_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_http_conf *c = conf_of(check);
    struct probe_http *h = http_alloc(c);
    if (!h)
        return NULL;
    probe_run_init(&h->run, e, check);
    h->curl.done = on_curl_done;
    h->dns_ms = h->connect_ms = h->tls_ms = h->ttfb_ms = -1;
    h->max_body = c->max_body_bytes ? c->max_body_bytes : PROBE_HTTP_DEFAULT_MAX_BODY;
    h->need_body = c->expect.body_contains || c->expect.json.n;
    h->max_latency_ms = c->expect.max_latency_ms;
    base_buf_init(&h->body, h->max_body);
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

static bool status_ok(const struct probe_http *h, int code)
{
    for (size_t i = 0; i < h->n_status; i++)
        if (code >= h->status[i].lo && code <= h->status[i].hi)
            return true;
    return false;
}

/* "2xx", "200", "200-204", joined by ", ". */
static void format_status(const struct probe_http *h, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < h->n_status && o < size; i++) {
        const struct probe_http_status_range *r = &h->status[i];
        const char *sep = i ? ", " : "";
        int n;
        if (r->lo == r->hi)
            n = snprintf(out + o, size - o, "%s%d", sep, r->lo);
        else if (r->lo % 100 == 0 && r->hi == r->lo + 99)
            n = snprintf(out + o, size - o, "%s%dxx", sep, r->lo / 100);
        else
            n = snprintf(out + o, size - o, "%s%d-%d", sep, r->lo, r->hi);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

/* Follows a dotted path: object keys, and numeric segments index arrays. */
static json_t *json_path(json_t *v, const char *path)
{
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!n || !v)
            return NULL;
        if (json_is_object(v)) {
            v = json_object_getn(v, p, n);
        } else if (json_is_array(v)) {
            size_t idx = 0;
            for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9' || idx > 100000000)
                    return NULL;
                idx = idx * 10 + (size_t)(p[i] - '0');
            }
            v = json_array_get(v, idx);
        } else {
            return NULL;
        }
        if (!dot)
            return v;
        p = dot + 1;
    }
}

static bool check_json(struct probe_http *h)
{
    struct sample *s = &h->run.s;
    json_error_t jerr;
    json_t *root = json_loadb(h->body.data ? h->body.data : "", h->body.len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        sample_set_error(s, "body is not valid JSON: %s at line %d col %d", jerr.text, jerr.line,
                         jerr.column);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < h->n_json && ok; i++) {
        const struct probe_http_json_expect *x = &h->json[i];
        json_t *found = json_path(root, x->path);
        if (!found) {
            sample_set_error(s, "json: path '%s' not found", x->path);
            ok = false;
            break;
        }
        json_t *want = json_loads(x->value_json, JSON_DECODE_ANY, NULL);
        if (!want) {
            sample_set_error(s, "json: expected value for '%s' is not valid JSON", x->path);
            ok = false;
            break;
        }
        if (!json_equal(found, want)) {
            char shown[SHOWN_VALUE_MAX];
            char *txt = json_dumps(found, JSON_ENCODE_ANY | JSON_COMPACT);
            if (txt) {
                size_t n = strlen(txt);
                if (n >= sizeof(shown)) {
                    memcpy(shown, txt, sizeof(shown) - 4);
                    memcpy(shown + sizeof(shown) - 4, "...", 4);
                } else {
                    memcpy(shown, txt, n + 1);
                }
                free(txt);  /* jansson's allocator */
            } else {
                memcpy(shown, "?", 2);
            }
            sample_set_error(s, "json: %s is %s, expected %s", x->path, shown, x->value_json);
            ok = false;
        }
        json_decref(want);
    }
    json_decref(root);
    return ok;
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
    if (!status_ok(h, s->code)) {
        char want[96];
        format_status(h, want, sizeof(want));
        sample_set_error(s, "unexpected status %d (expected %s)", s->code, want);
        return;
    }
    if (h->overflow && h->need_body) {
        sample_set_error(s, "response body exceeds max_body (%zu bytes)", h->max_body);
        return;
    }
    if (h->body_contains && !memmem(h->body.data ? h->body.data : "", h->body.len, h->body_contains,
                                    strlen(h->body_contains))) {
        char shown[SHOWN_VALUE_MAX];
        probe_escape(h->body_contains, strlen(h->body_contains), shown, sizeof(shown));
        sample_set_error(s, "body does not contain \"%s\"", shown);
        return;
    }
    if (h->n_json && !check_json(h))
        return;
    if (h->max_latency_ms > 0 && s->latency_ms > (double)h->max_latency_ms) {
        s->result = SAMPLE_DEGRADED;
        sample_set_error(s, "latency %.0f ms exceeds max_latency %" PRId64 " ms", s->latency_ms,
                         h->max_latency_ms);
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

static const char *header_name_bad(const char *k)
{
    /* RFC 9110 token characters. */
    if (!*k)
        return "empty header name";
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return "header names are letters, digits and !#$%&'*+-.^_`|~";
    return NULL;
}

static const char *header_value_bad(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return "header values must not contain line breaks or control characters";
    return NULL;
}

/* expect.status: one code or class, or a list of them. */

static int parse_status_one(struct conf_ctx *ctx, const struct conf_node *n, struct probe_http_status_range *r)
{
    const char *t;
    size_t len;
    char shown[80];
    if (conf_value_text(ctx, n, "a status code", &t, &len))
        return -1;
    if (len == 3 && t[0] >= '1' && t[0] <= '5' && (t[1] == 'x' || t[1] == 'X') &&
        (t[2] == 'x' || t[2] == 'X')) {
        r->lo = (t[0] - '0') * 100;
        r->hi = r->lo + 99;
        return 0;
    }
    if (len == 3 && t[0] >= '1' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' && t[2] <= '9') {
        r->lo = r->hi = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
        return 0;
    }
    conf_value_error(ctx, n, "bad status '%s' (expected 100-599 or a class like 2xx)",
                     conf_value_show(n, t, false, shown, sizeof(shown)));
    return -1;
}

static int status_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    struct probe_http_statuses *st = field;
    if (n->kind == CONF_NODE_MAP) {
        conf_value_error(ctx, n, "expected a status code or a list of them, got a mapping");
        return -1;
    }
    size_t count = n->kind == CONF_NODE_SEQ ? n->n : 1;
    if (count == 0) {
        conf_value_error(ctx, n, "expect.status must list at least one status");
        return -1;
    }
    struct probe_http_status_range *r = conf_value_alloc(ctx, count * sizeof(*r));
    if (!r)
        return -1;
    size_t ok = 0;
    if (n->kind == CONF_NODE_SCALAR)
        ok = parse_status_one(ctx, n, &r[0]) == 0;
    else
        for (const struct conf_node *it = n->child; it; it = it->next)
            if (parse_status_one(ctx, it, &r[ok]) == 0)
                ok++;
    if (ok != count)
        return -1;
    st->items = r;
    st->n = count;
    return 0;
}

static void status_hash(uint64_t *h, const void *field)
{
    const struct probe_http_statuses *st = field;
    conf_schema_hash_int(h, (int64_t)st->n);
    for (size_t i = 0; i < st->n; i++) {
        conf_schema_hash_int(h, st->items[i].lo);
        conf_schema_hash_int(h, st->items[i].hi);
    }
}

static int status_copy(void *field, struct base_arena *a)
{
    struct probe_http_statuses *st = field;
    if (!st->n)
        return 0;
    struct probe_http_status_range *r = base_arena_alloc(a, st->n * sizeof(*r));
    if (!r)
        return BASE_ERR_NOMEM;
    memcpy(r, st->items, st->n * sizeof(*r));
    st->items = r;
    return 0;
}

/* Exact statuses as numbers, classes as "2xx". */
static int status_json(const void *field, json_t **out)
{
    const struct probe_http_statuses *st = field;
    json_t *list = json_array();
    for (size_t i = 0; list && i < st->n; i++) {
        const struct probe_http_status_range *r = &st->items[i];
        char cls[16];
        snprintf(cls, sizeof(cls), "%dxx", r->lo / 100);
        if (json_array_append_new(list, r->lo == r->hi ? json_integer(r->lo) : json_string(cls)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    *out = list;
    return list ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops status_ops = {status_parse, status_hash, status_copy, status_json};

/* expect.json: {"dotted.path": expected value}. */

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static bool is_json_path(const char *p)
{
    if (!*p || *p == '.')
        return false;
    for (; *p; p++)
        if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
            return false;
    return true;
}

#define JSON_VALUE_MAX (1024 * 1024)

/* The scalar as canonical JSON text in the conf arena, or NULL after an error. */
static const char *json_value(struct conf_ctx *ctx, const struct conf_node *v)
{
    const char *t;
    size_t len;
    if (conf_value_is_null(v))
        return "null";
    if (conf_value_text(ctx, v, "a string, number, true, false or null", &t, &len))
        return NULL;
    if (!v->quoted && (strcmp(t, "true") == 0 || strcmp(t, "false") == 0 ||
                       strcmp(t, "null") == 0 || is_json_number(t)))
        return conf_value_keep(ctx, t, len);
    struct base_buf b;
    base_buf_init(&b, JSON_VALUE_MAX);
    int rc = base_buf_append_json_str(&b, t, len);
    const char *out = NULL;
    if (rc == BASE_ERR_TOO_BIG)
        conf_value_error(ctx, v, "expected value is longer than %d bytes", JSON_VALUE_MAX);
    else if (rc)
        conf_value_nomem(ctx);
    else
        out = conf_value_keep(ctx, b.data, b.len);
    base_buf_free(&b);
    return out;
}

static int jsonx_parse(struct conf_ctx *ctx, const struct conf_node *map, void *field)
{
    struct probe_http_json *js = field;
    char shown[80];
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return -1;
    struct probe_http_json_expect *j = conf_value_alloc(ctx, (map->n ? map->n : 1) * sizeof(*j));
    if (!j)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        if (k->kind != CONF_NODE_SCALAR || k->has_nul || !is_json_path(k->text)) {
            if (k->kind != CONF_NODE_SCALAR)
                conf_value_error(ctx, k, "expected a string key, got %s", conf_value_kind_name(k));
            else
                conf_value_error(ctx, k, "bad JSON path '%s' (expected dotted names like data.status)",
                                 conf_value_show(k, k->text, false, shown, sizeof(shown)));
            rc = -1;
            continue;
        }
        const char *value = json_value(ctx, v);
        if (!value) {
            rc = -1;
            continue;
        }
        j[n].path = conf_value_keep(ctx, k->text, k->len);
        j[n].value_json = value;
        if (!j[n].path)
            return -1;
        n++;
    }
    js->items = j;
    js->n = n;
    return rc;
}

static void jsonx_hash(uint64_t *h, const void *field)
{
    const struct probe_http_json *js = field;
    conf_schema_hash_int(h, (int64_t)js->n);
    for (size_t i = 0; i < js->n; i++) {
        conf_schema_hash_str(h, js->items[i].path);
        conf_schema_hash_str(h, js->items[i].value_json);
    }
}

static int jsonx_copy(void *field, struct base_arena *a)
{
    struct probe_http_json *js = field;
    if (!js->n) {
        js->items = NULL;
        return 0;
    }
    struct probe_http_json_expect *j = base_arena_alloc(a, js->n * sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < js->n; i++) {
        j[i].path = base_arena_strdup(a, js->items[i].path);
        j[i].value_json = base_arena_strdup(a, js->items[i].value_json);
        if (!j[i].path || !j[i].value_json)
            return BASE_ERR_NOMEM;
    }
    js->items = j;
    return 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A JSON string as json_value writes it (escapes \" \\ \n \r \t \uXXXX).
 * Not json_loads: jansson 2.14 may drop a byte when its buffer cannot grow. */
static json_t *json_string_literal(const char *text)
{
    size_t n = strlen(text), len = 0;
    char *out = base_malloc(n + 1);
    json_t *v = NULL;
    if (!out)
        return NULL;
    for (size_t i = 1; i + 1 < n; i++) {
        if (text[i] != '\\') {
            out[len++] = text[i];
            continue;
        }
        char e = text[++i];
        if (e == 'n' || e == 'r' || e == 't' || e == '"' || e == '\\' || e == '/') {
            out[len++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
            continue;
        }
        int cp = 0;
        for (int k = 1; e == 'u' && k <= 4 && i + k < n && cp >= 0; k++)
            cp = hex_digit(text[i + k]) < 0 ? -1 : cp * 16 + hex_digit(text[i + k]);
        /* json_value escapes only control characters: C0 and C1 (U+0080..U+009F) */
        if (e != 'u' || i + 4 >= n || cp <= 0 || cp > 0x9f)
            goto done;
        if (cp < 0x80) {
            out[len++] = (char)cp;
        } else { /* two UTF-8 bytes; \uXXXX took six, so out has room */
            out[len++] = (char)(0xC0 | (cp >> 6));
            out[len++] = (char)(0x80 | (cp & 0x3F));
        }
        i += 4;
    }
    v = json_stringn(out, len);
done:
    base_free(out);
    return v;
}

/* Canonical JSON text back to a value; NULL when it is not one (or on
 * OOM). Integers too large for jansson come back as reals. */
static json_t *json_literal(const char *text)
{
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '"' && text[n - 1] == '"')
        return json_string_literal(text);
    if (strcmp(text, "true") == 0)
        return json_true();
    if (strcmp(text, "false") == 0)
        return json_false();
    if (strcmp(text, "null") == 0)
        return json_null();
    char *end;
    if (!strpbrk(text, ".eE")) {
        errno = 0;
        long long i = strtoll(text, &end, 10);
        if (*end == '\0' && n && errno == 0)
            return json_integer((json_int_t)i);
    }
    double d = strtod(text, &end);
    return n && *end == '\0' ? json_real(d) : NULL;
}

static int jsonx_json(const void *field, json_t **out)
{
    const struct probe_http_json *js = field;
    json_t *o = json_object();
    for (size_t i = 0; o && i < js->n; i++) {
        json_t *v = json_literal(js->items[i].value_json);
        if (!v || json_object_set_new(o, js->items[i].path, v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    *out = o;
    return o ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops jsonx_ops = {jsonx_parse, jsonx_hash, jsonx_copy, jsonx_json};

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};

#define X(m) offsetof(struct probe_http_expect, m)
static const struct conf_field expect_fields[] = {
    CONF_FIELD("status", CONF_FIELD_CUSTOM, X(status), 0,
     "Accepted statuses: codes (200) and classes (\"2xx\"), one or a list; default 2xx", .ops = &status_ops,
     .example = "[200, 3xx]"),
    CONF_FIELD("json", CONF_FIELD_CUSTOM, X(json), 0,
     "Dotted paths into the JSON body and their expected values ({\"data.status\": \"ok\"})", .ops = &jsonx_ops,
     .example = "{data.status: ok, items.0.ready: true}"),
    CONF_FIELD("max_latency", CONF_FIELD_DURATION, X(max_latency_ms), 0, "Slower answers make the sample degraded",
               .example = "2s"),
    CONF_FIELD("body_contains", CONF_FIELD_STRING, X(body_contains), 0, "Text the body must contain",
               .example = "ok"),
    CONF_FIELD_END,
};
#undef X

#define F(m) offsetof(struct probe_http_conf, m)
static const struct conf_field http_fields[] = {
    CONF_FIELD("url", CONF_FIELD_URL, F(url), CONF_FIELD_REQUIRED | CONF_FIELD_SECRET,
     "The http:// or https:// URL to request (sealed at rest: it may carry credentials)",
               .example = "'http://127.0.0.1:3001/health'"),
    CONF_FIELD("method", CONF_FIELD_ENUM, F(method), 0, "GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
     .choices = methods, .example = "POST"),
    CONF_FIELD("headers", CONF_FIELD_KV, F(headers), CONF_FIELD_SECRET, "Request headers (sealed at rest)",
     .count_offset = F(n_headers), .key_bad = header_name_bad, .value_bad = header_value_bad,
     .example = "{Authorization: Bearer t0ken}"),
    CONF_FIELD("body", CONF_FIELD_STRING, F(body), CONF_FIELD_SECRET, "Request body (sealed at rest)",
               .example = "'{\"ping\": true}'"),
    CONF_FIELD("expect", CONF_FIELD_OBJECT, F(expect), 0, "Conditions: status, json, max_latency, body_contains",
     .fields = expect_fields, .example = "{status: 200, max_latency: 2s}"),
    CONF_FIELD("tls_verify", CONF_FIELD_BOOL, F(tls_verify), 0, "Verify the server certificate; default true",
               .example = "false"),
    CONF_FIELD("follow_redirects", CONF_FIELD_BOOL, F(follow_redirects), 0, "Follow up to 10 redirects; default true",
               .example = "false"),
    CONF_FIELD("max_body", CONF_FIELD_SIZE, F(max_body_bytes), 0, "Most of the body read, 1 byte to 16 MiB; default 64KiB",
     .max = PROBE_HTTP_MAX_BODY_LIMIT, .example = "1MiB"),
    CONF_FIELD_END,
};
#undef F

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
    c->expect.status.items[0] = default_status;
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
    .target = http_target,
    .values = http_values,
    .start = http_start,
    .cancel = http_cancel,
};
