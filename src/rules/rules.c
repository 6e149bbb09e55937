/*
 * rules/rules: the engine of rules/rules.h. Each group is a timer; an
 * evaluation runs every rule of the group in order at one time (so a
 * recording rule's output is visible to the rules after it, as in
 * Prometheus), writes its series, and moves each alert through its states.
 * What a rule wrote last time and not this time gets a stale marker, so
 * ALERTS{alertstate="pending"} ends when the alert fires or goes.
 */
#include "rules/rules.h"
#include "rules/promql.h"
#include "rules/template.h"

#include "base/alloc.h"
#include "base/arena.h"
#include "base/log.h"
#include "base/map.h"
#include "base/time.h"
#include "model/event.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RULE_ERROR_MAX 320
#define ALERTS_PER_RULE_MAX 100000

/* A label set owned in one block, sorted by name. */
struct lblock {
    size_t n;
    uint64_t hash;
    struct series_label l[];
};

struct alert {
    struct lblock *labels;     /* alertname and the rule's labels included */
    struct lblock *ann;        /* the annotations, expanded at the last evaluation (names as labels) */
    enum event_alert_state state;
    double value;
    int64_t active_at, fired_at, last_seen;
    int64_t keep_since;        /* the first evaluation without the condition while firing; 0: none */
    bool seen;
};

/* The series a rule wrote in its last evaluation. */
struct written {
    struct lblock **sets;
    size_t n;
};

struct rule {
    enum conf_rule_kind kind;
    const char *name, *expr_text, *file;
    int line;
    struct promql_expr *expr;
    int64_t for_ms, keep_ms;
    struct conf_kv *labels;
    size_t n_labels;
    struct conf_kv *ann;
    size_t n_ann;
    struct template **ann_tpl;   /* per annotation; NULL where it holds no {{ }} */
    struct template **label_tpl; /* per label, the same */
    struct alert **alerts;
    size_t n_alerts, cap_alerts;
    struct written out;
    bool evaluated, failed;
    char last_error[RULE_ERROR_MAX];
    int64_t last_eval;
    double eval_s;
};

struct group {
    struct rules_engine *e;
    const char *name, *file;
    int64_t interval_ms;
    struct rule *rules;
    size_t n_rules;
    uv_timer_t timer;
    struct base_arena arena;
    int64_t last_eval;
    double eval_s;
};

struct rules_engine {
    uv_loop_t *loop;
    struct series_db *db;
    struct event_bus *bus;
    struct group **groups;
    size_t n_groups;
    size_t closing;            /* timers not yet closed */
    void (*close_cb)(void *);
    void *close_data;
    uint64_t evaluations, failures, restored;
    bool held;
    struct lblock *external;   /* external_labels, for $externalLabels; NULL: none */
    struct template_kv *ext_kv;
};

/* ---- label blocks ---- */

/* A block of l[0..n) (sorted here; empty values dropped). */
static struct lblock *lblock_new(struct series_label *l, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0; j--) {
            struct series_label t = l[j];
            l[j] = l[j - 1];
            l[j - 1] = t;
        }
    size_t bytes = sizeof(struct lblock), kept = 0;
    for (size_t i = 0; i < n; i++)
        if (l[i].value[0]) {
            bytes += sizeof(struct series_label) + strlen(l[i].name) + strlen(l[i].value) + 2;
            l[kept++] = l[i];
        }
    struct lblock *b = base_malloc(bytes);
    if (!b)
        return NULL;
    b->n = kept;
    b->hash = BASE_HASH_SEED;
    char *p = (char *)&b->l[kept];
    for (size_t i = 0; i < kept; i++) {
        size_t a = strlen(l[i].name) + 1, v = strlen(l[i].value) + 1;
        b->l[i].name = memcpy(p, l[i].name, a);
        p += a;
        b->l[i].value = memcpy(p, l[i].value, v);
        p += v;
        b->hash = base_hash_more(base_hash_more(b->hash, b->l[i].name), b->l[i].value);
    }
    return b;
}

static bool lblock_equal(const struct lblock *a, const struct lblock *b)
{
    if (a->hash != b->hash || a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->l[i].name, b->l[i].name) || strcmp(a->l[i].value, b->l[i].value))
            return false;
    return true;
}

/* The labels of a result sample for the rule: without __name__, with the
 * rule's labels over them, and `extra` (alertname or __name__). */
