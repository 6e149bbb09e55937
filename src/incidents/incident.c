/*
 * incidents/incident: an incident's document and its changes (see
 * incident.h).
 */
#include "incidents/incident.h"

#include "base/alloc.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"INVESTIGATING", "IDENTIFIED", "MONITORING", "RESOLVED"};

const char *incident_state_name(enum incident_state s)
{
    return (unsigned)s < 4 ? state_names[s] : "INVESTIGATING";
}

int incident_state_parse(const char *s, enum incident_state *out)
{
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, state_names[i])) {
            *out = (enum incident_state)i;
            return 0;
        }
    return -1;
}

const char *incident_doc_str(const json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    return s ? s : "";
}

int64_t incident_doc_int(const json_t *doc, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(doc, key));
}

enum incident_state incident_doc_state(const json_t *doc)
{
    enum incident_state s = INCIDENT_INVESTIGATING;
    (void)incident_state_parse(incident_doc_str(doc, "state"), &s);
    return s;
}

void incident_change(json_t *changes, const char *kind, const char *actor, const char *text, json_t *data)
{
    json_t *e = json_pack("{s:s, s:s, s:s}", "kind", kind, "actor", actor ? actor : "", "text", text ? text : "");
    if (e && data)
        json_object_set(e, "data", data);
    json_decref(data);
    if (e)
        json_array_append_new(changes, e);
}

static void fail(struct incident_err *err, const char *field, const char *msg)
{
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* ---- fields ---- */

struct text_field {
    const char *name;
    size_t max;
    bool required_nonempty;
};

static const struct text_field text_fields[] = {
    {"title", INCIDENT_TITLE_MAX, true},  {"service", INCIDENT_FIELD_MAX, false},
    {"impact", INCIDENT_FIELD_MAX, false}, {"eta", INCIDENT_FIELD_MAX, false},
    {"commander", 64, false},
};
static const char *const list_fields[] = {"responders", "projects", "checks", "components", "channels"};

static bool printable_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Checks a value of the input for one of the fields: NULL when fine, else why. */
static const char *bad_text(const struct text_field *f, const json_t *v)
{
    if (json_is_null(v))
        return f->required_nonempty ? "must not be null" : NULL;
    if (!json_is_string(v))
        return "must be a string";
    const char *s = json_string_value(v);
    if (f->required_nonempty && !*s)
        return "must not be empty";
    if (strlen(s) > f->max)
        return "is too long";
    if (!printable_line(s))
        return "must be one line without control characters";
    return NULL;
}

static const char *bad_list(const json_t *v)
{
    if (json_is_null(v))
        return NULL;
    if (!json_is_array(v))
        return "must be a list of strings";
    if (json_array_size(v) > INCIDENT_LIST_MAX)
        return "lists at most 100 entries";
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !*json_string_value(e) || strlen(json_string_value(e)) > 200 ||
            !printable_line(json_string_value(e)))
            return "must be a list of non-empty one-line strings";
    }
    return NULL;
}

static const char *bad_text_value(const json_t *v, size_t max, bool multiline)
{
    if (!json_is_string(v))
        return "must be a string";
    const char *s = json_string_value(v);
    if (strlen(s) > max)
        return "is too long";
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && !(multiline && (*s == '\n' || *s == '\t' || *s == '\r'))) || *s == 0x7f)
            return "holds control characters";
    return NULL;
}

