/*
 * store/postgres: the PostgreSQL backend of the store, through blocking libpq
 * on the store thread (connect_timeout 5 s, TCP keepalives, statement_timeout
 * 10 s). Owns one PGconn. Batches are multi-row parameterised INSERTs in one
 * transaction. A lost connection is reported as BASE_ERR_UNAVAILABLE. Error
 * messages never carry the password: URLs are redacted and any libpq text is
 * scrubbed of the password and of the connection string before it is kept.
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_COLS 10
#define PG_ROWS_PER_STMT 500 /* 5,000 parameters per statement; the limit is 65,535 */
#define PG_NUM_MAX 32        /* "%.17g" of a double, or an int64, with room to spare */
#define PG_SQL_MAX (1024 * 1024)

struct store_db {
    PGconn *conn;
    char *secret; /* password from the URL, to scrub libpq messages; may be NULL */
    char *url;    /* to scrub as well, in case libpq echoes it */
};

static const char select_cols[] =
    "check_id, ts, result, latency_ms, code, error, dns_ms, connect_ms, tls_ms, ttfb_ms";

/* Copies msg into out without the secret and the URL, first line only. */
static void scrub(const char *msg, const char *secret, const char *url, char *out, size_t n)
{
    if (!n)
        return;
    snprintf(out, n, "%s", msg ? msg : "");
    out[strcspn(out, "\r\n")] = '\0';
    const char *needles[2] = {url, secret};
    for (int k = 0; k < 2; k++) {
        const char *s = needles[k];
        if (!s || !*s)
            continue;
        size_t sl = strlen(s);
        char *p;
        while ((p = strstr(out, s)) != NULL) {
            /* "***" is never longer than what it replaces unless sl < 3; then
             * overwrite in place with asterisks of the same length. */
            size_t put = sl < 3 ? sl : 3;
            memset(p, '*', put);
            memmove(p + put, p + sl, strlen(p + sl) + 1);
        }
    }
}

static int pg_fail(struct store_db *db, const char *what, const char *libpq_msg,
                   char *errbuf, size_t errlen)
{
    if (errbuf && errlen) {
        char clean[512];
        scrub(libpq_msg, db ? db->secret : NULL, db ? db->url : NULL, clean, sizeof(clean));
        snprintf(errbuf, errlen, "postgres %s: %s", what, clean);
    }
    if (db && db->conn && PQstatus(db->conn) != CONNECTION_OK)
        return BASE_ERR_UNAVAILABLE;
    return BASE_ERR_IO;
}

/* Runs a command and checks its status; frees the result. */
static int pg_command(struct store_db *db, PGresult *res, ExecStatusType want, const char *what,
                      char *errbuf, size_t errlen)
{
    int rc = 0;
    if (!res)
        rc = pg_fail(db, what, PQerrorMessage(db->conn), errbuf, errlen);
    else if (PQresultStatus(res) != want)
        rc = pg_fail(db, what, PQresultErrorMessage(res), errbuf, errlen);
    PQclear(res);
    return rc;
}

static int pg_exec(struct store_db *db, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(db->conn, sql);
    /* Several statements: PQexec returns the last result. */
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return pg_command(db, res, st == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK,
                      "exec", errbuf, errlen);
}

static void pg_close(struct store_db *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    base_free(db->secret);
    base_free(db->url);
    base_free(db);
}

int store_postgres_url_check(const char *url, char *errbuf, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (!opts) {
        /* libpq's message may quote the URL, and a URL malformed enough may
         * defeat redaction: say only that it is malformed. */
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "postgres: malformed connection URL"
                     " (want postgres://user:password@host:port/dbname, percent-encoded)");
        PQfreemem(msg);
        return BASE_ERR_INVALID;
    }
    PQconninfoFree(opts);
    return 0;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* libpq prints notices to stderr by default; the store has nothing to say about them. */
static void ignore_notice(void *arg, const char *message)
{
}

static char *url_password(const char *url)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    char *pw = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            pw = base_strdup(o->val);
    PQconninfoFree(opts);
    return pw;
}

