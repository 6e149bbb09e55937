/*
 * series/ingest: the bus subscriber of series/ingest.h. It keeps, per
 * check, the label sets it wrote last (the check's own series, and the
 * series of its last scrape that carried no timestamp of their own), so
 * that a series which is gone next time, or every series of a check that
 * left, gets its stale marker.
 */
#include "series/ingest.h"

#include "base/alloc.h"
#include "base/map.h"
#include "conf/check.h"
#include "model/event.h"
#include "model/sample.h"
#include "model/scrape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 16384

/* A label set in one allocation, sorted by name. */
struct lset {
    uint32_t n;
    struct series_label l[];
};

struct tracked {
    char *id;
    struct lset **own;         /* probe_*, values, up and scrape_* of the last sample */
    size_t n_own;
    struct lset **scraped;     /* the last scrape's series without their own timestamps */
    size_t n_scraped;
    double last_latency_s;
    bool seen;                 /* for sync */
};

struct series_ingest {
    struct series_db *db;
    struct event_bus *bus;
    struct base_map checks;    /* id -> struct tracked */
    struct series_ingest_stats st;
};

static void sort_labels(struct series_label *l, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0; j--) {
            struct series_label t = l[j];
            l[j] = l[j - 1];
            l[j - 1] = t;
        }
}

/* A copy of l[0..n) (sorted here, empty values left out). */
static struct lset *lset_new(struct series_label *l, size_t n)
{
    size_t bytes = sizeof(struct lset), kept = 0;
    for (size_t i = 0; i < n; i++)
        if (l[i].value && l[i].value[0]) {
            bytes += sizeof(struct series_label) + strlen(l[i].name) + strlen(l[i].value) + 2;
            l[kept++] = l[i];
        }
    sort_labels(l, kept);
    struct lset *s = base_malloc(bytes);
    if (!s)
        return NULL;
    s->n = (uint32_t)kept;
    char *p = (char *)&s->l[kept];
    for (size_t i = 0; i < kept; i++) {
        size_t a = strlen(l[i].name) + 1, b = strlen(l[i].value) + 1;
        memcpy(p, l[i].name, a);
        s->l[i].name = p;
        p += a;
        memcpy(p, l[i].value, b);
        s->l[i].value = p;
        p += b;
    }
    return s;
}

static void lsets_free(struct lset **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        base_free(v[i]);
    base_free(v);
}

static const char *key_of(const struct lset *s, char *buf, size_t n)
{
    size_t at = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        int w = snprintf(buf + at, n - at, "%s\xff%s\xfe", s->l[i].name, s->l[i].value);
        if (w < 0 || (size_t)w >= n - at)
            return NULL;
        at += (size_t)w;
    }
    if (!s->n && n)
        buf[0] = 0;
    return buf;
}

static void put(struct series_ingest *ing, const struct lset *s, int64_t t, double v)
{
    enum series_append_rc rc = series_db_append(ing->db, s->l, s->n, t, v);
    if (rc == SERIES_OK)
        ing->st.appended++;
    else if (rc != SERIES_DUPLICATE)
        ing->st.refused++;
}

/* Stale markers at t for the sets of old that are not in now. */
static void stale_missing(struct series_ingest *ing, struct lset **old, size_t n_old, struct lset **now,
                          size_t n_now, int64_t t)
{
    if (!n_old)
        return;
    struct base_map keep;
    base_map_init(&keep);
    char buf[KEY_MAX];
    char **keys = base_calloc(n_now ? n_now : 1, sizeof(*keys));
    bool ok = keys != NULL;
    for (size_t i = 0; ok && i < n_now; i++) {
        const char *k = key_of(now[i], buf, sizeof(buf));
        if (!k)
            continue;
        size_t len = strlen(k);
        keys[i] = base_malloc(len + 1);
        ok = keys[i] && base_map_put(&keep, memcpy(keys[i], k, len + 1), now[i]) == 0;
    }
    for (size_t i = 0; ok && i < n_old; i++) {
        const char *k = key_of(old[i], buf, sizeof(buf));
        if (k && base_map_get(&keep, k))
            continue;
        put(ing, old[i], t, series_stale_nan());
        ing->st.stale_markers++;
    }
    for (size_t i = 0; keys && i < n_now; i++)
        base_free(keys[i]);
    base_free(keys);
    base_map_free(&keep);
}

