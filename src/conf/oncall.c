/*
 * conf/oncall: the `rotations:` and `escalation_policies:` sections (see
 * oncall.h). Times of day, weekdays, zones and dates are checked here, at
 * the position of the field.
 */
#include "conf/oncall.h"

#include "conf/conf_int.h"

#include "base/map.h"
#include "base/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"user", "rotation", "channel"};
static const char *const wday_short[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const wday_long[7] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
                                         "saturday"};

const char *conf_target_kind_name(enum conf_target_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : "unknown";
}

const struct conf_rotation *conf_rotation_find(const struct conf *c, const char *id)
{
    for (size_t i = 0; c && id && i < c->n_rotations; i++)
        if (c->rotations[i].id && strcmp(c->rotations[i].id, id) == 0)
            return &c->rotations[i];
    return NULL;
}

const struct conf_policy *conf_policy_find(const struct conf *c, const char *id)
{
    for (size_t i = 0; c && id && i < c->n_policies; i++)
        if (c->policies[i].id && strcmp(c->policies[i].id, id) == 0)
            return &c->policies[i];
    return NULL;
}

/* ---- small values ---- */

static int wday_of(const char *s, size_t len)
{
    for (int d = 0; d < 7; d++)
        if ((len == 3 && !strncasecmp(s, wday_short[d], 3)) ||
            (len == strlen(wday_long[d]) && !strncasecmp(s, wday_long[d], len)))
            return d;
    return -1;
}

/* "HH:MM" (00:00..23:59; 24:00 when allow_24): minutes, or -1. */
static int clock_of(const char *s, size_t len, bool allow_24)
{
    if (len != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
        return -1;
    return h * 60 + m;
}

static int clock_value(struct conf_ctx *ctx, const struct conf_node *n, bool allow_24, int *out)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, "a time of day", &t, &len) != 0)
        return -1;
    int v = clock_of(t, len, allow_24);
    if (v < 0) {
        conf_value_error(ctx, n, "expected a time of day HH:MM (00:00 to %s)", allow_24 ? "24:00" : "23:59");
        return -1;
    }
    *out = v;
    return 0;
}

/* "mon-fri", "sat,sun", "mon-fri,sun", "daily", or a list of such. */
static int days_part(const char *s, size_t len, uint8_t *bits)
{
    if ((len == 5 && !strncasecmp(s, "daily", 5)) || (len == 3 && !strncasecmp(s, "all", 3))) {
        *bits |= 0x7f;
        return 0;
    }
    const char *dash = memchr(s, '-', len);
    if (!dash) {
        int d = wday_of(s, len);
        if (d < 0)
            return -1;
        *bits |= (uint8_t)(1u << d);
        return 0;
    }
    int a = wday_of(s, (size_t)(dash - s)), b = wday_of(dash + 1, len - (size_t)(dash - s) - 1);
    if (a < 0 || b < 0)
        return -1;
    for (int d = a;; d = (d + 1) % 7) {  /* fri-mon wraps through the weekend */
        *bits |= (uint8_t)(1u << d);
        if (d == b)
            break;
    }
    return 0;
}

static int days_text(const char *t, size_t len, uint8_t *bits)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && t[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && t[a] == ' ')
            a++;
        while (b > a && t[b - 1] == ' ')
            b--;
        if (a == b || days_part(t + a, b - a, bits) != 0)
            return -1;
        i = j + 1;
    }
    return *bits ? 0 : -1;
}

static int days_value(struct conf_ctx *ctx, const struct conf_node *n, uint8_t *out)
{
    uint8_t bits = 0;
    const char *t;
    size_t len;
    if (n->kind == CONF_NODE_SEQ) {
        for (const struct conf_node *it = n->child; it; it = it->next) {
            if (conf_value_text(ctx, it, "weekdays", &t, &len) != 0)
                return -1;
            if (days_text(t, len, &bits) != 0) {
                conf_value_error(ctx, it, "expected weekdays such as mon-fri, sat,sun or daily");
                return -1;
            }
        }
    } else {
        if (conf_value_text(ctx, n, "weekdays", &t, &len) != 0)
            return -1;
        if (days_text(t, len, &bits) != 0) {
            conf_value_error(ctx, n, "expected weekdays such as mon-fri, sat,sun or daily");
            return -1;
        }
    }
    if (!bits) {
        conf_value_error(ctx, n, "no weekday given");
        return -1;
    }
    *out = bits;
    return 0;
}

