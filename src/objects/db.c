/*
 * objects/db: SQL for api_objects (migration 3) and the sealing of secret
 * fields. Blocking; store thread or CLI only. Plaintext secrets exist only
 * in buffers this file wipes before freeing; error messages never contain a
 * definition or a secret.
 */
#include "objects/db.h"

#include "base/alloc.h"
#include "base/err.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define COLS "kind, id, definition, secret, key_id, version, created_at, updated_at, created_by, updated_by"

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static char *dup_or_null(const char *s)
{
    return s ? base_strdup(s) : NULL;
}

void objects_row_clear(struct objects_row *r)
{
    if (!r)
        return;
    base_free(r->definition);
    base_free(r->secret);
    r->definition = r->secret = NULL;
}

void objects_rows_free(struct objects_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        objects_row_clear(&rows[i]);
    base_free(rows);
}

static int row_read(const struct store_result *res, size_t i, struct objects_row *r)
{
    memset(r, 0, sizeof(*r));
    copy_text(r->kind, sizeof(r->kind), store_result_text(res, i, 0));
    copy_text(r->id, sizeof(r->id), store_result_text(res, i, 1));
    r->definition = dup_or_null(store_result_text(res, i, 2));
    r->secret = dup_or_null(store_result_text(res, i, 3));
    copy_text(r->key_id, sizeof(r->key_id), store_result_text(res, i, 4));
    r->version = store_result_int(res, i, 5);
    r->created_at = store_result_int(res, i, 6);
    r->updated_at = store_result_int(res, i, 7);
    copy_text(r->created_by, sizeof(r->created_by), store_result_text(res, i, 8));
    copy_text(r->updated_by, sizeof(r->updated_by), store_result_text(res, i, 9));
    if (!r->definition || (store_result_text(res, i, 3) && !r->secret)) {
        objects_row_clear(r);
        return BASE_ERR_NOMEM;
    }
    return 0;
}

static int bump(struct store_conn *c, char *err, size_t errlen)
{
    return store_sql_exec(c, "UPDATE meta SET value = value + 1 WHERE key = 'objects_gen'", NULL, 0, NULL,
                          err, errlen);
}

int objects_db_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen)
{
    struct store_result r = {0};
    int rc = store_sql_exec(c, "SELECT value FROM meta WHERE key = 'objects_gen'", NULL, 0, &r, err, errlen);
    *gen = rc == 0 && r.rows ? store_result_int(&r, 0, 0) : 0;
    store_result_free(&r);
    return rc;
}

int objects_db_list(struct store_conn *c, const char *kind, const char *after_id, int limit,
                    struct objects_row **out, size_t *n, bool *more, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    *more = false;
    if (limit < 1)
        limit = 1;
    if (limit > OBJECTS_LIST_MAX)
        limit = OBJECTS_LIST_MAX;
    struct store_param p[] = {STORE_P_TEXT(kind), STORE_P_TEXT(after_id), STORE_P_TEXT(after_id),
                              STORE_P_INT(limit + 1)};
    struct store_result res = {0};
    int rc = store_sql_exec(c, "SELECT " COLS " FROM api_objects WHERE kind = ?"
                            " AND (CAST(? AS TEXT) IS NULL OR id > ?) ORDER BY id LIMIT ?",
                            p, 4, &res, err, errlen);
    if (rc == 0 && res.rows) {
        size_t rows = res.rows > (size_t)limit ? (size_t)limit : res.rows;
        *more = res.rows > (size_t)limit;
        struct objects_row *arr = base_calloc(rows, sizeof(*arr));
        if (!arr)
            rc = BASE_ERR_NOMEM;
        for (size_t i = 0; arr && i < rows && rc == 0; i++) {
            rc = row_read(&res, i, &arr[i]);
            if (rc == 0)
                *n = i + 1;
        }
        if (rc) {
            objects_rows_free(arr, *n);
            *n = 0;
        } else {
            *out = arr;
        }
    }
    store_result_free(&res);
    return rc;
}

int objects_db_get(struct store_conn *c, const char *kind, const char *id, struct objects_row *out,
                   char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_TEXT(kind), STORE_P_TEXT(id)};
    struct store_result res = {0};
    int rc = store_sql_exec(c, "SELECT " COLS " FROM api_objects WHERE kind = ? AND id = ?", p, 2, &res,
                            err, errlen);
    if (rc == 0 && res.rows == 0)
        rc = BASE_ERR_NOT_FOUND;
    if (rc == 0)
        rc = row_read(&res, 0, out);
    store_result_free(&res);
    return rc;
}

