/*
 * probe/redis: the redis check type. A run is one probe/conn connection
 * (TLS for rediss://, verified) and a short conversation, one command at a
 * time so that PING's round trip is its own: AUTH (when the URL has a
 * password), SELECT (when it has a database), PING, INFO. hiredis formats
 * the commands and parses the replies through reply functions of our own
 * that refuse arrays (none of these commands answers with one, and
 * hiredis 0.14 would allocate whatever element count the server claims);
 * every reply is capped in bytes before hiredis sees it. The engine keeps
 * each check's last INFO reading (engine->redis_prev) so that a run
 * reports evictions per second since the previous one. The run holds the
 * URL's password only in its own allocation, cleansed before it is freed;
 * error texts carry the server's words, never the URL.
 */
#include "probe/redis.h"

#include "base/alloc.h"
#include "probe/conn.h"
#include "probe/conn_run.h"
#include "probe/probe_int.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 120
#define STATES_MAX 4096     /* checks whose last reading the engine keeps */

enum redis_step { STEP_CONNECT, STEP_AUTH, STEP_SELECT, STEP_PING, STEP_INFO };

static const char *const step_names[] = {"connecting", "AUTH", "SELECT", "PING", "INFO"};

/* One reply as our reply functions build it (never an array). */
struct redis_reply {
    int type;                       /* REDIS_REPLY_* */
    long long integer;
    size_t len;
    char str[];
};

struct probe_redis {
    struct probe_conn_run cr;       /* first: a run pointer is a probe_redis pointer */
    redisReader *reader;
    enum redis_step step;
    bool array_refused;
    size_t fed;                     /* bytes of the reply awaited so far */
    uint64_t sent_ns;               /* when the command awaited went out */
    double ping_s;                  /* PING's round trip; -1 until answered */
    double hit_warn, hit_crit, mem_warn, mem_crit, evict_warn;
    char id[SAMPLE_CHECK_ID_MAX];
    struct probe_redis_url url;     /* holds the password: cleansed before the run is freed */
};

/* The engine's memory of a check's last INFO reading. */
struct redis_prev {
    char id[SAMPLE_CHECK_ID_MAX];
    struct probe_redis_info info;
    uint64_t t_ns;
};

static void on_timer(uv_timer_t *h);

