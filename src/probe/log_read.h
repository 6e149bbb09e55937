/*
 * probe/log_read: one run of a log check, as blocking work for a pool
 * thread: load the state, finish a rotated file, detect rotation (a new
 * inode at the path), truncation (copytruncate: the file shorter than the
 * offset, or its first bytes changed), read at most PROBE_LOG_READ_MAX
 * bytes, count lines per pattern, and commit the new state atomically.
 * Touches only its struct probe_log_read; the loop may abandon a job
 * before it commits (probe_log_read_abandon), and then nothing of the run
 * is kept: the next run reads the same lines again.
 */
#ifndef PROBE_LOG_READ_H
#define PROBE_LOG_READ_H

#include "probe/log.h"
#include "probe/log_state.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PROBE_LOG_READ_ERROR_MAX 240

struct probe_log_read {
    /* ---- in (owned by the job, set before it is queued) ---- */
    char path[PROBE_LOG_PATH_MAX];
    char rotated[PROBE_LOG_PATH_MAX];  /* a glob; "" = "<path>.1" */
    char state_file[PROBE_LOG_PATH_MAX + 128];  /* "" = stateless (opshub check) */
    char state_tmp[PROBE_LOG_PATH_MAX + 160];
    bool from_start;
    size_t n_patterns;
    char regex[PROBE_LOG_PATTERNS_MAX][PROBE_LOG_REGEX_MAX + 1];
    int64_t now_ms;
    uint64_t budget;                   /* bytes to read at most (PROBE_LOG_READ_MAX) */

    /* ---- out ---- */
    uint64_t matches[PROBE_LOG_PATTERNS_MAX];
    uint64_t lines, bytes_read, bytes_behind, limit_hits;
    int64_t prev_ts_ms;                /* the previous run's time; 0 = none known */
    bool down, degraded, committed;
    char error[PROBE_LOG_READ_ERROR_MAX]; /* why down or degraded */
    char last[PROBE_LOG_LAST_LINES][PROBE_LOG_LAST_LINE_MAX];
    size_t n_last, last_next;          /* a ring: last_next is the slot written next */

    /* ---- shared ---- */
    atomic_int phase;                  /* PROBE_LOG_READ_* */
};

enum { PROBE_LOG_READ_RUNNING = 0, PROBE_LOG_READ_COMMITTING = 1, PROBE_LOG_READ_ABANDONED = 2 };

/* Runs the job (blocking; any thread). */
void probe_log_read_run(struct probe_log_read *j);
/* From the loop: stops the job from committing. True when it will not
 * (nothing of the run will be kept); false when it already commits. */
bool probe_log_read_abandon(struct probe_log_read *j);

#endif
