/*
 * Unit tests for probe/postgres and probe/postgres_conf: the thresholds,
 * messages scrubbed of secrets, the passwords of a URL, defaults,
 * configuration errors with their positions (never quoting a password),
 * the target, multi-host expansion; then runs against a real PostgreSQL
 * this test starts with scripts/pg-test.sh (failing to start it fails the
 * suite): up with every value, refused, a missing database, a failing
 * query, expect_rows, a server that is not PostgreSQL, timeouts in connect
 * and in the query, a multi-host URL whose first host refuses (libpq
 * replaces the socket: the poll handle is made anew), and cancellation in
 * each phase and an engine closed with runs in flight (run under ASan).
 * Wrong passwords, a full pool and replicas are in
 * tests/integration/test_postgres_check.py.
 */
#include "probe/probe_test.h"

#include "base/alloc.h"
#include "base/err.h"
#include "probe/postgres.h"
#include "probe/postgres_conf.h"
#include "probe/registry.h"
#include "store/store_test_pg.h"
#include "test_port.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PG(c) ((struct probe_postgres_conf *)(c).settings)
#define PW "Sekret-Passw0rd"

static struct pg_test pg;
static char url_ok[512], url_nodb[512];

static struct conf_check pg_check(struct fx *f, const char *url)
{
    struct conf_check c = check_defaults(f, &probe_postgres_type);
    PG(c)->url = url;
    return c;
}

/* ---- pure parts ---- */

static void test_postgres_thresholds_map_to_results(void **state)
{
    struct probe_postgres_conf c;
    probe_postgres_conf_init(&c, NULL);
    char err[SAMPLE_ERROR_MAX];
    assert_int_equal(probe_postgres_conf_judge(&c, 16, 20, -1, err, sizeof(err)), SAMPLE_UP); /* 0.8: not above */
    assert_string_equal(err, "");
    assert_int_equal(probe_postgres_conf_judge(&c, 17, 20, -1, err, sizeof(err)), SAMPLE_DEGRADED);
    assert_string_equal(err, "connections_used_ratio 0.85 is above connections_warn 0.8 (17 of 20)");
    assert_int_equal(probe_postgres_conf_judge(&c, 19, 20, -1, err, sizeof(err)), SAMPLE_DEGRADED); /* 0.95 */
    assert_int_equal(probe_postgres_conf_judge(&c, 20, 20, -1, err, sizeof(err)), SAMPLE_DOWN);
    assert_string_equal(err, "connections_used_ratio 1 is above connections_crit 0.95 (20 of 20)");
    assert_int_equal(probe_postgres_conf_judge(&c, 5, 0, -1, err, sizeof(err)), SAMPLE_UP); /* max unknown */
    /* lag */
    assert_int_equal(probe_postgres_conf_judge(&c, 1, 20, 0, err, sizeof(err)), SAMPLE_UP);
    assert_int_equal(probe_postgres_conf_judge(&c, 1, 20, 5.0, err, sizeof(err)), SAMPLE_UP);
    assert_int_equal(probe_postgres_conf_judge(&c, 1, 20, 12.34, err, sizeof(err)), SAMPLE_DEGRADED);
    assert_string_equal(err, "replication_lag_seconds 12.3 is above replication_lag_warn 5s");
    assert_int_equal(probe_postgres_conf_judge(&c, 1, 20, 41.2, err, sizeof(err)), SAMPLE_DOWN);
    assert_string_equal(err, "replication_lag_seconds 41.2 is above replication_lag_crit 30s");
    /* the worse wins; a tie keeps the connections' reason */
    assert_int_equal(probe_postgres_conf_judge(&c, 17, 20, 41.2, err, sizeof(err)), SAMPLE_DOWN);
    assert_non_null(strstr(err, "replication_lag_crit"));
    assert_int_equal(probe_postgres_conf_judge(&c, 20, 20, 12, err, sizeof(err)), SAMPLE_DOWN);
    assert_non_null(strstr(err, "connections_crit"));
    assert_int_equal(probe_postgres_conf_judge(&c, 17, 20, 12, err, sizeof(err)), SAMPLE_DEGRADED);
    assert_non_null(strstr(err, "connections_warn"));
}

