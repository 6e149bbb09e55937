/*
 * http/api: dispatch over the route table (http/routes.c) and the access
 * middleware every route passes: CORS, rate limit, authentication, the
 * route's minimum role, the audit row of a mutation; request metrics and
 * the access log.
 * Health and metrics requests are logged at debug level (scrapers and load
 * balancers call them constantly); everything else at info.
 */
#include "http/api_int.h"

#include "auth/role.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"
#include "http/cookie.h"
#include "http/events.h"
#include "http/proxy.h"
#include "http/status.h"
#include "http/routes.h"
#include "http/static.h"
#include "http/webassets.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_RATE "120/min"
#define API_PUBLIC_BODY_MAX (16 * 1024)
#define DEFAULT_GLOBAL_RATE "6000/min"
#define DEFAULT_LOGIN_RATE "10/min"
#define RATE_KEYS_MAX 100000

static int rate_init(struct api_rate *r, const char *spec, const char *value, char *err, size_t errlen)
{
    r->spec = spec;
    snprintf(r->value, sizeof(r->value), "%s", value);
    if (auth_ratelimit_parse(value, &r->rate) != 0) {
        snprintf(err, errlen, "bad rate limit '%.40s' (expected N/sec, N/min or N/hour)", value);
        return BASE_ERR_INVALID;
    }
    r->rl = auth_ratelimit_new(&r->rate, RATE_KEYS_MAX);
    if (!r->rl) {
        snprintf(err, errlen, "rate limiter: %s", base_strerror(BASE_ERR_NOMEM));
        return BASE_ERR_NOMEM;
    }
    return 0;
}

/* The table for a route: its override, else the default (rates[0]). */
static struct api_rate *rate_for(struct http_api *api, const struct http_route *route)
{
    if (route && route->rate_class)
        for (size_t i = 1; i < api->n_rates; i++)
            if (strcmp(api->rates[i].spec, route->rate_class) == 0)
                return &api->rates[i];
    return &api->rates[0];
}

/* Keeps only the scheme and a digest of the /metrics credential: the
 * secret itself is not held (nor logged) by the API. */
static int metrics_auth_init(struct http_api *api, const struct http_api_deps *deps, char *err, size_t errlen)
{
    if (deps->metrics_bearer_token) {
        snprintf(api->metrics_scheme, sizeof(api->metrics_scheme), "Bearer");
        auth_db_sha256_hex(deps->metrics_bearer_token, strlen(deps->metrics_bearer_token), api->metrics_digest);
        return 0;
    }
    if (!deps->metrics_username || !deps->metrics_password)
        return 0;
    char pair[1200], b64[1700];
    int n = snprintf(pair, sizeof(pair), "%s:%s", deps->metrics_username, deps->metrics_password);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof(pair) || (size_t)n / 3 * 4 + 5 > sizeof(b64)) {
        snprintf(err, errlen, "server.metrics_auth: username and password too long");
        rc = BASE_ERR_TOO_BIG;
    } else {
        int len = EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pair, n);
        snprintf(api->metrics_scheme, sizeof(api->metrics_scheme), "Basic");
        auth_db_sha256_hex(b64, (size_t)len, api->metrics_digest);
    }
    OPENSSL_cleanse(pair, sizeof(pair));
    OPENSSL_cleanse(b64, sizeof(b64));
    return rc;
}

