/*
 * Unit tests for probe/http (and the engine lifecycle in probe/probe.c)
 * against an in-process HTTP target on 127.0.0.1: every target behaviour
 * maps to the documented result, code and error text; huge bodies stay
 * bounded; cancel and engine close mid-flight leave nothing open (ASan).
 */
#include "probe/probe_test.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

static void on_closed_count(void *data)
{
    int *n = data;
    (*n)++;
}

/* Peak RSS of the process in KiB (VmHWM). */
static long peak_rss_kb(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(fp);
    return kb;
}

static void test_http_ok_with_matching_json_is_up(void **state)
{
    struct fx *f = *state;
    struct probe_http_json_expect json[] = {{.path = "status", .value_json = "\"ok\""}, {.path = "data.items.1", .value_json = "2"},
                                      {.path = "data", .value_json = "{\"items\":[1,2]}"}};
    struct conf_check c = http_check(f, "/ok");
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 3;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.s.code, 200);
    assert_string_equal(r.s.error, "");
    assert_true(sample_v(&r.s, "phase_resolve_seconds") >= 0);
    assert_true(sample_v(&r.s, "phase_connect_seconds") >= 0);
    assert_true(sample_v(&r.s, "phase_processing_seconds") >= 0);
    assert_true(sample_v(&r.s, "phase_tls_seconds") == -1);
    assert_true(sample_v(&r.s, "phase_transfer_seconds") >= 0);
    /* blackbox_exporter's http values */
    assert_true(sample_v(&r.s, "http_status_code") == 200);
    assert_true(sample_v(&r.s, "http_redirects") == 0);
    assert_true(sample_v(&r.s, "http_content_length_bytes") == (double)strlen(TARGET_OK_JSON));
    assert_true(sample_v(&r.s, "http_body_bytes") == (double)strlen(TARGET_OK_JSON));
    assert_true(sample_v(&r.s, "http_version") == 1.1);
    assert_true(sample_v(&r.s, "http_ssl") == 0);
    assert_timings_sane(&r.s);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.started, 1);
    assert_int_equal(st.finished, 1);
    assert_int_equal(st.in_flight, 0);
}

static void test_http_status_500_is_down_naming_expected_ranges(void **state)
{
    struct fx *f = *state;
    struct conf_check c = http_check(f, "/s500");
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 500);
    assert_string_equal(r.s.error, "unexpected status 500 (expected 2xx)");
    assert_timings_sane(&r.s);

    struct probe_http_status_range st[] = {{200, 200}, {404, 404}, {300, 302}};
    H(c)->expect.status.items = st;
    H(c)->expect.status.n = 3;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "unexpected status 500 (expected 200, 404, 300-302)");
}

static void test_http_expected_non_2xx_status_is_up(void **state)
{
    struct fx *f = *state;
    struct probe_http_status_range st[] = {{404, 404}};
    struct conf_check c = http_check(f, "/nothing-here");
    H(c)->expect.status.items = st;
    H(c)->expect.status.n = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.s.code, 404);
}

static void test_http_slow_target_times_out_at_check_timeout(void **state)
{
    struct fx *f = *state;
    struct conf_check c = http_check(f, "/slow");
    c.timeout_ms = 300;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 0);
    assert_string_equal(r.s.error, "timeout after 300 ms (waiting for response)");
    assert_true(r.s.latency_ms >= 290 && r.s.latency_ms < 1500);
    assert_true(sample_v(&r.s, "phase_processing_seconds") == -1);
    assert_timings_sane(&r.s);
}

static void test_http_slow_answer_beyond_max_latency_is_degraded(void **state)
{
    struct fx *f = *state;
    struct conf_check c = http_check(f, "/slow/250");
    H(c)->expect.max_latency_ms = 100;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DEGRADED);
    assert_int_equal(r.s.code, 200);
    char want[96];
    snprintf(want, sizeof(want), "latency %.0f ms exceeds max_latency 100 ms", r.s.latency_ms);
    assert_string_equal(r.s.error, want);
    assert_true(r.s.latency_ms >= 250);
}

static void test_http_json_value_differs_names_path_and_value(void **state)
{
    struct fx *f = *state;
    struct probe_http_json_expect json[] = {{.path = "status", .value_json = "\"ok\""}};
    struct conf_check c = http_check(f, "/degraded");
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 200);
    assert_string_equal(r.s.error, "json: status is \"degraded\", expected \"ok\"");
}

