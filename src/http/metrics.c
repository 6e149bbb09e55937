/*
 * http/metrics: GET /metrics in Prometheus text format 0.0.4: per-check
 * series with blackbox_exporter names (probe_success, probe_duration_seconds
 * and the metrics each check type declares for its values), then opshub's
 * own counters and the standard process_* metrics. Reads module stats and
 * owns only the per-type sample counters it keeps from the event bus.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/proc.h"
#include "base/version.h"

#include <string.h>

#define METRICS_MAX_BYTES (512u * 1024 * 1024)

/* Label sets: check, project, type, and one optional extra pair. */
#define CHECK_LABELS(cc) \
    {"check", (cc)->id, "project", (cc)->project ? (cc)->project : "", "type", (cc)->type->name, NULL, NULL, NULL}

/* The metric families the check types declare (probe_http_status_code,
 * probe_http_duration_seconds, ...), each with its lines collected in one
 * pass over the checks, so a family's lines stay together as the text
 * format requires. */
#define FAMILIES_MAX 64

struct family {
    const char *metric, *help;
    struct base_buf lines;
};

struct families {
    struct family f[FAMILIES_MAX];
    size_t n;
    struct base_buf other;   /* opshub_check_value: values no type declares */
};

static int families_init(struct families *fs, const struct conf_check_types *types)
{
    fs->n = 0;
    base_buf_init(&fs->other, METRICS_MAX_BYTES);
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
            base_buf_init(&fs->f[fs->n].lines, METRICS_MAX_BYTES);
            fs->n++;
        }
    }
    return 0;
}

static void families_free(struct families *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        base_buf_free(&fs->f[i].lines);
    base_buf_free(&fs->other);
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

static int write_values(struct families *fs, const struct sched_check *c)
{
    int rc = 0;
    const struct sample *smp = &c->last;
    for (uint32_t i = 0; i < smp->n_values && i < SAMPLE_VALUES_MAX && !rc; i++) {
        const struct sample_value *sv = &smp->values[i];
        const struct conf_check_value *v = declared(c->conf, sv->name);
        struct family *f = v ? family_of(fs, v->metric) : NULL;
        const char *labels[] = CHECK_LABELS(c->conf);
        if (f) {
            labels[6] = v->label_name;
            labels[7] = v->label_value;
            rc = base_metrics_sample(&f->lines, v->metric, labels, sv->value);
        } else {
            labels[6] = "name";
            labels[7] = sv->name;
            rc = base_metrics_sample(&fs->other, "opshub_check_value", labels, sv->value);
        }
    }
    return rc;
}

static int write_checks(struct base_buf *b, struct sched *s, const struct conf_check_types *types)
{
    int rc = 0;
    size_t n = sched_count(s);
    rc |= base_metrics_header(b, "probe_success", "gauge", "1 when the last probe was up or degraded");
    for (size_t i = 0; i < n && !rc; i++) {
        const struct sched_check *c = sched_check_at(s, i);
        if (!c->has_last)
            continue;
        const char *labels[] = CHECK_LABELS(c->conf);
        rc |= base_metrics_sample(b, "probe_success", labels, c->last.result != SAMPLE_DOWN);
    }
    rc |= base_metrics_header(b, "probe_duration_seconds", "gauge", "Duration of the last probe");
    for (size_t i = 0; i < n && !rc; i++) {
        const struct sched_check *c = sched_check_at(s, i);
        if (!c->has_last)
            continue;
        const char *labels[] = CHECK_LABELS(c->conf);
        rc |= base_metrics_sample(b, "probe_duration_seconds", labels, c->last.latency_ms / 1000.0);
    }
    struct families fs;
    rc |= families_init(&fs, types);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct sched_check *c = sched_check_at(s, i);
        if (c->has_last)
            rc |= write_values(&fs, c);
    }
    for (size_t i = 0; i < fs.n && !rc; i++) {
        rc |= base_metrics_header(b, fs.f[i].metric, "gauge", fs.f[i].help);
        rc |= base_buf_append(b, fs.f[i].lines.data ? fs.f[i].lines.data : "", fs.f[i].lines.len);
    }
    if (!rc && fs.other.len) {
        rc |= base_metrics_header(b, "opshub_check_value", "gauge", "Values of the last sample that no check type declares");
        rc |= base_buf_append(b, fs.other.data, fs.other.len);
    }
    families_free(&fs);
    rc |= base_metrics_header(b, "opshub_check_status", "gauge", "0 up, 1 degraded, 2 down, 3 unknown, 4 paused");
    for (size_t i = 0; i < n && !rc; i++) {
        const struct sched_check *c = sched_check_at(s, i);
        const char *labels[] = CHECK_LABELS(c->conf);
        rc |= base_metrics_sample(b, "opshub_check_status", labels, c->state.status);
    }
    return rc;
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
        rc |= write_one(b, "opshub_http_tls_handshake_errors_total", "counter", "Failed TLS handshakes on the listener",
                        (double)hs.tls_handshake_errors);
    }
    rc |= base_metrics_header(b, "opshub_config_reloads_total", "counter", "Configuration reloads by result");
    const char *ok[] = {"result", "success", NULL}, *bad[] = {"result", "failure", NULL};
    rc |= base_metrics_sample(b, "opshub_config_reloads_total", ok, (double)app->reloads_ok);
    rc |= base_metrics_sample(b, "opshub_config_reloads_total", bad, (double)app->reloads_failed);
    rc |= write_one(b, "opshub_loop_lag_seconds", "gauge", "Event loop lag measured by a periodic timer", app->loop_lag_ms / 1000.0);

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
        rc |= base_metrics_header(b, "opshub_self_alert", "gauge", "1 while one of opshub's own alerts is firing");
        const char *burst[] = {"alert", "AuthFailureBurst", NULL};
        rc |= base_metrics_sample(b, "opshub_self_alert", burst, as.failure_burst);
    }

    rc |= write_one(b, "process_cpu_seconds_total", "counter", "User and system CPU time", base_proc_cpu_seconds());
    rc |= write_one(b, "process_resident_memory_bytes", "gauge", "Resident memory", (double)base_proc_rss_bytes());
    rc |= write_one(b, "process_start_time_seconds", "gauge", "Start time since the epoch", (double)app->start_ms / 1000.0);
    rc |= write_one(b, "process_open_fds", "gauge", "Open file descriptors", base_proc_open_fds());
    return rc;
}

void api_metrics_get(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct base_buf b;
    base_buf_init(&b, METRICS_MAX_BYTES);
    int rc = write_checks(&b, api->deps.sched, api->deps.types);
    if (!rc)
        rc = write_own(&b, api);
    if (rc)
        api_send_error(api, req, 500, "internal", "metrics output too large or out of memory", NULL);
    else
        api_send(api, req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len);
    base_buf_free(&b);
}
