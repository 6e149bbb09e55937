/*
 * http/frame: a byte-at-a-time state machine over RFC 9112's request
 * grammar (request-line, field lines, message body length, chunked
 * coding). It keeps only what framing needs: the names Host,
 * Authorization, Content-Length and Transfer-Encoding, and the values of
 * the last two.
 */
#include "http/frame.h"

#include <string.h>
#include <strings.h>

enum {
    S_START,         /* before a request line; empty lines allowed */
    S_START_LF,
    S_METHOD,
    S_TARGET,
    S_VERSION,       /* "HTTP/1.x" then CR */
    S_LINE_LF,       /* LF of the request line */
    S_FIELD_START,   /* a field line, or the empty line ending the section */
    S_NAME,
    S_OWS,           /* whitespace after the colon */
    S_VALUE,
    S_FIELD_LF,
    S_SECTION_LF,    /* LF of the empty line */
    S_BODY,
    S_CHUNK_SIZE,
    S_CHUNK_EXT,
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_ERROR,
};

#define CHUNK_DIGITS_MAX 15 /* 2^60: far beyond any body limit, no overflow */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP and HTAB: anything but the other controls and DEL */
static bool is_value_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void fail(struct http_frame *f, int status, const char *why)
{
    f->state = S_ERROR;
    f->status = status;
    f->error = why;
}

void http_frame_init(struct http_frame *f)
{
    memset(f, 0, sizeof(*f));
    f->state = S_START;
}

static void message_begin(struct http_frame *f)
{
    f->minor = 0;
    f->trailer = false;
    f->n_host = f->n_auth = f->n_length = f->n_te = 0;
    f->te_bad = false;
    f->length = 0;
    f->remaining = 0;
}

/* A complete field line: count the names that framing depends on. */
static void field_end(struct http_frame *f)
{
    if (f->trailer || f->name_len > HTTP_FRAME_NAME_MAX)
        return; /* trailers never change the framing; long names are none of ours */
    const char *n = f->name;
    size_t vlen = f->value_len - f->value_ws;
    if (strcasecmp(n, "host") == 0) {
        f->n_host++;
    } else if (strcasecmp(n, "authorization") == 0) {
        f->n_auth++;
    } else if (strcasecmp(n, "content-length") == 0) {
        f->n_length++;
        uint64_t v = 0;
        bool ok = !f->value_long && vlen > 0 && vlen <= 18;
        for (size_t i = 0; ok && i < vlen; i++) {
            ok = f->value[i] >= '0' && f->value[i] <= '9';
            v = v * 10 + (uint64_t)(f->value[i] - '0');
        }
        if (!ok)
            fail(f, 400, "bad Content-Length");
        f->length = v;
    } else if (strcasecmp(n, "transfer-encoding") == 0) {
        f->n_te++;
        if (f->value_long || vlen != 7 || strncasecmp(f->value, "chunked", 7) != 0)
            f->te_bad = true;
    }
}

