/*
 * probe/heartbeat: the heartbeat type's table and the rules of a ping (see
 * heartbeat.h). Nothing here runs on a timer: the scheduler keeps the
 * deadline (period + grace, or a run's max_runtime) and calls expire or
 * expire_run when it passes.
 */
#include "probe/heartbeat.h"

#include "base/duration.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define F(m) offsetof(struct probe_heartbeat_conf, m)
static const struct conf_field heartbeat_fields[] = {
    CONF_FIELD("period", CONF_FIELD_DURATION, F(period_ms), CONF_FIELD_REQUIRED,
               "Expected time between successful pings (the job's schedule), 1s to 365d", .example = "1d",
               .min = 1000, .max = 365LL * 86400000),
    CONF_FIELD("grace", CONF_FIELD_DURATION, F(grace_ms), 0,
               "Extra time allowed past the period before the check is down; default none", .example = "1h",
               .max = 365LL * 86400000),
    CONF_FIELD("token", CONF_FIELD_STRING, F(token), CONF_FIELD_SECRET,
               "Secret the pings must carry (?token=, Authorization: Bearer or X-Opshub-Token); "
               "sealed at rest, never shown", .example = "n1ghtly-b4ckup-s3cret"),
    CONF_FIELD("max_runtime", CONF_FIELD_DURATION, F(max_runtime_ms), 0,
               "Longest run from /start to success; longer, or no success by then, is down", .example = "2h"),
    CONF_FIELD("min_runtime", CONF_FIELD_DURATION, F(min_runtime_ms), 0,
               "Shortest plausible run from /start to success; shorter is down", .example = "1m"),
    CONF_FIELD_END,
};
#undef F

static const struct probe_heartbeat_conf *settings(const struct conf_check *c)
{
    return c->settings;
}

static void heartbeat_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c)
{
    const struct probe_heartbeat_conf *h = settings(c);
    if (h->min_runtime_ms && h->max_runtime_ms && h->min_runtime_ms > h->max_runtime_ms) {
        char a[32], b[32];
        const struct conf_node *at = conf_value_member(map, "min_runtime");
        conf_value_error(ctx, at ? at : map, "min_runtime (%s) must not exceed max_runtime (%s)",
                         base_duration_format(h->min_runtime_ms, a, sizeof(a)),
                         base_duration_format(h->max_runtime_ms, b, sizeof(b)));
    }
    if (h->token && !h->token[0]) {
        const struct conf_node *at = conf_value_member(map, "token");
        conf_value_error(ctx, at ? at : map, "token must not be empty (omit it for an open heartbeat)");
    }
}

static void heartbeat_target(const struct conf_check *c, char *buf, size_t n)
{
    snprintf(buf, n, "/ping/%s", c->id);
}

static int64_t heartbeat_period(const struct conf_check *c)
{
    return settings(c)->period_ms;
}

static int64_t heartbeat_grace(const struct conf_check *c)
{
    return settings(c)->grace_ms;
}

static void heartbeat_expire(const struct conf_check *c, int64_t silent_ms, struct sample *s)
{
    char d[32], p[32];
    sample_value_set(s, "since_last_ping_seconds", (double)silent_ms / 1000.0);
    sample_set_error(s, "no ping for %s (period %s", base_duration_format(silent_ms, d, sizeof(d)),
                     base_duration_format(settings(c)->period_ms, p, sizeof(p)));
    if (settings(c)->grace_ms) {
        size_t used = strlen(s->error);
        snprintf(s->error + used, sizeof(s->error) - used, " + grace %s)",
                 base_duration_format(settings(c)->grace_ms, p, sizeof(p)));
    } else {
        size_t used = strlen(s->error);
        snprintf(s->error + used, sizeof(s->error) - used, ")");
    }
}

static void heartbeat_expire_run(const struct conf_check *c, int64_t run_ms, struct sample *s)
{
    char d[32], m[32];
    sample_value_set(s, "run_seconds", (double)run_ms / 1000.0);
    sample_set_error(s, "run started %s ago did not finish within max_runtime %s",
                     base_duration_format(run_ms, d, sizeof(d)),
                     base_duration_format(settings(c)->max_runtime_ms, m, sizeof(m)));
}

bool probe_heartbeat_token_ok(const struct conf_check *c, const char *presented)
{
    const char *want = settings(c)->token;
    if (!want)
        return true;
    size_t wn = strlen(want), pn = presented ? strnlen(presented, PROBE_HEARTBEAT_TOKEN_MAX + 1) : 0;
    /* Every byte of the configured token is compared, whatever differs;
     * the length check folds into the same accumulator. */
    unsigned char diff = (unsigned char)(wn != pn || !presented);
    for (size_t i = 0; i < wn; i++)
        diff |= (unsigned char)(want[i] ^ (i < pn ? presented[i] : 0));
    return diff == 0;
}

void probe_heartbeat_sample(const struct conf_check *c, enum probe_heartbeat_ping kind, int64_t now_ms,
                            int64_t run_started_ms, int64_t last_ms, struct sample *out)
{
    const struct probe_heartbeat_conf *h = settings(c);
    sample_init(out, now_ms);
    if (last_ms > 0 && now_ms >= last_ms)
        sample_value_set(out, "since_last_ping_seconds", (double)(now_ms - last_ms) / 1000.0);
    int64_t run_ms = run_started_ms > 0 && now_ms >= run_started_ms ? now_ms - run_started_ms : -1;
    if (run_ms >= 0) {
        sample_value_set(out, "run_seconds", (double)run_ms / 1000.0);
        out->latency_ms = (double)run_ms;
    }
    if (kind == PROBE_HEARTBEAT_FAIL) {
        out->result = SAMPLE_DOWN;
        sample_set_error(out, "the job reported failure (/fail)");
        return;
    }
    if (run_ms < 0)
        return;
    if (h->max_runtime_ms && run_ms > h->max_runtime_ms) {
        out->result = SAMPLE_DOWN;
        sample_set_error(out, "ran too long: %.3f s > max_runtime %.3f s", (double)run_ms / 1000.0,
                         (double)h->max_runtime_ms / 1000.0);
    } else if (h->min_runtime_ms && run_ms < h->min_runtime_ms) {
        out->result = SAMPLE_DOWN;
        sample_set_error(out, "ran too short: %.3f s < min_runtime %.3f s", (double)run_ms / 1000.0,
                         (double)h->min_runtime_ms / 1000.0);
    }
}

static const struct conf_check_value heartbeat_values[] = {
    {"run_seconds", "Duration of the last run, from /start to its success or failure", "opshub_heartbeat_run_seconds",
     NULL, NULL},
    {"since_last_ping_seconds", "Time since the previous ping (at a ping), or silent so far (at expiry)",
     "opshub_heartbeat_since_last_ping_seconds", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_heartbeat_type = {
    .name = "heartbeat",
    .summary = "Passive: cron jobs and backups ping opshub; down when a success is overdue or a run fails",
    .settings_size = sizeof(struct probe_heartbeat_conf),
    .fields = heartbeat_fields,
    .validate = heartbeat_validate,
    .target = heartbeat_target,
    .values = heartbeat_values,
    .passive = true,
    .grace_ms = heartbeat_grace,
    .expire = heartbeat_expire,
    .period_ms = heartbeat_period,
    .expire_run = heartbeat_expire_run,
};
