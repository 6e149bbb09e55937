/*
 * http/api_oncall: on-call (oncall/oncall.h): GET /api/v1/oncall?at= (who
 * is on call now or at an instant, per rotation and per step of each
 * escalation policy), GET /api/v1/rotations, GET /api/v1/rotations/{id}
 * (?from&to: the spans), and GET /api/v1/rotations/{id}.ics?token= (the
 * rotation as an iCalendar feed; public, the token is the labelled MAC of
 * the rotation's id, so a calendar client needs no login and a token
 * opens one feed only).
 */
#include "http/api_int.h"

#include "auth/service.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "http/body.h"
#include "oncall/oncall.h"
#include "store/overrides.h"
#include "store/sql.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_LABEL "opshub-ics-v1"
#define DAY_MS 86400000LL
#define RANGE_MAX_MS (400 * DAY_MS)

static bool have_oncall(struct http_api *api, struct http_request *req)
{
    if (api->deps.oncall)
        return true;
    api_send_error(api, req, 503, "unavailable", "on-call is not running", NULL);
    return false;
}

/* feed_path: the rotation's .ics path with its token. */
static void add_feed(struct http_api *api, json_t *rot)
{
    const char *id = json_string_value(json_object_get(rot, "id"));
    char token[AUTH_MAC_TOKEN_MAX], path[300];
    if (!id || !api->deps.auth || auth_mac_token(api->deps.auth, FEED_LABEL, id, token, sizeof(token)) != 0)
        return;
    snprintf(path, sizeof(path), "/api/v1/rotations/%s.ics?token=%s", id, token);
    json_object_set_new(rot, "feed_path", json_string(path));
}

void api_oncall_now(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!have_oncall(api, req))
        return;
    int64_t at = 0;
    if (api_query_time(api, req, "at", &at) < 0)
        return;
    api_send_json(api, req, 200, oncall_json_now(api->deps.oncall, at ? at : base_time_now_ms()));
}

void api_rotations_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!have_oncall(api, req))
        return;
    json_t *list = oncall_json_rotations(api->deps.oncall, base_time_now_ms());
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
        add_feed(api, r);
    api_send_json(api, req, 200, list ? json_pack("{s:o}", "rotations", list) : NULL);
}

static const struct oncall_rotation *rotation_or_404(struct http_api *api, struct http_request *req,
                                                     const struct http_params *p)
{
    const char *id = http_params_get(p, "id");
    const struct oncall_rotation *r = oncall_find(api->deps.oncall, id);
    if (!r)
        api_send_error(api, req, 404, "not_found", "no rotation has this id", NULL);
    return r;
}

/* from / to: default now - 1 day .. now + 28 days; at most 400 days apart. 0, or -1 (a 400 was sent). */
static int range(struct http_api *api, struct http_request *req, int64_t now, int64_t *from, int64_t *to,
                 int64_t def_back, int64_t def_ahead)
{
    if (api_query_time(api, req, "from", from) < 0 || api_query_time(api, req, "to", to) < 0)
        return -1;
    if (!*from)
        *from = now - def_back;
    if (!*to)
        *to = *from + def_back + def_ahead;
    if (*to <= *from || *to - *from > RANGE_MAX_MS) {
        api_send_error(api, req, 400, "bad_request", "to must be after from, at most 400 days later", "to");
        return -1;
    }
    return 0;
}

void api_rotations_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_oncall(api, req))
        return;
    const struct oncall_rotation *r = rotation_or_404(api, req, p);
    if (!r)
        return;
    int64_t now = base_time_now_ms(), from = 0, to = 0;
    if (range(api, req, now, &from, &to, DAY_MS, 28 * DAY_MS) != 0)
        return;
    json_t *j = oncall_json_rotation(api->deps.oncall, r, now, from, to, true);
    if (j)
        add_feed(api, j);
    api_send_json(api, req, 200, j);
}

