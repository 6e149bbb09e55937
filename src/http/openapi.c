/*
 * http/openapi: builds the OpenAPI 3.1 document from the route table and
 * the documentation table below (one entry per "METHOD pattern"), renders
 * it as plain HTML, and serves both. Owns a lazily built cache freed by
 * http_openapi_free_cache. Path parameters come from the pattern's {x}
 * captures; security, x-min-role and the 401/403/429 answers from the
 * route's access level, so the document cannot drift from what api.c
 * enforces. Must not invent routes: documentation without a route is unused.
 */
#include "http/openapi.h"

#include "auth/role.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/version.h"
#include "http/api_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the documentation table ---- */

/* Type specs (parameters and properties): "string", "integer", "number",
 * "boolean", "date-time", "duration", "object", "map" (object of strings),
 * "enum:a,b,c", a component name ("Sample"), "[]X" for an array of X; a
 * trailing '?' makes the value nullable. */
struct doc_param {
    const char *name;
    const char *in;          /* "query" or "path" (path ones only refine the pattern's) */
    const char *type;
    const char *description;
    bool required;
};

struct doc_response {
    int status;
    const char *schema;      /* component name, "text/plain", "text/html", or NULL: no body */
    const char *description;
};

struct doc_route {
    const char *key;         /* "GET /api/v1/checks/{id}" */
    const char *tag;
    const char *description; /* beyond the route's summary; may be NULL */
    const struct doc_param *params;        /* until name == NULL; may be NULL */
    const char *body;                      /* request body component, or NULL */
    bool body_optional;
    const struct doc_response *responses;  /* until status == 0 */
};

struct doc_prop {
    const char *name;
    const char *type;
    const char *description;
    bool optional;           /* not in "required" */
};

struct doc_schema {
    const char *name;
    const char *description;
    const char *type;        /* for a schema without properties (an enum) */
    const char *base;        /* copy this earlier schema's properties first */
    const struct doc_prop *props;          /* until name == NULL */
};

#define PARAMS(...) ((const struct doc_param[]){__VA_ARGS__, {NULL, NULL, NULL, NULL, false}})
#define RESP(...) ((const struct doc_response[]){__VA_ARGS__, {0, NULL, NULL}})
#define PROPS(...) ((const struct doc_prop[]){__VA_ARGS__, {NULL, NULL, NULL, false}})
#define PAGE_PARAMS                                                                  \
    {"limit", "query", "integer", "Page size, 1..1000 (default 100)", false},        \
    {"cursor", "query", "string", "Opaque: the next_cursor of the previous page", false}

