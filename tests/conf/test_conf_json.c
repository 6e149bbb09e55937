/*
 * Unit tests for the JSON front end of the config loader (src/conf/json.c):
 * checks and projects created through the API. Every error is compared with
 * the YAML loader's message for the very same object (JSON text is a YAML
 * flow mapping), and must name the JSON path of the bad field. Also id
 * collisions, canonical JSON round trips, merging, allocation failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "conf/conf.h"
#include "probe/http.h"
#include "probe/registry.h"
#include "probe/tcp.h"

#define HCONF(c) ((const struct probe_http_conf *)(c)->settings)
#define TCONF(c) ((const struct probe_tcp_conf *)(c)->settings)

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

/* The running config the API validates against. */
static const char base_yaml[] =
    "projects:\n"
    "  - {id: shop, name: Shop, environments: [prod, staging]}\n"
    "  - {id: billing}\n"
    "checks:\n"
    "  - {id: existing, type: http, url: 'http://127.0.0.1:1/'}\n";

static struct conf *load_yaml(const char *yaml, struct base_errors *e)
{
    struct conf *c = NULL;
    base_errors_init(e, 0);
    conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, e);
    return c;
}

static struct conf *base_conf(void)
{
    struct base_errors e;
    struct conf *c = load_yaml(base_yaml, &e);
    assert_non_null(c);
    base_errors_free(&e);
    return c;
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v)
        fprintf(stderr, "  bad test JSON %s: %s\n", text, jerr.text);
    assert_non_null(v);
    return v;
}

/* The YAML loader's first error (in file order) for the same object as
 * the last entry of base's checks. */
static void yaml_first_error(const char *json_text, char *msg, size_t n)
{
    char yaml[4096];
    struct base_errors e;
    snprintf(yaml, sizeof(yaml), "%s  - %s\n", base_yaml, json_text);
    struct conf *c = load_yaml(yaml, &e);
    assert_null(c);
    assert_true(e.len >= 1);
    snprintf(msg, n, "%s", e.items[0].msg);
    base_errors_free(&e);
}

/* from_json must fail on field with a message containing needle, and that
 * message must be exactly the YAML loader's. */
static void expect_error(const char *json_text, const char *field, const char *needle)
{
    struct conf *base = base_conf(), *out = (struct conf *)1;
    struct conf_json_error err;
    char yaml_msg[512];
    json_t *obj = parse(json_text);
    memset(&err, 'x', sizeof(err));
    int rc = conf_check_from_json(probe_registry_types(), obj, base, &out, &err);
    if (rc != BASE_ERR_INVALID || strcmp(err.field, field) != 0 || !strstr(err.message, needle))
        fprintf(stderr, "  for %s\n  got rc %d field '%s' message '%s'\n", json_text, rc, err.field,
                err.message);
    assert_int_equal(rc, BASE_ERR_INVALID);
    assert_null(out);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.message, needle));
    yaml_first_error(json_text, yaml_msg, sizeof(yaml_msg));
    assert_string_equal(err.message, yaml_msg);
    json_decref(obj);
    conf_destroy(base);
}

static struct conf *expect_ok(const char *json_text, const struct conf *base)
{
    struct conf *out = NULL;
    struct conf_json_error err = {"", ""};
    json_t *obj = parse(json_text);
    int rc = conf_check_from_json(probe_registry_types(), obj, base, &out, &err);
    if (rc)
        fprintf(stderr, "  for %s\n  got rc %d field '%s' message '%s'\n", json_text, rc, err.field,
                err.message);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    assert_int_equal(out->n_checks, 1);
    json_decref(obj);
    return out;
}

#define HTTP "\"id\": \"a\", \"type\": \"http\", \"url\": \"http://127.0.0.1:8080/\""

static void test_conf_json_unknown_keys_suggest_and_name_the_path(void **state)
{
    expect_error("{" HTTP ", \"intervl\": \"30s\"}", "intervl",
                 "unknown key 'intervl' (did you mean 'interval'?)");
    expect_error("{" HTTP ", \"expect\": {\"stauts\": 200}}", "expect.stauts",
                 "unknown key 'stauts' (did you mean 'status'?)");
    expect_error("{" HTTP ", \"zzzzzz\": 1}", "zzzzzz", "unknown key 'zzzzzz'");
}

