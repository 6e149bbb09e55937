/*
 * libFuzzer target for auth/jwt. The first byte picks a mode: verify the
 * input as a raw token; or sign the input as the payload JSON (so the claim
 * parser behind the signature check is reached); or use it as the header.
 * Never crashes; whatever verifies re-signs to a token that verifies to the
 * same claims.
 */
#include "auth/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SECRET "fuzz-secret-0123456789abcdef-0123456789"
#define FUZZ_NOW 1700000000
#define HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define PAYLOAD "{\"sub\":\"u\",\"aud\":\"opshub\",\"exp\":1800000000}"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Builds b64(hdr).b64(payload).b64(HMAC) into out; 0 or -1 if too long. */
static int build(const struct auth_jwt_key *k, const uint8_t *hdr, size_t hn,
                 const uint8_t *pl, size_t pn, char *out, size_t cap)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int a, b, c;
    if ((a = auth_jwt_base64url_encode(hdr, hn, out, cap)) < 0 || (size_t)a + 2 > cap)
        return -1;
    out[a] = '.';
    if ((b = auth_jwt_base64url_encode(pl, pn, out + a + 1, cap - (size_t)a - 1)) < 0 ||
        (size_t)(a + b) + 3 > cap)
        return -1;
    if (!HMAC(EVP_sha256(), k->secret, (int)k->len, (unsigned char *)out, (size_t)(a + 1 + b),
              mac, &maclen))
        abort();
    out[a + 1 + b] = '.';
    c = auth_jwt_base64url_encode(mac, maclen, out + a + b + 2, cap - (size_t)(a + b + 2));
    return c < 0 ? -1 : a + b + 2 + c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tok[AUTH_JWT_MAX_TOKEN * 2], again[AUTH_JWT_MAX_TOKEN + 1];
    struct auth_jwt_key k;
    struct auth_jwt_claims c, c2;
    char why[128];
    int len, rc;

    if (size < 1 || auth_jwt_key_init(&k, FUZZ_SECRET, NULL, 0) != 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        rc = auth_jwt_verify(&k, (const char *)data + 1, size - 1, FUZZ_NOW, "opshub", 60,
                             &c, why, sizeof(why));
        break;
    case 1:
        if ((len = build(&k, (const uint8_t *)HDR, strlen(HDR), data + 1, size - 1, tok, sizeof(tok))) < 0)
            return 0;
        rc = auth_jwt_verify(&k, tok, (size_t)len, FUZZ_NOW, "opshub", 60, &c, why, sizeof(why));
        break;
    default:
        if ((len = build(&k, data + 1, size - 1, (const uint8_t *)PAYLOAD, strlen(PAYLOAD), tok, sizeof(tok))) < 0)
            return 0;
        rc = auth_jwt_verify(&k, tok, (size_t)len, FUZZ_NOW, "opshub", 60, &c, why, sizeof(why));
        break;
    }
    if (rc > 0 || (rc != 0 && why[0] == '\0'))
        abort();
    if (rc != 0)
        return 0;
    if (auth_jwt_sign(&k, &c, again, sizeof(again)) != 0)
        abort();
    if (auth_jwt_verify(&k, again, strlen(again), FUZZ_NOW, "opshub", 60, &c2, why, sizeof(why)) != 0)
        abort();
    if (memcmp(&c, &c2, sizeof(c)) != 0)
        abort();
    auth_jwt_key_free(&k);
    return 0;
}