static void test_postgres_messages_lose_secrets_and_prefixes(void **state)
{
    const char *secrets[] = {"postgres://app:" PW "@db:5432/x", PW, NULL};
    char out[SAMPLE_ERROR_MAX];
    probe_postgres_conf_clean_message("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                                      "\tIs the server running on that host and accepting TCP/IP connections?\n",
                                      secrets, out, sizeof(out));
    assert_string_equal(out, "connection refused");
    probe_postgres_conf_clean_message("connection to server at \"10.0.0.1\", port 5432 failed: FATAL:  password "
                                      "authentication failed for user \"app\"\n", secrets, out, sizeof(out));
    assert_string_equal(out, "password authentication failed for user \"app\"");
    /* several hosts: the last one's reason */
    probe_postgres_conf_clean_message("connection to server at \"a\", port 1 failed: Connection refused\n\tIs it?\n"
                                      "connection to server at \"b\", port 2 failed: FATAL:  the database system is "
                                      "starting up\n", secrets, out, sizeof(out));
    assert_string_equal(out, "the database system is starting up");
    /* the URL and the password go, also when the text is cut afterwards */
    char longmsg[1024];
    snprintf(longmsg, sizeof(longmsg), "ERROR:  %0300d invalid: postgres://app:" PW "@db:5432/x and " PW "\n", 0);
    probe_postgres_conf_clean_message(longmsg, secrets, out, sizeof(out));
    assert_null(strstr(out, PW));
    assert_null(strstr(out, "Sekret"));
    snprintf(longmsg, sizeof(longmsg), "bad %s here\nDETAIL:  more %s\nHINT:  x", PW, PW);
    probe_postgres_conf_clean_message(longmsg, secrets, out, sizeof(out));
    assert_string_equal(out, "bad *** here");
    probe_postgres_conf_clean_message("", secrets, out, sizeof(out));
    assert_string_equal(out, "");
    probe_postgres_conf_clean_message(NULL, NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_postgres_url_passwords_raw_and_decoded(void **state)
{
    char *raw = NULL, *dec = NULL;
    assert_int_equal(probe_postgres_conf_passwords("postgres://app:p%40ss@db/x", &raw, &dec), 0);
    assert_string_equal(raw, "p%40ss");
    assert_string_equal(dec, "p@ss");
    base_free(raw);
    base_free(dec);
    assert_int_equal(probe_postgres_conf_passwords("postgresql://db/x?sslmode=require&password=abc%20d", &raw, &dec),
                     0);
    assert_string_equal(raw, "abc%20d");
    assert_string_equal(dec, "abc d");
    base_free(raw);
    base_free(dec);
    assert_int_equal(probe_postgres_conf_passwords("postgres://app@db/x", &raw, &dec), 0);
    assert_null(raw);
    assert_null(dec);
}

static void test_postgres_defaults(void **state)
{
    struct fx *f = *state;
    struct conf_check c = pg_check(f, "postgres://db/x");
    assert_null(PG(c)->query);
    assert_int_equal(PG(c)->expect_rows, -1);
    assert_true(PG(c)->connections_warn == 0.8);
    assert_true(PG(c)->connections_crit == 0.95);
    assert_int_equal(PG(c)->replication_lag_warn_ms, 5000);
    assert_int_equal(PG(c)->replication_lag_crit_ms, 30000);
    const struct conf_field *url = conf_schema_find(probe_postgres_type.fields, "url");
    assert_non_null(url);
    assert_true(url->flags & CONF_FIELD_SECRET);
    assert_true(url->flags & CONF_FIELD_REQUIRED);
}

/* Loads yaml expecting exactly one error at line:col containing needle,
 * and never the password. */
static void expect_one_error(const char *yaml, int line, int col, const char *needle)
{
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    char text[1024] = "";
    if (e.len)
        base_error_format(&e.items[0], text, sizeof(text));
    if (rc != BASE_ERR_INVALID || e.len != 1 || e.items[0].line != line || e.items[0].col != col ||
        !strstr(e.items[0].msg, needle))
        fail_msg("expected one error %d:%d '%s'; rc %d, %zu errors, first: %s", line, col, needle, rc, e.len, text);
    assert_non_null(strstr(text, "t.yaml:"));
    if (strstr(text, PW) || strstr(text, "Sekret"))
        fail_msg("the password is in the error: %s", text);
    conf_destroy(c);
    base_errors_free(&e);
}

#define HEAD "checks:\n  - id: c\n    type: postgres\n"
#define URL_LINE "    url: postgres://app:" PW "@127.0.0.1:5432/x\n"

static void test_postgres_config_errors_have_positions(void **state)
{
    expect_one_error(HEAD, 2, 5, "url");
    expect_one_error(HEAD "    url: http://app:" PW "@db/x\n", 4, 10,
                     "url must start with postgres:// or postgresql://, got 'http://app:***@db/x'");
    expect_one_error(HEAD "    url: 'host=db password=" PW "'\n", 4, 10, "url must start with postgres://");
    expect_one_error(HEAD "    url: postgres://app:" PW "@db/x?bogus=1\n", 4, 10,
                     "url is not a valid PostgreSQL URL: invalid URI query parameter: \"bogus\"");
    expect_one_error(HEAD "    url: postgres://app:" PW "%zz@db/x\n", 4, 10, "url is not a valid PostgreSQL URL");
    expect_one_error(HEAD "    url: 'postgres://app:" PW "@db/x?password=" PW "%'\n", 4, 10,
                     "url is not a valid PostgreSQL URL");
    expect_one_error(HEAD URL_LINE "    query: '  '\n", 5, 12, "query must not be empty");
    expect_one_error(HEAD URL_LINE "    query: [1]\n", 5, 12, "expected a string");
    expect_one_error(HEAD URL_LINE "    expect_rows: -1\n", 5, 18, "");
    expect_one_error(HEAD URL_LINE "    expect_rows: 1000000001\n", 5, 18, "");
    expect_one_error(HEAD URL_LINE "    expect_rows: many\n", 5, 18, "");
    expect_one_error(HEAD URL_LINE "    connections_warn: 1.5\n", 5, 23,
                     "expected a ratio from 0 to 1 (0.8) or a percentage (80%), got '1.5'");
    expect_one_error(HEAD URL_LINE "    connections_crit: 120%\n", 5, 23, "expected a ratio");
    expect_one_error(HEAD URL_LINE "    connections_crit: 1e-1\n", 5, 23, "expected a ratio");
    expect_one_error(HEAD URL_LINE "    connections_warn: 0.9\n    connections_crit: 0.5\n", 5, 23,
                     "connections_warn (0.9) must not be above connections_crit (0.5)");
    /* only crit given: the default warn (0.8) is above it */
    expect_one_error(HEAD URL_LINE "    connections_crit: 50%\n", 5, 23,
                     "connections_warn (0.8) must not be above connections_crit (0.5)");
    expect_one_error(HEAD URL_LINE "    replication_lag_warn: 1m\n    replication_lag_crit: 10s\n", 5, 27,
                     "replication_lag_warn (1m) must not be above replication_lag_crit (10s)");
    expect_one_error(HEAD URL_LINE "    replication_lag_crit: 2s\n", 5, 27,
                     "replication_lag_warn (5s) must not be above replication_lag_crit (2s)");
    expect_one_error(HEAD URL_LINE "    replication_lag_warn: soon\n", 5, 27, "");
    expect_one_error(HEAD URL_LINE "    replication_lag_warn: 0s\n", 5, 27, "");
    expect_one_error(HEAD URL_LINE "    expect_row: 1\n", 5, 5, "did you mean 'expect_rows'");
    expect_one_error(HEAD URL_LINE "    address: 127.0.0.1:5432\n", 5, 5, "address");
}

static void test_postgres_valid_config_loads_and_target_hides_credentials(void **state)
{
    const char *yaml = HEAD "    url: postgres://app:" PW "@db.example.com:6432/shop?sslmode=require\n"
                       "    query: SELECT 1 FROM orders LIMIT 1\n"
                       "    expect_rows: 0\n"
                       "    connections_warn: 70%\n"
                       "    connections_crit: 0.7\n"
                       "    replication_lag_warn: 1m\n"
                       "    replication_lag_crit: 1m\n"
                       "  - id: d\n    type: postgres\n    url: 'postgresql://u@[::1]:5433,h2/db'\n"
                       "  - id: e\n    type: postgres\n    url: 'postgres:///x?host=/var/run/postgresql'\n"
                       "  - id: f\n    type: postgres\n    url: 'postgres://u@db'\n";
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    if (conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e) != 0) {
        base_errors_print(&e, stderr);
        fail();
    }
    const struct probe_postgres_conf *p = c->checks[0].settings;
    assert_string_equal(p->query, "SELECT 1 FROM orders LIMIT 1");
    assert_int_equal(p->expect_rows, 0);
    assert_true(p->connections_warn == 0.7 && p->connections_crit == 0.7);
    assert_int_equal(p->replication_lag_warn_ms, 60000);
    char t[256];
    probe_postgres_type.target(&c->checks[0], t, sizeof(t));
    assert_string_equal(t, "db.example.com:6432/shop");
    probe_postgres_type.target(&c->checks[1], t, sizeof(t));
    assert_string_equal(t, "[::1]:5433,h2:5432/db");
    probe_postgres_type.target(&c->checks[2], t, sizeof(t));
    assert_string_equal(t, "/var/run/postgresql:5432/x");
    probe_postgres_type.target(&c->checks[3], t, sizeof(t));
    assert_string_equal(t, "db:5432/u");
    /* the canonical JSON omits an unset expect_rows and keeps a set one */
    json_t *j = conf_check_to_json(&c->checks[0]);
    assert_int_equal(json_integer_value(json_object_get(j, "expect_rows")), 0);
    json_decref(j);
    j = conf_check_to_json(&c->checks[1]);
    assert_null(json_object_get(j, "expect_rows"));
    json_decref(j);
    conf_destroy(c);
    base_errors_free(&e);
}

static void test_postgres_hosts_expand(void **state)
{
    char h[512], a[512], p[128];
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres://u@localhost:5/x", h, sizeof(h), a, sizeof(a), p,
                                                      sizeof(p)), 0);
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres://u@a,b/x?hostaddr=1.2.3.4,1.2.3.5", h, sizeof(h),
                                                      a, sizeof(a), p, sizeof(p)), 0);
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres://u@127.0.0.1:1,[::1]:2/x", h, sizeof(h), a,
                                                      sizeof(a), p, sizeof(p)), 1);
    assert_string_equal(h, "127.0.0.1,::1");
    assert_string_equal(a, "127.0.0.1,::1");
    assert_string_equal(p, "1,2");
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres://u@127.0.0.1,127.0.0.2:7/x", h, sizeof(h), a,
                                                      sizeof(a), p, sizeof(p)), 1);
    assert_string_equal(p, ",7");
    /* one port for every host; a socket directory kept as it is */
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres:///x?host=/tmp,127.0.0.1&port=6", h, sizeof(h), a,
                                                      sizeof(a), p, sizeof(p)), 1);
    assert_string_equal(h, "/tmp,127.0.0.1");
    assert_string_equal(a, ",127.0.0.1");
    assert_string_equal(p, "6,6");
    /* localhost: each of its addresses */
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres://u@/x?host=/tmp,localhost", h, sizeof(h), a, sizeof(a),
                                                      p, sizeof(p)), 1);
    assert_non_null(strstr(h, "/tmp,localhost"));
    assert_non_null(strstr(a, "127.0.0.1"));
    /* too long for the buffers: libpq gets the URL as it is */
    assert_int_equal(probe_postgres_conf_hosts_expand("postgres://u@127.0.0.1,127.0.0.2/x", h, 8, a, sizeof(a), p,
                                                      sizeof(p)), 0);
}

