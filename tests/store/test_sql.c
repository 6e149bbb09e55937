/*
 * tests/store/test_sql: store/sql against both backends, SQLite (temp file)
 * and PostgreSQL (OPSHUB_TEST_PG_URL, or a server started with
 * scripts/pg-test.sh; failing to start it fails the suite): parameter types
 * and UTF-8 round trips, changes, unique violations, placeholder counting
 * outside quoted text, error mapping, transactions, messages free of bound
 * values, result accessors, store_conn_open, and store_call through a real
 * store on a libuv loop (work on the store thread, done on the loop).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/store_test_pg.h"

#include <math.h>
#include <stdint.h>

struct fixture {
    bool pg;
    char url[512];
    char dir[256];
    struct store_conn *c;
};

static struct pg_test pg;
static char pg_url[512];
static struct fixture fx_sqlite = {.pg = false};
static struct fixture fx_pg = {.pg = true};

static const char secret[] = "hunter2-s3cr3t-VALUE";

static int group_setup(void **state)
{
    base_log_setup(BASE_LOG_OFF, BASE_LOG_FORMAT_TEXT, stderr);
    const char *env = getenv("OPSHUB_TEST_PG_URL");
    if (env && *env) {
        snprintf(pg_url, sizeof(pg_url), "%s", env);
        return 0;
    }
    if (pg_test_start_anywhere(&pg) != 0) {
        fprintf(stderr, "test_sql: cannot start PostgreSQL (scripts/pg-test.sh)\n");
        pg_test_stop(&pg);
        return -1; /* both backends are required */
    }
    snprintf(pg_url, sizeof(pg_url), "%s", pg.url);
    return 0;
}

static int group_teardown(void **state)
{
    pg_test_stop(&pg);
    return 0;
}

static int exec0(struct store_conn *c, const char *sql)
{
    char err[512] = "";
    int rc = store_sql_exec(c, sql, NULL, 0, NULL, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    return rc;
}

static int open_fresh(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    if (!f->pg) {
        if (test_mkdtemp(f->dir, sizeof(f->dir)) != 0)
            return -1;
        snprintf(f->url, sizeof(f->url), "sqlite://%s/data/sql.db", f->dir);
    } else {
        snprintf(f->url, sizeof(f->url), "%s", pg_url);
    }
    if (store_conn_open(f->url, &f->c, err, sizeof(err)) != 0) {
        fprintf(stderr, "store_conn_open: %s\n", err);
        return -1;
    }
    if (exec0(f->c, "DROP TABLE IF EXISTS t_sql") != 0)
        return -1;
    return exec0(f->c, f->pg ? "CREATE TABLE t_sql (id BIGINT PRIMARY KEY, n BIGINT,"
                               " r DOUBLE PRECISION, s TEXT, z TEXT, u TEXT UNIQUE,"
                               " nn TEXT NOT NULL DEFAULT '')"
                             : "CREATE TABLE t_sql (id INTEGER PRIMARY KEY, n BIGINT, r REAL,"
                               " s TEXT, z TEXT, u TEXT UNIQUE, nn TEXT NOT NULL DEFAULT '')");
}

static int close_conn(void **state)
{
    struct fixture *f = *state;
    store_conn_close(f->c);
    f->c = NULL;
    if (f->dir[0])
        test_rmtree(f->dir);
    f->dir[0] = '\0';
    return 0;
}

static int64_t count_rows(struct store_conn *c)
{
    struct store_result r;
    assert_int_equal(store_sql_exec(c, "SELECT COUNT(*) FROM t_sql", NULL, 0, &r, NULL, 0), 0);
    int64_t n = store_result_int(&r, 0, 0);
    store_result_free(&r);
    return n;
}

static int insert_id(struct store_conn *c, int64_t id, const char *u, char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(id), STORE_P_TEXT(u)};
    return store_sql_exec(c, "INSERT INTO t_sql (id, u) VALUES (?, ?)", p, 2, NULL, err, errlen);
}

/* ---- statements on both backends ---- */

