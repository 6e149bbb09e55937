/*
 * Unit tests for series/chunk and series/series: the bit stream round-trips
 * every value bit for bit (NaN, the stale marker, infinities, -0) and
 * timestamps with any delta; a regular series costs at most 2 bytes a
 * sample; appends refuse what is out of order, too old, badly labelled or
 * past max_series / max_memory, and ignore exact duplicates; selection by
 * each matcher kind and by time; label names and values; the window's trim
 * and the reuse of freed refs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "series/chunk.h"
#include "series/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static void round_trip(const int64_t *t, const double *v, size_t n)
{
    struct series_chunk c = {0};
    long grown;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(series_chunk_append(&c, t[i], bits_of(v[i]), &grown), 0);
    series_chunk_shrink(&c);
    struct series_chunk_reader r;
    series_chunk_reader_init(&r, c.data, c.bits, c.n);
    for (size_t i = 0; i < n; i++) {
        int64_t gt;
        uint64_t gv;
        assert_true(series_chunk_next(&r, &gt, &gv));
        assert_int_equal(gt, t[i]);
        assert_int_equal(gv, bits_of(v[i]));
    }
    int64_t gt;
    uint64_t gv;
    assert_false(series_chunk_next(&r, &gt, &gv));
    series_chunk_free(&c);
}

static void test_chunk_round_trip(void **state)
{
    static const double special[] = {0.0, -0.0, 1.5, NAN, INFINITY, -INFINITY, 1e308, -5e-324, 42, 42, 42};
    int64_t t[120];
    double v[120];
    /* edge values, irregular deltas of every bucket and a huge jump */
    static const int64_t deltas[] = {15000, 15000, 15001, 14999, 15070, 14000, 1, 524288, 600000, 0, 1LL << 40};
    for (size_t i = 0; i < 11; i++) {
        t[i] = (i ? t[i - 1] : T0) + deltas[i];
        v[i] = special[i];
    }
    v[9] = series_stale_nan();
    round_trip(t, v, 11);
    /* every bucket's bounds as a delta of deltas: 64, -63, 8192, -8191, 524288, -524287 and past */
    static const int64_t dods[] = {0, 64, -63, 65, -64, 8192, -8191, 8193, -8192, 524288, -524287, 524289, -524288};
    int64_t delta = 15000;
    t[0] = T0;
    v[0] = 1;
    for (size_t i = 1; i <= 13; i++) {
        delta += dods[i - 1];
        t[i] = t[i - 1] + delta;
        v[i] = (double)i;
    }
    round_trip(t, v, 14);
    srand(7);
    for (int round = 0; round < 50; round++) {
        int64_t at = T0 - (int64_t)rand() * 1000;
        for (size_t i = 0; i < 120; i++) {
            at += rand() % 5 == 0 ? rand() % 100000000 : rand() % 30000;
            t[i] = at;
            uint64_t b = ((uint64_t)rand() << 40) ^ ((uint64_t)rand() << 20) ^ (uint64_t)rand();
            double x;
            memcpy(&x, &b, sizeof(x));
            v[i] = rand() % 3 == 0 ? x : rand() % 2 ? (double)(rand() % 100) : v[i ? i - 1 : 0];
        }
        round_trip(t, v, 120);
    }
}

static void test_chunk_reader_stops_on_garbage(void **state)
{
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    struct series_chunk_reader r;
    series_chunk_reader_init(&r, junk, sizeof(junk) * 8, 1000);
    int64_t t;
    uint64_t v;
    size_t n = 0;
    while (series_chunk_next(&r, &t, &v))
        n++;
    assert_true(n < 1000);
    assert_true(r.pos <= r.bits);
}

static struct series_db *new_db(size_t max_series, size_t max_memory)
{
    struct series_limits lim = {SERIES_DEFAULT_WINDOW_MS, max_series, max_memory};
    struct series_db *db = series_db_new(&lim);
    assert_non_null(db);
    series_db_set_now(db, T0);
    return db;
}

