/*
 * auth/miss: bounds on looking up API tokens the mirror does not hold (see
 * miss.h): the negative cache, the single flight per hash, the cap on
 * lookups at once and their refilling budget. Owns only its arrays.
 */
#include "auth/miss.h"

#include "base/alloc.h"

#include <string.h>

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* 64 hex characters into 32 bytes; false when malformed. */
static bool hash_parse(const char *hex, unsigned char out[32])
{
    if (!hex)
        return false;
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_value(hex[2 * i]), lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return hex[64] == '\0';
}

static struct auth_miss_negative *negative_slot(const struct auth_miss *m, const unsigned char hash[32])
{
    /* SHA-256 bytes are uniform: the first two pick the slot. */
    unsigned idx = ((unsigned)hash[0] << 8 | hash[1]) % AUTH_MISS_NEGATIVE_SLOTS;
    return &m->negative[idx];
}

void auth_miss_init(struct auth_miss *m)
{
    memset(m, 0, sizeof(*m));
}

void auth_miss_free(struct auth_miss *m)
{
    base_free(m->negative);
    memset(m, 0, sizeof(*m));
}

bool auth_miss_is_known(const struct auth_miss *m, const char *hash_hex, int64_t now_ms)
{
    unsigned char h[32];
    if (!m->negative || !hash_parse(hash_hex, h))
        return false;
    const struct auth_miss_negative *e = negative_slot(m, h);
    return e->expires_ms > now_ms && memcmp(e->hash, h, sizeof(h)) == 0;
}

void auth_miss_note(struct auth_miss *m, const char *hash_hex, int64_t now_ms)
{
    unsigned char h[32];
    if (!hash_parse(hash_hex, h))
        return;
    if (!m->negative) {
        m->negative = base_calloc(AUTH_MISS_NEGATIVE_SLOTS, sizeof(*m->negative));
        if (!m->negative)
            return;
    }
    struct auth_miss_negative *e = negative_slot(m, h);
    memcpy(e->hash, h, sizeof(h));
    e->expires_ms = now_ms + AUTH_MISS_NEGATIVE_TTL_MS;
}

/* Adds what the time since the last refill earned, up to the burst. */
static void budget_refill(struct auth_miss *m, int64_t now_ms)
{
    const int64_t full = (int64_t)AUTH_MISS_BURST * 1000;
    if (m->budget_ms == 0 || now_ms < m->budget_ms) {
        /* first use, or the clock stepped back: start full (never below what is left) */
        if (m->budget_ms == 0)
            m->budget_milli = full;
        m->budget_ms = now_ms;
        return;
    }
    int64_t earned = (now_ms - m->budget_ms) * AUTH_MISS_RATE_PER_S; /* milli-lookups */
    m->budget_milli = earned >= full - m->budget_milli ? full : m->budget_milli + earned;
    m->budget_ms = now_ms;
}

enum auth_miss_begin auth_miss_begin(struct auth_miss *m, const char *hash_hex, int64_t now_ms, int *slot)
{
    unsigned char h[32];
    *slot = -1;
    if (!hash_parse(hash_hex, h))
        return AUTH_MISS_REFUSE;
    int free_slot = -1;
    for (int i = 0; i < AUTH_MISS_INFLIGHT_MAX; i++) {
        if (m->inflight[i].busy && memcmp(m->inflight[i].hash, h, sizeof(h)) == 0) {
            *slot = i;
            return AUTH_MISS_JOIN;
        }
        if (!m->inflight[i].busy && free_slot < 0)
            free_slot = i;
    }
    budget_refill(m, now_ms);
    if (free_slot < 0 || m->budget_milli < 1000)
        return AUTH_MISS_REFUSE;
    m->budget_milli -= 1000;
    m->inflight[free_slot].busy = true;
    memcpy(m->inflight[free_slot].hash, h, sizeof(h));
    *slot = free_slot;
    return AUTH_MISS_START;
}

void auth_miss_end(struct auth_miss *m, int slot)
{
    if (slot >= 0 && slot < AUTH_MISS_INFLIGHT_MAX)
        m->inflight[slot].busy = false;
}

int auth_miss_inflight(const struct auth_miss *m)
{
    int n = 0;
    for (int i = 0; i < AUTH_MISS_INFLIGHT_MAX; i++)
        n += m->inflight[i].busy;
    return n;
}
