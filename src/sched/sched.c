/*
 * sched/sched: the scheduler. Owns the per-check runtime state, a min-heap
 * of due times (next runs, and the deadlines of passive checks) and one
 * uv_timer. Each timer tick starts at most SCHED_SLICE due runs and yields
 * to the loop if more are due, so a burst never stalls I/O. Publishes
 * samples and status changes on the event bus. Must not block, store, or
 * know about HTTP or any check type by name.
 */
#include "sched/sched.h"

#include "base/alloc.h"
#include "base/duration.h"
#include "base/log.h"
#include "base/map.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Runs started per timer tick before yielding to I/O (HTTP, probe sockets). */
#define SCHED_SLICE 256
#define NOT_IN_HEAP SIZE_MAX
#define MS_NS 1000000ULL

struct run_now {
    struct run_now *next, *prev;
    struct sched *sched;
    char id[SAMPLE_CHECK_ID_MAX];
    struct probe_run *run;
    sched_run_cb cb;
    void *data;
};

struct heap_entry {
    uint64_t due_ns;
    struct sched_check *check;
};

struct sched {
    uv_loop_t *loop;
    size_t max_in_flight;           /* runs in flight beyond which due runs wait */
    bool throttled;                 /* a due run is waiting for a free slot */
    struct probe_engine *probes;
    struct event_bus *bus;
    const struct base_clock *clock;
    uv_timer_t timer;
    struct sched_check **checks;    /* configuration order */
    size_t n_checks;
    struct base_map by_id;          /* id -> struct sched_check*, keys in the current conf */
    struct base_map paused;         /* ids paused by an operator (sched_pause): key = value, owned */
    struct heap_entry *heap;
    size_t heap_len, heap_cap;
    struct run_now *run_nows;
    size_t in_flight;               /* scheduled runs in flight */
    struct sched_stats stats;
    bool closing;
    sched_close_cb close_cb;
    void *close_data;
};

/* ---- min-heap on due_ns ----
 * Entries carry their due time so sifting compares within the array and
 * does not chase a pointer per comparison (it was the top opshub symbol in
 * a profile at 5,000 checks/s). The check's own due_ns is the truth; the
 * entry's copy is refreshed whenever the check moves in the heap. */

static void heap_set(struct sched *s, size_t i, struct sched_check *c)
{
    s->heap[i].due_ns = c->due_ns;
    s->heap[i].check = c;
    c->heap_index = i;
}

static void heap_up(struct sched *s, size_t i)
{
    struct sched_check *c = s->heap[i].check;
    uint64_t due = c->due_ns;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent].due_ns <= due)
            break;
        heap_set(s, i, s->heap[parent].check);
        i = parent;
    }
    heap_set(s, i, c);
}

static void heap_down(struct sched *s, size_t i)
{
    struct sched_check *c = s->heap[i].check;
    uint64_t due = c->due_ns;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t best = due;
        if (l < s->heap_len && s->heap[l].due_ns < best) {
            m = l;
            best = s->heap[l].due_ns;
        }
        if (r < s->heap_len && s->heap[r].due_ns < best)
            m = r;
        if (m == i)
            break;
        heap_set(s, i, s->heap[m].check);
        i = m;
    }
    heap_set(s, i, c);
}

/* Capacity is reserved by sched_apply_conf, so pushing never allocates. */
static void heap_push(struct sched *s, struct sched_check *c)
{
    heap_set(s, s->heap_len++, c);
    heap_up(s, c->heap_index);
}

static void heap_remove(struct sched *s, struct sched_check *c)
{
    size_t i = c->heap_index;
    if (i == NOT_IN_HEAP)
        return;
    c->heap_index = NOT_IN_HEAP;
    struct sched_check *last = s->heap[--s->heap_len].check;
    if (last == c)
        return;
    heap_set(s, i, last);
    heap_up(s, i);
    heap_down(s, last->heap_index);
}