struct http_api *http_api_new(const struct http_api_deps *deps, char *err, size_t errlen)
{
    struct http_api *api = base_calloc(1, sizeof(*api));
    if (!api) {
        snprintf(err, errlen, "api: %s", base_strerror(BASE_ERR_NOMEM));
        return NULL;
    }
    api->deps = *deps;
    api->router = http_router_new(http_routes, http_routes_n);
    if (!api->router) {
        snprintf(err, errlen, "api: cannot build the route table");
        goto fail;
    }
    const char *dflt = deps->rate_limit ? deps->rate_limit : DEFAULT_RATE;
    const char *global = deps->global_rate_limit ? deps->global_rate_limit : DEFAULT_GLOBAL_RATE;
    if (rate_init(&api->rates[0], DEFAULT_RATE, dflt, err, errlen) ||
        rate_init(&api->global, DEFAULT_GLOBAL_RATE, global, err, errlen))
        goto fail;
    api->n_rates = 1;
    for (size_t i = 0; i < http_routes_n; i++) {
        const char *spec = http_routes[i].rate_class;
        if (!spec || rate_for(api, &http_routes[i]) != &api->rates[0])
            continue;
        if (api->n_rates == API_MAX_RATES) {
            snprintf(err, errlen, "api: too many distinct per-route rate limits");
            goto fail;
        }
        const char *value = strcmp(spec, HTTP_ROUTE_RATE_LOGIN) == 0
                          ? (deps->login_rate_limit ? deps->login_rate_limit : DEFAULT_LOGIN_RATE) : spec;
        if (rate_init(&api->rates[api->n_rates], spec, value, err, errlen))
            goto fail;
        api->n_rates++;
    }
    if (deps->cors_origins && deps->cors_origins[0] &&
        http_cors_new(deps->cors_origins, &api->cors, err, errlen) != 0)
        goto fail;
    if (metrics_auth_init(api, deps, err, errlen) != 0)
        goto fail;
    api->deps.rate_limit = api->deps.global_rate_limit = api->deps.login_rate_limit = NULL;
    api->deps.metrics_bearer_token = api->deps.metrics_username = api->deps.metrics_password = NULL;
    api->deps.cors_origins = NULL;
    base_histogram_init(&api->duration, base_metrics_latency_bounds, base_metrics_latency_n);
    if (api_metrics_start(api) != 0) {
        snprintf(err, errlen, "api: cannot subscribe the metrics counters");
        goto fail;
    }
    if (deps->bus && deps->sched && deps->loop &&
        !(api->events = http_events_new(deps->loop, deps->bus, deps->sched, NULL))) {
        snprintf(err, errlen, "api: cannot subscribe the live events");
        goto fail;
    }
    if (http_web_assets_n && http_static_from_blobs(http_web_assets, http_web_assets_n, &api->web) != 0) {
        snprintf(err, errlen, "api: cannot load the built-in web assets");
        goto fail;
    }
    if (deps->sched && deps->loop && deps->confs &&
        !(api->status = http_status_new(deps->loop, deps->bus, deps->store, deps->sched, deps->confs))) {
        snprintf(err, errlen, "api: cannot start the status page");
        goto fail;
    }
    if (api->status) {
        http_status_set_notify(api->status, deps->notify);
        http_status_set_incidents(api->status, deps->incidents);
    }
    return api;
fail:
    http_api_destroy(api);
    return NULL;
}

void http_api_set_server(struct http_api *api, struct http_server *server)
{
    api->deps.server = server;
}

void http_api_set_static(struct http_api *api, struct http_static *s)
{
    http_static_destroy(api->statics);
    api->statics = s;
}

int http_api_set_trusted_proxies(struct http_api *api, const struct base_cidr *list, size_t n)
{
    if (n > CONF_TRUSTED_PROXIES_MAX)
        return BASE_ERR_TOO_BIG;
    if (n)
        memcpy(api->trusted, list, n * sizeof(*list));
    api->n_trusted = n;
    return 0;
}

void http_api_shutdown(struct http_api *api)
{
    if (!api)
        return;
    api->closing = true;
    http_events_shutdown(api->events);
    http_status_shutdown(api->status);
}

void http_api_destroy(struct http_api *api)
{
    if (!api)
        return;
    api_metrics_stop(api);
    http_events_destroy(api->events);
    http_status_destroy(api->status);
    http_router_destroy(api->router);
    for (size_t i = 0; i < API_MAX_RATES; i++)
        auth_ratelimit_destroy(api->rates[i].rl);
    auth_ratelimit_destroy(api->global.rl);
    http_cors_free(api->cors);
    http_static_destroy(api->statics);
    http_static_destroy(api->web);
    api_files_free_cache();
    base_free(api);
}

static void utf8_sanitize(const char *s, char *out, size_t n);

static const char *audit_result(int status)
{
    return status < 400 ? "ok" : status == 401 || status == 403 || status == 429 ? "denied" : "error";
}

static void audit_fill(struct http_request *req, struct api_ctx *ctx, int status, struct auth_audit *out)
{
    struct auth_audit e;
    memset(&e, 0, sizeof(e));
    auth_audit_actor(&e, &ctx->who);
    const char *action = ctx->action ? ctx->action : ctx->route ? ctx->route->audit_action : NULL;
    if (action)
        snprintf(e.action, sizeof(e.action), "%s", action);
    else
        snprintf(e.action, sizeof(e.action), "%.8s %.38s", req->method, ctx->route ? ctx->route->pattern : "");
    utf8_sanitize(ctx->target, e.target, sizeof(e.target)); /* client text: keep it valid UTF-8 */
    snprintf(e.result, sizeof(e.result), "%s", audit_result(status));
    e.status = status;
    snprintf(e.ip, sizeof(e.ip), "%s", req->remote_addr);
    snprintf(e.request_id, sizeof(e.request_id), "%s", req->request_id);
    utf8_sanitize(ctx->detail, e.detail, sizeof(e.detail));
    *out = e;
}