/* "YYYY-MM-DD": days since 1970-01-01. */
static int date_value(struct conf_ctx *ctx, const struct conf_node *n, int64_t *out)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, "a date", &t, &len) != 0)
        return -1;
    int y = 0, m = 0, d = 0;
    char tail;
    if (len != 10 || sscanf(t, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 || y > 9999 || m < 1 || m > 12 ||
        d < 1 || d > 31) {
        conf_value_error(ctx, n, "expected a date YYYY-MM-DD");
        return -1;
    }
    int64_t days = base_tz_days_from_civil(y, m, d);
    int64_t yy;
    int mm, dd;
    base_tz_civil_from_days(days, &yy, &mm, &dd);
    if (mm != m || dd != d) {
        conf_value_error(ctx, n, "%.10s is not a day of the calendar", t);
        return -1;
    }
    *out = days;
    return 0;
}

static int username_value(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    if (conf_value_string(ctx, n, out) != 0)
        return -1;
    const char *why = conf_value_username_bad(*out);
    if (why) {
        conf_value_error(ctx, n, "'%s' is not a user name: %s", *out, why);
        return -1;
    }
    return 0;
}

static int zone_value(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    if (conf_value_string(ctx, n, out) != 0)
        return -1;
    char why[160];
    struct base_tz *tz = base_tz_load(*out, why, sizeof(why));
    if (!tz) {
        conf_value_error(ctx, n, "%s", why);
        return -1;
    }
    base_tz_free(tz);
    return 0;
}

/* ---- rotations ---- */

static void parse_length(struct conf_ctx *ctx, const struct conf_node *n, struct conf_rotation *r)
{
    const char *t;
    size_t len;
    if (n->kind == CONF_NODE_SCALAR && conf_value_text(ctx, n, "a length", &t, &len) == 0 &&
        ((len == 5 && !strcmp(t, "daily")) || (len == 6 && !strcmp(t, "weekly")))) {
        r->length_ms = t[0] == 'd' ? 86400000 : 7 * 86400000LL;
        r->length_days = t[0] == 'd' ? 1 : 7;
        return;
    }
    int64_t ms;
    if (conf_value_duration(ctx, n, &ms) != 0)
        return;
    if (ms < 3600000 || ms > 366LL * 86400000 || ms % 60000) {
        conf_value_error(ctx, n, "a shift is 1h to 366d long, in whole minutes (or daily, weekly)");
        return;
    }
    r->length_ms = ms;
    r->length_days = ms % 86400000 == 0 ? (int)(ms / 86400000) : 0;
}

static void parse_handoff(struct conf_ctx *ctx, const struct conf_node *n, struct conf_rotation *r)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, "a handoff time", &t, &len) != 0)
        return;
    const char *sp = memchr(t, ' ', len);
    if (sp) {
        r->handoff_wday = wday_of(t, (size_t)(sp - t));
        while (sp < t + len && *sp == ' ')
            sp++;
        r->handoff_min = clock_of(sp, len - (size_t)(sp - t), false);
    } else {
        r->handoff_min = clock_of(t, len, false);
    }
    if ((sp && r->handoff_wday < 0) || r->handoff_min < 0) {
        conf_value_error(ctx, n, "expected a handoff time HH:MM, or a weekday and a time such as \"mon 09:00\"");
        r->handoff_wday = -1;
        r->handoff_min = 0;
    }
}

