/*
 * http/api_rollups: a check's uptime over a window and its latency per
 * step, answered from the store's minute and hour rollups
 * (store/rollup.h): GET /api/v1/checks/{id}/uptime?window= and
 * GET /api/v1/checks/{id}/latency?from=&to=&step=.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/time.h"
#include "sched/sched.h"
#include "store/rollup.h"

#include <stdio.h>
#include <string.h>

#define WINDOW_DEFAULT_MS (24LL * 3600000)
#define WINDOW_MAX_MS (400LL * 86400000) /* the hours' default retention */
#define LATENCY_SPAN_DEFAULT_MS (24LL * 3600000)
/* Without a step, about this many points. */
#define LATENCY_POINTS_AUTO 300

struct rollup_ctx {
    struct http_api *api;
    struct http_request *req;
    char id[SAMPLE_CHECK_ID_MAX];
    char window[32];
    int64_t step_ms;
};

static struct rollup_ctx *ctx_new(struct http_api *api, struct http_request *req, const char *id)
{
    struct rollup_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    ctx->api = api;
    ctx->req = req;
    snprintf(ctx->id, sizeof(ctx->id), "%s", id);
    http_request_ref(req);
    return ctx;
}

static void ctx_free(struct rollup_ctx *ctx)
{
    http_request_unref(ctx->req);
    base_free(ctx);
}

/* Answers a failed query; true when status was one. */
static bool send_failure(struct rollup_ctx *ctx, int status)
{
    if (status == 0)
        return false;
    if (status == BASE_ERR_UNAVAILABLE)
        api_send_error(ctx->api, ctx->req, 503, "unavailable", "database unavailable", NULL);
    else
        api_send_error(ctx->api, ctx->req, 500, "internal", "rollup query failed", NULL);
    return true;
}

static json_t *counts_json(const struct store_rollup_summary *s, bool percentiles)
{
    json_t *lat = json_null();
    if (s->latency_count) {
        lat = percentiles ? json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "min", s->latency_min, "avg", s->latency_avg,
                                      "max", s->latency_max, "p50", s->p50, "p95", s->p95, "p99", s->p99)
                          : json_pack("{s:f, s:f, s:f}", "min", s->latency_min, "avg", s->latency_avg, "max",
                                      s->latency_max);
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:o}", "total", (json_int_t)s->total, "up", (json_int_t)s->up,
                     "degraded", (json_int_t)s->degraded, "down", (json_int_t)s->down, "latency_ms", lat);
}

/* ---- uptime ---- */

static void on_uptime(void *data, int status, const struct store_uptime_result *r)
{
    struct rollup_ctx *ctx = data;
    if (!send_failure(ctx, status)) {
        const struct store_rollup_summary *s = &r->s;
        json_t *o = counts_json(s, false);
        json_t *more = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "check", ctx->id, "window", ctx->window, "from",
                                 api_time_or_null(r->from_ms), "to", api_time_or_null(r->to_ms), "uptime",
                                 s->total ? json_real((double)(s->up + s->degraded) / (double)s->total) : json_null(),
                                 "partial", r->partial);
        if (!o || !more || json_object_update(o, more) != 0) {
            json_decref(o);
            o = NULL;
        }
        json_decref(more);
        api_send_json(ctx->api, ctx->req, 200, o);
    }
    ctx_free(ctx);
}

void api_checks_uptime(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct sched_check *c = api_check_find_or_404(api, req, p);
    if (!c)
        return;
    char window[32] = "24h";
    int64_t span = WINDOW_DEFAULT_MS;
    int has = api_query_param(api, req, "window", window, sizeof(window));
    if (has < 0)
        return;
    if (has && (base_duration_parse(window, strlen(window), &span) != 0 || span < 60000 || span > WINDOW_MAX_MS)) {
        api_send_error(api, req, 400, "invalid_parameter",
                       "'window' must be a duration from 1m to 400d (24h, 7d, 30d, 90d)", "window");
        return;
    }
    struct rollup_ctx *ctx = ctx_new(api, req, c->conf->id);
    if (!ctx)
        return;
    snprintf(ctx->window, sizeof(ctx->window), "%s", window);
    int64_t now = base_time_now_ms();
    if (store_uptime_query(api->deps.store, ctx->id, now - span, now, on_uptime, ctx) != 0) {
        api_send_error(api, req, 503, "unavailable", "uptime query could not be queued", NULL);
        ctx_free(ctx);
    }
}

