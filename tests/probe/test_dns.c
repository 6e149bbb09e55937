/*
 * Unit tests for probe/dns, probe/dns_conf and probe/dns_answer: the
 * configuration (defaults, every error at its position: a missing or bad
 * query_name, a bad record, a bad server, an expect that is not a list or
 * holds entries that cannot match the record), the server forms, answers
 * read from hand-built responses and matched as the docs say (addresses as
 * addresses, names without case and trailing dot, MX with or without its
 * preference, TXT exactly, a truncated response), and runs against a
 * silent loopback UDP socket (the deadline, a cancel mid-query, an engine
 * closed with a query in flight: run under ASan). Runs against a real
 * dnsmasq are in tests/integration/test_dns.py.
 */
#include "probe/probe_test.h"

#include "base/err.h"
#include "probe/dns.h"
#include "probe/dns_answer.h"
#include "probe/dns_conf.h"
#include "probe/registry.h"

#include <ares.h>
#include <stdio.h>
#include <string.h>

#define DC(c) ((struct probe_dns_conf *)(c).settings)

/* ---- configuration ---- */

static void expect_one_error(const char *body, int line, int col, const char *needle)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "checks:\n  - id: c\n    type: dns\n%s", body);
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    char text[1024] = "";
    if (e.len)
        base_error_format(&e.items[0], text, sizeof(text));
    if (rc != BASE_ERR_INVALID || e.len != 1 || e.items[0].line != line || e.items[0].col != col ||
        !strstr(e.items[0].msg, needle))
        fail_msg("expected one error %d:%d '%s'; rc %d, %zu errors, first: %s", line, col, needle, rc, e.len, text);
    conf_destroy(c);
    base_errors_free(&e);
}

static struct conf *load_ok(const char *body)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "checks:\n  - id: c\n    type: dns\n%s", body);
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    if (rc != 0) {
        char text[512] = "";
        if (e.len)
            base_error_format(&e.items[0], text, sizeof(text));
        fail_msg("load failed: %s", text);
    }
    base_errors_free(&e);
    return c;
}

static void test_dns_defaults_and_target(void **state)
{
    (void)state;
    struct conf *c = load_ok("    query_name: example.com.\n");
    const struct probe_dns_conf *d = c->checks[0].settings;
    assert_string_equal(d->name, "example.com.");
    assert_null(d->record);
    assert_int_equal(probe_dns_conf_record(d), PROBE_DNS_A);
    assert_null(d->server);
    assert_int_equal(d->expect.n, 0);
    char target[128];
    probe_dns_conf_target(&c->checks[0], target, sizeof(target));
    assert_string_equal(target, "example.com. A");
    conf_destroy(c);

    c = load_ok("    query_name: example.com\n    record: mx\n    server: '[::1]:5353'\n"
                "    expect: ['10 mx.example.com', mx2.example.com.]\n");
    d = c->checks[0].settings;
    assert_int_equal(probe_dns_conf_record(d), PROBE_DNS_MX);
    assert_int_equal(d->expect.n, 2);
    assert_string_equal(d->expect.items[1], "mx2.example.com.");
    probe_dns_conf_target(&c->checks[0], target, sizeof(target));
    assert_string_equal(target, "example.com MX @[::1]:5353");
    conf_destroy(c);
}

