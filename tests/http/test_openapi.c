/*
 * tests/http/test_openapi: the OpenAPI document built from the real route
 * table documents every route (method, path parameters, security, minimum
 * role); an undocumented or duplicated route fails the build naming it;
 * every documentation entry (including routes not wired yet) builds; the
 * HTML page escapes everything and carries no script or style. With env
 * OPSHUB_OPENAPI_DUMP=FILE it also writes the document there, and with
 * OPSHUB_OPENAPI_DUMP_ALL=FILE the one of every entry (for a validator).
 */
#include "auth/role.h"
#include "base/alloc.h"
#include "http/api_int.h"
#include "http/openapi.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void h(void *app, struct http_request *req, const struct http_params *p) {}

static void lower(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static json_t *op_of(json_t *doc, const char *method, const char *pattern)
{
    char m[16];
    lower(method, m, sizeof(m));
    return json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), m);
}

static bool has_path_param(json_t *op, const char *name, size_t len)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p) {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strlen(n) == len && !strncmp(n, name, len) &&
            !strcmp(json_string_value(json_object_get(p, "in")), "path") &&
            json_is_true(json_object_get(p, "required")))
            return true;
    }
    return false;
}

static size_t count_in(json_t *op, const char *in)
{
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
        n += !strcmp(json_string_value(json_object_get(p, "in")), in);
    return n;
}

/* Everything the document must say about one route, from the route itself. */
static void assert_route_documented(json_t *doc, const struct http_route *r)
{
    json_t *op = op_of(doc, r->method, r->pattern);
    if (!op)
        fail_msg("%s %s missing from the document", r->method, r->pattern);
    assert_string_equal(json_string_value(json_object_get(op, "summary")), r->summary);
    assert_string_equal(json_string_value(json_object_get(op, "x-min-role")), auth_role_name(r->access));
    assert_non_null(json_string_value(json_array_get(json_object_get(op, "tags"), 0)));
    json_t *sec = json_object_get(op, "security");
    json_t *resp = json_object_get(op, "responses");
    if (r->access == AUTH_ROLE_PUBLIC) {
        assert_null(sec);
        assert_null(json_object_get(resp, "403"));
        /* Only a 401 of its own (login: invalid credentials), never the generic one. */
        const char *d401 = json_string_value(json_object_get(json_object_get(resp, "401"), "description"));
        assert_true(d401 == NULL || strncmp(d401, "Missing, malformed", 18) != 0);
    } else {
        assert_int_equal(json_array_size(sec), 1);
        json_t *scopes = json_object_get(json_array_get(sec, 0), "bearerAuth");
        assert_true(json_is_array(scopes));
        assert_int_equal(json_array_size(scopes), 0);
        assert_non_null(json_object_get(resp, "401"));
        assert_non_null(json_object_get(resp, "403"));
    }
    bool api = strncmp(r->pattern, "/api/v1/", 8) == 0;
    assert_int_equal(json_object_get(resp, "429") != NULL, api);
    size_t captures = 0;
    for (const char *s = strchr(r->pattern, '{'); s; s = strchr(s + 1, '{')) {
        const char *e = strchr(s, '}');
        assert_non_null(e);
        if (!has_path_param(op, s + 1, (size_t)(e - s - 1)))
            fail_msg("%s %s does not declare path parameter %.*s", r->method, r->pattern,
                     (int)(e - s - 1), s + 1);
        captures++;
    }
    assert_int_equal(count_in(op, "path"), captures);
    if (r->rate_limit)
        assert_string_equal(json_string_value(json_object_get(op, "x-rate-limit")), r->rate_limit);
    else
        assert_null(json_object_get(op, "x-rate-limit"));
}

static void test_openapi_documents_every_route_of_the_table(void **state)
{
    char err[256] = "untouched";
    json_t *doc = http_openapi_build(api_routes, api_n_routes, "9.9.9", err, sizeof(err));
    if (!doc)
        fail_msg("build failed: %s", err);
    assert_string_equal(err, "");
    for (size_t i = 0; i < api_n_routes; i++)
        assert_route_documented(doc, &api_routes[i]);
    /* Informative: entries waiting for their route. */
    for (size_t i = 0; http_openapi_doc_key(i); i++) {
        char method[16], pattern[200];
        if (sscanf(http_openapi_doc_key(i), "%15s %199s", method, pattern) != 2)
            fail_msg("bad documentation key '%s'", http_openapi_doc_key(i));
        if (!op_of(doc, method, pattern))
            print_message("documented, not routed yet: %s\n", http_openapi_doc_key(i));
    }
    const char *dump = getenv("OPSHUB_OPENAPI_DUMP");
    if (dump && *dump)
        assert_int_equal(json_dump_file(doc, dump, JSON_INDENT(2)), 0);
    json_decref(doc);
}

