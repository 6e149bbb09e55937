/*
 * series/series: the store of series/series.h. A series is its label set
 * (strings interned and shared between series, counted) and a list of
 * chunks (series/chunk.h), the last one open for appends. An index maps the
 * label set's canonical text to the series, and a postings list per
 * name=value pair holds the series that carry it, so a selector with a
 * metric name reads only that metric's series. Memory is counted as it is
 * allocated (chunks, label arrays, strings, postings, the series structs
 * and the maps' slots) and checked against max_memory on every append.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "series/series.h"

#include "conf/notify.h"
#include "series/chunk.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/map.h"

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGEX_MATCH_LIMIT 100000
#define REGEX_DEPTH_LIMIT 1000

double series_stale_nan(void)
{
    uint64_t bits = SERIES_STALE_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

bool series_is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == SERIES_STALE_BITS;
}

/* ---- matchers ---- */

int series_matcher_init(struct series_matcher *m, enum series_match_op op, const char *name, const char *value,
                        char *why, size_t why_len)
{
    memset(m, 0, sizeof(*m));
    m->op = op;
    size_t nl = strlen(name), vl = strlen(value);
    m->name = base_malloc(nl + 1);
    m->value = base_malloc(vl + 1);
    if (!m->name || !m->value) {
        series_matcher_free(m);
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    memcpy(m->name, name, nl + 1);
    memcpy(m->value, value, vl + 1);
    if (op == SERIES_MATCH_RE || op == SERIES_MATCH_NRE) {
        int err;
        PCRE2_SIZE off;
        m->re = pcre2_compile((PCRE2_SPTR)value, vl, PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C,
                              &err, &off, NULL);
        if (!m->re) {
            PCRE2_UCHAR msg[160];
            if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
                snprintf((char *)msg, sizeof(msg), "invalid pattern");
            snprintf(why, why_len, "bad regex for %s: %s at offset %zu", name, (char *)msg, (size_t)off);
            series_matcher_free(m);
            return -1;
        }
    }
    return 0;
}

void series_matcher_free(struct series_matcher *m)
{
    base_free(m->name);
    base_free(m->value);
    if (m->re)
        pcre2_code_free(m->re);
    memset(m, 0, sizeof(*m));
}

int series_matchers_from_conf(const struct conf_matcher *cm, size_t n, struct series_matcher **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!n)
        return 0;
    struct series_matcher *m = base_calloc(n, sizeof(*m));
    if (!m)
        return BASE_ERR_NOMEM;
    char why[160];
    for (size_t i = 0; i < n; i++)
        if (series_matcher_init(&m[i], cm[i].regex ? SERIES_MATCH_RE : SERIES_MATCH_EQ, cm[i].name, cm[i].value,
                                why, sizeof(why)) != 0) {
            series_matchers_free(m, i);
            return BASE_ERR_INVALID;
        }
    *out = m;
    *n_out = n;
    return 0;
}

void series_matchers_free(struct series_matcher *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        series_matcher_free(&m[i]);
    base_free(m);
}

/* One match data and context for every regex matcher (loop thread only). */
static pcre2_match_data *match_data;
static pcre2_match_context *match_ctx;

