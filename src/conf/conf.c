/*
 * conf/conf: the public face of the config loader: one load of the main
 * file and the files it includes, the top-level keys (server, storage, log,
 * include, and the lists projects and checks gathered across every file),
 * the built-in default configuration, the id indices and conf_destroy. Owns
 * each struct conf and its arena until handed to the caller; on any failure
 * frees everything and returns every error found, sorted by file and
 * position. Files and include patterns are in files.c, YAML parsing in
 * yaml.c, typed values in value.c, checks in check.c, ${VAR} expansion in
 * interp.c, JSON input in json.c, merging API-created definitions in
 * merge.c.
 */
#include "conf/conf_int.h"
#include "conf/incidents.h"
#include "conf/oncall.h"
#include "conf/rules.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum top {
    T_SERVER, T_STORAGE, T_LOG, T_INCLUDE, T_PROJECTS, T_CHECKS, T_STATUS_PAGE, T_SERIES, T_ALERTS, T_RULE_FILES,
    T_EVALUATION_INTERVAL, T_REMOTE_WRITE, T_EXTERNAL_LABELS, T_NOTIFY, T_MAINTENANCE, T_ROTATIONS, T_POLICIES,
    T_INCIDENTS, T_SUPPORTED, T_DEPLOYS = T_SUPPORTED, T_BACKUPS, T_RUNBOOKS, T_COUNT
};

static const char *const top_names[T_COUNT] = {
    "server", "storage", "log", "include", "projects", "checks", "status_page", "series", "alerts", "rule_files", "evaluation_interval",
    "remote_write", "external_labels", "notify",
    "maintenance", "rotations", "escalation_policies", "incidents", "deploys", "backups", "runbooks",
};

#define DEFAULT_RETENTION_SAMPLES_MS (7LL * 86400000)
#define DEFAULT_RETENTION_ROLLUPS_MS (400LL * 86400000)
#define DEFAULT_RETENTION_MINUTES_MS (30LL * 86400000)
#define DEFAULT_RETENTION_AUDIT_MS (365LL * 86400000)
#define ACCESS_TTL_MAX_MS (24LL * 3600000)
#define REFRESH_TTL_MAX_MS (365LL * 86400000)
#define DEFAULT_BUFFER_MAX 100000
#define BUFFER_MAX_LIMIT 10000000

const struct conf_project *conf_project_find(const struct conf *c, const char *id)
{
    if (c && id && c->indexed)
        return base_map_get(&c->project_index, id);
    for (size_t i = 0; c && id && i < c->n_projects; i++)
        if (c->projects[i].id && strcmp(c->projects[i].id, id) == 0)
            return &c->projects[i];
    return NULL;
}

void conf_index(struct conf *c)
{
    base_map_init(&c->check_index);
    base_map_init(&c->project_index);
    for (size_t i = 0; i < c->n_checks; i++)
        if (base_map_put(&c->check_index, c->checks[i].id, &c->checks[i]) != 0)
            goto fail;
    for (size_t i = 0; i < c->n_projects; i++)
        if (base_map_put(&c->project_index, c->projects[i].id, &c->projects[i]) != 0)
            goto fail;
    c->indexed = true;
    return;
fail:
    base_map_free(&c->check_index);
    base_map_free(&c->project_index);
    base_map_init(&c->check_index);
    base_map_init(&c->project_index);
}

struct conf *conf_alloc(const char *path)
{
    struct conf *c = base_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    base_arena_init(&c->arena, 16 * 1024);
    c->path = base_arena_strdup(&c->arena, path);
    if (!c->path) {
        base_free(c);
        return NULL;
    }
    c->storage.retention_samples_ms = DEFAULT_RETENTION_SAMPLES_MS;
    c->storage.retention_rollups_ms = DEFAULT_RETENTION_ROLLUPS_MS;
    c->storage.retention_minutes_ms = DEFAULT_RETENTION_MINUTES_MS;
    c->storage.retention_audit_ms = DEFAULT_RETENTION_AUDIT_MS;
    c->server.max_body = CONF_DEFAULT_REQUEST_BODY;
    c->server.access_ttl_ms = CONF_DEFAULT_ACCESS_TTL_MS;
    c->server.refresh_ttl_ms = CONF_DEFAULT_REFRESH_TTL_MS;
    c->storage.buffer_max = DEFAULT_BUFFER_MAX;
    c->series.window_ms = CONF_SERIES_WINDOW_MS;
    c->evaluation_interval_ms = CONF_RULE_INTERVAL_MS;
    c->series.max_series = CONF_SERIES_MAX_SERIES;
    c->series.max_memory = CONF_SERIES_MAX_MEMORY;
    c->log.level = BASE_LOG_INFO;
    c->log.format = -1;
    return c;
}

void conf_destroy(struct conf *c)
{
    if (!c)
        return;
    base_map_free(&c->check_index);
    base_map_free(&c->project_index);
    base_arena_free(&c->arena);
    base_free(c);
}

/* Null sections count as empty; anything else must be a mapping. */
static bool section_map(struct conf_ctx *ctx, const struct conf_node *n)
{
    return n && !conf_value_is_null(n) && conf_value_expect(ctx, n, CONF_NODE_MAP) == 0;
}

/* ---- server ---- */

