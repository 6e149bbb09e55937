/*
 * export/remote_write: the remote-write sender (see remote_write.h).
 */
#include "export/remote_write.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/map.h"
#include "base/time.h"
#include "base/version.h"
#include "export/remote.pb-c.h"
#include "probe/curlm.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE_MAX 512          /* of an error answer, for the log */
#define NAME_MAX_LEN 128

struct entry {
    series_ref ref;
    int64_t t;
    double v;
};

struct writer {
    struct remote_write_set *set;
    char name[NAME_MAX_LEN];
    uint64_t identity;            /* of its configuration: unchanged remotes survive a reload */
    char *url, *username, *password, *bearer;
    struct curl_slist *headers;
    int64_t timeout_ms, deadline_ms, min_backoff_ms, max_backoff_ms;
    size_t batch_max;
    /* the queue: a ring */
    struct entry *ring;
    size_t cap, head, len;
    /* the batch in flight or waiting for its retry */
    CURL *easy;
    char *body;
    size_t body_len, body_samples;
    bool inflight, retry_wait;
    int64_t backoff_ms;
    uint64_t started_ns;
    char resp[RESPONSE_MAX];
    size_t resp_len;
    uv_timer_t timer;             /* the batch deadline, or the backoff */
    bool closing;
    struct remote_write_stats st;
};

struct remote_write_set {
    uv_loop_t *loop;
    struct series_db *db;
    struct probe_curlm *curlm;
    struct writer **w;
    size_t n;
    size_t open_handles;          /* timers not closed yet, and the multi */
    void (*close_cb)(void *);      /* when open_handles drops to 0 (closing only) */
    void *close_data;
    void (*user_cb)(void *);       /* remote_write_close's */
    void *user_data;
    bool closing;
    uint64_t rng;
    /* external_labels, sorted by name; each series gets those it has not got itself */
    struct series_label *ext;
    char *ext_mem;
    size_t n_ext;
};

static void send_batch(struct writer *w);

/* ---- writers ---- */

static void wipe_free(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
    }
    base_free(s);
}

static uint64_t identity_of(const struct conf_remote_write *c)
{
    char num[160];
    uint64_t h = base_hash_more(BASE_HASH_SEED, c->url ? c->url : "");
    h = base_hash_more(h, c->name ? c->name : "");
    h = base_hash_more(h, c->username ? c->username : "");
    h = base_hash_more(h, c->password ? c->password : "");
    h = base_hash_more(h, c->bearer_token ? c->bearer_token : "");
    for (size_t i = 0; i < c->n_headers; i++)
        h = base_hash_more(base_hash_more(h, c->headers[i].key), c->headers[i].value);
    snprintf(num, sizeof(num), "%" PRId64 ",%zu,%zu,%" PRId64 ",%" PRId64 ",%" PRId64, c->timeout_ms, c->capacity,
             c->max_samples_per_send, c->batch_send_deadline_ms, c->min_backoff_ms, c->max_backoff_ms);
    return base_hash_more(h, num);
}

/* "host:port" of the URL (credentials left out) when the remote has no name. */
static void default_name(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at)
        p = at + 1;
    snprintf(out, n, "%.*s", (int)(end - p), p);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct writer *w = h->data;
    struct remote_write_set *s = w->set;
    base_free(w->ring);
    base_free(w);
    if (s->open_handles && --s->open_handles == 0 && s->close_cb)
        s->close_cb(s->close_data);
}

/* Stops a writer: aborts its request, logs what it drops, closes its timer
 * (the writer is freed then). */
static void writer_stop(struct writer *w, const char *why)
{
    struct remote_write_set *s = w->set;
    w->closing = true;
    if (w->inflight)
        probe_curlm_remove(s->curlm, w->easy);
    size_t lost = w->len + (w->body ? w->body_samples : 0);
    if (lost)
        base_log_warn("remote_write: samples not sent", BASE_LOG_STR("remote", w->name), BASE_LOG_INT("samples", lost),
                      BASE_LOG_STR("reason", why));
    if (w->easy)
        curl_easy_cleanup(w->easy);
    curl_slist_free_all(w->headers);
    base_free(w->body);
    base_free(w->url);
    wipe_free(w->username);
    wipe_free(w->password);
    wipe_free(w->bearer);
    w->easy = NULL;
    w->headers = NULL;
    w->body = NULL;
    w->url = w->username = w->password = w->bearer = NULL;
    s->open_handles++;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
}

