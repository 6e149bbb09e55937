/*
 * probe/probe_int: what the files of src/probe share and no other folder may
 * include: the engine and run structs, the run lifecycle hooks of probe.c
 * (init, finish) and small formatting helpers. A run is embedded as the first
 * member of a type-specific struct that the type's file allocates and frees;
 * the type's start and cancel are reached through run->type.
 */
#ifndef PROBE_PROBE_INT_H
#define PROBE_PROBE_INT_H

#include "base/map.h"
#include "probe/probe.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

struct probe_curlm;
struct probe_conn_tls_cache;

struct probe_run {
    struct probe_engine *engine;
    struct probe_run *prev, *next;  /* engine->runs while active */
    const struct conf_check_type *type;
    probe_done_cb cb;
    void *data;
    bool done;                      /* callback delivered (or being) or canceled */
    int64_t timeout_ms;
    uint64_t t0_ns;                 /* uv_hrtime() at start */
    char *detail;                   /* probe_run_detail_set's text, freed after the callback */
    struct scrape_batch *series;    /* probe_run_series_set's, freed after the callback */
    struct sample s;
};

struct probe_engine {
    uv_loop_t *loop;
    const struct base_clock *clock; /* dates the samples */
    struct probe_curlm *curlm;
    CURLSH *share;                  /* DNS cache and TLS sessions across runs */
    struct probe_run *runs;         /* active runs, doubly linked */
    struct probe_stats stats;
    size_t tearing_down;            /* runs still closing their libuv handles */
    struct probe_conn_tls_cache *tls_cache; /* conn.c's TLS contexts by ca_file; NULL until used */
    bool closing, curlm_closed;
    probe_close_cb close_cb;
    void *close_data;
    struct base_map host_cpu;       /* cpu check id -> its last counters (host.c) */
    struct base_map redis_prev;     /* redis check id -> its last INFO reading (redis.c) */
    struct probe_host_hung *host_hung; /* statfs calls past their deadline (host.c) */
    char *data_dir;                 /* where types keep state between runs (log.c); NULL: none */
};

/* What a run that drives a curl easy handle on the engine's multi puts as
 * its CURLOPT_PRIVATE: the engine calls `done` when the transfer ends (the
 * handle is already removed from the multi). */
struct probe_curl_owner {
    void (*done)(struct probe_curl_owner *owner, CURLcode rc);
};

/* Fills the common part of a run (sample ts, timeout with defaults). */
void probe_run_init(struct probe_run *r, struct probe_engine *e, const struct conf_check *c);
/* Unlinks the run, counts it finished and calls its callback once with r->s.
 * The caller releases the run's resources afterwards. */
void probe_run_finish(struct probe_run *r);
/* Sets the detail of the run's sample (see probe_run_detail) from obj,
 * which it takes (decref'd, may be NULL: no detail). A text longer than
 * PROBE_DETAIL_MAX gives {"truncated": true} instead: types keep their
 * strings short. */
struct json_t;
void probe_run_detail_set(struct probe_run *r, struct json_t *obj);
/* s[0..n) as a JSON string for a detail: at most max bytes, cut after the
 * last whole line that fits (or at max), ill-formed UTF-8 and control
 * characters (but newline and tab) as U+FFFD; NULL when empty or on OOM. */
struct json_t *probe_json_text(const char *s, size_t n, size_t max);
/* Hands the run a batch of scraped series (taken; freed after the
 * callback or at a cancel). */
void probe_run_series_set(struct probe_run *r, struct scrape_batch *b);
/* Milliseconds since the run started. */
double probe_run_elapsed_ms(const struct probe_run *r);
/* Called by a type (or conn.c) when a torn-down run (or connection) has
 * released its last handle (each counted in engine->tearing_down); frees
 * the engine if it is closing and nothing else is left. From a libuv
 * callback, or while the caller's run still holds its own count. */
void probe_engine_release(struct probe_engine *e);

/* Frees what host.c keeps between runs (the cpu counters; its share of the
 * record of hung statfs calls). */
void probe_host_forget(struct probe_engine *e);
/* host.c's ratio setting: 0..1 or a percentage ("80%") into a double. */
extern const struct conf_field_ops probe_host_ratio_ops;
/* Frees what redis.c keeps between runs (each check's last INFO reading). */
void probe_redis_forget(struct probe_engine *e);

/* The notAfter of the peer's leaf certificate of an OpenSSL connection
 * (an SSL *), as unix seconds: true, or false without one. tls.c; http.c
 * reports it for https. */
struct ssl_st;
bool probe_tls_peer_not_after(const struct ssl_st *ssl, int64_t *unix_s);

/* Writes s[0..n) into out as a quoted-free, printable-escaped text (\n, \r,
 * \t, \xNN), truncated with "..." so that it fits in `size` bytes. */
void probe_escape(const char *s, size_t n, char *out, size_t size);

#endif
