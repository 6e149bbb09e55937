/*
 * rules/promql_int.h: the expression tree the parser builds and the
 * evaluator walks, shared by the files of rules/promql only.
 */
#ifndef RULES_PROMQL_INT_H
#define RULES_PROMQL_INT_H

#include "rules/promql.h"

enum pql_kind {
    PQL_NUMBER,
    PQL_STRING,
    PQL_SELECTOR,      /* instant vector selector */
    PQL_MATRIX,        /* range vector selector: sel + range */
    PQL_SUBQUERY,
    PQL_UNARY,         /* minus */
    PQL_BINARY,
    PQL_AGG,
    PQL_CALL,
    PQL_PAREN,
};

enum pql_op {
    /* binary, lowest precedence first */
    PQL_OP_OR,
    PQL_OP_AND,
    PQL_OP_UNLESS,
    PQL_OP_EQ,
    PQL_OP_NE,
    PQL_OP_GT,
    PQL_OP_LT,
    PQL_OP_GE,
    PQL_OP_LE,
    PQL_OP_ADD,
    PQL_OP_SUB,
    PQL_OP_MUL,
    PQL_OP_DIV,
    PQL_OP_MOD,
    PQL_OP_ATAN2,
    PQL_OP_POW,
};

enum pql_agg {
    PQL_AGG_SUM,
    PQL_AGG_AVG,
    PQL_AGG_MIN,
    PQL_AGG_MAX,
    PQL_AGG_COUNT,
    PQL_AGG_GROUP,
    PQL_AGG_STDDEV,
    PQL_AGG_STDVAR,
    PQL_AGG_TOPK,
    PQL_AGG_BOTTOMK,
    PQL_AGG_QUANTILE,
    PQL_AGG_COUNT_VALUES,
};

enum pql_card { PQL_ONE_TO_ONE, PQL_MANY_TO_ONE, PQL_ONE_TO_MANY, PQL_MANY_TO_MANY };

struct pql_names {
    char **v;
    size_t n;
};

struct pql_node;
struct pql_func;


struct pql_func {
    const char *name;
    enum promql_type args[4];  /* argument types */
    int min_args, max_args;    /* max_args -1: variadic (label_join) */
    enum promql_type ret;
    int id;                    /* the evaluator's switch */
};

const struct pql_func *pql_func_lookup(const char *name);

struct pql_node {
    enum pql_kind kind;
    enum promql_type type;
    size_t pos;
    union {
        double num;
        char *str;
        struct {
            char *name;        /* metric name written before {}, or NULL */
            struct series_matcher *ms;
            size_t n_ms;
            int64_t offset_ms;
            int64_t range_ms;  /* PQL_MATRIX */
            int slot;          /* the evaluator's preloaded data */
        } sel;
        struct {
            struct pql_node *expr;
            int64_t range_ms, step_ms, offset_ms;
        } sub;
        struct {
            struct pql_node *expr;
        } unary;
        struct {
            enum pql_op op;
            struct pql_node *lhs, *rhs;
            bool return_bool;
            bool has_matching;  /* on/ignoring given */
            bool on;
            enum pql_card card;
            struct pql_names labels;   /* on / ignoring */
            struct pql_names include;  /* group_left / group_right */
        } bin;
        struct {
            enum pql_agg op;
            struct pql_node *expr, *param;
            bool without;
            struct pql_names grouping;
        } agg;
        struct {
            const struct pql_func *fn;
            struct pql_node **args;
            size_t n;
        } call;
        struct {
            struct pql_node *expr;
        } paren;
    } u;
};

struct promql_expr {
    struct pql_node *root;
    int n_slots;               /* selectors, numbered in tree order */
};

/* Function ids for the evaluator. */
enum pql_fn_id {
    FN_ABS, FN_ABSENT, FN_ABSENT_OVER_TIME, FN_AVG_OVER_TIME, FN_CEIL, FN_CHANGES, FN_CLAMP, FN_CLAMP_MAX,
    FN_CLAMP_MIN, FN_COUNT_OVER_TIME, FN_DAYS_IN_MONTH, FN_DAY_OF_MONTH, FN_DAY_OF_WEEK, FN_DAY_OF_YEAR,
    FN_DELTA, FN_DERIV, FN_EXP, FN_FLOOR, FN_HISTOGRAM_QUANTILE, FN_HOLT_WINTERS, FN_HOUR, FN_IDELTA,
    FN_INCREASE, FN_IRATE, FN_LABEL_REPLACE, FN_LABEL_JOIN, FN_LAST_OVER_TIME, FN_LN, FN_LOG10, FN_LOG2,
    FN_MAX_OVER_TIME, FN_MIN_OVER_TIME, FN_MINUTE, FN_MONTH, FN_PREDICT_LINEAR, FN_PRESENT_OVER_TIME,
    FN_QUANTILE_OVER_TIME, FN_RATE, FN_RESETS, FN_ROUND, FN_SCALAR, FN_SGN, FN_SORT, FN_SORT_DESC, FN_SQRT,
    FN_STDDEV_OVER_TIME, FN_STDVAR_OVER_TIME, FN_SUM_OVER_TIME, FN_TIME, FN_TIMESTAMP, FN_VECTOR, FN_YEAR,
    FN_SIN, FN_COS, FN_TAN, FN_ASIN, FN_ACOS, FN_ATAN, FN_SINH, FN_COSH, FN_TANH, FN_ASINH, FN_ACOSH,
    FN_ATANH, FN_DEG, FN_RAD, FN_PI,
};

