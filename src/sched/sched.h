/*
 * sched/sched: runs every configured check every `interval`, on the loop.
 * Owns the runtime state of each check (status, last sample, 24 h uptime
 * counts, schedule) and one timer over a min-heap of due times. First runs
 * are spread over the interval by a hash of the id (like Prometheus), so
 * 10,000 checks never fire in one burst; later runs keep their phase.
 * Every sample and every status change is published on the event bus
 * (model/event.h: the store, /metrics and the status log subscribe); sched
 * knows nothing of storage or HTTP. A run that is still in flight when the
 * next is due is skipped and counted. Checks of a passive type have no
 * runs: each has a deadline (interval + the type's grace) that a signal
 * from outside (sched_signal) pushes back; when it passes, the type's
 * expiry sample (down) is recorded, and again every interval after. Time
 * comes from an injectable clock, so tests drive schedules and deadlines
 * without sleeping (sched_poll after advancing a manual clock).
 */
#ifndef SCHED_SCHED_H
#define SCHED_SCHED_H

#include "base/clock.h"
#include "base/metrics.h"
#include "conf/conf.h"
#include "model/event.h"
#include "model/sample.h"
#include "probe/probe.h"
#include "sched/status.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define SCHED_UPTIME_BUCKETS 24 /* hourly buckets for uptime_24h */
/* Scheduled runs in flight at most. Past it, due runs wait for a free slot
 * (start late; whole intervals missed are skipped and counted), so an
 * overloaded opshub degrades into lateness instead of unbounded memory and
 * a starved loop. 2048 fresh connections is far above one core's capacity
 * (~10k checks/s at ~1 ms each) yet leaves room for slow or hanging targets. */
#define SCHED_MAX_IN_FLIGHT 2048

struct sched;

/* Runtime state of one check. Read-only for everyone but sched. */
struct sched_check {
    const struct conf_check *conf;   /* borrowed from the current conf */
    struct sched_status_state state;
    struct sample last;
    bool has_last;
    char *last_detail;               /* the last sample's detail (JSON object text), or NULL */
    int64_t last_signal_ms;          /* passive: unix ms of the last signal (or the restored sample); 0 = none */
    int64_t run_started_ms;          /* passive: unix ms a run began (sched_signal_start); 0 = none open */
    bool paused;                     /* by an operator (sched_pause); status is then paused */
    /* private: */
    struct sched *sched;
    uint64_t due_ns;                 /* monotonic (the clock's): next run or deadline */
    uint64_t signal_ns;              /* passive: last signal (or start), for "silent for" */
    uint64_t run_due_ns;             /* passive: an open run's limit; 0 = none */
    size_t heap_index;
    struct probe_run *run;           /* scheduled run in flight, or NULL */
    /* samples up (or degraded) and in all per hour, for the hours
     * newest_hour - 23 .. newest_hour at index hour % SCHED_UPTIME_BUCKETS */
    uint32_t up_count[SCHED_UPTIME_BUCKETS];
    uint32_t total_count[SCHED_UPTIME_BUCKETS];
    int32_t newest_hour;             /* unix ms / 3600000 */
};

struct sched_stats {
    uint64_t skipped;
    uint64_t status_changes;
    struct base_histogram lateness;  /* seconds between due and start */
};

/* Changes SCHED_MAX_IN_FLIGHT for this scheduler (n >= 1); for tests and tuning. */
void sched_max_in_flight_set(struct sched *s, size_t n);

/* `probes` and `bus` are borrowed and must outlive the scheduler; every
 * sample (scheduled, run-now, signal or expiry) is published on bus as
 * EVENT_SAMPLE, followed by EVENT_STATUS when the status moved. clock NULL
 * = base_clock_system. NULL on OOM. */
struct sched *sched_new(uv_loop_t *loop, struct probe_engine *probes, struct event_bus *bus,
                        const struct base_clock *clock);
/* Starts every run and records every expiry that is due by the clock now
 * (the timer does this by itself; tests call it after advancing a manual
 * clock). */
