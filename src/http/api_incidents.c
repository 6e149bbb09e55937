/*
 * http/api_incidents: incidents (incidents/incidents.h): GET|POST
 * /api/v1/incidents, GET|PATCH /api/v1/incidents/{id}, POST
 * /api/v1/incidents/{id}/ack|resolve|updates, GET
 * /api/v1/incidents/{id}/timeline, GET /api/v1/incidents/{id}/postmortem.md
 * and GET /api/v1/reports/incidents. {id} is an incident's id ("i...") or
 * its number. Changes go through the incidents layer (written with their
 * timeline entries before the answer); reads come from the store.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "http/body.h"
#include "incidents/incidents.h"
#include "incidents/postmortem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKDOWN_MAX (4u * 1024 * 1024)

static bool have_incidents(struct http_api *api, struct http_request *req)
{
    if (api->deps.incidents)
        return true;
    api_send_error(api, req, 503, "unavailable", "incidents are not running", NULL);
    return false;
}

struct inc_ctx {
    struct http_api *api;
    struct http_request *req;
    int created;                      /* the status of a success: 200 or 201 */
    char ref[48];
    char kind[16];                    /* timeline, postmortem */
    json_t *doc;
    int64_t number;
    char id[STORE_INCIDENT_ID_MAX];
    char state[16];
};

static struct inc_ctx *ctx_new(struct http_api *api, struct http_request *req)
{
    struct inc_ctx *c = base_calloc(1, sizeof(*c));
    if (!c) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    c->api = api;
    c->req = req;
    c->created = 200;
    http_request_ref(req);
    return c;
}

static void finish(struct inc_ctx *c)
{
    http_request_unref(c->req);
    json_decref(c->doc);
    base_free(c);
}

/* The answer of a change. */
static void on_change(void *data, int status, const struct incident_err *err, json_t *incident)
{
    struct inc_ctx *c = data;
    if (status == 0) {
        const char *id = json_string_value(json_object_get(incident, "id"));
        api_set_target(c->req, "incident %s", id ? id : "?");
        api_send_json(c->api, c->req, c->created, json_incref(incident));
    } else if (status == BASE_ERR_INVALID) {
        api_send_error(c->api, c->req, 400, "invalid_field", err && err->message[0] ? err->message : "invalid",
                       err && err->field[0] ? err->field : NULL);
    } else if (status == BASE_ERR_NOT_FOUND) {
        api_send_error(c->api, c->req, 404, "not_found", "no incident has this id or number", NULL);
    } else if (status == BASE_ERR_EXISTS) {
        api_send_error(c->api, c->req, 409, "conflict", err && err->message[0] ? err->message : "already so", NULL);
    } else if (status == BASE_ERR_UNAVAILABLE) {
        api_send_error(c->api, c->req, 503, "unavailable", "database unavailable", NULL);
    } else {
        api_send_error(c->api, c->req, 500, "internal", "the incident could not be written", NULL);
    }
    finish(c);
}

static void queued(struct inc_ctx *c, int rc)
{
    if (rc == 0)
        return;
    if (rc == BASE_ERR_TOO_BIG)
        api_send_error(c->api, c->req, 503, "unavailable", "too many open incidents", NULL);
    else
        api_send_error(c->api, c->req, 503, "unavailable", "the change could not be queued", NULL);
    finish(c);
}

static const char *const states[] = {"INVESTIGATING", "IDENTIFIED", "MONITORING", "RESOLVED", NULL};

static const struct http_body_field follow_up_fields[] = {
    {.name = "text", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 1000},
    {.name = "owner", .type = HTTP_BODY_STRING, .nullable = true, .max = 64},
    {.name = "done", .type = HTTP_BODY_BOOL},
};
static const struct http_body_field postmortem_fields[] = {
    {.name = "summary", .type = HTTP_BODY_STRING, .multiline = true, .max = 10000},
    {.name = "impact", .type = HTTP_BODY_STRING, .multiline = true, .max = 10000},
    {.name = "root_cause", .type = HTTP_BODY_STRING, .multiline = true, .max = 10000},
    {.name = "lessons", .type = HTTP_BODY_STRING, .multiline = true, .max = 10000},
    {.name = "follow_ups", .type = HTTP_BODY_ARRAY_OF_OBJECTS, .max_items = 100, HTTP_BODY_FIELDS(follow_up_fields)},
};