static void test_sql_round_trips_every_param_type(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    const char *utf8 = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x9a\x80 \xe4\xb8\xad";
    struct store_param p[] = {STORE_P_INT(1), STORE_P_INT(INT64_MIN), STORE_P_REAL(0.1),
                              STORE_P_TEXT(utf8), STORE_P_NULL(), STORE_P_TEXT(NULL)};
    assert_int_equal(p[5].type, STORE_SQL_NULL);
    assert_int_equal(store_sql_exec(f->c, "INSERT INTO t_sql (id, n, r, s, z, u) VALUES (?, ?, ?, ?, ?, ?)",
                                    p, 6, NULL, err, sizeof(err)), 0);
    struct store_param q[] = {STORE_P_INT(2), STORE_P_INT(INT64_MAX), STORE_P_REAL(-12345.678901234567),
                              STORE_P_TEXT("")};
    assert_int_equal(store_sql_exec(f->c, "INSERT INTO t_sql (id, n, r, s) VALUES (?, ?, ?, ?)",
                                    q, 4, NULL, err, sizeof(err)), 0);

    struct store_result r;
    assert_int_equal(store_sql_exec(f->c, "SELECT id, n, r, s, z, u FROM t_sql ORDER BY id",
                                    NULL, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.cols, 6);
    assert_int_equal(r.changes, 0);
    const struct store_cell *c = r.cells;
    assert_int_equal(c[0].type, STORE_SQL_INT);
    assert_int_equal(c[0].i, 1);
    assert_int_equal(c[1].type, STORE_SQL_INT);
    assert_true(c[1].i == INT64_MIN);
    assert_int_equal(c[2].type, STORE_SQL_REAL);
    assert_true(c[2].d == 0.1);
    assert_int_equal(c[3].type, STORE_SQL_TEXT);
    assert_string_equal(c[3].s, utf8);
    assert_int_equal(c[3].len, strlen(utf8));
    assert_int_equal(c[4].type, STORE_SQL_NULL);
    assert_int_equal(c[5].type, STORE_SQL_NULL);
    assert_true(store_result_int(&r, 1, 1) == INT64_MAX);
    assert_true(store_result_real(&r, 1, 2) == -12345.678901234567);
    assert_string_equal(store_result_text(&r, 1, 3), "");
    assert_int_equal(r.cells[6 + 3].len, 0);
    store_result_free(&r);

    /* The text comes back byte-exact when bound as a parameter too. */
    struct store_param w[] = {STORE_P_TEXT(utf8)};
    assert_int_equal(store_sql_exec(f->c, "SELECT id FROM t_sql WHERE s = ?", w, 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, 1);
    assert_int_equal(store_result_int(&r, 0, 0), 1);
    store_result_free(&r);

    /* Aggregates and bools come back as numbers on both backends. */
    assert_int_equal(store_sql_exec(f->c, "SELECT COUNT(*), SUM(r), 1 = 1 FROM t_sql", NULL, 0, &r,
                                    err, sizeof(err)), 0);
    assert_int_equal(r.cells[0].type, STORE_SQL_INT);
    assert_int_equal(r.cells[0].i, 2);
    assert_int_equal(r.cells[1].type, STORE_SQL_REAL);
    assert_int_equal(r.cells[2].type, STORE_SQL_INT);
    assert_int_equal(r.cells[2].i, 1);
    store_result_free(&r);
}

static void test_sql_changes_counts_written_rows_only(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    struct store_result r;
    struct store_param p[] = {STORE_P_INT(1), STORE_P_INT(2), STORE_P_INT(3)};
    assert_int_equal(store_sql_exec(f->c, "INSERT INTO t_sql (id, n) VALUES (?, 10), (?, 10), (?, 20)",
                                    p, 3, &r, err, sizeof(err)), 0);
    assert_int_equal(r.changes, 3);
    assert_int_equal(r.rows, 0);
    store_result_free(&r);
    struct store_param u[] = {STORE_P_INT(10)};
    assert_int_equal(store_sql_exec(f->c, "UPDATE t_sql SET s = 'x' WHERE n = ?", u, 1, &r,
                                    err, sizeof(err)), 0);
    assert_int_equal(r.changes, 2);
    store_result_free(&r);
    struct store_param none[] = {STORE_P_INT(999)};
    assert_int_equal(store_sql_exec(f->c, "UPDATE t_sql SET s = 'y' WHERE n = ?", none, 1, &r,
                                    err, sizeof(err)), 0);
    assert_int_equal(r.changes, 0); /* not the previous statement's 2 */
    store_result_free(&r);
    assert_int_equal(store_sql_exec(f->c, "SELECT id FROM t_sql", NULL, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, 3);
    assert_int_equal(r.changes, 0);
    store_result_free(&r);
    assert_int_equal(store_sql_exec(f->c, "DELETE FROM t_sql WHERE id >= 2", NULL, 0, &r,
                                    err, sizeof(err)), 0);
    assert_int_equal(r.changes, 2);
    store_result_free(&r);
    /* RETURNING gives rows and changes. */
    struct store_param ins[] = {STORE_P_INT(7)};
    assert_int_equal(store_sql_exec(f->c, "INSERT INTO t_sql (id) VALUES (?) RETURNING id", ins, 1,
                                    &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, 1);
    assert_int_equal(store_result_int(&r, 0, 0), 7);
    assert_int_equal(r.changes, 1);
    store_result_free(&r);
}

static void test_sql_unique_violation_is_exists_other_constraints_invalid(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    assert_int_equal(insert_id(f->c, 1, "a@example.org", err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 1, "b@example.org", err, sizeof(err)), BASE_ERR_EXISTS);
    assert_non_null(strstr(err, "INSERT INTO t_sql"));
    assert_int_equal(insert_id(f->c, 2, "a@example.org", err, sizeof(err)), BASE_ERR_EXISTS);
    struct store_param p[] = {STORE_P_INT(3), STORE_P_NULL()};
    assert_int_equal(store_sql_exec(f->c, "INSERT INTO t_sql (id, nn) VALUES (?, ?)", p, 2, NULL,
                                    err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(count_rows(f->c), 1);
    /* The connection is still usable after the failures. */
    assert_int_equal(insert_id(f->c, 2, "c@example.org", err, sizeof(err)), 0);
    assert_int_equal(count_rows(f->c), 2);
}

static void test_sql_placeholder_inside_quotes_or_comments_is_not_counted(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    struct store_result r;
    struct store_param p[] = {STORE_P_TEXT("v1"), STORE_P_TEXT("v2")};
    assert_int_equal(store_sql_exec(f->c,
                                    "SELECT 'a?b', ? AS \"x?y\", 'it''s ?' /* ? */, ? -- trailing ?\n",
                                    p, 2, &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, 1);
    assert_int_equal(r.cols, 4);
    assert_string_equal(store_result_text(&r, 0, 0), "a?b");
    assert_string_equal(store_result_text(&r, 0, 1), "v1");
    assert_string_equal(store_result_text(&r, 0, 2), "it's ?");
    assert_string_equal(store_result_text(&r, 0, 3), "v2");
    store_result_free(&r);
    if (f->pg) {
        struct store_param one[] = {STORE_P_TEXT("v")};
        assert_int_equal(store_sql_exec(f->c, "SELECT E'x\\'?', ?", one, 1, &r, err, sizeof(err)), 0);
        assert_string_equal(store_result_text(&r, 0, 0), "x'?");
        store_result_free(&r);
    }
}

static void test_sql_rejects_param_count_mismatch_and_malformed_statements(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    struct store_param p[STORE_SQL_MAX_PARAMS + 1];
    for (size_t k = 0; k < STORE_SQL_MAX_PARAMS + 1; k++)
        p[k] = STORE_P_INT(k);
    const char *ins = "INSERT INTO t_sql (id, n) VALUES (?, ?)";
    assert_int_equal(store_sql_exec(f->c, ins, p, 1, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_non_null(strstr(err, "placeholders"));
    assert_int_equal(store_sql_exec(f->c, ins, p, 3, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, ins, NULL, 2, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, "SELECT 'a?b'", p, 1, NULL, err, sizeof(err)), BASE_ERR_INVALID);

    /* More than STORE_SQL_MAX_PARAMS, even with as many placeholders. */
    char many[512] = "SELECT ?";
    for (size_t k = 1; k < STORE_SQL_MAX_PARAMS + 1; k++)
        strncat(many, ", ?", sizeof(many) - strlen(many) - 1);
    assert_int_equal(store_sql_exec(f->c, many, p, STORE_SQL_MAX_PARAMS + 1, NULL, err, sizeof(err)),
                     BASE_ERR_INVALID);

    struct store_param bad_type = {.type = (enum store_sql_type)42};
    assert_int_equal(store_sql_exec(f->c, "SELECT ?", &bad_type, 1, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    struct store_param bad_utf8[] = {STORE_P_TEXT("a\xff" "b")};
    assert_int_equal(store_sql_exec(f->c, "SELECT ?", bad_utf8, 1, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_non_null(strstr(err, "UTF-8"));

    assert_int_equal(store_sql_exec(f->c, "SELECT 1; SELECT 2", NULL, 0, NULL, err, sizeof(err)),
                     BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, "SELEKT 1", NULL, 0, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, "SELECT nope FROM t_sql", NULL, 0, NULL, err, sizeof(err)),
                     BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, "", NULL, 0, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, "  -- only a comment", NULL, 0, NULL, err, sizeof(err)),
                     BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(f->c, NULL, NULL, 0, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_sql_exec(NULL, "SELECT 1", NULL, 0, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    /* A trailing semicolon and comment are one statement. */
    assert_int_equal(store_sql_exec(f->c, "SELECT 1; -- done", NULL, 0, NULL, err, sizeof(err)), 0);
    if (!f->pg) {
        assert_int_equal(store_sql_exec(f->c, "SELECT ?1", p, 1, NULL, err, sizeof(err)), BASE_ERR_INVALID);
        assert_int_equal(store_sql_exec(f->c, "SELECT :a", p, 1, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    }
    assert_int_equal(count_rows(f->c), 0);
}

static void test_sql_rollback_leaves_nothing_and_commit_keeps(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    assert_int_equal(store_sql_begin(f->c, err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 1, "a", err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 2, "b", err, sizeof(err)), 0);
    assert_int_equal(count_rows(f->c), 2);
    store_sql_rollback(f->c);
    assert_int_equal(count_rows(f->c), 0);
    store_sql_rollback(f->c); /* no transaction: harmless */

    /* A failed statement inside the transaction, then rollback. */
    assert_int_equal(store_sql_begin(f->c, err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 1, "a", err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 1, "a", err, sizeof(err)), BASE_ERR_EXISTS);
    store_sql_rollback(f->c);
    assert_int_equal(count_rows(f->c), 0);

    /* Committing after a failed statement: PostgreSQL has aborted the
     * transaction (commit fails, nothing kept); SQLite undid only the
     * failed statement. */
    assert_int_equal(store_sql_begin(f->c, err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 1, "a", err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 1, "a", err, sizeof(err)), BASE_ERR_EXISTS);
    if (f->pg) {
        assert_int_equal(insert_id(f->c, 2, "b", err, sizeof(err)), BASE_ERR_INVALID);
        assert_int_equal(store_sql_commit(f->c, err, sizeof(err)), BASE_ERR_INVALID);
        assert_non_null(strstr(err, "aborted"));
        assert_int_equal(count_rows(f->c), 0);
    } else {
        assert_int_equal(store_sql_commit(f->c, err, sizeof(err)), 0);
        assert_int_equal(count_rows(f->c), 1);
        assert_int_equal(exec0(f->c, "DELETE FROM t_sql"), 0);
    }
    assert_false(f->c->ops->in_transaction(f->c->db));

    assert_int_equal(store_sql_begin(f->c, err, sizeof(err)), 0);
    assert_int_equal(insert_id(f->c, 3, "c", err, sizeof(err)), 0);
    assert_int_equal(store_sql_commit(f->c, err, sizeof(err)), 0);
    assert_int_equal(count_rows(f->c), 1);
    assert_false(f->c->ops->in_transaction(f->c->db));
    /* COMMIT without a transaction: an error on SQLite, a warning on
     * PostgreSQL; either way none is left open. */
    int rc = store_sql_commit(f->c, err, sizeof(err));
    if (!f->pg)
        assert_int_equal(rc, BASE_ERR_INVALID);
    assert_false(f->c->ops->in_transaction(f->c->db));
    assert_int_equal(store_sql_dialect(f->c), f->pg ? STORE_SQL_POSTGRES : STORE_SQL_SQLITE);
}

static void assert_no_secret(int rc, const char *err)
{
    assert_int_not_equal(rc, 0);
    assert_true(err[0] != '\0');
    if (strstr(err, secret) || strstr(err, "s3cr3t"))
        fail_msg("message leaks the value: %s", err);
}

static void test_sql_error_messages_never_contain_parameter_values(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    assert_int_equal(insert_id(f->c, 1, secret, err, sizeof(err)), 0);
    /* Unique violation: PostgreSQL's DETAIL quotes the key. */
    int rc = insert_id(f->c, 2, secret, err, sizeof(err));
    assert_int_equal(rc, BASE_ERR_EXISTS);
    assert_no_secret(rc, err);
    assert_non_null(strstr(err, "INSERT INTO t_sql (id, u) VALUES"));
    /* Not-null violation: DETAIL shows the whole failing row. */
    struct store_param p[] = {STORE_P_INT(3), STORE_P_TEXT(secret), STORE_P_NULL()};
    rc = store_sql_exec(f->c, "INSERT INTO t_sql (id, s, nn) VALUES (?, ?, ?)", p, 3, NULL, err, sizeof(err));
    assert_no_secret(rc, err);
    /* A value that does not fit the column type (PostgreSQL quotes it in the message). */
    struct store_param q[] = {STORE_P_TEXT(secret)};
    rc = store_sql_exec(f->c, "SELECT CAST(? AS BIGINT) + nope FROM t_sql", q, 1, NULL, err, sizeof(err));
    assert_no_secret(rc, err);
    if (f->pg) {
        rc = store_sql_exec(f->c, "SELECT id FROM t_sql WHERE id = ?", q, 1, NULL, err, sizeof(err));
        assert_int_equal(rc, BASE_ERR_INVALID);
        assert_no_secret(rc, err);
        assert_non_null(strstr(err, "22P02"));
    }
    /* Count mismatch. */
    rc = store_sql_exec(f->c, "SELECT ?, ?", q, 1, NULL, err, sizeof(err));
    assert_no_secret(rc, err);
}

static void test_sql_result_accessors_handle_out_of_range_and_null(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    struct store_result r;
    assert_int_equal(store_sql_exec(f->c, "SELECT NULL, '42', 'x', 2.75, 7, '-1.5'", NULL, 0, &r,
                                    err, sizeof(err)), 0);
    assert_int_equal(r.rows, 1);
    assert_int_equal(r.cols, 6);
    /* NULL cell. */
    assert_true(store_result_is_null(&r, 0, 0));
    assert_int_equal(store_result_int(&r, 0, 0), 0);
    assert_true(store_result_real(&r, 0, 0) == 0);
    assert_null(store_result_text(&r, 0, 0));
    /* TEXT parses for INT/REAL. */
    assert_false(store_result_is_null(&r, 0, 1));
    assert_int_equal(store_result_int(&r, 0, 1), 42);
    assert_true(store_result_real(&r, 0, 1) == 42);
    assert_int_equal(store_result_int(&r, 0, 2), 0);
    assert_string_equal(store_result_text(&r, 0, 2), "x");
    assert_true(store_result_real(&r, 0, 5) == -1.5);
    assert_int_equal(store_result_int(&r, 0, 5), 0); /* not an integer */
    /* REAL and INT cells. */
    assert_true(store_result_real(&r, 0, 3) == 2.75);
    assert_int_equal(store_result_int(&r, 0, 3), 2);
    assert_null(store_result_text(&r, 0, 3));
    assert_int_equal(store_result_int(&r, 0, 4), 7);
    assert_true(store_result_real(&r, 0, 4) == 7);
    assert_null(store_result_text(&r, 0, 4));
    /* Out of range. */
    assert_true(store_result_is_null(&r, 1, 0));
    assert_true(store_result_is_null(&r, 0, 6));
    assert_int_equal(store_result_int(&r, 0, 6), 0);
    assert_int_equal(store_result_int(&r, SIZE_MAX, SIZE_MAX), 0);
    assert_true(store_result_real(&r, 5, 1) == 0);
    assert_null(store_result_text(&r, 1, 1));
    store_result_free(&r);
    store_result_free(&r); /* zeroed: harmless */
    store_result_free(NULL);
    assert_int_equal(store_result_int(NULL, 0, 0), 0);
    assert_true(store_result_is_null(NULL, 0, 0));
    assert_null(store_result_text(&r, 0, 0));

    /* No rows: cols still known, every accessor out of range. */
    assert_int_equal(store_sql_exec(f->c, "SELECT id, s FROM t_sql", NULL, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, 0);
    assert_int_equal(r.cols, 2);
    assert_true(store_result_is_null(&r, 0, 0));
    store_result_free(&r);

    /* A failed statement leaves a zeroed result. */
    memset(&r, 0xab, sizeof(r));
    assert_int_equal(store_sql_exec(f->c, "SELECT nope", NULL, 0, &r, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(r.rows, 0);
    assert_null(r.cells);
    assert_null(r.mem);
    store_result_free(&r);
}

static void test_sql_more_rows_than_the_maximum_is_too_big(void **state)
{
    struct fixture *f = *state;
    char err[512] = "";
    struct store_result r;
    const char *sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
                      " SELECT x FROM c";
    struct store_param max[] = {STORE_P_INT(STORE_SQL_MAX_ROWS)};
    assert_int_equal(store_sql_exec(f->c, sql, max, 1, &r, err, sizeof(err)), 0);
    assert_int_equal(r.rows, STORE_SQL_MAX_ROWS);
    assert_int_equal(store_result_int(&r, STORE_SQL_MAX_ROWS - 1, 0), STORE_SQL_MAX_ROWS);
    store_result_free(&r);
    struct store_param over[] = {STORE_P_INT(STORE_SQL_MAX_ROWS + 1)};
    assert_int_equal(store_sql_exec(f->c, sql, over, 1, &r, err, sizeof(err)), BASE_ERR_TOO_BIG);
    assert_int_equal(r.rows, 0);
    assert_null(r.mem);
    store_result_free(&r);
    /* The connection is still usable. */
    assert_int_equal(count_rows(f->c), 0);
}

/* ---- backend-specific ---- */

static void test_sql_postgres_lost_connection_is_unavailable(void **state)
{
    char err[512] = "";
    struct store_conn *a = NULL, *b = NULL;
    assert_int_equal(store_conn_open(pg_url, &a, err, sizeof(err)), 0);
    assert_int_equal(store_conn_open(pg_url, &b, err, sizeof(err)), 0);
    struct store_result r;
    assert_int_equal(store_sql_exec(a, "SELECT pg_backend_pid()", NULL, 0, &r, err, sizeof(err)), 0);
    struct store_param pid[] = {STORE_P_INT(store_result_int(&r, 0, 0))};
    store_result_free(&r);
    assert_int_equal(store_sql_exec(b, "SELECT pg_terminate_backend(CAST(? AS INT))", pid, 1, &r,
                                    err, sizeof(err)), 0);
    assert_int_equal(store_result_int(&r, 0, 0), 1);
    store_result_free(&r);
    assert_int_equal(store_sql_exec(a, "SELECT 1", NULL, 0, &r, err, sizeof(err)), BASE_ERR_UNAVAILABLE);
    assert_int_equal(store_sql_exec(a, "SELECT 1", NULL, 0, &r, err, sizeof(err)), BASE_ERR_UNAVAILABLE);
    store_conn_close(a);
    store_conn_close(b);
}

static void test_sql_sqlite_busy_is_busy(void **state)
{
    char dir[256], url[512], err[512] = "";
    struct store_conn *a = NULL, *b = NULL;
    assert_int_equal(test_mkdtemp(dir, sizeof(dir)), 0);
    snprintf(url, sizeof(url), "sqlite://%s/busy.db", dir);
    assert_int_equal(store_conn_open(url, &a, err, sizeof(err)), 0);
    assert_int_equal(store_conn_open(url, &b, err, sizeof(err)), 0);
    assert_int_equal(exec0(b, "PRAGMA busy_timeout = 50"), 0);
    assert_int_equal(store_sql_begin(a, err, sizeof(err)), 0);
    assert_int_equal(store_sql_begin(b, err, sizeof(err)), BASE_ERR_BUSY);
    store_sql_rollback(a);
    assert_int_equal(store_sql_begin(b, err, sizeof(err)), 0);
    assert_int_equal(store_sql_commit(b, err, sizeof(err)), 0);
    store_conn_close(a);
    store_conn_close(b);
    test_rmtree(dir);
}

static void test_sql_sqlite_statement_cache_survives_eviction_and_schema_change(void **state)
{
    struct fixture *f = *state;
    char err[512] = "", sql[128];
    struct store_result r;
    for (int k = 0; k < 40; k++) { /* more distinct statements than the cache holds */
        snprintf(sql, sizeof(sql), "SELECT %d + ?", k);
        struct store_param p[] = {STORE_P_INT(k % 7)};
        assert_int_equal(store_sql_exec(f->c, sql, p, 1, &r, err, sizeof(err)), 0);
        assert_int_equal(store_result_int(&r, 0, 0), k + k % 7);
        store_result_free(&r);
    }
    assert_int_equal(insert_id(f->c, 1, "a", err, sizeof(err)), 0);
    assert_int_equal(store_sql_exec(f->c, "SELECT * FROM t_sql", NULL, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(r.cols, 7);
    store_result_free(&r);
    assert_int_equal(exec0(f->c, "ALTER TABLE t_sql ADD COLUMN extra TEXT"), 0);
    assert_int_equal(store_sql_exec(f->c, "SELECT * FROM t_sql", NULL, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(r.cols, 8);
    store_result_free(&r);
}

/* ---- store_conn_open ---- */

static void test_store_conn_open_creates_schema_on_fresh_sqlite(void **state)
{
    char dir[256], url[512], err[512] = "";
    struct store_conn *c = NULL;
    assert_int_equal(test_mkdtemp(dir, sizeof(dir)), 0);
    snprintf(url, sizeof(url), "sqlite://%s/new/dir/fresh.db", dir);
    assert_int_equal(store_conn_open(url, &c, err, sizeof(err)), 0);
    assert_non_null(c);
    struct store_result r;
    assert_int_equal(store_sql_exec(c, "SELECT COUNT(*), MAX(version) FROM schema_migrations",
                                    NULL, 0, &r, err, sizeof(err)), 0);
    assert_true(store_result_int(&r, 0, 0) >= 1);
    assert_int_equal(store_result_int(&r, 0, 1), store_migrate_latest_version());
    store_result_free(&r);
    assert_int_equal(store_sql_exec(c, "SELECT COUNT(*) FROM samples", NULL, 0, &r, err, sizeof(err)), 0);
    assert_int_equal(store_result_int(&r, 0, 0), 0);
    store_result_free(&r);
    /* Left open on purpose: close rolls it back. */
    assert_int_equal(store_sql_begin(c, err, sizeof(err)), 0);
    store_conn_close(c);
    store_conn_close(NULL);
    test_rmtree(dir);
}

static void test_store_conn_open_rejects_bad_urls_and_unreachable_servers(void **state)
{
    char err[512] = "", url[256];
    struct store_conn *c = (struct store_conn *)&err;
    assert_int_equal(store_conn_open("mysql://x", &c, err, sizeof(err)), BASE_ERR_INVALID);
    assert_null(c);
    assert_int_equal(store_conn_open(NULL, &c, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_conn_open("sqlite://", &c, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(store_conn_open("sqlite:///tmp/x.db", NULL, err, sizeof(err)), BASE_ERR_INVALID);
    int held;
    snprintf(url, sizeof(url), "postgres://opshub:pw-%s@127.0.0.1:%d/x", "zz9", test_port_closed(&held));
    int rc = store_conn_open(url, &c, err, sizeof(err));
    close(held);
    assert_int_equal(rc, BASE_ERR_UNAVAILABLE);
    assert_null(c);
    assert_null(strstr(err, "pw-zz9"));
}

/* ---- store_call on a loop ---- */

typedef bool (*pred_fn)(void *arg);

struct waiter {
    pred_fn pred;
    void *arg;
    uint64_t deadline;
    bool ok;
};

static void on_tick(uv_timer_t *t)
{
    struct waiter *w = t->data;
    if (w->pred(w->arg)) {
        w->ok = true;
        uv_stop(t->loop);
    } else if (uv_now(t->loop) >= w->deadline) {
        uv_stop(t->loop);
    }
}

static bool run_until(uv_loop_t *loop, pred_fn pred, void *arg, uint64_t timeout_ms)
{
    uv_timer_t t;
    struct waiter w = {pred, arg, 0, false};
    uv_timer_init(loop, &t);
    t.data = &w;
    uv_update_time(loop);
    w.deadline = uv_now(loop) + timeout_ms;
    uv_timer_start(&t, on_tick, 0, 5);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return w.ok;
}

static bool flag_is_set(void *arg)
{
    return *(bool *)arg;
}

static bool is_connected(void *arg)
{
    return store_is_connected(arg);
}

static bool sample_written(void *arg)
{
    struct store_stats s;
    store_stats_get(arg, &s);
    return s.samples_written >= 1;
}

struct call {
    struct store *st;
    int work_rc;              /* what work returns */
    bool leave_open;          /* work begins a transaction and returns */
    bool work_ran, done_ran;
    uv_thread_t work_thread, done_thread;
    int status;
    char msg[512];
    int64_t rows_seen;
    bool connected_in_done;
    bool *order_flag;         /* done checks this is still false */
    bool order_ok;
};

static int call_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct call *k = data;
    k->work_ran = true;
    k->work_thread = uv_thread_self();
    if (k->work_rc) {
        snprintf(errbuf, errlen, "work says %d", k->work_rc);
        return k->work_rc;
    }
    int rc = store_sql_exec(c, "CREATE TABLE IF NOT EXISTS t_call (id BIGINT PRIMARY KEY, s TEXT)",
                            NULL, 0, NULL, errbuf, errlen);
    if (rc)
        return rc;
    rc = store_sql_begin(c, errbuf, errlen);
    if (rc)
        return rc;
    struct store_result r;
    rc = store_sql_exec(c, "SELECT COUNT(*) FROM t_call", NULL, 0, &r, errbuf, errlen);
    k->rows_seen = store_result_int(&r, 0, 0);
    store_result_free(&r);
    struct store_param p[] = {STORE_P_INT(k->rows_seen + 1), STORE_P_TEXT("x")};
    if (!rc)
        rc = store_sql_exec(c, "INSERT INTO t_call (id, s) VALUES (?, ?)", p, 2, NULL, errbuf, errlen);
    if (k->leave_open && !rc)
        return 0;
    if (!rc)
        rc = store_sql_commit(c, errbuf, errlen);
    if (rc)
        store_sql_rollback(c);
    return rc;
}

static void call_done(void *data, int status, const char *msg)
{
    struct call *k = data;
    k->done_ran = true;
    k->done_thread = uv_thread_self();
    k->status = status;
    assert_non_null(msg);
    snprintf(k->msg, sizeof(k->msg), "%s", msg);
    k->connected_in_done = store_is_connected(k->st);
    if (k->order_flag)
        k->order_ok = !*k->order_flag;
}

static void on_closed(void *data)
{
    *(bool *)data = true;
}

struct loop_env {
    uv_loop_t loop;
    char dir[256];
    char url[512];
    struct store *st;
};

static int loop_setup(void **state)
{
    struct loop_env *e = base_calloc(1, sizeof(*e));
    if (!e || uv_loop_init(&e->loop) != 0 || test_mkdtemp(e->dir, sizeof(e->dir)) != 0)
        return -1;
    snprintf(e->url, sizeof(e->url), "sqlite://%s/db/store.db", e->dir);
    *state = e;
    return 0;
}

static int loop_teardown(void **state)
{
    struct loop_env *e = *state;
    if (e->st) {
        bool closed = false;
        store_close(e->st, on_closed, &closed);
        run_until(&e->loop, flag_is_set, &closed, 15000);
    }
    uv_run(&e->loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&e->loop);
    test_rmtree(e->dir);
    base_free(e);
    return rc == 0 ? 0 : -1;
}

static struct store *start_store(struct loop_env *e, const char *url, bool wait_connected)
{
    char err[512] = "";
    struct store_opts o = {.url = url, .reconnect_ms = 60000};
    e->st = store_new(&e->loop, &o, err, sizeof(err));
    assert_non_null(e->st);
    if (wait_connected)
        assert_true(run_until(&e->loop, is_connected, e->st, 15000));
    return e->st;
}

static void run_call(struct loop_env *e, struct call *k)
{
    k->st = e->st;
    assert_int_equal(store_call(e->st, call_work, call_done, k), 0);
    assert_true(run_until(&e->loop, flag_is_set, &k->done_ran, 15000));
}

static void check_call_threads(struct call *k)
{
    uv_thread_t self = uv_thread_self();
    assert_true(k->work_ran);
    assert_true(k->done_ran);
    assert_false(uv_thread_equal(&k->work_thread, &self));
    assert_true(uv_thread_equal(&k->done_thread, &self));
}

static void call_twice_on(struct loop_env *e, const char *url)
{
    start_store(e, url, true);
    struct call k1 = {0}, k2 = {0};
    run_call(e, &k1);
    check_call_threads(&k1);
    assert_int_equal(k1.status, 0);
    assert_string_equal(k1.msg, "");
    assert_int_equal(k1.rows_seen, 0);
    run_call(e, &k2);
    assert_int_equal(k2.status, 0);
    assert_int_equal(k2.rows_seen, 1);
}

static void test_store_call_runs_work_on_store_thread_and_done_on_loop_sqlite(void **state)
{
    struct loop_env *e = *state;
    call_twice_on(e, e->url);
}

static void test_store_call_runs_work_on_store_thread_and_done_on_loop_postgres(void **state)
{
    struct loop_env *e = *state;
    char err[512] = "";
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_open(pg_url, &c, err, sizeof(err)), 0);
    assert_int_equal(exec0(c, "DROP TABLE IF EXISTS t_call"), 0);
    store_conn_close(c);
    call_twice_on(e, pg_url);
}

static void test_store_call_unavailable_when_database_down(void **state)
{
    struct loop_env *e = *state;
    char url[256];
    int held;
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d/opshub_test", test_port_closed(&held));
    start_store(e, url, false);
    struct call k = {0};
    run_call(e, &k);
    close(held);
    assert_false(k.work_ran);
    assert_int_equal(k.status, BASE_ERR_UNAVAILABLE);
    assert_non_null(strstr(k.msg, "not connected"));
}

static void test_store_call_work_unavailable_drops_connection(void **state)
{
    struct loop_env *e = *state;
    start_store(e, e->url, true);
    struct call k = {.work_rc = BASE_ERR_UNAVAILABLE};
    run_call(e, &k);
    assert_true(k.work_ran);
    assert_int_equal(k.status, BASE_ERR_UNAVAILABLE);
    assert_string_equal(k.msg, "work says -8");
    assert_false(k.connected_in_done);
    /* reconnect_ms is a minute: the next call finds no connection. */
    struct call k2 = {0};
    run_call(e, &k2);
    assert_false(k2.work_ran);
    assert_int_equal(k2.status, BASE_ERR_UNAVAILABLE);
}

static void test_store_call_rolls_back_a_transaction_work_left_open(void **state)
{
    struct loop_env *e = *state;
    start_store(e, e->url, true);
    struct call k1 = {.leave_open = true}, k2 = {0}, k3 = {0};
    run_call(e, &k1);
    assert_int_equal(k1.status, 0);
    run_call(e, &k2); /* would fail to BEGIN if the first were still open */
    assert_int_equal(k2.status, 0);
    assert_int_equal(k2.rows_seen, 0);
    run_call(e, &k3);
    assert_int_equal(k3.rows_seen, 1);
    assert_true(k3.connected_in_done);
    /* Sample batches still commit afterwards. */
    struct sample s;
    sample_init(&s, 1000);
    store_sample_append(e->st, "api", &s);
    assert_true(run_until(&e->loop, sample_written, e->st, 15000));
}

static void test_store_call_queued_before_close_completes_after_close_canceled(void **state)
{
    struct loop_env *e = *state;
    start_store(e, e->url, true);
    bool closed = false;
    struct call k = {.order_flag = &closed};
    k.st = e->st;
    assert_int_equal(store_call(e->st, call_work, call_done, &k), 0);
    store_close(e->st, on_closed, &closed);
    struct call late = {0};
    assert_int_equal(store_call(e->st, call_work, call_done, &late), BASE_ERR_CANCELED);
    assert_int_equal(store_call(e->st, NULL, call_done, &late), BASE_ERR_INVALID);
    assert_true(run_until(&e->loop, flag_is_set, &closed, 15000));
    e->st = NULL;
    assert_true(k.done_ran);
    assert_true(k.order_ok); /* done ran before the close callback */
    assert_int_equal(k.status, 0);
    assert_false(late.work_ran);
    assert_false(late.done_ran);
}

static void test_store_call_rejects_null_arguments(void **state)
{
    struct loop_env *e = *state;
    start_store(e, e->url, false);
    struct call k = {0};
    assert_int_equal(store_call(NULL, call_work, call_done, &k), BASE_ERR_INVALID);
    assert_int_equal(store_call(e->st, call_work, NULL, &k), BASE_ERR_INVALID);
}

#define BOTH(f) cmocka_unit_test_prestate_setup_teardown(f, open_fresh, close_conn, &fx_sqlite), \
                cmocka_unit_test_prestate_setup_teardown(f, open_fresh, close_conn, &fx_pg)
#define LOOP(f) cmocka_unit_test_setup_teardown(f, loop_setup, loop_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_sql_round_trips_every_param_type),
        BOTH(test_sql_changes_counts_written_rows_only),
        BOTH(test_sql_unique_violation_is_exists_other_constraints_invalid),
        BOTH(test_sql_placeholder_inside_quotes_or_comments_is_not_counted),
        BOTH(test_sql_rejects_param_count_mismatch_and_malformed_statements),
        BOTH(test_sql_rollback_leaves_nothing_and_commit_keeps),
        BOTH(test_sql_error_messages_never_contain_parameter_values),
        BOTH(test_sql_result_accessors_handle_out_of_range_and_null),
        BOTH(test_sql_more_rows_than_the_maximum_is_too_big),
        cmocka_unit_test(test_sql_postgres_lost_connection_is_unavailable),
        cmocka_unit_test(test_sql_sqlite_busy_is_busy),
        cmocka_unit_test_prestate_setup_teardown(test_sql_sqlite_statement_cache_survives_eviction_and_schema_change,
                                                 open_fresh, close_conn, &fx_sqlite),
        cmocka_unit_test(test_store_conn_open_creates_schema_on_fresh_sqlite),
        cmocka_unit_test(test_store_conn_open_rejects_bad_urls_and_unreachable_servers),
        LOOP(test_store_call_runs_work_on_store_thread_and_done_on_loop_sqlite),
        LOOP(test_store_call_runs_work_on_store_thread_and_done_on_loop_postgres),
        LOOP(test_store_call_unavailable_when_database_down),
        LOOP(test_store_call_work_unavailable_drops_connection),
        LOOP(test_store_call_rolls_back_a_transaction_work_left_open),
        LOOP(test_store_call_queued_before_close_completes_after_close_canceled),
        LOOP(test_store_call_rejects_null_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
