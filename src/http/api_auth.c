/*
 * http/api_auth: POST /api/v1/auth/login, /test-login, /refresh, /logout
 * and GET /api/v1/auth/me, with the browser session's cookies ("cookie":
 * true: the tokens go into HttpOnly cookies instead of the body). The work is auth/service's (Argon2 on the thread
 * pool, sessions in the store); this file maps bodies to calls and results
 * to responses. A failed login gets the same 401 whatever was wrong, and a
 * locked-out one 429 with Retry-After. The audit row of a session made,
 * rotated or ended goes to the service, which writes it in the session's
 * transaction. Never echoes a password or token.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/time.h"
#include "http/cookie.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static const struct http_body_field login_fields[] = {
    {.name = "username", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 64},
    {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true, .min = 1,
     .max = AUTH_PASSWORD_MAX},
    {.name = "cookie", .type = HTTP_BODY_BOOL},
};

static const struct http_body_field test_login_fields[] = {
    {.name = "username", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 64},
    {.name = "cookie", .type = HTTP_BODY_BOOL},
};

/* refresh_token is required unless cookie is true (checked by hand). */
static const struct http_body_field refresh_fields[] = {
    {.name = "refresh_token", .type = HTTP_BODY_STRING, .secret = true, .min = 1, .max = AUTH_TOKEN_MAX},
    {.name = "cookie", .type = HTTP_BODY_BOOL},
};

struct login_req {
    struct http_api *api;
    struct http_request *req;
    struct auth_audit audit;     /* the row of the session change (api_audit_prepare) */
    bool audited;
    bool cookie;                 /* answer with the session's cookies */
};

bool api_cookie_secure(const struct http_api *api, const struct http_request *req)
{
    const char *base = api->deps.sso ? auth_sso_base_url(api->deps.sso) : NULL;
    return req->tls || (base && strncmp(base, "https://", 8) == 0);
}

int api_cookies_set(struct http_api *api, const struct http_request *req, const struct auth_login_result *r,
                    char *csrf, char *hdr, size_t n)
{
    long long age = (long long)r->refresh_expires_in_s;
    bool secure = api_cookie_secure(api, req);
    if (n)
        hdr[0] = '\0';
    int rc = auth_csrf_token(api->deps.auth, r->session_id, csrf, AUTH_CSRF_TOKEN_MAX);
    if (rc == 0)
        rc = http_cookie_format(hdr, n, API_COOKIE_SESSION, r->access_token, "/", age, true, secure);
    if (rc == 0)
        rc = http_cookie_format(hdr, n, API_COOKIE_REFRESH, r->refresh_token, "/api/v1/auth", age, true, secure);
    if (rc == 0)
        rc = http_cookie_format(hdr, n, API_COOKIE_CSRF, csrf, "/", age, false, secure);
    if (rc && n)
        OPENSSL_cleanse(hdr, n);
    return rc;
}

void api_cookies_clear(const struct http_api *api, const struct http_request *req, char *hdr, size_t n)
{
    bool secure = api_cookie_secure(api, req);
    if (n)
        hdr[0] = '\0';
    (void)!http_cookie_format(hdr, n, API_COOKIE_SESSION, "", "/", 0, true, secure);
    (void)!http_cookie_format(hdr, n, API_COOKIE_REFRESH, "", "/api/v1/auth", 0, true, secure);
    (void)!http_cookie_format(hdr, n, API_COOKIE_CSRF, "", "/", 0, false, secure);
}

/* The answer of a login or refresh by cookie: the tokens only in
 * HttpOnly cookies, the CSRF token in the body for the page's script. */
static void send_session(struct http_api *api, struct http_request *req, const struct auth_login_result *r)
{
    char hdr[API_COOKIE_HEADERS_MAX], csrf[AUTH_CSRF_TOKEN_MAX];
    if (api_cookies_set(api, req, r, csrf, hdr, sizeof(hdr)) != 0) {
        api_send_error(api, req, 500, "internal", "could not make the session cookies", NULL);
        return;
    }
    json_t *user = json_pack("{s:s, s:s, s:s, s:s}", "kind", "user", "id", r->user.id, "name", r->user.username,
                             "role", auth_role_name(r->user.role));
    json_t *body = user ? json_pack("{s:o, s:s, s:o}", "user", user, "csrf_token", csrf, "expires_at",
                                    api_time_or_null(base_time_now_ms() + r->expires_in_s * 1000))
                        : NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text)
        api_send(api, req, 200, "application/json", hdr, text, strlen(text));
    else
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
    free(text);
    OPENSSL_cleanse(hdr, sizeof(hdr));
}