static const struct doc_route doc_routes[] = {
    {"GET /healthz", "health", "Answers from static bytes; for load balancers.", NULL, NULL, false,
     RESP({200, "Healthz", "The loop is running"})},
    {"GET /health", "health", "status is down when the database is unreachable, degraded when the "
     "sample buffer is over 90% full or the loop lag is over 1 s.", NULL, NULL, false,
     RESP({200, "Health", "ok or degraded"}, {503, "Health", "down"})},
    {"GET /health/live", "health", NULL, NULL, NULL, false, RESP({200, "Live", "The loop is running"})},
    {"GET /health/ready", "health", NULL, NULL, NULL, false,
     RESP({200, "Ready", "Ready"}, {503, "Ready", "Configuration not loaded or database unavailable"})},
    {"GET /health/db", "health", NULL, NULL, NULL, false,
     RESP({200, "HealthDb", "Connected"}, {503, "HealthDb", "Disconnected"})},
    {"GET /metrics", "metrics", "Prometheus text format 0.0.4: per-check probe_* (blackbox_exporter "
     "names) and opshub_* metrics, see docs/api.md.", NULL, NULL, false,
     RESP({200, "text/plain", "Prometheus exposition text"})},
    {"GET /api/v1/checks", "checks", "In the order they run: the configuration file's checks, then "
     "those created through the API.",
     PARAMS({"limit", "query", "integer", "Page size, 1..10000 (default 1000)", false},
            {"cursor", "query", "string", "Opaque: the next_cursor of the previous page", false},
            {"project", "query", "string", "Only checks of this project", false},
            {"type", "query", "string", "Only checks of this type (http, tcp)", false},
            {"status", "query", "string", "Only checks with this status", false},
            {"source", "query", "string", "config or api", false}),
     NULL, false, RESP({200, "CheckList", "The checks"}, {400, "Error", "A malformed parameter"})},
    {"POST /api/v1/checks", "checks", "Validated by the configuration loader's own rules (the error's "
     "field is the JSON path of the bad value); stored with url, headers, body and send sealed "
     "(AES-256-GCM); running from the moment of the answer.",
     NULL, "CheckDefinition", false,
     RESP({201, "Check", "Created and scheduled"},
          {409, "Error", "The id is taken by the configuration file or the API (code conflict)"})},
    {"PATCH /api/v1/checks/{id}", "checks", "A JSON merge patch (RFC 7396) of the check's definition; "
     "null removes a member. If-Match: \"<version>\" makes it conditional.",
     PARAMS({"id", "path", "string", "Check id", true}), "CheckPatch", false,
     RESP({200, "Check", "Changed (the check restarts with fresh state)"}, {404, "Error", "Unknown check"},
          {409, "Error", "The check comes from the configuration file (code read_only)"},
          {412, "Error", "If-Match does not match the current version"})},
    {"DELETE /api/v1/checks/{id}", "checks", "Stops and deletes a check created through the API.",
     PARAMS({"id", "path", "string", "Check id", true}), NULL, false,
     RESP({204, NULL, "Deleted"}, {404, "Error", "Unknown check"},
          {409, "Error", "The check comes from the configuration file (code read_only)"},
          {412, "Error", "If-Match does not match the current version"})},
    {"GET /api/v1/projects", "projects", "The configuration file's projects, then the API's.",
     PARAMS(PAGE_PARAMS, {"source", "query", "string", "config or api", false}), NULL, false,
     RESP({200, "ProjectList", "One page of projects"}, {400, "Error", "A malformed parameter"})},
    {"POST /api/v1/projects", "projects", "Validated like a projects: entry of the file.", NULL,
     "ProjectDefinition", false,
     RESP({201, "Project", "Created"}, {409, "Error", "The id is taken (code conflict)"})},
    {"GET /api/v1/projects/{id}", "projects", NULL, PARAMS({"id", "path", "string", "Project id", true}),
     NULL, false, RESP({200, "Project", "The project"}, {404, "Error", "Unknown project"})},
    {"PATCH /api/v1/projects/{id}", "projects", "A JSON merge patch (RFC 7396) of the project.",
     PARAMS({"id", "path", "string", "Project id", true}), "ProjectPatch", false,
     RESP({200, "Project", "Changed"}, {404, "Error", "Unknown project"},
          {409, "Error", "The project comes from the configuration file (code read_only)"},
          {412, "Error", "If-Match does not match the current version"})},
    {"DELETE /api/v1/projects/{id}", "projects", "Only a project created through the API and without "
     "checks.", PARAMS({"id", "path", "string", "Project id", true}), NULL, false,
     RESP({204, NULL, "Deleted"}, {404, "Error", "Unknown project"},
          {409, "Error", "From the configuration file (read_only) or still has checks (conflict)"},
          {412, "Error", "If-Match does not match the current version"})},
    {"GET /api/v1/checks/{id}", "checks", NULL, PARAMS({"id", "path", "string", "Check id", true}),
     NULL, false, RESP({200, "Check", "The check"}, {404, "Error", "Unknown check"})},
    {"GET /api/v1/checks/{id}/samples", "checks", "Read from the store, newest first. Bad values "
     "are rejected (400 invalid_parameter with field), never replaced by the default.",
     PARAMS({"id", "path", "string", "Check id", true},
            {"from", "query", "string", "Oldest sample time, inclusive: unix seconds or ISO 8601", false},
            {"to", "query", "string", "Newest sample time, inclusive: unix seconds or ISO 8601", false},
            {"limit", "query", "integer", "1..10000, default 100", false}),
     NULL, false,
     RESP({200, "SampleList", "The samples"}, {400, "Error", "A malformed parameter (field names it)"},
          {404, "Error", "Unknown check"}, {503, "Error", "Database unavailable"})},
    {"POST /api/v1/checks/{id}/run", "checks", "Runs the check outside its schedule and answers "
     "when the run ends; the sample counts like any other.",
     PARAMS({"id", "path", "string", "Check id", true}), NULL, false,
     RESP({200, "CheckRun", "The run's sample and the resulting status"},
          {404, "Error", "Unknown check"},
          {409, "Error", "paused (check disabled) or canceled (reload or shutdown during the run)"})},
    {"POST /api/v1/auth/login", "auth", "Exchanges a username and password for an access token "
     "(JWT) and a refresh token.", NULL, "LoginRequest", false,
     RESP({200, "AuthTokens", "Signed in"},
          {401, "Error", "Invalid credentials (code invalid_credentials)"},
          {429, "Error", "Locked out after failed logins (code locked) or rate limited (code "
           "rate_limited); Retry-After says when to retry"})},
    {"POST /api/v1/auth/test-login", "auth", "Signs in as an existing user without a password, for "
     "tests and demos; answers 404 like an unknown route unless opshub runs with "
     "ALLOW_TEST_LOGIN=1.", NULL, "TestLoginRequest", false,
     RESP({200, "AuthTokens", "Signed in"}, {401, "Error", "Unknown or disabled user"},
          {404, "Error", "Test login is not enabled"})},
    {"POST /api/v1/auth/refresh", "auth", "Exchanges a refresh token for new tokens; the old "
     "refresh token is spent.", NULL, "RefreshRequest", false,
     RESP({200, "AuthTokens", "New tokens"},
          {401, "Error", "Invalid, expired or spent refresh token (code invalid_credentials)"})},
    {"POST /api/v1/auth/logout", "auth", "Ends the caller's session: its access and refresh "
     "tokens stop working.", NULL, NULL, false, RESP({204, NULL, "Signed out"})},
    {"GET /api/v1/auth/me", "auth", NULL, NULL, NULL, false,
     RESP({200, "Principal", "Who the credentials belong to"})},
    {"GET /api/v1/users", "users", NULL,
     PARAMS(PAGE_PARAMS, {"role", "query", "Role", "Only users with this role", false},
            {"disabled", "query", "boolean", "Only disabled (true) or enabled (false) users", false}),
     NULL, false, RESP({200, "UserList", "One page of users"}, {400, "Error", "A malformed parameter"})},
    {"POST /api/v1/users", "users", NULL, NULL, "UserCreate", false,
     RESP({201, "User", "Created"}, {409, "Error", "The username exists (code conflict)"})},
    {"GET /api/v1/users/{id}", "users", NULL, PARAMS({"id", "path", "string", "User id", true}),
     NULL, false, RESP({200, "User", "The user"}, {404, "Error", "Unknown user"})},
    {"PATCH /api/v1/users/{id}", "users", "Changes only the fields given.",
     PARAMS({"id", "path", "string", "User id", true}), "UserPatch", false,
     RESP({200, "User", "The updated user"}, {404, "Error", "Unknown user"},
          {409, "Error", "The change conflicts with the current state (code conflict)"})},
    {"GET /api/v1/tokens", "tokens", NULL,
     PARAMS(PAGE_PARAMS, {"role", "query", "Role", "Only tokens with this role", false},
            {"revoked", "query", "boolean", "Only revoked (true) or live (false) tokens", false}),
     NULL, false, RESP({200, "TokenList", "One page of tokens"}, {400, "Error", "A malformed parameter"})},
    {"POST /api/v1/tokens", "tokens", "The secret is in the answer's token field, shown this once.",
     NULL, "TokenCreate", false,
     RESP({201, "ApiTokenCreated", "Created"})},
    {"GET /api/v1/tokens/{id}", "tokens", NULL, PARAMS({"id", "path", "string", "Token id", true}),
     NULL, false, RESP({200, "ApiToken", "The token (never its secret)"}, {404, "Error", "Unknown token"})},
    {"DELETE /api/v1/tokens/{id}", "tokens", "Revokes the token; it is refused from then on.",
     PARAMS({"id", "path", "string", "Token id", true}), NULL, false,
     RESP({204, NULL, "Revoked"}, {404, "Error", "Unknown token"})},
    {"GET /api/v1/audit", "audit", "Newest first.",
     PARAMS({"from", "query", "string", "Oldest entry time, inclusive: unix seconds or ISO 8601", false},
            {"to", "query", "string", "Newest entry time, inclusive: unix seconds or ISO 8601", false},
            {"actor", "query", "string", "Only entries by this actor", false},
            {"action", "query", "string", "Only this action (\"user.create\")", false}, PAGE_PARAMS),
     NULL, false, RESP({200, "AuditList", "One page of entries"}, {400, "Error", "A malformed parameter"})},
    {"GET /api/v1/openapi.json", "meta", "Generated from the route table.", NULL, NULL, false,
     RESP({200, "OpenApiDocument", "The OpenAPI 3.1 document"})},
    {"GET /api-docs", "meta", "Rendered server-side from this document; no script.", NULL, NULL, false,
     RESP({200, "text/html", "The API reference page"})},
};
#define N_DOC_ROUTES (sizeof(doc_routes) / sizeof(doc_routes[0]))