static void test_conf_json_missing_fields_name_the_missing_member(void **state)
{
    expect_error("{\"id\": \"a\", \"type\": \"http\"}", "url", "http check is missing 'url'");
    expect_error("{\"id\": \"a\", \"type\": \"tcp\"}", "address", "tcp check is missing 'address'");
    expect_error("{\"id\": \"a\", \"url\": \"http://x/\"}", "type", "check is missing 'type'");
    expect_error("{\"type\": \"http\", \"url\": \"http://x/\"}", "id", "check is missing 'id'");
}

static void test_conf_json_wrong_types_read_like_yaml_scalars(void **state)
{
    expect_error("{" HTTP ", \"name\": {\"a\": 1}}", "name", "expected a string, got a mapping");
    expect_error("{" HTTP ", \"name\": null}", "name", "'name' needs a value (expected a string)");
    expect_error("{\"id\": \"a\", \"type\": \"http\", \"url\": 5}", "url", "bad URL '5'");
    expect_error("{" HTTP ", \"interval\": 30}", "interval", "bad duration '30'");
    expect_error("{" HTTP ", \"interval\": \"5x\"}", "interval", "bad duration '5x'");
    expect_error("{" HTTP ", \"interval\": [1]}", "interval", "expected a duration, got a list");
    expect_error("{" HTTP ", \"confirm\": 2.5}", "confirm", "expected a whole number, got '2.5'");
    expect_error("{" HTTP ", \"confirm\": true}", "confirm", "expected a whole number, got 'true'");
    expect_error("{" HTTP ", \"confirm\": 1000}", "confirm", "1000 is out of range (1 to 100)");
    expect_error("{" HTTP ", \"enabled\": \"yes\"}", "enabled", "expected true or false, got 'yes'");
    expect_error("{" HTTP ", \"enabled\": 0}", "enabled", "expected true or false, got '0'");
    expect_error("{" HTTP ", \"tls_verify\": null}", "tls_verify", "needs a value");
    expect_error("{" HTTP ", \"max_body\": \"1TB\"}", "max_body", "bad size '1TB'");
    expect_error("{" HTTP ", \"max_body\": 0}", "max_body", "size must be between 1 and");
    expect_error("{" HTTP ", \"method\": \"FETCH\"}", "method", "unknown method 'FETCH'");
    expect_error("{" HTTP ", \"timeout\": \"2m\"}", "timeout", "timeout (2m) must be less than interval (1m)");
    expect_error("[1, 2]", "", "expected a mapping, got a list");
    expect_error("\"a\"", "", "expected a mapping, got a string");
}

static void test_conf_json_ids_types_and_projects(void **state)
{
    expect_error("{\"id\": \"A b\", \"type\": \"http\", \"url\": \"http://x/\"}", "id", "bad id 'A b'");
    expect_error("{\"id\": \"a\", \"type\": \"zookeeper\"}", "type", "unknown check type 'zookeeper' (supported: http, tcp");
    expect_error("{\"id\": \"a\", \"type\": \"htp\"}", "type", "unknown check type 'htp' (did you mean 'http'?)");
    expect_error("{" HTTP ", \"project\": \"shp\"}", "project", "unknown project 'shp' (did you mean 'shop'?)");
    expect_error("{" HTTP ", \"project\": \"zzzzzzzz\"}", "project", "unknown project 'zzzzzzzz'");
    expect_error("{\"id\": \"a\", \"type\": \"tcp\", \"address\": \"127.0.0.1:1\", \"url\": \"http://x/\"}",
                 "url", "'url' is not valid for a tcp check");
    expect_error("{\"id\": \"a\", \"type\": \"tcp\", \"address\": \"localhost\"}", "address",
                 "bad address 'localhost': expected HOST:PORT");
    expect_error("{\"id\": \"a\", \"type\": \"tcp\", \"address\": \"127.0.0.1:1\", \"expect\": {\"a\": 1}}",
                 "expect", "expected a string, got a mapping");
}

