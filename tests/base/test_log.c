/*
 * Unit tests for base/log: URL redaction (passwords, token-like query
 * parameters) and that every JSON line is valid JSON with the fields given,
 * checked by parsing it with jansson.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_log_redacts_url_passwords_and_tokens(void **state)
{
    char out[256];
    assert_string_equal(base_log_redact_url("postgres://opshub:s3cret@db:5432/ops", out, sizeof(out)),
                        "postgres://opshub:***@db:5432/ops");
    assert_string_equal(base_log_redact_url("http://h/p?token=abc&x=1&api_key=zz#frag", out, sizeof(out)),
                        "http://h/p?token=***&x=1&api_key=***#frag");
    assert_string_equal(base_log_redact_url("https://u:p@h/?password=a&Secret=b&sig=c", out, sizeof(out)),
                        "https://u:***@h/?password=***&Secret=***&sig=***");
    /* a lone userinfo may be a token (https://TOKEN@host): hidden whole */
    assert_string_equal(base_log_redact_url("http://user@h/x", out, sizeof(out)), "http://***@h/x");
    assert_string_equal(base_log_redact_url("https://ghp_abc123@github.example/r", out, sizeof(out)),
                        "https://***@github.example/r");
    assert_string_equal(base_log_redact_url("http://h/x?a=1", out, sizeof(out)), "http://h/x?a=1");
    assert_string_equal(base_log_redact_url("sqlite://data/opshub.db", out, sizeof(out)), "sqlite://data/opshub.db");
    /* an @ in the path is not userinfo */
    assert_string_equal(base_log_redact_url("http://h/a:b@c", out, sizeof(out)), "http://h/a:b@c");
    char tiny[12];
    base_log_redact_url("postgres://opshub:s3cret@db/x", tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
    assert_null(strstr(tiny, "s3c"));
}

static char *capture(enum base_log_format format, void (*emit)(void))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    base_log_setup(BASE_LOG_DEBUG, format, f);
    emit();
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    fclose(f);
    return text;
}

static void emit_tricky(void)
{
    base_log_warn("probe \"failed\"\n", BASE_LOG_STR("check", "a\tb\\c\x01"), BASE_LOG_INT("code", -42),
                  BASE_LOG_NUM("latency_ms", 1.5), BASE_LOG_STR("empty", NULL));
}

static void test_log_json_line_is_valid_json(void **state)
{
    char *text = capture(BASE_LOG_FORMAT_JSON, emit_tricky);
    size_t len = strlen(text);
    assert_true(len > 0);
    assert_int_equal(text[len - 1], '\n');
    assert_null(memchr(text, '\n', len - 1)); /* one line */
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (!o)
        print_error("not JSON (%s): %s\n", jerr.text, text);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "probe \"failed\"\n");
    assert_string_equal(json_string_value(json_object_get(o, "check")), "a\tb\\c\x01");
    assert_int_equal(json_integer_value(json_object_get(o, "code")), -42);
    assert_true(json_number_value(json_object_get(o, "latency_ms")) == 1.5);
    assert_string_equal(json_string_value(json_object_get(o, "empty")), "");
    const char *ts = json_string_value(json_object_get(o, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24);
    json_decref(o);
    free(text);
}

static void emit_huge(void)
{
    static char big[20000];
    memset(big, 'x', sizeof(big) - 1);
    big[100] = '"';
    base_log_error("huge", BASE_LOG_STR("body", big), BASE_LOG_INT("after", 1));
}

static void test_log_truncated_json_line_stays_valid(void **state)
{
    char *text = capture(BASE_LOG_FORMAT_JSON, emit_huge);
    assert_true(strlen(text) <= 8192);
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    assert_non_null(json_object_get(o, "msg"));
    assert_true(json_is_true(json_object_get(o, "truncated")));
    json_decref(o);
    free(text);
}

static void test_log_levels_filter_and_parse(void **state)
{
    assert_int_equal(base_log_level_parse("debug"), BASE_LOG_DEBUG);
    assert_int_equal(base_log_level_parse("WARNING"), BASE_LOG_WARN);
    assert_int_equal(base_log_level_parse("off"), BASE_LOG_OFF);
    assert_int_equal(base_log_level_parse("loud"), -1);
    assert_int_equal(base_log_level_parse(NULL), -1);
    assert_string_equal(base_log_level_name(BASE_LOG_ERROR), "error");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    base_log_setup(BASE_LOG_WARN, BASE_LOG_FORMAT_TEXT, f);
    base_log_info("hidden", BASE_LOG_INT("n", 1));
    base_log_error("shown", BASE_LOG_STR("k", "two words"));
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    fclose(f);
    assert_null(strstr(text, "hidden"));
    assert_non_null(strstr(text, "error shown k=\"two words\""));
    free(text);
}

static void test_log_batch_mode_holds_info_until_flush_and_keeps_order(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    base_log_setup(BASE_LOG_DEBUG, BASE_LOG_FORMAT_TEXT, f);
    base_log_batch(true);
    base_log_info("first", BASE_LOG_INT("n", 1));
    base_log_info("second", BASE_LOG_INT("n", 2));
    fflush(f);
    assert_int_equal(len, 0); /* held */
    base_log_flush();
    fflush(f);
    assert_non_null(strstr(text, "first"));
    assert_non_null(strstr(text, "second"));
    size_t after_flush = len;
    base_log_info("third", BASE_LOG_INT("n", 3));
    base_log_warn("fourth", BASE_LOG_INT("n", 4)); /* a warning writes everything, in order */
    fflush(f);
    assert_true(len > after_flush);
    char *third = strstr(text, "third"), *fourth = strstr(text, "fourth");
    assert_non_null(third);
    assert_non_null(fourth);
    assert_true(third < fourth);
    for (int i = 0; i < 2000; i++) /* more than the batch buffer: flushed as it fills */
        base_log_info("filler", BASE_LOG_INT("i", i));
    fflush(f);
    assert_true(len > after_flush + 32 * 1024);
    base_log_batch(false); /* flushes the rest */
    fflush(f);
    assert_non_null(strstr(text, "i=1999"));
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    fclose(f);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_redacts_url_passwords_and_tokens),
        cmocka_unit_test(test_log_json_line_is_valid_json),
        cmocka_unit_test(test_log_truncated_json_line_stays_valid),
        cmocka_unit_test(test_log_levels_filter_and_parse),
        cmocka_unit_test(test_log_batch_mode_holds_info_until_flush_and_keeps_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
