/*
 * http/api_rules: GET /api/v1/rules and GET /api/v1/alerts with the
 * Prometheus HTTP API's shapes (groups with their rules' health, last
 * evaluation, duration and errors; the active alerts with state, value,
 * activeAt, labels and annotations), so Grafana's alert list and scripts
 * written for Prometheus read them.
 */
#include "http/api_int.h"

#include "rules/rules.h"

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
