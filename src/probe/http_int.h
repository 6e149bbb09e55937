/*
 * probe/http_int: what the files of the http check type share and nothing
 * else includes: http.c runs the requests, http_expect.c parses the
 * `expect` conditions (custom fields of the settings table) and evaluates
 * them on a response. Evaluation only reads what it is given and writes
 * the sample's error; it never logs.
 */
#ifndef PROBE_HTTP_INT_H
#define PROBE_HTTP_INT_H

#include "model/sample.h"
#include "probe/http.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest excerpt of a value or a body quoted in a sample's error. */
#define PROBE_HTTP_SHOWN_MAX 80

/* The fields of `expect`, offsets relative to struct probe_http_expect:
 * the settings table nests them, and a run copies its expectations with
 * conf_schema_copy over them. */
extern const struct conf_field probe_http_expect_fields[];

/* True when code is in one of st's ranges; an empty list means 2xx. */
bool probe_http_expect_status_ok(const struct probe_http_statuses *st, int code);
/* Sets s's error to "unexpected status 500 (expected 200, 3xx)". */
void probe_http_expect_status_error(const struct probe_http_statuses *st, int code, struct sample *s);
/* Parses the body as JSON and checks every expect.json condition in order;
 * false with s's error naming the first that failed. */
bool probe_http_expect_json(const struct probe_http_json *js, const char *body, size_t len, struct sample *s);

#endif
