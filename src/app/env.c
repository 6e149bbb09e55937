/*
 * app/env: reads and checks the security-relevant environment once at
 * start-up (see env.h). Owns copies of the values; wipes them when freed.
 */
#include "app/env.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JWT_FILE "jwt-secret"
#define KEY_FILE "encryption-key"

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && strcmp(v, value) == 0;
}

/* Reads DATA/jwt-secret, or creates it with 48 random bytes (base64url). */
static int jwt_from_file(struct app_env *e, const char *data_dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", data_dir ? data_dir : "data", JWT_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        unsigned char raw[48];
        char text[80];
        if (mkdir(data_dir ? data_dir : "data", 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "JWT_SECRET is not set and the data directory cannot be created: %s",
                     strerror(errno));
            return BASE_ERR_IO;
        }
        if (RAND_bytes(raw, sizeof(raw)) != 1 ||
            auth_jwt_base64url_encode(raw, sizeof(raw), text, sizeof(text)) < 0) {
            snprintf(err, errlen, "JWT_SECRET is not set and no randomness is available to make one");
            return BASE_ERR_IO;
        }
        OPENSSL_cleanse(raw, sizeof(raw));
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        size_t len = strlen(text);
        bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok) {
            OPENSSL_cleanse(text, sizeof(text));
            snprintf(err, errlen, "JWT_SECRET is not set and %s cannot be written: %s", path, strerror(errno));
            return BASE_ERR_IO;
        }
        snprintf(e->jwt_secret, sizeof(e->jwt_secret), "%s", text);
        OPENSSL_cleanse(text, sizeof(text));
        e->jwt_generated = true;
        base_log_info("generated a JWT signing secret (set JWT_SECRET to choose one)", BASE_LOG_STR("file", path));
        return 0;
    }
    if (fd < 0) {
        snprintf(err, errlen, "JWT_SECRET is not set and %s cannot be read: %s", path, strerror(errno));
        return BASE_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        base_log_warn("the JWT secret file is readable by others; chmod 600 it", BASE_LOG_STR("file", path));
    ssize_t n = read(fd, e->jwt_secret, sizeof(e->jwt_secret) - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return BASE_ERR_IO;
    }
    while (n > 0 && (e->jwt_secret[n - 1] == '\n' || e->jwt_secret[n - 1] == '\r'))
        n--;
    e->jwt_secret[n] = '\0';
    if ((size_t)n < AUTH_JWT_MIN_SECRET) {
        snprintf(err, errlen, "%s holds %zd characters; a JWT secret needs at least %d", path, n,
                 AUTH_JWT_MIN_SECRET);
        return BASE_ERR_INVALID;
    }
    e->jwt_generated = true;
    return 0;
}

/* Reads DATA/encryption-key, or creates it with 32 random bytes (base64). */
static int key_from_file(struct auth_secret_keyring *kr, const char *data_dir, char *err, size_t errlen)
{
    char path[4096], text[128];
    snprintf(path, sizeof(path), "%s/%s", data_dir ? data_dir : "data", KEY_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        unsigned char raw[AUTH_SECRET_KEY_LEN];
        if (mkdir(data_dir ? data_dir : "data", 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "ENCRYPTION_KEY_BASE64 is not set and the data directory cannot be created: %s",
                     strerror(errno));
            return BASE_ERR_IO;
        }
        if (RAND_bytes(raw, sizeof(raw)) != 1 || EVP_EncodeBlock((unsigned char *)text, raw, sizeof(raw)) <= 0) {
            snprintf(err, errlen, "ENCRYPTION_KEY_BASE64 is not set and no randomness is available to make one");
            return BASE_ERR_IO;
        }
        OPENSSL_cleanse(raw, sizeof(raw));
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        size_t len = strlen(text);
        bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok) {
            OPENSSL_cleanse(text, sizeof(text));
            snprintf(err, errlen, "ENCRYPTION_KEY_BASE64 is not set and %s cannot be written: %s", path,
                     strerror(errno));
            return BASE_ERR_IO;
        }
        base_log_info("generated an encryption key for stored secrets (set ENCRYPTION_KEY_BASE64 to choose one)",
                      BASE_LOG_STR("file", path));
    } else if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && (st.st_mode & 077))
            base_log_warn("the encryption key file is readable by others; chmod 600 it", BASE_LOG_STR("file", path));
        ssize_t n = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return BASE_ERR_IO;
        }
        text[n] = '\0';
    } else {
        snprintf(err, errlen, "ENCRYPTION_KEY_BASE64 is not set and %s cannot be read: %s", path, strerror(errno));
        return BASE_ERR_IO;
    }
    char why[200];
    int rc = auth_secret_keyring_init(kr, text, why, sizeof(why));
    OPENSSL_cleanse(text, sizeof(text));
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, why);
        return BASE_ERR_INVALID;
    }
    return 0;
}