/* After c->due_ns changed: moves c to its place, if it is in the heap. */
static void heap_fix(struct sched *s, struct sched_check *c)
{
    if (c->heap_index == NOT_IN_HEAP)
        return;
    heap_up(s, c->heap_index);
    heap_down(s, c->heap_index);
}

/* ---- samples ---- */

/* Adds counts to an hour's bucket. A later hour than the newest clears the
 * buckets of the hours in between; an hour 24 or more before the newest is
 * out of the window and ignored. */
static void uptime_add(struct sched_check *c, int64_t hour, uint32_t up, uint32_t total)
{
    if (hour < 0 || hour > INT32_MAX || hour <= (int64_t)c->newest_hour - SCHED_UPTIME_BUCKETS)
        return;
    if (hour > c->newest_hour) {
        int64_t gap = hour - c->newest_hour;
        for (int64_t h = hour; h > hour - (gap < SCHED_UPTIME_BUCKETS ? gap : SCHED_UPTIME_BUCKETS); h--) {
            size_t i = (size_t)(h % SCHED_UPTIME_BUCKETS);
            c->up_count[i] = c->total_count[i] = 0;
        }
        c->newest_hour = (int32_t)hour;
    }
    size_t idx = (size_t)(hour % SCHED_UPTIME_BUCKETS);
    c->up_count[idx] += up;
    c->total_count[idx] += total;
}

static void uptime_count(struct sched_check *c, const struct sample *smp)
{
    uptime_add(c, smp->ts_ms / 3600000, smp->result != SAMPLE_DOWN, 1);
}

double sched_check_uptime_24h(const struct sched_check *c, int64_t now_ms)
{
    int64_t hour = now_ms / 3600000;
    uint64_t up = 0, total = 0;
    for (int64_t h = c->newest_hour; h > c->newest_hour - SCHED_UPTIME_BUCKETS && h >= 0; h--) {
        if (h > hour || h <= hour - SCHED_UPTIME_BUCKETS)
            continue;
        up += c->up_count[h % SCHED_UPTIME_BUCKETS];
        total += c->total_count[h % SCHED_UPTIME_BUCKETS];
    }
    return total ? 100.0 * (double)up / (double)total : -1;
}

/* detail: the sample's (probe_run_detail), or NULL; copied. */
static void process_sample(struct sched *s, struct sched_check *c, const struct sample *smp, const char *detail)
{
    enum sched_status previous;
    bool changed = sched_status_apply(&c->state, c->conf->confirm, smp, &previous);
    c->last = *smp;
    c->has_last = true;
    base_free(c->last_detail);
    c->last_detail = detail ? base_strdup(detail) : NULL;
    uptime_count(c, smp);
    if (changed)
        s->stats.status_changes++;
    if (!s->bus)
        return;
    /* c->last, not smp: subscribers see the sample as the check holds it. */
    struct event ev = {.kind = EVENT_SAMPLE,
                       .u.check = {.check = c->conf, .check_id = c->conf->id, .sample = &c->last,
                                   .detail = c->last_detail, .status = (int)c->state.status,
                                   .previous = (int)previous}};
    event_publish(s->bus, &ev);
    if (changed) {
        ev.kind = EVENT_STATUS;
        event_publish(s->bus, &ev);
    }
}

/* Runs (or, passive, keeps a deadline): enabled in its definition and not
 * paused by an operator. */
static bool check_active(const struct sched_check *c)
{
    return c->conf->enabled && !c->paused;
}

static uint64_t now_ns(const struct sched *s)
{
    return base_clock_mono_ns(s->clock);
}

static uint64_t passive_period_ns(const struct sched_check *c)
{
    int64_t period = c->conf->type->period_ms ? c->conf->type->period_ms(c->conf) : 0;
    return (uint64_t)(period > 0 ? period : c->conf->interval_ms) * MS_NS;
}

static uint64_t passive_wait_ns(const struct sched_check *c)
{
    int64_t grace = c->conf->type->grace_ms ? c->conf->type->grace_ms(c->conf) : 0;
    return passive_period_ns(c) + (uint64_t)(grace > 0 ? grace : 0) * MS_NS;
}

