/*
 * Unit tests for probe/tcp against in-process banner servers on 127.0.0.1:
 * connect-only, send/expect, wrong and missing banners, refused ports, bad
 * addresses, name resolution, the 4 KiB reply cap, and cancellation in
 * each phase with every handle closed afterwards (run under ASan).
 */
#include "probe/probe_test.h"

#include <stdio.h>
#include <string.h>

static struct conf_check tcp_check(struct fx *f, char *buf, size_t n, const char *host, int port)
{
    struct conf_check c = check_defaults(f, &probe_tcp_type);
    snprintf(buf, n, "%s:%d", host, port);
    TC(c)->address = buf;
    return c;
}

static void test_tcp_connect_only_is_up(void **state)
{
    struct fx *f = *state;
    char addr[64];
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", f->http.port);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.code, 0);
    assert_true(sample_v(&r.s, "phase_resolve_seconds") == -1);
    assert_true(sample_v(&r.s, "phase_connect_seconds") >= 0);
    assert_true(r.s.latency_ms >= sample_v(&r.s, "phase_connect_seconds"));
    assert_timings_sane(&r.s);
}

static void test_tcp_send_and_expected_reply_is_up(void **state)
{
    struct fx *f = *state;
    struct target pong;
    assert_int_equal(target_start(&pong, TARGET_PONG), 0);
    char addr[64];
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", pong.port);
    TC(c)->send = "PING\r\n";
    TC(c)->expect = "+PONG";
    struct result r;
    run_check(f, &c, &r, 5000);
    target_stop(&pong);
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "phase_connect_seconds") >= 0);
    assert_true(sample_v(&r.s, "phase_reply_seconds") >= 0);
    assert_true(sample_v(&r.s, "phase_resolve_seconds") == -1); /* an IP address: nothing resolved */
    assert_true(r.s.latency_ms + 0.01 >= 1000 * (sample_v(&r.s, "phase_connect_seconds") +
                                                 sample_v(&r.s, "phase_reply_seconds")));
    assert_timings_sane(&r.s);
}

static void test_tcp_wrong_banner_is_down_showing_reply(void **state)
{
    struct fx *f = *state;
    struct target wrong;
    assert_int_equal(target_start(&wrong, TARGET_WRONG), 0);
    char addr[64];
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", wrong.port);
    TC(c)->expect = "+PONG";
    struct result r;
    run_check(f, &c, &r, 5000);
    target_stop(&wrong);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error,
                        "expected \"+PONG\" in reply, got \"-ERR wrong\\r\\n\" (connection closed)");
    assert_timings_sane(&r.s);
}

static void test_tcp_silent_server_times_out(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    char addr[64];
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", silent.port);
    TC(c)->send = "PING\r\n";
    TC(c)->expect = "+PONG";
    c.timeout_ms = 300;
    struct result r;
    run_check(f, &c, &r, 5000);
    target_stop(&silent);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "expected \"+PONG\" in reply, got nothing (timeout after 300 ms)");
    assert_true(r.s.latency_ms >= 290 && r.s.latency_ms < 1500);
}

static void test_tcp_reply_without_expected_text_in_4k_is_down(void **state)
{
    struct fx *f = *state;
    struct target flood;
    assert_int_equal(target_start(&flood, TARGET_FLOOD), 0);
    char addr[64];
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", flood.port);
    TC(c)->expect = "+PONG";
    struct result r;
    run_check(f, &c, &r, 5000);
    target_stop(&flood);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_non_null(strstr(r.s.error, "(not in the first 4096 bytes)"));
    assert_non_null(strstr(r.s.error, "xxx...\""));
    assert_true(strlen(r.s.error) < 200);
}

static void test_tcp_refused_port_is_down(void **state)
{
    struct fx *f = *state;
    char addr[64];
    int held;
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", test_port_closed(&held));
    struct result r;
    run_check(f, &c, &r, 5000);
    close(held);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "connection refused");
    assert_true(sample_v(&r.s, "phase_connect_seconds") == -1);
}

