/*
 * Unit tests for probe/http_cond, the condition language of the http type:
 * operators and operands as one string, dotted paths with escapes, every
 * comparison true and false on numbers, strings, booleans, null, arrays
 * and missing values (with the exact reason), header text comparisons, and
 * PCRE2 patterns: compile errors with offsets, matches, and the match
 * limit stopping a catastrophic pattern quickly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "probe/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *heap_alloc(void *ud, size_t n)
{
    (void)ud;
    return base_malloc(n);
}

/* A regex compiled as the loader does, its code on the heap. */
static struct probe_http_regex regex(const char *pattern)
{
    struct probe_http_regex re = {pattern, NULL, 0};
    char why[200];
    int rc = probe_http_cond_regex_compile(pattern, strlen(pattern), heap_alloc, NULL, &re.code, &re.code_len, why,
                                           sizeof(why));
    if (rc)
        fail_msg("%s: %s", pattern, why);
    return re;
}

static void regex_free(struct probe_http_regex *re)
{
    base_free((void *)re->code);
}

static void test_cond_parse_reads_every_operator(void **state)
{
    static const struct {
        const char *text, *operand;
        enum probe_http_op op;
    } cases[] = {
        {"== ok", "ok", PROBE_HTTP_OP_EQ},  {"!=down", "down", PROBE_HTTP_OP_NE},
        {"< 500", "500", PROBE_HTTP_OP_LT}, {"<= -1.5e3 ", "-1.5e3", PROBE_HTTP_OP_LE},
        {">0", "0", PROBE_HTTP_OP_GT},      {">=\t12.25", "12.25", PROBE_HTTP_OP_GE},
        {"~ ^2\\. ", "^2\\. ", PROBE_HTTP_OP_MATCH}, /* a pattern keeps its trailing blank */
        {"!~ERROR", "ERROR", PROBE_HTTP_OP_NOMATCH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_http_cond_text ct;
        char why[100] = "";
        assert_int_equal(probe_http_cond_parse(cases[i].text, strlen(cases[i].text), &ct, why, sizeof(why)), 1);
        assert_int_equal(ct.op, cases[i].op);
        assert_int_equal(ct.operand_len, strlen(cases[i].operand));
        assert_memory_equal(ct.operand, cases[i].operand, ct.operand_len);
    }
    /* plain values are not conditions */
    static const char *const plain[] = {"ok", "= ok", "", "!", "a < b", "=>5", "-3"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        struct probe_http_cond_text ct;
        assert_int_equal(probe_http_cond_parse(plain[i], strlen(plain[i]), &ct, NULL, 0), 0);
    }
}

static void test_cond_parse_refuses_bad_conditions(void **state)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"<", "'<' needs a value after it"},
        {"==   ", "'==' needs a value after it"},
        {"~", "'~' needs a pattern after it"},
        {"< fast", "'<' compares numbers: expected a number after it"},
        {">= 1e", "'>=' compares numbers"},
        {"<= 0x10", "'<=' compares numbers"},
        {"> 01", "'>' compares numbers"},
        {"< 5 ms", "'<' compares numbers"},
        {"< 1e999", "'<' compares numbers"}, /* no double holds it */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_http_cond_text ct;
        char why[100] = "";
        assert_int_equal(probe_http_cond_parse(cases[i].text, strlen(cases[i].text), &ct, why, sizeof(why)), -1);
        if (!strstr(why, cases[i].why))
            fail_msg("%s: got '%s'", cases[i].text, why);
    }
}

