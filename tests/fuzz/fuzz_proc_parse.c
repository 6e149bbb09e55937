/*
 * libFuzzer target for probe/procfs: arbitrary bytes as /proc/meminfo,
 * /proc/stat and /proc/loadavg never crash a parser or read past the
 * input (the copy has no NUL after it), and whatever parses is coherent:
 * available <= total, swap free <= swap total, idle <= total, loads >= 0,
 * ratios within 0..1.
 */
#include "probe/procfs.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    struct probe_procfs_mem m;
    if (probe_procfs_meminfo(buf, size, &m) == 0) {
        if (!m.total || m.available > m.total || m.swap_free > m.swap_total)
            abort();
        double r = probe_procfs_used_ratio(m.available, m.total);
        if (!(r >= 0 && r <= 1))
            abort();
    }

    struct probe_procfs_cpu c;
    if (probe_procfs_stat(buf, size, &c) == 0) {
        if (c.idle > c.total && c.total != UINT64_MAX)
            abort();
        if (c.cpus < 0 || (size_t)c.cpus > size)
            abort();
        struct probe_procfs_cpu later = {c.total / 2 + 1, c.idle / 4, 0};
        double u = probe_procfs_cpu_used(&later, &c);
        if (u != -1 && !(u >= 0 && u <= 1))
            abort();
    }

    double load[3];
    if (probe_procfs_loadavg(buf, size, load) == 0)
        for (int i = 0; i < 3; i++)
            if (!(load[i] >= 0) || isnan(load[i]))
                abort();

    free(buf);
    return 0;
}
