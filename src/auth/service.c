/*
 * auth/service: the loop-side identity service (see service.h). Owns the
 * mirror (a snapshot of users, active tokens and active sessions plus hash
 * indexes into it), the login throttle tables, the pending last-used
 * updates and the poll/flush/purge timer. Blocking work goes elsewhere:
 * Argon2id to the libuv thread pool, SQL to the store thread. Every
 * asynchronous operation holds a reference on the service so closing waits
 * for them.
 */
#include "auth/service.h"

#include "auth/jwt.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/map.h"
#include "base/time.h"
#include "store/sql.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTH_AUDIENCE "opshub"
#define AUTH_ISSUER "opshub"
#define AUTH_LEEWAY_S 30
#define POLL_DEFAULT_MS 1000
#define TOUCH_FLUSH_MS 30000
#define PURGE_EVERY_MS (3600 * 1000)
#define PURGE_CHUNK 5000
/* Throttling of failed logins. */
#define THROTTLE_KEYS_MAX 10000
#define PAIR_FREE_FAILS 5       /* one account from one address */
#define ACCOUNT_FREE_FAILS 20   /* one account from anywhere: gentler, so others cannot lock it long */
#define IP_FREE_FAILS 20        /* one address, any account */
#define LOCK_MAX_S 900
#define ACCOUNT_LOCK_MAX_S 60
#define HASHES_IN_FLIGHT_MAX 2  /* Argon2id jobs on the libuv pool at once; more => 503 */
#define BURST_WINDOW_S 60
#define BURST_THRESHOLD 50
#define TOUCH_MAX 4096
#define SESSION_MAX_MS (90LL * 86400000) /* a login's sessions end 90 days after it, refreshed or not */
#define SESSIONS_PER_USER 20             /* a new login ends the user's oldest sessions beyond this */
/* Verified access tokens, direct-mapped by a hash of the whole token: a
 * repeat request with the same bytes skips the JSON parse and HMAC (the
 * bytes were verified before; expiry, session and user are still checked
 * on every request). */
#define JWT_CACHE_SLOTS 256
#define JWT_CACHE_TOKEN_MAX 512

struct jwt_cache_slot {
    uint16_t len;                 /* 0 = empty */
    char token[JWT_CACHE_TOKEN_MAX];
    char sub[AUTH_ID_MAX], jti[AUTH_ID_MAX];
    int64_t nbf, exp;
};

struct throttle {
    char key[AUTH_NAME_MAX + AUTH_IP_MAX + 8];
    bool verifying;           /* account entry: a password check is in flight */
    int fails;
    int64_t locked_until_ms;
    int64_t last_ms;
};

struct touch {
    char id[AUTH_ID_MAX];
    int64_t used_ms;
};

struct auth {
    uv_loop_t *loop;
    struct store *st;
    struct auth_jwt_key key;
    struct auth_opts opts;
    uv_timer_t timer;
    int refs;                 /* the service itself + every async operation */
    bool closing;
    auth_close_cb close_cb;
    void *close_data;

    /* The mirror. */
    struct auth_snapshot snap;
    bool loaded, loading;
    struct base_map users_by_id, users_by_name, tokens_by_hash, sessions_by_id, sessions_by_hash,
        sessions_by_prev;

    struct base_map throttle;  /* key -> struct throttle */
    int hashing;               /* Argon2id jobs on the thread pool */
    struct touch *touches;     /* pending last_used_at updates */
    size_t n_touches;
    int64_t next_touch_ms, next_purge_ms;
    uint32_t burst[BURST_WINDOW_S]; /* failures per second, ring indexed by second */
    int64_t burst_sec;

    struct auth_stats stats;
    struct jwt_cache_slot *jwt_cache; /* JWT_CACHE_SLOTS, allocated on first use */
};

static int64_t now_ms(void)
{
    return base_time_now_ms();
}

/* ---- lifetime ---- */

static void release(struct auth *a);

static void on_timer_closed(uv_handle_t *h)
{
    release(h->data);
}

