/*
 * conf/incidents: the `incidents:` section (docs/incidents.md): the
 * severity scheme (the default P0-P3, or a list of levels with a name,
 * description, acknowledgement deadline, escalation policy and whether the
 * status page shows them), the rules that open incidents from alerts
 * (label matchers -> severity, title template, policy, channels, and the
 * labels that make two alerts the same incident), the quiet period
 * before an incident whose alerts all resolved is resolved, and the
 * communication template. Templates are checked by the incidents layer
 * (the rules' template engine) at their FILE:LINE:COL.
 */
#ifndef CONF_INCIDENTS_H
#define CONF_INCIDENTS_H

#include "conf/notify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_INCIDENT_LEVELS_MAX 10
#define CONF_INCIDENT_RULES_MAX 200
#define CONF_INCIDENT_NAME_MAX 32
#define CONF_INCIDENT_QUIET_DEFAULT_MS (15 * 60000LL)

struct conf_severity {
    const char *name;          /* "P1", "High" */
    const char *label;         /* the template's word: "HIGH" (default: the name in capitals) */
    const char *description;   /* NULL: none */
    int64_t ack_within_ms;     /* 0: no deadline */
    bool public;               /* shown on the status page */
    const char *policy;        /* default escalation policy of this level; NULL: none */
    const char *template;      /* this level's communication template; NULL: the scheme's */
    int template_line, template_col;
};

struct conf_incident_rule {
    const struct conf_matcher *matchers; /* match / match_re on the alert's labels */
    size_t n_matchers;
    const char *severity;      /* a level's name */
    const char *title;         /* a template; NULL: "{{ $labels.alertname }}" */
    int title_line, title_col;
    const char *policy;        /* NULL: the level's */
    const char *const *channels; /* where updates are posted */
    size_t n_channels;
    const char *const *group_by; /* the labels that make alerts one incident; default alertname, project */
    size_t n_group_by;
    int line;
};

/* The kinds of contact methods of users (auth/db.h) pages go to. */
enum conf_contact_kind { CONF_CONTACT_EMAIL, CONF_CONTACT_SLACK, CONF_CONTACT_PHONE, CONF_CONTACT_PAGERDUTY,
                         CONF_CONTACT_KINDS };
extern const char *const conf_contact_kind_names[CONF_CONTACT_KINDS];

struct conf_incidents {
    bool configured;           /* the section is present */
    /* contact_channels: the channel (notify.channels) that carries pages to each kind of contact
     * method: email -> an email channel, slack -> slack_bot, pagerduty -> pagerduty, phone -> a
     * webhook or command channel; NULL: pages do not go to that kind */
    const char *contact_channels[CONF_CONTACT_KINDS];
    /* subscribers: {email: ID, webhook: ID, self_service: bool}: the status page's subscribers get
     * the updates of public incidents, e-mail through an email channel (its From and SMTP; To is
     * the subscriber), webhooks through a webhook channel (its timeout and headers; the URL is the
     * subscriber's). NULL: that kind is off. self_service: visitors subscribe by e-mail on the
     * status page (a signed confirmation link first). */
    const char *subscriber_email, *subscriber_webhook;
    bool self_service;
    const struct conf_severity *levels; /* most severe first */
    size_t n_levels;
    bool default_scheme;
    const struct conf_incident_rule *rules;
    size_t n_rules;
    bool auto_monitoring;      /* all alerts resolved -> MONITORING; default true */
    int64_t quiet_ms;          /* MONITORING this long without an alert firing -> RESOLVED; 0: never */
    const char *template;      /* the communication template; NULL: the default */
    int template_line, template_col;
    const char *file;
};

/* The built-in template (docs/incidents.md). */
extern const char conf_incident_default_template[];

struct conf;
struct conf_ctx;
struct conf_node;
/* Parses the section (NULL: none: the default scheme, no rules) into
 * c->incidents; policies and channels are checked, so notify and the
 * escalation policies are parsed first. */
void conf_incidents_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf *c);
/* The section's values when it is absent (the default scheme, no rules; static). */
void conf_incidents_defaults(struct conf_incidents *in);
const struct conf_severity *conf_severity_find(const struct conf_incidents *in, const char *name);

#endif
