/*
 * http/openapi: renders a route table (struct http_route, each entry with
 * its documentation) and a list of component schemas as an OpenAPI 3.1
 * document, and that document as a self-contained HTML page (no script, no
 * style: the CSP default-src 'none' holds). Knows no route itself: what it
 * renders comes in as data. Pure functions; the caller owns the results.
 */
#ifndef HTTP_OPENAPI_H
#define HTTP_OPENAPI_H

#include "http/route.h"
#include "http/schemas.h"

#include <jansson.h>
#include <stddef.h>

/* What a document is built from; every array is borrowed for the call. */
struct http_openapi_src {
    const struct http_route *routes;
    size_t n_routes;
    const struct http_route_tag *tags;   /* listed when an operation uses them */
    size_t n_tags;
    const struct http_schema *schemas;   /* components.schemas, in this order */
    size_t n_schemas;
};

/* Builds the OpenAPI 3.1.0 document with info.version = version. Returns a
 * new reference (caller json_decref's it), or NULL with a message in errbuf
 * (NUL-terminated, truncated to errlen) naming the first route without a
 * summary, tag or response, with a tag not in src->tags, a route listed twice, a documented path
 * parameter its pattern lacks, a bad type spec, or a schema that is not
 * defined; or "out of memory". */
json_t *http_openapi_build(const struct http_openapi_src *src, const char *version, char *errbuf,
                           size_t errlen);

/* Renders doc (as built above) as a self-contained HTML page: a table of
 * operations with method, path, minimum role, summary, parameters and
 * responses, and a link to /api/v1/openapi.json. Every text is
 * HTML-escaped; no script, no style. Returns a NUL-terminated string the
 * caller frees with base_free (length in *len), or NULL on OOM or when the
 * page would exceed HTTP_OPENAPI_HTML_MAX. */
#define HTTP_OPENAPI_HTML_MAX (4u * 1024 * 1024)
char *http_openapi_render_html(const json_t *doc, size_t *len);

#endif
