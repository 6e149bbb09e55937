/*
 * oncall/oncall: the compiled rotations and the API's views of them (see
 * oncall.h).
 */
#include "oncall/oncall.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "base/tz.h"

#include <stdio.h>
#include <string.h>

struct oncall {
    const struct conf *conf;
    struct oncall_rotation **rot;
    size_t n_rot;
    struct store_override *ovs;               /* the API's overrides, in the order they were made */
    size_t n_ovs;
    struct conf_rotation_override *extra;     /* ovs grouped by rotation, given to each rotation */
};

/* Gives each rotation its API overrides (a contiguous run of o->extra). */
static void distribute(struct oncall *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n_rot; i++) {
        const char *id = oncall_rotation_conf(o->rot[i])->id;
        size_t first = k;
        for (size_t j = 0; o->extra && j < o->n_ovs; j++) {
            if (strcmp(o->ovs[j].rotation, id) != 0)
                continue;
            o->extra[k++] = (struct conf_rotation_override){o->ovs[j].user, o->ovs[j].from_ms, o->ovs[j].to_ms};
        }
        oncall_rotation_set_extra(o->rot[i], k > first ? o->extra + first : NULL, k - first);
    }
}

int oncall_set_overrides(struct oncall *o, const struct store_override *list, size_t n)
{
    struct store_override *copy = n ? base_calloc(n, sizeof(*copy)) : NULL;
    struct conf_rotation_override *extra = n ? base_calloc(n, sizeof(*extra)) : NULL;
    if (n && (!copy || !extra)) {
        base_free(copy);
        base_free(extra);
        return BASE_ERR_NOMEM;
    }
    if (n)
        memcpy(copy, list, n * sizeof(*copy));
    for (size_t i = 0; i < o->n_rot; i++)
        oncall_rotation_set_extra(o->rot[i], NULL, 0);
    base_free(o->ovs);
    base_free(o->extra);
    o->ovs = copy;
    o->n_ovs = n;
    o->extra = extra;
    distribute(o);
    return 0;
}

struct oncall *oncall_new(void)
{
    return base_calloc(1, sizeof(struct oncall));
}

static void drop(struct oncall_rotation **rot, size_t n)
{
    for (size_t i = 0; i < n; i++)
        oncall_rotation_free(rot[i]);
    base_free(rot);
}

int oncall_apply(struct oncall *o, const struct conf *c, char *why, size_t why_len)
{
    size_t n = c ? c->n_rotations : 0;
    struct oncall_rotation **rot = n ? base_calloc(n, sizeof(*rot)) : NULL;
    if (n && !rot) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char w[200];
        rot[i] = oncall_rotation_new(&c->rotations[i], w, sizeof(w));
        if (!rot[i]) {
            snprintf(why, why_len, "rotation %s: %s", c->rotations[i].id, w);
            drop(rot, i);
            return -1;
        }
    }
    drop(o->rot, o->n_rot);
    o->rot = rot;
    o->n_rot = n;
    o->conf = c;
    distribute(o);
    return 0;
}

void oncall_free(struct oncall *o)
{
    if (!o)
        return;
    drop(o->rot, o->n_rot);
    base_free(o->ovs);
    base_free(o->extra);
    base_free(o);
}

const struct oncall_rotation *oncall_find(const struct oncall *o, const char *id)
{
    for (size_t i = 0; id && i < o->n_rot; i++)
        if (strcmp(oncall_rotation_conf(o->rot[i])->id, id) == 0)
            return o->rot[i];
    return NULL;
}

/* ---- JSON ---- */

static json_t *iso(int64_t ms)
{
    if (ms == INT64_MIN || ms == INT64_MAX)
        return json_null();
    char buf[40];
    base_time_format_iso8601(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *span_json(const struct oncall_span *s)
{
    return json_pack("{s:o, s:b, s:o, s:o}", "user", s->user ? json_string(s->user) : json_null(), "override",
                     s->override, "start", iso(s->start_ms), "end", iso(s->end_ms));
}

static json_t *length_json(const struct conf_rotation *c)
{
    char buf[32];
    if (c->length_days && c->length_days % 7 == 0)
        snprintf(buf, sizeof(buf), "%dw", c->length_days / 7);
    else if (c->length_days)
        snprintf(buf, sizeof(buf), "%dd", c->length_days);
    else if (c->length_ms % 3600000 == 0)
        snprintf(buf, sizeof(buf), "%lldh", (long long)(c->length_ms / 3600000));
    else
        snprintf(buf, sizeof(buf), "%lldm", (long long)(c->length_ms / 60000));
    return json_string(buf);
}

static const char *const wdays[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static json_t *windows_json(const struct conf_rotation *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->n_windows; i++) {
        const struct conf_rotation_window *w = &c->windows[i];
        char days[40] = "", from[24], to[24];
        size_t k = 0;
        for (int d = 0; d < 7; d++)
            if (w->days & (1u << d))
                k += (size_t)snprintf(days + k, sizeof(days) - k, "%s%s", k ? "," : "", wdays[d]);
        snprintf(from, sizeof(from), "%02d:%02d", w->from_min / 60, w->from_min % 60);
        snprintf(to, sizeof(to), "%02d:%02d", w->to_min / 60, w->to_min % 60);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "days", days, "from", from, "to", to));
    }
    return a;
}