/* The postmortem: {summary, root_cause, impact, follow_ups: [{text, owner, done}]}. */
static const char *bad_postmortem(const json_t *v, char *field, size_t fl)
{
    if (!json_is_object(v))
        return snprintf(field, fl, "postmortem"), "must be an object";
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) {
        if (!strcmp(k, "summary") || !strcmp(k, "root_cause") || !strcmp(k, "impact") ||
            !strcmp(k, "lessons")) {
            const char *why = bad_text_value(e, INCIDENT_TEXT_MAX, true);
            if (why)
                return snprintf(field, fl, "postmortem.%s", k), why;
        } else if (!strcmp(k, "follow_ups")) {
            if (!json_is_array(e) || json_array_size(e) > INCIDENT_LIST_MAX)
                return snprintf(field, fl, "postmortem.follow_ups"), "must be a list of at most 100 items";
            size_t i;
            json_t *f;
            json_array_foreach(e, i, f) {
                json_t *t = json_object_get(f, "text"), *o = json_object_get(f, "owner"), *d = json_object_get(f, "done");
                if (!json_is_object(f) || !json_is_string(t) || bad_text_value(t, INCIDENT_FIELD_MAX, false) ||
                    (o && !json_is_null(o) && (!json_is_string(o) || bad_text_value(o, 64, false))) ||
                    (d && !json_is_boolean(d)) || json_object_size(f) > (size_t)(1 + !!o + !!d))
                    return snprintf(field, fl, "postmortem.follow_ups[%zu]", i),
                           "must be {text, owner, done} (text: one line; owner: a user; done: true or false)";
            }
        } else {
            return snprintf(field, fl, "postmortem.%.40s", k),
                   "is not a field of a postmortem (summary, root_cause, impact, lessons, follow_ups)";
        }
    }
    return NULL;
}

static json_t *now_json(int64_t ms)
{
    return json_integer((json_int_t)ms);
}

static void touch(json_t *doc, int64_t now)
{
    json_object_set_new(doc, "updated", now_json(now));
}

/* ---- state ---- */

/* The latest status update, and the list the status page shows (oldest first, the last
 * INCIDENT_UPDATES_MAX). */
static void push_update(json_t *doc, int64_t now, const char *text)
{
    json_object_set_new(doc, "last_update", json_string(text));
    json_t *ups = json_object_get(doc, "updates");
    if (!json_is_array(ups)) {
        ups = json_array();
        json_object_set_new(doc, "updates", ups);
    }
    json_array_append_new(ups, json_pack("{s:I, s:s, s:s}", "at", (json_int_t)now, "state",
                                         incident_state_name(incident_doc_state(doc)), "text", text));
    while (json_array_size(ups) > INCIDENT_UPDATES_MAX)
        json_array_remove(ups, 0);
}

void incident_doc_set_state(json_t *doc, enum incident_state s, const char *actor, int64_t now, const char *text,
                            json_t *changes)
{
    enum incident_state old = incident_doc_state(doc);
    if (old == s)
        return;
    json_object_set_new(doc, "state", json_string(incident_state_name(s)));
    if (s == INCIDENT_RESOLVED) {
        json_object_set_new(doc, "resolved_at", now_json(now));
    } else if (old == INCIDENT_RESOLVED) {
        json_object_set_new(doc, "resolved_at", json_integer(0));   /* reopened */
    }
    if (s == INCIDENT_MONITORING)
        json_object_set_new(doc, "monitoring_at", now_json(now));
    char line[300];
    snprintf(line, sizeof(line), "%s -> %s%s%s", incident_state_name(old), incident_state_name(s),
             text && *text ? ": " : "", text && *text ? text : "");
    incident_change(changes, "state", actor, line,
                    json_pack("{s:s, s:s}", "from", incident_state_name(old), "to", incident_state_name(s)));
    if (text && *text && strcmp(actor ? actor : "", "opshub") != 0)
        push_update(doc, now, text);   /* said by a person: a status update too */
    touch(doc, now);
}

int incident_doc_ack(json_t *doc, const char *actor, int64_t now, const char *how, json_t *changes)
{
    if (incident_doc_int(doc, "acked_at") > 0)
        return 1;
    json_object_set_new(doc, "acked_at", now_json(now));
    json_object_set_new(doc, "acked_by", json_string(actor ? actor : ""));
    char line[200];
    snprintf(line, sizeof(line), "acknowledged%s%s", how && *how ? " " : "", how && *how ? how : "");
    incident_change(changes, "ack", actor, line, how && *how ? json_pack("{s:s}", "via", how) : NULL);
    touch(doc, now);
    return 0;
}

