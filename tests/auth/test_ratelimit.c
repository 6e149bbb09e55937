/*
 * Unit tests for auth/ratelimit: token buckets on an injected clock (no
 * sleeps), LRU eviction, header formatting, parse errors and allocation
 * failure injection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/ratelimit.h"
#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

static struct auth_ratelimit *new_limiter(const char *spec, size_t max_keys,
                                          struct auth_ratelimit_rate *rate)
{
    assert_int_equal(auth_ratelimit_parse(spec, rate), 0);
    struct auth_ratelimit *rl = auth_ratelimit_new(rate, max_keys);
    assert_non_null(rl);
    return rl;
}

static int take(struct auth_ratelimit *rl, const char *key, int64_t now,
                struct auth_ratelimit_result *r)
{
    assert_int_equal(auth_ratelimit_take(rl, key, now, r), 0);
    return r->allowed;
}

static void test_ratelimit_parse_accepts_units(void **state)
{
    struct auth_ratelimit_rate r;
    assert_int_equal(auth_ratelimit_parse("120/min", &r), 0);
    assert_int_equal(r.limit, 120);
    assert_int_equal(r.period_ms, 60000);
    assert_int_equal(auth_ratelimit_parse("5/s", &r), 0);
    assert_int_equal(r.period_ms, 1000);
    assert_int_equal(auth_ratelimit_parse("5/sec", &r), 0);
    assert_int_equal(r.period_ms, 1000);
    assert_int_equal(auth_ratelimit_parse("7/m", &r), 0);
    assert_int_equal(r.period_ms, 60000);
    assert_int_equal(auth_ratelimit_parse("1/h", &r), 0);
    assert_int_equal(r.limit, 1);
    assert_int_equal(r.period_ms, 3600000);
    assert_int_equal(auth_ratelimit_parse("1000000/hour", &r), 0);
    assert_int_equal(r.limit, 1000000);
}

static void test_ratelimit_parse_rejects_bad_input(void **state)
{
    const char *bad[] = {"", "/min", "0/min", "-1/min", "+5/min", "1000001/min",
                         "99999999999999999999/s", "120", "120/", "120/minute", "120/MIN",
                         "120 /min", "120/ min", "120/min ", "12a/min", "120/d", "120/ms",
                         "1.5/s", "120//min", "0120/min", "120/min/s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct auth_ratelimit_rate r = {42, 42};
        assert_int_equal(auth_ratelimit_parse(bad[i], &r), BASE_ERR_INVALID);
        assert_int_equal(r.limit, 42);   /* untouched */
    }
    struct auth_ratelimit_rate r;
    assert_int_equal(auth_ratelimit_parse(NULL, &r), BASE_ERR_INVALID);
}

