/*
 * http/metrics: GET /metrics in Prometheus text format 0.0.4: per-check
 * series with blackbox_exporter names (probe_success, probe_duration_seconds
 * and the metrics each check type declares for its values), then opshub's
 * own counters and the standard process_* metrics. Reads module stats and
 * owns only the per-type sample counters it keeps from the event bus and
 * the scrapes in progress. A scrape at 100,000 checks is ~35 MB of text:
 * it is formatted in slices across loop turns into a chain of pieces and
 * handed to the server without a copy, so the loop never stalls for long.
 */
#include "http/api_int.h"
#include "http/events.h"
#include "rules/rules.h"
#include "export/remote_write.h"
#include "incidents/incidents.h"
#include "notify/notify.h"
#include "store/alerts.h"
#include "series/series.h"

#include "base/alloc.h"
#include "base/chain.h"
#include "base/proc.h"
#include "base/version.h"

#include <string.h>

#define METRICS_MAX_BYTES (512u * 1024 * 1024)
#define METRICS_PIECE (256u * 1024)          /* chain piece: appends never move more */
#define METRICS_LINE_MAX (64u * 1024)         /* one check's lines, before they join the chain */
#define METRICS_SLICE_NS (4u * 1000000u)      /* formatting per loop turn: the loop never stalls long */
#define METRICS_JOBS_MAX 4                    /* scrapes in progress at once; more get 503 */

/* Label sets: check, project, type, and one optional extra pair. */
#define CHECK_LABELS(cc) \
    {"check", (cc)->id, "project", (cc)->project ? (cc)->project : "", "type", (cc)->type->name, NULL, NULL, NULL}

/* The metric families the check types declare (probe_http_status_code,
 * probe_http_duration_seconds, ...), each collecting its lines in its own
 * chain during one pass over the checks; the chains are then spliced in
 * turn, so a family's lines stay together as the text format requires. */
#define FAMILIES_MAX 64

struct family {
    const char *metric, *help;
    struct base_chain lines;
};

struct families {
    struct family f[FAMILIES_MAX];
    size_t n;
    struct base_chain other;   /* opshub_check_value: values no type declares */
};

static int families_init(struct families *fs, const struct conf_check_types *types)
{
    fs->n = 0;
    base_chain_init(&fs->other, METRICS_PIECE, METRICS_MAX_BYTES);
    for (size_t t = 0; types && t < types->n; t++) {
        for (const struct conf_check_value *v = types->items[t]->values; v && v->name; v++) {
            size_t i = 0;
            while (i < fs->n && strcmp(fs->f[i].metric, v->metric) != 0)
                i++;
            if (i < fs->n)
                continue;
            if (fs->n == FAMILIES_MAX)
                return BASE_ERR_TOO_BIG;
            fs->f[fs->n].metric = v->metric;
            fs->f[fs->n].help = v->help;
            base_chain_init(&fs->f[fs->n].lines, METRICS_PIECE, METRICS_MAX_BYTES);
            fs->n++;
        }
    }
    return 0;
}

static void families_free(struct families *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        base_chain_free(&fs->f[i].lines);
    base_chain_free(&fs->other);
    fs->n = 0;
}

static struct family *family_of(struct families *fs, const char *metric)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].metric, metric) == 0)
            return &fs->f[i];
    return NULL;
}

