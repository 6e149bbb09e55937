/*
 * store/rollup_query: uptime over a window and latency per step, answered
 * on the store thread from the rollup tables plus what the store thread
 * still holds (store_rollup_env), then handed to the loop.
 */
#include "store/rollup_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"

#include <math.h>
#include <string.h>

struct query {
    struct store *st;
    char check_id[SAMPLE_CHECK_ID_MAX];
    int64_t from_ms, to_ms, step_ms;
    bool latency, partial;
    store_uptime_cb uptime_cb;
    store_latency_cb latency_cb;
    void *data;
    struct store_uptime_result uptime;
    struct rollup_agg sum;        /* uptime */
    struct rollup_agg *points;    /* latency: one per step */
    size_t n;
};

static int64_t floor_to(int64_t ts, int64_t unit)
{
    int64_t q = ts / unit;
    if (ts % unit < 0)
        q--;
    return q * unit;
}

static void on_visit_sum(void *data, const struct rollup_agg *a)
{
    struct query *q = data;
    rollup_agg_merge(&q->sum, a); /* a sketch that misses memory only loses percentiles uptime does not show */
}

/* Sums of [from, to) of one table into q->sum, then the live part. */
static int sum_range(struct store_conn *c, struct query *q, const struct rollup_query_env *env, bool hours,
                     int64_t from, int64_t to, char *err, size_t errlen)
{
    if (from >= to)
        return 0;
    struct store_param p[] = {STORE_P_TEXT(q->check_id), STORE_P_INT(from), STORE_P_INT(to)};
    struct store_result r = {0};
    int rc = store_sql_exec(c, hours ? "SELECT SUM(total), SUM(up), SUM(degraded), SUM(down), SUM(lat_n), SUM(lat_sum),"
                                       " MIN(CASE WHEN lat_n > 0 THEN lat_min END),"
                                       " MAX(CASE WHEN lat_n > 0 THEN lat_max END)"
                                       " FROM rollup_hours WHERE check_id = ? AND bucket >= ? AND bucket < ?"
                                     : "SELECT SUM(total), SUM(up), SUM(degraded), SUM(down), SUM(lat_n), SUM(lat_sum),"
                                       " MIN(CASE WHEN lat_n > 0 THEN lat_min END),"
                                       " MAX(CASE WHEN lat_n > 0 THEN lat_max END)"
                                       " FROM rollup_minutes WHERE check_id = ? AND bucket >= ? AND bucket < ?",
                            p, 3, &r, err, errlen);
    if (rc == 0 && r.rows && !store_result_is_null(&r, 0, 0)) {
        struct rollup_agg a;
        rollup_agg_init(&a, from);
        int64_t v[5];
        for (int i = 0; i < 5; i++) {
            v[i] = store_result_int(&r, 0, (size_t)i);
            if (v[i] < 0)
                v[i] = 0;
            if (v[i] > UINT32_MAX)
                v[i] = UINT32_MAX;
        }
        a.total = (uint32_t)v[0];
        a.up = (uint32_t)v[1];
        a.degraded = (uint32_t)v[2];
        a.down = (uint32_t)v[3];
        a.lat_n = (uint32_t)v[4];
        a.lat_sum = store_result_real(&r, 0, 5);
        a.lat_min = store_result_real(&r, 0, 6);
        a.lat_max = store_result_real(&r, 0, 7);
        rollup_agg_merge(&q->sum, &a);
    }
    store_result_free(&r);
    if (rc == 0 && env->live)
        rollup_acc_visit(env->live, q->check_id, hours, from, to, on_visit_sum, q);
    return rc;
}

static bool overlaps_rebuild(const struct rollup_query_env *env, int64_t from, int64_t to)
{
    return env->rebuild_from_ms < env->rebuild_to_ms && from < env->rebuild_to_ms && to > env->rebuild_from_ms;
}

