/*
 * conf/schema: parsing, hashing, copying and rendering of objects described
 * by field tables (see schema.h). Every walk goes over the same table, so
 * what is parsed is what is hashed, copied and shown. Owns nothing: strings
 * and arrays live in the arena of the configuration being built or copied.
 */
#include "conf/conf_int.h"
#include "conf/schema.h"

#include "base/duration.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FNV_PRIME 0x100000001b3ULL
#define FIELDS_MAX 64 /* per table: a bound for the stack arrays below */

static void *at(void *obj, const struct conf_field *f)
{
    return (char *)obj + f->offset;
}

static const void *at_c(const void *obj, const struct conf_field *f)
{
    return (const char *)obj + f->offset;
}

size_t conf_schema_count(const struct conf_field *fields)
{
    size_t n = 0;
    while (fields && fields[n].name)
        n++;
    return n;
}

const struct conf_field *conf_schema_find(const struct conf_field *fields, const char *name)
{
    for (size_t i = 0; fields && fields[i].name; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

/* ---- parsing ---- */

static void parse_enum(struct conf_ctx *ctx, const struct conf_node *n, const struct conf_field *f,
                       const char **out)
{
    const char *t;
    char shown[80], list[256];
    if (conf_value_text(ctx, n, f->name, &t, NULL))
        return;
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; f->choices[i]; i++) {
        if (strcasecmp(t, f->choices[i]) == 0) {
            *out = f->choices[i];
            return;
        }
        int w = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", f->choices[i]);
        if (w > 0 && (size_t)w < sizeof(list) - o)
            o += (size_t)w;
    }
    conf_value_error(ctx, n, "unknown %s '%s' (expected %s)", f->name,
                     conf_value_show(n, t, false, shown, sizeof(shown)), list);
}

/* A bound as people write it: whole days as "365d" (not "1y"). */
static const char *bound_text(long long ms, char *buf, size_t n)
{
    if (ms >= 86400000LL && ms % 86400000LL == 0)
        snprintf(buf, n, "%lldd", ms / 86400000LL);
    else
        base_duration_format(ms, buf, n);
    return buf;
}

static void parse_duration(struct conf_ctx *ctx, const struct conf_node *n, const struct conf_field *f,
                           int64_t *out)
{
    int64_t ms;
    char a[32];
    if (conf_value_duration(ctx, n, &ms))
        return;
    if (f->min && ms < f->min) {
        conf_value_error(ctx, n, "%s must be at least %s", f->name, bound_text(f->min, a, sizeof(a)));
        return;
    }
    if (f->max && ms > f->max) {
        conf_value_error(ctx, n, "%s must be at most %s", f->name, bound_text(f->max, a, sizeof(a)));
        return;
    }
    *out = ms;
}

static void parse_one(struct conf_ctx *ctx, const struct conf_node *n, const struct conf_field *f, void *obj)
{
    void *p = at(obj, f);
    long long v;
    switch (f->kind) {
    case CONF_FIELD_STRING:
        conf_value_string(ctx, n, p);
        break;
    case CONF_FIELD_ID:
        conf_value_id(ctx, n, p);
        break;
    case CONF_FIELD_URL:
        conf_value_url(ctx, n, p);
        break;
    case CONF_FIELD_HOSTPORT:
        conf_value_hostport(ctx, n, false, p);
        break;
    case CONF_FIELD_BOOL:
        conf_value_bool(ctx, n, p);
        break;
    case CONF_FIELD_INT:
        if (conf_value_int(ctx, n, f->min, f->max, &v) == 0)
            *(int *)p = (int)v;
        break;
    case CONF_FIELD_DURATION:
        parse_duration(ctx, n, f, p);
        break;
    case CONF_FIELD_SIZE:
        conf_value_size(ctx, n, (size_t)f->max, p);
        break;
    case CONF_FIELD_ENUM:
        parse_enum(ctx, n, f, p);
        break;
    case CONF_FIELD_KV:
        if (!conf_value_is_null(n))
            conf_value_kv(ctx, n, f->key_bad, f->value_bad, p, (size_t *)((char *)obj + f->count_offset));
        break;
    case CONF_FIELD_OBJECT:
        if (!conf_value_is_null(n) && conf_value_expect(ctx, n, CONF_NODE_MAP) == 0)
            conf_schema_parse_map(ctx, n, f->fields, p, f->name);
        break;
    case CONF_FIELD_CUSTOM:
        f->ops->parse(ctx, n, p);
        break;
    }
}

int conf_schema_parse_field(struct conf_ctx *ctx, const struct conf_node *n, const struct conf_field *f,
                            void *obj)
{
    size_t before = ctx->n_errors;
    parse_one(ctx, n, f, obj);
    return ctx->n_errors == before && !ctx->nomem ? 0 : -1;
}

void conf_schema_parse_vals(struct conf_ctx *ctx, const struct conf_node *map,
                            const struct conf_field *fields, const struct conf_node *const *vals,
                            void *obj, const char *what)
{
    for (size_t i = 0; fields[i].name; i++) {
        if (vals[i])
            parse_one(ctx, vals[i], &fields[i], obj);
        else if (fields[i].flags & CONF_FIELD_REQUIRED)
            conf_value_error_member(ctx, map, fields[i].name, "%s is missing '%s'", what, fields[i].name);
    }
}

void conf_schema_parse_map(struct conf_ctx *ctx, const struct conf_node *map,
                           const struct conf_field *fields, void *obj, const char *what)
{
    const char *names[FIELDS_MAX];
    const struct conf_node *vals[FIELDS_MAX];
    size_t n = conf_schema_count(fields);
    if (n > FIELDS_MAX) {
        conf_value_error(ctx, map, "internal: more than %d fields in %s", FIELDS_MAX, what);
        return;
    }
    for (size_t i = 0; i < n; i++)
        names[i] = fields[i].name;
    conf_value_fields(ctx, map, names, n, vals);
    conf_schema_parse_vals(ctx, map, fields, vals, obj, what);
}

/* ---- hash ---- */

void conf_schema_hash_bytes(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= FNV_PRIME;
    }
}

