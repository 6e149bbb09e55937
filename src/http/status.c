/*
 * http/status: the status page's model: components, their state, the
 * cached daily history and the feed of state changes (see status.h). The
 * three renderings are in status_render.c.
 */
#include "http/status_int.h"
#include "incidents/incidents.h"
#include "notify/notify.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "objects/confs.h"
#include "sched/sched.h"
#include "store/rollup.h"

#include <stdio.h>
#include <string.h>

const struct conf *status_conf(const struct http_status *s)
{
    return s->confs && *s->confs ? objects_confs_run(*s->confs) : NULL;
}

/* ---- components ------------------------------------------------------------ */

static int rank(enum sched_status st)
{
    switch (st) {
    case SCHED_STATUS_DOWN: return 4;
    case SCHED_STATUS_DEGRADED: return 3;
    case SCHED_STATUS_UNKNOWN: return 2;
    case SCHED_STATUS_UP: return 1;
    default: return 0;  /* paused: does not count */
    }
}

/* Worst status of the component's checks, and since when it holds (the
 * latest `since` among the checks in that status). */
static void comp_state(const struct http_status *s, struct status_comp *c)
{
    int best = 0;
    c->status = SCHED_STATUS_UNKNOWN;
    c->since_ms = 0;
    for (size_t i = 0; i < c->n_checks; i++) {
        const struct sched_check *sc = s->sched && !s->closing ? sched_check_get(s->sched, c->checks[i]) : NULL;
        enum sched_status st = sc ? sc->state.status : SCHED_STATUS_UNKNOWN;
        int r = rank(st);
        if (r > best) {
            best = r;
            c->status = st;
            c->since_ms = sc ? sc->state.since_ms : 0;
        } else if (r == best && sc && sc->state.since_ms > c->since_ms) {
            c->since_ms = sc->state.since_ms;
        }
    }
}

/* Today's counts come from the scheduler's hourly buckets (live: every
 * sample so far), the days before from the cache of the rollups. */
static void today_counts(const struct http_status *s, const char *id, int64_t today_ms, uint64_t *up,
                         uint64_t *total)
{
    const struct sched_check *sc = s->sched && !s->closing ? sched_check_get(s->sched, id) : NULL;
    if (!sc)
        return;
    int32_t first = (int32_t)(today_ms / 3600000);
    for (int32_t hr = first; hr <= sc->newest_hour && hr < first + 24; hr++) {
        if (hr <= sc->newest_hour - SCHED_UPTIME_BUCKETS)
            continue;
        *up += sc->up_count[hr % SCHED_UPTIME_BUCKETS];
        *total += sc->total_count[hr % SCHED_UPTIME_BUCKETS];
    }
}

/* The history of the component: the sums of its checks' days. */
static void comp_history(const struct http_status *s, struct status_comp *c, struct base_arena *a)
{
    int days = c->days;
    c->up = base_arena_alloc(a, (size_t)days * sizeof(*c->up));
    c->total = base_arena_alloc(a, (size_t)days * sizeof(*c->total));
    if (!c->up || !c->total) {
        c->up = c->total = NULL;
        return;
    }
    memset(c->up, 0, (size_t)days * sizeof(*c->up));
    memset(c->total, 0, (size_t)days * sizeof(*c->total));
    int64_t today = c->day0_ms + (int64_t)(days - 1) * STATUS_DAY_MS;
    for (size_t i = 0; i < c->n_checks; i++) {
        today_counts(s, c->checks[i], today, &c->up[days - 1], &c->total[days - 1]);
        const struct status_hist *h = base_map_get(&s->hist, c->checks[i]);
        if (!h)
            continue;
        for (int d = 0; d < days - 1; d++) {
            /* day d of the page is day (day0 + d) of the cache */
            int64_t day = c->day0_ms + (int64_t)d * STATUS_DAY_MS;
            int64_t k = (day - h->day0_ms) / STATUS_DAY_MS;
            if (k < 0 || k >= h->days)
                continue;
            c->up[d] += h->up[k];
            c->total[d] += h->total[k];
        }
    }
    for (int d = 0; d < days; d++) {
        c->up_sum += c->up[d];
        c->total_sum += c->total[d];
    }
}

static void comp_fill(const struct http_status *s, struct status_comp *c, int days, int64_t day0,
                      struct base_arena *a)
{
    c->days = days;
    c->day0_ms = day0;
    comp_state(s, c);
    comp_history(s, c, a);
}

static bool check_in_project(const struct conf *conf, const char *id, const char *project)
{
    const struct conf_check *cc = conf_check_find(conf, id);
    return cc && cc->project && strcmp(cc->project, project) == 0;
}