static void test_cond_operand_json_types_the_operand(void **state)
{
    static const struct {
        const char *operand, *json;
    } cases[] = {
        {"true", "true"},         {"false", "false"},      {"null", "null"},     {"12", "12"},
        {"-1.5e3", "-1.5e3"},     {"ok", "\"ok\""},        {"\"12\"", "\"12\""}, {"\"a \\\"b\\\" \\\\\"", "\"a \\\"b\\\" \\\\\""},
        {"True", "\"True\""},     {"007", "\"007\""},      {"\"\"", "\"\""},     {"two words", "\"two words\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct base_buf b;
        base_buf_init(&b, 1024);
        char why[100] = "";
        assert_int_equal(probe_http_cond_operand_json(cases[i].operand, strlen(cases[i].operand), &b, why, sizeof(why)),
                         0);
        assert_int_equal(b.len, strlen(cases[i].json));
        assert_memory_equal(b.data, cases[i].json, b.len);
        base_buf_free(&b);
    }
    /* a NUL (the loader refuses it; this layer takes any bytes): escaped, and comparable */
    struct base_buf nul;
    base_buf_init(&nul, 64);
    assert_int_equal(probe_http_cond_operand_json("a\0b", 3, &nul, NULL, 0), 0);
    assert_int_equal(base_buf_append(&nul, "", 1), 0);
    assert_string_equal(nul.data, "\"a\\u0000b\"");
    struct probe_http_json_expect x = {.path = "s", .value_json = nul.data, .op = PROBE_HTTP_OP_EQ};
    json_t *s = json_string("ok");
    char reason[100];
    assert_int_equal(probe_http_cond_json(&x, s, reason, sizeof(reason)), 0);
    assert_string_equal(reason, "is \"ok\", expected \"a\\u0000b\"");
    json_decref(s);
    base_buf_free(&nul);
    /* control characters, C1 included, come back from their escapes */
    json_t *c1 = probe_http_cond_literal("\"a\\u0001\\u0085\\u007f\"");
    assert_non_null(c1);
    assert_string_equal(json_string_value(c1), "a\x01\xc2\x85\x7f");
    json_decref(c1);
    static const char *const bad[] = {"\"open", "\"a\"b\"", "\"a\\nb\"", "\"tail\\\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct base_buf b;
        base_buf_init(&b, 1024);
        char why[100] = "";
        assert_int_equal(probe_http_cond_operand_json(bad[i], strlen(bad[i]), &b, why, sizeof(why)), BASE_ERR_INVALID);
        assert_true(why[0] != '\0');
        base_buf_free(&b);
    }
}

static void test_cond_paths_check_and_escape(void **state)
{
    static const char *const good[] = {"a", "data.status", "items.0.ready", "db\\.primary.up", "back\\\\slash",
                                       "a.\\.", "0"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char why[120] = "";
        if (probe_http_cond_path_check(good[i], strlen(good[i]), why, sizeof(why)))
            fail_msg("%s refused: %s", good[i], why);
    }
    static const struct {
        const char *path, *why;
    } bad[] = {
        {"", "expected dotted names"},   {".a", "expected dotted names"}, {"a..b", "expected dotted names"},
        {"a.", "expected dotted names"}, {"a\\b", "a backslash escapes only"}, {"a\\", "a backslash escapes only"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[120] = "";
        assert_int_equal(probe_http_cond_path_check(bad[i].path, strlen(bad[i].path), why, sizeof(why)), -1);
        if (!strstr(why, bad[i].why))
            fail_msg("%s: got '%s'", bad[i].path, why);
    }
    char longest[PROBE_HTTP_PATH_MAX + 2];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    char why[120];
    assert_int_equal(probe_http_cond_path_check(longest, strlen(longest), why, sizeof(why)), -1);
    assert_non_null(strstr(why, "longer than 512 bytes"));
    longest[PROBE_HTTP_PATH_MAX] = '\0';
    assert_int_equal(probe_http_cond_path_check(longest, PROBE_HTTP_PATH_MAX, why, sizeof(why)), 0);
    assert_int_equal(probe_http_cond_path_check("a\0b", 3, why, sizeof(why)), -1);
}

static json_t *doc(void)
{
    json_t *v = json_loads("{\"status\":\"ok\",\"n\":812,\"r\":12.5,\"ok\":true,\"none\":null,"
                           "\"items\":[{\"ready\":true},{\"ready\":false}],\"db.primary\":{\"up\":1},"
                           "\"back\\\\slash\":2,\"obj\":{\"0\":\"zero\"},\"v\":\"2.4.1\",\"list\":[1,2]}",
                           0, NULL);
    assert_non_null(v);
    return v;
}

static void test_cond_path_find_walks_objects_arrays_and_escapes(void **state)
{
    json_t *root = doc();
    assert_string_equal(json_string_value(probe_http_cond_path_find(root, "status")), "ok");
    assert_true(json_is_true(probe_http_cond_path_find(root, "items.0.ready")));
    assert_true(json_is_false(probe_http_cond_path_find(root, "items.1.ready")));
    assert_int_equal(json_integer_value(probe_http_cond_path_find(root, "db\\.primary.up")), 1);
    assert_int_equal(json_integer_value(probe_http_cond_path_find(root, "back\\\\slash")), 2);
    assert_string_equal(json_string_value(probe_http_cond_path_find(root, "obj.0")), "zero"); /* a name on an object */
    assert_true(json_is_null(probe_http_cond_path_find(root, "none")));
    assert_null(probe_http_cond_path_find(root, "db.primary.up"));  /* no key "db" */
    assert_null(probe_http_cond_path_find(root, "items.2.ready"));
    assert_null(probe_http_cond_path_find(root, "items.x"));
    assert_null(probe_http_cond_path_find(root, "items.-1"));
    assert_null(probe_http_cond_path_find(root, "items.0000000001")); /* ten digits: no such index */
    assert_null(probe_http_cond_path_find(root, "status.x"));         /* into a string */
    assert_null(probe_http_cond_path_find(root, "status..x"));
    assert_null(probe_http_cond_path_find(root, "nope"));
    json_decref(root);
}

struct jcase {
    const char *path;
    enum probe_http_op op;
    const char *value_json, *expr;
    int want;            /* 1 holds, 0 fails */
    const char *why;     /* the reason when it fails */
};

static void run_jcases(const struct jcase *cases, size_t n)
{
    json_t *root = doc();
    for (size_t i = 0; i < n; i++) {
        struct probe_http_json_expect x = {.path = cases[i].path, .value_json = cases[i].value_json,
                                           .op = cases[i].op, .expr = cases[i].expr};
        if (probe_http_cond_is_regex(x.op)) {
            x.re = regex(x.value_json);
            x.value_json = NULL;
        }
        char why[200] = "";
        int got = probe_http_cond_json(&x, probe_http_cond_path_find(root, x.path), why, sizeof(why));
        if (got != cases[i].want || (cases[i].why && strcmp(why, cases[i].why) != 0))
            fail_msg("case %zu (%s %s): got %d '%s'", i, cases[i].path, cases[i].expr ? cases[i].expr : "", got, why);
        regex_free(&x.re);
    }
    json_decref(root);
}

static void test_cond_equality_on_every_type(void **state)
{
    const struct jcase cases[] = {
        {"n", PROBE_HTTP_OP_EQ, "812", NULL, 1, NULL},
        {"n", PROBE_HTTP_OP_EQ, "812.0", "== 812.0", 1, NULL}, /* numbers as numbers */
        {"n", PROBE_HTTP_OP_EQ, "500", NULL, 0, "is 812, expected 500"},
        {"n", PROBE_HTTP_OP_EQ, "\"812\"", "== \"812\"", 0, "is 812, expected == \"812\""},
        {"status", PROBE_HTTP_OP_EQ, "\"ok\"", "== ok", 1, NULL},
        {"status", PROBE_HTTP_OP_NE, "\"ok\"", "!= ok", 0, "is \"ok\", expected != ok"},
        {"status", PROBE_HTTP_OP_NE, "\"down\"", "!= down", 1, NULL},
        {"ok", PROBE_HTTP_OP_EQ, "true", NULL, 1, NULL},
        {"ok", PROBE_HTTP_OP_EQ, "false", NULL, 0, "is true, expected false"},
        {"ok", PROBE_HTTP_OP_EQ, "\"true\"", NULL, 0, "is true, expected \"true\""},
        {"none", PROBE_HTTP_OP_EQ, "null", NULL, 1, NULL},
        {"none", PROBE_HTTP_OP_NE, "null", "!= null", 0, "is null, expected != null"},
        {"list", PROBE_HTTP_OP_EQ, "1", NULL, 0, "is [1,2], expected 1"},
        {"list", PROBE_HTTP_OP_NE, "\"x\"", "!= x", 1, NULL},
        {"n", PROBE_HTTP_OP_EQ, "12345678901234567890123", NULL, 0, "is 812, expected 12345678901234567890123"},
        {"missing", PROBE_HTTP_OP_EQ, "1", NULL, 0, "is missing"},
        {"missing", PROBE_HTTP_OP_NE, "1", "!= 1", 0, "is missing"},
    };
    run_jcases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_cond_ordering_on_numbers_only(void **state)
{
    const struct jcase cases[] = {
        {"n", PROBE_HTTP_OP_LT, "500", "< 500", 0, "is 812, expected < 500"},
        {"n", PROBE_HTTP_OP_LT, "1000", "< 1000", 1, NULL},
        {"n", PROBE_HTTP_OP_LE, "812", "<= 812", 1, NULL},
        {"n", PROBE_HTTP_OP_LE, "811.9", "<= 811.9", 0, "is 812, expected <= 811.9"},
        {"r", PROBE_HTTP_OP_GT, "12", "> 12", 1, NULL},
        {"r", PROBE_HTTP_OP_GT, "12.5", "> 12.5", 0, "is 12.5, expected > 12.5"},
        {"r", PROBE_HTTP_OP_GE, "12.5", ">= 12.5", 1, NULL},
        {"n", PROBE_HTTP_OP_GE, "1e3", ">= 1e3", 0, "is 812, expected >= 1e3"},
        {"status", PROBE_HTTP_OP_LT, "5", "< 5", 0, "is \"ok\", expected < 5 (not a number)"},
        {"v", PROBE_HTTP_OP_GT, "2", "> 2", 0, "is \"2.4.1\", expected > 2 (not a number)"},
        {"ok", PROBE_HTTP_OP_GT, "0", "> 0", 0, "is true, expected > 0 (not a number)"},
        {"none", PROBE_HTTP_OP_LT, "1", "< 1", 0, "is null, expected < 1 (not a number)"},
        {"list", PROBE_HTTP_OP_GE, "1", ">= 1", 0, "is [1,2], expected >= 1 (not a number)"},
        {"missing", PROBE_HTTP_OP_LT, "1", "< 1", 0, "is missing"},
    };
    run_jcases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_cond_regex_on_strings_only(void **state)
{
    const struct jcase cases[] = {
        {"v", PROBE_HTTP_OP_MATCH, "^2\\.", "~ ^2\\.", 1, NULL},
        {"v", PROBE_HTTP_OP_MATCH, "^3\\.", "~ ^3\\.", 0, "is \"2.4.1\", expected ~ ^3\\."},
        {"v", PROBE_HTTP_OP_NOMATCH, "beta", "!~ beta", 1, NULL},
        {"status", PROBE_HTTP_OP_NOMATCH, "(?i)OK", "!~ (?i)OK", 0, "is \"ok\", expected !~ (?i)OK"},
        {"n", PROBE_HTTP_OP_MATCH, "8", "~ 8", 0, "is 812, expected ~ 8 (not a string)"},
        {"none", PROBE_HTTP_OP_NOMATCH, "x", "!~ x", 0, "is null, expected !~ x (not a string)"},
        {"missing", PROBE_HTTP_OP_MATCH, "x", "~ x", 0, "is missing"},
    };
    run_jcases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_cond_text_compares_header_values(void **state)
{
    struct probe_http_regex json = regex("^application/json");
    char why[100];
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_EQ, "HIT", NULL, "HIT", 3, why, sizeof(why)), 1);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_EQ, "HIT", NULL, "HI", 2, why, sizeof(why)), 0);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_NE, "HIT", NULL, "MISS", 4, why, sizeof(why)), 1);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_LT, "300", NULL, "42", 2, why, sizeof(why)), 1);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_GE, "300", NULL, "42", 2, why, sizeof(why)), 0);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_LT, "300", NULL, "soon", 4, why, sizeof(why)), 0);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_LT, "300", NULL, "", 0, why, sizeof(why)), 0);
    const char *ct = "application/json; charset=utf-8";
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_MATCH, "", &json, ct, strlen(ct), why, sizeof(why)), 1);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_NOMATCH, "", &json, ct, strlen(ct), why, sizeof(why)), 0);
    assert_int_equal(probe_http_cond_text(PROBE_HTTP_OP_MATCH, "", &json, "text/html", 9, why, sizeof(why)), 0);
    regex_free(&json);
}

