/*
 * auth/reader: the identity service's read connection and its thread (see
 * reader.h). Owns the thread, the connection (touched by the thread only),
 * the job queues (guarded by one mutex) and the uv_async that brings
 * results back to the loop.
 */
#include "auth/reader.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define OPEN_BUSY_RETRIES 10
#define OPEN_BUSY_SLEEP_MS 20

struct reader_job {
    struct reader_job *next;
    store_work_fn work;
    store_done_fn done;
    void *data;
    int status;
    char err[256];
};

struct job_list {
    struct reader_job *head, *tail;
};

struct auth_reader {
    uv_loop_t *loop;
    char *url;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    uv_async_t async;
    struct job_list todo, done;  /* guarded by mu */
    bool stop, exited;           /* guarded by mu */
    bool closing;                /* loop thread */
    auth_reader_close_cb close_cb;
    void *close_data;
    /* the reader thread's own */
    struct store_conn *conn;
    uint64_t next_open_ns;
    char open_err[256];
};

static void list_push(struct job_list *l, struct reader_job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static struct reader_job *list_pop(struct job_list *l)
{
    struct reader_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
    }
    return j;
}

/* Reader thread: (re)opens the connection when it is time. 0 or the error
 * the job reports. */
static int ensure_conn(struct auth_reader *r)
{
    if (r->conn)
        return 0;
    uint64_t now = uv_hrtime();
    if (now < r->next_open_ns)
        return BASE_ERR_UNAVAILABLE; /* open_err still says why */
    char err[200] = "";
    int rc = store_conn_open(r->url, &r->conn, err, sizeof(err));
    /* SQLite answers "locked" at once while another connection turns a new
     * file to WAL: a moment later it works. */
    for (int i = 0; rc == BASE_ERR_BUSY && i < OPEN_BUSY_RETRIES; i++) {
        uv_sleep(OPEN_BUSY_SLEEP_MS);
        rc = store_conn_open(r->url, &r->conn, err, sizeof(err));
    }
    if (rc == 0)
        return 0;
    r->conn = NULL;
    r->next_open_ns = now + (uint64_t)AUTH_READER_RETRY_MS * 1000000u;
    snprintf(r->open_err, sizeof(r->open_err), "auth reader: %s", err[0] ? err : base_strerror(rc));
    return rc == BASE_ERR_NOMEM ? rc : BASE_ERR_UNAVAILABLE;
}

static void run_job(struct auth_reader *r, struct reader_job *j)
{
    j->err[0] = '\0';
    j->status = ensure_conn(r);
    if (j->status) {
        snprintf(j->err, sizeof(j->err), "%s", r->open_err[0] ? r->open_err : base_strerror(j->status));
        return;
    }
    j->status = j->work(r->conn, j->data, j->err, sizeof(j->err));
    store_sql_rollback(r->conn); /* a no-op unless work left a transaction open */
    if (j->status == BASE_ERR_UNAVAILABLE) {
        store_conn_close(r->conn);
        r->conn = NULL; /* reopened by the next job */
    }
}

static void thread_main(void *arg)
{
    struct auth_reader *r = arg;
    for (;;) {
        uv_mutex_lock(&r->mu);
        while (!r->todo.head && !r->stop)
            uv_cond_wait(&r->cond, &r->mu);
        if (r->stop) {
            struct reader_job *j;
            while ((j = list_pop(&r->todo)) != NULL) {
                j->status = BASE_ERR_CANCELED;
                snprintf(j->err, sizeof(j->err), "auth reader closed");
                list_push(&r->done, j);
            }
            uv_mutex_unlock(&r->mu);
            break;
        }
        struct reader_job *j = list_pop(&r->todo);
        uv_mutex_unlock(&r->mu);
        run_job(r, j);
        uv_mutex_lock(&r->mu);
        list_push(&r->done, j);
        uv_mutex_unlock(&r->mu);
        uv_async_send(&r->async);
    }
    store_conn_close(r->conn);
    r->conn = NULL;
    uv_mutex_lock(&r->mu);
    r->exited = true;
    uv_mutex_unlock(&r->mu);
    uv_async_send(&r->async);
}

static void on_closed(uv_handle_t *h)
{
    struct auth_reader *r = h->data;
    auth_reader_close_cb cb = r->close_cb;
    void *data = r->close_data;
    uv_mutex_destroy(&r->mu);
    uv_cond_destroy(&r->cond);
    base_free(r->url);
    base_free(r);
    if (cb)
        cb(data);
}

/* Loop thread: runs the done callbacks; after the thread ended, joins it
 * (it has returned already) and closes the async handle. */
static void on_async(uv_async_t *h)
{
    struct auth_reader *r = h->data;
    uv_mutex_lock(&r->mu);
    struct job_list done = r->done;
    r->done.head = r->done.tail = NULL;
    bool exited = r->exited;
    uv_mutex_unlock(&r->mu);
    struct reader_job *j;
    while ((j = list_pop(&done)) != NULL) {
        j->done(j->data, j->status, j->err);
        base_free(j);
    }
    if (exited && r->closing && !uv_is_closing((uv_handle_t *)&r->async)) {
        uv_thread_join(&r->thread);
        uv_close((uv_handle_t *)&r->async, on_closed);
    }
}

struct auth_reader *auth_reader_new(uv_loop_t *loop, const char *url, char *err, size_t errlen)
{
    struct auth_reader *r = base_calloc(1, sizeof(*r));
    if (!r || !url || !(r->url = base_strdup(url))) {
        snprintf(err, errlen, "auth reader: %s", base_strerror(r ? BASE_ERR_INVALID : BASE_ERR_NOMEM));
        base_free(r);
        return NULL;
    }
    r->loop = loop;
    if (uv_mutex_init(&r->mu) != 0 || uv_cond_init(&r->cond) != 0 ||
        uv_async_init(loop, &r->async, on_async) != 0) {
        snprintf(err, errlen, "auth reader: cannot initialise its lock or wake-up handle");
        base_free(r->url);
        base_free(r);
        return NULL; /* (init of a mutex/cond/async fails only without resources; nothing leaks but them) */
    }
    r->async.data = r;
    if (uv_thread_create(&r->thread, thread_main, r) != 0) {
        snprintf(err, errlen, "auth reader: cannot start its thread");
        r->exited = true;
        r->closing = true;
        uv_close((uv_handle_t *)&r->async, on_closed);
        return NULL; /* freed by on_closed on the loop */
    }
    return r;
}

int auth_reader_call(struct auth_reader *r, store_work_fn work, store_done_fn done, void *data)
{
    if (!r || !work || !done)
        return BASE_ERR_INVALID;
    if (r->closing)
        return BASE_ERR_CANCELED;
    struct reader_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->work = work;
    j->done = done;
    j->data = data;
    uv_mutex_lock(&r->mu);
    list_push(&r->todo, j);
    uv_cond_signal(&r->cond);
    uv_mutex_unlock(&r->mu);
    return 0;
}

void auth_reader_close(struct auth_reader *r, auth_reader_close_cb cb, void *data)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    r->close_cb = cb;
    r->close_data = data;
    uv_mutex_lock(&r->mu);
    r->stop = true;
    uv_cond_signal(&r->cond);
    uv_mutex_unlock(&r->mu);
}