int objects_db_insert(struct store_conn *c, struct objects_row *r, char *err, size_t errlen)
{
    r->version = 1;
    struct store_param p[] = {
        STORE_P_TEXT(r->kind), STORE_P_TEXT(r->id), STORE_P_TEXT(r->definition), STORE_P_TEXT(r->secret),
        r->secret ? STORE_P_TEXT(r->key_id) : STORE_P_NULL(), STORE_P_INT(r->created_at),
        STORE_P_INT(r->updated_at), STORE_P_TEXT(r->created_by), STORE_P_TEXT(r->updated_by),
    };
    int rc = store_sql_exec(c, "INSERT INTO api_objects (kind, id, definition, secret, key_id, version,"
                            " created_at, updated_at, created_by, updated_by)"
                            " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)", p, sizeof(p) / sizeof(p[0]), NULL,
                            err, errlen);
    return rc ? rc : bump(c, err, errlen);
}

/* Tells a missing row from a version conflict after an UPDATE/DELETE that
 * changed nothing. */
static int why_unchanged(struct store_conn *c, const char *kind, const char *id, char *err, size_t errlen)
{
    struct objects_row cur;
    int rc = objects_db_get(c, kind, id, &cur, err, errlen);
    if (rc)
        return rc;
    objects_row_clear(&cur);
    return BASE_ERR_BUSY;
}

int objects_db_update(struct store_conn *c, struct objects_row *r, int64_t expected_version,
                      char *err, size_t errlen)
{
    struct store_param p[] = {
        STORE_P_TEXT(r->definition), STORE_P_TEXT(r->secret), r->secret ? STORE_P_TEXT(r->key_id) : STORE_P_NULL(),
        STORE_P_INT(r->updated_at), STORE_P_TEXT(r->updated_by), STORE_P_TEXT(r->kind), STORE_P_TEXT(r->id),
        STORE_P_INT(expected_version), STORE_P_INT(expected_version),
    };
    struct store_result res = {0};
    int rc = store_sql_exec(c, "UPDATE api_objects SET definition = ?, secret = ?, key_id = ?,"
                            " version = version + 1, updated_at = ?, updated_by = ?"
                            " WHERE kind = ? AND id = ? AND (CAST(? AS BIGINT) = 0 OR version = ?) RETURNING version",
                            p, sizeof(p) / sizeof(p[0]), &res, err, errlen);
    bool changed = rc == 0 && res.rows == 1;
    if (changed)
        r->version = store_result_int(&res, 0, 0);
    store_result_free(&res);
    if (rc)
        return rc;
    if (!changed)
        return why_unchanged(c, r->kind, r->id, err, errlen);
    return bump(c, err, errlen);
}

int objects_db_delete(struct store_conn *c, const char *kind, const char *id, int64_t expected_version,
                      char *err, size_t errlen)
{
    struct store_param p[] = {STORE_P_TEXT(kind), STORE_P_TEXT(id), STORE_P_INT(expected_version),
                              STORE_P_INT(expected_version)};
    struct store_result res = {0};
    int rc = store_sql_exec(c, "DELETE FROM api_objects WHERE kind = ? AND id = ? AND (CAST(? AS BIGINT) = 0 OR version = ?)",
                            p, 4, &res, err, errlen);
    int64_t changes = res.changes;
    store_result_free(&res);
    if (rc)
        return rc;
    if (changes == 0)
        return why_unchanged(c, kind, id, err, errlen);
    return bump(c, err, errlen);
}

/* ---- sealing ---- */

int objects_seal(const struct auth_secret_keyring *kr, const char *plain, char **sealed,
                 char key_id[AUTH_SECRET_KEYID_LEN + 1])
{
    size_t n = strlen(plain);
    *sealed = NULL;
    if (n > AUTH_SECRET_MAX_PLAIN)
        return BASE_ERR_TOO_BIG;
    size_t cap = AUTH_SECRET_TOKEN_SIZE(n);
    char *out = base_malloc(cap);
    if (!out)
        return BASE_ERR_NOMEM;
    int rc = auth_secret_encrypt(kr, plain, n, out, cap);
    if (rc) {
        base_free(out);
        return rc;
    }
    snprintf(key_id, AUTH_SECRET_KEYID_LEN + 1, "%s", auth_secret_keyring_current_id(kr));
    *sealed = out;
    return 0;
}