bool series_matcher_matches(const struct series_matcher *m, const char *value)
{
    switch (m->op) {
    case SERIES_MATCH_EQ: return strcmp(m->value, value) == 0;
    case SERIES_MATCH_NE: return strcmp(m->value, value) != 0;
    default: break;
    }
    if (!match_data) {
        match_data = pcre2_match_data_create(1, NULL);
        match_ctx = pcre2_match_context_create(NULL);
        if (!match_data || !match_ctx) {
            pcre2_match_data_free(match_data);
            pcre2_match_context_free(match_ctx);
            match_data = NULL;
            match_ctx = NULL;
            return false;
        }
        pcre2_set_match_limit(match_ctx, REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(match_ctx, REGEX_DEPTH_LIMIT);
    }
    bool hit = pcre2_match(m->re, (PCRE2_SPTR)value, strlen(value), 0, 0, match_data, match_ctx) >= 0;
    return hit == (m->op == SERIES_MATCH_RE);
}

/* ---- the store ---- */

struct istr {                  /* an interned string */
    uint32_t refs;
    char s[];
};

struct postings {
    series_ref *refs;
    size_t n, cap;
    char key[];                /* "name\xffvalue" */
};

struct series {
    series_ref ref;
    uint32_t n_labels;
    struct series_label *labels;   /* interned strings */
    char *key;                     /* canonical text, the index's key */
    struct series_chunk *chunks;
    uint32_t n_chunks, cap_chunks;
    int64_t last_t;
    uint64_t last_v;
};

struct series_db {
    struct series_limits lim;
    int64_t now;
    struct base_map index;         /* key -> struct series */
    struct base_map strings;       /* text -> struct istr (key points into it) */
    struct base_map postings;      /* "name\xffvalue" -> struct postings */
    struct series **by_ref;        /* ref -> series, NULL when free */
    size_t n_refs, cap_refs;
    series_ref *free_refs;
    size_t n_free, cap_free;
    size_t memory;
    struct series_stats st;
    series_append_hook hook;
    void *hook_data;
    bool backfilling;              /* the hook is not told */
};

static void mem_add(struct series_db *db, long d)
{
    if (d < 0 && (size_t)-d > db->memory)
        db->memory = 0;
    else
        db->memory = (size_t)((long)db->memory + d);
}

struct series_db *series_db_new(const struct series_limits *lim)
{
    struct series_db *db = base_calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->lim = *lim;
    if (db->lim.window_ms <= 0)
        db->lim.window_ms = SERIES_DEFAULT_WINDOW_MS;
    if (!db->lim.max_series)
        db->lim.max_series = SERIES_DEFAULT_MAX_SERIES;
    if (!db->lim.max_memory)
        db->lim.max_memory = SERIES_DEFAULT_MAX_MEMORY;
    base_map_init(&db->index);
    base_map_init(&db->strings);
    base_map_init(&db->postings);
    db->memory = sizeof(*db);
    return db;
}

void series_db_set_now(struct series_db *db, int64_t now_ms)
{
    db->now = now_ms;
}

static struct istr *istr_of(const char *s)
{
    return (struct istr *)(void *)(s - offsetof(struct istr, s));
}

static const char *intern(struct series_db *db, const char *s)
{
    struct istr *is = base_map_get(&db->strings, s);
    if (is) {
        is->refs++;
        return is->s;
    }
    size_t len = strlen(s);
    is = base_malloc(sizeof(*is) + len + 1);
    if (!is)
        return NULL;
    is->refs = 1;
    memcpy(is->s, s, len + 1);
    size_t cap = db->strings.cap;
    if (base_map_put(&db->strings, is->s, is) != 0) {
        base_free(is);
        return NULL;
    }
    mem_add(db, (long)(sizeof(*is) + len + 1) + (long)(db->strings.cap - cap) * (long)sizeof(struct base_map_slot));
    return is->s;
}

static void unintern(struct series_db *db, const char *s)
{
    struct istr *is = istr_of(s);
    if (--is->refs)
        return;
    base_map_remove(&db->strings, is->s);
    mem_add(db, -(long)(sizeof(*is) + strlen(is->s) + 1));
    base_free(is);
}

/* "name\xffvalue" into buf (NULL when too long). */
static const char *pkey(char *buf, size_t n, const char *name, const char *value)
{
    int w = snprintf(buf, n, "%s\xff%s", name, value);
    return w < 0 || (size_t)w >= n ? NULL : buf;
}

static int postings_add(struct series_db *db, const char *name, const char *value, series_ref ref)
{
    char kb[8192];
    const char *k = pkey(kb, sizeof(kb), name, value);
    if (!k)
        return BASE_ERR_TOO_BIG;
    struct postings *p = base_map_get(&db->postings, k);
    if (!p) {
        size_t kl = strlen(k);
        p = base_calloc(1, sizeof(*p) + kl + 1);
        if (!p)
            return BASE_ERR_NOMEM;
        memcpy(p->key, k, kl + 1);
        size_t cap = db->postings.cap;
        if (base_map_put(&db->postings, p->key, p) != 0) {
            base_free(p);
            return BASE_ERR_NOMEM;
        }
        mem_add(db, (long)(sizeof(*p) + kl + 1) +
                        (long)(db->postings.cap - cap) * (long)sizeof(struct base_map_slot));
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        series_ref *r = base_realloc(p->refs, cap * sizeof(*r));
        if (!r)
            return BASE_ERR_NOMEM;
        mem_add(db, (long)((cap - p->cap) * sizeof(*r)));
        p->refs = r;
        p->cap = cap;
    }
    p->refs[p->n++] = ref;
    return 0;
}

static void postings_remove(struct series_db *db, const char *name, const char *value, series_ref ref)
{
    char kb[8192];
    const char *k = pkey(kb, sizeof(kb), name, value);
    struct postings *p = k ? base_map_get(&db->postings, k) : NULL;
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->refs[i] == ref) {
            p->refs[i] = p->refs[--p->n];
            break;
        }
    if (p->n)
        return;
    base_map_remove(&db->postings, p->key);
    mem_add(db, -(long)(sizeof(*p) + strlen(p->key) + 1 + p->cap * sizeof(series_ref)));
    base_free(p->refs);
    base_free(p);
}