void api_rotations_ics(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_oncall(api, req))
        return;
    char token[AUTH_MAC_TOKEN_MAX + 8];
    int has = api_query_param(api, req, "token", token, sizeof(token));
    if (has < 0)
        return;
    const char *id = http_params_get(p, "id");
    if (!has || !api->deps.auth || !auth_mac_verify(api->deps.auth, FEED_LABEL, id, token)) {
        /* a capability URL: a wrong token says nothing of whether the rotation exists */
        api_send_error(api, req, 404, "not_found", "no such feed (GET /api/v1/rotations gives each rotation's "
                       "feed_path)", NULL);
        return;
    }
    const struct oncall_rotation *r = rotation_or_404(api, req, p);
    if (!r)
        return;
    int64_t now = base_time_now_ms(), from = 0, to = 0;
    if (range(api, req, now, &from, &to, 30 * DAY_MS, 90 * DAY_MS) != 0)
        return;
    char *ics = oncall_ics(r, now, from, to);
    if (!ics) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    char disp[200];
    snprintf(disp, sizeof(disp), "Content-Disposition: inline; filename=\"%s.ics\"\r\n", id);
    api_send(api, req, 200, "text/calendar; charset=utf-8", disp, ics, strlen(ics));
    free(ics);
}

/* ---- overrides (operator): POST /api/v1/rotations/{id}/overrides, DELETE .../{oid} ---- */

#define OVERRIDE_MAX_MS (90 * DAY_MS)
#define OVERRIDE_AHEAD_MS (366 * DAY_MS)

struct override_job {
    struct http_api *api;
    struct http_request *req;
    bool add;
    struct store_override o;
    struct store_override *list;   /* every override, read after the change */
    size_t n;
};

static int override_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct override_job *j = data;
    int64_t now = base_time_now_ms();
    int rc = j->add ? store_override_add(c, &j->o, now, err, errlen)
                    : store_override_delete(c, j->o.rotation, j->o.id, err, errlen);
    if (rc == 0)
        rc = store_overrides_list(c, now - ONCALL_OVERRIDES_KEEP_MS, &j->list, &j->n, err, errlen);
    return rc;
}

static void override_done(void *data, int status, const char *errmsg)
{
    struct override_job *j = data;
    struct http_api *api = j->api;
    (void)errmsg;
    if (status == BASE_ERR_NOT_FOUND) {
        api_send_error(api, j->req, 404, "not_found", "this rotation has no override with this id", NULL);
    } else if (status == BASE_ERR_TOO_BIG) {
        api_send_error(api, j->req, 409, "conflict", "at most 2000 overrides that have not ended", NULL);
    } else if (status != 0) {
        api_send_store_error(api, j->req, 503, "the override");
    } else if (oncall_set_overrides(api->deps.oncall, j->list, j->n) != 0) {
        /* stored: it applies at the next start or change */
        api_send_error(api, j->req, 500, "internal", "stored, but out of memory to apply it now", NULL);
    } else if (!j->add) {
        api_send(api, j->req, 204, NULL, NULL, NULL, 0);
    } else {
        const struct oncall_rotation *r = oncall_find(api->deps.oncall, j->o.rotation);
        json_t *rot = r ? oncall_json_rotation(api->deps.oncall, r, base_time_now_ms(), 0, 0, false) : NULL;
        json_t *mine = NULL;
        size_t i;
        json_t *ov;
        json_array_foreach(json_object_get(rot, "overrides"), i, ov)
            if (!strcmp(json_string_value(json_object_get(ov, "id")) ? json_string_value(json_object_get(ov, "id")) : "",
                        j->o.id))
                mine = json_incref(ov);
        json_decref(rot);
        if (mine)
            api_send_json(api, j->req, 201, mine);
        else
            api_send_error(api, j->req, 500, "internal", "the override was stored but not found", NULL);
    }
    http_request_unref(j->req);
    base_free(j->list);
    base_free(j);
}

