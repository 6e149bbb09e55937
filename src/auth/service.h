/*
 * auth/service: identity on the daemon's loop. Keeps an in-memory mirror of
 * users, active API tokens and active sessions, loaded from the store and
 * reloaded whenever meta.auth_gen moves. Every authenticated request is
 * decided on a mirror that reflects a read of meta.auth_gen started after
 * the request arrived (one coalesced read serves every request waiting),
 * so a token or session revoked by another process (the CLI) is refused at
 * the next request; an API token the mirror does not hold is looked up by
 * its hash, within the bounds of auth/miss, so a token made a moment ago
 * works at once. These reads use a connection of the service's own
 * (auth/reader) when opts.store_url is set. Logins verify Argon2id on the
 * libuv thread pool and are throttled per account and per client address.
 * Writes (sessions, audit rows, last-used times) go to the store thread
 * through store_call. Never logs a secret. The functions live in
 * service.c (lifetime, timers), mirror.c, verify.c, login.c, audit.c and
 * csrf.c (the CSRF token of a browser session).
 */
#ifndef AUTH_SERVICE_H
#define AUTH_SERVICE_H

#include "auth/db.h"
#include "auth/role.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define AUTH_ACCESS_TOKEN_MAX 1024
/* How long a request waits for the read of meta.auth_gen that decides it
 * before the mirror as last loaded decides (the database hangs or is away). */
#define AUTH_FRESH_DEADLINE_MS 1000

enum auth_kind { AUTH_KIND_NONE = 0, AUTH_KIND_USER, AUTH_KIND_TOKEN };

/* Who is calling. For users, role is the user's current role (a demotion
 * takes effect on the next request, not when the access token expires). */
struct auth_principal {
    enum auth_kind kind;
    char id[AUTH_ID_MAX];          /* user id or token id */
    char name[AUTH_NAME_MAX];      /* username or token name */
    enum auth_role role;
    char session_id[AUTH_ID_MAX];  /* users only */
};

struct auth_opts {
    const char *jwt_secret;        /* >= 32 bytes; copied */
    int64_t access_ttl_ms;         /* 0 = 15 min */
    int64_t refresh_ttl_ms;        /* 0 = 30 days */
    int64_t poll_ms;               /* auth_gen poll; 0 = 1000 */
    int64_t audit_retention_ms;    /* 0 = keep */
    bool allow_test_login;         /* ALLOW_TEST_LOGIN=1 (refused in production by the app) */
    /* The database URL (as for store_new; copied): reads that decide
     * authentication use a connection of their own on a thread of their
     * own, so they never queue behind sample batches. NULL: they go to the
     * store thread through store_call. */
    const char *store_url;
};

/* Counters for /metrics. */
struct auth_stats {
    uint64_t attempts_success, attempts_failure, attempts_locked, attempts_invalid;
    uint64_t token_auth_ok, token_auth_fail;
    uint64_t reloads, reload_errors;
    uint64_t audit_written, audit_errors;
    /* API tokens the mirror did not hold, looked up in the store (auth/miss
     * bounds them): found and active (hit), absent, revoked or expired
     * (miss), failed; refused: not looked up (too many at once or the
     * budget spent) and decided on a freshly read mirror instead, or 503
     * before a body is read; negative_hits: answered 401 from the cache of
     * recent misses. */
    uint64_t lookup_hits, lookup_misses, lookup_errors, lookup_refused, negative_hits;
    /* Reads of meta.auth_gen (with the reload when it moved), ok or failed:
     * each request with credentials waits for one (fresh_waits counts the
     * waits; one read serves every request waiting), and the poll makes one
     * a second. stale: requests decided on the mirror as last loaded
     * because the read failed or took longer than AUTH_FRESH_DEADLINE_MS. */
    uint64_t fresh_reads, fresh_errors, fresh_waits, stale_decisions;
    bool failure_burst;            /* self-alert: many failed logins in the last minute */
    bool loaded;                   /* the mirror has been loaded at least once */
    size_t users, tokens, sessions;
};

struct auth;

struct auth *auth_new(uv_loop_t *loop, struct store *st, const struct auth_opts *o,
                      char *err, size_t errlen);
/* Loads the mirror and starts the poll timer. */
void auth_start(struct auth *a);
typedef void (*auth_close_cb)(void *data);
void auth_close(struct auth *a, auth_close_cb cb, void *data);
void auth_stats_get(const struct auth *a, struct auth_stats *out);

