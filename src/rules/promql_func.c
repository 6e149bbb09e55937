/*
 * rules/promql_func: PromQL's functions, each as Prometheus 2.x computes
 * it: the extrapolated rate/increase/delta (counter resets, extrapolation
 * to the range's edges and not below zero), irate/idelta from the last two
 * samples, the *_over_time family, linear regression for deriv and
 * predict_linear, histogram_quantile over classic buckets (coalesced,
 * forced monotonic), label_replace with Go's $1/${name} expansion, and
 * the simple math functions. Range-vector functions drop the metric name
 * except last_over_time, as Prometheus does.
 */
#include "rules/promql_int.h"

#include "base/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define S PROMQL_SCALAR
#define V PROMQL_VECTOR
#define M PROMQL_MATRIX
#define STR PROMQL_STRING

static const struct pql_func funcs[] = {
    {"abs", {V}, 1, 1, V, FN_ABS},
    {"absent", {V}, 1, 1, V, FN_ABSENT},
    {"absent_over_time", {M}, 1, 1, V, FN_ABSENT_OVER_TIME},
    {"acos", {V}, 1, 1, V, FN_ACOS},
    {"acosh", {V}, 1, 1, V, FN_ACOSH},
    {"asin", {V}, 1, 1, V, FN_ASIN},
    {"asinh", {V}, 1, 1, V, FN_ASINH},
    {"atan", {V}, 1, 1, V, FN_ATAN},
    {"atanh", {V}, 1, 1, V, FN_ATANH},
    {"avg_over_time", {M}, 1, 1, V, FN_AVG_OVER_TIME},
    {"ceil", {V}, 1, 1, V, FN_CEIL},
    {"changes", {M}, 1, 1, V, FN_CHANGES},
    {"clamp", {V, S, S}, 3, 3, V, FN_CLAMP},
    {"clamp_max", {V, S}, 2, 2, V, FN_CLAMP_MAX},
    {"clamp_min", {V, S}, 2, 2, V, FN_CLAMP_MIN},
    {"cos", {V}, 1, 1, V, FN_COS},
    {"cosh", {V}, 1, 1, V, FN_COSH},
    {"count_over_time", {M}, 1, 1, V, FN_COUNT_OVER_TIME},
    {"day_of_month", {V}, 0, 1, V, FN_DAY_OF_MONTH},
    {"day_of_week", {V}, 0, 1, V, FN_DAY_OF_WEEK},
    {"day_of_year", {V}, 0, 1, V, FN_DAY_OF_YEAR},
    {"days_in_month", {V}, 0, 1, V, FN_DAYS_IN_MONTH},
    {"deg", {V}, 1, 1, V, FN_DEG},
    {"delta", {M}, 1, 1, V, FN_DELTA},
    {"deriv", {M}, 1, 1, V, FN_DERIV},
    {"exp", {V}, 1, 1, V, FN_EXP},
    {"floor", {V}, 1, 1, V, FN_FLOOR},
    {"histogram_quantile", {S, V}, 2, 2, V, FN_HISTOGRAM_QUANTILE},
    {"hour", {V}, 0, 1, V, FN_HOUR},
    {"idelta", {M}, 1, 1, V, FN_IDELTA},
    {"increase", {M}, 1, 1, V, FN_INCREASE},
    {"irate", {M}, 1, 1, V, FN_IRATE},
    {"label_join", {V, STR, STR}, 3, -1, V, FN_LABEL_JOIN},
    {"label_replace", {V, STR, STR, STR}, 5, 5, V, FN_LABEL_REPLACE},
    {"last_over_time", {M}, 1, 1, V, FN_LAST_OVER_TIME},
    {"ln", {V}, 1, 1, V, FN_LN},
    {"log10", {V}, 1, 1, V, FN_LOG10},
    {"log2", {V}, 1, 1, V, FN_LOG2},
    {"max_over_time", {M}, 1, 1, V, FN_MAX_OVER_TIME},
    {"min_over_time", {M}, 1, 1, V, FN_MIN_OVER_TIME},
    {"minute", {V}, 0, 1, V, FN_MINUTE},
    {"month", {V}, 0, 1, V, FN_MONTH},
    {"pi", {S}, 0, 0, S, FN_PI},
    {"predict_linear", {M, S}, 2, 2, V, FN_PREDICT_LINEAR},
    {"present_over_time", {M}, 1, 1, V, FN_PRESENT_OVER_TIME},
    {"quantile_over_time", {S, M}, 2, 2, V, FN_QUANTILE_OVER_TIME},
    {"rad", {V}, 1, 1, V, FN_RAD},
    {"rate", {M}, 1, 1, V, FN_RATE},
    {"resets", {M}, 1, 1, V, FN_RESETS},
    {"round", {V, S}, 1, 2, V, FN_ROUND},
    {"scalar", {V}, 1, 1, S, FN_SCALAR},
    {"sgn", {V}, 1, 1, V, FN_SGN},
    {"sin", {V}, 1, 1, V, FN_SIN},
    {"sinh", {V}, 1, 1, V, FN_SINH},
    {"sort", {V}, 1, 1, V, FN_SORT},
    {"sort_desc", {V}, 1, 1, V, FN_SORT_DESC},
    {"sqrt", {V}, 1, 1, V, FN_SQRT},
    {"stddev_over_time", {M}, 1, 1, V, FN_STDDEV_OVER_TIME},
    {"stdvar_over_time", {M}, 1, 1, V, FN_STDVAR_OVER_TIME},
    {"sum_over_time", {M}, 1, 1, V, FN_SUM_OVER_TIME},
    {"tan", {V}, 1, 1, V, FN_TAN},
    {"tanh", {V}, 1, 1, V, FN_TANH},
    {"time", {S}, 0, 0, S, FN_TIME},
    {"timestamp", {V}, 1, 1, V, FN_TIMESTAMP},
    {"vector", {S}, 1, 1, V, FN_VECTOR},
    {"year", {V}, 0, 1, V, FN_YEAR},
};

