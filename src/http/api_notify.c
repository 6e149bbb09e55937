/*
 * http/api_notify: the notification layer's API (notify/notify.h):
 * GET /api/v1/notifications (the outbox's deliveries with attempts and
 * errors), GET /api/v1/notifications/{id} (with the payload), POST
 * /api/v1/notifications/{id}/retry, GET /api/v1/channels, POST
 * /api/v1/channels/{id}/test and GET /api/v1/alerts/groups (the
 * aggregation groups now).
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "notify/notify.h"
#include "store/notify.h"

#include <stdio.h>
#include <string.h>

static bool have_notify(struct http_api *api, struct http_request *req)
{
    if (api->deps.notify)
        return true;
    api_send_error(api, req, 503, "unavailable", "notifications are not running", NULL);
    return false;
}

static json_t *iso_or_null(int64_t ms)
{
    char buf[40];
    return ms > 0 ? json_string(base_time_format_iso8601(ms, buf, sizeof(buf))) : json_null();
}

static json_t *delivery_json(const struct store_notification *r, bool payload)
{
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:s, s:o, s:s}", "id", r->id,
                          "created", iso_or_null(r->created_ms), "updated", iso_or_null(r->updated_ms), "channel",
                          r->channel, "kind", r->kind, "group_key", r->group_key, "dedup_key", r->dedup_key, "status",
                          r->status, "attempts", r->attempts, "next_attempt",
                          strcmp(r->status, "pending") == 0 ? iso_or_null(r->next_at_ms) : json_null(), "last_error",
                          r->last_error, "sent_at", iso_or_null(r->sent_at_ms), "summary", r->summary);
    if (o && r->alert_at_ms > 0 && r->sent_at_ms > 0)
        json_object_set_new(o, "latency_seconds", json_real((double)(r->sent_at_ms - r->alert_at_ms) / 1000.0));
    if (o && payload) {
        json_t *p = r->payload ? json_loads(r->payload, 0, NULL) : NULL;
        /* a subscriber's webhook URL may carry a token: shown as its origin only */
        if (json_is_string(json_object_get(p, "target_url")))
            json_object_set_new(p, "target_url", json_string("(a subscriber's URL)"));
        json_object_set_new(o, "payload", p ? p : json_null());
    }
    return o;
}

struct list_ctx {
    struct http_api *api;
    struct http_request *req;
    bool one;
};

static void on_rows(void *data, int status, const struct store_notification *rows, size_t n)
{
    struct list_ctx *ctx = data;
    struct http_request *req = ctx->req;
    if (status == BASE_ERR_UNAVAILABLE) {
        api_send_error(ctx->api, req, 503, "unavailable", "database unavailable", NULL);
    } else if (status != 0) {
        api_send_error(ctx->api, req, 500, "internal", "notification query failed", NULL);
    } else if (ctx->one) {
        if (n == 0)
            api_send_error(ctx->api, req, 404, "not_found", "no such notification", NULL);
        else
            api_send_json(ctx->api, req, 200, delivery_json(&rows[0], true));
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
            if (json_array_append_new(list, delivery_json(&rows[i], false)) != 0) {
                json_decref(list);
                list = NULL;
            }
        api_send_json(ctx->api, req, 200, list ? json_pack("{s:o}", "notifications", list) : NULL);
    }
    http_request_unref(req);
    base_free(ctx);
}

static struct list_ctx *ctx_new(struct http_api *api, struct http_request *req, bool one)
{
    struct list_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    ctx->api = api;
    ctx->req = req;
    ctx->one = one;
    http_request_ref(req);
    return ctx;
}

static void ctx_fail(struct list_ctx *ctx)
{
    http_request_unref(ctx->req);
    api_send_error(ctx->api, ctx->req, 503, "unavailable", "the query could not be queued", NULL);
    base_free(ctx);
}

