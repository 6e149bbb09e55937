/*
 * Unit tests for http/frame: the strict RFC 9112 framing check. Every
 * smuggling shape http-parser lets through is refused at its first bad
 * byte with a reason; well-formed streams (pipelined, chunked with
 * extensions and trailers, leading empty lines) pass whole and count their
 * requests; any split of the input gives the same answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http/frame.h"

#include <stdio.h>
#include <string.h>

static const char *esc(const char *s)
{
    static char out[1024];
    size_t o = 0;
    for (; *s && o + 5 < sizeof(out); s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

/* Feeds s whole, then byte by byte, then in two halves at every point:
 * the good length, error and messages must agree. Returns the good length. */
static size_t check(const char *s, size_t len, struct http_frame *out)
{
    struct http_frame whole;
    http_frame_init(&whole);
    size_t good = http_frame_feed(&whole, s, len);
    struct http_frame bytes;
    http_frame_init(&bytes);
    size_t g = 0;
    for (size_t i = 0; i < len && !bytes.error; i++)
        g += http_frame_feed(&bytes, s + i, 1);
    assert_int_equal(g, good);
    assert_true(bytes.error == whole.error);
    assert_int_equal(bytes.messages, whole.messages);
    for (size_t cut = 0; cut <= len; cut++) {
        struct http_frame two;
        http_frame_init(&two);
        size_t a = http_frame_feed(&two, s, cut);
        if (!two.error)
            a += http_frame_feed(&two, s + cut, len - cut);
        assert_int_equal(a, good);
        assert_true(two.error == whole.error);
    }
    *out = whole;
    return good;
}

static void good_stream(const char *s, uint64_t messages)
{
    struct http_frame f;
    size_t len = strlen(s);
    size_t g = check(s, len, &f);
    if (f.error)
        fail_msg("refused at byte %zu (%s): %s", g, f.error, esc(s));
    assert_int_equal(g, len);
    assert_int_equal(f.messages, messages);
}

/* Refused at the byte where `at` starts in s (strstr), with a reason
 * containing `why` and the given status. An error of the whole field
 * section is at the LF that would end it (HEAD_END), so the parser never
 * sees a request it could complete. */
#define HEAD_END "\n\r\n\r\n"
static void bad_stream(const char *s, const char *at, int status, const char *why)
{
    struct http_frame f;
    size_t len = strlen(s);
    size_t g = check(s, len, &f);
    assert_non_null(f.error);
    const char *p = strcmp(at, HEAD_END) == 0 ? strstr(s, "\r\n\r\n") + 3 : strstr(s, at);
    assert_non_null(p);
    if (g != (size_t)(p - s) || !strstr(f.error, why) || f.status != status)
        fail_msg("%s: refused at %zu (%s, %d), expected at %zu (%s, %d)", esc(s), g, f.error, f.status,
                 (size_t)(p - s), why, status);
    /* and nothing more once refused */
    assert_int_equal(http_frame_feed(&f, "GET / HTTP/1.1\r\n", 16), 0);
}

static void test_frame_well_formed_streams_pass(void **state)
{
    good_stream("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1);
    good_stream("GET /x?y=%ff HTTP/1.0\r\n\r\n", 1); /* HTTP/1.0 needs no Host */
    good_stream("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 1); /* leading empty lines */
    good_stream("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n", 2);
    good_stream("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\nA;name=\"v a\"\t;x\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n", 1);
    good_stream("POST /p HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  CHUNKED \r\n\r\n0\r\n\r\n", 1);
    good_stream("GET / HTTP/1.1\r\nHost:a\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-Utf8: caf\xc3\xa9\r\n\r\n", 1);
    good_stream("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 1);
    good_stream("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 1);
    good_stream("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nX-Very-Long-Header-Name-Indeed: 1\r\n\r\n", 1);
    good_stream("GET / HTTP/1.1\r\nHost: a\r\n", 0); /* incomplete is not wrong */
}

static void test_frame_refuses_smuggling_shapes(void **state)
{
    /* whitespace before the colon: obeyed by http-parser before */
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", " : chunked", 400,
               "whitespace before");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", " : 5", 400, "whitespace before");
    /* chunk data not followed by CRLF */
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", "XX0", 400,
               "not followed by CRLF");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX", "X", 400,
               "not followed by CRLF");
    /* control bytes or bare LF in chunk extensions */
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01" "b\r\nhello\r\n0\r\n\r\n",
               "\x01", 400, "control byte in a chunk extension");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nhello\r\n0\r\n\r\n", "\nhello",
               400, "bare LF in a chunk extension");
    /* bare LF line endings and obs-fold */
    bad_stream("GET / HTTP/1.1\nHost: a\n\n", "\nHost", 400, "bare LF");
    bad_stream("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", "\nX: b", 400, "bare LF");
    bad_stream("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", " b\r\n", 400, "obs-fold");
    bad_stream("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", "\tb", 400, "obs-fold");
    bad_stream("GET / HTTP/1.1\r\nHost: a\r\rX: b\r\n\r\n", "\rX", 400, "bare CR");
    /* Host */
    bad_stream("GET / HTTP/1.1\r\nX: 1\r\n\r\n", HEAD_END, 400, "without Host");
    bad_stream("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HEAD_END, 400, "more than one Host");
    bad_stream("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", HEAD_END, 400, "more than one Host");
    /* two Authorization headers */
    bad_stream("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n", HEAD_END, 400,
               "more than one Authorization");
    /* Transfer-Encoding on HTTP/1.0, with or without keep-alive */
    bad_stream("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n", HEAD_END,
               400, "HTTP/1.0");
    /* framing ambiguities */
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               HEAD_END, 400, "both Content-Length and Transfer-Encoding");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", HEAD_END, 400,
               "more than one Content-Length");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", "\n\r\nhello", 400,
               "bad Content-Length");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HEAD_END, 501,
               "transfer coding");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
               HEAD_END, 501, "more than one Transfer-Encoding");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "0\r\n", 400,
               "chunk size too large");
    bad_stream("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", "xyz", 400, "bad chunk size");
    /* request line */
    bad_stream("GET /\r\n", "\r\n", 400, "HTTP/0.9");
    bad_stream("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "2.0", 400, "version");
    bad_stream("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", " / HTTP", 400, "malformed request line");
    bad_stream("GET /a\x7f HTTP/1.1\r\n", "\x7f", 400, "request target");
    bad_stream("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", "\x01", 400, "control byte in a header value");
    bad_stream("GET / HTTP/1.1\r\nBad(name): a\r\n\r\n", "(name)", 400, "malformed header name");
    /* a good request, then a smuggled one: the first passes whole */
    bad_stream("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\nHost: a\n\n", "\nHost: a\n\n", 400, "bare LF");
}

static void test_frame_limits_chunk_extensions(void **state)
{
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;");
    for (int i = 0; i < 1100; i++)
        buf[n++] = 'x';
    buf[n] = '\0';
    struct http_frame f;
    http_frame_init(&f);
    http_frame_feed(&f, buf, (size_t)n);
    assert_non_null(f.error);
    assert_non_null(strstr(f.error, "chunk extension too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_well_formed_streams_pass),
        cmocka_unit_test(test_frame_refuses_smuggling_shapes),
        cmocka_unit_test(test_frame_limits_chunk_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
