/*
 * http/metrics: GET /metrics in Prometheus text format 0.0.4: per-check
 * series with blackbox_exporter names, then opshub's own counters and the
 * standard process_* metrics. Reads module stats; owns nothing.
 */
#include "http/api_int.h"

#include "base/proc.h"
#include "base/version.h"

#include <string.h>

#define METRICS_MAX_BYTES (512u * 1024 * 1024)

#define CHECK_LABELS(cc) \
    {"check", (cc)->id, "project", (cc)->project ? (cc)->project : "", "type", conf_check_type_name((cc)->type), NULL}

static int write_checks(struct base_buf *b, struct sched *s)
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
    rc |= base_metrics_header(b, "probe_http_status_code", "gauge", "HTTP status of the last probe (0 without response)");
    for (size_t i = 0; i < n && !rc; i++) {
        const struct sched_check *c = sched_check_at(s, i);
        if (!c->has_last || c->conf->type != CONF_CHECK_HTTP)
            continue;
        const char *labels[] = CHECK_LABELS(c->conf);
        rc |= base_metrics_sample(b, "probe_http_status_code", labels, c->last.code);
    }
    rc |= base_metrics_header(b, "opshub_check_status", "gauge", "0 up, 1 degraded, 2 down, 3 unknown, 4 paused");
    for (size_t i = 0; i < n && !rc; i++) {
        const struct sched_check *c = sched_check_at(s, i);
        const char *labels[] = CHECK_LABELS(c->conf);
        rc |= base_metrics_sample(b, "opshub_check_status", labels, c->state.status);
    }
    return rc;
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

    rc |= base_metrics_header(b, "opshub_probes_total", "counter", "Completed probe runs");
    static const char *types[] = {"http", "tcp"};
    for (int t = 0; t < 2; t++)
        for (int r = 0; r < 3; r++) {
            const char *labels[] = {"type", types[t], "result", sample_result_name((enum sample_result)r), NULL};
            rc |= base_metrics_sample(b, "opshub_probes_total", labels, (double)ss->probes[t][r]);
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
        rc |= write_auth_freshness(b, &as);
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
    int rc = write_checks(&b, api->deps.sched);
    if (!rc)
        rc = write_own(&b, api);
    if (rc)
        api_send_error(api, req, 500, "internal", "metrics output too large or out of memory", NULL);
    else
        api_send(api, req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len);
    base_buf_free(&b);
}
