/*
 * http/api_int: what the api_*.c files and metrics.c share. Private to
 * src/http; no other folder includes it.
 */
#ifndef HTTP_API_INT_H
#define HTTP_API_INT_H

#include "auth/ratelimit.h"
#include "auth/service.h"
#include "base/metrics.h"
#include "http/api.h"
#include "http/body.h"
#include "http/cors.h"
#include "http/router.h"

#include <jansson.h>

/* One rate-limit table per distinct rate (the default and each per-route
 * override). */
#define API_MAX_RATES 8
struct api_rate {
    const char *spec;                 /* the route's rate_class (a rate or a class), or the configured value */
    char value[32];                   /* "120/min" (copied: the conf may be reloaded) */
    struct auth_ratelimit_rate rate;
    struct auth_ratelimit *rl;
};

struct http_api {
    struct http_api_deps deps;
    struct http_router *router;
    uint64_t requests_by_code[600];
    struct base_histogram duration;
    struct api_rate rates[API_MAX_RATES];
    size_t n_rates;
    struct api_rate global;           /* every client together */
    struct http_cors *cors;           /* NULL: no cross-origin access */
    struct http_static *statics;      /* server.static_dir in memory (owned); NULL: none */
    struct http_static *web;          /* the web build compiled in (owned); NULL: not built in */
    struct http_events *events;       /* GET /api/v1/events (owned); NULL without a bus and sched */
    struct http_status *status;       /* the status page (owned); NULL without a sched */
    uint64_t denied_401, denied_403, limited_429;
    uint64_t (*probes_by_type)[3];    /* [type index][result]: samples seen on the bus */
    int metrics_jobs;                 /* /metrics scrapes being formatted */
    uint64_t metrics_slices;          /* times one yielded the loop */
    bool closing;                     /* shutdown began: deps.sched/auth/objects may be freed */
    struct base_cidr trusted[CONF_TRUSTED_PROXIES_MAX]; /* server.trusted_proxies */
    size_t n_trusted;
    /* /metrics credentials: the scheme and the SHA-256 (hex) of what follows
     * it in the Authorization header; scheme "" = public. */
    char metrics_scheme[8];
    char metrics_digest[AUTH_HASH_HEX];
};

/* The browser session's cookies (docs/api.md, "Browser sessions"). */
#define API_COOKIE_SESSION "opshub_session"   /* the access JWT; HttpOnly, Path=/ */
#define API_COOKIE_REFRESH "opshub_refresh"   /* the refresh token; HttpOnly, Path=/api/v1/auth */
#define API_COOKIE_CSRF "opshub_csrf"         /* the CSRF token; readable by script, Path=/ */
#define API_CSRF_HEADER "X-CSRF-Token"
/* Room for the Set-Cookie lines of a session (three cookies, two tokens). */
#define API_COOKIE_HEADERS_MAX (AUTH_ACCESS_TOKEN_MAX + AUTH_TOKEN_MAX + AUTH_CSRF_TOKEN_MAX + 512)

/* Per-request state kept in req->app_ctx (set up by http_api_handle). */
struct api_ctx {
    const struct http_route *route;   /* NULL for 404/405/preflight */
    struct auth_principal who;        /* kind NONE on public routes */
    char target[160];                 /* what a mutating request acted on, for the audit log */
    char detail[160];                 /* audit detail (never a secret) */
    char headers[600];                /* added to the response: RateLimit-*, CORS */
    bool audit;                       /* write an audit entry when responding */
    bool cookie_auth;                 /* credentials came from the opshub_session cookie */
    const char *action;               /* audit action; NULL: derived from the route */
};
_Static_assert(sizeof(struct api_ctx) <= HTTP_APP_CTX_MAX, "api_ctx must fit in req->app_ctx");

static inline struct api_ctx *api_ctx(struct http_request *req)
{
    return (struct api_ctx *)(void *)req->app_ctx;
}

/* The Set-Cookie lines (into hdr, n >= API_COOKIE_HEADERS_MAX) of a
 * browser session: the three cookies with the tokens of r and the
 * session's CSRF token in csrf (AUTH_CSRF_TOKEN_MAX). Secure as
 * api_cookie_secure says. 0 or a BASE_ERR_*. */
int api_cookies_set(struct http_api *api, const struct http_request *req, const struct auth_login_result *r,
                    char *csrf, char *hdr, size_t n);
/* Whether cookies set for req get Secure: it came over TLS, or
 * server.base_url is https (TLS ends at a proxy in front). */
bool api_cookie_secure(const struct http_api *api, const struct http_request *req);
/* The Set-Cookie lines that delete the three cookies (Max-Age=0). */
void api_cookies_clear(const struct http_api *api, const struct http_request *req, char *hdr, size_t n);

