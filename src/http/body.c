/*
 * http/body: parse and validate JSON request bodies (see body.h). A scan
 * before jansson bounds depth and value count and refuses NUL bytes and a
 * BOM; jansson does the syntax, UTF-8 and duplicate checks; a depth-bounded
 * walk bounds string sizes; validation walks the field table. jansson's
 * error texts are mapped to fixed phrases because they quote the input
 * ("near '...'"), and messages here must never carry a value from the body.
 */
#include "http/body.h"

#include "base/alloc.h"
#include "base/edit.h"
#include "base/jpath.h"
#include "base/duration.h"
#include "base/err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>


/* A path being built while walking; `len` is restored by the caller after
 * each member so one buffer serves the whole walk. */
/* ---- errors --------------------------------------------------------- */

/* Cuts a trailing incomplete UTF-8 sequence left by a truncating snprintf. */
static void utf8_trim(char *s)
{
    size_t n = strlen(s), j = n;
    while (j > 0 && n - j < 3 && ((unsigned char)s[j - 1] & 0xC0) == 0x80)
        j--;
    if (j == 0)
        return;
    unsigned char lead = (unsigned char)s[j - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (j - 1) < need)
        s[j - 1] = '\0';
}

static void set_error(struct http_body_error *err, const char *code, int status,
                      const struct base_jpath *p, const char *fmt, ...) BASE_PRINTF(5, 6);

