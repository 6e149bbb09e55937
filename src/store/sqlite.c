/*
 * store/sqlite: the embedded SQLite backend of the store (WAL, synchronous=
 * NORMAL, busy_timeout 5 s). Owns one sqlite3 connection and its prepared
 * statements, reused across calls. Blocking: only the store thread calls it.
 * Creates the parent directory of the database file when missing. Negative
 * timings are stored as NULL and read back as -1.
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/err.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SQLITE_PATH_MAX 4096

enum stmt_id { ST_INSERT, ST_QUERY, ST_LATEST, ST_PURGE, ST_PING, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT] = "INSERT INTO samples (check_id, ts, result, latency_ms, code, error,"
                  " dns_ms, connect_ms, tls_ms, ttfb_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
    [ST_QUERY] = "SELECT check_id, ts, result, latency_ms, code, error, dns_ms, connect_ms,"
                 " tls_ms, ttfb_ms FROM samples WHERE check_id = ? AND ts >= ? AND ts <= ?"
                 " ORDER BY ts DESC LIMIT ?",
    /* SQLite takes the bare columns from the row holding MAX(ts). */
    [ST_LATEST] = "SELECT check_id, MAX(ts), result, latency_ms, code, error, dns_ms, connect_ms,"
                  " tls_ms, ttfb_ms FROM samples GROUP BY check_id ORDER BY check_id LIMIT ?",
    [ST_PURGE] = "DELETE FROM samples WHERE rowid IN"
                 " (SELECT rowid FROM samples WHERE ts < ? LIMIT ?)",
    [ST_PING] = "SELECT 1",
};

struct store_db {
    sqlite3 *h;
    sqlite3_stmt *st[ST_COUNT];
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

static void bind_timing(sqlite3_stmt *st, int col, double v)
{
    if (v < 0)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_double(st, col, v);
}

static int insert_one(sqlite3_stmt *st, const struct sample_record *r)
{
    const struct sample *s = &r->s;
    sqlite3_bind_text(st, 1, r->check_id, (int)strnlen(r->check_id, sizeof(r->check_id)), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->ts_ms);
    sqlite3_bind_int(st, 3, (int)s->result);
    sqlite3_bind_double(st, 4, s->latency_ms);
    sqlite3_bind_int(st, 5, s->code);
    sqlite3_bind_text(st, 6, s->error, (int)strnlen(s->error, sizeof(s->error)), SQLITE_STATIC);
    bind_timing(st, 7, s->dns_ms);
    bind_timing(st, 8, s->connect_ms);
    bind_timing(st, 9, s->tls_ms);
    bind_timing(st, 10, s->ttfb_ms);
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
        r->s.dns_ms = column_timing(st, 6);
        r->s.connect_ms = column_timing(st, 7);
        r->s.tls_ms = column_timing(st, 8);
        r->s.ttfb_ms = column_timing(st, 9);
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
    .close = sqlite_close,
};
