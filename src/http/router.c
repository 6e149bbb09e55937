/*
 * http/router: method + path-pattern matching over an immutable route table.
 * Patterns are split into segments once at http_router_new (literal,
 * "{name}", or a last "{name*}" taking the rest of the path); a lookup
 * splits the path into (pointer, length) pairs and compares segment by
 * segment, so matching allocates nothing. Routes with a rest capture are
 * kept after the others (longest prefix first), so an exact route always
 * wins over a prefix. The router owns its pre-split segments and parameter
 * names; it never owns the handlers or the route array, and it never
 * decodes: the server has already percent-decoded the path it hands over
 * (decoding again would turn "%2525" into "%").
 */
#include "http/router.h"

#include "base/alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 32
#define MAX_PATH 8192

struct segment {
    char *text;  /* literal text, or the parameter name when is_param */
    size_t len;
    bool is_param;
    char *suffix; /* "{id}.ics": a parameter followed by literal text in its segment, or NULL */
    size_t suffix_len;
};

struct compiled_route {
    const struct http_route *route;
    struct segment *segs;
    size_t n_segs;
    bool has_rest;  /* the last segment is a "{name*}" capture */
    size_t n_suffixed; /* parameters with a literal suffix ("{id}.ics") */
};

struct http_router {
    struct compiled_route *routes;
    size_t n;
};

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* Splits "/a/{b}/c" into segments; "/" has none. Rejects empty segments
 * (and so trailing slashes), bad parameter names, repeated names and a
 * "{name*}" that is not the last segment. */
static int compile_pattern(const char *pattern, struct compiled_route *out)
{
    size_t n_params = 0;
    if (!pattern || pattern[0] != '/')
        return -1;
    size_t n = 0;
    for (const char *p = pattern; *p; p++)
        n += *p == '/';
    if (n > MAX_SEGMENTS)
        return -1;
    out->segs = base_calloc(n, sizeof(*out->segs));
    if (!out->segs)
        return -1;
    out->n_segs = 0;
    if (strcmp(pattern, "/") == 0)
        return 0;
    const char *p = pattern + 1;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return -1;
        struct segment *s = &out->segs[out->n_segs++];
        if (p[0] == '{') {
            /* "{name}.ext": the literal after the brace must end the segment */
            const char *close = memchr(p, '}', len);
            if (close && close < p + len - 1) {
                size_t sl = (size_t)(p + len - close - 1);
                if (memchr(close + 1, '{', sl) || memchr(close + 1, '}', sl) || memchr(close + 1, '*', sl))
                    return -1;
                s->suffix = base_strndup(close + 1, sl);
                if (!s->suffix)
                    return -1;
                s->suffix_len = sl;
                out->n_suffixed++;
                len = (size_t)(close - p) + 1;
            }
            bool rest = len >= 4 && p[len - 2] == '*';
            size_t name_len = len - 2 - rest;
            if (len < 3 || p[len - 1] != '}' || ++n_params > HTTP_ROUTER_MAX_PARAMS || (rest && (end || s->suffix)))
                return -1;
            for (size_t i = 1; i < 1 + name_len; i++)
                if (!is_name_char(p[i]))
                    return -1;
            s->is_param = true;
            out->has_rest = rest;
            s->text = base_strndup(p + 1, name_len);
            s->len = name_len;
            for (size_t i = 0; s->text && i + 1 < out->n_segs; i++)
                if (out->segs[i].is_param && strcmp(out->segs[i].text, s->text) == 0)
                    return -1;
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len) || memchr(p, '*', len))
                return -1;  /* '*' only in "{name*}": a literal one would read as a wildcard */
            s->text = base_strndup(p, len);
            s->len = len;
        }
        if (!s->text)
            return -1;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static void free_compiled(struct compiled_route *c)
{
    for (size_t i = 0; c->segs && i < c->n_segs; i++) {
        base_free(c->segs[i].text);
        base_free(c->segs[i].suffix);
    }
    base_free(c->segs);
}

/* Exact routes in table order (those with suffixed parameters first, so
 * "/r/{id}.ics" wins over "/r/{id}"), then prefix routes, the longest first. */
static int route_order(const void *pa, const void *pb)
{
    const struct compiled_route *a = pa, *b = pb;
    if (a->has_rest != b->has_rest)
        return a->has_rest ? 1 : -1;
    if (a->n_suffixed != b->n_suffixed)
        return a->n_suffixed > b->n_suffixed ? -1 : 1;
    if (a->has_rest && a->n_segs != b->n_segs)
        return a->n_segs > b->n_segs ? -1 : 1;
    return a->route < b->route ? -1 : a->route > b->route;
}

struct http_router *http_router_new(const struct http_route *routes, size_t n)
{
    struct http_router *r = base_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->routes = base_calloc(n ? n : 1, sizeof(*r->routes));
    if (!r->routes)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        r->n = i + 1;
        r->routes[i].route = &routes[i];
        if (!routes[i].method || !routes[i].method[0] || !routes[i].handler)
            goto fail;
        if (compile_pattern(routes[i].pattern, &r->routes[i]) != 0)
            goto fail;
    }
    qsort(r->routes, r->n, sizeof(*r->routes), route_order);
    return r;
fail:
    http_router_destroy(r);
    return NULL;
}

void http_router_destroy(struct http_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->routes && i < r->n; i++)
        free_compiled(&r->routes[i]);
    base_free(r->routes);
    base_free(r);
}