static void override_submit(struct override_job *j)
{
    http_request_ref(j->req);
    if (store_call(j->api->deps.store, override_work, override_done, j) != 0) {
        http_request_unref(j->req);
        api_send_error(j->api, j->req, 503, "unavailable", "database unavailable", NULL);
        base_free(j);
    }
}

static const struct http_body_field override_fields[] = {
    {.name = "user", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 63},
    {.name = "start", .type = HTTP_BODY_STRING, .required = true, .min = 4, .max = 40},
    {.name = "end", .type = HTTP_BODY_STRING, .required = true, .min = 4, .max = 40},
    {.name = "reason", .type = HTTP_BODY_STRING, .nullable = true, .max = STORE_OVERRIDE_REASON_MAX},
};

void api_overrides_add(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_oncall(api, req))
        return;
    const struct oncall_rotation *r = rotation_or_404(api, req, p);
    if (!r)
        return;
    json_t *body = api_body(api, req, override_fields, sizeof(override_fields) / sizeof(override_fields[0]));
    if (!body)
        return;
    struct override_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        json_decref(body);
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    j->api = api;
    j->req = req;
    j->add = true;
    struct store_override *o = &j->o;
    const char *user = http_body_str(body, "user"), *reason = http_body_str(body, "reason");
    const struct auth_user *u = api->deps.auth ? auth_user_find_name(api->deps.auth, user) : NULL;
    int64_t now = base_time_now_ms();
    const char *why = NULL, *field = NULL;
    if (!u || u->disabled)
        why = "user is no enabled user of opshub", field = "user";
    else if (base_time_parse(http_body_str(body, "start"), &o->from_ms) != 0)
        why = "start is a time (ISO 8601 or unix seconds)", field = "start";
    else if (base_time_parse(http_body_str(body, "end"), &o->to_ms) != 0)
        why = "end is a time (ISO 8601 or unix seconds)", field = "end";
    else if (o->to_ms <= o->from_ms)
        why = "end must be after start", field = "end";
    else if (o->to_ms <= now)
        why = "end is in the past: an override changes who is on call from now on", field = "end";
    else if (o->to_ms - o->from_ms > OVERRIDE_MAX_MS)
        why = "an override lasts at most 90 days", field = "end";
    else if (o->from_ms > now + OVERRIDE_AHEAD_MS)
        why = "start is at most a year ahead", field = "start";
    if (why) {
        json_decref(body);
        base_free(j);
        api_send_error(api, req, 400, "invalid_field", why, field);
        return;
    }
    const struct conf_rotation *c = oncall_rotation_conf(r);
    snprintf(o->rotation, sizeof(o->rotation), "%s", c->id);
    snprintf(o->user, sizeof(o->user), "%s", u->username);
    snprintf(o->reason, sizeof(o->reason), "%s", reason ? reason : "");
    snprintf(o->created_by, sizeof(o->created_by), "%s", api_actor(req));
    o->created_ms = now;
    unsigned char b[8];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memcpy(b, &now, sizeof(b));
    snprintf(o->id, sizeof(o->id), "o%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    json_decref(body);
    api_set_target(req, "rotation %s: %s on call (override %s)", o->rotation, o->user, o->id);
    override_submit(j);
}

void api_overrides_delete(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_oncall(api, req))
        return;
    const struct oncall_rotation *r = rotation_or_404(api, req, p);
    if (!r)
        return;
    const char *oid = http_params_get(p, "oid");
    if (!oid || strlen(oid) >= STORE_OVERRIDE_ID_MAX) {
        api_send_error(api, req, 404, "not_found", "this rotation has no override with this id", NULL);
        return;
    }
    struct override_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    j->api = api;
    j->req = req;
    snprintf(j->o.rotation, sizeof(j->o.rotation), "%s", oncall_rotation_conf(r)->id);
    snprintf(j->o.id, sizeof(j->o.id), "%s", oid);
    api_set_target(req, "rotation %s: override %s", j->o.rotation, oid);
    override_submit(j);
}