static void test_openapi_fails_naming_an_undocumented_route(void **state)
{
    const struct http_route routes[] = {
        {"GET", "/healthz", h, "Liveness", AUTH_ROLE_PUBLIC, NULL},
        {"DELETE", "/api/v1/samples/{id}", h, "Delete a sample", AUTH_ROLE_ADMIN, NULL},
        {"GET", "/api/v1/also-undocumented", h, "x", AUTH_ROLE_VIEWER, NULL},
    };
    char err[256];
    assert_null(http_openapi_build(routes, 3, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "DELETE /api/v1/samples/{id}"));
    assert_non_null(strstr(err, "no documentation"));
    assert_null(strstr(err, "also-undocumented"));
    /* A documented method on another pattern is not the same route. */
    const struct http_route trailing[] = {{"GET", "/healthz/", h, "x", AUTH_ROLE_PUBLIC, NULL}};
    assert_null(http_openapi_build(trailing, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "GET /healthz/"));
    const struct http_route method[] = {{"POST", "/healthz", h, "x", AUTH_ROLE_PUBLIC, NULL}};
    assert_null(http_openapi_build(method, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "POST /healthz"));
}

static void test_openapi_fails_on_a_duplicate_route_or_missing_summary(void **state)
{
    const struct http_route twice[] = {
        {"GET", "/healthz", h, "Liveness", AUTH_ROLE_PUBLIC, NULL},
        {"GET", "/healthz", h, "Liveness", AUTH_ROLE_PUBLIC, NULL},
    };
    char err[256];
    assert_null(http_openapi_build(twice, 2, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "GET /healthz is listed twice"));
    const struct http_route nosummary[] = {{"GET", "/healthz", h, NULL, AUTH_ROLE_PUBLIC, NULL}};
    assert_null(http_openapi_build(nosummary, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "no summary"));
    const struct http_route empty[] = {{"GET", "/healthz", h, "", AUTH_ROLE_PUBLIC, NULL}};
    assert_null(http_openapi_build(empty, 1, "1", err, sizeof(err)));
}

static void test_openapi_error_fits_any_buffer(void **state)
{
    const struct http_route routes[] = {{"GET", "/api/v1/a-rather-long-undocumented-path", h, "x", 1, NULL}};
    char err[8];
    memset(err, 'x', sizeof(err));
    assert_null(http_openapi_build(routes, 1, "1", err, sizeof(err)));
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_null(http_openapi_build(routes, 1, "1", NULL, 0));
}

/* Every documentation entry, planned routes included, builds into a valid
 * operation: its path parameters exist in its pattern, its schemas exist. */
static void test_openapi_every_documentation_entry_builds(void **state)
{
    size_t n = 0;
    while (http_openapi_doc_key(n))
        n++;
    assert_true(n >= api_n_routes);
    struct http_route *routes = base_calloc(n, sizeof(*routes));
    char (*keys)[2][200] = base_calloc(n, sizeof(*keys));
    assert_non_null(routes);
    assert_non_null(keys);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sscanf(http_openapi_doc_key(i), "%199s %199s", keys[i][0], keys[i][1]), 2);
        routes[i] = (struct http_route){keys[i][0], keys[i][1], h, "summary", (int)(i % 4), NULL};
    }
    char err[256];
    json_t *doc = http_openapi_build(routes, n, "1", err, sizeof(err));
    if (!doc)
        fail_msg("build failed: %s", err);
    for (size_t i = 0; i < n; i++)
        assert_route_documented(doc, &routes[i]);
    const char *dump = getenv("OPSHUB_OPENAPI_DUMP_ALL");
    if (dump && *dump)
        assert_int_equal(json_dump_file(doc, dump, JSON_INDENT(2)), 0);
    json_decref(doc);
    base_free(keys);
    base_free(routes);
}

static void test_openapi_document_serialises_as_3_1_0(void **state)
{
    char err[256];
    json_t *doc = http_openapi_build(api_routes, api_n_routes, "0.1.0", err, sizeof(err));
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(back);
    assert_true(json_equal(doc, back));
    assert_string_equal(json_string_value(json_object_get(back, "openapi")), "3.1.0");
    json_t *info = json_object_get(back, "info");
    assert_string_equal(json_string_value(json_object_get(info, "version")), "0.1.0");
    assert_string_equal(json_string_value(json_object_get(info, "title")), "opshub API");
    json_t *bearer = json_object_get(json_object_get(json_object_get(back, "components"),
                                                     "securitySchemes"), "bearerAuth");
    assert_string_equal(json_string_value(json_object_get(bearer, "type")), "http");
    assert_string_equal(json_string_value(json_object_get(bearer, "scheme")), "bearer");
    assert_string_equal(json_string_value(json_object_get(bearer, "bearerFormat")), "JWT or opshub API token");
    /* The error shape every /api/v1 answer may carry. */
    json_t *schemas = json_object_get(json_object_get(back, "components"), "schemas");
    json_t *body = json_object_get(json_object_get(schemas, "ErrorBody"), "properties");
    assert_non_null(json_object_get(body, "code"));
    assert_non_null(json_object_get(body, "message"));
    assert_non_null(json_object_get(body, "field"));
    /* Nullable times and refs. */
    json_t *since = json_object_get(json_object_get(json_object_get(schemas, "Check"), "properties"), "since");
    assert_string_equal(json_string_value(json_object_get(since, "format")), "date-time");
    assert_string_equal(json_string_value(json_array_get(json_object_get(since, "type"), 1)), "null");
    /* /metrics is text, not JSON. */
    json_t *metrics = op_of(back, "GET", "/metrics");
    assert_non_null(json_object_get(json_object_get(json_object_get(json_object_get(metrics, "responses"),
                                                                    "200"), "content"), "text/plain"));
    free(text);
    json_decref(back);
    json_decref(doc);
}

