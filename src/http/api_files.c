/*
 * http/api_files: the answers that are documents and files rather than API
 * data: GET /api/v1/openapi.json and GET /api-docs, rendered by
 * http/openapi from the route table (http/routes) and the schemas
 * (http/schemas), and the static files under /assets/ (http/static). Owns
 * the rendered document, built on first use and freed by
 * api_files_free_cache; the static snapshot belongs to struct http_api.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/version.h"
#include "http/openapi.h"
#include "http/routes.h"
#include "http/schemas.h"
#include "http/static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built on first use from http_routes; only the two renderings are kept. */
static struct {
    char *json;   /* from json_dumps: free() */
    size_t json_len;
    char *html;   /* base_free */
    size_t html_len;
} cache;

void api_files_free_cache(void)
{
    free(cache.json);
    base_free(cache.html);
    memset(&cache, 0, sizeof(cache));
}

static int cache_fill(const struct conf_check_types *types)
{
    if (cache.json && cache.html)
        return 0;
    const struct http_openapi_src src = {
        .routes = http_routes, .n_routes = http_routes_n,
        .tags = http_routes_tags, .n_tags = http_routes_n_tags,
        .schemas = http_schemas, .n_schemas = http_schemas_n,
    };
    char err[256];
    json_t *doc = http_openapi_build(&src, base_version(), err, sizeof(err));
    if (doc && http_schemas_for_types(doc, types) != 0) {
        json_decref(doc);
        doc = NULL;
        snprintf(err, sizeof(err), "the check schemas could not be built from the type registry");
    }
    if (!doc) {
        base_log_error("openapi document could not be built", BASE_LOG_STR("error", err));
        return -1;
    }
    if (!cache.json) {
        cache.json = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
        cache.json_len = cache.json ? strlen(cache.json) : 0;
    }
    if (!cache.html)
        cache.html = http_openapi_render_html(doc, &cache.html_len);
    json_decref(doc);
    return cache.json && cache.html ? 0 : -1;
}

void api_openapi_json(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (cache_fill(api->deps.types) != 0 && !cache.json) {
        api_send_error(api, req, 500, "internal", "the API document could not be built", NULL);
        return;
    }
    api_send(api, req, 200, "application/json", NULL, cache.json, cache.json_len);
}

void api_docs_html(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (cache_fill(api->deps.types) != 0 && !cache.html) {
        api_send_error(api, req, 500, "internal", "the API document could not be built", NULL);
        return;
    }
    api_send(api, req, 200, "text/html; charset=utf-8", NULL, cache.html, cache.html_len);
}

/* The file at the request path relative to server.static_dir: the route's
 * prefix is part of it (/assets/app.js is <static_dir>/assets/app.js), so
 * the directory can later be mounted at / unchanged. */
void api_static_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!api->statics && !api->web) {
        api_send_no_route(api, req);
        return;
    }
    /* server.static_dir first (a development build of web/, or your own
     * files), then the assets compiled into the binary. */
    struct http_static_reply r;
    const char *inm = http_request_header(req, "If-None-Match");
    http_static_lookup(api->statics, req->path + 1, inm, &r);
    if (r.status == 404 && api->web)
        http_static_lookup(api->web, req->path + 1, inm, &r);
    if (r.status == 200 || r.status == 304)
        api_send(api, req, r.status, r.content_type, r.headers, r.body ? r.body : "", r.len);
    else {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s: %.120s", r.error, req->path);
        api_send_error(api, req, r.status, r.status == 404 ? "not_found" : "bad_request", msg, NULL);
    }
}

/* The dashboard's own policy: everything from this server, nothing inline
 * (uPlot and the pages set styles through the CSSOM, which it allows). */
#define DASHBOARD_HEADERS                                                                                   \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "          \
    "frame-ancestors 'none'\r\nReferrer-Policy: same-origin\r\n"

void api_dashboard_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    struct http_static_reply r;
    http_static_lookup(api->web, "index.html", http_request_header(req, "If-None-Match"), &r);
    if (r.status == 200 || r.status == 304) {
        char headers[sizeof(r.headers) + 512];
        snprintf(headers, sizeof(headers), "%s%s", r.headers, DASHBOARD_HEADERS);
        api_send(api, req, r.status, r.content_type, headers, r.body ? r.body : "", r.len);
        return;
    }
    static const char page[] =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>opshub</title></head><body>"
        "<h1>The dashboard is not built into this binary</h1><p>Its assets are built with npm: run "
        "<code>scripts/setup.sh</code> (it installs the npm packages under web/), then <code>make build</code>. "
        "The API (<a href=\"/api-docs\">/api-docs</a>) and the status page work without it.</p></body></html>";
    api_send(api, req, 503, "text/html; charset=utf-8", DASHBOARD_HEADERS, page, sizeof(page) - 1);
}
