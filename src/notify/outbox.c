/*
 * notify/outbox: the durable outbox. A delivery is a row of the store's
 * notifications table before its first attempt (when the store is away,
 * it is sent anyway once a write has failed, and written when the store
 * is back: an outage of the database must not silence the alerts about
 * it). Requests go out through libcurl multi on the loop, at most
 * NOTIFY_INFLIGHT_MAX at once and, per group and channel (the dedup key),
 * one at a time and in order. A network error, a timeout, 429 or 5xx is
 * retried after 1 s, 2 s, 4 s... (at most 5 min, jitter 3/4..5/4) until
 * the channel's max_age; another answer the channel calls final fails the
 * delivery at once. Every change of a delivery is written back in batches;
 * a finished delivery leaves memory once its row says so.
 */
#include "notify/notify_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "base/version.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_BATCH 1000
#define WRITE_RETRY_MS 2000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60000)
#define RESP_MAX 512

enum dstatus { D_PENDING, D_SENT, D_FAILED };
static const char *const status_names[] = {"pending", "sent", "failed"};

struct delivery {
    char id[STORE_NOTIFY_ID_MAX];
    char channel[CONF_ID_MAX + 1];
    char *kind, *group_key, *dedup, *summary, *payload;
    enum dstatus status;
    int attempts;
    int64_t created_ms, updated_ms, next_at_ms, sent_at_ms, alert_at_ms, expires_ms;
    char last_error[NOTIFY_ERROR_MAX];
    bool persisted, write_failed, writing, inflight;
    uint32_t ver, written_ver;
    CURL *easy;
    struct prun *run;                 /* a command channel's program, while it runs */
    struct nreq req;
    char resp[RESP_MAX];
    size_t resp_len;
    struct outbox *o;
    struct delivery *prev, *next;
};

/* A command channel's run: lives until the proc is closed, which may be
 * after its delivery has finished and left memory. */
struct prun {
    struct outbox *o;
    struct delivery *d;               /* NULL once the result is in (or canceled) */
    struct probe_proc *proc;
};

struct wbatch {
    struct outbox *o;
    struct delivery **d;
    uint32_t *ver;
    size_t n;
};

struct outbox {
    struct notify *n;
    uv_loop_t *loop;
    struct store *store;
    struct probe_curlm *curlm;
    struct delivery *head, *tail;
    struct base_map by_id;
    size_t count, inflight;
    size_t procs;                       /* command runs not yet closed */
    uv_timer_t timer, wtimer, rtimer;   /* sending, writing, reading back */
    int64_t due_ms;
    struct wbatch *writing;
    size_t reads;                       /* store reads whose answer is awaited */
    bool closing, curlm_closed, timers_closed;
    int closes;
    void (*close_cb)(void *);
    void *close_data;
    void (*user_cb)(void *);
    void *user_data;
    uint64_t seq;
    uint64_t rng;
    struct outbox_stats st;
};

static const double latency_bounds[] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600};

static void pump(struct outbox *o);
static void sync_rows(struct outbox *o);
static void check_closed(struct outbox *o);
static int start_command(struct outbox *o, struct delivery *d, struct nchannel *ch);

/* ---- deliveries ---- */

static void delivery_free(struct delivery *d)
{
    base_free(d->kind);
    base_free(d->group_key);
    base_free(d->dedup);
    base_free(d->summary);
    base_free(d->payload);
    nreq_free(&d->req);
    if (d->easy)
        curl_easy_cleanup(d->easy);
    base_free(d);
}

static void unlink_d(struct outbox *o, struct delivery *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        o->head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        o->tail = d->prev;
    base_map_remove(&o->by_id, d->id);
    o->count--;
}

static void append(struct outbox *o, struct delivery *d)
{
    d->prev = o->tail;
    if (o->tail)
        o->tail->next = d;
    else
        o->head = d;
    o->tail = d;
    o->count++;
}

/* A finished delivery whose row says so leaves memory. */
static void reap(struct outbox *o, struct delivery *d)
{
    if (d->status != D_PENDING && d->persisted && d->ver == d->written_ver && !d->writing && !d->inflight) {
        unlink_d(o, d);
        delivery_free(d);
    }
}

