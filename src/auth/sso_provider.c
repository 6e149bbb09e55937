/*
 * auth/sso_provider: what one sign-on asks its provider, on the libuv
 * thread pool (see sso.h). GitHub: the code for an access token, then
 * /user, /user/orgs and /user/teams, mapped to the highest role of the
 * rules that match. OIDC: the discovery document (when not cached), the
 * code and PKCE verifier for tokens, the key set (when not cached, and
 * once more when no key fits), the ID token verified by auth/oidc.
 * Every answer is size-capped; reasons never hold a secret or a token.
 */
#include "auth/auth_int.h"

#include "auth/fetch.h"
#include "base/alloc.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ANSWER_MAX (256 * 1024)
#define LEEWAY_S 60

static void refuse(struct auth_sso_exchange *x, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct auth_sso_exchange *x, const char *code, const char *fmt, ...)
{
    va_list ap;
    x->error_code = code;
    va_start(ap, fmt);
    vsnprintf(x->why, sizeof(x->why), fmt, ap);
    va_end(ap);
}

/* One exchange whose answer must be a 200 JSON document (object or
 * array). NULL with the refusal set (code `code` for 4xx answers,
 * "provider" for the rest). */
static json_t *exchange(struct auth_sso_exchange *x, const char *step, const char *url, const char *form,
                        const char *bearer, const char *code_4xx)
{
    struct base_buf b;
    uint64_t now = uv_hrtime() / 1000000u;
    long left = x->deadline_ms > now ? (long)(x->deadline_ms - now) : 0;
    struct auth_fetch_req r = {.url = url, .form = form, .bearer = bearer,
                               .timeout_ms = left < AUTH_FETCH_TIMEOUT_MS ? left : AUTH_FETCH_TIMEOUT_MS};
    long status = 0;
    char why[160];
    if (left < 100) {
        refuse(x, "provider", "%s: the sign-on took longer than %d ms", step, AUTH_SSO_DEADLINE_MS);
        return NULL;
    }
    base_buf_init(&b, ANSWER_MAX);
    int rc = auth_fetch(&r, &b, &status, why, sizeof(why));
    json_t *j = NULL;
    if (rc) {
        x->error_code = "provider";
        snprintf(x->why, sizeof(x->why), "%s: %s", step, why);
    } else if (status != 200) {
        x->error_code = status >= 400 && status < 500 ? code_4xx : "provider";
        snprintf(x->why, sizeof(x->why), "%s: HTTP status %ld", step, status);
    } else if (!(j = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, NULL)) ||
               (!json_is_object(j) && !json_is_array(j))) {
        json_decref(j);
        j = NULL;
        x->error_code = "provider";
        snprintf(x->why, sizeof(x->why), "%s: the answer is not a JSON document", step);
    }
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    base_buf_free(&b);
    return j;
}

/* A token member of an answer, copied (false: absent or too long). */
static bool token_of(const json_t *o, const char *key, char *out, size_t n)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) >= n)
        return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return strlen(out) == json_string_length(v);
}

static int form(struct base_buf *b, const char *const *kv, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i + 1 < n; i += 2)
        if (kv[i + 1] && kv[i + 1][0])
            rc = auth_fetch_form_add(b, 0, kv[i], kv[i + 1]);
    return rc;
}

/* ---- GitHub ---- */

static bool login_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-'))
            return false;
    return n > 0 && n <= 39;
}

static bool in_orgs(const json_t *orgs, const char *org)
{
    for (size_t i = 0; i < json_array_size(orgs); i++) {
        const json_t *l = json_object_get(json_array_get(orgs, i), "login");
        if (json_is_string(l) && strcasecmp(json_string_value(l), org) == 0)
            return true;
    }
    return false;
}

static bool in_team(const json_t *teams, const char *org, const char *team)
{
    for (size_t i = 0; i < json_array_size(teams); i++) {
        const json_t *t = json_array_get(teams, i);
        const json_t *slug = json_object_get(t, "slug");
        const json_t *ol = json_object_get(json_object_get(t, "organization"), "login");
        if (json_is_string(slug) && json_is_string(ol) && strcasecmp(json_string_value(slug), team) == 0 &&
            strcasecmp(json_string_value(ol), org) == 0)
            return true;
    }
    return false;
}

/* True when a team of the user's belongs to org: /user/orgs lists only
 * public memberships to some tokens, a team shows the membership anyway. */
static bool org_via_team(const json_t *teams, const char *org)
{
    for (size_t k = 0; k < json_array_size(teams); k++) {
        const json_t *ol = json_object_get(json_object_get(json_array_get(teams, k), "organization"), "login");
        if (json_is_string(ol) && strcasecmp(json_string_value(ol), org) == 0)
            return true;
    }
    return false;
}

