/*
 * libFuzzer target for base/duration: parsing arbitrary text never crashes,
 * and whatever parses formats back to text that parses to the same value.
 */
#include "base/duration.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t ms, again;
    char buf[128];
    if (base_duration_parse((const char *)data, size, &ms) != 0)
        return 0;
    if (ms < 0)
        abort();
    base_duration_format(ms, buf, sizeof(buf));
    if (base_duration_parse(buf, strlen(buf), &again) != 0 || again != ms)
        abort();
    return 0;
}
