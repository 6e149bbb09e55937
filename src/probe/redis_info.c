/*
 * probe/redis_info: reads an INFO reply (the text Redis documents as
 * "key:value" lines under "# Section" headers) into struct
 * probe_redis_info, one table entry per field the check uses. The reply
 * comes from the network, so nothing is trusted: lines may be any length,
 * values any bytes, numbers any size; what does not parse is skipped.
 */
#include "probe/redis_info.h"

#include <stddef.h>
#include <string.h>

enum info_kind { INFO_U64, INFO_OK, INFO_RUN_ID };

struct info_field {
    const char *key;
    enum info_kind kind;
    size_t offset;
    unsigned bit;
};

#define U(key, member, bit) {key, INFO_U64, offsetof(struct probe_redis_info, member), bit}
static const struct info_field fields[] = {
    U("used_memory", used_memory, PROBE_REDIS_HAVE_USED_MEMORY),
    U("maxmemory", maxmemory, PROBE_REDIS_HAVE_MAXMEMORY),
    U("keyspace_hits", keyspace_hits, PROBE_REDIS_HAVE_HITS),
    U("keyspace_misses", keyspace_misses, PROBE_REDIS_HAVE_MISSES),
    U("evicted_keys", evicted_keys, PROBE_REDIS_HAVE_EVICTED),
    U("connected_clients", connected_clients, PROBE_REDIS_HAVE_CLIENTS),
    U("rdb_last_save_time", rdb_last_save_time, PROBE_REDIS_HAVE_LAST_SAVE),
    U("uptime_in_seconds", uptime_in_seconds, PROBE_REDIS_HAVE_UPTIME),
    U("server_time_usec", server_time_usec, PROBE_REDIS_HAVE_SERVER_TIME),
    {"rdb_last_bgsave_status", INFO_OK, offsetof(struct probe_redis_info, rdb_last_bgsave_ok),
     PROBE_REDIS_HAVE_BGSAVE},
    {"run_id", INFO_RUN_ID, offsetof(struct probe_redis_info, run_id), PROBE_REDIS_HAVE_RUN_ID},
};
#undef U
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Decimal digits only, no sign, no spaces, at most 2^64-1. */
static bool parse_u64(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        unsigned d = (unsigned)(v[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

static bool set_field(const struct info_field *f, const char *v, size_t n, struct probe_redis_info *out)
{
    char *at = (char *)out + f->offset;
    switch (f->kind) {
    case INFO_U64: {
        uint64_t x;
        if (!parse_u64(v, n, &x))
            return false;
        memcpy(at, &x, sizeof(x));
        return true;
    }
    case INFO_OK: {
        bool ok = n == 2 && memcmp(v, "ok", 2) == 0;
        if (!ok && !(n == 3 && memcmp(v, "err", 3) == 0))
            return false;
        memcpy(at, &ok, sizeof(ok));
        return true;
    }
    case INFO_RUN_ID:
        if (n != sizeof(out->run_id) - 1)
            return false;
        for (size_t i = 0; i < n; i++)
            if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
                return false;
        memcpy(at, v, n);
        at[n] = '\0';
        return true;
    }
    return false;
}

/* One line without its end of line; 1 when it set a field. */
static int parse_line(const char *line, size_t n, struct probe_redis_info *out)
{
    if (!n || line[0] == '#')
        return 0;
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return 0;
    size_t klen = (size_t)(colon - line);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct info_field *f = &fields[i];
        if (strlen(f->key) != klen || memcmp(f->key, line, klen) != 0)
            continue;
        if (!set_field(f, colon + 1, n - klen - 1, out))
            return 0;
        int fresh = (out->have & f->bit) ? 0 : 1;
        out->have |= f->bit;
        return fresh;
    }
    return 0;
}

int probe_redis_info_parse(const char *buf, size_t n, struct probe_redis_info *out)
{
    memset(out, 0, sizeof(*out));
    int got = 0;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - buf) : n;
        size_t len = end - i;
        if (len && buf[i + len - 1] == '\r')
            len--;
        got += parse_line(buf + i, len, out);
        i = end + 1;
    }
    return got;
}

bool probe_redis_info_eviction_rate(const struct probe_redis_info *prev, const struct probe_redis_info *now, double dt_s,
                                    double *per_second)
{
    if (!(prev->have & now->have & PROBE_REDIS_HAVE_EVICTED) || !(dt_s > 0))
        return false;
    if ((prev->have & now->have & PROBE_REDIS_HAVE_RUN_ID) && strcmp(prev->run_id, now->run_id) != 0)
        return false;
    if ((prev->have & now->have & PROBE_REDIS_HAVE_UPTIME) && now->uptime_in_seconds < prev->uptime_in_seconds)
        return false;
    if (now->evicted_keys < prev->evicted_keys)
        return false;
    *per_second = (double)(now->evicted_keys - prev->evicted_keys) / dt_s;
    return true;
}
