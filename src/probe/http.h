/*
 * probe/http: the `http` check type: its settings (URL, method, headers,
 * body, credentials, client certificate, expectations on status, latency,
 * body, response headers and JSON values, TLS verification, redirects,
 * body cap) as a field table, and its runs on the engine's curl
 * multi: one easy handle per run, the capped body, and curl's result, the
 * status, the body conditions and the latency turned into a sample with
 * the blackbox_exporter-style values (status code, per-phase durations,
 * redirects, content length). Owns the run's copy of the expectations and
 * its easy handle. Never puts a URL in an error text (it may carry
 * credentials).
 */
#ifndef PROBE_HTTP_H
#define PROBE_HTTP_H

#include "conf/conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_HTTP_DEFAULT_MAX_BODY (64 * 1024)
#define PROBE_HTTP_MAX_BODY_LIMIT (16 * 1024 * 1024)

/* An inclusive range of accepted HTTP status codes: 200..200 or 200..299 (2xx). */
struct probe_http_status_range {
    int lo, hi;
};

struct probe_http_statuses {
    struct probe_http_status_range *items;  /* default: one range 200..299 */
    size_t n;
};

/* A regular expression (PCRE2) compiled once when the configuration is
 * loaded: the pattern as written and PCRE2's serialized form of the
 * compiled code, which a run decodes (a copy, not a compilation). Both in
 * the conf arena; pattern NULL when unset. */
struct probe_http_regex {
    const char *pattern;
    const unsigned char *code;
    size_t code_len;
};

/* The comparison of a condition. EQ is also the plain form (`status: ok`). */
enum probe_http_op {
    PROBE_HTTP_OP_EQ,       /* == */
    PROBE_HTTP_OP_NE,       /* != */
    PROBE_HTTP_OP_LT,       /* <  numbers only */
    PROBE_HTTP_OP_LE,       /* <= */
    PROBE_HTTP_OP_GT,       /* >  */
    PROBE_HTTP_OP_GE,       /* >= */
    PROBE_HTTP_OP_MATCH,    /* ~  a regular expression, strings only */
    PROBE_HTTP_OP_NOMATCH,  /* !~ */
    PROBE_HTTP_OP_PRESENT,  /* headers: `true` */
    PROBE_HTTP_OP_ABSENT,   /* headers: `false` */
};

/* expect.json entry: a dotted path ("data.status", "items.0.ok", with \.
 * for a dot inside a key) into the response body and a condition on the
 * value there. value_json is the operand as canonical JSON text ("\"ok\"",
 * "true", "500"; the pattern as a JSON string for ~ and !~); expr the
 * condition as written ("< 500") or NULL for the plain form, which is JSON
 * equality with value_json. */
struct probe_http_json_expect {
    const char *path;
    const char *value_json;
    enum probe_http_op op;
    const char *expr;
    struct probe_http_regex re;         /* ~ and !~ */
};

struct probe_http_json {
    struct probe_http_json_expect *items;
    size_t n;
};

/* expect.headers entry: a response header (name matched without regard
 * to case) and a condition on its value: present, absent, equal to
 * `value` (the plain form, expr NULL) or an expression as in expect.json,
 * compared as text (numbers for < <= > >=). */
struct probe_http_header_expect {
    const char *name;
    enum probe_http_op op;
    const char *value;                  /* the operand as text; NULL for present/absent */
    const char *expr;
    struct probe_http_regex re;
};

struct probe_http_headers {
    struct probe_http_header_expect *items;
    size_t n;
};

struct probe_http_expect {
    struct probe_http_statuses status;
    int64_t max_latency_ms;             /* 0 = none */
    const char *body_contains;          /* may be NULL */
    struct probe_http_json json;
    struct probe_http_regex body;       /* must match the body */
    struct probe_http_regex body_not;   /* must not match it */
    struct probe_http_headers headers;
};

/* basic_auth: sent on the first request and on redirects to the same host only. */
struct probe_http_basic_auth {
    const char *username;
    const char *password;
};

/* The settings of an http check (conf_check.settings). */
struct probe_http_conf {
    const char *url;
    const char *method;                 /* default "GET" */
    struct conf_kv *headers;
    size_t n_headers;
    const char *body;                   /* may be NULL */
    struct probe_http_basic_auth basic_auth; /* username NULL: none */
    const char *bearer_token;           /* may be NULL */
    struct probe_http_expect expect;
    bool tls_verify;                    /* default true */
    const char *ca_file;                /* PEM CA bundle instead of the system store; may be NULL */
    const char *client_cert;            /* PEM client certificate for mutual TLS; may be NULL */
    const char *client_key;             /* its key (default: in client_cert) */
    bool follow_redirects;              /* default true, at most 10 */
    size_t max_body_bytes;              /* default 64 KiB, at most 16 MiB */
};

extern const struct conf_check_type probe_http_type;

#endif
