/*
 * http/api_rules: GET /api/v1/rules and GET /api/v1/alerts with the
 * Prometheus HTTP API's shapes (groups with their rules' health, last
 * evaluation, duration and errors; the active alerts with state, value,
 * activeAt, labels and annotations), so Grafana's alert list and scripts
 * written for Prometheus read them; and GET /api/v1/alerts/history, every
 * transition as the store keeps it (store/alerts.h).
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "rules/rules.h"
#include "store/alerts.h"

#include <string.h>

static void send_data(struct http_api *api, struct http_request *req, json_t *data)
{
    api_send_json(api, req, 200, data ? json_pack("{s:s, s:o}", "status", "success", "data", data) : NULL);
}

void api_rules_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!api->deps.rules) {
        api_send_error(api, req, 503, "unavailable", "the rule engine is not running", NULL);
        return;
    }
    char type[16] = "";
    int has = api_query_param(api, req, "type", type, sizeof(type));
    if (has < 0)
        return;
    if (has && strcmp(type, "alert") != 0 && strcmp(type, "record") != 0) {
        api_send_error(api, req, 400, "invalid_parameter", "'type' must be alert or record", "type");
        return;
    }
    send_data(api, req, rules_json_rules(api->deps.rules, has ? type : NULL));
}

void api_rules_alerts(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!api->deps.rules) {
        api_send_error(api, req, 503, "unavailable", "the rule engine is not running", NULL);
        return;
    }
    send_data(api, req, rules_json_alerts(api->deps.rules));
}

/* ---- GET /api/v1/alerts/history ---- */

struct history_ctx {
    struct http_api *api;
    struct http_request *req;
};

static json_t *object_text(const char *text)
{
    json_t *o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

static json_t *iso_time(int64_t ms)
{
    char buf[40];
    return json_string(base_time_format_iso8601(ms, buf, sizeof(buf)));
}

static void on_history(void *data, int status, const struct store_alert_row *rows, size_t n)
{
    struct history_ctx *ctx = data;
    struct http_request *req = ctx->req;
    if (status == BASE_ERR_UNAVAILABLE) {
        api_send_error(ctx->api, req, 503, "unavailable", "database unavailable", NULL);
    } else if (status != 0) {
        api_send_error(ctx->api, req, 500, "internal", "alert history query failed", NULL);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++) {
            const struct store_alert_row *r = &rows[i];
            json_t *t = json_pack("{s:o, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o}", "at", iso_time(r->at_ms),
                                  "group", r->group, "alertname", r->alertname, "labels", object_text(r->labels),
                                  "annotations", object_text(r->annotations), "state", r->state, "previous",
                                  r->previous, "value", r->value, "activeAt", iso_time(r->active_at_ms));
            if (!t || json_array_append_new(list, t) != 0) {
                json_decref(list);
                list = NULL;
            }
        }
        send_data(ctx->api, req, list ? json_pack("{s:o}", "transitions", list) : NULL);
    }
    http_request_unref(req);
    base_free(ctx);
}

void api_rules_history(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    int64_t from = 0, to = 0;
    if (api_query_time(api, req, "from", &from) || api_query_time(api, req, "to", &to))
        return;
    if (from && to && from > to) {
        api_send_error(api, req, 400, "invalid_parameter", "'from' is after 'to'", "from");
        return;
    }
    long limit = 1000;
    if (api_query_int(api, req, "limit", 1, STORE_ALERTS_QUERY_MAX, &limit) < 0)
        return;
    struct history_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    ctx->api = api;
    ctx->req = req;
    http_request_ref(req);
    if (store_alerts_history(api->deps.store, from, to, (int)limit, on_history, ctx) != 0) {
        http_request_unref(req);
        base_free(ctx);
        api_send_error(api, req, 503, "unavailable", "alert history query could not be queued", NULL);
    }
}
