/*
 * probe/curlm: drives one libcurl multi handle from the libuv loop with the
 * multi-socket API: a uv_poll_t per socket curl asks to watch
 * (CURLMOPT_SOCKETFUNCTION) and one uv_timer_t for curl's timeout
 * (CURLMOPT_TIMERFUNCTION). Knows nothing about checks: it reports each
 * finished easy handle to one callback. Never blocks, never calls
 * curl_multi_perform or curl_multi_poll.
 */
#ifndef PROBE_CURLM_H
#define PROBE_CURLM_H

#include <curl/curl.h>
#include <uv.h>

struct probe_curlm;

/* A transfer finished: `priv` is the easy handle's CURLOPT_PRIVATE, `rc` its
 * result. The easy handle has already been removed from the multi, so the
 * callback may reuse or clean it up, and may add or remove other handles. */
typedef void (*probe_curlm_done_cb)(void *priv, CURL *easy, CURLcode rc);
typedef void (*probe_curlm_closed_cb)(void *data);

/* NULL on OOM or when curl_multi_init fails. */
struct probe_curlm *probe_curlm_new(uv_loop_t *loop, probe_curlm_done_cb cb);
/* Adds a configured easy handle (borrowed until done or removed). 0 or
 * BASE_ERR_NOMEM / BASE_ERR_INVALID. Never completes synchronously. */
int probe_curlm_add(struct probe_curlm *m, CURL *easy);
/* Aborts a transfer; its done callback will not be called. */
void probe_curlm_remove(struct probe_curlm *m, CURL *easy);
/* Every easy handle must have been removed. Closes the timer and the polls;
 * cb runs on the loop once they are closed and everything is freed. */
void probe_curlm_close(struct probe_curlm *m, probe_curlm_closed_cb cb, void *data);

#endif
