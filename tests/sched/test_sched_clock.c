/*
 * The scheduler on a manual clock, with check types made for the test and
 * registered through the loader like any other: a passive type ("beat")
 * whose deadline is pushed back by signals and expires into a down sample,
 * and a scripted active type ("script") whose runs finish on the next loop
 * turn with the results the test lists. Schedules, confirm and deadlines
 * are driven by advancing the clock: nothing sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "conf/conf.h"
#include "probe/probe.h"
#include "probe/probe_int.h"
#include "probe/registry.h"
#include "sched/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the passive test type ---- */

struct beat_conf {
    int64_t grace_ms;
};

static const struct conf_field beat_fields[] = {
    CONF_FIELD("grace", CONF_FIELD_DURATION, offsetof(struct beat_conf, grace_ms), 0, "Extra time", .example = "10s"),
    CONF_FIELD_END,
};

static void beat_target(const struct conf_check *c, char *buf, size_t n)
{
    snprintf(buf, n, "pushed");
}

static int64_t beat_grace(const struct conf_check *c)
{
    return ((const struct beat_conf *)c->settings)->grace_ms;
}

static void beat_expire(const struct conf_check *c, int64_t silent_ms, struct sample *s)
{
    sample_set_error(s, "no beat for %lld ms", (long long)silent_ms);
}

static const struct conf_check_type beat_type = {
    .name = "beat", .summary = "test", .settings_size = sizeof(struct beat_conf), .fields = beat_fields,
    .target = beat_target, .passive = true, .grace_ms = beat_grace, .expire = beat_expire,
};

/* ---- the scripted active type ---- */

static enum sample_result script[64];
static int script_len, script_next, script_started;

struct script_run {
    struct probe_run run;    /* first */
    uv_timer_t timer;
};

static void script_closed(uv_handle_t *h)
{
    struct script_run *r = h->data;
    struct probe_engine *e = r->run.engine;
    free(r);
    probe_engine_release(e);
}

static void script_fire(uv_timer_t *t)
{
    struct script_run *r = t->data;
    r->run.s.result = script_next < script_len ? script[script_next++] : SAMPLE_UP;
    if (r->run.s.result == SAMPLE_DOWN)
        sample_set_error(&r->run.s, "scripted failure");
    probe_run_finish(&r->run);
    r->run.engine->tearing_down++;
    uv_close((uv_handle_t *)&r->timer, script_closed);
}

static struct probe_run *script_start(struct probe_engine *e, const struct conf_check *c)
{
    struct script_run *r = calloc(1, sizeof(*r));
    probe_run_init(&r->run, e, c);
    uv_timer_init(e->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, script_fire, 0, 0);
    script_started++;
    return &r->run;
}

static void script_cancel(struct probe_run *run)
{
    struct script_run *r = (struct script_run *)run;
    r->run.engine->tearing_down++;
    uv_close((uv_handle_t *)&r->timer, script_closed);
}

static const struct conf_field no_fields[] = {CONF_FIELD_END};

static const struct conf_check_type script_type = {
    .name = "script", .summary = "test", .settings_size = 1, .fields = no_fields, .target = beat_target,
    .start = script_start, .cancel = script_cancel,
};

static const struct conf_check_type *const test_type_list[] = {&beat_type, &script_type};
static const struct conf_check_types test_types = {test_type_list, 2};

/* ---- fixture ---- */

struct fx {
    uv_loop_t loop;
    struct base_clock_manual clock;
    struct event_bus bus;
    struct probe_engine *probes;
    struct sched *sched;
    struct conf *conf;
    int samples, changes;
    struct sample last;
    int last_status;
};

