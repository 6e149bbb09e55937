/*
 * http/api_tokens: /api/v1/tokens (admin) and GET /api/v1/audit (admin).
 * Both read the store on its thread (revoked tokens and the audit log are
 * not in the in-memory mirror). A created token is returned once, in the
 * 201 body, and stored only as its SHA-256; revoking reloads the mirror
 * before answering, so the token is refused from the very next request.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "store/sql.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define EXPIRES_MIN_MS (3600LL * 1000)
#define EXPIRES_MAX_MS (3650LL * 86400000)

static const char *const roles[] = {"viewer", "operator", "admin", NULL};

static const struct http_body_field create_fields[] = {
    {.name = "name", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 64},
    {.name = "role", .type = HTTP_BODY_STRING, .required = true, .one_of = roles},
    {.name = "expires", .type = HTTP_BODY_DURATION, .nullable = true, .min = EXPIRES_MIN_MS,
     .max = EXPIRES_MAX_MS},
};

json_t *api_token_json(const struct auth_token *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", t->id, "name", t->name,
                     "prefix", t->prefix, "role", auth_role_name(t->role), "created_by", t->created_by,
                     "created_at", api_time_or_null(t->created_at),
                     "expires_at", api_time_or_null(t->expires_at),
                     "last_used_at", api_time_or_null(t->last_used_at),
                     "revoked_at", api_time_or_null(t->revoked_at));
}

enum job_kind { JOB_LIST, JOB_GET, JOB_CREATE, JOB_REVOKE, JOB_AUDIT };

struct job {
    struct http_api *api;
    struct http_request *req;
    enum job_kind kind;
    struct auth_list_opts list;
    char cursor[96], role[16];
    struct auth_token token;
    char secret[AUTH_TOKEN_MAX];
    struct auth_token *tokens;
    struct auth_audit_query aq;
    char actor[AUTH_ACTOR_MAX], action[48];
    struct auth_audit *entries;
    size_t n;
    bool more;
    struct auth_audit audit;     /* create, revoke: written in the change's transaction */
    bool audited;
};

static void job_free(struct job *j)
{
    http_request_unref(j->req);
    base_free(j->tokens);
    base_free(j->entries);
    memset(j->secret, 0, sizeof(j->secret));
    base_free(j);
}

static struct job *job_new(struct http_api *api, struct http_request *req, enum job_kind kind)
{
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    j->api = api;
    j->req = req;
    j->kind = kind;
    http_request_ref(req);
    return j;
}

static int work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct job *j = data;
    int64_t now = base_time_now_ms();
    int rc;
    switch (j->kind) {
    case JOB_LIST:
        return auth_db_token_list(c, &j->list, &j->tokens, &j->n, &j->more, err, errlen);
    case JOB_GET:
        return auth_db_token_get(c, j->token.id, &j->token, err, errlen);
    case JOB_CREATE:
    case JOB_REVOKE:
        rc = store_sql_begin(c, err, errlen);
        if (rc)
            return rc;
        if (j->kind == JOB_CREATE) {
            j->token.created_at = now;
            rc = auth_db_token_insert(c, &j->token, err, errlen);
        } else {
            rc = auth_db_token_get(c, j->token.id, &j->token, err, errlen);
            if (rc == 0 && !j->token.revoked_at) /* idempotent: already revoked is fine */
                rc = auth_db_token_revoke(c, j->token.id, now, err, errlen);
        }
        if (!rc && j->audited)
            rc = auth_db_audit_append(c, &j->audit, err, errlen);
        return store_sql_end(c, rc, err, errlen);
    case JOB_AUDIT:
        return auth_db_audit_query(c, &j->aq, &j->entries, &j->n, &j->more, err, errlen);
    }
    return BASE_ERR_INVALID;
}

static json_t *audit_json(const struct auth_audit *a)
{
    char ts[40];
    return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}",
                     "id", (json_int_t)a->id, "ts", base_time_format_iso8601(a->ts, ts, sizeof(ts)),
                     "ts_ms", (json_int_t)a->ts, "actor", a->actor, "actor_kind", a->actor_kind,
                     "role", a->role, "action", a->action, "target", a->target, "result", a->result,
                     "status", a->status, "ip", a->ip, "request_id", a->request_id, "detail", a->detail);
}

