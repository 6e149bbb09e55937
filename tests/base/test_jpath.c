/*
 * Unit tests for base/jpath: dotted members and [i] items, keys cut at 64
 * bytes on a character boundary, control characters (C0, DEL, C1) as '?',
 * a full buffer stopping quietly, restore after a descent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/jpath.h"

#include <string.h>

static void test_jpath_members_items_and_restore(void **state)
{
    struct base_jpath p = {.len = 0};
    base_jpath_key(&p, "expect");
    size_t mark = p.len;
    base_jpath_key(&p, "status");
    base_jpath_index(&p, 1);
    assert_string_equal(p.buf, "expect.status[1]");
    base_jpath_restore(&p, mark);
    base_jpath_key(&p, "json");
    assert_string_equal(p.buf, "expect.json");
    struct base_jpath q = {.len = 0};
    base_jpath_index(&q, 2);
    base_jpath_key(&q, "name");
    assert_string_equal(q.buf, "[2].name");
}

static void test_jpath_cuts_keys_and_hides_control_characters(void **state)
{
    char key[100];
    memset(key, 'a', 63);
    memcpy(key + 63, "\xc3\xa9zz", 5); /* a 2-byte character across the 64-byte cut */
    struct base_jpath p = {.len = 0};
    base_jpath_key(&p, key);
    assert_int_equal(p.len, 63); /* cut before the character, never inside it */
    struct base_jpath c = {.len = 0};
    base_jpath_key(&c, "a\nb\x7f" "c\xc2\x85" "d");
    assert_string_equal(c.buf, "a?b?c?d");
    struct base_jpath t = {.len = 0};
    base_jpath_key(&t, "x\xe2"); /* truncated sequence at the end: never read past the NUL */
    assert_true(t.len <= 2);
}

static void test_jpath_stops_quietly_when_full(void **state)
{
    struct base_jpath p = {.len = 0};
    for (int i = 0; i < 100; i++)
        base_jpath_key(&p, "abcdefghij");
    assert_true(p.len < BASE_JPATH_MAX);
    assert_int_equal(strlen(p.buf), p.len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpath_members_items_and_restore),
        cmocka_unit_test(test_jpath_cuts_keys_and_hides_control_characters),
        cmocka_unit_test(test_jpath_stops_quietly_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
