/*
 * base/cron: 5-field cron schedules (minute hour day-of-month month
 * day-of-week) as Vixie cron and its successors read them: numbers,
 * ranges (1-5), lists (1,3,5), steps (*\/15, 9-17/2), names (jan-dec,
 * sun-sat; 7 is Sunday too), the macros @yearly @annually @monthly @weekly
 * @daily @midnight @hourly, and day-of-month OR day-of-week when both are
 * restricted. Times are wall-clock times of a zone (base/tz): a time
 * skipped by a change forward happens the same distance after the change,
 * a time that happens twice fires once (the first).
 */
#ifndef BASE_CRON_H
#define BASE_CRON_H

#include "base/tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASE_CRON_TEXT_MAX 256

struct base_cron {
    uint64_t minutes;    /* bit m: minute m */
    uint32_t hours;      /* bit h */
    uint32_t mdays;      /* bit d (1..31) */
    uint16_t months;     /* bit m (1..12) */
    uint8_t wdays;       /* bit d (0..6, Sunday 0) */
    bool mday_star, wday_star;
};

/* 0, or -1 with the reason and the 0-based offset of the bad character. */
int base_cron_parse(const char *text, struct base_cron *out, char *why, size_t why_len, size_t *pos);
/* The first fire time after `after_ms` (unix ms) in tz, in unix ms; -1
 * when there is none within 8 years (February 30th). */
int64_t base_cron_next(const struct base_cron *c, const struct base_tz *tz, int64_t after_ms);

#endif
