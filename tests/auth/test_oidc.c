/*
 * Unit tests for auth/oidc: discovery documents (issuer must match,
 * endpoints must be http(s) URLs), the RFC 7636 PKCE vector, and ID
 * tokens signed here with a P-256 key: accepted, then each claim check
 * (nonce, exp, iat, aud, azp, iss, sub) and header check (alg none, HS256,
 * crit, an unknown kid, an ambiguous set, a key off the curve) refused
 * with its own code, the identity left zeroed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/jwt.h"
#include "auth/oidc.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define ISS "https://id.example.com"
#define NOW 1700000000

static EVP_PKEY *key;
static char jwks[512], xs[64], ys[64];

static int b64(const void *in, size_t n, char *out, size_t cap)
{
    return auth_jwt_base64url_encode(in, n, out, cap);
}

static void sign(const char *hdr, const char *payload, char *out, size_t cap)
{
    int a = b64(hdr, strlen(hdr), out, cap);
    assert_true(a > 0);
    out[a] = '.';
    int b = b64(payload, strlen(payload), out + a + 1, cap - (size_t)a - 1);
    assert_true(b > 0);
    unsigned char der[128], raw[64];
    size_t dl = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dl, (unsigned char *)out, (size_t)(a + 1 + b)), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(es);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    out[a + 1 + b] = '.';
    assert_true(b64(raw, 64, out + a + b + 2, cap - (size_t)(a + b + 2)) > 0);
}

static int setup(void **state)
{
    (void)state;
    BIGNUM *x = NULL, *y = NULL;
    unsigned char xb[32], yb[32];
    key = EVP_EC_gen("P-256");
    if (!key || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
        return -1;
    BN_bn2binpad(x, xb, 32);
    BN_bn2binpad(y, yb, 32);
    BN_free(x);
    BN_free(y);
    b64(xb, 32, xs, sizeof(xs));
    b64(yb, 32, ys, sizeof(ys));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
             "{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", xs, ys);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key);
    return 0;
}

static int verify_payload(const char *hdr, const char *payload, const char *set, struct auth_oidc_identity *id)
{
    char tok[4096], why[160];
    struct auth_oidc_expect e = {.issuer = ISS, .client_id = "opshub", .nonce = "n1", .role_claim = "groups",
                                 .now_s = NOW, .leeway_s = 60};
    sign(hdr, payload, tok, sizeof(tok));
    int rc = auth_oidc_id_token_verify(set, strlen(set), tok, strlen(tok), &e, id, why, sizeof(why));
    if (rc) {
        static const struct auth_oidc_identity zero;
        assert_memory_equal(id, &zero, sizeof(zero));
        assert_true(why[0] != '\0');
    }
    return rc;
}

#define HDR "{\"alg\":\"ES256\",\"kid\":\"k\"}"
#define GOOD(extra) "{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"sub\":\"s1\",\"iat\":1700000000,\"exp\":1700000300," \
                    "\"nonce\":\"n1\"" extra "}"

static void test_oidc_id_token_accepted(void **state)
{
    (void)state;
    struct auth_oidc_identity id;
    assert_int_equal(verify_payload(HDR, GOOD(",\"preferred_username\":\"al\",\"groups\":[\"ops\",3,\"root\"]"), jwks,
                                    &id), 0);
    assert_string_equal(id.sub, "s1");
    assert_string_equal(id.preferred_username, "al");
    assert_int_equal(id.n_roles, 2);
    assert_string_equal(id.roles[1], "root");
    assert_int_equal(verify_payload(HDR, GOOD(",\"groups\":\"ops\",\"aud\":[\"x\",\"opshub\"],\"azp\":\"opshub\""),
                                    jwks, &id), AUTH_OIDC_ERR_MALFORMED); /* duplicate aud key */
    const char *p = "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"opshub\"],\"azp\":\"opshub\",\"sub\":\"s\","
                    "\"iat\":1700000000,\"exp\":1700000300,\"nonce\":\"n1\",\"groups\":\"ops\"}";
    assert_int_equal(verify_payload("{\"alg\":\"ES256\"}", p, jwks, &id), 0); /* no kid: the only EC key */
    assert_int_equal(id.n_roles, 1);
}

