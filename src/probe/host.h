/*
 * probe/host: the host check types `disk`, `memory` and `cpu`: the space
 * and inodes of a filesystem (uv_fs_statfs), memory and swap
 * (/proc/meminfo), CPU use and load per core (/proc/stat, /proc/loadavg).
 * Nothing blocks the loop: statfs runs as a libuv fs request and /proc is
 * read by a small job on libuv's pool into capped buffers, parsed on the
 * loop by probe/procfs. A request still out when the run's deadline passes
 * (a hung NFS mount) is left to finish on its own and freed then; the run
 * reports down at its deadline and never waits for it.
 */
#ifndef PROBE_HOST_H
#define PROBE_HOST_H

#include "conf/conf.h"
#include "model/sample.h"

/* Most bytes read from each /proc file. */
#define PROBE_HOST_STAT_MAX (256 * 1024)  /* /proc/stat: cpuN lines come first; 3,000+ CPUs fit */
#define PROBE_HOST_MEMINFO_MAX (64 * 1024)
#define PROBE_HOST_LOADAVG_MAX 256
/* cpu: the previous counters are used when they are at least this old,
 * else the run measures over a short pause of its own. */
#define PROBE_HOST_CPU_MIN_WINDOW_MS 250
#define PROBE_HOST_CPU_PAUSE_MS 250
/* disk: most statfs calls left running past their run's deadline (hung
 * mounts, each holding a thread of libuv's pool) before disk runs stop
 * starting new ones; a path with one hung gets none either. */
#define PROBE_HOST_HUNG_MAX 2
/* cpu: most checks whose counters the engine keeps between runs. */
#define PROBE_HOST_CPU_STATES_MAX 4096

/* The settings of a disk, memory or cpu check (conf_check.settings). */
struct probe_host_conf {
    const char *path;   /* disk: any path on the filesystem; NULL for memory and cpu */
    double warn, crit;  /* ratios 0..1, warn <= crit */
};

extern const struct conf_check_type probe_disk_type;
extern const struct conf_check_type probe_memory_type;
extern const struct conf_check_type probe_cpu_type;

/* A ratio against the thresholds: above crit DOWN, above warn DEGRADED,
 * else UP. */
enum sample_result probe_host_level(double ratio, double warn, double crit);

#endif
