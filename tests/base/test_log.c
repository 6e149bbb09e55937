/*
 * Unit tests for base/log: URL redaction (passwords, token-like query
 * parameters) and that every JSON line, in both key shapes (opshub's own and
 * timestamp/level/message/service/context/metadata), is valid JSON with the
 * keys and fields given, also when fields or the message are awkward or too
 * long, checked by parsing it with jansson: invalid UTF-8 is replaced, a
 * long value is cut so the fields after it stay (the access line keeps
 * path, status, remote, request_id and actor), and text lines carry no
 * raw control character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/log.h"

#include <jansson.h>
#include <pthread.h>
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
    /* today's shape: no key of the other one */
    assert_null(json_object_get(o, "timestamp"));
    assert_null(json_object_get(o, "metadata"));
    assert_null(json_object_get(o, "context"));
    assert_int_equal(json_object_size(o), 7);
    json_decref(o);
    free(text);
}

/* Parses one line (exactly one, newline-terminated) as a JSON object. */
static json_t *parse_line(const char *text)
{
    size_t len = strlen(text);
    assert_true(len > 0);
    assert_int_equal(text[len - 1], '\n');
    assert_null(memchr(text, '\n', len - 1));
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (!o)
        print_error("not JSON (%s at %d): %s\n", jerr.text, jerr.position, text);
    assert_non_null(o);
    assert_true(json_is_object(o));
    return o;
}

/* Asserts the SERVICE shape: exactly these six keys, with these values. */
static json_t *service_line(const char *text, const char *level, const char *service)
{
    json_t *o = parse_line(text);
    static const char *const keys[] = {"timestamp", "level", "message", "service", "context", "metadata"};
    for (size_t i = 0; i < 6; i++) {
        if (!json_object_get(o, keys[i]))
            print_error("missing key %s in %s\n", keys[i], text);
        assert_non_null(json_object_get(o, keys[i]));
    }
    assert_int_equal(json_object_size(o), 6);
    assert_int_equal(strlen(json_string_value(json_object_get(o, "timestamp"))), 24);
    assert_string_equal(json_string_value(json_object_get(o, "level")), level);
    assert_string_equal(json_string_value(json_object_get(o, "service")), service);
    /* this file is tests/base/test_log.c: the context is its folder */
    assert_string_equal(json_string_value(json_object_get(o, "context")), "base");
    assert_true(json_is_object(json_object_get(o, "metadata")));
    return o;
}

static void emit_huge(void);

static char *capture_service(const char *service, void (*emit)(void))
{
    base_log_set_keys(BASE_LOG_KEYS_SERVICE, service);
    char *text = capture(BASE_LOG_FORMAT_JSON, emit);
    base_log_set_keys(BASE_LOG_KEYS_OPSHUB, NULL);
    return text;
}

static void test_log_service_keys_line_is_valid_json(void **state)
{
    char *text = capture_service("shop-api", emit_tricky);
    json_t *o = service_line(text, "warn", "shop-api");
    assert_string_equal(json_string_value(json_object_get(o, "message")), "probe \"failed\"\n");
    json_t *m = json_object_get(o, "metadata");
    assert_int_equal(json_object_size(m), 4);
    assert_string_equal(json_string_value(json_object_get(m, "check")), "a\tb\\c\x01");
    assert_int_equal(json_integer_value(json_object_get(m, "code")), -42);
    assert_true(json_number_value(json_object_get(m, "latency_ms")) == 1.5);
    assert_string_equal(json_string_value(json_object_get(m, "empty")), "");
    json_decref(o);
    free(text);
}

static void emit_plain(void)
{
    base_log_info("started", BASE_LOG_INT("n", 1));
}

static void emit_no_fields(void)
{
    const struct base_log_field none[1] = {{0}};
    base_log_write_at(__FILE__, BASE_LOG_INFO, "bare", none, 0);
}

