/*
 * incidents/incidents: the running incidents layer (see incidents.h).
 *
 * Every change to an incident is an op, run one at a time per incident:
 * the op edits a copy of the document, the copy and the op's timeline
 * entries are written in one transaction, and only then does the copy
 * replace the document (and the caller hear of it). An op from the API
 * that cannot be written fails with the store's error and changes nothing;
 * an op of the layer itself (an alert joined or resolved, a quiet period
 * over, a missed deadline) is tried again two seconds later, so an outage
 * of the database delays the record but loses nothing.
 */
#include "incidents/incidents.h"
#include "incidents/subscribers.h"

#include "auth/db.h"
#include "auth/service.h"
#include "base/alloc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/time.h"
#include "notify/notify.h"
#include "oncall/oncall.h"
#include "rules/template.h"
#include "series/series.h"
#include "store/sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 2000
#define PENDING_ALERTS_MAX 10000
#define ACK_LINK_LABEL "opshub-ack-v1"
#define ACK_LINK_TTL_MS (24LL * 3600000)

enum op_kind { OP_CREATE, OP_PATCH, OP_ACK, OP_RESOLVE, OP_UPDATE, OP_ALERT, OP_TICK, OP_ESCALATE, OP_NOTE };

struct inc;

struct op {
    enum op_kind kind;
    struct incidents *x;
    struct inc *inc;
    json_t *input;                    /* patch / alert labels */
    char *actor, *text, *how, *state;
    char key[512];                    /* OP_ALERT: the alert's identity */
    bool firing;                      /* OP_ALERT */
    int64_t at_ms, not_before;
    bool internal;                    /* retried on a store error, no caller */
    incidents_cb cb;
    void *data;
    json_t *copy, *changes;           /* while being written */
    json_t *pages;                    /* OP_ESCALATE: who and what to page once written */
    struct op *next;
};

struct inc {
    struct incidents *x;
    char id[STORE_INCIDENT_ID_MAX];
    int64_t number;
    json_t *doc;
    bool busy;                        /* an op is being written */
    bool listed;                      /* in the open list (else a resolved one loaded for an op) */
    struct op *ops, *ops_tail;
    struct inc *next;
};

struct rule {
    const struct conf_incident_rule *c;
    struct series_matcher *m;
    size_t n_m;
    struct template *title;
};

struct sev_stats {
    char name[CONF_INCIDENT_NAME_MAX + 1];
    struct base_histogram tta, ttr;
};

struct pend {
    json_t *labels;
    char key[512];
    bool firing;
    int64_t at;
};

struct incidents {
    uv_loop_t *loop;
    struct store *store;
    struct event_bus *bus;
    const struct conf_incidents *sch;
    struct conf_incidents defaults;
    struct rule *rules;
    size_t n_rules;
    struct template *message_t;
    struct template *level_t[CONF_INCIDENT_LEVELS_MAX];   /* the levels' own templates (NULL: message_t) */
    struct inc *head;
    size_t n_open;
    uv_timer_t timer;
    int64_t gen;
    bool gen_known, reading, loaded, subscribed, closing, timer_closed;
    int pending;                      /* store calls not answered */
    uint64_t write_errors;
    struct pend *pend;
    size_t n_pend;
    void (*close_cb)(void *);
    void *close_data;
    uint64_t rng;
    struct sev_stats stats[CONF_INCIDENT_LEVELS_MAX * 2];
    size_t n_stats;
    json_t *recent;                   /* public views of incidents resolved lately (the status page) */
    bool recent_read, recent_reading;
    /* paging */
    const struct conf *conf;          /* escalation policies */
    struct notify *notify;
    struct oncall *oncall;
    struct auth *auth;
    char base_url[512];
    uint64_t pages;
};

static const double time_bounds[] = {60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800};

static void run_ops(struct incidents *x, struct inc *in);
static void maybe_closed(struct incidents *x);
static void reread(struct incidents *x, struct inc *in);
static bool release_if_done(struct incidents *x, struct inc *in);
static json_t *public_view(const struct incidents *x, const char *id, int64_t number, const json_t *doc);
static void remember_resolved(struct incidents *x, const struct inc *in);
static void read_recent(struct incidents *x);
static void send_pages(struct incidents *x, const struct inc *in, const json_t *pages);
static void post_update(struct incidents *x, const struct inc *in, bool resolved);
static const struct conf_policy *policy_of(const struct incidents *x, const json_t *doc);

/* ---- incidents in memory ---- */

static void inc_free(struct inc *in)
{
    json_decref(in->doc);
    base_free(in);
}

static void op_free(struct op *op)
{
    json_decref(op->pages);
    json_decref(op->input);
    json_decref(op->copy);
    json_decref(op->changes);
    base_free(op->actor);
    base_free(op->text);
    base_free(op->how);
    base_free(op->state);
    base_free(op);
}

static struct inc *find(const struct incidents *x, const char *ref)
{
    char *end;
    long long n = ref && *ref != 'i' ? strtoll(ref, &end, 10) : 0;
    bool by_number = ref && *ref != 'i' && n > 0 && !*end;
    for (struct inc *in = x->head; in; in = in->next)
        if (by_number ? in->number == n : ref && !strcmp(in->id, ref))
            return in;
    return NULL;
}

static void list_add(struct incidents *x, struct inc *in)
{
    in->next = x->head;
    x->head = in;
    in->listed = true;
    x->n_open++;
}

static void list_remove(struct incidents *x, struct inc *in)
{
    for (struct inc **p = &x->head; *p; p = &(*p)->next)
        if (*p == in) {
            *p = in->next;
            x->n_open--;
            in->listed = false;
            return;
        }
}

static uint64_t next_rand(struct incidents *x)
{
    x->rng ^= x->rng << 13;
    x->rng ^= x->rng >> 7;
    x->rng ^= x->rng << 17;
    return x->rng;
}

/* ---- statistics ---- */

static struct sev_stats *stats_for(struct incidents *x, const char *sev)
{
    for (size_t i = 0; i < x->n_stats; i++)
        if (!strcmp(x->stats[i].name, sev))
            return &x->stats[i];
    if (x->n_stats >= sizeof(x->stats) / sizeof(x->stats[0]))
        return NULL;
    struct sev_stats *s = &x->stats[x->n_stats++];
    snprintf(s->name, sizeof(s->name), "%s", sev);
    base_histogram_init(&s->tta, time_bounds, sizeof(time_bounds) / sizeof(time_bounds[0]));
    base_histogram_init(&s->ttr, time_bounds, sizeof(time_bounds) / sizeof(time_bounds[0]));
    return s;
}

/* After a write: the times to acknowledge and to resolve that it recorded. */
static void observe(struct incidents *x, const json_t *before, const json_t *after)
{
    struct sev_stats *s = stats_for(x, incident_doc_str(after, "severity"));
    int64_t created = incident_doc_int(after, "created");
    if (!s)
        return;
    if (incident_doc_int(after, "acked_at") > 0 && (!before || incident_doc_int(before, "acked_at") == 0))
        base_histogram_observe(&s->tta, (double)(incident_doc_int(after, "acked_at") - created) / 1000.0);
    if (incident_doc_int(after, "resolved_at") > 0 && (!before || incident_doc_int(before, "resolved_at") == 0))
        base_histogram_observe(&s->ttr, (double)(incident_doc_int(after, "resolved_at") - created) / 1000.0);
}

/* ---- templates ---- */

static void doc_kv(const json_t *doc, const struct conf_incidents *sch, const char *update, struct template_kv *kv,
                   size_t *n, char *num, size_t num_len, int64_t number)
{
    const struct conf_severity *lv = conf_severity_find(sch, incident_doc_str(doc, "severity"));
    snprintf(num, num_len, "%" PRId64, number);
    const char *impact = incident_doc_str(doc, "impact"), *eta = incident_doc_str(doc, "eta");
    const char *up = update ? update : incident_doc_str(doc, "last_update");
    struct template_kv v[] = {
        {"title", incident_doc_str(doc, "title")},
        {"status", incident_doc_str(doc, "state")},
        {"severity", incident_doc_str(doc, "severity")},
        {"severity_label", lv ? lv->label : incident_doc_str(doc, "severity")},
        {"service", incident_doc_str(doc, "service")},
        {"impact", *impact ? impact : "Unknown"},
        {"eta", *eta ? eta : "Unknown"},
        {"update", *up ? up : "Investigating."},
        {"commander", incident_doc_str(doc, "commander")},
        {"number", num},
    };
    *n = sizeof(v) / sizeof(v[0]);
    memcpy(kv, v, sizeof(v));
}

