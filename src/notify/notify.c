/*
 * notify/notify: alerts, routes, aggregation groups, inhibition and the
 * notification log (see notify.h). Alertmanager's dispatcher semantics:
 * an alert goes to the deepest matching routes (a match stops at the first
 * sibling unless that one says continue; a route none of whose children
 * match takes the alert itself); a group flushes group_wait after it is
 * created, then every group_interval; a channel gets a message when the
 * group's firing alerts are not a subset of what it was last sent, when
 * alerts it was sent as firing have resolved (send_resolved), or when
 * repeat_interval has passed. The notification log (what each channel of
 * each group was last sent) survives reloads.
 */
#include "notify/notify_int.h"
#include "notify/silence.h"
#include "store/silences.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "base/tz.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nalert {
    uint64_t fp;
    char key[17];
    struct event_alert_label *labels, *ann;
    size_t n_labels, n_ann;
    char *mem;
    bool firing;
    int64_t starts_ms, ends_ms, at_ms;
    double value;
    size_t groups;                    /* groups holding it */
    bool external;                    /* received through POST /api/v2/alerts */
    int64_t expires_ms;               /* external: resolved when not sent again by then */
    int64_t updated_ms;
    char *generator;                  /* external: its generatorURL */
};

struct nwindow {
    char *id, *description, *schedule, *tzname;
    struct base_cron cron;
    bool recurring, public;
    int64_t duration_ms, from_ms, to_ms;
    struct base_tz *tz;
    char **projects;
    size_t n_projects;
    struct series_matcher *m;
    size_t n_m;
};

struct nsilence {
    char id[STORE_SILENCE_ID_MAX];
    struct series_matcher *m;
    size_t n;
    int64_t starts_ms, ends_ms;
};

struct nroute {
    struct series_matcher *m;
    size_t n_m;
    char **group_by;
    size_t n_group_by;
    bool all, cont;
    int64_t wait_ms, interval_ms, repeat_ms;
    char **channels;                  /* ids, looked up when flushing */
    size_t n_channels;
    struct nroute *kids;
    size_t n_kids;
    char path[96];
};

struct ninhibit {
    struct series_matcher *src, *tgt;
    size_t n_src, n_tgt;
    char **equal;
    size_t n_equal;
    struct nalert **sources;          /* firing sources, rebuilt for each tick */
    size_t n_sources, cap_sources;
};

struct nlog {
    char *key;
    uint64_t *firing, *resolved;
    size_t n_firing, n_resolved;
    int64_t at_ms;
};

struct ngroup {
    char *key;                        /* "route path:{labels}" */
    char dedup[17];
    char route_path[96];
    struct nroute *route;             /* NULL after a reload removed it: flushed once more, then gone */
    json_t *labels;                   /* the group_by labels */
    struct nalert **alerts;
    size_t n, cap;
    int64_t next_ms;
    bool flushed;
    struct ngroup *prev, *next;
};

struct notify {
    uv_loop_t *loop;
    struct store *store;
    struct event_bus *bus;
    char *base_url;
    struct outbox *outbox;
    struct nchannel **ch;
    size_t n_ch;
    struct nroute root;
    bool have_root;
    struct ninhibit *inh;
    size_t n_inh;
    struct base_map alerts, groups, log;
    struct ngroup *head;
    size_t n_groups;
    uv_timer_t timer;
    int64_t due_ms;                   /* the timer's, 0 when stopped */
    /* silences: the active and pending ones, reloaded when silences_gen moves */
    struct nsilence *sil;
    size_t n_sil;
    int64_t sil_gen;
    bool sil_loading, sil_again;
    uv_timer_t sil_timer;
    size_t reads;                     /* store reads in flight */
    struct nwindow *win;              /* maintenance windows */
    size_t n_win;
    size_t n_external;
    bool closing;
    void (*close_cb)(void *);
    void *close_data;
    int pending_closes;
    /* counters */
    uint64_t maintained;
    uint64_t received, unrouted, inhibited, silenced, dropped_alerts, dropped_groups, messages, external;
};

static int64_t now_ms(void)
{
    return base_time_now_ms();
}

/* ---- alerts ---- */

static uint64_t fingerprint(const struct event_alert_label *l, size_t n)
{
    uint64_t h = BASE_HASH_SEED;
    for (size_t i = 0; i < n; i++)
        h = base_hash_more(base_hash_more(h, l[i].name), l[i].value);
    return h;
}

static void alert_free(struct nalert *a)
{
    if (a) {
        base_free(a->generator);
        base_free(a->mem);
        base_free(a);
    }
}

/* Copies labels and annotations into one block. */
static int alert_set(struct nalert *a, const struct event_alert *ev)
{
    size_t bytes = 0;
    for (size_t i = 0; i < ev->n_labels; i++)
        bytes += strlen(ev->labels[i].name) + strlen(ev->labels[i].value) + 2;
    for (size_t i = 0; i < ev->n_annotations; i++)
        bytes += strlen(ev->annotations[i].name) + strlen(ev->annotations[i].value) + 2;
    size_t arr = (ev->n_labels + ev->n_annotations) * sizeof(struct event_alert_label);
    char *mem = base_malloc(arr + bytes + 1);
    if (!mem)
        return BASE_ERR_NOMEM;
    struct event_alert_label *l = (struct event_alert_label *)mem;
    char *p = mem + arr;
    for (size_t i = 0; i < ev->n_labels + ev->n_annotations; i++) {
        const struct event_alert_label *src =
            i < ev->n_labels ? &ev->labels[i] : &ev->annotations[i - ev->n_labels];
        size_t ln = strlen(src->name) + 1, lv = strlen(src->value) + 1;
        l[i].name = memcpy(p, src->name, ln);
        p += ln;
        l[i].value = memcpy(p, src->value, lv);
        p += lv;
    }
    base_free(a->mem);
    a->mem = mem;
    a->labels = l;
    a->n_labels = ev->n_labels;
    a->ann = l + ev->n_labels;
    a->n_ann = ev->n_annotations;
    return 0;
}

static const char *label_of(const struct nalert *a, const char *name)
{
    for (size_t i = 0; i < a->n_labels; i++)
        if (strcmp(a->labels[i].name, name) == 0)
            return a->labels[i].value;
    return NULL;
}

static bool matches_all(const struct series_matcher *m, size_t n, const struct nalert *a)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = label_of(a, m[i].name);
        if (!series_matcher_matches(&m[i], v ? v : ""))
            return false;
    }
    return true;
}

/* Drops the alert when nothing holds it any more. */
static void alert_release(struct notify *n, struct nalert *a)
{
    if (a->firing || a->groups)
        return;
    base_map_remove(&n->alerts, a->key);
    alert_free(a);
}

/* ---- routes ---- */

static void route_free(struct nroute *r)
{
    for (size_t i = 0; i < r->n_m; i++)
        series_matcher_free(&r->m[i]);
    base_free(r->m);
    for (size_t i = 0; i < r->n_group_by; i++)
        base_free(r->group_by[i]);
    base_free(r->group_by);
    for (size_t i = 0; i < r->n_channels; i++)
        base_free(r->channels[i]);
    base_free(r->channels);
    for (size_t i = 0; i < r->n_kids; i++)
        route_free(&r->kids[i]);
    base_free(r->kids);
    memset(r, 0, sizeof(*r));
}

static int matchers_build(const struct conf_matcher *cm, size_t n, struct series_matcher **out, size_t *n_out)
{
    return series_matchers_from_conf(cm, n, out, n_out);
}

static char **strings_copy(const char *const *s, size_t n)
{
    char **v = n ? base_calloc(n, sizeof(*v)) : NULL;
    for (size_t i = 0; v && i < n; i++)
        if (!(v[i] = base_strdup(s[i]))) {
            for (size_t j = 0; j < i; j++)
                base_free(v[j]);
            base_free(v);
            return NULL;
        }
    return v;
}

static int route_build(struct nroute *r, const struct conf_route *c, const char *path)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->all = c->group_by_all;
    r->cont = c->cont;
    r->wait_ms = c->group_wait_ms;
    r->interval_ms = c->group_interval_ms;
    r->repeat_ms = c->repeat_interval_ms;
    if (matchers_build(c->matchers, c->n_matchers, &r->m, &r->n_m) != 0)
        return BASE_ERR_NOMEM;
    r->group_by = strings_copy(c->group_by, c->n_group_by);
    r->n_group_by = r->group_by ? c->n_group_by : 0;
    r->channels = strings_copy(c->channels, c->n_channels);
    r->n_channels = r->channels ? c->n_channels : 0;
    if ((c->n_group_by && !r->group_by) || (c->n_channels && !r->channels))
        return BASE_ERR_NOMEM;
    if (c->n_routes && !(r->kids = base_calloc(c->n_routes, sizeof(*r->kids))))
        return BASE_ERR_NOMEM;
    r->n_kids = c->n_routes;
    for (size_t i = 0; i < c->n_routes; i++) {
        char sub[96];
        snprintf(sub, sizeof(sub), "%s/%zu", path, i);
        if (route_build(&r->kids[i], &c->routes[i], sub) != 0)
            return BASE_ERR_NOMEM;
    }
    return 0;
}

/* The routes an alert goes to (Alertmanager's Route.Match). */
static size_t route_match(struct nroute *r, const struct nalert *a, struct nroute **out, size_t max, size_t k)
{
    if (!matches_all(r->m, r->n_m, a))
        return k;
    size_t start = k;
    for (size_t i = 0; i < r->n_kids; i++) {
        size_t before = k;
        k = route_match(&r->kids[i], a, out, max, k);
        if (k > before && !r->kids[i].cont)
            break;
    }
    if (k == start && k < max)
        out[k++] = r;
    return k;
}

