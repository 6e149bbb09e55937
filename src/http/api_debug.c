/*
 * http/api_debug: POST /api/v1/debug/clock (admin), the test clock. Only a
 * daemon started with OPSHUB_TEST_CLOCK=1 (refused in production and on a
 * non-loopback listen address) answers it; otherwise it is 404 like an
 * unknown route. It moves every wall-clock reading of the process forward
 * (base_time_advance), so integration tests see acknowledgement deadlines,
 * escalation delays and quiet periods of minutes pass without waiting.
 */
#include "http/api_int.h"

#include "base/duration.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

#define CLOCK_ADVANCE_MAX_MS (30LL * 86400000)

static const struct http_body_field clock_fields[] = {
    {.name = "advance", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 32},
};

void api_debug_clock(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!api->deps.test_clock) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no route for %s %.120s", req->method, req->path);
        api_send_error(api, req, 404, "not_found", msg, NULL);
        return;
    }
    json_t *body = api_body(api, req, clock_fields, 1);
    if (!body)
        return;
    const char *adv = http_body_str(body, "advance");
    int64_t ms = 0;
    if (base_duration_parse(adv, strlen(adv), &ms) != 0 || ms <= 0 || ms > CLOCK_ADVANCE_MAX_MS) {
        json_decref(body);
        api_send_error(api, req, 400, "invalid_field", "advance is a duration from 1ms to 30d (\"15m\")",
                       "advance");
        return;
    }
    json_decref(body);
    base_time_advance(ms);
    char now[32];
    base_time_format_iso8601(base_time_now_ms(), now, sizeof(now));
    api_send_json(api, req, 200, json_pack("{s:s, s:I}", "now", now, "shift_ms", (json_int_t)base_time_shift_ms()));
}