static void respond_list(struct job *j)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < j->n; i++)
        json_array_append_new(list, j->kind == JOB_LIST ? api_token_json(&j->tokens[i])
                                                        : audit_json(&j->entries[i]));
    json_t *next = json_null();
    if (j->more && j->n) {
        char cur[96];
        if (j->kind == JOB_LIST)
            snprintf(cur, sizeof(cur), "%" PRId64 ":%s", j->tokens[j->n - 1].created_at, j->tokens[j->n - 1].id);
        else
            snprintf(cur, sizeof(cur), "%" PRId64, j->entries[j->n - 1].id);
        json_decref(next);
        next = json_string(cur);
    }
    if (!list) {
        json_decref(next);
        api_send_error(j->api, j->req, 500, "internal", "out of memory", NULL);
        return;
    }
    api_send_json(j->api, j->req, 200, json_pack("{s:o, s:o}", j->kind == JOB_LIST ? "tokens" : "entries",
                                                  list, "next_cursor", next));
}

static void after_reload(void *data, int status)
{
    struct job *j = data;
    (void)status;
    if (j->kind == JOB_CREATE) {
        json_t *o = api_token_json(&j->token);
        if (o)
            json_object_set_new(o, "token", json_string(j->secret));
        api_send_json(j->api, j->req, 201, o);
    } else {
        api_send(j->api, j->req, 204, NULL, NULL, "", 0);
    }
    job_free(j);
}

static void done(void *data, int status, const char *errmsg)
{
    struct job *j = data;
    if (status == 0 && j->audited)
        api_audit_committed(j->api, j->req);
    if (status && status != BASE_ERR_NOT_FOUND && status != BASE_ERR_UNAVAILABLE && status != BASE_ERR_TOO_BIG &&
        !(status == BASE_ERR_INVALID && j->kind == JOB_LIST && j->list.cursor))
        base_log_error("token/audit query failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    if (status) {
        if (status == BASE_ERR_INVALID && j->kind == JOB_LIST && j->list.cursor)
            api_send_error(j->api, j->req, 400, "invalid_parameter", "cursor is malformed", "cursor");
        else if (status == BASE_ERR_TOO_BIG && j->kind == JOB_AUDIT)
            api_send_error(j->api, j->req, 400, "invalid_parameter", "action prefix too long", "action");
        else if (status == BASE_ERR_INVALID)
            api_send_error(j->api, j->req, 500, "internal", "the query failed (see the log)", NULL);
        else
            api_send_store_error(j->api, j->req, status, j->kind == JOB_AUDIT ? "audit log" : "token");
    } else if (j->kind == JOB_LIST || j->kind == JOB_AUDIT) {
        respond_list(j);
    } else if (j->kind == JOB_GET) {
        api_send_json(j->api, j->req, 200, api_token_json(&j->token));
    } else if (!j->api->closing && auth_reload(j->api->deps.auth, after_reload, j) == 0) {
        return;
    } else {
        after_reload(j, 0);
        return;
    }
    job_free(j);
}

static void submit(struct job *j)
{
    if (j->kind == JOB_CREATE || j->kind == JOB_REVOKE)
        j->audited = api_audit_prepare(j->req, j->kind == JOB_CREATE ? 201 : 204, &j->audit);
    int rc = store_call(auth_store(j->api->deps.auth), work, done, j);
    if (rc) {
        api_send_store_error(j->api, j->req, rc, "token");
        job_free(j);
    }
}

