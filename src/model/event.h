/*
 * model/event: the internal event bus on the loop. Stages publish what
 * happened (a sample was recorded, a check's status changed; later alert
 * transitions, notifications delivered, incidents updated, deployment
 * states) and every interested module subscribes once at start: the store,
 * /metrics, the status log, later rules, notifications, incidents and the
 * dashboard's live stream. Publishing calls each subscriber of that kind in
 * registration order, synchronously, with a borrowed event: it never
 * blocks (subscribers must not) and never allocates. Loop thread only.
 */
#ifndef MODEL_EVENT_H
#define MODEL_EVENT_H

#include "model/sample.h"

#include <stddef.h>
#include <stdint.h>

#define EVENT_SUBSCRIBERS_MAX 32

enum event_kind {
    EVENT_SAMPLE,            /* a check produced a sample (u.check) */
    EVENT_STATUS,            /* a check's status changed (u.check, after EVENT_SAMPLE) */
    EVENT_SERIES,            /* a scrape read series (u.series, after its EVENT_SAMPLE) */
    EVENT_ALERT,             /* an alert changed state (u.alert): pending, firing, resolved */
    EVENT_KIND_COUNT
};
#define EVENT_MASK(kind) (1u << (kind))

struct conf_check; /* conf/conf.h: subscribers that read it include that */

/* EVENT_SAMPLE and EVENT_STATUS. Everything is borrowed for the call. */
struct event_check {
    const struct conf_check *check;
    const char *check_id;    /* == check->id, for subscribers that know no conf */
    const struct sample *sample;
    const char *detail;      /* the sample's detail (a JSON object's text, see probe_run_detail), or NULL */
    int status;              /* enum sched_status after the sample */
    int previous;            /* enum sched_status before it (== status for EVENT_SAMPLE without change) */
};

struct scrape_batch; /* model/scrape.h */

/* EVENT_SERIES: what one run of a prometheus check read. Borrowed. */
struct event_series {
    const struct conf_check *check;
    const char *check_id;
    const struct scrape_batch *batch;
};

/* EVENT_ALERT: one alert's transition, from the rule engine. Borrowed. */
enum event_alert_state { EVENT_ALERT_INACTIVE, EVENT_ALERT_PENDING, EVENT_ALERT_FIRING, EVENT_ALERT_RESOLVED };
struct event_alert_label {
    const char *name, *value;
};
struct event_alert {
    const char *group;       /* the rule group */
    const char *rule;        /* the alert's name */
    const struct event_alert_label *labels;     /* sorted, alertname included */
    size_t n_labels;
    const struct event_alert_label *annotations;
    size_t n_annotations;
    enum event_alert_state state, previous;
    double value;            /* the expression's value at the transition */
    int64_t active_at_ms;    /* since when the condition holds */
    int64_t at_ms;           /* the evaluation that made the transition */
};

struct event {
    enum event_kind kind;
    union {
        struct event_check check;
        struct event_series series;
        struct event_alert alert;
    } u;
};

typedef void (*event_cb)(void *data, const struct event *ev);

struct event_subscriber {
    const char *name;        /* for /metrics and logs ("store", "metrics") */
    unsigned mask;           /* EVENT_MASK bits */
    event_cb cb;
    void *data;
    uint64_t delivered;
};

struct event_bus {
    struct event_subscriber subs[EVENT_SUBSCRIBERS_MAX];
    size_t n_subs;
    uint64_t published[EVENT_KIND_COUNT];
};

void event_bus_init(struct event_bus *b);
/* Registers cb for the kinds in mask; `name` is borrowed (a literal).
 * 0, or BASE_ERR_TOO_BIG when EVENT_SUBSCRIBERS_MAX are registered. */
int event_subscribe(struct event_bus *b, const char *name, unsigned mask, event_cb cb, void *data);
/* Removes every subscription with this cb and data (shutdown). Neither this
 * nor event_subscribe may be called from inside a subscriber. */
void event_unsubscribe(struct event_bus *b, event_cb cb, const void *data);
/* Calls every subscriber of ev->kind. */
void event_publish(struct event_bus *b, const struct event *ev);
/* "sample", "status"; "unknown" otherwise. */
const char *event_kind_name(enum event_kind k);

#endif
