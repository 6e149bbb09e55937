/*
 * http/status: the public status page (`status_page:` in the config):
 * /status, /status/{project}, /status.json and /status/feed.atom.
 *
 * What a page shows is assembled per request from three sources:
 * - the components (the config's, or one per project when none are
 *   configured) and their checks, from the running configuration;
 * - each component's current state: the worst status of its checks (down,
 *   then degraded, then unknown, then up; paused checks do not count),
 *   from the scheduler;
 * - one bar a day for history_days: the day's uptime over all of the
 *   component's samples, from the store's rollups. These are read in the
 *   background (one query per check, one at a time, at start, after a
 *   reload and every 5 minutes) into a cache, so a request never waits for
 *   the store and a page of 100 components renders from memory.
 * The feed lists the components' state changes, kept in memory (the last
 * 100; a restart starts it empty). Pages are rendered on the server and
 * work without script; the script only enhances them.
 */
#ifndef HTTP_STATUS_H
#define HTTP_STATUS_H

#include "base/buf.h"
#include "model/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_STATUS_REFRESH_MS (5 * 60 * 1000)
#define HTTP_STATUS_HISTORY_CHECKS_MAX 2000  /* checks whose history is read; more show no bars */
#define HTTP_STATUS_FEED_MAX 100
#define HTTP_STATUS_PAGE_MAX (16u << 20)      /* largest rendered page */

struct store;
struct sched;
struct objects_confs;
struct http_status;

struct http_status *http_status_new(uv_loop_t *loop, struct event_bus *bus, struct store *store,
                                    const struct sched *sched, const struct objects_confs *const *confs);
/* Where the public maintenance windows come from (NULL: none). */
struct notify;
void http_status_set_notify(struct http_status *s, struct notify *n);
/* Where the incidents of public levels come from (NULL: none). */
struct incidents;
void http_status_set_incidents(struct http_status *s, struct incidents *x);
/* The configuration changed: re-reads the history (the old stays served
 * until the new is complete). */
void http_status_reload(struct http_status *s);

/* Where a page's stylesheet and script are ("/assets/status.3f9a1c2b.css"),
 * NULL when the web assets were not built (the page is then unstyled). */
struct http_status_assets {
    const char *css, *js;
};

/* Rendering: 0; BASE_ERR_NOT_FOUND when there is no status page (the
 * section is absent or disabled) or `project` names no project with checks
 * on it; BASE_ERR_TOO_BIG / BASE_ERR_NOMEM. project NULL: the whole page. */
int http_status_html(struct http_status *s, const char *project, const struct http_status_assets *assets,
                     struct base_buf *out);
int http_status_json(struct http_status *s, const char *project, struct base_buf *out);
/* self_url: the feed's absolute URL base ("https://status.example.com"), or
 * "" for relative links. */
int http_status_atom(struct http_status *s, const char *self_url, struct base_buf *out);

/* True once the first history read has completed. */
bool http_status_history_ready(const struct http_status *s);
void http_status_shutdown(struct http_status *s);
void http_status_destroy(struct http_status *s);

#endif