void incidents_message(const struct incidents *x, const json_t *doc, const char *update, char *out, size_t n)
{
    struct template_kv kv[16];
    size_t nk;
    char num[32];
    doc_kv(doc, x->sch, update, kv, &nk, num, sizeof(num), 0);
    struct template_data d = {0};
    d.incident = kv;
    d.n_incident = nk;
    const struct template *t = x->message_t;
    const char *sev = incident_doc_str(doc, "severity");
    for (size_t i = 0; i < x->sch->n_levels && i < CONF_INCIDENT_LEVELS_MAX; i++)
        if (x->level_t[i] && !strcmp(x->sch->levels[i].name, sev))
            t = x->level_t[i];
    if (!t || template_expand(t, &d, out, n) != 0) {
        if (n)
            out[0] = 0;
    }
}

/* ---- writing ---- */

static json_t *view(struct incidents *x, const struct inc *in, const json_t *doc)
{
    json_t *j = incident_json(in->id, in->number, doc, x->sch);
    if (j) {
        char msg[4096];
        incidents_message(x, doc, NULL, msg, sizeof(msg));
        json_object_set_new(j, "message", json_string(msg));
    }
    return j;
}

static void answer(struct op *op, int status, const struct incident_err *err, const json_t *doc)
{
    if (!op->cb)
        return;
    json_t *j = status == 0 && doc ? view(op->x, op->inc, doc) : NULL;
    op->cb(op->data, status, err, j);
    json_decref(j);
    op->cb = NULL;
}

/* An incident nothing waits on: a resolved one leaves memory, a reopened
 * one (read back for an op) joins the open list. True when it was freed. */
static bool release_if_done(struct incidents *x, struct inc *in)
{
    bool resolved = incident_doc_state(in->doc) == INCIDENT_RESOLVED;
    if (!resolved && !in->listed)
        list_add(x, in);
    if (in->ops || in->busy || !resolved || in->number <= 0)
        return false;
    if (in->listed)
        list_remove(x, in);
    remember_resolved(x, in);
    inc_free(in);
    return true;
}

/* An op is done with its incident: the next one runs. */
static void finish_op(struct incidents *x, struct inc *in, struct op *op)
{
    in->busy = false;
    in->ops = op->next;
    if (!in->ops)
        in->ops_tail = NULL;
    op_free(op);
    if (release_if_done(x, in))
        return;
    if (!x->closing)
        run_ops(x, in);
}

static void on_saved(void *data, int status, const char *errmsg, int64_t number)
{
    struct op *op = data;
    struct incidents *x = op->x;
    struct inc *in = op->inc;
    x->pending--;
    if (status == 0) {
        if (number > 0)
            in->number = number;
        observe(x, op->kind == OP_CREATE ? NULL : in->doc, op->copy);
        bool moved = incident_doc_state(in->doc) != incident_doc_state(op->copy);
        json_decref(in->doc);
        in->doc = op->copy;
        op->copy = NULL;
        if (op->kind == OP_ESCALATE)
            send_pages(x, in, op->pages);   /* written first: a restart never pages a step twice */
        else if (op->kind == OP_CREATE || op->kind == OP_UPDATE || moved)
            post_update(x, in, incident_doc_state(in->doc) == INCIDENT_RESOLVED);
        answer(op, 0, NULL, in->doc);
        finish_op(x, in, op);
    } else if (status == BASE_ERR_EXISTS && op->kind != OP_CREATE && !x->closing) {
        /* written meanwhile by someone else (the CLI): read it back, then the op runs again on it */
        json_decref(op->copy);
        json_decref(op->changes);
        json_decref(op->pages);
        op->copy = op->changes = op->pages = NULL;
        reread(x, in);
    } else if (op->internal && !x->closing) {
        /* tried again: the op stays first in the queue */
        if (x->write_errors++ % 100 == 0)
            base_log_warn("incidents: a change is not written yet (retrying)",
                          BASE_LOG_STR("incident", in->id), BASE_LOG_STR("error", errmsg ? errmsg : base_strerror(status)));
        json_decref(op->copy);
        json_decref(op->changes);
        json_decref(op->pages);
        op->copy = op->changes = op->pages = NULL;
        op->not_before = base_time_now_ms() + RETRY_MS;
        in->busy = false;
    } else {
        struct incident_err e = {"", ""};
        snprintf(e.message, sizeof(e.message), "%s", errmsg ? errmsg : base_strerror(status));
        answer(op, status, &e, NULL);
        if (op->kind == OP_CREATE && in->number == 0) {
            /* never written: it never existed */
            in->ops = op->next;
            op_free(op);
            if (in->listed)
                list_remove(x, in);
            /* ops queued behind the create (alerts joining) are dropped with it */
            for (struct op *o = in->ops, *nx; o; o = nx) {
                nx = o->next;
                answer(o, BASE_ERR_UNAVAILABLE, &e, NULL);
                op_free(o);
            }
            inc_free(in);
        } else {
            finish_op(x, in, op);
        }
    }
    maybe_closed(x);
}

static void on_reread(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct inc *in = data;
    struct incidents *x = in->x;
    x->pending--;
    in->busy = false;
    if (x->closing) {
        maybe_closed(x);
        return;
    }
    json_t *doc = status == 0 && n ? json_loads(rows[0].doc, 0, NULL) : NULL;
    if (json_is_object(doc)) {
        json_decref(in->doc);
        in->doc = doc;
        in->number = rows[0].number;
    } else {
        json_decref(doc);
        if (in->ops)
            in->ops->not_before = base_time_now_ms() + RETRY_MS;   /* the tick tries again */
        return;
    }
    if (!release_if_done(x, in))
        run_ops(x, in);
}

/* The incident as stored now; its first op runs again on it. */
static void reread(struct incidents *x, struct inc *in)
{
    struct store_incident_filter f = {.id = in->id, .limit = 1};
    if (store_incidents_load(x->store, &f, on_reread, in) == 0) {
        x->pending++;
        return;   /* busy until it is back */
    }
    in->busy = false;
    if (in->ops)
        in->ops->not_before = base_time_now_ms() + RETRY_MS;
}

static int save(struct incidents *x, struct op *op)
{
    struct store_incident row;
    char *text = NULL;
    /* every write is a new version, made on the one in memory: a change the CLI wrote meanwhile
     * makes it a conflict (read back, then the op runs again) rather than a lost update */
    int64_t base = op->kind == OP_CREATE ? 0 : incident_doc_int(op->inc->doc, "updated");
    if (base && incident_doc_int(op->copy, "updated") <= base)
        json_object_set_new(op->copy, "updated", json_integer((json_int_t)(base + 1)));
    if (incident_row(op->inc->id, op->inc->number, op->copy, &row, &text) != 0) {
        free(text);
        return BASE_ERR_NOMEM;
    }
    row.expect_updated_ms = base;
    size_t n_ev;
    char **texts;
    struct store_incident_event *ev = incident_events(op->inc->id, op->changes, incident_doc_int(op->copy, "updated"),
                                                      &n_ev, &texts);
    int rc = json_array_size(op->changes) && !ev ? BASE_ERR_NOMEM
             : store_incidents_save(x->store, &row, ev, n_ev, on_saved, op);
    incident_events_free(ev, n_ev, texts);
    free(text);
    if (rc == 0)
        x->pending++;
    return rc;
}

/* ---- ops ---- */

static bool all_resolved(const json_t *doc)
{
    json_t *alerts = json_object_get(doc, "alerts");
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a) {
        if (!strcmp(incident_doc_str(a, "state"), "firing"))
            return false;
    }
    return true;
}

static void apply_alert(struct incidents *x, struct op *op, json_t *doc, json_t *changes)
{
    json_t *alerts = json_object_get(doc, "alerts");
    json_t *found = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a) {
        if (!strcmp(incident_doc_str(a, "key"), op->key))
            found = a;
    }
    char desc[600];
    const char *name = json_string_value(json_object_get(op->input, "alertname"));
    const char *check = json_string_value(json_object_get(op->input, "check"));
    snprintf(desc, sizeof(desc), "%s%s%s%s", name ? name : "alert", check ? " (" : "", check ? check : "",
             check ? ")" : "");
    if (op->firing) {
        if (found && !strcmp(incident_doc_str(found, "state"), "firing"))
            return;
        char line[700];
        if (found) {
            json_object_set_new(found, "state", json_string("firing"));
            json_object_set_new(found, "ended", json_integer(0));
            snprintf(line, sizeof(line), "%s fired again", desc);
        } else {
            if (json_array_size(alerts) >= INCIDENT_ALERTS_MAX)
                return;
            json_array_append_new(alerts, json_pack("{s:s, s:O, s:s, s:I, s:I}", "key", op->key, "labels", op->input,
                                                    "state", "firing", "since", (json_int_t)op->at_ms, "ended",
                                                    (json_int_t)0));
            snprintf(line, sizeof(line), "%s joined", desc);
        }
        incident_change(changes, "alert", "opshub", line, json_pack("{s:O, s:s}", "labels", op->input, "state",
                                                                    "firing"));
        json_object_set_new(doc, "updated", json_integer((json_int_t)op->at_ms));
        enum incident_state s = incident_doc_state(doc);
        if (s == INCIDENT_MONITORING)
            incident_doc_set_state(doc, INCIDENT_INVESTIGATING, "opshub", op->at_ms, "an alert fired again", changes);
        return;
    }
    if (!found || strcmp(incident_doc_str(found, "state"), "firing") != 0)
        return;
    json_object_set_new(found, "state", json_string("resolved"));
    json_object_set_new(found, "ended", json_integer((json_int_t)op->at_ms));
    char line[700];
    snprintf(line, sizeof(line), "%s resolved", desc);
    incident_change(changes, "alert", "opshub", line, json_pack("{s:O, s:s}", "labels", op->input, "state",
                                                                "resolved"));
    json_object_set_new(doc, "updated", json_integer((json_int_t)op->at_ms));
    enum incident_state s = incident_doc_state(doc);
    if (x->sch->auto_monitoring && all_resolved(doc) && (s == INCIDENT_INVESTIGATING || s == INCIDENT_IDENTIFIED))
        incident_doc_set_state(doc, INCIDENT_MONITORING, "opshub", op->at_ms, "every alert resolved", changes);
}

