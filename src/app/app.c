/*
 * app/app: daemon lifecycle. Startup order: config, log, store, probes,
 * scheduler, HTTP. Shutdown runs the same chain backwards, each step
 * asynchronous: HTTP closes, then the scheduler (cancels runs), the probe
 * engine, and last the store, which flushes its buffer before closing.
 */
#include "app/app.h"

#include "app/env.h"
#include "app/fds.h"
#include "app/restore.h"
#include "auth/service.h"
#include "objects/confs.h"
#include "objects/service.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/proc.h"
#include "base/time.h"
#include "base/version.h"
#include "conf/conf.h"
#include "http/api.h"
#include "http/server.h"
#include "http/static.h"
#include "model/event.h"
#include "probe/probe.h"
#include "probe/registry.h"
#include "sched/sched.h"
#include "export/remote_write.h"
#include "incidents/incidents.h"
#include "notify/notify.h"
#include "oncall/oncall.h"
#include "store/alerts.h"
#include "store/overrides.h"
#include "store/pauses.h"
#include "rules/rules.h"
#include "series/ingest.h"
#include "series/series.h"
#include "store/store.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APP_DEFAULT_LISTEN "127.0.0.1:4000"
#define APP_LAG_INTERVAL_MS 500
#define APP_SERIES_GC_MS 30000     /* the series store's clock and its window's trim */
#define APP_RESTORE_DEADLINE_MS 10000 /* the rules wait at most this long for the stored history at start */
#define APP_RESTORE_HISTORY_MS (3600 * 1000LL) /* samples of the last hour (at most the series window) are read back */

struct app {
    uv_loop_t loop;
    const struct app_opts *opts;
    const char *config_path;       /* file being used, NULL for built-in defaults */
    char listen[256];
    char storage_url[1024];
    struct conf *conf;             /* the configuration file as loaded */
    struct objects_confs *confs;   /* conf + the API objects: what runs */
    struct objects_svc *objects;
    struct event_bus bus;          /* samples and status changes: store, metrics, status log */
    struct app_restore restore;    /* the last day's uptime, paged in from the store */
    struct store *store;
    struct probe_engine *probes;
    struct sched *sched;
    struct auth *auth;
    struct auth_sso *sso;          /* single sign-on; NULL when none is configured */
    struct series_db *series;      /* the rules' and the query API's series (in memory) */
    struct series_ingest *ingest;  /* samples and scrapes from the bus into series */
    struct rules_engine *rules;    /* alert and recording rules over the series */
    struct store_alerts *alert_log; /* alert transitions into the store */
    struct remote_write_set *remote_write; /* the series to the remotes of remote_write: */
    struct notify *notify;         /* alerts to people: routes, groups, the outbox (notify:) */
    struct oncall *oncall;         /* rotations and escalation policies, compiled */
    struct incidents *incidents;   /* incidents: opened from alerts and by hand */
    uv_timer_t series_timer;
    uv_timer_t restore_timer;      /* the deadline of the restore at start (rules held until then) */
    size_t restore_waiting;        /* store answers still to come for it */
    struct http_api *api;
    struct http_server *http;
    uv_signal_t sig_hup, sig_term, sig_int;
    uv_timer_t lag_timer;
    uv_check_t log_check;          /* flushes batched log lines once per loop turn */
    uint64_t lag_expected_ns;
    struct http_api_app_stats stats;
    struct app_env env;
    bool stopping;
    bool static_loading;           /* server.static_dir is being read on the thread pool */
    bool static_again;             /* a SIGHUP came meanwhile: read it again after */
    int exit_code;
    long fd_limit;                 /* RLIMIT_NOFILE in force (raised to the hard limit) */
    size_t http_max_conns;         /* the HTTP connection cap last applied */
};

char *app_storage_url(const char *conf_url, const char *data_dir, char *buf, size_t n)
{
    const char *env = getenv("DATABASE_URL");
    if (conf_url && *conf_url)
        snprintf(buf, n, "%s", conf_url);
    else if (env && *env)
        snprintf(buf, n, "%s", env);
    else
        snprintf(buf, n, "sqlite://%s/opshub.db", data_dir ? data_dir : "data");
    return buf;
}

static int load_conf(struct app *a, struct conf **out, struct base_errors *errs)
{
    if (!a->config_path) {
        /* The built-in config checks opshub's own /healthz on the real listen address. */
        char url[300];
        if (a->listen[0] == ':')
            snprintf(url, sizeof(url), "http://127.0.0.1%s/healthz", a->listen);
        else
            snprintf(url, sizeof(url), "http://%s/healthz", a->listen);
        *out = conf_new_default(probe_registry_types(), url);
        if (!*out && errs)
            base_errors_add(errs, "<default>", 0, 0, NULL, "cannot build the default configuration for listen address '%s'",
                            a->listen);
        return *out ? 0 : BASE_ERR_INVALID;
    }
    int rc = conf_load_file(probe_registry_types(), a->config_path, out, errs);
    if (rc == 0 && (rules_validate(*out, errs) | notify_validate(*out, errs) | incidents_validate(*out, errs)) != 0) {
        conf_destroy(*out);
        *out = NULL;
        rc = BASE_ERR_INVALID;
    }
    return rc;
}

/* ---- samples ---- */

