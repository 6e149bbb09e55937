/*
 * store/rollup_db: the rollup tables through store/sql: writing closed
 * buckets with the point up to which they are complete, reconciling at
 * start, rebuilding from raw samples in bounded steps, purging.
 *
 * The invariant that makes crashes safe: every stored sample dated before
 * meta.rollup_through (and before meta.rollup_rebuild_from while a rebuild
 * is pending) is in a written row, and no written row below that point
 * holds a sample dated at or after it. At start everything from that
 * point (down to its hour) is deleted and rolled up again from the
 * samples, so each sample counts once however the last run ended.
 */
#include "store/rollup_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define ROWS_PER_INSERT 40
#define COLS 11
/* Raw samples read per rebuild step: the slice of time halves when a
 * step would read more, and doubles (up to an hour) when it read little. */
#define REBUILD_ROWS_LOW 5000
#define REBUILD_SLICE_MIN_MS 1000
#define REBUILD_SLICE_MAX_MS STORE_ROLLUP_HOUR_MS

static int64_t floor_hour(int64_t ts)
{
    int64_t q = ts / STORE_ROLLUP_HOUR_MS;
    if (ts % STORE_ROLLUP_HOUR_MS < 0)
        q--;
    return q * STORE_ROLLUP_HOUR_MS;
}

static int meta_get(struct store_conn *c, const char *key, int64_t *v, bool *found, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_TEXT(key)};
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT value FROM meta WHERE key = ?", p, 1, &r, err, errlen);
    *found = rc == 0 && r.rows > 0 && !store_result_is_null(&r, 0, 0);
    *v = *found ? store_result_int(&r, 0, 0) : 0;
    store_result_free(&r);
    return rc;
}

static int meta_set(struct store_conn *c, const char *key, int64_t v, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_TEXT(key), STORE_P_INT(v)};
    return store_sql_exec(c, "INSERT INTO meta (key, value) VALUES (?, ?)"
                             " ON CONFLICT (key) DO UPDATE SET value = excluded.value", p, 2, NULL, err, errlen);
}

/* One multi-row INSERT of rows[0..n), n <= ROWS_PER_INSERT. */
static int insert_chunk(struct store_conn *c, const char *table, const struct rollup_row *rows, size_t n,
                        char *texts, char *err, size_t errlen)
{
    char sql[128 + ROWS_PER_INSERT * 26];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (check_id, bucket, total, up, degraded, down,"
                                  " lat_n, lat_sum, lat_min, lat_max, sketch) VALUES ", table);
    struct store_param p[ROWS_PER_INSERT * COLS];
    for (size_t i = 0; i < n; i++) {
        const struct rollup_agg *a = &rows[i].a;
        char *text = texts + i * SKETCH_TEXT_MAX;
        if (!sketch_format(&a->sk, text, SKETCH_TEXT_MAX))
            snprintf(text, SKETCH_TEXT_MAX, "v1;0;"); /* cannot happen: the maximum always fits */
        struct store_param *q = &p[i * COLS];
        q[0] = STORE_P_TEXT(rows[i].check_id);
        q[1] = STORE_P_INT(a->start_ms);
        q[2] = STORE_P_INT(a->total);
        q[3] = STORE_P_INT(a->up);
        q[4] = STORE_P_INT(a->degraded);
        q[5] = STORE_P_INT(a->down);
        q[6] = STORE_P_INT(a->lat_n);
        q[7] = STORE_P_REAL(a->lat_sum);
        q[8] = STORE_P_REAL(a->lat_min);
        q[9] = STORE_P_REAL(a->lat_max);
        q[10] = STORE_P_TEXT(text);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s(?,?,?,?,?,?,?,?,?,?,?)", i ? "," : "");
    }
    return store_sql_exec(c, sql, p, n * COLS, NULL, err, errlen);
}

static int insert_rows(struct store_conn *c, const char *table, const struct rollup_rows *r, char *texts, char *err,
                       size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n; i += ROWS_PER_INSERT) {
        size_t k = r->n - i < ROWS_PER_INSERT ? r->n - i : ROWS_PER_INSERT;
        rc = insert_chunk(c, table, r->v + i, k, texts, err, errlen);
    }
    return rc;
}

