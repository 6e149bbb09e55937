/*
 * tests/http/test_openapi: the renderer. The document built from the real
 * route table and schemas documents every route (method, path parameters,
 * security, minimum role, rate class) from the route entry alone; a route
 * without summary, tag or response, a duplicated route, a path parameter
 * the pattern lacks, an unknown schema or a bad type spec fails the build
 * naming the route; the HTML page escapes everything and carries no script
 * or style. With env OPSHUB_OPENAPI_DUMP=FILE it also writes the document
 * there (for a validator, or to compare two builds).
 */
#include "auth/role.h"
#include "base/alloc.h"
#include "http/openapi.h"
#include "http/routes.h"
#include "http/schemas.h"
#include "probe/registry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void h(void *app, struct http_request *req, const struct http_params *p) {}

/* A route with the least documentation that builds: a tag, a summary and
 * one answer. */
#define ROUTE(m, pat, role, rate, sum)                                                      \
    {.method = (m), .pattern = (pat), .min_role = (role), .rate_class = (rate), .handler = h, \
     .doc = {.tag = "health", .summary = (sum), .responses = HTTP_ROUTE_RESPONSES({200, NULL, "OK"})}}

/* Builds over `routes` with the real tags and schemas. */
static json_t *build(const struct http_route *routes, size_t n, const char *version, char *err, size_t errlen)
{
    const struct http_openapi_src src = {
        .routes = routes, .n_routes = n, .tags = http_routes_tags, .n_tags = http_routes_n_tags,
        .schemas = http_schemas, .n_schemas = http_schemas_n,
    };
    return http_openapi_build(&src, version, err, errlen);
}

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

/* The pattern as the document spells it: "{path*}" is "{path}". */
static void doc_path(const char *pattern, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 1 < n; p++)
        if (!(p[0] == '*' && p[1] == '}'))
            out[o++] = *p;
    out[o] = '\0';
}

/* Everything the document must say about one route, from the route itself. */
static void assert_route_documented(json_t *doc, const struct http_route *r)
{
    char path[256];
    doc_path(r->pattern, path, sizeof(path));
    json_t *op = op_of(doc, r->method, path);
    if (!op)
        fail_msg("%s %s missing from the document", r->method, r->pattern);
    assert_string_equal(json_string_value(json_object_get(op, "summary")), r->doc.summary);
    assert_string_equal(json_string_value(json_object_get(op, "x-min-role")), auth_role_name(r->min_role));
    assert_string_equal(json_string_value(json_array_get(json_object_get(op, "tags"), 0)), r->doc.tag);
    if (r->doc.description)
        assert_string_equal(json_string_value(json_object_get(op, "description")), r->doc.description);
    json_t *sec = json_object_get(op, "security");
    json_t *resp = json_object_get(op, "responses");
    if (r->min_role == AUTH_ROLE_PUBLIC) {
        assert_null(sec);
        /* Only a 403 of its own (refresh by cookie: csrf), never the generic one. */
        const char *d403 = json_string_value(json_object_get(json_object_get(resp, "403"), "description"));
        assert_true(d403 == NULL || strncmp(d403, "Authenticated, but", 18) != 0);
        /* Only a 401 of its own (login: invalid credentials), never the generic one. */
        const char *d401 = json_string_value(json_object_get(json_object_get(resp, "401"), "description"));
        assert_true(d401 == NULL || strncmp(d401, "Missing, malformed", 18) != 0);
    } else {
        /* A bearer token or the browser session's cookie. */
        assert_int_equal(json_array_size(sec), 2);
        json_t *scopes = json_object_get(json_array_get(sec, 0), "bearerAuth");
        assert_true(json_is_array(scopes));
        assert_int_equal(json_array_size(scopes), 0);
        scopes = json_object_get(json_array_get(sec, 1), "cookieAuth");
        assert_true(json_is_array(scopes));
        assert_int_equal(json_array_size(scopes), 0);
        assert_non_null(json_object_get(resp, "401"));
        assert_non_null(json_object_get(resp, "403"));
    }
    bool api = strncmp(r->pattern, "/api/v1/", 8) == 0;
    assert_int_equal(json_object_get(resp, "429") != NULL, api);
    size_t captures = 0;
    for (const char *s = strchr(path, '{'); s; s = strchr(s + 1, '{')) {
        const char *e = strchr(s, '}');
        assert_non_null(e);
        if (!has_path_param(op, s + 1, (size_t)(e - s - 1)))
            fail_msg("%s %s does not declare path parameter %.*s", r->method, r->pattern,
                     (int)(e - s - 1), s + 1);
        captures++;
    }
    assert_int_equal(count_in(op, "path"), captures);
    size_t queries = 0;
    for (const struct http_route_param *q = r->doc.params; q && q->name; q++)
        queries += !strcmp(q->in, "query");
    assert_int_equal(count_in(op, "query"), queries);
    for (const struct http_route_response *x = r->doc.responses; x && x->status; x++) {
        char status[8];
        snprintf(status, sizeof(status), "%d", x->status);
        json_t *one = json_object_get(resp, status);
        if (!one)
            fail_msg("%s %s: response %d missing", r->method, r->pattern, x->status);
        assert_string_equal(json_string_value(json_object_get(one, "description")), x->description);
    }
    json_t *body = json_object_get(op, "requestBody");
    assert_int_equal(body != NULL, r->doc.body != NULL);
    if (r->rate_class)
        assert_string_equal(json_string_value(json_object_get(op, "x-rate-limit")), r->rate_class);
    else
        assert_null(json_object_get(op, "x-rate-limit"));
}

