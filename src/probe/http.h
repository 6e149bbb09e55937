/*
 * probe/http: HTTP(S) checks through libcurl on the engine's multi handle:
 * sets up one easy handle per run from the check, collects the capped body,
 * and turns curl's result, the status, the body conditions (body_contains,
 * json) and the latency into a sample. Owns the run's copy of the
 * expectations and the run's easy handle.
 */
#ifndef PROBE_HTTP_H
#define PROBE_HTTP_H

#include "probe/probe_int.h"

/* Starts an HTTP run; NULL on OOM or when curl refuses the setup. The check
 * is borrowed for the call only. */
struct probe_run *probe_http_start(struct probe_engine *e, const struct conf_check *c);
/* The curl transfer of run `priv` ended with `rc`: evaluates and finishes
 * the run, then frees it. */
void probe_http_on_done(void *priv, CURLcode rc);
/* Aborts the transfer and frees the run (already unlinked by probe_cancel). */
void probe_http_cancel(struct probe_run *r);

#endif