static void series_free(struct series_db *db, struct series *s, bool indexed)
{
    if (indexed) {
        base_map_remove(&db->index, s->key);
        for (uint32_t i = 0; i < s->n_labels; i++)
            postings_remove(db, s->labels[i].name, s->labels[i].value, s->ref);
    }
    long freed = (long)(sizeof(*s) + strlen(s->key) + 1 + s->n_labels * sizeof(*s->labels) +
                        s->cap_chunks * sizeof(*s->chunks));
    for (uint32_t i = 0; i < s->n_chunks; i++) {
        freed += (long)s->chunks[i].cap;
        db->st.samples -= s->chunks[i].n;
        series_chunk_free(&s->chunks[i]);
    }
    db->st.chunks -= s->n_chunks;
    for (uint32_t i = 0; i < s->n_labels; i++) {
        if (s->labels[i].name)
            unintern(db, s->labels[i].name);
        if (s->labels[i].value)
            unintern(db, s->labels[i].value);
    }
    mem_add(db, -freed);
    base_free(s->chunks);
    base_free(s->labels);
    base_free(s->key);
    base_free(s);
}

void series_db_destroy(struct series_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n_refs; i++)
        if (db->by_ref[i])
            series_free(db, db->by_ref[i], false);
    size_t pos = 0;
    const char *k;
    void *v;
    while (base_map_next(&db->postings, &pos, &k, &v)) {
        struct postings *p = v;
        base_free(p->refs);
        base_free(p);
    }
    base_map_free(&db->postings);
    base_map_free(&db->index);
    base_map_free(&db->strings);
    base_free(db->by_ref);
    base_free(db->free_refs);
    base_free(db);
}

/* The canonical text of a label set: name="value" pairs, escaped as the
 * text format does, so that distinct sets never share a key. */
static char *canonical(const struct series_label *l, size_t n, size_t *len)
{
    size_t need = 3;
    for (size_t i = 0; i < n; i++)
        need += strlen(l[i].name) + 2 * strlen(l[i].value) + 5;
    char *k = base_malloc(need);
    if (!k)
        return NULL;
    size_t at = 0;
    k[at++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            k[at++] = ',';
        size_t nl = strlen(l[i].name);
        memcpy(k + at, l[i].name, nl);
        at += nl;
        k[at++] = '=';
        k[at++] = '"';
        for (const char *s = l[i].value; *s; s++) {
            if (*s == '"' || *s == '\\')
                k[at++] = '\\';
            k[at++] = *s;
        }
        k[at++] = '"';
    }
    k[at++] = '}';
    k[at] = 0;
    *len = at;
    return k;
}

static bool labels_ok(const struct series_label *l, size_t n)
{
    if (!n || n > SERIES_LABELS_MAX)
        return false;
    bool name = false;
    for (size_t i = 0; i < n; i++) {
        if (!l[i].name || !l[i].value || !l[i].name[0])
            return false;
        if (i && strcmp(l[i - 1].name, l[i].name) >= 0)
            return false;
        name |= strcmp(l[i].name, "__name__") == 0 && l[i].value[0];
    }
    return name;
}

