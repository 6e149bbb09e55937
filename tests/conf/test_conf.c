/*
 * Unit tests for the config loader (src/conf): the documented example,
 * defaults, every error kind with its exact LINE:COL, several errors in one
 * run, suggestions, ${VAR} interpolation (and that values never leak into
 * messages), ids, hashes, and allocation failure at every step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/log.h"
#include "conf/conf.h"
#include "probe/http.h"
#include "probe/registry.h"
#include "probe/tcp.h"

#define HCONF(c) ((const struct probe_http_conf *)(c)->settings)
#define TCONF(c) ((const struct probe_tcp_conf *)(c)->settings)
#include "conf/interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

struct loaded {
    struct conf *c;
    struct base_errors e;
    int rc;
};

static void load(struct loaded *l, const char *yaml)
{
    base_errors_init(&l->e, 0);
    l->c = NULL;
    l->rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &l->c, &l->e);
}

static void unload(struct loaded *l)
{
    conf_destroy(l->c);
    base_errors_free(&l->e);
}

static void dump(const struct base_errors *e)
{
    char line[1024];
    for (size_t i = 0; i < e->len; i++)
        fprintf(stderr, "  got: %s\n", base_error_format(&e->items[i], line, sizeof(line)));
}

/* True when some error sits at line:col and its message contains needle. */
static bool has_error(const struct base_errors *e, int line, int col, const char *needle)
{
    for (size_t i = 0; i < e->len; i++)
        if (e->items[i].line == line && e->items[i].col == col && strstr(e->items[i].msg, needle))
            return true;
    fprintf(stderr, "  missing error %d:%d '%s'\n", line, col, needle);
    dump(e);
    return false;
}

/* Loads yaml expecting exactly one error, at line:col, containing needle. */
static void expect_one_error(const char *yaml, int line, int col, const char *needle)
{
    struct loaded l;
    load(&l, yaml);
    if (l.e.len != 1) {
        fprintf(stderr, "  for:\n%s\n", yaml);
        dump(&l.e);
    }
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_null(l.c);
    assert_int_equal(l.e.len, 1);
    assert_true(has_error(&l.e, line, col, needle));
    assert_string_equal(l.e.items[0].file, "t.yaml");
    unload(&l);
}

static void expect_ok(struct loaded *l, const char *yaml)
{
    load(l, yaml);
    if (l->rc != 0) {
        fprintf(stderr, "  for:\n%s\n", yaml);
        dump(&l->e);
    }
    assert_int_equal(l->rc, 0);
    assert_non_null(l->c);
    assert_int_equal(l->e.len, 0);
}

static const char design_example[] =
    "server:  {listen: 127.0.0.1:4000, base_url: http://localhost:4000, rate_limit: 120/min}\n"
    "storage: {url: sqlite://data/opshub.db, retention: {samples: 7d, rollups: 400d}}\n"
    "log:     {level: info, format: json}\n"
    "projects:\n"
    "  - {id: tbgroup, name: TB Group Base Stack, environments: [production, staging]}\n"
    "checks:\n"
    "  - id: api-health\n"
    "    project: tbgroup\n"
    "    type: http                  # http tcp postgres redis tls dns disk memory cpu\n"
    "                                # heartbeat command prometheus\n"
    "    url: http://127.0.0.1:3001/health\n"
    "    interval: 30s               # default 60s\n"
    "    timeout: 5s                 # default 10s, must be < interval\n"
    "    confirm: 1                  # consecutive failures before DOWN\n"
    "    labels: {team: web}\n"
    "    expect:                     # http\n"
    "      status: [200]             # default: any 2xx\n"
    "      max_latency: 2s           # slower => DEGRADED\n"
    "      body_contains: ok\n"
    "      json: {status: ok}        # dotted paths into the JSON body\n"
    "  - {id: api-port, type: tcp, address: 127.0.0.1:3001}\n";

static void test_conf_loads_the_design_example(void **state)
{
    struct loaded l;
    expect_ok(&l, design_example);
    const struct conf *c = l.c;
    assert_string_equal(c->path, "t.yaml");
    assert_string_equal(c->server.listen, "127.0.0.1:4000");
    assert_string_equal(c->server.base_url, "http://localhost:4000");
    assert_string_equal(c->server.rate_limit, "120/min");
    assert_string_equal(c->storage.url, "sqlite://data/opshub.db");
    assert_int_equal(c->storage.retention_samples_ms, 7LL * 86400000);
    assert_int_equal(c->storage.retention_rollups_ms, 400LL * 86400000);
    assert_int_equal(c->log.level, BASE_LOG_INFO);
    assert_int_equal(c->log.format, BASE_LOG_FORMAT_JSON);
    assert_int_equal(c->n_projects, 1);
    assert_string_equal(c->projects[0].id, "tbgroup");
    assert_string_equal(c->projects[0].name, "TB Group Base Stack");
    assert_int_equal(c->projects[0].n_environments, 2);
    assert_string_equal(c->projects[0].environments[0], "production");
    assert_string_equal(c->projects[0].environments[1], "staging");
    assert_int_equal(c->n_checks, 2);

    const struct conf_check *h = conf_check_find(c, "api-health");
    assert_ptr_equal(h, &c->checks[0]);
    assert_ptr_equal(h->type, &probe_http_type);
    assert_string_equal(h->name, "api-health");
    assert_string_equal(h->project, "tbgroup");
    assert_string_equal(HCONF(h)->url, "http://127.0.0.1:3001/health");
    assert_int_equal(h->interval_ms, 30000);
    assert_int_equal(h->timeout_ms, 5000);
    assert_int_equal(h->confirm, 1);
    assert_true(h->enabled);
    assert_int_equal(h->n_labels, 1);
    assert_string_equal(h->labels[0].key, "team");
    assert_string_equal(h->labels[0].value, "web");
    assert_int_equal(HCONF(h)->expect.status.n, 1);
    assert_int_equal(HCONF(h)->expect.status.items[0].lo, 200);
    assert_int_equal(HCONF(h)->expect.status.items[0].hi, 200);
    assert_int_equal(HCONF(h)->expect.max_latency_ms, 2000);
    assert_string_equal(HCONF(h)->expect.body_contains, "ok");
    assert_int_equal(HCONF(h)->expect.json.n, 1);
    assert_string_equal(HCONF(h)->expect.json.items[0].path, "status");
    assert_string_equal(HCONF(h)->expect.json.items[0].value_json, "\"ok\"");
    assert_int_equal(h->line, 7);
    assert_int_equal(h->col, 5);

    const struct conf_check *t = conf_check_find(c, "api-port");
    assert_non_null(t);
    assert_ptr_equal(t->type, &probe_tcp_type);
    assert_string_equal(TCONF(t)->address, "127.0.0.1:3001");
    assert_null(t->project);
    assert_int_equal(t->line, 21);
    assert_int_equal(t->col, 5);
    assert_null(conf_check_find(c, "nope"));
    assert_ptr_equal(conf_check_types_find(probe_registry_types(), "http"), &probe_http_type);
    assert_ptr_equal(conf_check_types_find(probe_registry_types(), "tcp"), &probe_tcp_type);
    assert_null(conf_check_types_find(probe_registry_types(), "htp"));
    unload(&l);
}

static void test_conf_applies_defaults(void **state)
{
    struct loaded l;
    expect_ok(&l, "checks:\n  - {id: a, type: http, url: 'http://127.0.0.1/'}\n");
    const struct conf *c = l.c;
    assert_null(c->server.listen);
    assert_null(c->server.base_url);
    assert_null(c->server.rate_limit);
    assert_null(c->storage.url);
    assert_int_equal(c->storage.retention_samples_ms, 7LL * 86400000);
    assert_int_equal(c->storage.retention_rollups_ms, 400LL * 86400000);
    assert_int_equal(c->storage.buffer_max, 100000);
    assert_int_equal(c->log.level, BASE_LOG_INFO);
    assert_int_equal(c->log.format, -1);
    assert_int_equal(c->n_projects, 0);
    const struct conf_check *a = &c->checks[0];
    assert_string_equal(a->name, "a");
    assert_null(a->project);
    assert_int_equal(a->interval_ms, CONF_DEFAULT_INTERVAL_MS);
    assert_int_equal(a->timeout_ms, CONF_DEFAULT_TIMEOUT_MS);
    assert_int_equal(a->confirm, 1);
    assert_true(a->enabled);
    assert_string_equal(HCONF(a)->method, "GET");
    assert_int_equal(HCONF(a)->n_headers, 0);
    assert_null(HCONF(a)->body);
    assert_int_equal(HCONF(a)->expect.status.n, 1);
    assert_int_equal(HCONF(a)->expect.status.items[0].lo, 200);
    assert_int_equal(HCONF(a)->expect.status.items[0].hi, 299);
    assert_int_equal(HCONF(a)->expect.max_latency_ms, 0);
    assert_null(HCONF(a)->expect.body_contains);
    assert_int_equal(HCONF(a)->expect.json.n, 0);
    assert_true(HCONF(a)->tls_verify);
    assert_true(HCONF(a)->follow_redirects);
    assert_int_equal(HCONF(a)->max_body_bytes, PROBE_HTTP_DEFAULT_MAX_BODY);
    unload(&l);
}

