/*
 * conf/check: the `checks` list of the config file: common fields, the
 * per-type fields of http and tcp checks, defaults, and the definition hash
 * that lets a reload tell unchanged checks apart, and deep copies for
 * merging. Everything it builds lives in the conf arena; errors go through
 * conf_value_error and parsing goes on after each one. Knows the schema, not
 * YAML or JSON.
 */
#include "conf/conf_int.h"

#include "base/buf.h"
#include "base/duration.h"

#include <string.h>
#include <strings.h>

#define JSON_VALUE_MAX (1024 * 1024)

enum field {
    F_ID, F_NAME, F_PROJECT, F_TYPE, F_INTERVAL, F_TIMEOUT, F_CONFIRM, F_ENABLED, F_LABELS,
    F_URL, F_METHOD, F_HEADERS, F_BODY, F_TLS_VERIFY, F_FOLLOW_REDIRECTS, F_MAX_BODY,
    F_ADDRESS, F_SEND, F_EXPECT, F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "id", "name", "project", "type", "interval", "timeout", "confirm", "enabled", "labels",
    "url", "method", "headers", "body", "tls_verify", "follow_redirects", "max_body",
    "address", "send", "expect",
};

#define FOR_HTTP 1u
#define FOR_TCP 2u
static const unsigned field_types[F_COUNT] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3,
    FOR_HTTP, FOR_HTTP, FOR_HTTP, FOR_HTTP, FOR_HTTP, FOR_HTTP, FOR_HTTP,
    FOR_TCP, FOR_TCP, FOR_HTTP | FOR_TCP,
};

/* DESIGN §3.2 types that later issues add. */
static const char *const planned_types[] = {
    "postgres", "redis", "tls", "dns", "disk", "memory", "cpu", "heartbeat", "command", "prometheus",
};
static const char *const all_types[] = {
    "http", "tcp", "postgres", "redis", "tls", "dns", "disk", "memory", "cpu", "heartbeat",
    "command", "prometheus",
};
static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

const char *conf_check_type_name(enum conf_check_type t)
{
    return t == CONF_CHECK_TCP ? "tcp" : "http";
}

const struct conf_check *conf_check_find(const struct conf *c, const char *id)
{
    for (size_t i = 0; c && id && i < c->n_checks; i++)
        if (strcmp(c->checks[i].id, id) == 0)
            return &c->checks[i];
    return NULL;
}

int conf_check_set_defaults(struct conf_check *cc, struct base_arena *a)
{
    memset(cc, 0, sizeof(*cc));
    cc->type = CONF_CHECK_HTTP;
    cc->interval_ms = CONF_DEFAULT_INTERVAL_MS;
    cc->timeout_ms = CONF_DEFAULT_TIMEOUT_MS;
    cc->confirm = 1;
    cc->enabled = true;
    cc->method = "GET";
    cc->tls_verify = true;
    cc->follow_redirects = true;
    cc->max_body_bytes = CONF_DEFAULT_MAX_BODY;
    cc->status = base_arena_alloc(a, sizeof(*cc->status));
    if (!cc->status)
        return BASE_ERR_NOMEM;
    cc->status[0].lo = 200;
    cc->status[0].hi = 299;
    cc->n_status = 1;
    return 0;
}

/* ---- hash ---- */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= FNV_PRIME;
    }
}

/* Length-prefixed so that ("ab","c") and ("a","bc") differ; NULL differs from "". */
static void fnv_str(uint64_t *h, const char *s)
{
    uint64_t len = s ? (uint64_t)strlen(s) : UINT64_MAX;
    fnv(h, &len, sizeof(len));
    if (s)
        fnv(h, s, strlen(s));
}

static void fnv_int(uint64_t *h, int64_t v)
{
    fnv(h, &v, sizeof(v));
}

