/*
 * conf/incidents: the `incidents:` section (see incidents.h).
 */
#include "conf/incidents.h"

#include "conf/conf_int.h"
#include "conf/oncall.h"

#include "base/map.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char conf_incident_default_template[] =
    "\xF0\x9F\x9A\xA8 INCIDENT: {{ $incident.service }} - {{ $incident.title }}\n"
    "Status: {{ $incident.status }}\n"
    "Severity: {{ $incident.severity_label }}\n"
    "Impact: {{ $incident.impact }}\n"
    "ETA: {{ $incident.eta }}\n"
    "Updates: {{ $incident.update }}";

static const struct conf_severity default_levels[] = {
    {"P0", "CRITICAL", "Critical: site down, data loss, security breach", 15 * 60000LL, true, NULL, NULL, 0, 0},
    {"P1", "HIGH", "High: major feature broken, performance severely degraded", 15 * 60000LL, true, NULL, NULL, 0, 0},
    {"P2", "MEDIUM", "Medium: minor feature broken, workaround available", 4 * 3600000LL, true, NULL, NULL, 0, 0},
    {"P3", "LOW", "Low: cosmetic issues, feature requests", 24 * 3600000LL, false, NULL, NULL, 0, 0},
};

const char *const conf_contact_kind_names[CONF_CONTACT_KINDS] = {"email", "slack", "phone", "pagerduty"};

/* contact_channels: {email: ID, slack: ID, phone: ID, pagerduty: ID}, each a channel of a fitting type. */
static void parse_contact_channels(struct conf_ctx *ctx, const struct conf_node *n, struct conf_incidents *in,
                                   const struct conf *c)
{
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    const struct conf_node *f[CONF_CONTACT_KINDS];
    conf_value_fields(ctx, n, conf_contact_kind_names, CONF_CONTACT_KINDS, f);
    for (int k = 0; k < CONF_CONTACT_KINDS; k++) {
        if (!f[k] || conf_value_string(ctx, f[k], &in->contact_channels[k]) != 0)
            continue;
        const struct conf_channel *ch = conf_notify_channel(&c->notify, in->contact_channels[k]);
        if (!ch) {
            conf_value_error(ctx, f[k], "no channel has the id '%s' (notify.channels)", in->contact_channels[k]);
            continue;
        }
        bool ok = k == CONF_CONTACT_EMAIL       ? ch->type == CONF_CHANNEL_EMAIL
                  : k == CONF_CONTACT_SLACK     ? ch->type == CONF_CHANNEL_SLACK_BOT
                  : k == CONF_CONTACT_PAGERDUTY ? ch->type == CONF_CHANNEL_PAGERDUTY
                                                : ch->type == CONF_CHANNEL_WEBHOOK || ch->type == CONF_CHANNEL_COMMAND;
        if (!ok)
            conf_value_error(ctx, f[k], "'%s' is a %s channel; %s contacts need %s", ch->id,
                             conf_channel_type_name(ch->type), conf_contact_kind_names[k],
                             k == CONF_CONTACT_EMAIL       ? "an email channel"
                             : k == CONF_CONTACT_SLACK     ? "a slack_bot channel (a member id is a chat.postMessage channel)"
                             : k == CONF_CONTACT_PAGERDUTY ? "a pagerduty channel"
                                                           : "a webhook or command channel (an SMS or voice gateway)");
    }
}