#define COMMON_FIELDS(req_title)                                                                                    \
    {.name = "title", .type = HTTP_BODY_STRING, .required = (req_title), .min = 1, .max = 200},                     \
    {.name = "severity", .type = HTTP_BODY_STRING, .required = (req_title), .min = 1, .max = 32},                   \
    {.name = "state", .type = HTTP_BODY_STRING, .one_of = states},                                                   \
    {.name = "service", .type = HTTP_BODY_STRING, .nullable = true, .max = 1000},                                    \
    {.name = "impact", .type = HTTP_BODY_STRING, .nullable = true, .max = 1000},                                     \
    {.name = "eta", .type = HTTP_BODY_STRING, .nullable = true, .max = 1000},                                        \
    {.name = "commander", .type = HTTP_BODY_STRING, .nullable = true, .max = 64},                                    \
    {.name = "responders", .type = HTTP_BODY_ARRAY_OF_STRINGS, .nullable = true, .max_items = 100},                  \
    {.name = "projects", .type = HTTP_BODY_ARRAY_OF_STRINGS, .nullable = true, .max_items = 100},                    \
    {.name = "checks", .type = HTTP_BODY_ARRAY_OF_STRINGS, .nullable = true, .max_items = 100},                      \
    {.name = "components", .type = HTTP_BODY_ARRAY_OF_STRINGS, .nullable = true, .max_items = 100},                  \
    {.name = "policy", .type = HTTP_BODY_STRING, .nullable = true, .max = 64},                                       \
    {.name = "channels", .type = HTTP_BODY_ARRAY_OF_STRINGS, .nullable = true, .max_items = 100},                    \
    {.name = "text", .type = HTTP_BODY_STRING, .multiline = true, .max = 10000}

static const struct http_body_field create_fields[] = {COMMON_FIELDS(true)};
static const struct http_body_field patch_fields[] = {
    COMMON_FIELDS(false),
    {.name = "postmortem", .type = HTTP_BODY_OBJECT, HTTP_BODY_FIELDS(postmortem_fields)},
};
static const struct http_body_field resolve_fields[] = {
    {.name = "text", .type = HTTP_BODY_STRING, .multiline = true, .max = 10000},
};
static const struct http_body_field update_fields[] = {
    {.name = "text", .type = HTTP_BODY_STRING, .required = true, .multiline = true, .min = 1, .max = 10000},
    {.name = "state", .type = HTTP_BODY_STRING, .one_of = states},
};

void api_incidents_create(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!have_incidents(api, req))
        return;
    json_t *body = api_body(api, req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]));
    if (!body)
        return;
    struct inc_ctx *c = ctx_new(api, req);
    if (c) {
        c->created = 201;
        queued(c, incidents_open(api->deps.incidents, body, api_actor(req), on_change, c));
    }
    json_decref(body);
}

void api_incidents_patch(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_incidents(api, req))
        return;
    json_t *body = api_body(api, req, patch_fields, sizeof(patch_fields) / sizeof(patch_fields[0]));
    if (!body)
        return;
    api_set_target(req, "incident %.40s", http_params_get(p, "id"));
    struct inc_ctx *c = ctx_new(api, req);
    if (c)
        queued(c, incidents_patch(api->deps.incidents, http_params_get(p, "id"), body, api_actor(req), on_change, c));
    json_decref(body);
}

void api_incidents_ack(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_incidents(api, req))
        return;
    api_set_target(req, "incident %.40s", http_params_get(p, "id"));
    struct inc_ctx *c = ctx_new(api, req);
    if (c)
        queued(c, incidents_ack(api->deps.incidents, http_params_get(p, "id"), api_actor(req), "through the API",
                                on_change, c));
}