static struct tracked *tracked_get(struct series_ingest *ing, const char *id)
{
    struct tracked *t = base_map_get(&ing->checks, id);
    if (t)
        return t;
    t = base_calloc(1, sizeof(*t));
    size_t len = strlen(id);
    if (t)
        t->id = base_malloc(len + 1);
    if (!t || !t->id || base_map_put(&ing->checks, memcpy(t->id, id, len + 1), t) != 0) {
        if (t)
            base_free(t->id);
        base_free(t);
        return NULL;
    }
    return t;
}

static void tracked_free(struct tracked *t)
{
    lsets_free(t->own, t->n_own);
    lsets_free(t->scraped, t->n_scraped);
    base_free(t->id);
    base_free(t);
}

/* "host:port" of a check's target URL, the port from the scheme when none
 * is given (as Prometheus completes a target's address). */
static void instance_of(const struct conf_check *c, char *out, size_t n)
{
    char target[1024] = "";
    out[0] = 0;
    if (c->type->target)
        c->type->target(c, target, sizeof(target));
    const char *p = strstr(target, "://");
    bool https = strncmp(target, "https", 5) == 0;
    p = p ? p + 3 : target;
    const char *at = strchr(p, '@'), *end = p + strcspn(p, "/?#");
    if (at && at < end)
        p = at + 1;
    size_t len = (size_t)(end - p);
    const char *close = memchr(p, ']', len);
    const char *colon = memchr(close ? close : p, ':', len - (size_t)((close ? close : p) - p));
    if (colon)
        snprintf(out, n, "%.*s", (int)len, p);
    else
        snprintf(out, n, "%.*s:%s", (int)len, p, https ? "443" : "80");
}

/* The check's own series for one sample: labels into own[], values into
 * vals[] (at most cap); how many. */
static size_t own_series(const struct conf_check *c, const struct sample *s, int status, struct lset **own,
                         double *vals, size_t cap)
{
    size_t n = 0;
    const char *project = c->project ? c->project : "";
    struct series_label base[] = {{"__name__", ""}, {"check", c->id}, {"project", project}, {"type", c->type->name},
                                  {NULL, NULL}};
    struct series_label l[6];
#define OWN(METRIC, VAL, XNAME, XVALUE)                                       \
    do {                                                                     \
        memcpy(l, base, 4 * sizeof(*l));                                     \
        l[0].value = (METRIC);                                               \
        size_t nl_ = 4;                                                      \
        if (XNAME)                                                           \
            l[nl_++] = (struct series_label){(XNAME), (XVALUE)};             \
        if (n < cap && (own[n] = lset_new(l, nl_)))                          \
            vals[n++] = (VAL);                                               \
    } while (0)
    OWN("probe_success", s->result != SAMPLE_DOWN ? 1 : 0, NULL, NULL);
    OWN("probe_duration_seconds", s->latency_ms / 1000, NULL, NULL);
    OWN("opshub_check_status", status, NULL, NULL);
    for (uint32_t i = 0; i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        const char *name = sample_value_name(&s->values[i]);
        const struct conf_check_value *d = NULL;
        for (const struct conf_check_value *v = c->type->values; v && v->name && !d; v++)
            if (strcmp(v->name, name) == 0)
                d = v;
        if (d)
            OWN(d->metric, s->values[i].value, d->label_name, d->label_value);
        else
            OWN("opshub_check_value", s->values[i].value, "name", name);
    }
#undef OWN
    return n;
}

