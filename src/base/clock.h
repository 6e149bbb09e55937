/*
 * base/clock: an injectable clock. Code that schedules by time (the
 * scheduler, status rules, later `for:` durations, heartbeats and
 * maintenance windows) reads time through a struct base_clock instead of
 * calling clock_gettime, so tests drive it with a manual clock and never
 * sleep. base_clock_system is the real one (immutable, shared); a manual
 * clock is owned by its test and moves only when told.
 */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdint.h>

struct base_clock {
    /* Monotonic nanoseconds, for deadlines and durations. */
    uint64_t (*mono_ns)(const struct base_clock *c);
    /* Unix milliseconds, for timestamps. */
    int64_t (*wall_ms)(const struct base_clock *c);
};

/* CLOCK_MONOTONIC and CLOCK_REALTIME. */
extern const struct base_clock base_clock_system;

/* A clock that stands still until advanced; both readings move together. */
struct base_clock_manual {
    struct base_clock clock;   /* first: &m->clock is what code is given */
    uint64_t mono_ns;
    int64_t wall_ms;
};

/* Starts at wall_ms (unix ms) with a monotonic reading of 1 s (never 0). */
void base_clock_manual_init(struct base_clock_manual *m, int64_t wall_ms);
/* Moves both readings forward by ms (>= 0). */
void base_clock_manual_advance(struct base_clock_manual *m, int64_t ms);

static inline uint64_t base_clock_mono_ns(const struct base_clock *c)
{
    return c->mono_ns(c);
}

static inline int64_t base_clock_wall_ms(const struct base_clock *c)
{
    return c->wall_ms(c);
}

#endif
