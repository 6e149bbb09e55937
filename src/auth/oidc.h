/*
 * auth/oidc: the parts of OpenID Connect that read what a provider sends:
 * its discovery document, its JSON Web Key Set and the ID tokens it signs
 * (RFC 7515/7517/7518, OpenID Connect Core 3.1.3.7). Pure: no I/O, no
 * logging, no state; everything it reads is untrusted and bounded. Keys
 * are built with OpenSSL 3 EVP from the JWK's n/e (RSA, 2048 bits or more)
 * or x/y (P-256); RS256 and ES256 only, never "none" or an HMAC (a public
 * key must not become a shared secret). JSON by jansson. Never puts token
 * text into a reason.
 */
#ifndef AUTH_OIDC_H
#define AUTH_OIDC_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_OIDC_URL_MAX 1024
#define AUTH_OIDC_CLAIM_MAX 256
#define AUTH_OIDC_ROLES_MAX 64           /* values of the role claim kept; more are ignored */
#define AUTH_OIDC_DOC_MAX (256 * 1024)   /* discovery, JWKS and token answers are refused past this */
#define AUTH_OIDC_TOKEN_MAX (16 * 1024)  /* an ID token longer than this is refused unread */
#define AUTH_OIDC_KEYS_MAX 32            /* keys in a JWKS */

/* Failures (module codes below the base codes). */
#define AUTH_OIDC_ERR_MALFORMED (-100)   /* not a JWT, bad JSON, bad claim type, bad JWK */
#define AUTH_OIDC_ERR_BAD_ALG (-101)     /* alg is not RS256 or ES256, or "crit" is present */
#define AUTH_OIDC_ERR_NO_KEY (-102)      /* no key of the set fits the header (kid, kty): refetch the set */
#define AUTH_OIDC_ERR_SIGNATURE (-103)
#define AUTH_OIDC_ERR_EXPIRED (-104)     /* exp + leeway <= now */
#define AUTH_OIDC_ERR_NOT_YET (-105)     /* iat or nbf later than now + leeway */
#define AUTH_OIDC_ERR_ISSUER (-106)
#define AUTH_OIDC_ERR_AUDIENCE (-107)    /* aud lacks client_id, or azp is another client */
#define AUTH_OIDC_ERR_NONCE (-108)

struct auth_oidc_discovery {
    char issuer[AUTH_OIDC_URL_MAX];
    char authorization_endpoint[AUTH_OIDC_URL_MAX];
    char token_endpoint[AUTH_OIDC_URL_MAX];
    char jwks_uri[AUTH_OIDC_URL_MAX];
};

/* Reads a discovery document. Its issuer must equal expected_issuer
 * exactly (OpenID Connect Discovery 4.3); the three endpoints must be
 * http(s) URLs without control characters or spaces. 0, or
 * AUTH_OIDC_ERR_MALFORMED / AUTH_OIDC_ERR_ISSUER with a reason in why. */
int auth_oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
                              struct auth_oidc_discovery *out, char *why, size_t whylen) WARN_UNUSED;

struct auth_oidc_expect {
    const char *issuer;      /* iss must equal it */
    const char *client_id;   /* aud must be it or an array holding it; azp, if present, must be it */
    const char *nonce;       /* nonce must equal it (compared in constant time) */
    const char *role_claim;  /* a claim holding a string or an array of strings; NULL: none */
    int64_t now_s;
    int64_t leeway_s;        /* for exp, iat, nbf */
};

struct auth_oidc_identity {
    char sub[AUTH_OIDC_CLAIM_MAX];
    char preferred_username[AUTH_OIDC_CLAIM_MAX]; /* "" when absent */
    char email[AUTH_OIDC_CLAIM_MAX];              /* "" when absent */
    bool email_verified;
    char roles[AUTH_OIDC_ROLES_MAX][AUTH_OIDC_CLAIM_MAX]; /* the role claim's strings */
    size_t n_roles;
};

/* Verifies the ID token token[0..len) against the key set jwks[0..jlen)
 * and e, in this order: shape and size, header (alg, no crit), the key
 * (kid and kty; without a kid, the set's only key of that type), the
 * signature, then iss, aud/azp, exp, iat/nbf and nonce. sub is required.
 * 0 with *out filled, or an AUTH_OIDC_ERR_* / BASE_ERR_NOMEM with a short
 * reason in why (never token text; *out is then zeroed). */
int auth_oidc_id_token_verify(const char *jwks, size_t jlen, const char *token, size_t len,
                              const struct auth_oidc_expect *e, struct auth_oidc_identity *out, char *why,
                              size_t whylen) WARN_UNUSED;

/* Static name of an AUTH_OIDC_ERR_* code ("signature", ...); base codes
 * go to base_strerror. Never NULL. */
const char *auth_oidc_strerror(int code);

/* PKCE (RFC 7636): the S256 challenge of verifier into out (n >= 44). */
int auth_oidc_pkce_challenge(const char *verifier, char *out, size_t n) WARN_UNUSED;

#endif
