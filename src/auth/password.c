/*
 * auth/password: Argon2id password hashes through libsodium (see
 * password.h). Owns nothing between calls; libsodium allocates the Argon2
 * memory itself. Must not run on the event loop thread (blocking) and must
 * never log or copy the password.
 */
#include "auth/password.h"

#include <sodium.h>

#include <pthread.h>
#include <string.h>

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;

static void sodium_init_once(void)
{
    sodium_status = sodium_init() < 0 ? -1 : 0;
}

int auth_password_init(void)
{
    if (pthread_once(&sodium_once, sodium_init_once) != 0 || sodium_status != 0)
        return BASE_ERR_UNAVAILABLE;
    return 0;
}

static void pick_limits(unsigned long long *ops, size_t *mem)
{
    if (*ops == 0)
        *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    if (*mem == 0)
        *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

static int check_password(const char *pw, size_t len)
{
    if (!pw || len == 0)
        return BASE_ERR_INVALID;
    if (len > AUTH_PASSWORD_MAX)
        return BASE_ERR_TOO_BIG;
    return 0;
}

int auth_password_hash(const char *pw, size_t len, unsigned long long opslimit,
                       size_t memlimit, char *out, size_t outlen)
{
    char tmp[crypto_pwhash_STRBYTES];
    int rc;

    if (outlen > 0)
        out[0] = '\0';
    if ((rc = auth_password_init()) != 0 || (rc = check_password(pw, len)) != 0)
        return rc;
    if (outlen < crypto_pwhash_STRBYTES)
        return BASE_ERR_TOO_BIG;
    pick_limits(&opslimit, &memlimit);
    if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
        memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX)
        return BASE_ERR_INVALID;
    if (crypto_pwhash_str_alg(tmp, pw, len, opslimit, memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return BASE_ERR_NOMEM; /* the only remaining failure: memlimit allocation */
    memcpy(out, tmp, crypto_pwhash_STRBYTES);
    sodium_memzero(tmp, sizeof(tmp));
    return 0;
}

int auth_password_verify(const char *hash, const char *pw, size_t len)
{
    int rc;
    if ((rc = auth_password_init()) != 0 || (rc = check_password(pw, len)) != 0)
        return rc;
    if (!hash || strnlen(hash, AUTH_PASSWORD_HASH_MAX) >= AUTH_PASSWORD_HASH_MAX)
        return BASE_ERR_INVALID;
    if (crypto_pwhash_str_verify(hash, pw, len) != 0)
        return AUTH_PASSWORD_ERR_MISMATCH;
    return 0;
}

int auth_password_needs_rehash(const char *hash, unsigned long long opslimit, size_t memlimit)
{
    static const char id_prefix[] = crypto_pwhash_argon2id_STRPREFIX;
    static const char i_prefix[] = crypto_pwhash_argon2i_STRPREFIX;
    int rc;

    if ((rc = auth_password_init()) != 0)
        return rc;
    if (!hash || strnlen(hash, AUTH_PASSWORD_HASH_MAX) >= AUTH_PASSWORD_HASH_MAX)
        return BASE_ERR_INVALID;
    pick_limits(&opslimit, &memlimit);
    if (strncmp(hash, id_prefix, sizeof(id_prefix) - 1) == 0) {
        rc = crypto_pwhash_argon2id_str_needs_rehash(hash, opslimit, memlimit);
        return rc < 0 ? BASE_ERR_INVALID : rc;
    }
    if (strncmp(hash, i_prefix, sizeof(i_prefix) - 1) == 0)
        return crypto_pwhash_argon2i_str_needs_rehash(hash, opslimit, memlimit) < 0
                   ? BASE_ERR_INVALID : 1;
    return BASE_ERR_INVALID;
}
