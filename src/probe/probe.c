/*
 * probe/probe: the probe engine. Owns the curl driver (probe/curlm.c), the
 * curl share (DNS cache, TLS sessions) and the list of active runs; starts
 * a check through its type (conf_check.type->start) and keeps the run
 * lifecycle (start, finish exactly once, cancel) and the stats. Knows no
 * type by name. Logs nothing per run. The engine is freed only from a
 * libuv close callback, so probe_engine_close may be called from inside a
 * run callback.
 */
#include "probe/probe.h"

#include "base/alloc.h"
#include "base/time.h"
#include "base/utf8.h"
#include "model/scrape.h"
#include "probe/conn.h"
#include "probe/curlm.h"
#include "probe/probe_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_unlink(struct probe_run *r)
{
    struct probe_engine *e = r->engine;
    if (r->prev)
        r->prev->next = r->next;
    else
        e->runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    e->stats.in_flight--;
}

void probe_run_init(struct probe_run *r, struct probe_engine *e, const struct conf_check *c)
{
    r->engine = e;
    r->type = c->type;
    r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : CONF_DEFAULT_TIMEOUT_MS;
    r->t0_ns = uv_hrtime();
    r->detail = NULL;
    r->series = NULL;
    sample_init(&r->s, base_clock_wall_ms(e->clock));
}

void probe_run_detail_set(struct probe_run *r, json_t *obj)
{
    base_free(r->detail);
    r->detail = NULL;
    if (!obj)
        return;
    /* UTF-8 as is: \uXXXX escapes would triple non-Latin text past the cap */
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text && strlen(text) <= PROBE_DETAIL_MAX)
        r->detail = base_strdup(text);
    else if (text)
        r->detail = base_strdup("{\"truncated\":true}");
    free(text);
}

void probe_run_series_set(struct probe_run *r, struct scrape_batch *b)
{
    scrape_batch_destroy(r->series);
    r->series = b;
}

/* s[0..n) as a JSON string of at most max bytes of it, cut after the last
 * whole line that fits (or at max), ill-formed UTF-8 and control
 * characters (but newline and tab) as U+FFFD; NULL when empty. */
json_t *probe_json_text(const char *s, size_t n, size_t max)
{
    if (n > max) {
        size_t cut = max;
        while (cut > 0 && s[cut - 1] != '\n')
            cut--;
        n = cut ? cut : max;
    }
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (!n)
        return NULL;
    char *out = base_malloc(n * BASE_UTF8_REPLACEMENT_LEN + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = base_utf8_decode(s + i, n - i, &cp);
        if (k && (!base_utf8_is_control(cp) || cp == '\n' || cp == '\t')) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, BASE_UTF8_REPLACEMENT, BASE_UTF8_REPLACEMENT_LEN);
            o += BASE_UTF8_REPLACEMENT_LEN;
            i += k ? k : 1;
        }
    }
    json_t *j = json_stringn(out, o);
    base_free(out);
    return j;
}

const struct scrape_batch *probe_run_series(const struct probe_run *r)
{
    return r ? r->series : NULL;
}

const char *probe_run_detail(const struct probe_run *r)
{
    return r ? r->detail : NULL;
}

double probe_run_elapsed_ms(const struct probe_run *r)
{
    return (double)(uv_hrtime() - r->t0_ns) / 1e6;
}

/* The error text is shown by the API, logs and terminals: bytes that are
 * not well-formed UTF-8, and control characters, become '?' (a type may
 * have quoted what a target sent). */
static void clean_error(char *e)
{
    for (size_t i = 0, n = strlen(e); i < n;) {
        uint32_t cp;
        size_t k = base_utf8_decode(e + i, n - i, &cp);
        if (k && !base_utf8_is_control(cp)) {
            i += k;
            continue;
        }
        e[i++] = '?';
    }
}

void probe_run_finish(struct probe_run *r)
{
    if (r->done)
        return;
    clean_error(r->s.error);
    r->done = true;
    run_unlink(r);
    r->engine->stats.finished++;
    if (r->cb)
        r->cb(r->data, &r->s);
    base_free(r->detail);
    r->detail = NULL;
    scrape_batch_destroy(r->series);
    r->series = NULL;
}