static void maps_free(struct auth *a)
{
    base_map_free(&a->users_by_id);
    base_map_free(&a->users_by_name);
    base_map_free(&a->tokens_by_hash);
    base_map_free(&a->sessions_by_id);
    base_map_free(&a->sessions_by_hash);
    base_map_free(&a->sessions_by_prev);
}

static void throttle_free(struct auth *a)
{
    for (size_t i = 0; i < a->throttle.cap; i++) {
        const char *k = a->throttle.slots[i].key;
        if (k && a->throttle.slots[i].value && (struct throttle *)a->throttle.slots[i].value != NULL &&
            k == ((struct throttle *)a->throttle.slots[i].value)->key)
            base_free(a->throttle.slots[i].value);
    }
    base_map_free(&a->throttle);
}

static void release(struct auth *a)
{
    if (--a->refs > 0)
        return;
    auth_close_cb cb = a->close_cb;
    void *data = a->close_data;
    maps_free(a);
    auth_snapshot_free(&a->snap);
    throttle_free(a);
    base_free(a->touches);
    if (a->jwt_cache) {
        OPENSSL_cleanse(a->jwt_cache, JWT_CACHE_SLOTS * sizeof(*a->jwt_cache));
        base_free(a->jwt_cache);
    }
    auth_jwt_key_free(&a->key);
    base_free(a);
    if (cb)
        cb(data);
}

static void timer_cb(uv_timer_t *t);
static void burst_refresh(struct auth *a, int64_t now);

struct auth *auth_new(uv_loop_t *loop, struct store *st, const struct auth_opts *o,
                      char *err, size_t errlen)
{
    struct auth *a = base_calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "auth: %s", base_strerror(BASE_ERR_NOMEM));
        return NULL;
    }
    if (auth_jwt_key_init(&a->key, o->jwt_secret ? o->jwt_secret : "", err, errlen) != 0) {
        base_free(a);
        return NULL;
    }
    a->loop = loop;
    a->st = st;
    a->opts = *o;
    a->opts.jwt_secret = NULL; /* copied into key; not kept */
    if (a->opts.access_ttl_ms <= 0)
        a->opts.access_ttl_ms = 15 * 60000;
    if (a->opts.refresh_ttl_ms <= 0)
        a->opts.refresh_ttl_ms = 30LL * 86400000;
    if (a->opts.poll_ms <= 0)
        a->opts.poll_ms = POLL_DEFAULT_MS;
    base_map_init(&a->users_by_id);
    base_map_init(&a->users_by_name);
    base_map_init(&a->tokens_by_hash);
    base_map_init(&a->sessions_by_id);
    base_map_init(&a->sessions_by_hash);
    base_map_init(&a->sessions_by_prev);
    base_map_init(&a->throttle);
    a->refs = 1;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    a->refs++; /* the timer handle */
    return a;
}

void auth_start(struct auth *a)
{
    int64_t now = now_ms();
    a->next_touch_ms = now + TOUCH_FLUSH_MS;
    a->next_purge_ms = now + 60000; /* first purge a minute after start */
    uv_timer_start(&a->timer, timer_cb, 0, (uint64_t)a->opts.poll_ms);
}

static void flush_touches(struct auth *a);

void auth_close(struct auth *a, auth_close_cb cb, void *data)
{
    if (!a || a->closing)
        return;
    a->closing = true;
    a->close_cb = cb;
    a->close_data = data;
    flush_touches(a);
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, on_timer_closed);
    release(a);
}

void auth_stats_get(const struct auth *a, struct auth_stats *out)
{
    *out = a->stats;
    out->loaded = a->loaded;
    out->users = a->snap.n_users;
    out->tokens = a->snap.n_tokens;
    out->sessions = a->snap.n_sessions;
}

struct store *auth_store(const struct auth *a)
{
    return a->st;
}

/* ---- the mirror ---- */