static struct lblock *rule_labels(const struct rule *r, const struct series_label *in, size_t n_in,
                                  const char *extra_name, const char *extra_value, char *const *expanded)
{
    struct series_label l[SERIES_LABELS_MAX * 2 + 2];
    size_t n = 0;
    for (size_t i = 0; i < n_in && n < SERIES_LABELS_MAX; i++) {
        if (strcmp(in[i].name, "__name__") == 0)
            continue;
        bool overridden = false;
        for (size_t k = 0; k < r->n_labels; k++)
            overridden |= strcmp(r->labels[k].key, in[i].name) == 0;
        if (!overridden && strcmp(in[i].name, extra_name) != 0)
            l[n++] = in[i];
    }
    for (size_t k = 0; k < r->n_labels && n < SERIES_LABELS_MAX * 2; k++)
        if (strcmp(r->labels[k].key, extra_name) != 0)
            l[n++] = (struct series_label){r->labels[k].key,
                                           expanded && expanded[k] ? expanded[k] : r->labels[k].value};
    l[n++] = (struct series_label){extra_name, extra_value};
    return lblock_new(l, n);
}

/* ---- what a rule writes ---- */

static void written_free(struct written *w)
{
    for (size_t i = 0; i < w->n; i++)
        base_free(w->sets[i]);
    base_free(w->sets);
    w->sets = NULL;
    w->n = 0;
}

static void put(struct rules_engine *e, const struct lblock *b, int64_t t, double v)
{
    (void)series_db_append(e->db, b->l, b->n, t, v);
}

/* Stale markers for what `old` has and `now` has not, then old = now. */
static void written_swap(struct rules_engine *e, struct written *old, struct written *now, int64_t t)
{
    for (size_t i = 0; i < old->n; i++) {
        bool kept = false;
        for (size_t k = 0; k < now->n && !kept; k++)
            kept = lblock_equal(old->sets[i], now->sets[k]);
        if (!kept)
            put(e, old->sets[i], t, series_stale_nan());
    }
    written_free(old);
    *old = *now;
    now->sets = NULL;
    now->n = 0;
}

static void written_add(struct written *w, struct lblock *b, size_t cap)
{
    if (!b)
        return;
    if (w->n >= cap) {
        base_free(b);
        return;
    }
    w->sets[w->n++] = b;
}

/* ---- alerts ---- */

static void alert_free(struct alert *a)
{
    if (!a)
        return;
    base_free(a->labels);
    base_free(a->ann);
    base_free(a);
}

/* The template data of a result sample: its labels without __name__, the value. */
static size_t template_labels(const struct series_label *l, size_t n, struct template_kv *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++)
        if (strcmp(l[i].name, "__name__") != 0)
            out[k++] = (struct template_kv){l[i].name, l[i].value};
    return k;
}

/* Expands the templates of values[i] (tpl[i] NULL: as written) into
 * malloc'd strings in out[i] (NULL when plain). */
static void expand_all(struct template *const *tpl, size_t n, const struct template_data *d, char **out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (!tpl || !tpl[i])
            continue;
        char *buf = base_malloc(TEMPLATE_TEXT_MAX);
        if (!buf)
            continue;
        template_expand(tpl[i], d, buf, TEMPLATE_TEXT_MAX);   /* an error is its own text */
        size_t len = strlen(buf);
        out[i] = base_realloc(buf, len + 1);
        if (!out[i])
            out[i] = buf;
    }
}

static void strings_free(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        base_free(s[i]);
}

static void publish_names(struct rules_engine *e, const char *group, const char *rule, struct alert *a,
                          enum event_alert_state prev, int64_t now)
{
    if (!e->bus)
        return;
    struct event_alert_label ann[64];
    size_t na = 0;
    for (size_t i = 0; a->ann && i < a->ann->n && na < 64; i++)
        ann[na++] = (struct event_alert_label){a->ann->l[i].name, a->ann->l[i].value};
    struct event ev = {.kind = EVENT_ALERT};
    ev.u.alert = (struct event_alert){
        .group = group, .rule = rule,
        .labels = (const struct event_alert_label *)a->labels->l, .n_labels = a->labels->n,
        .annotations = ann, .n_annotations = na, .state = a->state, .previous = prev, .value = a->value,
        .active_at_ms = a->active_at, .at_ms = now,
    };
    event_publish(e->bus, &ev);
    const char *names[] = {"inactive", "pending", "firing", "resolved"};
    base_log_info("alert", BASE_LOG_STR("alert", rule), BASE_LOG_STR("group", group),
                  BASE_LOG_STR("from", names[prev]), BASE_LOG_STR("to", names[a->state]));
}

static void publish(struct group *g, struct rule *r, struct alert *a, enum event_alert_state prev, int64_t now)
{
    publish_names(g->e, g->name, r->name, a, prev, now);
}

/* The end of an alert whose rule is gone (a reload, or a restart with
 * another configuration): firing ones resolve, pending ones end. */
static void publish_end(struct rules_engine *e, const char *group, const char *rule, struct alert *a, int64_t now)
{
    enum event_alert_state prev = a->state;
    a->state = prev == EVENT_ALERT_FIRING ? EVENT_ALERT_RESOLVED : EVENT_ALERT_INACTIVE;
    publish_names(e, group, rule, a, prev, now);
}