/* ---- runs against a real server ---- */

static void test_postgres_healthy_server_is_up_with_every_value(void **state)
{
    struct fx *f = *state;
    struct conf_check c = pg_check(f, url_ok);
    struct result r;
    run_check(f, &c, &r, 10000);
    if (r.s.result != SAMPLE_UP)
        fail_msg("result %d: %s", r.s.result, r.s.error);
    assert_string_equal(r.s.error, "");
    static const char *const present[] = {"connections_used", "connections_max", "connections_used_ratio",
                                          "in_recovery", "database_size_bytes", "longest_transaction_seconds",
                                          "latency_seconds", "phase_connect_seconds", "phase_query_seconds",
                                          "query_rows"};
    for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
        if (sample_v(&r.s, present[i]) < 0)
            fail_msg("value %s missing", present[i]);
    assert_true(sample_v(&r.s, "connections_used") >= 1);
    assert_true(sample_v(&r.s, "connections_max") == 97); /* 100 - 3 reserved */
    assert_true(sample_v(&r.s, "in_recovery") == 0);
    assert_true(sample_v(&r.s, "replication_lag_seconds") == -1); /* a primary has none */
    assert_true(sample_v(&r.s, "database_size_bytes") > 1000000);
    assert_true(sample_v(&r.s, "query_rows") == 1);
    double lat = sample_v(&r.s, "latency_seconds");
    assert_true(lat > 0 && lat < 10);
    assert_true(r.s.latency_ms > 0 && fabs(r.s.latency_ms / 1000.0 - lat) < 1e-9);
    assert_true(sample_v(&r.s, "phase_connect_seconds") + sample_v(&r.s, "phase_query_seconds") <= lat + 1e-9);
    /* expect_rows met, several statements: the last result counts */
    PG(c)->query = "SELECT 1; SELECT generate_series(1, 3)";
    PG(c)->expect_rows = 3;
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "query_rows") == 3);
    /* a command counts the rows it changed */
    PG(c)->query = "CREATE TEMP TABLE t AS SELECT generate_series(1, 4) AS n; UPDATE t SET n = n + 1";
    PG(c)->expect_rows = 4;
    run_check(f, &c, &r, 10000);
    if (r.s.result != SAMPLE_UP)
        fail_msg("command: %s", r.s.error);
}

