/*
 * probe/procfs: /proc parsers. Numbers saturate instead of overflowing;
 * a line cut at the end of the buffer is read as far as it goes.
 */
#include "probe/procfs.h"

#include <string.h>

/* Skips spaces and tabs from *p (never past end). */
static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

/* An unsigned decimal at *p after blanks; 0 or -1 when there is none. */
static int read_u64(const char **p, const char *end, uint64_t *out)
{
    skip_blanks(p, end);
    if (*p >= end || **p < '0' || **p > '9')
        return -1;
    uint64_t v = 0;
    for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
        uint64_t d = (uint64_t)(**p - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The end of the line starting at p (its '\n' or end). */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

static int starts_with(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

int probe_procfs_meminfo(const char *buf, size_t n, struct probe_procfs_mem *out)
{
    static const char *const keys[] = {"MemTotal:", "MemAvailable:", "SwapTotal:", "SwapFree:"};
    uint64_t vals[4] = {0, 0, 0, 0};
    int seen = 0;
    const char *end = buf + n;
    for (const char *p = buf; p < end;) {
        const char *le = line_end(p, end);
        for (int k = 0; k < 4; k++) {
            if (!starts_with(p, le, keys[k]))
                continue;
            const char *q = p + strlen(keys[k]);
            uint64_t v;
            if (read_u64(&q, le, &v) == 0) {
                skip_blanks(&q, le);
                /* "kB" (really KiB) on every line that has a unit */
                vals[k] = starts_with(q, le, "kB") ? (v > UINT64_MAX / 1024 ? UINT64_MAX : v * 1024) : v;
                seen |= 1 << k;
            }
            break;
        }
        p = le < end ? le + 1 : end;
    }
    if ((seen & 3) != 3 || vals[0] == 0)
        return -1;
    out->total = vals[0];
    out->available = vals[1] < vals[0] ? vals[1] : vals[0];
    out->swap_total = vals[2];
    out->swap_free = vals[3] < vals[2] ? vals[3] : vals[2];
    return 0;
}

int probe_procfs_stat(const char *buf, size_t n, struct probe_procfs_cpu *out)
{
    const char *end = buf + n;
    const char *le = line_end(buf, end);
    if (!starts_with(buf, le, "cpu ") && !starts_with(buf, le, "cpu\t"))
        return -1;
    const char *p = buf + 3;
    uint64_t f[8] = {0};
    int got = 0;
    while (got < 8 && read_u64(&p, le, &f[got]) == 0)
        got++;
    if (got < 4)
        return -1;
    uint64_t total = 0;
    for (int i = 0; i < got; i++)
        total = add_sat(total, f[i]);
    int cpus = 0;
    for (p = le < end ? le + 1 : end; p < end;) {
        const char *e2 = line_end(p, end);
        if (starts_with(p, e2, "cpu") && p + 3 < e2 && p[3] >= '0' && p[3] <= '9')
            cpus++;
        else
            break; /* the cpuN lines come together, right after "cpu" */
        p = e2 < end ? e2 + 1 : end;
    }
    out->total = total;
    out->idle = add_sat(f[3], f[4]);
    out->cpus = cpus;
    return 0;
}

/* A non-negative decimal number "12.34" at *p after blanks. */
static int read_decimal(const char **p, const char *end, double *out)
{
    uint64_t ip;
    if (read_u64(p, end, &ip) != 0)
        return -1;
    double v = (double)ip;
    if (*p < end && **p == '.') {
        (*p)++;
        double scale = 0.1;
        for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, scale /= 10)
            v += (**p - '0') * scale;
    }
    *out = v;
    return 0;
}

int probe_procfs_loadavg(const char *buf, size_t n, double load[3])
{
    const char *p = buf, *end = buf + n;
    double v[3];
    for (int i = 0; i < 3; i++) {
        if (read_decimal(&p, end, &v[i]) != 0)
            return -1;
        if (p < end && *p != ' ' && *p != '\t' && *p != '\n')
            return -1;
    }
    memcpy(load, v, sizeof(v));
    return 0;
}

double probe_procfs_cpu_used(const struct probe_procfs_cpu *before, const struct probe_procfs_cpu *after)
{
    if (after->total <= before->total || after->idle < before->idle)
        return -1;
    uint64_t dt = after->total - before->total, di = after->idle - before->idle;
    if (di > dt)
        return -1;
    return 1.0 - (double)di / (double)dt;
}

double probe_procfs_used_ratio(uint64_t available, uint64_t total)
{
    if (!total)
        return 0;
    if (available >= total)
        return 0;
    return 1.0 - (double)available / (double)total;
}
