/*
 * auth/oidc: discovery documents, JSON Web Key Sets and ID tokens read
 * strictly (see oidc.h). The signature is checked before any claim is
 * trusted; keys are built from their JWK parameters with OSSL_PARAM and
 * EVP_PKEY_fromdata, signatures checked with EVP_DigestVerify (ES256's
 * raw r||s converted to DER first). No hand-written cryptography.
 */
#include "auth/oidc.h"

#include "auth/jwt.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RSA_MIN_BITS 2048
#define B64_MAX 1024 /* decoded JWK parameters: 8192-bit moduli at most */

static int fail(int code, char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int code, char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *auth_oidc_strerror(int code)
{
    switch (code) {
    case AUTH_OIDC_ERR_MALFORMED: return "malformed";
    case AUTH_OIDC_ERR_BAD_ALG: return "bad_alg";
    case AUTH_OIDC_ERR_NO_KEY: return "no_key";
    case AUTH_OIDC_ERR_SIGNATURE: return "signature";
    case AUTH_OIDC_ERR_EXPIRED: return "expired";
    case AUTH_OIDC_ERR_NOT_YET: return "not_yet_valid";
    case AUTH_OIDC_ERR_ISSUER: return "issuer";
    case AUTH_OIDC_ERR_AUDIENCE: return "audience";
    case AUTH_OIDC_ERR_NONCE: return "nonce";
    default: return base_strerror(code);
    }
}

static bool url_ok(const char *s)
{
    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Copies a string member of o into out (n bytes); false when absent, not
 * a string, holding a NUL or too long. */
static bool str_member(const json_t *o, const char *key, char *out, size_t n)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) >= n || strlen(json_string_value(v)) != json_string_length(v))
        return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

static json_t *load(const char *text, size_t len)
{
    return len > AUTH_OIDC_DOC_MAX ? NULL : json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
}

int auth_oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
                              struct auth_oidc_discovery *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    json_t *o = load(json, len);
    int rc = 0;
    if (!json_is_object(o)) {
        rc = fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the discovery document is not a JSON object");
    } else if (!str_member(o, "issuer", out->issuer, sizeof(out->issuer))) {
        rc = fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the discovery document has no issuer");
    } else if (strcmp(out->issuer, expected_issuer) != 0) {
        rc = fail(AUTH_OIDC_ERR_ISSUER, why, whylen, "the discovery document names another issuer");
    } else {
        static const char *const keys[] = {"authorization_endpoint", "token_endpoint", "jwks_uri"};
        char *dst[] = {out->authorization_endpoint, out->token_endpoint, out->jwks_uri};
        for (size_t i = 0; rc == 0 && i < 3; i++)
            if (!str_member(o, keys[i], dst[i], AUTH_OIDC_URL_MAX) || !url_ok(dst[i]))
                rc = fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the discovery document's %s is missing or "
                          "not an http(s) URL", keys[i]);
    }
    json_decref(o);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* Decodes a base64url member of a JWK into out; its length, or -1. */
static int b64_member(const json_t *jwk, const char *key, unsigned char *out, size_t n)
{
    const json_t *v = json_object_get(jwk, key);
    if (!json_is_string(v))
        return -1;
    int len = auth_jwt_base64url_decode(json_string_value(v), json_string_length(v), out, n);
    return len > 0 ? len : -1;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_key(const json_t *jwk)
{
    unsigned char n[B64_MAX], e[16];
    int nl = b64_member(jwk, "n", n, sizeof(n)), el = b64_member(jwk, "e", e, sizeof(e));
    if (nl < 0 || el < 0)
        return NULL;
    BIGNUM *bn = BN_bin2bn(n, nl, NULL), *be = BN_bin2bn(e, el, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bn && be && bld && BN_num_bits(bn) >= RSA_MIN_BITS && BN_is_odd(be) && !BN_is_one(be) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pkey = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static EVP_PKEY *ec_key(const json_t *jwk)
{
    unsigned char x[64], y[64], pub[65];
    const json_t *crv = json_object_get(jwk, "crv");
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0)
        return NULL;
    if (b64_member(jwk, "x", x, sizeof(x)) != 32 || b64_member(jwk, "y", y, sizeof(y)) != 32)
        return NULL;
    pub[0] = 0x04; /* uncompressed point; EVP_PKEY_fromdata checks it is on the curve */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)))
        pkey = from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    if (pkey) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!c || EVP_PKEY_public_check(c) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(c);
    }
    return pkey;
}

/* The key of the set for a token with this alg and kid (NULL: none).
 * AUTH_OIDC_ERR_NO_KEY when none fits, MALFORMED when the set or the key
 * that fits is unreadable. */
