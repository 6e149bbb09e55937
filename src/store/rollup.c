/*
 * store/rollup: the accumulator. Each check has at most one open minute
 * and one open hour; a closed minute is merged into its hour, so an hour
 * row is the exact sum of its minutes. Samples of one check normally come
 * in time order; one dated before its check's open minute becomes a row
 * of its own (readers merge rows with equal keys), so every sample counts
 * exactly once. Store thread only.
 */
#include "store/rollup_int.h"

#include "base/alloc.h"
#include "base/err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct rollup_open {
    char id[SAMPLE_CHECK_ID_MAX];
    struct rollup_agg minute, hour;
    bool has_minute, has_hour;
};

static int64_t floor_to(int64_t ts, int64_t unit)
{
    int64_t q = ts / unit;
    if (ts % unit < 0)
        q--;
    return q * unit;
}

/* ---- one bucket ---- */

void rollup_agg_init(struct rollup_agg *a, int64_t start_ms)
{
    memset(a, 0, sizeof(*a));
    a->start_ms = start_ms;
    sketch_init(&a->sk);
}

void rollup_agg_free(struct rollup_agg *a)
{
    sketch_free(&a->sk);
}

int rollup_agg_add(struct rollup_agg *a, enum sample_result result, double latency_ms)
{
    a->total++;
    if (result == SAMPLE_DOWN) {
        a->down++;
        return 0;
    }
    if (result == SAMPLE_DEGRADED)
        a->degraded++;
    else
        a->up++;
    if (!isfinite(latency_ms) || latency_ms < 0)
        latency_ms = 0;
    a->lat_min = a->lat_n ? fmin(a->lat_min, latency_ms) : latency_ms;
    a->lat_max = a->lat_n ? fmax(a->lat_max, latency_ms) : latency_ms;
    a->lat_n++;
    a->lat_sum += latency_ms;
    return sketch_add(&a->sk, latency_ms);
}

static uint32_t add32(uint32_t x, uint32_t y)
{
    return x > UINT32_MAX - y ? UINT32_MAX : x + y;
}

int rollup_agg_merge(struct rollup_agg *a, const struct rollup_agg *from)
{
    if (from->lat_n) {
        a->lat_min = a->lat_n ? fmin(a->lat_min, from->lat_min) : from->lat_min;
        a->lat_max = a->lat_n ? fmax(a->lat_max, from->lat_max) : from->lat_max;
    }
    a->total = add32(a->total, from->total);
    a->up = add32(a->up, from->up);
    a->degraded = add32(a->degraded, from->degraded);
    a->down = add32(a->down, from->down);
    a->lat_n = add32(a->lat_n, from->lat_n);
    a->lat_sum += from->lat_sum;
    return sketch_merge(&a->sk, &from->sk);
}

void rollup_agg_summary(const struct rollup_agg *a, struct store_rollup_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->total = a->total;
    out->up = a->up;
    out->degraded = a->degraded;
    out->down = a->down;
    out->latency_count = a->lat_n;
    if (a->lat_n) {
        out->latency_min = a->lat_min;
        out->latency_max = a->lat_max;
        out->latency_avg = a->lat_sum / a->lat_n;
        /* the sketch's estimates, kept within the exact extremes */
        double q[3] = {sketch_quantile(&a->sk, 0.5), sketch_quantile(&a->sk, 0.95), sketch_quantile(&a->sk, 0.99)};
        for (int i = 0; i < 3; i++)
            q[i] = a->sk.count ? fmax(a->lat_min, fmin(a->lat_max, q[i])) : 0;
        out->p50 = q[0];
        out->p95 = q[1];
        out->p99 = q[2];
    }
}

/* ---- rows waiting to be written ---- */

void rollup_rows_clear(struct rollup_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        rollup_agg_free(&r->v[i].a);
    r->n = 0;
}

void rollup_rows_free(struct rollup_rows *r)
{
    rollup_rows_clear(r);
    base_free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Moves agg (and its sketch) into a new row; on failure agg is freed and
 * the row counted as dropped. */
static void push(struct rollup_acc *acc, struct rollup_rows *r, const char *id, struct rollup_agg *agg, bool capped)
{
    if (capped && r->n >= ROLLUP_PENDING_MAX)
        goto drop;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct rollup_row *v = base_realloc(r->v, cap * sizeof(*v));
        if (!v)
            goto drop;
        r->v = v;
        r->cap = cap;
    }
    struct rollup_row *row = &r->v[r->n++];
    snprintf(row->check_id, sizeof(row->check_id), "%s", id);
    row->a = *agg;
    sketch_init(&agg->sk); /* moved */
    return;
drop:
    acc->dropped++;
    rollup_agg_free(agg);
}

/* ---- the accumulator ---- */

void rollup_acc_init(struct rollup_acc *acc)
{
    memset(acc, 0, sizeof(*acc));
    base_map_init(&acc->open);
}

static void open_free(struct rollup_open *o)
{
    if (o->has_minute)
        rollup_agg_free(&o->minute);
    if (o->has_hour)
        rollup_agg_free(&o->hour);
    base_free(o);
}

void rollup_acc_free(struct rollup_acc *acc)
{
    size_t pos = 0;
    void *v;
    while (base_map_next(&acc->open, &pos, NULL, &v))
        open_free(v);
    base_map_free(&acc->open);
    rollup_rows_free(&acc->minutes);
    rollup_rows_free(&acc->hours);
}

