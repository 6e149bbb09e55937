/*
 * http/schemas: the component schemas of the OpenAPI document (request
 * and response bodies), declared as data in schemas.c and rendered by
 * http/openapi. Property types use the type specs of http/route.h.
 */
#ifndef HTTP_SCHEMAS_H
#define HTTP_SCHEMAS_H

#include "conf/conf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct http_schema_prop {
    const char *name;
    const char *type;          /* a type spec (struct http_route_param) */
    const char *description;
    bool optional;             /* not in "required" */
};

struct http_schema {
    const char *name;
    const char *description;
    const char *type;          /* for a schema without properties (an enum, "object") */
    const char *base;          /* copy this earlier schema's properties first */
    const struct http_schema_prop *props;  /* until name == NULL */
};

#define HTTP_SCHEMA_PROPS(...) ((const struct http_schema_prop[]){__VA_ARGS__, {NULL, NULL, NULL, false}})

/* Every component, in document order. */
extern const struct http_schema http_schemas[];
extern const size_t http_schemas_n;

/* Rewrites, in a built document, what depends on the check types: the
 * type enum of Check and CheckDefinition, and CheckDefinition's properties
 * (the common fields and every type's, with their docs). 0, or
 * BASE_ERR_INVALID (no such schemas) / BASE_ERR_NOMEM. */
int http_schemas_for_types(json_t *doc, const struct conf_check_types *types);

#endif
