/*
 * probe/command: runs of the command check type (see command.h). The
 * program itself is run by probe/proc (posix_spawn on the pool, output
 * pipes, deadline, kill and reap); this file turns its result into a
 * sample the Nagios plugin way. The run frees itself when the proc is
 * closed, so a cancel or a timeout never leaves a zombie behind.
 */
#include "probe/command.h"

#include "base/alloc.h"
#include "probe/command_conf.h"
#include "probe/perfdata.h"
#include "probe/proc.h"
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
    struct probe_proc *proc;        /* frees itself; then so does the run */
    bool tearing_down;
    char program[SHOWN_MAX];        /* for errors: the program's path */
};

/* ---- teardown ---- */

static void on_proc_closed(void *data)
{
    struct probe_command *t = data;
    struct probe_engine *e = t->run.engine;
    base_free(t);
    probe_engine_release(e);
}

static void command_cancel(struct probe_run *r)
{
    struct probe_command *t = (struct probe_command *)r;
    if (t->tearing_down)
        return;
    t->tearing_down = true;
    t->run.engine->tearing_down++;
    probe_proc_cancel(t->proc);   /* on_proc_closed frees the run */
}

/* ---- the sample ---- */

/* The first line of stderr, trimmed, escaped into out. */
static void stderr_line(const struct probe_proc_result *r, char *out, size_t n)
{
    size_t len = 0;
    while (len < r->err_len && r->errout[len] != '\n')
        len++;
    while (len && (r->errout[len - 1] == '\r' || r->errout[len - 1] == ' '))
        len--;
    probe_escape(r->errout, len, out, n);
}

static void set_values(struct probe_command *t, const struct probe_proc_result *r, const struct probe_perfdata *pd)
{
    struct sample *s = &t->run.s;
    if (!r->timed_out && !r->term_signal)
        sample_value_set(s, "exit_code", (double)r->exit_status);
    sample_value_set(s, "output_bytes", (double)r->out_total);
    size_t dropped = pd->dropped;
    for (size_t i = 0; i < pd->n_items; i++) {
        double v;
        if (sample_value_get(s, pd->items[i].name, &v) || sample_value_set(s, pd->items[i].name, pd->items[i].value))
            dropped++;
    }
    if (dropped)
        sample_value_set(s, "perfdata_dropped", (double)dropped);
}

static void judge(struct probe_command *t, const struct probe_proc_result *r, const struct probe_perfdata *pd)
{
    struct sample *s = &t->run.s;
    char text[SHOWN_MAX], err[SHOWN_MAX];
    probe_escape(pd->summary, pd->summary_len, text, sizeof(text));
    stderr_line(r, err, sizeof(err));
    const char *why = text[0] ? text : err;
    if (r->timed_out) {
        s->result = SAMPLE_DOWN;
        sample_set_error(s, "timeout after %" PRId64 " ms (process group killed)%s%s", t->run.timeout_ms,
                         why[0] ? ": " : "", why);
        return;
    }
    if (r->term_signal) {
        s->result = SAMPLE_DOWN;
        s->code = 128 + r->term_signal;
        sample_set_error(s, "killed by signal %d (%s)%s%s", r->term_signal,
                         sigdescr_np(r->term_signal) ? sigdescr_np(r->term_signal) : "unknown signal",
                         why[0] ? ": " : "", why);
        return;
    }
    s->code = (int)r->exit_status;
    switch (r->exit_status) {
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
        sample_set_error(s, "exit code %" PRId64 "%s%s", r->exit_status, why[0] ? ": " : " (no output)", why);
        return;
    }
    if (why[0])
        sample_set_error(s, "%s", why);
    else
        sample_set_error(s, "exit code %" PRId64 " (no output)", r->exit_status);
}

/* The detail: the first lines of stdout (a plugin's long text) and of stderr. */
static void set_detail(struct probe_command *t, const struct probe_proc_result *r)
{
    json_t *out = probe_json_text(r->out, r->out_len, DETAIL_OUTPUT_MAX);
    json_t *err = probe_json_text(r->errout, r->err_len, DETAIL_STDERR_MAX);
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

static void deliver(struct probe_command *t, const struct probe_proc_result *r)
{
    struct probe_perfdata pd;
    probe_perfdata_parse(r->out, r->out_len, &pd);
    set_values(t, r, &pd);
    judge(t, r, &pd);
    set_detail(t, r);
}

/* The program did not run, or could not be watched. */
static void spawn_error(struct probe_command *t, const struct probe_proc_result *r)
{
    struct sample *s = &t->run.s;
    if (r->what && !strcmp(r->what, "watch"))
        sample_set_error(s, "cannot watch %s: %s", t->program, uv_strerror(r->err));
    else if (r->what && !strcmp(r->what, "workdir"))
        sample_set_error(s, "cannot run %s: workdir %s: %s", t->program, r->cwd, uv_strerror(r->err));
    else if (r->what && strcmp(r->what, "queue"))
        sample_set_error(s, "cannot run %s: %s: %s", t->program, r->what, uv_strerror(r->err));
    else
        sample_set_error(s, "cannot run %s: %s", t->program, uv_strerror(r->err));
}

/* ---- start ---- */

static void on_proc_done(void *data, const struct probe_proc_result *r)
{
    struct probe_command *t = data;
    if (r->err)
        spawn_error(t, r);
    else
        deliver(t, r);
    t->run.s.latency_ms = r->exited ? r->exit_ms : probe_run_elapsed_ms(&t->run);
    probe_run_finish(&t->run);
    /* the proc closes itself after this: on_proc_closed frees the run */
    if (!t->tearing_down) {
        t->tearing_down = true;
        t->run.engine->tearing_down++;
    }
}

static struct probe_run *command_start(struct probe_engine *e, const struct conf_check *check)
{
    const struct probe_command_conf *c = check->settings;
    size_t out_max = c->output_max ? c->output_max : PROBE_COMMAND_OUTPUT_DEFAULT;
    struct probe_command *t = base_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    const char *prog = c->shell ? "/bin/sh" : c->command.items[0];
    probe_escape(prog, strlen(prog), t->program, sizeof(t->program));
    probe_run_init(&t->run, e, check);
    t->run.s.result = SAMPLE_DOWN;  /* until the program says otherwise */
    t->proc = probe_proc_start(e->loop, c, NULL, 0, t->run.timeout_ms, out_max, on_proc_done, on_proc_closed, t);
    if (!t->proc) {
        base_free(t);
        return NULL;
    }
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