static void apply_tick(struct incidents *x, json_t *doc, json_t *changes, int64_t now)
{
    enum incident_state s = incident_doc_state(doc);
    if (s == INCIDENT_RESOLVED)
        return;
    int64_t deadline = incident_doc_int(doc, "ack_deadline");
    if (deadline > 0 && now >= deadline && incident_doc_int(doc, "acked_at") == 0 &&
        !json_is_true(json_object_get(doc, "ack_missed"))) {
        json_object_set_new(doc, "ack_missed", json_true());
        char line[200];
        const struct conf_severity *lv = conf_severity_find(x->sch, incident_doc_str(doc, "severity"));
        snprintf(line, sizeof(line), "not acknowledged within the deadline of %s (%lld min)",
                 lv ? lv->name : incident_doc_str(doc, "severity"),
                 (long long)((deadline - incident_doc_int(doc, "created")) / 60000));
        const struct conf_policy *p = policy_of(x, doc);
        json_t *e = json_object_get(doc, "escalation");
        if (p && !(json_is_object(e) && json_is_true(json_object_get(e, "done")))) {
            /* a missed deadline escalates at once */
            if (!json_is_object(e)) {
                e = json_pack("{s:i, s:i, s:I, s:b}", "step", 0, "round", 0, "next_at", (json_int_t)now, "done", 0);
                json_object_set_new(doc, "escalation", e);
            } else {
                json_object_set_new(e, "next_at", json_integer((json_int_t)now));
            }
            snprintf(line + strlen(line), sizeof(line) - strlen(line), ": escalating");
        }
        incident_change(changes, "deadline_missed", "opshub", line, NULL);
        json_object_set_new(doc, "updated", json_integer((json_int_t)now));
    }
    int64_t mon = incident_doc_int(doc, "monitoring_at");
    if (s == INCIDENT_MONITORING && x->sch->quiet_ms > 0 && json_array_size(json_object_get(doc, "alerts")) &&
        all_resolved(doc) && mon > 0 && now - mon >= x->sch->quiet_ms) {
        char line[120];
        snprintf(line, sizeof(line), "quiet for %lld min", (long long)(x->sch->quiet_ms / 60000));
        incident_doc_set_state(doc, INCIDENT_RESOLVED, "opshub", now, line, changes);
    }
}

/* ---- escalation ---- */

static const struct conf_policy *policy_of(const struct incidents *x, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "policy"));
    return id && *id && x->conf ? conf_policy_find(x->conf, id) : NULL;
}

/* When the next step is due (INT64_MAX: never), from the document's
 * escalation state or, before the first step, from its opening. */
static int64_t esc_next(const json_t *doc, const struct conf_policy *p)
{
    json_t *e = json_object_get(doc, "escalation");
    if (json_is_object(e))
        return json_is_true(json_object_get(e, "done")) ? INT64_MAX : incident_doc_int(e, "next_at");
    return incident_doc_int(doc, "created") + (p && p->n_steps ? p->steps[0].delay_ms : 0);
}

static bool esc_due(const struct incidents *x, const json_t *doc, int64_t now)
{
    if (incident_doc_state(doc) == INCIDENT_RESOLVED || incident_doc_int(doc, "acked_at") > 0)
        return false;
    const struct conf_policy *p = policy_of(x, doc);
    return p && now >= esc_next(doc, p);
}

/* Runs the step that is due: who it pages (op->pages, sent once written), the timeline entry,
 * and the next step (after the last: the first again, repeat times, then done). */
static void apply_escalate(struct incidents *x, struct op *op, json_t *doc, json_t *changes, int64_t now)
{
    const struct conf_policy *p = policy_of(x, doc);
    json_t *e = json_object_get(doc, "escalation");
    int step = json_is_object(e) ? (int)incident_doc_int(e, "step") : 0;
    int round = json_is_object(e) ? (int)incident_doc_int(e, "round") : 0;
    if (!p || !p->n_steps || step < 0 || (size_t)step >= p->n_steps) {
        json_object_set_new(doc, "escalation", json_pack("{s:i, s:i, s:I, s:b}", "step", step, "round", round,
                                                         "next_at", (json_int_t)0, "done", 1));
        return;
    }
    op->pages = json_array();
    char line[1500];
    size_t k = (size_t)snprintf(line, sizeof(line), "escalation step %d of %zu%s: ", step + 1, p->n_steps,
                                round ? " (repeated)" : "");
    const struct conf_policy_step *st = &p->steps[step];
    for (size_t i = 0; i < st->n_targets && k < sizeof(line); i++) {
        const struct conf_target *t = &st->targets[i];
        const char *sep = i ? ", " : "";
        if (t->kind == CONF_TARGET_CHANNEL) {
            json_array_append_new(op->pages, json_pack("{s:s, s:s}", "kind", "channel", "id", t->id));
            k += (size_t)snprintf(line + k, sizeof(line) - k, "%schannel %s", sep, t->id);
        } else if (t->kind == CONF_TARGET_USER) {
            json_array_append_new(op->pages, json_pack("{s:s, s:s}", "kind", "user", "id", t->id));
            k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", sep, t->id);
        } else {
            const struct oncall_rotation *r = x->oncall ? oncall_find(x->oncall, t->id) : NULL;
            struct oncall_span sp = {0};
            if (r)
                oncall_rotation_at(r, now, &sp);
            if (sp.user) {
                json_array_append_new(op->pages, json_pack("{s:s, s:s, s:s}", "kind", "user", "id", sp.user, "via",
                                                           t->id));
                k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s (on call in %s)", sep, sp.user, t->id);
            } else {
                k += (size_t)snprintf(line + k, sizeof(line) - k, "%snobody on call in %s", sep, t->id);
            }
        }
    }
    incident_change(changes, "escalated", "opshub", line,
                    json_pack("{s:i, s:i, s:O}", "step", step + 1, "round", round + 1, "pages", op->pages));
    step++;
    bool done = false;
    if ((size_t)step >= p->n_steps) {
        step = 0;
        round++;
        done = round > p->repeat;
    }
    int64_t next = done ? 0 : now + p->steps[step].delay_ms;
    json_object_set_new(doc, "escalation", json_pack("{s:i, s:i, s:I, s:b}", "step", step, "round", round, "next_at",
                                                     (json_int_t)next, "done", done));
    json_object_set_new(doc, "updated", json_integer((json_int_t)now));
}

/* A signed link that acknowledges exactly this incident, as `who`, for a day. */
static void ack_link(const struct incidents *x, const char *id, const char *who, int64_t now, char *out, size_t n)
{
    out[0] = 0;
    char exp[24], msg[256], mac[AUTH_MAC_TOKEN_MAX];
    snprintf(exp, sizeof(exp), "%" PRIx64, (uint64_t)((now + ACK_LINK_TTL_MS) / 1000));
    snprintf(msg, sizeof(msg), "%s|%s|%s", id, exp, who);
    if (!x->auth || auth_mac_token(x->auth, ACK_LINK_LABEL, msg, mac, sizeof(mac)) != 0)
        return;
    snprintf(out, n, "%s/api/v1/ack/%s-%s-%s?u=%s", x->base_url, id, exp, mac, who);
}

