/*
 * Unit tests for base/clock: the system clock moves with CLOCK_MONOTONIC
 * and CLOCK_REALTIME; a manual clock stands still until advanced and then
 * moves both readings together, never backwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/time.h"

static void test_clock_system_reads_the_real_clocks(void **state)
{
    uint64_t m0 = base_time_mono_ns();
    int64_t w0 = base_time_now_ms();
    uint64_t m = base_clock_mono_ns(&base_clock_system);
    int64_t w = base_clock_wall_ms(&base_clock_system);
    assert_true(m >= m0);
    assert_true(w >= w0 && w - w0 < 5000);
}

static void test_clock_manual_moves_only_when_told(void **state)
{
    struct base_clock_manual m;
    base_clock_manual_init(&m, 1700000000000LL);
    const struct base_clock *c = &m.clock;
    uint64_t t0 = base_clock_mono_ns(c);
    assert_true(t0 > 0);
    assert_int_equal(base_clock_wall_ms(c), 1700000000000LL);
    assert_int_equal(base_clock_mono_ns(c), t0);
    base_clock_manual_advance(&m, 1500);
    assert_int_equal(base_clock_mono_ns(c) - t0, 1500000000ULL);
    assert_int_equal(base_clock_wall_ms(c), 1700000001500LL);
    base_clock_manual_advance(&m, -10); /* never backwards */
    assert_int_equal(base_clock_wall_ms(c), 1700000001500LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_system_reads_the_real_clocks),
        cmocka_unit_test(test_clock_manual_moves_only_when_told),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