void api_incidents_resolve(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_incidents(api, req))
        return;
    json_t *body = NULL;
    if (req->body_len) {
        body = api_body(api, req, resolve_fields, 1);
        if (!body)
            return;
    }
    api_set_target(req, "incident %.40s", http_params_get(p, "id"));
    struct inc_ctx *c = ctx_new(api, req);
    if (c)
        queued(c, incidents_resolve(api->deps.incidents, http_params_get(p, "id"), http_body_str(body, "text"),
                                    api_actor(req), on_change, c));
    json_decref(body);
}

void api_incidents_post_update(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!have_incidents(api, req))
        return;
    json_t *body = api_body(api, req, update_fields, sizeof(update_fields) / sizeof(update_fields[0]));
    if (!body)
        return;
    api_set_target(req, "incident %.40s", http_params_get(p, "id"));
    struct inc_ctx *c = ctx_new(api, req);
    if (c) {
        c->created = 201;
        queued(c, incidents_post_update(api->deps.incidents, http_params_get(p, "id"), http_body_str(body, "text"),
                                        http_body_str(body, "state"), api_actor(req), on_change, c));
    }
    json_decref(body);
}

/* ---- reads ---- */

static bool store_failed(struct inc_ctx *c, int status)
{
    if (status == 0)
        return false;
    if (status == BASE_ERR_UNAVAILABLE)
        api_send_error(c->api, c->req, 503, "unavailable", "database unavailable", NULL);
    else
        api_send_error(c->api, c->req, 500, "internal", "the incidents could not be read", NULL);
    return true;
}

static json_t *row_view(struct http_api *api, const struct store_incident *r)
{
    json_t *doc = json_loads(r->doc, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    json_t *j = incident_json(r->id, r->number, doc, incidents_scheme(api->deps.incidents));
    if (j) {
        char msg[4096];
        incidents_message(api->deps.incidents, doc, NULL, msg, sizeof(msg));
        json_object_set_new(j, "message", json_string(msg));
    }
    json_decref(doc);
    return j;
}

static void on_list(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct inc_ctx *c = data;
    if (!store_failed(c, status)) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++) {
            if (!strcmp(c->state, "resolved") && strcmp(rows[i].state, "RESOLVED") != 0)
                continue;
            json_t *j = row_view(c->api, &rows[i]);
            if (j)
                json_array_append_new(list, j);
        }
        api_send_json(c->api, c->req, 200, list ? json_pack("{s:o}", "incidents", list) : NULL);
    }
    finish(c);
}

void api_incidents_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!have_incidents(api, req))
        return;
    char state[16] = "all";
    long limit = 100;
    struct store_incident_filter f = {0};
    int rc = api_query_param(api, req, "state", state, sizeof(state));
    if (rc < 0)
        return;
    if (strcmp(state, "open") && strcmp(state, "resolved") && strcmp(state, "all")) {
        api_send_error(api, req, 400, "bad_request", "state must be open, resolved or all", "state");
        return;
    }
    if (api_query_time(api, req, "from", &f.from_ms) < 0 || api_query_time(api, req, "to", &f.to_ms) < 0 ||
        api_query_int(api, req, "limit", 1, STORE_INCIDENTS_MAX, &limit) < 0)
        return;
    f.open_only = !strcmp(state, "open");
    f.limit = (int)limit;
    struct inc_ctx *c = ctx_new(api, req);
    if (!c)
        return;
    snprintf(c->state, sizeof(c->state), "%s", state);
    if (store_incidents_load(api->deps.store, &f, on_list, c) != 0) {
        api_send_error(api, req, 503, "unavailable", "database unavailable", NULL);
        finish(c);
    }
}

