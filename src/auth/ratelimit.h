/*
 * auth/ratelimit: token-bucket rate limiting keyed by a string (token id,
 * user or client IP), with the IETF RateLimit-* / Retry-After headers.
 * Owns a bounded table of buckets: when max_keys is reached the least
 * recently used key is evicted (hash map + LRU list, O(1) per request).
 * The clock is injected (now_ms), so it never reads time itself; not
 * thread-safe (it lives on the loop). Must not log the keys (may be tokens).
 */
#ifndef AUTH_RATELIMIT_H
#define AUTH_RATELIMIT_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_RATELIMIT_MAX_N 1000000
#define AUTH_RATELIMIT_KEY_MAX 256          /* bytes, excluding the NUL */

/* `limit` requests per `period_ms`; also the burst size. */
struct auth_ratelimit_rate {
    uint32_t limit;
    int64_t period_ms;
};

struct auth_ratelimit_result {
    int allowed;             /* 1 = serve, 0 = answer 429 */
    int64_t remaining;       /* whole tokens left after this request */
    int64_t reset_s;         /* seconds until the bucket is full again */
    int64_t retry_after_s;   /* when denied: seconds until one token (>= 1); else 0 */
};

struct auth_ratelimit;

/* Parses "N/unit" with N in 1..1e6 and unit one of sec|s|min|m|hour|h
 * ("120/min"). No spaces, signs or leading zeros beyond "0"-free digits.
 * 0 or BASE_ERR_INVALID (rate untouched). */
int auth_ratelimit_parse(const char *s, struct auth_ratelimit_rate *rate) WARN_UNUSED;

/* New table for `rate` holding at most max_keys buckets (>= 1). NULL on
 * allocation failure or invalid arguments. Free with auth_ratelimit_destroy. */
struct auth_ratelimit *auth_ratelimit_new(const struct auth_ratelimit_rate *rate,
                                          size_t max_keys);
void auth_ratelimit_destroy(struct auth_ratelimit *rl);

/* Takes one token from key's bucket at time now_ms (any monotonic ms clock;
 * a clock going backwards mints nothing). A new key starts with a full
 * bucket; key is copied. Fills r and returns 0 (r->allowed says the answer),
 * BASE_ERR_TOO_BIG (key longer than AUTH_RATELIMIT_KEY_MAX) or BASE_ERR_NOMEM
 * (new key could not be stored). On an error r is filled as denied with
 * retry_after_s 1; the caller chooses to fail closed (429/503) or open. */
int auth_ratelimit_take(struct auth_ratelimit *rl, const char *key, int64_t now_ms,
                        struct auth_ratelimit_result *r) WARN_UNUSED;

/* Number of keys currently tracked (<= max_keys). */
size_t auth_ratelimit_count(const struct auth_ratelimit *rl);

/* Writes "RateLimit-Limit: L\r\nRateLimit-Remaining: R\r\nRateLimit-Reset: S\r\n"
 * plus "Retry-After: N\r\n" when denied, NUL-terminated. 0 or
 * BASE_ERR_TOO_BIG (out is then ""); 160 bytes always suffice. */
int auth_ratelimit_headers(const struct auth_ratelimit_result *r,
                           const struct auth_ratelimit_rate *rate, char *out, size_t n);

#endif
