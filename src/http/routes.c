/*
 * http/routes: every HTTP route of opshub, declared once. An entry holds
 * the method and pattern the router matches, the minimum role and rate
 * class the access middleware (http/api) enforces, the handler, the audit
 * action of a mutation, and the route's OpenAPI description (rendered by
 * http/openapi with the components of http/schemas). Adding a route is one
 * entry here plus its handler; tests/http/test_routes.c walks the table
 * (docs, role, audit action) and tests/integration/test_auth.py walks every
 * route's role through the served document. Pure data.
 */
#include "http/routes.h"

#include "http/api_int.h"

/* Entries leave out the trailing flags (read_only), which are then false. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define PARAMS(...) HTTP_ROUTE_PARAMS(__VA_ARGS__)
#define RESP(...) HTTP_ROUTE_RESPONSES(__VA_ARGS__)
#define PAGE_PARAMS                                                                  \
    {"limit", "query", "integer", "Page size, 1..1000 (default 100)", false},        \
    {"cursor", "query", "string", "Opaque: the next_cursor of the previous page", false}
#define LOGIN HTTP_ROUTE_RATE_LOGIN

/* Columns: method, pattern, minimum role, rate class, handler, audit action,
 * then the document: {tag, summary, description, parameters, request body,
 * body optional, responses}. */