static void test_http_json_missing_path_is_down(void **state)
{
    struct fx *f = *state;
    struct probe_http_json_expect json[] = {{.path = "data.status", .value_json = "\"ok\""}};
    struct conf_check c = http_check(f, "/ok");
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "json: data.status is missing");

    json[0].path = "data.items.7";
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "json: data.items.7 is missing");
    json[0].path = "data.items.x";
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "json: data.items.x is missing");
    json[0].path = "status..x";
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "json: status..x is missing");
    json[0].path = "status.x";  /* descending into a string */
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "json: status.x is missing");
    assert_int_equal(r.s.result, SAMPLE_DOWN);
}

static void test_http_invalid_json_body_is_down_with_position(void **state)
{
    struct fx *f = *state;
    struct probe_http_json_expect json[] = {{.path = "status", .value_json = "\"ok\""}};
    struct conf_check c = http_check(f, "/invalid");
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 200);
    assert_non_null(strstr(r.s.error, "body is not valid JSON: "));
    assert_non_null(strstr(r.s.error, " at line 1 col "));
}

static void test_http_closed_connection_is_down(void **state)
{
    struct fx *f = *state;
    struct conf_check c = http_check(f, "/close");
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 0);
    assert_string_equal(r.s.error, "connection closed before response");
    assert_timings_sane(&r.s);
}

static void test_http_huge_body_with_body_condition_is_down_and_bounded(void **state)
{
    struct fx *f = *state;
    long before = peak_rss_kb();
    struct conf_check c = http_check(f, "/huge");
    H(c)->expect.body_contains = "END";
    struct result r;
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 200);
    assert_string_equal(r.s.error, "response body exceeds max_body (65536 bytes)");
    /* the transfer was cut short, and memory did not follow the body */
    assert_false(atomic_load(&f->http.huge_complete));
    long after = peak_rss_kb();
    assert_true(before > 0 && after - before < 16 * 1024);
}

static void test_http_huge_body_with_status_only_is_up(void **state)
{
    struct fx *f = *state;
    long before = peak_rss_kb();
    struct conf_check c = http_check(f, "/huge");
    H(c)->max_body_bytes = 1024 * 1024;
    struct result r;
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.s.code, 200);
    assert_string_equal(r.s.error, "");
    assert_timings_sane(&r.s);
    long after = peak_rss_kb();
    assert_true(before > 0 && after - before < 16 * 1024);
}

static void test_http_redirect_is_followed_or_reported(void **state)
{
    struct fx *f = *state;
    struct probe_http_json_expect json[] = {{.path = "status", .value_json = "\"ok\""}};
    struct conf_check c = http_check(f, "/redirect");
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.s.code, 200);
    assert_true(sample_v(&r.s, "http_redirects") == 1);
    assert_timings_sane(&r.s);

    H(c)->follow_redirects = false;
    H(c)->expect.json.n = 0;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 302);
    assert_string_equal(r.s.error, "unexpected status 302 (expected 2xx)");
}

static void test_http_refused_port_is_down(void **state)
{
    struct fx *f = *state;
    struct conf_check c = check_defaults(f, &probe_http_type);
    int held;
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/health", test_port_closed(&held));
    H(c)->url = f->url;
    struct result r;
    run_check(f, &c, &r, 5000);
    close(held);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 0);
    assert_string_equal(r.s.error, "connection refused");
    assert_true(sample_v(&r.s, "phase_connect_seconds") == -1);
    assert_true(sample_v(&r.s, "http_status_code") == 0); /* reported even without an answer */
    assert_true(sample_v(&r.s, "http_redirects") == -1);
    assert_timings_sane(&r.s);
}

static void test_http_body_contains(void **state)
{
    struct fx *f = *state;
    struct conf_check c = http_check(f, "/text");
    H(c)->expect.body_contains = "ok";
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    H(c)->expect.body_contains = "no\"pe\n";
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "body does not contain \"no\\\"pe\\n\"");
}

static void test_http_method_body_and_headers_are_sent(void **state)
{
    struct fx *f = *state;
    struct conf_kv headers[] = {{"X-Test", "abc"}};
    struct probe_http_json_expect json[] = {{.path = "method", .value_json = "\"PUT\""}, {.path = "len", .value_json = "5"}, {.path = "x_test", .value_json = "\"abc\""}};
    struct conf_check c = http_check(f, "/echo");
    H(c)->method = "PUT";
    H(c)->body = "hello";
    H(c)->headers = headers;
    H(c)->n_headers = 1;
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 3;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);

    H(c)->method = "POST";
    json[0].value_json = "\"POST\"";
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");

    struct conf_check h = http_check(f, "/ok");
    H(h)->method = "HEAD";
    run_check(f, &h, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.s.code, 200);
}