static struct series *series_create(struct series_db *db, const struct series_label *l, size_t n, char *key,
                                    enum series_append_rc *rc)
{
    *rc = SERIES_NOMEM;
    struct series *s = base_calloc(1, sizeof(*s));
    if (!s) {
        base_free(key);
        return NULL;
    }
    s->key = key;
    s->labels = base_calloc(n, sizeof(*s->labels));
    s->n_labels = (uint32_t)n;
    mem_add(db, (long)(sizeof(*s) + strlen(key) + 1 + n * sizeof(*s->labels)));
    bool ok = s->labels != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        s->labels[i].name = intern(db, l[i].name);
        s->labels[i].value = intern(db, l[i].value);
        ok = s->labels[i].name && s->labels[i].value;
    }
    if (!ok) {
        if (!s->labels)
            s->n_labels = 0;
        series_free(db, s, false);
        return NULL;
    }
    /* a ref: a freed one, or the next */
    if (db->n_free) {
        s->ref = db->free_refs[--db->n_free];
    } else {
        if (db->n_refs == db->cap_refs) {
            size_t cap = db->cap_refs ? db->cap_refs * 2 : 1024;
            struct series **b = base_realloc(db->by_ref, cap * sizeof(*b));
            if (!b) {
                series_free(db, s, false);
                return NULL;
            }
            mem_add(db, (long)((cap - db->cap_refs) * sizeof(*b)));
            db->by_ref = b;
            db->cap_refs = cap;
        }
        s->ref = (series_ref)db->n_refs++;
    }
    db->by_ref[s->ref] = s;
    size_t cap = db->index.cap;
    if (base_map_put(&db->index, s->key, s) != 0) {
        db->by_ref[s->ref] = NULL;
        series_free(db, s, false);
        return NULL;
    }
    mem_add(db, (long)(db->index.cap - cap) * (long)sizeof(struct base_map_slot));
    for (uint32_t i = 0; i < s->n_labels; i++) {
        if (postings_add(db, s->labels[i].name, s->labels[i].value, s->ref) != 0) {
            db->by_ref[s->ref] = NULL;
            /* remove what was added, then the rest */
            series_free(db, s, true);
            return NULL;
        }
    }
    db->st.series++;
    *rc = SERIES_OK;
    return s;
}

static void release_ref(struct series_db *db, series_ref ref)
{
    db->by_ref[ref] = NULL;
    if (db->n_free == db->cap_free) {
        size_t cap = db->cap_free ? db->cap_free * 2 : 256;
        series_ref *f = base_realloc(db->free_refs, cap * sizeof(*f));
        if (!f)
            return;   /* the ref is simply not reused */
        mem_add(db, (long)((cap - db->cap_free) * sizeof(*f)));
        db->free_refs = f;
        db->cap_free = cap;
    }
    db->free_refs[db->n_free++] = ref;
}

enum series_append_rc series_db_append(struct series_db *db, const struct series_label *labels, size_t n,
                                       int64_t t_ms, double v)
{
    if (!labels_ok(labels, n))
        return SERIES_BAD_LABELS;
    if (db->now && t_ms < db->now - db->lim.window_ms) {
        db->st.too_old++;
        return SERIES_TOO_OLD;
    }
    size_t klen;
    char *key = canonical(labels, n, &klen);
    if (!key)
        return SERIES_NOMEM;
    struct series *s = base_map_get(&db->index, key);
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    if (s) {
        base_free(key);
        if (s->n_chunks && t_ms <= s->last_t) {
            if (t_ms == s->last_t && bits == s->last_v) {
                db->st.duplicates++;
                return SERIES_DUPLICATE;
            }
            db->st.out_of_order++;
            return SERIES_OUT_OF_ORDER;
        }
    } else {
        if (db->st.series >= db->lim.max_series || db->memory + klen * 2 + 256 > db->lim.max_memory) {
            base_free(key);
            db->st.refused_limit++;
            return SERIES_LIMIT;
        }
        enum series_append_rc rc;
        if (!(s = series_create(db, labels, n, key, &rc)))
            return rc;
    }
    if (db->memory + 200 > db->lim.max_memory) {
        db->st.refused_limit++;
        return SERIES_LIMIT;
    }
    struct series_chunk *c = s->n_chunks ? &s->chunks[s->n_chunks - 1] : NULL;
    if (!c || c->n >= SERIES_CHUNK_SAMPLES) {
        if (c)
            mem_add(db, series_chunk_shrink(c));
        if (s->n_chunks == s->cap_chunks) {
            uint32_t cap = s->cap_chunks ? s->cap_chunks * 2 : 2;
            struct series_chunk *cs = base_realloc(s->chunks, cap * sizeof(*cs));
            if (!cs)
                return SERIES_NOMEM;
            mem_add(db, (long)((cap - s->cap_chunks) * sizeof(*cs)));
            s->chunks = cs;
            s->cap_chunks = cap;
        }
        c = &s->chunks[s->n_chunks];
        memset(c, 0, sizeof(*c));
        s->n_chunks++;
        db->st.chunks++;
    }
    long grown = 0;
    if (series_chunk_append(c, t_ms, bits, &grown) != 0) {
        if (c->n == 0) {
            s->n_chunks--;
            db->st.chunks--;
        }
        return SERIES_NOMEM;
    }
    mem_add(db, grown);
    s->last_t = t_ms;
    s->last_v = bits;
    db->st.samples++;
    db->st.appended++;
    if (db->hook && !db->backfilling)
        db->hook(db->hook_data, s->ref, t_ms, v);
    return SERIES_OK;
}