/* Components from the configuration's list; with a project, only those
 * with checks of it, each with only those checks. */
static size_t comps_configured(const struct conf *conf, const char *project, struct status_comp *out,
                               struct base_arena *a)
{
    const struct conf_status_page *sp = &conf->status_page;
    size_t n = 0;
    for (size_t i = 0; i < sp->n_components; i++) {
        const struct conf_status_component *cc = &sp->components[i];
        struct status_comp *c = &out[n];
        memset(c, 0, sizeof(*c));
        c->name = cc->name;
        c->description = cc->description;
        if (!project) {
            c->checks = cc->checks;
            c->n_checks = cc->n_checks;
            n++;
            continue;
        }
        const char **ids = base_arena_alloc(a, cc->n_checks * sizeof(*ids));
        if (!ids)
            return n;
        for (size_t k = 0; k < cc->n_checks; k++)
            if (check_in_project(conf, cc->checks[k], project))
                ids[c->n_checks++] = cc->checks[k];
        c->checks = ids;
        n += c->n_checks > 0;
    }
    return n;
}

/* Without configured components: one per project (and one for checks of
 * no project) on the whole page; one per check on a project's page. */
static size_t comps_default(const struct conf *conf, const char *project, struct status_comp *out,
                            struct base_arena *a)
{
    size_t n = 0;
    if (project) {
        for (size_t i = 0; i < conf->n_checks; i++) {
            const struct conf_check *cc = &conf->checks[i];
            if (!cc->project || strcmp(cc->project, project) != 0)
                continue;
            struct status_comp *c = &out[n++];
            memset(c, 0, sizeof(*c));
            c->name = cc->name ? cc->name : cc->id;
            c->checks = &conf->checks[i].id;
            c->n_checks = 1;
        }
        return n;
    }
    for (size_t p = 0; p <= conf->n_projects; p++) {
        const char *pid = p < conf->n_projects ? conf->projects[p].id : NULL;
        size_t count = 0;
        for (size_t i = 0; i < conf->n_checks; i++)
            count += pid ? (conf->checks[i].project && strcmp(conf->checks[i].project, pid) == 0)
                         : conf->checks[i].project == NULL;
        if (!count)
            continue;
        const char **ids = base_arena_alloc(a, count * sizeof(*ids));
        if (!ids)
            return n;
        struct status_comp *c = &out[n++];
        memset(c, 0, sizeof(*c));
        c->name = pid ? conf->projects[p].name : "Other services";
        for (size_t i = 0; i < conf->n_checks; i++)
            if (pid ? (conf->checks[i].project && strcmp(conf->checks[i].project, pid) == 0)
                    : conf->checks[i].project == NULL)
                ids[c->n_checks++] = conf->checks[i].id;
        c->checks = ids;
    }
    return n;
}

int status_view_build(struct http_status *s, const char *project, struct status_view *v)
{
    memset(v, 0, sizeof(*v));
    base_arena_init(&v->arena, 64 * 1024);
    const struct conf *conf = status_conf(s);
    if (!conf || !conf->status_page.enabled)
        return BASE_ERR_NOT_FOUND;
    if (conf != s->seen_conf)  /* reloaded, or API objects changed: read the history again */
        http_status_reload(s);
    const struct conf_status_page *sp = &conf->status_page;
    if (project && !conf_project_find(conf, project))
        return BASE_ERR_NOT_FOUND;
    v->sp = sp;
    v->project = project ? conf_project_find(conf, project) : NULL;
    size_t cap = sp->n_components ? sp->n_components : (project ? conf->n_checks : conf->n_projects + 1);
    v->comps = base_arena_alloc(&v->arena, (cap ? cap : 1) * sizeof(*v->comps));
    if (!v->comps)
        return BASE_ERR_NOMEM;
    v->n = sp->n_components ? comps_configured(conf, project, v->comps, &v->arena)
                            : comps_default(conf, project, v->comps, &v->arena);
    if (project && v->n == 0)
        return BASE_ERR_NOT_FOUND;
    v->now_ms = base_time_now_ms();
    v->days = sp->history_days;
    int64_t today = v->now_ms / STATUS_DAY_MS * STATUS_DAY_MS;
    v->day0_ms = today - (int64_t)(v->days - 1) * STATUS_DAY_MS;
    v->history_ready = s->ready;
    v->maintenance = s->notify ? notify_json_maintenance(s->notify, true) : NULL;
    v->incidents = s->incidents ? incidents_json_public(s->incidents, project, v->day0_ms) : NULL;
    const struct conf_incidents *sch = s->incidents ? incidents_scheme(s->incidents) : NULL;
    v->subscribe = sch && sch->self_service && sch->subscriber_email;
    int worst = 0;
    v->status = SCHED_STATUS_UNKNOWN;
    for (size_t i = 0; i < v->n; i++) {
        struct status_comp *c = &v->comps[i];
        comp_fill(s, c, v->days, v->day0_ms, &v->arena);
        v->up_sum += c->up_sum;
        v->total_sum += c->total_sum;
        if (rank(c->status) > worst) {
            worst = rank(c->status);
            v->status = c->status;
        }
        v->n_down += c->status == SCHED_STATUS_DOWN;
    }
    return 0;
}

