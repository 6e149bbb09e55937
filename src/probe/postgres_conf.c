/*
 * probe/postgres_conf: the settings of the postgres check type and the
 * pure helpers of its runs (see postgres_conf.h). The URL is parsed only
 * by libpq's PQconninfoParse (no I/O), so what is validated at load is
 * what libpq will use; no message built here ever quotes the URL or its
 * password.
 */
#include "probe/postgres_conf.h"
#include "probe/probe_int.h"

#include "base/alloc.h"
#include "base/duration.h"
#include "base/err.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SHOWN_MAX 72

/* ---- thresholds ---- */

enum sample_result probe_postgres_conf_judge(const struct probe_postgres_conf *c, double used, double max,
                                             double lag_s, char *err, size_t n)
{
    enum sample_result r = SAMPLE_UP;
    err[0] = '\0';
    if (max > 0 && used >= 0) {
        double ratio = used / max;
        bool crit = ratio > c->connections_crit;
        if (crit || ratio > c->connections_warn) {
            r = crit ? SAMPLE_DOWN : SAMPLE_DEGRADED;
            snprintf(err, n, "connections_used_ratio %.4g is above %s %.4g (%.0f of %.0f)", ratio,
                     crit ? "connections_crit" : "connections_warn",
                     crit ? c->connections_crit : c->connections_warn, used, max);
        }
    }
    if (lag_s >= 0 && r != SAMPLE_DOWN) {
        bool crit = lag_s * 1000.0 > (double)c->replication_lag_crit_ms;
        bool warn = lag_s * 1000.0 > (double)c->replication_lag_warn_ms;
        if (crit || (warn && r == SAMPLE_UP)) {
            char limit[32];
            r = crit ? SAMPLE_DOWN : SAMPLE_DEGRADED;
            base_duration_format(crit ? c->replication_lag_crit_ms : c->replication_lag_warn_ms, limit,
                                 sizeof(limit));
            snprintf(err, n, "replication_lag_seconds %.1f is above %s %s", lag_s,
                     crit ? "replication_lag_crit" : "replication_lag_warn", limit);
        }
    }
    return r;
}

/* ---- messages ---- */

static void scrub(char *s, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    if (!sl)
        return;
    char *p = s;
    while ((p = strstr(p, secret)) != NULL) {
        size_t put = sl < 3 ? sl : 3;  /* never longer than what it replaces */
        memset(p, '*', put);
        memmove(p + put, p + sl, strlen(p + sl) + 1);
        p += put;
    }
}

static bool skip_prefix(const char **s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(*s, prefix, n) != 0)
        return false;
    *s += n;
    return true;
}

void probe_postgres_conf_clean_message(const char *msg, const char *const *secrets, char *out, size_t n)
{
    if (!n)
        return;
    out[0] = '\0';
    char *buf = base_strdup(msg ? msg : "");
    if (!buf) {
        snprintf(out, n, "(message withheld: out of memory)");
        return;
    }
    for (size_t i = 0; secrets && secrets[i]; i++)
        scrub(buf, secrets[i]);
    const char *pick = NULL;
    for (char *line = buf, *next; line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        if (!*line || isspace((unsigned char)*line) || !strncmp(line, "DETAIL:", 7) || !strncmp(line, "HINT:", 5))
            continue;
        pick = line;
    }
    if (pick) {
        const char *failed = strstr(pick, " failed: ");
        if (!strncmp(pick, "connection to server ", 21) && failed)
            pick = failed + 9;
        (void)(skip_prefix(&pick, "FATAL:  ") || skip_prefix(&pick, "ERROR:  ") || skip_prefix(&pick, "PANIC:  "));
        size_t len = strlen(pick);
        while (len && isspace((unsigned char)pick[len - 1]))
            len--;
        if (len == 18 && !strncmp(pick, "Connection refused", 18))
            pick = "connection refused";
        snprintf(out, n, "%.*s", (int)len, pick);
    }
    base_free(buf);
}

/* ---- the URL ---- */

static bool has_scheme(const char *url)
{
    return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
}

/* The value of option `key` in a parsed URL, or NULL. */
static const char *opt(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val && *o->val ? o->val : NULL;
    return NULL;
}

