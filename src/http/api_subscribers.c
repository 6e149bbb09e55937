/*
 * http/api_subscribers: the status page's subscribers (docs/status-page.md).
 * Operators: GET|POST /api/v1/status/subscribers, DELETE .../{id}.
 * Public: POST /api/v1/status/subscribe (incidents.subscribers.self_service:
 * a confirmation e-mail with a signed link; nothing is stored until it is
 * used, and the answer is the same whether or not the address is
 * subscribed already), GET|POST /api/v1/status/confirm/{token} and
 * /api/v1/status/unsubscribe/{token} (GET is a page with a form: mail
 * scanners fetch links; POST does it).
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "http/body.h"
#include "incidents/incidents.h"
#include "incidents/subscribers.h"
#include "notify/notify.h"
#include "objects/confs.h"
#include "store/sql.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum job_kind { JOB_LIST, JOB_ADD, JOB_DELETE, JOB_CONFIRM, JOB_UNSUBSCRIBE };

struct subs_job {
    struct http_api *api;
    struct http_request *req;
    enum job_kind kind;
    struct store_subscriber s;
    struct store_subscriber *list;
    size_t n;
};

static const struct conf *conf_of(struct http_api *api)
{
    return objects_confs_run(*api->deps.confs);
}

/* A webhook URL can carry a token: the API shows its origin only. */
static void shown_address(const struct store_subscriber *s, char *out, size_t n)
{
    if (strcmp(s->kind, "webhook") != 0) {
        snprintf(out, n, "%s", s->address);
        return;
    }
    const char *host = strstr(s->address, "://");
    const char *end = host ? strpbrk(host + 3, "/?#") : NULL;
    snprintf(out, n, "%.*s/…", end ? (int)(end - s->address) : (int)strlen(s->address), s->address);
}

static json_t *sub_json(const struct store_subscriber *s)
{
    char addr[STORE_SUBSCRIBER_ADDRESS_MAX + 8], t[40];
    shown_address(s, addr, sizeof(addr));
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", s->id, "kind", s->kind, "address", addr, "project",
                     s->project[0] ? json_string(s->project) : json_null(), "created_at",
                     base_time_format_iso8601(s->created_ms, t, sizeof(t)));
}

static int work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct subs_job *j = data;
    switch (j->kind) {
    case JOB_LIST:
        return store_subscribers_list(c, &j->list, &j->n, err, errlen);
    case JOB_ADD:
    case JOB_CONFIRM:
        return store_subscriber_add(c, &j->s, err, errlen);
    case JOB_DELETE:
    case JOB_UNSUBSCRIBE:
        return store_subscriber_delete(c, j->s.id, err, errlen);
    }
    return BASE_ERR_INVALID;
}

static void unsubscribe_link(struct http_api *api, const char *id, char *out, size_t n)
{
    char tok[SUBS_TOKEN_MAX];
    const struct conf *c = conf_of(api);
    out[0] = 0;
    if (subs_unsubscribe_token(api->deps.auth, id, tok, sizeof(tok)) == 0)
        snprintf(out, n, "%s/api/v1/status/unsubscribe/%s", c && c->server.base_url ? c->server.base_url : "", tok);
}

static void done(void *data, int status, const char *errmsg)
{
    struct subs_job *j = data;
    struct http_api *api = j->api;
    struct http_request *req = j->req;
    (void)errmsg;
    char body[2400], e1[STORE_SUBSCRIBER_ADDRESS_MAX * 6], link[SUBS_TOKEN_MAX + 600], e2[sizeof(link) * 6];
    if (j->kind == JOB_CONFIRM && (status == 0 || status == BASE_ERR_EXISTS)) {
        unsubscribe_link(api, j->s.id, link, sizeof(link));
        snprintf(body, sizeof(body),
                 "<p><b>%s</b> gets the status page's incident updates by e-mail now.</p>"
                 "<p>Each message has a link to unsubscribe; this is it too: <a href=\"%s\">unsubscribe</a>.</p>",
                 api_html_esc(j->s.address, e1, sizeof(e1)), api_html_esc(link, e2, sizeof(e2)));
        api_send_page(api, req, 200, "Subscribed", body);
    } else if (j->kind == JOB_UNSUBSCRIBE && (status == 0 || status == BASE_ERR_NOT_FOUND)) {
        api_send_page(api, req, 200, "Unsubscribed", "<p>You will get no more updates from this status page.</p>");
    } else if (j->kind == JOB_CONFIRM || j->kind == JOB_UNSUBSCRIBE) {
        api_send_page(api, req, status == BASE_ERR_TOO_BIG ? 409 : 503, "Not done",
                      status == BASE_ERR_TOO_BIG ? "<p>This status page has as many subscribers as it can take.</p>"
                                                 : "<p>opshub could not record it now: try again.</p>");
    } else if (status == BASE_ERR_NOT_FOUND) {
        api_send_error(api, req, 404, "not_found", "no subscriber has this id", NULL);
    } else if (status == BASE_ERR_TOO_BIG) {
        api_send_error(api, req, 409, "conflict", "at most 5000 subscribers", NULL);
    } else if (status != 0 && !(j->kind == JOB_ADD && status == BASE_ERR_EXISTS)) {
        api_send_store_error(api, req, 503, "the subscribers");
    } else if (j->kind == JOB_LIST) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < j->n; i++)
            json_array_append_new(arr, sub_json(&j->list[i]));
        api_send_json(api, req, 200, json_pack("{s:o}", "subscribers", arr ? arr : json_array()));
    } else if (j->kind == JOB_ADD) {
        api_send_json(api, req, status == BASE_ERR_EXISTS ? 200 : 201, sub_json(&j->s));
    } else {
        api_send(api, req, 204, NULL, NULL, NULL, 0);
    }
    http_request_unref(req);
    base_free(j->list);
    base_free(j);
}