/* ---- the notification log ---- */

static void nlog_free(struct nlog *l)
{
    if (l) {
        base_free(l->key);
        base_free(l->firing);
        base_free(l->resolved);
        base_free(l);
    }
}

static void log_key(char *out, size_t n, const char *group, const char *channel)
{
    snprintf(out, n, "%s\x1f%s", group, channel);
}

static struct nlog *nlog_get(struct notify *n, const char *group, const char *channel)
{
    char key[2048];
    log_key(key, sizeof(key), group, channel);
    return base_map_get(&n->log, key);
}

static bool contains(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static bool subset(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    for (size_t i = 0; i < na; i++)
        if (!contains(b, nb, a[i]))
            return false;
    return true;
}

static int nlog_set(struct notify *n, const char *group, const char *channel, const uint64_t *firing, size_t nf,
                    const uint64_t *resolved, size_t nr, int64_t at)
{
    char key[2048];
    log_key(key, sizeof(key), group, channel);
    struct nlog *l = base_map_get(&n->log, key);
    if (!l) {
        l = base_calloc(1, sizeof(*l));
        if (!l || !(l->key = base_strdup(key)) || base_map_put(&n->log, l->key, l) != 0) {
            nlog_free(l);
            return BASE_ERR_NOMEM;
        }
    }
    uint64_t *f = nf ? base_malloc(nf * sizeof(*f)) : NULL, *r = nr ? base_malloc(nr * sizeof(*r)) : NULL;
    if ((nf && !f) || (nr && !r)) {
        base_free(f);
        base_free(r);
        return BASE_ERR_NOMEM;
    }
    if (nf)
        memcpy(f, firing, nf * sizeof(*f));
    if (nr)
        memcpy(r, resolved, nr * sizeof(*r));
    base_free(l->firing);
    base_free(l->resolved);
    l->firing = f;
    l->n_firing = nf;
    l->resolved = r;
    l->n_resolved = nr;
    l->at_ms = at;
    return 0;
}

static void nlog_drop(struct notify *n, const char *group, const char *channel)
{
    char key[2048];
    log_key(key, sizeof(key), group, channel);
    nlog_free(base_map_remove(&n->log, key));
}

/* ---- groups ---- */

static void schedule(struct notify *n, int64_t at);

static void group_free(struct notify *n, struct ngroup *g)
{
    for (size_t i = 0; i < g->n; i++) {
        g->alerts[i]->groups--;
        alert_release(n, g->alerts[i]);
    }
    base_free(g->alerts);
    json_decref(g->labels);
    base_free(g->key);
    base_free(g);
}

static void group_unlink(struct notify *n, struct ngroup *g)
{
    if (g->prev)
        g->prev->next = g->next;
    else
        n->head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    base_map_remove(&n->groups, g->key);
    n->n_groups--;
}

/* The group of alert a on route r (created when missing). */
static struct ngroup *group_for(struct notify *n, struct nroute *r, struct nalert *a)
{
    json_t *labels = json_object();
    if (!labels)
        return NULL;
    if (r->all) {
        for (size_t i = 0; i < a->n_labels; i++)
            json_object_set_new(labels, a->labels[i].name, json_string(a->labels[i].value));
    } else {
        for (size_t i = 0; i < r->n_group_by; i++) {
            const char *v = label_of(a, r->group_by[i]);
            if (v)
                json_object_set_new(labels, r->group_by[i], json_string(v));
        }
    }
    char *lt = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len = strlen(r->path) + (lt ? strlen(lt) : 0) + 2;
    char *key = lt ? base_malloc(len) : NULL;
    if (key)
        snprintf(key, len, "%s:%s", r->path, lt);
    base_free(lt);
    if (!key) {
        json_decref(labels);
        return NULL;
    }
    struct ngroup *g = base_map_get(&n->groups, key);
    if (g) {
        base_free(key);
        json_decref(labels);
        return g;
    }
    if (n->n_groups >= NOTIFY_GROUPS_MAX) {
        if (n->dropped_groups++ == 0)
            base_log_warn("notify: too many aggregation groups, alerts not routed", BASE_LOG_INT("max", NOTIFY_GROUPS_MAX));
        base_free(key);
        json_decref(labels);
        return NULL;
    }
    g = base_calloc(1, sizeof(*g));
    if (!g || base_map_put(&n->groups, key, g) != 0) {
        base_free(g);
        base_free(key);
        json_decref(labels);
        return NULL;
    }
    g->key = key;
    g->labels = labels;
    g->route = r;
    snprintf(g->route_path, sizeof(g->route_path), "%s", r->path);
    snprintf(g->dedup, sizeof(g->dedup), "%016" PRIx64, base_hash_more(BASE_HASH_SEED, key));
    g->next = n->head;
    if (n->head)
        n->head->prev = g;
    n->head = g;
    n->n_groups++;
    /* a group whose channels were notified before (a reload) carries on with its interval */
    bool known = false;
    for (size_t i = 0; i < r->n_channels && !known; i++)
        known = nlog_get(n, key, r->channels[i]) != NULL;
    g->flushed = known;
    g->next_ms = now_ms() + (known ? r->interval_ms : r->wait_ms);
    schedule(n, g->next_ms);
    return g;
}

static int group_add(struct ngroup *g, struct nalert *a)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->alerts[i] == a)
            return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4;
        struct nalert **v = base_realloc(g->alerts, cap * sizeof(*v));
        if (!v)
            return BASE_ERR_NOMEM;
        g->alerts = v;
        g->cap = cap;
    }
    g->alerts[g->n++] = a;
    a->groups++;
    return 0;
}

static void route_alert(struct notify *n, struct nalert *a)
{
    if (!n->have_root)
        return;
    struct nroute *rs[64];
    size_t k = route_match(&n->root, a, rs, 64, 0);
    bool sent = false;
    for (size_t i = 0; i < k; i++) {
        if (!rs[i]->n_channels)
            continue;
        struct ngroup *g = group_for(n, rs[i], a);
        if (g && group_add(g, a) == 0)
            sent = true;
    }
    if (!sent)
        n->unrouted++;
}

/* ---- inhibition ---- */

static void inhibit_prepare(struct notify *n)
{
    for (size_t i = 0; i < n->n_inh; i++)
        n->inh[i].n_sources = 0;
    if (!n->n_inh)
        return;
    size_t pos = 0;
    const char *key;
    void *v;
    while (base_map_next(&n->alerts, &pos, &key, &v)) {
        struct nalert *a = v;
        if (!a->firing)
            continue;
        for (size_t i = 0; i < n->n_inh; i++) {
            struct ninhibit *in = &n->inh[i];
            if (!matches_all(in->src, in->n_src, a))
                continue;
            if (in->n_sources == in->cap_sources) {
                size_t cap = in->cap_sources ? in->cap_sources * 2 : 16;
                struct nalert **s = base_realloc(in->sources, cap * sizeof(*s));
                if (!s)
                    continue;
                in->sources = s;
                in->cap_sources = cap;
            }
            in->sources[in->n_sources++] = a;
        }
    }
}

static bool same_label(const struct nalert *a, const struct nalert *b, const char *name)
{
    const char *x = label_of(a, name), *y = label_of(b, name);
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static bool inhibited(const struct notify *n, const struct nalert *t)
{
    for (size_t i = 0; i < n->n_inh; i++) {
        const struct ninhibit *in = &n->inh[i];
        if (!matches_all(in->tgt, in->n_tgt, t))
            continue;
        for (size_t s = 0; s < in->n_sources; s++) {
            const struct nalert *src = in->sources[s];
            if (src == t)
                continue;
            bool eq = true;
            for (size_t e = 0; e < in->n_equal && eq; e++)
                eq = same_label(src, t, in->equal[e]);
            if (eq)
                return true;
        }
    }
    return false;
}

/* ---- maintenance windows ---- */

static void windows_free(struct nwindow *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        base_free(v[i].id);
        base_free(v[i].description);
        base_free(v[i].schedule);
        base_free(v[i].tzname);
        base_tz_free(v[i].tz);
        for (size_t k = 0; k < v[i].n_projects; k++)
            base_free(v[i].projects[k]);
        base_free(v[i].projects);
        for (size_t k = 0; k < v[i].n_m; k++)
            series_matcher_free(&v[i].m[k]);
        base_free(v[i].m);
    }
    base_free(v);
}

/* The window around now ([*start, *end), true) or the next one (false);
 * *start = -1 when there is none to come. */
static bool window_at(const struct nwindow *w, int64_t now, int64_t *start, int64_t *end)
{
    if (!w->recurring) {
        *start = w->from_ms;
        *end = w->to_ms;
        if (now >= w->to_ms)
            *start = *end = -1;
        return now >= w->from_ms && now < w->to_ms;
    }
    int64_t f = base_cron_next(&w->cron, w->tz, now - w->duration_ms);
    *start = f;
    *end = f < 0 ? -1 : f + w->duration_ms;
    return f >= 0 && f <= now;
}

static bool window_mutes(const struct nwindow *w, const struct nalert *a)
{
    if (w->n_projects) {
        const char *p = label_of(a, "project");
        bool in = false;
        for (size_t i = 0; p && i < w->n_projects && !in; i++)
            in = strcmp(w->projects[i], p) == 0;
        if (!in)
            return false;
    }
    return matches_all(w->m, w->n_m, a);
}

static const struct nwindow *in_maintenance(const struct notify *n, const struct nalert *a, int64_t now)
{
    for (size_t i = 0; i < n->n_win; i++) {
        int64_t s, e;
        if (window_mutes(&n->win[i], a) && window_at(&n->win[i], now, &s, &e))
            return &n->win[i];
    }
    return NULL;
}