static void parse_rate_limit(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    const char *t;
    size_t len;
    char shown[80];
    if (conf_value_text(ctx, n, "a rate like 120/min", &t, &len))
        return;
    const char *slash = memchr(t, '/', len);
    size_t digits = 0;
    while (digits < len && t[digits] >= '0' && t[digits] <= '9')
        digits++;
    /* At most 1,000,000 per period: auth/ratelimit's AUTH_RATELIMIT_MAX_N. */
    bool ok = slash && digits > 0 && digits <= 7 && t + digits == slash && t[0] != '0' &&
              strtol(t, NULL, 10) <= 1000000 &&
              (strcmp(slash + 1, "sec") == 0 || strcmp(slash + 1, "min") == 0 ||
               strcmp(slash + 1, "hour") == 0);
    if (!ok) {
        conf_value_error(ctx, n, "bad rate limit '%s' (expected N/sec, N/min or N/hour, N from 1 to 1000000)",
                         conf_value_show(n, t, false, shown, sizeof(shown)));
        return;
    }
    *out = base_arena_strndup(&ctx->conf->arena, t, len);
    if (!*out)
        ctx->nomem = true;
}

/* An origin as browsers send it: scheme://host[:port], no path. */
static bool origin_ok(const char *o, size_t len)
{
    size_t skip = len >= 8 && strncmp(o, "https://", 8) == 0 ? 8
                : len >= 7 && strncmp(o, "http://", 7) == 0 ? 7 : 0;
    if (!skip || skip == len)
        return false;
    for (size_t i = skip; i < len; i++) {
        unsigned char ch = (unsigned char)o[i];
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']'))
            return false;
    }
    return true;
}

/* cors_origins: a list of origins or one comma-separated string; stored
 * joined with ", ". */
static void parse_cors(struct conf_ctx *ctx, const struct conf_node *n, struct conf_server *s)
{
    struct base_buf joined;
    base_buf_init(&joined, 8192);
    const struct conf_node *single[1] = {n};
    bool seq = n->kind == CONF_NODE_SEQ;
    if (!seq && n->kind != CONF_NODE_SCALAR) {
        conf_value_error(ctx, n, "expected a list of origins or a comma-separated string, got %s",
                         conf_value_kind_name(n));
        return;
    }
    for (const struct conf_node *it = seq ? n->child : single[0]; it; it = seq ? it->next : NULL) {
        const char *t;
        size_t len;
        char shown[120];
        if (conf_value_text(ctx, it, "an origin", &t, &len))
            continue;
        const char *p = t, *end = t + len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            const char *q = e;
            while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
                q--;
            if (q > p) {
                if (!origin_ok(p, (size_t)(q - p))) {
                    char one[100];
                    snprintf(one, sizeof(one), "%.*s", (int)(q - p < 90 ? q - p : 90), p);
                    conf_value_error(ctx, it, "bad CORS origin '%s' (expected scheme://host[:port], "
                                     "e.g. https://ops.example.com)",
                                     conf_value_show(it, one, false, shown, sizeof(shown)));
                } else if ((joined.len && base_buf_append(&joined, ", ", 2)) ||
                           base_buf_append(&joined, p, (size_t)(q - p))) {
                    conf_value_error(ctx, it, "too many CORS origins (at most 8 KiB in total)");
                    base_buf_free(&joined);
                    return;
                }
            }
            p = comma ? comma + 1 : end;
        }
        if (!seq)
            break;
    }
    if (joined.len) {
        s->cors_origins = base_arena_strndup(&ctx->conf->arena, joined.data, joined.len);
        if (!s->cors_origins)
            ctx->nomem = true;
    }
    base_buf_free(&joined);
}

/* A credential of server.metrics_auth: printable ASCII without spaces (it
 * travels in a header), from `min` to CONF_METRICS_SECRET_MAX bytes, never
 * quoted back (it comes from ${VAR}); a username has no ':' (Basic auth). */
static void parse_metrics_credential(struct conf_ctx *ctx, const struct conf_node *n, const char *what,
                                     size_t min, size_t max, const char **out)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, what, &t, &len))
        return;
    bool ok = len >= min && len <= max;
    for (size_t i = 0; ok && i < len; i++)
        ok = t[i] > 0x20 && t[i] < 0x7f && !(min == 1 && t[i] == ':');
    if (!ok) {
        conf_value_error(ctx, n, "%s must be %zu to %zu printable characters without spaces%s (the value is not shown)",
                         what, min, max, min == 1 ? " or ':'" : "");
        return;
    }
    *out = base_arena_strndup(&ctx->conf->arena, t, len);
    if (!*out)
        ctx->nomem = true;
}

/* metrics_auth: {bearer_token: ${VAR}} or {username: U, password: ${VAR}}. */
static void parse_metrics_auth(struct conf_ctx *ctx, const struct conf_node *n, struct conf_server *s)
{
    static const char *const names[] = {"bearer_token", "username", "password"};
    const struct conf_node *f[3];
    if (conf_value_is_null(n) || !section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 3, f);
    if (f[0])
        parse_metrics_credential(ctx, f[0], "metrics_auth.bearer_token", CONF_METRICS_SECRET_MIN,
                                 CONF_METRICS_SECRET_MAX, &s->metrics_bearer_token);
    if (f[1])
        parse_metrics_credential(ctx, f[1], "metrics_auth.username", 1, 64, &s->metrics_username);
    if (f[2])
        parse_metrics_credential(ctx, f[2], "metrics_auth.password", CONF_METRICS_SECRET_MIN,
                                 CONF_METRICS_SECRET_MAX, &s->metrics_password);
    if (!f[0] && !f[1] && !f[2]) {
        if (!n->child) /* else an unknown key is reported already */
            conf_value_error(ctx, n, "metrics_auth needs bearer_token, or username and password "
                             "(leave it out to keep /metrics public)");
    } else if (f[0] && (f[1] || f[2]))
        conf_value_error(ctx, n, "metrics_auth takes bearer_token, or username and password, not both");
    else if (!f[0] && (!f[1] || !f[2]))
        conf_value_error_member(ctx, n, f[1] ? "password" : "username",
                                "metrics_auth needs both username and password");
}

