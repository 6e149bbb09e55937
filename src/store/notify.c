/*
 * store/notify: the notifications table (see notify.h).
 */
#include "store/notify.h"

#include "base/alloc.h"
#include "base/err.h"
#include "store/sql.h"
#include "store/store_int.h"

#include <string.h>

#define COLUMNS "id, created, updated, channel, kind, group_key, dedup_key, status, attempts, next_at," \
                " last_error, sent_at, alert_at, summary"

struct write_job {
    struct store_notification *rows;
    size_t n;
    store_notify_done_cb cb;
    void *data;
};

static char *dup_or_empty(const char *s)
{
    return base_strdup(s ? s : "");
}

static void rows_free(struct store_notification *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        base_free((char *)r[i].channel);
        base_free((char *)r[i].kind);
        base_free((char *)r[i].group_key);
        base_free((char *)r[i].dedup_key);
        base_free((char *)r[i].status);
        base_free((char *)r[i].last_error);
        base_free((char *)r[i].summary);
        base_free((char *)r[i].payload);
    }
    base_free(r);
}

static int write_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct write_job *j = data;
    int rc = store_sql_begin(c, errbuf, errlen);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        const struct store_notification *r = &j->rows[i];
        if (r->insert) {
            struct store_param p[15] = {
                STORE_P_TEXT(r->id), STORE_P_INT(r->created_ms), STORE_P_INT(r->updated_ms),
                STORE_P_TEXT(r->channel), STORE_P_TEXT(r->kind), STORE_P_TEXT(r->group_key),
                STORE_P_TEXT(r->dedup_key), STORE_P_TEXT(r->status), STORE_P_INT(r->attempts),
                STORE_P_INT(r->next_at_ms), STORE_P_TEXT(r->last_error), STORE_P_INT(r->sent_at_ms),
                STORE_P_INT(r->alert_at_ms), STORE_P_TEXT(r->summary), STORE_P_TEXT(r->payload),
            };
            rc = store_sql_exec(c,
                                "INSERT INTO notifications (" COLUMNS ", payload) VALUES"
                                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                                " ON CONFLICT (id) DO UPDATE SET updated = excluded.updated, status = excluded.status,"
                                " attempts = excluded.attempts, next_at = excluded.next_at,"
                                " last_error = excluded.last_error, sent_at = excluded.sent_at",
                                p, 15, NULL, errbuf, errlen);
        } else {
            struct store_param p[7] = {
                STORE_P_INT(r->updated_ms), STORE_P_TEXT(r->status), STORE_P_INT(r->attempts),
                STORE_P_INT(r->next_at_ms), STORE_P_TEXT(r->last_error), STORE_P_INT(r->sent_at_ms),
                STORE_P_TEXT(r->id),
            };
            rc = store_sql_exec(c,
                                "UPDATE notifications SET updated = ?, status = ?, attempts = ?, next_at = ?,"
                                " last_error = ?, sent_at = ? WHERE id = ?",
                                p, 7, NULL, errbuf, errlen);
        }
    }
    return store_sql_end(c, rc, errbuf, errlen);
}

static void write_done(void *data, int status, const char *errmsg)
{
    struct write_job *j = data;
    if (j->cb)
        j->cb(j->data, status, errmsg);
    rows_free(j->rows, j->n);
    base_free(j);
}

int store_notify_write(struct store *st, const struct store_notification *rows, size_t n, store_notify_done_cb cb,
                       void *data)
{
    struct write_job *j = base_calloc(1, sizeof(*j));
    struct store_notification *copy = n ? base_calloc(n, sizeof(*copy)) : NULL;
    if (!j || (n && !copy)) {
        base_free(j);
        base_free(copy);
        return BASE_ERR_NOMEM;
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        copy[i] = rows[i];
        copy[i].channel = dup_or_empty(rows[i].channel);
        copy[i].kind = dup_or_empty(rows[i].kind);
        copy[i].group_key = dup_or_empty(rows[i].group_key);
        copy[i].dedup_key = dup_or_empty(rows[i].dedup_key);
        copy[i].status = dup_or_empty(rows[i].status);
        copy[i].last_error = dup_or_empty(rows[i].last_error);
        copy[i].summary = dup_or_empty(rows[i].summary);
        copy[i].payload = rows[i].insert ? dup_or_empty(rows[i].payload) : NULL;
        ok = ok && copy[i].channel && copy[i].kind && copy[i].group_key && copy[i].dedup_key && copy[i].status &&
             copy[i].last_error && copy[i].summary && (!rows[i].insert || copy[i].payload);
    }
    j->rows = copy;
    j->n = n;
    j->cb = cb;
    j->data = data;
    int rc = ok ? store_call(st, write_work, write_done, j) : BASE_ERR_NOMEM;
    if (rc != 0) {
        rows_free(copy, n);
        base_free(j);
    }
    return rc;
}

/* ---- reading ---- */

enum read_mode { READ_LIST, READ_PENDING, READ_ONE };

