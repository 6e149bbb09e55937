/*
 * conf/rules: the `alerts:` items and Prometheus rule files (see
 * conf/rules.h). Every bad value is reported at its FILE:LINE:COL; a rule
 * file's unknown keys too, so a typo never silently drops a rule.
 */
#include "conf/rules.h"

#include "conf/conf_int.h"

#include <stdio.h>
#include <string.h>

const char *conf_label_name_bad(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
        return "a label name starts with a letter or _";
    for (const char *p = k + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (*p >= '0' && *p <= '9')))
            return "a label name holds only letters, digits and _";
    if (strncmp(k, "__", 2) == 0)
        return "names starting with __ are reserved";
    return NULL;
}

static bool metric_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':' ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* A duration where 0 is allowed (for: 0s). */
static void duration0(struct conf_ctx *ctx, const struct conf_node *n, int64_t *ms)
{
    const char *t;
    size_t len;
    if (n->kind == CONF_NODE_SCALAR && conf_value_text(ctx, n, "duration", &t, &len) == 0 &&
        (strcmp(t, "0") == 0 || strcmp(t, "0s") == 0 || strcmp(t, "0m") == 0)) {
        *ms = 0;
        return;
    }
    conf_value_duration(ctx, n, ms);
}

static void expr_of(struct conf_ctx *ctx, const struct conf_node *n, struct conf_rule *r)
{
    if (n->kind != CONF_NODE_SCALAR || conf_value_is_null(n)) {
        conf_value_error(ctx, n, "expr must be a PromQL expression (a string), got %s", conf_value_kind_name(n));
        return;
    }
    conf_value_string(ctx, n, &r->expr);
    r->expr_line = n->line;
    r->expr_col = n->col;
}

static const char *any_key(const char *k)
{
    return *k ? NULL : "an empty name";
}

static const char *any_value(const char *v, size_t len)
{
    (void)v;
    return len > 64 * 1024 ? "longer than 64 KiB" : NULL;
}

static void kv(struct conf_ctx *ctx, const struct conf_node *n, struct conf_kv **out, size_t *n_out, bool names)
{
    conf_value_kv(ctx, n, names ? conf_label_name_bad : any_key, any_value, out, n_out);
}

enum { A_ALERT, A_EXPR, A_CHECK, A_WHEN, A_FOR, A_KEEP, A_SEVERITY, A_LABELS, A_ANNOTATIONS, A_COUNT };

bool conf_rules_parse_alert(struct conf_ctx *ctx, const struct conf_node *item, struct conf_rule *out)
{
    static const char *const names[A_COUNT] = {"alert", "expr", "check", "when", "for", "keep_firing_for",
                                               "severity", "labels", "annotations"};
    static const char *const whens[] = {"down", "degraded", "not_up"};
    const struct conf_node *f[A_COUNT];
    memset(out, 0, sizeof(*out));
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return false;
    conf_value_fields(ctx, item, names, A_COUNT, f);
    out->kind = CONF_RULE_ALERT;
    out->file = item->file;
    out->line = item->line;
    out->col = item->col;
    if (!f[A_ALERT])
        conf_value_error_member(ctx, item, "alert", "an alert needs a name: alert: ApiDown");
    else if (conf_value_string(ctx, f[A_ALERT], &out->name) == 0 && !out->name[0])
        conf_value_error(ctx, f[A_ALERT], "alert must not be empty");
    if (f[A_EXPR] && (f[A_CHECK] || f[A_WHEN]))
        conf_value_error(ctx, f[A_EXPR]->key, "give either expr (PromQL) or check and when (the shorthand), not both");
    else if (f[A_EXPR])
        expr_of(ctx, f[A_EXPR], out);
    else if (!f[A_CHECK] || !f[A_WHEN])
        conf_value_error_member(ctx, item, f[A_CHECK] ? "when" : "check",
                                "an alert needs expr (PromQL), or check and when (down, degraded or not_up)");
    else {
        size_t w = 0;
        conf_value_id(ctx, f[A_CHECK], &out->check);
        if (conf_value_choice(ctx, f[A_WHEN], "when", whens, 3, &w) == 0) {
            out->when = (enum conf_rule_when)(w + 1);
            static const char *const ops[] = {"== 2", "== 1", "> 0"};
            char buf[160];
            if (out->check) {
                snprintf(buf, sizeof(buf), "opshub_check_status{check=\"%s\"} %s", out->check, ops[w]);
                out->expr = conf_value_keep(ctx, buf, strlen(buf));
            }
        }
    }
    if (f[A_FOR])
        duration0(ctx, f[A_FOR], &out->for_ms);
    if (f[A_KEEP])
        duration0(ctx, f[A_KEEP], &out->keep_firing_for_ms);
    if (f[A_LABELS])
        kv(ctx, f[A_LABELS], &out->labels, &out->n_labels, true);
    if (f[A_ANNOTATIONS])
        kv(ctx, f[A_ANNOTATIONS], &out->annotations, &out->n_annotations, false);
    if (f[A_SEVERITY]) {
        const char *sev = NULL;
        for (size_t i = 0; i < out->n_labels; i++)
            if (strcmp(out->labels[i].key, "severity") == 0)
                conf_value_error(ctx, f[A_SEVERITY]->key, "severity is given twice (here and in labels)");
        if (conf_value_string(ctx, f[A_SEVERITY], &sev) == 0) {
            struct conf_kv *l = conf_value_alloc(ctx, (out->n_labels + 1) * sizeof(*l));
            if (l) {
                if (out->n_labels)
                    memcpy(l, out->labels, out->n_labels * sizeof(*l));
                l[out->n_labels++] = (struct conf_kv){"severity", sev};
                out->labels = l;
            }
        }
    }
    return true;
}

