/*
 * base/num: a double as text that reads back (strtod) as the same double,
 * without printf on the common path. Sample values and metrics are mostly
 * integers or decimals with few fractional digits (seconds from microsecond
 * timers, counts, bytes); those are written digit by digit, the rest with
 * %.15g or, where that does not read back, %.17g. Non-finite values are
 * written as Prometheus writes them: NaN, +Inf, -Inf.
 */
#ifndef BASE_NUM_H
#define BASE_NUM_H

#include <stddef.h>

#define BASE_NUM_MAX 32 /* the longest text, NUL included */

/* Writes v into out (NUL-terminated) and returns its length. */
size_t base_num_format(double v, char out[BASE_NUM_MAX]);

#endif
