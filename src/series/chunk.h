/*
 * series/chunk: one series' samples as a compressed bit stream, after
 * Facebook's Gorilla paper (and the Prometheus TSDB's XOR chunk): the
 * first sample raw, then each timestamp as the change of its delta in a
 * few bit buckets, and each value as its XOR with the previous one,
 * written as the meaningful bits inside a leading/trailing-zero window.
 * A regular series (exact interval, a constant or slowly changing value)
 * costs one or two bits per timestamp and a few per value. Appends and
 * reads are bounds-checked on the bit count: a decoder handed arbitrary
 * bytes stops, it never reads past them (tests/fuzz/fuzz_series_chunk.c).
 */
#ifndef SERIES_CHUNK_H
#define SERIES_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIES_CHUNK_SAMPLES 120       /* a chunk is closed after this many */

struct series_chunk {
    uint8_t *data;
    size_t bits;                       /* written */
    size_t cap;                        /* bytes allocated */
    uint32_t n;                        /* samples */
    int64_t mint, maxt;
    /* the writer's state */
    int64_t last_t, last_delta;
    uint64_t last_v;
    uint8_t leading, trailing;         /* the previous XOR window (leading 0xff: none yet) */
};

/* Appends (t, v bits) after the chunk's last sample (t >= last_t is the
 * caller's check). 0, or -1 when memory ran out (the chunk is unchanged).
 * *grown is the change in allocated bytes. */
int series_chunk_append(struct series_chunk *c, int64_t t, uint64_t v, long *grown);
/* Frees spare capacity of a closed chunk; the change in bytes. */
long series_chunk_shrink(struct series_chunk *c);
void series_chunk_free(struct series_chunk *c);

/* A reader over bytes (a chunk's, or anything: it stops at the end). */
struct series_chunk_reader {
    const uint8_t *data;
    size_t bits, pos;
    uint32_t n, i;
    int64_t t, delta;
    uint64_t v;
    uint8_t leading, trailing;
};

void series_chunk_reader_init(struct series_chunk_reader *r, const uint8_t *data, size_t bits, uint32_t n);
/* The next sample: true, or false at the end or on a malformed stream. */
bool series_chunk_next(struct series_chunk_reader *r, int64_t *t, uint64_t *v);

#endif