void status_view_free(struct status_view *v)
{
    json_decref(v->maintenance);
    v->maintenance = NULL;
    json_decref(v->incidents);
    v->incidents = NULL;
    base_arena_free(&v->arena);
}

/* ---- history: one check at a time from the rollups ---------------------- */

/* Frees every value of m (their keys live in them) and m. */
static void map_free_values(struct base_map *m)
{
    size_t pos = 0;
    const char *key;
    void *val;
    while (base_map_next(m, &pos, &key, &val))
        base_free(val);
    base_map_free(m);
}

static void refresh_next(struct http_status *s);
static void timer_cb(uv_timer_t *t);

static void refresh_done(struct http_status *s)
{
    map_free_values(&s->hist);
    s->hist = s->next;
    base_map_init(&s->next);
    for (size_t i = 0; i < s->n_ids; i++)
        base_free(s->ids[i]);
    base_free(s->ids);
    s->ids = NULL;
    s->n_ids = s->at = 0;
    s->refreshing = false;
    s->ready = true;
    if (s->again) {
        s->again = false;
        http_status_reload(s);
        return;
    }
    uv_timer_start(&s->timer, timer_cb, HTTP_STATUS_REFRESH_MS, 0);
}

static void on_points(void *data, int status, const struct store_latency_point *pts, size_t n, bool partial)
{
    struct http_status *s = data;
    (void)partial;
    s->in_flight = false;
    if (s->closing)
        return;
    const char *id = s->ids[s->at];
    if (status == 0 && n > 0) {
        size_t idlen = strlen(id) + 1;
        struct status_hist *h = base_malloc(sizeof(*h) + idlen + 8 + n * 2 * sizeof(uint32_t));
        if (h) {
            memcpy(h->id, id, idlen);
            h->day0_ms = pts[0].ts_ms;
            h->days = (int)n;
            h->up = (uint32_t *)(void *)(h->id + ((idlen + 7) & ~(size_t)7));
            h->total = h->up + n;
            for (size_t i = 0; i < n; i++) {
                /* degraded counts as up, as in every uptime figure */
                uint64_t up = pts[i].s.up + pts[i].s.degraded;
                h->up[i] = up > UINT32_MAX ? UINT32_MAX : (uint32_t)up;
                h->total[i] = pts[i].s.total > UINT32_MAX ? UINT32_MAX : (uint32_t)pts[i].s.total;
            }
            if (base_map_put(&s->next, h->id, h) != 0)
                base_free(h);
        }
    } else if (status != 0) {
        s->errors++;
    }
    s->at++;
    refresh_next(s);
}

static void refresh_next(struct http_status *s)
{
    while (s->at < s->n_ids && !s->closing) {
        int64_t today = base_time_now_ms() / STATUS_DAY_MS * STATUS_DAY_MS;
        int64_t from = today - (int64_t)(s->days - 1) * STATUS_DAY_MS;
        s->in_flight = true;
        if (store_latency_query(s->store, s->ids[s->at], from, today + STATUS_DAY_MS, STATUS_DAY_MS, on_points, s) == 0)
            return;
        s->in_flight = false;
        s->errors++;
        s->at++;
    }
    if (!s->closing)
        refresh_done(s);
}

static char *dup_str(const char *x)
{
    size_t n = strlen(x) + 1;
    char *d = base_malloc(n);
    if (d)
        memcpy(d, x, n);
    return d;
}

static void add_id(struct http_status *s, struct base_map *seen, const char *id, size_t cap)
{
    if (s->n_ids >= cap || base_map_get(seen, id))
        return;
    char *d = dup_str(id);
    if (!d)
        return;
    if (base_map_put(seen, d, d) != 0) {
        base_free(d);
        return;
    }
    s->ids[s->n_ids++] = d;
}