/* The highest role of the rules this user's organisations and teams
 * match (the order of the rules does not matter). */
static enum auth_role github_role(const struct auth_sso_opts *o, const json_t *orgs, const json_t *teams)
{
    enum auth_role best = AUTH_ROLE_PUBLIC;
    for (size_t i = 0; i < o->github.n_roles; i++) {
        const struct auth_sso_rule *r = &o->github.roles[i];
        bool hit = r->team[0] ? in_team(teams, r->org, r->team) : in_orgs(orgs, r->org) || org_via_team(teams, r->org);
        if (hit && r->role > best)
            best = r->role;
    }
    return best;
}

static void github_run(struct auth_sso_exchange *x)
{
    const struct auth_sso_opts *o = x->opts;
    char url[AUTH_SSO_URL_MAX], token[1024];
    struct base_buf body;
    json_t *tok = NULL, *user = NULL, *orgs = NULL, *teams = NULL;
    const char *kv[] = {"client_id", o->github.client_id, "client_secret", o->github.client_secret, "code", x->code,
                        "redirect_uri", x->redirect_uri};
    token[0] = '\0';
    base_buf_init(&body, 8192);
    snprintf(url, sizeof(url), "%s/login/oauth/access_token", o->github.oauth_url);
    if (form(&body, kv, 8) != 0) {
        refuse(x, "provider", "the token request is too long");
        goto out;
    }
    if (!(tok = exchange(x, "token", url, body.data, NULL, "token")))
        goto out;
    if (!token_of(tok, "access_token", token, sizeof(token))) {
        refuse(x, "token", "GitHub did not exchange the code (%s)",
               json_is_string(json_object_get(tok, "error")) ? "refused" : "no access_token");
        goto out;
    }
    snprintf(url, sizeof(url), "%s/user", o->github.api_url);
    if (!(user = exchange(x, "user", url, NULL, token, "provider")))
        goto out;
    const json_t *login = json_object_get(user, "login");
    if (!json_is_string(login) || !login_ok(json_string_value(login))) {
        refuse(x, "provider", "GitHub's /user has no valid login");
        goto out;
    }
    snprintf(url, sizeof(url), "%s/user/orgs?per_page=100", o->github.api_url);
    if (!(orgs = exchange(x, "orgs", url, NULL, token, "provider")))
        goto out;
    snprintf(url, sizeof(url), "%s/user/teams?per_page=100", o->github.api_url);
    if (!(teams = exchange(x, "teams", url, NULL, token, "provider")))
        goto out;
    /* GitHub logins are unique regardless of case, and a user may change
     * the case of theirs: one opshub user whatever the case. */
    snprintf(x->username, sizeof(x->username), "github:%s", json_string_value(login));
    for (char *c = x->username; *c; c++)
        *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
    x->role = github_role(o, json_is_array(orgs) ? orgs : NULL, json_is_array(teams) ? teams : NULL);
    if (x->role == AUTH_ROLE_PUBLIC)
        refuse(x, "org", "no organisation or team of this GitHub user is in server.auth.github.roles");
out:
    json_decref(tok);
    json_decref(user);
    json_decref(orgs);
    json_decref(teams);
    OPENSSL_cleanse(token, sizeof(token));
    if (body.data)
        OPENSSL_cleanse(body.data, body.len);
    base_buf_free(&body);
}

/* ---- OpenID Connect ---- */

static bool oidc_discover(struct auth_sso_exchange *x)
{
    if (x->disc_ok)
        return true;
    char url[AUTH_SSO_URL_MAX], why[160];
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", x->opts->oidc.issuer);
    json_t *d = exchange(x, "discovery", url, NULL, NULL, "provider");
    if (!d)
        return false;
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    int rc = text ? auth_oidc_discovery_parse(text, strlen(text), x->opts->oidc.issuer, &x->disc, why, sizeof(why))
                  : BASE_ERR_NOMEM;
    free(text);
    if (rc) {
        refuse(x, "provider", "discovery: %s", rc == BASE_ERR_NOMEM ? "out of memory" : why);
        return false;
    }
    x->disc_ok = x->disc_fetched = true;
    return true;
}

static bool fetch_jwks(struct auth_sso_exchange *x)
{
    json_t *k = exchange(x, "keys", x->disc.jwks_uri, NULL, NULL, "provider");
    if (!k)
        return false;
    char *text = json_dumps(k, JSON_COMPACT);
    json_decref(k);
    if (!text) {
        refuse(x, "provider", "keys: out of memory");
        return false;
    }
    base_free(x->jwks);
    x->jwks_len = strlen(text);
    x->jwks = base_malloc(x->jwks_len + 1);
    if (x->jwks)
        memcpy(x->jwks, text, x->jwks_len + 1);
    free(text);
    x->jwks_fetched = x->jwks != NULL;
    if (!x->jwks)
        refuse(x, "provider", "keys: out of memory");
    return x->jwks != NULL;
}