static struct subs_job *job_new(struct http_api *api, struct http_request *req, enum job_kind kind)
{
    struct subs_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    j->api = api;
    j->req = req;
    j->kind = kind;
    return j;
}

static void submit(struct subs_job *j)
{
    http_request_ref(j->req);
    if (store_call(j->api->deps.store, work, done, j) != 0) {
        http_request_unref(j->req);
        api_send_error(j->api, j->req, 503, "unavailable", "database unavailable", NULL);
        base_free(j);
    }
}

void api_subscribers_list(void *data, struct http_request *req, const struct http_params *p)
{
    (void)p;
    struct subs_job *j = job_new(data, req, JOB_LIST);
    if (j)
        submit(j);
}

static const struct http_body_field add_fields[] = {
    {.name = "email", .type = HTTP_BODY_STRING, .min = 3, .max = 254},
    {.name = "webhook", .type = HTTP_BODY_STRING, .secret = true, .min = 8, .max = STORE_SUBSCRIBER_ADDRESS_MAX},
    {.name = "project", .type = HTTP_BODY_STRING, .nullable = true, .min = 1, .max = 63},
};

/* The subscriber of a body (email or webhook, and a project of the
 * configuration); false when an answer was sent. */
static bool sub_of(struct http_api *api, struct http_request *req, const json_t *body, struct store_subscriber *s)
{
    const char *email = http_body_str(body, "email"), *hook = http_body_str(body, "webhook"),
               *project = http_body_str(body, "project");
    if (!email == !hook) {
        api_send_error(api, req, 400, "invalid_field", "give one of email or webhook", email ? "webhook" : "email");
        return false;
    }
    snprintf(s->kind, sizeof(s->kind), "%s", email ? "email" : "webhook");
    snprintf(s->address, sizeof(s->address), "%s", email ? email : hook);
    const char *field = NULL, *why = subs_bad(s, &field);
    if (why) {
        api_send_error(api, req, 400, "invalid_field", why, field);
        return false;
    }
    if (project && !conf_project_find(conf_of(api), project)) {
        api_send_error(api, req, 400, "invalid_field", "no project has this id", "project");
        return false;
    }
    snprintf(s->project, sizeof(s->project), "%s", project ? project : "");
    return true;
}

void api_subscribers_add(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    json_t *body = api_body(api, req, add_fields, 3);
    if (!body)
        return;
    struct store_subscriber s = {0};
    bool ok = sub_of(api, req, body, &s);
    json_decref(body);
    if (!ok)
        return;
    struct subs_job *j = job_new(api, req, JOB_ADD);
    if (!j)
        return;
    j->s = s;
    subs_new_id(&j->s);
    j->s.created_ms = base_time_now_ms();
    api_set_target(req, "subscriber %s (%s)", j->s.id, j->s.kind);
    submit(j);
}

void api_subscribers_delete(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const char *id = http_params_get(p, "id");
    if (!id || strlen(id) >= STORE_SUBSCRIBER_ID_MAX) {
        api_send_error(api, req, 404, "not_found", "no subscriber has this id", NULL);
        return;
    }
    struct subs_job *j = job_new(api, req, JOB_DELETE);
    if (!j)
        return;
    snprintf(j->s.id, sizeof(j->s.id), "%s", id);
    api_set_target(req, "subscriber %s", id);
    submit(j);
}

/* ---- public: subscribe, confirm, unsubscribe ---- */

static const struct http_body_field subscribe_fields[] = {
    {.name = "email", .type = HTTP_BODY_STRING, .required = true, .min = 3, .max = 254},
    {.name = "project", .type = HTTP_BODY_STRING, .nullable = true, .min = 1, .max = 63},
};

/* The status page's form without its script (http_body_load_form). */
static json_t *form_body(struct http_api *api, struct http_request *req)
{
    json_t *o = NULL;
    struct http_body_error e;
    if (http_body_load_form(req->body, req->body_len, subscribe_fields, 2, &o, &e) != 0) {
        api_send_error(api, req, e.status ? e.status : 400, e.code, e.message, e.field[0] ? e.field : NULL);
        return NULL;
    }
    return o;
}