static void test_conf_empty_files_are_all_defaults(void **state)
{
    const char *texts[] = {"", "# only a comment\n", "---\n", "~\n", "checks:\n", "checks: []\n",
                           "server:\nstorage:\nlog:\nprojects:\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct loaded l;
        expect_ok(&l, texts[i]);
        assert_int_equal(l.c->n_checks, 0);
        assert_int_equal(l.c->n_projects, 0);
        assert_int_equal(l.c->log.format, -1);
        assert_int_equal(l.c->storage.buffer_max, 100000);
        unload(&l);
    }
}

static void test_conf_new_default_checks_itself(void **state)
{
    struct conf *c = conf_new_default(probe_registry_types(), "http://127.0.0.1:4000/healthz");
    assert_non_null(c);
    assert_string_equal(c->path, "<default>");
    assert_null(c->server.listen);
    assert_int_equal(c->n_checks, 1);
    const struct conf_check *s = conf_check_find(c, "opshub-self");
    assert_non_null(s);
    assert_ptr_equal(s->type, &probe_http_type);
    assert_string_equal(HCONF(s)->url, "http://127.0.0.1:4000/healthz");
    assert_int_equal(s->interval_ms, 30000);
    assert_int_equal(s->timeout_ms, 5000);
    assert_true(s->enabled);
    assert_int_not_equal(s->hash, 0);
    conf_destroy(c);
    conf_destroy(NULL);
}

static void test_conf_reports_every_error_in_one_run_in_file_order(void **state)
{
    struct loaded l;
    /* checks come before projects: errors must still be in file order */
    load(&l,
         "checks:\n"                                   /* 1 */
         "  - id: a\n"                                 /* 2 */
         "    type: http\n"                            /* 3 */
         "    url: http://127.0.0.1/\n"                /* 4 */
         "    interval: soon\n"                        /* 5 */
         "    project: nope\n"                         /* 6 */
         "  - id: a\n"                                 /* 7 */
         "    type: tcp\n"                             /* 8 */
         "    address: 127.0.0.1\n"                    /* 9 */
         "projects:\n"                                 /* 10 */
         "  - {id: web, bogus: 1}\n"                   /* 11 */
         "log: {level: loud}\n");                      /* 12 */
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_null(l.c);
    assert_int_equal(l.e.len, 6);
    assert_true(has_error(&l.e, 5, 15, "bad duration 'soon'"));
    assert_true(has_error(&l.e, 6, 14, "unknown project 'nope'"));
    assert_true(has_error(&l.e, 7, 9, "duplicate check id 'a' (first defined at line 2)"));
    assert_true(has_error(&l.e, 9, 14, "bad address '127.0.0.1'"));
    assert_true(has_error(&l.e, 11, 15, "unknown key 'bogus'"));
    assert_true(has_error(&l.e, 12, 14, "unknown log level 'loud'"));
    for (size_t i = 1; i < l.e.len; i++)
        assert_true(l.e.items[i - 1].line <= l.e.items[i].line);
    char buf[512];
    base_error_format(&l.e.items[0], buf, sizeof(buf));
    assert_string_equal(buf, "t.yaml:5:15: bad duration 'soon' (expected e.g. 500ms, 30s, 5m, 1h30m, 7d)");
    unload(&l);
}

static void test_conf_suggests_close_keys_at_every_level(void **state)
{
    expect_one_error("chekcs: []\n", 1, 1, "unknown key 'chekcs' (did you mean 'checks'?)");
    expect_one_error("server: {lisen: ':4000'}\n", 1, 10, "did you mean 'listen'?");
    expect_one_error("storage:\n  retention: {sample: 7d}\n", 2, 15, "did you mean 'samples'?");
    expect_one_error("storage: {buffer: 10}\n", 1, 11, "did you mean 'buffer_max'?");
    expect_one_error("log: {formt: json}\n", 1, 7, "did you mean 'format'?");
    expect_one_error("projects: [{id: a, environment: [x]}]\n", 1, 20, "did you mean 'environments'?");
    expect_one_error("checks:\n- {id: a, type: tcp, address: 'h:1', intervl: 5s}\n", 2, 38,
                     "unknown key 'intervl' (did you mean 'interval'?)");
    expect_one_error("checks:\n- {id: a, type: http, url: 'http://h/', expect: {stauts: 200}}\n", 2, 50,
                     "did you mean 'status'?");
    /* far from everything: no suggestion */
    struct loaded l;
    load(&l, "zebra: 1\n");
    assert_int_equal(l.e.len, 1);
    assert_string_equal(l.e.items[0].msg, "unknown key 'zebra'");
    unload(&l);
}

static void test_conf_rejects_unsupported_top_level_keys(void **state)
{
    expect_one_error("deploys: []\n", 1, 1, "'deploys' is not supported by this version of opshub yet");
    expect_one_error("incidents: []\n", 1, 12, "expected a mapping, got a list");
    expect_one_error("rotations: {}\n", 1, 12, "expected a list, got a mapping");
    expect_one_error("notify: []\n", 1, 9, "expected a mapping, got a list");
    expect_one_error("maintenance: {}\n", 1, 14, "expected a list, got a mapping");
    const char *keys[] = {"deploys", "backups", "runbooks"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char yaml[64], msg[96];
        snprintf(yaml, sizeof(yaml), "log: {}\n%s: {}\n", keys[i]);
        snprintf(msg, sizeof(msg), "'%s' is not supported by this version of opshub yet", keys[i]);
        expect_one_error(yaml, 2, 1, msg);
    }
}

static void test_conf_rejects_unsupported_and_unknown_check_types(void **state)
{
    expect_one_error("checks:\n  - {id: db, type: zookeeper}\n", 2, 20,
                     "unknown check type 'zookeeper' (supported: http, tcp, heartbeat, disk, memory, cpu, tls, postgres, "
                     "redis, command, dns, prometheus, log)");
    expect_one_error("checks:\n  - {id: db, type: htp, url: 'http://h/'}\n", 2, 20,
                     "unknown check type 'htp' (did you mean 'http'?)");
    expect_one_error("checks:\n  - {id: db, type: banana}\n", 2, 20,
                     "unknown check type 'banana' (supported: http, tcp");
    expect_one_error("checks:\n  - {id: db, url: 'http://h/'}\n", 2, 5, "check is missing 'type'");
}

static void test_conf_requires_id_url_and_address(void **state)
{
    expect_one_error("checks:\n  - {type: http, url: 'http://h/'}\n", 2, 5, "check is missing 'id'");
    expect_one_error("checks:\n  - {id: a, type: http}\n", 2, 5, "http check is missing 'url'");
    expect_one_error("checks:\n  - id: a\n    type: tcp\n", 2, 5, "tcp check is missing 'address'");
    expect_one_error("projects:\n  - name: x\n", 2, 5, "project is missing 'id'");
}

