/*
 * auth/db: SQL for users, API tokens, sessions and the audit log, written
 * once with `?` placeholders for both dialects (store/sql); the only SQL of
 * src/auth. Blocking: runs on the store thread, on the identity service's
 * reader thread (auth/reader) or in a CLI process, never on the loop. Values are
 * always bound; secrets never reach an error message (store/sql names only
 * the statement).
 */
#include "auth/db.h"

#include "auth/jwt.h"
#include "base/alloc.h"
#include "base/err.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 1000

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

int auth_db_new_id(char prefix, char *out, size_t n)
{
    unsigned char raw[12];
    if (n < 28 || RAND_bytes(raw, sizeof(raw)) != 1)
        return BASE_ERR_UNAVAILABLE;
    static const char hex[] = "0123456789abcdef";
    out[0] = prefix;
    out[1] = '_';
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 + 2 * i] = hex[raw[i] >> 4];
        out[3 + 2 * i] = hex[raw[i] & 15];
    }
    out[2 + 2 * sizeof(raw)] = '\0';
    return 0;
}

void auth_db_sha256_hex(const char *s, size_t len, char *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int auth_db_token_generate(const char *scheme, char *token, size_t n, char *prefix, size_t prefix_n,
                           char *hash)
{
    unsigned char raw[32];
    char b64[48];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return BASE_ERR_UNAVAILABLE;
    int len = auth_jwt_base64url_encode(raw, sizeof(raw), b64, sizeof(b64));
    OPENSSL_cleanse(raw, sizeof(raw));
    if (len < 0)
        return len;
    int w = snprintf(token, n, "%s%s", scheme, b64);
    OPENSSL_cleanse(b64, sizeof(b64));
    if (w < 0 || (size_t)w >= n)
        return BASE_ERR_TOO_BIG;
    if (prefix)
        snprintf(prefix, prefix_n, "%.14s", token);
    auth_db_sha256_hex(token, (size_t)w, hash);
    return 0;
}

void auth_snapshot_free(struct auth_snapshot *s)
{
    if (!s)
        return;
    if (s->users)
        for (size_t i = 0; i < s->n_users; i++) /* password hashes are not secrets, but still */
            memset(s->users[i].password_hash, 0, sizeof(s->users[i].password_hash));
    base_free(s->users);
    base_free(s->tokens);
    base_free(s->sessions);
    memset(s, 0, sizeof(*s));
}

/* ---- meta ---- */

int auth_db_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT value FROM meta WHERE key = 'auth_gen'", NULL, 0, &r, err, errlen);
    *gen = rc == 0 && r.rows ? store_result_int(&r, 0, 0) : 0;
    store_result_free(&r);
    return rc;
}

int auth_db_bump(struct store_conn *c, char *err, size_t errlen)
{
    return store_sql_exec(c, "UPDATE meta SET value = value + 1 WHERE key = 'auth_gen'", NULL, 0, NULL,
                          err, errlen);
}

/* ---- row readers ---- */

#define USER_COLS "id, username, role, password_hash, disabled, created_at, updated_at, last_login_at"
#define TOKEN_COLS "id, name, prefix, token_hash, role, created_by, created_at, expires_at," \
                   " last_used_at, revoked_at"
#define SESSION_COLS "id, user_id, refresh_hash, prev_refresh_hash, created_at, refreshed_at," \
                     " expires_at, revoked_at, ip"
#define AUDIT_COLS "id, ts, actor, actor_kind, role, action, target, result, status, ip, request_id, detail"

static void role_read(const char *s, enum auth_role *out)
{
    if (!auth_role_parse(s, out))
        *out = AUTH_ROLE_VIEWER; /* the CHECK constraint makes this unreachable; least privilege */
}

static void user_read(const struct store_result *r, size_t i, struct auth_user *u)
{
    memset(u, 0, sizeof(*u));
    copy_text(u->id, sizeof(u->id), store_result_text(r, i, 0));
    copy_text(u->username, sizeof(u->username), store_result_text(r, i, 1));
    role_read(store_result_text(r, i, 2), &u->role);
    copy_text(u->password_hash, sizeof(u->password_hash), store_result_text(r, i, 3));
    u->disabled = store_result_int(r, i, 4) != 0;
    u->created_at = store_result_int(r, i, 5);
    u->updated_at = store_result_int(r, i, 6);
    u->last_login_at = store_result_int(r, i, 7);
}

