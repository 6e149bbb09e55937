/*
 * auth/csrf: the CSRF token of a browser session. It is bound to the
 * session, not a free-standing random value: HMAC-SHA256 under the
 * service's signing key of a label and the session id, base64url. An
 * attacker who can set a cookie (a sibling host) cannot make a token that
 * matches a victim's session without the key, and the server keeps no
 * state for it. The label separates these MACs from the JWT signatures
 * made with the same key (a JWT's signing input is base64url text, which
 * never contains the label's NUL byte). The same labelled MACs sign other
 * URLs that must work without a login (auth_mac_token): each use has its
 * own label.
 */
#include "auth/auth_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const char CSRF_LABEL[] = "opshub-csrf-v1";

/* The label's NUL is part of the MAC input, so no label is a prefix of another's input. */
int auth_mac_token(const struct auth *a, const char *label, const char *msg, char *out, size_t n)
{
    size_t ll = strlen(label) + 1, ml = msg ? strlen(msg) : 0;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (n)
        out[0] = '\0';
    if (!ml || ml > AUTH_MAC_MSG_MAX || ll > 64)
        return BASE_ERR_INVALID;
    unsigned char buf[64 + AUTH_MAC_MSG_MAX];
    memcpy(buf, label, ll);
    memcpy(buf + ll, msg, ml);
    if (!HMAC(EVP_sha256(), a->key.secret, (int)a->key.len, buf, ll + ml, mac, &maclen))
        return BASE_ERR_NOMEM;
    int rc = auth_jwt_base64url_encode(mac, maclen, out, n);
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc < 0 ? rc : 0;
}

bool auth_mac_verify(const struct auth *a, const char *label, const char *msg, const char *token)
{
    char want[AUTH_MAC_TOKEN_MAX];
    if (!token || auth_mac_token(a, label, msg, want, sizeof(want)) != 0)
        return false;
    size_t len = strlen(want);
    /* The length of a valid token is public (43); only the bytes are secret. */
    bool ok = strlen(token) == len && CRYPTO_memcmp(want, token, len) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
}

int auth_csrf_token(const struct auth *a, const char *session_id, char *out, size_t n)
{
    size_t sl = session_id ? strlen(session_id) : 0;
    if (n)
        out[0] = '\0';
    if (!sl || sl >= AUTH_ID_MAX)
        return BASE_ERR_INVALID;
    return auth_mac_token(a, CSRF_LABEL, session_id, out, n);
}

bool auth_csrf_verify(const struct auth *a, const char *session_id, const char *token)
{
    size_t sl = session_id ? strlen(session_id) : 0;
    if (!sl || sl >= AUTH_ID_MAX)
        return false;
    return auth_mac_verify(a, CSRF_LABEL, session_id, token);
}

int auth_refresh_session(const struct auth *a, const char *refresh_token, char *sid, size_t n)
{
    size_t len = refresh_token ? strlen(refresh_token) : 0;
    size_t plen = strlen(AUTH_REFRESH_PREFIX);
    if (n)
        sid[0] = '\0';
    if (len <= plen || len >= AUTH_TOKEN_MAX || strncmp(refresh_token, AUTH_REFRESH_PREFIX, plen) != 0)
        return BASE_ERR_INVALID;
    char hash[AUTH_HASH_HEX];
    bool replaced = false;
    auth_db_sha256_hex(refresh_token, len, hash);
    const struct auth_session *s = auth_mirror_session_by_refresh(a, hash, &replaced);
    if (!s)
        return BASE_ERR_NOT_FOUND;
    if (strlen(s->id) >= n)
        return BASE_ERR_TOO_BIG;
    memcpy(sid, s->id, strlen(s->id) + 1);
    return 0;
}