/* Authenticates an Authorization header value (may be NULL) for a
 * request that arrived now. cb gets 0 and the caller (p, valid during the
 * call), or BASE_ERR_NOT_FOUND (no credentials: 401), BASE_ERR_INVALID
 * (bad, expired, revoked or unknown credentials: 401; why says which,
 * without token text), BASE_ERR_UNAVAILABLE (the mirror is not loaded
 * yet: 503), BASE_ERR_CANCELED (the service is closing), BASE_ERR_NOMEM.
 * The decision reflects the database as read after this call: it waits
 * for the next read of meta.auth_gen (usually well under a millisecond;
 * at most AUTH_FRESH_DEADLINE_MS, after which the mirror as last loaded
 * decides and stale_decisions counts it). cb may run before this returns
 * (answers that need no read: no or malformed credentials, a bad
 * signature, a token in the cache of recent misses). Counts the result
 * and records an API token's use. Returns 0 (cb will run or has run) or
 * BASE_ERR_NOMEM (cb never runs). */
typedef void (*auth_authn_cb)(void *data, int status, const struct auth_principal *p, const char *why);
int auth_authenticate_start(struct auth *a, const char *authorization, auth_authn_cb cb, void *data);

/* The same decision on the mirror as it is, without waiting (it may miss
 * a change another process made in the last poll interval). Counts the
 * result and records an API token's use. */
int auth_authenticate(struct auth *a, const char *authorization, struct auth_principal *p,
                      const char **why);

/* An early look at a request whose full handling authenticates again with
 * auth_authenticate_start (the HTTP head check, before a body is read).
 * Refuses only what no fresher read can change: 0 with *p when the mirror
 * accepts the credentials; BASE_ERR_NOT_FOUND / BASE_ERR_INVALID for no,
 * malformed or badly signed credentials, an expired API token or one in
 * the cache of recent misses; BASE_ERR_BUSY for an API token the mirror
 * does not hold when no lookup may start now (503, retry); else
 * BASE_ERR_UNAVAILABLE: undecided, go on (an unknown token's lookup has
 * started meanwhile). Counts nothing. */
int auth_check(struct auth *a, const char *authorization, struct auth_principal *p, const char **why);

/* Brings the mirror up to date with a read of meta.auth_gen started after
 * this call (reloading it when the generation moved); cb (may be NULL)
 * runs after, with 0 or the read's error. */
typedef void (*auth_done_cb)(void *data, int status);
int auth_reload(struct auth *a, auth_done_cb cb, void *data);

/* Login and sessions. The result is only valid during the callback.
 * status: 0; BASE_ERR_INVALID (wrong username or password, disabled user:
 * the same answer for all three); BASE_ERR_BUSY (locked out for
 * retry_after_s); BASE_ERR_UNAVAILABLE (database down); BASE_ERR_NOMEM. */
struct auth_login_result {
    char access_token[AUTH_ACCESS_TOKEN_MAX];
    int64_t expires_in_s;
    char refresh_token[AUTH_TOKEN_MAX];
    int64_t refresh_expires_in_s;
    char session_id[AUTH_ID_MAX];  /* the session made or rotated (for its CSRF token) */
    struct auth_user user;         /* password_hash is cleared */
    int64_t retry_after_s;
};
typedef void (*auth_login_cb)(void *data, int status, const struct auth_login_result *r);
/* `audit` (NULL: none) is the audit row of the change, borrowed until cb
 * runs (login, refresh, logout alike): it is appended in the transaction
 * that makes, rotates or ends the session (login and refresh set its
 * target to "user <username>"), so a session change is never committed
 * without its row: if the row cannot be written, nothing changes and cb
 * gets BASE_ERR_IO. Once that transaction committed, audit->id is set
 * (non-zero) before cb runs; it stays 0 when nothing was written (a
 * refusal, a failure, or nothing to change: the caller writes that row
 * itself, with auth_audit). `test_login` skips the password (only when
 * allow_test_login). */
int auth_login(struct auth *a, const char *username, const char *password, size_t pwlen,
               const char *ip, bool test_login, struct auth_audit *audit, auth_login_cb cb, void *data);