/* The TOKEN_COLS of row i, starting at column `col`. */
static void token_read_at(const struct store_result *r, size_t i, size_t col, struct auth_token *t)
{
    memset(t, 0, sizeof(*t));
    copy_text(t->id, sizeof(t->id), store_result_text(r, i, col));
    copy_text(t->name, sizeof(t->name), store_result_text(r, i, col + 1));
    copy_text(t->prefix, sizeof(t->prefix), store_result_text(r, i, col + 2));
    copy_text(t->hash, sizeof(t->hash), store_result_text(r, i, col + 3));
    role_read(store_result_text(r, i, col + 4), &t->role);
    copy_text(t->created_by, sizeof(t->created_by), store_result_text(r, i, col + 5));
    t->created_at = store_result_int(r, i, col + 6);
    t->expires_at = store_result_int(r, i, col + 7);
    t->last_used_at = store_result_int(r, i, col + 8);
    t->revoked_at = store_result_int(r, i, col + 9);
}

static void token_read(const struct store_result *r, size_t i, struct auth_token *t)
{
    token_read_at(r, i, 0, t);
}

static void session_read(const struct store_result *r, size_t i, struct auth_session *s)
{
    memset(s, 0, sizeof(*s));
    copy_text(s->id, sizeof(s->id), store_result_text(r, i, 0));
    copy_text(s->user_id, sizeof(s->user_id), store_result_text(r, i, 1));
    copy_text(s->refresh_hash, sizeof(s->refresh_hash), store_result_text(r, i, 2));
    copy_text(s->prev_hash, sizeof(s->prev_hash), store_result_text(r, i, 3));
    s->created_at = store_result_int(r, i, 4);
    s->refreshed_at = store_result_int(r, i, 5);
    s->expires_at = store_result_int(r, i, 6);
    s->revoked_at = store_result_int(r, i, 7);
    copy_text(s->ip, sizeof(s->ip), store_result_text(r, i, 8));
}

static void audit_read(const struct store_result *r, size_t i, struct auth_audit *a)
{
    memset(a, 0, sizeof(*a));
    a->id = store_result_int(r, i, 0);
    a->ts = store_result_int(r, i, 1);
    copy_text(a->actor, sizeof(a->actor), store_result_text(r, i, 2));
    copy_text(a->actor_kind, sizeof(a->actor_kind), store_result_text(r, i, 3));
    copy_text(a->role, sizeof(a->role), store_result_text(r, i, 4));
    copy_text(a->action, sizeof(a->action), store_result_text(r, i, 5));
    copy_text(a->target, sizeof(a->target), store_result_text(r, i, 6));
    copy_text(a->result, sizeof(a->result), store_result_text(r, i, 7));
    a->status = (int)store_result_int(r, i, 8);
    copy_text(a->ip, sizeof(a->ip), store_result_text(r, i, 9));
    copy_text(a->request_id, sizeof(a->request_id), store_result_text(r, i, 10));
    copy_text(a->detail, sizeof(a->detail), store_result_text(r, i, 11));
}

/* Runs a query and converts every row with `read` into a new array of
 * `size`-byte elements. */
static int select_all(struct store_conn *c, const char *sql, const struct store_param *p, size_t np,
                      size_t size, void (*read)(const struct store_result *, size_t, void *),
                      void **out, size_t *n, char *err, size_t errlen)
{
    struct store_result r = {0};
    *out = NULL;
    *n = 0;
    int rc = store_sql_exec(c, sql, p, np, &r, err, errlen);
    if (rc == 0 && r.rows) {
        *out = base_calloc(r.rows, size);
        if (!*out)
            rc = BASE_ERR_NOMEM;
        else
            for (size_t i = 0; i < r.rows; i++)
                read(&r, i, (char *)*out + i * size);
        if (*out)
            *n = r.rows;
    }
    store_result_free(&r);
    return rc;
}

