/*
 * auth/secret: AES-256-GCM sealing of stored secrets (see secret.h for the
 * token format). Owns nothing beyond the keyring's key bytes, which it wipes
 * on free and whose temporary copies it wipes on every path. Error messages
 * describe lengths and syntax only, never key bytes or plaintext.
 */
#include "auth/secret.h"

#include "base/alloc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <stdio.h>
#include <string.h>

#define VERSION_PREFIX "v1:"
#define PREFIX_LEN (sizeof(VERSION_PREFIX) - 1)
#define AAD_LEN (PREFIX_LEN + AUTH_SECRET_KEYID_LEN)   /* "v1:<keyid>" */
#define OVERHEAD (AUTH_SECRET_NONCE_LEN + AUTH_SECRET_TAG_LEN)
/* Longest base64 text we bother decoding for a key: 32 bytes need 44 chars;
 * the slack lets us report "decodes to 48 bytes" rather than "too long". */
#define KEY_B64_MAX 256

static void set_err(char *err, size_t errlen, const char *msg, size_t got)
{
    if (!err || errlen == 0)
        return;
    if (got != (size_t)-1)
        snprintf(err, errlen, "%s (got %zu bytes)", msg, got);
    else
        snprintf(err, errlen, "%s", msg);
}

static int derive_id(const uint8_t key[AUTH_SECRET_KEY_LEN], char id[AUTH_SECRET_KEYID_LEN + 1])
{
    static const char label[] = "opshub-key-id";
    uint8_t in[sizeof(label) - 1 + AUTH_SECRET_KEY_LEN];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";

    memcpy(in, label, sizeof(label) - 1);
    memcpy(in + sizeof(label) - 1, key, AUTH_SECRET_KEY_LEN);
    int ok = EVP_Digest(in, sizeof(in), md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_cleanse(in, sizeof(in));
    if (!ok || mdlen < AUTH_SECRET_KEYID_LEN / 2)
        return BASE_ERR_IO;
    for (size_t i = 0; i < AUTH_SECRET_KEYID_LEN / 2; i++) {
        id[2 * i] = hex[md[i] >> 4];
        id[2 * i + 1] = hex[md[i] & 0xf];
    }
    id[AUTH_SECRET_KEYID_LEN] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

/* Decodes one base64 key into k. The message names the variable only. */
static int parse_key(const char *b64, struct auth_secret_key *k, char *err, size_t errlen)
{
    uint8_t buf[KEY_B64_MAX];
    size_t got = 0;
    int rc = BASE_ERR_INVALID;

    if (!b64 || !*b64) {
        set_err(err, errlen, "ENCRYPTION_KEY_BASE64 is empty; generate one with "
                "`openssl rand -base64 32`", (size_t)-1);
        return rc;
    }
    size_t len = strnlen(b64, KEY_B64_MAX + 1);
    if (len > KEY_B64_MAX) {
        set_err(err, errlen, "ENCRYPTION_KEY_BASE64 is too long: it must decode to "
                "exactly 32 bytes", (size_t)-1);
        return rc;
    }
    /* Padding is optional: try the padded variant first, then without. */
    if (sodium_base642bin(buf, sizeof(buf), b64, len, " \t\r\n", &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 &&
        sodium_base642bin(buf, sizeof(buf), b64, len, " \t\r\n", &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
        set_err(err, errlen, "ENCRYPTION_KEY_BASE64 is not valid base64", (size_t)-1);
        goto out;
    }
    if (got != AUTH_SECRET_KEY_LEN) {
        set_err(err, errlen, "ENCRYPTION_KEY_BASE64 must decode to exactly 32 bytes", got);
        goto out;
    }
    memcpy(k->key, buf, AUTH_SECRET_KEY_LEN);
    rc = derive_id(k->key, k->id);
    if (rc != 0) {
        set_err(err, errlen, "cannot derive the key id (SHA-256 failed)", (size_t)-1);
        OPENSSL_cleanse(k, sizeof(*k));
    }
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int auth_secret_keyring_init(struct auth_secret_keyring *kr, const char *key_base64,
                             char *err, size_t errlen)
{
    memset(kr, 0, sizeof(*kr));
    int rc = parse_key(key_base64, &kr->keys[0], err, errlen);
    if (rc == 0)
        kr->len = 1;
    return rc;
}

int auth_secret_keyring_add_old(struct auth_secret_keyring *kr, const char *key_base64,
                                char *err, size_t errlen)
{
    struct auth_secret_key k;
    int rc = parse_key(key_base64, &k, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < kr->len; i++)
        if (strcmp(kr->keys[i].id, k.id) == 0) {
            set_err(err, errlen, "this key is already in the keyring", (size_t)-1);
            rc = BASE_ERR_EXISTS;
            goto out;
        }
    if (kr->len >= AUTH_SECRET_MAX_KEYS) {
        set_err(err, errlen, "too many old encryption keys (at most 7)", (size_t)-1);
        rc = BASE_ERR_TOO_BIG;
        goto out;
    }
    kr->keys[kr->len++] = k;
out:
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

void auth_secret_keyring_free(struct auth_secret_keyring *kr)
{
    if (kr)
        OPENSSL_cleanse(kr, sizeof(*kr));
}

const char *auth_secret_keyring_current_id(const struct auth_secret_keyring *kr)
{
    return kr->len ? kr->keys[0].id : "";
}

/* Seals plain into blob = nonce || ct || tag. */
static int seal(const struct auth_secret_key *k, const uint8_t *aad, const void *plain,
                size_t n, uint8_t *blob)
{
    EVP_CIPHER_CTX *ctx = NULL;
    int len = 0, rc = BASE_ERR_IO;
    uint8_t *nonce = blob, *ct = blob + AUTH_SECRET_NONCE_LEN;

    if (RAND_bytes(nonce, AUTH_SECRET_NONCE_LEN) != 1)
        goto fail;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        rc = BASE_ERR_NOMEM;
        goto fail;
    }
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)AAD_LEN) != 1)
        goto fail;
    if (n > 0 && EVP_EncryptUpdate(ctx, ct, &len, plain, (int)n) != 1)
        goto fail;
    if (EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AUTH_SECRET_TAG_LEN, ct + n) != 1)
        goto fail;
    rc = 0;
fail:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int auth_secret_encrypt(const struct auth_secret_keyring *kr, const void *plain, size_t n,
                        char *out, size_t outlen)
{
    uint8_t aad[AAD_LEN];
    uint8_t *blob = NULL;
    size_t bloblen = n + OVERHEAD;
    int rc;

    if (outlen > 0)
        out[0] = '\0';
    if (kr->len == 0)
        return BASE_ERR_INVALID;
    if (n > AUTH_SECRET_MAX_PLAIN ||
        outlen < PREFIX_LEN + AUTH_SECRET_KEYID_LEN + 1 +
                 sodium_base64_ENCODED_LEN(bloblen, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return BASE_ERR_TOO_BIG;
    blob = base_malloc(bloblen);
    if (!blob)
        return BASE_ERR_NOMEM;
    memcpy(aad, VERSION_PREFIX, PREFIX_LEN);
    memcpy(aad + PREFIX_LEN, kr->keys[0].id, AUTH_SECRET_KEYID_LEN);
    rc = seal(&kr->keys[0], aad, plain, n, blob);
    if (rc != 0)
        goto fail;
    memcpy(out, aad, AAD_LEN);
    out[AAD_LEN] = ':';
    sodium_bin2base64(out + AAD_LEN + 1, outlen - AAD_LEN - 1, blob, bloblen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
fail:
    if (rc != 0 && outlen > 0)
        out[0] = '\0';
    base_free(blob);
    return rc;
}

static int is_keyid(const char *s)
{
    for (size_t i = 0; i < AUTH_SECRET_KEYID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int open_blob(const struct auth_secret_key *k, const uint8_t *aad, uint8_t *blob,
                     size_t ctlen, void *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, rc = BASE_ERR_IO;
    uint8_t *ct = blob + AUTH_SECRET_NONCE_LEN;

    if (!ctx)
        return BASE_ERR_NOMEM;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, blob) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)AAD_LEN) != 1)
        goto fail;
    if (ctlen > 0 && EVP_DecryptUpdate(ctx, out, &len, ct, (int)ctlen) != 1)
        goto fail;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AUTH_SECRET_TAG_LEN, ct + ctlen) != 1)
        goto fail;
    /* Final verifies the tag; until it succeeds `out` holds unauthenticated
     * bytes, which the caller wipes. */
    rc = EVP_DecryptFinal_ex(ctx, (uint8_t *)out + ctlen, &len) == 1 ? 0 : AUTH_SECRET_ERR_AUTH;
fail:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int auth_secret_decrypt(const struct auth_secret_keyring *kr, const char *token,
                        size_t token_len, void *out, size_t outlen, size_t *n)
{
    const struct auth_secret_key *k = NULL;
    uint8_t *blob = NULL;
    size_t bloblen = 0;
    int rc = BASE_ERR_INVALID;

    *n = 0;
    if (outlen > 0)
        memset(out, 0, outlen);
    if (token_len < AAD_LEN + 1 || memcmp(token, VERSION_PREFIX, PREFIX_LEN) != 0 ||
        !is_keyid(token + PREFIX_LEN) || token[AAD_LEN] != ':')
        return BASE_ERR_INVALID;
    const char *b64 = token + AAD_LEN + 1;
    size_t b64len = token_len - AAD_LEN - 1;
    if (b64len > sodium_base64_ENCODED_LEN(AUTH_SECRET_MAX_PLAIN + OVERHEAD,
                                           sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return BASE_ERR_INVALID;
    size_t maxbin = b64len / 4 * 3 + 3;
    blob = base_malloc(maxbin);
    if (!blob)
        return BASE_ERR_NOMEM;
    if (sodium_base642bin(blob, maxbin, b64, b64len, NULL, &bloblen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        bloblen < OVERHEAD)
        goto fail;
    for (size_t i = 0; i < kr->len && !k; i++)
        if (memcmp(kr->keys[i].id, token + PREFIX_LEN, AUTH_SECRET_KEYID_LEN) == 0)
            k = &kr->keys[i];
    if (!k) {
        rc = BASE_ERR_NOT_FOUND;
        goto fail;
    }
    size_t ctlen = bloblen - OVERHEAD;
    if (ctlen > outlen) {
        rc = BASE_ERR_TOO_BIG;
        goto fail;
    }
    rc = open_blob(k, (const uint8_t *)token, blob, ctlen, out);
    if (rc == 0)
        *n = ctlen;
fail:
    if (rc != 0 && outlen > 0)
        OPENSSL_cleanse(out, outlen);
    base_free(blob);
    return rc;
}

int auth_secret_mask(const char *plain, char *out, size_t n)
{
    size_t len = plain ? strlen(plain) : 0;
    const char *tail = "";

    if (len > 12) {
        tail = plain + len - 4;
        /* Never start inside a UTF-8 sequence: skip continuation bytes. */
        while (*tail && ((unsigned char)*tail & 0xC0) == 0x80)
            tail++;
    }
    int w = snprintf(out, n, "****%s", tail);
    if (w < 0 || (size_t)w >= n) {
        if (n > 0)
            out[0] = '\0';
        return BASE_ERR_TOO_BIG;
    }
    return 0;
}
