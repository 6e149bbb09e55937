/*
 * auth/login: password logins, refresh-token rotation and logout (see
 * service.h), the login throttle (per account, per account and address,
 * per address, with lockouts that grow), the failure-burst self-alert, and
 * Argon2id hashing on the libuv thread pool (at most HASHES_IN_FLIGHT_MAX
 * at once). Owns the throttle table and the burst ring. Sessions are
 * written on the store thread (auth/db), each change in one transaction
 * with the caller's audit row; the mirror is brought up to date before an
 * access token for a new session is handed out.
 */
#include "auth/auth_int.h"

#include "auth/password.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

/* Throttling of failed logins. */
#define THROTTLE_KEYS_MAX 10000
#define PAIR_FREE_FAILS 5       /* one account from one address */
#define ACCOUNT_FREE_FAILS 20   /* one account from anywhere: gentler, so others cannot lock it long */
#define IP_FREE_FAILS 20        /* one address, any account */
#define LOCK_MAX_S 900
#define ACCOUNT_LOCK_MAX_S 60
#define HASHES_IN_FLIGHT_MAX 2  /* Argon2id jobs on the libuv pool at once; more => 503 */
#define BURST_THRESHOLD 50

struct throttle {
    char key[AUTH_NAME_MAX + AUTH_IP_MAX + 8];
    bool verifying;           /* account entry: a password check is in flight */
    int fails;
    int64_t locked_until_ms;
    int64_t last_ms;
};

void auth_login_free(struct auth *a)
{
    for (size_t i = 0; i < a->throttle.cap; i++) {
        struct throttle *t = a->throttle.slots[i].value;
        const char *k = a->throttle.slots[i].key;
        if (k && t && k == t->key)
            base_free(t);
    }
    base_map_free(&a->throttle);
}

/* ---- login throttle ---- */

static struct throttle *throttle_get(struct auth *a, const char *kind, const char *name, bool create,
                                     int64_t now)
{
    char key[AUTH_NAME_MAX + AUTH_IP_MAX + 8];
    snprintf(key, sizeof(key), "%s:%s", kind, name);
    struct throttle *t = base_map_get(&a->throttle, key);
    if (t || !create)
        return t;
    if (a->throttle.len >= THROTTLE_KEYS_MAX) {
        /* Full: forget the entries that are neither locked nor recent. */
        for (size_t i = 0; i < a->throttle.cap; i++) {
            struct base_map_slot *sl = &a->throttle.slots[i];
            struct throttle *x = sl->value;
            if (x && sl->key == x->key && !x->verifying && x->locked_until_ms <= now &&
                now - x->last_ms > 15 * 60000) {
                base_map_remove(&a->throttle, x->key);
                base_free(x);
            }
        }
        if (a->throttle.len >= THROTTLE_KEYS_MAX)
            return NULL;
    }
    t = base_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    snprintf(t->key, sizeof(t->key), "%s", key);
    if (base_map_put(&a->throttle, t->key, t) != 0) {
        base_free(t);
        return NULL;
    }
    return t;
}

static int64_t lock_seconds(int fails, int free_fails, int64_t max_s)
{
    if (fails < free_fails)
        return 0;
    int shift = fails - free_fails;
    int64_t s = shift >= 10 ? max_s : (int64_t)1 << shift;
    return s > max_s ? max_s : s;
}

/* "user|address" for the per-pair entry. */
static void pair_name(char *out, size_t n, const char *username, const char *ip)
{
    snprintf(out, n, "%s|%s", username, ip);
}

static void burst_note(struct auth *a, int64_t now)
{
    int64_t sec = now / 1000;
    if (sec - a->burst_sec >= AUTH_BURST_WINDOW_S) {
        memset(a->burst, 0, sizeof(a->burst));
    } else {
        for (int64_t s = a->burst_sec + 1; s <= sec; s++)
            a->burst[s % AUTH_BURST_WINDOW_S] = 0;
    }
    if (sec > a->burst_sec)
        a->burst_sec = sec;
    a->burst[sec % AUTH_BURST_WINDOW_S]++;
    uint64_t total = 0;
    for (int i = 0; i < AUTH_BURST_WINDOW_S; i++)
        total += a->burst[i];
    bool burst = total >= BURST_THRESHOLD;
    if (burst && !a->stats.failure_burst)
        base_log_error("self-alert: burst of failed logins",
                       BASE_LOG_STR("alert", "AuthFailureBurst"), BASE_LOG_INT("failures_last_minute", total));
    a->stats.failure_burst = burst;
}

