/*
 * Unit tests for http/proxy: the client address behind trusted proxies.
 * X-Forwarded-For and Forwarded walked from the right, spoofed chains,
 * untrusted peers, both headers, IPv6 and IPv4-mapped forms, and values
 * that must fall back to the peer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http/proxy.h"

#include <stdio.h>
#include <string.h>

/* 127.0.0.1 and 10.0.0.0/8 and fd00::/8 are the trusted proxies. */
static struct base_cidr trusted[3];

static int setup(void **state)
{
    const char *nets[] = {"127.0.0.1", "10.0.0.0/8", "fd00::/8"};
    for (size_t i = 0; i < 3; i++) {
        const char *why;
        if (base_cidr_parse(nets[i], strlen(nets[i]), &trusted[i], &why) != 0)
            return -1;
    }
    return 0;
}

/* Resolves with up to two header lines "Name: value" (NULL for none). */
static enum http_proxy_source resolve(const char *peer, const char *h1, const char *h2, char *out)
{
    struct http_header headers[2];
    char names[2][64];
    const char *lines[2] = {h1, h2};
    size_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        if (!lines[i])
            continue;
        const char *colon = strchr(lines[i], ':');
        assert_non_null(colon);
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)(colon - lines[i]), lines[i]);
        headers[n].name = names[n];
        headers[n].value = colon + 2;
        n++;
    }
    return http_proxy_client(trusted, 3, peer, headers, n, out, BASE_IP_TEXT_MAX);
}

static void expect(const char *peer, const char *h1, const char *h2, enum http_proxy_source src,
                   const char *client)
{
    char out[BASE_IP_TEXT_MAX];
    enum http_proxy_source got = resolve(peer, h1, h2, out);
    if (got != src || strcmp(out, client) != 0)
        fail_msg("peer %s, [%s] [%s]: got %d '%s', expected %d '%s'", peer, h1 ? h1 : "-", h2 ? h2 : "-",
                 (int)got, out, (int)src, client);
}

static void test_proxy_untrusted_peer_headers_are_ignored(void **state)
{
    expect("192.0.2.7", "X-Forwarded-For: 1.2.3.4", NULL, HTTP_PROXY_PEER, "192.0.2.7");
    expect("192.0.2.7", "Forwarded: for=1.2.3.4", NULL, HTTP_PROXY_PEER, "192.0.2.7");
    expect("127.0.0.2", "X-Forwarded-For: 1.2.3.4", NULL, HTTP_PROXY_PEER, "127.0.0.2");
    expect("2001:db8::1", "X-Forwarded-For: 1.2.3.4", NULL, HTTP_PROXY_PEER, "2001:db8::1");
    expect("local", "X-Forwarded-For: 1.2.3.4", NULL, HTTP_PROXY_PEER, "local");
    expect("", "X-Forwarded-For: 1.2.3.4", NULL, HTTP_PROXY_PEER, "");
    /* No trusted proxies at all. */
    char out[BASE_IP_TEXT_MAX];
    struct http_header h = {"X-Forwarded-For", "1.2.3.4"};
    assert_int_equal(http_proxy_client(trusted, 0, "127.0.0.1", &h, 1, out, sizeof(out)), HTTP_PROXY_PEER);
    assert_string_equal(out, "127.0.0.1");
}

static void test_proxy_trusted_peer_without_headers_is_the_client(void **state)
{
    expect("127.0.0.1", NULL, NULL, HTTP_PROXY_PEER, "127.0.0.1");
    expect("127.0.0.1", "X-Real-IP: 1.2.3.4", NULL, HTTP_PROXY_PEER, "127.0.0.1");
}