void probe_escape(const char *s, size_t n, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (!size)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[4];
        size_t k = 0;
        if (ch == '\n') {
            tmp[k++] = '\\';
            tmp[k++] = 'n';
        } else if (ch == '\r') {
            tmp[k++] = '\\';
            tmp[k++] = 'r';
        } else if (ch == '\t') {
            tmp[k++] = '\\';
            tmp[k++] = 't';
        } else if (ch == '"' || ch == '\\') {
            tmp[k++] = '\\';
            tmp[k++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            tmp[k++] = '\\';
            tmp[k++] = 'x';
            tmp[k++] = hex[ch >> 4];
            tmp[k++] = hex[ch & 15];
        } else {
            tmp[k++] = (char)ch;
        }
        /* keep room for "..." and the NUL whenever more input follows */
        size_t reserve = (i + 1 < n) ? 4 : 1;
        if (o + k + reserve > size) {
            if (size >= 4) {
                while (o + 4 > size)
                    o--;
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(out + o, tmp, k);
        o += k;
    }
    out[o < size ? o : size - 1] = '\0';
}

/* ---- engine ---- */

/* A curl transfer ended: its run's type handles it. */
static void on_curl_done(void *priv, CURL *easy, CURLcode rc)
{
    struct probe_curl_owner *owner = priv;
    owner->done(owner, rc);
}

struct probe_engine *probe_engine_new(uv_loop_t *loop, const struct base_clock *clock)
{
    struct probe_engine *e = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    if (!(e = base_calloc(1, sizeof(*e))))
        goto fail;
    e->loop = loop;
    e->clock = clock ? clock : &base_clock_system;
    if (!(e->share = curl_share_init()))
        goto fail;
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (!(e->curlm = probe_curlm_new(loop, on_curl_done)))
        goto fail;
    return e;
fail:
    if (e && e->share)
        curl_share_cleanup(e->share);
    base_free(e);
    curl_global_cleanup();
    return NULL;
}

void probe_stats_get(const struct probe_engine *e, struct probe_stats *out)
{
    *out = e->stats;
}

int probe_engine_set_data_dir(struct probe_engine *e, const char *dir)
{
    char *copy = dir ? base_strdup(dir) : NULL;
    if (dir && !copy)
        return BASE_ERR_NOMEM;
    base_free(e->data_dir);
    e->data_dir = copy;
    return 0;
}

struct probe_run *probe_start(struct probe_engine *e, const struct conf_check *check,
                              probe_done_cb cb, void *data)
{
    if (e->closing)
        return NULL;
    if (!check->type || !check->type->start)
        return NULL; /* passive types have no runs */
    struct probe_run *r = check->type->start(e, check);
    if (!r)
        return NULL;
    /* Nothing completes synchronously: callbacks come from the loop. */
    r->cb = cb;
    r->data = data;
    r->prev = NULL;
    r->next = e->runs;
    if (e->runs)
        e->runs->prev = r;
    e->runs = r;
    e->stats.started++;
    e->stats.in_flight++;
    return r;
}

void probe_cancel(struct probe_run *r)
{
    if (!r || r->done)
        return;
    r->done = true;
    run_unlink(r);
    r->engine->stats.canceled++;
    base_free(r->detail);
    r->detail = NULL;
    scrape_batch_destroy(r->series);
    r->series = NULL;
    r->type->cancel(r);
}

static void engine_free_if_idle(struct probe_engine *e)
{
    if (!e->closing || !e->curlm_closed || e->tearing_down)
        return;
    curl_share_cleanup(e->share);
    probe_host_forget(e);
    probe_redis_forget(e);
    probe_conn_tls_cache_free(e->tls_cache);
    base_free(e->data_dir);
    probe_close_cb cb = e->close_cb;
    void *data = e->close_data;
    base_free(e);
    curl_global_cleanup();
    if (cb)
        cb(data);
}

void probe_engine_release(struct probe_engine *e)
{
    e->tearing_down--;
    engine_free_if_idle(e);
}

static void on_curlm_closed(void *data)
{
    struct probe_engine *e = data;
    e->curlm = NULL;
    e->curlm_closed = true;
    engine_free_if_idle(e);
}

void probe_engine_close(struct probe_engine *e, probe_close_cb cb, void *data)
{
    if (e->closing)
        return;
    e->closing = true;
    e->close_cb = cb;
    e->close_data = data;
    while (e->runs)
        probe_cancel(e->runs);
    probe_curlm_close(e->curlm, on_curlm_closed, e);
}