/* The user name: oidc:<preferred_username>, else <email> when verified
 * (an unverified address could be anyone's), else <sub>, the first that
 * is printable ASCII without spaces and fits. */
static bool oidc_username(struct auth_sso_exchange *x, const struct auth_oidc_identity *id)
{
    const char *cands[] = {id->preferred_username, id->email_verified ? id->email : "", id->sub};
    for (size_t i = 0; i < 3; i++) {
        const char *c = cands[i];
        bool ok = c[0] && strlen(c) + 5 < sizeof(x->username);
        for (size_t k = 0; ok && c[k]; k++)
            ok = c[k] > 0x20 && c[k] < 0x7f;
        if (ok) {
            snprintf(x->username, sizeof(x->username), "oidc:%s", c);
            return true;
        }
    }
    return false;
}

static void oidc_verify(struct auth_sso_exchange *x, const char *id_token)
{
    const struct auth_sso_opts *o = x->opts;
    struct auth_oidc_identity *id = base_calloc(1, sizeof(*id));
    struct auth_oidc_expect e = {.issuer = o->oidc.issuer, .client_id = o->oidc.client_id, .nonce = x->nonce,
                                 .role_claim = o->oidc.role_claim, .now_s = x->now_s, .leeway_s = LEEWAY_S};
    char why[160];
    if (!id) {
        refuse(x, "provider", "out of memory");
        return;
    }
    if (!x->jwks && !fetch_jwks(x))
        goto out;
    int rc = auth_oidc_id_token_verify(x->jwks, x->jwks_len, id_token, strlen(id_token), &e, id, why, sizeof(why));
    if (rc == AUTH_OIDC_ERR_NO_KEY && !x->jwks_fetched) {
        if (!fetch_jwks(x)) /* keys rotated since they were cached */
            goto out;
        rc = auth_oidc_id_token_verify(x->jwks, x->jwks_len, id_token, strlen(id_token), &e, id, why, sizeof(why));
    }
    if (rc) {
        refuse(x, rc == AUTH_OIDC_ERR_NONCE ? "nonce" : "token", "ID token: %s", why);
        goto out;
    }
    if (!oidc_username(x, id)) {
        refuse(x, "token", "the ID token names no usable user");
        goto out;
    }
    x->role = AUTH_ROLE_PUBLIC;
    for (size_t i = 0; i < o->oidc.n_roles; i++)
        for (size_t k = 0; k < id->n_roles; k++)
            if (strcmp(o->oidc.roles[i].value, id->roles[k]) == 0 && o->oidc.roles[i].role > x->role)
                x->role = o->oidc.roles[i].role;
    if (x->role == AUTH_ROLE_PUBLIC)
        x->role = o->oidc.default_role;
    if (x->role == AUTH_ROLE_PUBLIC)
        refuse(x, "org", "no value of the %.64s claim is in server.auth.oidc.roles", o->oidc.role_claim);
out:
    OPENSSL_cleanse(id, sizeof(*id));
    base_free(id);
}

static void oidc_run(struct auth_sso_exchange *x)
{
    const struct auth_sso_opts *o = x->opts;
    char id_token[AUTH_OIDC_TOKEN_MAX + 1];
    struct base_buf body;
    json_t *tok = NULL;
    if (!oidc_discover(x) || x->discovery_only)
        return;
    const char *kv[] = {"grant_type", "authorization_code", "code", x->code, "redirect_uri", x->redirect_uri,
                        "client_id", o->oidc.client_id, "client_secret", o->oidc.client_secret,
                        "code_verifier", x->verifier};
    base_buf_init(&body, 8192);
    if (form(&body, kv, 12) != 0) {
        refuse(x, "provider", "the token request is too long");
        goto out;
    }
    if (!(tok = exchange(x, "token", x->disc.token_endpoint, body.data, NULL, "token")))
        goto out;
    if (!token_of(tok, "id_token", id_token, sizeof(id_token))) {
        refuse(x, "token", "the token answer has no usable id_token");
        goto out;
    }
    oidc_verify(x, id_token);
out:
    json_decref(tok);
    OPENSSL_cleanse(id_token, sizeof(id_token));
    if (body.data)
        OPENSSL_cleanse(body.data, body.len);
    base_buf_free(&body);
}

void auth_sso_exchange_run(struct auth_sso_exchange *x)
{
    x->error_code = NULL;
    x->why[0] = '\0';
    if (x->provider == AUTH_SSO_GITHUB)
        github_run(x);
    else
        oidc_run(x);
}
