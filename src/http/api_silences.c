/*
 * http/api_silences: silences (notify/silence.h, store/silences.h) through
 * opshub's API, /api/v1/silences (GET with ?state=, POST, GET and DELETE
 * of one), and Alertmanager's API v2 (GET|POST /api/v2/silences, GET and
 * DELETE /api/v2/silence/{id}) with its shapes, so amtool adds, lists and
 * expires them. A write is stored first and then taken by the notification
 * layer; expiring sets endsAt to now (the silence stays, as history).
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "notify/notify.h"
#include "notify/silence.h"
#include "store/silences.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum op { OP_LIST, OP_GET, OP_CREATE, OP_EXPIRE };

struct sil_ctx {
    struct http_api *api;
    struct http_request *req;
    enum op op;
    bool v2;
    char state[16];
    char id[STORE_SILENCE_ID_MAX];
    struct store_silence s;           /* what to write (strings owned) */
    bool have_s, update;
};

static void ctx_free(struct sil_ctx *c)
{
    if (c->have_s)
        notify_silence_clear(&c->s);
    base_free(c);
}

static void finish(struct sil_ctx *c)
{
    http_request_unref(c->req);
    ctx_free(c);
}

static bool store_failed(struct sil_ctx *c, int status)
{
    if (status == 0)
        return false;
    if (status == BASE_ERR_UNAVAILABLE)
        api_send_error(c->api, c->req, 503, "unavailable", "database unavailable", NULL);
    else
        api_send_error(c->api, c->req, 500, "internal", "the silence could not be read or written", NULL);
    return true;
}

static void on_saved(void *data, int status, const char *errmsg)
{
    struct sil_ctx *c = data;
    (void)errmsg;
    if (!store_failed(c, status)) {
        if (c->api->deps.notify)
            notify_silences_changed(c->api->deps.notify);
        int64_t now = base_time_now_ms();
        if (c->op == OP_EXPIRE)
            api_send_json(c->api, c->req, 200, c->v2 ? json_object() : notify_silence_json(&c->s, now));
        else if (c->v2)
            api_send_json(c->api, c->req, 200, json_pack("{s:s}", "silenceID", c->s.id));
        else
            api_send_json(c->api, c->req, c->update ? 200 : 201, notify_silence_json(&c->s, now));
    }
    finish(c);
}

static void save(struct sil_ctx *c)
{
    if (store_silences_save(c->api->deps.store, &c->s, on_saved, c) != 0) {
        api_send_error(c->api, c->req, 503, "unavailable", "the silence could not be queued", NULL);
        finish(c);
    }
}

/* Copies a stored row into c->s (owned). */
static int take_row(struct sil_ctx *c, const struct store_silence *r)
{
    c->s = *r;
    c->s.matchers = base_strdup(r->matchers);
    c->s.created_by = base_strdup(r->created_by);
    c->s.comment = base_strdup(r->comment);
    c->have_s = true;
    return c->s.matchers && c->s.created_by && c->s.comment ? 0 : BASE_ERR_NOMEM;
}

static void on_rows(void *data, int status, const struct store_silence *rows, size_t n)
{
    struct sil_ctx *c = data;
    int64_t now = base_time_now_ms();
    if (store_failed(c, status)) {
        finish(c);
        return;
    }
    if (c->op == OP_LIST) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
            if (!c->state[0] || strcmp(c->state, notify_silence_state(&rows[i], now)) == 0)
                json_array_append_new(list, notify_silence_json(&rows[i], now));
        api_send_json(c->api, c->req, 200, c->v2 || !list ? list : json_pack("{s:o}", "silences", list));
        finish(c);
        return;
    }
    if (n == 0) {
        api_send_error(c->api, c->req, 404, "not_found", "no such silence", NULL);
        finish(c);
        return;
    }
    if (c->op == OP_GET) {
        api_send_json(c->api, c->req, 200, notify_silence_json(&rows[0], now));
        finish(c);
        return;
    }
    if (c->op == OP_CREATE) {
        /* an update keeps when it was created */
        c->s.created_ms = rows[0].created_ms;
        save(c);
        return;
    }
    /* expire */
    if (take_row(c, &rows[0]) != 0) {
        api_send_error(c->api, c->req, 500, "internal", "out of memory", NULL);
        finish(c);
        return;
    }
    if (c->s.ends_ms <= now) {
        /* expired already: nothing to change */
        api_send_json(c->api, c->req, 200, c->v2 ? json_object() : notify_silence_json(&c->s, now));
        finish(c);
        return;
    }
    c->s.ends_ms = now;
    if (c->s.starts_ms > now)
        c->s.starts_ms = now;
    c->s.updated_ms = now;
    save(c);
}

