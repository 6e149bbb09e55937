/*
 * tests/http/test_body: request body parsing (limits, UTF-8, NUL, BOM,
 * duplicates, trailing data, non-object bodies, syntax positions) and
 * validation against field tables (each rule good and bad, exact paths and
 * messages for nested errors, secrets never echoed), the accessors, a 1 MiB
 * body, and every allocation failure through parse and validate.
 */
#include "http/body.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const roles[] = {"viewer", "operator", "admin", NULL};

static const struct http_body_field user_fields[] = {
    {.name = "username", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 64,
     .pattern = HTTP_BODY_PATTERN_ID},
    {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true, .min = 12,
     .max = 1024},
    {.name = "role", .type = HTTP_BODY_STRING, .one_of = roles},
};

static const struct http_body_field item_fields[] = {
    {.name = "name", .type = HTTP_BODY_STRING, .required = true, .max = 5},
    {.name = "weight", .type = HTTP_BODY_INT, .min = 1, .max = 10},
};

static const struct http_body_field limit_fields[] = {
    {.name = "max", .type = HTTP_BODY_INT, .min = 0, .max = INT64_MAX},
};

static const struct http_body_field all_fields[] = {
    {.name = "name", .type = HTTP_BODY_STRING, .max = 5},
    {.name = "note", .type = HTTP_BODY_STRING, .multiline = true, .nullable = true},
    {.name = "count", .type = HTTP_BODY_INT, .min = -5, .max = 5},
    {.name = "big", .type = HTTP_BODY_INT},
    {.name = "ratio", .type = HTTP_BODY_NUMBER, .min = 0, .max = 1},
    {.name = "on", .type = HTTP_BODY_BOOL},
    {.name = "expires", .type = HTTP_BODY_DURATION, .min = 60000, .max = 365LL * 86400000},
    {.name = "labels", .type = HTTP_BODY_OBJECT_OF_STRINGS, .key_pattern = HTTP_BODY_PATTERN_LABEL_NAME,
     .max = 8, .max_items = 3},
    {.name = "tags", .type = HTTP_BODY_ARRAY_OF_STRINGS, .max_items = 3, .pattern = HTTP_BODY_PATTERN_ID},
    {.name = "items", .type = HTTP_BODY_ARRAY_OF_OBJECTS, HTTP_BODY_FIELDS(item_fields)},
    {.name = "limits", .type = HTTP_BODY_OBJECT, HTTP_BODY_FIELDS(limit_fields)},
};

/* ---- helpers -------------------------------------------------------- */

static int parse(const char *s, struct http_body_error *err)
{
    json_t *j = NULL;
    int rc = http_body_parse(s, strlen(s), &j, err);
    assert_true((rc == 0) == (j != NULL));
    json_decref(j);
    return rc;
}

static void assert_parse_fails(const char *s, size_t n, const char *message)
{
    struct http_body_error err;
    json_t *j = (json_t *)1;
    assert_int_equal(http_body_parse(s, n, &j, &err), BASE_ERR_INVALID);
    assert_null(j);
    assert_string_equal(err.code, "invalid_json");
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, message);
}

/* Validates `body` against all_fields (or `fields`); returns rc. */
static int check(const char *body, const struct http_body_field *fields, size_t n, bool reject,
                 struct http_body_error *err)
{
    json_t *j = NULL;
    int rc = http_body_parse(body, strlen(body), &j, err);
    assert_int_equal(rc, 0);
    rc = http_body_validate(j, fields, n, reject, err);
    json_decref(j);
    return rc;
}

static void assert_valid(const char *body)
{
    struct http_body_error err;
    int rc = check(body, all_fields, N(all_fields), true, &err);
    if (rc)
        fail_msg("%s: %s", body, err.message);
}

