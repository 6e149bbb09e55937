/*
 * Unit tests for base/alloc failure injection and base/arena.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/arena.h"

#include <string.h>

static void test_alloc_fails_exactly_the_nth_allocation(void **state)
{
    base_alloc_fail_after(2);
    void *a = base_malloc(8), *b = base_malloc(8), *c = base_malloc(8), *d = base_malloc(8);
    base_alloc_fail_after(-1);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_non_null(d);
    base_free(a);
    base_free(b);
    base_free(d);
}

static void test_arena_strings_and_big_blocks(void **state)
{
    struct base_arena ar;
    base_arena_init(&ar, 64);
    char *s = base_arena_strdup(&ar, "hello");
    assert_string_equal(s, "hello");
    char *big = base_arena_alloc(&ar, 10000);
    assert_non_null(big);
    memset(big, 'x', 10000);
    char *t = base_arena_strndup(&ar, "world!!", 5);
    assert_string_equal(t, "world");
    assert_string_equal(s, "hello");
    assert_true(((uintptr_t)big & 15) == 0);
    base_arena_free(&ar);
}

static void test_arena_reports_oom(void **state)
{
    struct base_arena ar;
    base_arena_init(&ar, 0);
    base_alloc_fail_after(0);
    assert_null(base_arena_alloc(&ar, 10));
    base_alloc_fail_after(-1);
    assert_non_null(base_arena_calloc(&ar, 10));
    base_arena_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_fails_exactly_the_nth_allocation),
        cmocka_unit_test(test_arena_strings_and_big_blocks),
        cmocka_unit_test(test_arena_reports_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