/* How long a passive check has been silent: from its last signal by the
 * wall clock when there was one (it may predate this process), else since
 * it was set up. */
static uint64_t silent_ns(const struct sched *s, const struct sched_check *c, uint64_t now)
{
    int64_t wall = base_clock_wall_ms(s->clock);
    if (c->last_signal_ms > 0 && wall >= c->last_signal_ms)
        return (uint64_t)(wall - c->last_signal_ms) * MS_NS;
    return now - c->signal_ns;
}

/* A run begun by sched_signal_start outlived its limit. The run stays
 * open (run_started_ms), so a late end is still measured. */
static void expire_run(struct sched *s, struct sched_check *c)
{
    struct sample smp;
    sample_init(&smp, base_clock_wall_ms(s->clock));
    int64_t run_ms = base_clock_wall_ms(s->clock) - c->run_started_ms;
    c->run_due_ns = 0;
    if (c->conf->type->expire_run)
        c->conf->type->expire_run(c->conf, run_ms, &smp);
    smp.result = SAMPLE_DOWN;
    if (!smp.error[0])
        sample_set_error(&smp, "run did not end in time");
    process_sample(s, c, &smp, NULL);
}

/* A passive check's deadline passed: the type's expiry sample. */
static void expire(struct sched *s, struct sched_check *c, uint64_t silent_ns)
{
    struct sample smp;
    sample_init(&smp, base_clock_wall_ms(s->clock));
    smp.result = SAMPLE_DOWN;
    int64_t silent_ms = (int64_t)(silent_ns / MS_NS);
    if (c->conf->type->expire) {
        c->conf->type->expire(c->conf, silent_ms, &smp);
        smp.result = SAMPLE_DOWN;
    } else {
        char d[32];
        sample_set_error(&smp, "no signal for %s", base_duration_format(silent_ms, d, sizeof(d)));
    }
    if (!smp.error[0])
        sample_set_error(&smp, "deadline passed");
    process_sample(s, c, &smp, NULL);
}

static void rearm(struct sched *s);

/* After the sample: the series its run scraped, if any. */
static void publish_series(struct sched *s, struct sched_check *c, const struct scrape_batch *b)
{
    if (!b || !s->bus)
        return;
    struct event ev = {.kind = EVENT_SERIES, .u.series = {.check = c->conf, .check_id = c->conf->id, .batch = b}};
    event_publish(s->bus, &ev);
}

static void on_probe_done(void *data, const struct sample *smp)
{
    struct sched_check *c = data;
    struct sched *s = c->sched;
    const char *detail = probe_run_detail(c->run);
    const struct scrape_batch *series = probe_run_series(c->run);
    c->run = NULL;
    s->in_flight--;
    process_sample(s, c, smp, detail);
    publish_series(s, c, series);
    if (s->throttled) {
        s->throttled = false;
        rearm(s);
    }
}

/* ---- timer ---- */

static void on_timer(uv_timer_t *t);

static void rearm(struct sched *s)
{
    if (s->closing)
        return;
    if (!s->heap_len) {
        uv_timer_stop(&s->timer);
        return;
    }
    uv_update_time(s->loop);
    uint64_t now = now_ns(s), due = s->heap[0].due_ns;
    uint64_t delay_ms = due > now ? (due - now + MS_NS - 1) / MS_NS : 0;
    uv_timer_start(&s->timer, on_timer, delay_ms, 0);
}

static void start_run(struct sched *s, struct sched_check *c, uint64_t now)
{
    if (c->run) {
        s->stats.skipped++;
        return;
    }
    base_histogram_observe(&s->stats.lateness, (double)(now - c->due_ns) / 1e9);
    c->run = probe_start(s->probes, c->conf, on_probe_done, c);
    if (c->run)
        s->in_flight++;
    else
        base_log_error("probe start failed (out of memory)", BASE_LOG_STR("check", c->conf->id));
}

