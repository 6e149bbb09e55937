/*
 * probe/proc: one run of a program (see proc.h). A run starts its program
 * on a pool thread, then owns up to five handles: the stdout and stderr
 * pipes, the stdin pipe when there is something to write, a poll on the
 * program's pidfd (readable when it exits) and a timer (the deadline,
 * then the wait for a killed program). The result is given once the
 * program has exited and both output pipes reached EOF, or at the
 * deadline; the run frees itself only after the exit status has been
 * reaped.
 */
#include "probe/proc.h"

#include "base/alloc.h"
#include "probe/command_spawn.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct probe_proc {
    uv_loop_t *loop;
    uv_work_t work;                 /* the spawn, on the pool */
    uv_pipe_t out, err, in;
    uv_poll_t exit_poll;            /* on sp.pidfd */
    uv_timer_t timer;
    uv_write_t wreq;
    struct probe_command_spawn sp;
    probe_proc_done_cb done_cb;
    probe_proc_closed_cb closed_cb;
    void *data;
    int handles;                    /* handles not yet closed */
    int queue_err;                  /* uv_queue_work failed with this */
    bool work_pending, polling, has_in;
    int reap_ticks;                 /* on_reap_tick's polls so far */
    bool spawned, exited, out_eof, err_eof, timed_out, done, tearing_down, reaping;
    int64_t exit_status;
    int term_signal;
    uint64_t start_ns;
    double exit_ms;
    int64_t timeout_ms;
    size_t out_len, out_max, err_len, in_len;
    uint64_t out_total;
    char *in_data;
    char errbuf[PROBE_COMMAND_STDERR_MAX];
    char discard[4096];             /* output past out_max is read into this and dropped */
    char outbuf[];                  /* out_max bytes */
};

static void finish(struct probe_proc *p, int err, const char *what);

/* ---- teardown ---- */

static void release(struct probe_proc *p)
{
    if (p->handles > 0 || p->work_pending)
        return;
    probe_command_spawn_free(&p->sp);
    base_free(p->in_data);
    probe_proc_closed_cb cb = p->closed_cb;
    void *data = p->data;
    base_free(p);
    if (cb)
        cb(data);
}

static void on_closed(uv_handle_t *h)
{
    struct probe_proc *p = h->data;
    p->handles--;
    release(p);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_closed);
}

static void kill_group(struct probe_proc *p)
{
    /* the program leads its own session: -pid is its process group */
    if (p->spawned && p->sp.pid > 0)
        (void)kill(-p->sp.pid, SIGKILL);
}

/* The timer and the exit poll: once the program is reaped (or given up). */
static void close_watchers(struct probe_proc *p)
{
    uv_timer_stop(&p->timer);
    close_handle((uv_handle_t *)&p->timer);
    if (p->polling)
        close_handle((uv_handle_t *)&p->exit_poll);  /* sp.pidfd is closed with the run */
}

static void on_reap_deadline(uv_timer_t *h)
{
    /* SIGKILL did not end it within PROBE_COMMAND_REAP_MS (a process in
     * uninterruptible sleep): give up the watch rather than the loop */
    close_watchers(h->data);
}

/* Without a pidfd watch (its uv_poll could not start): the killed program
 * is reaped by polling, every 50 ms up to PROBE_COMMAND_REAP_MS. */
static void on_reap_tick(uv_timer_t *h)
{
    struct probe_proc *p = h->data;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int rc = waitid(P_PID, (id_t)p->sp.pid, &si, WEXITED | WNOHANG);
    if ((rc == 0 && si.si_pid != 0) || (rc != 0 && errno == ECHILD) ||
        ++p->reap_ticks >= PROBE_COMMAND_REAP_MS / 50) {
        p->exited = true;
        close_watchers(p);
    }
}

/* After the result (or a cancel), once the spawn is back from the pool:
 * a running program is killed and reaped before the watchers close. */
