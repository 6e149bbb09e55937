/*
 * model/sample: the result of one probe run: result, latency, a
 * type-specific code, an error text and a bounded list of named numeric
 * values (docs/checks.md lists each type's). A fixed-size value type with
 * no pointers, so it is copied across the store's thread and into batches
 * without ownership questions. Lower than every module that produces or
 * consumes samples (probe, sched, store, http).
 */
#ifndef MODEL_SAMPLE_H
#define MODEL_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAMPLE_ERROR_MAX 240
#define SAMPLE_CHECK_ID_MAX 64 /* ids are [a-z0-9][a-z0-9._-]{0,62} */
/* Named values per sample, and the longest name + NUL. Names follow the
 * Prometheus conventions: [a-z_][a-z0-9_]*, base units as suffixes
 * (_seconds, _bytes, _ratio, _total). A value holds its name as a number:
 * the process keeps each distinct name once (at most SAMPLE_NAMES_MAX of
 * them, which every type's declared names and any plugin's own fit in many
 * times over), so a sample stays small and still has no pointers. */
#define SAMPLE_VALUES_MAX 12
#define SAMPLE_VALUE_NAME_MAX 32
#define SAMPLE_NAMES_MAX 1024

enum sample_result {
    SAMPLE_UP = 0,
    SAMPLE_DEGRADED = 1,
    SAMPLE_DOWN = 2,
};

struct sample_value {
    double value;              /* always finite */
    uint16_t name;             /* sample_value_name() gives the text */
};

struct sample {
    int64_t ts_ms;             /* unix ms when the probe started */
    enum sample_result result;
    double latency_ms;         /* total time */
    int code;                  /* HTTP status, or the type's own code; 0 when none */
    uint32_t n_values;
    struct sample_value values[SAMPLE_VALUES_MAX];
    char error[SAMPLE_ERROR_MAX]; /* "" when up */
};

/* A sample of a given check, as queued for storage and returned by queries. */
struct sample_record {
    char check_id[SAMPLE_CHECK_ID_MAX];
    struct sample s;
};

/* How many samples of a check in one hour were up (or degraded), of how
 * many: the store keeps these rollups so uptime survives a restart. */
struct sample_hours_row {
    char check_id[SAMPLE_CHECK_ID_MAX];
    int64_t hour;              /* unix ms / 3600000 */
    uint32_t up, total;
};

/* "up", "degraded", "down"; "unknown" for out-of-range values. */
const char *sample_result_name(enum sample_result r);
/* Inverse of sample_result_name; -1 when unknown. */
int sample_result_parse(const char *s);
/* result up, no values, error "", code 0, latency 0. */
void sample_init(struct sample *s, int64_t ts_ms);
/* printf into s->error, truncating safely. */
void sample_set_error(struct sample *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True for a valid value name: [a-z_][a-z0-9_]*, shorter than
 * SAMPLE_VALUE_NAME_MAX. */
bool sample_value_name_ok(const char *name);
/* Sets value `name` (replacing an earlier one of that name). Returns 0, or
 * -1 when the name is invalid, the value not finite, the list full or the
 * process already knows SAMPLE_NAMES_MAX other names (the sample is then
 * unchanged; sample_names_stats counts these). Any thread. */
int sample_value_set(struct sample *s, const char *name, double v);
/* The value named `name`: true and *v set, or false. */
bool sample_value_get(const struct sample *s, const char *name, double *v);
/* The text of a value's name; valid for the life of the process. */
const char *sample_value_name(const struct sample_value *v);
/* Distinct names known, and values refused because the table was full. */
void sample_names_stats(uint32_t *known, uint64_t *refused);

#endif