static void parse_windows(struct conf_ctx *ctx, const struct conf_node *n, struct conf_rotation *r)
{
    if (conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    if (n->n > CONF_ROTATION_RESTRICT_MAX) {
        conf_value_error(ctx, n, "restrict lists at most %d windows", CONF_ROTATION_RESTRICT_MAX);
        return;
    }
    struct conf_rotation_window *w = n->n ? conf_value_alloc(ctx, n->n * sizeof(*w)) : NULL;
    if (n->n && !w)
        return;
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        enum { F_DAYS, F_FROM, F_TO, F_N };
        static const char *const names[F_N] = {"days", "from", "to"};
        const struct conf_node *f[F_N];
        if (conf_value_expect(ctx, it, CONF_NODE_MAP))
            continue;
        conf_value_fields(ctx, it, names, F_N, f);
        struct conf_rotation_window one = {.days = 0x7f, .from_min = 0, .to_min = 1440};
        int bad = 0;
        if (f[F_DAYS])
            bad |= days_value(ctx, f[F_DAYS], &one.days);
        if (!f[F_FROM] || !f[F_TO]) {
            conf_value_error_member(ctx, it, f[F_FROM] ? "to" : "from", "a restrict window needs 'from' and 'to' "
                                    "(HH:MM in the rotation's time zone)");
            bad = -1;
        } else {
            bad |= clock_value(ctx, f[F_FROM], false, &one.from_min);
            bad |= clock_value(ctx, f[F_TO], true, &one.to_min);
            if (!bad && one.from_min == one.to_min) {
                conf_value_error(ctx, f[F_TO], "from and to are the same time: the window would be empty");
                bad = -1;
            }
        }
        if (!bad)
            w[k++] = one;
    }
    r->windows = w;
    r->n_windows = k;
}

static void parse_overrides(struct conf_ctx *ctx, const struct conf_node *n, struct conf_rotation *r)
{
    if (conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    if (n->n > CONF_ROTATION_OVERRIDES_MAX) {
        conf_value_error(ctx, n, "overrides lists at most %d entries", CONF_ROTATION_OVERRIDES_MAX);
        return;
    }
    struct conf_rotation_override *o = n->n ? conf_value_alloc(ctx, n->n * sizeof(*o)) : NULL;
    if (n->n && !o)
        return;
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        enum { F_USER, F_FROM, F_TO, F_N };
        static const char *const names[F_N] = {"user", "from", "to"};
        const struct conf_node *f[F_N];
        if (conf_value_expect(ctx, it, CONF_NODE_MAP))
            continue;
        conf_value_fields(ctx, it, names, F_N, f);
        struct conf_rotation_override one = {0};
        int bad = 0;
        for (int i = 0; i < F_N; i++)
            if (!f[i]) {
                conf_value_error_member(ctx, it, names[i], "an override needs 'user', 'from' and 'to'");
                bad = -1;
            }
        if (bad)
            continue;
        bad |= username_value(ctx, f[F_USER], &one.user);
        bad |= conf_value_time(ctx, f[F_FROM], &one.from_ms);
        bad |= conf_value_time(ctx, f[F_TO], &one.to_ms);
        if (!bad && one.to_ms <= one.from_ms) {
            conf_value_error(ctx, f[F_TO], "an override ends after it starts");
            bad = -1;
        }
        if (!bad)
            o[k++] = one;
    }
    r->overrides = o;
    r->n_overrides = k;
}

