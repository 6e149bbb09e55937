/*
 * http/cors: the CORS allow-list and the per-request decision. Origins are
 * kept normalised (lower-case scheme and host, default port dropped) and a
 * request's Origin is normalised the same way before an exact comparison.
 * Owns only the list. Never echoes anything it has not validated as an
 * origin, so no request byte can inject a response header.
 */
#include "http/cors.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct http_cors {
    size_t n;
    char origin[HTTP_CORS_MAX_ORIGINS][HTTP_CORS_MAX_ORIGIN + 1];
};

static bool is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Host name or IPv4: dot-separated labels of [A-Za-z0-9-], 1-63 chars each,
 * not starting or ending with '-'. */
static bool host_name_ok(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || h[i] == '.') {
            if (label == 0 || label > 63 || h[i - 1] == '-' || h[i - label] == '-')
                return false;
            label = 0;
        } else if (is_alnum(h[i]) || h[i] == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

/* "[...]" with hex digits, ':' and '.' inside (IPv6, IPv4-mapped). */
static bool host_v6_ok(const char *h, size_t len)
{
    if (len < 4 || len > 47 || h[0] != '[' || h[len - 1] != ']')
        return false;
    size_t colons = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        if (h[i] == ':')
            colons++;
        else if (!is_hex(h[i]) && h[i] != '.')
            return false;
    }
    return colons >= 2;
}

/* Normalises one origin (scheme://host[:port]) into out (room for
 * HTTP_CORS_MAX_ORIGIN + 1). False when it is not one. */
static bool origin_normalize(const char *s, size_t len, char *out)
{
    size_t skip;
    unsigned default_port;
    if (len > HTTP_CORS_MAX_ORIGIN)
        return false;
    if (len > 8 && strncasecmp(s, "https://", 8) == 0) {
        skip = 8;
        default_port = 443;
    } else if (len > 7 && strncasecmp(s, "http://", 7) == 0) {
        skip = 7;
        default_port = 80;
    } else {
        return false;
    }
    const char *host = s + skip, *end = s + len;
    const char *port = NULL;
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (!rb)
            return false;
        port = rb + 1 < end ? rb + 1 : NULL;
        if (port && port[0] != ':')
            return false;
    } else {
        port = memchr(host, ':', (size_t)(end - host));
    }
    size_t hlen = (size_t)((port ? port : end) - host);
    if (!(host[0] == '[' ? host_v6_ok(host, hlen) : host_name_ok(host, hlen)))
        return false;
    unsigned pnum = 0;
    if (port) {
        size_t plen = (size_t)(end - port - 1);
        if (plen == 0 || plen > 5 || port[1] == '0')
            return false;
        for (size_t i = 1; i <= plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return false;
            pnum = pnum * 10 + (unsigned)(port[i] - '0');
        }
        if (pnum > 65535)
            return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < skip + hlen; i++)
        out[o++] = lower(s[i]);
    if (port && pnum != default_port) {
        size_t plen = (size_t)(end - port);
        memcpy(out + o, port, plen);
        o += plen;
    }
    out[o] = '\0';
    return true;
}

/* The entry as shown in an error: at most 80 chars, control bytes as '?'. */
static void show(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < 80 && o + 1 < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (n)
        out[o < n ? o : n - 1] = '\0';
    if (len > 80 && o + 4 < n) {
        memcpy(out + o, "...", 4);
    }
}

