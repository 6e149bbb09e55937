/*
 * tests/http/test_cors: the CORS allow-list parser (good and malformed
 * lists, normalisation, limits) and the per-request decision (not CORS,
 * allowed, preflight, forbidden), including look-alike origins and
 * header-injection attempts that must never be echoed.
 */
#include "http/cors.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

static const char *LIST = " https://ops.example.com , http://localhost:5173,http://[::1]:8080 ";

static struct http_cors *cors_ok(const char *list)
{
    struct http_cors *c = NULL;
    char err[256] = "";
    int rc = http_cors_new(list, &c, err, sizeof(err));
    if (rc != 0)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(c);
    return c;
}

/* Expects the list to be refused; err must contain `want`. */
static void cors_bad(const char *list, const char *want)
{
    struct http_cors *c = (struct http_cors *)&c;  /* must be reset to NULL */
    char err[256] = "";
    assert_int_equal(http_cors_new(list, &c, err, sizeof(err)), BASE_ERR_INVALID);
    assert_null(c);
    if (!strstr(err, want))
        print_error("list '%s': error '%s' lacks '%s'\n", list, err, want);
    assert_non_null(strstr(err, want));
    assert_null(strchr(err, '\r'));
    assert_null(strchr(err, '\n'));
}

struct req {
    struct http_request r;
};

static void req_init(struct req *q, const char *method, const char *origin)
{
    memset(q, 0, sizeof(*q));
    q->r.method = method;
    q->r.path = "/api/v1/checks";
    q->r.query = "";
    q->r.body = "";
    q->r.headers[q->r.n_headers++] = (struct http_header){"Host", "api.example.com"};
    if (origin)
        q->r.headers[q->r.n_headers++] = (struct http_header){"Origin", origin};
}

static void req_add(struct req *q, const char *name, const char *value)
{
    q->r.headers[q->r.n_headers++] = (struct http_header){name, value};
}

static char H[HTTP_CORS_HEADERS_MAX];

