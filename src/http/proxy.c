/*
 * http/proxy: the client address behind trusted reverse proxies (see
 * proxy.h for the rules). Each header's lines are read into one bounded
 * list of hops, then walked from the right. Nothing here allocates or
 * keeps state; a value it cannot read never becomes an address.
 */
#include "http/proxy.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest for= value kept: "[" IPv6 "]:" port fits with room to spare;
 * anything longer cannot be an address. */
#define NODE_MAX 80

struct hops {
    struct base_ip ip[HTTP_PROXY_HOPS_MAX];
    bool is_ip[HTTP_PROXY_HOPS_MAX];
    size_t n;
    bool present;   /* at least one line of the header */
    bool bad;       /* unreadable or too many entries: no answer */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 7230 tchar. */
static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A port: 1-5 digits, or an obfuscated "_" 1*(ALPHA / DIGIT / "." / "_" / "-")
 * (RFC 7239 section 6.3). */
static bool port_ok(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '_') {
        for (size_t i = 1; i < n; i++)
            if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
                return false;
        return true;
    }
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* A node as proxies write it: 192.0.2.1, 192.0.2.1:80, [2001:db8::1],
 * [2001:db8::1]:80 or a bare 2001:db8::1 (X-Forwarded-For). False for
 * "unknown", "_hidden" and anything else that is not an address. */
static bool node_parse(const char *s, size_t n, struct base_ip *ip)
{
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || !memchr(s, ':', (size_t)(close - s)))
            return false;
        size_t after = n - (size_t)(close + 1 - s);
        if (after && (close[1] != ':' || !port_ok(close + 2, after - 1)))
            return false;
        return base_ip_parse(s + 1, (size_t)(close - s - 1), ip) == 0;
    }
    const char *colon = memchr(s, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
        size_t host = (size_t)(colon - s);
        return port_ok(colon + 1, n - host - 1) && base_ip_parse(s, host, ip) == 0;
    }
    return base_ip_parse(s, n, ip) == 0;
}

static void hop_add(struct hops *h, bool is_ip, const struct base_ip *ip)
{
    if (h->n == HTTP_PROXY_HOPS_MAX) {
        h->bad = true;
        return;
    }
    h->is_ip[h->n] = is_ip;
    if (is_ip)
        h->ip[h->n] = *ip;
    h->n++;
}

static void hop_add_node(struct hops *h, const char *s, size_t n)
{
    struct base_ip ip;
    bool ok = node_parse(s, n, &ip);
    hop_add(h, ok, &ip);
}

/* X-Forwarded-For: addresses separated by commas, blanks around them;
 * empty elements are skipped. */
static void xff_line(struct hops *h, const char *s)
{
    while (*s && !h->bad) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *b = s, *e = end;
        while (b < e && is_ows(*b))
            b++;
        while (e > b && is_ows(e[-1]))
            e--;
        if (e > b)
            hop_add_node(h, b, (size_t)(e - b));
        s = comma ? comma + 1 : end;
    }
}

/* A quoted-string at *p (past the opening quote): unescaped into buf;
 * *len is NODE_MAX + 1 when it does not fit. False when unterminated or
 * holding a control byte. */
static bool quoted(const char **p, char *buf, size_t *len)
{
    const char *s = *p;
    size_t n = 0;
    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == '"')
            break;
        if (c == '\\') {
            s++;
            c = (unsigned char)*s;
        }
        if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f)
            return false;
        if (n < NODE_MAX)
            buf[n] = (char)c;
        n += n <= NODE_MAX;
        s++;
    }
    *p = s + 1;
    *len = n;
    return true;
}

/* One forwarded-pair at *p: token "=" ( token / quoted-string ). A for=
 * value goes to val/vlen (duplicates make the element unreadable). */