static void test_conf_json_nested_paths_in_expect_labels_headers(void **state)
{
    expect_error("{" HTTP ", \"expect\": {\"status\": [200, \"99x\"]}}", "expect.status[1]",
                 "bad status '99x'");
    expect_error("{" HTTP ", \"expect\": {\"status\": []}}", "expect.status", "at least one status");
    expect_error("{" HTTP ", \"expect\": {\"status\": {\"a\": 1}}}", "expect.status",
                 "expected a status code or a list of them, got a mapping");
    expect_error("{" HTTP ", \"expect\": {\"json\": {\"data.status\": {\"a\": 1}}}}", "expect.json.data.status",
                 "expected a string, number, true, false or null, got a mapping");
    expect_error("{" HTTP ", \"expect\": {\"json\": {\"a..b\": 1}}}", "expect.json.a..b", "bad JSON path 'a..b'");
    expect_error("{" HTTP ", \"expect\": {\"json\": [1]}}", "expect.json", "expected a mapping, got a list");
    expect_error("{" HTTP ", \"expect\": {\"max_latency\": \"0s\"}}", "expect.max_latency",
                 "duration must be greater than 0");
    expect_error("{" HTTP ", \"labels\": {\"bad-name\": \"x\"}}", "labels.bad-name", "bad name 'bad-name'");
    expect_error("{" HTTP ", \"labels\": {\"team\": [1]}}", "labels.team", "expected a string, got a list");
    expect_error("{" HTTP ", \"labels\": [\"a\"]}", "labels", "expected a mapping, got a list");
    expect_error("{" HTTP ", \"headers\": {\"X-A\": \"a\\nb\"}}", "headers.X-A",
                 "header values must not contain line breaks");
    expect_error("{" HTTP ", \"headers\": {\"X A\": \"b\"}}", "headers.X A", "bad name 'X A'");
}

static void test_conf_json_reports_the_first_error_in_document_order(void **state)
{
    expect_error("{\"id\": \"A\", \"type\": \"zookeeper\"}", "id", "bad id 'A'");
    expect_error("{\"type\": \"zookeeper\", \"id\": \"A\"}", "type", "unknown check type");
    expect_error("{" HTTP ", \"labels\": {\"ok\": \"1\", \"b-d\": \"x\"}, \"confirm\": 0}", "labels.b-d",
                 "bad name");
}