static void test_bytes_per_sample_on_regular_series(void **state)
{
    struct series_db *db = new_db(1000, 64u * 1024 * 1024);
    char id[16];
    /* 100 series x 240 samples (1 h at 15 s): counters, 0/1 gauges and slow gauges */
    for (int s = 0; s < 100; s++) {
        snprintf(id, sizeof(id), "%d", s);
        struct series_label l[] = {{"__name__", s % 3 == 0 ? "reqs_total" : s % 3 == 1 ? "up" : "temp"},
                                   {"instance", id}};
        double counter = 0;
        for (int i = 0; i < 240; i++) {
            counter += (i * 7 + s) % 5;
            double v = s % 3 == 0 ? counter : s % 3 == 1 ? 1 : 20 + (i / 30) * 0.5;
            assert_int_equal(series_db_append(db, l, 2, T0 + i * 15000LL, v), SERIES_OK);
        }
    }
    struct series_stats st;
    series_db_stats(db, &st);
    assert_int_equal(st.series, 100);
    assert_int_equal(st.samples, 24000);
    double per = (double)st.chunk_bytes / (double)st.samples;
    print_message("chunk bytes per sample: %.3f, memory per sample with labels and index: %.3f\n", per,
                  (double)st.memory / (double)st.samples);
    assert_true(per <= 2.0);
    series_db_destroy(db);
}

static void add(struct series_db *db, const char *name, const char *job, const char *code, int64_t t, double v)
{
    struct series_label l[3] = {{"__name__", name}, {"code", code}, {"job", job}};
    if (!code)
        l[1] = l[2];
    assert_int_equal(series_db_append(db, l, code ? 3 : 2, t, v), SERIES_OK);
}

static void test_append_refusals(void **state)
{
    struct series_db *db = new_db(3, 64u * 1024 * 1024);
    struct series_label l[] = {{"__name__", "x"}, {"job", "a"}};
    assert_int_equal(series_db_append(db, l, 2, T0, 1), SERIES_OK);
    assert_int_equal(series_db_append(db, l, 2, T0, 1), SERIES_DUPLICATE);
    assert_int_equal(series_db_append(db, l, 2, T0, 2), SERIES_OUT_OF_ORDER);
    assert_int_equal(series_db_append(db, l, 2, T0 - 1, 1), SERIES_OUT_OF_ORDER);
    assert_int_equal(series_db_append(db, l, 2, T0 - SERIES_DEFAULT_WINDOW_MS - 1, 1), SERIES_TOO_OLD);
    struct series_label unsorted[] = {{"job", "a"}, {"__name__", "x"}};
    assert_int_equal(series_db_append(db, unsorted, 2, T0, 1), SERIES_BAD_LABELS);
    struct series_label noname[] = {{"job", "a"}};
    assert_int_equal(series_db_append(db, noname, 1, T0, 1), SERIES_BAD_LABELS);
    struct series_label twice[] = {{"__name__", "x"}, {"a", "1"}, {"a", "2"}};
    assert_int_equal(series_db_append(db, twice, 3, T0, 1), SERIES_BAD_LABELS);
    add(db, "x", "b", NULL, T0, 1);
    add(db, "x", "c", NULL, T0, 1);
    struct series_label fourth[] = {{"__name__", "x"}, {"job", "d"}};
    assert_int_equal(series_db_append(db, fourth, 2, T0, 1), SERIES_LIMIT);
    struct series_stats st;
    series_db_stats(db, &st);
    assert_int_equal(st.series, 3);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.out_of_order, 2);
    assert_int_equal(st.too_old, 1);
    assert_int_equal(st.refused_limit, 1);
    series_db_destroy(db);
    /* memory: a store of 1 MiB takes series until it is full, then refuses */
    db = new_db(1000000, 1024 * 1024);
    char id[32];
    int refused = 0;
    for (int i = 0; i < 100000 && !refused; i++) {
        snprintf(id, sizeof(id), "instance-%d-with-a-long-name", i);
        struct series_label m[] = {{"__name__", "mem"}, {"instance", id}};
        refused = series_db_append(db, m, 2, T0, i) == SERIES_LIMIT;
    }
    assert_true(refused);
    series_db_stats(db, &st);
    assert_true(st.memory <= 1024 * 1024);
    assert_true(st.series > 1000);
    series_db_destroy(db);
}