uint64_t conf_check_compute_hash(const struct conf_check *cc)
{
    uint64_t h = FNV_OFFSET;
    fnv_str(&h, cc->id);
    fnv_str(&h, cc->name);
    fnv_str(&h, cc->project);
    fnv_int(&h, cc->type);
    fnv_int(&h, cc->interval_ms);
    fnv_int(&h, cc->timeout_ms);
    fnv_int(&h, cc->confirm);
    fnv_int(&h, cc->enabled);
    fnv_int(&h, (int64_t)cc->n_labels);
    for (size_t i = 0; i < cc->n_labels; i++) {
        fnv_str(&h, cc->labels[i].key);
        fnv_str(&h, cc->labels[i].value);
    }
    fnv_str(&h, cc->url);
    fnv_str(&h, cc->method);
    fnv_int(&h, (int64_t)cc->n_headers);
    for (size_t i = 0; i < cc->n_headers; i++) {
        fnv_str(&h, cc->headers[i].key);
        fnv_str(&h, cc->headers[i].value);
    }
    fnv_str(&h, cc->body);
    fnv_int(&h, (int64_t)cc->n_status);
    for (size_t i = 0; i < cc->n_status; i++) {
        fnv_int(&h, cc->status[i].lo);
        fnv_int(&h, cc->status[i].hi);
    }
    fnv_int(&h, cc->max_latency_ms);
    fnv_str(&h, cc->body_contains);
    fnv_int(&h, (int64_t)cc->n_json);
    for (size_t i = 0; i < cc->n_json; i++) {
        fnv_str(&h, cc->json[i].path);
        fnv_str(&h, cc->json[i].value_json);
    }
    fnv_int(&h, cc->tls_verify);
    fnv_int(&h, cc->follow_redirects);
    fnv_int(&h, (int64_t)cc->max_body_bytes);
    fnv_str(&h, cc->address);
    fnv_str(&h, cc->send);
    fnv_str(&h, cc->expect);
    return h;
}

/* ---- field validators ---- */

static const char *label_name_bad(const char *k)
{
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z') || k[0] == '_'))
        return "label names match [a-zA-Z_][a-zA-Z0-9_]*";
    for (const char *p = k + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return "label names match [a-zA-Z_][a-zA-Z0-9_]*";
    return NULL;
}

static const char *header_name_bad(const char *k)
{
    /* RFC 9110 token characters. */
    if (!*k)
        return "empty header name";
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return "header names are letters, digits and !#$%&'*+-.^_`|~";
    return NULL;
}

static const char *header_value_bad(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return "header values must not contain line breaks or control characters";
    return NULL;
}

static const char *label_value_bad(const char *v, size_t len)
{
    return len > 1024 ? "label values are at most 1024 bytes" : NULL;
}

/* ---- expect (http) ---- */

static int parse_status_one(struct conf_ctx *ctx, const struct conf_node *n, struct conf_status_range *r)
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

static void parse_status(struct conf_ctx *ctx, const struct conf_node *n, struct conf_check *cc)
{
    if (n->kind == CONF_NODE_MAP) {
        conf_value_error(ctx, n, "expected a status code or a list of them, got a mapping");
        return;
    }
    size_t count = n->kind == CONF_NODE_SEQ ? n->n : 1;
    if (count == 0) {
        conf_value_error(ctx, n, "expect.status must list at least one status");
        return;
    }
    struct conf_status_range *r = conf_value_alloc(ctx, count * sizeof(*r));
    if (!r)
        return;
    size_t ok = 0;
    if (n->kind == CONF_NODE_SCALAR)
        ok = parse_status_one(ctx, n, &r[0]) == 0;
    else
        for (const struct conf_node *it = n->child; it; it = it->next)
            if (parse_status_one(ctx, it, &r[ok]) == 0)
                ok++;
    if (ok == count) {
        cc->status = r;
        cc->n_status = count;
    }
}

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
    {
        char *literal = base_arena_strndup(&ctx->conf->arena, t, len);
        if (!literal)
            ctx->nomem = true;
        return literal;
    }
    struct base_buf b;
    base_buf_init(&b, JSON_VALUE_MAX);
    int rc = base_buf_append_json_str(&b, t, len);
    char *out = NULL;
    if (rc == BASE_ERR_TOO_BIG)
        conf_value_error(ctx, v, "expected value is longer than %d bytes", JSON_VALUE_MAX);
    else if (rc)
        ctx->nomem = true;
    else if (!(out = base_arena_strndup(&ctx->conf->arena, b.data, b.len)))
        ctx->nomem = true;
    base_buf_free(&b);
    return out;
}

static void parse_json(struct conf_ctx *ctx, const struct conf_node *map, struct conf_check *cc)
{
    char shown[80];
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return;
    struct conf_json_expect *j = conf_value_alloc(ctx, map->n * sizeof(*j));
    if (!j)
        return;
    size_t n = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        if (k->kind != CONF_NODE_SCALAR || k->has_nul || !is_json_path(k->text)) {
            if (k->kind != CONF_NODE_SCALAR)
                conf_value_error(ctx, k, "expected a string key, got %s", conf_value_kind_name(k));
            else
                conf_value_error(ctx, k, "bad JSON path '%s' (expected dotted names like data.status)",
                                 conf_value_show(k, k->text, false, shown, sizeof(shown)));
            continue;
        }
        const char *value = json_value(ctx, v);
        if (!value)
            continue;
        j[n].path = base_arena_strdup(&ctx->conf->arena, k->text);
        j[n].value_json = value;
        if (!j[n].path) {
            ctx->nomem = true;
            return;
        }
        n++;
    }
    cc->json = j;
    cc->n_json = n;
}