static void user_read_v(const struct store_result *r, size_t i, void *o) { user_read(r, i, o); }
static void token_read_v(const struct store_result *r, size_t i, void *o) { token_read(r, i, o); }
static void session_read_v(const struct store_result *r, size_t i, void *o) { session_read(r, i, o); }
static void audit_read_v(const struct store_result *r, size_t i, void *o) { audit_read(r, i, o); }

int auth_db_load(struct store_conn *c, int64_t now_ms, struct auth_snapshot *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int rc = auth_db_gen(c, &out->gen, err, errlen);
    if (rc)
        return rc;
    struct store_param now = STORE_P_INT(now_ms);
    void *p = NULL;
    rc = select_all(c, "SELECT " USER_COLS " FROM users ORDER BY username", NULL, 0,
                    sizeof(struct auth_user), user_read_v, &p, &out->n_users, err, errlen);
    out->users = p;
    if (!rc) {
        rc = select_all(c, "SELECT " TOKEN_COLS " FROM api_tokens WHERE revoked_at IS NULL"
                        " AND (expires_at IS NULL OR expires_at > ?)", &now, 1,
                        sizeof(struct auth_token), token_read_v, &p, &out->n_tokens, err, errlen);
        out->tokens = p;
    }
    if (!rc) {
        rc = select_all(c, "SELECT " SESSION_COLS " FROM sessions WHERE revoked_at IS NULL"
                        " AND expires_at > ?", &now, 1,
                        sizeof(struct auth_session), session_read_v, &p, &out->n_sessions, err, errlen);
        out->sessions = p;
    }
    if (rc)
        auth_snapshot_free(out);
    return rc;
}

static int update_one(struct store_conn *c, const char *sql, const struct store_param *p, size_t np,
                      bool bump, char *err, size_t errlen);

/* ---- users ---- */

int auth_db_user_insert(struct store_conn *c, const struct auth_user *u, char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_TEXT(u->id), STORE_P_TEXT(u->username), STORE_P_TEXT(auth_role_name(u->role)),
        STORE_P_TEXT(u->password_hash), STORE_P_INT(u->disabled ? 1 : 0), STORE_P_INT(u->created_at),
        STORE_P_INT(u->updated_at),
    };
    int rc = store_sql_exec(c, "INSERT INTO users (id, username, role, password_hash, disabled,"
                            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            p, sizeof(p) / sizeof(p[0]), NULL, err, errlen);
    return rc ? rc : auth_db_bump(c, err, errlen);
}

int auth_db_user_update(struct store_conn *c, const struct auth_user *u, char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_TEXT(auth_role_name(u->role)), STORE_P_TEXT(u->password_hash),
        STORE_P_INT(u->disabled ? 1 : 0), STORE_P_INT(u->updated_at),
        u->last_login_at ? STORE_P_INT(u->last_login_at) : STORE_P_NULL(), STORE_P_TEXT(u->id),
    };
    struct store_result r = {0};
    int rc = store_sql_exec(c, "UPDATE users SET role = ?, password_hash = ?, disabled = ?,"
                            " updated_at = ?, last_login_at = ? WHERE id = ?",
                            p, sizeof(p) / sizeof(p[0]), &r, err, errlen);
    int64_t changes = r.changes;
    store_result_free(&r);
    if (!rc && changes == 0)
        rc = BASE_ERR_NOT_FOUND;
    return rc ? rc : auth_db_bump(c, err, errlen);
}

static int user_get_where(struct store_conn *c, const char *sql, const char *key, struct auth_user *u,
                          char *err, size_t errlen)
{
    struct store_param p = STORE_P_TEXT(key);
    struct store_result r = {0};
    int rc = store_sql_exec(c, sql, &p, 1, &r, err, errlen);
    if (!rc && r.rows == 0)
        rc = BASE_ERR_NOT_FOUND;
    if (!rc)
        user_read(&r, 0, u);
    store_result_free(&r);
    return rc;
}

