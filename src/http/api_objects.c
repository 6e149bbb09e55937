/*
 * http/api_objects: create, change and delete checks and projects through
 * the API (POST /api/v1/checks, PATCH|DELETE /api/v1/checks/{id}, and the
 * same for /api/v1/projects, plus the project reads). The general path for
 * every API-managed kind: the body is validated by the configuration
 * loader's own code (conf_*_from_json, errors with the JSON path), stored
 * in canonical form with its secret fields sealed (objects/db), and the
 * daemon's objects are reloaded before the answer, so the next request
 * already sees the change. Objects from the configuration file are
 * read-only here (409). PATCH is a JSON merge patch (RFC 7396); If-Match
 * with the object's version makes a write conditional (412 otherwise).
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/time.h"
#include "objects/db.h"
#include "store/sql.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJECTS_LIST_DEFAULT 100
#define PROJECTS_LIST_MAX 1000
#define MERGE_DEPTH_MAX 16

#define SECRETS_MAX OBJECTS_SECRETS_MAX

enum op { OP_CREATE, OP_UPDATE, OP_DELETE };

struct write_job {
    struct http_api *api;
    struct http_request *req;
    const struct objects_kind *kind;
    enum op op;
    struct objects_row row;
    int64_t expected_version;
    const char *secrets[SECRETS_MAX + 1]; /* top-level fields sealed at rest (static names) */
    struct auth_audit audit;              /* written in the change's transaction when `audited` */
    bool audited;
};

static void job_free(struct write_job *j)
{
    if (j->row.secret)
        OPENSSL_cleanse(j->row.secret, strlen(j->row.secret));
    objects_row_clear(&j->row);
    http_request_unref(j->req);
    base_free(j);
}

static const struct conf *run_conf(struct http_api *api)
{
    return objects_confs_run(*api->deps.confs);
}

static json_t *project_json(struct http_api *api, const struct conf_project *p)
{
    json_t *o = conf_project_to_json(p);
    if (!o)
        return NULL;
    const struct objects_item *it = api->deps.objects && p->source == CONF_SOURCE_API
                                    ? objects_svc_find(api->deps.objects, &objects_kind_project, p->id) : NULL;
    json_object_set_new(o, "source", json_string(it ? "api" : "config"));
    if (it) {
        json_object_set_new(o, "version", json_integer(it->version));
        json_object_set_new(o, "created_by", json_string(it->created_by));
        json_object_set_new(o, "updated_at", api_time_or_null(it->updated_at));
    }
    return o;
}

/* The answer after a write: the object as it runs now. */
static void send_object(struct write_job *j, int status)
{
    struct http_api *api = j->api;
    json_t *body = NULL;
    if (api->closing) { /* the scheduler may be gone: answer with the stored form */
        body = json_loads(j->row.definition ? j->row.definition : "{}", 0, NULL);
    } else if (j->kind == &objects_kind_check) {
        const struct sched_check *c = sched_check_get(api->deps.sched, j->row.id);
        body = c ? api_check_json(api, c) : json_loads(j->row.definition, 0, NULL);
    } else {
        const struct conf_project *p = conf_project_find(run_conf(api), j->row.id);
        body = p ? project_json(api, p) : json_loads(j->row.definition, 0, NULL);
    }
    api_send_json(api, j->req, status, body);
}

static void after_reload(void *data, int status)
{
    struct write_job *j = data;
    (void)status; /* committed either way; a failed reload only delays it by a poll */
    if (j->op == OP_DELETE)
        api_send(j->api, j->req, 204, NULL, NULL, "", 0);
    else
        send_object(j, j->op == OP_CREATE ? 201 : 200);
    job_free(j);
}

static int write_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct write_job *j = data;
    int rc = store_sql_begin(c, err, errlen);
    if (rc)
        return rc;
    if (j->op == OP_CREATE)
        rc = objects_db_insert(c, &j->row, err, errlen);
    else if (j->op == OP_UPDATE)
        rc = objects_db_update(c, &j->row, j->expected_version, err, errlen);
    else
        rc = objects_db_delete(c, j->row.kind, j->row.id, j->expected_version, err, errlen);
    if (!rc && j->audited)
        rc = auth_db_audit_append(c, &j->audit, err, errlen);
    return store_sql_end(c, rc, err, errlen);
}

