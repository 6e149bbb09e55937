/*
 * http/api_checks: GET /api/v1/checks[/{id}[/samples]] and POST .../run.
 * Status comes from the scheduler's in-memory state; samples are read from
 * the store asynchronously (the request is held with a reference until the
 * store answers).
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/duration.h"
#include "base/log.h"
#include "base/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES_DEFAULT_LIMIT 100
#define SAMPLES_MAX_LIMIT 10000

static json_t *ms_or_null(double v)
{
    return v < 0 ? json_null() : json_real(v);
}

/* The older "timings" object (cumulative ms from the start, null when not
 * reached), from the phase values of the sample. */
static json_t *timings_json(const struct sample *s)
{
    double resolve = -1, connect = -1, tls = -1, processing = -1;
    double dns_ms = -1, connect_ms = -1, tls_ms = -1, ttfb_ms = -1;
    sample_value_get(s, "phase_resolve_seconds", &resolve);
    sample_value_get(s, "phase_connect_seconds", &connect);
    sample_value_get(s, "phase_tls_seconds", &tls);
    sample_value_get(s, "phase_processing_seconds", &processing);
    if (resolve >= 0)
        dns_ms = resolve * 1000;
    if (connect >= 0)
        connect_ms = (dns_ms > 0 ? dns_ms : 0) + connect * 1000;
    if (tls >= 0 && connect_ms >= 0)
        tls_ms = connect_ms + tls * 1000;
    double ready = tls_ms >= 0 ? tls_ms : connect_ms;
    if (processing >= 0 && ready >= 0)
        ttfb_ms = ready + processing * 1000;
    return json_pack("{s:o, s:o, s:o, s:o}", "dns_ms", ms_or_null(dns_ms), "connect_ms", ms_or_null(connect_ms),
                     "tls_ms", ms_or_null(tls_ms), "ttfb_ms", ms_or_null(ttfb_ms));
}

