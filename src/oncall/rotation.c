/*
 * oncall/rotation: who is on call (see rotation.h). Every question is
 * answered from the state at an instant and the edges around it; spans
 * merge neighbouring states with the same answer.
 */
#include "oncall/rotation.h"

#include "base/alloc.h"
#include "base/tz.h"

#include <stdio.h>
#include <string.h>

#define DAY_S 86400
#define MERGE_LIMIT_MS (60LL * 86400000)

struct oncall_rotation {
    const struct conf_rotation *c;
    struct base_tz *tz;
    int64_t anchor_ms;                /* the instant of the first shift */
    const struct conf_rotation_override *extra;   /* the API's (borrowed; oncall_rotation_set_extra) */
    size_t n_extra;
};

struct state {
    const char *user;
    bool override;
    int64_t shift;
    int64_t prev, next;               /* the nearest edges: prev <= t < next; INT64_MIN: none before */
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The instant (ms) of a local wall-clock time (seconds of the local calendar). */
static int64_t instant(const struct oncall_rotation *r, int64_t local_s)
{
    return base_tz_from_local(r->tz, local_s) * 1000;
}

static int64_t local_s(const struct oncall_rotation *r, int64_t t_ms)
{
    int64_t s = floor_div(t_ms, 1000);
    return s + base_tz_offset(r->tz, s);
}

static int64_t shift_start(const struct oncall_rotation *r, int64_t k)
{
    const struct conf_rotation *c = r->c;
    if (c->length_days)
        return instant(r, (c->start_day + k * c->length_days) * DAY_S + (int64_t)c->handoff_min * 60);
    return r->anchor_ms + k * c->length_ms;
}

/* The number of the shift t falls in (negative before the first). */
static int64_t shift_of(const struct oncall_rotation *r, int64_t t)
{
    const struct conf_rotation *c = r->c;
    int64_t k;
    if (c->length_days)
        k = floor_div(local_s(r, t) - (c->start_day * DAY_S + (int64_t)c->handoff_min * 60),
                      (int64_t)c->length_days * DAY_S);
    else
        k = floor_div(t - r->anchor_ms, c->length_ms);
    /* a change of offset moves a local estimate by at most a shift */
    while (shift_start(r, k) > t)
        k--;
    while (shift_start(r, k + 1) <= t)
        k++;
    return k;
}

static void edge(int64_t e, int64_t t, struct state *s)
{
    if (e <= t) {
        if (e > s->prev)
            s->prev = e;
    } else if (e < s->next) {
        s->next = e;
    }
}

/* Whether t is inside a restrict window (always, without any), the
 * windows' edges folded into s. */
static bool in_windows(const struct oncall_rotation *r, int64_t t, struct state *s)
{
    const struct conf_rotation *c = r->c;
    if (!c->n_windows)
        return true;
    bool in = false;
    int64_t day = floor_div(local_s(r, t), DAY_S);
    /* a window lasts at most a day and recurs weekly: eight days each way hold the nearest edges */
    for (int64_t d = day - 8; d <= day + 8; d++) {
        int wd = (int)(((d % 7) + 11) % 7);   /* 1970-01-01 was a Thursday */
        for (size_t i = 0; i < c->n_windows; i++) {
            const struct conf_rotation_window *w = &c->windows[i];
            if (!(w->days & (1u << wd)))
                continue;
            int64_t ws = instant(r, d * DAY_S + (int64_t)w->from_min * 60);
            int64_t we = instant(r, d * DAY_S + (int64_t)w->to_min * 60 + (w->to_min <= w->from_min ? DAY_S : 0));
            if (ws <= t && t < we)
                in = true;
            edge(ws, t, s);
            edge(we, t, s);
        }
    }
    return in;
}

static void state_at(const struct oncall_rotation *r, int64_t t, struct state *s)
{
    const struct conf_rotation *c = r->c;
    memset(s, 0, sizeof(*s));
    s->prev = INT64_MIN;
    s->next = INT64_MAX;
    const struct conf_rotation_override *ov = NULL;
    /* the configuration's, then the API's: the last one that holds t wins */
    for (size_t i = 0; i < c->n_overrides + r->n_extra; i++) {
        const struct conf_rotation_override *o = i < c->n_overrides ? &c->overrides[i] : &r->extra[i - c->n_overrides];
        if (o->from_ms <= t && t < o->to_ms)
            ov = o;
        edge(o->from_ms, t, s);
        edge(o->to_ms, t, s);
    }
    int64_t k = shift_of(r, t);
    if (k < 0) {
        s->shift = -1;
        edge(shift_start(r, 0), t, s);
    } else {
        s->shift = k;
        edge(shift_start(r, k), t, s);
        edge(shift_start(r, k + 1), t, s);
    }
    bool in = in_windows(r, t, s);
    if (ov) {
        s->user = ov->user;
        s->override = true;
    } else if (k >= 0 && in && c->n_members) {
        s->user = c->members[k % (int64_t)c->n_members];
    }
}

static bool same(const struct state *a, const struct state *b)
{
    if (a->override != b->override)
        return false;
    if (!a->user || !b->user)
        return a->user == b->user;
    return strcmp(a->user, b->user) == 0;
}

static void fill(struct oncall_span *out, const struct state *s, int64_t start, int64_t end)
{
    out->start_ms = start;
    out->end_ms = end;
    out->user = s->user;
    out->override = s->override;
    out->shift = (int)(s->shift > INT32_MAX ? INT32_MAX : s->shift);
}

void oncall_rotation_at(const struct oncall_rotation *r, int64_t t, struct oncall_span *out)
{
    struct state s, o;
    state_at(r, t, &s);
    int64_t start = s.prev, end = s.next;
    while (end != INT64_MAX && end < t + MERGE_LIMIT_MS) {
        state_at(r, end, &o);
        if (!same(&s, &o))
            break;
        end = o.next;
    }
    while (start != INT64_MIN && start > t - MERGE_LIMIT_MS) {
        state_at(r, start - 1, &o);
        if (!same(&s, &o))
            break;
        start = o.prev;
    }
    fill(out, &s, start, end);
}

size_t oncall_rotation_spans(const struct oncall_rotation *r, int64_t from, int64_t to, struct oncall_span *out,
                             size_t max)
{
    size_t n = 0;
    if (from >= to || !max)
        return 0;
    struct oncall_span first;
    oncall_rotation_at(r, from, &first);
    int64_t t = from, start = first.start_ms;
    while (t < to && n < max) {
        struct state s, o;
        state_at(r, t, &s);
        int64_t end = s.next;
        while (end != INT64_MAX && (end < to || end < t + MERGE_LIMIT_MS)) {
            state_at(r, end, &o);
            if (!same(&s, &o))
                break;
            end = o.next;
        }
        fill(&out[n++], &s, start, end);
        if (end == INT64_MAX)
            break;
        t = start = end;
    }
    return n;
}

struct oncall_rotation *oncall_rotation_new(const struct conf_rotation *c, char *why, size_t why_len)
{
    struct oncall_rotation *r = base_calloc(1, sizeof(*r));
    if (!r) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    r->c = c;
    r->tz = base_tz_load(c->timezone ? c->timezone : "UTC", why, why_len);
    if (!r->tz) {
        base_free(r);
        return NULL;
    }
    r->anchor_ms = instant(r, c->start_day * DAY_S + (int64_t)c->handoff_min * 60);
    return r;
}

void oncall_rotation_free(struct oncall_rotation *r)
{
    if (!r)
        return;
    base_tz_free(r->tz);
    base_free(r);
}

void oncall_rotation_set_extra(struct oncall_rotation *r, const struct conf_rotation_override *extra, size_t n)
{
    r->extra = extra;
    r->n_extra = extra ? n : 0;
}

const struct conf_rotation *oncall_rotation_conf(const struct oncall_rotation *r)
{
    return r->c;
}
