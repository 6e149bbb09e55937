/*
 * http/cookie: reading the Cookie request header (RFC 6265 section 4.2)
 * and formatting the Set-Cookie lines of opshub's browser session. The
 * header is untrusted input: parsing is bounded (HTTP_COOKIE_PAIRS_MAX
 * pairs, values up to the caller's buffer), allocates nothing and never
 * copies a value anywhere but the caller's buffer. Nothing here logs:
 * cookie values are credentials.
 *
 * Rules: pairs are separated by ';'; spaces and tabs around a pair, its
 * name and its value are ignored (browsers send "; ", some clients ";");
 * a value may be wrapped in one pair of double quotes (dropped). A pair
 * without '=' or whose name is not an RFC 9110 token, or whose value
 * holds a byte outside cookie-octet (CTLs, space, '"', ',', ';', '\'),
 * is skipped when its name is not the one asked for (another
 * application's odd cookie must not lock a user out) and makes the
 * lookup fail when it is. The same name twice is refused, never
 * resolved: a second opshub_session could have been planted by a sibling
 * host (cookie tossing), and first-wins would let the plant win when the
 * browser orders it first.
 */
#ifndef HTTP_COOKIE_H
#define HTTP_COOKIE_H

#include "base/err.h"
#include "http/server.h"

#include <stdbool.h>
#include <stddef.h>

/* More pairs than this in the request's Cookie headers: refused. */
#define HTTP_COOKIE_PAIRS_MAX 100

/* Looks `name` up in one Cookie header value (NUL-terminated). Returns 1
 * with the value in out (n bytes, NUL included), 0 when absent, or
 * BASE_ERR_EXISTS (the name occurs more than once), BASE_ERR_INVALID (the
 * pair of that name is malformed), BASE_ERR_TOO_BIG (the value does not
 * fit in out, or the header holds more than HTTP_COOKIE_PAIRS_MAX pairs).
 * *pairs (may be NULL) is incremented by the pairs seen, so several
 * header lines share one bound. On failure out is "". */
int http_cookie_parse(const char *header, const char *name, char *out, size_t n, size_t *pairs) WARN_UNUSED;

/* The same over every Cookie header line of req (HTTP/1.1 clients send
 * one; every line is read, and a name in two lines is a duplicate). */
int http_cookie_get(const struct http_request *req, const char *name, char *out, size_t n) WARN_UNUSED;

/* Appends "Set-Cookie: name=value; Path=path[; Max-Age=N][; HttpOnly];
 * SameSite=Lax[; Secure]\r\n" to out (NUL-terminated, size n). max_age_s
 * < 0: no Max-Age (a browser-session cookie); 0: deletes the cookie.
 * value must hold only cookie-octets (opshub's tokens are base64url and
 * JWTs). 0, BASE_ERR_INVALID (a byte outside cookie-octet in value) or
 * BASE_ERR_TOO_BIG (out full: out is left as it was). */
int http_cookie_format(char *out, size_t n, const char *name, const char *value, const char *path,
                       long long max_age_s, bool http_only, bool secure) WARN_UNUSED;

#endif
