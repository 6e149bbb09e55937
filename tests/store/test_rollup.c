/*
 * tests/store/test_rollup: the rollup accumulator without a database:
 * samples sum into their minute and hour, a closed minute lands in its
 * hour exactly once, late samples become rows of their own, sweeping
 * closes by time, the earliest open bucket bounds what a crash can lose,
 * and what is held in memory is visible to queries. The sums and
 * percentiles of a bucket come out as the API shows them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "store/rollup_int.h"

#include <math.h>
#include <string.h>

#define M 60000LL
#define H 3600000LL

static uint64_t sum_total(const struct rollup_rows *r, const char *id)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!id || strcmp(r->v[i].check_id, id) == 0)
            n += r->v[i].a.total;
    return n;
}

static void test_rollup_minutes_close_into_hours(void **state)
{
    struct rollup_acc acc;
    rollup_acc_init(&acc);
    /* api: 3 samples in minute 0, 2 in minute 1, 1 in minute 61 (next hour) */
    int64_t t0 = 1000 * H;
    rollup_acc_add(&acc, "api", t0 + 1000, SAMPLE_UP, 10);
    rollup_acc_add(&acc, "api", t0 + 2000, SAMPLE_DEGRADED, 30);
    rollup_acc_add(&acc, "api", t0 + 3000, SAMPLE_DOWN, 5000);
    assert_int_equal(acc.minutes.n, 0); /* still open */
    rollup_acc_add(&acc, "api", t0 + M + 1, SAMPLE_UP, 20);
    assert_int_equal(acc.minutes.n, 1); /* minute 0 closed by a later sample */
    assert_int_equal(acc.minutes.v[0].a.start_ms, t0);
    assert_int_equal(acc.minutes.v[0].a.total, 3);
    assert_int_equal(acc.minutes.v[0].a.down, 1);
    assert_int_equal(acc.minutes.v[0].a.degraded, 1);
    assert_int_equal(acc.minutes.v[0].a.lat_n, 2); /* the down one has no latency */
    assert_true(acc.minutes.v[0].a.lat_max == 30);
    assert_int_equal(acc.hours.n, 0);             /* its hour is open */
    assert_int_equal(rollup_acc_earliest(&acc), t0);
    rollup_acc_add(&acc, "api", t0 + M + 2, SAMPLE_UP, 40);
    rollup_acc_add(&acc, "api", t0 + H + M, SAMPLE_UP, 50);
    assert_int_equal(acc.minutes.n, 2);
    assert_int_equal(acc.hours.n, 0); /* minute 1 went into hour 0, still open until a minute of hour 1 closes */
    rollup_acc_sweep(&acc, 0, true);
    assert_int_equal(acc.minutes.n, 3);
    assert_int_equal(acc.hours.n, 2);
    assert_int_equal(sum_total(&acc.minutes, "api"), 6);
    assert_int_equal(sum_total(&acc.hours, "api"), 6); /* each sample once per table */
    assert_int_equal(acc.hours.v[0].a.total, 5);
    assert_int_equal(acc.hours.v[0].a.lat_n, 4);
    assert_true(acc.hours.v[0].a.lat_sum == 10 + 30 + 20 + 40);
    assert_int_equal(rollup_acc_earliest(&acc), INT64_MAX);
    assert_int_equal(acc.open.len, 0); /* nothing open: forgotten */
    struct store_rollup_summary s;
    rollup_agg_summary(&acc.hours.v[0].a, &s);
    assert_int_equal(s.total, 5);
    assert_true(s.latency_avg == 25);
    assert_true(s.latency_min == 10 && s.latency_max == 40);
    assert_true(fabs(s.p50 - 20) <= 20 * 0.0101);
    assert_true(fabs(s.p99 - 30) <= 30 * 0.0101); /* rank floor(0.99 * 3) of 10, 20, 30, 40 */
    rollup_acc_free(&acc);
}

