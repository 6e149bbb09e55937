/*
 * probe/http_expect: the `expect` conditions of the http check type: the
 * custom fields that parse them (with positions), hash, copy and print
 * them, and their evaluation on a finished response. Pure functions of
 * their input; no I/O, no logging.
 */
#include "probe/http_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "probe/probe_int.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- evaluation ---- */

static const struct probe_http_status_range default_status = {200, 299};

bool probe_http_expect_status_ok(const struct probe_http_statuses *st, int code)
{
    const struct probe_http_status_range *r = st->n ? st->items : &default_status;
    size_t n = st->n ? st->n : 1;
    for (size_t i = 0; i < n; i++)
        if (code >= r[i].lo && code <= r[i].hi)
            return true;
    return false;
}

/* "2xx", "200", "200-204", joined by ", ". */
static void format_status(const struct probe_http_statuses *st, char *out, size_t size)
{
    const struct probe_http_status_range *items = st->n ? st->items : &default_status;
    size_t count = st->n ? st->n : 1, o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && o < size; i++) {
        const struct probe_http_status_range *r = &items[i];
        const char *sep = i ? ", " : "";
        int n;
        if (r->lo == r->hi)
            n = snprintf(out + o, size - o, "%s%d", sep, r->lo);
        else if (r->lo % 100 == 0 && r->hi == r->lo + 99)
            n = snprintf(out + o, size - o, "%s%dxx", sep, r->lo / 100);
        else
            n = snprintf(out + o, size - o, "%s%d-%d", sep, r->lo, r->hi);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

void probe_http_expect_status_error(const struct probe_http_statuses *st, int code, struct sample *s)
{
    char want[96];
    format_status(st, want, sizeof(want));
    sample_set_error(s, "unexpected status %d (expected %s)", code, want);
}

bool probe_http_expect_json(const struct probe_http_json *js, const char *body, size_t len, struct sample *s)
{
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        sample_set_error(s, "body is not valid JSON: %s at line %d col %d", jerr.text, jerr.line,
                         jerr.column);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < js->n && ok; i++) {
        const struct probe_http_json_expect *x = &js->items[i];
        char why[SAMPLE_ERROR_MAX];
        if (probe_http_cond_json(x, probe_http_cond_path_find(root, x->path), why, sizeof(why)) != 1) {
            sample_set_error(s, "json: %.100s %s", x->path, why);
            ok = false;
        }
    }
    json_decref(root);
    return ok;
}

/* The pattern for an error text: escaped, cut short. */
static const char *shown_pattern(const struct probe_http_regex *re, char *out, size_t size)
{
    probe_escape(re->pattern, strlen(re->pattern), out, size);
    return out;
}

bool probe_http_expect_body(const struct probe_http_expect *x, const char *body, size_t len, struct sample *s)
{
    char pat[PROBE_HTTP_SHOWN_MAX], why[96];
    size_t at = 0, mlen = 0;
    if (x->body.pattern) {
        int rc = probe_http_cond_regex_match(&x->body, body, len, NULL, NULL, why, sizeof(why));
        if (rc < 0) {
            sample_set_error(s, "body: regex \"%s\" could not be matched: %s", shown_pattern(&x->body, pat, sizeof(pat)),
                             why);
            return false;
        }
        if (rc == 0) {
            sample_set_error(s, "body does not match \"%s\"", shown_pattern(&x->body, pat, sizeof(pat)));
            return false;
        }
    }
    if (x->body_not.pattern) {
        int rc = probe_http_cond_regex_match(&x->body_not, body, len, &at, &mlen, why, sizeof(why));
        if (rc < 0) {
            sample_set_error(s, "body_not: regex \"%s\" could not be matched: %s",
                             shown_pattern(&x->body_not, pat, sizeof(pat)), why);
            return false;
        }
        if (rc == 1) {
            /* What matched, so that the reason is readable without the body. */
            char found[PROBE_HTTP_SHOWN_MAX];
            probe_escape(body + at, mlen, found, sizeof(found));
            sample_set_error(s, "body matches body_not \"%s\" at byte %zu: \"%s\"",
                             shown_pattern(&x->body_not, pat, sizeof(pat)), at, found);
            return false;
        }
    }
    return true;
}