static void write_done(void *data, int status, const char *errmsg)
{
    struct write_job *j = data;
    (void)errmsg;
    char msg[200];
    if (status == 0 && j->audited)
        api_audit_committed(j->api, j->req);
    if (status == BASE_ERR_EXISTS) {
        snprintf(msg, sizeof(msg), "%s '%s' already exists", j->kind->name, j->row.id);
        api_send_error(j->api, j->req, 409, "conflict", msg, "id");
    } else if (status == BASE_ERR_BUSY) {
        snprintf(msg, sizeof(msg), "%s '%s' was changed meanwhile (If-Match does not match its version)",
                 j->kind->name, j->row.id);
        api_send_error(j->api, j->req, 412, "precondition_failed", msg, NULL);
    } else if (status) {
        api_send_store_error(j->api, j->req, status, j->kind->name);
    } else if (!j->api->closing && objects_svc_reload(j->api->deps.objects, after_reload, j) == 0) {
        return;
    } else {
        after_reload(j, 0);
        return;
    }
    job_free(j);
}

static void submit(struct write_job *j)
{
    j->audited = api_audit_prepare(j->req, j->op == OP_CREATE ? 201 : j->op == OP_UPDATE ? 200 : 204, &j->audit);
    int rc = store_call(objects_svc_store(j->api->deps.objects), write_work, write_done, j);
    if (rc) {
        api_send_store_error(j->api, j->req, rc, j->kind->name);
        job_free(j);
    }
}

/* If-Match: "3", W/"3" or 3 -> 3; absent -> 0; malformed -> -1. */
static int64_t if_match(const struct http_request *req)
{
    const char *v = http_request_header(req, "If-Match");
    if (!v || !*v)
        return 0;
    if (strncmp(v, "W/", 2) == 0)
        v += 2;
    bool quoted = *v == '"';
    char *end = NULL;
    long long n = strtoll(v + quoted, &end, 10);
    if (end == v + quoted || n < 1 || (quoted && *end++ != '"') || *end)
        return -1;
    return n;
}

static struct write_job *job_new(struct http_api *api, struct http_request *req, const struct objects_kind *k,
                                 enum op op, const char *id)
{
    struct write_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    j->api = api;
    j->req = req;
    j->kind = k;
    j->op = op;
    snprintf(j->row.kind, sizeof(j->row.kind), "%s", k->name);
    snprintf(j->row.id, sizeof(j->row.id), "%s", id);
    const struct auth_principal *who = &api_ctx(req)->who;
    snprintf(j->row.updated_by, sizeof(j->row.updated_by), "%s:%s",
             who->kind == AUTH_KIND_USER ? "user" : "token", who->name);
    snprintf(j->row.created_by, sizeof(j->row.created_by), "%s", j->row.updated_by);
    j->row.created_at = j->row.updated_at = base_time_now_ms();
    http_request_ref(req);
    return j;
}

/* Fills the row from a validated object: canonical JSON, secrets sealed. */
static int fill_row(struct write_job *j, json_t *canonical)
{
    json_t *masked = NULL;
    char *secret = NULL;
    int rc = objects_split_secrets(canonical, j->secrets, &masked, &secret);
    if (rc)
        return rc;
    j->row.definition = json_dumps(masked, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(masked);
    if (!j->row.definition)
        rc = BASE_ERR_NOMEM;
    if (rc == 0 && secret)
        rc = objects_seal(j->api->deps.keyring, secret, &j->row.secret, j->row.key_id);
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret); /* jansson's allocator (base/alloc through http_body_json_alloc_init, or libc) */
    }
    return rc;
}

static bool writable(struct http_api *api, struct http_request *req)
{
    if (api->deps.objects && api->deps.keyring && objects_svc_loaded(api->deps.objects))
        return true;
    api_send_error(api, req, 503, "unavailable", "objects are not loaded yet; try again", NULL);
    return false;
}