/* ---- the URL ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes with the NUL); 0, or -1 for
 * a bad escape, a NUL or too long. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (n - i < 3)
                return -1;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (ch == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

int probe_redis_url_parse(const char *url, struct probe_redis_url *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    out->db = -1;
    const char *p;
    if (strncmp(url, "redis://", 8) == 0) {
        p = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        p = url + 9;
        out->tls = true;
    } else {
        *why = "url must start with redis:// or rediss://";
        return -1;
    }
    /* The last '@' ends the credentials (a password may hold '@', '/' or '?'). */
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            *why = "url has a user without a password (redis://user:password@host)";
            return -1;
        }
        if (decode(p, (size_t)(colon - p), out->user, sizeof(out->user)) != 0 ||
            decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password)) != 0) {
            *why = "url has a user or password that is too long (256 bytes) or badly %-escaped";
            return -1;
        }
        if (!out->password[0]) {
            *why = "url has an empty password";
            return -1;
        }
        out->has_password = true;
        p = at + 1;
    }
    if (strpbrk(p, "?#")) {
        *why = "url must not have a query or a fragment";
        return -1;
    }
    const char *slash = strchr(p, '/');
    size_t hp_len = slash ? (size_t)(slash - p) : strlen(p);
    const char *host = p, *port = NULL;
    size_t host_len;
    if (hp_len && p[0] == '[') {
        const char *close = memchr(p, ']', hp_len);
        if (!close) {
            *why = "url has an IPv6 address without its closing ]";
            return -1;
        }
        host = p + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < p + hp_len) {
            if (close[1] != ':') {
                *why = "url has something after the IPv6 address that is not :port";
                return -1;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', hp_len);
        host_len = colon ? (size_t)(colon - p) : hp_len;
        port = colon ? colon + 1 : NULL;
    }
    if (!host_len || host_len > PROBE_REDIS_HOST_MAX) {
        *why = host_len ? "url has a host name longer than 255 bytes" : "url has no host";
        return -1;
    }
    for (size_t i = 0; i < host_len; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '%' || ch == '\\' || (ch == ':' && p[0] != '[')) {
            *why = "url has a host that is not a name or an address";
            return -1;
        }
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    snprintf(out->port, sizeof(out->port), "%s", PROBE_REDIS_DEFAULT_PORT);
    if (port) {
        size_t plen = (size_t)(p + hp_len - port);
        long v = 0;
        for (size_t i = 0; i < plen && v <= 65535; i++)
            v = port[i] >= '0' && port[i] <= '9' ? v * 10 + (port[i] - '0') : 100000;
        if (!plen || v < 1 || v > 65535) {
            *why = "url port must be a number from 1 to 65535";
            return -1;
        }
        snprintf(out->port, sizeof(out->port), "%ld", v);
    }
    if (slash && slash[1]) {
        const char *d = slash + 1;
        long v = 0;
        size_t dlen = strlen(d);
        for (size_t i = 0; i < dlen && v <= PROBE_REDIS_DB_MAX; i++)
            v = d[i] >= '0' && d[i] <= '9' ? v * 10 + (d[i] - '0') : PROBE_REDIS_DB_MAX + 1L;
        if (v > PROBE_REDIS_DB_MAX) {
            *why = "url path must be a database number from 0 to 65535 (/2)";
            return -1;
        }
        out->db = (int)v;
    }
    return 0;
}

/* ---- replies: hiredis parses, we build (no arrays) ---- */

static void *reply_new(int type, const char *str, size_t len, long long integer)
{
    struct redis_reply *r = base_malloc(sizeof(*r) + len + 1);
    if (!r)
        return NULL;
    r->type = type;
    r->integer = integer;
    r->len = len;
    if (len)
        memcpy(r->str, str, len);
    r->str[len] = '\0';
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    return reply_new(task->type, str, len, 0);
}

static void *create_array(const redisReadTask *task, int elements)
{
    struct probe_redis *t = task->privdata;
    t->array_refused = true;
    return NULL;  /* hiredis stops with an error */
}

static void *create_integer(const redisReadTask *task, long long v)
{
    return reply_new(REDIS_REPLY_INTEGER, NULL, 0, v);
}

static void *create_nil(const redisReadTask *task)
{
    return reply_new(REDIS_REPLY_NIL, NULL, 0, 0);
}

static void free_reply(void *r)
{
    base_free(r);
}

/* Not const: hiredis 0.14 takes a mutable pointer; never written. */
static redisReplyObjectFunctions reply_functions = {create_string, create_array, create_integer, create_nil,
                                                    free_reply};

/* A reply for an error text: "PONG", "an integer 3", ... escaped. */
static void describe(const struct redis_reply *r, char *buf, size_t n)
{
    char shown[SHOWN_MAX];
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        snprintf(buf, n, "the integer %lld", r->integer);
        return;
    case REDIS_REPLY_NIL:
        snprintf(buf, n, "nil");
        return;
    default:
        probe_escape(r->str, r->len, shown, sizeof(shown));
        snprintf(buf, n, "\"%s\"", shown);
    }
}

/* ---- teardown ---- */

static void release(struct probe_conn_run *cr)
{
    struct probe_redis *t = (struct probe_redis *)cr;
    if (t->reader)
        redisReaderFree(t->reader);
    OPENSSL_cleanse(&t->url, sizeof(t->url));
}

static void before_finish(struct probe_conn_run *cr)
{
    struct probe_redis *t = (struct probe_redis *)cr;
    if (t->ping_s >= 0)
        sample_value_set(&t->cr.run.s, "latency_seconds", t->ping_s);
}

