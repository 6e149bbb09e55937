/*
 * conf/conf: the configuration model (docs/api.md, docs/checks.md) and its YAML loader. A
 * struct conf is immutable once loaded and owns all its memory in one arena;
 * reload builds a new one and swaps it in. The loader reports every error it
 * finds as FILE:LINE:COL into a struct base_errors, never only the first.
 * Checks and projects created through the API arrive as JSON and go through
 * the very same validation (conf_check_from_json), errors naming JSON paths.
 */
#ifndef CONF_CONF_H
#define CONF_CONF_H

#include "base/arena.h"
#include "base/cidr.h"
#include "base/cron.h"
#include "base/err.h"
#include "base/map.h"
#include "conf/check.h"
#include "conf/incidents.h"
#include "conf/notify.h"
#include "conf/rules.h"
#include "conf/status_page.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_ID_MAX 63
#define CONF_DEFAULT_LISTEN "127.0.0.1:4000"
#define CONF_DEFAULT_INTERVAL_MS 60000
#define CONF_DEFAULT_TIMEOUT_MS 10000
#define CONF_MAX_BODY_LIMIT (16 * 1024 * 1024)
#define CONF_DEFAULT_REQUEST_BODY (1024 * 1024)
#define CONF_DEFAULT_ACCESS_TTL_MS (15LL * 60000)
#define CONF_DEFAULT_REFRESH_TTL_MS (30LL * 86400000)
#define CONF_TRUSTED_PROXIES_MAX 64

struct conf_project {
    const char *id;
    const char *name;
    const char **environments;
    size_t n_environments;
    enum conf_source source;      /* set by conf_merge_checks for extra projects */
};

/* server.auth.github and server.auth.oidc: single sign-on (docs/sso.md).
 * Strings are in the conf arena; secrets are never logged or quoted. */
#define CONF_SSO_ROLES_MAX 64
#define CONF_SSO_SCOPES_MAX 16
struct conf_sso_role {
    const char *org;       /* github: an organisation's login (case-insensitive) */
    const char *team;      /* github: a team slug of org; NULL: any member of org */
    const char *value;     /* oidc: a value of role_claim */
    int role;              /* 1 viewer, 2 operator, 3 admin (enum auth_role) */
};
struct conf_github {
    bool set;              /* the block is present */
    const char *client_id, *client_secret; /* NULL: GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET */
    const char *api_url;   /* NULL: https://api.github.com */
    const char *oauth_url; /* NULL: https://github.com */
    const struct conf_sso_role *roles;
    size_t n_roles;
};
struct conf_oidc {
    bool set;
    const char *name;      /* shown on the login page; NULL: "OpenID Connect" */
    const char *issuer, *client_id;
    const char *client_secret; /* NULL: a public client (PKCE only) */
    const char *const *scopes; /* NULL: openid, email, profile */
    size_t n_scopes;
    const char *role_claim;    /* NULL: "groups" */
    const struct conf_sso_role *roles;
    size_t n_roles;
    int default_role;      /* 0 none (refused without a matching value), 1 viewer */
};

struct conf_server {
    const char *listen;      /* NULL when not in the file; the app applies --listen, OPSHUB_LISTEN, then 127.0.0.1:4000 */
    const char *base_url;    /* may be NULL */
    const char *rate_limit;  /* per token/user/IP, "120/min"; NULL = 120/min */
    const char *global_rate_limit; /* whole API, every client together; NULL = 6000/min */
    const char *login_rate_limit;  /* login/refresh per address; NULL = 10/min */
    const char *cors_origins;/* comma-separated allowed origins; NULL = CORS_ORIGINS env, else none */
    const char *tls_cert;    /* PEM certificate chain file; with tls_key, the listener speaks TLS */
    const char *tls_key;     /* PEM private key file */
    size_t max_body;         /* request body limit; default 1 MiB */
    const char *static_dir;  /* files served under /assets/ (http/static); NULL = none */
    int64_t access_ttl_ms;   /* auth.access_ttl: access JWT lifetime; default 15m */
    int64_t refresh_ttl_ms;  /* auth.refresh_ttl: refresh token lifetime; default 30d */
    struct conf_github github; /* auth.github */
    struct conf_oidc oidc;     /* auth.oidc */
    /* trusted_proxies: networks whose Forwarded / X-Forwarded-For headers
     * name the client (http/proxy); NULL, 0 = none: the peer is the client. */
    const struct base_cidr *trusted_proxies;
    size_t n_trusted_proxies; /* at most CONF_TRUSTED_PROXIES_MAX */
    /* metrics_auth: what GET /metrics requires (as Prometheus' scrape
     * config sends it): a bearer token, or a username and password (HTTP
     * Basic); all NULL = public (rate limited per address). Secrets: never
     * logged or quoted in errors. */
    const char *metrics_bearer_token;
    const char *metrics_username;
    const char *metrics_password;
};