static json_t *values_json(const struct sample *s)
{
    json_t *o = json_object();
    for (uint32_t i = 0; o && i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        if (json_object_set_new(o, sample_value_name(&s->values[i]), json_real(s->values[i].value)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *api_sample_json(const struct sample *s)
{
    char ts[40];
    base_time_format_iso8601(s->ts_ms, ts, sizeof(ts));
    return json_pack("{s:s, s:I, s:s, s:f, s:i, s:s, s:o, s:o}",
                     "ts", ts, "ts_ms", (json_int_t)s->ts_ms, "result", sample_result_name(s->result),
                     "latency_ms", s->latency_ms, "code", s->code, "error", s->error,
                     "values", values_json(s), "timings", timings_json(s));
}

/* A check's last sample with its detail (the text of a JSON object the
 * probe made, kept by sched only for the last sample). */
static json_t *last_sample_json(const struct sched_check *c, const struct sample *s)
{
    json_t *o = api_sample_json(s);
    json_t *d = o && c->last_detail ? json_loads(c->last_detail, 0, NULL) : NULL;
    if (d)
        json_object_set_new(o, "detail", d);
    return o;
}

json_t *api_check_json(struct http_api *api, const struct sched_check *c)
{
    const struct conf_check *cc = c->conf;
    char interval[32], timeout[32], since[40], target[512];
    base_duration_format(cc->interval_ms, interval, sizeof(interval));
    base_duration_format(cc->timeout_ms, timeout, sizeof(timeout));
    target[0] = '\0';
    if (cc->type->target)
        cc->type->target(cc, target, sizeof(target));
    json_t *labels = json_object();
    for (size_t i = 0; labels && i < cc->n_labels; i++)
        json_object_set_new(labels, cc->labels[i].key, json_string(cc->labels[i].value));
    double uptime = sched_check_uptime_24h(c, base_time_now_ms());
    json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:i, s:b, s:o, s:s, s:o, s:i, s:o, s:o, s:s}",
                          "id", cc->id, "name", cc->name ? cc->name : cc->id,
                          "project", cc->project ? json_string(cc->project) : json_null(),
                          "type", cc->type->name, "target", target,
                          "interval", interval, "timeout", timeout, "confirm", cc->confirm,
                          "enabled", cc->enabled, "labels", labels ? labels : json_object(),
                          "status", sched_status_name(c->state.status),
                          "since", c->state.since_ms ? json_string(base_time_format_iso8601(c->state.since_ms, since, sizeof(since))) : json_null(),
                          "consecutive_failures", c->state.consecutive_failures,
                          "last_sample", c->has_last ? last_sample_json(c, &c->last) : json_null(),
                          "uptime_24h", uptime < 0 ? json_null() : json_real(uptime),
                          "source", "config");
    if (o)
        json_object_set_new(o, "paused", json_boolean(c->paused));
    const struct objects_item *it = cc->source == CONF_SOURCE_API && api->deps.objects
                                    ? objects_svc_find(api->deps.objects, &objects_kind_check, cc->id) : NULL;
    if (o && it) {
        json_object_set_new(o, "source", json_string("api"));
        json_object_set_new(o, "version", json_integer(it->version));
        json_object_set_new(o, "created_by", json_string(it->created_by));
        json_object_set_new(o, "updated_at", api_time_or_null(it->updated_at));
    }
    return o;
}

/* label=key=value, or label=key (has it). */
static bool has_label(const struct conf_check *cc, const char *key, const char *value)
{
    for (size_t i = 0; i < cc->n_labels; i++)
        if (strcmp(cc->labels[i].key, key) == 0)
            return !value || strcmp(cc->labels[i].value, value) == 0;
    return false;
}

/* q=: in the id or the name, ignoring ASCII case. */
static bool matches_text(const struct conf_check *cc, const char *q)
{
    return strcasestr(cc->id, q) || (cc->name && strcasestr(cc->name, q));
}

#define CHECKS_LIST_DEFAULT 1000
#define CHECKS_LIST_MAX 10000

/* GET /api/v1/checks?limit=&cursor=&project=&type=&status=&source= in the
 * order they run (the file's checks, then the API's). The cursor is the id
 * of the last check of the previous page. */
void api_checks_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    long limit = CHECKS_LIST_DEFAULT;
    char cursor[SAMPLE_CHECK_ID_MAX] = "", project[80] = "", type[16] = "", status[16] = "", source[16] = "";
    char label[256] = "", q[128] = "";
    if (api_query_int(api, req, "limit", 1, CHECKS_LIST_MAX, &limit) < 0 ||
        api_query_param(api, req, "cursor", cursor, sizeof(cursor)) < 0 ||
        api_query_param(api, req, "project", project, sizeof(project)) < 0 ||
        api_query_param(api, req, "type", type, sizeof(type)) < 0 ||
        api_query_param(api, req, "status", status, sizeof(status)) < 0 ||
        api_query_param(api, req, "source", source, sizeof(source)) < 0 ||
        api_query_param(api, req, "label", label, sizeof(label)) < 0 ||
        api_query_param(api, req, "q", q, sizeof(q)) < 0)
        return;
    /* label=key=value (or label=key: has the label) */
    char *label_value = strchr(label, '=');
    if (label_value)
        *label_value++ = '\0';
    if (source[0] && strcmp(source, "api") && strcmp(source, "config")) {
        api_send_error(api, req, 400, "invalid_parameter", "source must be api or config", "source");
        return;
    }
    size_t n = sched_count(api->deps.sched), start = 0;
    if (cursor[0]) {
        while (start < n && strcmp(sched_check_at(api->deps.sched, start)->conf->id, cursor) != 0)
            start++;
        if (start == n) {
            api_send_error(api, req, 400, "invalid_parameter", "cursor names no check (it was removed?)", "cursor");
            return;
        }
        start++;
    }
    json_t *list = json_array();
    const char *last = NULL;
    bool more = false;
    /* Counts by status of every check the filters (but the status one)
     * keep, over all pages: what a dashboard shows above its list. */
    uint64_t counts[SCHED_STATUS_PAUSED + 1] = {0};
    for (size_t i = 0; list && i < n; i++) {
        const struct sched_check *c = sched_check_at(api->deps.sched, i);
        const struct conf_check *cc = c->conf;
        bool from_api = cc->source == CONF_SOURCE_API;
        if ((project[0] && (!cc->project || strcmp(cc->project, project) != 0)) ||
            (type[0] && strcmp(cc->type->name, type) != 0) ||
            (source[0] && from_api != (strcmp(source, "api") == 0)) ||
            (label[0] && !has_label(cc, label, label_value)) || (q[0] && !matches_text(cc, q)))
            continue;
        if (c->state.status <= SCHED_STATUS_PAUSED)
            counts[c->state.status]++;
        if (i < start || more || (status[0] && strcmp(sched_status_name(c->state.status), status) != 0))
            continue;
        if (json_array_size(list) == (size_t)limit) {
            more = true;
            continue;
        }
        json_t *o = api_check_json(api, c);
        if (!o || json_array_append_new(list, o) != 0) {
            json_decref(list);
            list = NULL;
        }
        last = cc->id;
    }
    json_t *cj = json_object();
    for (int k = 0; cj && k <= SCHED_STATUS_PAUSED; k++)
        json_object_set_new(cj, sched_status_name((enum sched_status)k), json_integer((json_int_t)counts[k]));
    if (!list || !cj) {
        json_decref(list);
        json_decref(cj);
        api_send_json(api, req, 200, NULL);
        return;
    }
    api_send_json(api, req, 200, json_pack("{s:o, s:o, s:o}", "checks", list, "next_cursor",
                                           more && last ? json_string(last) : json_null(), "counts", cj));
}

const struct sched_check *api_check_find_or_404(struct http_api *api, struct http_request *req,
                                                const struct http_params *p)
{
    const char *id = http_params_get(p, "id");
    const struct sched_check *c = id ? sched_check_get(api->deps.sched, id) : NULL;
    if (!c) {
        char msg[200];
        snprintf(msg, sizeof(msg), "check '%.128s' not found", id ? id : "");
        api_send_error(api, req, 404, "not_found", msg, NULL);
    }
    return c;
}

void api_checks_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct sched_check *c = api_check_find_or_404(api, req, p);
    if (c)
        api_send_json(api, req, 200, api_check_json(api, c));
}

