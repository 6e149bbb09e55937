/*
 * http/status_int: what status.c (the model) and status_render.c (HTML,
 * JSON, Atom) share. Private to src/http.
 */
#ifndef HTTP_STATUS_INT_H
#define HTTP_STATUS_INT_H

#include "http/status.h"

#include "base/arena.h"
#include "base/map.h"
#include "conf/conf.h"
#include "sched/status.h"

#include <jansson.h>

#define STATUS_DAY_MS 86400000LL

/* One check's days, from the rollups: day i is day0_ms + i days. */
struct status_hist {
    int64_t day0_ms;
    int days;
    uint32_t *up, *total;    /* in the same block */
    char id[];               /* the map's key */
};

/* A component's state change, for the feed. */
struct status_feed_entry {
    uint64_t seq;            /* 0: empty */
    char component[256];
    enum sched_status from, to;
    int64_t at_ms;
};

/* The last state the feed saw of a component (map value; key = name). */
struct status_last {
    enum sched_status status;
    char name[];
};

struct http_status {
    struct event_bus *bus;
    struct notify *notify;         /* the public maintenance windows; may be NULL */
    struct incidents *incidents;   /* the incidents of public levels; may be NULL */
    struct store *store;
    const struct sched *sched;
    const struct objects_confs *const *confs;
    uv_timer_t timer;
    struct base_map hist;          /* check id -> struct status_hist (served) */
    struct base_map next;          /* the same, being read */
    char **ids;                    /* checks being read, in order */
    size_t n_ids, at;
    int days;
    uint64_t errors;
    bool refreshing, again, in_flight, ready, closing;
    const struct conf *seen_conf;  /* the configuration the history was read for */
    struct base_map states;        /* component name -> struct status_last */
    struct status_feed_entry feed[HTTP_STATUS_FEED_MAX];
    uint64_t feed_next;
};

/* One component as a page shows it. */
struct status_comp {
    const char *name, *description;
    const char **checks;
    size_t n_checks;
    enum sched_status status;
    int64_t since_ms;
    int days;
    int64_t day0_ms;
    uint64_t *up, *total;          /* per day; NULL without memory */
    uint64_t up_sum, total_sum;
};

/* A page: built per request, freed after rendering. */
struct status_view {
    struct base_arena arena;
    const struct conf_status_page *sp;
    const struct conf_project *project;  /* a project's page, or NULL */
    struct status_comp *comps;
    size_t n;
    int days;
    int64_t day0_ms, now_ms;
    enum sched_status status;      /* the worst of the components' */
    size_t n_down;
    uint64_t up_sum, total_sum;
    bool history_ready;
    json_t *maintenance;           /* notify_json_maintenance(public only), or NULL */
    json_t *incidents;             /* incidents_json_public since the first day shown, or NULL */
    bool subscribe;                /* the page offers e-mail subscriptions (incidents.subscribers.self_service) */
};

const struct conf *status_conf(const struct http_status *s);
/* 0, or BASE_ERR_NOT_FOUND / BASE_ERR_NOMEM; free the view in every case. */
int status_view_build(struct http_status *s, const char *project, struct status_view *v);
void status_view_free(struct status_view *v);

#endif
