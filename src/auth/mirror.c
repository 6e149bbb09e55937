/*
 * auth/mirror: the daemon's in-memory copy of users, active API tokens and
 * active sessions (an auth_db snapshot plus hash indexes into it, and the
 * tokens looked up since it was loaded) and the reads that keep it
 * current. A read of meta.auth_gen is single-flight: whoever needs a
 * current mirror waits for the next read to start and complete; when the
 * generation moved, the same job loads the new snapshot, which replaces
 * the old one before anyone is resumed. Owns the snapshot, the indexes,
 * the waiters and the pending last-used times of tokens. No SQL here: the
 * reads are auth/db functions run by auth_read_call.
 */
#include "auth/auth_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define TOUCH_MAX 4096

struct auth_touch {
    char id[AUTH_ID_MAX];
    int64_t used_ms;
};

static void maps_init(struct auth *a)
{
    base_map_init(&a->users_by_id);
    base_map_init(&a->users_by_name);
    base_map_init(&a->tokens_by_hash);
    base_map_init(&a->sessions_by_id);
    base_map_init(&a->sessions_by_hash);
    base_map_init(&a->sessions_by_prev);
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

void auth_mirror_init(struct auth *a)
{
    maps_init(a);
}

void auth_mirror_free(struct auth *a)
{
    maps_free(a);
    auth_snapshot_free(&a->snap);
    base_free(a->touches);
    a->touches = NULL;
    a->n_touches = 0;
}

/* ---- the snapshot ---- */

static int index_snapshot(struct auth *a)
{
    maps_free(a);
    maps_init(a);
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

/* Keeps the looked-up tokens that are newer than the snapshot (a lookup
 * that completed after this snapshot's read began). */
static void extras_prune(struct auth *a)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n_extra; i++)
        if (a->extra[i].gen > a->snap.gen)
            a->extra[k++] = a->extra[i];
    a->n_extra = k;
}

/* Replaces the snapshot (taken from *snap). 0 or BASE_ERR_NOMEM, after
 * which the mirror is empty and denies everyone (fail closed). */
static int install(struct auth *a, struct auth_snapshot *snap)
{
    struct auth_snapshot old = a->snap;
    a->snap = *snap;
    memset(snap, 0, sizeof(*snap));
    int rc = index_snapshot(a);
    if (rc) {
        auth_snapshot_free(&a->snap);
        maps_free(a);
        maps_init(a);
        a->n_extra = 0;
        a->stats.reload_errors++;
    } else {
        a->stats.reloads++;
        if (!a->loaded)
            base_log_info("auth loaded", BASE_LOG_INT("users", a->snap.n_users),
                          BASE_LOG_INT("tokens", a->snap.n_tokens), BASE_LOG_INT("sessions", a->snap.n_sessions));
        a->loaded = true;
        extras_prune(a);
    }
    auth_snapshot_free(&old);
    return rc;
}

/* ---- reads of meta.auth_gen ---- */

struct sync_job {
    struct auth *a;
    uint64_t seq;
    int64_t known_gen;        /* -1: load regardless */
    bool changed;
    struct auth_snapshot snap;
};

static int sync_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct sync_job *j = data;
    int64_t gen = 0;
    int rc = auth_db_gen(c, &gen, err, errlen);
    if (rc || gen == j->known_gen)
        return rc;
    j->changed = true;
    return auth_db_load(c, auth_now_ms(), &j->snap, err, errlen);
}

/* Takes the waiters the read `seq` satisfies off the queue, in order. */
static struct auth_wait *waiters_take(struct auth *a, uint64_t seq)
{
    struct auth_wait *head = NULL, **tail = &head;
    while (a->wait_head && a->wait_head->need <= seq) {
        struct auth_wait *w = a->wait_head;
        a->wait_head = w->next;
        w->next = NULL;
        *tail = w;
        tail = &w->next;
    }
    if (!a->wait_head)
        a->wait_tail = NULL;
    return head;
}

static void waiters_resume(struct auth *a, struct auth_wait *list, int status)
{
    while (list) {
        struct auth_wait *w = list;
        list = w->next;
        w->resume(a, w, status);
    }
}

static void sync_done(void *data, int status, const char *errmsg);
static void on_sync_check(uv_check_t *h);

