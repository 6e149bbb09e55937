/*
 * Unit tests for sched/sched on a real loop with the real probe engine:
 * first runs spread over the interval, reload keeps unchanged checks'
 * state, run-now and cancellation paths (run under ASan in make test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "conf/conf.h"
#include "probe/probe.h"
#include "probe/registry.h"
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    uv_loop_t loop;
    struct probe_engine *probes;
    struct event_bus bus;
    struct sched *sched;
    int samples;
    int changes;
    uv_tcp_t server;          /* accepts and never answers */
    uv_tcp_t *accepted[8];
    int n_accepted;
    int port;
    uv_timer_t tick;          /* wakes UV_RUN_ONCE so run_until re-checks its condition */
};

static void on_event(void *data, const struct event *ev)
{
    struct fixture *f = data;
    if (ev->kind == EVENT_SAMPLE)
        f->samples++;
    else if (ev->kind == EVENT_STATUS)
        f->changes++;
}

static struct conf *load(const char *yaml)
{
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    int rc = conf_load_string(probe_registry_types(), "test.yaml", yaml, strlen(yaml), &c, &errs);
    if (rc)
        base_errors_print(&errs, stderr);
    base_errors_free(&errs);
    assert_int_equal(rc, 0);
    return c;
}

static void on_accept(uv_stream_t *server, int status)
{
    struct fixture *f = server->data;
    if (status || f->n_accepted == 8)
        return;
    uv_tcp_t *c = malloc(sizeof(*c));
    uv_tcp_init(&f->loop, c);
    if (uv_accept(server, (uv_stream_t *)c) == 0)
        f->accepted[f->n_accepted++] = c;
    else
        uv_close((uv_handle_t *)c, (uv_close_cb)free);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    uv_timer_init(&f->loop, &f->tick);
    f->probes = probe_engine_new(&f->loop, NULL);
    event_bus_init(&f->bus);
    assert_int_equal(event_subscribe(&f->bus, "test", EVENT_MASK(EVENT_SAMPLE) | EVENT_MASK(EVENT_STATUS), on_event, f), 0);
    f->sched = sched_new(&f->loop, f->probes, &f->bus, NULL);
    uv_tcp_init(&f->loop, &f->server);
    f->server.data = f;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&f->server, (const struct sockaddr *)&addr, 0);
    uv_listen((uv_stream_t *)&f->server, 16, on_accept);
    struct sockaddr_in bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&f->server, (struct sockaddr *)&bound, &len);
    f->port = ntohs(bound.sin_port);
    *state = f;
    return 0;
}

static int closed_count;
static void on_closed(void *data)
{
    closed_count++;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    closed_count = 0;
    sched_close(f->sched, on_closed, NULL);
    probe_engine_close(f->probes, on_closed, NULL);
    for (int i = 0; i < f->n_accepted; i++)
        uv_close((uv_handle_t *)f->accepted[i], (uv_close_cb)free);
    uv_close((uv_handle_t *)&f->server, NULL);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(closed_count, 2);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* only there so UV_RUN_ONCE wakes up to re-check the condition */
}

/* Drives the loop until cond(f) or the deadline; returns cond's last value. */
static bool run_until(struct fixture *f, bool (*cond)(struct fixture *), uint64_t timeout_ms)
{
    uint64_t deadline = uv_hrtime() + timeout_ms * 1000000ULL;
    uv_timer_start(&f->tick, on_tick, 20, 20);
    bool ok = false;
    while (!(ok = cond(f)) && uv_hrtime() < deadline)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->tick);
    return ok;
}

