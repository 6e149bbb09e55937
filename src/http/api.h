/*
 * http/api: opshub's HTTP endpoints (docs/api.md): health, /metrics and the
 * /api/v1 checks routes, dispatched through http/router. Reads the
 * scheduler, store and probe engine it is given; owns only its request
 * counters. Must not block: store reads are asynchronous and the response
 * is sent from their callback.
 */
#ifndef HTTP_API_H
#define HTTP_API_H

#include "auth/service.h"
#include "auth/sso.h"
#include "objects/confs.h"
#include "objects/service.h"
#include "conf/conf.h"
#include "http/server.h"
#include "probe/probe.h"
#include "sched/sched.h"
#include "store/store.h"

#include <stdint.h>
#include <uv.h>

/* Figures the app owns and the API reports. */
struct http_api_app_stats {
    int64_t start_ms;
    uint64_t reloads_ok, reloads_failed;
    double loop_lag_ms;
    bool config_loaded;
};

struct http_api_deps {
    uv_loop_t *loop;
    /* The file and the API objects, stage by stage (objects/confs.h);
     * the pointer changes on reload and when API objects change. */
    const struct objects_confs *const *confs;
    struct sched *sched;
    struct store *store;
    struct probe_engine *probes;
    struct event_bus *bus;            /* /metrics counts samples per type on it; may be NULL */
    const struct conf_check_types *types; /* the check types (registry); required */
    struct http_server *server;       /* may be set later with http_api_set_server */
    const struct http_api_app_stats *app;
    struct auth *auth;                /* identity; required for /api/v1 */
    struct auth_sso *sso;             /* single sign-on; NULL: none (the /auth/ routes answer 404) */
    struct objects_svc *objects;      /* objects created through the API; NULL: read-only API */
    struct series_db *series;         /* the Prometheus query API reads it; NULL: those routes answer 503 */
    struct rules_engine *rules;       /* /api/v1/rules and /api/v1/alerts; NULL: they answer 503 */
    struct store_alerts *alert_log;   /* alert transitions into the store (its /metrics figures); may be NULL */
    struct remote_write_set *remote_write; /* its /metrics figures; may be NULL */
    struct notify *notify;            /* notifications, channels, aggregation groups; NULL: those routes answer 503 */
    struct oncall *oncall;            /* rotations, escalation policies; NULL: those routes answer 503 */
    struct incidents *incidents;      /* incidents; NULL: those routes answer 503 */
    const struct auth_secret_keyring *keyring; /* seals their secret fields */
    const char *rate_limit;           /* per caller, "120/min"; NULL = 120/min; copied at new */
    const char *global_rate_limit;    /* all callers together; NULL = 6000/min */
    const char *login_rate_limit;     /* login and refresh, per address; NULL = 10/min */
    const char *cors_origins;         /* comma-separated; NULL or "" = none */
    bool allow_test_login;            /* routes POST /api/v1/auth/test-login */
    bool test_clock;                  /* routes POST /api/v1/debug/clock */
    /* server.metrics_auth: what GET /metrics requires; all NULL = public
     * (then rate limited per address at rate_limit). Only a digest is kept. */
    const char *metrics_bearer_token;
    const char *metrics_username, *metrics_password;
};

struct http_api;
struct series_db;
struct rules_engine;
struct store_alerts;
struct remote_write_set;
struct notify;
struct oncall;
struct incidents;
struct http_static;

/* deps is copied; everything it points to is borrowed and must outlive the
 * API (the rate and CORS strings are parsed here). NULL with a message in
 * err on OOM or a bad rate / origin list. */
struct http_api *http_api_new(const struct http_api_deps *deps, char *err, size_t errlen);
void http_api_set_server(struct http_api *api, struct http_server *server);
/* Serves the files of s under /assets/ from now on (s is transferred; the
 * previous snapshot is destroyed: responses already sent copied their
 * bytes). NULL: /assets/ answers 404 like an unknown path. Loop only. */
void http_api_set_static(struct http_api *api, struct http_static *s);
/* The proxies whose Forwarded / X-Forwarded-For headers name the client
 * (server.trusted_proxies): list[0..n) is copied; n 0 trusts none. Takes
 * effect for the next request (SIGHUP applies it). BASE_ERR_TOO_BIG, and
 * nothing changes, past CONF_TRUSTED_PROXIES_MAX. Loop only. */
int http_api_set_trusted_proxies(struct http_api *api, const struct base_cidr *list, size_t n);
/* The http_handler_cb to give http_server_new, with the api as data.
 * It first sets req->remote_addr to the client behind trusted proxies
 * (http/proxy), which rate limits, login lockout, audit rows and the
 * access log then use. */
void http_api_handle(void *api, struct http_request *req);
/* The server's head_check: refuses a request to a non-public /api/v1
 * route that announces a body with 401/403 before the body is read, so
 * unauthenticated clients cannot make opshub buffer bodies. */
int http_api_head_check(void *data, const struct http_request *req, const char **msg, const char **headers);
/* Shutdown has begun: answers completing from now on no longer touch the
 * scheduler, auth or objects (they are closed after the HTTP server and
 * may be freed while the store still completes jobs). */
void http_api_shutdown(struct http_api *api);
void http_api_destroy(struct http_api *api);

#endif