/* The status log: one line per status change (an event subscriber). */
static void on_status(void *data, const struct event *ev)
{
    const struct event_check *e = &ev->u.check;
    enum sched_status now = (enum sched_status)e->status;
    BASE_LOG_(now == SCHED_STATUS_DOWN ? BASE_LOG_WARN : BASE_LOG_INFO, "check status changed",
              BASE_LOG_STR("check", e->check_id), BASE_LOG_STR("from", sched_status_name((enum sched_status)e->previous)),
              BASE_LOG_STR("to", sched_status_name(now)), BASE_LOG_STR("error", e->sample->error),
              BASE_LOG_INT("code", e->sample->code), BASE_LOG_NUM("latency_ms", e->sample->latency_ms));
}

/* Last stored sample of every check: the API shows the status from before a
 * restart until the first new run. */
static void on_latest(void *data, int status, const struct sample_record *recs, size_t n)
{
    struct app *a = data;
    if (status != 0) {
        base_log_warn("could not restore the last samples", BASE_LOG_STR("reason", base_strerror(status)));
        return;
    }
    if (a->sched && !a->stopping) {
        sched_restore(a->sched, recs, n);
        base_log_info("restored the last samples", BASE_LOG_INT("checks", (long long)n));
    }
}

/* ---- carrying the rules on across a restart ----
 * The rules wait (rules_hold) until the alerts pending or firing when
 * opshub stopped and the recent samples of every check are back from the
 * store, or APP_RESTORE_DEADLINE_MS has passed: an alert that was firing
 * keeps firing, with its activeAt, instead of starting its `for` again. */

static void restore_release(struct app *a, bool deadline)
{
    if (!a->rules || uv_is_active((uv_handle_t *)&a->restore_timer) == false)
        return;
    uv_timer_stop(&a->restore_timer);
    rules_hold(a->rules, false);
    if (deadline)
        base_log_warn("the rules start without the stored history", BASE_LOG_STR("reason", "the store did not answer"),
                      BASE_LOG_INT("waiting", (long long)a->restore_waiting));
}

static void on_restore_deadline(uv_timer_t *t)
{
    restore_release(t->data, true);
}

static void restore_done_one(struct app *a)
{
    if (a->restore_waiting && --a->restore_waiting == 0)
        restore_release(a, false);
}

static void on_alerts_active(void *data, int status, const struct store_alert_row *rows, size_t n)
{
    struct app *a = data;
    if (status != 0)
        base_log_warn("could not restore the active alerts", BASE_LOG_STR("reason", base_strerror(status)));
    struct rules_restored *items = status == 0 && n ? base_calloc(n, sizeof(*items)) : NULL;
    if (items && a->rules && !a->stopping) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            /* notify's own alerts are not the rules': notify takes them back (below) */
            if (strcmp(rows[i].group, NOTIFY_SELF_GROUP) == 0)
                continue;
            items[k++] = (struct rules_restored){
                .group = rows[i].group, .alertname = rows[i].alertname, .labels = rows[i].labels,
                .annotations = rows[i].annotations,
                .state = strcmp(rows[i].state, "firing") == 0    ? EVENT_ALERT_FIRING
                         : strcmp(rows[i].state, "pending") == 0 ? EVENT_ALERT_PENDING
                                                                 : EVENT_ALERT_INACTIVE,
                .value = strtod(rows[i].value, NULL), .active_at_ms = rows[i].active_at_ms, .at_ms = rows[i].at_ms,
            };
        }
        rules_restore(a->rules, items, k);
        /* firing alerts were announced before the stop: notify takes them as told */
        for (size_t i = 0; a->notify && i < n; i++)
            if (strcmp(rows[i].state, "firing") == 0)
                notify_seed(a->notify, rows[i].labels, rows[i].annotations, strtod(rows[i].value, NULL),
                            rows[i].active_at_ms, rows[i].at_ms);
    }
    base_free(items);
    restore_done_one(a);
}

struct history_ctx {
    struct app *a;
    char id[SAMPLE_CHECK_ID_MAX];
};

static void on_check_history(void *data, int status, const struct sample_record *recs, size_t n)
{
    struct history_ctx *ctx = data;
    struct app *a = ctx->a;
    if (status == 0 && n && !a->stopping && a->ingest) {
        const struct conf *run = objects_confs_run(a->confs);
        for (size_t i = 0; i < run->n_checks; i++)
            if (strcmp(run->checks[i].id, ctx->id) == 0) {
                series_ingest_backfill(a->ingest, &run->checks[i], recs, n);
                break;
            }
    }
    base_free(ctx);
    restore_done_one(a);
}

static void restore_rules_state(struct app *a)
{
    if (!a->rules)
        return;
    rules_hold(a->rules, true);
    uv_timer_start(&a->restore_timer, on_restore_deadline, APP_RESTORE_DEADLINE_MS, 0);
    a->restore_waiting = 1;
    if (store_alerts_active(a->store, on_alerts_active, a) != 0) {
        base_log_warn("could not queue the restore of the active alerts", BASE_LOG_STR("where", "store"));
        a->restore_waiting = 0;
    }
    int64_t now = base_time_now_ms();
    int64_t back = a->conf->series.window_ms < APP_RESTORE_HISTORY_MS ? a->conf->series.window_ms
                                                                     : APP_RESTORE_HISTORY_MS;
    const struct conf *run = objects_confs_run(a->confs);
    for (size_t i = 0; i < run->n_checks; i++) {
        struct history_ctx *ctx = base_calloc(1, sizeof(*ctx));
        if (!ctx)
            break;
        ctx->a = a;
        snprintf(ctx->id, sizeof(ctx->id), "%s", run->checks[i].id);
        struct store_query q = {.check_id = ctx->id, .from_ms = now - back, .to_ms = 0, .limit = 10000};
        if (store_samples_query(a->store, &q, on_check_history, ctx) != 0) {
            base_free(ctx);
            break;
        }
        a->restore_waiting++;
    }
    if (!a->restore_waiting)
        restore_release(a, false);
}