static void close_hour(struct rollup_acc *acc, struct rollup_open *o)
{
    push(acc, &acc->hours, o->id, &o->hour, false);
    o->has_hour = false;
}

/* A minute is done: merged into its hour, then queued as a row (agg is
 * moved). */
static void finish_minute(struct rollup_acc *acc, struct rollup_open *o, struct rollup_agg *agg)
{
    int64_t h = floor_to(agg->start_ms, STORE_ROLLUP_HOUR_MS);
    if (o->has_hour && h > o->hour.start_ms)
        close_hour(acc, o);
    if (!o->has_hour) {
        rollup_agg_init(&o->hour, h);
        o->has_hour = true;
    }
    if (h == o->hour.start_ms) {
        if (rollup_agg_merge(&o->hour, agg) != 0)
            acc->dropped++; /* the counts are in; the sketch missed it */
    } else { /* an hour already written: a row of its own */
        struct rollup_agg alone;
        rollup_agg_init(&alone, h);
        if (rollup_agg_merge(&alone, agg) != 0)
            acc->dropped++;
        push(acc, &acc->hours, o->id, &alone, false);
    }
    push(acc, &acc->minutes, o->id, agg, true);
}

static void close_minute(struct rollup_acc *acc, struct rollup_open *o)
{
    o->has_minute = false;
    finish_minute(acc, o, &o->minute);
}

void rollup_acc_add(struct rollup_acc *acc, const char *check_id, int64_t ts_ms, enum sample_result result,
                    double latency_ms)
{
    struct rollup_open *o = base_map_get(&acc->open, check_id);
    if (!o) {
        o = base_calloc(1, sizeof(*o));
        if (!o) {
            acc->dropped++;
            return;
        }
        snprintf(o->id, sizeof(o->id), "%s", check_id);
        if (base_map_put(&acc->open, o->id, o) != 0) {
            base_free(o);
            acc->dropped++;
            return;
        }
    }
    int64_t m = floor_to(ts_ms, STORE_ROLLUP_MINUTE_MS);
    if (o->has_minute && m < o->minute.start_ms) { /* late: a row of its own */
        struct rollup_agg alone;
        rollup_agg_init(&alone, m);
        if (rollup_agg_add(&alone, result, latency_ms) != 0)
            acc->dropped++;
        finish_minute(acc, o, &alone);
        return;
    }
    if (o->has_minute && m > o->minute.start_ms)
        close_minute(acc, o);
    if (!o->has_minute) {
        rollup_agg_init(&o->minute, m);
        o->has_minute = true;
    }
    if (rollup_agg_add(&o->minute, result, latency_ms) != 0)
        acc->dropped++;
}

void rollup_acc_sweep(struct rollup_acc *acc, int64_t now_ms, bool all)
{
    size_t pos = 0;
    void *v;
    while (base_map_next(&acc->open, &pos, NULL, &v)) {
        struct rollup_open *o = v;
        if (o->has_minute && (all || o->minute.start_ms + STORE_ROLLUP_MINUTE_MS + ROLLUP_GRACE_MS <= now_ms))
            close_minute(acc, o);
        if (o->has_hour && !o->has_minute &&
            (all || o->hour.start_ms + STORE_ROLLUP_HOUR_MS + ROLLUP_GRACE_MS <= now_ms))
            close_hour(acc, o);
        if (!o->has_minute && !o->has_hour) {
            base_map_remove(&acc->open, o->id);
            open_free(o);
        }
    }
}

int64_t rollup_acc_earliest(const struct rollup_acc *acc)
{
    int64_t e = INT64_MAX;
    size_t pos = 0;
    void *v;
    while (base_map_next(&acc->open, &pos, NULL, &v)) {
        const struct rollup_open *o = v;
        if (o->has_minute && o->minute.start_ms < e)
            e = o->minute.start_ms;
        if (o->has_hour && o->hour.start_ms < e)
            e = o->hour.start_ms;
    }
    return e;
}

static bool within(const struct rollup_agg *a, int64_t unit, int64_t from_ms, int64_t to_ms)
{
    int64_t start = floor_to(a->start_ms, unit);
    return start >= floor_to(from_ms, unit) && start < to_ms;
}

void rollup_acc_visit(const struct rollup_acc *acc, const char *check_id, bool hours, int64_t from_ms,
                      int64_t to_ms, rollup_visit_fn fn, void *data)
{
    int64_t unit = hours ? STORE_ROLLUP_HOUR_MS : STORE_ROLLUP_MINUTE_MS;
    const struct rollup_open *o = base_map_get(&acc->open, check_id);
    if (o && o->has_minute && within(&o->minute, unit, from_ms, to_ms)) {
        /* the open minute is in no hour yet: an hour query takes it as
         * part of its hour */
        struct rollup_agg a = o->minute;
        a.start_ms = floor_to(a.start_ms, unit);
        fn(data, &a);
    }
    if (hours && o && o->has_hour && within(&o->hour, unit, from_ms, to_ms))
        fn(data, &o->hour);
    const struct rollup_rows *r = hours ? &acc->hours : &acc->minutes;
    for (size_t i = 0; i < r->n; i++)
        if (within(&r->v[i].a, unit, from_ms, to_ms) && strcmp(r->v[i].check_id, check_id) == 0)
            fn(data, &r->v[i].a);
}