static void test_dns_config_errors_have_positions(void **state)
{
    (void)state;
    expect_one_error("    record: A\n", 2, 5, "query_name");
    expect_one_error("    query_name: example.com\n    record: SRV\n", 5, 13, "SRV");
    expect_one_error("    query_name: example.com\n    server: dns.example.com\n", 5, 13, "IP address");
    expect_one_error("    query_name: example.com\n    server: '127.0.0.1:0'\n", 5, 13, "bad port");
    expect_one_error("    query_name: example.com\n    server: '127.0.0.1:99999'\n", 5, 13, "bad port");
    expect_one_error("    query_name: example.com\n    server: '[::1'\n", 5, 13, "IP address");
    expect_one_error("    query_name: example.com\n    expect: 192.0.2.1\n", 5, 13, "expect must be a list");
    expect_one_error("    query_name: example.com\n    expect: {a: b}\n", 5, 13, "expect must be a list");
    expect_one_error("    query_name: example.com\n    expect: []\n", 5, 13, "1 to 32");
    expect_one_error("    query_name: example.com\n    expect: ['192.0.2.1', not-an-ip]\n", 5, 27,
                     "expect entry 'not-an-ip' is not an IPv4 address");
    expect_one_error("    query_name: example.com\n    record: AAAA\n    expect: ['192.0.2.1']\n", 6, 14,
                     "is not an IPv6 address");
    expect_one_error("    query_name: example.com\n    record: MX\n    expect: ['10 ']\n", 6, 14,
                     "PREFERENCE HOST");
    expect_one_error("    query_name: example.com\n    record: MX\n    expect: ['70000 mx.example.com']\n", 6, 14,
                     "above 65535");
    expect_one_error("    query_name: example.com\n    record: CNAME\n    expect: ['a b']\n", 6, 14,
                     "not a host name");
    expect_one_error("    query_name: example.com\n    record: TXT\n    expect: ['']\n", 6, 14, "must not be empty");
    expect_one_error("    query_name: ''\n", 4, 17, "query_name must not be empty");
    expect_one_error("    query_name: a..b\n", 4, 17, "empty label");
    char body[512], name[300];
    memset(name, 'a', 254);
    for (int i = 63; i < 254; i += 64)
        name[i] = '.';
    name[254] = '\0';
    snprintf(body, sizeof(body), "    query_name: %s\n", name);
    expect_one_error(body, 4, 17, "longer than 253");
    name[253] = '\0'; /* 253 is fine, and so is a trailing dot after it */
    snprintf(body, sizeof(body), "    query_name: %s.\n", name);
    conf_destroy(load_ok(body));
}

static void test_dns_server_forms(void **state)
{
    (void)state;
    char out[PROBE_DNS_SERVER_MAX];
    const char *why;
    static const char *const good[][2] = {
        {"192.0.2.1", "192.0.2.1:53"}, {"127.0.0.1:5353", "127.0.0.1:5353"}, {"[::1]:5353", "[::1]:5353"},
        {"[2001:db8::1]", "[2001:db8::1]:53"}, {"2001:db8::1", "[2001:db8::1]:53"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(probe_dns_conf_server_parse(good[i][0], out, sizeof(out), &why), 0);
        assert_string_equal(out, good[i][1]);
    }
    static const char *const bad[] = {"", "localhost", "1.2.3", "1.2.3.4:", "1.2.3.4:x", "[::1]x", "[::1]:",
                                      "[1.2.3.4]:53", "::1:53:zz", "1.2.3.4:53:53", "[::1]:65536"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (probe_dns_conf_server_parse(bad[i], out, sizeof(out), &why) == 0)
            fail_msg("server '%s' was accepted as %s", bad[i], out);
        assert_non_null(why);
    }
}

/* ---- answers from hand-built responses ---- */

struct wire {
    unsigned char b[2048];
    size_t n;
};

static void put(struct wire *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof(w->b));
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void put16(struct wire *w, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(w, b, 2);
}

static void put_name(struct wire *w, const char *name)
{
    while (*name) {
        size_t len = strcspn(name, ".");
        unsigned char l = (unsigned char)len;
        put(w, &l, 1);
        put(w, name, len);
        name += len + (name[len] == '.');
    }
    put(w, "", 1);
}

/* A response to `qname` `qtype` with rcode and an answers, then 1 SOA-less
 * authority count and ar additional (counts only: parsers skip them). */
static void response(struct wire *w, const char *qname, unsigned qtype, unsigned rcode, unsigned an)
{
    w->n = 0;
    put16(w, 0x1234);
    put16(w, 0x8180 | rcode);
    put16(w, 1);
    put16(w, an);
    put16(w, 0);
    put16(w, 0);
    put_name(w, qname);
    put16(w, qtype);
    put16(w, 1);
}

/* One answer record owned by the question's name (a pointer to it). */
static void record(struct wire *w, unsigned type, const void *rdata, size_t len)
{
    put16(w, 0xc00c);
    put16(w, type);
    put16(w, 1);
    put16(w, 0);
    put16(w, 300);
    put16(w, (unsigned)len);
    put(w, rdata, len);
}

static void record_name(struct wire *w, unsigned type, unsigned pref, const char *name)
{
    struct wire rd = {.n = 0};
    if (type == 15)
        put16(&rd, pref);
    put_name(&rd, name);
    record(w, type, rd.b, rd.n);
}

static void test_dns_answers_a_and_aaaa_match_as_addresses(void **state)
{
    (void)state;
    static struct probe_dns_answer a;
    struct wire w;
    response(&w, "x.test", 1, 0, 2);
    record(&w, 1, "\x7f\x00\x00\x05", 4);
    record(&w, 1, "\xc0\x00\x02\x0a", 4);
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_A, w.b, w.n, &a), ARES_SUCCESS);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.answer_rrs, 2);
    assert_int_equal(a.rcode, 0);
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_A, "127.0.0.5"));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_A, "192.0.2.10"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_A, "192.0.2.1"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_A, "192.0.2.100"));
    char list[64];
    probe_dns_answer_list(&a, list, sizeof(list));
    assert_string_equal(list, "127.0.0.5, 192.0.2.10");

    response(&w, "x.test", 28, 0, 1);
    record(&w, 28, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_AAAA, w.b, w.n, &a), ARES_SUCCESS);
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_AAAA, "::1"));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_AAAA, "0:0:0:0:0:0:0:1"));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_AAAA, "0000::0001"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_AAAA, "::2"));
    /* an AAAA-only response has no A record */
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_A, w.b, w.n, &a), ARES_ENODATA);
}