static void test_conf_rejects_fields_of_the_other_type(void **state)
{
    expect_one_error("checks:\n  - {id: a, type: http, url: 'http://h/', address: 'h:1'}\n", 2, 43,
                     "'address' is not valid for an http check");
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', url: 'http://h/'}\n", 2, 40,
                     "'url' is not valid for a tcp check");
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', max_body: 1KiB}\n", 2, 40,
                     "'max_body' is not valid for a tcp check");
    /* expect is a mapping for http, a string for tcp */
    struct loaded l;
    expect_ok(&l, "checks:\n  - {id: a, type: tcp, address: 'h:1', send: \"PING\\r\\n\", expect: PONG}\n");
    assert_string_equal(TCONF(&l.c->checks[0])->send, "PING\r\n");
    assert_string_equal(TCONF(&l.c->checks[0])->expect, "PONG");
    unload(&l);
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', expect: {status: 200}}\n", 2, 48,
                     "expected a string, got a mapping");
    expect_one_error("checks:\n  - {id: a, type: http, url: 'http://h/', expect: ok}\n", 2, 51,
                     "expected a mapping, got a string");
}

static void test_conf_interpolates_environment_variables(void **state)
{
    setenv("OPSHUB_T_HOST", "127.0.0.1", 1);
    setenv("OPSHUB_T_EMPTY", "", 1);
    setenv("OPSHUB_T_CONFIRM", "3", 1);
    unsetenv("OPSHUB_T_UNSET");
    struct loaded l;
    expect_ok(&l,
              "checks:\n"
              "  - id: a\n"
              "    type: http\n"
              "    url: http://${OPSHUB_T_HOST}:${OPSHUB_T_UNSET:-8080}/x\n"
              "    name: 'cost $$5 and $HOME ${OPSHUB_T_EMPTY:-fallback} [${OPSHUB_T_EMPTY}]'\n"
              "    confirm: ${OPSHUB_T_CONFIRM}\n"
              "    body: \"${OPSHUB_T_UNSET:-}\"\n");
    const struct conf_check *a = &l.c->checks[0];
    assert_string_equal(HCONF(a)->url, "http://127.0.0.1:8080/x");
    assert_string_equal(a->name, "cost $5 and $HOME fallback []");
    assert_int_equal(a->confirm, 3);
    assert_string_equal(HCONF(a)->body, "");
    unload(&l);

    expect_one_error("server: {listen: '${OPSHUB_T_UNSET}'}\n", 1, 18,
                     "environment variable 'OPSHUB_T_UNSET' is not set");
    expect_one_error("log:\n  level: ${OPSHUB_T_UNSET}\n", 2, 10, "'OPSHUB_T_UNSET' is not set");
    unsetenv("OPSHUB_T_HOST");
    unsetenv("OPSHUB_T_EMPTY");
    unsetenv("OPSHUB_T_CONFIRM");
}

static void test_conf_rejects_malformed_interpolation(void **state)
{
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', send: 'x ${'}]\n", 1, 51, "malformed '${'");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', send: '${1X}'}]\n", 1, 51, "malformed '${'");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', send: '${X'}]\n", 1, 51, "unterminated '${X'");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', send: '${X:-y'}]\n", 1, 51,
                     "unterminated '${X:-'");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', send: '${X-y}'}]\n", 1, 51,
                     "expected '}' or ':-'");
}

static void test_conf_never_quotes_variable_values_in_errors(void **state)
{
    setenv("OPSHUB_T_SECRET_URL", "http://user:s3cr3t@[bad/", 1);
    setenv("OPSHUB_T_SECRET_IV", "hunter2", 1);
    setenv("OPSHUB_T_SECRET_DB", "mysql://root:s3cr3t@db/x", 1);
    struct loaded l;
    load(&l,
         "storage: {url: '${OPSHUB_T_SECRET_DB}'}\n"
         "checks:\n"
         "  - id: a\n"
         "    type: http\n"
         "    url: ${OPSHUB_T_SECRET_URL}\n"
         "    interval: ${OPSHUB_T_SECRET_IV}\n"
         "  - {id: b, type: http, url: 'http://admin:pa55@[::1'}\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_int_equal(l.e.len, 4);
    assert_true(has_error(&l.e, 1, 16, "storage url must start with sqlite://"));
    assert_true(has_error(&l.e, 5, 10, "bad URL '${OPSHUB_T_SECRET_URL}'"));
    assert_true(has_error(&l.e, 6, 15, "bad duration '${OPSHUB_T_SECRET_IV}'"));
    assert_true(has_error(&l.e, 7, 30, "bad URL 'http://admin:***@[::1'"));
    for (size_t i = 0; i < l.e.len; i++) {
        assert_null(strstr(l.e.items[i].msg, "s3cr3t"));
        assert_null(strstr(l.e.items[i].msg, "hunter2"));
        assert_null(strstr(l.e.items[i].msg, "pa55"));
    }
    unload(&l);
    unsetenv("OPSHUB_T_SECRET_URL");
    unsetenv("OPSHUB_T_SECRET_IV");
    unsetenv("OPSHUB_T_SECRET_DB");
}

static void test_conf_interp_expands_directly(void **state)
{
    struct base_arena a;
    char *out, err[200];
    size_t len;
    int expanded;
    base_arena_init(&a, 0);
    setenv("OPSHUB_T_V", "val", 1);
    assert_int_equal(conf_interp_expand(&a, "a$", 2, &out, &len, &expanded, err, sizeof(err)), 0);
    assert_string_equal(out, "a$");
    assert_int_equal(expanded, 0);
    assert_int_equal(conf_interp_expand(&a, "$$${OPSHUB_T_V}$", 16, &out, &len, &expanded, err, sizeof(err)), 0);
    assert_string_equal(out, "$val$");
    assert_int_equal(len, 5);
    assert_int_equal(expanded, 1);
    assert_int_equal(conf_interp_expand(&a, "${}", 3, &out, &len, NULL, err, sizeof(err)), BASE_ERR_INVALID);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(conf_interp_expand(&a, "${OPSHUB_T_V", 12, &out, &len, NULL, err, sizeof(err)),
                     BASE_ERR_INVALID);
    assert_null(strstr(err, "val'"));
    unsetenv("OPSHUB_T_V");
    base_arena_free(&a);
}

static void test_conf_rejects_duplicate_ids(void **state)
{
    expect_one_error("checks:\n"
                     "  - {id: web, type: tcp, address: 'h:1'}\n"
                     "  - {id: db, type: tcp, address: 'h:2'}\n"
                     "  - {id: web, type: tcp, address: 'h:3'}\n",
                     4, 10, "duplicate check id 'web' (first defined at line 2)");
    expect_one_error("projects:\n  - id: p\n  - id: q\n  - id: p\n", 4, 9,
                     "duplicate project id 'p' (first defined at line 2)");
    expect_one_error("projects:\n  - {id: p, environments: [prod, dev, prod]}\n", 2, 39,
                     "duplicate environment 'prod'");
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', labels: {a: 1, a: 2}}\n", 2, 55,
                     "duplicate key 'a'");
    expect_one_error("checks:\n  - id: a\n    type: tcp\n    address: 'h:1'\n    type: http\n", 5, 5,
                     "duplicate key 'type' (first at line 3)");
}

static void test_conf_validates_ids(void **state)
{
    expect_one_error("checks: [{id: Web, type: tcp, address: 'h:1'}]\n", 1, 15, "bad id 'Web'");
    expect_one_error("checks: [{id: -web, type: tcp, address: 'h:1'}]\n", 1, 15, "bad id '-web'");
    expect_one_error("checks: [{id: 'a b', type: tcp, address: 'h:1'}]\n", 1, 15, "bad id 'a b'");
    char yaml[256];
    char id64[65];
    memset(id64, 'a', 64);
    id64[64] = '\0';
    snprintf(yaml, sizeof(yaml), "checks: [{id: %s, type: tcp, address: 'h:1'}]\n", id64);
    expect_one_error(yaml, 1, 15, "bad id");
    struct loaded l;
    id64[63] = '\0';
    snprintf(yaml, sizeof(yaml), "checks: [{id: %s, type: tcp, address: 'h:1'}, {id: 0a.b_c-d, type: tcp, address: 'h:1'}]\n", id64);
    expect_ok(&l, yaml);
    assert_int_equal(strlen(l.c->checks[0].id), 63);
    assert_string_equal(l.c->checks[1].id, "0a.b_c-d");
    unload(&l);
}

