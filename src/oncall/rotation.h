/*
 * oncall/rotation: who is on call in a rotation at a given instant, and
 * the spans of a time range (for the on-call API, the dashboard's
 * calendar and the iCalendar feed). Pure computation on a rotation's
 * configuration (conf/oncall.h) and its time zone (base/tz): the state is
 * constant between edges, which are shift handoffs, the edges of the
 * restrict windows and the edges of overrides. An override replaces the
 * rotation's answer for its time, also outside the restrict windows;
 * before the first shift (start) and outside the windows nobody is on call.
 */
#ifndef ONCALL_ROTATION_H
#define ONCALL_ROTATION_H

#include "conf/oncall.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ONCALL_SPANS_MAX 5000

struct oncall_rotation;

/* A compiled rotation: c is borrowed (it must outlive the result), its
 * zone loaded. NULL with why (an unknown zone, out of memory). */
struct oncall_rotation *oncall_rotation_new(const struct conf_rotation *c, char *why, size_t why_len);
void oncall_rotation_free(struct oncall_rotation *r);
const struct conf_rotation *oncall_rotation_conf(const struct oncall_rotation *r);
/* Overrides besides the configuration's (made through the API), borrowed
 * until the next call: they come after the configuration's, so where two
 * overlap the later one listed wins. NULL: none. */
void oncall_rotation_set_extra(struct oncall_rotation *r, const struct conf_rotation_override *extra, size_t n);

struct oncall_span {
    int64_t start_ms, end_ms;     /* the answer holds from start to end */
    const char *user;             /* NULL: nobody (outside restrict, or before start) */
    bool override;                /* user is an override's */
    int shift;                    /* the shift's number since start (-1 before it) */
};

/* The answer at t, with the span it holds in (merged over edges where it
 * does not change, up to 60 days each way). */
void oncall_rotation_at(const struct oncall_rotation *r, int64_t t_ms, struct oncall_span *out);
/* The spans that meet [from, to), in order, merged where the answer does
 * not change, nobody's spans included; at most max. Returns how many. */
size_t oncall_rotation_spans(const struct oncall_rotation *r, int64_t from_ms, int64_t to_ms, struct oncall_span *out,
                             size_t max);

#endif
