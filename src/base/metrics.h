/*
 * base/metrics: the pieces of Prometheus text exposition format 0.0.4 that
 * every module needs: fixed-bucket histograms and writers for HELP/TYPE
 * headers, samples with escaped label values, and histograms. Each module
 * keeps its own counters; the /metrics handler writes them with these.
 */
#ifndef BASE_METRICS_H
#define BASE_METRICS_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define BASE_HISTOGRAM_MAX_BUCKETS 16

struct base_histogram {
    const double *bounds;   /* upper bounds, ascending, borrowed (static table) */
    size_t n_bounds;        /* <= BASE_HISTOGRAM_MAX_BUCKETS */
    uint64_t counts[BASE_HISTOGRAM_MAX_BUCKETS + 1]; /* last = +Inf; not cumulative */
    uint64_t count;
    double sum;
};

/* Latency buckets in seconds, 1 ms .. 10 s. */
extern const double base_metrics_latency_bounds[];
extern const size_t base_metrics_latency_n;

void base_histogram_init(struct base_histogram *h, const double *bounds, size_t n);
void base_histogram_observe(struct base_histogram *h, double v);
/* Estimated quantile q (0..1) by linear interpolation inside the bucket. */
double base_histogram_quantile(const struct base_histogram *h, double q);

/* "# HELP name help\n# TYPE name type\n" */
int base_metrics_header(struct base_buf *b, const char *name, const char *type, const char *help) WARN_UNUSED;
/* name{labels} value\n — labels is a NULL-terminated list of key, value
 * strings (values escaped here), or NULL. */
int base_metrics_sample(struct base_buf *b, const char *name, const char *const *labels, double value) WARN_UNUSED;
/* name_bucket{..,le=".."}, name_sum, name_count lines (header not included). */
int base_metrics_histogram(struct base_buf *b, const char *name, const char *const *labels,
                           const struct base_histogram *h) WARN_UNUSED;

#endif
