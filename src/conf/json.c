/*
 * conf/json: the JSON front end of the config loader, for checks and
 * projects created through the API. Turns a jansson value into the same
 * struct conf_node tree yaml.c builds (strings as quoted scalars, numbers,
 * booleans and null as plain scalars with their JSON text), each node named
 * by its JSON path, so check.c and value.c validate API input with exactly
 * the code that validates opshub.yaml (a check's canonical JSON is built
 * from its field tables in check.c). Also a project as JSON. Borrows the json_t it is given; never reads the
 * environment (no ${VAR} in API input).
 */
#include "conf/conf_int.h"

#include "base/alloc.h"
#include "base/jpath.h"
#include "base/duration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PATH "<api>"

/* Paths ("expect.status[1]") are built with base/jpath, like http/body's. */
_Static_assert(CONF_JSON_FIELD_MAX == BASE_JPATH_MAX, "a path fits conf_json_error.field");

/* ---- jansson value -> node tree ---- */

struct builder {
    struct conf_ctx *ctx;
    struct base_jpath path;
    size_t nodes;
    bool failed; /* a structural error: the tree must not be used */
};

static struct conf_node *new_node(struct builder *b, enum conf_node_kind kind)
{
    struct conf_ctx *ctx = b->ctx;
    if (b->nodes >= CONF_MAX_NODES) {
        conf_value_error(ctx, NULL, "too many JSON values (more than %d)", CONF_MAX_NODES);
        b->failed = true;
        return NULL;
    }
    struct conf_node *node = base_arena_calloc(&ctx->tmp, sizeof(*node));
    char *path = base_arena_strndup(&ctx->tmp, b->path.buf, b->path.len);
    if (!node || !path) {
        ctx->nomem = true;
        return NULL;
    }
    node->kind = kind;
    node->path = path;
    node->ord = ++b->nodes;
    return node;
}

static void append_child(struct conf_node *parent, struct conf_node *child)
{
    if (parent->last)
        parent->last->next = child;
    else
        parent->child = child;
    parent->last = child;
    parent->n++;
}

/* Shortest text that reads back as d, always with a '.' or an exponent so
 * a JSON real never passes for a whole number ("2.0", "0.1", "1e+300"). */
static void format_real(double d, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        snprintf(buf + strlen(buf), size - strlen(buf), ".0");
}

static struct conf_node *scalar_node(struct builder *b, const json_t *v)
{
    char num[64];
    const char *text = num;
    size_t len;
    bool quoted = false;
    switch (json_typeof(v)) {
    case JSON_STRING:
        text = json_string_value(v);
        len = json_string_length(v);
        quoted = true;
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        len = strlen(num);
        break;
    case JSON_REAL:
        format_real(json_real_value(v), num, sizeof(num));
        len = strlen(num);
        break;
    case JSON_TRUE:
        text = "true";
        len = 4;
        break;
    case JSON_FALSE:
        text = "false";
        len = 5;
        break;
    default:
        text = "null";
        len = 4;
        break;
    }
    struct conf_node *node = new_node(b, CONF_NODE_SCALAR);
    if (!node)
        return NULL;
    node->text = base_arena_strndup(&b->ctx->tmp, text, len);
    if (!node->text) {
        b->ctx->nomem = true;
        return NULL;
    }
    node->len = len;
    node->quoted = quoted;
    node->has_nul = memchr(text, '\0', len) != NULL;
    return node;
}

static struct conf_node *build(struct builder *b, const json_t *v, int depth);

static struct conf_node *build_object(struct builder *b, const json_t *v, int depth)
{
    struct conf_node *node = new_node(b, CONF_NODE_MAP);
    const char *key;
    json_t *item;
    if (!node)
        return NULL;
    json_object_foreach((json_t *)v, key, item) {
        size_t mark = b->path.len;
        base_jpath_key(&b->path, key);
        struct conf_node *k = new_node(b, CONF_NODE_SCALAR);
        if (!k)
            return NULL;
        if (!(k->text = base_arena_strdup(&b->ctx->tmp, key))) {
            b->ctx->nomem = true;
            return NULL;
        }
        k->len = strlen(key);
        k->quoted = true;
        struct conf_node *child = build(b, item, depth + 1);
        if (!child)
            return NULL;
        child->key = k;
        append_child(node, child);
        base_jpath_restore(&b->path, mark);
    }
    return node;
}

static struct conf_node *build(struct builder *b, const json_t *v, int depth)
{
    if (!json_is_object(v) && !json_is_array(v))
        return scalar_node(b, v);
    if (depth >= CONF_MAX_DEPTH) {
        struct conf_node at = {.path = b->path.buf, .ord = b->nodes + 1};
        conf_value_error(b->ctx, &at, "JSON nesting is deeper than %d levels", CONF_MAX_DEPTH);
        b->failed = true;
        return NULL;
    }
    if (json_is_object(v))
        return build_object(b, v, depth);
    struct conf_node *node = new_node(b, CONF_NODE_SEQ);
    if (!node)
        return NULL;
    for (size_t i = 0; i < json_array_size(v); i++) {
        size_t mark = b->path.len;
        base_jpath_index(&b->path, i);
        struct conf_node *child = build(b, json_array_get(v, i), depth + 1);
        if (!child)
            return NULL;
        append_child(node, child);
        base_jpath_restore(&b->path, mark);
    }
    return node;
}

int conf_json_parse(struct conf_ctx *ctx, const json_t *value, struct conf_node **root)
{
    struct builder b = {.ctx = ctx};
    *root = NULL;
    struct conf_node *node = build(&b, value, 0);
    if (ctx->nomem)
        return BASE_ERR_NOMEM;
    if (b.failed || !node)
        return BASE_ERR_INVALID;
    *root = node;
    return 0;
}