/* The row to write with the session change, or NULL when none. */
static struct auth_audit *audit_prepare(struct login_req *l, int status)
{
    l->audited = api_audit_prepare(l->req, status, &l->audit);
    return l->audited ? &l->audit : NULL;
}

/* The service wrote the row with the change: no second one at the answer. */
static void audit_done(struct login_req *l, int status)
{
    if (status == 0 && l->audited && l->audit.id != 0)
        api_audit_committed(l->api, l->req);
}

json_t *api_user_json(const struct auth_user *u)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "id", u->id, "username", u->username,
                     "role", auth_role_name(u->role), "disabled", u->disabled,
                     "created_at", api_time_or_null(u->created_at),
                     "updated_at", api_time_or_null(u->updated_at),
                     "last_login_at", api_time_or_null(u->last_login_at));
}

static void on_login(void *data, int status, const struct auth_login_result *r)
{
    struct login_req *l = data;
    struct http_api *api = l->api;
    struct http_request *req = l->req;
    bool cookie = l->cookie;
    audit_done(l, status);
    base_free(l);
    if (status == 0 && cookie) {
        api_set_target(req, "user %s", r->user.username);
        send_session(api, req, r);
    } else if (status == 0) {
        api_set_target(req, "user %s", r->user.username);
        json_t *body = json_pack("{s:s, s:s, s:I, s:s, s:I, s:o}", "access_token", r->access_token,
                                 "token_type", "Bearer", "expires_in", (json_int_t)r->expires_in_s,
                                 "refresh_token", r->refresh_token,
                                 "refresh_expires_in", (json_int_t)r->refresh_expires_in_s,
                                 "user", api_user_json(&r->user));
        api_send_json(api, req, 200, body);
    } else if (status == BASE_ERR_BUSY) {
        char hdr[64], msg[128];
        snprintf(hdr, sizeof(hdr), "Retry-After: %lld\r\n", (long long)r->retry_after_s);
        snprintf(msg, sizeof(msg), "too many failed logins; try again in %lld s", (long long)r->retry_after_s);
        json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", "locked", "message", msg);
        char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        api_send(api, req, 429, "application/json", hdr, text ? text : "{}", text ? strlen(text) : 2);
        free(text);
    } else if (status == BASE_ERR_INVALID) {
        api_send_error(api, req, 401, "invalid_credentials", "invalid username, password or token", NULL);
    } else {
        api_send_store_error(api, req, status, "session");
    }
    http_request_unref(req);
}

static void start_login(struct http_api *api, struct http_request *req, bool test)
{
    json_t *body = api_body(api, req, test ? test_login_fields : login_fields, test ? 2 : 3);
    if (!body)
        return;
    const char *username = http_body_str(body, "username");
    const char *password = test ? "" : http_body_str(body, "password");
    api_set_target(req, "user %.64s", username);
    struct login_req *l = base_calloc(1, sizeof(*l));
    if (!l) {
        json_decref(body);
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    l->api = api;
    l->req = req;
    l->cookie = http_body_bool(body, "cookie", false);
    http_request_ref(req);
    int rc = auth_login(api->deps.auth, username, password, strlen(password), req->remote_addr, test,
                        audit_prepare(l, 200), on_login, l);
    json_decref(body); /* jansson frees the password copy; the service wiped its own */
    if (rc) {
        base_free(l);
        if (rc == BASE_ERR_INVALID) {
            api_send_error(api, req, 401, "invalid_credentials", "invalid username, password or token", NULL);
        } else if (rc == BASE_ERR_BUSY) {
            static const char busy[] =
                "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many logins in progress; retry in 1 s\"}}";
            api_send(api, req, 503, "application/json", "Retry-After: 1\r\n", busy, sizeof(busy) - 1);
        } else {
            api_send_store_error(api, req, rc, "session");
        }
        http_request_unref(req);
    }
}

void api_auth_login(void *data, struct http_request *req, const struct http_params *p)
{
    (void)p;
    start_login(data, req, false);
}

void api_auth_test_login(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!api->deps.allow_test_login) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no route for %s %.120s", req->method, req->path);
        api_send_error(api, req, 404, "not_found", msg, NULL);
        return;
    }
    start_login(api, req, true);
}

