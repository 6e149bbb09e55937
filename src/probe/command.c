/*
 * probe/command: runs of the command check type (see command.h). A run
 * starts its program on a pool thread (probe/command_spawn: posix_spawn,
 * not a fork of the daemon on the loop), then owns four handles: the
 * stdout and stderr pipes, a poll on the program's pidfd (readable when
 * it exits) and a timer (the deadline, then the wait for a killed
 * program). The sample is delivered once the program has exited and both
 * pipes reached EOF, or at the deadline; the run frees itself only after
 * the exit status has been reaped (or PROBE_COMMAND_REAP_MS after a
 * SIGKILL that did not take), so a cancel or a timeout never leaves a
 * zombie behind.
 */
#include "probe/command.h"

#include "base/alloc.h"
#include "probe/command_conf.h"
#include "probe/command_spawn.h"
#include "probe/perfdata.h"
#include "probe/probe_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHOWN_MAX 200
#define DETAIL_OUTPUT_MAX 1024   /* bytes of stdout in the detail, cut at a line end */
#define DETAIL_STDERR_MAX 256

struct probe_command {
    struct probe_run run;           /* first: a run pointer is a probe_command pointer */
    uv_work_t work;                 /* the spawn, on the pool */
    uv_pipe_t out, err;
    uv_poll_t exit_poll;            /* on sp.pidfd */
    uv_timer_t timer;
    struct probe_command_spawn sp;
    int handles;                    /* handles not yet closed */
    bool work_pending, polling;
    int reap_ticks;                 /* on_reap_tick's polls so far */
    bool spawned, exited, out_eof, err_eof, timed_out, tearing_down, reaping;
    int64_t exit_status;
    int term_signal;
    double exit_ms;                 /* from the start to the exit */
    size_t out_len, out_max, err_len;
    uint64_t out_total;
    char program[SHOWN_MAX];        /* for errors: the program's path */
    char errbuf[PROBE_COMMAND_STDERR_MAX];
    char discard[4096];             /* output past out_max is read into this and dropped */
    char outbuf[];                  /* out_max bytes */
};

static void on_timer(uv_timer_t *h);
static void deliver(struct probe_command *t);

/* ---- teardown ---- */

static void release(struct probe_command *t)
{
    if (t->handles > 0 || t->work_pending)
        return;
    struct probe_engine *e = t->run.engine;
    probe_command_spawn_free(&t->sp);
    base_free(t);
    probe_engine_release(e);
}

static void on_closed(uv_handle_t *h)
{
    struct probe_command *t = h->data;
    t->handles--;
    release(t);
}

static void close_handle(struct probe_command *t, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_closed);
}

static void kill_group(struct probe_command *t)
{
    /* the program leads its own session: -pid is its process group */
    if (t->spawned && t->sp.pid > 0)
        (void)kill(-t->sp.pid, SIGKILL);
}

/* The timer and the exit poll: once the program is reaped (or given up). */
static void close_watchers(struct probe_command *t)
{
    uv_timer_stop(&t->timer);
    close_handle(t, (uv_handle_t *)&t->timer);
    if (t->polling)
        close_handle(t, (uv_handle_t *)&t->exit_poll);  /* sp.pidfd is closed with the run */
}

static void on_reap_deadline(uv_timer_t *h)
{
    /* SIGKILL did not end it within PROBE_COMMAND_REAP_MS (a process in
     * uninterruptible sleep): give up the watch rather than the engine */
    close_watchers(h->data);
}

/* Without a pidfd watch (its uv_poll could not start): the killed program
 * is reaped by polling, every 50 ms up to PROBE_COMMAND_REAP_MS. */
static void on_reap_tick(uv_timer_t *h)
{
    struct probe_command *t = h->data;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int rc = waitid(P_PID, (id_t)t->sp.pid, &si, WEXITED | WNOHANG);
    if ((rc == 0 && si.si_pid != 0) || (rc != 0 && errno == ECHILD) ||
        ++t->reap_ticks >= PROBE_COMMAND_REAP_MS / 50) {
        t->exited = true;
        close_watchers(t);
    }
}

/* After the sample (or a cancel), once the spawn is back from the pool:
 * a running program is killed and reaped before the watchers close. */