/* The filter of the {id} parameter: an id ("i...") or a number. */
static bool ref_filter(struct http_api *api, struct http_request *req, const char *ref,
                       struct store_incident_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->limit = 1;
    char *end;
    long long n = ref && *ref != 'i' ? strtoll(ref, &end, 10) : 0;
    if (ref && *ref != 'i' && n > 0 && !*end) {
        f->number = n;
        return true;
    }
    if (ref && *ref == 'i' && strlen(ref) < STORE_INCIDENT_ID_MAX) {
        f->id = ref;
        return true;
    }
    api_send_error(api, req, 404, "not_found", "no incident has this id or number", NULL);
    return false;
}

static void on_events(void *data, int status, const struct store_incident_event *ev, size_t n)
{
    struct inc_ctx *c = data;
    if (store_failed(c, status)) {
        finish(c);
        return;
    }
    if (!strcmp(c->kind, "timeline")) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++) {
            char ts[40];
            json_t *d = json_loads(ev[i].data, 0, NULL);
            json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "seq", (json_int_t)ev[i].id, "at",
                                                  base_time_format_iso8601(ev[i].ts_ms, ts, sizeof(ts)), "actor",
                                                  ev[i].actor, "kind", ev[i].kind, "text", ev[i].text, "data",
                                                  json_is_object(d) ? d : json_object()));
            if (!json_is_object(d))
                json_decref(d);
        }
        api_send_json(c->api, c->req, 200,
                      list ? json_pack("{s:s, s:I, s:o}", "id", c->id, "number", (json_int_t)c->number, "timeline",
                                       list)
                           : NULL);
        finish(c);
        return;
    }
    struct base_buf b;
    base_buf_init(&b, MARKDOWN_MAX);
    const struct conf_severity *lv = conf_severity_find(incidents_scheme(c->api->deps.incidents),
                                                        incident_doc_str(c->doc, "severity"));
    if (incidents_postmortem_markdown(c->number, c->doc, lv ? lv->label : incident_doc_str(c->doc, "severity"), ev,
                                      n, &b) != 0) {
        api_send_error(c->api, c->req, 500, "internal", "the postmortem could not be written", NULL);
    } else {
        char disp[120];
        snprintf(disp, sizeof(disp), "Content-Disposition: inline; filename=\"postmortem-%" PRId64 ".md\"\r\n",
                 c->number);
        api_send(c->api, c->req, 200, "text/markdown; charset=utf-8", disp, b.data ? b.data : "", b.len);
    }
    base_buf_free(&b);
    finish(c);
}

static void on_one(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct inc_ctx *c = data;
    if (store_failed(c, status)) {
        finish(c);
        return;
    }
    if (n == 0) {
        api_send_error(c->api, c->req, 404, "not_found", "no incident has this id or number", NULL);
        finish(c);
        return;
    }
    if (!c->kind[0]) {
        json_t *j = row_view(c->api, &rows[0]);
        if (j)
            api_send_json(c->api, c->req, 200, j);
        else
            api_send_error(c->api, c->req, 500, "internal", "the stored incident cannot be read", NULL);
        finish(c);
        return;
    }
    snprintf(c->id, sizeof(c->id), "%s", rows[0].id);
    c->number = rows[0].number;
    c->doc = json_loads(rows[0].doc, 0, NULL);
    if (!json_is_object(c->doc) ||
        store_incidents_load_events(c->api->deps.store, c->id, STORE_INCIDENT_EVENTS_MAX, on_events, c) != 0) {
        api_send_error(c->api, c->req, 503, "unavailable", "the timeline could not be read", NULL);
        finish(c);
    }
}

static void get_one(struct http_api *api, struct http_request *req, const struct http_params *p, const char *kind)
{
    if (!have_incidents(api, req))
        return;
    struct store_incident_filter f;
    const char *ref = http_params_get(p, "id");
    if (!ref_filter(api, req, ref, &f))
        return;
    struct inc_ctx *c = ctx_new(api, req);
    if (!c)
        return;
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    snprintf(c->ref, sizeof(c->ref), "%s", ref);
    f.id = f.id ? c->ref : NULL;
    if (store_incidents_load(api->deps.store, &f, on_one, c) != 0) {
        api_send_error(api, req, 503, "unavailable", "database unavailable", NULL);
        finish(c);
    }
}

