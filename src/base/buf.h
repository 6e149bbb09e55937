/*
 * base/buf: a growable byte buffer with a hard maximum (curl's dynbuf). Each
 * use names its limit (probe body, API request, log line); growth past it
 * fails with BASE_ERR_TOO_BIG and leaves the contents as they were. The data
 * is always NUL-terminated so it can be used as a C string.
 */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include "base/err.h"

#include <stdarg.h>
#include <stddef.h>

struct base_buf {
    char *data;  /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;  /* maximum len */
};

void base_buf_init(struct base_buf *b, size_t max);
void base_buf_free(struct base_buf *b);
/* Empties the buffer, keeping its allocation. */
void base_buf_reset(struct base_buf *b);
int base_buf_append(struct base_buf *b, const void *p, size_t n) WARN_UNUSED;
int base_buf_append_str(struct base_buf *b, const char *s) WARN_UNUSED;
int base_buf_appendf(struct base_buf *b, const char *fmt, ...) BASE_PRINTF(2, 3) WARN_UNUSED;
int base_buf_vappendf(struct base_buf *b, const char *fmt, va_list ap) BASE_PRINTF(2, 0) WARN_UNUSED;
/* Appends s as a JSON string literal, quotes included. */
int base_buf_append_json_str(struct base_buf *b, const char *s, size_t n) WARN_UNUSED;
/* Transfers the bytes to the caller (who frees them with base_free) and
 * leaves the buffer empty. Returns NULL if nothing was appended. */
char *base_buf_take(struct base_buf *b, size_t *len);

#endif
