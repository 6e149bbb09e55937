/*
 * base/clock: the system clock and the manual clock for tests.
 */
#include "base/clock.h"

#include "base/time.h"

static uint64_t system_mono_ns(const struct base_clock *c)
{
    (void)c;
    return base_time_mono_ns();
}

static int64_t system_wall_ms(const struct base_clock *c)
{
    (void)c;
    return base_time_now_ms();
}

const struct base_clock base_clock_system = {system_mono_ns, system_wall_ms};

static uint64_t manual_mono_ns(const struct base_clock *c)
{
    return ((const struct base_clock_manual *)(const void *)c)->mono_ns;
}

static int64_t manual_wall_ms(const struct base_clock *c)
{
    return ((const struct base_clock_manual *)(const void *)c)->wall_ms;
}

void base_clock_manual_init(struct base_clock_manual *m, int64_t wall_ms)
{
    m->clock.mono_ns = manual_mono_ns;
    m->clock.wall_ms = manual_wall_ms;
    m->mono_ns = 1000000000ULL;
    m->wall_ms = wall_ms;
}

void base_clock_manual_advance(struct base_clock_manual *m, int64_t ms)
{
    if (ms <= 0)
        return;
    m->mono_ns += (uint64_t)ms * 1000000ULL;
    m->wall_ms += ms;
}
