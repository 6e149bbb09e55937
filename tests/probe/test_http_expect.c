/*
 * Unit tests for the http type's conditions and credentials as an operator
 * writes them: YAML loaded by the real config loader (regexes compiled
 * there), every bad form reported at its FILE:LINE:COL (and by JSON path
 * through the API's loader) without quoting a secret, the canonical JSON
 * round trip, secrets sealed and out of the target, and runs against the
 * in-process target: expect.json conditions, headers, body and body_not
 * passing and failing with the path, condition and actual value; a POST
 * with a body; basic and bearer credentials as the server receives them;
 * a run that outlives its configuration.
 */
#include "probe/probe_test.h"

#include "base/alloc.h"
#include "objects/kind.h"
#include "objects/service.h"
#include "probe/registry.h"

#include <stdio.h>
#include <string.h>

#define MAX_LOADED 16
static struct conf *loaded[MAX_LOADED];
static size_t n_loaded;

/* A check "t" of type http requesting `path` on the fixture's target, with
 * the YAML lines `lines` (each indented four spaces), loaded by the real
 * loader and kept until teardown. */
static struct conf_check yaml_check(struct fx *f, const char *path, const char *lines)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml), "checks:\n  - id: t\n    type: http\n    url: 'http://127.0.0.1:%d%s'\n%s",
             f->http.port, path, lines);
    struct base_errors e;
    base_errors_init(&e, 0);
    struct conf *c = NULL;
    if (conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e) != 0) {
        base_errors_print(&e, stderr);
        fail_msg("did not load:\n%s", yaml);
    }
    base_errors_free(&e);
    assert_true(n_loaded < MAX_LOADED);
    loaded[n_loaded++] = c;
    return c->checks[0];
}

static int teardown(void **state)
{
    while (n_loaded)
        conf_destroy(loaded[--n_loaded]);
    return fx_teardown(state);
}

/* Loads a check with `lines` expecting exactly one error, at the line and
 * column where `mark` starts in them, containing needle and not `secret`. */
static void expect_error(const char *lines, const char *mark, const char *needle, const char *secret)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml), "checks:\n  - id: t\n    type: http\n    url: 'http://h/'\n%s", lines);
    const char *at = strstr(lines, mark);
    assert_non_null(at);
    int line = 5, col = 1;
    for (const char *p = lines; p < at; p++, col++)
        if (*p == '\n') {
            line++;
            col = 0;
        }
    struct base_errors e;
    base_errors_init(&e, 0);
    struct conf *c = NULL;
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    char shown[1024] = "";
    if (e.len)
        base_error_format(&e.items[0], shown, sizeof(shown));
    if (rc != BASE_ERR_INVALID || e.len != 1 || e.items[0].line != line || e.items[0].col != col ||
        !strstr(e.items[0].msg, needle) || (secret && strstr(e.items[0].msg, secret))) {
        base_errors_print(&e, stderr);
        fail_msg("for:\n%swanted one error at %d:%d containing '%s', got %zu: %s", lines, line, col, needle, e.len,
                 shown);
    }
    assert_string_equal(e.items[0].file, "t.yaml");
    base_errors_free(&e);
    conf_destroy(c);
}