/* Every response goes through api_send: it counts the request, observes
 * its duration and writes the access log line, then sends. */
void api_send(struct http_api *api, struct http_request *req, int status, const char *content_type,
              const char *extra_headers, const char *body, size_t len);
/* The answer of a page opened from a link (signed links: acknowledge,
 * confirm, unsubscribe): HTML with Accept: text/html (title and body,
 * already escaped), the API's JSON otherwise ({"result": title} or an
 * error with title as the message). */
void api_send_page(struct http_api *api, struct http_request *req, int status, const char *title, const char *body);
/* s escaped for HTML text into out (truncated to n). Returns out. */
const char *api_html_esc(const char *s, char *out, size_t n);
/* The 404 of a path no route serves ("no route for GET /x"). */
void api_send_no_route(struct http_api *api, struct http_request *req);
/* api_send with a borrowed body in pieces (http_response_send_parts). */
void api_send_parts(struct http_api *api, struct http_request *req, int status, const char *content_type,
                    const char *extra_headers, const struct http_body_parts *parts);
/* Sends {"error":{"code":..,"message":..[,"field":..]}} with `status`. */
void api_send_error(struct http_api *api, struct http_request *req, int status, const char *code,
                    const char *message, const char *field);
/* Serialises and sends `body` (stolen: decref'd here). 500 on OOM. */
void api_send_json(struct http_api *api, struct http_request *req, int status, json_t *body);
/* Parses and validates the JSON body against fields; on failure sends the
 * 400/413/500 itself and returns NULL. To an unauthenticated caller the
 * answer holds no text of its own: an error at a path of its keys (an
 * unknown member) names only the table's fields, without `field`. */
json_t *api_body(struct http_api *api, struct http_request *req, const struct http_body_field *fields,
                 size_t n);
/* Maps a BASE_ERR_* from the store to a response (503 unavailable, 404,
 * 409, 500). */
void api_send_store_error(struct http_api *api, struct http_request *req, int status, const char *what);
/* The audit row of a mutation, written in the transaction of its change
 * (a change is never committed without its row, nor a row without its
 * change). prepare fills *out as the row of an answer with `status` (the
 * handler's answer on success; target and detail must be set before) and
 * returns false when this request writes none; the handler appends it
 * with auth_db_audit_append before committing, and calls committed once
 * the transaction did, so no second row is written when it answers. If
 * the transaction fails, the answer's row (an error) is written as for
 * any other refusal. */
bool api_audit_prepare(struct http_request *req, int status, struct auth_audit *out);
void api_audit_committed(struct http_api *api, struct http_request *req);
/* Sets the audit target ("user alice", "token t_..."). */
/* Who made the request, for records (timelines, created_by): the user's or
 * token's name, "api" when none. Borrowed for the request. */