void api_incidents_get(void *data, struct http_request *req, const struct http_params *p)
{
    get_one(data, req, p, "");
}

void api_incidents_timeline(void *data, struct http_request *req, const struct http_params *p)
{
    get_one(data, req, p, "timeline");
}

void api_incidents_postmortem(void *data, struct http_request *req, const struct http_params *p)
{
    get_one(data, req, p, "postmortem");
}

/* ---- the report ---- */

struct agg {
    char key[200];
    size_t count, open, acked, resolved, missed;
    double tta_sum, ttr_sum;
};

static struct agg *agg_for(struct agg *a, size_t *n, size_t max, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(a[i].key, key))
            return &a[i];
    if (*n >= max)
        return NULL;
    memset(&a[*n], 0, sizeof(a[*n]));
    snprintf(a[*n].key, sizeof(a[*n].key), "%s", key);
    return &a[(*n)++];
}

static void agg_add(struct agg *g, const json_t *doc)
{
    if (!g)
        return;
    int64_t created = incident_doc_int(doc, "created"), acked = incident_doc_int(doc, "acked_at"),
            resolved = incident_doc_int(doc, "resolved_at");
    g->count++;
    g->open += incident_doc_state(doc) != INCIDENT_RESOLVED;
    g->missed += json_is_true(json_object_get(doc, "ack_missed"));
    if (acked > 0) {
        g->acked++;
        g->tta_sum += (double)(acked - created) / 1000.0;
    }
    if (resolved > 0 && incident_doc_state(doc) == INCIDENT_RESOLVED) {
        g->resolved++;
        g->ttr_sum += (double)(resolved - created) / 1000.0;
    }
}

static json_t *agg_json(const struct agg *g, const char *key_name)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", key_name, g->key, "count", (json_int_t)g->count,
                     "open", (json_int_t)g->open, "acknowledged", (json_int_t)g->acked, "resolved",
                     (json_int_t)g->resolved, "ack_deadlines_missed", (json_int_t)g->missed, "mtta_seconds",
                     g->acked ? json_real(g->tta_sum / (double)g->acked) : json_null(), "mttr_seconds",
                     g->resolved ? json_real(g->ttr_sum / (double)g->resolved) : json_null());
}

struct report_ctx {
    struct http_api *api;
    struct http_request *req;
    int64_t from, to;
};

static void on_report(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct report_ctx *c = data;
    if (status != 0) {
        api_send_error(c->api, c->req, status == BASE_ERR_UNAVAILABLE ? 503 : 500,
                       status == BASE_ERR_UNAVAILABLE ? "unavailable" : "internal", "the incidents could not be read",
                       NULL);
    } else {
        enum { MAX = 1000 };
        struct agg *sev = base_calloc(MAX, sizeof(*sev)), *proj = base_calloc(MAX, sizeof(*proj));
        struct agg total = {.key = "all"};
        size_t ns = 0, np = 0;
        const struct conf_incidents *sch = incidents_scheme(c->api->deps.incidents);
        for (size_t i = 0; sev && i < sch->n_levels; i++)
            agg_for(sev, &ns, MAX, sch->levels[i].name);
        for (size_t i = 0; sev && proj && i < n; i++) {
            json_t *doc = json_loads(rows[i].doc, 0, NULL);
            if (!json_is_object(doc)) {
                json_decref(doc);
                continue;
            }
            agg_add(&total, doc);
            agg_add(agg_for(sev, &ns, MAX, rows[i].severity), doc);
            json_t *ps = json_object_get(doc, "projects");
            if (!json_array_size(ps))
                agg_add(agg_for(proj, &np, MAX, ""), doc);
            size_t k;
            json_t *pv;
            json_array_foreach(ps, k, pv) {
                agg_add(agg_for(proj, &np, MAX, json_string_value(pv) ? json_string_value(pv) : ""), doc);
            }
            json_decref(doc);
        }
        json_t *by_sev = json_array(), *by_proj = json_array();
        for (size_t i = 0; sev && by_sev && i < ns; i++)
            json_array_append_new(by_sev, agg_json(&sev[i], "severity"));
        for (size_t i = 0; proj && by_proj && i < np; i++)
            json_array_append_new(by_proj, agg_json(&proj[i], "project"));
        char f[40], t[40];
        json_t *tot = agg_json(&total, "key");
        json_object_del(tot, "key");
        api_send_json(c->api, c->req, 200,
                      sev && proj ? json_pack("{s:s, s:s, s:o, s:o, s:o}", "from",
                                              base_time_format_iso8601(c->from, f, sizeof(f)), "to",
                                              base_time_format_iso8601(c->to, t, sizeof(t)), "total", tot,
                                              "by_severity", by_sev, "by_project", by_proj)
                                  : NULL);
        if (!sev || !proj) {
            json_decref(tot);
            json_decref(by_sev);
            json_decref(by_proj);
        }
        base_free(sev);
        base_free(proj);
    }
    http_request_unref(c->req);
    base_free(c);
}