static struct alert *find_alert(struct rule *r, const struct lblock *b)
{
    for (size_t i = 0; i < r->n_alerts; i++)
        if (lblock_equal(r->alerts[i]->labels, b))
            return r->alerts[i];
    return NULL;
}

static bool add_alert(struct rule *r, struct alert *a)
{
    if (r->n_alerts == r->cap_alerts) {
        size_t cap = r->cap_alerts ? r->cap_alerts * 2 : 8;
        struct alert **na = cap <= ALERTS_PER_RULE_MAX ? base_realloc(r->alerts, cap * sizeof(*na)) : NULL;
        if (!na)
            return false;
        r->alerts = na;
        r->cap_alerts = cap;
    }
    r->alerts[r->n_alerts++] = a;
    return true;
}

static void eval_alerting(struct group *g, struct rule *r, const struct promql_result *res, int64_t now)
{
    for (size_t i = 0; i < r->n_alerts; i++)
        r->alerts[i]->seen = false;
    size_t n = res->type == PROMQL_SCALAR ? 1 : res->n;
    for (size_t i = 0; i < n; i++) {
        const struct series_label *l = res->type == PROMQL_SCALAR ? NULL : res->series[i].labels;
        size_t nl = res->type == PROMQL_SCALAR ? 0 : res->series[i].n_labels;
        double v = res->type == PROMQL_SCALAR ? res->scalar : res->series[i].v[0];
        struct template_kv tl[SERIES_LABELS_MAX];
        size_t n_ext = g->e->external ? g->e->external->n : 0;
        struct template_data td = {v, tl, template_labels(l, nl, tl, SERIES_LABELS_MAX), g->e->ext_kv, n_ext, NULL, 0, NULL, 0};
        char *lv[64] = {0};
        expand_all(r->label_tpl, r->n_labels < 64 ? r->n_labels : 64, &td, lv);
        struct lblock *b = rule_labels(r, l, nl, "alertname", r->name, lv);
        strings_free(lv, r->n_labels < 64 ? r->n_labels : 64);
        if (!b)
            continue;
        /* the annotations see the alert's labels, as Prometheus' $labels does */
        struct template_kv al[SERIES_LABELS_MAX * 2 + 2];
        size_t nal = 0;
        for (size_t k = 0; k < b->n && nal < sizeof(al) / sizeof(al[0]); k++)
            if (strcmp(b->l[k].name, "alertname") != 0)
                al[nal++] = (struct template_kv){b->l[k].name, b->l[k].value};
        struct template_data ad = {v, al, nal, g->e->ext_kv, n_ext, NULL, 0, NULL, 0};
        char *av[64] = {0};
        size_t n_av = r->n_ann < 64 ? r->n_ann : 64;
        expand_all(r->ann_tpl, n_av, &ad, av);
        struct series_label annl[64];
        for (size_t k = 0; k < n_av; k++)
            annl[k] = (struct series_label){r->ann[k].key, av[k] ? av[k] : r->ann[k].value};
        struct lblock *ann = lblock_new(annl, n_av);
        strings_free(av, n_av);
        struct alert *a = find_alert(r, b);
        if (a) {
            base_free(b);
            base_free(a->ann);
            a->ann = ann;
        } else {
            if (!(a = base_calloc(1, sizeof(*a))) || !add_alert(r, a)) {
                base_free(a);
                base_free(b);
                base_free(ann);
                continue;
            }
            a->labels = b;
            a->ann = ann;
            a->state = EVENT_ALERT_PENDING;
            a->active_at = now;
            a->value = v;
            if (r->for_ms > 0)
                publish(g, r, a, EVENT_ALERT_INACTIVE, now);
        }
        a->seen = true;
        a->value = v;
        a->last_seen = now;
        a->keep_since = 0;
        if (a->state == EVENT_ALERT_PENDING && now - a->active_at >= r->for_ms) {
            a->state = EVENT_ALERT_FIRING;
            a->fired_at = now;
            publish(g, r, a, r->for_ms > 0 ? EVENT_ALERT_PENDING : EVENT_ALERT_INACTIVE, now);
        }
    }
    /* gone: pending ones end quietly, firing ones resolve after keep_firing_for */
    size_t w = 0;
    for (size_t i = 0; i < r->n_alerts; i++) {
        struct alert *a = r->alerts[i];
        /* as Prometheus: kept from the first evaluation without it until keep_firing_for has passed */
        if (!a->seen && a->state == EVENT_ALERT_FIRING && r->keep_ms > 0) {
            if (!a->keep_since)
                a->keep_since = now;
            if (now - a->keep_since < r->keep_ms)
                a->seen = true;
        }
        if (!a->seen) {
            enum event_alert_state prev = a->state;
            a->state = prev == EVENT_ALERT_FIRING ? EVENT_ALERT_RESOLVED : EVENT_ALERT_INACTIVE;
            publish(g, r, a, prev, now);
            alert_free(a);
            continue;
        }
        r->alerts[w++] = a;
    }
    r->n_alerts = w;
    /* ALERTS and ALERTS_FOR_STATE */
    struct written now_out = {base_calloc(2 * (w ? w : 1), sizeof(struct lblock *)), 0};
    for (size_t i = 0; now_out.sets && i < w; i++) {
        struct alert *a = r->alerts[i];
        const char *state = a->state == EVENT_ALERT_FIRING ? "firing" : "pending";
        struct series_label l[SERIES_LABELS_MAX * 2 + 2];
        size_t nl = 0;
        for (size_t k = 0; k < a->labels->n && nl < SERIES_LABELS_MAX * 2; k++)
            l[nl++] = a->labels->l[k];
        l[nl++] = (struct series_label){"__name__", "ALERTS"};
        l[nl++] = (struct series_label){"alertstate", state};
        struct lblock *s1 = lblock_new(l, nl);   /* sorts l: build the next set afresh */
        if (s1)
            put(g->e, s1, now, 1);
        written_add(&now_out, s1, 2 * w);
        nl = 0;
        for (size_t k = 0; k < a->labels->n && nl < SERIES_LABELS_MAX * 2; k++)
            l[nl++] = a->labels->l[k];
        l[nl++] = (struct series_label){"__name__", "ALERTS_FOR_STATE"};
        struct lblock *s2 = lblock_new(l, nl);
        if (s2)
            put(g->e, s2, now, (double)a->active_at / 1000);
        written_add(&now_out, s2, 2 * w);
    }
    if (now_out.sets)
        written_swap(g->e, &r->out, &now_out, now);
}

