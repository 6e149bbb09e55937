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
#include <stdbool.h>
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
/* Appends s[0..n) as a JSON string literal, quotes included. Valid UTF-8
 * goes through unchanged except that '"', '\\' and the control characters
 * (C0, DEL and C1, see base/utf8) are escaped; every byte that is not part
 * of a well-formed UTF-8 sequence (stray or cut-short bytes, overlong
 * forms, surrogates, past U+10FFFF) becomes U+FFFD, so the literal is
 * always valid UTF-8 and valid JSON. All or nothing: a literal that does
 * not fit leaves the buffer as it was (BASE_ERR_TOO_BIG). */
int base_buf_append_json_str(struct base_buf *b, const char *s, size_t n) WARN_UNUSED;
/* The same literal in at most `limit` bytes, quotes included: when the
 * whole one is longer, the characters that fit followed by `marker` (ASCII
 * text, written as is) before the closing quote; never half a character or
 * half an escape. *cut (may be NULL) says whether it was cut. Reads at most
 * about `limit` bytes of s when it cuts. BASE_ERR_INVALID when limit cannot
 * hold the quotes and the marker; otherwise as base_buf_append_json_str. */
int base_buf_append_json_str_max(struct base_buf *b, const char *s, size_t n, size_t limit,
                                 const char *marker, bool *cut) WARN_UNUSED;
/* The length of the literal base_buf_append_json_str would append, quotes
 * included; counting stops past `max` (then any value above max is
 * returned), so a long string costs at most about max bytes of reading. */
size_t base_buf_json_str_len(const char *s, size_t n, size_t max);
/* Transfers the bytes to the caller (who frees them with base_free) and
 * leaves the buffer empty. Returns NULL if nothing was appended. */
char *base_buf_take(struct base_buf *b, size_t *len);

#endif