/* Starts a session for a user a single sign-on vouched for (auth/sso):
 * creates the user `username` ("github:octocat") with `role` if it does
 * not exist, else sets its role to `role`; a local user of that name (one
 * with a password) or a disabled one gets BASE_ERR_EXISTS. No password and
 * no throttle. cb, audit: as for auth_login. 0, or BASE_ERR_INVALID /
 * UNAVAILABLE / CANCELED / NOMEM (cb never runs). In sso_session.c. */
int auth_login_sso(struct auth *a, const char *username, enum auth_role role, const char *ip,
                   struct auth_audit *audit, auth_login_cb cb, void *data);
/* Rotates a refresh token. Reusing any refresh token a rotation replaced
 * (the last one from the mirror, earlier ones from one indexed read)
 * revokes the whole session (it was stolen or replayed): BASE_ERR_INVALID,
 * and that revocation never depends on `audit` (it is not written). */
int auth_refresh(struct auth *a, const char *refresh_token, const char *ip, struct auth_audit *audit,
                 auth_login_cb cb, void *data);
/* Revokes the caller's session (users) — access and refresh tokens stop
 * working at once. For API tokens it is a no-op (`audit` is not written). */
int auth_logout(struct auth *a, const struct auth_principal *p, struct auth_audit *audit, auth_done_cb cb,
                void *data);

/* Hashes a password on the thread pool (Argon2id). cb gets the hash
 * (valid during the call) or an error. The password is copied and wiped. */
typedef void (*auth_hash_cb)(void *data, int status, const char *hash);
int auth_hash_password(struct auth *a, const char *pw, size_t len, auth_hash_cb cb, void *data);

/* Appends an audit row asynchronously (copied; fire and forget: a failure
 * is counted and logged). */
void auth_audit(struct auth *a, const struct auth_audit *entry);
/* Counts an audit row a caller wrote itself with auth_db_audit_append in
 * the transaction of its change (committed: ok). */
void auth_audit_count(struct auth *a, bool ok);
/* Fills who/role fields of an audit entry from a principal (NULL:
 * anonymous). */
void auth_audit_actor(struct auth_audit *e, const struct auth_principal *p);

/* The user with this id in the mirror, or NULL (borrowed until the next
 * reload: copy what you need). */
const struct auth_user *auth_user_find(const struct auth *a, const char *id);
const struct auth_user *auth_user_find_name(const struct auth *a, const char *username);
/* Users of the mirror in username order (for listing); borrowed. */
const struct auth_user *auth_users(const struct auth *a, size_t *n);

struct store *auth_store(const struct auth *a);

/* Labelled MACs (auth/csrf.c): HMAC-SHA256 under the signing key of
 * label, a NUL and msg, base64url (43 characters): tokens that need no
 * storage, such as a calendar feed's URL. Each use has its own label, so a
 * token of one is never valid for another. */
#define AUTH_MAC_TOKEN_MAX 48
#define AUTH_MAC_MSG_MAX 512
/* 0, BASE_ERR_INVALID (empty or too long msg), BASE_ERR_TOO_BIG, BASE_ERR_NOMEM. */
int auth_mac_token(const struct auth *a, const char *label, const char *msg, char *out, size_t n) WARN_UNUSED;
/* True when token (may be NULL) is msg's token under label; constant time. */
bool auth_mac_verify(const struct auth *a, const char *label, const char *msg, const char *token);

/* CSRF tokens of browser sessions (auth/csrf.c): HMAC-SHA256 under the
 * signing key of a label and the session id, base64url (43 characters),
 * so a token is bound to its session and needs no storage. */
#define AUTH_CSRF_TOKEN_MAX 48
/* Writes the token of session_id into out (n >= AUTH_CSRF_TOKEN_MAX).
 * 0, BASE_ERR_INVALID (no or too long session id), BASE_ERR_TOO_BIG,
 * BASE_ERR_NOMEM. */
int auth_csrf_token(const struct auth *a, const char *session_id, char *out, size_t n) WARN_UNUSED;
/* True when token (may be NULL) is session_id's token; compared in
 * constant time. */
bool auth_csrf_verify(const struct auth *a, const char *session_id, const char *token);
/* The id of the session whose current or last replaced refresh token is
 * refresh_token, as the mirror holds it (for the CSRF check of a refresh
 * by cookie). 0, BASE_ERR_INVALID (not a refresh token), BASE_ERR_NOT_FOUND
 * (unknown to the mirror), BASE_ERR_TOO_BIG. */
int auth_refresh_session(const struct auth *a, const char *refresh_token, char *sid, size_t n) WARN_UNUSED;

#endif