/* subscribers: {email: ID, webhook: ID, self_service: bool}. */
static void parse_subscribers(struct conf_ctx *ctx, const struct conf_node *n, struct conf_incidents *in,
                              const struct conf *c)
{
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    static const char *const names[] = {"email", "webhook", "self_service"};
    const struct conf_node *f[3];
    conf_value_fields(ctx, n, names, 3, f);
    const char **out[2] = {&in->subscriber_email, &in->subscriber_webhook};
    const enum conf_channel_type want[2] = {CONF_CHANNEL_EMAIL, CONF_CHANNEL_WEBHOOK};
    for (int k = 0; k < 2; k++) {
        if (!f[k] || conf_value_string(ctx, f[k], out[k]) != 0)
            continue;
        const struct conf_channel *ch = conf_notify_channel(&c->notify, *out[k]);
        if (!ch)
            conf_value_error(ctx, f[k], "no channel has the id '%s' (notify.channels)", *out[k]);
        else if (ch->type != want[k])
            conf_value_error(ctx, f[k], "'%s' is a %s channel; %s subscribers need %s", ch->id,
                             conf_channel_type_name(ch->type), names[k], k ? "a webhook channel" : "an email channel");
    }
    if (f[2])
        conf_value_bool(ctx, f[2], &in->self_service);
    if (in->self_service && !in->subscriber_email)
        conf_value_error(ctx, f[2], "self_service needs subscribers.email (the confirmation is an e-mail)");
}

const struct conf_severity *conf_severity_find(const struct conf_incidents *in, const char *name)
{
    for (size_t i = 0; in && name && i < in->n_levels; i++)
        if (in->levels[i].name && strcmp(in->levels[i].name, name) == 0)
            return &in->levels[i];
    return NULL;
}

static bool level_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > CONF_INCIDENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static void check_policy(struct conf_ctx *ctx, const struct conf_node *n, const struct conf *c, const char *id)
{
    if (id && !conf_policy_find(c, id))
        conf_value_error(ctx, n, "no escalation policy has the id '%s'", id);
}

static void parse_level(struct conf_ctx *ctx, const struct conf_node *item, struct conf_severity *l,
                        struct base_map *names, const struct conf *c)
{
    enum { F_NAME, F_LABEL, F_DESC, F_ACK, F_PUBLIC, F_POLICY, F_TEMPLATE, F_N };
    static const char *const fields[F_N] = {"name", "label", "description", "ack_within", "public", "policy",
                                            "template"};
    const struct conf_node *f[F_N];
    l->public = true;
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, fields, F_N, f);
    if (!f[F_NAME]) {
        conf_value_error_member(ctx, item, "name", "a severity level needs 'name' (P1, High...)");
    } else if (conf_value_string(ctx, f[F_NAME], &l->name) == 0) {
        if (!level_name_ok(l->name))
            conf_value_error(ctx, f[F_NAME], "a level's name is 1 to %d letters, digits, '-' or '_'",
                             CONF_INCIDENT_NAME_MAX);
        else
            conf_value_unique(ctx, names, l->name, f[F_NAME], "severity level");
    }
    if (f[F_LABEL] && conf_value_string(ctx, f[F_LABEL], &l->label) == 0 && strlen(l->label) > 64)
        conf_value_error(ctx, f[F_LABEL], "a label is at most 64 bytes");
    if (!l->label && l->name) {
        char up[CONF_INCIDENT_NAME_MAX + 1];
        size_t n = strlen(l->name);
        for (size_t i = 0; i < n && i < CONF_INCIDENT_NAME_MAX; i++)
            up[i] = (char)toupper((unsigned char)l->name[i]);
        up[n < CONF_INCIDENT_NAME_MAX ? n : CONF_INCIDENT_NAME_MAX] = 0;
        l->label = conf_value_keep(ctx, up, strlen(up));
    }
    if (f[F_DESC] && conf_value_string(ctx, f[F_DESC], &l->description) == 0 && strlen(l->description) > 1024)
        conf_value_error(ctx, f[F_DESC], "a description is at most 1024 bytes");
    if (f[F_ACK]) {
        const struct conf_node *d = f[F_ACK];
        if (d->kind == CONF_NODE_SCALAR && (!strcmp(d->text, "0") || !strcmp(d->text, "0s")))
            l->ack_within_ms = 0;
        else if (conf_value_duration(ctx, d, &l->ack_within_ms) == 0 && l->ack_within_ms > 30LL * 86400000)
            conf_value_error(ctx, d, "ack_within is at most 30d (0: no deadline)");
    }
    if (f[F_PUBLIC])
        conf_value_bool(ctx, f[F_PUBLIC], &l->public);
    if (f[F_POLICY] && conf_value_string(ctx, f[F_POLICY], &l->policy) == 0)
        check_policy(ctx, f[F_POLICY], c, l->policy);
    if (f[F_TEMPLATE] && conf_value_string(ctx, f[F_TEMPLATE], &l->template) == 0) {
        l->template_line = f[F_TEMPLATE]->line;
        l->template_col = f[F_TEMPLATE]->col;
        if (strlen(l->template) > 16384)
            conf_value_error(ctx, f[F_TEMPLATE], "a template is at most 16 KiB");
    }
}

