/*
 * rules/promql_agg: the aggregation operators with Prometheus' arithmetic
 * (incremental mean and Welford's variance as its engine computes them,
 * NaN handling of min and max, topk/bottomk keeping the first of equal
 * values in label order, count_values' labels written as Go writes
 * floats) and the quantile shared with quantile_over_time.
 */
#include "rules/promql_int.h"

#include "base/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct group {
    const struct pql_lset *ls;
    double value, mean;
    double count;
    size_t first, n; /* topk/bottomk/quantile: members in `order` */
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

static const struct pql_lset *group_labels(struct pql_ev *ev, const struct pql_node *n,
                                           const struct pql_lset *ls)
{
    if (n->u.agg.without)
        return pql_lset_filter(ev, ls, &n->u.agg.grouping, false, true);
    return pql_lset_filter(ev, ls, &n->u.agg.grouping, true, false);
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

struct pql_val pql_eval_agg(struct pql_ev *ev, const struct pql_node *n, int64_t t)
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
    struct pql_htab h;
    struct group *groups = pql_alloc(ev, v.n * sizeof(*groups));
    size_t *member_group = pql_alloc(ev, v.n * sizeof(*member_group));
    if (!groups || !member_group || !pql_htab_init(ev, &h, v.n))
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
            key = pql_lset_filter(ev, key, &tmp, true, false);
        } else {
            key = group_labels(ev, n, key);
        }
        if (!key)
            return out;
        int32_t *slot = pql_htab_slot(&h, key->hash);
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