static const struct doc_schema doc_schemas[] = {
    {"ErrorBody", NULL, NULL, NULL,
     PROPS({"code", "string", "bad_request, invalid_parameter, invalid_field, not_found, "
            "method_not_allowed, unsupported_media_type, payload_too_large, unauthorized, "
            "invalid_credentials, forbidden, rate_limited, locked, conflict, paused, canceled, "
            "unavailable, internal, ...", false},
           {"message", "string", "For people; bytes of client input that are not UTF-8 become ?", false},
           {"field", "string", "The input field at fault", true})},
    {"Error", "Every error answer", NULL, NULL, PROPS({"error", "ErrorBody", NULL, false})},
    {"Healthz", NULL, NULL, NULL, PROPS({"ok", "boolean", NULL, false})},
    {"Live", NULL, NULL, NULL, PROPS({"live", "boolean", NULL, false})},
    {"Ready", NULL, NULL, NULL, PROPS({"ready", "boolean", NULL, false}, {"reason", "string", NULL, true})},
    {"HealthDb", NULL, NULL, NULL,
     PROPS({"database", "enum:connected,disconnected", NULL, false},
           {"responseTime", "number", "Last ping, ms", true})},
    {"HealthDatabase", NULL, NULL, NULL,
     PROPS({"status", "enum:up,down", NULL, false}, {"responseTime", "number", "ms", false})},
    {"HealthMemory", NULL, NULL, NULL,
     PROPS({"status", "enum:up", NULL, false}, {"rssBytes", "integer", NULL, false})},
    {"HealthLoop", NULL, NULL, NULL,
     PROPS({"status", "enum:up,degraded", NULL, false}, {"lagMs", "number", NULL, false})},
    {"HealthProbes", "The monitored checks' statuses; never changes opshub's own status", NULL, NULL,
     PROPS({"status", "enum:up", NULL, false}, {"up", "integer", NULL, false},
           {"degraded", "integer", NULL, false}, {"down", "integer", NULL, false},
           {"unknown", "integer", NULL, false})},
    {"HealthChecks", NULL, NULL, NULL,
     PROPS({"database", "HealthDatabase", NULL, false}, {"memory", "HealthMemory", NULL, false},
           {"loop", "HealthLoop", NULL, false}, {"probes", "HealthProbes", NULL, false})},
    {"Health", NULL, NULL, NULL,
     PROPS({"status", "enum:ok,degraded,down", NULL, false}, {"timestamp", "date-time", NULL, false},
           {"uptime", "number", "Seconds", false}, {"version", "string", NULL, false},
           {"checks", "HealthChecks", NULL, false})},
    {"SampleTimings", "Phases in ms; null when not reached or not applicable", NULL, NULL,
     PROPS({"dns_ms", "number?", NULL, false}, {"connect_ms", "number?", NULL, false},
           {"tls_ms", "number?", NULL, false}, {"ttfb_ms", "number?", NULL, false})},
    {"Sample", "One probe result", NULL, NULL,
     PROPS({"ts", "date-time", "UTC with milliseconds", false}, {"ts_ms", "integer", "Unix ms", false},
           {"result", "enum:up,degraded,down", NULL, false}, {"latency_ms", "number", NULL, false},
           {"code", "integer", "HTTP status (0 when none)", false}, {"error", "string", NULL, false},
           {"timings", "SampleTimings", NULL, false})},
    {"Check", "A monitored check with its status", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false},
           {"project", "string?", NULL, false}, {"type", "enum:http,tcp", NULL, false},
           {"target", "string", "URL (http) or address (tcp); any password is ***", false},
           {"interval", "duration", NULL, false}, {"timeout", "duration", NULL, false},
           {"confirm", "integer", "Consecutive down samples before status down", false},
           {"enabled", "boolean", NULL, false}, {"labels", "map", NULL, false},
           {"status", "enum:up,degraded,down,unknown,paused", NULL, false},
           {"since", "date-time?", "When the status last changed", false},
           {"consecutive_failures", "integer", NULL, false}, {"last_sample", "Sample?", NULL, false},
           {"uptime_24h", "number?", "Percent of the last 24 h's samples up or degraded", false},
           {"source", "enum:config,api", NULL, false},
           {"version", "integer", "API checks only: for If-Match", true})},
    {"CheckList", NULL, NULL, NULL,
     PROPS({"checks", "[]Check", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"CheckDefinition", "A check as in the configuration file's checks: list (docs/api.md, DESIGN 3.2)",
     NULL, NULL,
     PROPS({"id", "string", "[a-z0-9][a-z0-9._-]{0,62}", false}, {"type", "enum:http,tcp", NULL, false},
           {"name", "string", NULL, true}, {"project", "string", NULL, true},
           {"url", "string", "http: the URL (sealed at rest)", true},
           {"address", "string", "tcp: host:port", true}, {"interval", "string", "Duration, default 60s", true},
           {"timeout", "string", "Duration, below interval", true}, {"confirm", "integer", NULL, true},
           {"enabled", "boolean", NULL, true}, {"labels", "map", NULL, true},
           {"method", "string", NULL, true}, {"headers", "map", "Sealed at rest", true},
           {"body", "string", "Sealed at rest", true}, {"expect", "object", "status, max_latency, "
           "body_contains, json (http); a banner substring (tcp)", true},
           {"tls_verify", "boolean", NULL, true}, {"follow_redirects", "boolean", NULL, true},
           {"max_body", "integer", NULL, true}, {"send", "string", "tcp: bytes to send (sealed at rest)", true})},
    {"CheckPatch", "A JSON merge patch (RFC 7396) of a CheckDefinition: members given replace, null "
     "removes; id, if given, must be the check's", "object", NULL, NULL},
    {"Project", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false},
           {"environments", "[]string", NULL, false}, {"source", "enum:config,api", NULL, false},
           {"version", "integer", "API projects only", true})},
    {"ProjectList", NULL, NULL, NULL,
     PROPS({"projects", "[]Project", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"ProjectDefinition", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, true},
           {"environments", "[]string", NULL, true})},
    {"ProjectPatch", "A JSON merge patch (RFC 7396) of a ProjectDefinition", "object", NULL, NULL},
    {"SampleList", NULL, NULL, NULL,
     PROPS({"check", "string", NULL, false}, {"samples", "[]Sample", "Newest first", false})},
    {"CheckRun", NULL, NULL, NULL,
     PROPS({"check", "string", NULL, false}, {"sample", "Sample", NULL, false},
           {"status", "enum:up,degraded,down,unknown,paused", NULL, false})},
    {"Role", NULL, "enum:viewer,operator,admin", NULL, NULL},
    {"User", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"username", "string", NULL, false},
           {"role", "Role", NULL, false}, {"disabled", "boolean", NULL, false},
           {"created_at", "date-time", NULL, false}, {"updated_at", "date-time", NULL, false},
           {"last_login_at", "date-time?", NULL, false})},
    {"UserList", NULL, NULL, NULL,
     PROPS({"users", "[]User", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"UserCreate", NULL, NULL, NULL,
     PROPS({"username", "string", NULL, false}, {"password", "string", NULL, false},
           {"role", "Role", NULL, false})},
    {"UserPatch", "Only the fields given change", NULL, NULL,
     PROPS({"role", "Role", NULL, true}, {"disabled", "boolean", NULL, true},
           {"password", "string", NULL, true})},
    {"LoginRequest", NULL, NULL, NULL,
     PROPS({"username", "string", NULL, false}, {"password", "string", NULL, false})},
    {"RefreshRequest", NULL, NULL, NULL, PROPS({"refresh_token", "string", NULL, false})},
    {"TestLoginRequest", NULL, NULL, NULL, PROPS({"username", "string", NULL, false})},
    {"AuthTokens", NULL, NULL, NULL,
     PROPS({"access_token", "string", "JWT for Authorization: Bearer", false},
           {"token_type", "enum:Bearer", NULL, false},
           {"expires_in", "integer", "Seconds until the access token expires", false},
           {"refresh_token", "string", NULL, false},
           {"refresh_expires_in", "integer", "Seconds until the refresh token expires", false},
           {"user", "User", NULL, false})},
    {"Principal", "Who the request's credentials belong to", NULL, NULL,
     PROPS({"kind", "enum:user,token", NULL, false}, {"id", "string", NULL, false},
           {"name", "string", "Username or token name", false}, {"role", "Role", NULL, false})},
    {"ApiToken", "An API token; its secret is never shown again after creation", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false},
           {"prefix", "string", "First characters of the secret, to recognise it", false},
           {"role", "Role", NULL, false}, {"created_by", "string", NULL, false},
           {"created_at", "date-time", NULL, false}, {"expires_at", "date-time?", NULL, false},
           {"last_used_at", "date-time?", NULL, false}, {"revoked_at", "date-time?", NULL, false})},
    {"ApiTokenCreated", "The new token with its secret, shown once", NULL, "ApiToken",
     PROPS({"token", "string", "The secret: Authorization: Bearer <token>", false})},
    {"TokenList", NULL, NULL, NULL,
     PROPS({"tokens", "[]ApiToken", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"TokenCreate", NULL, NULL, NULL,
     PROPS({"name", "string", NULL, false}, {"role", "Role", NULL, false},
           {"expires", "duration", "Lifetime (\"90d\"); none when absent", true})},
    {"AuditEntry", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"ts", "date-time", NULL, false},
           {"actor", "string", NULL, false}, {"actor_kind", "enum:user,token,cli,system", NULL, false},
           {"role", "Role?", NULL, false}, {"action", "string", "\"user.create\", ...", false},
           {"target", "string?", NULL, false}, {"result", "enum:ok,denied,error", NULL, false},
           {"status", "integer?", "HTTP status (null outside HTTP)", false},
           {"ip", "string?", NULL, false}, {"request_id", "string?", NULL, false})},
    {"AuditList", NULL, NULL, NULL,
     PROPS({"entries", "[]AuditEntry", "Newest first", false},
           {"next_cursor", "string?", "null on the last page", false})},
    {"OpenApiDocument", "An OpenAPI 3.1 document (this one)", "object", NULL, NULL},
};
#define N_DOC_SCHEMAS (sizeof(doc_schemas) / sizeof(doc_schemas[0]))