static int pg_open(const char *url, struct store_db **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    int rc = store_postgres_url_check(url, errbuf, errlen);
    if (rc)
        return rc;
    struct store_db *db = base_calloc(1, sizeof(*db));
    if (!db || !(db->url = base_strdup(url))) {
        base_free(db);
        return BASE_ERR_NOMEM;
    }
    db->secret = url_password(url);
    /* Keywords after dbname override the URL's own: the timeouts are not optional. */
    const char *keys[] = {"dbname", "connect_timeout", "keepalives", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                          "application_name", NULL};
    const char *vals[] = {url, "5", "1", "30", "10", "3", "15000", "opshub", NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn) {
        rc = BASE_ERR_NOMEM;
        goto fail;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        /* Name the target by its parsed parts, never by the URL itself. */
        char clean[512];
        scrub(PQerrorMessage(db->conn), db->secret, db->url, clean, sizeof(clean));
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "postgres connect to %s:%s/%s: %s", or_empty(PQhost(db->conn)),
                     or_empty(PQport(db->conn)), or_empty(PQdb(db->conn)), clean);
        rc = BASE_ERR_UNAVAILABLE;
        goto fail;
    }
    PQsetNoticeProcessor(db->conn, ignore_notice, NULL);
    /* extra_float_digits > 0 makes float8 output shortest-exact (PG >= 12). */
    rc = pg_exec(db, "SET statement_timeout = '10s'; SET extra_float_digits = 3;"
                     " SET client_min_messages = warning", errbuf, errlen);
    if (rc)
        goto fail;
    *out = db;
    return 0;
fail:
    pg_close(db);
    return rc;
}

static int pg_migrate(struct store_db *db, char *errbuf, size_t errlen)
{
    return store_migrate_apply(&store_postgres_ops, db, errbuf, errlen);
}

static void fmt_timing(char *buf, double v, const char **param)
{
    if (v < 0) {
        *param = NULL;
        return;
    }
    snprintf(buf, PG_NUM_MAX, "%.17g", v);
    *param = buf;
}

static int insert_chunk(struct store_db *db, const struct sample_record *recs, size_t n,
                        const char **params, char (*nums)[PG_NUM_MAX], char *errbuf, size_t errlen)
{
    struct base_buf sql;
    base_buf_init(&sql, PG_SQL_MAX);
    int rc = base_buf_appendf(&sql, "INSERT INTO samples (%s) VALUES ", select_cols);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t b = i * PG_COLS;
        rc = base_buf_appendf(&sql, "%s($%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu)",
                              i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7,
                              b + 8, b + 9, b + 10);
        const struct sample *s = &recs[i].s;
        const char **p = params + b;
        char (*num)[PG_NUM_MAX] = nums + b;
        p[0] = recs[i].check_id;
        snprintf(num[1], PG_NUM_MAX, "%" PRId64, s->ts_ms);
        p[1] = num[1];
        snprintf(num[2], PG_NUM_MAX, "%d", (int)s->result);
        p[2] = num[2];
        snprintf(num[3], PG_NUM_MAX, "%.17g", s->latency_ms);
        p[3] = num[3];
        snprintf(num[4], PG_NUM_MAX, "%d", s->code);
        p[4] = num[4];
        p[5] = s->error;
        fmt_timing(num[6], s->dns_ms, &p[6]);
        fmt_timing(num[7], s->connect_ms, &p[7]);
        fmt_timing(num[8], s->tls_ms, &p[8]);
        fmt_timing(num[9], s->ttfb_ms, &p[9]);
    }
    if (rc) {
        base_buf_free(&sql);
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "postgres insert: %s", base_strerror(rc));
        return rc;
    }
    PGresult *res = PQexecParams(db->conn, sql.data, (int)(n * PG_COLS), NULL, params,
                                 NULL, NULL, 0);
    base_buf_free(&sql);
    return pg_command(db, res, PGRES_COMMAND_OK, "insert", errbuf, errlen);
}

static int pg_insert_batch(struct store_db *db, const struct sample_record *recs, size_t n,
                           char *errbuf, size_t errlen)
{
    size_t per = n < PG_ROWS_PER_STMT ? n : PG_ROWS_PER_STMT;
    const char **params = base_calloc(per * PG_COLS, sizeof(*params));
    char (*nums)[PG_NUM_MAX] = base_calloc(per * PG_COLS, sizeof(*nums));
    int rc = BASE_ERR_NOMEM;
    if (!params || !nums)
        goto out;
    rc = pg_exec(db, "BEGIN", errbuf, errlen);
    if (rc)
        goto out;
    for (size_t off = 0; off < n; off += per) {
        size_t k = n - off < per ? n - off : per;
        rc = insert_chunk(db, recs + off, k, params, nums, errbuf, errlen);
        if (rc)
            break;
    }
    if (!rc)
        rc = pg_exec(db, "COMMIT", errbuf, errlen);
    if (rc && PQstatus(db->conn) == CONNECTION_OK)
        pg_exec(db, "ROLLBACK", NULL, 0);
    if (rc && PQstatus(db->conn) != CONNECTION_OK)
        rc = BASE_ERR_UNAVAILABLE;
out:
    base_free(params);
    base_free(nums);
    return rc;
}

static double parse_timing(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? -1 : strtod(PQgetvalue(res, row, col), NULL);
}