static void write_audit(struct http_api *api, struct http_request *req, struct api_ctx *ctx, int status)
{
    if (!api->deps.auth || api->closing)
        return;
    struct auth_audit e;
    audit_fill(req, ctx, status, &e);
    auth_audit(api->deps.auth, &e);
}

bool api_audit_prepare(struct http_request *req, int status, struct auth_audit *out)
{
    struct api_ctx *ctx = api_ctx(req);
    if (!ctx->audit)
        return false;
    audit_fill(req, ctx, status, out);
    out->ts = base_time_now_ms();
    return true;
}

void api_audit_committed(struct http_api *api, struct http_request *req)
{
    api_ctx(req)->audit = false;
    if (api->deps.auth)
        auth_audit_count(api->deps.auth, true);
}

/* Room for an answer's extra headers: the request's own (rate limits,
 * CORS, cookies) and the handler's. */
#define API_RESPONSE_HEADERS_MAX (API_COOKIE_HEADERS_MAX + 1024)

/* What every answer does before it leaves: counts, the access log line,
 * the audit row, and the headers (returns the extra headers to send,
 * possibly composed in headers[API_RESPONSE_HEADERS_MAX]). */
static const char *respond_prep(struct http_api *api, struct http_request *req, int status,
                                const char *extra_headers, char *headers)
{
    struct api_ctx *ctx = api_ctx(req);
    double secs = (double)(uv_hrtime() - req->start_ns) / 1e9;
    if (status >= 100 && status < 600)
        api->requests_by_code[status]++;
    api->denied_401 += status == 401;
    api->denied_403 += status == 403;
    api->limited_429 += status == 429;
    base_histogram_observe(&api->duration, secs);
    /* Scrapes and probes of the real health and metrics routes are routine;
     * any other path (/healthXYZ too) is an ordinary request. */
    const char *tag = ctx->route ? ctx->route->doc.tag : "";
    int quiet = status < 400 && (strcmp(tag, "health") == 0 || strcmp(tag, "metrics") == 0);
    enum base_log_level level = quiet ? BASE_LOG_DEBUG : (status >= 500 ? BASE_LOG_WARN : BASE_LOG_INFO);
    BASE_LOG_(level, "request", BASE_LOG_STR("method", req->method), BASE_LOG_STR("path", req->path),
              BASE_LOG_INT("status", status), BASE_LOG_NUM("duration_ms", secs * 1000.0),
              BASE_LOG_STR("request_id", req->request_id), BASE_LOG_STR("remote", req->remote_addr),
              BASE_LOG_STR("peer", req->peer_addr), BASE_LOG_STR("actor", ctx->who.kind ? ctx->who.name : ""));
    if (ctx->audit) {
        ctx->audit = false;
        write_audit(api, req, ctx, status);
    }
    bool is_api = strncmp(req->path, "/api/v1/", 8) == 0;
    if (ctx->headers[0] || is_api) {
        /* API answers may carry tokens or private data: never cached. */
        snprintf(headers, API_RESPONSE_HEADERS_MAX, "%s%s%s", is_api ? "Cache-Control: no-store\r\n" : "", ctx->headers,
                 extra_headers ? extra_headers : "");
        extra_headers = headers;
    }
    return extra_headers;
}

static void send_any(struct http_api *api, struct http_request *req, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t len, const struct http_body_parts *parts)
{
    char headers[API_RESPONSE_HEADERS_MAX];
    extra_headers = respond_prep(api, req, status, extra_headers, headers);
    if (parts)
        http_response_send_parts(req, status, content_type, extra_headers, parts);
    else
        http_response_send(req, status, content_type, extra_headers, body, len);
}

void api_send(struct http_api *api, struct http_request *req, int status, const char *content_type,
              const char *extra_headers, const char *body, size_t len)
{
    send_any(api, req, status, content_type, extra_headers, body, len, NULL);
}

int api_stream_open(struct http_api *api, struct http_request *req, const char *last_event_id,
                    const struct http_events_filter *filter)
{
    char headers[API_RESPONSE_HEADERS_MAX];
    const char *extra = respond_prep(api, req, 200, "X-Accel-Buffering: no\r\n", headers);
    return http_events_open(api->events, req, extra, last_event_id, filter);
}

void api_send_parts(struct http_api *api, struct http_request *req, int status, const char *content_type,
                    const char *extra_headers, const struct http_body_parts *parts)
{
    send_any(api, req, status, content_type, extra_headers, NULL, 0, parts);
}