void incident_doc_update(json_t *doc, const char *text, const enum incident_state *state, const char *actor,
                         int64_t now, json_t *changes)
{
    if (state)
        incident_doc_set_state(doc, *state, actor, now, NULL, changes);
    incident_change(changes, "update", actor, text,
                    json_pack("{s:s}", "state", incident_state_name(incident_doc_state(doc))));
    push_update(doc, now, text);
    touch(doc, now);
}

/* ---- new and patch ---- */

/* Checks every field input holds (policy and severity against the scheme). */
static int check_input(const struct conf_incidents *sch, const json_t *in, bool creating, struct incident_err *err)
{
    for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
        json_t *v = json_object_get(in, text_fields[i].name);
        const char *why = v ? bad_text(&text_fields[i], v) : NULL;
        if (!v && creating && text_fields[i].required_nonempty)
            why = "is required";
        if (why) {
            char msg[200];
            snprintf(msg, sizeof(msg), "%s %s", text_fields[i].name, why);
            fail(err, text_fields[i].name, msg);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof(list_fields) / sizeof(list_fields[0]); i++) {
        json_t *v = json_object_get(in, list_fields[i]);
        const char *why = v ? bad_list(v) : NULL;
        if (why) {
            char msg[200];
            snprintf(msg, sizeof(msg), "%s %s", list_fields[i], why);
            fail(err, list_fields[i], msg);
            return -1;
        }
    }
    json_t *sev = json_object_get(in, "severity");
    if ((creating && !sev) || (sev && (!json_is_string(sev) || !conf_severity_find(sch, json_string_value(sev))))) {
        char msg[256], names[160] = "";
        size_t k = 0;
        for (size_t i = 0; i < sch->n_levels && k < sizeof(names); i++)
            k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%s", i ? ", " : "", sch->levels[i].name);
        snprintf(msg, sizeof(msg), "severity must be one of %s", names);
        fail(err, "severity", msg);
        return -1;
    }
    json_t *st = json_object_get(in, "state");
    enum incident_state s;
    if (st && (!json_is_string(st) || incident_state_parse(json_string_value(st), &s) != 0)) {
        fail(err, "state", "state must be one of INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED");
        return -1;
    }
    json_t *pol = json_object_get(in, "policy");
    if (pol && !json_is_null(pol) && (!json_is_string(pol) || strlen(json_string_value(pol)) > 64)) {
        fail(err, "policy", "policy must be the id of an escalation policy");
        return -1;
    }
    json_t *text = json_object_get(in, "text");
    const char *why = text ? bad_text_value(text, INCIDENT_TEXT_MAX, true) : NULL;
    if (why) {
        char msg[200];
        snprintf(msg, sizeof(msg), "text %s", why);
        fail(err, "text", msg);
        return -1;
    }
    json_t *pm = json_object_get(in, "postmortem");
    char field[64];
    if (pm && (why = bad_postmortem(pm, field, sizeof(field))) != NULL) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s %s", field, why);
        fail(err, field, msg);
        return -1;
    }
    return 0;
}