static void eval_recording(struct group *g, struct rule *r, const struct promql_result *res, int64_t now)
{
    size_t n = res->type == PROMQL_SCALAR ? 1 : res->n;
    struct written now_out = {base_calloc(n ? n : 1, sizeof(struct lblock *)), 0};
    if (!now_out.sets)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct series_label *l = res->type == PROMQL_SCALAR ? NULL : res->series[i].labels;
        size_t nl = res->type == PROMQL_SCALAR ? 0 : res->series[i].n_labels;
        double v = res->type == PROMQL_SCALAR ? res->scalar : res->series[i].v[0];
        struct lblock *b = rule_labels(r, l, nl, "__name__", r->name, NULL);
        if (b)
            put(g->e, b, now, v);
        written_add(&now_out, b, n);
    }
    written_swap(g->e, &r->out, &now_out, now);
}

static void eval_group(struct group *g)
{
    int64_t now = base_time_now_ms();
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < g->n_rules; i++) {
        struct rule *r = &g->rules[i];
        uint64_t r0 = uv_hrtime();
        struct promql_result res;
        struct promql_error err;
        int rc = promql_eval_instant(g->e->db, r->expr, now, NULL, &res, &err);
        r->evaluated = true;
        r->last_eval = now;
        g->e->evaluations++;
        if (rc) {
            /* as Prometheus: the alerts keep their state until an evaluation works */
            r->failed = true;
            snprintf(r->last_error, sizeof(r->last_error), "%s", err.msg);
            g->e->failures++;
        } else {
            r->failed = false;
            r->last_error[0] = 0;
            if (r->kind == CONF_RULE_ALERT)
                eval_alerting(g, r, &res, now);
            else
                eval_recording(g, r, &res, now);
        }
        promql_result_free(&res);
        r->eval_s = (double)(uv_hrtime() - r0) / 1e9;
    }
    g->last_eval = now;
    g->eval_s = (double)(uv_hrtime() - t0) / 1e9;
}

static void on_timer(uv_timer_t *t)
{
    struct group *g = t->data;
    if (!g->e->held)
        eval_group(g);
}

void rules_hold(struct rules_engine *e, bool hold)
{
    e->held = hold;
}

/* ---- building and replacing the rule set ---- */

static void templates_free(struct template **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        template_free(t[i]);
    base_free(t);
}

static void rule_free(struct rule *r)
{
    promql_expr_free(r->expr);
    templates_free(r->ann_tpl, r->n_ann);
    templates_free(r->label_tpl, r->n_labels);
    for (size_t i = 0; i < r->n_alerts; i++)
        alert_free(r->alerts[i]);
    base_free(r->alerts);
    written_free(&r->out);
}

static void group_free(struct group *g)
{
    for (size_t i = 0; i < g->n_rules; i++)
        rule_free(&g->rules[i]);
    base_free(g->rules);
    base_arena_free(&g->arena);
    base_free(g);
}

static struct conf_kv *copy_kv(struct base_arena *a, const struct conf_kv *kv, size_t n)
{
    struct conf_kv *out = base_arena_alloc(a, (n ? n : 1) * sizeof(*out));
    for (size_t i = 0; out && i < n; i++) {
        out[i].key = base_arena_strdup(a, kv[i].key);
        out[i].value = base_arena_strdup(a, kv[i].value);
        if (!out[i].key || !out[i].value)
            return NULL;
    }
    return out;
}

