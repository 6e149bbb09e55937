/*
 * auth/miss: what an API token that the daemon's mirror does not hold may
 * cost. Such a token is looked up in the database (it may have been made a
 * moment ago by another process), but a flood of random tokens must not
 * become a flood of queries, so the lookups are bounded here: one lookup
 * per token hash at a time (later requests for it join the one in flight),
 * at most AUTH_MISS_INFLIGHT_MAX at once, and a budget of
 * AUTH_MISS_BURST lookups refilled at AUTH_MISS_RATE_PER_S. A token found
 * absent, revoked or expired goes into a negative cache for
 * AUTH_MISS_NEGATIVE_TTL_MS: tokens are 256 random bits made by opshub, so
 * one that was unknown never becomes valid later (the TTL only covers a
 * database restored from a backup). Pure bookkeeping with the clock passed
 * in: no I/O, loop thread only.
 */
#ifndef AUTH_MISS_H
#define AUTH_MISS_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_MISS_INFLIGHT_MAX 4
#define AUTH_MISS_BURST 20
#define AUTH_MISS_RATE_PER_S 10
#define AUTH_MISS_NEGATIVE_SLOTS 4096   /* direct-mapped: a new entry replaces its slot's */
#define AUTH_MISS_NEGATIVE_TTL_MS 60000

struct auth_miss_negative {
    unsigned char hash[32];
    int64_t expires_ms;                 /* 0 = empty */
};

struct auth_miss {
    struct auth_miss_negative *negative; /* AUTH_MISS_NEGATIVE_SLOTS, allocated on first note */
    struct {
        unsigned char hash[32];
        bool busy;
    } inflight[AUTH_MISS_INFLIGHT_MAX];
    int64_t budget_milli;               /* lookups left x 1000 */
    int64_t budget_ms;                  /* when it was last refilled; 0 = never */
};

void auth_miss_init(struct auth_miss *m);
void auth_miss_free(struct auth_miss *m);

/* True when `hash_hex` (64 hex characters of SHA-256) was noted absent and
 * its entry has not expired at now_ms. A malformed hash is never known. */
bool auth_miss_is_known(const struct auth_miss *m, const char *hash_hex, int64_t now_ms);
/* Notes hash_hex absent until now_ms + AUTH_MISS_NEGATIVE_TTL_MS (no-op
 * when the cache cannot be allocated or the hash is malformed). */
void auth_miss_note(struct auth_miss *m, const char *hash_hex, int64_t now_ms);

enum auth_miss_begin {
    AUTH_MISS_START,    /* a new lookup: *slot is its place until auth_miss_end */
    AUTH_MISS_JOIN,     /* the same hash is being looked up in *slot: wait for it */
    AUTH_MISS_REFUSE,   /* AUTH_MISS_INFLIGHT_MAX in flight, or the budget is spent */
};
enum auth_miss_begin auth_miss_begin(struct auth_miss *m, const char *hash_hex, int64_t now_ms, int *slot);
/* The lookup in `slot` finished (whatever its result). */
void auth_miss_end(struct auth_miss *m, int slot);
/* Lookups in flight now. */
int auth_miss_inflight(const struct auth_miss *m);

#endif