int app_env_keyring(struct auth_secret_keyring *kr, bool production, const char *data_dir, char *err,
                    size_t errlen)
{
    memset(kr, 0, sizeof(*kr));
    const char *key = getenv("ENCRYPTION_KEY_BASE64");
    char why[200];
    if (key && *key) {
        if (auth_secret_keyring_init(kr, key, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "ENCRYPTION_KEY_BASE64: %s", why);
            return BASE_ERR_INVALID;
        }
    } else if (production) {
        snprintf(err, errlen, "ENCRYPTION_KEY_BASE64 (32 bytes, base64) is required when OPSHUB_ENV/NODE_ENV is production");
        return BASE_ERR_INVALID;
    } else {
        int rc = key_from_file(kr, data_dir, err, errlen);
        if (rc)
            return rc;
    }
    const char *old = getenv("ENCRYPTION_KEY_OLD_BASE64");
    char one[128];
    for (const char *p = old; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= sizeof(one)) {
            snprintf(err, errlen, "ENCRYPTION_KEY_OLD_BASE64: an entry is too long for a 32-byte key");
            auth_secret_keyring_free(kr);
            return BASE_ERR_INVALID;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        int rc = len ? auth_secret_keyring_add_old(kr, one, why, sizeof(why)) : 0;
        OPENSSL_cleanse(one, sizeof(one));
        if (rc && rc != BASE_ERR_EXISTS) {
            snprintf(err, errlen, "ENCRYPTION_KEY_OLD_BASE64: %s",
                     rc == BASE_ERR_TOO_BIG ? "too many old keys (at most 7)" : why);
            auth_secret_keyring_free(kr);
            return BASE_ERR_INVALID;
        }
        p = comma ? comma + 1 : p + len;
    }
    return 0;
}

int app_env_load(struct app_env *e, const struct conf *c, const char *data_dir, char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    e->production = env_is("OPSHUB_ENV", "production") || env_is("NODE_ENV", "production");
    const char *test_login = getenv("ALLOW_TEST_LOGIN");
    e->allow_test_login = test_login && (strcmp(test_login, "1") == 0 || strcmp(test_login, "true") == 0);
    if (e->allow_test_login && e->production) {
        snprintf(err, errlen, "ALLOW_TEST_LOGIN=1 is refused when OPSHUB_ENV/NODE_ENV is production");
        return BASE_ERR_INVALID;
    }
    if (e->allow_test_login)
        base_log_warn("ALLOW_TEST_LOGIN is on: anyone can log in as any user without a password",
                      BASE_LOG_STR("route", "POST /api/v1/auth/test-login"));

    const char *jwt = getenv("JWT_SECRET");
    if (jwt && *jwt) {
        size_t len = strlen(jwt);
        if (len < AUTH_JWT_MIN_SECRET || len > AUTH_JWT_MAX_SECRET) {
            snprintf(err, errlen, "JWT_SECRET must be %d to %d characters long (it has %zu)",
                     AUTH_JWT_MIN_SECRET, AUTH_JWT_MAX_SECRET, len);
            return BASE_ERR_INVALID;
        }
        snprintf(e->jwt_secret, sizeof(e->jwt_secret), "%s", jwt);
    } else if (e->production) {
        snprintf(err, errlen, "JWT_SECRET (32+ characters) is required when OPSHUB_ENV/NODE_ENV is production");
        return BASE_ERR_INVALID;
    } else {
        int rc = jwt_from_file(e, data_dir, err, errlen);
        if (rc)
            return rc;
    }

    int krc = app_env_keyring(&e->keyring, e->production, data_dir, err, errlen);
    if (krc)
        return krc;
    e->have_key = true;

    const char *cors = c->server.cors_origins ? c->server.cors_origins : getenv("CORS_ORIGINS");
    if (cors && *cors) {
        e->cors_origins = base_strdup(cors);
        if (!e->cors_origins) {
            snprintf(err, errlen, "out of memory");
            return BASE_ERR_NOMEM;
        }
    }
    return 0;
}

void app_env_free(struct app_env *e)
{
    if (!e)
        return;
    OPENSSL_cleanse(e->jwt_secret, sizeof(e->jwt_secret));
    if (e->have_key)
        auth_secret_keyring_free(&e->keyring);
    base_free(e->cors_origins);
    memset(e, 0, sizeof(*e));
}
