/*
 * http/api_contacts: GET and PUT /api/v1/users/{id}/contacts (admin): a
 * user's contact methods (auth/db.h), where incident pages reach them. The
 * PagerDuty routing key is a secret: written, never shown (only whether
 * it is set).
 */
#include "http/api_int.h"

#include "auth/db.h"
#include "base/alloc.h"
#include "base/time.h"
#include "http/body.h"
#include "store/sql.h"

#include <stdio.h>
#include <string.h>

struct contacts_job {
    struct http_api *api;
    struct http_request *req;
    bool put;
    char user_id[AUTH_ID_MAX], username[AUTH_NAME_MAX];
    struct auth_contacts c;
};

static json_t *contacts_json(const struct contacts_job *j)
{
    char t[40];
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "user", j->username, "email", j->c.email, "slack", j->c.slack,
                     "phone", j->c.phone, "pagerduty_set", j->c.pagerduty[0] != 0, "updated_at",
                     j->c.updated_at ? json_string(base_time_format_iso8601(j->c.updated_at, t, sizeof(t)))
                                     : json_null());
}

static int work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct contacts_job *j = data;
    if (j->put)
        return auth_db_contacts_put(c, j->user_id, &j->c, err, errlen);
    return auth_db_contacts_get(c, j->username, &j->c, err, errlen);
}

static void done(void *data, int status, const char *errmsg)
{
    struct contacts_job *j = data;
    (void)errmsg;
    if (status == BASE_ERR_NOT_FOUND)
        api_send_error(j->api, j->req, 404, "not_found", "user not found", NULL);
    else if (status == BASE_ERR_UNAVAILABLE)
        api_send_error(j->api, j->req, 503, "unavailable", "database unavailable", NULL);
    else if (status != 0)
        api_send_error(j->api, j->req, 500, "internal", "the contact methods could not be read or written", NULL);
    else
        api_send_json(j->api, j->req, 200, contacts_json(j));
    http_request_unref(j->req);
    explicit_bzero(j->c.pagerduty, sizeof(j->c.pagerduty));
    base_free(j);
}

static struct contacts_job *job_for(struct http_api *api, struct http_request *req, const struct http_params *p)
{
    const struct auth_user *u = api_user_or_404(api, req, p);
    if (!u)
        return NULL;
    struct contacts_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    j->api = api;
    j->req = req;
    snprintf(j->user_id, sizeof(j->user_id), "%s", u->id);
    snprintf(j->username, sizeof(j->username), "%s", u->username);
    api_set_target(req, "user %s", u->username);
    return j;
}

static void submit(struct contacts_job *j)
{
    http_request_ref(j->req);
    if (store_call(auth_store(j->api->deps.auth), work, done, j) != 0) {
        http_request_unref(j->req);
        api_send_error(j->api, j->req, 503, "unavailable", "database unavailable", NULL);
        base_free(j);
    }
}

void api_contacts_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct contacts_job *j = job_for(data, req, p);
    if (j)
        submit(j);
}

static const struct http_body_field fields[] = {
    {.name = "email", .type = HTTP_BODY_STRING, .nullable = true, .max = 254},
    {.name = "slack", .type = HTTP_BODY_STRING, .nullable = true, .max = 32},
    {.name = "phone", .type = HTTP_BODY_STRING, .nullable = true, .max = 32},
    {.name = "pagerduty", .type = HTTP_BODY_STRING, .nullable = true, .secret = true, .max = 64},
};

void api_contacts_put(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    json_t *body = api_body(api, req, fields, sizeof(fields) / sizeof(fields[0]));
    if (!body)
        return;
    struct contacts_job *j = job_for(api, req, p);
    if (!j) {
        json_decref(body);
        return;
    }
    j->put = true;
    const char *v;
    if ((v = http_body_str(body, "email")))
        snprintf(j->c.email, sizeof(j->c.email), "%s", v);
    if ((v = http_body_str(body, "slack")))
        snprintf(j->c.slack, sizeof(j->c.slack), "%s", v);
    if ((v = http_body_str(body, "phone")))
        snprintf(j->c.phone, sizeof(j->c.phone), "%s", v);
    if ((v = http_body_str(body, "pagerduty")))
        snprintf(j->c.pagerduty, sizeof(j->c.pagerduty), "%s", v);
    json_decref(body);
    j->c.updated_at = base_time_now_ms();
    const char *field = NULL, *why = auth_contacts_bad(&j->c, &field);
    if (why) {
        api_send_error(api, req, 400, "invalid_field", why, field);
        explicit_bzero(j->c.pagerduty, sizeof(j->c.pagerduty));
        base_free(j);
        return;
    }
    submit(j);
}