enum { E_STATUS, E_MAX_LATENCY, E_BODY_CONTAINS, E_JSON, E_COUNT };
static const char *const expect_names[E_COUNT] = {"status", "max_latency", "body_contains", "json"};

static void parse_http_expect(struct conf_ctx *ctx, const struct conf_node *n, struct conf_check *cc)
{
    const struct conf_node *f[E_COUNT];
    if (conf_value_is_null(n))
        return;
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, n, expect_names, E_COUNT, f);
    if (f[E_STATUS])
        parse_status(ctx, f[E_STATUS], cc);
    if (f[E_MAX_LATENCY])
        conf_value_duration(ctx, f[E_MAX_LATENCY], &cc->max_latency_ms);
    if (f[E_BODY_CONTAINS])
        conf_value_string(ctx, f[E_BODY_CONTAINS], &cc->body_contains);
    if (f[E_JSON])
        parse_json(ctx, f[E_JSON], cc);
}

/* ---- one check ---- */

/* Returns FOR_HTTP or FOR_TCP, or 0 when the type is missing or not supported. */
static unsigned parse_type(struct conf_ctx *ctx, const struct conf_node *n, struct conf_check *cc)
{
    const char *t;
    char shown[80];
    if (conf_value_text(ctx, n, "a check type", &t, NULL))
        return 0;
    if (strcmp(t, "http") == 0) {
        cc->type = CONF_CHECK_HTTP;
        return FOR_HTTP;
    }
    if (strcmp(t, "tcp") == 0) {
        cc->type = CONF_CHECK_TCP;
        return FOR_TCP;
    }
    for (size_t i = 0; i < sizeof(planned_types) / sizeof(planned_types[0]); i++) {
        if (strcmp(t, planned_types[i]) == 0) {
            conf_value_error(ctx, n, "check type '%s' is not supported by this version yet "
                             "(supported: http, tcp)", t);
            return 0;
        }
    }
    const char *hint = conf_value_suggest(t, all_types, sizeof(all_types) / sizeof(all_types[0]));
    conf_value_show(n, t, false, shown, sizeof(shown));
    if (hint)
        conf_value_error(ctx, n, "unknown check type '%s' (did you mean '%s'?)", shown, hint);
    else
        conf_value_error(ctx, n, "unknown check type '%s' (supported: http, tcp)", shown);
    return 0;
}

static void parse_project_ref(struct conf_ctx *ctx, const struct conf_node *n, struct conf_check *cc,
                              const struct base_map *projects)
{
    const char *pid;
    if (conf_value_id(ctx, n, &pid))
        return;
    const struct conf_project *p = base_map_get(projects, pid);
    if (p) {
        cc->project = ctx->json ? pid : p->id; /* from JSON, p lives in another conf */
        return;
    }
    if (!ctx->n_projects) {
        conf_value_error(ctx, n, "unknown project '%s' (no projects are declared)", pid);
        return;
    }
    const char **ids = base_arena_alloc(&ctx->tmp, ctx->n_projects * sizeof(*ids));
    if (!ids) {
        ctx->nomem = true;
        return;
    }
    for (size_t i = 0; i < ctx->n_projects; i++)
        ids[i] = ctx->projects[i].id;
    const char *hint = conf_value_suggest(pid, ids, ctx->n_projects);
    if (hint)
        conf_value_error(ctx, n, "unknown project '%s' (did you mean '%s'?)", pid, hint);
    else
        conf_value_error(ctx, n, "unknown project '%s'", pid);
}

