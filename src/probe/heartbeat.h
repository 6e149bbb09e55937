/*
 * probe/heartbeat: the `heartbeat` check type, a dead man's switch for cron
 * jobs and backups. Passive: it has no runs; the job pings opshub
 * (http/api_ping) and the scheduler reports the check down when no success
 * came within period + grace (sched_signal). This module owns the type's
 * settings and the rules that turn a ping into a sample (run too long, too
 * short, failure), as pure functions of times, so they are tested on a
 * manual clock. The token is a secret: compared in constant time, never
 * put in a sample, a message or a log.
 */
#ifndef PROBE_HEARTBEAT_H
#define PROBE_HEARTBEAT_H

#include "conf/conf.h"
#include "model/sample.h"

#include <stdbool.h>
#include <stdint.h>

/* Longest token accepted in a request (the configured one is bounded by
 * the loader's string limit; a longer presented one never matches). */
#define PROBE_HEARTBEAT_TOKEN_MAX 256

/* The settings of a heartbeat check (conf_check.settings). */
struct probe_heartbeat_conf {
    int64_t period_ms;       /* expected time between successes (required) */
    int64_t grace_ms;        /* extra time allowed past the period; 0 = none */
    const char *token;       /* secret the pings must carry; NULL = open */
    int64_t max_runtime_ms;  /* a run (start .. success) longer than this is down; 0 = no limit */
    int64_t min_runtime_ms;  /* a run shorter than this is down; 0 = no limit */
};

enum probe_heartbeat_ping { PROBE_HEARTBEAT_SUCCESS, PROBE_HEARTBEAT_START, PROBE_HEARTBEAT_FAIL };

extern const struct conf_check_type probe_heartbeat_type;

/* True when `presented` (may be NULL) matches the check's token, or the
 * check has none. The comparison takes the same time whatever bytes
 * differ. */
bool probe_heartbeat_token_ok(const struct conf_check *c, const char *presented);

/* The sample a success or failure ping makes at now_ms (kind SUCCESS or
 * FAIL): run_started_ms is when an open run began (0: none), last_ms the
 * previous ping (0: none). Values run_seconds (with a run) and
 * since_last_ping_seconds (with a previous ping). */
void probe_heartbeat_sample(const struct conf_check *c, enum probe_heartbeat_ping kind, int64_t now_ms,
                            int64_t run_started_ms, int64_t last_ms, struct sample *out);

#endif
