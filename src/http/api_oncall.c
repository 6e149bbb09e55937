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
#include "base/time.h"
#include "oncall/oncall.h"

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
