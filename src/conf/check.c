/*
 * conf/check: the `checks` list of the config file: the fields every check
 * has (conf_check_common_fields), the type named by `type:` (looked up in
 * the loader's registry, never named here) and the type's own fields
 * through its table, the cross-field rules of the common fields, the
 * definition hash and deep copies for merging. Everything it builds lives
 * in the conf arena; errors go through conf_value_error and parsing goes on
 * after each one. Knows the schema, not YAML or JSON.
 */
#include "conf/conf_int.h"

#include "base/duration.h"

#include <stddef.h>
#include <string.h>

/* ---- the registry ---- */

const struct conf_check_type *conf_check_types_find(const struct conf_check_types *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n; i++)
        if (strcmp(t->items[i]->name, name) == 0)
            return t->items[i];
    return NULL;
}

int conf_check_types_index(const struct conf_check_types *t, const struct conf_check_type *type)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (t->items[i] == type)
            return (int)i;
    return -1;
}

const char *conf_check_article(const struct conf_check_type *t)
{
    const char *n = t ? t->name : "";
    /* "an http check" (aitch), "an icmp check", "a tcp check" */
    return strchr("aeiou", n[0]) || strncmp(n, "http", 4) == 0 ? "an" : "a";
}

const struct conf_check *conf_check_find(const struct conf *c, const char *id)
{
    if (c && id && c->indexed)
        return base_map_get(&c->check_index, id);
    for (size_t i = 0; c && id && i < c->n_checks; i++)
        if (c->checks[i].id && strcmp(c->checks[i].id, id) == 0)
            return &c->checks[i];
    return NULL;
}

/* ---- the common fields ---- */

static const char *label_name_bad(const char *k)
{
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z') || k[0] == '_'))
        return "label names match [a-zA-Z_][a-zA-Z0-9_]*";
    for (const char *p = k + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return "label names match [a-zA-Z_][a-zA-Z0-9_]*";
    return NULL;
}

static const char *label_value_bad(const char *v, size_t len)
{
    return len > 1024 ? "label values are at most 1024 bytes" : NULL;
}

/* `type` is read first, by conf_check_parse_one (it decides which other
 * keys are valid); the field's ops only hash and show it. */
static int type_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    return 0;
}

static void type_hash(uint64_t *h, const void *field)
{
    const struct conf_check_type *t = *(const struct conf_check_type *const *)field;
    conf_schema_hash_str(h, t ? t->name : NULL);
}

static int type_copy(void *field, struct base_arena *a)
{
    return 0; /* points at a static type */
}

