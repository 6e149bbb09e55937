/*
 * http/api_alertmanager: the part of Alertmanager's API v2 that Prometheus
 * and amtool use, over the notification layer (notify/notify.h): POST
 * /api/v2/alerts (a Prometheus server's alerting.alertmanagers sends its
 * alerts here; they go through the same routes, groups, inhibition,
 * silences and outbox), GET /api/v2/alerts (with active, silenced,
 * inhibited and filter), GET /api/v2/status and GET /api/v2/receivers.
 * The silences are in api_silences.c.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "base/version.h"
#include "notify/notify.h"
#include "notify/silence.h"
#include "series/series.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FILTERS_MAX 32

static bool have_notify(struct http_api *api, struct http_request *req)
{
    if (api->deps.notify)
        return true;
    api_send_error(api, req, 503, "unavailable", "notifications are not running", NULL);
    return false;
}

void api_v2_alerts_post(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_notify(api, req))
        return;
    const char *ct = http_request_header(req, "Content-Type");
    if (req->body_len && ct && strncasecmp(ct, "application/json", 16) != 0) {
        api_send_error(api, req, 415, "unsupported_media_type", "the body must be application/json", NULL);
        return;
    }
    /* the body is a list: parsed as the member of an object, with every limit of the body parser */
    size_t n = req->body_len + 16;
    char *wrapped = base_malloc(n);
    if (!wrapped) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    memcpy(wrapped, "{\"a\":", 5);
    if (req->body_len)
        memcpy(wrapped + 5, req->body, req->body_len);
    memcpy(wrapped + 5 + req->body_len, "}", 1);
    json_t *o = NULL;
    struct http_body_error e;
    int rc = req->body_len ? http_body_parse(wrapped, req->body_len + 6, &o, &e) : BASE_ERR_INVALID;
    base_free(wrapped);
    if (rc != 0) {
        const char *field = e.field[0] == 'a' ? e.field + 1 + (e.field[1] == '.') : NULL;
        api_send_error(api, req, req->body_len ? (e.status ? e.status : 400) : 400,
                       req->body_len ? e.code : "invalid_body",
                       req->body_len ? e.message : "the body must be a list of alerts", field && *field ? field : NULL);
        return;
    }
    char why[256], field[32];
    size_t index = 0;
    rc = notify_receive(api->deps.notify, json_object_get(o, "a"), why, sizeof(why), &index);
    json_decref(o);
    if (rc != 0) {
        if (index != SIZE_MAX)
            snprintf(field, sizeof(field), "[%zu]", index);
        api_send_error(api, req, rc == -2 ? 503 : 400, rc == -2 ? "unavailable" : "invalid_alert", why,
                       index != SIZE_MAX ? field : NULL);
        return;
    }
    api_send_json(api, req, 200, json_object());
}

/* ?name=true|false, default def; -1 when bad (sent). */
static int bool_param(struct http_api *api, struct http_request *req, const char *name, bool def, bool *out)
{
    char v[8];
    int has = api_query_param(api, req, name, v, sizeof(v));
    *out = def;
    if (has <= 0)
        return has;
    if (strcmp(v, "true") == 0) {
        *out = true;
    } else if (strcmp(v, "false") == 0) {
        *out = false;
    } else {
        char msg[80];
        snprintf(msg, sizeof(msg), "'%s' must be true or false", name);
        api_send_error(api, req, 400, "invalid_parameter", msg, name);
        return -1;
    }
    return 1;
}

void api_v2_alerts_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_notify(api, req))
        return;
    bool active, silenced, inhibited, unprocessed;
    if (bool_param(api, req, "active", true, &active) < 0 || bool_param(api, req, "silenced", true, &silenced) < 0 ||
        bool_param(api, req, "inhibited", true, &inhibited) < 0 ||
        bool_param(api, req, "unprocessed", true, &unprocessed) < 0)
        return;
    /* filter=matcher, repeated */
    struct series_matcher m[FILTERS_MAX];
    size_t nm = 0;
    const char *q = req->query ? req->query : "";
    bool bad = false;
    char why[200] = "";
    while (*q && !bad) {
        size_t len = strcspn(q, "&");
        if (len > 7 && strncmp(q, "filter=", 7) == 0) {
            char raw[1024];
            size_t dl = 0;
            if (len - 7 >= sizeof(raw) || nm == FILTERS_MAX ||
                !http_request_percent_decode(q + 7, len - 7, raw, &dl, true)) {
                snprintf(why, sizeof(why), "a filter is a matcher such as severity=\"critical\" (at most %d)",
                         FILTERS_MAX);
                bad = true;
                break;
            }
            raw[dl] = 0;
            json_t *mj = notify_matcher_parse(raw, why, sizeof(why));
            if (!mj) {
                bad = true;
                break;
            }
            bool re = json_is_true(json_object_get(mj, "isRegex")), eq = json_is_true(json_object_get(mj, "isEqual"));
            enum series_match_op op = re ? (eq ? SERIES_MATCH_RE : SERIES_MATCH_NRE)
                                         : (eq ? SERIES_MATCH_EQ : SERIES_MATCH_NE);
            char w[160];
            if (series_matcher_init(&m[nm], op, json_string_value(json_object_get(mj, "name")),
                                    json_string_value(json_object_get(mj, "value")), w, sizeof(w)) != 0) {
                snprintf(why, sizeof(why), "bad filter: %s", w);
                bad = true;
            } else {
                nm++;
            }
            json_decref(mj);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    if (bad)
        api_send_error(api, req, 400, "invalid_parameter", why, "filter");
    else
        api_send_json(api, req, 200, notify_json_alerts(api->deps.notify, active, silenced, inhibited, m, nm));
    for (size_t i = 0; i < nm; i++)
        series_matcher_free(&m[i]);
}

void api_v2_status(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    char up[40];
    int64_t started = api->deps.app ? api->deps.app->start_ms : 0;
    api_send_json(api, req, 200,
                  json_pack("{s:{s:s, s:[]}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s}, s:s}", "cluster", "status",
                            "disabled", "peers", "versionInfo", "version", base_version(), "revision",
                            base_version_commit(), "branch", "", "buildUser", "opshub", "buildDate", "", "goVersion",
                            "none (opshub is written in C)", "config", "original",
                            "# opshub: notify: in opshub.yaml (docs/notifications.md)\n", "uptime",
                            base_time_format_iso8601(started ? started : base_time_now_ms(), up, sizeof(up))));
}

void api_v2_receivers(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (have_notify(api, req))
        api_send_json(api, req, 200, notify_json_receivers(api->deps.notify));
}
