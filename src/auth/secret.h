/*
 * auth/secret: secrets (channel tokens, database URLs, provider tokens)
 * encrypted at rest with AES-256-GCM under ENCRYPTION_KEY_BASE64. A token is
 * self-describing text, "v1:<keyid>:<base64url(nonce || ciphertext || tag)>",
 * so stored values name the key that sealed them and keys can be rotated.
 * Owns the key material of a keyring and wipes it on free. Must never log,
 * print or put key bytes or plaintext into an error message.
 */
#ifndef AUTH_SECRET_H
#define AUTH_SECRET_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_SECRET_KEY_LEN 32      /* AES-256 */
#define AUTH_SECRET_KEYID_LEN 8     /* hex chars */
#define AUTH_SECRET_MAX_KEYS 8      /* current + up to 7 old keys */
#define AUTH_SECRET_NONCE_LEN 12
#define AUTH_SECRET_TAG_LEN 16
/* Largest plaintext accepted by encrypt (secrets are small; this bounds the
 * token and keeps lengths inside OpenSSL's int). */
#define AUTH_SECRET_MAX_PLAIN (1024u * 1024u)
/* Module error code: the token is well formed and names a known key, but
 * authentication failed (tampered nonce, ciphertext, tag or key id, or the
 * wrong key). The other failures use base codes (see auth_secret_decrypt). */
#define AUTH_SECRET_ERR_AUTH (-100)

/* Size of the buffer (including the NUL) that holds the token for an
 * n-byte plaintext: "v1:" + keyid + ":" + base64url of nonce+ct+tag. */
#define AUTH_SECRET_TOKEN_SIZE(n) \
    (3 + AUTH_SECRET_KEYID_LEN + 1 + \
     ((AUTH_SECRET_NONCE_LEN + (size_t)(n) + AUTH_SECRET_TAG_LEN + 2) / 3) * 4 + 1)

struct auth_secret_key {
    uint8_t key[AUTH_SECRET_KEY_LEN];
    char id[AUTH_SECRET_KEYID_LEN + 1];
};

/* keys[0] is the current key (encrypts); keys[1..] decrypt only. No heap:
 * the keyring may live on the stack or inside struct app. */
struct auth_secret_keyring {
    struct auth_secret_key keys[AUTH_SECRET_MAX_KEYS];
    size_t len;
};

/* Decodes key_base64 (standard base64, padding optional, surrounding
 * whitespace ignored) as the current key. Refuses anything but exactly 32
 * decoded bytes: BASE_ERR_INVALID with a message in err (may be NULL) that
 * never contains key material. The key id is the first 8 hex chars of
 * SHA-256("opshub-key-id" || key). */
int auth_secret_keyring_init(struct auth_secret_keyring *kr, const char *key_base64,
                             char *err, size_t errlen) WARN_UNUSED;
/* Adds a previous key, used only to decrypt during rotation. 0,
 * BASE_ERR_INVALID (bad key, message in err, which may be NULL),
 * BASE_ERR_EXISTS (same key id already in the ring; nothing changes) or
 * BASE_ERR_TOO_BIG (ring full). */
int auth_secret_keyring_add_old(struct auth_secret_keyring *kr, const char *key_base64,
                                char *err, size_t errlen) WARN_UNUSED;
/* Wipes every key (OPENSSL_cleanse). The keyring may be re-initialised. */
void auth_secret_keyring_free(struct auth_secret_keyring *kr);
/* Id of the current key (borrowed from kr), e.g. for "rotate-key" output. */
const char *auth_secret_keyring_current_id(const struct auth_secret_keyring *kr);

/* Encrypts plain[0..n) with the current key and a fresh random nonce into
 * the NUL-terminated token out (needs AUTH_SECRET_TOKEN_SIZE(n) bytes). The
 * "v1:<keyid>" prefix is authenticated as AAD. 0, BASE_ERR_TOO_BIG (out too
 * small or n > AUTH_SECRET_MAX_PLAIN), BASE_ERR_INVALID (empty keyring),
 * BASE_ERR_NOMEM, BASE_ERR_IO (RNG or cipher failure). On failure out is "". */
int auth_secret_encrypt(const struct auth_secret_keyring *kr, const void *plain, size_t n,
                        char *out, size_t outlen) WARN_UNUSED;

/* Decrypts token[0..token_len) (need not be NUL-terminated) into out, setting
 * *n to the plaintext length. Errors, distinct so callers can tell them apart:
 *   BASE_ERR_INVALID     malformed token (prefix, key id syntax, base64, length)
 *   BASE_ERR_NOT_FOUND   no key with this id in the ring (rotated away?)
 *   AUTH_SECRET_ERR_AUTH authentication failed: tampered or wrong key
 *   BASE_ERR_TOO_BIG     outlen smaller than the plaintext
 *   BASE_ERR_NOMEM, BASE_ERR_IO
 * On any failure *n = 0 and out[0..outlen) is wiped: no partial plaintext. */
int auth_secret_decrypt(const struct auth_secret_keyring *kr, const char *token,
                        size_t token_len, void *out, size_t outlen, size_t *n) WARN_UNUSED;

/* Masks a secret for display: "****" followed by its last 4 characters when
 * it is longer than 12 bytes (never splitting a UTF-8 sequence), else "****".
 * 0, or BASE_ERR_TOO_BIG when out (n >= 9 always suffices) is too small. */
int auth_secret_mask(const char *plain, char *out, size_t n);

#endif