static void parse_timing(struct conf_ctx *ctx, const struct conf_node **f, struct conf_check *cc)
{
    bool interval_ok = true;
    int64_t ms;
    char a[32], b[32];
    if (f[F_INTERVAL]) {
        if (conf_value_duration(ctx, f[F_INTERVAL], &ms)) {
            interval_ok = false;
        } else if (ms < CONF_MIN_INTERVAL_MS) {
            conf_value_error(ctx, f[F_INTERVAL], "interval must be at least %dms", CONF_MIN_INTERVAL_MS);
            interval_ok = false;
        } else if (ms > CONF_MAX_INTERVAL_MS) {
            /* The scheduler works in nanoseconds; a year keeps that far from overflow. */
            conf_value_error(ctx, f[F_INTERVAL], "interval must be at most 365d");
            interval_ok = false;
        } else {
            cc->interval_ms = ms;
        }
    }
    if (f[F_TIMEOUT]) {
        if (conf_value_duration(ctx, f[F_TIMEOUT], &ms))
            return;
        cc->timeout_ms = ms;
        if (interval_ok && ms >= cc->interval_ms)
            conf_value_error(ctx, f[F_TIMEOUT], "timeout (%s) must be less than interval (%s)",
                             base_duration_format(ms, a, sizeof(a)),
                             base_duration_format(cc->interval_ms, b, sizeof(b)));
    } else if (cc->interval_ms <= CONF_DEFAULT_TIMEOUT_MS) {
        /* Short intervals get half the interval so a probe never overlaps the next. */
        cc->timeout_ms = cc->interval_ms / 2;
    }
}

static void parse_common(struct conf_ctx *ctx, const struct conf_node **f, struct conf_check *cc,
                         const struct base_map *projects)
{
    long long v;
    if (f[F_NAME])
        conf_value_string(ctx, f[F_NAME], &cc->name);
    if (f[F_PROJECT])
        parse_project_ref(ctx, f[F_PROJECT], cc, projects);
    parse_timing(ctx, f, cc);
    if (f[F_CONFIRM] && conf_value_int(ctx, f[F_CONFIRM], 1, 100, &v) == 0)
        cc->confirm = (int)v;
    if (f[F_ENABLED])
        conf_value_bool(ctx, f[F_ENABLED], &cc->enabled);
    if (f[F_LABELS] && !conf_value_is_null(f[F_LABELS]))
        conf_value_kv(ctx, f[F_LABELS], label_name_bad, label_value_bad, &cc->labels, &cc->n_labels);
}

static void parse_method(struct conf_ctx *ctx, const struct conf_node *n, struct conf_check *cc)
{
    const char *t;
    char shown[80];
    if (conf_value_text(ctx, n, "an HTTP method", &t, NULL))
        return;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcasecmp(t, methods[i]) == 0) {
            cc->method = methods[i];
            return;
        }
    }
    conf_value_error(ctx, n, "unknown method '%s' (expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)",
                     conf_value_show(n, t, false, shown, sizeof(shown)));
}

static void parse_http(struct conf_ctx *ctx, const struct conf_node *node, const struct conf_node **f,
                       struct conf_check *cc)
{
    size_t size;
    if (!f[F_URL])
        conf_value_error_member(ctx, node, "url", "http check is missing 'url'");
    else
        conf_value_url(ctx, f[F_URL], &cc->url);
    if (f[F_METHOD])
        parse_method(ctx, f[F_METHOD], cc);
    if (f[F_HEADERS] && !conf_value_is_null(f[F_HEADERS]))
        conf_value_kv(ctx, f[F_HEADERS], header_name_bad, header_value_bad, &cc->headers, &cc->n_headers);
    if (f[F_BODY])
        conf_value_string(ctx, f[F_BODY], &cc->body);
    if (f[F_EXPECT])
        parse_http_expect(ctx, f[F_EXPECT], cc);
    if (f[F_TLS_VERIFY])
        conf_value_bool(ctx, f[F_TLS_VERIFY], &cc->tls_verify);
    if (f[F_FOLLOW_REDIRECTS])
        conf_value_bool(ctx, f[F_FOLLOW_REDIRECTS], &cc->follow_redirects);
    if (f[F_MAX_BODY] && conf_value_size(ctx, f[F_MAX_BODY], CONF_MAX_BODY_LIMIT, &size) == 0)
        cc->max_body_bytes = size;
}

static void parse_tcp(struct conf_ctx *ctx, const struct conf_node *node, const struct conf_node **f,
                      struct conf_check *cc)
{
    if (!f[F_ADDRESS])
        conf_value_error_member(ctx, node, "address", "tcp check is missing 'address'");
    else
        conf_value_hostport(ctx, f[F_ADDRESS], false, &cc->address);
    if (f[F_SEND])
        conf_value_string(ctx, f[F_SEND], &cc->send);
    if (f[F_EXPECT])
        conf_value_string(ctx, f[F_EXPECT], &cc->expect);
}

