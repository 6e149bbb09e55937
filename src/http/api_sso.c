/*
 * http/api_sso: single sign-on routes. GET /auth/{github,oidc}/start
 * answers 302 to the provider with the sealed state in the opshub_sso
 * cookie (Path=/auth, HttpOnly, SameSite=Lax, 10 min); GET
 * /auth/{github,oidc}/callback finishes the login (auth/sso) and answers
 * 302 to / with the browser session's cookies, or 302 to
 * /#/login?error=<code> (state, nonce, token, org, provider), clearing
 * opshub_sso either way. GET /api/v1/auth/providers lists what the login
 * page may offer. Refusals are audited (auth.sso, denied) and logged
 * without the code, state or any token; the access log has no query.
 */
#include "http/api_int.h"

#include "auth/sso.h"
#include "base/alloc.h"
#include "base/log.h"
#include "http/cookie.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define SSO_COOKIE "opshub_sso"

struct sso_req {
    struct http_api *api;
    struct http_request *req;
    enum auth_sso_provider p;
    struct auth_audit audit;
    bool audited;
};

static bool provider_of(const struct http_request *req, enum auth_sso_provider *p)
{
    if (strncmp(req->path, "/auth/github/", 13) == 0)
        *p = AUTH_SSO_GITHUB;
    else if (strncmp(req->path, "/auth/oidc/", 11) == 0)
        *p = AUTH_SSO_OIDC;
    else
        return false;
    return true;
}

/* The base URL of redirect URIs: server.base_url, else this request's
 * scheme and Host (only host[:port] characters accepted). */
static bool request_base(struct http_api *api, const struct http_request *req, char *out, size_t n)
{
    const char *host = http_request_header(req, "Host");
    if (api->deps.sso && auth_sso_base_url(api->deps.sso)) {
        snprintf(out, n, "%s", auth_sso_base_url(api->deps.sso));
        return true;
    }
    if (!host || !*host || strlen(host) > 255)
        return false;
    for (const char *c = host; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr(".-:[]", *c)))
            return false;
    snprintf(out, n, "%s://%s", req->tls ? "https" : "http", host);
    return true;
}

static void sso_cookie(struct http_api *api, const struct http_request *req, const char *value, char *hdr, size_t n)
{
    (void)!http_cookie_format(hdr, n, SSO_COOKIE, value ? value : "", "/auth", value ? AUTH_SSO_STATE_TTL_S : 0,
                              true, api_cookie_secure(api, req));
}

/* 302 to the login page with the error code; the refusal's audit row. */
static void refuse(struct http_api *api, struct http_request *req, enum auth_sso_provider p, const char *code,
                   const char *why, const char *username)
{
    char hdr[512] = "";
    struct auth_audit e;
    struct api_ctx *ctx = api_ctx(req);
    snprintf(ctx->detail, sizeof(ctx->detail), "%s: %s (%.100s)", auth_sso_id(p), code, why ? why : "");
    base_log_warn("auth: sign-on refused", BASE_LOG_STR("provider", auth_sso_id(p)), BASE_LOG_STR("code", code),
                  BASE_LOG_STR("reason", why ? why : ""), BASE_LOG_STR("remote", req->remote_addr));
    if (username)
        api_set_target(req, "user %s", username);
    ctx->audit = true;
    if (api->deps.auth && !api->closing && api_audit_prepare(req, 403, &e))
        auth_audit(api->deps.auth, &e);
    ctx->audit = false;
    snprintf(hdr, sizeof(hdr), "Location: /#/login?error=%s\r\n", code);
    sso_cookie(api, req, NULL, hdr, sizeof(hdr));
    api_send(api, req, 302, NULL, hdr, "", 0);
}

static void on_start(void *data, const char *location, const char *state_cookie, const char *code, const char *why)
{
    struct sso_req *r = data;
    if (r->api->closing) {
        api_send_error(r->api, r->req, 503, "unavailable", "opshub is stopping", NULL);
    } else if (code) {
        refuse(r->api, r->req, r->p, code, why, NULL);
    } else {
        size_t n = strlen(location) + AUTH_SSO_STATE_MAX + 256;
        char *hdr = base_malloc(n);
        if (hdr && (size_t)snprintf(hdr, n, "Location: %s\r\n", location) < n) {
            sso_cookie(r->api, r->req, state_cookie, hdr, n);
            api_send(r->api, r->req, 302, NULL, hdr, "", 0);
        } else {
            api_send_error(r->api, r->req, 500, "internal", "out of memory", NULL);
        }
        if (hdr)
            OPENSSL_cleanse(hdr, n);
        base_free(hdr);
    }
    http_request_unref(r->req);
    base_free(r);
}

