/*
 * store/alerts: alert transitions in the store (see alerts.h). Each
 * transition is one row of alert_transitions (the history) and updates
 * alerts_active, one row per alert that is pending or firing, keyed by a
 * fingerprint of its group and labels: what a restart reads back.
 */
#include "store/alerts.h"

#include "base/alloc.h"
#include "base/map.h"
#include "base/err.h"
#include "base/log.h"
#include "store/sql.h"
#include "store/store_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define RETRY_MS 2000

struct row {
    struct row *next;
    int64_t at_ms, active_at_ms;
    char fp[17];
    char value[32];
    const char *state, *previous;
    char *group, *alertname, *labels, *annotations; /* one allocation: group */
};

struct store_alerts {
    uv_loop_t *loop;
    struct store *st;
    struct event_bus *bus;
    uv_timer_t retry;
    struct row *head, *tail;   /* waiting */
    size_t queued;
    struct batch *inflight;    /* the batch the store is writing */
    bool closing;
    void (*close_cb)(void *);
    void *close_data;
    struct store_alerts_stats stats;
};

struct batch {
    struct store_alerts *a;    /* NULL: the last batch, written after close */
    struct row *rows;
    size_t n;
};

const char *store_alerts_state_name(enum event_alert_state s)
{
    switch (s) {
    case EVENT_ALERT_PENDING: return "pending";
    case EVENT_ALERT_FIRING: return "firing";
    case EVENT_ALERT_RESOLVED: return "resolved";
    default: return "inactive";
    }
}

static void rows_free(struct row *r)
{
    while (r) {
        struct row *next = r->next;
        base_free(r->group);
        base_free(r);
        r = next;
    }
}

static json_t *pairs_json(const struct event_alert_label *l, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, l[i].name, json_string(l[i].value));
    return o;
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

static struct row *row_new(const struct event_alert *ev)
{
    char *labels = dump(pairs_json(ev->labels, ev->n_labels));
    char *ann = dump(pairs_json(ev->annotations, ev->n_annotations));
    struct row *r = base_calloc(1, sizeof(*r));
    size_t lg = strlen(ev->group) + 1, ln = strlen(ev->rule) + 1;
    size_t ll = labels ? strlen(labels) + 1 : 0, la = ann ? strlen(ann) + 1 : 0;
    char *mem = r && labels && ann ? base_malloc(lg + ln + ll + la) : NULL;
    if (!mem) {
        base_free(labels); /* jansson allocates with base_malloc (body.h) */
        base_free(ann);
        base_free(r);
        return NULL;
    }
    r->group = memcpy(mem, ev->group, lg);
    r->alertname = memcpy(mem + lg, ev->rule, ln);
    r->labels = memcpy(mem + lg + ln, labels, ll);
    r->annotations = memcpy(mem + lg + ln + ll, ann, la);
    base_free(labels);
    base_free(ann);
    r->at_ms = ev->at_ms;
    r->active_at_ms = ev->active_at_ms;
    r->state = store_alerts_state_name(ev->state);
    r->previous = store_alerts_state_name(ev->previous);
    if (isnan(ev->value))
        snprintf(r->value, sizeof(r->value), "NaN");
    else if (isinf(ev->value))
        snprintf(r->value, sizeof(r->value), ev->value > 0 ? "+Inf" : "-Inf");
    else
        snprintf(r->value, sizeof(r->value), "%.17g", ev->value);
    snprintf(r->fp, sizeof(r->fp), "%016" PRIx64,
             base_hash_more(base_hash_more(BASE_HASH_SEED, r->group), r->labels));
    return r;
}

/* ---- writing ---- */

