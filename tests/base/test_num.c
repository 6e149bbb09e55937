/*
 * Unit tests for base/num: every double's text reads back as the same
 * double (checked over random bit patterns and random short decimals), the
 * common values come out short, and non-finite values as Prometheus writes
 * them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/num.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect(double v, const char *want)
{
    char out[BASE_NUM_MAX];
    size_t n = base_num_format(v, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void round_trips(double v)
{
    char out[BASE_NUM_MAX];
    size_t n = base_num_format(v, out);
    assert_true(n > 0 && n < BASE_NUM_MAX);
    assert_int_equal(n, strlen(out));
    char *end = NULL;
    double back = strtod(out, &end);
    assert_true(*end == '\0');
    if (memcmp(&back, &v, sizeof(v)) != 0)
        fail_msg("%.17g was written as %s, which reads back as %.17g", v, out, back);
}

static void test_num_common_values_are_short(void **state)
{
    (void)state;
    expect(0, "0");
    expect(-0.0, "-0");
    expect(1, "1");
    expect(-42, "-42");
    expect(200, "200");
    expect(1e15, "1000000000000000");
    expect(9007199254740991.0, "9007199254740991");
    expect(0.5, "0.5");
    expect(0.1, "0.1");
    expect(-2.25, "-2.25");
    expect(0.000105, "0.000105");
    expect(0.000012, "0.000012");
    expect(1.000001, "1.000001");
    expect(123.456789123, "123.456789123");
    expect(0.000000001, "0.000000001");
    expect(3600.5, "3600.5");
}

static void test_num_other_values_fall_back_exactly(void **state)
{
    (void)state;
    expect(1e-12, "1e-12");
    expect(1e300, "1e+300");
    expect(36028797018963968.0, "36028797018963968"); /* 2^55: past the exact integers */
    expect(1.0 / 3, "0.33333333333333331");
    expect(0.1 + 0.2, "0.30000000000000004");
    round_trips(5e-324);
    round_trips(-1.7976931348623157e308);
    round_trips(2.2250738585072014e-308);
}

static void test_num_non_finite_as_prometheus_writes_them(void **state)
{
    (void)state;
    expect(NAN, "NaN");
    expect(INFINITY, "+Inf");
    expect(-INFINITY, "-Inf");
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_num_every_value_reads_back(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (isfinite(v))
            round_trips(v);
    }
    /* decimals of the fast path and just around it */
    static const double scale[] = {1, 10, 1e3, 1e6, 1e9, 1e10, 1e12};
    for (int i = 0; i < 200000; i++) {
        double v = (double)(int64_t)(next() % 100000000000ULL) / scale[next() % 7];
        round_trips(v);
        round_trips(-v);
        round_trips(nextafter(v, INFINITY));
        round_trips(nextafter(v, -INFINITY));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_num_common_values_are_short),
        cmocka_unit_test(test_num_other_values_fall_back_exactly),
        cmocka_unit_test(test_num_non_finite_as_prometheus_writes_them),
        cmocka_unit_test(test_num_every_value_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