static void test_openapi_public_and_protected_routes(void **state)
{
    const struct http_route routes[] = {
        {"GET", "/health", h, "Health", AUTH_ROLE_PUBLIC, NULL},
        {"POST", "/api/v1/auth/login", h, "Sign in", AUTH_ROLE_PUBLIC, "10/min"},
        {"GET", "/api/v1/checks", h, "List", AUTH_ROLE_VIEWER, NULL},
        {"POST", "/api/v1/checks/{id}/run", h, "Run", AUTH_ROLE_OPERATOR, NULL},
        {"DELETE", "/api/v1/tokens/{id}", h, "Revoke", AUTH_ROLE_ADMIN, "5/min"},
    };
    char err[256];
    json_t *doc = http_openapi_build(routes, 5, "1", err, sizeof(err));
    assert_non_null(doc);
    for (size_t i = 0; i < 5; i++)
        assert_route_documented(doc, &routes[i]);
    assert_string_equal(json_string_value(json_object_get(op_of(doc, "DELETE", "/api/v1/tokens/{id}"),
                                                          "x-min-role")), "admin");
    assert_string_equal(json_string_value(json_object_get(op_of(doc, "GET", "/health"), "x-min-role")), "public");
    /* The doc's own 401 ("invalid credentials") wins over the generic one. */
    json_t *login = json_object_get(op_of(doc, "POST", "/api/v1/auth/login"), "responses");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(login, "401"), "description")),
                           "Invalid credentials"));
    assert_non_null(json_object_get(json_object_get(login, "429"), "headers"));
    /* Only tags in use are listed. */
    json_t *tags = json_object_get(doc, "tags");
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
        assert_string_not_equal(json_string_value(json_object_get(t, "name")), "audit");
    json_decref(doc);
}

static void test_openapi_html_escapes_everything_and_has_no_script(void **state)
{
    const struct http_route routes[] = {
        {"GET", "/healthz", h, "<script>alert('x')</script> & \"co\"", AUTH_ROLE_PUBLIC, NULL},
        {"GET", "/api/v1/checks/{id}", h, "One check", AUTH_ROLE_VIEWER, NULL},
    };
    char err[256];
    json_t *doc = http_openapi_build(routes, 2, "<b>1</b>", err, sizeof(err));
    assert_non_null(doc);
    size_t len = 0;
    char *html = http_openapi_render_html(doc, &len);
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"));
    assert_non_null(strstr(html, "&lt;b&gt;1&lt;/b&gt;"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, " style="));
    assert_null(strstr(html, "javascript:"));
    assert_non_null(strstr(html, "<a href=\"/api/v1/openapi.json\">"));
    assert_non_null(strstr(html, "<code>/api/v1/checks/{id}</code>"));
    assert_non_null(strstr(html, "<td>viewer</td>"));
    assert_non_null(strstr(html, "<li><code>id</code> (path, string, required)"));
    assert_non_null(strstr(html, "id=\"schema-Check\""));
    base_free(html);
    json_decref(doc);
}

static void test_openapi_html_renders_the_real_document(void **state)
{
    char err[256];
    json_t *doc = http_openapi_build(api_routes, api_n_routes, "0.1.0", err, sizeof(err));
    assert_non_null(doc);
    size_t len = 0;
    char *html = http_openapi_render_html(doc, &len);
    assert_non_null(html);
    for (size_t i = 0; i < api_n_routes; i++) {
        char needle[300];
        snprintf(needle, sizeof(needle), "<td><code>%s</code></td><td id=", api_routes[i].method);
        assert_non_null(strstr(html, needle));
        snprintf(needle, sizeof(needle), "<code>%s</code>", api_routes[i].pattern);
        assert_non_null(strstr(html, needle));
    }
    base_free(html);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_documents_every_route_of_the_table),
        cmocka_unit_test(test_openapi_fails_naming_an_undocumented_route),
        cmocka_unit_test(test_openapi_fails_on_a_duplicate_route_or_missing_summary),
        cmocka_unit_test(test_openapi_error_fits_any_buffer),
        cmocka_unit_test(test_openapi_every_documentation_entry_builds),
        cmocka_unit_test(test_openapi_document_serialises_as_3_1_0),
        cmocka_unit_test(test_openapi_public_and_protected_routes),
        cmocka_unit_test(test_openapi_html_escapes_everything_and_has_no_script),
        cmocka_unit_test(test_openapi_html_renders_the_real_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
