/*
 * store/notify: the notification outbox's table (migration 9,
 * `notifications`). Every delivery is a row written before it is sent
 * (status pending), updated after each attempt (attempts, next_at,
 * last_error) and when it ends (sent or failed); rows still pending are
 * read back at start so that deliveries resume after a restart or a
 * crash. Writes copy what they need: the caller's rows may change or go
 * once the call returns. Loop thread only.
 */
#ifndef STORE_NOTIFY_H
#define STORE_NOTIFY_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NOTIFY_ID_MAX 32          /* an id's text, NUL included */
#define STORE_NOTIFY_QUERY_MAX 10000
#define STORE_NOTIFY_RESTORE_MAX 100000

/* One delivery, as written and as read back (strings borrowed). */
struct store_notification {
    char id[STORE_NOTIFY_ID_MAX];
    int64_t created_ms, updated_ms, next_at_ms, sent_at_ms;
    int64_t alert_at_ms;              /* the transition that caused it (0: none), for latency */
    int attempts;
    const char *channel, *kind, *group_key, *dedup_key, *status, *last_error, *summary;
    const char *payload;              /* JSON: Alertmanager's webhook payload; NULL when only updating */
    bool insert;                      /* new row (payload written); else an update of the mutable columns */
};

typedef void (*store_notify_done_cb)(void *data, int status, const char *errmsg);
typedef void (*store_notify_rows_cb)(void *data, int status, const struct store_notification *rows, size_t n);

/* Writes (inserts or updates) n rows in one transaction; cb(data, 0) when
 * committed. The rows are copied. 0 or BASE_ERR_*. */
int store_notify_write(struct store *st, const struct store_notification *rows, size_t n, store_notify_done_cb cb,
                       void *data);
/* Deliveries created in [from, to] (0: unbounded), newest first, of one
 * status (NULL: any), at most limit (1..STORE_NOTIFY_QUERY_MAX); payload
 * not read. */
int store_notify_list(struct store *st, int64_t from_ms, int64_t to_ms, const char *status, int limit,
                      store_notify_rows_cb cb, void *data);
/* Every pending delivery (payload included), oldest first, at most
 * STORE_NOTIFY_RESTORE_MAX. */
int store_notify_pending(struct store *st, store_notify_rows_cb cb, void *data);
/* One delivery by id with its payload (n == 0: none). */
int store_notify_get(struct store *st, const char *id, store_notify_rows_cb cb, void *data);

#endif
