/*
 * Unit tests for rules/promql: the parser's types, precedence and every
 * refusal with its message and position; the evaluator's answers worked
 * out by hand from Prometheus' definitions (extrapolated rate with a
 * counter reset, lookback, stale markers, offset, matching with
 * group_left, many-to-many refused, aggregations, histogram_quantile,
 * label_replace, subqueries, range queries); floats written as Go writes
 * them. The differential test against a real Prometheus is
 * tests/integration/test_promql_diff.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rules/promql.h"
#include "series/series.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define T0 1700000000000LL
#define S(x) ((int64_t)(x) * 1000)

/* ---- parsing ---- */

static void parses_as(const char *text, enum promql_type type)
{
    struct promql_error err;
    struct promql_expr *e = promql_parse(text, &err);
    if (!e)
        fail_msg("%s: %zu: %s", text, err.pos, err.msg);
    if (promql_expr_type(e) != type)
        fail_msg("%s: type %s, expected %s", text, promql_type_name(promql_expr_type(e)), promql_type_name(type));
    promql_expr_free(e);
}

static void refused(const char *text, const char *msg, size_t pos)
{
    struct promql_error err;
    struct promql_expr *e = promql_parse(text, &err);
    if (e)
        fail_msg("%s: parsed", text);
    if (!strstr(err.msg, msg))
        fail_msg("%s: message '%s', expected '%s'", text, err.msg, msg);
    if (pos != (size_t)-1 && err.pos != pos)
        fail_msg("%s: position %zu, expected %zu (%s)", text, err.pos, pos, err.msg);
}

static void test_parse_types(void **state)
{
    parses_as("1", PROMQL_SCALAR);
    parses_as("-1.5e3", PROMQL_SCALAR);
    parses_as("0x1F + Inf - nan", PROMQL_SCALAR);
    parses_as("\"a\\nb\"", PROMQL_STRING);
    parses_as("`raw\\n`", PROMQL_STRING);
    parses_as("up", PROMQL_VECTOR);
    parses_as("up{job=\"a\", code=~'5..', x!=\"\", y!~\"z\",}", PROMQL_VECTOR);
    parses_as("{__name__=~\"job:.*\"}", PROMQL_VECTOR);
    parses_as("job:rate5m:sum offset -5m", PROMQL_VECTOR);
    parses_as("x[5m] offset 1h30m", PROMQL_MATRIX);
    parses_as("rate(x[5m])[30m:1m]", PROMQL_MATRIX);
    parses_as("max_over_time(rate(x[5m])[30m:])", PROMQL_VECTOR);
    parses_as("sum by (job) (rate(x[5m]))", PROMQL_VECTOR);
    parses_as("sum(rate(x[5m])) without (instance, le)", PROMQL_VECTOR);
    parses_as("topk(3, x)", PROMQL_VECTOR);
    parses_as("count_values(\"v\", x)", PROMQL_VECTOR);
    parses_as("quantile by (a) (0.9, x)", PROMQL_VECTOR);
    parses_as("a * on(job) group_left(version) b", PROMQL_VECTOR);
    parses_as("a / ignoring(code) group_right b", PROMQL_VECTOR);
    parses_as("a > bool 1", PROMQL_VECTOR);
    parses_as("1 > bool 2", PROMQL_SCALAR);
    parses_as("a and on() b or c unless d", PROMQL_VECTOR);
    parses_as("scalar(x) * 2 ^ 3 ^ 2", PROMQL_SCALAR);
    parses_as("time() - timestamp(x)", PROMQL_VECTOR);
    parses_as("label_join(x, \"d\", \"-\", \"a\", \"b\", \"c\", \"e\", \"f\", \"g\", \"h\", \"i\")", PROMQL_VECTOR);
    parses_as("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))", PROMQL_VECTOR);
    parses_as("absent(nope{job=\"x\"}) # a comment", PROMQL_VECTOR);
    parses_as("sum by (on, by, bool) (x)", PROMQL_VECTOR);
    parses_as("day_of_week()", PROMQL_VECTOR);
    parses_as("round(x, 0.5)", PROMQL_VECTOR);
}

