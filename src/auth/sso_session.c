/*
 * auth/sso_session: the session of a single sign-on (auth_login_sso). In
 * one transaction on the store thread: the user "<provider>:<name>" is
 * made (role as mapped, password hash AUTH_SSO_PASSWORD_HASH, which no
 * password matches) or found and given the mapped role; a local user of
 * that name (a real password hash) or a disabled one is refused; then the
 * session, its cap and the audit row, as for a password login. The mirror
 * is reloaded before the access token is signed, like login.c does.
 */
#include "auth/auth_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

struct sso_job {
    struct auth *a;
    struct auth_user user;
    struct auth_session session;
    int64_t now;
    bool refused;                 /* a local or disabled user of that name */
    struct auth_audit audit;
    struct auth_audit *audit_out;
    struct auth_login_result result;
    auth_login_cb cb;
    void *data;
};

static void job_finish(struct sso_job *j, int status)
{
    struct auth *a = j->a;
    if (status == 0)
        a->stats.attempts_success++;
    j->cb(j->data, status, &j->result);
    OPENSSL_cleanse(j, sizeof(*j));
    base_free(j);
    auth_release(a);
}

/* Makes or updates the user; BASE_ERR_EXISTS when it may not sign in. */
static int user_upsert(struct store_conn *c, struct sso_job *j, char *err, size_t errlen)
{
    struct auth_user u;
    enum auth_role role = j->user.role;
    int rc = auth_db_user_by_name(c, j->user.username, &u, err, errlen);
    if (rc == BASE_ERR_NOT_FOUND)
        return auth_db_user_insert(c, &j->user, err, errlen);
    if (rc)
        return rc;
    if (strcmp(u.password_hash, AUTH_SSO_PASSWORD_HASH) != 0 || u.disabled) {
        j->refused = true;
        return BASE_ERR_EXISTS;
    }
    j->user = u;
    if (u.role == role)
        return 0;
    j->user.role = role; /* the provider's groups decide, at every sign-in */
    j->user.updated_at = j->now;
    return auth_db_user_update(c, &j->user, err, errlen);
}

static int sso_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct sso_job *j = data;
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    rc = user_upsert(c, j, err, errlen);
    if (rc == 0) {
        snprintf(j->session.user_id, sizeof(j->session.user_id), "%s", j->user.id);
        rc = auth_db_session_insert(c, &j->session, err, errlen);
    }
    if (rc == 0)
        rc = auth_db_session_cap(c, j->user.id, AUTH_SESSIONS_PER_USER, j->now, err, errlen);
    if (rc == 0)
        rc = auth_db_user_logged_in(c, j->user.id, j->now, err, errlen);
    if (rc == 0 && j->audit_out) {
        rc = auth_db_audit_append(c, &j->audit, err, errlen);
        if (rc && rc != BASE_ERR_UNAVAILABLE && rc != BASE_ERR_NOMEM)
            rc = BASE_ERR_IO;
    }
    return store_sql_end(c, rc, err, errlen);
}

static void after_reload(void *data, int status)
{
    struct sso_job *j = data;
    (void)status; /* committed; a failed reload only delays the session's use */
    const struct auth_user *u = auth_user_find(j->a, j->user.id);
    if (!u || u->disabled) {
        job_finish(j, BASE_ERR_INVALID);
        return;
    }
    int rc = auth_login_issue_access(j->a, u, j->session.id, j->now, &j->result);
    job_finish(j, rc ? BASE_ERR_NOMEM : 0);
}

static void sso_done(void *data, int status, const char *errmsg)
{
    struct sso_job *j = data;
    if (status) {
        if (!j->refused && status != BASE_ERR_UNAVAILABLE)
            base_log_warn("auth: sign-on session write failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
        job_finish(j, j->refused ? BASE_ERR_EXISTS : status == BASE_ERR_UNAVAILABLE ? BASE_ERR_UNAVAILABLE
                                                                                     : BASE_ERR_IO);
        return;
    }
    if (j->audit_out)
        j->audit_out->id = j->audit.id;
    if (auth_reload(j->a, after_reload, j) != 0)
        after_reload(j, BASE_ERR_NOMEM);
}

int auth_login_sso(struct auth *a, const char *username, enum auth_role role, const char *ip,
                   struct auth_audit *audit, auth_login_cb cb, void *data)
{
    if (audit)
        audit->id = 0;
    if (a->closing)
        return BASE_ERR_CANCELED;
    if (!a->loaded)
        return BASE_ERR_UNAVAILABLE;
    if (!username || !*username || strlen(username) >= AUTH_NAME_MAX || role < AUTH_ROLE_VIEWER ||
        role > AUTH_ROLE_ADMIN)
        return BASE_ERR_INVALID;
    struct sso_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->a = a;
    j->cb = cb;
    j->data = data;
    j->now = auth_now_ms();
    snprintf(j->user.username, sizeof(j->user.username), "%s", username);
    snprintf(j->user.password_hash, sizeof(j->user.password_hash), "%s", AUTH_SSO_PASSWORD_HASH);
    j->user.role = role;
    j->user.created_at = j->user.updated_at = j->now;
    j->session.created_at = j->session.refreshed_at = j->now;
    j->session.expires_at = j->now + a->opts.refresh_ttl_ms;
    snprintf(j->session.ip, sizeof(j->session.ip), "%s", ip ? ip : "");
    j->result.refresh_expires_in_s = a->opts.refresh_ttl_ms / 1000;
    if (audit) {
        j->audit = *audit;
        j->audit_out = audit;
        snprintf(j->audit.target, sizeof(j->audit.target), "user %s", username);
    }
    if (auth_db_new_id('u', j->user.id, sizeof(j->user.id)) != 0 ||
        auth_db_new_id('s', j->session.id, sizeof(j->session.id)) != 0 ||
        auth_db_token_generate(AUTH_REFRESH_PREFIX, j->result.refresh_token, sizeof(j->result.refresh_token), NULL,
                               0, j->session.refresh_hash) != 0) {
        OPENSSL_cleanse(j, sizeof(*j));
        base_free(j);
        return BASE_ERR_UNAVAILABLE;
    }
    auth_ref(a);
    int rc = store_call(a->st, sso_work, sso_done, j);
    if (rc) {
        OPENSSL_cleanse(j, sizeof(*j));
        base_free(j);
        auth_release(a);
        return rc == BASE_ERR_NOMEM ? BASE_ERR_NOMEM : BASE_ERR_UNAVAILABLE;
    }
    return 0;
}
