/*
 * http/api_events: GET /api/v1/events, the live stream dashboards follow
 * (Server-Sent Events, http/events). One stream per dashboard instead of
 * a poll per check: samples and status changes arrive as they happen, and
 * a reconnect resumes from Last-Event-ID.
 */
#include "http/api_int.h"

#include "base/err.h"
#include "http/events.h"

#include <string.h>

void api_events_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!api->events) {
        api_send_error(api, req, 503, "unavailable", "live events are not available in this process", NULL);
        return;
    }
    char check[HTTP_EVENTS_FILTER_MAX], project[HTTP_EVENTS_FILTER_MAX];
    struct http_events_filter f = {0};
    if (http_request_query(req, "check", check, sizeof(check))) {
        if (!sched_check_get(api->deps.sched, check)) {
            api_send_error(api, req, 404, "not_found", "no such check", "check");
            return;
        }
        f.check = check;
    }
    if (http_request_query(req, "project", project, sizeof(project)))
        f.project = project;
    /* EventSource sends Last-Event-ID itself when it reconnects; a page
     * that reloads passes the id it kept as ?last_event_id=. */
    char last[64];
    const char *id = http_request_header(req, "Last-Event-ID");
    if (!id && http_request_query(req, "last_event_id", last, sizeof(last)))
        id = last;
    int rc = api_stream_open(api, req, id, &f);
    if (rc == BASE_ERR_BUSY) {
        static const char busy[] = "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many live event "
                                   "streams are open; retry later\"}}";
        api_send(api, req, 503, "application/json", "Retry-After: 10\r\n", busy, sizeof(busy) - 1);
    } else if (rc != 0) {
        api_send_error(api, req, 503, "unavailable", "cannot open a live event stream", NULL);
    }
}