static void test_dns_answers_names_mx_and_txt(void **state)
{
    (void)state;
    static struct probe_dns_answer a;
    struct wire w;
    response(&w, "c.test", 5, 0, 1);
    record_name(&w, 5, 0, "Target.Example.com");
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_CNAME, w.b, w.n, &a), ARES_SUCCESS);
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_CNAME, "target.example.com"));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_CNAME, "TARGET.example.COM."));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_CNAME, "target.example"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_CNAME, "c.test"));

    response(&w, "m.test", 15, 0, 2);
    record_name(&w, 15, 10, "mx1.example.com");
    record_name(&w, 15, 20, "MX2.example.com");
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_MX, w.b, w.n, &a), ARES_SUCCESS);
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_MX, "10 mx1.example.com"));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_MX, "mx2.example.com."));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_MX, "20 mx2.EXAMPLE.com"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_MX, "20 mx1.example.com"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_MX, "mx3.example.com"));
    char list[64];
    probe_dns_answer_list(&a, list, sizeof(list));
    assert_string_equal(list, "10 mx1.example.com, 20 mx2.example.com");

    response(&w, "n.test", 2, 0, 1);
    record_name(&w, 2, 0, "ns1.example.com.");
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_NS, w.b, w.n, &a), ARES_SUCCESS);
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_NS, "NS1.example.com"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_NS, "ns2.example.com"));

    /* two TXT records, the second of two strings (joined), one with a NUL */
    response(&w, "t.test", 16, 0, 3);
    record(&w, 16, "\x0bhello world", 12);
    record(&w, 16, "\x03v=s\x04pf1 ", 9);
    record(&w, 16, "\x03""a\x00""b", 4);
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_TXT, w.b, w.n, &a), ARES_SUCCESS);
    assert_int_equal(a.n, 3);
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_TXT, "hello world"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_TXT, "Hello world"));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_TXT, "hello"));
    assert_true(probe_dns_answer_has(&a, PROBE_DNS_TXT, "v=spf1 "));
    assert_false(probe_dns_answer_has(&a, PROBE_DNS_TXT, "a"));
    probe_dns_answer_list(&a, list, sizeof(list));
    assert_string_equal(list, "hello world, v=spf1 , a\\x00b");
}

