/*
 * The heartbeat type (probe/heartbeat.c) through the loader and the
 * scheduler on a manual clock: the deadline is period + grace (not the
 * interval), pings push it back, a run begun with start is measured
 * against max_runtime and min_runtime or expires unfinished, /fail is
 * down, the token compare, and a restart's restored sample keeps the
 * deadline of the last ping. Nothing sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/clock.h"
#include "conf/conf.h"
#include "probe/heartbeat.h"
#include "probe/probe.h"
#include "probe/registry.h"
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

struct fx {
    uv_loop_t loop;
    struct base_clock_manual clock;
    struct event_bus bus;
    struct probe_engine *probes;
    struct sched *sched;
    struct conf *conf;
    int samples;
    struct sample last;
};

static void on_event(void *data, const struct event *ev)
{
    struct fx *f = data;
    if (ev->kind == EVENT_SAMPLE) {
        f->samples++;
        f->last = *ev->u.check.sample;
    }
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    base_clock_manual_init(&f->clock, T0);
    event_bus_init(&f->bus);
    event_subscribe(&f->bus, "test", EVENT_MASK(EVENT_SAMPLE), on_event, f);
    f->probes = probe_engine_new(&f->loop, &f->clock.clock);
    f->sched = sched_new(&f->loop, f->probes, &f->bus, &f->clock.clock);
    return f;
}

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int closed;
static void on_closed(void *data)
{
    closed++;
}

static void fx_close(struct fx *f)
{
    closed = 0;
    sched_close(f->sched, on_closed, NULL);
    probe_engine_close(f->probes, on_closed, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 2);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    conf_destroy(f->conf);
    free(f);
}

static int teardown(void **state)
{
    fx_close(*state);
    return 0;
}

static struct conf *load(const char *yaml, struct base_errors *e)
{
    struct conf *c = NULL;
    base_errors_init(e, 0);
    conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, e);
    return c;
}

static void apply(struct fx *f, const char *yaml)
{
    struct base_errors e;
    struct conf *c = load(yaml, &e);
    if (!c) {
        base_errors_print(&e, stderr);
        fail();
    }
    base_errors_free(&e);
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    conf_destroy(f->conf);
    f->conf = c;
}

static void advance(struct fx *f, int64_t ms)
{
    base_clock_manual_advance(&f->clock, ms);
    sched_poll(f->sched);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static const struct sched_check *get(struct fx *f, const char *id)
{
    return sched_check_get(f->sched, id);
}

/* What the ping routes do: the type's sample from the check's state, then the signal. */
static void ping(struct fx *f, const char *id, enum probe_heartbeat_ping kind)
{
    const struct sched_check *c = get(f, id);
    if (kind == PROBE_HEARTBEAT_START) {
        const struct probe_heartbeat_conf *h = c->conf->settings;
        assert_int_equal(sched_signal_start(f->sched, id, h->max_runtime_ms), 0);
        return;
    }
    struct sample s;
    probe_heartbeat_sample(c->conf, kind, sched_now_ms(f->sched), c->run_started_ms, c->last_signal_ms, &s);
    assert_int_equal(sched_signal(f->sched, id, &s), 0);
}

static double value(const struct sample *s, const char *name)
{
    double v = -1;
    assert_true(sample_value_get(s, name, &v));
    return v;
}

static void test_heartbeat_deadline_is_period_plus_grace_not_interval(void **state)
{
    struct fx *f = *state;
    /* interval (default 60s) is not the period */
    apply(f, "checks:\n  - {id: backup, type: heartbeat, period: 10s, grace: 5s}\n");
    advance(f, 14999);
    assert_int_equal(f->samples, 0);
    ping(f, "backup", PROBE_HEARTBEAT_SUCCESS);
    assert_int_equal(f->samples, 1);
    assert_int_equal(f->last.result, SAMPLE_UP);
    assert_false(sample_value_get(&f->last, "run_seconds", &(double){0}));
    assert_int_equal(get(f, "backup")->state.status, SCHED_STATUS_UP);
    advance(f, 7000);
    ping(f, "backup", PROBE_HEARTBEAT_SUCCESS);
    assert_true(value(&f->last, "since_last_ping_seconds") == 7.0);
    advance(f, 14999); /* the ping moved the deadline */
    assert_int_equal(f->samples, 2);
    advance(f, 1);
    assert_int_equal(f->samples, 3);
    assert_int_equal(f->last.result, SAMPLE_DOWN);
    assert_string_equal(f->last.error, "no ping for 15s (period 10s + grace 5s)");
    assert_true(value(&f->last, "since_last_ping_seconds") == 15.0);
    assert_int_equal(get(f, "backup")->state.status, SCHED_STATUS_DOWN);
    advance(f, 10000); /* silent on: again every period */
    assert_int_equal(f->samples, 4);
    assert_string_equal(f->last.error, "no ping for 25s (period 10s + grace 5s)");
    ping(f, "backup", PROBE_HEARTBEAT_SUCCESS);
    assert_int_equal(get(f, "backup")->state.status, SCHED_STATUS_UP);
}