static uint64_t next_rand(struct outbox *o)
{
    o->rng ^= o->rng << 13;
    o->rng ^= o->rng >> 7;
    o->rng ^= o->rng << 17;
    return o->rng;
}

static void make_id(struct outbox *o, char *out, size_t n)
{
    /* time ordered, unique across restarts: ms, a counter, randomness */
    snprintf(out, n, "n%012" PRIx64 "%04" PRIx64 "%06" PRIx64, (uint64_t)base_time_now_ms() & UINT64_C(0xffffffffffff),
             o->seq++ & UINT64_C(0xffff), next_rand(o) & UINT64_C(0xffffff));
}

static void on_timer(uv_timer_t *t)
{
    struct outbox *o = t->data;
    o->due_ms = 0;
    pump(o);
    sync_rows(o);
}

static void wake(struct outbox *o, int64_t at)
{
    if (o->closing)
        return;
    if (o->due_ms && o->due_ms <= at)
        return;
    int64_t now = base_time_now_ms();
    o->due_ms = at;
    uv_timer_start(&o->timer, on_timer, (uint64_t)(at > now ? at - now : 0), 0);
}

int outbox_add(struct outbox *o, struct nchannel *ch, const char *kind, const char *group_key, const char *dedup_key,
               const char *summary, char *payload, int64_t alert_at_ms, char *id_out, size_t id_len)
{
    if (o->closing || o->count >= NOTIFY_OUTBOX_MAX) {
        base_free(payload);
        if (o->st.dropped++ == 0)
            base_log_warn("notify: outbox full, notifications dropped", BASE_LOG_INT("max", NOTIFY_OUTBOX_MAX));
        return BASE_ERR_TOO_BIG;
    }
    struct delivery *d = base_calloc(1, sizeof(*d));
    if (!d) {
        base_free(payload);
        return BASE_ERR_NOMEM;
    }
    d->o = o;
    d->payload = payload;
    d->kind = base_strdup(kind);
    d->group_key = base_strdup(group_key);
    d->dedup = base_strdup(dedup_key);
    d->summary = base_strdup(summary);
    make_id(o, d->id, sizeof(d->id));
    snprintf(d->channel, sizeof(d->channel), "%s", ch->id);
    int64_t now = base_time_now_ms();
    d->created_ms = d->updated_ms = d->next_at_ms = now;
    d->expires_ms = now + ch->max_age_ms;
    d->alert_at_ms = alert_at_ms;
    d->ver = 1;
    if (!d->kind || !d->group_key || !d->dedup || !d->summary || base_map_put(&o->by_id, d->id, d) != 0) {
        delivery_free(d);
        return BASE_ERR_NOMEM;
    }
    append(o, d);
    if (id_out)
        snprintf(id_out, id_len, "%s", d->id);
    wake(o, now);
    return 0;
}

/* ---- writing rows ---- */

static void on_wtimer(uv_timer_t *t)
{
    sync_rows(t->data);
}

static void write_done(void *data, int status, const char *errmsg)
{
    struct wbatch *b = data;
    struct outbox *o = b->o;
    o->writing = NULL;
    if (status == 0)
        o->st.written += b->n;
    else
        o->st.write_errors++;
    for (size_t i = 0; i < b->n; i++) {
        struct delivery *d = b->d[i];
        d->writing = false;
        if (status == 0) {
            d->persisted = true;
            d->written_ver = b->ver[i];
        } else {
            d->write_failed = true;
        }
    }
    if (status != 0 && o->st.write_errors == 1)
        base_log_warn("notify: outbox rows not written yet (sending anyway, retrying the write)",
                      BASE_LOG_STR("error", errmsg ? errmsg : base_strerror(status)));
    for (size_t i = 0; i < b->n; i++)
        reap(o, b->d[i]);
    base_free(b->d);
    base_free(b->ver);
    base_free(b);
    if (o->closing) {
        if (--o->closes == 0 && o->close_cb)
            o->close_cb(o->close_data);
        return;
    }
    if (status != 0)
        uv_timer_start(&o->wtimer, on_wtimer, WRITE_RETRY_MS, 0);
    else
        sync_rows(o);
    pump(o);
}

