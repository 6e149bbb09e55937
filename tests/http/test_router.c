/*
 * tests/http/test_router: pattern compilation, segment matching, {param}
 * capture, 404 vs 405 with Allow, HEAD fallback, trailing slashes, paths
 * that arrive already decoded, bad patterns, a table of many routes, and
 * prefix routes ({name*}): what they capture, what they refuse, and that
 * exact routes and longer prefixes win whatever the table order.
 */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void h_a(void *app, struct http_request *req, const struct http_params *p) {}
static void h_b(void *app, struct http_request *req, const struct http_params *p) {}

/* The router reads only method, pattern and handler of an entry. */
#define ROUTE(m, pat, h) {.method = (m), .pattern = (pat), .handler = (h)}

static const struct http_route routes[] = {
    ROUTE("GET", "/", h_a),
    ROUTE("GET", "/healthz", h_a),
    ROUTE("GET", "/api/v1/checks", h_a),
    ROUTE("POST", "/api/v1/checks", h_b),
    ROUTE("GET", "/api/v1/checks/{id}", h_a),
    ROUTE("DELETE", "/api/v1/checks/{id}", h_b),
    ROUTE("GET", "/api/v1/checks/{id}/samples", h_b),
    ROUTE("POST", "/api/v1/checks/{id}/run", h_a),
    ROUTE("GET", "/api/v1/a/{x}/b/{y}", h_a),
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static enum http_router_match m(const struct http_router *r, const char *method, const char *path,
                                const struct http_route **route, struct http_params *p, char *allow)
{
    return http_router_match(r, method, path, route, p, allow, 64);
}

static void test_router_matches_literals_and_params(void **state)
{
    struct http_router *r = http_router_new(routes, N_ROUTES);
    assert_non_null(r);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    assert_int_equal(m(r, "GET", "/", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &routes[0]);
    assert_int_equal(p.n, 0);
    assert_int_equal(m(r, "GET", "/api/v1/checks", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &routes[2]);
    assert_int_equal(m(r, "POST", "/api/v1/checks", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &routes[3]);
    assert_int_equal(m(r, "GET", "/api/v1/checks/web-1", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &routes[4]);
    assert_int_equal(p.n, 1);
    assert_string_equal(http_params_get(&p, "id"), "web-1");
    assert_null(http_params_get(&p, "nope"));
    assert_int_equal(m(r, "GET", "/api/v1/checks/x/samples", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &routes[6]);
    assert_string_equal(http_params_get(&p, "id"), "x");
    assert_int_equal(m(r, "GET", "/api/v1/a/1/b/2", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_params_get(&p, "x"), "1");
    assert_string_equal(http_params_get(&p, "y"), "2");
    http_router_destroy(r);
}

static void test_router_returns_404_for_unknown_paths(void **state)
{
    struct http_router *r = http_router_new(routes, N_ROUTES);
    const struct http_route *route = (const struct http_route *)1;
    struct http_params p;
    char allow[64];
    const char *unknown[] = {"/nope", "/api/v1/checks/", "/api/v1/checks//samples", "//",
                             "/healthz/", "/api/v1", "/api/v1/checks/x/samples/extra", "", "healthz",
                             "/api/v1/checks/x/run/"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_int_equal(m(r, "GET", unknown[i], &route, &p, allow), HTTP_ROUTER_NOT_FOUND);
        assert_null(route);
        assert_string_equal(allow, "");
    }
    assert_int_equal(http_router_match(r, "GET", NULL, &route, &p, allow, sizeof(allow)), HTTP_ROUTER_NOT_FOUND);
    http_router_destroy(r);
}

static void test_router_returns_405_with_allow(void **state)
{
    struct http_router *r = http_router_new(routes, N_ROUTES);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    assert_int_equal(m(r, "PUT", "/api/v1/checks", &route, &p, allow), HTTP_ROUTER_BAD_METHOD);
    assert_null(route);
    assert_string_equal(allow, "GET, POST, HEAD");
    assert_int_equal(m(r, "POST", "/api/v1/checks/abc", &route, &p, allow), HTTP_ROUTER_BAD_METHOD);
    assert_string_equal(allow, "GET, DELETE, HEAD");
    assert_int_equal(m(r, "GET", "/api/v1/checks/abc/run", &route, &p, allow), HTTP_ROUTER_BAD_METHOD);
    assert_string_equal(allow, "POST");
    /* A too-small Allow buffer is left holding what fits. */
    assert_int_equal(http_router_match(r, "PUT", "/api/v1/checks", &route, &p, allow, 6), HTTP_ROUTER_BAD_METHOD);
    assert_string_equal(allow, "GET");
    http_router_destroy(r);
}

static void test_router_serves_head_with_get_routes(void **state)
{
    struct http_router *r = http_router_new(routes, N_ROUTES);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    assert_int_equal(m(r, "HEAD", "/api/v1/checks/7", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &routes[4]);
    assert_string_equal(http_params_get(&p, "id"), "7");
    assert_int_equal(m(r, "HEAD", "/api/v1/checks/7/run", &route, &p, allow), HTTP_ROUTER_BAD_METHOD);
    http_router_destroy(r);
}

static void test_router_takes_decoded_segments_verbatim(void **state)
{
    struct http_router *r = http_router_new(routes, N_ROUTES);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    /* The server decoded "a%20b%25" to "a b%"; the router must not decode again. */
    assert_int_equal(m(r, "GET", "/api/v1/checks/a b%25", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_params_get(&p, "id"), "a b%25");
    assert_int_equal(m(r, "GET", "/api/v1/checks/caf\xc3\xa9", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_params_get(&p, "id"), "caf\xc3\xa9");
    char path[512], seg[200];
    memset(seg, 'x', sizeof(seg));
    seg[127] = '\0';
    snprintf(path, sizeof(path), "/api/v1/checks/%s", seg);
    assert_int_equal(m(r, "GET", path, &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_int_equal(strlen(http_params_get(&p, "id")), 127);
    seg[127] = 'x';
    seg[128] = '\0';
    snprintf(path, sizeof(path), "/api/v1/checks/%s", seg);
    assert_int_equal(m(r, "GET", path, &route, &p, allow), HTTP_ROUTER_NOT_FOUND);
    http_router_destroy(r);
}

static void test_router_rejects_bad_patterns(void **state)
{
    const char *bad[] = {"", "x", "/a/", "//", "/a//b", "/{}", "/{a", "/a}", "/{a}{b}", "/{a-b}",
                         "/{id}/{id}", "/x{id}", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}",
                         "/{*}", "/{a**}", "/{a*}/b", "/{a*}/", "/x/{a*}/{b*}", "/{id}/{id*}", "/{*a}",
                         "/a*", "/{a*b}", "/assets/{path*}x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_route one = ROUTE("GET", bad[i], h_a);
        struct http_router *r = http_router_new(&one, 1);
        if (r)
            fail_msg("pattern '%s' accepted", bad[i]);
    }
    struct http_route nomethod = ROUTE("", "/a", h_a);
    assert_null(http_router_new(&nomethod, 1));
    struct http_route nohandler = ROUTE("GET", "/a", NULL);
    assert_null(http_router_new(&nohandler, 1));
    struct http_router *empty = http_router_new(NULL, 0);
    assert_non_null(empty);
    assert_int_equal(http_router_match(empty, "GET", "/", NULL, NULL, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    http_router_destroy(empty);
}

static void test_router_handles_many_routes(void **state)
{
    enum { N = 300 };
    static char patterns[N][64];
    static struct http_route many[N];
    for (int i = 0; i < N; i++) {
        snprintf(patterns[i], sizeof(patterns[i]), "/r%d/{id}/leaf%d", i / 3, i % 3);
        many[i] = (struct http_route)ROUTE(i % 2 ? "POST" : "GET", patterns[i], h_a);
    }
    struct http_router *r = http_router_new(many, N);
    assert_non_null(r);
    for (int i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/r%d/v%d/leaf%d", i / 3, i, i % 3);
        const struct http_route *route;
        struct http_params p;
        char allow[64];
        assert_int_equal(m(r, many[i].method, path, &route, &p, allow), HTTP_ROUTER_FOUND);
        assert_ptr_equal(route, &many[i]);
        char want[16];
        snprintf(want, sizeof(want), "v%d", i);
        assert_string_equal(http_params_get(&p, "id"), want);
    }
    http_router_destroy(r);
}

static const struct http_route prefixed[] = {
    ROUTE("GET", "/{path*}", h_a),                 /* listed first: must still lose to the rest */
    ROUTE("GET", "/assets/{path*}", h_b),
    ROUTE("GET", "/healthz", h_a),
    ROUTE("GET", "/files/{kind}/{path*}", h_a),
    ROUTE("POST", "/upload/{path*}", h_b),
    ROUTE("GET", "/assets/manifest.json", h_a),
};

static void test_router_prefix_route_captures_the_rest_of_the_path(void **state)
{
    struct http_router *r = http_router_new(&prefixed[1], 1);
    assert_non_null(r);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    const char *path = "/assets/js/vendor/app.3f9a1c2b.js";
    assert_int_equal(m(r, "GET", path, &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[1]);
    assert_string_equal(http_params_get(&p, "path"), "js/vendor/app.3f9a1c2b.js");
    assert_ptr_equal(http_params_get(&p, "path"), path + 8);  /* borrowed from the path, not copied */
    assert_int_equal(p.n, 0);
    assert_int_equal(m(r, "GET", "/assets/a", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_params_get(&p, "path"), "a");
    /* Longer than a {name} slot, and as deep as the router goes (32 segments). */
    char longpath[1024] = "/assets";
    for (int i = 0; i < 31; i++)
        strcat(longpath, "/abcdefghijklmnopqrstuvwxyz");
    assert_int_equal(m(r, "GET", longpath, &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_int_equal(strlen(http_params_get(&p, "path")), strlen(longpath) - 8);
    strcat(longpath, "/one-too-many");
    assert_int_equal(m(r, "GET", longpath, &route, &p, allow), HTTP_ROUTER_NOT_FOUND);
    /* HEAD is served by the GET prefix route; other methods are 405. */
    assert_int_equal(m(r, "HEAD", "/assets/x.css", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_params_get(&p, "path"), "x.css");
    assert_int_equal(m(r, "POST", "/assets/x.css", &route, &p, allow), HTTP_ROUTER_BAD_METHOD);
    assert_string_equal(allow, "GET, HEAD");
    assert_null(http_params_get(&p, "path"));
    /* The prefix alone, empty segments and other prefixes are no match. */
    const char *unknown[] = {"/assets", "/assets/", "/assets//x", "/assets/x/", "/assets/x//y",
                             "/assetsx/y", "/asset/x", "/", "/x/assets/y"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (m(r, "GET", unknown[i], &route, &p, allow) != HTTP_ROUTER_NOT_FOUND)
            fail_msg("'%s' matched the prefix route", unknown[i]);
        assert_null(route);
        assert_null(http_params_get(&p, "path"));
    }
    /* Segments are taken verbatim: the static file module judges ".." etc. */
    assert_int_equal(m(r, "GET", "/assets/../etc/passwd", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_params_get(&p, "path"), "../etc/passwd");
    http_router_destroy(r);
}

static void test_router_exact_routes_and_longer_prefixes_win(void **state)
{
    struct http_router *r = http_router_new(prefixed, sizeof(prefixed) / sizeof(prefixed[0]));
    assert_non_null(r);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    assert_int_equal(m(r, "GET", "/healthz", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[2]);
    assert_null(http_params_get(&p, "path"));
    assert_int_equal(m(r, "GET", "/assets/manifest.json", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[5]);
    assert_int_equal(m(r, "GET", "/assets/app.js", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[1]);
    assert_string_equal(http_params_get(&p, "path"), "app.js");
    assert_int_equal(m(r, "GET", "/index.html", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[0]);
    assert_string_equal(http_params_get(&p, "path"), "index.html");
    assert_int_equal(m(r, "GET", "/healthz/x", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[0]);
    /* {name} and {name*} in one pattern. */
    assert_int_equal(m(r, "GET", "/files/logs/2024/a.txt", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[3]);
    assert_string_equal(http_params_get(&p, "kind"), "logs");
    assert_string_equal(http_params_get(&p, "path"), "2024/a.txt");
    /* A path only a POST prefix knows, asked with GET: the GET catch-all
     * takes it; asked with DELETE: 405 naming both. */
    assert_int_equal(m(r, "GET", "/upload/a", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &prefixed[0]);
    assert_int_equal(m(r, "DELETE", "/upload/a", &route, &p, allow), HTTP_ROUTER_BAD_METHOD);
    assert_string_equal(allow, "POST, GET, HEAD");
    http_router_destroy(r);
}

/* "{id}.ics": the value without the suffix; wins over "{id}" whatever the
 * order; the bare suffix or a longer one is no match of it. */
static void test_router_param_with_suffix(void **state)
{
    static const struct http_route suffixed[] = {
        ROUTE("GET", "/r/{id}", h_a),
        ROUTE("GET", "/r/{id}.ics", h_b),
        ROUTE("GET", "/r/{id}/x", h_a),
    };
    struct http_router *r = http_router_new(suffixed, 3);
    assert_non_null(r);
    const struct http_route *route;
    struct http_params p;
    char allow[64];
    assert_int_equal(m(r, "GET", "/r/ops.ics", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &suffixed[1]);
    assert_string_equal(http_params_get(&p, "id"), "ops");
    assert_int_equal(m(r, "GET", "/r/ops", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &suffixed[0]);
    assert_string_equal(http_params_get(&p, "id"), "ops");
    assert_int_equal(m(r, "GET", "/r/.ics", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &suffixed[0]);   /* an empty value: only the plain route takes it */
    assert_int_equal(m(r, "GET", "/r/a.icsx", &route, &p, allow), HTTP_ROUTER_FOUND);
    assert_ptr_equal(route, &suffixed[0]);
    http_router_destroy(r);
    static const struct http_route bad[] = {ROUTE("GET", "/r/{id}.i{x}", h_a)};
    assert_null(http_router_new(bad, 1));
    static const struct http_route bad2[] = {ROUTE("GET", "/r/{p*}.x", h_a)};
    assert_null(http_router_new(bad2, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_matches_literals_and_params),
        cmocka_unit_test(test_router_returns_404_for_unknown_paths),
        cmocka_unit_test(test_router_returns_405_with_allow),
        cmocka_unit_test(test_router_serves_head_with_get_routes),
        cmocka_unit_test(test_router_takes_decoded_segments_verbatim),
        cmocka_unit_test(test_router_rejects_bad_patterns),
        cmocka_unit_test(test_router_handles_many_routes),
        cmocka_unit_test(test_router_prefix_route_captures_the_rest_of_the_path),
        cmocka_unit_test(test_router_exact_routes_and_longer_prefixes_win),
        cmocka_unit_test(test_router_param_with_suffix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
