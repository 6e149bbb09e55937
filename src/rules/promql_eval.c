/*
 * rules/promql_eval: evaluates an expression tree over the series store
 * with Prometheus 2.x semantics. Every selector's samples are read from
 * the store once per evaluation, over the whole span its steps need (an
 * offset, a range or the 5m lookback, the subqueries around it), into
 * arrays; a step then finds its samples by binary search, without a copy.
 * A range query evaluates the tree once per step, each step in its own
 * scratch arena, and gathers each output series' points by label set.
 * Binary operators, vector matching and aggregations follow Prometheus'
 * engine: the same label rules, the same errors for ambiguous matching.
 */
#include "rules/promql_int.h"

#include "base/alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void promql_opts_default(struct promql_opts *o)
{
    o->lookback_ms = 5 * 60 * 1000;
    o->default_step_ms = 60 * 1000;
    o->max_samples = 50000000;
}

void pql_fail(struct pql_ev *ev, int rc, size_t pos, const char *fmt, ...)
{
    if (ev->rc)
        return;
    ev->rc = rc;
    ev->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->err->msg, sizeof(ev->err->msg), fmt, ap);
    va_end(ap);
}

void *pql_alloc(struct pql_ev *ev, size_t n)
{
    void *p = base_arena_alloc(ev->step, n ? n : 1);
    if (!p)
        pql_fail(ev, PROMQL_ERR_NOMEM, 0, "out of memory");
    return p;
}

/* Samples produced count against max_samples, as Prometheus counts them. */
static bool count_samples(struct pql_ev *ev, uint64_t n, size_t pos)
{
    ev->samples += n;
    if (ev->samples > ev->o->max_samples) {
        pql_fail(ev, PROMQL_ERR_LIMIT, pos, "query processing would load too many samples into memory");
        return false;
    }
    return true;
}

double pql_go_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a > b ? a : b;
}

double pql_go_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a < b ? a : b;
}

/* ---- label sets ---- */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0xff;
    return h * 1099511628211ULL;
}

static uint64_t lset_hash(const struct series_label *l, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = fnv(fnv(h, l[i].name), l[i].value);
    return h;
}

static struct pql_lset *lset_alloc(struct base_arena *a, size_t n)
{
    return base_arena_alloc(a, sizeof(struct pql_lset) + n * sizeof(struct series_label));
}

