/*
 * auth/verify: deciding a request's credentials (see service.h). Reads the
 * Authorization header, checks an access JWT's signature (with a small
 * cache of verified tokens) and decides API tokens and sessions on the
 * mirror: at once when nothing can change the answer, else after the next
 * read of meta.auth_gen, or after a bounded lookup (auth/miss) for an API
 * token the mirror does not hold. Owns the JWT cache, the lookup waiters
 * and the negative cache. Never puts token text in a reason or a log.
 */
#include "auth/auth_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTH_LEEWAY_S 30
/* Verified access tokens, direct-mapped by a hash of the whole token: a
 * repeat request with the same bytes skips the JSON parse and HMAC (the
 * bytes were verified before; expiry, session and user are still checked
 * on every request). */
#define JWT_CACHE_SLOTS 256
#define JWT_CACHE_TOKEN_MAX 512

static const char WHY_UNKNOWN[] = "unknown or revoked API token";

struct auth_jwt_cache_slot {
    uint16_t len;                 /* 0 = empty */
    char token[JWT_CACHE_TOKEN_MAX];
    char sub[AUTH_ID_MAX], jti[AUTH_ID_MAX];
    int64_t nbf, exp;
};

enum cred_kind { CRED_NONE, CRED_TOKEN, CRED_JWT };

/* What a header says once its form (and a JWT's signature) is checked. */
struct cred {
    enum cred_kind kind;
    char hash[AUTH_HASH_HEX];     /* API token: hex SHA-256 */
    char sub[AUTH_ID_MAX], jti[AUTH_ID_MAX]; /* JWT: user and session */
};

/* A request waiting for a read or a lookup. */
struct authn {
    struct auth_wait wait;        /* first: mirror.c resumes through it */
    struct authn *next;           /* on a lookup's list */
    struct cred cred;
    auth_authn_cb cb;
    void *data;
};

static int64_t mono_ms(void)
{
    return (int64_t)(base_time_mono_ns() / 1000000u);
}

void auth_verify_free(struct auth *a)
{
    if (a->jwt_cache) {
        OPENSSL_cleanse(a->jwt_cache, JWT_CACHE_SLOTS * sizeof(*a->jwt_cache));
        base_free(a->jwt_cache);
        a->jwt_cache = NULL;
    }
    auth_miss_free(&a->miss);
}

/* ---- the header ---- */

static struct auth_jwt_cache_slot *jwt_slot(struct auth *a, const char *tok, size_t len)
{
    if (len >= JWT_CACHE_TOKEN_MAX)
        return NULL;
    if (!a->jwt_cache)
        a->jwt_cache = base_calloc(JWT_CACHE_SLOTS, sizeof(*a->jwt_cache));
    if (!a->jwt_cache)
        return NULL;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the token */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)tok[i]) * 1099511628211ULL;
    return &a->jwt_cache[h % JWT_CACHE_SLOTS];
}

static const char *jwt_why(int rc)
{
    return rc == AUTH_JWT_ERR_EXPIRED ? "access token expired"
         : rc == AUTH_JWT_ERR_NOT_YET_VALID ? "access token not valid yet"
         : rc == AUTH_JWT_ERR_WRONG_AUDIENCE ? "access token for another audience"
         : rc == AUTH_JWT_ERR_BAD_ALG ? "access token algorithm not accepted"
         : rc == AUTH_JWT_ERR_BAD_SIGNATURE ? "access token signature invalid"
         : "malformed access token";
}

/* Verifies an access JWT's signature and times (or finds it verified in
 * the cache) into c->sub / c->jti. */
