/*
 * Unit tests for auth/miss, the bounds on looking up unknown API tokens:
 * the negative cache (TTL, direct-mapped replacement, malformed hashes),
 * one lookup per hash at a time, the cap on lookups at once, and the
 * budget (burst, refill rate, ceiling, a clock that steps back), all with
 * the clock passed in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/db.h"
#include "auth/miss.h"

#include <stdio.h>
#include <string.h>

/* The hex SHA-256 of "token-<n>". */
static void hash_of(int n, char out[AUTH_HASH_HEX])
{
    char tok[32];
    int len = snprintf(tok, sizeof(tok), "token-%d", n);
    auth_db_sha256_hex(tok, (size_t)len, out);
}

static void test_miss_negative_cache_ttl_and_replacement(void **state)
{
    (void)state;
    struct auth_miss m;
    auth_miss_init(&m);
    char a[AUTH_HASH_HEX], b[AUTH_HASH_HEX];
    hash_of(1, a);
    hash_of(2, b);
    assert_false(auth_miss_is_known(&m, a, 1000));
    auth_miss_note(&m, a, 1000);
    assert_true(auth_miss_is_known(&m, a, 1000));
    assert_false(auth_miss_is_known(&m, b, 1000));
    assert_true(auth_miss_is_known(&m, a, 1000 + AUTH_MISS_NEGATIVE_TTL_MS - 1));
    assert_false(auth_miss_is_known(&m, a, 1000 + AUTH_MISS_NEGATIVE_TTL_MS)); /* expired */
    /* another hash for the same slot (same first two bytes) replaces it */
    char c[AUTH_HASH_HEX];
    snprintf(c, sizeof(c), "%s", a);
    c[63] = c[63] == '0' ? '1' : '0';
    auth_miss_note(&m, a, 5000);
    auth_miss_note(&m, c, 5000);
    assert_true(auth_miss_is_known(&m, c, 5000));
    assert_false(auth_miss_is_known(&m, a, 5000));
    /* malformed hashes are never known and never noted */
    auth_miss_note(&m, "zz", 5000);
    assert_false(auth_miss_is_known(&m, "zz", 5000));
    char upper_bad[AUTH_HASH_HEX];
    snprintf(upper_bad, sizeof(upper_bad), "%s", b);
    upper_bad[10] = 'g';
    auth_miss_note(&m, upper_bad, 5000);
    assert_false(auth_miss_is_known(&m, upper_bad, 5000));
    assert_false(auth_miss_is_known(&m, NULL, 5000));
    auth_miss_free(&m);
}

static void test_miss_single_flight_and_cap(void **state)
{
    (void)state;
    struct auth_miss m;
    auth_miss_init(&m);
    char h[AUTH_MISS_INFLIGHT_MAX + 1][AUTH_HASH_HEX];
    int slot[AUTH_MISS_INFLIGHT_MAX + 1], s2 = -1;
    for (int i = 0; i <= AUTH_MISS_INFLIGHT_MAX; i++)
        hash_of(10 + i, h[i]);
    assert_int_equal(auth_miss_begin(&m, h[0], 1, &slot[0]), AUTH_MISS_START);
    assert_int_equal(auth_miss_begin(&m, h[0], 1, &s2), AUTH_MISS_JOIN);
    assert_int_equal(s2, slot[0]);
    for (int i = 1; i < AUTH_MISS_INFLIGHT_MAX; i++) {
        assert_int_equal(auth_miss_begin(&m, h[i], 1, &slot[i]), AUTH_MISS_START);
        assert_int_not_equal(slot[i], slot[0]);
    }
    assert_int_equal(auth_miss_inflight(&m), AUTH_MISS_INFLIGHT_MAX);
    assert_int_equal(auth_miss_begin(&m, h[AUTH_MISS_INFLIGHT_MAX], 1, &s2), AUTH_MISS_REFUSE);
    assert_int_equal(s2, -1);
    assert_int_equal(auth_miss_begin(&m, h[2], 1, &s2), AUTH_MISS_JOIN); /* joining needs no free slot */
    auth_miss_end(&m, slot[2]);
    assert_int_equal(auth_miss_begin(&m, h[AUTH_MISS_INFLIGHT_MAX], 1, &s2), AUTH_MISS_START);
    assert_int_equal(s2, slot[2]);
    assert_int_equal(auth_miss_begin(&m, "not-a-hash", 1, &s2), AUTH_MISS_REFUSE);
    auth_miss_end(&m, -1); /* harmless */
    auth_miss_end(&m, AUTH_MISS_INFLIGHT_MAX);
    auth_miss_free(&m);
}

/* Starts and ends lookups of distinct hashes until refused; the count. */
static int drain(struct auth_miss *m, int64_t now, int *next)
{
    int n = 0, slot;
    char h[AUTH_HASH_HEX];
    for (;;) {
        hash_of((*next)++, h);
        if (auth_miss_begin(m, h, now, &slot) != AUTH_MISS_START)
            return n;
        auth_miss_end(m, slot);
        n++;
    }
}

static void test_miss_budget_burst_refill_and_ceiling(void **state)
{
    (void)state;
    struct auth_miss m;
    auth_miss_init(&m);
    int next = 100;
    int64_t t = 50000;
    assert_int_equal(drain(&m, t, &next), AUTH_MISS_BURST);
    assert_int_equal(drain(&m, t, &next), 0);
    t += 1000 / AUTH_MISS_RATE_PER_S - 1;
    assert_int_equal(drain(&m, t, &next), 0); /* not quite one earned yet */
    t += 1;
    assert_int_equal(drain(&m, t, &next), 1);
    t += 1000;
    assert_int_equal(drain(&m, t, &next), AUTH_MISS_RATE_PER_S);
    t += 3600 * 1000; /* an idle hour earns no more than the burst */
    assert_int_equal(drain(&m, t, &next), AUTH_MISS_BURST);
    t -= 10000; /* the clock steps back: nothing is earned, nothing breaks */
    assert_int_equal(drain(&m, t, &next), 0);
    t += 1000;
    assert_int_equal(drain(&m, t, &next), AUTH_MISS_RATE_PER_S);
    /* joining an in-flight lookup costs no budget */
    char h[AUTH_HASH_HEX];
    int slot, s2;
    t += 100;
    hash_of(1, h);
    assert_int_equal(auth_miss_begin(&m, h, t, &slot), AUTH_MISS_START);
    for (int i = 0; i < 50; i++)
        assert_int_equal(auth_miss_begin(&m, h, t, &s2), AUTH_MISS_JOIN);
    auth_miss_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_negative_cache_ttl_and_replacement),
        cmocka_unit_test(test_miss_single_flight_and_cap),
        cmocka_unit_test(test_miss_budget_burst_refill_and_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
