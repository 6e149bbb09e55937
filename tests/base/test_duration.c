/*
 * Unit tests for base/duration: Prometheus-style durations to and from
 * milliseconds, including every way the text can be wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/duration.h"
#include "base/err.h"

#include <string.h>

static int64_t parse_ok(const char *s)
{
    int64_t ms = -1;
    assert_int_equal(base_duration_parse(s, strlen(s), &ms), 0);
    return ms;
}

static void test_duration_parses_every_unit_and_combinations(void **state)
{
    assert_int_equal(parse_ok("500ms"), 500);
    assert_int_equal(parse_ok("30s"), 30000);
    assert_int_equal(parse_ok("5m"), 300000);
    assert_int_equal(parse_ok("2h"), 7200000);
    assert_int_equal(parse_ok("7d"), 7LL * 86400000);
    assert_int_equal(parse_ok("2w"), 14LL * 86400000);
    assert_int_equal(parse_ok("1y"), 365LL * 86400000);
    assert_int_equal(parse_ok("1h30m"), 5400000);
    assert_int_equal(parse_ok("1y2w3d4h5m6s7ms"),
                     365LL * 86400000 + 14LL * 86400000 + 3LL * 86400000 + 4 * 3600000 + 5 * 60000 + 6007);
    assert_int_equal(parse_ok("0s"), 0);
    assert_int_equal(parse_ok("90m"), 5400000);
    assert_int_equal(parse_ok("0010s"), 10000);
    assert_int_equal(parse_ok("106751991167d"), 106751991167LL * 86400000);
    assert_int_equal(parse_ok("9223372036854775799ms"), INT64_MAX - 8);
}

static void test_duration_rejects_bad_text(void **state)
{
    const char *bad[] = {"", "5", "m", "ms", "1x", "-1s", "+1s", " 1s", "1s ", "1.5s", "1S", "1h 30m",
                         "1m1h", "1s1s", "1ms1s", "1mss", "1sm", "5mm", "1µs", "9999999999999999999ms",
                         "300000000y", "106751991168d", "9223372036854775808ms"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        int rc = base_duration_parse(bad[i], strlen(bad[i]), &ms);
        if (rc != BASE_ERR_INVALID)
            print_error("accepted '%s'\n", bad[i]);
        assert_int_equal(rc, BASE_ERR_INVALID);
        assert_int_equal(ms, 42);
    }
}

static void test_duration_parse_respects_the_length(void **state)
{
    int64_t ms;
    assert_int_equal(base_duration_parse("30s garbage", 3, &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(base_duration_parse("1h30m", 2, &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(base_duration_parse("1h\0" "30m", 6, &ms), BASE_ERR_INVALID);
}

static void test_duration_formats_shortest_text(void **state)
{
    char buf[64];
    assert_string_equal(base_duration_format(0, buf, sizeof(buf)), "0s");
    assert_string_equal(base_duration_format(500, buf, sizeof(buf)), "500ms");
    assert_string_equal(base_duration_format(30000, buf, sizeof(buf)), "30s");
    assert_string_equal(base_duration_format(5400000, buf, sizeof(buf)), "1h30m");
    assert_string_equal(base_duration_format(7LL * 86400000, buf, sizeof(buf)), "1w");
    assert_string_equal(base_duration_format(90061001, buf, sizeof(buf)), "1d1h1m1s1ms");
    assert_string_equal(base_duration_format(-5, buf, sizeof(buf)), "-");
    char tiny[4];
    base_duration_format(5400000, tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void test_duration_format_then_parse_round_trips(void **state)
{
    const int64_t values[] = {1, 999, 1000, 61000, 3599999, 86400000, 31536000000LL + 1, INT64_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[128];
        int64_t back = 0;
        base_duration_format(values[i], buf, sizeof(buf));
        assert_int_equal(base_duration_parse(buf, strlen(buf), &back), 0);
        assert_int_equal(back, values[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parses_every_unit_and_combinations),
        cmocka_unit_test(test_duration_rejects_bad_text),
        cmocka_unit_test(test_duration_parse_respects_the_length),
        cmocka_unit_test(test_duration_formats_shortest_text),
        cmocka_unit_test(test_duration_format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
