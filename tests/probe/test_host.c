/*
 * Unit tests for probe/host: the threshold mapping; disk runs on real
 * paths compared with statvfs(3), thresholds forced low, a missing path;
 * memory against /proc/meminfo; cpu twice (the second run measures from
 * the first one's counters); a statfs stuck behind a busy pool (a hung
 * mount) reported down at the deadline without holding the engine, and
 * no further statfs started beside hung ones; and
 * cancellation in each step with every handle closed (run under ASan).
 * libuv's pool has one thread here so that a test can occupy it.
 */
#include "probe/probe_test.h"
#include "probe/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HC(c) ((struct probe_host_conf *)(c).settings)

static struct conf_check disk_check(struct fx *f, const char *path, double warn, double crit)
{
    struct conf_check c = check_defaults(f, &probe_disk_type);
    HC(c)->path = path;
    HC(c)->warn = warn;
    HC(c)->crit = crit;
    return c;
}

static void test_host_level_maps_thresholds(void **state)
{
    assert_int_equal(probe_host_level(0.5, 0.8, 0.9), SAMPLE_UP);
    assert_int_equal(probe_host_level(0.8, 0.8, 0.9), SAMPLE_UP); /* at warn: not above */
    assert_int_equal(probe_host_level(0.85, 0.8, 0.9), SAMPLE_DEGRADED);
    assert_int_equal(probe_host_level(0.9, 0.8, 0.9), SAMPLE_DEGRADED);
    assert_int_equal(probe_host_level(0.95, 0.8, 0.9), SAMPLE_DOWN);
    assert_int_equal(probe_host_level(0.5, 0.9, 0.9), SAMPLE_UP);
    assert_int_equal(probe_host_level(1, 1, 1), SAMPLE_UP);
    assert_int_equal(probe_host_level(0.0001, 0, 0), SAMPLE_DOWN);
}

static void test_host_defaults(void **state)
{
    struct fx *f = *state;
    struct conf_check d = check_defaults(f, &probe_disk_type), m = check_defaults(f, &probe_memory_type),
                      c = check_defaults(f, &probe_cpu_type);
    assert_true(HC(d)->warn == 0.8 && HC(d)->crit == 0.9);
    assert_true(HC(m)->warn == 0.85 && HC(m)->crit == 0.95);
    assert_true(HC(c)->warn == 0.7 && HC(c)->crit == 0.9);
}

static void test_disk_values_match_statvfs(void **state)
{
    struct fx *f = *state;
    struct conf_check c = disk_check(f, "/", 1, 1);
    struct result r;
    run_check(f, &c, &r, 5000);
    struct statvfs sv;
    assert_int_equal(statvfs("/", &sv), 0);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_string_equal(r.s.error, "");
    double size = (double)sv.f_blocks * (double)sv.f_frsize, avail = (double)sv.f_bavail * (double)sv.f_frsize;
    assert_true(sample_v(&r.s, "size_bytes") == size);
    assert_true(sample_v(&r.s, "avail_bytes") > avail * 0.99 - 1e6);
    assert_true(sample_v(&r.s, "avail_bytes") < avail * 1.01 + 1e6);
    double u = sample_v(&r.s, "used_ratio");
    assert_true(u >= 0 && u <= 1);
    if (sv.f_files) {
        assert_true(sample_v(&r.s, "files") == (double)sv.f_files);
        double iu = sample_v(&r.s, "inodes_used_ratio");
        assert_true(iu >= 0 && iu <= 1);
    }
    assert_timings_sane(&r.s);
}

static void test_disk_thresholds_forced_low(void **state)
{
    struct fx *f = *state;
    /* "/" holds this system, so some of it is used */
    struct conf_check c = disk_check(f, "/", 0, 1);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DEGRADED);
    assert_non_null(strstr(r.s.error, "is above warn 0"));
    assert_true(strstr(r.s.error, "used_ratio ") == r.s.error || strstr(r.s.error, "inodes_used_ratio ") == r.s.error);

    HC(c)->crit = 0;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_non_null(strstr(r.s.error, "is above crit 0"));
}