static void test_log_service_keys_default_service_and_empty_metadata(void **state)
{
    char *text = capture_service(NULL, emit_no_fields);
    json_t *o = service_line(text, "info", "opshub");
    assert_string_equal(json_string_value(json_object_get(o, "message")), "bare");
    assert_int_equal(json_object_size(json_object_get(o, "metadata")), 0);
    json_decref(o);
    free(text);
    /* back to the default: today's keys again */
    text = capture(BASE_LOG_FORMAT_JSON, emit_plain);
    o = parse_line(text);
    assert_non_null(json_object_get(o, "msg"));
    assert_non_null(json_object_get(o, "ts"));
    assert_int_equal(json_integer_value(json_object_get(o, "n")), 1);
    assert_null(json_object_get(o, "metadata"));
    json_decref(o);
    free(text);
}

static void test_log_service_names_with_awkward_bytes_stay_valid(void **state)
{
    /* quotes, backslashes, UTF-8 and a control byte; then one longer than the limit */
    char *text = capture_service("sh\"op\\api \xc3\xa9\x02", emit_plain);
    json_t *o = service_line(text, "info", "sh\"op\\api \xc3\xa9\x02");
    json_decref(o);
    free(text);
    char longer[200];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer + 62, "\xc3\xa9", 2); /* a two-byte character across the 63-byte cut */
    longer[sizeof(longer) - 1] = '\0';
    text = capture_service(longer, emit_plain);
    o = parse_line(text);
    const char *svc = json_string_value(json_object_get(o, "service"));
    assert_non_null(svc);
    assert_int_equal(strlen(svc), 62); /* cut before the character, never inside it */
    assert_int_equal(strspn(svc, "a"), 62);
    json_decref(o);
    free(text);
}

static void emit_huge_message(void)
{
    static char msg[12000];
    for (size_t i = 0; i + 1 < sizeof(msg); i++)
        msg[i] = i % 3 == 0 ? '"' : i % 3 == 1 ? '\x01' : 'x'; /* every byte escapes long */
    msg[sizeof(msg) - 1] = '\0';
    base_log_error(msg, BASE_LOG_STR("after", "kept?"));
}

