/*
 * probe/host: the disk, memory and cpu check types. One allocation per run
 * holds two timers (the deadline and the cpu's pause) and the copied
 * settings; the asynchronous step in flight (a statfs request or a /proc
 * read job) is a separate allocation that the run may abandon: at the
 * deadline or on cancel the run detaches it, and it frees itself when
 * libuv hands it back. The cpu type keeps each check's last counters in
 * the engine (engine->host_cpu) so that a run measures the interval since
 * the previous one.
 */
#include "probe/host.h"

#include "base/alloc.h"
#include "probe/probe_int.h"
#include "probe/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum host_kind { HOST_DISK, HOST_MEMORY, HOST_CPU };

struct probe_host;

/* One asynchronous step: a statfs or the read of up to two /proc files. */
struct host_job {
    union {
        uv_fs_t fs;
        uv_work_t work;
    } req;
    struct probe_host *owner;       /* NULL once the run stopped waiting */
    struct probe_host_hung *hung;   /* statfs abandoned at a deadline: its slot there */
    int slot;
    const char *files[2];
    size_t caps[2], lens[2];
    int errs[2];                    /* 0 or a UV_E* code */
    char *bufs[2];
    char storage[];
};

struct probe_host {
    struct probe_run run;           /* first: a run pointer is a probe_host pointer */
    uv_timer_t deadline, pause;
    int open_handles;
    enum host_kind kind;
    bool failed;                    /* error set before the first loop turn */
    struct host_job *job;           /* in flight, or NULL */
    double warn, crit;
    bool paused;                    /* cpu: `first` read, measuring over a pause */
    struct probe_procfs_cpu first;  /* cpu: the reading before the pause */
    char id[SAMPLE_CHECK_ID_MAX];
    char path[];                    /* disk */
};

/* statfs calls abandoned at their run's deadline and not returned yet
 * (hung mounts), shared by the engine and those requests: each holds a
 * reference, the last one frees it. Each occupies a thread of libuv's
 * pool, so a disk run starts no statfs of a path that has one hung, nor
 * any once PROBE_HOST_HUNG_MAX are: the pool stays free for other work. */
struct probe_host_hung {
    int refs;
    uint64_t paths[PROBE_HOST_HUNG_MAX]; /* hash of the path | 1; 0 = free slot */
};

/* cpu: the counters of a check's last run. */
struct cpu_prev {
    struct probe_procfs_cpu cpu;
    uint64_t t_ns;
    char id[SAMPLE_CHECK_ID_MAX];
};

enum sample_result probe_host_level(double ratio, double warn, double crit)
{
    if (ratio > crit)
        return SAMPLE_DOWN;
    if (ratio > warn)
        return SAMPLE_DEGRADED;
    return SAMPLE_UP;
}

/* ---- teardown ---- */

static void on_closed(uv_handle_t *h)
{
    struct probe_host *p = h->data;
    if (--p->open_handles > 0)
        return;
    struct probe_engine *e = p->run.engine;
    base_free(p);
    probe_engine_release(e);
}

static uint64_t path_key(const char *path)
{
    return base_map_hash(path) | 1;
}

/* A statfs outlives its run: remember it until it returns. */
static void hung_add(struct probe_host *p, struct host_job *j)
{
    struct probe_engine *e = p->run.engine;
    if (!e->host_hung) {
        if (!(e->host_hung = base_calloc(1, sizeof(*e->host_hung))))
            return;
        e->host_hung->refs = 1;
    }
    for (int i = 0; i < PROBE_HOST_HUNG_MAX; i++) {
        if (!e->host_hung->paths[i]) {
            e->host_hung->paths[i] = path_key(p->path);
            e->host_hung->refs++;
            j->hung = e->host_hung;
            j->slot = i;
            return;
        }
    }
}

static void hung_release(struct probe_host_hung *h)
{
    if (h && --h->refs == 0)
        base_free(h);
}