static void teardown_rest(struct probe_command *t)
{
    close_handle(t, (uv_handle_t *)&t->out);
    close_handle(t, (uv_handle_t *)&t->err);
    if (!t->spawned || t->exited) {
        close_watchers(t);
        return;
    }
    kill_group(t);
    t->reaping = true;
    uv_timer_stop(&t->timer);
    if (t->polling)
        uv_timer_start(&t->timer, on_reap_deadline, PROBE_COMMAND_REAP_MS, 0);
    else
        uv_timer_start(&t->timer, on_reap_tick, 50, 50);
}

static void teardown(struct probe_command *t)
{
    if (t->tearing_down)
        return;
    t->tearing_down = true;
    t->run.engine->tearing_down++;
    if (t->work_pending) {
        (void)uv_cancel((uv_req_t *)&t->work);  /* else on_spawned goes on from here */
        return;
    }
    teardown_rest(t);
}

static void command_cancel(struct probe_run *r)
{
    teardown((struct probe_command *)r);
}

/* ---- the sample ---- */

/* The first line of stderr, trimmed, escaped into out. */
static void stderr_line(const struct probe_command *t, char *out, size_t n)
{
    size_t len = 0;
    while (len < t->err_len && t->errbuf[len] != '\n')
        len++;
    while (len && (t->errbuf[len - 1] == '\r' || t->errbuf[len - 1] == ' '))
        len--;
    probe_escape(t->errbuf, len, out, n);
}

static void set_values(struct probe_command *t, const struct probe_perfdata *pd)
{
    struct sample *s = &t->run.s;
    if (!t->timed_out && !t->term_signal)
        sample_value_set(s, "exit_code", (double)t->exit_status);
    sample_value_set(s, "output_bytes", (double)t->out_total);
    size_t dropped = pd->dropped;
    for (size_t i = 0; i < pd->n_items; i++) {
        double v;
        if (sample_value_get(s, pd->items[i].name, &v) || sample_value_set(s, pd->items[i].name, pd->items[i].value))
            dropped++;
    }
    if (dropped)
        sample_value_set(s, "perfdata_dropped", (double)dropped);
}

static void judge(struct probe_command *t, const struct probe_perfdata *pd)
{
    struct sample *s = &t->run.s;
    char text[SHOWN_MAX], err[SHOWN_MAX];
    probe_escape(pd->summary, pd->summary_len, text, sizeof(text));
    stderr_line(t, err, sizeof(err));
    const char *why = text[0] ? text : err;
    if (t->timed_out) {
        s->result = SAMPLE_DOWN;
        sample_set_error(s, "timeout after %" PRId64 " ms (process group killed)%s%s", t->run.timeout_ms,
                         why[0] ? ": " : "", why);
        return;
    }
    if (t->term_signal) {
        s->result = SAMPLE_DOWN;
        s->code = 128 + t->term_signal;
        sample_set_error(s, "killed by signal %d (%s)%s%s", t->term_signal, sigdescr_np(t->term_signal) ? sigdescr_np(t->term_signal) : "unknown signal",
                         why[0] ? ": " : "", why);
        return;
    }
    s->code = (int)t->exit_status;
    switch (t->exit_status) {
    case 0:
        s->result = SAMPLE_UP;
        s->error[0] = '\0';
        return;
    case 1:
        s->result = SAMPLE_DEGRADED;
        break;
    case 2:
        s->result = SAMPLE_DOWN;
        break;
    case 3:
        s->result = SAMPLE_DOWN;
        if (!strstr(why, "UNKNOWN")) {
            sample_set_error(s, "UNKNOWN: %s", why[0] ? why : "(no output)");
            return;
        }
        break;
    default:
        s->result = SAMPLE_DOWN;
        sample_set_error(s, "exit code %" PRId64 "%s%s", t->exit_status, why[0] ? ": " : " (no output)", why);
        return;
    }
    if (why[0])
        sample_set_error(s, "%s", why);
    else
        sample_set_error(s, "exit code %" PRId64 " (no output)", t->exit_status);
}