void series_db_set_hook(struct series_db *db, series_append_hook fn, void *data)
{
    db->hook = fn;
    db->hook_data = data;
}

int64_t series_db_oldest(const struct series_db *db)
{
    return db->now ? db->now - db->lim.window_ms : INT64_MIN;
}

/* Every sample of s in time order into *t / *v (allocated). */
static int series_samples(const struct series *s, int64_t **t, uint64_t **v, size_t *n)
{
    size_t total = 0;
    for (uint32_t i = 0; i < s->n_chunks; i++)
        total += s->chunks[i].n;
    *t = base_calloc(total ? total : 1, sizeof(**t));
    *v = base_calloc(total ? total : 1, sizeof(**v));
    *n = 0;
    if (!*t || !*v) {
        base_free(*t);
        base_free(*v);
        return BASE_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < s->n_chunks; i++) {
        struct series_chunk_reader r;
        series_chunk_reader_init(&r, s->chunks[i].data, s->chunks[i].bits, s->chunks[i].n);
        while (*n < total && series_chunk_next(&r, &(*t)[*n], &(*v)[*n]))
            (*n)++;
    }
    return 0;
}

static size_t backfill(struct series_db *db, const struct series_label *labels, size_t n, const int64_t *t,
                       const double *v, size_t k);

size_t series_db_backfill(struct series_db *db, const struct series_label *labels, size_t n, const int64_t *t,
                          const double *v, size_t k)
{
    size_t kept = 0;
    if (!k || !labels_ok(labels, n))
        return 0;
    db->backfilling = true;
    kept = backfill(db, labels, n, t, v, k);
    db->backfilling = false;
    return kept;
}

static size_t backfill(struct series_db *db, const struct series_label *labels, size_t n, const int64_t *t,
                       const double *v, size_t k)
{
    size_t kept = 0;
    size_t klen;
    char *key = canonical(labels, n, &klen);
    struct series *s = key ? base_map_get(&db->index, key) : NULL;
    base_free(key);
    if (!s || !s->n_chunks || t[0] > s->last_t) {
        /* nothing newer held: plain appends */
        for (size_t i = 0; i < k; i++)
            kept += series_db_append(db, labels, n, t[i], v[i]) == SERIES_OK;
        return kept;
    }
    int64_t *ot;
    uint64_t *ov;
    size_t on;
    if (series_samples(s, &ot, &ov, &on) != 0)
        return 0;
    /* drop the chunks, keep the series (its ref, labels and postings) */
    long freed = 0;
    for (uint32_t i = 0; i < s->n_chunks; i++) {
        freed += (long)s->chunks[i].cap;
        db->st.samples -= s->chunks[i].n;
        series_chunk_free(&s->chunks[i]);
    }
    db->st.chunks -= s->n_chunks;
    s->n_chunks = 0;
    mem_add(db, -freed);
    uint64_t appended = db->st.appended;
    /* merge; at the same time the sample held wins */
    size_t i = 0, j = 0;
    while (i < k || j < on) {
        bool take_held = j < on && (i >= k || ot[j] <= t[i]);
        if (take_held) {
            if (i < k && t[i] == ot[j])
                i++;
            double d;
            memcpy(&d, &ov[j], sizeof(d));
            series_db_append(db, labels, n, ot[j], d);
            j++;
        } else {
            kept += series_db_append(db, labels, n, t[i], v[i]) == SERIES_OK;
            i++;
        }
    }
    db->st.appended = appended + kept;
    base_free(ot);
    base_free(ov);
    return kept;
}