static int uptime_work(struct store_conn *c, struct query *q, const struct rollup_query_env *env, char *err,
                       size_t errlen)
{
    int64_t from = floor_to(q->from_ms, STORE_ROLLUP_MINUTE_MS), to = q->to_ms;
    /* past the minutes' retention only hours are left */
    if (env->minutes_kept_ms > 0 && from < base_time_now_ms() - env->minutes_kept_ms)
        from = floor_to(from, STORE_ROLLUP_HOUR_MS);
    int64_t h0 = -floor_to(-from, STORE_ROLLUP_HOUR_MS), h1 = floor_to(to, STORE_ROLLUP_HOUR_MS);
    int rc;
    if (h0 >= h1) {
        rc = sum_range(c, q, env, false, from, to, err, errlen);
    } else {
        rc = sum_range(c, q, env, false, from, h0, err, errlen);
        if (rc == 0)
            rc = sum_range(c, q, env, true, h0, h1, err, errlen);
        if (rc == 0)
            rc = sum_range(c, q, env, false, h1, to, err, errlen);
    }
    q->uptime.from_ms = from;
    q->uptime.to_ms = to;
    rollup_agg_summary(&q->sum, &q->uptime.s);
    q->uptime.s.p50 = q->uptime.s.p95 = q->uptime.s.p99 = 0;
    q->uptime.partial = overlaps_rebuild(env, from, to);
    return rc;
}

static void on_visit_point(void *data, const struct rollup_agg *a)
{
    struct query *q = data;
    int64_t i = (a->start_ms - q->from_ms) / q->step_ms;
    if (a->start_ms >= q->from_ms && i >= 0 && (size_t)i < q->n)
        rollup_agg_merge(&q->points[i], a);
}

static int latency_work(struct store_conn *c, struct query *q, const struct rollup_query_env *env, char *err,
                        size_t errlen)
{
    bool hours = q->step_ms % STORE_ROLLUP_HOUR_MS == 0 && q->from_ms % STORE_ROLLUP_HOUR_MS == 0;
    struct store_param p[] = {STORE_P_TEXT(q->check_id), STORE_P_INT(q->from_ms), STORE_P_INT(q->to_ms)};
    struct store_result r = {0};
    int rc = store_sql_exec(c, hours ? "SELECT bucket, total, up, degraded, down, lat_n, lat_sum, lat_min, lat_max, sketch"
                                       " FROM rollup_hours WHERE check_id = ? AND bucket >= ? AND bucket < ?"
                                     : "SELECT bucket, total, up, degraded, down, lat_n, lat_sum, lat_min, lat_max, sketch"
                                       " FROM rollup_minutes WHERE check_id = ? AND bucket >= ? AND bucket < ?",
                            p, 3, &r, err, errlen);
    struct rollup_agg a;
    rollup_agg_init(&a, 0);
    for (size_t i = 0; rc == 0 && i < r.rows; i++) {
        a.start_ms = store_result_int(&r, i, 0);
        int64_t v[5];
        for (int k = 0; k < 5; k++) {
            v[k] = store_result_int(&r, i, (size_t)k + 1);
            v[k] = v[k] < 0 ? 0 : v[k] > UINT32_MAX ? UINT32_MAX : v[k];
        }
        a.total = (uint32_t)v[0];
        a.up = (uint32_t)v[1];
        a.degraded = (uint32_t)v[2];
        a.down = (uint32_t)v[3];
        a.lat_n = (uint32_t)v[4];
        a.lat_sum = store_result_real(&r, i, 6);
        a.lat_min = store_result_real(&r, i, 7);
        a.lat_max = store_result_real(&r, i, 8);
        const char *text = store_result_text(&r, i, 9);
        if (!text || sketch_parse(&a.sk, text, strlen(text)) != 0)
            sketch_clear(&a.sk); /* counts still count; a damaged sketch gives no percentiles */
        on_visit_point(q, &a);
    }
    rollup_agg_free(&a);
    store_result_free(&r);
    if (rc == 0 && env->live)
        rollup_acc_visit(env->live, q->check_id, hours, q->from_ms, q->to_ms, on_visit_point, q);
    q->partial = overlaps_rebuild(env, q->from_ms, q->to_ms);
    return rc;
}

