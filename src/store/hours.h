/*
 * store/hours: reading the hourly rollups (store/rollup.h) as (check,
 * hour, up, total) pages, so a restarted daemon gets its checks' uptime
 * over the last day back without scanning a day of samples. Blocking functions over a store_conn: the
 * daemon runs them on the store thread (store_call). Results are bounded
 * pages (keyset order), never the whole table at once.
 */
#ifndef STORE_HOURS_H
#define STORE_HOURS_H

#include "model/sample.h"
#include "store/sql.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_HOURS_PAGE_MAX 20000

/* Hourly (check, up, total) with from_hour <= hour < to_hour that come
 * after (after_hour, after_check) in (hour, check) order (start with
 * after_hour = from_hour - 1), at most limit (1 .. STORE_HOURS_PAGE_MAX).
 * *rows is base_malloc'd (caller frees), *n rows. */
int store_hours_page(struct store_conn *c, int64_t from_hour, int64_t to_hour, const char *after_check,
                     int64_t after_hour, size_t limit, struct sample_hours_row **rows, size_t *n, char *err,
                     size_t errlen);
/* Counts from the samples themselves for from_ms <= ts < to_ms (what the
 * rollups do not hold yet), per (check, hour) after (after_check,
 * after_hour), at most limit, in (check, hour) order. */
int store_hours_raw_page(struct store_conn *c, int64_t from_ms, int64_t to_ms, const char *after_check,
                         int64_t after_hour, size_t limit, struct sample_hours_row **rows, size_t *n, char *err,
                         size_t errlen);
/* The hour from which on the rollups may miss samples (unix ms, a whole
 * hour): before it they hold every sample stored; from it on read the
 * samples (store_hours_raw_page). -1 when the database says nothing. */
int store_hours_through(struct store_conn *c, int64_t *through_ms, char *err, size_t errlen);
#endif