static void test_heartbeat_fail_is_down_at_once(void **state)
{
    struct fx *f = *state;
    apply(f, "checks:\n  - {id: job, type: heartbeat, period: 1h}\n");
    ping(f, "job", PROBE_HEARTBEAT_SUCCESS);
    ping(f, "job", PROBE_HEARTBEAT_FAIL);
    assert_int_equal(f->last.result, SAMPLE_DOWN);
    assert_string_equal(f->last.error, "the job reported failure (/fail)");
    assert_int_equal(get(f, "job")->state.status, SCHED_STATUS_DOWN);
}

static void test_heartbeat_run_too_long_too_short_and_just_right(void **state)
{
    struct fx *f = *state;
    apply(f, "checks:\n  - {id: job, type: heartbeat, period: 1d, max_runtime: 1h, min_runtime: 1m}\n");
    ping(f, "job", PROBE_HEARTBEAT_START);
    assert_int_equal(f->samples, 0); /* a start records nothing */
    assert_int_equal(get(f, "job")->run_started_ms, T0);
    advance(f, 30000);
    ping(f, "job", PROBE_HEARTBEAT_SUCCESS);
    assert_int_equal(f->last.result, SAMPLE_DOWN);
    assert_string_equal(f->last.error, "ran too short: 30.000 s < min_runtime 60.000 s");
    assert_true(value(&f->last, "run_seconds") == 30.0);
    assert_int_equal(get(f, "job")->run_started_ms, 0); /* the success ended the run */

    ping(f, "job", PROBE_HEARTBEAT_START);
    advance(f, 600000);
    ping(f, "job", PROBE_HEARTBEAT_SUCCESS);
    assert_int_equal(f->last.result, SAMPLE_UP);
    assert_true(value(&f->last, "run_seconds") == 600.0);

    /* no end within max_runtime: down at start + 1h, and the late end is measured */
    ping(f, "job", PROBE_HEARTBEAT_START);
    int n = f->samples;
    advance(f, 3599999);
    assert_int_equal(f->samples, n);
    advance(f, 1);
    assert_int_equal(f->samples, n + 1);
    assert_int_equal(f->last.result, SAMPLE_DOWN);
    assert_string_equal(f->last.error, "run started 1h ago did not finish within max_runtime 1h");
    assert_int_equal(get(f, "job")->state.status, SCHED_STATUS_DOWN);
    advance(f, 600000);
    ping(f, "job", PROBE_HEARTBEAT_SUCCESS);
    assert_int_equal(f->last.result, SAMPLE_DOWN);
    assert_string_equal(f->last.error, "ran too long: 4200.000 s > max_runtime 3600.000 s");
    /* after the run the period deadline holds again: 1d after the last ping */
    n = f->samples;
    advance(f, 86400000 - 1);
    assert_int_equal(f->samples, n);
    advance(f, 1);
    assert_int_equal(f->samples, n + 1);
    assert_string_equal(f->last.error, "no ping for 1d (period 1d)");
}

static void test_heartbeat_token_compare(void **state)
{
    struct base_errors e;
    struct conf *c = load("checks:\n  - {id: a, type: heartbeat, period: 1m, token: s3cret-t0ken}\n"
                          "  - {id: b, type: heartbeat, period: 1m}\n", &e);
    assert_non_null(c);
    base_errors_free(&e);
    const struct conf_check *a = conf_check_find(c, "a"), *b = conf_check_find(c, "b");
    assert_true(probe_heartbeat_token_ok(a, "s3cret-t0ken"));
    assert_false(probe_heartbeat_token_ok(a, "s3cret-t0keN"));
    assert_false(probe_heartbeat_token_ok(a, "s3cret-t0ke"));
    assert_false(probe_heartbeat_token_ok(a, "s3cret-t0ken2"));
    assert_false(probe_heartbeat_token_ok(a, ""));
    assert_false(probe_heartbeat_token_ok(a, NULL));
    assert_true(probe_heartbeat_token_ok(b, NULL));
    assert_true(probe_heartbeat_token_ok(b, "anything"));
    conf_destroy(c);
}