static void test_postgres_failures_are_down_with_the_reason(void **state)
{
    struct fx *f = *state;
    struct result r;
    int held;
    char refused[256];
    snprintf(refused, sizeof(refused), "postgres://opshub:" PW "@127.0.0.1:%d/opshub_test", test_port_closed(&held));
    struct conf_check c = pg_check(f, refused);
    run_check(f, &c, &r, 10000);
    close(held);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "connection refused");
    assert_int_equal(r.s.n_values, 0);

    c = pg_check(f, url_nodb);
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "database \"nope_***\" does not exist");
}

static void test_postgres_password_never_in_errors(void **state)
{
    struct fx *f = *state;
    struct result r;
    /* the server quotes the database name, which holds the password here */
    char url[512];
    snprintf(url, sizeof(url), "postgres://opshub:" PW "@127.0.0.1:%d/" PW, pg.port);
    struct conf_check c = pg_check(f, url);
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "database \"***\" does not exist");
    /* and a query that echoes it */
    PG(c)->url = url_ok;
    PG(c)->query = "SELECT * FROM \"" PW "\"";
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_null(strstr(r.s.error, PW));
}

static void test_postgres_query_errors_and_row_counts(void **state)
{
    struct fx *f = *state;
    struct result r;
    struct conf_check c = pg_check(f, url_ok);
    PG(c)->query = "SELECT * FROM no_such_table";
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "query failed: relation \"no_such_table\" does not exist (42P01)");
    /* the statistics still come */
    assert_true(sample_v(&r.s, "connections_used") >= 1);
    assert_true(sample_v(&r.s, "query_rows") == -1);
    PG(c)->query = "SELECT generate_series(1, 5)";
    PG(c)->expect_rows = 1;
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "query returned 5 rows, expected 1");
    assert_true(sample_v(&r.s, "query_rows") == 5);
    PG(c)->query = "SELECT 1 WHERE false";
    PG(c)->expect_rows = 1;
    run_check(f, &c, &r, 10000);
    assert_string_equal(r.s.error, "query returned 0 rows, expected 1");
    /* a result bigger than any buffer is counted row by row */
    PG(c)->query = "SELECT repeat('x', 1000) FROM generate_series(1, 200000)";
    PG(c)->expect_rows = 200000;
    run_check(f, &c, &r, 20000);
    if (r.s.result != SAMPLE_UP)
        fail_msg("big result: %s", r.s.error);
    PG(c)->query = "COPY (SELECT 1) TO STDOUT";
    PG(c)->expect_rows = -1;
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "query started a COPY, which a check cannot run");
}