/* The raw password: userinfo's, else a password= parameter's; NULL when none. */
static int raw_password(const char *url, char **out)
{
    *out = NULL;
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    size_t auth_len = strcspn(start, "/?#");
    const char *at = memchr(start, '@', auth_len);
    const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
    if (colon && at > colon + 1)
        return (*out = base_strndup(colon + 1, (size_t)(at - colon - 1))) ? 0 : BASE_ERR_NOMEM;
    const char *q = strchr(url, '?');
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        size_t len = strcspn(p, "&#");
        if (len > 9 && !strncmp(p, "password=", 9))
            return (*out = base_strndup(p + 9, len - 9)) ? 0 : BASE_ERR_NOMEM;
        p += len;
        p = *p == '&' ? p + 1 : NULL;
    }
    return 0;
}

int probe_postgres_conf_passwords(const char *url, char **raw, char **decoded)
{
    *decoded = NULL;
    if (raw_password(url, raw) != 0)
        return BASE_ERR_NOMEM;
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    const char *pw = opt(opts, "password");
    if (pw && !(*decoded = base_strdup(pw))) {
        PQconninfoFree(opts);
        base_free(*raw);
        *raw = NULL;
        return BASE_ERR_NOMEM;
    }
    PQconninfoFree(opts);
    return 0;
}

/* Appends item number i to a list (",item" after the first; items may be
 * empty); false when it does not fit. */
static bool list_add(char *list, size_t cap, size_t i, const char *item, size_t len)
{
    size_t at = strlen(list);
    size_t need = (i ? 1 : 0) + len + 1;
    if (at + need > cap)
        return false;
    if (i)
        list[at++] = ',';
    memcpy(list + at, item, len);
    list[at + len] = '\0';
    return true;
}

static size_t count_items(const char *list)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

/* The i-th item of a comma list: pointer and length. */
static const char *item_at(const char *list, size_t i, size_t *len)
{
    while (i-- > 0) {
        const char *c = strchr(list, ',');
        list = c ? c + 1 : list + strlen(list);
    }
    *len = strcspn(list, ",");
    return list;
}

int probe_postgres_conf_hosts_expand(const char *url, char *host, size_t hn, char *addr, size_t an, char *port,
                                     size_t pn)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    const char *h = opt(opts, "host"), *pt = opt(opts, "port");
    int rc = 0;
    size_t n_host = h ? count_items(h) : 0, n_port = pt ? count_items(pt) : 0, total = 0;
    host[0] = addr[0] = port[0] = '\0';
    if (!opts || n_host < 2 || opt(opts, "hostaddr") || (n_port > 1 && n_port != n_host))
        goto out;
    bool fits = true;
    for (size_t i = 0; i < n_host && fits; i++) {
        size_t hl, pl = 0;
        const char *name = item_at(h, i, &hl);
        const char *p = n_port == 0 ? "" : item_at(pt, n_port == 1 ? 0 : i, &pl);
        char one[256];
        if (hl == 0 || hl >= sizeof(one) || name[0] == '/' || name[0] == '@') {
            /* a socket directory (or the default): nothing to resolve */
            if (total < PROBE_POSTGRES_ADDRS_MAX)
                fits = list_add(host, hn, total, name, hl) && list_add(addr, an, total, "", 0) &&
                       list_add(port, pn, total, p, pl);
            total++;
            continue;
        }
        memcpy(one, name, hl);
        one[hl] = '\0';
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        if (getaddrinfo(one, NULL, &hints, &res) != 0)
            continue;
        for (struct addrinfo *ai = res; ai && fits && total < PROBE_POSTGRES_ADDRS_MAX; ai = ai->ai_next) {
            char ip[NI_MAXHOST];
            if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST) != 0)
                continue;
            fits = list_add(host, hn, total, one, hl) && list_add(addr, an, total, ip, strlen(ip)) &&
                   list_add(port, pn, total, p, pl);
            total++;
        }
        freeaddrinfo(res);
    }
    if (!fits) {
        host[0] = addr[0] = port[0] = '\0';
        goto out;  /* too long to expand: libpq gets the URL as it is */
    }
    if (total == 0) {
        snprintf(host, hn, "could not resolve any of the %zu hosts of the URL", n_host);
        rc = -1;
        goto out;
    }
    rc = 1;
out:
    PQconninfoFree(opts);
    return rc;
}

/* ---- settings ---- */

static int nothing_to_copy(void *field, struct base_arena *a)
{
    return 0;
}


/* expect_rows: unset (-1, left out of the JSON) or 0..PROBE_POSTGRES_ROWS_MAX. */
static int rows_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    long long v;
    if (conf_value_int(ctx, n, 0, PROBE_POSTGRES_ROWS_MAX, &v) != 0)
        return -1;
    *(int *)field = (int)v;
    return 0;
}

static void rows_hash(uint64_t *h, const void *field)
{
    conf_schema_hash_int(h, *(const int *)field);
}