static int write_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct batch *b = data;
    int rc = store_sql_begin(c, errbuf, errlen);
    for (struct row *r = b->rows; rc == 0 && r; r = r->next) {
        struct store_param p[10] = {
            STORE_P_INT(r->at_ms), STORE_P_TEXT(r->group), STORE_P_TEXT(r->alertname), STORE_P_TEXT(r->fp),
            STORE_P_TEXT(r->labels), STORE_P_TEXT(r->annotations), STORE_P_TEXT(r->state),
            STORE_P_TEXT(r->previous), STORE_P_TEXT(r->value), STORE_P_INT(r->active_at_ms),
        };
        rc = store_sql_exec(c,
                            "INSERT INTO alert_transitions (ts, grp, alertname, fingerprint, labels, annotations,"
                            " state, previous, value, active_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            p, 10, NULL, errbuf, errlen);
        struct store_param k[1] = {STORE_P_TEXT(r->fp)};
        if (rc == 0)
            rc = store_sql_exec(c, "DELETE FROM alerts_active WHERE fingerprint = ?", k, 1, NULL, errbuf, errlen);
        if (rc == 0 && (strcmp(r->state, "pending") == 0 || strcmp(r->state, "firing") == 0)) {
            struct store_param q[10] = {
                STORE_P_TEXT(r->fp), STORE_P_INT(r->at_ms), STORE_P_TEXT(r->group), STORE_P_TEXT(r->alertname),
                STORE_P_TEXT(r->labels), STORE_P_TEXT(r->annotations), STORE_P_TEXT(r->state),
                STORE_P_TEXT(r->previous), STORE_P_TEXT(r->value), STORE_P_INT(r->active_at_ms),
            };
            rc = store_sql_exec(c,
                                "INSERT INTO alerts_active (fingerprint, ts, grp, alertname, labels, annotations,"
                                " state, previous, value, active_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                q, 10, NULL, errbuf, errlen);
        }
    }
    return store_sql_end(c, rc, errbuf, errlen);
}

static void flush(struct store_alerts *a);

static void on_retry(uv_timer_t *t)
{
    flush(t->data);
}

static void write_done(void *data, int status, const char *errmsg)
{
    struct batch *b = data;
    struct store_alerts *a = b->a;
    if (!a) { /* the last batch: nobody is left to retry it */
        if (status)
            base_log_warn("alert transitions lost at shutdown", BASE_LOG_INT("rows", b->n),
                          BASE_LOG_STR("error", errmsg ? errmsg : base_strerror(status)));
        rows_free(b->rows);
        base_free(b);
        return;
    }
    a->inflight = NULL;
    if (status == 0) {
        a->stats.written += b->n;
        rows_free(b->rows);
    } else if (status == BASE_ERR_INVALID) {
        /* a row the database refuses (not a lost connection): retrying cannot help */
        a->stats.write_errors++;
        a->stats.dropped += b->n;
        base_log_warn("alert transitions refused by the store", BASE_LOG_INT("rows", b->n),
                      BASE_LOG_STR("error", errmsg ? errmsg : base_strerror(status)));
        rows_free(b->rows);
        status = 0;
    } else {
        /* back to the front, in order; the next try comes later */
        a->stats.write_errors++;
        struct row *last = b->rows;
        while (last->next)
            last = last->next;
        last->next = a->head;
        if (!a->head)
            a->tail = last;
        a->head = b->rows;
        a->queued += b->n;
        base_log_warn("alert transitions not written yet", BASE_LOG_INT("rows", b->n),
                      BASE_LOG_STR("error", errmsg ? errmsg : base_strerror(status)));
    }
    base_free(b);
    if (a->closing)
        return;
    if (status == 0)
        flush(a);
    else
        uv_timer_start(&a->retry, on_retry, RETRY_MS, 0);
}

/* Takes up to `max` rows off the queue into a batch. */
static struct batch *take(struct store_alerts *a, size_t max)
{
    struct batch *b = base_calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->a = a;
    struct row **tail = &b->rows;
    while (a->head && b->n < max) {
        struct row *r = a->head;
        a->head = r->next;
        r->next = NULL;
        *tail = r;
        tail = &r->next;
        b->n++;
        a->queued--;
    }
    if (!a->head)
        a->tail = NULL;
    return b;
}

static void flush(struct store_alerts *a)
{
    if (a->inflight || !a->head || a->closing || uv_is_active((uv_handle_t *)&a->retry))
        return;
    struct batch *b = take(a, STORE_ALERTS_BATCH_MAX);
    if (!b)
        return;
    if (store_call(a->st, write_work, write_done, b) != 0) {
        /* the store refused the call (closing, OOM): put it back, try later */
        struct row *last = b->rows;
        while (last && last->next)
            last = last->next;
        if (last) {
            last->next = a->head;
            if (!a->head)
                a->tail = last;
            a->head = b->rows;
            a->queued += b->n;
        }
        base_free(b);
        uv_timer_start(&a->retry, on_retry, RETRY_MS, 0);
        return;
    }
    a->inflight = b;
}

static void on_event(void *data, const struct event *ev)
{
    struct store_alerts *a = data;
    struct row *r = row_new(&ev->u.alert);
    if (!r) {
        a->stats.dropped++;
        return;
    }
    if (a->queued >= STORE_ALERTS_PENDING_MAX) {
        struct row *old = a->head;
        a->head = old->next;
        if (!a->head)
            a->tail = NULL;
        old->next = NULL;
        rows_free(old);
        a->queued--;
        if (a->stats.dropped++ == 0)
            base_log_warn("alert transitions dropped: the store is away and the queue is full",
                          BASE_LOG_INT("max", STORE_ALERTS_PENDING_MAX));
    }
    if (a->tail)
        a->tail->next = r;
    else
        a->head = r;
    a->tail = r;
    a->queued++;
    flush(a);
}

static void on_closed(uv_handle_t *h)
{
    struct store_alerts *a = h->data;
    if (a->close_cb)
        a->close_cb(a->close_data);
    base_free(a);
}

struct store_alerts *store_alerts_new(uv_loop_t *loop, struct store *st, struct event_bus *bus)
{
    struct store_alerts *a = base_calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->loop = loop;
    a->st = st;
    a->bus = bus;
    uv_timer_init(loop, &a->retry);
    a->retry.data = a;
    if (event_subscribe(bus, "alert-store", EVENT_MASK(EVENT_ALERT), on_event, a) != 0) {
        uv_close((uv_handle_t *)&a->retry, on_closed);
        return NULL;
    }
    return a;
}

void store_alerts_close(struct store_alerts *a, struct event_bus *bus, void (*cb)(void *data), void *data)
{
    if (!a)
        return;
    event_unsubscribe(bus, on_event, a);
    a->closing = true;
    a->close_cb = cb;
    a->close_data = data;
    uv_timer_stop(&a->retry);
    if (a->head) {
        struct batch *b = take(a, STORE_ALERTS_PENDING_MAX);
        if (b) {
            b->a = NULL;
            if (store_call(a->st, write_work, write_done, b) != 0) {
                base_log_warn("alert transitions lost at shutdown", BASE_LOG_INT("rows", b->n));
                rows_free(b->rows);
                base_free(b);
            }
        }
    }
    rows_free(a->head);
    a->head = a->tail = NULL;
    /* a batch in flight finishes after this object is gone: detach it */
    if (a->inflight)
        a->inflight->a = NULL;
    uv_close((uv_handle_t *)&a->retry, on_closed);
}

void store_alerts_stats_get(const struct store_alerts *a, struct store_alerts_stats *out)
{
    *out = a->stats;
    out->queued = a->queued;
}

/* ---- reading ---- */

struct read_job {
    int64_t from_ms, to_ms;
    int limit;
    bool active;
    struct store_result res;
    bool have;
    store_alert_rows_cb cb;
    void *data;
};

#define ROW_COLUMNS "ts, grp, alertname, labels, annotations, state, previous, value, active_at"

static int read_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct read_job *j = data;
    int rc;
    if (j->active) {
        struct store_param p[1] = {STORE_P_INT(STORE_ALERTS_RESTORE_MAX)};
        rc = store_sql_exec(c, "SELECT " ROW_COLUMNS " FROM alerts_active ORDER BY ts LIMIT ?", p, 1, &j->res,
                            errbuf, errlen);
    } else {
        struct store_param p[3] = {STORE_P_INT(j->from_ms), STORE_P_INT(j->to_ms ? j->to_ms : INT64_MAX),
                                   STORE_P_INT(j->limit)};
        rc = store_sql_exec(c,
                            "SELECT " ROW_COLUMNS " FROM alert_transitions WHERE ts >= ? AND ts <= ?"
                            " ORDER BY ts DESC, id DESC LIMIT ?",
                            p, 3, &j->res, errbuf, errlen);
    }
    j->have = rc == 0;
    return rc;
}

