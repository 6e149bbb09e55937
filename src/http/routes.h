/*
 * http/routes: the route table of opshub (routes.c), one entry per route
 * with its access rules, audit action and documentation (http/route.h).
 * Immutable; read by http/api (router, access middleware, audit) and by
 * the OpenAPI document.
 */
#ifndef HTTP_ROUTES_H
#define HTTP_ROUTES_H

#include "http/route.h"

#include <stddef.h>

/* Every route, in registration (and document) order. */
extern const struct http_route http_routes[];
extern const size_t http_routes_n;

/* The tags the routes' documents name, in document order. */
extern const struct http_route_tag http_routes_tags[];
extern const size_t http_routes_n_tags;

#endif
