/*
 * conf/conf: the public face of the config loader: reading the file, the
 * top-level keys (server, storage, log, projects, checks), the built-in
 * default configuration, the id indices and conf_destroy. Owns each struct
 * conf and its arena until handed to the caller; on any failure frees
 * everything and returns every error found, sorted by position. YAML
 * parsing is in yaml.c, typed values in value.c, checks in check.c, ${VAR}
 * expansion in interp.c, JSON input in json.c, merging API-created
 * definitions in merge.c.
 */
#include "conf/conf_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum top {
    T_SERVER, T_STORAGE, T_LOG, T_PROJECTS, T_CHECKS, T_SUPPORTED,
    T_ALERTS = T_SUPPORTED, T_RULE_FILES, T_NOTIFY, T_MAINTENANCE, T_INCIDENTS, T_STATUS_PAGE,
    T_DEPLOYS, T_BACKUPS, T_RUNBOOKS, T_COUNT
};

static const char *const top_names[T_COUNT] = {
    "server", "storage", "log", "projects", "checks", "alerts", "rule_files", "notify",
    "maintenance", "incidents", "status_page", "deploys", "backups", "runbooks",
};

#define DEFAULT_RETENTION_SAMPLES_MS (7LL * 86400000)
#define DEFAULT_RETENTION_ROLLUPS_MS (400LL * 86400000)
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
    c->storage.retention_audit_ms = DEFAULT_RETENTION_AUDIT_MS;
    c->server.max_body = CONF_DEFAULT_REQUEST_BODY;
    c->server.access_ttl_ms = CONF_DEFAULT_ACCESS_TTL_MS;
    c->server.refresh_ttl_ms = CONF_DEFAULT_REFRESH_TTL_MS;
    c->storage.buffer_max = DEFAULT_BUFFER_MAX;
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