static void teardown_rest(struct probe_proc *p)
{
    close_handle((uv_handle_t *)&p->out);
    close_handle((uv_handle_t *)&p->err);
    if (p->has_in)
        close_handle((uv_handle_t *)&p->in);
    if (!p->spawned || p->exited) {
        close_watchers(p);
        return;
    }
    kill_group(p);
    p->reaping = true;
    uv_timer_stop(&p->timer);
    if (p->polling)
        uv_timer_start(&p->timer, on_reap_deadline, PROBE_COMMAND_REAP_MS, 0);
    else
        uv_timer_start(&p->timer, on_reap_tick, 50, 50);
}

static void teardown(struct probe_proc *p)
{
    if (p->tearing_down)
        return;
    p->tearing_down = true;
    if (p->work_pending) {
        (void)uv_cancel((uv_req_t *)&p->work);  /* else on_spawned goes on from here */
        return;
    }
    teardown_rest(p);
}

void probe_proc_cancel(struct probe_proc *p)
{
    p->done = true;
    teardown(p);
}

/* ---- the result ---- */

static double elapsed_ms(const struct probe_proc *p)
{
    return (double)(uv_hrtime() - p->start_ns) / 1e6;
}

static void finish(struct probe_proc *p, int err, const char *what)
{
    if (p->done)
        return;
    p->done = true;
    struct probe_proc_result r = {
        .err = err,
        .what = what,
        .cwd = p->sp.cwd,
        .timed_out = p->timed_out,
        .exited = p->exited,
        .exit_status = p->exit_status,
        .term_signal = p->term_signal,
        .exit_ms = p->exited ? p->exit_ms : elapsed_ms(p),
        .out = p->outbuf,
        .out_len = p->out_len,
        .errout = p->errbuf,
        .err_len = p->err_len,
        .out_total = p->out_total,
    };
    p->done_cb(p->data, &r);
    teardown(p);
}

static void maybe_finish(struct probe_proc *p)
{
    if (p->exited && p->out_eof && p->err_eof)
        finish(p, 0, NULL);
}

/* ---- the process ---- */

static void on_exit_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct probe_proc *p = h->data;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)p->sp.pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0)
        return;                 /* not yet: a spurious wakeup */
    /* reaped now, or by nobody we know of (ECHILD): either way it is gone */
    uv_poll_stop(h);
    p->exited = true;
    p->exit_ms = elapsed_ms(p);
    if (si.si_pid && si.si_code == CLD_EXITED)
        p->exit_status = si.si_status;
    else if (si.si_pid)
        p->term_signal = si.si_status;
    else
        p->exit_status = -1;
    if (p->reaping) {
        close_watchers(p);
        return;
    }
    /* something it started still holds the output open: end the group */
    if (!p->out_eof || !p->err_eof)
        kill_group(p);
    maybe_finish(p);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct probe_proc *p = h->data;
    if (h == (uv_handle_t *)&p->out && p->out_len < p->out_max)
        *buf = uv_buf_init(p->outbuf + p->out_len, (unsigned)(p->out_max - p->out_len));
    else if (h == (uv_handle_t *)&p->err && p->err_len < sizeof(p->errbuf))
        *buf = uv_buf_init(p->errbuf + p->err_len, (unsigned)(sizeof(p->errbuf) - p->err_len));
    else
        *buf = uv_buf_init(p->discard, sizeof(p->discard));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_proc *p = st->data;
    bool is_out = st == (uv_stream_t *)&p->out;
    if (nread > 0) {
        if (is_out) {
            p->out_total += (uint64_t)nread;
            if (buf->base == p->outbuf + p->out_len)
                p->out_len += (size_t)nread;
        } else if (buf->base == p->errbuf + p->err_len) {
            p->err_len += (size_t)nread;
        }
        return;
    }
    if (nread == 0)
        return;
    uv_read_stop(st);   /* EOF or an error: this stream is done */
    if (is_out)
        p->out_eof = true;
    else
        p->err_eof = true;
    maybe_finish(p);
}

static void on_timer(uv_timer_t *h)
{
    struct probe_proc *p = h->data;
    if (p->done)
        return;
    if (!p->spawned && !p->work_pending) {  /* the spawn could not be queued */
        finish(p, p->queue_err, "queue");
        return;
    }
    p->timed_out = true;
    finish(p, 0, NULL);
}

/* All of stdin written (or the program stopped reading): EOF for it. A
 * program that exits without reading makes this EPIPE, which is no error
 * of the run (SIGPIPE is ignored in the daemon). */