static void test_log_huge_messages_are_cut_and_stay_valid(void **state)
{
    char *text = capture(BASE_LOG_FORMAT_JSON, emit_huge_message);
    assert_true(strlen(text) <= 8192);
    json_t *o = parse_line(text);
    const char *msg = json_string_value(json_object_get(o, "msg"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 100);
    assert_true(strlen(msg) < 12000);
    json_decref(o);
    free(text);
    text = capture_service("svc", emit_huge_message);
    assert_true(strlen(text) <= 8192);
    o = service_line(text, "error", "svc");
    assert_true(strlen(json_string_value(json_object_get(o, "message"))) > 100);
    json_decref(o);
    free(text);
}

static void test_log_service_keys_truncated_line_stays_valid(void **state)
{
    char *text = capture_service("svc", emit_huge);
    assert_true(strlen(text) <= 8192);
    json_t *o = service_line(text, "error", "svc");
    json_t *m = json_object_get(o, "metadata");
    assert_true(json_is_true(json_object_get(m, "truncated")));
    const char *body = json_string_value(json_object_get(m, "body")); /* cut, not dropped */
    assert_non_null(body);
    assert_true(strlen(body) > 7000);
    assert_string_equal(body + strlen(body) - 3, "...");
    assert_int_equal(json_integer_value(json_object_get(m, "after")), 1); /* kept */
    json_decref(o);
    free(text);
}

static void emit_first_field_too_big(void)
{
    static char big[9000];
    memset(big, 'y', sizeof(big) - 1);
    base_log_info("x", BASE_LOG_STR("body", big));
}

static void test_log_a_field_too_long_alone_is_cut(void **state)
{
    char *text = capture_service("svc", emit_first_field_too_big);
    json_t *o = service_line(text, "info", "svc");
    json_t *m = json_object_get(o, "metadata");
    assert_int_equal(json_object_size(m), 2);
    assert_true(json_is_true(json_object_get(m, "truncated")));
    assert_int_equal(strspn(json_string_value(json_object_get(m, "body")), "y"), strlen(json_string_value(json_object_get(m, "body"))) - 3);
    json_decref(o);
    free(text);
    text = capture(BASE_LOG_FORMAT_JSON, emit_first_field_too_big);
    o = parse_line(text);
    assert_true(json_is_true(json_object_get(o, "truncated")));
    assert_non_null(json_object_get(o, "body"));
    json_decref(o);
    free(text);
}

/* More fields than any cut can fit: the last ones give way whole. */
static void emit_too_many_fields(void)
{
    static char keys[1500][8];
    static struct base_log_field f[1500];
    for (size_t i = 0; i < 1500; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        f[i] = BASE_LOG_STR(keys[i], "value");
    }
    base_log_write_at(__FILE__, BASE_LOG_INFO, "many", f, 1500);
}

static void test_log_truncation_with_too_many_fields_drops_the_last(void **state)
{
    char *text = capture_service("svc", emit_too_many_fields);
    assert_true(strlen(text) <= 8192);
    json_t *o = service_line(text, "info", "svc");
    json_t *m = json_object_get(o, "metadata");
    assert_true(json_is_true(json_object_get(m, "truncated")));
    assert_string_equal(json_string_value(json_object_get(m, "k0")), "value");
    assert_null(json_object_get(m, "k1499"));
    json_decref(o);
    free(text);
}

/* The access log line of http/api.c, with a path a client chose. */
static const char *request_path;

static void emit_request(void)
{
    base_log_info("request", BASE_LOG_STR("method", "GET"), BASE_LOG_STR("path", request_path),
                  BASE_LOG_INT("status", 404), BASE_LOG_NUM("duration_ms", 0.25),
                  BASE_LOG_STR("request_id", "req-0001"), BASE_LOG_STR("remote", "127.0.0.1"),
                  BASE_LOG_STR("actor", ""));
}

/* Asserts a request line keeps every field, path possibly cut; returns the path. */
static const char *request_fields(json_t *f)
{
    assert_string_equal(json_string_value(json_object_get(f, "method")), "GET");
    assert_int_equal(json_integer_value(json_object_get(f, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(f, "request_id")), "req-0001");
    assert_string_equal(json_string_value(json_object_get(f, "remote")), "127.0.0.1");
    assert_string_equal(json_string_value(json_object_get(f, "actor")), "");
    assert_non_null(json_object_get(f, "duration_ms"));
    const char *path = json_string_value(json_object_get(f, "path"));
    assert_non_null(path);
    return path;
}

static void test_log_invalid_utf8_in_a_value_is_replaced(void **state)
{
    request_path = "/nosuch\xff\xfe\xc0\xaf\xed\xa0\x80";
    char *text = capture(BASE_LOG_FORMAT_JSON, emit_request);
    json_t *o = parse_line(text); /* jansson refuses invalid UTF-8 */
    assert_string_equal(request_fields(o), "/nosuch\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_null(json_object_get(o, "truncated"));
    json_decref(o);
    free(text);
    text = capture_service("svc", emit_request);
    o = service_line(text, "info", "svc");
    assert_memory_equal(request_fields(json_object_get(o, "metadata")), "/nosuch\xef\xbf\xbd", 10);
    json_decref(o);
    free(text);
}

/* No byte a terminal acts on: C0 (but the final newline), DEL, C1 as
 * UTF-8, and the line is valid UTF-8. */
static void assert_no_raw_controls(const char *text)
{
    size_t len = strlen(text);
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)text[i + 1] >= 0x80 &&
                                      (unsigned char)text[i + 1] <= 0x9f))
            print_error("raw control byte 0x%02x at %zu: %s\n", c, i, text);
        assert_false(c < 0x20 || c == 0x7f);
        assert_false(c == 0xc2 && (unsigned char)text[i + 1] >= 0x80 && (unsigned char)text[i + 1] <= 0x9f);
    }
    json_t *probe = json_stringn(text, len); /* NULL for invalid UTF-8 */
    assert_non_null(probe);
    json_decref(probe);
}

