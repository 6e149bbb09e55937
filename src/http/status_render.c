/*
 * http/status_render: the status page as HTML (rendered here, complete
 * without script: bar tooltips are title attributes), as JSON and as an
 * Atom feed. Every text from the configuration is escaped.
 */
#include "http/status_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Every append of one rendering goes through ok(): the first failure
 * (BASE_ERR_TOO_BIG past the page limit, or out of memory) sticks. */
struct out {
    struct base_buf *b;
    int rc;
};

static void put(struct out *o, const char *s)
{
    if (!o->rc && base_buf_append_str(o->b, s) != 0)
        o->rc = BASE_ERR_TOO_BIG;
}

static void putf(struct out *o, const char *fmt, ...) BASE_PRINTF(2, 3);
static void putf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!o->rc && base_buf_vappendf(o->b, fmt, ap) != 0)
        o->rc = BASE_ERR_TOO_BIG;
    va_end(ap);
}

/* HTML and XML text and attribute values. */
static void esc(struct out *o, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                        : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;
        if (!rep)
            continue;
        if (!o->rc && s > run && base_buf_append(o->b, run, (size_t)(s - run)) != 0)
            o->rc = BASE_ERR_TOO_BIG;
        put(o, rep);
        run = s + 1;
    }
    if (!o->rc && s > run && base_buf_append(o->b, run, (size_t)(s - run)) != 0)
        o->rc = BASE_ERR_TOO_BIG;
}

static void json_str(struct out *o, const char *s)
{
    if (!o->rc && base_buf_append_json_str(o->b, s, strlen(s)) != 0)
        o->rc = BASE_ERR_TOO_BIG;
}

static const char *state_text(enum sched_status st)
{
    switch (st) {
    case SCHED_STATUS_UP: return "Operational";
    case SCHED_STATUS_DEGRADED: return "Degraded performance";
    case SCHED_STATUS_DOWN: return "Major outage";
    case SCHED_STATUS_PAUSED: return "Paused";
    default: return "No data";
    }
}

static const char *overall_text(const struct status_view *v)
{
    switch (v->status) {
    case SCHED_STATUS_UP: return "All systems operational";
    case SCHED_STATUS_DEGRADED: return "Degraded performance";
    case SCHED_STATUS_DOWN: return v->n_down == v->n ? "Major outage" : "Partial outage";
    default: return "No data yet";
    }
}

/* Uptime as a fraction, or -1 without samples. */
static double ratio(uint64_t up, uint64_t total)
{
    return total ? (double)up / (double)total : -1;
}

/* "99.95%": two decimals, never rounded up to 100% while something failed. */
static void pct(char *buf, size_t n, uint64_t up, uint64_t total)
{
    if (!total) {
        snprintf(buf, n, "no data");
        return;
    }
    double p = 100.0 * (double)up / (double)total;
    if (up < total && p > 99.99)
        p = 99.99;
    snprintf(buf, n, "%.2f%%", p);
}

/* The bar's class: how good the day was. */
static const char *bar_class(uint64_t up, uint64_t total)
{
    double r = ratio(up, total);
    return r < 0 ? "b-none" : r >= 0.999 ? "b-ok" : r >= 0.99 ? "b-minor" : r >= 0.95 ? "b-major" : "b-bad";
}

static void day_label(char *buf, size_t n, int64_t day_ms)
{
    char iso[40];
    base_time_format_iso8601(day_ms, iso, sizeof(iso));
    snprintf(buf, n, "%.10s", iso);
}

/* ---- HTML ----------------------------------------------------------------- */

static void day_incidents(const json_t *list, const struct status_comp *c, int64_t day_ms, char *out, size_t n);