static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct probe_proc *p = w->data;
    close_handle((uv_handle_t *)&p->in);
}

/* ---- start ---- */

static void on_spawn_work(uv_work_t *w)
{
    struct probe_proc *p = w->data;
    probe_command_spawn_run(&p->sp);
}

/* Hands the pipes and the pidfd to libuv: 0, or a libuv error (the
 * program is then killed by the teardown). */
static int watch(struct probe_proc *p)
{
    int rc = uv_pipe_open(&p->out, p->sp.out_fd);
    if (!rc) {
        p->sp.out_fd = -1;
        rc = uv_pipe_open(&p->err, p->sp.err_fd);
    }
    if (!rc) {
        p->sp.err_fd = -1;
        if (p->has_in) {
            rc = uv_pipe_open(&p->in, p->sp.in_fd);
            if (!rc)
                p->sp.in_fd = -1;
        }
    }
    if (!rc)
        rc = uv_poll_init(p->loop, &p->exit_poll, p->sp.pidfd);
    if (rc)
        return rc;
    p->exit_poll.data = p;
    p->polling = true;
    p->handles++;
    uv_poll_start(&p->exit_poll, UV_READABLE, on_exit_poll);
    uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&p->err, on_alloc, on_read);
    if (p->has_in) {
        uv_buf_t b = uv_buf_init(p->in_data, (unsigned)p->in_len);
        p->wreq.data = p;
        if (p->in_len == 0 || uv_write(&p->wreq, (uv_stream_t *)&p->in, &b, 1, on_written) != 0)
            close_handle((uv_handle_t *)&p->in);
    }
    return 0;
}

static void on_spawned(uv_work_t *w, int status)
{
    struct probe_proc *p = w->data;
    /* canceled (or timed out) while on the pool: teardown left the rest to us */
    bool left_to_us = p->tearing_down;
    p->work_pending = false;
    if (status == 0 && !p->sp.err) {
        p->spawned = true;
        int rc = watch(p);
        if (rc)
            finish(p, rc, "watch");
    } else {
        finish(p, status ? status : p->sp.err, p->sp.what);
    }
    if (left_to_us)
        teardown_rest(p);
}

struct probe_proc *probe_proc_start(uv_loop_t *loop, const struct probe_command_conf *c, const char *stdin_data,
                                    size_t stdin_len, int64_t timeout_ms, size_t out_max, probe_proc_done_cb done,
                                    probe_proc_closed_cb closed, void *data)
{
    if (stdin_len > PROBE_PROC_STDIN_MAX)
        return NULL;
    struct probe_proc *p = base_malloc(sizeof(*p) + out_max);
    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->out_max = out_max;
    p->timeout_ms = timeout_ms;
    p->done_cb = done;
    p->closed_cb = closed;
    p->data = data;
    p->start_ns = uv_hrtime();
    if (stdin_data) {
        p->in_data = base_malloc(stdin_len ? stdin_len : 1);
        if (!p->in_data) {
            base_free(p);
            return NULL;
        }
        memcpy(p->in_data, stdin_data, stdin_len);
        p->in_len = stdin_len;
        p->has_in = true;
    }
    if (probe_command_spawn_prepare(&p->sp, c) != 0) {
        base_free(p->in_data);
        base_free(p);
        return NULL;
    }
    p->sp.want_stdin = p->has_in;
    uv_timer_init(loop, &p->timer);
    uv_pipe_init(loop, &p->out, 0);
    uv_pipe_init(loop, &p->err, 0);
    p->timer.data = p->out.data = p->err.data = p->work.data = p;
    p->handles = 3;
    if (p->has_in) {
        uv_pipe_init(loop, &p->in, 0);
        p->in.data = p;
        p->handles++;
    }
    uv_timer_start(&p->timer, on_timer, (uint64_t)timeout_ms, 0);
    int rc = uv_queue_work(loop, &p->work, on_spawn_work, on_spawned);
    if (rc != 0) {
        p->queue_err = rc;
        uv_timer_start(&p->timer, on_timer, 0, 0);
        return p;
    }
    p->work_pending = true;
    return p;
}