int rollup_db_write(struct store_conn *c, struct rollup_acc *acc, const char *meta_key, int64_t value, char *err,
                    size_t errlen)
{
    char *texts = NULL;
    if (acc->minutes.n || acc->hours.n) {
        texts = base_malloc((size_t)ROWS_PER_INSERT * SKETCH_TEXT_MAX);
        if (!texts) {
            snprintf(err, errlen, "rollups: out of memory");
            return BASE_ERR_NOMEM;
        }
    }
    int rc = store_sql_begin(c, err, errlen);
    if (rc == 0)
        rc = insert_rows(c, "rollup_minutes", &acc->minutes, texts, err, errlen);
    if (rc == 0)
        rc = insert_rows(c, "rollup_hours", &acc->hours, texts, err, errlen);
    bool clean = strcmp(meta_key, ROLLUP_META_CLOSED) == 0;
    if (rc == 0)
        rc = meta_set(c, clean ? "rollup_through" : meta_key, value, err, errlen);
    if (rc == 0 && clean)
        rc = meta_set(c, "rollup_clean", 1, err, errlen);
    rc = store_sql_end(c, rc, err, errlen);
    base_free(texts);
    if (rc == 0) {
        rollup_rows_clear(&acc->minutes);
        rollup_rows_clear(&acc->hours);
    }
    return rc;
}

int rollup_db_reconcile(struct store_conn *c, int64_t start_ms, char *err, size_t errlen)
{
    int64_t through = 0, from = 0, to = 0, clean = 0;
    bool has_through = false, has_from = false, has_to = false, has_clean = false;
    int rc = store_sql_begin(c, err, errlen);
    if (rc == 0)
        rc = meta_get(c, "rollup_through", &through, &has_through, err, errlen);
    if (rc == 0)
        rc = meta_get(c, "rollup_rebuild_from", &from, &has_from, err, errlen);
    if (rc == 0)
        rc = meta_get(c, "rollup_rebuild_to", &to, &has_to, err, errlen);
    if (rc == 0)
        rc = meta_get(c, "rollup_clean", &clean, &has_clean, err, errlen);
    if (rc)
        return store_sql_end(c, rc, err, errlen);
    /* After a clean close every stored sample is in a written row: rows
     * start before `through` and hold nothing after it. Otherwise an hour
     * row written before the point may hold samples after it, so the
     * rebuild starts at the point's hour. */
    int64_t point = !has_through ? start_ms : has_clean && clean ? through : floor_hour(through);
    if (has_from && has_to && from < to && floor_hour(from) < point)
        point = floor_hour(from);
    if (point < start_ms) {
        struct store_param p[] = {STORE_P_INT(point)};
        rc = store_sql_exec(c, "DELETE FROM rollup_minutes WHERE bucket >= ?", p, 1, NULL, err, errlen);
        if (rc == 0)
            rc = store_sql_exec(c, "DELETE FROM rollup_hours WHERE bucket >= ?", p, 1, NULL, err, errlen);
        /* no sample in the range (a clean restart, a new database): nothing
         * to rebuild, and no answer needs to say "partial" */
        struct store_param q[] = {STORE_P_INT(point), STORE_P_INT(start_ms)};
        struct store_result r = {0};
        if (rc == 0)
            rc = store_sql_exec(c, "SELECT ts FROM samples WHERE ts >= ? AND ts < ? LIMIT 1", q, 2, &r, err, errlen);
        bool any = rc == 0 && r.rows > 0;
        store_result_free(&r);
        if (rc == 0)
            rc = meta_set(c, "rollup_rebuild_from", any ? point : start_ms, err, errlen);
        if (rc == 0)
            rc = meta_set(c, "rollup_rebuild_to", start_ms, err, errlen);
    }
    if (rc == 0)
        rc = meta_set(c, "rollup_through", start_ms, err, errlen);
    if (rc == 0)
        rc = meta_set(c, "rollup_clean", 0, err, errlen);
    return store_sql_end(c, rc, err, errlen);
}

void rollup_rebuild_init(struct rollup_rebuild *r)
{
    memset(r, 0, sizeof(*r));
    rollup_acc_init(&r->acc);
    r->slice_ms = 60000;
}

void rollup_rebuild_free(struct rollup_rebuild *r)
{
    rollup_acc_free(&r->acc);
    memset(r, 0, sizeof(*r));
}

int rollup_db_rebuild_load(struct store_conn *c, struct rollup_rebuild *r, char *err, size_t errlen)
{
    bool has_from = false, has_to = false;
    int rc = meta_get(c, "rollup_rebuild_from", &r->from_ms, &has_from, err, errlen);
    if (rc == 0)
        rc = meta_get(c, "rollup_rebuild_to", &r->to_ms, &has_to, err, errlen);
    if (rc)
        return rc;
    r->loaded = true;
    r->active = has_from && has_to && r->from_ms < r->to_ms;
    r->cursor_ms = r->from_ms;
    if (r->active)
        base_log_info("rebuilding rollups from the stored samples", BASE_LOG_INT("from_ms", r->from_ms),
                      BASE_LOG_INT("to_ms", r->to_ms));
    return 0;
}