static const struct probe_conn_run_ops redis_run_ops = {.before_finish = before_finish, .release = release};

static void redis_cancel(struct probe_run *r)
{
    probe_conn_run_teardown((struct probe_conn_run *)r);
}

/* ---- the engine's memory of the last reading ---- */

static void prev_forget_all(struct probe_engine *e)
{
    for (size_t i = 0; i < e->redis_prev.cap; i++) {
        struct base_map_slot *s = &e->redis_prev.slots[i];
        if (s->key && s->value)
            base_free(s->value);
    }
    base_map_free(&e->redis_prev);
}

void probe_redis_forget(struct probe_engine *e)
{
    prev_forget_all(e);
}

/* Evictions per second since this check's last reading (false: none), and
 * this reading remembered for the next run (best effort). */
static bool eviction_rate(struct probe_redis *t, const struct probe_redis_info *info, double *rate)
{
    struct probe_engine *e = t->cr.run.engine;
    struct redis_prev *prev = base_map_get(&e->redis_prev, t->id);
    uint64_t now = uv_hrtime();
    bool have = prev && probe_redis_info_eviction_rate(&prev->info, info, (double)(now - prev->t_ns) / 1e9, rate);
    if (!prev) {
        if (e->redis_prev.len >= STATES_MAX)
            prev_forget_all(e); /* checks removed by reloads: start over */
        if (!(prev = base_malloc(sizeof(*prev))))
            return have;
        snprintf(prev->id, sizeof(prev->id), "%s", t->id);
        if (base_map_put(&e->redis_prev, prev->id, prev) != 0) {
            base_free(prev);
            return have;
        }
    }
    prev->info = *info;
    prev->t_ns = now;
    return have;
}

/* ---- judging INFO ---- */

/* Appends "; " and a finding to the sample's error; keeps the worst result. */
static void finding(struct probe_redis *t, enum sample_result *worst, enum sample_result r, const char *fmt, ...)
    BASE_PRINTF(4, 5);