int auth_db_user_get(struct store_conn *c, const char *id, struct auth_user *u, char *err, size_t errlen)
{
    return user_get_where(c, "SELECT " USER_COLS " FROM users WHERE id = ?", id, u, err, errlen);
}

int auth_db_user_by_name(struct store_conn *c, const char *username, struct auth_user *u,
                         char *err, size_t errlen)
{
    return user_get_where(c, "SELECT " USER_COLS " FROM users WHERE username = ?", username, u, err, errlen);
}

/* ---- contact methods ---- */

static bool all_of(const char *s, const char *set, size_t lo, size_t hi)
{
    size_t n = strlen(s);
    if (n < lo || n > hi)
        return false;
    for (; *s; s++)
        if (!strchr(set, *s))
            return false;
    return true;
}

bool auth_email_ok(const char *email)
{
    const char *at = strchr(email, '@');
    bool ok = at && at != email && at[1] && !strchr(at + 1, '@') && strlen(email) <= 254;
    for (const char *p = email; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && !strchr("<>\"(),;:\\[]", *p);
    return ok;
}

const char *auth_contacts_bad(const struct auth_contacts *c, const char **field)
{
    static const char upper_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (c->email[0] && !auth_email_ok(c->email))
        return *field = "email", "email must be an address local@domain";
    if (c->slack[0] && !((c->slack[0] == 'U' || c->slack[0] == 'W') && all_of(c->slack + 1, upper_digits, 2, 20)))
        return *field = "slack", "slack must be a Slack member id (U0123ABCD)";
    if (c->phone[0] && !(c->phone[0] == '+' && c->phone[1] >= '1' && c->phone[1] <= '9' &&
                         all_of(c->phone + 1, "0123456789", 7, 15)))
        return *field = "phone", "phone must be an E.164 number (+8801712345678)";
    if (c->pagerduty[0] && !all_of(c->pagerduty, alnum, 20, 64))
        return *field = "pagerduty", "pagerduty must be an Events API v2 routing key (20 to 64 letters and digits)";
    return NULL;
}

int auth_db_contacts_get(struct store_conn *c, const char *username, struct auth_contacts *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct store_param p = STORE_P_TEXT(username);
    struct store_result r = {0};
    int rc = store_sql_exec(c,
                            "SELECT u.id, c.email, c.slack, c.phone, c.pagerduty, c.updated_at FROM users u"
                            " LEFT JOIN user_contacts c ON c.user_id = u.id WHERE u.username = ? AND u.disabled = 0",
                            &p, 1, &r, err, errlen);
    if (!rc && r.rows == 0)
        rc = BASE_ERR_NOT_FOUND;
    if (!rc) {
        const char *v;
        if ((v = store_result_text(&r, 0, 1)))
            snprintf(out->email, sizeof(out->email), "%s", v);
        if ((v = store_result_text(&r, 0, 2)))
            snprintf(out->slack, sizeof(out->slack), "%s", v);
        if ((v = store_result_text(&r, 0, 3)))
            snprintf(out->phone, sizeof(out->phone), "%s", v);
        if ((v = store_result_text(&r, 0, 4)))
            snprintf(out->pagerduty, sizeof(out->pagerduty), "%s", v);
        out->updated_at = store_result_int(&r, 0, 5);
    }
    store_result_free(&r);
    return rc;
}

int auth_db_contacts_put(struct store_conn *c, const char *user_id, const struct auth_contacts *in, char *err,
                         size_t errlen)
{
    struct store_param p[6] = {STORE_P_TEXT(user_id), STORE_P_TEXT(in->email), STORE_P_TEXT(in->slack),
                               STORE_P_TEXT(in->phone), STORE_P_TEXT(in->pagerduty), STORE_P_INT(in->updated_at)};
    return store_sql_exec(c,
                          "INSERT INTO user_contacts (user_id, email, slack, phone, pagerduty, updated_at)"
                          " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,"
                          " slack = excluded.slack, phone = excluded.phone, pagerduty = excluded.pagerduty,"
                          " updated_at = excluded.updated_at",
                          p, 6, NULL, err, errlen);
}

int auth_db_user_count_admins(struct store_conn *c, int64_t *n, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0",
                            NULL, 0, &r, err, errlen);
    *n = rc == 0 ? store_result_int(&r, 0, 0) : 0;
    store_result_free(&r);
    return rc;
}

