/*
 * store/postgres: the PostgreSQL backend of the store, through blocking libpq
 * on the store thread (connect_timeout 5 s, TCP keepalives, statement_timeout
 * 10 s). Owns one PGconn. Batches are multi-row parameterised INSERTs in one
 * transaction. A lost connection is reported as BASE_ERR_UNAVAILABLE. Error
 * messages never carry the password: URLs are redacted and any libpq text is
 * scrubbed of the password and of the connection string before it is kept.
 * Also runs the domain modules' statements (store/sql): `?` placeholders are
 * renumbered to $1..$n outside quoted text and comments, values go as text
 * parameters, and result columns are typed by their PostgreSQL type.
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/num.h"

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_COLS 7
#define PG_ROWS_PER_STMT 500 /* 3,500 parameters per statement; the limit is 65,535 */
#define PG_NUM_MAX BASE_NUM_MAX /* a double (base_num_format, %.17g), or an int64 */
#define PG_SQL_MAX (1024 * 1024)

struct store_db {
    PGconn *conn;
    char *secret; /* password from the URL, to scrub libpq messages; may be NULL */
    char *url;    /* to scrub as well, in case libpq echoes it */
};

static const char insert_cols[] = "check_id, ts, result, latency_ms, code, error, values_json";
/* The timing columns are only set on rows written before migration 4. */
static const char select_cols[] =
    "check_id, ts, result, latency_ms, code, error, dns_ms, connect_ms, tls_ms, ttfb_ms, values_json";

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
                     " SET client_min_messages = warning; SET client_encoding = 'UTF8'",
                 errbuf, errlen);
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