static void finding(struct probe_redis *t, enum sample_result *worst, enum sample_result r, const char *fmt, ...)
{
    char *err = t->cr.run.s.error;
    size_t len = strlen(err);
    if (len && len + 2 < sizeof(t->cr.run.s.error)) {
        memcpy(err + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + len, sizeof(t->cr.run.s.error) - len, fmt, ap);
    va_end(ap);
    if (r == SAMPLE_DOWN || (r == SAMPLE_DEGRADED && *worst == SAMPLE_UP))
        *worst = r;
}

static void judge(struct probe_redis *t, const struct probe_redis_info *info)
{
    struct sample *s = &t->cr.run.s;
    enum sample_result worst = SAMPLE_UP;
    s->error[0] = '\0';
    if (info->have & PROBE_REDIS_HAVE_USED_MEMORY)
        sample_value_set(s, "used_memory_bytes", (double)info->used_memory);
    if (info->have & PROBE_REDIS_HAVE_MAXMEMORY)
        sample_value_set(s, "maxmemory_bytes", (double)info->maxmemory);
    if ((info->have & PROBE_REDIS_HAVE_USED_MEMORY) && (info->have & PROBE_REDIS_HAVE_MAXMEMORY) && info->maxmemory) {
        double ratio = (double)info->used_memory / (double)info->maxmemory;
        sample_value_set(s, "memory_used_ratio", ratio);
        if (ratio > t->mem_crit)
            finding(t, &worst, SAMPLE_DOWN, "memory_used_ratio %.4g is above memory_crit %g", ratio, t->mem_crit);
        else if (ratio > t->mem_warn)
            finding(t, &worst, SAMPLE_DEGRADED, "memory_used_ratio %.4g is above memory_warn %g", ratio, t->mem_warn);
    }
    if ((info->have & PROBE_REDIS_HAVE_HITS) && (info->have & PROBE_REDIS_HAVE_MISSES) &&
        (info->keyspace_hits || info->keyspace_misses)) {
        double ratio = (double)info->keyspace_hits / ((double)info->keyspace_hits + (double)info->keyspace_misses);
        sample_value_set(s, "keyspace_hit_ratio", ratio);
        if (ratio < t->hit_crit)
            finding(t, &worst, SAMPLE_DOWN, "keyspace_hit_ratio %.4g is below hit_ratio_crit %g", ratio, t->hit_crit);
        else if (ratio < t->hit_warn)
            finding(t, &worst, SAMPLE_DEGRADED, "keyspace_hit_ratio %.4g is below hit_ratio_warn %g", ratio,
                    t->hit_warn);
    }
    double rate;
    if (eviction_rate(t, info, &rate)) {
        sample_value_set(s, "evicted_keys_per_second", rate);
        if (t->evict_warn >= 0 && rate > t->evict_warn)
            finding(t, &worst, SAMPLE_DEGRADED, "evicted_keys_per_second %.4g is above evictions_warn %g", rate,
                    t->evict_warn);
    }
    if (info->have & PROBE_REDIS_HAVE_CLIENTS)
        sample_value_set(s, "connected_clients", (double)info->connected_clients);
    if (info->have & PROBE_REDIS_HAVE_LAST_SAVE) {
        /* The server's own clock when it tells it (no skew), else ours. */
        double now_s = (info->have & PROBE_REDIS_HAVE_SERVER_TIME) ? (double)info->server_time_usec / 1e6
                                                                    : (double)s->ts_ms / 1000.0;
        double age = now_s - (double)info->rdb_last_save_time;
        sample_value_set(s, "rdb_last_save_age_seconds", age > 0 ? age : 0);
    }
    if (info->have & PROBE_REDIS_HAVE_BGSAVE) {
        sample_value_set(s, "rdb_last_bgsave_ok", info->rdb_last_bgsave_ok ? 1 : 0);
        /* the runbooks' "verify backups completed": the server keeps
         * serving, but its snapshot is failing (disk full, no permission) */
        if (!info->rdb_last_bgsave_ok)
            finding(t, &worst, SAMPLE_DEGRADED, "the last background save failed (rdb_last_bgsave_status:err)");
    }
    if (info->have & PROBE_REDIS_HAVE_UPTIME)
        sample_value_set(s, "uptime_seconds", (double)info->uptime_in_seconds);
    s->latency_ms = probe_run_elapsed_ms(&t->cr.run);
    probe_conn_run_finish(&t->cr, worst);
}

/* ---- the conversation ---- */

/* Sends one command; 0 or -1 after failing. */
static int send_command(struct probe_redis *t, enum redis_step step, int argc, const char **argv)
{
    size_t lens[3];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0) {
        probe_conn_run_fail(&t->cr, false, "out of memory");
        return -1;
    }
    int rc = probe_conn_write(t->cr.conn, cmd, (size_t)n);
    OPENSSL_cleanse(cmd, (size_t)n);  /* AUTH carries the password */
    redisFreeCommand(cmd);
    if (rc) {
        probe_conn_run_fail(&t->cr, false, "%s: send failed: %s", step_names[step], uv_strerror(rc));
        return -1;
    }
    t->step = step;
    t->fed = 0;
    t->sent_ns = uv_hrtime();
    return 0;
}

/* The next command after `done` (AUTH, SELECT, PING, INFO in that order,
 * skipping what the URL does not ask for). */
static void next(struct probe_redis *t, enum redis_step done)
{
    if (done < STEP_AUTH && t->url.has_password) {
        const char *argv[3] = {"AUTH", t->url.user, t->url.password};
        if (t->url.user[0])
            send_command(t, STEP_AUTH, 3, argv);
        else
            send_command(t, STEP_AUTH, 2, (const char *[]){"AUTH", t->url.password});
        return;
    }
    if (done < STEP_SELECT && t->url.db >= 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", t->url.db);
        send_command(t, STEP_SELECT, 2, (const char *[]){"SELECT", db});
        return;
    }
    if (done < STEP_PING) {
        send_command(t, STEP_PING, 1, (const char *[]){"PING"});
        return;
    }
    send_command(t, STEP_INFO, 1, (const char *[]){"INFO"});
}