static int find_key(const char *jwks, size_t jlen, bool rsa, const char *kid, EVP_PKEY **out)
{
    *out = NULL;
    json_t *set = load(jwks, jlen);
    const json_t *keys = json_object_get(set, "keys");
    const json_t *pick = NULL;
    int rc = AUTH_OIDC_ERR_NO_KEY, candidates = 0;
    if (!json_is_array(keys) || json_array_size(keys) > AUTH_OIDC_KEYS_MAX) {
        json_decref(set);
        return AUTH_OIDC_ERR_MALFORMED;
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i), *kty = json_object_get(k, "kty");
        const json_t *use = json_object_get(k, "use"), *kk = json_object_get(k, "kid");
        if (!json_is_string(kty) || strcmp(json_string_value(kty), rsa ? "RSA" : "EC") != 0)
            continue;
        if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
            continue;
        if (kid && (!json_is_string(kk) || strcmp(json_string_value(kk), kid) != 0))
            continue;
        candidates++;
        pick = k;
    }
    if (candidates == 1) {
        *out = rsa ? rsa_key(pick) : ec_key(pick);
        rc = *out ? 0 : AUTH_OIDC_ERR_MALFORMED;
    } else if (candidates > 1) {
        rc = AUTH_OIDC_ERR_MALFORMED; /* ambiguous: two keys with one kid, or no kid and several keys */
    }
    json_decref(set);
    return rc;
}

