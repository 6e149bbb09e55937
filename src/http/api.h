/*
 * http/api: opshub's HTTP endpoints (docs/api.md): health, /metrics and the
 * /api/v1 checks routes, dispatched through http/router. Reads the
 * scheduler, store and probe engine it is given; owns only its request
 * counters. Must not block: store reads are asynchronous and the response
 * is sent from their callback.
 */
#ifndef HTTP_API_H
#define HTTP_API_H

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
    const struct conf *const *conf;   /* the app's current conf pointer (it changes on reload) */
    struct sched *sched;
    struct store *store;
    struct probe_engine *probes;
    struct http_server *server;       /* may be set later with http_api_set_server */
    const struct http_api_app_stats *app;
};

struct http_api;

/* deps is copied; everything it points to is borrowed and must outlive the
 * API. NULL on OOM. */
struct http_api *http_api_new(const struct http_api_deps *deps);
void http_api_set_server(struct http_api *api, struct http_server *server);
/* The http_handler_cb to give http_server_new, with the api as data. */
void http_api_handle(void *api, struct http_request *req);
void http_api_destroy(struct http_api *api);

#endif
