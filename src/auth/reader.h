/*
 * auth/reader: a database connection of the identity service's own, on a
 * thread of its own, for its short reads: the meta.auth_gen read that
 * precedes every authenticated request, mirror reloads and token lookups.
 * The store thread writes sample batches that can take tens of
 * milliseconds; authentication must not queue behind them. Jobs have
 * store_call's shape and run one at a time in order. The thread opens the
 * connection (store_conn_open) on its first job and again after it is lost,
 * at most once per AUTH_READER_RETRY_MS; meanwhile jobs fail fast with
 * BASE_ERR_UNAVAILABLE. Never logs: errors go back to the caller.
 */
#ifndef AUTH_READER_H
#define AUTH_READER_H

#include "store/sql.h"

#include <stddef.h>
#include <uv.h>

#define AUTH_READER_RETRY_MS 1000

struct auth_reader;

/* Starts the thread. url is copied (same URLs as store_new). NULL on OOM or
 * when the thread cannot start (message in err). Loop thread. */
struct auth_reader *auth_reader_new(uv_loop_t *loop, const char *url, char *err, size_t errlen);

/* Queues `work` to run on the reader's thread with its connection; `done`
 * then runs on the loop with work's result and message (never NULL). When
 * the database cannot be opened, work is not called and done gets
 * BASE_ERR_UNAVAILABLE and the reason (never the URL's password). A
 * transaction work leaves open is rolled back; BASE_ERR_UNAVAILABLE from
 * work drops the connection. Returns 0, BASE_ERR_CANCELED after
 * auth_reader_close (done is then never called), BASE_ERR_NOMEM. Loop
 * thread. */
int auth_reader_call(struct auth_reader *r, store_work_fn work, store_done_fn done, void *data);

/* Jobs not started yet complete with BASE_ERR_CANCELED (their done still
 * runs), the running one finishes, the thread closes the connection and
 * ends; then cb runs on the loop and r is freed. Loop thread. */
typedef void (*auth_reader_close_cb)(void *data);
void auth_reader_close(struct auth_reader *r, auth_reader_close_cb cb, void *data);

#endif