int auth_db_user_lock_password(struct store_conn *c, const char *id, const char *password_hash, char *err,
                               size_t errlen)
{
    struct store_param p = STORE_P_TEXT(id);
    struct store_result r = {0};
    int rc = store_sql_exec(c, store_sql_dialect(c) == STORE_SQL_POSTGRES
                               ? "SELECT password_hash, disabled FROM users WHERE id = ? FOR UPDATE"
                               : "SELECT password_hash, disabled FROM users WHERE id = ?",
                            &p, 1, &r, err, errlen);
    const char *cur = rc == 0 && r.rows ? store_result_text(&r, 0, 0) : NULL;
    if (rc == 0 && (!cur || !password_hash || store_result_int(&r, 0, 1) != 0 || strcmp(cur, password_hash) != 0))
        rc = BASE_ERR_NOT_FOUND;
    store_result_free(&r);
    return rc;
}

int auth_db_user_logged_in(struct store_conn *c, const char *id, int64_t now_ms, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(now_ms), STORE_P_TEXT(id)};
    return update_one(c, "UPDATE users SET last_login_at = ? WHERE id = ?", p, 2, false, err, errlen);
}

static int clamp_limit(int limit)
{
    return limit < 1 ? 1 : limit > LIST_MAX ? LIST_MAX : limit;
}

int auth_db_user_list(struct store_conn *c, const struct auth_list_opts *o, struct auth_user **out,
                      size_t *n, bool *more, char *err, size_t errlen)
{
    int limit = clamp_limit(o->limit);
    struct store_param p[] = {
        STORE_P_TEXT(o->cursor), STORE_P_TEXT(o->cursor), STORE_P_TEXT(o->role), STORE_P_TEXT(o->role),
        STORE_P_INT(o->flag), STORE_P_INT(o->flag), STORE_P_INT(limit + 1),
    };
    void *rows = NULL;
    int rc = select_all(c, "SELECT " USER_COLS " FROM users WHERE (CAST(? AS TEXT) IS NULL OR username > ?)"
                        " AND (CAST(? AS TEXT) IS NULL OR role = ?) AND (CAST(? AS BIGINT) < 0 OR disabled = ?)"
                        " ORDER BY username LIMIT ?", p, sizeof(p) / sizeof(p[0]),
                        sizeof(struct auth_user), user_read_v, &rows, n, err, errlen);
    *out = rows;
    *more = *n > (size_t)limit;
    if (*more)
        *n = (size_t)limit;
    return rc;
}

/* ---- tokens ---- */

int auth_db_token_insert(struct store_conn *c, const struct auth_token *t, char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_TEXT(t->id), STORE_P_TEXT(t->name), STORE_P_TEXT(t->prefix), STORE_P_TEXT(t->hash),
        STORE_P_TEXT(auth_role_name(t->role)), STORE_P_TEXT(t->created_by), STORE_P_INT(t->created_at),
        t->expires_at ? STORE_P_INT(t->expires_at) : STORE_P_NULL(),
    };
    int rc = store_sql_exec(c, "INSERT INTO api_tokens (id, name, prefix, token_hash, role, created_by,"
                            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            p, sizeof(p) / sizeof(p[0]), NULL, err, errlen);
    return rc ? rc : auth_db_bump(c, err, errlen);
}

int auth_db_token_get(struct store_conn *c, const char *id, struct auth_token *t, char *err, size_t errlen)
{
    struct store_param p = STORE_P_TEXT(id);
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT " TOKEN_COLS " FROM api_tokens WHERE id = ?", &p, 1, &r, err, errlen);
    if (!rc && r.rows == 0)
        rc = BASE_ERR_NOT_FOUND;
    if (!rc)
        token_read(&r, 0, t);
    store_result_free(&r);
    return rc;
}

