/*
 * tests/model/test_sketch: the latency sketch answers every quantile within
 * its relative error of the exact value, merging is the same as adding
 * everything to one sketch, the text form round-trips, and every malformed
 * text is refused without a partial result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/err.h"
#include "model/sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The exact quantile the sketch estimates: the value of rank floor(q(n-1)). */
static double exact(const double *sorted, size_t n, double q)
{
    return sorted[(size_t)floor(q * (double)(n - 1))];
}

static void assert_same_bins(const struct sketch *a, const struct sketch *b)
{
    assert_int_equal(a->len, b->len);
    for (size_t i = 0; i < a->len; i++) {
        assert_int_equal(a->bins[i].index, b->bins[i].index);
        assert_int_equal(a->bins[i].count, b->bins[i].count);
    }
}

static void assert_close(double got, double want)
{
    double err = fabs(got - want) / want;
    if (err > SKETCH_RELATIVE_ERROR + 1e-9)
        fail_msg("quantile %.6f is %.4f%% from %.6f", got, err * 100, want);
}

static void test_sketch_quantiles_are_within_the_relative_error(void **state)
{
    enum { N = 20000 };
    static double v[N];
    struct sketch s;
    sketch_init(&s);
    srand(7);
    for (size_t i = 0; i < N; i++) {
        /* long-tailed like real latencies: 2..20 ms, with 2% slow ones to 2 s */
        double x = 2 + 18 * ((double)rand() / RAND_MAX);
        if (rand() % 50 == 0)
            x *= 100;
        v[i] = x;
        assert_int_equal(sketch_add(&s, x), 0);
    }
    qsort(v, N, sizeof(v[0]), cmp_double);
    static const double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        assert_close(sketch_quantile(&s, qs[i]), exact(v, N, qs[i]));
    assert_int_equal(s.count, N);
    assert_true(s.len < 400);
    sketch_free(&s);
}

static void test_sketch_merge_equals_one_sketch_of_everything(void **state)
{
    struct sketch a, b, all;
    sketch_init(&a);
    sketch_init(&b);
    sketch_init(&all);
    for (int i = 0; i < 3000; i++) {
        double x = 0.5 + (i * 7919 % 1000) * 0.37;
        assert_int_equal(sketch_add(i % 3 ? &a : &b, x), 0);
        assert_int_equal(sketch_add(&all, x), 0);
    }
    assert_int_equal(sketch_add(&b, 0), 0); /* the zero bucket merges too */
    assert_int_equal(sketch_add(&all, 0), 0);
    assert_int_equal(sketch_merge(&a, &b), 0);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.zero, 1);
    assert_same_bins(&a, &all);
    struct sketch empty;
    sketch_init(&empty);
    assert_int_equal(sketch_merge(&a, &empty), 0);
    assert_int_equal(sketch_merge(&empty, &a), 0);
    assert_int_equal(empty.count, a.count);
    sketch_free(&a);
    sketch_free(&b);
    sketch_free(&all);
    sketch_free(&empty);
}

static void test_sketch_edges(void **state)
{
    struct sketch s;
    sketch_init(&s);
    assert_true(sketch_quantile(&s, 0.5) == 0); /* empty */
    assert_int_equal(sketch_add(&s, -5), 0);
    assert_int_equal(sketch_add(&s, NAN), 0);
    assert_int_equal(sketch_add(&s, 0.0001), 0);
    assert_int_equal(s.zero, 3);
    assert_true(sketch_quantile(&s, 1) == 0);
    assert_int_equal(sketch_add(&s, 1e12), 0); /* clamps into the top bucket */
    assert_true(fabs(sketch_quantile(&s, 1) - SKETCH_MAX_MS) / SKETCH_MAX_MS <= SKETCH_RELATIVE_ERROR + 1e-9);
    assert_true(sketch_quantile(&s, 7) == sketch_quantile(&s, 1)); /* q is clamped */
    assert_true(sketch_quantile(&s, NAN) == 0);
    sketch_free(&s);

    /* every bucket used: the bound holds and the text form still fits */
    sketch_init(&s);
    for (double x = SKETCH_MIN_MS * 1.0001; x < SKETCH_MAX_MS * 2; x *= 1.005)
        assert_int_equal(sketch_add(&s, x), 0);
    assert_true(s.len <= SKETCH_BINS_MAX);
    static char text[SKETCH_TEXT_MAX];
    size_t len = sketch_format(&s, text, sizeof(text));
    assert_true(len > 0);
    struct sketch back;
    sketch_init(&back);
    assert_int_equal(sketch_parse(&back, text, len), 0);
    assert_same_bins(&back, &s);
    char small[16];
    assert_int_equal(sketch_format(&s, small, sizeof(small)), 0);
    assert_string_equal(small, "");
    sketch_free(&s);
    sketch_free(&back);
}