json_t *incident_doc_new(const struct conf_incidents *sch, const json_t *in, const char *source, const char *actor,
                         int64_t now, json_t *changes, struct incident_err *err)
{
    if (check_input(sch, in, true, err) != 0)
        return NULL;
    const struct conf_severity *lv = conf_severity_find(sch, json_string_value(json_object_get(in, "severity")));
    json_t *doc = json_object();
    if (!doc) {
        fail(err, "", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
        json_t *v = json_object_get(in, text_fields[i].name);
        json_object_set_new(doc, text_fields[i].name, v && !json_is_null(v) ? json_copy(v) : json_string(""));
    }
    for (size_t i = 0; i < sizeof(list_fields) / sizeof(list_fields[0]); i++) {
        json_t *v = json_object_get(in, list_fields[i]);
        json_object_set_new(doc, list_fields[i], v && json_is_array(v) ? json_deep_copy(v) : json_array());
    }
    json_t *pol = json_object_get(in, "policy");
    json_object_set_new(doc, "policy", pol && json_is_string(pol) ? json_copy(pol)
                                       : lv->policy ? json_string(lv->policy) : json_null());
    json_object_set_new(doc, "severity", json_string(lv->name));
    json_object_set_new(doc, "state", json_string("INVESTIGATING"));
    json_object_set_new(doc, "source", json_string(source));
    json_object_set_new(doc, "group_key", json_string(""));
    json_object_set_new(doc, "alerts", json_array());
    json_object_set_new(doc, "created", now_json(now));
    json_object_set_new(doc, "updated", now_json(now));
    json_object_set_new(doc, "acked_at", json_integer(0));
    json_object_set_new(doc, "acked_by", json_string(""));
    json_object_set_new(doc, "monitoring_at", json_integer(0));
    json_object_set_new(doc, "resolved_at", json_integer(0));
    json_object_set_new(doc, "ack_deadline", json_integer(lv->ack_within_ms ? now + lv->ack_within_ms : 0));
    json_object_set_new(doc, "ack_missed", json_false());
    json_object_set_new(doc, "last_update", json_string(""));
    json_object_set_new(doc, "updates", json_array());
    json_object_set_new(doc, "postmortem", json_object());
    char line[INCIDENT_TITLE_MAX + 64];
    snprintf(line, sizeof(line), "opened (%s): %s", lv->name, incident_doc_str(doc, "title"));
    incident_change(changes, "opened", actor, line, json_pack("{s:s, s:s}", "severity", lv->name, "source", source));
    json_t *st = json_object_get(in, "state");
    enum incident_state s;
    if (st && incident_state_parse(json_string_value(st), &s) == 0)
        incident_doc_set_state(doc, s, actor, now, NULL, changes);
    json_t *text = json_object_get(in, "text");
    if (text && *json_string_value(text))
        incident_doc_update(doc, json_string_value(text), NULL, actor, now, changes);
    return doc;
}

int incident_doc_patch(json_t *doc, const struct conf_incidents *sch, const json_t *patch, const char *actor,
                       int64_t now, json_t *changes, struct incident_err *err)
{
    if (check_input(sch, patch, false, err) != 0)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (!strcmp(k, "state") || !strcmp(k, "text"))
            continue;
        json_t *old = json_object_get(doc, k);
        json_t *nv = json_is_null(v) ? (!strcmp(k, "policy") ? json_null()
                                        : json_is_array(old) ? json_array() : json_string(""))
                                     : json_deep_copy(v);
        if (old && json_equal(old, nv)) {
            json_decref(nv);
            continue;
        }
        char line[400];
        if (json_is_string(nv))
            snprintf(line, sizeof(line), "%s: %s", k, json_string_value(nv));
        else if (!strcmp(k, "postmortem"))
            snprintf(line, sizeof(line), "postmortem edited");
        else
            snprintf(line, sizeof(line), "%s changed", k);
        if (!strcmp(k, "severity")) {
            const struct conf_severity *lv = conf_severity_find(sch, json_string_value(nv));
            snprintf(line, sizeof(line), "severity %s -> %s", incident_doc_str(doc, "severity"), lv->name);
            /* a new deadline for an incident not yet acknowledged */
            if (incident_doc_int(doc, "acked_at") == 0)
                json_object_set_new(doc, "ack_deadline",
                                    json_integer(lv->ack_within_ms ? now + lv->ack_within_ms : 0));
        }
        incident_change(changes, !strcmp(k, "postmortem") ? "postmortem" : "field", actor, line,
                        json_pack("{s:s}", "field", k));
        json_object_set_new(doc, k, nv);
        touch(doc, now);
    }
    json_t *st = json_object_get(patch, "state");
    json_t *text = json_object_get(patch, "text");
    enum incident_state s;
    if (st && incident_state_parse(json_string_value(st), &s) == 0)
        incident_doc_set_state(doc, s, actor, now, text ? json_string_value(text) : NULL, changes);
    else if (text && *json_string_value(text))
        incident_doc_update(doc, json_string_value(text), NULL, actor, now, changes);
    return 0;
}

/* ---- rows, events, views ---- */

