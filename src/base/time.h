/*
 * base/time: wall-clock and monotonic time, ISO 8601 formatting and parsing.
 */
#ifndef BASE_TIME_H
#define BASE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Unix time in milliseconds (CLOCK_REALTIME, plus the test clock's shift). */
int64_t base_time_now_ms(void);
/* The test clock (OPSHUB_TEST_CLOCK=1, never in production): moves every
 * wall-clock reading of the process forward by ms (> 0; others ignored),
 * so integration tests see deadlines and quiet periods of minutes pass
 * without waiting. Monotonic readings (timeouts, timers) do not move. */
void base_time_advance(int64_t ms);
/* How far base_time_advance moved the clock in total (0 normally). */
int64_t base_time_shift_ms(void);
/* Monotonic nanoseconds (CLOCK_MONOTONIC), for durations only. */
uint64_t base_time_mono_ns(void);
/* "2026-11-23T08:12:35.123Z" into buf (at least 25 bytes). Returns buf. */
char *base_time_format_iso8601(int64_t unix_ms, char *buf, size_t n);
/* Parses unix seconds ("1732350000", fractions allowed) or ISO 8601
 * ("2026-11-23T08:12:35Z", "...35.5+01:00", date only). 0 or BASE_ERR_INVALID. */
int base_time_parse(const char *s, int64_t *unix_ms);

#endif