int objects_open(const struct auth_secret_keyring *kr, const char *sealed, char **plain)
{
    size_t len = strlen(sealed), n = 0;
    *plain = NULL;
    char *out = base_malloc(len + 1); /* the plaintext is shorter than its token */
    if (!out)
        return BASE_ERR_NOMEM;
    int rc = auth_secret_decrypt(kr, sealed, len, out, len, &n);
    if (rc) {
        base_free(out);
        return rc;
    }
    out[n] = '\0';
    *plain = out;
    return 0;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        base_free(s);
    }
}

int objects_db_rekey(struct store_conn *c, const struct auth_secret_keyring *kr, size_t *done,
                     char *failed_id, size_t failed_len, char *err, size_t errlen)
{
    *done = 0;
    if (failed_len)
        failed_id[0] = '\0';
    const char *cur = auth_secret_keyring_current_id(kr);
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    struct store_param p = STORE_P_TEXT(cur);
    struct store_result res = {0};
    rc = store_sql_exec(c, "SELECT kind, id, secret FROM api_objects WHERE secret IS NOT NULL AND key_id <> ?"
                        " ORDER BY kind, id", &p, 1, &res, err, errlen);
    for (size_t i = 0; rc == 0 && i < res.rows; i++) {
        const char *kind = store_result_text(&res, i, 0), *id = store_result_text(&res, i, 1);
        char *plain = NULL, *sealed = NULL;
        char key_id[AUTH_SECRET_KEYID_LEN + 1];
        rc = objects_open(kr, store_result_text(&res, i, 2), &plain);
        if (rc == 0)
            rc = objects_seal(kr, plain, &sealed, key_id);
        wipe_free(plain);
        if (rc) {
            snprintf(failed_id, failed_len, "%s %s", kind, id);
            snprintf(err, errlen, "cannot open the secret of %s '%s': %s", kind, id,
                     rc == BASE_ERR_NOT_FOUND ? "its key is not in ENCRYPTION_KEY_BASE64 or ENCRYPTION_KEY_OLD_BASE64"
                     : rc == AUTH_SECRET_ERR_AUTH ? "authentication failed (tampered, or a different key with the same id)"
                     : base_strerror(rc));
            break;
        }
        /* Only if the row still holds the secret just opened: a write that
         * committed meanwhile (PostgreSQL, read committed) is not undone. */
        struct store_param u[] = {STORE_P_TEXT(sealed), STORE_P_TEXT(key_id), STORE_P_TEXT(kind), STORE_P_TEXT(id),
                                  STORE_P_TEXT(store_result_text(&res, i, 2))};
        struct store_result ur = {0};
        rc = store_sql_exec(c, "UPDATE api_objects SET secret = ?, key_id = ? WHERE kind = ? AND id = ? AND secret = ?",
                            u, 5, &ur, err, errlen);
        base_free(sealed);
        if (rc == 0 && ur.changes > 0)
            (*done)++;
        store_result_free(&ur);
    }
    store_result_free(&res);
    if (rc == 0 && *done)
        rc = bump(c, err, errlen);
    if (rc) {
        store_sql_rollback(c);
        *done = 0;
        return rc;
    }
    return store_sql_commit(c, err, errlen);
}

int objects_db_key_usage(struct store_conn *c, char ids[][AUTH_SECRET_KEYID_LEN + 1], int64_t *counts,
                         size_t max, size_t *n, char *err, size_t errlen)
{
    struct store_result res = {0};
    *n = 0;
    int rc = store_sql_exec(c, "SELECT key_id, COUNT(*) FROM api_objects WHERE secret IS NOT NULL"
                            " GROUP BY key_id ORDER BY key_id", NULL, 0, &res, err, errlen);
    for (size_t i = 0; rc == 0 && i < res.rows && i < max; i++) {
        copy_text(ids[i], AUTH_SECRET_KEYID_LEN + 1, store_result_text(&res, i, 0));
        counts[i] = store_result_int(&res, i, 1);
        *n = i + 1;
    }
    store_result_free(&res);
    return rc;
}