static void parse_rule(struct conf_ctx *ctx, const struct conf_node *item, struct conf_incident_rule *r,
                       const struct conf *c, const struct conf_incidents *in)
{
    enum { F_MATCH, F_MATCH_RE, F_SEVERITY, F_TITLE, F_POLICY, F_CHANNELS, F_GROUP_BY, F_N };
    static const char *const fields[F_N] = {"match", "match_re", "severity", "title", "policy", "channels",
                                            "group_by"};
    const struct conf_node *f[F_N];
    r->line = item->line;
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, fields, F_N, f);
    conf_matchers_parse(ctx, f[F_MATCH], f[F_MATCH_RE], &r->matchers, &r->n_matchers);
    if (!f[F_SEVERITY]) {
        conf_value_error_member(ctx, item, "severity", "an incident rule needs 'severity' (a level of the scheme)");
    } else if (conf_value_string(ctx, f[F_SEVERITY], &r->severity) == 0 && !conf_severity_find(in, r->severity)) {
        char names[200] = "";
        size_t k = 0;
        for (size_t i = 0; i < in->n_levels && k < sizeof(names); i++)
            k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%s", i ? ", " : "",
                                  in->levels[i].name ? in->levels[i].name : "?");
        conf_value_error(ctx, f[F_SEVERITY], "'%s' is no level of the scheme (%s)", r->severity, names);
    }
    if (f[F_TITLE] && conf_value_string(ctx, f[F_TITLE], &r->title) == 0) {
        r->title_line = f[F_TITLE]->line;
        r->title_col = f[F_TITLE]->col;
        if (strlen(r->title) > 1024 || strchr(r->title, '\n'))
            conf_value_error(ctx, f[F_TITLE], "a title is one line of at most 1024 bytes");
    }
    if (f[F_POLICY] && conf_value_string(ctx, f[F_POLICY], &r->policy) == 0)
        check_policy(ctx, f[F_POLICY], c, r->policy);
    if (f[F_CHANNELS] && conf_string_list(ctx, f[F_CHANNELS], CONF_NOTIFY_CHANNELS_MAX, "channels", &r->channels,
                                     &r->n_channels) == 0) {
        const struct conf_node *cn = f[F_CHANNELS], *it = cn->kind == CONF_NODE_SEQ ? cn->child : cn;
        for (size_t i = 0; i < r->n_channels && it; i++, it = cn->kind == CONF_NODE_SEQ ? it->next : it)
            if (!conf_notify_channel(&c->notify, r->channels[i]))
                conf_value_error(ctx, it, "no channel has the id '%s' (notify.channels)", r->channels[i]);
    }
    if (f[F_GROUP_BY] && conf_string_list(ctx, f[F_GROUP_BY], CONF_NOTIFY_GROUP_BY_MAX, "group_by", &r->group_by,
                                     &r->n_group_by) == 0) {
        const struct conf_node *gn = f[F_GROUP_BY], *it = gn->kind == CONF_NODE_SEQ ? gn->child : gn;
        for (size_t i = 0; i < r->n_group_by && it; i++, it = gn->kind == CONF_NODE_SEQ ? it->next : it)
            if (conf_label_name_bad(r->group_by[i]))
                conf_value_error(ctx, it, "'%s' is not a label name", r->group_by[i]);
    }
}