const struct pql_func *pql_func_lookup(const char *name)
{
    size_t lo = 0, hi = sizeof(funcs) / sizeof(funcs[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, funcs[mid].name);
        if (!c)
            return &funcs[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- helpers ---- */

static void kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

static struct pql_val vec_out(struct pql_ev *ev, size_t cap)
{
    struct pql_val r = {.type = PROMQL_VECTOR};
    r.vec.s = pql_alloc(ev, (cap ? cap : 1) * sizeof(*r.vec.s));
    return r;
}

static bool push(struct pql_ev *ev, struct pql_val *r, const struct pql_lset *ls, double v, int64_t t, bool drop)
{
    if (drop && !(ls = pql_lset_drop_name(ev, ls)))
        return false;
    r->vec.s[r->vec.n++] = (struct pql_sample){ls, v, t};
    return true;
}

/* The range and offset of a range-vector argument (selector or subquery). */
static void range_of(const struct pql_node *arg, int64_t *range, int64_t *offset)
{
    if (arg->kind == PQL_SUBQUERY) {
        *range = arg->u.sub.range_ms;
        *offset = arg->u.sub.offset_ms;
    } else {
        *range = arg->u.sel.range_ms;
        *offset = arg->u.sel.offset_ms;
    }
}

/* Prometheus' extrapolatedRate. false when there is no value (fewer than
 * two samples). */
static bool extrapolated_rate(const struct pql_mseries *s, int64_t t, int64_t range, int64_t offset,
                              bool counter, bool is_rate, double *out)
{
    if (s->n < 2)
        return false;
    int64_t range_start = t - (range + offset), range_end = t - offset;
    double result = s->v[s->n - 1] - s->v[0];
    if (counter) {
        double last = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (s->v[i] < last)
                result += last;
            last = s->v[i];
        }
    }
    double to_start = (double)(s->t[0] - range_start) / 1000;
    double to_end = (double)(range_end - s->t[s->n - 1]) / 1000;
    double sampled = (double)(s->t[s->n - 1] - s->t[0]) / 1000;
    double avg_between = sampled / (double)(s->n - 1);
    if (counter && result > 0 && s->v[0] >= 0) {
        double to_zero = sampled * (s->v[0] / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg_between * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg_between / 2;
    interval += to_end < threshold ? to_end : avg_between / 2;
    result = result * (interval / sampled);
    if (is_rate)
        result = result / ((double)range / 1000);
    *out = result;
    return true;
}

static bool instant_value(const struct pql_mseries *s, bool is_rate, double *out)
{
    if (s->n < 2)
        return false;
    double last = s->v[s->n - 1], prev = s->v[s->n - 2];
    double result = is_rate && last < prev ? last : last - prev;
    int64_t interval = s->t[s->n - 1] - s->t[s->n - 2];
    if (interval == 0)
        return false;
    if (is_rate)
        result /= (double)interval / 1000;
    *out = result;
    return true;
}

/* Least squares over the samples, x in seconds from intercept_time. */
static void linear_regression(const struct pql_mseries *s, int64_t intercept_time, double *slope,
                              double *intercept)
{
    double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    double init_y = s->v[0];
    bool const_y = true;
    for (size_t i = 0; i < s->n; i++) {
        if (const_y && i > 0 && s->v[i] != init_y)
            const_y = false;
        n += 1;
        double x = (double)(s->t[i] - intercept_time) / 1e3;
        kahan_inc(x, &sx, &cx);
        kahan_inc(s->v[i], &sy, &cy);
        kahan_inc(x * s->v[i], &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        if (isinf(init_y)) {
            *slope = NAN;
            *intercept = NAN;
        } else {
            *slope = 0;
            *intercept = init_y;
        }
        return;
    }
    sx += cx, sy += cy, sxy += cxy, sx2 += cx2;
    double cov = sxy - sx * sy / n;
    double var = sx2 - sx * sx / n;
    *slope = cov / var;
    *intercept = sy / n - *slope * sx / n;
}

static double over_time(int id, const struct pql_mseries *s, double q, struct pql_ev *ev)
{
    size_t n = s->n;
    const double *v = s->v;
    switch (id) {
    case FN_AVG_OVER_TIME: {
        double mean = 0, c = 0, count = 0;
        for (size_t i = 0; i < n; i++) {
            count++;
            if (isinf(mean)) {
                if (isinf(v[i]) && (mean > 0) == (v[i] > 0))
                    continue;
                if (!isinf(v[i]) && !isnan(v[i]))
                    continue;
            }
            kahan_inc(v[i] / count - mean / count, &mean, &c);
        }
        return isinf(mean) ? mean : mean + c;
    }
    case FN_SUM_OVER_TIME: {
        double sum = 0, c = 0;
        for (size_t i = 0; i < n; i++)
            kahan_inc(v[i], &sum, &c);
        return isinf(sum) ? sum : sum + c;
    }
    case FN_COUNT_OVER_TIME: return (double)n;
    case FN_MAX_OVER_TIME: {
        double m = v[0];
        for (size_t i = 0; i < n; i++)
            if (v[i] > m || isnan(m))
                m = v[i];
        return m;
    }
    case FN_MIN_OVER_TIME: {
        double m = v[0];
        for (size_t i = 0; i < n; i++)
            if (v[i] < m || isnan(m))
                m = v[i];
        return m;
    }
    case FN_LAST_OVER_TIME: return v[n - 1];
    case FN_PRESENT_OVER_TIME: return 1;
    case FN_STDDEV_OVER_TIME:
    case FN_STDVAR_OVER_TIME: {
        double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
        for (size_t i = 0; i < n; i++) {
            count++;
            double delta = v[i] - (mean + cmean);
            kahan_inc(delta / count, &mean, &cmean);
            kahan_inc(delta * (v[i] - (mean + cmean)), &aux, &caux);
        }
        double var = (aux + caux) / count;
        return id == FN_STDDEV_OVER_TIME ? sqrt(var) : var;
    }
    case FN_CHANGES:
    case FN_RESETS: {
        double count = 0, prev = v[0];
        for (size_t i = 1; i < n; i++) {
            double cur = v[i];
            if (id == FN_CHANGES ? (cur != prev && !(isnan(cur) && isnan(prev))) : cur < prev)
                count++;
            prev = cur;
        }
        return count;
    }
    case FN_QUANTILE_OVER_TIME: {
        double *tmp = pql_alloc(ev, n * sizeof(*tmp));
        if (!tmp)
            return NAN;
        memcpy(tmp, v, n * sizeof(*tmp));
        return pql_quantile(q, tmp, n);
    }
    default: return NAN;
    }
}

/* ---- absent ---- */

static const struct pql_lset *absent_labels(struct pql_ev *ev, const struct pql_node *arg)
{
    struct series_label l[SERIES_LABELS_MAX];
    size_t n = 0;
    if (arg->kind == PQL_SELECTOR || arg->kind == PQL_MATRIX) {
        const char *drop[SERIES_LABELS_MAX];
        size_t nd = 0;
        for (size_t i = 0; i < arg->u.sel.n_ms; i++) {
            const struct series_matcher *m = &arg->u.sel.ms[i];
            if (strcmp(m->name, "__name__") == 0)
                continue;
            bool has = false;
            for (size_t k = 0; k < n; k++)
                has |= strcmp(l[k].name, m->name) == 0;
            if (m->op == SERIES_MATCH_EQ && !has && n < SERIES_LABELS_MAX)
                l[n++] = (struct series_label){m->name, m->value};
            else if (nd < SERIES_LABELS_MAX)
                drop[nd++] = m->name;
        }
        size_t w = 0;
        for (size_t k = 0; k < n; k++) {
            bool dropped = false;
            for (size_t d = 0; d < nd; d++)
                dropped |= strcmp(drop[d], l[k].name) == 0;
            if (!dropped && *l[k].value)
                l[w++] = l[k];
        }
        n = w;
        /* sort by name */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0; j--) {
                struct series_label tmp = l[j];
                l[j] = l[j - 1];
                l[j - 1] = tmp;
            }
    }
    return pql_lset_new(ev, l, n);
}

/* ---- histogram_quantile ---- */

struct bucket {
    double upper, count;
};

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->upper, y = ((const struct bucket *)b)->upper;
    return x < y ? -1 : x > y;
}

static double bucket_quantile(double q, struct bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(b, n, sizeof(*b), cmp_bucket);
    if (!n || !isinf(b[n - 1].upper) || b[n - 1].upper < 0)
        return NAN;
    /* coalesce equal bounds */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && b[w - 1].upper == b[i].upper)
            b[w - 1].count += b[i].count;
        else
            b[w++] = b[i];
    }
    n = w;
    double max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (b[i].count > max)
            max = b[i].count;
        else if (b[i].count < max)
            b[i].count = max;
    }
    if (n < 2)
        return NAN;
    double observations = b[n - 1].count;
    if (observations == 0)
        return NAN;
    double rank = q * observations;
    size_t k = 0;
    while (k < n - 1 && !(b[k].count >= rank))
        k++;
    if (k == n - 1)
        return b[n - 2].upper;
    if (k == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[k].upper, count = b[k].count;
    if (k > 0) {
        start = b[k - 1].upper;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

static struct pql_val histogram_quantile(struct pql_ev *ev, double q, struct pql_vec v, int64_t t)
{
    struct pql_val r = vec_out(ev, v.n);
    const struct pql_lset **keys = pql_alloc(ev, (v.n ? v.n : 1) * sizeof(*keys));
    struct bucket *bk = pql_alloc(ev, (v.n ? v.n : 1) * sizeof(*bk));
    size_t *grp = pql_alloc(ev, (v.n ? v.n : 1) * sizeof(*grp));
    if (!r.vec.s || !keys || !bk || !grp)
        return r;
    struct pql_names le = {(char *[]){"le"}, 1};
    size_t ng = 0;
    /* group by the labels without le and __name__ (quadratic in groups is fine: few per metric) */
    const struct pql_lset **gkeys = pql_alloc(ev, (v.n ? v.n : 1) * sizeof(*gkeys));
    if (!gkeys)
        return r;
    for (size_t i = 0; i < v.n; i++) {
        const char *les = pql_lset_get(v.s[i].ls, "le");
        char *end = NULL;
        double upper = strtod(les, &end);
        grp[i] = SIZE_MAX;
        if (!*les || !end || *end)
            continue;
        const struct pql_lset *ls = pql_lset_drop_name(ev, v.s[i].ls);
        if (!ls)
            return r;
        struct series_label tmp[SERIES_LABELS_MAX * 2];
        size_t nk = 0;
        for (uint32_t k = 0; k < ls->n && nk < sizeof(tmp) / sizeof(tmp[0]); k++)
            if (strcmp(ls->l[k].name, le.v[0]) != 0)
                tmp[nk++] = ls->l[k];
        const struct pql_lset *key = pql_lset_new(ev, tmp, nk);
        if (!key)
            return r;
        size_t g = 0;
        while (g < ng && !pql_lset_equal(gkeys[g], key))
            g++;
        if (g == ng)
            gkeys[ng++] = key;
        grp[i] = g;
        bk[i] = (struct bucket){upper, v.s[i].v};
    }
    struct bucket *tmpb = pql_alloc(ev, (v.n ? v.n : 1) * sizeof(*tmpb));
    for (size_t g = 0; tmpb && g < ng; g++) {
        size_t nb = 0;
        for (size_t i = 0; i < v.n; i++)
            if (grp[i] == g)
                tmpb[nb++] = bk[i];
        r.vec.s[r.vec.n++] = (struct pql_sample){gkeys[g], bucket_quantile(q, tmpb, nb), t};
    }
    return r;
}

/* ---- label_replace and label_join ---- */

static bool label_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Go's regexp Expand: $1, ${1}, $name, ${name}, $$. */
static char *expand(struct pql_ev *ev, const char *tmpl, const char *src, pcre2_code *re, pcre2_match_data *md)
{
    size_t cap = strlen(tmpl) + strlen(src) * 4 + 64, n = 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t groups = pcre2_get_ovector_count(md);
    char *out = pql_alloc(ev, cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        if (*p != '$') {
            if (n + 1 >= cap)
                return NULL;
            out[n++] = *p++;
            continue;
        }
        if (p[1] == '$') {
            out[n++] = '$';
            p += 2;
            continue;
        }
        const char *name = p + 1, *end;
        bool brace = *name == '{';
        if (brace)
            name++;
        end = name;
        while (name_char(*end))
            end++;
        if (end == name || (brace && *end != '}')) {
            out[n++] = '$';   /* malformed: a literal $ */
            p++;
            continue;
        }
        size_t len = (size_t)(end - name);
        p = end + (brace ? 1 : 0);
        long num = 0;
        for (size_t i = 0; i < len; i++) {
            if (name[i] < '0' || name[i] > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (name[i] - '0');
        }
        if (num < 0) {
            char nm[128];
            if (len >= sizeof(nm))
                continue;
            memcpy(nm, name, len);
            nm[len] = 0;
            int k = pcre2_substring_number_from_name(re, (PCRE2_SPTR)nm);
            num = k > 0 ? k : -1;
        }
        if (num < 0 || (uint32_t)num >= groups || ov[2 * num] == PCRE2_UNSET)
            continue;
        size_t a = ov[2 * num], b = ov[2 * num + 1];
        if (n + (b - a) + 1 >= cap)
            return NULL;
        memcpy(out + n, src + a, b - a);
        n += b - a;
    }
    out[n] = 0;
    return out;
}

static struct pql_val label_replace(struct pql_ev *ev, const struct pql_node *call, struct pql_vec v,
                                    const char *dst, const char *repl, const char *src, const char *regex)
{
    struct pql_val r = vec_out(ev, v.n);
    if (!r.vec.s)
        return r;
    if (!label_name_ok(dst)) {
        pql_fail(ev, PROMQL_ERR_EXEC, call->pos, "invalid destination label name in label_replace(): %s", dst);
        return r;
    }
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                                   PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C | PCRE2_UTF, &code,
                                   &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        pql_fail(ev, PROMQL_ERR_EXEC, call->pos, "invalid regular expression in label_replace(): %s", (char *)msg);
        return r;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (md && mc) {
        pcre2_set_match_limit(mc, 100000);
        pcre2_set_depth_limit(mc, 1000);
    }
    for (size_t i = 0; md && mc && i < v.n && !ev->rc; i++) {
        const char *sv = pql_lset_get(v.s[i].ls, src);
        const struct pql_lset *ls = v.s[i].ls;
        if (pcre2_match(re, (PCRE2_SPTR)sv, strlen(sv), 0, 0, md, mc) >= 0) {
            char *val = expand(ev, repl, sv, re, md);
            ls = val ? pql_lset_set(ev, ls, dst, val) : NULL;
            if (!ls)
                pql_fail(ev, PROMQL_ERR_NOMEM, call->pos, "out of memory");
        }
        if (ls)
            r.vec.s[r.vec.n++] = (struct pql_sample){ls, v.s[i].v, v.s[i].t};
    }
    if (!md || !mc)
        pql_fail(ev, PROMQL_ERR_NOMEM, call->pos, "out of memory");
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return r;
}

static struct pql_val label_join(struct pql_ev *ev, const struct pql_node *call, struct pql_vec v,
                                 const struct pql_val *args, size_t nargs)
{
    struct pql_val r = vec_out(ev, v.n);
    const char *dst = args[1].str, *sep = args[2].str;
    if (!r.vec.s)
        return r;
    if (!label_name_ok(dst)) {
        pql_fail(ev, PROMQL_ERR_EXEC, call->pos, "invalid destination label name in label_join(): %s", dst);
        return r;
    }
    for (size_t k = 3; k < nargs; k++)
        if (!label_name_ok(args[k].str)) {
            pql_fail(ev, PROMQL_ERR_EXEC, call->pos, "invalid source label name in label_join(): %s", args[k].str);
            return r;
        }
    for (size_t i = 0; i < v.n; i++) {
        size_t len = 1;
        for (size_t k = 3; k < nargs; k++)
            len += strlen(pql_lset_get(v.s[i].ls, args[k].str)) + strlen(sep);
        char *val = pql_alloc(ev, len);
        if (!val)
            return r;
        val[0] = 0;
        size_t at = 0;
        for (size_t k = 3; k < nargs; k++) {
            const char *part = pql_lset_get(v.s[i].ls, args[k].str);
            if (k > 3) {
                memcpy(val + at, sep, strlen(sep));
                at += strlen(sep);
            }
            memcpy(val + at, part, strlen(part));
            at += strlen(part);
        }
        val[at] = 0;
        const struct pql_lset *ls = pql_lset_set(ev, v.s[i].ls, dst, val);
        if (!ls)
            return r;
        r.vec.s[r.vec.n++] = (struct pql_sample){ls, v.s[i].v, v.s[i].t};
    }
    return r;
}

/* ---- dates ---- */

static double date_part(int id, double secs)
{
    if (!isfinite(secs) || fabs(secs) > 1e15)
        return NAN;
    time_t tt = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return NAN;
    switch (id) {
    case FN_YEAR: return tm.tm_year + 1900;
    case FN_MONTH: return tm.tm_mon + 1;
    case FN_DAY_OF_MONTH: return tm.tm_mday;
    case FN_DAY_OF_WEEK: return tm.tm_wday;
    case FN_DAY_OF_YEAR: return tm.tm_yday + 1;
    case FN_HOUR: return tm.tm_hour;
    case FN_MINUTE: return tm.tm_min;
    case FN_DAYS_IN_MONTH: {
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y = tm.tm_year + 1900;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return days[tm.tm_mon] + (tm.tm_mon == 1 && leap);
    }
    default: return NAN;
    }
}

static double simple(int id, double x, double a, double b)
{
    switch (id) {
    case FN_ABS: return fabs(x);
    case FN_CEIL: return ceil(x);
    case FN_FLOOR: return floor(x);
    case FN_EXP: return exp(x);
    case FN_LN: return log(x);
    case FN_LOG2: return log2(x);
    case FN_LOG10: return log10(x);
    case FN_SQRT: return sqrt(x);
    case FN_SGN: return x > 0 ? 1 : x < 0 ? -1 : x;
    case FN_SIN: return sin(x);
    case FN_COS: return cos(x);
    case FN_TAN: return tan(x);
    case FN_ASIN: return asin(x);
    case FN_ACOS: return acos(x);
    case FN_ATAN: return atan(x);
    case FN_SINH: return sinh(x);
    case FN_COSH: return cosh(x);
    case FN_TANH: return tanh(x);
    case FN_ASINH: return asinh(x);
    case FN_ACOSH: return acosh(x);
    case FN_ATANH: return atanh(x);
    case FN_DEG: return x * 180 / M_PI;
    case FN_RAD: return x * M_PI / 180;
    case FN_CLAMP: return pql_go_max(a, pql_go_min(b, x));
    case FN_CLAMP_MIN: return pql_go_max(a, x);
    case FN_CLAMP_MAX: return pql_go_min(a, x);
    case FN_ROUND: {
        double inv = 1.0 / a;
        return floor(x * inv + 0.5) / inv;
    }
    default: return date_part(id, x);
    }
}

static int cmp_sample_asc(const void *a, const void *b)
{
    double x = ((const struct pql_sample *)a)->v, y = ((const struct pql_sample *)b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x < y ? -1 : x > y;
}

static int cmp_sample_desc(const void *a, const void *b)
{
    double x = ((const struct pql_sample *)a)->v, y = ((const struct pql_sample *)b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x > y ? -1 : x < y;
}

/* Range-vector functions: one value per series of the matrix. */
static struct pql_val matrix_fn(struct pql_ev *ev, const struct pql_node *n, int id, struct pql_mat m, double q,
                                int64_t t)
{
    struct pql_val r = vec_out(ev, m.n);
    const struct pql_node *arg = n->u.call.args[id == FN_QUANTILE_OVER_TIME || id == FN_PREDICT_LINEAR
                                                    ? (id == FN_QUANTILE_OVER_TIME ? 1 : 0)
                                                    : 0];
    int64_t range = 0, offset = 0;
    range_of(arg, &range, &offset);
    for (size_t i = 0; r.vec.s && i < m.n && !ev->rc; i++) {
        const struct pql_mseries *s = &m.s[i];
        double v;
        bool have = true;
        switch (id) {
        case FN_RATE: have = extrapolated_rate(s, t, range, offset, true, true, &v); break;
        case FN_INCREASE: have = extrapolated_rate(s, t, range, offset, true, false, &v); break;
        case FN_DELTA: have = extrapolated_rate(s, t, range, offset, false, false, &v); break;
        case FN_IRATE: have = instant_value(s, true, &v); break;
        case FN_IDELTA: have = instant_value(s, false, &v); break;
        case FN_DERIV: {
            double slope, icpt;
            have = s->n >= 2;
            if (have) {
                linear_regression(s, s->t[0], &slope, &icpt);
                v = slope;
            }
            break;
        }
        case FN_PREDICT_LINEAR: {
            double slope, icpt;
            have = s->n >= 2;
            if (have) {
                linear_regression(s, t, &slope, &icpt);
                v = slope * q + icpt;
            }
            break;
        }
        default: v = over_time(id, s, q, ev); break;
        }
        if (have && !push(ev, &r, s->ls, v, t, id != FN_LAST_OVER_TIME))
            break;
    }
    return r;
}

struct pql_val pql_call(struct pql_ev *ev, const struct pql_node *n, int64_t t)
{
    int id = n->u.call.fn->id;
    struct pql_val args[8] = {0};
    size_t na = n->u.call.n;
    struct pql_val none = {.type = n->type};
    /* arguments past 8 exist only for label_join, all strings */
    for (size_t i = 0; i < na && i < 8; i++)
        args[i] = pql_eval(ev, n->u.call.args[i], t);
    if (ev->rc)
        return none;
    switch (id) {
    case FN_TIME: none.scalar = (double)t / 1000; return none;
    case FN_PI: none.scalar = M_PI; return none;
    case FN_SCALAR: none.scalar = args[0].vec.n == 1 ? args[0].vec.s[0].v : NAN; return none;
    case FN_VECTOR: {
        struct pql_val r = vec_out(ev, 1);
        const struct pql_lset *ls = pql_lset_new(ev, NULL, 0);
        if (r.vec.s && ls)
            r.vec.s[r.vec.n++] = (struct pql_sample){ls, args[0].scalar, t};
        return r;
    }
    case FN_ABSENT:
    case FN_ABSENT_OVER_TIME: {
        struct pql_val r = vec_out(ev, 1);
        size_t have = id == FN_ABSENT ? args[0].vec.n : args[0].mat.n;
        if (!have && r.vec.s) {
            const struct pql_lset *ls = absent_labels(ev, n->u.call.args[0]);
            if (ls)
                r.vec.s[r.vec.n++] = (struct pql_sample){ls, 1, t};
        }
        return r;
    }
    case FN_HISTOGRAM_QUANTILE: return histogram_quantile(ev, args[0].scalar, args[1].vec, t);
    case FN_LABEL_REPLACE:
        return label_replace(ev, n, args[0].vec, args[1].str, args[2].str, args[3].str, args[4].str);
    case FN_LABEL_JOIN: {
        if (na > 8) {
            struct pql_val *all = pql_alloc(ev, na * sizeof(*all));
            if (!all)
                return none;
            for (size_t i = 0; i < na; i++)
                all[i] = i < 8 ? args[i] : pql_eval(ev, n->u.call.args[i], t);
            return label_join(ev, n, args[0].vec, all, na);
        }
        return label_join(ev, n, args[0].vec, args, na);
    }
    case FN_SORT:
    case FN_SORT_DESC: {
        struct pql_val r = args[0];
        qsort(r.vec.s, r.vec.n, sizeof(*r.vec.s), id == FN_SORT ? cmp_sample_asc : cmp_sample_desc);
        return r;
    }
    case FN_TIMESTAMP: {
        struct pql_val r = vec_out(ev, args[0].vec.n);
        bool own = n->u.call.args[0]->kind == PQL_SELECTOR;
        for (size_t i = 0; r.vec.s && i < args[0].vec.n; i++)
            if (!push(ev, &r, args[0].vec.s[i].ls, (double)(own ? args[0].vec.s[i].t : t) / 1000, t, true))
                break;
        return r;
    }
    case FN_RATE: case FN_INCREASE: case FN_DELTA: case FN_IRATE: case FN_IDELTA: case FN_DERIV:
    case FN_AVG_OVER_TIME: case FN_SUM_OVER_TIME: case FN_COUNT_OVER_TIME: case FN_MAX_OVER_TIME:
    case FN_MIN_OVER_TIME: case FN_LAST_OVER_TIME: case FN_PRESENT_OVER_TIME: case FN_STDDEV_OVER_TIME:
    case FN_STDVAR_OVER_TIME: case FN_CHANGES: case FN_RESETS:
        return matrix_fn(ev, n, id, args[0].mat, 0, t);
    case FN_QUANTILE_OVER_TIME: return matrix_fn(ev, n, id, args[1].mat, args[0].scalar, t);
    case FN_PREDICT_LINEAR: return matrix_fn(ev, n, id, args[0].mat, args[1].scalar, t);
    default: break;
    }
    /* instant-vector functions, and the date functions (on time() without an argument) */
    bool date = id == FN_YEAR || id == FN_MONTH || id == FN_DAY_OF_MONTH || id == FN_DAY_OF_WEEK ||
                id == FN_DAY_OF_YEAR || id == FN_DAYS_IN_MONTH || id == FN_HOUR || id == FN_MINUTE;
    if (date && na == 0) {
        struct pql_val r = vec_out(ev, 1);
        const struct pql_lset *ls = pql_lset_new(ev, NULL, 0);
        if (r.vec.s && ls)
            r.vec.s[r.vec.n++] = (struct pql_sample){ls, date_part(id, (double)t / 1000), t};
        return r;
    }
    double a = na > 1 ? args[1].scalar : 1, b = na > 2 ? args[2].scalar : 0;
    struct pql_val r = vec_out(ev, args[0].vec.n);
    if (id == FN_CLAMP && b < a)
        return r;
    for (size_t i = 0; r.vec.s && i < args[0].vec.n; i++)
        if (!push(ev, &r, args[0].vec.s[i].ls, simple(id, args[0].vec.s[i].v, a, b), t, true))
            break;
    if (!ev->rc && pql_vec_has_dups(ev, &r.vec))
        pql_fail(ev, PROMQL_ERR_EXEC, n->pos, "vector cannot contain metrics with the same labelset");
    return r;
}

/* ---- floats as Go writes them ---- */

size_t promql_format_float(double v, char out[PROMQL_FLOAT_MAX])
{
    if (isnan(v))
        return (size_t)snprintf(out, PROMQL_FLOAT_MAX, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, PROMQL_FLOAT_MAX, v > 0 ? "+Inf" : "-Inf");
    /* the shortest %.Ne that reads back, then written without exponent */
    char e[40];
    int prec = 0;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(e, sizeof(e), "%.17e", v);
    /* e: [-]d.ddde[+-]XX */
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    /* value = 0.digits * 10^(exp10 + 1) */
    size_t n = 0;
    if (neg && !(nd == 1 && digits[0] == '0'))
        out[n++] = '-';
    else if (neg)
        out[n++] = '-';
    int point = exp10 + 1;   /* digits before the decimal point */
    if (point <= 0) {
        out[n++] = '0';
        if (!(nd == 1 && digits[0] == '0')) {
            out[n++] = '.';
            for (int i = 0; i < -point; i++)
                out[n++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[n++] = digits[i];
        }
    } else {
        for (int i = 0; i < point; i++)
            out[n++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd) {
            out[n++] = '.';
            for (size_t i = (size_t)point; i < nd; i++)
                out[n++] = digits[i];
        }
    }
    out[n] = 0;
    return n;
}