/* Converts a result with select_cols into a record array owned by the caller. */
static int rows_to_records(const PGresult *res, size_t max, struct sample_record **out, size_t *n)
{
    size_t rows = (size_t)PQntuples(res);
    if (rows > max)
        rows = max;
    *out = NULL;
    *n = 0;
    if (!rows)
        return 0;
    struct sample_record *recs = base_calloc(rows, sizeof(*recs));
    if (!recs)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < rows; i++) {
        int r = (int)i;
        struct sample_record *rec = &recs[i];
        snprintf(rec->check_id, sizeof(rec->check_id), "%s", PQgetvalue(res, r, 0));
        rec->s.ts_ms = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        rec->s.result = (enum sample_result)atoi(PQgetvalue(res, r, 2));
        rec->s.latency_ms = strtod(PQgetvalue(res, r, 3), NULL);
        rec->s.code = atoi(PQgetvalue(res, r, 4));
        snprintf(rec->s.error, sizeof(rec->s.error), "%s", PQgetvalue(res, r, 5));
        rec->s.dns_ms = parse_timing(res, r, 6);
        rec->s.connect_ms = parse_timing(res, r, 7);
        rec->s.tls_ms = parse_timing(res, r, 8);
        rec->s.ttfb_ms = parse_timing(res, r, 9);
    }
    *out = recs;
    *n = rows;
    return 0;
}

static int query_records(struct store_db *db, const char *sql, int nparams, const char *const *params,
                         size_t max, struct sample_record **out, size_t *n, char *errbuf, size_t errlen)
{
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_command(db, res, PGRES_TUPLES_OK, "query", errbuf, errlen);
    int rc = rows_to_records(res, max, out, n);
    PQclear(res);
    return rc;
}

static int pg_query_samples(struct store_db *db, const char *check_id, int64_t from_ms,
                            int64_t to_ms, int limit, struct sample_record **out, size_t *n,
                            char *errbuf, size_t errlen)
{
    char from[PG_NUM_MAX], to[PG_NUM_MAX], lim[PG_NUM_MAX], sql[400];
    snprintf(from, sizeof(from), "%" PRId64, from_ms);
    snprintf(to, sizeof(to), "%" PRId64, to_ms);
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(sql, sizeof(sql), "SELECT %s FROM samples WHERE check_id = $1 AND ts >= $2 AND ts <= $3"
             " ORDER BY ts DESC LIMIT $4", select_cols);
    const char *params[] = {check_id, from, to, lim};
    return query_records(db, sql, 4, params, (size_t)limit, out, n, errbuf, errlen);
}

static int pg_query_latest(struct store_db *db, struct sample_record **out, size_t *n,
                           char *errbuf, size_t errlen)
{
    char sql[400];
    snprintf(sql, sizeof(sql), "SELECT DISTINCT ON (check_id) %s FROM samples"
             " ORDER BY check_id, ts DESC LIMIT %d", select_cols, STORE_LATEST_MAX);
    return query_records(db, sql, 0, NULL, STORE_LATEST_MAX, out, n, errbuf, errlen);
}

static int pg_purge_before(struct store_db *db, int64_t before_ms, size_t max_rows,
                           uint64_t *deleted, char *errbuf, size_t errlen)
{
    char before[PG_NUM_MAX], lim[PG_NUM_MAX];
    *deleted = 0;
    snprintf(before, sizeof(before), "%" PRId64, before_ms);
    snprintf(lim, sizeof(lim), "%zu", max_rows);
    const char *params[] = {before, lim};
    PGresult *res = PQexecParams(db->conn, "DELETE FROM samples WHERE ctid IN"
                                 " (SELECT ctid FROM samples WHERE ts < $1 LIMIT $2)",
                                 2, NULL, params, NULL, NULL, 0);
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
        *deleted = strtoull(PQcmdTuples(res), NULL, 10);
    return pg_command(db, res, PGRES_COMMAND_OK, "purge", errbuf, errlen);
}

static int pg_query_int(struct store_db *db, const char *sql, int64_t *out, char *errbuf, size_t errlen)
{
    *out = 0;
    PGresult *res = PQexec(db->conn, sql);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return pg_command(db, res, PGRES_TUPLES_OK, "query", errbuf, errlen);
}

static int pg_ping(struct store_db *db, char *errbuf, size_t errlen)
{
    if (PQstatus(db->conn) != CONNECTION_OK)
        return pg_fail(db, "ping", "connection lost", errbuf, errlen);
    int64_t one = 0;
    return pg_query_int(db, "SELECT 1", &one, errbuf, errlen);
}

const struct store_backend_ops store_postgres_ops = {
    .name = "postgres",
    .dialect = STORE_DIALECT_POSTGRES,
    .open = pg_open,
    .migrate = pg_migrate,
    .insert_batch = pg_insert_batch,
    .query_samples = pg_query_samples,
    .query_latest = pg_query_latest,
    .purge_before = pg_purge_before,
    .ping = pg_ping,
    .exec = pg_exec,
    .query_int = pg_query_int,
    .close = pg_close,
};