static void parse_server(struct conf_ctx *ctx, const struct conf_node *n)
{
    static const char *const names[] = {"listen", "base_url", "rate_limit", "global_rate_limit",
                                        "cors_origins", "tls", "max_body", "auth", "login_rate_limit",
                                        "static_dir", "trusted_proxies", "metrics_auth"};
    static const char *const tls_names[] = {"cert", "key"};
    static const char *const auth_names[] = {"access_ttl", "refresh_ttl", "github", "oidc"};
    const struct conf_node *f[12], *t[4];
    struct conf_server *s = &ctx->conf->server;
    if (!section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 12, f);
    if (f[11])
        parse_metrics_auth(ctx, f[11], &ctx->conf->server);
    if (f[8])
        parse_rate_limit(ctx, f[8], &s->login_rate_limit);
    if (f[0])
        conf_value_hostport(ctx, f[0], true, &s->listen);
    if (f[1])
        conf_value_url(ctx, f[1], &s->base_url);
    if (f[2])
        parse_rate_limit(ctx, f[2], &s->rate_limit);
    if (f[3])
        parse_rate_limit(ctx, f[3], &s->global_rate_limit);
    if (f[4] && !conf_value_is_null(f[4]))
        parse_cors(ctx, f[4], s);
    if (f[5] && section_map(ctx, f[5])) {
        conf_value_fields(ctx, f[5], tls_names, 2, t);
        if (t[0])
            conf_value_string(ctx, t[0], &s->tls_cert);
        if (t[1])
            conf_value_string(ctx, t[1], &s->tls_key);
        if (!t[0] != !t[1])
            conf_value_error(ctx, f[5], "tls needs both cert and key");
    }
    if (f[6])
        conf_value_size(ctx, f[6], CONF_MAX_BODY_LIMIT, &s->max_body);
    if (f[9] && !conf_value_is_null(f[9]) && conf_value_string(ctx, f[9], &s->static_dir) == 0 && !s->static_dir[0])
        conf_value_error(ctx, f[9], "static_dir must name a directory (leave it out to serve no files)");
    if (f[10] && !conf_value_is_null(f[10]))
        conf_value_cidr_list(ctx, f[10], CONF_TRUSTED_PROXIES_MAX, &s->trusted_proxies, &s->n_trusted_proxies);
    if (f[7] && section_map(ctx, f[7])) {
        conf_value_fields(ctx, f[7], auth_names, 4, t);
        conf_sso_parse_github(ctx, t[2], &s->github);
        conf_sso_parse_oidc(ctx, t[3], &s->oidc);
        if (t[0] && conf_value_duration(ctx, t[0], &s->access_ttl_ms) == 0 &&
            (s->access_ttl_ms < 60000 || s->access_ttl_ms > ACCESS_TTL_MAX_MS))
            conf_value_error(ctx, t[0], "access_ttl must be from 1m to 24h");
        if (t[1] && conf_value_duration(ctx, t[1], &s->refresh_ttl_ms) == 0 &&
            (s->refresh_ttl_ms < 3600000 || s->refresh_ttl_ms > REFRESH_TTL_MAX_MS))
            conf_value_error(ctx, t[1], "refresh_ttl must be from 1h to 365d");
    }
}

/* ---- storage ---- */

static void parse_storage_url(struct conf_ctx *ctx, const struct conf_node *n, struct conf_storage *s)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, "a database URL", &t, &len))
        return;
    if (len == 0)
        return; /* `url: ${DATABASE_URL:-}`: let the app pick */
    if (strncmp(t, "sqlite://", 9) != 0 && strncmp(t, "postgres://", 11) != 0 &&
        strncmp(t, "postgresql://", 13) != 0) {
        /* The URL is not quoted back: it may carry a password. */
        conf_value_error(ctx, n, "storage url must start with sqlite://, postgres:// or postgresql://");
        return;
    }
    s->url = base_arena_strndup(&ctx->conf->arena, t, len);
    if (!s->url)
        ctx->nomem = true;
}

static void parse_storage(struct conf_ctx *ctx, const struct conf_node *n)
{
    static const char *const names[] = {"url", "retention", "buffer_max"};
    /* "rollups" is the older name of "hours" (before minute rollups) */
    static const char *const retention_names[] = {"samples", "rollups", "audit", "minutes", "hours"};
    const struct conf_node *f[3], *r[5];
    struct conf_storage *s = &ctx->conf->storage;
    long long v;
    if (!section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 3, f);
    if (f[0])
        parse_storage_url(ctx, f[0], s);
    if (f[1] && section_map(ctx, f[1])) {
        conf_value_fields(ctx, f[1], retention_names, 5, r);
        if (r[0])
            conf_value_duration(ctx, r[0], &s->retention_samples_ms);
        if (r[1] && r[4])
            conf_value_error(ctx, r[1], "retention: give \"hours\" or its older name \"rollups\", not both");
        else if (r[1] || r[4])
            conf_value_duration(ctx, r[4] ? r[4] : r[1], &s->retention_rollups_ms);
        if (r[2])
            conf_value_duration(ctx, r[2], &s->retention_audit_ms);
        if (r[3])
            conf_value_duration(ctx, r[3], &s->retention_minutes_ms);
    }
    if (f[2] && conf_value_int(ctx, f[2], 1, BUFFER_MAX_LIMIT, &v) == 0)
        s->buffer_max = (size_t)v;
}