/* Pauses operators made before the restart (store/pauses). */
static void on_pauses(void *data, int status, const struct store_pause *items, size_t n)
{
    struct app *a = data;
    if (status != 0) {
        base_log_warn("could not restore paused checks", BASE_LOG_STR("reason", base_strerror(status)));
        return;
    }
    if (!a->sched || a->stopping)
        return;
    for (size_t i = 0; i < n; i++)
        if (sched_pause(a->sched, items[i].check_id, true, items[i].at_ms) == BASE_ERR_NOMEM)
            base_log_warn("could not restore a paused check", BASE_LOG_STR("check", items[i].check_id));
    if (n)
        base_log_info("restored paused checks", BASE_LOG_INT("checks", (long long)n));
}

/* ---- reload ---- */

static void log_conf_errors(const struct base_errors *errs)
{
    char line[BASE_ERROR_MSG_MAX + 512];
    for (size_t i = 0; i < errs->len; i++)
        base_log_error("config error", BASE_LOG_STR("error", base_error_format(&errs->items[i], line, sizeof(line))));
}

static void setup_log(const struct conf *c);

static bool same_str(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Sizes the HTTP connection cap from the open-file limit and the checks
 * that run now (app/fds); logs when it moves or when the limit is short. */
static void plan_fds(struct app *a, const struct conf *run)
{
    struct app_fd_plan p;
    app_fd_plan(a->fd_limit, run ? run->n_checks : 0, SCHED_MAX_IN_FLIGHT, 4096, &p);
    if (p.max_connections != a->http_max_conns) {
        enum base_log_level level = p.short_of_fds ? BASE_LOG_WARN : BASE_LOG_INFO;
        BASE_LOG_(level, p.short_of_fds ? "the open-file limit is too low for the checks: raise ulimit -n"
                                        : "connection cap sized from the open-file limit",
                  BASE_LOG_INT("fd_limit", p.limit), BASE_LOG_INT("reserved", (long long)p.reserve),
                  BASE_LOG_INT("max_connections", (long long)p.max_connections));
        a->http_max_conns = p.max_connections;
        if (a->http)
            http_server_set_max_connections(a->http, p.max_connections);
    }
}

/* Builds the running configuration from `file` and the API objects
 * (objects/confs: kind by kind, skipping what no longer validates) and
 * hands it to the scheduler. 0 or BASE_ERR_NOMEM (nothing changed then). */
static int rebuild(struct app *a, const struct conf *file, struct sched_reload_stats *st)
{
    struct objects_confs *fresh = NULL;
    int rc = objects_confs_build(a->objects, file, probe_registry_types(), &fresh);
    if (rc == 0)
        rc = sched_apply_conf(a->sched, objects_confs_run(fresh), st);
    if (rc) {
        objects_confs_destroy(fresh);
        return rc;
    }
    objects_confs_destroy(a->confs);
    a->confs = fresh;
    plan_fds(a, objects_confs_run(fresh));
    if (a->ingest)
        series_ingest_sync(a->ingest, objects_confs_run(fresh)->checks, objects_confs_run(fresh)->n_checks,
                           base_time_now_ms());
    return 0;
}

static void on_objects_changed(void *data)
{
    struct app *a = data;
    struct sched_reload_stats st;
    if (a->stopping || !a->sched)
        return;
    if (rebuild(a, a->conf, &st) != 0) {
        base_log_error("API objects changed but could not be applied", BASE_LOG_STR("error", "out of memory"));
        return;
    }
    base_log_info("API objects applied", BASE_LOG_INT("added", st.added), BASE_LOG_INT("removed", st.removed),
                  BASE_LOG_INT("changed", st.changed), BASE_LOG_INT("unchanged", st.unchanged));
}

/* Re-reads the listener's certificate and key (renewed in place by e.g.
 * certbot); on error the running ones stay. */
static void reload_tls(struct app *a)
{
    if (!a->http || !a->conf->server.tls_cert)
        return;
    char err[512];
    if (http_server_tls_reload(a->http, err, sizeof(err)) != 0)
        base_log_error("TLS certificate reload failed, keeping the current one", BASE_LOG_STR("error", err));
    else
        base_log_info("TLS certificate reloaded", BASE_LOG_STR("cert", a->conf->server.tls_cert));
}

/* ---- static files (server.static_dir) ---- */

static void log_static(const char *what, const char *dir, const struct http_static *s)
{
    struct http_static_stats st;
    http_static_stats_get(s, &st);
    base_log_info(what, BASE_LOG_STR("static_dir", dir), BASE_LOG_INT("files", (long long)st.files),
                  BASE_LOG_INT("bytes", (long long)st.bytes), BASE_LOG_INT("skipped", (long long)st.skipped));
    for (size_t i = 0; http_static_note(s, i); i++)
        base_log_warn("static file left out", BASE_LOG_STR("file", http_static_note(s, i)));
}

static void reload_static(struct app *a);

static void on_static_loaded(void *data, struct http_static *s, int rc, const char *err)
{
    struct app *a = data;
    a->static_loading = false;
    if (a->stopping || a->static_again) {
        /* Stopping, or the configuration moved on: this result is stale. */
        http_static_destroy(s);
        a->static_again = false;
        if (!a->stopping)
            reload_static(a);
        return;
    }
    if (rc != 0) {
        base_log_error("static files reload failed, keeping the current ones", BASE_LOG_STR("error", err));
        return;
    }
    log_static("static files reloaded", a->conf->server.static_dir, s);
    http_api_set_static(a->api, s);
}

/* Re-reads server.static_dir on the thread pool (a deploy replaced the
 * files): one read at a time; a SIGHUP meanwhile reads again after it. */
static void reload_static(struct app *a)
{
    if (!a->api)
        return;
    if (a->static_loading) {
        a->static_again = true;
        return;
    }
    if (!a->conf->server.static_dir) {
        http_api_set_static(a->api, NULL);
        return;
    }
    int rc = http_static_load_async(&a->loop, a->conf->server.static_dir, NULL, on_static_loaded, a);
    if (rc != 0)
        base_log_error("static files reload could not start", BASE_LOG_STR("error", base_strerror(rc)));
    else
        a->static_loading = true;
}

/* Before serving: a static_dir that cannot be read stops the start. */
static int start_static(struct app *a, char *err, size_t errlen)
{
    const char *dir = a->conf->server.static_dir;
    if (!dir)
        return 0;
    struct http_static *s = NULL;
    int rc = http_static_load(dir, NULL, &s, err, errlen);
    if (rc != 0)
        return rc;
    log_static("static files loaded", dir, s);
    http_api_set_static(a->api, s);
    return 0;
}

static void reload(struct app *a)
{
    if (a->stopping || !a->sched)
        return;
    struct base_errors errs;
    struct conf *fresh = NULL;
    base_errors_init(&errs, 0);
    int rc = load_conf(a, &fresh, &errs);
    if (rc == 0) {
        struct sched_reload_stats st;
        rc = rebuild(a, fresh, &st);
        if (rc == 0) {
            if (!same_str(a->conf->server.listen, fresh->server.listen))
                base_log_warn("server.listen changed: restart opshub to apply it", BASE_LOG_STR("listen", a->listen));
            if (!same_str(a->conf->storage.url, fresh->storage.url) ||
                a->conf->storage.buffer_max != fresh->storage.buffer_max ||
                a->conf->storage.retention_samples_ms != fresh->storage.retention_samples_ms)
                base_log_warn("storage settings changed: restart opshub to apply them", BASE_LOG_STR("section", "storage"));
            const struct conf_server *o = &a->conf->server, *f = &fresh->server;
            if (!same_str(o->rate_limit, f->rate_limit) || !same_str(o->global_rate_limit, f->global_rate_limit) ||
                !same_str(o->login_rate_limit, f->login_rate_limit) || !same_str(o->cors_origins, f->cors_origins) ||
                !same_str(o->tls_cert, f->tls_cert) || !same_str(o->tls_key, f->tls_key) ||
                o->max_body != f->max_body || o->access_ttl_ms != f->access_ttl_ms ||
                o->refresh_ttl_ms != f->refresh_ttl_ms || !same_str(o->metrics_bearer_token, f->metrics_bearer_token) ||
                !same_str(o->metrics_username, f->metrics_username) ||
                !same_str(o->metrics_password, f->metrics_password))
                base_log_warn("server settings changed: restart opshub to apply them "
                              "(certificate files at the same paths are re-read now)", BASE_LOG_STR("section", "server"));
            reload_tls(a);
            setup_log(fresh);
            conf_destroy(a->conf);
            a->conf = fresh;
            if (a->rules && rules_apply(a->rules, fresh) != 0)
                base_log_error("alert rules not applied, the previous ones keep running",
                               BASE_LOG_STR("error", "out of memory"));
            if (a->remote_write && remote_write_apply(a->remote_write, fresh) != 0)
                base_log_error("remote_write not applied, the previous remotes keep running",
                               BASE_LOG_STR("error", "out of memory"));
            if (a->notify && notify_apply(a->notify, fresh) != 0)
                base_log_error("notify not applied completely", BASE_LOG_STR("error", "out of memory"));
            if (a->incidents && incidents_apply(a->incidents, fresh) != 0)
                base_log_error("incidents not applied: no incident rules until the next reload",
                               BASE_LOG_STR("error", "out of memory"));
            char owhy[256];
            if (a->oncall && oncall_apply(a->oncall, fresh, owhy, sizeof(owhy)) != 0) {
                /* the previous rotations point into the old configuration: none rather than dangling ones */
                oncall_apply(a->oncall, NULL, owhy, sizeof(owhy));
                base_log_error("rotations not applied", BASE_LOG_STR("error", owhy));
            }
            reload_static(a);
            if (http_api_set_trusted_proxies(a->api, fresh->server.trusted_proxies, fresh->server.n_trusted_proxies))
                base_log_error("server.trusted_proxies not applied", BASE_LOG_STR("error", "too many"));
            a->stats.reloads_ok++;
            base_log_info("config reloaded", BASE_LOG_INT("added", st.added), BASE_LOG_INT("removed", st.removed),
                          BASE_LOG_INT("changed", st.changed), BASE_LOG_INT("unchanged", st.unchanged),
                          BASE_LOG_INT("files", (long long)a->conf->n_files));
            base_errors_free(&errs);
            return;
        }
        conf_destroy(fresh);
    }
    log_conf_errors(&errs);
    a->stats.reloads_failed++;
    base_log_error("config reload rejected, keeping the running configuration",
                   BASE_LOG_STR("file", a->config_path ? a->config_path : "<default>"),
                   BASE_LOG_INT("errors", (long long)errs.len), BASE_LOG_STR("reason", base_strerror(rc)));
    base_errors_free(&errs);
}

/* ---- shutdown chain ---- */

static void on_store_closed(void *data)
{
    struct app *a = data;
    uv_close((uv_handle_t *)&a->sig_hup, NULL);
    uv_close((uv_handle_t *)&a->sig_term, NULL);
    uv_close((uv_handle_t *)&a->sig_int, NULL);
    uv_close((uv_handle_t *)&a->lag_timer, NULL);
    uv_close((uv_handle_t *)&a->series_timer, NULL);
    uv_close((uv_handle_t *)&a->restore_timer, NULL);
    uv_close((uv_handle_t *)&a->log_check, NULL);
    base_log_info("opshub stopped", BASE_LOG_INT("exit_code", a->exit_code));
}

static void on_objects_closed(void *data)
{
    struct app *a = data;
    a->objects = NULL;
    store_alerts_close(a->alert_log, &a->bus, NULL, NULL);
    a->alert_log = NULL;
    /* their last writes are queued before the store closes */
    incidents_close(a->incidents, NULL, NULL);
    a->incidents = NULL;
    notify_close(a->notify, &a->bus, NULL, NULL);
    a->notify = NULL;
    /* the API is closed: nothing reads the remotes' figures any more */
    remote_write_close(a->remote_write, NULL, NULL);
    a->remote_write = NULL;
    store_unsubscribe(a->store, &a->bus);
    store_close(a->store, on_store_closed, a);
    a->store = NULL;
}

static void on_auth_closed(void *data)
{
    struct app *a = data;
    a->auth = NULL;
    if (a->objects)
        objects_svc_close(a->objects, on_objects_closed, a);
    else
        on_objects_closed(a);
}

static void on_probes_closed(void *data)
{
    struct app *a = data;
    a->probes = NULL;
    /* no more acknowledgement links signed with a key that is going away */
    if (a->incidents)
        incidents_set_paging(a->incidents, a->notify, a->oncall, NULL, a->conf ? a->conf->server.base_url : NULL);
    if (a->auth)
        auth_close(a->auth, on_auth_closed, a);
    else
        on_auth_closed(a);
}

static void on_sched_closed(void *data)
{
    struct app *a = data;
    a->sched = NULL;
    probe_engine_close(a->probes, on_probes_closed, a);
}

static void on_http_closed(void *data)
{
    struct app *a = data;
    a->http = NULL;
    sched_close(a->sched, on_sched_closed, a);
}

/* Single sign-on from server.auth.github / oidc and GITHUB_CLIENT_ID.
 * The options (secrets included) are wiped once copied. */
static int start_sso(struct app *a, char *err, size_t errlen)
{
    struct auth_sso_opts *o = base_calloc(1, sizeof(*o));
    int rc = o ? app_env_sso(a->conf, o, err, errlen) : BASE_ERR_NOMEM;
    if (rc == 0 && (o->github.enabled || o->oidc.enabled) && !(a->sso = auth_sso_new(&a->loop, a->auth, o)))
        rc = BASE_ERR_NOMEM;
    if (rc == BASE_ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc == 0 && a->sso)
        base_log_info("single sign-on", BASE_LOG_STR("github", o->github.enabled ? "on" : "off"),
                      BASE_LOG_STR("oidc", o->oidc.enabled ? o->oidc.issuer : "off"));
    if (o)
        OPENSSL_cleanse(o, sizeof(*o));
    base_free(o);
    return rc;
}

static void stop(struct app *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = true;
    base_log_info("opshub stopping", BASE_LOG_STR("reason", why));
    uv_timer_stop(&a->lag_timer);
    uv_timer_stop(&a->series_timer);
    uv_timer_stop(&a->restore_timer);
    if (a->rules)
        rules_close(a->rules, NULL, NULL);
    uv_signal_stop(&a->sig_hup);
    http_api_shutdown(a->api);
    auth_sso_shutdown(a->sso);
    if (a->http)
        http_server_close(a->http, on_http_closed, a);
    else
        on_http_closed(a);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *a = h->data;
    if (signum == SIGHUP)
        reload(a);
    else
        stop(a, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_log_check(uv_check_t *h)
{
    (void)h;
    base_log_flush();
}

static void on_lag_timer(uv_timer_t *t)
{
    struct app *a = t->data;
    uint64_t now = uv_hrtime();
    a->stats.loop_lag_ms = now > a->lag_expected_ns ? (double)(now - a->lag_expected_ns) / 1e6 : 0;
    a->lag_expected_ns = now + APP_LAG_INTERVAL_MS * 1000000ULL;
}

/* ---- startup ---- */

static void setup_log(const struct conf *c)
{
    int level = c->log.level;
    const char *env = getenv("LOG_LEVEL");
    if (env && *env) {
        int parsed = base_log_level_parse(env);
        if (parsed >= 0)
            level = parsed;
    }
    int format = c->log.format;
    if (format < 0)
        format = isatty(STDERR_FILENO) ? BASE_LOG_FORMAT_TEXT : BASE_LOG_FORMAT_JSON;
    base_log_setup((enum base_log_level)level, (enum base_log_format)format, stderr);
    base_log_set_keys((enum base_log_keys)c->log.keys, c->log.service);
}

static const char *resolve_config_path(const struct app_opts *o)
{
    if (o->config_path)
        return o->config_path;
    struct stat st;
    return stat("opshub.yaml", &st) == 0 ? "opshub.yaml" : NULL;
}

static void on_series_timer(uv_timer_t *t)
{
    struct app *a = t->data;
    series_db_set_now(a->series, base_time_now_ms());
    series_db_gc(a->series);
}

/* The series store and its feed from the bus (series:, docs/alerts.md). */
static int start_series(struct app *a)
{
    struct series_limits lim = {a->conf->series.window_ms, a->conf->series.max_series, a->conf->series.max_memory};
    a->series = series_db_new(&lim);
    a->ingest = a->series ? series_ingest_new(a->series, &a->bus) : NULL;
    if (!a->ingest) {
        base_log_error("out of memory while starting", BASE_LOG_STR("where", "series"));
        return 1;
    }
    series_db_set_now(a->series, base_time_now_ms());
    uv_timer_start(&a->series_timer, on_series_timer, APP_SERIES_GC_MS, APP_SERIES_GC_MS);
    a->rules = rules_new(&a->loop, a->series, &a->bus);
    if (!a->rules || rules_apply(a->rules, a->conf) != 0) {
        base_log_error("the alert rules cannot start", BASE_LOG_STR("where", "rules"));
        return 1;
    }
    a->remote_write = remote_write_new(&a->loop, a->series);
    if (!a->remote_write || remote_write_apply(a->remote_write, a->conf) != 0) {
        base_log_error("out of memory while starting", BASE_LOG_STR("where", "remote_write"));
        return 1;
    }
    return 0;
}

/* The on-call overrides made through the API, read back at start. */
struct overrides_load {
    struct app *a;
    struct store_override *list;
    size_t n;
};

static int overrides_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct overrides_load *l = data;
    return store_overrides_list(c, base_time_now_ms() - ONCALL_OVERRIDES_KEEP_MS, &l->list, &l->n, err, errlen);
}

static void overrides_done(void *data, int status, const char *errmsg)
{
    struct overrides_load *l = data;
    if (status != 0)
        base_log_warn("the on-call overrides could not be read (the configuration's apply)",
                      BASE_LOG_STR("error", errmsg ? errmsg : "?"));
    else if (oncall_set_overrides(l->a->oncall, l->list, l->n) != 0)
        base_log_warn("the on-call overrides could not be applied", BASE_LOG_STR("error", "out of memory"));
    base_free(l->list);
    base_free(l);
}

static void load_overrides(struct app *a)
{
    struct overrides_load *l = base_calloc(1, sizeof(*l));
    if (!l)
        return;
    l->a = a;
    if (store_call(a->store, overrides_work, overrides_done, l) != 0) {
        base_log_warn("the on-call overrides could not be read (the configuration's apply)",
                      BASE_LOG_STR("error", "store unavailable"));
        base_free(l);
    }
}

static int start(struct app *a)
{
    char err[512] = "";
    app_storage_url(a->conf->storage.url, a->opts->data_dir, a->storage_url, sizeof(a->storage_url));
    if (strncmp(a->storage_url, "sqlite://", 9) == 0 && !a->conf->storage.url && !getenv("DATABASE_URL")) {
        const char *dir = a->opts->data_dir ? a->opts->data_dir : "data";
        if (mkdir(dir, 0750) != 0 && access(dir, W_OK) != 0) {
            base_log_error("cannot create the data directory", BASE_LOG_STR("dir", dir));
            return 1;
        }
    }
    struct store_opts so = {
        .url = a->storage_url,
        .buffer_max = a->conf->storage.buffer_max,
        .retention_ms = a->conf->storage.retention_samples_ms,
        .rollup_retention_ms = a->conf->storage.retention_rollups_ms,
        .minute_retention_ms = a->conf->storage.retention_minutes_ms,
    };
    a->store = store_new(&a->loop, &so, err, sizeof(err));
    if (!a->store) {
        base_log_error("storage cannot start", BASE_LOG_STR("error", err));
        return 1;
    }
    if (store_subscribe(a->store, &a->bus) != 0 ||
        event_subscribe(&a->bus, "status-log", EVENT_MASK(EVENT_STATUS), on_status, a) != 0) {
        base_log_error("cannot subscribe to the event bus", BASE_LOG_STR("where", "store"));
        return 1;
    }
    a->alert_log = store_alerts_new(&a->loop, a->store, &a->bus);
    if (!a->alert_log) {
        base_log_error("cannot subscribe to the event bus", BASE_LOG_STR("where", "alert store"));
        return 1;
    }
    a->notify = notify_new(&a->loop, a->store, &a->bus, a->conf->server.base_url);
    if (!a->notify || notify_apply(a->notify, a->conf) != 0) {
        base_log_error("notifications cannot start", BASE_LOG_STR("where", "notify"));
        return 1;
    }
    notify_resume(a->notify);
    char owhy[256];
    a->oncall = oncall_new();
    if (!a->oncall || oncall_apply(a->oncall, a->conf, owhy, sizeof(owhy)) != 0) {
        base_log_error("rotations cannot start", BASE_LOG_STR("error", a->oncall ? owhy : "out of memory"));
        return 1;
    }
    a->incidents = incidents_new(&a->loop, a->store, &a->bus);
    if (!a->incidents || incidents_apply(a->incidents, a->conf) != 0) {
        base_log_error("incidents cannot start", BASE_LOG_STR("where", "incidents"));
        return 1;
    }
    incidents_start(a->incidents);
    a->objects = objects_svc_new(&a->loop, a->store, &a->env.keyring, on_objects_changed, a);
    if (!a->objects) {
        base_log_error("out of memory while starting", BASE_LOG_STR("where", "objects"));
        return 1;
    }
    objects_svc_start(a->objects);
    if (start_series(a) != 0)
        return 1;
    a->probes = probe_engine_new(&a->loop, NULL);
    /* log checks keep their offsets under the data directory (log-state/) */
    if (a->probes && probe_engine_set_data_dir(a->probes, a->opts->data_dir ? a->opts->data_dir : "data") != 0) {
        base_log_error("out of memory while starting", BASE_LOG_STR("where", "probes"));
        return 1;
    }
    a->sched = a->probes ? sched_new(&a->loop, a->probes, &a->bus, NULL) : NULL;
    if (!a->sched || rebuild(a, a->conf, NULL) != 0) {
        base_log_error("out of memory while starting", BASE_LOG_STR("where", "scheduler"));
        return 1;
    }
    a->stats.config_loaded = true;
    if (store_pauses_load(a->store, on_pauses, a) != 0)
        base_log_warn("could not queue the restore of paused checks", BASE_LOG_STR("where", "store"));
    restore_rules_state(a);
    if (store_latest_query(a->store, on_latest, a) != 0)
        base_log_warn("could not queue the restore of the last samples", BASE_LOG_STR("where", "store"));
    load_overrides(a);
    if (app_restore_uptime(&a->restore, a->store, (struct sched *const *)&a->sched, a->stats.start_ms) != 0)
        base_log_warn("could not queue the restore of the uptime", BASE_LOG_STR("where", "store"));
    struct auth_opts ao = {
        .jwt_secret = a->env.jwt_secret,
        .access_ttl_ms = a->conf->server.access_ttl_ms,
        .refresh_ttl_ms = a->conf->server.refresh_ttl_ms,
        .audit_retention_ms = a->conf->storage.retention_audit_ms,
        .allow_test_login = a->env.allow_test_login,
        .store_url = a->storage_url,
    };
    a->auth = auth_new(&a->loop, a->store, &ao, err, sizeof(err));
    if (!a->auth) {
        base_log_error("auth cannot start", BASE_LOG_STR("error", err));
        return 1;
    }
    auth_start(a->auth);
    /* pages carry acknowledgement links signed with the identity's key */
    incidents_set_paging(a->incidents, a->notify, a->oncall, a->auth, a->conf->server.base_url);
    if (start_sso(a, err, sizeof(err)) != 0) {
        base_log_error("single sign-on cannot start", BASE_LOG_STR("error", err));
        return 1;
    }
    struct http_api_deps deps = {
        .loop = &a->loop, .confs = (const struct objects_confs *const *)&a->confs, .sched = a->sched,
        .objects = a->objects, .series = a->series, .rules = a->rules,
        .alert_log = a->alert_log, .remote_write = a->remote_write, .notify = a->notify,
        .oncall = a->oncall, .incidents = a->incidents, .keyring = &a->env.keyring,
        .store = a->store, .probes = a->probes, .app = &a->stats, .auth = a->auth, .sso = a->sso,
        .bus = &a->bus, .types = probe_registry_types(),
        .rate_limit = a->conf->server.rate_limit, .global_rate_limit = a->conf->server.global_rate_limit,
        .login_rate_limit = a->conf->server.login_rate_limit,
        .cors_origins = a->env.cors_origins, .allow_test_login = a->env.allow_test_login,
        .test_clock = a->env.test_clock,
        .metrics_bearer_token = a->conf->server.metrics_bearer_token,
        .metrics_username = a->conf->server.metrics_username,
        .metrics_password = a->conf->server.metrics_password,
    };
    a->api = http_api_new(&deps, err, sizeof(err));
    if (!a->api) {
        base_log_error("api cannot start", BASE_LOG_STR("error", err));
        return 1;
    }
    if (http_api_set_trusted_proxies(a->api, a->conf->server.trusted_proxies, a->conf->server.n_trusted_proxies)) {
        base_log_error("api cannot start", BASE_LOG_STR("error", "too many trusted proxies"));
        return 1;
    }
    if (start_static(a, err, sizeof(err)) != 0) {
        base_log_error("static files cannot be served", BASE_LOG_STR("error", err));
        return 1;
    }
    struct http_server_opts ho = {
        .max_body = a->conf->server.max_body,
        .tls_cert_file = a->conf->server.tls_cert,
        .tls_key_file = a->conf->server.tls_key,
        .head_check = http_api_head_check,
        .max_connections = a->http_max_conns,
    };
    a->http = http_server_new(&a->loop, &ho, http_api_handle, a->api);
    if (!a->http) {
        base_log_error("out of memory while starting", BASE_LOG_STR("where", "http"));
        return 1;
    }
    http_api_set_server(a->api, a->http);
    int rc = http_server_listen(a->http, a->listen, err, sizeof(err));
    if (rc != 0) {
        base_log_error("cannot listen", BASE_LOG_STR("listen", a->listen), BASE_LOG_STR("error", err));
        return 1;
    }
    char redacted[1024];
    base_log_info("opshub started", BASE_LOG_STR("version", base_version()),
                  BASE_LOG_STR("commit", base_version_commit()), BASE_LOG_STR("listen", a->listen),
                  BASE_LOG_STR("config", a->config_path ? a->config_path : "<default>"),
                  BASE_LOG_STR("storage", base_log_redact_url(a->storage_url, redacted, sizeof(redacted))),
                  BASE_LOG_INT("checks", (long long)a->conf->n_checks),
                  BASE_LOG_INT("config_files", (long long)a->conf->n_files));
    return 0;
}

int app_run(const struct app_opts *opts)
{
    struct app *a = base_calloc(1, sizeof(*a));
    if (!a) {
        fprintf(stderr, "opshub: out of memory\n");
        return 1;
    }
    a->opts = opts;
    event_bus_init(&a->bus);
    a->stats.start_ms = base_time_now_ms();
    a->config_path = resolve_config_path(opts);
    const char *env_listen = getenv("OPSHUB_LISTEN");

    /* The listen address must be known before the default config is built. */
    snprintf(a->listen, sizeof(a->listen), "%s",
             opts->listen ? opts->listen : (env_listen && *env_listen ? env_listen : APP_DEFAULT_LISTEN));
    struct base_errors errs;
    base_errors_init(&errs, 0);
    if (load_conf(a, &a->conf, &errs) != 0) {
        base_errors_print(&errs, stderr);
        if (!errs.len)
            fprintf(stderr, "%s: cannot load configuration\n", a->config_path ? a->config_path : "<default>");
        base_errors_free(&errs);
        base_free(a);
        return 2;
    }
    base_errors_free(&errs);
    if (!opts->listen && !(env_listen && *env_listen) && a->conf->server.listen)
        snprintf(a->listen, sizeof(a->listen), "%s", a->conf->server.listen);
    setup_log(a->conf);
    char env_err[512];
    if (app_env_load(&a->env, a->conf, opts->data_dir, env_err, sizeof(env_err)) != 0) {
        fprintf(stderr, "opshub: %s\n", env_err);
        app_env_free(&a->env);
        conf_destroy(a->conf);
        base_free(a);
        return 2;
    }
    if ((a->env.allow_test_login || a->env.test_clock) && strncmp(a->listen, "127.", 4) != 0 &&
        strncmp(a->listen, "[::1]:", 6) != 0 && strncmp(a->listen, "localhost:", 10) != 0) {
        fprintf(stderr, "opshub: %s is refused unless opshub listens on a loopback address (listen is %s)\n",
                a->env.allow_test_login ? "ALLOW_TEST_LOGIN=1" : "OPSHUB_TEST_CLOCK=1", a->listen);
        app_env_free(&a->env);
        conf_destroy(a->conf);
        base_free(a);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    a->fd_limit = base_proc_raise_fd_limit();

    /* libuv's pool runs getaddrinfo for probes and Argon2id for logins: give
     * it more than the default 4 threads unless the operator chose. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    uv_loop_init(&a->loop);
    uv_signal_init(&a->loop, &a->sig_hup);
    uv_signal_init(&a->loop, &a->sig_term);
    uv_signal_init(&a->loop, &a->sig_int);
    a->sig_hup.data = a->sig_term.data = a->sig_int.data = a;
    uv_signal_start(&a->sig_hup, on_signal, SIGHUP);
    uv_signal_start(&a->sig_term, on_signal, SIGTERM);
    uv_signal_start(&a->sig_int, on_signal, SIGINT);
    uv_timer_init(&a->loop, &a->lag_timer);
    a->lag_timer.data = a;
    a->lag_expected_ns = uv_hrtime() + APP_LAG_INTERVAL_MS * 1000000ULL;
    uv_timer_start(&a->lag_timer, on_lag_timer, APP_LAG_INTERVAL_MS, APP_LAG_INTERVAL_MS);
    uv_timer_init(&a->loop, &a->series_timer);
    a->series_timer.data = a;
    uv_timer_init(&a->loop, &a->restore_timer);
    a->restore_timer.data = a;
    uv_check_init(&a->loop, &a->log_check);
    uv_check_start(&a->log_check, on_log_check);
    uv_unref((uv_handle_t *)&a->log_check);
    base_log_batch(true);

    if (start(a) != 0) {
        /* Unwind whatever was started, through the normal shutdown chain. */
        a->exit_code = 1;
        a->stopping = true;
        uv_signal_stop(&a->sig_hup);
        http_api_shutdown(a->api);  /* its timers (live events, status page) close on the loop */
        if (a->http)
            http_server_close(a->http, on_http_closed, a);
        else if (a->sched)
            on_http_closed(a);
        else if (a->probes)
            on_sched_closed(a);
        else if (a->auth)
            on_probes_closed(a);
        else if (a->store)
            on_auth_closed(a);
        else
            on_store_closed(a);
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    base_log_batch(false);
    int exit_code = a->exit_code;
    if (uv_loop_close(&a->loop) != 0)
        base_log_warn("event loop closed with handles still open", BASE_LOG_STR("where", "shutdown"));
    http_api_destroy(a->api);
    oncall_free(a->oncall);
    rules_destroy(a->rules);
    series_ingest_destroy(a->ingest);
    series_db_destroy(a->series);
    auth_sso_destroy(a->sso);
    conf_destroy(a->conf);
    objects_confs_destroy(a->confs);
    app_env_free(&a->env);
    base_free(a);
    return exit_code;
}