static void test_dns_answers_nodata_nxdomain_and_garbage(void **state)
{
    (void)state;
    static struct probe_dns_answer a;
    struct wire w;
    response(&w, "x.test", 1, 3, 0);
    w.b[9] = 1; /* one authority record counted */
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_A, w.b, w.n, &a), ARES_ENODATA);
    assert_true(a.has_header);
    assert_int_equal(a.rcode, 3);
    assert_int_equal(a.authority_rrs, 1);
    response(&w, "x.test", 15, 0, 0);
    assert_int_not_equal(probe_dns_answer_parse(PROBE_DNS_MX, w.b, w.n, &a), ARES_SUCCESS);
    char list[16];
    probe_dns_answer_list(&a, list, sizeof(list));
    assert_string_equal(list, "nothing");
    /* cut inside the answer, and shorter than a header */
    response(&w, "x.test", 1, 0, 1);
    record(&w, 1, "\x7f\x00\x00\x05", 4);
    assert_int_not_equal(probe_dns_answer_parse(PROBE_DNS_A, w.b, w.n - 2, &a), ARES_SUCCESS);
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_A, w.b, 11, &a), ARES_EBADRESP);
    assert_false(a.has_header);
    /* more answers than kept: counted, listed as "and N more" */
    response(&w, "x.test", 1, 0, 70);
    for (int i = 0; i < 70; i++) {
        unsigned char ip[4] = {10, 0, 0, (unsigned char)i};
        record(&w, 1, ip, 4);
    }
    assert_int_equal(probe_dns_answer_parse(PROBE_DNS_A, w.b, w.n, &a), ARES_SUCCESS);
    assert_int_equal(a.n, PROBE_DNS_ANSWERS_MAX);
    char longer[200];
    probe_dns_answer_list(&a, longer, sizeof(longer));
    assert_true(strlen(longer) < sizeof(longer));
    assert_non_null(strstr(longer, "10.0.0.0, 10.0.0.1"));
}

/* ---- runs against a socket that never answers ---- */

struct silent {
    int fd, port;
    char server[32];
};

static void silent_open(struct silent *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    s->fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    snprintf(s->server, sizeof(s->server), "127.0.0.1:%d", s->port);
}

static struct conf_check dns_check(struct fx *f, const char *server)
{
    struct conf_check c = check_defaults(f, &probe_dns_type);
    DC(c)->name = "a.test";
    DC(c)->server = server;
    return c;
}

static void test_dns_silent_server_times_out(void **state)
{
    struct fx *f = *state;
    struct silent s;
    silent_open(&s);
    struct conf_check c = dns_check(f, s.server);
    c.timeout_ms = 300;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    char want[128];
    snprintf(want, sizeof(want), "timeout after 300 ms (no answer from %s)", s.server);
    assert_string_equal(r.s.error, want);
    assert_true(sample_v(&r.s, "lookup_time_seconds") < 0);
    close(s.fd);
}

static void test_dns_refused_port_is_down(void **state)
{
    struct fx *f = *state;
    struct silent s;
    silent_open(&s);
    close(s.fd); /* nothing listens there now: ICMP port unreachable */
    struct conf_check c = dns_check(f, s.server);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    char want[128];
    snprintf(want, sizeof(want), "connection refused by %s (nothing listening?)", s.server);
    assert_string_equal(r.s.error, want);
}

static void test_dns_cancel_and_close_with_queries_in_flight(void **state)
{
    struct fx *f = *state;
    struct silent s;
    silent_open(&s);
    struct conf_check c = dns_check(f, s.server);
    struct result r[3] = {{0}};
    struct probe_run *at_once = probe_start(f->e, &c, on_result, &r[0]);
    assert_non_null(at_once);
    probe_cancel(at_once); /* before the loop ran */
    struct probe_run *sent = probe_start(f->e, &c, on_result, &r[1]);
    assert_non_null(sent);
    run_for(f, 30);
    probe_cancel(sent); /* its query is out */
    probe_cancel(sent);
    assert_non_null(probe_start(f->e, &c, on_result, &r[2]));
    run_for(f, 30);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.started, 3);
    assert_int_equal(st.canceled, 2);
    assert_int_equal(st.in_flight, 1);
    fx_close_engine(f); /* cancels the third */
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].done, 0);
    close(s.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_dns_defaults_and_target),
        T(test_dns_config_errors_have_positions),
        T(test_dns_server_forms),
        T(test_dns_answers_a_and_aaaa_match_as_addresses),
        T(test_dns_answers_names_mx_and_txt),
        T(test_dns_answers_nodata_nxdomain_and_garbage),
        T(test_dns_silent_server_times_out),
        T(test_dns_refused_port_is_down),
        T(test_dns_cancel_and_close_with_queries_in_flight),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