static const struct { const char *name, *description; } doc_tags[] = {
    {"health", "opshub's own health, for load balancers and runbooks"},
    {"metrics", "Prometheus metrics"},
    {"checks", "Monitored checks, their status and samples"},
    {"auth", "Sign-in, token refresh and the current principal"},
    {"users", "User accounts"},
    {"tokens", "API tokens"},
    {"audit", "Who changed what, and denied requests"},
    {"meta", "This document and its HTML rendering"},
};

const char *http_openapi_doc_key(size_t i)
{
    return i < N_DOC_ROUTES ? doc_routes[i].key : NULL;
}

/* ---- building ---- */

struct build {
    char *err;
    size_t errlen;
    bool failed;
};

static json_t *fail(struct build *b, const char *fmt, ...) BASE_PRINTF(2, 3);
static json_t *fail(struct build *b, const char *fmt, ...)
{
    if (!b->failed && b->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->err, b->errlen, fmt, ap);
        va_end(ap);
    }
    b->failed = true;
    return NULL;
}

/* Takes a new reference v into o[key]; false (and b failed) on NULL/OOM. */
static bool put(struct build *b, json_t *o, const char *key, json_t *v)
{
    if (v && json_object_set_new(o, key, v) == 0)
        return true;
    if (!b->failed)
        fail(b, "out of memory");
    return false;
}

static json_t *ref_to(const char *name)
{
    char ref[300];
    snprintf(ref, sizeof(ref), "#/components/schemas/%.255s", name);
    return json_pack("{s:s}", "$ref", ref);
}

static json_t *nullable(json_t *s, const char *type)
{
    if (!s)
        return NULL;
    if (!type)
        return json_pack("{s:[o, {s:s}]}", "anyOf", s, "type", "null");
    json_object_set_new(s, "type", json_pack("[s, s]", type, "null"));
    json_t *e = json_object_get(s, "enum");
    if (e)
        json_array_append_new(e, json_null());
    return s;
}

