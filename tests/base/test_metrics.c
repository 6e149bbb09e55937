/*
 * Unit tests for base/metrics: histogram arithmetic and the Prometheus text
 * format (escaping, cumulative buckets, +Inf).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/metrics.h"

#include <math.h>
#include <string.h>

static const double bounds[] = {0.1, 1, 10};

static void test_histogram_buckets_are_cumulative_in_text(void **state)
{
    struct base_histogram h;
    base_histogram_init(&h, bounds, 3);
    base_histogram_observe(&h, 0.05);
    base_histogram_observe(&h, 0.1);   /* le is inclusive */
    base_histogram_observe(&h, 5);
    base_histogram_observe(&h, 50);
    struct base_buf b;
    base_buf_init(&b, 4096);
    assert_int_equal(base_metrics_histogram(&b, "x_seconds", NULL, &h), 0);
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"0.1\"} 2\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"10\"} 3\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(b.data, "x_seconds_count 4\n"));
    assert_non_null(strstr(b.data, "x_seconds_sum 55.15\n"));
    base_buf_free(&b);
}

static void test_histogram_quantile_interpolates(void **state)
{
    struct base_histogram h;
    base_histogram_init(&h, bounds, 3);
    assert_true(base_histogram_quantile(&h, 0.99) == 0);
    for (int i = 0; i < 100; i++)
        base_histogram_observe(&h, 0.5);
    double q = base_histogram_quantile(&h, 0.5);
    assert_true(q > 0.1 && q <= 1);
    base_histogram_observe(&h, 100);
    assert_true(base_histogram_quantile(&h, 1.0) == 10);
}

static void test_sample_escapes_label_values(void **state)
{
    struct base_buf b;
    base_buf_init(&b, 4096);
    const char *labels[] = {"check", "a\"b\\c\nd", "type", "http", NULL};
    assert_int_equal(base_metrics_sample(&b, "probe_success", labels, 1), 0);
    assert_string_equal(b.data, "probe_success{check=\"a\\\"b\\\\c\\nd\",type=\"http\"} 1\n");
    base_buf_reset(&b);
    assert_int_equal(base_metrics_sample(&b, "g", NULL, 0.25), 0);
    assert_int_equal(base_metrics_sample(&b, "nan", NULL, NAN), 0);
    assert_string_equal(b.data, "g 0.25\nnan NaN\n");
    base_buf_free(&b);
}

static void test_writers_respect_the_buffer_maximum(void **state)
{
    struct base_buf b;
    base_buf_init(&b, 16);
    const char *labels[] = {"check", "a-rather-long-check-name", NULL};
    assert_int_not_equal(base_metrics_sample(&b, "probe_success", labels, 1), 0);
    assert_true(b.len <= 16);
    base_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_buckets_are_cumulative_in_text),
        cmocka_unit_test(test_histogram_quantile_interpolates),
        cmocka_unit_test(test_sample_escapes_label_values),
        cmocka_unit_test(test_writers_respect_the_buffer_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
