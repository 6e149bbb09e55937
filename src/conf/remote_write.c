/*
 * conf/remote_write: the `remote_write:` list (see conf.h, struct
 * conf_remote_write), in Prometheus' names: url, name, remote_timeout,
 * headers, basic_auth, bearer_token, queue_config. What Prometheus has and
 * opshub does not (relabelling, metadata, sigv4, oauth2...) is refused by
 * name rather than ignored.
 */
#include "conf/conf_int.h"

#include "base/map.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RW_MAX 16

static const char *header_name_bad(const char *k)
{
    const char *why = conf_value_header_name_bad(k);
    if (why)
        return why;
    /* the protocol's own headers are opshub's to set */
    static const char *const own[] = {"content-type", "content-encoding", "content-length", "host",
                                      "x-prometheus-remote-write-version", "user-agent", "authorization"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (strcasecmp(k, own[i]) == 0)
            return "this header is set by opshub (use basic_auth or bearer_token for Authorization)";
    return NULL;
}

static const char *header_value_bad(const char *v, size_t len)
{
    const char *why = conf_value_header_value_bad(v, len);
    return why ? why : len > 4096 ? "longer than 4 KiB" : NULL;
}

/* A text without control characters (a credential). */
static int credential(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    if (conf_value_string(ctx, n, out) != 0)
        return -1;
    size_t len = strlen(*out);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)(*out)[i] < 0x20 || (*out)[i] == 0x7f) {
            conf_value_error(ctx, n, "must not contain control characters");
            return -1;
        }
    if (len == 0 || len > 4096) {
        conf_value_error(ctx, n, "must be 1 to 4096 bytes");
        return -1;
    }
    return 0;
}

static void parse_queue(struct conf_ctx *ctx, const struct conf_node *n, struct conf_remote_write *rw)
{
    static const char *const names[] = {"capacity", "max_samples_per_send", "batch_send_deadline", "min_backoff",
                                        "max_backoff", "max_shards", "min_shards", "retry_on_http_429",
                                        "sample_age_limit"};
    const struct conf_node *f[9];
    long long v;
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, n, names, 9, f);
    if (f[0] && conf_value_int(ctx, f[0], 100, CONF_REMOTE_WRITE_CAPACITY_MAX, &v) == 0)
        rw->capacity = (size_t)v;
    if (f[1] && conf_value_int(ctx, f[1], 1, CONF_REMOTE_WRITE_BATCH_MAX, &v) == 0)
        rw->max_samples_per_send = (size_t)v;
    if (f[2] && conf_value_duration(ctx, f[2], &rw->batch_send_deadline_ms) == 0 &&
        (rw->batch_send_deadline_ms < 10 || rw->batch_send_deadline_ms > 600000))
        conf_value_error(ctx, f[2], "batch_send_deadline must be from 10ms to 10m");
    if (f[3] && conf_value_duration(ctx, f[3], &rw->min_backoff_ms) == 0 &&
        (rw->min_backoff_ms < 1 || rw->min_backoff_ms > 600000))
        conf_value_error(ctx, f[3], "min_backoff must be from 1ms to 10m");
    if (f[4] && conf_value_duration(ctx, f[4], &rw->max_backoff_ms) == 0 &&
        (rw->max_backoff_ms < 1 || rw->max_backoff_ms > 3600000))
        conf_value_error(ctx, f[4], "max_backoff must be from 1ms to 1h");
    if (f[3] && f[4] && rw->min_backoff_ms > rw->max_backoff_ms)
        conf_value_error(ctx, f[4], "max_backoff is shorter than min_backoff");
    if (rw->max_samples_per_send > rw->capacity)
        conf_value_error(ctx, f[1] ? f[1] : n, "max_samples_per_send (%zu) is larger than capacity (%zu)",
                         rw->max_samples_per_send, rw->capacity);
    for (int i = 5; i < 9; i++)
        if (f[i])
            conf_value_error(ctx, f[i]->key, "queue_config.%s is not supported by opshub: one queue per remote "
                             "sends in order, retrying 429 and 5xx answers (docs/alerts.md, remote_write)",
                             names[i]);
}

