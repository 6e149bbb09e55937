/*
 * probe/prometheus: runs of the prometheus check type (see prometheus.h).
 * A run: a curl transfer on the engine's multi into a capped buffer, then
 * a job on the thread pool that reads the body (promtext), selects series
 * (promsel) into a scrape batch, then the sample on the loop. A run canceled
 * while its job is on the pool is freed when the job comes back.
 */
#include "probe/prometheus.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "model/scrape.h"
#include "probe/curlm.h"
#include "probe/probe_int.h"
#include "probe/promsel.h"
#include "probe/promtext.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The parse stopped for lack of memory (promtext returns -1 for a
 * malformed page and a callback's own value as is). */
#define PARSE_NOMEM 1
#define PARSE_STOPPED 2     /* canceled, or past the run's deadline */

struct probe_prom {
    struct probe_run run;            /* first: a run pointer is a probe_prom pointer */
    struct probe_curl_owner curl;    /* CURLOPT_PRIVATE */
    CURL *easy;
    struct curl_slist *headers;
    struct base_buf body;
    bool overflow, nomem, openmetrics;
    atomic_bool canceled;            /* set on the loop, read by the pool job */
    uint64_t deadline_ns;            /* uv_hrtime() past which the parse stops */
    uv_work_t work;
    char errbuf[CURL_ERROR_SIZE];
    /* for the pool job: copies, and what it found */
    char **match;
    size_t n_match, max_series;
    int parse_rc;
    struct probe_promtext_error perr;
    char why[160];
    size_t scraped, matched, dropped, body_bytes;
    struct scrape_batch *batch;
    double http_ms;
};

static void prom_free(struct probe_prom *p)
{
    if (p->easy)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->headers);
    base_buf_free(&p->body);
    for (size_t i = 0; i < p->n_match; i++)
        base_free(p->match[i]);
    base_free(p->match);
    scrape_batch_destroy(p->batch);
    base_free(p);
}

/* ---- the pool job: read and select ---- */

struct job {
    struct probe_prom *p;
    struct probe_promsel *sel[PROBE_PROMETHEUS_MATCH_MAX];
    size_t n_sel;
};

static bool selected(const struct job *j, const struct probe_promtext_sample *s)
{
    if (!j->n_sel)
        return true;
    for (size_t i = 0; i < j->n_sel; i++)
        if (probe_promsel_match(j->sel[i], s))
            return true;
    return false;
}

static int on_series(void *data, const struct probe_promtext_sample *s)
{
    struct job *j = data;
    struct probe_prom *p = j->p;
    /* every 1024 series: a canceled run, or one past its deadline, stops */
    if ((p->scraped & 1023) == 0 && (atomic_load(&p->canceled) || uv_hrtime() > p->deadline_ns))
        return PARSE_STOPPED;
    p->scraped++;
    if (!selected(j, s))
        return 0;
    p->matched++;
    if (p->batch->n >= p->max_series) {
        p->dropped++;
        return 0;
    }
    struct scrape_label labels[PROBE_PROMTEXT_LABELS_MAX];
    for (size_t i = 0; i < s->n_labels; i++)
        labels[i] = (struct scrape_label){s->labels[i].name, s->labels[i].value};
    static const enum scrape_type types[] = {
        [PROBE_PROMTEXT_UNTYPED] = SCRAPE_UNTYPED, [PROBE_PROMTEXT_COUNTER] = SCRAPE_COUNTER,
        [PROBE_PROMTEXT_GAUGE] = SCRAPE_GAUGE, [PROBE_PROMTEXT_HISTOGRAM] = SCRAPE_HISTOGRAM,
        [PROBE_PROMTEXT_SUMMARY] = SCRAPE_SUMMARY,
    };
    return scrape_batch_add(p->batch, s->name, labels, s->n_labels, types[s->type], s->value,
                            s->has_timestamp ? s->timestamp_ms : -1) ? PARSE_NOMEM : 0;
}