static void test_rollup_late_samples_are_rows_of_their_own(void **state)
{
    struct rollup_acc acc;
    rollup_acc_init(&acc);
    int64_t t0 = 500 * H;
    rollup_acc_add(&acc, "db", t0 + 5 * M, SAMPLE_UP, 1);
    rollup_acc_add(&acc, "db", t0 + 2 * M, SAMPLE_UP, 1);   /* before the open minute, same hour */
    rollup_acc_add(&acc, "db", t0 - 3 * M, SAMPLE_DOWN, 1); /* an earlier hour */
    assert_int_equal(acc.minutes.n, 2);
    assert_int_equal(acc.minutes.v[0].a.start_ms, t0 + 2 * M);
    assert_int_equal(acc.minutes.v[1].a.start_ms, t0 - 3 * M);
    assert_int_equal(acc.hours.n, 1); /* the earlier hour's row; t0's hour is open with one */
    assert_int_equal(acc.hours.v[0].a.start_ms, t0 - H);
    assert_int_equal(acc.hours.v[0].a.down, 1);
    assert_int_equal(rollup_acc_earliest(&acc), t0);
    rollup_acc_sweep(&acc, 0, true);
    assert_int_equal(sum_total(&acc.minutes, NULL), 3);
    assert_int_equal(sum_total(&acc.hours, NULL), 3);
    rollup_acc_free(&acc);
}

static void test_rollup_sweep_closes_by_time_only_after_grace(void **state)
{
    struct rollup_acc acc;
    rollup_acc_init(&acc);
    int64_t t0 = 77 * H;
    rollup_acc_add(&acc, "a", t0, SAMPLE_UP, 1);
    rollup_acc_add(&acc, "b", t0 + 30 * M, SAMPLE_UP, 1);
    rollup_acc_sweep(&acc, t0 + M + ROLLUP_GRACE_MS - 1, false);
    assert_int_equal(acc.minutes.n, 0);
    rollup_acc_sweep(&acc, t0 + M + ROLLUP_GRACE_MS, false);
    assert_int_equal(acc.minutes.n, 1); /* a's minute; its hour stays open */
    assert_int_equal(acc.hours.n, 0);
    assert_int_equal(rollup_acc_earliest(&acc), t0);
    rollup_acc_sweep(&acc, t0 + H + ROLLUP_GRACE_MS, false);
    assert_int_equal(acc.minutes.n, 2);
    assert_int_equal(acc.hours.n, 2);
    assert_int_equal(acc.open.len, 0);
    rollup_acc_free(&acc);
}

struct seen {
    uint64_t total;
    int calls;
};

static void on_visit(void *data, const struct rollup_agg *a)
{
    struct seen *s = data;
    s->total += a->total;
    s->calls++;
}

static void test_rollup_visit_shows_what_is_held_once(void **state)
{
    struct rollup_acc acc;
    rollup_acc_init(&acc);
    int64_t t0 = 9 * H;
    for (int i = 0; i < 10; i++) /* minutes 0..4, two samples each */
        rollup_acc_add(&acc, "x", t0 + (i / 2) * M + i, SAMPLE_UP, 1);
    rollup_acc_add(&acc, "y", t0, SAMPLE_UP, 1);
    /* 4 closed minutes waiting, 1 open minute, the hour open with 4 minutes in it */
    struct seen h = {0}, m = {0}, part = {0}, none = {0};
    rollup_acc_visit(&acc, "x", true, t0, t0 + H, on_visit, &h);
    rollup_acc_visit(&acc, "x", false, t0, t0 + H, on_visit, &m);
    rollup_acc_visit(&acc, "x", false, t0 + 2 * M, t0 + 3 * M, on_visit, &part);
    rollup_acc_visit(&acc, "x", true, t0 + H, t0 + 2 * H, on_visit, &none);
    assert_int_equal(h.total, 10);
    assert_int_equal(m.total, 10);
    assert_int_equal(part.total, 2);
    assert_int_equal(none.calls, 0);
    rollup_acc_free(&acc);
}

static void test_rollup_survives_allocation_failures(void **state)
{
    /* every allocation point fails once in turn: no crash, no leak, and the
     * counts never go past what was added */
    for (long k = 0; k < 40; k++) {
        struct rollup_acc acc;
        rollup_acc_init(&acc);
        base_alloc_fail_after(k);
        for (int i = 0; i < 6; i++)
            rollup_acc_add(&acc, i % 2 ? "a" : "b", i * 40 * M, SAMPLE_UP, 1 + i);
        rollup_acc_sweep(&acc, 0, true);
        base_alloc_fail_after(-1);
        assert_true(sum_total(&acc.minutes, NULL) <= 6);
        assert_true(sum_total(&acc.hours, NULL) <= 6);
        rollup_acc_free(&acc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollup_minutes_close_into_hours),
        cmocka_unit_test(test_rollup_late_samples_are_rows_of_their_own),
        cmocka_unit_test(test_rollup_sweep_closes_by_time_only_after_grace),
        cmocka_unit_test(test_rollup_visit_shows_what_is_held_once),
        cmocka_unit_test(test_rollup_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