/* The templates of a rule's annotations and labels (NULL where plain). */
static struct template **parse_kv_templates(const struct conf_kv *kv, size_t n, int *rc)
{
    struct template **t = base_calloc(n ? n : 1, sizeof(*t));
    if (!t) {
        *rc = BASE_ERR_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char why[160];
        size_t pos;
        if (!template_is_plain(kv[i].value) && !(t[i] = template_parse(kv[i].value, why, sizeof(why), &pos))) {
            templates_free(t, n);
            *rc = BASE_ERR_INVALID;
            return NULL;
        }
    }
    return t;
}

static int parse_templates(struct rule *r)
{
    int rc = 0;
    r->ann_tpl = parse_kv_templates(r->ann, r->n_ann, &rc);
    if (!rc)
        r->label_tpl = parse_kv_templates(r->labels, r->n_labels, &rc);
    return rc;
}

static struct group *group_new(struct rules_engine *e, const char *name, const char *file, int64_t interval,
                               const struct conf_rule *rules, size_t n, int *rc)
{
    struct group *g = base_calloc(1, sizeof(*g));
    *rc = BASE_ERR_NOMEM;
    if (!g)
        return NULL;
    base_arena_init(&g->arena, 16 * 1024);
    g->e = e;
    g->interval_ms = interval > 0 ? interval : CONF_RULE_INTERVAL_MS;
    g->name = base_arena_strdup(&g->arena, name ? name : "");
    g->file = file ? base_arena_strdup(&g->arena, file) : NULL;
    g->rules = base_calloc(n ? n : 1, sizeof(*g->rules));
    if (!g->name || !g->rules || (file && !g->file)) {
        group_free(g);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct conf_rule *c = &rules[i];
        struct rule *r = &g->rules[g->n_rules];
        struct promql_error err;
        r->kind = c->kind;
        r->for_ms = c->for_ms;
        r->keep_ms = c->keep_firing_for_ms;
        r->line = c->line;
        r->name = base_arena_strdup(&g->arena, c->name ? c->name : "");
        r->expr_text = base_arena_strdup(&g->arena, c->expr ? c->expr : "");
        r->file = c->file ? base_arena_strdup(&g->arena, c->file) : NULL;
        r->labels = copy_kv(&g->arena, c->labels, c->n_labels);
        r->n_labels = c->n_labels;
        r->ann = copy_kv(&g->arena, c->annotations, c->n_annotations);
        r->n_ann = c->n_annotations;
        if (!r->name || !r->expr_text || !r->labels || !r->ann) {
            group_free(g);
            return NULL;
        }
        if (!(r->expr = promql_parse(r->expr_text, &err)) || parse_templates(r) != 0) {
            *rc = BASE_ERR_INVALID;
            g->n_rules++;   /* freed with the group */
            group_free(g);
            return NULL;
        }
        g->n_rules++;
    }
    *rc = 0;
    return g;
}

/* Moves the state of the old rule that is the same rule (group, kind, name, expr). */
static void carry_state(struct group *g, struct group *const *old, size_t n_old)
{
    for (size_t o = 0; o < n_old; o++) {
        struct group *og = old[o];
        if (strcmp(og->name, g->name) != 0 || (og->file == NULL) != (g->file == NULL) ||
            (og->file && strcmp(og->file, g->file) != 0))
            continue;
        for (size_t i = 0; i < g->n_rules; i++)
            for (size_t k = 0; k < og->n_rules; k++) {
                struct rule *r = &g->rules[i], *q = &og->rules[k];
                if (q->kind != r->kind || strcmp(q->name, r->name) || strcmp(q->expr_text, r->expr_text) ||
                    (!q->alerts && !q->out.n))
                    continue;
                r->alerts = q->alerts, r->n_alerts = q->n_alerts, r->cap_alerts = q->cap_alerts;
                r->out = q->out;
                q->alerts = NULL, q->n_alerts = q->cap_alerts = 0;
                q->out.sets = NULL, q->out.n = 0;
                break;
            }
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    struct group *g = h->data;
    struct rules_engine *e = g->e;
    group_free(g);
    if (e->closing && --e->closing == 0 && e->close_cb)
        e->close_cb(e->close_data);
}

static void close_groups(struct rules_engine *e, struct group **gs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        e->closing++;
        uv_timer_stop(&gs[i]->timer);
        uv_close((uv_handle_t *)&gs[i]->timer, on_timer_closed);
    }
}