static void on_work(uv_work_t *w)
{
    struct probe_prom *p = w->data;
    struct job j = {.p = p};
    struct probe_promtext_sample *scratch = base_malloc(sizeof(*scratch));
    p->batch = scrape_batch_new(p->run.s.ts_ms);
    p->parse_rc = PARSE_NOMEM;
    if (!scratch || !p->batch)
        goto out;
    for (size_t i = 0; i < p->n_match; i++) {
        size_t col;
        if (!(j.sel[j.n_sel] = probe_promsel_parse(p->match[i], p->why, sizeof(p->why), &col)))
            goto out;   /* validated at load: only out of memory */
        j.n_sel++;
    }
    p->parse_rc = probe_promtext_parse(p->body.data ? p->body.data : "", p->body.len, p->openmetrics, scratch,
                                       on_series, &j, &p->perr);
out:
    for (size_t i = 0; i < j.n_sel; i++)
        probe_promsel_destroy(j.sel[i]);
    base_free(scratch);
    /* the body is read: give its memory back now, not at the free */
    base_buf_free(&p->body);
}

/* ---- the sample ---- */

static void set_values(struct probe_prom *p, bool parsed)
{
    struct sample *s = &p->run.s;
    sample_value_set(s, "scrape_duration_seconds", p->http_ms / 1000.0);
    sample_value_set(s, "scrape_body_bytes", (double)p->body_bytes);
    if (!parsed)
        return;
    sample_value_set(s, "scrape_samples_scraped", (double)p->scraped);
    sample_value_set(s, "scrape_samples_matched", (double)p->matched);
    sample_value_set(s, "scrape_samples_dropped", (double)p->dropped);
}

static void on_work_done(uv_work_t *w, int status)
{
    struct probe_prom *p = w->data;
    if (atomic_load(&p->canceled)) {
        struct probe_engine *e = p->run.engine;
        prom_free(p);
        probe_engine_release(e);
        return;
    }
    struct sample *s = &p->run.s;
    s->result = SAMPLE_DOWN;
    if (status != 0 || p->parse_rc == PARSE_NOMEM) {
        sample_set_error(s, "out of memory reading the metrics");
    } else if (p->parse_rc == PARSE_STOPPED) {
        sample_set_error(s, "timeout after %" PRId64 " ms (reading the metrics, %zu series so far)",
                         p->run.timeout_ms, p->scraped);
    } else if (p->parse_rc != 0) {
        sample_set_error(s, "metrics line %zu col %zu: %s", p->perr.line, p->perr.col, p->perr.message);
    } else {
        s->result = p->dropped ? SAMPLE_DEGRADED : SAMPLE_UP;
        if (p->dropped)
            sample_set_error(s, "%zu series past max_series %zu were dropped", p->dropped, p->max_series);
        set_values(p, true);
        probe_run_series_set(&p->run, p->batch);
        p->batch = NULL;
    }
    probe_run_finish(&p->run);
    prom_free(p);
}

static void transport_error(struct probe_prom *p, CURLcode rc)
{
    struct sample *s = &p->run.s;
    long oserr = 0;
    curl_easy_getinfo(p->easy, CURLINFO_OS_ERRNO, &oserr);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        sample_set_error(s, "timeout after %" PRId64 " ms", p->run.timeout_ms);
    else if (rc == CURLE_COULDNT_CONNECT && oserr == ECONNREFUSED)
        sample_set_error(s, "connection refused");
    else if (p->overflow)
        sample_set_error(s, "metrics body exceeds max_body (%zu bytes)", p->body.max);
    else if (p->nomem)
        sample_set_error(s, "out of memory reading the metrics");
    else    /* curl's text names the host, never the URL's credentials */
        sample_set_error(s, "scrape failed: %s", p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
}

static void on_curl_done(struct probe_curl_owner *owner, CURLcode rc)
{
    struct probe_prom *p = (struct probe_prom *)(void *)((char *)owner - offsetof(struct probe_prom, curl));
    struct sample *s = &p->run.s;
    long status = 0;
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
    p->http_ms = probe_run_elapsed_ms(&p->run);
    p->body_bytes = p->body.len;
    s->latency_ms = p->http_ms;
    s->code = (int)status;
    s->result = SAMPLE_DOWN;
    if (rc != CURLE_OK)
        transport_error(p, rc);
    else if (status < 200 || status > 299)
        sample_set_error(s, "unexpected status %ld", status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        set_values(p, false);
        probe_run_finish(&p->run);
        prom_free(p);
        return;
    }
    const char *ctype = NULL;
    curl_easy_getinfo(p->easy, CURLINFO_CONTENT_TYPE, &ctype);
    p->openmetrics = ctype && !strncasecmp(ctype, "application/openmetrics-text", 28);
    curl_easy_cleanup(p->easy);  /* its connection is not needed for the parse */
    p->easy = NULL;
    if (uv_queue_work(p->run.engine->loop, &p->work, on_work, on_work_done) != 0) {
        sample_set_error(s, "could not queue the parse");
        probe_run_finish(&p->run);
        prom_free(p);
    }
}

/* ---- start and cancel ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct probe_prom *p = ud;
    size_t n = size * nmemb;
    int rc = base_buf_append(&p->body, data, n);
    if (rc == BASE_ERR_TOO_BIG)
        p->overflow = true;
    else if (rc)
        p->nomem = true;
    return rc ? 0 : n;
}

static int configure(struct probe_prom *p, const struct probe_prometheus_conf *c)
{
    CURL *easy = p->easy;
    CURLcode rc = CURLE_OK;
    long tmo = (long)p->run.timeout_ms;
#define SET(opt, val) do { if (!rc) rc = curl_easy_setopt(easy, opt, val); } while (0)
    SET(CURLOPT_PRIVATE, &p->curl);
    SET(CURLOPT_SHARE, p->run.engine->share);
    SET(CURLOPT_URL, c->url);
    SET(CURLOPT_ERRORBUFFER, p->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, tmo);
    SET(CURLOPT_CONNECTTIMEOUT_MS, tmo);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_USERAGENT, "opshub/0.1");
    /* gzip when the target offers it: /metrics pages shrink ~10x */
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, p);
    if (c->bearer_token) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        SET(CURLOPT_XOAUTH2_BEARER, c->bearer_token);
    }
    /* the text format; OpenMetrics is not asked for (read if sent) */
    p->headers = curl_slist_append(NULL, "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1");
    if (!p->headers)
        return BASE_ERR_NOMEM;
    SET(CURLOPT_HTTPHEADER, p->headers);