/* ---- series ---- */

static void parse_series(struct conf_ctx *ctx, const struct conf_node *n)
{
    static const char *const names[] = {"window", "max_series", "max_memory"};
    const struct conf_node *f[3];
    struct conf_series *s = &ctx->conf->series;
    long long v;
    if (!section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 3, f);
    if (f[0] && conf_value_duration(ctx, f[0], &s->window_ms) == 0 &&
        (s->window_ms < 60000 || s->window_ms > CONF_SERIES_WINDOW_MAX_MS))
        conf_value_error(ctx, f[0], "window must be from 1m to 7d");
    if (f[1] && conf_value_int(ctx, f[1], 1, CONF_SERIES_MAX_SERIES_LIMIT, &v) == 0)
        s->max_series = (size_t)v;
    if (f[2] && conf_value_size(ctx, f[2], CONF_SERIES_MAX_MEMORY_LIMIT, &s->max_memory) == 0 &&
        s->max_memory < 1024 * 1024)
        conf_value_error(ctx, f[2], "max_memory must be at least 1MiB");
}

/* ---- external_labels ---- */

static const char *external_value_bad(const char *v, size_t len)
{
    (void)v;
    if (len == 0)
        return "an empty value (a label without a value is no label)";
    return len > 1024 ? "longer than 1 KiB" : NULL;
}

/* Prometheus' global.external_labels: what identifies this opshub to a
 * remote store (remote_write) and to templates ($externalLabels). */
static void parse_external_labels(struct conf_ctx *ctx, const struct conf_node *n)
{
    struct conf *c = ctx->conf;
    if (!section_map(ctx, n))
        return;
    if (n->n > 32) {
        conf_value_error(ctx, n, "external_labels holds at most 32 labels");
        return;
    }
    conf_value_kv(ctx, n, conf_label_name_bad, external_value_bad, &c->external_labels, &c->n_external_labels);
}

/* ---- log ---- */

/* A service name for log lines: printable, at most BASE_LOG_SERVICE_MAX - 1 bytes. */
static void parse_log_service(struct conf_ctx *ctx, const struct conf_node *n)
{
    const char *t;
    size_t len;
    if (conf_value_text(ctx, n, "a service name", &t, &len))
        return;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f) {
            conf_value_error(ctx, n, "a service name must not contain control characters");
            return;
        }
    }
    if (len == 0 || len >= BASE_LOG_SERVICE_MAX) {
        conf_value_error(ctx, n, "a service name has 1 to %d bytes", BASE_LOG_SERVICE_MAX - 1);
        return;
    }
    ctx->conf->log.service = base_arena_strndup(&ctx->conf->arena, t, len);
    if (!ctx->conf->log.service)
        ctx->nomem = true;
}

static void parse_log(struct conf_ctx *ctx, const struct conf_node *n)
{
    static const char *const names[] = {"level", "format", "keys", "service"};
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    static const char *const formats[] = {"json", "text"};   /* enum base_log_format order */
    static const char *const keys[] = {"opshub", "service"}; /* enum base_log_keys order */
    const struct conf_node *f[4];
    size_t i;
    if (!section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 4, f);
    if (f[0] && conf_value_choice(ctx, f[0], "log level", levels, 4, &i) == 0)
        ctx->conf->log.level = base_log_level_parse(levels[i]);
    if (f[1] && conf_value_choice(ctx, f[1], "log format", formats, 2, &i) == 0)
        ctx->conf->log.format = (int)i;
    if (f[2] && conf_value_choice(ctx, f[2], "log keys", keys, 2, &i) == 0)
        ctx->conf->log.keys = (int)i;
    if (f[3])
        parse_log_service(ctx, f[3]);
}

/* ---- projects ---- */

