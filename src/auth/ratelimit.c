/*
 * auth/ratelimit: token buckets in exact integer arithmetic. One token is
 * `period_ms` units and a bucket gains `limit` units per millisecond, so
 * fractional refills need no floating point and cannot drift. Owns its
 * buckets (one allocation each, key stored inline) and the map and LRU list
 * that index them. Never reads the clock and never logs keys.
 */
#include "auth/ratelimit.h"

#include "base/alloc.h"
#include "base/map.h"

#include <stdio.h>
#include <string.h>

struct bucket {
    struct bucket *prev, *next;   /* LRU list: head = most recently used */
    int64_t level;                /* units; capacity = limit * period_ms */
    int64_t last_ms;              /* latest time seen: never moves back */
    char key[];
};

struct auth_ratelimit {
    struct auth_ratelimit_rate rate;
    size_t max_keys;
    struct base_map map;          /* key (borrowed from bucket) -> bucket */
    struct bucket *head, *tail;
};

int auth_ratelimit_parse(const char *s, struct auth_ratelimit_rate *rate)
{
    static const struct { const char *name; int64_t ms; } units[] = {
        {"sec", 1000}, {"s", 1000}, {"min", 60000}, {"m", 60000},
        {"hour", 3600000}, {"h", 3600000},
    };
    int64_t v = 0;
    const char *p = s;

    if (!s || *p < '1' || *p > '9')
        return BASE_ERR_INVALID;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > AUTH_RATELIMIT_MAX_N)
            return BASE_ERR_INVALID;
    }
    if (*p++ != '/')
        return BASE_ERR_INVALID;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(p, units[i].name) == 0) {
            rate->limit = (uint32_t)v;
            rate->period_ms = units[i].ms;
            return 0;
        }
    return BASE_ERR_INVALID;
}

struct auth_ratelimit *auth_ratelimit_new(const struct auth_ratelimit_rate *rate,
                                          size_t max_keys)
{
    if (!rate || rate->limit < 1 || rate->limit > AUTH_RATELIMIT_MAX_N ||
        rate->period_ms < 1 || rate->period_ms > 24 * 3600000LL || max_keys < 1)
        return NULL;
    struct auth_ratelimit *rl = base_calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->rate = *rate;
    rl->max_keys = max_keys;
    base_map_init(&rl->map);
    return rl;
}

void auth_ratelimit_destroy(struct auth_ratelimit *rl)
{
    if (!rl)
        return;
    for (struct bucket *b = rl->head, *next; b; b = next) {
        next = b->next;
        base_free(b);
    }
    base_map_free(&rl->map);
    base_free(rl);
}

size_t auth_ratelimit_count(const struct auth_ratelimit *rl)
{
    return rl->map.len;
}

static void lru_unlink(struct auth_ratelimit *rl, struct bucket *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        rl->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        rl->tail = b->prev;
    b->prev = b->next = NULL;
}

static void lru_push_front(struct auth_ratelimit *rl, struct bucket *b)
{
    b->prev = NULL;
    b->next = rl->head;
    if (rl->head)
        rl->head->prev = b;
    rl->head = b;
    if (!rl->tail)
        rl->tail = b;
}

static struct bucket *bucket_add(struct auth_ratelimit *rl, const char *key, size_t keylen,
                                 int64_t now_ms)
{
    struct bucket *b = base_malloc(sizeof(*b) + keylen + 1);
    if (!b)
        return NULL;
    memcpy(b->key, key, keylen + 1);
    b->level = (int64_t)rl->rate.limit * rl->rate.period_ms;
    b->last_ms = now_ms;
    b->prev = b->next = NULL;
    if (base_map_put(&rl->map, b->key, b) != 0) {
        base_free(b);
        return NULL;
    }
    lru_push_front(rl, b);
    /* Evict only after the new key is stored, so a failed insert loses nothing. */
    while (rl->map.len > rl->max_keys && rl->tail != b) {
        struct bucket *old = rl->tail;
        lru_unlink(rl, old);
        base_map_remove(&rl->map, old->key);
        base_free(old);
    }
    return b;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a <= 0 ? 0 : (a + b - 1) / b;
}

int auth_ratelimit_take(struct auth_ratelimit *rl, const char *key, int64_t now_ms,
                        struct auth_ratelimit_result *r)
{
    const int64_t limit = rl->rate.limit, period = rl->rate.period_ms;
    const int64_t cap = limit * period;
    size_t keylen = strnlen(key, AUTH_RATELIMIT_KEY_MAX + 1);

    memset(r, 0, sizeof(*r));
    r->retry_after_s = 1;
    if (keylen > AUTH_RATELIMIT_KEY_MAX)
        return BASE_ERR_TOO_BIG;
    struct bucket *b = base_map_get(&rl->map, key);
    if (b) {
        lru_unlink(rl, b);
        lru_push_front(rl, b);
    } else {
        b = bucket_add(rl, key, keylen, now_ms);
        if (!b)
            return BASE_ERR_NOMEM;
    }
    if (now_ms > b->last_ms) {
        /* Beyond one period the bucket is full anyway; capping the elapsed
         * time keeps limit * elapsed far from int64 overflow. */
        int64_t elapsed = now_ms - b->last_ms;
        if (elapsed > period)
            elapsed = period;
        b->level += elapsed * limit;
        if (b->level > cap)
            b->level = cap;
        b->last_ms = now_ms;
    }
    if (b->level >= period) {
        b->level -= period;
        r->allowed = 1;
        r->retry_after_s = 0;
    } else {
        /* Units missing for one token, refilled at `limit` units per ms. */
        int64_t ms = ceil_div(period - b->level, limit);
        r->retry_after_s = ceil_div(ms, 1000);
        if (r->retry_after_s < 1)
            r->retry_after_s = 1;
    }
    r->remaining = b->level / period;
    r->reset_s = ceil_div(ceil_div(cap - b->level, limit), 1000);
    return 0;
}

int auth_ratelimit_headers(const struct auth_ratelimit_result *r,
                           const struct auth_ratelimit_rate *rate, char *out, size_t n)
{
    int w = snprintf(out, n, "RateLimit-Limit: %u\r\nRateLimit-Remaining: %lld\r\n"
                     "RateLimit-Reset: %lld\r\n", (unsigned)rate->limit,
                     (long long)r->remaining, (long long)r->reset_s);
    if (w >= 0 && (size_t)w < n && !r->allowed) {
        int w2 = snprintf(out + w, n - (size_t)w, "Retry-After: %lld\r\n",
                          (long long)r->retry_after_s);
        w = w2 < 0 ? w2 : w + w2;
    }
    if (w < 0 || (size_t)w >= n) {
        if (n > 0)
            out[0] = '\0';
        return BASE_ERR_TOO_BIG;
    }
    return 0;
}