/* Up to SCHED_SLICE due entries; true when more may be due. */
static bool run_due(struct sched *s)
{
    uint64_t now = now_ns(s);
    for (int n = 0; n < SCHED_SLICE && s->heap_len; n++) {
        struct sched_check *c = s->heap[0].check;
        if (c->due_ns > now)
            return false;
        if (c->conf->type->passive) {
            if (c->run_due_ns && c->run_due_ns <= now)
                expire_run(s, c);
            else
                expire(s, c, silent_ns(s, c, now));
            c->due_ns = now + passive_period_ns(c);
            heap_down(s, 0);
            continue;
        }
        if (s->in_flight >= s->max_in_flight && !c->run) {
            /* Saturated: leave the run due; the next completion re-arms the
             * timer. Runs then start late, and whole intervals missed are
             * skipped and counted, instead of piling up without bound. */
            s->throttled = true;
            return false;
        }
        start_run(s, c, now);
        uint64_t interval = (uint64_t)c->conf->interval_ms * MS_NS;
        c->due_ns += interval;
        if (c->due_ns <= now) {
            /* Fell behind by whole intervals (loop stalled): skip them, keep the phase. */
            uint64_t behind = (now - c->due_ns) / interval + 1;
            c->due_ns += behind * interval;
            s->stats.skipped += behind;
        }
        heap_down(s, 0);
    }
    return s->heap_len && s->heap[0].due_ns <= now;
}

/* Saturated (throttled): no timer; the next completion re-arms it. */
static void on_timer(uv_timer_t *t)
{
    struct sched *s = t->data;
    run_due(s);
    if (!s->throttled)
        rearm(s);
}

void sched_poll(struct sched *s)
{
    if (s->closing)
        return;
    while (run_due(s) && !s->throttled)
        ;
    if (!s->throttled)
        rearm(s);
}

/* ---- configuration ---- */

static void check_reset(struct sched *s, struct sched_check *c, const struct conf_check *cc)
{
    struct sched_check zero = {0};
    base_free(c->last_detail);  /* a fresh check (calloc'd) has none */
    *c = zero;
    c->conf = cc;
    c->sched = s;
    c->heap_index = NOT_IN_HEAP;
    sched_status_init(&c->state, cc->enabled);
    if ((c->paused = base_map_get(&s->paused, cc->id) != NULL))
        c->state.status = SCHED_STATUS_PAUSED;
    uint64_t interval = (uint64_t)cc->interval_ms * MS_NS;
    if (cc->type->passive) {
        c->signal_ns = now_ns(s);
        c->due_ns = c->signal_ns + passive_wait_ns(c);
    } else {
        c->due_ns = now_ns(s) + base_map_hash(cc->id) % interval;
    }
}

static void cancel_run_nows(struct sched *s, const char *id)
{
    struct run_now *rn = s->run_nows, *next;
    for (; rn; rn = next) {
        next = rn->next;
        if (id && strcmp(rn->id, id) != 0)
            continue;
        probe_cancel(rn->run);
        if (rn->prev)
            rn->prev->next = rn->next;
        else
            s->run_nows = rn->next;
        if (rn->next)
            rn->next->prev = rn->prev;
        rn->cb(rn->data, BASE_ERR_CANCELED, NULL, NULL);
        base_free(rn);
    }
}

static void check_stop(struct sched *s, struct sched_check *c)
{
    if (c->run) {
        probe_cancel(c->run);
        c->run = NULL;
        s->in_flight--;
    }
    heap_remove(s, c);
    cancel_run_nows(s, c->conf->id);
}

struct sched *sched_new(uv_loop_t *loop, struct probe_engine *probes, struct event_bus *bus,
                        const struct base_clock *clock)
{
    struct sched *s = base_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->max_in_flight = SCHED_MAX_IN_FLIGHT;
    s->probes = probes;
    s->bus = bus;
    s->clock = clock ? clock : &base_clock_system;
    base_map_init(&s->by_id);
    base_map_init(&s->paused);
    base_histogram_init(&s->stats.lateness, base_metrics_latency_bounds, base_metrics_latency_n);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    return s;
}

