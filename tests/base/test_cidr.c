/*
 * Unit tests for base/cidr: addresses and networks of both families, the
 * IPv4-mapped form, prefix edges and every way the text can be wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cidr.h"
#include "base/err.h"

#include <string.h>

static struct base_cidr cidr(const char *s)
{
    struct base_cidr c;
    const char *why = "unset";
    if (base_cidr_parse(s, strlen(s), &c, &why) != 0)
        fail_msg("refused '%s': %s", s, why);
    assert_null(why);
    return c;
}

static struct base_ip ip(const char *s)
{
    struct base_ip a;
    if (base_ip_parse(s, strlen(s), &a) != 0)
        fail_msg("refused address '%s'", s);
    return a;
}

static bool in(const char *net, const char *addr)
{
    struct base_cidr c = cidr(net);
    struct base_ip a = ip(addr);
    return base_cidr_contains(&c, &a);
}

static void test_cidr_ipv4_networks_match_their_addresses_only(void **state)
{
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.0"));
    assert_true(in("192.168.1.0/24", "192.168.1.255"));
    assert_false(in("192.168.1.0/24", "192.168.2.0"));
    assert_true(in("172.16.0.0/12", "172.31.255.255"));
    assert_false(in("172.16.0.0/12", "172.32.0.0"));
    assert_true(in("127.0.0.1", "127.0.0.1"));
    assert_false(in("127.0.0.1", "127.0.0.2"));
    assert_true(in("127.0.0.1/32", "127.0.0.1"));
    assert_true(in("0.0.0.0/0", "203.0.113.9"));
    assert_false(in("0.0.0.0/0", "2001:db8::1"));   /* all of IPv4, no IPv6 */
    assert_true(in("10.0.0.0/31", "10.0.0.1"));
    assert_false(in("10.0.0.0/31", "10.0.0.2"));
}

static void test_cidr_ipv6_networks_match_their_addresses_only(void **state)
{
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    assert_true(in("::1", "::1"));
    assert_false(in("::1", "::2"));
    assert_true(in("::1/128", "0:0:0:0:0:0:0:1"));
    assert_true(in("fe80::/10", "febf::1"));
    assert_false(in("fe80::/10", "fec0::1"));
    assert_true(in("::/0", "2001:db8::1"));
    assert_true(in("::/0", "10.0.0.1"));            /* every address */
    assert_true(in("2001:db8::/127", "2001:db8::1"));
    assert_false(in("2001:db8::/127", "2001:db8::2"));
}

static void test_cidr_ipv4_mapped_addresses_are_ipv4(void **state)
{
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
    assert_true(in("127.0.0.0/8", "::ffff:127.0.0.1"));
    assert_true(in("::ffff:127.0.0.1", "127.0.0.1"));
    assert_true(in("::ffff:10.0.0.0/104", "10.9.8.7"));
    assert_false(in("::ffff:10.0.0.0/104", "11.0.0.0"));
    assert_true(in("::ffff:0:0/96", "198.51.100.1"));
    assert_false(in("::/96", "198.51.100.1"));      /* IPv4-compatible, not mapped */
    struct base_ip a = ip("::ffff:192.0.2.1");
    assert_true(base_ip_is_v4(&a));
    char buf[BASE_IP_TEXT_MAX];
    assert_string_equal(base_ip_format(&a, buf, sizeof(buf)), "192.0.2.1");
    a = ip("2001:db8::1");
    assert_false(base_ip_is_v4(&a));
}

