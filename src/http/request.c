/*
 * http/request: one HTTP request's fields as http_parser delivers them
 * (URL, headers, body into bounded buffers, with the URL/header/body limits
 * that decide 414/431/413), path percent-decoding, the public accessors
 * (header lookup, query parameters) and the response head formatter.
 * Owns nothing beyond the request's own buffers; knows nothing of sockets:
 * the connection layer in server.c drives it.
 */
#include "http/http_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_REQUEST_ID 64
/* Buffers a reused request may keep between requests. */
#define KEEP_BODY_CAP (64 * 1024)

struct http_request_priv *http_request_priv_new(const struct http_request_limits *limits)
{
    struct http_request_priv *r = base_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->limits = limits;
    /* url + names/values (<= max_header_bytes), NULs, decoded path + query. */
    base_buf_init(&r->head, limits->max_header_bytes + HTTP_MAX_URL + 2 * HTTP_MAX_HEADERS + 256);
    base_buf_init(&r->body, limits->max_body);
    return r;
}

void http_request_priv_free(struct http_request_priv *r)
{
    if (!r)
        return;
    base_buf_free(&r->head);
    base_buf_free(&r->body);
    base_free(r);
}

void http_request_priv_reset(struct http_request_priv *r)
{
    base_buf_reset(&r->head);
    if (r->body.cap > KEEP_BODY_CAP)
        base_buf_free(&r->body);
    base_buf_reset(&r->body);
    r->url_off = r->url_len = 0;
    r->n_hdr = 0;
    r->head_bytes = 0;
    r->err_status = 0;
    r->err_msg = NULL;
    r->in_value = false;
    r->head_done = false;
    r->have_client_id = false;
    r->expect_continue = false;
    r->keep_alive = r->http10 = r->is_head = false;
    r->responded = r->abandoned = false;
    struct http_request *p = &r->pub;
    p->method = "";
    p->path = "/";
    p->query = "";
    p->n_headers = 0;
    p->body = "";
    p->body_len = 0;
    p->request_id[0] = '\0';
    p->refs = 0;
}

static int refuse(struct http_request_priv *r, int status, const char *msg)
{
    r->err_status = status;
    r->err_msg = msg;
    return -1;
}

static int head_add(struct http_request_priv *r, const char *at, size_t len)
{
    r->head_bytes += len;
    if (r->head_bytes > r->limits->max_header_bytes)
        return refuse(r, 431, "request header fields too large");
    if (base_buf_append(&r->head, at, len) != 0)
        return refuse(r, 431, "request header fields too large");
    return 0;
}

int http_request_on_url(struct http_request_priv *r, const char *at, size_t len)
{
    if (len > HTTP_MAX_URL || r->url_len + len > HTTP_MAX_URL)
        return refuse(r, 414, "request target too long");
    r->url_len += len;
    return head_add(r, at, len);
}

/* Trailer fields of a chunked body arrive after the head is final (and
 * pointed into): they are counted against the limit but not kept. */
static int trailer_bytes(struct http_request_priv *r, size_t len)
{
    r->head_bytes += len;
    if (r->head_bytes > r->limits->max_header_bytes)
        return refuse(r, 431, "request header fields too large");
    return 0;
}

int http_request_on_header_field(struct http_request_priv *r, const char *at, size_t len)
{
    if (r->head_done)
        return trailer_bytes(r, len + 4);
    if (r->n_hdr == 0 || r->in_value) {
        if (r->n_hdr == HTTP_MAX_HEADERS)
            return refuse(r, 431, "too many header fields");
        /* Terminates the URL or the previous value; ": " and CRLF count. */
        if (head_add(r, "", 1) != 0)
            return -1;
        r->head_bytes += 3;
        size_t *h = r->hdr[r->n_hdr++];
        h[0] = r->head.len;
        h[1] = h[2] = h[3] = 0;
        r->in_value = false;
    }
    r->hdr[r->n_hdr - 1][1] += len;
    return head_add(r, at, len);
}