/* One complete reply to the command awaited. */
static void on_reply(struct probe_redis *t, const struct redis_reply *r)
{
    char got[SHOWN_MAX + 32];
    const char *step = step_names[t->step];
    if (r->type == REDIS_REPLY_ERROR) {
        /* The server's words (NOAUTH, WRONGPASS, LOADING, ...): never the password. */
        char shown[SHOWN_MAX];
        probe_escape(r->str, r->len, shown, sizeof(shown));
        if (t->step == STEP_SELECT)
            probe_conn_run_fail(&t->cr, false, "SELECT %d: %s", t->url.db, shown);
        else
            probe_conn_run_fail(&t->cr, false, "%s: %s", step, shown);
        return;
    }
    switch (t->step) {
    case STEP_AUTH:
    case STEP_SELECT:
        if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) {
            next(t, t->step);
            return;
        }
        break;
    case STEP_PING:
        if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) {
            t->ping_s = (double)(uv_hrtime() - t->sent_ns) / 1e9;
            next(t, STEP_PING);
            return;
        }
        describe(r, got, sizeof(got));
        probe_conn_run_fail(&t->cr, false, "PING: expected PONG, got %s", got);
        return;
    case STEP_INFO:
        if (r->type == REDIS_REPLY_STRING) {
            struct probe_redis_info info;
            if (probe_redis_info_parse(r->str, r->len, &info) == 0) {
                probe_conn_run_fail(&t->cr, false, "INFO: no field this check reads in a %zu-byte reply", r->len);
                return;
            }
            judge(t, &info);
            return;
        }
        break;
    case STEP_CONNECT:
        break;
    }
    describe(r, got, sizeof(got));
    probe_conn_run_fail(&t->cr, false, "%s: unexpected reply %s", step, got);
}

static void on_read(void *data, const char *buf, size_t n)
{
    struct probe_redis *t = data;
    size_t cap = t->step == STEP_INFO ? PROBE_REDIS_INFO_MAX : PROBE_REDIS_REPLY_MAX;
    if (t->step == STEP_CONNECT) {
        probe_conn_run_fail(&t->cr, false, "the server spoke first: %zu bytes before any command", n);
        return;
    }
    t->fed += n;
    if (t->fed > cap) {
        probe_conn_run_fail(&t->cr, false, "%s: reply larger than %zu bytes", step_names[t->step], cap);
        return;
    }
    if (redisReaderFeed(t->reader, buf, n) != REDIS_OK) {
        probe_conn_run_fail(&t->cr, false, "%s: protocol error: %s", step_names[t->step], t->reader->errstr);
        return;
    }
    while (!t->cr.run.done) {
        void *reply = NULL;
        if (redisReaderGetReply(t->reader, &reply) != REDIS_OK) {
            if (t->array_refused)
                probe_conn_run_fail(&t->cr, false, "%s: unexpected reply (an array)", step_names[t->step]);
            else
                probe_conn_run_fail(&t->cr, false, "%s: protocol error: %s", step_names[t->step], t->reader->errstr);
            return;
        }
        if (!reply)
            return;  /* incomplete: wait for more */
        on_reply(t, reply);
        free_reply(reply);
    }
}

static void on_open(void *data)
{
    next(data, STEP_CONNECT);
}

static void on_peer_closed(void *data, int status)
{
    struct probe_redis *t = data;
    if (status == UV_EOF)
        probe_conn_run_fail(&t->cr, false, "%s: connection closed by the server", step_names[t->step]);
    else
        probe_conn_run_fail(&t->cr, false, "%s: read failed: %s", step_names[t->step], uv_strerror(status));
}