/* server.metrics_auth: secrets of at least this many characters (a scrape
 * credential is machine-made; a short one could be guessed), at most MAX. */
#define CONF_METRICS_SECRET_MIN 16
#define CONF_METRICS_SECRET_MAX 1024

struct conf_storage {
    const char *url;              /* sqlite://PATH or postgres://...; NULL when not in the file (the app then uses DATABASE_URL or sqlite://<data>/opshub.db) */
    int64_t retention_samples_ms; /* default 7d */
    int64_t retention_rollups_ms; /* hourly rollups (`hours`, or its older name `rollups`); default 400d */
    int64_t retention_minutes_ms; /* minute rollups; default 30d */
    int64_t retention_audit_ms;   /* default 365d */
    size_t buffer_max;            /* samples held while the database is away; default 100000 */
};

/* `series:`: the in-memory series of the alert rules and the query API. */
#define CONF_SERIES_WINDOW_MS (6LL * 3600000)
#define CONF_SERIES_WINDOW_MAX_MS (7LL * 86400000)
#define CONF_SERIES_MAX_SERIES 1000000
#define CONF_SERIES_MAX_SERIES_LIMIT 100000000
#define CONF_SERIES_MAX_MEMORY (1024u * 1024 * 1024)
#define CONF_SERIES_MAX_MEMORY_LIMIT ((size_t)256 * 1024 * 1024 * 1024)
struct conf_series {
    int64_t window_ms;            /* samples kept in memory; default 6h */
    size_t max_series;            /* default 1,000,000 */
    size_t max_memory;            /* bytes; default 1GiB */
};

/* remote_write: one remote the series are streamed to (docs/alerts.md). */
#define CONF_REMOTE_WRITE_TIMEOUT_MS 30000
#define CONF_REMOTE_WRITE_CAPACITY 100000
#define CONF_REMOTE_WRITE_CAPACITY_MAX 10000000
#define CONF_REMOTE_WRITE_BATCH 2000
#define CONF_REMOTE_WRITE_BATCH_MAX 100000
#define CONF_REMOTE_WRITE_DEADLINE_MS 5000
#define CONF_REMOTE_WRITE_MIN_BACKOFF_MS 30
#define CONF_REMOTE_WRITE_MAX_BACKOFF_MS 5000
struct conf_remote_write {
    const char *url;              /* http(s)://.../api/v1/write */
    const char *name;             /* NULL: the URL's host and port name it */
    int64_t timeout_ms;           /* remote_timeout */
    struct conf_kv *headers;
    size_t n_headers;
    const char *username, *password; /* basic_auth */
    const char *bearer_token;
    size_t capacity;              /* queue_config.capacity: samples waiting, at most */
    size_t max_samples_per_send;
    int64_t batch_send_deadline_ms;
    int64_t min_backoff_ms, max_backoff_ms;
};

/* maintenance: a window during which matching alerts are recorded but
 * not sent (docs/notifications.md). */
