/*
 * Unit tests for series/ingest: a check sample becomes probe_success,
 * probe_duration_seconds, opshub_check_status and its values (declared
 * ones under their metric and label, others as opshub_check_value{name});
 * a value that is gone next time, a scraped series that left the page,
 * every series of a failed scrape and every series of a check that left
 * the configuration get a stale marker; a scrape's job and instance labels
 * are kept as exported_*; the history read back at a start is merged in
 * under what arrived since, with the sample's result as the status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf/check.h"
#include "model/event.h"
#include "model/sample.h"
#include "model/scrape.h"
#include "series/ingest.h"
#include "series/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

static void web_target(const struct conf_check *c, char *buf, size_t n)
{
    (void)c;
    snprintf(buf, n, "http://user:pw@web.example:8080/metrics");
}

static const struct conf_check_value web_values[] = {
    {"phase_connect_seconds", "connect", "probe_http_duration_seconds", "phase", "connect"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct conf_check_type http_type = {.name = "http", .target = web_target, .values = web_values};
static const struct conf_check_type prom_type = {.name = "prometheus", .target = web_target, .values = NULL};

struct fixture {
    struct series_db *db;
    struct event_bus bus;
    struct series_ingest *ing;
    struct conf_check web, exp;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct series_limits lim = {6 * 3600 * 1000LL, 10000, 64u * 1024 * 1024};
    f->db = series_db_new(&lim);
    series_db_set_now(f->db, T0);
    event_bus_init(&f->bus);
    f->ing = series_ingest_new(f->db, &f->bus);
    assert_non_null(f->ing);
    f->web.id = "web";
    f->web.project = "shop";
    f->web.type = &http_type;
    f->exp.id = "exp";
    f->exp.type = &prom_type;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    series_ingest_destroy(f->ing);
    series_db_destroy(f->db);
    free(f);
    return 0;
}

static void publish_sample(struct fixture *f, const struct conf_check *c, int64_t t, enum sample_result r,
                           double latency_ms, int status, const char *value_name, double value)
{
    struct sample s;
    sample_init(&s, t);
    s.result = r;
    s.latency_ms = latency_ms;
    if (value_name)
        assert_int_equal(sample_value_set(&s, value_name, value), 0);
    struct event ev = {.kind = EVENT_SAMPLE};
    ev.u.check = (struct event_check){.check = c, .check_id = c->id, .sample = &s, .status = status};
    event_publish(&f->bus, &ev);
}

/* The samples of the one series with __name__ = name and label k = v
 * (k NULL: any); how many, into t/v. */
static size_t samples_of(struct fixture *f, const char *name, const char *k, const char *v, int64_t *t, double *val,
                         size_t max, const struct series_label **labels, size_t *n_labels)
{
    struct series_matcher m[2];
    char why[64];
    assert_int_equal(series_matcher_init(&m[0], SERIES_MATCH_EQ, "__name__", name, why, sizeof(why)), 0);
    size_t nm = 1;
    if (k)
        assert_int_equal(series_matcher_init(&m[nm++], SERIES_MATCH_EQ, k, v, why, sizeof(why)), 0);
    series_ref *refs;
    size_t n;
    assert_int_equal(series_db_select(f->db, m, nm, 0, INT64_MAX, &refs, &n), 0);
    size_t got = 0;
    if (n == 1) {
        if (labels)
            *n_labels = series_db_labels(f->db, refs[0], labels);
        struct series_iter it;
        series_iter_init(&it, f->db, refs[0], 0, INT64_MAX);
        while (got < max && series_iter_next(&it, &t[got], &val[got]))
            got++;
    } else {
        assert_int_equal(n, 0);
    }
    free(refs);
    for (size_t i = 0; i < nm; i++)
        series_matcher_free(&m[i]);
    return got;
}

static const char *label(const struct series_label *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return l[i].value;
    return NULL;
}

static void test_check_sample_series_and_stale_values(void **state)
{
    struct fixture *f = *state;
    publish_sample(f, &f->web, T0, SAMPLE_UP, 250, 0, "phase_connect_seconds", 0.01);
    publish_sample(f, &f->web, T0 + 1000, SAMPLE_DOWN, 40, 2, "bytes_read", 7);
    int64_t t[8];
    double v[8];
    const struct series_label *l;
    size_t nl;
    assert_int_equal(samples_of(f, "probe_success", NULL, NULL, t, v, 8, &l, &nl), 2);
    assert_true(v[0] == 1 && v[1] == 0);
    assert_int_equal(t[1], T0 + 1000);
    assert_string_equal(label(l, nl, "check"), "web");
    assert_string_equal(label(l, nl, "project"), "shop");
    assert_string_equal(label(l, nl, "type"), "http");
    assert_int_equal(samples_of(f, "probe_duration_seconds", NULL, NULL, t, v, 8, NULL, NULL), 2);
    assert_true(v[0] == 0.25);
    assert_int_equal(samples_of(f, "opshub_check_status", NULL, NULL, t, v, 8, NULL, NULL), 2);
    assert_true(v[0] == 0 && v[1] == 2);
    /* the declared value under its metric and label; gone the next time: a stale marker */
    assert_int_equal(samples_of(f, "probe_http_duration_seconds", "phase", "connect", t, v, 8, NULL, NULL), 2);
    assert_true(v[0] == 0.01);
    assert_true(series_is_stale(v[1]));
    assert_int_equal(t[1], T0 + 1000);
    /* a value no type declares */
    assert_int_equal(samples_of(f, "opshub_check_value", "name", "bytes_read", t, v, 8, NULL, NULL), 1);
    assert_true(v[0] == 7);
    /* the check leaves the configuration: every series it had gets its marker */
    series_ingest_sync(f->ing, NULL, 0, T0 + 2000);
    assert_int_equal(samples_of(f, "probe_success", NULL, NULL, t, v, 8, NULL, NULL), 3);
    assert_true(series_is_stale(v[2]));
    assert_int_equal(t[2], T0 + 2000);
    assert_int_equal(samples_of(f, "opshub_check_value", "name", "bytes_read", t, v, 8, NULL, NULL), 2);
    assert_true(series_is_stale(v[1]));
}