static void on_event(void *data, const struct event *ev)
{
    struct fx *f = data;
    if (ev->kind == EVENT_SAMPLE) {
        f->samples++;
        f->last = *ev->u.check.sample;
    } else {
        f->changes++;
        f->last_status = ev->u.check.status;
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    base_clock_manual_init(&f->clock, 1700000000000LL);
    event_bus_init(&f->bus);
    event_subscribe(&f->bus, "test", EVENT_MASK(EVENT_SAMPLE) | EVENT_MASK(EVENT_STATUS), on_event, f);
    f->probes = probe_engine_new(&f->loop, &f->clock.clock);
    f->sched = sched_new(&f->loop, f->probes, &f->bus, &f->clock.clock);
    script_len = script_next = script_started = 0;
    *state = f;
    return 0;
}

static int closed;
static void on_closed(void *data)
{
    closed++;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    closed = 0;
    sched_close(f->sched, on_closed, NULL);
    probe_engine_close(f->probes, on_closed, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 2);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    conf_destroy(f->conf);
    free(f);
    return 0;
}

static void apply(struct fx *f, const char *yaml)
{
    struct base_errors e;
    base_errors_init(&e, 0);
    struct conf *c = NULL;
    if (conf_load_string(&test_types, "t.yaml", yaml, strlen(yaml), &c, &e) != 0) {
        base_errors_print(&e, stderr);
        fail();
    }
    base_errors_free(&e);
    assert_int_equal(sched_apply_conf(f->sched, c, NULL), 0);
    conf_destroy(f->conf);
    f->conf = c;
}

/* Advances the clock, runs what is due and lets scripted runs finish. */
static void advance(struct fx *f, int64_t ms)
{
    base_clock_manual_advance(&f->clock, ms);
    sched_poll(f->sched);
    for (int i = 0; i < 10; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
}

static enum sched_status status_of(struct fx *f, const char *id)
{
    return sched_check_get(f->sched, id)->state.status;
}

static void on_run_now(void *data, int status, const struct sched_check *c, const struct sample *s)
{
    *(int *)data = status;
}

static void test_clock_passive_deadline_expires_and_signals_push_it_back(void **state)
{
    struct fx *f = *state;
    apply(f, "checks:\n  - {id: hb, type: beat, interval: 1m, grace: 10s}\n"
             "  - {id: active, type: script, interval: 1h}\n");
    assert_int_equal(status_of(f, "hb"), SCHED_STATUS_UNKNOWN);
    advance(f, 69999); /* interval + grace - 1 ms: not yet */
    assert_int_equal(f->samples, 0);
    struct sample up;
    sample_init(&up, 0);
    assert_int_equal(sched_signal(f->sched, "hb", &up), 0);
    assert_int_equal(f->samples, 1);
    assert_int_equal(f->last.ts_ms, base_clock_wall_ms(&f->clock.clock)); /* ts 0 = the clock's now */
    assert_int_equal(status_of(f, "hb"), SCHED_STATUS_UP);
    advance(f, 69999); /* the signal moved the deadline */
    assert_int_equal(f->samples, 1);
    advance(f, 1);
    assert_int_equal(f->samples, 2);
    assert_int_equal(f->last.result, SAMPLE_DOWN);
    assert_string_equal(f->last.error, "no beat for 70000 ms");
    assert_int_equal(status_of(f, "hb"), SCHED_STATUS_DOWN);
    assert_int_equal(f->last_status, SCHED_STATUS_DOWN);
    advance(f, 59999); /* silent on: another expiry every interval */
    assert_int_equal(f->samples, 2);
    advance(f, 1);
    assert_int_equal(f->samples, 3);
    assert_string_equal(f->last.error, "no beat for 130000 ms");
    assert_int_equal(sched_signal(f->sched, "hb", &up), 0);
    assert_int_equal(status_of(f, "hb"), SCHED_STATUS_UP);
    assert_int_equal(f->changes, 3); /* up, down, up */
    /* a passive check has no runs; signals only go to passive checks */
    assert_int_equal(sched_signal(f->sched, "active", &up), BASE_ERR_INVALID);
    assert_int_equal(sched_signal(f->sched, "nope", &up), BASE_ERR_NOT_FOUND);
    int status = 1;
    assert_int_equal(sched_run_now(f->sched, "hb", on_run_now, &status), BASE_ERR_BUSY);
    assert_int_equal(status, BASE_ERR_BUSY);
}

static void test_clock_confirm_needs_consecutive_failures(void **state)
{
    struct fx *f = *state;
    enum sample_result plan[] = {SAMPLE_DOWN, SAMPLE_DOWN, SAMPLE_UP, SAMPLE_DOWN, SAMPLE_DOWN, SAMPLE_DOWN};
    memcpy(script, plan, sizeof(plan));
    script_len = 6;
    apply(f, "checks:\n  - {id: web, type: script, interval: 30s, confirm: 3}\n");
    /* the first run is within one interval (spread by the id's hash) */
    advance(f, 30000);
    assert_int_equal(script_started, 1);
    assert_int_equal(status_of(f, "web"), SCHED_STATUS_UNKNOWN); /* 1 of 3 failures */
    advance(f, 30000);
    assert_int_equal(status_of(f, "web"), SCHED_STATUS_UNKNOWN); /* 2 of 3 */
    advance(f, 30000);
    assert_int_equal(status_of(f, "web"), SCHED_STATUS_UP); /* an up resets the count */
    advance(f, 30000);
    advance(f, 30000);
    assert_int_equal(status_of(f, "web"), SCHED_STATUS_UP);
    assert_int_equal(sched_check_get(f->sched, "web")->state.consecutive_failures, 2);
    advance(f, 30000);
    assert_int_equal(status_of(f, "web"), SCHED_STATUS_DOWN);
    assert_int_equal(script_started, 6);
    assert_int_equal(f->samples, 6);
    assert_int_equal(f->changes, 2);
    /* without time passing, nothing more runs */
    advance(f, 0);
    assert_int_equal(script_started, 6);
    /* run-now on an active type still works, outside the schedule */
    int status = 1;
    assert_int_equal(sched_run_now(f->sched, "web", on_run_now, &status), 0);
    for (int i = 0; i < 10 && status == 1; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(status, 0);
    assert_int_equal(f->samples, 7);
}

static void test_clock_uptime_restored_from_hourly_rows(void **state)
{
    struct fx *f = *state;
    apply(f, "checks:\n  - {id: web, type: script, interval: 1h}\n"
             "  - {id: off, type: script, interval: 1h, enabled: false}\n");
    int64_t now_hour = base_clock_wall_ms(&f->clock.clock) / 3600000;
    struct sample_hours_row rows[] = {
        {"web", now_hour - 1, 3, 4},
        {"web", now_hour - 23, 1, 4},   /* the oldest hour of the day */
        {"web", now_hour - 24, 0, 100}, /* older than a day: ignored */
        {"web", now_hour + 1, 0, 100},  /* the future: ignored */
        {"off", now_hour - 1, 0, 5},    /* paused: ignored */
        {"gone", now_hour - 1, 0, 5},   /* unknown: ignored */
    };
    const struct sched_check *web = sched_check_get(f->sched, "web");
    assert_true(sched_check_uptime_24h(web, base_clock_wall_ms(&f->clock.clock)) < 0); /* nothing yet */
    sched_restore_uptime(f->sched, rows, sizeof(rows) / sizeof(rows[0]));
    double u = sched_check_uptime_24h(web, base_clock_wall_ms(&f->clock.clock));
    assert_true(u > 49.99 && u < 50.01); /* 4 of 8 */
    assert_true(sched_check_uptime_24h(sched_check_get(f->sched, "off"), base_clock_wall_ms(&f->clock.clock)) < 0);
    /* live samples of the current hour add to restored ones of the same hour */
    struct sample_hours_row same[] = {{"web", now_hour, 0, 2}};
    sched_restore_uptime(f->sched, same, 1);
    u = sched_check_uptime_24h(web, base_clock_wall_ms(&f->clock.clock));
    assert_true(u > 39.99 && u < 40.01); /* 4 of 10 */
    /* a day later the restored hours have aged out */
    base_clock_manual_advance(&f->clock, 25LL * 3600000);
    assert_true(sched_check_uptime_24h(web, base_clock_wall_ms(&f->clock.clock)) < 0);
}

/* The day's window slides an hour at a time: 10 down runs then 20 up, one
 * an hour, leave the last 24 (4 down, 20 up); read 12 hours later only
 * the last 12 hours count, a day later nothing. Samples are dated by the
 * scheduler's clock through the probe engine. */
static void test_clock_uptime_window_slides_by_the_hour(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 30; i++)
        script[i] = i < 10 ? SAMPLE_DOWN : SAMPLE_UP;
    script_len = 30;
    apply(f, "checks:\n  - {id: web, type: script, interval: 1h}\n");
    const struct sched_check *web = sched_check_get(f->sched, "web");
    for (int i = 0; i < 30; i++)
        advance(f, 3600000);
    assert_int_equal(script_started, 30);
    double u = sched_check_uptime_24h(web, base_clock_wall_ms(&f->clock.clock));
    assert_true(u > 83.33 && u < 83.34); /* 20 of 24 */
    /* a restored count for an hour inside the window adds to it */
    int64_t now_hour = base_clock_wall_ms(&f->clock.clock) / 3600000;
    struct sample_hours_row add[] = {{"web", now_hour - 2, 0, 6}};
    sched_restore_uptime(f->sched, add, 1);
    u = sched_check_uptime_24h(web, base_clock_wall_ms(&f->clock.clock));
    assert_true(u > 66.66 && u < 66.67); /* 20 of 30 */
    /* read later, without runs: the window moves with the time asked */
    int64_t now = base_clock_wall_ms(&f->clock.clock);
    u = sched_check_uptime_24h(web, now + 12LL * 3600000);
    assert_true(u > 66.66 && u < 66.67); /* the last 12 hours' runs, all up, and the 6 restored: 12 of 18 */
    assert_true(sched_check_uptime_24h(web, now + 24LL * 3600000) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clock_passive_deadline_expires_and_signals_push_it_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clock_confirm_needs_consecutive_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_uptime_restored_from_hourly_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_uptime_window_slides_by_the_hour, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
