/*
 * fuzz_router: matches random methods and paths against a fixed route
 * table (and, from the input's tail, a random pattern compiled as a route)
 * and checks the invariants: FOUND fills route and params from the path,
 * BAD_METHOD fills Allow, parameter values are within their slot, a prefix
 * route's rest is a non-empty tail of the path with no empty segment.
 */
#include "http/router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void h(void *app, struct http_request *req, const struct http_params *p)
{
    (void)app;
    (void)req;
    (void)p;
}

static const struct http_route routes[] = {
    {.method = "GET", .pattern = "/", .handler = h},
    {.method = "GET", .pattern = "/healthz", .handler = h},
    {.method = "GET", .pattern = "/api/v1/checks", .handler = h},
    {.method = "POST", .pattern = "/api/v1/checks", .handler = h},
    {.method = "GET", .pattern = "/api/v1/checks/{id}", .handler = h},
    {.method = "GET", .pattern = "/api/v1/checks/{id}/samples", .handler = h},
    {.method = "POST", .pattern = "/api/v1/checks/{id}/run", .handler = h},
    {.method = "DELETE", .pattern = "/api/v1/{kind}/{id}", .handler = h},
    {.method = "GET", .pattern = "/assets/{path*}", .handler = h},
    {.method = "GET", .pattern = "/{kind}/x/{path*}", .handler = h},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_router *r;
    if (!r && !(r = http_router_new(routes, sizeof(routes) / sizeof(routes[0]))))
        abort();
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    /* "METHOD PATH\nPATTERN" */
    char *path = strchr(s, ' ');
    char *pattern = path ? strchr(path + 1, '\n') : NULL;
    if (path)
        *path++ = '\0';
    if (pattern)
        *pattern++ = '\0';
    const char *method = path ? s : "GET";
    if (!path)
        path = s;
    const struct http_route *route;
    struct http_params p;
    char allow[32];
    enum http_router_match m = http_router_match(r, method, path, &route, &p, allow, sizeof(allow));
    if (m == HTTP_ROUTER_FOUND) {
        if (!route || p.n > HTTP_ROUTER_MAX_PARAMS)
            abort();
        for (size_t i = 0; i < p.n; i++)
            if (strlen(p.items[i].value) == 0 || !strstr(path, p.items[i].value) ||
                http_params_get(&p, p.items[i].name) == NULL)
                abort();
        if (!p.rest_name != !p.rest)
            abort();
        if (p.rest) {
            size_t plen = strlen(path), rlen = strlen(p.rest);
            if (rlen == 0 || rlen >= plen || p.rest != path + plen - rlen || p.rest[-1] != '/' ||
                strstr(p.rest, "//") || p.rest[rlen - 1] == '/' || http_params_get(&p, p.rest_name) != p.rest)
                abort();
        }
    } else if (m == HTTP_ROUTER_BAD_METHOD) {
        if (route || allow[0] == '\0')
            abort();
    } else if (route || allow[0] != '\0') {
        abort();
    }
    if (pattern) {
        struct http_route one = {.method = method[0] ? method : "GET", .pattern = pattern, .handler = h};
        struct http_router *r2 = http_router_new(&one, 1);
        if (r2) {
            /* A pattern must match itself when it has no parameters. */
            if (!strchr(pattern, '{') && !strchr(pattern, '*') &&
                http_router_match(r2, one.method, pattern, &route, &p, allow, sizeof(allow)) != HTTP_ROUTER_FOUND)
                abort();
            http_router_match(r2, method, path, &route, &p, allow, sizeof(allow));
            http_router_destroy(r2);
        }
    }
    free(s);
    return 0;
}