static void teardown(struct probe_host *p)
{
    if (p->job) {
        if (p->kind == HOST_DISK)
            hung_add(p, p->job);
        p->job->owner = NULL; /* it frees itself when libuv returns it */
        p->job = NULL;
    }
    p->run.engine->tearing_down++;
    uv_close((uv_handle_t *)&p->deadline, on_closed);
    uv_close((uv_handle_t *)&p->pause, on_closed);
}

static void host_cancel(struct probe_run *r)
{
    teardown((struct probe_host *)r);
}

static void finish(struct probe_host *p, enum sample_result result)
{
    p->run.s.result = result;
    if (result == SAMPLE_UP)
        p->run.s.error[0] = '\0';
    p->run.s.latency_ms = probe_run_elapsed_ms(&p->run);
    probe_run_finish(&p->run);
    teardown(p);
}

static void fail(struct probe_host *p, const char *fmt, ...) BASE_PRINTF(2, 3);
static void fail(struct probe_host *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->run.s.error, sizeof(p->run.s.error), fmt, ap);
    va_end(ap);
    finish(p, SAMPLE_DOWN);
}

/* A failure found in start: reported on the next loop turn (a run never
 * completes synchronously). */
static void on_pause(uv_timer_t *t);
static void fail_later(struct probe_host *p, const char *what, int rc)
{
    snprintf(p->run.s.error, sizeof(p->run.s.error), "%s: %s", what, uv_strerror(rc));
    p->failed = true;
    uv_timer_start(&p->pause, on_pause, 0, 0);
}

/* Sets the result from the worse of two ratios (second may be < 0: none). */
static void judge(struct probe_host *p, const char *name, double ratio, const char *name2, double ratio2)
{
    if (ratio2 > ratio) {
        name = name2;
        ratio = ratio2;
    }
    enum sample_result r = probe_host_level(ratio, p->warn, p->crit);
    if (r != SAMPLE_UP)
        snprintf(p->run.s.error, sizeof(p->run.s.error), "%s %.4g is above %s %.4g", name, ratio,
                 r == SAMPLE_DOWN ? "crit" : "warn", r == SAMPLE_DOWN ? p->crit : p->warn);
    finish(p, r);
}

static void on_deadline(uv_timer_t *t)
{
    struct probe_host *p = t->data;
    if (p->run.done)
        return;
    const char *step = p->kind == HOST_DISK ? "statfs; hung mount?" : "reading /proc";
    fail(p, "timeout after %" PRId64 " ms (%s)", p->run.timeout_ms, step);
}

/* ---- /proc reads on the pool ---- */

/* Reads one file into buf (at most cap bytes): 0 or a UV_E* code. Runs on
 * a pool thread: touches only the job. */
static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    int rc = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return rc;
}

static void job_work(uv_work_t *w)
{
    struct host_job *j = w->data;
    for (int i = 0; i < 2 && j->files[i]; i++)
        j->errs[i] = read_file(j->files[i], j->bufs[i], j->caps[i], &j->lens[i]);
}

static void proc_done(struct probe_host *p, struct host_job *j);

static void job_after(uv_work_t *w, int status)
{
    struct host_job *j = w->data;
    struct probe_host *p = j->owner;
    if (p) {
        p->job = NULL;
        if (status < 0)
            fail(p, "reading /proc: %s", uv_strerror(status));
        else
            proc_done(p, j);
    }
    base_free(j);
}

/* Queues the read of f1 (and f2 when not NULL). 0 or a UV_E* code. */
static int read_proc(struct probe_host *p, const char *f1, size_t cap1, const char *f2, size_t cap2)
{
    struct host_job *j = base_malloc(sizeof(*j) + cap1 + cap2);
    if (!j)
        return UV_ENOMEM;
    memset(j, 0, sizeof(*j));
    j->owner = p;
    j->files[0] = f1;
    j->files[1] = f2;
    j->caps[0] = cap1;
    j->caps[1] = cap2;
    j->bufs[0] = j->storage;
    j->bufs[1] = j->storage + cap1;
    j->req.work.data = j;
    int rc = uv_queue_work(p->run.engine->loop, &j->req.work, job_work, job_after);
    if (rc) {
        base_free(j);
        return rc;
    }
    p->job = j;
    return 0;
}