static void test_expect_bad_conditions_are_positioned_errors(void **state)
{
    expect_error("    expect: {json: {a: '< x'}}\n", "'< x'", "bad condition '< x': '<' compares numbers", NULL);
    expect_error("    expect:\n      json:\n        a: '=='\n", "'=='", "'==' needs a value after it", NULL);
    expect_error("    expect: {json: {a: '~ (x'}}\n", "'~ (x'",
                 "bad condition '(x': bad regex: missing closing parenthesis at offset 2", NULL);
    expect_error("    expect: {json: {a: '== \"x'}}\n", "'== \"x'", "a quoted value must end with '\"'", NULL);
    expect_error("    expect: {json: {a..b: 1}}\n", "a..b", "bad JSON path 'a..b': expected dotted names", NULL);
    expect_error("    expect: {json: {'a\\q': 1}}\n", "'a\\q'", "a backslash escapes only '.'", NULL);
    expect_error("    expect: {json: {a: {b: 1}}}\n", "{b: 1}", "got a mapping", NULL);
    expect_error("    expect: {body: '(a'}\n", "'(a'", "bad pattern '(a': bad regex: missing closing parenthesis", NULL);
    expect_error("    expect: {body_not: ''}\n", "''", "expected a regular expression, got an empty one", NULL);
    expect_error("    expect: {body: [a]}\n", "[a]", "got a list", NULL);
    expect_error("    expect: {headers: {'X Y': true}}\n", "'X Y'", "bad header name 'X Y'", NULL);
    expect_error("    expect:\n      headers:\n        X-A: true\n        x-a: false\n", "x-a",
                 "header 'x-a' has a condition already (at line 7; names ignore case)", NULL);
    expect_error("    expect: {headers: {X-A: null}}\n", "null", "expected true (present), false (absent)", NULL);
    expect_error("    expect: {headers: {Age: '< soon'}}\n", "'< soon'", "'<' compares numbers", NULL);
    expect_error("    expect: {headers: {Server: '!~ [a'}}\n", "'!~ [a'", "missing terminating ]", NULL);
    expect_error("    expect: {headers: [a]}\n", "[a]", "expected a mapping", NULL);
}

static void test_expect_bad_credentials_and_files_are_positioned_errors(void **state)
{
    expect_error("    bearer_token: 'two w0rds-secret'\n", "'two", "bearer_token must be one word", "w0rds");
    expect_error("    bearer_token: ''\n", "''", "bearer_token must be one word", NULL);
    expect_error("    basic_auth: {username: u, password: pw-secret-1}\n    bearer_token: tok-secret-2\n",
                 "tok-secret-2", "use basic_auth or bearer_token, not both", "secret");
    expect_error("    headers: {authorization: Basic eA==}\n    bearer_token: tok-secret-2\n", "{authorization",
                 "headers sets Authorization and so does bearer_token: use one", "secret");
    expect_error("    basic_auth: {username: 'a:b', password: pw-secret-1}\n", "{username",
                 "basic_auth: a username cannot contain ':'", "secret");
    expect_error("    basic_auth: {username: u, password: \"pw\\nsecret-1\"}\n", "{username",
                 "basic_auth must not contain control characters", "secret");
    expect_error("    basic_auth: {user: u}\n", "user", "unknown key 'user'", NULL);
    expect_error("    client_key: /etc/ssl/certs/ca-certificates.crt\n", "/etc", "client_key needs client_cert", NULL);
    expect_error("    ca_file: /nonexistent/ca.pem\n", "/non",
                 "cannot read ca_file /nonexistent/ca.pem: No such file or directory", NULL);
    expect_error("    client_cert: /tmp\n", "/tmp", "client_cert /tmp is not a regular file", NULL);
    expect_error("    client_cert: ''\n", "''", "client_cert must be a path to a PEM file", NULL);
}