static void sync_rows(struct outbox *o)
{
    if (o->writing || (!o->closing && uv_is_active((uv_handle_t *)&o->wtimer)))
        return;
    size_t n = 0;
    for (struct delivery *d = o->head; d && n < WRITE_BATCH; d = d->next)
        n += d->ver != d->written_ver && !d->writing;
    if (!n)
        return;
    struct wbatch *b = base_calloc(1, sizeof(*b));
    struct store_notification *rows = base_calloc(n, sizeof(*rows));
    if (b) {
        b->d = base_calloc(n, sizeof(*b->d));
        b->ver = base_calloc(n, sizeof(*b->ver));
    }
    if (!b || !rows || !b->d || !b->ver) {
        if (b) {
            base_free(b->d);
            base_free(b->ver);
        }
        base_free(b);
        base_free(rows);
        uv_timer_start(&o->wtimer, on_wtimer, WRITE_RETRY_MS, 0);
        return;
    }
    b->o = o;
    size_t k = 0;
    for (struct delivery *d = o->head; d && k < n; d = d->next) {
        if (d->ver == d->written_ver || d->writing)
            continue;
        struct store_notification *r = &rows[k];
        memcpy(r->id, d->id, sizeof(r->id));
        r->created_ms = d->created_ms;
        r->updated_ms = d->updated_ms;
        r->next_at_ms = d->next_at_ms;
        r->sent_at_ms = d->sent_at_ms;
        r->alert_at_ms = d->alert_at_ms;
        r->attempts = d->attempts;
        r->channel = d->channel;
        r->kind = d->kind;
        r->group_key = d->group_key;
        r->dedup_key = d->dedup;
        r->status = status_names[d->status];
        r->last_error = d->last_error;
        r->summary = d->summary;
        r->payload = d->payload;
        r->insert = !d->persisted;
        b->d[k] = d;
        b->ver[k] = d->ver;
        d->writing = true;
        k++;
    }
    b->n = k;
    if (store_notify_write(o->store, rows, k, write_done, b) != 0) {
        for (size_t i = 0; i < k; i++) {
            b->d[i]->writing = false;
            b->d[i]->write_failed = true;
        }
        base_free(b->d);
        base_free(b->ver);
        base_free(b);
        o->st.write_errors++;
        if (!o->closing)
            uv_timer_start(&o->wtimer, on_wtimer, WRITE_RETRY_MS, 0);
    } else {
        o->writing = b;
        if (o->closing)
            o->closes++;
    }
    base_free(rows);
}

/* ---- sending ---- */

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    struct delivery *d = data;
    size_t len = size * n, room = sizeof(d->resp) - 1 - d->resp_len;
    memcpy(d->resp + d->resp_len, p, len < room ? len : room);
    d->resp_len += len < room ? len : room;
    d->resp[d->resp_len] = 0;
    return len;
}

/* The message of an SMTP delivery, uploaded piece by piece. */
static size_t on_read(char *buf, size_t size, size_t n, void *data)
{
    struct nreq *r = data;
    size_t room = size * n, left = r->body_len - r->sent;
    size_t k = left < room ? left : room;
    memcpy(buf, r->body + r->sent, k);
    r->sent += k;
    return k;
}

static void finish(struct outbox *o, struct delivery *d, enum dstatus s, const char *why)
{
    d->status = s;
    d->updated_ms = base_time_now_ms();
    if (why)
        snprintf(d->last_error, sizeof(d->last_error), "%s", why);
    d->ver++;
    (void)o;
}

static void fail(struct outbox *o, struct delivery *d, struct nchannel *ch, const char *why)
{
    finish(o, d, D_FAILED, why);
    if (ch) {
        ch->failed++;
        snprintf(ch->last_error, sizeof(ch->last_error), "%s", why);
        notify_channel_failing(o->n, ch, true, why);
    }
}

