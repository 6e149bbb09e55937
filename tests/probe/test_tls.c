/*
 * Unit tests for probe/tls: the days -> result mapping, configuration
 * errors with their positions, and runs that fail before a certificate is
 * seen (refused port, a server that does not speak TLS, a silent server,
 * an unreadable ca_file, bad addresses), plus cancellation in each phase
 * with every handle and the thread-pool work released (run under ASan).
 * Handshakes with real certificates are in tests/integration/test_tls_check.py.
 */
#include "probe/probe_test.h"

#include "base/err.h"
#include "probe/registry.h"
#include "probe/tls.h"
#include "test_port.h"

#include <stdio.h>
#include <string.h>

#define TL(c) ((struct probe_tls_conf *)(c).settings)

static struct conf_check tls_check(struct fx *f, char *buf, size_t n, const char *host, int port)
{
    struct conf_check c = check_defaults(f, &probe_tls_type);
    snprintf(buf, n, "%s:%d", host, port);
    TL(c)->address = buf;
    return c;
}

static void test_tls_days_map_to_results(void **state)
{
    (void)state;
    assert_int_equal(probe_tls_result(90.0, 30, 7), SAMPLE_UP);
    assert_int_equal(probe_tls_result(30.0, 30, 7), SAMPLE_UP);      /* not fewer than warn_days */
    assert_int_equal(probe_tls_result(29.99, 30, 7), SAMPLE_DEGRADED);
    assert_int_equal(probe_tls_result(7.0, 30, 7), SAMPLE_DEGRADED);
    assert_int_equal(probe_tls_result(6.99, 30, 7), SAMPLE_DOWN);
    assert_int_equal(probe_tls_result(2.9, 30, 7), SAMPLE_DOWN);
    assert_int_equal(probe_tls_result(2.9, 5, 2), SAMPLE_DEGRADED);
    assert_int_equal(probe_tls_result(-0.5, 0, 0), SAMPLE_DOWN);     /* expired: down even with 0/0 */
    assert_int_equal(probe_tls_result(0.5, 0, 0), SAMPLE_UP);
    assert_int_equal(probe_tls_result(10.0, 7, 7), SAMPLE_UP);
    assert_int_equal(probe_tls_result(6.0, 7, 7), SAMPLE_DOWN);
}

static void test_tls_defaults_are_30_and_7(void **state)
{
    struct fx *f = *state;
    char a[64];
    struct conf_check c = tls_check(f, a, sizeof(a), "127.0.0.1", 443);
    assert_int_equal(TL(c)->warn_days, 30);
    assert_int_equal(TL(c)->crit_days, 7);
    assert_null(TL(c)->server_name);
    assert_null(TL(c)->ca_file);
}

/* Loads yaml expecting exactly one error at line:col containing needle. */
static void expect_one_error(const char *yaml, int line, int col, const char *needle)
{
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
    assert_non_null(strstr(text, "t.yaml:"));
    conf_destroy(c);
    base_errors_free(&e);
}

static void test_tls_config_errors_have_positions(void **state)
{
    (void)state;
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n"
                     "    address: 127.0.0.1:443\n"
                     "    warn_days: 5\n"
                     "    crit_days: 10\n",
                     5, 16, "warn_days (5) must not be less than crit_days (10)");
    /* only crit_days given: the default warn_days (30) is below it */
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n"
                     "    address: 127.0.0.1:443\n"
                     "    crit_days: 40\n",
                     5, 16, "warn_days (30) must not be less than crit_days (40)");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n"
                     "    address: no-port-here\n",
                     4, 14, "port");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n",
                     2, 5, "address");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n"
                     "    address: 127.0.0.1:443\n"
                     "    warn_days: 4000\n",
                     5, 16, "");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n"
                     "    address: 127.0.0.1:443\n"
                     "    server_name: 'bad name'\n",
                     5, 18, "server_name");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: tls\n"
                     "    address: 127.0.0.1:443\n"
                     "    ca_file: ''\n",
                     5, 14, "ca_file");
}

static void test_tls_valid_config_loads(void **state)
{
    (void)state;
    const char *yaml = "checks:\n"
                       "  - id: c\n"
                       "    type: tls\n"
                       "    address: www.example.com:443\n"
                       "    server_name: example.com\n"
                       "    ca_file: /etc/ssl/x.pem\n"
                       "    warn_days: 7\n"
                       "    crit_days: 7\n";
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    assert_int_equal(conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e), 0);
    const struct probe_tls_conf *t = c->checks[0].settings;
    assert_string_equal(t->server_name, "example.com");
    assert_int_equal(t->warn_days, 7);
    assert_int_equal(t->crit_days, 7);
    conf_destroy(c);
    base_errors_free(&e);
}

