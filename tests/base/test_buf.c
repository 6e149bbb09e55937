/*
 * Unit tests for base/buf: the hard maximum, formatting, JSON string
 * escaping (invalid UTF-8 replaced, control characters escaped, cutting at
 * a limit), take (ownership transfer) and allocation failure.
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

static void expect_json(const char *in, size_t n, const char *want)
{
    struct base_buf b;
    base_buf_init(&b, 1024);
    assert_int_equal(base_buf_append_json_str(&b, in, n), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(base_buf_json_str_len(in, n, SIZE_MAX), b.len);
    base_buf_free(&b);
}

#define FFFD "\xef\xbf\xbd"

static void test_buf_json_str_replaces_invalid_utf8(void **state)
{
    /* well-formed text of every length goes through byte for byte */
    expect_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", 19,
                "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
    expect_json("/nosuch\xff\xfe", 9, "\"/nosuch" FFFD FFFD "\"");
    expect_json("\x80x", 2, "\"" FFFD "x\"");                          /* stray continuation */
    expect_json("\xc0\xaf", 2, "\"" FFFD FFFD "\"");                   /* overlong '/' */
    expect_json("\xc1\xbf", 2, "\"" FFFD FFFD "\"");                   /* overlong */
    expect_json("\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\"");          /* overlong, 3 bytes */
    expect_json("\xf0\x80\x80\xaf", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* overlong, 4 bytes */
    expect_json("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"");          /* surrogate U+D800 */
    expect_json("\xed\xbf\xbf", 3, "\"" FFFD FFFD FFFD "\"");          /* surrogate U+DFFF */
    expect_json("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* U+110000 */
    expect_json("\xf5\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"");
    expect_json("a\xe2\x82", 3, "\"a" FFFD FFFD "\"");                 /* cut short by the end */
    expect_json("\xe2\x82z", 3, "\"" FFFD FFFD "z\"");                 /* cut short by ASCII */
    /* control characters: C0, DEL and C1 (U+0080..U+009F) are escaped */
    expect_json("\x1b[31m\x0b\x0c\x7f\xc2\x80\xc2\x9b\xc2\x9f\xc2\xa0", 16,
                "\"\\u001b[31m\\u000b\\u000c\\u007f\\u0080\\u009b\\u009f\xc2\xa0\"");
}

static void test_buf_json_str_max_cuts_whole_characters(void **state)
{
    struct base_buf b;
    bool cut = true;
    base_buf_init(&b, 1024);
    /* fits whole: the plain literal, not cut */
    assert_int_equal(base_buf_append_json_str_max(&b, "abc", 3, 5, "...", &cut), 0);
    assert_string_equal(b.data, "\"abc\"");
    assert_false(cut);
    base_buf_reset(&b);
    assert_int_equal(base_buf_append_json_str_max(&b, "abcdef", 6, 7, "...", &cut), 0);
    assert_string_equal(b.data, "\"ab...\"");
    assert_true(cut);
    base_buf_reset(&b);
    /* an escape is never split: 5 bytes of room hold two \n, not two and a half */
    assert_int_equal(base_buf_append_json_str_max(&b, "\n\n\n\n\n", 5, 10, "...", &cut), 0);
    assert_string_equal(b.data, "\"\\n\\n...\"");
    base_buf_reset(&b);
    /* nor a character: 7 bytes of room hold two euro signs */
    assert_int_equal(base_buf_append_json_str_max(&b, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 12,
                                                  12, "...", &cut), 0);
    assert_string_equal(b.data, "\"\xe2\x82\xac\xe2\x82\xac...\"");
    assert_true(b.len <= 12);
    base_buf_reset(&b);
    /* nor a \u escape of a control byte */
    char ones[1400];
    memset(ones, 1, sizeof(ones));
    assert_int_equal(base_buf_append_json_str_max(&b, ones, sizeof(ones), 100, "...", &cut), 0);
    assert_true(b.len <= 100);
    assert_int_equal(b.len, 1 + 15 * 6 + 3 + 1);
    assert_string_equal(b.data + b.len - 4, "...\"");
    base_buf_reset(&b);
    assert_int_equal(base_buf_append_json_str_max(&b, "abc", 3, 4, "...", &cut), BASE_ERR_INVALID);
    assert_int_equal(b.len, 0);
    base_buf_free(&b);
    /* all or nothing when the buffer is full */
    base_buf_init(&b, 8);
    assert_int_equal(base_buf_append_str(&b, "k:"), 0);
    assert_int_equal(base_buf_append_json_str_max(&b, "abcdefghij", 10, 9, "...", &cut), BASE_ERR_TOO_BIG);
    assert_string_equal(b.data, "k:");
    base_buf_free(&b);
}

static void test_buf_json_str_len_stops_past_max(void **state)
{
    assert_int_equal(base_buf_json_str_len("a\"b", 3, SIZE_MAX), 6);
    assert_int_equal(base_buf_json_str_len("", 0, 0), 2);
    char big[5000];
    memset(big, 1, sizeof(big));
    assert_true(base_buf_json_str_len(big, sizeof(big), 100) > 100);
    assert_int_equal(base_buf_json_str_len(big, sizeof(big), SIZE_MAX), 2 + 6 * sizeof(big));
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
        cmocka_unit_test(test_buf_json_str_replaces_invalid_utf8),
        cmocka_unit_test(test_buf_json_str_max_cuts_whole_characters),
        cmocka_unit_test(test_buf_json_str_len_stops_past_max),
        cmocka_unit_test(test_buf_take_transfers_ownership),
        cmocka_unit_test(test_buf_reports_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