static void start(struct outbox *o, struct delivery *d)
{
    struct nchannel *ch = notify_channel(o->n, d->channel);
    char why[NOTIFY_ERROR_MAX];
    if (!ch) {
        fail(o, d, NULL, "the channel is no longer configured");
        return;
    }
    if (ch->disabled) {
        fail(o, d, NULL, "the channel is disabled (DISABLE_SLACK)");
        return;
    }
    if (ch->type == CONF_CHANNEL_COMMAND) {
        if (start_command(o, d, ch) != 0)
            return;
        d->inflight = true;
        d->attempts++;
        o->inflight++;
        return;
    }
    nreq_free(&d->req);
    if (channel_request(ch, d->payload, d->id, d->dedup, notify_base_url(o->n), &d->req, why, sizeof(why)) != 0) {
        fail(o, d, ch, why);
        return;
    }
    if (!d->easy && !(d->easy = curl_easy_init())) {
        wake(o, base_time_now_ms() + 1000);
        return;
    }
    CURL *e = d->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, d->req.url);
    if (d->req.smtp) {
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, d->req.mail_from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, d->req.rcpt);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, &d->req);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->req.body_len);
        curl_easy_setopt(e, CURLOPT_USE_SSL, ch->tls == CONF_SMTP_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
        if (ch->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, ch->ca_file);
        if (ch->smtp_user) {
            curl_easy_setopt(e, CURLOPT_USERNAME, ch->smtp_user);
            curl_easy_setopt(e, CURLOPT_PASSWORD, ch->smtp_pass ? ch->smtp_pass : "");
        }
        d->req.sent = 0;
    } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->req.body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->req.body_len);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->req.headers);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ch->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)ch->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    char ua[64];
    snprintf(ua, sizeof(ua), "opshub/%s", base_version());
    curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, d->req.smtp ? "smtp,smtps" : "http,https");
#endif
    d->resp_len = 0;
    d->resp[0] = 0;
    if (probe_curlm_add(o->curlm, e) != 0) {
        wake(o, base_time_now_ms() + 1000);
        return;
    }
    d->inflight = true;
    d->attempts++;
    o->inflight++;
}

static int64_t backoff_ms(struct outbox *o, int attempts)
{
    int64_t b = BACKOFF_MIN_MS;
    for (int i = 1; i < attempts && b < BACKOFF_MAX_MS; i++)
        b *= 2;
    if (b > BACKOFF_MAX_MS)
        b = BACKOFF_MAX_MS;
    /* jitter: 3/4 .. 5/4 */
    return b * 3 / 4 + (int64_t)(next_rand(o) % (uint64_t)(b / 2 + 1));
}

/* An attempt's outcome: sent, tried again later, or failed for good. */
static void complete(struct outbox *o, struct delivery *d, struct nchannel *ch, enum nresult r, const char *why)
{
    int64_t now = base_time_now_ms();
    d->inflight = false;
    o->inflight--;
    nreq_free(&d->req);
    if (r == NRESULT_OK) {
        d->sent_at_ms = now;
        d->last_error[0] = 0;
        finish(o, d, D_SENT, NULL);
        if (ch) {
            ch->sent++;
            if (ch->failing)
                notify_channel_failing(o->n, ch, false, NULL);
        }
        if (d->alert_at_ms > 0)
            base_histogram_observe(&o->st.latency, (double)(now - d->alert_at_ms) / 1000.0);
    } else if (r == NRESULT_RETRY) {
        int64_t wait = backoff_ms(o, d->attempts);
        if (ch)
            ch->retried++;
        if (now + wait > d->expires_ms) {
            char msg[NOTIFY_ERROR_MAX + 48];
            snprintf(msg, sizeof(msg), "gave up after %d attempts: %.*s", d->attempts, NOTIFY_ERROR_MAX - 48, why);
            fail(o, d, ch, msg);
        } else {
            snprintf(d->last_error, sizeof(d->last_error), "%s", why);
            d->next_at_ms = now + wait;
            d->updated_ms = now;
            d->ver++;
            if (ch)
                snprintf(ch->last_error, sizeof(ch->last_error), "%s", why);
        }
    } else {
        fail(o, d, ch, why);
    }
    if (o->closing)
        return;
    wake(o, now);
}