/* ---- disk ---- */

static void on_statfs(uv_fs_t *req)
{
    struct host_job *j = req->data;
    struct probe_host *p = j->owner;
    uv_statfs_t st;
    ssize_t result = req->result;
    if (result == 0)
        memcpy(&st, req->ptr, sizeof(st));
    uv_fs_req_cleanup(req);
    if (j->hung) {
        j->hung->paths[j->slot] = 0;
        hung_release(j->hung);
    }
    base_free(j);
    if (!p)
        return;
    p->job = NULL;
    if (result < 0) {
        fail(p, "statfs %.160s: %s", p->path, uv_strerror((int)result));
        return;
    }
    double bs = (double)st.f_bsize;
    uint64_t used = st.f_blocks > st.f_bfree ? st.f_blocks - st.f_bfree : 0;
    /* df's Use%: used over what non-root users could have (used + available) */
    double ratio = used + st.f_bavail ? (double)used / (double)(used + st.f_bavail) : 0;
    struct sample *s = &p->run.s;
    sample_value_set(s, "avail_bytes", (double)st.f_bavail * bs);
    sample_value_set(s, "size_bytes", (double)st.f_blocks * bs);
    sample_value_set(s, "free_bytes", (double)st.f_bfree * bs);
    sample_value_set(s, "used_ratio", ratio);
    double iratio = -1;
    if (st.f_files) { /* some filesystems (btrfs) have no fixed inode table */
        uint64_t iused = st.f_files > st.f_ffree ? st.f_files - st.f_ffree : 0;
        iratio = (double)iused / (double)st.f_files;
        sample_value_set(s, "files", (double)st.f_files);
        sample_value_set(s, "files_free", (double)st.f_ffree);
        sample_value_set(s, "inodes_used_ratio", iratio);
    }
    judge(p, "used_ratio", ratio, "inodes_used_ratio", iratio);
}

/* Refuses (with the error set) to add to hung statfs calls: 0 or -1. */
static int disk_check_hung(struct probe_host *p)
{
    const struct probe_host_hung *h = p->run.engine->host_hung;
    int n = 0;
    for (int i = 0; h && i < PROBE_HOST_HUNG_MAX; i++) {
        if (h->paths[i] == path_key(p->path)) {
            snprintf(p->run.s.error, sizeof(p->run.s.error),
                     "statfs %.160s: an earlier call has not returned (hung mount?)", p->path);
            return -1;
        }
        n += h->paths[i] != 0;
    }
    if (n < PROBE_HOST_HUNG_MAX)
        return 0;
    snprintf(p->run.s.error, sizeof(p->run.s.error),
             "statfs %.160s: not started, %d earlier calls have not returned (hung mounts?)", p->path, n);
    return -1;
}

static int disk_begin(struct probe_host *p)
{
    if (disk_check_hung(p) != 0) {
        p->failed = true;
        uv_timer_start(&p->pause, on_pause, 0, 0);
        return 0;
    }
    struct host_job *j = base_malloc(sizeof(*j));
    if (!j)
        return UV_ENOMEM;
    memset(j, 0, sizeof(*j));
    j->owner = p;
    j->req.fs.data = j;
    int rc = uv_fs_statfs(p->run.engine->loop, &j->req.fs, p->path, on_statfs);
    if (rc) {
        uv_fs_req_cleanup(&j->req.fs);
        base_free(j);
        return rc;
    }
    p->job = j;
    return 0;
}

/* ---- memory ---- */

