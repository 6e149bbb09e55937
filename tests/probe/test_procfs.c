/*
 * Unit tests for probe/procfs: /proc/meminfo, /proc/stat and /proc/loadavg
 * as the kernel writes them, cut short, malformed and with numbers that
 * overflow; the busy share between two readings and the used ratio.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "probe/procfs.h"

#include <string.h>

#define S(lit) (lit), (sizeof(lit) - 1)

static const char meminfo[] = "MemTotal:       16318412 kB\n"
                              "MemFree:         1034564 kB\n"
                              "MemAvailable:   12345678 kB\n"
                              "Buffers:          123456 kB\n"
                              "SwapCached:            0 kB\n"
                              "SwapTotal:       2097148 kB\n"
                              "SwapFree:        1048574 kB\n"
                              "HugePages_Total:       0\n";

static void test_meminfo_reads_kib_as_bytes(void **state)
{
    struct probe_procfs_mem m;
    assert_int_equal(probe_procfs_meminfo(S(meminfo), &m), 0);
    assert_true(m.total == 16318412ULL * 1024);
    assert_true(m.available == 12345678ULL * 1024);
    assert_true(m.swap_total == 2097148ULL * 1024);
    assert_true(m.swap_free == 1048574ULL * 1024);
}

static void test_meminfo_without_swap_or_available(void **state)
{
    struct probe_procfs_mem m;
    assert_int_equal(probe_procfs_meminfo(S("MemTotal: 1000 kB\nMemAvailable: 250 kB\n"), &m), 0);
    assert_true(m.swap_total == 0 && m.swap_free == 0);
    /* kernels before 3.14: no MemAvailable */
    assert_int_equal(probe_procfs_meminfo(S("MemTotal: 1000 kB\nMemFree: 250 kB\n"), &m), -1);
    assert_int_equal(probe_procfs_meminfo(S("MemTotal: 0 kB\nMemAvailable: 0 kB\n"), &m), -1);
    assert_int_equal(probe_procfs_meminfo(S(""), &m), -1);
    assert_int_equal(probe_procfs_meminfo(S("MemTotal: x kB\nMemAvailable: 1 kB\n"), &m), -1);
    /* a key must start its line */
    assert_int_equal(probe_procfs_meminfo(S("XMemTotal: 5 kB\nMemAvailable: 1 kB\n"), &m), -1);
}

static void test_meminfo_clamps_and_saturates(void **state)
{
    struct probe_procfs_mem m;
    /* available above total (never from a kernel) is clamped */
    assert_int_equal(probe_procfs_meminfo(S("MemTotal: 10 kB\nMemAvailable: 20 kB\n"), &m), 0);
    assert_true(m.available == m.total);
    assert_int_equal(probe_procfs_meminfo(S("MemTotal: 99999999999999999999999 kB\nMemAvailable: 1 kB"), &m), 0);
    assert_true(m.total == UINT64_MAX);
    /* cut in the middle of the last line: what is there counts */
    size_t cut = (size_t)(strstr(meminfo, "12345678") - meminfo) + 4;
    assert_int_equal(probe_procfs_meminfo(meminfo, cut, &m), 0);
    assert_true(m.available == 1234); /* no unit left: taken as bytes */
    assert_int_equal(probe_procfs_meminfo(meminfo, cut - 5, &m), -1);
}

static const char stat_text[] = "cpu  100 5 50 800 20 3 2 10 0 0\n"
                                "cpu0 50 2 25 400 10 1 1 5 0 0\n"
                                "cpu1 50 3 25 400 10 2 1 5 0 0\n"
                                "intr 12345 0 0 1\n"
                                "ctxt 99\n"
                                "cpu9 this is not a cpu line after intr\n";

static void test_stat_sums_counters_and_counts_cpus(void **state)
{
    struct probe_procfs_cpu c;
    assert_int_equal(probe_procfs_stat(S(stat_text), &c), 0);
    assert_true(c.total == 100 + 5 + 50 + 800 + 20 + 3 + 2 + 10);
    assert_true(c.idle == 800 + 20);
    assert_int_equal(c.cpus, 2);
}

static void test_stat_old_kernels_and_bad_input(void **state)
{
    struct probe_procfs_cpu c;
    /* four counters (2.4 kernels) are enough */
    assert_int_equal(probe_procfs_stat(S("cpu 1 2 3 4\n"), &c), 0);
    assert_true(c.total == 10 && c.idle == 4);
    assert_int_equal(c.cpus, 0);
    assert_int_equal(probe_procfs_stat(S("cpu 1 2 3\n"), &c), -1);
    assert_int_equal(probe_procfs_stat(S("cpu0 1 2 3 4\n"), &c), -1);
    assert_int_equal(probe_procfs_stat(S("intr 1 2 3 4\n"), &c), -1);
    assert_int_equal(probe_procfs_stat(S(""), &c), -1);
    /* cut inside the cpuN lines: the ones begun count */
    assert_int_equal(probe_procfs_stat(stat_text, 40, &c), 0);
    assert_int_equal(c.cpus, 1);
}

static void test_loadavg(void **state)
{
    double l[3];
    assert_int_equal(probe_procfs_loadavg(S("0.52 1.25 12.00 2/345 6789\n"), l), 0);
    assert_true(l[0] > 0.5199 && l[0] < 0.5201);
    assert_true(l[1] > 1.2499 && l[1] < 1.2501);
    assert_true(l[2] > 11.999 && l[2] < 12.001);
    assert_int_equal(probe_procfs_loadavg(S("0.52 1.25"), l), -1);
    assert_int_equal(probe_procfs_loadavg(S("0.52 x 1.0 1/2 3"), l), -1);
    assert_int_equal(probe_procfs_loadavg(S("-1 1 1 1/2 3"), l), -1);
    assert_int_equal(probe_procfs_loadavg(S("1a 1 1 1/2 3"), l), -1);
    assert_int_equal(probe_procfs_loadavg(S("1 2 3"), l), 0);
}

static void test_cpu_used_between_readings(void **state)
{
    struct probe_procfs_cpu a = {.total = 1000, .idle = 800}, b = {.total = 1100, .idle = 825};
    double u = probe_procfs_cpu_used(&a, &b);
    assert_true(u > 0.7499 && u < 0.7501);
    /* no time passed, counters backwards (a reset), idle grew more than total */
    assert_true(probe_procfs_cpu_used(&a, &a) < 0);
    assert_true(probe_procfs_cpu_used(&b, &a) < 0);
    struct probe_procfs_cpu c = {.total = 1010, .idle = 900};
    assert_true(probe_procfs_cpu_used(&a, &c) < 0);
    struct probe_procfs_cpu idle = {.total = 1100, .idle = 900};
    assert_true(probe_procfs_cpu_used(&a, &idle) == 0);
}

static void test_used_ratio(void **state)
{
    assert_true(probe_procfs_used_ratio(25, 100) == 0.75);
    assert_true(probe_procfs_used_ratio(0, 100) == 1);
    assert_true(probe_procfs_used_ratio(100, 100) == 0);
    assert_true(probe_procfs_used_ratio(200, 100) == 0);
    assert_true(probe_procfs_used_ratio(0, 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meminfo_reads_kib_as_bytes),
        cmocka_unit_test(test_meminfo_without_swap_or_available),
        cmocka_unit_test(test_meminfo_clamps_and_saturates),
        cmocka_unit_test(test_stat_sums_counters_and_counts_cpus),
        cmocka_unit_test(test_stat_old_kernels_and_bad_input),
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_cpu_used_between_readings),
        cmocka_unit_test(test_used_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
