/*
 * auth/sso: the loop side of single sign-on (see sso.h): options, the
 * sealed state cookie, authorization URLs, the jobs that run a provider
 * exchange on the thread pool, the OIDC discovery and key caches, and the
 * session made for the user at the end.
 */
#include "auth/auth_int.h"

#include "auth/fetch.h"
#include "base/alloc.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define SSO_AUDIENCE "opshub-sso"
#define CACHE_MS (10 * 60 * 1000)

struct auth_sso {
    uv_loop_t *loop;
    struct auth *auth;
    struct auth_sso_opts opts;
    int refs;                     /* the object itself and each job */
    bool closing;
    int jobs;
    struct auth_oidc_discovery disc;
    int64_t disc_at;              /* 0: none cached */
    char *jwks;                   /* cached key set (base_malloc), or NULL */
    size_t jwks_len;
    int64_t jwks_at;
};

struct sso_job {
    uv_work_t work;
    struct auth_sso *s;
    struct auth_sso_exchange x;
    char base[AUTH_SSO_FIELD_MAX];
    char ip[AUTH_IP_MAX];
    char state[64];
    struct auth_audit audit;
    struct auth_audit *audit_out;
    auth_sso_start_cb start_cb;   /* a start waiting for discovery, or */
    auth_sso_done_cb done_cb;     /* a finish */
    void *data;
};

static const char *const ids[AUTH_SSO_PROVIDERS] = {"github", "oidc"};

const char *auth_sso_id(enum auth_sso_provider p)
{
    return p < AUTH_SSO_PROVIDERS ? ids[p] : "";
}

struct auth_sso *auth_sso_new(uv_loop_t *loop, struct auth *a, const struct auth_sso_opts *o)
{
    struct auth_sso *s = base_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->auth = a;
    s->opts = *o;
    s->refs = 1;
    if (!s->opts.github.api_url[0])
        snprintf(s->opts.github.api_url, sizeof(s->opts.github.api_url), "https://api.github.com");
    if (!s->opts.github.oauth_url[0])
        snprintf(s->opts.github.oauth_url, sizeof(s->opts.github.oauth_url), "https://github.com");
    if (!s->opts.oidc.name[0])
        snprintf(s->opts.oidc.name, sizeof(s->opts.oidc.name), "OpenID Connect");
    if (!s->opts.oidc.scopes[0])
        snprintf(s->opts.oidc.scopes, sizeof(s->opts.oidc.scopes), "openid email profile");
    if (!s->opts.oidc.role_claim[0])
        snprintf(s->opts.oidc.role_claim, sizeof(s->opts.oidc.role_claim), "groups");
    return s;
}

static void release(struct auth_sso *s)
{
    if (--s->refs > 0)
        return;
    base_free(s->jwks);
    OPENSSL_cleanse(s, sizeof(*s));
    base_free(s);
}

void auth_sso_shutdown(struct auth_sso *s)
{
    if (s)
        s->closing = true;
}

void auth_sso_destroy(struct auth_sso *s)
{
    if (!s)
        return;
    s->closing = true;
    release(s);
}

bool auth_sso_enabled(const struct auth_sso *s, enum auth_sso_provider p)
{
    return s && (p == AUTH_SSO_GITHUB ? s->opts.github.enabled : p == AUTH_SSO_OIDC && s->opts.oidc.enabled);
}

const char *auth_sso_display_name(const struct auth_sso *s, enum auth_sso_provider p)
{
    return p == AUTH_SSO_GITHUB ? "GitHub" : s->opts.oidc.name;
}

const char *auth_sso_base_url(const struct auth_sso *s)
{
    return s->opts.base_url[0] ? s->opts.base_url : NULL;
}

int auth_sso_redirect_uri(const struct auth_sso *s, enum auth_sso_provider p, const char *base, char *out, size_t n)
{
    const char *b = s->opts.base_url[0] ? s->opts.base_url : base;
    size_t len = strlen(b);
    while (len && b[len - 1] == '/')
        len--;
    int w = snprintf(out, n, "%.*s/auth/%s/callback", (int)len, b, auth_sso_id(p));
    return w < 0 || (size_t)w >= n ? BASE_ERR_TOO_BIG : 0;
}