/* The detail: the first lines of stdout (a plugin's long text) and of stderr. */
static void set_detail(struct probe_command *t)
{
    json_t *out = probe_json_text(t->outbuf, t->out_len, DETAIL_OUTPUT_MAX);
    json_t *err = probe_json_text(t->errbuf, t->err_len, DETAIL_STDERR_MAX);
    if (!out && !err)
        return;
    json_t *o = json_object();
    if (o && out)
        json_object_set_new(o, "output", out);
    else
        json_decref(out);
    if (o && err)
        json_object_set_new(o, "stderr", err);
    else
        json_decref(err);
    probe_run_detail_set(&t->run, o);
}

static void deliver(struct probe_command *t)
{
    if (t->run.done)
        return;
    struct probe_perfdata pd;
    probe_perfdata_parse(t->outbuf, t->out_len, &pd);
    set_values(t, &pd);
    judge(t, &pd);
    set_detail(t);
    t->run.s.latency_ms = t->exited ? t->exit_ms : probe_run_elapsed_ms(&t->run);
    probe_run_finish(&t->run);
    teardown(t);
}

static void maybe_deliver(struct probe_command *t)
{
    if (t->exited && t->out_eof && t->err_eof)
        deliver(t);
}

/* ---- the process ---- */

static void on_exit_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct probe_command *t = h->data;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)t->sp.pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0)
        return;                 /* not yet: a spurious wakeup */
    /* reaped now, or by nobody we know of (ECHILD): either way it is gone */
    uv_poll_stop(h);
    t->exited = true;
    t->exit_ms = probe_run_elapsed_ms(&t->run);
    if (si.si_pid && si.si_code == CLD_EXITED)
        t->exit_status = si.si_status;
    else if (si.si_pid)
        t->term_signal = si.si_status;
    else
        t->exit_status = -1;
    if (t->reaping) {
        close_watchers(t);
        return;
    }
    /* something it started still holds the output open: end the group */
    if (!t->out_eof || !t->err_eof)
        kill_group(t);
    maybe_deliver(t);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct probe_command *t = h->data;
    if (h == (uv_handle_t *)&t->out && t->out_len < t->out_max)
        *buf = uv_buf_init(t->outbuf + t->out_len, (unsigned)(t->out_max - t->out_len));
    else if (h == (uv_handle_t *)&t->err && t->err_len < sizeof(t->errbuf))
        *buf = uv_buf_init(t->errbuf + t->err_len, (unsigned)(sizeof(t->errbuf) - t->err_len));
    else
        *buf = uv_buf_init(t->discard, sizeof(t->discard));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct probe_command *t = st->data;
    bool is_out = st == (uv_stream_t *)&t->out;
    if (nread > 0) {
        if (is_out) {
            t->out_total += (uint64_t)nread;
            if (buf->base == t->outbuf + t->out_len)
                t->out_len += (size_t)nread;
        } else if (buf->base == t->errbuf + t->err_len) {
            t->err_len += (size_t)nread;
        }
        return;
    }
    if (nread == 0)
        return;
    uv_read_stop(st);   /* EOF or an error: this stream is done */
    if (is_out)
        t->out_eof = true;
    else
        t->err_eof = true;
    maybe_deliver(t);
}

static void on_timer(uv_timer_t *h)
{
    struct probe_command *t = h->data;
    if (t->run.done)
        return;
    if (!t->spawned && !t->work_pending) {  /* the spawn could not be queued */
        t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
        probe_run_finish(&t->run);
        teardown(t);
        return;
    }
    t->timed_out = true;
    deliver(t);
}

/* ---- start ---- */

static void on_spawn_work(uv_work_t *w)
{
    struct probe_command *t = w->data;
    probe_command_spawn_run(&t->sp);
}

/* Hands the pipes and the pidfd to libuv: 0, or a libuv error (the
 * program is then killed by the teardown). */
static int watch(struct probe_command *t)
{
    uv_loop_t *loop = t->run.engine->loop;
    int rc = uv_pipe_open(&t->out, t->sp.out_fd);
    if (!rc) {
        t->sp.out_fd = -1;
        rc = uv_pipe_open(&t->err, t->sp.err_fd);
    }
    if (!rc) {
        t->sp.err_fd = -1;
        rc = uv_poll_init(loop, &t->exit_poll, t->sp.pidfd);
    }
    if (rc)
        return rc;
    t->exit_poll.data = t;
    t->polling = true;
    t->handles++;
    uv_poll_start(&t->exit_poll, UV_READABLE, on_exit_poll);
    uv_read_start((uv_stream_t *)&t->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&t->err, on_alloc, on_read);
    return 0;
}

