/*
 * store/sqlite: the embedded SQLite backend of the store (WAL, synchronous=
 * NORMAL, busy_timeout 5 s). Owns one sqlite3 connection and its prepared
 * statements, reused across calls. Blocking: only the store thread calls it.
 * Creates the parent directory of the database file when missing. A
 * sample's values go into values_json (store/values.c); the timing columns
 * of older rows are read back as values. Also runs the domain
 * modules' parameterised statements (store/sql), with a small LRU cache of
 * their prepared statements keyed by SQL text.
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/err.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SQLITE_PATH_MAX 4096
#define SQLITE_CACHE_SIZE 16 /* prepared store/sql statements kept per connection */

enum stmt_id { ST_INSERT, ST_QUERY, ST_LATEST, ST_PURGE, ST_PING, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT] = "INSERT INTO samples (check_id, ts, result, latency_ms, code, error, values_json)"
                  " VALUES (?,?,?,?,?,?,?)",
    [ST_QUERY] = "SELECT check_id, ts, result, latency_ms, code, error, dns_ms, connect_ms,"
                 " tls_ms, ttfb_ms, values_json FROM samples WHERE check_id = ? AND ts >= ? AND ts <= ?"
                 " ORDER BY ts DESC LIMIT ?",
    /* SQLite takes the bare columns from the row holding MAX(ts). */
    [ST_LATEST] = "SELECT check_id, MAX(ts), result, latency_ms, code, error, dns_ms, connect_ms,"
                  " tls_ms, ttfb_ms, values_json FROM samples GROUP BY check_id ORDER BY check_id LIMIT ?",
    [ST_PURGE] = "DELETE FROM samples WHERE rowid IN"
                 " (SELECT rowid FROM samples WHERE ts < ? LIMIT ?)",
    [ST_PING] = "SELECT 1",
};

struct cached_stmt {
    char *sql;          /* owned key; NULL when the slot is free */
    sqlite3_stmt *st;
    uint64_t used;      /* LRU tick */
};

struct store_db {
    sqlite3 *h;
    sqlite3_stmt *st[ST_COUNT];
    struct cached_stmt cache[SQLITE_CACHE_SIZE];
    uint64_t tick;
};

static int fail_msg(struct store_db *db, int rc, const char *what, char *errbuf, size_t errlen)
{
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "sqlite %s: %s", what, db && db->h ? sqlite3_errmsg(db->h)
                                                                   : sqlite3_errstr(rc));
    if (rc == SQLITE_NOMEM)
        return BASE_ERR_NOMEM;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return BASE_ERR_BUSY;
    return BASE_ERR_IO;
}

int store_sqlite_path_from_url(const char *url, char *out, size_t n)
{
    static const char prefix[] = "sqlite://";
    if (!url || strncmp(url, prefix, sizeof(prefix) - 1) != 0)
        return BASE_ERR_INVALID;
    const char *path = url + sizeof(prefix) - 1;
    /* sqlite:///abs -> "/abs"; sqlite://rel -> "rel". */
    if (!*path || strcmp(path, ":memory:") == 0 || path[strlen(path) - 1] == '/')
        return BASE_ERR_INVALID;
    if (strchr(path, '?') || strchr(path, '#'))
        return BASE_ERR_INVALID;
    int len = snprintf(out, n, "%s", path);
    if (len < 0 || (size_t)len >= n)
        return BASE_ERR_TOO_BIG;
    return 0;
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, char *errbuf, size_t errlen)
{
    char dir[SQLITE_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            if (errbuf && errlen)
                snprintf(errbuf, errlen, "sqlite: cannot create directory %s: %s", dir, strerror(errno));
            return BASE_ERR_IO;
        }
        *p = c;
        if (!c)
            break;
    }
    return 0;
}

static void sqlite_close(struct store_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    for (int i = 0; i < SQLITE_CACHE_SIZE; i++) {
        sqlite3_finalize(db->cache[i].st);
        base_free(db->cache[i].sql);
    }
    sqlite3_close(db->h);
    base_free(db);
}

