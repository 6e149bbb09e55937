/*
 * store/store: the loop-facing store and its dedicated thread. The loop side
 * only copies samples into a bounded ring (mutex, O(1); oldest dropped when
 * full) and queues query jobs; the store thread owns the backend connection
 * and does all blocking work: batched writes (one transaction each), pings,
 * reconnects, retention purges, queries and the domain modules' store_call
 * work. Completed jobs return to the loop through one uv_async_t. The thread
 * never touches loop state; the loop never calls a backend.
 */
#include "store/store.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "store/hours.h"
#include "store/rollup_int.h"
#include "store/sql.h"
#include "store/store_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STORE_BUFFER_DEFAULT 100000
#define STORE_BATCH_DEFAULT 5000
#define STORE_FLUSH_DEFAULT_MS 1000
#define STORE_RECONNECT_DEFAULT_MS 2000
#define STORE_RING_MIN 1024            /* first ring allocation; it doubles up to buffer_max */
#define STORE_PING_MS 2000
#define STORE_PURGE_EVERY_MS (3600 * 1000)
/* Closed rollup buckets are written this often (and at shutdown). */
#define STORE_ROLLUP_EVERY_MS (30 * 1000)
#define STORE_CLOSE_DEADLINE_MS 5000
#define STORE_DROP_LOG_MS 10000
#define STORE_CONNECT_LOG_MS 60000
#define STORE_POISON_TRIES 5           /* a batch failing this often with the db up is dropped */
#define STORE_ERR_MAX 512

enum job_kind { JOB_SAMPLES, JOB_LATEST, JOB_CALL };

struct job {
    struct job *next;
    enum job_kind kind;
    char check_id[SAMPLE_CHECK_ID_MAX];
    int64_t from_ms, to_ms;
    int limit;
    store_samples_cb cb;
    void *data;
    int status;
    struct sample_record *recs; /* owned; freed after the callback */
    size_t n;
    store_work_fn work;         /* JOB_CALL */
    store_done_fn done;
    char errmsg[STORE_ERR_MAX];
};

struct store {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    const struct store_backend_ops *ops;
    char *url;
    char url_redacted[STORE_ERR_MAX];
    size_t buffer_max, batch_max;
    int64_t flush_interval_ms, retention_ms, rollup_retention_ms, minute_retention_ms, reconnect_ms;
    int64_t start_ms;                 /* wall clock at store_new: samples of this process are dated after */
    /* Store thread only: the rollups of samples written (store/rollup.h),
     * the rebuild from raw samples, and whether the tables were
     * reconciled at the first connection. Queries read them through
     * store_rollup_env on this thread. */
    struct rollup_acc rollups;
    struct rollup_rebuild rebuild;
    int64_t next_rollup_ms, next_rebuild_ms;
    bool rollups_reconciled, rollups_final;

    /* Guarded by mu. */
    struct sample_record *ring;
    size_t cap, head, count;
    size_t inflight;                  /* taken by the thread, not yet committed */
    struct job *jobs, *jobs_tail;     /* waiting for the thread */
    struct job *done, *done_tail;     /* waiting for the loop */
    bool closing, thread_done;
    int64_t close_deadline_ms;
    struct store_stats stats;
    uint64_t drops_unlogged;
    int64_t drop_logged_ms;

    /* Store thread only. */
    struct store_db *db;
    struct sample_record *batch;      /* batch_max records */
    int batch_failures;
    int64_t next_flush_ms, next_ping_ms, next_reconnect_ms, next_purge_ms;
    int64_t connect_logged_ms;

    /* Loop only. */
    bool close_requested;
    store_close_cb close_cb;
    void *close_data;
};

static int64_t mono_ms(void)
{
    return (int64_t)(base_time_mono_ns() / 1000000u);
}

const struct store_backend_ops *store_backend_for_url(const char *url)
{
    if (!url)
        return NULL;
    if (strncmp(url, "sqlite://", 9) == 0)
        return &store_sqlite_ops;
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return &store_postgres_ops;
    return NULL;
}

/* Replaces every byte that is not part of valid UTF-8 with '?': PostgreSQL
 * rejects invalid text, and one bad probe error must not poison a batch. */
