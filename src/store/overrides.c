/*
 * store/overrides: the rotation_overrides table (migration 14).
 */
#include "store/overrides.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdio.h>
#include <string.h>

int store_override_add(struct store_conn *c, const struct store_override *o, int64_t now_ms, char *err,
                       size_t errlen)
{
    struct store_param since = STORE_P_INT(now_ms);
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT COUNT(*) FROM rotation_overrides WHERE to_ms > ?", &since, 1, &r, err, errlen);
    if (!rc && r.rows == 1 && store_result_int(&r, 0, 0) >= STORE_OVERRIDES_MAX)
        rc = BASE_ERR_TOO_BIG;
    store_result_free(&r);
    if (rc)
        return rc;
    struct store_param p[8] = {STORE_P_TEXT(o->id),         STORE_P_TEXT(o->rotation), STORE_P_TEXT(o->user),
                               STORE_P_INT(o->from_ms),     STORE_P_INT(o->to_ms),     STORE_P_TEXT(o->reason),
                               STORE_P_TEXT(o->created_by), STORE_P_INT(o->created_ms)};
    return store_sql_exec(c,
                          "INSERT INTO rotation_overrides (id, rotation, user_name, from_ms, to_ms, reason, created_by,"
                          " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 8, NULL, err, errlen);
}

int store_override_delete(struct store_conn *c, const char *rotation, const char *id, char *err, size_t errlen)
{
    struct store_param p[2] = {STORE_P_TEXT(id), STORE_P_TEXT(rotation)};
    struct store_result r = {0};
    int rc = store_sql_exec(c, "DELETE FROM rotation_overrides WHERE id = ? AND rotation = ?", p, 2, &r, err, errlen);
    if (!rc && r.changes == 0)
        rc = BASE_ERR_NOT_FOUND;
    store_result_free(&r);
    return rc;
}

int store_overrides_list(struct store_conn *c, int64_t since_ms, struct store_override **out, size_t *n, char *err,
                         size_t errlen)
{
    *out = NULL;
    *n = 0;
    struct store_param p[2] = {STORE_P_INT(since_ms), STORE_P_INT(STORE_OVERRIDES_MAX)};
    struct store_result r = {0};
    int rc = store_sql_exec(c,
                            "SELECT id, rotation, user_name, from_ms, to_ms, reason, created_by, created_at"
                            " FROM rotation_overrides WHERE to_ms > ? ORDER BY created_at, id LIMIT ?",
                            p, 2, &r, err, errlen);
    if (!rc && r.rows) {
        *out = base_calloc(r.rows, sizeof(**out));
        if (!*out)
            rc = BASE_ERR_NOMEM;
    }
    for (size_t i = 0; !rc && i < r.rows; i++) {
        struct store_override *o = &(*out)[(*n)++];
        const char *v;
        if ((v = store_result_text(&r, i, 0)))
            snprintf(o->id, sizeof(o->id), "%s", v);
        if ((v = store_result_text(&r, i, 1)))
            snprintf(o->rotation, sizeof(o->rotation), "%s", v);
        if ((v = store_result_text(&r, i, 2)))
            snprintf(o->user, sizeof(o->user), "%s", v);
        o->from_ms = store_result_int(&r, i, 3);
        o->to_ms = store_result_int(&r, i, 4);
        if ((v = store_result_text(&r, i, 5)))
            snprintf(o->reason, sizeof(o->reason), "%s", v);
        if ((v = store_result_text(&r, i, 6)))
            snprintf(o->created_by, sizeof(o->created_by), "%s", v);
        o->created_ms = store_result_int(&r, i, 7);
    }
    store_result_free(&r);
    return rc;
}
