/*
 * http/openapi: the OpenAPI 3.1 document of the HTTP API, generated from the
 * route table (method, pattern, summary, minimum role, rate limit) plus a
 * documentation table in openapi.c (tag, description, parameters, request
 * and response schemas). A route without a documentation entry makes the
 * build fail, naming the route, so an undocumented route cannot ship.
 * Serves GET /api/v1/openapi.json and GET /api-docs (plain server-side
 * HTML: no script, no style, CSP default-src 'none' holds). Loop-only.
 */
#ifndef HTTP_OPENAPI_H
#define HTTP_OPENAPI_H

#include "http/router.h"

#include <jansson.h>
#include <stddef.h>

/* Builds the OpenAPI 3.1.0 document for routes[0..n) with info.version =
 * version. Returns a new reference (caller json_decref's it), or NULL with
 * a message in errbuf (NUL-terminated, truncated to errlen) naming the
 * first route that has no documentation entry, no summary, a documented
 * path parameter its pattern lacks, or a schema that is not defined; or
 * "out of memory". */
json_t *http_openapi_build(const struct http_route *routes, size_t n, const char *version,
                           char *errbuf, size_t errlen);

/* Renders doc (as built above) as a self-contained HTML page: a table of
 * operations with method, path, minimum role, summary, parameters and
 * responses, and a link to /api/v1/openapi.json. Every text is
 * HTML-escaped; no script, no style. Returns a NUL-terminated string the
 * caller frees with base_free (length in *len), or NULL on OOM or when the
 * page would exceed HTTP_OPENAPI_HTML_MAX. */
#define HTTP_OPENAPI_HTML_MAX (4u * 1024 * 1024)
char *http_openapi_render_html(const json_t *doc, size_t *len);

/* The i-th documentation key ("GET /api/v1/checks/{id}"), NULL past the
 * end: lets tests list entries that no route uses (yet). */
const char *http_openapi_doc_key(size_t i);

/* Route handlers (api is the struct http_api). The document is built from
 * api_routes on first use and cached; a build failure answers 500. */
void api_openapi_json(void *api, struct http_request *req, const struct http_params *p);
void api_docs_html(void *api, struct http_request *req, const struct http_params *p);

/* Frees the cached document and renderings (http_api_destroy calls it);
 * the next request rebuilds them. */
void http_openapi_free_cache(void);

#endif