/* The series one sample of a check makes, written at its time. */
static void on_sample(struct series_ingest *ing, const struct event_check *ev)
{
    const struct conf_check *c = ev->check;
    const struct sample *s = ev->sample;
    struct tracked *t = tracked_get(ing, ev->check_id);
    if (!t || !c)
        return;
    size_t cap = 8 + SAMPLE_VALUES_MAX;
    struct lset **own = base_calloc(cap, sizeof(*own));
    double *vals = base_calloc(cap, sizeof(*vals));
    if (!own || !vals) {
        base_free(own);
        base_free(vals);
        return;
    }
    size_t n = own_series(c, s, ev->status, own, vals, cap);
    t->last_latency_s = s->latency_ms / 1000;
    bool scrape = strcmp(c->type->name, "prometheus") == 0;
    if (scrape) {
        char inst[300];
        instance_of(c, inst, sizeof(inst));
        static const char *const synth[] = {"up", "scrape_duration_seconds", "scrape_samples_scraped"};
        for (size_t i = 0; i < 3 && n < cap; i++) {
            struct series_label sl[3] = {{"__name__", synth[i]}, {"instance", inst}, {"job", c->id}};
            if ((own[n] = lset_new(sl, 3)))
                vals[n++] = i == 1 ? s->latency_ms / 1000 : 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *metric = own[i]->l[0].value;
        /* up and scrape_* of a scrape that worked come with its series */
        if (scrape && s->result != SAMPLE_DOWN &&
            (!strcmp(metric, "up") || !strncmp(metric, "scrape_", 7)))
            continue;
        put(ing, own[i], s->ts_ms, vals[i]);
    }
    stale_missing(ing, t->own, t->n_own, own, n, s->ts_ms);
    lsets_free(t->own, t->n_own);
    t->own = own;
    t->n_own = n;
    base_free(vals);
    if (scrape && s->result == SAMPLE_DOWN) {
        stale_missing(ing, t->scraped, t->n_scraped, NULL, 0, s->ts_ms);
        lsets_free(t->scraped, t->n_scraped);
        t->scraped = NULL;
        t->n_scraped = 0;
    }
}

static void on_scrape(struct series_ingest *ing, const struct event_series *ev)
{
    const struct scrape_batch *b = ev->batch;
    struct tracked *t = tracked_get(ing, ev->check_id);
    if (!t || !ev->check)
        return;
    char inst[300];
    instance_of(ev->check, inst, sizeof(inst));
    struct lset **now = base_calloc(b->n ? b->n : 1, sizeof(*now));
    size_t n_now = 0;
    if (!now)
        return;
    char exported[2][64];
    for (size_t i = 0; i < b->n; i++) {
        const struct scrape_series *ss = &b->series[i];
        struct series_label l[SERIES_LABELS_MAX];
        size_t nl = 0;
        l[nl++] = (struct series_label){"__name__", ss->name};
        bool clash = false;
        for (uint32_t k = 0; k < ss->n_labels && nl < SERIES_LABELS_MAX - 2; k++) {
            const char *name = ss->labels[k].name;
            if (!strcmp(name, "job") || !strcmp(name, "instance")) {
                int w = name[0] == 'j' ? 0 : 1;
                snprintf(exported[w], sizeof(exported[w]), "exported_%s", name);
                name = exported[w];
            }
            if (!strcmp(name, "__name__"))
                clash = true;
            l[nl++] = (struct series_label){name, ss->labels[k].value};
        }
        if (clash)
            continue;
        l[nl++] = (struct series_label){"instance", inst};
        l[nl++] = (struct series_label){"job", ev->check->id};
        struct lset *s = lset_new(l, nl);
        if (!s)
            continue;
        put(ing, s, ss->ts_ms, ss->value);
        if (ss->ts_explicit)
            base_free(s);
        else
            now[n_now++] = s;
    }
    stale_missing(ing, t->scraped, t->n_scraped, now, n_now, b->ts_ms);
    lsets_free(t->scraped, t->n_scraped);
    t->scraped = now;
    t->n_scraped = n_now;
    /* up, scrape_duration_seconds and scrape_samples_scraped, as Prometheus writes them */
    for (size_t i = 0; i < t->n_own; i++) {
        const char *metric = t->own[i]->l[0].value;
        if (!strcmp(metric, "up"))
            put(ing, t->own[i], b->ts_ms, 1);
        else if (!strcmp(metric, "scrape_duration_seconds"))
            put(ing, t->own[i], b->ts_ms, t->last_latency_s);
        else if (!strcmp(metric, "scrape_samples_scraped"))
            put(ing, t->own[i], b->ts_ms, (double)b->n);
    }
}

static void on_event(void *data, const struct event *ev)
{
    struct series_ingest *ing = data;
    if (ev->kind == EVENT_SAMPLE)
        on_sample(ing, &ev->u.check);
    else if (ev->kind == EVENT_SERIES)
        on_scrape(ing, &ev->u.series);
}

struct series_ingest *series_ingest_new(struct series_db *db, struct event_bus *bus)
{
    struct series_ingest *ing = base_calloc(1, sizeof(*ing));
    if (!ing)
        return NULL;
    ing->db = db;
    ing->bus = bus;
    base_map_init(&ing->checks);
    if (event_subscribe(bus, "series", EVENT_MASK(EVENT_SAMPLE) | EVENT_MASK(EVENT_SERIES), on_event, ing) != 0) {
        base_free(ing);
        return NULL;
    }
    return ing;
}

void series_ingest_destroy(struct series_ingest *ing)
{
    if (!ing)
        return;
    event_unsubscribe(ing->bus, on_event, ing);
    size_t pos = 0;
    const char *k;
    void *v;
    while (base_map_next(&ing->checks, &pos, &k, &v))
        tracked_free(v);
    base_map_free(&ing->checks);
    base_free(ing);
}

void series_ingest_sync(struct series_ingest *ing, const struct conf_check *checks, size_t n, int64_t now_ms)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (base_map_next(&ing->checks, &pos, &k, &v))
        ((struct tracked *)v)->seen = false;
    for (size_t i = 0; i < n; i++) {
        struct tracked *t = base_map_get(&ing->checks, checks[i].id);
        if (t)
            t->seen = true;
    }
    pos = 0;
    while (base_map_next(&ing->checks, &pos, &k, &v)) {
        struct tracked *t = v;
        if (t->seen)
            continue;
        stale_missing(ing, t->own, t->n_own, NULL, 0, now_ms);
        stale_missing(ing, t->scraped, t->n_scraped, NULL, 0, now_ms);
        base_map_remove(&ing->checks, t->id);
        tracked_free(t);
    }
}