static int index_snapshot(struct auth *a)
{
    maps_free(a);
    base_map_init(&a->users_by_id);
    base_map_init(&a->users_by_name);
    base_map_init(&a->tokens_by_hash);
    base_map_init(&a->sessions_by_id);
    base_map_init(&a->sessions_by_hash);
    base_map_init(&a->sessions_by_prev);
    for (size_t i = 0; i < a->snap.n_users; i++) {
        struct auth_user *u = &a->snap.users[i];
        if (base_map_put(&a->users_by_id, u->id, u) || base_map_put(&a->users_by_name, u->username, u))
            return BASE_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->snap.n_tokens; i++)
        if (base_map_put(&a->tokens_by_hash, a->snap.tokens[i].hash, &a->snap.tokens[i]))
            return BASE_ERR_NOMEM;
    for (size_t i = 0; i < a->snap.n_sessions; i++) {
        struct auth_session *s = &a->snap.sessions[i];
        if (base_map_put(&a->sessions_by_id, s->id, s) || base_map_put(&a->sessions_by_hash, s->refresh_hash, s))
            return BASE_ERR_NOMEM;
        if (s->prev_hash[0] && base_map_put(&a->sessions_by_prev, s->prev_hash, s))
            return BASE_ERR_NOMEM;
    }
    return 0;
}

struct reload_job {
    struct auth *a;
    int64_t known_gen;        /* -1 = load regardless */
    bool changed;
    struct auth_snapshot snap;
    auth_done_cb cb;
    void *data;
};

static int reload_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct reload_job *j = data;
    int64_t gen = 0;
    int rc = auth_db_gen(c, &gen, err, errlen);
    if (rc || gen == j->known_gen)
        return rc;
    j->changed = true;
    return auth_db_load(c, now_ms(), &j->snap, err, errlen);
}

