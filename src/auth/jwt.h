/*
 * auth/jwt: HS256 JSON Web Tokens (RFC 7519/7515) for short-lived access
 * tokens. Signs a fixed set of claims and verifies tokens strictly: only
 * HS256, no "crit", exp required, canonical unpadded base64url, bounded size,
 * constant-time signature comparison BEFORE any claim is parsed. Owns the
 * HMAC key bytes of a struct auth_jwt_key and wipes them on free. Never puts
 * key bytes or token text into an error message; does no I/O, no logging.
 */
#ifndef AUTH_JWT_H
#define AUTH_JWT_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_JWT_MIN_SECRET 32      /* bytes; issue 3: JWT_SECRET of 32+ chars */
#define AUTH_JWT_MAX_SECRET 1024    /* bytes */
#define AUTH_JWT_MAX_TOKEN 8192     /* longer tokens are refused unread */
#define AUTH_JWT_CLAIM_MAX 256      /* buffer size of a string claim, NUL included */
#define AUTH_JWT_SIG_LEN 32         /* HMAC-SHA256 */

/* Verification failures (module codes, below the base codes). */
#define AUTH_JWT_ERR_MALFORMED (-100)     /* not 3 base64url parts, bad JSON, bad claim type */
#define AUTH_JWT_ERR_BAD_ALG (-101)       /* alg is not exactly "HS256" (none, HS512, RS256...) */
#define AUTH_JWT_ERR_BAD_SIGNATURE (-102) /* wrong length or does not match the key */
#define AUTH_JWT_ERR_EXPIRED (-103)       /* now >= exp + leeway */
#define AUTH_JWT_ERR_NOT_YET_VALID (-104) /* now < nbf - leeway, or iat > now + leeway */
#define AUTH_JWT_ERR_WRONG_AUDIENCE (-105)
#define AUTH_JWT_ERR_TOO_LONG (-106)      /* token longer than AUTH_JWT_MAX_TOKEN */

struct auth_jwt_key {
    unsigned char secret[AUTH_JWT_MAX_SECRET];
    size_t len;
};

/* The claims opshub issues. Strings are NUL-terminated; an empty string
 * means "absent" (sign omits it). iat and nbf: 0 means absent. exp is
 * always written by sign and required by verify. aud is a single string
 * (an array-valued aud is refused as malformed). */
struct auth_jwt_claims {
    char sub[AUTH_JWT_CLAIM_MAX];
    char role[AUTH_JWT_CLAIM_MAX];
    char aud[AUTH_JWT_CLAIM_MAX];
    char iss[AUTH_JWT_CLAIM_MAX];
    char jti[AUTH_JWT_CLAIM_MAX];
    int64_t iat, nbf, exp;  /* seconds since the Unix epoch */
};

/* Copies `secret` (a NUL-terminated string, e.g. JWT_SECRET) into k.
 * BASE_ERR_INVALID if it is shorter than AUTH_JWT_MIN_SECRET bytes or
 * longer than AUTH_JWT_MAX_SECRET, with a message in err (may be NULL)
 * that states the length but never the secret. */
int auth_jwt_key_init(struct auth_jwt_key *k, const char *secret,
                      char *err, size_t errlen) WARN_UNUSED;
/* Wipes the key bytes (OPENSSL_cleanse). Safe on a zeroed key. */
void auth_jwt_key_free(struct auth_jwt_key *k);

/* Writes "header.payload.signature" (NUL-terminated) into out, with the
 * header exactly {"alg":"HS256","typ":"JWT"} and the claims of c in the
 * order sub, role, aud, iss, iat, nbf, exp, jti. Returns 0,
 * BASE_ERR_TOO_BIG (out too small or token over AUTH_JWT_MAX_TOKEN),
 * BASE_ERR_INVALID (a string claim is not valid UTF-8 or not terminated
 * within AUTH_JWT_CLAIM_MAX) or BASE_ERR_NOMEM. */
int auth_jwt_sign(const struct auth_jwt_key *k, const struct auth_jwt_claims *c,
                  char *out, size_t outlen) WARN_UNUSED;

/* Verifies token[0..len) at time now_s (seconds). The header must be a JSON
 * object with alg exactly "HS256", no "crit", and typ, if present, "JWT".
 * The HMAC is checked (CRYPTO_memcmp) before the payload is decoded. Then
 * exp (required integer), nbf and iat (optional integers) are checked with
 * `leeway_s` (negative counts as 0) and, if expected_aud is not NULL, aud
 * must be present and equal to it. Unknown claims are ignored. On success
 * returns 0 and fills *out (may be NULL); otherwise returns a negative
 * AUTH_JWT_ERR_* (or BASE_ERR_NOMEM), leaves *out untouched and writes a
 * short reason into why (may be NULL) that never contains token text. */
int auth_jwt_verify(const struct auth_jwt_key *k, const char *token, size_t len,
                    int64_t now_s, const char *expected_aud, int64_t leeway_s,
                    struct auth_jwt_claims *out, char *why, size_t whylen) WARN_UNUSED;

/* Static name of an AUTH_JWT_ERR_* code ("expired", ...); base codes are
 * passed to base_strerror. Never NULL. */
const char *auth_jwt_strerror(int code);

/* RFC 7515 base64url without padding. encode writes the NUL-terminated text
 * into out and returns its length, or BASE_ERR_TOO_BIG if out (which needs
 * 4*ceil(n/3)+1 bytes at most) is too small. decode accepts only the
 * base64url alphabet, no '=', no length of 4k+1, and zero unused trailing
 * bits (so every byte string has exactly one encoding); it returns the
 * decoded length, BASE_ERR_INVALID or BASE_ERR_TOO_BIG. */
int auth_jwt_base64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen) WARN_UNUSED;
int auth_jwt_base64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen) WARN_UNUSED;

#endif
