/*
 * rules/promql_query: the evaluator's entry points. Before evaluating, every
 * selector's samples are read from the store once, over the span all its
 * steps need (offsets, ranges or the lookback, the subqueries around it),
 * in Prometheus' label order; then the tree is evaluated at one instant, or
 * once per step of a range query, each step in its own scratch arena, the
 * points gathered by label set into the result.
 */
#include "rules/promql_int.h"

#include "base/alloc.h"
#include "base/map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The samples of one series over [mint, maxt] (stale markers dropped for
 * range selectors) into arrays of the keep arena; false on OOM. */
static bool read_series(struct pql_ev *ev, struct series_db *db, series_ref ref, const struct pql_node *n,
                        int64_t mint, int64_t maxt, int64_t **kt, double **kv, size_t *cnt_out)
{
    size_t cap = 64, cnt = 0;
    int64_t *ts = base_malloc(cap * sizeof(*ts));
    double *vs = base_malloc(cap * sizeof(*vs));
    bool ok = ts && vs;
    struct series_iter it;
    int64_t t;
    double v;
    series_iter_init(&it, db, ref, mint, maxt);
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
    *kt = NULL;
    *kv = NULL;
    *cnt_out = 0;
    if (ok && cnt) {
        *kt = base_arena_alloc(&ev->keep, cnt * sizeof(**kt));
        *kv = base_arena_alloc(&ev->keep, cnt * sizeof(**kv));
        ok = *kt && *kv;
        if (ok) {
            memcpy(*kt, ts, cnt * sizeof(**kt));
            memcpy(*kv, vs, cnt * sizeof(**kv));
            *cnt_out = cnt;
        }
    }
    base_free(ts);
    base_free(vs);
    return ok;
}

/* The series of db that match the selector over [mint, maxt] into its
 * slot; with merge (the archive), samples before the first one a series
 * already in the slot holds go in front of them. */
static bool slot_add(struct pql_ev *ev, struct series_db *db, const struct pql_node *n, int64_t mint, int64_t maxt,
                     bool merge)
{
    struct pql_slot *slot = &ev->slots[n->u.sel.slot];
    series_ref *refs = NULL;
    size_t nrefs = 0;
    if (series_db_select(db, n->u.sel.ms, n->u.sel.n_ms, mint, maxt, &refs, &nrefs) != 0) {
        pql_fail(ev, PROMQL_ERR_NOMEM, n->pos, "out of memory");
        return false;
    }
    size_t have = slot->n;
    struct pql_mseries *grown = base_arena_alloc(&ev->keep, (have + nrefs ? have + nrefs : 1) * sizeof(*grown));
    bool ok = grown != NULL;
    if (ok && have)
        memcpy(grown, slot->s, have * sizeof(*grown));
    if (ok)
        slot->s = grown;
    for (size_t i = 0; ok && i < nrefs; i++) {
        const struct series_label *l;
        size_t nl = series_db_labels(db, refs[i], &l);
        int64_t *kt;
        double *kv;
        size_t cnt;
        ok = read_series(ev, db, refs[i], n, mint, maxt, &kt, &kv, &cnt);
        if (!ok || !cnt)
            continue;
        uint64_t hash = pql_lset_hash(l, nl);
        struct pql_mseries *same = NULL;
        for (size_t k = 0; merge && k < have && !same; k++) {
            const struct pql_lset *x = slot->s[k].ls;
            if (x->hash != hash || x->n != nl)
                continue;
            bool eq = true;
            for (size_t j = 0; eq && j < nl; j++)
                eq = !strcmp(x->l[j].name, l[j].name) && !strcmp(x->l[j].value, l[j].value);
            if (eq)
                same = &slot->s[k];
        }
        if (same) {
            size_t older = 0;
            while (older < cnt && (!same->n || kt[older] < same->t[0]))
                older++;
            if (!older)
                continue;
            int64_t *mt = base_arena_alloc(&ev->keep, (older + same->n) * sizeof(*mt));
            double *mv = base_arena_alloc(&ev->keep, (older + same->n) * sizeof(*mv));
            ok = mt && mv;
            if (ok) {
                memcpy(mt, kt, older * sizeof(*mt));
                memcpy(mv, kv, older * sizeof(*mv));
                memcpy(mt + older, same->t, same->n * sizeof(*mt));
                memcpy(mv + older, same->v, same->n * sizeof(*mv));
                same->t = mt;
                same->v = mv;
                same->n += older;
            }
            cnt = older;
        } else {
            struct pql_lset *ls = pql_lset_alloc(&ev->keep, nl);
            ok = ls != NULL;
            if (ok) {
                ls->n = (uint32_t)nl;
                memcpy(ls->l, l, nl * sizeof(*l));
                ls->hash = hash;
                slot->s[slot->n++] = (struct pql_mseries){ls, kt, kv, cnt};
            }
        }
        if (ok && !pql_count_samples(ev, cnt, n->pos)) {
            base_free(refs);
            return false;
        }
    }
    base_free(refs);
    if (!ok)
        pql_fail(ev, PROMQL_ERR_NOMEM, n->pos, "out of memory");
    return ok;
}