static int windows_build(struct notify *n, const struct conf *c)
{
    struct nwindow *v = c->n_maintenance ? base_calloc(c->n_maintenance, sizeof(*v)) : NULL;
    if (c->n_maintenance && !v)
        return BASE_ERR_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < c->n_maintenance && rc == 0; i++) {
        const struct conf_maintenance *cm = &c->maintenance[i];
        struct nwindow *w = &v[i];
        char why[200];
        w->id = base_strdup(cm->id);
        w->description = base_strdup(cm->description ? cm->description : "");
        w->schedule = base_strdup(cm->schedule ? cm->schedule : "");
        w->tzname = base_strdup(cm->timezone ? cm->timezone : "UTC");
        w->recurring = cm->schedule != NULL;
        w->public = cm->public;
        w->cron = cm->cron;
        w->duration_ms = cm->duration_ms;
        w->from_ms = cm->from_ms;
        w->to_ms = cm->to_ms;
        w->tz = w->recurring ? base_tz_load(w->tzname, why, sizeof(why)) : NULL;
        if (w->recurring && !w->tz) {
            /* the zone was there at the load: it went away since; UTC rather than nothing */
            base_log_warn("maintenance: time zone not readable, using UTC", BASE_LOG_STR("window", cm->id),
                          BASE_LOG_STR("error", why));
            w->tz = base_tz_utc();
        }
        w->projects = strings_copy(cm->projects, cm->n_projects);
        w->n_projects = w->projects ? cm->n_projects : 0;
        if (matchers_build(cm->matchers, cm->n_matchers, &w->m, &w->n_m) != 0 || !w->id || !w->description ||
            !w->schedule || !w->tzname || (w->recurring && !w->tz) || (cm->n_projects && !w->projects))
            rc = BASE_ERR_NOMEM;
    }
    if (rc != 0) {
        windows_free(v, c->n_maintenance);
        return rc;
    }
    windows_free(n->win, n->n_win);
    n->win = v;
    n->n_win = c->n_maintenance;
    return 0;
}

static json_t *iso_or_null(int64_t ms)
{
    char buf[40];
    return ms >= 0 ? json_string(base_time_format_iso8601(ms, buf, sizeof(buf))) : json_null();
}

json_t *notify_json_maintenance(const struct notify *n, bool public_only)
{
    int64_t now = now_ms();
    json_t *list = json_array();
    for (size_t i = 0; list && i < n->n_win; i++) {
        const struct nwindow *w = &n->win[i];
        if (public_only && !w->public)
            continue;
        int64_t s, e;
        bool active = window_at(w, now, &s, &e);
        json_t *current = active ? json_pack("{s:o, s:o}", "start", iso_or_null(s), "end", iso_or_null(e))
                                 : json_null();
        if (active) {
            /* the next one after the current one */
            if (w->recurring) {
                s = base_cron_next(&w->cron, w->tz, s);
                e = s < 0 ? -1 : s + w->duration_ms;
            } else {
                s = e = -1;
            }
        }
        json_t *next = s >= 0 ? json_pack("{s:o, s:o}", "start", iso_or_null(s), "end", iso_or_null(e)) : json_null();
        json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:o}", "id", w->id, "description", w->description, "active",
                              active, "current", current, "next", next);
        if (!o)
            continue;
        if (!public_only) {
            json_t *projects = json_array();
            for (size_t k = 0; k < w->n_projects; k++)
                json_array_append_new(projects, json_string(w->projects[k]));
            json_object_set_new(o, "projects", projects);
            json_t *ms = json_array();
            for (size_t k = 0; k < w->n_m; k++)
                json_array_append_new(ms, json_pack("{s:s, s:s, s:b}", "name", w->m[k].name, "value", w->m[k].value,
                                                    "isRegex", w->m[k].op == SERIES_MATCH_RE));
            json_object_set_new(o, "matchers", ms);
            json_object_set_new(o, "public", json_boolean(w->public));
            if (w->recurring) {
                json_object_set_new(o, "schedule", json_string(w->schedule));
                json_object_set_new(o, "timezone", json_string(w->tzname));
                json_object_set_new(o, "duration_seconds", json_integer(w->duration_ms / 1000));
            }
        }
        json_array_append_new(list, o);
    }
    return list;
}

/* ---- silences ---- */

static void silences_free(struct nsilence *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < v[i].n; k++)
            series_matcher_free(&v[i].m[k]);
        base_free(v[i].m);
    }
    base_free(v);
}

/* The silence muting a now, or NULL. */
static const struct nsilence *silenced_by(const struct notify *n, const struct nalert *a, int64_t now, size_t *from)
{
    for (size_t i = from ? *from : 0; i < n->n_sil; i++) {
        const struct nsilence *s = &n->sil[i];
        if (s->starts_ms <= now && now < s->ends_ms && matches_all(s->m, s->n, a)) {
            if (from)
                *from = i + 1;
            return s;
        }
    }
    return NULL;
}

static void one_closed(struct notify *n);

static void on_silences(void *data, int status, const struct store_silence *rows, size_t count)
{
    struct notify *n = data;
    n->reads--;
    n->sil_loading = false;
    if (n->closing) {
        one_closed(n);
        return;
    }
    if (status != 0) {
        n->sil_gen = -1; /* read again at the next poll */
        return;
    }
    struct nsilence *v = count ? base_calloc(count, sizeof(*v)) : NULL;
    size_t k = 0;
    for (size_t i = 0; v && i < count; i++) {
        json_t *ms = json_loads(rows[i].matchers, 0, NULL);
        size_t nm = json_array_size(ms);
        struct nsilence *s = &v[k];
        s->m = nm ? base_calloc(nm, sizeof(*s->m)) : NULL;
        bool ok = nm && s->m;
        size_t j;
        json_t *m;
        char why[160];
        json_array_foreach(ms, j, m)
        {
            if (!ok)
                break;
            bool re = json_is_true(json_object_get(m, "isRegex"));
            bool eq = !json_object_get(m, "isEqual") || json_is_true(json_object_get(m, "isEqual"));
            enum series_match_op op = re ? (eq ? SERIES_MATCH_RE : SERIES_MATCH_NRE)
                                         : (eq ? SERIES_MATCH_EQ : SERIES_MATCH_NE);
            const char *name = json_string_value(json_object_get(m, "name"));
            const char *value = json_string_value(json_object_get(m, "value"));
            ok = name && value && series_matcher_init(&s->m[s->n], op, name, value, why, sizeof(why)) == 0;
            if (ok)
                s->n++;
        }
        json_decref(ms);
        if (!ok) {
            for (size_t q = 0; q < s->n; q++)
                series_matcher_free(&s->m[q]);
            base_free(s->m);
            memset(s, 0, sizeof(*s));
            continue;
        }
        memcpy(s->id, rows[i].id, sizeof(s->id));
        s->starts_ms = rows[i].starts_ms;
        s->ends_ms = rows[i].ends_ms;
        k++;
    }
    silences_free(n->sil, n->n_sil);
    n->sil = v;
    n->n_sil = v ? k : 0;
    if (n->sil_again) {
        n->sil_again = false;
        notify_silences_changed(n);
    }
}

void notify_silences_changed(struct notify *n)
{
    if (n->closing)
        return;
    if (n->sil_loading) {
        n->sil_again = true;
        return;
    }
    if (store_silences_load(n->store, NULL, now_ms(), STORE_SILENCES_MAX, on_silences, n) == 0) {
        n->sil_loading = true;
        n->reads++;
    }
}

static void on_gen(void *data, int status, int64_t gen)
{
    struct notify *n = data;
    n->reads--;
    if (n->closing) {
        one_closed(n);
        return;
    }
    if (status == 0 && gen != n->sil_gen) {
        n->sil_gen = gen;
        notify_silences_changed(n);
    }
}

static void on_sil_timer(uv_timer_t *t)
{
    struct notify *n = t->data;
    if (!n->closing && store_silences_read_gen(n->store, on_gen, n) == 0)
        n->reads++;
}

/* ---- payloads ---- */

static json_t *iso(int64_t ms)
{
    char buf[40];
    if (ms <= 0)
        return json_string("0001-01-01T00:00:00Z");
    return json_string(base_time_format_iso8601(ms, buf, sizeof(buf)));
}

static json_t *pairs(const struct event_alert_label *l, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, l[i].name, json_string(l[i].value));
    return o;
}

/* The pairs every alert has with the same value. */
static json_t *common(struct nalert *const *v, size_t n, bool annotations)
{
    json_t *o = json_object();
    if (!o || !n)
        return o;
    const struct event_alert_label *l0 = annotations ? v[0]->ann : v[0]->labels;
    size_t n0 = annotations ? v[0]->n_ann : v[0]->n_labels;
    for (size_t i = 0; i < n0; i++) {
        bool all = true;
        for (size_t k = 1; k < n && all; k++) {
            const struct event_alert_label *l = annotations ? v[k]->ann : v[k]->labels;
            size_t nl = annotations ? v[k]->n_ann : v[k]->n_labels;
            bool found = false;
            for (size_t j = 0; j < nl && !found; j++)
                found = strcmp(l[j].name, l0[i].name) == 0 && strcmp(l[j].value, l0[i].value) == 0;
            all = found;
        }
        if (all)
            json_object_set_new(o, l0[i].name, json_string(l0[i].value));
    }
    return o;
}