int rollup_db_rebuild_step(struct store_conn *c, struct rollup_rebuild *r, bool *more, char *err, size_t errlen)
{
    *more = false;
    int rc = r->loaded ? 0 : rollup_db_rebuild_load(c, r, err, errlen);
    if (rc || !r->active)
        return rc;
    int64_t end = r->cursor_ms + r->slice_ms < r->to_ms ? r->cursor_ms + r->slice_ms : r->to_ms;
    struct store_param p[] = {STORE_P_INT(r->cursor_ms), STORE_P_INT(end)};
    struct store_result res = {0};
    rc = store_sql_exec(c, "SELECT check_id, ts, result, latency_ms FROM samples WHERE ts >= ? AND ts < ?"
                           " ORDER BY ts", p, 2, &res, err, errlen);
    if (rc == BASE_ERR_TOO_BIG && r->slice_ms > REBUILD_SLICE_MIN_MS) {
        store_result_free(&res);
        r->slice_ms /= 2;
        *more = true;
        return 0;
    }
    if (rc) {
        store_result_free(&res);
        return rc;
    }
    for (size_t i = 0; i < res.rows; i++) {
        const char *id = store_result_text(&res, i, 0);
        int64_t result = store_result_int(&res, i, 2);
        if (id && *id && strlen(id) < SAMPLE_CHECK_ID_MAX)
            rollup_acc_add(&r->acc, id, store_result_int(&res, i, 1),
                           result == SAMPLE_DOWN ? SAMPLE_DOWN : result == SAMPLE_DEGRADED ? SAMPLE_DEGRADED : SAMPLE_UP,
                           store_result_real(&res, i, 3));
    }
    size_t rows = res.rows;
    store_result_free(&res);
    r->cursor_ms = end;
    bool done = end >= r->to_ms;
    rollup_acc_sweep(&r->acc, end + ROLLUP_GRACE_MS, done);
    int64_t open = rollup_acc_earliest(&r->acc);
    rc = rollup_db_write(c, &r->acc, "rollup_rebuild_from", done ? r->to_ms : open < end ? open : end, err, errlen);
    if (rc)
        return rc;
    if (rows < REBUILD_ROWS_LOW && r->slice_ms < REBUILD_SLICE_MAX_MS)
        r->slice_ms *= 2;
    else if (rows > STORE_SQL_MAX_ROWS / 2 && r->slice_ms > REBUILD_SLICE_MIN_MS)
        r->slice_ms /= 2;
    if (done) {
        r->active = false;
        base_log_info("rebuilt rollups from the stored samples", BASE_LOG_INT("to_ms", r->to_ms));
    }
    *more = !done;
    return 0;
}

static int purge_one(struct store_conn *c, const char *table, int64_t before, size_t max_rows, uint64_t *deleted,
                     char *err, size_t errlen)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             store_sql_dialect(c) == STORE_SQL_POSTGRES
                 ? "DELETE FROM %s WHERE ctid IN (SELECT ctid FROM %s WHERE bucket < ? LIMIT ?)"
                 : "DELETE FROM %s WHERE rowid IN (SELECT rowid FROM %s WHERE bucket < ? LIMIT ?)",
             table, table);
    struct store_param p[] = {STORE_P_INT(before), STORE_P_INT(max_rows)};
    struct store_result r = {0};
    int rc = store_sql_exec(c, sql, p, 2, &r, err, errlen);
    *deleted += rc == 0 && r.changes > 0 ? (uint64_t)r.changes : 0;
    store_result_free(&r);
    return rc;
}

int rollup_db_purge(struct store_conn *c, int64_t minutes_before_ms, int64_t hours_before_ms, size_t max_rows,
                    uint64_t *deleted, char *err, size_t errlen)
{
    *deleted = 0;
    int rc = minutes_before_ms ? purge_one(c, "rollup_minutes", minutes_before_ms, max_rows, deleted, err, errlen) : 0;
    if (rc == 0 && hours_before_ms)
        rc = purge_one(c, "rollup_hours", hours_before_ms, max_rows, deleted, err, errlen);
    return rc;
}