static void on_fresh_deadline(uv_timer_t *t)
{
    struct auth *a = t->data;
    if (!a->sync_busy)
        return;
    /* The database hangs: whoever waits is decided on the mirror as it
     * is, and so is everyone until this read completes. */
    a->sync_late = true;
    base_log_warn("auth: reading meta.auth_gen takes too long; deciding on the mirror as last loaded",
                  BASE_LOG_INT("deadline_ms", AUTH_FRESH_DEADLINE_MS));
    waiters_resume(a, waiters_take(a, UINT64_MAX), BASE_ERR_TIMEOUT);
}

static int sync_start(struct auth *a)
{
    if (a->closing)
        return BASE_ERR_CANCELED;
    struct sync_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->a = a;
    j->seq = a->sync_started + 1;
    j->known_gen = a->loaded ? a->snap.gen : -1;
    /* The first load goes through the store thread, which opens and
     * migrates the database before anything else touches it. */
    int rc = a->loaded ? auth_read_call(a, sync_work, sync_done, j) : store_call(a->st, sync_work, sync_done, j);
    if (rc) {
        base_free(j);
        return rc;
    }
    a->sync_started = j->seq;
    a->sync_busy = true;
    auth_ref(a);
    uv_timer_start(&a->fresh_timer, on_fresh_deadline, AUTH_FRESH_DEADLINE_MS, 0);
    return 0;
}

static void sync_note(struct auth *a, int status, const char *errmsg)
{
    if (status == 0) {
        a->stats.fresh_reads++;
        if (a->sync_failing)
            base_log_info("auth: reading the identity store works again");
        a->sync_failing = false;
        return;
    }
    a->stats.fresh_errors++;
    a->stats.reload_errors++;
    if (!a->sync_failing && status != BASE_ERR_CANCELED)
        base_log_warn("auth: cannot read the identity store; deciding on the mirror as last loaded",
                      BASE_LOG_STR("error", errmsg && *errmsg ? errmsg : base_strerror(status)));
    a->sync_failing = status != BASE_ERR_CANCELED;
}

static void sync_done(void *data, int status, const char *errmsg)
{
    struct sync_job *j = data;
    struct auth *a = j->a;
    a->sync_busy = false;
    bool was_late = a->sync_late;
    a->sync_late = false;
    uv_timer_stop(&a->fresh_timer);
    if (status == 0 && j->changed)
        status = install(a, &j->snap);
    sync_note(a, status, errmsg);
    if (was_late && status == 0)
        base_log_info("auth: reading meta.auth_gen works again");
    auth_snapshot_free(&j->snap);
    struct auth_wait *ready = waiters_take(a, j->seq);
    base_free(j);
    /* Whoever arrived during this read needs the next one. */
    if (a->wait_head && !a->closing)
        uv_check_start(&a->sync_check, on_sync_check);
    waiters_resume(a, ready, status);
    auth_release(a);
}

/* End of a loop turn: start the read the waiters need unless one is in
 * flight (then sync_done comes back here). Starting here rather than at
 * the first waiter lets every request parsed in this turn share the read;
 * on one core the read's thread could not run before the turn ends
 * anyway. */
static void on_sync_check(uv_check_t *h)
{
    struct auth *a = h->data;
    uv_check_stop(h);
    if (a->sync_busy || !a->wait_head || a->closing)
        return;
    int rc = sync_start(a);
    if (rc)
        waiters_resume(a, waiters_take(a, UINT64_MAX), rc);
}

void auth_mirror_wait(struct auth *a, struct auth_wait *w)
{
    if (a->sync_late || a->closing) {
        w->resume(a, w, a->closing ? BASE_ERR_CANCELED : BASE_ERR_TIMEOUT);
        return;
    }
    /* No read starts before the end of this turn: the next one to start
     * (at the earliest then) began after w arrived. */
    a->stats.fresh_waits++;
    w->need = a->sync_started + 1;
    w->next = NULL;
    if (a->wait_tail)
        a->wait_tail->next = w;
    else
        a->wait_head = w;
    a->wait_tail = w;
    if (!a->sync_busy)
        uv_check_start(&a->sync_check, on_sync_check);
}