static int update_one(struct store_conn *c, const char *sql, const struct store_param *p, size_t np,
                      bool bump, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, sql, p, np, &r, err, errlen);
    int64_t changes = r.changes;
    store_result_free(&r);
    if (!rc && changes == 0)
        rc = BASE_ERR_NOT_FOUND;
    return rc || !bump ? rc : auth_db_bump(c, err, errlen);
}

int auth_db_token_revoke(struct store_conn *c, const char *id, int64_t now_ms, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(now_ms), STORE_P_TEXT(id)};
    return update_one(c, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                      p, 2, true, err, errlen);
}

int auth_db_token_touch(struct store_conn *c, const char *id, int64_t used_ms, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(used_ms), STORE_P_TEXT(id), STORE_P_INT(used_ms)};
    int rc = update_one(c, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?"
                        " AND (last_used_at IS NULL OR last_used_at < ?)", p, 3, false, err, errlen);
    return rc == BASE_ERR_NOT_FOUND ? 0 : rc; /* not newer: nothing to do */
}

int auth_db_token_lookup(struct store_conn *c, const char *hash, struct auth_token_lookup *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct store_param p = STORE_P_TEXT(hash);
    struct store_result r = {0};
    /* One statement, so gen, token and owner come from one snapshot on both
     * backends. The owner join compares username with the name cut out of
     * created_by, so the username index serves it. */
    int rc = store_sql_exec(c, "SELECT m.value, t.id, t.name, t.prefix, t.token_hash, t.role, t.created_by,"
                            " t.created_at, t.expires_at, t.last_used_at, t.revoked_at, u.role, u.disabled"
                            " FROM meta m LEFT JOIN api_tokens t ON t.token_hash = ?"
                            " LEFT JOIN users u ON substr(t.created_by, 1, 5) = 'user:'"
                            " AND u.username = substr(t.created_by, 6)"
                            " WHERE m.key = 'auth_gen'", &p, 1, &r, err, errlen);
    if (rc == 0 && r.rows == 0)
        rc = BASE_ERR_NOT_FOUND; /* no meta row: not a migrated database */
    if (rc == 0) {
        out->gen = store_result_int(&r, 0, 0);
        out->found = !store_result_is_null(&r, 0, 1);
    }
    if (rc == 0 && out->found) {
        token_read_at(&r, 0, 1, &out->token);
        out->owner_found = !store_result_is_null(&r, 0, 11);
        if (out->owner_found) {
            role_read(store_result_text(&r, 0, 11), &out->owner_role);
            out->owner_disabled = store_result_int(&r, 0, 12) != 0;
        }
    }
    store_result_free(&r);
    return rc;
}

int auth_db_token_list(struct store_conn *c, const struct auth_list_opts *o, struct auth_token **out,
                       size_t *n, bool *more, char *err, size_t errlen)
{
    int limit = clamp_limit(o->limit);
    /* Cursor "created_at:id" of the last row shown; newest first. */
    int64_t cur_ms = 0;
    const char *cur_id = NULL;
    if (o->cursor) {
        char *end = NULL;
        cur_ms = strtoll(o->cursor, &end, 10);
        if (!end || *end != ':' || end == o->cursor)
            return BASE_ERR_INVALID;
        cur_id = end + 1;
    }
    struct store_param p[] = {
        STORE_P_TEXT(cur_id), STORE_P_INT(cur_ms), STORE_P_INT(cur_ms), STORE_P_TEXT(cur_id),
        STORE_P_TEXT(o->role), STORE_P_TEXT(o->role), STORE_P_INT(o->flag), STORE_P_INT(o->flag),
        STORE_P_INT(o->flag), STORE_P_INT(limit + 1),
    };
    void *rows = NULL;
    int rc = select_all(c, "SELECT " TOKEN_COLS " FROM api_tokens"
                        " WHERE (CAST(? AS TEXT) IS NULL OR created_at < ? OR (created_at = ? AND id < ?))"
                        " AND (CAST(? AS TEXT) IS NULL OR role = ?)"
                        " AND (CAST(? AS BIGINT) < 0 OR (CAST(? AS BIGINT) = 1 AND revoked_at IS NOT NULL)"
                        " OR (CAST(? AS BIGINT) = 0 AND revoked_at IS NULL))"
                        " ORDER BY created_at DESC, id DESC LIMIT ?", p, sizeof(p) / sizeof(p[0]),
                        sizeof(struct auth_token), token_read_v, &rows, n, err, errlen);
    *out = rows;
    *more = *n > (size_t)limit;
    if (*more)
        *n = (size_t)limit;
    return rc;
}