/* Validates obj as a `kind` against base; sends 400/409 and returns NULL on
 * a problem, else the canonical JSON (new reference) and in secrets[] the
 * fields its type seals at rest (NULL-terminated). */
static json_t *validate(struct http_api *api, struct http_request *req, const struct objects_kind *k,
                        const json_t *obj, const struct conf *base, const char **secrets)
{
    struct conf *one = NULL;
    struct conf_json_error err;
    memset(&err, 0, sizeof(err));
    secrets[0] = NULL;
    int rc = k->validate(api->deps.types, obj, base, &one, &err);
    if (rc == BASE_ERR_EXISTS) {
        api_send_error(api, req, 409, "conflict", err.message[0] ? err.message : "the id is taken", "id");
        return NULL;
    }
    if (rc == BASE_ERR_NOMEM) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    if (rc) {
        char msg[CONF_JSON_FIELD_MAX + CONF_JSON_MESSAGE_MAX + 4];
        if (err.field[0])
            snprintf(msg, sizeof(msg), "%s: %s", err.field, err.message);
        else
            snprintf(msg, sizeof(msg), "%s", err.message);
        api_send_error(api, req, 400, "invalid_field", msg, err.field[0] ? err.field : NULL);
        return NULL;
    }
    json_t *canonical = k->canonical(one);
    k->secrets(one, secrets);
    conf_destroy(one);
    if (!canonical)
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
    return canonical;
}

static json_t *parse_object(struct http_api *api, struct http_request *req)
{
    struct http_body_error e;
    json_t *o = NULL;
    const char *ct = http_request_header(req, "Content-Type");
    if (req->body_len && ct && strncasecmp(ct, "application/json", 16) != 0 &&
        strncasecmp(ct, "application/merge-patch+json", 28) != 0) {
        api_send_error(api, req, 415, "unsupported_media_type", "the body must be application/json", NULL);
        return NULL;
    }
    if (http_body_parse(req->body, req->body_len, &o, &e) != 0) {
        api_send_error(api, req, e.status ? e.status : 400, e.code, e.message, e.field[0] ? e.field : NULL);
        return NULL;
    }
    return o;
}

static void create(struct http_api *api, struct http_request *req, const struct objects_kind *k)
{
    if (!writable(api, req))
        return;
    json_t *body = parse_object(api, req);
    if (!body)
        return;
    const char *id = json_string_value(json_object_get(body, "id"));
    api_set_target(req, "%s %.80s", k->name, id ? id : "");
    const char *secrets[SECRETS_MAX + 1];
    json_t *canonical = validate(api, req, k, body, run_conf(api), secrets);
    json_decref(body);
    if (!canonical)
        return;
    struct write_job *j = job_new(api, req, k, OP_CREATE, json_string_value(json_object_get(canonical, "id")));
    if (j)
        memcpy(j->secrets, secrets, sizeof(secrets));
    if (j && fill_row(j, canonical) != 0) {
        api_send_error(api, req, 500, "internal", "could not seal the object's secrets", NULL);
        job_free(j);
        j = NULL;
    }
    json_decref(canonical);
    if (j)
        submit(j);
}