static void expect_error(const char *yaml, int line, int col, const char *needle)
{
    struct base_errors e;
    struct conf *c = load(yaml, &e);
    assert_null(c);
    bool found = false;
    for (size_t i = 0; i < e.len; i++)
        if (e.items[i].line == line && e.items[i].col == col && strstr(e.items[i].msg, needle))
            found = true;
    if (!found)
        base_errors_print(&e, stderr);
    assert_true(found);
    base_errors_free(&e);
}

static void test_heartbeat_bad_settings_have_positions(void **state)
{
    expect_error("checks:\n  - {id: a, type: heartbeat}\n", 2, 5, "missing 'period'");
    expect_error("checks:\n  - {id: a, type: heartbeat, period: 1h, grace: -1m}\n", 2, 49, "bad duration");
    expect_error("checks:\n  - {id: a, type: heartbeat, period: 1h, max_runtime: 1m, min_runtime: 2m}\n", 2, 72,
                 "min_runtime (2m) must not exceed max_runtime (1m)");
    expect_error("checks:\n  - {id: a, type: heartbeat, period: 100ms}\n", 2, 38, "period must be at least 1s");
    expect_error("checks:\n  - {id: a, type: heartbeat, period: 1h, token: ''}\n", 2, 49, "token must not be empty");
}

/* A restart: the new scheduler gets the last stored sample and counts the
 * deadline from it, neither forgetting a recent ping nor granting a silent
 * job a fresh period. */
static void test_heartbeat_restart_keeps_the_deadline_of_the_last_ping(void **state)
{
    struct fx *f = *state;
    const char *yaml = "checks:\n  - {id: recent, type: heartbeat, period: 10m, grace: 1m}\n"
                       "  - {id: silent, type: heartbeat, period: 10m, grace: 1m}\n";
    apply(f, yaml);
    advance(f, 120000); /* now T0 + 2m */
    struct sample_record recs[2];
    memset(recs, 0, sizeof(recs));
    snprintf(recs[0].check_id, sizeof(recs[0].check_id), "recent");
    sample_init(&recs[0].s, T0 + 60000);       /* pinged 1m ago */
    snprintf(recs[1].check_id, sizeof(recs[1].check_id), "silent");
    sample_init(&recs[1].s, T0 + 120000 - 600000); /* pinged 10m ago */
    sched_restore(f->sched, recs, 2);
    assert_int_equal(get(f, "recent")->state.status, SCHED_STATUS_UP);
    assert_int_equal(get(f, "recent")->last_signal_ms, T0 + 60000);
    advance(f, 59999);
    assert_int_equal(f->samples, 0);
    advance(f, 1); /* silent: 11m after its ping, not 11m after the restart */
    assert_int_equal(f->samples, 1);
    assert_string_equal(f->last.error, "no ping for 11m (period 10m + grace 1m)");
    assert_int_equal(get(f, "silent")->state.status, SCHED_STATUS_DOWN);
    assert_int_equal(get(f, "recent")->state.status, SCHED_STATUS_UP);
    advance(f, 8 * 60000);
    assert_int_equal(f->samples, 1);
    advance(f, 60000); /* recent: 11m after its ping */
    assert_int_equal(get(f, "recent")->state.status, SCHED_STATUS_DOWN);
    /* the next ping measures the gap from the restored one */
    ping(f, "recent", PROBE_HEARTBEAT_SUCCESS);
    assert_true(value(&f->last, "since_last_ping_seconds") == 660.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heartbeat_deadline_is_period_plus_grace_not_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_fail_is_down_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_run_too_long_too_short_and_just_right, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_restart_keeps_the_deadline_of_the_last_ping, setup,
                                        teardown),
        cmocka_unit_test(test_heartbeat_token_compare),
        cmocka_unit_test(test_heartbeat_bad_settings_have_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
