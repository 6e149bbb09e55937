/*
 * libFuzzer target for series/chunk: the first two bytes are a sample
 * count, the rest a chunk's bit stream. The reader must stop inside the
 * bytes whatever they hold; what it reads, written again by the writer and
 * read back, must give the same timestamps and value bits.
 */
#include "series/chunk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 8192)
        return 0;
    uint32_t n = (uint32_t)data[0] | (uint32_t)data[1] << 8;
    size_t len = size - 2;
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return 0;
    memcpy(bytes, data + 2, len);
    struct series_chunk_reader r;
    series_chunk_reader_init(&r, bytes, len * 8, n);
    struct series_chunk c = {0};
    int64_t ts[512];
    uint64_t vs[512];
    size_t got = 0;
    int64_t t;
    uint64_t v;
    while (got < 512 && series_chunk_next(&r, &t, &v)) {
        if (r.pos > r.bits)
            abort();
        long grown;
        if (series_chunk_append(&c, t, v, &grown) != 0)
            break;
        ts[got] = t;
        vs[got] = v;
        got++;
    }
    struct series_chunk_reader back;
    series_chunk_reader_init(&back, c.data, c.bits, c.n);
    for (size_t i = 0; i < c.n; i++) {
        if (!series_chunk_next(&back, &t, &v) || t != ts[i] || v != vs[i])
            abort();
    }
    series_chunk_free(&c);
    free(bytes);
    return 0;
}