static void assert_invalid(const char *body, const char *field, const char *message)
{
    struct http_body_error err;
    assert_int_equal(check(body, all_fields, N(all_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.code, "invalid_field");
    assert_int_equal(err.status, 400);
    assert_string_equal(err.field, field);
    assert_string_equal(err.message, message);
}

/* {"a":[[...]]}: `depth` levels, the object included. */
static char *nested(int depth)
{
    size_t arrays = (size_t)depth - 1, n = 0;
    char *s = malloc(arrays * 2 + 8);
    assert_non_null(s);
    memcpy(s, "{\"a\":", 5);
    n = 5;
    memset(s + n, '[', arrays);
    n += arrays;
    memset(s + n, ']', arrays);
    n += arrays;
    memcpy(s + n, "}", 2);
    return s;
}

/* {"a":[0,0,...]} with `elements` array elements: 2 + elements values. */
static char *array_body(size_t elements)
{
    char *s = malloc(elements * 2 + 16);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, 16, "{\"a\":[");
    for (size_t i = 0; i < elements; i++) {
        if (i)
            s[n++] = ',';
        s[n++] = '0';
    }
    memcpy(s + n, "]}", 3);
    return s;
}

/* ---- parsing -------------------------------------------------------- */

static void test_body_parse_accepts_an_object_with_whitespace(void **state)
{
    struct http_body_error err;
    json_t *j = NULL;
    const char *s = " \r\n\t{\"a\": \"b\", \"n\": [1, 2.5, true, null, {}]}\n";
    assert_int_equal(http_body_parse(s, strlen(s), &j, &err), 0);
    assert_string_equal(http_body_str(j, "a"), "b");
    json_decref(j);
    /* Not NUL-terminated: only len bytes are read. */
    assert_int_equal(http_body_parse("{}garbage", 2, &j, &err), 0);
    json_decref(j);
}

static void test_body_parse_rejects_empty_bodies(void **state)
{
    assert_parse_fails("", 0, "request body is empty");
    assert_parse_fails(NULL, 0, "request body is empty");
    assert_parse_fails(" \n\t\r ", 5, "request body is empty");
}

static void test_body_parse_rejects_non_object_top_level(void **state)
{
    assert_parse_fails("[1,2]", 5, "request body must be a JSON object, not an array");
    assert_parse_fails("\"str\"", 5, "request body must be a JSON object");
    assert_parse_fails("42", 2, "request body must be a JSON object");
    assert_parse_fails(" true", 5, "request body must be a JSON object");
    assert_parse_fails("null", 4, "request body must be a JSON object");
}

static void test_body_parse_rejects_a_byte_order_mark(void **state)
{
    assert_parse_fails("\xEF\xBB\xBF{}", 5, "invalid JSON at line 1, column 1: a byte order mark is not allowed");
}

static void test_body_parse_rejects_trailing_data(void **state)
{
    assert_parse_fails("{\"a\":1} x", 9, "invalid JSON at line 1, column 9: unexpected data after the object");
    assert_parse_fails("{}{}", 4, "invalid JSON at line 1, column 3: unexpected data after the object");
    assert_parse_fails("{}\n\n  ,", 7, "invalid JSON at line 3, column 3: unexpected data after the object");
    assert_parse_fails("{\"a\":1", 6, "invalid JSON at line 1, column 6: unexpected end of input");
}

static void test_body_parse_rejects_nul_bytes(void **state)
{
    assert_parse_fails("{}\0", 3, "invalid JSON at line 1, column 3: NUL byte");
    assert_parse_fails("{\"a\":\"x\0y\"}", 11, "invalid JSON at line 1, column 8: NUL byte");
    assert_parse_fails("{\"a\":\"x\\u0000y\"}", 16, "invalid JSON at line 1, column 15: \\u0000 is not allowed");
    assert_parse_fails("{\"a\\u0000\":1}", 13, "invalid JSON at line 1, column 10: \\u0000 is not allowed");
}

static void test_body_parse_rejects_invalid_utf8(void **state)
{
    struct http_body_error err;
    /* overlong '/', a UTF-16 surrogate encoded in UTF-8, a stray byte,
     * a truncated sequence, a code point past U+10FFFF, in values and keys */
    const char *bad[] = {"{\"a\":\"\xC0\xAF\"}", "{\"a\":\"\xED\xA0\x80\"}", "{\"a\":\"\xFF\"}",
                         "{\"a\":\"\xE2\x82\"}", "{\"a\":\"\xF4\x90\x80\x80\"}", "{\"\xC0\xAF\":1}"};
    for (size_t i = 0; i < N(bad); i++) {
        assert_int_equal(parse(bad[i], &err), BASE_ERR_INVALID);
        assert_non_null(strstr(err.message, "invalid UTF-8"));
        assert_true(err.line == 1 && err.column > 0);
    }
    /* escaped lone surrogates */
    assert_parse_fails("{\"a\":\"\\ud800\"}", 14,
                       "invalid JSON at line 1, column 13: invalid \\u escape (bad hex digits or a lone surrogate)");
    assert_int_equal(parse("{\"a\":\"\\udc00\\ud800\"}", &err), BASE_ERR_INVALID);
    /* a valid pair and plain multi-byte text pass */
    assert_int_equal(parse("{\"a\":\"\\ud83d\\ude00 \xE2\x82\xAC \xF0\x9F\x98\x80\"}", &err), 0);
}

static void test_body_parse_rejects_duplicate_keys(void **state)
{
    struct http_body_error err;
    assert_parse_fails("{\"a\":1,\"a\":2}", 13, "invalid JSON at line 1, column 10: duplicate key");
    assert_int_equal(parse("{\"o\":{\"k\":1,\"k\":1}}", &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "invalid JSON at line 1, column 15: duplicate key");
    /* the same key in different objects is fine */
    assert_int_equal(parse("{\"k\":{\"k\":{\"k\":1}}}", &err), 0);
}

static void test_body_parse_limits_depth_to_32(void **state)
{
    struct http_body_error err;
    char *ok = nested(32), *bad = nested(33);
    assert_int_equal(parse(ok, &err), 0);
    assert_int_equal(parse(bad, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "invalid JSON at line 1, column 37: nested deeper than 32 levels");
    free(ok);
    free(bad);
    /* brackets inside strings do not count */
    assert_int_equal(parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"}", &err), 0);
    /* objects nest the same way */
    char obj[33 * 6 + 8];
    size_t n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(obj + n, sizeof(obj) - n, i < 32 ? "{\"a\":" : "{");
    for (int i = 0; i < 33; i++)
        obj[n++] = '}';
    obj[n] = '\0';
    assert_int_equal(parse(obj, &err), BASE_ERR_INVALID);
    assert_non_null(strstr(err.message, "nested deeper than 32 levels"));
    memmove(obj, obj + 5, n - 5 + 1); /* drop one level */
    obj[strlen(obj) - 1] = '\0';
    assert_int_equal(parse(obj, &err), 0);
}

static void test_body_parse_limits_values_to_10000(void **state)
{
    struct http_body_error err;
    char *ok = array_body(9998), *bad = array_body(9999); /* 10,000 and 10,001 values */
    assert_int_equal(parse(ok, &err), 0);
    assert_int_equal(parse(bad, &err), BASE_ERR_INVALID);
    assert_non_null(strstr(err.message, "more than 10000 values"));
    free(ok);
    free(bad);
    /* object members count too: {"k0":0,...} with 9,999 members = 10,000 values */
    size_t cap = 10001 * 12 + 8, n = 0;
    char *obj = malloc(cap);
    assert_non_null(obj);
    obj[n++] = '{';
    for (int i = 0; i < 9999; i++)
        n += (size_t)snprintf(obj + n, cap - n, "%s\"k%d\":0", i ? "," : "", i);
    memcpy(obj + n, "}", 2);
    assert_int_equal(parse(obj, &err), 0);
    memcpy(obj + n, ",\"x\":[]}", 9);
    assert_int_equal(parse(obj, &err), BASE_ERR_INVALID);
    assert_non_null(strstr(err.message, "more than 10000 values"));
    free(obj);
    /* empty containers count once, nested arrays count each element */
    assert_int_equal(parse("{\"a\":[[],[[]],{}],\"b\":[[1,2],[3]]}", &err), 0);
}

static void test_body_parse_limits_strings_to_64_kib(void **state)
{
    struct http_body_error err;
    size_t big = HTTP_BODY_MAX_STRING;
    char *s = malloc(big + 64);
    assert_non_null(s);
    memcpy(s, "{\"o\":{\"k\":\"", 11);
    memset(s + 11, 'x', big);
    memcpy(s + 11 + big, "\"}}", 4);
    assert_int_equal(parse(s, &err), 0);
    memcpy(s + 11 + big, "x\"}}", 5);
    assert_int_equal(parse(s, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "o.k");
    assert_string_equal(err.message, "o.k is longer than 65536 bytes");
    /* escapes count decoded: 65536 "\n" escapes are 131072 bytes of body */
    free(s);
    s = malloc(big * 2 + 64);
    assert_non_null(s);
    memcpy(s, "{\"k\":\"", 6);
    for (size_t i = 0; i < big; i++)
        memcpy(s + 6 + 2 * i, "\\n", 2);
    memcpy(s + 6 + 2 * big, "\"}", 3);
    assert_int_equal(parse(s, &err), 0);
    /* and keys */
    memcpy(s, "{\"", 2);
    memset(s + 2, 'k', big + 1);
    memcpy(s + 3 + big, "\":1}", 5);
    assert_int_equal(parse(s, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "a key is longer than 65536 bytes");
    assert_int_equal(strlen(err.field), 64);
    free(s);
}

static void test_body_parse_reports_syntax_errors_with_position_not_input(void **state)
{
    struct http_body_error err;
    assert_parse_fails("{\n  \"a\": 1,\n  \"b\" 2\n}", 20, "invalid JSON at line 3, column 7: expected ':' after a key");
    assert_int_equal(parse("{\n\"a\":tru}", &err), BASE_ERR_INVALID);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.field, "");
    /* jansson would quote the token ("near '...'"); nothing of it may show */
    assert_int_equal(parse("{\"password\":\"hunter2-secret\x01\"}", &err), BASE_ERR_INVALID);
    assert_null(strstr(err.message, "hunter2"));
    assert_int_equal(parse("{\"password\":hunter2}", &err), BASE_ERR_INVALID);
    assert_null(strstr(err.message, "hunter2"));
    assert_int_equal(parse("{\"password\":\"hunter2\\q\"}", &err), BASE_ERR_INVALID);
    assert_null(strstr(err.message, "hunter2"));
    assert_string_equal(err.message, "invalid JSON at line 1, column 22: invalid escape in a string");
    assert_int_equal(parse("{\"a\":1,}", &err), BASE_ERR_INVALID);
    assert_int_equal(parse("{'a':1}", &err), BASE_ERR_INVALID);
    assert_int_equal(parse("{\"a\":01}", &err), BASE_ERR_INVALID);
    assert_int_equal(parse("{\"a\":NaN}", &err), BASE_ERR_INVALID);
}

static void test_body_parse_rejects_numbers_out_of_range(void **state)
{
    struct http_body_error err;
    assert_int_equal(parse("{\"a\":9223372036854775807,\"b\":-9223372036854775808}", &err), 0);
    assert_int_equal(parse("{\"a\":9223372036854775808}", &err), BASE_ERR_INVALID);
    assert_non_null(strstr(err.message, "number out of range"));
    assert_int_equal(parse("{\"a\":1e999}", &err), BASE_ERR_INVALID);
    assert_non_null(strstr(err.message, "number out of range"));
}

static void test_body_parse_handles_a_1_mib_body(void **state)
{
    struct http_body_error err;
    size_t cap = 1024 * 1024, n = 0;
    char *s = malloc(cap + 1);
    assert_non_null(s);
    n += (size_t)snprintf(s, cap, "{\"items\":[");
    int count = 0;
    while (n + 64100 < cap) {
        n += (size_t)snprintf(s + n, cap - n, "%s{\"name\":\"", count ? "," : "");
        memset(s + n, 'a' + count % 26, 64000);
        n += 64000;
        n += (size_t)snprintf(s + n, cap - n, "\",\"weight\":%d}", count++);
    }
    n += (size_t)snprintf(s + n, cap - n, "]}");
    assert_true(n > 1000 * 1000);
    json_t *j = NULL;
    assert_int_equal(http_body_parse(s, n, &j, &err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "items")), count);
    json_decref(j);
    free(s);
}

/* ---- validation ----------------------------------------------------- */

static void test_body_validate_accepts_every_type(void **state)
{
    assert_valid("{}");
    assert_valid("{\"name\":\"h\xC3\xA9llo\",\"note\":\"line 1\\nline\\t2\\r\\n\",\"count\":-5,"
                 "\"big\":9223372036854775807,\"ratio\":0.5,\"on\":false,\"expires\":\"30d\","
                 "\"labels\":{\"team\":\"core\",\"Env_2\":\"\"},\"tags\":[\"a\",\"b-1.c\"],"
                 "\"items\":[{\"name\":\"x\",\"weight\":10},{\"name\":\"y\"}],\"limits\":{\"max\":0}}");
    assert_valid("{\"ratio\":1,\"count\":5,\"expires\":\"1m\",\"tags\":[],\"items\":[],\"labels\":{}}");
    assert_valid("{\"note\":null}");
}

static void test_body_validate_reports_missing_required_fields(void **state)
{
    struct http_body_error err;
    assert_int_equal(check("{\"username\":\"ann\"}", user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "password");
    assert_string_equal(err.message, "password is required");
    assert_int_equal(check("{}", user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "username is required");
    assert_invalid("{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"weight\":2}]}", "items[2].name",
                   "items[2].name is required");
}

static void test_body_validate_checks_types(void **state)
{
    assert_invalid("{\"name\":1}", "name", "name must be a string, not an integer");
    assert_invalid("{\"name\":null}", "name", "name must be a string, not null");
    assert_invalid("{\"count\":\"1\"}", "count", "count must be an integer, not a string");
    assert_invalid("{\"count\":1.5}", "count", "count must be an integer, not a number with a fraction or exponent");
    assert_invalid("{\"count\":1.0}", "count", "count must be an integer, not a number with a fraction or exponent");
    assert_invalid("{\"count\":1e0}", "count", "count must be an integer, not a number with a fraction or exponent");
    assert_invalid("{\"ratio\":true}", "ratio", "ratio must be a number, not a boolean");
    assert_invalid("{\"on\":1}", "on", "on must be true or false, not an integer");
    assert_invalid("{\"on\":\"true\"}", "on", "on must be true or false, not a string");
    assert_invalid("{\"expires\":60}", "expires", "expires must be a duration string, not an integer");
    assert_invalid("{\"labels\":[]}", "labels", "labels must be an object of strings, not an array");
    assert_invalid("{\"tags\":\"a\"}", "tags", "tags must be an array of strings, not a string");
    assert_invalid("{\"items\":{}}", "items", "items must be an array of objects, not an object");
    assert_invalid("{\"limits\":[]}", "limits", "limits must be an object, not an array");
}

static void test_body_validate_checks_integer_and_number_ranges(void **state)
{
    assert_invalid("{\"count\":6}", "count", "count must be between -5 and 5");
    assert_invalid("{\"count\":-6}", "count", "count must be between -5 and 5");
    assert_invalid("{\"limits\":{\"max\":-1}}", "limits.max", "limits.max must be at least 0");
    assert_invalid("{\"ratio\":1.0001}", "ratio", "ratio must be between 0 and 1");
    assert_invalid("{\"ratio\":-0.5}", "ratio", "ratio must be between 0 and 1");
    assert_valid("{\"big\":-9223372036854775808}");
    static const struct http_body_field at_most[] = {{.name = "n", .type = HTTP_BODY_INT, .min = INT64_MIN, .max = 3}};
    struct http_body_error err;
    assert_int_equal(check("{\"n\":4}", at_most, 1, true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "n must be at most 3");
    assert_int_equal(check("{\"n\":-99999}", at_most, 1, true, &err), 0);
}

static void test_body_validate_counts_string_length_in_code_points(void **state)
{
    assert_valid("{\"name\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}"); /* 5 code points, 12 bytes */
    assert_invalid("{\"name\":\"abcdef\"}", "name", "name must be at most 5 characters");
    assert_invalid("{\"name\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}", "name",
                   "name must be at most 5 characters");
    struct http_body_error err;
    assert_int_equal(check("{\"username\":\"\",\"password\":\"x\"}", user_fields, N(user_fields), true, &err),
                     BASE_ERR_INVALID);
    assert_string_equal(err.message, "username must not be empty");
}

static void test_body_validate_refuses_control_characters(void **state)
{
    assert_invalid("{\"name\":\"a\\u0007\"}", "name", "name must not contain control characters");
    assert_invalid("{\"name\":\"a\\nb\"}", "name", "name must not contain control characters");
    assert_invalid("{\"name\":\"\\u007f\"}", "name", "name must not contain control characters");
    assert_invalid("{\"name\":\"\\u0085\"}", "name", "name must not contain control characters");
    assert_invalid("{\"note\":\"ok\\n\\u001b[31m\"}", "note",
                   "note must not contain control characters other than tab and newline");
    assert_invalid("{\"tags\":[\"a\",\"\\u0001\"]}", "tags[1]", "tags[1] must not contain control characters");
    assert_invalid("{\"labels\":{\"team\":\"\\t\"}}", "labels.team", "labels.team must not contain control characters");
    assert_valid("{\"name\":\"\\u00a0\\u2028\"}"); /* U+00A0 and U+2028 are not control characters */
}

static void test_body_validate_checks_one_of_with_a_hint(void **state)
{
    struct http_body_error err;
    assert_int_equal(check("{\"username\":\"ann\",\"password\":\"correct horse battery\",\"role\":\"admn\"}",
                           user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "role");
    assert_string_equal(err.message, "role must be one of viewer, operator, admin (did you mean \"admin\"?)");
    assert_int_equal(check("{\"username\":\"ann\",\"password\":\"correct horse battery\",\"role\":\"root\"}",
                           user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "role must be one of viewer, operator, admin");
    assert_int_equal(check("{\"username\":\"ann\",\"password\":\"correct horse battery\",\"role\":\"Admin\"}",
                           user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_int_equal(check("{\"username\":\"ann\",\"password\":\"correct horse battery\",\"role\":\"operator\"}",
                           user_fields, N(user_fields), true, &err), 0);
}

static void test_body_validate_checks_patterns(void **state)
{
    struct http_body_error err;
    const char *good[] = {"a", "0", "web-1.prod_x", "a123456789012345678901234567890123456789012345678901234567890bc"};
    const char *bad[] = {"-a", ".a", "_a", "Ann", "a b", "a/b", "\xC3\xA9",
                         "a1234567890123456789012345678901234567890123456789012345678901bc"};
    char body[256];
    for (size_t i = 0; i < N(good); i++) {
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"correct horse battery\"}", good[i]);
        assert_int_equal(check(body, user_fields, N(user_fields), true, &err), 0);
    }
    for (size_t i = 0; i < N(bad); i++) {
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"correct horse battery\"}", bad[i]);
        assert_int_equal(check(body, user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
        assert_string_equal(err.field, "username");
        assert_string_equal(err.message, "username must be an id: 1 to 63 characters of a-z, 0-9, '.', '_' and '-', "
                                         "starting with a letter or digit");
    }
    assert_invalid("{\"tags\":[\"ok\",\"Not-OK\"]}", "tags[1]",
                   "tags[1] must be an id: 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
}

static void test_body_validate_checks_durations(void **state)
{
    assert_valid("{\"expires\":\"1h30m\"}");
    assert_valid("{\"expires\":\"1y\"}");
    assert_invalid("{\"expires\":\"5x\"}", "expires",
                   "expires must be a duration such as 500ms, 30s, 5m or 1h30m (units ms, s, m, h, d, w, y, largest first)");
    assert_invalid("{\"expires\":\"30m1h\"}", "expires",
                   "expires must be a duration such as 500ms, 30s, 5m or 1h30m (units ms, s, m, h, d, w, y, largest first)");
    assert_invalid("{\"expires\":\"\"}", "expires",
                   "expires must be a duration such as 500ms, 30s, 5m or 1h30m (units ms, s, m, h, d, w, y, largest first)");
    assert_invalid("{\"expires\":\"59s\"}", "expires", "expires must be between 1m and 1y");
    assert_invalid("{\"expires\":\"1y1ms\"}", "expires", "expires must be between 1m and 1y");
}

static void test_body_validate_reports_nested_paths(void **state)
{
    assert_invalid("{\"labels\":{\"team\":\"toolongvalue\"}}", "labels.team", "labels.team must be at most 8 characters");
    assert_invalid("{\"labels\":{\"team\":1}}", "labels.team", "labels.team must be a string, not an integer");
    assert_invalid("{\"labels\":{\"9lives\":\"x\"}}", "labels.9lives",
                   "labels.9lives has a key that is not a label name: 1 to 128 letters, digits and '_', not starting with a digit");
    assert_invalid("{\"labels\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\"}}", "labels",
                   "labels must have at most 3 entries");
    assert_invalid("{\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", "tags", "tags must have at most 3 items");
    assert_invalid("{\"tags\":[\"a\",null]}", "tags[1]", "tags[1] must be a string, not null");
    assert_invalid("{\"items\":[{\"name\":\"a\"},[]]}", "items[1]", "items[1] must be an object, not an array");
    assert_invalid("{\"items\":[{\"name\":\"a\",\"weight\":11}]}", "items[0].weight",
                   "items[0].weight must be between 1 and 10");
    assert_invalid("{\"items\":[{\"name\":\"a\",\"nme\":\"b\"}]}", "items[0].nme",
                   "items[0].nme is not a known field (did you mean \"name\"?)");
    assert_invalid("{\"limits\":{\"max\":1,\"mx\":0}}", "limits.mx", "limits.mx is not a known field (did you mean \"max\"?)");
    assert_invalid("{\"limits\":{\"min\":0}}", "limits.min", "limits.min is not a known field"); /* 2 of 3 letters: no hint */
}

static void test_body_validate_reports_unknown_fields_first(void **state)
{
    struct http_body_error err;
    assert_int_equal(check("{\"username\":\"ann\",\"rolee\":\"admin\"}", user_fields, N(user_fields), true, &err),
                     BASE_ERR_INVALID);
    assert_string_equal(err.field, "rolee");
    assert_string_equal(err.message, "rolee is not a known field (did you mean \"role\"?)");
    assert_int_equal(check("{\"zzzzzz\":1}", user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "zzzzzz is not a known field");
    /* ignored when unknown members are allowed, nested ones too */
    assert_int_equal(check("{\"username\":\"ann\",\"password\":\"correct horse battery\",\"x\":[1]}",
                           user_fields, N(user_fields), false, &err), 0);
    assert_int_equal(check("{\"limits\":{\"x\":1}}", all_fields, N(all_fields), false, &err), 0);
    /* no fields at all */
    assert_int_equal(check("{\"a\":1}", NULL, 0, true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "a is not a known field");
    assert_int_equal(check("{}", NULL, 0, true, &err), 0);
}

static void test_body_validate_shows_hostile_keys_safely(void **state)
{
    struct http_body_error err;
    char body[512];
    /* 70 x 'é' (2 bytes each): the path is cut at 64 bytes on a character boundary */
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\xC3\xA9");
    snprintf(body + n, sizeof(body) - n, "\":1}");
    assert_int_equal(check(body, user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_int_equal(strlen(err.field), 64);
    json_t *probe = json_pack("[s,s]", err.field, err.message); /* both valid UTF-8 */
    assert_non_null(probe);
    json_decref(probe);
    assert_int_equal(check("{\"a\\u001b[2J\\u0085b\":1}", user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "a?[2J?b");
}

/* No message ever carries a value from the body: a table of bad values for
 * each kind of check, each with a marker that must not come back. */
static void test_body_validate_never_echoes_values(void **state)
{
    static const char *const modes[] = {"letmein-mode", NULL};
    static const struct http_body_field secret_fields[] = {
        {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true, .min = 12, .max = 40},
        {.name = "mode", .type = HTTP_BODY_STRING, .secret = true, .one_of = modes},
        {.name = "key", .type = HTTP_BODY_STRING, .secret = true, .pattern = HTTP_BODY_PATTERN_ID},
    };
    const char *bodies[] = {
        "{\"password\":\"hunter2\"}",
        "{\"password\":\"hunter2hunter2hunter2hunter2hunter2hunter2\"}",
        "{\"password\":\"hunter2\\u0001hunter2\"}",
        "{\"password\":12345678}",
        "{\"password\":\"hunter2hunter2\",\"mode\":\"hunter2\"}",
        "{\"password\":\"hunter2hunter2\",\"key\":\"Hunter2\"}",
    };
    struct http_body_error err;
    for (size_t i = 0; i < N(bodies); i++) {
        assert_int_equal(check(bodies[i], secret_fields, N(secret_fields), true, &err), BASE_ERR_INVALID);
        assert_null(strstr(err.message, "unter2"));
        assert_null(strstr(err.message, "12345678"));
        assert_null(strstr(err.field, "unter2"));
    }
    assert_int_equal(check(bodies[0], secret_fields, N(secret_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "password must be at least 12 characters");
    assert_int_equal(check(bodies[4], secret_fields, N(secret_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "mode must be one of letmein-mode");
    /* a value one edit from an allowed one gets no hint either: a hint from
     * a secret tells how close the guess was */
    assert_int_equal(check("{\"password\":\"hunter2hunter2\",\"mode\":\"letmein-mod\"}", secret_fields,
                           N(secret_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "mode must be one of letmein-mode");
}

static void test_body_validate_rejects_a_non_object(void **state)
{
    struct http_body_error err;
    json_t *a = json_array();
    assert_int_equal(http_body_validate(a, user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "request body must be a JSON object");
    assert_int_equal(http_body_validate(NULL, user_fields, N(user_fields), true, &err), BASE_ERR_INVALID);
    json_decref(a);
}

static void test_body_load_parses_and_validates(void **state)
{
    struct http_body_error err;
    json_t *j = (json_t *)1;
    const char *good = "{\"username\":\"ann\",\"password\":\"correct horse battery\",\"role\":\"admin\"}";
    assert_int_equal(http_body_load(good, strlen(good), user_fields, N(user_fields), true, &j, &err), 0);
    assert_string_equal(http_body_str(j, "role"), "admin");
    json_decref(j);
    const char *bad = "{\"username\":\"ann\"}";
    assert_int_equal(http_body_load(bad, strlen(bad), user_fields, N(user_fields), true, &j, &err), BASE_ERR_INVALID);
    assert_null(j);
    assert_string_equal(err.code, "invalid_field");
    assert_int_equal(http_body_load("[]", 2, user_fields, N(user_fields), true, &j, &err), BASE_ERR_INVALID);
    assert_null(j);
    assert_string_equal(err.code, "invalid_json");
}

static void test_body_accessors_give_defaults(void **state)
{
    struct http_body_error err;
    json_t *j = NULL;
    const char *s = "{\"s\":\"x\",\"i\":-7,\"r\":2.5,\"t\":true,\"f\":false,\"d\":\"1h\",\"n\":null}";
    assert_int_equal(http_body_parse(s, strlen(s), &j, &err), 0);
    assert_string_equal(http_body_str(j, "s"), "x");
    assert_null(http_body_str(j, "i"));
    assert_null(http_body_str(j, "n"));
    assert_null(http_body_str(j, "missing"));
    assert_int_equal(http_body_int(j, "i", 0), -7);
    assert_int_equal(http_body_int(j, "r", 99), 99);
    assert_int_equal(http_body_int(j, "missing", 42), 42);
    assert_true(http_body_number(j, "r", 0) == 2.5);
    assert_true(http_body_number(j, "i", 0) == -7.0);
    assert_true(http_body_number(j, "s", 1.5) == 1.5);
    assert_true(http_body_bool(j, "t", false));
    assert_false(http_body_bool(j, "f", true));
    assert_true(http_body_bool(j, "i", true));
    assert_int_equal(http_body_duration_ms(j, "d", 0), 3600000);
    assert_int_equal(http_body_duration_ms(j, "s", 5), 5);
    assert_true(http_body_has(j, "n"));
    assert_false(http_body_has(j, "missing"));
    assert_null(http_body_str(NULL, "s"));
    assert_int_equal(http_body_int(NULL, "i", 3), 3);
    json_decref(j);
}

/* Every allocation of parse and validate fails once in turn: each failure
 * is a clean error (or, where jansson hides the failure, a correct result)
 * and ASan sees no leak. */
static void test_body_survives_every_allocation_failure(void **state)
{
    const char *body = "{\"username\":\"ann\",\"password\":\"correct horse battery staple\",\"role\":\"admin\","
                       "\"labels\":{\"team\":\"core\",\"env\":\"prod\"},\"tags\":[\"a\",\"b\",\"c\"],"
                       "\"n\":12345,\"r\":1.25,\"nested\":{\"deeper\":[[1,2],{\"x\":null}]}}";
    static const struct http_body_field fields[] = {
        {.name = "username", .type = HTTP_BODY_STRING, .required = true},
        {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true, .min = 12},
        {.name = "role", .type = HTTP_BODY_STRING, .one_of = roles},
        {.name = "labels", .type = HTTP_BODY_OBJECT_OF_STRINGS},
        {.name = "tags", .type = HTTP_BODY_ARRAY_OF_STRINGS},
        {.name = "n", .type = HTTP_BODY_INT},
        {.name = "r", .type = HTTP_BODY_NUMBER},
    };
    struct http_body_error err;
    json_t *ref = NULL;
    assert_int_equal(http_body_parse(body, strlen(body), &ref, &err), 0);
    int failures = 0;
    long n;
    for (n = 0; n < 10000; n++) {
        json_t *j = NULL;
        base_alloc_fail_after(n);
        int rc = http_body_load(body, strlen(body), fields, N(fields), false, &j, &err);
        long made = base_alloc_fail_after(-1);
        if (made <= n) { /* the injected failure was never reached */
            assert_int_equal(rc, 0);
            assert_true(json_equal(j, ref));
            json_decref(j);
            break;
        }
        /* jansson swallows some failures (its token buffer); they must
         * still come back as errors, never as a changed body */
        if (rc == 0)
            fail_msg("allocation %ld failed but the body was accepted", n);
        failures++;
        assert_int_equal(rc, BASE_ERR_NOMEM);
        assert_null(j);
        assert_string_equal(err.code, "out_of_memory");
        assert_int_equal(err.status, 500);
    }
    assert_true(n > 10);
    assert_true(failures > 10);
    assert_int_equal(failures, n);
    json_decref(ref);
}

static int setup_alloc(void **state)
{
    http_body_json_alloc_init();
    return 0;
}

static const struct http_body_field form_fields[] = {
    {.name = "email", .type = HTTP_BODY_STRING, .required = true, .min = 3, .max = 254},
    {.name = "project", .type = HTTP_BODY_STRING, .min = 1, .max = 63},
};

static void form_ok(const char *in, const char *email, const char *project)
{
    json_t *o = NULL;
    struct http_body_error e;
    assert_int_equal(http_body_load_form(in, strlen(in), form_fields, 2, &o, &e), 0);
    assert_string_equal(http_body_str(o, "email"), email);
    if (project)
        assert_string_equal(http_body_str(o, "project"), project);
    else
        assert_null(http_body_str(o, "project"));
    json_decref(o);
}

static void form_bad(const char *in, int rc, const char *code, const char *field)
{
    json_t *o = (json_t *)1;
    struct http_body_error e;
    assert_int_equal(http_body_load_form(in, strlen(in), form_fields, 2, &o, &e), rc);
    assert_null(o);
    assert_string_equal(e.code, code);
    assert_string_equal(e.field, field);
}

static void test_body_load_form_decodes_the_named_fields(void **state)
{
    (void)state;
    form_ok("email=a%40b.test&project=shop", "a@b.test", "shop");
    form_ok("email=a%40b.test", "a@b.test", NULL);
    form_ok("project=&email=x+y%2Bz%40b.test&submit=Subscribe", "x y+z@b.test", NULL);   /* empty = absent */
    form_ok("email=first%40b.test&email=second%40b.test", "first@b.test", NULL);        /* the first wins */
    form_ok("&&email=%c3%a9%40b.test&noequals&", "\xc3\xa9@b.test", NULL);              /* UTF-8 escapes */
    form_ok("EMAIL=x&email=ok%40b.test", "ok@b.test", NULL);                               /* names are exact */
}

static void test_body_load_form_refuses_bad_values(void **state)
{
    (void)state;
    form_bad("email=a%4", BASE_ERR_INVALID, "invalid_field", "email");        /* a cut escape */
    form_bad("email=a%zz%40b", BASE_ERR_INVALID, "invalid_field", "email");   /* not hex */
    form_bad("email=a%00b%40c", BASE_ERR_INVALID, "invalid_field", "email");  /* a NUL byte */
    form_bad("email=%ff%40b.test", BASE_ERR_INVALID, "invalid_field", "email"); /* not UTF-8 */
    form_bad("project=shop", BASE_ERR_INVALID, "invalid_field", "email");     /* required */
    form_bad("", BASE_ERR_INVALID, "invalid_field", "email");
    form_bad("email=ab", BASE_ERR_INVALID, "invalid_field", "email");         /* min 3 */
    char big[HTTP_BODY_FORM_MAX + 16];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    memcpy(big, "email=", 6);
    form_bad(big, BASE_ERR_TOO_BIG, "too_large", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_parse_accepts_an_object_with_whitespace),
        cmocka_unit_test(test_body_parse_rejects_empty_bodies),
        cmocka_unit_test(test_body_parse_rejects_non_object_top_level),
        cmocka_unit_test(test_body_parse_rejects_a_byte_order_mark),
        cmocka_unit_test(test_body_parse_rejects_trailing_data),
        cmocka_unit_test(test_body_parse_rejects_nul_bytes),
        cmocka_unit_test(test_body_parse_rejects_invalid_utf8),
        cmocka_unit_test(test_body_parse_rejects_duplicate_keys),
        cmocka_unit_test(test_body_parse_limits_depth_to_32),
        cmocka_unit_test(test_body_parse_limits_values_to_10000),
        cmocka_unit_test(test_body_parse_limits_strings_to_64_kib),
        cmocka_unit_test(test_body_parse_reports_syntax_errors_with_position_not_input),
        cmocka_unit_test(test_body_parse_rejects_numbers_out_of_range),
        cmocka_unit_test(test_body_parse_handles_a_1_mib_body),
        cmocka_unit_test(test_body_validate_accepts_every_type),
        cmocka_unit_test(test_body_validate_reports_missing_required_fields),
        cmocka_unit_test(test_body_validate_checks_types),
        cmocka_unit_test(test_body_validate_checks_integer_and_number_ranges),
        cmocka_unit_test(test_body_validate_counts_string_length_in_code_points),
        cmocka_unit_test(test_body_validate_refuses_control_characters),
        cmocka_unit_test(test_body_validate_checks_one_of_with_a_hint),
        cmocka_unit_test(test_body_validate_checks_patterns),
        cmocka_unit_test(test_body_validate_checks_durations),
        cmocka_unit_test(test_body_validate_reports_nested_paths),
        cmocka_unit_test(test_body_validate_reports_unknown_fields_first),
        cmocka_unit_test(test_body_validate_shows_hostile_keys_safely),
        cmocka_unit_test(test_body_validate_never_echoes_values),
        cmocka_unit_test(test_body_validate_rejects_a_non_object),
        cmocka_unit_test(test_body_load_parses_and_validates),
        cmocka_unit_test(test_body_accessors_give_defaults),
        cmocka_unit_test(test_body_load_form_decodes_the_named_fields),
        cmocka_unit_test(test_body_load_form_refuses_bad_values),
        cmocka_unit_test(test_body_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, setup_alloc, NULL);
}