void conf_schema_hash_str(uint64_t *h, const char *s)
{
    uint64_t len = s ? (uint64_t)strlen(s) : UINT64_MAX;
    conf_schema_hash_bytes(h, &len, sizeof(len));
    if (s)
        conf_schema_hash_bytes(h, s, strlen(s));
}

void conf_schema_hash_int(uint64_t *h, int64_t v)
{
    conf_schema_hash_bytes(h, &v, sizeof(v));
}

void conf_schema_hash(uint64_t *h, const struct conf_field *fields, const void *obj)
{
    for (size_t i = 0; fields && fields[i].name; i++) {
        const struct conf_field *f = &fields[i];
        const void *p = at_c(obj, f);
        conf_schema_hash_str(h, f->name);
        switch (f->kind) {
        case CONF_FIELD_STRING:
        case CONF_FIELD_ID:
        case CONF_FIELD_URL:
        case CONF_FIELD_HOSTPORT:
        case CONF_FIELD_ENUM:
            conf_schema_hash_str(h, *(const char *const *)p);
            break;
        case CONF_FIELD_BOOL:
            conf_schema_hash_int(h, *(const bool *)p);
            break;
        case CONF_FIELD_INT:
            conf_schema_hash_int(h, *(const int *)p);
            break;
        case CONF_FIELD_DURATION:
            conf_schema_hash_int(h, *(const int64_t *)p);
            break;
        case CONF_FIELD_SIZE:
            conf_schema_hash_int(h, (int64_t)*(const size_t *)p);
            break;
        case CONF_FIELD_KV: {
            const struct conf_kv *kv = *(const struct conf_kv *const *)p;
            size_t n = *(const size_t *)((const char *)obj + f->count_offset);
            conf_schema_hash_int(h, (int64_t)n);
            for (size_t k = 0; k < n; k++) {
                conf_schema_hash_str(h, kv[k].key);
                conf_schema_hash_str(h, kv[k].value);
            }
            break;
        }
        case CONF_FIELD_OBJECT:
            conf_schema_hash(h, f->fields, p);
            break;
        case CONF_FIELD_CUSTOM:
            f->ops->hash(h, p);
            break;
        }
    }
}

/* ---- copy ---- */

static int copy_str(struct base_arena *a, const char **s)
{
    if (!*s)
        return 0;
    *s = base_arena_strdup(a, *s);
    return *s ? 0 : BASE_ERR_NOMEM;
}

static int copy_kv(struct base_arena *a, struct conf_kv **kv, size_t n)
{
    if (!n) {
        *kv = NULL;
        return 0;
    }
    struct conf_kv *copy = base_arena_alloc(a, n * sizeof(*copy));
    if (!copy)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        copy[i] = (*kv)[i];
        if (copy_str(a, &copy[i].key) || copy_str(a, &copy[i].value))
            return BASE_ERR_NOMEM;
    }
    *kv = copy;
    return 0;
}