static int type_json(const void *field, json_t **out)
{
    const struct conf_check_type *t = *(const struct conf_check_type *const *)field;
    *out = t ? json_string(t->name) : NULL;
    return !t || *out ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops type_ops = {type_parse, type_hash, type_copy, type_json};

enum { F_ID, F_NAME, F_PROJECT, F_TYPE, F_INTERVAL, F_TIMEOUT, F_CONFIRM, F_ENABLED, F_LABELS, F_COMMON };

const struct conf_field conf_check_common_fields[] = {
    [F_ID] = CONF_FIELD("id", CONF_FIELD_ID, offsetof(struct conf_check, id), CONF_FIELD_REQUIRED,
              "Unique id: a-z, 0-9, '.', '_', '-', at most 63 characters", .example = "web-health"),
    [F_NAME] = CONF_FIELD("name", CONF_FIELD_STRING, offsetof(struct conf_check, name), 0,
                "Display name; defaults to the id", .example = "'Web health'"),
    [F_PROJECT] = CONF_FIELD("project", CONF_FIELD_ID, offsetof(struct conf_check, project), 0,
                   "Id of the project the check belongs to", .example = "shop"),
    [F_TYPE] = CONF_FIELD("type", CONF_FIELD_CUSTOM, offsetof(struct conf_check, type), 0,
                "The check type (required): one of the types in docs/checks.md", .ops = &type_ops, .example = "http"),
    [F_INTERVAL] = CONF_FIELD("interval", CONF_FIELD_DURATION, offsetof(struct conf_check, interval_ms), 0,
                    "Time between runs (the deadline of a passive check); default 60s, 100ms to 365d",
                    .min = CONF_MIN_INTERVAL_MS, .max = CONF_MAX_INTERVAL_MS, .example = "30s"),
    [F_TIMEOUT] = CONF_FIELD("timeout", CONF_FIELD_DURATION, offsetof(struct conf_check, timeout_ms), 0,
                   "Deadline of one run, below interval; default 10s, or half the interval when "
                   "that is 10s or less", .example = "5s"),
    [F_CONFIRM] = CONF_FIELD("confirm", CONF_FIELD_INT, offsetof(struct conf_check, confirm), 0,
                   "Consecutive down samples before the status is down; default 1", .min = 1, .max = 100, .example = "3"),
    [F_ENABLED] = CONF_FIELD("enabled", CONF_FIELD_BOOL, offsetof(struct conf_check, enabled), 0,
                   "false pauses the check; default true", .example = "false"),
    [F_LABELS] = CONF_FIELD("labels", CONF_FIELD_KV, offsetof(struct conf_check, labels), 0,
                  "Labels for routing and metrics: names [a-zA-Z_][a-zA-Z0-9_]*",
                  .count_offset = offsetof(struct conf_check, n_labels), .key_bad = label_name_bad,
                  .value_bad = label_value_bad, .example = "{team: web}"),
    [F_COMMON] = CONF_FIELD_END,
};

/* ---- key names: the common fields, then every type's, once each ---- */

static int key_names(struct conf_ctx *ctx)
{
    if (ctx->check_names)
        return 0;
    const struct conf_check_types *types = ctx->conf->types;
    size_t cap = F_COMMON;
    for (size_t t = 0; types && t < types->n; t++)
        cap += conf_schema_count(types->items[t]->fields);
    const char **names = base_arena_alloc(&ctx->tmp, cap * sizeof(*names));
    if (!names) {
        ctx->nomem = true;
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < F_COMMON; i++)
        names[n++] = conf_check_common_fields[i].name;
    for (size_t t = 0; types && t < types->n; t++) {
        for (const struct conf_field *f = types->items[t]->fields; f && f->name; f++) {
            size_t j = 0;
            while (j < n && strcmp(names[j], f->name) != 0)
                j++;
            if (j == n)
                names[n++] = f->name;
        }
    }
    ctx->check_names = names;
    ctx->n_check_names = n;
    return 0;
}

/* "http, tcp" into buf. */
static const char *supported(const struct conf_check_types *types, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; types && i < types->n && o < size; i++) {
        int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", types->items[i]->name);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}

static const struct conf_check_type *parse_type(struct conf_ctx *ctx, const struct conf_node *n)
{
    const struct conf_check_types *types = ctx->conf->types;
    const char *t;
    char shown[80], list[256];
    if (conf_value_text(ctx, n, "a check type", &t, NULL))
        return NULL;
    const struct conf_check_type *type = conf_check_types_find(types, t);
    if (type)
        return type;
    supported(types, list, sizeof(list));
    const char *cands[64];
    size_t nc = 0;
    for (size_t i = 0; types && i < types->n && nc < 64; i++)
        cands[nc++] = types->items[i]->name;
    const char *hint = conf_value_suggest(t, cands, nc);
    conf_value_show(n, t, false, shown, sizeof(shown));
    if (hint)
        conf_value_error(ctx, n, "unknown check type '%s' (did you mean '%s'?)", shown, hint);
    else
        conf_value_error(ctx, n, "unknown check type '%s' (supported: %s)", shown, list);
    return NULL;
}

static void resolve_project(struct conf_ctx *ctx, const struct conf_node *n, struct conf_check *cc,
                            const struct base_map *projects)
{
    const struct conf_project *p = base_map_get(projects, cc->project);
    if (p) {
        if (!ctx->json) /* from JSON, p lives in another conf: keep the copy */
            cc->project = p->id;
        return;
    }
    if (ctx->late_projects) { /* a file read later may declare it */
        conf_project_ref_later(ctx, n, cc->project);
        return;
    }
    const char *pid = cc->project;
    cc->project = NULL;
    conf_check_unknown_project(ctx, n, pid);
}

void conf_check_unknown_project(struct conf_ctx *ctx, const struct conf_node *n, const char *pid)
{
    if (!ctx->n_projects) {
        conf_value_error(ctx, n, "unknown project '%s' (no projects are declared)", pid);
        return;
    }
    const char **ids = base_arena_alloc(&ctx->tmp, ctx->n_projects * sizeof(*ids));
    if (!ids) {
        ctx->nomem = true;
        return;
    }
    for (size_t i = 0; i < ctx->n_projects; i++)
        ids[i] = ctx->projects[i].id;
    const char *hint = conf_value_suggest(pid, ids, ctx->n_projects);
    if (hint)
        conf_value_error(ctx, n, "unknown project '%s' (did you mean '%s'?)", pid, hint);
    else
        conf_value_error(ctx, n, "unknown project '%s'", pid);
}

static void set_common_defaults(struct conf_check *cc)
{
    memset(cc, 0, sizeof(*cc));
    cc->interval_ms = CONF_DEFAULT_INTERVAL_MS;
    cc->timeout_ms = CONF_DEFAULT_TIMEOUT_MS;
    cc->confirm = 1;
    cc->enabled = true;
}

/* The common fields from vals (aligned with conf_check_common_fields). */
static void parse_common(struct conf_ctx *ctx, const struct conf_node *node, const struct conf_node **vals,
                         struct conf_check *cc, struct base_map *ids, const struct base_map *projects)
{
    int ok[F_COMMON];
    for (int i = 0; i < F_COMMON; i++) {
        ok[i] = 0;
        if (vals[i])
            ok[i] = conf_schema_parse_field(ctx, vals[i], &conf_check_common_fields[i], cc) == 0;
        else if (conf_check_common_fields[i].flags & CONF_FIELD_REQUIRED)
            conf_value_error_member(ctx, node, conf_check_common_fields[i].name, "check is missing '%s'",
                                    conf_check_common_fields[i].name);
    }
    if (ok[F_ID])
        conf_value_unique(ctx, ids, cc->id, vals[F_ID], "check id");
    if (!cc->name)
        cc->name = cc->id;
    if (ok[F_PROJECT])
        resolve_project(ctx, vals[F_PROJECT], cc, projects);
    else
        cc->project = NULL;
    char a[32], b[32];
    if (vals[F_TIMEOUT] && ok[F_TIMEOUT]) {
        if ((!vals[F_INTERVAL] || ok[F_INTERVAL]) && cc->timeout_ms >= cc->interval_ms)
            conf_value_error(ctx, vals[F_TIMEOUT], "timeout (%s) must be less than interval (%s)",
                             base_duration_format(cc->timeout_ms, a, sizeof(a)),
                             base_duration_format(cc->interval_ms, b, sizeof(b)));
    } else if (!vals[F_TIMEOUT] && cc->interval_ms <= CONF_DEFAULT_TIMEOUT_MS) {
        /* Short intervals get half the interval so a run never overlaps the next. */
        cc->timeout_ms = cc->interval_ms / 2;
    }
}

/* The type's own fields: vals holds the node of every known key (indexed
 * like ctx->check_names). */
static void parse_settings(struct conf_ctx *ctx, const struct conf_node *node, const struct conf_node **vals,
                           struct conf_check *cc)
{
    const struct conf_check_type *t = cc->type;
    size_t n = conf_schema_count(t->fields);
    const struct conf_node **mine = base_arena_calloc(&ctx->tmp, (n ? n : 1) * sizeof(*mine));
    cc->settings = conf_value_alloc(ctx, t->settings_size ? t->settings_size : 1);
    if (!mine || !cc->settings || (t->init && t->init(cc->settings, &ctx->conf->arena) != 0)) {
        ctx->nomem = true;
        return;
    }
    for (size_t k = F_COMMON; k < ctx->n_check_names; k++) {
        if (!vals[k])
            continue;
        size_t i = 0;
        while (i < n && strcmp(t->fields[i].name, ctx->check_names[k]) != 0)
            i++;
        if (i < n)
            mine[i] = vals[k];
        else
            conf_value_error(ctx, vals[k]->key, "'%s' is not valid for %s %s check", ctx->check_names[k],
                             conf_check_article(t), t->name);
    }
    char what[64];
    snprintf(what, sizeof(what), "%s check", t->name);
    conf_schema_parse_vals(ctx, node, t->fields, mine, cc->settings, what);
    if (t->validate)
        t->validate(ctx, node, cc);
}

void conf_check_parse_one(struct conf_ctx *ctx, const struct conf_node *node, struct conf_check *cc,
                          struct base_map *ids, const struct base_map *projects)
{
    set_common_defaults(cc);
    cc->line = node->line;
    cc->col = node->col;
    if (key_names(ctx))
        return;
    const struct conf_node **vals = base_arena_calloc(&ctx->tmp, ctx->n_check_names * sizeof(*vals));
    if (!vals) {
        ctx->nomem = true;
        return;
    }
    conf_value_fields(ctx, node, ctx->check_names, ctx->n_check_names, vals);
    char list[256];
    if (!vals[F_TYPE])
        conf_value_error_member(ctx, node, "type", "check is missing 'type' (supported: %s)",
                                supported(ctx->conf->types, list, sizeof(list)));
    else
        cc->type = parse_type(ctx, vals[F_TYPE]);
    parse_common(ctx, node, vals, cc, ids, projects);
    if (!cc->type)
        return;
    parse_settings(ctx, node, vals, cc);
    cc->hash = conf_check_compute_hash(cc);
}

/* ---- hash, copy, JSON: all from the tables ---- */

uint64_t conf_check_compute_hash(const struct conf_check *cc)
{
    uint64_t h = CONF_SCHEMA_HASH_INIT;
    conf_schema_hash(&h, conf_check_common_fields, cc);
    if (cc->type && cc->settings)
        conf_schema_hash(&h, cc->type->fields, cc->settings);
    return h;
}

int conf_check_copy(struct conf_check *dst, const struct conf_check *src, struct base_arena *a,
                    const char *project)
{
    *dst = *src;
    dst->project = NULL;
    if (conf_schema_copy(conf_check_common_fields, dst, a) != 0)
        return BASE_ERR_NOMEM;
    dst->project = project;
    if (src->name == src->id) /* name defaults to id: keep them one string, as the loader does */
        dst->name = dst->id;
    if (!src->type || !src->settings)
        return 0;
    dst->settings = base_arena_alloc(a, src->type->settings_size ? src->type->settings_size : 1);
    if (!dst->settings)
        return BASE_ERR_NOMEM;
    memcpy(dst->settings, src->settings, src->type->settings_size);
    return conf_schema_copy(src->type->fields, dst->settings, a);
}

json_t *conf_check_to_json(const struct conf_check *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (conf_schema_to_json(conf_check_common_fields, c, o) != 0 ||
        (c->type && c->settings && conf_schema_to_json(c->type->fields, c->settings, o) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}