/* ---- sessions ---- */

int auth_db_session_insert(struct store_conn *c, const struct auth_session *s, char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_TEXT(s->id), STORE_P_TEXT(s->user_id), STORE_P_TEXT(s->refresh_hash),
        STORE_P_INT(s->created_at), STORE_P_INT(s->refreshed_at), STORE_P_INT(s->expires_at),
        STORE_P_TEXT(s->ip),
    };
    int rc = store_sql_exec(c, "INSERT INTO sessions (id, user_id, refresh_hash, created_at, refreshed_at,"
                            " expires_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            p, sizeof(p) / sizeof(p[0]), NULL, err, errlen);
    return rc ? rc : auth_db_bump(c, err, errlen);
}

int auth_db_session_rotate(struct store_conn *c, const char *id, const char *old_hash,
                           const char *new_hash, int64_t now_ms, int64_t expires_at,
                           char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_TEXT(new_hash), STORE_P_TEXT(old_hash), STORE_P_INT(now_ms), STORE_P_INT(expires_at),
        STORE_P_TEXT(id), STORE_P_TEXT(old_hash), STORE_P_INT(now_ms),
    };
    int rc = update_one(c, "UPDATE sessions SET refresh_hash = ?, prev_refresh_hash = ?, refreshed_at = ?,"
                        " expires_at = ? WHERE id = ? AND refresh_hash = ? AND revoked_at IS NULL"
                        " AND expires_at > ?", p, sizeof(p) / sizeof(p[0]), true, err, errlen);
    if (rc)
        return rc;
    struct store_param u[] = {STORE_P_TEXT(old_hash), STORE_P_TEXT(id), STORE_P_INT(now_ms)};
    return store_sql_exec(c, "INSERT INTO session_refresh_used (refresh_hash, session_id, used_at)"
                          " VALUES (?, ?, ?)", u, 3, NULL, err, errlen);
}

int auth_db_session_by_used_refresh(struct store_conn *c, const char *hash, char *session_id, size_t n,
                                    char *err, size_t errlen)
{
    struct store_param p = STORE_P_TEXT(hash);
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT session_id FROM session_refresh_used WHERE refresh_hash = ?", &p, 1, &r,
                            err, errlen);
    if (!rc && r.rows == 0)
        rc = BASE_ERR_NOT_FOUND;
    if (!rc)
        snprintf(session_id, n, "%s", store_result_text(&r, 0, 0));
    store_result_free(&r);
    return rc;
}

int auth_db_session_revoke(struct store_conn *c, const char *id, int64_t now_ms, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(now_ms), STORE_P_TEXT(id)};
    return update_one(c, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                      p, 2, true, err, errlen);
}

int auth_db_session_revoke_user(struct store_conn *c, const char *user_id, int64_t now_ms,
                                char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(now_ms), STORE_P_TEXT(user_id)};
    int rc = store_sql_exec(c, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                            p, 2, NULL, err, errlen);
    return rc ? rc : auth_db_bump(c, err, errlen);
}

int auth_db_session_cap(struct store_conn *c, const char *user_id, int keep, int64_t now_ms, char *err,
                        size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(now_ms), STORE_P_TEXT(user_id), STORE_P_TEXT(user_id), STORE_P_INT(keep)};
    return store_sql_exec(c, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
                          " AND id NOT IN (SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL"
                          " ORDER BY created_at DESC, id DESC LIMIT ?)", p, 4, NULL, err, errlen);
}

/* ---- audit ---- */

