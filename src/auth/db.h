/*
 * auth/db: the stored side of identity and audit (users, API tokens,
 * sessions with rotating refresh tokens, the append-only audit log) as
 * blocking functions over a store_conn (store/sql.h). The daemon calls them
 * on the store thread through store_call; CLI commands call them on their
 * own connection. No secrets are stored: passwords as Argon2id strings,
 * tokens and refresh tokens as hex SHA-256. Every change to users, tokens
 * or sessions bumps meta.auth_gen in the same transaction, which is how a
 * running daemon notices a change made by another process.
 */
#ifndef AUTH_DB_H
#define AUTH_DB_H

#include "auth/password.h"
#include "auth/role.h"
#include "store/sql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_ID_MAX 40          /* "u_" / "t_" / "s_" + 24 hex, NUL included */
#define AUTH_NAME_MAX 65        /* usernames and token names: 1..64 bytes */
#define AUTH_HASH_HEX 65        /* SHA-256 hex + NUL */
#define AUTH_TOKEN_PREFIX_MAX 24
#define AUTH_ACTOR_MAX 96
#define AUTH_IP_MAX 64
#define AUTH_TEXT_MAX 256

struct auth_user {
    char id[AUTH_ID_MAX];
    char username[AUTH_NAME_MAX];
    enum auth_role role;
    char password_hash[AUTH_PASSWORD_HASH_MAX];
    bool disabled;
    int64_t created_at, updated_at, last_login_at; /* unix ms; last_login 0 = never */
};

/* Where pages reach a user (docs/incidents.md): an e-mail address, a Slack
 * member id, a phone number (E.164, for an SMS/voice webhook) and a
 * PagerDuty routing key (never shown back: only whether it is set). Empty
 * strings: none. */
#define AUTH_CONTACT_MAX 256
struct auth_contacts {
    char email[AUTH_CONTACT_MAX], slack[AUTH_CONTACT_MAX], phone[AUTH_CONTACT_MAX], pagerduty[AUTH_CONTACT_MAX];
    int64_t updated_at;
};
/* Why a contact method is unacceptable (NULL when all are fine), the field in *field. */
const char *auth_contacts_bad(const struct auth_contacts *c, const char **field);
/* An e-mail address opshub sends to: local@domain, printable ASCII without
 * <>"(),;:\[] or spaces, at most 254 bytes (no header can be injected). */
bool auth_email_ok(const char *email);

struct auth_token {
    char id[AUTH_ID_MAX];
    char name[AUTH_NAME_MAX];
    char prefix[AUTH_TOKEN_PREFIX_MAX];   /* the first characters of the token, for people */
    char hash[AUTH_HASH_HEX];
    enum auth_role role;
    char created_by[AUTH_ACTOR_MAX];
    int64_t created_at, expires_at, last_used_at, revoked_at; /* 0 = never / not */
};

struct auth_session {
    char id[AUTH_ID_MAX];                 /* the `jti`... of the session: "sid" in access tokens */
    char user_id[AUTH_ID_MAX];
    char refresh_hash[AUTH_HASH_HEX];
    char prev_hash[AUTH_HASH_HEX];        /* the refresh token it replaced ("" = none) */
    int64_t created_at, refreshed_at, expires_at, revoked_at;
    char ip[AUTH_IP_MAX];
};

struct auth_audit {
    int64_t id, ts;
    char actor[AUTH_ACTOR_MAX];
    char actor_kind[12];                  /* user, token, cli, system, anonymous */
    char role[12];
    char action[48];                      /* "user.create", "auth.login", ... */
    char target[AUTH_TEXT_MAX];
    char result[12];                      /* ok, denied, error */
    int status;                           /* HTTP status or CLI exit code */
    char ip[AUTH_IP_MAX];
    char request_id[72];
    char detail[AUTH_TEXT_MAX];
};

/* Everything the daemon keeps in memory: all users, tokens that are not
 * revoked, sessions that are neither revoked nor expired (at `now_ms`). */
