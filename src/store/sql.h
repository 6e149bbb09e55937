/*
 * store/sql: dialect-neutral parameterised SQL for the domain modules (auth,
 * and later alerts, incidents, deploys...) on top of the store's backends.
 * A domain module writes its statements once with `?` placeholders (the
 * PostgreSQL backend renumbers them to $1..$n outside quoted text) and runs
 * them on a struct store_conn. The same domain function runs in two places:
 * in the daemon on the store thread through store_call (never on the loop),
 * and in a CLI command on a connection opened synchronously with
 * store_conn_open. Values are always bound, never spliced into SQL text.
 */
#ifndef STORE_SQL_H
#define STORE_SQL_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rows one statement may return; more is BASE_ERR_TOO_BIG (a domain query
 * that can grow paginates with LIMIT). */
#define STORE_SQL_MAX_ROWS 100000
/* Parameters per statement. */
#define STORE_SQL_MAX_PARAMS 512
/* Bytes one result may hold (cells and text); more is BASE_ERR_TOO_BIG. */
#define STORE_SQL_MAX_BYTES (64u * 1024 * 1024)

struct store_conn;

enum store_sql_type { STORE_SQL_NULL, STORE_SQL_INT, STORE_SQL_REAL, STORE_SQL_TEXT };

/* A bound parameter. Text is borrowed for the duration of the call and must
 * be valid UTF-8 without NUL (PostgreSQL rejects anything else; so does
 * store_sql_exec, with BASE_ERR_INVALID). PostgreSQL infers each
 * parameter's type from its context: where there is none (`SELECT ?`,
 * `? IS NULL`) write CAST(? AS BIGINT) / CAST(? AS TEXT). */
struct store_param {
    enum store_sql_type type;
    int64_t i;
    double d;
    const char *s;
};

#define STORE_P_NULL() ((struct store_param){.type = STORE_SQL_NULL})
#define STORE_P_INT(v) ((struct store_param){.type = STORE_SQL_INT, .i = (int64_t)(v)})
#define STORE_P_REAL(v) ((struct store_param){.type = STORE_SQL_REAL, .d = (double)(v)})
/* NULL text binds SQL NULL. A function, not a compound literal, so that a
 * char array argument does not trip -Waddress. */
static inline struct store_param store_sql_param_text(const char *v)
{
    struct store_param p = {.type = v ? STORE_SQL_TEXT : STORE_SQL_NULL, .s = v};
    return p;
}
#define STORE_P_TEXT(v) store_sql_param_text(v)

/* The rows of one statement. Integer-typed columns (SQLite INTEGER values;
 * PostgreSQL int2/int4/int8/bool) come back as STORE_SQL_INT, floating ones
 * as STORE_SQL_REAL, everything else as TEXT; NULL as NULL. All memory is
 * owned by the result and freed by store_result_free. */
struct store_cell {
    enum store_sql_type type;
    int64_t i;
    double d;
    const char *s;      /* TEXT only; NUL-terminated */
    size_t len;
};

struct store_result {
    size_t rows, cols;
    struct store_cell *cells; /* rows * cols, row-major */
    int64_t changes;          /* rows inserted/updated/deleted by the statement */
    /* private: */
    void *mem;
};

void store_result_free(struct store_result *r);
/* Accessors; out-of-range row/col or a NULL cell give 0 / NULL. An INT
 * accessor on a TEXT cell parses it (0 when it is not a number) and
 * truncates a REAL one; a REAL accessor converts an INT cell and parses a
 * TEXT one; a TEXT accessor on an INT cell gives NULL. is_null is true for
 * a NULL cell and for an out-of-range one. r may be NULL. */
int64_t store_result_int(const struct store_result *r, size_t row, size_t col);
double store_result_real(const struct store_result *r, size_t row, size_t col);
const char *store_result_text(const struct store_result *r, size_t row, size_t col);
bool store_result_is_null(const struct store_result *r, size_t row, size_t col);

/*
 * Runs one statement. `out` may be NULL when no rows are wanted; otherwise
 * it is filled (and must be freed with store_result_free even on failure,
 * which is harmless on a zeroed result). Returns 0 or a negative
 * BASE_ERR_*: BASE_ERR_EXISTS for a unique/primary-key violation,
 * BASE_ERR_UNAVAILABLE when the connection is lost, BASE_ERR_TOO_BIG past
 * STORE_SQL_MAX_ROWS, BASE_ERR_INVALID for a malformed statement or
 * parameter (also: more than one statement, a `?` count other than
 * n_params, SQLite's ?NNN/:name forms, a constraint other than unique),
 * BASE_ERR_BUSY when SQLite stays locked past its busy timeout (or a
 * PostgreSQL deadlock/serialisation failure). errbuf gets a message naming
 * the statement's first words but never a parameter value.
 */
int store_sql_exec(struct store_conn *c, const char *sql, const struct store_param *params,
                   size_t n_params, struct store_result *out, char *errbuf, size_t errlen);

/* Transactions. begin is BEGIN IMMEDIATE on SQLite (takes the write lock
 * now, so read-then-write sequences cannot deadlock) and BEGIN on
 * PostgreSQL. rollback never fails loudly (it is the cleanup path); it is
 * a no-op outside a transaction. After a failed statement inside a
 * transaction, roll back: PostgreSQL aborts the whole transaction (every
 * later statement fails, and commit then fails with BASE_ERR_INVALID)
 * while SQLite undoes only that statement. A commit that fails leaves no
 * transaction open. */
int store_sql_begin(struct store_conn *c, char *errbuf, size_t errlen);
int store_sql_commit(struct store_conn *c, char *errbuf, size_t errlen);
void store_sql_rollback(struct store_conn *c);
/* Ends a transaction begun with store_sql_begin: commits when rc is 0 and
 * returns the commit's result, else rolls back and returns rc. */
int store_sql_end(struct store_conn *c, int rc, char *errbuf, size_t errlen);

enum store_sql_dialect { STORE_SQL_SQLITE, STORE_SQL_POSTGRES };
enum store_sql_dialect store_sql_dialect(const struct store_conn *c);

/*
 * Synchronous connection for CLI commands: opens the database at `url`
 * (same URLs as store_new), applies the migrations, and returns it in *out.
 * Blocking; never call it on the daemon's loop.
 */
int store_conn_open(const char *url, struct store_conn **out, char *errbuf, size_t errlen);
void store_conn_close(struct store_conn *c);

/*
 * Asynchronous work for the daemon. `work` runs on the store thread with
 * the store's own connection (in order with every other store job; it must
 * not touch loop state and should be short: one transaction). Then `done`
 * runs on the loop with work's return value and message (errbuf as work left
 * it: "" when it wrote nothing; never NULL). When the database
 * is not connected, work is not called and done gets BASE_ERR_UNAVAILABLE.
 * If work returns BASE_ERR_UNAVAILABLE the store treats the connection as
 * lost and reconnects. A transaction work leaves open is rolled back (and
 * logged). Call on the loop thread. Returns 0, or BASE_ERR_INVALID (NULL
 * argument), BASE_ERR_CANCELED after store_close (done is then never
 * called), BASE_ERR_NOMEM. Calls made before store_close still complete:
 * done runs before the close callback.
 */
typedef int (*store_work_fn)(struct store_conn *c, void *data, char *errbuf, size_t errlen);
typedef void (*store_done_fn)(void *data, int status, const char *errmsg);
int store_call(struct store *st, store_work_fn work, store_done_fn done, void *data);

#endif
