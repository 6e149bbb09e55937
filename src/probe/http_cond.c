/*
 * probe/http_cond: the small language of the http type's conditions. A
 * condition is one string, an operator and its operand ("< 500", "== ok",
 * "~ ^2\."), so that it reads the same in YAML and in JSON; a path is
 * dotted names into a JSON document ("checks.database.status", "items.0",
 * "\." for a dot inside a key). Also the regular expressions: compiled
 * with PCRE2 when the configuration loads, kept in serialized form, and
 * matched under match, depth and heap limits so that a hostile body
 * cannot hold the loop. Pure functions of their input (fuzzed by
 * tests/fuzz/fuzz_http_expect.c); no I/O, no logging.
 */
#include "probe/http_int.h"

#include "base/alloc.h"
#include "base/buf.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest operator first: "<=" before "<", "!~" before "~". */
static const struct {
    const char *text;
    enum probe_http_op op;
} ops[] = {
    {"==", PROBE_HTTP_OP_EQ}, {"!=", PROBE_HTTP_OP_NE},  {"<=", PROBE_HTTP_OP_LE},      {">=", PROBE_HTTP_OP_GE},
    {"!~", PROBE_HTTP_OP_NOMATCH}, {"<", PROBE_HTTP_OP_LT}, {">", PROBE_HTTP_OP_GT}, {"~", PROBE_HTTP_OP_MATCH},
};

static void why_set(char *why, size_t n, const char *fmt, ...) BASE_PRINTF(3, 4);

static void why_set(char *why, size_t n, const char *fmt, ...)
{
    if (!why || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

const char *probe_http_cond_op_text(enum probe_http_op op)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (ops[i].op == op)
            return ops[i].text;
    return op == PROBE_HTTP_OP_PRESENT ? "present" : "absent";
}

static bool is_ordering(enum probe_http_op op)
{
    return op == PROBE_HTTP_OP_LT || op == PROBE_HTTP_OP_LE || op == PROBE_HTTP_OP_GT || op == PROBE_HTTP_OP_GE;
}

bool probe_http_cond_is_regex(enum probe_http_op op)
{
    return op == PROBE_HTTP_OP_MATCH || op == PROBE_HTTP_OP_NOMATCH;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_grammar(const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p < end && *p >= '1' && *p <= '9')
        while (p < end && digit(*p))
            p++;
    else
        return false;
    if (p < end && *p == '.') {
        if (++p == end || !digit(*p))
            return false;
        while (p < end && digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !digit(*p))
            return false;
        while (p < end && digit(*p))
            p++;
    }
    return p == end;
}

/* A double can hold it: 1e999 cannot (jansson refuses it, and "< inf"
 * would hold for every number). */
bool probe_http_cond_is_number(const char *s, size_t len)
{
    char copy[128];
    if (!number_grammar(s, len) || len >= sizeof(copy))
        return false;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return isfinite(strtod(copy, NULL));
}

int probe_http_cond_parse(const char *text, size_t len, struct probe_http_cond_text *out, char *why, size_t n)
{
    size_t i, k = 0;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        k = strlen(ops[i].text);
        if (len >= k && memcmp(text, ops[i].text, k) == 0)
            break;
    }
    if (i == sizeof(ops) / sizeof(ops[0]))
        return 0;
    enum probe_http_op op = ops[i].op;
    const char *p = text + k, *end = text + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    /* A pattern keeps its trailing blanks (they may be meant); a value does not. */
    if (!probe_http_cond_is_regex(op))
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
    if (p == end) {
        why_set(why, n, "'%s' needs %s after it", ops[i].text,
                probe_http_cond_is_regex(op) ? "a pattern" : "a value");
        return -1;
    }
    if (is_ordering(op) && !probe_http_cond_is_number(p, (size_t)(end - p))) {
        why_set(why, n, "'%s' compares numbers: expected a number after it", ops[i].text);
        return -1;
    }
    out->op = op;
    out->operand = p;
    out->operand_len = (size_t)(end - p);
    return 1;
}

int probe_http_cond_unquote(const char *s, size_t len, struct base_buf *b, char *why, size_t n)
{
    if (len < 2 || s[0] != '"' || s[len - 1] != '"') {
        why_set(why, n, "a quoted value must end with '\"'");
        return BASE_ERR_INVALID;
    }
    for (size_t i = 1; i + 1 < len; i++) {
        char c = s[i];
        if (c == '"') {
            why_set(why, n, "a '\"' inside a quoted value must be written \\\"");
            return BASE_ERR_INVALID;
        }
        if (c == '\\') {
            if (i + 2 >= len || (s[i + 1] != '"' && s[i + 1] != '\\')) {
                why_set(why, n, "in a quoted value only \\\" and \\\\ are escapes");
                return BASE_ERR_INVALID;
            }
            c = s[++i];
        }
        int rc = base_buf_append(b, &c, 1);
        if (rc)
            return rc;
    }
    return 0;
}