static struct writer *writer_new(struct remote_write_set *s, const struct conf_remote_write *c)
{
    struct writer *w = base_calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->set = s;
    w->identity = identity_of(c);
    if (c->name)
        snprintf(w->name, sizeof(w->name), "%s", c->name);
    else
        default_name(c->url, w->name, sizeof(w->name));
    w->st.name = w->name;
    w->url = base_strdup(c->url);
    w->username = base_strdup(c->username);
    w->password = base_strdup(c->password);
    w->bearer = base_strdup(c->bearer_token);
    w->timeout_ms = c->timeout_ms;
    w->deadline_ms = c->batch_send_deadline_ms;
    w->min_backoff_ms = c->min_backoff_ms;
    w->max_backoff_ms = c->max_backoff_ms;
    w->backoff_ms = c->min_backoff_ms;
    w->batch_max = c->max_samples_per_send;
    w->cap = c->capacity;
    w->ring = base_calloc(w->cap, sizeof(*w->ring));
    w->easy = curl_easy_init();
    bool ok = w->url && w->ring && w->easy && (!c->username || w->username) && (!c->password || w->password) &&
              (!c->bearer_token || w->bearer);
    static const char *const fixed[] = {"Content-Type: application/x-protobuf", "Content-Encoding: snappy",
                                        "X-Prometheus-Remote-Write-Version: 0.1.0", "Expect:"};
    for (size_t i = 0; ok && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        struct curl_slist *l = curl_slist_append(w->headers, fixed[i]);
        ok = l != NULL;
        if (l)
            w->headers = l;
    }
    char line[4200 + 256];
    for (size_t i = 0; ok && i < c->n_headers; i++) {
        snprintf(line, sizeof(line), "%s: %s", c->headers[i].key, c->headers[i].value);
        struct curl_slist *l = curl_slist_append(w->headers, line);
        ok = l != NULL;
        if (l)
            w->headers = l;
    }
    if (ok && w->bearer) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", w->bearer);
        struct curl_slist *l = curl_slist_append(w->headers, line);
        ok = l != NULL;
        if (l)
            w->headers = l;
        volatile char *p = line;
        while (*p)
            *p++ = 0;
    }
    uv_timer_init(s->loop, &w->timer);
    w->timer.data = w;
    if (!ok) {
        writer_stop(w, "out of memory");
        return NULL;
    }
    return w;
}

/* ---- the queue ---- */

static void on_timer(uv_timer_t *t)
{
    struct writer *w = t->data;
    if (w->retry_wait) {
        w->retry_wait = false;
        if (probe_curlm_add(w->set->curlm, w->easy) == 0) {
            w->inflight = true;
            w->started_ns = uv_hrtime();
            w->resp_len = 0;
            w->st.requests++;
        } else {
            w->retry_wait = true;
            uv_timer_start(&w->timer, on_timer, (uint64_t)w->backoff_ms, 0);
        }
        return;
    }
    send_batch(w);
}

static void push(struct writer *w, series_ref ref, int64_t t, double v)
{
    if (w->len == w->cap) {
        w->head = (w->head + 1) % w->cap;   /* the oldest goes */
        w->len--;
        if (w->st.dropped_full++ == 0)
            base_log_warn("remote_write: queue full, dropping the oldest samples", BASE_LOG_STR("remote", w->name),
                          BASE_LOG_INT("capacity", w->cap));
    }
    w->ring[(w->head + w->len) % w->cap] = (struct entry){ref, t, v};
    w->len++;
    if (w->inflight || w->retry_wait || w->body)
        return;
    if (w->len >= w->batch_max)
        send_batch(w);
    else if (!uv_is_active((uv_handle_t *)&w->timer))
        uv_timer_start(&w->timer, on_timer, (uint64_t)w->deadline_ms, 0);
}

static void on_append(void *data, series_ref ref, int64_t t_ms, double v)
{
    struct remote_write_set *s = data;
    for (size_t i = 0; i < s->n; i++)
        push(s->w[i], ref, t_ms, v);
}

/* ---- encoding ---- */

struct keyed {
    struct entry e;
    size_t order;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->e.ref != y->e.ref)
        return x->e.ref < y->e.ref ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Takes up to batch_max samples off the queue into w->body (protobuf,
 * snappy); 0, or BASE_ERR_NOMEM (the samples are dropped), or
 * BASE_ERR_NOT_FOUND when none was left to send. */