/* The declared value of c's type named `name`, or NULL. */
static const struct conf_check_value *declared(const struct conf_check *c, const char *name)
{
    for (const struct conf_check_value *v = c->type->values; v && v->name; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

/* Formats into the scratch line buffer, then appends it to a chain. */
static int chain_line(struct base_buf *scratch, struct base_chain *to, const char *name, const char *const *labels,
                      double v)
{
    base_buf_reset(scratch);
    int rc = base_metrics_sample(scratch, name, labels, v);
    return rc ? rc : base_chain_append(to, scratch->data, scratch->len);
}

static int chain_header(struct base_buf *scratch, struct base_chain *to, const char *name, const char *type,
                        const char *help)
{
    base_buf_reset(scratch);
    int rc = base_metrics_header(scratch, name, type, help);
    return rc ? rc : base_chain_append(to, scratch->data, scratch->len);
}

static int write_values(struct families *fs, struct base_buf *scratch, const struct sched_check *c)
{
    int rc = 0;
    const struct sample *smp = &c->last;
    for (uint32_t i = 0; i < smp->n_values && i < SAMPLE_VALUES_MAX && !rc; i++) {
        const struct sample_value *sv = &smp->values[i];
        const char *name = sample_value_name(sv);
        const struct conf_check_value *v = declared(c->conf, name);
        struct family *f = v ? family_of(fs, v->metric) : NULL;
        const char *labels[] = CHECK_LABELS(c->conf);
        if (f) {
            labels[6] = v->label_name;
            labels[7] = v->label_value;
            rc = chain_line(scratch, &f->lines, v->metric, labels, sv->value);
        } else {
            labels[6] = "name";
            labels[7] = name;
            rc = chain_line(scratch, &fs->other, "opshub_check_value", labels, sv->value);
        }
    }
    return rc;
}

/* ---- the per-check series, a slice per loop turn ----
 * Formatting 100,000 checks takes over a second: done at once it would
 * stall every other request and probe for that long. A scrape is a job
 * that formats checks for at most METRICS_SLICE_NS, then yields to the
 * loop and goes on where it stopped (an idle handle: it runs once per loop
 * turn, after the turn's I/O; a 0 ms timer would not yield, libuv runs a
 * timer re-armed for "now" in the same pass). Checks are re-read by index
 * every turn, so a reload in between only means the scrape sees the checks
 * as they are when each line is written. */

enum phase { P_SUCCESS, P_DURATION, P_VALUES, P_STATUS, P_DONE };

struct metrics_job {
    struct http_api *api;
    struct http_request *req;
    uv_idle_t idle;
    struct base_chain out;
    struct base_buf scratch;   /* one check's lines */
    struct families fs;
    enum phase phase;
    size_t next;               /* check index within the phase */
    int rc;
};

/* One check's line(s) of the current phase. */
static int write_check(struct metrics_job *j, const struct sched_check *c)
{
    const char *labels[] = CHECK_LABELS(c->conf);
    switch (j->phase) {
    case P_SUCCESS:
        return c->has_last ? chain_line(&j->scratch, &j->out, "probe_success", labels, c->last.result != SAMPLE_DOWN)
                           : 0;
    case P_DURATION:
        return c->has_last ? chain_line(&j->scratch, &j->out, "probe_duration_seconds", labels,
                                        c->last.latency_ms / 1000.0) : 0;
    case P_VALUES:
        return c->has_last ? write_values(&j->fs, &j->scratch, c) : 0;
    case P_STATUS:
        return chain_line(&j->scratch, &j->out, "opshub_check_status", labels, c->state.status);
    case P_DONE:
        break;
    }
    return 0;
}

/* What ends a phase and starts the next: headers, and after the values
 * every family's chain spliced in (no bytes copied). */
static int next_phase(struct metrics_job *j)
{
    int rc = 0;
    if (j->phase == P_VALUES) {
        for (size_t i = 0; i < j->fs.n && !rc; i++) {
            if (!j->fs.f[i].lines.total)
                continue;
            rc = chain_header(&j->scratch, &j->out, j->fs.f[i].metric, "gauge", j->fs.f[i].help);
            if (!rc)
                rc = base_chain_splice(&j->out, &j->fs.f[i].lines);
        }
        if (!rc && j->fs.other.total) {
            rc = chain_header(&j->scratch, &j->out, "opshub_check_value", "gauge",
                              "Values of the last sample that no check type declares");
            if (!rc)
                rc = base_chain_splice(&j->out, &j->fs.other);
        }
        families_free(&j->fs);
    }
    j->phase++;
    j->next = 0;
    if (j->phase == P_DURATION)
        rc |= chain_header(&j->scratch, &j->out, "probe_duration_seconds", "gauge", "Duration of the last probe");
    else if (j->phase == P_VALUES)
        rc |= families_init(&j->fs, j->api->deps.types);
    else if (j->phase == P_STATUS)
        rc |= chain_header(&j->scratch, &j->out, "opshub_check_status", "gauge",
                           "0 up, 1 degraded, 2 down, 3 unknown, 4 paused");
    return rc;
}

/* The sent page: the chain and its iovec, freed when the server is done. */
struct page {
    struct base_chain chain;
    struct http_body_parts body;
    uv_buf_t bufs[];
};

static void page_release(void *data)
{
    struct page *p = data;
    base_chain_free(&p->chain);
    base_free(p);
}

static void job_closed(uv_handle_t *h)
{
    struct metrics_job *j = h->data;
    j->api->metrics_jobs--;
    base_chain_free(&j->out);
    base_buf_free(&j->scratch);
    base_free(j);
}

static int write_own(struct base_buf *b, struct http_api *api);

/* Sends the answer (the chain moves to the page) and frees the job once
 * its handle is closed. */
static void job_finish(struct metrics_job *j)
{
    struct http_api *api = j->api;
    struct page *p = NULL;
    if (!j->rc && !api->closing) {
        struct base_buf own;
        base_buf_init(&own, METRICS_MAX_BYTES);
        j->rc = write_own(&own, api);
        if (!j->rc)
            j->rc = base_chain_append(&j->out, own.data, own.len);
        base_buf_free(&own);
        if (!j->rc && !(p = base_malloc(sizeof(*p) + (j->out.n ? j->out.n : 1) * sizeof(uv_buf_t))))
            j->rc = BASE_ERR_NOMEM;
    }
    if (api->closing) {
        api_send_error(api, j->req, 503, "unavailable", "opshub is stopping", NULL);
    } else if (j->rc) {
        api_send_error(api, j->req, 500, "internal", "metrics output too large or out of memory", NULL);
    } else {
        p->chain = j->out;
        base_chain_init(&j->out, METRICS_PIECE, METRICS_MAX_BYTES);
        for (size_t i = 0; i < p->chain.n; i++)
            p->bufs[i] = uv_buf_init(p->chain.pieces[i].data, (unsigned)p->chain.pieces[i].len);
        p->body = (struct http_body_parts){p->bufs, (unsigned)p->chain.n, p->chain.total, page_release, p};
        api_send_parts(api, j->req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, &p->body);
    }
    http_request_unref(j->req);
    if (j->phase == P_VALUES)
        families_free(&j->fs);
    uv_close((uv_handle_t *)&j->idle, job_closed);
}

static void on_slice(uv_idle_t *t)
{
    struct metrics_job *j = t->data;
    struct http_api *api = j->api;
    uint64_t t0 = uv_hrtime();
    while (j->phase < P_DONE && !j->rc && !api->closing) {
        size_t n = sched_count(api->deps.sched);
        if (j->next >= n) {
            j->rc = next_phase(j);
            continue;
        }
        j->rc = write_check(j, sched_check_at(api->deps.sched, j->next++));
        if ((j->next & 127) == 0 && uv_hrtime() - t0 > METRICS_SLICE_NS) {
            api->metrics_slices++;
            uv_idle_start(&j->idle, on_slice);
            return;
        }
    }
    uv_idle_stop(&j->idle);
    job_finish(j);
}

/* ---- counters fed by the event bus ---- */

static void on_event(void *data, const struct event *ev)
{
    struct http_api *api = data;
    int t = conf_check_types_index(api->deps.types, ev->u.check.check->type);
    unsigned r = (unsigned)ev->u.check.sample->result;
    if (t >= 0 && r <= SAMPLE_DOWN)
        api->probes_by_type[t][r]++;
}

int api_metrics_start(struct http_api *api)
{
    size_t n = api->deps.types ? api->deps.types->n : 0;
    api->probes_by_type = base_calloc(n ? n : 1, sizeof(*api->probes_by_type));
    if (!api->probes_by_type)
        return BASE_ERR_NOMEM;
    return api->deps.bus ? event_subscribe(api->deps.bus, "metrics", EVENT_MASK(EVENT_SAMPLE), on_event, api) : 0;
}

void api_metrics_stop(struct http_api *api)
{
    if (api->deps.bus)
        event_unsubscribe(api->deps.bus, on_event, api);
    base_free(api->probes_by_type);
    api->probes_by_type = NULL;
}

static int write_one(struct base_buf *b, const char *name, const char *type, const char *help, double v)
{
    int rc = base_metrics_header(b, name, type, help);
    return rc ? rc : base_metrics_sample(b, name, NULL, v);
}

/* How requests were decided on a current identity mirror (auth/service):
 * the reads that made it current, and the lookups of API tokens it did not
 * hold, which auth/miss bounds. */
static int write_auth_freshness(struct base_buf *b, const struct auth_stats *as)
{
    int rc = base_metrics_header(b, "opshub_auth_token_lookups_total", "counter",
                                 "Store lookups of API tokens the mirror did not hold, by result");
    const char *res[] = {"hit", "miss", "error"};
    const uint64_t vals[] = {as->lookup_hits, as->lookup_misses, as->lookup_errors};
    for (int i = 0; i < 3; i++) {
        const char *labels[] = {"result", res[i], NULL};
        rc |= base_metrics_sample(b, "opshub_auth_token_lookups_total", labels, (double)vals[i]);
    }
    rc |= write_one(b, "opshub_auth_token_lookups_refused_total", "counter",
                    "Unknown API tokens not looked up (too many at once or the budget spent)",
                    (double)as->lookup_refused);
    rc |= write_one(b, "opshub_auth_token_negative_hits_total", "counter",
                    "Requests refused from the cache of recently unknown API tokens", (double)as->negative_hits);
    rc |= base_metrics_header(b, "opshub_auth_fresh_reads_total", "counter",
                              "Reads of meta.auth_gen deciding requests (and the 1 s poll), by result");
    const char *ok[] = {"result", "ok", NULL}, *bad[] = {"result", "error", NULL};
    rc |= base_metrics_sample(b, "opshub_auth_fresh_reads_total", ok, (double)as->fresh_reads);
    rc |= base_metrics_sample(b, "opshub_auth_fresh_reads_total", bad, (double)as->fresh_errors);
    rc |= write_one(b, "opshub_auth_fresh_waits_total", "counter",
                    "Requests that waited for a read of meta.auth_gen", (double)as->fresh_waits);
    rc |= write_one(b, "opshub_auth_stale_decisions_total", "counter",
                    "Requests decided on the mirror as last loaded (the read failed or was late)",
                    (double)as->stale_decisions);
    return rc;
}

/* The series store of the rules and the query API (series/series.h). */
static int write_series(struct base_buf *b, const struct series_db *db)
{
    struct series_stats st;
    series_db_stats(db, &st);
    int rc = write_one(b, "opshub_series", "gauge", "Series held in memory", (double)st.series);
    rc |= write_one(b, "opshub_series_samples", "gauge", "Samples held in memory", (double)st.samples);
    rc |= write_one(b, "opshub_series_memory_bytes", "gauge",
                    "Bytes the series store holds (chunks, labels, index), as series.max_memory counts them",
                    (double)st.memory);
    rc |= write_one(b, "opshub_series_appended_total", "counter", "Samples appended", (double)st.appended);
    rc |= base_metrics_header(b, "opshub_series_refused_total", "counter",
                              "Samples not appended, by reason (limit: series.max_series or series.max_memory)");
    const struct {
        const char *reason;
        uint64_t n;
    } refused[] = {{"duplicate", st.duplicates}, {"out_of_order", st.out_of_order}, {"too_old", st.too_old},
                   {"limit", st.refused_limit}};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *labels[] = {"reason", refused[i].reason, NULL};
        rc |= base_metrics_sample(b, "opshub_series_refused_total", labels, (double)refused[i].n);
    }
    return rc;
}

static int write_rules(struct base_buf *b, const struct rules_engine *e)
{
    struct rules_stats st;
    rules_stats_get(e, &st);
    int rc = write_one(b, "opshub_rule_groups", "gauge", "Rule groups loaded", (double)st.groups);
    rc |= write_one(b, "opshub_rules", "gauge", "Alert and recording rules loaded", (double)st.rules);
    rc |= write_one(b, "opshub_rule_evaluations_total", "counter", "Rule evaluations", (double)st.evaluations);
    rc |= write_one(b, "opshub_rule_evaluation_failures_total", "counter", "Rule evaluations that failed",
                    (double)st.failures);
    rc |= write_one(b, "opshub_alerts_restored_total", "counter",
                    "Alerts carried on from before the last start", (double)st.restored);
    rc |= base_metrics_header(b, "opshub_alerts", "gauge", "Active alerts, by state");
    const char *pending[] = {"state", "pending", NULL}, *firing[] = {"state", "firing", NULL};
    rc |= base_metrics_sample(b, "opshub_alerts", pending, (double)st.alerts_pending);
    rc |= base_metrics_sample(b, "opshub_alerts", firing, (double)st.alerts_firing);
    return rc;
}

/* remote_write, per remote (export/remote_write.h). */
static int write_remote_write(struct base_buf *b, const struct remote_write_set *s)
{
    struct remote_write_stats st[16];
    size_t n = remote_write_stats(s, st, 16);
    if (n > 16)
        n = 16;
    if (!n)
        return 0;
    int rc = 0;
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"opshub_remote_write_samples_total", "counter", "Samples the remote accepted"},
        {"opshub_remote_write_samples_failed_total", "counter", "Samples in batches the remote refused (not retried)"},
        {"opshub_remote_write_samples_dropped_total", "counter",
         "Samples dropped before sending: queue_full, or too_old (older than the series window)"},
        {"opshub_remote_write_retries_total", "counter", "Requests retried after a network error, 429 or 5xx"},
        {"opshub_remote_write_requests_total", "counter", "Requests sent, retries included"},
        {"opshub_remote_write_sent_bytes_total", "counter", "Compressed bytes of the accepted batches"},
        {"opshub_remote_write_queue_samples", "gauge", "Samples waiting, the batch in flight included"},
        {"opshub_remote_write_last_send_duration_seconds", "gauge", "Duration of the last request"},
        {"opshub_remote_write_last_success_timestamp_seconds", "gauge", "When a batch was last accepted (0: never)"},
    };
    for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
        rc |= base_metrics_header(b, m[k].name, m[k].type, m[k].help);
        for (size_t i = 0; i < n; i++) {
            const char *l[] = {"remote", st[i].name, NULL, NULL, NULL};
            double v[] = {(double)st[i].sent, (double)st[i].failed, 0, (double)st[i].retries,
                          (double)st[i].requests, (double)st[i].bytes, (double)st[i].queued, st[i].last_send_s,
                          (double)st[i].last_success_ms / 1000};
            if (k == 2) {
                const char *full[] = {"remote", st[i].name, "reason", "queue_full", NULL};
                const char *old[] = {"remote", st[i].name, "reason", "too_old", NULL};
                rc |= base_metrics_sample(b, m[k].name, full, (double)st[i].dropped_full);
                rc |= base_metrics_sample(b, m[k].name, old, (double)st[i].dropped_old);
            } else {
                rc |= base_metrics_sample(b, m[k].name, l, v[k]);
            }
        }
    }
    return rc;
}

