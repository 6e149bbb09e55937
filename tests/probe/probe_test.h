/*
 * tests/probe/probe_test: shared fixture for the probe tests: a loop, an
 * engine, checks built by hand with conf's documented defaults, a result
 * collector, and loop driving with a deadline (never a sleep). Teardown
 * closes the engine and asserts the loop closes with nothing left open.
 */
#ifndef TESTS_PROBE_PROBE_TEST_H
#define TESTS_PROBE_PROBE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/arena.h"
#include "conf/conf.h"
#include "probe/http.h"
#include "probe/probe.h"
#include "probe/target.h"
#include "probe/tcp.h"

#include <stdint.h>
#include <string.h>

struct result {
    int done;
    struct sample s;
};

struct fx {
    uv_loop_t loop;
    struct probe_engine *e;
    struct target http;
    bool http_started;
    int closed;
    char url[256];
    struct base_arena arena;   /* checks' settings, freed at teardown */
};

/* A check's type settings, to change them in a test. */
#define H(c) ((struct probe_http_conf *)(c).settings)
#define TC(c) ((struct probe_tcp_conf *)(c).settings)

static inline void on_result(void *data, const struct sample *s)
{
    struct result *r = data;
    r->s = *s;
    r->done++;
}

static inline void on_engine_closed(void *data)
{
    struct fx *f = data;
    f->closed++;
}

struct wait_for {
    const int *flag;
    int want;
};

static inline void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs before the loop blocks: stop as soon as the condition holds. */
static inline void on_prepare(uv_prepare_t *p)
{
    struct wait_for *w = p->data;
    if (*w->flag >= w->want)
        uv_stop(p->loop);
}

/* Runs the loop until *flag >= want or ms elapse; true when reached. */
static inline bool run_until(struct fx *f, const int *flag, int want, uint64_t ms)
{
    struct wait_for w = {flag, want};
    uv_timer_t deadline;
    uv_prepare_t prep;
    uv_timer_init(&f->loop, &deadline);
    uv_timer_start(&deadline, on_deadline, ms, 0);
    uv_prepare_init(&f->loop, &prep);
    prep.data = &w;
    uv_prepare_start(&prep, on_prepare);
    if (*flag < want)
        uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_close((uv_handle_t *)&prep, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return *flag >= want;
}

/* Runs the loop for about ms (to show that something does NOT happen). */
static inline void run_for(struct fx *f, uint64_t ms)
{
    int never = 0;
    run_until(f, &never, 1, ms);
}

/* Waits (driving the loop) until the target has seen n requests. */
static inline bool wait_requests(struct fx *f, struct target *t, int n, uint64_t ms)
{
    uv_update_time(&f->loop);
    uint64_t end = uv_now(&f->loop) + ms;
    while (atomic_load(&t->requests) < n) {
        run_for(f, 10);
        uv_update_time(&f->loop);
        if (uv_now(&f->loop) >= end)
            return false;
    }
    return true;
}

/* A check of `type` with conf's documented defaults (the type's own init),
 * its settings in the fixture's arena. */
static inline struct conf_check check_defaults(struct fx *f, const struct conf_check_type *type)
{
    struct conf_check c;
    memset(&c, 0, sizeof(c));
    c.id = "t";
    c.name = "t";
    c.type = type;
    c.interval_ms = CONF_DEFAULT_INTERVAL_MS;
    c.timeout_ms = CONF_DEFAULT_TIMEOUT_MS;
    c.confirm = 1;
    c.enabled = true;
    c.settings = base_arena_calloc(&f->arena, type->settings_size);
    assert_non_null(c.settings);
    if (type->init)
        assert_int_equal(type->init(c.settings, &f->arena), 0);
    return c;
}

static inline struct conf_check http_check(struct fx *f, const char *path)
{
    struct conf_check c = check_defaults(f, &probe_http_type);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", f->http.port, path);
    H(c)->url = f->url;
    return c;
}

/* A value of the sample, or -1 when it has none by that name. */
static inline double sample_v(const struct sample *s, const char *name)
{
    double v;
    return sample_value_get(s, name, &v) ? v : -1;
}

static inline int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    base_arena_init(&f->arena, 4096);
    f->e = probe_engine_new(&f->loop, NULL);
    assert_non_null(f->e);
    assert_int_equal(target_start(&f->http, TARGET_HTTP), 0);
    f->http_started = true;
    *state = f;
    return 0;
}

/* Closes the engine (if the test did not) and checks nothing is left. */
static inline void fx_close_engine(struct fx *f)
{
    if (!f->e)
        return;
    probe_engine_close(f->e, on_engine_closed, f);
    f->e = NULL;
    assert_true(run_until(f, &f->closed, 1, 5000));
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed, 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;
    fx_close_engine(f);
    if (f->http_started)
        target_stop(&f->http);
    base_arena_free(&f->arena);
    free(f);
    return 0;
}

/* Starts one run and waits for its sample. */
static inline void run_check(struct fx *f, const struct conf_check *c, struct result *r, uint64_t ms)
{
    memset(r, 0, sizeof(*r));
    assert_non_null(probe_start(f->e, c, on_result, r));
    assert_true(run_until(f, &r->done, 1, ms));
    assert_int_equal(r->done, 1);
}

/* Phase values are absent or >= 0, and together no longer than the run. */
static inline void assert_timings_sane(const struct sample *s)
{
    static const char *const phases[] = {"phase_resolve_seconds", "phase_connect_seconds", "phase_tls_seconds",
                                         "phase_processing_seconds", "phase_transfer_seconds", "phase_reply_seconds"};
    double sum = 0;
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        double v;
        if (sample_value_get(s, phases[i], &v)) {
            assert_true(v >= 0);
            sum += v;
        }
    }
    assert_true(s->latency_ms >= 0);
    assert_true(s->latency_ms + 0.01 >= sum * 1000);
    assert_true(s->ts_ms > 1600000000000LL);
}

#endif