static void on_spawned(uv_work_t *w, int status)
{
    struct probe_command *t = w->data;
    /* canceled (or timed out) while on the pool: teardown left the rest to us */
    bool left_to_us = t->tearing_down;
    t->work_pending = false;
    if (status == 0 && !t->sp.err) {
        t->spawned = true;
        int rc = watch(t);
        if (rc && !t->run.done) {
            sample_set_error(&t->run.s, "cannot watch %s: %s", t->program, uv_strerror(rc));
            t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
            probe_run_finish(&t->run);
            teardown(t);
        }
    } else if (!t->run.done) {
        int err = status ? status : t->sp.err;
        if (t->sp.what && !strcmp(t->sp.what, "workdir"))
            sample_set_error(&t->run.s, "cannot run %s: workdir %s: %s", t->program, t->sp.cwd, uv_strerror(err));
        else if (t->sp.what)
            sample_set_error(&t->run.s, "cannot run %s: %s: %s", t->program, t->sp.what, uv_strerror(err));
        else
            sample_set_error(&t->run.s, "cannot run %s: %s", t->program, uv_strerror(err));
        t->run.s.latency_ms = probe_run_elapsed_ms(&t->run);
        probe_run_finish(&t->run);
        teardown(t);
    }
    if (left_to_us)
        teardown_rest(t);
}

static struct probe_run *command_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_command_conf *c = check->settings;
    size_t out_max = c->output_max ? c->output_max : PROBE_COMMAND_OUTPUT_DEFAULT;
    struct probe_command *t = base_malloc(sizeof(*t) + out_max);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->out_max = out_max;
    if (probe_command_spawn_prepare(&t->sp, c) != 0) {
        base_free(t);
        return NULL;
    }
    probe_escape(c->shell ? "/bin/sh" : t->sp.argv[0], strlen(c->shell ? "/bin/sh" : t->sp.argv[0]), t->program,
                 sizeof(t->program));
    probe_run_init(&t->run, e, check);
    t->run.s.result = SAMPLE_DOWN;  /* until the program says otherwise */
    uv_timer_init(e->loop, &t->timer);
    uv_pipe_init(e->loop, &t->out, 0);
    uv_pipe_init(e->loop, &t->err, 0);
    t->timer.data = t->out.data = t->err.data = t->work.data = t;
    t->handles = 3;
    uv_timer_start(&t->timer, on_timer, (uint64_t)t->run.timeout_ms, 0);
    int rc = uv_queue_work(e->loop, &t->work, on_spawn_work, on_spawned);
    if (rc != 0) {
        sample_set_error(&t->run.s, "cannot run %s: %s", t->program, uv_strerror(rc));
        uv_timer_start(&t->timer, on_timer, 0, 0);
        return &t->run;
    }
    t->work_pending = true;
    return &t->run;
}

/* ---- the type ---- */

static const struct conf_check_value command_values[] = {
    {"exit_code", "The program's exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (absent after a timeout "
     "or a signal)", "opshub_command_exit_code", NULL, NULL},
    {"output_bytes", "Bytes the program wrote to standard output (also those past output_max)",
     "opshub_command_output_bytes", NULL, NULL},
    {"perfdata_dropped", "Performance data not turned into values: malformed, \"U\", duplicate names or past "
     "the 12 values of a sample (absent when none)", "opshub_command_perfdata_dropped", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_command_type = {
    .name = "command",
    .summary = "Runs a program the Nagios plugin way: exit code 0/1/2/3, performance data as values",
    .settings_size = sizeof(struct probe_command_conf),
    .fields = probe_command_conf_fields,
    .init = probe_command_conf_init,
    .validate = probe_command_conf_validate,
    .target = probe_command_conf_target,
    .values = command_values,
    .start = command_start,
    .cancel = command_cancel,
};