static void emit_controls_in_message(void)
{
    base_log_info("msg\x1b]0;title\x07", BASE_LOG_STR("ok", "plain"));
}

static void test_log_text_values_escape_control_characters(void **state)
{
    request_path = "/a\x1b[2J\x0b\x0c\x7f\xc2\x9b" "31m\xff";
    char *text = capture(BASE_LOG_FORMAT_TEXT, emit_request);
    assert_no_raw_controls(text);
    assert_non_null(strstr(text, " path=\"/a\\u001b[2J\\u000b\\u000c\\u007f\\u009b31m\xef\xbf\xbd\" "));
    assert_non_null(strstr(text, " info  request method=GET path=\"/a"));
    assert_non_null(strstr(text, "\" status=404 duration_ms=0.25 request_id=req-0001 remote=127.0.0.1 actor=\n"));
    assert_null(strstr(text, "truncated"));
    free(text);
    text = capture(BASE_LOG_FORMAT_TEXT, emit_controls_in_message);
    assert_no_raw_controls(text);
    assert_non_null(strstr(text, "\"msg\\u001b]0;title\\u0007\" ok=plain\n"));
    free(text);
    /* the JSON shapes escape them too */
    text = capture(BASE_LOG_FORMAT_JSON, emit_request);
    assert_no_raw_controls(text);
    json_decref(parse_line(text));
    free(text);
}

static void test_log_long_path_is_cut_and_key_fields_kept(void **state)
{
    static char ones[1402], plain[8102];
    ones[0] = plain[0] = '/';
    memset(ones + 1, 1, sizeof(ones) - 2); /* GET /%01%01... : 6 bytes each once escaped */
    memset(plain + 1, 'a', sizeof(plain) - 2);
    const char *paths[] = {ones, plain};
    for (size_t i = 0; i < 2; i++) {
        request_path = paths[i];
        char *text = capture(BASE_LOG_FORMAT_JSON, emit_request);
        assert_true(strlen(text) <= 8192);
        json_t *o = parse_line(text);
        const char *path = request_fields(o);
        assert_true(strlen(path) > 1000);
        assert_string_equal(path + strlen(path) - 3, "...");
        assert_memory_equal(path, paths[i], 100);
        assert_true(json_is_true(json_object_get(o, "truncated")));
        json_decref(o);
        free(text);

        text = capture_service("svc", emit_request);
        assert_true(strlen(text) <= 8192);
        o = service_line(text, "info", "svc");
        json_t *m = json_object_get(o, "metadata");
        path = request_fields(m);
        assert_string_equal(path + strlen(path) - 3, "...");
        assert_true(json_is_true(json_object_get(m, "truncated")));
        json_decref(o);
        free(text);

        text = capture(BASE_LOG_FORMAT_TEXT, emit_request);
        assert_true(strlen(text) <= 8192);
        assert_no_raw_controls(text);
        assert_non_null(strstr(text, " path=\"/"));
        assert_non_null(strstr(text, "...\" status=404 duration_ms=0.25 request_id=req-0001 remote=127.0.0.1 "
                                     "actor= truncated=true\n"));
        free(text);
    }
}

static void test_log_text_lines_ignore_the_keys_setting(void **state)
{
    base_log_set_keys(BASE_LOG_KEYS_SERVICE, "svc");
    char *text = capture(BASE_LOG_FORMAT_TEXT, emit_plain);
    base_log_set_keys(BASE_LOG_KEYS_OPSHUB, NULL);
    assert_non_null(strstr(text, " info  started n=1\n"));
    assert_null(strstr(text, "svc"));
    assert_null(strstr(text, "metadata"));
    assert_int_equal(text[4], '-'); /* starts with the timestamp */
    free(text);
}