void auth_login_tick(struct auth *a, int64_t now)
{
    if (a->stats.failure_burst && now / 1000 - a->burst_sec >= AUTH_BURST_WINDOW_S) {
        a->stats.failure_burst = false;
        base_log_info("self-alert resolved: failed logins back to normal", BASE_LOG_STR("alert", "AuthFailureBurst"));
    }
}

/* Seconds the caller must wait, 0 when neither the account, this account
 * from this address, nor the address is locked. Fails closed (1 s) when the
 * table is full of fresh entries. */
static int64_t throttle_wait(struct auth *a, const char *username, const char *ip, int64_t now)
{
    int64_t wait = 0;
    char pair[AUTH_NAME_MAX + AUTH_IP_MAX + 2];
    pair_name(pair, sizeof(pair), username, ip);
    struct throttle *t[3] = {throttle_get(a, "u", username, false, now), throttle_get(a, "p", pair, false, now),
                             throttle_get(a, "ip", ip, false, now)};
    for (int i = 0; i < 3; i++)
        if (t[i] && t[i]->locked_until_ms > now) {
            int64_t w = (t[i]->locked_until_ms - now + 999) / 1000;
            wait = w > wait ? w : wait;
        }
    if (!wait && !t[0] && a->throttle.len >= THROTTLE_KEYS_MAX && !throttle_get(a, "u", username, true, now))
        wait = 1;
    return wait;
}

static void note_fail(struct throttle *t, int64_t now, int free_fails, int64_t max_s)
{
    if (!t)
        return;
    t->fails++;
    t->last_ms = now;
    int64_t s = lock_seconds(t->fails, free_fails, max_s);
    if (s)
        t->locked_until_ms = now + s * 1000;
}

static void throttle_fail(struct auth *a, const char *username, const char *ip, int64_t now)
{
    char pair[AUTH_NAME_MAX + AUTH_IP_MAX + 2];
    pair_name(pair, sizeof(pair), username, ip);
    note_fail(throttle_get(a, "u", username, true, now), now, ACCOUNT_FREE_FAILS, ACCOUNT_LOCK_MAX_S);
    note_fail(throttle_get(a, "p", pair, true, now), now, PAIR_FREE_FAILS, LOCK_MAX_S);
    note_fail(throttle_get(a, "ip", ip, true, now), now, IP_FREE_FAILS, LOCK_MAX_S);
    burst_note(a, now);
}

/* A success clears the account's entries, not the address's: one good
 * login must not wipe an address's failures against other accounts. */
static void throttle_ok(struct auth *a, const char *username, const char *ip)
{
    char pair[AUTH_NAME_MAX + AUTH_IP_MAX + 2];
    pair_name(pair, sizeof(pair), username, ip);
    struct throttle *t[2] = {throttle_get(a, "u", username, false, 0), throttle_get(a, "p", pair, false, 0)};
    for (int i = 0; i < 2; i++) {
        if (t[i] && !t[i]->verifying) {
            base_map_remove(&a->throttle, t[i]->key);
            base_free(t[i]);
        } else if (t[i]) {
            t[i]->fails = 0;
            t[i]->locked_until_ms = 0;
        }
    }
}

/* One password check per account at a time: parallel guesses cannot get
 * past the lockout before their failures are counted. */
static void verifying_set(struct auth *a, const char *username, bool on, int64_t now)
{
    struct throttle *t = throttle_get(a, "u", username, on, now);
    if (t) {
        t->verifying = on;
        t->last_ms = now;
    }
}