static void test_postgres_other_servers_and_ssl_required(void **state)
{
    struct fx *f = *state;
    struct target wrong;
    assert_int_equal(target_start(&wrong, TARGET_WRONG), 0);
    char url[256];
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d/x", wrong.port);
    struct conf_check c = pg_check(f, url);
    struct result r;
    run_check(f, &c, &r, 10000);
    target_stop(&wrong);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_true(r.s.error[0] != '\0');
    char req[600];
    snprintf(req, sizeof(req), "%s?sslmode=require", url_ok);
    c = pg_check(f, req);
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "server does not support SSL, but SSL was required");
}

static void test_postgres_timeouts_name_the_phase(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    char url[256];
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d/x", silent.port);
    struct conf_check c = pg_check(f, url);
    c.timeout_ms = 300;
    struct result r;
    run_check(f, &c, &r, 5000);
    target_stop(&silent);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "timeout after 300 ms (connect)");
    assert_true(r.s.latency_ms >= 290 && r.s.latency_ms < 2000);

    c = pg_check(f, url_ok);
    c.timeout_ms = 300;
    PG(c)->query = "SELECT pg_sleep(1)";
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "timeout after 300 ms (query)");
}

static void test_postgres_multi_host_replaces_the_socket(void **state)
{
    struct fx *f = *state;
    int held1, held2;
    char url[512];
    /* two refused hosts, then the server: libpq makes three sockets */
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d,localhost:%d,127.0.0.1:%d/opshub_test",
             test_port_closed(&held1), test_port_closed(&held2), pg.port);
    struct conf_check c = pg_check(f, url);
    struct result r;
    run_check(f, &c, &r, 10000);
    close(held1);
    close(held2);
    if (r.s.result != SAMPLE_UP)
        fail_msg("multi-host: %s", r.s.error);
    /* both hosts connect and are turned down by libpq itself: the second
     * socket replaces the first without a socket error (which would make
     * libuv stop the old handle by itself) */
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d,127.0.0.1:%d/opshub_test?target_session_attrs=standby",
             pg.port, pg.port);
    c = pg_check(f, url);
    run_check(f, &c, &r, 10000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "server is not in hot standby mode");
    /* all refused: the last host's reason */
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d,127.0.0.1:%d/opshub_test", test_port_closed(&held1),
             test_port_closed(&held2));
    c = pg_check(f, url);
    run_check(f, &c, &r, 10000);
    close(held1);
    close(held2);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "connection refused");
}

