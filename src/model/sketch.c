/*
 * model/sketch: logarithmic buckets with a bounded relative error, sparse
 * and sorted; see sketch.h.
 */
#include "model/sketch.h"

#include "base/alloc.h"
#include "base/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gamma = (1 + a) / (1 - a): a bucket's midpoint estimate is within a of
 * every value in it. */
#define GAMMA ((1.0 + SKETCH_RELATIVE_ERROR) / (1.0 - SKETCH_RELATIVE_ERROR))

static int index_min(void)
{
    return (int)ceil(log(SKETCH_MIN_MS) / log(GAMMA));
}

static int index_max(void)
{
    return (int)ceil(log(SKETCH_MAX_MS) / log(GAMMA));
}

static int index_of(double ms)
{
    int i = (int)ceil(log(ms) / log(GAMMA));
    int lo = index_min(), hi = index_max();
    return i < lo ? lo : i > hi ? hi : i;
}

void sketch_init(struct sketch *s)
{
    memset(s, 0, sizeof(*s));
}

void sketch_free(struct sketch *s)
{
    base_free(s->bins);
    sketch_init(s);
}

void sketch_clear(struct sketch *s)
{
    s->zero = s->count = 0;
    s->len = 0;
}

static int reserve(struct sketch *s, size_t want)
{
    if (want <= s->cap)
        return 0;
    if (want > SKETCH_BINS_MAX)
        return BASE_ERR_TOO_BIG; /* cannot happen: indexes are clamped to fewer */
    size_t cap = s->cap ? s->cap : 4;
    while (cap < want)
        cap *= 2;
    if (cap > SKETCH_BINS_MAX)
        cap = SKETCH_BINS_MAX;
    struct sketch_bin *b = base_realloc(s->bins, cap * sizeof(*b));
    if (!b)
        return BASE_ERR_NOMEM;
    s->bins = b;
    s->cap = (uint16_t)cap;
    return 0;
}

