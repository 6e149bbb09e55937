/*
 * Unit tests for base/map.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/map.h"

#include <stdio.h>
#include <stdlib.h>

static void test_map_put_get_remove(void **state)
{
    struct base_map m;
    base_map_init(&m);
    int a = 1, b = 2;
    assert_null(base_map_get(&m, "a"));
    assert_int_equal(base_map_put(&m, "a", &a), 0);
    assert_int_equal(base_map_put(&m, "b", &b), 0);
    assert_ptr_equal(base_map_get(&m, "a"), &a);
    assert_ptr_equal(base_map_get(&m, "b"), &b);
    assert_int_equal(base_map_put(&m, "a", &b), 0);
    assert_ptr_equal(base_map_get(&m, "a"), &b);
    assert_int_equal(m.len, 2);
    assert_ptr_equal(base_map_remove(&m, "a"), &b);
    assert_null(base_map_get(&m, "a"));
    assert_null(base_map_remove(&m, "a"));
    assert_int_equal(m.len, 1);
    base_map_free(&m);
}

static void test_map_survives_growth_and_tombstones(void **state)
{
    struct base_map m;
    base_map_init(&m);
    static char keys[20000][12];
    for (int i = 0; i < 20000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        assert_int_equal(base_map_put(&m, keys[i], keys[i]), 0);
    }
    for (int i = 0; i < 20000; i += 2)
        assert_ptr_equal(base_map_remove(&m, keys[i]), keys[i]);
    /* Churn: re-adding and removing must not exhaust slots through tombstones. */
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 20000; i += 2) {
            assert_int_equal(base_map_put(&m, keys[i], keys[i]), 0);
            assert_ptr_equal(base_map_remove(&m, keys[i]), keys[i]);
        }
    for (int i = 0; i < 20000; i++)
        assert_ptr_equal(base_map_get(&m, keys[i]), i % 2 ? keys[i] : NULL);
    assert_int_equal(m.len, 10000);
    base_map_free(&m);
}

static void test_map_put_reports_allocation_failure(void **state)
{
    struct base_map m;
    base_map_init(&m);
    base_alloc_fail_after(0);
    assert_int_equal(base_map_put(&m, "x", &m), BASE_ERR_NOMEM);
    base_alloc_fail_after(-1);
    assert_null(base_map_get(&m, "x"));
    assert_int_equal(base_map_put(&m, "x", &m), 0);
    assert_ptr_equal(base_map_get(&m, "x"), &m);
    base_map_free(&m);
}

/* Iteration sees every live entry once, skips removed ones, and allows
 * removing the entry it just returned (what the rollup sweep does). */
static void test_map_iterates_and_removes_while_iterating(void **state)
{
    struct base_map m;
    base_map_init(&m);
    static char keys[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        assert_int_equal(base_map_put(&m, keys[i], keys[i]), 0);
    }
    for (int i = 0; i < 300; i += 3)
        assert_ptr_equal(base_map_remove(&m, keys[i]), keys[i]);
    int seen[300] = {0};
    size_t pos = 0;
    const char *k;
    void *v;
    int n = 0;
    while (base_map_next(&m, &pos, &k, &v)) {
        int i = atoi(k + 1);
        assert_ptr_equal(v, keys[i]);
        assert_true(i % 3 != 0);
        seen[i]++;
        n++;
        if (i % 2 == 0)
            base_map_remove(&m, k);
    }
    assert_int_equal(n, 200);
    for (int i = 0; i < 300; i++)
        assert_int_equal(seen[i], i % 3 ? 1 : 0);
    pos = 0;
    n = 0;
    while (base_map_next(&m, &pos, NULL, NULL))
        n++;
    assert_int_equal(n, 100); /* odd ones not divisible by 3 */
    assert_int_equal(m.len, 100);
    base_map_free(&m);
    struct base_map empty;
    base_map_init(&empty);
    pos = 0;
    assert_false(base_map_next(&empty, &pos, &k, &v));
    base_map_free(&empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_put_get_remove),
        cmocka_unit_test(test_map_survives_growth_and_tombstones),
        cmocka_unit_test(test_map_put_reports_allocation_failure),
        cmocka_unit_test(test_map_iterates_and_removes_while_iterating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