static void test_postgres_cancel_in_each_phase_closes_everything(void **state)
{
    struct fx *f = *state;
    struct target silent;
    assert_int_equal(target_start(&silent, TARGET_SILENT), 0);
    char url[256];
    snprintf(url, sizeof(url), "postgres://opshub@127.0.0.1:%d/x", silent.port);
    struct result r[4] = {{0}};
    /* still on the thread pool */
    struct conf_check c = pg_check(f, url);
    struct probe_run *pooled = probe_start(f->e, &c, on_result, &r[0]);
    assert_non_null(pooled);
    probe_cancel(pooled);
    /* connected to a server that never answers: waiting in PQconnectPoll */
    int seen = atomic_load(&silent.requests);
    struct probe_run *connecting = probe_start(f->e, &c, on_result, &r[1]);
    assert_true(wait_requests(f, &silent, seen + 1, 5000));
    run_for(f, 20);
    probe_cancel(connecting);
    probe_cancel(connecting);  /* twice is harmless */
    /* in the query */
    struct conf_check q = pg_check(f, url_ok);
    PG(q)->query = "SELECT pg_sleep(0.5)";
    struct probe_run *querying = probe_start(f->e, &q, on_result, &r[2]);
    run_for(f, 200);
    assert_int_equal(r[2].done, 0);
    probe_cancel(querying);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.started, 3);
    assert_int_equal(st.canceled, 3);
    assert_int_equal(st.in_flight, 0);
    run_for(f, 50);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].done, 0);
    fx_close_engine(f);
    target_stop(&silent);
}