/* The empty line after the field section: decide the body's framing. */
static void section_end(struct http_frame *f)
{
    if (f->trailer) {
        f->state = S_START;
        f->messages++;
        return;
    }
    if (f->minor == 1 && f->n_host != 1)
        return fail(f, 400, f->n_host ? "more than one Host header" : "HTTP/1.1 request without Host");
    if (f->n_host > 1)
        return fail(f, 400, "more than one Host header");
    if (f->n_auth > 1)
        return fail(f, 400, "more than one Authorization header");
    if (f->n_length > 1)
        return fail(f, 400, "more than one Content-Length");
    if (f->n_te && f->n_length)
        return fail(f, 400, "both Content-Length and Transfer-Encoding");
    if (f->n_te && f->minor == 0)
        return fail(f, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (f->n_te > 1)
        return fail(f, 501, "more than one Transfer-Encoding");
    if (f->te_bad)
        return fail(f, 501, "transfer coding not supported (only chunked)");
    if (f->n_te) {
        f->state = S_CHUNK_SIZE;
        f->digits = 0;
        f->remaining = 0;
    } else if (f->length) {
        f->remaining = f->length;
        f->state = S_BODY;
    } else {
        f->state = S_START;
        f->messages++;
    }
}

size_t http_frame_feed(struct http_frame *f, const char *data, size_t n)
{
    size_t i = 0;
    while (i < n && f->state != S_ERROR) {
        unsigned char c = (unsigned char)data[i];
        switch (f->state) {
        case S_START:
            if (c == '\r') {
                f->state = S_START_LF;
            } else if (is_tchar(c)) {
                message_begin(f);
                f->state = S_METHOD;
            } else {
                fail(f, 400, c == '\n' ? "bare LF line ending" : "malformed request line");
                continue;
            }
            break;
        case S_START_LF:
            if (c != '\n') {
                fail(f, 400, "bare CR");
                continue;
            }
            f->state = S_START;
            break;
        case S_METHOD:
            if (c == ' ') {
                f->state = S_TARGET;
                f->digits = 0; /* target length > 0 check */
            } else if (!is_tchar(c)) {
                fail(f, 400, "malformed request line");
                continue;
            }
            break;
        case S_TARGET:
            if (c == ' ' && f->digits > 0) {
                f->state = S_VERSION;
                f->digits = 0;
            } else if (c == '\r' || c == '\n') {
                fail(f, 400, f->digits ? "HTTP/0.9 is not supported" : "malformed request line");
                continue;
            } else if (c <= 0x20 || c == 0x7f) {
                fail(f, 400, c == ' ' ? "malformed request line" : "malformed request target");
                continue;
            } else {
                f->digits = 1;
            }
            break;
        case S_VERSION: {
            static const char want[] = "HTTP/1.";
            if (f->digits < 7) {
                if (c != (unsigned char)want[f->digits]) {
                    fail(f, 400, "unsupported HTTP version");
                    continue;
                }
            } else if (f->digits == 7) {
                if (c != '0' && c != '1') {
                    fail(f, 400, "unsupported HTTP version");
                    continue;
                }
                f->minor = c - '0';
            } else if (c == '\r') {
                f->state = S_LINE_LF;
                break;
            } else {
                fail(f, 400, c == '\n' ? "bare LF line ending" : "unsupported HTTP version");
                continue;
            }
            f->digits++;
            break;
        }
        case S_LINE_LF:
        case S_FIELD_LF:
            if (c != '\n') {
                fail(f, 400, "bare CR");
                continue;
            }
            if (f->state == S_FIELD_LF)
                field_end(f);
            if (f->state == S_ERROR)
                continue; /* the line's LF is not passed: the parser never sees it end */
            f->state = S_FIELD_START;
            break;
        case S_FIELD_START:
            if (c == '\r') {
                f->state = S_SECTION_LF;
            } else if (c == ' ' || c == '\t') {
                fail(f, 400, "obs-fold (a header line starting with whitespace)");
                continue;
            } else if (is_tchar(c)) {
                f->name[0] = (char)c;
                f->name_len = 1;
                f->value_len = f->value_ws = 0;
                f->value_long = false;
                f->state = S_NAME;
            } else {
                fail(f, 400, c == '\n' ? "bare LF line ending" : "malformed header name");
                continue;
            }
            break;
        case S_NAME:
            if (c == ':') {
                f->name[f->name_len <= HTTP_FRAME_NAME_MAX ? f->name_len : HTTP_FRAME_NAME_MAX] = '\0';
                f->state = S_OWS;
            } else if (is_tchar(c)) {
                if (f->name_len < HTTP_FRAME_NAME_MAX)
                    f->name[f->name_len] = (char)c;
                f->name_len++;
            } else {
                fail(f, 400, c == ' ' || c == '\t' ? "whitespace before a header's colon" : "malformed header name");
                continue;
            }
            break;
        case S_OWS:
            if (c == ' ' || c == '\t')
                break;
            f->state = S_VALUE;
            /* fall through */
        case S_VALUE:
            if (c == '\r') {
                f->state = S_FIELD_LF;
            } else if (c == '\n') {
                fail(f, 400, "bare LF line ending");
                continue;
            } else if (!is_value_byte(c)) {
                fail(f, 400, "control byte in a header value");
                continue;
            } else if (f->value_len < HTTP_FRAME_VALUE_MAX) {
                f->value[f->value_len++] = (char)c;
                f->value_ws = c == ' ' || c == '\t' ? f->value_ws + 1 : 0;
            } else {
                f->value_long = true;
            }
            break;
        case S_SECTION_LF:
            if (c != '\n') {
                fail(f, 400, "bare CR");
                continue;
            }
            section_end(f);
            if (f->state == S_ERROR)
                continue; /* without this LF the parser cannot complete the request */
            break;
        case S_BODY: {
            size_t take = n - i < f->remaining ? n - i : (size_t)f->remaining;
            f->remaining -= take;
            i += take;
            if (f->remaining == 0) {
                f->state = S_START;
                f->messages++;
            }
            continue;
        }
        case S_CHUNK_SIZE: {
            int h = hex_value(c);
            if (h >= 0) {
                if (++f->digits > CHUNK_DIGITS_MAX) {
                    fail(f, 400, "chunk size too large");
                    continue;
                }
                f->remaining = f->remaining * 16 + (uint64_t)h;
            } else if (f->digits && (c == ';' || c == ' ' || c == '\t')) {
                f->ext_len = 1;
                f->state = S_CHUNK_EXT;
            } else if (f->digits && c == '\r') {
                f->state = S_CHUNK_SIZE_LF;
            } else {
                fail(f, 400, c == '\n' ? "bare LF line ending" : "bad chunk size");
                continue;
            }
            break;
        }
        case S_CHUNK_EXT:
            if (c == '\r') {
                f->state = S_CHUNK_SIZE_LF;
            } else if (c == '\n' || !is_value_byte(c)) {
                fail(f, 400, c == '\n' ? "bare LF in a chunk extension" : "control byte in a chunk extension");
                continue;
            } else if (++f->ext_len > HTTP_FRAME_EXT_MAX) {
                fail(f, 400, "chunk extension too long");
                continue;
            }
            break;
        case S_CHUNK_SIZE_LF:
            if (c != '\n') {
                fail(f, 400, "bare CR");
                continue;
            }
            if (f->remaining == 0) {
                f->trailer = true;
                f->state = S_FIELD_START;
            } else {
                f->state = S_CHUNK_DATA;
            }
            break;
        case S_CHUNK_DATA: {
            size_t take = n - i < f->remaining ? n - i : (size_t)f->remaining;
            f->remaining -= take;
            i += take;
            if (f->remaining == 0)
                f->state = S_CHUNK_DATA_CR;
            continue;
        }
        case S_CHUNK_DATA_CR:
            if (c != '\r') {
                fail(f, 400, "chunk data not followed by CRLF");
                continue;
            }
            f->state = S_CHUNK_DATA_LF;
            break;
        case S_CHUNK_DATA_LF:
            if (c != '\n') {
                fail(f, 400, "chunk data not followed by CRLF");
                continue;
            }
            f->state = S_CHUNK_SIZE;
            f->digits = 0;
            f->remaining = 0;
            break;
        }
        i++;
    }
    return f->state == S_ERROR ? i : n;
}