/* The JSON Schema for a type spec (see struct doc_param). */
static json_t *type_schema(struct build *b, const char *spec)
{
    char t[256];
    size_t len = strlen(spec);
    bool null_ok = len > 0 && spec[len - 1] == '?';
    if (null_ok)
        len--;
    if (len == 0 || len >= sizeof(t))
        return fail(b, "bad type spec '%.100s'", spec);
    memcpy(t, spec, len);
    t[len] = '\0';
    json_t *s = NULL;
    const char *json_type = t;
    if (strncmp(t, "[]", 2) == 0) {
        if (null_ok)
            return fail(b, "bad type spec '%.100s': arrays are never null", spec);
        json_t *items = type_schema(b, t + 2);
        return items ? json_pack("{s:s, s:o}", "type", "array", "items", items) : NULL;
    } else if (!strcmp(t, "string") || !strcmp(t, "integer") || !strcmp(t, "number") || !strcmp(t, "boolean")) {
        s = json_pack("{s:s}", "type", t);
    } else if (!strcmp(t, "date-time")) {
        s = json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
        json_type = "string";
    } else if (!strcmp(t, "duration")) {
        s = json_pack("{s:s, s:s, s:[s, s]}", "type", "string", "description", "opshub duration",
                      "examples", "30s", "90d");
        json_type = "string";
    } else if (!strcmp(t, "object")) {
        s = json_pack("{s:s}", "type", "object");
    } else if (!strcmp(t, "map")) {
        s = json_pack("{s:s, s:{s:s}}", "type", "object", "additionalProperties", "type", "string");
        json_type = "object";
    } else if (strncmp(t, "enum:", 5) == 0) {
        json_t *values = json_array();
        for (char *v = t + 5, *comma; values && v; v = comma ? comma + 1 : NULL) {
            comma = strchr(v, ',');
            if (comma)
                *comma = '\0';
            if (!*v || json_array_append_new(values, json_string(v)) != 0) {
                json_decref(values);
                return fail(b, "bad type spec '%.100s'", spec);
            }
        }
        s = values ? json_pack("{s:s, s:o}", "type", "string", "enum", values) : NULL;
        json_type = "string";
    } else if (isupper((unsigned char)t[0])) {
        s = ref_to(t);
        json_type = NULL;
    } else {
        return fail(b, "bad type spec '%.100s'", spec);
    }
    if (s && null_ok)
        s = nullable(s, json_type);
    return s ? s : fail(b, "out of memory");
}