int conf_schema_copy(const struct conf_field *fields, void *obj, struct base_arena *a)
{
    for (size_t i = 0; fields && fields[i].name; i++) {
        const struct conf_field *f = &fields[i];
        void *p = at(obj, f);
        int rc = 0;
        switch (f->kind) {
        case CONF_FIELD_STRING:
        case CONF_FIELD_ID:
        case CONF_FIELD_URL:
        case CONF_FIELD_HOSTPORT:
            rc = copy_str(a, p);
            break;
        case CONF_FIELD_KV:
            rc = copy_kv(a, p, *(size_t *)((char *)obj + f->count_offset));
            break;
        case CONF_FIELD_OBJECT:
            rc = conf_schema_copy(f->fields, p, a);
            break;
        case CONF_FIELD_CUSTOM:
            rc = f->ops->copy(p, a);
            break;
        case CONF_FIELD_ENUM: /* points at a static choice */
        case CONF_FIELD_BOOL:
        case CONF_FIELD_INT:
        case CONF_FIELD_DURATION:
        case CONF_FIELD_SIZE:
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- JSON ---- */

static json_t *kv_object(const struct conf_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        if (json_object_set_new(o, kv[i].key, json_string(kv[i].value)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The JSON of one field in *out (NULL: omitted). 0 or BASE_ERR_NOMEM. */
static int field_json(const struct conf_field *f, const void *obj, json_t **out)
{
    const void *p = at_c(obj, f);
    char d[32];
    *out = NULL;
    switch (f->kind) {
    case CONF_FIELD_STRING:
    case CONF_FIELD_ID:
    case CONF_FIELD_URL:
    case CONF_FIELD_HOSTPORT:
    case CONF_FIELD_ENUM:
        if (!*(const char *const *)p)
            return 0;
        *out = json_string(*(const char *const *)p);
        break;
    case CONF_FIELD_BOOL:
        *out = json_boolean(*(const bool *)p);
        break;
    case CONF_FIELD_INT:
        *out = json_integer(*(const int *)p);
        break;
    case CONF_FIELD_DURATION:
        if (*(const int64_t *)p <= 0)
            return 0;
        *out = json_string(base_duration_format(*(const int64_t *)p, d, sizeof(d)));
        break;
    case CONF_FIELD_SIZE:
        *out = json_integer((json_int_t)*(const size_t *)p);
        break;
    case CONF_FIELD_KV:
        *out = kv_object(*(const struct conf_kv *const *)p, *(const size_t *)((const char *)obj + f->count_offset));
        break;
    case CONF_FIELD_OBJECT:
        *out = json_object();
        if (*out && conf_schema_to_json(f->fields, p, *out) != 0) {
            json_decref(*out);
            *out = NULL;
        }
        break;
    case CONF_FIELD_CUSTOM:
        return f->ops->to_json(p, out);
    }
    return *out ? 0 : BASE_ERR_NOMEM;
}

int conf_schema_to_json(const struct conf_field *fields, const void *obj, json_t *into)
{
    for (size_t i = 0; fields && fields[i].name; i++) {
        json_t *v = NULL;
        int rc = field_json(&fields[i], obj, &v);
        if (rc)
            return rc;
        if (v && json_object_set_new(into, fields[i].name, v) != 0)
            return BASE_ERR_NOMEM;
    }
    return 0;
}

/* ---- lists of strings ---- */

int conf_strings_parse(struct conf_ctx *ctx, const struct conf_node *n, const char *what, size_t item_max,
                       struct conf_strings *out)
{
    const char **items = n->n ? conf_value_alloc(ctx, n->n * sizeof(*items)) : NULL;
    if (n->n && !items)
        return -1;
    size_t ok = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        const char *t;
        size_t len;
        if (conf_value_text(ctx, it, "a string", &t, &len))
            continue;
        if ((item_max && len > item_max) || memchr(t, '\0', len)) {
            conf_value_error(ctx, it, "%s entries must be at most %zu bytes, without NUL", what, item_max);
            continue;
        }
        if (!(items[ok] = conf_value_keep(ctx, t, len)))
            return -1;
        ok++;
    }
    if (ok != n->n)
        return -1;
    out->items = items;
    out->n = ok;
    return 0;
}

void conf_strings_hash(uint64_t *h, const struct conf_strings *s)
{
    conf_schema_hash_int(h, (int64_t)s->n);
    for (size_t i = 0; i < s->n; i++)
        conf_schema_hash_str(h, s->items[i]);
}

int conf_strings_copy(struct conf_strings *s, struct base_arena *a)
{
    if (!s->n)
        return 0;
    const char **items = base_arena_alloc(a, s->n * sizeof(*items));
    if (!items)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < s->n; i++)
        if (!(items[i] = base_arena_strdup(a, s->items[i])))
            return BASE_ERR_NOMEM;
    s->items = items;
    return 0;
}

int conf_strings_json(const struct conf_strings *s, json_t **out)
{
    *out = NULL;
    if (!s->n)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < s->n; i++)
        if (json_array_append_new(arr, json_string(s->items[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    *out = arr;
    return arr ? 0 : BASE_ERR_NOMEM;
}
