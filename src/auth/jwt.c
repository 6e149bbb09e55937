/*
 * auth/jwt: HS256 JWT signing and strict verification (see jwt.h). Uses
 * OpenSSL for HMAC-SHA256, CRYPTO_memcmp and OPENSSL_cleanse, jansson for the
 * JSON. Everything lives in bounded stack buffers: a token is at most
 * AUTH_JWT_MAX_TOKEN bytes. The signature is compared before the payload is
 * even decoded; the header is parsed first only to refuse it. Must not log
 * and must not copy key bytes or token text into messages.
 */
#include "auth/jwt.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
/* Decoded header/payload never exceed 3/4 of the token. */
#define DECODED_MAX ((AUTH_JWT_MAX_TOKEN / 4) * 3 + 3)

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *auth_jwt_strerror(int code)
{
    switch (code) {
    case 0: return "ok";
    case AUTH_JWT_ERR_MALFORMED: return "malformed token";
    case AUTH_JWT_ERR_BAD_ALG: return "algorithm not allowed";
    case AUTH_JWT_ERR_BAD_SIGNATURE: return "bad signature";
    case AUTH_JWT_ERR_EXPIRED: return "token expired";
    case AUTH_JWT_ERR_NOT_YET_VALID: return "token not yet valid";
    case AUTH_JWT_ERR_WRONG_AUDIENCE: return "wrong audience";
    case AUTH_JWT_ERR_TOO_LONG: return "token too long";
    default: return base_strerror(code);
    }
}

int auth_jwt_base64url_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    size_t need = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
    size_t i, o = 0;
    if (need + 1 > outlen || need > (size_t)INT32_MAX)
        return BASE_ERR_TOO_BIG;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_chars[v >> 18 & 63];
        out[o++] = b64url_chars[v >> 12 & 63];
        out[o++] = b64url_chars[v >> 6 & 63];
        out[o++] = b64url_chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_chars[v >> 18 & 63];
        out[o++] = b64url_chars[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_chars[v >> 18 & 63];
        out[o++] = b64url_chars[v >> 12 & 63];
        out[o++] = b64url_chars[v >> 6 & 63];
    }
    out[o] = '\0';
    return (int)o;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int auth_jwt_base64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
    size_t need = (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0);
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;
    if (n % 4 == 1)
        return BASE_ERR_INVALID;
    if (need > outlen || need > (size_t)INT32_MAX)
        return BASE_ERR_TOO_BIG;
    for (i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return BASE_ERR_INVALID;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    /* Unused low bits of the last character must be zero (canonical form). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return BASE_ERR_INVALID;
    return (int)o;
}

int auth_jwt_key_init(struct auth_jwt_key *k, const char *secret, char *err, size_t errlen)
{
    size_t n;
    memset(k, 0, sizeof(*k));
    n = secret ? strnlen(secret, AUTH_JWT_MAX_SECRET + 1) : 0;
    if (n < AUTH_JWT_MIN_SECRET || n > AUTH_JWT_MAX_SECRET) {
        if (err && errlen)
            snprintf(err, errlen, "JWT secret is %s%zu bytes; it must be %d to %d bytes",
                     n > AUTH_JWT_MAX_SECRET ? "over " : "",
                     n > AUTH_JWT_MAX_SECRET ? (size_t)AUTH_JWT_MAX_SECRET : n,
                     AUTH_JWT_MIN_SECRET, AUTH_JWT_MAX_SECRET);
        return BASE_ERR_INVALID;
    }
    memcpy(k->secret, secret, n);
    k->len = n;
    return 0;
}

void auth_jwt_key_free(struct auth_jwt_key *k)
{
    OPENSSL_cleanse(k->secret, sizeof(k->secret));
    k->len = 0;
}

static int hmac256(const struct auth_jwt_key *k, const char *data, size_t n,
                   unsigned char mac[AUTH_JWT_SIG_LEN])
{
    unsigned int maclen = 0;
    if (k->len < AUTH_JWT_MIN_SECRET)
        return BASE_ERR_INVALID;
    if (!HMAC(EVP_sha256(), k->secret, (int)k->len, (const unsigned char *)data, n,
              mac, &maclen) || maclen != AUTH_JWT_SIG_LEN)
        return BASE_ERR_NOMEM;
    return 0;
}

static int set_str(json_t *obj, const char *name, const char *v)
{
    json_t *s;
    size_t n = strnlen(v, AUTH_JWT_CLAIM_MAX);
    if (n == AUTH_JWT_CLAIM_MAX)
        return BASE_ERR_INVALID;
    if (n == 0)
        return 0;
    s = json_stringn(v, n);
    if (!s)
        return BASE_ERR_INVALID; /* invalid UTF-8 (or out of memory) */
    return json_object_set_new(obj, name, s) == 0 ? 0 : BASE_ERR_NOMEM;
}

