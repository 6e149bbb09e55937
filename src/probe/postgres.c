/*
 * probe/postgres: runs of the postgres check type. libpq does the protocol;
 * this file drives it without blocking the loop. PQconnectStartParams (it
 * reads ~/.pgpass, resolves the first host name and starts the TCP
 * connect) runs on libuv's pool; a URL with several hosts has every name
 * resolved there first and passed as hostaddr, so PQconnectPoll never
 * resolves on the loop. Then PQconnectPoll, PQsendQuery, PQconsumeInput,
 * PQisBusy and PQgetResult are driven by a uv_poll_t on PQsocket. libpq
 * may replace the socket between two PQconnectPoll calls (the next host or
 * address, an SSL or GSS retry); the poll handle is then closed and a new
 * one made for the new socket. One uv_timer_t bounds the whole run. A
 * finished or canceled run closes its poll handle before PQfinish closes
 * the socket and frees itself in the last close callback. The settings,
 * the message cleaning and the thresholds are in probe/postgres_conf.c.
 */
#include "probe/postgres.h"

#include "base/alloc.h"
#include "probe/postgres_conf.h"
#include "probe/probe_int.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* One round trip after the check's query. Counted as client connections:
 * client backends, and, when the role may not see another role's session
 * (no pg_read_all_stats), its hidden rows that are connected to a database
 * as a role (client backends, but also parallel workers and logical WAL
 * senders: the closest a plain role can get). The lag is postgres_exporter's
 * (0 when everything received is replayed); reserved_connections exists
 * from PostgreSQL 16 on (NULL before). */
static const char stats_sql[] =
    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    " OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL)),"
    " current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
    " - coalesce(current_setting('reserved_connections', true)::int, 0),"
    " pg_is_in_recovery()::int,"
    " CASE WHEN pg_is_in_recovery() THEN CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    " THEN 0 ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())) END END,"
    " pg_database_size(current_database()),"
    " coalesce((SELECT greatest(0, extract(epoch FROM now() - min(xact_start))) FROM pg_stat_activity"
    " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'), 0)";

enum stat_col { COL_USED, COL_MAX, COL_RECOVERY, COL_LAG, COL_SIZE, COL_LONGEST, N_COLS };

enum phase { PHASE_CONNECT, PHASE_QUERY, PHASE_STATS };

struct probe_postgres {
    struct probe_run run;           /* first: a run pointer is a probe_postgres pointer */
    uv_timer_t timer;
    uv_poll_t poll;
    uv_work_t work;
    PGconn *conn;                   /* made by the work callback */
    int pending;                    /* open handles + work in flight */
    bool working, poll_open, reopen, tearing_down, failed;
    bool resolve_failed;            /* set by the work callback: no host of the URL resolved */
    int fd;                         /* the socket poll watches, and its inode: a new */
    ino_t ino;                      /* socket may reuse the number of a closed one */
    int want;                       /* events for the poll made after a reopen */
    enum phase phase;
    const char *url, *query;
    int expect_rows;
    double conn_warn, conn_crit;
    int64_t lag_warn_ms, lag_crit_ms;
    const char *secrets[4];         /* scrubbed from every message; NULL-terminated */
    double connect_ms, query_ms;    /* phase ends in ms from the start; -1 until reached */
    long long rows, set_rows;       /* rows of the last result set; rows of the one being read */
    bool have_rows;
    char query_err[SAMPLE_ERROR_MAX];  /* the check's query failed */
    char stats_err[SAMPLE_ERROR_MAX];  /* the statistics query failed */
    double stats[N_COLS];
    bool have_stat[N_COLS];
    /* the host, hostaddr and port lists of a multi-host URL (probe_postgres_conf_hosts_expand) */
    char x_host[PROBE_POSTGRES_URL_MAX], x_addr[PROBE_POSTGRES_ADDRS_MAX * 48];
    char x_port[PROBE_POSTGRES_ADDRS_MAX * 8];
    char strings[];                 /* url, query, secrets */
};

static void on_timer(uv_timer_t *h);
static void on_poll(uv_poll_t *h, int status, int events);

/* ---- teardown ---- */

static void unref(struct probe_postgres *p)
{
    if (--p->pending > 0 || !p->tearing_down)
        return;
    struct probe_engine *e = p->run.engine;
    PQfinish(p->conn);  /* only a connection the work made after the run ended */
    base_free(p);
    probe_engine_release(e);
}

