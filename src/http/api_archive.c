/*
 * http/api_archive: the series of checks older than the series window,
 * rebuilt from the store's rollups for one query of the Prometheus API
 * (api_query.c) that reads that far back. For every running check, one
 * latency query over [from, the window's start) per minute (when at most
 * STORE_LATENCY_POINTS_MAX minutes; the minute rollups are kept 30 days by
 * default) or per hour, and per step with samples:
 *   probe_success          (up + degraded) / total: the step's share of
 *                          samples that were not down,
 *   probe_duration_seconds the step's average latency of those samples,
 * at the step's end, with the labels check, project and type. The result
 * is a series_db of its own (promql_opts.archive), freed after the query.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "objects/confs.h"
#include "series/series.h"
#include "store/rollup.h"

#include <stdio.h>
#include <string.h>

struct archive_job {
    struct series_db *db;
    size_t waiting;
    bool failed;
    api_archive_cb cb;
    void *data;
};

struct archive_check {
    struct archive_job *job;
    int64_t step_ms;
    char id[SAMPLE_CHECK_ID_MAX];
    char project[128];
    char type[64];
};

static void job_done_one(struct archive_job *j)
{
    if (--j->waiting)
        return;
    j->cb(j->data, j->failed ? NULL : j->db);
    if (j->failed)
        series_db_destroy(j->db);
    base_free(j);
}

static void on_points(void *data, int status, const struct store_latency_point *pts, size_t n, bool partial)
{
    struct archive_check *c = data;
    struct archive_job *j = c->job;
    (void)partial;
    if (status != 0) {
        j->failed = true;
    } else {
        struct series_label ok[] = {{"__name__", "probe_success"}, {"check", c->id}, {"project", c->project},
                                    {"type", c->type}};
        struct series_label dur[] = {{"__name__", "probe_duration_seconds"}, {"check", c->id},
                                     {"project", c->project}, {"type", c->type}};
        size_t nl = c->project[0] ? 4 : 3;
        if (!c->project[0]) {   /* no project: no label (an empty label is no label) */
            ok[2] = ok[3];
            dur[2] = dur[3];
        }
        for (size_t i = 0; i < n; i++) {
            const struct store_rollup_summary *s = &pts[i].s;
            if (!s->total)
                continue;
            int64_t t = pts[i].ts_ms + c->step_ms - 1;
            series_db_append(j->db, ok, nl, t, (double)(s->up + s->degraded) / (double)s->total);
            if (s->latency_count)
                series_db_append(j->db, dur, nl, t, s->latency_avg / 1000);
        }
    }
    base_free(c);
    job_done_one(j);
}

int api_archive_build(struct http_api *api, int64_t from_ms, int64_t to_ms, api_archive_cb cb, void *data)
{
    const struct conf *conf = api->deps.confs && *api->deps.confs ? objects_confs_run(*api->deps.confs) : NULL;
    if (!conf || !api->deps.store || to_ms <= from_ms)
        return BASE_ERR_NOT_FOUND;
    if (conf->n_checks > API_ARCHIVE_CHECKS_MAX)
        return BASE_ERR_TOO_BIG;
    int64_t step = STORE_ROLLUP_MINUTE_MS;
    if ((to_ms - from_ms) / step >= STORE_LATENCY_POINTS_MAX)
        step = STORE_ROLLUP_HOUR_MS;
    from_ms = from_ms / step * step;
    to_ms = (to_ms + step - 1) / step * step;
    if ((to_ms - from_ms) / step > STORE_LATENCY_POINTS_MAX)
        from_ms = to_ms - STORE_LATENCY_POINTS_MAX * step;   /* older than that is not answered */
    struct archive_job *j = base_calloc(1, sizeof(*j));
    /* no window and no limits of its own beyond the query's size */
    struct series_limits lim = {INT64_MAX / 4, conf->n_checks * 2 + 1, 1024u * 1024 * 1024};
    if (!j || !(j->db = series_db_new(&lim))) {
        base_free(j);
        return BASE_ERR_NOMEM;
    }
    j->cb = cb;
    j->data = data;
    j->waiting = 1;   /* held until every query is queued */
    for (size_t i = 0; i < conf->n_checks; i++) {
        const struct conf_check *cc = &conf->checks[i];
        struct archive_check *c = base_calloc(1, sizeof(*c));
        if (!c) {
            j->failed = true;
            break;
        }
        c->job = j;
        c->step_ms = step;
        snprintf(c->id, sizeof(c->id), "%s", cc->id);
        snprintf(c->project, sizeof(c->project), "%s", cc->project ? cc->project : "");
        snprintf(c->type, sizeof(c->type), "%s", cc->type->name);
        j->waiting++;
        if (store_latency_query(api->deps.store, c->id, from_ms, to_ms, step, on_points, c) != 0) {
            j->waiting--;
            j->failed = true;
            base_free(c);
            break;
        }
    }
    job_done_one(j);
    return 0;
}
