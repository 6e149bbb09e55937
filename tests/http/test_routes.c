/*
 * tests/http/test_routes: the route table, walked entry by entry. Every
 * route has a method, a pattern the router accepts, a handler, a known
 * minimum role and rate class, a tag, a summary and at least one
 * documented answer naming schemas that exist; every mutating route (any
 * method but GET/HEAD/OPTIONS) has an audit action of the form
 * "noun.verb", unique in the table, and no read has one. Nothing here
 * lists the routes: adding one to http/routes.c is checked as it is.
 */
#include "auth/ratelimit.h"
#include "auth/role.h"
#include "http/router.h"
#include "http/routes.h"
#include "http/schemas.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static bool is_mutation(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0;
}

static bool schema_exists(const char *name)
{
    for (size_t i = 0; i < http_schemas_n; i++)
        if (strcmp(http_schemas[i].name, name) == 0)
            return true;
    return false;
}

static bool tag_exists(const char *name)
{
    for (size_t i = 0; i < http_routes_n_tags; i++)
        if (strcmp(http_routes_tags[i].name, name) == 0)
            return true;
    return false;
}

/* "check.create": lower-case words, one dot. */
static bool is_action_name(const char *a)
{
    const char *dot = strchr(a, '.');
    if (!dot || dot == a || !dot[1] || strchr(dot + 1, '.'))
        return false;
    for (const char *p = a; *p; p++)
        if (p != dot && !((*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    return true;
}

static void test_routes_table_builds_a_router(void **state)
{
    assert_true(http_routes_n >= 30);
    struct http_router *r = http_router_new(http_routes, http_routes_n);
    assert_non_null(r);
    /* Every entry is reachable: its own pattern (parameters filled in)
     * finds it, so no entry is shadowed by an earlier one. */
    for (size_t i = 0; i < http_routes_n; i++) {
        const struct http_route *rt = &http_routes[i];
        char path[256];
        size_t o = 0;
        for (const char *p = rt->pattern; *p && o + 8 < sizeof(path); p++) {
            if (*p != '{') {
                path[o++] = *p;
                continue;
            }
            memcpy(path + o, "x-1", 3);
            o += 3;
            p = strchr(p, '}');
            assert_non_null(p);
        }
        path[o] = '\0';
        const struct http_route *found = NULL;
        struct http_params params;
        char allow[64];
        assert_int_equal(http_router_match(r, rt->method, path, &found, &params, allow, sizeof(allow)),
                         HTTP_ROUTER_FOUND);
        if (found != rt)
            fail_msg("%s %s is shadowed by %s %s", rt->method, rt->pattern, found->method, found->pattern);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(http_routes[j].method, rt->method) && !strcmp(http_routes[j].pattern, rt->pattern))
                fail_msg("%s %s is declared twice", rt->method, rt->pattern);
    }
    http_router_destroy(r);
}

static void test_routes_every_route_has_docs(void **state)
{
    for (size_t i = 0; i < http_routes_n; i++) {
        const struct http_route *r = &http_routes[i];
        const struct http_route_doc *d = &r->doc;
        if (!d->summary || !d->summary[0])
            fail_msg("%s %s has no summary", r->method, r->pattern);
        if (!d->tag || !tag_exists(d->tag))
            fail_msg("%s %s: tag '%s' is not in http_routes_tags", r->method, r->pattern, d->tag ? d->tag : "");
        if (!d->responses || !d->responses[0].status)
            fail_msg("%s %s documents no answer", r->method, r->pattern);
        bool success = false;
        for (const struct http_route_response *x = d->responses; x->status; x++) {
            if (x->status < 100 || x->status > 599 || !x->description || !x->description[0])
                fail_msg("%s %s: answer %d has no description or a bad status", r->method, r->pattern, x->status);
            success |= x->status < 400;
            if (x->schema && !strchr(x->schema, '/') && !schema_exists(x->schema))
                fail_msg("%s %s: answer %d names unknown schema %s", r->method, r->pattern, x->status, x->schema);
        }
        if (!success)
            fail_msg("%s %s documents no successful answer", r->method, r->pattern);
        if (d->body && !schema_exists(d->body))
            fail_msg("%s %s: request body names unknown schema %s", r->method, r->pattern, d->body);
        for (const struct http_route_param *p = d->params; p && p->name; p++)
            if (!p->description || (strcmp(p->in, "query") && strcmp(p->in, "path")))
                fail_msg("%s %s: parameter %s lacks a description or a known location", r->method, r->pattern,
                         p->name);
    }
}

static void test_routes_every_route_has_a_role_and_rate_class(void **state)
{
    for (size_t i = 0; i < http_routes_n; i++) {
        const struct http_route *r = &http_routes[i];
        if (r->min_role < AUTH_ROLE_PUBLIC || r->min_role > AUTH_ROLE_ADMIN)
            fail_msg("%s %s: minimum role %d is not a role", r->method, r->pattern, (int)r->min_role);
        assert_non_null(r->handler);
        if (r->rate_class && strcmp(r->rate_class, HTTP_ROUTE_RATE_LOGIN) != 0) {
            struct auth_ratelimit_rate rate;
            if (auth_ratelimit_parse(r->rate_class, &rate) != 0)
                fail_msg("%s %s: rate class '%s' is neither a class nor a rate", r->method, r->pattern,
                         r->rate_class);
        }
        /* A public API route is a way in (login, refresh) or the API's own
         * description; anything else public under /api/v1 is a route that
         * forgot its role (an entry without .min_role is public). */
        bool way_in = r->rate_class && strcmp(r->rate_class, HTTP_ROUTE_RATE_LOGIN) == 0;
        bool describes = strcmp(r->pattern, "/api/v1/openapi.json") == 0;
        /* a calendar feed: its URL's token (a MAC of the rotation id) is the credential, and it has a rate */
        bool feed = strcmp(r->pattern, "/api/v1/rotations/{id}.ics") == 0 && r->rate_class;
        /* signed links (acknowledge, confirm or end a status page subscription): the signed token
         * is the credential, and they have a rate */
        bool ack_link = (strcmp(r->pattern, "/api/v1/ack/{token}") == 0 ||
                         strcmp(r->pattern, "/api/v1/status/confirm/{token}") == 0 ||
                         strcmp(r->pattern, "/api/v1/status/unsubscribe/{token}") == 0) &&
                        r->rate_class;
        /* the status page's subscribe form: stores nothing (it mails a signed link), and has a rate */
        ack_link |= strcmp(r->pattern, "/api/v1/status/subscribe") == 0 && r->rate_class;
        if (strncmp(r->pattern, "/api/", 5) == 0 && r->min_role == AUTH_ROLE_PUBLIC && !way_in && !describes && !feed &&
            !ack_link)
            fail_msg("%s %s is public", r->method, r->pattern);
        /* Heartbeat pings are public by design: the check's own token
         * (compared in constant time) is their credential. */
        bool pinged = strncmp(r->pattern, "/ping/", 6) == 0;
        if (is_mutation(r->method) && r->min_role == AUTH_ROLE_PUBLIC && !way_in && !pinged && !ack_link)
            fail_msg("%s %s changes state but is public without the login rate class", r->method, r->pattern);
    }
}

static void test_routes_every_mutation_has_an_audit_action(void **state)
{
    size_t mutations = 0;
    for (size_t i = 0; i < http_routes_n; i++) {
        const struct http_route *r = &http_routes[i];
        if (!is_mutation(r->method) || r->read_only) {
            if (r->audit_action)
                fail_msg("%s %s is a read with audit action %s", r->method, r->pattern, r->audit_action);
            continue;
        }
        mutations++;
        if (!r->audit_action)
            fail_msg("%s %s changes state but has no audit action", r->method, r->pattern);
        if (!is_action_name(r->audit_action))
            fail_msg("%s %s: audit action '%s' is not noun.verb", r->method, r->pattern, r->audit_action);
        for (size_t j = 0; j < i; j++)
            if (http_routes[j].audit_action && !strcmp(http_routes[j].audit_action, r->audit_action))
                fail_msg("audit action %s is used by %s %s and %s %s", r->audit_action, http_routes[j].method,
                         http_routes[j].pattern, r->method, r->pattern);
    }
    assert_true(mutations >= 10);
}

static void test_routes_action_names_are_checked(void **state)
{
    assert_true(is_action_name("check.create"));
    assert_true(is_action_name("auth.test_login"));
    const char *bad[] = {"", "check", ".create", "check.", "check.create.x", "Check.create", "check create"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (is_action_name(bad[i]))
            fail_msg("'%s' taken for an action name", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_table_builds_a_router),
        cmocka_unit_test(test_routes_every_route_has_docs),
        cmocka_unit_test(test_routes_every_route_has_a_role_and_rate_class),
        cmocka_unit_test(test_routes_every_mutation_has_an_audit_action),
        cmocka_unit_test(test_routes_action_names_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