const struct pql_lset *pql_lset_new(struct pql_ev *ev, const struct series_label *l, size_t n)
{
    struct pql_lset *ls = lset_alloc(ev->step, n);
    if (!ls) {
        pql_fail(ev, PROMQL_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    ls->n = (uint32_t)n;
    if (n)
        memcpy(ls->l, l, n * sizeof(*l));
    ls->hash = lset_hash(l, n);
    return ls;
}

const char *pql_lset_get(const struct pql_lset *ls, const char *name)
{
    for (uint32_t i = 0; i < ls->n; i++)
        if (strcmp(ls->l[i].name, name) == 0)
            return ls->l[i].value;
    return "";
}

static bool in_names(const struct pql_names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return true;
    return false;
}

/* ls filtered: keep (on) the names listed, or drop them (and, when
 * drop_name, __name__). */
static const struct pql_lset *lset_filter(struct pql_ev *ev, const struct pql_lset *ls, const struct pql_names *ns,
                                          bool keep, bool drop_name)
{
    struct series_label tmp[SERIES_LABELS_MAX * 2];
    size_t n = 0;
    for (uint32_t i = 0; i < ls->n && n < sizeof(tmp) / sizeof(tmp[0]); i++) {
        bool listed = ns && in_names(ns, ls->l[i].name);
        if (keep ? !listed : listed)
            continue;
        if (drop_name && strcmp(ls->l[i].name, "__name__") == 0)
            continue;
        tmp[n++] = ls->l[i];
    }
    if (n == ls->n)
        return ls;
    return pql_lset_new(ev, tmp, n);
}

const struct pql_lset *pql_lset_drop_name(struct pql_ev *ev, const struct pql_lset *ls)
{
    if (!ls->n || strcmp(ls->l[0].name, "__name__") != 0) {
        /* sorted: __name__ sorts first among [A-Za-z_] names only after upper case */
        bool has = false;
        for (uint32_t i = 0; i < ls->n; i++)
            has |= strcmp(ls->l[i].name, "__name__") == 0;
        if (!has)
            return ls;
    }
    return lset_filter(ev, ls, NULL, false, true);
}

const struct pql_lset *pql_lset_set(struct pql_ev *ev, const struct pql_lset *ls, const char *name,
                                    const char *value)
{
    struct series_label tmp[SERIES_LABELS_MAX * 2 + 1];
    size_t n = 0;
    bool done = false;
    for (uint32_t i = 0; i < ls->n && n + 1 < sizeof(tmp) / sizeof(tmp[0]); i++) {
        int c = strcmp(ls->l[i].name, name);
        if (c == 0) {
            if (*value)
                tmp[n++] = (struct series_label){name, value};
            done = true;
            continue;
        }
        if (c > 0 && !done) {
            if (*value)
                tmp[n++] = (struct series_label){name, value};
            done = true;
        }
        tmp[n++] = ls->l[i];
    }
    if (!done && *value)
        tmp[n++] = (struct series_label){name, value};
    return pql_lset_new(ev, tmp, n);
}

bool pql_lset_equal(const struct pql_lset *a, const struct pql_lset *b)
{
    if (a == b)
        return true;
    if (a->hash != b->hash || a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->l[i].name, b->l[i].name) != 0 || strcmp(a->l[i].value, b->l[i].value) != 0)
            return false;
    return true;
}

/* The matching signature: hash of the on() labels, or of all but the
 * ignoring() labels and __name__. */
static uint64_t signature(const struct pql_lset *ls, bool on, const struct pql_names *ns)
{
    uint64_t h = 14695981039346656037ULL;
    for (uint32_t i = 0; i < ls->n; i++) {
        const char *name = ls->l[i].name;
        bool listed = in_names(ns, name);
        if (on ? !listed : (listed || strcmp(name, "__name__") == 0))
            continue;
        h = fnv(fnv(h, name), ls->l[i].value);
    }
    return h;
}

/* ---- a small hash table: uint64 key -> index ---- */

struct htab {
    uint64_t *keys;
    int32_t *vals;             /* -1: empty */
    size_t mask;
};

static bool htab_init(struct pql_ev *ev, struct htab *h, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    h->keys = pql_alloc(ev, cap * sizeof(*h->keys));
    h->vals = pql_alloc(ev, cap * sizeof(*h->vals));
    if (!h->keys || !h->vals)
        return false;
    memset(h->vals, 0xff, cap * sizeof(*h->vals));
    h->mask = cap - 1;
    return true;
}

/* The slot for key: its value is -1 when the key is new. */
static int32_t *htab_slot(struct htab *h, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & h->mask;
    while (h->vals[i] >= 0 && h->keys[i] != key)
        i = (i + 1) & h->mask;
    h->keys[i] = key;
    return &h->vals[i];
}

bool pql_vec_has_dups(struct pql_ev *ev, const struct pql_vec *v)
{
    if (v->n < 2)
        return false;
    struct htab h;
    if (!htab_init(ev, &h, v->n))
        return false;
    for (size_t i = 0; i < v->n; i++) {
        int32_t *s = htab_slot(&h, v->s[i].ls->hash);
        if (*s >= 0 && pql_lset_equal(v->s[*s].ls, v->s[i].ls))
            return true;
        *s = (int32_t)i;
    }
    return false;
}

/* ---- selectors ---- */

/* Prometheus' order of label sets (labels.Compare): pair by pair, name
 * then value, then the shorter first. Selectors return series in this
 * order there, and ties in topk/bottomk are broken by it. */
static int cmp_mseries(const void *a, const void *b)
{
    const struct pql_lset *x = ((const struct pql_mseries *)a)->ls, *y = ((const struct pql_mseries *)b)->ls;
    for (uint32_t i = 0; i < x->n && i < y->n; i++) {
        int c = strcmp(x->l[i].name, y->l[i].name);
        if (!c)
            c = strcmp(x->l[i].value, y->l[i].value);
        if (c)
            return c;
    }
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Reads a selector's series over [mint, maxt] into its slot (stale markers
 * kept for instant selectors, dropped for range ones). */
static bool slot_load(struct pql_ev *ev, const struct pql_node *n, int64_t mint, int64_t maxt)
{
    struct pql_slot *slot = &ev->slots[n->u.sel.slot];
    series_ref *refs = NULL;
    size_t nrefs = 0;
    if (series_db_select(ev->db, n->u.sel.ms, n->u.sel.n_ms, mint, maxt, &refs, &nrefs) != 0) {
        pql_fail(ev, PROMQL_ERR_NOMEM, n->pos, "out of memory");
        return false;
    }
    slot->loaded = true;
    slot->s = base_arena_alloc(&ev->keep, (nrefs ? nrefs : 1) * sizeof(*slot->s));
    bool ok = slot->s != NULL;
    for (size_t i = 0; ok && i < nrefs; i++) {
        const struct series_label *l;
        size_t nl = series_db_labels(ev->db, refs[i], &l);
        struct pql_lset *ls = lset_alloc(&ev->keep, nl);
        size_t cap = 64, cnt = 0;
        int64_t *ts = base_malloc(cap * sizeof(*ts));
        double *vs = base_malloc(cap * sizeof(*vs));
        ok = ls && ts && vs;
        struct series_iter it;
        int64_t t;
        double v;
        series_iter_init(&it, ev->db, refs[i], mint, maxt);
        while (ok && series_iter_next(&it, &t, &v)) {
            if (n->kind == PQL_MATRIX && series_is_stale(v))
                continue;
            if (cnt == cap) {
                cap *= 2;
                int64_t *nt = base_realloc(ts, cap * sizeof(*ts));
                if (nt)
                    ts = nt;
                double *nv = nt ? base_realloc(vs, cap * sizeof(*vs)) : NULL;
                if (nv)
                    vs = nv;
                ok = nt && nv;
                if (!ok)
                    break;
            }
            ts[cnt] = t;
            vs[cnt] = v;
            cnt++;
        }
        struct pql_mseries *ms = &slot->s[slot->n];
        if (ok && cnt) {
            ls->n = (uint32_t)nl;
            memcpy(ls->l, l, nl * sizeof(*l));
            ls->hash = lset_hash(l, nl);
            int64_t *kt = base_arena_alloc(&ev->keep, cnt * sizeof(*kt));
            double *kv = base_arena_alloc(&ev->keep, cnt * sizeof(*kv));
            ok = kt && kv;
            if (ok) {
                memcpy(kt, ts, cnt * sizeof(*kt));
                memcpy(kv, vs, cnt * sizeof(*kv));
                *ms = (struct pql_mseries){ls, kt, kv, cnt};
                slot->n++;
            }
        }
        base_free(ts);
        base_free(vs);
        if (ok && !count_samples(ev, cnt, n->pos)) {
            base_free(refs);
            return false;
        }
    }
    base_free(refs);
    if (!ok)
        pql_fail(ev, PROMQL_ERR_NOMEM, n->pos, "out of memory");
    else
        qsort(slot->s, slot->n, sizeof(*slot->s), cmp_mseries);
    return ok;
}

/* The first index with t[i] > x (upper bound). */
static size_t upper(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first index with t[i] >= x. */
static size_t lower(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct pql_val eval_selector(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val r = {.type = PROMQL_VECTOR};
    const struct pql_slot *slot = &ev->slots[n->u.sel.slot];
    int64_t ref = t - n->u.sel.offset_ms;
    r.vec.s = pql_alloc(ev, slot->n * sizeof(*r.vec.s));
    if (!r.vec.s)
        return r;
    for (size_t i = 0; i < slot->n; i++) {
        const struct pql_mseries *s = &slot->s[i];
        size_t k = upper(s->t, s->n, ref);
        if (!k)
            continue;
        k--;
        if (s->t[k] < ref - ev->o->lookback_ms || series_is_stale(s->v[k]))
            continue;
        r.vec.s[r.vec.n++] = (struct pql_sample){s->ls, s->v[k], s->t[k]};
    }
    count_samples(ev, r.vec.n, n->pos);
    return r;
}

static struct pql_val eval_matrix(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val r = {.type = PROMQL_MATRIX};
    const struct pql_slot *slot = &ev->slots[n->u.sel.slot];
    int64_t maxt = t - n->u.sel.offset_ms, mint = maxt - n->u.sel.range_ms;
    r.mat.s = pql_alloc(ev, slot->n * sizeof(*r.mat.s));
    if (!r.mat.s)
        return r;
    uint64_t total = 0;
    for (size_t i = 0; i < slot->n; i++) {
        const struct pql_mseries *s = &slot->s[i];
        size_t lo = lower(s->t, s->n, mint), hi = upper(s->t, s->n, maxt);
        if (hi <= lo)
            continue;
        r.mat.s[r.mat.n++] = (struct pql_mseries){s->ls, s->t + lo, s->v + lo, hi - lo};
        total += hi - lo;
    }
    count_samples(ev, total, n->pos);
    return r;
}

/* The inner expression at every multiple of the step in [t - offset -
 * range, t - offset], gathered by label set. */
static struct pql_val eval_subquery(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val r = {.type = PROMQL_MATRIX};
    int64_t step = n->u.sub.step_ms ? n->u.sub.step_ms : ev->o->default_step_ms;
    int64_t end = t - n->u.sub.offset_ms, from = end - n->u.sub.range_ms;
    int64_t first = from / step * step;   /* the first multiple of step at or after from */
    if (first < from)
        first += step;
    size_t steps = first > end ? 0 : (size_t)((end - first) / step + 1);
    if (!count_samples(ev, steps, n->pos))
        return r;
    struct htab h;
    size_t cap = 16, nser = 0;
    struct pql_mseries *ser = pql_alloc(ev, cap * sizeof(*ser));
    size_t *caps = pql_alloc(ev, cap * sizeof(*caps));
    if (!ser || !caps || !htab_init(ev, &h, 1024))
        return r;
    for (int64_t ts = first; ts <= end && !ev->rc; ts += step) {
        struct pql_val v = pql_eval(ev, n->u.sub.expr, ts);
        for (size_t i = 0; i < v.vec.n && !ev->rc; i++) {
            int32_t *slot = htab_slot(&h, v.vec.s[i].ls->hash);
            if (*slot >= 0 && !pql_lset_equal(ser[*slot].ls, v.vec.s[i].ls)) {
                pql_fail(ev, PROMQL_ERR_EXEC, n->pos, "label set hash collision in subquery");
                break;
            }
            if (*slot < 0) {
                if (nser == cap || nser >= 512 * 1024) {
                    if (nser >= 512 * 1024) {
                        pql_fail(ev, PROMQL_ERR_LIMIT, n->pos, "subquery produced too many series");
                        break;
                    }
                    struct pql_mseries *ns = pql_alloc(ev, cap * 2 * sizeof(*ns));
                    size_t *nc = pql_alloc(ev, cap * 2 * sizeof(*nc));
                    if (!ns || !nc)
                        break;
                    memcpy(ns, ser, cap * sizeof(*ns));
                    memcpy(nc, caps, cap * sizeof(*nc));
                    ser = ns, caps = nc, cap *= 2;
                    if (nser * 2 > h.mask) {
                        struct htab h2;
                        if (!htab_init(ev, &h2, cap))
                            break;
                        for (size_t k = 0; k < nser; k++)
                            *htab_slot(&h2, ser[k].ls->hash) = (int32_t)k;
                        h = h2;
                        slot = htab_slot(&h, v.vec.s[i].ls->hash);
                    }
                }
                *slot = (int32_t)nser;
                ser[nser] = (struct pql_mseries){v.vec.s[i].ls, NULL, NULL, 0};
                caps[nser] = 0;
                nser++;
            }
            struct pql_mseries *m = &ser[*slot];
            size_t k = (size_t)*slot;
            if (m->n == caps[k]) {
                size_t nc = caps[k] ? caps[k] * 2 : (steps < 16 ? steps : 16);
                int64_t *nt = pql_alloc(ev, nc * sizeof(*nt));
                double *nv = pql_alloc(ev, nc * sizeof(*nv));
                if (!nt || !nv)
                    break;
                if (m->n) {
                    memcpy(nt, m->t, m->n * sizeof(*nt));
                    memcpy(nv, m->v, m->n * sizeof(*nv));
                }
                m->t = nt, m->v = nv, caps[k] = nc;
            }
            ((int64_t *)m->t)[m->n] = ts;
            ((double *)m->v)[m->n] = v.vec.s[i].v;
            m->n++;
        }
    }
    r.mat.s = ser;
    r.mat.n = nser;
    return r;
}

/* ---- operators ---- */

static bool is_comparison(enum pql_op op)
{
    return op >= PQL_OP_EQ && op <= PQL_OP_LE;
}

/* Prometheus drops the metric name for arithmetic (atan2 excepted, as in
 * its shouldDropMetricName) and for comparisons with bool. */
static bool drops_name(const struct pql_node *n)
{
    enum pql_op op = n->u.bin.op;
    return n->u.bin.return_bool || op == PQL_OP_ADD || op == PQL_OP_SUB || op == PQL_OP_MUL || op == PQL_OP_DIV ||
           op == PQL_OP_POW || op == PQL_OP_MOD;
}

/* Prometheus' vectorElemBinop: the value, and whether a comparison keeps it. */
static double elem_binop(enum pql_op op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case PQL_OP_ADD: return l + r;
    case PQL_OP_SUB: return l - r;
    case PQL_OP_MUL: return l * r;
    case PQL_OP_DIV: return l / r;
    case PQL_OP_POW: return pow(l, r);
    case PQL_OP_MOD: return fmod(l, r);
    case PQL_OP_ATAN2: return atan2(l, r);
    case PQL_OP_EQ: *keep = l == r; return l;
    case PQL_OP_NE: *keep = l != r; return l;
    case PQL_OP_GT: *keep = l > r; return l;
    case PQL_OP_LT: *keep = l < r; return l;
    case PQL_OP_GE: *keep = l >= r; return l;
    case PQL_OP_LE: *keep = l <= r; return l;
    default: return NAN;
    }
}

static struct pql_val binop_vec_scalar(struct pql_ev *ev, const struct pql_node *n, struct pql_vec v, double s,
                                       bool swap)
{
    struct pql_val r = {.type = PROMQL_VECTOR};
    enum pql_op op = n->u.bin.op;
    bool drop = drops_name(n);
    r.vec.s = pql_alloc(ev, v.n * sizeof(*r.vec.s));
    for (size_t i = 0; r.vec.s && i < v.n; i++) {
        double lv = v.s[i].v, rv = s;
        if (swap)
            lv = s, rv = v.s[i].v;
        bool keep;
        double val = elem_binop(op, lv, rv, &keep);
        if (is_comparison(op) && swap)
            val = rv;
        if (n->u.bin.return_bool) {
            val = keep ? 1 : 0;
            keep = true;
        }
        if (!keep)
            continue;
        const struct pql_lset *ls = drop ? pql_lset_drop_name(ev, v.s[i].ls) : v.s[i].ls;
        if (!ls)
            break;
        r.vec.s[r.vec.n++] = (struct pql_sample){ls, val, v.s[i].t};
    }
    return r;
}

/* and, or, unless */
static struct pql_val binop_set(struct pql_ev *ev, const struct pql_node *n, struct pql_vec l, struct pql_vec rv)
{
    struct pql_val r = {.type = PROMQL_VECTOR};
    bool on = n->u.bin.on;
    const struct pql_names *ns = &n->u.bin.labels;
    struct htab h;
    r.vec.s = pql_alloc(ev, (l.n + rv.n) * sizeof(*r.vec.s));
    if (!r.vec.s || !htab_init(ev, &h, l.n + rv.n))
        return r;
    switch (n->u.bin.op) {
    case PQL_OP_AND:
    case PQL_OP_UNLESS:
        for (size_t i = 0; i < rv.n; i++)
            *htab_slot(&h, signature(rv.s[i].ls, on, ns)) = 1;
        for (size_t i = 0; i < l.n; i++) {
            bool found = *htab_slot(&h, signature(l.s[i].ls, on, ns)) >= 0;
            if (found == (n->u.bin.op == PQL_OP_AND))
                r.vec.s[r.vec.n++] = l.s[i];
        }
        break;
    default: /* or */
        for (size_t i = 0; i < l.n; i++) {
            *htab_slot(&h, signature(l.s[i].ls, on, ns)) = 1;
            r.vec.s[r.vec.n++] = l.s[i];
        }
        for (size_t i = 0; i < rv.n; i++)
            if (*htab_slot(&h, signature(rv.s[i].ls, on, ns)) < 0)
                r.vec.s[r.vec.n++] = rv.s[i];
        /* the slots probed for rhs were written: harmless, the loop only reads */
        break;
    }
    return r;
}

/* The labels of a matched pair's result, as Prometheus' resultMetric. */
static const struct pql_lset *result_metric(struct pql_ev *ev, const struct pql_node *n, const struct pql_lset *l,
                                            const struct pql_lset *r)
{
    bool drop = drops_name(n);
    const struct pql_lset *ls = l;
    if (n->u.bin.card == PQL_ONE_TO_ONE) {
        if (n->u.bin.on)
            ls = lset_filter(ev, ls, &n->u.bin.labels, true, drop);
        else
            ls = lset_filter(ev, ls, &n->u.bin.labels, false, drop);
    } else if (drop) {
        ls = pql_lset_drop_name(ev, ls);
    }
    for (size_t i = 0; ls && i < n->u.bin.include.n; i++)
        ls = pql_lset_set(ev, ls, n->u.bin.include.v[i], pql_lset_get(r, n->u.bin.include.v[i]));
    return ls;
}

static struct pql_val binop_vec_vec(struct pql_ev *ev, const struct pql_node *n, struct pql_vec l, struct pql_vec rv)
{
    struct pql_val r = {.type = PROMQL_VECTOR};
    enum pql_card card = n->u.bin.card;
    bool on = n->u.bin.on;
    const struct pql_names *ns = &n->u.bin.labels;
    if (card == PQL_ONE_TO_MANY) {
        struct pql_vec tmp = l;
        l = rv;
        rv = tmp;
    }
    struct htab rh, matched;
    r.vec.s = pql_alloc(ev, l.n * sizeof(*r.vec.s));
    if (!r.vec.s || !htab_init(ev, &rh, rv.n) || !htab_init(ev, &matched, l.n))
        return r;
    for (size_t i = 0; i < rv.n; i++) {
        int32_t *s = htab_slot(&rh, signature(rv.s[i].ls, on, ns));
        if (*s >= 0) {
            pql_fail(ev, PROMQL_ERR_EXEC, n->pos,
                     "found duplicate series for the match group on the %s hand-side of the operation; "
                     "many-to-many matching not allowed: matching labels must be unique on one side",
                     card == PQL_ONE_TO_MANY ? "left" : "right");
            return r;
        }
        *s = (int32_t)i;
    }
    /* many-to-one: the result label sets of one match group must differ */
    struct htab results;
    if (card != PQL_ONE_TO_ONE && !htab_init(ev, &results, l.n))
        return r;
    for (size_t i = 0; i < l.n; i++) {
        uint64_t sig = signature(l.s[i].ls, on, ns);
        int32_t ri = *htab_slot(&rh, sig);
        if (ri < 0)
            continue;
        const struct pql_sample *rs = &rv.s[ri];
        double vl = l.s[i].v, vr = rs->v;
        if (card == PQL_ONE_TO_MANY)
            vl = rs->v, vr = l.s[i].v;
        bool keep;
        double val = elem_binop(n->u.bin.op, vl, vr, &keep);
        if (n->u.bin.return_bool)
            val = keep ? 1 : 0;
        else if (!keep)
            continue;
        const struct pql_lset *ls = result_metric(ev, n, l.s[i].ls, rs->ls);
        if (!ls)
            return r;
        int32_t *m = htab_slot(&matched, sig);
        if (card == PQL_ONE_TO_ONE) {
            if (*m >= 0) {
                pql_fail(ev, PROMQL_ERR_EXEC, n->pos,
                         "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
                return r;
            }
            *m = 1;
        } else {
            int32_t *d = htab_slot(&results, sig * 31 + ls->hash);
            if (*d >= 0) {
                pql_fail(ev, PROMQL_ERR_EXEC, n->pos, "multiple matches for labels: grouping labels must ensure "
                                                      "unique matches");
                return r;
            }
            *d = 1;
        }
        r.vec.s[r.vec.n++] = (struct pql_sample){ls, val, l.s[i].t};
    }
    return r;
}

static struct pql_val eval_binary(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val l = pql_eval(ev, n->u.bin.lhs, t);
    struct pql_val r = pql_eval(ev, n->u.bin.rhs, t);
    struct pql_val out = {.type = n->type};
    if (ev->rc)
        return out;
    if (l.type == PROMQL_SCALAR && r.type == PROMQL_SCALAR) {
        bool keep;
        out.scalar = elem_binop(n->u.bin.op, l.scalar, r.scalar, &keep);
        if (n->u.bin.return_bool)
            out.scalar = keep ? 1 : 0;
        return out;
    }
    if (l.type == PROMQL_VECTOR && r.type == PROMQL_SCALAR)
        out = binop_vec_scalar(ev, n, l.vec, r.scalar, false);
    else if (l.type == PROMQL_SCALAR)
        out = binop_vec_scalar(ev, n, r.vec, l.scalar, true);
    else if (n->u.bin.op <= PQL_OP_UNLESS)
        return binop_set(ev, n, l.vec, r.vec);
    else
        out = binop_vec_vec(ev, n, l.vec, r.vec);
    if (!ev->rc && pql_vec_has_dups(ev, &out.vec))
        pql_fail(ev, PROMQL_ERR_EXEC, n->pos, "vector cannot contain metrics with the same labelset");
    return out;
}

static struct pql_val eval_unary(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val v = pql_eval(ev, n->u.unary.expr, t);
    if (v.type == PROMQL_SCALAR) {
        v.scalar = -v.scalar;
        return v;
    }
    struct pql_val r = {.type = PROMQL_VECTOR};
    r.vec.s = pql_alloc(ev, v.vec.n * sizeof(*r.vec.s));
    for (size_t i = 0; r.vec.s && i < v.vec.n; i++) {
        const struct pql_lset *ls = pql_lset_drop_name(ev, v.vec.s[i].ls);
        if (!ls)
            break;
        r.vec.s[r.vec.n++] = (struct pql_sample){ls, -v.vec.s[i].v, v.vec.s[i].t};
    }
    if (!ev->rc && pql_vec_has_dups(ev, &r.vec))
        pql_fail(ev, PROMQL_ERR_EXEC, n->pos, "vector cannot contain metrics with the same labelset");
    return r;
}

/* ---- aggregation ---- */

struct group {
    const struct pql_lset *ls;
    double value, mean;
    double count;
    size_t first, n;           /* topk/bottomk/quantile: members in `order` */
};

static bool agg_heap_better(enum pql_agg op, double a, double b)
{
    /* a beats b for topk: greater, NaN last; bottomk: smaller, NaN last */
    if (isnan(b))
        return !isnan(a);
    if (isnan(a))
        return false;
    return op == PQL_AGG_TOPK ? a > b : a < b;
}

static const struct pql_lset *group_labels(struct pql_ev *ev, const struct pql_node *n, const struct pql_lset *ls)
{
    if (n->u.agg.without)
        return lset_filter(ev, ls, &n->u.agg.grouping, false, true);
    return lset_filter(ev, ls, &n->u.agg.grouping, true, false);
}

static void agg_add(enum pql_agg op, struct group *g, double v, bool first)
{
    if (first) {
        g->value = v;
        g->mean = v;
        g->count = 1;
        if (op == PQL_AGG_STDDEV || op == PQL_AGG_STDVAR)
            g->value = 0;
        if (op == PQL_AGG_COUNT || op == PQL_AGG_COUNT_VALUES || op == PQL_AGG_GROUP)
            g->value = 1;
        return;
    }
    g->count++;
    switch (op) {
    case PQL_AGG_SUM: g->value += v; break;
    case PQL_AGG_AVG:
        if (isinf(g->mean)) {
            if (isinf(v) && (g->mean > 0) == (v > 0))
                break;
            if (!isinf(v) && !isnan(v))
                break;
        }
        g->mean += v / g->count - g->mean / g->count;
        break;
    case PQL_AGG_MAX:
        if (g->value < v || isnan(g->value))
            g->value = v;
        break;
    case PQL_AGG_MIN:
        if (g->value > v || isnan(g->value))
            g->value = v;
        break;
    case PQL_AGG_COUNT:
    case PQL_AGG_COUNT_VALUES: g->value++; break;
    case PQL_AGG_STDDEV:
    case PQL_AGG_STDVAR: {
        double delta = v - g->mean;
        g->mean += delta / g->count;
        g->value += delta * (v - g->mean);
        break;
    }
    default: break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return x < y ? -1 : x > y;
}

double pql_quantile(double q, double *v, size_t n)
{
    if (!n || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(v, n, sizeof(*v), cmp_double);
    double rank = q * (double)(n - 1);
    double lo = fmax(0, floor(rank));
    double hi = fmin((double)n - 1, lo + 1);
    double w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

static struct pql_val eval_agg(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val out = {.type = PROMQL_VECTOR};
    enum pql_agg op = n->u.agg.op;
    double param = 0;
    const char *value_label = NULL;
    if (n->u.agg.param) {
        struct pql_val p = pql_eval(ev, n->u.agg.param, t);
        param = p.scalar;
        value_label = p.str;
    }
    struct pql_val in = pql_eval(ev, n->u.agg.expr, t);
    if (ev->rc || !in.vec.n)
        return out;
    struct pql_vec v = in.vec;
    if (op == PQL_AGG_COUNT_VALUES) {
        struct pql_sample *s = pql_alloc(ev, v.n * sizeof(*s));
        for (size_t i = 0; s && i < v.n; i++) {
            char num[PROMQL_FLOAT_MAX];
            promql_format_float(v.s[i].v, num);
            char *val = base_arena_strdup(ev->step, num);
            const struct pql_lset *ls = val ? pql_lset_set(ev, v.s[i].ls, value_label, val) : NULL;
            if (!ls)
                return out;
            s[i] = (struct pql_sample){ls, v.s[i].v, v.s[i].t};
        }
        if (!s)
            return out;
        v.s = s;
    }
    struct htab h;
    struct group *groups = pql_alloc(ev, v.n * sizeof(*groups));
    size_t *member_group = pql_alloc(ev, v.n * sizeof(*member_group));
    if (!groups || !member_group || !htab_init(ev, &h, v.n))
        return out;
    size_t ng = 0;
    for (size_t i = 0; i < v.n; i++) {
        const struct pql_lset *key = v.s[i].ls;
        if (op == PQL_AGG_COUNT_VALUES && !n->u.agg.without) {
            /* by (...) plus the value label */
            struct pql_names with = n->u.agg.grouping;
            const char *extra[SERIES_LABELS_MAX + 1];
            size_t k = 0;
            for (; k < with.n && k < SERIES_LABELS_MAX; k++)
                extra[k] = with.v[k];
            extra[k++] = value_label;
            struct pql_names tmp = {(char **)extra, k};
            key = lset_filter(ev, key, &tmp, true, false);
        } else {
            key = group_labels(ev, n, key);
        }
        if (!key)
            return out;
        int32_t *slot = htab_slot(&h, key->hash);
        while (*slot >= 0 && !pql_lset_equal(groups[*slot].ls, key)) {
            pql_fail(ev, PROMQL_ERR_EXEC, n->pos, "label set hash collision in aggregation");
            return out;
        }
        if (*slot < 0) {
            *slot = (int32_t)ng;
            groups[ng] = (struct group){.ls = key};
            agg_add(op, &groups[ng], v.s[i].v, true);
            groups[ng].n = 1;
            ng++;
        } else {
            agg_add(op, &groups[*slot], v.s[i].v, false);
            groups[*slot].n++;
        }
        member_group[i] = (size_t)*slot;
    }
    if (op == PQL_AGG_TOPK || op == PQL_AGG_BOTTOMK || op == PQL_AGG_QUANTILE) {
        /* members of each group, in input order */
        size_t *order = pql_alloc(ev, v.n * sizeof(*order));
        size_t *fill = pql_alloc(ev, ng * sizeof(*fill));
        if (!order || !fill)
            return out;
        size_t at = 0;
        for (size_t g = 0; g < ng; g++) {
            groups[g].first = at;
            fill[g] = at;
            at += groups[g].n;
        }
        for (size_t i = 0; i < v.n; i++)
            order[fill[member_group[i]]++] = i;
        out.vec.s = pql_alloc(ev, v.n * sizeof(*out.vec.s));
        if (!out.vec.s)
            return out;
        if (op == PQL_AGG_QUANTILE) {
            double *vals = pql_alloc(ev, v.n * sizeof(*vals));
            for (size_t g = 0; vals && g < ng; g++) {
                for (size_t k = 0; k < groups[g].n; k++)
                    vals[k] = v.s[order[groups[g].first + k]].v;
                out.vec.s[out.vec.n++] =
                    (struct pql_sample){groups[g].ls, pql_quantile(param, vals, groups[g].n), t};
            }
            return out;
        }
        if (param < 1 || isnan(param))
            return out;
        double kf = param > (double)v.n ? (double)v.n : param;
        size_t k = (size_t)kf;
        size_t *pick = pql_alloc(ev, (k ? k : 1) * sizeof(*pick));
        for (size_t g = 0; pick && g < ng; g++) {
            /* selection: keep the k best, the worst replaced by a better one */
            size_t np = 0;
            for (size_t m = 0; m < groups[g].n; m++) {
                size_t idx = order[groups[g].first + m];
                if (np < k) {
                    pick[np++] = idx;
                    continue;
                }
                size_t worst = 0;
                for (size_t q = 1; q < np; q++)
                    if (agg_heap_better(op, v.s[pick[worst]].v, v.s[pick[q]].v))
                        worst = q;
                if (agg_heap_better(op, v.s[idx].v, v.s[pick[worst]].v))
                    pick[worst] = idx;
            }
            for (size_t q = 0; q < np; q++)
                out.vec.s[out.vec.n++] = in.vec.s[pick[q]];
        }
        return out;
    }
    out.vec.s = pql_alloc(ev, ng * sizeof(*out.vec.s));
    for (size_t g = 0; out.vec.s && g < ng; g++) {
        double val = groups[g].value;
        if (op == PQL_AGG_AVG)
            val = groups[g].mean;
        else if (op == PQL_AGG_STDVAR)
            val = groups[g].value / groups[g].count;
        else if (op == PQL_AGG_STDDEV)
            val = sqrt(groups[g].value / groups[g].count);
        out.vec.s[out.vec.n++] = (struct pql_sample){groups[g].ls, val, t};
    }
    return out;
}

struct pql_val pql_eval(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    struct pql_val none = {.type = n->type};
    if (ev->rc)
        return none;
    switch (n->kind) {
    case PQL_NUMBER:
        none.scalar = n->u.num;
        return none;
    case PQL_STRING:
        none.str = n->u.str;
        return none;
    case PQL_SELECTOR:
        return eval_selector(ev, n, t);
    case PQL_MATRIX:
        return eval_matrix(ev, n, t);
    case PQL_SUBQUERY:
        return eval_subquery(ev, n, t);
    case PQL_PAREN:
        return pql_eval(ev, n->u.paren.expr, t);
    case PQL_UNARY:
        return eval_unary(ev, n, t);
    case PQL_BINARY:
        return eval_binary(ev, n, t);
    case PQL_AGG:
        return eval_agg(ev, n, t);
    case PQL_CALL:
        return pql_call(ev, n, t);
    }
    return none;
}

/* ---- the span each selector needs, and the entry points ---- */

/* n is evaluated at times in [ev->start - before, ev->end - after]. */
static bool load_slots(struct pql_ev *ev, const struct pql_node *n, int64_t before, int64_t after)
{
    if (!n || ev->rc)
        return !ev->rc;
    switch (n->kind) {
    case PQL_SELECTOR:
    case PQL_MATRIX: {
        int64_t span = n->kind == PQL_MATRIX ? n->u.sel.range_ms : ev->o->lookback_ms;
        int64_t mint = ev->start - before - n->u.sel.offset_ms - span;
        int64_t maxt = ev->end - after - n->u.sel.offset_ms;
        return slot_load(ev, n, mint, maxt);
    }
    case PQL_SUBQUERY:
        return load_slots(ev, n->u.sub.expr, before + n->u.sub.offset_ms + n->u.sub.range_ms,
                          after + n->u.sub.offset_ms);
    case PQL_UNARY:
        return load_slots(ev, n->u.unary.expr, before, after);
    case PQL_PAREN:
        return load_slots(ev, n->u.paren.expr, before, after);
    case PQL_BINARY:
        return load_slots(ev, n->u.bin.lhs, before, after) && load_slots(ev, n->u.bin.rhs, before, after);
    case PQL_AGG:
        return load_slots(ev, n->u.agg.param, before, after) && load_slots(ev, n->u.agg.expr, before, after);
    case PQL_CALL:
        for (size_t i = 0; i < n->u.call.n; i++)
            if (!load_slots(ev, n->u.call.args[i], before, after))
                return false;
        return true;
    default:
        return true;
    }
}

static int ev_begin(struct pql_ev *ev, struct series_db *db, const struct promql_expr *e, int64_t start,
                    int64_t end, const struct promql_opts *o, struct promql_result *res, struct promql_error *err)
{
    memset(ev, 0, sizeof(*ev));
    memset(err, 0, sizeof(*err));
    memset(res, 0, sizeof(*res));
    base_arena_init(&res->arena, 64 * 1024);
    base_arena_init(&ev->keep, 64 * 1024);
    ev->db = db;
    ev->o = o;
    ev->err = err;
    ev->start = start;
    ev->end = end;
    res->type = e->root->type;
    ev->slots = base_arena_calloc(&ev->keep, (size_t)(e->n_slots ? e->n_slots : 1) * sizeof(*ev->slots));
    if (!ev->slots) {
        pql_fail(ev, PROMQL_ERR_NOMEM, 0, "out of memory");
        return ev->rc;
    }
    /* loading runs in the keep arena; a step arena for what it allocates */
    struct base_arena scratch;
    base_arena_init(&scratch, 16 * 1024);
    ev->step = &scratch;
    load_slots(ev, e->root, 0, 0);
    base_arena_free(&scratch);
    ev->step = NULL;
    return ev->rc;
}

static void ev_end(struct pql_ev *ev)
{
    base_arena_free(&ev->keep);
}

/* Copies a label set into the result's arena. */
static const struct series_label *copy_labels(struct promql_result *res, const struct pql_lset *ls)
{
    struct series_label *l = base_arena_alloc(&res->arena, (ls->n ? ls->n : 1) * sizeof(*l));
    for (uint32_t i = 0; l && i < ls->n; i++) {
        l[i].name = base_arena_strdup(&res->arena, ls->l[i].name);
        l[i].value = base_arena_strdup(&res->arena, ls->l[i].value);
        if (!l[i].name || !l[i].value)
            return NULL;
    }
    return l;
}

static int result_from_value(struct pql_ev *ev, const struct pql_val *v, int64_t t, struct promql_result *res)
{
    res->t = t;
    res->type = v->type;
    if (v->type == PROMQL_SCALAR) {
        res->scalar = v->scalar;
        return 0;
    }
    if (v->type == PROMQL_STRING) {
        res->string = base_arena_strdup(&res->arena, v->str ? v->str : "");
        return res->string ? 0 : PROMQL_ERR_NOMEM;
    }
    size_t n = v->type == PROMQL_VECTOR ? v->vec.n : v->mat.n;
    res->series = base_arena_calloc(&res->arena, (n ? n : 1) * sizeof(*res->series));
    if (!res->series)
        return PROMQL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct promql_series *s = &res->series[i];
        const struct pql_lset *ls = v->type == PROMQL_VECTOR ? v->vec.s[i].ls : v->mat.s[i].ls;
        size_t np = v->type == PROMQL_VECTOR ? 1 : v->mat.s[i].n;
        int64_t *ts = base_arena_alloc(&res->arena, np * sizeof(*ts));
        double *vs = base_arena_alloc(&res->arena, np * sizeof(*vs));
        if (!(s->labels = copy_labels(res, ls)) || !ts || !vs)
            return PROMQL_ERR_NOMEM;
        s->n_labels = ls->n;
        if (v->type == PROMQL_VECTOR) {
            ts[0] = t;
            vs[0] = v->vec.s[i].v;
        } else {
            memcpy(ts, v->mat.s[i].t, np * sizeof(*ts));
            memcpy(vs, v->mat.s[i].v, np * sizeof(*vs));
        }
        s->t = ts, s->v = vs, s->n = np;
    }
    res->n = n;
    (void)ev;
    return 0;
}

int promql_eval_instant(struct series_db *db, const struct promql_expr *e, int64_t t,
                        const struct promql_opts *o, struct promql_result *result, struct promql_error *err)
{
    struct pql_ev ev;
    struct promql_opts def;
    if (!o) {
        promql_opts_default(&def);
        o = &def;
    }
    if (ev_begin(&ev, db, e, t, t, o, result, err) == 0) {
        struct base_arena step;
        base_arena_init(&step, 64 * 1024);
        ev.step = &step;
        struct pql_val v = pql_eval(&ev, e->root, t);
        if (!ev.rc && v.type == PROMQL_VECTOR && pql_vec_has_dups(&ev, &v.vec))
            pql_fail(&ev, PROMQL_ERR_EXEC, 0, "vector cannot contain metrics with the same labelset");
        if (!ev.rc) {
            int rc = result_from_value(&ev, &v, t, result);
            if (rc)
                pql_fail(&ev, rc, 0, "out of memory");
        }
        base_arena_free(&step);
    }
    ev_end(&ev);
    return ev.rc;
}

/* A range query's output series, its points growing. */
struct rseries {
    const struct series_label *labels;
    size_t n_labels;
    uint64_t hash;
    int64_t *t;
    double *v;
    size_t n, cap;
};

struct rset {
    struct rseries *s;
    size_t n, cap;
    int32_t *idx;              /* open addressing over hashes */
    size_t mask;
};

static void rset_free(struct rset *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        base_free(rs->s[i].t);
        base_free(rs->s[i].v);
    }
    base_free(rs->s);
    base_free(rs->idx);
}

static bool labels_equal(const struct rseries *a, const struct pql_lset *b)
{
    if (a->hash != b->hash || a->n_labels != b->n)
        return false;
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(a->labels[i].name, b->l[i].name) || strcmp(a->labels[i].value, b->l[i].value))
            return false;
    return true;
}

static bool rset_grow_index(struct rset *rs)
{
    size_t cap = rs->mask ? (rs->mask + 1) * 2 : 64;
    int32_t *idx = base_malloc(cap * sizeof(*idx));
    if (!idx)
        return false;
    memset(idx, 0xff, cap * sizeof(*idx));
    for (size_t i = 0; i < rs->n; i++) {
        size_t k = (size_t)rs->s[i].hash & (cap - 1);
        while (idx[k] >= 0)
            k = (k + 1) & (cap - 1);
        idx[k] = (int32_t)i;
    }
    base_free(rs->idx);
    rs->idx = idx;
    rs->mask = cap - 1;
    return true;
}

static int rset_add(struct rset *rs, struct promql_result *res, const struct pql_lset *ls, int64_t t, double v)
{
    if ((rs->n + 1) * 2 > rs->mask && !rset_grow_index(rs))
        return PROMQL_ERR_NOMEM;
    size_t k = (size_t)ls->hash & rs->mask;
    while (rs->idx[k] >= 0 && !labels_equal(&rs->s[rs->idx[k]], ls))
        k = (k + 1) & rs->mask;
    if (rs->idx[k] < 0) {
        if (rs->n == rs->cap) {
            size_t cap = rs->cap ? rs->cap * 2 : 16;
            struct rseries *s = base_realloc(rs->s, cap * sizeof(*s));
            if (!s)
                return PROMQL_ERR_NOMEM;
            rs->s = s;
            rs->cap = cap;
        }
        struct rseries *s = &rs->s[rs->n];
        memset(s, 0, sizeof(*s));
        if (!(s->labels = copy_labels(res, ls)))
            return PROMQL_ERR_NOMEM;
        s->n_labels = ls->n;
        s->hash = ls->hash;
        rs->idx[k] = (int32_t)rs->n++;
    }
    struct rseries *s = &rs->s[rs->idx[k]];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        int64_t *nt = base_realloc(s->t, cap * sizeof(*nt));
        if (!nt)
            return PROMQL_ERR_NOMEM;
        s->t = nt;
        double *nv = base_realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return PROMQL_ERR_NOMEM;
        s->v = nv;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return 0;
}

int promql_eval_range(struct series_db *db, const struct promql_expr *e, int64_t start, int64_t end,
                      int64_t step, const struct promql_opts *o, struct promql_result *result,
                      struct promql_error *err)
{
    struct pql_ev ev;
    struct promql_opts def;
    if (!o) {
        promql_opts_default(&def);
        o = &def;
    }
    struct rset rs = {0};
    static const struct pql_lset empty = {14695981039346656037ULL, 0};
    if (ev_begin(&ev, db, e, start, end, o, result, err) == 0) {
        result->type = PROMQL_MATRIX;
        for (int64_t t = start; t <= end && !ev.rc; t += step) {
            struct base_arena arena;
            base_arena_init(&arena, 64 * 1024);
            ev.step = &arena;
            struct pql_val v = pql_eval(&ev, e->root, t);
            int rc = 0;
            if (!ev.rc && v.type == PROMQL_SCALAR)
                rc = rset_add(&rs, result, &empty, t, v.scalar);
            else if (!ev.rc && pql_vec_has_dups(&ev, &v.vec))
                pql_fail(&ev, PROMQL_ERR_EXEC, 0, "vector cannot contain metrics with the same labelset");
            for (size_t i = 0; !ev.rc && !rc && v.type == PROMQL_VECTOR && i < v.vec.n; i++)
                rc = rset_add(&rs, result, v.vec.s[i].ls, t, v.vec.s[i].v);
            if (rc)
                pql_fail(&ev, rc, 0, "out of memory");
            base_arena_free(&arena);
            if (step <= 0 || t > INT64_MAX - step)
                break;
        }
        if (!ev.rc) {
            result->series = base_arena_calloc(&result->arena, (rs.n ? rs.n : 1) * sizeof(*result->series));
            for (size_t i = 0; result->series && i < rs.n; i++) {
                struct rseries *s = &rs.s[i];
                int64_t *ts = base_arena_alloc(&result->arena, s->n * sizeof(*ts));
                double *vs = base_arena_alloc(&result->arena, s->n * sizeof(*vs));
                if (!ts || !vs) {
                    pql_fail(&ev, PROMQL_ERR_NOMEM, 0, "out of memory");
                    break;
                }
                memcpy(ts, s->t, s->n * sizeof(*ts));
                memcpy(vs, s->v, s->n * sizeof(*vs));
                result->series[i] = (struct promql_series){s->labels, s->n_labels, ts, vs, s->n};
            }
            if (!result->series)
                pql_fail(&ev, PROMQL_ERR_NOMEM, 0, "out of memory");
            else if (!ev.rc)
                result->n = rs.n;
        }
    }
    rset_free(&rs);
    ev_end(&ev);
    return ev.rc;
}

void promql_result_free(struct promql_result *r)
{
    base_arena_free(&r->arena);
    r->series = NULL;
    r->n = 0;
}