static void test_conf_json_id_collision_with_base_is_exists_on_id(void **state)
{
    struct conf *base = base_conf(), *out = (struct conf *)1;
    struct conf_json_error err;
    json_t *obj = parse("{\"id\": \"existing\", \"type\": \"http\", \"url\": \"http://x/\"}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, &err), BASE_ERR_EXISTS);
    assert_null(out);
    assert_string_equal(err.field, "id");
    assert_string_equal(err.message, "duplicate check id 'existing' (first defined at line 5 of t.yaml)");
    json_decref(obj);
    /* collision plus another problem: invalid, the first problem wins */
    obj = parse("{\"id\": \"existing\", \"type\": \"http\", \"url\": \"ftp://x/\"}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "id");
    json_decref(obj);
    /* an API check (no line) in base */
    struct conf *one = expect_ok("{\"id\": \"api1\", \"type\": \"tcp\", \"address\": \"127.0.0.1:9\"}", base);
    struct conf *merged = NULL;
    const struct conf *extra[] = {one};
    assert_int_equal(conf_merge_checks(base, extra, 1, &merged), 0);
    obj = parse("{\"id\": \"api1\", \"type\": \"tcp\", \"address\": \"127.0.0.1:9\"}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, merged, &out, &err), BASE_ERR_EXISTS);
    assert_string_equal(err.message, "check id 'api1' already exists");
    json_decref(obj);
    /* without a base nothing collides and no project exists */
    struct conf *alone = expect_ok("{\"id\": \"existing\", \"type\": \"http\", \"url\": \"http://x/\"}", NULL);
    conf_destroy(alone);
    obj = parse("{" HTTP ", \"project\": \"shop\"}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, NULL, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "unknown project 'shop' (no projects are declared)");
    json_decref(obj);
    conf_destroy(merged);
    conf_destroy(one);
    conf_destroy(base);
}

static void test_conf_json_takes_values_literally_and_guards_structure(void **state)
{
    struct conf *base = base_conf(), *out = NULL;
    struct conf_json_error err;
    setenv("OPSHUB_T_SECRET", "hunter2", 1);
    struct conf *c = expect_ok("{" HTTP ", \"name\": \"${OPSHUB_T_SECRET}\", \"body\": \"$$\"}", base);
    assert_string_equal(c->checks[0].name, "${OPSHUB_T_SECRET}");
    assert_string_equal(HCONF(&c->checks[0])->body, "$$");
    conf_destroy(c);
    /* NUL inside a string */
    json_t *obj = parse("{" HTTP "}");
    json_object_set_new(obj, "name", json_stringn("a\0b", 3));
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "name");
    assert_string_equal(err.message, "NUL characters are not allowed in values");
    json_decref(obj);
    /* nesting past the limit, built by hand (no parser limit applies) */
    obj = parse("{" HTTP "}");
    json_t *deep = json_array();
    json_object_set_new(obj, "labels", deep);
    for (int i = 0; i < 100; i++) {
        json_t *next = json_array();
        json_array_append_new(deep, next);
        deep = next;
    }
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.message, "JSON nesting is deeper than 64 levels");
    assert_non_null(strstr(err.field, "labels[0][0][0]"));
    json_decref(obj);
    /* keys are cut to 64 bytes and control characters shown as '?' */
    obj = parse("{" HTTP ", \"labels\": {\"a\\u0001b\": \"x\"}}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "labels.a?b");
    json_decref(obj);
    char key[200];
    memset(key, 'k', sizeof(key));
    key[sizeof(key) - 1] = '\0';
    obj = parse("{" HTTP "}");
    json_object_set_new(obj, key, json_true());
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, &err), BASE_ERR_INVALID);
    assert_int_equal(strlen(err.field), 64);
    json_decref(obj);
    /* NULL object, NULL err */
    assert_int_equal(conf_check_from_json(probe_registry_types(), NULL, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "");
    obj = parse("{}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &out, NULL), BASE_ERR_INVALID);
    assert_null(out);
    json_decref(obj);
    conf_destroy(base);
}

/* Valid checks: JSON gives the same check (hash) as YAML, and the canonical
 * JSON gives it back again, also through text. */
static const char *const valid_checks[] = {
    "{" HTTP "}",
    "{" HTTP ", \"interval\": \"5s\", \"confirm\": 3, \"enabled\": false, \"project\": \"shop\"}",
    "{\"id\": \"web.home\", \"name\": \"Home page\", \"type\": \"http\", \"project\": \"billing\","
    " \"url\": \"https://127.0.0.1:8443/x?y=1\", \"method\": \"post\", \"body\": \"{\\\"a\\\": 1}\","
    " \"headers\": {\"X-A\": \"b\", \"Accept\": \"text/plain\"}, \"labels\": {\"team\": \"web\", \"tier\": \"1\"},"
    " \"expect\": {\"status\": [200, \"3xx\", 404], \"max_latency\": \"1500ms\", \"body_contains\": \"ok\","
    " \"json\": {\"data.status\": \"ok\", \"n\": 1, \"f\": 1.5, \"g\": 0.1, \"b\": true, \"z\": null,"
    " \"s\": \"tab\\there \\\"q\\\" \\u0001 caf\\u00e9\", \"i\": 2.0, \"big\": 1e+300}},"
    " \"tls_verify\": false, \"follow_redirects\": false, \"max_body\": \"1MiB\", \"timeout\": \"3s\"}",
    "{" HTTP ", \"expect\": {\"status\": 204}, \"interval\": \"100ms\"}",
    "{" HTTP ", \"expect\": null, \"labels\": null, \"headers\": {}}",
    "{\"id\": \"db\", \"type\": \"tcp\", \"address\": \"[::1]:5432\", \"send\": \"PING\\r\\n\","
    " \"expect\": \"+PONG\", \"interval\": \"1h30m\", \"timeout\": \"10s\", \"labels\": {\"a\": \"b\"}}",
    "{\"id\": \"t2\", \"type\": \"tcp\", \"address\": \"127.0.0.1:6379\"}",
};

static uint64_t yaml_hash(const char *json_text)
{
    char yaml[4096];
    struct base_errors e;
    snprintf(yaml, sizeof(yaml), "%s  - %s\n", base_yaml, json_text);
    struct conf *c = load_yaml(yaml, &e);
    if (!c) {
        for (size_t i = 0; i < e.len; i++)
            fprintf(stderr, "  yaml: %d:%d %s\n", e.items[i].line, e.items[i].col, e.items[i].msg);
    }
    assert_non_null(c);
    uint64_t h = c->checks[c->n_checks - 1].hash;
    conf_destroy(c);
    base_errors_free(&e);
    return h;
}

static void test_conf_json_valid_checks_hash_like_yaml_and_round_trip(void **state)
{
    struct conf *base = base_conf();
    for (size_t i = 0; i < sizeof(valid_checks) / sizeof(valid_checks[0]); i++) {
        struct conf *c = expect_ok(valid_checks[i], base);
        const struct conf_check *cc = &c->checks[0];
        assert_int_equal(cc->hash, yaml_hash(valid_checks[i]));
        assert_int_equal(cc->line, 0);
        assert_true(cc->timeout_ms < cc->interval_ms);
        json_t *j = conf_check_to_json(cc);
        assert_non_null(j);
        struct conf *again = NULL;
        struct conf_json_error err;
        char *text = json_dumps(j, JSON_COMPACT);
        assert_int_equal(conf_check_from_json(probe_registry_types(), j, base, &again, &err), 0);
        if (again->checks[0].hash != cc->hash)
            fprintf(stderr, "  round trip of %s\n  as %s\n", valid_checks[i], text);
        assert_int_equal(again->checks[0].hash, cc->hash);
        conf_destroy(again);
        /* through text, as stored in the database */
        json_t *back = parse(text);
        assert_int_equal(conf_check_from_json(probe_registry_types(), back, base, &again, &err), 0);
        assert_int_equal(again->checks[0].hash, cc->hash);
        /* and the YAML loader reads the canonical form to the same hash
         * (but for reals: jansson writes 0.1 as 0.10000000000000001) */
        if (!strstr(text, "\"g\":"))
            assert_int_equal(yaml_hash(text), cc->hash);
        conf_destroy(again);
        json_decref(back);
        free(text);
        json_decref(j);
        conf_destroy(c);
    }
    conf_destroy(base);
}

/* C1 control characters (U+0080..U+009F) in an expected JSON string are
 * escaped as \u0080..\u009f in the canonical form and read back as the
 * same characters (a fuzz find: they once made the form unreadable). The
 * YAML loader refuses control characters, so this one is JSON only. */
static void test_conf_json_round_trips_c1_controls(void **state)
{
    struct conf *base = base_conf();
    struct conf *c = expect_ok("{" HTTP ", \"expect\": {\"json\": {\"s\": \"\\u0091 \\u0080\\u009f\\u007f\","
                               " \"i\": 0}}}", base);
    json_t *j = conf_check_to_json(&c->checks[0]);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"\xc2\x91 \xc2\x80\xc2\x9f\x7f\"")); /* the characters, in UTF-8 */
    json_t *back = parse(text);
    struct conf *again = NULL;
    struct conf_json_error err;
    assert_int_equal(conf_check_from_json(probe_registry_types(), back, base, &again, &err), 0);
    assert_int_equal(again->checks[0].hash, c->checks[0].hash);
    conf_destroy(again);
    json_decref(back);
    free(text);
    json_decref(j);
    conf_destroy(c);
    conf_destroy(base);
}

static void test_conf_json_canonical_form_spells_every_field(void **state)
{
    struct conf *base = base_conf();
    struct conf *c = expect_ok(valid_checks[2], base);
    json_t *j = conf_check_to_json(&c->checks[0]);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text,
        "{\"id\":\"web.home\",\"name\":\"Home page\",\"project\":\"billing\",\"type\":\"http\","
        "\"interval\":\"1m\",\"timeout\":\"3s\",\"confirm\":1,\"enabled\":true,"
        "\"labels\":{\"team\":\"web\",\"tier\":\"1\"},\"url\":\"https://127.0.0.1:8443/x?y=1\","
        "\"method\":\"POST\",\"headers\":{\"X-A\":\"b\",\"Accept\":\"text/plain\"},\"body\":\"{\\\"a\\\": 1}\","
        "\"expect\":{\"status\":[200,\"3xx\",404],\"json\":{\"data.status\":\"ok\",\"n\":1,\"f\":1.5,"
        "\"g\":0.10000000000000001,\"b\":true,\"z\":null,\"s\":\"tab\\there \\\"q\\\" \\u0001 caf\u00e9\","
        "\"i\":2.0,\"big\":1.0000000000000001e300},\"max_latency\":\"1s500ms\",\"body_contains\":\"ok\"},"
        "\"tls_verify\":false,\"follow_redirects\":false,\"max_body\":1048576}");
    /* the expect.json values the check compares with */
    const struct conf_check *cc = &c->checks[0];
    assert_int_equal(HCONF(cc)->expect.json.n, 9);
    assert_string_equal(HCONF(cc)->expect.json.items[1].value_json, "1");
    assert_string_equal(HCONF(cc)->expect.json.items[2].value_json, "1.5");
    assert_string_equal(HCONF(cc)->expect.json.items[3].value_json, "0.1");
    assert_string_equal(HCONF(cc)->expect.json.items[5].value_json, "null");
    assert_string_equal(HCONF(cc)->expect.json.items[7].value_json, "2.0");
    assert_string_equal(HCONF(cc)->expect.json.items[8].value_json, "1e+300");
    free(text);
    json_decref(j);
    conf_destroy(c);
    c = expect_ok(valid_checks[5], base);
    j = conf_check_to_json(&c->checks[0]);
    text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text,
        "{\"id\":\"db\",\"name\":\"db\",\"type\":\"tcp\",\"interval\":\"1h30m\",\"timeout\":\"10s\","
        "\"confirm\":1,\"enabled\":true,\"labels\":{\"a\":\"b\"},\"address\":\"[::1]:5432\","
        "\"send\":\"PING\\r\\n\",\"expect\":\"+PONG\"}");
    free(text);
    json_decref(j);
    conf_destroy(c);
    conf_destroy(base);
}

