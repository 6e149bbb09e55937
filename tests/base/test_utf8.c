/*
 * Unit tests for base/utf8: every well-formed length decodes to its code
 * point, and each kind of ill-formed sequence (stray continuation, overlong,
 * surrogate, past U+10FFFF, cut short) is refused; the control characters
 * are C0, DEL and C1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/utf8.h"

#include <stdint.h>
#include <string.h>

static size_t decode(const char *s, uint32_t *cp)
{
    return base_utf8_decode(s, strlen(s), cp);
}

static void test_utf8_decodes_well_formed_sequences(void **state)
{
    uint32_t cp = 0;
    assert_int_equal(decode("A", &cp), 1);
    assert_int_equal(cp, 0x41);
    assert_int_equal(decode("\xc2\x80", &cp), 2);
    assert_int_equal(cp, 0x80);
    assert_int_equal(decode("\xdf\xbf", &cp), 2);
    assert_int_equal(cp, 0x7ff);
    assert_int_equal(decode("\xe0\xa0\x80", &cp), 3);
    assert_int_equal(cp, 0x800);
    assert_int_equal(decode("\xed\x9f\xbf", &cp), 3);
    assert_int_equal(cp, 0xd7ff);
    assert_int_equal(decode("\xee\x80\x80", &cp), 3);
    assert_int_equal(cp, 0xe000);
    assert_int_equal(decode("\xef\xbf\xbd", &cp), 3);
    assert_int_equal(cp, 0xfffd);
    assert_int_equal(decode("\xf0\x90\x80\x80", &cp), 4);
    assert_int_equal(cp, 0x10000);
    assert_int_equal(decode("\xf4\x8f\xbf\xbf", &cp), 4);
    assert_int_equal(cp, 0x10ffff);
    assert_int_equal(base_utf8_decode("\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
    assert_int_equal(decode("\xe2\x82\xac", NULL), 3);
}

static void test_utf8_refuses_ill_formed_sequences(void **state)
{
    static const char *const bad[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", /* overlong */
        "\xed\xa0\x80", "\xed\xbf\xbf",                                            /* surrogates */
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xff", "\xfe",
        "\xc2", "\xe2\x82", "\xf0\x9f\x98", "\xc2x", "\xe2\x82x", "\xe2x\xac",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t cp = 0;
        if (decode(bad[i], &cp) != 0)
            print_error("accepted case %zu\n", i);
        assert_int_equal(decode(bad[i], &cp), 0);
    }
    /* a sequence cut short by n, not by a NUL */
    assert_int_equal(base_utf8_decode("\xe2\x82\xac", 2, NULL), 0);
}

static void test_utf8_control_characters(void **state)
{
    assert_true(base_utf8_is_control(0));
    assert_true(base_utf8_is_control(0x1b));
    assert_true(base_utf8_is_control(0x1f));
    assert_false(base_utf8_is_control(' '));
    assert_false(base_utf8_is_control('~'));
    assert_true(base_utf8_is_control(0x7f));
    assert_true(base_utf8_is_control(0x80));
    assert_true(base_utf8_is_control(0x9b));
    assert_true(base_utf8_is_control(0x9f));
    assert_false(base_utf8_is_control(0xa0));
    assert_false(base_utf8_is_control(0xfffd));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decodes_well_formed_sequences),
        cmocka_unit_test(test_utf8_refuses_ill_formed_sequences),
        cmocka_unit_test(test_utf8_control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
