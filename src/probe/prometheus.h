/*
 * probe/prometheus: the `prometheus` check type: scrapes an application's
 * /metrics (Prometheus text format 0.0.4, and what of OpenMetrics is
 * cheap, through probe/promtext), keeps the series that `match` selects
 * (probe/promsel; all without a match) up to `max_series`, and hands them
 * to the event bus as EVENT_SERIES (model/scrape) for the series store of
 * the alert rules. The download runs on the engine's curl multi; the body
 * (capped by max_body) is parsed on the thread pool. Down when the scrape
 * fails or the body is malformed; degraded when series past max_series
 * were dropped.
 */
#ifndef PROBE_PROMETHEUS_H
#define PROBE_PROMETHEUS_H

#include "conf/conf.h"

#include <stddef.h>

#define PROBE_PROMETHEUS_MATCH_MAX 32
#define PROBE_PROMETHEUS_DEFAULT_MAX_SERIES 10000
#define PROBE_PROMETHEUS_MAX_SERIES 1000000
#define PROBE_PROMETHEUS_DEFAULT_MAX_BODY (16u * 1024 * 1024)
#define PROBE_PROMETHEUS_MAX_BODY (256u * 1024 * 1024)

struct probe_prometheus_conf {
    const char *url;          /* secret */
    struct conf_strings match;  /* series selectors */
    int max_series;
    size_t max_body;
    const char *bearer_token; /* secret */
};

extern const struct conf_check_type probe_prometheus_type;

#endif
