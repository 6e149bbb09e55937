/*
 * probe/log: the `log` check type on the loop side: its settings (the
 * patterns map, validated with PCRE2 at load), and a run: one job queued
 * on libuv's pool (probe/log_read.c) bounded by the check's timeout, then
 * the sample built from what the job counted. A run owns its job; a run
 * that ends before the job returns (timeout, cancel) abandons it, so the
 * job commits nothing and the next run reads the same lines again.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "probe/log.h"

#include "base/alloc.h"
#include "probe/log_read.h"
#include "probe/probe_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

struct probe_log {
    struct probe_run run;           /* first: a run pointer is a probe_log pointer */
    uv_timer_t deadline;
    uv_work_t work;
    struct probe_log_read *job;
    bool working, timer_open, timed_out_once;
    size_t n;
    char names[PROBE_LOG_PATTERNS_MAX][PROBE_LOG_NAME_MAX + 1];
    long long warn[PROBE_LOG_PATTERNS_MAX], crit[PROBE_LOG_PATTERNS_MAX];
};

static const struct probe_log_conf *settings(const struct conf_check *c)
{
    return c->settings;
}

/* ---- teardown ---- */

static void free_if_idle(struct probe_log *p)
{
    if (p->working || p->timer_open)
        return;
    struct probe_engine *e = p->run.engine;
    base_free(p->job);
    base_free(p);
    probe_engine_release(e);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct probe_log *p = h->data;
    p->timer_open = false;
    free_if_idle(p);
}

static void teardown(struct probe_log *p)
{
    p->run.engine->tearing_down++;
    if (p->working)
        uv_cancel((uv_req_t *)&p->work); /* after_work still runs (UV_ECANCELED when it was queued) */
    uv_close((uv_handle_t *)&p->deadline, on_timer_closed);
}

static void log_cancel(struct probe_run *r)
{
    struct probe_log *p = (struct probe_log *)r;
    (void)probe_log_read_abandon(p->job);
    teardown(p);
}

/* The detail: the run's last matching lines, the oldest first. */
static void set_detail(struct probe_log *p)
{
    const struct probe_log_read *j = p->job;
    if (!j || !j->n_last)
        return;
    json_t *lines = json_array();
    for (size_t k = 0; lines && k < j->n_last; k++) {
        size_t slot = (j->last_next + PROBE_LOG_LAST_LINES - j->n_last + k) % PROBE_LOG_LAST_LINES;
        json_t *line = probe_json_text(j->last[slot], strlen(j->last[slot]), PROBE_LOG_LAST_LINE_MAX);
        if (line)
            json_array_append_new(lines, line);
    }
    probe_run_detail_set(&p->run, lines ? json_pack("{s:o}", "last_matches", lines) : NULL);
}

static void finish(struct probe_log *p)
{
    p->run.s.latency_ms = probe_run_elapsed_ms(&p->run);
    probe_run_finish(&p->run);
    teardown(p);
}

/* ---- the sample ---- */

static void set_value(struct sample *s, const char *name, const char *suffix, double v)
{
    char full[SAMPLE_VALUE_NAME_MAX];
    snprintf(full, sizeof(full), "%s%s", name, suffix);
    (void)sample_value_set(s, full, v);
}

/* Thresholds: the worst pattern decides; its text becomes the error. */
static void judge(struct probe_log *p, struct sample *s)
{
    const struct probe_log_read *j = p->job;
    for (size_t i = 0; i < p->n; i++) {
        bool crit = p->crit[i] && j->matches[i] >= (uint64_t)p->crit[i];
        bool warn = p->warn[i] && j->matches[i] >= (uint64_t)p->warn[i];
        enum sample_result level = crit ? SAMPLE_DOWN : warn ? SAMPLE_DEGRADED : SAMPLE_UP;
        if (level <= s->result)
            continue;
        s->result = level;
        sample_set_error(s, "%s: %" PRIu64 " matching lines (%s %lld)", p->names[i], j->matches[i],
                         crit ? "crit" : "warn", crit ? p->crit[i] : p->warn[i]);
    }
}

static void report(struct probe_log *p)
{
    const struct probe_log_read *j = p->job;
    struct sample *s = &p->run.s;
    bool stateless = !j->state_file[0];
    /* Counts not committed would be counted again by the next run. */
    if (stateless || j->committed) {
        double minutes = j->prev_ts_ms > 0 && j->now_ms > j->prev_ts_ms ? (double)(j->now_ms - j->prev_ts_ms) / 60000.0
                                                                          : 0;
        for (size_t i = 0; i < p->n; i++) {
            set_value(s, p->names[i], "_matches", (double)j->matches[i]);
            if (minutes > 0)
                set_value(s, p->names[i], "_matches_per_minute", (double)j->matches[i] / minutes);
        }
        (void)sample_value_set(s, "lines", (double)j->lines);
    }
    (void)sample_value_set(s, "bytes_behind", (double)j->bytes_behind);
    s->result = j->down ? SAMPLE_DOWN : SAMPLE_UP;
    if (j->error[0])
        sample_set_error(s, "%s", j->error);
    if (!j->down)
        judge(p, s);
    if (s->result == SAMPLE_UP && j->degraded)
        s->result = SAMPLE_DEGRADED;
    if (s->result == SAMPLE_UP && j->limit_hits) {
        s->result = SAMPLE_DEGRADED;
        sample_set_error(s, "%" PRIu64 " line matches hit PCRE2's match limit (counted as not matching)",
                         j->limit_hits);
    }
}