int auth_login_issue_access(struct auth *a, const struct auth_user *u, const char *sid, int64_t now,
                            struct auth_login_result *r)
{
    struct auth_jwt_claims cl;
    memset(&cl, 0, sizeof(cl));
    snprintf(cl.sub, sizeof(cl.sub), "%s", u->id);
    snprintf(cl.role, sizeof(cl.role), "%s", auth_role_name(u->role));
    snprintf(cl.aud, sizeof(cl.aud), "%s", AUTH_AUDIENCE);
    snprintf(cl.iss, sizeof(cl.iss), "%s", AUTH_ISSUER);
    snprintf(cl.jti, sizeof(cl.jti), "%s", sid);
    cl.iat = now / 1000;
    cl.nbf = now / 1000;
    cl.exp = (now + a->opts.access_ttl_ms) / 1000;
    r->expires_in_s = a->opts.access_ttl_ms / 1000;
    snprintf(r->session_id, sizeof(r->session_id), "%s", sid);
    r->user = *u;
    memset(r->user.password_hash, 0, sizeof(r->user.password_hash));
    return auth_jwt_sign(&a->key, &cl, r->access_token, sizeof(r->access_token));
}

/* ---- login, refresh, logout ---- */

/* LOGIN_REUSE: the token the last rotation replaced (the mirror knows it);
 * LOGIN_LOOKUP: a token the mirror does not know, looked up among every
 * token a rotation replaced, its session revoked when found. */
enum login_kind { LOGIN_PASSWORD, LOGIN_REFRESH, LOGIN_REUSE, LOGIN_LOOKUP };

struct login_job {
    struct auth_wait wait;    /* first: a password login waits for a current mirror */
    uv_work_t work;
    struct auth *a;
    enum login_kind kind;
    bool test_login;
    char username[AUTH_NAME_MAX];
    char ip[AUTH_IP_MAX];
    char password[AUTH_PASSWORD_MAX + 1];
    size_t pwlen;
    char hash[AUTH_PASSWORD_HASH_MAX];
    bool have_user;
    int verify_rc;
    /* The session written on the store thread. */
    struct auth_session session;
    char old_hash[AUTH_HASH_HEX];
    char user_id[AUTH_ID_MAX];
    bool revoked;             /* LOGIN_LOOKUP: an active session was revoked */
    int64_t now;
    struct auth_audit audit;  /* appended in the session's transaction when audit_out */
    struct auth_audit *audit_out; /* the caller's, borrowed until cb: gets the row's id */
    struct auth_login_result result;
    auth_login_cb cb;
    void *data;
};

static void login_job_free(struct login_job *j)
{
    OPENSSL_cleanse(j, sizeof(*j));
    base_free(j);
}

static void login_finish(struct login_job *j, int status)
{
    struct auth *a = j->a;
    if (status == 0)
        a->stats.attempts_success++;
    j->cb(j->data, status, &j->result);
    login_job_free(j);
    auth_release(a);
}

static void after_reload(void *data, int status)
{
    struct login_job *j = data;
    struct auth *a = j->a;
    if (j->kind == LOGIN_REUSE || j->kind == LOGIN_LOOKUP) {
        login_finish(j, BASE_ERR_INVALID);
        return;
    }
    (void)status; /* the session was committed; a failed reload only delays its use */
    const struct auth_user *u = auth_user_find(a, j->user_id);
    if (!u || u->disabled) {
        login_finish(j, BASE_ERR_INVALID);
        return;
    }
    int rc = auth_login_issue_access(a, u, j->session.id, j->now, &j->result);
    login_finish(j, rc ? BASE_ERR_NOMEM : 0);
}

/* An unknown refresh token: if a rotation replaced it (at any depth), it
 * was copied, so the session ends for every holder. The lookup runs
 * outside a transaction so that random tokens never take the write lock. */
static int lookup_work(struct store_conn *c, struct login_job *j, char *err, size_t errlen)
{
    int rc = auth_db_session_by_used_refresh(c, j->old_hash, j->session.id, sizeof(j->session.id), err, errlen);
    if (rc)
        return rc;
    rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    rc = auth_db_session_revoke(c, j->session.id, j->now, err, errlen);
    j->revoked = rc == 0;
    if (rc == BASE_ERR_NOT_FOUND)
        rc = 0; /* already revoked or expired */
    return store_sql_end(c, rc, err, errlen);
}

/* Appends the caller's audit row in the current transaction. Whatever made
 * it fail (a constraint or trigger included), the request fails as a
 * server error, not as a conflict or bad credentials. */