static int insert_chunk(struct store_db *db, const struct sample_record *recs, size_t n,
                        const char **params, char (*nums)[PG_NUM_MAX], char (*values)[STORE_VALUES_TEXT_MAX],
                        char *errbuf, size_t errlen)
{
    struct base_buf sql;
    base_buf_init(&sql, PG_SQL_MAX);
    int rc = base_buf_appendf(&sql, "INSERT INTO samples (%s) VALUES ", insert_cols);
    for (size_t i = 0; i < n && !rc; i++) {
        size_t b = i * PG_COLS;
        rc = base_buf_appendf(&sql, "%s($%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu)",
                              i ? "," : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7);
        const struct sample *s = &recs[i].s;
        const char **p = params + b;
        char (*num)[PG_NUM_MAX] = nums + b;
        p[0] = recs[i].check_id;
        snprintf(num[1], PG_NUM_MAX, "%" PRId64, s->ts_ms);
        p[1] = num[1];
        snprintf(num[2], PG_NUM_MAX, "%d", (int)s->result);
        p[2] = num[2];
        base_num_format(s->latency_ms, num[3]); /* finite: the store keeps no other */
        p[3] = num[3];
        snprintf(num[4], PG_NUM_MAX, "%d", s->code);
        p[4] = num[4];
        p[5] = s->error;
        p[6] = store_values_encode(s, values[i], STORE_VALUES_TEXT_MAX) == 0 && values[i][0] ? values[i] : NULL;
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
    char (*values)[STORE_VALUES_TEXT_MAX] = base_calloc(per, sizeof(*values));
    int rc = BASE_ERR_NOMEM;
    if (!params || !nums || !values)
        goto out;
    rc = pg_exec(db, "BEGIN", errbuf, errlen);
    if (rc)
        goto out;
    for (size_t off = 0; off < n; off += per) {
        size_t k = n - off < per ? n - off : per;
        rc = insert_chunk(db, recs + off, k, params, nums, values, errbuf, errlen);
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
    base_free(values);
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
        if (!PQgetisnull(res, r, 10))
            store_values_decode(PQgetvalue(res, r, 10), &rec->s);
        else
            store_values_from_legacy(&rec->s, parse_timing(res, r, 6), parse_timing(res, r, 7),
                                     parse_timing(res, r, 8), parse_timing(res, r, 9));
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

/* ---- store/sql statements ---- */

#define PG_OID_BOOL 16
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_NUMERIC 1700

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Copies sql into out with every `?` outside '...' strings (E'...' with
 * backslash escapes), "..." identifiers, -- and (nested) block comments
 * replaced by $1..$n; *count says how many. */
static int rewrite_placeholders(const char *sql, struct base_buf *out, size_t *count)
{
    size_t n = 0;
    const char *p = sql;
    int rc = 0;
    while (*p && !rc) {
        const char *start = p;
        if (*p == '\'' || *p == '"') {
            char q = *p;
            bool esc = q == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                       (p - 1 == sql || !ident_char(p[-2]));
            for (p++; *p && *p != q; p++)
                if (esc && *p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 0;
            while (*p) {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    p += 2;
                    if (--depth == 0)
                        break;
                } else {
                    p++;
                }
            }
        } else if (*p == '?') {
            rc = base_buf_appendf(out, "$%zu", ++n);
            p++;
            continue;
        } else {
            p++;
        }
        rc = base_buf_append(out, start, (size_t)(p - start));
    }
    *count = n;
    return rc;
}

static const char *sqlstate_of(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s && strlen(s) == 5 ? s : "";
}

/* Maps a failed statement to a BASE_ERR_* code and a message: the primary
 * message only (the DETAIL line quotes key values), scrubbed of the
 * password, and cut before the first quote for data exceptions, whose
 * messages quote the offending value. */
static int pg_sql_fail(struct store_db *db, const PGresult *res, const char *sql,
                       char *errbuf, size_t errlen)
{
    const char *state = sqlstate_of(res);
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!primary)
        primary = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
    int rc;
    if (PQstatus(db->conn) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
        strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        rc = BASE_ERR_UNAVAILABLE;
    else if (strcmp(state, "23505") == 0)
        rc = BASE_ERR_EXISTS;
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        rc = BASE_ERR_BUSY;
    else if (strcmp(state, "57014") == 0)
        rc = BASE_ERR_TIMEOUT;
    else if (strcmp(state, "54000") == 0 || strcmp(state, "54001") == 0)
        rc = BASE_ERR_TOO_BIG;
    else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
             strncmp(state, "42", 2) == 0 || strncmp(state, "0A", 2) == 0 ||
             strncmp(state, "25", 2) == 0 || strncmp(state, "2B", 2) == 0)
        rc = BASE_ERR_INVALID;
    else if (strcmp(state, "53200") == 0)
        rc = BASE_ERR_NOMEM;
    else
        rc = BASE_ERR_IO;
    if (errbuf && errlen) {
        char clean[256], msg[300];
        scrub(primary, db->secret, db->url, clean, sizeof(clean));
        if (strncmp(state, "22", 2) == 0) {
            clean[strcspn(clean, "\"")] = '\0';
            size_t len = strlen(clean);
            while (len && (clean[len - 1] == ' ' || clean[len - 1] == ':'))
                clean[--len] = '\0';
        }
        if (*state)
            snprintf(msg, sizeof(msg), "%s (SQLSTATE %s)", clean, state);
        else
            snprintf(msg, sizeof(msg), "%s", clean);
        store_sql_error(errbuf, errlen, "postgres", sql, msg);
    }
    return rc;
}

static int pg_cell(const PGresult *res, int r, int c, struct store_cell *cell)
{
    memset(cell, 0, sizeof(*cell));
    if (PQgetisnull(res, r, c)) {
        cell->type = STORE_SQL_NULL;
        return 0;
    }
    const char *v = PQgetvalue(res, r, c);
    switch (PQftype(res, c)) {
    case PG_OID_INT2:
    case PG_OID_INT4:
    case PG_OID_INT8:
        cell->type = STORE_SQL_INT;
        cell->i = strtoll(v, NULL, 10);
        break;
    case PG_OID_BOOL:
        cell->type = STORE_SQL_INT;
        cell->i = v[0] == 't';
        break;
    case PG_OID_FLOAT4:
    case PG_OID_FLOAT8:
    case PG_OID_NUMERIC:
        cell->type = STORE_SQL_REAL;
        cell->d = strtod(v, NULL);
        break;
    default:
        cell->type = STORE_SQL_TEXT;
        cell->s = v;
        cell->len = (size_t)PQgetlength(res, r, c);
        break;
    }
    return 0;
}

static int pg_collect(const PGresult *res, struct store_result *out)
{
    struct store_sql_rows rows;
    int nrows = PQntuples(res), ncols = PQnfields(res);
    if (nrows > STORE_SQL_MAX_ROWS)
        return BASE_ERR_TOO_BIG;
    store_sql_rows_init(&rows, (size_t)ncols);
    int rc = 0;
    for (int r = 0; r < nrows && !rc; r++) {
        for (int c = 0; c < ncols && !rc; c++) {
            struct store_cell cell;
            pg_cell(res, r, c, &cell);
            rc = store_sql_rows_add(&rows, &cell);
        }
        if (!rc)
            rc = store_sql_rows_end_row(&rows);
    }
    if (!rc)
        rc = store_sql_rows_finish(&rows, out);
    store_sql_rows_free(&rows);
    if (rc)
        return rc;
    /* PQcmdTuples counts SELECTed rows too; changes means written rows. */
    if (strncmp(PQcmdStatus((PGresult *)res), "SELECT", 6) != 0)
        out->changes = strtoll(PQcmdTuples((PGresult *)res), NULL, 10);
    return 0;
}

static int pg_sql_exec(struct store_db *db, const char *sql, const struct store_param *params,
                       size_t n, struct store_result *out, char *errbuf, size_t errlen)
{
    struct base_buf text;
    const char *values[STORE_SQL_MAX_PARAMS];
    char nums[STORE_SQL_MAX_PARAMS][PG_NUM_MAX];
    PGresult *res = NULL;
    char msg[96];
    size_t count = 0;
    int rc;
    base_buf_init(&text, PG_SQL_MAX);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        store_sql_error(errbuf, errlen, "postgres", sql, "connection lost");
        rc = BASE_ERR_UNAVAILABLE;
        goto out;
    }
    rc = rewrite_placeholders(sql, &text, &count);
    if (rc) {
        store_sql_error(errbuf, errlen, "postgres", sql, "statement too long");
        goto out;
    }
    if (count != n || n > STORE_SQL_MAX_PARAMS) {
        snprintf(msg, sizeof(msg), "statement has %zu placeholders, %zu parameters given", count, n);
        store_sql_error(errbuf, errlen, "postgres", sql, msg);
        rc = BASE_ERR_INVALID;
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        const struct store_param *p = &params[k];
        values[k] = NULL;
        if (p->type == STORE_SQL_INT) {
            snprintf(nums[k], PG_NUM_MAX, "%" PRId64, p->i);
            values[k] = nums[k];
        } else if (p->type == STORE_SQL_REAL) {
            snprintf(nums[k], PG_NUM_MAX, "%.17g", p->d);
            values[k] = nums[k];
        } else if (p->type == STORE_SQL_TEXT) {
            values[k] = p->s;
        }
    }
    res = PQexecParams(db->conn, text.data ? text.data : "", (int)n, NULL, values, NULL, NULL, 0);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_EMPTY_QUERY) {
        store_sql_error(errbuf, errlen, "postgres", sql, "empty statement");
        rc = BASE_ERR_INVALID;
    } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        rc = pg_sql_fail(db, res, sql, errbuf, errlen);
    } else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0 && strncasecmp(sql, "COMMIT", 6) == 0) {
        /* COMMIT of a transaction an earlier error aborted "succeeds" as a rollback. */
        store_sql_error(errbuf, errlen, "postgres", sql,
                        "transaction aborted by an earlier error, rolled back");
        rc = BASE_ERR_INVALID;
    } else {
        rc = pg_collect(res, out);
        if (rc == BASE_ERR_TOO_BIG) {
            snprintf(msg, sizeof(msg), "result larger than %d rows or %u bytes",
                     STORE_SQL_MAX_ROWS, STORE_SQL_MAX_BYTES);
            store_sql_error(errbuf, errlen, "postgres", sql, msg);
        } else if (rc) {
            store_sql_error(errbuf, errlen, "postgres", sql, base_strerror(rc));
        }
    }
out:
    PQclear(res);
    base_buf_free(&text);
    return rc;
}

static bool pg_in_transaction(struct store_db *db)
{
    PGTransactionStatusType t = PQtransactionStatus(db->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
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
    .sql_exec = pg_sql_exec,
    .in_transaction = pg_in_transaction,
    .close = pg_close,
};