#undef SET
    return rc ? BASE_ERR_NOMEM : 0;
}

static struct probe_run *prom_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_prometheus_conf *c = check->settings;
    struct probe_prom *p = base_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    probe_run_init(&p->run, e, check);
    atomic_init(&p->canceled, false);
    p->deadline_ns = p->run.t0_ns + (uint64_t)p->run.timeout_ms * 1000000u;
    p->curl.done = on_curl_done;
    p->work.data = p;
    p->max_series = c->max_series > 0 ? (size_t)c->max_series : PROBE_PROMETHEUS_DEFAULT_MAX_SERIES;
    base_buf_init(&p->body, c->max_body ? c->max_body : PROBE_PROMETHEUS_DEFAULT_MAX_BODY);
    if (c->match.n && !(p->match = base_calloc(c->match.n, sizeof(char *))))
        goto fail;
    for (; p->n_match < c->match.n; p->n_match++)
        if (!(p->match[p->n_match] = base_strdup(c->match.items[p->n_match])))
            goto fail;
    if (!(p->easy = curl_easy_init()) || configure(p, c) != 0 || probe_curlm_add(e->curlm, p->easy) != 0)
        goto fail;
    return &p->run;
fail:
    prom_free(p);
    return NULL;
}

static void prom_cancel(struct probe_run *r)
{
    struct probe_prom *p = (struct probe_prom *)r;
    if (p->easy) {  /* still downloading */
        probe_curlm_remove(r->engine->curlm, p->easy);
        prom_free(p);
        return;
    }
    /* the parse is on the pool: it frees the run when it comes back */
    atomic_store(&p->canceled, true);
    r->engine->tearing_down++;
    (void)uv_cancel((uv_req_t *)&p->work);
}

/* ---- the type: settings ---- */

static int match_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    struct conf_strings *m = field;
    if (n->kind != CONF_NODE_SEQ) {
        conf_value_error(ctx, n, "match: expected a list of series selectors, got %s", conf_value_kind_name(n));
        return -1;
    }
    if (n->n > PROBE_PROMETHEUS_MATCH_MAX) {
        conf_value_error(ctx, n, "match: %zu selectors, at most %d", n->n, PROBE_PROMETHEUS_MATCH_MAX);
        return -1;
    }
    if (conf_strings_parse(ctx, n, "match", 0, m))
        return -1;
    int rc = 0;
    size_t i = 0;
    for (const struct conf_node *it = n->child; it; it = it->next, i++) {
        char why[160];
        size_t col;
        struct probe_promsel *sel = probe_promsel_parse(m->items[i], why, sizeof(why), &col);
        if (!sel && col)
            conf_value_error(ctx, it, "match: %s (at character %zu of the selector)", why, col);
        else if (!sel)
            conf_value_nomem(ctx);
        rc |= sel ? 0 : -1;
        probe_promsel_destroy(sel);
    }
    return rc;
}

