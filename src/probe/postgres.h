/*
 * probe/postgres: the `postgres` check type: connect to a PostgreSQL
 * server with libpq in non-blocking mode on the loop, run the check's
 * query (default SELECT 1), then one statistics query, and report the
 * connection pool's use, the replication lag of a replica, the database's
 * size and the oldest open transaction. Not the storage backend
 * (store/postgres.c); nothing is shared with it. The URL is a secret: it
 * never appears in a target, an error text or a log line. The settings'
 * parsing, the thresholds and the message cleaning are in
 * probe/postgres_conf.h.
 */
#ifndef PROBE_POSTGRES_H
#define PROBE_POSTGRES_H

#include "conf/conf.h"
#include "model/sample.h"

#include <stdint.h>

#define PROBE_POSTGRES_QUERY_MAX (64 * 1024)   /* bytes of the check's query */
#define PROBE_POSTGRES_URL_MAX 4096
#define PROBE_POSTGRES_ROWS_MAX 1000000000     /* largest expect_rows */
/* Multi-host URLs: each host name is resolved on libuv's pool before
 * libpq sees it, its addresses passed as hostaddr (at most this many in
 * all), so that libpq never resolves a name on the loop. */
#define PROBE_POSTGRES_ADDRS_MAX 16
#define PROBE_POSTGRES_DEFAULT_QUERY "SELECT 1"
#define PROBE_POSTGRES_DEFAULT_CONN_WARN 0.8
#define PROBE_POSTGRES_DEFAULT_CONN_CRIT 0.95
#define PROBE_POSTGRES_DEFAULT_LAG_WARN_MS 5000
#define PROBE_POSTGRES_DEFAULT_LAG_CRIT_MS 30000

/* The settings of a postgres check (conf_check.settings). */
struct probe_postgres_conf {
    const char *url;            /* postgres:// or postgresql:// (secret) */
    const char *query;          /* NULL: SELECT 1 */
    int expect_rows;            /* -1: any number */
    double connections_warn;    /* connections_used_ratio above: degraded */
    double connections_crit;    /* above: down; >= connections_warn */
    int64_t replication_lag_warn_ms; /* replica lag above: degraded */
    int64_t replication_lag_crit_ms; /* above: down; >= replication_lag_warn_ms */
};

extern const struct conf_check_type probe_postgres_type;

#endif