static enum http_cors_result check(const struct http_cors *c, struct req *q)
{
    memset(H, 'X', sizeof(H));
    return http_cors_check(c, &q->r, H, sizeof(H));
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_cors_parses_list_trimming_spaces_and_empty_entries(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    assert_int_equal(http_cors_count(c), 3);
    http_cors_free(c);
    c = cors_ok(",,https://a.example ,, https://a.example,\t");
    assert_int_equal(http_cors_count(c), 1);  /* duplicates collapse */
    http_cors_free(c);
    c = cors_ok("");
    assert_int_equal(http_cors_count(c), 0);
    http_cors_free(c);
    c = cors_ok(NULL);
    assert_int_equal(http_cors_count(c), 0);
    http_cors_free(c);
    http_cors_free(NULL);
    assert_int_equal(http_cors_count(NULL), 0);
}

static void test_cors_refuses_wildcard_null_and_malformed_entries(void **state)
{
    cors_bad("https://ok.example, *", "'*' is not allowed");
    cors_bad("null", "'null' is never allowed");
    cors_bad("NULL", "'null'");
    cors_bad("ops.example.com", "bad CORS origin 'ops.example.com'");
    cors_bad("ftp://ops.example.com", "'ftp://ops.example.com'");
    cors_bad("https://ops.example.com/", "'https://ops.example.com/'");
    cors_bad("https://ops.example.com/app", "'https://ops.example.com/app'");
    cors_bad("https://", "'https://'");
    cors_bad("https://:443", "'https://:443'");
    cors_bad("https://x.example:", "'https://x.example:'");
    cors_bad("https://x.example:0", "'https://x.example:0'");
    cors_bad("https://x.example:08", "'https://x.example:08'");
    cors_bad("https://x.example:65536", "'https://x.example:65536'");
    cors_bad("https://x.example:123456", "'https://x.example:123456'");
    cors_bad("https://x.example:80:80", "'https://x.example:80:80'");
    cors_bad("https://user@x.example", "'https://user@x.example'");
    cors_bad("https://x.example?a=b", "'https://x.example?a=b'");
    cors_bad("https://x.example#f", "'https://x.example#f'");
    cors_bad("https://-x.example", "'https://-x.example'");
    cors_bad("https://x-.example", "'https://x-.example'");
    cors_bad("https://a..example", "'https://a..example'");
    cors_bad("https://.example", "'https://.example'");
    cors_bad("https://x.example.", "'https://x.example.'");
    cors_bad("https://x_y.example", "'https://x_y.example'");
    cors_bad("https://[::1", "'https://[::1'");
    cors_bad("https://[zz::1]", "'https://[zz::1]'");
    cors_bad("https://[::1]8080", "'https://[::1]8080'");
    cors_bad("https://ops example.com", "'https://ops example.com'");
    /* The first bad entry is named, after good ones. */
    cors_bad("https://good.example, http://bad/path, https://also.example", "'http://bad/path'");
    /* Control characters are shown as '?', never copied into the message. */
    cors_bad("https://a.example\r\nX-Evil: 1", "'https://a.example??X-Evil: 1'");
    char long_entry[400];
    memset(long_entry, 'a', sizeof(long_entry));
    memcpy(long_entry, "https://", 8);
    long_entry[sizeof(long_entry) - 1] = '\0';
    cors_bad(long_entry, "...");
}

static void test_cors_limits_the_number_of_origins(void **state)
{
    char list[64 * 40];
    size_t len = 0;
    for (int i = 0; i < HTTP_CORS_MAX_ORIGINS; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "https://h%d.example,", i);
    struct http_cors *c = cors_ok(list);
    assert_int_equal(http_cors_count(c), HTTP_CORS_MAX_ORIGINS);
    http_cors_free(c);
    snprintf(list + len, sizeof(list) - len, "https://one-more.example");
    cors_bad(list, "too many CORS origins");
}

static void test_cors_new_reports_out_of_memory(void **state)
{
    struct http_cors *c = NULL;
    char err[128];
    base_alloc_fail_after(0);
    int rc = http_cors_new(LIST, &c, err, sizeof(err));
    base_alloc_fail_after(-1);
    assert_int_equal(rc, BASE_ERR_NOMEM);
    assert_null(c);
}

/* ---- decisions ----------------------------------------------------------------- */

static void test_cors_without_origin_is_not_cors(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    struct req q;
    req_init(&q, "GET", NULL);
    assert_int_equal(check(c, &q), HTTP_CORS_NOT_CORS);
    assert_string_equal(H, "Vary: Origin\r\n");
    /* No list at all: nothing to add. */
    assert_int_equal(check(NULL, &q), HTTP_CORS_NOT_CORS);
    assert_string_equal(H, "");
    http_cors_free(c);
}

static void test_cors_allows_listed_origin_with_expose_headers(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    struct req q;
    req_init(&q, "GET", "https://ops.example.com");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    assert_string_equal(H, "Vary: Origin\r\n"
                           "Access-Control-Allow-Origin: https://ops.example.com\r\n"
                           "Access-Control-Expose-Headers: RateLimit-Limit, RateLimit-Remaining, "
                           "RateLimit-Reset, Retry-After, X-Request-Id\r\n");
    assert_null(strstr(H, "Credentials"));
    req_init(&q, "POST", "http://localhost:5173");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    assert_non_null(strstr(H, "\r\nAccess-Control-Allow-Origin: http://localhost:5173\r\n"));
    req_init(&q, "DELETE", "http://[::1]:8080");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    /* Scheme and host compare case-insensitively; the default port is
     * the same origin. The echo is the client's own (validated) value. */
    req_init(&q, "GET", "HTTPS://OPS.Example.COM");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    assert_non_null(strstr(H, "Access-Control-Allow-Origin: HTTPS://OPS.Example.COM\r\n"));
    req_init(&q, "GET", "https://ops.example.com:443");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    http_cors_free(c);
    c = cors_ok("http://Intra.Example:80");
    req_init(&q, "GET", "http://intra.example");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    http_cors_free(c);
}

static void test_cors_answers_preflight_from_allowed_origin(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    struct req q;
    req_init(&q, "OPTIONS", "http://localhost:5173");
    req_add(&q, "Access-Control-Request-Method", "PATCH");
    req_add(&q, "Access-Control-Request-Headers", "authorization, content-type");
    assert_int_equal(check(c, &q), HTTP_CORS_PREFLIGHT);
    assert_string_equal(H, "Vary: Origin\r\n"
                           "Access-Control-Allow-Origin: http://localhost:5173\r\n"
                           "Access-Control-Allow-Methods: GET, POST, PATCH, DELETE\r\n"
                           "Access-Control-Allow-Headers: Authorization, Content-Type, X-Request-Id\r\n"
                           "Access-Control-Max-Age: 600\r\n");
    /* OPTIONS without Access-Control-Request-Method is an ordinary request. */
    req_init(&q, "OPTIONS", "http://localhost:5173");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    /* A preflight header on another method does not make a preflight. */
    req_init(&q, "GET", "http://localhost:5173");
    req_add(&q, "access-control-request-method", "GET");
    assert_int_equal(check(c, &q), HTTP_CORS_ALLOWED);
    /* Preflight from a foreign origin: forbidden, no CORS headers. */
    req_init(&q, "OPTIONS", "https://evil.example");
    req_add(&q, "Access-Control-Request-Method", "DELETE");
    assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
    assert_string_equal(H, "Vary: Origin\r\n");
    http_cors_free(c);
}

static void test_cors_forbids_lookalike_and_unlisted_origins(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    const char *bad[] = {
        "https://evil.example",
        "http://ops.example.com",               /* scheme differs */
        "https://ops.example.com:8443",         /* port differs */
        "http://localhost:5174",
        "http://localhost",
        "https://ops.example.com.evil.example", /* suffix */
        "https://evil-ops.example.com",
        "https://xops.example.com",
        "https://ops.example.co",
        "https://ops.example.com/",             /* not an origin */
        "https://ops.example.com ",
        " https://ops.example.com",
        "null",
        "",
        "*",
        "https://user@ops.example.com",
        "http://[::1]:8081",
        "http://[::2]:8080",
    };
    struct req q;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        req_init(&q, "GET", bad[i]);
        if (check(c, &q) != HTTP_CORS_FORBIDDEN)
            print_error("origin '%s' was not forbidden\n", bad[i]);
        assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
        assert_string_equal(H, "Vary: Origin\r\n");
    }
    /* With no list, every Origin is foreign. */
    req_init(&q, "GET", "https://ops.example.com");
    assert_int_equal(check(NULL, &q), HTTP_CORS_FORBIDDEN);
    assert_string_equal(H, "");
    http_cors_free(c);
}

