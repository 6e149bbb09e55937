/*
 * tests/store/test_backends: one suite run against both store backends,
 * SQLite (temp file) and PostgreSQL (OPSHUB_TEST_PG_URL, or a server this
 * test starts with scripts/pg-test.sh; failing to start it fails the suite),
 * calling the blocking backend vtable directly: migrations, batches, queries,
 * purges, text round trips, schema versions; then backend-specific cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "store/hours.h"
#include "store/rollup_int.h"
#include "store/store_int.h"
#include "store/store_test_pg.h"
#include "store/subscribers.h"

#include <sqlite3.h>
#include <stdint.h>

struct fixture {
    const struct store_backend_ops *ops;
    char url[512];
    char dir[256];
    struct store_db *db;
};

static struct pg_test pg;
static char pg_url[512];
static struct fixture fx_sqlite = {.ops = &store_sqlite_ops};
static struct fixture fx_pg = {.ops = &store_postgres_ops};

static int group_setup(void **state)
{
    base_log_setup(BASE_LOG_OFF, BASE_LOG_FORMAT_TEXT, stderr);
    const char *env = getenv("OPSHUB_TEST_PG_URL");
    if (env && *env) {
        snprintf(pg_url, sizeof(pg_url), "%s", env);
        return 0;
    }
    if (pg_test_start_anywhere(&pg) != 0) {
        fprintf(stderr, "test_backends: cannot start PostgreSQL (scripts/pg-test.sh)\n");
        pg_test_stop(&pg);
        return -1; /* fails the whole group: both backends are required */
    }
    snprintf(pg_url, sizeof(pg_url), "%s", pg.url);
    return 0;
}

static int group_teardown(void **state)
{
    pg_test_stop(&pg);
    return 0;
}