static void test_conf_json_projects(void **state)
{
    struct conf *base = base_conf(), *p = NULL, *out = (struct conf *)1;
    struct conf_json_error err;
    json_t *obj = parse("{\"id\": \"web\", \"environments\": [\"prod\"]}");
    assert_int_equal(conf_project_from_json(obj, base, &p, &err), 0);
    assert_int_equal(p->n_projects, 1);
    assert_string_equal(p->projects[0].name, "web");
    json_t *j = conf_project_to_json(&p->projects[0]);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"id\":\"web\",\"name\":\"web\",\"environments\":[\"prod\"]}");
    free(text);
    json_decref(j);
    json_decref(obj);
    obj = parse("{\"id\": \"shop\"}");
    assert_int_equal(conf_project_from_json(obj, base, &out, &err), BASE_ERR_EXISTS);
    assert_null(out);
    assert_string_equal(err.field, "id");
    assert_string_equal(err.message, "project id 'shop' already exists");
    json_decref(obj);
    obj = parse("{\"id\": \"x\", \"environments\": [\"prod\", \"prod\"]}");
    assert_int_equal(conf_project_from_json(obj, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "environments[1]");
    assert_string_equal(err.message, "duplicate environment 'prod' (first defined at environments[0])");
    json_decref(obj);
    obj = parse("{\"name\": \"x\", \"envs\": []}");
    assert_int_equal(conf_project_from_json(obj, base, &out, &err), BASE_ERR_INVALID);
    assert_string_equal(err.field, "id");
    assert_string_equal(err.message, "project is missing 'id'");
    json_decref(obj);
    /* a check may then name the new project once merged */
    struct conf *merged = NULL, *chk = NULL;
    const struct conf *extra[] = {p};
    assert_int_equal(conf_merge_checks(base, extra, 1, &merged), 0);
    assert_int_equal(merged->n_projects, 3);
    obj = parse("{" HTTP ", \"project\": \"web\"}");
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &chk, &err), BASE_ERR_INVALID);
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, merged, &chk, &err), 0);
    json_decref(obj);
    struct conf *all = NULL;
    const struct conf *both[] = {p, chk};
    assert_int_equal(conf_merge_checks(base, both, 2, &all), 0);
    assert_int_equal(conf_merge_checks(base, both + 1, 1, &out), BASE_ERR_INVALID); /* no project web */
    assert_null(out);
    conf_destroy(all);
    conf_destroy(chk);
    conf_destroy(merged);
    conf_destroy(p);
    conf_destroy(base);
}

