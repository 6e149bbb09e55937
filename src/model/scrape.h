/*
 * model/scrape: the series one scrape of a prometheus check read, as the
 * probe hands them to whoever keeps series (the series store of the alert
 * rules) through the event bus (EVENT_SERIES). A batch owns one arena for
 * every name, label and value; it is immutable once the probe has built it
 * and lives for the length of the event. Labels of a series are sorted by
 * name, so two series with the same name and labels compare equal as
 * sequences.
 */
#ifndef MODEL_SCRAPE_H
#define MODEL_SCRAPE_H

#include "base/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scrape_type {
    SCRAPE_UNTYPED = 0,
    SCRAPE_COUNTER,
    SCRAPE_GAUGE,
    SCRAPE_HISTOGRAM,
    SCRAPE_SUMMARY,
};

struct scrape_label {
    const char *name, *value;
};

struct scrape_series {
    const char *name;
    const struct scrape_label *labels;   /* sorted by name; n_labels of them */
    uint32_t n_labels;
    enum scrape_type type;               /* of its family (# TYPE) */
    double value;                        /* may be NaN or +-Inf */
    int64_t ts_ms;                       /* the exposed timestamp, else the scrape's start */
    bool ts_explicit;                    /* the page gave the timestamp (no staleness marker then) */
};

struct scrape_batch {
    int64_t ts_ms;                       /* when the scrape started (unix ms) */
    size_t n, cap;
    struct scrape_series *series;
    struct base_arena arena;
};

/* An empty batch of a scrape started at ts_ms; NULL on OOM. */
struct scrape_batch *scrape_batch_new(int64_t ts_ms);
/* Appends a series (everything copied; labels given in any order, names
 * distinct): 0 or BASE_ERR_NOMEM. ts_ms < 0: the batch's time. */
int scrape_batch_add(struct scrape_batch *b, const char *name, const struct scrape_label *labels, size_t n_labels,
                     enum scrape_type type, double value, int64_t ts_ms);
void scrape_batch_destroy(struct scrape_batch *b);

#endif
