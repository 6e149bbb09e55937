/*
 * rules/rules: the alert and recording rule engine. The rule groups of the
 * configuration (`alerts:` as one group, the groups of `rule_files:`) are
 * evaluated each on its own timer at its interval, over the series store:
 * recording rules write their result as series; alerting rules keep one
 * alert per label set, inactive -> pending -> firing (after `for`) ->
 * resolved (after `keep_firing_for` without the condition), write the
 * ALERTS and ALERTS_FOR_STATE series as Prometheus does, and publish each
 * transition on the event bus (EVENT_ALERT) for the notification layer.
 * A reload keeps the state of every alert whose rule (group, name, expr)
 * is unchanged. Loop thread only.
 */
#ifndef RULES_RULES_H
#define RULES_RULES_H

#include "base/err.h"
#include "conf/conf.h"
#include "model/event.h"
#include "series/series.h"

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

struct rules_engine;

/* Parses every rule's expression; each error at the expression's
 * FILE:LINE:COL into errs (with the character of the expression it points
 * at). 0, or BASE_ERR_INVALID when any was reported. */
int rules_validate(const struct conf *c, struct base_errors *errs);

struct rules_engine *rules_new(uv_loop_t *loop, struct series_db *db, struct event_bus *bus);
/* Takes the rules of c (copied: c may go after). 0, BASE_ERR_INVALID
 * (a rule that does not parse: nothing changes; run rules_validate first)
 * or BASE_ERR_NOMEM. */
int rules_apply(struct rules_engine *e, const struct conf *c);
/* An alert that was pending or firing when opshub stopped (read back from
 * the store). labels and annotations are JSON objects of strings. */
struct rules_restored {
    const char *group, *alertname, *labels, *annotations;
    enum event_alert_state state;   /* EVENT_ALERT_PENDING or EVENT_ALERT_FIRING */
    double value;
    int64_t active_at_ms;
    int64_t at_ms;                  /* its last transition (firing: when it fired) */
};
/* Carries the alerts on after a restart: an alert whose rule (group and
 * name) exists is taken back with its state and activeAt, so a firing one
 * keeps firing with no new pending period and a pending one keeps its
 * `for` clock; both end at the first evaluation without the condition, as
 * any alert does. An alert whose rule is gone ends now (resolved or
 * inactive, on the bus). Malformed items are skipped and counted.
 * Returns how many were taken back. */
size_t rules_restore(struct rules_engine *e, const struct rules_restored *items, size_t n);

/* While held, the groups' timers tick but nothing is evaluated: at a start,
 * until the alerts and the series history are back from the store. */
void rules_hold(struct rules_engine *e, bool hold);

/* Stops the timers; cb(data) once every handle is closed. */
void rules_close(struct rules_engine *e, void (*cb)(void *data), void *data);
void rules_destroy(struct rules_engine *e);

/* The Prometheus HTTP API's answers (the `data` member): /api/v1/rules
 * (type: NULL, "alert" or "record") and /api/v1/alerts. New references. */
json_t *rules_json_rules(const struct rules_engine *e, const char *type);
json_t *rules_json_alerts(const struct rules_engine *e);

struct rules_stats {
    size_t groups, rules, alerts_pending, alerts_firing;
    uint64_t evaluations, failures, restored;
};
void rules_stats_get(const struct rules_engine *e, struct rules_stats *st);

#endif