static void set_error(struct http_body_error *err, const char *code, int status,
                      const struct base_jpath *p, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    err->status = status;
    snprintf(err->field, sizeof(err->field), "%s", p ? p->buf : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    utf8_trim(err->message);
}

static int field_error(struct http_body_error *err, const struct base_jpath *p, const char *fmt, ...)
    BASE_PRINTF(3, 4);

/* "invalid_field" with the path as the message's subject. */
static int field_error(struct http_body_error *err, const struct base_jpath *p, const char *fmt, ...)
{
    char what[HTTP_BODY_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    set_error(err, "invalid_field", 400, p, "%s %s", p->len ? p->buf : "request body", what);
    return BASE_ERR_INVALID;
}

/* Paths ("items[2].name") are built with base/jpath. */
_Static_assert(HTTP_BODY_PATH_MAX == BASE_JPATH_MAX, "a path fits http_body_error.field");

/* ---- jansson's allocator -------------------------------------------- */

/* jansson 2.14 ignores a failed growth of its token buffer (lex_save) and
 * goes on with a byte missing, so an allocation failure can turn a valid
 * body into a different valid one. The wrapper notes every failure on the
 * calling thread; http_body_parse then refuses whatever jansson returned. */
static _Thread_local bool json_alloc_failed;

static void *json_alloc(size_t n)
{
    void *p = base_malloc(n);
    if (!p)
        json_alloc_failed = true;
    return p;
}

void http_body_json_alloc_init(void)
{
    json_set_alloc_funcs(json_alloc, base_free);
}

/* ---- parsing -------------------------------------------------------- */

static void position_of(const char *s, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static int syntax_error(struct http_body_error *err, int line, int col, const char *what)
{
    err->line = line;
    err->column = col;
    set_error(err, "invalid_json", 400, NULL, "invalid JSON at line %d, column %d: %s", line, col, what);
    return BASE_ERR_INVALID;
}

static int scan_error(struct http_body_error *err, const char *s, size_t off, const char *what)
{
    int line, col;
    position_of(s, off, &line, &col);
    return syntax_error(err, line, col, what);
}

/*
 * One pass over the raw bytes, outside strings: nesting depth, NUL bytes and
 * the number of values. For well-formed JSON the count is exact: the top
 * value, one per ':' (object members), and per array one for its first
 * element plus one per ','. Malformed input is left to jansson.
 */
static int prescan(const char *s, size_t len, struct http_body_error *err)
{
    char kind[HTTP_BODY_MAX_DEPTH + 1];    /* '{' or '[' per open level; [0] is the top */
    bool pending[HTTP_BODY_MAX_DEPTH + 1]; /* array opened, first element not seen yet */
    size_t depth = 0, values = 0, first = len;
    bool in_string = false, escape = false;

    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        return syntax_error(err, 1, 1, "a byte order mark is not allowed");
    kind[0] = '[';
    pending[0] = true;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\0')
            return scan_error(err, s, i, "NUL byte");
        if (in_string) {
            if (escape)
                escape = false;
            else if (c == '\\')
                escape = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (first == len)
            first = i;
        if (pending[depth]) {
            pending[depth] = false;
            if (c != ']' || depth == 0)
                values++;
        }
        switch (c) {
        case '"':
            in_string = true;
            break;
        case '{':
        case '[':
            if (depth == HTTP_BODY_MAX_DEPTH)
                return scan_error(err, s, i, "nested deeper than 32 levels");
            depth++;
            kind[depth] = c;
            pending[depth] = c == '[';
            break;
        case '}':
        case ']':
            if (depth > 0)
                depth--;
            break;
        case ',':
            values += depth > 0 && kind[depth] == '[';
            break;
        case ':':
            values += depth > 0 && kind[depth] == '{';
            break;
        default:
            break;
        }
        if (values > HTTP_BODY_MAX_VALUES)
            return scan_error(err, s, i, "more than 10000 values");
    }
    if (first == len) {
        set_error(err, "invalid_json", 400, NULL, "request body is empty");
        return BASE_ERR_INVALID;
    }
    if (s[first] != '{') {
        set_error(err, "invalid_json", 400, NULL, "request body must be a JSON object%s",
                  s[first] == '[' ? ", not an array" : "");
        return BASE_ERR_INVALID;
    }
    return 0;
}

/* jansson's texts quote the input, so only its fixed phrases are used. */
static const char *syntax_problem(const json_error_t *je)
{
    static const char *const phrases[][2] = {
        {"unexpected newline", "unescaped newline in a string"},
        {"control character", "unescaped control character in a string"},
        {"invalid escape", "invalid escape in a string"},
        {"invalid Unicode", "invalid \\u escape (bad hex digits or a lone surrogate)"},
        {"string or '}' expected", "expected a string key or '}'"},
        {"':' expected", "expected ':' after a key"},
        {"'}' expected", "expected ',' or '}'"},
        {"']' expected", "expected ',' or ']'"},
        {"invalid token", "invalid token"},
        {"unexpected token", "unexpected token"},
        {"'[' or '{' expected", "expected '{'"},
    };
    switch (json_error_code(je)) {
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_premature_end_of_input:
        return "unexpected end of input";
    case json_error_end_of_input_expected:
        return "unexpected data after the object";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "\\u0000 is not allowed";
    case json_error_duplicate_key:
        return "duplicate key";
    case json_error_numeric_overflow:
        return "number out of range";
    case json_error_stack_overflow:
        return "nested too deep";
    case json_error_invalid_syntax:
        for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
            if (strncmp(je->text, phrases[i][0], strlen(phrases[i][0])) == 0)
                return phrases[i][1];
        return "invalid syntax";
    default:
        return "invalid syntax";
    }
}

/* Bounds every decoded string and key; recursion is bounded by the scan's
 * depth limit and checked again here. */
static int check_strings(const json_t *v, struct base_jpath *p, int depth, struct http_body_error *err)
{
    size_t mark = p->len;
    if (depth > HTTP_BODY_MAX_DEPTH) {
        set_error(err, "invalid_json", 400, p, "request body is nested deeper than 32 levels");
        return BASE_ERR_INVALID;
    }
    if (json_is_string(v) && json_string_length(v) > HTTP_BODY_MAX_STRING) {
        set_error(err, "invalid_json", 400, p, "%s is longer than 65536 bytes", p->buf);
        return BASE_ERR_INVALID;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *m;
        json_object_foreach((json_t *)v, key, m) {
            base_jpath_key(p, key);
            if (strlen(key) > HTTP_BODY_MAX_STRING) {
                set_error(err, "invalid_json", 400, p, "a key is longer than 65536 bytes");
                return BASE_ERR_INVALID;
            }
            int rc = check_strings(m, p, depth + 1, err);
            if (rc)
                return rc;
            base_jpath_restore(p, mark);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            base_jpath_index(p, i);
            int rc = check_strings(json_array_get(v, i), p, depth + 1, err);
            if (rc)
                return rc;
            base_jpath_restore(p, mark);
        }
    }
    return 0;
}

int http_body_parse(const char *body, size_t len, json_t **out, struct http_body_error *err)
{
    json_error_t je;
    struct base_jpath p = {.len = 0};
    json_t *root = NULL;
    int rc;

    memset(err, 0, sizeof(*err));
    *out = NULL;
    if (!body)
        len = 0;
    if ((rc = prescan(body, len, err)) != 0)
        return rc;
    json_alloc_failed = false;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (json_alloc_failed || (!root && json_error_code(&je) == json_error_out_of_memory)) {
        json_decref(root);
        set_error(err, "out_of_memory", 500, NULL, "out of memory while reading the request body");
        return BASE_ERR_NOMEM;
    }
    if (!root)
        return syntax_error(err, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
                            syntax_problem(&je));
    if ((rc = check_strings(root, &p, 1, err)) != 0)
        goto fail;
    *out = root;
    return 0;
fail:
    json_decref(root);
    return rc;
}

/* ---- validation ----------------------------------------------------- */

/* The closest candidate: at most 2 edits (1 for words of up to 3 bytes),
 * never a total rewrite. NULL when nothing is close. */
static const char *suggest(const char *word, const char *const *cands, size_t stride, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        const char *c = *(const char *const *)((const char *)cands + i * stride);
        size_t d = base_edit_distance(word, c), cl = strlen(c);
        size_t limit = wl <= 3 ? 1 : 2;
        if (d == SIZE_MAX || d > limit || d >= (wl > cl ? wl : cl))
            continue;
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

static const char *type_wanted(enum http_body_type t)
{
    switch (t) {
    case HTTP_BODY_STRING: return "a string";
    case HTTP_BODY_INT: return "an integer";
    case HTTP_BODY_NUMBER: return "a number";
    case HTTP_BODY_BOOL: return "true or false";
    case HTTP_BODY_DURATION: return "a duration string";
    case HTTP_BODY_OBJECT_OF_STRINGS: return "an object of strings";
    case HTTP_BODY_ARRAY_OF_STRINGS: return "an array of strings";
    case HTTP_BODY_OBJECT: return "an object";
    case HTTP_BODY_ARRAY_OF_OBJECTS: return "an array of objects";
    }
    return "valid";
}

static const char *type_got(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction or exponent";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

static int type_error(struct http_body_error *err, const struct base_jpath *p, enum http_body_type want,
                      const json_t *v)
{
    return field_error(err, p, "must be %s, not %s", type_wanted(want), type_got(v));
}

static const char *pattern_text(enum http_body_pattern pat)
{
    switch (pat) {
    case HTTP_BODY_PATTERN_ID:
        return "an id: 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit";
    case HTTP_BODY_PATTERN_LABEL_NAME:
        return "a label name: 1 to 128 letters, digits and '_', not starting with a digit";
    case HTTP_BODY_PATTERN_NONE:
        break;
    }
    return "valid";
}

static bool pattern_matches(enum http_body_pattern pat, const char *s, size_t n)
{
    switch (pat) {
    case HTTP_BODY_PATTERN_NONE:
        return true;
    case HTTP_BODY_PATTERN_ID:
        if (n < 1 || n > 63)
            return false;
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      (i > 0 && (c == '.' || c == '_' || c == '-'));
            if (!ok)
                return false;
        }
        return true;
    case HTTP_BODY_PATTERN_LABEL_NAME:
        if (n < 1 || n > 128 || (s[0] >= '0' && s[0] <= '9'))
            return false;
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                return false;
        }
        return true;
    }
    return false;
}

/* True when s has a control character the field does not allow: C0 (but
 * \t \n \r for multiline fields), DEL, and C1 (U+0080..U+009F). */
static bool has_control(const char *s, size_t n, bool multiline)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && !(multiline && (c == '\t' || c == '\n' || c == '\r')))
            return true;
        if (c == 0x7F || (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F))
            return true;
    }
    return false;
}