int sched_apply_conf(struct sched *s, const struct conf *conf, struct sched_reload_stats *out)
{
    struct sched_reload_stats st = {0};
    struct base_map by_id;
    struct sched_check **checks = NULL, **fresh = NULL;
    base_map_init(&by_id);
    size_t n = conf->n_checks;

    /* Phase 1: allocate everything, touch nothing. */
    checks = base_calloc(n ? n : 1, sizeof(*checks));
    fresh = base_calloc(n ? n : 1, sizeof(*fresh));
    if (!checks || !fresh)
        goto fail;
    if (n > s->heap_cap) {
        struct heap_entry *heap = base_realloc(s->heap, n * sizeof(*heap));
        if (!heap)
            goto fail;
        s->heap = heap;
        s->heap_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        const struct conf_check *cc = &conf->checks[i];
        struct sched_check *old = base_map_get(&s->by_id, cc->id);
        if (!old && !(fresh[i] = base_calloc(1, sizeof(struct sched_check))))
            goto fail;
        if (base_map_put(&by_id, cc->id, old ? old : fresh[i]) != 0)
            goto fail;
    }

    /* Phase 2: move state over; nothing below allocates. Removed checks go
     * first so the heap never holds more than n entries. */
    for (size_t i = 0; i < s->n_checks; i++) {
        struct sched_check *c = s->checks[i];
        if (base_map_get(&by_id, c->conf->id) != c) {
            check_stop(s, c);
            base_free(c->last_detail);
            base_free(c);
            st.removed++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct conf_check *cc = &conf->checks[i];
        struct sched_check *c = base_map_get(&by_id, cc->id);
        if (c == fresh[i]) {
            fresh[i] = NULL;
            check_reset(s, c, cc);
            if (check_active(c))
                heap_push(s, c);
            st.added++;
        } else if (c->conf->hash == cc->hash) {
            c->conf = cc;
            st.unchanged++;
        } else {
            check_stop(s, c);
            check_reset(s, c, cc);
            if (check_active(c))
                heap_push(s, c);
            st.changed++;
        }
        checks[i] = c;
    }
    base_map_free(&s->by_id);
    s->by_id = by_id;
    base_free(s->checks);
    s->checks = checks;
    s->n_checks = n;
    base_free(fresh);
    if (out)
        *out = st;
    rearm(s);
    return 0;

fail:
    for (size_t i = 0; fresh && i < n; i++)
        base_free(fresh[i]);
    base_free(fresh);
    base_free(checks);
    base_map_free(&by_id);
    return BASE_ERR_NOMEM;
}

void sched_max_in_flight_set(struct sched *s, size_t n)
{
    s->max_in_flight = n ? n : 1;
}

size_t sched_count(const struct sched *s)
{
    return s->n_checks;
}

const struct sched_check *sched_check_at(const struct sched *s, size_t i)
{
    return i < s->n_checks ? s->checks[i] : NULL;
}

int64_t sched_now_ms(const struct sched *s)
{
    return base_clock_wall_ms(s->clock);
}

const struct sched_check *sched_check_get(const struct sched *s, const char *id)
{
    return base_map_get(&s->by_id, id);
}

const struct sched_stats *sched_stats_get(const struct sched *s)
{
    return &s->stats;
}

/* The deadline of a passive check counts from its last stored sample. */
static void restore_deadline(struct sched *s, struct sched_check *c, int64_t ts_ms)
{
    int64_t ago_ms = base_clock_wall_ms(s->clock) - ts_ms;
    uint64_t now = now_ns(s), ago = ago_ms > 0 ? (uint64_t)ago_ms * MS_NS : 0;
    uint64_t wait = passive_wait_ns(c);
    c->last_signal_ms = ts_ms;
    /* The monotonic clock may have started after the sample (a reboot):
     * clamp instead of wrapping; expiry messages count from last_signal_ms. */
    c->signal_ns = ago < now ? now - ago : 0;
    c->due_ns = ago < wait ? now + (wait - ago) : now;
    heap_fix(s, c);
}

void sched_restore(struct sched *s, const struct sample_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sched_check *c = base_map_get(&s->by_id, recs[i].check_id);
        if (!c || c->has_last || !check_active(c))
            continue;
        c->last = recs[i].s;
        c->has_last = true;
        sched_status_apply(&c->state, c->conf->confirm, &recs[i].s, NULL);
        if (c->conf->type->passive)
            restore_deadline(s, c, recs[i].s.ts_ms);
    }
    rearm(s);
}