/* ---- the run ---- */

static void work(uv_work_t *w)
{
    struct probe_log *p = w->data;
    probe_log_read_run(p->job);
}

static void after_work(uv_work_t *w, int status)
{
    struct probe_log *p = w->data;
    p->working = false;
    if (p->run.done) {
        free_if_idle(p);
        return;
    }
    if (status < 0) {
        p->run.s.result = SAMPLE_DOWN;
        sample_set_error(&p->run.s, "the read job did not run: %s", uv_strerror(status));
    } else {
        report(p);
        set_detail(p);  /* the job is back: its lines are ours to read */
    }
    finish(p);
}

static void on_deadline(uv_timer_t *t)
{
    struct probe_log *p = t->data;
    if (p->run.done)
        return;
    if (!p->working) { /* a failure found at start, reported on this turn */
        finish(p);
        return;
    }
    if (!probe_log_read_abandon(p->job) && !p->timed_out_once) {
        /* The job is writing the state: its result comes in a moment. */
        p->timed_out_once = true;
        uv_timer_start(&p->deadline, on_deadline, (uint64_t)p->run.timeout_ms, 0);
        return;
    }
    p->run.s.result = SAMPLE_DOWN;
    sample_set_error(&p->run.s, "timeout after %" PRId64 " ms (reading %.120s)", p->run.timeout_ms, p->job->path);
    finish(p);
}

/* Fills the job from the check (the check may be replaced while it runs). */
static void job_fill(struct probe_log *p, const struct conf_check *c)
{
    const struct probe_log_conf *lc = settings(c);
    struct probe_log_read *j = p->job;
    const char *dir = p->run.engine->data_dir;
    snprintf(j->path, sizeof(j->path), "%s", lc->path ? lc->path : "");
    snprintf(j->rotated, sizeof(j->rotated), "%s", lc->rotated ? lc->rotated : "");
    if (dir) {
        /* One temporary name per check: jobs write it only while they hold
         * the state lock (log_read.c), and a file left by a crash mid-write
         * is overwritten by the next save. */
        snprintf(j->state_file, sizeof(j->state_file), "%s/log-state/%s.state", dir, c->id);
        snprintf(j->state_tmp, sizeof(j->state_tmp), "%s.tmp", j->state_file);
    }
    j->from_start = lc->from && strcmp(lc->from, "start") == 0;
    for (size_t i = 0; i < lc->patterns.n && i < PROBE_LOG_PATTERNS_MAX; i++) {
        const struct probe_log_pattern *pt = &lc->patterns.items[i];
        snprintf(j->regex[i], sizeof(j->regex[i]), "%s", pt->regex);
        snprintf(p->names[i], sizeof(p->names[i]), "%s", pt->name);
        p->warn[i] = pt->warn;
        p->crit[i] = pt->crit;
        p->n = j->n_patterns = i + 1;
    }
    j->now_ms = p->run.s.ts_ms;
    j->budget = PROBE_LOG_READ_MAX;
    atomic_init(&j->phase, PROBE_LOG_READ_RUNNING);
}

static struct probe_run *log_start(struct probe_engine *e, const struct conf_check *c)
{
    struct probe_log *p = base_calloc(1, sizeof(*p));
    if (!p || !(p->job = base_calloc(1, sizeof(*p->job)))) {
        base_free(p);
        return NULL;
    }
    probe_run_init(&p->run, e, c);
    job_fill(p, c);
    uv_timer_init(e->loop, &p->deadline);
    p->deadline.data = p;
    p->timer_open = true;
    p->work.data = p;
    int rc = uv_queue_work(e->loop, &p->work, work, after_work);
    if (rc) {
        p->run.s.result = SAMPLE_DOWN;
        sample_set_error(&p->run.s, "cannot queue the read: %s", uv_strerror(rc));
        uv_timer_start(&p->deadline, on_deadline, 0, 0);
        return &p->run;
    }
    p->working = true;
    uv_timer_start(&p->deadline, on_deadline, (uint64_t)p->run.timeout_ms, 0);
    return &p->run;
}

/* ---- settings ---- */