void api_send_json(struct http_api *api, struct http_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(body);
    if (!text) {
        static const char fail[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"could not encode the response\"}}";
        api_send(api, req, 500, "application/json", NULL, fail, sizeof(fail) - 1);
        return;
    }
    api_send(api, req, status, "application/json", NULL, text, strlen(text));
    free(text); /* allocated by jansson */
}

/* Copies s into out (size n), replacing every byte that is not part of
 * a well-formed UTF-8 sequence (base/utf8: no overlongs, no surrogates)
 * with '?': messages echo client input (paths, ids), and JSON strings must
 * be valid UTF-8. A character that does not fit whole is left out. */
static void utf8_sanitize(const char *s, char *out, size_t n)
{
    size_t o = 0, left = strlen(s);
    while (left && o + 1 < n) {
        size_t len = base_utf8_decode(s, left, NULL);
        if (len == 0) {
            out[o++] = '?';
            len = 1;
        } else if (o + len < n) {
            memcpy(out + o, s, len);
            o += len;
        } else {
            break;
        }
        s += len;
        left -= len;
    }
    out[o] = '\0';
}

void api_send_error(struct http_api *api, struct http_request *req, int status, const char *code,
                    const char *message, const char *field)
{
    char safe[512];
    utf8_sanitize(message, safe, sizeof(safe));
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", safe);
    if (err && field)
        json_object_set_new(err, "field", json_string(field));
    api_send_json(api, req, status, err ? json_pack("{s:o}", "error", err) : NULL);
}

/* True when path names a top-level field of the table, i.e. holds no text
 * of the caller's. */
static bool is_table_field(const char *path, const struct http_body_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(path, fields[i].name) == 0)
            return true;
    return false;
}

/* An unauthenticated caller is told nothing it sent back: a problem at a
 * path made of its own keys (an unknown member, a nested key) is reported
 * by the route's field names alone. */
static void anonymous_field_error(struct http_body_error *e, const struct http_body_field *fields, size_t n)
{
    if (strcmp(e->code, "invalid_field") != 0) {
        /* invalid_json at a member (too deep, too long): the limit, not the keys */
        if (strstr(e->message, e->field))
            snprintf(e->message, sizeof(e->message), "request body breaks a limit of the JSON it may hold");
        e->field[0] = '\0';
        return;
    }
    size_t len = (size_t)snprintf(e->message, sizeof(e->message), "request body has a member that is not "
                                  "expected (expected:");
    for (size_t i = 0; i < n && len < sizeof(e->message); i++)
        len += (size_t)snprintf(e->message + len, sizeof(e->message) - len, "%s %s", i ? "," : "", fields[i].name);
    if (len < sizeof(e->message))
        snprintf(e->message + len, sizeof(e->message) - len, ")");
    e->field[0] = '\0';
}

json_t *api_body(struct http_api *api, struct http_request *req, const struct http_body_field *fields,
                 size_t n)
{
    struct http_body_error e;
    json_t *o = NULL;
    const char *ct = http_request_header(req, "Content-Type");
    if (req->body_len && ct && strncasecmp(ct, "application/json", 16) != 0) {
        api_send_error(api, req, 415, "unsupported_media_type", "the body must be application/json", NULL);
        return NULL;
    }
    if (http_body_load(req->body, req->body_len, fields, n, true, &o, &e) != 0) {
        if (api_ctx(req)->who.kind == AUTH_KIND_NONE && e.field[0] && !is_table_field(e.field, fields, n))
            anonymous_field_error(&e, fields, n);
        api_send_error(api, req, e.status ? e.status : 400, e.code, e.message, e.field[0] ? e.field : NULL);
        return NULL;
    }
    return o;
}

void api_send_store_error(struct http_api *api, struct http_request *req, int status, const char *what)
{
    char msg[200];
    switch (status) {
    case BASE_ERR_NOT_FOUND:
        snprintf(msg, sizeof(msg), "%s not found", what);
        api_send_error(api, req, 404, "not_found", msg, NULL);
        return;
    case BASE_ERR_EXISTS:
        snprintf(msg, sizeof(msg), "%s already exists", what);
        api_send_error(api, req, 409, "conflict", msg, NULL);
        return;
    case BASE_ERR_UNAVAILABLE:
    case BASE_ERR_CANCELED:
        api_send_error(api, req, 503, "unavailable", "the database is not reachable; try again", NULL);
        return;
    case BASE_ERR_INVALID:
        snprintf(msg, sizeof(msg), "invalid %s", what);
        api_send_error(api, req, 400, "bad_request", msg, NULL);
        return;
    default:
        api_send_error(api, req, 500, "internal", "internal error", NULL);
    }
}

const char *api_actor(struct http_request *req)
{
    const char *n = api_ctx(req)->who.name;
    return n && *n ? n : "api";
}

void api_set_target(struct http_request *req, const char *fmt, ...)
{
    struct api_ctx *ctx = api_ctx(req);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->target, sizeof(ctx->target), fmt, ap);
    va_end(ap);
}

json_t *api_time_or_null(int64_t ms)
{
    char ts[40];
    return ms ? json_string(base_time_format_iso8601(ms, ts, sizeof(ts))) : json_null();
}