void api_notify_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    int64_t from = 0, to = 0;
    if (api_query_time(api, req, "from", &from) || api_query_time(api, req, "to", &to))
        return;
    if (from && to && from > to) {
        api_send_error(api, req, 400, "invalid_parameter", "'from' is after 'to'", "from");
        return;
    }
    char status[16] = "";
    int has = api_query_param(api, req, "status", status, sizeof(status));
    if (has < 0)
        return;
    if (has && strcmp(status, "pending") != 0 && strcmp(status, "sent") != 0 && strcmp(status, "failed") != 0) {
        api_send_error(api, req, 400, "invalid_parameter", "'status' must be pending, sent or failed", "status");
        return;
    }
    long limit = 100;
    if (api_query_int(api, req, "limit", 1, STORE_NOTIFY_QUERY_MAX, &limit) < 0)
        return;
    struct list_ctx *ctx = ctx_new(api, req, false);
    if (ctx && store_notify_list(api->deps.store, from, to, has ? status : NULL, (int)limit, on_rows, ctx) != 0)
        ctx_fail(ctx);
}

static bool id_ok(struct http_api *api, struct http_request *req, const char *id)
{
    if (id && *id && strlen(id) < STORE_NOTIFY_ID_MAX)
        return true;
    api_send_error(api, req, 404, "not_found", "no such notification", NULL);
    return false;
}

void api_notify_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const char *id = http_params_get(p, "id");
    if (!id_ok(api, req, id))
        return;
    struct list_ctx *ctx = ctx_new(api, req, true);
    if (ctx && store_notify_get(api->deps.store, id, on_rows, ctx) != 0)
        ctx_fail(ctx);
}

struct retry_ctx {
    struct http_api *api;
    struct http_request *req;
    char id[STORE_NOTIFY_ID_MAX];
};

static void on_retry(void *data, int status)
{
    struct retry_ctx *ctx = data;
    struct http_request *req = ctx->req;
    if (status == 0)
        api_send_json(ctx->api, req, 202, json_pack("{s:s, s:s}", "id", ctx->id, "status", "pending"));
    else if (status == BASE_ERR_NOT_FOUND)
        api_send_error(ctx->api, req, 404, "not_found", "no such notification", NULL);
    else if (status == BASE_ERR_EXISTS)
        api_send_error(ctx->api, req, 409, "conflict", "this notification was delivered already", NULL);
    else if (status == BASE_ERR_UNAVAILABLE)
        api_send_error(ctx->api, req, 503, "unavailable", "database unavailable", NULL);
    else
        api_send_error(ctx->api, req, 500, "internal", "the retry failed", NULL);
    http_request_unref(req);
    base_free(ctx);
}

void api_notify_retry(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const char *id = http_params_get(p, "id");
    if (!have_notify(api, req) || !id_ok(api, req, id))
        return;
    struct retry_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    ctx->api = api;
    ctx->req = req;
    snprintf(ctx->id, sizeof(ctx->id), "%s", id);
    http_request_ref(req);
    if (notify_retry(api->deps.notify, id, on_retry, ctx) != 0) {
        http_request_unref(req);
        base_free(ctx);
        api_send_error(api, req, 503, "unavailable", "the retry could not be queued", NULL);
    }
}

void api_channels_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_notify(api, req))
        return;
    json_t *list = notify_json_channels(api->deps.notify);
    api_send_json(api, req, 200, list ? json_pack("{s:o}", "channels", list) : NULL);
}

void api_channels_test(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const char *id = http_params_get(p, "id");
    if (!have_notify(api, req))
        return;
    char did[STORE_NOTIFY_ID_MAX];
    int rc = notify_test(api->deps.notify, id ? id : "", did, sizeof(did));
    if (rc == BASE_ERR_NOT_FOUND) {
        char msg[200];
        snprintf(msg, sizeof(msg), "channel '%.128s' not found", id ? id : "");
        api_send_error(api, req, 404, "not_found", msg, NULL);
    } else if (rc == BASE_ERR_TOO_BIG) {
        api_send_error(api, req, 503, "unavailable", "the outbox is full", NULL);
    } else if (rc != 0) {
        api_send_error(api, req, 500, "internal", "the test message could not be queued", NULL);
    } else {
        api_send_json(api, req, 202, json_pack("{s:s, s:s}", "id", did, "status", "pending"));
    }
}

void api_alert_groups(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_notify(api, req))
        return;
    json_t *list = notify_json_groups(api->deps.notify);
    api_send_json(api, req, 200, list ? json_pack("{s:o}", "groups", list) : NULL);
}

void api_maintenance_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_notify(api, req))
        return;
    json_t *list = notify_json_maintenance(api->deps.notify, false);
    api_send_json(api, req, 200, list ? json_pack("{s:o}", "windows", list) : NULL);
}