/* external_labels into e (sorted, owned); false on OOM. */
static bool set_external(struct rules_engine *e, const struct conf *c)
{
    struct series_label l[64];
    size_t n = c->n_external_labels < 64 ? c->n_external_labels : 64;
    for (size_t i = 0; i < n; i++)
        l[i] = (struct series_label){c->external_labels[i].key, c->external_labels[i].value};
    struct lblock *b = n ? lblock_new(l, n) : NULL;
    struct template_kv *kv = b ? base_calloc(b->n, sizeof(*kv)) : NULL;
    if (n && (!b || !kv)) {
        base_free(b);
        base_free(kv);
        return false;
    }
    for (size_t i = 0; b && i < b->n; i++)
        kv[i] = (struct template_kv){b->l[i].name, b->l[i].value};
    base_free(e->external);
    base_free(e->ext_kv);
    e->external = b;
    e->ext_kv = kv;
    return true;
}

int rules_apply(struct rules_engine *e, const struct conf *c)
{
    if (!set_external(e, c))
        return BASE_ERR_NOMEM;
    size_t n = (c->n_alerts ? 1 : 0) + c->n_rule_groups;
    struct group **gs = base_calloc(n ? n : 1, sizeof(*gs));
    if (!gs)
        return BASE_ERR_NOMEM;
    int rc = 0;
    size_t made = 0;
    if (c->n_alerts)
        gs[made++] = group_new(e, "opshub", NULL, c->evaluation_interval_ms, c->alerts, c->n_alerts, &rc);
    for (size_t i = 0; !rc && i < c->n_rule_groups; i++) {
        const struct conf_rule_group *cg = &c->rule_groups[i];
        gs[made++] = group_new(e, cg->name, cg->file, cg->interval_ms ? cg->interval_ms : c->evaluation_interval_ms,
                               cg->rules, cg->n_rules, &rc);
    }
    if (rc || (made && !gs[made - 1])) {
        for (size_t i = 0; i < made; i++)
            if (gs[i])
                group_free(gs[i]);
        base_free(gs);
        return rc ? rc : BASE_ERR_NOMEM;
    }
    for (size_t i = 0; i < made; i++) {
        struct group *g = gs[i];
        carry_state(g, e->groups, e->n_groups);
        uv_timer_init(e->loop, &g->timer);
        g->timer.data = g;
        /* spread the groups over their interval, as Prometheus offsets them */
        uint64_t offset = (uint64_t)(base_hash_more(BASE_HASH_SEED, g->name) % (uint64_t)g->interval_ms);
        uv_timer_start(&g->timer, on_timer, offset, (uint64_t)g->interval_ms);
    }
    /* alerts of rules that are gone end now, so nobody waits for their resolution */
    int64_t now = base_time_now_ms();
    for (size_t i = 0; i < e->n_groups; i++)
        for (size_t k = 0; k < e->groups[i]->n_rules; k++) {
            struct rule *r = &e->groups[i]->rules[k];
            for (size_t j = 0; j < r->n_alerts; j++)
                publish_end(e, e->groups[i]->name, r->name, r->alerts[j], now);
        }
    close_groups(e, e->groups, e->n_groups);
    base_free(e->groups);
    e->groups = gs;
    e->n_groups = made;
    return 0;
}

struct rules_engine *rules_new(uv_loop_t *loop, struct series_db *db, struct event_bus *bus)
{
    struct rules_engine *e = base_calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->loop = loop;
    e->db = db;
    e->bus = bus;
    return e;
}

void rules_close(struct rules_engine *e, void (*cb)(void *data), void *data)
{
    e->close_cb = cb;
    e->close_data = data;
    size_t n = e->n_groups;
    close_groups(e, e->groups, n);
    base_free(e->groups);
    e->groups = NULL;
    e->n_groups = 0;
    if (!n && cb)
        cb(data);
}

void rules_destroy(struct rules_engine *e)
{
    if (!e)
        return;
    base_free(e->external);
    base_free(e->ext_kv);
    for (size_t i = 0; i < e->n_groups; i++)
        group_free(e->groups[i]);
    base_free(e->groups);
    base_free(e);
}

/* ---- restart ---- */

/* A label block from a JSON object of strings; NULL when malformed. */
static struct lblock *lblock_from_json(const char *text)
{
    json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    struct series_label l[SERIES_LABELS_MAX * 2 + 2];
    size_t n = 0;
    const char *k;
    json_t *v;
    bool ok = json_is_object(o) && json_object_size(o) <= sizeof(l) / sizeof(l[0]);
    if (ok)
        json_object_foreach(o, k, v) {
            if (!json_is_string(v)) {
                ok = false;
                break;
            }
            l[n++] = (struct series_label){k, json_string_value(v)};
        }
    struct lblock *b = ok ? lblock_new(l, n) : NULL;
    json_decref(o);
    return b;
}

