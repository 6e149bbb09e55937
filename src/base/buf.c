/*
 * base/buf: bounded growable buffer. Doubles capacity up to `max`.
 */
#include "base/buf.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

void base_buf_init(struct base_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void base_buf_free(struct base_buf *b)
{
    base_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void base_buf_reset(struct base_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(struct base_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return BASE_ERR_TOO_BIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = base_realloc(b->data, cap);
    if (!p)
        return BASE_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int base_buf_append(struct base_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int base_buf_append_str(struct base_buf *b, const char *s)
{
    return base_buf_append(b, s, strlen(s));
}

int base_buf_vappendf(struct base_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return BASE_ERR_INVALID;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int base_buf_appendf(struct base_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = base_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int base_buf_append_json_str(struct base_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t mark = b->len;
    int rc = base_buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
                esc = u;
            }
        }
        if (esc) {
            rc = base_buf_append(b, s + start, i - start);
            if (!rc)
                rc = base_buf_append_str(b, esc);
            start = i + 1;
        }
    }
    if (!rc)
        rc = base_buf_append(b, s + start, n - start);
    if (!rc)
        rc = base_buf_append(b, "\"", 1);
    if (rc && b->data) {
        /* All or nothing: a string that does not fit leaves no half behind. */
        b->len = mark;
        b->data[mark] = '\0';
    }
    return rc;
}

char *base_buf_take(struct base_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
