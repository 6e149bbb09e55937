/*
 * http/body: the one parser and validator every JSON request body goes
 * through (issue 3). Parsing enforces the limits (object at top level, depth,
 * value count, string size, UTF-8, no NUL, no duplicate keys); validation
 * checks a parsed object against a declarative field table and reports the
 * first problem with the field's JSON path. Owns nothing between calls. Uses
 * only base/ and jansson (no server, no loop) so it can be fuzzed alone.
 * Error messages never contain a value from the body.
 */
#ifndef HTTP_BODY_H
#define HTTP_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_BODY_MAX_DEPTH 32           /* nested objects/arrays, the top object is 1 */
#define HTTP_BODY_MAX_VALUES 10000       /* every value counts, the top object too */
#define HTTP_BODY_MAX_STRING (64 * 1024) /* bytes of one decoded string or key */
#define HTTP_BODY_PATH_MAX 192           /* shown path; longer paths are cut */
#define HTTP_BODY_MESSAGE_MAX 320

/*
 * The first problem found. `code` is one of (static strings):
 *   "invalid_json"   the body is not a JSON object within the limits (400);
 *                    syntax errors name "line L, column C" in the message
 *   "invalid_field"  a field breaks its spec (400)
 *   "out_of_memory"  (500)
 * `field` is a path: members joined with '.', array indexes as [i]
 * ("labels.team", "items[2].name"); "" means the whole body. Keys from the
 * body appear in it cut to 64 bytes, control characters shown as '?'.
 * `message` is a sentence starting with the path when there is one
 * ("role must be one of viewer, operator, admin"). Both are valid UTF-8 and
 * safe to send back; neither ever contains a value from the body.
 */
struct http_body_error {
    const char *code;
    int status;       /* HTTP status to answer with: 400 or 500 */
    int line, column; /* of a syntax error (1-based); 0 otherwise */
    char field[HTTP_BODY_PATH_MAX];
    char message[HTTP_BODY_MESSAGE_MAX];
};

/*
 * Makes jansson allocate through base_malloc/base_free, via a wrapper that
 * records failures per thread. Call once at startup, instead of
 * json_set_alloc_funcs(base_malloc, base_free), before any jansson use.
 * Why: jansson 2.14 ignores a failed growth of its token buffer and parses
 * on with a byte missing, so without the wrapper an allocation failure can
 * silently turn one valid body into another, or surface as a syntax error.
 */
void http_body_json_alloc_init(void);

/*
 * Parses body[0..len) (need not be NUL-terminated; may be NULL when len is
 * 0). Accepts exactly one JSON object, optionally surrounded by whitespace.
 * Rejects: an empty body, a byte order mark, NUL bytes, invalid UTF-8 (overlong
 * forms, surrogates, also as \u escapes), \u0000, duplicate keys, trailing
 * data, nesting deeper than HTTP_BODY_MAX_DEPTH, more than
 * HTTP_BODY_MAX_VALUES values, strings or keys longer than
 * HTTP_BODY_MAX_STRING bytes, integers outside int64. Depth and count are
 * checked by a scan before jansson allocates anything.
 * On success *out is a new reference the caller json_decref()s. On failure
 * *out is NULL, err is filled and the result is BASE_ERR_INVALID or
 * BASE_ERR_NOMEM. Allocation failures are only reliably seen when
 * http_body_json_alloc_init() installed jansson's allocator (see there).
 */
int http_body_parse(const char *body, size_t len, json_t **out, struct http_body_error *err);

enum http_body_type {
    HTTP_BODY_STRING,            /* min/max: length in code points (max 0 = none) */
    HTTP_BODY_INT,               /* JSON integer only (1.0 and 1e3 are refused); min..max */
    HTTP_BODY_NUMBER,            /* integer or real; min..max */
    HTTP_BODY_BOOL,              /* true or false */
    HTTP_BODY_DURATION,          /* string per base/duration ("90s", "1h30m"); min..max in ms */
    HTTP_BODY_OBJECT_OF_STRINGS, /* {"k": "v"}: keys per key_pattern, values as STRING */
    HTTP_BODY_ARRAY_OF_STRINGS,  /* ["a", "b"]: each element as STRING */
    HTTP_BODY_OBJECT,            /* nested object checked against fields/n_fields */
    HTTP_BODY_ARRAY_OF_OBJECTS,  /* each element checked against fields/n_fields */
};

