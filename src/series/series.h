/*
 * series/series: the in-memory time series store the alert rules and the
 * Prometheus query API read. Every check value (probe_success,
 * probe_duration_seconds, the values a check type declares) and every
 * series a prometheus check scrapes is a series: a label set (its metric
 * name is the label "__name__") and samples (ms timestamp, double) in time
 * order, held in delta-of-delta / XOR compressed chunks for a window
 * (default 6h). Memory is bounded by max_series and max_memory: an append
 * that would pass either is refused and counted, never grown past.
 *
 * Prometheus' staleness: a series that leaves a scrape (or whose check
 * stops, fails or is removed) gets a stale marker, the NaN with the bits
 * SERIES_STALE_BITS, at that time; queries treat a series as absent from
 * its stale marker on. Series with explicit timestamps in the scrape get
 * none, as in Prometheus.
 *
 * Loop thread only. Pointers returned (labels) stay valid until the next
 * append or gc: a query evaluates between two of them.
 */
#ifndef SERIES_SERIES_H
#define SERIES_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIES_STALE_BITS 0x7ff0000000000002ULL
#define SERIES_LABELS_MAX 64            /* labels of one series, __name__ included */
#define SERIES_DEFAULT_WINDOW_MS (6 * 3600 * 1000LL)
#define SERIES_DEFAULT_MAX_SERIES 1000000u
#define SERIES_DEFAULT_MAX_MEMORY (1024u * 1024 * 1024)

/* The stale marker, and the test for it (an ordinary NaN is not stale). */
double series_stale_nan(void);
bool series_is_stale(double v);

struct series_label {
    const char *name, *value;
};

struct series_limits {
    int64_t window_ms;        /* samples older than now - window are dropped by gc */
    size_t max_series;
    size_t max_memory;        /* bytes of chunks, label sets and index together */
};

enum series_match_op { SERIES_MATCH_EQ, SERIES_MATCH_NE, SERIES_MATCH_RE, SERIES_MATCH_NRE };

/* A label matcher as PromQL writes it; a missing label matches as "".
 * Regexes are PCRE2, anchored at both ends as Prometheus anchors its own. */
struct series_matcher {
    enum series_match_op op;
    char *name, *value;        /* owned */
    void *re;                  /* pcre2_code *, for RE and NRE */
};

/* 0, or -1 with a reason in why (a bad regex, out of memory). */
int series_matcher_init(struct series_matcher *m, enum series_match_op op, const char *name, const char *value,
                        char *why, size_t why_len);
void series_matcher_free(struct series_matcher *m);
bool series_matcher_matches(const struct series_matcher *m, const char *value);
/* The matchers of a configuration's match / match_re (conf_matcher: = or
 * =~) as an array the caller frees with series_matchers_free: 0 (NULL for
 * none), BASE_ERR_NOMEM or BASE_ERR_INVALID (a regex that does not compile). */
struct conf_matcher;
int series_matchers_from_conf(const struct conf_matcher *cm, size_t n, struct series_matcher **out, size_t *n_out);
void series_matchers_free(struct series_matcher *m, size_t n);

enum series_append_rc {
    SERIES_OK = 0,
    SERIES_DUPLICATE = 1,      /* same timestamp and same value bits as the last sample: ignored */
    SERIES_OUT_OF_ORDER = 2,   /* older than the last sample, or same time with another value */
    SERIES_TOO_OLD = 3,        /* before now - window */
    SERIES_LIMIT = 4,          /* a new series past max_series, or memory past max_memory */
    SERIES_BAD_LABELS = 5,     /* no __name__, unsorted or repeated names, too many labels */
    SERIES_NOMEM = 6,
};

struct series_db;
typedef uint32_t series_ref;

struct series_db *series_db_new(const struct series_limits *lim);
void series_db_destroy(struct series_db *db);
/* The store's notion of now (for the window); tests set it, the loop
 * passes its clock. */
void series_db_set_now(struct series_db *db, int64_t now_ms);

/* Appends one sample. labels: n of them sorted by name, names distinct,
 * "__name__" among them; copied (interned) when the series is new. */
enum series_append_rc series_db_append(struct series_db *db, const struct series_label *labels, size_t n,
                                       int64_t t_ms, double v);
/* Adds samples t[0..k) / v[0..k) (in time order) to a series that may
 * already hold newer ones (the history read back at a restart, while new
 * samples arrive): the series' samples are merged with them, a held
 * sample winning over one at the same time. Samples outside the window
 * or past the limits are left out. Returns how many were added. */
size_t series_db_backfill(struct series_db *db, const struct series_label *labels, size_t n, const int64_t *t,
                          const double *v, size_t k);
/* Called after every sample the store accepts from series_db_append (not
 * from series_db_backfill: history read back is not new), with the series'
 * ref: remote_write's feed. One hook; NULL removes it. */
typedef void (*series_append_hook)(void *data, series_ref ref, int64_t t_ms, double v);
void series_db_set_hook(struct series_db *db, series_append_hook fn, void *data);
/* now - window: samples before it may be gone, and with them their series. */
int64_t series_db_oldest(const struct series_db *db);

/* Drops samples (whole chunks) older than now - window, and series left
 * without samples. */
void series_db_gc(struct series_db *db);

/* The series that satisfy every matcher and have a sample in
 * [mint, maxt]; *out is allocated (caller frees with base free), sorted by
 * ref. 0 or BASE_ERR_NOMEM. */
int series_db_select(struct series_db *db, const struct series_matcher *ms, size_t n_ms, int64_t mint,
                     int64_t maxt, series_ref **out, size_t *n_out);
/* The labels of a series, sorted by name (borrowed, see above); count. */
size_t series_db_labels(const struct series_db *db, series_ref ref, const struct series_label **labels);

/* Samples of one series with mint <= t <= maxt, in time order, stale
 * markers included. The iterator borrows the store until the next append
 * or gc. */
struct series_iter {
    const struct series_db *db;
    series_ref ref;
    int64_t mint, maxt;
    uint32_t chunk;            /* implementation's cursor */
    uint64_t state[8];
};
void series_iter_init(struct series_iter *it, const struct series_db *db, series_ref ref, int64_t mint, int64_t maxt);
bool series_iter_next(struct series_iter *it, int64_t *t_ms, double *v);

/* Distinct label names (sorted) / values of one label (sorted) over the
 * series that match (every series when n_ms == 0) in [mint, maxt]; the
 * strings are borrowed. 0 or BASE_ERR_NOMEM. */
int series_db_label_names(struct series_db *db, const struct series_matcher *ms, size_t n_ms, int64_t mint,
                          int64_t maxt, const char ***out, size_t *n_out);
int series_db_label_values(struct series_db *db, const char *name, const struct series_matcher *ms, size_t n_ms,
                           int64_t mint, int64_t maxt, const char ***out, size_t *n_out);

struct series_stats {
    size_t series, chunks;
    uint64_t samples;          /* held now */
    size_t chunk_bytes;        /* compressed sample data */
    size_t memory;             /* everything the store holds, as max_memory counts it */
    uint64_t appended, duplicates, out_of_order, too_old, refused_limit;
};
void series_db_stats(const struct series_db *db, struct series_stats *st);

#endif
