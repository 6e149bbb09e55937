/*
 * model/sample: the result of one probe run (DESIGN §3.3). A fixed-size value
 * type with no pointers, so it can be copied across the store's worker thread
 * and into batches without ownership questions. Lower than every module that
 * produces or consumes samples (probe, sched, store, http).
 */
#ifndef MODEL_SAMPLE_H
#define MODEL_SAMPLE_H

#include <stdint.h>

#define SAMPLE_ERROR_MAX 240
#define SAMPLE_CHECK_ID_MAX 64 /* ids are [a-z0-9][a-z0-9._-]{0,62} */

enum sample_result {
    SAMPLE_UP = 0,
    SAMPLE_DEGRADED = 1,
    SAMPLE_DOWN = 2,
};

struct sample {
    int64_t ts_ms;             /* unix ms when the probe started */
    enum sample_result result;
    double latency_ms;         /* total time */
    int code;                  /* HTTP status; 0 when none (tcp, or no response) */
    /* Phase timings in ms from the start; negative when not applicable. */
    double dns_ms, connect_ms, tls_ms, ttfb_ms;
    char error[SAMPLE_ERROR_MAX]; /* "" when up */
};

/* A sample of a given check, as queued for storage and returned by queries. */
struct sample_record {
    char check_id[SAMPLE_CHECK_ID_MAX];
    struct sample s;
};

/* "up", "degraded", "down"; "unknown" for out-of-range values. */
const char *sample_result_name(enum sample_result r);
/* Inverse of sample_result_name; -1 when unknown. */
int sample_result_parse(const char *s);
/* Sets every timing to -1, error to "", code to 0. */
void sample_init(struct sample *s, int64_t ts_ms);
/* printf into s->error, truncating safely. */
void sample_set_error(struct sample *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