static int audit_append(struct store_conn *c, struct auth_audit *e, char *err, size_t errlen)
{
    int rc = auth_db_audit_append(c, e, err, errlen);
    return rc == 0 || rc == BASE_ERR_UNAVAILABLE || rc == BASE_ERR_NOMEM ? rc : BASE_ERR_IO;
}

/* "user <username>": the target of a session's audit row. */
static void audit_target(struct auth_audit *e, const char *username)
{
    snprintf(e->target, sizeof(e->target), "user %s", username);
}

/* Keeps a copy of the caller's row for the transaction. */
static void audit_take(struct login_job *j, struct auth_audit *audit)
{
    if (!audit)
        return;
    j->audit = *audit;
    j->audit_out = audit;
}

static int session_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct login_job *j = data;
    if (j->kind == LOGIN_LOOKUP)
        return lookup_work(c, j, err, errlen);
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    /* The password or status may have changed while Argon2 ran: the
     * session is made only for the credentials that were checked. */
    if (j->kind == LOGIN_PASSWORD && !j->test_login)
        rc = auth_db_user_lock_password(c, j->user_id, j->hash, err, errlen);
    if (rc == 0 && j->kind == LOGIN_PASSWORD) {
        rc = auth_db_session_insert(c, &j->session, err, errlen);
        if (!rc)
            rc = auth_db_session_cap(c, j->user_id, AUTH_SESSIONS_PER_USER, j->now, err, errlen);
        if (!rc)
            rc = auth_db_user_logged_in(c, j->user_id, j->now, err, errlen);
    } else if (rc == 0 && j->kind == LOGIN_REFRESH) {
        rc = auth_db_session_rotate(c, j->session.id, j->old_hash, j->session.refresh_hash, j->now,
                                    j->session.expires_at, err, errlen);
    } else if (rc == 0 && j->kind == LOGIN_REUSE) {
        rc = auth_db_session_revoke(c, j->session.id, j->now, err, errlen);
        if (rc == BASE_ERR_NOT_FOUND)
            rc = 0;
    }
    if (rc == 0 && j->audit_out && (j->kind == LOGIN_PASSWORD || j->kind == LOGIN_REFRESH))
        rc = audit_append(c, &j->audit, err, errlen);
    return store_sql_end(c, rc, err, errlen);
}