void http_status_reload(struct http_status *s)
{
    if (s->closing)
        return;
    if (s->refreshing) {
        s->again = true;
        return;
    }
    const struct conf *conf = status_conf(s);
    s->seen_conf = conf;
    if (!conf || !conf->status_page.enabled || !s->store)
        return;
    const struct conf_status_page *sp = &conf->status_page;
    size_t cap = 0;
    for (size_t i = 0; i < sp->n_components; i++)
        cap += sp->components[i].n_checks;
    if (!sp->n_components)
        cap = conf->n_checks;
    if (cap > HTTP_STATUS_HISTORY_CHECKS_MAX)
        cap = HTTP_STATUS_HISTORY_CHECKS_MAX;
    s->ids = base_calloc(cap ? cap : 1, sizeof(*s->ids));
    if (!s->ids)
        return;
    struct base_map seen;
    base_map_init(&seen);
    for (size_t i = 0; i < sp->n_components; i++)
        for (size_t k = 0; k < sp->components[i].n_checks; k++)
            if (conf_check_find(conf, sp->components[i].checks[k]))
                add_id(s, &seen, sp->components[i].checks[k], cap);
    for (size_t i = 0; !sp->n_components && i < conf->n_checks; i++)
        add_id(s, &seen, conf->checks[i].id, cap);
    base_map_free(&seen);
    s->days = sp->history_days;
    s->at = 0;
    s->refreshing = true;
    base_map_init(&s->next);
    refresh_next(s);
}

static void timer_cb(uv_timer_t *t)
{
    http_status_reload(t->data);
}

bool http_status_history_ready(const struct http_status *s)
{
    return s->ready;
}

/* ---- the feed: components' state changes ----------------------------------- */

static void feed_add(struct http_status *s, const char *name, enum sched_status from, enum sched_status to,
                     int64_t at_ms)
{
    struct status_feed_entry *e = &s->feed[s->feed_next % HTTP_STATUS_FEED_MAX];
    s->feed_next++;
    snprintf(e->component, sizeof(e->component), "%s", name);
    e->from = from;
    e->to = to;
    e->at_ms = at_ms;
    e->seq = s->feed_next;
}

static void on_status(void *data, const struct event *ev)
{
    struct http_status *s = data;
    const struct conf *conf = status_conf(s);
    if (s->closing || !conf || !conf->status_page.enabled)
        return;
    struct status_view v;
    if (status_view_build(s, NULL, &v) != 0) {
        status_view_free(&v);
        return;
    }
    for (size_t i = 0; i < v.n; i++) {
        struct status_comp *c = &v.comps[i];
        bool has = false;
        for (size_t k = 0; k < c->n_checks && !has; k++)
            has = strcmp(c->checks[k], ev->u.check.check_id) == 0;
        if (!has)
            continue;
        struct status_last *last = base_map_get(&s->states, c->name);
        enum sched_status before = last ? last->status : SCHED_STATUS_UNKNOWN;
        if (before == c->status)
            continue;
        if (!last) {
            size_t len = strlen(c->name) + 1;
            if (!(last = base_malloc(sizeof(*last) + len)))
                continue;
            memcpy(last->name, c->name, len);
            if (base_map_put(&s->states, last->name, last) != 0) {
                base_free(last);
                continue;
            }
        }
        last->status = c->status;
        /* The first figures after a start are not news; every change after is. */
        if (before != SCHED_STATUS_UNKNOWN || c->status != SCHED_STATUS_UP)
            feed_add(s, c->name, before, c->status, ev->u.check.sample->ts_ms);
    }
    status_view_free(&v);
}

/* ---- life ---------------------------------------------------------------------- */

void http_status_set_incidents(struct http_status *s, struct incidents *x)
{
    s->incidents = x;
}

void http_status_set_notify(struct http_status *s, struct notify *n)
{
    s->notify = n;
}

struct http_status *http_status_new(uv_loop_t *loop, struct event_bus *bus, struct store *store,
                                    const struct sched *sched, const struct objects_confs *const *confs)
{
    struct http_status *s = base_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->bus = bus;
    s->store = store;
    s->sched = sched;
    s->confs = confs;
    base_map_init(&s->hist);
    base_map_init(&s->next);
    base_map_init(&s->states);
    if (bus && event_subscribe(bus, "status_page", EVENT_MASK(EVENT_STATUS), on_status, s) != 0) {
        base_free(s);
        return NULL;
    }
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_unref((uv_handle_t *)&s->timer);
    http_status_reload(s);
    return s;
}

void http_status_shutdown(struct http_status *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    uv_close((uv_handle_t *)&s->timer, NULL);
}

void http_status_destroy(struct http_status *s)
{
    if (!s)
        return;
    if (s->bus)
        event_unsubscribe(s->bus, on_status, s);
    map_free_values(&s->hist);
    map_free_values(&s->next);
    for (size_t i = 0; i < s->n_ids; i++)
        base_free(s->ids[i]);
    base_free(s->ids);
    map_free_values(&s->states);
    base_free(s);
}