static const char *name_bad(const char *k, size_t len)
{
    if (!len)
        return "an empty name";
    if (len > PROBE_LOG_NAME_MAX)
        return "longer than 12 characters (<name>_matches_per_minute must fit a value name)";
    if (!((k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
        return "names start with a-z or _";
    for (size_t i = 0; i < len; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
            return "names are a-z, 0-9 and _ (they become sample value names)";
    return NULL;
}

/* Compiles to validate: a reason in why (empty when fine). */
static void regex_check(const char *t, size_t len, char *why, size_t n)
{
    int err = 0;
    PCRE2_SIZE off = 0;
    why[0] = '\0';
    if (!len) {
        snprintf(why, n, "an empty regex matches every line (the `lines` value counts them)");
        return;
    }
    if (len > PROBE_LOG_REGEX_MAX || memchr(t, '\0', len)) {
        snprintf(why, n, len > PROBE_LOG_REGEX_MAX ? "longer than 1024 bytes" : "contains a NUL byte");
        return;
    }
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)t, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
                                   &err, &off, NULL);
    if (re) {
        pcre2_code_free(re);
        return;
    }
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
        snprintf((char *)msg, sizeof(msg), "cannot be compiled");
    snprintf(why, n, "%s at offset %zu", (const char *)msg, (size_t)off);
}

static int regex_parse(struct conf_ctx *ctx, const struct conf_node *v, const char *name, const char **out)
{
    const char *t;
    size_t len;
    char why[240];
    if (conf_value_text(ctx, v, "a regular expression", &t, &len))
        return -1;
    regex_check(t, len, why, sizeof(why));
    if (why[0]) {
        conf_value_error(ctx, v, "bad regex for pattern '%s': %s", name, why);
        return -1;
    }
    return (*out = conf_value_keep(ctx, t, len)) ? 0 : -1;
}

/* A pattern: "regex" or {regex: "...", warn: N, crit: N}. */
static int pattern_parse(struct conf_ctx *ctx, const struct conf_node *v, struct probe_log_pattern *pt)
{
    static const char *const names[] = {"regex", "warn", "crit"};
    const struct conf_node *vals[3] = {NULL, NULL, NULL};
    if (v->kind != CONF_NODE_MAP)
        return regex_parse(ctx, v, pt->name, &pt->regex);
    conf_value_fields(ctx, v, names, 3, vals);
    if (!vals[0]) {
        conf_value_error_member(ctx, v, "regex", "pattern '%s' is missing 'regex'", pt->name);
        return -1;
    }
    int rc = regex_parse(ctx, vals[0], pt->name, &pt->regex);
    for (int i = 1; i < 3; i++)
        if (vals[i] && conf_value_int(ctx, vals[i], 1, 1000000000, i == 1 ? &pt->warn : &pt->crit))
            rc = -1;
    if (!rc && pt->warn && pt->crit && pt->warn > pt->crit) {
        conf_value_error(ctx, vals[1], "warn (%lld) must not exceed crit (%lld)", pt->warn, pt->crit);
        rc = -1;
    }
    return rc;
}

static int patterns_parse(struct conf_ctx *ctx, const struct conf_node *map, void *field)
{
    struct probe_log_patterns *ps = field;
    char shown[80];
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return -1;
    if (!map->n) {
        conf_value_error(ctx, map, "patterns is empty: give at least one name: regex");
        return -1;
    }
    struct probe_log_pattern *items = conf_value_alloc(ctx, PROBE_LOG_PATTERNS_MAX * sizeof(*items));
    if (!items)
        return -1;
    size_t n = 0;
    int rc = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        const char *bad = k->kind != CONF_NODE_SCALAR || k->has_nul ? "expected a name" : name_bad(k->text, k->len);
        if (!bad && n == PROBE_LOG_PATTERNS_MAX) {
            conf_value_error(ctx, k, "too many patterns: at most %d per check (each gives two of the %d values "
                             "a sample holds)", PROBE_LOG_PATTERNS_MAX, SAMPLE_VALUES_MAX);
            return -1;
        }
        for (size_t i = 0; i < n && !bad; i++)
            if (strcmp(items[i].name, k->text) == 0)
                bad = "a pattern of that name exists already";
        if (bad) {
            conf_value_error(ctx, k, "bad pattern name '%s': %s",
                             conf_value_show(k, k->kind == CONF_NODE_SCALAR ? k->text : "", false, shown,
                                             sizeof(shown)), bad);
            rc = -1;
            continue;
        }
        memset(&items[n], 0, sizeof(items[n]));
        if (!(items[n].name = conf_value_keep(ctx, k->text, k->len)) || pattern_parse(ctx, v, &items[n])) {
            rc = -1;
            continue;
        }
        n++;
    }
    ps->items = items;
    ps->n = n;
    return rc;
}

static void patterns_hash(uint64_t *h, const void *field)
{
    const struct probe_log_patterns *ps = field;
    conf_schema_hash_int(h, (int64_t)ps->n);
    for (size_t i = 0; i < ps->n; i++) {
        conf_schema_hash_str(h, ps->items[i].name);
        conf_schema_hash_str(h, ps->items[i].regex);
        conf_schema_hash_int(h, ps->items[i].warn);
        conf_schema_hash_int(h, ps->items[i].crit);
    }
}

static int patterns_copy(void *field, struct base_arena *a)
{
    struct probe_log_patterns *ps = field;
    if (!ps->n)
        return 0;
    struct probe_log_pattern *items = base_arena_calloc(a, ps->n * sizeof(*items));
    if (!items)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < ps->n; i++) {
        items[i] = ps->items[i];
        if (!(items[i].name = base_arena_strdup(a, ps->items[i].name)) ||
            !(items[i].regex = base_arena_strdup(a, ps->items[i].regex)))
            return BASE_ERR_NOMEM;
    }
    ps->items = items;
    return 0;
}