int probe_http_cond_operand_json(const char *s, size_t len, struct base_buf *b, char *why, size_t n)
{
    if ((len == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
        (len == 5 && memcmp(s, "false", 5) == 0) || probe_http_cond_is_number(s, len))
        return base_buf_append(b, s, len);
    if (len && s[0] == '"') {
        struct base_buf raw;
        base_buf_init(&raw, b->max);
        int rc = probe_http_cond_unquote(s, len, &raw, why, n);
        if (!rc)
            rc = base_buf_append_json_str(b, raw.data ? raw.data : "", raw.len);
        base_buf_free(&raw);
        return rc;
    }
    return base_buf_append_json_str(b, s, len);
}

/* ---- paths ---- */

/* The segment at p, unescaped into seg (at most PROBE_HTTP_PATH_MAX bytes):
 * its length, and in *next where the following one starts (NULL at the
 * end). -1 when it is empty or badly escaped. */
static long segment(const char *p, char *seg, const char **next)
{
    size_t len = 0;
    for (;; p++) {
        if (*p == '\0' || *p == '.') {
            *next = *p == '.' ? p + 1 : NULL;
            return len ? (long)len : -1;
        }
        if (*p == '\\') {
            if (p[1] != '.' && p[1] != '\\')
                return -1;
            p++;
        }
        if (len >= PROBE_HTTP_PATH_MAX)
            return -1;
        seg[len++] = *p;
    }
}

int probe_http_cond_path_check(const char *path, size_t len, char *why, size_t n)
{
    char seg[PROBE_HTTP_PATH_MAX];
    const char *next = path;
    /* path[len] is its terminating NUL: the names are walked up to it. */
    if (len > PROBE_HTTP_PATH_MAX) {
        why_set(why, n, "is longer than %d bytes", PROBE_HTTP_PATH_MAX);
        return -1;
    }
    if (memchr(path, '\0', len) || !len) {
        why_set(why, n, "expected dotted names like data.status");
        return -1;
    }
    while (next) {
        const char *at = next;
        if (segment(at, seg, &next) < 0) {
            bool escape = false;
            for (const char *q = at; *q && *q != '.' && !escape; q++)
                escape = *q == '\\' && (q[1] != '.' && q[1] != '\\');
            why_set(why, n, escape ? "a backslash escapes only '.' (\\.) or itself (\\\\)"
                                   : "expected dotted names like data.status (\\. for a dot inside a name)");
            return -1;
        }
    }
    return 0;
}

json_t *probe_http_cond_path_find(json_t *root, const char *path)
{
    char seg[PROBE_HTTP_PATH_MAX];
    const char *next = path;
    json_t *v = root;
    while (next && v) {
        long len = segment(next, seg, &next);
        if (len < 0)
            return NULL;
        if (json_is_object(v)) {
            v = json_object_getn(v, seg, (size_t)len);
        } else if (json_is_array(v)) {
            size_t idx = 0;
            for (long i = 0; i < len; i++) {
                if (!digit(seg[i]) || i >= 9)
                    return NULL;
                idx = idx * 10 + (size_t)(seg[i] - '0');
            }
            v = json_array_get(v, idx);
        } else {
            return NULL;
        }
    }
    return v;
}

/* ---- evaluation ---- */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A JSON string as json_value writes it (escapes \" \\ \n \r \t \uXXXX).
 * Not json_loads: jansson 2.14 may drop a byte when its buffer cannot grow. */
static json_t *json_string_literal(const char *text)
{
    size_t n = strlen(text), len = 0;
    char *out = base_malloc(n + 1);
    json_t *v = NULL;
    if (!out)
        return NULL;
    for (size_t i = 1; i + 1 < n; i++) {
        if (text[i] != '\\') {
            out[len++] = text[i];
            continue;
        }
        char e = text[++i];
        if (e == 'n' || e == 'r' || e == 't' || e == '"' || e == '\\' || e == '/') {
            out[len++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
            continue;
        }
        int cp = 0;
        for (int k = 1; e == 'u' && k <= 4 && i + k < n && cp >= 0; k++)
            cp = hex_digit(text[i + k]) < 0 ? -1 : cp * 16 + hex_digit(text[i + k]);
        /* Only control characters are escaped: C0 and DEL, and C1
         * (U+0080..U+009F, two bytes of UTF-8 back). */
        if (e != 'u' || i + 4 >= n || cp < 0 || cp > 0xff)
            goto done;
        if (cp < 0x80) {
            out[len++] = (char)cp;
        } else {
            out[len++] = (char)(0xc0 | (cp >> 6));
            out[len++] = (char)(0x80 | (cp & 0x3f));
        }
        i += 4;
    }
    v = json_stringn(out, len);
done:
    base_free(out);
    return v;
}

json_t *probe_http_cond_literal(const char *text)
{
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '"' && text[n - 1] == '"')
        return json_string_literal(text);
    if (strcmp(text, "true") == 0)
        return json_true();
    if (strcmp(text, "false") == 0)
        return json_false();
    if (strcmp(text, "null") == 0)
        return json_null();
    char *end;
    if (!strpbrk(text, ".eE")) {
        errno = 0;
        long long i = strtoll(text, &end, 10);
        if (*end == '\0' && n && errno == 0)
            return json_integer((json_int_t)i);
    }
    double d = strtod(text, &end);
    return n && *end == '\0' ? json_real(d) : NULL;
}


/* v as compact JSON, cut to fit `size` with "..." */
static void show_json(const json_t *v, char *out, size_t size)
{
    char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!txt) {
        snprintf(out, size, "?");
        return;
    }
    size_t n = strlen(txt);
    if (n >= size && size > 4) {
        memcpy(out, txt, size - 4);
        memcpy(out + size - 4, "...", 4);
    } else {
        snprintf(out, size, "%s", txt);
    }
    free(txt); /* jansson's allocator */
}

static bool compare_numbers(enum probe_http_op op, double a, double b)
{
    switch (op) {
    case PROBE_HTTP_OP_LT: return a < b;
    case PROBE_HTTP_OP_LE: return a <= b;
    case PROBE_HTTP_OP_GT: return a > b;
    case PROBE_HTTP_OP_GE: return a >= b;
    case PROBE_HTTP_OP_NE: return a != b;
    default: return a == b;
    }
}

int probe_http_cond_json(const struct probe_http_json_expect *x, const json_t *v, char *why, size_t n)
{
    char shown[PROBE_HTTP_SHOWN_MAX];
    const char *want = x->expr ? x->expr : x->value_json;
    const char *note = "";
    bool ok = false;
    if (!v) {
        why_set(why, n, "is missing");
        return 0;
    }
    if (x->op == PROBE_HTTP_OP_EQ || x->op == PROBE_HTTP_OP_NE) {
        json_t *w = probe_http_cond_literal(x->value_json ? x->value_json : "null");
        if (!w) /* not from the loader (a list, an object): a caller's own JSON */
            w = json_loads(x->value_json, JSON_DECODE_ANY, NULL);
        if (!w) {
            why_set(why, n, "cannot be compared (out of memory)");
            return BASE_ERR_NOMEM;
        }
        /* 12 and 12.0 are the same number to a reader, not to json_equal. */
        bool eq = json_is_number(v) && json_is_number(w) ? json_number_value(v) == json_number_value(w)
                                                         : json_equal(v, w);
        json_decref(w);
        ok = eq == (x->op == PROBE_HTTP_OP_EQ);
    } else if (is_ordering(x->op)) {
        if (json_is_number(v))
            ok = compare_numbers(x->op, json_number_value(v), strtod(x->value_json, NULL));
        else
            note = " (not a number)";
    } else if (probe_http_cond_is_regex(x->op)) {
        if (!json_is_string(v)) {
            note = " (not a string)";
        } else {
            char err[96];
            int rc = probe_http_cond_regex_match(&x->re, json_string_value(v), json_string_length(v), NULL, NULL,
                                                 err, sizeof(err));
            if (rc < 0) {
                why_set(why, n, "could not be matched: %s", err);
                return rc;
            }
            ok = (rc == 1) == (x->op == PROBE_HTTP_OP_MATCH);
        }
    } else {
        ok = x->op == PROBE_HTTP_OP_PRESENT;
        want = "absent";
    }
    if (ok)
        return 1;
    show_json(v, shown, sizeof(shown));
    why_set(why, n, "is %s, expected %s%s", shown, want, note);
    return 0;
}

int probe_http_cond_text(enum probe_http_op op, const char *operand, const struct probe_http_regex *re,
                         const char *value, size_t len, char *why, size_t n)
{
    if (is_ordering(op)) {
        /* strtod needs a terminated copy; a header value is short. */
        char num[64];
        if (!len || len >= sizeof(num))
            return 0;
        memcpy(num, value, len);
        num[len] = '\0';
        char *end;
        errno = 0;
        double d = strtod(num, &end);
        if (*end || errno || !isfinite(d))
            return 0;
        return compare_numbers(op, d, strtod(operand, NULL));
    }
    if (probe_http_cond_is_regex(op)) {
        int rc = probe_http_cond_regex_match(re, value, len, NULL, NULL, why, n);
        if (rc < 0)
            return rc;
        return (rc == 1) == (op == PROBE_HTTP_OP_MATCH);
    }
    bool eq = strlen(operand) == len && memcmp(operand, value, len) == 0;
    return eq == (op != PROBE_HTTP_OP_NE);
}

/* ---- regular expressions ---- */

static void *pcre_malloc(size_t n, void *ud)
{
    (void)ud;
    return base_malloc(n);
}

static void pcre_free(void *p, void *ud)
{
    (void)ud;
    base_free(p);
}

int probe_http_cond_regex_compile(const char *pattern, size_t len, void *(*alloc)(void *ud, size_t n), void *ud,
                                  const unsigned char **code, size_t *code_len, char *why, size_t n)
{
    int rc = BASE_ERR_NOMEM, err = 0;
    PCRE2_SIZE offset = 0;
    uint8_t *bytes = NULL;
    PCRE2_SIZE size = 0;
    pcre2_code *re = NULL;
    pcre2_compile_context *cc = NULL;
    pcre2_general_context *gc = pcre2_general_context_create(pcre_malloc, pcre_free, NULL);
    if (len > PROBE_HTTP_REGEX_MAX) {
        why_set(why, n, "pattern is longer than %d bytes", PROBE_HTTP_REGEX_MAX);
        rc = BASE_ERR_INVALID;
        goto out;
    }
    if (!gc || !(cc = pcre2_compile_context_create(gc)))
        goto out;
    /* UTF-8 patterns; a body that is not valid UTF-8 is still searched
     * (invalid sequences match nothing) instead of failing every run. */
    re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
                       &err, &offset, cc);
    if (!re && err == PCRE2_ERROR_HEAP_FAILED)
        goto out;
    if (!re) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "cannot be compiled");
        why_set(why, n, "bad regex: %s at offset %zu", (const char *)msg, (size_t)offset);
        rc = BASE_ERR_INVALID;
        goto out;
    }
    if (pcre2_serialize_encode((const pcre2_code **)&re, 1, &bytes, &size, gc) != 1)
        goto out;
    unsigned char *copy = alloc(ud, size);
    if (!copy)
        goto out;
    memcpy(copy, bytes, size);
    *code = copy;
    *code_len = size;
    rc = 0;
