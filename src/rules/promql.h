/*
 * rules/promql: the PromQL subset opshub evaluates, with Prometheus 2.x
 * semantics (lookback 5m, closed range boundaries, staleness markers,
 * counter resets, extrapolated rate): a parser from text to an expression
 * tree that names the place of every error, and an evaluator over the
 * series store (series/series.h) at one instant or over a range of steps.
 * What is not supported is refused by the parser with the construct's
 * name, never evaluated to a wrong answer. Loop thread only: evaluation
 * reads the store between two appends.
 */
#ifndef RULES_PROMQL_H
#define RULES_PROMQL_H

#include "base/arena.h"
#include "series/series.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROMQL_TEXT_MAX (64u * 1024)        /* bytes of one expression */
#define PROMQL_DEPTH_MAX 128                /* nesting of the tree */
#define PROMQL_MSG_MAX 320

enum promql_type { PROMQL_SCALAR, PROMQL_VECTOR, PROMQL_MATRIX, PROMQL_STRING };

/* Where and why: pos is the byte offset in the text (0-based). */
struct promql_error {
    size_t pos;
    char msg[PROMQL_MSG_MAX];
};

struct promql_expr;

/* Parses text (NUL-terminated); NULL with err filled. */
struct promql_expr *promql_parse(const char *text, struct promql_error *err);
void promql_expr_free(struct promql_expr *e);
enum promql_type promql_expr_type(const struct promql_expr *e);
const char *promql_type_name(enum promql_type t);
/* The matchers of an expression that is only an instant vector selector
 * (the Prometheus API's match[]), else NULL. Borrowed from e. */
const struct series_matcher *promql_expr_selector(const struct promql_expr *e, size_t *n);
/* The range of an expression that is only a range selector, else 0. */
int64_t promql_expr_range(const struct promql_expr *e);

/* How far before its evaluation times an expression reads (ranges,
 * offsets, subqueries and the lookback of instant selectors). */
int64_t promql_expr_reach(const struct promql_expr *e, int64_t lookback_ms);

struct promql_opts {
    int64_t lookback_ms;       /* 5m */
    int64_t default_step_ms;   /* subqueries without a step: 1m */
    uint64_t max_samples;      /* samples loaded or produced by one evaluation: 50,000,000 */
    /* Older samples (the rollups, for what left the window), or NULL: a
     * series of the archive adds its samples from before the first one db
     * holds of the same labels; one db does not have is added whole. */
    struct series_db *archive;
};
void promql_opts_default(struct promql_opts *o);

/* One series of a result: a vector's has one point (at the evaluation
 * time), a matrix's its points in time order. Labels sorted by name. */
struct promql_series {
    const struct series_label *labels;
    size_t n_labels;
    const int64_t *t;
    const double *v;
    size_t n;
};

struct promql_result {
    enum promql_type type;
    double scalar;             /* PROMQL_SCALAR */
    const char *string;        /* PROMQL_STRING */
    int64_t t;                 /* the evaluation time (instant queries) */
    struct promql_series *series;
    size_t n;
    struct base_arena arena;   /* owns everything above */
};

enum promql_eval_rc {
    PROMQL_OK = 0,
    PROMQL_ERR_EXEC = -1,      /* an execution error (many-to-many matching, ...): err says which */
    PROMQL_ERR_LIMIT = -2,     /* max_samples passed */
    PROMQL_ERR_NOMEM = -3,
};

/* Evaluates e at t (unix ms). A range query's points of one series are in
 * its promql_series; a range query of a scalar gives one series with no
 * label. result is always initialised; free it with promql_result_free. */
int promql_eval_instant(struct series_db *db, const struct promql_expr *e, int64_t t,
                        const struct promql_opts *o, struct promql_result *result, struct promql_error *err);
int promql_eval_range(struct series_db *db, const struct promql_expr *e, int64_t start, int64_t end,
                      int64_t step, const struct promql_opts *o, struct promql_result *result,
                      struct promql_error *err);
void promql_result_free(struct promql_result *r);

/* A float as Prometheus writes it (Go's strconv 'f', -1): the shortest
 * text that reads back, no exponent; "NaN", "+Inf", "-Inf". */
#define PROMQL_FLOAT_MAX 352
size_t promql_format_float(double v, char out[PROMQL_FLOAT_MAX]);

#endif