static int watch(struct probe_postgres *p, int events);

static void on_closed(uv_handle_t *h)
{
    struct probe_postgres *p = h->data;
    if (h == (uv_handle_t *)&p->poll) {
        p->poll_open = false;
        if (p->reopen && !p->tearing_down) {
            p->reopen = false;
            p->pending--;
            watch(p, p->want);
            return;
        }
    }
    unref(p);
}

static void teardown(struct probe_postgres *p)
{
    p->tearing_down = true;
    p->run.engine->tearing_down++;
    if (p->working)
        uv_cancel((uv_req_t *)&p->work);  /* the after-work callback still runs and frees the conn */
    /* uv_close stops watching at once (the close callback comes later), so
     * the socket PQfinish closes next is no longer in the loop's epoll set. */
    if (p->poll_open && !p->reopen)
        uv_close((uv_handle_t *)&p->poll, on_closed);
    if (!p->working) {
        PQfinish(p->conn);
        p->conn = NULL;
    }
    uv_close((uv_handle_t *)&p->timer, on_closed);
}

static void finish(struct probe_postgres *p, enum sample_result result)
{
    p->run.s.result = result;
    if (result == SAMPLE_UP)
        p->run.s.error[0] = '\0';
    if (p->run.s.latency_ms < 0.001)
        p->run.s.latency_ms = probe_run_elapsed_ms(&p->run);
    uv_timer_stop(&p->timer);
    probe_run_finish(&p->run);
    teardown(p);
}

static void pg_cancel(struct probe_run *r)
{
    teardown((struct probe_postgres *)r);
}

/* Reports a failure: at once, or on the next loop turn when deferred (from
 * pg_start: a run never completes synchronously). */
static void fail(struct probe_postgres *p, bool deferred, const char *fmt, ...) BASE_PRINTF(3, 4);
static void fail(struct probe_postgres *p, bool deferred, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->run.s.error, sizeof(p->run.s.error), fmt, ap);
    va_end(ap);
    if (deferred) {
        p->failed = true;
        uv_timer_start(&p->timer, on_timer, 0, 0);
        return;
    }
    finish(p, SAMPLE_DOWN);
}

/* Fails with libpq's connection message, cleaned of secrets. */
static void fail_conn(struct probe_postgres *p, const char *what)
{
    char clean[SAMPLE_ERROR_MAX];
    probe_postgres_conf_clean_message(PQerrorMessage(p->conn), p->secrets, clean, sizeof(clean));
    if (!clean[0])
        snprintf(clean, sizeof(clean), "%s", what);
    fail(p, false, "%s", clean);
}

/* ---- the poll handle on libpq's socket ---- */