int incidents_ack_link_check(const struct incidents *x, const char *token, const char *who, int64_t now, char *id,
                             size_t id_len)
{
    if (!x->auth || !token || !who || !*who || strlen(who) > 100 || strlen(token) > 120)
        return BASE_ERR_INVALID;
    const char *d1 = strchr(token, '-'), *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
    if (!d1 || !d2 || (size_t)(d1 - token) >= id_len || d2 - d1 - 1 > 16)
        return BASE_ERR_INVALID;
    char exp[24], msg[256];
    snprintf(id, id_len, "%.*s", (int)(d1 - token), token);
    snprintf(exp, sizeof(exp), "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    snprintf(msg, sizeof(msg), "%s|%s|%s", id, exp, who);
    if (!auth_mac_verify(x->auth, ACK_LINK_LABEL, msg, d2 + 1))
        return BASE_ERR_INVALID;
    char *end;
    unsigned long long e = strtoull(exp, &end, 16);
    if (*end || (int64_t)e * 1000 < now)
        return BASE_ERR_TIMEOUT;
    return 0;
}

/* ---- pages ---- */

struct contact_job {
    struct incidents *x;
    char id[STORE_INCIDENT_ID_MAX], user[AUTH_NAME_MAX], via[64];
    int64_t number;
    char severity[CONF_INCIDENT_NAME_MAX + 1], state[16];
    char summary[300], ack[700];
    char *text;
    struct auth_contacts c;
};

static void note(struct incidents *x, const char *id, const char *kind, const char *text);

static void page_to(struct incidents *x, const struct contact_job *j, const char *channel, const char *recipient)
{
    struct notify_page pg = {.channel = channel, .recipient = recipient, .event = "trigger", .dedup_key = j->id,
                             .summary = j->summary, .text = j->text, .ack_url = j->ack[0] ? j->ack : NULL,
                             .incident_id = j->id, .severity = j->severity, .state = j->state, .number = j->number};
    if (notify_page(x->notify, &pg, NULL, 0) == 0)
        x->pages++;
}

static int contact_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct contact_job *j = data;
    return auth_db_contacts_get(c, j->user, &j->c, err, errlen);
}

static void contact_done(void *data, int status, const char *errmsg)
{
    struct contact_job *j = data;
    struct incidents *x = j->x;
    x->pending--;
    (void)errmsg;
    if (!x->closing && x->notify) {
        const char *value[CONF_CONTACT_KINDS] = {j->c.email, j->c.slack, j->c.phone, j->c.pagerduty};
        char line[400];
        size_t k = (size_t)snprintf(line, sizeof(line), "notified %s", j->user);
        int sent = 0;
        for (int i = 0; status == 0 && i < CONF_CONTACT_KINDS; i++) {
            const char *ch = x->sch->contact_channels[i];
            if (!value[i][0] || !ch)
                continue;
            page_to(x, j, ch, value[i]);
            k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", sent++ ? ", " : " by ", conf_contact_kind_names[i]);
        }
        if (status == BASE_ERR_NOT_FOUND)
            snprintf(line, sizeof(line), "%s is no user of opshub (or is disabled): not notified", j->user);
        else if (status != 0)
            snprintf(line, sizeof(line), "the contact methods of %s could not be read: not notified", j->user);
        else if (!sent)
            snprintf(line, sizeof(line), "%s has no contact method a page can use (incidents.contact_channels): "
                     "not notified", j->user);
        note(x, j->id, sent ? "notified" : "not_notified", line);
    }
    explicit_bzero(j->c.pagerduty, sizeof(j->c.pagerduty));
    base_free(j->text);
    base_free(j);
    maybe_closed(x);
}

/* The pages of a step that was written: channels now, users once their contact methods are read. */
static void send_pages(struct incidents *x, const struct inc *in, const json_t *pages)
{
    if (!x->notify || !json_array_size(pages))
        return;
    char text[4096];
    incidents_message(x, in->doc, NULL, text, sizeof(text));
    const struct conf_severity *lv = conf_severity_find(x->sch, incident_doc_str(in->doc, "severity"));
    int64_t now = base_time_now_ms();
    size_t i;
    json_t *pg;
    json_array_foreach(pages, i, pg) {
        struct contact_job *j = base_calloc(1, sizeof(*j));
        if (!j || !(j->text = base_strdup(text))) {
            base_free(j);
            continue;
        }
        j->x = x;
        snprintf(j->id, sizeof(j->id), "%s", in->id);
        j->number = in->number;
        snprintf(j->severity, sizeof(j->severity), "%s", incident_doc_str(in->doc, "severity"));
        snprintf(j->state, sizeof(j->state), "%s", incident_doc_str(in->doc, "state"));
        snprintf(j->summary, sizeof(j->summary), "[%s] #%" PRId64 " %s", lv ? lv->label : j->severity, in->number,
                 incident_doc_str(in->doc, "title"));
        const char *kind = incident_doc_str(pg, "kind"), *id = incident_doc_str(pg, "id");
        if (!strcmp(kind, "channel")) {
            char who[CONF_ID_MAX + 16];
            snprintf(who, sizeof(who), "channel:%s", id);
            ack_link(x, in->id, who, now, j->ack, sizeof(j->ack));
            page_to(x, j, id, NULL);
            base_free(j->text);
            base_free(j);
            continue;
        }
        snprintf(j->user, sizeof(j->user), "%s", id);
        snprintf(j->via, sizeof(j->via), "%s", incident_doc_str(pg, "via"));
        ack_link(x, in->id, j->user, now, j->ack, sizeof(j->ack));
        if (store_call(x->store, contact_work, contact_done, j) == 0) {
            x->pending++;
        } else {
            base_free(j->text);
            base_free(j);
        }
    }
}

/* Does an op change anything? Runs it on a copy; 0 with op->copy and
 * op->changes set, 1 when nothing changes, or -1 (answered: invalid). */
static int apply(struct incidents *x, struct op *op)
{
    struct inc *in = op->inc;
    int64_t now = base_time_now_ms();
    op->changes = json_array();
    op->copy = op->kind == OP_CREATE ? json_incref(in->doc) : json_deep_copy(in->doc);
    if (!op->changes || !op->copy) {
        struct incident_err e = {"", "out of memory"};
        answer(op, BASE_ERR_NOMEM, &e, NULL);
        return -1;
    }
    struct incident_err err = {"", ""};
    switch (op->kind) {
    case OP_CREATE:
        json_array_extend(op->changes, op->input);   /* made with the document */
        break;
    case OP_PATCH:
        if (incident_doc_patch(op->copy, x->sch, op->input, op->actor, now, op->changes, &err) != 0) {
            answer(op, BASE_ERR_INVALID, &err, NULL);
            return -1;
        }
        break;
    case OP_ACK:
        if (incident_doc_state(op->copy) == INCIDENT_RESOLVED || incident_doc_ack(op->copy, op->actor, now, op->how,
                                                                                  op->changes) != 0) {
            snprintf(err.message, sizeof(err.message), "%s", incident_doc_state(op->copy) == INCIDENT_RESOLVED
                     ? "the incident is resolved" : "already acknowledged");
            answer(op, BASE_ERR_EXISTS, &err, in->doc);
            return -1;
        }
        break;
    case OP_RESOLVE:
        if (incident_doc_state(op->copy) == INCIDENT_RESOLVED) {
            snprintf(err.message, sizeof(err.message), "already resolved");
            answer(op, BASE_ERR_EXISTS, &err, in->doc);
            return -1;
        }
        incident_doc_set_state(op->copy, INCIDENT_RESOLVED, op->actor, now, op->text, op->changes);
        break;
    case OP_UPDATE: {
        enum incident_state s;
        if (op->state && incident_state_parse(op->state, &s) != 0) {
            snprintf(err.field, sizeof(err.field), "state");
            snprintf(err.message, sizeof(err.message),
                     "state must be one of INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED");
            answer(op, BASE_ERR_INVALID, &err, NULL);
            return -1;
        }
        incident_doc_update(op->copy, op->text, op->state ? &s : NULL, op->actor, now, op->changes);
        break;
    }
    case OP_ALERT:
        apply_alert(x, op, op->copy, op->changes);
        break;
    case OP_TICK:
        apply_tick(x, op->copy, op->changes, now);
        break;
    case OP_ESCALATE:
        if (esc_due(x, op->copy, now))
            apply_escalate(x, op, op->copy, op->changes, now);
        break;
    case OP_NOTE:
        incident_change(op->changes, op->how, "opshub", op->text, NULL);
        break;
    }
    if (op->kind != OP_CREATE && json_array_size(op->changes) == 0) {
        answer(op, 0, NULL, in->doc);
        return 1;
    }
    return 0;
}

static void run_ops(struct incidents *x, struct inc *in)
{
    int64_t now = base_time_now_ms();
    while (in->ops && !in->busy && !x->closing) {
        struct op *op = in->ops;
        if (op->not_before > now)
            return;   /* the tick comes back */
        if (!op->copy) {
            int r = apply(x, op);
            if (r != 0) {
                in->ops = op->next;
                if (!in->ops)
                    in->ops_tail = NULL;
                op_free(op);
                if (release_if_done(x, in))
                    return;
                continue;
            }
        }
        in->busy = true;
        int rc = save(x, op);
        if (rc != 0) {
            /* not even queued: as a failed write */
            x->pending++;
            on_saved(op, rc, base_strerror(rc), 0);
            return;
        }
    }
}

static struct op *op_new(struct incidents *x, struct inc *in, enum op_kind kind, const char *actor)
{
    struct op *op = base_calloc(1, sizeof(*op));
    if (!op)
        return NULL;
    op->x = x;
    op->inc = in;
    op->kind = kind;
    op->actor = base_strdup(actor ? actor : "");
    if (!op->actor) {
        base_free(op);
        return NULL;
    }
    return op;
}

