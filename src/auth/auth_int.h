/*
 * auth/auth_int: what the files of the identity service share (service.c:
 * lifetime and timers; mirror.c: the in-memory users/tokens/sessions and
 * the reads that keep them current; verify.c: deciding a request's
 * credentials; login.c: logins, refresh, logout, the throttle and password
 * hashing; audit.c: audit rows and their retention). Private to src/auth:
 * no other folder includes it.
 */
#ifndef AUTH_AUTH_INT_H
#define AUTH_AUTH_INT_H

#include "auth/db.h"
#include "auth/jwt.h"
#include "auth/miss.h"
#include "auth/oidc.h"
#include "auth/reader.h"
#include "auth/service.h"
#include "auth/sso.h"
#include "base/map.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define AUTH_AUDIENCE "opshub"
#define AUTH_ISSUER "opshub"
#define AUTH_BURST_WINDOW_S 60
#define AUTH_SESSION_MAX_MS (90LL * 86400000) /* a login's sessions end 90 days after it, refreshed or not */
#define AUTH_SESSIONS_PER_USER 20             /* a new login ends the user's oldest sessions beyond this */
/* The password hash of a user made by single sign-on: not a hash, so no
 * password ever matches it, and how a sign-on tells its own users from
 * local ones of the same name. */
#define AUTH_SSO_PASSWORD_HASH "!sso"
#define AUTH_EXTRA_MAX 32   /* tokens looked up since the last reload, kept in the mirror */

/* The owner of an API token made through the API ("user:<name>"): such a
 * token stops with its user and never acts above the user's role. */
struct auth_owner {
    bool required;      /* created_by is "user:..." */
    bool found, disabled;
    enum auth_role role;
};

/* An API token found by a lookup, held in the mirror until the next
 * reload that includes it. */
struct auth_extra {
    struct auth_token token;
    struct auth_owner owner;
    int64_t gen;        /* meta.auth_gen the lookup read */
};

/* Something waiting for the next read of meta.auth_gen to complete (see
 * auth_mirror_wait). Embedded first in the waiter's own struct. */
struct auth_wait {
    struct auth_wait *next;
    uint64_t need;      /* resumed by the read with this sequence number or a later one */
    /* status: 0 (the mirror reflects a read started after the wait began),
     * or the read's error, BASE_ERR_TIMEOUT (late) or BASE_ERR_CANCELED. */
    void (*resume)(struct auth *a, struct auth_wait *w, int status);
};

struct auth_jwt_cache_slot;
struct auth_touch;
struct authn;

struct auth {
    uv_loop_t *loop;
    struct store *st;
    struct auth_reader *reader;        /* NULL: reads go to the store thread */
    struct auth_jwt_key key;
    struct auth_opts opts;             /* store_url and jwt_secret not kept */
    uv_timer_t timer;                  /* poll, touch flush, audit purge */
    uv_timer_t fresh_timer;            /* deadline of the read in flight */
    uv_check_t sync_check;             /* starts the read waiters need, at the end of a loop turn */
    int refs;                          /* the service itself, its handles, every async operation */
    bool closing;
    auth_close_cb close_cb;
    void *close_data;

    /* mirror.c */
    struct auth_snapshot snap;
    bool loaded;
    struct base_map users_by_id, users_by_name, tokens_by_hash, sessions_by_id, sessions_by_hash,
        sessions_by_prev;
    struct auth_extra extra[AUTH_EXTRA_MAX];
    size_t n_extra;
    uint64_t sync_started;             /* sequence number of the last read started */
    bool sync_busy;                    /* a read is in flight */
    bool sync_late;                    /* it passed AUTH_FRESH_DEADLINE_MS: decide without waiting */
    bool sync_failing;                 /* the last read failed (logged once per outage) */
    struct auth_wait *wait_head, *wait_tail;
    struct auth_touch *touches;        /* pending last_used_at updates */
    size_t n_touches;

    /* verify.c */
    struct auth_miss miss;
    struct authn *lookup_waiters[AUTH_MISS_INFLIGHT_MAX];
    struct auth_jwt_cache_slot *jwt_cache;

