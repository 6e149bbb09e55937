/*
 * model/sketch: a mergeable latency distribution with a bounded relative
 * error (the DDSketch idea: logarithmic buckets, so every quantile it
 * answers is within SKETCH_RELATIVE_ERROR of a value that was added).
 * Rollups keep one per check and minute or hour; merging two sketches is
 * exact, so an hour is its minutes merged and 90 days are their hours
 * merged, with the same error bound as one sketch of every sample.
 * Written by hand: Debian packages no C library for DDSketch or t-digest.
 *
 * Values are milliseconds. Values at or below SKETCH_MIN_MS count in a zero
 * bucket (reported as 0); above SKETCH_MAX_MS they count in the top bucket.
 * Buckets are kept sparse and sorted: a minute of a 10 s check holds a
 * handful, a busy hour a few dozen; SKETCH_BINS_MAX bounds the worst case.
 * The text form (stored in the rollup tables) is bounded and parsed
 * strictly; tests/fuzz/fuzz_sketch.c fuzzes the parser.
 */
#ifndef MODEL_SKETCH_H
#define MODEL_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SKETCH_RELATIVE_ERROR 0.01
#define SKETCH_MIN_MS 0.001 /* 1 µs */
#define SKETCH_MAX_MS 3.6e6 /* an hour */
/* Buckets between SKETCH_MIN_MS and SKETCH_MAX_MS at 1%: ~1,100. */
#define SKETCH_BINS_MAX 1200
/* The longest text form: "v1;" + the zero count + one "index:count" per bucket. */
#define SKETCH_TEXT_MAX (16 + SKETCH_BINS_MAX * 24)

struct sketch_bin {
    int16_t index;   /* bucket i holds values in (gamma^(i-1), gamma^i] ms */
    uint32_t count;
};

struct sketch {
    uint64_t zero;           /* values <= SKETCH_MIN_MS */
    uint64_t count;          /* all values, zero bucket included */
    struct sketch_bin *bins; /* sorted by index; base_malloc'd; NULL when empty */
    uint16_t len, cap;
};

void sketch_init(struct sketch *s);
void sketch_free(struct sketch *s);
/* Empties s, keeping its memory. */
void sketch_clear(struct sketch *s);

/* Adds one value (ms; NaN and negatives count as 0). 0 or BASE_ERR_NOMEM
 * (s is then unchanged). */
int sketch_add(struct sketch *s, double ms);
/* Adds every value of `from` to s. 0 or BASE_ERR_NOMEM (s unchanged). */
int sketch_merge(struct sketch *s, const struct sketch *from);

/* The q-quantile (0 <= q <= 1) in ms, within the relative error of a
 * value added; 0 for an empty sketch. */
double sketch_quantile(const struct sketch *s, double q);

/* Writes the text form into out (n >= SKETCH_TEXT_MAX is always enough):
 * "v1;<zero>;<index>:<count>,<delta>:<count>,..." where each index after
 * the first is the difference from the previous one. Returns the length,
 * or 0 when it did not fit (out is then ""). An empty sketch is "v1;0;". */
size_t sketch_format(const struct sketch *s, char *out, size_t n);
/* Replaces s with the sketch text[0..len) describes. 0, BASE_ERR_INVALID for
 * anything but the exact form sketch_format writes (indexes out of range
 * or not increasing, counts of zero, totals past 2^32 per bucket, more than
 * SKETCH_BINS_MAX buckets, trailing bytes), or BASE_ERR_NOMEM; s is empty
 * after a failure. */
int sketch_parse(struct sketch *s, const char *text, size_t len);

#endif
