/*
 * base/metrics: histogram arithmetic and Prometheus text writers.
 */
#include "base/metrics.h"

#include "base/num.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const double base_metrics_latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,   0.25,   0.5,   1,    2.5,   5, 10};
const size_t base_metrics_latency_n = sizeof(base_metrics_latency_bounds) / sizeof(double);

void base_histogram_init(struct base_histogram *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n_bounds = n > BASE_HISTOGRAM_MAX_BUCKETS ? BASE_HISTOGRAM_MAX_BUCKETS : n;
}

void base_histogram_observe(struct base_histogram *h, double v)
{
    size_t i = 0;
    while (i < h->n_bounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

double base_histogram_quantile(const struct base_histogram *h, double q)
{
    if (!h->count)
        return 0;
    double rank = q * (double)h->count, seen = 0;
    for (size_t i = 0; i <= h->n_bounds; i++) {
        if (seen + (double)h->counts[i] >= rank && h->counts[i]) {
            if (i == h->n_bounds)
                return h->n_bounds ? h->bounds[h->n_bounds - 1] : 0;
            double lo = i ? h->bounds[i - 1] : 0, hi = h->bounds[i];
            return lo + (hi - lo) * (rank - seen) / (double)h->counts[i];
        }
        seen += (double)h->counts[i];
    }
    return h->n_bounds ? h->bounds[h->n_bounds - 1] : 0;
}

int base_metrics_header(struct base_buf *b, const char *name, const char *type, const char *help)
{
    return base_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int append_labels(struct base_buf *b, const char *const *labels, const char *extra_k,
                         const char *extra_v)
{
    int rc = 0, first = 1;
    if ((!labels || !labels[0]) && !extra_k)
        return 0;
    rc |= base_buf_append(b, "{", 1);
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        rc |= base_buf_appendf(b, "%s%s=\"", first ? "" : ",", labels[i]);
        for (const char *p = labels[i + 1]; *p && !rc; p++) {
            if (*p == '\\' || *p == '"')
                rc |= base_buf_appendf(b, "\\%c", *p);
            else if (*p == '\n')
                rc |= base_buf_append(b, "\\n", 2);
            else
                rc |= base_buf_append(b, p, 1);
        }
        rc |= base_buf_append(b, "\"", 1);
        first = 0;
    }
    if (extra_k)
        rc |= base_buf_appendf(b, "%s%s=\"%s\"", first ? "" : ",", extra_k, extra_v);
    rc |= base_buf_append(b, "}", 1);
    return rc ? BASE_ERR_TOO_BIG : 0;
}

static int append_value(struct base_buf *b, double v)
{
    char num[BASE_NUM_MAX + 2];
    num[0] = ' ';
    size_t n = base_num_format(v, num + 1);
    num[n + 1] = '\n';
    return base_buf_append(b, num, n + 2);
}

int base_metrics_sample(struct base_buf *b, const char *name, const char *const *labels, double value)
{
    int rc = base_buf_append_str(b, name);
    if (!rc)
        rc = append_labels(b, labels, NULL, NULL);
    if (!rc)
        rc = append_value(b, value);
    return rc;
}

int base_metrics_histogram(struct base_buf *b, const char *name, const char *const *labels,
                           const struct base_histogram *h)
{
    int rc = 0;
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i <= h->n_bounds && !rc; i++) {
        cum += h->counts[i];
        if (i < h->n_bounds)
            snprintf(le, sizeof(le), "%g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        rc |= base_buf_appendf(b, "%s_bucket", name);
        rc |= append_labels(b, labels, "le", le);
        rc |= append_value(b, (double)cum);
    }
    rc |= base_buf_appendf(b, "%s_sum", name);
    rc |= append_labels(b, labels, NULL, NULL);
    rc |= append_value(b, h->sum);
    rc |= base_buf_appendf(b, "%s_count", name);
    rc |= append_labels(b, labels, NULL, NULL);
    rc |= append_value(b, (double)h->count);
    return rc ? BASE_ERR_TOO_BIG : 0;
}
