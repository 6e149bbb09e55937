/*
 * probe/probe: runs one check once, asynchronously on the loop, and reports a
 * sample. HTTP checks go through libcurl's multi-socket interface driven by
 * the libuv loop (probe/curlm.c); TCP checks use uv_tcp directly. A run
 * copies everything it needs from the check at start, so the conf may be
 * replaced (reload) while the run is in flight. Every run has a deadline
 * (the check's timeout) and the response body read is capped.
 */
#ifndef PROBE_PROBE_H
#define PROBE_PROBE_H

#include "conf/conf.h"
#include "model/sample.h"

#include <stdint.h>
#include <uv.h>

struct probe_engine;
struct probe_run;

struct probe_stats {
    uint64_t started, finished, canceled;
    uint64_t in_flight;
};

/* Called once per run on the loop, unless the run was canceled. `s` is
 * borrowed for the call. The run is freed after the callback returns. */
typedef void (*probe_done_cb)(void *data, const struct sample *s);

/* NULL on OOM or when libcurl fails to initialise. */
struct probe_engine *probe_engine_new(uv_loop_t *loop);
void probe_stats_get(const struct probe_engine *e, struct probe_stats *out);

/* Starts a run of `check` (borrowed for this call only). Returns the run
 * handle, or NULL on OOM (cb is then not called). */
struct probe_run *probe_start(struct probe_engine *e, const struct conf_check *check,
                              probe_done_cb cb, void *data);
/* Stops a run: its callback will not be called. Safe to call from within
 * another run's callback. */
void probe_cancel(struct probe_run *r);

/* Cancels every run, closes all handles; cb runs on the loop when every
 * handle is closed and the engine has been freed. */
typedef void (*probe_close_cb)(void *data);
void probe_engine_close(struct probe_engine *e, probe_close_cb cb, void *data);

#endif
