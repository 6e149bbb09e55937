/*
 * http/router: maps method + path pattern ("/api/v1/checks/{id}/samples") to
 * a handler with the captured parameters. A route table is built once and
 * is immutable while serving. Matching is exact per segment; "{name}"
 * captures one non-empty segment (a segment longer than 127 bytes does not
 * match). A last segment "{name*}" makes a prefix route: it captures the
 * rest of the path, one or more non-empty segments with their slashes
 * ("/assets/{path*}" takes "/assets/js/app.js" with path = "js/app.js").
 * "{name}.ext" captures a segment that ends in the literal ".ext", without
 * it (non-empty); such a route wins over "{name}" in the same place.
 * An exact route wins over a prefix route, a longer prefix over a shorter
 * one, whatever their order in the table. The path is matched as given:
 * the server has already percent-decoded it, so the router does not decode
 * again. No trailing-slash folding: "/a/" does not match "/a". A path of
 * more than 32 segments matches nothing. HEAD falls back to a GET route.
 * Unknown path -> 404, known path with another method -> 405 with Allow.
 */
#ifndef HTTP_ROUTER_H
#define HTTP_ROUTER_H

#include "http/route.h"
#include "http/server.h"

#include <stddef.h>

#define HTTP_ROUTER_MAX_PARAMS 8

struct http_params {
    size_t n;               /* the "{name}" captures */
    struct {
        const char *name;   /* owned by the router, valid while it lives */
        char value[128];    /* the segment as in the (server-decoded) path */
    } items[HTTP_ROUTER_MAX_PARAMS];
    /* The "{name*}" capture of a prefix route, else both NULL: rest is the
     * tail of the matched path itself (borrowed: valid while that path is),
     * with no leading slash. */
    const char *rest_name;
    const char *rest;
};

enum http_router_match { HTTP_ROUTER_FOUND, HTTP_ROUTER_NOT_FOUND, HTTP_ROUTER_BAD_METHOD };

struct http_router;

/* Builds a router over `routes` (borrowed, must outlive the router): it
 * reads method, pattern and handler. NULL on OOM or an invalid pattern. */
struct http_router *http_router_new(const struct http_route *routes, size_t n);
void http_router_destroy(struct http_router *r);
/* Finds the route; on BAD_METHOD `allow` gets "GET, POST" etc. */
enum http_router_match http_router_match(const struct http_router *r, const char *method,
                                         const char *path, const struct http_route **route,
                                         struct http_params *params, char *allow, size_t allow_len);
/* The value captured as `name` ("{name}" or "{name*}"), NULL when none. */
const char *http_params_get(const struct http_params *p, const char *name);

#endif