static void utf8_sanitize(char *str)
{
    unsigned char *p = (unsigned char *)str;
    while (*p) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        bool ok = len > 0;
        for (size_t i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && len > 2) {
            unsigned d = p[1];
            ok = !((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) ||
                   (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F));
        }
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += len;
    }
}

static double finite_or(double v, double fallback)
{
    return isfinite(v) ? v : fallback;
}

/* Copies a sample into a record that every backend accepts. */
static void record_fill(struct sample_record *r, const char *check_id, const struct sample *s)
{
    size_t idlen = strnlen(check_id, sizeof(r->check_id) - 1);
    memcpy(r->check_id, check_id, idlen);
    r->check_id[idlen] = '\0';
    utf8_sanitize(r->check_id);
    /* field by field: the unused tails of values and error are not copied */
    r->s.ts_ms = s->ts_ms;
    r->s.result = (unsigned)s->result > SAMPLE_DOWN ? SAMPLE_DOWN : s->result;
    r->s.latency_ms = finite_or(s->latency_ms, 0);
    r->s.code = s->code;
    size_t elen = strnlen(s->error, sizeof(r->s.error) - 1);
    memcpy(r->s.error, s->error, elen);
    r->s.error[elen] = '\0';
    utf8_sanitize(r->s.error);
    /* Only well-formed values survive (known names, finite numbers, each
     * name once): what the probe made is data, not trusted. */
    uint32_t n = s->n_values < SAMPLE_VALUES_MAX ? s->n_values : SAMPLE_VALUES_MAX;
    r->s.n_values = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct sample_value *v = &s->values[i];
        bool keep = isfinite(v->value) && sample_value_name(v)[0];
        for (uint32_t k = 0; keep && k < r->s.n_values; k++)
            keep = r->s.values[k].name != v->name;
        if (keep)
            r->s.values[r->s.n_values++] = *v;
    }
}

/* Grows the ring (under mu) to hold at least `need` records, at most
 * buffer_max. Unwraps the contents to index 0. */
static int ring_grow(struct store *st, size_t need)
{
    if (need <= st->cap)
        return 0;
    if (need > st->buffer_max)
        return BASE_ERR_TOO_BIG;
    if (need > SIZE_MAX / 2 / sizeof(*st->ring))
        return BASE_ERR_NOMEM;
    size_t cap = st->cap ? st->cap : STORE_RING_MIN;
    while (cap < need)
        cap *= 2;
    if (cap > st->buffer_max)
        cap = st->buffer_max;
    struct sample_record *ring = base_malloc(cap * sizeof(*ring));
    if (!ring)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < st->count; i++)
        ring[i] = st->ring[(st->head + i) % st->cap];
    base_free(st->ring);
    st->ring = ring;
    st->cap = cap;
    st->head = 0;
    return 0;
}

void store_sample_append(struct store *st, const char *check_id, const struct sample *s)
{
    if (!st || !check_id || !s)
        return;
    uint64_t to_log = 0;
    uv_mutex_lock(&st->mu);
    if (st->closing) {
        st->stats.samples_dropped++;
        uv_mutex_unlock(&st->mu);
        return;
    }
    if (ring_grow(st, st->count + 1) != 0) {
        if (st->count == 0) { /* out of memory before the first sample */
            st->stats.samples_dropped++;
            uv_mutex_unlock(&st->mu);
            return;
        }
        st->head = (st->head + 1) % st->cap; /* full: the oldest goes */
        st->count--;
        st->stats.samples_dropped++;
        st->drops_unlogged++;
    }
    record_fill(&st->ring[(st->head + st->count) % st->cap], check_id, s);
    st->count++;
    if (st->count == st->batch_max)
        uv_cond_signal(&st->cond);
    if (st->drops_unlogged) {
        int64_t now = mono_ms();
        if (st->drop_logged_ms == 0 || now - st->drop_logged_ms >= STORE_DROP_LOG_MS) {
            to_log = st->drops_unlogged;
            st->drops_unlogged = 0;
            st->drop_logged_ms = now;
        }
    }
    uv_mutex_unlock(&st->mu);
    if (to_log)
        base_log_warn("store buffer full, dropping oldest samples", BASE_LOG_INT("dropped", to_log),
                      BASE_LOG_INT("buffer_max", st->buffer_max));
}