int auth_db_audit_append(struct store_conn *c, struct auth_audit *a, char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_INT(a->ts), STORE_P_TEXT(a->actor), STORE_P_TEXT(a->actor_kind), STORE_P_TEXT(a->role),
        STORE_P_TEXT(a->action), STORE_P_TEXT(a->target), STORE_P_TEXT(a->result), STORE_P_INT(a->status),
        STORE_P_TEXT(a->ip), STORE_P_TEXT(a->request_id), STORE_P_TEXT(a->detail),
    };
    struct store_result r = {0};
    int rc = store_sql_exec(c, "INSERT INTO audit_log (ts, actor, actor_kind, role, action, target, result,"
                            " status, ip, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                            " RETURNING id", p, sizeof(p) / sizeof(p[0]), &r, err, errlen);
    if (!rc)
        a->id = store_result_int(&r, 0, 0);
    store_result_free(&r);
    return rc;
}

int auth_db_audit_query(struct store_conn *c, const struct auth_audit_query *q, struct auth_audit **out,
                        size_t *n, bool *more, char *err, size_t errlen)
{
    int limit = clamp_limit(q->limit);
    char prefix[64] = "";
    const char *action_eq = q->action, *action_like = NULL;
    size_t alen = q->action ? strlen(q->action) : 0;
    if (alen >= 2 && strcmp(q->action + alen - 2, ".*") == 0) {
        if (2 * alen + 2 > sizeof(prefix))
            return BASE_ERR_TOO_BIG; /* never widen the filter by cutting the prefix */
        /* "user.*": LIKE 'user.%' with the prefix's own wildcards escaped. */
        size_t o = 0;
        for (size_t i = 0; i + 1 < alen && o + 3 < sizeof(prefix); i++) {
            char ch = q->action[i];
            if (ch == '%' || ch == '_' || ch == '\\')
                prefix[o++] = '\\';
            prefix[o++] = ch;
        }
        prefix[o++] = '%';
        prefix[o] = '\0';
        action_eq = NULL;
        action_like = prefix;
    }
    struct store_param p[] = {
        STORE_P_INT(q->from_ms), STORE_P_INT(q->from_ms), STORE_P_INT(q->to_ms), STORE_P_INT(q->to_ms),
        STORE_P_TEXT(q->actor), STORE_P_TEXT(q->actor), STORE_P_TEXT(action_eq), STORE_P_TEXT(action_eq),
        STORE_P_TEXT(action_like), STORE_P_TEXT(action_like), STORE_P_INT(q->before_id),
        STORE_P_INT(q->before_id), STORE_P_INT(limit + 1),
    };
    void *rows = NULL;
    int rc = select_all(c, "SELECT " AUDIT_COLS " FROM audit_log WHERE (CAST(? AS BIGINT) = 0 OR ts >= ?)"
                        " AND (CAST(? AS BIGINT) = 0 OR ts <= ?) AND (CAST(? AS TEXT) IS NULL OR actor = ?) AND (CAST(? AS TEXT) IS NULL OR action = ?)"
                        " AND (CAST(? AS TEXT) IS NULL OR action LIKE ? ESCAPE '\\') AND (CAST(? AS BIGINT) = 0 OR id < ?)"
                        " ORDER BY id DESC LIMIT ?", p, sizeof(p) / sizeof(p[0]),
                        sizeof(struct auth_audit), audit_read_v, &rows, n, err, errlen);
    *out = rows;
    *more = *n > (size_t)limit;
    if (*more)
        *n = (size_t)limit;
    return rc;
}

int auth_db_audit_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted,
                        char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(before_ms), STORE_P_INT((int64_t)max_rows)};
    struct store_result r = {0};
    int rc = store_sql_exec(c, "DELETE FROM audit_log WHERE id IN"
                            " (SELECT id FROM audit_log WHERE ts < ? ORDER BY id LIMIT ?)",
                            p, 2, &r, err, errlen);
    *deleted = rc == 0 && r.changes > 0 ? (uint64_t)r.changes : 0;
    store_result_free(&r);
    return rc;
}
