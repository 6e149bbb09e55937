/*
 * base/time: clocks and timestamp text.
 */
#include "base/time.h"

#include "base/err.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The test clock's shift (base_time_advance): 0 unless a daemon started
 * with OPSHUB_TEST_CLOCK=1 was told to move. Read from any thread. */
static _Atomic int64_t shift_ms;

int64_t base_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load_explicit(&shift_ms, memory_order_relaxed);
}

void base_time_advance(int64_t ms)
{
    if (ms > 0)
        atomic_fetch_add_explicit(&shift_ms, ms, memory_order_relaxed);
}

int64_t base_time_shift_ms(void)
{
    return atomic_load_explicit(&shift_ms, memory_order_relaxed);
}

uint64_t base_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *base_time_format_iso8601(int64_t unix_ms, char *buf, size_t n)
{
    time_t secs = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
    int ms = (int)(unix_ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

static int digits(const char **p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int base_time_parse(const char *s, int64_t *unix_ms)
{
    if (!s || !*s)
        return BASE_ERR_INVALID;
    size_t len = strlen(s);
    if (len > 40)
        return BASE_ERR_INVALID;
    if (strspn(s, "0123456789.") == len) {
        char *end;
        double v = strtod(s, &end);
        if (*end || v > 1e13)
            return BASE_ERR_INVALID;
        *unix_ms = (int64_t)(v * 1000.0);
        return 0;
    }
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return BASE_ERR_INVALID;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap))
        return BASE_ERR_INVALID;
    int64_t offset_min = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return BASE_ERR_INVALID;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return BASE_ERR_INVALID;
            if (*p == '.') {
                p++;
                int scale = 100, n = 0;
                while (isdigit((unsigned char)*p)) {
                    if (n++ < 3) {
                        ms += (*p - '0') * scale;
                        scale /= 10;
                    }
                    p++;
                }
                if (!n)
                    return BASE_ERR_INVALID;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return BASE_ERR_INVALID;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, 2, &oh))
                return BASE_ERR_INVALID;
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) || oh > 23 || om > 59)
                return BASE_ERR_INVALID;
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p)
        return BASE_ERR_INVALID;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *unix_ms = secs * 1000 + ms;
    return 0;
}