static json_t *alert_json(const struct notify *n, const struct nalert *a)
{
    char gen[2048] = "";
    if (a->generator)
        snprintf(gen, sizeof(gen), "%s", a->generator);
    else if (n->base_url)
        snprintf(gen, sizeof(gen), "%s/#/alerts", n->base_url);
    char value[40];
    snprintf(value, sizeof(value), "%.17g", a->value);
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s}", "status", a->firing ? "firing" : "resolved",
                     "labels", pairs(a->labels, a->n_labels), "annotations", pairs(a->ann, a->n_ann), "startsAt",
                     iso(a->starts_ms), "endsAt", iso(a->firing ? 0 : a->ends_ms), "generatorURL", gen,
                     "fingerprint", a->key, "value", value);
}

/* Alertmanager's webhook payload, version 4 (the canonical form every
 * channel renders from). */
static char *payload_text(const struct notify *n, const struct ngroup *g, const char *receiver,
                          struct nalert *const *v, size_t count, bool any_firing)
{
    size_t shown = count > NOTIFY_ALERTS_PER_MESSAGE ? NOTIFY_ALERTS_PER_MESSAGE : count;
    json_t *alerts = json_array();
    for (size_t i = 0; alerts && i < shown; i++)
        json_array_append_new(alerts, alert_json(n, v[i]));
    json_t *p = json_pack("{s:s, s:s, s:I, s:s, s:s, s:O, s:o, s:o, s:s, s:o}", "version", "4", "groupKey", g->key,
                          "truncatedAlerts", (json_int_t)(count - shown), "status", any_firing ? "firing" : "resolved",
                          "receiver", receiver, "groupLabels", g->labels, "commonLabels", common(v, count, false),
                          "commonAnnotations", common(v, count, true), "externalURL", n->base_url ? n->base_url : "",
                          "alerts", alerts);
    char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    return s;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- flushing ---- */

static void flush_group(struct notify *n, struct ngroup *g, int64_t now)
{
    struct nroute *r = g->route;
    size_t cap = g->n ? g->n : 1;
    struct nalert **firing = base_calloc(cap, sizeof(*firing)), **resolved = base_calloc(cap, sizeof(*resolved)),
                  **send = base_calloc(cap, sizeof(*send));
    uint64_t *ff = base_calloc(cap, sizeof(*ff)), *rf = base_calloc(cap, sizeof(*rf));
    if (!firing || !resolved || !send || !ff || !rf)
        goto out;
    size_t nf = 0, nr = 0, muted = 0;
    int64_t alert_at = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct nalert *a = g->alerts[i];
        if (a->firing) {
            if (inhibited(n, a)) {
                n->inhibited++;
                muted++;
                continue;
            }
            if (silenced_by(n, a, now, NULL)) {
                n->silenced++;
                muted++;
                continue;
            }
            if (in_maintenance(n, a, now)) {
                n->maintained++;
                muted++;
                continue;
            }
            firing[nf] = a;
            ff[nf++] = a->fp;
        } else {
            resolved[nr++] = a;
        }
        if (a->at_ms > alert_at)
            alert_at = a->at_ms;
    }
    qsort(ff, nf, sizeof(*ff), cmp_u64);
    for (size_t c = 0; r && c < r->n_channels; c++) {
        struct nchannel *ch = notify_channel(n, r->channels[c]);
        if (!ch)
            continue;
        struct nlog *l = nlog_get(n, g->key, ch->id);
        /* resolved: only what this channel was told was firing */
        size_t nrs = 0;
        for (size_t i = 0; i < nr; i++)
            if (ch->send_resolved && l && contains(l->firing, l->n_firing, resolved[i]->fp))
                rf[nrs++] = resolved[i]->fp;
        qsort(rf, nrs, sizeof(*rf), cmp_u64);
        bool need;
        if (!l)
            need = nf > 0;
        else if (!subset(ff, nf, l->firing, l->n_firing))
            need = true;
        else if (nf == 0)
            need = l->n_firing > 0;
        else if (ch->send_resolved && !subset(rf, nrs, l->resolved, l->n_resolved))
            need = true;
        else
            need = l->at_ms + r->repeat_ms <= now;
        if (!need)
            continue;
        if (nf == 0 && nrs == 0 && muted)
            continue; /* everything muted: nothing to say, and the log stays as it was */
        if (nf == 0 && nrs == 0) {
            /* everything resolved and this channel takes no resolutions: only the log changes */
            nlog_set(n, g->key, ch->id, NULL, 0, NULL, 0, now);
            continue;
        }
        size_t k = 0;
        for (size_t i = 0; i < nf; i++)
            send[k++] = firing[i];
        for (size_t i = 0; i < nr; i++)
            if (contains(rf, nrs, resolved[i]->fp))
                send[k++] = resolved[i];
        char *payload = payload_text(n, g, ch->id, send, k, nf > 0);
        if (!payload) {
            ch->dropped++;
            continue;
        }
        json_t *pj = json_loads(payload, 0, NULL);
        char summary[512];
        channel_summary(pj, summary, sizeof(summary));
        json_decref(pj);
        if (ch->disabled) {
            base_free(payload);
            ch->dropped++;
        } else if (outbox_add(n->outbox, ch, "alert", g->key, g->dedup, summary, payload, alert_at, NULL, 0) != 0) {
            ch->dropped++;
        } else {
            n->messages++;
        }
        nlog_set(n, g->key, ch->id, ff, nf, rf, nrs, now);
    }
    /* resolved alerts have been told (or were never to be told): they leave the group */
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct nalert *a = g->alerts[i];
        if (a->firing) {
            g->alerts[k++] = a;
        } else {
            a->groups--;
            alert_release(n, a);
        }
    }
    g->n = k;
out:
    base_free(firing);
    base_free(resolved);
    base_free(send);
    base_free(ff);
    base_free(rf);
}

static void on_timer(uv_timer_t *t);
static void expire_external(struct notify *n, int64_t now, int64_t *next);

static void schedule(struct notify *n, int64_t at)
{
    if (n->closing)
        return;
    if (n->due_ms && n->due_ms <= at)
        return;
    int64_t now = now_ms();
    n->due_ms = at;
    uv_timer_start(&n->timer, on_timer, (uint64_t)(at > now ? at - now : 0), 0);
}

static void on_timer(uv_timer_t *t)
{
    struct notify *n = t->data;
    int64_t now = now_ms();
    n->due_ms = 0;
    int64_t next = 0;
    expire_external(n, now, &next);
    inhibit_prepare(n);
    for (struct ngroup *g = n->head, *nx; g; g = nx) {
        nx = g->next;
        if (g->next_ms <= now) {
            flush_group(n, g, now);
            g->flushed = true;
            g->next_ms = now + (g->route ? g->route->interval_ms : 0);
            if (g->n == 0 || !g->route) {
                for (size_t c = 0; g->route && c < g->route->n_channels; c++)
                    nlog_drop(n, g->key, g->route->channels[c]);
                group_unlink(n, g);
                group_free(n, g);
                continue;
            }
        }
        if (!next || g->next_ms < next)
            next = g->next_ms;
    }
    if (next)
        schedule(n, next);
}

/* ---- events ---- */

static struct nalert *alert_upsert(struct notify *n, const struct event_alert *ev, bool *fresh)
{
    uint64_t fp = fingerprint(ev->labels, ev->n_labels);
    char key[17];
    snprintf(key, sizeof(key), "%016" PRIx64, fp);
    struct nalert *a = base_map_get(&n->alerts, key);
    *fresh = false;
    if (!a) {
        if (n->alerts.len >= NOTIFY_ALERTS_MAX) {
            if (n->dropped_alerts++ == 0)
                base_log_warn("notify: too many alerts, new ones not routed", BASE_LOG_INT("max", NOTIFY_ALERTS_MAX));
            return NULL;
        }
        a = base_calloc(1, sizeof(*a));
        if (!a)
            return NULL;
        a->fp = fp;
        memcpy(a->key, key, sizeof(key));
        if (alert_set(a, ev) != 0 || base_map_put(&n->alerts, a->key, a) != 0) {
            alert_free(a);
            return NULL;
        }
        *fresh = true;
    } else if (alert_set(a, ev) != 0) {
        return NULL;
    }
    return a;
}

static void on_event(void *data, const struct event *e)
{
    struct notify *n = data;
    const struct event_alert *ev = &e->u.alert;
    if (ev->group && !strcmp(ev->group, NOTIFY_EXTERNAL_GROUP))
        return;   /* its own telling of an alert received through the API */
    n->received++;
    if (ev->state == EVENT_ALERT_FIRING) {
        bool fresh;
        struct nalert *a = alert_upsert(n, ev, &fresh);
        if (!a)
            return;
        bool was_firing = !fresh && a->firing;
        if (a->external && was_firing)
            n->n_external--;
        a->external = false;
        a->firing = true;
        a->value = ev->value;
        a->at_ms = ev->at_ms;
        if (!was_firing)
            a->starts_ms = ev->active_at_ms ? ev->active_at_ms : ev->at_ms;
        a->ends_ms = 0;
        if (!was_firing || !a->groups)
            route_alert(n, a);
        if (!a->groups) {
            /* routed nowhere: nothing holds it but its firing state */
        }
    } else if ((ev->state == EVENT_ALERT_RESOLVED || ev->state == EVENT_ALERT_INACTIVE) &&
               ev->previous == EVENT_ALERT_FIRING) {
        char key[17];
        snprintf(key, sizeof(key), "%016" PRIx64, fingerprint(ev->labels, ev->n_labels));
        struct nalert *a = base_map_get(&n->alerts, key);
        if (!a)
            return;
        a->firing = false;
        a->value = ev->value;
        a->at_ms = ev->at_ms;
        a->ends_ms = ev->at_ms;
        alert_release(n, a);
    }
}