static struct sil_ctx *ctx_new(struct http_api *api, struct http_request *req, enum op op, bool v2)
{
    struct sil_ctx *c = base_calloc(1, sizeof(*c));
    if (!c) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    c->api = api;
    c->req = req;
    c->op = op;
    c->v2 = v2;
    http_request_ref(req);
    return c;
}

static void load(struct sil_ctx *c, const char *id)
{
    if (store_silences_load(c->api->deps.store, id, id ? 0 : INT64_MIN, STORE_SILENCES_MAX, on_rows, c) != 0) {
        api_send_error(c->api, c->req, 503, "unavailable", "the query could not be queued", NULL);
        finish(c);
    }
}

static void list(struct http_api *api, struct http_request *req, bool v2)
{
    char state[16] = "";
    int has = v2 ? 0 : api_query_param(api, req, "state", state, sizeof(state));
    if (has < 0)
        return;
    if (has && strcmp(state, "active") && strcmp(state, "pending") && strcmp(state, "expired")) {
        api_send_error(api, req, 400, "invalid_parameter", "'state' must be active, pending or expired", "state");
        return;
    }
    struct sil_ctx *c = ctx_new(api, req, OP_LIST, v2);
    if (!c)
        return;
    snprintf(c->state, sizeof(c->state), "%s", state);
    load(c, NULL);
}

static bool valid_id(struct http_api *api, struct http_request *req, const char *id)
{
    if (id && *id && strlen(id) < STORE_SILENCE_ID_MAX)
        return true;
    api_send_error(api, req, 404, "not_found", "no such silence", NULL);
    return false;
}

static void get_one(struct http_api *api, struct http_request *req, const char *id, bool v2)
{
    if (!valid_id(api, req, id))
        return;
    struct sil_ctx *c = ctx_new(api, req, OP_GET, v2);
    if (c)
        load(c, id);
}

static void create(struct http_api *api, struct http_request *req, bool v2)
{
    struct http_body_error e;
    json_t *body = NULL;
    const char *ct = http_request_header(req, "Content-Type");
    if (req->body_len && ct && strncasecmp(ct, "application/json", 16) != 0) {
        api_send_error(api, req, 415, "unsupported_media_type", "the body must be application/json", NULL);
        return;
    }
    if (http_body_parse(req->body, req->body_len, &body, &e) != 0) {
        api_send_error(api, req, e.status ? e.status : 400, e.code, e.message, e.field[0] ? e.field : NULL);
        return;
    }
    struct sil_ctx *c = ctx_new(api, req, OP_CREATE, v2);
    if (!c) {
        json_decref(body);
        return;
    }
    char why[256], field[64];
    int64_t now = base_time_now_ms();
    int rc = notify_silence_from_json(body, now, &c->s, why, sizeof(why), field, sizeof(field));
    c->update = json_is_string(json_object_get(body, "id"));
    json_decref(body);
    if (rc != 0) {
        api_send_error(api, req, 400, "invalid_silence", why, field[0] ? field : NULL);
        finish(c);
        return;
    }
    c->have_s = true;
    if (!*c->s.created_by) {
        /* who made it: the caller, when the body does not say */
        base_free((char *)c->s.created_by);
        c->s.created_by = base_strdup(api_actor(req));
        if (!c->s.created_by) {
            api_send_error(api, req, 500, "internal", "out of memory", NULL);
            finish(c);
            return;
        }
    }
    api_set_target(req, "silence %s", c->s.id);
    if (c->update)
        load(c, c->s.id); /* it must exist */
    else
        save(c);
}

static void expire(struct http_api *api, struct http_request *req, const char *id, bool v2)
{
    if (!valid_id(api, req, id))
        return;
    api_set_target(req, "silence %.40s", id);
    struct sil_ctx *c = ctx_new(api, req, OP_EXPIRE, v2);
    if (c)
        load(c, id);
}

void api_silences_list(void *data, struct http_request *req, const struct http_params *p)
{
    list(data, req, false);
}

void api_silences_get(void *data, struct http_request *req, const struct http_params *p)
{
    get_one(data, req, http_params_get(p, "id"), false);
}

void api_silences_create(void *data, struct http_request *req, const struct http_params *p)
{
    create(data, req, false);
}

void api_silences_expire(void *data, struct http_request *req, const struct http_params *p)
{
    expire(data, req, http_params_get(p, "id"), false);
}

void api_v2_silences_list(void *data, struct http_request *req, const struct http_params *p)
{
    list(data, req, true);
}

void api_v2_silence_get(void *data, struct http_request *req, const struct http_params *p)
{
    get_one(data, req, http_params_get(p, "id"), true);
}

void api_v2_silences_create(void *data, struct http_request *req, const struct http_params *p)
{
    create(data, req, true);
}

void api_v2_silence_expire(void *data, struct http_request *req, const struct http_params *p)
{
    expire(data, req, http_params_get(p, "id"), true);
}
