/*
 * Unit tests for base/time: ISO 8601 formatting and parsing (offsets,
 * fractions, date only), unix seconds, round trips and bad inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/time.h"

#include <string.h>

static int64_t parse_ok(const char *s)
{
    int64_t ms = 0;
    int rc = base_time_parse(s, &ms);
    if (rc)
        print_error("rejected '%s'\n", s);
    assert_int_equal(rc, 0);
    return ms;
}

static void test_time_formats_iso8601_utc_with_millis(void **state)
{
    char buf[40];
    assert_string_equal(base_time_format_iso8601(1795421555123LL, buf, sizeof(buf)), "2026-11-23T08:12:35.123Z");
    assert_string_equal(base_time_format_iso8601(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
    assert_string_equal(base_time_format_iso8601(-1, buf, sizeof(buf)), "1969-12-31T23:59:59.999Z");
    assert_string_equal(base_time_format_iso8601(1709164800000LL, buf, sizeof(buf)), "2024-02-29T00:00:00.000Z");
}

static void test_time_parses_iso8601_forms_and_offsets(void **state)
{
    assert_int_equal(parse_ok("2026-11-23T08:12:35Z"), 1795421555000LL);
    assert_int_equal(parse_ok("2026-11-23t08:12:35z"), 1795421555000LL);
    assert_int_equal(parse_ok("2026-11-23 08:12:35Z"), 1795421555000LL);
    assert_int_equal(parse_ok("2026-11-23T08:12:35.5Z"), 1795421555500LL);
    assert_int_equal(parse_ok("2026-11-23T08:12:35.123456Z"), 1795421555123LL);
    assert_int_equal(parse_ok("2026-11-23T09:12:35+01:00"), 1795421555000LL);
    assert_int_equal(parse_ok("2026-11-23T09:12:35.5+0100"), 1795421555500LL);
    assert_int_equal(parse_ok("2026-11-23T03:42:35-04:30"), 1795421555000LL);
    assert_int_equal(parse_ok("2026-11-23T08:12Z"), 1795421520000LL);
    assert_int_equal(parse_ok("2026-11-23"), 1795392000000LL);
    assert_int_equal(parse_ok("2024-02-29"), 1709164800000LL);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
}

static void test_time_parses_unix_seconds(void **state)
{
    assert_int_equal(parse_ok("1732350000"), 1732350000000LL);
    assert_int_equal(parse_ok("1732350000.25"), 1732350000250LL);
    assert_int_equal(parse_ok("0"), 0);
    /* all digits is always unix seconds, never a year */
    assert_int_equal(parse_ok("2026"), 2026000);
}

static void test_time_round_trips_format_and_parse(void **state)
{
    const int64_t values[] = {0, 1, 999, 1795421555123LL, 951782400000LL /* 2000-02-29 */, 4102444799999LL};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[40];
        base_time_format_iso8601(values[i], buf, sizeof(buf));
        assert_int_equal(parse_ok(buf), values[i]);
    }
}

static void test_time_rejects_bad_input(void **state)
{
    const char *bad[] = {"", "abc", "2026-", "2026-11", "2026-13-01", "2026-00-10", "2026-11-32",
                         "2026-11-23T", "2026-11-23T25:00Z", "2026-11-23T08:60Z", "2026-11-23T08:12:35+0",
                         "2026-11-23T08:12:35+24:00", "2026-11-23T08:12:35.Z", "2026-11-23X08:12",
                         "2026-11-23T08:12:35Z junk", "1.2.3", "99999999999999999", "-5",
                         "2026-11-23T08:12:35.123456789012345678901234567890Z", "2026-02-30", "2025-02-29",
                         "2026-04-31"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        int rc = base_time_parse(bad[i], &ms);
        if (rc != BASE_ERR_INVALID)
            print_error("accepted '%s'\n", bad[i]);
        assert_int_equal(rc, BASE_ERR_INVALID);
        assert_int_equal(ms, 42);
    }
    int64_t ms;
    assert_int_equal(base_time_parse(NULL, &ms), BASE_ERR_INVALID);
    assert_int_equal(base_time_parse("2024-02-29", &ms), 0); /* leap year */
}

static void test_time_clocks_move_forward(void **state)
{
    int64_t wall = base_time_now_ms();
    assert_true(wall > 1700000000000LL);
    uint64_t a = base_time_mono_ns(), b = base_time_mono_ns();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_formats_iso8601_utc_with_millis),
        cmocka_unit_test(test_time_parses_iso8601_forms_and_offsets),
        cmocka_unit_test(test_time_parses_unix_seconds),
        cmocka_unit_test(test_time_round_trips_format_and_parse),
        cmocka_unit_test(test_time_rejects_bad_input),
        cmocka_unit_test(test_time_clocks_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
