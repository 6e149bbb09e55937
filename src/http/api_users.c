/*
 * http/api_users: /api/v1/users (admin). Reads come from auth/service's
 * in-memory mirror; writes hash the password on the thread pool, run one
 * transaction on the store thread (auth/db), then reload the mirror before
 * answering, so the next request already sees the change. The last enabled
 * admin cannot be disabled or demoted. Never returns a password hash.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "store/sql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define PASSWORD_MIN 12

static const char *const roles[] = {"viewer", "operator", "admin", NULL};

static const struct http_body_field create_fields[] = {
    {.name = "username", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 64},
    {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true,
     .min = PASSWORD_MIN, .max = AUTH_PASSWORD_MAX},
    {.name = "role", .type = HTTP_BODY_STRING, .required = true, .one_of = roles},
};

static const struct http_body_field patch_fields[] = {
    {.name = "role", .type = HTTP_BODY_STRING, .one_of = roles},
    {.name = "disabled", .type = HTTP_BODY_BOOL},
    {.name = "password", .type = HTTP_BODY_STRING, .secret = true, .min = PASSWORD_MIN,
     .max = AUTH_PASSWORD_MAX},
};

void api_users_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    long limit = LIST_DEFAULT;
    char cursor[AUTH_NAME_MAX] = "", role_s[16] = "", disabled_s[8] = "";
    enum auth_role role = AUTH_ROLE_PUBLIC;
    int has_role, has_disabled;
    if (api_query_int(api, req, "limit", 1, LIST_MAX, &limit) < 0 ||
        api_query_param(api, req, "cursor", cursor, sizeof(cursor)) < 0 ||
        (has_role = api_query_param(api, req, "role", role_s, sizeof(role_s))) < 0 ||
        (has_disabled = api_query_param(api, req, "disabled", disabled_s, sizeof(disabled_s))) < 0)
        return;
    if (has_role && !auth_role_parse(role_s, &role)) {
        api_send_error(api, req, 400, "invalid_parameter", "role must be one of viewer, operator, admin", "role");
        return;
    }
    int disabled = -1;
    if (has_disabled) {
        if (strcmp(disabled_s, "true") && strcmp(disabled_s, "false")) {
            api_send_error(api, req, 400, "invalid_parameter", "disabled must be true or false", "disabled");
            return;
        }
        disabled = strcmp(disabled_s, "true") == 0;
    }
    size_t n = 0;
    const struct auth_user *users = auth_users(api->deps.auth, &n);
    json_t *list = json_array();
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; list && i < n; i++) { /* the mirror is in username order */
        const struct auth_user *u = &users[i];
        if ((cursor[0] && strcmp(u->username, cursor) <= 0) || (role_s[0] && u->role != role) ||
            (disabled >= 0 && u->disabled != (disabled == 1)))
            continue;
        if (json_array_size(list) == (size_t)limit) {
            more = true;
            break;
        }
        json_array_append_new(list, api_user_json(u));
        last = u->username;
    }
    if (!list) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    api_send_json(api, req, 200, json_pack("{s:o, s:o}", "users", list,
                                           "next_cursor", more && last ? json_string(last) : json_null()));
}

const struct auth_user *api_user_or_404(struct http_api *api, struct http_request *req, const struct http_params *p)
{
    const char *id = http_params_get(p, "id");
    const struct auth_user *u = auth_user_find(api->deps.auth, id);
    if (!u)
        u = auth_user_find_name(api->deps.auth, id); /* by name too: what people type */
    if (!u)
        api_send_error(api, req, 404, "not_found", "user not found", NULL);
    return u;
}

void api_users_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct auth_user *u = api_user_or_404(api, req, p);
    if (u)
        api_send_json(api, req, 200, api_user_json(u));
}

/* ---- writes ---- */