static void test_parse_refusals(void **state)
{
    refused("rate(x[5m]", "unexpected end of input", 10);
    refused("sum by (a) (", "unexpected end of input", 12);
    refused("foo{a=~\"(\"}", "missing closing parenthesis", 4);
    refused("nofunc(x)", "unknown function with name \"nofunc\"", 0);
    refused("holt_winters(x[5m], 0.5, 0.5)", "not supported by opshub", 0);
    refused("1 > 2", "comparisons between scalars must use BOOL modifier", 2);
    refused("rate(x)", "expected type range vector in call to function \"rate\", got instant vector", 5);
    refused("x[5m] + 1", "binary expression must contain only scalar and instant vector types", 6);
    refused("{}", "at least one non-empty matcher", 0);
    refused("{a=~\".*\"}", "at least one non-empty matcher", 0);
    refused("x offset 5m offset 1m", "offset may not be set multiple times", 12);
    refused("x @ 123", "the @ modifier is not supported", 2);
    refused("a and 1", "set operator \"and\" not allowed in binary scalar expression", 2);
    refused("a + bool b", "bool modifier can only be used on comparison operators", 4);
    refused("a + on(x) group_left(x) b", "must not occur in ON and GROUP clause at once", 10);
    refused("a and on(x) group_left b", "no grouping allowed for \"and\" operation", 12);
    refused("\"open", "unterminated quoted string", 0);
    refused("1h", "unexpected duration", 0);
    refused("x[1m1h]", "bad duration", 2);
    refused("x[5]", "unexpected number \"5\", expected a duration in []", 2);
    refused("topk(\"a\", x)", "expected type scalar in aggregation parameter, got string", 5);
    refused("sum(x, y)", "wrong number of arguments", 5);
    refused("x{__name__=\"y\"}", "metric name must not be set twice", 2);
    refused("x offset 1m[5m]", "offset must come after the range", 11);
    refused("1[5m:1m]", "subquery is only allowed on instant vector, got scalar", 1);
    refused("x[5m][10m:1m]", "subquery is only allowed on instant vector, got range vector", 5);
    refused("round(x, 1, 2)", "expected 1 or more argument(s) in call to \"round\", got 3", 0);
    refused("-\"a\"", "unary expression only allowed on expressions of type scalar or instant vector", 0);
    refused("x y", "unexpected identifier \"y\"", 2);
    refused("x{a=1}", "expected a quoted label value", 4);
    refused("x{a~\"1\"}", "unexpected character '~'", 3);
    refused("", "no expression found", 0);
    refused("\"\\q\"", "unknown escape sequence", 2);
    refused("count_values(\"1bad\", x)", "invalid label name \"1bad\"", 13);
    char deep[600];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 200; i++)
        deep[n++] = ')';
    deep[n] = 0;
    refused(deep, "nested deeper than 128", (size_t)-1);
}

/* ---- evaluation ---- */

static struct series_db *db;

static void add(const struct series_label *l, size_t n, int64_t t, double v)
{
    assert_int_equal(series_db_append(db, l, n, t, v), SERIES_OK);
}

static int setup(void **state)
{
    struct series_limits lim = {SERIES_DEFAULT_WINDOW_MS, 100000, 256u * 1024 * 1024};
    db = series_db_new(&lim);
    assert_non_null(db);
    series_db_set_now(db, T0 + S(3600));
    /* a counter every 15 s: 0, 10, 20, ... with a reset to 5 at 150 s */
    struct series_label c[] = {{"__name__", "c"}, {"job", "a"}};
    for (int i = 0; i <= 20; i++)
        add(c, 2, T0 + S(15 * i), i < 10 ? 10.0 * i : 5 + 10.0 * (i - 10));
    /* gauges g{job=a|b}; g{job=b} stops at 60 s with a stale marker */
    struct series_label ga[] = {{"__name__", "g"}, {"job", "a"}};
    struct series_label gb[] = {{"__name__", "g"}, {"job", "b"}};
    for (int i = 0; i <= 20; i++)
        add(ga, 2, T0 + S(15 * i), i % 2 ? 3 : -1);
    for (int i = 0; i <= 4; i++)
        add(gb, 2, T0 + S(15 * i), 7);
    add(gb, 2, T0 + S(75), series_stale_nan());
    /* info{job=a, version=1.2} for group_left; dup{job=a} twice for many-to-many */
    struct series_label info[] = {{"__name__", "info"}, {"job", "a"}, {"version", "1.2"}};
    add(info, 3, T0, 1);
    struct series_label d1[] = {{"__name__", "dup"}, {"job", "a"}, {"x", "1"}};
    struct series_label d2[] = {{"__name__", "dup"}, {"job", "a"}, {"x", "2"}};
    add(d1, 3, T0, 1);
    add(d2, 3, T0, 2);
    /* a histogram: le 0.1: 10, 0.5: 20, +Inf: 40 */
    struct series_label h1[] = {{"__name__", "h_bucket"}, {"job", "a"}, {"le", "0.1"}};
    struct series_label h2[] = {{"__name__", "h_bucket"}, {"job", "a"}, {"le", "0.5"}};
    struct series_label h3[] = {{"__name__", "h_bucket"}, {"job", "a"}, {"le", "+Inf"}};
    add(h1, 3, T0, 10);
    add(h2, 3, T0, 20);
    add(h3, 3, T0, 40);
    return 0;
}

