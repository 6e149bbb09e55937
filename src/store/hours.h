/*
 * store/hours: reading and trimming the hourly rollups of the samples
 * (table sample_hours, written with every batch: see store_int.h), so a
 * restarted daemon gets its checks' uptime over the last day back without
 * scanning a day of samples. Blocking functions over a store_conn: the
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

/* Rollup rows with from_hour <= hour < to_hour that come after
 * (after_check, after_hour) in (check, hour) order, at most limit (1 ..
 * STORE_HOURS_PAGE_MAX). *rows is base_malloc'd (caller frees), *n rows. */
int store_hours_page(struct store_conn *c, int64_t from_hour, int64_t to_hour, const char *after_check,
                     int64_t after_hour, size_t limit, struct sample_hours_row **rows, size_t *n, char *err,
                     size_t errlen);
/* Counts from the samples themselves for from_ms <= ts < to_ms (part of an
 * hour), per check after after_check, at most limit; every row's hour is
 * from_ms's. */
int store_hours_raw_page(struct store_conn *c, int64_t from_ms, int64_t to_ms, const char *after_check,
                         size_t limit, struct sample_hours_row **rows, size_t *n, char *err, size_t errlen);
/* Deletes at most max_rows rollups with hour < before_hour; *deleted. */
int store_hours_purge(struct store_conn *c, int64_t before_hour, size_t max_rows, uint64_t *deleted, char *err,
                      size_t errlen);

#endif
