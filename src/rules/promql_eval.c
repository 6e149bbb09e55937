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
    o->archive = NULL;
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
bool pql_count_samples(struct pql_ev *ev, uint64_t n, size_t pos)
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

/* ---- selectors ---- */

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
    pql_count_samples(ev, r.vec.n, n->pos);
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
    pql_count_samples(ev, total, n->pos);
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
    if (!pql_count_samples(ev, steps, n->pos))
        return r;
    struct pql_htab h;
    size_t cap = 16, nser = 0;
    struct pql_mseries *ser = pql_alloc(ev, cap * sizeof(*ser));
    size_t *caps = pql_alloc(ev, cap * sizeof(*caps));
    if (!ser || !caps || !pql_htab_init(ev, &h, 1024))
        return r;
    for (int64_t ts = first; ts <= end && !ev->rc; ts += step) {
        struct pql_val v = pql_eval(ev, n->u.sub.expr, ts);
        for (size_t i = 0; i < v.vec.n && !ev->rc; i++) {
            int32_t *slot = pql_htab_slot(&h, v.vec.s[i].ls->hash);
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
                        struct pql_htab h2;
                        if (!pql_htab_init(ev, &h2, cap))
                            break;
                        for (size_t k = 0; k < nser; k++)
                            *pql_htab_slot(&h2, ser[k].ls->hash) = (int32_t)k;
                        h = h2;
                        slot = pql_htab_slot(&h, v.vec.s[i].ls->hash);
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
    struct pql_htab h;
    r.vec.s = pql_alloc(ev, (l.n + rv.n) * sizeof(*r.vec.s));
    if (!r.vec.s || !pql_htab_init(ev, &h, l.n + rv.n))
        return r;
    switch (n->u.bin.op) {
    case PQL_OP_AND:
    case PQL_OP_UNLESS:
        for (size_t i = 0; i < rv.n; i++)
            *pql_htab_slot(&h, pql_signature(rv.s[i].ls, on, ns)) = 1;
        for (size_t i = 0; i < l.n; i++) {
            bool found = *pql_htab_slot(&h, pql_signature(l.s[i].ls, on, ns)) >= 0;
            if (found == (n->u.bin.op == PQL_OP_AND))
                r.vec.s[r.vec.n++] = l.s[i];
        }
        break;
    default: /* or */
        for (size_t i = 0; i < l.n; i++) {
            *pql_htab_slot(&h, pql_signature(l.s[i].ls, on, ns)) = 1;
            r.vec.s[r.vec.n++] = l.s[i];
        }
        for (size_t i = 0; i < rv.n; i++)
            if (*pql_htab_slot(&h, pql_signature(rv.s[i].ls, on, ns)) < 0)
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
            ls = pql_lset_filter(ev, ls, &n->u.bin.labels, true, drop);
        else
            ls = pql_lset_filter(ev, ls, &n->u.bin.labels, false, drop);
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
    struct pql_htab rh, matched;
    r.vec.s = pql_alloc(ev, l.n * sizeof(*r.vec.s));
    if (!r.vec.s || !pql_htab_init(ev, &rh, rv.n) || !pql_htab_init(ev, &matched, l.n))
        return r;
    for (size_t i = 0; i < rv.n; i++) {
        int32_t *s = pql_htab_slot(&rh, pql_signature(rv.s[i].ls, on, ns));
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
    struct pql_htab results;
    if (card != PQL_ONE_TO_ONE && !pql_htab_init(ev, &results, l.n))
        return r;
    for (size_t i = 0; i < l.n; i++) {
        uint64_t sig = pql_signature(l.s[i].ls, on, ns);
        int32_t ri = *pql_htab_slot(&rh, sig);
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
        int32_t *m = pql_htab_slot(&matched, sig);
        if (card == PQL_ONE_TO_ONE) {
            if (*m >= 0) {
                pql_fail(ev, PROMQL_ERR_EXEC, n->pos,
                         "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
                return r;
            }
            *m = 1;
        } else {
            int32_t *d = pql_htab_slot(&results, sig * 31 + ls->hash);
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
        return pql_eval_agg(ev, n, t);
    case PQL_CALL:
        return pql_call(ev, n, t);
    }
    return none;
}