static void test_conf_timeout_must_be_less_than_interval(void **state)
{
    expect_one_error("checks:\n  - id: a\n    type: tcp\n    address: 'h:1'\n    interval: 5s\n    timeout: 5s\n",
                     6, 14, "timeout (5s) must be less than interval (5s)");
    /* against the default interval of 60s */
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', timeout: 2m}\n", 2, 49,
                     "timeout (2m) must be less than interval (1m)");
    struct loaded l;
    /* a short interval without a timeout gets half the interval */
    expect_ok(&l, "checks:\n  - {id: a, type: tcp, address: 'h:1', interval: 4s}\n"
                  "  - {id: b, type: tcp, address: 'h:1', interval: 500ms, timeout: 499ms}\n");
    assert_int_equal(l.c->checks[0].interval_ms, 4000);
    assert_int_equal(l.c->checks[0].timeout_ms, 2000);
    assert_int_equal(l.c->checks[1].timeout_ms, 499);
    unload(&l);
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', interval: 10ms}\n", 2, 50,
                     "interval must be at least 100ms");
    /* The scheduler counts in nanoseconds: a huge interval must be refused, not wrapped. */
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', interval: 288230376151711744ms}\n", 2, 50,
                     "interval must be at most 365d");
    expect_one_error("checks:\n  - {id: a, type: tcp, address: 'h:1', interval: 366d}\n", 2, 50,
                     "interval must be at most 365d");
}

static void test_conf_rejects_bad_durations_quoting_the_text(void **state)
{
    const char *bad[] = {"5", "5x", "-1s", "1m1h", "s", "1.5s", "5 s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[128], msg[64];
        snprintf(yaml, sizeof(yaml), "checks: [{id: a, type: tcp, address: 'h:1', interval: '%s'}]\n", bad[i]);
        snprintf(msg, sizeof(msg), "bad duration '%s'", bad[i]);
        expect_one_error(yaml, 1, 55, msg);
    }
    expect_one_error("storage: {retention: {samples: 0s}}\n", 1, 32, "duration must be greater than 0");
    struct loaded l;
    expect_ok(&l, "storage: {retention: {samples: 1h30m, rollups: 2w}}\n");
    assert_int_equal(l.c->storage.retention_samples_ms, 5400000);
    assert_int_equal(l.c->storage.retention_rollups_ms, 14LL * 86400000);
    assert_int_equal(l.c->storage.retention_minutes_ms, 30LL * 86400000); /* the default */
    unload(&l);
    expect_ok(&l, "storage: {retention: {minutes: 2d, hours: 90d}}\n");
    assert_int_equal(l.c->storage.retention_minutes_ms, 2LL * 86400000);
    assert_int_equal(l.c->storage.retention_rollups_ms, 90LL * 86400000);
    unload(&l);
    expect_one_error("storage: {retention: {hours: 9d, rollups: 2w}}\n", 1, 43,
                     "give \"hours\" or its older name \"rollups\", not both");
    expect_one_error("storage: {retention: {minutes: 1x}}\n", 1, 32, "bad duration '1x'");
}

static void test_conf_validates_urls(void **state)
{
    const char *bad[] = {"ftp://h/", "http://", "http://:80/", "127.0.0.1/x", "http://h x/",
                         "http://[::1/", "http://h:99999/", "https://h:0x/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[160];
        snprintf(yaml, sizeof(yaml), "checks: [{id: a, type: http, url: '%s'}]\n", bad[i]);
        expect_one_error(yaml, 1, 35, "bad URL");
    }
    expect_one_error("server: {base_url: 'localhost:4000'}\n", 1, 20, "bad URL 'localhost:4000'");
    struct loaded l;
    expect_ok(&l, "checks:\n"
                  "  - {id: a, type: http, url: 'https://example.test:8443/p?q=1#f'}\n"
                  "  - {id: b, type: http, url: 'http://[::1]:4000/healthz'}\n"
                  "  - {id: c, type: http, url: 'HTTP://127.0.0.1'}\n");
    assert_string_equal(HCONF(&l.c->checks[1])->url, "http://[::1]:4000/healthz");
    unload(&l);
}

static void test_conf_reports_wrong_node_kinds(void **state)
{
    expect_one_error("- a\n- b\n", 1, 1, "expected a mapping at the top level, got a list");
    expect_one_error("hello\n", 1, 1, "expected a mapping at the top level, got a string");
    expect_one_error("server: [1]\n", 1, 9, "expected a mapping, got a list");
    expect_one_error("storage: sqlite://x\n", 1, 10, "expected a mapping, got a string");
    expect_one_error("checks: {id: a}\n", 1, 9, "expected a list, got a mapping");
    expect_one_error("projects: x\n", 1, 11, "expected a list, got a string");
    expect_one_error("checks: [x]\n", 1, 10, "expected a mapping, got a string");
    expect_one_error("checks: [{id: a, type: http, url: [x]}]\n", 1, 35, "expected a URL, got a list");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', labels: [a]}]\n", 1, 53,
                     "expected a mapping, got a list");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', labels: {a: {b: c}}}]\n", 1, 57,
                     "expected a string, got a mapping");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', name: }]\n", 1, 51, "'name' needs a value");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', enabled: yes}]\n", 1, 54,
                     "expected true or false, got 'yes'");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', confirm: 1.5}]\n", 1, 54,
                     "expected a whole number, got '1.5'");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', confirm: 0}]\n", 1, 54, "out of range (1 to 100)");
    expect_one_error("{[a]: 1}\n", 1, 2, "expected a string key, got a list");
}

/* Found by fuzz_conf: a channel without an id, and incidents.subscribers
 * naming channels, compared a NULL id. Errors, no crash (UBSan watches). */
static void test_conf_subscribers_next_to_a_channel_without_id(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "notify:\n"
             "  channels:\n"
             "    - {type: webhook, url: 'http://127.0.0.1:9/'}\n"
             "    - {id: hook, type: webhook, url: 'http://127.0.0.1:9/'}\n"
             "incidents:\n"
             "  subscribers: {email: mail, webhook: hook}\n"
             "  contact_channels: {email: mail}\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_true(has_error(&l.e, 3, 7, "channel is missing 'id'"));
    assert_true(has_error(&l.e, 6, 24, "no channel has the id 'mail'"));
    assert_true(has_error(&l.e, 7, 29, "no channel has the id 'mail'"));
    unload(&l);
}

static void test_conf_reports_yaml_syntax_errors_with_position(void **state)
{
    expect_one_error("checks:\n  - id: a\n    type: [tcp\n", 4, 1, "YAML syntax error");
    expect_one_error("a: b: c\n", 1, 5, "YAML syntax error: mapping values are not allowed");
    expect_one_error("checks:\n\t- id: a\n", 2, 1, "YAML syntax error");
    expect_one_error("a: 1\n---\nb: 2\n", 2, 1, "only one YAML document");
    expect_one_error("server: {base_url: \"\\0\"}\n", 1, 20, "NUL characters are not allowed");
    expect_one_error("a: \x01\n", 1, 4, "YAML: control characters are not allowed");
    /* invalid UTF-8 on line 2 */
    expect_one_error("log: {}\nx: \xff\n", 2, 4, "YAML: invalid");
}