static int jwt_check(struct auth *a, const char *tok, size_t len, struct cred *c, const char **why)
{
    struct auth_jwt_cache_slot *slot = jwt_slot(a, tok, len);
    int64_t now_s = auth_now_ms() / 1000;
    int rc;
    if (slot && slot->len == len && CRYPTO_memcmp(slot->token, tok, len) == 0) {
        snprintf(c->sub, sizeof(c->sub), "%s", slot->sub);
        snprintf(c->jti, sizeof(c->jti), "%s", slot->jti);
        rc = now_s >= slot->exp + AUTH_LEEWAY_S ? AUTH_JWT_ERR_EXPIRED
           : slot->nbf && now_s < slot->nbf - AUTH_LEEWAY_S ? AUTH_JWT_ERR_NOT_YET_VALID : 0;
    } else {
        struct auth_jwt_claims cl;
        char reason[96];
        memset(&cl, 0, sizeof(cl));
        rc = auth_jwt_verify(&a->key, tok, len, now_s, AUTH_AUDIENCE, AUTH_LEEWAY_S, &cl, reason, sizeof(reason));
        size_t sub_len = strlen(cl.sub), jti_len = strlen(cl.jti);
        if (rc == 0 && (sub_len >= sizeof(c->sub) || jti_len >= sizeof(c->jti)))
            rc = AUTH_JWT_ERR_MALFORMED;
        if (rc == 0) {
            memcpy(c->sub, cl.sub, sub_len + 1);
            memcpy(c->jti, cl.jti, jti_len + 1);
        }
        if (rc == 0 && slot) {
            slot->len = (uint16_t)len;
            memcpy(slot->token, tok, len);
            memcpy(slot->sub, cl.sub, sub_len + 1);
            memcpy(slot->jti, cl.jti, jti_len + 1);
            slot->nbf = cl.nbf;
            slot->exp = cl.exp;
        }
    }
    if (rc) {
        *why = jwt_why(rc);
        return BASE_ERR_INVALID;
    }
    return 0;
}

/* Reads an Authorization header: 0 with *c, or BASE_ERR_NOT_FOUND (no
 * credentials), BASE_ERR_INVALID (malformed, or a JWT that fails its
 * checks), BASE_ERR_UNAVAILABLE (nothing loaded yet). c->kind is set as
 * soon as the kind is known, also on failure. */
static int cred_parse(struct auth *a, const char *authorization, struct cred *c, const char **why)
{
    memset(c, 0, sizeof(*c));
    *why = "";
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
    size_t plen = strlen(AUTH_TOKEN_PREFIX);
    if (len > plen && strncmp(tok, AUTH_TOKEN_PREFIX, plen) == 0) {
        c->kind = CRED_TOKEN;
        if (len >= AUTH_TOKEN_MAX) {
            *why = "malformed API token";
            return BASE_ERR_INVALID;
        }
        auth_db_sha256_hex(tok, len, c->hash);
        return 0;
    }
    c->kind = CRED_JWT;
    return jwt_check(a, tok, len, c, why);
}

/* ---- decisions ---- */

/* An API token's answer from its row and its owner. *permanent: refused
 * for good (unknown, revoked, expired), whatever is read later. */
static int token_decide(const struct auth_token *t, const struct auth_owner *o, int64_t now,
                        struct auth_principal *p, const char **why, bool *permanent)
{
    *permanent = true;
    if (!t || t->revoked_at) {
        *why = WHY_UNKNOWN;
        return BASE_ERR_INVALID;
    }
    if (t->expires_at && t->expires_at <= now) {
        *why = "API token expired";
        return BASE_ERR_INVALID;
    }
    /* A token made by a user through the API is bounded by that user: it
     * stops when the user is disabled or removed, and never acts above the
     * user's current role. (CLI-made tokens, "cli:<os user>", belong to
     * whoever runs the host.) */
    enum auth_role role = t->role;
    if (o->required) {
        if (!o->found || o->disabled) {
            *permanent = false;
            *why = "the user who made this API token is disabled or removed";
            return BASE_ERR_INVALID;
        }
        if (o->role < role)
            role = o->role;
    }
    *permanent = false;
    p->kind = AUTH_KIND_TOKEN;
    snprintf(p->id, sizeof(p->id), "%s", t->id);
    snprintf(p->name, sizeof(p->name), "%s", t->name);
    p->role = role;
    return 0;
}