void sched_poll(struct sched *s);
/* A signal for a check of a passive type (a heartbeat ping): records smp
 * (ts_ms 0 = the clock's now) like a run's sample and moves the check's
 * deadline to now + interval + grace. 0; BASE_ERR_NOT_FOUND (unknown id);
 * BASE_ERR_INVALID (not passive, or paused). */
int sched_signal(struct sched *s, const char *id, const struct sample *smp);
/* A passive check's run begins (a heartbeat's /start): records nothing,
 * sets run_started_ms, and when max_ms > 0 brings the deadline forward to
 * now + max_ms if that is sooner; passing it records the type's
 * expire_run sample. The next sched_signal ends the run. Errors as
 * sched_signal. */
int sched_signal_start(struct sched *s, const char *id, int64_t max_ms);

struct sched_reload_stats {
    size_t added, removed, changed, unchanged;
};
/* Makes the scheduler follow `conf` (borrowed; must stay alive until the
 * next sched_apply_conf or sched_close). Unchanged checks (same hash) keep
 * state and schedule; changed ones restart with fresh state; removed ones
 * are canceled. 0 or BASE_ERR_NOMEM (then nothing changed). */
int sched_apply_conf(struct sched *s, const struct conf *conf, struct sched_reload_stats *out);

/* The wall time (unix ms) of the scheduler's clock: what samples are stamped with. */
int64_t sched_now_ms(const struct sched *s);
size_t sched_count(const struct sched *s);
/* Checks in configuration order; NULL past the end. */
const struct sched_check *sched_check_at(const struct sched *s, size_t i);
const struct sched_check *sched_check_get(const struct sched *s, const char *id);
const struct sched_stats *sched_stats_get(const struct sched *s);
/* Percentage of up/degraded samples in the last 24 h; negative when none. */
double sched_check_uptime_24h(const struct sched_check *c, int64_t now_ms);

/* Seeds checks that have no sample yet with the last stored one (after a
 * restart), applying the status rules to it as one sample. A passive
 * check's deadline then counts from that sample's time, as if it were the
 * last signal, so a restart neither forgets a recent ping nor grants a
 * silent job a fresh period. Records of
 * unknown, paused or already-sampled checks are ignored; nothing is passed
 * to the sample callback (the sample is already stored) and no counters move. */
void sched_restore(struct sched *s, const struct sample_record *recs, size_t n);

/* Adds stored hourly counts (the store's rollups) to the checks' 24 h
 * uptime: rows of hours within the last day by the clock; unknown or
 * paused checks and older hours are ignored. Counts are added to what a
 * bucket of the same hour already holds, so the caller passes only samples
 * taken before this process started (they are not counted twice). */
void sched_restore_uptime(struct sched *s, const struct sample_hours_row *rows, size_t n);

/* Runs a check now, outside its schedule. cb fires exactly once: with
 * status 0 and the sample, or with BASE_ERR_NOT_FOUND (unknown id),
 * BASE_ERR_INVALID (paused), BASE_ERR_BUSY (passive type: it has no runs),
 * BASE_ERR_CANCELED (removed by reload or scheduler closing; sample NULL). */
typedef void (*sched_run_cb)(void *data, int status, const struct sched_check *c, const struct sample *s);
int sched_run_now(struct sched *s, const char *id, sched_run_cb cb, void *data);

/* Cancels every run (run-now callbacks get BASE_ERR_CANCELED), closes the
 * timer and frees everything; cb runs on the loop when done. */
/* Pauses (or resumes) a check by an operator: a paused check does not run
 * (one in flight is cancelled), its status is paused, a passive check's
 * deadline stops and its signals are refused. Resuming starts it over from
 * unknown with a run now. The pause is kept by id across reloads (a check
 * that is removed and comes back is still paused) until resumed. Publishes
 * the status change (EVENT_STATUS with the last sample). 0 (also when it
 * already was so); BASE_ERR_NOT_FOUND for an id that is not a check now
 * (recorded all the same); BASE_ERR_NOMEM; BASE_ERR_CANCELED when closing. */
int sched_pause(struct sched *s, const char *id, bool pause, int64_t at_ms);

typedef void (*sched_close_cb)(void *data);
void sched_close(struct sched *s, sched_close_cb cb, void *data);

#endif