static void test_cidr_formats_canonically(void **state)
{
    char buf[64];
    struct base_cidr c = cidr("10.0.0.0/8");
    assert_string_equal(base_cidr_format(&c, buf, sizeof(buf)), "10.0.0.0/8");
    c = cidr("127.0.0.1");
    assert_string_equal(base_cidr_format(&c, buf, sizeof(buf)), "127.0.0.1/32");
    c = cidr("2001:DB8:0:0::/32");
    assert_string_equal(base_cidr_format(&c, buf, sizeof(buf)), "2001:db8::/32");
    c = cidr("::1");
    assert_string_equal(base_cidr_format(&c, buf, sizeof(buf)), "::1/128");
    c = cidr("::/0");
    assert_string_equal(base_cidr_format(&c, buf, sizeof(buf)), "::/0");
    struct base_ip a = ip("2001:0db8:0000:0000:0000:0000:0000:0001");
    char t[BASE_IP_TEXT_MAX];
    assert_string_equal(base_ip_format(&a, t, sizeof(t)), "2001:db8::1");
    char tiny[4];
    base_ip_format(&a, tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void test_cidr_rejects_bad_text(void **state)
{
    const char *bad[] = {"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
                         "10.0.0.0/08", "10.0.0.0/8/8", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/8 ",
                         "10.0.0.1/8", "2001:db8::1/32", "::/129", "::/1000", "10.0.0", "10.0.0.0.0",
                         "256.0.0.0", "1.2.3.4.", "localhost", "[::1]", "[::1]/128", "::1%lo",
                         "fe80::1%eth0/128", "10.0.0.0/8x", "2001:db8:::1", ":::", "1.2.3.4:80",
                         "0x7f.0.0.1", "::ffff:10.0.0.1/104",
                         "1111:2222:3333:4444:5555:6666:7777:8888:9999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct base_cidr c;
        memset(&c, 0x5a, sizeof(c));
        const char *why = NULL;
        int rc = base_cidr_parse(bad[i], strlen(bad[i]), &c, &why);
        if (rc != BASE_ERR_INVALID)
            fail_msg("accepted '%s'", bad[i]);
        assert_non_null(why);
        assert_int_equal(c.bits, 0x5a);
    }
    const char *why = NULL;
    struct base_cidr c;
    assert_int_equal(base_cidr_parse("10.0.0.1/8", 10, &c, &why), BASE_ERR_INVALID);
    assert_string_equal(why, "address has bits set past the prefix length");
    assert_int_equal(base_cidr_parse("10.0.0.0/40", 11, &c, &why), BASE_ERR_INVALID);
    assert_string_equal(why, "bad prefix length (expected /0 to /32)");
    assert_int_equal(base_cidr_parse("nope", 4, &c, &why), BASE_ERR_INVALID);
    assert_string_equal(why, "not an IPv4 or IPv6 address");
}

static void test_ip_parse_respects_the_length_and_bounds(void **state)
{
    struct base_ip a;
    assert_int_equal(base_ip_parse("10.0.0.1 garbage", 8, &a), 0);
    char buf[BASE_IP_TEXT_MAX];
    assert_string_equal(base_ip_format(&a, buf, sizeof(buf)), "10.0.0.1");
    assert_int_equal(base_ip_parse("10.0.0.1\0" "5", 10, &a), BASE_ERR_INVALID);
    char longer[200];
    memset(longer, '1', sizeof(longer));
    assert_int_equal(base_ip_parse(longer, sizeof(longer), &a), BASE_ERR_INVALID);
    assert_int_equal(base_ip_parse("", 0, &a), BASE_ERR_INVALID);
    struct base_cidr list[2] = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
    struct base_ip x = ip("2001:db8::5"), y = ip("192.0.2.1");
    assert_true(base_cidr_list_contains(list, 2, &x));
    assert_false(base_cidr_list_contains(list, 2, &y));
    assert_false(base_cidr_list_contains(list, 0, &x));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_ipv4_networks_match_their_addresses_only),
        cmocka_unit_test(test_cidr_ipv6_networks_match_their_addresses_only),
        cmocka_unit_test(test_cidr_ipv4_mapped_addresses_are_ipv4),
        cmocka_unit_test(test_cidr_formats_canonically),
        cmocka_unit_test(test_cidr_rejects_bad_text),
        cmocka_unit_test(test_ip_parse_respects_the_length_and_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