static void memory_done(struct probe_host *p, struct host_job *j)
{
    struct probe_procfs_mem m;
    if (j->errs[0]) {
        fail(p, "/proc/meminfo: %s", uv_strerror(j->errs[0]));
        return;
    }
    if (probe_procfs_meminfo(j->bufs[0], j->lens[0], &m) != 0) {
        fail(p, "/proc/meminfo: no MemTotal or MemAvailable");
        return;
    }
    struct sample *s = &p->run.s;
    double used = probe_procfs_used_ratio(m.available, m.total);
    double swap = probe_procfs_used_ratio(m.swap_free, m.swap_total);
    sample_value_set(s, "available_bytes", (double)m.available);
    sample_value_set(s, "total_bytes", (double)m.total);
    sample_value_set(s, "used_ratio", used);
    sample_value_set(s, "swap_total_bytes", (double)m.swap_total);
    sample_value_set(s, "swap_used_ratio", swap);
    judge(p, "used_ratio", used, NULL, -1);
}

/* ---- cpu ---- */

static void cpu_forget(struct probe_engine *e);

static struct cpu_prev *cpu_prev_of(struct probe_engine *e, const char *id)
{
    return base_map_get(&e->host_cpu, id);
}

/* Remembers this run's counters for the check's next run (best effort). */
static void cpu_remember(struct probe_host *p, const struct probe_procfs_cpu *c)
{
    struct probe_engine *e = p->run.engine;
    struct cpu_prev *prev = cpu_prev_of(e, p->id);
    if (!prev) {
        if (e->host_cpu.len >= PROBE_HOST_CPU_STATES_MAX)
            cpu_forget(e); /* checks removed by reloads: start over */
        if (!(prev = base_malloc(sizeof(*prev))))
            return;
        snprintf(prev->id, sizeof(prev->id), "%s", p->id);
        if (base_map_put(&e->host_cpu, prev->id, prev) != 0) {
            base_free(prev);
            return;
        }
    }
    prev->cpu = *c;
    prev->t_ns = uv_hrtime();
}

static void cpu_report(struct probe_host *p, const struct probe_procfs_cpu *before,
                       const struct probe_procfs_cpu *now, const struct host_job *j)
{
    struct sample *s = &p->run.s;
    double used = probe_procfs_cpu_used(before, now);
    cpu_remember(p, now);
    if (used < 0) {
        fail(p, "/proc/stat: CPU counters did not advance");
        return;
    }
    int cpus = now->cpus > 0 ? now->cpus : 1;
    double load[3];
    sample_value_set(s, "used_ratio", used);
    sample_value_set(s, "cpus", cpus);
    if (!j->errs[1] && probe_procfs_loadavg(j->bufs[1], j->lens[1], load) == 0) {
        sample_value_set(s, "load1_per_core", load[0] / cpus);
        sample_value_set(s, "load5_per_core", load[1] / cpus);
        sample_value_set(s, "load15_per_core", load[2] / cpus);
    }
    judge(p, "used_ratio", used, NULL, -1);
}

static int cpu_begin(struct probe_host *p)
{
    return read_proc(p, "/proc/stat", PROBE_HOST_STAT_MAX, "/proc/loadavg", PROBE_HOST_LOADAVG_MAX);
}