/* ---- store thread ---- */

static void set_connected(struct store *st, bool connected)
{
    uv_mutex_lock(&st->mu);
    st->stats.connected = connected;
    uv_mutex_unlock(&st->mu);
}

static void db_lost(struct store *st, const char *why)
{
    if (st->db) {
        base_log_warn("store database connection lost", BASE_LOG_STR("url", st->url_redacted),
                      BASE_LOG_STR("error", why));
        st->ops->close(st->db);
        st->db = NULL;
    }
    set_connected(st, false);
    st->next_reconnect_ms = mono_ms() + st->reconnect_ms;
}

static void try_connect(struct store *st)
{
    char err[STORE_ERR_MAX] = "";
    struct store_db *db = NULL;
    int rc = st->ops->open(st->url, &db, err, sizeof(err));
    if (!rc)
        rc = st->ops->migrate(db, err, sizeof(err));
    int64_t now = mono_ms();
    if (rc) {
        if (db)
            st->ops->close(db);
        st->next_reconnect_ms = now + st->reconnect_ms;
        if (st->connect_logged_ms == 0 || now - st->connect_logged_ms >= STORE_CONNECT_LOG_MS) {
            st->connect_logged_ms = now;
            base_log_error("store cannot open database", BASE_LOG_STR("url", st->url_redacted),
                           BASE_LOG_STR("error", err));
        }
        return;
    }
    if (!st->rollups_reconciled) {
        struct store_conn conn = {st->ops, db};
        rc = rollup_db_reconcile(&conn, st->start_ms, err, sizeof(err));
        if (rc == 0)
            rc = rollup_db_rebuild_load(&conn, &st->rebuild, err, sizeof(err));
        if (rc) {
            st->ops->close(db);
            st->next_reconnect_ms = now + st->reconnect_ms;
            base_log_error("store cannot reconcile the rollups", BASE_LOG_STR("error", err));
            return;
        }
        st->rollups_reconciled = true;
    }
    st->db = db;
    st->connect_logged_ms = 0;
    st->next_ping_ms = now + STORE_PING_MS;
    set_connected(st, true);
    base_log_info("store database connected", BASE_LOG_STR("url", st->url_redacted),
                  BASE_LOG_STR("backend", st->ops->name));
}

/* Puts a failed batch back at the head of the ring (under mu), oldest first,
 * dropping its oldest records when the ring has filled up meanwhile. */
static void ring_put_back(struct store *st, const struct sample_record *recs, size_t n)
{
    size_t room = st->buffer_max - st->count;
    size_t skip = n > room ? n - room : 0;
    if (ring_grow(st, st->count + (n - skip)) != 0)
        skip = n > st->cap - st->count ? n - (st->cap - st->count) : skip;
    for (size_t i = n; i > skip; i--) {
        st->head = (st->head + st->cap - 1) % st->cap;
        st->ring[st->head] = recs[i - 1];
        st->count++;
    }
    st->stats.samples_dropped += skip;
}

/* Writes the rollup buckets that closed, with the point before which the
 * tables hold every sample stored (store/rollup_db.c). At shutdown every
 * bucket is closed and written, so the point is now. */
static void run_rollups(struct store *st, bool final)
{
    char err[STORE_ERR_MAX] = "";
    int64_t now = base_time_now_ms();
    rollup_acc_sweep(&st->rollups, now, final);
    int64_t through = now;
    if (!final) {
        int64_t open = rollup_acc_earliest(&st->rollups);
        through = open < now - ROLLUP_LATE_MS ? open : now - ROLLUP_LATE_MS;
    }
    struct store_conn conn = {st->ops, st->db};
    int rc = rollup_db_write(&conn, &st->rollups, final ? ROLLUP_META_CLOSED : "rollup_through", through, err,
                             sizeof(err));
    st->next_rollup_ms = mono_ms() + (rc ? st->reconnect_ms : STORE_ROLLUP_EVERY_MS);
    if (st->rollups.dropped) {
        base_log_warn("rollup rows dropped (memory); a restart rebuilds them from the samples",
                      BASE_LOG_INT("rows", (long long)st->rollups.dropped));
        st->rollups.dropped = 0;
    }
    if (rc) {
        base_log_warn("store could not write rollups, will retry", BASE_LOG_STR("error", err));
        if (rc == BASE_ERR_UNAVAILABLE)
            db_lost(st, err);
        return;
    }
    if (final)
        st->rollups_final = true;
}

