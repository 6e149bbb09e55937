/*
 * http/route: the shape of one HTTP route, declared once in http/routes.c.
 * One entry says everything about a route: what the router matches
 * (method, pattern, handler), what the access middleware in http/api
 * enforces (minimum role, rate class), what the audit log records for a
 * mutation (audit action) and what the OpenAPI document says (tag,
 * summary, description, parameters, request body, responses). Types only:
 * the router, api.c and openapi.c read entries, none of them owns one.
 */
#ifndef HTTP_ROUTE_H
#define HTTP_ROUTE_H

#include "auth/role.h"

#include <stdbool.h>

struct http_request;
struct http_params;

typedef void (*http_route_cb)(void *app, struct http_request *req, const struct http_params *params);

/* The rate class of login and refresh: server.login_rate_limit (per
 * address, default 10/min) instead of server.rate_limit. */
#define HTTP_ROUTE_RATE_LOGIN "login"

/* Type specs (parameters and schema properties): "string", "integer",
 * "number", "boolean", "date-time", "duration", "object", "map" (object of
 * strings), "numbers" (object of numbers), "enum:a,b,c", a component name ("Sample", see http/schemas),
 * "[]X" for an array of X; a trailing '?' makes the value nullable. */
struct http_route_param {
    const char *name;
    const char *in;            /* "query" or "path" (path ones only refine the pattern's) */
    const char *type;
    const char *description;
    bool required;
};

struct http_route_response {
    int status;
    const char *schema;        /* a component name; a media type such as "text/plain" or
                                * the range of every type (a string body); NULL: no body */
    const char *description;
};

/* The route's OpenAPI operation. Path parameters come from the pattern;
 * security, x-min-role, x-rate-limit and the generic 400/415/401/403/429
 * answers from the route itself (http/openapi adds them). */
struct http_route_doc {
    const char *tag;           /* one of http_routes_tags */
    const char *summary;       /* one line */
    const char *description;   /* beyond the summary; may be NULL */
    const struct http_route_param *params;       /* until name == NULL; may be NULL */
    const char *body;          /* request body component, or NULL */
    bool body_optional;
    const struct http_route_response *responses; /* until status == 0 */
};

struct http_route {
    const char *method;
    /* "/api/v1/checks/{id}": "{name}" captures one segment; a last segment
     * "{name*}" captures the rest of the path (see http/router). */
    const char *pattern;
    enum auth_role min_role;   /* AUTH_ROLE_PUBLIC: no authentication (enforced by http/api) */
    /* Per-route override of server.rate_limit: a rate ("10/min") or a
     * class (HTTP_ROUTE_RATE_LOGIN); NULL = the default. */
    const char *rate_class;
    http_route_cb handler;
    /* The audit log's action ("check.create") for a mutating route (any
     * method but GET/HEAD/OPTIONS: tests/http/test_routes.c holds every
     * such route to having one); NULL for reads. */
    const char *audit_action;
    struct http_route_doc doc;
    /* A POST that only reads (the Prometheus API takes long queries as a
     * form body): no audit row, and test_routes does not count it as a
     * mutation. A cookie-authenticated one still needs X-CSRF-Token. */
    bool read_only;
};

/* A group of operations in the document. */
struct http_route_tag {
    const char *name;
    const char *description;
};

/* Terminated arrays for the doc fields of a table entry. */
#define HTTP_ROUTE_PARAMS(...) ((const struct http_route_param[]){__VA_ARGS__, {NULL, NULL, NULL, NULL, false}})
#define HTTP_ROUTE_RESPONSES(...) ((const struct http_route_response[]){__VA_ARGS__, {0, NULL, NULL}})

#endif
