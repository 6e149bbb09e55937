/*
 * http/api_health: opshub's own health endpoints (docs/api.md). /healthz and
 * /health/live answer from static bytes with no allocation: they are what
 * load balancers hammer.
 */
#include "http/api_int.h"

#include "base/proc.h"
#include "base/time.h"
#include "base/version.h"

#include <string.h>

#define HEALTH_LAG_DEGRADED_MS 1000.0

static void send_static(struct http_api *api, struct http_request *req, int status, const char *body)
{
    api_send(api, req, status, "application/json", NULL, body, strlen(body));
}

void api_health_healthz(void *data, struct http_request *req, const struct http_params *p)
{
    send_static(data, req, 200, "{\"ok\":true}");
}

void api_health_live(void *data, struct http_request *req, const struct http_params *p)
{
    send_static(data, req, 200, "{\"live\":true}");
}

void api_health_ready(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!api->deps.app->config_loaded)
        send_static(api, req, 503, "{\"ready\":false,\"reason\":\"configuration not loaded\"}");
    else if (!store_is_connected(api->deps.store))
        send_static(api, req, 503, "{\"ready\":false,\"reason\":\"database unavailable\"}");
    else
        send_static(api, req, 200, "{\"ready\":true}");
}

void api_health_db(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct store_stats st;
    store_stats_get(api->deps.store, &st);
    if (!st.connected) {
        send_static(api, req, 503, "{\"database\":\"disconnected\"}");
        return;
    }
    api_send_json(api, req, 200, json_pack("{s:s, s:f}", "database", "connected", "responseTime", st.last_ping_ms));
}

void api_health_full(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct store_stats st;
    store_stats_get(api->deps.store, &st);
    size_t counts[5] = {0};
    for (size_t i = 0; i < sched_count(api->deps.sched); i++) {
        const struct sched_check *c = sched_check_at(api->deps.sched, i);
        counts[c->state.status <= SCHED_STATUS_PAUSED ? c->state.status : SCHED_STATUS_UNKNOWN]++;
    }
    const struct conf *conf = api->deps.confs && *api->deps.confs ? objects_confs_run(*api->deps.confs) : NULL;
    size_t buffer_max = conf && conf->storage.buffer_max ? conf->storage.buffer_max : 100000;
    double lag = api->deps.app->loop_lag_ms;
    const char *status = "ok";
    if (!st.connected)
        status = "down";
    else if (lag > HEALTH_LAG_DEGRADED_MS || st.buffered * 10 > buffer_max * 9)
        status = "degraded";
    int64_t now = base_time_now_ms();
    char ts[40];
    base_time_format_iso8601(now, ts, sizeof(ts));
    json_t *checks = json_pack(
        "{s:{s:s, s:f}, s:{s:s, s:I}, s:{s:s, s:f}, s:{s:s, s:I, s:I, s:I, s:I}}",
        "database", "status", st.connected ? "up" : "down", "responseTime", st.last_ping_ms,
        "memory", "status", "up", "rssBytes", (json_int_t)base_proc_rss_bytes(),
        "loop", "status", lag > HEALTH_LAG_DEGRADED_MS ? "degraded" : "up", "lagMs", lag,
        "probes", "status", "up", "up", (json_int_t)counts[SCHED_STATUS_UP],
        "degraded", (json_int_t)counts[SCHED_STATUS_DEGRADED], "down", (json_int_t)counts[SCHED_STATUS_DOWN],
        "unknown", (json_int_t)counts[SCHED_STATUS_UNKNOWN]);
    json_t *body = checks ? json_pack("{s:s, s:s, s:f, s:s, s:o}", "status", status, "timestamp", ts,
                                      "uptime", (double)(now - api->deps.app->start_ms) / 1000.0,
                                      "version", base_version(), "checks", checks)
                          : NULL;
    api_send_json(api, req, strcmp(status, "down") == 0 ? 503 : 200, body);
}