static void cpu_done(struct probe_host *p, struct host_job *j)
{
    struct probe_procfs_cpu now;
    if (j->errs[0]) {
        fail(p, "/proc/stat: %s", uv_strerror(j->errs[0]));
        return;
    }
    if (probe_procfs_stat(j->bufs[0], j->lens[0], &now) != 0) {
        fail(p, "/proc/stat: no cpu line");
        return;
    }
    if (p->paused) { /* second reading, after the pause */
        cpu_report(p, &p->first, &now, j);
        return;
    }
    const struct cpu_prev *prev = cpu_prev_of(p->run.engine, p->id);
    if (prev && uv_hrtime() - prev->t_ns >= (uint64_t)PROBE_HOST_CPU_MIN_WINDOW_MS * 1000000u &&
        probe_procfs_cpu_used(&prev->cpu, &now) >= 0) {
        struct probe_procfs_cpu before = prev->cpu;
        cpu_report(p, &before, &now, j);
        return;
    }
    /* First run (or too soon after the last): measure over a short pause,
     * well inside the deadline. */
    p->first = now;
    p->paused = true;
    int64_t pause = p->run.timeout_ms / 4;
    uv_timer_start(&p->pause, on_pause, (uint64_t)(pause < PROBE_HOST_CPU_PAUSE_MS ? pause : PROBE_HOST_CPU_PAUSE_MS),
                   0);
}

static void on_pause(uv_timer_t *t)
{
    struct probe_host *p = t->data;
    if (p->run.done)
        return;
    if (p->failed) {
        finish(p, SAMPLE_DOWN);
        return;
    }
    int rc = cpu_begin(p);
    if (rc)
        fail(p, "reading /proc: %s", uv_strerror(rc));
}

void probe_host_forget(struct probe_engine *e)
{
    hung_release(e->host_hung);
    e->host_hung = NULL;
    cpu_forget(e);
}

static void cpu_forget(struct probe_engine *e)
{
    for (size_t i = 0; i < e->host_cpu.cap; i++) {
        struct base_map_slot *s = &e->host_cpu.slots[i];
        if (s->key && s->value)
            base_free(s->value);
    }
    base_map_free(&e->host_cpu);
}

/* ---- start ---- */

static void proc_done(struct probe_host *p, struct host_job *j)
{
    if (p->kind == HOST_MEMORY)
        memory_done(p, j);
    else
        cpu_done(p, j);
}

static struct probe_run *host_start(struct probe_engine *e, const struct conf_check *c, enum host_kind kind)
{
    const struct probe_host_conf *hc = c->settings;
    const char *path = kind == HOST_DISK && hc->path ? hc->path : "";
    size_t plen = strlen(path);
    struct probe_host *p = base_malloc(sizeof(*p) + plen + 1);
    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    memcpy(p->path, path, plen + 1);
    snprintf(p->id, sizeof(p->id), "%s", c->id ? c->id : "");
    p->kind = kind;
    p->warn = hc->warn;
    p->crit = hc->crit;
    probe_run_init(&p->run, e, c);
    uv_timer_init(e->loop, &p->deadline);
    uv_timer_init(e->loop, &p->pause);
    p->deadline.data = p->pause.data = p;
    p->open_handles = 2;
    uv_timer_start(&p->deadline, on_deadline, (uint64_t)p->run.timeout_ms, 0);
    int rc;
    if (kind == HOST_DISK)
        rc = disk_begin(p);
    else if (kind == HOST_MEMORY)
        rc = read_proc(p, "/proc/meminfo", PROBE_HOST_MEMINFO_MAX, NULL, 0);
    else
        rc = cpu_begin(p);
    if (rc)
        fail_later(p, kind == HOST_DISK ? "statfs" : "reading /proc", rc);
    return &p->run;
}

static struct probe_run *disk_start(struct probe_engine *e, const struct conf_check *c)
{
    return host_start(e, c, HOST_DISK);
}

static struct probe_run *memory_start(struct probe_engine *e, const struct conf_check *c)
{
    return host_start(e, c, HOST_MEMORY);
}

static struct probe_run *cpu_start(struct probe_engine *e, const struct conf_check *c)
{
    return host_start(e, c, HOST_CPU);
}

/* ---- settings ---- */