static int open_fresh(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    if (f->ops == &store_sqlite_ops) {
        if (test_mkdtemp(f->dir, sizeof(f->dir)) != 0)
            return -1;
        snprintf(f->url, sizeof(f->url), "sqlite://%s/data/samples.db", f->dir);
    } else {
        snprintf(f->url, sizeof(f->url), "%s", pg_url);
    }
    if (f->ops->open(f->url, &f->db, err, sizeof(err)) != 0) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    if (f->ops == &store_postgres_ops &&
        f->ops->exec(f->db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public", err, sizeof(err)) != 0)
        return -1;
    if (f->ops->migrate(f->db, err, sizeof(err)) != 0) {
        fprintf(stderr, "migrate: %s\n", err);
        return -1;
    }
    return 0;
}

static int close_db(void **state)
{
    struct fixture *f = *state;
    f->ops->close(f->db);
    f->db = NULL;
    if (f->dir[0])
        test_rmtree(f->dir);
    f->dir[0] = '\0';
    return 0;
}

static struct sample_record rec(const char *id, int64_t ts, enum sample_result r, double lat)
{
    struct sample_record x;
    memset(&x, 0, sizeof(x));
    snprintf(x.check_id, sizeof(x.check_id), "%s", id);
    sample_init(&x.s, ts);
    x.s.result = r;
    x.s.latency_ms = lat;
    return x;
}

static int64_t count_rows(struct fixture *f)
{
    int64_t n = -1;
    assert_int_equal(f->ops->query_int(f->db, "SELECT COUNT(*) FROM samples", &n, NULL, 0), 0);
    return n;
}

static void assert_record_equal(const struct sample_record *a, const struct sample_record *b)
{
    assert_string_equal(a->check_id, b->check_id);
    assert_int_equal(a->s.ts_ms, b->s.ts_ms);
    assert_int_equal(a->s.result, b->s.result);
    assert_true(a->s.latency_ms == b->s.latency_ms);
    assert_int_equal(a->s.code, b->s.code);
    assert_string_equal(a->s.error, b->s.error);
    assert_int_equal(a->s.n_values, b->s.n_values);
    for (uint32_t i = 0; i < a->s.n_values; i++) {
        double v;
        assert_true(sample_value_get(&a->s, sample_value_name(&b->s.values[i]), &v));
        assert_true(v == b->s.values[i].value); /* exact: %.17g round-trips a double */
    }
}

static void test_migrate_twice_is_idempotent(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    assert_int_equal(f->ops->migrate(f->db, err, sizeof(err)), 0);
    assert_int_equal(f->ops->migrate(f->db, err, sizeof(err)), 0);
    int64_t n = 0, v = 0;
    assert_int_equal(f->ops->query_int(f->db, "SELECT COUNT(*) FROM schema_migrations", &n, err, sizeof(err)), 0);
    assert_int_equal(f->ops->query_int(f->db, "SELECT MAX(version) FROM schema_migrations", &v, err, sizeof(err)), 0);
    assert_int_equal(n, store_migrate_latest_version());
    assert_int_equal(v, store_migrate_latest_version());
    assert_int_equal(count_rows(f), 0);
}

static void test_insert_batch_round_trips_every_field(void **state)
{
    struct fixture *f = *state;
    struct sample_record in[3] = {
        rec("api", 1732350000123, SAMPLE_UP, 0.1),
        rec("api", 1732350001123, SAMPLE_DEGRADED, 12345.678901234567),
        rec("api", 1732350002123, SAMPLE_DOWN, 1e-300),
    };
    in[0].s.code = 200;
    assert_int_equal(sample_value_set(&in[0].s, "phase_resolve_seconds", 0), 0);
    assert_int_equal(sample_value_set(&in[0].s, "phase_connect_seconds", 1.0 / 3.0), 0);
    assert_int_equal(sample_value_set(&in[0].s, "http_status_code", 200), 0);
    assert_int_equal(sample_value_set(&in[0].s, "big_bytes", 1e9 + 0.125), 0);
    assert_int_equal(sample_value_set(&in[0].s, "tiny_ratio", 1e-300), 0);
    assert_int_equal(sample_value_set(&in[0].s, "negative", -2.5), 0);
    for (int i = 0; i < SAMPLE_VALUES_MAX; i++) { /* a full list with the longest names */
        char name[SAMPLE_VALUE_NAME_MAX];
        snprintf(name, sizeof(name), "v%02d_%026d", i, i);
        assert_int_equal(sample_value_set(&in[1].s, name, i * 0.1), 0);
    }
    in[2].s.code = 0;
    sample_set_error(&in[2].s, "connect: connection refused");
    assert_int_equal(f->ops->insert_batch(f->db, in, 3, NULL, 0), 0);
    struct sample_record *out = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->query_samples(f->db, "api", INT64_MIN, INT64_MAX, 10, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_record_equal(&out[i], &in[2 - i]); /* newest first */
    base_free(out);
}

/* Rows written before migration 4 (timing columns, no values_json) read
 * back as the phase values new rows carry; a values_json that is not a
 * JSON object of numbers is ignored, not fatal. */
static void test_old_rows_and_bad_values_stay_readable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->ops->exec(f->db,
        "INSERT INTO samples (check_id, ts, result, latency_ms, code, error, dns_ms, connect_ms, tls_ms, ttfb_ms)"
        " VALUES ('old', 1000, 0, 12.5, 200, '', 1.0, 3.0, 7.0, 10.0);"
        "INSERT INTO samples (check_id, ts, result, latency_ms, code, error, dns_ms, connect_ms, tls_ms, ttfb_ms)"
        " VALUES ('old', 999, 2, 5, 0, 'connection refused', NULL, NULL, NULL, NULL);"
        "INSERT INTO samples (check_id, ts, result, latency_ms, code, error, values_json)"
        " VALUES ('bad', 1000, 0, 1, 0, '', 'not json');"
        "INSERT INTO samples (check_id, ts, result, latency_ms, code, error, values_json)"
        " VALUES ('bad', 999, 0, 1, 0, '', '{\"ok_value\": 1, \"s\": \"text\", \"Bad-Name\": 2, \"n\": null}');",
        NULL, 0), 0);
    struct sample_record *out = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->query_samples(f->db, "old", INT64_MIN, INT64_MAX, 10, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 2);
    double v;
    assert_true(sample_value_get(&out[0].s, "phase_resolve_seconds", &v) && v == 0.001);
    assert_true(sample_value_get(&out[0].s, "phase_connect_seconds", &v) && v == 0.002);
    assert_true(sample_value_get(&out[0].s, "phase_tls_seconds", &v) && v == 0.004);
    assert_true(sample_value_get(&out[0].s, "phase_processing_seconds", &v) && v == 0.003);
    assert_int_equal(out[0].s.n_values, 4);
    assert_int_equal(out[1].s.n_values, 0);
    assert_string_equal(out[1].s.error, "connection refused");
    base_free(out);
    assert_int_equal(f->ops->query_samples(f->db, "bad", INT64_MIN, INT64_MAX, 10, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].s.n_values, 0);
    assert_int_equal(out[1].s.n_values, 1);
    assert_true(sample_value_get(&out[1].s, "ok_value", &v) && v == 1);
    base_free(out);
}

#define H 3600000LL

/* Feeds records into an accumulator, closes everything and writes it with
 * meta.rollup_through = through (what the store thread does). */
static void write_rollups(struct store_conn *c, const struct sample_record *in, size_t n, int64_t through)
{
    struct rollup_acc acc;
    rollup_acc_init(&acc);
    for (size_t i = 0; i < n; i++)
        rollup_acc_add(&acc, in[i].check_id, in[i].s.ts_ms, in[i].s.result, in[i].s.latency_ms);
    rollup_acc_sweep(&acc, 0, true);
    char err[256] = "";
    if (rollup_db_write(c, &acc, "rollup_through", through, err, sizeof(err)) != 0)
        fail_msg("rollup_db_write: %s", err);
    assert_int_equal(acc.minutes.n + acc.hours.n, 0); /* cleared once committed */
    rollup_acc_free(&acc);
}

static int64_t count_of(struct fixture *f, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(f->ops->query_int(f->db, sql, &n, NULL, 0), 0);
    return n;
}

/* Rows written by the accumulator page in (check, hour) order with partial
 * rows of one hour summed; samples not in the rollups yet are counted per
 * (check, hour) from the samples themselves; the through point is the
 * hour of the earlier of rollup_through and a pending rebuild; purging is
 * bounded. */
static void test_rollups_write_page_and_purge(void **state)
{
    struct fixture *f = *state;
    struct store_conn conn = {f->ops, f->db};
    struct sample_record in[] = {
        rec("api", 100 * H + 1, SAMPLE_UP, 1), rec("api", 100 * H + 2, SAMPLE_DOWN, 1),
        rec("web", 100 * H + 3, SAMPLE_DEGRADED, 1), rec("api", 101 * H, SAMPLE_UP, 1),
        rec("api", 100 * H + 4, SAMPLE_UP, 1), /* out of order: a row of its own, same (check, hour) */
    };
    assert_int_equal(f->ops->insert_batch(f->db, in, 5, NULL, 0), 0);
    write_rollups(&conn, in, 5, 100 * H + 500);
    write_rollups(&conn, in, 2, 101 * H + 5); /* partial rows of the same hour add up */
    char err[256];
    int64_t through = 0;
    assert_int_equal(store_hours_through(&conn, &through, err, sizeof(err)), 0);
    assert_int_equal(through, 101 * H); /* its hour */
    struct sample_hours_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_hours_page(&conn, 0, 1000, "", 0, 100, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3); /* in (hour, check) order */
    assert_string_equal(rows[0].check_id, "api");
    assert_int_equal(rows[0].hour, 100);
    assert_int_equal(rows[0].total, 5); /* 3 + 2 */
    assert_int_equal(rows[0].up, 3);    /* degraded counts as up; the down does not */
    assert_string_equal(rows[1].check_id, "web");
    assert_int_equal(rows[1].hour, 100);
    assert_int_equal(rows[1].up, 1);
    assert_string_equal(rows[2].check_id, "api");
    assert_int_equal(rows[2].hour, 101);
    assert_int_equal(rows[2].total, 1);
    base_free(rows);
    /* keyset pages: after (100, api), one at a time; and the hour window */
    assert_int_equal(store_hours_page(&conn, 0, 1000, "api", 100, 1, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].check_id, "web");
    base_free(rows);
    assert_int_equal(store_hours_page(&conn, 0, 1000, "web", 100, 5, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].hour, 101);
    base_free(rows);
    assert_int_equal(store_hours_page(&conn, 101, 102, "", 0, 10, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    base_free(rows);
    /* from the samples: ts in [100h + 2, 101h + 1), per (check, hour), keyset */
    assert_int_equal(store_hours_raw_page(&conn, 100 * H + 2, 101 * H + 1, "", 0, 10, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].check_id, "api");
    assert_int_equal(rows[0].hour, 100);
    assert_int_equal(rows[0].total, 2); /* +2 (down) and +4 */
    assert_int_equal(rows[0].up, 1);
    assert_int_equal(rows[1].hour, 101);
    assert_string_equal(rows[2].check_id, "web");
    base_free(rows);
    assert_int_equal(store_hours_raw_page(&conn, 0, 200 * H, "api", 100, 10, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2); /* (api, 101) and web */
    assert_int_equal(rows[0].hour, 101);
    base_free(rows);
    /* a pending rebuild from an earlier point moves it back */
    assert_int_equal(f->ops->exec(f->db, "INSERT INTO meta (key, value) VALUES ('rollup_rebuild_from', 360000123),"
                                         " ('rollup_rebuild_to', 999999999999)", NULL, 0), 0);
    assert_int_equal(store_hours_through(&conn, &through, err, sizeof(err)), 0);
    assert_int_equal(through, 100 * H);
    /* minute rows: one per (check, minute) written, partial ones apart */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM rollup_minutes"), 5);
    assert_int_equal(count_of(f, "SELECT SUM(total) FROM rollup_minutes"), 7);
    assert_int_equal(count_of(f, "SELECT SUM(lat_n) FROM rollup_hours"), 5); /* the downs have no latency */
    uint64_t deleted = 0;
    assert_int_equal(rollup_db_purge(&conn, 0, 101 * H, 1, &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(rollup_db_purge(&conn, 101 * H, 101 * H, 100, &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 4 + 2); /* the minutes and the other hours before 101h */
    assert_int_equal(store_hours_page(&conn, 0, 1000, "", 0, 100, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1); /* hour 101 is left */
    base_free(rows);
}

/* After a crash the rows from rollup_through's hour on are deleted and
 * rolled up again from the samples, in bounded steps, to the same sums;
 * the rebuild resumes from its committed point after another crash. */
static void test_rollups_reconcile_and_rebuild_from_samples(void **state)
{
    struct fixture *f = *state;
    struct store_conn conn = {f->ops, f->db};
    enum { N = 3000 };
    struct sample_record *in = base_calloc(N, sizeof(*in));
    assert_non_null(in);
    for (int i = 0; i < N; i++) /* three checks, a sample every 7 s from 10h on */
        in[i] = rec(i % 3 == 0 ? "api" : i % 3 == 1 ? "db" : "web", 10 * H + (i / 3) * 7000,
                    i % 17 == 0 ? SAMPLE_DOWN : i % 5 == 0 ? SAMPLE_DEGRADED : SAMPLE_UP, 1 + i % 40);
    assert_int_equal(f->ops->insert_batch(f->db, in, N, NULL, 0), 0);
    /* what a run wrote before it died: everything up to 11h, rollup_through
     * at 11h10m, plus a stray later row that must not survive */
    size_t before = 0;
    while (before < N && in[before].s.ts_ms < 11 * H)
        before++;
    write_rollups(&conn, in, before, 11 * H + 600000);
    struct sample_record stray = rec("api", 11 * H + 700000, SAMPLE_DOWN, 1);
    write_rollups(&conn, &stray, 1, 11 * H + 600000);
    int64_t total_before = count_of(f, "SELECT SUM(total) FROM rollup_hours");
    char err[256] = "";
    int64_t start = 12 * H + 1;
    assert_int_equal(rollup_db_reconcile(&conn, start, err, sizeof(err)), 0);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM rollup_hours WHERE bucket >= 39600000"), 0);
    assert_int_equal(count_of(f, "SELECT SUM(total) FROM rollup_hours"), (int64_t)before);
    assert_true(total_before > (int64_t)before);
    int64_t through = 0;
    assert_int_equal(store_hours_through(&conn, &through, err, sizeof(err)), 0);
    assert_int_equal(through, 11 * H);

    struct rollup_rebuild rb;
    rollup_rebuild_init(&rb);
    rb.slice_ms = 60000;
    bool more = true;
    int steps = 0;
    /* a few steps, then the process "dies": a new rebuild resumes */
    for (int i = 0; i < 5 && more; i++, steps++)
        assert_int_equal(rollup_db_rebuild_step(&conn, &rb, &more, err, sizeof(err)), 0);
    assert_true(more);
    rollup_rebuild_free(&rb);
    assert_int_equal(rollup_db_reconcile(&conn, start, err, sizeof(err)), 0);
    rollup_rebuild_init(&rb);
    more = true;
    while (more && steps < 10000) {
        assert_int_equal(rollup_db_rebuild_step(&conn, &rb, &more, err, sizeof(err)), 0);
        steps++;
    }
    assert_false(more);
    assert_false(rb.active);
    rollup_rebuild_free(&rb);
    /* every sample counted once, in both tables, with the right split */
    assert_int_equal(count_of(f, "SELECT SUM(total) FROM rollup_hours"), N);
    assert_int_equal(count_of(f, "SELECT SUM(total) FROM rollup_minutes"), N);
    int64_t downs = 0, degr = 0;
    for (int i = 0; i < N; i++) {
        downs += in[i].s.result == SAMPLE_DOWN;
        degr += in[i].s.result == SAMPLE_DEGRADED;
    }
    assert_int_equal(count_of(f, "SELECT SUM(down) FROM rollup_hours"), downs);
    assert_int_equal(count_of(f, "SELECT SUM(degraded) FROM rollup_hours"), degr);
    assert_int_equal(count_of(f, "SELECT SUM(lat_n) FROM rollup_hours"), N - downs);
    assert_int_equal(store_hours_through(&conn, &through, err, sizeof(err)), 0);
    assert_int_equal(through, 12 * H); /* start's hour: nothing pending before it */
    base_free(in);
}

/* Migration 7 keeps the hourly counts of migration 5 where no samples are
 * left to rebuild them from, and marks the rest for a rebuild. */
static void test_rollups_migration_keeps_old_hours(void **state)
{
    struct fixture *f = *state;
    struct sample_record in[] = {rec("a", 7 * H + 10, SAMPLE_UP, 1), rec("a", 8 * H + 5, SAMPLE_DOWN, 1)};
    assert_int_equal(f->ops->insert_batch(f->db, in, 2, NULL, 0), 0);
    /* back to schema 6: sample_hours with counts for hours 5..7 */
    assert_int_equal(f->ops->exec(f->db, "DROP TABLE rollup_minutes; DROP TABLE rollup_hours;"
                                         " DROP TABLE alert_transitions; DROP TABLE alerts_active; DROP TABLE notifications; DROP TABLE silences;"
                                         " DROP TABLE incidents; DROP TABLE incident_events; DROP TABLE user_contacts;"
                                         " DROP TABLE status_subscribers; DROP TABLE rotation_overrides;"
                                         " DELETE FROM schema_migrations WHERE version >= 7;"
                                         " DELETE FROM meta WHERE key LIKE 'rollup_%' OR key IN ('silences_gen',"
                                         " 'incident_seq', 'incidents_gen');"
                                         " CREATE TABLE sample_hours (check_id TEXT NOT NULL, hour BIGINT NOT NULL,"
                                         " up BIGINT NOT NULL, total BIGINT NOT NULL, PRIMARY KEY (check_id, hour));"
                                         " INSERT INTO sample_hours VALUES ('a', 5, 4, 4), ('a', 6, 1, 2), ('a', 7, 1, 1);"
                                         " INSERT INTO meta (key, value) VALUES ('hours_through', 36000000)",
                                  NULL, 0), 0);
    char err[256] = "";
    assert_int_equal(f->ops->migrate(f->db, err, sizeof(err)), 0);
    struct store_conn conn = {f->ops, f->db};
    /* the samples start in hour 7: hours before 8 are kept from sample_hours */
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM rollup_hours"), 3);
    assert_int_equal(count_of(f, "SELECT SUM(down) FROM rollup_hours"), 1);
    assert_int_equal(count_of(f, "SELECT value FROM meta WHERE key = 'rollup_through'"), 8 * H);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM meta WHERE key = 'hours_through'"), 0);
    assert_int_equal(rollup_db_reconcile(&conn, 9 * H, err, sizeof(err)), 0);
    struct rollup_rebuild rb;
    rollup_rebuild_init(&rb);
    bool more = true;
    for (int i = 0; more && i < 1000; i++)
        assert_int_equal(rollup_db_rebuild_step(&conn, &rb, &more, err, sizeof(err)), 0);
    rollup_rebuild_free(&rb);
    struct sample_hours_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(store_hours_page(&conn, 0, 100, "", 0, 10, &rows, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 4);
    assert_int_equal(rows[2].hour, 7);
    assert_int_equal(rows[2].total, 1); /* from sample_hours, not again from the sample */
    assert_int_equal(rows[3].hour, 8);  /* rebuilt from the sample */
    assert_int_equal(rows[3].total, 1);
    assert_int_equal(rows[3].up, 0);
    base_free(rows);
}

static void test_query_is_newest_first_within_range_and_limit(void **state)
{
    struct fixture *f = *state;
    enum { N = 1200 }; /* more than one PostgreSQL statement's worth */
    struct sample_record *in = base_calloc(N + 10, sizeof(*in));
    assert_non_null(in);
    for (int i = 0; i < N; i++)
        in[i] = rec("api", 1000 + i, SAMPLE_UP, i);
    for (int i = 0; i < 10; i++)
        in[N + i] = rec("web", 1000 + i, SAMPLE_DOWN, i);
    assert_int_equal(f->ops->insert_batch(f->db, in, N + 10, NULL, 0), 0);
    base_free(in);
    assert_int_equal(count_rows(f), N + 10);

    struct sample_record *out = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->query_samples(f->db, "api", 1010, 1020, 100, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 11); /* inclusive on both ends */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i].s.ts_ms, 1020 - (int64_t)i);
    base_free(out);

    assert_int_equal(f->ops->query_samples(f->db, "api", 1010, 1020, 5, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 5);
    assert_int_equal(out[0].s.ts_ms, 1020);
    assert_int_equal(out[4].s.ts_ms, 1016);
    base_free(out);

    assert_int_equal(f->ops->query_samples(f->db, "api", INT64_MIN, INT64_MAX, 3, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].s.ts_ms, 1000 + N - 1);
    base_free(out);

    assert_int_equal(f->ops->query_samples(f->db, "nope", INT64_MIN, INT64_MAX, 3, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 0);
    base_free(out);
    assert_int_equal(f->ops->query_samples(f->db, "web", 2000, 3000, 3, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 0);
    base_free(out);
}

static void test_failed_batch_inserts_nothing(void **state)
{
    struct fixture *f = *state;
    struct sample_record in[3] = {
        rec("api", 1, SAMPLE_UP, 1), rec("api", 2, SAMPLE_UP, 1), rec("api", 3, SAMPLE_UP, 1),
    };
    in[1].s.result = (enum sample_result)7; /* violates the CHECK constraint */
    char err[512] = "";
    assert_true(f->ops->insert_batch(f->db, in, 3, err, sizeof(err)) < 0);
    assert_true(strlen(err) > 0);
    assert_int_equal(count_rows(f), 0);
    /* The connection is still usable afterwards. */
    in[1].s.result = SAMPLE_UP;
    assert_int_equal(f->ops->insert_batch(f->db, in, 3, err, sizeof(err)), 0);
    assert_int_equal(count_rows(f), 3);
}

static void test_latest_returns_newest_sample_per_check(void **state)
{
    struct fixture *f = *state;
    struct sample_record in[] = {
        rec("b", 50, SAMPLE_UP, 1), rec("a", 10, SAMPLE_UP, 1), rec("a", 30, SAMPLE_DOWN, 2),
        rec("a", 20, SAMPLE_UP, 3), rec("c.d-e", 5, SAMPLE_DEGRADED, 4), rec("b", 40, SAMPLE_DOWN, 5),
    };
    assert_int_equal(f->ops->insert_batch(f->db, in, sizeof(in) / sizeof(in[0]), NULL, 0), 0);
    struct sample_record *out = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->query_latest(f->db, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 3);
    assert_record_equal(&out[0], &in[2]);
    assert_record_equal(&out[1], &in[0]);
    assert_record_equal(&out[2], &in[4]);
    base_free(out);
}

static void test_latest_on_empty_table_is_empty(void **state)
{
    struct fixture *f = *state;
    struct sample_record *out = NULL;
    size_t n = 99;
    assert_int_equal(f->ops->query_latest(f->db, &out, &n, NULL, 0), 0);
    assert_int_equal(n, 0);
    base_free(out);
}

static void test_purge_deletes_older_samples_in_bounded_chunks(void **state)
{
    struct fixture *f = *state;
    struct sample_record in[30];
    for (int i = 0; i < 30; i++)
        in[i] = rec(i % 2 ? "a" : "b", i, SAMPLE_UP, 1);
    assert_int_equal(f->ops->insert_batch(f->db, in, 30, NULL, 0), 0);
    uint64_t deleted = 0;
    assert_int_equal(f->ops->purge_before(f->db, 15, 10, &deleted, NULL, 0), 0);
    assert_int_equal(deleted, 10);
    assert_int_equal(f->ops->purge_before(f->db, 15, 10, &deleted, NULL, 0), 0);
    assert_int_equal(deleted, 5);
    assert_int_equal(f->ops->purge_before(f->db, 15, 10, &deleted, NULL, 0), 0);
    assert_int_equal(deleted, 0);
    int64_t n = -1, min_ts = -1;
    assert_int_equal(f->ops->query_int(f->db, "SELECT MIN(ts) FROM samples", &min_ts, NULL, 0), 0);
    n = count_rows(f);
    assert_int_equal(n, 15);
    assert_int_equal(min_ts, 15);
}

/* store/subscribers: add (the same again is EXISTS with the first id),
 * list oldest first, delete (twice: NOT_FOUND); quotes kept verbatim. */
static void test_subscribers_add_list_delete(void **state)
{
    struct fixture *f = *state;
    struct store_conn conn = {f->ops, f->db};
    char err[256];
    struct store_subscriber a = {.id = "s1", .kind = "email", .address = "o'hara@example.test", .created_ms = 10};
    struct store_subscriber b = {.id = "s2", .kind = "webhook", .address = "http://127.0.0.1:9/h?t=1",
                                 .project = "shop", .created_ms = 20};
    assert_int_equal(store_subscriber_add(&conn, &a, err, sizeof(err)), 0);
    assert_int_equal(store_subscriber_add(&conn, &b, err, sizeof(err)), 0);
    struct store_subscriber dup = {.id = "s3", .kind = "email", .address = "o'hara@example.test", .created_ms = 30};
    assert_int_equal(store_subscriber_add(&conn, &dup, err, sizeof(err)), BASE_ERR_EXISTS);
    assert_string_equal(dup.id, "s1");
    struct store_subscriber other = {.id = "s4", .kind = "email", .address = "o'hara@example.test",
                                     .project = "shop", .created_ms = 40};
    assert_int_equal(store_subscriber_add(&conn, &other, err, sizeof(err)), 0);   /* another project */
    struct store_subscriber *list = NULL;
    size_t n = 0;
    assert_int_equal(store_subscribers_list(&conn, &list, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].address, "o'hara@example.test");
    assert_string_equal(list[1].project, "shop");
    assert_string_equal(list[1].kind, "webhook");
    assert_int_equal(list[2].created_ms, 40);
    base_free(list);
    assert_int_equal(store_subscriber_delete(&conn, "s2", err, sizeof(err)), 0);
    assert_int_equal(store_subscriber_delete(&conn, "s2", err, sizeof(err)), BASE_ERR_NOT_FOUND);
    assert_int_equal(store_subscribers_list(&conn, &list, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    base_free(list);
}

static void test_error_strings_round_trip(void **state)
{
    struct fixture *f = *state;
    static const char *texts[] = {
        "",
        "it's \"quoted\"; back\\slash",
        "'); DROP TABLE samples; --",
        "%s %d $1 ? :name",
        "unicode: \xc3\xbc \xe2\x9c\x93 \xf0\x9d\x84\x9e \xe6\x97\xa5\xe6\x9c\xac",
        "tab\tnew\nline\r",
    };
    enum { T = sizeof(texts) / sizeof(texts[0]) };
    struct sample_record in[T + 1];
    for (int i = 0; i < T; i++) {
        in[i] = rec("err", 100 + i, SAMPLE_DOWN, 1);
        sample_set_error(&in[i].s, "%s", texts[i]);
    }
    in[T] = rec("err", 100 + T, SAMPLE_DOWN, 1); /* the longest error that fits */
    memset(in[T].s.error, 'x', SAMPLE_ERROR_MAX - 1);
    in[T].s.error[SAMPLE_ERROR_MAX - 1] = '\0';
    assert_int_equal(f->ops->insert_batch(f->db, in, T + 1, NULL, 0), 0);
    struct sample_record *out = NULL;
    size_t n = 0;
    assert_int_equal(f->ops->query_samples(f->db, "err", 0, 1000, 100, &out, &n, NULL, 0), 0);
    assert_int_equal(n, T + 1);
    for (size_t i = 0; i < n; i++)
        assert_record_equal(&out[i], &in[T - i]);
    base_free(out);
}

static void test_schema_newer_than_binary_is_refused(void **state)
{
    struct fixture *f = *state;
    char sql[160], err[512] = "";
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)",
             store_migrate_latest_version() + 1);
    assert_int_equal(f->ops->exec(f->db, sql, err, sizeof(err)), 0);
    assert_int_equal(f->ops->migrate(f->db, err, sizeof(err)), BASE_ERR_INVALID);
    assert_non_null(strstr(err, "newer than this opshub"));
}

static void test_ping_answers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->ops->ping(f->db, NULL, 0), 0);
}

/* ---- SQLite only ---- */

static void test_sqlite_url_forms(void **state)
{
    char path[64];
    assert_int_equal(store_sqlite_path_from_url("sqlite:///abs/x.db", path, sizeof(path)), 0);
    assert_string_equal(path, "/abs/x.db");
    assert_int_equal(store_sqlite_path_from_url("sqlite://data/opshub.db", path, sizeof(path)), 0);
    assert_string_equal(path, "data/opshub.db");
    assert_int_equal(store_sqlite_path_from_url("sqlite://", path, sizeof(path)), BASE_ERR_INVALID);
    assert_int_equal(store_sqlite_path_from_url("sqlite://:memory:", path, sizeof(path)), BASE_ERR_INVALID);
    assert_int_equal(store_sqlite_path_from_url("sqlite:///dir/", path, sizeof(path)), BASE_ERR_INVALID);
    assert_int_equal(store_sqlite_path_from_url("sqlite:/x.db", path, sizeof(path)), BASE_ERR_INVALID);
    assert_int_equal(store_sqlite_path_from_url("postgres://x", path, sizeof(path)), BASE_ERR_INVALID);
    assert_int_equal(store_sqlite_path_from_url("sqlite:///x.db?mode=ro", path, sizeof(path)), BASE_ERR_INVALID);
    assert_int_equal(store_sqlite_path_from_url("sqlite:///a/very/long/path/that/does/not/fit/in/a/buffer/of/sixty-four/bytes.db",
                                                path, sizeof(path)), BASE_ERR_TOO_BIG);
}

static void test_sqlite_open_creates_parent_dirs_and_wal(void **state)
{
    char dir[256], url[512], err[512] = "", file[600];
    assert_int_equal(test_mkdtemp(dir, sizeof(dir)), 0);
    snprintf(url, sizeof(url), "sqlite://%s/a/b/c/x.db", dir);
    struct store_db *db = NULL;
    assert_int_equal(store_sqlite_ops.open(url, &db, err, sizeof(err)), 0);
    assert_int_equal(store_sqlite_ops.migrate(db, err, sizeof(err)), 0);
    store_sqlite_ops.close(db);
    snprintf(file, sizeof(file), "%s/a/b/c/x.db", dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(file, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(h);
    test_rmtree(dir);
}

static void test_sqlite_open_fails_cleanly_on_unwritable_path(void **state)
{
    char err[512] = "";
    struct store_db *db = NULL;
    assert_true(store_sqlite_ops.open("sqlite:///proc/opshub-nope/x.db", &db, err, sizeof(err)) < 0);
    assert_null(db);
    assert_true(strlen(err) > 0);
}

/* ---- PostgreSQL only ---- */

static void test_postgres_errors_never_contain_the_password(void **state)
{
    char url[256], err[512] = "";
    struct store_db *db = NULL;
    int held;
    snprintf(url, sizeof(url), "postgres://opshub:s3cr3tpw@127.0.0.1:%d/opshub_test", test_port_closed(&held));
    int rc = store_postgres_ops.open(url, &db, err, sizeof(err));
    close(held);
    assert_int_equal(rc, BASE_ERR_UNAVAILABLE);
    assert_null(db);
    assert_null(strstr(err, "s3cr3tpw"));
    assert_non_null(strstr(err, "127.0.0.1"));
    if (getenv("STORE_TEST_VERBOSE"))
        fprintf(stderr, "connect error: %s\n", err);

    err[0] = '\0';
    assert_int_equal(store_postgres_ops.open("postgres://opshub:s3cr3tpw@127.0.0.1:1/x?bogus=1", &db,
                                             err, sizeof(err)), BASE_ERR_INVALID);
    assert_true(strlen(err) > 0);
    assert_null(strstr(err, "s3cr3tpw"));
    err[0] = '\0';
    assert_int_equal(store_postgres_url_check("postgresql://u:s3cr3tpw@[::1/x", err, sizeof(err)),
                     BASE_ERR_INVALID);
    assert_null(strstr(err, "s3cr3tpw"));
}

static void test_postgres_lost_connection_is_reported_unavailable(void **state)
{
    struct fixture *f = *state;
    char err[512] = "", sql[128];
    int64_t pid = 0;
    assert_int_equal(f->ops->query_int(f->db, "SELECT pg_backend_pid()", &pid, err, sizeof(err)), 0);
    struct store_db *killer = NULL;
    assert_int_equal(f->ops->open(f->url, &killer, err, sizeof(err)), 0);
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)::int", (long long)pid);
    int64_t ok = 0;
    assert_int_equal(f->ops->query_int(killer, sql, &ok, err, sizeof(err)), 0);
    f->ops->close(killer);
    assert_int_equal(ok, 1);
    assert_int_equal(f->ops->ping(f->db, err, sizeof(err)), BASE_ERR_UNAVAILABLE);
    struct sample_record r = rec("api", 1, SAMPLE_UP, 1);
    assert_int_equal(f->ops->insert_batch(f->db, &r, 1, err, sizeof(err)), BASE_ERR_UNAVAILABLE);
}

static void test_postgres_float_text_uses_exact_digits(void **state)
{
    struct fixture *f = *state;
    int64_t v = 0;
    assert_int_equal(f->ops->query_int(f->db, "SELECT CASE WHEN '0.1'::float8::text = '0.1'"
                                       " AND (1.0/3)::float8::text::float8 = (1.0/3)::float8"
                                       " THEN 1 ELSE 0 END", &v, NULL, 0), 0);
    assert_int_equal(v, 1);
}

/* Alert history older than the cut goes, in bounded chunks, oldest first. */
static void test_alert_history_purge(void **state)
{
    struct fixture *f = *state;
    char sql[400];
    for (int i = 0; i < 7; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO alert_transitions (ts, grp, alertname, fingerprint, labels, annotations, state,"
                 " previous, value, active_at) VALUES (%d, 'g', 'A', 'f', '{}', '{}', 'firing', 'pending', 'NaN', 1)",
                 (i + 1) * 1000);
        assert_int_equal(f->ops->exec(f->db, sql, NULL, 0), 0);
    }
    struct store_conn conn = {f->ops, f->db};
    uint64_t deleted = 0;
    char err[256] = "";
    assert_int_equal(store_alerts_purge(&conn, 5500, 3, &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 3);
    assert_int_equal(count_of(f, "SELECT MIN(ts) FROM alert_transitions"), 4000);
    assert_int_equal(store_alerts_purge(&conn, 5500, 3, &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(store_alerts_purge(&conn, 5500, 3, &deleted, err, sizeof(err)), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(count_of(f, "SELECT COUNT(*) FROM alert_transitions"), 2);
}

#define BOTH(t) \
    {#t " [sqlite]", t, open_fresh, close_db, &fx_sqlite}, \
    {#t " [postgres]", t, open_fresh, close_db, &fx_pg}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_migrate_twice_is_idempotent),
        BOTH(test_insert_batch_round_trips_every_field),
        BOTH(test_query_is_newest_first_within_range_and_limit),
        BOTH(test_old_rows_and_bad_values_stay_readable),
        BOTH(test_rollups_write_page_and_purge),
        BOTH(test_rollups_reconcile_and_rebuild_from_samples),
        BOTH(test_rollups_migration_keeps_old_hours),
        BOTH(test_failed_batch_inserts_nothing),
        BOTH(test_latest_returns_newest_sample_per_check),
        BOTH(test_latest_on_empty_table_is_empty),
        BOTH(test_purge_deletes_older_samples_in_bounded_chunks),
        BOTH(test_error_strings_round_trip),
        BOTH(test_subscribers_add_list_delete),
        BOTH(test_schema_newer_than_binary_is_refused),
        BOTH(test_ping_answers),
        BOTH(test_alert_history_purge),
        cmocka_unit_test(test_sqlite_url_forms),
        cmocka_unit_test(test_sqlite_open_creates_parent_dirs_and_wal),
        cmocka_unit_test(test_sqlite_open_fails_cleanly_on_unwritable_path),
        cmocka_unit_test(test_postgres_errors_never_contain_the_password),
        cmocka_unit_test_prestate_setup_teardown(test_postgres_lost_connection_is_reported_unavailable,
                                                 open_fresh, close_db, &fx_pg),
        cmocka_unit_test_prestate_setup_teardown(test_postgres_float_text_uses_exact_digits,
                                                 open_fresh, close_db, &fx_pg),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