static void session_done(void *data, int status, const char *errmsg)
{
    struct login_job *j = data;
    if (status) {
        if (status != BASE_ERR_NOT_FOUND && status != BASE_ERR_UNAVAILABLE)
            base_log_warn("auth: session write failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
        login_finish(j, status == BASE_ERR_NOT_FOUND ? BASE_ERR_INVALID
                      : status == BASE_ERR_UNAVAILABLE ? BASE_ERR_UNAVAILABLE : BASE_ERR_IO);
        return;
    }
    if (j->audit_out && (j->kind == LOGIN_PASSWORD || j->kind == LOGIN_REFRESH))
        j->audit_out->id = j->audit.id; /* committed with the session */
    if (j->kind == LOGIN_LOOKUP) {
        if (!j->revoked) {
            login_finish(j, BASE_ERR_INVALID);
            return;
        }
        base_log_warn("auth: refresh token reuse, session revoked", BASE_LOG_STR("session", j->session.id),
                      BASE_LOG_STR("remote", j->ip));
    }
    if (auth_reload(j->a, after_reload, j) != 0)
        after_reload(j, BASE_ERR_NOMEM);
}

/* Creates the session row for a verified login (or the rotated one for a
 * refresh) on the store thread. */
static void session_submit(struct login_job *j)
{
    int rc = store_call(j->a->st, session_work, session_done, j);
    if (rc)
        login_finish(j, rc == BASE_ERR_NOMEM ? BASE_ERR_NOMEM : BASE_ERR_UNAVAILABLE);
}

static int new_refresh(struct auth *a, struct login_job *j)
{
    j->now = auth_now_ms();
    j->session.refreshed_at = j->now;
    /* Refreshing slides the expiry, but never past AUTH_SESSION_MAX_MS after the
     * login: a stolen refresh token cannot be kept alive for ever. */
    int64_t born = j->session.created_at ? j->session.created_at : j->now;
    int64_t expires = j->now + a->opts.refresh_ttl_ms;
    if (expires > born + AUTH_SESSION_MAX_MS)
        expires = born + AUTH_SESSION_MAX_MS;
    j->session.expires_at = expires;
    j->result.refresh_expires_in_s = (expires - j->now) / 1000;
    return auth_db_token_generate(AUTH_REFRESH_PREFIX, j->result.refresh_token,
                                  sizeof(j->result.refresh_token), NULL, 0, j->session.refresh_hash);
}

static void verify_work(uv_work_t *w)
{
    struct login_job *j = w->data;
    if (j->test_login) {
        j->verify_rc = 0;
        return;
    }
    if (j->have_user) {
        j->verify_rc = auth_password_verify(j->hash, j->password, j->pwlen);
    } else {
        /* Unknown or disabled user: spend the same time as a real check. */
        char dummy[AUTH_PASSWORD_HASH_MAX];
        int rc = auth_password_hash(j->password, j->pwlen, 0, 0, dummy, sizeof(dummy));
        (void)rc;
        j->verify_rc = AUTH_PASSWORD_ERR_MISMATCH;
    }
    OPENSSL_cleanse(j->password, sizeof(j->password));
}

static void verify_after(uv_work_t *w, int status)
{
    struct login_job *j = w->data;
    struct auth *a = j->a;
    int64_t now = auth_now_ms();
    a->hashing--;
    verifying_set(a, j->username, false, now);
    auth_login_tick(a, now);
    if (status != 0 || a->closing) {
        login_finish(j, BASE_ERR_CANCELED);
        return;
    }
    const struct auth_user *u = auth_user_find_name(a, j->username);
    if (j->verify_rc != 0 || !u || u->disabled) {
        a->stats.attempts_failure++;
        throttle_fail(a, j->username, j->ip, now);
        login_finish(j, BASE_ERR_INVALID);
        return;
    }
    throttle_ok(a, j->username, j->ip);
    snprintf(j->user_id, sizeof(j->user_id), "%s", u->id);
    snprintf(j->session.user_id, sizeof(j->session.user_id), "%s", u->id);
    snprintf(j->session.ip, sizeof(j->session.ip), "%s", j->ip);
    if (auth_db_new_id('s', j->session.id, sizeof(j->session.id)) != 0 || new_refresh(a, j) != 0) {
        login_finish(j, BASE_ERR_UNAVAILABLE);
        return;
    }
    j->session.created_at = j->now;
    if (j->audit_out)
        audit_target(&j->audit, u->username);
    session_submit(j);
}

static struct login_job *login_job_new(struct auth *a, enum login_kind kind, const char *ip,
                                       auth_login_cb cb, void *data)
{
    struct login_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->a = a;
    j->kind = kind;
    j->cb = cb;
    j->data = data;
    j->work.data = j;
    snprintf(j->ip, sizeof(j->ip), "%s", ip ? ip : "");
    auth_ref(a);
    return j;
}

/* The mirror reflects a read started after the login arrived (a user the
 * CLI added, enabled or disabled a moment ago counts): look the user up
 * and verify the password on the thread pool. */
static void login_resume(struct auth *a, struct auth_wait *w, int status)
{
    struct login_job *j = (struct login_job *)w;
    int rc = status == BASE_ERR_CANCELED || a->closing ? BASE_ERR_CANCELED : 0;
    const struct auth_user *u = auth_user_find_name(a, j->username);
    if (u && !u->disabled) {
        j->have_user = true;
        snprintf(j->hash, sizeof(j->hash), "%s", u->password_hash);
    } else if (j->test_login) {
        j->test_login = false; /* unknown user: fails below like any other */
        j->pwlen = 1;
        j->password[0] = 'x';
    }
    if (rc == 0 && uv_queue_work(a->loop, &j->work, verify_work, verify_after) != 0)
        rc = BASE_ERR_NOMEM;
    if (rc) {
        a->hashing--;
        verifying_set(a, j->username, false, auth_now_ms());
        login_finish(j, rc);
    }
}

int auth_login(struct auth *a, const char *username, const char *password, size_t pwlen,
               const char *ip, bool test_login, struct auth_audit *audit, auth_login_cb cb, void *data)
{
    if (audit)
        audit->id = 0; /* set only when the row commits */
    if (a->closing)
        return BASE_ERR_CANCELED;
    if (!a->loaded)
        return BASE_ERR_UNAVAILABLE;
    if (test_login && !a->opts.allow_test_login)
        return BASE_ERR_INVALID;
    if (!username || strlen(username) >= AUTH_NAME_MAX || (!test_login && (!pwlen || pwlen > AUTH_PASSWORD_MAX))) {
        a->stats.attempts_invalid++;
        return BASE_ERR_INVALID;
    }
    int64_t now = auth_now_ms();
    auth_login_tick(a, now);
    int64_t wait = throttle_wait(a, username, ip ? ip : "", now);
    struct throttle *acct = throttle_get(a, "u", username, false, now);
    if (wait == 0 && acct && acct->verifying)
        wait = 1; /* this account's previous attempt is still being checked */
    if (wait == 0 && a->hashing >= HASHES_IN_FLIGHT_MAX)
        return BASE_ERR_BUSY; /* the API answers 503: too many logins at once */
    if (wait > 0) {
        a->stats.attempts_locked++;
        struct auth_login_result r;
        memset(&r, 0, sizeof(r));
        r.retry_after_s = wait;
        cb(data, BASE_ERR_BUSY, &r);
        return 0;
    }
    struct login_job *j = login_job_new(a, LOGIN_PASSWORD, ip, cb, data);
    if (!j)
        return BASE_ERR_NOMEM;
    j->test_login = test_login;
    audit_take(j, audit);
    snprintf(j->username, sizeof(j->username), "%s", username);
    if (!test_login) {
        memcpy(j->password, password, pwlen);
        j->pwlen = pwlen;
    }
    /* Reserved now, so parallel guesses wait their turn (verifying) and the
     * pool cap holds while the mirror is brought up to date. */
    a->hashing++;
    verifying_set(a, j->username, true, now);
    j->wait.resume = login_resume;
    auth_mirror_wait(a, &j->wait);
    return 0;
}

int auth_refresh(struct auth *a, const char *refresh_token, const char *ip, struct auth_audit *audit,
                 auth_login_cb cb, void *data)
{
    if (audit)
        audit->id = 0;
    if (a->closing)
        return BASE_ERR_CANCELED;
    if (!a->loaded)
        return BASE_ERR_UNAVAILABLE;
    size_t len = refresh_token ? strlen(refresh_token) : 0;
    size_t plen = strlen(AUTH_REFRESH_PREFIX);
    if (len <= plen || len >= AUTH_TOKEN_MAX || strncmp(refresh_token, AUTH_REFRESH_PREFIX, plen) != 0)
        return BASE_ERR_INVALID;
    char hash[AUTH_HASH_HEX];
    auth_db_sha256_hex(refresh_token, len, hash);
    int64_t now = auth_now_ms();
    bool replaced = false;
    const struct auth_session *s = auth_mirror_session_by_refresh(a, hash, &replaced);
    enum login_kind kind = LOGIN_REFRESH;
    if (!s) {
        /* Unknown to the mirror: never issued, of an ended session, or
         * replaced more than one rotation ago. One indexed read tells. */
        struct login_job *j = login_job_new(a, LOGIN_LOOKUP, ip, cb, data);
        if (!j)
            return BASE_ERR_NOMEM;
        snprintf(j->old_hash, sizeof(j->old_hash), "%s", hash);
        j->now = now;
        session_submit(j);
        return 0;
    }
    if (replaced) {
        /* A replaced refresh token came back: someone holds a copy. End the
         * session for both holders (RFC 9700 §4.14.2). */
        kind = LOGIN_REUSE;
        base_log_warn("auth: refresh token reuse, session revoked", BASE_LOG_STR("session", s->id),
                      BASE_LOG_STR("remote", ip ? ip : ""));
    } else if (s->expires_at <= now) {
        return BASE_ERR_INVALID;
    }
    const struct auth_user *u = auth_user_find(a, s->user_id);
    if (!u || u->disabled)
        return BASE_ERR_INVALID;
    struct login_job *j = login_job_new(a, kind, ip, cb, data);
    if (!j)
        return BASE_ERR_NOMEM;
    j->session = *s;
    snprintf(j->user_id, sizeof(j->user_id), "%s", s->user_id);
    if (kind == LOGIN_REFRESH && audit) {
        audit_take(j, audit);
        audit_target(&j->audit, u->username);
    }
    snprintf(j->old_hash, sizeof(j->old_hash), "%s", hash);
    if (kind == LOGIN_REFRESH && new_refresh(a, j) != 0) {
        login_finish(j, BASE_ERR_UNAVAILABLE);
        return 0;
    }
    j->now = now;
    session_submit(j);
    return 0;
}

struct logout_job {
    struct auth *a;
    char session_id[AUTH_ID_MAX];
    int64_t now;
    struct auth_audit audit;      /* appended with the revocation when audit_out */
    struct auth_audit *audit_out; /* the caller's, borrowed until cb: gets the row's id */
    auth_done_cb cb;
    void *data;
    int status;
};

static int logout_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct logout_job *j = data;
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    rc = auth_db_session_revoke(c, j->session_id, j->now, err, errlen);
    if (rc == BASE_ERR_NOT_FOUND)
        rc = 0; /* already revoked or expired: the row still says who asked */
    if (rc == 0 && j->audit_out)
        rc = audit_append(c, &j->audit, err, errlen);
    return store_sql_end(c, rc, err, errlen);
}