static int jwt_decide(const struct auth *a, const struct cred *c, int64_t now, struct auth_principal *p,
                      const char **why)
{
    const struct auth_session *s = auth_mirror_session(a, c->jti);
    const struct auth_user *u = auth_user_find(a, c->sub);
    if (!s || s->revoked_at || s->expires_at <= now || strcmp(s->user_id, c->sub) != 0) {
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

/* The answer of the mirror as it is. */
static int mirror_decide(const struct auth *a, const struct cred *c, int64_t now, struct auth_principal *p,
                         const char **why, bool *permanent)
{
    memset(p, 0, sizeof(*p));
    *permanent = false;
    if (c->kind == CRED_JWT)
        return jwt_decide(a, c, now, p, why);
    struct auth_owner o;
    const struct auth_token *t = auth_mirror_token(a, c->hash, &o);
    return token_decide(t, &o, now, p, why, permanent);
}

/* Counts an API token's result and records its use. */
static void count(struct auth *a, const struct cred *c, int rc, const struct auth_principal *p, int64_t now)
{
    if (c->kind != CRED_TOKEN)
        return;
    if (rc == 0) {
        a->stats.token_auth_ok++;
        auth_mirror_touch(a, p->id, now);
    } else if (rc == BASE_ERR_INVALID) {
        a->stats.token_auth_fail++;
    }
}

int auth_authenticate(struct auth *a, const char *authorization, struct auth_principal *p, const char **why)
{
    static const char *unused;
    struct cred c;
    bool permanent;
    if (!why)
        why = &unused;
    memset(p, 0, sizeof(*p));
    int64_t now = auth_now_ms();
    int rc = cred_parse(a, authorization, &c, why);
    if (rc == 0 && c.kind == CRED_TOKEN && auth_miss_is_known(&a->miss, c.hash, mono_ms())) {
        a->stats.negative_hits++;
        *why = WHY_UNKNOWN;
        rc = BASE_ERR_INVALID;
    } else if (rc == 0) {
        rc = mirror_decide(a, &c, now, p, why, &permanent);
    }
    count(a, &c, rc, p, now);
    return rc;
}

/* ---- waiting: for a read of meta.auth_gen, or for a lookup ---- */

static void finish(struct auth *a, struct authn *w, int rc, const struct auth_principal *p, const char *why)
{
    struct auth_principal none;
    if (!p || rc) {
        memset(&none, 0, sizeof(none));
        p = &none;
    }
    w->cb(w->data, rc, p, why ? why : "");
    base_free(w);
    auth_release(a);
}

/* Decides a waiter on the mirror: current after a successful read
 * (status 0), else as last loaded. */
static void decide_on_mirror(struct auth *a, struct authn *w, int status)
{
    if (status == BASE_ERR_CANCELED || a->closing) {
        finish(a, w, BASE_ERR_CANCELED, NULL, "opshub is stopping");
        return;
    }
    if (!a->loaded) {
        finish(a, w, BASE_ERR_UNAVAILABLE, NULL, "identity store not loaded yet");
        return;
    }
    if (status)
        a->stats.stale_decisions++;
    struct auth_principal p;
    const char *why = "";
    bool permanent = false;
    int64_t now = auth_now_ms();
    int rc = mirror_decide(a, &w->cred, now, &p, &why, &permanent);
    if (status == 0 && permanent && w->cred.kind == CRED_TOKEN)
        auth_miss_note(&a->miss, w->cred.hash, mono_ms()); /* a current mirror says so: for good */
    count(a, &w->cred, rc, &p, now);
    finish(a, w, rc, &p, why);
}

static void on_fresh(struct auth *a, struct auth_wait *wait, int status)
{
    decide_on_mirror(a, (struct authn *)wait, status);
}

struct lookup_job {
    struct auth *a;
    int slot;
    char hash[AUTH_HASH_HEX];
    struct auth_token_lookup res;
};

static int lookup_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct lookup_job *j = data;
    return auth_db_token_lookup(c, j->hash, &j->res, err, errlen);
}

/* Counts a lookup's result and keeps what it learned: an active token in
 * the mirror (and a reload when the database moved on), anything else in
 * the negative cache. */
static void lookup_learn(struct auth *a, struct lookup_job *j, int status, const char *errmsg, int64_t now)
{
    const struct auth_token *t = &j->res.token;
    if (status) {
        a->stats.lookup_errors++;
        if (status != BASE_ERR_UNAVAILABLE && status != BASE_ERR_CANCELED)
            base_log_warn("auth: API token lookup failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    } else if (j->res.found && !t->revoked_at && !(t->expires_at && t->expires_at <= now)) {
        a->stats.lookup_hits++;
        auth_mirror_add_extra(a, &j->res);
        if (j->res.gen != a->snap.gen)
            auth_mirror_sync(a);
    } else {
        a->stats.lookup_misses++;
        auth_miss_note(&a->miss, j->hash, mono_ms());
    }
}

static void lookup_done(void *data, int status, const char *errmsg)
{
    struct lookup_job *j = data;
    struct auth *a = j->a;
    int64_t now = auth_now_ms();
    auth_miss_end(&a->miss, j->slot);
    struct authn *list = a->lookup_waiters[j->slot];
    a->lookup_waiters[j->slot] = NULL;
    lookup_learn(a, j, status, errmsg, now);
    struct auth_owner o = {.found = j->res.owner_found, .disabled = j->res.owner_disabled,
                           .role = j->res.owner_role};
    o.required = strncmp(j->res.token.created_by, "user:", 5) == 0;
    while (list) {
        struct authn *w = list;
        list = w->next;
        if (status) {
            decide_on_mirror(a, w, status); /* the database cannot say: the mirror as it is */
            continue;
        }
        struct auth_principal p;
        const char *why = "";
        bool permanent;
        memset(&p, 0, sizeof(p));
        int rc = token_decide(j->res.found ? &j->res.token : NULL, &o, now, &p, &why, &permanent);
        count(a, &w->cred, rc, &p, now);
        finish(a, w, rc, &p, why);
    }
    base_free(j);
    auth_release(a);
}

static int lookup_start(struct auth *a, int slot, const char *hash)
{
    struct lookup_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->a = a;
    j->slot = slot;
    snprintf(j->hash, sizeof(j->hash), "%s", hash);
    int rc = auth_read_call(a, lookup_work, lookup_done, j);
    if (rc) {
        base_free(j);
        return rc;
    }
    auth_ref(a);
    return 0;
}

/* Starts (or joins) the lookup of a token the mirror does not hold. 0 and
 * the lookup's slot, or BASE_ERR_BUSY when none may start now. */
static int lookup_begin(struct auth *a, const char *hash, int *slot)
{
    switch (auth_miss_begin(&a->miss, hash, mono_ms(), slot)) {
    case AUTH_MISS_JOIN:
        return 0;
    case AUTH_MISS_START:
        if (lookup_start(a, *slot, hash) == 0)
            return 0;
        auth_miss_end(&a->miss, *slot);
        break;
    case AUTH_MISS_REFUSE:
        break;
    }
    a->stats.lookup_refused++;
    return BASE_ERR_BUSY;
}

int auth_authenticate_start(struct auth *a, const char *authorization, auth_authn_cb cb, void *data)
{
    struct cred c;
    const char *why = "";
    struct auth_principal none;
    memset(&none, 0, sizeof(none));
    int rc = a->closing ? BASE_ERR_CANCELED : cred_parse(a, authorization, &c, &why);
    if (rc == 0 && c.kind == CRED_TOKEN && auth_miss_is_known(&a->miss, c.hash, mono_ms())) {
        a->stats.negative_hits++;
        why = WHY_UNKNOWN;
        rc = BASE_ERR_INVALID;
    }
    if (rc) {
        if (rc != BASE_ERR_CANCELED)
            count(a, &c, rc, &none, 0);
        cb(data, rc, &none, rc == BASE_ERR_CANCELED ? "opshub is stopping" : why);
        return 0;
    }
    struct authn *w = base_calloc(1, sizeof(*w));
    if (!w)
        return BASE_ERR_NOMEM;
    w->cred = c;
    w->cb = cb;
    w->data = data;
    w->wait.resume = on_fresh;
    auth_ref(a);
    struct auth_owner o;
    int slot;
    if (c.kind == CRED_TOKEN && !auth_mirror_token(a, c.hash, &o) && lookup_begin(a, c.hash, &slot) == 0) {
        w->next = a->lookup_waiters[slot];
        a->lookup_waiters[slot] = w;
        return 0;
    }
    /* Held by the mirror (or past the lookup bounds: then a current mirror
     * decides, which costs no query of its own). */
    auth_mirror_wait(a, &w->wait);
    return 0;
}

int auth_check(struct auth *a, const char *authorization, struct auth_principal *p, const char **why)
{
    static const char *unused;
    struct cred c;
    bool permanent = false;
    int slot;
    if (!why)
        why = &unused;
    memset(p, 0, sizeof(*p));
    int rc = cred_parse(a, authorization, &c, why);
    if (rc)
        return rc;
    int64_t now = auth_now_ms();
    if (c.kind == CRED_TOKEN) {
        struct auth_owner o;
        const struct auth_token *t = auth_mirror_token(a, c.hash, &o);
        if (!t && auth_miss_is_known(&a->miss, c.hash, mono_ms())) {
            *why = WHY_UNKNOWN;
            return BASE_ERR_INVALID;
        }
        if (!t) {
            if (lookup_begin(a, c.hash, &slot) != 0) {
                *why = "too many unknown API tokens being looked up; retry";
                return BASE_ERR_BUSY;
            }
            return BASE_ERR_UNAVAILABLE; /* looked up meanwhile; the full path decides */
        }
        rc = token_decide(t, &o, now, p, why, &permanent);
    } else {
        rc = jwt_decide(a, &c, now, p, why);
    }
    if (rc && !permanent) {
        memset(p, 0, sizeof(*p));
        return BASE_ERR_UNAVAILABLE; /* a fresher read might say otherwise */
    }
    return rc;
}