/* Position of the first bin with index >= i. */
static size_t lower_bound(const struct sketch *s, int i)
{
    size_t lo = 0, hi = s->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->bins[mid].index < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int add_count(struct sketch *s, int i, uint32_t count)
{
    size_t at = lower_bound(s, i);
    if (at < s->len && s->bins[at].index == i) {
        uint64_t c = (uint64_t)s->bins[at].count + count;
        s->bins[at].count = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
        return 0;
    }
    int rc = reserve(s, (size_t)s->len + 1);
    if (rc)
        return rc;
    memmove(&s->bins[at + 1], &s->bins[at], (s->len - at) * sizeof(*s->bins));
    s->bins[at].index = (int16_t)i;
    s->bins[at].count = count;
    s->len++;
    return 0;
}

int sketch_add(struct sketch *s, double ms)
{
    if (!(ms > SKETCH_MIN_MS)) { /* NaN too */
        s->zero++;
        s->count++;
        return 0;
    }
    int rc = add_count(s, index_of(ms), 1);
    if (rc == 0)
        s->count++;
    return rc;
}

int sketch_merge(struct sketch *s, const struct sketch *from)
{
    if (from->len) {
        /* Merge two sorted lists into a new array: linear, and s stays
         * untouched when there is no memory. */
        size_t cap = (size_t)s->len + from->len;
        struct sketch_bin *out = base_malloc(cap * sizeof(*out));
        if (!out)
            return BASE_ERR_NOMEM;
        size_t i = 0, j = 0, k = 0;
        while (i < s->len || j < from->len) {
            if (j == from->len || (i < s->len && s->bins[i].index < from->bins[j].index)) {
                out[k++] = s->bins[i++];
            } else if (i == s->len || from->bins[j].index < s->bins[i].index) {
                out[k++] = from->bins[j++];
            } else {
                uint64_t c = (uint64_t)s->bins[i].count + from->bins[j].count;
                out[k] = s->bins[i++];
                out[k++].count = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
                j++;
            }
        }
        base_free(s->bins);
        s->bins = out;
        s->len = (uint16_t)k;
        s->cap = (uint16_t)cap;
    }
    s->zero += from->zero;
    s->count += from->count;
    return 0;
}

double sketch_quantile(const struct sketch *s, double q)
{
    if (s->count == 0)
        return 0;
    if (!(q > 0))
        q = 0;
    if (q > 1)
        q = 1;
    /* the value of rank floor(q * (count - 1)), counting from 0 */
    double rank = floor(q * (double)(s->count - 1));
    if (rank < (double)s->zero)
        return 0;
    double seen = (double)s->zero;
    for (size_t k = 0; k < s->len; k++) {
        seen += s->bins[k].count;
        if (rank < seen)
            return 2.0 * pow(GAMMA, s->bins[k].index) / (GAMMA + 1.0);
    }
    return 2.0 * pow(GAMMA, s->bins[s->len - 1].index) / (GAMMA + 1.0);
}

size_t sketch_format(const struct sketch *s, char *out, size_t n)
{
    if (n == 0)
        return 0;
    size_t len = 0;
    int w = snprintf(out, n, "v1;%llu;", (unsigned long long)s->zero);
    if (w < 0 || (size_t)w >= n)
        goto full;
    len = (size_t)w;
    for (size_t k = 0; k < s->len; k++) {
        int idx = k ? s->bins[k].index - s->bins[k - 1].index : s->bins[k].index;
        w = snprintf(out + len, n - len, "%s%d:%lu", k ? "," : "", idx, (unsigned long)s->bins[k].count);
        if (w < 0 || (size_t)w >= n - len)
            goto full;
        len += (size_t)w;
    }
    return len;
full:
    out[0] = '\0';
    return 0;
}

/* Reads an unsigned decimal (no sign, no leading zeros but "0") at *p,
 * at most max. */
static bool read_uint(const char **p, const char *end, uint64_t max, uint64_t *v)
{
    const char *q = *p;
    uint64_t x = 0;
    if (q == end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9'))
        return false;
    while (q < end && *q >= '0' && *q <= '9') {
        unsigned d = (unsigned)(*q - '0');
        if (x > (max - d) / 10)
            return false;
        x = x * 10 + d;
        q++;
    }
    *p = q;
    *v = x;
    return true;
}

static bool read_int(const char **p, const char *end, int64_t lim, int64_t *v)
{
    bool neg = *p < end && **p == '-';
    if (neg)
        (*p)++;
    uint64_t u = 0;
    if (!read_uint(p, end, (uint64_t)lim, &u) || (neg && u == 0))
        return false;
    *v = neg ? -(int64_t)u : (int64_t)u;
    return true;
}

int sketch_parse(struct sketch *s, const char *text, size_t len)
{
    sketch_clear(s);
    const char *p = text, *end = text + len;
    uint64_t zero = 0, total = 0;
    int rc = BASE_ERR_INVALID;
    if (len > SKETCH_TEXT_MAX || len < 3 || memcmp(p, "v1;", 3) != 0)
        goto fail;
    p += 3;
    if (!read_uint(&p, end, UINT64_MAX / 2, &zero) || p == end || *p++ != ';')
        goto fail;
    total = zero;
    int64_t prev = 0;
    int lo = index_min(), hi = index_max();
    for (size_t k = 0; p < end; k++) {
        int64_t idx = 0;
        uint64_t count = 0;
        if (k && *p++ != ',')
            goto fail;
        if (!read_int(&p, end, 100000, &idx) || p == end || *p++ != ':' || !read_uint(&p, end, UINT32_MAX, &count) ||
            count == 0)
            goto fail;
        if (k) {
            if (idx <= 0)
                goto fail;
            idx += prev;
        }
        if (idx < lo || idx > hi || k >= SKETCH_BINS_MAX)
            goto fail;
        if ((rc = reserve(s, k + 1)) != 0)
            goto fail;
        rc = BASE_ERR_INVALID;
        s->bins[k].index = (int16_t)idx;
        s->bins[k].count = (uint32_t)count;
        s->len = (uint16_t)(k + 1);
        total += count;
        prev = idx;
    }
    s->zero = zero;
    s->count = total;
    return 0;
fail:
    sketch_clear(s);
    return rc;
}