static void test_openapi_documents_every_route_of_the_table(void **state)
{
    char err[256] = "untouched";
    json_t *doc = build(http_routes, http_routes_n, "9.9.9", err, sizeof(err));
    if (!doc)
        fail_msg("build failed: %s", err);
    assert_string_equal(err, "");
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
        ops += json_object_size(item);
    assert_int_equal(ops, http_routes_n);
    for (size_t i = 0; i < http_routes_n; i++)
        assert_route_documented(doc, &http_routes[i]);
    const char *dump = getenv("OPSHUB_OPENAPI_DUMP");
    if (dump && *dump)
        assert_int_equal(json_dump_file(doc, dump, JSON_INDENT(2)), 0);
    json_decref(doc);
}

static void test_openapi_fails_naming_an_undocumented_route(void **state)
{
    struct http_route routes[] = {
        ROUTE("GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, "Liveness"),
        ROUTE("DELETE", "/api/v1/samples/{id}", AUTH_ROLE_ADMIN, NULL, "Delete a sample"),
        ROUTE("GET", "/api/v1/also-undocumented", AUTH_ROLE_VIEWER, NULL, NULL),
    };
    char err[256];
    routes[1].doc.summary = NULL;
    assert_null(build(routes, 3, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "DELETE /api/v1/samples/{id}"));
    assert_non_null(strstr(err, "no summary or tag"));
    assert_null(strstr(err, "also-undocumented"));
    routes[1].doc.summary = "Delete a sample";
    routes[1].doc.tag = "";
    assert_null(build(routes, 2, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "DELETE /api/v1/samples/{id} has no summary or tag"));
    routes[1].doc.tag = "samples";
    assert_null(build(routes, 2, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "DELETE /api/v1/samples/{id}: tag samples is not in the tag list"));
    routes[1].doc.tag = "checks";
    routes[1].doc.responses = NULL;
    assert_null(build(routes, 2, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "DELETE /api/v1/samples/{id} documents no response"));
    routes[1].doc.responses = routes[0].doc.responses;
    json_t *doc = build(routes, 2, "1", err, sizeof(err));
    if (!doc)
        fail_msg("build failed: %s", err);
    json_decref(doc);
}

static void test_openapi_fails_on_a_duplicate_route_or_missing_summary(void **state)
{
    const struct http_route twice[] = {
        ROUTE("GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, "Liveness"),
        ROUTE("GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, "Liveness"),
    };
    char err[256];
    assert_null(build(twice, 2, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "GET /healthz is listed twice"));
    const struct http_route nosummary[] = {ROUTE("GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, NULL)};
    assert_null(build(nosummary, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "no summary"));
    const struct http_route empty[] = {ROUTE("GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, "")};
    assert_null(build(empty, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "no summary"));
}

/* Mistakes in a route's documentation fail the build naming the route. */
static void test_openapi_fails_on_bad_parameters_schemas_and_types(void **state)
{
    struct http_route r[] = {ROUTE("GET", "/api/v1/things/{id}", AUTH_ROLE_VIEWER, NULL, "One thing")};
    char err[256];
    r[0].doc.params = HTTP_ROUTE_PARAMS({"name", "path", "string", "Not in the pattern", true});
    assert_null(build(r, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "GET /api/v1/things/{id} documents path parameter 'name' that the pattern lacks"));
    r[0].doc.params = HTTP_ROUTE_PARAMS({"q", "header", "string", NULL, false});
    assert_null(build(r, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "unknown location 'header'"));
    r[0].doc.params = HTTP_ROUTE_PARAMS({"q", "query", "strnig", NULL, false});
    assert_null(build(r, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "bad type spec 'strnig'"));
    r[0].doc.params = NULL;
    r[0].doc.responses = HTTP_ROUTE_RESPONSES({200, "NoSuchSchema", "The thing"});
    assert_null(build(r, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "route GET /api/v1/things/{id} refers to undefined schema"));
    r[0].doc.responses = HTTP_ROUTE_RESPONSES({200, "Check", "The thing"}, {200, "Check", "Again"});
    assert_null(build(r, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "response status 200 is invalid or listed twice"));
    r[0].doc.responses = HTTP_ROUTE_RESPONSES({200, "Check", "The thing"});
    r[0].doc.body = "Nope";
    assert_null(build(r, 1, "1", err, sizeof(err)));
    assert_non_null(strstr(err, "undefined schema"));
    r[0].doc.body = "CheckPatch";
    json_t *doc = build(r, 1, "1", err, sizeof(err));
    if (!doc)
        fail_msg("build failed: %s", err);
    assert_route_documented(doc, &r[0]);
    json_decref(doc);
}

/* A prefix route's "{path*}" is an OpenAPI path parameter "{path}"; a
 * media-type answer is a string body of that type. */
static void test_openapi_renders_a_prefix_route(void **state)
{
    struct http_route r[] = {ROUTE("GET", "/assets/{path*}", AUTH_ROLE_PUBLIC, NULL, "A file")};
    r[0].doc.params = HTTP_ROUTE_PARAMS({"path", "path", "string", "The rest of the path", true});
    r[0].doc.responses = HTTP_ROUTE_RESPONSES({200, "*/*", "The file"}, {304, NULL, "Not modified"});
    char err[256];
    json_t *doc = build(r, 1, "1", err, sizeof(err));
    if (!doc)
        fail_msg("build failed: %s", err);
    assert_route_documented(doc, &r[0]);
    assert_null(json_object_get(json_object_get(doc, "paths"), "/assets/{path*}"));
    json_t *op = op_of(doc, "GET", "/assets/{path}");
    assert_non_null(op);
    assert_string_equal(json_string_value(json_object_get(op, "operationId")), "get_assets_path");
    json_t *param = json_array_get(json_object_get(op, "parameters"), 0);
    assert_string_equal(json_string_value(json_object_get(param, "description")), "The rest of the path");
    json_t *ok = json_object_get(json_object_get(op, "responses"), "200");
    json_t *any = json_object_get(json_object_get(ok, "content"), "*/*");
    assert_string_equal(json_string_value(json_object_get(json_object_get(any, "schema"), "type")), "string");
    assert_null(json_object_get(json_object_get(json_object_get(op, "responses"), "304"), "content"));
    json_decref(doc);
}

static void test_openapi_error_fits_any_buffer(void **state)
{
    const struct http_route routes[] = {ROUTE("GET", "/api/v1/a-rather-long-path", AUTH_ROLE_VIEWER, NULL, NULL)};
    char err[8];
    memset(err, 'x', sizeof(err));
    assert_null(build(routes, 1, "1", err, sizeof(err)));
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_null(build(routes, 1, "1", NULL, 0));
}

static void test_openapi_document_serialises_as_3_1_0(void **state)
{
    char err[256];
    json_t *doc = build(http_routes, http_routes_n, "0.1.0", err, sizeof(err));
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
    assert_int_equal(json_object_size(schemas), http_schemas_n);
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
    struct http_route routes[] = {
        ROUTE("GET", "/health", AUTH_ROLE_PUBLIC, NULL, "Health"),
        ROUTE("POST", "/api/v1/auth/login", AUTH_ROLE_PUBLIC, "10/min", "Sign in"),
        ROUTE("GET", "/api/v1/checks", AUTH_ROLE_VIEWER, NULL, "List"),
        ROUTE("POST", "/api/v1/checks/{id}/run", AUTH_ROLE_OPERATOR, NULL, "Run"),
        ROUTE("DELETE", "/api/v1/tokens/{id}", AUTH_ROLE_ADMIN, "5/min", "Revoke"),
    };
    routes[1].doc.body = "LoginRequest";
    routes[1].doc.responses = HTTP_ROUTE_RESPONSES({200, "AuthTokens", "Signed in"},
                                                   {401, "Error", "Invalid credentials"});
    char err[256];
    json_t *doc = build(routes, 5, "1", err, sizeof(err));
    assert_non_null(doc);
    for (size_t i = 0; i < 5; i++)
        assert_route_documented(doc, &routes[i]);
    assert_string_equal(json_string_value(json_object_get(op_of(doc, "DELETE", "/api/v1/tokens/{id}"),
                                                          "x-min-role")), "admin");
    assert_string_equal(json_string_value(json_object_get(op_of(doc, "GET", "/health"), "x-min-role")), "public");
    /* The route's own 401 ("invalid credentials") wins over the generic one;
     * a body brings the generic 400 and 415. */
    json_t *login = json_object_get(op_of(doc, "POST", "/api/v1/auth/login"), "responses");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(login, "401"), "description")),
                           "Invalid credentials"));
    assert_non_null(json_object_get(json_object_get(login, "429"), "headers"));
    assert_non_null(json_object_get(login, "400"));
    assert_non_null(json_object_get(login, "415"));
    assert_null(json_object_get(json_object_get(op_of(doc, "GET", "/api/v1/checks"), "responses"), "415"));
    /* Only tags in use are listed. */
    json_t *tags = json_object_get(doc, "tags");
    assert_int_equal(json_array_size(tags), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "name")), "health");
    json_decref(doc);
}

static void test_openapi_html_escapes_everything_and_has_no_script(void **state)
{
    const struct http_route routes[] = {
        ROUTE("GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, "<script>alert('x')</script> & \"co\""),
        ROUTE("GET", "/api/v1/checks/{id}", AUTH_ROLE_VIEWER, NULL, "One check"),
    };
    char err[256];
    json_t *doc = build(routes, 2, "<b>1</b>", err, sizeof(err));
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

/* The check schemas follow the type registry: a new type's fields appear
 * in CheckDefinition and its name in the type enums without editing docs. */
static void test_openapi_check_schemas_come_from_the_type_registry(void **state)
{
    char err[256];
    json_t *doc = build(http_routes, http_routes_n, "t", err, sizeof(err));
    assert_non_null(doc);
    const struct conf_check_types *types = probe_registry_types();
    assert_int_equal(http_schemas_for_types(doc, types), 0);
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *def = json_object_get(schemas, "CheckDefinition");
    json_t *props = json_object_get(def, "properties");
    json_t *enum_ = json_object_get(json_object_get(props, "type"), "enum");
    assert_int_equal(json_array_size(enum_), types->n);
    json_t *check_enum = json_object_get(json_object_get(json_object_get(json_object_get(schemas, "Check"),
                                                                         "properties"), "type"), "enum");
    assert_true(json_equal(enum_, check_enum));
    for (size_t i = 0; i < types->n; i++) {
        assert_string_equal(json_string_value(json_array_get(enum_, i)), types->items[i]->name);
        for (const struct conf_field *f = types->items[i]->fields; f->name; f++) {
            json_t *p = json_object_get(props, f->name);
            if (!p)
                fail_msg("CheckDefinition lacks %s's field %s", types->items[i]->name, f->name);
            assert_non_null(strstr(json_string_value(json_object_get(p, "description")), types->items[i]->name));
        }
    }
    for (const struct conf_field *f = conf_check_common_fields; f->name; f++)
        assert_non_null(json_object_get(props, f->name));
    json_t *req = json_object_get(def, "required");
    assert_int_equal(json_array_size(req), 2);
    json_t *values = json_object_get(json_object_get(json_object_get(schemas, "Sample"), "properties"), "values");
    assert_string_equal(json_string_value(json_object_get(json_object_get(values, "additionalProperties"), "type")),
                        "number");
    json_t *bare = json_object();
    assert_int_equal(http_schemas_for_types(bare, types), BASE_ERR_INVALID);
    json_decref(bare);
    json_decref(doc);
}

static void test_openapi_html_renders_the_real_document(void **state)
{
    char err[256];
    json_t *doc = build(http_routes, http_routes_n, "0.1.0", err, sizeof(err));
    assert_non_null(doc);
    size_t len = 0;
    char *html = http_openapi_render_html(doc, &len);
    assert_non_null(html);
    for (size_t i = 0; i < http_routes_n; i++) {
        char needle[300];
        snprintf(needle, sizeof(needle), "<td><code>%s</code></td><td id=", http_routes[i].method);
        assert_non_null(strstr(html, needle));
        char path[256];
        doc_path(http_routes[i].pattern, path, sizeof(path));
        snprintf(needle, sizeof(needle), "<code>%s</code>", path);
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
        cmocka_unit_test(test_openapi_fails_on_bad_parameters_schemas_and_types),
        cmocka_unit_test(test_openapi_renders_a_prefix_route),
        cmocka_unit_test(test_openapi_error_fits_any_buffer),
        cmocka_unit_test(test_openapi_document_serialises_as_3_1_0),
        cmocka_unit_test(test_openapi_public_and_protected_routes),
        cmocka_unit_test(test_openapi_html_escapes_everything_and_has_no_script),
        cmocka_unit_test(test_openapi_html_renders_the_real_document),
        cmocka_unit_test(test_openapi_check_schemas_come_from_the_type_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
