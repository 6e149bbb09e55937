/*
 * probe/curlm: libcurl multi-socket driven by libuv (the shape of curl's
 * docs/examples/multi-uv.c), with one change for cost: curl's sockets live
 * in a private epoll set, and only that epoll fd is watched by a uv_poll_t.
 * A uv_poll_t per socket costs seven epoll_ctl calls and an ioctl per fresh
 * connection (libuv re-registers on every uv_poll_start); the private set
 * costs three (ADD, MOD, DEL). Owns the CURLM, the epoll fd, the uv_poll_t
 * and one uv_timer_t; does not own the easy handles; never calls into curl
 * from inside a curl callback. Linux only (epoll).
 */
#include "probe/curlm.h"

#include "base/alloc.h"
#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS_PER_WAKEUP 128

struct probe_curlm {
    uv_loop_t *loop;
    CURLM *multi;
    int epfd;
    uv_poll_t poll;               /* on epfd */
    uv_timer_t timer;
    probe_curlm_done_cb done;
    int open_handles;             /* poll + timer not yet through their close callback */
    bool closing;
    probe_curlm_closed_cb closed_cb;
    void *closed_data;
};

/* curl's per-socket pointer (curl_multi_assign) holds the epoll interest
 * the socket is registered with, tagged so that it is never NULL. */
#define SOCK_TAG 0x100u

static void check_multi_info(struct probe_curlm *m)
{
    CURLMsg *msg;
    int left;
    while (!m->closing && (msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        void *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(m->multi, easy);
        m->done(priv, easy, rc);
    }
}

static void on_epoll(uv_poll_t *h, int status, int events)
{
    struct probe_curlm *m = h->data;
    struct epoll_event ev[EVENTS_PER_WAKEUP];
    int running;
    int n = epoll_wait(m->epfd, ev, EVENTS_PER_WAKEUP, 0);
    for (int i = 0; i < n; i++) {
        uint32_t e = ev[i].events;
        int flags = 0;
        if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
            flags |= CURL_CSELECT_IN;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            flags |= CURL_CSELECT_OUT;
        if (e & EPOLLERR)
            flags |= CURL_CSELECT_ERR;
        /* A socket closed by an earlier action of this batch gives curl a
         * spurious notification at worst, which it tolerates. */
        curl_multi_socket_action(m->multi, (curl_socket_t)ev[i].data.fd, flags, &running);
    }
    /* Run-finished callbacks only after the batch, so they never cancel or
     * start transfers in the middle of it. */
    check_multi_info(m);
}

static void on_timer(uv_timer_t *t)
{
    struct probe_curlm *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(m);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct probe_curlm *m = h->data;
    if (--m->open_handles > 0)
        return;
    curl_multi_cleanup(m->multi);
    close(m->epfd);
    probe_curlm_closed_cb cb = m->closed_cb;
    void *data = m->closed_data;
    base_free(m);
    if (cb)
        cb(data);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct probe_curlm *m = userp;
    uint32_t cur = (uint32_t)(uintptr_t)socketp;
    if (m->closing)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        if (cur) {
            epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
            curl_multi_assign(m->multi, fd, NULL);
        }
        return 0;
    }
    uint32_t want = 0;
    if (what & CURL_POLL_IN)
        want |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        want |= EPOLLOUT;
    if (cur && (cur & ~SOCK_TAG) == want)
        return 0;
    struct epoll_event ev = {.events = want, .data.fd = fd};
    if (epoll_ctl(m->epfd, cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
        return -1;  /* curl fails that transfer */
    curl_multi_assign(m->multi, fd, (void *)(uintptr_t)(want | SOCK_TAG));
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct probe_curlm *m = userp;
    if (m->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

struct probe_curlm *probe_curlm_new(uv_loop_t *loop, probe_curlm_done_cb cb)
{
    struct probe_curlm *m = base_calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->loop = loop;
    m->done = cb;
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m->epfd < 0)
        goto fail;
    if (!(m->multi = curl_multi_init()))
        goto fail;
    if (uv_poll_init(loop, &m->poll, m->epfd) != 0)
        goto fail;
    m->poll.data = m;
    uv_poll_start(&m->poll, UV_READABLE, on_epoll);
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    m->open_handles = 2;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
fail:
    if (m->multi)
        curl_multi_cleanup(m->multi);
    if (m->epfd >= 0)
        close(m->epfd);
    base_free(m);
    return NULL;
}

int probe_curlm_add(struct probe_curlm *m, CURL *easy)
{
    if (m->closing)
        return BASE_ERR_INVALID;
    CURLMcode rc = curl_multi_add_handle(m->multi, easy);
    if (rc == CURLM_OK)
        return 0;
    return rc == CURLM_OUT_OF_MEMORY ? BASE_ERR_NOMEM : BASE_ERR_INVALID;
}

void probe_curlm_remove(struct probe_curlm *m, CURL *easy)
{
    curl_multi_remove_handle(m->multi, easy);
}

void probe_curlm_close(struct probe_curlm *m, probe_curlm_closed_cb cb, void *data)
{
    m->closing = true;
    m->closed_cb = cb;
    m->closed_data = data;
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->poll, on_handle_closed);
    uv_close((uv_handle_t *)&m->timer, on_handle_closed);
}
