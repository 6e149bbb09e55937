/*
 * http/events: SSE fan-out from a ring of formatted events (see events.h).
 */
#include "http/events.h"

#include "http/api_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "conf/conf.h"
#include "sched/sched.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WRITE_BUFS 64  /* ring entries per stream write */

struct ev_entry {
    uint64_t seq;        /* 0: empty */
    char *frame;         /* "id: ...\nevent: ...\ndata: ...\n\n" (owned) */
    size_t len;
    char *check;         /* for filters (owned) */
    char *project;       /* NULL: none */
};

struct ev_stream {
    struct http_events *hub;
    struct http_stream *st;
    struct ev_stream *prev, *next;
    uint64_t sent;       /* last seq written (or skipped by the filter) */
    char check[HTTP_EVENTS_FILTER_MAX];
    char project[HTTP_EVENTS_FILTER_MAX];
};

struct http_events {
    uv_loop_t *loop;
    struct event_bus *bus;
    const struct sched *sched;
    struct http_events_opts o;
    struct ev_entry *ring;     /* o.ring entries; seq s at index s % o.ring */
    uint64_t head;             /* last seq formatted; 0 = none yet */
    uint64_t oldest;           /* oldest seq still held (head + 1 when empty) */
    size_t bytes;              /* frame bytes held */
    uint32_t epoch;
    struct ev_stream *streams;
    struct http_events_stats stats;
    uv_timer_t flush, heartbeat;
    bool flush_armed;
    bool closing;
    bool handles_closed;       /* by http_events_shutdown */
};

static const char *event_name(enum event_kind k)
{
    return k == EVENT_STATUS ? "status" : "sample";
}

/* ---- the ring ------------------------------------------------------------ */

static void entry_clear(struct http_events *ev, struct ev_entry *e)
{
    if (!e->seq)
        return;
    ev->bytes -= e->len;
    base_free(e->frame);
    base_free(e->check);
    base_free(e->project);
    memset(e, 0, sizeof(*e));
}

/* Drops the oldest entries until `need` more bytes and one more entry fit. */
static void ring_make_room(struct http_events *ev, size_t need)
{
    while (ev->oldest <= ev->head) {
        struct ev_entry *e = &ev->ring[ev->oldest % ev->o.ring];
        bool full = ev->head + 1 - ev->oldest >= ev->o.ring;
        if (!full && ev->bytes + need <= ev->o.ring_bytes)
            break;
        entry_clear(ev, e);
        ev->oldest++;
    }
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = base_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* The event's data: the sample as the API shows it, plus the check's
 * status and identity. NULL on OOM. */
static char *event_json(const struct http_events *ev, const struct event *e)
{
    const struct event_check *ec = &e->u.check;
    json_t *o = api_sample_json(ec->sample);
    if (!o)
        return NULL;
    const struct conf_check *cc = ec->check;
    const struct sched_check *sc = ev->sched && !ev->closing ? sched_check_get(ev->sched, ec->check_id) : NULL;
    double up = sc ? sched_check_uptime_24h(sc, base_time_now_ms()) : -1;
    json_object_set_new(o, "check", json_string(ec->check_id));
    json_object_set_new(o, "name", json_string(cc && cc->name ? cc->name : ec->check_id));
    json_object_set_new(o, "project", cc && cc->project ? json_string(cc->project) : json_null());
    json_object_set_new(o, "status", json_string(sched_status_name((enum sched_status)ec->status)));
    json_object_set_new(o, "previous", json_string(sched_status_name((enum sched_status)ec->previous)));
    json_object_set_new(o, "at", json_deep_copy(json_object_get(o, "ts")));
    if (!ec->sample->error[0])
        json_object_set_new(o, "error", json_null());
    if (sc && sc->state.since_ms)
        json_object_set_new(o, "since", api_time_or_null(sc->state.since_ms));
    json_object_set_new(o, "uptime_24h", up < 0 ? json_null() : json_real(up));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}

static void flush_arm(struct http_events *ev);

static void on_event(void *data, const struct event *e)
{
    struct http_events *ev = data;
    if (ev->closing || (e->kind != EVENT_SAMPLE && e->kind != EVENT_STATUS))
        return;
    char *json = event_json(ev, e);
    if (!json)
        return;
    uint64_t seq = ev->head + 1;
    size_t cap = strlen(json) + 96;
    char *frame = base_malloc(cap);
    int n = frame ? snprintf(frame, cap, "id: %08" PRIx32 "-%" PRIu64 "\nevent: %s\ndata: %s\n\n", ev->epoch, seq,
                             event_name(e->kind), json)
                  : -1;
    free(json); /* jansson's */
    if (n < 0 || (size_t)n >= cap) {
        base_free(frame);
        return;
    }
    ring_make_room(ev, (size_t)n);
    struct ev_entry *slot = &ev->ring[seq % ev->o.ring];
    entry_clear(ev, slot);  /* only when the ring was sized to zero room: never in practice */
    slot->seq = seq;
    slot->frame = frame;
    slot->len = (size_t)n;
    slot->check = dup_or_null(e->u.check.check_id);
    slot->project = dup_or_null(e->u.check.check ? e->u.check.check->project : NULL);
    ev->bytes += slot->len;
    ev->head = seq;
    ev->stats.events++;
    flush_arm(ev);
}

/* ---- streams ------------------------------------------------------------- */

static bool wants(const struct ev_stream *s, const struct ev_entry *e)
{
    if (s->check[0] && (!e->check || strcmp(s->check, e->check) != 0))
        return false;
    if (s->project[0] && (!e->project || strcmp(s->project, e->project) != 0))
        return false;
    return true;
}

static void stream_closed(void *data)
{
    struct ev_stream *s = data;
    struct http_events *ev = s->hub;
    if (!ev) { /* the hub was destroyed first */
        base_free(s);
        return;
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ev->stats.streams--;
    base_free(s);
}

static int stream_write_text(struct ev_stream *s, const char *text, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)len);
    s->hub->stats.writes++;
    return http_stream_write(s->st, &b, 1);
}