void series_ingest_stats(const struct series_ingest *ing, struct series_ingest_stats *st)
{
    *st = ing->st;
}

/* ---- history after a restart ---- */

struct backfill {
    char *key;                 /* the map's key */
    struct lset *set;
    int64_t *t;
    double *v;
    size_t n, cap;
};

static int cmp_record_time(const void *a, const void *b)
{
    const struct sample_record *x = *(const struct sample_record *const *)a;
    const struct sample_record *y = *(const struct sample_record *const *)b;
    return x->s.ts_ms < y->s.ts_ms ? -1 : x->s.ts_ms > y->s.ts_ms;
}

static bool backfill_add(struct base_map *per, struct lset *set, int64_t t, double v)
{
    char buf[KEY_MAX];
    const char *k = key_of(set, buf, sizeof(buf));
    if (!k) {
        base_free(set);
        return false;
    }
    struct backfill *b = base_map_get(per, k);
    if (!b) {
        size_t len = strlen(k);
        char *key = base_malloc(len + 1);
        b = key ? base_calloc(1, sizeof(*b)) : NULL;
        if (!b || base_map_put(per, memcpy(key, k, len + 1), b) != 0) {
            base_free(key);
            base_free(b);
            base_free(set);
            return false;
        }
        b->key = key;
        b->set = set;
        set = NULL;
    }
    base_free(set);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int64_t *nt = base_realloc(b->t, cap * sizeof(*nt));
        if (nt)
            b->t = nt;
        double *nv = nt ? base_realloc(b->v, cap * sizeof(*nv)) : NULL;
        if (!nv)
            return false;
        b->v = nv;
        b->cap = cap;
    }
    b->t[b->n] = t;
    b->v[b->n++] = v;
    return true;
}

size_t series_ingest_backfill(struct series_ingest *ing, const struct conf_check *c, const struct sample_record *recs,
                              size_t n)
{
    if (!c || !n)
        return 0;
    const struct sample_record **order = base_calloc(n, sizeof(*order));
    if (!order)
        return 0;
    for (size_t i = 0; i < n; i++)
        order[i] = &recs[i];
    qsort(order, n, sizeof(*order), cmp_record_time);
    struct base_map per;
    base_map_init(&per);
    size_t cap = 8 + SAMPLE_VALUES_MAX;
    struct lset *own[8 + SAMPLE_VALUES_MAX];
    double vals[8 + SAMPLE_VALUES_MAX];
    for (size_t i = 0; i < n; i++) {
        if (i && order[i]->s.ts_ms == order[i - 1]->s.ts_ms)
            continue;
        /* the status after confirmation is not stored: the sample's result stands for it */
        size_t k = own_series(c, &order[i]->s, (int)order[i]->s.result, own, vals, cap);
        for (size_t j = 0; j < k; j++)
            backfill_add(&per, own[j], order[i]->s.ts_ms, vals[j]);
    }
    base_free(order);
    size_t added = 0, pos = 0;
    const char *key;
    void *v;
    while (base_map_next(&per, &pos, &key, &v)) {
        struct backfill *b = v;
        added += series_db_backfill(ing->db, b->set->l, b->set->n, b->t, b->v, b->n);
        base_free(b->key);
        base_free(b->set);
        base_free(b->t);
        base_free(b->v);
        base_free(b);
    }
    base_map_free(&per);
    ing->st.appended += added;
    ing->st.backfilled += added;
    return added;
}