static void parse_environments(struct conf_ctx *ctx, const struct conf_node *n, struct conf_project *p)
{
    if (conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    const char **envs = conf_value_alloc(ctx, n->n * sizeof(*envs));
    if (!envs)
        return;
    struct base_map seen;
    base_map_init(&seen);
    size_t count = 0;
    for (const struct conf_node *it = n->child; it; it = it->next)
        if (conf_value_id(ctx, it, &envs[count]) == 0 &&
            conf_value_unique(ctx, &seen, envs[count], it, "environment") == 0)
            count++;
    base_map_free(&seen);
    p->environments = envs;
    p->n_environments = count;
}

int conf_project_parse_one(struct conf_ctx *ctx, const struct conf_node *item, struct conf_project *p,
                           struct base_map *seen)
{
    static const char *const names[] = {"id", "name", "environments"};
    const struct conf_node *f[3];
    memset(p, 0, sizeof(*p));
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return -1;
    conf_value_fields(ctx, item, names, 3, f);
    if (f[1])
        conf_value_string(ctx, f[1], &p->name);
    if (f[2])
        parse_environments(ctx, f[2], p);
    if (!f[0]) {
        conf_value_error_member(ctx, item, "id", "project is missing 'id'");
        return -1;
    }
    if (conf_value_id(ctx, f[0], &p->id) || conf_value_unique(ctx, seen, p->id, f[0], "project id"))
        return -1;
    if (!p->name)
        p->name = p->id;
    return 0;
}

/* ---- one load: the main file and the files it includes ---- */

/* The items one file gave one top-level list (in the load's keep arena). */
struct chunk {
    void *items;
    size_t n;
    struct chunk *next;
};

/* A load reads one file at a time and frees its tree before the next, so
 * what must outlive a tree is copied out: items into chunks, the positions
 * of ids into pinned nodes (when another file follows), and references to
 * projects not declared yet. */
struct load {
    struct conf_ctx *ctx;
    struct base_arena keep;             /* ctx->keep */
    struct base_map projects;           /* id -> struct conf_project (in a chunk) */
    struct base_map project_ids;        /* id -> pinned node of the id: duplicates in any file */
    struct base_map check_ids;          /* the same for checks */
    struct chunk *head[T_COUNT], *tail[T_COUNT]; /* per list key, in file order */
    struct chunk *cur[T_COUNT];         /* the file being read's chunk of each list, or NULL */
    const char **included;              /* every file named by `include`, read or not */
    size_t n_included;
    const char **rule_files;            /* every file named by `rule_files` */
    const struct conf_node **rule_from; /* the pattern that named each */
    size_t n_rule_files;
    const char **files;                 /* the files read: conf->files on success */
    size_t n_files;
    bool from_text;                     /* conf_load_string: no directory, no includes */
};

void conf_project_ref_later(struct conf_ctx *ctx, const struct conf_node *at, const char *pid)
{
    struct conf_late_ref *r = base_arena_alloc(ctx->keep, sizeof(*r));
    const struct conf_node *pin = conf_value_pin(ctx, at);
    if (!r || !pin) {
        ctx->nomem = true;
        return;
    }
    r->id = pid;
    r->at = pin;
    r->next = ctx->late_refs;
    ctx->late_refs = r;
}

/* The first node of id in m moves out of its file's tree, for "first
 * defined at" in a later file. */
static void pin_entry(struct load *ld, struct base_map *m, const char *id)
{
    const struct conf_node *n = base_map_get(m, id);
    if (!n || n->pinned)
        return;
    const struct conf_node *pin = conf_value_pin(ld->ctx, n);
    if (!pin || base_map_put(m, id, (void *)pin) != 0)
        ld->ctx->nomem = true;
}

static bool item_project(struct load *ld, const struct conf_node *item, void *out)
{
    struct conf_project *p = out;
    if (conf_project_parse_one(ld->ctx, item, p, &ld->project_ids))
        return false;
    if (base_map_put(&ld->projects, p->id, p) != 0) {
        ld->ctx->nomem = true;
        return false;
    }
    return true;
}

static void pin_project(struct load *ld, const void *item)
{
    pin_entry(ld, &ld->project_ids, ((const struct conf_project *)item)->id);
}

static void done_projects(struct conf *c, void *items, size_t n)
{
    c->projects = items;
    c->n_projects = n;
}

static bool item_check(struct load *ld, const struct conf_node *item, void *out)
{
    struct conf_check *cc = out;
    if (conf_value_expect(ld->ctx, item, CONF_NODE_MAP))
        return false;
    conf_check_parse_one(ld->ctx, item, cc, &ld->check_ids, &ld->projects);
    cc->file = item->file;
    return true;
}

static void pin_check(struct load *ld, const void *item)
{
    const struct conf_check *cc = item;
    if (cc->id)
        pin_entry(ld, &ld->check_ids, cc->id);
}

static void done_checks(struct conf *c, void *items, size_t n)
{
    c->checks = items;
    c->n_checks = n;
}

static bool item_alert(struct load *ld, const struct conf_node *item, void *out)
{
    return conf_rules_parse_alert(ld->ctx, item, out);
}

static void pin_nothing(struct load *ld, const void *item)
{
    (void)ld;
    (void)item;
}

static void done_alerts(struct conf *c, void *items, size_t n)
{
    c->alerts = items;
    c->n_alerts = n;
}

/* The top-level lists gathered from the main file and every included file,
 * in file order; ids are unique across all files and a check may name a
 * project of any file. Within a file, lists are read in table order.
 * Only these keys may appear in an included file: adding a list that
 * included files may hold is one line here. */
static const struct list_key {
    enum top key;
    size_t size;                                  /* of one item */
    bool (*item)(struct load *ld, const struct conf_node *item, void *out); /* true: *out is one */
    void (*pin)(struct load *ld, const void *item); /* its id's node out of the tree */
    void (*done)(struct conf *c, void *items, size_t n); /* every file's items, in order */
} list_keys[] = {
    {T_PROJECTS, sizeof(struct conf_project), item_project, pin_project, done_projects},
    {T_CHECKS, sizeof(struct conf_check), item_check, pin_check, done_checks},
    {T_ALERTS, sizeof(struct conf_rule), item_alert, pin_nothing, done_alerts},
};
#define N_LIST_KEYS (sizeof(list_keys) / sizeof(list_keys[0]))

static bool is_list_key(int key)
{
    for (size_t i = 0; i < N_LIST_KEYS; i++)
        if (list_keys[i].key == (enum top)key)
            return true;
    return false;
}

/* The lists of one file, copied out of its tree into chunks. */
static void read_lists(struct load *ld, const struct conf_node *const *top)
{
    struct conf_ctx *ctx = ld->ctx;
    for (size_t k = 0; k < N_LIST_KEYS && !ctx->nomem; k++) {
        const struct list_key *lk = &list_keys[k];
        const struct conf_node *n = top[lk->key];
        ld->cur[lk->key] = NULL;
        if (!n || conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ) || !n->n)
            continue;
        struct chunk *ch = base_arena_calloc(&ld->keep, sizeof(*ch));
        if (!ch || !(ch->items = base_arena_calloc(&ld->keep, n->n * lk->size))) {
            ctx->nomem = true;
            return;
        }
        for (const struct conf_node *it = n->child; it && !ctx->nomem; it = it->next)
            if (lk->item(ld, it, (char *)ch->items + ch->n * lk->size))
                ch->n++;
        if (ld->tail[lk->key])
            ld->tail[lk->key]->next = ch;
        else
            ld->head[lk->key] = ch;
        ld->tail[lk->key] = ch;
        ld->cur[lk->key] = ch;
    }
}