/* ---- samples ---- */

struct samples_ctx {
    struct http_api *api;
    struct http_request *req;
    char id[SAMPLE_CHECK_ID_MAX];
};

static void on_samples(void *data, int status, const struct sample_record *recs, size_t n)
{
    struct samples_ctx *ctx = data;
    struct http_request *req = ctx->req;
    /* Always answer, even to a client that left: http_response_send then
     * sends nothing but drops the server's reference. */
    if (status == BASE_ERR_UNAVAILABLE) {
        api_send_error(ctx->api, req, 503, "unavailable", "database unavailable", NULL);
    } else if (status != 0) {
        api_send_error(ctx->api, req, 500, "internal", "sample query failed", NULL);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
            if (json_array_append_new(list, api_sample_json(&recs[i].s)) != 0) {
                json_decref(list);
                list = NULL;
            }
        api_send_json(ctx->api, req, 200,
                      list ? json_pack("{s:s, s:o}", "check", ctx->id, "samples", list) : NULL);
    }
    http_request_unref(req);
    base_free(ctx);
}

void api_checks_samples(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct sched_check *c = api_check_find_or_404(api, req, p);
    if (!c)
        return;
    struct store_query q = {.check_id = c->conf->id, .limit = SAMPLES_DEFAULT_LIMIT};
    long limit = SAMPLES_DEFAULT_LIMIT;
    if (api_query_time(api, req, "from", &q.from_ms) || api_query_time(api, req, "to", &q.to_ms) ||
        api_query_int(api, req, "limit", 1, SAMPLES_MAX_LIMIT, &limit) < 0)
        return;
    q.limit = (int)limit;
    if (q.from_ms && q.to_ms && q.from_ms > q.to_ms) {
        api_send_error(api, req, 400, "invalid_parameter", "'from' is after 'to'", "from");
        return;
    }
    struct samples_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    ctx->api = api;
    ctx->req = req;
    snprintf(ctx->id, sizeof(ctx->id), "%s", c->conf->id);
    http_request_ref(req);
    if (store_samples_query(api->deps.store, &q, on_samples, ctx) != 0) {
        http_request_unref(req);
        base_free(ctx);
        api_send_error(api, req, 503, "unavailable", "sample query could not be queued", NULL);
    }
}

/* ---- run now ---- */

struct run_ctx {
    struct http_api *api;
    struct http_request *req;
};

static void on_run(void *data, int status, const struct sched_check *c, const struct sample *s)
{
    struct run_ctx *ctx = data;
    struct http_request *req = ctx->req;
    /* Always answer (see on_samples). */
    if (status == 0) {
        api_send_json(ctx->api, req, 200,
                      json_pack("{s:s, s:o, s:s}", "check", c->conf->id, "sample", last_sample_json(c, s),
                                "status", sched_status_name(c->state.status)));
    } else if (status == BASE_ERR_NOT_FOUND) {
        api_send_error(ctx->api, req, 404, "not_found", "check not found", NULL);
    } else if (status == BASE_ERR_INVALID) {
        api_send_error(ctx->api, req, 409, "paused",
                       c && c->paused ? "check is paused (POST .../resume to resume it)"
                                      : "check is disabled (enabled: false)", NULL);
    } else if (status == BASE_ERR_CANCELED) {
        api_send_error(ctx->api, req, 409, "canceled", "check was removed or changed while running", NULL);
    } else {
        api_send_error(ctx->api, req, 500, "internal", "could not start the check", NULL);
    }
    http_request_unref(req);
    base_free(ctx);
}

void api_checks_run(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct sched_check *c = api_check_find_or_404(api, req, p);
    if (!c)
        return;
    struct run_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    ctx->api = api;
    ctx->req = req;
    http_request_ref(req);
    /* The callback fires exactly once, possibly right now. */
    (void)sched_run_now(api->deps.sched, c->conf->id, on_run, ctx);
}
