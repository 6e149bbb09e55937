/*
 * probe/http: HTTP(S) checks on the engine's curl multi. One allocation per
 * run holds the run, curl's error buffer and a copy of the expectations; the
 * body is kept (up to max_body_bytes) only when a body condition needs it.
 * Evaluation order: transport error, status, body size, body_contains, json,
 * latency; the first failure names the sample's error. Never logs, never
 * puts a URL in an error text (it may carry credentials).
 */
#include "probe/http.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "probe/curlm.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEADER_LINE_MAX (16 * 1024)
#define SHOWN_VALUE_MAX 80

struct probe_http {
    struct probe_run run;           /* first: a run pointer is a probe_http pointer */
    CURL *easy;
    struct curl_slist *headers;
    struct base_buf body;           /* used only when need_body */
    size_t body_seen;               /* bytes read, kept or not */
    size_t max_body;
    bool need_body, overflow, nomem;
    int64_t max_latency_ms;
    const char *body_contains;
    const struct conf_status_range *status;
    size_t n_status;
    const struct conf_json_expect *json;
    size_t n_json;
    char errbuf[CURL_ERROR_SIZE];
};

static const struct conf_status_range default_status = {200, 299};

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

static struct probe_http *http_alloc(const struct conf_check *c)
{
    size_t head = align_up(sizeof(struct probe_http));
    size_t size = head + c->n_status * sizeof(struct conf_status_range) +
                  c->n_json * sizeof(struct conf_json_expect) + str_size(c->body_contains);
    for (size_t i = 0; i < c->n_json; i++)
        size += str_size(c->json[i].path) + str_size(c->json[i].value_json);
    struct probe_http *h = base_malloc(size);
    if (!h)
        return NULL;
    memset(h, 0, sizeof(*h));
    char *p = (char *)h + head;
    if (c->n_status) {
        memcpy(p, c->status, c->n_status * sizeof(*c->status));
        h->status = (const struct conf_status_range *)p;
        h->n_status = c->n_status;
        p += c->n_status * sizeof(*c->status);
    } else {
        h->status = &default_status;
        h->n_status = 1;
    }
    struct conf_json_expect *json = (struct conf_json_expect *)p;
    p += c->n_json * sizeof(*json);
    struct tail t = {p, (char *)h + size};
    for (size_t i = 0; i < c->n_json; i++) {
        json[i].path = tail_str(&t, c->json[i].path ? c->json[i].path : "");
        json[i].value_json = tail_str(&t, c->json[i].value_json ? c->json[i].value_json : "null");
    }
    h->json = json;
    h->n_json = c->n_json;
    h->body_contains = tail_str(&t, c->body_contains);
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

static int set_headers(struct probe_http *h, const struct conf_check *c)
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

static CURLcode set_method(CURL *easy, const struct conf_check *c)
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

static int configure(struct probe_http *h, const struct conf_check *c)
{
    CURL *easy = h->easy;
    CURLcode rc = CURLE_OK;
    long tmo = (long)h->run.timeout_ms;
#define SET(opt, val) do { if (!rc) rc = curl_easy_setopt(easy, opt, val); } while (0)
    SET(CURLOPT_PRIVATE, h);
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

struct probe_run *probe_http_start(struct probe_engine *e, const struct conf_check *c)
{
    struct probe_http *h = http_alloc(c);
    if (!h)
        return NULL;
    probe_run_init(&h->run, e, c);
    h->max_body = c->max_body_bytes ? c->max_body_bytes : CONF_DEFAULT_MAX_BODY;
    h->need_body = c->body_contains || c->n_json;
    h->max_latency_ms = c->max_latency_ms;
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

void probe_http_cancel(struct probe_run *r)
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

static void fill_timings(struct probe_http *h)
{
    struct sample *s = &h->run.s;
    curl_off_t dns = 0, conn = 0, tls = 0, ttfb = 0, total = 0;
    curl_easy_getinfo(h->easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
    curl_easy_getinfo(h->easy, CURLINFO_CONNECT_TIME_T, &conn);
    curl_easy_getinfo(h->easy, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(h->easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME_T, &total);
    /* 0 = phase not reached. After redirects curl reports each phase as
     * the sum over every request (each measured from its own start), so
     * the phases stay ordered and below the total. */
    s->dns_ms = (dns > 0 || conn > 0) ? us_to_ms(dns) : -1;
    s->connect_ms = conn > 0 ? us_to_ms(conn) : -1;
    s->tls_ms = tls > 0 ? us_to_ms(tls) : -1;
    s->ttfb_ms = ttfb > 0 ? us_to_ms(ttfb) : -1;
    s->latency_ms = total > 0 ? us_to_ms(total) : probe_run_elapsed_ms(&h->run);
}

static bool is_https(CURL *easy)
{
    char *scheme = NULL;
    curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
    return scheme && strcasecmp(scheme, "https") == 0;
}

static const char *timeout_phase(const struct probe_http *h)
{
    const struct sample *s = &h->run.s;
    if (s->connect_ms < 0)
        return s->dns_ms < 0 ? "resolving" : "connecting";
    if (s->tls_ms < 0 && is_https(h->easy))
        return "TLS handshake";
    if (s->ttfb_ms < 0)
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
        if (s->connect_ms >= 0)
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
        const struct conf_status_range *r = &h->status[i];
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
        const struct conf_json_expect *x = &h->json[i];
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

void probe_http_on_done(void *priv, CURLcode rc)
{
    struct probe_http *h = priv;
    evaluate(h, rc);
    probe_run_finish(&h->run);
    http_free(h);
}