struct read_job {
    enum read_mode mode;
    int64_t from_ms, to_ms;
    char status[16];
    bool has_status;
    char id[STORE_NOTIFY_ID_MAX];
    int limit;
    struct store_result res;
    bool have;
    store_notify_rows_cb cb;
    void *data;
};

static int read_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct read_job *j = data;
    int rc;
    if (j->mode == READ_PENDING) {
        struct store_param p[1] = {STORE_P_INT(STORE_NOTIFY_RESTORE_MAX)};
        rc = store_sql_exec(c, "SELECT " COLUMNS ", payload FROM notifications WHERE status = 'pending'"
                               " ORDER BY created, id LIMIT ?", p, 1, &j->res, errbuf, errlen);
    } else if (j->mode == READ_ONE) {
        struct store_param p[1] = {STORE_P_TEXT(j->id)};
        rc = store_sql_exec(c, "SELECT " COLUMNS ", payload FROM notifications WHERE id = ?", p, 1, &j->res,
                            errbuf, errlen);
    } else if (j->has_status) {
        struct store_param p[4] = {STORE_P_INT(j->from_ms), STORE_P_INT(j->to_ms ? j->to_ms : INT64_MAX),
                                   STORE_P_TEXT(j->status), STORE_P_INT(j->limit)};
        rc = store_sql_exec(c, "SELECT " COLUMNS ", NULL FROM notifications WHERE created >= ? AND created <= ?"
                               " AND status = ? ORDER BY created DESC, id DESC LIMIT ?", p, 4, &j->res, errbuf,
                            errlen);
    } else {
        struct store_param p[3] = {STORE_P_INT(j->from_ms), STORE_P_INT(j->to_ms ? j->to_ms : INT64_MAX),
                                   STORE_P_INT(j->limit)};
        rc = store_sql_exec(c, "SELECT " COLUMNS ", NULL FROM notifications WHERE created >= ? AND created <= ?"
                               " ORDER BY created DESC, id DESC LIMIT ?", p, 3, &j->res, errbuf, errlen);
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
    struct store_notification *rows = n ? base_calloc(n, sizeof(*rows)) : NULL;
    if (n && !rows) {
        status = BASE_ERR_NOMEM;
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_result *r = &j->res;
        struct store_notification *o = &rows[i];
        snprintf(o->id, sizeof(o->id), "%s", text(r, i, 0));
        o->created_ms = store_result_int(r, i, 1);
        o->updated_ms = store_result_int(r, i, 2);
        o->channel = text(r, i, 3);
        o->kind = text(r, i, 4);
        o->group_key = text(r, i, 5);
        o->dedup_key = text(r, i, 6);
        o->status = text(r, i, 7);
        o->attempts = (int)store_result_int(r, i, 8);
        o->next_at_ms = store_result_int(r, i, 9);
        o->last_error = text(r, i, 10);
        o->sent_at_ms = store_result_int(r, i, 11);
        o->alert_at_ms = store_result_int(r, i, 12);
        o->summary = text(r, i, 13);
        o->payload = store_result_text(r, i, 14);
    }
    j->cb(j->data, status, rows, n);
    base_free(rows);
    if (j->have)
        store_result_free(&j->res);
    base_free(j);
}

static int submit(struct store *st, struct read_job *j)
{
    int rc = store_call(st, read_work, read_done, j);
    if (rc != 0)
        base_free(j);
    return rc;
}

int store_notify_list(struct store *st, int64_t from_ms, int64_t to_ms, const char *status, int limit,
                      store_notify_rows_cb cb, void *data)
{
    if (!cb || (status && strlen(status) >= 16))
        return BASE_ERR_INVALID;
    struct read_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->mode = READ_LIST;
    j->from_ms = from_ms;
    j->to_ms = to_ms;
    if (status) {
        snprintf(j->status, sizeof(j->status), "%s", status);
        j->has_status = true;
    }
    j->limit = limit < 1 ? 1 : limit > STORE_NOTIFY_QUERY_MAX ? STORE_NOTIFY_QUERY_MAX : limit;
    j->cb = cb;
    j->data = data;
    return submit(st, j);
}

int store_notify_pending(struct store *st, store_notify_rows_cb cb, void *data)
{
    if (!cb)
        return BASE_ERR_INVALID;
    struct read_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->mode = READ_PENDING;
    j->cb = cb;
    j->data = data;
    return submit(st, j);
}

int store_notify_get(struct store *st, const char *id, store_notify_rows_cb cb, void *data)
{
    if (!cb || !id || strlen(id) >= STORE_NOTIFY_ID_MAX)
        return BASE_ERR_INVALID;
    struct read_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->mode = READ_ONE;
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->cb = cb;
    j->data = data;
    return submit(st, j);
}

/* ---- retention (store thread) ---- */

int store_notify_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted, char *err,
                       size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(before_ms), STORE_P_INT(max_rows)};
    struct store_result r = {0};
    int rc = store_sql_exec(c,
                            "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE created < ?"
                            " AND status <> 'pending' ORDER BY created LIMIT ?)",
                            p, 2, &r, err, errlen);
    *deleted = rc == 0 && r.changes > 0 ? (uint64_t)r.changes : 0;
    store_result_free(&r);
    return rc;
}