static void enqueue(struct incidents *x, struct inc *in, struct op *op)
{
    in->x = x;
    op->inc = in;
    if (in->ops_tail)
        in->ops_tail->next = op;
    else
        in->ops = op;
    in->ops_tail = op;
    run_ops(x, in);
}

static void note(struct incidents *x, const char *id, const char *kind, const char *text)
{
    struct inc *in = find(x, id);
    if (!in)
        return;   /* resolved and gone meanwhile */
    struct op *op = op_new(x, in, OP_NOTE, "opshub");
    if (!op || !(op->text = base_strdup(text)) || !(op->how = base_strdup(kind))) {
        if (op)
            op_free(op);
        return;
    }
    op->internal = true;
    enqueue(x, in, op);
}

void incidents_set_paging(struct incidents *x, struct notify *n, struct oncall *oc, struct auth *a,
                          const char *base_url)
{
    x->notify = n;
    x->oncall = oc;
    x->auth = a;
    snprintf(x->base_url, sizeof(x->base_url), "%s", base_url ? base_url : "");
    size_t l = strlen(x->base_url);
    while (l && x->base_url[l - 1] == '/')
        x->base_url[--l] = 0;
}

/* Opened, a status update, resolved: the communication template to the incident's channels. */
struct subs_note {
    struct incidents *x;
    char id[STORE_INCIDENT_ID_MAX];
};

static void subs_sent(void *data, size_t sent)
{
    struct subs_note *sn = data;
    struct incidents *x = sn->x;
    x->pending--;
    if (sent && !x->closing) {
        char line[120];
        snprintf(line, sizeof(line), "sent to %zu subscriber%s of the status page", sent, sent == 1 ? "" : "s");
        note(x, sn->id, "posted", line);
    }
    base_free(sn);
    maybe_closed(x);
}

/* A public incident's update to the status page's subscribers. */
static void post_subscribers(struct incidents *x, const struct inc *in, bool resolved)
{
    if (!x->notify || !(x->sch->subscriber_email || x->sch->subscriber_webhook))
        return;
    json_t *v = public_view(x, in->id, in->number, in->doc);
    struct subs_note *sn = v ? base_calloc(1, sizeof(*sn)) : NULL;
    if (sn) {
        sn->x = x;
        snprintf(sn->id, sizeof(sn->id), "%s", in->id);
        struct subs_send ctx = {.store = x->store, .notify = x->notify, .auth = x->auth, .base_url = x->base_url,
                                .page_title = x->conf ? x->conf->status_page.title : NULL, .sch = x->sch,
                                .closing = &x->closing};
        if (subs_send(&ctx, v, resolved, subs_sent, sn) == 0)
            x->pending++;
        else
            base_free(sn);
    }
    json_decref(v);
}

static void post_update(struct incidents *x, const struct inc *in, bool resolved)
{
    post_subscribers(x, in, resolved);
    json_t *chs = json_object_get(in->doc, "channels");
    if (!x->notify || !json_array_size(chs))
        return;
    char text[4096], summary[300], ack[700] = "", line[600];
    incidents_message(x, in->doc, NULL, text, sizeof(text));
    const struct conf_severity *lv = conf_severity_find(x->sch, incident_doc_str(in->doc, "severity"));
    snprintf(summary, sizeof(summary), "[%s] #%" PRId64 " %s: %s", lv ? lv->label : incident_doc_str(in->doc, "severity"),
             in->number, incident_doc_str(in->doc, "title"), incident_doc_str(in->doc, "state"));
    size_t k = (size_t)snprintf(line, sizeof(line), "posted to ");
    size_t i, sent = 0;
    json_t *c;
    json_array_foreach(chs, i, c) {
        const char *ch = json_string_value(c);
        if (!ch)
            continue;
        char who[CONF_ID_MAX + 16];
        snprintf(who, sizeof(who), "channel:%s", ch);
        if (!resolved && incident_doc_int(in->doc, "acked_at") == 0)
            ack_link(x, in->id, who, base_time_now_ms(), ack, sizeof(ack));
        struct notify_page pg = {.channel = ch, .event = resolved ? "resolve" : "trigger", .dedup_key = in->id,
                                 .summary = summary, .text = text, .ack_url = ack[0] ? ack : NULL,
                                 .incident_id = in->id, .severity = incident_doc_str(in->doc, "severity"),
                                 .state = incident_doc_str(in->doc, "state"), .number = in->number};
        if (notify_page(x->notify, &pg, NULL, 0) == 0) {
            x->pages++;
            k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", sent++ ? ", " : "", ch);
        }
    }
    if (sent && k < sizeof(line))
        note(x, in->id, "posted", line);
}

/* ---- changes from the API ---- */

int incidents_open(struct incidents *x, const json_t *input, const char *actor, incidents_cb cb, void *data)
{
    if (x->closing)
        return BASE_ERR_UNAVAILABLE;
    if (x->n_open >= INCIDENTS_OPEN_MAX)
        return BASE_ERR_TOO_BIG;
    struct incident_err err = {"", ""};
    json_t *changes = json_array();
    int64_t now = base_time_now_ms();
    json_t *doc = changes ? incident_doc_new(x->sch, input, "manual", actor, now, changes, &err) : NULL;
    if (!doc) {
        json_decref(changes);
        cb(data, changes ? BASE_ERR_INVALID : BASE_ERR_NOMEM, &err, NULL);
        return 0;
    }
    struct inc *in = base_calloc(1, sizeof(*in));
    struct op *op = in ? op_new(x, in, OP_CREATE, actor) : NULL;
    if (!op) {
        base_free(in);
        json_decref(doc);
        json_decref(changes);
        return BASE_ERR_NOMEM;
    }
    incident_new_id(in->id, sizeof(in->id), now, next_rand(x));
    in->doc = doc;
    op->input = changes;
    op->cb = cb;
    op->data = data;
    list_add(x, in);
    enqueue(x, in, op);
    return 0;
}

struct lookup {
    struct incidents *x;
    struct op *op;
    char ref[48];
};

static void on_lookup(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct lookup *lk = data;
    struct incidents *x = lk->x;
    struct op *op = lk->op;
    x->pending--;
    base_free(lk);
    if (x->closing) {
        answer(op, BASE_ERR_UNAVAILABLE, NULL, NULL);
        op_free(op);
        maybe_closed(x);
        return;
    }
    if (status != 0 || n == 0) {
        struct incident_err e = {"", ""};
        snprintf(e.message, sizeof(e.message), "%s", status ? base_strerror(status) : "no incident has this id or number");
        answer(op, status ? status : BASE_ERR_NOT_FOUND, &e, NULL);
        op_free(op);
        return;
    }
    /* meanwhile in memory (read back by the poll)? */
    struct inc *mem = find(x, rows[0].id);
    if (!mem) {
        json_error_t je;
        json_t *doc = json_loads(rows[0].doc, 0, &je);
        mem = doc ? base_calloc(1, sizeof(*mem)) : NULL;
        if (!mem) {
            json_decref(doc);
            struct incident_err e = {"", "the stored incident cannot be read"};
            answer(op, BASE_ERR_INVALID, &e, NULL);
            op_free(op);
            return;
        }
        snprintf(mem->id, sizeof(mem->id), "%s", rows[0].id);
        mem->number = rows[0].number;
        mem->doc = doc;
        if (incident_doc_state(doc) != INCIDENT_RESOLVED)
            list_add(x, mem);
    }
    enqueue(x, mem, op);
}

/* Runs op on the incident ref names, read from the store when it is not
 * in memory (a resolved one, to reopen it or to write its postmortem). */
static int with_incident(struct incidents *x, const char *ref, struct op *op)
{
    if (x->closing) {
        op_free(op);
        return BASE_ERR_UNAVAILABLE;
    }
    struct inc *in = find(x, ref);
    if (in) {
        enqueue(x, in, op);
        return 0;
    }
    struct store_incident_filter f = {.limit = 1};
    char *end;
    long long n = ref && *ref != 'i' ? strtoll(ref, &end, 10) : 0;
    if (ref && *ref != 'i' && n > 0 && !*end)
        f.number = n;
    else if (ref && *ref == 'i' && strlen(ref) < STORE_INCIDENT_ID_MAX)
        f.id = ref;
    else {
        struct incident_err e = {"", "no incident has this id or number"};
        answer(op, BASE_ERR_NOT_FOUND, &e, NULL);
        op_free(op);
        return 0;
    }
    struct lookup *lk = base_calloc(1, sizeof(*lk));
    if (!lk) {
        op_free(op);
        return BASE_ERR_NOMEM;
    }
    lk->x = x;
    lk->op = op;
    int rc = store_incidents_load(x->store, &f, on_lookup, lk);
    if (rc != 0) {
        base_free(lk);
        op_free(op);
        return rc;
    }
    x->pending++;
    return 0;
}

static struct op *api_op(struct incidents *x, enum op_kind kind, const char *actor, incidents_cb cb, void *data)
{
    struct op *op = op_new(x, NULL, kind, actor);
    if (op) {
        op->cb = cb;
        op->data = data;
    }
    return op;
}

