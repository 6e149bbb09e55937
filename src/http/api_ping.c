/*
 * http/api_ping: the routes heartbeat checks are fed by (GET or POST
 * /ping/{check_id}, .../start, .../fail). Outside /api, so the access
 * middleware does not run: each handler takes from the caller's rate limit
 * bucket itself, and the check's own token (probe/heartbeat: constant-time
 * compare) is the only credential. An unknown id, a check of another type
 * and a wrong token answer the same 404, so a caller cannot tell which
 * ids exist. The token is read from ?token=, Authorization: Bearer or
 * X-Opshub-Token and is never echoed, logged or stored.
 */
#include "http/api_int.h"

#include "probe/heartbeat.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The presented token into buf ("" when none). */
static void presented_token(struct http_request *req, char *buf, size_t n)
{
    buf[0] = '\0';
    if (http_request_query(req, "token", buf, n))
        return;
    const char *h = http_request_header(req, "X-Opshub-Token");
    if (!h) {
        const char *a = http_request_header(req, "Authorization");
        if (a && strncasecmp(a, "Bearer ", 7) == 0) {
            h = a + 7;
            while (*h == ' ')
                h++;
        }
    }
    if (h && strlen(h) < n)
        snprintf(buf, n, "%s", h);
}

/* The heartbeat check the request names, its token verified; else a 404
 * (or 429 / 409) has been sent and NULL is returned. */
static const struct sched_check *find_check(struct http_api *api, struct http_request *req,
                                            const struct http_params *p)
{
    if (!api_rate_allow(api, req))
        return NULL;
    const char *id = http_params_get(p, "check_id");
    const struct sched_check *c = id && api->deps.sched ? sched_check_get(api->deps.sched, id) : NULL;
    char token[PROBE_HEARTBEAT_TOKEN_MAX + 2];
    presented_token(req, token, sizeof(token));
    bool ok = c && c->conf->type == &probe_heartbeat_type && probe_heartbeat_token_ok(c->conf, token);
    OPENSSL_cleanse(token, sizeof(token));
    if (!ok) {
        api_send_error(api, req, 404, "not_found", "no such heartbeat check, or a wrong token", NULL);
        return NULL;
    }
    if (!c->conf->enabled) {
        api_send_error(api, req, 409, "paused", "the check is paused", NULL);
        return NULL;
    }
    return c;
}

static void answer(struct http_api *api, struct http_request *req, const struct sched_check *c, const char *event,
                   const struct sample *s)
{
    json_t *o = json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "check", c->conf->id, "event", event, "status",
                          sched_status_name(c->state.status));
    double run;
    if (o && s && sample_value_get(s, "run_seconds", &run))
        json_object_set_new(o, "run_seconds", json_real(run));
    if (o && s && s->error[0])
        json_object_set_new(o, "error", json_string(s->error));
    api_send_json(api, req, 200, o);
}

static void record(struct http_api *api, struct http_request *req, const struct http_params *p,
                   enum probe_heartbeat_ping kind)
{
    const struct sched_check *c = find_check(api, req, p);
    if (!c)
        return;
    struct sample s;
    probe_heartbeat_sample(c->conf, kind, sched_now_ms(api->deps.sched), c->run_started_ms, c->last_signal_ms, &s);
    int rc = sched_signal(api->deps.sched, c->conf->id, &s);
    if (rc) {
        api_send_error(api, req, 409, "paused", "the check takes no pings now", NULL);
        return;
    }
    answer(api, req, c, kind == PROBE_HEARTBEAT_FAIL ? "fail" : "success", &s);
}

void api_ping_success(void *data, struct http_request *req, const struct http_params *p)
{
    record(data, req, p, PROBE_HEARTBEAT_SUCCESS);
}

void api_ping_fail(void *data, struct http_request *req, const struct http_params *p)
{
    record(data, req, p, PROBE_HEARTBEAT_FAIL);
}

void api_ping_start(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct sched_check *c = find_check(api, req, p);
    if (!c)
        return;
    const struct probe_heartbeat_conf *h = c->conf->settings;
    if (sched_signal_start(api->deps.sched, c->conf->id, h->max_runtime_ms) != 0) {
        api_send_error(api, req, 409, "paused", "the check takes no pings now", NULL);
        return;
    }
    answer(api, req, c, "start", NULL);
}