static size_t code_points(const char *s, size_t n)
{
    size_t cp = 0;
    for (size_t i = 0; i < n; i++)
        cp += ((unsigned char)s[i] & 0xC0) != 0x80;
    return cp;
}

static int one_of_error(struct http_body_error *err, const struct base_jpath *p, const struct http_body_field *f,
                        const char *s)
{
    char list[200] = "";
    size_t len = 0, n = 0;
    for (; f->one_of[n]; n++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s", n ? ", " : "", f->one_of[n]);
        if (w < 0 || (size_t)w >= sizeof(list) - len) {
            list[len] = '\0';
            snprintf(list + len, sizeof(list) - len, ", ...");
            break;
        }
        len += (size_t)w;
    }
    while (f->one_of[n])
        n++;
    /* A hint is derived from the value, so a secret gets none. */
    const char *hint = f->secret ? NULL : suggest(s, f->one_of, sizeof(f->one_of[0]), n);
    if (hint)
        return field_error(err, p, "must be one of %s (did you mean \"%s\"?)", list, hint);
    return field_error(err, p, "must be one of %s", list);
}

/* A string value (a STRING field, an array element, an object's value). */
static int check_string(const json_t *v, const struct http_body_field *f, const struct base_jpath *p,
                        struct http_body_error *err)
{
    if (!json_is_string(v))
        return type_error(err, p, HTTP_BODY_STRING, v);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), cp = code_points(s, n);
    if (has_control(s, n, f->multiline))
        return field_error(err, p, "must not contain control characters%s",
                           f->multiline ? " other than tab and newline" : "");
    if (f->min > 0 && cp < (uint64_t)f->min)
        return f->min == 1 ? field_error(err, p, "must not be empty")
                           : field_error(err, p, "must be at least %" PRId64 " characters", f->min);
    if (f->max > 0 && cp > (uint64_t)f->max)
        return field_error(err, p, "must be at most %" PRId64 " characters", f->max);
    if (f->one_of) {
        size_t i = 0;
        while (f->one_of[i] && strcmp(f->one_of[i], s) != 0)
            i++;
        if (!f->one_of[i])
            return one_of_error(err, p, f, s);
    }
    if (!pattern_matches(f->pattern, s, n))
        return field_error(err, p, "must be %s", pattern_text(f->pattern));
    return 0;
}

