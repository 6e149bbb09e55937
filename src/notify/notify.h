/*
 * notify/notify: the layer between alert transitions and people
 * (docs/notifications.md). A subscriber to EVENT_ALERT keeps the firing
 * alerts and routes each through the `notify:` tree (Alertmanager's
 * semantics): aggregation groups per route and group_by labels, flushed
 * after group_wait, then every group_interval when something changed or
 * repeat_interval passed; inhibition rules mute targets while a source
 * fires. Every notification becomes a delivery in the durable outbox
 * (store/notify.h): written, then sent through its channel (one file per
 * kind of receiver, behind channel.c) over libcurl multi, retried with
 * exponential backoff and jitter until the channel's max_age, then failed
 * and raised as the self-alert NotificationDeliveryFailed. Loop thread
 * only.
 */
#ifndef NOTIFY_NOTIFY_H
#define NOTIFY_NOTIFY_H

#include "base/buf.h"
#include "conf/conf.h"
#include "model/event.h"
#include "store/notify.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Deliveries held in memory (pending, in flight, waiting to be written);
 * past it new ones are dropped and counted. */
#define NOTIFY_OUTBOX_MAX 100000
#define NOTIFY_INFLIGHT_MAX 256
#define NOTIFY_GROUPS_MAX 100000
#define NOTIFY_ALERTS_MAX 100000
#define NOTIFY_ALERTS_PER_MESSAGE 1000   /* the rest counted as truncatedAlerts */

struct notify;

/* The self-alert of a channel whose delivery failed for good, and its
 * group: the rule engine restores no alert of this group at a start
 * (notify_seed takes them), since no rule of the configuration has it. */
#define NOTIFY_SELF_ALERT "NotificationDeliveryFailed"
#define NOTIFY_SELF_GROUP "opshub-notify"
/* The group of EVENT_ALERTs that tell the bus of alerts received through
 * POST /api/v2/alerts (firing, and resolved by endsAt or expiry). */
#define NOTIFY_EXTERNAL_GROUP "alertmanager-api"

/* Checks what the configuration loader cannot: the channels' title and
 * text templates. 0, or BASE_ERR_INVALID with FILE:LINE:COL errors. */
int notify_validate(const struct conf *c, struct base_errors *errs);

/* Subscribes to EVENT_ALERT; NULL on OOM or a full bus. base_url (may be
 * NULL) is the dashboard's address for links (externalURL). */
struct notify *notify_new(uv_loop_t *loop, struct store *st, struct event_bus *bus, const char *base_url);
/* Takes the channels, routes and inhibition rules of c (reload: alerts
 * and what was already notified are kept). 0 or BASE_ERR_NOMEM. */
int notify_apply(struct notify *n, const struct conf *c);
/* Reads the pending deliveries back from the store and resumes them. */
void notify_resume(struct notify *n);
/* An alert that was firing when opshub stopped (store/alerts): taken as
 * firing and as notified already, so that it is not announced again but
 * its resolution is. */
void notify_seed(struct notify *n, const char *labels_json, const char *annotations_json, double value,
                 int64_t active_at_ms, int64_t at_ms);
/* Unsubscribes, aborts requests (their rows stay pending for the next
 * start), writes what is unwritten; cb(data) once closed (freed then). */
void notify_close(struct notify *n, struct event_bus *bus, void (*cb)(void *data), void *data);

/* A silence was written (API): the active silences are read again now
 * (the CLI's are noticed within a second through meta.silences_gen). */
void notify_silences_changed(struct notify *n);

/* A test message through channel id: the delivery's id in id_out. 0,
 * BASE_ERR_NOT_FOUND (no such channel), BASE_ERR_TOO_BIG (outbox full). */
int notify_test(struct notify *n, const char *id, char *id_out, size_t id_len);
/* A page of an incident (incidents/): a message through channel id, to
 * recipient when not NULL (an e-mail address, a Slack member id, a
 * PagerDuty routing key, a phone number for a webhook or program) instead
 * of the channel's own, through the outbox like any notification. event is
 * "trigger" or "resolve" (PagerDuty's event_action; the others ignore it);
 * dedup_key groups the pages of one incident (PagerDuty's dedup_key), per
 * channel and, with a recipient, per recipient (a hash of it): deliveries
 * of one key go one at a time, so one person's retried page never holds
 * up another's.
 * summary is one line, text the message, ack_url a signed link or NULL.
 * 0, BASE_ERR_NOT_FOUND (no such channel), BASE_ERR_TOO_BIG (outbox full),
 * BASE_ERR_NOMEM. */
struct notify_page {
    /* target_url: a webhook channel posts to it instead of its own url (a
     * status page subscriber's); unsubscribe_url goes into the payload */
    const char *channel, *recipient, *event, *dedup_key, *summary, *text, *ack_url, *target_url, *unsubscribe_url;
    const char *incident_id, *severity, *state;
    long long number;
};
int notify_page(struct notify *n, const struct notify_page *p, char *id_out, size_t id_len);
/* Sends a delivery again now: a pending one at once; a failed one (read
 * from the store) back to pending. cb(data, 0 | BASE_ERR_NOT_FOUND |
 * BASE_ERR_EXISTS (already sent) | BASE_ERR_*). */
typedef void (*notify_retry_cb)(void *data, int status);
int notify_retry(struct notify *n, const char *id, notify_retry_cb cb, void *data);

/* Alerts from another source (Alertmanager's API v2 PostableAlerts: a
 * Prometheus server's alerting.alertmanagers): each firing until its
 * endsAt (none: 5 minutes after it was last sent), resolved once endsAt
 * has passed; routed, grouped, inhibited and silenced like the rules'.
 * 0, or -1 with why and the index of the bad alert (SIZE_MAX: the body). */
int notify_receive(struct notify *n, const json_t *alerts, char *why, size_t why_len, size_t *index);
/* Alertmanager's GettableAlerts: the firing alerts, filtered (active: not
 * muted; silenced; inhibited) and by label matchers. */
struct series_matcher;
json_t *notify_json_alerts(struct notify *n, bool active, bool silenced, bool inhibited,
                           const struct series_matcher *filter, size_t n_filter);
/* The maintenance windows: [{id, description, active, current: {start,
 * end} | null, next: {start, end} | null}, plus projects, matchers,
 * schedule, timezone and duration_seconds unless public_only (the
 * status page's: the public windows, no scope). */
json_t *notify_json_maintenance(const struct notify *n, bool public_only);
/* [{name}] of the channels. */
json_t *notify_json_receivers(const struct notify *n);

/* The channels (no secrets): [{id, type, send_resolved, url host, disabled}]. */
json_t *notify_json_channels(const struct notify *n);
/* The aggregation groups now: [{key, route, labels, alerts: n, ...}]. */
json_t *notify_json_groups(const struct notify *n);

/* /metrics: opshub_notifications_total{channel,status}, the delivery
 * latency histogram, outbox depth and more. */
int notify_metrics(const struct notify *n, struct base_buf *b);

#endif