void api_status_subscribe(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    const struct conf_incidents *sch = api->deps.incidents ? incidents_scheme(api->deps.incidents) : NULL;
    const struct conf *c = conf_of(api);
    if (!sch || !sch->self_service || !sch->subscriber_email || !c || !c->status_page.enabled) {
        api_send_error(api, req, 404, "not_found", "this status page takes no subscriptions", NULL);
        return;
    }
    const char *ct = http_request_header(req, "Content-Type");
    bool form = ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33);
    json_t *body = form ? form_body(api, req) : api_body(api, req, subscribe_fields, 2);
    if (!body)
        return;
    struct store_subscriber s = {0};
    bool ok = sub_of(api, req, body, &s);
    json_decref(body);
    if (!ok)
        return;
    char tok[SUBS_TOKEN_MAX], link[SUBS_TOKEN_MAX + 600], text[3000], summary[300];
    if (subs_confirm_token(api->deps.auth, s.address, s.project, base_time_now_ms() + SUBS_CONFIRM_TTL_MS, tok,
                           sizeof(tok)) != 0) {
        api_send_error(api, req, 503, "unavailable", "subscriptions cannot be signed now", NULL);
        return;
    }
    snprintf(link, sizeof(link), "%s/api/v1/status/confirm/%s", c->server.base_url ? c->server.base_url : "", tok);
    snprintf(summary, sizeof(summary), "[%s] Confirm your subscription", c->status_page.title);
    snprintf(text, sizeof(text),
             "Someone (hopefully you) asked to get the incident updates of the status page \"%s\"%s%s at this "
             "address.\n\nConfirm within 48 hours: %s\n\nIf it was not you, ignore this message: nothing "
             "was subscribed.\n",
             c->status_page.title, s.project[0] ? " for " : "", s.project, link);
    struct notify_page pg = {.channel = sch->subscriber_email, .recipient = s.address, .event = "trigger",
                             .dedup_key = "subscribe", .summary = summary, .text = text};
    if (notify_page(api->deps.notify, &pg, NULL, 0) != 0) {
        api_send_error(api, req, 503, "unavailable", "the confirmation cannot be sent now: try again later", NULL);
        return;
    }
    api_set_target(req, "subscription (confirmation sent)");
    if (form)
        api_send_page(api, req, 202, "Check your inbox",
                      "<p>A confirmation link was sent to the address. Nothing is subscribed until it is used.</p>");
    else
        api_send_json(api, req, 202,
                      json_pack("{s:s}", "result", "a confirmation link was sent to the address; nothing is "
                                                   "subscribed until it is used"));
}

static bool confirm_ok(struct http_api *api, struct http_request *req, const struct http_params *p,
                       struct store_subscriber *s)
{
    int rc = subs_confirm_check(api->deps.auth, http_params_get(p, "token"), base_time_now_ms(), s);
    if (rc == BASE_ERR_TIMEOUT) {
        api_send_page(api, req, 410, "This link has expired", "<p>Subscribe again on the status page.</p>");
        return false;
    }
    if (rc != 0) {
        api_send_page(api, req, 404, "No such link", "<p>This confirmation link is not valid.</p>");
        return false;
    }
    return true;
}

void api_status_confirm_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct store_subscriber s;
    char body[1600], e1[STORE_SUBSCRIBER_ADDRESS_MAX * 6];
    if (!confirm_ok(api, req, p, &s))
        return;
    snprintf(body, sizeof(body),
             "<p>Send the status page's incident updates to <b>%s</b>?</p>"
             "<form method=\"post\"><button type=\"submit\">Subscribe</button></form>",
             api_html_esc(s.address, e1, sizeof(e1)));
    api_send_page(api, req, 200, "Confirm the subscription", body);
}

void api_status_confirm_post(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct store_subscriber s;
    if (!confirm_ok(api, req, p, &s))
        return;
    struct subs_job *j = job_new(api, req, JOB_CONFIRM);
    if (!j)
        return;
    j->s = s;
    subs_new_id(&j->s);
    j->s.created_ms = base_time_now_ms();
    api_set_target(req, "subscriber %s (e-mail, confirmed)", j->s.id);
    submit(j);
}

static bool unsubscribe_ok(struct http_api *api, struct http_request *req, const struct http_params *p, char *id,
                           size_t n)
{
    if (subs_unsubscribe_check(api->deps.auth, http_params_get(p, "token"), id, n) != 0) {
        api_send_page(api, req, 404, "No such link", "<p>This unsubscribe link is not valid.</p>");
        return false;
    }
    return true;
}

void api_status_unsubscribe_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    char id[STORE_SUBSCRIBER_ID_MAX];
    if (!unsubscribe_ok(api, req, p, id, sizeof(id)))
        return;
    api_send_page(api, req, 200, "Unsubscribe",
                  "<p>Stop the status page's incident updates?</p>"
                  "<form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>");
}

void api_status_unsubscribe_post(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    char id[STORE_SUBSCRIBER_ID_MAX];
    if (!unsubscribe_ok(api, req, p, id, sizeof(id)))
        return;
    struct subs_job *j = job_new(api, req, JOB_UNSUBSCRIBE);
    if (!j)
        return;
    snprintf(j->s.id, sizeof(j->s.id), "%s", id);
    api_set_target(req, "subscriber %s (signed link)", id);
    submit(j);
}
