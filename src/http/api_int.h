/*
 * http/api_int: what the api_*.c files and metrics.c share. Private to
 * src/http; no other folder includes it.
 */
#ifndef HTTP_API_INT_H
#define HTTP_API_INT_H

#include "base/metrics.h"
#include "http/api.h"
#include "http/router.h"

#include <jansson.h>

struct http_api {
    struct http_api_deps deps;
    struct http_router *router;
    uint64_t requests_by_code[600];
    struct base_histogram duration;
};

/* Every response goes through api_send: it counts the request, observes
 * its duration and writes the access log line, then sends. */
void api_send(struct http_api *api, struct http_request *req, int status, const char *content_type,
              const char *extra_headers, const char *body, size_t len);
/* Sends {"error":{"code":..,"message":..[,"field":..]}} with `status`. */
void api_send_error(struct http_api *api, struct http_request *req, int status, const char *code,
                    const char *message, const char *field);
/* Serialises and sends `body` (stolen: decref'd here). 500 on OOM. */
void api_send_json(struct http_api *api, struct http_request *req, int status, json_t *body);

/* The route table (api.c), in registration order. */
extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* Route handlers. */
void api_health_healthz(void *api, struct http_request *req, const struct http_params *p);
void api_health_live(void *api, struct http_request *req, const struct http_params *p);
void api_health_ready(void *api, struct http_request *req, const struct http_params *p);
void api_health_db(void *api, struct http_request *req, const struct http_params *p);
void api_health_full(void *api, struct http_request *req, const struct http_params *p);
void api_checks_list(void *api, struct http_request *req, const struct http_params *p);
void api_checks_get(void *api, struct http_request *req, const struct http_params *p);
void api_checks_samples(void *api, struct http_request *req, const struct http_params *p);
void api_checks_run(void *api, struct http_request *req, const struct http_params *p);
void api_metrics_get(void *api, struct http_request *req, const struct http_params *p);

/* The sample as documented (SAMPLE in docs/api.md). NULL on OOM. */
json_t *api_sample_json(const struct sample *s);

#endif