static void test_postgres_engine_closed_with_runs_in_flight(void **state)
{
    struct fx *f = *state;
    struct result r[3] = {{0}};
    struct conf_check q = pg_check(f, url_ok);
    PG(q)->query = "SELECT pg_sleep(0.5)";
    assert_non_null(probe_start(f->e, &q, on_result, &r[0]));  /* on the pool */
    run_for(f, 200);
    assert_non_null(probe_start(f->e, &q, on_result, &r[1]));  /* likely connecting */
    struct conf_check c = pg_check(f, url_ok);
    assert_non_null(probe_start(f->e, &c, on_result, &r[2]));
    fx_close_engine(f);  /* asserts the loop closes with nothing left */
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].done, 0);
}

static int group_setup(void **state)
{
    if (pg_test_start_anywhere(&pg) != 0) {
        fprintf(stderr, "test_postgres: cannot start PostgreSQL (scripts/pg-test.sh)\n");
        pg_test_stop(&pg);
        return -1;
    }
    snprintf(url_ok, sizeof(url_ok), "postgres://opshub:" PW "@127.0.0.1:%d/opshub_test", pg.port);
    snprintf(url_nodb, sizeof(url_nodb), "postgres://opshub:" PW "@127.0.0.1:%d/nope_%s", pg.port, PW);
    return 0;
}

static int group_teardown(void **state)
{
    pg_test_stop(&pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_postgres_thresholds_map_to_results),
        T(test_postgres_messages_lose_secrets_and_prefixes),
        T(test_postgres_url_passwords_raw_and_decoded),
        T(test_postgres_defaults),
        T(test_postgres_config_errors_have_positions),
        T(test_postgres_valid_config_loads_and_target_hides_credentials),
        T(test_postgres_hosts_expand),
        T(test_postgres_healthy_server_is_up_with_every_value),
        T(test_postgres_failures_are_down_with_the_reason),
        T(test_postgres_password_never_in_errors),
        T(test_postgres_query_errors_and_row_counts),
        T(test_postgres_other_servers_and_ssl_required),
        T(test_postgres_timeouts_name_the_phase),
        T(test_postgres_multi_host_replaces_the_socket),
        T(test_postgres_cancel_in_each_phase_closes_everything),
        T(test_postgres_engine_closed_with_runs_in_flight),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
