/*
 * base/num: doubles to text that reads back exactly.
 *
 * The fast path: for k in 0, 3, 6, 9, u = round(v * 10^k); when u < 2^53
 * and u / 10^k == v (one correctly rounded division of two exact doubles),
 * the decimal u * 10^-k rounds to v, which is what strtod returns for it,
 * so writing u's digits with the point k places from the right is exact.
 * The smallest such k gives the shortest of these texts.
 */
#include "base/num.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_INT_MAX 9007199254740992.0 /* 2^53 */

static size_t put_decimal(uint64_t u, int k, bool neg, char *out)
{
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    /* at least k+1 digits, so there is one before the point */
    while (nd < (size_t)k + 1)
        digits[nd++] = '0';
    /* trailing fractional zeros are not written */
    size_t skip = 0;
    while ((int)skip < k && digits[skip] == '0')
        skip++;
    size_t len = 0;
    if (neg)
        out[len++] = '-';
    for (size_t i = nd; i > (size_t)k; i--)
        out[len++] = digits[i - 1];
    if ((int)skip < k) {
        out[len++] = '.';
        for (size_t i = (size_t)k; i > skip; i--)
            out[len++] = digits[i - 1];
    }
    out[len] = '\0';
    return len;
}

size_t base_num_format(double v, char out[BASE_NUM_MAX])
{
    static const double scale[] = {1.0, 1e3, 1e6, 1e9};
    if (isnan(v))
        return (size_t)snprintf(out, BASE_NUM_MAX, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, BASE_NUM_MAX, "%s", v > 0 ? "+Inf" : "-Inf");
    bool neg = signbit(v);
    double a = fabs(v);
    for (int i = 0; i < 4; i++) {
        double x = nearbyint(a * scale[i]);
        if (x >= EXACT_INT_MAX)
            break;
        if (x / scale[i] == a)
            return put_decimal((uint64_t)x, 3 * i, neg, out);
    }
    int n = snprintf(out, BASE_NUM_MAX, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, BASE_NUM_MAX, "%.17g", v);
    return (size_t)n;
}
