/*
 * Unit tests for probe/promtext and probe/promsel: a real client
 * library's exposition (families, escapes, NaN/Inf, timestamps), the
 * OpenMetrics bits read cheaply (# EOF, exemplars, seconds timestamps),
 * every malformed line refused with its line and column, the limits; and
 * selectors: the four matchers, anchoring, quoting, refusals with columns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "probe/promsel.h"
#include "probe/promtext.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define S(lit) (lit), (sizeof(lit) - 1)

struct got {
    size_t n;
    char line[32][512];
};

static int collect(void *data, const struct probe_promtext_sample *s)
{
    struct got *g = data;
    if (g->n == 32)
        return 7;
    char *o = g->line[g->n++];
    size_t at = (size_t)snprintf(o, 512, "%s %s {", probe_promtext_type_name(s->type), s->name);
    for (size_t i = 0; i < s->n_labels; i++)
        at += (size_t)snprintf(o + at, 512 - at, "%s%s=%s", i ? "," : "", s->labels[i].name, s->labels[i].value);
    at += (size_t)snprintf(o + at, 512 - at, "} %g", s->value);
    if (s->has_timestamp)
        snprintf(o + at, 512 - at, " @%lld", (long long)s->timestamp_ms);
    return 0;
}

static struct probe_promtext_sample *scratch(void)
{
    static struct probe_promtext_sample s;
    return &s;
}

static void test_client_library_output(void **state)
{
    static const char body[] =
        "# HELP http_requests_total The total number of HTTP requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
        "\n"
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
        "# A normal comment.\n"
        "metric_without_timestamp_and_labels 12.47\n"
        "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
        "# TYPE rpc_duration_seconds summary\n"
        "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
        "rpc_duration_seconds_sum 1.7560473e+07\n"
        "rpc_duration_seconds_count 2693\n"
        "# TYPE http_request_duration_seconds histogram\n"
        "http_request_duration_seconds_bucket{le=\"+Inf\",} 144320\n"
        "nan_metric NaN\r\n"
        "no_newline_at_end -0";
    struct got g = {0};
    struct probe_promtext_error err;
    assert_int_equal(probe_promtext_parse(S(body), false, scratch(), collect, &g, &err), 0);
    static const char *const want[] = {
        "counter http_requests_total {method=post,code=200} 1027 @1395066363000",
        "counter http_requests_total {method=post,code=400} 3 @1395066363000",
        "untyped msdos_file_access_time_seconds {path=C:\\DIR\\FILE.TXT,error=Cannot find file:\n\"FILE.TXT\"} 1.45826e+09",
        "untyped metric_without_timestamp_and_labels {} 12.47",
        "untyped something_weird {problem=division by zero} inf @-3982045",
        "summary rpc_duration_seconds {quantile=0.5} 4773",
        "summary rpc_duration_seconds_sum {} 1.75605e+07",
        "summary rpc_duration_seconds_count {} 2693",
        "histogram http_request_duration_seconds_bucket {le=+Inf} 144320",
        "untyped nan_metric {} nan",
        "untyped no_newline_at_end {} -0",
    };
    assert_int_equal(g.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < g.n; i++)
        assert_string_equal(g.line[i], want[i]);
}

static void test_openmetrics_bits(void **state)
{
    static const char body[] = "# TYPE foo counter\n"
                               "# UNIT foo seconds\n"
                               "foo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
                               "foo_created 1520430000.123\n"
                               "# EOF\n"
                               "this is not read\n";
    struct got g = {0};
    struct probe_promtext_error err;
    assert_int_equal(probe_promtext_parse(S(body), true, scratch(), collect, &g, &err), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.line[0], "counter foo_total {} 17 @1520879607789");
    assert_string_equal(g.line[1], "counter foo_created {} 1.52043e+09");
}

static void expect_error(const char *body, size_t line, size_t col, const char *msg)
{
    struct got g = {0};
    struct probe_promtext_error err;
    memset(&err, 0, sizeof(err));
    int rc = probe_promtext_parse(body, strlen(body), false, scratch(), collect, &g, &err);
    if (rc != -1 || err.line != line || err.col != col || !strstr(err.message, msg))
        fail_msg("%s: rc %d, %zu:%zu %s; want %zu:%zu %s", body, rc, err.line, err.col, err.message, line, col, msg);
}

static void test_malformed_lines(void **state)
{
    expect_error("ok 1\n1bad 2\n", 2, 1, "expected a metric name");
    expect_error("m{a=\"1\"\n", 1, 8, "expected ',' or '}'");
    expect_error("m{a=1} 2\n", 1, 5, "expected '\"'");
    expect_error("m{a=\"x\\q\"} 2\n", 1, 7, "invalid escape");
    expect_error("m{a=\"x\",a=\"y\"} 2\n", 1, 9, "label a appears twice");
    expect_error("m{a=\"unterminated} 2\n", 1, 5, "unterminated");
    expect_error("m\n", 1, 2, "expected a value");
    expect_error("m 0x10\n", 1, 3, "invalid value");
    expect_error("m 1,5\n", 1, 3, "invalid value");
    expect_error("m 1 12x\n", 1, 5, "invalid timestamp");
    expect_error("m 1 2 3\n", 1, 7, "unexpected text");
    expect_error("# TYPE m countr\n", 1, 10, "unknown metric type 'countr'");
    expect_error("# TYPE 9m counter\n", 1, 8, "expected a metric name");
    expect_error("m{=\"x\"} 1\n", 1, 3, "expected a label name");
    expect_error("m 1 1.5\n", 1, 5, "invalid timestamp '1.5' (milliseconds are whole)");
    /* what an error quotes of the page is printable ASCII */
    expect_error("m \xff" "a\n", 1, 3, "invalid value '?a'");
    expect_error("# TYPE m \x1b[31m\n", 1, 10, "unknown metric type '?[31m'");

    char *big = base_malloc(PROBE_PROMTEXT_LABEL_VALUE_MAX + 32);
    int n = snprintf(big, 32, "m{a=\"");
    memset(big + n, 'x', PROBE_PROMTEXT_LABEL_VALUE_MAX);
    strcpy(big + n + PROBE_PROMTEXT_LABEL_VALUE_MAX, "\"} 1\n");
    expect_error(big, 1, 5, "longer than");
    base_free(big);

    char many[4096];
    size_t at = (size_t)snprintf(many, sizeof(many), "m{");
    for (int i = 0; i <= PROBE_PROMTEXT_LABELS_MAX; i++)
        at += (size_t)snprintf(many + at, sizeof(many) - at, "l%d=\"v\",", i);
    snprintf(many + at, sizeof(many) - at, "} 1\n");
    struct got g = {0};
    struct probe_promtext_error err;
    assert_int_equal(probe_promtext_parse(many, strlen(many), false, scratch(), collect, &g, &err), -1);
    assert_non_null(strstr(err.message, "more than 64 labels"));

    /* the callback stops the read */
    char lots[64 * 40];
    at = 0;
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(lots + at, sizeof(lots) - at, "m%d 1\n", i);
    memset(&g, 0, sizeof(g));
    assert_int_equal(probe_promtext_parse(lots, at, false, scratch(), collect, &g, &err), 7);
    assert_int_equal(g.n, 32);
}