void auth_mirror_sync(struct auth *a)
{
    if (!a->sync_busy)
        sync_start(a);
}

void auth_mirror_cancel(struct auth *a)
{
    waiters_resume(a, waiters_take(a, UINT64_MAX), BASE_ERR_CANCELED);
}

/* auth_reload: a waiter with a callback. */
struct reload_wait {
    struct auth_wait w;
    auth_done_cb cb;
    void *data;
};

static void reload_resume(struct auth *a, struct auth_wait *w, int status)
{
    struct reload_wait *r = (struct reload_wait *)w;
    if (r->cb)
        r->cb(r->data, status);
    base_free(r);
    auth_release(a);
}

int auth_reload(struct auth *a, auth_done_cb cb, void *data)
{
    if (a->closing)
        return BASE_ERR_CANCELED;
    struct reload_wait *r = base_calloc(1, sizeof(*r));
    if (!r)
        return BASE_ERR_NOMEM;
    r->w.resume = reload_resume;
    r->cb = cb;
    r->data = data;
    auth_ref(a);
    auth_mirror_wait(a, &r->w);
    return 0;
}

/* ---- lookups in the mirror ---- */

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

const struct auth_token *auth_mirror_token(const struct auth *a, const char *hash, struct auth_owner *o)
{
    memset(o, 0, sizeof(*o));
    const struct auth_token *t = base_map_get(&a->tokens_by_hash, hash);
    if (t) {
        o->required = strncmp(t->created_by, "user:", 5) == 0;
        const struct auth_user *u = o->required ? auth_user_find_name(a, t->created_by + 5) : NULL;
        o->found = u != NULL;
        o->disabled = u && u->disabled;
        o->role = u ? u->role : AUTH_ROLE_VIEWER;
        return t;
    }
    for (size_t i = 0; i < a->n_extra; i++)
        if (strcmp(a->extra[i].token.hash, hash) == 0) {
            *o = a->extra[i].owner;
            return &a->extra[i].token;
        }
    return NULL;
}

void auth_mirror_add_extra(struct auth *a, const struct auth_token_lookup *l)
{
    struct auth_owner o = {.found = l->owner_found, .disabled = l->owner_disabled, .role = l->owner_role};
    o.required = strncmp(l->token.created_by, "user:", 5) == 0;
    size_t i = 0;
    while (i < a->n_extra && strcmp(a->extra[i].token.hash, l->token.hash) != 0)
        i++;
    if (i == a->n_extra) {
        if (a->n_extra == AUTH_EXTRA_MAX) /* full: the oldest goes (a reload is due anyway) */
            memmove(&a->extra[0], &a->extra[1], (AUTH_EXTRA_MAX - 1) * sizeof(a->extra[0]));
        else
            a->n_extra++;
        i = a->n_extra - 1;
    }
    a->extra[i].token = l->token;
    a->extra[i].owner = o;
    a->extra[i].gen = l->gen;
}

const struct auth_session *auth_mirror_session(const struct auth *a, const char *id)
{
    return id ? base_map_get(&a->sessions_by_id, id) : NULL;
}

const struct auth_session *auth_mirror_session_by_refresh(const struct auth *a, const char *hash,
                                                         bool *replaced)
{
    const struct auth_session *s = base_map_get(&a->sessions_by_hash, hash);
    *replaced = false;
    if (!s) {
        s = base_map_get(&a->sessions_by_prev, hash);
        *replaced = s != NULL;
    }
    return s;
}

/* ---- last-used times of tokens ---- */

struct touch_job {
    struct auth *a;
    struct auth_touch *items;
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
    auth_release(a);
}

/* A write: on the store thread, in order with the other writes. */
void auth_mirror_flush_touches(struct auth *a)
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
    auth_ref(a);
    a->touches = NULL;
    a->n_touches = 0;
}

void auth_mirror_touch(struct auth *a, const char *token_id, int64_t now)
{
    for (size_t i = 0; i < a->n_touches; i++) {
        if (strcmp(a->touches[i].id, token_id) == 0) {
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
    snprintf(a->touches[a->n_touches].id, AUTH_ID_MAX, "%s", token_id);
    a->touches[a->n_touches++].used_ms = now;
}
