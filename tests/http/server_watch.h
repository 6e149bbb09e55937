/*
 * tests/http/server_watch: lets the client thread of a server test wait
 * for what the server on the loop thread has done, instead of sleeping.
 * A uv_check handle copies the server's counters into atomics after every
 * loop turn and counts the turns; the client kicks the loop through a
 * uv_async handle while it polls them, with a deadline. Two turns after a
 * send are proof the server has read what was sent (each turn polls every
 * readable socket). Test code only; static inline, one copy per test.
 */
#ifndef TESTS_HTTP_SERVER_WATCH_H
#define TESTS_HTTP_SERVER_WATCH_H

#include "http/server.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

struct server_watch {
    uv_check_t check;
    uv_async_t kick;
    const struct http_server *srv;  /* loop thread only; NULL once detached */
    atomic_uint_fast64_t turns;
    atomic_uint_fast64_t accepted, open, requests, tls_errors;
};

static inline void server_watch_on_check(uv_check_t *c)
{
    struct server_watch *w = c->data;
    if (w->srv) {
        struct http_server_stats st;
        http_server_stats_get(w->srv, &st);
        atomic_store(&w->accepted, st.connections_accepted);
        atomic_store(&w->open, st.connections_open);
        atomic_store(&w->requests, st.requests);
        atomic_store(&w->tls_errors, st.tls_handshake_errors);
    }
    atomic_fetch_add(&w->turns, 1);
}

static inline void server_watch_on_kick(uv_async_t *a)
{
    (void)a;  /* waking the loop is all it is for: the check handle runs after */
}

/* Loop thread, after the server listens and before the client starts. */
static inline void server_watch_start(struct server_watch *w, uv_loop_t *loop, const struct http_server *srv)
{
    w->srv = srv;
    atomic_init(&w->turns, 0);
    atomic_init(&w->accepted, 0);
    atomic_init(&w->open, 0);
    atomic_init(&w->requests, 0);
    atomic_init(&w->tls_errors, 0);
    uv_check_init(loop, &w->check);
    w->check.data = w;
    uv_check_start(&w->check, server_watch_on_check);
    uv_async_init(loop, &w->kick, server_watch_on_kick);
}

/* Loop thread: stop reading the server (before it is closed). */
static inline void server_watch_detach(struct server_watch *w)
{
    w->srv = NULL;
}

/* Loop thread, once the client thread has finished (no more kicks). */
static inline void server_watch_close(struct server_watch *w)
{
    w->srv = NULL;
    uv_close((uv_handle_t *)&w->check, NULL);
    uv_close((uv_handle_t *)&w->kick, NULL);
}

static inline long server_watch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Client thread: kicks the loop until lo <= *v <= hi or timeout_ms pass.
 * v is one of w's counters or any other atomic the loop thread sets. */
static inline bool server_watch_until(struct server_watch *w, atomic_uint_fast64_t *v, uint64_t lo, uint64_t hi,
                                      long timeout_ms)
{
    long end = server_watch_now_ms() + timeout_ms;
    for (;;) {
        uint64_t x = atomic_load(v);
        if (x >= lo && x <= hi)
            return true;
        if (server_watch_now_ms() > end)
            return false;
        uv_async_send(&w->kick);
        struct timespec poll_interval = {0, 1000000};
        nanosleep(&poll_interval, NULL);
    }
}

/* Client thread: returns once the loop has finished two whole turns after
 * the call, so everything sent before it has been read by the server. */
static inline bool server_watch_settled(struct server_watch *w, long timeout_ms)
{
    uint64_t t0 = atomic_load(&w->turns);
    for (uint64_t want = t0 + 1; want <= t0 + 2; want++)
        if (!server_watch_until(w, &w->turns, want, UINT64_MAX, timeout_ms))
            return false;
    return true;
}

#endif