json_t *oncall_json_rotation(const struct oncall *o, const struct oncall_rotation *r, int64_t now, int64_t from,
                             int64_t to, bool with_spans)
{
    (void)o;
    const struct conf_rotation *c = oncall_rotation_conf(r);
    struct oncall_span cur, next;
    oncall_rotation_at(r, now, &cur);
    bool has_next = cur.end_ms != INT64_MAX;
    if (has_next)
        oncall_rotation_at(r, cur.end_ms, &next);
    json_t *members = json_array();
    for (size_t i = 0; members && i < c->n_members; i++)
        json_array_append_new(members, json_string(c->members[i]));
    char handoff[48], start[48];
    if (c->handoff_wday >= 0)
        snprintf(handoff, sizeof(handoff), "%s %02d:%02d", wdays[c->handoff_wday], c->handoff_min / 60,
                 c->handoff_min % 60);
    else
        snprintf(handoff, sizeof(handoff), "%02d:%02d", c->handoff_min / 60, c->handoff_min % 60);
    int64_t y;
    int m, d;
    base_tz_civil_from_days(c->start_day, &y, &m, &d);
    snprintf(start, sizeof(start), "%04lld-%02d-%02d", (long long)y, m, d);
    json_t *overrides = json_array();
    for (size_t i = 0; overrides && i < c->n_overrides; i++)
        json_array_append_new(overrides, json_pack("{s:s, s:o, s:o, s:s}", "user", c->overrides[i].user, "start",
                                                   iso(c->overrides[i].from_ms), "end", iso(c->overrides[i].to_ms),
                                                   "source", "config"));
    for (size_t i = 0; overrides && i < o->n_ovs; i++) {
        const struct store_override *v = &o->ovs[i];
        if (strcmp(v->rotation, c->id) != 0)
            continue;
        json_array_append_new(overrides, json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o}", "id", v->id, "user",
                                                   v->user, "start", iso(v->from_ms), "end", iso(v->to_ms),
                                                   "reason", v->reason, "by", v->created_by, "source", "api",
                                                   "created_at", iso(v->created_ms)));
    }
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", c->id, "name",
                          c->name ? c->name : c->id, "members", members, "length", length_json(c), "handoff",
                          handoff, "timezone", c->timezone, "start", start, "restrict", windows_json(c),
                          "overrides", overrides, "current", span_json(&cur), "next",
                          has_next ? span_json(&next) : json_null());
    if (j && with_spans) {
        static struct oncall_span spans[ONCALL_SPANS_MAX];   /* loop thread only */
        size_t n = oncall_rotation_spans(r, from, to, spans, ONCALL_SPANS_MAX);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
            json_array_append_new(a, span_json(&spans[i]));
        json_object_set_new(j, "spans", a ? a : json_null());
        json_object_set_new(j, "truncated", json_boolean(n == ONCALL_SPANS_MAX));
    }
    return j;
}

json_t *oncall_json_rotations(const struct oncall *o, int64_t now)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < o->n_rot; i++)
        json_array_append_new(a, oncall_json_rotation(o, o->rot[i], now, 0, 0, false));
    return a;
}

static json_t *target_json(const struct oncall *o, const struct conf_target *t, int64_t at)
{
    json_t *j = json_pack("{s:s, s:s}", "kind", conf_target_kind_name(t->kind), "id", t->id);
    if (!j)
        return NULL;
    if (t->kind == CONF_TARGET_USER) {
        json_object_set_new(j, "user", json_string(t->id));
    } else if (t->kind == CONF_TARGET_ROTATION) {
        const struct oncall_rotation *r = oncall_find(o, t->id);
        struct oncall_span s = {0};
        if (r)
            oncall_rotation_at(r, at, &s);
        json_object_set_new(j, "user", s.user ? json_string(s.user) : json_null());
        json_object_set_new(j, "until", r ? iso(s.end_ms) : json_null());
    }
    return j;
}

json_t *oncall_json_now(const struct oncall *o, int64_t at)
{
    json_t *rots = json_array(), *pols = json_array();
    for (size_t i = 0; rots && i < o->n_rot; i++) {
        struct oncall_span s;
        oncall_rotation_at(o->rot[i], at, &s);
        const struct conf_rotation *c = oncall_rotation_conf(o->rot[i]);
        json_array_append_new(rots, json_pack("{s:s, s:o, s:b, s:o, s:o}", "id", c->id, "user",
                                              s.user ? json_string(s.user) : json_null(), "override", s.override,
                                              "since", iso(s.start_ms), "until", iso(s.end_ms)));
    }
    const struct conf *c = o->conf;
    for (size_t i = 0; pols && c && i < c->n_policies; i++) {
        const struct conf_policy *p = &c->policies[i];
        json_t *steps = json_array();
        for (size_t k = 0; steps && k < p->n_steps; k++) {
            json_t *targets = json_array();
            for (size_t t = 0; targets && t < p->steps[k].n_targets; t++)
                json_array_append_new(targets, target_json(o, &p->steps[k].targets[t], at));
            json_array_append_new(steps, json_pack("{s:I, s:I, s:o}", "step", (json_int_t)(k + 1), "delay_seconds",
                                                   (json_int_t)(p->steps[k].delay_ms / 1000), "targets", targets));
        }
        json_array_append_new(pols, json_pack("{s:s, s:o, s:i, s:o}", "id", p->id, "description",
                                              p->description ? json_string(p->description) : json_null(), "repeat",
                                              p->repeat, "steps", steps));
    }
    return json_pack("{s:o, s:o, s:o}", "at", iso(at), "rotations", rots, "policies", pols);
}
