/*
 * probe/redis_info: the pure half of the redis check type: an INFO reply
 * read into the figures the check reports, and the eviction rate between
 * two readings. No I/O, no allocation; fuzzed by
 * tests/fuzz/fuzz_redis_info.c.
 */
#ifndef PROBE_REDIS_INFO_H
#define PROBE_REDIS_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What INFO says, as far as the check uses it. */
enum {
    PROBE_REDIS_HAVE_USED_MEMORY = 1u << 0,
    PROBE_REDIS_HAVE_MAXMEMORY = 1u << 1,
    PROBE_REDIS_HAVE_HITS = 1u << 2,
    PROBE_REDIS_HAVE_MISSES = 1u << 3,
    PROBE_REDIS_HAVE_EVICTED = 1u << 4,
    PROBE_REDIS_HAVE_CLIENTS = 1u << 5,
    PROBE_REDIS_HAVE_LAST_SAVE = 1u << 6,
    PROBE_REDIS_HAVE_BGSAVE = 1u << 7,
    PROBE_REDIS_HAVE_UPTIME = 1u << 8,
    PROBE_REDIS_HAVE_SERVER_TIME = 1u << 9,
    PROBE_REDIS_HAVE_RUN_ID = 1u << 10,
};

struct probe_redis_info {
    unsigned have;                    /* PROBE_REDIS_HAVE_* of the fields read */
    uint64_t used_memory, maxmemory;
    uint64_t keyspace_hits, keyspace_misses, evicted_keys;
    uint64_t connected_clients;
    uint64_t rdb_last_save_time;      /* unix seconds */
    bool rdb_last_bgsave_ok;          /* rdb_last_bgsave_status:ok */
    uint64_t uptime_in_seconds;
    uint64_t server_time_usec;        /* the server's clock (Redis 6.2+) */
    char run_id[41];                  /* 40 hex digits */
};

/* Parses an INFO reply (lines "key:value", "# Section" headers, CRLF or
 * LF) into *out. Fields it does not know, lines that are not "key:value"
 * and values that are not what the field needs (numbers: decimal digits
 * only, up to 2^64-1) are skipped, so a missing or garbled field is only
 * absent from out->have. Returns the number of fields read. Pure. */
int probe_redis_info_parse(const char *buf, size_t n, struct probe_redis_info *out);

/* Evictions per second between two INFO readings of the same check taken
 * dt_s apart: false (no rate) when the server restarted in between (its
 * run_id changed or its uptime went down), the counter went down, either
 * reading lacks it, or dt_s is not positive. Pure. */
bool probe_redis_info_eviction_rate(const struct probe_redis_info *prev, const struct probe_redis_info *now, double dt_s,
                                    double *per_second);

#endif