int incidents_patch(struct incidents *x, const char *ref, const json_t *patch, const char *actor, incidents_cb cb,
                    void *data)
{
    struct op *op = api_op(x, OP_PATCH, actor, cb, data);
    if (!op || !(op->input = json_deep_copy(patch))) {
        if (op)
            op_free(op);
        return BASE_ERR_NOMEM;
    }
    return with_incident(x, ref, op);
}

int incidents_ack(struct incidents *x, const char *ref, const char *actor, const char *how, incidents_cb cb,
                  void *data)
{
    struct op *op = api_op(x, OP_ACK, actor, cb, data);
    if (!op || (how && !(op->how = base_strdup(how)))) {
        if (op)
            op_free(op);
        return BASE_ERR_NOMEM;
    }
    return with_incident(x, ref, op);
}

int incidents_resolve(struct incidents *x, const char *ref, const char *text, const char *actor, incidents_cb cb,
                      void *data)
{
    struct op *op = api_op(x, OP_RESOLVE, actor, cb, data);
    if (!op || (text && !(op->text = base_strdup(text)))) {
        if (op)
            op_free(op);
        return BASE_ERR_NOMEM;
    }
    return with_incident(x, ref, op);
}

int incidents_post_update(struct incidents *x, const char *ref, const char *text, const char *state,
                          const char *actor, incidents_cb cb, void *data)
{
    struct op *op = api_op(x, OP_UPDATE, actor, cb, data);
    if (!op || !(op->text = base_strdup(text ? text : "")) || (state && !(op->state = base_strdup(state)))) {
        if (op)
            op_free(op);
        return BASE_ERR_NOMEM;
    }
    return with_incident(x, ref, op);
}

/* ---- alerts ---- */

static const struct rule *match_rule(const struct incidents *x, const json_t *labels)
{
    for (size_t i = 0; i < x->n_rules; i++) {
        const struct rule *r = &x->rules[i];
        bool ok = true;
        for (size_t k = 0; ok && k < r->n_m; k++) {
            const char *v = json_string_value(json_object_get(labels, r->m[k].name));
            ok = series_matcher_matches(&r->m[k], v ? v : "");
        }
        if (ok)
            return r;
    }
    return NULL;
}

static void group_key(const struct incidents *x, const struct rule *r, const json_t *labels, char *out, size_t n)
{
    static const char *const dflt[] = {"alertname", "project"};
    const char *const *by = r->c->n_group_by ? r->c->group_by : dflt;
    size_t nb = r->c->n_group_by ? r->c->n_group_by : 2;
    size_t k = (size_t)snprintf(out, n, "rule%zu", (size_t)(r - x->rules));
    for (size_t i = 0; i < nb && k < n; i++) {
        const char *v = json_string_value(json_object_get(labels, by[i]));
        k += (size_t)snprintf(out + k, n - k, "\x1f%s=%s", by[i], v ? v : "");
    }
}

static struct inc *find_group(const struct incidents *x, const char *key)
{
    for (struct inc *in = x->head; in; in = in->next)
        if (incident_doc_state(in->doc) != INCIDENT_RESOLVED && !strcmp(incident_doc_str(in->doc, "group_key"), key))
            return in;
    return NULL;
}

static void alert_key(const json_t *labels, char *out, size_t n)
{
    size_t k = 0;
    const char *name;
    json_t *v;
    out[0] = 0;
    /* jansson keeps insertion order: labels come sorted from the rule engine */
    json_object_foreach((json_t *)labels, name, v) {
        if (k < n)
            k += (size_t)snprintf(out + k, n - k, "%s%s=%s", k ? "," : "", name, json_string_value(v));
    }
}

/* An incident for the alert's group: the open one, or a new one when it fires. */
static void on_alert_labels(struct incidents *x, json_t *labels, const char *key, bool firing, int64_t at)
{
    const struct rule *r = match_rule(x, labels);
    if (!r)
        return;
    char gk[1024];
    group_key(x, r, labels, gk, sizeof(gk));
    struct inc *in = find_group(x, gk);
    if (!in && !firing)
        return;
    if (!in) {
        if (x->n_open >= INCIDENTS_OPEN_MAX)
            return;
        /* the title from the rule's template, the rest from the labels */
        size_t nl = json_object_size(labels), i = 0;
        struct template_kv *kv = base_calloc(nl ? nl : 1, sizeof(*kv));
        const char *name;
        json_t *v;
        json_object_foreach(labels, name, v) {
            if (kv)
                kv[i++] = (struct template_kv){name, json_string_value(v)};
        }
        char title[INCIDENT_TITLE_MAX + 1] = "";
        struct template_data d = {.labels = kv, .n_labels = i};
        if (!kv || !r->title || template_expand(r->title, &d, title, sizeof(title)) != 0 || !title[0]) {
            const char *an = json_string_value(json_object_get(labels, "alertname"));
            snprintf(title, sizeof(title), "%s", an ? an : "alert");
        }
        base_free(kv);
        for (char *p = title; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        json_t *input = json_pack("{s:s, s:s}", "title", title, "severity", r->c->severity);
        const char *project = json_string_value(json_object_get(labels, "project"));
        const char *check = json_string_value(json_object_get(labels, "check"));
        if (input && project) {
            json_object_set_new(input, "projects", json_pack("[s]", project));
            json_object_set_new(input, "service", json_string(project));
        }
        if (input && check)
            json_object_set_new(input, "checks", json_pack("[s]", check));
        if (input && r->c->policy)
            json_object_set_new(input, "policy", json_string(r->c->policy));
        json_t *chs = json_array();
        for (size_t c = 0; chs && c < r->c->n_channels; c++)
            json_array_append_new(chs, json_string(r->c->channels[c]));
        if (input)
            json_object_set_new(input, "channels", chs ? chs : json_array());
        struct incident_err err;
        json_t *changes = json_array();
        json_t *doc = input && changes ? incident_doc_new(x->sch, input, "alert", "opshub", at, changes, &err) : NULL;
        json_decref(input);
        in = doc ? base_calloc(1, sizeof(*in)) : NULL;
        struct op *op = in ? op_new(x, in, OP_CREATE, "opshub") : NULL;
        if (!op) {
            base_free(in);
            json_decref(doc);
            json_decref(changes);
            base_log_error("incidents: an incident could not be opened", BASE_LOG_STR("group", gk),
                           BASE_LOG_STR("error", doc ? "out of memory" : err.message));
            return;
        }
        json_object_set_new(doc, "group_key", json_string(gk));
        incident_new_id(in->id, sizeof(in->id), at, next_rand(x));
        in->doc = doc;
        op->input = changes;
        op->internal = true;
        list_add(x, in);
        enqueue(x, in, op);
    }
    struct op *op = op_new(x, in, OP_ALERT, "opshub");
    if (!op || !(op->input = json_deep_copy(labels))) {
        if (op)
            op_free(op);
        return;
    }
    snprintf(op->key, sizeof(op->key), "%s", key);
    op->firing = firing;
    op->at_ms = at;
    op->internal = true;
    enqueue(x, in, op);
}

static void on_event(void *data, const struct event *ev)
{
    struct incidents *x = data;
    if (ev->kind != EVENT_ALERT || x->closing || !x->n_rules)
        return;
    const struct event_alert *a = &ev->u.alert;
    bool firing = a->state == EVENT_ALERT_FIRING;
    bool resolved = a->state == EVENT_ALERT_RESOLVED ||
                    (a->state == EVENT_ALERT_INACTIVE && a->previous == EVENT_ALERT_FIRING);
    if (!firing && !resolved)
        return;
    json_t *labels = json_object();
    for (size_t i = 0; labels && i < a->n_labels; i++)
        json_object_set_new(labels, a->labels[i].name, json_string(a->labels[i].value));
    if (!labels)
        return;
    char key[512];
    alert_key(labels, key, sizeof(key));
    if (!x->loaded) {
        /* the open incidents are being read back: held until they are */
        if (x->n_pend < PENDING_ALERTS_MAX) {
            struct pend *p = base_realloc(x->pend, (x->n_pend + 1) * sizeof(*p));
            if (p) {
                x->pend = p;
                p[x->n_pend].labels = labels;
                snprintf(p[x->n_pend].key, sizeof(p[x->n_pend].key), "%s", key);
                p[x->n_pend].firing = firing;
                p[x->n_pend].at = a->at_ms;
                x->n_pend++;
                return;
            }
        }
        json_decref(labels);
        return;
    }
    on_alert_labels(x, labels, key, firing, a->at_ms);
    json_decref(labels);
}

/* ---- reading back ---- */

static void merge_rows(struct incidents *x, const struct store_incident *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct inc *in = find(x, rows[i].id);
        if (in && (in->busy || in->ops || rows[i].updated_ms <= incident_doc_int(in->doc, "updated")))
            continue;
        json_t *doc = json_loads(rows[i].doc, 0, NULL);
        if (!json_is_object(doc)) {
            json_decref(doc);
            base_log_warn("incidents: a stored incident cannot be read", BASE_LOG_STR("incident", rows[i].id));
            continue;
        }
        if (!in) {
            if (x->n_open >= INCIDENTS_OPEN_MAX || !(in = base_calloc(1, sizeof(*in)))) {
                json_decref(doc);
                continue;
            }
            snprintf(in->id, sizeof(in->id), "%s", rows[i].id);
            list_add(x, in);
        }
        in->number = rows[i].number;
        if (in->doc)
            observe(x, in->doc, doc);   /* acknowledged or resolved elsewhere (the CLI) */
        json_decref(in->doc);
        in->doc = doc;
    }
    /* open in memory but not in the store's open list: resolved elsewhere (the CLI) */
    for (struct inc *in = x->head, *nx; in; in = nx) {
        nx = in->next;
        if (in->busy || in->ops || in->number <= 0)
            continue;
        bool open = false;
        for (size_t i = 0; i < n && !open; i++)
            open = !strcmp(rows[i].id, in->id);
        if (!open) {
            list_remove(x, in);
            inc_free(in);
        }
    }
}