/* Before a file's tree goes while another file follows: the positions of
 * its ids, for duplicates found later. (After the last file, none.) */
static void pin_ids(struct load *ld)
{
    for (size_t k = 0; k < N_LIST_KEYS && !ld->ctx->nomem; k++) {
        const struct list_key *lk = &list_keys[k];
        const struct chunk *ch = ld->cur[lk->key];
        for (size_t i = 0; ch && i < ch->n; i++)
            lk->pin(ld, (const char *)ch->items + i * lk->size);
    }
}

/* Every list into one array in the conf, then the project references that
 * no file declared. */
static void finish_lists(struct load *ld)
{
    struct conf_ctx *ctx = ld->ctx;
    for (size_t k = 0; k < N_LIST_KEYS && !ctx->nomem; k++) {
        const struct list_key *lk = &list_keys[k];
        size_t total = 0;
        for (const struct chunk *ch = ld->head[lk->key]; ch; ch = ch->next)
            total += ch->n;
        char *items = total ? conf_value_alloc(ctx, total * lk->size) : NULL;
        if (total && !items)
            return;
        size_t at = 0;
        for (const struct chunk *ch = ld->head[lk->key]; ch; ch = ch->next) {
            if (ch->n)
                memcpy(items + at * lk->size, ch->items, ch->n * lk->size);
            at += ch->n;
        }
        lk->done(ctx->conf, items, total);
    }
    ctx->projects = ctx->conf->projects; /* for "did you mean" */
    ctx->n_projects = ctx->conf->n_projects;
    for (const struct conf_late_ref *r = ctx->late_refs; r && !ctx->nomem; r = r->next)
        if (!base_map_get(&ld->projects, r->id))
            conf_check_unknown_project(ctx, r->at, r->id);
}

/* The top-level keys of one file into top[]; false when it is unusable. */
static bool read_top(struct conf_ctx *ctx, const struct conf_node *root, const struct conf_node **top)
{
    memset(top, 0, T_COUNT * sizeof(*top));
    if (conf_value_is_null(root))
        return true; /* an empty document: every default */
    if (root->kind != CONF_NODE_MAP) {
        conf_value_error(ctx, root, "expected a mapping at the top level, got %s",
                         conf_value_kind_name(root));
        return false;
    }
    conf_value_fields(ctx, root, top_names, T_COUNT, top);
    for (int i = T_SUPPORTED; i < T_COUNT; i++)
        if (top[i])
            conf_value_error(ctx, top[i]->key, "'%s' is not supported by this version of opshub yet",
                             top_names[i]);
    return true;
}

/* An included file holds only list keys; anything else is reported. */
static void check_included_top(struct conf_ctx *ctx, const struct conf_node *const *top,
                               const char *main_path)
{
    for (int i = 0; i < T_SUPPORTED; i++) {
        const struct conf_node *n = top[i];
        if (!n || is_list_key(i))
            continue;
        if (i == T_INCLUDE)
            conf_value_error(ctx, n->key, "'include' is not allowed in an included file (no nested "
                             "includes: list every pattern in %s)", main_path);
        else
            conf_value_error(ctx, n->key, "'%s' is not allowed in an included file (only projects, "
                             "checks and alerts; '%s' belongs in %s)", top_names[i], top_names[i], main_path);
    }
}

/* ctx->tmp holds one file's tree and what was built beside it (check.c's
 * key names): emptied between files. */
static void next_tree(struct conf_ctx *ctx)
{
    base_arena_free(&ctx->tmp);
    base_arena_init(&ctx->tmp, 64 * 1024);
    ctx->check_names = NULL;
    ctx->n_check_names = 0;
}

/* Reads every file the main file includes, one tree at a time. */
static void read_includes(struct load *ld, const char *main_path, const struct conf_node *const *from)
{
    struct conf_ctx *ctx = ld->ctx;
    const struct conf_node *top[T_COUNT];
    for (size_t i = 0; i < ld->n_included && !ctx->nomem; i++) {
        struct conf_node *root;
        if (conf_files_parse(ctx, ld->included[i], from[i], &root) == 0) {
            ld->files[ld->n_files++] = ld->included[i];
            if (read_top(ctx, root, top)) {
                check_included_top(ctx, top, main_path);
                read_lists(ld, top);
                if (i + 1 < ld->n_included)
                    pin_ids(ld);
            }
        } /* else reported, or a file read before */
        next_tree(ctx);
    }
}