static void parse_rotation(struct conf_ctx *ctx, const struct conf_node *item, struct conf_rotation *r,
                           struct base_map *ids)
{
    enum { F_ID, F_NAME, F_MEMBERS, F_LENGTH, F_HANDOFF, F_TZ, F_START, F_RESTRICT, F_OVERRIDES, F_N };
    static const char *const names[F_N] = {"id", "name", "members", "length", "handoff", "timezone", "start",
                                           "restrict", "overrides"};
    const struct conf_node *f[F_N];
    r->line = item->line;
    r->handoff_wday = -1;
    r->timezone = "UTC";
    r->length_ms = 7 * 86400000LL;
    r->length_days = 7;
    r->start_day = base_tz_days_from_civil(2024, 1, 1);
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, F_N, f);
    if (!f[F_ID])
        conf_value_error_member(ctx, item, "id", "a rotation is missing 'id'");
    else if (conf_value_id(ctx, f[F_ID], &r->id) == 0)
        conf_value_unique(ctx, ids, r->id, f[F_ID], "rotation");
    if (f[F_NAME] && conf_value_string(ctx, f[F_NAME], &r->name) == 0 && strlen(r->name) > 200)
        conf_value_error(ctx, f[F_NAME], "a name is at most 200 bytes");
    if (!f[F_MEMBERS]) {
        conf_value_error_member(ctx, item, "members", "a rotation needs 'members' (user names, in order)");
    } else if (conf_value_expect(ctx, f[F_MEMBERS], CONF_NODE_SEQ) == 0) {
        const struct conf_node *m = f[F_MEMBERS];
        if (m->n == 0 || m->n > CONF_ROTATION_MEMBERS_MAX) {
            conf_value_error(ctx, m, "a rotation has 1 to %d members", CONF_ROTATION_MEMBERS_MAX);
        } else {
            const char **v = conf_value_alloc(ctx, m->n * sizeof(*v));
            size_t k = 0;
            for (const struct conf_node *it = m->child; v && it; it = it->next)
                if (username_value(ctx, it, &v[k]) == 0)
                    k++;
            r->members = v;
            r->n_members = k;
        }
    }
    if (f[F_LENGTH])
        parse_length(ctx, f[F_LENGTH], r);
    if (f[F_HANDOFF])
        parse_handoff(ctx, f[F_HANDOFF], r);
    if (r->handoff_wday >= 0 && (r->length_days == 0 || r->length_days % 7)) {
        conf_value_error(ctx, f[F_HANDOFF], "a weekday in handoff needs a length of whole weeks (weekly, 1w, 2w...)");
        r->handoff_wday = -1;
    }
    if (f[F_TZ])
        zone_value(ctx, f[F_TZ], &r->timezone);
    if (f[F_START])
        date_value(ctx, f[F_START], &r->start_day);
    if (r->handoff_wday >= 0) {
        /* the first shift begins on the handoff's weekday, on or after start (1970-01-01 was a Thursday) */
        int wd = (int)(((r->start_day % 7) + 11) % 7);
        r->start_day += (r->handoff_wday - wd + 7) % 7;
    }
    if (f[F_RESTRICT])
        parse_windows(ctx, f[F_RESTRICT], r);
    if (f[F_OVERRIDES])
        parse_overrides(ctx, f[F_OVERRIDES], r);
}

/* ---- escalation policies ---- */

static void parse_target(struct conf_ctx *ctx, const struct conf_node *n, struct conf_target *t,
                         const struct conf *c, const struct base_map *rotations)
{
    if (n->kind == CONF_NODE_MAP && n->n == 1) {
        const struct conf_node *v = n->child;
        size_t k;
        if (conf_value_choice(ctx, v->key, "target kind", kind_names, 3, &k) != 0)
            return;
        t->kind = (enum conf_target_kind)k;
        if (t->kind == CONF_TARGET_USER) {
            username_value(ctx, v, &t->id);
        } else if (conf_value_string(ctx, v, &t->id) == 0) {
            if (t->kind == CONF_TARGET_ROTATION && !base_map_get(rotations, t->id))
                conf_value_error(ctx, v, "no rotation has the id '%s'", t->id);
            if (t->kind == CONF_TARGET_CHANNEL && !conf_notify_channel(&c->notify, t->id))
                conf_value_error(ctx, v, "no channel has the id '%s' (notify.channels)", t->id);
        }
        return;
    }
    conf_value_error(ctx, n, "a target is one of {user: NAME}, {rotation: ID} or {channel: ID}");
}