/* 32 random bytes, base64url (43 characters). */
static int random_text(char *out, size_t n)
{
    unsigned char r[32];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return BASE_ERR_IO;
    int rc = auth_jwt_base64url_encode(r, sizeof(r), out, n);
    OPENSSL_cleanse(r, sizeof(r));
    return rc < 0 ? rc : 0;
}

/* The cookie: an HS256 JWT, audience "opshub-sso": sub = state, jti =
 * nonce, iss = PKCE verifier, role = provider id, exp = now + 10 min. */
static int state_seal(struct auth_sso *s, enum auth_sso_provider p, const struct sso_job *j, char *out, size_t n)
{
    struct auth_jwt_claims c;
    int64_t now = auth_now_ms() / 1000;
    memset(&c, 0, sizeof(c));
    snprintf(c.sub, sizeof(c.sub), "%s", j->state);
    snprintf(c.jti, sizeof(c.jti), "%s", j->x.nonce);
    snprintf(c.iss, sizeof(c.iss), "%s", j->x.verifier);
    snprintf(c.role, sizeof(c.role), "%s", auth_sso_id(p));
    snprintf(c.aud, sizeof(c.aud), "%s", SSO_AUDIENCE);
    c.iat = now;
    c.exp = now + AUTH_SSO_STATE_TTL_S;
    int rc = auth_jwt_sign(&s->auth->key, &c, out, n);
    OPENSSL_cleanse(&c, sizeof(c));
    return rc;
}

/* Opens the cookie into j (nonce, verifier) when it is this provider's,
 * unexpired, and its state is `state`. */
static bool state_open(struct auth_sso *s, enum auth_sso_provider p, const char *cookie, const char *state,
                       struct sso_job *j)
{
    struct auth_jwt_claims c;
    bool ok = false;
    if (!cookie || !state || !*state)
        return false;
    int rc = auth_jwt_verify(&s->auth->key, cookie, strlen(cookie), auth_now_ms() / 1000, SSO_AUDIENCE, 0, &c, NULL, 0);
    size_t sl = strlen(state);
    if (rc == 0 && strcmp(c.role, auth_sso_id(p)) == 0 && strlen(c.sub) == sl &&
        CRYPTO_memcmp(c.sub, state, sl) == 0 && strlen(c.jti) < sizeof(j->x.nonce) &&
        strlen(c.iss) < sizeof(j->x.verifier)) {
        memcpy(j->x.nonce, c.jti, strlen(c.jti) + 1); /* lengths checked above */
        memcpy(j->x.verifier, c.iss, strlen(c.iss) + 1);
        ok = true;
    }
    OPENSSL_cleanse(&c, sizeof(c));
    return ok;
}

static struct sso_job *job_new(struct auth_sso *s, enum auth_sso_provider p, const char *base)
{
    struct sso_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->s = s;
    j->work.data = j;
    j->x.provider = p;
    j->x.opts = &s->opts;
    snprintf(j->base, sizeof(j->base), "%s", base ? base : "");
    s->refs++;
    return j;
}

static void job_free(struct sso_job *j)
{
    struct auth_sso *s = j->s;
    base_free(j->x.jwks);
    OPENSSL_cleanse(j, sizeof(*j));
    base_free(j);
    release(s);
}