/* ---- the evaluator's values (rules/promql_eval.c, promql_func.c) ---- */

/* A label set: sorted by name, with its hash (FNV-1a over names and
 * values). Strings are borrowed from the store or the evaluation's arena. */
struct pql_lset {
    uint64_t hash;
    uint32_t n;
    struct series_label l[];
};

struct pql_sample {
    const struct pql_lset *ls;
    double v;
    int64_t t;                 /* the sample's own time (timestamp()) */
};

struct pql_vec {
    struct pql_sample *s;
    size_t n;
};

struct pql_mseries {
    const struct pql_lset *ls;
    const int64_t *t;
    const double *v;
    size_t n;
};

struct pql_mat {
    struct pql_mseries *s;
    size_t n;
};

struct pql_val {
    enum promql_type type;
    double scalar;
    const char *str;
    struct pql_vec vec;
    struct pql_mat mat;
};

/* One selector's samples, loaded once for the whole evaluation. */
struct pql_slot {
    struct pql_mseries *s;
    size_t n;
    bool loaded;
};

struct pql_ev {
    struct series_db *db;
    const struct promql_opts *o;
    struct pql_slot *slots;
    struct base_arena keep;    /* lives for the evaluation: slots, label sets of loaded series */
    struct base_arena *step;   /* the current step's scratch */
    int64_t start, end;        /* evaluation times of the root */
    uint64_t samples;
    struct promql_error *err;
    int rc;                    /* first error (enum promql_eval_rc) */
};

/* An error: sets ev->rc and the message once; returns an empty value. */
void pql_fail(struct pql_ev *ev, int rc, size_t pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void *pql_alloc(struct pql_ev *ev, size_t n);

const struct pql_lset *pql_lset_new(struct pql_ev *ev, const struct series_label *l, size_t n);
const char *pql_lset_get(const struct pql_lset *ls, const char *name);
const struct pql_lset *pql_lset_drop_name(struct pql_ev *ev, const struct pql_lset *ls);
/* ls with name set to value ("" deletes it). */
const struct pql_lset *pql_lset_set(struct pql_ev *ev, const struct pql_lset *ls, const char *name,
                                    const char *value);
bool pql_lset_equal(const struct pql_lset *a, const struct pql_lset *b);
/* A label set of n labels, uninitialised, in arena a. */
struct pql_lset *pql_lset_alloc(struct base_arena *a, size_t n);
uint64_t pql_lset_hash(const struct series_label *l, size_t n);
bool pql_names_has(const struct pql_names *ns, const char *name);
/* The matching signature: a hash of the on() labels, or of all but the
 * ignoring() labels and __name__. */
uint64_t pql_signature(const struct pql_lset *ls, bool on, const struct pql_names *ns);
/* ls with only (keep) the listed names or without them; drop_name also
 * drops __name__. ls itself when nothing changes. */
const struct pql_lset *pql_lset_filter(struct pql_ev *ev, const struct pql_lset *ls, const struct pql_names *ns,
                                       bool keep, bool drop_name);
/* Counts produced samples against max_samples; false (and the error set)
 * past it. */
bool pql_count_samples(struct pql_ev *ev, uint64_t n, size_t pos);

/* A hash table from 64-bit keys to indexes, in the step's arena. */
struct pql_htab {
    uint64_t *keys;
    int32_t *vals;             /* -1: empty */
    size_t mask;
};
bool pql_htab_init(struct pql_ev *ev, struct pql_htab *h, size_t n);
/* The slot for key: its value is -1 when the key is new. */
int32_t *pql_htab_slot(struct pql_htab *h, uint64_t key);
/* Aggregations (promql_agg.c). */
struct pql_val pql_eval_agg(struct pql_ev *ev, const struct pql_node *n, int64_t t);
/* True when two samples of v have equal label sets. */
bool pql_vec_has_dups(struct pql_ev *ev, const struct pql_vec *v);

struct pql_val pql_eval(struct pql_ev *ev, const struct pql_node *n, int64_t t);
/* Function calls (promql_func.c). */
struct pql_val pql_call(struct pql_ev *ev, const struct pql_node *n, int64_t t);
/* Prometheus' quantile over sorted-in-place values (aggregation and _over_time). */
double pql_quantile(double q, double *v, size_t n);
/* Go's math.Max / math.Min: NaN wins. */
double pql_go_max(double a, double b);
double pql_go_min(double a, double b);

#endif
