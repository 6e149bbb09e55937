/*
 * libFuzzer target for http/events' Last-Event-ID parsing (a header any
 * client sends): arbitrary text never crashes, an accepted id never names
 * an event not issued yet, and an accepted id is exactly the text the
 * server writes for that event (one spelling per event).
 */
#include "http/events.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[64], again[64];
    if (size >= sizeof(id))
        return 0;
    memcpy(id, data, size);
    id[size] = '\0';
    static const uint32_t epochs[] = {0x5f0c9a21u, 0u, 0xffffffffu};
    static const uint64_t heads[] = {0, 1041, UINT64_MAX};
    for (size_t e = 0; e < 3; e++) {
        for (size_t h = 0; h < 3; h++) {
            uint64_t seq = UINT64_MAX;
            if (!http_events_parse_id(epochs[e], heads[h], id, &seq))
                continue;
            if (seq > heads[h])
                abort();
            snprintf(again, sizeof(again), "%08" PRIx32 "-%" PRIu64, epochs[e], seq);
            if (strcmp(again, id) != 0)
                abort();
        }
    }
    return 0;
}