static int encode(struct writer *w)
{
    size_t n = w->len < w->batch_max ? w->len : w->batch_max;
    struct keyed *k = base_calloc(n ? n : 1, sizeof(*k));
    if (!k)
        return BASE_ERR_NOMEM;
    int64_t oldest = series_db_oldest(w->set->db);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct entry e = w->ring[(w->head + i) % w->cap];
        if (e.t < oldest) {
            w->st.dropped_old++;
            continue;
        }
        k[m].e = e;
        k[m].order = i;
        m++;
    }
    w->head = (w->head + n) % w->cap;
    w->len -= n;
    qsort(k, m, sizeof(*k), cmp_keyed);
    size_t n_series = 0;
    for (size_t i = 0; i < m; i++)
        n_series += i == 0 || k[i].e.ref != k[i - 1].e.ref;
    size_t n_labels = 0;
    for (size_t i = 0; i < m; i++)
        if (i == 0 || k[i].e.ref != k[i - 1].e.ref) {
            const struct series_label *l;
            n_labels += series_db_labels(w->set->db, k[i].e.ref, &l) + w->set->n_ext;
        }
    Opshub__Remote__TimeSeries *ts = base_calloc(n_series ? n_series : 1, sizeof(*ts));
    Opshub__Remote__TimeSeries **tsp = base_calloc(n_series ? n_series : 1, sizeof(*tsp));
    Opshub__Remote__Sample *sm = base_calloc(m ? m : 1, sizeof(*sm));
    Opshub__Remote__Sample **smp = base_calloc(m ? m : 1, sizeof(*smp));
    Opshub__Remote__Label *lb = base_calloc(n_labels ? n_labels : 1, sizeof(*lb));
    Opshub__Remote__Label **lbp = base_calloc(n_labels ? n_labels : 1, sizeof(*lbp));
    int rc = ts && tsp && sm && smp && lb && lbp ? 0 : BASE_ERR_NOMEM;
    size_t si = 0, li = 0, sent = 0;
    for (size_t i = 0; rc == 0 && i < m;) {
        size_t j = i;
        while (j < m && k[j].e.ref == k[i].e.ref)
            j++;
        const struct series_label *l;
        size_t nl = series_db_labels(w->set->db, k[i].e.ref, &l);
        if (nl) {
            Opshub__Remote__TimeSeries *t = &ts[si];
            opshub__remote__time_series__init(t);
            t->labels = &lbp[li];
            /* the series' labels and the external ones it has not got, both sorted: a merge */
            const struct series_label *ext = w->set->ext;
            size_t ne = w->set->n_ext, x = 0, y = 0, first = li;
            while (x < nl || y < ne) {
                int c = x >= nl ? 1 : y >= ne ? -1 : strcmp(l[x].name, ext[y].name);
                const struct series_label *from = c <= 0 ? &l[x] : &ext[y];
                if (c <= 0)
                    x++;
                if (c >= 0)
                    y++;
                opshub__remote__label__init(&lb[li]);
                lb[li].name = (char *)from->name;
                lb[li].value = (char *)from->value;
                lbp[li] = &lb[li];
                li++;
            }
            t->n_labels = li - first;
            t->samples = &smp[sent];
            t->n_samples = j - i;
            for (size_t q = i; q < j; q++) {
                opshub__remote__sample__init(&sm[sent]);
                sm[sent].value = k[q].e.v;
                sm[sent].timestamp = k[q].e.t;
                smp[sent] = &sm[sent];
                sent++;
            }
            tsp[si++] = t;
        } else {
            w->st.dropped_old += j - i;   /* the series is gone */
        }
        i = j;
    }
    if (rc == 0 && si == 0)
        rc = BASE_ERR_NOT_FOUND;
    uint8_t *raw = NULL;
    if (rc == 0) {
        Opshub__Remote__WriteRequest req = OPSHUB__REMOTE__WRITE_REQUEST__INIT;
        req.timeseries = tsp;
        req.n_timeseries = si;
        size_t len = opshub__remote__write_request__get_packed_size(&req);
        raw = base_malloc(len ? len : 1);
        size_t clen = snappy_max_compressed_length(len);
        base_free(w->body);
        w->body = raw ? base_malloc(clen ? clen : 1) : NULL;
        if (!raw || !w->body) {
            rc = BASE_ERR_NOMEM;
        } else {
            opshub__remote__write_request__pack(&req, raw);
            if (snappy_compress((const char *)raw, len, w->body, &clen) != SNAPPY_OK)
                rc = BASE_ERR_NOMEM;
            w->body_len = clen;
            w->body_samples = sent;
        }
        if (rc) {
            base_free(w->body);
            w->body = NULL;
        }
    }
    if (rc == BASE_ERR_NOMEM)
        w->st.dropped_full += m;
    base_free(raw);
    base_free(ts);
    base_free(tsp);
    base_free(sm);
    base_free(smp);
    base_free(lb);
    base_free(lbp);
    base_free(k);
    return rc;
}

