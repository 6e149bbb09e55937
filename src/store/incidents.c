/*
 * store/incidents: incidents and their timelines (see incidents.h).
 */
#include "store/incidents.h"

#include "base/alloc.h"
#include "base/err.h"
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#define COLUMNS "id, number, state, severity, group_key, created, updated, acked_at, resolved_at, doc"
#define EV_COLUMNS "id, incident_id, ts, actor, kind, text, data"

int store_incidents_put(struct store_conn *c, const struct store_incident *in, const struct store_incident_event *ev,
                        size_t n_ev, int64_t *number_out, char *err, size_t errlen)
{
    int64_t number = in->number;
    int rc = store_sql_begin(c, err, errlen);
    if (rc == 0 && number <= 0) {
        /* written before (a second write queued before the first one's answer came back): its number */
        struct store_param q[1] = {STORE_P_TEXT(in->id)};
        struct store_result r = {0};
        rc = store_sql_exec(c, "SELECT number FROM incidents WHERE id = ?", q, 1, &r, err, errlen);
        if (rc == 0 && r.rows)
            number = store_result_int(&r, 0, 0);
        store_result_free(&r);
    }
    if (rc == 0 && number <= 0) {
        /* the counter's row is locked by the update until the commit (PostgreSQL); SQLite has one writer */
        struct store_result r = {0};
        rc = store_sql_exec(c, "UPDATE meta SET value = value + 1 WHERE key = 'incident_seq' RETURNING value", NULL,
                            0, &r, err, errlen);
        number = rc == 0 && r.rows ? store_result_int(&r, 0, 0) : 0;
        store_result_free(&r);
        if (rc == 0 && number <= 0) {
            snprintf(err, errlen, "meta.incident_seq is missing");
            rc = BASE_ERR_INVALID;
        }
    }
    struct store_param p[10] = {
        STORE_P_TEXT(in->id), STORE_P_INT(number), STORE_P_TEXT(in->state), STORE_P_TEXT(in->severity),
        STORE_P_TEXT(in->group_key ? in->group_key : ""), STORE_P_INT(in->created_ms), STORE_P_INT(in->updated_ms),
        STORE_P_INT(in->acked_ms), STORE_P_INT(in->resolved_ms), STORE_P_TEXT(in->doc ? in->doc : "{}"),
    };
#define UPSERT "INSERT INTO incidents (" COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" \
               " ON CONFLICT (id) DO UPDATE SET state = excluded.state, severity = excluded.severity," \
               " group_key = excluded.group_key, updated = excluded.updated," \
               " acked_at = excluded.acked_at, resolved_at = excluded.resolved_at, doc = excluded.doc"
    if (rc == 0 && in->expect_updated_ms > 0) {
        /* only over the version the change was made on */
        struct store_param q[11];
        memcpy(q, p, sizeof(p));
        q[10] = STORE_P_INT(in->expect_updated_ms);
        struct store_result r = {0};
        rc = store_sql_exec(c, UPSERT " WHERE incidents.updated = ?", q, 11, &r, err, errlen);
        if (rc == 0 && r.changes == 0) {
            snprintf(err, errlen, "the incident changed meanwhile");
            rc = BASE_ERR_EXISTS;
        }
        store_result_free(&r);
    } else if (rc == 0) {
        rc = store_sql_exec(c, UPSERT, p, 10, NULL, err, errlen);
    }
#undef UPSERT
    for (size_t i = 0; rc == 0 && i < n_ev; i++) {
        struct store_param e[6] = {
            STORE_P_TEXT(ev[i].incident_id[0] ? ev[i].incident_id : in->id), STORE_P_INT(ev[i].ts_ms),
            STORE_P_TEXT(ev[i].actor ? ev[i].actor : ""), STORE_P_TEXT(ev[i].kind),
            STORE_P_TEXT(ev[i].text ? ev[i].text : ""), STORE_P_TEXT(ev[i].data ? ev[i].data : "{}"),
        };
        rc = store_sql_exec(c, "INSERT INTO incident_events (incident_id, ts, actor, kind, text, data)"
                               " VALUES (?, ?, ?, ?, ?, ?)", e, 6, NULL, err, errlen);
    }
    if (rc == 0)
        rc = store_sql_exec(c, "UPDATE meta SET value = value + 1 WHERE key = 'incidents_gen'", NULL, 0, NULL, err,
                            errlen);
    rc = store_sql_end(c, rc, err, errlen);
    if (number_out)
        *number_out = rc == 0 ? number : 0;
    return rc;
}