static void test_http_non_http_server_gives_tls_or_protocol_error(void **state)
{
    struct fx *f = *state;
    struct target banner;
    assert_int_equal(target_start(&banner, TARGET_WRONG), 0);
    struct conf_check c = check_defaults(f, &probe_http_type);
    snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d/", banner.port);
    H(c)->url = f->url;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(strncmp(r.s.error, "TLS: OpenSSL", 12), 0);
    assert_non_null(strstr(r.s.error, "wrong version number"));
    assert_timings_sane(&r.s);

    /* the same banner over plain http is not an HTTP reply */
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/", banner.port);
    run_check(f, &c, &r, 5000);
    target_stop(&banner);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "invalid HTTP response: received HTTP/0.9 when not allowed");
}

static void test_http_unsupported_scheme_is_down(void **state)
{
    struct fx *f = *state;
    struct conf_check c = check_defaults(f, &probe_http_type);
    H(c)->url = "ftp://127.0.0.1/file";
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "unsupported protocol (only http and https)");
}

static void test_http_start_copies_the_check(void **state)
{
    struct fx *f = *state;
    char path[32] = "status", value[32] = "\"ok\"", needle[8] = "items";
    struct probe_http_json_expect json[] = {{.path = path, .value_json = value}};
    struct conf_check c = http_check(f, "/ok");
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 1;
    H(c)->expect.body_contains = needle;
    struct result r = {0};
    assert_non_null(probe_start(f->e, &c, on_result, &r));
    /* the conf goes away (reload) while the run is in flight */
    memset(f->url, 'z', sizeof(f->url) - 1);
    memset(path, 'z', sizeof(path) - 1);
    memset(value, 'z', sizeof(value) - 1);
    memset(needle, 'z', sizeof(needle) - 1);
    memset(&c, 0xff, sizeof(c));
    assert_true(run_until(f, &r.done, 1, 5000));
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);
}

static void test_http_cancel_mid_flight_never_calls_back(void **state)
{
    struct fx *f = *state;
    struct conf_check c = http_check(f, "/hang");
    struct result r = {0};
    struct probe_run *run = probe_start(f->e, &c, on_result, &r);
    assert_non_null(run);
    assert_true(wait_requests(f, &f->http, 1, 5000));
    probe_cancel(run);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.canceled, 1);
    assert_int_equal(st.in_flight, 0);
    run_for(f, 100);
    assert_int_equal(r.done, 0);
    fx_close_engine(f);  /* asserts uv_loop_close() == 0 */
    assert_int_equal(r.done, 0);
}

struct cancel_other {
    struct probe_run *victim;
    struct result mine;
};

static void on_done_cancel_other(void *data, const struct sample *s)
{
    struct cancel_other *co = data;
    co->mine.s = *s;
    co->mine.done++;
    probe_cancel(co->victim);
}

static void test_http_cancel_from_another_runs_callback(void **state)
{
    struct fx *f = *state;
    struct result victim = {0};
    struct cancel_other co = {0};
    struct conf_check hang = http_check(f, "/hang");
    co.victim = probe_start(f->e, &hang, on_result, &victim);
    assert_non_null(co.victim);
    struct conf_check ok = http_check(f, "/ok");
    assert_non_null(probe_start(f->e, &ok, on_done_cancel_other, &co));
    assert_true(run_until(f, &co.mine.done, 1, 5000));
    assert_int_equal(co.mine.s.result, SAMPLE_UP);
    run_for(f, 50);
    assert_int_equal(victim.done, 0);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.finished, 1);
    assert_int_equal(st.canceled, 1);
    assert_int_equal(st.in_flight, 0);
}

static void on_done_close_engine(void *data, const struct sample *s)
{
    struct fx *f = data;
    probe_engine_close(f->e, on_engine_closed, f);
    f->e = NULL;
}

static void test_engine_close_with_runs_in_flight(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    struct result r[6] = {{0}};
    struct conf_check c = http_check(f, "/hang");
    assert_non_null(probe_start(f->e, &c, on_result, &r[0]));
    c = http_check(f, "/slow");
    assert_non_null(probe_start(f->e, &c, on_result, &r[1]));
    c = http_check(f, "/slow/3000");
    assert_non_null(probe_start(f->e, &c, on_result, &r[2]));
    char addr[64], host_addr[64];
    struct conf_check t = check_defaults(f, &probe_tcp_type);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", silent.port);
    TC(t)->address = addr;
    TC(t)->expect = "+PONG";
    assert_non_null(probe_start(f->e, &t, on_result, &r[3]));
    snprintf(host_addr, sizeof(host_addr), "localhost:%d", silent.port);
    TC(t)->address = host_addr;
    assert_non_null(probe_start(f->e, &t, on_result, &r[4]));
    assert_true(wait_requests(f, &f->http, 2, 5000));
    probe_engine_close(f->e, on_engine_closed, f);
    f->e = NULL;
    assert_true(run_until(f, &f->closed, 1, 5000));
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(r[i].done, 0);
    target_stop(&silent);
}