static void html_component(struct out *o, const struct status_view *v, const struct status_comp *c)
{
    char p[32], since[40];
    put(o, "<li class=\"component\"><div class=\"c-head\"><h3>");
    esc(o, c->name);
    putf(o, "</h3><span class=\"state s-%s\">", sched_status_name(c->status));
    put(o, state_text(c->status));
    put(o, "</span></div>");
    if (c->description) {
        put(o, "<p class=\"c-desc\">");
        esc(o, c->description);
        put(o, "</p>");
    }
    if (c->since_ms) {
        base_time_format_iso8601(c->since_ms, since, sizeof(since));
        putf(o, "<p class=\"c-since\">Since <time datetime=\"%s\">%s</time></p>", since, since);
    }
    pct(p, sizeof(p), c->up_sum, c->total_sum);
    putf(o, "<div class=\"bars\" role=\"img\" aria-label=\"%d-day uptime: %s\">", v->days, p);
    for (int d = 0; c->up && d < v->days; d++) {
        char day[16], dp[32];
        day_label(day, sizeof(day), v->day0_ms + (int64_t)d * STATUS_DAY_MS);
        pct(dp, sizeof(dp), c->up[d], c->total[d]);
        char incs[600];
        day_incidents(v->incidents, c, v->day0_ms + (int64_t)d * STATUS_DAY_MS, incs, sizeof(incs));
        putf(o, "<i class=\"%s%s\" title=\"%s: %s", bar_class(c->up[d], c->total[d]), incs[0] ? " incident" : "",
             day, dp);
        if (incs[0]) {
            put(o, "; ");
            esc(o, incs);
        }
        put(o, "\"></i>");
    }
    putf(o, "</div><div class=\"c-foot\"><span>%d days ago</span><span>%s uptime</span><span>Today</span></div></li>",
         v->days, p);
}

/* Does incident inc touch component c: one of its checks, or c named among its components. */
static bool touches(const json_t *inc, const struct status_comp *c)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(inc, "components"), i, v) {
        if (json_string_value(v) && !strcmp(json_string_value(v), c->name))
            return true;
    }
    json_array_foreach(json_object_get(inc, "checks"), i, v) {
        for (size_t k = 0; k < c->n_checks; k++)
            if (json_string_value(v) && !strcmp(json_string_value(v), c->checks[k]))
                return true;
    }
    return false;
}

/* The titles of the incidents that touched c on the day from day_ms, "; "-joined into out ("" when none). */
static void day_incidents(const json_t *list, const struct status_comp *c, int64_t day_ms, char *out, size_t n)
{
    size_t i, k = 0;
    json_t *inc;
    out[0] = 0;
    json_array_foreach(list, i, inc) {
        int64_t s = (int64_t)json_integer_value(json_object_get(inc, "started_ms"));
        int64_t e = (int64_t)json_integer_value(json_object_get(inc, "resolved_ms"));
        if (s >= day_ms + STATUS_DAY_MS || (e && e < day_ms) || !touches(inc, c))
            continue;
        if (k < n)
            k += (size_t)snprintf(out + k, n - k, "%sincident #%lld %s", k ? "; " : "",
                                  (long long)json_integer_value(json_object_get(inc, "number")),
                                  json_string_value(json_object_get(inc, "title")));
    }
}

