/*
 * base/buf: bounded growable buffer. Doubles capacity up to `max`.
 */
#include "base/buf.h"

#include "base/alloc.h"
#include "base/utf8.h"

#include <stdint.h>
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

/* One character of s[0..n) (n >= 1) as it goes inside a JSON string: its
 * input length in *in, its output length as the result. A character that
 * goes through as it is sets *verbatim; any other is written to esc. */
static size_t json_char(const char *s, size_t n, char esc[8], size_t *in, bool *verbatim)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t cp = 0;
    size_t len = base_utf8_decode(s, n, &cp);
    *verbatim = false;
    *in = len ? len : 1;
    if (!len) {
        memcpy(esc, BASE_UTF8_REPLACEMENT, BASE_UTF8_REPLACEMENT_LEN);
        return BASE_UTF8_REPLACEMENT_LEN;
    }
    char short_esc = cp == '"' ? '"' : cp == '\\' ? '\\' : cp == '\n' ? 'n' : cp == '\r' ? 'r'
                   : cp == '\t' ? 't' : 0;
    if (short_esc) {
        esc[0] = '\\';
        esc[1] = short_esc;
        return 2;
    }
    if (base_utf8_is_control(cp)) {
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[cp >> 4];
        esc[5] = hex[cp & 15];
        return 6;
    }
    *verbatim = true;
    return len;
}

/* Escapes whole characters of s[0..n) into b while their output fits in
 * room bytes; with b NULL it only counts. *used: input bytes taken; *out:
 * bytes of output. */
static int json_chars(struct base_buf *b, const char *s, size_t n, size_t room, size_t *used, size_t *out)
{
    size_t i = 0, start = 0, o = 0;
    int rc = 0;
    while (i < n) {
        char esc[8];
        size_t in;
        bool verbatim;
        size_t w = json_char(s + i, n - i, esc, &in, &verbatim);
        if (w > room - o)
            break;
        if (!verbatim && b) {
            rc = base_buf_append(b, s + start, i - start);
            if (!rc)
                rc = base_buf_append(b, esc, w);
            if (rc)
                break;
            start = i + in;
        }
        o += w;
        i += in;
    }
    if (!rc && b)
        rc = base_buf_append(b, s + start, i - start);
    *used = i;
    *out = o;
    return rc;
}

int base_buf_append_json_str(struct base_buf *b, const char *s, size_t n)
{
    size_t mark = b->len, used, out;
    int rc = base_buf_append(b, "\"", 1);
    if (!rc)
        rc = json_chars(b, s, n, SIZE_MAX, &used, &out);
    if (!rc)
        rc = base_buf_append(b, "\"", 1);
    if (rc && b->data) {
        /* All or nothing: a string that does not fit leaves no half behind. */
        b->len = mark;
        b->data[mark] = '\0';
    }
    return rc;
}

int base_buf_append_json_str_max(struct base_buf *b, const char *s, size_t n, size_t limit,
                                 const char *marker, bool *cut)
{
    size_t mlen = strlen(marker), used, out;
    if (cut)
        *cut = false;
    if (limit < 2 || limit - 2 < mlen)
        return BASE_ERR_INVALID;
    json_chars(NULL, s, n, limit - 2, &used, &out);
    if (used == n)
        return base_buf_append_json_str(b, s, n);
    size_t mark = b->len;
    int rc = base_buf_append(b, "\"", 1);
    if (!rc)
        rc = json_chars(b, s, n, limit - 2 - mlen, &used, &out);
    if (!rc)
        rc = base_buf_append(b, marker, mlen);
    if (!rc)
        rc = base_buf_append(b, "\"", 1);
    if (rc && b->data) {
        b->len = mark;
        b->data[mark] = '\0';
    }
    if (!rc && cut)
        *cut = true;
    return rc;
}

size_t base_buf_json_str_len(const char *s, size_t n, size_t max)
{
    size_t used, out;
    json_chars(NULL, s, n, max >= 2 ? max - 2 : 0, &used, &out);
    return used == n ? out + 2 : max < SIZE_MAX ? max + 1 : SIZE_MAX;
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