struct user_job {
    struct http_api *api;
    struct http_request *req;
    bool create;
    struct auth_user user;       /* create: the new user; patch: id (and result) */
    bool set_role, set_disabled, set_password;
    enum auth_role role;
    bool disabled;
    char *password;              /* base_malloc'd copy until hashed, then wiped */
    size_t pwlen;
    int status;
    char conflict[160];
    struct auth_audit audit;     /* written in the change's transaction when `audited` */
    bool audited;
};

static void job_free(struct user_job *j)
{
    if (j->password) {
        memset(j->password, 0, j->pwlen);
        base_free(j->password);
    }
    memset(j->user.password_hash, 0, sizeof(j->user.password_hash));
    http_request_unref(j->req);
    base_free(j);
}

static void after_reload(void *data, int status)
{
    struct user_job *j = data;
    (void)status;
    const struct auth_user *u = auth_user_find(j->api->deps.auth, j->user.id);
    if (u)
        api_send_json(j->api, j->req, j->create ? 201 : 200, api_user_json(u));
    else
        api_send_json(j->api, j->req, j->create ? 201 : 200, api_user_json(&j->user));
    job_free(j);
}

static int admins_after(struct store_conn *c, const struct auth_user *before, const struct auth_user *after,
                        char *err, size_t errlen, int64_t *left)
{
    int64_t n = 0;
    int rc = auth_db_user_count_admins(c, &n, err, errlen);
    bool was = before->role == AUTH_ROLE_ADMIN && !before->disabled;
    bool is = after->role == AUTH_ROLE_ADMIN && !after->disabled;
    *left = n - (was && !is ? 1 : 0);
    return rc;
}

static int write_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct user_job *j = data;
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    int64_t now = base_time_now_ms();
    if (j->create) {
        j->user.created_at = j->user.updated_at = now;
        rc = auth_db_user_insert(c, &j->user, err, errlen);
    } else {
        struct auth_user u;
        rc = auth_db_user_get(c, j->user.id, &u, err, errlen);
        if (!rc) {
            struct auth_user before = u;
            if (j->set_role)
                u.role = j->role;
            if (j->set_disabled)
                u.disabled = j->disabled;
            if (j->set_password)
                snprintf(u.password_hash, sizeof(u.password_hash), "%s", j->user.password_hash);
            u.updated_at = now;
            int64_t left = 1;
            rc = admins_after(c, &before, &u, err, errlen, &left);
            if (!rc && left < 1) {
                snprintf(j->conflict, sizeof(j->conflict),
                         "'%s' is the last enabled admin: make another admin first", u.username);
                rc = BASE_ERR_BUSY;
            }
            if (!rc)
                rc = auth_db_user_update(c, &u, err, errlen);
            if (!rc && (j->set_password || (j->set_disabled && j->disabled)))
                rc = auth_db_session_revoke_user(c, u.id, now, err, errlen);
            j->user = u;
        }
    }
    if (!rc && j->audited)
        rc = auth_db_audit_append(c, &j->audit, err, errlen);
    return store_sql_end(c, rc, err, errlen);
}

static void write_done(void *data, int status, const char *errmsg)
{
    struct user_job *j = data;
    (void)errmsg;
    if (status == 0 && j->audited)
        api_audit_committed(j->api, j->req);
    if (status == BASE_ERR_BUSY) {
        api_send_error(j->api, j->req, 409, "conflict", j->conflict, NULL);
    } else if (status == BASE_ERR_EXISTS) {
        char msg[120];
        snprintf(msg, sizeof(msg), "user '%s' already exists", j->user.username);
        api_send_error(j->api, j->req, 409, "conflict", msg, "username");
    } else if (status) {
        api_send_store_error(j->api, j->req, status, "user");
    } else if (!j->api->closing && auth_reload(j->api->deps.auth, after_reload, j) == 0) {
        return;
    } else {
        api_send_json(j->api, j->req, j->create ? 201 : 200, api_user_json(&j->user));
    }
    job_free(j);
}