static int rows_json(const void *field, json_t **out)
{
    int v = *(const int *)field;
    *out = NULL;
    if (v < 0)
        return 0;
    *out = json_integer(v);
    return *out ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops rows_ops = {rows_parse, rows_hash, nothing_to_copy, rows_json};

#define F(m) offsetof(struct probe_postgres_conf, m)
const struct conf_field probe_postgres_conf_fields[] = {
    CONF_FIELD("url", CONF_FIELD_STRING, F(url), CONF_FIELD_REQUIRED | CONF_FIELD_SECRET,
     "libpq URL postgres://user:password@host:port/dbname?param=value (sealed at rest, never shown)",
               .example = "'postgres://monitor@db.example.com:5432/app?sslmode=require'"),
    CONF_FIELD("query", CONF_FIELD_STRING, F(query), 0, "SQL run after connecting; default SELECT 1",
               .example = "'SELECT 1 FROM orders LIMIT 1'"),
    CONF_FIELD("expect_rows", CONF_FIELD_CUSTOM, F(expect_rows), 0,
     "The query must return exactly this many rows, else the sample is down; default any", .ops = &rows_ops,
               .example = "1"),
    CONF_FIELD("connections_warn", CONF_FIELD_CUSTOM, F(connections_warn), 0,
     "Above this connections_used_ratio (0..1 or a percentage) the sample is degraded; default 0.8",
               .ops = &probe_host_ratio_ops, .example = "0.7"),
    CONF_FIELD("connections_crit", CONF_FIELD_CUSTOM, F(connections_crit), 0,
     "Above this connections_used_ratio the sample is down; default 0.95", .ops = &probe_host_ratio_ops, .example = "90%"),
    CONF_FIELD("replication_lag_warn", CONF_FIELD_DURATION, F(replication_lag_warn_ms), 0,
     "On a replica, a replication lag above this makes the sample degraded; default 5s", .example = "10s"),
    CONF_FIELD("replication_lag_crit", CONF_FIELD_DURATION, F(replication_lag_crit_ms), 0,
     "On a replica, a replication lag above this makes the sample down; default 30s", .example = "2m"),
    CONF_FIELD_END,
};
#undef F

int probe_postgres_conf_init(void *settings, struct base_arena *a)
{
    struct probe_postgres_conf *c = settings;
    c->expect_rows = -1;
    c->connections_warn = PROBE_POSTGRES_DEFAULT_CONN_WARN;
    c->connections_crit = PROBE_POSTGRES_DEFAULT_CONN_CRIT;
    c->replication_lag_warn_ms = PROBE_POSTGRES_DEFAULT_LAG_WARN_MS;
    c->replication_lag_crit_ms = PROBE_POSTGRES_DEFAULT_LAG_CRIT_MS;
    return 0;
}

/* The first of two members present, else the map: where a cross-field error goes. */
static const struct conf_node *either(const struct conf_node *map, const char *a, const char *b)
{
    const struct conf_node *n = conf_value_member(map, a);
    if (!n)
        n = conf_value_member(map, b);
    return n ? n : map;
}

static void validate_url(struct conf_ctx *ctx, const struct conf_node *at, const char *url)
{
    char shown[SHOWN_MAX];
    if (strlen(url) > PROBE_POSTGRES_URL_MAX) {
        conf_value_error(ctx, at, "url is longer than %d bytes", PROBE_POSTGRES_URL_MAX);
        return;
    }
    if (!has_scheme(url)) {
        /* a key=value connection string would be quoted password and all */
        if (strstr(url, "://"))
            conf_value_error(ctx, at, "url must start with postgres:// or postgresql://, got '%s'",
                             conf_value_show(at, url, true, shown, sizeof(shown)));
        else
            conf_value_error(ctx, at, "url must start with postgres:// or postgresql:// (a key=value "
                             "connection string is not accepted)");
        return;
    }
    char *msg = NULL, *raw = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (opts) {
        PQconninfoFree(opts);
        return;
    }
    /* libpq quotes the part it stumbled on, which may be the password */
    char why[160];
    if (raw_password(url, &raw) != 0) {
        conf_value_nomem(ctx);
    } else {
        const char *secrets[] = {raw, NULL};
        probe_postgres_conf_clean_message(msg ? msg : "out of memory", secrets, why, sizeof(why));
        conf_value_error(ctx, at, "url is not a valid PostgreSQL URL: %s", why);
    }
    base_free(raw);
    PQfreemem(msg);
}

void probe_postgres_conf_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_postgres_conf *c = cc->settings;
    if (c->url)
        validate_url(ctx, either(map, "url", "url"), c->url);
    if (c->query) {
        const char *at = c->query;
        while (*at && isspace((unsigned char)*at))
            at++;
        if (!*at)
            conf_value_error(ctx, either(map, "query", "query"), "query must not be empty");
        else if (strlen(c->query) > PROBE_POSTGRES_QUERY_MAX)
            conf_value_error(ctx, either(map, "query", "query"), "query is longer than %d bytes",
                             PROBE_POSTGRES_QUERY_MAX);
    }
    if (c->connections_warn > c->connections_crit)
        conf_value_error(ctx, either(map, "connections_warn", "connections_crit"),
                         "connections_warn (%g) must not be above connections_crit (%g)", c->connections_warn,
                         c->connections_crit);
    if (c->replication_lag_warn_ms > c->replication_lag_crit_ms) {
        char w[32], k[32];
        conf_value_error(ctx, either(map, "replication_lag_warn", "replication_lag_crit"),
                         "replication_lag_warn (%s) must not be above replication_lag_crit (%s)",
                         base_duration_format(c->replication_lag_warn_ms, w, sizeof(w)),
                         base_duration_format(c->replication_lag_crit_ms, k, sizeof(k)));
    }
}