static int add_entry(struct http_cors *c, const char *p, size_t len, char *err, size_t n)
{
    char shown[100];
    char norm[HTTP_CORS_MAX_ORIGIN + 1];
    show(p, len, shown, sizeof(shown));
    if (len == 1 && p[0] == '*') {
        snprintf(err, n, "CORS origin '*' is not allowed: list the exact origins "
                         "(e.g. https://ops.example.com)");
        return BASE_ERR_INVALID;
    }
    if (len == 4 && strncasecmp(p, "null", 4) == 0) {
        snprintf(err, n, "CORS origin 'null' is never allowed (any sandboxed page sends it)");
        return BASE_ERR_INVALID;
    }
    if (!origin_normalize(p, len, norm)) {
        snprintf(err, n, "bad CORS origin '%s' (expected http:// or https:// host[:port] with "
                         "no path, e.g. https://ops.example.com)", shown);
        return BASE_ERR_INVALID;
    }
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->origin[i], norm) == 0)
            return 0;  /* listed twice: harmless */
    if (c->n == HTTP_CORS_MAX_ORIGINS) {
        snprintf(err, n, "too many CORS origins (at most %d)", HTTP_CORS_MAX_ORIGINS);
        return BASE_ERR_INVALID;
    }
    memcpy(c->origin[c->n++], norm, strlen(norm) + 1);
    return 0;
}

int http_cors_new(const char *list, struct http_cors **out, char *err, size_t n)
{
    struct http_cors *c = base_calloc(1, sizeof(*c));
    int rc = BASE_ERR_NOMEM;
    *out = NULL;
    if (!c) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    for (const char *p = list ? list : ""; *p;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *q = e;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q > p && (rc = add_entry(c, p, (size_t)(q - p), err, n)) != 0)
            goto fail;
        p = comma ? comma + 1 : e;
    }
    *out = c;
    return 0;
fail:
    base_free(c);
    return rc;
}

void http_cors_free(struct http_cors *c)
{
    base_free(c);
}

size_t http_cors_count(const struct http_cors *c)
{
    return c ? c->n : 0;
}

struct out {
    char *p;
    size_t n, len;
};

static void put(struct out *o, const char *s)
{
    size_t len = strlen(s);
    if (o->len < o->n && len < o->n - o->len) {
        memcpy(o->p + o->len, s, len + 1);
        o->len += len;
    }
}

static bool origin_allowed(const struct http_cors *c, const char *origin)
{
    char norm[HTTP_CORS_MAX_ORIGIN + 1];
    if (!c || !origin_normalize(origin, strlen(origin), norm))
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->origin[i], norm) == 0)
            return true;
    return false;
}

enum http_cors_result http_cors_check(const struct http_cors *c, const struct http_request *req,
                                      char *headers, size_t n)
{
    struct out o = {headers, n, 0};
    const char *origin = NULL;
    size_t n_origin = 0;
    if (!headers || n < HTTP_CORS_HEADERS_MAX) {
        if (headers && n)
            headers[0] = '\0';
        return HTTP_CORS_FORBIDDEN;  /* fail closed */
    }
    headers[0] = '\0';
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "Origin") == 0) {
            origin = req->headers[i].value;
            n_origin++;
        }
    }
    if (http_cors_count(c) > 0)
        put(&o, "Vary: Origin\r\n");
    if (n_origin == 0)
        return HTTP_CORS_NOT_CORS;
    bool preflight = strcmp(req->method, "OPTIONS") == 0 &&
                     http_request_header(req, "Access-Control-Request-Method") != NULL;
    /* Only a validated origin is echoed: origin_normalize accepts nothing
     * but scheme://host[:port] characters. */
    if (n_origin > 1 || !origin_allowed(c, origin))
        return HTTP_CORS_FORBIDDEN;
    put(&o, "Access-Control-Allow-Origin: ");
    put(&o, origin);
    put(&o, "\r\n");
    if (preflight) {
        put(&o, "Access-Control-Allow-Methods: GET, POST, PATCH, DELETE\r\n"
                "Access-Control-Allow-Headers: Authorization, Content-Type, X-Request-Id\r\n"
                "Access-Control-Max-Age: 600\r\n");
        return HTTP_CORS_PREFLIGHT;
    }
    put(&o, "Access-Control-Expose-Headers: RateLimit-Limit, RateLimit-Remaining, "
            "RateLimit-Reset, Retry-After, X-Request-Id\r\n");
    return HTTP_CORS_ALLOWED;
}