/* One bounded step of rebuilding rollups from raw samples. */
static void run_rebuild(struct store *st)
{
    char err[STORE_ERR_MAX] = "";
    bool more = false;
    struct store_conn conn = {st->ops, st->db};
    int rc = rollup_db_rebuild_step(&conn, &st->rebuild, &more, err, sizeof(err));
    if (rc) {
        /* what it read stays in its accumulator and is written with the
         * next step, so a retry neither skips nor repeats a sample */
        base_log_warn("store could not rebuild rollups, will retry", BASE_LOG_STR("error", err));
        if (rc == BASE_ERR_UNAVAILABLE)
            db_lost(st, err);
        st->next_rebuild_ms = mono_ms() + st->reconnect_ms;
    }
}

static bool rebuild_pending(const struct store *st)
{
    return !st->rebuild.loaded || st->rebuild.active;
}

void store_rollup_env(struct store *st, struct rollup_query_env *env)
{
    memset(env, 0, sizeof(*env));
    env->live = &st->rollups;
    if (!st->rebuild.loaded) { /* not known yet: anything before this start may be missing */
        env->rebuild_from_ms = INT64_MIN;
        env->rebuild_to_ms = st->start_ms;
    } else if (st->rebuild.active) {
        env->rebuild_from_ms = st->rebuild.cursor_ms;
        env->rebuild_to_ms = st->rebuild.to_ms;
    }
    env->minutes_kept_ms = st->minute_retention_ms;
}