static json_t *schema_object(struct build *b, const struct doc_schema *d, json_t *schemas)
{
    if (!d->props) {
        json_t *s = d->type ? type_schema(b, d->type) : NULL;
        if (s && d->description)
            put(b, s, "description", json_string(d->description));
        return s ? s : fail(b, "schema %s has neither type nor properties", d->name);
    }
    json_t *s = json_pack("{s:s, s:{}, s:[]}", "type", "object", "properties", "required");
    if (!s)
        return fail(b, "out of memory");
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    if (d->base) {
        json_t *base = json_object_get(schemas, d->base);
        if (!base || !json_object_get(base, "properties")) {
            json_decref(s);
            return fail(b, "schema %s: base %s must be an object schema defined before it", d->name, d->base);
        }
        json_object_update(props, json_object_get(base, "properties"));
        json_array_extend(req, json_object_get(base, "required"));
    }
    for (const struct doc_prop *p = d->props; !b->failed && p->name; p++) {
        json_t *ps = type_schema(b, p->type);
        if (ps && p->description)
            put(b, ps, "description", json_string(p->description));
        put(b, props, p->name, ps);
        if (!p->optional && json_array_append_new(req, json_string(p->name)) != 0)
            fail(b, "out of memory");
    }
    if (d->description)
        put(b, s, "description", json_string(d->description));
    if (b->failed) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *components(struct build *b)
{
    json_t *c = json_pack("{s:{}, s:{s:{s:s, s:s, s:s, s:s}}}", "schemas", "securitySchemes",
                          "bearerAuth", "type", "http", "scheme", "bearer",
                          "bearerFormat", "JWT or opshub API token",
                          "description", "An access token from POST /api/v1/auth/login, or an API token");
    if (!c)
        return fail(b, "out of memory");
    json_t *schemas = json_object_get(c, "schemas");
    for (size_t i = 0; !b->failed && i < N_DOC_SCHEMAS; i++) {
        if (json_object_get(schemas, doc_schemas[i].name))
            fail(b, "schema %s is defined twice", doc_schemas[i].name);
        else
            put(b, schemas, doc_schemas[i].name, schema_object(b, &doc_schemas[i], schemas));
    }
    if (b->failed) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static const struct doc_route *doc_find(const char *method, const char *pattern)
{
    size_t ml = strlen(method);
    for (size_t i = 0; i < N_DOC_ROUTES; i++) {
        const char *k = doc_routes[i].key;
        if (strncmp(k, method, ml) == 0 && k[ml] == ' ' && strcmp(k + ml + 1, pattern) == 0)
            return &doc_routes[i];
    }
    return NULL;
}

static const struct doc_param *doc_param_find(const struct doc_route *d, const char *in,
                                              const char *name, size_t len)
{
    for (const struct doc_param *p = d->params; p && p->name; p++)
        if (!strcmp(p->in, in) && strlen(p->name) == len && !strncmp(p->name, name, len))
            return p;
    return NULL;
}

static json_t *param_object(struct build *b, const char *name, size_t len, const char *in,
                            const char *type, const char *description, bool required)
{
    json_t *schema = type_schema(b, type);
    json_t *o = schema ? json_pack("{s:s%, s:s, s:b, s:o}", "name", name, len, "in", in,
                                   "required", required, "schema", schema)
                       : NULL;
    if (o && description)
        put(b, o, "description", json_string(description));
    return o ? o : fail(b, "out of memory");
}

/* Path parameters from the pattern's {x} captures (refined by the doc's
 * "path" entries), then the doc's query parameters. */
static json_t *parameters(struct build *b, const struct http_route *r, const struct doc_route *d)
{
    json_t *list = json_array();
    if (!list)
        return fail(b, "out of memory");
    for (const char *s = strchr(r->pattern, '{'); !b->failed && s; s = strchr(s + 1, '{')) {
        const char *end = strchr(s, '}');
        if (!end)
            break;
        const struct doc_param *p = doc_param_find(d, "path", s + 1, (size_t)(end - s - 1));
        if (json_array_append_new(list, param_object(b, s + 1, (size_t)(end - s - 1), "path",
                                                     p ? p->type : "string", p ? p->description : NULL,
                                                     true)) != 0)
            fail(b, "out of memory");
    }
    for (const struct doc_param *p = d->params; !b->failed && p && p->name; p++) {
        if (!strcmp(p->in, "path")) {
            char capture[140];
            snprintf(capture, sizeof(capture), "{%s}", p->name);
            if (!strstr(r->pattern, capture))
                fail(b, "%s documents path parameter '%s' that the pattern lacks", d->key, p->name);
        } else if (!strcmp(p->in, "query")) {
            if (json_array_append_new(list, param_object(b, p->name, strlen(p->name), "query",
                                                         p->type, p->description, p->required)) != 0)
                fail(b, "out of memory");
        } else {
            fail(b, "%s: parameter '%s' has unknown location '%s'", d->key, p->name, p->in);
        }
    }
    if (b->failed) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static json_t *response_object(struct build *b, const char *schema, const char *description)
{
    json_t *o = json_pack("{s:s}", "description", description ? description : "");
    if (!o || !schema)
        return o ? o : fail(b, "out of memory");
    if (!strncmp(schema, "text/", 5))
        put(b, o, "content", json_pack("{s:{s:{s:s}}}", schema, "schema", "type", "string"));
    else
        put(b, o, "content", json_pack("{s:{s:o}}", "application/json", "schema", ref_to(schema)));
    return o;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The doc's responses plus 400/415 (routes with a body), 401/403
 * (protected routes) and 429 (/api/v1), in status order; the doc's own
 * description wins. */
static json_t *responses(struct build *b, const struct http_route *r, const struct doc_route *d)
{
    static const struct doc_response common[] = {
        {400, "Error", "Malformed JSON or an invalid field (field names it)"},
        {415, "Error", "The body is not application/json"},
        {401, "Error", "Missing, malformed, expired or revoked credentials (code unauthorized)"},
        {403, "Error", "Authenticated, but the role is below x-min-role (code forbidden)"},
        {429, "Error", "Rate limited (code rate_limited); Retry-After says when to retry"},
    };
    const struct doc_response *all[32];
    size_t n = 0;
    for (const struct doc_response *x = d->responses; x && x->status; x++) {
        if (n == 27)
            return fail(b, "%s documents too many responses", d->key);
        all[n++] = x;
    }
    if (n == 0)
        return fail(b, "%s documents no response", d->key);
    bool api = strncmp(r->pattern, "/api/v1/", 8) == 0;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        bool wanted = common[i].status == 429 ? api
                    : common[i].status < 401 || common[i].status > 403 ? d->body != NULL
                    : r->access != AUTH_ROLE_PUBLIC;
        bool have = false;
        for (size_t j = 0; j < n; j++)
            have = have || all[j]->status == common[i].status;
        if (wanted && !have)
            all[n++] = &common[i];
    }
    int order[32];
    for (size_t i = 0; i < n; i++)
        order[i] = all[i]->status * 64 + (int)i;
    qsort(order, n, sizeof(order[0]), cmp_int);
    json_t *o = json_object();
    for (size_t i = 0; o && !b->failed && i < n; i++) {
        const struct doc_response *x = all[order[i] % 64];
        char status[8];
        snprintf(status, sizeof(status), "%d", x->status);
        if (x->status < 100 || x->status > 599 || json_object_get(o, status)) {
            fail(b, "%s: response status %d is invalid or listed twice", d->key, x->status);
            break;
        }
        json_t *resp = response_object(b, x->schema, x->description);
        if (resp && x->status == 429)
            put(b, resp, "headers", json_pack("{s:{s:s, s:{s:s}}}", "Retry-After", "description",
                                              "Seconds until a request is allowed again",
                                              "schema", "type", "integer"));
        put(b, o, status, resp);
    }
    if (!o || b->failed) {
        json_decref(o);
        return o ? NULL : fail(b, "out of memory");
    }
    return o;
}

/* "get_api_v1_checks_id_samples" */
static void operation_id(const char *method, const char *pattern, char *out, size_t n)
{
    size_t o = 0;
    for (const char *s = method; *s && o + 1 < n; s++)
        out[o++] = (char)tolower((unsigned char)*s);
    for (const char *s = pattern; *s && o + 1 < n; s++) {
        char c = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '_';
        if (c != '_' || o == 0 || out[o - 1] != '_')
            out[o++] = c;
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
}

static json_t *operation(struct build *b, const struct http_route *r, const struct doc_route *d,
                         json_t *op_ids)
{
    char op_id[200];
    operation_id(r->method, r->pattern, op_id, sizeof(op_id));
    if (json_object_get(op_ids, op_id))
        return fail(b, "route %s %s: operationId %s is taken by another route", r->method, r->pattern, op_id);
    put(b, op_ids, op_id, json_true());
    json_t *op = json_pack("{s:[s], s:s, s:s, s:s}", "tags", d->tag, "summary", r->summary,
                           "operationId", op_id, "x-min-role", auth_role_name(r->access));
    if (!op)
        return fail(b, "out of memory");
    if (d->description)
        put(b, op, "description", json_string(d->description));
    if (r->access != AUTH_ROLE_PUBLIC)
        put(b, op, "security", json_pack("[{s:[]}]", "bearerAuth"));
    if (r->rate_limit)
        put(b, op, "x-rate-limit", json_string(r->rate_limit));
    json_t *params = parameters(b, r, d);
    if (params && json_array_size(params) > 0)
        put(b, op, "parameters", params);
    else
        json_decref(params);
    if (d->body)
        put(b, op, "requestBody", json_pack("{s:b, s:{s:{s:o}}}", "required", !d->body_optional,
                                            "content", "application/json", "schema", ref_to(d->body)));
    put(b, op, "responses", responses(b, r, d));
    if (b->failed) {
        json_decref(op);
        return NULL;
    }
    return op;
}

/* Fails on any "$ref" that names no component schema. */
static void check_refs(struct build *b, json_t *v, json_t *schemas, const char *where)
{
    const char *key;
    json_t *child;
    size_t i;
    if (b->failed)
        return;
    if (json_is_object(v)) {
        json_t *ref = json_object_get(v, "$ref");
        const char *prefix = "#/components/schemas/";
        if (ref && (!json_is_string(ref) || strncmp(json_string_value(ref), prefix, strlen(prefix)) ||
                    !json_object_get(schemas, json_string_value(ref) + strlen(prefix)))) {
            fail(b, "%s refers to undefined schema %.100s", where,
                 json_is_string(ref) ? json_string_value(ref) : "?");
            return;
        }
        json_object_foreach(v, key, child)
            check_refs(b, child, schemas, where);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            check_refs(b, child, schemas, where);
    }
}

static json_t *tags(struct build *b, json_t *paths)
{
    json_t *list = json_array();
    for (size_t i = 0; list && !b->failed && i < sizeof(doc_tags) / sizeof(doc_tags[0]); i++) {
        const char *path;
        json_t *item, *op;
        bool used = false;
        json_object_foreach(paths, path, item) {
            const char *method;
            json_object_foreach(item, method, op)
                used = used || !strcmp(json_string_value(json_array_get(json_object_get(op, "tags"), 0)),
                                       doc_tags[i].name);
        }
        if (used && json_array_append_new(list, json_pack("{s:s, s:s}", "name", doc_tags[i].name,
                                                          "description", doc_tags[i].description)) != 0)
            fail(b, "out of memory");
    }
    return list ? list : fail(b, "out of memory");
}

static const char info_description[] =
    "The opshub HTTP API (docs/api.md is the prose contract). JSON everywhere. Errors are "
    "{\"error\":{\"code\",\"message\",\"field\"?}} with a fitting 4xx/5xx status. Times are ISO 8601 "
    "UTC strings with milliseconds (ts, *_at); ts_ms is unix milliseconds. Routes under /api/v1 "
    "need Authorization: Bearer <token> unless their x-min-role is public; x-min-role is the "
    "lowest role (viewer < operator < admin) allowed. Every answer carries X-Request-Id.";

json_t *http_openapi_build(const struct http_route *routes, size_t n, const char *version,
                           char *errbuf, size_t errlen)
{
    struct build b = {errbuf, errlen, false};
    if (errbuf && errlen)
        errbuf[0] = '\0';
    json_t *op_ids = json_object();
    json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[], s:{}}", "openapi", "3.1.0", "info",
                            "title", "opshub API", "version", version ? version : "0",
                            "description", info_description, "tags", "paths");
    if (!doc || !op_ids) {
        fail(&b, "out of memory");
        goto fail;
    }
    json_t *paths = json_object_get(doc, "paths");
    if (!put(&b, doc, "components", components(&b)))
        goto fail;
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    check_refs(&b, schemas, schemas, "components.schemas");
    for (size_t i = 0; i < n && !b.failed; i++) {
        const struct http_route *r = &routes[i];
        const struct doc_route *d = doc_find(r->method, r->pattern);
        if (!d) {
            fail(&b, "route %s %s has no documentation entry in src/http/openapi.c", r->method, r->pattern);
            break;
        }
        if (!r->summary || !r->summary[0] || !d->tag) {
            fail(&b, "route %s %s has no summary or tag", r->method, r->pattern);
            break;
        }
        if (!json_object_get(paths, r->pattern) && !put(&b, paths, r->pattern, json_object()))
            break;
        json_t *item = json_object_get(paths, r->pattern);
        char method[16];
        operation_id(r->method, "", method, sizeof(method));
        if (json_object_get(item, method)) {
            fail(&b, "route %s %s is listed twice", r->method, r->pattern);
            break;
        }
        json_t *op = operation(&b, r, d, op_ids);
        char where[300];
        snprintf(where, sizeof(where), "route %s %s", r->method, r->pattern);
        check_refs(&b, op, schemas, where);
        put(&b, item, method, op);
    }
    if (!b.failed)
        put(&b, doc, "tags", tags(&b, paths));
    if (b.failed)
        goto fail;
    json_decref(op_ids);
    return doc;
fail:
    json_decref(op_ids);
    json_decref(doc);
    return NULL;
}

/* ---- HTML rendering ---- */

static int esc_n(struct base_buf *o, const char *s, size_t n)
{
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *rep = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
                        : s[i] == '"' ? "&quot;" : s[i] == '\'' ? "&#39;" : NULL;
        if (!rep)
            continue;
        rc = base_buf_append(o, s + start, i - start);
        if (rc == 0)
            rc = base_buf_append_str(o, rep);
        start = i + 1;
    }
    return rc ? rc : base_buf_append(o, s + start, n - start);
}

static int esc(struct base_buf *o, const char *s)
{
    return s ? esc_n(o, s, strlen(s)) : 0;
}

static int raw(struct base_buf *o, const char *s)
{
    return base_buf_append_str(o, s);
}

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A schema as words: a link for a $ref, "array of X", "one of a, b". */
static int type_text(struct base_buf *o, const json_t *s)
{
    const char *ref = str_at(s, "$ref");
    const char *prefix = "#/components/schemas/";
    int rc = 0;
    size_t i;
    json_t *v;
    if (ref && strncmp(ref, prefix, strlen(prefix)) == 0) {
        ref += strlen(prefix);
        rc |= raw(o, "<a href=\"#schema-");
        rc |= esc(o, ref);
        rc |= raw(o, "\">");
        rc |= esc(o, ref);
        return rc | raw(o, "</a>");
    }
    if (json_object_get(s, "anyOf")) {
        json_array_foreach(json_object_get(s, "anyOf"), i, v) {
            rc |= i ? raw(o, " or ") : 0;
            rc |= type_text(o, v);
        }
        return rc;
    }
    json_t *type = json_object_get(s, "type");
    if (json_object_get(s, "enum")) {
        rc |= raw(o, "one of ");
        json_array_foreach(json_object_get(s, "enum"), i, v) {
            rc |= i ? raw(o, ", ") : 0;
            rc |= raw(o, "<code>");
            rc |= esc(o, json_is_null(v) ? "null" : json_string_value(v));
            rc |= raw(o, "</code>");
        }
        return rc;
    }
    if (json_is_string(type) && !strcmp(json_string_value(type), "array")) {
        rc |= raw(o, "array of ");
        return rc | type_text(o, json_object_get(s, "items"));
    }
    if (json_is_array(type)) {
        json_array_foreach(type, i, v) {
            rc |= i ? raw(o, " or ") : 0;
            rc |= esc(o, json_string_value(v));
        }
    } else {
        rc |= esc(o, json_is_string(type) ? json_string_value(type) : "any");
    }
    if (str_at(s, "format")) {
        rc |= raw(o, " (");
        rc |= esc(o, str_at(s, "format"));
        rc |= raw(o, ")");
    }
    return rc;
}

static int td_text(struct base_buf *o, const char *s, bool code)
{
    int rc = raw(o, code ? "<td><code>" : "<td>");
    rc |= esc(o, s);
    return rc | raw(o, code ? "</code></td>" : "</td>");
}

static int op_row(struct base_buf *o, const char *path, const char *method, const json_t *op)
{
    char upper[16];
    size_t i;
    json_t *v;
    const char *key;
    for (i = 0; method[i] && i + 1 < sizeof(upper); i++)
        upper[i] = (char)toupper((unsigned char)method[i]);
    upper[i] = '\0';
    int rc = raw(o, "<tr>");
    rc |= td_text(o, upper, true);
    rc |= raw(o, "<td id=\"op-");
    rc |= esc(o, str_at(op, "operationId"));
    rc |= raw(o, "\"><code>");
    rc |= esc(o, path);
    rc |= raw(o, "</code></td>");
    rc |= td_text(o, str_at(op, "x-min-role"), false);
    rc |= raw(o, "<td>");
    rc |= esc(o, str_at(op, "summary"));
    if (str_at(op, "description")) {
        rc |= raw(o, "<br>");
        rc |= esc(o, str_at(op, "description"));
    }
    rc |= raw(o, "</td><td>");
    json_t *params = json_object_get(op, "parameters");
    rc |= raw(o, json_array_size(params) ? "<ul>" : "none");
    json_array_foreach(params, i, v) {
        rc |= raw(o, "<li><code>");
        rc |= esc(o, str_at(v, "name"));
        rc |= raw(o, "</code> (");
        rc |= esc(o, str_at(v, "in"));
        rc |= raw(o, ", ");
        rc |= type_text(o, json_object_get(v, "schema"));
        rc |= raw(o, json_is_true(json_object_get(v, "required")) ? ", required)" : ")");
        if (str_at(v, "description")) {
            rc |= raw(o, ": ");
            rc |= esc(o, str_at(v, "description"));
        }
        rc |= raw(o, "</li>");
    }
    rc |= raw(o, json_array_size(params) ? "</ul></td><td>" : "</td><td>");
    json_t *body = json_object_get(op, "requestBody");
    if (body) {
        json_t *media = json_object_get(json_object_get(body, "content"), "application/json");
        rc |= type_text(o, json_object_get(media, "schema"));
        rc |= raw(o, json_is_true(json_object_get(body, "required")) ? "" : " (optional)");
    } else {
        rc |= raw(o, "none");
    }
    rc |= raw(o, "</td><td><ul>");
    json_object_foreach((json_t *)json_object_get(op, "responses"), key, v) {
        rc |= raw(o, "<li>");
        rc |= esc(o, key);
        json_t *content = json_object_get(v, "content");
        const char *media;
        json_t *m;
        json_object_foreach(content, media, m) {
            rc |= raw(o, " ");
            rc |= !strcmp(media, "application/json") ? type_text(o, json_object_get(m, "schema")) : esc(o, media);
        }
        rc |= raw(o, ": ");
        rc |= esc(o, str_at(v, "description"));
        rc |= raw(o, "</li>");
    }
    return rc | raw(o, "</ul></td></tr>\n");
}

static int schema_section(struct base_buf *o, const char *name, const json_t *s)
{
    int rc = raw(o, "<h3 id=\"schema-");
    rc |= esc(o, name);
    rc |= raw(o, "\">");
    rc |= esc(o, name);
    rc |= raw(o, "</h3>\n");
    if (str_at(s, "description")) {
        rc |= raw(o, "<p>");
        rc |= esc(o, str_at(s, "description"));
        rc |= raw(o, "</p>\n");
    }
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    if (!props) {
        rc |= raw(o, "<p>");
        rc |= type_text(o, s);
        return rc | raw(o, "</p>\n");
    }
    rc |= raw(o, "<table><thead><tr><th scope=\"col\">Property</th><th scope=\"col\">Type</th>"
                 "<th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>\n");
    const char *key;
    json_t *p, *r;
    size_t i;
    json_object_foreach(props, key, p) {
        bool required = false;
        json_array_foreach(req, i, r)
            required = required || !strcmp(json_string_value(r), key);
        rc |= raw(o, "<tr>");
        rc |= td_text(o, key, true);
        rc |= raw(o, "<td>");
        rc |= type_text(o, p);
        rc |= raw(o, "</td>");
        rc |= td_text(o, required ? "yes" : "no", false);
        rc |= td_text(o, str_at(p, "description"), false);
        rc |= raw(o, "</tr>\n");
    }
    return rc | raw(o, "</tbody></table>\n");
}

char *http_openapi_render_html(const json_t *doc, size_t *len)
{
    struct base_buf o;
    base_buf_init(&o, HTTP_OPENAPI_HTML_MAX);
    const json_t *info = json_object_get(doc, "info");
    int rc = raw(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    rc |= esc(&o, str_at(info, "title"));
    rc |= raw(&o, " ");
    rc |= esc(&o, str_at(info, "version"));
    rc |= raw(&o, "</title>\n</head>\n<body>\n<header>\n<h1>");
    rc |= esc(&o, str_at(info, "title"));
    rc |= raw(&o, "</h1>\n<p>Version ");
    rc |= esc(&o, str_at(info, "version"));
    rc |= raw(&o, ". The machine-readable OpenAPI ");
    rc |= esc(&o, str_at(doc, "openapi"));
    rc |= raw(&o, " document: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>\n<p>");
    rc |= esc(&o, str_at(info, "description"));
    rc |= raw(&o, "</p>\n</header>\n<main>\n<section>\n<h2>Operations</h2>\n<table>\n<thead><tr>"
                  "<th scope=\"col\">Method</th><th scope=\"col\">Path</th><th scope=\"col\">Min role</th>"
                  "<th scope=\"col\">Summary</th><th scope=\"col\">Parameters</th>"
                  "<th scope=\"col\">Request body</th><th scope=\"col\">Responses</th></tr></thead>\n<tbody>\n");
    const char *path, *method, *name;
    json_t *item, *op, *s;
    json_object_foreach((json_t *)json_object_get(doc, "paths"), path, item)
        json_object_foreach(item, method, op)
            rc |= op_row(&o, path, method, op);
    rc |= raw(&o, "</tbody>\n</table>\n</section>\n<section>\n<h2>Schemas</h2>\n");
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "schemas"), name, s)
        rc |= schema_section(&o, name, s);
    rc |= raw(&o, "</section>\n</main>\n</body>\n</html>\n");
    if (rc != 0) {
        base_buf_free(&o);
        return NULL;
    }
    return base_buf_take(&o, len);
}