static int sqlite_exec(struct store_db *db, const char *sql, char *errbuf, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return rc == SQLITE_BUSY ? BASE_ERR_BUSY : BASE_ERR_IO;
    }
    return 0;
}

static int sqlite_open(const char *url, struct store_db **out, char *errbuf, size_t errlen)
{
    char path[SQLITE_PATH_MAX];
    *out = NULL;
    if (store_sqlite_path_from_url(url, path, sizeof(path)) != 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "sqlite: malformed URL (want sqlite:///abs/path.db or sqlite://rel/path.db)");
        return BASE_ERR_INVALID;
    }
    int rc = make_parent_dirs(path, errbuf, errlen);
    if (rc)
        return rc;
    struct store_db *db = base_calloc(1, sizeof(*db));
    if (!db)
        return BASE_ERR_NOMEM;
    int src = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                              SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = fail_msg(db, src, "open", errbuf, errlen);
        goto fail;
    }
    sqlite3_extended_result_codes(db->h, 0);
    rc = sqlite_exec(db, "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL;"
                         " PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", errbuf, errlen);
    if (rc)
        goto fail;
    *out = db;
    return 0;
fail:
    sqlite_close(db);
    return rc;
}

/* Statements are prepared on first use: the table exists only after migrate. */
static int stmt_get(struct store_db *db, enum stmt_id id, sqlite3_stmt **out,
                    char *errbuf, size_t errlen)
{
    if (!db->st[id]) {
        int rc = sqlite3_prepare_v2(db->h, stmt_sql[id], -1, &db->st[id], NULL);
        if (rc != SQLITE_OK)
            return fail_msg(db, rc, "prepare", errbuf, errlen);
    }
    sqlite3_reset(db->st[id]);
    sqlite3_clear_bindings(db->st[id]);
    *out = db->st[id];
    return 0;
}

static int sqlite_migrate(struct store_db *db, char *errbuf, size_t errlen)
{
    return store_migrate_apply(&store_sqlite_ops, db, errbuf, errlen);
}

static int insert_one(sqlite3_stmt *st, const struct sample_record *r)
{
    const struct sample *s = &r->s;
    char values[STORE_VALUES_TEXT_MAX];
    sqlite3_bind_text(st, 1, r->check_id, (int)strnlen(r->check_id, sizeof(r->check_id)), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->ts_ms);
    sqlite3_bind_int(st, 3, (int)s->result);
    sqlite3_bind_double(st, 4, s->latency_ms);
    sqlite3_bind_int(st, 5, s->code);
    sqlite3_bind_text(st, 6, s->error, (int)strnlen(s->error, sizeof(s->error)), SQLITE_STATIC);
    if (store_values_encode(s, values, sizeof(values)) == 0 && values[0])
        sqlite3_bind_text(st, 7, values, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 7);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

static int sqlite_insert_batch(struct store_db *db, const struct sample_record *recs, size_t n,
                               char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(db, ST_INSERT, &st, errbuf, errlen);
    if (rc)
        return rc;
    rc = sqlite_exec(db, "BEGIN IMMEDIATE", errbuf, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int src = insert_one(st, &recs[i]);
        if (src != SQLITE_DONE) {
            rc = fail_msg(db, src, "insert", errbuf, errlen);
            goto fail;
        }
    }
    rc = sqlite_exec(db, "COMMIT", errbuf, errlen);
    if (rc)
        goto fail;
    return 0;
fail:
    sqlite_exec(db, "ROLLBACK", NULL, 0);
    return rc;
}

static double column_timing(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? -1 : sqlite3_column_double(st, col);
}

static void copy_text(char *dst, size_t n, const unsigned char *src)
{
    snprintf(dst, n, "%s", src ? (const char *)src : "");
}

/* Steps st to the end, appending rows to a growing array of at most max. */
static int collect_rows(struct store_db *db, sqlite3_stmt *st, size_t max,
                        struct sample_record **out, size_t *n, char *errbuf, size_t errlen)
{
    struct sample_record *recs = NULL;
    size_t len = 0, cap = 0;
    int rc, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && len < max) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct sample_record *p = base_realloc(recs, ncap * sizeof(*recs));
            if (!p) {
                rc = BASE_ERR_NOMEM;
                goto fail;
            }
            recs = p;
            cap = ncap;
        }
        struct sample_record *r = &recs[len++];
        memset(r, 0, sizeof(*r));
        copy_text(r->check_id, sizeof(r->check_id), sqlite3_column_text(st, 0));
        r->s.ts_ms = sqlite3_column_int64(st, 1);
        r->s.result = (enum sample_result)sqlite3_column_int(st, 2);
        r->s.latency_ms = sqlite3_column_double(st, 3);
        r->s.code = sqlite3_column_int(st, 4);
        copy_text(r->s.error, sizeof(r->s.error), sqlite3_column_text(st, 5));
        if (sqlite3_column_type(st, 10) != SQLITE_NULL)
            store_values_decode((const char *)sqlite3_column_text(st, 10), &r->s);
        else
            store_values_from_legacy(&r->s, column_timing(st, 6), column_timing(st, 7), column_timing(st, 8),
                                     column_timing(st, 9));
    }
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = fail_msg(db, src, "query", errbuf, errlen);
        goto fail;
    }
    sqlite3_reset(st);
    *out = recs;
    *n = len;
    return 0;