static void test_engine_close_from_a_run_callback(void **state)
{
    struct fx *f = *state;
    struct result hang = {0};
    struct conf_check c = http_check(f, "/hang");
    assert_non_null(probe_start(f->e, &c, on_result, &hang));
    c = http_check(f, "/ok");
    assert_non_null(probe_start(f->e, &c, on_done_close_engine, f));
    assert_true(run_until(f, &f->closed, 1, 5000));
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_equal(hang.done, 0);
}

static void test_http_many_concurrent_runs_all_complete(void **state)
{
    struct fx *f = *state;
    enum { N = 40 };
    static struct result r[N];
    int done_total = 0;
    memset(r, 0, sizeof(r));
    struct conf_check c = http_check(f, "/ok");
    for (int i = 0; i < N; i++)
        assert_non_null(probe_start(f->e, &c, on_result, &r[i]));
    uv_update_time(&f->loop);
    uint64_t end = uv_now(&f->loop) + 10000;
    while (done_total < N && uv_now(&f->loop) < end) {
        run_for(f, 20);
        done_total = 0;
        for (int i = 0; i < N; i++)
            done_total += r[i].done;
    }
    assert_int_equal(done_total, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].s.result, SAMPLE_UP);
    }
}

static void test_http_allocation_failures_give_null_or_a_sample(void **state)
{
    struct fx *f = *state;
    struct conf_kv headers[] = {{"X-Test", "abc"}};
    struct probe_http_json_expect json[] = {{.path = "x_test", .value_json = "\"abc\""}};
    struct conf_check c = http_check(f, "/echo");
    H(c)->headers = headers;
    H(c)->n_headers = 1;
    H(c)->expect.json.items = json;
    H(c)->expect.json.n = 1;
    int nulls = 0, ooms = 0;
    for (long n = 0; n < 12; n++) {
        struct result r = {0};
        base_alloc_fail_after(n);
        struct probe_run *run = probe_start(f->e, &c, on_result, &r);
        if (run)
            assert_true(run_until(f, &r.done, 1, 5000));
        base_alloc_fail_after(-1);
        if (!run) {
            nulls++;
            continue;
        }
        assert_int_equal(r.done, 1);
        if (r.s.result != SAMPLE_UP) {
            if (strcmp(r.s.error, "json: x_test cannot be compared (out of memory)") != 0)
                assert_string_equal(r.s.error, "out of memory reading the body");
            ooms++;
        }
    }
    assert_true(nulls >= 2);  /* the run's allocation, the header line */
    assert_true(ooms >= 1);   /* the body buffer */
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.in_flight, 0);
}

static void test_engine_new_survives_allocation_failures(void **state)
{
    struct fx *f = *state;
    for (long n = 0; n < 4; n++) {
        base_alloc_fail_after(n);
        struct probe_engine *e = probe_engine_new(&f->loop, NULL);
        base_alloc_fail_after(-1);
        if (!e)
            continue;
        int closed = 0;
        probe_engine_close(e, on_closed_count, &closed);
        assert_true(run_until(f, &closed, 1, 5000));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_http_ok_with_matching_json_is_up),
        T(test_http_status_500_is_down_naming_expected_ranges),
        T(test_http_expected_non_2xx_status_is_up),
        T(test_http_slow_target_times_out_at_check_timeout),
        T(test_http_slow_answer_beyond_max_latency_is_degraded),
        T(test_http_json_value_differs_names_path_and_value),
        T(test_http_json_missing_path_is_down),
        T(test_http_invalid_json_body_is_down_with_position),
        T(test_http_closed_connection_is_down),
        T(test_http_huge_body_with_body_condition_is_down_and_bounded),
        T(test_http_huge_body_with_status_only_is_up),
        T(test_http_redirect_is_followed_or_reported),
        T(test_http_refused_port_is_down),
        T(test_http_body_contains),
        T(test_http_method_body_and_headers_are_sent),
        T(test_http_non_http_server_gives_tls_or_protocol_error),
        T(test_http_unsupported_scheme_is_down),
        T(test_http_start_copies_the_check),
        T(test_http_cancel_mid_flight_never_calls_back),
        T(test_http_cancel_from_another_runs_callback),
        T(test_engine_close_with_runs_in_flight),
        T(test_engine_close_from_a_run_callback),
        T(test_http_many_concurrent_runs_all_complete),
        T(test_http_allocation_failures_give_null_or_a_sample),
        T(test_engine_new_survives_allocation_failures),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
