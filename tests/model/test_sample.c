/*
 * Unit tests for model/sample: the bounded list of named values (names by
 * the Prometheus conventions, finite numbers, replacement, a full list
 * refused whole) and the value-type promise (no pointers: copied by value).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "model/sample.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_sample_value_set_get_and_replace(void **state)
{
    struct sample s;
    sample_init(&s, 1000);
    double v = -1;
    assert_false(sample_value_get(&s, "days_left", &v));
    assert_int_equal(sample_value_set(&s, "days_left", 12.5), 0);
    assert_int_equal(sample_value_set(&s, "used_ratio", 0.25), 0);
    assert_true(sample_value_get(&s, "days_left", &v));
    assert_true(v == 12.5);
    assert_int_equal(sample_value_set(&s, "days_left", 11), 0); /* replaces, keeps its place */
    assert_int_equal(s.n_values, 2);
    assert_string_equal(s.values[0].name, "days_left");
    assert_true(s.values[0].value == 11);
    struct sample copy = s; /* a plain value: the copy owns its names */
    memset(&s, 0, sizeof(s));
    assert_true(sample_value_get(&copy, "used_ratio", &v) && v == 0.25);
}

static void test_sample_value_refuses_bad_names_and_numbers(void **state)
{
    struct sample s;
    sample_init(&s, 0);
    const char *bad[] = {"", "Upper", "9starts_with_digit", "has-dash", "has space", "dotted.name",
                         "a234567890123456789012345678901x" /* 32 characters: one too many */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(sample_value_name_ok(bad[i]));
        assert_int_equal(sample_value_set(&s, bad[i], 1), -1);
    }
    assert_false(sample_value_name_ok(NULL));
    assert_true(sample_value_name_ok("_private"));
    assert_true(sample_value_name_ok("a23456789012345678901234567890x")); /* 31: the longest */
    assert_int_equal(sample_value_set(&s, "nan_value", NAN), -1);
    assert_int_equal(sample_value_set(&s, "inf_value", INFINITY), -1);
    assert_int_equal(sample_value_set(&s, "neg_inf", -INFINITY), -1);
    assert_int_equal(s.n_values, 0);
}

static void test_sample_value_list_is_bounded(void **state)
{
    struct sample s;
    sample_init(&s, 0);
    char name[32];
    for (int i = 0; i < SAMPLE_VALUES_MAX; i++) {
        snprintf(name, sizeof(name), "v%d", i);
        assert_int_equal(sample_value_set(&s, name, i), 0);
    }
    assert_int_equal(sample_value_set(&s, "one_more", 1), -1);
    assert_int_equal(s.n_values, SAMPLE_VALUES_MAX);
    assert_int_equal(sample_value_set(&s, "v3", 33), 0); /* replacing still works when full */
    double v;
    assert_true(sample_value_get(&s, "v3", &v) && v == 33);
}

static void test_sample_result_names(void **state)
{
    assert_string_equal(sample_result_name(SAMPLE_DEGRADED), "degraded");
    assert_string_equal(sample_result_name((enum sample_result)7), "unknown");
    assert_int_equal(sample_result_parse("down"), SAMPLE_DOWN);
    assert_int_equal(sample_result_parse("sideways"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_value_set_get_and_replace),
        cmocka_unit_test(test_sample_value_refuses_bad_names_and_numbers),
        cmocka_unit_test(test_sample_value_list_is_bounded),
        cmocka_unit_test(test_sample_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