static void parse_server(struct conf_ctx *ctx, const struct conf_node *n)
{
    static const char *const names[] = {"listen", "base_url", "rate_limit", "global_rate_limit",
                                        "cors_origins", "tls", "max_body", "auth", "login_rate_limit",
                                        "static_dir"};
    static const char *const tls_names[] = {"cert", "key"};
    static const char *const auth_names[] = {"access_ttl", "refresh_ttl"};
    const struct conf_node *f[10], *t[2];
    struct conf_server *s = &ctx->conf->server;
    if (!section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 10, f);
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
    if (f[7] && section_map(ctx, f[7])) {
        conf_value_fields(ctx, f[7], auth_names, 2, t);
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
    static const char *const retention_names[] = {"samples", "rollups", "audit"};
    const struct conf_node *f[3], *r[3];
    struct conf_storage *s = &ctx->conf->storage;
    long long v;
    if (!section_map(ctx, n))
        return;
    conf_value_fields(ctx, n, names, 3, f);
    if (f[0])
        parse_storage_url(ctx, f[0], s);
    if (f[1] && section_map(ctx, f[1])) {
        conf_value_fields(ctx, f[1], retention_names, 3, r);
        if (r[0])
            conf_value_duration(ctx, r[0], &s->retention_samples_ms);
        if (r[1])
            conf_value_duration(ctx, r[1], &s->retention_rollups_ms);
        if (r[2])
            conf_value_duration(ctx, r[2], &s->retention_audit_ms);
    }
    if (f[2] && conf_value_int(ctx, f[2], 1, BUFFER_MAX_LIMIT, &v) == 0)
        s->buffer_max = (size_t)v;
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

static void parse_projects(struct conf_ctx *ctx, const struct conf_node *n, struct base_map *by_id)
{
    struct conf *c = ctx->conf;
    struct base_map seen; /* id -> first node, for "first defined at line N" */
    if (conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    c->projects = conf_value_alloc(ctx, n->n * sizeof(*c->projects));
    if (!c->projects)
        return;
    base_map_init(&seen);
    for (const struct conf_node *item = n->child; item && !ctx->nomem; item = item->next) {
        struct conf_project *p = &c->projects[c->n_projects];
        if (conf_project_parse_one(ctx, item, p, &seen))
            continue;
        if (base_map_put(by_id, p->id, p) != 0) {
            ctx->nomem = true;
            break;
        }
        c->n_projects++;
    }
    base_map_free(&seen);
}

/* ---- the document ---- */

static void parse_root(struct conf_ctx *ctx, const struct conf_node *root)
{
    const struct conf_node *f[T_COUNT];
    struct base_map projects;
    if (conf_value_is_null(root))
        return; /* an empty document: every default */
    if (root->kind != CONF_NODE_MAP) {
        conf_value_error(ctx, root, "expected a mapping at the top level, got %s",
                         conf_value_kind_name(root));
        return;
    }
    conf_value_fields(ctx, root, top_names, T_COUNT, f);
    for (int i = T_SUPPORTED; i < T_COUNT; i++)
        if (f[i])
            conf_value_error(ctx, f[i]->key, "'%s' is not supported by this version of opshub yet",
                             top_names[i]);
    parse_server(ctx, f[T_SERVER]);
    parse_storage(ctx, f[T_STORAGE]);
    parse_log(ctx, f[T_LOG]);
    /* Projects before checks whatever the file order: checks refer to them. */
    base_map_init(&projects);
    if (f[T_PROJECTS])
        parse_projects(ctx, f[T_PROJECTS], &projects);
    ctx->projects = ctx->conf->projects;
    ctx->n_projects = ctx->conf->n_projects;
    if (f[T_CHECKS] && !ctx->nomem)
        conf_check_parse_list(ctx, f[T_CHECKS], &projects);
    base_map_free(&projects);
}

/* Sections are parsed in a fixed order; report errors in file order (stable). */
static void sort_errors(struct base_errors *errs, size_t from)
{
    for (size_t i = from + 1; i < errs->len; i++) {
        struct base_error e = errs->items[i];
        size_t j = i;
        while (j > from && (errs->items[j - 1].line > e.line ||
                            (errs->items[j - 1].line == e.line && errs->items[j - 1].col > e.col))) {
            errs->items[j] = errs->items[j - 1];
            j--;
        }
        errs->items[j] = e;
    }
}

int conf_load_string(const struct conf_check_types *types, const char *name, const char *text,
                     size_t len, struct conf **out, struct base_errors *errs)
{
    struct conf_ctx ctx = {.errs = errs, .file = name ? name : "<string>"};
    struct conf_node *root = NULL;
    size_t first_error = errs ? errs->len : 0;
    int rc = 0;
    *out = NULL;
    if (len > CONF_MAX_FILE) {
        conf_value_error(&ctx, NULL, "file is too large (%zu bytes; at most %u)", len, CONF_MAX_FILE);
        return BASE_ERR_INVALID;
    }
    ctx.conf = conf_alloc(ctx.file);
    if (!ctx.conf)
        return BASE_ERR_NOMEM;
    ctx.conf->types = types;
    base_arena_init(&ctx.tmp, 64 * 1024);
    if (conf_yaml_parse(&ctx, text, len, &root) == 0)
        parse_root(&ctx, root);
    base_arena_free(&ctx.tmp);
    if (errs)
        sort_errors(errs, first_error);
    if (ctx.nomem)
        rc = BASE_ERR_NOMEM;
    else if (ctx.n_errors)
        rc = BASE_ERR_INVALID;
    if (rc) {
        conf_destroy(ctx.conf);
        return rc;
    }
    conf_index(ctx.conf);
    *out = ctx.conf;
    return 0;
}

int conf_load_file(const struct conf_check_types *types, const char *path, struct conf **out,
                   struct base_errors *errs)
{
    char *text = NULL;
    size_t len = 0;
    int rc = BASE_ERR_IO;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto io_fail;
    /* Read one byte past the limit so an oversized file is recognised. */
    text = base_malloc(CONF_MAX_FILE + 2);
    if (!text) {
        rc = BASE_ERR_NOMEM;
        goto fail;
    }
    while (len <= CONF_MAX_FILE) {
        ssize_t r = read(fd, text + len, CONF_MAX_FILE + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto io_fail;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    fd = -1;
    text[len] = '\0';
    rc = conf_load_string(types, path, text, len, out, errs);
    base_free(text);
    return rc;
io_fail:
    if (errs && base_errors_add(errs, path, 0, 0, NULL, "cannot read: %s", strerror(errno)) != 0)
        rc = BASE_ERR_NOMEM;
fail:
    if (fd >= 0)
        close(fd);
    base_free(text);
    return rc;
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