static void test_conf_rejects_aliases_and_deep_nesting(void **state)
{
    struct loaded l;
    load(&l, "x: &a [1, 2]\ncheck: *a\nlog: *a\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_int_equal(l.e.len, 2);
    assert_true(has_error(&l.e, 2, 8, "YAML aliases (*a) are not supported"));
    assert_true(has_error(&l.e, 3, 6, "YAML aliases (*a) are not supported"));
    unload(&l);
    char deep[400];
    memset(deep, '[', 200);
    deep[200] = '\0';
    expect_one_error(deep, 1, 65, "nesting is deeper than 64 levels");
}

static void test_conf_http_expect_variants(void **state)
{
    struct loaded l;
    expect_ok(&l,
              "checks:\n"
              "  - {id: a, type: http, url: 'http://h/', expect: {status: 201}}\n"
              "  - {id: b, type: http, url: 'http://h/', expect: {status: 3xx}}\n"
              "  - {id: c, type: http, url: 'http://h/', expect: {status: [200, '4XX', 503]}}\n"
              "  - id: d\n"
              "    type: http\n"
              "    url: http://h/\n"
              "    expect:\n"
              "      json:\n"
              "        data.status: ok\n"
              "        items.0.n: 3\n"
              "        neg: -1.5e3\n"
              "        ok: true\n"
              "        gone: null\n"
              "        tilde: ~\n"
              "        quoted: 'true'\n"
              "        zip: 007\n"
              "        esc: \"a\\\"b\\\\c\\n\"\n");
    const struct conf *c = l.c;
    assert_int_equal(HCONF(&c->checks[0])->expect.status.n, 1);
    assert_int_equal(HCONF(&c->checks[0])->expect.status.items[0].lo, 201);
    assert_int_equal(HCONF(&c->checks[0])->expect.status.items[0].hi, 201);
    assert_int_equal(HCONF(&c->checks[1])->expect.status.items[0].lo, 300);
    assert_int_equal(HCONF(&c->checks[1])->expect.status.items[0].hi, 399);
    assert_int_equal(HCONF(&c->checks[2])->expect.status.n, 3);
    assert_int_equal(HCONF(&c->checks[2])->expect.status.items[1].lo, 400);
    assert_int_equal(HCONF(&c->checks[2])->expect.status.items[1].hi, 499);
    assert_int_equal(HCONF(&c->checks[2])->expect.status.items[2].lo, 503);
    const struct conf_check *d = &c->checks[3];
    assert_int_equal(HCONF(d)->expect.json.n, 9);
    const char *want[][2] = {
        {"data.status", "\"ok\""}, {"items.0.n", "3"}, {"neg", "-1.5e3"}, {"ok", "true"},
        {"gone", "null"}, {"tilde", "null"}, {"quoted", "\"true\""}, {"zip", "\"007\""},
        {"esc", "\"a\\\"b\\\\c\\n\""},
    };
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(HCONF(d)->expect.json.items[i].path, want[i][0]);
        assert_string_equal(HCONF(d)->expect.json.items[i].value_json, want[i][1]);
    }
    unload(&l);
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', expect: {status: 600}}]\n", 1, 65,
                     "bad status '600'");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', expect: {status: [200, 99]}}]\n", 1, 71,
                     "bad status '99'");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', expect: {status: []}}]\n", 1, 65,
                     "at least one status");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', expect: {json: {.a: 1}}}]\n", 1, 64,
                     "bad JSON path '.a'");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', expect: {json: {a: [1]}}}]\n", 1, 67,
                     "got a list");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', expect: {max_latency: fast}}]\n", 1, 70,
                     "bad duration 'fast'");
}

static void test_conf_http_fields(void **state)
{
    struct loaded l;
    expect_ok(&l,
              "checks:\n"
              "  - id: a\n"
              "    type: http\n"
              "    url: http://h/\n"
              "    method: post\n"
              "    headers: {Authorization: Bearer x, X-Trace-Id: '1'}\n"
              "    body: '{\"a\":1}'\n"
              "    tls_verify: false\n"
              "    follow_redirects: False\n"
              "    enabled: FALSE\n"
              "    max_body: 1MiB\n"
              "    labels: {team: web, _tier: '1'}\n");
    const struct conf_check *a = &l.c->checks[0];
    assert_string_equal(HCONF(a)->method, "POST");
    assert_int_equal(HCONF(a)->n_headers, 2);
    assert_string_equal(HCONF(a)->headers[0].key, "Authorization");
    assert_string_equal(HCONF(a)->headers[0].value, "Bearer x");
    assert_string_equal(HCONF(a)->body, "{\"a\":1}");
    assert_false(HCONF(a)->tls_verify);
    assert_false(HCONF(a)->follow_redirects);
    assert_false(a->enabled);
    assert_int_equal(HCONF(a)->max_body_bytes, 1024 * 1024);
    assert_int_equal(a->n_labels, 2);
    assert_string_equal(a->labels[1].key, "_tier");
    unload(&l);
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', method: FETCH}]\n", 1, 56, "unknown method 'FETCH'");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', headers: {'a b': x}}]\n", 1, 58, "bad name 'a b'");
    expect_one_error("checks: [{id: a, type: http, url: 'http://h/', headers: {X: \"a\\r\\nEvil: 1\"}}]\n", 1, 61,
                     "must not contain line breaks");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', labels: {team-x: a}}]\n", 1, 54,
                     "bad name 'team-x': label names match [a-zA-Z_][a-zA-Z0-9_]*");
}

static void test_conf_max_body_sizes(void **state)
{
    const struct { const char *text; size_t bytes; } ok[] = {
        {"1000", 1000}, {"64KiB", 65536}, {"2KB", 2000}, {"1MiB", 1048576}, {"16MiB", 16777216}, {"10B", 10},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char yaml[128];
        struct loaded l;
        snprintf(yaml, sizeof(yaml), "checks: [{id: a, type: http, url: 'http://h/', max_body: %s}]\n", ok[i].text);
        expect_ok(&l, yaml);
        assert_int_equal(HCONF(&l.c->checks[0])->max_body_bytes, ok[i].bytes);
        unload(&l);
    }
    const char *bad[] = {"17MiB", "0", "1.5MiB", "1 MiB", "MiB", "64kib", "-1", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "checks: [{id: a, type: http, url: 'http://h/', max_body: '%s'}]\n", bad[i]);
        expect_one_error(yaml, 1, 58, "size");
    }
}

static void test_conf_validates_addresses(void **state)
{
    struct loaded l;
    expect_ok(&l, "server: {listen: ':4000'}\n"
                  "checks:\n"
                  "  - {id: a, type: tcp, address: '[::1]:5432'}\n"
                  "  - {id: b, type: tcp, address: 'db.internal:5432'}\n");
    assert_string_equal(l.c->server.listen, ":4000");
    assert_string_equal(TCONF(&l.c->checks[0])->address, "[::1]:5432");
    unload(&l);
    expect_ok(&l, "server: {listen: '[::1]:65535'}\n");
    unload(&l);
    const char *bad[] = {"::1:80", "h", "h:0", "h:65536", ":80", "[::1]80", "[::1", "h:8x", "a/b:1", "[]:1", "h:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[128];
        snprintf(yaml, sizeof(yaml), "checks: [{id: a, type: tcp, address: '%s'}]\n", bad[i]);
        expect_one_error(yaml, 1, 38, "bad address");
    }
    expect_one_error("server: {listen: '127.0.0.1:0'}\n", 1, 18, "port must be a number from 1 to 65535");
    expect_one_error("checks: [{id: a, type: tcp, address: '::1:80'}]\n", 1, 38, "IPv6 addresses go in brackets");
}

static void test_conf_validates_server_storage_and_log(void **state)
{
    struct loaded l;
    expect_ok(&l, "server: {rate_limit: 10/sec}\nstorage: {url: 'postgresql://u@h/db', buffer_max: 10000000}\n"
                  "log: {level: debug, format: text}\n");
    assert_string_equal(l.c->server.rate_limit, "10/sec");
    assert_string_equal(l.c->storage.url, "postgresql://u@h/db");
    assert_int_equal(l.c->storage.buffer_max, 10000000);
    assert_int_equal(l.c->log.level, BASE_LOG_DEBUG);
    assert_int_equal(l.c->log.format, BASE_LOG_FORMAT_TEXT);
    unload(&l);
    expect_ok(&l, "server: {rate_limit: 5/hour, global_rate_limit: 1000000/sec, login_rate_limit: 3/min,"
                  " cors_origins: ['https://a.example', 'http://localhost:5173'], max_body: 64KiB,"
                  " auth: {access_ttl: 5m, refresh_ttl: 7d}, tls: {cert: /c.pem, key: /k.pem}}\n"
                  "storage: {url: 'postgres://h/db', retention: {audit: 90d}}\nlog: {level: error}\n");
    assert_string_equal(l.c->server.global_rate_limit, "1000000/sec");
    assert_string_equal(l.c->server.login_rate_limit, "3/min");
    assert_string_equal(l.c->server.cors_origins, "https://a.example, http://localhost:5173");
    assert_int_equal(l.c->server.max_body, 64 * 1024);
    assert_int_equal(l.c->server.access_ttl_ms, 5 * 60000);
    assert_int_equal(l.c->server.refresh_ttl_ms, 7LL * 86400000);
    assert_string_equal(l.c->server.tls_cert, "/c.pem");
    assert_int_equal(l.c->storage.retention_audit_ms, 90LL * 86400000);
    assert_int_equal(l.c->log.level, BASE_LOG_ERROR);
    unload(&l);
    const char *bad_rates[] = {"120", "0/min", "x/min", "120/day", "120/", "/min", "-1/sec", "1234567890/sec",
                               "1000001/min"};
    for (size_t i = 0; i < sizeof(bad_rates) / sizeof(bad_rates[0]); i++) {
        char yaml[96];
        snprintf(yaml, sizeof(yaml), "server: {rate_limit: '%s'}\n", bad_rates[i]);
        expect_one_error(yaml, 1, 22, "bad rate limit");
    }
    expect_one_error("server: {tls: {cert: /c.pem}}\n", 1, 15, "tls needs both cert and key");
    expect_one_error("server: {cors_origins: 'https://ok.example, ftp://x'}\n", 1, 24, "bad CORS origin 'ftp://x'");
    expect_one_error("server: {auth: {access_ttl: 30s}}\n", 1, 29, "access_ttl must be from 1m to 24h");
    expect_one_error("server: {auth: {refresh_ttl: 400d}}\n", 1, 30, "refresh_ttl must be from 1h to 365d");
    expect_one_error("storage: {url: 'mysql://root:pw@h/db'}\n", 1, 16,
                     "storage url must start with sqlite://, postgres:// or postgresql://");
    expect_one_error("storage: {buffer_max: 10000001}\n", 1, 23, "out of range (1 to 10000000)");
    expect_one_error("storage: {buffer_max: 0}\n", 1, 23, "out of range");
    expect_one_error("log: {level: warning}\n", 1, 14, "unknown log level 'warning'");
    expect_one_error("log: {format: yaml}\n", 1, 15, "unknown log format 'yaml'");
}