#define CONF_MAINTENANCE_MAX 1000
struct conf_maintenance {
    const char *id;
    const char *description;      /* NULL: none */
    const char *schedule;         /* recurring: the cron text; NULL for a one-off window */
    struct base_cron cron;
    int64_t duration_ms;
    const char *timezone;         /* the schedule's zone (system tz database); "UTC" by default */
    int64_t from_ms, to_ms;       /* one-off */
    const char **projects;        /* the alerts whose `project` label is one of these */
    size_t n_projects;
    const struct conf_matcher *matchers; /* ...and/or every matcher matches */
    size_t n_matchers;
    bool public;                  /* shown on the status page; default true */
    int line;
};

struct conf_log {
    int level;                    /* enum base_log_level */
    int format;                   /* enum base_log_format; -1 = auto (text on a terminal) */
    int keys;                     /* enum base_log_keys: the keys of JSON lines; default opshub's own */
    const char *service;          /* the `service` of JSON lines with keys: service; NULL = "opshub" */
};

struct conf {
    struct base_arena arena;      /* owns every string and array below */
    const char *path;             /* file it was loaded from, or "<default>" */
    const struct conf_check_types *types; /* the check types it was loaded with (borrowed, static) */
    const char **files;           /* every file read: path, then the included ones in load order */
    size_t n_files;               /* 0 for the built-in default and API definitions */
    struct conf_server server;
    struct conf_storage storage;
    struct conf_log log;
    struct conf_status_page status_page;
    struct conf_series series;
    struct conf_remote_write *remote_write;
    size_t n_remote_write;
    struct conf_kv *external_labels;  /* `external_labels:`: added to what remote_write sends, $externalLabels */
    size_t n_external_labels;
    struct conf_notify notify;    /* `notify:` (conf/notify.h) */
    struct conf_maintenance *maintenance;
    size_t n_maintenance;
    const struct conf_rotation *rotations;   /* `rotations:` (conf/oncall.h) */
    size_t n_rotations;
    const struct conf_policy *policies;      /* `escalation_policies:` */
    size_t n_policies;
    struct conf_incidents incidents;         /* `incidents:` (conf/incidents.h); defaults when absent */
    struct conf_rule *alerts;     /* `alerts:` of every file (conf/rules.h) */
    size_t n_alerts;
    struct conf_rule_group *rule_groups; /* the groups of the files `rule_files:` names */
    int64_t evaluation_interval_ms;   /* `evaluation_interval:` of alerts: and of groups without one; 15s */
    size_t n_rule_groups;
    struct conf_project *projects;
    size_t n_projects;
    struct conf_check *checks;
    size_t n_checks;
    /* id -> check / project, built when a load or a merge succeeds, so a
     * lookup is O(1) at 100,000 checks (linear when not built). */
    struct base_map check_index, project_index;
    bool indexed;
};

/* Loads and validates a YAML file and the files it includes; checks may
 * be of the given types (a static registry, borrowed: probe_registry_types()
 * in the daemon). On success *out is a new conf (caller destroys it) and 0
 * is returned. On failure returns BASE_ERR_INVALID (BASE_ERR_IO when the
 * main file cannot be read, BASE_ERR_NOMEM), *out is NULL and errs holds
 * every error of every file as FILE:LINE:COL, file by file. ${VAR} and
 * ${VAR:-default} are expanded in every scalar using getenv; an unset
 * variable without default is an error.
 * `include:` names more files by a list of glob(3) patterns (with `*`,
 * `?`, `[...]`), relative to the main file's directory unless absolute:
 * each pattern's matches in sorted order, patterns in the order given, no
 * file twice, directories skipped; a pattern that matches nothing is fine
 * (logged), a path without glob characters must exist. Included files hold
 * only `projects` and `checks` (no nesting); their lists follow the main
 * file's, ids are unique across all files and checks may name projects of
 * any file. At most 8 MiB a file, 10,000 files and 64 MiB in all. */
/* Prometheus rule files alone (`opshub rules check`): a conf holding only
 * their rule_groups; errors as for conf_load_file. */
int conf_load_rule_files(const char *const *paths, size_t n, struct conf **out, struct base_errors *errs);
int conf_load_file(const struct conf_check_types *types, const char *path, struct conf **out,
                   struct base_errors *errs);
/* Same, from memory; `name` is used as FILE in messages. Text reads no
 * other file: `include` is an error here. */
