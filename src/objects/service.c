/*
 * objects/service: loop-side cache of api_objects (see service.h). A poll
 * timer asks the store thread whether meta.objects_gen moved; when it did
 * (or a reload is forced) the rows are read there, their secrets opened
 * here on the loop (AES-GCM of a few hundred bytes: microseconds), and the
 * new set replaces the old in one step before on_change runs. Holds a
 * reference per async job so closing waits for them.
 */
#include "objects/service.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "store/sql.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define POLL_MS 1000
#define KINDS_MAX 16 /* rows[] of a load: more than objects_kinds() will list */

struct objects_svc {
    uv_loop_t *loop;
    struct store *st;
    const struct auth_secret_keyring *kr;
    objects_change_cb on_change;
    void *data;
    uv_timer_t timer;
    int refs;
    bool closing, loading, loaded;
    int64_t gen;
    objects_close_cb close_cb;
    void *close_data;
    struct objects_item *items;   /* grouped by kind in registry order, then by id */
    size_t n_items;
    struct base_map index;        /* item->key -> item */
};

static void items_free(struct objects_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        json_decref(items[i].definition);
        json_decref(items[i].full);
    }
    base_free(items);
}

static void release(struct objects_svc *s)
{
    if (--s->refs > 0)
        return;
    objects_close_cb cb = s->close_cb;
    void *data = s->close_data;
    items_free(s->items, s->n_items);
    base_map_free(&s->index);
    base_free(s);
    if (cb)
        cb(data);
}

static void on_timer_closed(uv_handle_t *h)
{
    release(h->data);
}

struct load_job {
    struct objects_svc *s;
    int64_t known_gen, gen;
    bool changed;
    struct objects_row *rows[KINDS_MAX];
    size_t n[KINDS_MAX];
    objects_done_cb cb;
    void *data;
};

static int load_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct load_job *j = data;
    int rc = objects_db_gen(c, &j->gen, err, errlen);
    if (rc || j->gen == j->known_gen)
        return rc;
    j->changed = true;
    /* Every kind from one snapshot: a project and its check created together
     * arrive together. */
    rc = store_sql_begin(c, err, errlen);
    if (rc == 0 && store_sql_dialect(c) == STORE_SQL_POSTGRES)
        rc = store_sql_exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL, 0, NULL, err, errlen);
    if (rc == 0)
        rc = objects_db_gen(c, &j->gen, err, errlen);
    size_t nk;
    const struct objects_kind *const *kinds = objects_kinds(&nk);
    for (size_t k = 0; k < nk && k < KINDS_MAX && rc == 0; k++) {
        bool more = false;
        rc = objects_db_list(c, kinds[k]->name, NULL, OBJECTS_LIST_MAX, &j->rows[k], &j->n[k], &more, err, errlen);
        if (rc == 0 && more)
            base_log_warn("more API objects than one load holds; the rest are ignored",
                          BASE_LOG_STR("kind", kinds[k]->name), BASE_LOG_INT("limit", OBJECTS_LIST_MAX));
    }
    return store_sql_end(c, rc, err, errlen);
}

/* Builds the item of one row: parses the definition, opens the secret and
 * lays its members over the definition to make `full`. */
static int item_from_row(struct objects_svc *s, const struct objects_row *r, struct objects_item *it)
{
    memset(it, 0, sizeof(*it));
    snprintf(it->kind, sizeof(it->kind), "%s", r->kind);
    snprintf(it->id, sizeof(it->id), "%s", r->id);
    snprintf(it->key, sizeof(it->key), "%s/%s", r->kind, r->id);
    it->version = r->version;
    it->created_at = r->created_at;
    it->updated_at = r->updated_at;
    snprintf(it->created_by, sizeof(it->created_by), "%s", r->created_by);
    snprintf(it->updated_by, sizeof(it->updated_by), "%s", r->updated_by);
    it->definition = json_loads(r->definition, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(it->definition))
        return BASE_ERR_INVALID;
    it->full = json_deep_copy(it->definition);
    if (!it->full)
        return BASE_ERR_NOMEM;
    it->secret_ok = true;
    if (!r->secret)
        return 0;
    char *plain = NULL;
    int rc = objects_open(s->kr, r->secret, &plain);
    if (rc) {
        it->secret_ok = false;
        base_log_error("cannot open the secret of an API object (is its key in ENCRYPTION_KEY_BASE64 or "
                       "ENCRYPTION_KEY_OLD_BASE64?)", BASE_LOG_STR("kind", r->kind), BASE_LOG_STR("id", r->id),
                       BASE_LOG_STR("key_id", r->key_id));
        return 0;
    }
    json_t *sec = json_loads(plain, 0, NULL);
    OPENSSL_cleanse(plain, strlen(plain));
    base_free(plain);
    if (!json_is_object(sec)) {
        json_decref(sec);
        it->secret_ok = false;
        return 0;
    }
    rc = json_object_update(it->full, sec) == 0 ? 0 : BASE_ERR_NOMEM;
    json_decref(sec);
    return rc;
}