struct auth_snapshot {
    int64_t gen;
    struct auth_user *users;
    size_t n_users;
    struct auth_token *tokens;
    size_t n_tokens;
    struct auth_session *sessions;
    size_t n_sessions;
};
void auth_snapshot_free(struct auth_snapshot *s);

/* Random ids and secrets. */
/* "<p>_" + 24 lowercase hex chars from the OS CSPRNG into out (AUTH_ID_MAX). */
int auth_db_new_id(char prefix, char *out, size_t n);
/* Hex SHA-256 of s[0..len) into out (AUTH_HASH_HEX). */
void auth_db_sha256_hex(const char *s, size_t len, char *out);

/* A new API token: "opshub_" + 43 base64url chars (256 random bits) into
 * token (>= AUTH_TOKEN_MAX), its first 14 characters into prefix and its
 * hex SHA-256 into hash. Refresh tokens use the same format with "ohr_". */
#define AUTH_TOKEN_MAX 64
#define AUTH_TOKEN_PREFIX "opshub_"
#define AUTH_REFRESH_PREFIX "ohr_"
int auth_db_token_generate(const char *scheme, char *token, size_t n, char *prefix, size_t prefix_n,
                           char *hash);

/* meta.auth_gen */
int auth_db_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen);
int auth_db_bump(struct store_conn *c, char *err, size_t errlen);
int auth_db_load(struct store_conn *c, int64_t now_ms, struct auth_snapshot *out, char *err, size_t errlen);

/* Users. insert: BASE_ERR_EXISTS when the username is taken. update writes
 * role, password_hash, disabled, updated_at, last_login_at by id
 * (BASE_ERR_NOT_FOUND). get_*: BASE_ERR_NOT_FOUND when absent. */
int auth_db_user_insert(struct store_conn *c, const struct auth_user *u, char *err, size_t errlen);
int auth_db_user_update(struct store_conn *c, const struct auth_user *u, char *err, size_t errlen);
int auth_db_user_get(struct store_conn *c, const char *id, struct auth_user *u, char *err, size_t errlen);
int auth_db_user_by_name(struct store_conn *c, const char *username, struct auth_user *u,
                         char *err, size_t errlen);
/* The contact methods of the user called username (all empty when none
 * were set): 0, or BASE_ERR_NOT_FOUND when there is no such user (or it is
 * disabled). */
int auth_db_contacts_get(struct store_conn *c, const char *username, struct auth_contacts *out, char *err,
                         size_t errlen);
/* Replaces the contact methods of the user with this id. */
int auth_db_contacts_put(struct store_conn *c, const char *user_id, const struct auth_contacts *in, char *err,
                         size_t errlen);
int auth_db_user_count_admins(struct store_conn *c, int64_t *n, char *err, size_t errlen);
/* Inside a transaction: holds the user's row against concurrent changes
 * (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
 * writers) and checks that the user is enabled and its password hash is
 * still `password_hash`: 0, else BASE_ERR_NOT_FOUND (also when the user is
 * gone). For a login whose password was verified off the database. */
int auth_db_user_lock_password(struct store_conn *c, const char *id, const char *password_hash, char *err,
                               size_t errlen);
/* Sets last_login_at (no meta.auth_gen bump: nothing the mirror decides on). */
int auth_db_user_logged_in(struct store_conn *c, const char *id, int64_t now_ms, char *err, size_t errlen);

/* Tokens. revoke sets revoked_at (BASE_ERR_NOT_FOUND when no such id or
 * already revoked). touch updates last_used_at when it is newer. */
int auth_db_token_insert(struct store_conn *c, const struct auth_token *t, char *err, size_t errlen);
int auth_db_token_get(struct store_conn *c, const char *id, struct auth_token *t, char *err, size_t errlen);
int auth_db_token_revoke(struct store_conn *c, const char *id, int64_t now_ms, char *err, size_t errlen);
int auth_db_token_touch(struct store_conn *c, const char *id, int64_t used_ms, char *err, size_t errlen);