static void write_batch(struct store *st, size_t n)
{
    char err[STORE_ERR_MAX] = "";
    uint64_t t0 = base_time_mono_ns();
    int rc = st->ops->insert_batch(st->db, st->batch, n, err, sizeof(err));
    double ms = (double)(base_time_mono_ns() - t0) / 1e6;
    /* A sample dated where a pending rebuild has not read yet is counted
     * by the rebuild (it is stored now); any other by the live rollups. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t ts = st->batch[i].s.ts_ms;
        if (st->rebuild.active && ts >= st->rebuild.cursor_ms && ts < st->rebuild.to_ms)
            continue;
        rollup_acc_add(&st->rollups, st->batch[i].check_id, ts, st->batch[i].s.result, st->batch[i].s.latency_ms);
    }
    bool drop = false;
    if (rc && rc != BASE_ERR_UNAVAILABLE && ++st->batch_failures >= STORE_POISON_TRIES)
        drop = true;
    uv_mutex_lock(&st->mu);
    st->inflight = 0;
    if (!rc) {
        st->stats.samples_written += n;
        st->stats.batches++;
        st->stats.last_write_ms = ms;
        st->batch_failures = 0;
    } else {
        st->stats.write_errors++;
        if (drop)
            st->stats.samples_dropped += n;
        else
            ring_put_back(st, st->batch, n);
    }
    uv_mutex_unlock(&st->mu);
    if (rc) {
        base_log_error(drop ? "store write failed, batch dropped" : "store write failed, will retry",
                       BASE_LOG_STR("error", err), BASE_LOG_INT("samples", n));
        if (drop)
            st->batch_failures = 0;
        db_lost(st, err);
    }
}

/* A domain module's work on the store's connection. A transaction left
 * open would swallow the next batch: it is rolled back here. */
static void run_call(struct store *st, struct job *j)
{
    struct store_conn conn = {st->ops, st->db};
    j->errmsg[0] = '\0';
    j->status = j->work(&conn, j->data, j->errmsg, sizeof(j->errmsg));
    if (j->status != BASE_ERR_UNAVAILABLE && st->ops->in_transaction(st->db)) {
        base_log_warn("store call left a transaction open, rolled back",
                      BASE_LOG_INT("status", j->status));
        store_sql_rollback(&conn);
    }
    if (j->status == BASE_ERR_UNAVAILABLE)
        db_lost(st, j->errmsg);
}

static void run_job(struct store *st, struct job *j)
{
    char err[STORE_ERR_MAX] = "";
    if (!st->db) {
        j->status = BASE_ERR_UNAVAILABLE;
        if (j->kind == JOB_CALL)
            snprintf(j->errmsg, sizeof(j->errmsg), "store: database not connected");
        return;
    }
    if (j->kind == JOB_CALL) {
        run_call(st, j);
        return;
    }
    if (j->kind == JOB_SAMPLES)
        j->status = st->ops->query_samples(st->db, j->check_id, j->from_ms, j->to_ms, j->limit,
                                           &j->recs, &j->n, err, sizeof(err));
    else
        j->status = st->ops->query_latest(st->db, &j->recs, &j->n, err, sizeof(err));
    if (j->status == BASE_ERR_UNAVAILABLE)
        db_lost(st, err);
    else if (j->status)
        base_log_warn("store query failed", BASE_LOG_STR("error", err));
}

static void run_ping(struct store *st)
{
    char err[STORE_ERR_MAX] = "";
    uint64_t t0 = base_time_mono_ns();
    int rc = st->ops->ping(st->db, err, sizeof(err));
    double ms = (double)(base_time_mono_ns() - t0) / 1e6;
    st->next_ping_ms = mono_ms() + STORE_PING_MS;
    if (rc) {
        db_lost(st, err);
        return;
    }
    uv_mutex_lock(&st->mu);
    st->stats.last_ping_ms = ms;
    uv_mutex_unlock(&st->mu);
}

/* One bounded chunk; the next runs on a later turn so writes interleave. */
static void run_purge(struct store *st)
{
    char err[STORE_ERR_MAX] = "";
    uint64_t deleted = 0;
    bool more = false; /* a full chunk of rollups: go on soon */
    int64_t now = base_time_now_ms();
    int rc = st->retention_ms ? st->ops->purge_before(st->db, now - st->retention_ms, STORE_PURGE_CHUNK, &deleted,
                                                      err, sizeof(err)) : 0;
    if (rc == 0 && (st->rollup_retention_ms || st->minute_retention_ms)) {
        struct store_conn conn = {st->ops, st->db};
        uint64_t rows = 0;
        rc = rollup_db_purge(&conn, st->minute_retention_ms ? now - st->minute_retention_ms : 0,
                             st->rollup_retention_ms ? now - st->rollup_retention_ms : 0, STORE_PURGE_CHUNK, &rows,
                             err, sizeof(err));
        more = rows >= STORE_PURGE_CHUNK;
        if (rc == 0 && st->rollup_retention_ms) {
            rc = store_alerts_purge(&conn, now - st->rollup_retention_ms, STORE_PURGE_CHUNK, &rows, err,
                                    sizeof(err));
            more |= rows >= STORE_PURGE_CHUNK;
        }
        if (rc == 0 && st->rollup_retention_ms) {
            rc = store_notify_purge(&conn, now - st->rollup_retention_ms, STORE_PURGE_CHUNK, &rows, err,
                                    sizeof(err));
            more |= rows >= STORE_PURGE_CHUNK;
        }
        if (rc == 0 && st->rollup_retention_ms) {
            rc = store_silences_purge(&conn, now - st->rollup_retention_ms, STORE_PURGE_CHUNK, &rows, err,
                                      sizeof(err));
            more |= rows >= STORE_PURGE_CHUNK;
        }
    }
    uv_mutex_lock(&st->mu);
    st->stats.purged += deleted;
    uv_mutex_unlock(&st->mu);
    if (rc) {
        base_log_warn("store purge failed", BASE_LOG_STR("error", err));
        st->next_purge_ms = mono_ms() + st->reconnect_ms;
        if (rc == BASE_ERR_UNAVAILABLE)
            db_lost(st, err);
        return;
    }
    if (deleted < STORE_PURGE_CHUNK && !more)
        st->next_purge_ms = mono_ms() + STORE_PURGE_EVERY_MS;
}

static void job_complete(struct store *st, struct job *j)
{
    j->next = NULL;
    if (st->done_tail)
        st->done_tail->next = j;
    else
        st->done = j;
    st->done_tail = j;
    uv_async_send(&st->async);
}

static bool purging(const struct store *st)
{
    return st->retention_ms > 0 || st->rollup_retention_ms > 0 || st->minute_retention_ms > 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Does one piece of work with mu held on entry and exit (released while the
 * backend runs). Returns false when there was nothing to do before `*wake`. */
static bool thread_step(struct store *st, int64_t now, int64_t *wake)
{
    if (!st->db && now >= st->next_reconnect_ms && !(st->closing && st->count == 0)) {
        uv_mutex_unlock(&st->mu);
        try_connect(st);
        uv_mutex_lock(&st->mu);
        return true;
    }
    if (st->jobs) {
        struct job *j = st->jobs;
        st->jobs = j->next;
        if (!st->jobs)
            st->jobs_tail = NULL;
        uv_mutex_unlock(&st->mu);
        run_job(st, j);
        uv_mutex_lock(&st->mu);
        job_complete(st, j);
        return true;
    }
    if (st->db && st->count > 0 &&
        (st->count >= st->batch_max || now >= st->next_flush_ms || st->closing)) {
        size_t n = st->count < st->batch_max ? st->count : st->batch_max;
        for (size_t i = 0; i < n; i++)
            st->batch[i] = st->ring[(st->head + i) % st->cap];
        st->head = (st->head + n) % st->cap;
        st->count -= n;
        st->inflight = n;
        st->next_flush_ms = now + st->flush_interval_ms;
        uv_mutex_unlock(&st->mu);
        write_batch(st, n);
        uv_mutex_lock(&st->mu);
        return true;
    }
    bool final = st->closing && st->count == 0;
    if (st->db && !st->rollups_final && (now >= st->next_rollup_ms || final)) {
        uv_mutex_unlock(&st->mu);
        run_rollups(st, final);
        uv_mutex_lock(&st->mu);
        return true;
    }
    if (now >= st->next_flush_ms)
        st->next_flush_ms = now + st->flush_interval_ms;
    if (st->db && !st->closing && rebuild_pending(st) && now >= st->next_rebuild_ms) {
        uv_mutex_unlock(&st->mu);
        run_rebuild(st);
        uv_mutex_lock(&st->mu);
        return true;
    }
    if (st->db && !st->closing && purging(st) && now >= st->next_purge_ms) {
        uv_mutex_unlock(&st->mu);
        run_purge(st);
        uv_mutex_lock(&st->mu);
        return true;
    }
    if (st->db && now >= st->next_ping_ms) {
        uv_mutex_unlock(&st->mu);
        run_ping(st);
        uv_mutex_lock(&st->mu);
        return true;
    }
    int64_t w = min64(st->next_flush_ms, st->db ? st->next_ping_ms : st->next_reconnect_ms);
    if (st->db && purging(st))
        w = min64(w, st->next_purge_ms);
    if (st->db && !st->rollups_final)
        w = min64(w, st->next_rollup_ms);
    if (st->closing)
        w = min64(w, st->close_deadline_ms);
    *wake = w;
    return false;
}

static void store_thread(void *arg)
{
    struct store *st = arg;
    int64_t now = mono_ms();
    st->next_reconnect_ms = now;
    st->next_flush_ms = now + st->flush_interval_ms;
    st->next_rollup_ms = now + STORE_ROLLUP_EVERY_MS;
    st->next_purge_ms = now;
    uv_mutex_lock(&st->mu);
    for (;;) {
        now = mono_ms();
        if (st->closing && !st->jobs && ((st->count == 0 && (st->rollups_final || !st->db)) ||
                                         now >= st->close_deadline_ms))
            break;
        int64_t wake = 0;
        if (thread_step(st, now, &wake))
            continue;
        if (wake > now)
            uv_cond_timedwait(&st->cond, &st->mu, (uint64_t)(wake - now) * 1000000u);
    }
    size_t lost = st->count;
    st->stats.samples_dropped += lost;
    st->count = 0;
    uv_mutex_unlock(&st->mu);
    if (lost)
        base_log_error("store closed with unflushed samples", BASE_LOG_INT("dropped", lost));
    if (st->db)
        st->ops->close(st->db);
    st->db = NULL;
    uv_mutex_lock(&st->mu);
    st->stats.connected = false;
    st->thread_done = true;
    uv_mutex_unlock(&st->mu);
    uv_async_send(&st->async);
}

/* ---- loop side ---- */

static void store_free(struct store *st)
{
    uv_mutex_destroy(&st->mu);
    uv_cond_destroy(&st->cond);
    base_free(st->ring);
    base_free(st->batch);
    rollup_acc_free(&st->rollups);
    rollup_rebuild_free(&st->rebuild);
    base_free(st->url);
    base_free(st);
}

static void on_async_closed(uv_handle_t *h)
{
    struct store *st = h->data;
    store_close_cb cb = st->close_cb;
    void *data = st->close_data;
    store_free(st);
    if (cb)
        cb(data);
}

static void on_async(uv_async_t *h)
{
    struct store *st = h->data;
    uv_mutex_lock(&st->mu);
    struct job *j = st->done;
    st->done = st->done_tail = NULL;
    bool finished = st->thread_done;
    uv_mutex_unlock(&st->mu);
    static const struct sample_record none; /* recs is never NULL, even when n == 0 */
    while (j) {
        struct job *next = j->next;
        size_t n = j->status ? 0 : j->n;
        if (j->kind == JOB_CALL)
            j->done(j->data, j->status, j->errmsg);
        else if (j->cb)
            j->cb(j->data, j->status, n ? j->recs : &none, n);
        base_free(j->recs);
        base_free(j);
        j = next;
    }
    if (finished && !uv_is_closing((uv_handle_t *)&st->async)) {
        uv_thread_join(&st->thread); /* the thread has returned or is returning */
        uv_close((uv_handle_t *)&st->async, on_async_closed);
    }
}

static int check_url(const char *url, const struct store_backend_ops *ops, char *errbuf, size_t errlen)
{
    if (!ops) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "store: unsupported URL scheme (want sqlite:// or postgres://)");
        return BASE_ERR_INVALID;
    }
    if (ops == &store_postgres_ops)
        return store_postgres_url_check(url, errbuf, errlen);
    char path[8];
    int rc = store_sqlite_path_from_url(url, path, sizeof(path));
    if (rc == BASE_ERR_INVALID && errbuf && errlen)
        snprintf(errbuf, errlen, "store: malformed sqlite URL (want sqlite:///abs/path.db or sqlite://rel/path.db)");
    return rc == BASE_ERR_TOO_BIG ? 0 : rc;
}