enum { R_ALERT, R_RECORD, R_EXPR, R_FOR, R_KEEP, R_LABELS, R_ANNOTATIONS, R_COUNT };

static bool parse_rule(struct conf_ctx *ctx, const struct conf_node *n, struct conf_rule *r)
{
    static const char *const names[R_COUNT] = {"alert", "record", "expr", "for", "keep_firing_for", "labels",
                                               "annotations"};
    const struct conf_node *f[R_COUNT];
    memset(r, 0, sizeof(*r));
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return false;
    conf_value_fields(ctx, n, names, R_COUNT, f);
    r->file = n->file;
    r->line = n->line;
    r->col = n->col;
    if (f[R_ALERT] && f[R_RECORD]) {
        conf_value_error(ctx, f[R_RECORD]->key, "a rule is either an alert or a record, not both");
        return false;
    }
    if (!f[R_ALERT] && !f[R_RECORD]) {
        conf_value_error_member(ctx, n, "alert", "a rule needs alert: NAME or record: NAME");
        return false;
    }
    r->kind = f[R_ALERT] ? CONF_RULE_ALERT : CONF_RULE_RECORD;
    const struct conf_node *name = f[R_ALERT] ? f[R_ALERT] : f[R_RECORD];
    if (conf_value_string(ctx, name, &r->name) == 0) {
        if (!r->name[0])
            conf_value_error(ctx, name, "the rule's name must not be empty");
        else if (r->kind == CONF_RULE_RECORD && !metric_name_ok(r->name))
            conf_value_error(ctx, name, "invalid recording rule name '%s': a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                             r->name);
    }
    if (!f[R_EXPR])
        conf_value_error_member(ctx, n, "expr", "a rule needs expr: a PromQL expression");
    else
        expr_of(ctx, f[R_EXPR], r);
    if (r->kind == CONF_RULE_RECORD) {
        for (int k = R_FOR; k <= R_ANNOTATIONS; k++)
            if (f[k] && k != R_LABELS)
                conf_value_error(ctx, f[k]->key, "'%s' is for alerting rules only, not for record", names[k]);
    }
    if (f[R_FOR])
        duration0(ctx, f[R_FOR], &r->for_ms);
    if (f[R_KEEP])
        duration0(ctx, f[R_KEEP], &r->keep_firing_for_ms);
    if (f[R_LABELS])
        kv(ctx, f[R_LABELS], &r->labels, &r->n_labels, true);
    if (f[R_ANNOTATIONS])
        kv(ctx, f[R_ANNOTATIONS], &r->annotations, &r->n_annotations, false);
    return true;
}

static void parse_group(struct conf_ctx *ctx, const struct conf_node *n, const char *path,
                        struct conf_rule_group *g)
{
    static const char *const names[] = {"name", "interval", "rules", "limit"};
    const struct conf_node *f[4];
    memset(g, 0, sizeof(*g));
    g->file = path;
    g->interval_ms = 0;   /* the configuration's evaluation_interval */
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, n, names, 4, f);
    if (!f[0])
        conf_value_error_member(ctx, n, "name", "a group needs a name");
    else
        conf_value_string(ctx, f[0], &g->name);
    if (f[1])
        conf_value_duration(ctx, f[1], &g->interval_ms);
    if (f[3])
        conf_value_error(ctx, f[3]->key, "'limit' is not supported by opshub (every alert of a rule is kept)");
    if (!f[2] || conf_value_is_null(f[2]))
        return;
    if (conf_value_expect(ctx, f[2], CONF_NODE_SEQ))
        return;
    g->rules = conf_value_alloc(ctx, (f[2]->n ? f[2]->n : 1) * sizeof(*g->rules));
    if (!g->rules)
        return;
    for (const struct conf_node *r = f[2]->child; r; r = r->next)
        if (parse_rule(ctx, r, &g->rules[g->n_rules]))
            g->n_rules++;
}

void conf_rules_parse_file(struct conf_ctx *ctx, const struct conf_node *root, const char *path,
                           struct conf_rule_group **groups, size_t *n_groups)
{
    static const char *const names[] = {"groups"};
    const struct conf_node *f[1];
    if (!root)
        return;   /* an empty file: no groups */
    if (conf_value_expect(ctx, root, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, root, names, 1, f);
    if (!f[0] || conf_value_is_null(f[0]) || conf_value_expect(ctx, f[0], CONF_NODE_SEQ))
        return;
    if (*n_groups + f[0]->n > CONF_RULE_GROUPS_MAX) {
        conf_value_error(ctx, f[0], "more than %d rule groups", CONF_RULE_GROUPS_MAX);
        return;
    }
    struct conf_rule_group *all = conf_value_alloc(ctx, (*n_groups + f[0]->n) * sizeof(*all));
    if (!all)
        return;
    if (*n_groups)
        memcpy(all, *groups, *n_groups * sizeof(*all));
    size_t first = *n_groups;
    for (const struct conf_node *g = f[0]->child; g; g = g->next) {
        struct conf_rule_group *gr = &all[*n_groups];
        parse_group(ctx, g, path, gr);
        for (size_t i = first; gr->name && i < *n_groups; i++)
            if (all[i].name && strcmp(all[i].name, gr->name) == 0)
                conf_value_error(ctx, conf_value_member(g, "name"), "%s: group name '%s' is used twice", path,
                                 gr->name);
        (*n_groups)++;
    }
    *groups = all;
}