void conf_check_parse_one(struct conf_ctx *ctx, const struct conf_node *node, struct conf_check *cc,
                          struct base_map *ids, const struct base_map *projects)
{
    const struct conf_node *f[F_COUNT];
    if (conf_check_set_defaults(cc, &ctx->conf->arena)) {
        ctx->nomem = true;
        return;
    }
    cc->line = node->line;
    cc->col = node->col;
    conf_value_fields(ctx, node, field_names, F_COUNT, f);
    unsigned type = 0;
    if (!f[F_TYPE])
        conf_value_error_member(ctx, node, "type", "check is missing 'type' (supported: http, tcp)");
    else
        type = parse_type(ctx, f[F_TYPE], cc);
    if (!f[F_ID])
        conf_value_error_member(ctx, node, "id", "check is missing 'id'");
    else if (conf_value_id(ctx, f[F_ID], &cc->id) == 0)
        conf_value_unique(ctx, ids, cc->id, f[F_ID], "check id");
    parse_common(ctx, f, cc, projects);
    if (!cc->name)
        cc->name = cc->id;
    if (!type)
        return;
    for (int i = 0; i < F_COUNT; i++)
        if (f[i] && !(field_types[i] & type))
            conf_value_error(ctx, f[i]->key, "'%s' is not valid for %s check", field_names[i],
                             type == FOR_HTTP ? "an http" : "a tcp");
    if (type == FOR_HTTP)
        parse_http(ctx, node, f, cc);
    else
        parse_tcp(ctx, node, f, cc);
    cc->hash = conf_check_compute_hash(cc);
}

void conf_check_parse_list(struct conf_ctx *ctx, const struct conf_node *list,
                           const struct base_map *projects)
{
    struct base_map ids;
    if (conf_value_is_null(list) || conf_value_expect(ctx, list, CONF_NODE_SEQ))
        return;
    struct conf_check *checks = conf_value_alloc(ctx, list->n * sizeof(*checks));
    if (!checks)
        return;
    base_map_init(&ids);
    size_t n = 0;
    for (const struct conf_node *item = list->child; item && !ctx->nomem; item = item->next) {
        if (conf_value_expect(ctx, item, CONF_NODE_MAP))
            continue;
        conf_check_parse_one(ctx, item, &checks[n++], &ids, projects);
    }
    base_map_free(&ids);
    ctx->conf->checks = checks;
    ctx->conf->n_checks = n;
}

/* ---- copy (merging) ---- */

static int copy_str(struct base_arena *a, const char **s)
{
    if (!*s)
        return 0;
    *s = base_arena_strdup(a, *s);
    return *s ? 0 : BASE_ERR_NOMEM;
}

static int copy_kv(struct base_arena *a, struct conf_kv **kv, size_t n)
{
    if (!n) {
        *kv = NULL;
        return 0;
    }
    struct conf_kv *copy = base_arena_alloc(a, n * sizeof(*copy));
    if (!copy)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        copy[i] = (*kv)[i];
        if (copy_str(a, &copy[i].key) || copy_str(a, &copy[i].value))
            return BASE_ERR_NOMEM;
    }
    *kv = copy;
    return 0;
}

int conf_check_copy(struct conf_check *dst, const struct conf_check *src, struct base_arena *a,
                    const char *project)
{
    *dst = *src;
    dst->project = project;
    if (copy_str(a, &dst->id) || copy_str(a, &dst->url) || copy_str(a, &dst->body) ||
        copy_str(a, &dst->body_contains) || copy_str(a, &dst->address) || copy_str(a, &dst->send) ||
        copy_str(a, &dst->expect) || copy_kv(a, &dst->labels, src->n_labels) ||
        copy_kv(a, &dst->headers, src->n_headers))
        return BASE_ERR_NOMEM;
    /* name defaults to id: keep them one string, as the loader does */
    if (src->name == src->id)
        dst->name = dst->id;
    else if (copy_str(a, &dst->name))
        return BASE_ERR_NOMEM;
    if (copy_str(a, &dst->method))
        return BASE_ERR_NOMEM;
    dst->status = NULL;
    dst->json = NULL;
    if (src->n_status) {
        dst->status = base_arena_alloc(a, src->n_status * sizeof(*dst->status));
        if (!dst->status)
            return BASE_ERR_NOMEM;
        memcpy(dst->status, src->status, src->n_status * sizeof(*dst->status));
    }
    if (src->n_json) {
        dst->json = base_arena_alloc(a, src->n_json * sizeof(*dst->json));
        if (!dst->json)
            return BASE_ERR_NOMEM;
        for (size_t i = 0; i < src->n_json; i++) {
            dst->json[i] = src->json[i];
            if (copy_str(a, &dst->json[i].path) || copy_str(a, &dst->json[i].value_json))
                return BASE_ERR_NOMEM;
        }
    }
    return 0;
}
