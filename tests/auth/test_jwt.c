/*
 * Unit tests for auth/jwt: sign/verify round trip, the RFC 7515 A.1 vector,
 * every forgery the verifier must refuse (built here by hand and signed with
 * OpenSSL directly), time and audience checks with and without leeway, key
 * length rules, and that messages never contain the secret or the token.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define OTHER_SECRET "ffffffffffffffffffffffffffffffff-other"
#define NOW 1700000000
#define HS256_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD_PAYLOAD "{\"sub\":\"u1\",\"role\":\"admin\",\"aud\":\"opshub\",\"exp\":1700000900}"

static struct auth_jwt_key key;

static int setup(void **state)
{
    char err[128];
    (void)state;
    return auth_jwt_key_init(&key, SECRET, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    auth_jwt_key_free(&key);
    return 0;
}

static void b64(const void *p, size_t n, char *out, size_t cap)
{
    assert_true(auth_jwt_base64url_encode(p, n, out, cap) >= 0);
}

/* header.payload.signature with an HMAC-SHA256 signature under `secret`
 * computed by OpenSSL directly (secret NULL: the signature part is `sig`). */
static void forge(char *out, size_t cap, const char *hdr, const char *payload,
                  const char *secret, const char *sig)
{
    char h[2048], p[4096], s[128];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    b64(hdr, strlen(hdr), h, sizeof(h));
    b64(payload, strlen(payload), p, sizeof(p));
    size_t hl = strlen(h), pl = strlen(p);
    assert_true(hl + pl + 2 < cap);
    memcpy(out, h, hl);
    out[hl] = '.';
    memcpy(out + hl + 1, p, pl + 1);
    if (secret) {
        assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
                             (const unsigned char *)out, strlen(out), mac, &maclen));
        b64(mac, maclen, s, sizeof(s));
        sig = s;
    }
    size_t len = strlen(out), sl = strlen(sig);
    assert_true(len + sl + 2 <= cap);
    out[len] = '.';
    memcpy(out + len + 1, sig, sl + 1);
}

static int verify(const char *tok, struct auth_jwt_claims *c)
{
    char why[128];
    return auth_jwt_verify(&key, tok, strlen(tok), NOW, "opshub", 0, c, why, sizeof(why));
}

static void fill_claims(struct auth_jwt_claims *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->sub, "user-42");
    strcpy(c->role, "operator");
    strcpy(c->aud, "opshub");
    strcpy(c->iss, "opshub-test");
    strcpy(c->jti, "c0ffee");
    c->iat = NOW - 10;
    c->nbf = NOW - 10;
    c->exp = NOW + 900;
}

static void test_jwt_sign_verify_round_trip(void **state)
{
    struct auth_jwt_claims in, out;
    char tok[AUTH_JWT_MAX_TOKEN + 1], hdr[128];
    (void)state;
    fill_claims(&in);
    assert_int_equal(auth_jwt_sign(&key, &in, tok, sizeof(tok)), 0);
    b64(HS256_HDR, strlen(HS256_HDR), hdr, sizeof(hdr));
    assert_memory_equal(tok, hdr, strlen(hdr)); /* header exactly as specified */
    memset(&out, 0x55, sizeof(out));
    assert_int_equal(verify(tok, &out), 0);
    assert_string_equal(out.sub, "user-42");
    assert_string_equal(out.role, "operator");
    assert_string_equal(out.aud, "opshub");
    assert_string_equal(out.iss, "opshub-test");
    assert_string_equal(out.jti, "c0ffee");
    assert_int_equal(out.iat, NOW - 10);
    assert_int_equal(out.nbf, NOW - 10);
    assert_int_equal(out.exp, NOW + 900);
    /* no expected audience: accepted too */
    assert_int_equal(auth_jwt_verify(&key, tok, strlen(tok), NOW, NULL, 0, NULL, NULL, 0), 0);
}

static void test_jwt_sign_refuses_small_buffer_and_bad_utf8(void **state)
{
    struct auth_jwt_claims c;
    char tok[64];
    (void)state;
    fill_claims(&c);
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), BASE_ERR_TOO_BIG);
    assert_string_equal(tok, "");
    char big[1024];
    strcpy(c.sub, "\xff\xfe");
    assert_int_equal(auth_jwt_sign(&key, &c, big, sizeof(big)), BASE_ERR_INVALID);
    memset(c.sub, 'a', sizeof(c.sub)); /* unterminated */
    assert_int_equal(auth_jwt_sign(&key, &c, big, sizeof(big)), BASE_ERR_INVALID);
}