/* ---- sending ---- */

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    struct writer *w = data;
    size_t len = size * n, room = sizeof(w->resp) - 1 - w->resp_len;
    memcpy(w->resp + w->resp_len, p, len < room ? len : room);
    w->resp_len += len < room ? len : room;
    return len;
}

static void send_batch(struct writer *w)
{
    struct remote_write_set *s = w->set;
    uv_timer_stop(&w->timer);
    while (!w->body && w->len) {
        int rc = encode(w);
        if (rc == 0)
            break;
        if (rc == BASE_ERR_NOMEM)
            base_log_warn("remote_write: a batch dropped", BASE_LOG_STR("remote", w->name),
                          BASE_LOG_STR("reason", "out of memory"));
    }
    if (!w->body)
        return;
    CURL *e = w->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, w->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, w->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(w->timeout_ms < 10000 ? w->timeout_ms : 10000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(e, CURLOPT_PRIVATE, w);
    char ua[64];
    snprintf(ua, sizeof(ua), "opshub/%s", base_version());
    curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
    if (w->username) {
        curl_easy_setopt(e, CURLOPT_USERNAME, w->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, w->password);
    }
    w->resp_len = 0;
    if (probe_curlm_add(s->curlm, e) != 0) {
        w->retry_wait = true;
        uv_timer_start(&w->timer, on_timer, (uint64_t)w->backoff_ms, 0);
        return;
    }
    w->inflight = true;
    w->started_ns = uv_hrtime();
    w->st.requests++;
}

static void on_done(void *priv, CURL *easy, CURLcode rc)
{
    struct writer *w = priv;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    w->inflight = false;
    w->st.last_send_s = (double)(uv_hrtime() - w->started_ns) / 1e9;
    bool retry = rc != CURLE_OK || code == 429 || code >= 500 || code < 200;
    if (!retry) {
        if (code >= 200 && code < 300) {
            w->st.sent += w->body_samples;
            w->st.bytes += w->body_len;
            w->st.last_success_ms = base_time_now_ms();
        } else {
            /* the remote refuses this batch: sending it again would not help */
            w->st.failed += w->body_samples;
            w->resp[w->resp_len] = 0;
            for (size_t i = 0; i < w->resp_len; i++)
                if ((unsigned char)w->resp[i] < 0x20)
                    w->resp[i] = ' ';
            base_log_warn("remote_write: batch refused", BASE_LOG_STR("remote", w->name), BASE_LOG_INT("status", code),
                          BASE_LOG_INT("samples", w->body_samples), BASE_LOG_STR("answer", w->resp));
        }
        base_free(w->body);
        w->body = NULL;
        w->backoff_ms = w->min_backoff_ms;
        if (w->len >= w->batch_max)
            send_batch(w);
        else if (w->len)
            uv_timer_start(&w->timer, on_timer, (uint64_t)w->deadline_ms, 0);
        return;
    }
    w->st.retries++;
    if (w->st.retries == 1 || w->backoff_ms >= w->max_backoff_ms)
        base_log_warn("remote_write: send failed, retrying", BASE_LOG_STR("remote", w->name),
                      BASE_LOG_INT("status", code), BASE_LOG_STR("error", rc != CURLE_OK ? curl_easy_strerror(rc) : ""),
                      BASE_LOG_INT("backoff_ms", w->backoff_ms));
    /* jitter: from 3/4 to 5/4 of the backoff, so remotes that fail together do not retry together */
    struct remote_write_set *s = w->set;
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    int64_t delay = w->backoff_ms * 3 / 4 + (int64_t)((s->rng >> 33) % (uint64_t)(w->backoff_ms / 2 + 1));
    w->retry_wait = true;
    uv_timer_start(&w->timer, on_timer, (uint64_t)(delay > 0 ? delay : 1), 0);
    w->backoff_ms = w->backoff_ms * 2 < w->max_backoff_ms ? w->backoff_ms * 2 : w->max_backoff_ms;
}

/* ---- the set ---- */

struct remote_write_set *remote_write_new(uv_loop_t *loop, struct series_db *db)
{
    struct remote_write_set *s = base_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->db = db;
    s->rng = (uint64_t)uv_hrtime();
    return s;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct series_label *)a)->name, ((const struct series_label *)b)->name);
}