static void on_error(void *data, const char *why)
{
    probe_conn_run_fail(data, false, "%s", why);
}

static const struct probe_conn_cbs conn_cbs = {
    .open = on_open, .read = on_read, .closed = on_peer_closed, .error = on_error,
};

/* ---- timeout ---- */

static void on_timer(uv_timer_t *h)
{
    struct probe_redis *t = h->data;
    if (probe_conn_run_timer_over(&t->cr))
        return;
    enum probe_conn_phase phase = t->cr.conn ? probe_conn_phase(t->cr.conn) : PROBE_CONN_IDLE;
    probe_conn_run_fail(&t->cr, false, "timeout after %" PRId64 " ms (%s)", t->cr.run.timeout_ms,
         phase == PROBE_CONN_LOADING     ? "loading CA certificates"
         : phase == PROBE_CONN_RESOLVING ? "resolving"
         : phase == PROBE_CONN_HANDSHAKE ? "TLS handshake"
         : phase == PROBE_CONN_OPEN      ? step_names[t->step]
                                         : "connecting");
}

/* ---- start ---- */

static struct probe_run *redis_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_redis_conf *c = check->settings;
    struct probe_redis *t = base_malloc(sizeof(*t));
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    probe_conn_run_init(&t->cr, e, check, &redis_run_ops, on_timer);
    t->ping_s = -1;
    t->hit_warn = c->hit_ratio_warn;
    t->hit_crit = c->hit_ratio_crit;
    t->mem_warn = c->memory_warn;
    t->mem_crit = c->memory_crit;
    t->evict_warn = c->evictions_warn;
    snprintf(t->id, sizeof(t->id), "%s", check->id ? check->id : "");

    const char *why;
    if (probe_redis_url_parse(c->url ? c->url : "", &t->url, &why) != 0) {
        probe_conn_run_fail(&t->cr, true, "%s", why);
        return &t->cr.run;
    }
    /* hiredis frees its idle buffer above maxbuf; our byte caps bound it
     * while a reply is read, so its default (16 KiB) is kept. */
    t->reader = redisReaderCreateWithFunctions(&reply_functions);
    if (!t->reader) {
        probe_conn_run_fail(&t->cr, true, "out of memory");
        return &t->cr.run;
    }
    t->reader->privdata = t;
    struct probe_conn_tls tls = {.server_name = c->server_name, .ca_file = c->ca_file, .verify = true};
    t->cr.conn = probe_conn_new(e, t->url.host, t->url.port, t->url.tls ? &tls : NULL, &conn_cbs, t);
    char err[SAMPLE_ERROR_MAX];
    if (!t->cr.conn)
        probe_conn_run_fail(&t->cr, true, "out of memory");
    else if (probe_conn_start(t->cr.conn, err, sizeof(err)) != 0)
        probe_conn_run_fail(&t->cr, true, "%s", err);
    return &t->cr.run;
}

/* ---- settings ---- */

/* evictions_warn: a number of keys per second, >= 0; absent: off. */
static int rate_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    const char *text;
    size_t len;
    if (conf_value_text(ctx, n, "a number", &text, &len) != 0)
        return -1;
    char buf[64], shown[72];
    char *end = NULL;
    double v = -1;
    /* Decimal, with an exponent (the API's JSON numbers come back as "1e+01"),
     * never strtod's hex, inf or nan. */
    if (len && len < sizeof(buf) && strspn(text, "0123456789.eE+-") == len) {
        memcpy(buf, text, len);
        buf[len] = '\0';
        v = strtod(buf, &end);
    }
    if (!end || *end || !(v >= 0) || v > PROBE_REDIS_EVICTIONS_MAX) {
        conf_value_error(ctx, n, "expected a number of evictions per second from 0 to 1e12 (10, 0.5), got '%s'",
                         conf_value_show(n, text, false, shown, sizeof(shown)));
        return -1;
    }
    *(double *)field = v;
    return 0;
}