static void load_done(void *data, int status, const char *errmsg)
{
    struct load_job *j = data;
    struct objects_svc *s = j->s;
    s->loading = false;
    if (status == 0 && j->changed && !s->closing) {
        size_t total = 0;
        for (size_t k = 0; k < KINDS_MAX; k++)
            total += j->n[k];
        struct objects_item *items = total ? base_calloc(total, sizeof(*items)) : NULL;
        size_t n = 0;
        if (total && !items)
            status = BASE_ERR_NOMEM;
        for (size_t k = 0; k < KINDS_MAX && status == 0; k++) {
            for (size_t i = 0; i < j->n[k]; i++) {
                int rc = item_from_row(s, &j->rows[k][i], &items[n]);
                if (rc == BASE_ERR_NOMEM) {
                    status = rc;
                    n++;
                    break;
                }
                if (rc) { /* unreadable definition: skipped, the rest still loads */
                    base_log_error("unreadable API object skipped", BASE_LOG_STR("kind", j->rows[k][i].kind),
                                   BASE_LOG_STR("id", j->rows[k][i].id));
                    json_decref(items[n].definition);
                    json_decref(items[n].full);
                    memset(&items[n], 0, sizeof(items[n]));
                    continue;
                }
                n++;
            }
        }
        struct base_map index;
        base_map_init(&index);
        for (size_t i = 0; status == 0 && i < n; i++)
            if (base_map_put(&index, items[i].key, &items[i]) != 0)
                status = BASE_ERR_NOMEM;
        if (status == 0) {
            items_free(s->items, s->n_items);
            base_map_free(&s->index);
            s->index = index;
            s->items = items;
            s->n_items = n;
            s->gen = j->gen;
            s->loaded = true;
            if (s->on_change)
                s->on_change(s->data);
        } else {
            base_map_free(&index);
            items_free(items, n);
        }
    } else if (status == 0 && !s->loaded) {
        s->loaded = true;
        s->gen = j->gen;
    } else if (status && status != BASE_ERR_UNAVAILABLE) {
        base_log_warn("loading API objects failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    }
    for (size_t k = 0; k < KINDS_MAX; k++)
        objects_rows_free(j->rows[k], j->n[k]);
    if (j->cb)
        j->cb(j->data, status);
    base_free(j);
    release(s);
}

static int load_submit(struct objects_svc *s, int64_t known_gen, objects_done_cb cb, void *data)
{
    struct load_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->s = s;
    j->known_gen = known_gen;
    j->cb = cb;
    j->data = data;
    int rc = store_call(s->st, load_work, load_done, j);
    if (rc) {
        base_free(j);
        return rc;
    }
    s->refs++;
    s->loading = true;
    return 0;
}

static void timer_cb(uv_timer_t *t)
{
    struct objects_svc *s = t->data;
    if (!s->closing && !s->loading)
        load_submit(s, s->loaded ? s->gen : -1, NULL, NULL);
}

struct objects_svc *objects_svc_new(uv_loop_t *loop, struct store *st, const struct auth_secret_keyring *kr,
                                    objects_change_cb on_change, void *data)
{
    struct objects_svc *s = base_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->st = st;
    s->kr = kr;
    s->on_change = on_change;
    s->data = data;
    s->gen = -1;
    s->refs = 2; /* the service and its timer */
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    return s;
}

void objects_svc_start(struct objects_svc *s)
{
    uv_timer_start(&s->timer, timer_cb, 0, POLL_MS);
}

void objects_svc_close(struct objects_svc *s, objects_close_cb cb, void *data)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    s->close_cb = cb;
    s->close_data = data;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
    release(s);
}

int objects_svc_reload(struct objects_svc *s, objects_done_cb cb, void *data)
{
    if (s->closing)
        return BASE_ERR_CANCELED;
    return load_submit(s, -1, cb, data);
}

bool objects_svc_loaded(const struct objects_svc *s)
{
    return s->loaded;
}

const struct objects_item *objects_svc_items(const struct objects_svc *s, const struct objects_kind *kind,
                                             size_t *n)
{
    size_t first = 0;
    while (first < s->n_items && strcmp(s->items[first].kind, kind->name) != 0)
        first++;
    size_t last = first;
    while (last < s->n_items && strcmp(s->items[last].kind, kind->name) == 0)
        last++;
    *n = last - first;
    return *n ? &s->items[first] : NULL;
}

const struct objects_item *objects_svc_find(const struct objects_svc *s, const struct objects_kind *kind,
                                            const char *id)
{
    char key[OBJECTS_KIND_MAX + OBJECTS_ID_MAX];
    int w = snprintf(key, sizeof(key), "%s/%s", kind->name, id ? id : "");
    if (w < 0 || (size_t)w >= sizeof(key))
        return NULL;
    return base_map_get(&s->index, key);
}

struct store *objects_svc_store(const struct objects_svc *s)
{
    return s->st;
}

const struct auth_secret_keyring *objects_svc_keyring(const struct objects_svc *s)
{
    return s->kr;
}

int objects_split_secrets(const json_t *full, const char *const *secret_fields, json_t **masked,
                          char **secret_json)
{
    *masked = json_deep_copy(full);
    *secret_json = NULL;
    json_t *sec = json_object();
    if (!*masked || !sec)
        goto oom;
    for (size_t i = 0; secret_fields && secret_fields[i]; i++) {
        json_t *v = json_object_get(full, secret_fields[i]);
        if (!v || json_is_null(v))
            continue;
        if (json_object_set(sec, secret_fields[i], v) != 0)
            goto oom;
        json_object_del(*masked, secret_fields[i]);
    }
    if (json_object_size(sec)) {
        *secret_json = json_dumps(sec, JSON_COMPACT);
        if (!*secret_json)
            goto oom;
    }
    json_decref(sec);
    return 0;
oom:
    json_decref(sec);
    json_decref(*masked);
    *masked = NULL;
    return BASE_ERR_NOMEM;
}