static void test_tcp_invalid_addresses_are_down_not_crashes(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {"", "nohost", "127.0.0.1:", ":80", "127.0.0.1:0", "127.0.0.1:70000",
                         "127.0.0.1:8x", "::1:80", "[::1]80", "[::1", "[]:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct conf_check c = check_defaults(f, &probe_tcp_type);
        TC(c)->address = bad[i];
        struct result r;
        run_check(f, &c, &r, 5000);
        assert_int_equal(r.s.result, SAMPLE_DOWN);
        assert_int_equal(strncmp(r.s.error, "invalid address \"", 17), 0);
    }
    struct conf_check c = check_defaults(f, &probe_tcp_type);
    TC(c)->address = NULL;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "invalid address \"\" (expected host:port)");
}

static void test_tcp_hostname_is_resolved(void **state)
{
    struct fx *f = *state;
    char addr[64];
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "localhost", f->http.port);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "phase_resolve_seconds") >= 0);
    assert_true(sample_v(&r.s, "phase_connect_seconds") >= 0);
    assert_timings_sane(&r.s);
}

static void test_tcp_ipv6_literal_refused_or_up(void **state)
{
    struct fx *f = *state;
    char addr[64];
    snprintf(addr, sizeof(addr), "[::1]:%d", test_port_free());
    struct conf_check c = check_defaults(f, &probe_tcp_type);
    TC(c)->address = addr;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    /* refused, or no IPv6 on this host: never a crash or an invalid address */
    assert_null(strstr(r.s.error, "invalid address"));
}

static void test_tcp_cancel_in_each_phase_closes_everything(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    char a1[64], a2[64], a3[64];
    struct result r[3] = {{0}};
    /* resolving */
    struct conf_check c = tcp_check(f, a1, sizeof(a1), "localhost", silent.port);
    struct probe_run *resolving = probe_start(f->e, &c, on_result, &r[0]);
    assert_non_null(resolving);
    probe_cancel(resolving);
    /* connecting (canceled before the loop ran) */
    c = tcp_check(f, a2, sizeof(a2), "127.0.0.1", silent.port);
    struct probe_run *connecting = probe_start(f->e, &c, on_result, &r[1]);
    probe_cancel(connecting);
    /* connected, writing and waiting for the reply */
    c = tcp_check(f, a3, sizeof(a3), "127.0.0.1", silent.port);
    TC(c)->send = "PING\r\n";
    TC(c)->expect = "+PONG";
    struct probe_run *reading = probe_start(f->e, &c, on_result, &r[2]);
    assert_true(wait_requests(f, &silent, 2, 5000));
    run_for(f, 20);
    probe_cancel(reading);
    probe_cancel(reading);  /* twice is harmless */
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.started, 3);
    assert_int_equal(st.canceled, 3);
    assert_int_equal(st.in_flight, 0);
    run_for(f, 50);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].done, 0);
    fx_close_engine(f);
    target_stop(&silent);
}

static void test_tcp_start_copies_the_check(void **state)
{
    struct fx *f = *state;
    struct target pong;
    assert_int_equal(target_start(&pong, TARGET_PONG), 0);
    char addr[64], send[16] = "PING\r\n", expect[16] = "+PONG";
    struct conf_check c = tcp_check(f, addr, sizeof(addr), "127.0.0.1", pong.port);
    TC(c)->send = send;
    TC(c)->expect = expect;
    struct result r = {0};
    assert_non_null(probe_start(f->e, &c, on_result, &r));
    memset(addr, '9', sizeof(addr) - 1);
    memset(send, 'z', sizeof(send) - 1);
    memset(expect, 'z', sizeof(expect) - 1);
    assert_true(run_until(f, &r.done, 1, 5000));
    target_stop(&pong);
    assert_string_equal(r.s.error, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_tcp_connect_only_is_up),
        T(test_tcp_send_and_expected_reply_is_up),
        T(test_tcp_wrong_banner_is_down_showing_reply),
        T(test_tcp_silent_server_times_out),
        T(test_tcp_reply_without_expected_text_in_4k_is_down),
        T(test_tcp_refused_port_is_down),
        T(test_tcp_invalid_addresses_are_down_not_crashes),
        T(test_tcp_hostname_is_resolved),
        T(test_tcp_ipv6_literal_refused_or_up),
        T(test_tcp_cancel_in_each_phase_closes_everything),
        T(test_tcp_start_copies_the_check),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