/* One condition on the values of a header (first: the first of count):
 * == < <= > >= ~ hold when some value satisfies them, != and !~ when every
 * value does. */
static bool header_ok(const struct probe_http_header_expect *x, CURL *easy, struct curl_header *first, size_t count,
                      struct sample *s)
{
    bool every = x->op == PROBE_HTTP_OP_NE || x->op == PROBE_HTTP_OP_NOMATCH;
    char bad[PROBE_HTTP_SHOWN_MAX] = "", why[96] = "";
    bool failed = false;
    for (size_t i = 0; i < count; i++) {
        struct curl_header *h = first;
        if (i && curl_easy_header(easy, x->name, i, CURLH_HEADER, -1, &h) != CURLHE_OK)
            break;
        const char *v = h->value ? h->value : "";
        int rc = probe_http_cond_text(x->op, x->value ? x->value : "", &x->re, v, strlen(v), why, sizeof(why));
        if (rc < 0) {
            sample_set_error(s, "header %.80s could not be matched: %s", x->name, why);
            return false;
        }
        if (rc == 1 && !every)
            return true;
        if (rc == 0 && !failed) {
            probe_escape(v, strlen(v), bad, sizeof(bad));
            failed = true;
            if (every)
                break;
        }
    }
    if (!failed)
        return true;
    if (x->expr)
        sample_set_error(s, "header %.80s is \"%s\", expected %.100s", x->name, bad, x->expr);
    else
        sample_set_error(s, "header %.80s is \"%s\", expected \"%.100s\"", x->name, bad, x->value ? x->value : "");
    return false;
}

bool probe_http_expect_headers(const struct probe_http_headers *hs, void *easy, struct sample *s)
{
    for (size_t i = 0; i < hs->n; i++) {
        const struct probe_http_header_expect *x = &hs->items[i];
        struct curl_header *h = NULL;
        /* request -1: the last response (after redirects). */
        bool present = curl_easy_header(easy, x->name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK;
        if (x->op == PROBE_HTTP_OP_ABSENT) {
            if (present) {
                char shown[PROBE_HTTP_SHOWN_MAX];
                probe_escape(h->value, strlen(h->value), shown, sizeof(shown));
                sample_set_error(s, "header %.80s is present (\"%s\"), expected absent", x->name, shown);
                return false;
            }
            continue;
        }
        if (!present) {
            sample_set_error(s, "header %.80s is missing", x->name);
            return false;
        }
        if (x->op != PROBE_HTTP_OP_PRESENT && !header_ok(x, easy, h, h->amount, s))
            return false;
    }
    return true;
}

/* ---- parsing, hash, copy, JSON ---- */

/* expect.status: one code or class, or a list of them. */

static int parse_status_one(struct conf_ctx *ctx, const struct conf_node *n, struct probe_http_status_range *r)
{
    const char *t;
    size_t len;
    char shown[80];
    if (conf_value_text(ctx, n, "a status code", &t, &len))
        return -1;
    if (len == 3 && t[0] >= '1' && t[0] <= '5' && (t[1] == 'x' || t[1] == 'X') &&
        (t[2] == 'x' || t[2] == 'X')) {
        r->lo = (t[0] - '0') * 100;
        r->hi = r->lo + 99;
        return 0;
    }
    if (len == 3 && t[0] >= '1' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' && t[2] <= '9') {
        r->lo = r->hi = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
        return 0;
    }
    conf_value_error(ctx, n, "bad status '%s' (expected 100-599 or a class like 2xx)",
                     conf_value_show(n, t, false, shown, sizeof(shown)));
    return -1;
}

static int status_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    struct probe_http_statuses *st = field;
    if (n->kind == CONF_NODE_MAP) {
        conf_value_error(ctx, n, "expected a status code or a list of them, got a mapping");
        return -1;
    }
    size_t count = n->kind == CONF_NODE_SEQ ? n->n : 1;
    if (count == 0) {
        conf_value_error(ctx, n, "expect.status must list at least one status");
        return -1;
    }
    struct probe_http_status_range *r = conf_value_alloc(ctx, count * sizeof(*r));
    if (!r)
        return -1;
    size_t ok = 0;
    if (n->kind == CONF_NODE_SCALAR)
        ok = parse_status_one(ctx, n, &r[0]) == 0;
    else
        for (const struct conf_node *it = n->child; it; it = it->next)
            if (parse_status_one(ctx, it, &r[ok]) == 0)
                ok++;
    if (ok != count)
        return -1;
    st->items = r;
    st->n = count;
    return 0;
}