static int set_int(json_t *obj, const char *name, int64_t v, int always)
{
    if (v == 0 && !always)
        return 0;
    return json_object_set_new(obj, name, json_integer((json_int_t)v)) == 0 ? 0 : BASE_ERR_NOMEM;
}

int auth_jwt_sign(const struct auth_jwt_key *k, const struct auth_jwt_claims *c,
                  char *out, size_t outlen)
{
    char json[DECODED_MAX];
    unsigned char mac[AUTH_JWT_SIG_LEN];
    json_t *obj = json_object();
    size_t jlen, pos;
    int rc, n;

    if (!obj)
        return BASE_ERR_NOMEM;
    if ((rc = set_str(obj, "sub", c->sub)) || (rc = set_str(obj, "role", c->role)) ||
        (rc = set_str(obj, "aud", c->aud)) || (rc = set_str(obj, "iss", c->iss)) ||
        (rc = set_int(obj, "iat", c->iat, 0)) || (rc = set_int(obj, "nbf", c->nbf, 0)) ||
        (rc = set_int(obj, "exp", c->exp, 1)) || (rc = set_str(obj, "jti", c->jti)))
        goto fail;
    jlen = json_dumpb(obj, json, sizeof(json), JSON_COMPACT);
    if (jlen == 0 || jlen > sizeof(json)) {
        rc = jlen == 0 ? BASE_ERR_NOMEM : BASE_ERR_TOO_BIG;
        goto fail;
    }
    rc = BASE_ERR_TOO_BIG;
    if (outlen > AUTH_JWT_MAX_TOKEN + 1)
        outlen = AUTH_JWT_MAX_TOKEN + 1;
    n = auth_jwt_base64url_encode((const unsigned char *)HEADER_JSON, strlen(HEADER_JSON),
                                  out, outlen);
    if (n < 0 || (size_t)n + 1 >= outlen)
        goto fail;
    pos = (size_t)n;
    out[pos++] = '.';
    n = auth_jwt_base64url_encode((const unsigned char *)json, jlen, out + pos, outlen - pos);
    if (n < 0 || pos + (size_t)n + 1 >= outlen)
        goto fail;
    pos += (size_t)n;
    if ((rc = hmac256(k, out, pos, mac)) != 0)
        goto fail;
    out[pos++] = '.';
    n = auth_jwt_base64url_encode(mac, sizeof(mac), out + pos, outlen - pos);
    rc = n < 0 ? n : 0;
fail:
    json_decref(obj);
    if (rc != 0 && outlen > 0)
        out[0] = '\0';
    return rc;
}

static int fail_why(char *why, size_t whylen, int code, const char *fmt, ...) BASE_PRINTF(4, 5);
static int fail_why(char *why, size_t whylen, int code, const char *fmt, ...)
{
    va_list ap;
    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Decodes one base64url part and parses it as a JSON object. */
static json_t *decode_object(const char *part, size_t n, unsigned char *scratch, size_t cap)
{
    json_t *v;
    int len;
    if (n == 0 || (len = auth_jwt_base64url_decode(part, n, scratch, cap)) <= 0)
        return NULL;
    v = json_loadb((const char *)scratch, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static int check_header(const char *part, size_t n, unsigned char *scratch, char *why, size_t whylen)
{
    json_t *h = decode_object(part, n, scratch, DECODED_MAX);
    json_t *alg, *typ;
    int rc = 0;
    if (!h)
        return fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "header is not a base64url JSON object");
    alg = json_object_get(h, "alg");
    typ = json_object_get(h, "typ");
    if (!json_is_string(alg) || json_string_length(alg) != 5 ||
        memcmp(json_string_value(alg), "HS256", 5) != 0)
        rc = fail_why(why, whylen, AUTH_JWT_ERR_BAD_ALG, "only alg HS256 is accepted");
    else if (json_object_get(h, "crit"))
        rc = fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "header \"crit\" is not supported");
    else if (typ && (!json_is_string(typ) || json_string_length(typ) != 3 ||
                     strncasecmp(json_string_value(typ), "JWT", 3) != 0))
        rc = fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "header typ is not JWT");
    json_decref(h);
    return rc;
}

/* Copies an optional string claim; absent -> "". */
static int get_str(json_t *obj, const char *name, char *dst)
{
    json_t *v = json_object_get(obj, name);
    size_t n;
    dst[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    n = json_string_length(v);
    if (n >= AUTH_JWT_CLAIM_MAX || strlen(json_string_value(v)) != n)
        return -1; /* too long, or an embedded NUL */
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}

static int get_int(json_t *obj, const char *name, int64_t *dst, int required)
{
    json_t *v = json_object_get(obj, name);
    *dst = 0;
    if (!v)
        return required ? -1 : 0;
    if (!json_is_integer(v))
        return -1;
    *dst = (int64_t)json_integer_value(v);
    return 0;
}

static int parse_claims(const char *part, size_t n, unsigned char *scratch,
                        struct auth_jwt_claims *c, char *why, size_t whylen)
{
    json_t *p = decode_object(part, n, scratch, DECODED_MAX);
    int rc = 0;
    if (!p)
        return fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "payload is not a base64url JSON object");
    if (get_str(p, "sub", c->sub) || get_str(p, "role", c->role) || get_str(p, "aud", c->aud) ||
        get_str(p, "iss", c->iss) || get_str(p, "jti", c->jti))
        rc = fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED,
                      "a string claim has the wrong type or is too long");
    else if (!json_object_get(p, "exp"))
        rc = fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "claim exp is missing");
    else if (get_int(p, "exp", &c->exp, 1) || get_int(p, "nbf", &c->nbf, 0) ||
             get_int(p, "iat", &c->iat, 0))
        rc = fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "exp, nbf and iat must be integers");
    json_decref(p);
    return rc;
}

