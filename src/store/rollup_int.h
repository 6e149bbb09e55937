/*
 * store/rollup_int: what the rollup files of src/store share with store.c
 * (no other folder includes it; tests/store may). The accumulator
 * (rollup.c) sums samples into each check's open minute and hour and
 * collects the buckets that closed; rollup_db.c writes them, reconciles
 * the tables at start, rebuilds from raw samples and purges; rollup_query.c
 * answers the API. All of it runs on the store thread.
 */
#ifndef STORE_ROLLUP_INT_H
#define STORE_ROLLUP_INT_H

#include "base/map.h"
#include "model/sample.h"
#include "model/sketch.h"
#include "store/rollup.h"
#include "store/sql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bucket closes this long after its end when no later sample of its
 * check came first (a run's sample is dated at its start and reaches the
 * store after the run and a flush). */
#define ROLLUP_GRACE_MS (2 * 60 * 1000)
/* Closed rows waiting to be written; past it minute rows are dropped
 * (counted), hour rows are always kept. */
#define ROLLUP_PENDING_MAX 400000
/* The crash margin: meta.rollup_through never passes now minus this, so a
 * sample stored late (dated before a bucket that was already written)
 * is rebuilt after a crash instead of lost. */
#define ROLLUP_LATE_MS (15 * 60 * 1000)

/* The sums of one bucket (no key). */
struct rollup_agg {
    int64_t start_ms;
    uint32_t total, up, degraded, down, lat_n;
    double lat_sum, lat_min, lat_max;
    struct sketch sk;
};

/* A closed bucket of one check, waiting to be written. */
struct rollup_row {
    char check_id[SAMPLE_CHECK_ID_MAX];
    struct rollup_agg a;
};

struct rollup_rows {
    struct rollup_row *v;
    size_t n, cap;
};

struct rollup_acc {
    struct base_map open;          /* check id -> struct rollup_open */
    struct rollup_rows minutes, hours;
    uint64_t dropped;              /* rows lost to memory or the pending cap */
};

void rollup_agg_init(struct rollup_agg *a, int64_t start_ms);
void rollup_agg_free(struct rollup_agg *a);
/* Adds one sample; 0 or BASE_ERR_NOMEM (counts kept, the sketch misses it). */
int rollup_agg_add(struct rollup_agg *a, enum sample_result result, double latency_ms);
/* Adds `from` into a (counts, extremes, sketch). */
int rollup_agg_merge(struct rollup_agg *a, const struct rollup_agg *from);
/* The figures of a as a summary (percentiles from its sketch). */
void rollup_agg_summary(const struct rollup_agg *a, struct store_rollup_summary *out);

void rollup_rows_clear(struct rollup_rows *r);
void rollup_rows_free(struct rollup_rows *r);

void rollup_acc_init(struct rollup_acc *acc);
void rollup_acc_free(struct rollup_acc *acc);
/* Adds a stored sample of check_id (dated ts_ms). */
void rollup_acc_add(struct rollup_acc *acc, const char *check_id, int64_t ts_ms, enum sample_result result,
                    double latency_ms);
/* Closes every bucket that ended before now_ms - ROLLUP_GRACE_MS (all of
 * them when `all`), and forgets checks with nothing open. */
void rollup_acc_sweep(struct rollup_acc *acc, int64_t now_ms, bool all);
/* The start of the earliest bucket still open (INT64_MAX when none):
 * once the waiting rows are written, every sample added is in a written
 * row or in an open bucket that starts at or after it. */
int64_t rollup_acc_earliest(const struct rollup_acc *acc);
/* Adds what acc holds of check_id (open and waiting) with from <= start <
 * to into the `hours` or minute buckets through fn. */
typedef void (*rollup_visit_fn)(void *data, const struct rollup_agg *a);
void rollup_acc_visit(const struct rollup_acc *acc, const char *check_id, bool hours, int64_t from_ms,
                      int64_t to_ms, rollup_visit_fn fn, void *data);

/* rollup_db.c, over a store_conn (the store thread's own). */
/* Writes the waiting rows and meta.<meta_key> = value in one transaction;
 * the rows are cleared only when it commits. ROLLUP_META_CLOSED as the key
 * is the last write of a clean close: meta.rollup_through = value, and
 * the next start need not roll up that hour again. */
#define ROLLUP_META_CLOSED "rollup_through (closed)"
int rollup_db_write(struct store_conn *c, struct rollup_acc *acc, const char *meta_key, int64_t value, char *err,
                    size_t errlen);
/* At the first connection: deletes rows from the rebuild point on and
 * records the range [rebuild point, start_ms) of raw samples to roll up
 * again (meta.rollup_rebuild_from/_to). */
int rollup_db_reconcile(struct store_conn *c, int64_t start_ms, char *err, size_t errlen);
/* One bounded step of the rebuild, with its own accumulator; *more is
 * false when nothing is left. */
struct rollup_rebuild {
    struct rollup_acc acc;
    int64_t from_ms, to_ms, cursor_ms, slice_ms;
    bool loaded, active;
};
void rollup_rebuild_init(struct rollup_rebuild *r);
void rollup_rebuild_free(struct rollup_rebuild *r);
/* Reads the pending range (meta.rollup_rebuild_from/_to) into r. */
int rollup_db_rebuild_load(struct store_conn *c, struct rollup_rebuild *r, char *err, size_t errlen);
int rollup_db_rebuild_step(struct store_conn *c, struct rollup_rebuild *r, bool *more, char *err, size_t errlen);
/* Deletes at most max_rows minute rows older than minutes_before_ms and
 * hour rows older than hours_before_ms (0: keep); *deleted. */
int rollup_db_purge(struct store_conn *c, int64_t minutes_before_ms, int64_t hours_before_ms, size_t max_rows,
                    uint64_t *deleted, char *err, size_t errlen);

/* rollup_query.c: the answers, on the store thread, from the tables plus
 * the live accumulator and the rebuild's range. */
struct rollup_query_env {
    const struct rollup_acc *live;
    int64_t rebuild_from_ms, rebuild_to_ms; /* equal: no rebuild pending */
    int64_t minutes_kept_ms;                 /* minute retention (0: all) */
};
/* store.c: the store's part of the environment (store thread only). */
struct store;
void store_rollup_env(struct store *st, struct rollup_query_env *env);

#endif
