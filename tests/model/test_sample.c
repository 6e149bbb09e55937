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
#include <pthread.h>
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
    assert_string_equal(sample_value_name(&s.values[0]), "days_left");
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

/* Names are shared by every sample: the same name is the same id in
 * any thread, a copy of a sample reads its names back, and sizeof stays
 * small enough for a ring of samples and one per check. */
struct intern_arg {
    int base;
    int ok;
};

static void *intern_many(void *p)
{
    struct intern_arg *a = p;
    char name[32];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 100; i++) {
            struct sample s;
            sample_init(&s, 0);
            snprintf(name, sizeof(name), "shared_%d", i);
            if (sample_value_set(&s, name, i) != 0 || strcmp(sample_value_name(&s.values[0]), name) != 0)
                return NULL;
        }
    }
    a->ok = 1;
    return NULL;
}

static void test_sample_names_are_shared_across_threads(void **state)
{
    pthread_t t[4];
    struct intern_arg args[4] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, intern_many, &args[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].ok, 1);
    }
    struct sample a, b;
    sample_init(&a, 0);
    sample_init(&b, 0);
    assert_int_equal(sample_value_set(&a, "shared_7", 1), 0);
    assert_int_equal(sample_value_set(&b, "shared_7", 2), 0);
    assert_int_equal(a.values[0].name, b.values[0].name); /* one id per name */
    uint32_t known;
    uint64_t refused;
    sample_names_stats(&known, &refused);
    assert_true(known >= 100 && known < 120); /* each of the 100 names once, whatever the threads did */
    assert_true(sizeof(struct sample) <= 480);
}

/* The process knows at most SAMPLE_NAMES_MAX names: past them a new name is
 * refused and counted, the known ones still work. Runs last: it fills the
 * table of this test process. */
static void test_sample_names_are_bounded(void **state)
{
    char name[32];
    uint32_t known;
    uint64_t refused;
    sample_names_stats(&known, &refused);
    assert_int_equal(refused, 0);
    for (uint32_t i = known; i < SAMPLE_NAMES_MAX; i++) {
        struct sample s;
        sample_init(&s, 0);
        snprintf(name, sizeof(name), "filler_%u", i);
        assert_int_equal(sample_value_set(&s, name, 1), 0);
    }
    struct sample s;
    sample_init(&s, 0);
    assert_int_equal(sample_value_set(&s, "one_name_too_many", 1), -1);
    assert_int_equal(s.n_values, 0);
    double v;
    assert_false(sample_value_get(&s, "one_name_too_many", &v));
    sample_names_stats(&known, &refused);
    assert_int_equal(known, SAMPLE_NAMES_MAX);
    assert_int_equal(refused, 1);
    assert_int_equal(sample_value_set(&s, "shared_3", 3), 0); /* known names still work */
    assert_int_equal(sample_value_set(&s, "filler_1000", 4), 0);
    assert_true(sample_value_get(&s, "shared_3", &v) && v == 3);
    assert_string_equal(sample_value_name(&s.values[1]), "filler_1000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_value_set_get_and_replace),
        cmocka_unit_test(test_sample_value_refuses_bad_names_and_numbers),
        cmocka_unit_test(test_sample_value_list_is_bounded),
        cmocka_unit_test(test_sample_result_names),
        cmocka_unit_test(test_sample_names_are_shared_across_threads),
        cmocka_unit_test(test_sample_names_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