static void on_open_rows(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct incidents *x = data;
    x->pending--;
    x->reading = false;
    if (x->closing) {
        maybe_closed(x);
        return;
    }
    if (status != 0) {
        if (!x->loaded)
            base_log_warn("incidents: the open incidents are not read back yet (retrying)",
                          BASE_LOG_STR("error", base_strerror(status)));
        x->gen_known = false;
        return;
    }
    merge_rows(x, rows, n);
    if (!x->loaded) {
        x->loaded = true;
        if (n)
            base_log_info("incidents: open incidents read back", BASE_LOG_INT("incidents", (long long)n));
        for (size_t i = 0; i < x->n_pend; i++) {
            on_alert_labels(x, x->pend[i].labels, x->pend[i].key, x->pend[i].firing, x->pend[i].at);
            json_decref(x->pend[i].labels);
        }
        base_free(x->pend);
        x->pend = NULL;
        x->n_pend = 0;
    }
}

static void read_open(struct incidents *x)
{
    struct store_incident_filter f = {.open_only = true, .limit = INCIDENTS_OPEN_MAX};
    if (store_incidents_load(x->store, &f, on_open_rows, x) == 0) {
        x->pending++;
        x->reading = true;
    }
}

static void on_gen(void *data, int status, int64_t gen)
{
    struct incidents *x = data;
    x->pending--;
    x->reading = false;
    if (x->closing) {
        maybe_closed(x);
        return;
    }
    if (status != 0)
        return;
    if (!x->loaded || !x->gen_known || gen != x->gen) {
        x->gen = gen;
        x->gen_known = true;
        read_open(x);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct incidents *x = t->data;
    if (x->closing)
        return;
    if (!x->reading && store_incidents_read_gen(x->store, on_gen, x) == 0) {
        x->pending++;
        x->reading = true;
    }
    if (!x->loaded)
        return;
    if (!x->recent_read && !x->recent_reading)
        read_recent(x);
    int64_t now = base_time_now_ms();
    for (struct inc *in = x->head, *nx; in; in = nx) {
        nx = in->next;
        if (in->ops) {
            run_ops(x, in);   /* a retry whose time came */
            continue;
        }
        if (in->busy || incident_doc_state(in->doc) == INCIDENT_RESOLVED)
            continue;
        /* only when a deadline or a quiet period may be over */
        int64_t deadline = incident_doc_int(in->doc, "ack_deadline");
        bool due = (deadline > 0 && now >= deadline && incident_doc_int(in->doc, "acked_at") == 0 &&
                    !json_is_true(json_object_get(in->doc, "ack_missed"))) ||
                   (incident_doc_state(in->doc) == INCIDENT_MONITORING && x->sch->quiet_ms > 0 &&
                    json_array_size(json_object_get(in->doc, "alerts")) &&
                    now - incident_doc_int(in->doc, "monitoring_at") >= x->sch->quiet_ms);
        if (esc_due(x, in->doc, now)) {
            struct op *op = op_new(x, in, OP_ESCALATE, "opshub");
            if (op) {
                op->internal = true;
                enqueue(x, in, op);
            }
            continue;
        }
        if (!due)
            continue;
        struct op *op = op_new(x, in, OP_TICK, "opshub");
        if (op) {
            op->internal = true;
            enqueue(x, in, op);
        }
    }
}

/* ---- the status page ---- */

#define RECENT_MAX 500
#define RECENT_MS (90LL * 86400000)

/* What the public may see of an incident whose level is public (else NULL). */
static json_t *public_view(const struct incidents *x, const char *id, int64_t number, const json_t *doc)
{
    const struct conf_severity *lv = conf_severity_find(x->sch, incident_doc_str(doc, "severity"));
    if (!lv || !lv->public)
        return NULL;
    char t1[40], t2[40];
    int64_t resolved = incident_doc_state(doc) == INCIDENT_RESOLVED ? incident_doc_int(doc, "resolved_at") : 0;
    json_t *ups = json_array();
    size_t i;
    json_t *u;
    json_t *src = json_object_get(doc, "updates");
    for (i = json_array_size(src); ups && i-- > 0;) {
        u = json_array_get(src, i);
        char t[40];
        json_array_append_new(ups, json_pack("{s:s, s:s, s:s}", "at",
                                             base_time_format_iso8601(incident_doc_int(u, "at"), t, sizeof(t)),
                                             "state", incident_doc_str(u, "state"), "text", incident_doc_str(u, "text")));
    }
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:O, s:O, s:O, s:o, s:I, s:I}", "id", id, "number",
                     (json_int_t)number, "title", incident_doc_str(doc, "title"), "severity", lv->label, "state",
                     incident_doc_str(doc, "state"), "started",
                     base_time_format_iso8601(incident_doc_int(doc, "created"), t1, sizeof(t1)), "resolved",
                     resolved ? json_string(base_time_format_iso8601(resolved, t2, sizeof(t2))) : json_null(),
                     "projects", json_object_get(doc, "projects"), "checks", json_object_get(doc, "checks"),
                     "components", json_object_get(doc, "components"), "updates", ups ? ups : json_array(),
                     "started_ms", (json_int_t)incident_doc_int(doc, "created"), "resolved_ms", (json_int_t)resolved);
}

static void remember_resolved(struct incidents *x, const struct inc *in)
{
    json_t *v = public_view(x, in->id, in->number, in->doc);
    if (!v)
        return;
    if (!x->recent)
        x->recent = json_array();
    /* newest first; one entry per incident */
    for (size_t i = 0; i < json_array_size(x->recent); i++)
        if (!strcmp(incident_doc_str(json_array_get(x->recent, i), "id"), in->id))
            json_array_remove(x->recent, i--);
    json_array_insert_new(x->recent, 0, v);
    while (json_array_size(x->recent) > RECENT_MAX)
        json_array_remove(x->recent, json_array_size(x->recent) - 1);
}

static void on_recent_rows(void *data, int status, const struct store_incident *rows, size_t n)
{
    struct incidents *x = data;
    x->pending--;
    x->recent_reading = false;
    if (x->closing) {
        maybe_closed(x);
        return;
    }
    if (status != 0)
        return;   /* read again at the next tick */
    x->recent_read = true;
    for (size_t i = n; i-- > 0;) {   /* oldest first, so the newest ends first */
        if (strcmp(rows[i].state, "RESOLVED") != 0)
            continue;
        json_t *doc = json_loads(rows[i].doc, 0, NULL);
        struct inc tmp = {.number = rows[i].number, .doc = doc};
        snprintf(tmp.id, sizeof(tmp.id), "%s", rows[i].id);
        if (json_is_object(doc))
            remember_resolved(x, &tmp);
        json_decref(doc);
    }
}

json_t *incidents_json_public(const struct incidents *x, const char *project, int64_t since_ms)
{
    json_t *out = json_array();
    for (const struct inc *in = x->head; out && in; in = in->next) {
        if (in->number <= 0)
            continue;
        json_t *v = public_view(x, in->id, in->number, in->doc);
        if (v)
            json_array_append_new(out, v);
    }
    size_t i;
    json_t *v;
    json_array_foreach(x->recent, i, v) {
        if (incident_doc_int(v, "resolved_ms") >= since_ms && out)
            json_array_append(out, v);
    }
    if (project && out) {
        for (i = 0; i < json_array_size(out); i++) {
            bool mine = false;
            size_t k;
            json_t *p;
            json_array_foreach(json_object_get(json_array_get(out, i), "projects"), k, p) {
                if (json_string_value(p) && !strcmp(json_string_value(p), project))
                    mine = true;
            }
            if (!mine)
                json_array_remove(out, i--);
        }
    }
    return out;
}

/* ---- lifecycle ---- */