static size_t select_n(struct series_db *db, const char *spec[][3], size_t n, int64_t mint, int64_t maxt)
{
    struct series_matcher ms[4];
    char why[128];
    for (size_t i = 0; i < n; i++) {
        enum series_match_op op = !strcmp(spec[i][1], "=") ? SERIES_MATCH_EQ : !strcmp(spec[i][1], "!=") ? SERIES_MATCH_NE
                                  : !strcmp(spec[i][1], "=~") ? SERIES_MATCH_RE : SERIES_MATCH_NRE;
        assert_int_equal(series_matcher_init(&ms[i], op, spec[i][0], spec[i][2], why, sizeof(why)), 0);
    }
    series_ref *refs;
    size_t nr;
    assert_int_equal(series_db_select(db, ms, n, mint, maxt, &refs, &nr), 0);
    for (size_t i = 1; i < nr; i++)
        assert_true(refs[i - 1] < refs[i]);
    free(refs);
    for (size_t i = 0; i < n; i++)
        series_matcher_free(&ms[i]);
    return nr;
}

static void test_select_and_labels(void **state)
{
    struct series_db *db = new_db(1000, 64u * 1024 * 1024);
    add(db, "http_total", "api", "200", T0, 1);
    add(db, "http_total", "api", "500", T0, 1);
    add(db, "http_total", "web", "200", T0, 1);
    add(db, "up", "api", NULL, T0, 1);
    add(db, "up", "web", NULL, T0 + 60000, 1);
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=", "http_total"}}, 1, 0, INT64_MAX), 3);
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=", "http_total"}, {"code", "=~", "5.."}}, 2, 0,
                              INT64_MAX), 1);
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=", "http_total"}, {"code", "!~", "5.."}}, 2, 0,
                              INT64_MAX), 2);
    assert_int_equal(select_n(db, (const char *[][3]){{"job", "!=", "api"}}, 1, 0, INT64_MAX), 2);
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=~", "up|http_total"}, {"code", "=", ""}}, 2, 0,
                              INT64_MAX), 2);   /* a missing label matches "" */
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=~", "http"}}, 1, 0, INT64_MAX), 0); /* anchored */
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=", "nope"}}, 1, 0, INT64_MAX), 0);
    assert_int_equal(select_n(db, (const char *[][3]){{"__name__", "=", "up"}}, 1, T0 + 1, INT64_MAX), 1);
    char why[160];
    struct series_matcher bad;
    assert_int_equal(series_matcher_init(&bad, SERIES_MATCH_RE, "code", "(", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "bad regex for code"));
    const char **names;
    size_t n;
    assert_int_equal(series_db_label_names(db, NULL, 0, 0, INT64_MAX, &names, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "__name__");
    assert_string_equal(names[1], "code");
    assert_string_equal(names[2], "job");
    free(names);
    assert_int_equal(series_db_label_values(db, "job", NULL, 0, 0, INT64_MAX, &names, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "api");
    assert_string_equal(names[1], "web");
    free(names);
    series_db_destroy(db);
}

static void test_window_gc_and_ref_reuse(void **state)
{
    struct series_db *db = new_db(1000, 64u * 1024 * 1024);
    struct series_label a[] = {{"__name__", "a"}};
    struct series_label b[] = {{"__name__", "b"}};
    /* a: 300 samples a minute apart (3 chunks); b: one old sample */
    for (int i = 0; i < 300; i++)
        assert_int_equal(series_db_append(db, a, 1, T0 + i * 60000LL, i), SERIES_OK);
    assert_int_equal(series_db_append(db, b, 1, T0, 1), SERIES_OK);
    series_db_set_now(db, T0 + 480 * 60000LL);   /* the window (6 h) now starts at minute 120 */
    series_db_gc(db);
    struct series_stats st;
    series_db_stats(db, &st);
    assert_int_equal(st.series, 1);   /* b is gone */
    assert_int_equal(st.samples, 300 - 120);   /* the first chunk (minutes 0..119) is gone */
    series_ref *refs;
    size_t n;
    struct series_matcher m;
    char why[64];
    assert_int_equal(series_matcher_init(&m, SERIES_MATCH_EQ, "__name__", "a", why, sizeof(why)), 0);
    assert_int_equal(series_db_select(db, &m, 1, 0, INT64_MAX, &refs, &n), 0);
    assert_int_equal(n, 1);
    struct series_iter it;
    int64_t t;
    double v;
    size_t k = 0;
    series_iter_init(&it, db, refs[0], T0 + 200 * 60000LL, T0 + 209 * 60000LL);
    while (series_iter_next(&it, &t, &v)) {
        assert_int_equal(t, T0 + (200 + (int64_t)k) * 60000LL);
        assert_true(v == 200 + (double)k);
        k++;
    }
    assert_int_equal(k, 10);
    free(refs);
    series_matcher_free(&m);
    /* the freed ref of b serves a new series */
    struct series_label c[] = {{"__name__", "c"}};
    assert_int_equal(series_db_append(db, c, 1, T0 + 300 * 60000LL, 1), SERIES_OK);
    const struct series_label *l;
    assert_int_equal(series_db_labels(db, 1, &l), 1);
    assert_string_equal(l[0].value, "c");
    series_db_destroy(db);
}

/* History merged under samples that arrived first: time order kept over
 * chunk boundaries, the held sample wins at the same time, counts right. */
static void test_backfill_merges_under_newer_samples(void **state)
{
    struct series_db *db = new_db(1000, 64u * 1024 * 1024);
    struct series_label a[] = {{"__name__", "a"}};
    /* live: minutes 200..204 (value 1000 + i) */
    for (int i = 200; i < 205; i++)
        assert_int_equal(series_db_append(db, a, 1, T0 + i * 60000LL, 1000 + i), SERIES_OK);
    /* history: minutes 0..202 (value i), longer than one chunk */
    int64_t t[203];
    double v[203];
    for (int i = 0; i < 203; i++) {
        t[i] = T0 + i * 60000LL;
        v[i] = i;
    }
    assert_int_equal(series_db_backfill(db, a, 1, t, v, 203), 200);   /* 200..202 were held */
    struct series_stats st;
    series_db_stats(db, &st);
    assert_int_equal(st.samples, 205);
    assert_int_equal(st.appended, 205);
    series_ref *refs;
    size_t n;
    struct series_matcher m;
    char why[64];
    assert_int_equal(series_matcher_init(&m, SERIES_MATCH_EQ, "__name__", "a", why, sizeof(why)), 0);
    assert_int_equal(series_db_select(db, &m, 1, 0, INT64_MAX, &refs, &n), 0);
    assert_int_equal(n, 1);
    struct series_iter it;
    int64_t gt;
    double gv;
    int k = 0;
    series_iter_init(&it, db, refs[0], 0, INT64_MAX);
    while (series_iter_next(&it, &gt, &gv)) {
        assert_int_equal(gt, T0 + k * 60000LL);
        assert_true(gv == (k < 200 ? k : 1000 + k));
        k++;
    }
    assert_int_equal(k, 205);
    /* appends go on after the merge */
    assert_int_equal(series_db_append(db, a, 1, T0 + 205 * 60000LL, 1), SERIES_OK);
    assert_int_equal(series_db_append(db, a, 1, T0 + 100 * 60000LL, 1), SERIES_OUT_OF_ORDER);
    /* a series not held yet: plain appends; older than the window: left out */
    struct series_label b[] = {{"__name__", "b"}};
    series_db_set_now(db, T0 + 6 * 3600 * 1000LL + 60000);
    assert_int_equal(series_db_backfill(db, b, 1, t, v, 3), 2);   /* minute 0 is before the window */
    free(refs);
    series_matcher_free(&m);
    series_db_destroy(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_round_trip),
        cmocka_unit_test(test_chunk_reader_stops_on_garbage),
        cmocka_unit_test(test_bytes_per_sample_on_regular_series),
        cmocka_unit_test(test_append_refusals),
        cmocka_unit_test(test_select_and_labels),
        cmocka_unit_test(test_window_gc_and_ref_reuse),
        cmocka_unit_test(test_backfill_merges_under_newer_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
