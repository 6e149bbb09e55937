/*
 * libFuzzer target for probe/perfdata: arbitrary bytes as a plugin's
 * output never crash the parser or read past the input (the copy has no
 * NUL after it), and what it returns is coherent: the summary lies inside
 * the input and holds no newline, every value is finite under a valid and
 * unique value name, and no more items than the cap are kept.
 */
#include "probe/perfdata.h"

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
    struct probe_perfdata pd;
    probe_perfdata_parse(buf, size, &pd);
    if (pd.n_items > PROBE_PERFDATA_ITEMS_MAX)
        abort();
    if (pd.summary_len && (pd.summary < buf || pd.summary + pd.summary_len > buf + size))
        abort();
    if (pd.summary_len && memchr(pd.summary, '\n', pd.summary_len))
        abort();
    for (size_t i = 0; i < pd.n_items; i++) {
        if (!isfinite(pd.items[i].value) || !sample_value_name_ok(pd.items[i].name))
            abort();
        if (strlen(pd.items[i].label) >= PROBE_PERFDATA_LABEL_MAX)
            abort();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(pd.items[i].name, pd.items[j].name))
                abort();
    }
    free(buf);
    return 0;
}