void probe_postgres_conf_target(const struct conf_check *cc, char *buf, size_t n)
{
    const struct probe_postgres_conf *c = cc->settings;
    if (!n)
        return;
    buf[0] = '\0';
    PQconninfoOption *opts = c && c->url ? PQconninfoParse(c->url, NULL) : NULL;
    if (!opts) {
        snprintf(buf, n, "(invalid URL)");
        return;
    }
    const char *h = opt(opts, "host"), *pt = opt(opts, "port");
    const char *db = opt(opts, "dbname") ? opt(opts, "dbname") : opt(opts, "user");
    size_t n_host = h ? count_items(h) : 1, n_port = pt ? count_items(pt) : 0, at = 0;
    for (size_t i = 0; i < n_host && at < n; i++) {
        size_t hl = 6, pl = 4;
        const char *name = h ? item_at(h, i, &hl) : "socket";
        const char *p = n_port == 0 ? "5432" : item_at(pt, n_port == 1 ? 0 : i, &pl);
        if (!hl)
            name = "socket", hl = 6;
        if (!pl)
            p = "5432", pl = 4;
        bool v6 = memchr(name, ':', hl) != NULL;
        int w = snprintf(buf + at, n - at, "%s%s%.*s%s:%.*s", i ? "," : "", v6 ? "[" : "", (int)hl, name,
                         v6 ? "]" : "", (int)pl, p);
        at += w > 0 ? (size_t)w : 0;
    }
    if (at < n)
        snprintf(buf + at, n - at, "/%s", db ? db : "");
    PQconninfoFree(opts);
}

const struct conf_check_value probe_postgres_conf_values[] = {
    {"connections_used", "Client connections to the server (all databases), from pg_stat_activity",
     "opshub_postgres_connections_used", NULL, NULL},
    {"connections_max", "Connections open to non-superusers: max_connections - superuser_reserved_connections",
     "opshub_postgres_connections_max", NULL, NULL},
    {"connections_used_ratio", "connections_used / connections_max", "opshub_postgres_connections_used_ratio",
     NULL, NULL},
    {"in_recovery", "1 on a replica (pg_is_in_recovery()), 0 on a primary", "pg_replication_is_replica", NULL,
     NULL},
    {"replication_lag_seconds", "Replica only: 0 when all WAL received is replayed, else now() minus the last "
     "replayed transaction's time", "pg_replication_lag_seconds", NULL, NULL},
    {"database_size_bytes", "pg_database_size(current_database())", "pg_database_size_bytes", NULL, NULL},
    {"longest_transaction_seconds", "Age of the oldest open transaction of another client, 0 when none",
     "opshub_postgres_longest_transaction_seconds", NULL, NULL},
    {"latency_seconds", "Connect plus the check's query", "opshub_postgres_latency_seconds", NULL, NULL},
    {"phase_connect_seconds", "Connect: resolution, TCP, TLS and authentication", "opshub_postgres_duration_seconds",
     "phase", "connect"},
    {"phase_query_seconds", "The check's query, from sent to its last row", "opshub_postgres_duration_seconds",
     "phase", "query"},
    {"query_rows", "Rows of the query's last result (a command: the rows it changed)", "opshub_postgres_query_rows",
     NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