struct incidents *incidents_new(uv_loop_t *loop, struct store *st, struct event_bus *bus)
{
    struct incidents *x = base_calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->loop = loop;
    x->store = st;
    x->bus = bus;
    x->rng = (uint64_t)base_time_now_ms() * 6364136223846793005ULL ^ (uint64_t)uv_hrtime() ^ (uint64_t)(uintptr_t)x;
    if (!x->rng)
        x->rng = 88172645463325252ULL;
    conf_incidents_defaults(&x->defaults);
    x->sch = &x->defaults;
    uv_timer_init(loop, &x->timer);
    x->timer.data = x;
    return x;
}

static void rules_free(struct rule *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        series_matchers_free(r[i].m, r[i].n_m);
        template_free(r[i].title);
    }
    base_free(r);
}

int incidents_apply(struct incidents *x, const struct conf *c)
{
    const struct conf_incidents *in = &c->incidents;
    struct rule *rules = in->n_rules ? base_calloc(in->n_rules, sizeof(*rules)) : NULL;
    if (in->n_rules && !rules)
        return BASE_ERR_NOMEM;
    char why[256];
    size_t pos;
    int rc = 0;
    for (size_t i = 0; i < in->n_rules && rc == 0; i++) {
        rules[i].c = &in->rules[i];
        rc = series_matchers_from_conf(in->rules[i].matchers, in->rules[i].n_matchers, &rules[i].m, &rules[i].n_m);
        if (rc == 0)
            rules[i].title = template_parse(in->rules[i].title ? in->rules[i].title : "{{ $labels.alertname }}", why,
                                            sizeof(why), &pos);
        if (rc == 0 && !rules[i].title)
            rc = BASE_ERR_INVALID;
    }
    struct template *msg = rc == 0 ? template_parse_flags(in->template ? in->template : conf_incident_default_template,
                                                          TEMPLATE_PARSE_INCIDENT, why, sizeof(why), &pos)
                                   : NULL;
    if (rc == 0 && !msg)
        rc = BASE_ERR_INVALID;
    struct template *lt[CONF_INCIDENT_LEVELS_MAX] = {0};
    for (size_t i = 0; rc == 0 && i < in->n_levels && i < CONF_INCIDENT_LEVELS_MAX; i++) {
        if (!in->levels[i].template)
            continue;
        lt[i] = template_parse_flags(in->levels[i].template, TEMPLATE_PARSE_INCIDENT, why, sizeof(why), &pos);
        if (!lt[i])
            rc = BASE_ERR_INVALID;
    }
    rules_free(x->rules, x->n_rules);
    x->rules = NULL;
    x->n_rules = 0;
    if (rc != 0) {
        /* the previous rules point into a configuration that may be gone: none, and the default scheme */
        rules_free(rules, in->n_rules);
        template_free(msg);
        for (size_t i = 0; i < CONF_INCIDENT_LEVELS_MAX; i++) {
            template_free(lt[i]);
            /* the levels' templates belonged to the previous scheme's levels, by position */
            template_free(x->level_t[i]);
            x->level_t[i] = NULL;
        }
        x->sch = &x->defaults;
        x->conf = NULL;
        return rc;
    }
    template_free(x->message_t);
    for (size_t i = 0; i < CONF_INCIDENT_LEVELS_MAX; i++) {
        template_free(x->level_t[i]);
        x->level_t[i] = lt[i];
    }
    x->rules = rules;
    x->n_rules = in->n_rules;
    x->message_t = msg;
    x->sch = in;
    x->conf = c;
    return 0;
}

const struct conf_incidents *incidents_scheme(const struct incidents *x)
{
    return x->sch;
}

static void read_recent(struct incidents *x)
{
    struct store_incident_filter f = {.from_ms = base_time_now_ms() - RECENT_MS, .limit = STORE_INCIDENTS_MAX};
    if (store_incidents_load(x->store, &f, on_recent_rows, x) == 0) {
        x->pending++;
        x->recent_reading = true;
    }
}

void incidents_start(struct incidents *x)
{
    if (event_subscribe(x->bus, "incidents", EVENT_MASK(EVENT_ALERT), on_event, x) == 0)
        x->subscribed = true;
    read_open(x);
    read_recent(x);
    uv_timer_start(&x->timer, on_tick, INCIDENTS_TICK_MS, INCIDENTS_TICK_MS);
}

static void free_all(struct incidents *x)
{
    for (struct inc *in = x->head, *nx; in; in = nx) {
        nx = in->next;
        for (struct op *o = in->ops, *on; o; o = on) {
            on = o->next;
            answer(o, BASE_ERR_UNAVAILABLE, NULL, NULL);
            op_free(o);
        }
        inc_free(in);
    }
    for (size_t i = 0; i < x->n_pend; i++)
        json_decref(x->pend[i].labels);
    base_free(x->pend);
    rules_free(x->rules, x->n_rules);
    template_free(x->message_t);
    for (size_t i = 0; i < CONF_INCIDENT_LEVELS_MAX; i++)
        template_free(x->level_t[i]);
    json_decref(x->recent);
    void (*cb)(void *) = x->close_cb;
    void *data = x->close_data;
    base_free(x);
    if (cb)
        cb(data);
}

static void maybe_closed(struct incidents *x)
{
    if (x->closing && x->pending == 0 && x->timer_closed)
        free_all(x);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct incidents *x = h->data;
    x->timer_closed = true;
    maybe_closed(x);
}

void incidents_close(struct incidents *x, void (*cb)(void *data), void *data)
{
    if (!x) {
        if (cb)
            cb(data);
        return;
    }
    x->closing = true;
    x->close_cb = cb;
    x->close_data = data;
    /* notify closes right after: a write answered from now on sends no page (a step written in
     * the last moments of a stop is not paged again after the start: at most once) */
    x->notify = NULL;
    x->auth = NULL;
    if (x->subscribed)
        event_unsubscribe(x->bus, on_event, x);
    uv_timer_stop(&x->timer);
    uv_close((uv_handle_t *)&x->timer, on_timer_closed);
}

/* ---- checks and metrics ---- */

int incidents_validate(const struct conf *c, struct base_errors *errs)
{
    const struct conf_incidents *in = &c->incidents;
    int bad = 0;
    char why[256];
    size_t pos;
    for (size_t i = 0; i < in->n_rules; i++) {
        const struct conf_incident_rule *r = &in->rules[i];
        if (!r->title)
            continue;
        struct template *t = template_parse(r->title, why, sizeof(why), &pos);
        if (!t) {
            base_errors_add(errs, in->file, r->title_line, r->title_col, NULL, "incident rule title: %s", why);
            bad = -1;
        }
        template_free(t);
    }
    if (in->template) {
        struct template *t = template_parse_flags(in->template, TEMPLATE_PARSE_INCIDENT, why, sizeof(why), &pos);
        if (!t) {
            base_errors_add(errs, in->file, in->template_line, in->template_col, NULL, "incidents.template: %s", why);
            bad = -1;
        }
        template_free(t);
    }
    for (size_t i = 0; i < in->n_levels; i++) {
        const struct conf_severity *l = &in->levels[i];
        if (!l->template)
            continue;
        struct template *t = template_parse_flags(l->template, TEMPLATE_PARSE_INCIDENT, why, sizeof(why), &pos);
        if (!t) {
            base_errors_add(errs, in->file, l->template_line, l->template_col, NULL, "the template of level %s: %s",
                            l->name ? l->name : "?", why);
            bad = -1;
        }
        template_free(t);
    }
    return bad;
}

void incidents_metrics(const struct incidents *x, struct base_buf *out)
{
    int rc = base_metrics_header(out, "opshub_incidents_open", "gauge",
                                 "Incidents not resolved, by severity");
    for (size_t i = 0; i < x->sch->n_levels; i++) {
        size_t n = 0;
        for (const struct inc *in = x->head; in; in = in->next)
            n += incident_doc_state(in->doc) != INCIDENT_RESOLVED &&
                 !strcmp(incident_doc_str(in->doc, "severity"), x->sch->levels[i].name);
        const char *labels[] = {"severity", x->sch->levels[i].name, NULL};
        rc |= base_metrics_sample(out, "opshub_incidents_open", labels, (double)n);
    }
    rc |= base_metrics_header(out, "opshub_incident_tta_seconds", "histogram",
                              "Time from opening to acknowledgement of incidents acknowledged since the start");
    for (size_t i = 0; i < x->n_stats; i++) {
        const char *labels[] = {"severity", x->stats[i].name, NULL};
        rc |= base_metrics_histogram(out, "opshub_incident_tta_seconds", labels, &x->stats[i].tta);
    }
    rc |= base_metrics_header(out, "opshub_incident_ttr_seconds", "histogram",
                              "Time from opening to resolution of incidents resolved since the start");
    for (size_t i = 0; i < x->n_stats; i++) {
        const char *labels[] = {"severity", x->stats[i].name, NULL};
        rc |= base_metrics_histogram(out, "opshub_incident_ttr_seconds", labels, &x->stats[i].ttr);
    }
    (void)rc;
}
