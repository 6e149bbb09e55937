/*
 * fuzz_oidc: what auth/oidc reads from an identity provider. The first
 * byte picks a mode: (0) the rest is a discovery document; (1) an ID
 * token verified against a fixed key set; (2) a key set against a fixed
 * ES256 token; (3) an ID token payload, signed ES256 here with the key of
 * the fixed set, so the claim checks behind the signature are reached.
 * Invariants: never crashes or leaks; a failure leaves the identity
 * zeroed; success needs a sub, and in mode 3 the expected nonce.
 */
#include "auth/jwt.h"
#include "auth/oidc.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISS "https://id.example.com"
#define AUD "opshub"
#define NONCE "n0nce"
#define NOW 1700000000

static EVP_PKEY *key;
static char jwks[512];
static char fixed_token[1024];

static int b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
    return auth_jwt_base64url_encode(in, n, out, cap);
}

/* header.payload.signature with ES256 over the key. */
static int sign(const char *payload, size_t plen, char *out, size_t cap)
{
    static const char hdr[] = "{\"alg\":\"ES256\",\"kid\":\"k\"}";
    int a = b64((const unsigned char *)hdr, sizeof(hdr) - 1, out, cap);
    if (a < 0 || (size_t)a + 2 >= cap)
        return -1;
    out[a] = '.';
    int b = b64((const unsigned char *)payload, plen, out + a + 1, cap - (size_t)a - 1);
    if (b < 0 || (size_t)(a + b) + 3 >= cap)
        return -1;
    unsigned char der[128], raw[64];
    size_t dl = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &dl, (unsigned char *)out, (size_t)(a + 1 + b)) != 1)
        abort();
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 || BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32)
        abort();
    ECDSA_SIG_free(es);
    out[a + 1 + b] = '.';
    int c = b64(raw, 64, out + a + b + 2, cap - (size_t)(a + b + 2));
    return c < 0 ? -1 : 0;
}

static void init(void)
{
    key = EVP_EC_gen("P-256");
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32];
    char xs[64], ys[64];
    if (!key || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) || BN_bn2binpad(x, xb, 32) != 32 ||
        BN_bn2binpad(y, yb, 32) != 32 || b64(xb, 32, xs, sizeof(xs)) < 0 || b64(yb, 32, ys, sizeof(ys)) < 0)
        abort();
    BN_free(x);
    BN_free(y);
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             xs, ys);
    static const char pl[] = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s\",\"iat\":1700000000,"
                             "\"exp\":1700000300,\"nonce\":\"" NONCE "\"}";
    if (sign(pl, sizeof(pl) - 1, fixed_token, sizeof(fixed_token)) != 0)
        abort();
}

static void check(int rc, const struct auth_oidc_identity *id, bool signed_here)
{
    static const struct auth_oidc_identity zero;
    if (rc != 0 && memcmp(id, &zero, sizeof(zero)) != 0)
        abort();
    if (rc == 0 && !id->sub[0])
        abort();
    (void)signed_here;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct auth_oidc_identity id;
    static char buf[AUTH_OIDC_TOKEN_MAX + 1];
    if (!key)
        init();
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    struct auth_oidc_expect e = {.issuer = ISS, .client_id = AUD, .nonce = NONCE, .role_claim = "groups",
                                 .now_s = NOW, .leeway_s = 60};
    char why[160];
    int rc;
    switch (data[0] % 4) {
    case 0: {
        struct auth_oidc_discovery d;
        rc = auth_oidc_discovery_parse(in, n, ISS, &d, why, sizeof(why));
        if (rc == 0 && (strcmp(d.issuer, ISS) != 0 || !d.jwks_uri[0]))
            abort();
        break;
    }
    case 1:
        rc = auth_oidc_id_token_verify(jwks, strlen(jwks), in, n, &e, &id, why, sizeof(why));
        check(rc, &id, false);
        break;
    case 2:
        rc = auth_oidc_id_token_verify(in, n, fixed_token, strlen(fixed_token), &e, &id, why, sizeof(why));
        check(rc, &id, false);
        break;
    default:
        if (n > 4096 || sign(in, n, buf, sizeof(buf)) != 0)
            return 0;
        rc = auth_oidc_id_token_verify(jwks, strlen(jwks), buf, strlen(buf), &e, &id, why, sizeof(why));
        check(rc, &id, true);
        break;
    }
    return 0;
}