static void test_cond_regex_compile_errors_name_the_offset(void **state)
{
    static const struct {
        const char *pattern, *why;
    } cases[] = {
        {"(a", "bad regex: missing closing parenthesis at offset 2"},
        {"a{2,1}", "bad regex: numbers out of order in {} quantifier at offset 5"},
        {"[z-a]", "bad regex: range out of order in character class at offset 3"},
        {"\xff", "bad regex: UTF-8 error"},
        {"a\\C", "bad regex: using \\C is disabled"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const unsigned char *code = NULL;
        size_t len = 0;
        char why[200] = "";
        assert_int_equal(probe_http_cond_regex_compile(cases[i].pattern, strlen(cases[i].pattern), heap_alloc, NULL,
                                                       &code, &len, why, sizeof(why)),
                         BASE_ERR_INVALID);
        if (!strstr(why, cases[i].why))
            fail_msg("%s: got '%s'", cases[i].pattern, why);
        assert_null(code);
    }
    char longest[PROBE_HTTP_REGEX_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    const unsigned char *code = NULL;
    size_t len = 0;
    char why[200];
    assert_int_equal(probe_http_cond_regex_compile(longest, sizeof(longest), heap_alloc, NULL, &code, &len, why,
                                                   sizeof(why)),
                     BASE_ERR_INVALID);
    assert_non_null(strstr(why, "longer than 1024 bytes"));
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void test_cond_regex_matches_and_stops_at_the_limit(void **state)
{
    struct probe_http_regex re = regex("ERROR: (\\w+)");
    const char body[] = "all fine\nERROR: disk full\n";
    size_t at = 0, len = 0;
    char why[120] = "";
    assert_int_equal(probe_http_cond_regex_match(&re, body, strlen(body), &at, &len, why, sizeof(why)), 1);
    assert_int_equal(at, 9);
    assert_int_equal(len, strlen("ERROR: disk"));
    assert_int_equal(probe_http_cond_regex_match(&re, "fine", 4, NULL, NULL, why, sizeof(why)), 0);
    /* invalid UTF-8 and NUL bytes in a body are searched, not refused */
    const char odd[] = "\xff\xfe\0ERROR: x";
    assert_int_equal(probe_http_cond_regex_match(&re, odd, sizeof(odd) - 1, &at, NULL, why, sizeof(why)), 1);
    assert_int_equal(at, 3);
    regex_free(&re);

    /* the classic catastrophic pattern on 64 KiB of "a": stopped, quickly */
    struct probe_http_regex bad = regex("(a+)+$");
    size_t n = 64 * 1024;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    a[n - 1] = '!';
    double t0 = now_ms();
    assert_int_equal(probe_http_cond_regex_match(&bad, a, n, NULL, NULL, why, sizeof(why)), BASE_ERR_TOO_BIG);
    double took = now_ms() - t0;
    assert_string_equal(why, "match limit exceeded");
    print_message("(a+)+$ on 64 KiB stopped after %.1f ms\n", took);
    assert_true(took < 500);
    free(a);
    regex_free(&bad);

    struct probe_http_regex none = {"x", NULL, 0};
    assert_int_equal(probe_http_cond_regex_match(&none, "x", 1, NULL, NULL, why, sizeof(why)), BASE_ERR_INVALID);
}

static void test_cond_regex_survives_allocation_failures(void **state)
{
    struct probe_http_regex re = regex("b+");
    int nomem = 0;
    for (long i = 0; i < 12; i++) {
        char why[100];
        base_alloc_fail_after(i);
        int rc = probe_http_cond_regex_match(&re, "abbc", 4, NULL, NULL, why, sizeof(why));
        base_alloc_fail_after(-1);
        assert_true(rc == 1 || rc == BASE_ERR_NOMEM);
        nomem += rc == BASE_ERR_NOMEM;
        const unsigned char *code = NULL;
        size_t len;
        base_alloc_fail_after(i);
        rc = probe_http_cond_regex_compile("c+", 2, heap_alloc, NULL, &code, &len, why, sizeof(why));
        base_alloc_fail_after(-1);
        assert_true(rc == 0 || rc == BASE_ERR_NOMEM);
        base_free((void *)code);
    }
    assert_true(nomem >= 3); /* the context, the decoded code, the match data */
    regex_free(&re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cond_parse_reads_every_operator),
        cmocka_unit_test(test_cond_parse_refuses_bad_conditions),
        cmocka_unit_test(test_cond_operand_json_types_the_operand),
        cmocka_unit_test(test_cond_paths_check_and_escape),
        cmocka_unit_test(test_cond_path_find_walks_objects_arrays_and_escapes),
        cmocka_unit_test(test_cond_equality_on_every_type),
        cmocka_unit_test(test_cond_ordering_on_numbers_only),
        cmocka_unit_test(test_cond_regex_on_strings_only),
        cmocka_unit_test(test_cond_text_compares_header_values),
        cmocka_unit_test(test_cond_regex_compile_errors_name_the_offset),
        cmocka_unit_test(test_cond_regex_matches_and_stops_at_the_limit),
        cmocka_unit_test(test_cond_regex_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