static int patterns_json(const void *field, json_t **out)
{
    const struct probe_log_patterns *ps = field;
    json_t *o = json_object();
    for (size_t i = 0; o && i < ps->n; i++) {
        const struct probe_log_pattern *pt = &ps->items[i];
        json_t *v = pt->warn || pt->crit ? json_pack("{s:s}", "regex", pt->regex) : json_string(pt->regex);
        if (v && pt->warn && json_object_set_new(v, "warn", json_integer(pt->warn)))
            v = NULL;
        if (v && pt->crit && json_object_set_new(v, "crit", json_integer(pt->crit)))
            v = NULL;
        if (!v || json_object_set_new(o, pt->name, v) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    *out = o;
    return o ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops patterns_ops = {patterns_parse, patterns_hash, patterns_copy, patterns_json};

static void path_check(struct conf_ctx *ctx, const struct conf_node *map, const char *key, const char *value)
{
    const struct conf_node *at = conf_value_member(map, key);
    if (!value)
        return;
    if (value[0] != '/')
        conf_value_error(ctx, at ? at : map, "%s must be an absolute path (the daemon does not run in the "
                         "configuration's directory)", key);
    else if (strlen(value) >= PROBE_LOG_PATH_MAX - 8)
        conf_value_error(ctx, at ? at : map, "%s is longer than %d bytes", key, PROBE_LOG_PATH_MAX - 8);
}

static void log_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c)
{
    const struct probe_log_conf *lc = settings(c);
    path_check(ctx, map, "path", lc->path);
    path_check(ctx, map, "rotated", lc->rotated);
}

static void log_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_log_conf *lc = settings(c);
    snprintf(buf, n, "%s", lc && lc->path ? lc->path : "");
}

static const char *const from_choices[] = {"end", "start", NULL};

#define F(m) offsetof(struct probe_log_conf, m)
static const struct conf_field log_fields[] = {
    CONF_FIELD("path", CONF_FIELD_STRING, F(path), CONF_FIELD_REQUIRED, "Absolute path of the log file to follow",
               .example = "/var/log/app/app.log"),
    CONF_FIELD("patterns", CONF_FIELD_CUSTOM, F(patterns), CONF_FIELD_REQUIRED,
     "Up to 5 names ([a-z_][a-z0-9_]*, at most 12 characters) each with a PCRE2 regex, or {regex, warn, crit}: "
     "a run with at least warn (crit) matching lines is degraded (down)",
     .ops = &patterns_ops, .example = "{errors: 'ERROR|CRITICAL|FATAL', payments: {regex: 'payment.*failed', crit: 1}}"),
    CONF_FIELD("rotated", CONF_FIELD_STRING, F(rotated), 0,
     "Absolute glob of the rotated names where a rotated file is finished (default <path>.1)",
     .example = "'/var/log/app/app.log-*'"),
    CONF_FIELD("from", CONF_FIELD_ENUM, F(from), 0,
     "Where a file is read from when the check first sees it: end (default, like tail -F) or start",
     .choices = from_choices, .example = "start"),
    CONF_FIELD_END,
};
#undef F

static const struct conf_check_value log_values[] = {
    {"lines", "Lines read since the previous run", "opshub_log_lines", NULL, NULL},
    {"bytes_behind", "Bytes of the file not read yet (past the per-run read cap of 64 MiB)", "opshub_log_bytes_behind",
     NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_log_type = {
    .name = "log",
    .summary = "Follows a log file across rotation and counts lines matching named patterns",
    .settings_size = sizeof(struct probe_log_conf),
    .fields = log_fields,
    .validate = log_validate,
    .target = log_target,
    .values = log_values,
    .start = log_start,
    .cancel = log_cancel,
};