/* The incidents of public levels: open ones first, with their status updates. */
static void html_incidents(struct out *o, const json_t *list)
{
    if (!json_array_size(list))
        return;
    put(o, "<h2>Incidents</h2><ul class=\"incidents\">");
    size_t i;
    json_t *inc;
    json_array_foreach(list, i, inc) {
        const char *state = json_string_value(json_object_get(inc, "state"));
        const char *started = json_string_value(json_object_get(inc, "started"));
        const char *resolved = json_string_value(json_object_get(inc, "resolved"));
        putf(o, "<li class=\"incident %s\"><strong>", resolved ? "resolved" : "open");
        esc(o, json_string_value(json_object_get(inc, "title")));
        put(o, "</strong> <span class=\"sev\">");
        esc(o, json_string_value(json_object_get(inc, "severity")));
        put(o, "</span> <span class=\"st\">");
        esc(o, state ? state : "");
        putf(o, "</span> <span class=\"when\"><time datetime=\"%s\">%s</time>", started, started);
        if (resolved)
            putf(o, " \xe2\x80\x93 <time datetime=\"%s\">%s</time>", resolved, resolved);
        put(o, "</span>");
        json_t *aff = json_object_get(inc, "components");
        if (!json_array_size(aff))
            aff = json_object_get(inc, "projects");
        if (json_array_size(aff)) {
            put(o, "<p class=\"affected\">Affected: ");
            size_t k;
            json_t *a;
            json_array_foreach(aff, k, a) {
                if (k)
                    put(o, ", ");
                esc(o, json_string_value(a) ? json_string_value(a) : "");
            }
            put(o, "</p>");
        }
        json_t *ups = json_object_get(inc, "updates");
        if (json_array_size(ups)) {
            put(o, "<ul class=\"updates\">");
            size_t k;
            json_t *u;
            json_array_foreach(ups, k, u) {
                const char *at = json_string_value(json_object_get(u, "at"));
                putf(o, "<li><time datetime=\"%s\">%s</time> <b>", at, at);
                esc(o, json_string_value(json_object_get(u, "state")));
                put(o, "</b> ");
                esc(o, json_string_value(json_object_get(u, "text")));
                put(o, "</li>");
            }
            put(o, "</ul>");
        }
        put(o, "</li>");
    }
    put(o, "</ul>");
}

/* The public maintenance windows, in progress and to come (within 30 days). */
static void html_maintenance(struct out *o, const json_t *list)
{
    size_t i;
    json_t *w;
    bool any = false;
    json_array_foreach(list, i, w)
    {
        bool active = json_is_true(json_object_get(w, "active"));
        json_t *span = json_object_get(w, active ? "current" : "next");
        const char *start = json_string_value(json_object_get(span, "start"));
        const char *end = json_string_value(json_object_get(span, "end"));
        if (!start || !end)
            continue;
        int64_t s_ms = 0;
        if (!active && (base_time_parse(start, &s_ms) != 0 || s_ms - base_time_now_ms() > 30LL * 86400000))
            continue;
        if (!any)
            put(o, "<h2>Scheduled maintenance</h2><ul class=\"maintenance\">");
        any = true;
        putf(o, "<li class=\"%s\"><strong>%s</strong> ", active ? "active" : "upcoming",
             active ? "In progress:" : "Scheduled:");
        const char *d = json_string_value(json_object_get(w, "description"));
        esc(o, d && *d ? d : json_string_value(json_object_get(w, "id")));
        putf(o, " <span class=\"when\"><time datetime=\"%s\">%s</time> \xe2\x80\x93 <time datetime=\"%s\">%s</time>"
                "</span></li>", start, start, end, end);
    }
    if (any)
        put(o, "</ul>");
}