static void test_tls_refused_port_is_down(void **state)
{
    struct fx *f = *state;
    int held;
    char a[64];
    struct conf_check c = tls_check(f, a, sizeof(a), "127.0.0.1", test_port_closed(&held));
    struct result r;
    run_check(f, &c, &r, 5000);
    close(held);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "connection refused");
    assert_true(sample_v(&r.s, "days_left") == -1);
}

static void test_tls_plain_text_server_fails_the_handshake(void **state)
{
    struct fx *f = *state;
    struct target wrong;
    assert_int_equal(target_start(&wrong, TARGET_WRONG), 0);
    char a[64];
    struct conf_check c = tls_check(f, a, sizeof(a), "127.0.0.1", wrong.port);
    struct result r;
    run_check(f, &c, &r, 5000);
    target_stop(&wrong);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    if (strncmp(r.s.error, "TLS handshake", 13) != 0)
        fail_msg("error: %s", r.s.error);
    assert_true(sample_v(&r.s, "days_left") == -1);
}

static void test_tls_silent_server_times_out_in_handshake(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    char a[64];
    int held;
    struct conf_check c = tls_check(f, a, sizeof(a), "127.0.0.1", test_port_closed(&held));
    struct result r;
    /* the system store is parsed once (slow under ASan), then cached */
    run_check(f, &c, &r, 5000);
    close(held);
    assert_string_equal(r.s.error, "connection refused");
    c = tls_check(f, a, sizeof(a), "127.0.0.1", silent.port);
    c.timeout_ms = 300;
    run_check(f, &c, &r, 5000);
    target_stop(&silent);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "timeout after 300 ms (TLS handshake)");
    assert_true(r.s.latency_ms >= 290 && r.s.latency_ms < 2000);
}

static void test_tls_unreadable_ca_file_is_down(void **state)
{
    struct fx *f = *state;
    char a[64];
    struct conf_check c = tls_check(f, a, sizeof(a), "127.0.0.1", f->http.port);
    TL(c)->ca_file = "/nonexistent/opshub-ca.pem";
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "cannot read ca_file /nonexistent/opshub-ca.pem: No such file or directory");
    /* a file without certificates */
    TL(c)->ca_file = "/dev/null";
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    if (strcmp(r.s.error, "cannot load ca_file /dev/null: no certificate or crl found") != 0)
        fail_msg("error: %s", r.s.error);
}

static void test_tls_invalid_addresses_are_down(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"no-port", "host:", ":443", "h:0", "h:65536", "[::1]443", "a:b:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct conf_check c = check_defaults(f, &probe_tls_type);
        TL(c)->address = bad[i];
        struct result r;
        run_check(f, &c, &r, 5000);
        assert_int_equal(r.s.result, SAMPLE_DOWN);
        if (!strstr(r.s.error, "invalid address"))
            fail_msg("%s: %s", bad[i], r.s.error);
    }
}

static void test_tls_cancel_in_each_phase_closes_everything(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    char a1[64], a2[64], a3[64];
    struct result r[3] = {{0}};
    /* building the context on the thread pool */
    struct conf_check c = tls_check(f, a1, sizeof(a1), "127.0.0.1", silent.port);
    struct probe_run *loading = probe_start(f->e, &c, on_result, &r[0]);
    assert_non_null(loading);
    probe_cancel(loading);
    /* resolving (or still loading) */
    c = tls_check(f, a2, sizeof(a2), "localhost", silent.port);
    struct probe_run *resolving = probe_start(f->e, &c, on_result, &r[1]);
    run_for(f, 5);
    probe_cancel(resolving);
    /* connected, in the handshake */
    int seen = atomic_load(&silent.requests);
    c = tls_check(f, a3, sizeof(a3), "127.0.0.1", silent.port);
    struct probe_run *shaking = probe_start(f->e, &c, on_result, &r[2]);
    assert_true(wait_requests(f, &silent, seen + 1, 5000));
    run_for(f, 20);
    probe_cancel(shaking);
    probe_cancel(shaking);  /* twice is harmless */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_tls_days_map_to_results),
        T(test_tls_defaults_are_30_and_7),
        T(test_tls_config_errors_have_positions),
        T(test_tls_valid_config_loads),
        T(test_tls_refused_port_is_down),
        T(test_tls_plain_text_server_fails_the_handshake),
        T(test_tls_silent_server_times_out_in_handshake),
        T(test_tls_unreadable_ca_file_is_down),
        T(test_tls_invalid_addresses_are_down),
        T(test_tls_cancel_in_each_phase_closes_everything),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