/* A JSON object's string members as pairs, sorted by name; jansson owns the strings. */
static struct event_alert_label *pairs_of(json_t *o, size_t *n)
{
    size_t cap = json_object_size(o), k = 0;
    struct event_alert_label *l = base_calloc(cap ? cap : 1, sizeof(*l));
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (l && json_is_string(v) && k < cap)
            l[k++] = (struct event_alert_label){key, json_string_value(v)};
    }
    for (size_t i = 1; l && i < k; i++)
        for (size_t j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0; j--) {
            struct event_alert_label t = l[j];
            l[j] = l[j - 1];
            l[j - 1] = t;
        }
    *n = l ? k : 0;
    return l;
}

static void seed_one(struct notify *n, const struct event_alert *ev);
static void self_alert(struct notify *n, const char *channel, bool failing, const char *why);

void notify_seed(struct notify *n, const char *labels_json, const char *annotations_json, double value,
                 int64_t active_at_ms, int64_t at_ms)
{
    json_t *lj = json_loads(labels_json, 0, NULL), *aj = json_loads(annotations_json, 0, NULL);
    struct event_alert ev = {.state = EVENT_ALERT_FIRING, .value = value, .active_at_ms = active_at_ms,
                             .at_ms = at_ms};
    struct event_alert_label *l = json_is_object(lj) ? pairs_of(lj, &ev.n_labels) : NULL;
    struct event_alert_label *a = json_is_object(aj) ? pairs_of(aj, &ev.n_annotations) : NULL;
    ev.labels = l;
    ev.annotations = a;
    const char *name = json_string_value(json_object_get(lj, "alertname"));
    const char *channel = json_string_value(json_object_get(lj, "channel"));
    if (name && strcmp(name, NOTIFY_SELF_ALERT) == 0) {
        /* opshub's own alert about a channel: the channel is still failing as far as anyone knows,
         * so its next success resolves it; a channel no longer configured ends it now */
        struct nchannel *ch = channel ? notify_channel(n, channel) : NULL;
        if (ch)
            ch->failing = true;
        else
            self_alert(n, channel ? channel : "", false, NULL);
        if (!ch)
            l = NULL; /* not seeded */
    }
    if (l && ev.n_labels)
        seed_one(n, &ev);
    base_free((void *)ev.labels);
    base_free(a);
    json_decref(lj);
    json_decref(aj);
}

static void seed_one(struct notify *n, const struct event_alert *ev)
{
    bool fresh;
    struct nalert *a = alert_upsert(n, ev, &fresh);
    if (!a || !fresh)
        return;
    a->firing = true;
    a->value = ev->value;
    a->at_ms = ev->at_ms;
    a->starts_ms = ev->active_at_ms ? ev->active_at_ms : ev->at_ms;
    if (!n->have_root)
        return;
    struct nroute *rs[64];
    size_t k = route_match(&n->root, a, rs, 64, 0);
    int64_t now = now_ms();
    for (size_t i = 0; i < k; i++) {
        if (!rs[i]->n_channels)
            continue;
        struct ngroup *g = group_for(n, rs[i], a);
        if (!g || group_add(g, a) != 0)
            continue;
        /* told already: the log says so for every channel of the route */
        for (size_t c = 0; c < rs[i]->n_channels; c++) {
            struct nlog *l = nlog_get(n, g->key, rs[i]->channels[c]);
            size_t nf = l ? l->n_firing : 0;
            uint64_t *f = base_malloc((nf + 1) * sizeof(*f));
            if (!f)
                continue;
            if (nf)
                memcpy(f, l->firing, nf * sizeof(*f));
            f[nf++] = a->fp;
            qsort(f, nf, sizeof(*f), cmp_u64);
            nlog_set(n, g->key, rs[i]->channels[c], f, nf, NULL, 0, now);
            base_free(f);
        }
        g->flushed = true;
        g->next_ms = now + rs[i]->interval_ms;
        schedule(n, g->next_ms);
    }
}


/* ---- alerts from other sources (POST /api/v2/alerts) ---- */

#define EXTERNAL_RESOLVE_MS (5 * 60000)   /* Alertmanager's resolve_timeout */

/* An alert received through the API (POST /api/v2/alerts) started or
 * stopped firing: told on the bus under NOTIFY_EXTERNAL_GROUP, so the
 * layers above (incidents) see it like the rules' alerts; notify's own
 * subscriber skips that group (it holds the alert already). */
static void publish_external(struct notify *n, const struct nalert *a, bool firing, int64_t now)
{
    if (n->closing || !n->bus)
        return;
    const char *name = "external";
    for (size_t i = 0; i < a->n_labels; i++)
        if (!strcmp(a->labels[i].name, "alertname"))
            name = a->labels[i].value;
    struct event ev = {.kind = EVENT_ALERT};
    ev.u.alert = (struct event_alert){
        .group = NOTIFY_EXTERNAL_GROUP, .rule = name, .labels = a->labels, .n_labels = a->n_labels,
        .annotations = a->ann, .n_annotations = a->n_ann, .state = firing ? EVENT_ALERT_FIRING : EVENT_ALERT_RESOLVED,
        .previous = firing ? EVENT_ALERT_INACTIVE : EVENT_ALERT_FIRING, .value = firing ? 1 : 0,
        .active_at_ms = a->starts_ms, .at_ms = now,
    };
    event_publish(n->bus, &ev);
}

static void expire_external(struct notify *n, int64_t now, int64_t *next)
{
    if (!n->n_external)
        return;
    size_t pos = 0;
    const char *key;
    void *v;
    while (base_map_next(&n->alerts, &pos, &key, &v)) {
        struct nalert *a = v;
        if (!a->external || !a->firing)
            continue;
        if (a->expires_ms <= now) {
            a->firing = false;
            a->ends_ms = a->expires_ms;
            a->at_ms = now;
            n->n_external--;
            publish_external(n, a, false, now);
            alert_release(n, a);
        } else if (!*next || a->expires_ms < *next) {
            *next = a->expires_ms;
        }
    }
}

static int one_external(struct notify *n, const json_t *in, int64_t now, char *why, size_t wl)
{
    json_t *labels = json_object_get(in, "labels"), *ann = json_object_get(in, "annotations");
    if (!json_is_object(in)) {
        snprintf(why, wl, "an alert is an object {labels, annotations, startsAt, endsAt, generatorURL}");
        return -1;
    }
    if (!json_is_object(labels) || json_object_size(labels) == 0 || json_object_size(labels) > 64) {
        snprintf(why, wl, "'labels' must be an object of 1 to 64 labels");
        return -1;
    }
    if (ann && !json_is_null(ann) && (!json_is_object(ann) || json_object_size(ann) > 64)) {
        snprintf(why, wl, "'annotations' must be an object of at most 64 strings");
        return -1;
    }
    struct event_alert_label l[64], an[64];
    size_t nl = 0, na = 0;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) > 4096 || !*k || strlen(k) > 128) {
            snprintf(why, wl, "label '%.64s' must be a string of at most 4096 bytes", k);
            return -1;
        }
        l[nl++] = (struct event_alert_label){k, json_string_value(v)};
    }
    if (json_is_object(ann))
        json_object_foreach(ann, k, v)
        {
            if (!json_is_string(v) || strlen(json_string_value(v)) > 16384) {
                snprintf(why, wl, "annotation '%.64s' must be a string of at most 16 KiB", k);
                return -1;
            }
            an[na++] = (struct event_alert_label){k, json_string_value(v)};
        }
    for (size_t i = 1; i < nl; i++)
        for (size_t j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0; j--) {
            struct event_alert_label t = l[j];
            l[j] = l[j - 1];
            l[j - 1] = t;
        }
    int64_t starts = 0, ends = 0;
    const char *ss = json_string_value(json_object_get(in, "startsAt"));
    const char *es = json_string_value(json_object_get(in, "endsAt"));
    if ((ss && *ss && base_time_parse(ss, &starts) != 0) || (es && *es && base_time_parse(es, &ends) != 0)) {
        snprintf(why, wl, "'startsAt' and 'endsAt' are RFC 3339 times");
        return -1;
    }
    if (ends < 0)
        ends = 0; /* 0001-01-01T00:00:00Z: none */
    if (starts <= 0)
        starts = now;
    const char *gen = json_string_value(json_object_get(in, "generatorURL"));
    struct event_alert ev = {.labels = l, .n_labels = nl, .annotations = an, .n_annotations = na,
                             .state = EVENT_ALERT_FIRING, .active_at_ms = starts, .at_ms = now};
    bool resolved = ends > 0 && ends <= now;
    if (resolved) {
        char key[17];
        snprintf(key, sizeof(key), "%016" PRIx64, fingerprint(l, nl));
        struct nalert *a = base_map_get(&n->alerts, key);
        if (a && a->firing) {
            a->firing = false;
            a->ends_ms = ends;
            a->at_ms = now;
            if (a->external) {
                n->n_external--;
                publish_external(n, a, false, now);
            }
            alert_release(n, a);
        }
        return 0;
    }
    bool fresh;
    struct nalert *a = alert_upsert(n, &ev, &fresh);
    if (!a) {
        snprintf(why, wl, "out of memory, or too many alerts");
        return -2;
    }
    bool was_firing = !fresh && a->firing;
    if (!a->external || !was_firing)
        n->n_external++;
    a->external = true;
    a->firing = true;
    a->at_ms = now;
    a->updated_ms = now;
    if (!was_firing)
        a->starts_ms = starts;
    a->ends_ms = 0;
    a->expires_ms = ends > 0 ? ends : now + EXTERNAL_RESOLVE_MS;
    if (gen) {
        base_free(a->generator);
        a->generator = base_strdup(gen);
    }
    if (!was_firing || !a->groups)
        route_alert(n, a);
    if (!was_firing)
        publish_external(n, a, true, now);
    schedule(n, a->expires_ms);
    return 0;
}