int http_request_on_header_value(struct http_request_priv *r, const char *at, size_t len)
{
    if (r->head_done)
        return trailer_bytes(r, len);
    if (r->n_hdr == 0)
        return refuse(r, 400, "malformed request");
    size_t *h = r->hdr[r->n_hdr - 1];
    if (!r->in_value) {
        if (head_add(r, "", 1) != 0)
            return -1;
        h[2] = r->head.len;
        r->in_value = true;
    }
    h[3] += len;
    return head_add(r, at, len);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool http_request_percent_decode(const char *src, size_t len, char *dst, size_t *out_len,
                                 bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            if (len - i < 3)
                return false;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus_is_space) {
            dst[o++] = ' ';
        } else if (ch == '\0') {
            return false;
        } else {
            dst[o++] = ch;
        }
    }
    dst[o] = '\0';
    *out_len = o;
    return true;
}

static bool request_id_is_sane(const char *s, size_t len)
{
    if (len == 0 || len > MAX_REQUEST_ID)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Splits the request target into path and query (offsets into url). Origin
 * form "/p?q" is the rule; absolute form "http://h/p?q" is accepted as
 * RFC 9112 asks of servers; "*" and authority form are refused. */
static bool split_target(const char *url, size_t len, size_t *poff, size_t *plen, size_t *qoff,
                         size_t *qlen)
{
    *qoff = *qlen = 0;
    if (len > 0 && url[0] == '/') {
        size_t end = len;
        const char *hash = memchr(url, '#', len);
        if (hash)
            end = (size_t)(hash - url);
        const char *q = memchr(url, '?', end);
        *poff = 0;
        *plen = q ? (size_t)(q - url) : end;
        if (q) {
            *qoff = *plen + 1;
            *qlen = end - *qoff;
        }
        return true;
    }
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (len == 0 || http_parser_parse_url(url, len, 0, &u) != 0 || !(u.field_set & (1 << UF_SCHEMA)))
        return false;
    *poff = *plen = 0;
    if (u.field_set & (1 << UF_PATH)) {
        *poff = u.field_data[UF_PATH].off;
        *plen = u.field_data[UF_PATH].len;
    }
    if (u.field_set & (1 << UF_QUERY)) {
        *qoff = u.field_data[UF_QUERY].off;
        *qlen = u.field_data[UF_QUERY].len;
    }
    return true;
}

int http_request_on_headers_complete(struct http_request_priv *r, const http_parser *p)
{
    struct http_request *pub = &r->pub;
    if (head_add(r, "", 1) != 0)
        return -1;
    size_t poff, plen, qoff, qlen;
    if (!split_target(r->head.data + r->url_off, r->url_len, &poff, &plen, &qoff, &qlen))
        return refuse(r, 400, "bad request target");
    /* Decoded path and raw query, "path\0query\0", appended in one go. */
    char tmp[HTTP_MAX_URL + 4];
    size_t dlen = 0;
    const char *url = r->head.data + r->url_off;
    if (plen == 0) {
        tmp[0] = '/';
        tmp[1] = '\0';
        dlen = 1;
    } else if (!http_request_percent_decode(url + poff, plen, tmp, &dlen, false)) {
        return refuse(r, 400, "bad percent-encoding in path");
    }
    memcpy(tmp + dlen + 1, url + qoff, qlen);
    tmp[dlen + 1 + qlen] = '\0';
    size_t path_at = r->head.len;
    if (base_buf_append(&r->head, tmp, dlen + qlen + 2) != 0)
        return refuse(r, 431, "request header fields too large");
    /* The head buffer does not move from here on: pointers are stable. */
    r->head_done = true;
    pub->method = http_method_str((enum http_method)p->method);
    pub->path = r->head.data + path_at;
    pub->query = r->head.data + path_at + dlen + 1;
    pub->n_headers = r->n_hdr;
    for (size_t i = 0; i < r->n_hdr; i++) {
        pub->headers[i].name = r->head.data + r->hdr[i][0];
        pub->headers[i].value = r->hdr[i][2] ? r->head.data + r->hdr[i][2] : "";
    }
    const char *id = http_request_header(pub, "X-Request-Id");
    if (id && request_id_is_sane(id, strlen(id))) {
        memcpy(pub->request_id, id, strlen(id) + 1);
        r->have_client_id = true;
    }
    const char *expect = http_request_header(pub, "Expect");
    r->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
    r->is_head = p->method == HTTP_HEAD;
    r->http10 = p->http_major < 1 || (p->http_major == 1 && p->http_minor == 0);
    /* Refuse an announced oversized body before reading any of it. */
    if ((p->flags & F_CONTENTLENGTH) && !(p->flags & F_CHUNKED) && p->content_length > r->limits->max_body)
        return refuse(r, 413, "request body too large");
    return 0;
}

int http_request_on_body(struct http_request_priv *r, const char *at, size_t len)
{
    if (len > r->limits->max_body || r->body.len > r->limits->max_body - len)
        return refuse(r, 413, "request body too large");
    if (base_buf_append(&r->body, at, len) != 0)
        return refuse(r, 503, "out of memory");
    return 0;
}

void http_request_on_message_complete(struct http_request_priv *r, const http_parser *p)
{
    r->pub.body = r->body.data ? r->body.data : "";
    r->pub.body_len = r->body.len;
    r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

bool http_request_query(const struct http_request *req, const char *name, char *buf, size_t n)
{
    char key[256], val[HTTP_MAX_URL + 1];
    if (n)
        buf[0] = '\0';
    for (const char *q = req->query; q && *q;) {
        const char *amp = strchr(q, '&');
        size_t seg = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', seg);
        size_t klen = eq ? (size_t)(eq - q) : seg, dk;
        if (klen < sizeof(key) && http_request_percent_decode(q, klen, key, &dk, true) &&
            strcmp(key, name) == 0) {
            size_t vlen = eq ? seg - klen - 1 : 0, dv;
            if (vlen >= sizeof(val) || !http_request_percent_decode(eq ? eq + 1 : "", vlen, val, &dv, true) ||
                dv + 1 > n)
                return false;
            memcpy(buf, val, dv + 1);
            return true;
        }
        q = amp ? amp + 1 : q + seg;
    }
    return false;
}

/* ---- response head ------------------------------------------------------- */

struct out {
    char *p;
    size_t n, len;
};

static void put(struct out *o, const char *s, size_t len)
{
    if (o->len < o->n && len <= o->n - o->len)
        memcpy(o->p + o->len, s, len);
    o->len += len;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_uint(struct out *o, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof(tmp) - i);
}

#define PUT_LIT(o, s) put((o), (s), sizeof(s) - 1)

size_t http_request_format_head(const struct http_response_head *h, char *buf, size_t n)
{
    struct out o = {buf, n, 0};
    int status = h->status >= 100 && h->status <= 999 ? h->status : 500;
    PUT_LIT(&o, "HTTP/1.1 ");
    put_uint(&o, (uint64_t)status);
    PUT_LIT(&o, " ");
    put_str(&o, http_request_status_reason(status));
    PUT_LIT(&o, "\r\n");
    if (h->content_type) {
        PUT_LIT(&o, "Content-Type: ");
        put_str(&o, h->content_type);
        PUT_LIT(&o, "\r\n");
    }
    if (status >= 200 && status != 204 && status != 304 && !h->no_length) {
        PUT_LIT(&o, "Content-Length: ");
        put_uint(&o, h->body_len);
        PUT_LIT(&o, "\r\n");
    }
    if (h->date_line)
        put_str(&o, h->date_line);
    if (h->request_id && h->request_id[0]) {
        PUT_LIT(&o, "X-Request-Id: ");
        put_str(&o, h->request_id);
        PUT_LIT(&o, "\r\n");
    }
    /* Security headers on every response. The CSP allows nothing (no
     * inline script, no 'unsafe-inline' anywhere): the API serves JSON. */
    PUT_LIT(&o, "X-Content-Type-Options: nosniff\r\n"
                "Referrer-Policy: no-referrer\r\n");
    /* A page (the dashboard, the status page) sends its own policy. */
    if (!h->extra_headers || !strstr(h->extra_headers, "Content-Security-Policy:"))
        PUT_LIT(&o, "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n");
    /* Only over TLS: a browser would ignore it on plain HTTP anyway, and a
     * plain listener behind a TLS proxy must not pin HTTPS by itself. */
    if (h->hsts)
        PUT_LIT(&o, "Strict-Transport-Security: max-age=31536000\r\n");
    if (h->extra_headers)
        put_str(&o, h->extra_headers);
    if (h->close)
        PUT_LIT(&o, "Connection: close\r\n");
    else if (h->keep_alive_header)
        PUT_LIT(&o, "Connection: keep-alive\r\n");
    PUT_LIT(&o, "\r\n");
    if (o.len < n)
        buf[o.len] = '\0';
    return o.len;
}

const char *http_request_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

const char *http_request_status_code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 431: return "header_fields_too_large";
    case 501: return "not_implemented";
    case 503: return "unavailable";
    default: return "internal";
    }
}
