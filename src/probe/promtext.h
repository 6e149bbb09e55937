/*
 * probe/promtext: a reader of the Prometheus text exposition format 0.0.4
 * (what every client library serves on /metrics) and the cheap part of
 * OpenMetrics 1.0 (`# EOF`, exemplars after ` # ` skipped, `_created`,
 * `# UNIT`). Hand-written: the format is a few lines of grammar and no
 * Debian package parses it in C. It reads a whole body and calls back once
 * per sample; it keeps no state between bodies and allocates nothing (label
 * values are unescaped into the caller's sample struct). Like Prometheus it
 * refuses a body with any malformed line, naming the line and column.
 *
 * Limits (a scrape target is untrusted): PROBE_PROMTEXT_LABELS_MAX labels
 * per sample, PROBE_PROMTEXT_LABEL_VALUE_MAX bytes per label value after
 * unescaping, PROBE_PROMTEXT_LINE_MAX bytes per line. A body over a limit
 * is refused like a malformed one.
 */
#ifndef PROBE_PROMTEXT_H
#define PROBE_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_PROMTEXT_LABELS_MAX 64
#define PROBE_PROMTEXT_LABEL_VALUE_MAX 4096
#define PROBE_PROMTEXT_NAME_MAX 256          /* metric and label names */
#define PROBE_PROMTEXT_LINE_MAX (64 * 1024)

enum probe_promtext_type {
    PROBE_PROMTEXT_UNTYPED = 0,
    PROBE_PROMTEXT_COUNTER,
    PROBE_PROMTEXT_GAUGE,
    PROBE_PROMTEXT_HISTOGRAM,
    PROBE_PROMTEXT_SUMMARY,
};

struct probe_promtext_label {
    char name[PROBE_PROMTEXT_NAME_MAX];
    char value[PROBE_PROMTEXT_LABEL_VALUE_MAX];
    size_t value_len;                    /* unescaped; may hold NUL-free UTF-8 */
};

/* One sample; valid for the callback only. */
struct probe_promtext_sample {
    char name[PROBE_PROMTEXT_NAME_MAX];
    enum probe_promtext_type type;       /* of its family (# TYPE), untyped without one */
    size_t n_labels;
    struct probe_promtext_label labels[PROBE_PROMTEXT_LABELS_MAX];
    double value;                        /* may be NaN or +-Inf */
    bool has_timestamp;
    int64_t timestamp_ms;
};

struct probe_promtext_error {
    size_t line, col;                    /* 1-based */
    char message[160];
};

/* Returns 0 to go on, anything else to stop the read (returned as is). */
typedef int (*probe_promtext_sample_cb)(void *data, const struct probe_promtext_sample *s);

/* Reads text[0..len): 0 when every line was read (cb called per sample),
 * -1 on the first malformed line (*err says where and why), or what cb
 * returned to stop. `scratch` is the caller's (it is large: ~270 KiB).
 * `openmetrics`: the page is OpenMetrics (its Content-Type says so), whose
 * timestamps are seconds; in 0.0.4 they are integer milliseconds. */
int probe_promtext_parse(const char *text, size_t len, bool openmetrics, struct probe_promtext_sample *scratch,
                         probe_promtext_sample_cb cb, void *data, struct probe_promtext_error *err);

/* "counter", "gauge", ... */
const char *probe_promtext_type_name(enum probe_promtext_type t);

#endif