static struct rule *find_rule(struct rules_engine *e, const char *group, const char *name)
{
    for (size_t i = 0; i < e->n_groups; i++) {
        if (strcmp(e->groups[i]->name, group) != 0)
            continue;
        for (size_t k = 0; k < e->groups[i]->n_rules; k++) {
            struct rule *r = &e->groups[i]->rules[k];
            if (r->kind == CONF_RULE_ALERT && strcmp(r->name, name) == 0)
                return r;
        }
    }
    return NULL;
}

size_t rules_restore(struct rules_engine *e, const struct rules_restored *items, size_t n)
{
    size_t taken = 0, ended = 0, bad = 0;
    int64_t now = base_time_now_ms();
    for (size_t i = 0; i < n; i++) {
        const struct rules_restored *it = &items[i];
        struct lblock *b = it->group && it->alertname ? lblock_from_json(it->labels) : NULL;
        struct lblock *ann = b ? lblock_from_json(it->annotations ? it->annotations : "{}") : NULL;
        if (!ann || (it->state != EVENT_ALERT_PENDING && it->state != EVENT_ALERT_FIRING)) {
            base_free(b);
            base_free(ann);
            bad++;
            continue;
        }
        struct alert tmp = {.labels = b, .ann = ann, .state = it->state, .value = it->value,
                            .active_at = it->active_at_ms};
        struct rule *r = find_rule(e, it->group, it->alertname);
        struct alert *a = r ? find_alert(r, b) : NULL;
        if (!r) {
            publish_end(e, it->group, it->alertname, &tmp, now);
            base_free(b);
            base_free(ann);
            ended++;
            continue;
        }
        if (a) {
            /* evaluated since the start already: keep the older clock */
            if (it->active_at_ms < a->active_at)
                a->active_at = it->active_at_ms;
            if (it->state == EVENT_ALERT_FIRING && a->state == EVENT_ALERT_PENDING) {
                a->state = EVENT_ALERT_FIRING;
                a->fired_at = it->at_ms;
            }
            base_free(b);
            base_free(ann);
            taken++;
            continue;
        }
        a = base_calloc(1, sizeof(*a));
        if (!a || !add_alert(r, a)) {
            base_free(a);
            base_free(b);
            base_free(ann);
            bad++;
            continue;
        }
        *a = tmp;
        a->fired_at = it->state == EVENT_ALERT_FIRING ? it->at_ms : 0;
        a->last_seen = it->at_ms;
        taken++;
    }
    e->restored += taken;
    if (n)
        base_log_info("alerts restored", BASE_LOG_INT("restored", taken), BASE_LOG_INT("ended", ended),
                      BASE_LOG_INT("skipped", bad));
    return taken;
}

/* ---- validation ---- */

static void validate_templates(const struct conf_rule *r, const struct conf_kv *kv, size_t n, const char *what,
                               struct base_errors *errs, int *bad)
{
    for (size_t i = 0; i < n; i++) {
        char why[160];
        size_t pos;
        if (template_is_plain(kv[i].value))
            continue;
        struct template *t = template_parse(kv[i].value, why, sizeof(why), &pos);
        if (t) {
            template_free(t);
            continue;
        }
        base_errors_add(errs, r->file ? r->file : "<config>", r->line, r->col, NULL,
                        "%s.%s: template: %s (at character %zu of the template)", what, kv[i].key, why, pos + 1);
        *bad = 1;
    }
}

static void validate_rule(const struct conf_rule *r, struct base_errors *errs, int *bad)
{
    validate_templates(r, r->annotations, r->n_annotations, "annotations", errs, bad);
    validate_templates(r, r->labels, r->n_labels, "labels", errs, bad);
    if (!r->expr)
        return;
    struct promql_error err;
    struct promql_expr *e = promql_parse(r->expr, &err);
    const char *file = r->file ? r->file : "<config>";
    if (!e) {
        if (r->check)
            base_errors_add(errs, file, r->line, r->col, NULL, "alert %s: check: %s", r->name ? r->name : "",
                            err.msg);
        else
            base_errors_add(errs, file, r->expr_line, r->expr_col, NULL,
                            "expr: %s (at character %zu of the expression)", err.msg, err.pos + 1);
        *bad = 1;
        return;
    }
    enum promql_type t = promql_expr_type(e);
    if (t != PROMQL_VECTOR && t != PROMQL_SCALAR) {
        base_errors_add(errs, file, r->expr_line, r->expr_col, NULL,
                        "expr: a rule's expression must be an instant vector or a scalar, got %s",
                        promql_type_name(t));
        *bad = 1;
    }
    promql_expr_free(e);
}

int rules_validate(const struct conf *c, struct base_errors *errs)
{
    int bad = 0;
    for (size_t i = 0; i < c->n_alerts; i++)
        validate_rule(&c->alerts[i], errs, &bad);
    for (size_t g = 0; g < c->n_rule_groups; g++)
        for (size_t i = 0; i < c->rule_groups[g].n_rules; i++)
            validate_rule(&c->rule_groups[g].rules[i], errs, &bad);
    return bad ? BASE_ERR_INVALID : 0;
}