/* The Prometheus rule files `rule_files` names, one tree at a time. */
static void read_rule_files(struct load *ld)
{
    struct conf_ctx *ctx = ld->ctx;
    struct conf *c = ctx->conf;
    if (ld->n_rule_files > CONF_RULE_FILES_MAX) {
        conf_value_error(ctx, ld->rule_from[0], "rule_files names %zu files, at most %d", ld->n_rule_files,
                         CONF_RULE_FILES_MAX);
        return;
    }
    for (size_t i = 0; i < ld->n_rule_files && !ctx->nomem; i++) {
        struct conf_node *root;
        if (conf_files_parse(ctx, ld->rule_files[i], ld->rule_from[i], &root) == 0)
            conf_rules_parse_file(ctx, root, ld->rule_files[i], &c->rule_groups, &c->n_rule_groups);
        next_tree(ctx);
    }
}

static void parse_document(struct load *ld, const struct conf_node *root)
{
    struct conf_ctx *ctx = ld->ctx;
    struct conf *c = ctx->conf;
    const struct conf_node *top[T_COUNT];
    const struct conf_node **from = NULL;
    if (!read_top(ctx, root, top))
        return;
    parse_server(ctx, top[T_SERVER]);
    parse_storage(ctx, top[T_STORAGE]);
    parse_log(ctx, top[T_LOG]);
    conf_status_page_parse(ctx, top[T_STATUS_PAGE], &c->status_page);
    parse_series(ctx, top[T_SERIES]);
    conf_remote_write_parse(ctx, top[T_REMOTE_WRITE], &c->remote_write, &c->n_remote_write);
    parse_external_labels(ctx, top[T_EXTERNAL_LABELS]);
    conf_notify_parse(ctx, top[T_NOTIFY], &c->notify);
    conf_maintenance_parse(ctx, top[T_MAINTENANCE], &c->maintenance, &c->n_maintenance);
    conf_oncall_parse(ctx, top[T_ROTATIONS], top[T_POLICIES], c);
    conf_incidents_parse(ctx, top[T_INCIDENTS], c);
    if (top[T_EVALUATION_INTERVAL] &&
        conf_value_duration(ctx, top[T_EVALUATION_INTERVAL], &c->evaluation_interval_ms) == 0 &&
        (c->evaluation_interval_ms < 100 || c->evaluation_interval_ms > 3600000))
        conf_value_error(ctx, top[T_EVALUATION_INTERVAL], "evaluation_interval must be from 100ms to 1h");
    if (top[T_INCLUDE] && ld->from_text) /* text (API, tests, fuzzing) must not read files */
        conf_value_error(ctx, top[T_INCLUDE]->key, "'include' works only in a configuration file "
                         "(this configuration was given as text)");
    else if (top[T_INCLUDE])
        conf_files_expand(ctx, top[T_INCLUDE], c->path, &ld->included, &from, &ld->n_included);
    if (top[T_RULE_FILES] && ld->from_text)
        conf_value_error(ctx, top[T_RULE_FILES]->key, "'rule_files' works only in a configuration file "
                         "(this configuration was given as text)");
    else if (top[T_RULE_FILES])
        conf_files_expand(ctx, top[T_RULE_FILES], c->path, &ld->rule_files, &ld->rule_from, &ld->n_rule_files);
    ld->files = base_arena_alloc(&ld->keep, (ld->n_included + 1) * sizeof(*ld->files));
    if (!ld->files) {
        ctx->nomem = true;
        return;
    }
    ld->files[ld->n_files++] = c->path;
    read_lists(ld, top);
    if (ld->n_included)
        pin_ids(ld);
    next_tree(ctx);
    read_includes(ld, c->path, from);
    read_rule_files(ld);
    finish_lists(ld);
    if (ctx->nomem || ctx->n_errors)
        return;
    if ((c->files = conf_value_alloc(ctx, ld->n_files * sizeof(*c->files))) != NULL) {
        memcpy(c->files, ld->files, ld->n_files * sizeof(*c->files));
        c->n_files = ld->n_files;
    }
}

/* Errors in load order: by file (the main file first), then line and column
 * (sections are parsed in a fixed order, not in file order). Stable. */
static void sort_errors(struct base_errors *errs, size_t from, const struct load *ld)
{
    size_t n = errs->len - from;
    size_t *rank = n > 1 ? base_calloc(n, sizeof(*rank)) : NULL;
    struct base_map by_name;
    base_map_init(&by_name);
    bool ok = rank != NULL; /* without memory: sorted by position alone */
    for (size_t i = ld->n_included; ok && i-- > 0;) /* the first of equal names wins */
        ok = base_map_put(&by_name, ld->included[i], (void *)(uintptr_t)(i + 2)) == 0;
    if (ok) /* the main file may match its own pattern: it stays first */
        ok = base_map_put(&by_name, ld->ctx->conf->path, (void *)(uintptr_t)1) == 0;
    for (size_t i = 0; rank && i < n; i++) {
        const char *file = errs->items[from + i].file;
        rank[i] = file ? (size_t)(uintptr_t)base_map_get(&by_name, file) : 0;
    }
    for (size_t i = 1; i < n; i++) {
        struct base_error e = errs->items[from + i];
        size_t r = rank ? rank[i] : 0, j = i;
        while (j > 0) {
            const struct base_error *p = &errs->items[from + j - 1];
            size_t pr = rank ? rank[j - 1] : 0;
            if (pr < r || (pr == r && (p->line < e.line || (p->line == e.line && p->col <= e.col))))
                break;
            errs->items[from + j] = *p;
            if (rank)
                rank[j] = pr;
            j--;
        }
        errs->items[from + j] = e;
        if (rank)
            rank[j] = r;
    }
    base_map_free(&by_name);
    base_free(rank);
}