static int query_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct query *q = data;
    struct rollup_query_env env;
    store_rollup_env(q->st, &env);
    return q->latency ? latency_work(c, q, &env, err, errlen) : uptime_work(c, q, &env, err, errlen);
}

static void query_free(struct query *q)
{
    rollup_agg_free(&q->sum);
    for (size_t i = 0; q->points && i < q->n; i++)
        rollup_agg_free(&q->points[i]);
    base_free(q->points);
    base_free(q);
}

static void query_done(void *data, int status, const char *errmsg)
{
    struct query *q = data;
    if (!q->latency) {
        q->uptime_cb(q->data, status, status ? NULL : &q->uptime);
    } else {
        static const struct store_latency_point none;
        struct store_latency_point *pts = status ? NULL : base_calloc(q->n ? q->n : 1, sizeof(*pts));
        if (!status && !pts)
            status = BASE_ERR_NOMEM;
        for (size_t i = 0; pts && i < q->n; i++) {
            pts[i].ts_ms = q->from_ms + (int64_t)i * q->step_ms;
            rollup_agg_summary(&q->points[i], &pts[i].s);
        }
        q->latency_cb(q->data, status, pts ? pts : &none, pts ? q->n : 0, q->partial);
        base_free(pts);
    }
    query_free(q);
}

static struct query *query_new(const char *check_id, int64_t from_ms, int64_t to_ms, void *data)
{
    if (!check_id || !*check_id || strlen(check_id) >= SAMPLE_CHECK_ID_MAX || from_ms >= to_ms)
        return NULL;
    struct query *q = base_calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    snprintf(q->check_id, sizeof(q->check_id), "%s", check_id);
    q->from_ms = from_ms;
    q->to_ms = to_ms;
    q->data = data;
    rollup_agg_init(&q->sum, from_ms);
    return q;
}

int store_uptime_query(struct store *st, const char *check_id, int64_t from_ms, int64_t to_ms, store_uptime_cb cb,
                       void *data)
{
    if (!st || !cb || !check_id || !*check_id || strlen(check_id) >= SAMPLE_CHECK_ID_MAX || from_ms >= to_ms)
        return BASE_ERR_INVALID;
    struct query *q = query_new(check_id, from_ms, to_ms, data);
    if (!q)
        return BASE_ERR_NOMEM;
    q->st = st;
    q->uptime_cb = cb;
    int rc = store_call(st, query_work, query_done, q);
    if (rc)
        query_free(q);
    return rc;
}

int store_latency_query(struct store *st, const char *check_id, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                        store_latency_cb cb, void *data)
{
    if (!st || !cb || !check_id || !*check_id || strlen(check_id) >= SAMPLE_CHECK_ID_MAX || from_ms >= to_ms ||
        step_ms < STORE_ROLLUP_MINUTE_MS || step_ms % STORE_ROLLUP_MINUTE_MS != 0)
        return BASE_ERR_INVALID;
    int64_t unit = step_ms % STORE_ROLLUP_HOUR_MS == 0 ? STORE_ROLLUP_HOUR_MS : STORE_ROLLUP_MINUTE_MS;
    from_ms = floor_to(from_ms, unit);
    int64_t span = to_ms - from_ms;
    if (span / step_ms + (span % step_ms != 0) > STORE_LATENCY_POINTS_MAX)
        return BASE_ERR_INVALID;
    struct query *q = query_new(check_id, from_ms, to_ms, data);
    if (!q)
        return BASE_ERR_NOMEM;
    q->st = st;
    q->latency = true;
    q->latency_cb = cb;
    q->step_ms = step_ms;
    q->n = (size_t)(span / step_ms + (span % step_ms != 0));
    q->points = base_calloc(q->n, sizeof(*q->points));
    if (!q->points) {
        query_free(q);
        return BASE_ERR_NOMEM;
    }
    for (size_t i = 0; i < q->n; i++)
        rollup_agg_init(&q->points[i], from_ms + (int64_t)i * step_ms);
    int rc = store_call(st, query_work, query_done, q);
    if (rc)
        query_free(q);
    return rc;
}
