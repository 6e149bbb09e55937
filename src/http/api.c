/*
 * http/api: route table, dispatch, request metrics and the access log.
 * Health and metrics requests are logged at debug level (scrapers and load
 * balancers call them constantly); everything else at info.
 */
#include "http/api_int.h"

#include "auth/role.h"
#include "base/alloc.h"
#include "base/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one route table: every /api/v1 route declares its minimum role
 * (tests/integration/test_auth.py walks all of them; docs/openapi is built
 * from this table). */
const struct http_route api_routes[] = {
    {"GET", "/healthz", api_health_healthz, "Liveness in one line", AUTH_ROLE_PUBLIC, NULL},
    {"GET", "/health", api_health_full, "Health of opshub and its dependencies", AUTH_ROLE_PUBLIC, NULL},
    {"GET", "/health/live", api_health_live, "Liveness", AUTH_ROLE_PUBLIC, NULL},
    {"GET", "/health/ready", api_health_ready, "Readiness: config loaded and storage reachable", AUTH_ROLE_PUBLIC, NULL},
    {"GET", "/health/db", api_health_db, "Database connectivity", AUTH_ROLE_PUBLIC, NULL},
    {"GET", "/metrics", api_metrics_get, "Prometheus metrics", AUTH_ROLE_PUBLIC, NULL},
    {"GET", "/api/v1/checks", api_checks_list, "List checks with status", AUTH_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/checks/{id}", api_checks_get, "One check with status", AUTH_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/checks/{id}/samples", api_checks_samples, "Samples of a check, newest first", AUTH_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/checks/{id}/run", api_checks_run, "Run a check now", AUTH_ROLE_OPERATOR, NULL},
};
const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

struct http_api *http_api_new(const struct http_api_deps *deps)
{
    struct http_api *api = base_calloc(1, sizeof(*api));
    if (!api)
        return NULL;
    api->deps = *deps;
    api->router = http_router_new(api_routes, api_n_routes);
    if (!api->router) {
        base_free(api);
        return NULL;
    }
    base_histogram_init(&api->duration, base_metrics_latency_bounds, base_metrics_latency_n);
    return api;
}

void http_api_set_server(struct http_api *api, struct http_server *server)
{
    api->deps.server = server;
}

void http_api_destroy(struct http_api *api)
{
    if (!api)
        return;
    http_router_destroy(api->router);
    base_free(api);
}

void api_send(struct http_api *api, struct http_request *req, int status, const char *content_type,
              const char *extra_headers, const char *body, size_t len)
{
    double secs = (double)(uv_hrtime() - req->start_ns) / 1e9;
    if (status >= 100 && status < 600)
        api->requests_by_code[status]++;
    base_histogram_observe(&api->duration, secs);
    int quiet = strncmp(req->path, "/health", 7) == 0 || strcmp(req->path, "/metrics") == 0;
    enum base_log_level level = quiet ? BASE_LOG_DEBUG : (status >= 500 ? BASE_LOG_WARN : BASE_LOG_INFO);
    BASE_LOG_(level, "request", BASE_LOG_STR("method", req->method), BASE_LOG_STR("path", req->path),
              BASE_LOG_INT("status", status), BASE_LOG_NUM("duration_ms", secs * 1000.0),
              BASE_LOG_STR("request_id", req->request_id), BASE_LOG_STR("remote", req->remote_addr));
    http_response_send(req, status, content_type, extra_headers, body, len);
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

/* Copies s into out (size n), replacing every byte that is not part of a
 * well-formed UTF-8 sequence with '?': messages echo client input (paths,
 * ids), and JSON strings must be valid UTF-8. */
static void utf8_sanitize(const char *s, char *out, size_t n)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && o + 1 < n) {
        size_t len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && !(len == 2 && *p < 0xc2) && !(len == 4 && *p > 0xf4);
        for (size_t i = 1; ok && i < len; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (ok && len > 1 && o + len < n) {
            memcpy(out + o, p, len);
            o += len;
            p += len;
        } else {
            out[o++] = len == 1 && ok ? (char)*p : '?';
            p++;
        }
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

void http_api_handle(void *data, struct http_request *req)
{
    struct http_api *api = data;
    const struct http_route *route = NULL;
    struct http_params params;
    char allow[64] = "";
    enum http_router_match m = http_router_match(api->router, req->method, req->path, &route,
                                                 &params, allow, sizeof(allow));
    if (m == HTTP_ROUTER_FOUND) {
        route->handler(api, req, &params);
    } else if (m == HTTP_ROUTER_BAD_METHOD) {
        char msg[160], hdr[96];
        snprintf(msg, sizeof(msg), "method %s not allowed here (allowed: %s)", req->method, allow);
        snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
        json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", "method_not_allowed", "message", msg);
        char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(body);
        api_send(api, req, 405, "application/json", hdr, text ? text : "{}", text ? strlen(text) : 2);
        free(text);
    } else {
        char msg[200];
        snprintf(msg, sizeof(msg), "no route for %s %.120s", req->method, req->path);
        api_send_error(api, req, 404, "not_found", msg, NULL);
    }
}
