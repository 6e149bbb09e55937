/*
 * sched/status: status transitions from samples.
 */
#include "sched/status.h"

#include <stdint.h>

void sched_status_init(struct sched_status_state *st, bool enabled)
{
    st->status = enabled ? SCHED_STATUS_UNKNOWN : SCHED_STATUS_PAUSED;
    st->consecutive_failures = 0;
    st->since_ms = 0;
}

bool sched_status_apply(struct sched_status_state *st, int confirm, const struct sample *s,
                        enum sched_status *previous)
{
    enum sched_status before = st->status, after = before;
    if (previous)
        *previous = before;
    if (before == SCHED_STATUS_PAUSED)
        return false;
    if (confirm < 1)
        confirm = 1;
    if (s->result == SAMPLE_DOWN) {
        if (st->consecutive_failures < INT32_MAX)
            st->consecutive_failures++;
        if (st->consecutive_failures >= confirm)
            after = SCHED_STATUS_DOWN;
    } else {
        st->consecutive_failures = 0;
        after = s->result == SAMPLE_DEGRADED ? SCHED_STATUS_DEGRADED : SCHED_STATUS_UP;
    }
    if (after == before)
        return false;
    st->status = after;
    st->since_ms = s->ts_ms;
    return true;
}

const char *sched_status_name(enum sched_status s)
{
    switch (s) {
    case SCHED_STATUS_UP: return "up";
    case SCHED_STATUS_DEGRADED: return "degraded";
    case SCHED_STATUS_DOWN: return "down";
    case SCHED_STATUS_UNKNOWN: return "unknown";
    case SCHED_STATUS_PAUSED: return "paused";
    }
    return "unknown";
}
