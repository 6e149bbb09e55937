/*
 * Unit tests for http/cookie: the Cookie header read strictly and
 * bounded (whitespace, quotes, other applications' odd cookies, a
 * duplicate refused in one line or across lines, the pair bound, a value
 * too long for the buffer) and the Set-Cookie lines' attributes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http/cookie.h"

#include <stdio.h>
#include <string.h>

static int get(const char *header, const char *name, char *out, size_t n)
{
    return http_cookie_parse(header, name, out, n, NULL);
}

static void test_cookie_finds_a_value_among_others(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(get("a=1; opshub_session=abc.def; b=2", "opshub_session", v, sizeof(v)), 1);
    assert_string_equal(v, "abc.def");
    assert_int_equal(get("opshub_session=x", "opshub_session", v, sizeof(v)), 1);
    assert_string_equal(v, "x");
    assert_int_equal(get(" \topshub_session = x ;", "opshub_session", v, sizeof(v)), 1);
    assert_string_equal(v, "x");
    assert_int_equal(get("a=1;opshub_session=\"q\"", "opshub_session", v, sizeof(v)), 1);
    assert_string_equal(v, "q");
    assert_int_equal(get("opshub_session=", "opshub_session", v, sizeof(v)), 1);
    assert_string_equal(v, "");
    /* A name is matched whole and case-sensitively. */
    assert_int_equal(get("xopshub_session=1; OPSHUB_SESSION=2; opshub_session_x=3", "opshub_session", v,
                         sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(get("", "opshub_session", v, sizeof(v)), 0);
    assert_int_equal(get(";;; ;", "opshub_session", v, sizeof(v)), 0);
}

static void test_cookie_odd_pairs_of_other_names_are_skipped(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(get("odd=\"a b\"; noequals; =empty; bad name=1; opshub_csrf=t", "opshub_csrf", v,
                         sizeof(v)), 1);
    assert_string_equal(v, "t");
}

static void test_cookie_malformed_or_doubled_value_is_refused(void **state)
{
    (void)state;
    char v[64];
    assert_int_equal(get("opshub_session=a b", "opshub_session", v, sizeof(v)), BASE_ERR_INVALID);
    assert_int_equal(get("opshub_session=a\"b", "opshub_session", v, sizeof(v)), BASE_ERR_INVALID);
    assert_int_equal(get("opshub_session=a\\b", "opshub_session", v, sizeof(v)), BASE_ERR_INVALID);
    assert_int_equal(get("opshub_session=\"ab", "opshub_session", v, sizeof(v)), BASE_ERR_INVALID);
    assert_int_equal(get("opshub_session=a,b", "opshub_session", v, sizeof(v)), BASE_ERR_INVALID);
    assert_int_equal(get("opshub_session=\x01", "opshub_session", v, sizeof(v)), BASE_ERR_INVALID);
    assert_string_equal(v, "");
    assert_int_equal(get("opshub_session=a; opshub_session=a", "opshub_session", v, sizeof(v)), BASE_ERR_EXISTS);
    assert_string_equal(v, "");
    assert_int_equal(get("opshub_session=a b; opshub_session=c", "opshub_session", v, sizeof(v)),
                     BASE_ERR_EXISTS);
    assert_int_equal(get("opshub_session=0123456789", "opshub_session", v, 10), BASE_ERR_TOO_BIG);
    assert_string_equal(v, "");
    assert_int_equal(get("opshub_session=012345678", "opshub_session", v, 10), 1);
}

static void test_cookie_pairs_are_bounded(void **state)
{
    (void)state;
    char big[HTTP_COOKIE_PAIRS_MAX * 8 + 64], v[16];
    size_t used = 0;
    for (int i = 0; i < HTTP_COOKIE_PAIRS_MAX; i++)
        used += (size_t)snprintf(big + used, sizeof(big) - used, "c%d=v; ", i);
    assert_int_equal(get(big, "c5", v, sizeof(v)), 1);
    snprintf(big + used, sizeof(big) - used, "one=more");
    assert_int_equal(get(big, "c5", v, sizeof(v)), BASE_ERR_TOO_BIG);
}

static void test_cookie_every_header_line_is_read(void **state)
{
    (void)state;
    struct http_request req;
    char v[32];
    memset(&req, 0, sizeof(req));
    req.headers[0] = (struct http_header){"Host", "x"};
    req.headers[1] = (struct http_header){"cookie", "theme=dark"};
    req.headers[2] = (struct http_header){"Cookie", "opshub_session=s1"};
    req.n_headers = 3;
    assert_int_equal(http_cookie_get(&req, "opshub_session", v, sizeof(v)), 1);
    assert_string_equal(v, "s1");
    assert_int_equal(http_cookie_get(&req, "opshub_refresh", v, sizeof(v)), 0);
    req.headers[3] = (struct http_header){"COOKIE", "opshub_session=s2"};
    req.n_headers = 4;
    assert_int_equal(http_cookie_get(&req, "opshub_session", v, sizeof(v)), BASE_ERR_EXISTS);
    assert_string_equal(v, "");
}

static void test_cookie_format_lines(void **state)
{
    (void)state;
    char out[512] = "";
    assert_int_equal(http_cookie_format(out, sizeof(out), "opshub_session", "a.b.c", "/", 3600, true, false), 0);
    assert_string_equal(out, "Set-Cookie: opshub_session=a.b.c; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax\r\n");
    assert_int_equal(http_cookie_format(out, sizeof(out), "opshub_csrf", "t", "/", -1, false, true), 0);
    assert_string_equal(out, "Set-Cookie: opshub_session=a.b.c; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax\r\n"
                             "Set-Cookie: opshub_csrf=t; Path=/; SameSite=Lax; Secure\r\n");
    char small[40] = "keep";
    assert_int_equal(http_cookie_format(small, sizeof(small), "opshub_session", "a.b.c", "/", 0, true, true),
                     BASE_ERR_TOO_BIG);
    assert_string_equal(small, "keep");
    assert_int_equal(http_cookie_format(out, sizeof(out), "x", "a;b", "/", 0, true, true), BASE_ERR_INVALID);
    assert_int_equal(http_cookie_format(out, sizeof(out), "x", "a\r\nSet-Cookie: y=1", "/", 0, true, true),
                     BASE_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_finds_a_value_among_others),
        cmocka_unit_test(test_cookie_odd_pairs_of_other_names_are_skipped),
        cmocka_unit_test(test_cookie_malformed_or_doubled_value_is_refused),
        cmocka_unit_test(test_cookie_pairs_are_bounded),
        cmocka_unit_test(test_cookie_every_header_line_is_read),
        cmocka_unit_test(test_cookie_format_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