struct store *store_new(uv_loop_t *loop, const struct store_opts *opts, char *errbuf, size_t errlen)
{
    const char *url = opts ? opts->url : NULL;
    const struct store_backend_ops *ops = store_backend_for_url(url);
    if (!loop || check_url(url, ops, errbuf, errlen) != 0)
        return NULL;
    struct store *st = base_calloc(1, sizeof(*st));
    if (!st)
        goto oom;
    st->loop = loop;
    st->ops = ops;
    st->buffer_max = opts->buffer_max ? opts->buffer_max : STORE_BUFFER_DEFAULT;
    st->batch_max = opts->batch_max ? opts->batch_max : STORE_BATCH_DEFAULT;
    if (st->batch_max > st->buffer_max)
        st->batch_max = st->buffer_max;
    st->flush_interval_ms = opts->flush_interval_ms > 0 ? opts->flush_interval_ms : STORE_FLUSH_DEFAULT_MS;
    st->retention_ms = opts->retention_ms > 0 ? opts->retention_ms : 0;
    st->rollup_retention_ms = opts->rollup_retention_ms > 0 ? opts->rollup_retention_ms : 0;
    st->minute_retention_ms = opts->minute_retention_ms > 0 ? opts->minute_retention_ms : 0;
    st->start_ms = base_time_now_ms();
    rollup_acc_init(&st->rollups);
    rollup_rebuild_init(&st->rebuild);
    st->reconnect_ms = opts->reconnect_ms > 0 ? opts->reconnect_ms : STORE_RECONNECT_DEFAULT_MS;
    base_log_redact_url(url, st->url_redacted, sizeof(st->url_redacted));
    st->url = base_strdup(url);
    if (st->batch_max <= SIZE_MAX / sizeof(*st->batch))
        st->batch = base_malloc(st->batch_max * sizeof(*st->batch));
    if (!st->url || !st->batch)
        goto fail;
    if (uv_mutex_init(&st->mu) != 0)
        goto fail;
    if (uv_cond_init(&st->cond) != 0) {
        uv_mutex_destroy(&st->mu);
        goto fail;
    }
    st->async.data = st;
    if (uv_async_init(loop, &st->async, on_async) != 0) {
        uv_cond_destroy(&st->cond);
        uv_mutex_destroy(&st->mu);
        goto fail;
    }
    if (uv_thread_create(&st->thread, store_thread, st) != 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "store: cannot start the store thread");
        st->close_cb = NULL;
        uv_close((uv_handle_t *)&st->async, on_async_closed);
        return NULL;
    }
    return st;