static void test_jwt_matches_rfc7515_a1_vector(void **state)
{
    /* RFC 7515 appendix A.1: JWK k decoded, the exact signing input, and
     * the published signature. */
    static const char k_b64[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    static const char tok[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    unsigned char k[65], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char sig[64], err[128];
    struct auth_jwt_key rk;
    struct auth_jwt_claims c;
    (void)state;
    int n = auth_jwt_base64url_decode(k_b64, strlen(k_b64), k, sizeof(k) - 1);
    assert_int_equal(n, 64);
    /* The header decodes to the RFC's text (with CRLF). */
    unsigned char hdr[64];
    int hn = auth_jwt_base64url_decode(tok, 40, hdr, sizeof(hdr));
    assert_int_equal(hn, 30);
    assert_memory_equal(hdr, "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", 30);
    /* OpenSSL HMAC over the signing input gives the published signature. */
    const char *dot2 = strrchr(tok, '.');
    HMAC(EVP_sha256(), k, 64, (const unsigned char *)tok, (size_t)(dot2 - tok), mac, &maclen);
    b64(mac, maclen, sig, sizeof(sig));
    assert_string_equal(sig, dot2 + 1);
    /* And our verifier accepts it (the key has no NUL byte). */
    k[64] = '\0';
    assert_int_equal(strlen((char *)k), 64);
    assert_int_equal(auth_jwt_key_init(&rk, (char *)k, err, sizeof(err)), 0);
    assert_int_equal(auth_jwt_verify(&rk, tok, strlen(tok), 1300819000, NULL, 0, &c, NULL, 0), 0);
    assert_string_equal(c.iss, "joe");
    assert_int_equal(c.exp, 1300819380);
    assert_int_equal(auth_jwt_verify(&rk, tok, strlen(tok), 1300819380, NULL, 0, &c, NULL, 0),
                     AUTH_JWT_ERR_EXPIRED);
    auth_jwt_key_free(&rk);
    assert_int_equal(rk.len, 0);
}

static void test_jwt_base64url_is_strict_and_canonical(void **state)
{
    unsigned char out[16];
    char enc[16];
    (void)state;
    /* RFC 4648 vectors, unpadded */
    assert_int_equal(auth_jwt_base64url_encode((const unsigned char *)"f", 1, enc, sizeof(enc)), 2);
    assert_string_equal(enc, "Zg");
    assert_int_equal(auth_jwt_base64url_encode((const unsigned char *)"fo", 2, enc, sizeof(enc)), 3);
    assert_string_equal(enc, "Zm8");
    assert_int_equal(auth_jwt_base64url_encode((const unsigned char *)"foobar", 6, enc, sizeof(enc)), 8);
    assert_string_equal(enc, "Zm9vYmFy");
    assert_int_equal(auth_jwt_base64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof(enc)), 3);
    assert_string_equal(enc, "-_8");
    assert_int_equal(auth_jwt_base64url_encode((const unsigned char *)"foobar", 6, enc, 8), BASE_ERR_TOO_BIG);
    assert_int_equal(auth_jwt_base64url_decode("-_8", 3, out, sizeof(out)), 2);
    assert_memory_equal(out, "\xfb\xff", 2);
    assert_int_equal(auth_jwt_base64url_decode("Zg==", 4, out, sizeof(out)), BASE_ERR_INVALID);
    assert_int_equal(auth_jwt_base64url_decode("+/8", 3, out, sizeof(out)), BASE_ERR_INVALID);
    assert_int_equal(auth_jwt_base64url_decode("Zm9vY", 5, out, sizeof(out)), BASE_ERR_INVALID);
    assert_int_equal(auth_jwt_base64url_decode("Zh", 2, out, sizeof(out)), BASE_ERR_INVALID); /* non-zero spare bits */
    assert_int_equal(auth_jwt_base64url_decode("Zm9vYmFy", 8, out, 5), BASE_ERR_TOO_BIG);
}

static void expect(const char *tok, int code)
{
    char why[128] = "";
    struct auth_jwt_claims c;
    memset(&c, 0x5a, sizeof(c));
    int rc = auth_jwt_verify(&key, tok, strlen(tok), NOW, "opshub", 0, &c, why, sizeof(why));
    if (rc != code)
        fail_msg("token %s: got %d (%s), want %d", tok, rc, why, code);
    if (code != 0) {
        assert_true(why[0] != '\0');
        assert_null(strstr(why, SECRET));
        assert_true(strlen(tok) < 8 || strstr(why, tok) == NULL);
        assert_int_equal(((unsigned char *)&c)[0], 0x5a); /* out untouched */
    }
}

static void test_jwt_rejects_alg_none_and_other_algs(void **state)
{
    static const char *hdrs[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"alg\":\"RS256\"}", "{\"alg\":\"hs256\"}",
        "{\"alg\":\"HS256 \"}", "{\"typ\":\"JWT\"}",
        "{\"alg\":null}", "{\"alg\":[\"HS256\"]}", "{\"alg\":\"ES256\"}",
    };
    char tok[1024];
    (void)state;
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        forge(tok, sizeof(tok), hdrs[i], GOOD_PAYLOAD, NULL, ""); /* alg none: empty sig */
        expect(tok, AUTH_JWT_ERR_MALFORMED); /* empty third part */
        forge(tok, sizeof(tok), hdrs[i], GOOD_PAYLOAD, SECRET, NULL); /* even correctly MACed */
        expect(tok, AUTH_JWT_ERR_BAD_ALG);
    }
    /* alg none with no third part at all */
    forge(tok, sizeof(tok), "{\"alg\":\"none\"}", GOOD_PAYLOAD, NULL, "");
    tok[strlen(tok) - 1] = '\0';
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    /* the control: same payload, proper header, proper key */
    forge(tok, sizeof(tok), HS256_HDR, GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, 0);
}