/* The provider's authorization URL for j into out. */
static int authorize_url(struct auth_sso *s, struct sso_job *j, char *out, size_t n)
{
    struct base_buf b;
    char challenge[64];
    int rc = 0;
    base_buf_init(&b, n - 1);
    if (j->x.provider == AUTH_SSO_GITHUB) {
        rc = base_buf_appendf(&b, "%s/login/oauth/authorize", s->opts.github.oauth_url);
        rc = rc ? rc : auth_fetch_form_add(&b, '?', "client_id", s->opts.github.client_id);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "redirect_uri", j->x.redirect_uri);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "scope", "read:org");
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "state", j->state);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "allow_signup", "false");
    } else {
        const char *ep = j->x.disc.authorization_endpoint;
        rc = auth_oidc_pkce_challenge(j->x.verifier, challenge, sizeof(challenge));
        rc = rc ? rc : base_buf_append_str(&b, ep);
        rc = rc ? rc : auth_fetch_form_add(&b, strchr(ep, '?') ? '&' : '?', "response_type", "code");
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "client_id", s->opts.oidc.client_id);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "redirect_uri", j->x.redirect_uri);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "scope", s->opts.oidc.scopes);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "state", j->state);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "nonce", j->x.nonce);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "code_challenge", challenge);
        rc = rc ? rc : auth_fetch_form_add(&b, '&', "code_challenge_method", "S256");
    }
    if (rc == 0)
        snprintf(out, n, "%s", b.data);
    base_buf_free(&b);
    return rc;
}

/* A start whose discovery document is known: seal, build, answer. */
static void start_answer(struct sso_job *j)
{
    char *url = base_malloc(AUTH_SSO_URL_MAX), cookie[AUTH_SSO_STATE_MAX];
    if (!url || state_seal(j->s, j->x.provider, j, cookie, sizeof(cookie)) != 0 ||
        authorize_url(j->s, j, url, AUTH_SSO_URL_MAX) != 0)
        j->start_cb(j->data, NULL, NULL, "provider", "the authorization request does not fit");
    else
        j->start_cb(j->data, url, cookie, NULL, NULL);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    base_free(url);
}

/* Copies the caches into a job (a fresh copy of the key set: the job owns it). */
static void cache_give(struct auth_sso *s, struct sso_job *j)
{
    int64_t now = auth_now_ms();
    if (s->disc_at && now - s->disc_at < CACHE_MS) {
        j->x.disc = s->disc;
        j->x.disc_ok = true;
    }
    if (j->x.disc_ok && s->jwks && now - s->jwks_at < CACHE_MS && (j->x.jwks = base_malloc(s->jwks_len + 1))) {
        memcpy(j->x.jwks, s->jwks, s->jwks_len + 1);
        j->x.jwks_len = s->jwks_len;
    }
}

/* Keeps what a job fetched. */
static void cache_take(struct auth_sso *s, struct sso_job *j)
{
    int64_t now = auth_now_ms();
    if (j->x.disc_fetched) {
        s->disc = j->x.disc;
        s->disc_at = now;
    }
    if (j->x.jwks_fetched && j->x.jwks) {
        base_free(s->jwks);
        s->jwks = j->x.jwks;
        s->jwks_len = j->x.jwks_len;
        s->jwks_at = now;
        j->x.jwks = NULL;
    }
}

static void work_run(uv_work_t *w)
{
    struct sso_job *j = w->data;
    auth_sso_exchange_run(&j->x);
}

static void on_session(void *data, int status, const struct auth_login_result *r)
{
    struct sso_job *j = data;
    if (status == 0 && j->audit_out)
        j->audit_out->id = j->audit.id;
    if (status == 0)
        j->done_cb(j->data, r, j->x.username, NULL, NULL);
    else if (status == BASE_ERR_EXISTS)
        j->done_cb(j->data, NULL, j->x.username, "org", "a local or disabled user has this name");
    else
        j->done_cb(j->data, NULL, j->x.username, "provider", base_strerror(status));
    job_free(j);
}

static void work_after(uv_work_t *w, int status)
{
    struct sso_job *j = w->data;
    struct auth_sso *s = j->s;
    s->jobs--;
    if (s->closing || status == UV_ECANCELED) {
        if (j->start_cb)
            j->start_cb(j->data, NULL, NULL, "provider", "opshub is stopping");
        else
            j->done_cb(j->data, NULL, NULL, "provider", "opshub is stopping");
        job_free(j);
        return;
    }
    cache_take(s, j);
    if (j->x.error_code) {
        if (j->start_cb)
            j->start_cb(j->data, NULL, NULL, j->x.error_code, j->x.why);
        else
            j->done_cb(j->data, NULL, j->x.username[0] ? j->x.username : NULL, j->x.error_code, j->x.why);
        job_free(j);
        return;
    }
    if (j->start_cb) {
        start_answer(j);
        job_free(j);
        return;
    }
    int rc = auth_login_sso(s->auth, j->x.username, j->x.role, j->ip, j->audit_out ? &j->audit : NULL, on_session, j);
    if (rc) {
        j->done_cb(j->data, NULL, j->x.username, "provider", base_strerror(rc));
        job_free(j);
    }
}