static void test_proxy_xff_takes_the_rightmost_untrusted_address(void **state)
{
    expect("127.0.0.1", "X-Forwarded-For: 203.0.113.5", NULL, HTTP_PROXY_XFF, "203.0.113.5");
    /* A spoofed left part: the proxy appended the real client last. */
    expect("127.0.0.1", "X-Forwarded-For: 1.2.3.4, 203.0.113.5", NULL, HTTP_PROXY_XFF, "203.0.113.5");
    expect("127.0.0.1", "x-forwarded-for: 1.2.3.4,203.0.113.5", NULL, HTTP_PROXY_XFF, "203.0.113.5");
    /* Trusted hops on the right are skipped. */
    expect("127.0.0.1", "X-Forwarded-For: 1.2.3.4, 203.0.113.5, 10.1.1.1, 10.2.2.2", NULL, HTTP_PROXY_XFF,
           "203.0.113.5");
    /* All trusted: the left-most. */
    expect("127.0.0.1", "X-Forwarded-For: 10.9.9.9, 10.1.1.1", NULL, HTTP_PROXY_XFF, "10.9.9.9");
    /* A spoofer claiming a trusted address on the left gets nothing from it. */
    expect("127.0.0.1", "X-Forwarded-For: 10.0.0.1, 198.51.100.1", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    /* Blanks and empty elements. */
    expect("127.0.0.1", "X-Forwarded-For: \t 198.51.100.1 \t, ,", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    /* Ports and IPv6, canonical text out. */
    expect("127.0.0.1", "X-Forwarded-For: 198.51.100.1:5555", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    expect("127.0.0.1", "X-Forwarded-For: 2001:DB8:0::1", NULL, HTTP_PROXY_XFF, "2001:db8::1");
    expect("127.0.0.1", "X-Forwarded-For: [2001:db8::1]:443", NULL, HTTP_PROXY_XFF, "2001:db8::1");
    expect("127.0.0.1", "X-Forwarded-For: ::ffff:198.51.100.1", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    expect("127.0.0.1", "X-Forwarded-For: 198.51.100.1, fd00::5", NULL, HTTP_PROXY_XFF, "198.51.100.1");
}

static void test_proxy_peer_forms_and_ipv6_proxies(void **state)
{
    /* A dual-stack listener writes the peer IPv4-mapped. */
    expect("::ffff:127.0.0.1", "X-Forwarded-For: 198.51.100.1", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    expect("::ffff:10.3.3.3", "X-Forwarded-For: 198.51.100.1", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    expect("fd12::1", "Forwarded: for=\"[2001:db8::7]:4711\"", NULL, HTTP_PROXY_FORWARDED, "2001:db8::7");
    expect("fe80::1", "Forwarded: for=\"[2001:db8::7]:4711\"", NULL, HTTP_PROXY_PEER, "fe80::1");
}

static void test_proxy_multiple_lines_are_one_list(void **state)
{
    expect("127.0.0.1", "X-Forwarded-For: 1.2.3.4", "X-Forwarded-For: 203.0.113.5, 10.0.0.2", HTTP_PROXY_XFF,
           "203.0.113.5");
    expect("127.0.0.1", "X-Forwarded-For: 203.0.113.5", "X-Forwarded-For: 10.0.0.2", HTTP_PROXY_XFF,
           "203.0.113.5");
    expect("127.0.0.1", "Forwarded: for=1.2.3.4", "Forwarded: for=203.0.113.5;proto=https", HTTP_PROXY_FORWARDED,
           "203.0.113.5");
}

static void test_proxy_forwarded_rfc7239_forms(void **state)
{
    expect("127.0.0.1", "Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43", NULL, HTTP_PROXY_FORWARDED,
           "192.0.2.60");
    expect("127.0.0.1", "Forwarded: For=\"[2001:db8:cafe::17]:4711\"", NULL, HTTP_PROXY_FORWARDED,
           "2001:db8:cafe::17");
    expect("127.0.0.1", "Forwarded: for=\"[2001:db8:cafe::17]\"", NULL, HTTP_PROXY_FORWARDED, "2001:db8:cafe::17");
    expect("127.0.0.1", "Forwarded: for=192.0.2.43, for=198.51.100.17", NULL, HTTP_PROXY_FORWARDED,
           "198.51.100.17");
    expect("127.0.0.1", "Forwarded: for=\"192.0.2.43:47011\"", NULL, HTTP_PROXY_FORWARDED, "192.0.2.43");
    expect("127.0.0.1", "Forwarded: for=\"192.0.2.43:_abc\"", NULL, HTTP_PROXY_FORWARDED, "192.0.2.43");
    expect("127.0.0.1", "Forwarded: proto=https ; FOR=192.0.2.9 ;; by=x", NULL, HTTP_PROXY_FORWARDED, "192.0.2.9");
    expect("127.0.0.1", "Forwarded: for=\"\\1\\9\\2.0.2.9\"", NULL, HTTP_PROXY_FORWARDED, "192.0.2.9");
    expect("127.0.0.1", "Forwarded: , for=192.0.2.9 ,", NULL, HTTP_PROXY_FORWARDED, "192.0.2.9");
    expect("127.0.0.1", "Forwarded: for=192.0.2.9, for=10.0.0.3, for=\"[fd00::1]\"", NULL, HTTP_PROXY_FORWARDED,
           "192.0.2.9");
    expect("127.0.0.1", "Forwarded: for=\"[::ffff:192.0.2.9]\"", NULL, HTTP_PROXY_FORWARDED, "192.0.2.9");
}

static void test_proxy_unknown_and_obfuscated_stop_the_walk(void **state)
{
    /* The client is then the trusted hop that saw it. */
    expect("127.0.0.1", "Forwarded: for=unknown", NULL, HTTP_PROXY_FORWARDED, "127.0.0.1");
    expect("127.0.0.1", "Forwarded: for=_hidden, for=10.0.0.3", NULL, HTTP_PROXY_FORWARDED, "10.0.0.3");
    expect("127.0.0.1", "Forwarded: for=1.2.3.4, for=_hidden", NULL, HTTP_PROXY_FORWARDED, "127.0.0.1");
    expect("127.0.0.1", "Forwarded: proto=https", NULL, HTTP_PROXY_FORWARDED, "127.0.0.1");
    expect("127.0.0.1", "X-Forwarded-For: 1.2.3.4, unknown", NULL, HTTP_PROXY_XFF, "127.0.0.1");
    expect("127.0.0.1", "X-Forwarded-For: 1.2.3.4, garbage, 10.0.0.9", NULL, HTTP_PROXY_XFF, "10.0.0.9");
    /* Garbage left of the client does not matter. */
    expect("127.0.0.1", "X-Forwarded-For: <script>, 198.51.100.1", NULL, HTTP_PROXY_XFF, "198.51.100.1");
    expect("127.0.0.1", "Forwarded: for=\"[zz]\", for=198.51.100.1", NULL, HTTP_PROXY_FORWARDED, "198.51.100.1");
}

static void test_proxy_malformed_values_fall_back_to_the_peer(void **state)
{
    const char *bad[] = {
        "Forwarded: for=\"192.0.2.1",            /* unterminated quote */
        "Forwarded: for=192.0.2.1;for=1.2.3.4",  /* for= twice in one element */
        "Forwarded: for",                         /* no value */
        "Forwarded: for=",                        /* empty value */
        "Forwarded: =192.0.2.1",                  /* no name */
        "Forwarded: for=192.0.2.1 x",             /* junk after a pair */
        "Forwarded: for = 192.0.2.1",             /* blanks around = */
        "Forwarded: for=[2001:db8::1]",           /* IPv6 must be quoted */
        "Forwarded: for=\"\x01\"",
        "Forwarded: for=\"a\\",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect("127.0.0.1", bad[i], NULL, HTTP_PROXY_PEER, "127.0.0.1");
    /* Too many hops: not read. */
    char many[HTTP_PROXY_HOPS_MAX * 16 + 64] = "X-Forwarded-For: ";
    for (size_t i = 0; i <= HTTP_PROXY_HOPS_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s198.51.100.%zu", i ? "," : "", i);
    expect("127.0.0.1", many, NULL, HTTP_PROXY_PEER, "127.0.0.1");
    /* Exactly the maximum is read. */
    char *last = strrchr(many, ',');
    *last = '\0';
    expect("127.0.0.1", many, NULL, HTTP_PROXY_XFF, "198.51.100.31");
    /* An empty header gives no answer. */
    expect("127.0.0.1", "X-Forwarded-For: ", NULL, HTTP_PROXY_PEER, "127.0.0.1");
    expect("127.0.0.1", "X-Forwarded-For: , ,", NULL, HTTP_PROXY_PEER, "127.0.0.1");
    /* An over-long for= value is not an address. */
    char longv[300];
    memset(longv, 0, sizeof(longv));
    snprintf(longv, sizeof(longv), "Forwarded: for=\"%0200d\"", 7);
    expect("127.0.0.1", longv, NULL, HTTP_PROXY_FORWARDED, "127.0.0.1");
    snprintf(longv, sizeof(longv), "Forwarded: for=%0200d", 7);
    expect("127.0.0.1", longv, NULL, HTTP_PROXY_FORWARDED, "127.0.0.1");
}

static void test_proxy_both_headers_must_agree(void **state)
{
    /* nginx appends to X-Forwarded-For and passes the client's Forwarded on. */
    expect("127.0.0.1", "Forwarded: for=1.2.3.4", "X-Forwarded-For: 198.51.100.1", HTTP_PROXY_PEER, "127.0.0.1");
    expect("127.0.0.1", "X-Forwarded-For: 1.2.3.4", "Forwarded: for=198.51.100.1", HTTP_PROXY_PEER, "127.0.0.1");
    /* A proxy that writes both. */
    expect("127.0.0.1", "Forwarded: for=198.51.100.1", "X-Forwarded-For: 198.51.100.1", HTTP_PROXY_BOTH,
           "198.51.100.1");
    expect("127.0.0.1", "Forwarded: for=\"[2001:db8::1]:80\"", "X-Forwarded-For: 2001:db8:0::1", HTTP_PROXY_BOTH,
           "2001:db8::1");
    /* One of them unreadable: no agreement. */
    expect("127.0.0.1", "Forwarded: for=\"x", "X-Forwarded-For: 198.51.100.1", HTTP_PROXY_PEER, "127.0.0.1");
}

static void test_proxy_output_is_bounded(void **state)
{
    struct http_header h = {"X-Forwarded-For", "2001:db8:1234:5678:9abc:def0:1234:5678"};
    char out[8];
    assert_int_equal(http_proxy_client(trusted, 3, "127.0.0.1", &h, 1, out, sizeof(out)), HTTP_PROXY_XFF);
    assert_true(strlen(out) < sizeof(out));
    struct http_header odd[2] = {{NULL, "x"}, {"X-Forwarded-For", NULL}};
    char full[BASE_IP_TEXT_MAX];
    assert_int_equal(http_proxy_client(trusted, 3, "127.0.0.1", odd, 2, full, sizeof(full)), HTTP_PROXY_PEER);
    assert_string_equal(full, "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_untrusted_peer_headers_are_ignored),
        cmocka_unit_test(test_proxy_trusted_peer_without_headers_is_the_client),
        cmocka_unit_test(test_proxy_xff_takes_the_rightmost_untrusted_address),
        cmocka_unit_test(test_proxy_peer_forms_and_ipv6_proxies),
        cmocka_unit_test(test_proxy_multiple_lines_are_one_list),
        cmocka_unit_test(test_proxy_forwarded_rfc7239_forms),
        cmocka_unit_test(test_proxy_unknown_and_obfuscated_stop_the_walk),
        cmocka_unit_test(test_proxy_malformed_values_fall_back_to_the_peer),
        cmocka_unit_test(test_proxy_both_headers_must_agree),
        cmocka_unit_test(test_proxy_output_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