static int stream_reset(struct ev_stream *s)
{
    struct http_events *ev = s->hub;
    char frame[96];
    int n = snprintf(frame, sizeof(frame), "id: %08" PRIx32 "-%" PRIu64 "\nevent: reset\ndata: {}\n\n", ev->epoch,
                     ev->head);
    ev->stats.resets++;
    s->sent = ev->head;
    return stream_write_text(s, frame, (size_t)n);
}

/* Writes every wanted event after s->sent. -1 when the stream closed (it
 * is freed then). */
static int stream_catch_up(struct ev_stream *s)
{
    struct http_events *ev = s->hub;
    if (s->sent + 1 < ev->oldest && ev->oldest <= ev->head)
        return stream_reset(s);  /* the ring no longer reaches back */
    while (s->sent < ev->head) {
        uv_buf_t bufs[WRITE_BUFS];
        unsigned n = 0;
        uint64_t seq = s->sent + 1;
        for (; seq <= ev->head && n < WRITE_BUFS; seq++) {
            const struct ev_entry *e = &ev->ring[seq % ev->o.ring];
            if (e->seq == seq && wants(s, e))
                bufs[n++] = uv_buf_init(e->frame, (unsigned)e->len);
        }
        s->sent = seq - 1;
        if (n == 0)
            continue;
        ev->stats.writes++;
        if (http_stream_write(s->st, bufs, n) != 0) {
            ev->stats.dropped++;
            return -1;
        }
    }
    return 0;
}

static void flush_cb(uv_timer_t *t)
{
    struct http_events *ev = t->data;
    ev->flush_armed = false;
    struct ev_stream *next;
    for (struct ev_stream *s = ev->streams; s; s = next) {
        next = s->next;  /* s may be freed by its write */
        stream_catch_up(s);
    }
}

static void flush_arm(struct http_events *ev)
{
    if (ev->flush_armed || !ev->streams || ev->closing)
        return;
    ev->flush_armed = true;
    uv_timer_start(&ev->flush, flush_cb, ev->o.flush_ms, 0);
}

static void heartbeat_cb(uv_timer_t *t)
{
    struct http_events *ev = t->data;
    static const char hb[] = ": hb\n\n";
    struct ev_stream *next;
    for (struct ev_stream *s = ev->streams; s; s = next) {
        next = s->next;
        if (http_stream_pending(s->st) == 0)
            stream_write_text(s, hb, sizeof(hb) - 1);
    }
}

bool http_events_parse_id(uint32_t epoch, uint64_t head, const char *id, uint64_t *seq)
{
    if (!id)
        return false;
    uint32_t e = 0;
    for (int i = 0; i < 8; i++) {  /* exactly 8 lowercase hex digits, as they are written */
        char c = id[i];
        if (c >= '0' && c <= '9')
            e = e << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            e = e << 4 | (uint32_t)(c - 'a' + 10);
        else
            return false;
    }
    if (id[8] != '-' || e != epoch || id[9] < '0' || id[9] > '9' || (id[9] == '0' && id[10]))
        return false;
    uint64_t n = 0;
    const char *p = id + 9;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;  /* overflow */
        n = n * 10 + d;
    }
    if (*p || n > head)
        return false;
    *seq = n;
    return true;
}