static void test_conf_json_merge_copies_everything_and_rejects_duplicates(void **state)
{
    struct conf *base = base_conf();
    struct conf *a = expect_ok("{" HTTP ", \"project\": \"shop\", \"labels\": {\"x\": \"y\"}}", base);
    struct conf *b = expect_ok(valid_checks[2], base);
    struct conf *merged = NULL, *out = (struct conf *)1;
    const struct conf *extra[] = {a, b};
    uint64_t ha = a->checks[0].hash, hb = b->checks[0].hash, h0 = base->checks[0].hash;
    assert_int_equal(conf_merge_checks(base, extra, 2, &merged), 0);
    /* the merged conf owns its memory: the sources go first */
    conf_destroy(a);
    conf_destroy(b);
    assert_int_equal(merged->n_checks, 3);
    assert_int_equal(merged->n_projects, 2);
    assert_string_equal(merged->path, "t.yaml");
    assert_int_equal(merged->checks[0].hash, h0);
    assert_int_equal(merged->checks[0].line, 5);
    assert_int_equal(merged->checks[1].hash, ha);
    assert_int_equal(merged->checks[2].hash, hb);
    assert_ptr_equal(merged->checks[1].project, merged->projects[0].id);
    assert_ptr_equal(merged->checks[2].project, merged->projects[1].id);
    assert_ptr_equal(conf_check_find(merged, "web.home"), &merged->checks[2]);
    assert_string_equal(merged->projects[0].environments[1], "staging");
    /* duplicate ids, between extras or with base */
    struct conf *x1 = expect_ok("{\"id\": \"dup\", \"type\": \"tcp\", \"address\": \"127.0.0.1:1\"}", base);
    struct conf *x2 = expect_ok("{\"id\": \"dup\", \"type\": \"tcp\", \"address\": \"127.0.0.1:2\"}", base);
    const struct conf *dups[] = {x1, x2};
    assert_int_equal(conf_merge_checks(base, dups, 2, &out), BASE_ERR_EXISTS);
    assert_null(out);
    const struct conf *again[] = {merged};
    assert_int_equal(conf_merge_checks(base, again, 1, &out), BASE_ERR_EXISTS);
    /* NULL base and NULL entries */
    assert_int_equal(conf_merge_checks(NULL, dups, 1, &out), 0);
    assert_int_equal(out->n_checks, 1);
    assert_string_equal(out->path, "<api>");
    conf_destroy(out);
    const struct conf *holes[] = {NULL, x1};
    assert_int_equal(conf_merge_checks(base, holes, 2, &out), 0);
    assert_int_equal(out->n_checks, 2);
    conf_destroy(out);
    conf_destroy(x1);
    conf_destroy(x2);
    conf_destroy(merged);
    conf_destroy(base);
}

