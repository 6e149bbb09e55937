/*
 * store/incidents: incidents and their timelines (migration 11). An
 * incident row has the columns that are filtered on (state, severity,
 * group key, times) and the rest of the incident as a JSON document; its
 * number (#1, #2...) comes from meta.incident_seq in the transaction that
 * first writes it. Timeline entries are appended, never changed. Every
 * write bumps meta.incidents_gen, which the daemon polls, so the CLI's
 * writes (on its own connection) reach the running incidents layer.
 * Synchronous functions take a connection (the CLI, the store thread);
 * the loop-side ones copy their input and answer on the loop.
 */
#ifndef STORE_INCIDENTS_H
#define STORE_INCIDENTS_H

#include "store/sql.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_INCIDENT_ID_MAX 40
#define STORE_INCIDENTS_MAX 10000          /* rows one read returns at most */
#define STORE_INCIDENT_EVENTS_MAX 10000

struct store_incident {
    char id[STORE_INCIDENT_ID_MAX];
    int64_t number;                        /* 0 before the first write: assigned then */
    const char *state, *severity, *group_key;
    int64_t created_ms, updated_ms, acked_ms, resolved_ms;
    const char *doc;                       /* JSON object text */
    /* put: > 0: write only when the stored row's updated is this (the version the change was
     * made on); another writer's change in between makes the put BASE_ERR_EXISTS */
    int64_t expect_updated_ms;
};

struct store_incident_event {
    int64_t id;                            /* read back; ignored on append */
    char incident_id[STORE_INCIDENT_ID_MAX];
    int64_t ts_ms;
    const char *actor, *kind, *text, *data; /* data: JSON object text */
};

/* Writes (inserts or updates by id) the incident and appends its new
 * timeline entries, bumping incidents_gen, in one transaction. A new
 * incident (number 0) gets the next number, set in *number_out. With
 * expect_updated_ms, BASE_ERR_EXISTS (nothing written) when the stored row
 * changed meanwhile (the daemon and the CLI write the same incidents). */
int store_incidents_put(struct store_conn *c, const struct store_incident *in, const struct store_incident_event *ev,
                        size_t n_ev, int64_t *number_out, char *err, size_t errlen);
/* What a select returns: by id or number (when set), else the open ones
 * (state not RESOLVED) when open_only, else those created from..to, newest
 * first, at most limit. */
struct store_incident_filter {
    const char *id;
    int64_t number;
    bool open_only;
    int64_t from_ms, to_ms;                /* 0: unbounded */
    int limit;
};
int store_incidents_select(struct store_conn *c, const struct store_incident_filter *f, struct store_result *out,
                           char *err, size_t errlen);
void store_incidents_row(const struct store_result *r, size_t row, struct store_incident *out);
/* The timeline of one incident, oldest first, at most limit. */
int store_incidents_events(struct store_conn *c, const char *incident_id, int limit, struct store_result *out,
                           char *err, size_t errlen);
void store_incidents_event_row(const struct store_result *r, size_t row, struct store_incident_event *out);
int store_incidents_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen);

/* Loop side: the inputs are copied. */
typedef void (*store_incidents_put_cb)(void *data, int status, const char *errmsg, int64_t number);
typedef void (*store_incidents_rows_cb)(void *data, int status, const struct store_incident *rows, size_t n);
typedef void (*store_incidents_events_cb)(void *data, int status, const struct store_incident_event *rows, size_t n);
int store_incidents_save(struct store *st, const struct store_incident *in, const struct store_incident_event *ev,
                         size_t n_ev, store_incidents_put_cb cb, void *data);
int store_incidents_load(struct store *st, const struct store_incident_filter *f, store_incidents_rows_cb cb,
                         void *data);
int store_incidents_load_events(struct store *st, const char *incident_id, int limit, store_incidents_events_cb cb,
                                void *data);
int store_incidents_read_gen(struct store *st, void (*cb)(void *data, int status, int64_t gen), void *data);

#endif