void conf_incidents_defaults(struct conf_incidents *in)
{
    memset(in, 0, sizeof(*in));
    in->levels = default_levels;
    in->n_levels = sizeof(default_levels) / sizeof(default_levels[0]);
    in->default_scheme = true;
    in->auto_monitoring = true;
    in->quiet_ms = CONF_INCIDENT_QUIET_DEFAULT_MS;
}

void conf_incidents_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf *c)
{
    struct conf_incidents *in = &c->incidents;
    conf_incidents_defaults(in);
    if (!n || conf_value_is_null(n))
        return;
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    in->configured = true;
    in->file = n->file;
    enum { F_SCHEME, F_RULES, F_AUTO, F_QUIET, F_TEMPLATE, F_CONTACTS, F_SUBS, F_N };
    static const char *const fields[F_N] = {"scheme", "rules", "auto_monitoring", "quiet_period", "template",
                                            "contact_channels", "subscribers"};
    const struct conf_node *f[F_N];
    conf_value_fields(ctx, n, fields, F_N, f);
    const struct conf_node *s = f[F_SCHEME];
    if (s && s->kind == CONF_NODE_SCALAR) {
        const char *name;
        if (conf_value_string(ctx, s, &name) == 0 && strcmp(name, "default") != 0)
            conf_value_error(ctx, s, "scheme is 'default' (P0-P3) or a list of levels");
    } else if (s && conf_value_expect(ctx, s, CONF_NODE_SEQ) == 0) {
        if (s->n == 0 || s->n > CONF_INCIDENT_LEVELS_MAX) {
            conf_value_error(ctx, s, "a scheme has 1 to %d levels", CONF_INCIDENT_LEVELS_MAX);
        } else {
            struct conf_severity *lv = conf_value_alloc(ctx, s->n * sizeof(*lv));
            struct base_map names;
            base_map_init(&names);
            size_t k = 0;
            for (const struct conf_node *it = s->child; lv && it; it = it->next)
                parse_level(ctx, it, &lv[k++], &names, c);
            base_map_free(&names);
            if (lv) {
                in->levels = lv;
                in->n_levels = k;
                in->default_scheme = false;
            }
        }
    }
    if (f[F_AUTO])
        conf_value_bool(ctx, f[F_AUTO], &in->auto_monitoring);
    if (f[F_CONTACTS])
        parse_contact_channels(ctx, f[F_CONTACTS], in, c);
    if (f[F_SUBS])
        parse_subscribers(ctx, f[F_SUBS], in, c);
    if (f[F_QUIET]) {
        const struct conf_node *q = f[F_QUIET];
        if (q->kind == CONF_NODE_SCALAR && (!strcmp(q->text, "0") || !strcmp(q->text, "0s")))
            in->quiet_ms = 0;
        else if (conf_value_duration(ctx, q, &in->quiet_ms) == 0 && in->quiet_ms > 30LL * 86400000)
            conf_value_error(ctx, q, "quiet_period is at most 30d (0: stay in MONITORING)");
    }
    if (f[F_TEMPLATE] && conf_value_string(ctx, f[F_TEMPLATE], &in->template) == 0) {
        in->template_line = f[F_TEMPLATE]->line;
        in->template_col = f[F_TEMPLATE]->col;
        if (strlen(in->template) > 16384)
            conf_value_error(ctx, f[F_TEMPLATE], "a template is at most 16 KiB");
    }
    const struct conf_node *r = f[F_RULES];
    if (r && !conf_value_is_null(r) && conf_value_expect(ctx, r, CONF_NODE_SEQ) == 0) {
        if (r->n > CONF_INCIDENT_RULES_MAX) {
            conf_value_error(ctx, r, "at most %d incident rules", CONF_INCIDENT_RULES_MAX);
        } else if (r->n) {
            struct conf_incident_rule *rules = conf_value_alloc(ctx, r->n * sizeof(*rules));
            size_t k = 0;
            for (const struct conf_node *it = r->child; rules && it; it = it->next)
                parse_rule(ctx, it, &rules[k++], c, in);
            in->rules = rules;
            in->n_rules = rules ? k : 0;
        }
    }
}