/* ---- the API's views ---- */

static json_t *time_json(int64_t ms)
{
    char buf[40];
    if (!ms)
        return json_string("0001-01-01T00:00:00Z");   /* Prometheus' zero time: never evaluated */
    return json_string(base_time_format_iso8601(ms, buf, sizeof(buf)));
}

static json_t *kv_json(const struct conf_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

static json_t *alert_json(const struct rule *r, const struct alert *a)
{
    json_t *labels = json_object();
    for (size_t i = 0; labels && i < a->labels->n; i++)
        json_object_set_new(labels, a->labels->l[i].name, json_string(a->labels->l[i].value));
    char v[PROMQL_FLOAT_MAX];
    promql_format_float(a->value, v);
    json_t *ann = json_object();
    for (size_t i = 0; ann && a->ann && i < a->ann->n; i++)
        json_object_set_new(ann, a->ann->l[i].name, json_string(a->ann->l[i].value));
    (void)r;
    return json_pack("{s:o, s:o, s:s, s:o, s:s, s:o*}", "labels", labels, "annotations", ann,
                     "state", a->state == EVENT_ALERT_FIRING ? "firing" : "pending", "activeAt",
                     time_json(a->active_at), "value", v, "firedAt",
                     a->state == EVENT_ALERT_FIRING ? time_json(a->fired_at) : NULL);
}

json_t *rules_json_rules(const struct rules_engine *e, const char *type)
{
    json_t *groups = json_array();
    for (size_t gi = 0; groups && gi < e->n_groups; gi++) {
        const struct group *g = e->groups[gi];
        json_t *rules = json_array();
        for (size_t i = 0; rules && i < g->n_rules; i++) {
            const struct rule *r = &g->rules[i];
            bool alerting = r->kind == CONF_RULE_ALERT;
            if (type && strcmp(type, alerting ? "alert" : "record") != 0)
                continue;
            json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:f, s:o, s:s}", "name", r->name, "query", r->expr_text,
                                  "labels", kv_json(r->labels, r->n_labels), "health",
                                  !r->evaluated ? "unknown" : r->failed ? "err" : "ok", "lastError",
                                  r->last_error, "evaluationTime", r->eval_s, "lastEvaluation",
                                  time_json(r->evaluated ? r->last_eval : 0), "type",
                                  alerting ? "alerting" : "recording");
            if (o && alerting) {
                json_t *alerts = json_array();
                const char *state = "inactive";
                for (size_t k = 0; alerts && k < r->n_alerts; k++) {
                    json_array_append_new(alerts, alert_json(r, r->alerts[k]));
                    if (r->alerts[k]->state == EVENT_ALERT_FIRING)
                        state = "firing";
                    else if (strcmp(state, "firing") != 0)
                        state = "pending";
                }
                json_object_set_new(o, "alerts", alerts);
                json_object_set_new(o, "annotations", kv_json(r->ann, r->n_ann));
                json_object_set_new(o, "duration", json_real((double)r->for_ms / 1000));
                json_object_set_new(o, "keepFiringFor", json_real((double)r->keep_ms / 1000));
                json_object_set_new(o, "state", json_string(state));
            }
            json_array_append_new(rules, o);
        }
        json_t *go = json_pack("{s:s, s:s, s:o, s:f, s:i, s:f, s:o}", "name", g->name, "file",
                               g->file ? g->file : "", "rules", rules, "interval", (double)g->interval_ms / 1000,
                               "limit", 0, "evaluationTime", g->eval_s, "lastEvaluation", time_json(g->last_eval));
        json_array_append_new(groups, go);
    }
    return json_pack("{s:o}", "groups", groups);
}

json_t *rules_json_alerts(const struct rules_engine *e)
{
    json_t *alerts = json_array();
    for (size_t gi = 0; alerts && gi < e->n_groups; gi++) {
        const struct group *g = e->groups[gi];
        for (size_t i = 0; i < g->n_rules; i++)
            for (size_t k = 0; k < g->rules[i].n_alerts; k++)
                json_array_append_new(alerts, alert_json(&g->rules[i], g->rules[i].alerts[k]));
    }
    return json_pack("{s:o}", "alerts", alerts);
}

void rules_stats_get(const struct rules_engine *e, struct rules_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->groups = e->n_groups;
    st->evaluations = e->evaluations;
    st->failures = e->failures;
    st->restored = e->restored;
    for (size_t gi = 0; gi < e->n_groups; gi++) {
        const struct group *g = e->groups[gi];
        st->rules += g->n_rules;
        for (size_t i = 0; i < g->n_rules; i++)
            for (size_t k = 0; k < g->rules[i].n_alerts; k++) {
                if (g->rules[i].alerts[k]->state == EVENT_ALERT_FIRING)
                    st->alerts_firing++;
                else
                    st->alerts_pending++;
            }
    }
}