fail:
    sqlite3_reset(st);
    base_free(recs);
    return rc;
}

static int sqlite_query_samples(struct store_db *db, const char *check_id, int64_t from_ms,
                                int64_t to_ms, int limit, struct sample_record **out, size_t *n,
                                char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(db, ST_QUERY, &st, errbuf, errlen);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, check_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    sqlite3_bind_int(st, 4, limit);
    return collect_rows(db, st, (size_t)limit, out, n, errbuf, errlen);
}

static int sqlite_query_latest(struct store_db *db, struct sample_record **out, size_t *n,
                               char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(db, ST_LATEST, &st, errbuf, errlen);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, STORE_LATEST_MAX);
    return collect_rows(db, st, STORE_LATEST_MAX, out, n, errbuf, errlen);
}

static int sqlite_purge_before(struct store_db *db, int64_t before_ms, size_t max_rows,
                               uint64_t *deleted, char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    *deleted = 0;
    int rc = stmt_get(db, ST_PURGE, &st, errbuf, errlen);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max_rows);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return fail_msg(db, src, "purge", errbuf, errlen);
    *deleted = (uint64_t)sqlite3_changes(db->h);
    return 0;
}

static int sqlite_ping(struct store_db *db, char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(db, ST_PING, &st, errbuf, errlen);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_ROW ? 0 : fail_msg(db, src, "ping", errbuf, errlen);
}

static int sqlite_query_int(struct store_db *db, const char *sql, int64_t *out,
                            char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    int src = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return fail_msg(db, src, "prepare", errbuf, errlen);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    int rc = (src == SQLITE_ROW || src == SQLITE_DONE) ? 0 : fail_msg(db, src, "query", errbuf, errlen);
    sqlite3_finalize(st);
    return rc;
}

/* ---- store/sql statements ---- */

/* Maps a failed prepare/step to a BASE_ERR_* code and an error message
 * (SQLite's messages name columns and constraints, never bound values). */
static int sql_fail(struct store_db *db, int src, const char *sql, char *errbuf, size_t errlen)
{
    int ext = sqlite3_extended_errcode(db->h);
    store_sql_error(errbuf, errlen, "sqlite", sql, sqlite3_errmsg(db->h));
    switch (src & 0xff) {
    case SQLITE_CONSTRAINT:
        return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY
                   ? BASE_ERR_EXISTS : BASE_ERR_INVALID;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BASE_ERR_BUSY;
    case SQLITE_NOMEM:
        return BASE_ERR_NOMEM;
    case SQLITE_TOOBIG:
        return BASE_ERR_TOO_BIG;
    case SQLITE_ERROR:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return BASE_ERR_INVALID;
    default:
        return BASE_ERR_IO;
    }
}