void series_db_gc(struct series_db *db)
{
    if (!db->now)
        return;
    int64_t oldest = db->now - db->lim.window_ms;
    for (size_t r = 0; r < db->n_refs; r++) {
        struct series *s = db->by_ref[r];
        if (!s)
            continue;
        uint32_t drop = 0;
        while (drop < s->n_chunks && s->chunks[drop].maxt < oldest)
            drop++;
        if (!drop)
            continue;
        if (drop == s->n_chunks) {
            release_ref(db, s->ref);
            series_free(db, s, true);
            db->st.series--;
            continue;
        }
        long freed = 0;
        for (uint32_t i = 0; i < drop; i++) {
            freed += (long)s->chunks[i].cap;
            db->st.samples -= s->chunks[i].n;
            series_chunk_free(&s->chunks[i]);
        }
        memmove(s->chunks, s->chunks + drop, (s->n_chunks - drop) * sizeof(*s->chunks));
        s->n_chunks -= drop;
        db->st.chunks -= drop;
        mem_add(db, -freed);
    }
}

/* ---- queries ---- */

static const char *label_value(const struct series *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return "";
}

static bool overlaps(const struct series *s, int64_t mint, int64_t maxt)
{
    for (uint32_t i = 0; i < s->n_chunks; i++)
        if (s->chunks[i].mint <= maxt && s->chunks[i].maxt >= mint)
            return true;
    return false;
}

static bool matches_all(const struct series *s, const struct series_matcher *ms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!series_matcher_matches(&ms[i], label_value(s, ms[i].name)))
            return false;
    return true;
}

static int cmp_ref(const void *a, const void *b)
{
    series_ref x = *(const series_ref *)a, y = *(const series_ref *)b;
    return x < y ? -1 : x > y;
}

int series_db_select(struct series_db *db, const struct series_matcher *ms, size_t n_ms, int64_t mint,
                     int64_t maxt, series_ref **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    /* the shortest postings list of an equality matcher, if any */
    const struct postings *best = NULL;
    bool empty = false;
    for (size_t i = 0; i < n_ms; i++) {
        if (ms[i].op != SERIES_MATCH_EQ || !ms[i].value[0])
            continue;
        char kb[8192];
        const char *k = pkey(kb, sizeof(kb), ms[i].name, ms[i].value);
        const struct postings *p = k ? base_map_get(&db->postings, k) : NULL;
        if (!p) {
            empty = true;
            break;
        }
        if (!best || p->n < best->n)
            best = p;
    }
    if (empty)
        return 0;
    size_t cand = best ? best->n : db->n_refs;
    series_ref *r = base_malloc((cand ? cand : 1) * sizeof(*r));
    if (!r)
        return BASE_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < cand; i++) {
        series_ref ref = best ? best->refs[i] : (series_ref)i;
        const struct series *s = db->by_ref[ref];
        if (s && overlaps(s, mint, maxt) && matches_all(s, ms, n_ms))
            r[n++] = ref;
    }
    qsort(r, n, sizeof(*r), cmp_ref);
    *out = r;
    *n_out = n;
    return 0;
}

size_t series_db_labels(const struct series_db *db, series_ref ref, const struct series_label **labels)
{
    const struct series *s = ref < db->n_refs ? db->by_ref[ref] : NULL;
    *labels = s ? s->labels : NULL;
    return s ? s->n_labels : 0;
}

void series_iter_init(struct series_iter *it, const struct series_db *db, series_ref ref, int64_t mint, int64_t maxt)
{
    memset(it, 0, sizeof(*it));
    it->db = db;
    it->ref = ref;
    it->mint = mint;
    it->maxt = maxt;
    it->chunk = UINT32_MAX;    /* no reader yet */
}

/* The iterator's reader lives in its state words. */
_Static_assert(sizeof(struct series_chunk_reader) <= sizeof(((struct series_iter *)0)->state),
               "series_iter state too small for a chunk reader");