int store_incidents_select(struct store_conn *c, const struct store_incident_filter *f, struct store_result *out,
                           char *err, size_t errlen)
{
    int limit = f->limit < 1 ? 1 : f->limit > STORE_INCIDENTS_MAX ? STORE_INCIDENTS_MAX : f->limit;
    if (f->id) {
        struct store_param p[1] = {STORE_P_TEXT(f->id)};
        return store_sql_exec(c, "SELECT " COLUMNS " FROM incidents WHERE id = ?", p, 1, out, err, errlen);
    }
    if (f->number > 0) {
        struct store_param p[1] = {STORE_P_INT(f->number)};
        return store_sql_exec(c, "SELECT " COLUMNS " FROM incidents WHERE number = ?", p, 1, out, err, errlen);
    }
    if (f->open_only) {
        struct store_param p[1] = {STORE_P_INT(limit)};
        return store_sql_exec(c, "SELECT " COLUMNS " FROM incidents WHERE state <> 'RESOLVED' ORDER BY number DESC"
                                 " LIMIT ?", p, 1, out, err, errlen);
    }
    struct store_param p[3] = {STORE_P_INT(f->from_ms ? f->from_ms : INT64_MIN),
                               STORE_P_INT(f->to_ms ? f->to_ms : INT64_MAX), STORE_P_INT(limit)};
    return store_sql_exec(c, "SELECT " COLUMNS " FROM incidents WHERE created >= ? AND created < ?"
                             " ORDER BY number DESC LIMIT ?", p, 3, out, err, errlen);
}

static const char *text(const struct store_result *r, size_t row, size_t col)
{
    const char *s = store_result_text(r, row, col);
    return s ? s : "";
}

void store_incidents_row(const struct store_result *r, size_t row, struct store_incident *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s", text(r, row, 0));
    o->number = store_result_int(r, row, 1);
    o->state = text(r, row, 2);
    o->severity = text(r, row, 3);
    o->group_key = text(r, row, 4);
    o->created_ms = store_result_int(r, row, 5);
    o->updated_ms = store_result_int(r, row, 6);
    o->acked_ms = store_result_int(r, row, 7);
    o->resolved_ms = store_result_int(r, row, 8);
    o->doc = text(r, row, 9);
}

int store_incidents_events(struct store_conn *c, const char *incident_id, int limit, struct store_result *out,
                           char *err, size_t errlen)
{
    struct store_param p[2] = {STORE_P_TEXT(incident_id),
                               STORE_P_INT(limit < 1 ? 1 : limit > STORE_INCIDENT_EVENTS_MAX ? STORE_INCIDENT_EVENTS_MAX
                                                                                              : limit)};
    return store_sql_exec(c, "SELECT " EV_COLUMNS " FROM incident_events WHERE incident_id = ? ORDER BY id LIMIT ?", p,
                          2, out, err, errlen);
}

void store_incidents_event_row(const struct store_result *r, size_t row, struct store_incident_event *o)
{
    memset(o, 0, sizeof(*o));
    o->id = store_result_int(r, row, 0);
    snprintf(o->incident_id, sizeof(o->incident_id), "%s", text(r, row, 1));
    o->ts_ms = store_result_int(r, row, 2);
    o->actor = text(r, row, 3);
    o->kind = text(r, row, 4);
    o->text = text(r, row, 5);
    o->data = text(r, row, 6);
}

int store_incidents_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT value FROM meta WHERE key = 'incidents_gen'", NULL, 0, &r, err, errlen);
    *gen = rc == 0 && r.rows ? store_result_int(&r, 0, 0) : 0;
    store_result_free(&r);
    return rc;
}

/* ---- loop side ---- */

struct job {
    enum { J_SAVE, J_LOAD, J_EVENTS, J_GEN } kind;
    struct store_incident in;
    struct store_incident_event *ev;
    size_t n_ev;
    char *strs;                    /* every copied string, one block */
    struct store_incident_filter f;
    char id[STORE_INCIDENT_ID_MAX];
    int limit;
    struct store_result res;
    bool have;
    int64_t gen, number;
    char err[256];
    store_incidents_put_cb put_cb;
    store_incidents_rows_cb rows_cb;
    store_incidents_events_cb events_cb;
    void (*gen_cb)(void *, int, int64_t);
    void *data;
};

static void job_free(struct job *j)
{
    if (j->have)
        store_result_free(&j->res);
    base_free(j->ev);
    base_free(j->strs);
    base_free(j);
}

static int work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct job *j = data;
    int rc;
    switch (j->kind) {
    case J_SAVE:
        return store_incidents_put(c, &j->in, j->ev, j->n_ev, &j->number, err, errlen);
    case J_GEN:
        return store_incidents_gen(c, &j->gen, err, errlen);
    case J_LOAD:
        rc = store_incidents_select(c, &j->f, &j->res, err, errlen);
        break;
    default:
        rc = store_incidents_events(c, j->id, j->limit, &j->res, err, errlen);
        break;
    }
    j->have = rc == 0;
    return rc;
}