static void on_done(void *priv, CURL *easy, CURLcode rc)
{
    struct delivery *d = priv;
    struct outbox *o = d->o;
    (void)easy;
    long code = 0;
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
    struct nchannel *ch = notify_channel(o->n, d->channel);
    char why[NOTIFY_ERROR_MAX];
    enum nresult r = channel_result(ch, rc, code, d->resp, d->resp_len, why, sizeof(why));
    complete(o, d, ch, r, why);
}

/* ---- command channels ---- */

static void on_proc_done(void *data, const struct probe_proc_result *res)
{
    struct prun *pr = data;
    struct delivery *d = pr->d;
    pr->d = NULL;
    if (!d)
        return;
    d->run = NULL;
    struct outbox *o = pr->o;
    struct nchannel *ch = notify_channel(o->n, d->channel);
    char why[NOTIFY_ERROR_MAX];
    enum nresult r = channel_command_result(ch, res, why, sizeof(why));
    complete(o, d, ch, r, why);
}

static void on_proc_closed(void *data)
{
    struct prun *pr = data;
    struct outbox *o = pr->o;
    base_free(pr);
    o->procs--;
    if (o->closing)
        check_closed(o);
}

/* Starts a command channel's program for d: 0, or -1 (d failed, or to be tried again soon). */
static int start_command(struct outbox *o, struct delivery *d, struct nchannel *ch)
{
    struct probe_command_conf c;
    void *mem = NULL;
    char why[NOTIFY_ERROR_MAX];
    if (channel_command(ch, d->payload, d->id, d->dedup, &c, &mem, why, sizeof(why)) != 0) {
        fail(o, d, ch, why);
        return -1;
    }
    struct prun *pr = base_calloc(1, sizeof(*pr));
    if (pr) {
        pr->o = o;
        pr->d = d;
        pr->proc = probe_proc_start(o->loop, &c, d->payload, strlen(d->payload), ch->timeout_ms,
                                    ch->cmd.output_max, on_proc_done, on_proc_closed, pr);
    }
    base_free(mem);
    if (!pr || !pr->proc) {
        base_free(pr);
        wake(o, base_time_now_ms() + 1000);
        return -1;
    }
    o->procs++;
    d->run = pr;
    return 0;
}

static void pump(struct outbox *o)
{
    if (o->closing)
        return;
    int64_t now = base_time_now_ms(), next = 0;
    struct base_map blocked; /* dedup keys with an earlier delivery not finished */
    base_map_init(&blocked);
    for (struct delivery *d = o->head, *nx; d; d = nx) {
        nx = d->next;
        if (d->status != D_PENDING)
            continue;
        if (base_map_get(&blocked, d->dedup))
            continue;
        if (d->inflight || (!d->persisted && !d->write_failed) || d->next_at_ms > now ||
            o->inflight >= NOTIFY_INFLIGHT_MAX) {
            if (!d->inflight && d->next_at_ms > now && (!next || d->next_at_ms < next))
                next = d->next_at_ms;
            if (base_map_put(&blocked, d->dedup, d) != 0) {
                /* out of memory: stop here, try again soon */
                next = now + 100;
                break;
            }
            continue;
        }
        start(o, d);
        if (d->status == D_PENDING && base_map_put(&blocked, d->dedup, d) != 0) {
            next = now + 100;
            break;
        }
    }
    base_map_free(&blocked);
    o->st.depth = o->count;
    if (next)
        wake(o, next);
    sync_rows(o);
}

/* ---- resume and retry ---- */

static void on_rtimer(uv_timer_t *t)
{
    outbox_resume(t->data);
}