static void test_expect_api_errors_name_the_json_path(void **state)
{
    static const struct {
        const char *json, *field, *message;
    } cases[] = {
        {"{\"id\":\"j\",\"type\":\"http\",\"url\":\"http://h/\",\"expect\":{\"json\":{\"a.b\":\"< x\"}}}", "expect.json",
         "'<' compares numbers"},
        {"{\"id\":\"j\",\"type\":\"http\",\"url\":\"http://h/\",\"expect\":{\"body\":\"(a\"}}", "expect.body",
         "missing closing parenthesis"},
        {"{\"id\":\"j\",\"type\":\"http\",\"url\":\"http://h/\",\"bearer_token\":\"a b-secret\"}", "bearer_token",
         "bearer_token must be one word"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *obj = json_loads(cases[i].json, 0, NULL);
        assert_non_null(obj);
        struct conf *c = NULL;
        struct conf_json_error err;
        assert_int_equal(conf_check_from_json(probe_registry_types(), obj, NULL, &c, &err), BASE_ERR_INVALID);
        if (!strstr(err.field, cases[i].field) || !strstr(err.message, cases[i].message) ||
            strstr(err.message, "secret"))
            fail_msg("%s: got %s: %s", cases[i].json, err.field, err.message);
        json_decref(obj);
    }
}

static const char full_expect[] =
    "    expect:\n"
    "      json:\n"
    "        status: ok\n"
    "        checks.database.status: '== up'\n"
    "        checks.database.responseTime: '< 1000'\n"
    "        checks.cache.responseTime: '<= 12.5'\n"
    "        items.0.ready: true\n"
    "        items.1.ready: '!= true'\n"
    "        version: '~ ^2\\.'\n"
    "        'db\\.primary.up': true\n"
    "        'back\\\\slash': '>= 1'\n"
    "        nothing: null\n"
    "        count: '== \"12\"'\n"
    "      headers:\n"
    "        Content-Type: '~ ^application/json'\n"
    "        x-cache: HIT\n"
    "        Age: '< 300'\n"
    "        X-Multi: '== b'\n"
    "        X-Debug: false\n"
    "        Connection: true\n"
    "      body: '\"status\":\\s*\"ok\"'\n"
    "      body_not: 'ERROR|FATAL'\n";

static void test_expect_conditions_load_as_written(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/health", full_expect);
    const struct probe_http_expect *x = &H(c)->expect;
    assert_int_equal(x->json.n, 11);
    assert_int_equal(x->json.items[0].op, PROBE_HTTP_OP_EQ);
    assert_null(x->json.items[0].expr);
    assert_string_equal(x->json.items[0].value_json, "\"ok\"");
    assert_int_equal(x->json.items[2].op, PROBE_HTTP_OP_LT);
    assert_string_equal(x->json.items[2].expr, "< 1000");
    assert_string_equal(x->json.items[2].value_json, "1000");
    assert_int_equal(x->json.items[6].op, PROBE_HTTP_OP_MATCH);
    assert_string_equal(x->json.items[6].re.pattern, "^2\\.");
    assert_true(x->json.items[6].re.code_len > 0);
    assert_string_equal(x->json.items[7].path, "db\\.primary.up");
    assert_string_equal(x->json.items[10].value_json, "\"12\"");
    assert_int_equal(x->headers.n, 6);
    assert_int_equal(x->headers.items[1].op, PROBE_HTTP_OP_EQ);
    assert_string_equal(x->headers.items[1].value, "HIT");
    assert_int_equal(x->headers.items[4].op, PROBE_HTTP_OP_ABSENT);
    assert_int_equal(x->headers.items[5].op, PROBE_HTTP_OP_PRESENT);
    assert_string_equal(x->body.pattern, "\"status\":\\s*\"ok\"");
    assert_string_equal(x->body_not.pattern, "ERROR|FATAL");

    /* the canonical JSON shows them as written and loads back the same */
    json_t *j = conf_check_to_json(&c);
    assert_non_null(j);
    char *text = json_dumps(json_object_get(j, "expect"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(strstr(text, "\"checks.database.responseTime\":\"< 1000\""));
    assert_non_null(strstr(text, "\"X-Debug\":false"));
    assert_non_null(strstr(text, "\"Connection\":true"));
    assert_non_null(strstr(text, "\"body_not\":\"ERROR|FATAL\""));
    assert_non_null(strstr(text, "\"status\":\"ok\""));
    free(text);
    struct conf *again = NULL;
    struct conf_json_error err;
    if (conf_check_from_json(probe_registry_types(), j, NULL, &again, &err))
        fail_msg("%s: %s", err.field, err.message);
    assert_int_equal(again->checks[0].hash, c.hash);
    conf_destroy(again);
    json_decref(j);
}

static void test_expect_secrets_are_sealed_and_not_in_the_target(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/auth", "    basic_auth: {username: monitor, password: pw-s3cret-1}\n");
    struct conf one = {.checks = &c, .n_checks = 1};
    const char *names[OBJECTS_SECRETS_MAX + 1];
    objects_kind_check.secrets(&one, names);
    bool basic = false, bearer = false;
    for (size_t i = 0; names[i]; i++) {
        basic |= strcmp(names[i], "basic_auth") == 0;
        bearer |= strcmp(names[i], "bearer_token") == 0;
    }
    assert_true(basic && bearer);
    json_t *full = conf_check_to_json(&c), *masked = NULL;
    char *sealed = NULL;
    assert_int_equal(objects_split_secrets(full, names, &masked, &sealed), 0);
    char *shown = json_dumps(masked, JSON_COMPACT);
    assert_null(strstr(shown, "pw-s3cret-1"));
    assert_null(strstr(shown, "monitor"));
    assert_non_null(strstr(sealed, "pw-s3cret-1")); /* what objects/db encrypts */
    free(shown);
    free(sealed);
    json_decref(masked);
    json_decref(full);
    char target[512];
    probe_http_type.target(&c, target, sizeof(target));
    assert_null(strstr(target, "s3cret"));
    assert_null(strstr(target, "monitor"));
}

static void test_expect_all_conditions_hold_on_a_healthy_answer(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/health", full_expect);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);
}

static void expect_down(struct fx *f, const char *path, const char *lines, const char *error)
{
    struct conf_check c = yaml_check(f, path, lines);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_int_equal(r.s.code, 200);
    assert_string_equal(r.s.error, error);
}

static void test_expect_failed_conditions_name_path_condition_and_value(void **state)
{
    struct fx *f = *state;
    expect_down(f, "/health", "    expect: {json: {checks.database.responseTime: '< 500'}}\n",
                "json: checks.database.responseTime is 812, expected < 500");
    expect_down(f, "/health", "    expect: {json: {checks.database.state: up}}\n",
                "json: checks.database.state is missing");
    expect_down(f, "/health", "    expect: {json: {status: '< 5'}}\n",
                "json: status is \"ok\", expected < 5 (not a number)");
    expect_down(f, "/health", "    expect: {json: {version: '~ ^3\\.'}}\n",
                "json: version is \"2.4.1\", expected ~ ^3\\.");
    expect_down(f, "/health", "    expect: {json: {items.1.ready: true}}\n", "json: items.1.ready is false, expected true");
    expect_down(f, "/health", "    expect: {json: {status: ok, count: '> 10'}}\n",
                "json: count is \"12\", expected > 10 (not a number)");
    expect_down(f, "/health", "    expect: {headers: {X-Cache: MISS}}\n", "header X-Cache is \"HIT\", expected \"MISS\"");
    expect_down(f, "/health", "    expect: {headers: {X-Served-By: true}}\n", "header X-Served-By is missing");
    expect_down(f, "/health", "    expect: {headers: {x-cache: false}}\n",
                "header x-cache is present (\"HIT\"), expected absent");
    expect_down(f, "/health", "    expect: {headers: {X-Multi: '!= b'}}\n", "header X-Multi is \"b\", expected != b");
    expect_down(f, "/health", "    expect: {headers: {X-Multi: '== c'}}\n", "header X-Multi is \"a\", expected == c");
    expect_down(f, "/health", "    expect: {headers: {Age: '> 60'}}\n", "header Age is \"42\", expected > 60");
    expect_down(f, "/health", "    expect: {headers: {Content-Type: '~ ^text/'}}\n",
                "header Content-Type is \"application/json\", expected ~ ^text/");
    expect_down(f, "/health", "    expect: {body: '\"status\":\"down\"'}\n",
                "body does not match \"\\\"status\\\":\\\"down\\\"\"");
    expect_down(f, "/health", "    expect: {body_not: 'fi[a-z]+e'}\n",
                "body matches body_not \"fi[a-z]+e\" at byte 255: \"fine\"");
    /* headers are judged before the body */
    expect_down(f, "/health", "    expect: {body: nope, headers: {X-Cache: MISS}}\n",
                "header X-Cache is \"HIT\", expected \"MISS\"");
}

static void test_expect_post_with_a_body_reaches_the_server(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/echo",
                                     "    method: POST\n"
                                     "    headers: {Content-Type: application/x-www-form-urlencoded, X-Test: t1}\n"
                                     "    body: ping=1\n"
                                     "    expect: {json: {method: POST, len: 6, body: ping=1, x_test: t1}}\n");
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);
    int before = atomic_load(&f->http.requests);
    /* PUT with the same body, and the condition fails with what the server saw */
    c = yaml_check(f, "/echo", "    method: PUT\n    body: ping=1\n    expect: {json: {method: POST}}\n");
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "json: method is \"PUT\", expected \"POST\"");
    assert_int_equal(atomic_load(&f->http.requests), before + 1);
}

