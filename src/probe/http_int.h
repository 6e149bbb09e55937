/*
 * probe/http_int: what the files of the http check type share and nothing
 * else includes: http.c runs the requests, http_expect.c parses the
 * `expect` conditions (custom fields of the settings table) and evaluates
 * them on a response. Evaluation only reads what it is given and writes
 * the sample's error; it never logs.
 */
#ifndef PROBE_HTTP_INT_H
#define PROBE_HTTP_INT_H

#include "base/buf.h"
#include "model/sample.h"
#include "probe/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest excerpt of a value or a body quoted in a sample's error. */
#define PROBE_HTTP_SHOWN_MAX 80

/* Longest JSON path and header name of a condition. */
#define PROBE_HTTP_PATH_MAX 512
/* Longest regular expression, in bytes. */
#define PROBE_HTTP_REGEX_MAX 1024
/* PCRE2's limits for one match. The match limit counts backtracking steps
 * from one start position: 100,000 (PCRE2's default is 10 million) stops
 * (a+)+$ on 64 KiB of "a" in about 2 ms, and leaves room for ordinary
 * patterns (".*\"status\":\\s*\"ok\"" over a 64 KiB JSON body uses a
 * fraction of it). Depth bounds nested backtracking, heap the memory of
 * its frames. */
#define PROBE_HTTP_REGEX_MATCH_LIMIT 100000
#define PROBE_HTTP_REGEX_DEPTH_LIMIT 10000
#define PROBE_HTTP_REGEX_HEAP_LIMIT_KIB 8192

/* ---- http_cond.c: the condition language ---- */

/* A condition as written: the operator and the operand after it (a slice
 * of the text: blanks after the operator skipped, trailing ones too except
 * for a pattern). */
struct probe_http_cond_text {
    enum probe_http_op op;
    const char *operand;
    size_t operand_len;
};

/* "==", "<", "~", ..., "present", "absent". */
const char *probe_http_cond_op_text(enum probe_http_op op);
/* ~ and !~. */
bool probe_http_cond_is_regex(enum probe_http_op op);
/* s[0..len) follows JSON's number grammar and fits a double (finite; at
 * most 127 characters). */
bool probe_http_cond_is_number(const char *s, size_t len);
/* Reads text[0..len) as a condition when it starts with an operator
 * (== != < <= > >= ~ !~): 1 with *out filled; 0 when it does not (a plain
 * value); -1 when it is a bad one (no operand, a non-number after < <= >
 * >=), with the reason in why. */
int probe_http_cond_parse(const char *text, size_t len, struct probe_http_cond_text *out, char *why, size_t n);
/* The operand of == or != as canonical JSON appended to b: true, false,
 * null and numbers as such, a "quoted" text as the string inside it (\"
 * and \\ escapes), anything else as a string. 0, BASE_ERR_INVALID (why
 * set), BASE_ERR_NOMEM or BASE_ERR_TOO_BIG (b's max). */
int probe_http_cond_operand_json(const char *s, size_t len, struct base_buf *b, char *why, size_t n);
/* The text inside "...", unescaped, appended to b; errors as above. */
int probe_http_cond_unquote(const char *s, size_t len, struct base_buf *b, char *why, size_t n);

/* 0 when path (NUL-terminated, len bytes) is a valid path: dotted non-empty names, at most
 * PROBE_HTTP_PATH_MAX bytes, "\." a dot inside a name and "\\" a
 * backslash; -1 with the reason in why. */
int probe_http_cond_path_check(const char *path, size_t len, char *why, size_t n);
/* The value at path in root (borrowed), or NULL when it is not there: a
 * name looks up an object's member; on an array it must be an index. */
json_t *probe_http_cond_path_find(json_t *root, const char *path);

/* Canonical JSON text (as the loader writes an operand: literals,
 * numbers, strings with \" \\ \n \r \t \uXXXX escapes) back to a value
 * (new reference); NULL when it is not one or on OOM. Integers too large
 * for jansson come back as reals. Not json_loads: jansson 2.14 may drop
 * a byte when its buffer cannot grow. */
json_t *probe_http_cond_literal(const char *text);
/* Evaluates x on v, the value at its path (NULL: missing): 1 when it
 * holds, 0 when not with why = what follows the path in the error ("is
 * 812, expected < 500", "is missing", "is \"x\", expected < 5 (not a
 * number)"), or negative when it could not be decided (a regex limit:
 * BASE_ERR_TOO_BIG; BASE_ERR_NOMEM), with why. */
int probe_http_cond_json(const struct probe_http_json_expect *x, const json_t *v, char *why, size_t n);
/* The same for a text value (a header): == and != compare the text with
 * operand, < <= > >= the number it holds (not a number: 0), ~ and !~ the
 * pattern re. 1, 0, or negative with why as above. */
int probe_http_cond_text(enum probe_http_op op, const char *operand, const struct probe_http_regex *re,
                         const char *value, size_t len, char *why, size_t n);

/* Compiles pattern[0..len) (PCRE2, UTF-8) and stores its serialized form
 * in memory from alloc(ud, size) (conf arena): 0 with *code and
 * *code_len; BASE_ERR_INVALID with "bad regex: <PCRE2's reason> at offset
 * N" (or too long) in why; BASE_ERR_NOMEM. */
int probe_http_cond_regex_compile(const char *pattern, size_t len, void *(*alloc)(void *ud, size_t n), void *ud,
                                  const unsigned char **code, size_t *code_len, char *why, size_t n);
/* Searches subject[0..len) with re under the limits above: 1 (match at
 * *at, *match_len bytes; both may be NULL), 0 (none), BASE_ERR_TOO_BIG
 * when a limit stopped it (PCRE2's reason in why: "match limit exceeded"),
 * BASE_ERR_NOMEM, BASE_ERR_INVALID without a compiled pattern. Decodes the
 * serialized code (a copy) and frees everything before returning. */
int probe_http_cond_regex_match(const struct probe_http_regex *re, const char *subject, size_t len, size_t *at,
                                size_t *match_len, char *why, size_t n);

/* ---- http_expect.c ---- */

/* The fields of `expect`, offsets relative to struct probe_http_expect:
 * the settings table nests them, and a run copies its expectations with
 * conf_schema_copy over them. */
extern const struct conf_field probe_http_expect_fields[];

/* True when code is in one of st's ranges; an empty list means 2xx. */
bool probe_http_expect_status_ok(const struct probe_http_statuses *st, int code);
/* Sets s's error to "unexpected status 500 (expected 200, 3xx)". */
void probe_http_expect_status_error(const struct probe_http_statuses *st, int code, struct sample *s);
/* Parses the body as JSON and checks every expect.json condition in order;
 * false with s's error naming the first that failed ("json:
 * checks.database.responseTime is 812, expected < 500"). */
bool probe_http_expect_json(const struct probe_http_json *js, const char *body, size_t len, struct sample *s);
/* expect.body and expect.body_not on the body read; false with s's error. */
bool probe_http_expect_body(const struct probe_http_expect *x, const char *body, size_t len, struct sample *s);
/* expect.headers on the final response's headers (curl_easy_header);
 * false with s's error. */
bool probe_http_expect_headers(const struct probe_http_headers *hs, void *easy, struct sample *s);

#endif
