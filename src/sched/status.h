/*
 * sched/status: the check status state machine (docs/api.md, Checks), as pure
 * functions over a small state struct (no loop, no I/O), so every rule is
 * unit-tested directly. `unknown` before the first sample; `down` after
 * `confirm` consecutive down samples; an up or degraded sample sets the
 * status to its result; a down sample below `confirm` keeps the previous
 * status; `paused` for disabled checks.
 */
#ifndef SCHED_STATUS_H
#define SCHED_STATUS_H

#include "model/sample.h"

#include <stdbool.h>
#include <stdint.h>

/* Values are the opshub_check_status metric values. */
enum sched_status {
    SCHED_STATUS_UP = 0,
    SCHED_STATUS_DEGRADED = 1,
    SCHED_STATUS_DOWN = 2,
    SCHED_STATUS_UNKNOWN = 3,
    SCHED_STATUS_PAUSED = 4,
};

struct sched_status_state {
    enum sched_status status;
    int consecutive_failures;
    int64_t since_ms;          /* when status last changed; 0 before the first sample */
};

void sched_status_init(struct sched_status_state *st, bool enabled);
/* Applies one sample. Returns true when the status changed; *previous gets
 * the status before (may be NULL). confirm < 1 is treated as 1. */
bool sched_status_apply(struct sched_status_state *st, int confirm, const struct sample *s,
                        enum sched_status *previous);
const char *sched_status_name(enum sched_status s);

#endif