static void done(void *data, int status, const char *errmsg)
{
    struct job *j = data;
    size_t n = status == 0 && j->have ? j->res.rows : 0;
    if (j->kind == J_SAVE) {
        j->put_cb(j->data, status, errmsg, j->number);
    } else if (j->kind == J_GEN) {
        j->gen_cb(j->data, status, j->gen);
    } else if (j->kind == J_LOAD) {
        struct store_incident *rows = n ? base_calloc(n, sizeof(*rows)) : NULL;
        if (n && !rows) {
            status = BASE_ERR_NOMEM;
            n = 0;
        }
        for (size_t i = 0; i < n; i++)
            store_incidents_row(&j->res, i, &rows[i]);
        j->rows_cb(j->data, status, rows, n);
        base_free(rows);
    } else {
        struct store_incident_event *rows = n ? base_calloc(n, sizeof(*rows)) : NULL;
        if (n && !rows) {
            status = BASE_ERR_NOMEM;
            n = 0;
        }
        for (size_t i = 0; i < n; i++)
            store_incidents_event_row(&j->res, i, &rows[i]);
        j->events_cb(j->data, status, rows, n);
        base_free(rows);
    }
    job_free(j);
}

static int submit(struct store *st, struct job *j)
{
    int rc = store_call(st, work, done, j);
    if (rc != 0)
        job_free(j);
    return rc;
}

/* Copies s into the block at *p (NULL stays NULL). */
static const char *keep(char **p, const char *s)
{
    if (!s)
        return NULL;
    size_t l = strlen(s) + 1;
    char *d = memcpy(*p, s, l);
    *p += l;
    return d;
}

static size_t len0(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

int store_incidents_save(struct store *st, const struct store_incident *in, const struct store_incident_event *ev,
                         size_t n_ev, store_incidents_put_cb cb, void *data)
{
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_SAVE;
    j->put_cb = cb;
    j->data = data;
    size_t bytes = len0(in->state) + len0(in->severity) + len0(in->group_key) + len0(in->doc);
    for (size_t i = 0; i < n_ev; i++)
        bytes += len0(ev[i].actor) + len0(ev[i].kind) + len0(ev[i].text) + len0(ev[i].data);
    j->strs = base_malloc(bytes ? bytes : 1);
    j->ev = n_ev ? base_calloc(n_ev, sizeof(*j->ev)) : NULL;
    if (!j->strs || (n_ev && !j->ev)) {
        job_free(j);
        return BASE_ERR_NOMEM;
    }
    char *p = j->strs;
    j->in = *in;
    j->in.state = keep(&p, in->state);
    j->in.severity = keep(&p, in->severity);
    j->in.group_key = keep(&p, in->group_key);
    j->in.doc = keep(&p, in->doc);
    for (size_t i = 0; i < n_ev; i++) {
        j->ev[i] = ev[i];
        j->ev[i].actor = keep(&p, ev[i].actor);
        j->ev[i].kind = keep(&p, ev[i].kind);
        j->ev[i].text = keep(&p, ev[i].text);
        j->ev[i].data = keep(&p, ev[i].data);
    }
    j->n_ev = n_ev;
    return submit(st, j);
}

int store_incidents_load(struct store *st, const struct store_incident_filter *f, store_incidents_rows_cb cb,
                         void *data)
{
    if (f->id && strlen(f->id) >= STORE_INCIDENT_ID_MAX)
        return BASE_ERR_INVALID;
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_LOAD;
    j->f = *f;
    if (f->id) {
        snprintf(j->id, sizeof(j->id), "%s", f->id);
        j->f.id = j->id;
    }
    j->rows_cb = cb;
    j->data = data;
    return submit(st, j);
}

int store_incidents_load_events(struct store *st, const char *incident_id, int limit, store_incidents_events_cb cb,
                                void *data)
{
    if (!incident_id || strlen(incident_id) >= STORE_INCIDENT_ID_MAX)
        return BASE_ERR_INVALID;
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_EVENTS;
    snprintf(j->id, sizeof(j->id), "%s", incident_id);
    j->limit = limit;
    j->events_cb = cb;
    j->data = data;
    return submit(st, j);
}

int store_incidents_read_gen(struct store *st, void (*cb)(void *data, int status, int64_t gen), void *data)
{
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_GEN;
    j->gen_cb = cb;
    j->data = data;
    return submit(st, j);
}