/* ---- one check or project from JSON ---- */

/* The value of member `name` in a map node, or NULL. */
static const struct conf_node *member(const struct conf_node *map, const char *name)
{
    for (const struct conf_node *v = map ? map->child : NULL; v; v = v->next)
        if (v->key && v->key->kind == CONF_NODE_SCALAR && strcmp(v->key->text, name) == 0)
            return v;
    return NULL;
}

static void set_error(struct conf_json_error *err, const char *field, const char *message)
{
    if (!err)
        return;
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->message, sizeof(err->message), "%s", message);
}

/* Starts a JSON-mode load of `obj` against base: a fresh conf, the node
 * tree, base's projects for references. 0 when the tree is a mapping. */
static int begin(struct conf_ctx *ctx, const json_t *obj, const struct conf *base,
                 struct base_map *projects, struct conf_node **root)
{
    *root = NULL;
    if (!(ctx->conf = conf_alloc(API_PATH))) {
        ctx->nomem = true;
        return -1;
    }
    if (base) {
        ctx->projects = base->projects;
        ctx->n_projects = base->n_projects;
        for (size_t i = 0; i < base->n_projects; i++)
            if (base_map_put(projects, base->projects[i].id, &base->projects[i]) != 0) {
                ctx->nomem = true;
                return -1;
            }
    }
    if (!obj) {
        conf_value_error(ctx, NULL, "expected a JSON object");
        return -1;
    }
    if (conf_json_parse(ctx, obj, root))
        return -1;
    return conf_value_expect(ctx, *root, CONF_NODE_MAP);
}

/* Ends the load: the result, or every resource freed and *err set. */
static int finish(struct conf_ctx *ctx, bool exists, struct conf **out, struct conf_json_error *err)
{
    int rc = 0;
    base_arena_free(&ctx->tmp);
    if (ctx->nomem) {
        rc = BASE_ERR_NOMEM;
        set_error(err, "", "out of memory");
    } else if (ctx->n_errors) {
        rc = exists && ctx->n_errors == 1 ? BASE_ERR_EXISTS : BASE_ERR_INVALID;
        set_error(err, ctx->first->field, ctx->first->message);
    }
    if (rc) {
        conf_destroy(ctx->conf);
        return rc;
    }
    *out = ctx->conf;
    return 0;
}

int conf_check_from_json(const struct conf_check_types *types, const json_t *obj, const struct conf *base,
                         struct conf **out, struct conf_json_error *err)
{
    struct conf_json_error first = {{0}, {0}};
    struct conf_ctx ctx = {.file = API_PATH, .json = true, .first = &first};
    struct base_map projects, ids;
    struct conf_node *root;
    bool exists = false;
    *out = NULL;
    base_map_init(&projects);
    base_map_init(&ids);
    base_arena_init(&ctx.tmp, 16 * 1024);
    if (begin(&ctx, obj, base, &projects, &root) == 0) {
        ctx.conf->types = types;
        struct conf_check *cc = conf_value_alloc(&ctx, sizeof(*cc));
        if (cc) {
            conf_check_parse_one(&ctx, root, cc, &ids, &projects);
            ctx.conf->checks = cc;
            ctx.conf->n_checks = 1;
            const struct conf_check *old = cc->id ? conf_check_find(base, cc->id) : NULL;
            if (old && !ctx.nomem) {
                exists = true;
                if (old->line > 0)
                    conf_value_error(&ctx, member(root, "id"), "duplicate check id '%s' (first defined "
                                     "at line %d of %s)", cc->id, old->line, old->file ? old->file : base->path);
                else
                    conf_value_error(&ctx, member(root, "id"), "check id '%s' already exists", cc->id);
            }
        }
    }
    base_map_free(&projects);
    base_map_free(&ids);
    return finish(&ctx, exists, out, err);
}

int conf_project_from_json(const json_t *obj, const struct conf *base, struct conf **out,
                           struct conf_json_error *err)
{
    struct conf_json_error first = {{0}, {0}};
    struct conf_ctx ctx = {.file = API_PATH, .json = true, .first = &first};
    struct base_map projects, seen;
    struct conf_node *root;
    bool exists = false;
    *out = NULL;
    base_map_init(&projects);
    base_map_init(&seen);
    base_arena_init(&ctx.tmp, 16 * 1024);
    if (begin(&ctx, obj, base, &projects, &root) == 0) {
        struct conf_project *p = conf_value_alloc(&ctx, sizeof(*p));
        if (p && conf_project_parse_one(&ctx, root, p, &seen) == 0) {
            ctx.conf->projects = p;
            ctx.conf->n_projects = 1;
            const struct conf_project *old = base_map_get(&projects, p->id);
            if (old) {
                exists = true;
                conf_value_error(&ctx, member(root, "id"), "project id '%s' already exists", p->id);
            }
        }
    }
    base_map_free(&projects);
    base_map_free(&seen);
    return finish(&ctx, exists, out, err);
}

/* ---- a check as canonical JSON ---- */

/* Sets o[key] = v, stealing v; false when v is NULL or on OOM. */
static bool put(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

json_t *conf_project_to_json(const struct conf_project *p)
{
    json_t *o = json_object(), *envs = json_array();
    bool ok = o && envs;
    for (size_t i = 0; ok && i < p->n_environments; i++)
        ok = json_array_append_new(envs, json_string(p->environments[i])) == 0;
    ok = ok && put(o, "id", json_string(p->id));
    ok = ok && put(o, "name", json_string(p->name ? p->name : p->id));
    if (ok) {
        ok = put(o, "environments", envs); /* stolen even on failure */
        envs = NULL;
    }
    json_decref(envs);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