static int sql_invalid(const char *sql, const char *msg, char *errbuf, size_t errlen)
{
    store_sql_error(errbuf, errlen, "sqlite", sql, msg);
    return BASE_ERR_INVALID;
}

/* Prepares exactly one statement using only `?` placeholders; *out is owned
 * by the caller. */
static int sql_prepare(struct store_db *db, const char *sql, sqlite3_stmt **out,
                       char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL, *more = NULL;
    const char *tail = NULL;
    *out = NULL;
    int src = sqlite3_prepare_v2(db->h, sql, -1, &st, &tail);
    if (src != SQLITE_OK)
        return sql_fail(db, src, sql, errbuf, errlen);
    if (!st)
        return sql_invalid(sql, "empty statement", errbuf, errlen);
    /* What follows may only be blanks, semicolons and comments. */
    while (tail && *tail) {
        const char *next = NULL;
        src = sqlite3_prepare_v2(db->h, tail, -1, &more, &next);
        if (src != SQLITE_OK || more) {
            sqlite3_finalize(more);
            sqlite3_finalize(st);
            return sql_invalid(sql, "more than one statement", errbuf, errlen);
        }
        if (next == tail)
            break;
        tail = next;
    }
    int n = sqlite3_bind_parameter_count(st);
    for (int k = 1; k <= n; k++) {
        if (sqlite3_bind_parameter_name(st, k)) { /* ?NNN, :name, @name, $name */
            sqlite3_finalize(st);
            return sql_invalid(sql, "only bare ? placeholders are allowed", errbuf, errlen);
        }
    }
    *out = st;
    return 0;
}

/* The cached statement for sql, prepared on a miss (evicting the least
 * recently used). Borrowed: the cache finalizes it. */
static int sql_stmt_get(struct store_db *db, const char *sql, sqlite3_stmt **out,
                        char *errbuf, size_t errlen)
{
    struct cached_stmt *slot = &db->cache[0];
    for (int k = 0; k < SQLITE_CACHE_SIZE; k++) {
        struct cached_stmt *c = &db->cache[k];
        if (c->sql && strcmp(c->sql, sql) == 0) {
            c->used = ++db->tick;
            *out = c->st;
            return 0;
        }
        if (!c->sql || (slot->sql && c->used < slot->used))
            slot = c;
    }
    sqlite3_stmt *st = NULL;
    int rc = sql_prepare(db, sql, &st, errbuf, errlen);
    if (rc)
        return rc;
    char *key = base_strdup(sql);
    if (!key) {
        sqlite3_finalize(st);
        return BASE_ERR_NOMEM;
    }
    sqlite3_finalize(slot->st);
    base_free(slot->sql);
    slot->sql = key;
    slot->st = st;
    slot->used = ++db->tick;
    *out = st;
    return 0;
}

static int sql_bind(struct store_db *db, sqlite3_stmt *st, const char *sql,
                    const struct store_param *params, size_t n, char *errbuf, size_t errlen)
{
    int want = sqlite3_bind_parameter_count(st);
    if ((size_t)want != n) {
        char msg[96];
        snprintf(msg, sizeof(msg), "statement has %d placeholders, %zu parameters given", want, n);
        return sql_invalid(sql, msg, errbuf, errlen);
    }
    for (size_t k = 0; k < n; k++) {
        const struct store_param *p = &params[k];
        int col = (int)k + 1, src;
        switch (p->type) {
        case STORE_SQL_INT:
            src = sqlite3_bind_int64(st, col, p->i);
            break;
        case STORE_SQL_REAL:
            src = sqlite3_bind_double(st, col, p->d);
            break;
        case STORE_SQL_TEXT:
            src = sqlite3_bind_text(st, col, p->s, -1, SQLITE_STATIC);
            break;
        default:
            src = sqlite3_bind_null(st, col);
            break;
        }
        if (src != SQLITE_OK)
            return sql_fail(db, src, sql, errbuf, errlen);
    }
    return 0;
}