void api_reports_incidents(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!have_incidents(api, req))
        return;
    int64_t now = base_time_now_ms();
    struct store_incident_filter f = {.limit = STORE_INCIDENTS_MAX};
    if (api_query_time(api, req, "from", &f.from_ms) < 0 || api_query_time(api, req, "to", &f.to_ms) < 0)
        return;
    if (!f.to_ms)
        f.to_ms = now + 1;
    if (!f.from_ms)
        f.from_ms = f.to_ms - 30LL * 86400000;
    if (f.to_ms <= f.from_ms) {
        api_send_error(api, req, 400, "bad_request", "to must be after from", "to");
        return;
    }
    struct report_ctx *c = base_calloc(1, sizeof(*c));
    if (!c) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    c->api = api;
    c->req = req;
    c->from = f.from_ms;
    c->to = f.to_ms;
    http_request_ref(req);
    if (store_incidents_load(api->deps.store, &f, on_report, c) != 0) {
        api_send_error(api, req, 503, "unavailable", "database unavailable", NULL);
        http_request_unref(req);
        base_free(c);
    }
}

/* ---- signed acknowledgement links (/ack/TOKEN?u=WHO, public) ---- */

void api_send_page(struct http_api *api, struct http_request *req, int status, const char *title, const char *body)
{
    const char *accept = http_request_header(req, "Accept");
    if (!accept || !strstr(accept, "text/html")) {
        if (status < 300)
            api_send_json(api, req, status, json_pack("{s:s}", "result", title));
        else
            api_send_error(api, req, status,
                           status == 404   ? "not_found"
                           : status == 409 ? "conflict"
                           : status == 410 ? "gone"
                           : status == 400 ? "bad_request"
                                           : "unavailable",
                           title, NULL);
        return;
    }
    struct base_buf b;
    base_buf_init(&b, 64 * 1024);
    int rc = base_buf_appendf(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                                  "<meta name=\"viewport\" content=\"width=device-width\"><title>%s</title></head>"
                                  "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">"
                                  "<h1>%s</h1>%s</body></html>\n", title, title, body);
    if (rc == 0)
        api_send(api, req, status, "text/html; charset=utf-8", "Referrer-Policy: no-referrer\r\n", b.data, b.len);
    else
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
    base_buf_free(&b);
}

const char *api_html_esc(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 7 < n; s++) {
        const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : NULL;
        if (r) {
            memcpy(out + k, r, strlen(r));
            k += strlen(r);
        } else {
            out[k++] = *s;
        }
    }
    out[k] = 0;
    return out;
}

