/*
 * store/hours: the hourly uptime pages a restart reads, dialect-neutral
 * through store/sql.
 */
#include "store/hours.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdio.h>
#include <string.h>

static int to_rows(const struct store_result *r, bool with_hour, int64_t hour, struct sample_hours_row **rows,
                   size_t *n)
{
    *rows = NULL;
    *n = 0;
    if (!r->rows)
        return 0;
    struct sample_hours_row *out = base_calloc(r->rows, sizeof(*out));
    if (!out)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < r->rows; i++) {
        size_t col = 0;
        snprintf(out[i].check_id, sizeof(out[i].check_id), "%s", store_result_text(r, i, col++));
        out[i].hour = with_hour ? store_result_int(r, i, col++) : hour;
        int64_t up = store_result_int(r, i, col++), total = store_result_int(r, i, col++);
        out[i].up = up < 0 ? 0 : up > UINT32_MAX ? UINT32_MAX : (uint32_t)up;
        out[i].total = total < 0 ? 0 : total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    }
    *rows = out;
    *n = r->rows;
    return 0;
}

static size_t clamp_limit(size_t limit)
{
    return limit < 1 ? 1 : limit > STORE_HOURS_PAGE_MAX ? STORE_HOURS_PAGE_MAX : limit;
}

int store_hours_page(struct store_conn *c, int64_t from_hour, int64_t to_hour, const char *after_check,
                     int64_t after_hour, size_t limit, struct sample_hours_row **rows, size_t *n, char *err,
                     size_t errlen)
{
    const char *after = after_check ? after_check : "";
    struct store_result r = {0};
    int64_t h = 3600000;
    /* the keyset start: just before from_hour, or after the last row */
    int64_t start = after_hour * h;
    if (start < from_hour * h) {
        start = from_hour * h - 1;
        after = "";
    }
    struct store_param q[] = {STORE_P_INT(start), STORE_P_TEXT(after), STORE_P_INT(to_hour * h),
                              STORE_P_INT(clamp_limit(limit))};
    /* Partial rows of one hour are summed into one. Pages go hour by hour
     * through the (bucket, check_id) index, starting where the last page
     * ended (a row-value comparison, which both databases turn into an
     * index seek), so each page reads its own rows whatever the table
     * holds; hour rows start on the hour, so grouping by bucket is grouping
     * by hour. */
    int rc = store_sql_exec(c, "SELECT check_id, bucket / 3600000, SUM(up + degraded), SUM(total)"
                               " FROM rollup_hours WHERE (bucket, check_id) > (?, ?) AND bucket < ?"
                               " GROUP BY bucket, check_id ORDER BY bucket, check_id LIMIT ?", q, 4, &r, err,
                            errlen);
    if (rc == 0)
        rc = to_rows(&r, true, 0, rows, n);
    store_result_free(&r);
    return rc;
}

int store_hours_raw_page(struct store_conn *c, int64_t from_ms, int64_t to_ms, const char *after_check,
                         int64_t after_hour, size_t limit, struct sample_hours_row **rows, size_t *n, char *err,
                         size_t errlen)
{
    const char *after = after_check ? after_check : "";
    /* keyset on (check, hour): later hours of after_check start at (after_hour + 1) * 1h */
    int64_t next_ms = (after_hour + 1) * 3600000;
    struct store_param p[] = {STORE_P_INT(from_ms), STORE_P_INT(to_ms), STORE_P_TEXT(after), STORE_P_TEXT(after),
                              STORE_P_INT(next_ms), STORE_P_INT(clamp_limit(limit))};
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT check_id, ts / 3600000 AS h, SUM(CASE WHEN result <> 2 THEN 1 ELSE 0 END),"
                               " COUNT(*) FROM samples WHERE ts >= ? AND ts < ?"
                               " AND (check_id > ? OR (check_id = ? AND ts >= ?))"
                               " GROUP BY check_id, ts / 3600000 ORDER BY check_id, h LIMIT ?", p, 6, &r, err, errlen);
    if (rc == 0)
        rc = to_rows(&r, true, 0, rows, n);
    store_result_free(&r);
    return rc;
}

int store_hours_through(struct store_conn *c, int64_t *through_ms, char *err, size_t errlen)
{
    /* the rollups are complete before rollup_through and, while a rebuild
     * is pending, before its cursor; readers take the hour it falls in
     * from the samples */
    struct store_result r = {0};
    *through_ms = -1;
    int rc = store_sql_exec(c, "SELECT key, value FROM meta WHERE key IN ('rollup_through', 'rollup_rebuild_from',"
                               " 'rollup_rebuild_to')", NULL, 0, &r, err, errlen);
    int64_t through = -1, from = 0, to = 0;
    for (size_t i = 0; rc == 0 && i < r.rows; i++) {
        const char *k = store_result_text(&r, i, 0);
        int64_t v = store_result_int(&r, i, 1);
        if (k && strcmp(k, "rollup_through") == 0)
            through = v;
        else if (k && strcmp(k, "rollup_rebuild_from") == 0)
            from = v;
        else if (k && strcmp(k, "rollup_rebuild_to") == 0)
            to = v;
    }
    store_result_free(&r);
    if (rc == 0 && through >= 0) {
        if (from < to && from < through)
            through = from;
        *through_ms = through / 3600000 * 3600000;
    }
    return rc;
}