static void test_conf_reads_server_metrics_auth(void **state)
{
    struct loaded l;
    expect_ok(&l, "server: {listen: '127.0.0.1:1'}\n");
    assert_null(l.c->server.metrics_bearer_token);
    assert_null(l.c->server.metrics_username);
    unload(&l);
    setenv("OPSHUB_TEST_SCRAPE", "scrape-token-0123456789", 1);
    expect_ok(&l, "server: {metrics_auth: {bearer_token: '${OPSHUB_TEST_SCRAPE}'}}\n");
    assert_string_equal(l.c->server.metrics_bearer_token, "scrape-token-0123456789");
    struct conf *merged = NULL;
    assert_int_equal(conf_merge_checks(l.c, NULL, 0, &merged), 0);
    assert_string_equal(merged->server.metrics_bearer_token, "scrape-token-0123456789");
    assert_ptr_not_equal(merged->server.metrics_bearer_token, l.c->server.metrics_bearer_token);
    conf_destroy(merged);
    unload(&l);
    expect_ok(&l, "server:\n  metrics_auth:\n    username: prom\n    password: ${OPSHUB_TEST_SCRAPE}\n");
    assert_string_equal(l.c->server.metrics_username, "prom");
    assert_string_equal(l.c->server.metrics_password, "scrape-token-0123456789");
    assert_null(l.c->server.metrics_bearer_token);
    unload(&l);
    /* Errors name the place and never the value. */
    expect_one_error("server: {metrics_auth: {bearer_token: short-secret}}\n", 1, 39,
                     "metrics_auth.bearer_token must be 16 to 1024 printable characters without spaces");
    load(&l, "server: {metrics_auth: {bearer_token: short-secret}}\n");
    assert_int_equal(l.e.len, 1);
    assert_null(strstr(l.e.items[0].msg, "short-secret"));
    unload(&l);
    expect_one_error("server: {metrics_auth: {bearer_token: 'has a space in it, long'}}\n", 1, 39,
                     "(the value is not shown)");
    expect_one_error("server: {metrics_auth: {username: 'a:b', password: scrape-token-0123456789}}\n", 1, 35,
                     "metrics_auth.username must be 1 to 64 printable characters without spaces or ':'");
    expect_one_error("server: {metrics_auth: {username: prom}}\n", 1, 24, "needs both username and password");
    expect_one_error("server: {metrics_auth: {password: scrape-token-0123456789}}\n", 1, 24,
                     "needs both username and password");
    expect_one_error("server: {metrics_auth: {bearer_token: scrape-token-0123456789, username: prom,"
                     " password: scrape-token-0123456789}}\n", 1, 24, "not both");
    expect_one_error("server: {metrics_auth: {}}\n", 1, 24, "metrics_auth needs bearer_token");
    expect_one_error("server: {metrics_auth: {bearer: scrape-token-0123456789}}\n", 1, 25, "bearer_token");
    expect_one_error("server: {metrics_auth: token}\n", 1, 24, "");
    unsetenv("OPSHUB_TEST_SCRAPE");
}

static void test_conf_reads_server_static_dir(void **state)
{
    struct loaded l;
    expect_ok(&l, "server: {listen: '127.0.0.1:1'}\n");
    assert_null(l.c->server.static_dir);
    unload(&l);
    expect_ok(&l, "server: {static_dir: ~}\n");
    assert_null(l.c->server.static_dir);
    unload(&l);
    expect_ok(&l, "server: {static_dir: /srv/opshub/dashboard}\n");
    assert_string_equal(l.c->server.static_dir, "/srv/opshub/dashboard");
    /* Merging API objects copies it with the other server settings. */
    struct conf *merged = NULL;
    assert_int_equal(conf_merge_checks(l.c, NULL, 0, &merged), 0);
    assert_string_equal(merged->server.static_dir, "/srv/opshub/dashboard");
    assert_ptr_not_equal(merged->server.static_dir, l.c->server.static_dir);
    conf_destroy(merged);
    unload(&l);
    expect_one_error("server: {static_dir: ''}\n", 1, 22, "static_dir must name a directory");
    expect_one_error("server: {static_dir: [a, b]}\n", 1, 22, "a string");
    expect_one_error("server: {static_dri: /x}\n", 1, 10, "static_dir");
}

static void test_conf_reads_server_trusted_proxies(void **state)
{
    struct loaded l;
    char buf[64];
    expect_ok(&l, "server: {listen: '127.0.0.1:1'}\n");
    assert_null(l.c->server.trusted_proxies);
    assert_int_equal(l.c->server.n_trusted_proxies, 0);
    unload(&l);
    expect_ok(&l, "server: {trusted_proxies: ~}\n");
    assert_int_equal(l.c->server.n_trusted_proxies, 0);
    unload(&l);
    expect_ok(&l, "server: {trusted_proxies: []}\n");
    assert_int_equal(l.c->server.n_trusted_proxies, 0);
    unload(&l);
    expect_ok(&l, "server:\n  trusted_proxies: [127.0.0.1, 10.0.0.0/8, '::1', '2001:db8::/32', '::ffff:192.168.0.0/112']\n");
    assert_int_equal(l.c->server.n_trusted_proxies, 5);
    const struct base_cidr *t = l.c->server.trusted_proxies;
    assert_string_equal(base_cidr_format(&t[0], buf, sizeof(buf)), "127.0.0.1/32");
    assert_string_equal(base_cidr_format(&t[1], buf, sizeof(buf)), "10.0.0.0/8");
    assert_string_equal(base_cidr_format(&t[2], buf, sizeof(buf)), "::1/128");
    assert_string_equal(base_cidr_format(&t[3], buf, sizeof(buf)), "2001:db8::/32");
    assert_string_equal(base_cidr_format(&t[4], buf, sizeof(buf)), "192.168.0.0/16");
    /* Merging API objects copies them with the other server settings. */
    struct conf *merged = NULL;
    assert_int_equal(conf_merge_checks(l.c, NULL, 0, &merged), 0);
    assert_int_equal(merged->server.n_trusted_proxies, 5);
    assert_ptr_not_equal(merged->server.trusted_proxies, l.c->server.trusted_proxies);
    assert_memory_equal(merged->server.trusted_proxies, t, 5 * sizeof(*t));
    conf_destroy(merged);
    unload(&l);
    expect_ok(&l, "server: {trusted_proxies: 192.168.0.0/16}\n");
    assert_int_equal(l.c->server.n_trusted_proxies, 1);
    unload(&l);
    expect_one_error("server: {trusted_proxies: [10.0.0.0/8, 10.0.0.1/8]}\n", 1, 40,
                     "bad network '10.0.0.1/8': address has bits set past the prefix length");
    expect_one_error("server:\n  trusted_proxies:\n    - 10.0.0.0/33\n", 3, 7, "bad prefix length (expected /0 to /32)");
    expect_one_error("server: {trusted_proxies: [proxy.internal]}\n", 1, 28,
                     "bad network 'proxy.internal': not an IPv4 or IPv6 address");
    expect_one_error("server: {trusted_proxies: ['[::1]']}\n", 1, 28, "not an IPv4 or IPv6 address");
    expect_one_error("server: {trusted_proxies: [10.0.0.0/8, 10.0.0.0/8]}\n", 1, 40, "duplicate network '10.0.0.0/8'");
    expect_one_error("server: {trusted_proxies: {a: 1}}\n", 1, 27, "expected a list of addresses or CIDRs");
    expect_one_error("server: {trusted_proxies: [[10.0.0.1]]}\n", 1, 28, "an address or CIDR");
    expect_one_error("server: {trusted_proxie: [10.0.0.1]}\n", 1, 10, "did you mean 'trusted_proxies'?");
    char yaml[1024] = "server: {trusted_proxies: [";
    for (int i = 0; i <= CONF_TRUSTED_PROXIES_MAX; i++)
        snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "%s10.0.0.%d", i ? ", " : "", i);
    snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "]}\n");
    expect_one_error(yaml, 1, 27, "too many networks (65, at most 64)");
    /* Two errors in one list are both reported. */
    load(&l, "server: {trusted_proxies: [x, 10.0.0.0/8, y]}\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_int_equal(l.e.len, 2);
    unload(&l);
}