static void reload_done(void *data, int status, const char *errmsg)
{
    struct reload_job *j = data;
    struct auth *a = j->a;
    a->loading = false;
    if (status == 0 && j->changed) {
        struct auth_snapshot old = a->snap;
        a->snap = j->snap;
        memset(&j->snap, 0, sizeof(j->snap));
        if (index_snapshot(a) != 0) {
            /* Out of memory: an empty mirror denies everyone (fail closed). */
            auth_snapshot_free(&a->snap);
            maps_free(a);
            status = BASE_ERR_NOMEM;
            a->stats.reload_errors++;
        } else {
            a->stats.reloads++;
            if (!a->loaded)
                base_log_info("auth loaded", BASE_LOG_INT("users", a->snap.n_users),
                              BASE_LOG_INT("tokens", a->snap.n_tokens),
                              BASE_LOG_INT("sessions", a->snap.n_sessions));
            a->loaded = true;
        }
        auth_snapshot_free(&old);
    } else if (status) {
        a->stats.reload_errors++;
        if (status != BASE_ERR_UNAVAILABLE)
            base_log_warn("auth reload failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    }
    auth_snapshot_free(&j->snap);
    if (j->cb)
        j->cb(j->data, status);
    base_free(j);
    release(a);
}

static int reload_submit(struct auth *a, int64_t known_gen, auth_done_cb cb, void *data)
{
    struct reload_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->a = a;
    j->known_gen = known_gen;
    j->cb = cb;
    j->data = data;
    int rc = store_call(a->st, reload_work, reload_done, j);
    if (rc) {
        base_free(j);
        return rc;
    }
    a->refs++;
    a->loading = true;
    return 0;
}

int auth_reload(struct auth *a, auth_done_cb cb, void *data)
{
    if (a->closing)
        return BASE_ERR_CANCELED;
    return reload_submit(a, -1, cb, data);
}

const struct auth_user *auth_user_find(const struct auth *a, const char *id)
{
    return id ? base_map_get(&a->users_by_id, id) : NULL;
}

const struct auth_user *auth_user_find_name(const struct auth *a, const char *username)
{
    return username ? base_map_get(&a->users_by_name, username) : NULL;
}

const struct auth_user *auth_users(const struct auth *a, size_t *n)
{
    *n = a->snap.n_users;
    return a->snap.users;
}

/* ---- last-used times and audit retention ---- */

struct touch_job {
    struct auth *a;
    struct touch *items;
    size_t n;
};

static int touch_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct touch_job *j = data;
    int rc = store_sql_begin(c, err, errlen);
    for (size_t i = 0; !rc && i < j->n; i++)
        rc = auth_db_token_touch(c, j->items[i].id, j->items[i].used_ms, err, errlen);
    return store_sql_end(c, rc, err, errlen);
}

static void touch_done(void *data, int status, const char *errmsg)
{
    struct touch_job *j = data;
    if (status && status != BASE_ERR_UNAVAILABLE)
        base_log_warn("auth: recording token use failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    base_free(j->items);
    struct auth *a = j->a;
    base_free(j);
    release(a);
}

static void flush_touches(struct auth *a)
{
    if (!a->n_touches)
        return;
    struct touch_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return;
    j->a = a;
    j->items = a->touches;
    j->n = a->n_touches;
    if (store_call(a->st, touch_work, touch_done, j) != 0) {
        base_free(j);
        return; /* kept for the next flush */
    }
    a->refs++;
    a->touches = NULL;
    a->n_touches = 0;
}

static void touch_token(struct auth *a, const struct auth_token *t, int64_t now)
{
    for (size_t i = 0; i < a->n_touches; i++) {
        if (strcmp(a->touches[i].id, t->id) == 0) {
            a->touches[i].used_ms = now;
            return;
        }
    }
    if (a->n_touches >= TOUCH_MAX)
        return;
    if (!a->touches) {
        a->touches = base_calloc(TOUCH_MAX, sizeof(*a->touches));
        if (!a->touches)
            return;
    }
    snprintf(a->touches[a->n_touches].id, AUTH_ID_MAX, "%s", t->id);
    a->touches[a->n_touches++].used_ms = now;
}

struct purge_job {
    struct auth *a;
    int64_t before_ms;
    uint64_t deleted;
};

static int purge_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct purge_job *j = data;
    return auth_db_audit_purge(c, j->before_ms, PURGE_CHUNK, &j->deleted, err, errlen);
}

static void purge_done(void *data, int status, const char *errmsg)
{
    struct purge_job *j = data;
    struct auth *a = j->a;
    if (status == 0 && j->deleted == PURGE_CHUNK)
        a->next_purge_ms = now_ms(); /* more to do: next tick */
    else if (status && status != BASE_ERR_UNAVAILABLE)
        base_log_warn("auth: audit purge failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    if (j->deleted)
        base_log_info("audit entries purged", BASE_LOG_INT("deleted", j->deleted));
    base_free(j);
    release(a);
}

static void timer_cb(uv_timer_t *t)
{
    struct auth *a = t->data;
    if (a->closing)
        return;
    int64_t now = now_ms();
    burst_refresh(a, now);
    if (!a->loading)
        reload_submit(a, a->loaded ? a->snap.gen : -1, NULL, NULL);
    if (now >= a->next_touch_ms) {
        a->next_touch_ms = now + TOUCH_FLUSH_MS;
        flush_touches(a);
    }
    if (a->opts.audit_retention_ms > 0 && now >= a->next_purge_ms) {
        a->next_purge_ms = now + PURGE_EVERY_MS;
        struct purge_job *j = base_calloc(1, sizeof(*j));
        if (j) {
            j->a = a;
            j->before_ms = now - a->opts.audit_retention_ms;
            if (store_call(a->st, purge_work, purge_done, j) == 0)
                a->refs++;
            else
                base_free(j);
        }
    }
}

/* ---- authentication ---- */

static int authenticate(struct auth *a, const char *authorization, struct auth_principal *p,
                        const char **why, bool count)
{
    static const char *unused;
    if (!why)
        why = &unused;
    *why = "";
    memset(p, 0, sizeof(*p));
    if (!authorization || !*authorization) {
        *why = "missing bearer token";
        return BASE_ERR_NOT_FOUND;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0) {
        *why = "expected 'Authorization: Bearer <token>'";
        return BASE_ERR_INVALID;
    }
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ')
        len--;
    if (!len) {
        *why = "missing bearer token";
        return BASE_ERR_NOT_FOUND;
    }
    if (!a->loaded) {
        *why = "identity store not loaded yet";
        return BASE_ERR_UNAVAILABLE;
    }
    int64_t now = now_ms();
    size_t plen = strlen(AUTH_TOKEN_PREFIX);
    if (len > plen && strncmp(tok, AUTH_TOKEN_PREFIX, plen) == 0) {
        char hash[AUTH_HASH_HEX];
        if (len >= AUTH_TOKEN_MAX) {
            *why = "malformed API token";
            a->stats.token_auth_fail += count;
            return BASE_ERR_INVALID;
        }
        auth_db_sha256_hex(tok, len, hash);
        const struct auth_token *t = base_map_get(&a->tokens_by_hash, hash);
        if (!t || t->revoked_at) {
            *why = "unknown or revoked API token";
            a->stats.token_auth_fail += count;
            return BASE_ERR_INVALID;
        }
        if (t->expires_at && t->expires_at <= now) {
            *why = "API token expired";
            a->stats.token_auth_fail += count;
            return BASE_ERR_INVALID;
        }
        /* A token made by a user through the API is bounded by that user:
         * it stops when the user is disabled or removed, and never acts
         * above the user's current role. (CLI-made tokens, "cli:<os user>",
         * belong to whoever runs the host.) */
        enum auth_role role = t->role;
        if (strncmp(t->created_by, "user:", 5) == 0) {
            const struct auth_user *owner = base_map_get(&a->users_by_name, t->created_by + 5);
            if (!owner || owner->disabled) {
                *why = "the user who made this API token is disabled or removed";
                a->stats.token_auth_fail += count;
                return BASE_ERR_INVALID;
            }
            if (owner->role < role)
                role = owner->role;
        }
        p->kind = AUTH_KIND_TOKEN;
        snprintf(p->id, sizeof(p->id), "%s", t->id);
        snprintf(p->name, sizeof(p->name), "%s", t->name);
        p->role = role;
        if (count) {
            a->stats.token_auth_ok++;
            touch_token(a, t, now);
        }
        return 0;
    }
    struct auth_jwt_claims cl;
    char reason[96];
    int rc;
    struct jwt_cache_slot *slot = NULL;
    if (len < JWT_CACHE_TOKEN_MAX) {
        if (!a->jwt_cache)
            a->jwt_cache = base_calloc(JWT_CACHE_SLOTS, sizeof(*a->jwt_cache));
        if (a->jwt_cache) {
            uint64_t h = 1469598103934665603ULL; /* FNV-1a over the token */
            for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)tok[i]) * 1099511628211ULL;
            slot = &a->jwt_cache[h % JWT_CACHE_SLOTS];
        }
    }
    int64_t now_s = now / 1000;
    if (slot && slot->len == len && CRYPTO_memcmp(slot->token, tok, len) == 0) {
        memset(&cl, 0, sizeof(cl));
        snprintf(cl.sub, sizeof(cl.sub), "%s", slot->sub);
        snprintf(cl.jti, sizeof(cl.jti), "%s", slot->jti);
        rc = now_s >= slot->exp + AUTH_LEEWAY_S ? AUTH_JWT_ERR_EXPIRED
           : slot->nbf && now_s < slot->nbf - AUTH_LEEWAY_S ? AUTH_JWT_ERR_NOT_YET_VALID : 0;
    } else {
        rc = auth_jwt_verify(&a->key, tok, len, now_s, AUTH_AUDIENCE, AUTH_LEEWAY_S, &cl, reason, sizeof(reason));
        size_t sub_len = strlen(cl.sub), jti_len = strlen(cl.jti);
        if (rc == 0 && slot && sub_len < sizeof(slot->sub) && jti_len < sizeof(slot->jti)) {
            slot->len = (uint16_t)len;
            memcpy(slot->token, tok, len);
            memcpy(slot->sub, cl.sub, sub_len + 1);
            memcpy(slot->jti, cl.jti, jti_len + 1);
            slot->nbf = cl.nbf;
            slot->exp = cl.exp;
        }
    }
    if (rc) {
        *why = rc == AUTH_JWT_ERR_EXPIRED ? "access token expired"
             : rc == AUTH_JWT_ERR_NOT_YET_VALID ? "access token not valid yet"
             : rc == AUTH_JWT_ERR_WRONG_AUDIENCE ? "access token for another audience"
             : rc == AUTH_JWT_ERR_BAD_ALG ? "access token algorithm not accepted"
             : rc == AUTH_JWT_ERR_BAD_SIGNATURE ? "access token signature invalid"
             : "malformed access token";
        return BASE_ERR_INVALID;
    }
    const struct auth_session *s = base_map_get(&a->sessions_by_id, cl.jti);
    const struct auth_user *u = base_map_get(&a->users_by_id, cl.sub);
    if (!s || s->revoked_at || s->expires_at <= now || strcmp(s->user_id, cl.sub) != 0) {
        *why = "session ended (logged out or revoked)";
        return BASE_ERR_INVALID;
    }
    if (!u || u->disabled) {
        *why = "user disabled or removed";
        return BASE_ERR_INVALID;
    }
    p->kind = AUTH_KIND_USER;
    snprintf(p->id, sizeof(p->id), "%s", u->id);
    snprintf(p->name, sizeof(p->name), "%s", u->username);
    snprintf(p->session_id, sizeof(p->session_id), "%s", s->id);
    p->role = u->role;
    return 0;
}