/* ---- latency ---- */

static void on_latency(void *data, int status, const struct store_latency_point *pts, size_t n, bool partial)
{
    struct rollup_ctx *ctx = data;
    if (!send_failure(ctx, status)) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++) {
            json_t *o = counts_json(&pts[i].s, true);
            if (!o || json_object_set_new(o, "ts", api_time_or_null(pts[i].ts_ms)) != 0 ||
                json_array_append_new(list, o) != 0) {
                json_decref(list);
                list = NULL;
            }
        }
        api_send_json(ctx->api, ctx->req, 200,
                      list ? json_pack("{s:s, s:o, s:o, s:I, s:b, s:o}", "check", ctx->id, "from",
                                       api_time_or_null(n ? pts[0].ts_ms : 0), "to",
                                       api_time_or_null(n ? pts[n - 1].ts_ms + ctx->step_ms : 0), "step_seconds",
                                       (json_int_t)(ctx->step_ms / 1000), "partial", partial, "points", list)
                           : NULL);
    }
    ctx_free(ctx);
}

/* A step that gives about LATENCY_POINTS_AUTO points, in whole minutes
 * (or whole hours from an hour on). */
static int64_t auto_step(int64_t span)
{
    int64_t step = span / LATENCY_POINTS_AUTO;
    if (step >= STORE_ROLLUP_HOUR_MS)
        return (step + STORE_ROLLUP_HOUR_MS - 1) / STORE_ROLLUP_HOUR_MS * STORE_ROLLUP_HOUR_MS;
    return step <= STORE_ROLLUP_MINUTE_MS ? STORE_ROLLUP_MINUTE_MS
                                          : (step + STORE_ROLLUP_MINUTE_MS - 1) / STORE_ROLLUP_MINUTE_MS *
                                                STORE_ROLLUP_MINUTE_MS;
}

void api_checks_latency(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct sched_check *c = api_check_find_or_404(api, req, p);
    if (!c)
        return;
    int64_t from = 0, to = 0, step = 0;
    if (api_query_time(api, req, "from", &from) || api_query_time(api, req, "to", &to))
        return;
    if (!to)
        to = base_time_now_ms();
    if (!from)
        from = to - LATENCY_SPAN_DEFAULT_MS;
    if (from >= to) {
        api_send_error(api, req, 400, "invalid_parameter", "'from' must be before 'to'", "from");
        return;
    }
    char buf[32];
    int has = api_query_param(api, req, "step", buf, sizeof(buf));
    if (has < 0)
        return;
    if (has && (base_duration_parse(buf, strlen(buf), &step) != 0 || step < STORE_ROLLUP_MINUTE_MS ||
                step % STORE_ROLLUP_MINUTE_MS != 0)) {
        api_send_error(api, req, 400, "invalid_parameter", "'step' must be a whole number of minutes (1m, 5m, 1h...)",
                       "step");
        return;
    }
    if (!has)
        step = auto_step(to - from);
    if ((to - from) / step >= STORE_LATENCY_POINTS_MAX) {
        char msg[160];
        snprintf(msg, sizeof(msg), "'step' gives more than %d points from 'from' to 'to': take a longer step",
                 STORE_LATENCY_POINTS_MAX);
        api_send_error(api, req, 400, "invalid_parameter", msg, "step");
        return;
    }
    struct rollup_ctx *ctx = ctx_new(api, req, c->conf->id);
    if (!ctx)
        return;
    ctx->step_ms = step;
    if (store_latency_query(api->deps.store, ctx->id, from, to, step, on_latency, ctx) != 0) {
        api_send_error(api, req, 503, "unavailable", "latency query could not be queued", NULL);
        ctx_free(ctx);
    }
}