static void submit(struct user_job *j)
{
    j->audited = api_audit_prepare(j->req, j->create ? 201 : 200, &j->audit);
    int rc = store_call(auth_store(j->api->deps.auth), write_work, write_done, j);
    if (rc) {
        api_send_store_error(j->api, j->req, rc, "user");
        job_free(j);
    }
}

static void on_hashed(void *data, int status, const char *hash)
{
    struct user_job *j = data;
    if (status) {
        api_send_error(j->api, j->req, 500, "internal", "could not hash the password", NULL);
        job_free(j);
        return;
    }
    snprintf(j->user.password_hash, sizeof(j->user.password_hash), "%s", hash);
    submit(j);
}

static struct user_job *job_new(struct http_api *api, struct http_request *req, const char *password)
{
    struct user_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->api = api;
    j->req = req;
    if (password) {
        j->pwlen = strlen(password);
        j->password = base_malloc(j->pwlen + 1);
        if (!j->password) {
            base_free(j);
            return NULL;
        }
        memcpy(j->password, password, j->pwlen + 1);
    }
    http_request_ref(req);
    return j;
}

/* Hashes the password first when there is one, then writes. */
static void run(struct user_job *j)
{
    if (!j->password) {
        submit(j);
        return;
    }
    int rc = auth_hash_password(j->api->deps.auth, j->password, j->pwlen, on_hashed, j);
    memset(j->password, 0, j->pwlen);
    base_free(j->password);
    j->password = NULL;
    if (rc) {
        api_send_error(j->api, j->req, 500, "internal", "could not hash the password", NULL);
        job_free(j);
    }
}

void api_users_create(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    json_t *body = api_body(api, req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]));
    if (!body)
        return;
    const char *username = http_body_str(body, "username");
    const char *password = http_body_str(body, "password");
    api_set_target(req, "user %.64s", username);
    if (conf_value_username_bad(username)) {
        json_decref(body);
        api_send_error(api, req, 400, "invalid_field",
                       "username must be 1-64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter or digit",
                       "username");
        return;
    }
    if (strcmp(username, password) == 0) {
        json_decref(body);
        api_send_error(api, req, 400, "invalid_field", "password must not be the username", "password");
        return;
    }
    struct user_job *j = job_new(api, req, password);
    if (!j || auth_db_new_id('u', j->user.id, sizeof(j->user.id)) != 0) {
        json_decref(body);
        if (j)
            job_free(j);
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    j->create = true;
    snprintf(j->user.username, sizeof(j->user.username), "%s", username);
    auth_role_parse(http_body_str(body, "role"), &j->user.role);
    json_decref(body);
    run(j);
}

void api_users_patch(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const struct auth_user *u = api_user_or_404(api, req, p);
    if (!u)
        return;
    api_set_target(req, "user %s", u->username);
    json_t *body = api_body(api, req, patch_fields, sizeof(patch_fields) / sizeof(patch_fields[0]));
    if (!body)
        return;
    const char *password = http_body_str(body, "password");
    if (password && strcmp(password, u->username) == 0) {
        json_decref(body);
        api_send_error(api, req, 400, "invalid_field", "password must not be the username", "password");
        return;
    }
    struct user_job *j = job_new(api, req, password);
    if (!j) {
        json_decref(body);
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    snprintf(j->user.id, sizeof(j->user.id), "%s", u->id);
    snprintf(j->user.username, sizeof(j->user.username), "%s", u->username);
    const char *role = http_body_str(body, "role");
    j->set_role = role && auth_role_parse(role, &j->role);
    j->set_disabled = http_body_has(body, "disabled") && json_is_boolean(json_object_get(body, "disabled"));
    j->disabled = http_body_bool(body, "disabled", false);
    j->set_password = password != NULL;
    struct api_ctx *ctx = api_ctx(req);
    snprintf(ctx->detail, sizeof(ctx->detail), "%s%s%s", j->set_role ? "role " : "",
             j->set_disabled ? (j->disabled ? "disabled " : "enabled ") : "",
             j->set_password ? "password" : "");
    json_decref(body);
    run(j);
}