int http_status_html(struct http_status *s, const char *project, const struct http_status_assets *assets,
                     struct base_buf *out)
{
    struct status_view v;
    int rc = status_view_build(s, project, &v);
    if (rc != 0) {
        status_view_free(&v);
        return rc;
    }
    struct out o = {out, 0};
    const char *title = v.sp->title ? v.sp->title : "Status";
    put(&o, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    esc(&o, title);
    if (v.project) {
        put(&o, " \xe2\x80\x94 ");
        esc(&o, v.project->name);
    }
    put(&o, "</title>");
    if (assets && assets->css)
        putf(&o, "<link rel=\"stylesheet\" href=\"%s\">", assets->css);
    if (assets && assets->js)
        putf(&o, "<script type=\"module\" src=\"%s\"></script>", assets->js);
    put(&o, "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"State changes\" href=\"/status.atom\">"
            "</head><body class=\"status-page\"><header class=\"sp-header\">");
    if (v.sp->logo) {
        put(&o, "<img class=\"logo\" alt=\"\" src=\"");
        esc(&o, v.sp->logo);
        put(&o, "\">");
    }
    put(&o, "<h1>");
    esc(&o, title);
    if (v.project) {
        put(&o, ": ");
        esc(&o, v.project->name);
    }
    put(&o, "</h1>");
    if (v.sp->description) {
        put(&o, "<p>");
        esc(&o, v.sp->description);
        put(&o, "</p>");
    }
    char p[32], now[40];
    pct(p, sizeof(p), v.up_sum, v.total_sum);
    base_time_format_iso8601(v.now_ms, now, sizeof(now));
    putf(&o, "</header><main><section class=\"overall s-%s\" aria-live=\"polite\"><h2>%s</h2>"
             "<p>%s uptime over %d days. Updated <time datetime=\"%s\">%s</time>.</p></section>",
         sched_status_name(v.status), overall_text(&v), p, v.days, now, now);
    /* the incidents of public levels; the scheduled maintenance windows */
    put(&o, "<section class=\"notices\" id=\"incidents\" aria-label=\"Incidents\">");
    html_incidents(&o, v.incidents);
    put(&o, "</section><section class=\"notices\" id=\"maintenance\" aria-label=\"Scheduled maintenance\">");
    html_maintenance(&o, v.maintenance);
    put(&o, "</section>");
    put(&o, "<section aria-label=\"Components\"><h2 class=\"visually-hidden\">Components</h2><ul class=\"components\">");
    for (size_t i = 0; i < v.n; i++)
        html_component(&o, &v, &v.comps[i]);
    if (v.n == 0)
        put(&o, "<li class=\"empty\">No components are configured yet.</li>");
    put(&o, "</ul></section>");
    if (!v.history_ready)
        put(&o, "<p class=\"note\">The uptime history is still being read; reload in a moment.</p>");
    if (v.subscribe) {
        /* works without the script (a form post); status.js sends it as JSON and answers in place */
        put(&o, "<section class=\"subscribe\" aria-label=\"Subscribe\"><form class=\"sp-subscribe\" method=\"post\" "
                "action=\"/api/v1/status/subscribe\">");
        if (v.project) {
            put(&o, "<input type=\"hidden\" name=\"project\" value=\"");
            esc(&o, v.project->id);
            put(&o, "\">");
        }
        put(&o, "<label for=\"sp-email\">Get incident updates by e-mail</label> <input id=\"sp-email\" "
                "type=\"email\" name=\"email\" required maxlength=\"254\" autocomplete=\"email\"> "
                "<button type=\"submit\">Subscribe</button><p class=\"sp-subscribe-result\" role=\"status\"></p>"
                "</form></section>");
    }
    put(&o, "</main><footer><a href=\"/status.json\">JSON</a> \xc2\xb7 <a href=\"/status.atom\">Atom feed</a>"
            " \xc2\xb7 Powered by opshub</footer></body></html>\n");
    status_view_free(&v);
    return o.rc;
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_ratio(struct out *o, uint64_t up, uint64_t total)
{
    if (!total)
        put(o, "null");
    else
        putf(o, "%.6f", ratio(up, total));
}

int http_status_json(struct http_status *s, const char *project, struct base_buf *out)
{
    struct status_view v;
    int rc = status_view_build(s, project, &v);
    if (rc != 0) {
        status_view_free(&v);
        return rc;
    }
    struct out o = {out, 0};
    char now[40], since[40], day[16];
    base_time_format_iso8601(v.now_ms, now, sizeof(now));
    put(&o, "{\"title\":");
    json_str(&o, v.sp->title ? v.sp->title : "Status");
    put(&o, ",\"description\":");
    if (v.sp->description)
        json_str(&o, v.sp->description);
    else
        put(&o, "null");
    put(&o, ",\"project\":");
    if (v.project)
        json_str(&o, v.project->id);
    else
        put(&o, "null");
    putf(&o, ",\"updated_at\":\"%s\",\"status\":\"%s\",\"status_text\":", now, sched_status_name(v.status));
    json_str(&o, overall_text(&v));
    putf(&o, ",\"history_days\":%d,\"history_ready\":%s,\"uptime\":", v.days, v.history_ready ? "true" : "false");
    json_ratio(&o, v.up_sum, v.total_sum);
    put(&o, ",\"components\":[");
    for (size_t i = 0; i < v.n; i++) {
        const struct status_comp *c = &v.comps[i];
        put(&o, i ? ",{\"name\":" : "{\"name\":");
        json_str(&o, c->name);
        put(&o, ",\"description\":");
        if (c->description)
            json_str(&o, c->description);
        else
            put(&o, "null");
        putf(&o, ",\"status\":\"%s\",\"status_text\":\"%s\",\"since\":", sched_status_name(c->status),
             state_text(c->status));
        if (c->since_ms)
            putf(&o, "\"%s\"", base_time_format_iso8601(c->since_ms, since, sizeof(since)));
        else
            put(&o, "null");
        put(&o, ",\"uptime\":");
        json_ratio(&o, c->up_sum, c->total_sum);
        put(&o, ",\"days\":[");
        for (int d = 0; c->up && d < v.days; d++) {
            day_label(day, sizeof(day), v.day0_ms + (int64_t)d * STATUS_DAY_MS);
            putf(&o, "%s{\"date\":\"%s\",\"uptime\":", d ? "," : "", day);
            json_ratio(&o, c->up[d], c->total[d]);
            putf(&o, ",\"samples\":%" PRIu64 "}", c->total[d]);
        }
        put(&o, "]}");
    }
    put(&o, "],\"incidents\":");
    char *it = v.incidents ? json_dumps(v.incidents, JSON_COMPACT) : NULL;
    put(&o, it ? it : "[]");
    base_free(it);
    put(&o, ",\"maintenance\":");
    char *mt = v.maintenance ? json_dumps(v.maintenance, JSON_COMPACT) : NULL;
    put(&o, mt ? mt : "[]");
    base_free(mt);
    put(&o, "}");
    status_view_free(&v);
    return o.rc;
}

/* ---- Atom ------------------------------------------------------------------ */

int http_status_atom(struct http_status *s, const char *self_url, struct base_buf *out)
{
    const struct conf *conf = status_conf(s);
    if (!conf || !conf->status_page.enabled)
        return BASE_ERR_NOT_FOUND;
    const char *title = conf->status_page.title ? conf->status_page.title : "Status";
    struct out o = {out, 0};
    char updated[40];
    int64_t newest = 0;
    for (size_t i = 0; i < HTTP_STATUS_FEED_MAX; i++)
        if (s->feed[i].seq && s->feed[i].at_ms > newest)
            newest = s->feed[i].at_ms;
    base_time_format_iso8601(newest ? newest : base_time_now_ms(), updated, sizeof(updated));
    put(&o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>");
    esc(&o, title);
    put(&o, "</title><id>");
    esc(&o, self_url);
    put(&o, "/status</id><link rel=\"alternate\" href=\"");
    esc(&o, self_url);
    put(&o, "/status\"/><link rel=\"self\" href=\"");
    esc(&o, self_url);
    putf(&o, "/status.atom\"/><updated>%s</updated><author><name>", updated);
    esc(&o, title);
    put(&o, "</name></author>");
    /* Newest first. */
    for (uint64_t k = 0; k < HTTP_STATUS_FEED_MAX && k < s->feed_next; k++) {
        const struct status_feed_entry *e = &s->feed[(s->feed_next - 1 - k) % HTTP_STATUS_FEED_MAX];
        char at[40];
        base_time_format_iso8601(e->at_ms, at, sizeof(at));
        put(&o, "<entry><title>");
        esc(&o, e->component);
        putf(&o, ": %s</title><id>", state_text(e->to));
        esc(&o, self_url);
        putf(&o, "/status#change-%" PRIu64 "</id><updated>%s</updated><link href=\"", e->seq, at);
        esc(&o, self_url);
        put(&o, "/status\"/><content type=\"text\">");
        esc(&o, e->component);
        putf(&o, " changed from %s to %s at %s.</content></entry>", state_text(e->from), state_text(e->to), at);
    }
    put(&o, "</feed>\n");
    return o.rc;
}
