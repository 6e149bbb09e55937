/*
 * http/events: the live stream of GET /api/v1/events (Server-Sent Events)
 * for dashboards. Subscribes to the event bus (samples and status changes),
 * formats each event once as an SSE frame with an id ("<epoch>-<seq>": the
 * epoch is random per process) and keeps the last ones in a bounded ring.
 * Every open stream is written from the ring on a short flush timer, so a
 * burst of samples costs each dashboard one write, not one per sample; a
 * comment line every heartbeat keeps proxies from closing quiet streams.
 *
 * Resuming: a client that reconnects with Last-Event-ID gets every event
 * after it that the ring still holds; when the ring no longer reaches back
 * (or the id is from another process) it gets an `event: reset` and must
 * re-read the state it shows. A stream that falls behind by more than its
 * bound of unsent bytes is closed (EventSource reconnects and resumes).
 * Loop thread only; never blocks.
 */
#ifndef HTTP_EVENTS_H
#define HTTP_EVENTS_H

#include "http/server.h"
#include "model/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_EVENTS_RING 4096                 /* events kept for resuming */
#define HTTP_EVENTS_RING_BYTES (4u << 20)     /* and at most this many bytes of them */
#define HTTP_EVENTS_MAX_STREAMS 256           /* open streams at most */
#define HTTP_EVENTS_STREAM_PENDING (512u << 10) /* unsent bytes per stream before it is dropped */
#define HTTP_EVENTS_HEARTBEAT_MS 15000
#define HTTP_EVENTS_FLUSH_MS 100              /* events wait at most this long to be written */
#define HTTP_EVENTS_FILTER_MAX 128            /* longest check or project filter */

struct sched;
struct http_events;

struct http_events_opts {
    size_t ring;             /* 0 = HTTP_EVENTS_RING */
    size_t ring_bytes;       /* 0 = HTTP_EVENTS_RING_BYTES */
    size_t max_streams;      /* 0 = HTTP_EVENTS_MAX_STREAMS */
    size_t stream_pending;   /* 0 = HTTP_EVENTS_STREAM_PENDING */
    uint64_t heartbeat_ms;   /* 0 = HTTP_EVENTS_HEARTBEAT_MS */
    uint64_t flush_ms;       /* 0 = HTTP_EVENTS_FLUSH_MS */
};

struct http_events_stats {
    size_t streams;          /* open now */
    uint64_t opened;         /* streams opened */
    uint64_t refused;        /* not opened: the cap was reached */
    uint64_t events;         /* events formatted into the ring */
    uint64_t writes;         /* stream writes (each carries one or more events) */
    uint64_t dropped;        /* streams closed for falling behind */
    uint64_t resets;         /* reset events sent (resume point no longer held) */
};

/* Subscribes to bus. sched (borrowed, may be NULL) gives each event its
 * check's 24 h uptime and project. NULL on OOM or when the bus is full. */
struct http_events *http_events_new(uv_loop_t *loop, struct event_bus *bus, const struct sched *sched,
                                    const struct http_events_opts *opts);

/* Which events a stream wants: all (both NULL), one check, or one project. */
struct http_events_filter {
    const char *check;
    const char *project;
};

/* Turns req into a stream: "200 text/event-stream" with extra_headers
 * (borrowed lines, may be NULL), a retry hint, a `hello` event naming the
 * current id, then the events after last_event_id (the Last-Event-ID
 * header, or NULL: live events only). 0; or BASE_ERR_BUSY when the cap of
 * streams is reached (req is not answered: the caller sends 503). */
int http_events_open(struct http_events *ev, struct http_request *req, const char *extra_headers,
                     const char *last_event_id, const struct http_events_filter *filter);
/* A Last-Event-ID of this process, exactly as written ("<epoch: 8
 * lowercase hex digits>-<seq in decimal, no leading zero>", seq at most
 * head), into *seq: true. Anything else (another epoch, a seq not issued
 * yet, other spellings, signs, spaces, overflow): false. Pure. */
bool http_events_parse_id(uint32_t epoch, uint64_t head, const char *id, uint64_t *seq);
void http_events_stats_get(const struct http_events *ev, struct http_events_stats *out);
/* Shutdown began: stops the sched lookups (it is closing), ends every
 * stream and closes the timers (the loop must run once more). */
void http_events_shutdown(struct http_events *ev);
/* Unsubscribes and frees; after http_events_shutdown the loop may have
 * ended, else the timers are closed first (freed on the loop's next turn). */
void http_events_destroy(struct http_events *ev);

#endif
