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

/* The secret file DATA/name: read it, or (first start, when `create`)
 * create it with `raw_len` random bytes, base64url or standard base64,
 * mode 0600 and O_EXCL. Without `create` an absent file is an error
 * (BASE_ERR_NOT_FOUND) and nothing is made, not even the directory. `var`
 * names the environment variable in messages. The text, one line, goes to
 * out; the caller wipes it. */
static int secret_file(const char *data_dir, const char *name, const char *var, size_t raw_len, bool urlsafe,
                       bool create, char *out, size_t outlen, char *err, size_t errlen)
{
    char path[4096];
    const char *dir = data_dir ? data_dir : "data";
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && !create) {
        snprintf(err, errlen, "%s is not set and %s does not exist: no key was generated in this data directory"
                 " (is --data right?)", var, path);
        return BASE_ERR_NOT_FOUND;
    }
    if (fd < 0 && errno == ENOENT) {
        unsigned char raw[64];
        if (raw_len > sizeof(raw) || outlen < 4 * ((raw_len + 2) / 3) + 1)
            return BASE_ERR_TOO_BIG;
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s is not set and the data directory cannot be created: %s", var, strerror(errno));
            return BASE_ERR_IO;
        }
        bool rand_ok = RAND_bytes(raw, (int)raw_len) == 1 &&
                       (urlsafe ? auth_jwt_base64url_encode(raw, raw_len, out, outlen) >= 0
                                : EVP_EncodeBlock((unsigned char *)out, raw, (int)raw_len) > 0);
        OPENSSL_cleanse(raw, sizeof(raw));
        if (!rand_ok) {
            snprintf(err, errlen, "%s is not set and no randomness is available to make one", var);
            return BASE_ERR_IO;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        size_t len = strlen(out);
        bool ok = fd >= 0 && write(fd, out, len) == (ssize_t)len && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok) {
            OPENSSL_cleanse(out, outlen);
            snprintf(err, errlen, "%s is not set and %s cannot be written: %s", var, path, strerror(errno));
            return BASE_ERR_IO;
        }
        base_log_info("generated a secret into the data directory (set the variable to choose one)",
                      BASE_LOG_STR("variable", var), BASE_LOG_STR("file", path));
        return 0;
    }
    if (fd < 0) {
        snprintf(err, errlen, "%s is not set and %s cannot be read: %s", var, path, strerror(errno));
        return BASE_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        base_log_warn("a secret file is readable by others; chmod 600 it", BASE_LOG_STR("file", path));
    ssize_t n = read(fd, out, outlen - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return BASE_ERR_IO;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
    return 0;
}

static int jwt_from_file(struct app_env *e, const char *data_dir, char *err, size_t errlen)
{
    int rc = secret_file(data_dir, JWT_FILE, "JWT_SECRET", 48, true, true, e->jwt_secret, sizeof(e->jwt_secret),
                         err, errlen);
    if (rc)
        return rc;
    size_t n = strlen(e->jwt_secret);
    if (n < AUTH_JWT_MIN_SECRET) {
        snprintf(err, errlen, "%s/%s holds %zu characters; a JWT secret needs at least %d",
                 data_dir ? data_dir : "data", JWT_FILE, n, AUTH_JWT_MIN_SECRET);
        return BASE_ERR_INVALID;
    }
    e->jwt_generated = true;
    return 0;
}

static int key_from_file(struct auth_secret_keyring *kr, const char *data_dir, bool create, char *err,
                         size_t errlen)
{
    char text[128], why[200];
    int rc = secret_file(data_dir, KEY_FILE, "ENCRYPTION_KEY_BASE64", AUTH_SECRET_KEY_LEN, false, create, text,
                         sizeof(text), err, errlen);
    if (rc == 0 && auth_secret_keyring_init(kr, text, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s/%s: %s", data_dir ? data_dir : "data", KEY_FILE, why);
        rc = BASE_ERR_INVALID;
    }
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

int app_env_keyring(struct auth_secret_keyring *kr, bool production, const char *data_dir, bool create,
                    char *err, size_t errlen)
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
        int rc = key_from_file(kr, data_dir, create, err, errlen);
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

static int github_credentials(const struct conf_github *g, const char **id, const char **secret, char *err,
                              size_t errlen);

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

    e->test_clock = env_is("OPSHUB_TEST_CLOCK", "1") || env_is("OPSHUB_TEST_CLOCK", "true");
    if (e->test_clock && e->production) {
        snprintf(err, errlen, "OPSHUB_TEST_CLOCK=1 is refused when OPSHUB_ENV/NODE_ENV is production");
        return BASE_ERR_INVALID;
    }
    if (e->test_clock)
        base_log_warn("OPSHUB_TEST_CLOCK is on: an admin can move this process's clock forward",
                      BASE_LOG_STR("route", "POST /api/v1/debug/clock"));

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

    int krc = app_env_keyring(&e->keyring, e->production, data_dir, true, err, errlen);
    if (krc)
        return krc;
    e->have_key = true;

    const char *gh_id, *gh_secret;
    if (github_credentials(&c->server.github, &gh_id, &gh_secret, err, errlen) < 0)
        return BASE_ERR_INVALID;

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

/* Copies src (may be NULL: "") into dst; false when it does not fit. */
static bool fits(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n)
        return false;
    memcpy(dst, src ? src : "", len + 1);
    return true;
}

static int sso_roles(const struct conf_sso_role *in, size_t n, struct auth_sso_rule *out, size_t *n_out)
{
    if (n > AUTH_SSO_ROLES_MAX)
        return BASE_ERR_TOO_BIG;
    for (size_t i = 0; i < n; i++) {
        if (!fits(out[i].org, sizeof(out[i].org), in[i].org) || !fits(out[i].team, sizeof(out[i].team), in[i].team) ||
            !fits(out[i].value, sizeof(out[i].value), in[i].value))
            return BASE_ERR_TOO_BIG;
        out[i].role = (enum auth_role)in[i].role;
    }
    *n_out = n;
    return 0;
}

/* GitHub's client id and secret: the file's, else the environment's.
 * 1 when GitHub is on (the block, or GITHUB_CLIENT_ID), 0 when off, or
 * BASE_ERR_INVALID when on without both. */
static int github_credentials(const struct conf_github *g, const char **id, const char **secret, char *err,
                              size_t errlen)
{
    *id = g->client_id ? g->client_id : getenv("GITHUB_CLIENT_ID");
    *secret = g->client_secret ? g->client_secret : getenv("GITHUB_CLIENT_SECRET");
    if (!g->set && (!*id || !**id))
        return 0;
    if (!*id || !**id || !*secret || !**secret) {
        snprintf(err, errlen, "GitHub sign-on needs a client id and secret (server.auth.github.client_id and "
                 "client_secret, or GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET)");
        return BASE_ERR_INVALID;
    }
    return 1;
}

static int sso_github(const struct conf_github *g, struct auth_sso_opts *o, char *err, size_t errlen)
{
    const char *id, *secret;
    int on = github_credentials(g, &id, &secret, err, errlen);
    if (on <= 0)
        return on;
    o->github.enabled = true;
    if (!fits(o->github.client_id, sizeof(o->github.client_id), id) ||
        !fits(o->github.client_secret, sizeof(o->github.client_secret), secret) ||
        !fits(o->github.api_url, sizeof(o->github.api_url), g->api_url) ||
        !fits(o->github.oauth_url, sizeof(o->github.oauth_url), g->oauth_url) ||
        sso_roles(g->roles, g->n_roles, o->github.roles, &o->github.n_roles) != 0) {
        snprintf(err, errlen, "server.auth.github: a value is too long");
        return BASE_ERR_INVALID;
    }
    if (!g->set)
        base_log_warn("GITHUB_CLIENT_ID is set but server.auth.github.roles is not: every GitHub sign-in is "
                      "refused until the roles say which organisations and teams may sign in");
    return 0;
}

static int sso_oidc(const struct conf_oidc *c, struct auth_sso_opts *o, char *err, size_t errlen)
{
    if (!c->set)
        return 0;
    o->oidc.enabled = true;
    o->oidc.default_role = (enum auth_role)c->default_role;
    bool ok = fits(o->oidc.name, sizeof(o->oidc.name), c->name) &&
              fits(o->oidc.issuer, sizeof(o->oidc.issuer), c->issuer) &&
              fits(o->oidc.client_id, sizeof(o->oidc.client_id), c->client_id) &&
              fits(o->oidc.client_secret, sizeof(o->oidc.client_secret), c->client_secret) &&
              fits(o->oidc.role_claim, sizeof(o->oidc.role_claim), c->role_claim) &&
              sso_roles(c->roles, c->n_roles, o->oidc.roles, &o->oidc.n_roles) == 0;
    size_t used = 0;
    for (size_t i = 0; ok && i < c->n_scopes; i++) {
        int w = snprintf(o->oidc.scopes + used, sizeof(o->oidc.scopes) - used, "%s%s", i ? " " : "", c->scopes[i]);
        ok = w >= 0 && (size_t)w < sizeof(o->oidc.scopes) - used;
        used += ok ? (size_t)w : 0;
    }
    if (!ok) {
        snprintf(err, errlen, "server.auth.oidc: a value is too long");
        return BASE_ERR_INVALID;
    }
    return 0;
}

int app_env_sso(const struct conf *c, struct auth_sso_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    if (!fits(o->base_url, sizeof(o->base_url), c->server.base_url)) {
        snprintf(err, errlen, "server.base_url is too long");
        return BASE_ERR_INVALID;
    }
    int rc = sso_github(&c->server.github, o, err, errlen);
    return rc ? rc : sso_oidc(&c->server.oidc, o, err, errlen);
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