const char *api_actor(struct http_request *req);
void api_set_target(struct http_request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Query parameters. Each returns 1 when present and valid, 0 when absent,
 * -1 when present but malformed (a 400 naming the parameter was sent: a
 * bad value never silently becomes the default). */
int api_query_param(struct http_api *api, struct http_request *req, const char *name, char *buf, size_t n);
int api_query_int(struct http_api *api, struct http_request *req, const char *name, long lo, long hi,
                  long *out);
/* Unix seconds or ISO 8601 into unix ms; 0 when absent. 0 or -1 (sent). */
int api_query_time(struct http_api *api, struct http_request *req, const char *name, int64_t *out);

/* ISO 8601 string of unix ms, or JSON null for 0. */
json_t *api_time_or_null(int64_t ms);

/* The user the {id} path parameter names (an id or a username), or NULL after a 404. */
const struct auth_user *api_user_or_404(struct http_api *api, struct http_request *req, const struct http_params *p);
/* The check named by the {id} path parameter, or NULL after a 404. */
struct sched_check;
const struct sched_check *api_check_find_or_404(struct http_api *api, struct http_request *req,
                                                const struct http_params *p);

/* Route handlers (the route table is http/routes.c). */
void api_health_healthz(void *api, struct http_request *req, const struct http_params *p);
void api_health_live(void *api, struct http_request *req, const struct http_params *p);
void api_health_ready(void *api, struct http_request *req, const struct http_params *p);
void api_health_db(void *api, struct http_request *req, const struct http_params *p);
void api_health_full(void *api, struct http_request *req, const struct http_params *p);
void api_checks_list(void *api, struct http_request *req, const struct http_params *p);
void api_checks_get(void *api, struct http_request *req, const struct http_params *p);
void api_checks_samples(void *api, struct http_request *req, const struct http_params *p);
void api_checks_run(void *api, struct http_request *req, const struct http_params *p);
void api_checks_pause(void *api, struct http_request *req, const struct http_params *p);
void api_checks_resume(void *api, struct http_request *req, const struct http_params *p);
void api_events_get(void *api, struct http_request *req, const struct http_params *p);
void api_status_page(void *api, struct http_request *req, const struct http_params *p);
void api_status_project(void *api, struct http_request *req, const struct http_params *p);
void api_status_json(void *api, struct http_request *req, const struct http_params *p);
void api_status_atom(void *api, struct http_request *req, const struct http_params *p);
void api_checks_uptime(void *api, struct http_request *req, const struct http_params *p);
void api_checks_latency(void *api, struct http_request *req, const struct http_params *p);
void api_metrics_get(void *api, struct http_request *req, const struct http_params *p);
void api_auth_login(void *api, struct http_request *req, const struct http_params *p);
void api_auth_test_login(void *api, struct http_request *req, const struct http_params *p);
void api_debug_clock(void *api, struct http_request *req, const struct http_params *p);
void api_overrides_add(void *api, struct http_request *req, const struct http_params *p);
void api_overrides_delete(void *api, struct http_request *req, const struct http_params *p);
void api_subscribers_list(void *api, struct http_request *req, const struct http_params *p);
void api_subscribers_add(void *api, struct http_request *req, const struct http_params *p);
void api_subscribers_delete(void *api, struct http_request *req, const struct http_params *p);
void api_status_subscribe(void *api, struct http_request *req, const struct http_params *p);
void api_status_confirm_get(void *api, struct http_request *req, const struct http_params *p);
void api_status_confirm_post(void *api, struct http_request *req, const struct http_params *p);
void api_status_unsubscribe_get(void *api, struct http_request *req, const struct http_params *p);
void api_status_unsubscribe_post(void *api, struct http_request *req, const struct http_params *p);
void api_auth_refresh(void *api, struct http_request *req, const struct http_params *p);
void api_auth_logout(void *api, struct http_request *req, const struct http_params *p);
void api_auth_me(void *api, struct http_request *req, const struct http_params *p);
void api_auth_providers(void *api, struct http_request *req, const struct http_params *p);
void api_sso_start(void *api, struct http_request *req, const struct http_params *p);
void api_sso_callback(void *api, struct http_request *req, const struct http_params *p);
void api_users_list(void *api, struct http_request *req, const struct http_params *p);
void api_users_create(void *api, struct http_request *req, const struct http_params *p);
void api_users_get(void *api, struct http_request *req, const struct http_params *p);
void api_users_patch(void *api, struct http_request *req, const struct http_params *p);
void api_tokens_list(void *api, struct http_request *req, const struct http_params *p);
void api_tokens_create(void *api, struct http_request *req, const struct http_params *p);
void api_tokens_get(void *api, struct http_request *req, const struct http_params *p);
void api_tokens_revoke(void *api, struct http_request *req, const struct http_params *p);
void api_audit_list(void *api, struct http_request *req, const struct http_params *p);
void api_checks_create(void *api, struct http_request *req, const struct http_params *p);
void api_checks_patch(void *api, struct http_request *req, const struct http_params *p);
void api_checks_delete(void *api, struct http_request *req, const struct http_params *p);
void api_projects_list(void *api, struct http_request *req, const struct http_params *p);
void api_projects_get(void *api, struct http_request *req, const struct http_params *p);
void api_projects_create(void *api, struct http_request *req, const struct http_params *p);
void api_projects_patch(void *api, struct http_request *req, const struct http_params *p);
void api_projects_delete(void *api, struct http_request *req, const struct http_params *p);
void api_openapi_json(void *api, struct http_request *req, const struct http_params *p);
void api_docs_html(void *api, struct http_request *req, const struct http_params *p);
void api_static_get(void *api, struct http_request *req, const struct http_params *p);
void api_dashboard_get(void *api, struct http_request *req, const struct http_params *p);
void api_rules_list(void *api, struct http_request *req, const struct http_params *p);
void api_rules_alerts(void *api, struct http_request *req, const struct http_params *p);
void api_rules_history(void *api, struct http_request *req, const struct http_params *p);
/* api_notify.c */
void api_notify_list(void *api, struct http_request *req, const struct http_params *p);
void api_notify_get(void *api, struct http_request *req, const struct http_params *p);
void api_notify_retry(void *api, struct http_request *req, const struct http_params *p);
void api_channels_list(void *api, struct http_request *req, const struct http_params *p);
void api_channels_test(void *api, struct http_request *req, const struct http_params *p);
void api_alert_groups(void *api, struct http_request *req, const struct http_params *p);
void api_maintenance_list(void *api, struct http_request *req, const struct http_params *p);
void api_oncall_now(void *api, struct http_request *req, const struct http_params *p);
void api_rotations_list(void *api, struct http_request *req, const struct http_params *p);
void api_rotations_get(void *api, struct http_request *req, const struct http_params *p);
void api_rotations_ics(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_list(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_create(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_get(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_patch(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_ack(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_resolve(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_post_update(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_timeline(void *api, struct http_request *req, const struct http_params *p);
void api_incidents_postmortem(void *api, struct http_request *req, const struct http_params *p);
void api_reports_incidents(void *api, struct http_request *req, const struct http_params *p);
void api_contacts_get(void *api, struct http_request *req, const struct http_params *p);
void api_contacts_put(void *api, struct http_request *req, const struct http_params *p);
void api_ack_link_get(void *api, struct http_request *req, const struct http_params *p);
void api_ack_link_post(void *api, struct http_request *req, const struct http_params *p);
/* api_silences.c */
void api_silences_list(void *api, struct http_request *req, const struct http_params *p);
void api_silences_get(void *api, struct http_request *req, const struct http_params *p);
void api_silences_create(void *api, struct http_request *req, const struct http_params *p);
void api_silences_expire(void *api, struct http_request *req, const struct http_params *p);
void api_v2_silences_list(void *api, struct http_request *req, const struct http_params *p);
void api_v2_silence_get(void *api, struct http_request *req, const struct http_params *p);
void api_v2_silences_create(void *api, struct http_request *req, const struct http_params *p);
void api_v2_silence_expire(void *api, struct http_request *req, const struct http_params *p);
/* api_alertmanager.c */
void api_v2_alerts_post(void *api, struct http_request *req, const struct http_params *p);
void api_v2_alerts_get(void *api, struct http_request *req, const struct http_params *p);
void api_v2_status(void *api, struct http_request *req, const struct http_params *p);
void api_v2_receivers(void *api, struct http_request *req, const struct http_params *p);

/* api_archive.c: the checks' series older than the series window, from the
 * rollups, for a query reading back to from_ms (through to_ms). 0: cb runs
 * once on the loop (maybe before this returns) with the archive, which cb
 * then owns (series_db_destroy), or NULL when the store failed;
 * BASE_ERR_NOT_FOUND (nothing to read),
 * BASE_ERR_TOO_BIG (more than API_ARCHIVE_CHECKS_MAX checks), BASE_ERR_NOMEM:
 * cb does not run. */
#define API_ARCHIVE_CHECKS_MAX 2000
struct series_db;
typedef void (*api_archive_cb)(void *data, struct series_db *archive);
int api_archive_build(struct http_api *api, int64_t from_ms, int64_t to_ms, api_archive_cb cb, void *data);
void api_query_instant(void *api, struct http_request *req, const struct http_params *p);
void api_query_range(void *api, struct http_request *req, const struct http_params *p);
void api_query_series(void *api, struct http_request *req, const struct http_params *p);
void api_query_labels(void *api, struct http_request *req, const struct http_params *p);
void api_query_label_values(void *api, struct http_request *req, const struct http_params *p);
void api_ping_success(void *api, struct http_request *req, const struct http_params *p);
void api_ping_start(void *api, struct http_request *req, const struct http_params *p);
void api_ping_fail(void *api, struct http_request *req, const struct http_params *p);

/* Frees the OpenAPI document api_files.c renders on first use
 * (http_api_destroy calls it); the next request builds it again. */
void api_files_free_cache(void);

/* JSON of a user (never the password hash) and of a token (never its hash). */
json_t *api_user_json(const struct auth_user *u);
json_t *api_token_json(const struct auth_token *t);

/* The check as documented (CHECK in docs/api.md), with its source. */
json_t *api_check_json(struct http_api *api, const struct sched_check *c);

struct http_events_filter;
/* Turns req into the SSE stream of GET /api/v1/events after the access log
 * line and headers every answer gets (http_events_open's result). */
int api_stream_open(struct http_api *api, struct http_request *req, const char *last_event_id,
                    const struct http_events_filter *filter);

/* The sample as documented (SAMPLE in docs/api.md). NULL on OOM. */
json_t *api_sample_json(const struct sample *s);

/* The gate of GET /metrics: with server.metrics_auth, the configured
 * credentials (compared in constant time) or 401 with WWW-Authenticate;
 * a request without them, and every request when /metrics is public,
 * takes a token from its address's bucket (429 when empty). False when an
 * answer was sent. */
bool api_metrics_allow(struct http_api *api, struct http_request *req);
/* The rate limit of a route outside /api (which skips the middleware):
 * the caller's address against the route's rate. False when a 429 was sent. */
bool api_rate_allow(struct http_api *api, struct http_request *req);

/* metrics.c: subscribes the counters of /metrics to the bus (samples per
 * type and result); 0 or BASE_ERR_NOMEM / BASE_ERR_TOO_BIG. */
int api_metrics_start(struct http_api *api);
void api_metrics_stop(struct http_api *api);

#endif