void sched_restore_uptime(struct sched *s, const struct sample_hours_row *rows, size_t n)
{
    int64_t now_hour = base_clock_wall_ms(s->clock) / 3600000;
    for (size_t i = 0; i < n; i++) {
        const struct sample_hours_row *r = &rows[i];
        if (r->hour <= now_hour - SCHED_UPTIME_BUCKETS || r->hour > now_hour || !r->total)
            continue;
        struct sched_check *c = base_map_get(&s->by_id, r->check_id);
        if (!c || !check_active(c))
            continue;
        uptime_add(c, r->hour, r->up <= r->total ? r->up : r->total, r->total);
    }
}

/* ---- run now ---- */

static void on_run_now_done(void *data, const struct sample *smp)
{
    struct run_now *rn = data;
    struct sched *s = rn->sched;
    if (rn->prev)
        rn->prev->next = rn->next;
    else
        s->run_nows = rn->next;
    if (rn->next)
        rn->next->prev = rn->prev;
    struct sched_check *c = base_map_get(&s->by_id, rn->id);
    if (c) {
        process_sample(s, c, smp, probe_run_detail(rn->run));
        publish_series(s, c, probe_run_series(rn->run));
        rn->cb(rn->data, 0, c, smp);
    } else {
        rn->cb(rn->data, BASE_ERR_CANCELED, NULL, NULL);
    }
    base_free(rn);
}

int sched_run_now(struct sched *s, const char *id, sched_run_cb cb, void *data)
{
    struct sched_check *c = base_map_get(&s->by_id, id);
    if (!c) {
        cb(data, BASE_ERR_NOT_FOUND, NULL, NULL);
        return BASE_ERR_NOT_FOUND;
    }
    if (!check_active(c) || s->closing || c->conf->type->passive) {
        int why = s->closing ? BASE_ERR_CANCELED : !check_active(c) ? BASE_ERR_INVALID : BASE_ERR_BUSY;
        cb(data, why, c, NULL);
        return why;
    }
    struct run_now *rn = base_calloc(1, sizeof(*rn));
    if (!rn) {
        cb(data, BASE_ERR_NOMEM, c, NULL);
        return BASE_ERR_NOMEM;
    }
    rn->sched = s;
    snprintf(rn->id, sizeof(rn->id), "%s", id);
    rn->cb = cb;
    rn->data = data;
    rn->run = probe_start(s->probes, c->conf, on_run_now_done, rn);
    if (!rn->run) {
        base_free(rn);
        cb(data, BASE_ERR_NOMEM, c, NULL);
        return BASE_ERR_NOMEM;
    }
    rn->next = s->run_nows;
    if (rn->next)
        rn->next->prev = rn;
    s->run_nows = rn;
    return 0;
}

/* ---- signals (passive types) ---- */

int sched_signal(struct sched *s, const char *id, const struct sample *smp)
{
    struct sched_check *c = base_map_get(&s->by_id, id);
    if (!c)
        return BASE_ERR_NOT_FOUND;
    if (!c->conf->type->passive || !check_active(c) || s->closing)
        return BASE_ERR_INVALID;
    struct sample copy = *smp;
    if (!copy.ts_ms)
        copy.ts_ms = base_clock_wall_ms(s->clock);
    process_sample(s, c, &copy, NULL);
    c->signal_ns = now_ns(s);
    c->last_signal_ms = copy.ts_ms;
    c->run_started_ms = 0;
    c->run_due_ns = 0;
    c->due_ns = c->signal_ns + passive_wait_ns(c);
    heap_fix(s, c);
    rearm(s);
    return 0;
}

