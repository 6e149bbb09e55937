/*
 * base/duration: Prometheus-style durations ("500ms", "30s", "5m", "1h30m",
 * "7d", "2w", "1y") to and from milliseconds. Units must appear largest
 * first, each at most once; the whole text must be consumed.
 */
#ifndef BASE_DURATION_H
#define BASE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..n). 0, or BASE_ERR_INVALID (empty, bad unit, out of order,
 * overflow past ~292 million years). */
int base_duration_parse(const char *s, size_t n, int64_t *ms);
/* Shortest canonical text ("1h30m", "500ms", "0s") into buf. Returns buf. */
char *base_duration_format(int64_t ms, char *buf, size_t n);

#endif
