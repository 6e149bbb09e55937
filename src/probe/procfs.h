/*
 * probe/procfs: pure parsers for the Linux /proc files the host checks
 * read (/proc/meminfo, /proc/stat, /proc/loadavg) and the arithmetic over
 * what they hold. Input is bytes and a length (never assumed NUL-ended,
 * possibly cut at the reader's cap); no I/O, no allocation, so they are
 * unit-tested and fuzzed on their own (tests/fuzz/fuzz_proc_parse.c).
 */
#ifndef PROBE_PROCFS_H
#define PROBE_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* The figures of /proc/meminfo a memory check uses, in bytes. */
struct probe_procfs_mem {
    uint64_t total, available;        /* MemTotal, MemAvailable */
    uint64_t swap_total, swap_free;   /* SwapTotal, SwapFree (0 without swap) */
};

/* The aggregate "cpu" line of /proc/stat in clock ticks, and the number of
 * "cpuN" lines (online CPUs). */
struct probe_procfs_cpu {
    uint64_t total;  /* user+nice+system+idle+iowait+irq+softirq+steal (guest is inside user) */
    uint64_t idle;   /* idle+iowait */
    int cpus;
};

/* Reads MemTotal, MemAvailable, SwapTotal and SwapFree ("Key:  123 kB").
 * 0, or -1 when MemTotal or MemAvailable is missing or MemTotal is 0
 * (kernels before 3.14 have no MemAvailable). */
int probe_procfs_meminfo(const char *buf, size_t n, struct probe_procfs_mem *out);
/* Reads the first line ("cpu  u n s i ...", at least four counters) and
 * counts the cpuN lines. 0, or -1 without a usable "cpu" line. */
int probe_procfs_stat(const char *buf, size_t n, struct probe_procfs_cpu *out);
/* Reads the 1, 5 and 15 minute load averages. 0 or -1. */
int probe_procfs_loadavg(const char *buf, size_t n, double load[3]);

/* Busy share of the CPU time between two readings of /proc/stat, 0..1, or
 * -1 when no time passed or a counter went backwards. */
double probe_procfs_cpu_used(const struct probe_procfs_cpu *before, const struct probe_procfs_cpu *after);
/* 1 - available/total in 0..1 (0 when total is 0). */
double probe_procfs_used_ratio(uint64_t available, uint64_t total);

#endif