/* True when the raw query names `name` at all (with or without a value). */
static bool query_mentions(const struct http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = req->query; p && *p;) {
        if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '&' || p[n] == '\0'))
            return true;
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return false;
}

/* Reads query parameter `name` into buf. Returns 1 when present and
 * readable, 0 when absent, -1 (400 sent) when present but malformed or too
 * long — a bad value must not silently become the default. */
int api_query_param(struct http_api *api, struct http_request *req, const char *name, char *buf, size_t n)
{
    if (http_request_query(req, name, buf, n))
        return 1;
    if (!query_mentions(req, name))
        return 0;
    char msg[160];
    snprintf(msg, sizeof(msg), "'%s' is malformed or too long", name);
    api_send_error(api, req, 400, "invalid_parameter", msg, name);
    return -1;
}

/* Parses a time query parameter; sends 400 and returns -1 when malformed. */
int api_query_time(struct http_api *api, struct http_request *req, const char *name, int64_t *out)
{
    char buf[64];
    *out = 0;
    int present = api_query_param(api, req, name, buf, sizeof(buf));
    if (present <= 0 || !buf[0])
        return present < 0 ? -1 : 0;
    if (base_time_parse(buf, out) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "'%s' must be unix seconds or an ISO 8601 time", name);
        api_send_error(api, req, 400, "invalid_parameter", msg, name);
        return -1;
    }
    return 0;
}

int api_query_int(struct http_api *api, struct http_request *req, const char *name, long lo, long hi,
                  long *out)
{
    char buf[32];
    int present = api_query_param(api, req, name, buf, sizeof(buf));
    if (present <= 0)
        return present;
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (!buf[0] || *end || v < lo || v > hi) {
        char msg[128];
        snprintf(msg, sizeof(msg), "'%s' must be an integer from %ld to %ld", name, lo, hi);
        api_send_error(api, req, 400, "invalid_parameter", msg, name);
        return -1;
    }
    *out = v;
    return 1;
}

void api_send_no_route(struct http_api *api, struct http_request *req)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "no route for %s %.120s", req->method, req->path);
    api_send_error(api, req, 404, "not_found", msg, NULL);
}

static void send_405(struct http_api *api, struct http_request *req, const char *allow)
{
    char msg[160], hdr[96];
    snprintf(msg, sizeof(msg), "method %s not allowed here (allowed: %s)", req->method, allow);
    snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", "method_not_allowed", "message", msg);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(body);
    api_send(api, req, 405, "application/json", hdr, text ? text : "{}", text ? strlen(text) : 2);
    free(text);
}

static void append_headers(struct api_ctx *ctx, const char *h)
{
    size_t used = strlen(ctx->headers);
    snprintf(ctx->headers + used, sizeof(ctx->headers) - used, "%s", h);
}

/* Token buckets: this caller (token, user or address) for this route's
 * rate first; then, for unauthenticated callers only, the bucket they all
 * share. A refused request never drains a bucket it was not allowed past,
 * and an anonymous flood cannot lock out callers with credentials. False
 * when a 429 was sent. */
static bool rate_allow(struct http_api *api, struct http_request *req, struct api_ctx *ctx)
{
    int64_t now = (int64_t)(uv_hrtime() / 1000000u);
    struct auth_ratelimit_result r;
    char key[AUTH_RATELIMIT_KEY_MAX], hdr[200];
    struct api_rate *rate = rate_for(api, ctx->route);
    if (ctx->who.kind == AUTH_KIND_TOKEN)
        snprintf(key, sizeof(key), "t:%s", ctx->who.id);
    else if (ctx->who.kind == AUTH_KIND_USER)
        snprintf(key, sizeof(key), "u:%s", ctx->who.id);
    else
        snprintf(key, sizeof(key), "ip:%s", req->remote_addr);
    int rc = auth_ratelimit_take(rate->rl, key, now, &r);
    if (rc == 0 && r.allowed && ctx->who.kind == AUTH_KIND_NONE) {
        struct auth_ratelimit_result g;
        rc = auth_ratelimit_take(api->global.rl, "*", now, &g);
        if (rc || !g.allowed) {
            r = g;
            rate = &api->global;
        }
    }
    if (auth_ratelimit_headers(&r, &rate->rate, hdr, sizeof(hdr)) == 0)
        append_headers(ctx, hdr);
    if (rc == 0 && r.allowed)
        return true;
    char msg[160];
    snprintf(msg, sizeof(msg), "rate limit of %s exceeded; retry in %lld s", rate->value,
             (long long)(r.retry_after_s > 0 ? r.retry_after_s : 1));
    ctx->audit = false; /* counted in opshub_http_denied_total; an audit row each would be a flood */
    api_send_error(api, req, 429, "rate_limited", msg, NULL);
    return false;
}