static void test_cors_never_echoes_injected_bytes(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    const char *evil[] = {
        "https://ops.example.com\r\nSet-Cookie: a=b",
        "https://ops.example.com\nSet-Cookie: a=b",
        "https://ops.example.com\rX",
        "https://ops.example.com\r\n",
        "https://ops.example.com%0d%0aSet-Cookie:%20a=b",
        "https://ops.example.com\x0b",
        "https://ops.example.com\t",
        "https://ops.example.com:443\r\n\r\n<html>",
        "http://[::1]:8080\r\nX: y",
    };
    struct req q;
    for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
        req_init(&q, "GET", evil[i]);
        assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
        assert_null(strstr(H, "Set-Cookie"));
        assert_null(strstr(H, "Access-Control-Allow-Origin"));
        assert_string_equal(H, "Vary: Origin\r\n");
        req_init(&q, "OPTIONS", evil[i]);
        req_add(&q, "Access-Control-Request-Method", "GET\r\nX: y");
        assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
        assert_string_equal(H, "Vary: Origin\r\n");
    }
    /* Two Origin headers: ambiguous, refused even if one is allowed. */
    req_init(&q, "GET", "https://ops.example.com");
    req_add(&q, "origin", "https://evil.example");
    assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
    req_init(&q, "GET", "https://ops.example.com");
    req_add(&q, "ORIGIN", "https://ops.example.com");
    assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
    /* A very long origin is refused, not cut. */
    char longo[600];
    memset(longo, 'a', sizeof(longo));
    memcpy(longo, "https://", 8);
    longo[sizeof(longo) - 1] = '\0';
    req_init(&q, "GET", longo);
    assert_int_equal(check(c, &q), HTTP_CORS_FORBIDDEN);
    http_cors_free(c);
}

static void test_cors_fails_closed_on_a_small_buffer(void **state)
{
    struct http_cors *c = cors_ok(LIST);
    struct req q;
    req_init(&q, "GET", "https://ops.example.com");
    char small[64];
    memset(small, 'X', sizeof(small));
    assert_int_equal(http_cors_check(c, &q.r, small, sizeof(small)), HTTP_CORS_FORBIDDEN);
    assert_string_equal(small, "");
    assert_int_equal(http_cors_check(c, &q.r, NULL, 0), HTTP_CORS_FORBIDDEN);
    http_cors_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cors_parses_list_trimming_spaces_and_empty_entries),
        cmocka_unit_test(test_cors_refuses_wildcard_null_and_malformed_entries),
        cmocka_unit_test(test_cors_limits_the_number_of_origins),
        cmocka_unit_test(test_cors_new_reports_out_of_memory),
        cmocka_unit_test(test_cors_without_origin_is_not_cors),
        cmocka_unit_test(test_cors_allows_listed_origin_with_expose_headers),
        cmocka_unit_test(test_cors_answers_preflight_from_allowed_origin),
        cmocka_unit_test(test_cors_forbids_lookalike_and_unlisted_origins),
        cmocka_unit_test(test_cors_never_echoes_injected_bytes),
        cmocka_unit_test(test_cors_fails_closed_on_a_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