static void rate_hash(uint64_t *h, const void *field)
{
    conf_schema_hash_bytes(h, field, sizeof(double));
}

static int rate_copy(void *field, struct base_arena *a)
{
    return 0;
}

static int rate_json(const void *field, json_t **out)
{
    double v = *(const double *)field;
    *out = NULL;
    if (v < 0)
        return 0; /* off: omitted */
    *out = json_real(v);
    return *out ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops rate_ops = {rate_parse, rate_hash, rate_copy, rate_json};

/* The first of the members named that is present, else the map. */
static const struct conf_node *where(const struct conf_node *map, const char *a, const char *b)
{
    const struct conf_node *n = conf_value_member(map, a);
    if (!n && b)
        n = conf_value_member(map, b);
    return n ? n : map;
}

static void redis_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_redis_conf *c = cc->settings;
    struct probe_redis_url url;
    const char *why = NULL;
    bool tls = false;
    if (c->url) {
        if (probe_redis_url_parse(c->url, &url, &why) != 0)
            conf_value_error(ctx, where(map, "url", NULL), "%s", why); /* never quotes it: a password */
        tls = url.tls;
        OPENSSL_cleanse(&url, sizeof(url));
    }
    if (c->hit_ratio_warn < c->hit_ratio_crit)
        conf_value_error(ctx, where(map, "hit_ratio_warn", "hit_ratio_crit"),
                         "hit_ratio_warn (%g) must not be below hit_ratio_crit (%g)", c->hit_ratio_warn,
                         c->hit_ratio_crit);
    if (c->memory_warn > c->memory_crit)
        conf_value_error(ctx, where(map, "memory_warn", "memory_crit"),
                         "memory_warn (%g) must not be above memory_crit (%g)", c->memory_warn, c->memory_crit);
    if (c->url && !why && !tls && (c->ca_file || c->server_name))
        conf_value_error(ctx, where(map, c->ca_file ? "ca_file" : "server_name", NULL),
                         "%s is only used with rediss:// (TLS) URLs", c->ca_file ? "ca_file" : "server_name");
    if (c->ca_file && !c->ca_file[0])
        conf_value_error(ctx, where(map, "ca_file", NULL), "ca_file must be a path to a PEM file");
    if (c->server_name) {
        size_t n = strlen(c->server_name);
        bool bad = n == 0 || n > 253;
        for (const char *p = c->server_name; *p && !bad; p++)
            bad = *p <= ' ' || *p == 0x7f || *p == '/' || *p == '@';
        if (bad)
            conf_value_error(ctx, where(map, "server_name", NULL), "server_name must be a host name or an IP address");
    }
}

static int redis_init(void *settings, struct base_arena *a)
{
    struct probe_redis_conf *c = settings;
    c->hit_ratio_warn = 0.8;
    c->hit_ratio_crit = 0.5;
    c->memory_warn = 0.8;
    c->memory_crit = 0.95;
    c->evictions_warn = -1;
    return 0;
}

