/*
 * probe/http: the `http` check type: its settings (URL, method, headers,
 * body, expectations on status, latency and body, TLS verification,
 * redirects, body cap) as a field table, and its runs on the engine's curl
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

/* expect.json entry: a dotted path ("data.status", "items.0.ok") into the
 * response body and the expected value as canonical JSON text ("\"ok\"",
 * "true", "3"). Compared with JSON equality. */
struct probe_http_json_expect {
    const char *path;
    const char *value_json;
};

struct probe_http_json {
    struct probe_http_json_expect *items;
    size_t n;
};

struct probe_http_expect {
    struct probe_http_statuses status;
    int64_t max_latency_ms;             /* 0 = none */
    const char *body_contains;          /* may be NULL */
    struct probe_http_json json;
};

/* The settings of an http check (conf_check.settings). */
struct probe_http_conf {
    const char *url;
    const char *method;                 /* default "GET" */
    struct conf_kv *headers;
    size_t n_headers;
    const char *body;                   /* may be NULL */
    struct probe_http_expect expect;
    bool tls_verify;                    /* default true */
    bool follow_redirects;              /* default true, at most 10 */
    size_t max_body_bytes;              /* default 64 KiB, at most 16 MiB */
};

extern const struct conf_check_type probe_http_type;

#endif