static void test_sched_spreads_first_runs_over_the_interval(void **state)
{
    struct fixture *f = *state;
    struct base_buf y;
    base_buf_init(&y, 4 << 20);
    assert_int_equal(base_buf_append_str(&y, "checks:\n"), 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(base_buf_appendf(&y, "  - {id: c%05d, type: tcp, address: \"127.0.0.1:1\", interval: 60s, timeout: 1s}\n", i), 0);
    struct conf *c = load(y.data);
    base_buf_free(&y);
    uint64_t before = uv_hrtime();
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    int buckets[60] = {0};
    for (size_t i = 0; i < sched_count(f->sched); i++) {
        const struct sched_check *sc = sched_check_at(f->sched, i);
        uint64_t offset = sc->due_ns - before;
        /* slack for the time apply itself takes (slow under ASan) */
        assert_true(offset < 62ULL * 1000000000ULL);
        buckets[offset / 1000000000ULL % 60]++;
    }
    /* 10,000 over 60 one-second buckets is ~167 each; no burst may exceed twice that. */
    for (int i = 0; i < 60; i++) {
        assert_true(buckets[i] > 80);
        assert_true(buckets[i] < 334);
    }
    struct conf *empty = load("checks: []\n");
    struct sched_reload_stats st;
    assert_int_equal(sched_apply_conf(f->sched, empty, &st), 0);
    assert_int_equal(st.removed, 10000);
    conf_destroy(c);
    conf_destroy(empty);
}

static bool all_have_samples(struct fixture *f)
{
    for (size_t i = 0; i < sched_count(f->sched); i++)
        if (!sched_check_at(f->sched, i)->has_last && sched_check_at(f->sched, i)->conf->enabled)
            return false;
    return true;
}

static void test_sched_reload_keeps_unchanged_checks_state(void **state)
{
    struct fixture *f = *state;
    struct conf *a = load("checks:\n"
                          "  - {id: keep, type: tcp, address: \"127.0.0.1:1\", interval: 200ms, timeout: 100ms}\n"
                          "  - {id: change, type: tcp, address: \"127.0.0.1:1\", interval: 200ms, timeout: 100ms}\n"
                          "  - {id: gone, type: tcp, address: \"127.0.0.1:1\", interval: 200ms, timeout: 100ms}\n");
    assert_int_equal(sched_apply_conf(f->sched, a, NULL), 0);
    assert_true(run_until(f, all_have_samples, 5000));
    const struct sched_check *keep = sched_check_get(f->sched, "keep");
    assert_int_equal(keep->state.status, SCHED_STATUS_DOWN);
    assert_string_not_equal(keep->last.error, "");
    int64_t since = keep->state.since_ms;

    struct conf *b = load("checks:\n"
                          "  - {id: keep, type: tcp, address: \"127.0.0.1:1\", interval: 200ms, timeout: 100ms}\n"
                          "  - {id: change, type: tcp, address: \"127.0.0.1:1\", interval: 200ms, timeout: 150ms}\n"
                          "  - {id: added, type: tcp, address: \"127.0.0.1:1\", interval: 200ms, timeout: 100ms}\n");
    struct sched_reload_stats st;
    assert_int_equal(sched_apply_conf(f->sched, b, &st), 0);
    conf_destroy(a);
    assert_int_equal(st.added, 1);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.changed, 1);
    assert_int_equal(st.unchanged, 1);
    assert_null(sched_check_get(f->sched, "gone"));
    keep = sched_check_get(f->sched, "keep");
    assert_true(keep->has_last);
    assert_int_equal(keep->state.status, SCHED_STATUS_DOWN);
    assert_int_equal(keep->state.since_ms, since);
    assert_ptr_equal(keep->conf, conf_check_find(b, "keep"));
    const struct sched_check *changed = sched_check_get(f->sched, "change");
    assert_false(changed->has_last);
    assert_int_equal(changed->state.status, SCHED_STATUS_UNKNOWN);
    assert_int_equal(sched_check_get(f->sched, "added")->state.status, SCHED_STATUS_UNKNOWN);
    assert_string_equal(sched_check_at(f->sched, 2)->conf->id, "added");
    /* The new checks get samples too, from the new configuration. */
    assert_true(run_until(f, all_have_samples, 5000));
    struct conf *empty = load("checks: []\n");
    assert_int_equal(sched_apply_conf(f->sched, empty, NULL), 0);
    conf_destroy(b);
    conf_destroy(empty);
}

struct run_result {
    int calls;
    int status;
    enum sample_result result;
};

static void on_run(void *data, int status, const struct sched_check *c, const struct sample *s)
{
    struct run_result *r = data;
    r->calls++;
    r->status = status;
    if (s)
        r->result = s->result;
}

static struct run_result *g_run;
static bool run_done(struct fixture *f)
{
    return g_run->calls > 0;
}

static void test_sched_run_now_unknown_and_paused(void **state)
{
    struct fixture *f = *state;
    struct conf *c = load("checks:\n"
                          "  - {id: off, type: tcp, address: \"127.0.0.1:1\", enabled: false}\n");
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    struct run_result r = {0};
    sched_run_now(f->sched, "nope", on_run, &r);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, BASE_ERR_NOT_FOUND);
    r.calls = 0;
    sched_run_now(f->sched, "off", on_run, &r);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, BASE_ERR_INVALID);
    assert_int_equal(sched_check_get(f->sched, "off")->state.status, SCHED_STATUS_PAUSED);
    struct conf *empty = load("checks: []\n");
    assert_int_equal(sched_apply_conf(f->sched, empty, NULL), 0);
    conf_destroy(c);
    conf_destroy(empty);
}

static void test_sched_run_now_reports_the_sample(void **state)
{
    struct fixture *f = *state;
    struct conf *c = load("checks:\n"
                          "  - {id: refused, type: tcp, address: \"127.0.0.1:1\", interval: 1h, timeout: 2s}\n");
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    struct run_result r = {0};
    g_run = &r;
    assert_int_equal(sched_run_now(f->sched, "refused", on_run, &r), 0);
    assert_true(run_until(f, run_done, 3000));
    assert_int_equal(r.status, 0);
    assert_int_equal(r.result, SAMPLE_DOWN);
    assert_int_equal(sched_check_get(f->sched, "refused")->state.status, SCHED_STATUS_DOWN);
    assert_int_equal(f->samples, 1);
    struct conf *empty = load("checks: []\n");
    assert_int_equal(sched_apply_conf(f->sched, empty, NULL), 0);
    conf_destroy(c);
    conf_destroy(empty);
}