fail:
    base_free(st->url);
    base_free(st->batch);
    base_free(st);
oom:
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "store: %s", base_strerror(BASE_ERR_NOMEM));
    return NULL;
}

static void on_event(void *data, const struct event *ev)
{
    store_sample_append(data, ev->u.check.check_id, ev->u.check.sample);
}

int store_subscribe(struct store *st, struct event_bus *bus)
{
    return event_subscribe(bus, "store", EVENT_MASK(EVENT_SAMPLE), on_event, st);
}

void store_unsubscribe(struct store *st, struct event_bus *bus)
{
    event_unsubscribe(bus, on_event, st);
}

void store_stats_get(const struct store *st, struct store_stats *out)
{
    struct store *m = (struct store *)st; /* the mutex is the only thing written */
    uv_mutex_lock(&m->mu);
    *out = st->stats;
    out->buffered = st->count + st->inflight;
    uv_mutex_unlock(&m->mu);
}

bool store_is_connected(const struct store *st)
{
    struct store_stats s;
    store_stats_get(st, &s);
    return s.connected;
}

static int job_submit(struct store *st, struct job *j)
{
    uv_mutex_lock(&st->mu);
    j->next = NULL;
    if (st->jobs_tail)
        st->jobs_tail->next = j;
    else
        st->jobs = j;
    st->jobs_tail = j;
    uv_cond_signal(&st->cond);
    uv_mutex_unlock(&st->mu);
    return 0;
}