static void test_conf_log_keys_and_service(void **state)
{
    struct loaded l;
    expect_ok(&l, "checks: []\n");
    assert_int_equal(l.c->log.keys, BASE_LOG_KEYS_OPSHUB); /* today's shape by default */
    assert_null(l.c->log.service);
    unload(&l);
    expect_ok(&l, "log: {format: json, keys: service, service: shop-api}\n");
    assert_int_equal(l.c->log.format, BASE_LOG_FORMAT_JSON);
    assert_int_equal(l.c->log.keys, BASE_LOG_KEYS_SERVICE);
    assert_string_equal(l.c->log.service, "shop-api");
    unload(&l);
    expect_ok(&l, "log: {keys: opshub, format: text, service: 'Shop API \"eu\"'}\n");
    assert_int_equal(l.c->log.keys, BASE_LOG_KEYS_OPSHUB);
    assert_int_equal(l.c->log.format, BASE_LOG_FORMAT_TEXT);
    assert_string_equal(l.c->log.service, "Shop API \"eu\"");
    unload(&l);
    expect_one_error("log: {keys: srvice}\n", 1, 13,
                     "unknown log keys 'srvice' (did you mean 'service'? expected opshub or service)");
    expect_one_error("log: {keys: teams}\n", 1, 13, "unknown log keys 'teams' (expected opshub or service)");
    expect_one_error("log: {format: jsn}\n", 1, 15, "unknown log format 'jsn' (did you mean 'json'? expected json or text)");
    expect_one_error("log: {level: inf}\n", 1, 14, "unknown log level 'inf' (did you mean 'info'?");
    expect_one_error("log: {servce: x}\n", 1, 7, "unknown key 'servce' (did you mean 'service'?)");
    expect_one_error("log: {keys: [service]}\n", 1, 13, "expected log keys, got a list");
    expect_one_error("log: {service: ''}\n", 1, 16, "a service name has 1 to 63 bytes");
    expect_one_error("log: {service: \"a\\tb\"}\n", 1, 16, "must not contain control characters");
    char yaml[200];
    snprintf(yaml, sizeof(yaml), "log: {service: %064d}\n", 7);
    expect_one_error(yaml, 1, 16, "a service name has 1 to 63 bytes");
}

static void test_conf_resolves_project_references(void **state)
{
    struct loaded l;
    /* projects may come after the checks that use them */
    expect_ok(&l, "checks:\n  - {id: a, type: tcp, address: 'h:1', project: web}\n"
                  "projects:\n  - {id: web}\n  - {id: db, name: Database}\n");
    assert_string_equal(l.c->checks[0].project, "web");
    assert_ptr_equal(l.c->checks[0].project, l.c->projects[0].id);
    assert_string_equal(l.c->projects[0].name, "web");
    assert_string_equal(l.c->projects[1].name, "Database");
    unload(&l);
    expect_one_error("projects: [{id: web}]\nchecks: [{id: a, type: tcp, address: 'h:1', project: wbe}]\n", 2, 54,
                     "unknown project 'wbe' (did you mean 'web'?)");
    expect_one_error("checks: [{id: a, type: tcp, address: 'h:1', project: web}]\n", 1, 54,
                     "unknown project 'web' (no projects are declared)");
}

static uint64_t hash_of(const char *yaml)
{
    struct loaded l;
    expect_ok(&l, yaml);
    uint64_t h = l.c->checks[0].hash;
    unload(&l);
    return h;
}

static void test_conf_hash_tracks_every_field(void **state)
{
    const char *base =
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}}\n";
    uint64_t h = hash_of(base);
    assert_int_not_equal(h, 0);
    /* same definition elsewhere in the file, written differently: same hash */
    assert_int_equal(h, hash_of("\n\n# moved\nchecks:\n  - id: a\n    type: http\n    url: http://h/\n"
                                "    interval: 1m\n    labels: {t: w}\n    expect:\n      json: {a: 1}\n"));
    const char *changed[] = {
        "checks:\n  - {id: b, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h2/', labels: {t: w}, expect: {json: {a: 1}}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: x}, expect: {json: {a: 1}}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {u: w}, expect: {json: {a: 1}}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: '1'}}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {b: 1}}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}, status: 200}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, interval: 59s}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, timeout: 9s}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, confirm: 2}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, enabled: false}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, name: A}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, method: HEAD}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, headers: {A: b}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, body: x}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, tls_verify: false}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, follow_redirects: false}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, max_body: 1KiB}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}, max_latency: 1s}}\n",
        "checks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}, body_contains: x}}\n",
        "projects: [{id: p}]\nchecks:\n  - {id: a, type: http, url: 'http://h/', labels: {t: w}, expect: {json: {a: 1}}, project: p}\n",
    };
    for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
        if (hash_of(changed[i]) == h)
            fprintf(stderr, "  same hash for: %s\n", changed[i]);
        assert_int_not_equal(hash_of(changed[i]), h);
    }
    /* tcp fields too */
    uint64_t t = hash_of("checks: [{id: a, type: tcp, address: 'h:1'}]\n");
    assert_int_not_equal(t, hash_of("checks: [{id: a, type: tcp, address: 'h:2'}]\n"));
    assert_int_not_equal(t, hash_of("checks: [{id: a, type: tcp, address: 'h:1', send: x}]\n"));
    assert_int_not_equal(t, hash_of("checks: [{id: a, type: tcp, address: 'h:1', expect: x}]\n"));
    /* field boundaries count: send "ab" + expect "c" differs from "a" + "bc" */
    assert_int_not_equal(hash_of("checks: [{id: a, type: tcp, address: 'h:1', send: ab, expect: c}]\n"),
                         hash_of("checks: [{id: a, type: tcp, address: 'h:1', send: a, expect: bc}]\n"));
}

static const char small_config[] =
    "server: {listen: '127.0.0.1:4000', base_url: 'http://127.0.0.1:4000'}\n"
    "storage: {url: 'sqlite://d/x.db', retention: {samples: 1d}}\n"
    "log: {level: warn}\n"
    "projects: [{id: p, environments: [prod]}]\n"
    "checks:\n"
    "  - id: a\n"
    "    project: p\n"
    "    type: http\n"
    "    url: http://127.0.0.1:${OPSHUB_T_NOPE:-4000}/healthz\n"
    "    headers: {X-A: b}\n"
    "    labels: {team: web}\n"
    "    expect: {status: [200, 3xx], json: {a.b: x, n: 1}, body_contains: ok}\n"
    "  - {id: b, type: tcp, address: '127.0.0.1:4000', send: x, expect: y}\n";