static int ratio_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    const char *text;
    size_t len;
    if (conf_value_text(ctx, n, "a ratio", &text, &len) != 0)
        return -1;
    char buf[64], shown[72];
    bool percent = len && text[len - 1] == '%';
    size_t nlen = percent ? len - 1 : len;
    char *end = NULL;
    double v = NAN;
    if (nlen && nlen < sizeof(buf)) {
        memcpy(buf, text, nlen);
        buf[nlen] = '\0';
        /* decimal only: strtod would also take "0x1p-1" and "1e-1" */
        if (strspn(buf, "0123456789.") == nlen)
            v = strtod(buf, &end);
    }
    if (!end || *end || !isfinite(v) || (percent ? v > 100 : v > 1) || v < 0) {
        conf_value_error(ctx, n, "expected a ratio from 0 to 1 (0.8) or a percentage (80%%), got '%s'",
                         conf_value_show(n, text, false, shown, sizeof(shown)));
        return -1;
    }
    *(double *)field = percent ? v / 100 : v;
    return 0;
}

static void ratio_hash(uint64_t *h, const void *field)
{
    conf_schema_hash_bytes(h, field, sizeof(double));
}

static int ratio_copy(void *field, struct base_arena *a)
{
    return 0;
}

static int ratio_json(const void *field, json_t **out)
{
    *out = json_real(*(const double *)field);
    return *out ? 0 : BASE_ERR_NOMEM;
}

const struct conf_field_ops probe_host_ratio_ops = {ratio_parse, ratio_hash, ratio_copy, ratio_json};

/* The member `name` of a mapping node, or NULL. */
static void host_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c)
{
    const struct probe_host_conf *hc = c->settings;
    if (hc->warn > hc->crit) {
        const struct conf_node *at = conf_value_member(map, "warn");
        if (!at)
            at = conf_value_member(map, "crit");
        conf_value_error(ctx, at ? at : map, "warn (%g) must not be above crit (%g)", hc->warn, hc->crit);
    }
    if (c->type == &probe_disk_type && hc->path && hc->path[0] != '/') {
        const struct conf_node *at = conf_value_member(map, "path");
        conf_value_error(ctx, at ? at : map, "path must be absolute (start with /)");
    }
}

#define F(m) offsetof(struct probe_host_conf, m)
#define RATIO_FIELDS(warn_default, crit_default, of)                                                            \
    CONF_FIELD("warn", CONF_FIELD_CUSTOM, F(warn), 0,                                                           \
               "Above this ratio (0..1 or a percentage) of " of " the sample is degraded; default " warn_default, \
               .ops = &probe_host_ratio_ops, .example = "0.75"),                                                \
        CONF_FIELD("crit", CONF_FIELD_CUSTOM, F(crit), 0,                                                       \
                   "Above this ratio of " of " the sample is down; default " crit_default,                      \
                   .ops = &probe_host_ratio_ops,                                                                \
                   .example = "97%")

static const struct conf_field disk_fields[] = {
    CONF_FIELD("path", CONF_FIELD_STRING, F(path), CONF_FIELD_REQUIRED,
               "An absolute path on the filesystem to watch (its mount point or anything under it)",
               .example = "/var/lib/postgresql"),
    RATIO_FIELDS("0.8", "0.9", "space or inodes used (the larger)"),
    CONF_FIELD_END,
};
static const struct conf_field memory_fields[] = {
    RATIO_FIELDS("0.85", "0.95", "memory used (1 - MemAvailable/MemTotal)"),
    CONF_FIELD_END,
};
static const struct conf_field cpu_fields[] = {
    RATIO_FIELDS("0.7", "0.9", "CPU time busy since the last run"),
    CONF_FIELD_END,
};
#undef F

static int disk_init(void *settings, struct base_arena *a)
{
    struct probe_host_conf *c = settings;
    c->warn = 0.8;
    c->crit = 0.9;
    return 0;
}

static int memory_init(void *settings, struct base_arena *a)
{
    struct probe_host_conf *c = settings;
    c->warn = 0.85;
    c->crit = 0.95;
    return 0;
}

