/*
 * probe/http_expect: the `expect` conditions of the http check type: the
 * custom fields that parse them (with positions), hash, copy and print
 * them, and their evaluation on a finished response. Pure functions of
 * their input; no I/O, no logging.
 */
#include "probe/http_int.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Follows a dotted path: object keys, and numeric segments index arrays. */
static json_t *json_path(json_t *v, const char *path)
{
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!n || !v)
            return NULL;
        if (json_is_object(v)) {
            v = json_object_getn(v, p, n);
        } else if (json_is_array(v)) {
            size_t idx = 0;
            for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9' || idx > 100000000)
                    return NULL;
                idx = idx * 10 + (size_t)(p[i] - '0');
            }
            v = json_array_get(v, idx);
        } else {
            return NULL;
        }
        if (!dot)
            return v;
        p = dot + 1;
    }
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
        json_t *found = json_path(root, x->path);
        if (!found) {
            sample_set_error(s, "json: path '%s' not found", x->path);
            ok = false;
            break;
        }
        json_t *want = json_loads(x->value_json, JSON_DECODE_ANY, NULL);
        if (!want) {
            sample_set_error(s, "json: expected value for '%s' is not valid JSON", x->path);
            ok = false;
            break;
        }
        if (!json_equal(found, want)) {
            char shown[PROBE_HTTP_SHOWN_MAX];
            char *txt = json_dumps(found, JSON_ENCODE_ANY | JSON_COMPACT);
            if (txt) {
                size_t n = strlen(txt);
                if (n >= sizeof(shown)) {
                    memcpy(shown, txt, sizeof(shown) - 4);
                    memcpy(shown + sizeof(shown) - 4, "...", 4);
                } else {
                    memcpy(shown, txt, n + 1);
                }
                free(txt);  /* jansson's allocator */
            } else {
                memcpy(shown, "?", 2);
            }
            sample_set_error(s, "json: %s is %s, expected %s", x->path, shown, x->value_json);
            ok = false;
        }
        json_decref(want);
    }
    json_decref(root);
    return ok;
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

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static bool is_json_path(const char *p)
{
    if (!*p || *p == '.')
        return false;
    for (; *p; p++)
        if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
            return false;
    return true;
}

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
                       strcmp(t, "null") == 0 || is_json_number(t)))
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

static int jsonx_parse(struct conf_ctx *ctx, const struct conf_node *map, void *field)
{
    struct probe_http_json *js = field;
    char shown[80];
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return -1;
    struct probe_http_json_expect *j = conf_value_alloc(ctx, (map->n ? map->n : 1) * sizeof(*j));
    if (!j)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        if (k->kind != CONF_NODE_SCALAR || k->has_nul || !is_json_path(k->text)) {
            if (k->kind != CONF_NODE_SCALAR)
                conf_value_error(ctx, k, "expected a string key, got %s", conf_value_kind_name(k));
            else
                conf_value_error(ctx, k, "bad JSON path '%s' (expected dotted names like data.status)",
                                 conf_value_show(k, k->text, false, shown, sizeof(shown)));
            rc = -1;
            continue;
        }
        const char *value = json_value(ctx, v);
        if (!value) {
            rc = -1;
            continue;
        }
        j[n].path = conf_value_keep(ctx, k->text, k->len);
        j[n].value_json = value;
        if (!j[n].path)
            return -1;
        n++;
    }
    js->items = j;
    js->n = n;
    return rc;
}

static void jsonx_hash(uint64_t *h, const void *field)
{
    const struct probe_http_json *js = field;
    conf_schema_hash_int(h, (int64_t)js->n);
    for (size_t i = 0; i < js->n; i++) {
        conf_schema_hash_str(h, js->items[i].path);
        conf_schema_hash_str(h, js->items[i].value_json);
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
    for (size_t i = 0; i < js->n; i++) {
        j[i].path = base_arena_strdup(a, js->items[i].path);
        j[i].value_json = base_arena_strdup(a, js->items[i].value_json);
        if (!j[i].path || !j[i].value_json)
            return BASE_ERR_NOMEM;
    }
    js->items = j;
    return 0;
}

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
        if (e != 'u' || i + 4 >= n || cp <= 0 || cp > 0x7f)
            goto done; /* json_value escapes only control characters */
        out[len++] = (char)cp;
        i += 4;
    }
    v = json_stringn(out, len);
done:
    base_free(out);
    return v;
}

/* Canonical JSON text back to a value; NULL when it is not one (or on
 * OOM). Integers too large for jansson come back as reals. */
static json_t *json_literal(const char *text)
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

static int jsonx_json(const void *field, json_t **out)
{
    const struct probe_http_json *js = field;
    json_t *o = json_object();
    for (size_t i = 0; o && i < js->n; i++) {
        json_t *v = json_literal(js->items[i].value_json);
        if (!v || json_object_set_new(o, js->items[i].path, v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    *out = o;
    return o ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops jsonx_ops = {jsonx_parse, jsonx_hash, jsonx_copy, jsonx_json};


#define X(m) offsetof(struct probe_http_expect, m)
const struct conf_field probe_http_expect_fields[] = {
    CONF_FIELD("status", CONF_FIELD_CUSTOM, X(status), 0,
     "Accepted statuses: codes (200) and classes (\"2xx\"), one or a list; default 2xx", .ops = &status_ops,
     .example = "[200, 3xx]"),
    CONF_FIELD("json", CONF_FIELD_CUSTOM, X(json), 0,
     "Dotted paths into the JSON body and their expected values ({\"data.status\": \"ok\"})", .ops = &jsonx_ops,
     .example = "{data.status: ok, items.0.ready: true}"),
    CONF_FIELD("max_latency", CONF_FIELD_DURATION, X(max_latency_ms), 0, "Slower answers make the sample degraded",
               .example = "2s"),
    CONF_FIELD("body_contains", CONF_FIELD_STRING, X(body_contains), 0, "Text the body must contain",
               .example = "ok"),
    CONF_FIELD_END,
};
#undef X