static void status_hash(uint64_t *h, const void *field)
{
    const struct probe_http_statuses *st = field;
    conf_schema_hash_int(h, (int64_t)st->n);
    for (size_t i = 0; i < st->n; i++) {
        conf_schema_hash_int(h, st->items[i].lo);
        conf_schema_hash_int(h, st->items[i].hi);
    }
}

static int status_copy(void *field, struct base_arena *a)
{
    struct probe_http_statuses *st = field;
    if (!st->n)
        return 0;
    struct probe_http_status_range *r = base_arena_alloc(a, st->n * sizeof(*r));
    if (!r)
        return BASE_ERR_NOMEM;
    memcpy(r, st->items, st->n * sizeof(*r));
    st->items = r;
    return 0;
}

/* Exact statuses as numbers, classes as "2xx". */
static int status_json(const void *field, json_t **out)
{
    const struct probe_http_statuses *st = field;
    json_t *list = json_array();
    for (size_t i = 0; list && i < st->n; i++) {
        const struct probe_http_status_range *r = &st->items[i];
        char cls[16];
        snprintf(cls, sizeof(cls), "%dxx", r->lo / 100);
        if (json_array_append_new(list, r->lo == r->hi ? json_integer(r->lo) : json_string(cls)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    *out = list;
    return list ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops status_ops = {status_parse, status_hash, status_copy, status_json};

/* expect.json: {"dotted.path": expected value}. */

#define JSON_VALUE_MAX (1024 * 1024)

/* The scalar as canonical JSON text in the conf arena, or NULL after an error. */
static const char *json_value(struct conf_ctx *ctx, const struct conf_node *v)
{
    const char *t;
    size_t len;
    if (conf_value_is_null(v))
        return "null";
    if (conf_value_text(ctx, v, "a string, number, true, false or null", &t, &len))
        return NULL;
    if (!v->quoted && (strcmp(t, "true") == 0 || strcmp(t, "false") == 0 ||
                       strcmp(t, "null") == 0 || probe_http_cond_is_number(t, len)))
        return conf_value_keep(ctx, t, len);
    struct base_buf b;
    base_buf_init(&b, JSON_VALUE_MAX);
    int rc = base_buf_append_json_str(&b, t, len);
    const char *out = NULL;
    if (rc == BASE_ERR_TOO_BIG)
        conf_value_error(ctx, v, "expected value is longer than %d bytes", JSON_VALUE_MAX);
    else if (rc)
        conf_value_nomem(ctx);
    else
        out = conf_value_keep(ctx, b.data, b.len);
    base_buf_free(&b);
    return out;
}

static void *conf_alloc(void *ctx, size_t n)
{
    return conf_value_alloc(ctx, n);
}

/* Compiles the operand of ~ or !~, or of expect.body: 0, or -1 after an
 * error at n (`what` introduces it). */
static int regex_parse(struct conf_ctx *ctx, const struct conf_node *n, const char *what, const char *pattern,
                       size_t len, struct probe_http_regex *re)
{
    char why[200], shown[80];
    int rc = probe_http_cond_regex_compile(pattern, len, conf_alloc, ctx, &re->code, &re->code_len, why,
                                           sizeof(why));
    if (rc == BASE_ERR_NOMEM) {
        conf_value_nomem(ctx);
        return -1;
    }
    if (rc) {
        conf_value_error(ctx, n, "%s '%s': %s", what, conf_value_show(n, pattern, false, shown, sizeof(shown)), why);
        return -1;
    }
    re->pattern = conf_value_keep(ctx, pattern, len);
    return re->pattern ? 0 : -1;
}

/* The canonical JSON of a condition's operand, in the conf arena. */
static const char *operand_json(struct conf_ctx *ctx, const struct conf_node *v, const struct probe_http_cond_text *ct)
{
    char why[120], shown[80];
    struct base_buf b;
    base_buf_init(&b, JSON_VALUE_MAX);
    int rc = probe_http_cond_is_regex(ct->op) ? base_buf_append_json_str(&b, ct->operand, ct->operand_len)
                                              : probe_http_cond_operand_json(ct->operand, ct->operand_len, &b, why,
                                                                             sizeof(why));
    const char *out = NULL;
    if (rc == BASE_ERR_INVALID)
        conf_value_error(ctx, v, "bad condition '%s': %s", conf_value_show(v, v->text, false, shown, sizeof(shown)),
                         why);
    else if (rc == BASE_ERR_TOO_BIG)
        conf_value_error(ctx, v, "expected value is longer than %d bytes", JSON_VALUE_MAX);
    else if (rc)
        conf_value_nomem(ctx);
    else
        out = conf_value_keep(ctx, b.data, b.len);
    base_buf_free(&b);
    return out;
}

/* One expect.json entry: the path k and the plain value or condition v. */
static int json_entry_parse(struct conf_ctx *ctx, const struct conf_node *k, const struct conf_node *v,
                            struct probe_http_json_expect *x)
{
    char shown[80], why[160];
    struct probe_http_cond_text ct;
    const char *t = "";
    size_t len = 0;
    if (k->kind != CONF_NODE_SCALAR) {
        conf_value_error(ctx, k, "expected a string key, got %s", conf_value_kind_name(k));
        return -1;
    }
    if (probe_http_cond_path_check(k->text, k->len, why, sizeof(why))) {
        conf_value_error(ctx, k, "bad JSON path '%s': %s", conf_value_show(k, k->text, false, shown, sizeof(shown)),
                         why);
        return -1;
    }
    memset(x, 0, sizeof(*x));
    int c = 0;
    if (!conf_value_is_null(v) && v->kind == CONF_NODE_SCALAR) {
        if (conf_value_text(ctx, v, "a value or a condition", &t, &len))
            return -1;
        c = probe_http_cond_parse(t, len, &ct, why, sizeof(why));
    }
    if (c < 0) {
        conf_value_error(ctx, v, "bad condition '%s': %s", conf_value_show(v, t, false, shown, sizeof(shown)), why);
        return -1;
    }
    if (c == 0) {
        x->op = PROBE_HTTP_OP_EQ;
        x->value_json = json_value(ctx, v);
    } else {
        x->op = ct.op;
        x->expr = conf_value_keep(ctx, t, len);
        x->value_json = operand_json(ctx, v, &ct);
        if (x->value_json && probe_http_cond_is_regex(ct.op) &&
            regex_parse(ctx, v, "bad condition", ct.operand, ct.operand_len, &x->re))
            return -1;
    }
    x->path = conf_value_keep(ctx, k->text, k->len);
    return x->path && x->value_json && (c == 0 || x->expr) ? 0 : -1;
}

static int jsonx_parse(struct conf_ctx *ctx, const struct conf_node *map, void *field)
{
    struct probe_http_json *js = field;
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return -1;
    struct probe_http_json_expect *j = conf_value_alloc(ctx, (map->n ? map->n : 1) * sizeof(*j));
    if (!j)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        if (json_entry_parse(ctx, v->key, v, &j[n]) == 0)
            n++;
        else
            rc = -1;
    }
    js->items = j;
    js->n = n;
    return rc;
}

static void regex_hash(uint64_t *h, const struct probe_http_regex *re)
{
    /* The code follows from the pattern. */
    conf_schema_hash_str(h, re->pattern);
}

static int regex_copy(struct probe_http_regex *re, struct base_arena *a)
{
    if (re->pattern && !(re->pattern = base_arena_strdup(a, re->pattern)))
        return BASE_ERR_NOMEM;
    if (re->code_len) {
        unsigned char *c = base_arena_alloc(a, re->code_len);
        if (!c)
            return BASE_ERR_NOMEM;
        memcpy(c, re->code, re->code_len);
        re->code = c;
    }
    return 0;
}

static const char *strdup_or_null(struct base_arena *a, const char *s, bool *failed)
{
    char *d = s ? base_arena_strdup(a, s) : NULL;
    if (s && !d)
        *failed = true;
    return d;
}

static void jsonx_hash(uint64_t *h, const void *field)
{
    const struct probe_http_json *js = field;
    conf_schema_hash_int(h, (int64_t)js->n);
    for (size_t i = 0; i < js->n; i++) {
        conf_schema_hash_str(h, js->items[i].path);
        conf_schema_hash_str(h, js->items[i].value_json);
        conf_schema_hash_int(h, js->items[i].op);
        conf_schema_hash_str(h, js->items[i].expr);
        regex_hash(h, &js->items[i].re);
    }
}

static int jsonx_copy(void *field, struct base_arena *a)
{
    struct probe_http_json *js = field;
    if (!js->n) {
        js->items = NULL;
        return 0;
    }
    struct probe_http_json_expect *j = base_arena_alloc(a, js->n * sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    bool failed = false;
    for (size_t i = 0; i < js->n; i++) {
        j[i] = js->items[i];
        j[i].path = strdup_or_null(a, j[i].path, &failed);
        j[i].value_json = strdup_or_null(a, j[i].value_json, &failed);
        j[i].expr = strdup_or_null(a, j[i].expr, &failed);
        if (failed || regex_copy(&j[i].re, a))
            return BASE_ERR_NOMEM;
    }
    js->items = j;
    return 0;
}

static int jsonx_json(const void *field, json_t **out)
{
    const struct probe_http_json *js = field;
    json_t *o = json_object();
    for (size_t i = 0; o && i < js->n; i++) {
        const struct probe_http_json_expect *x = &js->items[i];
        json_t *v = x->expr ? json_string(x->expr) : probe_http_cond_literal(x->value_json);
        if (!v || json_object_set_new(o, js->items[i].path, v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    *out = o;
    return o ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops jsonx_ops = {jsonx_parse, jsonx_hash, jsonx_copy, jsonx_json};

/* expect.body, expect.body_not: one regular expression. */

static int body_re_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, "a regular expression", &t, &len))
        return -1;
    if (!len) {
        conf_value_error(ctx, n, "expected a regular expression, got an empty one (it matches every body)");
        return -1;
    }
    return regex_parse(ctx, n, "bad pattern", t, len, field);
}

static void body_re_hash(uint64_t *h, const void *field)
{
    regex_hash(h, field);
}

static int body_re_copy(void *field, struct base_arena *a)
{
    return regex_copy(field, a);
}

static int body_re_json(const void *field, json_t **out)
{
    const struct probe_http_regex *re = field;
    *out = re->pattern ? json_string(re->pattern) : NULL;
    return re->pattern && !*out ? BASE_ERR_NOMEM : 0;
}

static const struct conf_field_ops body_re_ops = {body_re_parse, body_re_hash, body_re_copy, body_re_json};

/* expect.headers: {name: true | false | value | condition}. */

static int header_value_parse(struct conf_ctx *ctx, const struct conf_node *v, struct probe_http_header_expect *x)
{
    char shown[80], why[160];
    const char *t;
    size_t len;
    if (conf_value_is_null(v)) {
        conf_value_error(ctx, v, "expected true (present), false (absent), a value or a condition like \"~ ^text/\"");
        return -1;
    }
    if (conf_value_text(ctx, v, "true, false, a value or a condition", &t, &len))
        return -1;
    if (!v->quoted && (strcasecmp(t, "true") == 0 || strcasecmp(t, "false") == 0)) {
        x->op = strcasecmp(t, "true") == 0 ? PROBE_HTTP_OP_PRESENT : PROBE_HTTP_OP_ABSENT;
        return 0;
    }
    struct probe_http_cond_text ct;
    int c = probe_http_cond_parse(t, len, &ct, why, sizeof(why));
    if (c < 0) {
        conf_value_error(ctx, v, "bad condition '%s': %s", conf_value_show(v, t, false, shown, sizeof(shown)), why);
        return -1;
    }
    if (c == 0) {
        x->op = PROBE_HTTP_OP_EQ;
        x->value = conf_value_keep(ctx, t, len);
        return x->value ? 0 : -1;
    }
    x->op = ct.op;
    if (!(x->expr = conf_value_keep(ctx, t, len)))
        return -1;
    if (probe_http_cond_is_regex(ct.op))
        return regex_parse(ctx, v, "bad condition", ct.operand, ct.operand_len, &x->re);
    if (ct.operand[0] != '"') {
        x->value = conf_value_keep(ctx, ct.operand, ct.operand_len);
        return x->value ? 0 : -1;
    }
    struct base_buf b;
    base_buf_init(&b, JSON_VALUE_MAX);
    int rc = probe_http_cond_unquote(ct.operand, ct.operand_len, &b, why, sizeof(why));
    if (rc == BASE_ERR_INVALID)
        conf_value_error(ctx, v, "bad condition '%s': %s", conf_value_show(v, t, false, shown, sizeof(shown)), why);
    else if (rc)
        conf_value_nomem(ctx);
    else
        x->value = conf_value_keep(ctx, b.data ? b.data : "", b.len);
    base_buf_free(&b);
    return x->value ? 0 : -1;
}

static int headers_parse(struct conf_ctx *ctx, const struct conf_node *map, void *field)
{
    struct probe_http_headers *hs = field;
    char shown[80], where[96];
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return -1;
    struct probe_http_header_expect *items = conf_value_alloc(ctx, (map->n ? map->n : 1) * sizeof(*items));
    if (!items)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        const char *bad = k->kind != CONF_NODE_SCALAR || k->has_nul ? "expected a header name"
                                                                    : conf_value_header_name_bad(k->text);
        const struct conf_node *first = NULL;
        for (const struct conf_node *o = map->child; o != v && !bad && !first; o = o->next)
            if (o->key->kind == CONF_NODE_SCALAR && strcasecmp(o->key->text, k->text) == 0)
                first = o->key;
        if (bad || first) {
            if (bad)
                conf_value_error(ctx, k, "bad header name '%s': %s",
                                 conf_value_show(k, k->kind == CONF_NODE_SCALAR ? k->text : "", false, shown,
                                                 sizeof(shown)), bad);
            else
                conf_value_error(ctx, k, "header '%s' has a condition already (at %s; names ignore case)",
                                 conf_value_show(k, k->text, false, shown, sizeof(shown)),
                                 conf_value_where(first, k, where, sizeof(where)));
            rc = -1;
            continue;
        }
        memset(&items[n], 0, sizeof(items[n]));
        if (header_value_parse(ctx, v, &items[n]) || !(items[n].name = conf_value_keep(ctx, k->text, k->len))) {
            rc = -1;
            continue;
        }
        n++;
    }
    hs->items = items;
    hs->n = n;
    return rc;
}

static void headers_hash(uint64_t *h, const void *field)
{
    const struct probe_http_headers *hs = field;
    conf_schema_hash_int(h, (int64_t)hs->n);
    for (size_t i = 0; i < hs->n; i++) {
        conf_schema_hash_str(h, hs->items[i].name);
        conf_schema_hash_int(h, hs->items[i].op);
        conf_schema_hash_str(h, hs->items[i].value);
        conf_schema_hash_str(h, hs->items[i].expr);
        regex_hash(h, &hs->items[i].re);
    }
}

static int headers_copy(void *field, struct base_arena *a)
{
    struct probe_http_headers *hs = field;
    if (!hs->n) {
        hs->items = NULL;
        return 0;
    }
    struct probe_http_header_expect *items = base_arena_alloc(a, hs->n * sizeof(*items));
    if (!items)
        return BASE_ERR_NOMEM;
    bool failed = false;
    for (size_t i = 0; i < hs->n; i++) {
        items[i] = hs->items[i];
        items[i].name = strdup_or_null(a, items[i].name, &failed);
        items[i].value = strdup_or_null(a, items[i].value, &failed);
        items[i].expr = strdup_or_null(a, items[i].expr, &failed);
        if (failed || regex_copy(&items[i].re, a))
            return BASE_ERR_NOMEM;
    }
    hs->items = items;
    return 0;
}

/* true (present), false (absent), the condition or the plain value. */
static int headers_json(const void *field, json_t **out)
{
    const struct probe_http_headers *hs = field;
    if (!hs->n) {
        *out = NULL;
        return 0;
    }
    json_t *o = json_object();
    for (size_t i = 0; o && i < hs->n; i++) {
        const struct probe_http_header_expect *x = &hs->items[i];
        json_t *v = x->op == PROBE_HTTP_OP_PRESENT ? json_true()
                  : x->op == PROBE_HTTP_OP_ABSENT  ? json_false()
                                                   : json_string(x->expr ? x->expr : x->value ? x->value : "");
        if (!v || json_object_set_new(o, x->name, v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    *out = o;
    return o ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops headers_ops = {headers_parse, headers_hash, headers_copy, headers_json};

#define X(m) offsetof(struct probe_http_expect, m)
const struct conf_field probe_http_expect_fields[] = {
    CONF_FIELD("status", CONF_FIELD_CUSTOM, X(status), 0,
     "Accepted statuses: codes (200) and classes (\"2xx\"), one or a list; default 2xx", .ops = &status_ops,
     .example = "[200, 3xx]"),
    CONF_FIELD("json", CONF_FIELD_CUSTOM, X(json), 0,
     "Dotted paths into the JSON body and their expected values or conditions "
     "({\"data.status\": \"ok\", \"checks.db.responseTime\": \"< 500\"})", .ops = &jsonx_ops,
     .example = "{data.status: ok, items.0.ready: true, checks.db.responseTime: '< 500', version: '~ ^2\\.'}"),
    CONF_FIELD("max_latency", CONF_FIELD_DURATION, X(max_latency_ms), 0, "Slower answers make the sample degraded",
               .example = "2s"),
    CONF_FIELD("body_contains", CONF_FIELD_STRING, X(body_contains), 0, "Text the body must contain",
               .example = "ok"),
    CONF_FIELD("body", CONF_FIELD_CUSTOM, X(body), 0, "A regular expression (PCRE2) the body must match",
     .ops = &body_re_ops, .example = "'\"status\":\\s*\"(ok|up)\"'"),
    CONF_FIELD("body_not", CONF_FIELD_CUSTOM, X(body_not), 0, "A regular expression the body must not match",
     .ops = &body_re_ops, .example = "'ERROR|FATAL'"),
    CONF_FIELD("headers", CONF_FIELD_CUSTOM, X(headers), 0,
     "Response header conditions: true (present), false (absent), a value, or a condition (\"~ ^application/json\")",
     .ops = &headers_ops, .example = "{Content-Type: '~ ^application/json', X-Debug: false}"),
    CONF_FIELD_END,
};
#undef X