/* a - b > limit for a > b, without signed overflow. */
static int exceeds(int64_t a, int64_t b, uint64_t limit)
{
    return a > b && (uint64_t)a - (uint64_t)b > limit;
}

static int check_times(const struct auth_jwt_claims *c, int64_t now, int64_t leeway,
                       char *why, size_t whylen)
{
    uint64_t lw = leeway > 0 ? (uint64_t)leeway : 0;
    /* expired when now >= exp + leeway, i.e. now - exp >= leeway */
    if (now >= c->exp && (uint64_t)now - (uint64_t)c->exp >= lw)
        return fail_why(why, whylen, AUTH_JWT_ERR_EXPIRED, "token expired");
    if (c->nbf != 0 && exceeds(c->nbf, now, lw))
        return fail_why(why, whylen, AUTH_JWT_ERR_NOT_YET_VALID, "token not valid yet (nbf)");
    if (c->iat != 0 && exceeds(c->iat, now, lw))
        return fail_why(why, whylen, AUTH_JWT_ERR_NOT_YET_VALID, "token issued in the future (iat)");
    return 0;
}

int auth_jwt_verify(const struct auth_jwt_key *k, const char *token, size_t len,
                    int64_t now_s, const char *expected_aud, int64_t leeway_s,
                    struct auth_jwt_claims *out, char *why, size_t whylen)
{
    unsigned char scratch[DECODED_MAX];
    unsigned char mac[AUTH_JWT_SIG_LEN], sig[AUTH_JWT_SIG_LEN + 3];
    struct auth_jwt_claims c;
    const char *dot1, *dot2;
    size_t hlen, plen, slen;
    int rc, n;

    if (why && whylen)
        why[0] = '\0';
    if (len > AUTH_JWT_MAX_TOKEN)
        return fail_why(why, whylen, AUTH_JWT_ERR_TOO_LONG, "token longer than %d bytes",
                        AUTH_JWT_MAX_TOKEN);
    if (!token || len == 0 || !(dot1 = memchr(token, '.', len)) ||
        !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "token must have exactly three parts");
    hlen = (size_t)(dot1 - token);
    plen = (size_t)(dot2 - dot1 - 1);
    slen = len - (size_t)(dot2 + 1 - token);
    if (hlen == 0 || plen == 0 || slen == 0)
        return fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "token has an empty part");
    /* The exact header opshub issues needs no parsing; any other is parsed
     * and checked in full. */
    static const char ours[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    if (!(hlen == sizeof(ours) - 1 && memcmp(token, ours, hlen) == 0) &&
        (rc = check_header(token, hlen, scratch, why, whylen)) != 0)
        return rc;
    n = auth_jwt_base64url_decode(dot2 + 1, slen, sig, sizeof(sig));
    if (n == BASE_ERR_INVALID)
        return fail_why(why, whylen, AUTH_JWT_ERR_MALFORMED, "signature is not base64url");
    if (n != AUTH_JWT_SIG_LEN)
        return fail_why(why, whylen, AUTH_JWT_ERR_BAD_SIGNATURE, "signature has the wrong length");
    if ((rc = hmac256(k, token, (size_t)(dot2 - token), mac)) != 0)
        return fail_why(why, whylen, rc, "cannot compute HMAC");
    if (CRYPTO_memcmp(mac, sig, AUTH_JWT_SIG_LEN) != 0)
        return fail_why(why, whylen, AUTH_JWT_ERR_BAD_SIGNATURE, "signature does not match");
    /* Signed by us: only now is the payload decoded and believed. */
    memset(&c, 0, sizeof(c));
    if ((rc = parse_claims(dot1 + 1, plen, scratch, &c, why, whylen)) != 0)
        return rc;
    if ((rc = check_times(&c, now_s, leeway_s, why, whylen)) != 0)
        return rc;
    if (expected_aud && strcmp(c.aud, expected_aud) != 0)
        return fail_why(why, whylen, AUTH_JWT_ERR_WRONG_AUDIENCE, "audience does not match");
    if (expected_aud && c.aud[0] == '\0')
        return fail_why(why, whylen, AUTH_JWT_ERR_WRONG_AUDIENCE, "audience missing");
    if (out)
        *out = c;
    return 0;
}