static struct delivery *from_row(struct outbox *o, const struct store_notification *r)
{
    struct delivery *d = base_calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->o = o;
    snprintf(d->id, sizeof(d->id), "%s", r->id);
    snprintf(d->channel, sizeof(d->channel), "%s", r->channel);
    d->kind = base_strdup(r->kind);
    d->group_key = base_strdup(r->group_key);
    d->dedup = base_strdup(r->dedup_key);
    d->summary = base_strdup(r->summary);
    d->payload = base_strdup(r->payload ? r->payload : "{}");
    d->status = D_PENDING;
    d->attempts = r->attempts;
    d->created_ms = r->created_ms;
    d->updated_ms = r->updated_ms;
    d->alert_at_ms = r->alert_at_ms;
    d->next_at_ms = base_time_now_ms();
    struct nchannel *ch = notify_channel(o->n, r->channel);
    d->expires_ms = r->created_ms + (ch ? ch->max_age_ms : CONF_NOTIFY_MAX_AGE_MS);
    snprintf(d->last_error, sizeof(d->last_error), "%s", r->last_error ? r->last_error : "");
    d->persisted = true;
    if (!d->kind || !d->group_key || !d->dedup || !d->summary || !d->payload ||
        base_map_put(&o->by_id, d->id, d) != 0) {
        delivery_free(d);
        return NULL;
    }
    return d;
}

static void on_pending(void *data, int status, const struct store_notification *rows, size_t n)
{
    struct outbox *o = data;
    o->reads--;
    if (o->closing) {
        check_closed(o);
        return;
    }
    if (status != 0) {
        base_log_warn("notify: pending deliveries not read back (retrying in 2 s)",
                      BASE_LOG_STR("error", base_strerror(status)));
        uv_timer_start(&o->rtimer, on_rtimer, WRITE_RETRY_MS, 0);
        return;
    }
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        if (base_map_get(&o->by_id, rows[i].id))
            continue;
        struct delivery *d = from_row(o, &rows[i]);
        if (!d)
            continue;
        append(o, d);
        added++;
    }
    o->st.resumed += added;
    if (added)
        base_log_info("notify: pending deliveries resumed", BASE_LOG_INT("deliveries", added));
    wake(o, base_time_now_ms());
}

void outbox_resume(struct outbox *o)
{
    if (o->closing)
        return;
    if (store_notify_pending(o->store, on_pending, o) != 0)
        uv_timer_start(&o->rtimer, on_rtimer, WRITE_RETRY_MS, 0);
    else
        o->reads++;
}

struct retry_job {
    struct outbox *o;
    char id[STORE_NOTIFY_ID_MAX];
    notify_retry_cb cb;
    void *data;
};

static void on_retry_row(void *data, int status, const struct store_notification *rows, size_t n)
{
    struct retry_job *j = data;
    struct outbox *o = j->o;
    int rc = status;
    o->reads--;
    if (o->closing) {
        j->cb(j->data, BASE_ERR_UNAVAILABLE);
        base_free(j);
        check_closed(o);
        return;
    }
    if (rc == 0 && n == 0)
        rc = BASE_ERR_NOT_FOUND;
    else if (rc == 0 && strcmp(rows[0].status, "sent") == 0)
        rc = BASE_ERR_EXISTS;
    else if (rc == 0 && !o->closing) {
        struct delivery *d = base_map_get(&o->by_id, rows[0].id);
        if (!d) {
            d = from_row(o, &rows[0]);
            if (!d) {
                rc = BASE_ERR_NOMEM;
            } else {
                append(o, d);
                struct nchannel *ch = notify_channel(o->n, d->channel);
                d->expires_ms = base_time_now_ms() + (ch ? ch->max_age_ms : CONF_NOTIFY_MAX_AGE_MS);
                d->ver++; /* back to pending in the store too */
            }
        }
        if (d) {
            d->next_at_ms = base_time_now_ms();
            wake(o, d->next_at_ms);
        }
    }
    j->cb(j->data, rc);
    base_free(j);
}