static void test_ratelimit_burst_of_120_then_121st_denied_with_retry_after(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("120/min", 100, &rate);
    int64_t t = 1000000;
    for (int i = 0; i < 120; i++) {
        assert_true(take(rl, "tok_1", t, &r));
        assert_int_equal(r.remaining, 119 - i);
        assert_int_equal(r.retry_after_s, 0);
    }
    assert_false(take(rl, "tok_1", t, &r));
    assert_int_equal(r.remaining, 0);
    /* One token per 500 ms: Retry-After rounds up to 1 s; full in 60 s. */
    assert_int_equal(r.retry_after_s, 1);
    assert_int_equal(r.reset_s, 60);
    char h[160];
    assert_int_equal(auth_ratelimit_headers(&r, &rate, h, sizeof(h)), 0);
    assert_string_equal(h, "RateLimit-Limit: 120\r\nRateLimit-Remaining: 0\r\n"
                           "RateLimit-Reset: 60\r\nRetry-After: 1\r\n");
    /* Denied requests cost nothing: 500 ms later exactly one is allowed. */
    assert_false(take(rl, "tok_1", t + 499, &r));
    assert_true(take(rl, "tok_1", t + 500, &r));
    assert_false(take(rl, "tok_1", t + 500, &r));
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_retry_after_for_slow_rates(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("2/min", 10, &rate);
    assert_true(take(rl, "ip", 0, &r));
    assert_true(take(rl, "ip", 0, &r));
    assert_false(take(rl, "ip", 0, &r));
    assert_int_equal(r.retry_after_s, 30);
    assert_int_equal(r.reset_s, 60);
    assert_false(take(rl, "ip", 29001, &r));
    assert_int_equal(r.retry_after_s, 1);    /* 999 ms rounds up */
    assert_int_equal(r.reset_s, 31);
    assert_true(take(rl, "ip", 30000, &r));
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_refills_fractional_tokens_over_time(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("3/s", 10, &rate);   /* one per 333.3 ms */
    for (int i = 0; i < 3; i++)
        assert_true(take(rl, "u", 0, &r));
    assert_false(take(rl, "u", 0, &r));
    /* Refills accumulate across many small steps without rounding loss. */
    int allowed = 0;
    for (int64_t t = 1; t <= 1000; t++)
        allowed += take(rl, "u", t, &r);
    assert_int_equal(allowed, 3);
    assert_false(take(rl, "u", 1000, &r));
    /* A long idle period refills only up to the burst size. */
    assert_true(take(rl, "u", 100000, &r));
    assert_int_equal(r.remaining, 2);
    assert_int_equal(r.reset_s, 1);
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_keys_are_independent(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("2/min", 10, &rate);
    assert_true(take(rl, "alice", 0, &r));
    assert_true(take(rl, "alice", 0, &r));
    assert_false(take(rl, "alice", 0, &r));
    assert_true(take(rl, "bob", 0, &r));
    assert_int_equal(r.remaining, 1);
    assert_true(take(rl, "10.0.0.1", 0, &r));
    assert_false(take(rl, "alice", 0, &r));
    assert_int_equal(auth_ratelimit_count(rl), 3);
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_clock_going_backwards_mints_no_tokens(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("1/s", 10, &rate);
    assert_true(take(rl, "k", 10000, &r));
    assert_false(take(rl, "k", 10000, &r));
    /* Back in time, then forward to the old time: nothing gained. */
    assert_false(take(rl, "k", 5000, &r));
    assert_false(take(rl, "k", 0, &r));
    assert_false(take(rl, "k", 10999, &r));
    assert_true(take(rl, "k", 11000, &r));
    assert_false(take(rl, "k", 11000, &r));
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_evicts_least_recently_used_at_max_keys(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("1/h", 3, &rate);
    assert_true(take(rl, "a", 0, &r));
    assert_true(take(rl, "b", 1, &r));
    assert_true(take(rl, "c", 2, &r));
    assert_false(take(rl, "a", 3, &r));   /* touches a: b is now the LRU */
    assert_true(take(rl, "d", 4, &r));    /* evicts b */
    assert_int_equal(auth_ratelimit_count(rl), 3);
    assert_false(take(rl, "a", 5, &r));   /* still tracked */
    assert_false(take(rl, "c", 5, &r));
    assert_false(take(rl, "d", 5, &r));
    assert_true(take(rl, "b", 6, &r));    /* forgotten: fresh bucket; evicts a */
    assert_true(take(rl, "a", 7, &r));
    /* Many distinct keys: memory stays bounded. */
    char key[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof(key), "ip-%d", i);
        assert_true(take(rl, key, 10 + i, &r));
        assert_true(auth_ratelimit_count(rl) <= 3);
    }
    assert_int_equal(auth_ratelimit_count(rl), 3);
    assert_false(take(rl, "ip-49999", 60000, &r));
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_max_keys_one(void **state)
{
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("1/h", 1, &rate);
    assert_true(take(rl, "a", 0, &r));
    assert_false(take(rl, "a", 0, &r));
    assert_true(take(rl, "b", 0, &r));
    assert_int_equal(auth_ratelimit_count(rl), 1);
    assert_true(take(rl, "a", 0, &r));
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_rejects_bad_arguments(void **state)
{
    struct auth_ratelimit_rate rate = {0, 1000};
    assert_null(auth_ratelimit_new(&rate, 10));
    rate.limit = 5;
    assert_null(auth_ratelimit_new(&rate, 0));
    rate.period_ms = 0;
    assert_null(auth_ratelimit_new(&rate, 10));
    assert_null(auth_ratelimit_new(NULL, 10));
    auth_ratelimit_destroy(NULL);

    struct auth_ratelimit_result r;
    struct auth_ratelimit *rl = new_limiter("5/s", 10, &rate);
    char key[AUTH_RATELIMIT_KEY_MAX + 2];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(auth_ratelimit_take(rl, key, 0, &r), BASE_ERR_TOO_BIG);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_s, 1);
    key[AUTH_RATELIMIT_KEY_MAX] = '\0';
    assert_int_equal(auth_ratelimit_take(rl, key, 0, &r), 0);
    assert_true(r.allowed);
    auth_ratelimit_destroy(rl);
}

static void test_ratelimit_headers_format_and_truncation(void **state)
{
    struct auth_ratelimit_rate rate = {120, 60000};
    struct auth_ratelimit_result r = {1, 5, 30, 0};
    char h[160];
    assert_int_equal(auth_ratelimit_headers(&r, &rate, h, sizeof(h)), 0);
    assert_string_equal(h, "RateLimit-Limit: 120\r\nRateLimit-Remaining: 5\r\n"
                           "RateLimit-Reset: 30\r\n");
    struct auth_ratelimit_result d = {0, 0, 3600, 3600};
    assert_int_equal(auth_ratelimit_headers(&d, &rate, h, sizeof(h)), 0);
    assert_non_null(strstr(h, "Retry-After: 3600\r\n"));
    size_t full = strlen(h);
    assert_int_equal(auth_ratelimit_headers(&d, &rate, h, full), BASE_ERR_TOO_BIG);
    assert_string_equal(h, "");
    assert_int_equal(auth_ratelimit_headers(&d, &rate, h, full + 1), 0);
    assert_int_equal(auth_ratelimit_headers(&r, &rate, h, 10), BASE_ERR_TOO_BIG);
    assert_string_equal(h, "");
}

static void test_ratelimit_allocation_failure_fails_cleanly(void **state)
{
    struct auth_ratelimit_rate rate;
    assert_int_equal(auth_ratelimit_parse("2/min", &rate), 0);
    int failed_new = 0, failed_take = 0;
    for (long n = 0; n < 64; n++) {
        base_alloc_fail_after(n);
        struct auth_ratelimit *rl = auth_ratelimit_new(&rate, 4);
        if (!rl) {
            base_alloc_fail_after(-1);
            failed_new++;
            continue;
        }
        char key[16];
        struct auth_ratelimit_result r;
        int ok = 1;
        for (int i = 0; i < 20 && ok; i++) {
            snprintf(key, sizeof(key), "k%d", i % 6);
            int rc = auth_ratelimit_take(rl, key, i, &r);
            if (rc != 0) {
                assert_int_equal(rc, BASE_ERR_NOMEM);
                assert_false(r.allowed);
                failed_take++;
                ok = 0;
            }
        }
        base_alloc_fail_after(-1);
        /* The table is still consistent and usable after the failure. */
        assert_true(auth_ratelimit_count(rl) <= 4);
        assert_int_equal(auth_ratelimit_take(rl, "after", 100, &r), 0);
        assert_true(r.allowed);
        for (int i = 0; i < 10; i++) {
            snprintf(key, sizeof(key), "z%d", i);
            assert_int_equal(auth_ratelimit_take(rl, key, 200, &r), 0);
        }
        assert_int_equal(auth_ratelimit_count(rl), 4);
        auth_ratelimit_destroy(rl);
    }
    assert_true(failed_new >= 1);
    assert_true(failed_take >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_parse_accepts_units),
        cmocka_unit_test(test_ratelimit_parse_rejects_bad_input),
        cmocka_unit_test(test_ratelimit_burst_of_120_then_121st_denied_with_retry_after),
        cmocka_unit_test(test_ratelimit_retry_after_for_slow_rates),
        cmocka_unit_test(test_ratelimit_refills_fractional_tokens_over_time),
        cmocka_unit_test(test_ratelimit_keys_are_independent),
        cmocka_unit_test(test_ratelimit_clock_going_backwards_mints_no_tokens),
        cmocka_unit_test(test_ratelimit_evicts_least_recently_used_at_max_keys),
        cmocka_unit_test(test_ratelimit_max_keys_one),
        cmocka_unit_test(test_ratelimit_rejects_bad_arguments),
        cmocka_unit_test(test_ratelimit_headers_format_and_truncation),
        cmocka_unit_test(test_ratelimit_allocation_failure_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
