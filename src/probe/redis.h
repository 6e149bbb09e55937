/*
 * probe/redis: the `redis` check type: connect to a Redis server (redis://
 * or rediss:// with TLS, over probe/conn), AUTH and SELECT as the URL
 * says, PING (which must answer PONG) and INFO, all on the loop; hiredis
 * only builds the commands and parses the replies. Reports memory, hit
 * ratio, evictions per second (from the previous run's counter, kept by
 * the engine per check), clients and persistence, with thresholds on
 * memory, hit ratio and evictions. The URL's password never leaves the
 * run: not in errors, targets or logs. INFO is parsed by probe/redis_info.
 */
#ifndef PROBE_REDIS_H
#define PROBE_REDIS_H

#include "conf/conf.h"
#include "probe/redis_info.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_REDIS_DEFAULT_PORT "6379"
#define PROBE_REDIS_INFO_MAX (1024 * 1024)   /* bytes of the INFO reply */
#define PROBE_REDIS_REPLY_MAX (64 * 1024)    /* bytes of any other reply */
#define PROBE_REDIS_CRED_MAX 256             /* bytes of the user and of the password, decoded */
#define PROBE_REDIS_DB_MAX 65535
#define PROBE_REDIS_HOST_MAX 255
#define PROBE_REDIS_EVICTIONS_MAX 1e12       /* evictions_warn, per second */

/* The settings of a redis check (conf_check.settings). */
struct probe_redis_conf {
    const char *url;          /* redis://[[user]:password@]host[:port][/db] or rediss://...; secret */
    const char *server_name;  /* rediss: SNI and the name verified; NULL: the host */
    const char *ca_file;      /* rediss: PEM bundle instead of the system store; may be NULL */
    double hit_ratio_warn;    /* keyspace_hit_ratio below: degraded (default 0.8) */
    double hit_ratio_crit;    /* below: down (default 0.5); <= hit_ratio_warn */
    double memory_warn;       /* memory_used_ratio above: degraded (default 0.8) */
    double memory_crit;       /* above: down (default 0.95); >= memory_warn */
    double evictions_warn;    /* evicted_keys_per_second above: degraded; < 0: off (default) */
};

/* A redis URL taken apart; user and password are percent-decoded. */
struct probe_redis_url {
    bool tls;                                 /* rediss:// */
    char host[PROBE_REDIS_HOST_MAX + 1];      /* without the brackets of [v6] */
    char port[6];
    char user[PROBE_REDIS_CRED_MAX + 1];      /* "" without one */
    char password[PROBE_REDIS_CRED_MAX + 1];  /* "" without one */
    bool has_password;                        /* AUTH [user] password is sent */
    int db;                                   /* SELECT db; -1 without a path */
};

/* Parses url into *out: 0, or -1 with a reason in *why (a static text
 * that never quotes the URL, so no password can leak through it). */
int probe_redis_url_parse(const char *url, struct probe_redis_url *out, const char **why);

extern const struct conf_check_type probe_redis_type;

#endif