/* RFC 7396 merge patch of patch onto target (in place). */
static int merge_patch(json_t *target, const json_t *patch, int depth)
{
    if (depth > MERGE_DEPTH_MAX)
        return BASE_ERR_TOO_BIG;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)patch, key, v) {
        if (json_is_null(v)) {
            json_object_del(target, key);
            continue;
        }
        json_t *cur = json_object_get(target, key);
        if (json_is_object(v) && json_is_object(cur)) {
            int rc = merge_patch(cur, v, depth + 1);
            if (rc)
                return rc;
        } else if ((json_is_object(v) ? json_object_set_new(target, key, json_object())
                                      : json_object_set(target, key, v)) != 0) {
            return BASE_ERR_NOMEM;
        } else if (json_is_object(v)) {
            int rc = merge_patch(json_object_get(target, key), v, depth + 1);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The API object for a write, or NULL with the 404/409 sent. */
static const struct objects_item *find_writable(struct http_api *api, struct http_request *req,
                                                const struct objects_kind *k, const char *id)
{
    enum conf_source source = CONF_SOURCE_API;
    bool in_file = k->find(run_conf(api), id, &source) && source == CONF_SOURCE_FILE;
    const struct objects_item *it = in_file ? NULL : objects_svc_find(api->deps.objects, k, id);
    if (it)
        return it;
    char msg[220];
    if (in_file) {
        snprintf(msg, sizeof(msg), "%s '%.80s' comes from the configuration file: change it there (source: config)",
                 k->name, id);
        api_send_error(api, req, 409, "read_only", msg, NULL);
    } else {
        snprintf(msg, sizeof(msg), "%s '%.80s' not found", k->name, id);
        api_send_error(api, req, 404, "not_found", msg, NULL);
    }
    return NULL;
}

static void update(struct http_api *api, struct http_request *req, const struct objects_kind *k, const char *id)
{
    if (!writable(api, req))
        return;
    api_set_target(req, "%s %.80s", k->name, id);
    const struct objects_item *it = find_writable(api, req, k, id);
    if (!it)
        return;
    int64_t expected = if_match(req);
    if (expected < 0) {
        api_send_error(api, req, 400, "invalid_parameter", "If-Match must be the object's version, e.g. \"3\"", "If-Match");
        return;
    }
    if (!it->secret_ok) {
        char msg[360];
        snprintf(msg, sizeof(msg), "%s '%.80s' has sealed fields this opshub cannot open (its key is not in "
                 "ENCRYPTION_KEY_BASE64 or ENCRYPTION_KEY_OLD_BASE64); it can only be deleted", k->name, id);
        api_send_error(api, req, 409, "conflict", msg, NULL);
        return;
    }
    /* The patch applies to the version this daemon holds; without If-Match
     * the write is still conditional on it, so a change made elsewhere in
     * the last second is never silently reverted (412: retry). */
    if (expected == 0)
        expected = it->version;
    json_t *patch = parse_object(api, req);
    if (!patch)
        return;
    if (!json_is_object(patch)) {
        json_decref(patch);
        api_send_error(api, req, 400, "invalid_json", "a merge patch must be a JSON object", NULL);
        return;
    }
    const char *new_id = json_string_value(json_object_get(patch, "id"));
    if (json_object_get(patch, "id") && (!new_id || strcmp(new_id, id) != 0)) {
        json_decref(patch);
        api_send_error(api, req, 400, "invalid_field", "id cannot be changed (delete and create instead)", "id");
        return;
    }
    json_t *full = json_deep_copy(it->full);
    int rc = full ? merge_patch(full, patch, 0) : BASE_ERR_NOMEM;
    json_decref(patch);
    if (rc) {
        json_decref(full);
        api_send_error(api, req, rc == BASE_ERR_TOO_BIG ? 400 : 500, rc == BASE_ERR_TOO_BIG ? "invalid_json" : "internal",
                       rc == BASE_ERR_TOO_BIG ? "the patch is nested too deeply" : "out of memory", NULL);
        return;
    }
    /* Against the file and the kinds before this one: a check against the
     * file's checks and every project, not the API checks (it must not
     * collide with itself); a project against the file alone. */
    const struct conf *base = objects_confs_before(*api->deps.confs, k);
    const char *secrets[SECRETS_MAX + 1];
    json_t *canonical = validate(api, req, k, full, base, secrets);
    json_decref(full);
    if (!canonical)
        return;
    struct write_job *j = job_new(api, req, k, OP_UPDATE, id);
    if (j) {
        memcpy(j->secrets, secrets, sizeof(secrets));
        j->expected_version = expected;
        if (fill_row(j, canonical) != 0) {
            api_send_error(api, req, 500, "internal", "could not seal the object's secrets", NULL);
            job_free(j);
            j = NULL;
        }
    }
    json_decref(canonical);
    if (j)
        submit(j);
}

static void delete_object(struct http_api *api, struct http_request *req, const struct objects_kind *k,
                          const char *id)
{
    if (!writable(api, req))
        return;
    api_set_target(req, "%s %.80s", k->name, id);
    if (!find_writable(api, req, k, id))
        return;
    int64_t expected = if_match(req);
    if (expected < 0) {
        api_send_error(api, req, 400, "invalid_parameter", "If-Match must be the object's version, e.g. \"3\"", "If-Match");
        return;
    }
    char why[300];
    if (k->in_use && k->in_use(run_conf(api), id, why, sizeof(why))) {
        api_send_error(api, req, 409, "conflict", why, NULL);
        return;
    }
    struct write_job *j = job_new(api, req, k, OP_DELETE, id);
    if (!j)
        return;
    j->expected_version = expected;
    submit(j);
}

void api_checks_create(void *data, struct http_request *req, const struct http_params *p)
{
    (void)p;
    create(data, req, &objects_kind_check);
}

void api_checks_patch(void *data, struct http_request *req, const struct http_params *p)
{
    update(data, req, &objects_kind_check, http_params_get(p, "id"));
}

void api_checks_delete(void *data, struct http_request *req, const struct http_params *p)
{
    delete_object(data, req, &objects_kind_check, http_params_get(p, "id"));
}

void api_projects_create(void *data, struct http_request *req, const struct http_params *p)
{
    (void)p;
    create(data, req, &objects_kind_project);
}

void api_projects_patch(void *data, struct http_request *req, const struct http_params *p)
{
    update(data, req, &objects_kind_project, http_params_get(p, "id"));
}

void api_projects_delete(void *data, struct http_request *req, const struct http_params *p)
{
    delete_object(data, req, &objects_kind_project, http_params_get(p, "id"));
}

void api_projects_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    const char *id = http_params_get(p, "id");
    const struct conf_project *pr = conf_project_find(run_conf(api), id);
    if (!pr) {
        char msg[160];
        snprintf(msg, sizeof(msg), "project '%.80s' not found", id);
        api_send_error(api, req, 404, "not_found", msg, NULL);
        return;
    }
    api_send_json(api, req, 200, project_json(api, pr));
}

/* GET /api/v1/projects?limit=&cursor=&source= : the file's, then the API's. */
void api_projects_list(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    long limit = PROJECTS_LIST_DEFAULT;
    char cursor[80] = "", source[16] = "";
    if (api_query_int(api, req, "limit", 1, PROJECTS_LIST_MAX, &limit) < 0 ||
        api_query_param(api, req, "cursor", cursor, sizeof(cursor)) < 0 ||
        api_query_param(api, req, "source", source, sizeof(source)) < 0)
        return;
    if (source[0] && strcmp(source, "api") && strcmp(source, "config")) {
        api_send_error(api, req, 400, "invalid_parameter", "source must be api or config", "source");
        return;
    }
    const struct conf *c = run_conf(api);
    size_t start = 0;
    if (cursor[0]) {
        while (start < c->n_projects && strcmp(c->projects[start].id, cursor) != 0)
            start++;
        if (start == c->n_projects) {
            api_send_error(api, req, 400, "invalid_parameter", "cursor names no project", "cursor");
            return;
        }
        start++;
    }
    json_t *list = json_array();
    const char *last = NULL;
    bool more = false;
    for (size_t i = start; list && i < c->n_projects; i++) {
        const struct conf_project *pr = &c->projects[i];
        bool from_api = pr->source == CONF_SOURCE_API;
        if (source[0] && from_api != (strcmp(source, "api") == 0))
            continue;
        if (json_array_size(list) == (size_t)limit) {
            more = true;
            break;
        }
        json_array_append_new(list, project_json(api, pr));
        last = pr->id;
    }
    api_send_json(api, req, 200, list ? json_pack("{s:o, s:o}", "projects", list, "next_cursor",
                                                  more && last ? json_string(last) : json_null()) : NULL);
}