static void test_conf_json_survives_allocation_failure(void **state)
{
    struct conf *base = base_conf();
    json_t *obj = parse(valid_checks[2]);
    long n;
    int rc = -1;
    for (n = 0; n < 100000 && rc != 0; n++) {
        struct conf *c = (struct conf *)1;
        struct conf_json_error err;
        base_alloc_fail_after(n);
        rc = conf_check_from_json(probe_registry_types(), obj, base, &c, &err);
        base_alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(HCONF(&c->checks[0])->expect.json.n, 9);
            conf_destroy(c);
        } else {
            assert_int_equal(rc, BASE_ERR_NOMEM);
            assert_string_equal(err.message, "out of memory");
            assert_null(c);
        }
    }
    assert_int_equal(rc, 0);
    assert_true(n > 3);
    /* a broken object under OOM: only NOMEM or the real error */
    json_t *bad = parse("{\"id\": \"A\", \"type\": \"zookeeper\", \"labels\": {\"-\": 1}}");
    rc = -1;
    for (n = 0; n < 100000 && rc != BASE_ERR_INVALID; n++) {
        struct conf *c = NULL;
        struct conf_json_error err;
        base_alloc_fail_after(n);
        rc = conf_check_from_json(probe_registry_types(), bad, base, &c, &err);
        base_alloc_fail_after(-1);
        assert_null(c);
        assert_true(rc == BASE_ERR_NOMEM || rc == BASE_ERR_INVALID);
        if (rc == BASE_ERR_INVALID)
            assert_string_equal(err.field, "id");
    }
    assert_int_equal(rc, BASE_ERR_INVALID);
    json_decref(bad);
    /* merge */
    struct conf *one = NULL, *two = NULL;
    struct conf_json_error err;
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, base, &one, &err), 0);
    json_t *tcp = parse(valid_checks[5]);
    assert_int_equal(conf_check_from_json(probe_registry_types(), tcp, base, &two, &err), 0);
    json_decref(tcp);
    const struct conf *extra[] = {one, two};
    rc = -1;
    for (n = 0; n < 100000 && rc != 0; n++) {
        struct conf *m = (struct conf *)1;
        base_alloc_fail_after(n);
        rc = conf_merge_checks(base, extra, 2, &m);
        base_alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(m->n_checks, 3);
            conf_destroy(m);
        } else {
            assert_int_equal(rc, BASE_ERR_NOMEM);
            assert_null(m);
        }
    }
    assert_int_equal(rc, 0);
    /* to_json (jansson allocates through base_malloc in this test) */
    json_t *j = NULL;
    for (n = 0; n < 100000 && !j; n++) {
        base_alloc_fail_after(n);
        j = conf_check_to_json(&one->checks[0]);
        base_alloc_fail_after(-1);
    }
    assert_non_null(j);
    assert_true(n > 10);
    struct conf *back = NULL;
    assert_int_equal(conf_check_from_json(probe_registry_types(), j, base, &back, &err), 0);
    assert_int_equal(back->checks[0].hash, one->checks[0].hash);
    conf_destroy(back);
    json_decref(j);
    conf_destroy(one);
    conf_destroy(two);
    json_decref(obj);
    conf_destroy(base);
}