bool api_rate_allow(struct http_api *api, struct http_request *req)
{
    return rate_allow(api, req, api_ctx(req));
}

/* True when `authorization` is the configured /metrics credential. The
 * scheme is case-insensitive (RFC 9110); the credential is compared as a
 * SHA-256 digest with CRYPTO_memcmp, so neither its bytes nor its length
 * show in the time taken. */
static bool metrics_credential_ok(const struct http_api *api, const char *authorization)
{
    size_t n = strlen(api->metrics_scheme);
    if (!authorization || strncasecmp(authorization, api->metrics_scheme, n) != 0 || authorization[n] != ' ')
        return false;
    const char *cred = authorization + n;
    while (*cred == ' ')
        cred++;
    char digest[AUTH_HASH_HEX];
    auth_db_sha256_hex(cred, strlen(cred), digest);
    return CRYPTO_memcmp(digest, api->metrics_digest, sizeof(digest)) == 0;
}

bool api_metrics_allow(struct http_api *api, struct http_request *req)
{
    struct api_ctx *ctx = api_ctx(req);
    bool guarded = api->metrics_scheme[0] != '\0';
    if (guarded && metrics_credential_ok(api, http_request_header(req, "Authorization")))
        return true;
    /* Its own bucket per address, at server.rate_limit: a scraper's calls
     * do not spend the address's API budget, nor the other way round. */
    int64_t now = (int64_t)(uv_hrtime() / 1000000u);
    struct auth_ratelimit_result r;
    char key[AUTH_RATELIMIT_KEY_MAX], hdr[200];
    snprintf(key, sizeof(key), "metrics:%s", req->remote_addr);
    int rc = auth_ratelimit_take(api->rates[0].rl, key, now, &r);
    if (rc != 0 || !r.allowed) {
        char msg[160];
        if (auth_ratelimit_headers(&r, &api->rates[0].rate, hdr, sizeof(hdr)) == 0)
            append_headers(ctx, hdr);
        snprintf(msg, sizeof(msg), "rate limit of %s exceeded; retry in %lld s", api->rates[0].value,
                 (long long)(r.retry_after_s > 0 ? r.retry_after_s : 1));
        api_send_error(api, req, 429, "rate_limited", msg, NULL);
        return false;
    }
    if (!guarded)
        return true;
    snprintf(hdr, sizeof(hdr), "WWW-Authenticate: %s realm=\"opshub metrics\"\r\n", api->metrics_scheme);
    append_headers(ctx, hdr);
    api_send_error(api, req, 401, "unauthorized", "/metrics needs the credentials of server.metrics_auth", NULL);
    return false;
}

/* Authenticates and authorises a non-public route. False when a 401, 403
 * or 503 was sent. */
static bool access_allow(struct http_api *api, struct http_request *req, struct api_ctx *ctx, int rc,
                         const char *why)
{
    if (ctx->route->min_role == AUTH_ROLE_PUBLIC)
        return true;
    if (rc == BASE_ERR_UNAVAILABLE) {
        ctx->audit = false;
        api_send_error(api, req, 503, "unavailable", "identity store not loaded yet; try again", NULL);
        return false;
    }
    if (rc) {
        char hdr[160];
        ctx->audit = false; /* anonymous: nobody to attribute it to; counted in opshub_http_denied_total */
        snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer realm=\"opshub\"%s\r\n",
                 rc == BASE_ERR_NOT_FOUND ? "" : ", error=\"invalid_token\"");
        append_headers(ctx, hdr);
        api_send_error(api, req, 401, "unauthorized", why && *why ? why : "authentication required", NULL);
        return false;
    }
    if (ctx->who.role < ctx->route->min_role) {
        char msg[160];
        snprintf(msg, sizeof(msg), "this needs the %s role; you are %s",
                 auth_role_name(ctx->route->min_role), auth_role_name(ctx->who.role));
        api_send_error(api, req, 403, "forbidden", msg, NULL);
        return false;
    }
    return true;
}

static bool is_mutation(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

/* The opshub_session cookie as an Authorization value ("Bearer <jwt>")
 * in buf: 1, 0 when there is none, or BASE_ERR_INVALID with *why when it
 * is malformed, doubled (see http/cookie) or holds an API token (those
 * are never accepted from a cookie). The value is never logged. */
static int session_cookie(const struct http_request *req, char *buf, size_t n, const char **why)
{
    static const char prefix[] = "Bearer ";
    if (n <= sizeof(prefix))
        return BASE_ERR_TOO_BIG;
    memcpy(buf, prefix, sizeof(prefix));
    int rc = http_cookie_get(req, API_COOKIE_SESSION, buf + sizeof(prefix) - 1, n - sizeof(prefix) + 1);
    if (rc == 1 && strncmp(buf + sizeof(prefix) - 1, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX)) == 0)
        rc = BASE_ERR_INVALID;
    if (rc < 0) {
        *why = rc == BASE_ERR_EXISTS ? "more than one " API_COOKIE_SESSION " cookie"
                                     : "malformed " API_COOKIE_SESSION " cookie";
        OPENSSL_cleanse(buf, n);
        return BASE_ERR_INVALID;
    }
    return rc;
}

