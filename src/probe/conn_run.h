/*
 * probe/conn_run: the lifecycle the check types that speak over one
 * probe/conn connection share (tcp, tls, redis): a run with one timer
 * (the deadline, or the next loop turn for a failure found at start),
 * finished exactly once, torn down by closing the connection and the
 * timer, freed in the timer's close callback while counted in the
 * engine's tearing_down. A type embeds struct probe_conn_run first in its
 * own struct, so a run pointer, a conn_run pointer and the type's pointer
 * are the same, and the timer's data is that pointer.
 */
#ifndef PROBE_CONN_RUN_H
#define PROBE_CONN_RUN_H

#include "base/err.h"
#include "probe/conn.h"
#include "probe/probe_int.h"

#include <stdbool.h>

struct probe_conn_run;

/* What a type adds; any may be NULL. */
struct probe_conn_run_ops {
    /* Just before the sample goes out: values of the phases reached. */
    void (*before_finish)(struct probe_conn_run *cr);
    /* Just before the free: the type's own resources (not conn, not timer). */
    void (*release)(struct probe_conn_run *cr);
};

struct probe_conn_run {
    struct probe_run run;           /* first */
    uv_timer_t timer;
    struct probe_conn *conn;        /* set by the type; closed by the teardown */
    bool failed, tearing_down;      /* failed: a failure waits for the next loop turn */
    uv_timer_cb on_timer;           /* the type's timer callback */
    const struct probe_conn_run_ops *ops;
};

/* Initialises the run and its timer and starts the deadline (the check's
 * timeout) with on_timer, whose first step is probe_conn_run_timer_over. */
void probe_conn_run_init(struct probe_conn_run *cr, struct probe_engine *e, const struct conf_check *c,
                         const struct probe_conn_run_ops *ops, uv_timer_cb on_timer);
/* Delivers the sample with `result` (an up sample's error is cleared; the
 * latency, when not set, is the time since the start) and tears down. */
void probe_conn_run_finish(struct probe_conn_run *cr, enum sample_result result);
/* A down sample with this error: at once from a loop callback, on the next
 * loop turn when `deferred` (from the type's start: a run never completes
 * inside it). */
void probe_conn_run_fail(struct probe_conn_run *cr, bool deferred, const char *fmt, ...) BASE_PRINTF(3, 4);
/* Closes the connection and the timer; the run frees itself once they are
 * closed. The type's cancel is this. Idempotent. */
void probe_conn_run_teardown(struct probe_conn_run *cr);
/* The start of the type's timer callback: true when there is nothing left
 * for it to do (the run is done, or a deferred failure was just reported). */
bool probe_conn_run_timer_over(struct probe_conn_run *cr);

#endif