static int cpu_init(void *settings, struct base_arena *a)
{
    struct probe_host_conf *c = settings;
    c->warn = 0.7;
    c->crit = 0.9;
    return 0;
}

static void disk_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_host_conf *h = c->settings;
    snprintf(buf, n, "%s", h && h->path ? h->path : "");
}

static void memory_target(const struct conf_check *c, char *buf, size_t n)
{
    snprintf(buf, n, "memory");
}

static void cpu_target(const struct conf_check *c, char *buf, size_t n)
{
    snprintf(buf, n, "cpu");
}

static const struct conf_check_value disk_values[] = {
    {"avail_bytes", "Space available to non-root users", "node_filesystem_avail_bytes", NULL, NULL},
    {"size_bytes", "Size of the filesystem", "node_filesystem_size_bytes", NULL, NULL},
    {"free_bytes", "Free space, including the blocks reserved for root", "node_filesystem_free_bytes", NULL, NULL},
    {"used_ratio", "Space used, as df's Use%: used / (used + available)", "opshub_disk_used_ratio", NULL, NULL},
    {"files", "Inodes in the filesystem (absent when it has no fixed number)", "node_filesystem_files", NULL,
     NULL},
    {"files_free", "Free inodes", "node_filesystem_files_free", NULL, NULL},
    {"inodes_used_ratio", "Inodes used: 1 - files_free / files", "opshub_disk_inodes_used_ratio", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct conf_check_value memory_values[] = {
    {"available_bytes", "MemAvailable: memory available without swapping", "node_memory_MemAvailable_bytes", NULL,
     NULL},
    {"total_bytes", "MemTotal", "node_memory_MemTotal_bytes", NULL, NULL},
    {"used_ratio", "1 - MemAvailable / MemTotal", "opshub_memory_used_ratio", NULL, NULL},
    {"swap_total_bytes", "SwapTotal (0 without swap)", "node_memory_SwapTotal_bytes", NULL, NULL},
    {"swap_used_ratio", "1 - SwapFree / SwapTotal (0 without swap)", "opshub_memory_swap_used_ratio", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const struct conf_check_value cpu_values[] = {
    {"used_ratio", "Share of CPU time busy (not idle or iowait) since the last run", "opshub_cpu_used_ratio", NULL,
     NULL},
    {"cpus", "Online CPUs (cpuN lines of /proc/stat)", "opshub_cpu_count", NULL, NULL},
    {"load1_per_core", "1-minute load average divided by cpus", "opshub_cpu_load_per_core", "window", "1m"},
    {"load5_per_core", "5-minute load average divided by cpus", "opshub_cpu_load_per_core", "window", "5m"},
    {"load15_per_core", "15-minute load average divided by cpus", "opshub_cpu_load_per_core", "window", "15m"},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct conf_check_type probe_disk_type = {
    .name = "disk",
    .summary = "Space and inodes used on the filesystem holding a path",
    .settings_size = sizeof(struct probe_host_conf),
    .fields = disk_fields,
    .init = disk_init,
    .validate = host_validate,
    .target = disk_target,
    .values = disk_values,
    .start = disk_start,
    .cancel = host_cancel,
};

const struct conf_check_type probe_memory_type = {
    .name = "memory",
    .summary = "Memory and swap used on this host",
    .settings_size = sizeof(struct probe_host_conf),
    .fields = memory_fields,
    .init = memory_init,
    .validate = host_validate,
    .target = memory_target,
    .values = memory_values,
    .start = memory_start,
    .cancel = host_cancel,
};

const struct conf_check_type probe_cpu_type = {
    .name = "cpu",
    .summary = "CPU use since the last run and load average per core on this host",
    .settings_size = sizeof(struct probe_host_conf),
    .fields = cpu_fields,
    .init = cpu_init,
    .validate = host_validate,
    .target = cpu_target,
    .values = cpu_values,
    .start = cpu_start,
    .cancel = host_cancel,
};