/* One API token by its hex SHA-256, read in one statement together with
 * meta.auth_gen and, for a token made by a user ("user:<name>"), that
 * user's role and status: a consistent, current answer for one credential
 * (the daemon's lookup when its mirror does not hold the token). found is
 * false when no row has this hash; a revoked or expired row is found (the
 * caller decides). 0 or a store error. */
struct auth_token_lookup {
    int64_t gen;
    bool found;
    struct auth_token token;
    bool owner_found;            /* created_by "user:<name>" and that user exists */
    bool owner_disabled;
    enum auth_role owner_role;
};
int auth_db_token_lookup(struct store_conn *c, const char *hash, struct auth_token_lookup *out, char *err,
                         size_t errlen);

/* Sessions. rotate replaces the refresh hash (the old one becomes prev_hash
 * and is remembered in session_refresh_used) only if the session still has
 * `old_hash` and is active: BASE_ERR_NOT_FOUND otherwise (a concurrent
 * refresh won). revoke_user revokes every active session of a user
 * (password change, disable). */
int auth_db_session_insert(struct store_conn *c, const struct auth_session *s, char *err, size_t errlen);
int auth_db_session_rotate(struct store_conn *c, const char *id, const char *old_hash,
                           const char *new_hash, int64_t now_ms, int64_t expires_at,
                           char *err, size_t errlen);
int auth_db_session_revoke(struct store_conn *c, const char *id, int64_t now_ms, char *err, size_t errlen);
/* The session whose rotation replaced the refresh token with this hash, at
 * any depth, into session_id (n bytes): 0, or BASE_ERR_NOT_FOUND for a hash
 * no rotation replaced (never issued, or still current). */
int auth_db_session_by_used_refresh(struct store_conn *c, const char *hash, char *session_id, size_t n,
                                    char *err, size_t errlen);
int auth_db_session_revoke_user(struct store_conn *c, const char *user_id, int64_t now_ms,
                                char *err, size_t errlen);
/* Revokes the user's oldest active sessions beyond the newest `keep`. */
int auth_db_session_cap(struct store_conn *c, const char *user_id, int keep, int64_t now_ms, char *err,
                        size_t errlen);

/* Listing with keyset pagination: rows after `cursor` (NULL = from the
 * start) in a stable order, at most `limit` (1..1000); *more says whether
 * another page exists. Filters: NULL / -1 = any. Arrays are base_malloc'd. */
struct auth_list_opts {
    const char *cursor;      /* users: username; tokens: id order by created_at,id encoded "ms:id" */
    int limit;
    const char *role;        /* "viewer" ... or NULL */
    int flag;                /* users: disabled 0/1; tokens: revoked 0/1; -1 = any */
};
int auth_db_user_list(struct store_conn *c, const struct auth_list_opts *o, struct auth_user **out,
                      size_t *n, bool *more, char *err, size_t errlen);
int auth_db_token_list(struct store_conn *c, const struct auth_list_opts *o, struct auth_token **out,
                       size_t *n, bool *more, char *err, size_t errlen);

/* Audit. append fills a->id. query: newest first, ts in [from_ms, to_ms]
 * (0 = unbounded), optional exact actor / action (an action ending in ".*"
 * matches the prefix), id < before_id when before_id > 0 (the cursor).
 * purge deletes at most max_rows entries older than before_ms. */
struct auth_audit_query {
    int64_t from_ms, to_ms;
    const char *actor, *action;
    int64_t before_id;
    int limit;               /* 1..1000 */
};
int auth_db_audit_append(struct store_conn *c, struct auth_audit *a, char *err, size_t errlen);
int auth_db_audit_query(struct store_conn *c, const struct auth_audit_query *q, struct auth_audit **out,
                        size_t *n, bool *more, char *err, size_t errlen);
int auth_db_audit_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted,
                        char *err, size_t errlen);

#endif
