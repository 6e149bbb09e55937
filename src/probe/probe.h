/*
 * probe/probe: runs one check once, asynchronously on the loop, and reports a
 * sample. The check's type (conf_check.type, one file per type in this
 * folder, listed in probe/registry.c) does the work: http goes through
 * libcurl's multi-socket interface driven by the libuv loop (probe/curlm.c),
 * tcp uses uv_tcp directly. A run copies everything it needs from the check
 * at start, so the conf may be replaced (reload) while the run is in
 * flight. Every run has a deadline (the check's timeout) and what it reads
 * is capped.
 */
#ifndef PROBE_PROBE_H
#define PROBE_PROBE_H

#include "base/clock.h"
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

/*
 * What a sample says (s->error is short and never holds the URL; the caller
 * adds the check id):
 *
 * HTTP: a new connection per run (no reuse), timeout = check timeout for
 * connect and total. Evaluated in this order, the first failure wins:
 * transport error -> DOWN ("connection refused", "timeout after 5000 ms
 * (waiting for response)" with the phase: resolving, connecting, TLS
 * handshake, waiting for response, reading body; "DNS: ...", "TLS: ...",
 * "connection closed before response", ...); status not in expect.status ->
 * DOWN "unexpected status 500 (expected 2xx)"; body too big (below) -> DOWN;
 * body_contains -> DOWN "body does not contain \"ok\""; json -> DOWN "body is
 * not valid JSON: <why> at line L col C", "json: path 'a.b' not found",
 * "json: a.b is \"x\", expected \"ok\""; latency > max_latency -> DEGRADED
 * "latency 2500 ms exceeds max_latency 2000 ms"; else UP with "".
 * code = final HTTP status (0 without a response); latency_ms = total time;
 * values (docs/checks.md): http_status_code, phase_*_seconds of the phases
 * reached (after redirects curl sums each phase over the requests),
 * redirects, content length, body bytes, version, TLS.
 *
 * Body cap (max_body_bytes): the body is read at most up to the cap, and
 * kept in memory only when body_contains or json needs it. When a response
 * body grows past the cap the transfer is stopped there: with a body
 * condition the sample is DOWN "response body exceeds max_body (65536
 * bytes)"; without one the status and latency decide (latency is then the
 * time until the cap was reached). So memory and bandwidth per run stay
 * bounded whatever the target sends.
 *
 * TCP: connect (each resolved address in turn), then write `send` if set,
 * then if `expect` is set read (at most 4 KiB) until it appears: UP; EOF,
 * timeout or 4 KiB without it -> DOWN "expected \"+PONG\" in reply, got
 * \"-ERR\\r\\n\" (connection closed)" (reply escaped and truncated).
 * "connection refused", "DNS: ...", "timeout after N ms (connecting)",
 * "invalid address ..." otherwise. latency_ms = time until connected, the
 * payload written (send without expect) or the expected text read; values
 * phase_resolve/connect/reply_seconds of the phases reached.
 *
 * Linux only: curl's sockets are watched through a private epoll set.
 */

/* Called once per run on the loop, unless the run was canceled. `s` is
 * borrowed for the call. The run is freed after the callback returns.
 * Never called from inside probe_start. */
typedef void (*probe_done_cb)(void *data, const struct sample *s);

/* Samples are stamped with clock's wall time (NULL = base_clock_system;
 * borrowed, outlives the engine): the scheduler's clock, so a test's
 * manual clock dates the samples too. NULL on OOM or when libcurl fails
 * to initialise. */
struct probe_engine *probe_engine_new(uv_loop_t *loop, const struct base_clock *clock);
void probe_stats_get(const struct probe_engine *e, struct probe_stats *out);
/* The daemon's data directory (copied), where a type keeps what must
 * survive a restart (the log type's offsets, under log-state/). Without
 * one (opshub check) such types run stateless. 0 or BASE_ERR_NOMEM. */
int probe_engine_set_data_dir(struct probe_engine *e, const char *dir);

/* Starts a run of `check` (borrowed for this call only). Returns the run
 * handle, or NULL on OOM or for a passive type (cb is then not called). */
struct probe_run *probe_start(struct probe_engine *e, const struct conf_check *check,
                              probe_done_cb cb, void *data);
/* The detail of a run's sample: facts that are not numbers (a
 * certificate's issuer, a plugin's output, the last lines a log pattern
 * matched) as the compact text of a JSON object of at most
 * PROBE_DETAIL_MAX bytes; NULL when the type gave none. Valid only inside
 * the run's done callback. */
#define PROBE_DETAIL_MAX 4096
const char *probe_run_detail(const struct probe_run *r);
/* The series a run scraped (a prometheus check), or NULL. Valid only
 * inside the run's done callback. */
struct scrape_batch;
const struct scrape_batch *probe_run_series(const struct probe_run *r);

/* Stops a run: its callback will not be called. Safe to call from within
 * another run's callback. */
void probe_cancel(struct probe_run *r);

/* Cancels every run, closes all handles; cb runs on the loop when every
 * handle is closed and the engine has been freed. */
typedef void (*probe_close_cb)(void *data);
void probe_engine_close(struct probe_engine *e, probe_close_cb cb, void *data);

#endif