static void test_expect_credentials_reach_the_server(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/auth",
                                     "    basic_auth: {username: monitor, password: 's3cret!'}\n"
                                     "    expect: {json: {authorization: 'Basic bW9uaXRvcjpzM2NyZXQh'}}\n");
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    c = yaml_check(f, "/auth",
                   "    bearer_token: tok.en-1_x\n    expect: {json: {authorization: 'Bearer tok.en-1_x'}}\n");
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    /* a password alone: an empty user name */
    c = yaml_check(f, "/auth", "    basic_auth: {password: k}\n    expect: {json: {authorization: 'Basic Oms='}}\n");
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
    /* without credentials nothing is sent */
    c = yaml_check(f, "/auth", "    basic_auth: {}\n    expect: {json: {authorization: ''}}\n");
    run_check(f, &c, &r, 5000);
    assert_string_equal(r.s.error, "");
}

static void test_expect_run_outlives_its_configuration(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/slow/200", "    expect: {body_not: 'ERR(OR)?', json: {status: '~ ^o'}}\n");
    struct result r = {0};
    assert_non_null(probe_start(f->e, &c, on_result, &r));
    /* a reload frees the configuration while the run is in flight */
    conf_destroy(loaded[--n_loaded]);
    assert_true(run_until(f, &r.done, 1, 5000));
    assert_string_equal(r.s.error, "");
    assert_int_equal(r.s.result, SAMPLE_UP);
}

