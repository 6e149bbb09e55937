/*
 * store/pauses: operators' pauses in the meta table (see pauses.h).
 */
#include "store/pauses.h"

#include "base/alloc.h"
#include "base/err.h"
#include "store/sql.h"

#include <stdio.h>
#include <string.h>

#define KEY_PREFIX "pause:"

struct set_job {
    char key[96];
    bool pause;
    int64_t at_ms;
    store_done_fn done;
    void *data;
};

static int set_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct set_job *j = data;
    struct store_param p[2] = {STORE_P_TEXT(j->key), STORE_P_INT(j->at_ms)};
    int rc = store_sql_begin(c, errbuf, errlen);
    if (rc == 0)
        rc = store_sql_exec(c, "DELETE FROM meta WHERE key = ?", p, 1, NULL, errbuf, errlen);
    if (rc == 0 && j->pause)
        rc = store_sql_exec(c, "INSERT INTO meta (key, value) VALUES (?, ?)", p, 2, NULL, errbuf, errlen);
    return store_sql_end(c, rc, errbuf, errlen);
}

static void set_done(void *data, int status, const char *errmsg)
{
    struct set_job *j = data;
    j->done(j->data, status, errmsg);
    base_free(j);
}

int store_pause_set(struct store *st, const char *check_id, bool pause, int64_t at_ms, store_done_fn done,
                    void *data)
{
    if (!check_id || strlen(check_id) > 80 || !done)
        return BASE_ERR_INVALID;
    struct set_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    snprintf(j->key, sizeof(j->key), KEY_PREFIX "%s", check_id);
    j->pause = pause;
    j->at_ms = at_ms;
    j->done = done;
    j->data = data;
    int rc = store_call(st, set_work, set_done, j);
    if (rc != 0)
        base_free(j);
    return rc;
}

struct load_job {
    struct store_result res;
    bool have;
    store_pauses_cb cb;
    void *data;
};

static int load_work(struct store_conn *c, void *data, char *errbuf, size_t errlen)
{
    struct load_job *j = data;
    struct store_param p[2] = {STORE_P_TEXT(KEY_PREFIX "%"), STORE_P_INT(STORE_PAUSES_MAX)};
    int rc = store_sql_exec(c, "SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key LIMIT ?", p, 2, &j->res,
                            errbuf, errlen);
    j->have = rc == 0;
    return rc;
}

static void load_done(void *data, int status, const char *errmsg)
{
    struct load_job *j = data;
    (void)errmsg;
    size_t n = status == 0 && j->have ? j->res.rows : 0;
    struct store_pause *items = n ? base_calloc(n, sizeof(*items)) : NULL;
    if (n && !items) {
        status = BASE_ERR_NOMEM;
        n = 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = store_result_text(&j->res, i, 0);
        if (!key || strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)) != 0)
            continue;
        items[k].check_id = key + strlen(KEY_PREFIX);
        items[k].at_ms = store_result_int(&j->res, i, 1);
        k++;
    }
    j->cb(j->data, status, items, k);
    base_free(items);
    if (j->have)
        store_result_free(&j->res);
    base_free(j);
}

int store_pauses_load(struct store *st, store_pauses_cb cb, void *data)
{
    if (!cb)
        return BASE_ERR_INVALID;
    struct load_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->cb = cb;
    j->data = data;
    int rc = store_call(st, load_work, load_done, j);
    if (rc != 0)
        base_free(j);
    return rc;
}
