/*
 * incidents/incidents: the running incidents layer (docs/incidents.md).
 * It keeps the open incidents in memory (the store is the record: every
 * change is written with its timeline entries before the caller is
 * answered), opens incidents from firing alerts by the configuration's
 * rules (one incident per rule and group_by values: later alerts of the
 * same group join it), moves an incident whose alerts all resolved to
 * MONITORING and, after the quiet period without a firing alert, to
 * RESOLVED; records a missed acknowledgement deadline; and polls
 * meta.incidents_gen every second, so the CLI's changes (written on its
 * own connection) are taken in. Loop thread only.
 */
#ifndef INCIDENTS_INCIDENTS_H
#define INCIDENTS_INCIDENTS_H

#include "base/buf.h"
#include "base/err.h"
#include "conf/conf.h"
#include "incidents/incident.h"
#include "model/event.h"
#include "store/store.h"

#include <jansson.h>
#include <uv.h>

#define INCIDENTS_OPEN_MAX 10000
#define INCIDENTS_TICK_MS 1000

struct incidents;

struct incidents *incidents_new(uv_loop_t *loop, struct store *st, struct event_bus *bus);
/* Takes c's scheme and rules (c is borrowed until the next apply):
 * 0, or BASE_ERR_NOMEM / BASE_ERR_INVALID (the previous ones stay). */
int incidents_apply(struct incidents *x, const struct conf *c);
/* Reads the open incidents back, subscribes to alerts, starts the timer. */
void incidents_start(struct incidents *x);
void incidents_close(struct incidents *x, void (*cb)(void *data), void *data);
const struct conf_incidents *incidents_scheme(const struct incidents *x);

/* Checks the templates of c's incidents section (rule titles, the
 * communication template) at their FILE:LINE:COL. 0, or -1 with errors. */
int incidents_validate(const struct conf *c, struct base_errors *errs);

/* The answer of a change: status 0 with the incident's API view
 * (borrowed for the call), BASE_ERR_INVALID with err (a 400 naming a
 * field), BASE_ERR_NOT_FOUND, BASE_ERR_EXISTS (already so: ack), or a
 * store error. */
typedef void (*incidents_cb)(void *data, int status, const struct incident_err *err, json_t *incident);

/* The changes, by id ("i...") or number ("42"). actor is recorded. */
int incidents_open(struct incidents *x, const json_t *input, const char *actor, incidents_cb cb, void *data);
int incidents_patch(struct incidents *x, const char *ref, const json_t *patch, const char *actor, incidents_cb cb,
                    void *data);
int incidents_ack(struct incidents *x, const char *ref, const char *actor, const char *how, incidents_cb cb,
                  void *data);
int incidents_resolve(struct incidents *x, const char *ref, const char *text, const char *actor, incidents_cb cb,
                      void *data);
/* A status update: text, and a new state when state is not NULL. */
int incidents_post_update(struct incidents *x, const char *ref, const char *text, const char *state,
                          const char *actor, incidents_cb cb, void *data);

/* The communication template rendered for an incident (its latest update,
 * or `update` when not NULL) into out. */
void incidents_message(const struct incidents *x, const json_t *doc, const char *update, char *out, size_t n);

/* Paging through escalation policies (docs/incidents.md): pages go out
 * through n (channels, and users' contact methods through
 * incidents.contact_channels), rotations are answered by oc, signed
 * acknowledgement links are made with a's signing key under base_url.
 * Any may be NULL (no pages then). */
struct notify;
struct oncall;
struct auth;
void incidents_set_paging(struct incidents *x, struct notify *n, struct oncall *oc, struct auth *a,
                          const char *base_url);
/* Checks a signed acknowledgement link (/ack/TOKEN?u=WHO): 0 with the
 * incident's id in id, BASE_ERR_INVALID (not signed by this server),
 * BASE_ERR_TIMEOUT (expired). */
int incidents_ack_link_check(const struct incidents *x, const char *token, const char *who, int64_t now, char *id,
                             size_t id_len);

/* What the status page shows: the incidents of public levels, open ones
 * and those resolved since since_ms (of project's, when not NULL): [{id,
 * number, title, severity (the label), state, started, resolved,
 * projects, checks, components, updates: [{at, state, text}] newest first,
 * started_ms, resolved_ms}]. A new reference. */
json_t *incidents_json_public(const struct incidents *x, const char *project, int64_t since_ms);

/* Prometheus text: opshub_incidents_open{severity}, and the histograms
 * opshub_incident_tta_seconds / _ttr_seconds{severity} of incidents
 * acknowledged / resolved since the start. */
void incidents_metrics(const struct incidents *x, struct base_buf *out);

#endif