/* Reads a selector's series over [mint, maxt] into its slot: the store's,
 * then the archive's older samples; sorted in Prometheus' label order. */
static bool slot_load(struct pql_ev *ev, const struct pql_node *n, int64_t mint, int64_t maxt)
{
    struct pql_slot *slot = &ev->slots[n->u.sel.slot];
    slot->loaded = true;
    slot->n = 0;
    slot->s = NULL;
    if (!slot_add(ev, ev->db, n, mint, maxt, false))
        return false;
    if (ev->o->archive && !slot_add(ev, ev->o->archive, n, mint, maxt, true))
        return false;
    qsort(slot->s, slot->n, sizeof(*slot->s), cmp_mseries);
    return true;
}

/* The first index with t[i] > x (upper bound). */

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
    case PQL_UNARY: return load_slots(ev, n->u.unary.expr, before, after);
    case PQL_PAREN: return load_slots(ev, n->u.paren.expr, before, after);
    case PQL_BINARY:
        return load_slots(ev, n->u.bin.lhs, before, after) && load_slots(ev, n->u.bin.rhs, before, after);
    case PQL_AGG:
        return load_slots(ev, n->u.agg.param, before, after) && load_slots(ev, n->u.agg.expr, before, after);
    case PQL_CALL:
        for (size_t i = 0; i < n->u.call.n; i++)
            if (!load_slots(ev, n->u.call.args[i], before, after))
                return false;
        return true;
    default: return true;
    }
}

static int64_t reach(const struct pql_node *n, int64_t before, int64_t lookback)
{
    if (!n)
        return 0;
    int64_t r = 0, x;
    switch (n->kind) {
    case PQL_SELECTOR:
    case PQL_MATRIX:
        return before + n->u.sel.offset_ms + (n->kind == PQL_MATRIX ? n->u.sel.range_ms : lookback);
    case PQL_SUBQUERY: return reach(n->u.sub.expr, before + n->u.sub.offset_ms + n->u.sub.range_ms, lookback);
    case PQL_UNARY: return reach(n->u.unary.expr, before, lookback);
    case PQL_PAREN: return reach(n->u.paren.expr, before, lookback);
    case PQL_BINARY:
        r = reach(n->u.bin.lhs, before, lookback);
        x = reach(n->u.bin.rhs, before, lookback);
        return x > r ? x : r;
    case PQL_AGG:
        r = reach(n->u.agg.param, before, lookback);
        x = reach(n->u.agg.expr, before, lookback);
        return x > r ? x : r;
    case PQL_CALL:
        for (size_t i = 0; i < n->u.call.n; i++)
            if ((x = reach(n->u.call.args[i], before, lookback)) > r)
                r = x;
        return r;
    default: return 0;
    }
}

int64_t promql_expr_reach(const struct promql_expr *e, int64_t lookback_ms)
{
    return reach(e->root, 0, lookback_ms);
}

static int ev_begin(struct pql_ev *ev, struct series_db *db, const struct promql_expr *e, int64_t start,
                    int64_t end, const struct promql_opts *o, struct promql_result *res,
                    struct promql_error *err)
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
    int32_t *idx; /* open addressing over hashes */
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

static int rset_add(struct rset *rs, struct promql_result *res, const struct pql_lset *ls, int64_t t,
                    double v)
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
    static const struct pql_lset empty = {BASE_HASH_SEED, 0};
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
