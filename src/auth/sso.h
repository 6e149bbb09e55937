/*
 * auth/sso: single sign-on with GitHub OAuth and generic OpenID Connect
 * (docs/sso.md). A login starts with auth_sso_start, which makes a random
 * state (and for OIDC a nonce and a PKCE S256 verifier) and seals them,
 * with the provider and a 10-minute expiry, into a value for a
 * short-lived HttpOnly cookie (HS256 under the service's signing key,
 * audience "opshub-sso", so it is never an access token nor the other
 * way round); it answers the provider's authorization URL. The provider
 * sends the browser back with code and state: auth_sso_finish opens the
 * cookie, checks the state (constant time), then on the libuv thread pool
 * exchanges the code and reads who the user is (auth/fetch: timeouts, size
 * caps): GitHub's /user, /user/orgs and /user/teams mapped to a role;
 * OIDC's discovery document (cached 10 min), token endpoint and ID token,
 * verified with the issuer's keys (auth/oidc; the key set is cached and
 * fetched again once when no key fits). Back on the loop the user
 * ("github:<login>", "oidc:<preferred_username|email|sub>") is created or
 * found, its role set to the mapped one, and a session is made as for a
 * password login. Refusals carry one of the codes state, nonce, token,
 * org, provider. Never logs or returns a secret, a code or a token.
 */
#ifndef AUTH_SSO_H
#define AUTH_SSO_H

#include "auth/service.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define AUTH_SSO_STATE_MAX 2048   /* the sealed cookie value */
#define AUTH_SSO_URL_MAX 4096     /* the authorization URL */
#define AUTH_SSO_FIELD_MAX 1025   /* ids, secrets, URLs of the options */
#define AUTH_SSO_VALUE_MAX 257    /* an org, team or claim value of a role rule */
#define AUTH_SSO_ROLES_MAX 64
/* Provider exchanges on the thread pool (8 threads) at once; more get
 * "provider": a slow provider must not hold the threads DNS lookups and
 * password checks need. */
#define AUTH_SSO_JOBS_MAX 2
#define AUTH_SSO_DEADLINE_MS 20000 /* every exchange of one sign-on together */
#define AUTH_SSO_STATE_TTL_S 600

enum auth_sso_provider { AUTH_SSO_GITHUB = 0, AUTH_SSO_OIDC = 1, AUTH_SSO_PROVIDERS };

struct auth_sso_rule {
    char org[AUTH_SSO_VALUE_MAX];    /* github */
    char team[AUTH_SSO_VALUE_MAX];   /* github; "": any member of org */
    char value[AUTH_SSO_VALUE_MAX];  /* oidc */
    enum auth_role role;
};

/* Everything is copied by auth_sso_new. Empty strings are "not set". */
struct auth_sso_opts {
    char base_url[AUTH_SSO_FIELD_MAX];   /* for redirect URIs; "": from each request's Host */
    struct {
        bool enabled;
        char client_id[AUTH_SSO_FIELD_MAX], client_secret[AUTH_SSO_FIELD_MAX];
        char api_url[AUTH_SSO_FIELD_MAX], oauth_url[AUTH_SSO_FIELD_MAX];
        struct auth_sso_rule roles[AUTH_SSO_ROLES_MAX];
        size_t n_roles;
    } github;
    struct {
        bool enabled;
        char name[AUTH_SSO_VALUE_MAX], issuer[AUTH_SSO_FIELD_MAX];
        char client_id[AUTH_SSO_FIELD_MAX], client_secret[AUTH_SSO_FIELD_MAX];
        char scopes[AUTH_SSO_FIELD_MAX];      /* space-separated */
        char role_claim[AUTH_SSO_VALUE_MAX];
        struct auth_sso_rule roles[AUTH_SSO_ROLES_MAX];
        size_t n_roles;
        enum auth_role default_role;          /* AUTH_ROLE_PUBLIC: none */
    } oidc;
};

struct auth_sso;

/* o is copied (and may be wiped after). NULL on OOM. */
struct auth_sso *auth_sso_new(uv_loop_t *loop, struct auth *a, const struct auth_sso_opts *o);
/* Shutdown began (call it before auth_close): jobs that finish from now
 * on never touch the identity service; their callbacks get "provider". */
void auth_sso_shutdown(struct auth_sso *s);
/* Frees the object after its last job (the loop has usually run them all). */
void auth_sso_destroy(struct auth_sso *s);
bool auth_sso_enabled(const struct auth_sso *s, enum auth_sso_provider p);
/* "github" / "oidc"; the display name ("GitHub", oidc.name). */
const char *auth_sso_id(enum auth_sso_provider p);
const char *auth_sso_display_name(const struct auth_sso *s, enum auth_sso_provider p);
/* The redirect URI of p for a request with this base ("https://h:port"). */
int auth_sso_redirect_uri(const struct auth_sso *s, enum auth_sso_provider p, const char *base, char *out,
                          size_t n) WARN_UNUSED;
/* The configured base URL, or NULL when redirect URIs come from Host. */
const char *auth_sso_base_url(const struct auth_sso *s);

/* Starts a login: cb gets the authorization URL and the sealed state for
 * the cookie (both valid during the call), or error_code ("provider")
 * and a reason. base: as for auth_sso_redirect_uri. cb may run before
 * this returns (GitHub, or OIDC with a cached discovery document). 0, or
 * BASE_ERR_NOMEM (cb never runs). */
typedef void (*auth_sso_start_cb)(void *data, const char *location, const char *state_cookie,
                                  const char *error_code, const char *why);
int auth_sso_start(struct auth_sso *s, enum auth_sso_provider p, const char *base, auth_sso_start_cb cb,
                   void *data);

/* Finishes a login: state_cookie (the cookie's value, may be NULL),
 * state and code (the query's, may be NULL). cb gets the session (r valid
 * during the call) or an error code and a reason (never a secret). audit:
 * as for auth_login (the row of the session made). 0, or BASE_ERR_NOMEM
 * (cb never runs). */
typedef void (*auth_sso_done_cb)(void *data, const struct auth_login_result *r, const char *username,
                                 const char *error_code, const char *why);
int auth_sso_finish(struct auth_sso *s, enum auth_sso_provider p, const char *base, const char *state_cookie,
                    const char *state, const char *code, const char *ip, struct auth_audit *audit,
                    auth_sso_done_cb cb, void *data);

#endif