static bool link_ok(struct http_api *api, struct http_request *req, const struct http_params *p, char *id, size_t n,
                    char *who, size_t wn)
{
    if (!api->deps.incidents) {
        api_send_page(api, req, 503, "Incidents are not running", "<p>Try again later.</p>");
        return false;
    }
    int has = api_query_param(api, req, "u", who, wn);
    if (has < 0)
        return false;
    int rc = has ? incidents_ack_link_check(api->deps.incidents, http_params_get(p, "token"), who,
                                            base_time_now_ms(), id, n)
                 : BASE_ERR_INVALID;
    if (rc == BASE_ERR_TIMEOUT) {
        api_send_page(api, req, 410, "This link has expired", "<p>Acknowledge the incident in opshub instead.</p>");
        return false;
    }
    if (rc != 0) {
        api_send_page(api, req, 404, "No such link", "<p>This acknowledgement link is not valid.</p>");
        return false;
    }
    return true;
}

void api_ack_link_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    char id[STORE_INCIDENT_ID_MAX], who[128], e1[300], body[1200];
    if (!link_ok(api, req, p, id, sizeof(id), who, sizeof(who)))
        return;
    /* a page, not the acknowledgement: link previews and mail scanners fetch links with GET */
    snprintf(body, sizeof(body),
             "<p>Acknowledge incident <code>%s</code> as <b>%s</b>?</p>"
             "<form method=\"post\"><button type=\"submit\">Acknowledge</button></form>",
             id, api_html_esc(who, e1, sizeof(e1)));
    api_send_page(api, req, 200, "Acknowledge the incident", body);
}

struct link_ctx {
    struct http_api *api;
    struct http_request *req;
    char who[128];
};

static void on_link_ack(void *data, int status, const struct incident_err *err, json_t *incident)
{
    struct link_ctx *c = data;
    char body[1500], e1[600], e2[300];
    if (status == 0) {
        snprintf(body, sizeof(body), "<p>Incident #%lld <b>%s</b> is acknowledged by %s. Escalation stopped.</p>",
                 (long long)json_integer_value(json_object_get(incident, "number")),
                 api_html_esc(json_string_value(json_object_get(incident, "title")) ? json_string_value(json_object_get(incident, "title")) : "",
                     e1, sizeof(e1)),
                 api_html_esc(c->who, e2, sizeof(e2)));
        api_send_page(c->api, c->req, 200, "Acknowledged", body);
    } else if (status == BASE_ERR_EXISTS) {
        snprintf(body, sizeof(body), "<p>Nothing to do: %s.</p>", api_html_esc(err ? err->message : "already so", e1, sizeof(e1)));
        api_send_page(c->api, c->req, 409, "Already acknowledged", body);
    } else if (status == BASE_ERR_NOT_FOUND) {
        api_send_page(c->api, c->req, 404, "No such incident", "<p>The incident of this link does not exist.</p>");
    } else {
        api_send_page(c->api, c->req, 503, "Not acknowledged", "<p>opshub could not record it now: try again.</p>");
    }
    http_request_unref(c->req);
    base_free(c);
}

void api_ack_link_post(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    char id[STORE_INCIDENT_ID_MAX], who[128];
    if (!link_ok(api, req, p, id, sizeof(id), who, sizeof(who)))
        return;
    api_set_target(req, "incident %s by %.64s (signed link)", id, who);
    struct link_ctx *c = base_calloc(1, sizeof(*c));
    if (!c) {
        api_send_page(api, req, 500, "Not acknowledged", "<p>Out of memory.</p>");
        return;
    }
    c->api = api;
    c->req = req;
    snprintf(c->who, sizeof(c->who), "%s", who);
    http_request_ref(req);
    int rc = incidents_ack(api->deps.incidents, id, who, "through a signed link", on_link_ack, c);
    if (rc != 0) {
        http_request_unref(req);
        base_free(c);
        api_send_page(api, req, 503, "Not acknowledged", "<p>opshub could not record it now: try again.</p>");
    }
}
