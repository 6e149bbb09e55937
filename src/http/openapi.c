/*
 * http/openapi: renders the route table (http/routes) and the component
 * schemas (http/schemas) as an OpenAPI 3.1 document, and that document as
 * plain HTML. Holds no route knowledge: every operation comes from a route
 * entry. Path parameters come from the pattern's {x} captures; security,
 * x-min-role and the 401/403/429 answers from the route's access level, so
 * the document cannot drift from what api.c enforces. Owns nothing past a
 * call.
 */
#include "http/openapi.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---- */

struct build {
    char *err;
    size_t errlen;
    bool failed;
    const struct http_openapi_src *src;
    char path[512];            /* the current route's pattern as an OpenAPI path */
};

static json_t *fail(struct build *b, const char *fmt, ...) BASE_PRINTF(2, 3);
static json_t *fail(struct build *b, const char *fmt, ...)
{
    if (!b->failed && b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err, b->errlen, fmt, ap);
        va_end(ap);
    }
    b->failed = true;
    return NULL;
}

/* Takes a new reference v into o[key]; false (and b failed) on NULL/OOM. */
static bool put(struct build *b, json_t *o, const char *key, json_t *v)
{
    if (v && json_object_set_new(o, key, v) == 0)
        return true;
    if (!b->failed)
        fail(b, "out of memory");
    return false;
}