const struct http_route http_routes[] = {
    {"GET", "/healthz", AUTH_ROLE_PUBLIC, NULL, api_health_healthz, NULL,
     {"health", "Liveness in one line",
      "Answers from static bytes; for load balancers.", NULL, NULL, false,
      RESP({200, "Healthz", "The loop is running"})}},
    {"GET", "/health", AUTH_ROLE_PUBLIC, NULL, api_health_full, NULL,
     {"health", "Health of opshub and its dependencies",
      "status is down when the database is unreachable, degraded when the "
      "sample buffer is over 90% full or the loop lag is over 1 s.", NULL, NULL, false,
      RESP({200, "Health", "ok or degraded"}, {503, "Health", "down"})}},
    {"GET", "/health/live", AUTH_ROLE_PUBLIC, NULL, api_health_live, NULL,
     {"health", "Liveness",
      NULL, NULL, NULL, false, RESP({200, "Live", "The loop is running"})}},
    {"GET", "/health/ready", AUTH_ROLE_PUBLIC, NULL, api_health_ready, NULL,
     {"health", "Readiness: config loaded and storage reachable",
      NULL, NULL, NULL, false,
      RESP({200, "Ready", "Ready"}, {503, "Ready", "Configuration not loaded or database unavailable"})}},
    {"GET", "/health/db", AUTH_ROLE_PUBLIC, NULL, api_health_db, NULL,
     {"health", "Database connectivity",
      NULL, NULL, NULL, false,
      RESP({200, "HealthDb", "Connected"}, {503, "HealthDb", "Disconnected"})}},
    {"GET", "/metrics", AUTH_ROLE_PUBLIC, NULL, api_metrics_get, NULL,
     {"metrics", "Prometheus metrics",
      "Prometheus text format 0.0.4: per-check probe_* (blackbox_exporter "
      "names) and opshub_* metrics, see docs/api.md.", NULL, NULL, false,
      RESP({200, "text/plain", "Prometheus exposition text"})}},
    {"POST", "/api/v1/auth/login", AUTH_ROLE_PUBLIC, LOGIN, api_auth_login, "auth.login",
     {"auth", "Log in with username and password",
      "Exchanges a username and password for an access token "
      "(JWT) and a refresh token. With \"cookie\": true (a browser) the tokens are set as the "
      "HttpOnly cookies opshub_session (Path=/) and opshub_refresh (Path=/api/v1/auth), and the "
      "session's CSRF token as the script-readable cookie opshub_csrf and in the body; all three "
      "SameSite=Lax, Secure over TLS. A request with no Authorization header is then authenticated by "
      "opshub_session; its POST, PUT, PATCH and DELETE need X-CSRF-Token (else 403 csrf).",
      NULL, "LoginRequest", false,
      RESP({200, "AuthTokens", "Signed in (with cookie true: a BrowserSession body, the tokens in cookies)"},
           {401, "Error", "Invalid credentials (code invalid_credentials)"},
           {429, "Error", "Locked out after failed logins (code locked) or rate limited (code "
            "rate_limited); Retry-After says when to retry"})}},
    {"POST", "/api/v1/auth/test-login", AUTH_ROLE_PUBLIC, LOGIN, api_auth_test_login, "auth.test_login",
     {"auth", "Log in without a password (ALLOW_TEST_LOGIN=1 only)",
      "Signs in as an existing user without a password, for "
      "tests and demos; answers 404 like an unknown route unless opshub runs with "
      "ALLOW_TEST_LOGIN=1. cookie as for login.", NULL, "TestLoginRequest", false,
      RESP({200, "AuthTokens", "Signed in (with cookie true: a BrowserSession body)"}, {401, "Error", "Unknown or disabled user"},
           {404, "Error", "Test login is not enabled"})}},
    {"POST", "/api/v1/auth/refresh", AUTH_ROLE_PUBLIC, LOGIN, api_auth_refresh, "auth.refresh",
     {"auth", "Exchange a refresh token for new tokens",
      "Exchanges a refresh token for new tokens; the old "
      "refresh token is spent. With \"cookie\": true the token is read from the opshub_refresh "
      "cookie, X-CSRF-Token must be its session's CSRF token, and the three cookies are set again.",
      NULL, "RefreshRequest", false,
      RESP({200, "AuthTokens", "New tokens (with cookie true: a BrowserSession body, the tokens in cookies)"},
           {401, "Error", "Invalid, expired or spent refresh token (code invalid_credentials)"},
           {403, "Error", "cookie true without the session's X-CSRF-Token (code csrf)"})}},
    {"POST", "/api/v1/auth/logout", AUTH_ROLE_VIEWER, NULL, api_auth_logout, "auth.logout",
     {"auth", "End the caller's session",
      "Ends the caller's session: its access and refresh "
      "tokens stop working. By cookie (with X-CSRF-Token) the three cookies are cleared (Max-Age=0).",
      NULL, NULL, false, RESP({204, NULL, "Signed out"})}},
    {"GET", "/api/v1/auth/me", AUTH_ROLE_VIEWER, NULL, api_auth_me, NULL,
     {"auth", "Who the caller is",
      NULL, NULL, NULL, false,
      RESP({200, "Principal", "Who the credentials belong to"})}},
    {"GET", "/api/v1/auth/providers", AUTH_ROLE_PUBLIC, LOGIN, api_auth_providers, NULL,
     {"auth", "How one may sign in",
      "Password login, and each configured single sign-on provider with the path that starts it "
      "(server.auth.github, server.auth.oidc; docs/sso.md).", NULL, NULL, false,
      RESP({200, "AuthProviders", "The sign-in methods"})}},
#define SSO_START_DOC(who)                                                                                  \
    {"auth", "Start a sign-on with " who,                                                                   \
     "302 to the provider's authorization page with a random state (OpenID Connect: also a nonce and a "  \
     "PKCE S256 challenge), kept in the sealed HttpOnly cookie opshub_sso (Path=/auth, 10 minutes). 404 "  \
     "when the provider is not configured.", NULL, NULL, false,                                            \
     RESP({302, NULL, "To the provider, or to /#/login?error=provider when it cannot be reached"},          \
          {404, "Error", "This sign-on is not configured"})}
#define SSO_CALLBACK_DOC(who)                                                                                \
    {"auth", "Finish a sign-on with " who,                                                                   \
     "Where the provider sends the browser back. The state must match the opshub_sso cookie; the code is "  \
     "exchanged and the user's role mapped; the user is created or found and a browser session starts "     \
     "(the cookies of a login with cookie true). Refusals are audited (auth.sso).",                          \
     PARAMS({"code", "query", "string", "The provider's authorization code", false},                         \
            {"state", "query", "string", "The state of the start", false}),                                  \
     NULL, false,                                                                                            \
     RESP({302, NULL, "To / signed in, or to /#/login?error=<code> (state, nonce, token, org, provider)"},   \
          {404, "Error", "This sign-on is not configured"})}
    {"GET", "/auth/github/start", AUTH_ROLE_PUBLIC, LOGIN, api_sso_start, NULL, SSO_START_DOC("GitHub")},
    {"GET", "/auth/github/callback", AUTH_ROLE_PUBLIC, LOGIN, api_sso_callback, NULL, SSO_CALLBACK_DOC("GitHub")},
    {"GET", "/auth/oidc/start", AUTH_ROLE_PUBLIC, LOGIN, api_sso_start, NULL, SSO_START_DOC("OpenID Connect")},
    {"GET", "/auth/oidc/callback", AUTH_ROLE_PUBLIC, LOGIN, api_sso_callback, NULL,
     SSO_CALLBACK_DOC("OpenID Connect")},
    {"GET", "/api/v1/checks", AUTH_ROLE_VIEWER, NULL, api_checks_list, NULL,
     {"checks", "List checks with status",
      "In the order they run: the configuration file's checks, then "
      "those created through the API.",
      PARAMS({"limit", "query", "integer", "Page size, 1..10000 (default 1000)", false},
             {"cursor", "query", "string", "Opaque: the next_cursor of the previous page", false},
             {"project", "query", "string", "Only checks of this project", false},
             {"type", "query", "string", "Only checks of this type (http, tcp)", false},
             {"status", "query", "string", "Only checks with this status", false},
             {"source", "query", "string", "config or api", false},
             {"label", "query", "string", "Only checks with this label: key=value, or key (any value)", false},
             {"q", "query", "string", "Only checks whose id or name contains this (ASCII case ignored)", false}),
      NULL, false, RESP({200, "CheckList", "The checks"}, {400, "Error", "A malformed parameter"})}},
    {"GET", "/api/v1/checks/{id}", AUTH_ROLE_VIEWER, NULL, api_checks_get, NULL,
     {"checks", "One check with status",
      NULL, PARAMS({"id", "path", "string", "Check id", true}),
      NULL, false, RESP({200, "Check", "The check"}, {404, "Error", "Unknown check"})}},
    {"GET", "/api/v1/checks/{id}/samples", AUTH_ROLE_VIEWER, NULL, api_checks_samples, NULL,
     {"checks", "Samples of a check, newest first",
      "Read from the store, newest first. Bad values "
      "are rejected (400 invalid_parameter with field), never replaced by the default.",
      PARAMS({"id", "path", "string", "Check id", true},
             {"from", "query", "string", "Oldest sample time, inclusive: unix seconds or ISO 8601", false},
             {"to", "query", "string", "Newest sample time, inclusive: unix seconds or ISO 8601", false},
             {"limit", "query", "integer", "1..10000, default 100", false}),
      NULL, false,
      RESP({200, "SampleList", "The samples"}, {400, "Error", "A malformed parameter (field names it)"},
           {404, "Error", "Unknown check"}, {503, "Error", "Database unavailable"})}},
    {"GET", "/api/v1/checks/{id}/uptime", AUTH_ROLE_VIEWER, NULL, api_checks_uptime, NULL,
     {"checks", "Uptime of a check over a window",
      "Counts of up, degraded and down samples and the latency of those not down (ms), from the "
      "minute and hour rollups plus what the store has not written yet. uptime is (up + degraded) / "
      "total, null without samples. partial is true while rollups of part of the window are being "
      "rebuilt from the samples (after an upgrade or a crash).",
      PARAMS({"id", "path", "string", "Check id", true},
             {"window", "query", "string", "A duration from 1m to 400d ending now: 24h (default), 7d, 30d, 90d",
              false}),
      NULL, false,
      RESP({200, "Uptime", "The counts"}, {400, "Error", "A malformed window"}, {404, "Error", "Unknown check"},
           {503, "Error", "Database unavailable"})}},
    {"GET", "/api/v1/checks/{id}/latency", AUTH_ROLE_VIEWER, NULL, api_checks_latency, NULL,
     {"checks", "Latency percentiles of a check per step",
      "One point per step from 'from' to 'to' (empty steps included, with counts of 0 and "
      "latency_ms null): counts and latency min/avg/max/p50/p95/p99 in ms (percentiles within 1% of "
      "a measured value). Steps of whole hours read the hour rollups, others the minute rollups "
      "(kept 30 days by default).",
      PARAMS({"id", "path", "string", "Check id", true},
             {"from", "query", "string", "Start: unix seconds or ISO 8601 (default: 24 hours before 'to')", false},
             {"to", "query", "string", "End, exclusive: unix seconds or ISO 8601 (default: now)", false},
             {"step", "query", "string", "A whole number of minutes (1m, 5m, 1h; default: about 300 points); "
              "at most 2000 points", false}),
      NULL, false,
      RESP({200, "LatencySeries", "The points"}, {400, "Error", "A malformed parameter (field names it)"},
           {404, "Error", "Unknown check"}, {503, "Error", "Database unavailable"})}},
    {"POST", "/api/v1/checks/{id}/run", AUTH_ROLE_OPERATOR, NULL, api_checks_run, "check.run",
     {"checks", "Run a check now",
      "Runs the check outside its schedule and answers "
      "when the run ends; the sample counts like any other.",
      PARAMS({"id", "path", "string", "Check id", true}), NULL, false,
      RESP({200, "CheckRun", "The run's sample and the resulting status"},
           {404, "Error", "Unknown check"},
           {409, "Error", "paused (check disabled) or canceled (reload or shutdown during the run)"})}},
    {"POST", "/api/v1/checks/{id}/pause", AUTH_ROLE_OPERATOR, NULL, api_checks_pause, "check.pause",
     {"checks", "Pause a check",
      "The check stops running (a run in flight is cancelled; a heartbeat's deadline stops and its pings "
      "answer 409) and its status becomes paused, until resumed. The pause is stored: it outlives a "
      "restart and a reload. Pausing a paused check changes nothing.",
      PARAMS({"id", "path", "string", "Check id", true}), NULL, false,
      RESP({200, "Check", "The check, paused"}, {404, "Error", "Unknown check"},
           {503, "Error", "The store could not record it (nothing changed)"})}},
    {"POST", "/api/v1/checks/{id}/resume", AUTH_ROLE_OPERATOR, NULL, api_checks_resume, "check.resume",
     {"checks", "Resume a paused check",
      "The check starts over: status unknown, a run now, then its interval.",
      PARAMS({"id", "path", "string", "Check id", true}), NULL, false,
      RESP({200, "Check", "The check, resumed"}, {404, "Error", "Unknown check"},
           {503, "Error", "The store could not record it (nothing changed)"})}},
    {"POST", "/api/v1/checks", AUTH_ROLE_ADMIN, NULL, api_checks_create, "check.create",
     {"checks", "Create a check",
      "Validated by the configuration loader's own rules (the error's "
      "field is the JSON path of the bad value); stored with url, headers, body and send sealed "
      "(AES-256-GCM); running from the moment of the answer.",
      NULL, "CheckDefinition", false,
      RESP({201, "Check", "Created and scheduled"},
           {409, "Error", "The id is taken by the configuration file or the API (code conflict)"})}},
    {"PATCH", "/api/v1/checks/{id}", AUTH_ROLE_ADMIN, NULL, api_checks_patch, "check.update",
     {"checks", "Change a check created through the API",
      "A JSON merge patch (RFC 7396) of the check's definition; "
      "null removes a member. If-Match: \"<version>\" makes it conditional.",
      PARAMS({"id", "path", "string", "Check id", true}), "CheckPatch", false,
      RESP({200, "Check", "Changed (the check restarts with fresh state)"}, {404, "Error", "Unknown check"},
           {409, "Error", "The check comes from the configuration file (code read_only)"},
           {412, "Error", "If-Match does not match the current version"})}},
    {"DELETE", "/api/v1/checks/{id}", AUTH_ROLE_ADMIN, NULL, api_checks_delete, "check.delete",
     {"checks", "Delete a check created through the API",
      "Stops and deletes a check created through the API.",
      PARAMS({"id", "path", "string", "Check id", true}), NULL, false,
      RESP({204, NULL, "Deleted"}, {404, "Error", "Unknown check"},
           {409, "Error", "The check comes from the configuration file (code read_only)"},
           {412, "Error", "If-Match does not match the current version"})}},
    {"GET", "/api/v1/events", AUTH_ROLE_VIEWER, NULL, api_events_get, NULL,
     {"events", "Live samples and status changes (Server-Sent Events)",
      "A text/event-stream that stays open. Each event has an id; event `sample` for every sample and "
      "`status` when a check's status changed (data: the sample as in Sample, plus check, name, project, "
      "status, previous, since, uptime_24h, at). The first event, `hello`, names the current id. A "
      "reconnect with Last-Event-ID (or ?last_event_id=) gets the events after it that are still held "
      "(the last 4,096 at most); when they are not, an event `reset` says to re-read the checks. A "
      "comment line every 15 s keeps idle proxies from closing the stream. Events are written in "
      "batches at most 100 ms apart. A client that leaves 512 KiB unread is disconnected.",
      PARAMS({"check", "query", "string", "Only this check's events", false},
             {"project", "query", "string", "Only events of this project's checks", false},
             {"last_event_id", "query", "string", "Resume after this id (as the Last-Event-ID header)", false}),
      NULL, false,
      RESP({200, "text/event-stream", "The stream"}, {404, "Error", "Unknown check"},
           {503, "Error", "Too many streams are open (Retry-After says when to retry)"})}},
    {"GET", "/api/v1/projects", AUTH_ROLE_VIEWER, NULL, api_projects_list, NULL,
     {"projects", "List projects",
      "The configuration file's projects, then the API's.",
      PARAMS(PAGE_PARAMS, {"source", "query", "string", "config or api", false}), NULL, false,
      RESP({200, "ProjectList", "One page of projects"}, {400, "Error", "A malformed parameter"})}},
    {"POST", "/api/v1/projects", AUTH_ROLE_ADMIN, NULL, api_projects_create, "project.create",
     {"projects", "Create a project",
      "Validated like a projects: entry of the file.", NULL,
      "ProjectDefinition", false,
      RESP({201, "Project", "Created"}, {409, "Error", "The id is taken (code conflict)"})}},
    {"GET", "/api/v1/projects/{id}", AUTH_ROLE_VIEWER, NULL, api_projects_get, NULL,
     {"projects", "One project",
      NULL, PARAMS({"id", "path", "string", "Project id", true}),
      NULL, false, RESP({200, "Project", "The project"}, {404, "Error", "Unknown project"})}},
    {"PATCH", "/api/v1/projects/{id}", AUTH_ROLE_ADMIN, NULL, api_projects_patch, "project.update",
     {"projects", "Change a project created through the API",
      "A JSON merge patch (RFC 7396) of the project.",
      PARAMS({"id", "path", "string", "Project id", true}), "ProjectPatch", false,
      RESP({200, "Project", "Changed"}, {404, "Error", "Unknown project"},
           {409, "Error", "The project comes from the configuration file (code read_only)"},
           {412, "Error", "If-Match does not match the current version"})}},
    {"DELETE", "/api/v1/projects/{id}", AUTH_ROLE_ADMIN, NULL, api_projects_delete, "project.delete",
     {"projects", "Delete a project created through the API",
      "Only a project created through the API and without "
      "checks.", PARAMS({"id", "path", "string", "Project id", true}), NULL, false,
      RESP({204, NULL, "Deleted"}, {404, "Error", "Unknown project"},
           {409, "Error", "From the configuration file (read_only) or still has checks (conflict)"},
           {412, "Error", "If-Match does not match the current version"})}},
    {"GET", "/api/v1/users", AUTH_ROLE_ADMIN, NULL, api_users_list, NULL,
     {"users", "List users",
      NULL,
      PARAMS(PAGE_PARAMS, {"role", "query", "Role", "Only users with this role", false},
             {"disabled", "query", "boolean", "Only disabled (true) or enabled (false) users", false}),
      NULL, false, RESP({200, "UserList", "One page of users"}, {400, "Error", "A malformed parameter"})}},
    {"POST", "/api/v1/users", AUTH_ROLE_ADMIN, NULL, api_users_create, "user.create",
     {"users", "Create a user",
      NULL, NULL, "UserCreate", false,
      RESP({201, "User", "Created"}, {409, "Error", "The username exists (code conflict)"})}},
    {"GET", "/api/v1/users/{id}", AUTH_ROLE_ADMIN, NULL, api_users_get, NULL,
     {"users", "One user",
      NULL, PARAMS({"id", "path", "string", "User id", true}),
      NULL, false, RESP({200, "User", "The user"}, {404, "Error", "Unknown user"})}},
    {"GET", "/api/v1/users/{id}/contacts", AUTH_ROLE_ADMIN, NULL, api_contacts_get, NULL,
     {"users", "A user's contact methods",
      "Where incident pages reach the user (docs/incidents.md): email, slack (a member id), phone (E.164, for an "
      "SMS or voice webhook) and whether a PagerDuty routing key is set (the key itself is never shown).",
      PARAMS({"id", "path", "string", "The user's id or name", true}), NULL, false,
      RESP({200, "Contacts", "The contact methods"}, {404, "Error", "No such user"},
           {503, "Error", "The database is unavailable"})}},
    {"PUT", "/api/v1/users/{id}/contacts", AUTH_ROLE_ADMIN, NULL, api_contacts_put, "user.contacts",
     {"users", "Set a user's contact methods",
      "Replaces them: email, slack, phone, pagerduty (a routing key); absent, null or empty: none.",
      PARAMS({"id", "path", "string", "The user's id or name", true}), "ContactsInput", false,
      RESP({200, "Contacts", "Set"}, {400, "Error", "A bad contact method, named"}, {404, "Error", "No such user"},
           {503, "Error", "The database is unavailable"})}},
    {"PATCH", "/api/v1/users/{id}", AUTH_ROLE_ADMIN, NULL, api_users_patch, "user.update",
     {"users", "Change a user's role, password or status",
      "Changes only the fields given.",
      PARAMS({"id", "path", "string", "User id", true}), "UserPatch", false,
      RESP({200, "User", "The updated user"}, {404, "Error", "Unknown user"},
           {409, "Error", "The change conflicts with the current state (code conflict)"})}},
    {"GET", "/api/v1/tokens", AUTH_ROLE_ADMIN, NULL, api_tokens_list, NULL,
     {"tokens", "List API tokens",
      NULL,
      PARAMS(PAGE_PARAMS, {"role", "query", "Role", "Only tokens with this role", false},
             {"revoked", "query", "boolean", "Only revoked (true) or live (false) tokens", false}),
      NULL, false, RESP({200, "TokenList", "One page of tokens"}, {400, "Error", "A malformed parameter"})}},
    {"POST", "/api/v1/tokens", AUTH_ROLE_ADMIN, NULL, api_tokens_create, "token.create",
     {"tokens", "Create an API token (shown once)",
      "The secret is in the answer's token field, shown this once.",
      NULL, "TokenCreate", false,
      RESP({201, "ApiTokenCreated", "Created"})}},
    {"GET", "/api/v1/tokens/{id}", AUTH_ROLE_ADMIN, NULL, api_tokens_get, NULL,
     {"tokens", "One API token",
      NULL, PARAMS({"id", "path", "string", "Token id", true}),
      NULL, false, RESP({200, "ApiToken", "The token (never its secret)"}, {404, "Error", "Unknown token"})}},
    {"DELETE", "/api/v1/tokens/{id}", AUTH_ROLE_ADMIN, NULL, api_tokens_revoke, "token.revoke",
     {"tokens", "Revoke an API token",
      "Revokes the token; it is refused from then on.",
      PARAMS({"id", "path", "string", "Token id", true}), NULL, false,
      RESP({204, NULL, "Revoked"}, {404, "Error", "Unknown token"})}},
    {"GET", "/api/v1/audit", AUTH_ROLE_ADMIN, NULL, api_audit_list, NULL,
     {"audit", "Audit log, newest first",
      "Newest first.",
      PARAMS({"from", "query", "string", "Oldest entry time, inclusive: unix seconds or ISO 8601", false},
             {"to", "query", "string", "Newest entry time, inclusive: unix seconds or ISO 8601", false},
             {"actor", "query", "string", "Only entries by this actor", false},
             {"action", "query", "string", "Only this action (\"user.create\")", false}, PAGE_PARAMS),
      NULL, false, RESP({200, "AuditList", "One page of entries"}, {400, "Error", "A malformed parameter"})}},
    {"POST", "/api/v1/debug/clock", AUTH_ROLE_ADMIN, NULL, api_debug_clock, "debug.clock",
     {"meta", "Move the clock forward (OPSHUB_TEST_CLOCK=1 only)",
      "For integration tests: moves every wall-clock reading of this process forward by a duration "
      "(acknowledgement deadlines, escalation delays, quiet periods, timestamps), never back; timers "
      "and timeouts keep real time. Answers 404 like an unknown route unless opshub runs with "
      "OPSHUB_TEST_CLOCK=1, which is refused in production and on a non-loopback address.",
      NULL, "ClockAdvance", false,
      RESP({200, "ClockNow", "The clock moved"}, {400, "Error", "A bad duration"},
           {404, "Error", "The test clock is not enabled"})}},
    {"GET", "/api/v1/openapi.json", AUTH_ROLE_PUBLIC, NULL, api_openapi_json, NULL,
     {"meta", "This API as an OpenAPI 3.1 document",
      "Generated from the route table.", NULL, NULL, false,
      RESP({200, "OpenApiDocument", "The OpenAPI 3.1 document"})}},
    {"GET", "/api-docs", AUTH_ROLE_PUBLIC, NULL, api_docs_html, NULL,
     {"meta", "API documentation",
      "Rendered server-side from this document; no script.", NULL, NULL, false,
      RESP({200, "text/html", "The API reference page"})}},
    {"GET", "/", AUTH_ROLE_PUBLIC, NULL, api_dashboard_get, NULL,
     {"static", "The dashboard",
      "The web dashboard's page (its assets are under /assets/, compiled into the binary). The page is "
      "public; everything it shows comes from the API, which needs a session (it signs in with "
      "POST /api/v1/auth/login and cookie true). Sent with a strict Content-Security-Policy: nothing "
      "inline, nothing from another host. 503 when the binary was built without the web assets.",
      NULL, NULL, false,
      RESP({200, "text/html", "The dashboard"}, {304, NULL, "Not modified: If-None-Match matched"},
           {503, "text/html", "Built without the web assets (how to build them)"})}},
    {"GET", "/status", AUTH_ROLE_PUBLIC, NULL, api_status_page, NULL,
     {"status", "The public status page",
      "HTML rendered on the server (complete without script): the overall state, each component's state "
      "and one bar a day of its uptime (status_page.history_days, 90 by default; the tooltip gives the "
      "figure). 404 without a status_page section. Rate limited per address (server.rate_limit).",
      NULL, NULL, false,
      RESP({200, "text/html", "The status page"}, {404, "Error", "No status page is configured"})}},
    {"GET", "/status/{project}", AUTH_ROLE_PUBLIC, NULL, api_status_project, NULL,
     {"status", "The status page of one project",
      "As /status, with only the checks of this project: the configured components that have any, "
      "or one component per check when no components are configured.",
      PARAMS({"project", "path", "string", "Project id", true}), NULL, false,
      RESP({200, "text/html", "The project's status page"},
           {404, "Error", "No status page, no such project, or none of its checks on the page"})}},
    {"GET", "/status.json", AUTH_ROLE_PUBLIC, NULL, api_status_json, NULL,
     {"status", "The status page as JSON",
      "The same figures as /status: status, uptime (a fraction, null without samples), components with "
      "their state, since, uptime and one entry per day (date, uptime, samples); incidents and maintenance "
      "(empty until those features publish there).",
      PARAMS({"project", "query", "string", "Only this project's checks (as /status/{project})", false}),
      NULL, false,
      RESP({200, "StatusPage", "The status page"}, {404, "Error", "No status page, or no such project on it"})}},
    {"GET", "/status.atom", AUTH_ROLE_PUBLIC, NULL, api_status_atom, NULL,
     {"status", "The status page's state changes as an Atom feed",
      "Each entry is a component changing state (the last 100 since opshub started), newest first.",
      NULL, NULL, false,
      RESP({200, "application/atom+xml", "The feed"}, {404, "Error", "No status page is configured"})}},
    {"GET", "/assets/{path*}", AUTH_ROLE_PUBLIC, NULL, api_static_get, NULL,
     {"static", "A file of the web interface (server.static_dir)",
      "The file at this path under server.static_dir (/assets/app.3f9a1c2b.js is "
      "<static_dir>/assets/app.3f9a1c2b.js), served from memory: the directory is read at start and "
      "on SIGHUP. A strong ETag with each file (If-None-Match answers 304). A name with 8 or more hex "
      "digits between dots before its extension is cached for a year (Cache-Control: public, "
      "max-age=31536000, immutable); other files are revalidated (no-cache). Hidden names, '.' and "
      "'..' never resolve. Paths not under server.static_dir (or without it) are looked up in the web "
      "assets compiled into the binary (the dashboard's and the status page's).",
      PARAMS({"path", "path", "string", "The rest of the path: one or more segments, slashes included", true}),
      NULL, false,
      RESP({200, "*/*", "The file, typed by its extension"}, {304, NULL, "Not modified: If-None-Match matched"},
           {400, "Error", "A refused path: '.', '..' or empty segments, '%', a backslash or control bytes"},
           {404, "Error", "No such file (or a hidden or skipped one)"})}},
#define PING_PARAMS                                                                                 \
    PARAMS({"check_id", "path", "string", "The heartbeat check's id", true},                        \
           {"token", "query", "string", "The check's token, when it has one (or Authorization: Bearer, " \
            "or X-Opshub-Token)", false})
#define PING_RESP(ok)                                                                                  \
    RESP({200, "HeartbeatPing", ok},                                                                  \
         {404, "Error", "No heartbeat check with this id, or a wrong or missing token (not told apart)"}, \
         {409, "Error", "The check is paused"})
#define PING_DOC(summary, desc, ok) {"heartbeat", summary, desc, PING_PARAMS, NULL, false, PING_RESP(ok)}
#define PING_SUCCESS_DESC                                                                              \
    "Records a success: the check is up and its deadline moves to now + period + grace. After a "     \
    "/start, the run's duration is checked against max_runtime and min_runtime (down when outside). " \
    "Not under /api: no session; the check's token authenticates, and the rate limit of "          \
    "server.rate_limit applies per address."
#define PING_START_DESC                                                                                \
    "Begins a run whose duration the next success measures; with max_runtime, the check is down "   \
    "when no success comes within it. Records no sample."
#define PING_FAIL_DESC "Records a failure reported by the job: the check is down at once."
/* The Prometheus HTTP API (reads only; POST takes the parameters as a form body). */
#define PROM_RESP(schema, what)                                                                    \
    RESP({200, schema, what}, {400, "PromError", "A bad parameter or query (errorType bad_data)"},   \
         {422, "PromError", "The query failed (errorType execution: ambiguous matching, too many samples)"}, \
         {503, "PromError", "The series store is not running"})
#define PROM_ROUTE(path, handler, tag, summary, desc, params, schema, what)                           \
    {"GET", path, AUTH_ROLE_VIEWER, NULL, handler, NULL, {tag, summary, desc, params, NULL, false, PROM_RESP(schema, what)}}, \
    {"POST", path, AUTH_ROLE_VIEWER, NULL, handler, NULL,                                         \
     {tag, summary " (form body)", desc " The parameters may also come as an "                        \
      "application/x-www-form-urlencoded body.", params, NULL, false, PROM_RESP(schema, what)}, true}
#define PROM_RANGE_PARAMS                                                                          \
    {"start", "query", "string", "Unix seconds or RFC 3339; default: the oldest data", false},       \
    {"end", "query", "string", "Unix seconds or RFC 3339; default: the newest data", false},         \
    {"match[]", "query", "string", "A series selector; repeat for a union", false}
    {"GET", "/api/v1/rules", AUTH_ROLE_VIEWER, NULL, api_rules_list, NULL,
     {"alerts", "Rule groups and their rules",
      "The alert and recording rules in Prometheus' shape: each group (the configuration's alerts: is the "
      "group opshub) with its interval and last evaluation; each rule with its query, health (ok, err, unknown "
      "before its first evaluation), lastError, evaluationTime and, for alerting rules, its state and active "
      "alerts.",
      PARAMS({"type", "query", "string", "alert or record: only those rules", false}), NULL, false,
      RESP({200, "RuleGroups", "The groups"}, {400, "Error", "A bad type"})}},
    {"GET", "/api/v1/alerts", AUTH_ROLE_VIEWER, NULL, api_rules_alerts, NULL,
     {"alerts", "Active alerts",
      "Every pending and firing alert in Prometheus' shape: labels (alertname included), annotations, state, "
      "activeAt (since when its condition holds), value, and firedAt once firing.",
      NULL, NULL, false, RESP({200, "ActiveAlerts", "The alerts"})}},
    {"GET", "/api/v1/alerts/history", AUTH_ROLE_VIEWER, NULL, api_rules_history, NULL,
     {"alerts", "Alert transitions",
      "Every transition of every alert as the store keeps it (inactive -> pending -> firing -> resolved), newest "
      "first: when, the group and alert name, labels, annotations, the new and previous state, the value and "
      "since when the condition held. Kept as long as the hourly rollups (storage.retention.hours).",
      PARAMS({"from", "query", "string", "Unix seconds or ISO 8601; default: unbounded", false},
             {"to", "query", "string", "Unix seconds or ISO 8601; default: unbounded", false},
             {"limit", "query", "integer", "At most this many, 1..10000 (default 1000)", false}),
      NULL, false, RESP({200, "AlertHistory", "The transitions"}, {400, "Error", "A bad parameter"},
                        {503, "Error", "The database is unavailable"})}},
    {"GET", "/api/v1/alerts/groups", AUTH_ROLE_VIEWER, NULL, api_alert_groups, NULL,
     {"notifications", "Aggregation groups",
      "The notification layer's aggregation groups now (docs/notifications.md): each group's key (route and "
      "group_by labels), route, labels, how many alerts it holds and when it is next flushed.",
      NULL, NULL, false, RESP({200, "AlertGroups", "The groups"}, {503, "Error", "Notifications are not running"})}},
    {"GET", "/api/v1/maintenance", AUTH_ROLE_VIEWER, NULL, api_maintenance_list, NULL,
     {"notifications", "Maintenance windows",
      "The windows of maintenance: in the configuration, each with whether it is active, the current one "
      "(start, end) and the next one, its scope (projects, matchers), and a recurring one's schedule, time zone "
      "and duration. During a window the alerts it matches are recorded but not sent.",
      NULL, NULL, false, RESP({200, "MaintenanceList", "The windows"})}},
    {"GET", "/api/v1/incidents", AUTH_ROLE_VIEWER, NULL, api_incidents_list, NULL,
     {"incidents", "Incidents",
      "Incidents, newest first (docs/incidents.md): each with its number, title, severity (and the scheme's label "
      "and whether it is public), state, source (alert or manual), service, impact, eta, commander, responders, "
      "projects, checks, components, the alerts that joined it, times (created, acked_at, resolved_at, "
      "ack_deadline), ack_missed, tta_seconds, ttr_seconds, the postmortem and message (the communication "
      "template rendered).",
      PARAMS({"state", "query", "string", "open, resolved or all (default)", false},
             {"from", "query", "string", "Created at or after (unix seconds or ISO 8601)", false},
             {"to", "query", "string", "Created before", false},
             {"limit", "query", "integer", "At most this many, 1..10000 (default 100)", false}),
      NULL, false, RESP({200, "IncidentList", "The incidents"}, {400, "Error", "A bad parameter"},
                        {503, "Error", "Incidents or the database are not available"})}},
    {"POST", "/api/v1/incidents", AUTH_ROLE_OPERATOR, NULL, api_incidents_create, "incident.create",
     {"incidents", "Open an incident",
      "Opens an incident by hand: title and severity (a level of the scheme) are required; state (default "
      "INVESTIGATING), service, impact, eta, commander, responders, projects, checks, components, policy "
      "(default: the level's), channels and text (the first status update) are optional. The level's ack "
      "deadline starts now.",
      NULL, "IncidentInput", false,
      RESP({201, "Incident", "Opened"}, {400, "Error", "A bad field, named"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"GET", "/api/v1/incidents/{id}", AUTH_ROLE_VIEWER, NULL, api_incidents_get, NULL,
     {"incidents", "An incident", NULL, PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), NULL, false,
      RESP({200, "Incident", "The incident"}, {404, "Error", "No such incident"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"PATCH", "/api/v1/incidents/{id}", AUTH_ROLE_OPERATOR, NULL, api_incidents_patch, "incident.update",
     {"incidents", "Change an incident",
      "Any of the fields of a new incident, state (a RESOLVED incident set to another state is reopened) and the "
      "postmortem ({summary, impact, root_cause, lessons, follow_ups: [{text, owner, done}]}); null clears a "
      "field. Every change is a timeline entry.",
      PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), "IncidentPatch", false,
      RESP({200, "Incident", "Changed"}, {400, "Error", "A bad field, named"}, {404, "Error", "No such incident"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"POST", "/api/v1/incidents/{id}/ack", AUTH_ROLE_OPERATOR, NULL, api_incidents_ack, "incident.ack",
     {"incidents", "Acknowledge an incident", "Records who acknowledged it and when (MTTA).",
      PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), NULL, true,
      RESP({200, "Incident", "Acknowledged"}, {404, "Error", "No such incident"},
           {409, "Error", "Already acknowledged, or resolved"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"POST", "/api/v1/incidents/{id}/resolve", AUTH_ROLE_OPERATOR, NULL, api_incidents_resolve, "incident.resolve",
     {"incidents", "Resolve an incident", "With an optional text ({\"text\": ...}) on the timeline.",
      PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), "IncidentResolve", true,
      RESP({200, "Incident", "Resolved"}, {404, "Error", "No such incident"}, {409, "Error", "Already resolved"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"POST", "/api/v1/incidents/{id}/updates", AUTH_ROLE_OPERATOR, NULL, api_incidents_post_update,
     "incident.post_update",
     {"incidents", "Post a status update",
      "A status update: text (required) and optionally a new state. It is the incident's latest update in the "
      "communication template (message).",
      PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), "IncidentUpdate", false,
      RESP({201, "Incident", "Posted"}, {400, "Error", "A bad field, named"}, {404, "Error", "No such incident"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"GET", "/api/v1/incidents/{id}/timeline", AUTH_ROLE_VIEWER, NULL, api_incidents_timeline, NULL,
     {"incidents", "An incident's timeline",
      "Every entry, oldest first: seq, at, actor (a user, opshub for the incidents layer itself), kind (opened, "
      "state, field, update, ack, alert, deadline_missed, postmortem), text and data.",
      PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), NULL, false,
      RESP({200, "IncidentTimeline", "The timeline"}, {404, "Error", "No such incident"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"GET", "/api/v1/incidents/{id}/postmortem.md", AUTH_ROLE_VIEWER, NULL, api_incidents_postmortem, NULL,
     {"incidents", "An incident's postmortem as Markdown",
      "The facts, summary, impact, root cause, the whole timeline as a table, follow-ups as a task list and "
      "lessons.",
      PARAMS({"id", "path", "string", "The incident's id (i...) or its number", true}), NULL, false,
      RESP({200, "text/markdown", "The postmortem"}, {404, "Error", "No such incident"},
           {503, "Error", "Incidents or the database are not available"})}},
    {"GET", "/api/v1/reports/incidents", AUTH_ROLE_VIEWER, NULL, api_reports_incidents, NULL,
     {"incidents", "Incident report",
      "Incidents created from `from` to `to` (default: the last 30 days): in total, per severity (every level of "
      "the scheme) and per project, the count, how many are open, acknowledged and resolved, the ack deadlines "
      "missed, MTTA and MTTR (means, seconds).",
      PARAMS({"from", "query", "string", "Unix seconds or ISO 8601", false},
             {"to", "query", "string", "Unix seconds or ISO 8601", false}),
      NULL, false, RESP({200, "IncidentReport", "The report"}, {400, "Error", "A bad range"},
                        {503, "Error", "Incidents or the database are not available"})}},
    {"GET", "/api/v1/ack/{token}", AUTH_ROLE_PUBLIC, "30/min", api_ack_link_get, NULL,
     {"incidents", "An acknowledgement link",
      "The page of a signed link from a page (docs/incidents.md): a form that acknowledges the incident (HTML for "
      "a browser, Accept: text/html; JSON otherwise). GET changes nothing (link previews and mail scanners fetch "
      "links).",
      PARAMS({"u", "query", "string", "Who the link was sent to", true}), NULL, false,
      RESP({200, "text/html", "The form"}, {404, "text/html", "Not a link of this server"},
           {410, "text/html", "Expired (a day after it was sent)"})}},
    {"POST", "/api/v1/ack/{token}", AUTH_ROLE_PUBLIC, "30/min", api_ack_link_post, "incident.ack_link",
     {"incidents", "Acknowledge through a signed link",
      "Acknowledges exactly the incident of the link, as the person it was sent to, without a login; audited. A "
      "link stops working when it expires or once the incident is acknowledged or resolved.",
      PARAMS({"u", "query", "string", "Who the link was sent to", true}), NULL, true,
      RESP({200, "text/html", "Acknowledged"}, {404, "text/html", "Not a link of this server, or no such incident"},
           {409, "text/html", "Already acknowledged or resolved"}, {410, "text/html", "Expired"})}},
    {"POST", "/api/v1/rotations/{id}/overrides", AUTH_ROLE_OPERATOR, NULL, api_overrides_add, "override.create",
     {"oncall", "Override who is on call",
      "user (an enabled opshub user) replaces whoever the rotation has on call from start to end, also outside "
      "its restrict windows; the newest of overlapping overrides wins (after the configuration's). Stored: it "
      "outlives a restart and a reload. end is in the future, at most 90 days after start; start at most a year "
      "ahead.",
      PARAMS({"id", "path", "string", "Rotation id", true}), "OverrideInput", true,
      RESP({201, "Override", "Made"}, {400, "Error", "A bad field (named)"}, {404, "Error", "No such rotation"},
           {409, "Error", "At most 2000 overrides that have not ended"})}},
    {"DELETE", "/api/v1/rotations/{id}/overrides/{oid}", AUTH_ROLE_OPERATOR, NULL, api_overrides_delete,
     "override.delete",
     {"oncall", "Remove an override",
      "Only the API's (the configuration's overrides are changed in the file).",
      PARAMS({"id", "path", "string", "Rotation id", true}, {"oid", "path", "string", "Override id", true}), NULL,
      true, RESP({204, NULL, "Removed"}, {404, "Error", "No such rotation or override"})}},
    {"GET", "/api/v1/status/subscribers", AUTH_ROLE_OPERATOR, NULL, api_subscribers_list, NULL,
     {"status", "Subscribers of the status page",
      "Who gets the updates of public incidents (docs/status-page.md), oldest first. A webhook's URL is shown as "
      "its origin only (it may carry a token).", NULL, NULL, false,
      RESP({200, "SubscriberList", "Every subscriber (at most 5000)"})}},
    {"POST", "/api/v1/status/subscribers", AUTH_ROLE_OPERATOR, NULL, api_subscribers_add, "subscriber.add",
     {"status", "Add a subscriber",
      "An e-mail address or a webhook URL, for the whole page or one project's incidents; subscribed at once (no "
      "confirmation). The same address and project again answers 200 with the existing subscriber.",
      NULL, "SubscriberInput", true,
      RESP({201, "Subscriber", "Subscribed"}, {200, "Subscriber", "Subscribed already"},
           {400, "Error", "Neither or both of email and webhook, a bad address, or an unknown project"},
           {409, "Error", "At most 5000 subscribers"})}},
    {"DELETE", "/api/v1/status/subscribers/{id}", AUTH_ROLE_OPERATOR, NULL, api_subscribers_delete,
     "subscriber.delete",
     {"status", "Remove a subscriber", "", PARAMS({"id", "path", "string", "Subscriber id", true}), NULL, true,
      RESP({204, NULL, "Removed"}, {404, "Error", "No such subscriber"})}},
    {"POST", "/api/v1/status/subscribe", AUTH_ROLE_PUBLIC, "10/min", api_status_subscribe, "subscription.request",
     {"status", "Subscribe to the status page by e-mail",
      "For visitors of the status page when incidents.subscribers.self_service is on (else 404): sends a signed "
      "confirmation link (48 hours) to the address; nothing is stored until it is used, and the answer is the "
      "same for an address that is subscribed already.",
      NULL, "SubscribeRequest", true,
      RESP({202, "Result", "The confirmation was sent"}, {400, "Error", "A bad address or an unknown project"},
           {404, "Error", "This status page takes no subscriptions"})}},
    {"GET", "/api/v1/status/confirm/{token}", AUTH_ROLE_PUBLIC, "30/min", api_status_confirm_get, NULL,
     {"status", "A confirmation link",
      "A page with a form that confirms the subscription (HTML with Accept: text/html, JSON otherwise); GET "
      "changes nothing.", NULL, NULL, false,
      RESP({200, "text/html", "The form"}, {404, "text/html", "Not a link of this server"},
           {410, "text/html", "Expired"})}},
    {"POST", "/api/v1/status/confirm/{token}", AUTH_ROLE_PUBLIC, "30/min", api_status_confirm_post,
     "subscription.confirm",
     {"status", "Confirm a subscription", "Stores the subscriber of the link; using it again changes nothing.",
      NULL, NULL, true,
      RESP({200, "text/html", "Subscribed, with the unsubscribe link"}, {404, "text/html", "Not a link of this server"},
           {410, "text/html", "Expired"})}},
    {"GET", "/api/v1/status/unsubscribe/{token}", AUTH_ROLE_PUBLIC, "30/min", api_status_unsubscribe_get, NULL,
     {"status", "An unsubscribe link",
      "The link in every update sent to a subscriber: a page with a form (GET changes nothing).", NULL, NULL, false,
      RESP({200, "text/html", "The form"}, {404, "text/html", "Not a link of this server"})}},
    {"POST", "/api/v1/status/unsubscribe/{token}", AUTH_ROLE_PUBLIC, "30/min", api_status_unsubscribe_post,
     "subscription.cancel",
     {"status", "Unsubscribe through a signed link",
      "Removes the subscriber of the link, without a login; audited. Using it again answers the same.", NULL, NULL,
      true, RESP({200, "text/html", "Unsubscribed"}, {404, "text/html", "Not a link of this server"})}},
    {"GET", "/api/v1/oncall", AUTH_ROLE_VIEWER, NULL, api_oncall_now, NULL,
     {"oncall", "Who is on call",
      "Who is on call now (or at `at`) in each rotation (with since and until) and for each step of each "
      "escalation policy: a rotation target names its current on-call (null outside its restrict windows), a "
      "user target the user, a channel target the channel (docs/incidents.md).",
      PARAMS({"at", "query", "string", "Unix seconds or ISO 8601; default: now", false}), NULL, false,
      RESP({200, "OnCall", "Who is on call"}, {400, "Error", "A bad time"},
           {503, "Error", "On-call is not running"})}},
    {"GET", "/api/v1/rotations", AUTH_ROLE_VIEWER, NULL, api_rotations_list, NULL,
     {"oncall", "Rotations",
      "The rotations of the configuration: members, shift length, handoff, time zone, restrict windows, "
      "overrides, who is on call now (current) and next, and feed_path, the rotation's iCalendar feed with its "
      "token.",
      NULL, NULL, false, RESP({200, "RotationList", "The rotations"}, {503, "Error", "On-call is not running"})}},
    {"GET", "/api/v1/rotations/{id}", AUTH_ROLE_VIEWER, NULL, api_rotations_get, NULL,
     {"oncall", "A rotation and its shifts",
      "The rotation as in the list, with spans: who is on call from `from` to `to` (default: a day ago to 28 "
      "days ahead, at most 400 days), nobody's spans included, merged where the answer does not change.",
      PARAMS({"from", "query", "string", "Unix seconds or ISO 8601", false},
             {"to", "query", "string", "Unix seconds or ISO 8601", false}),
      NULL, false, RESP({200, "Rotation", "The rotation"}, {400, "Error", "A bad range"},
                        {404, "Error", "No such rotation"}, {503, "Error", "On-call is not running"})}},
    {"GET", "/api/v1/rotations/{id}.ics", AUTH_ROLE_PUBLIC, "60/min", api_rotations_ics, NULL,
     {"oncall", "A rotation as an iCalendar feed",
      "The rotation's shifts as a VCALENDAR (RFC 5545): one VEVENT per span with someone on call, in UTC, from "
      "30 days ago to 90 days ahead unless from/to say otherwise. No login: the token (feed_path of GET "
      "/api/v1/rotations) is a MAC of the rotation's id under the server's signing key.",
      PARAMS({"token", "query", "string", "The feed token", true},
             {"from", "query", "string", "Unix seconds or ISO 8601", false},
             {"to", "query", "string", "Unix seconds or ISO 8601", false}),
      NULL, false, RESP({200, "text/calendar", "The feed"}, {400, "Error", "A bad range"},
                        {404, "Error", "No such rotation, or a missing or wrong token"},
                        {503, "Error", "On-call is not running"})}},
    {"GET", "/api/v1/silences", AUTH_ROLE_VIEWER, NULL, api_silences_list, NULL,
     {"notifications", "Silences",
      "Every silence, newest first, expired ones included (kept as long as the hourly rollups), in "
      "Alertmanager's shape: id, matchers, startsAt, endsAt, createdBy, comment, updatedAt, status.state "
      "(pending, active, expired).",
      PARAMS({"state", "query", "string", "pending, active or expired", false}), NULL, false,
      RESP({200, "SilenceList", "The silences"}, {400, "Error", "A bad state"})}},
    {"POST", "/api/v1/silences", AUTH_ROLE_OPERATOR, NULL, api_silences_create, "silence.create",
     {"notifications", "Create or update a silence",
      "Alerts every matcher matches are not sent between startsAt (default now) and endsAt (or startsAt + "
      "duration). Matchers are objects {name, value, isRegex, isEqual} or strings name=value, name!=value, "
      "name=~regex, name!~regex; at least one must not match the empty string. createdBy defaults to the "
      "caller. With an id: that silence is updated.",
      NULL, "SilenceInput", false,
      RESP({201, "Silence", "Created"}, {200, "Silence", "Updated"}, {400, "Error", "Invalid (error.field names it)"},
           {404, "Error", "The id names no silence"})}},
    {"GET", "/api/v1/silences/{id}", AUTH_ROLE_VIEWER, NULL, api_silences_get, NULL,
     {"notifications", "One silence", NULL, PARAMS({"id", "path", "string", "Silence id", true}), NULL, false,
      RESP({200, "Silence", "The silence"}, {404, "Error", "No such silence"})}},
    {"DELETE", "/api/v1/silences/{id}", AUTH_ROLE_OPERATOR, NULL, api_silences_expire, "silence.expire",
     {"notifications", "Expire a silence",
      "Ends the silence now (endsAt = now); it stays in the list as expired. Expiring an expired one changes "
      "nothing.",
      PARAMS({"id", "path", "string", "Silence id", true}), NULL, false,
      RESP({200, "Silence", "Expired"}, {404, "Error", "No such silence"})}},
    {"POST", "/api/v2/alerts", AUTH_ROLE_OPERATOR, NULL, api_v2_alerts_post, "alerts.receive",
     {"alertmanager", "Receive alerts (Alertmanager API v2)",
      "Alertmanager's PostableAlerts: a list of {labels, annotations, startsAt, endsAt, generatorURL}. A Prometheus "
      "server's alerting.alertmanagers (api_version v2, path_prefix /, authorization with an operator token) "
      "sends its alerts here; each fires until its endsAt (none: 5 minutes after it was last sent) and goes "
      "through the same routes, groups, inhibition, silences and outbox as the rules' alerts.",
      NULL, "PostableAlerts", false,
      RESP({200, "Empty", "Taken"}, {400, "Error", "Invalid (error.field is the alert's index)"})}},
    {"GET", "/api/v2/alerts", AUTH_ROLE_VIEWER, NULL, api_v2_alerts_get, NULL,
     {"alertmanager", "Alerts (Alertmanager API v2)",
      "Alertmanager's GettableAlerts: every firing alert (the rules' and the received ones) with its receivers "
      "and status (active, or suppressed with silencedBy / inhibitedBy). amtool alert query reads it.",
      PARAMS({"active", "query", "boolean", "Include alerts that are not muted (default true)", false},
             {"silenced", "query", "boolean", "Include silenced alerts (default true)", false},
             {"inhibited", "query", "boolean", "Include inhibited alerts (default true)", false},
             {"unprocessed", "query", "boolean", "Accepted, no effect (every alert is processed)", false},
             {"filter", "query", "string", "A matcher (severity=\"critical\"); repeat for more", false}),
      NULL, false, RESP({200, "GettableAlerts", "The alerts"}, {400, "Error", "A bad parameter"})}},
    {"GET", "/api/v2/silences", AUTH_ROLE_VIEWER, NULL, api_v2_silences_list, NULL,
     {"alertmanager", "Silences (Alertmanager API v2)", "Every silence as GettableSilences (a list).", NULL,
      NULL, false, RESP({200, "GettableSilences", "The silences"})}},
    {"POST", "/api/v2/silences", AUTH_ROLE_OPERATOR, NULL, api_v2_silences_create, "silence.add",
     {"alertmanager", "Create or update a silence (Alertmanager API v2)",
      "PostableSilence, as amtool silence add sends it; answers {silenceID}.", NULL, "SilenceInput", false,
      RESP({200, "SilenceID", "Created or updated"}, {400, "Error", "Invalid"}, {404, "Error", "No such id"})}},
    {"GET", "/api/v2/silence/{id}", AUTH_ROLE_VIEWER, NULL, api_v2_silence_get, NULL,
     {"alertmanager", "One silence (Alertmanager API v2)", NULL,
      PARAMS({"id", "path", "string", "Silence id", true}), NULL, false,
      RESP({200, "Silence", "The silence"}, {404, "Error", "No such silence"})}},
    {"DELETE", "/api/v2/silence/{id}", AUTH_ROLE_OPERATOR, NULL, api_v2_silence_expire, "silence.delete",
     {"alertmanager", "Expire a silence (Alertmanager API v2)", "As amtool silence expire.",
      PARAMS({"id", "path", "string", "Silence id", true}), NULL, false,
      RESP({200, "Empty", "Expired"}, {404, "Error", "No such silence"})}},
    {"GET", "/api/v2/status", AUTH_ROLE_VIEWER, NULL, api_v2_status, NULL,
     {"alertmanager", "Status (Alertmanager API v2)",
      "AlertmanagerStatus: cluster (disabled), versionInfo (opshub's), config, uptime.", NULL, NULL, false,
      RESP({200, "AlertmanagerStatus", "The status"})}},
    {"GET", "/api/v2/receivers", AUTH_ROLE_VIEWER, NULL, api_v2_receivers, NULL,
     {"alertmanager", "Receivers (Alertmanager API v2)", "[{name}]: the channels of notify.channels.", NULL,
      NULL, false, RESP({200, "Receivers", "The receivers"})}},
    {"GET", "/api/v1/notifications", AUTH_ROLE_VIEWER, NULL, api_notify_list, NULL,
     {"notifications", "Deliveries",
      "Every notification the outbox made, newest first: channel, status (pending, sent, failed), attempts, "
      "the last error, the next attempt of a pending one, when it was sent and how long after the alert's "
      "transition. Kept as long as the hourly rollups.",
      PARAMS({"from", "query", "string", "Created at or after: unix seconds or ISO 8601", false},
             {"to", "query", "string", "Created at or before: unix seconds or ISO 8601", false},
             {"status", "query", "string", "pending, sent or failed", false},
             {"limit", "query", "integer", "At most this many, 1..10000 (default 100)", false}),
      NULL, false, RESP({200, "NotificationList", "The deliveries"}, {400, "Error", "A bad parameter"},
                        {503, "Error", "The database is unavailable"})}},
    {"GET", "/api/v1/notifications/{id}", AUTH_ROLE_VIEWER, NULL, api_notify_get, NULL,
     {"notifications", "One delivery",
      "A delivery with its payload (Alertmanager's webhook JSON, version 4: what every channel renders).",
      PARAMS({"id", "path", "string", "Delivery id", true}), NULL, false,
      RESP({200, "Notification", "The delivery"}, {404, "Error", "No such delivery"})}},
    {"POST", "/api/v1/notifications/{id}/retry", AUTH_ROLE_OPERATOR, NULL, api_notify_retry, "notification.retry",
     {"notifications", "Retry a delivery now",
      "A pending delivery is attempted now; a failed one goes back to pending with a fresh max_age.",
      PARAMS({"id", "path", "string", "Delivery id", true}), NULL, false,
      RESP({202, "NotificationQueued", "Queued"}, {404, "Error", "No such delivery"},
           {409, "Error", "Delivered already"})}},
    {"GET", "/api/v1/channels", AUTH_ROLE_VIEWER, NULL, api_channels_list, NULL,
     {"notifications", "Notification channels",
      "The channels of notify.channels (no secrets): type, send_resolved, whether it is disabled "
      "(DISABLE_SLACK) or failing, and its counters.",
      NULL, NULL, false, RESP({200, "ChannelList", "The channels"}, {503, "Error", "Notifications are not running"})}},
    {"POST", "/api/v1/channels/{id}/test", AUTH_ROLE_OPERATOR, NULL, api_channels_test, "channel.test",
     {"notifications", "Send a test message",
      "Queues a test message (alert OpshubTest, severity info) through the channel, like any delivery: its id "
      "is in the answer and in GET /api/v1/notifications.",
      PARAMS({"id", "path", "string", "Channel id", true}), NULL, false,
      RESP({202, "NotificationQueued", "Queued"}, {404, "Error", "No such channel"},
           {503, "Error", "The outbox is full"})}},
    PROM_ROUTE("/api/v1/query", api_query_instant, "query", "Evaluate PromQL at one instant",
               "Prometheus' instant query over opshub's series (docs/alerts.md lists the PromQL supported).",
               PARAMS({"query", "query", "string", "The PromQL expression", true},
                      {"time", "query", "string", "Unix seconds or RFC 3339; default now", false}),
               "PromQuery", "The result"),
    PROM_ROUTE("/api/v1/query_range", api_query_range, "query", "Evaluate PromQL over a range of steps",
               "Prometheus' range query: the expression at start, start + step, ... up to end (at most "
               "11,000 steps).",
               PARAMS({"query", "query", "string", "The PromQL expression (a scalar or instant vector)", true},
                      {"start", "query", "string", "Unix seconds or RFC 3339", true},
                      {"end", "query", "string", "Unix seconds or RFC 3339", true},
                      {"step", "query", "string", "Seconds (a float) or a duration such as 15s", true}),
               "PromQuery", "A matrix"),
    PROM_ROUTE("/api/v1/series", api_query_series, "query", "Series that match selectors",
               "The label sets of the series that any match[] selects and that have samples in [start, end].",
               PARAMS(PROM_RANGE_PARAMS), "PromSeries", "Label sets"),
    PROM_ROUTE("/api/v1/labels", api_query_labels, "query", "Label names",
               "Label names of the series that match[] selects (all without it) in [start, end].",
               PARAMS(PROM_RANGE_PARAMS), "PromStrings", "Names"),
    PROM_ROUTE("/api/v1/label/{name}/values", api_query_label_values, "query", "Values of one label",
               "Values of the label over the series that match[] selects (all without it) in [start, end].",
               PARAMS({"name", "path", "string", "The label name (__name__ for metric names)", true},
                      PROM_RANGE_PARAMS), "PromStrings", "Values"),
    {"POST", "/ping/{check_id}", AUTH_ROLE_PUBLIC, NULL, api_ping_success, "heartbeat.ping",
     PING_DOC("Heartbeat: the job succeeded", PING_SUCCESS_DESC, "Recorded")},
    {"GET", "/ping/{check_id}", AUTH_ROLE_PUBLIC, NULL, api_ping_success, NULL,
     PING_DOC("Heartbeat: the job succeeded (GET, for clients that only do GET)", PING_SUCCESS_DESC, "Recorded")},
    {"POST", "/ping/{check_id}/start", AUTH_ROLE_PUBLIC, NULL, api_ping_start, "heartbeat.start",
     PING_DOC("Heartbeat: a run begins", PING_START_DESC, "Run started")},
    {"GET", "/ping/{check_id}/start", AUTH_ROLE_PUBLIC, NULL, api_ping_start, NULL,
     PING_DOC("Heartbeat: a run begins (GET)", PING_START_DESC, "Run started")},
    {"POST", "/ping/{check_id}/fail", AUTH_ROLE_PUBLIC, NULL, api_ping_fail, "heartbeat.fail",
     PING_DOC("Heartbeat: the job failed", PING_FAIL_DESC, "Recorded")},
    {"GET", "/ping/{check_id}/fail", AUTH_ROLE_PUBLIC, NULL, api_ping_fail, NULL,
     PING_DOC("Heartbeat: the job failed (GET)", PING_FAIL_DESC, "Recorded")},
};
const size_t http_routes_n = sizeof(http_routes) / sizeof(http_routes[0]);

const struct http_route_tag http_routes_tags[] = {
    {"health", "opshub's own health, for load balancers and runbooks"},
    {"metrics", "Prometheus metrics"},
    {"checks", "Monitored checks, their status and samples"},
    {"projects", "Projects that group checks"},
    {"auth", "Sign-in, token refresh and the current principal"},
    {"users", "User accounts"},
    {"tokens", "API tokens"},
    {"audit", "Who changed what, and denied requests"},
    {"meta", "This document and its HTML rendering"},
    {"static", "Files of the web interface"},
    {"events", "The live stream of samples and status changes"},
    {"status", "The public status page"},
    {"heartbeat", "Pings from cron jobs and backups to heartbeat checks"},
    {"query", "The Prometheus HTTP API over opshub's series (PromQL), for Grafana and scripts"},
    {"alerts", "Alert and recording rules and the alerts they raise"},
    {"notifications", "Channels, aggregation groups and the deliveries of the outbox"},
    {"alertmanager", "Alertmanager's API v2, for Prometheus servers and amtool"},
    {"oncall", "Rotations, escalation policies and who is on call"},
    {"incidents", "Incidents, their timelines, postmortems and reports"},
};
const size_t http_routes_n_tags = sizeof(http_routes_tags) / sizeof(http_routes_tags[0]);