int conf_load_string(const struct conf_check_types *types, const char *name, const char *text,
                     size_t len, struct conf **out, struct base_errors *errs);
/* The built-in configuration used when no file exists: defaults and an
 * http check "opshub-self" of self_url (opshub's own /healthz). NULL on OOM
 * or when types has no http type or self_url is not a valid URL. */
struct conf *conf_new_default(const struct conf_check_types *types, const char *self_url);
void conf_destroy(struct conf *c);

/* Lookup by id; NULL when absent. Pointers borrowed from c. */
const struct conf_check *conf_check_find(const struct conf *c, const char *id);
const struct conf_project *conf_project_find(const struct conf *c, const char *id);

/* ---- JSON: checks and projects created through the API ---- */

#define CONF_JSON_FIELD_MAX 192   /* like HTTP_BODY_PATH_MAX; longer paths are cut */
#define CONF_JSON_MESSAGE_MAX 320

/* The first problem in document order. `field` is the JSON path of the bad
 * value: members joined with '.', array items as [i] ("expect.status[1]",
 * "labels.team"; keys cut to 64 bytes, control characters as '?'); "" means
 * the whole object. A missing member is named by its path ("url"). `message`
 * is the config loader's message for the same mistake, without FILE:LINE:COL
 * ("bad duration '5x' (expected e.g. 500ms, 30s, 5m, 1h30m, 7d)"); it does
 * not repeat the field. "out of memory" (field "") on BASE_ERR_NOMEM. */
struct conf_json_error {
    char field[CONF_JSON_FIELD_MAX];
    char message[CONF_JSON_MESSAGE_MAX];
};

/* Validates ONE check given as a JSON object with the fields of a `checks:`
 * entry (strings, numbers and booleans are read as the YAML loader reads
 * the same scalars: "interval": "30s", "confirm": 2, "enabled": false).
 * Strings are taken literally: no ${VAR} expansion for API input. `project`
 * must name a project of `base`; the id must not be a check of `base` (base
 * may be NULL: no projects, no checks). On success *out is a new conf
 * (caller destroys it) with n_checks == 1, checks[0] carrying the same
 * defaults and hash as from the YAML loader, line/col 0, no projects (the
 * project id is copied), path "<api>", other sections at their defaults.
 * Returns 0; BASE_ERR_INVALID with *err (may be NULL) set; BASE_ERR_EXISTS
 * when the only problem is an id already in base (err->field "id");
 * BASE_ERR_NOMEM. *out is NULL on failure. */
int conf_check_from_json(const struct conf_check_types *types, const json_t *obj, const struct conf *base,
                         struct conf **out, struct conf_json_error *err);
/* Same for one project ({"id", "name", "environments"}); the id must not be
 * a project of base. On success (*out)->projects[0] is it, no checks. */
int conf_project_from_json(const json_t *obj, const struct conf *base, struct conf **out,
                           struct conf_json_error *err);
/* The canonical JSON object of a check (new reference, NULL on OOM): the
 * common fields then the type's, each with its effective value, as the
 * field tables render them (durations as "30s", sizes in bytes, unset
 * strings omitted), no line/col. Feeding it to conf_check_from_json gives a
 * check with the same hash. */
json_t *conf_check_to_json(const struct conf_check *c);
/* The JSON object of a project: {"id", "name", "environments": [...]}. */
json_t *conf_project_to_json(const struct conf_project *p);
/* A new conf (caller destroys it) = a deep copy of base (server, storage,
 * log, projects, checks) followed by the projects and then the checks of
 * extra[0..n) in order, all copied into the new arena; every check keeps its
 * hash and line/col, so sched reload diffing works, and the projects and
 * checks of extra get source CONF_SOURCE_API. Project references of
 * the extra checks are resolved in the merged list. Returns 0;
 * BASE_ERR_EXISTS on a check or project id present twice; BASE_ERR_INVALID
 * when a check names a project that is not there; BASE_ERR_NOMEM. *out is
 * NULL on failure. */
int conf_merge_checks(const struct conf *base, const struct conf *const *extra, size_t n,
                      struct conf **out);

#endif