#define F(m) offsetof(struct probe_redis_conf, m)
static const struct conf_field redis_fields[] = {
    CONF_FIELD("url", CONF_FIELD_STRING, F(url), CONF_FIELD_REQUIRED | CONF_FIELD_SECRET,
               "redis://[[user]:password@]host[:port][/db] or rediss:// for TLS; port 6379 by default (sealed at rest)",
               .example = "'rediss://:s3cret@cache.internal:6380/2'"),
    CONF_FIELD("server_name", CONF_FIELD_STRING, F(server_name), 0,
               "rediss: name sent as SNI and verified against the certificate; default the URL's host",
               .example = "cache.example.com"),
    CONF_FIELD("ca_file", CONF_FIELD_STRING, F(ca_file), 0,
               "rediss: PEM bundle of CA certificates trusted instead of the system store",
               .example = "/etc/ssl/internal-ca.pem"),
    CONF_FIELD("hit_ratio_warn", CONF_FIELD_CUSTOM, F(hit_ratio_warn), 0,
               "A keyspace hit ratio below this (0..1 or a percentage) makes the sample degraded; default 0.8",
               .ops = &probe_host_ratio_ops, .example = "0.9"),
    CONF_FIELD("hit_ratio_crit", CONF_FIELD_CUSTOM, F(hit_ratio_crit), 0,
               "A keyspace hit ratio below this makes the sample down; default 0.5", .ops = &probe_host_ratio_ops,
               .example = "30%"),
    CONF_FIELD("memory_warn", CONF_FIELD_CUSTOM, F(memory_warn), 0,
               "used_memory / maxmemory above this makes the sample degraded; default 0.8",
               .ops = &probe_host_ratio_ops, .example = "0.7"),
    CONF_FIELD("memory_crit", CONF_FIELD_CUSTOM, F(memory_crit), 0,
               "used_memory / maxmemory above this makes the sample down; default 0.95", .ops = &probe_host_ratio_ops,
               .example = "90%"),
    CONF_FIELD("evictions_warn", CONF_FIELD_CUSTOM, F(evictions_warn), 0,
               "Evicted keys per second above this make the sample degraded; default off", .ops = &rate_ops,
               .example = "10"),
    CONF_FIELD_END,
};
#undef F

/* redis://host:port[/db], without the credentials. */
static void redis_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_redis_conf *rc = c->settings;
    struct probe_redis_url url;
    const char *why;
    if (!rc || !rc->url || probe_redis_url_parse(rc->url, &url, &why) != 0) {
        snprintf(buf, n, "redis (invalid url)");
        return;
    }
    bool v6 = strchr(url.host, ':') != NULL;
    char db[16] = "";
    if (url.db >= 0)
        snprintf(db, sizeof(db), "/%d", url.db);
    snprintf(buf, n, "%s://%s%s%s:%s%s", url.tls ? "rediss" : "redis", v6 ? "[" : "", url.host, v6 ? "]" : "",
             url.port, db);
    OPENSSL_cleanse(&url, sizeof(url));
}

static const struct conf_check_value redis_values[] = {
    {"used_memory_bytes", "Bytes allocated by Redis (INFO used_memory)", "redis_memory_used_bytes", NULL, NULL},
    {"maxmemory_bytes", "The maxmemory limit, 0 for none", "redis_memory_max_bytes", NULL, NULL},
    {"memory_used_ratio", "used_memory / maxmemory (absent without a limit)", "opshub_redis_memory_used_ratio", NULL,
     NULL},
    {"keyspace_hit_ratio", "keyspace_hits / (hits + misses) since the server started (absent before any lookup)",
     "opshub_redis_keyspace_hit_ratio", NULL, NULL},
    {"evicted_keys_per_second", "Keys evicted per second since the previous run (absent on the first run and after "
     "a restart)", "opshub_redis_evicted_keys_per_second", NULL, NULL},
    {"connected_clients", "Client connections, this check's included", "redis_connected_clients", NULL, NULL},
    {"rdb_last_save_age_seconds", "Seconds since the last successful RDB save", "opshub_redis_rdb_last_save_age_seconds",
     NULL, NULL},
    {"rdb_last_bgsave_ok", "1 when the last background save succeeded, else 0", "redis_rdb_last_bgsave_status", NULL,
     NULL},
    {"latency_seconds", "PING's round trip", "opshub_redis_latency_seconds", NULL, NULL},
    {"uptime_seconds", "Seconds since the server started", "redis_uptime_in_seconds", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_redis_type = {
    .name = "redis",
    .summary = "Connects to Redis (optionally with TLS and AUTH), expects PONG and reports INFO's memory, hit ratio, "
               "evictions and persistence",
    .settings_size = sizeof(struct probe_redis_conf),
    .fields = redis_fields,
    .init = redis_init,
    .validate = redis_validate,
    .target = redis_target,
    .values = redis_values,
    .start = redis_start,
    .cancel = redis_cancel,
};