static bool pair(const char **p, bool *have_for, char *val, size_t *vlen)
{
    const char *s = *p, *name = s;
    while (is_tchar(*s))
        s++;
    size_t name_len = (size_t)(s - name);
    if (name_len == 0 || *s != '=')
        return false;
    s++;
    char buf[NODE_MAX];
    size_t len = 0;
    if (*s == '"') {
        s++;
        if (!quoted(&s, buf, &len))
            return false;
    } else {
        const char *v = s;
        while (is_tchar(*s))
            s++;
        len = (size_t)(s - v);
        if (len == 0)
            return false;
        memcpy(buf, v, len < NODE_MAX ? len : NODE_MAX);
        if (len > NODE_MAX)
            len = NODE_MAX + 1;
    }
    if (name_len == 3 && strncasecmp(name, "for", 3) == 0) {
        if (*have_for)
            return false;
        *have_for = true;
        memcpy(val, buf, len <= NODE_MAX ? len : 0);
        *vlen = len;
    }
    *p = s;
    return true;
}

/* Forwarded (RFC 7239): elements separated by commas, pairs by
 * semicolons, blanks around either. An element without for= is a hop
 * whose client is unknown; an empty element is skipped. */
static void forwarded_line(struct hops *h, const char *s)
{
    while (!h->bad) {
        bool have_for = false, any = false;
        char val[NODE_MAX];
        size_t vlen = 0;
        for (;;) {
            while (is_ows(*s))
                s++;
            if (*s == ';') {
                s++;
                continue;
            }
            if (*s == ',' || *s == '\0')
                break;
            if (!pair(&s, &have_for, val, &vlen)) {
                h->bad = true;
                return;
            }
            any = true;
            while (is_ows(*s))
                s++;
            if (*s != ';' && *s != ',' && *s != '\0') {
                h->bad = true;
                return;
            }
        }
        if (any) {
            if (have_for && vlen <= NODE_MAX)
                hop_add_node(h, val, vlen);
            else
                hop_add(h, false, NULL);
        }
        if (*s == '\0')
            return;
        s++;
    }
}

static void read_header(struct hops *h, const char *name, void (*line)(struct hops *, const char *),
                        const struct http_header *headers, size_t n_headers)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < n_headers && !h->bad; i++) {
        if (!headers[i].name || !headers[i].value || strcasecmp(headers[i].name, name) != 0)
            continue;
        h->present = true;
        line(h, headers[i].value);
    }
}

/* The client by the walk of proxy.h; false when the list gives none. */
static bool walk(const struct hops *h, const struct base_cidr *trusted, size_t n_trusted,
                 const struct base_ip *peer, struct base_ip *out)
{
    if (h->bad || h->n == 0)
        return false;
    const struct base_ip *last = peer;
    for (size_t i = h->n; i-- > 0;) {
        if (!h->is_ip[i]) {
            *out = *last;
            return true;
        }
        if (!base_cidr_list_contains(trusted, n_trusted, &h->ip[i])) {
            *out = h->ip[i];
            return true;
        }
        last = &h->ip[i];
    }
    *out = h->ip[0];
    return true;
}

enum http_proxy_source http_proxy_client(const struct base_cidr *trusted, size_t n_trusted, const char *peer,
                                         const struct http_header *headers, size_t n_headers, char *out,
                                         size_t n)
{
    struct base_ip peer_ip, fwd_ip, xff_ip;
    snprintf(out, n, "%s", peer);
    if (n_trusted == 0 || base_ip_parse(peer, strlen(peer), &peer_ip) != 0 ||
        !base_cidr_list_contains(trusted, n_trusted, &peer_ip))
        return HTTP_PROXY_PEER;
    struct hops fwd, xff;
    read_header(&fwd, "Forwarded", forwarded_line, headers, n_headers);
    read_header(&xff, "X-Forwarded-For", xff_line, headers, n_headers);
    bool fwd_ok = walk(&fwd, trusted, n_trusted, &peer_ip, &fwd_ip);
    bool xff_ok = walk(&xff, trusted, n_trusted, &peer_ip, &xff_ip);
    enum http_proxy_source src = HTTP_PROXY_PEER;
    const struct base_ip *client = NULL;
    if (fwd.present && xff.present) {
        if (fwd_ok && xff_ok && memcmp(&fwd_ip, &xff_ip, sizeof(fwd_ip)) == 0) {
            src = HTTP_PROXY_BOTH;
            client = &fwd_ip;
        }
    } else if (fwd_ok) {
        src = HTTP_PROXY_FORWARDED;
        client = &fwd_ip;
    } else if (xff_ok) {
        src = HTTP_PROXY_XFF;
        client = &xff_ip;
    }
    if (client)
        base_ip_format(client, out, n);
    return src;
}
