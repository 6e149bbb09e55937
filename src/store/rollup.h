/*
 * store/rollup: every check's samples summed per minute and per hour
 * (tables rollup_minutes and rollup_hours: count, up, degraded, down, and
 * latency count/sum/min/max plus a model/sketch for percentiles), kept
 * 30 and 400 days by default while raw samples go after 7, and the two
 * questions asked of them: uptime over a window and latency per step.
 *
 * Rows are written by the store thread as buckets close (a later sample
 * of the same check, or the bucket's end plus a grace period), so a
 * bucket is normally one row; a bucket may also be several partial rows
 * (a shutdown in the middle of it, a sample arriving after its bucket was
 * written) and readers always merge rows with the same key. What the
 * store thread still holds in memory is part of every answer.
 *
 * Rollups are rebuilt from the raw samples when they are missing: after
 * an upgrade from a database without them, and after a crash (rows from
 * meta.rollup_through on are deleted and made again from the samples).
 */
#ifndef STORE_ROLLUP_H
#define STORE_ROLLUP_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ROLLUP_MINUTE_MS 60000
#define STORE_ROLLUP_HOUR_MS 3600000
/* Steps per latency query. */
#define STORE_LATENCY_POINTS_MAX 2000

/* Counts and latency over a span; latency figures are ms over the samples
 * that were not down (a down sample's time is a timeout or a refusal,
 * not how fast the service answers). */
struct store_rollup_summary {
    uint64_t total, up, degraded, down;
    uint64_t latency_count;
    double latency_min, latency_avg, latency_max;
    double p50, p95, p99;     /* only in latency points */
};

struct store_uptime_result {
    int64_t from_ms, to_ms;
    struct store_rollup_summary s;
    /* Rollups of part of the window were still being rebuilt from the
     * samples (after an upgrade or a crash): the figures may be low. */
    bool partial;
};

struct store_latency_point {
    int64_t ts_ms;            /* the step's start */
    struct store_rollup_summary s;
};

typedef void (*store_uptime_cb)(void *data, int status, const struct store_uptime_result *r);
/* points is never NULL (n may be 0); valid during the call. */
typedef void (*store_latency_cb)(void *data, int status, const struct store_latency_point *points, size_t n,
                                 bool partial);

/* Uptime of check_id over [from_ms, to_ms): whole hours from the hourly
 * rollups, the edges from the minutes (where they are still kept), and
 * what the store thread holds. cb runs on the loop. 0, BASE_ERR_INVALID
 * (bad id, from >= to, NULL cb), BASE_ERR_CANCELED after store_close,
 * BASE_ERR_NOMEM. */
int store_uptime_query(struct store *st, const char *check_id, int64_t from_ms, int64_t to_ms, store_uptime_cb cb,
                       void *data);
/* Latency and counts of check_id per step over [from_ms, to_ms): step is
 * a whole number of minutes (from minute rollups) or of hours (from hour
 * rollups), and (to - from) / step at most STORE_LATENCY_POINTS_MAX. Every
 * step is a point, empty ones with counts of 0. Errors as above. */
int store_latency_query(struct store *st, const char *check_id, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                        store_latency_cb cb, void *data);

#endif