/* external_labels into s: names and values in one block, sorted. */
static int set_external(struct remote_write_set *s, const struct conf *c)
{
    size_t n = c->n_external_labels, bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(c->external_labels[i].key) + strlen(c->external_labels[i].value) + 2;
    struct series_label *l = n ? base_calloc(n, sizeof(*l)) : NULL;
    char *mem = n ? base_malloc(bytes) : NULL;
    if (n && (!l || !mem)) {
        base_free(l);
        base_free(mem);
        return BASE_ERR_NOMEM;
    }
    char *p = mem;
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(c->external_labels[i].key) + 1, v = strlen(c->external_labels[i].value) + 1;
        l[i].name = memcpy(p, c->external_labels[i].key, a);
        p += a;
        l[i].value = memcpy(p, c->external_labels[i].value, v);
        p += v;
    }
    if (n)
        qsort(l, n, sizeof(*l), cmp_label);
    base_free(s->ext);
    base_free(s->ext_mem);
    s->ext = l;
    s->ext_mem = mem;
    s->n_ext = n;
    return 0;
}

int remote_write_apply(struct remote_write_set *s, const struct conf *c)
{
    if (set_external(s, c) != 0)
        return BASE_ERR_NOMEM;
    if (c->n_remote_write && !s->curlm && !(s->curlm = probe_curlm_new(s->loop, on_done)))
        return BASE_ERR_NOMEM;
    struct writer **next = base_calloc(c->n_remote_write ? c->n_remote_write : 1, sizeof(*next));
    if (!next)
        return BASE_ERR_NOMEM;
    bool *kept = base_calloc(s->n ? s->n : 1, sizeof(*kept));
    if (!kept) {
        base_free(next);
        return BASE_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n_remote_write; i++) {
        uint64_t id = identity_of(&c->remote_write[i]);
        for (size_t k = 0; k < s->n && !next[i]; k++)
            if (!kept[k] && s->w[k]->identity == id) {
                next[i] = s->w[k];
                kept[k] = true;
            }
        if (!next[i] && !(next[i] = writer_new(s, &c->remote_write[i]))) {
            for (size_t k = 0; k < i; k++) {
                bool old = false;
                for (size_t j = 0; j < s->n; j++)
                    old |= s->w[j] == next[k];
                if (!old)
                    writer_stop(next[k], "out of memory");
            }
            base_free(next);
            base_free(kept);
            return BASE_ERR_NOMEM;
        }
    }
    for (size_t k = 0; k < s->n; k++)
        if (!kept[k])
            writer_stop(s->w[k], "removed from the configuration");
    base_free(kept);
    base_free(s->w);
    s->w = next;
    s->n = c->n_remote_write;
    series_db_set_hook(s->db, s->n ? on_append : NULL, s);
    if (s->n)
        base_log_info("remote_write", BASE_LOG_INT("remotes", s->n));
    return 0;
}

static void on_curlm_closed(void *data)
{
    struct remote_write_set *s = data;
    s->curlm = NULL;
    if (s->open_handles && --s->open_handles == 0 && s->close_cb)
        s->close_cb(s->close_data);
}

static void on_all_closed(void *data)
{
    struct remote_write_set *s = data;
    void (*cb)(void *) = s->user_cb;
    void *cb_data = s->user_data;
    base_free(s->ext);
    base_free(s->ext_mem);
    base_free(s->w);
    base_free(s);
    if (cb)
        cb(cb_data);
}

void remote_write_close(struct remote_write_set *s, void (*cb)(void *data), void *data)
{
    if (!s)
        return;
    series_db_set_hook(s->db, NULL, NULL);
    s->closing = true;
    s->user_cb = cb;
    s->user_data = data;
    s->close_cb = on_all_closed;
    s->close_data = s;
    s->open_handles++;   /* held until every writer has been stopped */
    for (size_t i = 0; i < s->n; i++)
        writer_stop(s->w[i], "opshub is stopping");
    s->n = 0;
    if (s->curlm) {
        s->open_handles++;
        probe_curlm_close(s->curlm, on_curlm_closed, s);
    }
    if (--s->open_handles == 0)
        on_all_closed(s);
}

size_t remote_write_stats(const struct remote_write_set *s, struct remote_write_stats *out, size_t max)
{
    for (size_t i = 0; i < s->n && i < max; i++) {
        out[i] = s->w[i]->st;
        out[i].queued = s->w[i]->len + (s->w[i]->body ? s->w[i]->body_samples : 0);
    }
    return s->n;
}