/* Every seed of the fuzz target: valid checks round-trip, the rest fail cleanly. */
static void test_conf_json_fuzz_seeds_round_trip_or_fail_cleanly(void **state)
{
    const char *src = getenv("OPSHUB_TEST_SRCDIR");
    char dir[1024], path[1400];
    if (!src)
        skip();
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_conf_json", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct conf *base = base_conf();
    size_t ok = 0, bad = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        struct conf *c = NULL;
        struct conf_json_error err;
        if (conf_check_from_json(probe_registry_types(), v, base, &c, &err) == 0) {
            json_t *j = conf_check_to_json(&c->checks[0]);
            struct conf *again = NULL;
            assert_int_equal(conf_check_from_json(probe_registry_types(), j, base, &again, &err), 0);
            assert_int_equal(again->checks[0].hash, c->checks[0].hash);
            conf_destroy(again);
            json_decref(j);
            conf_destroy(c);
            ok++;
        } else {
            assert_null(c);
            assert_true(err.message[0] != '\0');
            bad++;
        }
        json_decref(v);
    }
    closedir(d);
    assert_true(ok >= 5);
    assert_true(bad >= 5);
    conf_destroy(base);
}

int main(void)
{
    json_set_alloc_funcs(base_malloc, base_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_json_unknown_keys_suggest_and_name_the_path),
        cmocka_unit_test(test_conf_json_missing_fields_name_the_missing_member),
        cmocka_unit_test(test_conf_json_wrong_types_read_like_yaml_scalars),
        cmocka_unit_test(test_conf_json_ids_types_and_projects),
        cmocka_unit_test(test_conf_json_nested_paths_in_expect_labels_headers),
        cmocka_unit_test(test_conf_json_reports_the_first_error_in_document_order),
        cmocka_unit_test(test_conf_json_id_collision_with_base_is_exists_on_id),
        cmocka_unit_test(test_conf_json_takes_values_literally_and_guards_structure),
        cmocka_unit_test(test_conf_json_valid_checks_hash_like_yaml_and_round_trip),
        cmocka_unit_test(test_conf_json_canonical_form_spells_every_field),
        cmocka_unit_test(test_conf_json_round_trips_c1_controls),
        cmocka_unit_test(test_conf_json_projects),
        cmocka_unit_test(test_conf_json_merge_copies_everything_and_rejects_duplicates),
        cmocka_unit_test(test_conf_json_survives_allocation_failure),
        cmocka_unit_test(test_conf_json_fuzz_seeds_round_trip_or_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