static void parse_policy(struct conf_ctx *ctx, const struct conf_node *item, struct conf_policy *p,
                         struct base_map *ids, const struct conf *c, const struct base_map *rotations)
{
    enum { F_ID, F_DESC, F_REPEAT, F_STEPS, F_N };
    static const char *const names[F_N] = {"id", "description", "repeat", "steps"};
    const struct conf_node *f[F_N];
    p->line = item->line;
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, F_N, f);
    if (!f[F_ID])
        conf_value_error_member(ctx, item, "id", "an escalation policy is missing 'id'");
    else if (conf_value_id(ctx, f[F_ID], &p->id) == 0)
        conf_value_unique(ctx, ids, p->id, f[F_ID], "escalation policy");
    if (f[F_DESC] && conf_value_string(ctx, f[F_DESC], &p->description) == 0 && strlen(p->description) > 1024)
        conf_value_error(ctx, f[F_DESC], "a description is at most 1024 bytes");
    if (f[F_REPEAT]) {
        long long r = 0;
        if (conf_value_int(ctx, f[F_REPEAT], 0, CONF_POLICY_REPEAT_MAX, &r) == 0)
            p->repeat = (int)r;
    }
    if (!f[F_STEPS]) {
        conf_value_error_member(ctx, item, "steps", "an escalation policy needs 'steps'");
        return;
    }
    const struct conf_node *s = f[F_STEPS];
    if (conf_value_expect(ctx, s, CONF_NODE_SEQ))
        return;
    if (s->n == 0 || s->n > CONF_POLICY_STEPS_MAX) {
        conf_value_error(ctx, s, "a policy has 1 to %d steps", CONF_POLICY_STEPS_MAX);
        return;
    }
    struct conf_policy_step *steps = conf_value_alloc(ctx, s->n * sizeof(*steps));
    if (!steps)
        return;
    size_t k = 0;
    for (const struct conf_node *it = s->child; it; it = it->next) {
        enum { S_DELAY, S_TARGETS, S_N };
        static const char *const snames[S_N] = {"delay", "targets"};
        const struct conf_node *sf[S_N];
        if (conf_value_expect(ctx, it, CONF_NODE_MAP))
            continue;
        conf_value_fields(ctx, it, snames, S_N, sf);
        struct conf_policy_step *st = &steps[k++];
        if (sf[S_DELAY]) {
            const struct conf_node *d = sf[S_DELAY];
            if (d->kind == CONF_NODE_SCALAR && (!strcmp(d->text, "0") || !strcmp(d->text, "0s")))
                st->delay_ms = 0;
            else if (conf_value_duration(ctx, d, &st->delay_ms) == 0 && st->delay_ms > 7LL * 86400000)
                conf_value_error(ctx, d, "a step's delay is at most 7d");
        }
        if (!sf[S_TARGETS]) {
            conf_value_error_member(ctx, it, "targets", "a step needs 'targets'");
            continue;
        }
        const struct conf_node *tn = sf[S_TARGETS];
        if (conf_value_expect(ctx, tn, CONF_NODE_SEQ))
            continue;
        if (tn->n == 0 || tn->n > CONF_POLICY_TARGETS_MAX) {
            conf_value_error(ctx, tn, "a step has 1 to %d targets", CONF_POLICY_TARGETS_MAX);
            continue;
        }
        struct conf_target *t = conf_value_alloc(ctx, tn->n * sizeof(*t));
        if (!t)
            return;
        size_t j = 0;
        for (const struct conf_node *ti = tn->child; ti; ti = ti->next)
            parse_target(ctx, ti, &t[j++], c, rotations);
        st->targets = t;
        st->n_targets = j;
    }
    p->steps = steps;
    p->n_steps = k;
}

void conf_oncall_parse(struct conf_ctx *ctx, const struct conf_node *rotations, const struct conf_node *policies,
                       struct conf *c)
{
    struct base_map rot_ids, pol_ids;
    base_map_init(&rot_ids);
    base_map_init(&pol_ids);
    if (rotations && !conf_value_is_null(rotations) && conf_value_expect(ctx, rotations, CONF_NODE_SEQ) == 0) {
        if (rotations->n > CONF_ROTATIONS_MAX) {
            conf_value_error(ctx, rotations, "at most %d rotations", CONF_ROTATIONS_MAX);
        } else if (rotations->n) {
            struct conf_rotation *r = conf_value_alloc(ctx, rotations->n * sizeof(*r));
            size_t k = 0;
            for (const struct conf_node *it = rotations->child; r && it; it = it->next)
                parse_rotation(ctx, it, &r[k++], &rot_ids);
            c->rotations = r;
            c->n_rotations = r ? k : 0;
        }
    }
    if (policies && !conf_value_is_null(policies) && conf_value_expect(ctx, policies, CONF_NODE_SEQ) == 0) {
        if (policies->n > CONF_POLICIES_MAX) {
            conf_value_error(ctx, policies, "at most %d escalation policies", CONF_POLICIES_MAX);
        } else if (policies->n) {
            struct conf_policy *p = conf_value_alloc(ctx, policies->n * sizeof(*p));
            size_t k = 0;
            for (const struct conf_node *it = policies->child; p && it; it = it->next)
                parse_policy(ctx, it, &p[k++], &pol_ids, c, &rot_ids);
            c->policies = p;
            c->n_policies = p ? k : 0;
        }
    }
    base_map_free(&rot_ids);
    base_map_free(&pol_ids);
}