static bool out_of_range(const struct http_body_field *f, int64_t v)
{
    return !(f->min == 0 && f->max == 0) && (v < f->min || v > f->max);
}

static int range_error(struct http_body_error *err, const struct base_jpath *p, const struct http_body_field *f)
{
    if (f->min == INT64_MIN)
        return field_error(err, p, "must be at most %" PRId64, f->max);
    if (f->max == INT64_MAX)
        return field_error(err, p, "must be at least %" PRId64, f->min);
    return field_error(err, p, "must be between %" PRId64 " and %" PRId64, f->min, f->max);
}

static int check_duration(const json_t *v, const struct http_body_field *f, const struct base_jpath *p,
                          struct http_body_error *err)
{
    int64_t ms;
    char lo[32], hi[32];
    if (!json_is_string(v))
        return type_error(err, p, HTTP_BODY_DURATION, v);
    if (base_duration_parse(json_string_value(v), json_string_length(v), &ms) != 0)
        return field_error(err, p, "must be a duration such as 500ms, 30s, 5m or 1h30m "
                                   "(units ms, s, m, h, d, w, y, largest first)");
    if (!out_of_range(f, ms))
        return 0;
    base_duration_format(f->min, lo, sizeof(lo));
    base_duration_format(f->max, hi, sizeof(hi));
    if (f->max == INT64_MAX)
        return field_error(err, p, "must be at least %s", lo);
    if (f->min <= 0)
        return field_error(err, p, "must be at most %s", hi);
    return field_error(err, p, "must be between %s and %s", lo, hi);
}

static int check_object(const json_t *obj, const struct http_body_field *fields, size_t n,
                        bool reject_unknown, struct base_jpath *p, int depth, struct http_body_error *err);

static int check_items(const json_t *v, const struct http_body_field *f, bool reject_unknown,
                       struct base_jpath *p, int depth, struct http_body_error *err)
{
    size_t mark = p->len;
    if (!json_is_array(v))
        return type_error(err, p, f->type, v);
    if (f->max_items && json_array_size(v) > f->max_items)
        return field_error(err, p, "must have at most %zu items", f->max_items);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        int rc;
        base_jpath_index(p, i);
        if (f->type == HTTP_BODY_ARRAY_OF_STRINGS)
            rc = check_string(e, f, p, err);
        else if (!json_is_object(e))
            rc = field_error(err, p, "must be an object, not %s", type_got(e));
        else
            rc = check_object(e, f->fields, f->n_fields, reject_unknown, p, depth + 1, err);
        if (rc)
            return rc;
        base_jpath_restore(p, mark);
    }
    return 0;
}