static void test_jwt_rejects_bad_headers(void **state)
{
    char tok[1024];
    (void)state;
    forge(tok, sizeof(tok), "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    forge(tok, sizeof(tok), "{\"alg\":\"HS256\",\"typ\":\"JWE\"}", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    forge(tok, sizeof(tok), "{\"alg\":\"HS256\",\"alg\":\"none\"}", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED); /* duplicate keys */
    forge(tok, sizeof(tok), "{\"alg\":\"HS256\\u0000\"}", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED); /* NUL inside a JSON string */
    forge(tok, sizeof(tok), "[\"HS256\"]", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    forge(tok, sizeof(tok), "{\"alg\":\"HS256\"", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    forge(tok, sizeof(tok), "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", GOOD_PAYLOAD, SECRET, NULL);
    expect(tok, 0); /* typ is case-insensitive (RFC 7515 4.1.9) */
}

static void test_jwt_rejects_malformed_structure(void **state)
{
    char good[1024], tok[1100];
    (void)state;
    forge(good, sizeof(good), HS256_HDR, GOOD_PAYLOAD, SECRET, NULL);
    expect(good, 0);
    char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
    size_t l1 = (size_t)(d1 - good);
    expect("", AUTH_JWT_ERR_MALFORMED);
    expect("abc", AUTH_JWT_ERR_MALFORMED);
    expect("..", AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%.*s", (int)(d2 - good), good); /* two parts */
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%s.", good); /* trailing dot */
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%s.%s", good, d2 + 1); /* four parts */
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%s=", good); /* padding on the signature */
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%.*s=%s", (int)l1, good, d1); /* padding on the header */
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%s", good); /* non-base64url characters */
    tok[2] = '+';
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), "%s", good);
    tok[strlen(tok) - 3] = '/';
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    snprintf(tok, sizeof(tok), " %s", good);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    /* an embedded NUL is not ignored */
    snprintf(tok, sizeof(tok), "%s", good);
    tok[5] = '\0';
    assert_int_equal(auth_jwt_verify(&key, tok, strlen(good), NOW, NULL, 0, NULL, NULL, 0),
                     AUTH_JWT_ERR_MALFORMED);
}

static void test_jwt_rejects_signature_of_wrong_length(void **state)
{
    char good[1024], tok[1100];
    (void)state;
    forge(good, sizeof(good), HS256_HDR, GOOD_PAYLOAD, SECRET, NULL);
    size_t n = strlen(good);
    snprintf(tok, sizeof(tok), "%.*s", (int)(n - 3), good); /* 40 chars: 30 bytes */
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    snprintf(tok, sizeof(tok), "%sAAAA", good); /* 35 bytes */
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    /* HS512-sized MAC with alg HS256 */
    forge(tok, sizeof(tok), HS256_HDR, GOOD_PAYLOAD, NULL,
          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    /* last char of a 43-char signature with spare bits set: not canonical */
    snprintf(tok, sizeof(tok), "%s", good);
    char *last = tok + strlen(tok) - 1;
    *last = (char)(*last == 'B' ? 'C' : 'B');
    int rc = verify(tok, NULL);
    assert_true(rc == AUTH_JWT_ERR_MALFORMED || rc == AUTH_JWT_ERR_BAD_SIGNATURE);
}

static void test_jwt_rejects_tampered_payload_and_other_key(void **state)
{
    char good[1024], evil[1024], tok[2100];
    struct auth_jwt_claims c;
    (void)state;
    fill_claims(&c);
    assert_int_equal(auth_jwt_sign(&key, &c, good, sizeof(good)), 0);
    /* payload promoted to admin, old signature kept */
    char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
    char p[512];
    static const char promoted[] =
        "{\"sub\":\"user-42\",\"role\":\"admin\",\"aud\":\"opshub\",\"exp\":1700000900}";
    b64(promoted, strlen(promoted), p, sizeof(p));
    snprintf(tok, sizeof(tok), "%.*s.%s%s", (int)(d1 - good), good, p, d2);
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    /* one bit flipped in the payload */
    snprintf(tok, sizeof(tok), "%s", good);
    tok[(d1 - good) + 5] ^= 1;
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    /* signed with another key */
    struct auth_jwt_key other;
    assert_int_equal(auth_jwt_key_init(&other, OTHER_SECRET, NULL, 0), 0);
    assert_int_equal(auth_jwt_sign(&other, &c, evil, sizeof(evil)), 0);
    expect(evil, AUTH_JWT_ERR_BAD_SIGNATURE);
    forge(tok, sizeof(tok), HS256_HDR, GOOD_PAYLOAD, OTHER_SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    auth_jwt_key_free(&other);
}

static void test_jwt_signature_checked_before_claims(void **state)
{
    /* An unsigned garbage payload reports a bad signature, not a parse
     * error: the payload is never looked at before the MAC matches. */
    char tok[1024];
    (void)state;
    forge(tok, sizeof(tok), HS256_HDR, "not json", OTHER_SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    forge(tok, sizeof(tok), HS256_HDR, "{\"aud\":\"opshub\"}", OTHER_SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_BAD_SIGNATURE);
    /* ...whereas correctly signed, the same payloads are malformed */
    forge(tok, sizeof(tok), HS256_HDR, "not json", SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    forge(tok, sizeof(tok), HS256_HDR, "{\"aud\":\"opshub\"}", SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED); /* missing exp */
}

static void test_jwt_checks_claim_types(void **state)
{
    static const char *bad[] = {
        "{\"aud\":\"opshub\",\"exp\":\"1700000900\"}", "{\"aud\":\"opshub\",\"exp\":1700000900.5}",
        "{\"aud\":\"opshub\",\"exp\":null}", "{\"aud\":\"opshub\",\"exp\":true}",
        "{\"aud\":\"opshub\",\"exp\":1700000900,\"nbf\":\"0\"}",
        "{\"aud\":\"opshub\",\"exp\":1700000900,\"iat\":1.0}",
        "{\"aud\":\"opshub\",\"exp\":1700000900,\"sub\":42}",
        "{\"aud\":[\"opshub\"],\"exp\":1700000900}",
        "{\"aud\":\"opshub\",\"exp\":1700000900,\"role\":\"ad\\u0000min\"}",
        "[1700000900]", "{\"aud\":\"opshub\",\"exp\":1700000900,\"exp\":1800000000}",
    };
    char tok[2048], payload[1024];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        forge(tok, sizeof(tok), HS256_HDR, bad[i], SECRET, NULL);
        expect(tok, AUTH_JWT_ERR_MALFORMED);
    }
    /* a string claim of 255 bytes fits, 256 does not */
    char s[300];
    memset(s, 'x', 256);
    s[255] = '\0';
    snprintf(payload, sizeof(payload), "{\"aud\":\"opshub\",\"exp\":1700000900,\"sub\":\"%s\"}", s);
    forge(tok, sizeof(tok), HS256_HDR, payload, SECRET, NULL);
    expect(tok, 0);
    s[255] = 'x';
    s[256] = '\0';
    snprintf(payload, sizeof(payload), "{\"aud\":\"opshub\",\"exp\":1700000900,\"sub\":\"%s\"}", s);
    forge(tok, sizeof(tok), HS256_HDR, payload, SECRET, NULL);
    expect(tok, AUTH_JWT_ERR_MALFORMED);
}

static void test_jwt_refuses_tokens_over_8_kib(void **state)
{
    char *tok = malloc(AUTH_JWT_MAX_TOKEN + 2);
    (void)state;
    assert_non_null(tok);
    memset(tok, 'A', AUTH_JWT_MAX_TOKEN + 1);
    tok[AUTH_JWT_MAX_TOKEN + 1] = '\0';
    tok[10] = tok[20] = '.';
    expect(tok, AUTH_JWT_ERR_TOO_LONG);
    tok[AUTH_JWT_MAX_TOKEN] = '\0'; /* exactly 8 KiB: read, then refused on content */
    expect(tok, AUTH_JWT_ERR_MALFORMED);
    free(tok);
    /* sign refuses to produce one */
    struct auth_jwt_claims c;
    char out[AUTH_JWT_MAX_TOKEN + 64];
    fill_claims(&c);
    assert_int_equal(auth_jwt_sign(&key, &c, out, sizeof(out)), 0);
    assert_true(strlen(out) <= AUTH_JWT_MAX_TOKEN);
}

static int verify_at(const char *tok, int64_t now, const char *aud, int64_t leeway)
{
    return auth_jwt_verify(&key, tok, strlen(tok), now, aud, leeway, NULL, NULL, 0);
}

static void test_jwt_checks_exp_nbf_iat_with_leeway(void **state)
{
    struct auth_jwt_claims c;
    char tok[1024];
    (void)state;
    fill_claims(&c);
    c.iat = NOW;
    c.nbf = NOW + 100;
    c.exp = NOW + 1000;
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify_at(tok, NOW + 100, "opshub", 0), 0);
    assert_int_equal(verify_at(tok, NOW + 99, "opshub", 0), AUTH_JWT_ERR_NOT_YET_VALID);
    assert_int_equal(verify_at(tok, NOW + 40, "opshub", 60), 0);
    assert_int_equal(verify_at(tok, NOW + 39, "opshub", 60), AUTH_JWT_ERR_NOT_YET_VALID);
    assert_int_equal(verify_at(tok, NOW + 999, "opshub", 0), 0);
    assert_int_equal(verify_at(tok, NOW + 1000, "opshub", 0), AUTH_JWT_ERR_EXPIRED);
    assert_int_equal(verify_at(tok, NOW + 1059, "opshub", 60), 0);
    assert_int_equal(verify_at(tok, NOW + 1060, "opshub", 60), AUTH_JWT_ERR_EXPIRED);
    assert_int_equal(verify_at(tok, NOW + 1000, "opshub", -5), AUTH_JWT_ERR_EXPIRED);
    /* iat in the future */
    c.nbf = 0;
    c.iat = NOW + 500;
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify_at(tok, NOW, "opshub", 0), AUTH_JWT_ERR_NOT_YET_VALID);
    assert_int_equal(verify_at(tok, NOW, "opshub", 500), 0);
    /* extreme values do not overflow */
    c.iat = 0;
    c.exp = INT64_MAX;
    c.nbf = INT64_MIN;
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify_at(tok, INT64_MIN, "opshub", INT64_MAX), 0);
    c.exp = INT64_MIN;
    c.nbf = INT64_MAX;
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify_at(tok, INT64_MAX, "opshub", INT64_MAX), AUTH_JWT_ERR_EXPIRED);
}

static void test_jwt_checks_audience(void **state)
{
    struct auth_jwt_claims c;
    char tok[1024];
    (void)state;
    fill_claims(&c);
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify_at(tok, NOW, "opshub", 3600), 0);
    assert_int_equal(verify_at(tok, NOW, "other", 3600), AUTH_JWT_ERR_WRONG_AUDIENCE);
    assert_int_equal(verify_at(tok, NOW, "opshu", 0), AUTH_JWT_ERR_WRONG_AUDIENCE);
    assert_int_equal(verify_at(tok, NOW, "", 0), AUTH_JWT_ERR_WRONG_AUDIENCE);
    c.aud[0] = '\0';
    assert_int_equal(auth_jwt_sign(&key, &c, tok, sizeof(tok)), 0);
    assert_int_equal(verify_at(tok, NOW, "opshub", 0), AUTH_JWT_ERR_WRONG_AUDIENCE);
    assert_int_equal(verify_at(tok, NOW, "", 0), AUTH_JWT_ERR_WRONG_AUDIENCE);
    assert_int_equal(verify_at(tok, NOW, NULL, 0), 0);
}

static void test_jwt_key_shorter_than_32_refused(void **state)
{
    struct auth_jwt_key k;
    char err[160] = "";
    char secret[40];
    (void)state;
    memset(secret, 's', sizeof(secret));
    secret[31] = '\0';
    assert_int_equal(auth_jwt_key_init(&k, secret, err, sizeof(err)), BASE_ERR_INVALID);
    assert_non_null(strstr(err, "31 bytes"));
    assert_null(strstr(err, "sss"));
    assert_int_equal(auth_jwt_key_init(&k, "", err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(auth_jwt_key_init(&k, NULL, NULL, 0), BASE_ERR_INVALID);
    secret[31] = 's';
    secret[32] = '\0';
    assert_int_equal(auth_jwt_key_init(&k, secret, err, sizeof(err)), 0);
    assert_int_equal(k.len, 32);
    auth_jwt_key_free(&k);
    char *huge = malloc(AUTH_JWT_MAX_SECRET + 2);
    memset(huge, 'h', AUTH_JWT_MAX_SECRET + 1);
    huge[AUTH_JWT_MAX_SECRET + 1] = '\0';
    assert_int_equal(auth_jwt_key_init(&k, huge, err, sizeof(err)), BASE_ERR_INVALID);
    assert_null(strstr(err, "hhh"));
    free(huge);
    /* a zeroed (freed) key cannot sign or verify */
    struct auth_jwt_claims c;
    char tok[1024];
    fill_claims(&c);
    assert_int_equal(auth_jwt_sign(&k, &c, tok, sizeof(tok)), BASE_ERR_INVALID);
}

static void test_jwt_strerror_names_codes(void **state)
{
    (void)state;
    assert_string_equal(auth_jwt_strerror(AUTH_JWT_ERR_EXPIRED), "token expired");
    assert_string_equal(auth_jwt_strerror(AUTH_JWT_ERR_BAD_ALG), "algorithm not allowed");
    assert_non_null(auth_jwt_strerror(BASE_ERR_NOMEM));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_sign_verify_round_trip),
        cmocka_unit_test(test_jwt_sign_refuses_small_buffer_and_bad_utf8),
        cmocka_unit_test(test_jwt_matches_rfc7515_a1_vector),
        cmocka_unit_test(test_jwt_base64url_is_strict_and_canonical),
        cmocka_unit_test(test_jwt_rejects_alg_none_and_other_algs),
        cmocka_unit_test(test_jwt_rejects_bad_headers),
        cmocka_unit_test(test_jwt_rejects_malformed_structure),
        cmocka_unit_test(test_jwt_rejects_signature_of_wrong_length),
        cmocka_unit_test(test_jwt_rejects_tampered_payload_and_other_key),
        cmocka_unit_test(test_jwt_signature_checked_before_claims),
        cmocka_unit_test(test_jwt_checks_claim_types),
        cmocka_unit_test(test_jwt_refuses_tokens_over_8_kib),
        cmocka_unit_test(test_jwt_checks_exp_nbf_iat_with_leeway),
        cmocka_unit_test(test_jwt_checks_audience),
        cmocka_unit_test(test_jwt_key_shorter_than_32_refused),
        cmocka_unit_test(test_jwt_strerror_names_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