void api_tokens_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    long limit = LIST_DEFAULT;
    char cursor[96] = "", role[16] = "", revoked[8] = "";
    enum auth_role r;
    int has_cursor, has_role, has_revoked;
    if (api_query_int(api, req, "limit", 1, LIST_MAX, &limit) < 0 ||
        (has_cursor = api_query_param(api, req, "cursor", cursor, sizeof(cursor))) < 0 ||
        (has_role = api_query_param(api, req, "role", role, sizeof(role))) < 0 ||
        (has_revoked = api_query_param(api, req, "revoked", revoked, sizeof(revoked))) < 0)
        return;
    if (has_role && !auth_role_parse(role, &r)) {
        api_send_error(api, req, 400, "invalid_parameter", "role must be one of viewer, operator, admin", "role");
        return;
    }
    if (has_revoked && strcmp(revoked, "true") && strcmp(revoked, "false")) {
        api_send_error(api, req, 400, "invalid_parameter", "revoked must be true or false", "revoked");
        return;
    }
    struct job *j = job_new(api, req, JOB_LIST);
    if (!j)
        return;
    snprintf(j->cursor, sizeof(j->cursor), "%s", cursor);
    snprintf(j->role, sizeof(j->role), "%s", role);
    j->list.cursor = has_cursor && cursor[0] ? j->cursor : NULL;
    j->list.role = has_role ? j->role : NULL;
    j->list.flag = has_revoked ? strcmp(revoked, "true") == 0 : -1;
    j->list.limit = (int)limit;
    submit(j);
}

void api_tokens_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct job *j = job_new(data, req, JOB_GET);
    if (!j)
        return;
    snprintf(j->token.id, sizeof(j->token.id), "%s", http_params_get(p, "id"));
    submit(j);
}

void api_tokens_revoke(void *data, struct http_request *req, const struct http_params *p)
{
    struct job *j = job_new(data, req, JOB_REVOKE);
    if (!j)
        return;
    snprintf(j->token.id, sizeof(j->token.id), "%s", http_params_get(p, "id"));
    api_set_target(req, "token %s", j->token.id);
    submit(j);
}

void api_tokens_create(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    json_t *body = api_body(api, req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]));
    if (!body)
        return;
    const char *name = http_body_str(body, "name");
    api_set_target(req, "token %.64s", name);
    struct job *j = job_new(api, req, JOB_CREATE);
    if (!j) {
        json_decref(body);
        return;
    }
    struct auth_token *t = &j->token;
    snprintf(t->name, sizeof(t->name), "%s", name);
    auth_role_parse(http_body_str(body, "role"), &t->role);
    int64_t expires = http_body_duration_ms(body, "expires", 0);
    json_decref(body);
    const struct auth_principal *who = &api_ctx(req)->who;
    snprintf(t->created_by, sizeof(t->created_by), "%s:%s", who->kind == AUTH_KIND_USER ? "user" : "token",
             who->name);
    if (auth_db_new_id('t', t->id, sizeof(t->id)) != 0 ||
        auth_db_token_generate(AUTH_TOKEN_PREFIX, j->secret, sizeof(j->secret), t->prefix, sizeof(t->prefix),
                               t->hash) != 0) {
        api_send_error(api, req, 500, "internal", "no randomness available", NULL);
        job_free(j);
        return;
    }
    if (expires)
        t->expires_at = base_time_now_ms() + expires;
    api_set_target(req, "token %s (%s)", t->id, t->name);
    submit(j);
}

void api_audit_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    long limit = LIST_DEFAULT, before = 0;
    struct job *j;
    struct auth_audit_query q = {0};
    char actor[AUTH_ACTOR_MAX] = "", action[48] = "";
    int has_actor, has_action;
    if (api_query_time(api, req, "from", &q.from_ms) || api_query_time(api, req, "to", &q.to_ms) ||
        api_query_int(api, req, "limit", 1, LIST_MAX, &limit) < 0 ||
        api_query_int(api, req, "cursor", 1, LONG_MAX, &before) < 0 ||
        (has_actor = api_query_param(api, req, "actor", actor, sizeof(actor))) < 0 ||
        (has_action = api_query_param(api, req, "action", action, sizeof(action))) < 0)
        return;
    if (q.from_ms && q.to_ms && q.from_ms > q.to_ms) {
        api_send_error(api, req, 400, "invalid_parameter", "'from' is after 'to'", "from");
        return;
    }
    j = job_new(api, req, JOB_AUDIT);
    if (!j)
        return;
    snprintf(j->actor, sizeof(j->actor), "%s", actor);
    snprintf(j->action, sizeof(j->action), "%s", action);
    j->aq = q;
    j->aq.actor = has_actor && actor[0] ? j->actor : NULL;
    j->aq.action = has_action && action[0] ? j->action : NULL;
    j->aq.before_id = before;
    j->aq.limit = (int)limit;
    submit(j);
}
