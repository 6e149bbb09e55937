/*
 * store/silences: the silences table (see silences.h).
 */
#include "store/silences.h"

#include "base/alloc.h"
#include "base/err.h"
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#define COLUMNS "id, matchers, starts_at, ends_at, created_by, comment, created, updated"

int store_silences_put(struct store_conn *c, const struct store_silence *s, char *err, size_t errlen)
{
    int rc = store_sql_begin(c, err, errlen);
    struct store_param p[8] = {
        STORE_P_TEXT(s->id), STORE_P_TEXT(s->matchers), STORE_P_INT(s->starts_ms), STORE_P_INT(s->ends_ms),
        STORE_P_TEXT(s->created_by), STORE_P_TEXT(s->comment), STORE_P_INT(s->created_ms),
        STORE_P_INT(s->updated_ms),
    };
    if (rc == 0)
        rc = store_sql_exec(c,
                            "INSERT INTO silences (" COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                            " ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers,"
                            " starts_at = excluded.starts_at, ends_at = excluded.ends_at,"
                            " created_by = excluded.created_by, comment = excluded.comment,"
                            " updated = excluded.updated",
                            p, 8, NULL, err, errlen);
    if (rc == 0)
        rc = store_sql_exec(c, "UPDATE meta SET value = value + 1 WHERE key = 'silences_gen'", NULL, 0, NULL, err,
                            errlen);
    return store_sql_end(c, rc, err, errlen);
}

int store_silences_select(struct store_conn *c, const char *id, int64_t ends_after_ms, int limit,
                          struct store_result *out, char *err, size_t errlen)
{
    if (id) {
        struct store_param p[1] = {STORE_P_TEXT(id)};
        return store_sql_exec(c, "SELECT " COLUMNS " FROM silences WHERE id = ?", p, 1, out, err, errlen);
    }
    struct store_param p[2] = {STORE_P_INT(ends_after_ms), STORE_P_INT(limit)};
    return store_sql_exec(c, "SELECT " COLUMNS " FROM silences WHERE ends_at > ? ORDER BY created DESC, id LIMIT ?",
                          p, 2, out, err, errlen);
}

static const char *text(const struct store_result *r, size_t row, size_t col)
{
    const char *s = store_result_text(r, row, col);
    return s ? s : "";
}

void store_silences_row(const struct store_result *r, size_t row, struct store_silence *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s", text(r, row, 0));
    o->matchers = text(r, row, 1);
    o->starts_ms = store_result_int(r, row, 2);
    o->ends_ms = store_result_int(r, row, 3);
    o->created_by = text(r, row, 4);
    o->comment = text(r, row, 5);
    o->created_ms = store_result_int(r, row, 6);
    o->updated_ms = store_result_int(r, row, 7);
}

int store_silences_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT value FROM meta WHERE key = 'silences_gen'", NULL, 0, &r, err, errlen);
    *gen = rc == 0 && r.rows ? store_result_int(&r, 0, 0) : 0;
    store_result_free(&r);
    return rc;
}

/* ---- loop side ---- */

struct job {
    enum { J_SAVE, J_LOAD, J_GEN } kind;
    struct store_silence s;
    char *matchers, *created_by, *comment;
    char id[STORE_SILENCE_ID_MAX];
    bool by_id;
    int64_t ends_after;
    int limit;
    struct store_result res;
    bool have;
    int64_t gen;
    store_silences_done_cb done;
    store_silences_rows_cb rows;
    void (*gen_cb)(void *, int, int64_t);
    void *data;
};

static void job_free(struct job *j)
{
    if (j->have)
        store_result_free(&j->res);
    base_free(j->matchers);
    base_free(j->created_by);
    base_free(j->comment);
    base_free(j);
}

static int work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct job *j = data;
    if (j->kind == J_SAVE)
        return store_silences_put(c, &j->s, err, errlen);
    if (j->kind == J_GEN)
        return store_silences_gen(c, &j->gen, err, errlen);
    int rc = store_silences_select(c, j->by_id ? j->id : NULL, j->ends_after, j->limit, &j->res, err, errlen);
    j->have = rc == 0;
    return rc;
}

static void done(void *data, int status, const char *errmsg)
{
    struct job *j = data;
    if (j->kind == J_SAVE) {
        j->done(j->data, status, errmsg);
    } else if (j->kind == J_GEN) {
        j->gen_cb(j->data, status, j->gen);
    } else {
        size_t n = status == 0 && j->have ? j->res.rows : 0;
        struct store_silence *rows = n ? base_calloc(n, sizeof(*rows)) : NULL;
        if (n && !rows) {
            status = BASE_ERR_NOMEM;
            n = 0;
        }
        for (size_t i = 0; i < n; i++)
            store_silences_row(&j->res, i, &rows[i]);
        j->rows(j->data, status, rows, n);
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

int store_silences_save(struct store *st, const struct store_silence *s, store_silences_done_cb cb, void *data)
{
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_SAVE;
    j->s = *s;
    j->matchers = base_strdup(s->matchers ? s->matchers : "[]");
    j->created_by = base_strdup(s->created_by ? s->created_by : "");
    j->comment = base_strdup(s->comment ? s->comment : "");
    j->s.matchers = j->matchers;
    j->s.created_by = j->created_by;
    j->s.comment = j->comment;
    j->done = cb;
    j->data = data;
    if (!j->matchers || !j->created_by || !j->comment) {
        job_free(j);
        return BASE_ERR_NOMEM;
    }
    return submit(st, j);
}

int store_silences_load(struct store *st, const char *id, int64_t ends_after_ms, int limit,
                        store_silences_rows_cb cb, void *data)
{
    if (id && strlen(id) >= STORE_SILENCE_ID_MAX)
        return BASE_ERR_INVALID;
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_LOAD;
    if (id) {
        snprintf(j->id, sizeof(j->id), "%s", id);
        j->by_id = true;
    }
    j->ends_after = ends_after_ms;
    j->limit = limit < 1 ? 1 : limit > STORE_SILENCES_MAX ? STORE_SILENCES_MAX : limit;
    j->rows = cb;
    j->data = data;
    return submit(st, j);
}

int store_silences_read_gen(struct store *st, void (*cb)(void *data, int status, int64_t gen), void *data)
{
    struct job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->kind = J_GEN;
    j->gen_cb = cb;
    j->data = data;
    return submit(st, j);
}

/* ---- retention (store thread) ---- */

int store_silences_purge(struct store_conn *c, int64_t before_ms, size_t max_rows, uint64_t *deleted, char *err,
                         size_t errlen)
{
    struct store_param p[] = {STORE_P_INT(before_ms), STORE_P_INT(max_rows)};
    struct store_result r = {0};
    int rc = store_sql_exec(c,
                            "DELETE FROM silences WHERE id IN (SELECT id FROM silences WHERE ends_at < ?"
                            " ORDER BY ends_at LIMIT ?)",
                            p, 2, &r, err, errlen);
    *deleted = rc == 0 && r.changes > 0 ? (uint64_t)r.changes : 0;
    store_result_free(&r);
    return rc;
}