static int check_string_map(const json_t *v, const struct http_body_field *f, struct base_jpath *p,
                            struct http_body_error *err)
{
    size_t mark = p->len;
    const char *key;
    json_t *m;
    if (!json_is_object(v))
        return type_error(err, p, f->type, v);
    if (f->max_items && json_object_size(v) > f->max_items)
        return field_error(err, p, "must have at most %zu entries", f->max_items);
    json_object_foreach((json_t *)v, key, m) {
        size_t kn = strlen(key);
        int rc = 0;
        base_jpath_key(p, key);
        if (has_control(key, kn, false))
            rc = field_error(err, p, "has a key with control characters");
        else if (!pattern_matches(f->key_pattern, key, kn))
            rc = field_error(err, p, "has a key that is not %s", pattern_text(f->key_pattern));
        else
            rc = check_string(m, f, p, err);
        if (rc)
            return rc;
        base_jpath_restore(p, mark);
    }
    return 0;
}

static int check_value(const json_t *v, const struct http_body_field *f, bool reject_unknown,
                       struct base_jpath *p, int depth, struct http_body_error *err)
{
    switch (f->type) {
    case HTTP_BODY_STRING:
        return check_string(v, f, p, err);
    case HTTP_BODY_INT:
        if (!json_is_integer(v))
            return type_error(err, p, f->type, v);
        return out_of_range(f, json_integer_value(v)) ? range_error(err, p, f) : 0;
    case HTTP_BODY_NUMBER: {
        if (!json_is_number(v))
            return type_error(err, p, f->type, v);
        double d = json_number_value(v);
        bool bounded = !(f->min == 0 && f->max == 0);
        return bounded && (d < (double)f->min || d > (double)f->max) ? range_error(err, p, f) : 0;
    }
    case HTTP_BODY_BOOL:
        return json_is_boolean(v) ? 0 : type_error(err, p, f->type, v);
    case HTTP_BODY_DURATION:
        return check_duration(v, f, p, err);
    case HTTP_BODY_OBJECT_OF_STRINGS:
        return check_string_map(v, f, p, err);
    case HTTP_BODY_ARRAY_OF_STRINGS:
    case HTTP_BODY_ARRAY_OF_OBJECTS:
        return check_items(v, f, reject_unknown, p, depth, err);
    case HTTP_BODY_OBJECT:
        if (!json_is_object(v))
            return type_error(err, p, f->type, v);
        return check_object(v, f->fields, f->n_fields, reject_unknown, p, depth + 1, err);
    }
    return field_error(err, p, "has a type the server cannot check");
}

static int check_object(const json_t *obj, const struct http_body_field *fields, size_t n,
                        bool reject_unknown, struct base_jpath *p, int depth, struct http_body_error *err)
{
    size_t mark = p->len;
    if (depth > HTTP_BODY_MAX_DEPTH)
        return field_error(err, p, "is nested too deep");
    if (reject_unknown) {
        const char *key;
        json_t *m;
        json_object_foreach((json_t *)obj, key, m) {
            size_t i = 0;
            while (i < n && strcmp(fields[i].name, key) != 0)
                i++;
            if (i < n)
                continue;
            const char *hint = n ? suggest(key, &fields[0].name, sizeof(fields[0]), n) : NULL;
            base_jpath_key(p, key);
            if (hint)
                return field_error(err, p, "is not a known field (did you mean \"%s\"?)", hint);
            return field_error(err, p, "is not a known field");
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct http_body_field *f = &fields[i];
        const json_t *v = json_object_get(obj, f->name);
        int rc = 0;
        base_jpath_key(p, f->name);
        if (!v)
            rc = f->required ? field_error(err, p, "is required") : 0;
        else if (json_is_null(v))
            rc = f->nullable ? 0 : type_error(err, p, f->type, v);
        else
            rc = check_value(v, f, reject_unknown, p, depth, err);
        if (rc)
            return rc;
        base_jpath_restore(p, mark);
    }
    return 0;
}

int http_body_validate(const json_t *obj, const struct http_body_field *fields, size_t n,
                       bool reject_unknown, struct http_body_error *err)
{
    struct base_jpath p = {.len = 0};
    memset(err, 0, sizeof(*err));
    if (!json_is_object(obj)) {
        set_error(err, "invalid_field", 400, NULL, "request body must be a JSON object");
        return BASE_ERR_INVALID;
    }
    return check_object(obj, fields, n, reject_unknown, &p, 1, err);
}

int http_body_load(const char *body, size_t len, const struct http_body_field *fields, size_t n,
                   bool reject_unknown, json_t **out, struct http_body_error *err)
{
    json_t *root = NULL;
    *out = NULL;
    int rc = http_body_parse(body, len, &root, err);
    if (rc)
        return rc;
    if ((rc = http_body_validate(root, fields, n, reject_unknown, err)) != 0) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* ---- application/x-www-form-urlencoded ------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes s[0..n) ('+' is a space, %XX a byte) into out (n + 1 bytes);
 * the decoded length, or -1 for a malformed escape or a NUL byte. */
static long form_decode(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == 0)
            return -1;
        out[k++] = c;
    }
    out[k] = 0;
    return (long)k;
}