int notify_receive(struct notify *n, const json_t *alerts, char *why, size_t why_len, size_t *index)
{
    if (!json_is_array(alerts)) {
        snprintf(why, why_len, "the body must be a list of alerts");
        *index = SIZE_MAX;
        return -1;
    }
    int64_t now = now_ms();
    size_t i;
    json_t *a;
    /* validated first: a bad alert refuses the whole request, as Alertmanager does */
    json_array_foreach(alerts, i, a)
    {
        json_t *labels = json_object_get(a, "labels");
        if (!json_is_object(a) || !json_is_object(labels) || json_object_size(labels) == 0) {
            snprintf(why, why_len, "'labels' must be an object of 1 to 64 labels");
            *index = i;
            return -1;
        }
    }
    json_array_foreach(alerts, i, a)
    {
        int rc = one_external(n, a, now, why, why_len);
        if (rc != 0) {
            *index = i;
            return rc;
        }
        n->external++;
    }
    return 0;
}

json_t *notify_json_receivers(const struct notify *n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n->n_ch; i++)
        json_array_append_new(list, json_pack("{s:s}", "name", n->ch[i]->id));
    return list;
}

json_t *notify_json_alerts(struct notify *n, bool active, bool silenced, bool inhibited_too,
                           const struct series_matcher *filter, size_t n_filter)
{
    int64_t now = now_ms();
    inhibit_prepare(n);
    json_t *list = json_array();
    size_t pos = 0;
    const char *key;
    void *v;
    while (list && base_map_next(&n->alerts, &pos, &key, &v)) {
        struct nalert *a = v;
        if (!a->firing || !matches_all(filter, n_filter, a))
            continue;
        json_t *sb = json_array(), *ib = json_array();
        size_t from = 0;
        const struct nsilence *s;
        while ((s = silenced_by(n, a, now, &from)) != NULL)
            json_array_append_new(sb, json_string(s->id));
        for (size_t i = 0; i < n->n_inh; i++) {
            const struct ninhibit *in = &n->inh[i];
            if (!matches_all(in->tgt, in->n_tgt, a))
                continue;
            for (size_t q = 0; q < in->n_sources; q++) {
                const struct nalert *src = in->sources[q];
                bool eq = src != a;
                for (size_t e = 0; e < in->n_equal && eq; e++)
                    eq = same_label(src, a, in->equal[e]);
                if (eq)
                    json_array_append_new(ib, json_string(src->key));
            }
        }
        bool suppressed = json_array_size(sb) || json_array_size(ib);
        if ((!suppressed && !active) || (json_array_size(sb) && !silenced) || (json_array_size(ib) && !inhibited_too)) {
            json_decref(sb);
            json_decref(ib);
            continue;
        }
        json_t *receivers = json_array();
        struct nroute *rs[64];
        size_t k = n->have_root ? route_match(&n->root, a, rs, 64, 0) : 0;
        for (size_t i = 0; i < k; i++)
            for (size_t c = 0; c < rs[i]->n_channels; c++)
                json_array_append_new(receivers, json_pack("{s:s}", "name", rs[i]->channels[c]));
        char buf[40];
        json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:{s:s, s:o, s:o}}", "labels",
                              pairs(a->labels, a->n_labels), "annotations", pairs(a->ann, a->n_ann), "startsAt",
                              iso(a->starts_ms), "endsAt", iso(a->external ? a->expires_ms : 0), "generatorURL",
                              a->generator ? a->generator : "", "fingerprint", a->key, "updatedAt",
                              json_string(base_time_format_iso8601(a->updated_ms ? a->updated_ms : a->at_ms, buf,
                                                                   sizeof(buf))),
                              "receivers", receivers, "status", "state", suppressed ? "suppressed" : "active",
                              "silencedBy", sb, "inhibitedBy", ib);
        if (o)
            json_array_append_new(list, o);
    }
    return list;
}

/* ---- channels ---- */

static void email_free(struct nchannel *c);

static void channel_free(struct nchannel *c)
{
    if (!c)
        return;
    base_free(c->id);
    base_free(c->url);
    base_free(c->secret);
    base_free(c->token);
    base_free(c->target);
    base_free(c->routing_key);
    base_free(c->headers);
    base_free(c->hmem);
    email_free(c);
    channel_command_free(c);
    template_free(c->title_t);
    template_free(c->text_t);
    base_free(c);
}

static void wipe(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
    }
    base_free(s);
}

static void email_free(struct nchannel *c)
{
    for (size_t i = 0; i < c->n_to; i++)
        base_free(c->to[i]);
    base_free(c->to);
    base_free(c->from);
    wipe(c->smtp_user);
    wipe(c->smtp_pass);
    base_free(c->ca_file);
    c->to = NULL;
    c->n_to = 0;
    c->from = c->smtp_user = c->smtp_pass = c->ca_file = NULL;
}

static int email_load(struct nchannel *c, const struct conf_channel *cc)
{
    template_free(c->title_t);
    template_free(c->text_t);
    c->title_t = c->text_t = NULL;
    char why[256];
    size_t pos;
    if (cc->title)
        c->title_t = template_parse_flags(cc->title, TEMPLATE_PARSE_ANNOTATIONS, why, sizeof(why), &pos);
    if (cc->text)
        c->text_t = template_parse_flags(cc->text, TEMPLATE_PARSE_ANNOTATIONS, why, sizeof(why), &pos);
    email_free(c);
    c->tls = cc->tls;
    if (cc->type != CONF_CHANNEL_EMAIL)
        return 0;
    c->to = strings_copy(cc->to, cc->n_to);
    c->n_to = c->to ? cc->n_to : 0;
    c->from = cc->from ? base_strdup(cc->from) : NULL;
    c->smtp_user = cc->smtp_user ? base_strdup(cc->smtp_user) : NULL;
    c->smtp_pass = cc->smtp_pass ? base_strdup(cc->smtp_pass) : NULL;
    c->ca_file = cc->ca_file ? base_strdup(cc->ca_file) : NULL;
    if ((cc->n_to && !c->to) || (cc->from && !c->from) || (cc->smtp_user && !c->smtp_user) ||
        (cc->smtp_pass && !c->smtp_pass) || (cc->ca_file && !c->ca_file))
        return BASE_ERR_NOMEM;
    return 0;
}

/* Copies a channel's configuration into c (counters kept). */
static int channel_load(struct nchannel *c, const struct conf_channel *cc, bool slack_off)
{
    char *id = base_strdup(cc->id), *url = cc->url ? base_strdup(cc->url) : NULL;
    char *secret = cc->secret ? base_strdup(cc->secret) : NULL, *token = cc->token ? base_strdup(cc->token) : NULL;
    char *target = cc->target ? base_strdup(cc->target) : NULL;
    char *rk = cc->routing_key ? base_strdup(cc->routing_key) : NULL;
    size_t bytes = 0;
    for (size_t i = 0; i < cc->n_headers; i++)
        bytes += strlen(cc->headers[i].key) + strlen(cc->headers[i].value) + 2;
    struct conf_kv *h = cc->n_headers ? base_calloc(cc->n_headers, sizeof(*h)) : NULL;
    char *hmem = bytes ? base_malloc(bytes) : NULL;
    if (!id || (cc->url && !url) || (cc->secret && !secret) || (cc->token && !token) || (cc->target && !target) ||
        (cc->routing_key && !rk) || (cc->n_headers && (!h || !hmem))) {
        base_free(id);
        base_free(url);
        base_free(secret);
        base_free(token);
        base_free(target);
        base_free(rk);
        base_free(h);
        base_free(hmem);
        return BASE_ERR_NOMEM;
    }
    char *p = hmem;
    for (size_t i = 0; i < cc->n_headers; i++) {
        size_t lk = strlen(cc->headers[i].key) + 1, lv = strlen(cc->headers[i].value) + 1;
        h[i].key = memcpy(p, cc->headers[i].key, lk);
        p += lk;
        h[i].value = memcpy(p, cc->headers[i].value, lv);
        p += lv;
    }
    base_free(c->id);
    base_free(c->url);
    base_free(c->secret);
    base_free(c->token);
    base_free(c->target);
    base_free(c->routing_key);
    base_free(c->headers);
    base_free(c->hmem);
    c->id = id;
    c->url = url;
    c->secret = secret;
    c->token = token;
    c->target = target;
    c->routing_key = rk;
    c->headers = h;
    c->n_headers = cc->n_headers;
    c->hmem = hmem;
    c->type = cc->type;
    c->send_resolved = cc->send_resolved;
    c->timeout_ms = cc->timeout_ms;
    c->max_age_ms = cc->max_age_ms;
    c->disabled = slack_off && (cc->type == CONF_CHANNEL_SLACK || cc->type == CONF_CHANNEL_SLACK_BOT);
    int rc = email_load(c, cc);
    return rc ? rc : channel_command_load(c, cc);
}

struct nchannel *notify_channel(struct notify *n, const char *id)
{
    for (size_t i = 0; i < n->n_ch; i++)
        if (strcmp(n->ch[i]->id, id) == 0)
            return n->ch[i];
    return NULL;
}

const char *notify_base_url(const struct notify *n)
{
    return n->base_url;
}

