/*
 * store/subscribers: the status_subscribers table (migration 13).
 */
#include "store/subscribers.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdio.h>
#include <string.h>

static void copy_row(const struct store_result *r, size_t i, struct store_subscriber *s)
{
    const char *v;
    memset(s, 0, sizeof(*s));
    if ((v = store_result_text(r, i, 0)))
        snprintf(s->id, sizeof(s->id), "%s", v);
    if ((v = store_result_text(r, i, 1)))
        snprintf(s->kind, sizeof(s->kind), "%s", v);
    if ((v = store_result_text(r, i, 2)))
        snprintf(s->address, sizeof(s->address), "%s", v);
    if ((v = store_result_text(r, i, 3)))
        snprintf(s->project, sizeof(s->project), "%s", v);
    s->created_ms = store_result_int(r, i, 4);
}

int store_subscriber_add(struct store_conn *c, struct store_subscriber *s, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT COUNT(*) FROM status_subscribers", NULL, 0, &r, err, errlen);
    if (!rc && r.rows == 1 && store_result_int(&r, 0, 0) >= STORE_SUBSCRIBERS_MAX)
        rc = BASE_ERR_TOO_BIG;
    store_result_free(&r);
    if (rc)
        return rc;
    struct store_param p[5] = {STORE_P_TEXT(s->id), STORE_P_TEXT(s->kind), STORE_P_TEXT(s->address),
                               STORE_P_TEXT(s->project), STORE_P_INT(s->created_ms)};
    rc = store_sql_exec(c,
                        "INSERT INTO status_subscribers (id, kind, address, project, created_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, address, project) DO NOTHING",
                        p, 5, &r, err, errlen);
    int64_t changed = r.changes;
    store_result_free(&r);
    if (rc || changed == 1)
        return rc;
    /* already subscribed: answer with the existing row */
    rc = store_sql_exec(c,
                        "SELECT id, kind, address, project, created_at FROM status_subscribers"
                        " WHERE kind = ? AND address = ? AND project = ?",
                        p + 1, 3, &r, err, errlen);
    if (!rc && r.rows == 1)
        copy_row(&r, 0, s);
    store_result_free(&r);
    return rc ? rc : BASE_ERR_EXISTS;
}

int store_subscriber_delete(struct store_conn *c, const char *id, char *err, size_t errlen)
{
    struct store_param p = STORE_P_TEXT(id);
    struct store_result r = {0};
    int rc = store_sql_exec(c, "DELETE FROM status_subscribers WHERE id = ?", &p, 1, &r, err, errlen);
    if (!rc && r.changes == 0)
        rc = BASE_ERR_NOT_FOUND;
    store_result_free(&r);
    return rc;
}

int store_subscribers_list(struct store_conn *c, struct store_subscriber **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    struct store_param p = STORE_P_INT(STORE_SUBSCRIBERS_MAX);
    struct store_result r = {0};
    int rc = store_sql_exec(c,
                            "SELECT id, kind, address, project, created_at FROM status_subscribers"
                            " ORDER BY created_at, id LIMIT ?",
                            &p, 1, &r, err, errlen);
    if (!rc && r.rows) {
        *out = base_calloc(r.rows, sizeof(**out));
        if (!*out)
            rc = BASE_ERR_NOMEM;
    }
    for (size_t i = 0; !rc && i < r.rows; i++)
        copy_row(&r, i, &(*out)[(*n)++]);
    store_result_free(&r);
    return rc;
}