/* ---- serving ---- */

/* Built on first use from api_routes; only the two renderings are kept. */
static struct {
    char *json;   /* from json_dumps: free() */
    size_t json_len;
    char *html;   /* base_free */
    size_t html_len;
} cache;

void http_openapi_free_cache(void)
{
    free(cache.json);
    base_free(cache.html);
    memset(&cache, 0, sizeof(cache));
}

static int cache_fill(void)
{
    if (cache.json && cache.html)
        return 0;
    char err[256];
    json_t *doc = http_openapi_build(api_routes, api_n_routes, base_version(), err, sizeof(err));
    if (!doc) {
        base_log_error("openapi document could not be built", BASE_LOG_STR("error", err));
        return -1;
    }
    if (!cache.json) {
        cache.json = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
        cache.json_len = cache.json ? strlen(cache.json) : 0;
    }
    if (!cache.html)
        cache.html = http_openapi_render_html(doc, &cache.html_len);
    json_decref(doc);
    return cache.json && cache.html ? 0 : -1;
}

void api_openapi_json(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (cache_fill() != 0 && !cache.json) {
        api_send_error(api, req, 500, "internal", "the API document could not be built", NULL);
        return;
    }
    api_send(api, req, 200, "application/json", NULL, cache.json, cache.json_len);
}

void api_docs_html(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (cache_fill() != 0 && !cache.html) {
        api_send_error(api, req, 500, "internal", "the API document could not be built", NULL);
        return;
    }
    api_send(api, req, 200, "text/html; charset=utf-8", NULL, cache.html, cache.html_len);
}