int incident_row(const char *id, int64_t number, const json_t *doc, struct store_incident *row, char **doc_text)
{
    memset(row, 0, sizeof(*row));
    snprintf(row->id, sizeof(row->id), "%s", id);
    row->number = number;
    row->state = incident_doc_str(doc, "state");
    row->severity = incident_doc_str(doc, "severity");
    row->group_key = incident_doc_str(doc, "group_key");
    row->created_ms = incident_doc_int(doc, "created");
    row->updated_ms = incident_doc_int(doc, "updated");
    row->acked_ms = incident_doc_int(doc, "acked_at");
    row->resolved_ms = incident_doc_int(doc, "resolved_at");
    *doc_text = json_dumps(doc, JSON_COMPACT);
    row->doc = *doc_text;
    return *doc_text ? 0 : -1;
}

struct store_incident_event *incident_events(const char *id, const json_t *changes, int64_t now, size_t *n,
                                             char ***texts)
{
    size_t k = json_array_size(changes);
    *n = 0;
    *texts = NULL;
    if (!k)
        return NULL;
    struct store_incident_event *ev = base_calloc(k, sizeof(*ev));
    char **t = base_calloc(k, sizeof(*t));
    if (!ev || !t) {
        base_free(ev);
        base_free(t);
        return NULL;
    }
    for (size_t i = 0; i < k; i++) {
        json_t *c = json_array_get(changes, i);
        snprintf(ev[i].incident_id, sizeof(ev[i].incident_id), "%s", id);
        ev[i].ts_ms = now;
        ev[i].kind = incident_doc_str(c, "kind");
        ev[i].actor = incident_doc_str(c, "actor");
        ev[i].text = incident_doc_str(c, "text");
        json_t *d = json_object_get(c, "data");
        t[i] = d ? json_dumps(d, JSON_COMPACT) : NULL;
        ev[i].data = t[i] ? t[i] : "{}";
    }
    *n = k;
    *texts = t;
    return ev;
}

void incident_events_free(struct store_incident_event *ev, size_t n, char **texts)
{
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    base_free(texts);
    base_free(ev);
}

static json_t *iso(int64_t ms)
{
    char buf[40];
    return ms > 0 ? json_string(base_time_format_iso8601(ms, buf, sizeof(buf))) : json_null();
}

json_t *incident_json(const char *id, int64_t number, const json_t *doc, const struct conf_incidents *sch)
{
    json_t *j = json_deep_copy(doc);
    if (!j)
        return NULL;
    static const char *const times[] = {"created", "updated", "acked_at", "monitoring_at", "resolved_at",
                                        "ack_deadline"};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        json_object_set_new(j, times[i], iso(incident_doc_int(doc, times[i])));
    const struct conf_severity *lv = conf_severity_find(sch, incident_doc_str(doc, "severity"));
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "number", number > 0 ? json_integer((json_int_t)number) : json_null());
    json_object_set_new(j, "severity_label", json_string(lv ? lv->label : incident_doc_str(doc, "severity")));
    json_object_set_new(j, "public", json_boolean(lv && lv->public));
    const char *acked_by = incident_doc_str(doc, "acked_by");
    json_object_set_new(j, "acked_by", *acked_by ? json_string(acked_by) : json_null());
    const char *commander = incident_doc_str(doc, "commander");
    json_object_set_new(j, "commander", *commander ? json_string(commander) : json_null());
    int64_t created = incident_doc_int(doc, "created"), acked = incident_doc_int(doc, "acked_at"),
            resolved = incident_doc_int(doc, "resolved_at");
    json_object_set_new(j, "tta_seconds", acked ? json_real((double)(acked - created) / 1000.0) : json_null());
    json_object_set_new(j, "ttr_seconds", resolved ? json_real((double)(resolved - created) / 1000.0) : json_null());
    return j;
}

void incident_new_id(char *out, size_t n, int64_t now, uint64_t rnd)
{
    snprintf(out, n, "i%012" PRIx64 "%08" PRIx64, (uint64_t)now & UINT64_C(0xffffffffffff), rnd & 0xffffffffu);
}