static void match_hash(uint64_t *h, const void *field)
{
    conf_strings_hash(h, field);
}

static int match_copy(void *field, struct base_arena *a)
{
    return conf_strings_copy(field, a);
}

static int match_json(const void *field, json_t **out)
{
    return conf_strings_json(field, out);
}

static const struct conf_field_ops match_ops = {match_parse, match_hash, match_copy, match_json};

#define F(m) offsetof(struct probe_prometheus_conf, m)
static const struct conf_field prom_fields[] = {
    CONF_FIELD("url", CONF_FIELD_URL, F(url), CONF_FIELD_REQUIRED | CONF_FIELD_SECRET,
     "The /metrics URL to scrape (sealed at rest; a password in it is never shown)",
               .example = "'http://127.0.0.1:3001/metrics'"),
    CONF_FIELD("match", CONF_FIELD_CUSTOM, F(match), 0,
     "Series selectors (`name{label=\"v\", l=~\"re\"}`); a series any of them selects is kept; default all "
     "(at most 32)", .ops = &match_ops, .example = "['http_requests_total{code=~\"5..\"}', 'up']"),
    CONF_FIELD("max_series", CONF_FIELD_INT, F(max_series), 0,
     "Series kept per scrape; past it the rest are dropped and the sample is degraded; default 10000",
               .min = 1, .max = PROBE_PROMETHEUS_MAX_SERIES, .example = "50000"),
    CONF_FIELD("max_body", CONF_FIELD_SIZE, F(max_body), 0,
     "Bytes of the metrics page read (after gzip); past it the sample is down; default 16MiB, at most 256MiB",
               .max = PROBE_PROMETHEUS_MAX_BODY, .example = "64MiB"),
    CONF_FIELD("bearer_token", CONF_FIELD_STRING, F(bearer_token), CONF_FIELD_SECRET,
     "Sent as Authorization: Bearer (sealed at rest)", .example = "t0ken"),
    CONF_FIELD_END,
};
#undef F

static int prom_init(void *settings, struct base_arena *a)
{
    (void)a;
    struct probe_prometheus_conf *c = settings;
    c->max_series = PROBE_PROMETHEUS_DEFAULT_MAX_SERIES;
    c->max_body = PROBE_PROMETHEUS_DEFAULT_MAX_BODY;
    return 0;
}

static void prom_target(const struct conf_check *cc, char *buf, size_t n)
{
    const struct probe_prometheus_conf *c = cc->settings;
    const char *url = c && c->url ? c->url : "";
    /* scheme://host/path without the userinfo, the query or the fragment
     * (either may hold a token) */
    const char *scheme_end = strstr(url, "://"), *host = scheme_end ? scheme_end + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    size_t tail = strcspn(host, "?#");
    const char *rest = host[tail] ? "?***" : "";
    if (at && (!slash || at < slash) && at < host + tail)
        snprintf(buf, n, "%.*s***@%.*s%s", (int)(host - url), url, (int)(host + tail - at - 1), at + 1, rest);
    else
        snprintf(buf, n, "%.*s%s", (int)(host + tail - url), url, rest);
}

static const struct conf_check_value prom_values[] = {
    {"scrape_duration_seconds", "The download of the metrics page", "scrape_duration_seconds", NULL, NULL},
    {"scrape_body_bytes", "Bytes of the page (after gzip)", "opshub_scrape_body_bytes", NULL, NULL},
    {"scrape_samples_scraped", "Series on the page", "scrape_samples_scraped", NULL, NULL},
    {"scrape_samples_matched", "Series match selected (all without a match)", "opshub_scrape_samples_matched",
     NULL, NULL},
    {"scrape_samples_dropped", "Selected series past max_series, dropped", "opshub_scrape_samples_dropped", NULL,
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_prometheus_type = {
    .name = "prometheus",
    .summary = "Scrapes an application's /metrics and hands the series it selects to the rules",
    .settings_size = sizeof(struct probe_prometheus_conf),
    .fields = prom_fields,
    .init = prom_init,
    .target = prom_target,
    .values = prom_values,
    .start = prom_start,
    .cancel = prom_cancel,
};