bool series_iter_next(struct series_iter *it, int64_t *t_ms, double *v)
{
    const struct series *s = it->ref < it->db->n_refs ? it->db->by_ref[it->ref] : NULL;
    if (!s)
        return false;
    struct series_chunk_reader *r = (struct series_chunk_reader *)(void *)it->state;
    for (;;) {
        if (it->chunk == UINT32_MAX || it->chunk >= s->n_chunks) {
            /* the first chunk that ends at or after mint */
            uint32_t c = it->chunk == UINT32_MAX ? 0 : it->chunk;
            if (it->chunk == UINT32_MAX)
                while (c < s->n_chunks && s->chunks[c].maxt < it->mint)
                    c++;
            if (c >= s->n_chunks || s->chunks[c].mint > it->maxt) {
                it->chunk = s->n_chunks;
                return false;
            }
            it->chunk = c;
            series_chunk_reader_init(r, s->chunks[c].data, s->chunks[c].bits, s->chunks[c].n);
        }
        int64_t t;
        uint64_t bits;
        if (!series_chunk_next(r, &t, &bits)) {
            uint32_t c = it->chunk + 1;
            if (c >= s->n_chunks || s->chunks[c].mint > it->maxt) {
                it->chunk = s->n_chunks;
                return false;
            }
            it->chunk = c;
            series_chunk_reader_init(r, s->chunks[c].data, s->chunks[c].bits, s->chunks[c].n);
            continue;
        }
        if (t < it->mint)
            continue;
        if (t > it->maxt) {
            it->chunk = s->n_chunks;
            return false;
        }
        *t_ms = t;
        memcpy(v, &bits, sizeof(*v));
        return true;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct label names (name NULL) or values of `name` over the matching series. */
static int collect(struct series_db *db, const char *name, const struct series_matcher *ms, size_t n_ms,
                   int64_t mint, int64_t maxt, const char ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    series_ref *refs;
    size_t n;
    int rc = series_db_select(db, ms, n_ms, mint, maxt, &refs, &n);
    if (rc)
        return rc;
    struct base_map seen;
    base_map_init(&seen);
    size_t cap = 16, cnt = 0;
    const char **list = base_malloc(cap * sizeof(*list));
    rc = list ? 0 : BASE_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct series *s = db->by_ref[refs[i]];
        for (uint32_t k = 0; !rc && k < s->n_labels; k++) {
            const char *str = NULL;
            if (!name)
                str = s->labels[k].name;
            else if (strcmp(s->labels[k].name, name) == 0)
                str = s->labels[k].value;
            if (!str || base_map_get(&seen, str))
                continue;
            if (base_map_put(&seen, str, (void *)str) != 0) {
                rc = BASE_ERR_NOMEM;
                break;
            }
            if (cnt == cap) {
                const char **g = base_realloc(list, cap * 2 * sizeof(*g));
                if (!g) {
                    rc = BASE_ERR_NOMEM;
                    break;
                }
                list = g;
                cap *= 2;
            }
            list[cnt++] = str;
        }
    }
    base_map_free(&seen);
    base_free(refs);
    if (rc) {
        base_free(list);
        return rc;
    }
    qsort(list, cnt, sizeof(*list), cmp_str);
    *out = list;
    *n_out = cnt;
    return 0;
}

int series_db_label_names(struct series_db *db, const struct series_matcher *ms, size_t n_ms, int64_t mint,
                          int64_t maxt, const char ***out, size_t *n_out)
{
    return collect(db, NULL, ms, n_ms, mint, maxt, out, n_out);
}

int series_db_label_values(struct series_db *db, const char *name, const struct series_matcher *ms, size_t n_ms,
                           int64_t mint, int64_t maxt, const char ***out, size_t *n_out)
{
    return collect(db, name, ms, n_ms, mint, maxt, out, n_out);
}

void series_db_stats(const struct series_db *db, struct series_stats *st)
{
    *st = db->st;
    size_t bytes = 0;
    for (size_t r = 0; r < db->n_refs; r++) {
        const struct series *s = db->by_ref[r];
        for (uint32_t i = 0; s && i < s->n_chunks; i++)
            bytes += (s->chunks[i].bits + 7) / 8;
    }
    st->chunk_bytes = bytes;
    st->memory = db->memory;
}
