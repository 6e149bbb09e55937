/*
 * incidents/incident: one incident as a JSON document and every change
 * to it, shared by the running incidents layer and the CLI. A change
 * validates its input against the severity scheme, edits the document,
 * and appends what happened to `changes` (timeline entries: kind, text,
 * data), which the caller writes with the incident in one transaction
 * (store/incidents). States: INVESTIGATING -> IDENTIFIED -> MONITORING ->
 * RESOLVED (any order by hand; RESOLVED sets resolved_at, a later state
 * reopens). Pure: no I/O, no clock (times are arguments).
 *
 * The document: title, severity, state, source (alert, manual), service,
 * impact, eta, commander, responders[], projects[], checks[],
 * components[], policy, channels[], group_key, alerts[] ({fingerprint,
 * labels, state, since, ended}), created, updated, acked_at, acked_by,
 * monitoring_at, resolved_at, ack_deadline (ms; 0: none), ack_missed,
 * last_update, updates[] ({at, state, text}: the status updates),
 * postmortem ({summary, root_cause, impact, follow_ups[{text, owner,
 * done}]}).
 */
#ifndef INCIDENTS_INCIDENT_H
#define INCIDENTS_INCIDENT_H

#include "conf/incidents.h"
#include "store/incidents.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INCIDENT_TITLE_MAX 200
#define INCIDENT_TEXT_MAX 10000
#define INCIDENT_FIELD_MAX 1000    /* impact, eta, service */
#define INCIDENT_LIST_MAX 100      /* responders, projects, checks, components, channels */
#define INCIDENT_ALERTS_MAX 1000
#define INCIDENT_UPDATES_MAX 50    /* status updates kept in the document (the timeline keeps all) */

enum incident_state { INCIDENT_INVESTIGATING, INCIDENT_IDENTIFIED, INCIDENT_MONITORING, INCIDENT_RESOLVED };

const char *incident_state_name(enum incident_state s);
/* 0, or -1 when s is no state. */
int incident_state_parse(const char *s, enum incident_state *out);
enum incident_state incident_doc_state(const json_t *doc);
int64_t incident_doc_int(const json_t *doc, const char *key);
const char *incident_doc_str(const json_t *doc, const char *key);

/* Why a change was refused: the input's field and a sentence. */
struct incident_err {
    char field[64];
    char message[256];
};

/* A new incident from input (title, severity, and optionally state,
 * service, impact, eta, commander, responders, projects, checks,
 * components, policy, channels, text: the first update): the document, or
 * NULL with err. The level's ack deadline is set from now. */
json_t *incident_doc_new(const struct conf_incidents *sch, const json_t *input, const char *source,
                         const char *actor, int64_t now, json_t *changes, struct incident_err *err);
/* Applies a PATCH (the fields of new, postmortem, and state): 0, or -1
 * with err (nothing changed then). A field set to its value is no change. */
int incident_doc_patch(json_t *doc, const struct conf_incidents *sch, const json_t *patch, const char *actor,
                       int64_t now, json_t *changes, struct incident_err *err);
/* Sets the state (with text on the timeline, may be NULL). */
void incident_doc_set_state(json_t *doc, enum incident_state s, const char *actor, int64_t now, const char *text,
                            json_t *changes);
/* Acknowledges: 0, or 1 when it already was (nothing changed). */
int incident_doc_ack(json_t *doc, const char *actor, int64_t now, const char *how, json_t *changes);
/* A status update (text, and a new state when state_or_null is set). */
void incident_doc_update(json_t *doc, const char *text, const enum incident_state *state_or_null, const char *actor,
                         int64_t now, json_t *changes);
/* Appends one timeline entry to changes (data may be NULL; it is taken over). */
void incident_change(json_t *changes, const char *kind, const char *actor, const char *text, json_t *data);

/* The store row of doc (strings borrowed from doc and *doc_text, which the
 * caller frees with free()). -1 when out of memory. */
int incident_row(const char *id, int64_t number, const json_t *doc, struct store_incident *row, char **doc_text);
/* The timeline entries of changes as store events (strings borrowed from
 * changes and *texts, freed by incident_events_free). */
struct store_incident_event *incident_events(const char *id, const json_t *changes, int64_t now, size_t *n,
                                             char ***texts);
void incident_events_free(struct store_incident_event *ev, size_t n, char **texts);
/* The API's view: the document with id, number (null before the first
 * write), severity_label and public from the scheme, times as ISO 8601. */
json_t *incident_json(const char *id, int64_t number, const json_t *doc, const struct conf_incidents *sch);
/* A new id: "i" + 12 hex digits of ms + 8 random hex digits. */
void incident_new_id(char *out, size_t n, int64_t now, uint64_t rnd);

#endif