static void test_expect_allocation_failures_give_null_or_a_sample(void **state)
{
    struct fx *f = *state;
    struct conf_check c = yaml_check(f, "/health", full_expect);
    int nulls = 0, downs = 0;
    for (long n = 0; n < 40; n++) {
        struct result r = {0};
        base_alloc_fail_after(n);
        struct probe_run *run = probe_start(f->e, &c, on_result, &r);
        base_alloc_fail_after(-1);
        if (!run) {
            nulls++;
            continue;
        }
        assert_true(run_until(f, &r.done, 1, 5000));
        downs += r.s.result != SAMPLE_UP;
    }
    assert_true(nulls >= 2);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.in_flight, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, teardown)
        T(test_expect_bad_conditions_are_positioned_errors),
        T(test_expect_bad_credentials_and_files_are_positioned_errors),
        T(test_expect_api_errors_name_the_json_path),
        T(test_expect_conditions_load_as_written),
        T(test_expect_secrets_are_sealed_and_not_in_the_target),
        T(test_expect_all_conditions_hold_on_a_healthy_answer),
        T(test_expect_failed_conditions_name_path_condition_and_value),
        T(test_expect_post_with_a_body_reaches_the_server),
        T(test_expect_credentials_reach_the_server),
        T(test_expect_run_outlives_its_configuration),
        T(test_expect_allocation_failures_give_null_or_a_sample),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
