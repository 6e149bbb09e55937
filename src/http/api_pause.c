/*
 * http/api_pause: POST /api/v1/checks/{id}/pause and /resume (operator).
 * The pause is written to the store first (store/pauses: it outlives a
 * restart), then applied by the scheduler; a store that cannot write it
 * answers 503 and nothing changes.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "store/pauses.h"

#include <stdio.h>
#include <string.h>

struct pause_ctx {
    struct http_api *api;
    struct http_request *req;
    char id[128];
    bool pause;
    int64_t at_ms;
};

static void on_saved(void *data, int status, const char *errmsg)
{
    struct pause_ctx *ctx = data;
    struct http_api *api = ctx->api;
    struct http_request *req = ctx->req;
    (void)errmsg; /* logged by the store; never echoed */
    const struct sched_check *c = NULL;
    if (status != 0) {
        api_send_store_error(api, req, 503, ctx->pause ? "record the pause" : "record the resume");
    } else if (api->closing) {
        api_send_error(api, req, 503, "unavailable", "opshub is shutting down", NULL);
    } else if (sched_pause(api->deps.sched, ctx->id, ctx->pause, ctx->at_ms) != 0 ||
               !(c = sched_check_get(api->deps.sched, ctx->id))) {
        api_send_error(api, req, 404, "not_found", "check not found (it was removed meanwhile)", NULL);
    } else {
        api_send_json(api, req, 200, api_check_json(api, c));
    }
    http_request_unref(req);
    base_free(ctx);
}

static void pause_or_resume(struct http_api *api, struct http_request *req, const struct http_params *p, bool pause)
{
    const struct sched_check *c = api_check_find_or_404(api, req, p);
    if (!c)
        return;
    struct pause_ctx *ctx = base_calloc(1, sizeof(*ctx));
    if (!ctx) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    ctx->api = api;
    ctx->req = req;
    ctx->pause = pause;
    ctx->at_ms = base_time_now_ms();
    snprintf(ctx->id, sizeof(ctx->id), "%s", c->conf->id);
    http_request_ref(req);
    int rc = store_pause_set(api->deps.store, ctx->id, pause, ctx->at_ms, on_saved, ctx);
    if (rc != 0) {
        http_request_unref(req);
        base_free(ctx);
        api_send_store_error(api, req, 503, pause ? "record the pause" : "record the resume");
    }
}

void api_checks_pause(void *data, struct http_request *req, const struct http_params *p)
{
    pause_or_resume(data, req, p, true);
}

void api_checks_resume(void *data, struct http_request *req, const struct http_params *p)
{
    pause_or_resume(data, req, p, false);
}