int auth_authenticate(struct auth *a, const char *authorization, struct auth_principal *p,
                      const char **why)
{
    return authenticate(a, authorization, p, why, true);
}

int auth_check(struct auth *a, const char *authorization, struct auth_principal *p, const char **why)
{
    return authenticate(a, authorization, p, why, false);
}

static int issue_access(struct auth *a, const struct auth_user *u, const char *sid, int64_t now,
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
    r->user = *u;
    memset(r->user.password_hash, 0, sizeof(r->user.password_hash));
    return auth_jwt_sign(&a->key, &cl, r->access_token, sizeof(r->access_token));
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
    if (sec - a->burst_sec >= BURST_WINDOW_S) {
        memset(a->burst, 0, sizeof(a->burst));
    } else {
        for (int64_t s = a->burst_sec + 1; s <= sec; s++)
            a->burst[s % BURST_WINDOW_S] = 0;
    }
    if (sec > a->burst_sec)
        a->burst_sec = sec;
    a->burst[sec % BURST_WINDOW_S]++;
    uint64_t total = 0;
    for (int i = 0; i < BURST_WINDOW_S; i++)
        total += a->burst[i];
    bool burst = total >= BURST_THRESHOLD;
    if (burst && !a->stats.failure_burst)
        base_log_error("self-alert: burst of failed logins",
                       BASE_LOG_STR("alert", "AuthFailureBurst"), BASE_LOG_INT("failures_last_minute", total));
    a->stats.failure_burst = burst;
}

