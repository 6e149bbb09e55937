/*
 * store/store: persistence of samples behind one interface with two backends,
 * SQLite (WAL) and PostgreSQL. The loop-side API never blocks: appends go to
 * a bounded in-memory buffer, a dedicated store thread writes them in batches
 * (one transaction each) and runs queries; results come back on the loop
 * through uv_async. When the database goes away the buffer keeps filling up
 * to its maximum, then drops the oldest samples (counted and logged); it is
 * flushed when the database returns. Migrations are versioned per dialect.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include "model/event.h"
#include "model/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store;

struct store_opts {
    const char *url;          /* "sqlite:///abs/path.db", "sqlite://rel/path.db", "postgres://..." or "postgresql://..."; copied */
    size_t buffer_max;        /* samples held in memory while unflushed; 0 = 100000 */
    size_t batch_max;         /* samples per transaction; 0 = 5000 */
    int64_t flush_interval_ms;/* 0 = 1000 */
    int64_t retention_ms;     /* samples older than this are purged hourly; 0 = keep */
    int64_t rollup_retention_ms; /* hourly rollups older than this too; 0 = keep */
    int64_t minute_retention_ms; /* minute rollups older than this too; 0 = keep */
    int64_t reconnect_ms;     /* delay between reconnect attempts; 0 = 2000 */
};

struct store_stats {
    bool connected;           /* last known state of the database */
    uint64_t samples_written; /* committed */
    uint64_t samples_dropped; /* buffer overflow while the database was away */
    uint64_t write_errors;
    uint64_t buffered;        /* waiting in memory now */
    uint64_t purged;
    double last_write_ms;     /* duration of the last batch transaction */
    double last_ping_ms;      /* round trip of the last health ping */
    uint64_t batches;
};

/* Starts the store thread, which opens the database and runs migrations.
 * Returns NULL on OOM or a malformed URL (message in errbuf). Opening
 * failures are not fatal here: the store retries and reports
 * connected=false meanwhile. */
struct store *store_new(uv_loop_t *loop, const struct store_opts *opts, char *errbuf, size_t errlen);

/* Queues one sample (copied). Never blocks; O(1). */
void store_sample_append(struct store *st, const char *check_id, const struct sample *s);
/* Subscribes the store to EVENT_SAMPLE on bus: every sample recorded by
 * the scheduler is appended. 0 or BASE_ERR_TOO_BIG (bus full). The store
 * must be unsubscribed (store_unsubscribe) before it is closed. */
int store_subscribe(struct store *st, struct event_bus *bus);
void store_unsubscribe(struct store *st, struct event_bus *bus);

void store_stats_get(const struct store *st, struct store_stats *out);
bool store_is_connected(const struct store *st);

/* Query results are delivered on the loop thread. `recs` is borrowed for the
 * duration of the callback. status is 0 or a negative BASE_ERR_* code. */
typedef void (*store_samples_cb)(void *data, int status, const struct sample_record *recs, size_t n);
struct store_query {
    const char *check_id;     /* copied */
    int64_t from_ms, to_ms;   /* inclusive range; 0 = unbounded */
    int limit;                /* newest first; clamp to 1..10000 */
};
int store_samples_query(struct store *st, const struct store_query *q, store_samples_cb cb, void *data);

/* Latest sample of every check (for restoring status after a restart). */
int store_latest_query(struct store *st, store_samples_cb cb, void *data);

/* Flushes what is buffered (bounded by a deadline), stops the thread, closes
 * the database and frees everything; cb runs on the loop when done. */
typedef void (*store_close_cb)(void *data);
void store_close(struct store *st, store_close_cb cb, void *data);

#endif
