/*
 * app/env: the security settings that come from the environment (the
 * names docs/api.md lists): JWT_SECRET, ENCRYPTION_KEY_BASE64, CORS_ORIGINS,
 * ENCRYPTION_KEY_OLD_BASE64, ALLOW_TEST_LOGIN, GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET
 * (single sign-on) and the production switch (OPSHUB_ENV or NODE_ENV =
 * production). Validates them once at start-up, before anything listens,
 * and refuses unsafe combinations. Outside production a missing JWT secret
 * is generated once and kept in DATA/jwt-secret (mode 0600). Never prints
 * or logs a secret value.
 */
#ifndef APP_ENV_H
#define APP_ENV_H

#include "auth/jwt.h"
#include "auth/secret.h"
#include "auth/sso.h"
#include "conf/conf.h"

#include <stdbool.h>
#include <stddef.h>

struct app_env {
    bool production;
    char jwt_secret[AUTH_JWT_MAX_SECRET + 1];
    bool jwt_generated;                   /* came from DATA/jwt-secret */
    struct auth_secret_keyring keyring;   /* valid when have_key */
    bool have_key;
    char *cors_origins;                   /* server.cors_origins, else CORS_ORIGINS; NULL = none */
    bool allow_test_login;
    bool test_clock;                      /* OPSHUB_TEST_CLOCK=1: POST /api/v1/debug/clock moves time */
};

/* 0, or BASE_ERR_INVALID / BASE_ERR_IO with a message naming the variable
 * (never its value). */
int app_env_load(struct app_env *e, const struct conf *c, const char *data_dir, char *err, size_t errlen);
/* The keyring for stored secrets: ENCRYPTION_KEY_BASE64 as the current key
 * (outside production, when unset, DATA/encryption-key: generated once,
 * mode 0600, when `create`; read-only commands pass false and get
 * BASE_ERR_NOT_FOUND when the file is absent, creating nothing), plus
 * every comma-separated key of ENCRYPTION_KEY_OLD_BASE64 for decrypting
 * during a rotation. Shared by serve and `opshub secrets`. 0 or
 * BASE_ERR_INVALID / BASE_ERR_IO / BASE_ERR_NOT_FOUND with a message that
 * names the variable or file, never a key. */
int app_env_keyring(struct auth_secret_keyring *kr, bool production, const char *data_dir, bool create,
                    char *err, size_t errlen);
/* The single sign-on options (auth/sso) from server.auth.github and
 * server.auth.oidc, with GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET for what
 * the file leaves out (they alone enable GitHub, which then refuses every
 * login until server.auth.github.roles says who may sign in: logged).
 * *o is filled (zeroed first); 0, or BASE_ERR_INVALID with a message that
 * names the setting, never a secret. */
int app_env_sso(const struct conf *c, struct auth_sso_opts *o, char *err, size_t errlen);
/* Wipes the secrets. Safe on a zeroed or failed env. */
void app_env_free(struct app_env *e);

#endif
