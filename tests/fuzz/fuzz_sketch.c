/*
 * libFuzzer target for model/sketch's text form: arbitrary bytes never
 * crash the parser or read past the input, and whatever parses is
 * coherent: counts add up, buckets are sorted and within range, it formats
 * back to the same bytes, and merging it with itself doubles every count.
 */
#include "model/sketch.h"

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
    struct sketch s, twice;
    sketch_init(&s);
    sketch_init(&twice);
    if (sketch_parse(&s, buf, size) == 0) {
        uint64_t sum = s.zero;
        for (size_t i = 0; i < s.len; i++) {
            if (s.bins[i].count == 0 || (i && s.bins[i].index <= s.bins[i - 1].index))
                abort();
            sum += s.bins[i].count;
        }
        if (sum != s.count)
            abort();
        static char text[SKETCH_TEXT_MAX];
        size_t len = sketch_format(&s, text, sizeof(text));
        if (len != size || memcmp(text, buf, size) != 0)
            abort();
        double q50 = sketch_quantile(&s, 0.5), q99 = sketch_quantile(&s, 0.99);
        if (!(q50 >= 0 && q50 <= q99 && q99 <= SKETCH_MAX_MS * 1.1))
            abort();
        if (sketch_merge(&twice, &s) == 0 && sketch_merge(&twice, &s) == 0 && twice.count != 2 * s.count)
            abort();
    }
    sketch_free(&s);
    sketch_free(&twice);
    free(buf);
    return 0;
}