/* The refresh token of a refresh: the body's, or with "cookie": true
 * the opshub_refresh cookie's, after the X-CSRF-Token of its session was
 * checked. False when an answer was sent. */
static bool refresh_token_of(struct http_api *api, struct http_request *req, const json_t *body, char *tok,
                             size_t n)
{
    if (!http_body_bool(body, "cookie", false)) {
        const char *t = http_body_str(body, "refresh_token");
        if (!t) {
            api_send_error(api, req, 400, "invalid_field", "refresh_token is required (or \"cookie\": true)",
                           "refresh_token");
            return false;
        }
        snprintf(tok, n, "%s", t);
        return true;
    }
    char sid[AUTH_ID_MAX];
    int rc = http_cookie_get(req, API_COOKIE_REFRESH, tok, n);
    if (rc != 1) {
        api_send_error(api, req, 401, "invalid_credentials",
                       rc == 0 ? "no " API_COOKIE_REFRESH " cookie" : "malformed or doubled " API_COOKIE_REFRESH
                       " cookie", NULL);
        return false;
    }
    /* A token the mirror does not know cannot be tied to a session: it
     * goes on without the check, and auth_refresh refuses it (ending the
     * session it was copied from, if a rotation replaced it). */
    rc = auth_refresh_session(api->deps.auth, tok, sid, sizeof(sid));
    if (rc == 0 && !auth_csrf_verify(api->deps.auth, sid, http_request_header(req, API_CSRF_HEADER))) {
        OPENSSL_cleanse(tok, n);
        snprintf(api_ctx(req)->detail, sizeof(api_ctx(req)->detail), "csrf token missing or wrong");
        api_send_error(api, req, 403, "csrf", "a refresh by cookie needs the X-CSRF-Token header (the value "
                       "of the opshub_csrf cookie)", NULL);
        return false;
    }
    return true;
}

void api_auth_refresh(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    char tok[AUTH_TOKEN_MAX + 1];
    json_t *body = api_body(api, req, refresh_fields, 2);
    if (!body)
        return;
    bool cookie = http_body_bool(body, "cookie", false);
    bool ok = refresh_token_of(api, req, body, tok, sizeof(tok));
    json_decref(body);
    if (!ok)
        return;
    struct login_req *l = base_calloc(1, sizeof(*l));
    if (!l) {
        OPENSSL_cleanse(tok, sizeof(tok));
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    l->api = api;
    l->req = req;
    l->cookie = cookie;
    http_request_ref(req);
    int rc = auth_refresh(api->deps.auth, tok, req->remote_addr, audit_prepare(l, 200), on_login, l);
    OPENSSL_cleanse(tok, sizeof(tok));
    if (rc) {
        base_free(l);
        if (rc == BASE_ERR_INVALID)
            api_send_error(api, req, 401, "invalid_credentials", "invalid or expired refresh token", NULL);
        else
            api_send_store_error(api, req, rc, "session");
        http_request_unref(req);
    }
}

static void on_logout(void *data, int status)
{
    struct login_req *l = data;
    audit_done(l, status);
    char hdr[512] = "";
    if (l->cookie)
        api_cookies_clear(l->api, l->req, hdr, sizeof(hdr));
    if (status)
        api_send_store_error(l->api, l->req, status, "session");
    else
        api_send(l->api, l->req, 204, NULL, hdr, "", 0);
    http_request_unref(l->req);
    base_free(l);
}

void api_auth_logout(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    struct api_ctx *ctx = api_ctx(req);
    api_set_target(req, "%s %s", ctx->who.kind == AUTH_KIND_USER ? "session" : "token",
                   ctx->who.kind == AUTH_KIND_USER ? ctx->who.session_id : ctx->who.id);
    struct login_req *l = base_calloc(1, sizeof(*l));
    if (!l) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    l->api = api;
    l->req = req;
    l->cookie = ctx->cookie_auth;
    http_request_ref(req);
    int rc = auth_logout(api->deps.auth, &ctx->who, audit_prepare(l, 204), on_logout, l);
    if (rc) {
        base_free(l);
        api_send_store_error(api, req, rc, "session");
        http_request_unref(req);
    }
}

void api_auth_me(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    const struct auth_principal *w = &api_ctx(req)->who;
    api_send_json(api, req, 200,
                  json_pack("{s:s, s:s, s:s, s:s}", "kind", w->kind == AUTH_KIND_USER ? "user" : "token",
                            "id", w->id, "name", w->name, "role", auth_role_name(w->role)));
}