static void parse_one(struct conf_ctx *ctx, const struct conf_node *item, struct conf_remote_write *rw,
                      struct base_map *names_seen)
{
    enum { F_URL, F_NAME, F_TIMEOUT, F_HEADERS, F_BASIC, F_BEARER, F_QUEUE, F_UNSUPPORTED };
    static const char *const names[] = {"url", "name", "remote_timeout", "headers", "basic_auth", "bearer_token",
                                        "queue_config",
                                        /* Prometheus' fields opshub refuses by name */
                                        "write_relabel_configs", "metadata_config", "sigv4", "oauth2", "azuread",
                                        "tls_config", "proxy_url", "send_exemplars", "send_native_histograms",
                                        "follow_redirects", "authorization", "bearer_token_file", "enable_http2"};
    enum { N = sizeof(names) / sizeof(names[0]) };
    const struct conf_node *f[N];
    rw->timeout_ms = CONF_REMOTE_WRITE_TIMEOUT_MS;
    rw->capacity = CONF_REMOTE_WRITE_CAPACITY;
    rw->max_samples_per_send = CONF_REMOTE_WRITE_BATCH;
    rw->batch_send_deadline_ms = CONF_REMOTE_WRITE_DEADLINE_MS;
    rw->min_backoff_ms = CONF_REMOTE_WRITE_MIN_BACKOFF_MS;
    rw->max_backoff_ms = CONF_REMOTE_WRITE_MAX_BACKOFF_MS;
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, N, f);
    for (size_t i = F_UNSUPPORTED; i < N; i++)
        if (f[i])
            conf_value_error(ctx, f[i]->key, "remote_write.%s is not supported by opshub (docs/alerts.md, "
                             "remote_write)", names[i]);
    if (!f[F_URL])
        conf_value_error_member(ctx, item, "url", "remote_write is missing 'url'");
    else
        conf_value_url(ctx, f[F_URL], &rw->url);
    if (f[F_NAME] && conf_value_id(ctx, f[F_NAME], &rw->name) == 0)
        conf_value_unique(ctx, names_seen, rw->name, f[F_NAME], "remote_write name");
    if (f[F_TIMEOUT] && conf_value_duration(ctx, f[F_TIMEOUT], &rw->timeout_ms) == 0 &&
        (rw->timeout_ms < 100 || rw->timeout_ms > 600000))
        conf_value_error(ctx, f[F_TIMEOUT], "remote_timeout must be from 100ms to 10m");
    if (f[F_HEADERS])
        conf_value_kv(ctx, f[F_HEADERS], header_name_bad, header_value_bad, &rw->headers, &rw->n_headers);
    if (f[F_BASIC]) {
        static const char *const bnames[] = {"username", "password", "password_file"};
        const struct conf_node *b[3];
        if (conf_value_expect(ctx, f[F_BASIC], CONF_NODE_MAP) == 0) {
            conf_value_fields(ctx, f[F_BASIC], bnames, 3, b);
            if (b[2])
                conf_value_error(ctx, b[2]->key, "password_file is not supported: write password: ${VARIABLE}");
            if (!b[0] || !b[1])
                conf_value_error(ctx, f[F_BASIC]->key, "basic_auth needs username and password");
            else if (credential(ctx, b[0], &rw->username) == 0 && strchr(rw->username, ':'))
                conf_value_error(ctx, b[0], "a basic_auth username must not contain ':'");
            if (b[1])
                credential(ctx, b[1], &rw->password);
        }
    }
    if (f[F_BEARER]) {
        if (f[F_BASIC])
            conf_value_error(ctx, f[F_BEARER]->key, "give basic_auth or bearer_token, not both");
        else
            credential(ctx, f[F_BEARER], &rw->bearer_token);
    }
    if (f[F_QUEUE])
        parse_queue(ctx, f[F_QUEUE], rw);
}

void conf_remote_write_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_remote_write **out,
                             size_t *n_out)
{
    if (!n || conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    if (n->n > RW_MAX) {
        conf_value_error(ctx, n, "remote_write lists at most %d remotes", RW_MAX);
        return;
    }
    struct conf_remote_write *rw = n->n ? conf_value_alloc(ctx, n->n * sizeof(*rw)) : NULL;
    if (n->n && !rw)
        return;
    struct base_map seen;
    base_map_init(&seen);
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        memset(&rw[k], 0, sizeof(rw[k]));
        parse_one(ctx, it, &rw[k], &seen);
        k++;
    }
    base_map_free(&seen);
    *out = rw;
    *n_out = k;
}