int store_samples_query(struct store *st, const struct store_query *q, store_samples_cb cb, void *data)
{
    if (!st || !q || !q->check_id || !cb)
        return BASE_ERR_INVALID;
    if (st->close_requested)
        return BASE_ERR_CANCELED;
    size_t idlen = strlen(q->check_id);
    if (idlen == 0 || idlen >= SAMPLE_CHECK_ID_MAX)
        return BASE_ERR_INVALID;
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = JOB_SAMPLES;
    memcpy(j->check_id, q->check_id, idlen + 1);
    j->from_ms = q->from_ms ? q->from_ms : INT64_MIN;
    j->to_ms = q->to_ms ? q->to_ms : INT64_MAX;
    j->limit = q->limit < 1 ? 1 : q->limit > STORE_QUERY_MAX ? STORE_QUERY_MAX : q->limit;
    j->cb = cb;
    j->data = data;
    return job_submit(st, j);
}

int store_latest_query(struct store *st, store_samples_cb cb, void *data)
{
    if (!st || !cb)
        return BASE_ERR_INVALID;
    if (st->close_requested)
        return BASE_ERR_CANCELED;
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = JOB_LATEST;
    j->cb = cb;
    j->data = data;
    return job_submit(st, j);
}

int store_call(struct store *st, store_work_fn work, store_done_fn done, void *data)
{
    if (!st || !work || !done)
        return BASE_ERR_INVALID;
    if (st->close_requested)
        return BASE_ERR_CANCELED;
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = JOB_CALL;
    j->work = work;
    j->done = done;
    j->data = data;
    return job_submit(st, j);
}

void store_close(struct store *st, store_close_cb cb, void *data)
{
    if (!st || st->close_requested)
        return;
    st->close_requested = true;
    st->close_cb = cb;
    st->close_data = data;
    uv_mutex_lock(&st->mu);
    st->closing = true;
    st->close_deadline_ms = mono_ms() + STORE_CLOSE_DEADLINE_MS;
    uv_cond_signal(&st->cond);
    uv_mutex_unlock(&st->mu);
}