static void test_log_context_is_the_source_folder(void **state)
{
    char buf[64];
    assert_string_equal(base_log_context_of("/work/opshub/src/http/api.c", buf, sizeof(buf)), "http");
    assert_string_equal(base_log_context_of("src/store/store.c", buf, sizeof(buf)), "store");
    assert_string_equal(base_log_context_of("/work/opshub/src/main.c", buf, sizeof(buf)), "main");
    assert_string_equal(base_log_context_of("main.c", buf, sizeof(buf)), "main");
    assert_string_equal(base_log_context_of(NULL, buf, sizeof(buf)), "");
    assert_string_equal(base_log_context_of("/a/src/conf/conf.c", buf, 3), "co");
    /* without a source file (base_log_write): "opshub" */
    base_log_set_keys(BASE_LOG_KEYS_SERVICE, "svc");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    base_log_setup(BASE_LOG_DEBUG, BASE_LOG_FORMAT_JSON, f);
    base_log_write(BASE_LOG_INFO, "m", NULL, 0);
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    base_log_set_keys(BASE_LOG_KEYS_OPSHUB, NULL);
    fclose(f);
    json_t *o = parse_line(text);
    assert_string_equal(json_string_value(json_object_get(o, "context")), "opshub");
    json_decref(o);
    free(text);
}

/* Lines written while another thread switches the keys: each is whole,
 * valid JSON, and in one shape or the other, never a mix. */
static void *write_lines(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        base_log_info("from a thread", BASE_LOG_INT("i", i), BASE_LOG_STR("s", "\"x\""));
    return NULL;
}

static void test_log_keys_switch_safely_under_concurrent_writes(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    base_log_setup(BASE_LOG_DEBUG, BASE_LOG_FORMAT_JSON, f);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, write_lines, NULL), 0);
    for (int i = 0; i < 2000; i++)
        base_log_set_keys(i % 2 ? BASE_LOG_KEYS_SERVICE : BASE_LOG_KEYS_OPSHUB, i % 3 ? "one" : "another-service");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    base_log_set_keys(BASE_LOG_KEYS_OPSHUB, NULL);
    fclose(f);
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (!o)
            print_error("not JSON: %s\n", line);
        assert_non_null(o);
        if (json_object_get(o, "metadata")) {
            const char *svc = json_string_value(json_object_get(o, "service"));
            assert_true(strcmp(svc, "one") == 0 || strcmp(svc, "another-service") == 0);
            assert_null(json_object_get(o, "msg"));
        } else {
            assert_non_null(json_object_get(o, "msg"));
            assert_null(json_object_get(o, "service"));
        }
        json_decref(o);
    }
    assert_int_equal(lines, 4000);
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
        cmocka_unit_test(test_log_service_keys_line_is_valid_json),
        cmocka_unit_test(test_log_service_keys_default_service_and_empty_metadata),
        cmocka_unit_test(test_log_service_names_with_awkward_bytes_stay_valid),
        cmocka_unit_test(test_log_huge_messages_are_cut_and_stay_valid),
        cmocka_unit_test(test_log_service_keys_truncated_line_stays_valid),
        cmocka_unit_test(test_log_a_field_too_long_alone_is_cut),
        cmocka_unit_test(test_log_truncation_with_too_many_fields_drops_the_last),
        cmocka_unit_test(test_log_invalid_utf8_in_a_value_is_replaced),
        cmocka_unit_test(test_log_text_values_escape_control_characters),
        cmocka_unit_test(test_log_long_path_is_cut_and_key_fields_kept),
        cmocka_unit_test(test_log_text_lines_ignore_the_keys_setting),
        cmocka_unit_test(test_log_context_is_the_source_folder),
        cmocka_unit_test(test_log_keys_switch_safely_under_concurrent_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
