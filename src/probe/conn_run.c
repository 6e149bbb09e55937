/*
 * probe/conn_run: one run over one connection (see conn_run.h).
 */
#include "probe/conn_run.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>

static void on_closed(uv_handle_t *h)
{
    struct probe_conn_run *cr = h->data;
    struct probe_engine *e = cr->run.engine;
    if (cr->ops && cr->ops->release)
        cr->ops->release(cr);
    base_free(cr);
    probe_engine_release(e);
}

void probe_conn_run_init(struct probe_conn_run *cr, struct probe_engine *e, const struct conf_check *c,
                         const struct probe_conn_run_ops *ops, uv_timer_cb on_timer)
{
    probe_run_init(&cr->run, e, c);
    cr->ops = ops;
    cr->on_timer = on_timer;
    uv_timer_init(e->loop, &cr->timer);
    cr->timer.data = cr;
    uv_timer_start(&cr->timer, on_timer, (uint64_t)cr->run.timeout_ms, 0);
}

void probe_conn_run_teardown(struct probe_conn_run *cr)
{
    if (cr->tearing_down)
        return;
    cr->tearing_down = true;
    cr->run.engine->tearing_down++;
    probe_conn_close(cr->conn);
    uv_close((uv_handle_t *)&cr->timer, on_closed);
}

void probe_conn_run_finish(struct probe_conn_run *cr, enum sample_result result)
{
    if (cr->ops && cr->ops->before_finish)
        cr->ops->before_finish(cr);
    cr->run.s.result = result;
    if (result == SAMPLE_UP)
        cr->run.s.error[0] = '\0';
    if (cr->run.s.latency_ms < 0.001)
        cr->run.s.latency_ms = probe_run_elapsed_ms(&cr->run);
    uv_timer_stop(&cr->timer);
    probe_run_finish(&cr->run);
    probe_conn_run_teardown(cr);
}

void probe_conn_run_fail(struct probe_conn_run *cr, bool deferred, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cr->run.s.error, sizeof(cr->run.s.error), fmt, ap);
    va_end(ap);
    cr->run.s.latency_ms = probe_run_elapsed_ms(&cr->run);
    if (deferred) {
        cr->failed = true;
        uv_timer_start(&cr->timer, cr->on_timer, 0, 0);
    } else {
        probe_conn_run_finish(cr, SAMPLE_DOWN);
    }
}

bool probe_conn_run_timer_over(struct probe_conn_run *cr)
{
    if (cr->run.done)
        return true;
    if (cr->failed) {
        probe_conn_run_finish(cr, SAMPLE_DOWN);
        return true;
    }
    return false;
}
