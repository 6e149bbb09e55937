/*
 * store/alerts: the durable record of alert transitions (migration 8,
 * table alert_transitions). A subscriber to EVENT_ALERT encodes every
 * transition on the loop (labels and annotations as JSON objects, the
 * value as text so NaN and infinities survive both backends) into a
 * bounded queue, written in batches through store_call, one batch in
 * flight, retried while the database is away. The history is read back
 * for GET /api/v1/alerts/history, and the alerts that were pending or
 * firing when opshub stopped are read back at start so that the rule
 * engine carries on with them (rules_restore). Loop thread only.
 */
#ifndef STORE_ALERTS_H
#define STORE_ALERTS_H

#include "model/event.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Transitions waiting to be written; past it the oldest are dropped (counted). */
#define STORE_ALERTS_PENDING_MAX 100000
#define STORE_ALERTS_BATCH_MAX 1000
/* Rows one history query returns at most. */
#define STORE_ALERTS_QUERY_MAX 10000
/* Alerts restored at start at most (pending or firing ones). */
#define STORE_ALERTS_RESTORE_MAX 100000

struct store_alerts;

/* Subscribes to EVENT_ALERT on bus. NULL on OOM or a full bus. */
struct store_alerts *store_alerts_new(uv_loop_t *loop, struct store *st, struct event_bus *bus);
/* Unsubscribes and queues what is left as a last batch (the store runs
 * queued calls before it closes); cb(data) once the timer is closed. The
 * object is freed then. */
void store_alerts_close(struct store_alerts *a, struct event_bus *bus, void (*cb)(void *data), void *data);

struct store_alerts_stats {
    uint64_t written, dropped, write_errors, queued;
};
void store_alerts_stats_get(const struct store_alerts *a, struct store_alerts_stats *out);

/* One stored transition, as read back. Strings valid during the callback;
 * labels and annotations are JSON object texts. */
struct store_alert_row {
    int64_t at_ms, active_at_ms;
    const char *group, *alertname, *labels, *annotations, *state, *previous, *value;
};
typedef void (*store_alert_rows_cb)(void *data, int status, const struct store_alert_row *rows, size_t n);

/* Transitions with from <= at <= to (0: unbounded), newest first, at most
 * limit (clamped to 1..STORE_ALERTS_QUERY_MAX). 0 or BASE_ERR_*. */
int store_alerts_history(struct store *st, int64_t from_ms, int64_t to_ms, int limit, store_alert_rows_cb cb,
                         void *data);
/* The last transition of every alert whose last state is pending or
 * firing (at most STORE_ALERTS_RESTORE_MAX, oldest first). */
int store_alerts_active(struct store *st, store_alert_rows_cb cb, void *data);

/* "pending", "firing", "resolved", "inactive". */
const char *store_alerts_state_name(enum event_alert_state s);

#endif
