/*
 * export/remote_write: streams every sample the series store accepts (check
 * values, scraped series, recording rules, ALERTS) to the remotes of
 * `remote_write:` in the Prometheus remote-write protocol 1.0: a
 * WriteRequest protobuf (libprotobuf-c, from export/remote.proto),
 * snappy-compressed, POSTed with libcurl on the loop (probe/curlm).
 *
 * Per remote: a bounded queue of (series ref, time, value), 24 bytes a
 * sample; past `capacity` the oldest are dropped and counted. One request
 * in flight, so samples arrive in order; a batch goes when
 * max_samples_per_send are waiting or batch_send_deadline has passed. A
 * network error, a timeout, 429 or 5xx keeps the batch and retries it after
 * a backoff from min_backoff doubling to max_backoff (with jitter); any
 * other answer drops it (counted, logged with the remote's message). A
 * sample older than the series window when its batch is built is dropped
 * (its series may be gone). Labels are read from the store when a batch is
 * built, so the queue holds no strings. Credentials never reach a log line.
 * Loop thread only.
 */
#ifndef EXPORT_REMOTE_WRITE_H
#define EXPORT_REMOTE_WRITE_H

#include "conf/conf.h"
#include "series/series.h"

#include <stdint.h>
#include <uv.h>

struct remote_write_set;

/* Hooks itself into db (series_db_set_hook). NULL on OOM. */
struct remote_write_set *remote_write_new(uv_loop_t *loop, struct series_db *db);
/* Takes the remotes of c (copied): an unchanged remote keeps its queue and
 * its state, a new one starts empty, a removed one stops (what it held is
 * dropped, logged). 0 or BASE_ERR_NOMEM (then nothing changed). */
int remote_write_apply(struct remote_write_set *s, const struct conf *c);
/* Unhooks, aborts what is in flight, drops the queues (logged), closes the
 * handles; cb(data) once everything is freed (the set too). */
void remote_write_close(struct remote_write_set *s, void (*cb)(void *data), void *data);

struct remote_write_stats {
    const char *name;              /* borrowed until the next apply */
    uint64_t sent, failed, dropped_full, dropped_old, retries, requests, bytes;
    size_t queued;
    double last_send_s;            /* duration of the last request */
    int64_t last_success_ms;       /* 0: none yet */
};
/* Up to max remotes' figures into out; how many remotes there are. */
size_t remote_write_stats(const struct remote_write_set *s, struct remote_write_stats *out, size_t max);

#endif