/* A request authenticated by its session cookie that changes something
 * must carry the session's CSRF token in X-CSRF-Token (a page of another
 * site can make the browser send the cookie, but cannot read the token).
 * Bearer requests need none: no browser adds an Authorization header by
 * itself. False when the 403 was sent. */
static bool csrf_allow(struct http_api *api, struct http_request *req, struct api_ctx *ctx)
{
    if (!ctx->cookie_auth || ctx->route->min_role == AUTH_ROLE_PUBLIC || !is_mutation(req->method))
        return true;
    if (auth_csrf_verify(api->deps.auth, ctx->who.session_id, http_request_header(req, API_CSRF_HEADER)))
        return true;
    snprintf(ctx->detail, sizeof(ctx->detail), "csrf token missing or wrong");
    api_send_error(api, req, 403, "csrf",
                   "a request authenticated by the session cookie needs the X-CSRF-Token header "
                   "(the value of the opshub_csrf cookie)", NULL);
    return false;
}

int http_api_head_check(void *data, const struct http_request *req, const char **msg, const char **headers)
{
    struct http_api *api = data;
    if (strncmp(req->path, "/api/", 5) != 0 || !api->deps.auth || api->closing)
        return 0;
    const struct http_route *route = NULL;
    struct http_params params;
    if (http_router_match(api->router, req->method, req->path, &route, &params, NULL, 0) != HTTP_ROUTER_FOUND)
        return 0; /* the full path answers these (404, 405) */
    if (route->min_role == AUTH_ROLE_PUBLIC) {
        /* Anyone may call these (login, refresh): their bodies are small,
         * and an anonymous client must not make opshub hold megabytes. */
        const char *cl = http_request_header(req, "Content-Length");
        if (!cl || strtoull(cl, NULL, 10) > API_PUBLIC_BODY_MAX) {
            *msg = "request body too large for a public route (at most 16 KiB, with Content-Length)";
            api->requests_by_code[413]++;
            return 413;
        }
        return 0;
    }
    struct auth_principal who;
    const char *why = NULL;
    char bearer[8 + AUTH_ACCESS_TOKEN_MAX];
    const char *authorization = http_request_header(req, "Authorization");
    int rc = 0;
    if (!authorization && (rc = session_cookie(req, bearer, sizeof(bearer), &why)) == 1)
        authorization = bearer;
    rc = rc < 0 ? BASE_ERR_INVALID : auth_check(api->deps.auth, authorization, &who, &why);
    if (rc == 0 && authorization == bearer && who.kind != AUTH_KIND_USER)
        rc = BASE_ERR_INVALID;
    if (authorization == bearer)
        OPENSSL_cleanse(bearer, sizeof(bearer));
    if (rc == BASE_ERR_NOT_FOUND || rc == BASE_ERR_INVALID) {
        api->denied_401++;
        api->requests_by_code[401]++;
        *msg = "authentication required (the body was not read)";
        *headers = rc == BASE_ERR_NOT_FOUND ? "WWW-Authenticate: Bearer realm=\"opshub\"\r\n"
                                            : "WWW-Authenticate: Bearer realm=\"opshub\", error=\"invalid_token\"\r\n";
        return 401;
    }
    if (rc == 0 && who.role < route->min_role) {
        api->denied_403++;
        api->requests_by_code[403]++;
        *msg = "your role does not allow this (the body was not read)";
        return 403;
    }
    if (rc == BASE_ERR_BUSY) {
        api->requests_by_code[503]++;
        *msg = "too many unknown API tokens are being checked; retry (the body was not read)";
        *headers = "Retry-After: 1\r\n";
        return 503;
    }
    return 0; /* authenticated, or undecided: the full path decides after a fresh read (or answers 503) */
}

/* Rate limit, access and the route's handler, once the caller is known
 * (rc, why: as from auth_authenticate_start). */