int http_events_open(struct http_events *ev, struct http_request *req, const char *extra_headers,
                     const char *last_event_id, const struct http_events_filter *filter)
{
    if (ev->stats.streams >= ev->o.max_streams || ev->closing) {
        ev->stats.refused++;
        return BASE_ERR_BUSY;
    }
    struct ev_stream *s = base_calloc(1, sizeof(*s));
    if (!s)
        return BASE_ERR_NOMEM;
    s->hub = ev;
    if (filter && filter->check)
        snprintf(s->check, sizeof(s->check), "%s", filter->check);
    if (filter && filter->project)
        snprintf(s->project, sizeof(s->project), "%s", filter->project);
    uint64_t from = ev->head;
    bool resume = last_event_id && last_event_id[0];
    bool known = resume && http_events_parse_id(ev->epoch, ev->head, last_event_id, &from);
    s->st = http_stream_start(req, 200, "text/event-stream; charset=utf-8", extra_headers,
                              ev->o.stream_pending, stream_closed, s);
    if (!s->st) {
        base_free(s);
        return 0;  /* the client left: nothing to answer */
    }
    s->next = ev->streams;
    if (s->next)
        s->next->prev = s;
    ev->streams = s;
    ev->stats.streams++;
    ev->stats.opened++;
    char hello[160];
    int n = snprintf(hello, sizeof(hello), "retry: 3000\nid: %08" PRIx32 "-%" PRIu64 "\nevent: hello\ndata: {\"id\":\"%08" PRIx32
                     "-%" PRIu64 "\"}\n\n",
                     ev->epoch, from, ev->epoch, from);
    if (stream_write_text(s, hello, (size_t)n) != 0)
        return 0;
    if (resume && !known) {
        stream_reset(s);  /* from another process, or malformed: re-read everything */
        return 0;
    }
    s->sent = from;
    stream_catch_up(s);
    return 0;
}

void http_events_stats_get(const struct http_events *ev, struct http_events_stats *out)
{
    *out = ev->stats;
}

/* ---- life ---------------------------------------------------------------- */

struct http_events *http_events_new(uv_loop_t *loop, struct event_bus *bus, const struct sched *sched,
                                    const struct http_events_opts *opts)
{
    struct http_events *ev = base_calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    ev->loop = loop;
    ev->bus = bus;
    ev->sched = sched;
    if (opts)
        ev->o = *opts;
    if (!ev->o.ring)
        ev->o.ring = HTTP_EVENTS_RING;
    if (!ev->o.ring_bytes)
        ev->o.ring_bytes = HTTP_EVENTS_RING_BYTES;
    if (!ev->o.max_streams)
        ev->o.max_streams = HTTP_EVENTS_MAX_STREAMS;
    if (!ev->o.stream_pending)
        ev->o.stream_pending = HTTP_EVENTS_STREAM_PENDING;
    if (!ev->o.heartbeat_ms)
        ev->o.heartbeat_ms = HTTP_EVENTS_HEARTBEAT_MS;
    if (!ev->o.flush_ms)
        ev->o.flush_ms = HTTP_EVENTS_FLUSH_MS;
    ev->ring = base_calloc(ev->o.ring, sizeof(*ev->ring));
    if (!ev->ring || getrandom(&ev->epoch, sizeof(ev->epoch), 0) != (ssize_t)sizeof(ev->epoch)
        || event_subscribe(bus, "events", EVENT_MASK(EVENT_SAMPLE) | EVENT_MASK(EVENT_STATUS), on_event, ev) != 0) {
        base_free(ev->ring);
        base_free(ev);
        return NULL;
    }
    ev->oldest = 1;
    uv_timer_init(loop, &ev->flush);
    uv_timer_init(loop, &ev->heartbeat);
    ev->flush.data = ev;
    ev->heartbeat.data = ev;
    uv_timer_start(&ev->heartbeat, heartbeat_cb, ev->o.heartbeat_ms, ev->o.heartbeat_ms);
    uv_unref((uv_handle_t *)&ev->heartbeat);  /* the stream's life, not the loop's */
    return ev;
}

void http_events_shutdown(struct http_events *ev)
{
    if (!ev || ev->closing)
        return;
    ev->closing = true;
    struct ev_stream *next;
    for (struct ev_stream *s = ev->streams; s; s = next) {
        next = s->next;
        http_stream_close(s->st);
    }
    /* The loop ends before the API is destroyed: the timers close now. */
    uv_close((uv_handle_t *)&ev->flush, NULL);
    uv_close((uv_handle_t *)&ev->heartbeat, NULL);
    ev->handles_closed = true;
}

static void ev_free_cb(uv_handle_t *h)
{
    struct http_events *ev = h->data;
    if (h == (uv_handle_t *)&ev->flush)
        return;  /* the heartbeat closes second: free then */
    base_free(ev);
}

void http_events_destroy(struct http_events *ev)
{
    if (!ev)
        return;
    ev->closing = true;
    event_unsubscribe(ev->bus, on_event, ev);
    /* Streams still open belong to connections the server closes; they
     * must not call back into a freed hub. */
    for (struct ev_stream *s = ev->streams; s; s = s->next)
        s->hub = NULL;
    for (size_t i = 0; i < ev->o.ring; i++)
        entry_clear(ev, &ev->ring[i]);
    base_free(ev->ring);
    if (ev->handles_closed) {
        base_free(ev);
        return;
    }
    uv_close((uv_handle_t *)&ev->flush, ev_free_cb);
    uv_close((uv_handle_t *)&ev->heartbeat, ev_free_cb);
}