static json_t *ref_to(const char *name)
{
    char ref[300];
    snprintf(ref, sizeof(ref), "#/components/schemas/%.255s", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *nullable(json_t *s, const char *type)
{
    if (!s)
        return NULL;
    if (!type)
        return json_pack("{s:[o, {s:s}]}", "anyOf", s, "type", "null");
    json_object_set_new(s, "type", json_pack("[s, s]", type, "null"));
    json_t *e = json_object_get(s, "enum");
    if (e)
        json_array_append_new(e, json_null());
    return s;
}

/* The JSON Schema for a type spec (see struct http_route_param). */
static json_t *type_schema(struct build *b, const char *spec)
{
    char t[256];
    size_t len = strlen(spec);
    bool null_ok = len > 0 && spec[len - 1] == '?';
    if (null_ok)
        len--;
    if (len == 0 || len >= sizeof(t))
        return fail(b, "bad type spec '%.100s'", spec);
    memcpy(t, spec, len);
    t[len] = '\0';
    json_t *s = NULL;
    const char *json_type = t;
    if (strncmp(t, "[]", 2) == 0) {
        if (null_ok)
            return fail(b, "bad type spec '%.100s': arrays are never null", spec);
        json_t *items = type_schema(b, t + 2);
        return items ? json_pack("{s:s, s:o}", "type", "array", "items", items) : NULL;
    } else if (!strcmp(t, "string") || !strcmp(t, "integer") || !strcmp(t, "number") || !strcmp(t, "boolean")) {
        s = json_pack("{s:s}", "type", t);
    } else if (!strcmp(t, "date-time")) {
        s = json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
        json_type = "string";
    } else if (!strcmp(t, "duration")) {
        s = json_pack("{s:s, s:s, s:[s, s]}", "type", "string", "description", "opshub duration",
                      "examples", "30s", "90d");
        json_type = "string";
    } else if (!strcmp(t, "object")) {
        s = json_pack("{s:s}", "type", "object");
    } else if (!strcmp(t, "any")) {
        s = json_object();
        json_type = NULL;
    } else if (!strcmp(t, "map")) {
        s = json_pack("{s:s, s:{s:s}}", "type", "object", "additionalProperties", "type", "string");
        json_type = "object";
    } else if (!strcmp(t, "numbers")) {
        s = json_pack("{s:s, s:{s:s}}", "type", "object", "additionalProperties", "type", "number");
        json_type = "object";
    } else if (strncmp(t, "enum:", 5) == 0) {
        json_t *values = json_array();
        for (char *v = t + 5, *comma; values && v; v = comma ? comma + 1 : NULL) {
            comma = strchr(v, ',');
            if (comma)
                *comma = '\0';
            if (!*v || json_array_append_new(values, json_string(v)) != 0) {
                json_decref(values);
                return fail(b, "bad type spec '%.100s'", spec);
            }
        }
        s = values ? json_pack("{s:s, s:o}", "type", "string", "enum", values) : NULL;
        json_type = "string";
    } else if (isupper((unsigned char)t[0])) {
        s = ref_to(t);
        json_type = NULL;
    } else {
        return fail(b, "bad type spec '%.100s'", spec);
    }
    if (s && null_ok)
        s = nullable(s, json_type);
    return s ? s : fail(b, "out of memory");
}

static json_t *schema_object(struct build *b, const struct http_schema *d, json_t *schemas)
{
    if (!d->props) {
        json_t *s = d->type ? type_schema(b, d->type) : NULL;
        if (s && d->description)
            put(b, s, "description", json_string(d->description));
        return s ? s : fail(b, "schema %s has neither type nor properties", d->name);
    }
    json_t *s = json_pack("{s:s, s:{}, s:[]}", "type", "object", "properties", "required");
    if (!s)
        return fail(b, "out of memory");
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    if (d->base) {
        json_t *base = json_object_get(schemas, d->base);
        if (!base || !json_object_get(base, "properties")) {
            json_decref(s);
            return fail(b, "schema %s: base %s must be an object schema defined before it", d->name, d->base);
        }
        json_object_update(props, json_object_get(base, "properties"));
        json_array_extend(req, json_object_get(base, "required"));
    }
    for (const struct http_schema_prop *p = d->props; !b->failed && p->name; p++) {
        json_t *ps = type_schema(b, p->type);
        if (ps && p->description)
            put(b, ps, "description", json_string(p->description));
        put(b, props, p->name, ps);
        if (!p->optional && json_array_append_new(req, json_string(p->name)) != 0)
            fail(b, "out of memory");
    }
    if (d->description)
        put(b, s, "description", json_string(d->description));
    if (b->failed) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *components(struct build *b)
{
    json_t *c = json_pack("{s:{}, s:{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}}", "schemas",
                          "securitySchemes", "bearerAuth", "type", "http", "scheme", "bearer",
                          "bearerFormat", "JWT or opshub API token",
                          "description", "An access token from POST /api/v1/auth/login, or an API token",
                          "cookieAuth", "type", "apiKey", "in", "cookie", "name", "opshub_session",
                          "description", "The browser session of a login with cookie true; POST, PUT, "
                          "PATCH and DELETE also need X-CSRF-Token");
    if (!c)
        return fail(b, "out of memory");
    json_t *schemas = json_object_get(c, "schemas");
    for (size_t i = 0; !b->failed && i < b->src->n_schemas; i++) {
        const struct http_schema *d = &b->src->schemas[i];
        if (json_object_get(schemas, d->name))
            fail(b, "schema %s is defined twice", d->name);
        else
            put(b, schemas, d->name, schema_object(b, d, schemas));
    }
    if (b->failed) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static const struct http_route_param *doc_param_find(const struct http_route_doc *d, const char *in,
                                                     const char *name, size_t len)
{
    for (const struct http_route_param *p = d->params; p && p->name; p++)
        if (!strcmp(p->in, in) && strlen(p->name) == len && !strncmp(p->name, name, len))
            return p;
    return NULL;
}

static json_t *param_object(struct build *b, const char *name, size_t len, const char *in,
                            const char *type, const char *description, bool required)
{
    json_t *schema = type_schema(b, type);
    json_t *o = schema ? json_pack("{s:s%, s:s, s:b, s:o}", "name", name, len, "in", in,
                                   "required", required, "schema", schema)
                       : NULL;
    if (o && description)
        put(b, o, "description", json_string(description));
    return o ? o : fail(b, "out of memory");
}

/* Path parameters from the pattern's {x} captures (refined by the doc's
 * "path" entries), then the doc's query parameters. */
static json_t *parameters(struct build *b, const struct http_route *r)
{
    const struct http_route_doc *d = &r->doc;
    json_t *list = json_array();
    if (!list)
        return fail(b, "out of memory");
    for (const char *s = strchr(b->path, '{'); !b->failed && s; s = strchr(s + 1, '{')) {
        const char *end = strchr(s, '}');
        if (!end)
            break;
        const struct http_route_param *p = doc_param_find(d, "path", s + 1, (size_t)(end - s - 1));
        if (json_array_append_new(list, param_object(b, s + 1, (size_t)(end - s - 1), "path",
                                                     p ? p->type : "string", p ? p->description : NULL,
                                                     true)) != 0)
            fail(b, "out of memory");
    }
    for (const struct http_route_param *p = d->params; !b->failed && p && p->name; p++) {
        if (!strcmp(p->in, "path")) {
            char capture[140];
            snprintf(capture, sizeof(capture), "{%s}", p->name);
            if (!strstr(b->path, capture))
                fail(b, "%s %s documents path parameter '%s' that the pattern lacks", r->method, r->pattern,
                     p->name);
        } else if (!strcmp(p->in, "query")) {
            if (json_array_append_new(list, param_object(b, p->name, strlen(p->name), "query",
                                                         p->type, p->description, p->required)) != 0)
                fail(b, "out of memory");
        } else {
            fail(b, "%s %s: parameter '%s' has unknown location '%s'", r->method, r->pattern, p->name, p->in);
        }
    }
    if (b->failed) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static json_t *response_object(struct build *b, const char *schema, const char *description)
{
    json_t *o = json_pack("{s:s}", "description", description ? description : "");
    if (!o || !schema)
        return o ? o : fail(b, "out of memory");
    if (strchr(schema, '/'))  /* a media type: the body is a string of that type */
        put(b, o, "content", json_pack("{s:{s:{s:s}}}", schema, "schema", "type", "string"));
    else
        put(b, o, "content", json_pack("{s:{s:o}}", "application/json", "schema", ref_to(schema)));
    return o;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The doc's responses plus 400/415 (routes with a body), 401/403
 * (protected routes) and 429 (/api/v1), in status order; the doc's own
 * description wins. */
static json_t *responses(struct build *b, const struct http_route *r)
{
    const struct http_route_doc *d = &r->doc;
    static const struct http_route_response common[] = {
        {400, "Error", "Malformed JSON or an invalid field (field names it)"},
        {415, "Error", "The body is not application/json"},
        {401, "Error", "Missing, malformed, expired or revoked credentials (code unauthorized)"},
        {403, "Error", "Authenticated, but the role is below x-min-role (code forbidden), or by the session "
         "cookie without its X-CSRF-Token on POST, PUT, PATCH or DELETE (code csrf)"},
        {429, "Error", "Rate limited (code rate_limited); Retry-After says when to retry"},
    };
    const struct http_route_response *all[32];
    size_t n = 0;
    for (const struct http_route_response *x = d->responses; x && x->status; x++) {
        if (n == 27)
            return fail(b, "%s %s documents too many responses", r->method, r->pattern);
        all[n++] = x;
    }
    if (n == 0)
        return fail(b, "%s %s documents no response", r->method, r->pattern);
    bool api = strncmp(b->path, "/api/v1/", 8) == 0;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        bool wanted = common[i].status == 429 ? api
                    : common[i].status < 401 || common[i].status > 403 ? d->body != NULL
                    : r->min_role != AUTH_ROLE_PUBLIC;
        bool have = false;
        for (size_t j = 0; j < n; j++)
            have = have || all[j]->status == common[i].status;
        if (wanted && !have)
            all[n++] = &common[i];
    }
    int order[32];
    for (size_t i = 0; i < n; i++)
        order[i] = all[i]->status * 64 + (int)i;
    qsort(order, n, sizeof(order[0]), cmp_int);
    json_t *o = json_object();
    for (size_t i = 0; o && !b->failed && i < n; i++) {
        const struct http_route_response *x = all[order[i] % 64];
        char status[8];
        snprintf(status, sizeof(status), "%d", x->status);
        if (x->status < 100 || x->status > 599 || json_object_get(o, status)) {
            fail(b, "%s %s: response status %d is invalid or listed twice", r->method, r->pattern, x->status);
            break;
        }
        json_t *resp = response_object(b, x->schema, x->description);
        if (resp && x->status == 429)
            put(b, resp, "headers", json_pack("{s:{s:s, s:{s:s}}}", "Retry-After", "description",
                                              "Seconds until a request is allowed again",
                                              "schema", "type", "integer"));
        put(b, o, status, resp);
    }
    if (!o || b->failed) {
        json_decref(o);
        return o ? NULL : fail(b, "out of memory");
    }
    return o;
}

/* "get_api_v1_checks_id_samples" */
static void operation_id(const char *method, const char *pattern, char *out, size_t n)
{
    size_t o = 0;
    for (const char *s = method; *s && o + 1 < n; s++)
        out[o++] = (char)tolower((unsigned char)*s);
    for (const char *s = pattern; *s && o + 1 < n; s++) {
        char c = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '_';
        if (c != '_' || o == 0 || out[o - 1] != '_')
            out[o++] = c;
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
}

static json_t *operation(struct build *b, const struct http_route *r, json_t *op_ids)
{
    const struct http_route_doc *d = &r->doc;
    char op_id[200];
    operation_id(r->method, b->path, op_id, sizeof(op_id));
    if (json_object_get(op_ids, op_id))
        return fail(b, "route %s %s: operationId %s is taken by another route", r->method, r->pattern, op_id);
    put(b, op_ids, op_id, json_true());
    json_t *op = json_pack("{s:[s], s:s, s:s, s:s}", "tags", d->tag, "summary", d->summary,
                           "operationId", op_id, "x-min-role", auth_role_name(r->min_role));
    if (!op)
        return fail(b, "out of memory");
    if (d->description)
        put(b, op, "description", json_string(d->description));
    if (r->min_role != AUTH_ROLE_PUBLIC)
        put(b, op, "security", json_pack("[{s:[]}, {s:[]}]", "bearerAuth", "cookieAuth"));
    if (r->rate_class)
        put(b, op, "x-rate-limit", json_string(r->rate_class));
    json_t *params = parameters(b, r);
    if (params && json_array_size(params) > 0)
        put(b, op, "parameters", params);
    else
        json_decref(params);
    if (d->body)
        put(b, op, "requestBody", json_pack("{s:b, s:{s:{s:o}}}", "required", !d->body_optional,
                                            "content", "application/json", "schema", ref_to(d->body)));
    put(b, op, "responses", responses(b, r));
    if (b->failed) {
        json_decref(op);
        return NULL;
    }
    return op;
}

/* Fails on any "$ref" that names no component schema. */
static void check_refs(struct build *b, json_t *v, json_t *schemas, const char *where)
{
    const char *key;
    json_t *child;
    size_t i;
    if (b->failed)
        return;
    if (json_is_object(v)) {
        json_t *ref = json_object_get(v, "$ref");
        const char *prefix = "#/components/schemas/";
        if (ref && (!json_is_string(ref) || strncmp(json_string_value(ref), prefix, strlen(prefix)) ||
                    !json_object_get(schemas, json_string_value(ref) + strlen(prefix)))) {
            fail(b, "%s refers to undefined schema %.100s", where,
                 json_is_string(ref) ? json_string_value(ref) : "?");
            return;
        }
        json_object_foreach(v, key, child)
            check_refs(b, child, schemas, where);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            check_refs(b, child, schemas, where);
    }
}

static json_t *tags(struct build *b, json_t *paths)
{
    json_t *list = json_array();
    for (size_t i = 0; list && !b->failed && i < b->src->n_tags; i++) {
        const struct http_route_tag *t = &b->src->tags[i];
        const char *path;
        json_t *item, *op;
        bool used = false;
        json_object_foreach(paths, path, item) {
            const char *method;
            json_object_foreach(item, method, op)
                used = used || !strcmp(json_string_value(json_array_get(json_object_get(op, "tags"), 0)),
                                       t->name);
        }
        if (used && json_array_append_new(list, json_pack("{s:s, s:s}", "name", t->name,
                                                          "description", t->description)) != 0)
            fail(b, "out of memory");
    }
    return list ? list : fail(b, "out of memory");
}

/* The pattern as an OpenAPI path: a prefix route's "{path*}" is the path
 * parameter "{path}" (its description says it spans segments). */
static int openapi_path(const char *pattern, char *out, size_t n)
{
    size_t o = 0;
    if (!pattern || pattern[0] != '/')
        return -1;
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '*' && p[1] == '}')
            continue;
        if (o + 1 >= n)
            return -1;
        out[o++] = *p;
    }
    out[o] = '\0';
    return 0;
}

static bool tag_known(const struct http_openapi_src *src, const char *tag)
{
    for (size_t i = 0; i < src->n_tags; i++)
        if (strcmp(src->tags[i].name, tag) == 0)
            return true;
    return false;
}

static const char info_description[] =
    "The opshub HTTP API (docs/api.md is the prose contract). JSON everywhere. Errors are "
    "{\"error\":{\"code\",\"message\",\"field\"?}} with a fitting 4xx/5xx status. Times are ISO 8601 "
    "UTC strings with milliseconds (ts, *_at); ts_ms is unix milliseconds. Routes under /api/v1 "
    "need Authorization: Bearer <token> unless their x-min-role is public; x-min-role is the "
    "lowest role (viewer < operator < admin) allowed. Every answer carries X-Request-Id.";

json_t *http_openapi_build(const struct http_openapi_src *src, const char *version, char *errbuf,
                           size_t errlen)
{
    struct build b = {.err = errbuf, .errlen = errlen, .src = src};
    if (errbuf && errlen)
        errbuf[0] = '\0';
    json_t *op_ids = json_object();
    json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[], s:{}}", "openapi", "3.1.0", "info",
                            "title", "opshub API", "version", version ? version : "0",
                            "description", info_description, "tags", "paths");
    if (!doc || !op_ids) {
        fail(&b, "out of memory");
        goto fail;
    }
    json_t *paths = json_object_get(doc, "paths");
    if (!put(&b, doc, "components", components(&b)))
        goto fail;
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    check_refs(&b, schemas, schemas, "components.schemas");
    for (size_t i = 0; i < src->n_routes && !b.failed; i++) {
        const struct http_route *r = &src->routes[i];
        const struct http_route_doc *d = &r->doc;
        if (!d->summary || !d->summary[0] || !d->tag || !d->tag[0]) {
            fail(&b, "route %s %s has no summary or tag", r->method, r->pattern);
            break;
        }
        if (!tag_known(src, d->tag)) {
            fail(&b, "route %s %s: tag %.40s is not in the tag list", r->method, r->pattern, d->tag);
            break;
        }
        if (openapi_path(r->pattern, b.path, sizeof(b.path)) != 0) {
            fail(&b, "route %s %s: the pattern is not a path", r->method, r->pattern);
            break;
        }
        if (!json_object_get(paths, b.path) && !put(&b, paths, b.path, json_object()))
            break;
        json_t *item = json_object_get(paths, b.path);
        char method[16];
        operation_id(r->method, "", method, sizeof(method));
        if (json_object_get(item, method)) {
            fail(&b, "route %s %s is listed twice", r->method, r->pattern);
            break;
        }
        json_t *op = operation(&b, r, op_ids);
        char where[300];
        snprintf(where, sizeof(where), "route %s %s", r->method, r->pattern);
        check_refs(&b, op, schemas, where);
        put(&b, item, method, op);
    }
    if (!b.failed)
        put(&b, doc, "tags", tags(&b, paths));
    if (b.failed)
        goto fail;
    json_decref(op_ids);
    return doc;
fail:
    json_decref(op_ids);
    json_decref(doc);
    return NULL;
}

/* ---- HTML rendering ---- */

static int esc_n(struct base_buf *o, const char *s, size_t n)
{
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *rep = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
                        : s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&#39;" : NULL;
        if (!rep)
            continue;
        rc = base_buf_append(o, s + start, i - start);
        if (rc == 0)
            rc = base_buf_append_str(o, rep);
        start = i + 1;
    }
    return rc ? rc : base_buf_append(o, s + start, n - start);
}

static int esc(struct base_buf *o, const char *s)
{
    return s ? esc_n(o, s, strlen(s)) : 0;
}

static int raw(struct base_buf *o, const char *s)
{
    return base_buf_append_str(o, s);
}

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A schema as words: a link for a $ref, "array of X", "one of a, b". */
static int type_text(struct base_buf *o, const json_t *s)
{
    const char *ref = str_at(s, "$ref");
    const char *prefix = "#/components/schemas/";
    int rc = 0;
    size_t i;
    json_t *v;
    if (ref && strncmp(ref, prefix, strlen(prefix)) == 0) {
        ref += strlen(prefix);
        rc |= raw(o, "<a href=\"#schema-");
        rc |= esc(o, ref);
        rc |= raw(o, "\">");
        rc |= esc(o, ref);
        return rc | raw(o, "</a>");
    }
    if (json_object_get(s, "anyOf")) {
        json_array_foreach(json_object_get(s, "anyOf"), i, v) {
            rc |= i ? raw(o, " or ") : 0;
            rc |= type_text(o, v);
        }
        return rc;
    }
    json_t *type = json_object_get(s, "type");
    if (json_object_get(s, "enum")) {
        rc |= raw(o, "one of ");
        json_array_foreach(json_object_get(s, "enum"), i, v) {
            rc |= i ? raw(o, ", ") : 0;
            rc |= raw(o, "<code>");
            rc |= esc(o, json_is_null(v) ? "null" : json_string_value(v));
            rc |= raw(o, "</code>");
        }
        return rc;
    }
    if (json_is_string(type) && !strcmp(json_string_value(type), "array")) {
        rc |= raw(o, "array of ");
        return rc | type_text(o, json_object_get(s, "items"));
    }
    if (json_is_array(type)) {
        json_array_foreach(type, i, v) {
            rc |= i ? raw(o, " or ") : 0;
            rc |= esc(o, json_string_value(v));
        }
    } else {
        rc |= esc(o, json_is_string(type) ? json_string_value(type) : "any");
    }
    if (str_at(s, "format")) {
        rc |= raw(o, " (");
        rc |= esc(o, str_at(s, "format"));
        rc |= raw(o, ")");
    }
    return rc;
}

static int td_text(struct base_buf *o, const char *s, bool code)
{
    int rc = raw(o, code ? "<td><code>" : "<td>");
    rc |= esc(o, s);
    return rc | raw(o, code ? "</code></td>" : "</td>");
}

static int op_row(struct base_buf *o, const char *path, const char *method, const json_t *op)
{
    char upper[16];
    size_t i;
    json_t *v;
    const char *key;
    for (i = 0; method[i] && i + 1 < sizeof(upper); i++)
        upper[i] = (char)toupper((unsigned char)method[i]);
    upper[i] = '\0';
    int rc = raw(o, "<tr>");
    rc |= td_text(o, upper, true);
    rc |= raw(o, "<td id=\"op-");
    rc |= esc(o, str_at(op, "operationId"));
    rc |= raw(o, "\"><code>");
    rc |= esc(o, path);
    rc |= raw(o, "</code></td>");
    rc |= td_text(o, str_at(op, "x-min-role"), false);
    rc |= raw(o, "<td>");
    rc |= esc(o, str_at(op, "summary"));
    if (str_at(op, "description")) {
        rc |= raw(o, "<br>");
        rc |= esc(o, str_at(op, "description"));
    }
    rc |= raw(o, "</td><td>");
    json_t *params = json_object_get(op, "parameters");
    rc |= raw(o, json_array_size(params) ? "<ul>" : "none");
    json_array_foreach(params, i, v) {
        rc |= raw(o, "<li><code>");
        rc |= esc(o, str_at(v, "name"));
        rc |= raw(o, "</code> (");
        rc |= esc(o, str_at(v, "in"));
        rc |= raw(o, ", ");
        rc |= type_text(o, json_object_get(v, "schema"));
        rc |= raw(o, json_is_true(json_object_get(v, "required")) ? ", required)" : ")");
        if (str_at(v, "description")) {
            rc |= raw(o, ": ");
            rc |= esc(o, str_at(v, "description"));
        }
        rc |= raw(o, "</li>");
    }
    rc |= raw(o, json_array_size(params) ? "</ul></td><td>" : "</td><td>");
    json_t *body = json_object_get(op, "requestBody");
    if (body) {
        json_t *media = json_object_get(json_object_get(body, "content"), "application/json");
        rc |= type_text(o, json_object_get(media, "schema"));
        rc |= raw(o, json_is_true(json_object_get(body, "required")) ? "" : " (optional)");
    } else {
        rc |= raw(o, "none");
    }
    rc |= raw(o, "</td><td><ul>");
    json_object_foreach((json_t *)json_object_get(op, "responses"), key, v) {
        rc |= raw(o, "<li>");
        rc |= esc(o, key);
        json_t *content = json_object_get(v, "content");
        const char *media;
        json_t *m;
        json_object_foreach(content, media, m) {
            rc |= raw(o, " ");
            rc |= !strcmp(media, "application/json") ? type_text(o, json_object_get(m, "schema")) : esc(o, media);
        }
        rc |= raw(o, ": ");
        rc |= esc(o, str_at(v, "description"));
        rc |= raw(o, "</li>");
    }
    return rc | raw(o, "</ul></td></tr>\n");
}

static int schema_section(struct base_buf *o, const char *name, const json_t *s)
{
    int rc = raw(o, "<h3 id=\"schema-");
    rc |= esc(o, name);
    rc |= raw(o, "\">");
    rc |= esc(o, name);
    rc |= raw(o, "</h3>\n");
    if (str_at(s, "description")) {
        rc |= raw(o, "<p>");
        rc |= esc(o, str_at(s, "description"));
        rc |= raw(o, "</p>\n");
    }
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    if (!props) {
        rc |= raw(o, "<p>");
        rc |= type_text(o, s);
        return rc | raw(o, "</p>\n");
    }
    rc |= raw(o, "<table><thead><tr><th scope=\"col\">Property</th><th scope=\"col\">Type</th>"
                 "<th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>\n");
    const char *key;
    json_t *p, *r;
    size_t i;
    json_object_foreach(props, key, p) {
        bool required = false;
        json_array_foreach(req, i, r)
            required = required || !strcmp(json_string_value(r), key);
        rc |= raw(o, "<tr>");
        rc |= td_text(o, key, true);
        rc |= raw(o, "<td>");
        rc |= type_text(o, p);
        rc |= raw(o, "</td>");
        rc |= td_text(o, required ? "yes" : "no", false);
        rc |= td_text(o, str_at(p, "description"), false);
        rc |= raw(o, "</tr>\n");
    }
    return rc | raw(o, "</tbody></table>\n");
}

char *http_openapi_render_html(const json_t *doc, size_t *len)
{
    struct base_buf o;
    base_buf_init(&o, HTTP_OPENAPI_HTML_MAX);
    const json_t *info = json_object_get(doc, "info");
    int rc = raw(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    rc |= esc(&o, str_at(info, "title"));
    rc |= raw(&o, " ");
    rc |= esc(&o, str_at(info, "version"));
    rc |= raw(&o, "</title>\n</head>\n<body>\n<header>\n<h1>");
    rc |= esc(&o, str_at(info, "title"));
    rc |= raw(&o, "</h1>\n<p>Version ");
    rc |= esc(&o, str_at(info, "version"));
    rc |= raw(&o, ". The machine-readable OpenAPI ");
    rc |= esc(&o, str_at(doc, "openapi"));
    rc |= raw(&o, " document: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>\n<p>");
    rc |= esc(&o, str_at(info, "description"));
    rc |= raw(&o, "</p>\n</header>\n<main>\n<section>\n<h2>Operations</h2>\n<table>\n<thead><tr>"
                  "<th scope=\"col\">Method</th><th scope=\"col\">Path</th><th scope=\"col\">Min role</th>"
                  "<th scope=\"col\">Summary</th><th scope=\"col\">Parameters</th>"
                  "<th scope=\"col\">Request body</th><th scope=\"col\">Responses</th></tr></thead>\n<tbody>\n");
    const char *path, *method, *name;
    json_t *item, *op, *s;
    json_object_foreach((json_t *)json_object_get(doc, "paths"), path, item)
        json_object_foreach(item, method, op)
            rc |= op_row(&o, path, method, op);
    rc |= raw(&o, "</tbody>\n</table>\n</section>\n<section>\n<h2>Schemas</h2>\n");
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "schemas"), name, s)
        rc |= schema_section(&o, name, s);
    rc |= raw(&o, "</section>\n</main>\n</body>\n</html>\n");
    if (rc != 0) {
        base_buf_free(&o);
        return NULL;
    }
    return base_buf_take(&o, len);
}
