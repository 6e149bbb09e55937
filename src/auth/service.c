/*
 * auth/service: the identity service's lifetime (see service.h). Creates
 * and frees the service, owns its two timers (the poll/flush/purge tick
 * and the deadline of the read in flight), the check handle that starts
 * reads, and its reader, and counts the
 * references every asynchronous operation holds so that closing waits for
 * them. The work itself is in mirror.c, verify.c, login.c and audit.c.
 */
#include "auth/auth_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

#define POLL_DEFAULT_MS 1000
#define TOUCH_FLUSH_MS 30000

int64_t auth_now_ms(void)
{
    return base_time_now_ms();
}

void auth_ref(struct auth *a)
{
    a->refs++;
}

void auth_release(struct auth *a)
{
    if (--a->refs > 0)
        return;
    auth_close_cb cb = a->close_cb;
    void *data = a->close_data;
    auth_mirror_free(a);
    auth_verify_free(a);
    auth_login_free(a);
    auth_jwt_key_free(&a->key);
    base_free(a);
    if (cb)
        cb(data);
}

static void on_handle_closed(uv_handle_t *h)
{
    auth_release(h->data);
}

static void on_reader_closed(void *data)
{
    auth_release(data);
}

int auth_read_call(struct auth *a, store_work_fn work, store_done_fn done, void *data)
{
    if (a->closing)
        return BASE_ERR_CANCELED;
    return a->reader ? auth_reader_call(a->reader, work, done, data) : store_call(a->st, work, done, data);
}

static void reader_open(struct auth *a, const char *url)
{
    if (!url || !*url)
        return;
    char err[256] = "";
    a->reader = auth_reader_new(a->loop, url, err, sizeof(err));
    if (a->reader)
        a->refs++; /* released when the reader has closed */
    else
        base_log_warn("auth: no read connection of its own; reads share the store thread",
                      BASE_LOG_STR("error", err));
}

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
    a->opts.store_url = NULL;  /* copied by the reader */
    if (a->opts.access_ttl_ms <= 0)
        a->opts.access_ttl_ms = 15 * 60000;
    if (a->opts.refresh_ttl_ms <= 0)
        a->opts.refresh_ttl_ms = 30LL * 86400000;
    if (a->opts.poll_ms <= 0)
        a->opts.poll_ms = POLL_DEFAULT_MS;
    auth_mirror_init(a);
    auth_miss_init(&a->miss);
    base_map_init(&a->throttle);
    a->refs = 1;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    uv_timer_init(loop, &a->fresh_timer);
    a->fresh_timer.data = a;
    uv_check_init(loop, &a->sync_check);
    a->sync_check.data = a;
    a->refs += 3; /* the handles */
    reader_open(a, o->store_url);
    return a;
}

static void timer_cb(uv_timer_t *t)
{
    struct auth *a = t->data;
    if (a->closing)
        return;
    int64_t now = auth_now_ms();
    auth_login_tick(a, now);
    auth_mirror_sync(a);
    if (now >= a->next_touch_ms) {
        a->next_touch_ms = now + TOUCH_FLUSH_MS;
        auth_mirror_flush_touches(a);
    }
    auth_audit_tick(a, now);
}

void auth_start(struct auth *a)
{
    int64_t now = auth_now_ms();
    a->next_touch_ms = now + TOUCH_FLUSH_MS;
    a->next_purge_ms = now + 60000; /* first purge a minute after start */
    uv_timer_start(&a->timer, timer_cb, 0, (uint64_t)a->opts.poll_ms);
}

void auth_close(struct auth *a, auth_close_cb cb, void *data)
{
    if (!a || a->closing)
        return;
    a->closing = true;
    a->close_cb = cb;
    a->close_data = data;
    auth_mirror_flush_touches(a);
    auth_mirror_cancel(a);
    uv_timer_stop(&a->timer);
    uv_timer_stop(&a->fresh_timer);
    uv_close((uv_handle_t *)&a->timer, on_handle_closed);
    uv_close((uv_handle_t *)&a->fresh_timer, on_handle_closed);
    uv_close((uv_handle_t *)&a->sync_check, on_handle_closed);
    if (a->reader)
        auth_reader_close(a->reader, on_reader_closed, a);
    a->reader = NULL; /* freed by its close */
    auth_release(a);
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