static const char *text(const struct store_result *r, size_t row, size_t col)
{
    const char *s = store_result_text(r, row, col);
    return s ? s : "";
}

static void read_done(void *data, int status, const char *errmsg)
{
    struct read_job *j = data;
    (void)errmsg;
    size_t n = status == 0 && j->have ? j->res.rows : 0;
    struct store_alert_row *rows = n ? base_calloc(n, sizeof(*rows)) : NULL;
    if (n && !rows) {
        status = BASE_ERR_NOMEM;
        n = 0;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = (struct store_alert_row){
            .at_ms = store_result_int(&j->res, i, 0), .group = text(&j->res, i, 1),
            .alertname = text(&j->res, i, 2), .labels = text(&j->res, i, 3), .annotations = text(&j->res, i, 4),
            .state = text(&j->res, i, 5), .previous = text(&j->res, i, 6), .value = text(&j->res, i, 7),
            .active_at_ms = store_result_int(&j->res, i, 8),
        };
    j->cb(j->data, status, rows, n);
    base_free(rows);
    if (j->have)
        store_result_free(&j->res);
    base_free(j);
}

static int read_submit(struct store *st, struct read_job *j)
{
    int rc = store_call(st, read_work, read_done, j);
    if (rc != 0)
        base_free(j);
    return rc;
}

int store_alerts_history(struct store *st, int64_t from_ms, int64_t to_ms, int limit, store_alert_rows_cb cb,
                         void *data)
{
    if (!cb)
        return BASE_ERR_INVALID;
    struct read_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->from_ms = from_ms;
    j->to_ms = to_ms;
    j->limit = limit < 1 ? 1 : limit > STORE_ALERTS_QUERY_MAX ? STORE_ALERTS_QUERY_MAX : limit;
    j->cb = cb;
    j->data = data;
    return read_submit(st, j);
}

int store_alerts_active(struct store *st, store_alert_rows_cb cb, void *data)
{
    if (!cb)
        return BASE_ERR_INVALID;
    struct read_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->active = true;
    j->cb = cb;
    j->data = data;
    return read_submit(st, j);
}

/* ---- retention (store thread) ---- */

int store_alerts_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted, char *err,
                       size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(before_ms), STORE_P_INT(max_rows)};
    struct store_result r = {0};
    int rc = store_sql_exec(c,
                            "DELETE FROM alert_transitions WHERE id IN"
                            " (SELECT id FROM alert_transitions WHERE ts < ? ORDER BY ts LIMIT ?)",
                            p, 2, &r, err, errlen);
    *deleted = rc == 0 && r.changes > 0 ? (uint64_t)r.changes : 0;
    store_result_free(&r);
    return rc;
}