    /* login.c */
    struct base_map throttle;          /* key -> struct throttle */
    int hashing;                       /* Argon2id jobs on the thread pool */
    uint32_t burst[AUTH_BURST_WINDOW_S]; /* failures per second, ring indexed by second */
    int64_t burst_sec;

    int64_t next_touch_ms, next_purge_ms;
    struct auth_stats stats;
};

/* service.c */
int64_t auth_now_ms(void);             /* wall clock: stored times, expiry */
void auth_ref(struct auth *a);
void auth_release(struct auth *a);     /* frees the service after its last reference */
/* A read for the service: on its reader, else the store thread. */
int auth_read_call(struct auth *a, store_work_fn work, store_done_fn done, void *data);

/* mirror.c */
void auth_mirror_init(struct auth *a);
void auth_mirror_free(struct auth *a);
/* Queues w to resume after a read of meta.auth_gen that starts after now.
 * Reads are single-flight and start at the end of a loop turn, so every
 * waiter of that turn (and those that arrived while the previous read was
 * in flight) shares one. May resume w before returning (the read in
 * flight is late, or the service is closing). */
void auth_mirror_wait(struct auth *a, struct auth_wait *w);
/* Starts a read in the background unless one is in flight. */
void auth_mirror_sync(struct auth *a);
/* Resumes every waiter with BASE_ERR_CANCELED (closing). */
void auth_mirror_cancel(struct auth *a);
/* The active token with this hash (snapshot or looked up), its owner in
 * *o; NULL when the mirror does not hold it. Borrowed until the next
 * reload. */
const struct auth_token *auth_mirror_token(const struct auth *a, const char *hash, struct auth_owner *o);
void auth_mirror_add_extra(struct auth *a, const struct auth_token_lookup *l);
const struct auth_session *auth_mirror_session(const struct auth *a, const char *id);
/* The session whose current refresh hash is `hash`, or (*replaced = true)
 * whose previous one is. */
const struct auth_session *auth_mirror_session_by_refresh(const struct auth *a, const char *hash,
                                                         bool *replaced);
void auth_mirror_touch(struct auth *a, const char *token_id, int64_t now);
void auth_mirror_flush_touches(struct auth *a);

/* verify.c */
void auth_verify_free(struct auth *a);

/* login.c */
void auth_login_free(struct auth *a);
/* Signs the access JWT of session sid for u into r (with expires_in_s,
 * session_id and the user). 0 or a auth_jwt_sign error. */
int auth_login_issue_access(struct auth *a, const struct auth_user *u, const char *sid, int64_t now,
                            struct auth_login_result *r);
/* Ends the failure-burst self-alert once a quiet minute has passed. */
void auth_login_tick(struct auth *a, int64_t now);

/* sso_provider.c: the provider exchanges of one sign-on, run on the
 * libuv thread pool (blocking, bounded by auth/fetch's timeouts). */
struct auth_sso_exchange {
    /* in */
    enum auth_sso_provider provider;
    const struct auth_sso_opts *opts;  /* the sso object's: it outlives its jobs */
    char redirect_uri[AUTH_SSO_URL_MAX];
    char code[1024];
    char verifier[64], nonce[64];
    bool discovery_only;               /* OIDC start: the discovery document only */
    int64_t now_s;
    uint64_t deadline_ms;              /* uv_hrtime() / 1e6 by which every exchange must be done */
    /* in: the cache as the job started; out: what it fetched (*_fetched) */
    struct auth_oidc_discovery disc;
    bool disc_ok, disc_fetched;
    char *jwks;                        /* owned by the job (base_malloc) */
    size_t jwks_len;
    bool jwks_fetched;
    /* out */
    char username[AUTH_NAME_MAX];
    enum auth_role role;
    const char *error_code;            /* NULL: a user and a role */
    char why[256];
};
void auth_sso_exchange_run(struct auth_sso_exchange *x);

/* audit.c */
/* Purges audit rows past the retention, in chunks, when it is time. */
void auth_audit_tick(struct auth *a, int64_t now);

#endif