static int write_own(struct base_buf *b, struct http_api *api)
{
    int rc = 0;
    const struct sched_stats *ss = sched_stats_get(api->deps.sched);
    struct store_stats st;
    struct probe_stats ps;
    store_stats_get(api->deps.store, &st);
    probe_stats_get(api->deps.probes, &ps);
    const struct http_api_app_stats *app = api->deps.app;

    rc |= base_metrics_header(b, "opshub_build_info", "gauge", "Version of this opshub");
    const char *build[] = {"version", base_version(), "commit", base_version_commit(), NULL};
    rc |= base_metrics_sample(b, "opshub_build_info", build, 1);
    rc |= write_one(b, "opshub_checks_configured", "gauge", "Checks in the configuration", (double)sched_count(api->deps.sched));
    if (api->deps.series)
        rc |= write_series(b, api->deps.series);
    if (api->deps.rules)
        rc |= write_rules(b, api->deps.rules);
    if (api->deps.remote_write)
        rc |= write_remote_write(b, api->deps.remote_write);
    if (api->deps.notify)
        rc |= notify_metrics(api->deps.notify, b);
    if (api->deps.incidents)
        incidents_metrics(api->deps.incidents, b);
    if (api->deps.alert_log) {
        struct store_alerts_stats as;
        store_alerts_stats_get(api->deps.alert_log, &as);
        rc |= write_one(b, "opshub_alert_transitions_written_total", "counter",
                        "Alert transitions written to the store", (double)as.written);
        rc |= write_one(b, "opshub_alert_transitions_dropped_total", "counter",
                        "Alert transitions dropped (queue full while the store was away)", (double)as.dropped);
        rc |= write_one(b, "opshub_alert_transitions_queued", "gauge", "Alert transitions waiting to be written",
                        (double)as.queued);
    }

    rc |= base_metrics_header(b, "opshub_probes_total", "counter", "Samples recorded, by check type and result");
    for (size_t t = 0; api->deps.types && t < api->deps.types->n; t++)
        for (int r = 0; r < 3; r++) {
            const char *labels[] = {"type", api->deps.types->items[t]->name, "result",
                                    sample_result_name((enum sample_result)r), NULL};
            rc |= base_metrics_sample(b, "opshub_probes_total", labels, (double)api->probes_by_type[t][r]);
        }
    if (api->deps.bus) {
        rc |= base_metrics_header(b, "opshub_events_published_total", "counter", "Events published on the internal bus, by kind");
        for (int k = 0; k < EVENT_KIND_COUNT; k++) {
            const char *labels[] = {"kind", event_kind_name((enum event_kind)k), NULL};
            rc |= base_metrics_sample(b, "opshub_events_published_total", labels, (double)api->deps.bus->published[k]);
        }
    }
    uint32_t names_known;
    uint64_t names_refused;
    sample_names_stats(&names_known, &names_refused);
    rc |= write_one(b, "opshub_sample_value_names", "gauge", "Distinct names of sample values this process knows",
                    (double)names_known);
    rc |= write_one(b, "opshub_sample_values_refused_total", "counter",
                    "Sample values dropped because the process already knew the most names it keeps",
                    (double)names_refused);
    rc |= write_one(b, "opshub_probes_in_flight", "gauge", "Probe runs in flight", (double)ps.in_flight);
    rc |= base_metrics_header(b, "opshub_probe_start_lateness_seconds", "histogram", "Delay between a run's due time and its start");
    rc |= base_metrics_histogram(b, "opshub_probe_start_lateness_seconds", NULL, &ss->lateness);
    rc |= write_one(b, "opshub_probes_skipped_total", "counter", "Runs skipped because the previous one was still in flight", (double)ss->skipped);
    rc |= write_one(b, "opshub_check_status_changes_total", "counter", "Check status transitions", (double)ss->status_changes);

    rc |= write_one(b, "opshub_store_connected", "gauge", "1 when the database is reachable", st.connected);
    rc |= write_one(b, "opshub_store_samples_written_total", "counter", "Samples committed to the database", (double)st.samples_written);
    rc |= write_one(b, "opshub_store_samples_dropped_total", "counter", "Samples dropped because the buffer was full", (double)st.samples_dropped);
    rc |= write_one(b, "opshub_store_buffered_samples", "gauge", "Samples waiting to be written", (double)st.buffered);
    rc |= write_one(b, "opshub_store_write_errors_total", "counter", "Failed batch writes", (double)st.write_errors);
    rc |= write_one(b, "opshub_store_batch_duration_seconds", "gauge", "Duration of the last batch write", st.last_write_ms / 1000.0);

    rc |= base_metrics_header(b, "opshub_http_requests_total", "counter", "HTTP requests served by status code");
    for (int code = 100; code < 600; code++) {
        if (!api->requests_by_code[code])
            continue;
        char cs[8];
        snprintf(cs, sizeof(cs), "%d", code);
        const char *labels[] = {"code", cs, NULL};
        rc |= base_metrics_sample(b, "opshub_http_requests_total", labels, (double)api->requests_by_code[code]);
    }
    rc |= base_metrics_header(b, "opshub_http_request_duration_seconds", "histogram", "HTTP request durations");
    rc |= base_metrics_histogram(b, "opshub_http_request_duration_seconds", NULL, &api->duration);
    if (api->deps.server) {
        struct http_server_stats hs;
        http_server_stats_get(api->deps.server, &hs);
        rc |= write_one(b, "opshub_http_connections_open", "gauge", "Open HTTP connections", (double)hs.connections_open);
        rc |= base_metrics_header(b, "opshub_http_connections", "gauge", "Open HTTP connections by state");
        for (int k = 0; k < HTTP_CONN_STATE_MAX; k++) {
            const char *labels[] = {"state", http_conn_state_name((enum http_conn_state_kind)k), NULL};
            rc |= base_metrics_sample(b, "opshub_http_connections", labels, (double)hs.connections[k]);
        }
        rc |= write_one(b, "opshub_http_connections_max", "gauge",
                        "Connection cap in force (sized from the open-file limit)", (double)hs.max_connections);
        rc |= write_one(b, "opshub_http_connections_accepted_total", "counter", "HTTP connections accepted",
                        (double)hs.connections_accepted);
        rc |= write_one(b, "opshub_http_connections_rejected_total", "counter",
                        "HTTP connections closed at accept because the cap was reached", (double)hs.connections_rejected);
        rc |= base_metrics_header(b, "opshub_http_rejected_total", "counter",
                                  "Requests and connections the server refused before any handler, by reason");
        for (int r = 0; r < HTTP_REJECT_MAX; r++) {
            const char *labels[] = {"reason", http_reject_name((enum http_reject)r), NULL};
            rc |= base_metrics_sample(b, "opshub_http_rejected_total", labels, (double)hs.rejected[r]);
        }
        rc |= write_one(b, "opshub_http_output_buffered_bytes", "gauge",
                        "Response bytes copied and waiting for slow clients' sockets", (double)hs.output_bytes);
        rc |= write_one(b, "opshub_http_output_budget_bytes", "gauge",
                        "Limit of those bytes across all connections", (double)hs.output_budget);
        rc |= write_one(b, "opshub_http_tls_handshake_errors_total", "counter", "Failed TLS handshakes on the listener",
                        (double)hs.tls_handshake_errors);
    }
    if (api->events) {
        struct http_events_stats es;
        http_events_stats_get(api->events, &es);
        rc |= write_one(b, "opshub_events_streams", "gauge", "Open live event streams (GET /api/v1/events)",
                        (double)es.streams);
        rc |= write_one(b, "opshub_events_total", "counter", "Events formatted for the live streams", (double)es.events);
        rc |= write_one(b, "opshub_events_stream_writes_total", "counter",
                        "Writes to live streams (each carries one or more events)", (double)es.writes);
        rc |= write_one(b, "opshub_events_streams_dropped_total", "counter",
                        "Live streams closed because the client fell behind", (double)es.dropped);
        rc |= write_one(b, "opshub_events_streams_refused_total", "counter",
                        "Live streams refused because the cap was reached", (double)es.refused);
        rc |= write_one(b, "opshub_events_resets_total", "counter",
                        "Reset events sent to clients whose resume point was no longer held", (double)es.resets);
    }
    rc |= base_metrics_header(b, "opshub_config_reloads_total", "counter", "Configuration reloads by result");
    const char *ok[] = {"result", "success", NULL}, *bad[] = {"result", "failure", NULL};
    rc |= base_metrics_sample(b, "opshub_config_reloads_total", ok, (double)app->reloads_ok);
    rc |= base_metrics_sample(b, "opshub_config_reloads_total", bad, (double)app->reloads_failed);
    rc |= write_one(b, "opshub_loop_lag_seconds", "gauge", "Event loop lag measured by a periodic timer", app->loop_lag_ms / 1000.0);
    rc |= write_one(b, "opshub_metrics_slices_total", "counter",
                    "Times a /metrics scrape yielded the loop before it was done", (double)api->metrics_slices);

    if (api->deps.auth) {
        struct auth_stats as;
        auth_stats_get(api->deps.auth, &as);
        rc |= base_metrics_header(b, "opshub_auth_attempts_total", "counter",
                                  "Password logins by result (locked: refused while an account or address is locked out)");
        const char *res[] = {"success", "failure", "locked", "invalid"};
        const double vals[] = {(double)as.attempts_success, (double)as.attempts_failure,
                               (double)as.attempts_locked, (double)as.attempts_invalid};
        for (int i = 0; i < 4; i++) {
            const char *labels[] = {"result", res[i], NULL};
            rc |= base_metrics_sample(b, "opshub_auth_attempts_total", labels, vals[i]);
        }
        rc |= base_metrics_header(b, "opshub_auth_api_token_requests_total", "counter", "Requests carrying an API token, by result");
        const char *tok_ok[] = {"result", "ok", NULL}, *tok_bad[] = {"result", "rejected", NULL};
        rc |= base_metrics_sample(b, "opshub_auth_api_token_requests_total", tok_ok, (double)as.token_auth_ok);
        rc |= base_metrics_sample(b, "opshub_auth_api_token_requests_total", tok_bad, (double)as.token_auth_fail);
        rc |= base_metrics_header(b, "opshub_http_denied_total", "counter", "API requests refused by the access layer, by status");
        const char *d401[] = {"code", "401", NULL}, *d403[] = {"code", "403", NULL}, *d429[] = {"code", "429", NULL};
        rc |= base_metrics_sample(b, "opshub_http_denied_total", d401, (double)api->denied_401);
        rc |= base_metrics_sample(b, "opshub_http_denied_total", d403, (double)api->denied_403);
        rc |= base_metrics_sample(b, "opshub_http_denied_total", d429, (double)api->limited_429);
        rc |= write_one(b, "opshub_auth_users", "gauge", "Users known to the daemon", (double)as.users);
        rc |= write_one(b, "opshub_auth_api_tokens", "gauge", "Active API tokens", (double)as.tokens);
        rc |= write_one(b, "opshub_auth_sessions", "gauge", "Active login sessions", (double)as.sessions);
        rc |= write_one(b, "opshub_audit_entries_written_total", "counter", "Audit log entries written", (double)as.audit_written);
        rc |= write_one(b, "opshub_audit_write_errors_total", "counter", "Audit log entries that could not be written", (double)as.audit_errors);
        rc |= write_auth_freshness(b, &as);
        rc |= base_metrics_header(b, "opshub_self_alert", "gauge", "1 while one of opshub's own alerts is firing");
        const char *burst[] = {"alert", "AuthFailureBurst", NULL};
        rc |= base_metrics_sample(b, "opshub_self_alert", burst, as.failure_burst);
    }

    rc |= write_one(b, "process_cpu_seconds_total", "counter", "User and system CPU time", base_proc_cpu_seconds());
    rc |= write_one(b, "process_resident_memory_bytes", "gauge", "Resident memory", (double)base_proc_rss_bytes());
    rc |= write_one(b, "process_start_time_seconds", "gauge", "Start time since the epoch", (double)app->start_ms / 1000.0);
    rc |= write_one(b, "process_open_fds", "gauge", "Open file descriptors", base_proc_open_fds());
    rc |= write_one(b, "process_max_fds", "gauge", "Maximum number of open file descriptors", (double)base_proc_fd_limit());
    return rc;
}

void api_metrics_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    if (!api_metrics_allow(api, req))
        return;
    if (api->metrics_jobs >= METRICS_JOBS_MAX) {
        /* Each scrape holds its text (~8 MB at 100,000 checks) until sent. */
        static const char busy[] = "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many scrapes at once\"}}";
        api_send(api, req, 503, "application/json", "Retry-After: 1\r\n", busy, sizeof(busy) - 1);
        return;
    }
    struct metrics_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
        return;
    }
    j->api = api;
    j->req = req;
    http_request_ref(req);
    base_chain_init(&j->out, METRICS_PIECE, METRICS_MAX_BYTES);
    base_buf_init(&j->scratch, METRICS_LINE_MAX);
    j->rc = chain_header(&j->scratch, &j->out, "probe_success", "gauge", "1 when the last probe was up or degraded");
    uv_idle_init(api->deps.loop, &j->idle);
    j->idle.data = j;
    api->metrics_jobs++;
    on_slice(&j->idle);
}