/* The self-alert NotificationDeliveryFailed{channel} firing or resolved, on the bus. */
static void self_alert(struct notify *n, const char *channel, bool failing, const char *why)
{
    int64_t now = now_ms();
    struct event_alert_label labels[3] = {
        {"alertname", NOTIFY_SELF_ALERT}, {"channel", channel}, {"severity", "critical"},
    };
    char summary[512];
    snprintf(summary, sizeof(summary), "Notifications through channel %s fail", channel);
    struct event_alert_label ann[2] = {{"description", why ? why : ""}, {"summary", summary}};
    struct event ev = {.kind = EVENT_ALERT};
    ev.u.alert = (struct event_alert){
        .group = NOTIFY_SELF_GROUP, .rule = NOTIFY_SELF_ALERT, .labels = labels, .n_labels = 3,
        .annotations = ann, .n_annotations = 2, .state = failing ? EVENT_ALERT_FIRING : EVENT_ALERT_RESOLVED,
        .previous = failing ? EVENT_ALERT_INACTIVE : EVENT_ALERT_FIRING, .value = failing ? 1 : 0,
        .active_at_ms = now, .at_ms = now,
    };
    if (!n->closing)
        event_publish(n->bus, &ev);
}

void notify_channel_failing(struct notify *n, struct nchannel *ch, bool failing, const char *why)
{
    if (ch->failing == failing)
        return;
    ch->failing = failing;
    if (failing)
        base_log_error("notify: a delivery failed for good", BASE_LOG_STR("channel", ch->id),
                       BASE_LOG_STR("error", why ? why : ""));
    self_alert(n, ch->id, failing, why);
}

/* ---- apply ---- */

static void inhibit_free(struct notify *n)
{
    for (size_t i = 0; i < n->n_inh; i++) {
        struct ninhibit *in = &n->inh[i];
        for (size_t k = 0; k < in->n_src; k++)
            series_matcher_free(&in->src[k]);
        for (size_t k = 0; k < in->n_tgt; k++)
            series_matcher_free(&in->tgt[k]);
        base_free(in->src);
        base_free(in->tgt);
        for (size_t k = 0; k < in->n_equal; k++)
            base_free(in->equal[k]);
        base_free(in->equal);
        base_free(in->sources);
    }
    base_free(n->inh);
    n->inh = NULL;
    n->n_inh = 0;
}

int notify_apply(struct notify *n, const struct conf *c)
{
    const struct conf_notify *cn = &c->notify;
    const char *ds = getenv("DISABLE_SLACK");
    bool slack_off = ds && (strcmp(ds, "1") == 0 || strcmp(ds, "true") == 0);
    /* channels: kept by id (their counters and deliveries), replaced in place */
    struct nchannel **chs = cn->n_channels ? base_calloc(cn->n_channels, sizeof(*chs)) : NULL;
    if (cn->n_channels && !chs)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < cn->n_channels; i++) {
        struct nchannel *old = notify_channel(n, cn->channels[i].id);
        chs[i] = old ? old : base_calloc(1, sizeof(*chs[i]));
        if (!chs[i] || channel_load(chs[i], &cn->channels[i], slack_off) != 0) {
            for (size_t k = 0; k <= i; k++)
                if (chs[k] && !notify_channel(n, chs[k]->id ? chs[k]->id : ""))
                    channel_free(chs[k]);
            base_free(chs);
            return BASE_ERR_NOMEM;
        }
        if (chs[i]->disabled)
            base_log_info("notify: DISABLE_SLACK is set, channel sends nothing", BASE_LOG_STR("channel", chs[i]->id));
    }
    for (size_t i = 0; i < n->n_ch; i++) {
        bool kept = false;
        for (size_t k = 0; k < cn->n_channels && !kept; k++)
            kept = chs[k] == n->ch[i];
        if (!kept)
            channel_free(n->ch[i]);
    }
    base_free(n->ch);
    n->ch = chs;
    n->n_ch = cn->n_channels;
    /* routes */
    struct nroute root;
    if (route_build(&root, &cn->root, "") != 0) {
        route_free(&root);
        return BASE_ERR_NOMEM;
    }
    if (n->have_root)
        route_free(&n->root);
    n->root = root;
    n->have_root = true;
    if (windows_build(n, c) != 0)
        return BASE_ERR_NOMEM;
    /* inhibition */
    inhibit_free(n);
    if (cn->n_inhibit && (n->inh = base_calloc(cn->n_inhibit, sizeof(*n->inh))) != NULL) {
        n->n_inh = cn->n_inhibit;
        for (size_t i = 0; i < cn->n_inhibit; i++) {
            const struct conf_inhibit *ci = &cn->inhibit[i];
            struct ninhibit *in = &n->inh[i];
            matchers_build(ci->source, ci->n_source, &in->src, &in->n_src);
            matchers_build(ci->target, ci->n_target, &in->tgt, &in->n_tgt);
            in->equal = strings_copy(ci->equal, ci->n_equal);
            in->n_equal = in->equal ? ci->n_equal : 0;
        }
    }
    /* the groups are rebuilt over the new routes; the log keeps what was told */
    for (struct ngroup *g = n->head; g; g = g->next)
        g->route = NULL;
    struct ngroup *old = n->head;
    n->head = NULL;
    n->n_groups = 0;
    base_map_free(&n->groups);
    base_map_init(&n->groups);
    size_t pos = 0;
    const char *key;
    void *v;
    while (base_map_next(&n->alerts, &pos, &key, &v)) {
        struct nalert *a = v;
        if (a->firing)
            route_alert(n, a);
    }
    /* old groups: resolved alerts not told yet are told through the new routes' groups */
    for (struct ngroup *g = old, *nx; g; g = nx) {
        nx = g->next;
        for (size_t i = 0; i < g->n; i++)
            if (!g->alerts[i]->firing)
                route_alert(n, g->alerts[i]);
        group_free(n, g);
    }
    return 0;
}

/* ---- lifecycle ---- */

struct notify *notify_new(uv_loop_t *loop, struct store *st, struct event_bus *bus, const char *base_url)
{
    struct notify *n = base_calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->loop = loop;
    n->store = st;
    n->bus = bus;
    if (base_url) {
        n->base_url = base_strdup(base_url);
        size_t len = n->base_url ? strlen(n->base_url) : 0;
        while (len && n->base_url[len - 1] == '/')
            n->base_url[--len] = 0;
    }
    base_map_init(&n->alerts);
    base_map_init(&n->groups);
    base_map_init(&n->log);
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    uv_timer_init(loop, &n->sil_timer);
    n->sil_timer.data = n;
    n->sil_gen = -1;
    n->outbox = outbox_new(n, loop, st);
    if (!n->outbox || event_subscribe(bus, "notify", EVENT_MASK(EVENT_ALERT), on_event, n) != 0) {
        /* rare: close what was opened */
        uv_close((uv_handle_t *)&n->timer, NULL);
        uv_close((uv_handle_t *)&n->sil_timer, NULL);
        n->closing = true;
        return NULL; /* leaks n until the loop ends; only at start, when opshub exits anyway */
    }
    return n;
}

void notify_resume(struct notify *n)
{
    outbox_resume(n->outbox);
    on_sil_timer(&n->sil_timer);
    uv_timer_start(&n->sil_timer, on_sil_timer, 1000, 1000);
}

static void free_all(struct notify *n)
{
    for (struct ngroup *g = n->head, *nx; g; g = nx) {
        nx = g->next;
        group_free(n, g);
    }
    n->head = NULL;
    size_t pos = 0;
    const char *key;
    void *v;
    while (base_map_next(&n->alerts, &pos, &key, &v))
        alert_free(v);
    pos = 0;
    while (base_map_next(&n->log, &pos, &key, &v))
        nlog_free(v);
    base_map_free(&n->alerts);
    base_map_free(&n->groups);
    base_map_free(&n->log);
    if (n->have_root)
        route_free(&n->root);
    inhibit_free(n);
    silences_free(n->sil, n->n_sil);
    windows_free(n->win, n->n_win);
    for (size_t i = 0; i < n->n_ch; i++)
        channel_free(n->ch[i]);
    base_free(n->ch);
    base_free(n->base_url);
}

static void one_closed(struct notify *n)
{
    if (--n->pending_closes > 0)
        return;
    void (*cb)(void *) = n->close_cb;
    void *data = n->close_data;
    free_all(n);
    base_free(n);
    if (cb)
        cb(data);
}

static void on_timer_closed(uv_handle_t *h)
{
    one_closed(h->data);
}

static void on_outbox_closed(void *data)
{
    one_closed(data);
}

void notify_close(struct notify *n, struct event_bus *bus, void (*cb)(void *data), void *data)
{
    if (!n) {
        if (cb)
            cb(data);
        return;
    }
    event_unsubscribe(bus, on_event, n);
    n->closing = true;
    n->close_cb = cb;
    n->close_data = data;
    n->pending_closes = 3 + (int)n->reads; /* the timers, the outbox, each store read in flight */
    uv_timer_stop(&n->timer);
    uv_timer_stop(&n->sil_timer);
    uv_close((uv_handle_t *)&n->timer, on_timer_closed);
    uv_close((uv_handle_t *)&n->sil_timer, on_timer_closed);
    outbox_close(n->outbox, on_outbox_closed, n);
}

/* ---- API ---- */