static void test_disk_missing_path_is_down(void **state)
{
    struct fx *f = *state;
    struct conf_check c = disk_check(f, "/nonexistent/opshub-test", 0.8, 0.9);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "statfs /nonexistent/opshub-test: no such file or directory");
    assert_int_equal(r.s.n_values, 0);
}

static unsigned long long meminfo_kib(const char *key)
{
    FILE *fp = fopen("/proc/meminfo", "r");
    assert_non_null(fp);
    char line[256];
    unsigned long long v = 0;
    size_t n = strlen(key);
    while (fgets(line, sizeof(line), fp))
        if (!strncmp(line, key, n) && line[n] == ':')
            v = strtoull(line + n + 1, NULL, 10);
    fclose(fp);
    return v;
}

static void test_memory_matches_proc_meminfo(void **state)
{
    struct fx *f = *state;
    struct conf_check c = check_defaults(f, &probe_memory_type);
    HC(c)->warn = HC(c)->crit = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "total_bytes") == (double)meminfo_kib("MemTotal") * 1024);
    assert_true(sample_v(&r.s, "swap_total_bytes") == (double)meminfo_kib("SwapTotal") * 1024);
    double avail = sample_v(&r.s, "available_bytes"), used = sample_v(&r.s, "used_ratio");
    assert_true(avail > 0 && avail <= sample_v(&r.s, "total_bytes"));
    assert_true(used > 0 && used < 1);
    double swap = sample_v(&r.s, "swap_used_ratio");
    assert_true(swap >= 0 && swap <= 1);

    HC(c)->warn = HC(c)->crit = 0;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_true(strncmp(r.s.error, "used_ratio ", 11) == 0);
}