int http_body_load_form(const char *body, size_t len, const struct http_body_field *fields, size_t n, json_t **out,
                        struct http_body_error *err)
{
    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (len > HTTP_BODY_FORM_MAX) {
        set_error(err, "too_large", 413, NULL, "a form is at most %d bytes", HTTP_BODY_FORM_MAX);
        return BASE_ERR_TOO_BIG;
    }
    json_t *o = json_object();
    char *buf = o ? base_malloc(len + 1) : NULL;
    if (!buf) {
        json_decref(o);
        set_error(err, "internal", 500, NULL, "out of memory");
        return BASE_ERR_NOMEM;
    }
    int rc = 0;
    for (size_t at = 0; at < len && !rc;) {
        const char *pair = body + at, *amp = memchr(pair, '&', len - at);
        size_t plen = amp ? (size_t)(amp - pair) : len - at;
        at += plen + 1;
        const char *eq = memchr(pair, '=', plen);
        if (!eq)
            continue;
        long nl = form_decode(pair, (size_t)(eq - pair), buf);
        if (nl < 0)
            continue;
        const struct http_body_field *f = NULL;
        for (size_t i = 0; i < n && !f; i++)
            if (!strcmp(fields[i].name, buf))
                f = &fields[i];
        if (!f || json_object_get(o, f->name))
            continue;   /* not a field of the table (a button's name), or repeated: the first wins */
        long vl = form_decode(eq + 1, plen - (size_t)(eq - pair) - 1, buf);
        json_t *v = vl < 0 ? NULL : json_stringn(buf, (size_t)vl);
        if (!v) {
            set_error(err, "invalid_field", 400, NULL, "%s is not valid (a bad %%-escape or not UTF-8)", f->name);
            snprintf(err->field, sizeof(err->field), "%s", f->name);
            rc = BASE_ERR_INVALID;
        } else if (vl > 0) {
            json_object_set_new(o, f->name, v);
        } else {
            json_decref(v);   /* an empty input is an absent field */
        }
    }
    base_free(buf);
    if (!rc)
        rc = http_body_validate(o, fields, n, false, err);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- accessors ------------------------------------------------------ */

bool http_body_has(const json_t *o, const char *name)
{
    return json_object_get(o, name) != NULL;
}

const char *http_body_str(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

int64_t http_body_int(const json_t *o, const char *name, int64_t dflt)
{
    const json_t *v = json_object_get(o, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

double http_body_number(const json_t *o, const char *name, double dflt)
{
    const json_t *v = json_object_get(o, name);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

bool http_body_bool(const json_t *o, const char *name, bool dflt)
{
    const json_t *v = json_object_get(o, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int64_t http_body_duration_ms(const json_t *o, const char *name, int64_t dflt)
{
    const json_t *v = json_object_get(o, name);
    int64_t ms;
    if (!json_is_string(v) || base_duration_parse(json_string_value(v), json_string_length(v), &ms) != 0)
        return dflt;
    return ms;
}
