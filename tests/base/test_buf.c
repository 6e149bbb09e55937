/*
 * Unit tests for base/buf: the hard maximum, formatting, JSON string
 * escaping, take (ownership transfer) and allocation failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static void test_buf_refuses_growth_past_max_and_keeps_contents(void **state)
{
    struct base_buf b;
    base_buf_init(&b, 8);
    assert_int_equal(base_buf_append_str(&b, "abcde"), 0);
    assert_int_equal(base_buf_append_str(&b, "xyzw"), BASE_ERR_TOO_BIG);
    assert_string_equal(b.data, "abcde");
    assert_int_equal(b.len, 5);
    assert_int_equal(base_buf_append_str(&b, "fgh"), 0);
    assert_string_equal(b.data, "abcdefgh");
    assert_int_equal(base_buf_append(&b, "i", 1), BASE_ERR_TOO_BIG);
    assert_int_equal(base_buf_appendf(&b, "%d", 1), BASE_ERR_TOO_BIG);
    assert_int_equal(base_buf_append(&b, "", 0), 0);
    assert_true(b.cap <= 9);
    assert_int_equal(base_buf_append(&b, "x", SIZE_MAX), BASE_ERR_TOO_BIG);
    base_buf_free(&b);
    assert_null(b.data);
}

static void test_buf_appendf_and_reset(void **state)
{
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(base_buf_appendf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    assert_int_equal(strlen(b.data), b.len);
    char *before = b.data;
    base_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_ptr_equal(b.data, before);
    base_buf_free(&b);
}

static void test_buf_escapes_json_strings(void **state)
{
    struct base_buf b;
    base_buf_init(&b, 1024);
    const char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f/é";
    assert_int_equal(base_buf_append_json_str(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f/é\"");
    base_buf_reset(&b);
    assert_int_equal(base_buf_append_json_str(&b, "x\0y", 3), 0);
    assert_string_equal(b.data, "\"x\\u0000y\"");
    base_buf_reset(&b);
    assert_int_equal(base_buf_append_json_str(&b, "", 0), 0);
    assert_string_equal(b.data, "\"\"");
    base_buf_free(&b);
    /* an escaped string that does not fit fails with TOO_BIG */
    base_buf_init(&b, 6);
    assert_int_equal(base_buf_append_json_str(&b, "\n\n\n", 3), BASE_ERR_TOO_BIG);
    base_buf_free(&b);
}

static void test_buf_json_str_that_does_not_fit_leaves_contents(void **state)
{
    /* buf.h: growth past max "leaves the contents as they were". */
    struct base_buf b;
    base_buf_init(&b, 16);
    assert_int_equal(base_buf_append_str(&b, "k:"), 0);
    assert_int_equal(base_buf_append_json_str(&b, "abc\"defghijklmnopq", 18), BASE_ERR_TOO_BIG);
    assert_string_equal(b.data, "k:");
    assert_int_equal(b.len, 2);
    base_buf_free(&b);
}

static void test_buf_take_transfers_ownership(void **state)
{
    struct base_buf b;
    size_t len = 99;
    base_buf_init(&b, 100);
    assert_null(base_buf_take(&b, &len));
    assert_int_equal(len, 0);
    assert_int_equal(base_buf_append_str(&b, "hello"), 0);
    char *p = base_buf_take(&b, &len);
    assert_string_equal(p, "hello");
    assert_int_equal(len, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(base_buf_append_str(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    assert_ptr_not_equal(b.data, p);
    base_free(p);
    base_buf_free(&b);
}

static void test_buf_reports_allocation_failure(void **state)
{
    struct base_buf b;
    base_buf_init(&b, 100);
    base_alloc_fail_after(0);
    assert_int_equal(base_buf_append_str(&b, "x"), BASE_ERR_NOMEM);
    base_alloc_fail_after(-1);
    assert_null(b.data);
    assert_int_equal(base_buf_append_str(&b, "x"), 0);
    base_alloc_fail_after(0);
    assert_int_equal(base_buf_append(&b, "0123456789012345678901234567890123456789012345678901234567890123456789", 70),
                     BASE_ERR_NOMEM);
    base_alloc_fail_after(-1);
    assert_string_equal(b.data, "x");
    base_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_refuses_growth_past_max_and_keeps_contents),
        cmocka_unit_test(test_buf_appendf_and_reset),
        cmocka_unit_test(test_buf_escapes_json_strings),
        cmocka_unit_test(test_buf_json_str_that_does_not_fit_leaves_contents),
        cmocka_unit_test(test_buf_take_transfers_ownership),
        cmocka_unit_test(test_buf_reports_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