static void test_conf_survives_allocation_failure_at_every_step(void **state)
{
    long n;
    int rc = -1;
    for (n = 0; n < 100000 && rc != 0; n++) {
        struct base_errors e;
        struct conf *c = (struct conf *)1;
        base_errors_init(&e, 0);
        base_alloc_fail_after(n);
        rc = conf_load_string(probe_registry_types(), "t.yaml", small_config, strlen(small_config), &c, &e);
        base_alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(c->n_checks, 2);
            assert_string_equal(HCONF(&c->checks[0])->expect.json.items[1].value_json, "1");
            conf_destroy(c);
        } else {
            /* OOM is reported as such, never as a bogus config error */
            assert_int_equal(rc, BASE_ERR_NOMEM);
            assert_null(c);
        }
        base_errors_free(&e);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 10);
    /* errors on a broken file must not leak under OOM either */
    const char *bad = "checks: [{id: A, type: zookeeper}, {id: b}]\nalerts: []\n";
    rc = -1;
    for (n = 0; n < 100000 && rc != BASE_ERR_INVALID; n++) {
        struct base_errors e;
        struct conf *c = NULL;
        base_errors_init(&e, 0);
        base_alloc_fail_after(n);
        rc = conf_load_string(probe_registry_types(), "t.yaml", bad, strlen(bad), &c, &e);
        base_alloc_fail_after(-1);
        assert_null(c);
        assert_true(rc == BASE_ERR_NOMEM || rc == BASE_ERR_INVALID);
        base_errors_free(&e);
    }
    assert_int_equal(rc, BASE_ERR_INVALID);
    for (n = 0; n < 100; n++) {
        base_alloc_fail_after(n);
        struct conf *c = conf_new_default(probe_registry_types(), "http://127.0.0.1:4000/healthz");
        base_alloc_fail_after(-1);
        if (c) {
            conf_destroy(c);
            break;
        }
    }
    assert_true(n < 100);
}

static void test_conf_load_file_reads_and_reports(void **state)
{
    char path[] = "/tmp/opshub-test-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, small_config, strlen(small_config)), (ssize_t)strlen(small_config));
    close(fd);
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    assert_int_equal(conf_load_file(probe_registry_types(), path, &c, &e), 0);
    assert_string_equal(c->path, path);
    assert_int_equal(c->n_checks, 2);
    conf_destroy(c);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "log: {level: x}\n", 16), 16);
    close(fd);
    assert_int_equal(conf_load_file(probe_registry_types(), path, &c, &e), BASE_ERR_INVALID);
    assert_null(c);
    assert_int_equal(e.len, 1);
    assert_string_equal(e.items[0].file, path);
    assert_int_equal(e.items[0].line, 1);
    assert_int_equal(e.items[0].col, 14);
    unlink(path);
    base_errors_free(&e);

    base_errors_init(&e, 0);
    assert_int_equal(conf_load_file(probe_registry_types(), "/nonexistent/opshub.yaml", &c, &e), BASE_ERR_IO);
    assert_null(c);
    assert_int_equal(e.len, 1);
    assert_string_equal(e.items[0].file, "/nonexistent/opshub.yaml");
    assert_non_null(strstr(e.items[0].msg, "No such file"));
    assert_int_equal(conf_load_file(probe_registry_types(), "/tmp", &c, &e), BASE_ERR_IO);
    base_errors_free(&e);
}

static void test_conf_refuses_huge_files(void **state)
{
    size_t n = 8u * 1024 * 1024 + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    assert_int_equal(conf_load_string(probe_registry_types(), "big.yaml", big, n, &c, &e), BASE_ERR_INVALID);
    assert_null(c);
    assert_int_equal(e.len, 1);
    assert_non_null(strstr(e.items[0].msg, "too large"));
    base_errors_free(&e);
    free(big);
}

static void test_conf_accepts_the_example_file(void **state)
{
    const char *src = getenv("OPSHUB_TEST_SRCDIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/examples/opshub.yaml", src ? src : "..");
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_file(probe_registry_types(), path, &c, &e);
    if (rc)
        dump(&e);
    assert_int_equal(rc, 0);
    assert_true(c->n_checks >= 2);
    /* Every network target is on loopback (host checks look at this machine). */
    size_t network = 0;
    for (size_t i = 0; i < c->n_checks; i++) {
        const char *type = c->checks[i].type->name;
        if (strcmp(type, "http") != 0 && strcmp(type, "tcp") != 0)
            continue;
        network++;
        const char *target = strcmp(type, "http") == 0 ? HCONF(&c->checks[i])->url : TCONF(&c->checks[i])->address;
        assert_true(strstr(target, "127.0.0.1") || strstr(target, "[::1]"));
    }
    assert_true(network >= 2);
    conf_destroy(c);
    base_errors_free(&e);
}

static void test_conf_loads_every_valid_fuzz_seed_and_survives_the_rest(void **state)
{
    /* Seeds named valid-* must load; all others (and crash reproducers) must not crash. */
    const char *src = getenv("OPSHUB_TEST_SRCDIR");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_conf", src ? src : "..");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int seen = 0;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.')
            continue;
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        struct conf *c = NULL;
        struct base_errors e;
        base_errors_init(&e, 0);
        int rc = conf_load_file(probe_registry_types(), path, &c, &e);
        if (strncmp(name, "valid-", 6) == 0) {
            if (rc)
                dump(&e);
            assert_int_equal(rc, 0);
        }
        conf_destroy(c);
        base_errors_free(&e);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_loads_the_design_example),
        cmocka_unit_test(test_conf_applies_defaults),
        cmocka_unit_test(test_conf_empty_files_are_all_defaults),
        cmocka_unit_test(test_conf_new_default_checks_itself),
        cmocka_unit_test(test_conf_reports_every_error_in_one_run_in_file_order),
        cmocka_unit_test(test_conf_suggests_close_keys_at_every_level),
        cmocka_unit_test(test_conf_rejects_unsupported_top_level_keys),
        cmocka_unit_test(test_conf_rejects_unsupported_and_unknown_check_types),
        cmocka_unit_test(test_conf_requires_id_url_and_address),
        cmocka_unit_test(test_conf_rejects_fields_of_the_other_type),
        cmocka_unit_test(test_conf_interpolates_environment_variables),
        cmocka_unit_test(test_conf_rejects_malformed_interpolation),
        cmocka_unit_test(test_conf_never_quotes_variable_values_in_errors),
        cmocka_unit_test(test_conf_interp_expands_directly),
        cmocka_unit_test(test_conf_rejects_duplicate_ids),
        cmocka_unit_test(test_conf_validates_ids),
        cmocka_unit_test(test_conf_timeout_must_be_less_than_interval),
        cmocka_unit_test(test_conf_rejects_bad_durations_quoting_the_text),
        cmocka_unit_test(test_conf_validates_urls),
        cmocka_unit_test(test_conf_reports_wrong_node_kinds),
        cmocka_unit_test(test_conf_reports_yaml_syntax_errors_with_position),
        cmocka_unit_test(test_conf_subscribers_next_to_a_channel_without_id),
        cmocka_unit_test(test_conf_rejects_aliases_and_deep_nesting),
        cmocka_unit_test(test_conf_http_expect_variants),
        cmocka_unit_test(test_conf_http_fields),
        cmocka_unit_test(test_conf_max_body_sizes),
        cmocka_unit_test(test_conf_validates_addresses),
        cmocka_unit_test(test_conf_validates_server_storage_and_log),
        cmocka_unit_test(test_conf_reads_server_static_dir),
        cmocka_unit_test(test_conf_reads_server_trusted_proxies),
        cmocka_unit_test(test_conf_reads_server_metrics_auth),
        cmocka_unit_test(test_conf_log_keys_and_service),
        cmocka_unit_test(test_conf_resolves_project_references),
        cmocka_unit_test(test_conf_hash_tracks_every_field),
        cmocka_unit_test(test_conf_survives_allocation_failure_at_every_step),
        cmocka_unit_test(test_conf_load_file_reads_and_reports),
        cmocka_unit_test(test_conf_refuses_huge_files),
        cmocka_unit_test(test_conf_accepts_the_example_file),
        cmocka_unit_test(test_conf_loads_every_valid_fuzz_seed_and_survives_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