static void publish_scrape(struct fixture *f, int64_t t, bool with_b, bool failed)
{
    struct scrape_batch *b = scrape_batch_new(t);
    assert_non_null(b);
    struct scrape_label la[] = {{"job", "inner"}, {"queue", "mail"}};
    if (!failed) {
        assert_int_equal(scrape_batch_add(b, "jobs_total", la, 2, SCRAPE_COUNTER, 10, -1), 0);
        if (with_b)
            assert_int_equal(scrape_batch_add(b, "temp", NULL, 0, SCRAPE_GAUGE, 21.5, -1), 0);
        struct event ev = {.kind = EVENT_SERIES};
        ev.u.series = (struct event_series){.check = &f->exp, .check_id = "exp", .batch = b};
        event_publish(&f->bus, &ev);
    }
    publish_sample(f, &f->exp, t, failed ? SAMPLE_DOWN : SAMPLE_UP, 12, failed ? 2 : 0, NULL, 0);
    scrape_batch_destroy(b);
}

static void test_scrapes_labels_and_staleness(void **state)
{
    struct fixture *f = *state;
    int64_t t[8];
    double v[8];
    const struct series_label *l;
    size_t nl;
    publish_scrape(f, T0, true, false);
    assert_int_equal(samples_of(f, "jobs_total", NULL, NULL, t, v, 8, &l, &nl), 1);
    assert_string_equal(label(l, nl, "job"), "exp");
    assert_string_equal(label(l, nl, "instance"), "web.example:8080");
    assert_string_equal(label(l, nl, "exported_job"), "inner");
    assert_string_equal(label(l, nl, "queue"), "mail");
    /* temp leaves the page: its marker at the next scrape */
    publish_scrape(f, T0 + 1000, false, false);
    assert_int_equal(samples_of(f, "temp", NULL, NULL, t, v, 8, NULL, NULL), 2);
    assert_true(series_is_stale(v[1]));
    assert_int_equal(t[1], T0 + 1000);
    /* a failed scrape: up 0 and every scraped series stale */
    publish_scrape(f, T0 + 2000, false, true);
    assert_int_equal(samples_of(f, "jobs_total", NULL, NULL, t, v, 8, NULL, NULL), 3);
    assert_true(series_is_stale(v[2]));
    size_t n = samples_of(f, "up", "job", "exp", t, v, 8, &l, &nl);
    assert_true(n >= 2);
    assert_true(v[n - 2] == 1);      /* the scrapes that worked */
    assert_true(v[n - 1] == 0);      /* the one that failed */
    assert_int_equal(t[n - 1], T0 + 2000);
    assert_string_equal(label(l, nl, "instance"), "web.example:8080");
}

static void test_backfill_merges_history_with_result_as_status(void **state)
{
    struct fixture *f = *state;
    /* a live sample first, then the history read back (out of order, one repeat) */
    publish_sample(f, &f->web, T0 + 3000, SAMPLE_UP, 10, 0, NULL, 0);
    struct sample_record recs[4];
    int64_t when[] = {T0 + 2000, T0, T0 + 1000, T0 + 1000};
    enum sample_result res[] = {SAMPLE_DOWN, SAMPLE_UP, SAMPLE_DEGRADED, SAMPLE_DEGRADED};
    for (int i = 0; i < 4; i++) {
        snprintf(recs[i].check_id, sizeof(recs[i].check_id), "web");
        sample_init(&recs[i].s, when[i]);
        recs[i].s.result = res[i];
        recs[i].s.latency_ms = 100;
    }
    size_t added = series_ingest_backfill(f->ing, &f->web, recs, 4);
    assert_int_equal(added, 3 * 3);   /* three times, three series each */
    int64_t t[8];
    double v[8];
    assert_int_equal(samples_of(f, "opshub_check_status", NULL, NULL, t, v, 8, NULL, NULL), 4);
    int64_t want_t[] = {T0, T0 + 1000, T0 + 2000, T0 + 3000};
    double want_v[] = {0, 1, 2, 0};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t[i], want_t[i]);
        assert_true(v[i] == want_v[i]);
    }
    assert_int_equal(samples_of(f, "probe_success", NULL, NULL, t, v, 8, NULL, NULL), 4);
    assert_true(v[0] == 1 && v[1] == 1 && v[2] == 0 && v[3] == 1);
    struct series_ingest_stats st;
    series_ingest_stats(f->ing, &st);
    assert_int_equal(st.backfilled, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_sample_series_and_stale_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrapes_labels_and_staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backfill_merges_history_with_result_as_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