/* One load. text/len is the main file's content, or NULL to read `name`.
 * Include patterns are relative to name's directory. */
static int load(const struct conf_check_types *types, const char *name, const char *text, size_t len,
                struct conf **out, struct base_errors *errs)
{
    struct conf_ctx ctx = {.errs = errs, .late_projects = true};
    struct load ld = {.ctx = &ctx, .from_text = text != NULL};
    struct conf_node *root = NULL;
    size_t first_error = errs ? errs->len : 0;
    int rc = 0;
    *out = NULL;
    ctx.conf = conf_alloc(name);
    if (!ctx.conf)
        return BASE_ERR_NOMEM;
    ctx.conf->types = types;
    ctx.file = ctx.conf->path;
    ctx.keep = &ld.keep;
    base_arena_init(&ld.keep, 64 * 1024);
    base_arena_init(&ctx.tmp, 64 * 1024);
    base_map_init(&ctx.files_seen);
    base_map_init(&ld.projects);
    base_map_init(&ld.project_ids);
    base_map_init(&ld.check_ids);
    if (text && len > CONF_MAX_FILE)
        conf_value_error(&ctx, NULL, "file is too large (%zu bytes; at most %u)", len, CONF_MAX_FILE);
    else if (text)
        rc = conf_yaml_parse(&ctx, text, len, &root);
    else
        rc = conf_files_parse(&ctx, ctx.file, NULL, &root);
    if (rc == 0 && !ctx.n_errors)
        parse_document(&ld, root);
    if (errs)
        sort_errors(errs, first_error, &ld);
    base_map_free(&ld.projects);
    base_map_free(&ld.project_ids);
    base_map_free(&ld.check_ids);
    base_map_free(&ctx.files_seen);
    base_arena_free(&ctx.tmp);
    base_arena_free(&ld.keep);
    if (rc != BASE_ERR_IO)
        rc = ctx.nomem ? BASE_ERR_NOMEM : ctx.n_errors ? BASE_ERR_INVALID : 0;
    if (rc) {
        conf_destroy(ctx.conf);
        return rc;
    }
    conf_index(ctx.conf);
    *out = ctx.conf;
    return 0;
}

int conf_load_rule_files(const char *const *paths, size_t n, struct conf **out, struct base_errors *errs)
{
    struct conf_ctx ctx = {.errs = errs};
    struct load ld = {.ctx = &ctx};
    size_t first_error = errs ? errs->len : 0;
    *out = NULL;
    ctx.conf = conf_alloc(n ? paths[0] : "<none>");
    if (!ctx.conf)
        return BASE_ERR_NOMEM;
    ctx.file = ctx.conf->path;
    ctx.keep = &ld.keep;
    base_arena_init(&ld.keep, 64 * 1024);
    base_arena_init(&ctx.tmp, 64 * 1024);
    base_map_init(&ctx.files_seen);
    const struct conf_node **from = base_arena_calloc(&ld.keep, (n ? n : 1) * sizeof(*from));
    const char **copies = base_arena_calloc(&ld.keep, (n ? n : 1) * sizeof(*copies));
    for (size_t i = 0; from && copies && i < n; i++)
        copies[i] = conf_value_keep(&ctx, paths[i], strlen(paths[i]));
    if (!from || !copies)
        ctx.nomem = true;
    ld.rule_files = copies;
    ld.rule_from = from;
    ld.n_rule_files = n;
    if (!ctx.nomem)
        read_rule_files(&ld);
    if (errs)
        sort_errors(errs, first_error, &ld);
    base_map_free(&ctx.files_seen);
    base_arena_free(&ctx.tmp);
    base_arena_free(&ld.keep);
    int rc = ctx.nomem ? BASE_ERR_NOMEM : ctx.n_errors ? BASE_ERR_INVALID : 0;
    if (rc) {
        conf_destroy(ctx.conf);
        return rc;
    }
    *out = ctx.conf;
    return 0;
}

int conf_load_string(const struct conf_check_types *types, const char *name, const char *text,
                     size_t len, struct conf **out, struct base_errors *errs)
{
    return load(types, name ? name : "<string>", text, len, out, errs);
}

int conf_load_file(const struct conf_check_types *types, const char *path, struct conf **out,
                   struct base_errors *errs)
{
    return load(types, path, NULL, 0, out, errs);
}

struct conf *conf_new_default(const struct conf_check_types *types, const char *self_url)
{
    /* Built through the loader, so the check gets the http type's own
     * defaults, validation and hash. The URL is quoted for YAML. */
    struct base_buf yaml;
    struct conf *c = NULL;
    base_buf_init(&yaml, 4096);
    int rc = base_buf_append_str(&yaml, "checks:\n  - {id: opshub-self, type: http, interval: 30s, timeout: 5s, url: '");
    for (const char *p = self_url ? self_url : ""; rc == 0 && *p; p++)
        rc = *p == '\'' ? base_buf_append_str(&yaml, "''") : base_buf_append(&yaml, p, 1);
    if (rc == 0)
        rc = base_buf_append_str(&yaml, "'}\n");
    if (rc == 0 && conf_load_string(types, "<default>", yaml.data, yaml.len, &c, NULL) != 0)
        c = NULL;
    base_buf_free(&yaml);
    return c;
}