static ino_t socket_inode(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* Watches PQsocket for events; a new socket gets a new poll handle once
 * the old one is closed. 0, or -1 after failing. */
static int watch(struct probe_postgres *p, int events)
{
    int fd = PQsocket(p->conn);
    if (fd < 0) {
        fail_conn(p, "connection lost");
        return -1;
    }
    ino_t ino = socket_inode(fd);
    if (p->poll_open && (fd != p->fd || ino != p->ino) && !p->reopen) {
        /* libpq closed the socket this handle watched (epoll dropped it
         * with the close): close the handle, then watch the new one. */
        p->reopen = true;
        uv_close((uv_handle_t *)&p->poll, on_closed);
    }
    p->fd = fd;
    p->ino = ino;
    p->want = events;
    if (p->reopen)
        return 0;
    if (!p->poll_open) {
        int rc = uv_poll_init(p->run.engine->loop, &p->poll, fd);
        if (rc) {
            fail(p, false, "cannot watch the connection: %s", uv_strerror(rc));
            return -1;
        }
        p->poll.data = p;
        p->poll_open = true;
        p->pending++;
    }
    int rc = uv_poll_start(&p->poll, events, on_poll);
    if (rc) {
        fail(p, false, "cannot watch the connection: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- queries ---- */

/* Sends what libpq has buffered, then waits for the answer (and for room
 * to write the rest, if any). */
static void flush(struct probe_postgres *p)
{
    int rc = PQflush(p->conn);
    if (rc < 0)
        fail_conn(p, "send failed");
    else
        watch(p, rc ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void send_query(struct probe_postgres *p, enum phase phase, const char *sql)
{
    p->phase = phase;
    if (!PQsendQuery(p->conn, sql)) {
        fail_conn(p, "cannot send the query");
        return;
    }
    /* One row at a time: a big result never sits whole in libpq's memory. */
    if (phase == PHASE_QUERY)
        (void)PQsetSingleRowMode(p->conn);
    flush(p);
}

/* "relation \"x\" does not exist (42P01)", without secrets. */
static void result_error(struct probe_postgres *p, const PGresult *r, char *out, size_t n)
{
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    char clean[SAMPLE_ERROR_MAX];
    probe_postgres_conf_clean_message(primary ? primary : PQresultErrorMessage(r), p->secrets, clean, sizeof(clean));
    if (state)
        snprintf(out, n, "%.200s (%.5s)", clean[0] ? clean : "error", state);
    else
        snprintf(out, n, "%s", clean[0] ? clean : "error");
}

/* One result of the check's query (a statement's rows, command or error). */
static void take_query_result(struct probe_postgres *p, PGresult *r)
{
    char why[SAMPLE_ERROR_MAX];
    switch (PQresultStatus(r)) {
    case PGRES_SINGLE_TUPLE:
        p->set_rows++;
        break;
    case PGRES_TUPLES_OK:  /* the end of a result set (its rows came one by one) */
        p->rows = p->set_rows + PQntuples(r);
        p->set_rows = 0;
        p->have_rows = true;
        break;
    case PGRES_COMMAND_OK:
        p->rows = strtoll(PQcmdTuples(r), NULL, 10);
        p->have_rows = true;
        break;
    case PGRES_EMPTY_QUERY:
        p->rows = 0;
        p->have_rows = true;
        break;
    default:
        if (!p->query_err[0]) {
            result_error(p, r, why, sizeof(why));
            snprintf(p->query_err, sizeof(p->query_err), "query failed: %.200s", why);
        }
        break;
    }
}

static void take_stats_result(struct probe_postgres *p, const PGresult *r)
{
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != N_COLS) {
        if (!p->stats_err[0]) {
            char why[SAMPLE_ERROR_MAX];
            result_error(p, r, why, sizeof(why));
            snprintf(p->stats_err, sizeof(p->stats_err), "statistics query failed: %.200s", why);
        }
        return;
    }
    for (int i = 0; i < N_COLS; i++) {
        if (PQgetisnull(r, 0, i))
            continue;
        char *end;
        const char *text = PQgetvalue(r, 0, i);
        double v = strtod(text, &end);
        if (end != text && !*end) {
            p->stats[i] = v;
            p->have_stat[i] = true;
        }
    }
}

/* Both queries are done: values, then the first failure, then thresholds. */
static void report(struct probe_postgres *p)
{
    struct sample *s = &p->run.s;
    s->latency_ms = p->query_ms;
    sample_value_set(s, "latency_seconds", p->query_ms / 1000.0);
    sample_value_set(s, "phase_connect_seconds", p->connect_ms / 1000.0);
    sample_value_set(s, "phase_query_seconds", (p->query_ms - p->connect_ms) / 1000.0);
    if (p->have_rows)
        sample_value_set(s, "query_rows", (double)p->rows);
    static const char *const names[N_COLS] = {"connections_used", "connections_max", "in_recovery",
                                              "replication_lag_seconds", "database_size_bytes",
                                              "longest_transaction_seconds"};
    for (int i = 0; i < N_COLS; i++)
        if (p->have_stat[i])
            sample_value_set(s, names[i], p->stats[i]);
    double used = p->have_stat[COL_USED] ? p->stats[COL_USED] : -1;
    double max = p->have_stat[COL_MAX] ? p->stats[COL_MAX] : -1;
    if (used >= 0 && max > 0)
        sample_value_set(s, "connections_used_ratio", used / max);

    if (p->query_err[0]) {
        fail(p, false, "%s", p->query_err);
        return;
    }
    if (p->expect_rows >= 0 && (!p->have_rows || p->rows != p->expect_rows)) {
        fail(p, false, "query returned %lld rows, expected %d", p->have_rows ? p->rows : 0LL, p->expect_rows);
        return;
    }
    if (p->stats_err[0]) {
        /* the query works, but the thresholds cannot be judged */
        snprintf(s->error, sizeof(s->error), "%s", p->stats_err);
        finish(p, SAMPLE_DEGRADED);
        return;
    }
    struct probe_postgres_conf c = {.connections_warn = p->conn_warn, .connections_crit = p->conn_crit,
                                    .replication_lag_warn_ms = p->lag_warn_ms,
                                    .replication_lag_crit_ms = p->lag_crit_ms};
    double lag = p->have_stat[COL_LAG] ? p->stats[COL_LAG] : -1;
    enum sample_result r = probe_postgres_conf_judge(&c, used, max, lag, s->error, sizeof(s->error));
    finish(p, r);
}

static void query_done(struct probe_postgres *p)
{
    if (p->phase == PHASE_QUERY) {
        p->query_ms = probe_run_elapsed_ms(&p->run);
        if (PQstatus(p->conn) == CONNECTION_OK) {
            send_query(p, PHASE_STATS, stats_sql);
            return;
        }
        snprintf(p->stats_err, sizeof(p->stats_err), "statistics query not sent: connection lost");
    }
    report(p);
}

static void step_query(struct probe_postgres *p, int events)
{
    if (events & UV_WRITABLE) {
        int rc = PQflush(p->conn);
        if (rc < 0) {
            fail_conn(p, "send failed");
            return;
        }
        if (rc == 0 && watch(p, UV_READABLE) != 0)
            return;
    }
    if (!(events & UV_READABLE))
        return;
    if (!PQconsumeInput(p->conn)) {
        fail_conn(p, "connection lost");
        return;
    }
    while (!PQisBusy(p->conn)) {
        PGresult *r = PQgetResult(p->conn);
        if (!r) {
            query_done(p);
            return;
        }
        ExecStatusType st = PQresultStatus(r);
        if (p->phase == PHASE_QUERY)
            take_query_result(p, r);
        else
            take_stats_result(p, r);
        PQclear(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            fail(p, false, "query started a COPY, which a check cannot run");
            return;
        }
    }
}

/* ---- connect ---- */

static void connected(struct probe_postgres *p)
{
    p->connect_ms = probe_run_elapsed_ms(&p->run);
    if (PQsetnonblocking(p->conn, 1) != 0) {
        fail_conn(p, "cannot make the connection non-blocking");
        return;
    }
    send_query(p, PHASE_QUERY, p->query);
}

static void step_connect(struct probe_postgres *p)
{
    switch (PQconnectPoll(p->conn)) {
    case PGRES_POLLING_READING:
        watch(p, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        watch(p, UV_WRITABLE);
        break;
    case PGRES_POLLING_OK:
        connected(p);
        break;
    default:
        fail_conn(p, "connection failed");
        break;
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct probe_postgres *p = h->data;
    if (p->run.done)
        return;
    /* libuv reports a socket error (EPOLLERR: a refused connect, a reset)
     * as UV_EBADF and stops the handle; libpq reads the real error from the
     * socket when it tries, and watch() restarts the handle if need be. */
    if (status < 0)
        events = UV_READABLE | UV_WRITABLE;
    if (p->phase == PHASE_CONNECT)
        step_connect(p);
    else
        step_query(p, events);
}

/* libpq prints notices on stderr by default; a check has no use for them. */
static void ignore_notice(void *arg, const char *message)
{
}

/* Thread pool: fills x_* from the URL (probe_postgres_conf_hosts_expand), then lets libpq
 * read its files and start connecting. Touches only p->url, x_*,
 * resolve_failed and conn. */
static void connect_work(uv_work_t *w)
{
    struct probe_postgres *p = w->data;
    const char *keys[8], *vals[8];
    int k = 0;
    /* before dbname: the URL may override them */
    keys[k] = "application_name", vals[k++] = "opshub";
    /* GSS encryption would ask Kerberos for credentials on the loop;
     * gssencmode=prefer (or require) in the URL brings it back. */
    keys[k] = "gssencmode", vals[k++] = "disable";
    keys[k] = "dbname", vals[k++] = p->url;
    int expanded = probe_postgres_conf_hosts_expand(p->url, p->x_host, sizeof(p->x_host), p->x_addr,
                                                    sizeof(p->x_addr), p->x_port, sizeof(p->x_port));
    if (expanded < 0) {
        p->resolve_failed = true;  /* the reason is in x_host */
        return;
    }
    if (expanded > 0) {
        keys[k] = "host", vals[k++] = p->x_host;
        keys[k] = "hostaddr", vals[k++] = p->x_addr;
        keys[k] = "port", vals[k++] = p->x_port;
    }
    keys[k] = NULL, vals[k] = NULL;
    p->conn = PQconnectStartParams(keys, vals, 1);
}

static void on_connect_started(uv_work_t *w, int status)
{
    struct probe_postgres *p = w->data;
    p->working = false;
    if (p->run.done) {
        unref(p);  /* frees p->conn with the run */
        return;
    }
    p->pending--;
    if (status < 0) {
        fail(p, false, "cannot start connecting: %s", uv_strerror(status));
        return;
    }
    if (p->resolve_failed) {
        fail(p, false, "%s", p->x_host);
        return;
    }
    if (!p->conn) {
        fail(p, false, "out of memory");
        return;
    }
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        fail_conn(p, "connection failed");
        return;
    }
    PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
    /* libpq: begin as if PQconnectPoll had asked to write */
    watch(p, UV_WRITABLE);
}

/* ---- timeout ---- */

static void on_timer(uv_timer_t *h)
{
    struct probe_postgres *p = h->data;
    if (p->run.done)
        return;
    if (p->failed) {
        finish(p, SAMPLE_DOWN);
        return;
    }
    fail(p, false, "timeout after %" PRId64 " ms (%s)", p->run.timeout_ms,
         p->phase == PHASE_CONNECT ? "connect" : "query");
}

/* ---- start ---- */

static const char *copy_str(char **at, const char *s)
{
    size_t n = strlen(s);
    char *d = *at;
    memcpy(d, s, n + 1);
    *at += n + 1;
    return d;
}

static struct probe_postgres *pg_alloc(const struct probe_postgres_conf *c)
{
    const char *url = c->url ? c->url : "";
    const char *query = c->query ? c->query : PROBE_POSTGRES_DEFAULT_QUERY;
    char *raw = NULL, *decoded = NULL;
    struct probe_postgres *p = NULL;
    if (probe_postgres_conf_passwords(url, &raw, &decoded) != 0)
        goto out;
    size_t need = strlen(url) + strlen(query) + 2 + (raw ? strlen(raw) + 1 : 0) + (decoded ? strlen(decoded) + 1 : 0);
    if (!(p = base_malloc(sizeof(*p) + need)))
        goto out;
    memset(p, 0, sizeof(*p));
    char *at = p->strings;
    p->url = copy_str(&at, url);
    p->query = copy_str(&at, query);
    int n = 0;
    p->secrets[n++] = p->url;
    if (raw)
        p->secrets[n++] = copy_str(&at, raw);
    if (decoded)
        p->secrets[n++] = copy_str(&at, decoded);
    p->expect_rows = c->expect_rows;
    p->conn_warn = c->connections_warn;
    p->conn_crit = c->connections_crit;
    p->lag_warn_ms = c->replication_lag_warn_ms;
    p->lag_crit_ms = c->replication_lag_crit_ms;
    p->connect_ms = p->query_ms = -1;
out:
    base_free(raw);
    base_free(decoded);
    return p;
}

static struct probe_run *pg_start(struct probe_engine *e, const struct conf_check *check)
{
    struct probe_postgres *p = pg_alloc(check->settings);
    if (!p)
        return NULL;
    probe_run_init(&p->run, e, check);
    uv_timer_init(e->loop, &p->timer);
    p->timer.data = p;
    p->work.data = p;
    p->pending = 1;
    uv_timer_start(&p->timer, on_timer, (uint64_t)p->run.timeout_ms, 0);
    int rc = uv_queue_work(e->loop, &p->work, connect_work, on_connect_started);
    if (rc) {
        fail(p, true, "cannot start connecting: %s", uv_strerror(rc));
        return &p->run;
    }
    p->working = true;
    p->pending++;
    return &p->run;
}

const struct conf_check_type probe_postgres_type = {
    .name = "postgres",
    .summary = "Connects to PostgreSQL, runs a query and reports connections, replication lag and size",
    .settings_size = sizeof(struct probe_postgres_conf),
    .fields = probe_postgres_conf_fields,
    .init = probe_postgres_conf_init,
    .validate = probe_postgres_conf_validate,
    .target = probe_postgres_conf_target,
    .values = probe_postgres_conf_values,
    .start = pg_start,
    .cancel = pg_cancel,
};