out:
    if (bytes)
        pcre2_serialize_free(bytes);
    pcre2_code_free(re);
    pcre2_compile_context_free(cc);
    pcre2_general_context_free(gc);
    if (rc == BASE_ERR_NOMEM)
        why_set(why, n, "out of memory");
    return rc;
}

int probe_http_cond_regex_match(const struct probe_http_regex *x, const char *subject, size_t len, size_t *at,
                                size_t *match_len, char *why, size_t n)
{
    int rc = BASE_ERR_NOMEM;
    pcre2_code *re = NULL;
    pcre2_match_context *mc = NULL;
    pcre2_match_data *md = NULL;
    pcre2_general_context *gc = NULL;
    if (!x->code || !x->code_len) {
        why_set(why, n, "no compiled pattern");
        return BASE_ERR_INVALID;
    }
    if (!(gc = pcre2_general_context_create(pcre_malloc, pcre_free, NULL)))
        goto out;
    int32_t got = pcre2_serialize_decode(&re, 1, x->code, gc);
    if (got != 1) {
        if (got != PCRE2_ERROR_NOMEMORY) {
            why_set(why, n, "the compiled pattern does not decode (%d)", (int)got);
            rc = BASE_ERR_INVALID;
        }
        goto out;
    }
    if (!(mc = pcre2_match_context_create(gc)) || !(md = pcre2_match_data_create(1, gc)))
        goto out;
    pcre2_set_match_limit(mc, PROBE_HTTP_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, PROBE_HTTP_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(mc, PROBE_HTTP_REGEX_HEAP_LIMIT_KIB);
    int m = pcre2_match(re, (PCRE2_SPTR)(subject ? subject : ""), len, 0, 0, md, mc);
    if (m >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (at)
            *at = ov[0];
        if (match_len)
            *match_len = ov[1] > ov[0] ? ov[1] - ov[0] : 0;
        rc = 1;
    } else if (m == PCRE2_ERROR_NOMATCH) {
        rc = 0;
    } else if (m == PCRE2_ERROR_NOMEMORY) {
        rc = BASE_ERR_NOMEM;
    } else {
        PCRE2_UCHAR msg[120];
        if (pcre2_get_error_message(m, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", m);
        why_set(why, n, "%s", (const char *)msg);
        rc = BASE_ERR_TOO_BIG;
    }
out:
    if (rc == BASE_ERR_NOMEM)
        why_set(why, n, "out of memory");
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    pcre2_code_free(re);
    pcre2_general_context_free(gc);
    return rc;
}
