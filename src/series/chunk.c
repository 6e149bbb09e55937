/*
 * series/chunk: the bit stream of series/chunk.h. Timestamps: the first
 * raw (64 bits), then the delta-of-delta d in buckets: 0 is "0";
 * |d| within 2^6 "10" + 7 bits; 2^13 "110" + 14 bits; 2^19 "1110" + 20
 * bits; otherwise "1111" + 64 bits (the smallest bucket is finer than
 * Prometheus' because a scheduler's runs drift by a millisecond or two).
 * Values: the first raw, then the XOR with the previous value: 0 is "0";
 * inside the previous window "10" + the window's bits; otherwise "11" + 5
 * bits of leading zeros + 6 bits of length - 1 + the bits.
 */
#include "series/chunk.h"

#include "base/alloc.h"

#include <string.h>

/* ---- writing ---- */

static int reserve(struct series_chunk *c, size_t more_bits, long *grown)
{
    size_t need = (c->bits + more_bits + 7) / 8;
    if (need <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 32;
    while (cap < need)
        cap *= 2;
    uint8_t *d = base_realloc(c->data, cap);
    if (!d)
        return -1;
    memset(d + c->cap, 0, cap - c->cap);
    *grown += (long)(cap - c->cap);
    c->data = d;
    c->cap = cap;
    return 0;
}

static void put_bits(struct series_chunk *c, uint64_t v, unsigned n)
{
    while (n) {
        size_t byte = c->bits / 8;
        unsigned free_bits = 8 - (unsigned)(c->bits % 8);
        unsigned take = n < free_bits ? n : free_bits;
        uint8_t part = (uint8_t)((v >> (n - take)) & ((1u << take) - 1));
        c->data[byte] |= (uint8_t)(part << (free_bits - take));
        c->bits += take;
        n -= take;
    }
}

static void put_dod(struct series_chunk *c, int64_t d)
{
    if (d == 0) {
        put_bits(c, 0, 1);
    } else if (d >= -63 && d <= 64) {
        put_bits(c, 2, 2);
        put_bits(c, (uint64_t)d & 0x7f, 7);
    } else if (d >= -8191 && d <= 8192) {
        put_bits(c, 6, 3);
        put_bits(c, (uint64_t)d & 0x3fff, 14);
    } else if (d >= -524287 && d <= 524288) {
        put_bits(c, 14, 4);
        put_bits(c, (uint64_t)d & 0xfffff, 20);
    } else {
        put_bits(c, 15, 4);
        put_bits(c, (uint64_t)d, 64);
    }
}

static void put_value(struct series_chunk *c, uint64_t v)
{
    uint64_t x = v ^ c->last_v;
    if (!x) {
        put_bits(c, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31)
        lead = 31;
    if (c->leading != 0xff && lead >= c->leading && trail >= c->trailing) {
        put_bits(c, 2, 2);
        put_bits(c, x >> c->trailing, 64 - c->leading - c->trailing);
        return;
    }
    unsigned sig = 64 - lead - trail;
    put_bits(c, 3, 2);
    put_bits(c, lead, 5);
    put_bits(c, sig - 1, 6);
    put_bits(c, x >> trail, sig);
    c->leading = (uint8_t)lead;
    c->trailing = (uint8_t)trail;
}

int series_chunk_append(struct series_chunk *c, int64_t t, uint64_t v, long *grown)
{
    *grown = 0;
    /* the most one sample takes: 4 + 64 timestamp bits, 2 + 11 + 64 value bits */
    if (reserve(c, 160, grown) < 0)
        return -1;
    if (c->n == 0) {
        put_bits(c, (uint64_t)t, 64);
        put_bits(c, v, 64);
        c->mint = t;
        c->last_delta = 0;
        c->leading = 0xff;
    } else {
        int64_t delta = (int64_t)((uint64_t)t - (uint64_t)c->last_t);
        put_dod(c, (int64_t)((uint64_t)delta - (uint64_t)c->last_delta));
        put_value(c, v);
        c->last_delta = delta;
    }
    c->last_t = t;
    c->last_v = v;
    c->maxt = t;
    c->n++;
    return 0;
}

long series_chunk_shrink(struct series_chunk *c)
{
    size_t need = (c->bits + 7) / 8;
    if (!need || need == c->cap)
        return 0;
    uint8_t *d = base_realloc(c->data, need);
    if (!d)
        return 0;
    long diff = (long)need - (long)c->cap;
    c->data = d;
    c->cap = need;
    return diff;
}

void series_chunk_free(struct series_chunk *c)
{
    base_free(c->data);
    memset(c, 0, sizeof(*c));
}

/* ---- reading ---- */

void series_chunk_reader_init(struct series_chunk_reader *r, const uint8_t *data, size_t bits, uint32_t n)
{
    memset(r, 0, sizeof(*r));
    r->data = data;
    r->bits = bits;
    r->n = n;
    r->leading = 0xff;
}

static bool get_bits(struct series_chunk_reader *r, unsigned n, uint64_t *out)
{
    if (n > 64 || r->bits - r->pos < n || r->pos > r->bits)
        return false;
    uint64_t v = 0;
    while (n) {
        size_t byte = r->pos / 8;
        unsigned avail = 8 - (unsigned)(r->pos % 8);
        unsigned take = n < avail ? n : avail;
        uint8_t b = (uint8_t)(r->data[byte] >> (avail - take)) & (uint8_t)((1u << take) - 1);
        v = take == 64 ? b : (v << take) | b;
        r->pos += take;
        n -= take;
    }
    *out = v;
    return true;
}

/* A bucket of w bits holds -(2^(w-1) - 1) .. 2^(w-1): the pattern of
 * 2^(w-1) is the positive bound, patterns above it are negative. */
static int64_t bucket_value(uint64_t v, unsigned w)
{
    return v > (1ULL << (w - 1)) ? (int64_t)v - (int64_t)(1ULL << w) : (int64_t)v;
}

static bool get_dod(struct series_chunk_reader *r, int64_t *d)
{
    uint64_t b;
    unsigned ones = 0;
    while (ones < 4) {
        if (!get_bits(r, 1, &b))
            return false;
        if (!b)
            break;
        ones++;
    }
    static const unsigned widths[] = {0, 7, 14, 20, 64};
    if (ones == 0) {
        *d = 0;
        return true;
    }
    uint64_t v;
    if (!get_bits(r, widths[ones], &v))
        return false;
    *d = ones == 4 ? (int64_t)v : bucket_value(v, widths[ones]);
    return true;
}

static bool get_value(struct series_chunk_reader *r)
{
    uint64_t b;
    if (!get_bits(r, 1, &b))
        return false;
    if (!b)
        return true;
    if (!get_bits(r, 1, &b))
        return false;
    if (!b) {
        if (r->leading == 0xff)
            return false;   /* no window yet */
        unsigned sig = 64u - r->leading - r->trailing;
        uint64_t x;
        if (!sig || !get_bits(r, sig, &x))
            return false;
        r->v ^= x << r->trailing;
        return true;
    }
    uint64_t lead, sig1, x;
    if (!get_bits(r, 5, &lead) || !get_bits(r, 6, &sig1))
        return false;
    unsigned sig = (unsigned)sig1 + 1;
    if (lead + sig > 64 || !get_bits(r, sig, &x))
        return false;
    r->leading = (uint8_t)lead;
    r->trailing = (uint8_t)(64 - lead - sig);
    r->v ^= r->trailing == 64 ? 0 : x << r->trailing;
    return true;
}

bool series_chunk_next(struct series_chunk_reader *r, int64_t *t, uint64_t *v)
{
    if (r->i >= r->n)
        return false;
    if (r->i == 0) {
        uint64_t t0, v0;
        if (!get_bits(r, 64, &t0) || !get_bits(r, 64, &v0))
            return false;
        r->t = (int64_t)t0;
        r->v = v0;
    } else {
        int64_t dod;
        if (!get_dod(r, &dod) || !get_value(r))
            return false;
        r->delta = (int64_t)((uint64_t)r->delta + (uint64_t)dod);
        r->t = (int64_t)((uint64_t)r->t + (uint64_t)r->delta);
    }
    r->i++;
    *t = r->t;
    *v = r->v;
    return true;
}
