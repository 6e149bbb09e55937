/*
 * store/store_int: private contract between store.c and its backends
 * (sqlite.c, postgres.c) and the migration driver (migrate.c). A backend is a
 * table of blocking functions on an opaque connection handle; they are only
 * ever called on the store thread, one at a time, never on the loop. No other
 * folder includes this header (tests/store may, to run the backend suite).
 */
#ifndef STORE_STORE_INT_H
#define STORE_STORE_INT_H

#include "base/err.h"
#include "model/sample.h"
#include "store/sql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rows deleted per purge statement, so one purge never holds a long lock. */
#define STORE_PURGE_CHUNK 5000
/* Upper bound on rows returned by one query (latest: number of checks). */
#define STORE_QUERY_MAX 10000
#define STORE_LATEST_MAX 100000

struct store_db; /* one backend connection; defined by each backend */

enum store_dialect { STORE_DIALECT_SQLITE, STORE_DIALECT_POSTGRES };

/*
 * Every function returns 0 or a negative BASE_ERR_* code and, on failure,
 * writes a person-readable message without secrets into errbuf (which may be
 * NULL). BASE_ERR_UNAVAILABLE means the connection is lost: the caller closes
 * it and reconnects later. Record arrays returned through out-params are
 * allocated with base_malloc and owned by the caller (base_free).
 */
struct store_backend_ops {
    const char *name;
    enum store_dialect dialect;
    /* Connects; *out owned by the caller until close. */
    int (*open)(const char *url, struct store_db **out, char *errbuf, size_t errlen);
    /* Applies missing migrations (store_migrate_apply with this dialect). */
    int (*migrate)(struct store_db *db, char *errbuf, size_t errlen);
    /* Inserts all n records in one transaction: all or nothing. */
    int (*insert_batch)(struct store_db *db, const struct sample_record *recs, size_t n,
                        char *errbuf, size_t errlen);
    /* Samples of one check with from <= ts <= to, newest first, at most limit. */
    int (*query_samples)(struct store_db *db, const char *check_id, int64_t from_ms, int64_t to_ms,
                         int limit, struct sample_record **out, size_t *n, char *errbuf, size_t errlen);
    /* Newest sample of every check, at most STORE_LATEST_MAX, ordered by check id. */
    int (*query_latest)(struct store_db *db, struct sample_record **out, size_t *n,
                        char *errbuf, size_t errlen);
    /* Deletes at most max_rows samples with ts < before_ms; *deleted says how many. */
    int (*purge_before)(struct store_db *db, int64_t before_ms, size_t max_rows, uint64_t *deleted,
                        char *errbuf, size_t errlen);
    /* SELECT 1. */
    int (*ping)(struct store_db *db, char *errbuf, size_t errlen);
    /* Runs SQL without results (several statements allowed). */
    int (*exec)(struct store_db *db, const char *sql, char *errbuf, size_t errlen);
    /* Runs a query whose first column of the first row is an integer (NULL or no row: 0). */
    int (*query_int)(struct store_db *db, const char *sql, int64_t *out, char *errbuf, size_t errlen);
    /* One parameterised statement with `?` placeholders (store_sql_exec's
     * contract; sql.c has already checked n_params and the text values).
     * Fills *out (zeroed by the caller) with store_sql_rows. */
    int (*sql_exec)(struct store_db *db, const char *sql, const struct store_param *params,
                    size_t n_params, struct store_result *out, char *errbuf, size_t errlen);
    /* True while a transaction is open (or failed and not yet rolled back). */
    bool (*in_transaction)(struct store_db *db);
    void (*close)(struct store_db *db);
};

extern const struct store_backend_ops store_sqlite_ops;
extern const struct store_backend_ops store_postgres_ops;

/* Backend for a URL ("sqlite://", "postgres://", "postgresql://"), or NULL. */
const struct store_backend_ops *store_backend_for_url(const char *url);

/* migrate.c: the newest schema version this binary knows. */
int store_migrate_latest_version(void);
/* Creates schema_migrations if needed and applies every missing migration in
 * order, each in its own transaction (safe against a concurrent migrator).
 * BASE_ERR_INVALID when the database is newer than this binary. */
int store_migrate_apply(const struct store_backend_ops *ops, struct store_db *db,
                        char *errbuf, size_t errlen);

/* sql.c: a connection as the domain modules see it. The store thread wraps
 * its own (ops, db) in one on the stack for store_call; store_conn_open
 * allocates one that owns its db. */
struct store_conn {
    const struct store_backend_ops *ops;
    struct store_db *db;
};

/* sql.c: builds a struct store_result row by row (the backends' common
 * result path). Text is copied; everything ends up in one allocation owned
 * by the result. Bounded by STORE_SQL_MAX_ROWS and STORE_SQL_MAX_BYTES. */
struct store_sql_rows {
    size_t cols, rows, ncells, cap;
    struct store_cell *cells; /* TEXT cells keep their offset into text in .i until finish */
    char *text;
    size_t text_len, text_cap;
};
void store_sql_rows_init(struct store_sql_rows *b, size_t cols);
void store_sql_rows_free(struct store_sql_rows *b);
/* Appends one cell to the current row (TEXT: s/len copied). BASE_ERR_TOO_BIG
 * past STORE_SQL_MAX_BYTES, BASE_ERR_NOMEM. */
int store_sql_rows_add(struct store_sql_rows *b, const struct store_cell *cell) WARN_UNUSED;
/* Closes the current row; BASE_ERR_TOO_BIG past STORE_SQL_MAX_ROWS. */
int store_sql_rows_end_row(struct store_sql_rows *b) WARN_UNUSED;
/* Moves everything into *out (rows, cols, cells, mem) and empties b. */
int store_sql_rows_finish(struct store_sql_rows *b, struct store_result *out) WARN_UNUSED;
/* "BACKEND "first words of sql...": msg" into errbuf (may be NULL); never a
 * parameter value, since only the SQL text and msg are used. */
void store_sql_error(char *errbuf, size_t errlen, const char *backend, const char *sql,
                     const char *msg);

/* values.c: a sample's values as the values_json column holds them. */
#define STORE_VALUES_TEXT_MAX 2048 /* SAMPLE_VALUES_MAX names and numbers fit */
/* JSON object text into out (n bytes; "" when the sample has no values).
 * 0 or BASE_ERR_TOO_BIG. */
int store_values_encode(const struct sample *s, char *out, size_t n);
/* Adds the values of a stored JSON object to s (bad entries skipped). */
void store_values_decode(const char *text, struct sample *s);
/* Adds the phase values equal to the cumulative timings (ms, -1 = not
 * reached) of rows written before migration 4. */
void store_values_from_legacy(struct sample *s, double dns_ms, double connect_ms, double tls_ms,
                              double ttfb_ms);

/* alerts.c: deletes at most max_rows alert transitions older than before_ms
 * (the history follows the hourly rollups' retention). */
int store_alerts_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted, char *err,
                       size_t errlen);

/* notify.c: deletes at most max_rows finished deliveries (sent or failed)
 * created before before_ms (kept as long as the hourly rollups). */
int store_notify_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted, char *err,
                       size_t errlen);

/* silences.c: deletes at most max_rows silences that ended before before_ms. */
int store_silences_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted, char *err,
                         size_t errlen);

/* sqlite.c: the file path of a sqlite:// URL, copied into out; BASE_ERR_INVALID. */
int store_sqlite_path_from_url(const char *url, char *out, size_t n);
/* postgres.c: checks a postgres URL parses, without connecting; BASE_ERR_INVALID. */
int store_postgres_url_check(const char *url, char *errbuf, size_t errlen);

#endif