static void logout_reloaded(void *data, int status)
{
    struct logout_job *j = data;
    (void)status;
    struct auth *a = j->a;
    if (j->cb)
        j->cb(j->data, j->status);
    base_free(j);
    auth_release(a);
}

static void logout_done(void *data, int status, const char *errmsg)
{
    struct logout_job *j = data;
    if (status && status != BASE_ERR_UNAVAILABLE)
        base_log_warn("auth: logout failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    if (status == 0 && j->audit_out)
        j->audit_out->id = j->audit.id;
    j->status = status;
    if (status || auth_reload(j->a, logout_reloaded, j) != 0)
        logout_reloaded(j, status);
}

int auth_logout(struct auth *a, const struct auth_principal *p, struct auth_audit *audit, auth_done_cb cb,
                void *data)
{
    if (audit)
        audit->id = 0;
    if (a->closing)
        return BASE_ERR_CANCELED;
    if (p->kind != AUTH_KIND_USER || !p->session_id[0]) {
        cb(data, 0);
        return 0;
    }
    struct logout_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->a = a;
    snprintf(j->session_id, sizeof(j->session_id), "%s", p->session_id);
    j->now = auth_now_ms();
    j->cb = cb;
    j->data = data;
    if (audit) {
        j->audit = *audit;
        j->audit_out = audit;
    }
    int rc = store_call(a->st, logout_work, logout_done, j);
    if (rc) {
        base_free(j);
        return rc;
    }
    auth_ref(a);
    return 0;
}

/* ---- password hashing for user management ---- */

struct hash_job {
    uv_work_t work;
    struct auth *a;
    char password[AUTH_PASSWORD_MAX + 1];
    size_t len;
    char hash[AUTH_PASSWORD_HASH_MAX];
    int rc;
    auth_hash_cb cb;
    void *data;
};

static void hash_work(uv_work_t *w)
{
    struct hash_job *j = w->data;
    j->rc = auth_password_hash(j->password, j->len, 0, 0, j->hash, sizeof(j->hash));
    OPENSSL_cleanse(j->password, sizeof(j->password));
}

static void hash_after(uv_work_t *w, int status)
{
    struct hash_job *j = w->data;
    struct auth *a = j->a;
    j->cb(j->data, status ? BASE_ERR_CANCELED : j->rc, j->rc == 0 ? j->hash : NULL);
    OPENSSL_cleanse(j, sizeof(*j));
    base_free(j);
    auth_release(a);
}

int auth_hash_password(struct auth *a, const char *pw, size_t len, auth_hash_cb cb, void *data)
{
    if (a->closing)
        return BASE_ERR_CANCELED;
    if (!len || len > AUTH_PASSWORD_MAX)
        return BASE_ERR_INVALID;
    struct hash_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->a = a;
    memcpy(j->password, pw, len);
    j->len = len;
    j->cb = cb;
    j->data = data;
    j->work.data = j;
    if (uv_queue_work(a->loop, &j->work, hash_work, hash_after) != 0) {
        OPENSSL_cleanse(j, sizeof(*j));
        base_free(j);
        return BASE_ERR_NOMEM;
    }
    auth_ref(a);
    return 0;
}

