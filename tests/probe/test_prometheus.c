/*
 * Unit tests for probe/prometheus on the engine, against the in-process
 * target: the series a scrape selects come with the run as a scrape batch
 * (labels sorted, family types, exposed timestamps or the scrape's time),
 * match selects, max_series drops and degrades, a page that is not the
 * text format and a 404 are down, and an engine closed with a scrape in
 * flight frees everything.
 */
#include "probe_test.h"

#include "model/scrape.h"
#include "probe/prometheus.h"

#include <stdio.h>

struct scrape_result {
    int done;
    struct sample s;
    char series[8][256];
    size_t n;
};

static struct probe_run *current;

static void on_scrape(void *data, const struct sample *s)
{
    struct scrape_result *r = data;
    r->s = *s;
    r->done = 1;
    const struct scrape_batch *b = probe_run_series(current);
    for (size_t i = 0; b && i < b->n && r->n < 8; i++) {
        const struct scrape_series *x = &b->series[i];
        char *o = r->series[r->n++];
        size_t at = (size_t)snprintf(o, 256, "%d %s{", (int)x->type, x->name);
        for (uint32_t k = 0; k < x->n_labels; k++)
            at += (size_t)snprintf(o + at, 256 - at, "%s%s=%s", k ? "," : "", x->labels[k].name, x->labels[k].value);
        snprintf(o + at, 256 - at, "} %g %s", x->value, x->ts_ms == b->ts_ms ? "now" : "exposed");
    }
}

static struct conf_check prom_check(struct fx *f, const char *path, const char *const *match, size_t n_match,
                                    int max_series)
{
    struct conf_check c = check_defaults(f, &probe_prometheus_type);
    struct probe_prometheus_conf *pc = c.settings;
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", f->http.port, path);
    pc->url = f->url;
    pc->match.items = (const char **)match;
    pc->match.n = n_match;
    if (max_series)
        pc->max_series = max_series;
    return c;
}

static void scrape(struct fx *f, const struct conf_check *c, struct scrape_result *r)
{
    memset(r, 0, sizeof(*r));
    current = probe_start(f->e, c, on_scrape, r);
    assert_non_null(current);
    assert_true(run_until(f, &r->done, 1, 5000));
}

static void test_series_come_with_the_run(void **state)
{
    struct fx *f = *state;
    struct conf_check c = prom_check(f, "/metrics", NULL, 0, 0);
    struct scrape_result r;
    scrape(f, &c, &r);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.s.code, 200);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.series[0], "1 http_requests_total{code=500,method=get} 7 now");
    assert_string_equal(r.series[1], "1 http_requests_total{code=200,method=get} 1027 exposed");
    assert_string_equal(r.series[2], "2 queue_depth{} 3.5 now");
    assert_true(sample_v(&r.s, "scrape_samples_scraped") == 3);
    assert_true(sample_v(&r.s, "scrape_samples_matched") == 3);
    assert_true(sample_v(&r.s, "scrape_body_bytes") == (double)strlen(TARGET_METRICS));
}

static void test_match_and_max_series(void **state)
{
    struct fx *f = *state;
    static const char *const match[] = {"http_requests_total{code=~\"5..\"}", "queue_depth"};
    struct conf_check c = prom_check(f, "/metrics", match, 2, 0);
    struct scrape_result r;
    scrape(f, &c, &r);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.series[0], "1 http_requests_total{code=500,method=get} 7 now");
    assert_string_equal(r.series[1], "2 queue_depth{} 3.5 now");
    assert_true(sample_v(&r.s, "scrape_samples_matched") == 2);

    c = prom_check(f, "/metrics", NULL, 0, 1);
    scrape(f, &c, &r);
    assert_int_equal(r.s.result, SAMPLE_DEGRADED);
    assert_string_equal(r.s.error, "2 series past max_series 1 were dropped");
    assert_int_equal(r.n, 1);
    assert_true(sample_v(&r.s, "scrape_samples_dropped") == 2);
}

static void test_bad_pages_are_down(void **state)
{
    struct fx *f = *state;
    struct scrape_result r;
    struct conf_check c = prom_check(f, "/ok", NULL, 0, 0);   /* JSON, not the text format */
    scrape(f, &c, &r);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "metrics line 1 col 1: expected a metric name");
    assert_int_equal(r.n, 0);
    c = prom_check(f, "/nothing", NULL, 0, 0);
    scrape(f, &c, &r);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "unexpected status 404");
    c = prom_check(f, "/huge", NULL, 0, 0);
    ((struct probe_prometheus_conf *)c.settings)->max_body = 4096;
    scrape(f, &c, &r);
    assert_string_equal(r.s.error, "metrics body exceeds max_body (4096 bytes)");
}

static void test_close_with_a_scrape_in_flight(void **state)
{
    struct fx *f = *state;
    struct conf_check c = prom_check(f, "/slow/3000", NULL, 0, 0);
    struct scrape_result r;
    memset(&r, 0, sizeof(r));
    current = probe_start(f->e, &c, on_scrape, &r);
    assert_non_null(current);
    run_for(f, 50);
    fx_close_engine(f);   /* teardown asserts the loop closes with nothing left */
    assert_int_equal(r.done, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_series_come_with_the_run, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_match_and_max_series, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_pages_are_down, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_close_with_a_scrape_in_flight, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