static int teardown(void **state)
{
    series_db_destroy(db);
    return 0;
}

/* Evaluates at t; the result must be a vector; returns the value of the
 * series whose labels print as `want` ("{job=a}"), NAN-checked by caller. */
static size_t eval(const char *text, int64_t t, struct promql_result *r)
{
    struct promql_error err;
    struct promql_expr *e = promql_parse(text, &err);
    if (!e)
        fail_msg("%s: %s", text, err.msg);
    int rc = promql_eval_instant(db, e, t, NULL, r, &err);
    promql_expr_free(e);
    if (rc)
        fail_msg("%s: eval %d: %s", text, rc, err.msg);
    return r->n;
}

static void labels_text(const struct promql_series *s, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "{");
    for (size_t i = 0; i < s->n_labels && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s=%s", i ? "," : "", s->labels[i].name, s->labels[i].value);
    if (at < n)
        snprintf(buf + at, n - at, "}");
}

static double value_of(const char *text, int64_t t, const char *labels)
{
    struct promql_result r;
    eval(text, t, &r);
    double v = NAN;
    bool found = false;
    for (size_t i = 0; i < r.n; i++) {
        char buf[256];
        labels_text(&r.series[i], buf, sizeof(buf));
        if (strcmp(buf, labels) == 0) {
            v = r.series[i].v[0];
            found = true;
        }
    }
    if (r.type == PROMQL_SCALAR) {
        v = r.scalar;
        found = true;
    }
    promql_result_free(&r);
    if (!found)
        fail_msg("%s at %lld: no series %s", text, (long long)(t - T0), labels);
    return v;
}

static size_t count_of(const char *text, int64_t t)
{
    struct promql_result r;
    size_t n = eval(text, t, &r);
    promql_result_free(&r);
    return n;
}