/* Checks sig over input with key; ES256's 64-byte r||s becomes DER. */
static bool signature_ok(EVP_PKEY *key, bool rsa, const char *input, size_t ilen, const unsigned char *sig,
                         size_t slen)
{
    unsigned char der[80];
    unsigned char *p = der;
    if (!rsa) {
        if (slen != 64)
            return false;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
        int dl = -1;
        if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
            r = s = NULL; /* owned by es */
            dl = i2d_ECDSA_SIG(es, &p);
        }
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        if (dl <= 0 || (size_t)dl > sizeof(der))
            return false;
        sig = der;
        slen = (size_t)dl;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestVerify(md, sig, slen, (const unsigned char *)input, ilen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* Decodes base64url part [p, p + n) as a JSON object. */
static json_t *part_json(const char *p, size_t n)
{
    unsigned char buf[AUTH_OIDC_TOKEN_MAX];
    int len = auth_jwt_base64url_decode(p, n, buf, sizeof(buf));
    json_t *o = len > 0 ? json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Header: alg (RS256 or ES256), kid, no crit. */
static int header_read(const char *tok, size_t n, bool *rsa, char *kid, size_t kn, bool *has_kid)
{
    json_t *h = part_json(tok, n);
    if (!h)
        return AUTH_OIDC_ERR_MALFORMED;
    const json_t *alg = json_object_get(h, "alg");
    int rc = 0;
    if (!json_is_string(alg) || json_object_get(h, "crit"))
        rc = AUTH_OIDC_ERR_BAD_ALG;
    else if (strcmp(json_string_value(alg), "RS256") == 0)
        *rsa = true;
    else if (strcmp(json_string_value(alg), "ES256") == 0)
        *rsa = false;
    else
        rc = AUTH_OIDC_ERR_BAD_ALG;
    *has_kid = json_object_get(h, "kid") != NULL;
    if (rc == 0 && *has_kid && !str_member(h, "kid", kid, kn))
        rc = AUTH_OIDC_ERR_MALFORMED;
    json_decref(h);
    return rc;
}

static bool aud_ok(const json_t *p, const char *client_id)
{
    const json_t *aud = json_object_get(p, "aud"), *azp = json_object_get(p, "azp");
    bool found = false;
    if (json_is_string(aud)) {
        found = strcmp(json_string_value(aud), client_id) == 0;
    } else if (json_is_array(aud)) {
        for (size_t i = 0; i < json_array_size(aud); i++) {
            const json_t *a = json_array_get(aud, i);
            found |= json_is_string(a) && strcmp(json_string_value(a), client_id) == 0;
        }
    }
    if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0))
        return false; /* issued to another client (Core 3.1.3.7 step 5) */
    return found;
}

static bool int_claim(const json_t *p, const char *key, bool required, int64_t *out)
{
    const json_t *v = json_object_get(p, key);
    *out = 0;
    if (!v)
        return !required;
    if (!json_is_integer(v))
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

static bool nonce_ok(const json_t *p, const char *want)
{
    const json_t *v = json_object_get(p, "nonce");
    size_t n = want ? strlen(want) : 0;
    return n && json_is_string(v) && json_string_length(v) == n && CRYPTO_memcmp(json_string_value(v), want, n) == 0;
}

static void roles_read(const json_t *p, const char *claim, struct auth_oidc_identity *out)
{
    const json_t *v = claim ? json_object_get(p, claim) : NULL;
    if (json_is_string(v)) {
        if (json_string_length(v) < AUTH_OIDC_CLAIM_MAX)
            snprintf(out->roles[out->n_roles++], AUTH_OIDC_CLAIM_MAX, "%s", json_string_value(v));
        return;
    }
    for (size_t i = 0; json_is_array(v) && i < json_array_size(v) && out->n_roles < AUTH_OIDC_ROLES_MAX; i++) {
        const json_t *s = json_array_get(v, i);
        if (json_is_string(s) && json_string_length(s) < AUTH_OIDC_CLAIM_MAX &&
            strlen(json_string_value(s)) == json_string_length(s))
            memcpy(out->roles[out->n_roles++], json_string_value(s), json_string_length(s) + 1);
    }
}

/* The claims, once the signature is good. */
static int claims_check(const json_t *p, const struct auth_oidc_expect *e, struct auth_oidc_identity *out, char *why,
                        size_t whylen)
{
    char iss[AUTH_OIDC_URL_MAX];
    int64_t exp, iat, nbf;
    int64_t lw = e->leeway_s > 0 ? e->leeway_s : 0;
    if (!str_member(p, "iss", iss, sizeof(iss)) || strcmp(iss, e->issuer) != 0)
        return fail(AUTH_OIDC_ERR_ISSUER, why, whylen, "the ID token's issuer is not the configured one");
    if (!aud_ok(p, e->client_id))
        return fail(AUTH_OIDC_ERR_AUDIENCE, why, whylen, "the ID token was issued to another client");
    if (!int_claim(p, "exp", true, &exp) || !int_claim(p, "iat", true, &iat) || !int_claim(p, "nbf", false, &nbf))
        return fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the ID token's exp and iat must be integers");
    if (exp <= e->now_s - lw)
        return fail(AUTH_OIDC_ERR_EXPIRED, why, whylen, "the ID token has expired");
    if (iat > e->now_s + lw || (nbf && nbf > e->now_s + lw))
        return fail(AUTH_OIDC_ERR_NOT_YET, why, whylen, "the ID token is not valid yet");
    if (!nonce_ok(p, e->nonce))
        return fail(AUTH_OIDC_ERR_NONCE, why, whylen, "the ID token's nonce is not this login's");
    if (!str_member(p, "sub", out->sub, sizeof(out->sub)) || !out->sub[0])
        return fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the ID token has no subject");
    if (!str_member(p, "preferred_username", out->preferred_username, sizeof(out->preferred_username)))
        out->preferred_username[0] = '\0';
    if (!str_member(p, "email", out->email, sizeof(out->email)))
        out->email[0] = '\0';
    out->email_verified = json_is_true(json_object_get(p, "email_verified"));
    roles_read(p, e->role_claim, out);
    return 0;
}

int auth_oidc_id_token_verify(const char *jwks, size_t jlen, const char *token, size_t len,
                              const struct auth_oidc_expect *e, struct auth_oidc_identity *out, char *why,
                              size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (len > AUTH_OIDC_TOKEN_MAX)
        return fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the ID token is longer than %d bytes", AUTH_OIDC_TOKEN_MAX);
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the ID token is not three dot-separated parts");
    bool rsa = false, has_kid = false;
    char kid[AUTH_OIDC_CLAIM_MAX];
    int rc = header_read(token, (size_t)(d1 - token), &rsa, kid, sizeof(kid), &has_kid);
    if (rc)
        return fail(rc, why, whylen, rc == AUTH_OIDC_ERR_BAD_ALG ? "the ID token's alg is not RS256 or ES256"
                                                                 : "the ID token's header is malformed");
    EVP_PKEY *key = NULL;
    rc = find_key(jwks, jlen, rsa, has_kid ? kid : NULL, &key);
    if (rc)
        return fail(rc, why, whylen, rc == AUTH_OIDC_ERR_NO_KEY ? "no key of the provider's set fits the ID token"
                                                                : "the provider's key set is malformed");
    unsigned char sig[B64_MAX];
    size_t slen_in = len - (size_t)(d2 + 1 - token);
    int slen = auth_jwt_base64url_decode(d2 + 1, slen_in, sig, sizeof(sig));
    bool good = slen > 0 && signature_ok(key, rsa, token, (size_t)(d2 - token), sig, (size_t)slen);
    EVP_PKEY_free(key);
    if (!good)
        return fail(AUTH_OIDC_ERR_SIGNATURE, why, whylen, "the ID token's signature does not verify");
    json_t *p = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!p)
        return fail(AUTH_OIDC_ERR_MALFORMED, why, whylen, "the ID token's payload is not a JSON object");
    rc = claims_check(p, e, out, why, whylen);
    json_decref(p);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

int auth_oidc_pkce_challenge(const char *verifier, char *out, size_t n)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL))
        return BASE_ERR_NOMEM;
    int rc = auth_jwt_base64url_encode(md, mdlen, out, n);
    return rc < 0 ? rc : 0;
}
