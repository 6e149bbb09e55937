/*
 * probe/postgres_conf: the settings of the postgres check type (field
 * table, defaults, validation with positions, the target without
 * credentials, the values and their metrics) and the pure helpers its runs
 * use: the thresholds, messages cleaned of secrets, the passwords of a
 * URL, and the expansion of a multi-host URL into addresses. For
 * probe/postgres.c and its tests only. No I/O except
 * probe_postgres_conf_hosts_expand (name resolution, thread pool only).
 */
#ifndef PROBE_POSTGRES_CONF_H
#define PROBE_POSTGRES_CONF_H

#include "conf/check.h"
#include "probe/postgres.h"

#include <stdbool.h>
#include <stddef.h>

extern const struct conf_field probe_postgres_conf_fields[];
extern const struct conf_check_value probe_postgres_conf_values[];

int probe_postgres_conf_init(void *settings, struct base_arena *a);
void probe_postgres_conf_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c);
/* "host:port/dbname" for each host of the URL, never the user or password. */
void probe_postgres_conf_target(const struct conf_check *c, char *buf, size_t n);

/* The result of a sample from its statistics: the worse of the pool's use
 * (used / max; max <= 0: unknown) and the replication lag (lag_s < 0:
 * not a replica, or unknown) against the thresholds of c (values above a
 * threshold pass it), with the reason in err (empty when up):
 * "connections_used_ratio 0.85 is above connections_warn 0.8 (17 of 20)". */
enum sample_result probe_postgres_conf_judge(const struct probe_postgres_conf *c, double used, double max,
                                             double lag_s, char *err, size_t n);

/* Copies a libpq or server message into out with every secret (a
 * NULL-terminated list; empty entries skipped) replaced by "***" before
 * anything is cut; then only its last line that is not a hint (libpq
 * indents those) or a DETAIL/HINT, without libpq's "connection to server
 * at ... failed: " and without a "FATAL:  " severity prefix; "Connection
 * refused" becomes "connection refused". */
void probe_postgres_conf_clean_message(const char *msg, const char *const *secrets, char *out, size_t n);

/* The password of a URL as written (percent-encoded, in the userinfo or a
 * password= parameter; the userinfo one when both) in *raw and as libpq
 * decodes it in *decoded, each NULL when absent (base_malloc'd, the
 * caller frees). 0 or BASE_ERR_NOMEM. */
int probe_postgres_conf_passwords(const char *url, char **raw, char **decoded);

/* Thread pool only (it resolves names). For a URL naming several hosts
 * (and no hostaddr): every address of every host, as libpq's host,
 * hostaddr and port lists (socket directories kept as they are, at most
 * PROBE_POSTGRES_ADDRS_MAX addresses): 1. 0 when libpq should be given the
 * URL as it is (one host: libpq resolves it inside PQconnectStartParams,
 * which runs on the pool too). -1 when no host resolved, the reason in
 * host. Names that do not resolve are left out, as libpq moves on to the
 * next host when one fails. */
int probe_postgres_conf_hosts_expand(const char *url, char *host, size_t hn, char *addr, size_t an, char *port,
                                     size_t pn);

#endif
