/*
 * base/duration: parse and format durations.
 */
#include "base/duration.h"

#include "base/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *unit;
    int64_t ms;
} units[] = {
    {"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000},
    {"m", 60000}, {"s", 1000}, {"ms", 1},
};
#define N_UNITS (sizeof(units) / sizeof(units[0]))

int base_duration_parse(const char *s, size_t n, int64_t *ms)
{
    size_t i = 0, next_unit = 0;
    int64_t total = 0;
    if (n == 0)
        return BASE_ERR_INVALID;
    while (i < n) {
        if (s[i] < '0' || s[i] > '9')
            return BASE_ERR_INVALID;
        int64_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return BASE_ERR_INVALID;
            v = v * 10 + (s[i++] - '0');
        }
        size_t ulen = 0;
        while (i + ulen < n && s[i + ulen] >= 'a' && s[i + ulen] <= 'z')
            ulen++;
        size_t u;
        for (u = next_unit; u < N_UNITS; u++)
            if (strlen(units[u].unit) == ulen && memcmp(units[u].unit, s + i, ulen) == 0)
                break;
        if (u == N_UNITS)
            return BASE_ERR_INVALID;
        if (v > INT64_MAX / units[u].ms || total > INT64_MAX - v * units[u].ms)
            return BASE_ERR_INVALID;
        total += v * units[u].ms;
        next_unit = u + 1;
        i += ulen;
    }
    *ms = total;
    return 0;
}

char *base_duration_format(int64_t ms, char *buf, size_t n)
{
    size_t off = 0;
    if (n)
        buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, n, "%s", ms == 0 ? "0s" : "-");
        return buf;
    }
    for (size_t u = 0; u < N_UNITS && off < n; u++) {
        int64_t v = ms / units[u].ms;
        if (v) {
            int w = snprintf(buf + off, n - off, "%lld%s", (long long)v, units[u].unit);
            if (w < 0)
                break;
            off += (size_t)w;
            ms -= v * units[u].ms;
        }
    }
    return buf;
}