int notify_test(struct notify *n, const char *id, char *id_out, size_t id_len)
{
    struct nchannel *ch = notify_channel(n, id);
    if (!ch)
        return BASE_ERR_NOT_FOUND;
    int64_t now = now_ms();
    struct event_alert_label labels[3] = {{"alertname", "OpshubTest"}, {"channel", ch->id}, {"severity", "info"}};
    struct event_alert_label ann[1] = {{"summary", "A test message from opshub: this channel works"}};
    struct nalert a = {.labels = labels, .n_labels = 3, .ann = ann, .n_ann = 1, .firing = true, .starts_ms = now,
                       .at_ms = now};
    snprintf(a.key, sizeof(a.key), "%016" PRIx64, fingerprint(labels, 3));
    struct ngroup g = {.key = "test"};
    char gk[160];
    snprintf(gk, sizeof(gk), "test:%s:%" PRId64, ch->id, now);
    g.key = gk;
    snprintf(g.dedup, sizeof(g.dedup), "%016" PRIx64, base_hash_more(BASE_HASH_SEED, gk));
    g.labels = json_pack("{s:s}", "alertname", "OpshubTest");
    struct nalert *one = &a;
    char *payload = payload_text(n, &g, ch->id, &one, 1, true);
    json_decref(g.labels);
    if (!payload)
        return BASE_ERR_NOMEM;
    json_t *pj = json_loads(payload, 0, NULL);
    char summary[512];
    channel_summary(pj, summary, sizeof(summary));
    json_decref(pj);
    return outbox_add(n->outbox, ch, "test", gk, g.dedup, summary, payload, 0, id_out, id_len);
}

int notify_page(struct notify *n, const struct notify_page *p, char *id_out, size_t id_len)
{
    struct nchannel *ch = notify_channel(n, p->channel);
    if (!ch)
        return BASE_ERR_NOT_FOUND;
    json_t *pj = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:I, s:s, s:s}}", "opshub_page", "1", "event",
                           p->event ? p->event : "trigger", "summary", p->summary ? p->summary : "", "text",
                           p->text ? p->text : "", "recipient", p->recipient ? json_string(p->recipient) : json_null(),
                           "incident", "id", p->incident_id ? p->incident_id : "", "number", (json_int_t)p->number,
                           "severity", p->severity ? p->severity : "", "state", p->state ? p->state : "");
    bool resolve = p->event && !strcmp(p->event, "resolve");
    if (pj) {
        /* what the channels read of an Alertmanager payload: status, and a severity for PagerDuty */
        json_object_set_new(pj, "status", json_string(resolve ? "resolved" : "firing"));
        json_object_set_new(pj, "commonLabels", json_pack("{s:s}", "severity", "critical"));
        json_object_set_new(pj, "commonAnnotations", json_pack("{s:s}", "summary", p->summary ? p->summary : ""));
    }
    if (pj && p->ack_url)
        json_object_set_new(pj, "ack_url", json_string(p->ack_url));
    if (pj && p->target_url)
        json_object_set_new(pj, "target_url", json_string(p->target_url));
    if (pj && p->unsubscribe_url)
        json_object_set_new(pj, "unsubscribe_url", json_string(p->unsubscribe_url));
    if (pj && n->base_url && p->incident_id) {
        char url[600];
        snprintf(url, sizeof(url), "%s/#/incidents/%s", n->base_url, p->incident_id);
        json_object_set_new(pj, "url", json_string(url));
    }
    char *payload = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
    json_decref(pj);
    if (!payload)
        return BASE_ERR_NOMEM;
    char *copy = base_strdup(payload);
    free(payload);
    if (!copy)
        return BASE_ERR_NOMEM;
    /* the outbox sends one delivery per key at a time, in order: a page to a person gets a key of
     * its own (a short SHA-256 of the address, never the address: a routing key is a secret), so a
     * recipient whose delivery is being retried holds up nobody else's page */
    char dedup[200], who[17] = "";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (p->recipient && *p->recipient &&
        EVP_Digest(p->recipient, strlen(p->recipient), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= 8)
        snprintf(who, sizeof(who), "%02x%02x%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3], md[4], md[5],
                 md[6], md[7]);
    snprintf(dedup, sizeof(dedup), "%s:%s%s%s", p->dedup_key ? p->dedup_key : "page", ch->id, who[0] ? ":" : "", who);
    return outbox_add(n->outbox, ch, "page", p->dedup_key ? p->dedup_key : "page", dedup,
                      p->summary ? p->summary : "page", copy, 0, id_out, id_len);
}

int notify_retry(struct notify *n, const char *id, notify_retry_cb cb, void *data)
{
    return outbox_retry(n->outbox, id, cb, data);
}

json_t *notify_json_channels(const struct notify *n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n->n_ch; i++) {
        const struct nchannel *c = n->ch[i];
        json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b, s:I, s:I, s:I, s:s}", "id", c->id, "type",
                              conf_channel_type_name(c->type), "send_resolved", c->send_resolved, "disabled",
                              c->disabled, "failing", c->failing, "sent", (json_int_t)c->sent, "failed",
                              (json_int_t)c->failed, "retried", (json_int_t)c->retried, "last_error", c->last_error);
        if (o)
            json_array_append_new(list, o);
    }
    return list;
}

json_t *notify_json_groups(const struct notify *n)
{
    json_t *list = json_array();
    for (const struct ngroup *g = n->head; list && g; g = g->next) {
        char next[40];
        json_t *o = json_pack("{s:s, s:s, s:O, s:I, s:s}", "key", g->key, "route", g->route_path, "labels", g->labels,
                              "alerts", (json_int_t)g->n, "next_flush",
                              base_time_format_iso8601(g->next_ms, next, sizeof(next)));
        if (o)
            json_array_append_new(list, o);
    }
    return list;
}

int notify_metrics(const struct notify *n, struct base_buf *b)
{
    int rc = base_metrics_header(b, "opshub_notifications_total", "counter",
                                 "Deliveries by channel and how they ended (sent, failed, retried: attempts that "
                                 "failed and were retried, dropped: never queued)");
    static const char *const statuses[] = {"sent", "failed", "retried", "dropped"};
    for (size_t i = 0; rc == 0 && i < n->n_ch; i++) {
        const struct nchannel *c = n->ch[i];
        uint64_t v[4] = {c->sent, c->failed, c->retried, c->dropped};
        for (size_t s = 0; rc == 0 && s < 4; s++) {
            const char *labels[] = {"channel", c->id, "status", statuses[s], NULL};
            rc = base_metrics_sample(b, "opshub_notifications_total", labels, (double)v[s]);
        }
    }
    struct outbox_stats st;
    outbox_stats(n->outbox, &st);
    if (rc == 0)
        rc = base_metrics_header(b, "opshub_notification_delivery_seconds", "histogram",
                                 "From the alert transition to the receiver's acceptance");
    if (rc == 0)
        rc = base_metrics_histogram(b, "opshub_notification_delivery_seconds", NULL, &st.latency);
    struct {
        const char *name, *type, *help;
        double v;
    } g[] = {
        {"opshub_notify_outbox_depth", "gauge", "Deliveries pending or in flight", (double)st.depth},
        {"opshub_notify_inflight", "gauge", "Requests in flight", (double)st.inflight},
        {"opshub_notify_outbox_written_total", "counter", "Outbox rows written to the store", (double)st.written},
        {"opshub_notify_outbox_write_errors_total", "counter", "Outbox writes that failed (retried)",
         (double)st.write_errors},
        {"opshub_notify_outbox_dropped_total", "counter", "Deliveries dropped because the outbox was full",
         (double)st.dropped},
        {"opshub_notify_alerts", "gauge", "Alerts the notification layer holds", (double)n->alerts.len},
        {"opshub_notify_groups", "gauge", "Aggregation groups", (double)n->n_groups},
        {"opshub_notify_messages_total", "counter", "Notifications made by groups", (double)n->messages},
        {"opshub_notify_unrouted_total", "counter", "Alerts no route with channels took", (double)n->unrouted},
        {"opshub_notify_inhibited_total", "counter", "Alerts left out of a message by an inhibition rule",
         (double)n->inhibited},
        {"opshub_notify_silenced_total", "counter", "Alerts left out of a message by a silence", (double)n->silenced},
        {"opshub_notify_silences", "gauge", "Silences active or pending", (double)n->n_sil},
        {"opshub_notify_maintenance_muted_total", "counter", "Alerts left out of a message by a maintenance window",
         (double)n->maintained},
        {"opshub_notify_received_alerts_total", "counter", "Alerts received through POST /api/v2/alerts",
         (double)n->external},
    };
    for (size_t i = 0; rc == 0 && i < sizeof(g) / sizeof(g[0]); i++) {
        rc = base_metrics_header(b, g[i].name, g[i].type, g[i].help);
        if (rc == 0)
            rc = base_metrics_sample(b, g[i].name, NULL, g[i].v);
    }
    return rc;
}

int notify_validate(const struct conf *c, struct base_errors *errs)
{
    int bad = 0;
    for (size_t i = 0; i < c->notify.n_channels; i++) {
        const struct conf_channel *ch = &c->notify.channels[i];
        const char *texts[2] = {ch->title, ch->text};
        int lines[2] = {ch->title_line, ch->text_line}, cols[2] = {ch->title_col, ch->text_col};
        for (int k = 0; k < 2; k++) {
            if (!texts[k])
                continue;
            char why[256];
            size_t pos = 0;
            struct template *t = template_parse_flags(texts[k], TEMPLATE_PARSE_ANNOTATIONS, why, sizeof(why), &pos);
            if (!t) {
                base_errors_add(errs, ch->file ? ch->file : "<config>", lines[k], cols[k], NULL,
                                "channel %s: %s: %s (at character %zu)", ch->id ? ch->id : "", k ? "text" : "title",
                                why, pos + 1);
                bad = 1;
            }
            template_free(t);
        }
    }
    return bad ? BASE_ERR_INVALID : 0;
}