static bool one_accepted(struct fixture *f)
{
    return f->n_accepted > 0;
}

static void test_sched_reload_cancels_a_run_in_flight(void **state)
{
    struct fixture *f = *state;
    char yaml[256];
    snprintf(yaml, sizeof(yaml),
             "checks:\n  - {id: hang, type: tcp, address: \"127.0.0.1:%d\", send: \"x\", expect: \"y\", interval: 1h, timeout: 30s}\n",
             f->port);
    struct conf *c = load(yaml);
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    struct run_result r = {0};
    g_run = &r;
    assert_int_equal(sched_run_now(f->sched, "hang", on_run, &r), 0);
    assert_true(run_until(f, one_accepted, 3000));
    assert_int_equal(r.calls, 0);
    struct conf *empty = load("checks: []\n");
    assert_int_equal(sched_apply_conf(f->sched, empty, NULL), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, BASE_ERR_CANCELED);
    assert_int_equal(f->samples, 0);
    conf_destroy(c);
    conf_destroy(empty);
}

static void test_sched_close_cancels_runs_in_flight(void **state)
{
    struct fixture *f = *state;
    char yaml[256];
    snprintf(yaml, sizeof(yaml),
             "checks:\n  - {id: hang, type: tcp, address: \"127.0.0.1:%d\", send: \"x\", expect: \"y\", interval: 1h, timeout: 30s}\n",
             f->port);
    struct conf *c = load(yaml);
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    static struct run_result r;
    memset(&r, 0, sizeof(r));
    g_run = &r;
    assert_int_equal(sched_run_now(f->sched, "hang", on_run, &r), 0);
    assert_true(run_until(f, one_accepted, 3000));
    /* teardown closes the scheduler with the run still in flight */
    teardown(state);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, BASE_ERR_CANCELED);
    conf_destroy(c);
    setup(state);
}

static size_t max_seen_in_flight;
static void on_watch(uv_timer_t *t)
{
    struct fixture *f = t->data;
    struct probe_stats ps;
    probe_stats_get(f->probes, &ps);
    if (ps.in_flight > max_seen_in_flight)
        max_seen_in_flight = ps.in_flight;
}

static bool all_checks_sampled_twice(struct fixture *f)
{
    return f->samples >= 6;
}

static void test_sched_caps_runs_in_flight(void **state)
{
    struct fixture *f = *state;
    char yaml[1024];
    /* Three checks against a server that never answers: each run lasts its
     * whole 150 ms timeout. With a cap of one, they must take turns. */
    snprintf(yaml, sizeof(yaml),
             "checks:\n"
             "  - {id: a, type: tcp, address: \"127.0.0.1:%d\", send: \"x\", expect: \"y\", interval: 200ms, timeout: 150ms}\n"
             "  - {id: b, type: tcp, address: \"127.0.0.1:%d\", send: \"x\", expect: \"y\", interval: 200ms, timeout: 150ms}\n"
             "  - {id: c, type: tcp, address: \"127.0.0.1:%d\", send: \"x\", expect: \"y\", interval: 200ms, timeout: 150ms}\n",
             f->port, f->port, f->port);
    struct conf *c = load(yaml);
    sched_max_in_flight_set(f->sched, 1);
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    uv_timer_t watch;
    uv_timer_init(&f->loop, &watch);
    watch.data = f;
    max_seen_in_flight = 0;
    uv_timer_start(&watch, on_watch, 1, 1);
    assert_true(run_until(f, all_checks_sampled_twice, 5000));
    uv_close((uv_handle_t *)&watch, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(max_seen_in_flight, 1);
    for (size_t i = 0; i < 3; i++)
        assert_true(sched_check_at(f->sched, i)->has_last);
    /* Three 150 ms runs per 200 ms interval cannot all fit: some were late or skipped. */
    const struct sched_stats *st = sched_stats_get(f->sched);
    assert_true(st->skipped > 0 || base_histogram_quantile(&st->lateness, 0.99) > 0.1);
    struct conf *empty = load("checks: []\n");
    assert_int_equal(sched_apply_conf(f->sched, empty, NULL), 0);
    conf_destroy(c);
    conf_destroy(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sched_spreads_first_runs_over_the_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_reload_keeps_unchanged_checks_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_run_now_unknown_and_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_run_now_reports_the_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_reload_cancels_a_run_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_close_cancels_runs_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_caps_runs_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
