/*
 * http/cookie: the Cookie header, read strictly and bounded, and the
 * Set-Cookie lines of the browser session (see cookie.h for the rules).
 */
#include "http/cookie.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 6265 cookie-octet. */
static bool is_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B) ||
           (c >= 0x5D && c <= 0x7E);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Checks one pair [s, e) (whitespace trimmed): the name in [*name, *name
 * + *nlen), the value (quotes dropped) in [*val, *val + *vlen). False when
 * it is malformed; *nlen is still set when a '=' was found. */
static bool pair_split(const char *s, const char *e, const char **name, size_t *nlen, const char **val,
                       size_t *vlen)
{
    const char *eq = memchr(s, '=', (size_t)(e - s));
    *nlen = 0;
    if (!eq)
        return false;
    const char *ne = eq;
    while (ne > s && is_ws(ne[-1]))
        ne--;
    *name = s;
    *nlen = (size_t)(ne - s);
    const char *v = eq + 1;
    while (v < e && is_ws(*v))
        v++;
    if (e - v >= 2 && *v == '"' && e[-1] == '"') {
        v++;
        e--;
    }
    *val = v;
    *vlen = (size_t)(e - v);
    bool ok = *nlen > 0;
    for (size_t i = 0; ok && i < *nlen; i++)
        ok = is_tchar((unsigned char)s[i]);
    for (size_t i = 0; ok && i < *vlen; i++)
        ok = is_octet((unsigned char)v[i]);
    return ok;
}

/* Scans one header value: counts the pairs named `name` in *count (a
 * malformed one makes *bad true) and copies the first well-formed one's
 * value into out when out is not NULL and *count was 0 before it. 0, or
 * BASE_ERR_TOO_BIG (too many pairs, or the value does not fit). */
static int scan(const char *header, const char *name, char *out, size_t n, size_t *pairs, size_t *count,
                bool *bad)
{
    size_t want = strlen(name);
    for (const char *p = header; p && *p;) {
        const char *end = strchr(p, ';');
        const char *e = end ? end : p + strlen(p);
        const char *s = p;
        p = end ? end + 1 : e;
        while (s < e && is_ws(*s))
            s++;
        while (e > s && is_ws(e[-1]))
            e--;
        if (s == e)
            continue; /* empty pair ("a=1;;b=2", a trailing ';') */
        if (++*pairs > HTTP_COOKIE_PAIRS_MAX)
            return BASE_ERR_TOO_BIG;
        const char *nm = NULL, *val = NULL;
        size_t nlen = 0, vlen = 0;
        bool ok = pair_split(s, e, &nm, &nlen, &val, &vlen);
        if (nlen != want || memcmp(nm, name, want) != 0)
            continue;
        *bad |= !ok;
        if ((*count)++ == 0 && ok && out) {
            if (vlen >= n)
                return BASE_ERR_TOO_BIG;
            memcpy(out, val, vlen);
            out[vlen] = '\0';
        }
    }
    return 0;
}

/* The answer once every line was scanned. */
static int verdict(int rc, size_t count, bool bad, char *out, size_t n)
{
    if (rc == 0 && count > 1)
        rc = BASE_ERR_EXISTS;
    else if (rc == 0 && bad)
        rc = BASE_ERR_INVALID;
    if (rc < 0 && n)
        memset(out, 0, n);
    return rc < 0 ? rc : count == 1;
}

int http_cookie_parse(const char *header, const char *name, char *out, size_t n, size_t *pairs)
{
    size_t unused = 0, count = 0;
    bool bad = false;
    if (n)
        out[0] = '\0';
    int rc = scan(header, name, n ? out : NULL, n, pairs ? pairs : &unused, &count, &bad);
    return verdict(rc, count, bad, out, n);
}

int http_cookie_get(const struct http_request *req, const char *name, char *out, size_t n)
{
    size_t pairs = 0, count = 0;
    bool bad = false;
    int rc = 0;
    if (n)
        out[0] = '\0';
    for (size_t i = 0; rc == 0 && i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, "Cookie") == 0)
            rc = scan(req->headers[i].value, name, count == 0 && n ? out : NULL, n, &pairs, &count, &bad);
    return verdict(rc, count, bad, out, n);
}

int http_cookie_format(char *out, size_t n, const char *name, const char *value, const char *path,
                       long long max_age_s, bool http_only, bool secure)
{
    for (const char *v = value; *v; v++)
        if (!is_octet((unsigned char)*v))
            return BASE_ERR_INVALID;
    size_t used = strnlen(out, n);
    char age[48] = "";
    if (max_age_s >= 0)
        snprintf(age, sizeof(age), "; Max-Age=%lld", max_age_s);
    int len = snprintf(out + used, n - used, "Set-Cookie: %s=%s; Path=%s%s%s; SameSite=Lax%s\r\n", name, value,
                       path, age, http_only ? "; HttpOnly" : "", secure ? "; Secure" : "");
    if (len < 0 || (size_t)len >= n - used) {
        out[used] = '\0';
        return BASE_ERR_TOO_BIG;
    }
    return 0;
}