static void dispatch(struct http_api *api, struct http_request *req, const struct http_params *params, int rc,
                     const char *why)
{
    struct api_ctx *ctx = api_ctx(req);
    if (rc == 0 && ctx->cookie_auth && ctx->who.kind != AUTH_KIND_USER) {
        rc = BASE_ERR_INVALID; /* only sessions live in cookies */
        why = "the session cookie does not hold a session";
    }
    if (rc)
        memset(&ctx->who, 0, sizeof(ctx->who));
    if (!rate_allow(api, req, ctx) || !access_allow(api, req, ctx, rc, why) || !csrf_allow(api, req, ctx))
        return;
    ctx->route->handler(api, req, params);
}

/* A request waiting for auth_authenticate_start's answer. */
struct authn_wait {
    struct http_api *api;
    struct http_request *req;
    struct http_params params;
};

static void on_authenticated(void *data, int status, const struct auth_principal *p, const char *why)
{
    struct authn_wait *w = data;
    struct http_api *api = w->api;
    struct http_request *req = w->req;
    if (api->closing || status == BASE_ERR_CANCELED) {
        api_ctx(req)->audit = false;
        api_send_error(api, req, 503, "unavailable", "opshub is stopping", NULL);
    } else {
        if (status == 0)
            api_ctx(req)->who = *p;
        dispatch(api, req, &w->params, status, why);
    }
    base_free(w);
    http_request_unref(req);
}

/* Finds the caller, then dispatches. A request with credentials is decided
 * after a read of the identity store that starts now, so a token made or
 * revoked by another process a moment ago counts. */
static void authenticate(struct http_api *api, struct http_request *req, const struct http_params *params)
{
    const char *authorization = http_request_header(req, "Authorization");
    char bearer[8 + AUTH_ACCESS_TOKEN_MAX];
    if (api->deps.auth && !authorization) {
        /* No Authorization header: the browser session's cookie, if any
         * (the header wins when both are present). */
        const char *why = NULL;
        int rc = session_cookie(req, bearer, sizeof(bearer), &why);
        if (rc < 0) {
            dispatch(api, req, params, BASE_ERR_INVALID, why);
            return;
        }
        if (rc == 1) {
            authorization = bearer;
            api_ctx(req)->cookie_auth = true;
        }
    }
    if (!api->deps.auth || !authorization) {
        dispatch(api, req, params, BASE_ERR_NOT_FOUND,
                 api->deps.auth ? "missing bearer token" : "authentication is not configured");
        return;
    }
    struct authn_wait *w = base_malloc(sizeof(*w));
    if (!w) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    w->api = api;
    w->req = req;
    w->params = *params;
    http_request_ref(req);
    if (auth_authenticate_start(api->deps.auth, authorization, on_authenticated, w) != 0) {
        base_free(w);
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        http_request_unref(req);
    }
    if (authorization == bearer)
        OPENSSL_cleanse(bearer, sizeof(bearer));
}

void http_api_handle(void *data, struct http_request *req)
{
    struct http_api *api = data;
    struct api_ctx *ctx = api_ctx(req);
    memset(ctx, 0, sizeof(*ctx));
    /* From here on the client is who rate limits, lockout, audit and logs see. */
    http_proxy_client(api->trusted, api->n_trusted, req->peer_addr, req->headers, req->n_headers,
                      req->remote_addr, sizeof(req->remote_addr));
    bool is_api = strncmp(req->path, "/api/", 5) == 0;
    if (is_api && api->cors) {
        char hdr[HTTP_CORS_HEADERS_MAX];
        enum http_cors_result cr = http_cors_check(api->cors, req, hdr, sizeof(hdr));
        if (cr == HTTP_CORS_PREFLIGHT) {
            api_send(api, req, 204, NULL, hdr, "", 0);
            return;
        }
        if (cr == HTTP_CORS_FORBIDDEN && strcmp(req->method, "OPTIONS") == 0) {
            api_send_error(api, req, 403, "forbidden", "origin not allowed", NULL);
            return;
        }
        append_headers(ctx, hdr); /* Allow-Origin etc., or only Vary: Origin */
    }
    const struct http_route *route = NULL;
    struct http_params params;
    char allow[64] = "";
    enum http_router_match m = http_router_match(api->router, req->method, req->path, &route,
                                                 &params, allow, sizeof(allow));
    if (m == HTTP_ROUTER_BAD_METHOD) {
        send_405(api, req, allow);
        return;
    }
    if (m != HTTP_ROUTER_FOUND) {
        api_send_no_route(api, req);
        return;
    }
    ctx->route = route;
    if (!is_api) {
        route->handler(api, req, &params);
        return;
    }
    if (api->closing) {
        api_send_error(api, req, 503, "unavailable", "opshub is stopping", NULL);
        return;
    }
    ctx->audit = is_mutation(req->method) && !route->read_only;
    const char *id = http_params_get(&params, "id");
    if (id)
        snprintf(ctx->target, sizeof(ctx->target), "%s", id);
    authenticate(api, req, &params);
}
