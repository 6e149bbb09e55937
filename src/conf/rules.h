/*
 * conf/rules: alert and recording rules as the configuration holds them:
 * the `alerts:` list of opshub.yaml (the shorthand on a check, or PromQL)
 * and the Prometheus rule files that `rule_files:` names, read unchanged
 * (groups: name, interval, rules: alert|record, expr, for,
 * keep_firing_for, labels, annotations). Expressions are kept as text with
 * their position: their PromQL is checked by the rules layer after the
 * load (rules/rules.h), which reports at the expression's FILE:LINE:COL.
 */
#ifndef CONF_RULES_H
#define CONF_RULES_H

#include "conf/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_RULE_GROUPS_MAX 10000
#define CONF_RULES_MAX 100000          /* across every group */
#define CONF_RULE_FILES_MAX 1000
#define CONF_RULE_INTERVAL_MS 15000    /* evaluation_interval's default */

enum conf_rule_kind { CONF_RULE_ALERT, CONF_RULE_RECORD };
enum conf_rule_when { CONF_WHEN_NONE, CONF_WHEN_DOWN, CONF_WHEN_DEGRADED, CONF_WHEN_NOT_UP };

struct conf_rule {
    enum conf_rule_kind kind;
    const char *name;             /* the alert's name, or the recorded series' */
    const char *expr;             /* PromQL (a shorthand's is built from check and when) */
    int64_t for_ms, keep_firing_for_ms;
    struct conf_kv *labels;
    size_t n_labels;
    struct conf_kv *annotations;
    size_t n_annotations;
    const char *file;             /* where the rule is */
    int line, col;
    int expr_line, expr_col;      /* where its expr is; 0 for a shorthand */
    const char *check;            /* the shorthand's check id, or NULL */
    enum conf_rule_when when;
};

struct conf_rule_group {
    const char *name;
    const char *file;             /* NULL: the `alerts:` of the configuration */
    int64_t interval_ms;          /* 0: the configuration's evaluation_interval */
    struct conf_rule *rules;
    size_t n_rules;
};

struct conf_ctx;
struct conf_node;

/* One item of `alerts:` into *out: false when it is not one (reported). */
bool conf_rules_parse_alert(struct conf_ctx *ctx, const struct conf_node *item, struct conf_rule *out);
/* A rule file's tree: its groups appended to *groups (conf arena). */
void conf_rules_parse_file(struct conf_ctx *ctx, const struct conf_node *root, const char *path,
                           struct conf_rule_group **groups, size_t *n_groups);

#endif