int outbox_retry(struct outbox *o, const char *id, notify_retry_cb cb, void *data)
{
    struct delivery *d = base_map_get(&o->by_id, id);
    if (d && d->status == D_PENDING) {
        d->next_at_ms = base_time_now_ms();
        wake(o, d->next_at_ms);
        cb(data, 0);
        return 0;
    }
    if (d && d->status == D_SENT) {
        cb(data, BASE_ERR_EXISTS);
        return 0;
    }
    if (d && d->status == D_FAILED) {
        struct nchannel *ch = notify_channel(o->n, d->channel);
        d->status = D_PENDING;
        d->expires_ms = base_time_now_ms() + (ch ? ch->max_age_ms : CONF_NOTIFY_MAX_AGE_MS);
        d->next_at_ms = base_time_now_ms();
        d->ver++;
        wake(o, d->next_at_ms);
        cb(data, 0);
        return 0;
    }
    struct retry_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->o = o;
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->cb = cb;
    j->data = data;
    int rc = store_notify_get(o->store, id, on_retry_row, j);
    if (rc != 0)
        base_free(j);
    else
        o->reads++;
    return rc;
}

/* ---- lifecycle ---- */

struct outbox *outbox_new(struct notify *n, uv_loop_t *loop, struct store *st)
{
    struct outbox *o = base_calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->n = n;
    o->loop = loop;
    o->store = st;
    o->rng = (uint64_t)base_time_now_ms() * 6364136223846793005ULL ^ (uint64_t)uv_hrtime() ^ (uint64_t)(uintptr_t)o;
    if (!o->rng)
        o->rng = 88172645463325252ULL;
    base_map_init(&o->by_id);
    base_histogram_init(&o->st.latency, latency_bounds, sizeof(latency_bounds) / sizeof(latency_bounds[0]));
    o->curlm = probe_curlm_new(loop, on_done);
    if (!o->curlm) {
        base_free(o);
        return NULL;
    }
    uv_timer_init(loop, &o->timer);
    uv_timer_init(loop, &o->wtimer);
    uv_timer_init(loop, &o->rtimer);
    o->timer.data = o;
    o->wtimer.data = o;
    o->rtimer.data = o;
    return o;
}

size_t outbox_depth(const struct outbox *o)
{
    return o->count;
}

void outbox_stats(const struct outbox *o, struct outbox_stats *out)
{
    *out = o->st;
    out->depth = o->count;
    out->inflight = o->inflight;
}

static void check_closed(struct outbox *o)
{
    if (--o->closes == 0 && o->close_cb)
        o->close_cb(o->close_data);
}

static void on_handle_closed(uv_handle_t *h)
{
    check_closed(h->data);
}

static void on_curlm_closed(void *data)
{
    check_closed(data);
}

static void free_deliveries(void *data)
{
    struct outbox *o = data;
    for (struct delivery *d = o->head, *nx; d; d = nx) {
        nx = d->next;
        delivery_free(d);
    }
    base_map_free(&o->by_id);
    void (*cb)(void *) = o->user_cb;
    void *ud = o->user_data;
    base_free(o);
    if (cb)
        cb(ud);
}

void outbox_close(struct outbox *o, void (*cb)(void *data), void *data)
{
    o->closing = true;
    o->user_cb = cb;
    o->user_data = data;
    o->close_cb = free_deliveries;
    o->close_data = o;
    o->closes = 1; /* released below, once everything is started */
    /* requests in flight are aborted: their rows stay pending, sent again at the next start */
    for (struct delivery *d = o->head; d; d = d->next)
        if (d->inflight) {
            if (d->run) {
                /* the program is killed; its run closes later (counted in procs) */
                d->run->d = NULL;
                probe_proc_cancel(d->run->proc);
                d->run = NULL;
            } else {
                probe_curlm_remove(o->curlm, d->easy);
            }
            d->inflight = false;
            o->inflight--;
        }
    o->closes += o->procs; /* each closed run releases one */
    uv_timer_stop(&o->timer);
    uv_timer_stop(&o->wtimer);
    uv_timer_stop(&o->rtimer);
    o->closes += 4;
    uv_close((uv_handle_t *)&o->timer, on_handle_closed);
    uv_close((uv_handle_t *)&o->wtimer, on_handle_closed);
    uv_close((uv_handle_t *)&o->rtimer, on_handle_closed);
    probe_curlm_close(o->curlm, on_curlm_closed, o);
    o->closes += o->reads; /* each answer releases one */
    if (o->writing)
        o->closes++; /* write_done releases it */
    else
        sync_rows(o); /* the last changes; counted in sync_rows */
    check_closed(o);
}