static void burst_refresh(struct auth *a, int64_t now)
{
    if (a->stats.failure_burst && now / 1000 - a->burst_sec >= BURST_WINDOW_S) {
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

/* ---- login, refresh, logout ---- */

enum login_kind { LOGIN_PASSWORD, LOGIN_REFRESH, LOGIN_REUSE };

struct login_job {
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
    int64_t now;
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
    release(a);
}

static void after_reload(void *data, int status)
{
    struct login_job *j = data;
    struct auth *a = j->a;
    if (j->kind == LOGIN_REUSE) {
        login_finish(j, BASE_ERR_INVALID);
        return;
    }
    (void)status; /* the session was committed; a failed reload only delays its use */
    const struct auth_user *u = auth_user_find(a, j->user_id);
    if (!u || u->disabled) {
        login_finish(j, BASE_ERR_INVALID);
        return;
    }
    int rc = issue_access(a, u, j->session.id, j->now, &j->result);
    login_finish(j, rc ? BASE_ERR_NOMEM : 0);
}

static int session_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct login_job *j = data;
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    if (j->kind == LOGIN_PASSWORD && !j->test_login) {
        /* The password or status may have changed while Argon2 ran: the
         * session is made only for the credentials that were checked. */
        /* FOR UPDATE on PostgreSQL: a password change or disable committing
         * meanwhile waits for this transaction (SQLite's BEGIN IMMEDIATE
         * already serialises writers). */
        struct store_param p = STORE_P_TEXT(j->user_id);
        struct store_result r = {0};
        rc = store_sql_exec(c, store_sql_dialect(c) == STORE_SQL_POSTGRES
                                   ? "SELECT password_hash, disabled FROM users WHERE id = ? FOR UPDATE"
                                   : "SELECT password_hash, disabled FROM users WHERE id = ?",
                            &p, 1, &r, err, errlen);
        const char *cur = rc == 0 && r.rows ? store_result_text(&r, 0, 0) : NULL;
        if (rc == 0 && (!cur || store_result_int(&r, 0, 1) != 0 || strcmp(cur, j->hash) != 0))
            rc = BASE_ERR_NOT_FOUND;
        store_result_free(&r);
    }
    if (rc == 0 && j->kind == LOGIN_PASSWORD) {
        rc = auth_db_session_insert(c, &j->session, err, errlen);
        if (!rc)
            rc = auth_db_session_cap(c, j->user_id, SESSIONS_PER_USER, j->now, err, errlen);
        if (!rc) {
            struct store_param p[] = {STORE_P_INT(j->now), STORE_P_TEXT(j->user_id)};
            rc = store_sql_exec(c, "UPDATE users SET last_login_at = ? WHERE id = ?", p, 2, NULL, err, errlen);
        }
    } else if (rc == 0 && j->kind == LOGIN_REFRESH) {
        rc = auth_db_session_rotate(c, j->session.id, j->old_hash, j->session.refresh_hash, j->now,
                                    j->session.expires_at, err, errlen);
    } else if (rc == 0 && j->kind == LOGIN_REUSE) {
        rc = auth_db_session_revoke(c, j->session.id, j->now, err, errlen);
        if (rc == BASE_ERR_NOT_FOUND)
            rc = 0;
    }
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
    if (reload_submit(j->a, -1, after_reload, j) != 0)
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
    j->now = now_ms();
    j->session.refreshed_at = j->now;
    /* Refreshing slides the expiry, but never past SESSION_MAX_MS after the
     * login: a stolen refresh token cannot be kept alive for ever. */
    int64_t born = j->session.created_at ? j->session.created_at : j->now;
    int64_t expires = j->now + a->opts.refresh_ttl_ms;
    if (expires > born + SESSION_MAX_MS)
        expires = born + SESSION_MAX_MS;
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
    int64_t now = now_ms();
    a->hashing--;
    verifying_set(a, j->username, false, now);
    burst_refresh(a, now);
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
    a->refs++;
    return j;
}

int auth_login(struct auth *a, const char *username, const char *password, size_t pwlen,
               const char *ip, bool test_login, auth_login_cb cb, void *data)
{
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
    int64_t now = now_ms();
    burst_refresh(a, now);
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
    snprintf(j->username, sizeof(j->username), "%s", username);
    if (!test_login) {
        memcpy(j->password, password, pwlen);
        j->pwlen = pwlen;
    }
    const struct auth_user *u = auth_user_find_name(a, username);
    if (u && !u->disabled) {
        j->have_user = true;
        snprintf(j->hash, sizeof(j->hash), "%s", u->password_hash);
    } else if (test_login) {
        j->test_login = false; /* unknown user: fails below like any other */
        j->pwlen = 1;
        j->password[0] = 'x';
    }
    int rc = uv_queue_work(a->loop, &j->work, verify_work, verify_after);
    if (rc) {
        a->refs--;
        login_job_free(j);
        return BASE_ERR_NOMEM;
    }
    a->hashing++;
    verifying_set(a, j->username, true, now);
    return 0;
}

int auth_refresh(struct auth *a, const char *refresh_token, const char *ip, auth_login_cb cb, void *data)
{
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
    int64_t now = now_ms();
    const struct auth_session *s = base_map_get(&a->sessions_by_hash, hash);
    enum login_kind kind = LOGIN_REFRESH;
    if (!s) {
        s = base_map_get(&a->sessions_by_prev, hash);
        if (!s)
            return BASE_ERR_INVALID;
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
    auth_done_cb cb;
    void *data;
    int status;
};

static int logout_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct logout_job *j = data;
    int rc = auth_db_session_revoke(c, j->session_id, j->now, err, errlen);
    return rc == BASE_ERR_NOT_FOUND ? 0 : rc;
}

static void logout_reloaded(void *data, int status)
{
    struct logout_job *j = data;
    (void)status;
    struct auth *a = j->a;
    if (j->cb)
        j->cb(j->data, j->status);
    base_free(j);
    release(a);
}

static void logout_done(void *data, int status, const char *errmsg)
{
    struct logout_job *j = data;
    (void)errmsg;
    j->status = status;
    if (status || reload_submit(j->a, -1, logout_reloaded, j) != 0)
        logout_reloaded(j, status);
}

int auth_logout(struct auth *a, const struct auth_principal *p, auth_done_cb cb, void *data)
{
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
    j->now = now_ms();
    j->cb = cb;
    j->data = data;
    int rc = store_call(a->st, logout_work, logout_done, j);
    if (rc) {
        base_free(j);
        return rc;
    }
    a->refs++;
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
    release(a);
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
    a->refs++;
    return 0;
}

/* ---- audit ---- */

struct audit_job {
    struct auth *a;
    struct auth_audit e;
};

static int audit_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct audit_job *j = data;
    return auth_db_audit_append(c, &j->e, err, errlen);
}