/* Queues j on the pool; false (j freed, nothing called) when it cannot. */
static bool job_queue(struct sso_job *j)
{
    struct auth_sso *s = j->s;
    j->x.deadline_ms = uv_hrtime() / 1000000u + AUTH_SSO_DEADLINE_MS;
    if (s->jobs >= AUTH_SSO_JOBS_MAX || uv_queue_work(s->loop, &j->work, work_run, work_after) != 0)
        return false;
    s->jobs++;
    return true;
}

int auth_sso_start(struct auth_sso *s, enum auth_sso_provider p, const char *base, auth_sso_start_cb cb, void *data)
{
    if (!auth_sso_enabled(s, p) || s->closing) {
        cb(data, NULL, NULL, "provider", "this sign-on is not configured");
        return 0;
    }
    struct sso_job *j = job_new(s, p, base);
    if (!j)
        return BASE_ERR_NOMEM;
    j->start_cb = cb;
    j->data = data;
    j->x.discovery_only = true;
    if (random_text(j->state, sizeof(j->state)) || random_text(j->x.nonce, sizeof(j->x.nonce)) ||
        random_text(j->x.verifier, sizeof(j->x.verifier)) ||
        auth_sso_redirect_uri(s, p, base, j->x.redirect_uri, sizeof(j->x.redirect_uri))) {
        cb(data, NULL, NULL, "provider", "cannot make the login's random values");
        job_free(j);
        return 0;
    }
    if (p == AUTH_SSO_OIDC)
        cache_give(s, j);
    if (p == AUTH_SSO_GITHUB || j->x.disc_ok) {
        start_answer(j);
        job_free(j);
        return 0;
    }
    if (!job_queue(j)) {
        cb(data, NULL, NULL, "provider", "too many sign-ons in progress; try again");
        job_free(j);
    }
    return 0;
}

int auth_sso_finish(struct auth_sso *s, enum auth_sso_provider p, const char *base, const char *state_cookie,
                    const char *state, const char *code, const char *ip, struct auth_audit *audit,
                    auth_sso_done_cb cb, void *data)
{
    if (!auth_sso_enabled(s, p) || s->closing) {
        cb(data, NULL, NULL, "provider", "this sign-on is not configured");
        return 0;
    }
    struct sso_job *j = job_new(s, p, base);
    if (!j)
        return BASE_ERR_NOMEM;
    j->done_cb = cb;
    j->data = data;
    snprintf(j->ip, sizeof(j->ip), "%s", ip ? ip : "");
    if (!state_open(s, p, state_cookie, state, j)) {
        cb(data, NULL, NULL, "state", "the state is missing, forged, of another login or expired");
    } else if (!code || !*code || strlen(code) >= sizeof(j->x.code)) {
        cb(data, NULL, NULL, "provider", "the provider sent no code (the user declined, or an error)");
    } else if (auth_sso_redirect_uri(s, p, base, j->x.redirect_uri, sizeof(j->x.redirect_uri)) != 0) {
        cb(data, NULL, NULL, "provider", "the redirect URI does not fit");
    } else {
        snprintf(j->x.code, sizeof(j->x.code), "%s", code);
        j->x.now_s = auth_now_ms() / 1000;
        if (audit) {
            j->audit = *audit;
            j->audit_out = audit;
            audit->id = 0;
        }
        if (p == AUTH_SSO_OIDC)
            cache_give(s, j);
        if (job_queue(j))
            return 0;
        cb(data, NULL, NULL, "provider", "too many sign-ons in progress; try again");
    }
    job_free(j);
    return 0;
}