static void test_oidc_claims_refused(void **state)
{
    (void)state;
    struct auth_oidc_identity id;
    const struct {
        const char *payload;
        int rc;
    } cases[] = {
        {"{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"sub\":\"s\",\"iat\":1700000000,\"exp\":1700000300,\"nonce\":\"n2\"}",
         AUTH_OIDC_ERR_NONCE},
        {"{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"sub\":\"s\",\"iat\":1700000000,\"exp\":1700000300}",
         AUTH_OIDC_ERR_NONCE},
        {"{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"sub\":\"s\",\"iat\":1699990000,\"exp\":1699999900,\"nonce\":\"n1\"}",
         AUTH_OIDC_ERR_EXPIRED},
        {"{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"sub\":\"s\",\"iat\":1700000100,\"exp\":1700000300,\"nonce\":\"n1\"}",
         AUTH_OIDC_ERR_NOT_YET},
        {"{\"iss\":\"" ISS "\",\"aud\":\"other\",\"sub\":\"s\",\"iat\":1700000000,\"exp\":1700000300,\"nonce\":\"n1\"}",
         AUTH_OIDC_ERR_AUDIENCE},
        {"{\"iss\":\"" ISS "\",\"aud\":[\"opshub\"],\"azp\":\"x\",\"sub\":\"s\",\"iat\":1700000000,\"exp\":1700000300,"
         "\"nonce\":\"n1\"}", AUTH_OIDC_ERR_AUDIENCE},
        {"{\"iss\":\"https://evil\",\"aud\":\"opshub\",\"sub\":\"s\",\"iat\":1700000000,\"exp\":1700000300,"
         "\"nonce\":\"n1\"}", AUTH_OIDC_ERR_ISSUER},
        {"{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"iat\":1700000000,\"exp\":1700000300,\"nonce\":\"n1\"}",
         AUTH_OIDC_ERR_MALFORMED},
        {"{\"iss\":\"" ISS "\",\"aud\":\"opshub\",\"sub\":\"s\",\"iat\":\"1700000000\",\"exp\":1700000300,"
         "\"nonce\":\"n1\"}", AUTH_OIDC_ERR_MALFORMED},
        {"[1,2]", AUTH_OIDC_ERR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(verify_payload(HDR, cases[i].payload, jwks, &id), cases[i].rc);
}

static void test_oidc_headers_and_keys_refused(void **state)
{
    (void)state;
    struct auth_oidc_identity id;
    char set[600];
    assert_int_equal(verify_payload("{\"alg\":\"none\"}", GOOD(""), jwks, &id), AUTH_OIDC_ERR_BAD_ALG);
    assert_int_equal(verify_payload("{\"alg\":\"HS256\"}", GOOD(""), jwks, &id), AUTH_OIDC_ERR_BAD_ALG);
    assert_int_equal(verify_payload("{\"alg\":\"ES256\",\"crit\":[\"x\"]}", GOOD(""), jwks, &id), AUTH_OIDC_ERR_BAD_ALG);
    assert_int_equal(verify_payload("{\"alg\":\"ES256\",\"kid\":\"z\"}", GOOD(""), jwks, &id), AUTH_OIDC_ERR_NO_KEY);
    /* RS256 header over an EC signature: the RSA key of the set is too small to be used */
    assert_int_equal(verify_payload("{\"alg\":\"RS256\",\"kid\":\"r\"}", GOOD(""), jwks, &id), AUTH_OIDC_ERR_MALFORMED);
    snprintf(set, sizeof(set), "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
             "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", xs, ys, xs, ys);
    assert_int_equal(verify_payload("{\"alg\":\"ES256\"}", GOOD(""), set, &id), AUTH_OIDC_ERR_MALFORMED);
    snprintf(set, sizeof(set), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
             ys, xs); /* x and y swapped: not on the curve */
    assert_int_equal(verify_payload(HDR, GOOD(""), set, &id), AUTH_OIDC_ERR_MALFORMED);
    snprintf(set, sizeof(set), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"use\":\"enc\",\"crv\":\"P-256\","
             "\"x\":\"%s\",\"y\":\"%s\"}]}", xs, ys);
    assert_int_equal(verify_payload(HDR, GOOD(""), set, &id), AUTH_OIDC_ERR_NO_KEY);
    /* a signature by another key */
    EVP_PKEY *mine = key;
    key = EVP_EC_gen("P-256");
    assert_int_equal(verify_payload(HDR, GOOD(""), jwks, &id), AUTH_OIDC_ERR_SIGNATURE);
    EVP_PKEY_free(key);
    key = mine;
}

static void test_oidc_discovery(void **state)
{
    (void)state;
    struct auth_oidc_discovery d;
    char why[160];
    const char *ok = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth?x=1\","
                     "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"http://127.0.0.1:1/k\"}";
    assert_int_equal(auth_oidc_discovery_parse(ok, strlen(ok), ISS, &d, why, sizeof(why)), 0);
    assert_string_equal(d.token_endpoint, ISS "/token");
    assert_int_equal(auth_oidc_discovery_parse(ok, strlen(ok), ISS "/", &d, why, sizeof(why)), AUTH_OIDC_ERR_ISSUER);
    assert_string_equal(d.issuer, "");
    const char *bad = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"javascript:alert(1)\","
                      "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/k\"}";
    assert_int_equal(auth_oidc_discovery_parse(bad, strlen(bad), ISS, &d, why, sizeof(why)), AUTH_OIDC_ERR_MALFORMED);
    assert_int_equal(auth_oidc_discovery_parse("[]", 2, ISS, &d, why, sizeof(why)), AUTH_OIDC_ERR_MALFORMED);
}

static void test_oidc_pkce_rfc7636_vector(void **state)
{
    (void)state;
    char c[64];
    assert_int_equal(auth_oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c, sizeof(c)), 0);
    assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oidc_id_token_accepted),
        cmocka_unit_test(test_oidc_claims_refused),
        cmocka_unit_test(test_oidc_headers_and_keys_refused),
        cmocka_unit_test(test_oidc_discovery),
        cmocka_unit_test(test_oidc_pkce_rfc7636_vector),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
