/*
 * http/cors: Cross-Origin Resource Sharing for the API. An allow-list of
 * exact origins (scheme://host[:port], from CORS_ORIGINS or the config's
 * server.cors_origins) decides, per request, which CORS response headers to
 * add. No wildcard and never Access-Control-Allow-Credentials: the
 * dashboard's session cookies (same origin only) are never sent with a
 * cross-origin fetch that could read the answer, so cross-origin clients
 * authenticate with bearer tokens in Authorization and a page from another
 * origin gets nothing a script could not ask for anyway.
 */
#ifndef HTTP_CORS_H
#define HTTP_CORS_H

#include "http/server.h"

#include <stddef.h>

#define HTTP_CORS_MAX_ORIGINS 64
/* Longest origin accepted in the list or in a request's Origin header. */
#define HTTP_CORS_MAX_ORIGIN 255
/* Room http_cors_check needs in `headers`; a smaller buffer fails closed
 * (HTTP_CORS_FORBIDDEN, no headers). */
#define HTTP_CORS_HEADERS_MAX 1024

struct http_cors;

enum http_cors_result {
    /* No Origin header: not a cross-origin request. headers gets only
     * "Vary: Origin" (when any origin is allowed), for shared caches. */
    HTTP_CORS_NOT_CORS,
    /* Allowed origin, actual request: serve it normally and add headers:
     * Access-Control-Allow-Origin: <origin>, Vary: Origin and
     * Access-Control-Expose-Headers: RateLimit-Limit, RateLimit-Remaining,
     * RateLimit-Reset, Retry-After, X-Request-Id. */
    HTTP_CORS_ALLOWED,
    /* OPTIONS with Access-Control-Request-Method from an allowed origin:
     * answer 204 with headers (Allow-Origin, Vary, Allow-Methods GET, POST,
     * PATCH, DELETE, Allow-Headers Authorization, Content-Type,
     * X-Request-Id, Max-Age 600) and do not route the request. The browser
     * itself refuses methods and headers not listed. */
    HTTP_CORS_PREFLIGHT,
    /* Origin present but not allowed (also "null", malformed, several
     * Origin headers). For a preflight (OPTIONS with
     * Access-Control-Request-Method) the caller answers 403. Any other
     * request is served normally WITHOUT CORS headers: the browser then
     * keeps the response from the foreign page. (Not an error status:
     * browsers send Origin on same-origin POSTs too.) headers gets only
     * "Vary: Origin". */
    HTTP_CORS_FORBIDDEN,
};

/* Parses a comma-separated list ("https://ops.example.com,
 * http://localhost:5173"); spaces around entries and empty entries are
 * ignored. Each entry is http or https, a host name, IPv4 or [IPv6]
 * address and an optional port, nothing else (no path, no trailing '/').
 * Scheme and host compare case-insensitively; a default port (:80 for
 * http, :443 for https) is dropped, as browsers drop it. "*" and "null" are
 * refused. NULL or "" gives a list allowing no origin. On success *out is
 * the caller's (http_cors_free) and 0 is returned; else BASE_ERR_INVALID
 * or BASE_ERR_NOMEM, *out NULL and err says which entry is wrong (control
 * characters shown as '?'). */
int http_cors_new(const char *list, struct http_cors **out, char *err, size_t n);
void http_cors_free(struct http_cors *c);
/* Number of allowed origins. */
size_t http_cors_count(const struct http_cors *c);

/* Classifies req and writes the response headers to add ("Name: value\r\n"
 * lines, NUL-terminated, possibly "") into headers (n >=
 * HTTP_CORS_HEADERS_MAX). The Origin is echoed only when it is allowed,
 * hence only ever a validated scheme://host[:port]: never CR, LF or other
 * control bytes. c may be NULL (no origin allowed). */
enum http_cors_result http_cors_check(const struct http_cors *c, const struct http_request *req,
                                      char *headers, size_t n);

#endif
