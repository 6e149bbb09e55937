/*
 * http/frame: RFC 9112 request framing, checked strictly on the bytes
 * before http-parser sees them. http-parser (Debian's build) accepts what
 * the RFC says to reject: whitespace before a header's colon (and then
 * obeys "Transfer-Encoding : chunked"), chunk data not followed by CRLF,
 * control bytes in chunk extensions, bare LF line endings, obs-fold,
 * HTTP/0.9 request lines (it waits for more). Behind a proxy that parses
 * differently each of these can smuggle a request. This checker walks the
 * same stream, request after request, and says how many bytes are well
 * formed; the server parses only those and answers the first bad byte with
 * the status and reason given here, then closes.
 *
 * Rejected, beyond the byte grammar: an HTTP/1.1 request without exactly
 * one Host, two Authorization headers, more than one Content-Length, both
 * Content-Length and Transfer-Encoding, Transfer-Encoding on HTTP/1.0, any
 * transfer coding but "chunked" (501). Leading empty lines before a request
 * line are skipped (RFC 9112 2.2). Streaming: any split of the input gives
 * the same answer; no allocation; the state is this struct.
 */
#ifndef HTTP_FRAME_H
#define HTTP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_FRAME_NAME_MAX 20   /* longest header name told apart ("transfer-encoding") */
#define HTTP_FRAME_VALUE_MAX 24  /* longest value kept (Content-Length, Transfer-Encoding) */
#define HTTP_FRAME_EXT_MAX 1024  /* bytes of chunk extensions per chunk */

struct http_frame {
    /* private: */
    int state;
    int minor;                    /* HTTP/1.minor */
    bool trailer;                 /* header lines are trailers */
    char name[HTTP_FRAME_NAME_MAX + 1];
    size_t name_len;
    char value[HTTP_FRAME_VALUE_MAX + 1];
    size_t value_len;             /* kept, trailing whitespace included */
    size_t value_ws;              /* trailing whitespace in value */
    bool value_long;
    int n_host, n_auth, n_length, n_te;
    bool te_bad;
    uint64_t length;              /* Content-Length */
    uint64_t remaining;           /* body or chunk bytes still to come */
    int digits;
    size_t ext_len;
    /* public: */
    uint64_t messages;            /* requests seen whole */
    /* public, once feed stopped short: */
    int status;                   /* 400, or 501 for a transfer coding not supported */
    const char *error;            /* static text; NULL while the stream is good */
};

void http_frame_init(struct http_frame *f);
/* Checks data[0..n) as the continuation of the stream. Returns how many
 * of these bytes are well formed: n, or fewer when f->error is set (and
 * every later call returns 0). */
size_t http_frame_feed(struct http_frame *f, const char *data, size_t n);

#endif