static void assert_cpu_sane(const struct sample *s)
{
    double u = sample_v(s, "used_ratio");
    assert_true(u >= 0 && u <= 1);
    assert_true(sample_v(s, "cpus") == (double)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(sample_v(s, "load1_per_core") >= 0);
    assert_true(sample_v(s, "load15_per_core") >= 0);
}

static void test_cpu_twice_uses_the_previous_counters(void **state)
{
    struct fx *f = *state;
    struct conf_check c = check_defaults(f, &probe_cpu_type);
    HC(c)->warn = HC(c)->crit = 1;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_cpu_sane(&r.s);
    /* the first run measured over its own pause */
    assert_true(r.s.latency_ms >= PROBE_HOST_CPU_PAUSE_MS - 1);

    run_for(f, PROBE_HOST_CPU_MIN_WINDOW_MS + 50);
    run_check(f, &c, &r, 5000);
    assert_cpu_sane(&r.s);
    /* the second measured since the first: no pause (a pause alone would
     * take PROBE_HOST_CPU_PAUSE_MS) */
    assert_true(r.s.latency_ms < PROBE_HOST_CPU_PAUSE_MS);

    /* another check has counters of its own: it pauses */
    c.id = "other";
    run_check(f, &c, &r, 5000);
    assert_true(r.s.latency_ms >= PROBE_HOST_CPU_PAUSE_MS - 1);
}

/* ---- a pool kept busy: what a hung NFS statfs looks like ---- */

struct blocker {
    uv_work_t work;
    int fds[2];
    int done;
};

static void block_work(uv_work_t *w)
{
    struct blocker *b = w->data;
    char ch;
    while (read(b->fds[0], &ch, 1) < 0)
        ;
}

static void block_after(uv_work_t *w, int status)
{
    struct blocker *b = w->data;
    b->done++;
}

static void blocker_start(struct fx *f, struct blocker *b)
{
    memset(b, 0, sizeof(*b));
    assert_int_equal(pipe(b->fds), 0);
    b->work.data = b;
    assert_int_equal(uv_queue_work(&f->loop, &b->work, block_work, block_after), 0);
}

static void blocker_release(struct fx *f, struct blocker *b)
{
    assert_int_equal(write(b->fds[1], "x", 1), 1);
    assert_true(run_until(f, &b->done, 1, 5000));
    close(b->fds[0]);
    close(b->fds[1]);
}

static void test_disk_stuck_statfs_is_down_at_the_deadline(void **state)
{
    struct fx *f = *state;
    struct blocker b;
    blocker_start(f, &b);
    struct conf_check c = disk_check(f, "/", 1, 1);
    c.timeout_ms = 100;
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "timeout after 100 ms (statfs; hung mount?)");
    /* the engine closes while the statfs is still queued */
    probe_engine_close(f->e, on_engine_closed, f);
    f->e = NULL;
    assert_true(run_until(f, &f->closed, 1, 5000));
    blocker_release(f, &b);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* the abandoned statfs ends and frees itself */
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void test_disk_starts_no_statfs_beside_hung_ones(void **state)
{
    struct fx *f = *state;
    struct blocker b;
    blocker_start(f, &b);
    struct conf_check root = disk_check(f, "/", 1, 1), tmp = disk_check(f, "/tmp", 1, 1),
                      proc = disk_check(f, "/proc", 1, 1);
    root.timeout_ms = tmp.timeout_ms = proc.timeout_ms = 100;
    struct result r;
    run_check(f, &root, &r, 5000);
    assert_string_equal(r.s.error, "timeout after 100 ms (statfs; hung mount?)");
    /* the same path again: refused at once, nothing queued */
    run_check(f, &root, &r, 50);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "statfs /: an earlier call has not returned (hung mount?)");
    /* another path queues (and hangs) */
    run_check(f, &tmp, &r, 5000);
    assert_string_equal(r.s.error, "timeout after 100 ms (statfs; hung mount?)");
    /* two hung: no more statfs at all */
    run_check(f, &proc, &r, 50);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "statfs /proc: not started, 2 earlier calls have not returned (hung mounts?)");
    /* the mount answers again: the hung calls return and free their slots */
    blocker_release(f, &b);
    run_for(f, 300);
    run_check(f, &proc, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    run_check(f, &root, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
}

static void test_host_cancel_in_every_step(void **state)
{
    struct fx *f = *state;
    struct blocker b;
    struct conf_check d = disk_check(f, "/", 1, 1), m = check_defaults(f, &probe_memory_type),
                      c = check_defaults(f, &probe_cpu_type);
    c.id = "cancel-cpu";
    struct result rd, rm, rc;
    memset(&rd, 0, sizeof(rd));
    memset(&rm, 0, sizeof(rm));
    memset(&rc, 0, sizeof(rc));
    /* while their request waits for the pool */
    blocker_start(f, &b);
    struct probe_run *a1 = probe_start(f->e, &d, on_result, &rd), *a2 = probe_start(f->e, &m, on_result, &rm),
                     *a3 = probe_start(f->e, &c, on_result, &rc);
    assert_true(a1 && a2 && a3);
    run_for(f, 20);
    probe_cancel(a1);
    probe_cancel(a2);
    probe_cancel(a3);
    blocker_release(f, &b);
    run_for(f, 50);
    /* a cpu run during its pause */
    a3 = probe_start(f->e, &c, on_result, &rc);
    run_for(f, PROBE_HOST_CPU_PAUSE_MS / 2);
    assert_int_equal(rc.done, 0);
    probe_cancel(a3);
    run_for(f, PROBE_HOST_CPU_PAUSE_MS);
    assert_int_equal(rd.done + rm.done + rc.done, 0);
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.canceled, 4);
    assert_int_equal(st.in_flight, 0);
}

int main(void)
{
    /* one pool thread, so that a blocker occupies the whole pool */
    setenv("UV_THREADPOOL_SIZE", "1", 1);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_level_maps_thresholds),
        T(test_host_defaults),
        T(test_disk_values_match_statvfs),
        T(test_disk_thresholds_forced_low),
        T(test_disk_missing_path_is_down),
        T(test_memory_matches_proc_meminfo),
        T(test_cpu_twice_uses_the_previous_counters),
        T(test_disk_stuck_statfs_is_down_at_the_deadline),
        T(test_disk_starts_no_statfs_beside_hung_ones),
        T(test_host_cancel_in_every_step),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
