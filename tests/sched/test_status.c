/*
 * Unit tests for sched/status: the status rules of docs/api.md (Checks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sched/status.h"

static struct sample mk(enum sample_result r, int64_t ts)
{
    struct sample s;
    sample_init(&s, ts);
    s.result = r;
    return s;
}

static void test_status_unknown_before_first_sample(void **state)
{
    struct sched_status_state st;
    sched_status_init(&st, true);
    assert_int_equal(st.status, SCHED_STATUS_UNKNOWN);
    assert_int_equal(st.since_ms, 0);
}

static void test_status_paused_when_disabled_and_ignores_samples(void **state)
{
    struct sched_status_state st;
    sched_status_init(&st, false);
    struct sample s = mk(SAMPLE_DOWN, 10);
    assert_false(sched_status_apply(&st, 1, &s, NULL));
    assert_int_equal(st.status, SCHED_STATUS_PAUSED);
}

static void test_status_follows_up_and_degraded_samples(void **state)
{
    struct sched_status_state st;
    enum sched_status prev;
    sched_status_init(&st, true);
    struct sample up = mk(SAMPLE_UP, 1000), deg = mk(SAMPLE_DEGRADED, 2000);
    assert_true(sched_status_apply(&st, 1, &up, &prev));
    assert_int_equal(prev, SCHED_STATUS_UNKNOWN);
    assert_int_equal(st.status, SCHED_STATUS_UP);
    assert_int_equal(st.since_ms, 1000);
    assert_false(sched_status_apply(&st, 1, &up, NULL));
    assert_int_equal(st.since_ms, 1000);
    assert_true(sched_status_apply(&st, 1, &deg, &prev));
    assert_int_equal(prev, SCHED_STATUS_UP);
    assert_int_equal(st.status, SCHED_STATUS_DEGRADED);
    assert_int_equal(st.since_ms, 2000);
}

static void test_status_down_needs_confirm_consecutive_failures(void **state)
{
    struct sched_status_state st;
    sched_status_init(&st, true);
    struct sample up = mk(SAMPLE_UP, 1), down = mk(SAMPLE_DOWN, 2);
    sched_status_apply(&st, 3, &up, NULL);
    assert_false(sched_status_apply(&st, 3, &down, NULL));
    assert_int_equal(st.status, SCHED_STATUS_UP);
    assert_false(sched_status_apply(&st, 3, &down, NULL));
    assert_int_equal(st.consecutive_failures, 2);
    down.ts_ms = 3;
    assert_true(sched_status_apply(&st, 3, &down, NULL));
    assert_int_equal(st.status, SCHED_STATUS_DOWN);
    assert_int_equal(st.since_ms, 3);
    assert_false(sched_status_apply(&st, 3, &down, NULL));
    assert_int_equal(st.consecutive_failures, 4);
}

static void test_status_recovery_resets_failure_count(void **state)
{
    struct sched_status_state st;
    sched_status_init(&st, true);
    struct sample up = mk(SAMPLE_UP, 1), down = mk(SAMPLE_DOWN, 2);
    sched_status_apply(&st, 2, &down, NULL);
    sched_status_apply(&st, 2, &up, NULL);
    assert_int_equal(st.consecutive_failures, 0);
    /* one failure after a recovery is not enough again */
    assert_false(sched_status_apply(&st, 2, &down, NULL));
    assert_int_equal(st.status, SCHED_STATUS_UP);
}

static void test_status_first_failures_below_confirm_stay_unknown(void **state)
{
    struct sched_status_state st;
    sched_status_init(&st, true);
    struct sample down = mk(SAMPLE_DOWN, 5);
    assert_false(sched_status_apply(&st, 2, &down, NULL));
    assert_int_equal(st.status, SCHED_STATUS_UNKNOWN);
    assert_true(sched_status_apply(&st, 2, &down, NULL));
    assert_int_equal(st.status, SCHED_STATUS_DOWN);
}

static void test_status_confirm_below_one_means_one(void **state)
{
    struct sched_status_state st;
    sched_status_init(&st, true);
    struct sample down = mk(SAMPLE_DOWN, 5);
    assert_true(sched_status_apply(&st, 0, &down, NULL));
    assert_int_equal(st.status, SCHED_STATUS_DOWN);
}

static void test_status_names(void **state)
{
    assert_string_equal(sched_status_name(SCHED_STATUS_UP), "up");
    assert_string_equal(sched_status_name(SCHED_STATUS_DEGRADED), "degraded");
    assert_string_equal(sched_status_name(SCHED_STATUS_DOWN), "down");
    assert_string_equal(sched_status_name(SCHED_STATUS_UNKNOWN), "unknown");
    assert_string_equal(sched_status_name(SCHED_STATUS_PAUSED), "paused");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_unknown_before_first_sample),
        cmocka_unit_test(test_status_paused_when_disabled_and_ignores_samples),
        cmocka_unit_test(test_status_follows_up_and_degraded_samples),
        cmocka_unit_test(test_status_down_needs_confirm_consecutive_failures),
        cmocka_unit_test(test_status_recovery_resets_failure_count),
        cmocka_unit_test(test_status_first_failures_below_confirm_stay_unknown),
        cmocka_unit_test(test_status_confirm_below_one_means_one),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