enum http_body_pattern {
    HTTP_BODY_PATTERN_NONE,
    HTTP_BODY_PATTERN_ID,         /* [a-z0-9][a-z0-9._-]{0,62} */
    HTTP_BODY_PATTERN_LABEL_NAME, /* [a-zA-Z_][a-zA-Z0-9_]{0,127} (Prometheus label name) */
};

/*
 * One member of an object. Tables are static const; designated initialisers
 * keep them readable:
 *   {.name = "password", .type = HTTP_BODY_STRING, .required = true,
 *    .secret = true, .min = 12, .max = 1024}
 * Range rule for INT, NUMBER and DURATION: min = max = 0 means unbounded,
 * otherwise the value must lie in [min, max] (use INT64_MIN / INT64_MAX for
 * an open side). For strings, min and max bound the length independently
 * (0 = no bound); every string is also bounded by HTTP_BODY_MAX_STRING.
 */
struct http_body_field {
    const char *name;
    enum http_body_type type;
    bool required;
    bool nullable;  /* JSON null is accepted (PATCH: "clear this"); accessors see it as absent */
    bool secret;    /* no hint derived from the value ("did you mean") in messages */
    bool multiline; /* strings may hold \t, \n, \r; other control characters never */
    int64_t min, max;
    const char *const *one_of;          /* NULL-terminated allowed strings, or NULL */
    enum http_body_pattern pattern;     /* for strings / elements / object values */
    enum http_body_pattern key_pattern; /* OBJECT_OF_STRINGS keys; NONE = any key */
    size_t max_items;                   /* arrays and OBJECT_OF_STRINGS; 0 = no bound */
    const struct http_body_field *fields; /* OBJECT, ARRAY_OF_OBJECTS */
    size_t n_fields;
};

#define HTTP_BODY_FIELDS(arr) .fields = (arr), .n_fields = sizeof(arr) / sizeof((arr)[0])

/*
 * Checks obj against fields[0..n). Members not in the table are errors
 * ("unknown field \"rolee\" (did you mean \"role\"?)") when reject_unknown,
 * in nested objects too; otherwise they are ignored. Unknown members are
 * reported before missing or bad ones, then fields in table order. Returns
 * 0, or BASE_ERR_INVALID with err filled (code "invalid_field"). Allocates
 * nothing; everything is borrowed for the call.
 */
int http_body_validate(const json_t *obj, const struct http_body_field *fields, size_t n,
                       bool reject_unknown, struct http_body_error *err);

/* http_body_parse then http_body_validate; on failure *out is NULL and the
 * parsed value is released. */
int http_body_load(const char *body, size_t len, const struct http_body_field *fields, size_t n,
                   bool reject_unknown, json_t **out, struct http_body_error *err);

#define HTTP_BODY_FORM_MAX 8192
/* An application/x-www-form-urlencoded body (a page's <form> posted
 * without script): the pairs named like fields[] ('+' and %XX decoded;
 * other names ignored, a repeated name's first value wins, an empty value
 * is absent) as an object of strings, then http_body_validate against
 * fields (so only string fields make sense). Same returns as
 * http_body_load; a bad escape or a value that is not UTF-8 is
 * invalid_field naming the field; more than HTTP_BODY_FORM_MAX bytes is
 * 413 too_large. */
int http_body_load_form(const char *body, size_t len, const struct http_body_field *fields, size_t n, json_t **out,
                        struct http_body_error *err);

/*
 * Accessors for handlers, meant for validated objects. Missing members,
 * null and values of another type give NULL / dflt. The string is borrowed
 * from o (valid while o lives), NUL-free and NUL-terminated.
 */
bool http_body_has(const json_t *o, const char *name); /* present, even if null */
const char *http_body_str(const json_t *o, const char *name);
int64_t http_body_int(const json_t *o, const char *name, int64_t dflt);
double http_body_number(const json_t *o, const char *name, double dflt);
bool http_body_bool(const json_t *o, const char *name, bool dflt);
int64_t http_body_duration_ms(const json_t *o, const char *name, int64_t dflt);

#endif