static void audit_done(void *data, int status, const char *errmsg)
{
    struct audit_job *j = data;
    struct auth *a = j->a;
    if (status) {
        a->stats.audit_errors++;
        base_log_error("audit entry not written", BASE_LOG_STR("action", j->e.action),
                       BASE_LOG_STR("actor", j->e.actor), BASE_LOG_STR("error", errmsg ? errmsg : ""));
    } else {
        a->stats.audit_written++;
    }
    base_free(j);
    release(a);
}

void auth_audit(struct auth *a, const struct auth_audit *entry)
{
    struct audit_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        a->stats.audit_errors++;
        return;
    }
    j->a = a;
    j->e = *entry;
    if (!j->e.ts)
        j->e.ts = now_ms();
    if (store_call(a->st, audit_work, audit_done, j) != 0) {
        a->stats.audit_errors++;
        base_log_error("audit entry not written", BASE_LOG_STR("action", j->e.action),
                       BASE_LOG_STR("error", "store closed"));
        base_free(j);
        return;
    }
    a->refs++;
}

void auth_audit_actor(struct auth_audit *e, const struct auth_principal *p)
{
    if (!p || p->kind == AUTH_KIND_NONE) {
        snprintf(e->actor, sizeof(e->actor), "anonymous");
        snprintf(e->actor_kind, sizeof(e->actor_kind), "anonymous");
        e->role[0] = '\0';
        return;
    }
    snprintf(e->actor, sizeof(e->actor), "%s", p->name);
    snprintf(e->actor_kind, sizeof(e->actor_kind), "%s", p->kind == AUTH_KIND_USER ? "user" : "token");
    snprintf(e->role, sizeof(e->role), "%s", auth_role_name(p->role));
}