struct path_segs {
    const char *p[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
    size_t n;
};

/* Splits a path into (pointer, length) segments without copying. An empty
 * segment (double or trailing slash) is kept so it can never match. */
static bool split_path(const char *path, struct path_segs *out)
{
    out->n = 0;
    if (!path || path[0] != '/')
        return false;
    if (path[1] == '\0')
        return true;
    const char *p = path + 1;
    for (;;) {
        if (out->n == MAX_SEGMENTS)
            return false;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        out->p[out->n] = p;
        out->len[out->n++] = len;
        if (!end)
            return true;
        p = end + 1;
    }
}

/* A rest capture takes the last segment and everything after it, every
 * segment non-empty; its value is the tail of the path itself. */
static bool rest_matches(const struct compiled_route *c, const struct path_segs *ps,
                         struct http_params *params)
{
    for (size_t i = c->n_segs - 1; i < ps->n; i++)
        if (ps->len[i] == 0)
            return false;
    if (params) {
        params->rest_name = c->segs[c->n_segs - 1].text;
        params->rest = ps->p[c->n_segs - 1];
    }
    return true;
}

static bool route_matches(const struct compiled_route *c, const struct path_segs *ps,
                          struct http_params *params)
{
    if (c->has_rest ? ps->n < c->n_segs : c->n_segs != ps->n)
        return false;
    if (params) {
        params->n = 0;
        params->rest_name = params->rest = NULL;
    }
    size_t fixed = c->n_segs - c->has_rest;
    for (size_t i = 0; i < fixed; i++) {
        const struct segment *s = &c->segs[i];
        if (!s->is_param) {
            if (s->len != ps->len[i] || memcmp(s->text, ps->p[i], s->len) != 0)
                return false;
            continue;
        }
        /* A parameter takes one non-empty segment; a value too long for
         * the fixed slot is no match rather than a silently cut id. */
        size_t vl = ps->len[i];
        if (s->suffix) {
            /* the value is what comes before the suffix, and not empty */
            if (vl <= s->suffix_len || memcmp(ps->p[i] + vl - s->suffix_len, s->suffix, s->suffix_len) != 0)
                return false;
            vl -= s->suffix_len;
        }
        if (vl == 0 || vl >= sizeof(params->items[0].value))
            return false;
        if (params) {
            params->items[params->n].name = s->text;
            memcpy(params->items[params->n].value, ps->p[i], vl);
            params->items[params->n].value[vl] = '\0';
            params->n++;
        }
    }
    return !c->has_rest || rest_matches(c, ps, params);
}

static void allow_add(char *allow, size_t allow_len, const char *method)
{
    if (!allow || allow_len == 0)
        return;
    size_t used = strlen(allow);
    size_t mlen = strlen(method);
    /* Skip duplicates: "GET" may be registered on the same pattern twice. */
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += mlen)
        if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
            return;
    size_t need = used + (used ? 2 : 0) + mlen;
    if (need + 1 > allow_len)
        return;
    if (used) {
        memcpy(allow + used, ", ", 2);
        used += 2;
    }
    memcpy(allow + used, method, mlen + 1);
}

enum http_router_match http_router_match(const struct http_router *r, const char *method,
                                         const char *path, const struct http_route **route,
                                         struct http_params *params, char *allow, size_t allow_len)
{
    struct path_segs ps;
    if (route)
        *route = NULL;
    if (params) {
        params->n = 0;
        params->rest_name = params->rest = NULL;
    }
    if (allow && allow_len)
        allow[0] = '\0';
    if (!r || !method || !split_path(path, &ps))
        return HTTP_ROUTER_NOT_FOUND;
    bool is_head = strcmp(method, "HEAD") == 0;
    const struct compiled_route *head_fallback = NULL;
    bool path_known = false, get_allowed = false, head_allowed = false;
    for (size_t i = 0; i < r->n; i++) {
        const struct compiled_route *c = &r->routes[i];
        if (!route_matches(c, &ps, NULL))
            continue;
        path_known = true;
        const char *m = c->route->method;
        if (strcmp(m, method) == 0) {
            route_matches(c, &ps, params);
            if (route)
                *route = c->route;
            return HTTP_ROUTER_FOUND;
        }
        /* HEAD is served by the GET handler (the server drops the body)
         * unless a route registers HEAD itself. */
        if (strcmp(m, "GET") == 0) {
            get_allowed = true;
            if (is_head && !head_fallback)
                head_fallback = c;
        }
        head_allowed |= strcmp(m, "HEAD") == 0;
        allow_add(allow, allow_len, m);
    }
    if (head_fallback) {
        route_matches(head_fallback, &ps, params);
        if (route)
            *route = head_fallback->route;
        return HTTP_ROUTER_FOUND;
    }
    if (!path_known)
        return HTTP_ROUTER_NOT_FOUND;
    if (get_allowed && !head_allowed)
        allow_add(allow, allow_len, "HEAD");
    if (params) {
        params->n = 0;
        params->rest_name = params->rest = NULL;
    }
    return HTTP_ROUTER_BAD_METHOD;
}

const char *http_params_get(const struct http_params *p, const char *name)
{
    for (size_t i = 0; p && name && i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return p->items[i].value;
    if (p && name && p->rest_name && strcmp(p->rest_name, name) == 0)
        return p->rest;
    return NULL;
}