static bool sel_matches(const char *sel_text, const char *body)
{
    char why[160];
    size_t col;
    struct probe_promsel *sel = probe_promsel_parse(sel_text, why, sizeof(why), &col);
    if (!sel)
        fail_msg("%s: %s at %zu", sel_text, why, col);
    struct probe_promtext_sample *s = scratch();
    struct got g = {0};
    struct probe_promtext_error err;
    assert_int_equal(probe_promtext_parse(body, strlen(body), false, s, collect, &g, &err), 0);
    assert_int_equal(g.n, 1);
    bool m = probe_promsel_match(sel, s);
    probe_promsel_destroy(sel);
    return m;
}

static void test_selectors_match(void **state)
{
    const char *up = "up{job=\"api\",instance=\"10.0.0.1:9100\"} 1\n";
    assert_true(sel_matches("up", up));
    assert_false(sel_matches("upx", up));
    assert_true(sel_matches("up{job=\"api\"}", up));
    assert_true(sel_matches("{__name__=\"up\", job='api'}", up));
    assert_false(sel_matches("up{job!=\"api\"}", up));
    assert_true(sel_matches("up{instance=~\"10\\\\.0\\\\..*\"}", up));
    assert_false(sel_matches("up{instance=~\"10\"}", up));           /* anchored: a whole match */
    assert_true(sel_matches("{__name__=~\"u.\",job!~\"db|cache\"}", up));
    assert_false(sel_matches("up{job!~\"a.*\"}", up));
    assert_true(sel_matches("up{missing=\"\"}", up));                /* absent is "" */
    assert_false(sel_matches("up{missing!=\"\"}", up));
    assert_true(sel_matches(" up { job = \"api\" , } ", up));
    assert_true(sel_matches("node:cpu:rate5m", "node:cpu:rate5m 0.5\n"));
}

static void expect_sel_error(const char *text, size_t col, const char *msg)
{
    char why[160];
    size_t at;
    struct probe_promsel *sel = probe_promsel_parse(text, why, sizeof(why), &at);
    if (sel || at != col || !strstr(why, msg))
        fail_msg("%s: got %s at %zu; want %s at %zu", text, sel ? "a selector" : why, at, msg, col);
}

static void test_selectors_refused(void **state)
{
    expect_sel_error("", 1, "expected a metric name or '{'");
    expect_sel_error("{}", 1, "matches every series");
    expect_sel_error("{job=~\".*\"}", 1, "matches every series");
    expect_sel_error("up{job}", 7, "expected =, !=, =~ or !~ after job");
    expect_sel_error("up{job=api}", 8, "expected a quoted value");
    expect_sel_error("up{job=\"api}", 8, "unterminated");
    expect_sel_error("up{job=\"a\" x=\"b\"}", 12, "expected ',' or '}'");
    expect_sel_error("up{job=~\"(\"}", 4, "bad regex for job: missing closing parenthesis");
    expect_sel_error("up extra", 4, "unexpected text");
    expect_sel_error("up{1a=\"x\"}", 4, "expected a label name");
    expect_sel_error("up{job=\"\\", 8, "unterminated");
    char many[1024];
    size_t at = (size_t)snprintf(many, sizeof(many), "up{");
    for (int i = 0; i < PROBE_PROMSEL_MATCHERS_MAX; i++)
        at += (size_t)snprintf(many + at, sizeof(many) - at, "l%d=\"v\",", i);
    snprintf(many + at, sizeof(many) - at, "}");
    expect_sel_error(many, (size_t)(strrchr(many, ',') - many) - 6, "more than 16 matchers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_library_output),
        cmocka_unit_test(test_openmetrics_bits),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_selectors_match),
        cmocka_unit_test(test_selectors_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