static void test_sketch_text_round_trips(void **state)
{
    struct sketch s, back;
    sketch_init(&s);
    sketch_init(&back);
    char text[SKETCH_TEXT_MAX];
    size_t len = sketch_format(&s, text, sizeof(text));
    assert_string_equal(text, "v1;0;");
    assert_int_equal(sketch_parse(&back, text, len), 0);
    assert_int_equal(back.count, 0);
    double xs[] = {0, 1, 1, 2, 150, 0.01};
    for (size_t i = 0; i < 6; i++)
        sketch_add(&s, xs[i]);
    len = sketch_format(&s, text, sizeof(text));
    assert_int_equal(sketch_parse(&back, text, len), 0);
    assert_int_equal(back.count, 6);
    assert_int_equal(back.zero, 1);
    assert_same_bins(&back, &s);
    assert_true(sketch_quantile(&back, 0.5) == sketch_quantile(&s, 0.5));
    sketch_free(&s);
    sketch_free(&back);
}

static void test_sketch_parse_refuses_malformed_text(void **state)
{
    static const char *bad[] = {
        "", "v1", "v1;", "v2;0;", "v1;0", "v1;-1;", "v1;01;", "v1;0;5", "v1;0;5:", "v1;0;5:0",
        "v1;0;5:1,", "v1;0;5:1,0:1", "v1;0;5:1,-2:1", "v1;0;5:1;", "v1;0;99999:1", "v1;0;-99999:1",
        "v1;0;5:4294967296", "v1;0;5:1 ", " v1;0;", "v1;0;5:1,,1:1", "v1;0;-0:1", "v1;0;+5:1",
        "v1;0;5:1\n", "v1;99999999999999999999999;",
    };
    struct sketch s;
    sketch_init(&s);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sketch_add(&s, 3); /* a failure leaves it empty, not half-filled */
        if (sketch_parse(&s, bad[i], strlen(bad[i])) != BASE_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(s.count, 0);
        assert_int_equal(s.len, 0);
    }
    /* a bucket past the top index (the fuzzer's kind of input) */
    char text[64];
    snprintf(text, sizeof(text), "v1;0;700:1,100:1");
    assert_int_equal(sketch_parse(&s, text, strlen(text)), BASE_ERR_INVALID);
    sketch_free(&s);
}

static void test_sketch_survives_allocation_failure(void **state)
{
    struct sketch s, other;
    sketch_init(&s);
    sketch_init(&other);
    sketch_add(&other, 5);
    base_alloc_fail_after(0);
    assert_int_equal(sketch_add(&s, 5), BASE_ERR_NOMEM);
    assert_int_equal(s.count, 0);
    base_alloc_fail_after(0);
    assert_int_equal(sketch_merge(&s, &other), BASE_ERR_NOMEM);
    assert_int_equal(s.count, 0);
    base_alloc_fail_after(-1);
    assert_int_equal(sketch_merge(&s, &other), 0);
    assert_int_equal(s.count, 1);
    sketch_free(&s);
    sketch_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sketch_quantiles_are_within_the_relative_error),
        cmocka_unit_test(test_sketch_merge_equals_one_sketch_of_everything),
        cmocka_unit_test(test_sketch_edges),
        cmocka_unit_test(test_sketch_text_round_trips),
        cmocka_unit_test(test_sketch_parse_refuses_malformed_text),
        cmocka_unit_test(test_sketch_survives_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