static void close_to(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * fmax(1, fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_eval_rate_reset_and_extrapolation(void **state)
{
    /* [60 s, 120 s]: 40..80, 5 samples 15 s apart, both edges on samples */
    close_to(value_of("rate(c[1m])", T0 + S(120), "{job=a}"), 40.0 / 60);
    close_to(value_of("increase(c[1m])", T0 + S(120), "{job=a}"), 40.0);
    /* reset: [120, 180] holds 80, 90, 5, 15, 25: 25 - 80 + 90 = 35 */
    close_to(value_of("increase(c[1m])", T0 + S(180), "{job=a}"), 35.0);
    close_to(value_of("resets(c[5m])", T0 + S(300), "{job=a}"), 1.0);
    /* extrapolation: at 127 s, [67, 127] holds 75..120 (s): 50..80, to the start 8 s
     * (< 1.1 * 15), to the end 7 s: 30 * (45 + 8 + 7) / 45 */
    close_to(value_of("increase(c[1m])", T0 + S(127), "{job=a}"), 30.0 * 60 / 45);
    /* to zero: at 40 s, [-20, 40] holds 0, 10, 20: duration to zero is 0 */
    close_to(value_of("increase(c[1m])", T0 + S(40), "{job=a}"), 20.0 * (30 + 0 + 10) / 30);
    close_to(value_of("irate(c[1m])", T0 + S(150), "{job=a}"), 5.0 / 15);   /* reset: last value / 15 s */
    close_to(value_of("idelta(c[1m])", T0 + S(150), "{job=a}"), 5.0 - 90);
    close_to(value_of("delta(g[1m])", T0 + S(60), "{job=b}"), 0);
    close_to(value_of("deriv(c[1m])", T0 + S(120), "{job=a}"), 10.0 / 15);
    close_to(value_of("predict_linear(c[1m], 60)", T0 + S(120), "{job=a}"), 80 + 40);
    close_to(value_of("changes(g[1m])", T0 + S(60), "{job=a}"), 4);
}

static void test_eval_lookback_staleness_offset(void **state)
{
    close_to(value_of("g", T0 + S(60), "{__name__=g,job=b}"), 7);
    close_to(value_of("g", T0 + S(74), "{__name__=g,job=b}"), 7);
    assert_int_equal(count_of("g{job=\"b\"}", T0 + S(75)), 0);      /* stale marker */
    close_to(value_of("c", T0 + S(300 + 300), "{__name__=c,job=a}"), 105);  /* 5 m lookback, inclusive */
    assert_int_equal(count_of("c", T0 + S(601)), 0);
    close_to(value_of("c offset 1m", T0 + S(120), "{__name__=c,job=a}"), 40);
    close_to(value_of("timestamp(c)", T0 + S(127), "{job=a}"), (double)(T0 + S(120)) / 1000);
    close_to(value_of("count_over_time(g[1m])", T0 + S(90), "{job=b}"), 3);  /* 30, 45, 60 s; the stale marker not counted */
    close_to(value_of("last_over_time(g[1m])", T0 + S(300), "{__name__=g,job=a}"), -1);
}

static void test_eval_operators_and_matching(void **state)
{
    close_to(value_of("c * on(job) group_left(version) info", T0 + S(30), "{job=a,version=1.2}"), 20);
    close_to(value_of("c / ignoring(version) group_left info", T0 + S(30), "{job=a}"), 20);
    close_to(value_of("g > bool 0", T0 + S(15), "{job=a}"), 1);
    assert_int_equal(count_of("g > 0", T0 + S(0)), 1);   /* only job=b (7) passes */
    close_to(value_of("g > 0", T0, "{__name__=g,job=b}"), 7);
    close_to(value_of("-2 ^ 2", T0, ""), -4);
    close_to(value_of("2 ^ 3 ^ 2", T0, ""), 512);
    close_to(value_of("7 % 4 - 1 * 2", T0, ""), 1);
    close_to(value_of("1 < bool 2", T0, ""), 1);
    assert_int_equal(count_of("g and on(job) info", T0), 1);
    assert_int_equal(count_of("g unless on(job) info", T0), 1);
    assert_int_equal(count_of("g or info", T0), 3);
    struct promql_error err;
    struct promql_result r;
    struct promql_expr *e = promql_parse("c + on(job) dup", &err);
    assert_int_equal(promql_eval_instant(db, e, T0, NULL, &r, &err), PROMQL_ERR_EXEC);
    assert_non_null(strstr(err.msg, "many-to-many matching not allowed"));
    promql_result_free(&r);
    promql_expr_free(e);
    e = promql_parse("dup + on(job) c", &err);
    assert_int_equal(promql_eval_instant(db, e, T0, NULL, &r, &err), PROMQL_ERR_EXEC);
    assert_non_null(strstr(err.msg, "many-to-one matching must be explicit"));
    promql_result_free(&r);
    promql_expr_free(e);
}

static void test_eval_aggregations_and_functions(void **state)
{
    close_to(value_of("sum(dup)", T0, "{}"), 3);
    close_to(value_of("avg by (job) (dup)", T0, "{job=a}"), 1.5);
    close_to(value_of("stddev(dup)", T0, "{}"), 0.5);
    close_to(value_of("stdvar(dup)", T0, "{}"), 0.25);
    close_to(value_of("quantile(0.25, dup)", T0, "{}"), 1.25);
    close_to(value_of("topk(1, dup)", T0, "{__name__=dup,job=a,x=2}"), 2);
    close_to(value_of("bottomk(1, dup)", T0, "{__name__=dup,job=a,x=1}"), 1);
    close_to(value_of("count without (x) (dup)", T0, "{job=a}"), 2);
    close_to(value_of("count_values(\"v\", dup * 0.1)", T0, "{v=0.2}"), 1);
    close_to(value_of("histogram_quantile(0.5, h_bucket)", T0, "{job=a}"), 0.5);
    close_to(value_of("histogram_quantile(0.25, h_bucket)", T0, "{job=a}"), 0.1);
    close_to(value_of("histogram_quantile(0.9, h_bucket)", T0, "{job=a}"), 0.5);
    close_to(value_of("label_replace(info, \"major\", \"v$1\", \"version\", \"(\\\\d+)\\\\..*\")", T0,
                      "{__name__=info,job=a,major=v1,version=1.2}"), 1);
    close_to(value_of("label_join(info, \"jv\", \"/\", \"job\", \"version\")", T0,
                      "{__name__=info,job=a,jv=a/1.2,version=1.2}"), 1);
    close_to(value_of("absent(nope{job=\"x\", a=~\"b\"})", T0, "{job=x}"), 1);
    assert_int_equal(count_of("absent(c)", T0), 0);
    close_to(value_of("clamp(g, 0, 2)", T0 + S(15), "{job=a}"), 2);
    close_to(value_of("clamp_min(g, 0)", T0, "{job=a}"), 0);
    close_to(value_of("round(dup * 1.26, 0.5)", T0, "{job=a,x=1}"), 1.5);
    close_to(value_of("scalar(info)", T0, ""), 1);
    assert_true(isnan(value_of("scalar(dup)", T0, "")));
    close_to(value_of("vector(time())", T0 + 1500, "{}"), (double)(T0 + 1500) / 1000);
    /* max over the subquery's points at 0, 60, 120 s of rate over 1 m */
    close_to(value_of("max_over_time(rate(c[1m])[2m:1m])", T0 + S(120), "{job=a}"), 40.0 / 60);
    close_to(value_of("quantile_over_time(0.5, g[1m])", T0 + S(60), "{job=a}"), -1);
}

static void test_eval_range_query(void **state)
{
    struct promql_error err;
    struct promql_result r;
    struct promql_expr *e = promql_parse("g", &err);
    assert_int_equal(promql_eval_range(db, e, T0, T0 + S(120), S(30), NULL, &r, &err), 0);
    assert_int_equal(r.type, PROMQL_MATRIX);
    assert_int_equal(r.n, 2);
    for (size_t i = 0; i < r.n; i++) {
        char buf[128];
        labels_text(&r.series[i], buf, sizeof(buf));
        if (strcmp(buf, "{__name__=g,job=b}") == 0) {
            assert_int_equal(r.series[i].n, 3);   /* 0, 30, 60 s; stale from 75 s */
            assert_int_equal(r.series[i].t[2], T0 + S(60));
        } else {
            assert_int_equal(r.series[i].n, 5);
            close_to(r.series[i].v[1], -1);   /* 30 s: i = 2 */
        }
    }
    promql_result_free(&r);
    promql_expr_free(e);
    e = promql_parse("1 + 1", &err);
    assert_int_equal(promql_eval_range(db, e, T0, T0 + S(10), S(5), NULL, &r, &err), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.series[0].n, 3);
    assert_int_equal(r.series[0].n_labels, 0);
    promql_result_free(&r);
    promql_expr_free(e);
    /* the sample limit */
    struct promql_opts o;
    promql_opts_default(&o);
    o.max_samples = 10;
    e = promql_parse("c", &err);
    assert_int_equal(promql_eval_instant(db, e, T0 + S(300), &o, &r, &err), PROMQL_ERR_LIMIT);
    promql_result_free(&r);
    promql_expr_free(e);
}

static void test_format_float(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {{0.1, "0.1"},    {1e21, "1000000000000000000000"}, {1e-7, "0.0000001"}, {-0.0, "-0"},
                 {123.456, "123.456"}, {NAN, "NaN"},  {INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
                 {1.7976931348623157e308, NULL}, {100, "100"}, {0, "0"}, {2.5e-5, "0.000025"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[PROMQL_FLOAT_MAX];
        size_t n = promql_format_float(cases[i].v, out);
        assert_int_equal(n, strlen(out));
        if (cases[i].text)
            assert_string_equal(out, cases[i].text);
        else
            assert_int_equal(strlen(out), 309);
    }
    /* the smallest subnormal: "0." then 323 zeros then 5 */
    char out[PROMQL_FLOAT_MAX];
    assert_int_equal(promql_format_float(5e-324, out), 2 + 323 + 1);
    assert_memory_equal(out, "0.000", 5);
    assert_int_equal(out[325], '5');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_types),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test_setup_teardown(test_eval_rate_reset_and_extrapolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_lookback_staleness_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_operators_and_matching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_aggregations_and_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_range_query, setup, teardown),
        cmocka_unit_test(test_format_float),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