static int sql_row_add(struct store_sql_rows *b, sqlite3_stmt *st, int cols)
{
    for (int k = 0; k < cols; k++) {
        struct store_cell cell = {.type = STORE_SQL_NULL};
        switch (sqlite3_column_type(st, k)) {
        case SQLITE_INTEGER:
            cell.type = STORE_SQL_INT;
            cell.i = sqlite3_column_int64(st, k);
            break;
        case SQLITE_FLOAT:
            cell.type = STORE_SQL_REAL;
            cell.d = sqlite3_column_double(st, k);
            break;
        case SQLITE_TEXT:
        case SQLITE_BLOB:
            cell.type = STORE_SQL_TEXT;
            cell.s = (const char *)sqlite3_column_text(st, k);
            cell.len = (size_t)sqlite3_column_bytes(st, k);
            if (!cell.s)
                return BASE_ERR_NOMEM;
            break;
        default:
            break;
        }
        int rc = store_sql_rows_add(b, &cell);
        if (rc)
            return rc;
    }
    return store_sql_rows_end_row(b);
}

static int sqlite_sql_exec(struct store_db *db, const char *sql, const struct store_param *params,
                           size_t n, struct store_result *out, char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    struct store_sql_rows rows;
    store_sql_rows_init(&rows, 0);
    int rc = sql_stmt_get(db, sql, &st, errbuf, errlen);
    if (rc)
        return rc;
    rc = sql_bind(db, st, sql, params, n, errbuf, errlen);
    if (rc)
        goto out;
    sqlite3_int64 before = sqlite3_total_changes64(db->h);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        /* Counted after the first step: a schema change re-prepares. */
        int cols = sqlite3_column_count(st);
        if (rows.rows == 0)
            rows.cols = (size_t)cols;
        rc = sql_row_add(&rows, st, cols);
        if (rc == BASE_ERR_TOO_BIG) {
            char msg[96];
            snprintf(msg, sizeof(msg), "result larger than %d rows or %u bytes",
                     STORE_SQL_MAX_ROWS, STORE_SQL_MAX_BYTES);
            store_sql_error(errbuf, errlen, "sqlite", sql, msg);
            goto out;
        }
        if (rc) {
            store_sql_error(errbuf, errlen, "sqlite", sql, base_strerror(rc));
            goto out;
        }
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(db, src, sql, errbuf, errlen);
        goto out;
    }
    if (rows.rows == 0)
        rows.cols = (size_t)sqlite3_column_count(st);
    /* changes() keeps the last INSERT/UPDATE/DELETE's count: only trust it
     * when this statement changed something. */
    int64_t changes = sqlite3_total_changes64(db->h) != before ? sqlite3_changes64(db->h) : 0;
    rc = store_sql_rows_finish(&rows, out);
    if (rc)
        store_sql_error(errbuf, errlen, "sqlite", sql, base_strerror(rc));
    else
        out->changes = changes;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* the text was borrowed */
    store_sql_rows_free(&rows);
    return rc;
}

static bool sqlite_in_transaction(struct store_db *db)
{
    return db && db->h && !sqlite3_get_autocommit(db->h);
}

const struct store_backend_ops store_sqlite_ops = {
    .name = "sqlite",
    .dialect = STORE_DIALECT_SQLITE,
    .open = sqlite_open,
    .migrate = sqlite_migrate,
    .insert_batch = sqlite_insert_batch,
    .query_samples = sqlite_query_samples,
    .query_latest = sqlite_query_latest,
    .purge_before = sqlite_purge_before,
    .ping = sqlite_ping,
    .exec = sqlite_exec,
    .query_int = sqlite_query_int,
    .sql_exec = sqlite_sql_exec,
    .in_transaction = sqlite_in_transaction,
    .close = sqlite_close,
};