static void on_done(void *data, const struct auth_login_result *lr, const char *username, const char *code,
                    const char *why)
{
    struct sso_req *r = data;
    struct http_api *api = r->api;
    struct http_request *req = r->req;
    if (!code && r->audited && r->audit.id != 0)
        api_audit_committed(api, req);
    api_ctx(req)->audit = false;
    if (api->closing) {
        api_send_error(api, req, 503, "unavailable", "opshub is stopping", NULL);
    } else if (code) {
        refuse(api, req, r->p, code, why, username);
    } else {
        char hdr[API_COOKIE_HEADERS_MAX + 256], csrf[AUTH_CSRF_TOKEN_MAX];
        if (api_cookies_set(api, req, lr, csrf, hdr, sizeof(hdr)) != 0) {
            refuse(api, req, r->p, "provider", "could not make the session cookies", username);
        } else {
            size_t used = strlen(hdr);
            snprintf(hdr + used, sizeof(hdr) - used, "Location: /\r\n");
            sso_cookie(api, req, NULL, hdr, sizeof(hdr));
            api_send(api, req, 302, NULL, hdr, "", 0);
        }
        OPENSSL_cleanse(hdr, sizeof(hdr));
    }
    http_request_unref(req);
    OPENSSL_cleanse(r, sizeof(*r));
    base_free(r);
}

static struct sso_req *sso_req_new(struct http_api *api, struct http_request *req, enum auth_sso_provider p)
{
    struct sso_req *r = base_calloc(1, sizeof(*r));
    if (!r) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    r->api = api;
    r->req = req;
    r->p = p;
    http_request_ref(req);
    return r;
}

/* The checks both routes share: configured, rate, a usable base URL. */
static bool sso_begin(struct http_api *api, struct http_request *req, enum auth_sso_provider *p, char *base,
                      size_t n)
{
    if (!provider_of(req, p) || !auth_sso_enabled(api->deps.sso, *p) || !api->deps.auth) {
        api_send_error(api, req, 404, "not_found", "this single sign-on is not configured (docs/sso.md)", NULL);
        return false;
    }
    if (!api_rate_allow(api, req))
        return false;
    if (api->closing) {
        api_send_error(api, req, 503, "unavailable", "opshub is stopping", NULL);
        return false;
    }
    if (!request_base(api, req, base, n)) {
        api_send_error(api, req, 400, "bad_request", "no usable Host header (set server.base_url)", NULL);
        return false;
    }
    return true;
}

void api_sso_start(void *data, struct http_request *req, const struct http_params *params)
{
    struct http_api *api = data;
    enum auth_sso_provider p;
    char base[AUTH_SSO_FIELD_MAX];
    (void)params;
    if (!sso_begin(api, req, &p, base, sizeof(base)))
        return;
    api_ctx(req)->action = "auth.sso"; /* a refusal's audit row */
    struct sso_req *r = sso_req_new(api, req, p);
    if (r && auth_sso_start(api->deps.sso, p, base, on_start, r) != 0) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        http_request_unref(req);
        base_free(r);
    }
}

void api_sso_callback(void *data, struct http_request *req, const struct http_params *params)
{
    struct http_api *api = data;
    enum auth_sso_provider p;
    char base[AUTH_SSO_FIELD_MAX], cookie[AUTH_SSO_STATE_MAX], state[128], code[1024];
    (void)params;
    if (!sso_begin(api, req, &p, base, sizeof(base)))
        return;
    struct api_ctx *ctx = api_ctx(req);
    ctx->action = "auth.sso";
    bool have_cookie = http_cookie_get(req, SSO_COOKIE, cookie, sizeof(cookie)) == 1;
    bool have_state = http_request_query(req, "state", state, sizeof(state));
    bool have_code = http_request_query(req, "code", code, sizeof(code));
    struct sso_req *r = sso_req_new(api, req, p);
    if (!r)
        return;
    ctx->audit = true; /* the row of the session made, written with it */
    r->audited = api_audit_prepare(req, 302, &r->audit);
    ctx->audit = false;
    int rc = auth_sso_finish(api->deps.sso, p, base, have_cookie ? cookie : NULL, have_state ? state : NULL,
                             have_code ? code : NULL, req->remote_addr, r->audited ? &r->audit : NULL, on_done, r);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    OPENSSL_cleanse(code, sizeof(code));
    if (rc != 0) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        http_request_unref(req);
        base_free(r);
    }
}

void api_auth_providers(void *data, struct http_request *req, const struct http_params *params)
{
    struct http_api *api = data;
    (void)params;
    json_t *list = json_array();
    for (int p = 0; list && p < AUTH_SSO_PROVIDERS; p++) {
        if (!auth_sso_enabled(api->deps.sso, (enum auth_sso_provider)p))
            continue;
        char start[64];
        snprintf(start, sizeof(start), "/auth/%s/start", auth_sso_id((enum auth_sso_provider)p));
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", auth_sso_id((enum auth_sso_provider)p),
                                              "name", auth_sso_display_name(api->deps.sso, (enum auth_sso_provider)p),
                                              "start", start));
    }
    api_send_json(api, req, 200, list ? json_pack("{s:b, s:o}", "password", true, "providers", list) : NULL);
}