int sched_signal_start(struct sched *s, const char *id, int64_t max_ms)
{
    struct sched_check *c = base_map_get(&s->by_id, id);
    if (!c)
        return BASE_ERR_NOT_FOUND;
    if (!c->conf->type->passive || !check_active(c) || s->closing)
        return BASE_ERR_INVALID;
    c->run_started_ms = base_clock_wall_ms(s->clock);
    c->run_due_ns = max_ms > 0 ? now_ns(s) + (uint64_t)max_ms * MS_NS : 0;
    if (c->run_due_ns && c->run_due_ns < c->due_ns) {
        c->due_ns = c->run_due_ns;
        heap_fix(s, c);
        rearm(s);
    }
    return 0;
}

/* ---- pause ---- */

/* A status change without a sample (pause, resume): published with the
 * check's last sample (or an empty one dated now), as EVENT_STATUS only. */
static void publish_status(struct sched *s, struct sched_check *c, enum sched_status previous, int64_t at_ms)
{
    s->stats.status_changes++;
    if (!s->bus)
        return;
    struct sample none;
    if (!c->has_last) {
        memset(&none, 0, sizeof(none));
        none.ts_ms = at_ms;
    }
    struct event ev = {.kind = EVENT_STATUS,
                       .u.check = {.check = c->conf, .check_id = c->conf->id, .sample = c->has_last ? &c->last : &none,
                                   .detail = c->last_detail, .status = (int)c->state.status,
                                   .previous = (int)previous}};
    event_publish(s->bus, &ev);
}

int sched_pause(struct sched *s, const char *id, bool pause, int64_t at_ms)
{
    struct sched_check *c = base_map_get(&s->by_id, id);
    if (s->closing)
        return BASE_ERR_CANCELED;
    char *kept = base_map_get(&s->paused, id);
    if (pause && !kept) {
        if (!(kept = base_strdup(id)) || base_map_put(&s->paused, kept, kept) != 0) {
            base_free(kept);
            return BASE_ERR_NOMEM;
        }
    } else if (!pause && kept) {
        base_map_remove(&s->paused, id);
        base_free(kept);
    }
    if (!c || c->paused == pause)
        return c ? 0 : BASE_ERR_NOT_FOUND;  /* an unknown id stays recorded: it may come back */
    enum sched_status previous = c->state.status;
    c->paused = pause;
    if (pause) {
        check_stop(s, c);
        c->state.status = SCHED_STATUS_PAUSED;
        c->state.consecutive_failures = 0;
    } else {
        sched_status_init(&c->state, c->conf->enabled);
        if (check_active(c)) {
            /* Runs now (passive: its deadline starts now). */
            c->signal_ns = now_ns(s);
            c->due_ns = c->conf->type->passive ? c->signal_ns + passive_wait_ns(c) : c->signal_ns;
            heap_push(s, c);
        }
    }
    c->state.since_ms = at_ms;
    publish_status(s, c, previous, at_ms);
    rearm(s);
    return 0;
}

/* ---- close ---- */

static void on_timer_closed(uv_handle_t *h)
{
    struct sched *s = h->data;
    sched_close_cb cb = s->close_cb;
    void *data = s->close_data;
    for (size_t i = 0; i < s->n_checks; i++) {
        base_free(s->checks[i]->last_detail);
        base_free(s->checks[i]);
    }
    base_free(s->checks);
    base_free(s->heap);
    base_map_free(&s->by_id);
    size_t pos = 0;
    const char *key;
    void *val;
    while (base_map_next(&s->paused, &pos, &key, &val))
        base_free(val);
    base_map_free(&s->paused);
    base_free(s);
    if (cb)
        cb(data);
}

void sched_close(struct sched *s, sched_close_cb cb, void *data)
{
    s->closing = true;
    s->close_cb = cb;
    s->close_data = data;
    for (size_t i = 0; i < s->n_checks; i++) {
        struct sched_check *c = s->checks[i];
        if (c->run) {
            probe_cancel(c->run);
            c->run = NULL;
            s->in_flight--;
        }
    }
    cancel_run_nows(s, NULL);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}
