/*
 * base/log: structured log lines (timestamp, level, message, typed fields) as
 * one JSON object per line, or as readable text on a terminal. JSON lines
 * come in two shapes (base_log_set_keys): opshub's own keys, or the keys
 * other services log (timestamp, level, message, service, context, metadata).
 * The logger is the one process-wide sink, configured at start and on
 * reload by the app (like nginx's error log); each line is written with a
 * single fwrite so threads do not interleave. Secrets must never be passed
 * as field values: use base_log_redact_url for anything that may carry
 * credentials.
 */
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum base_log_level { BASE_LOG_DEBUG, BASE_LOG_INFO, BASE_LOG_WARN, BASE_LOG_ERROR, BASE_LOG_OFF };
enum base_log_format { BASE_LOG_FORMAT_JSON, BASE_LOG_FORMAT_TEXT };
/* The keys of a JSON line:
 * OPSHUB   {"ts":"2026-12-02T11:00:00.123Z","level":"info","msg":"request","method":"GET",...}
 * SERVICE  {"timestamp":"2026-12-02T11:00:00.123Z","level":"info","message":"request",
 *           "service":"opshub","context":"http","metadata":{"method":"GET",...}}
 * `context` is the folder of the source file that logged (src/http/api.c:
 * "http"; a file directly in src/: its name, "main"). A line cut at the
 * length limit ends with "truncated":true (inside metadata for SERVICE). */
enum base_log_keys { BASE_LOG_KEYS_OPSHUB, BASE_LOG_KEYS_SERVICE };
#define BASE_LOG_SERVICE_MAX 64 /* service names are cut to 63 bytes */

struct base_log_field {
    const char *key;
    char type;  /* 's' string, 'i' integer, 'n' number */
    const char *s;
    long long i;
    double n;
};

#define BASE_LOG_STR(k, v) ((struct base_log_field){(k), 's', (v), 0, 0})
#define BASE_LOG_INT(k, v) ((struct base_log_field){(k), 'i', NULL, (long long)(v), 0})
#define BASE_LOG_NUM(k, v) ((struct base_log_field){(k), 'n', NULL, 0, (double)(v)})

/* Sets level, format and stream (not owned). Defaults: info, json, stderr. */
void base_log_setup(enum base_log_level level, enum base_log_format format, FILE *out);
/* Sets the keys of JSON lines and the `service` value (copied; NULL or ""
 * means "opshub"). Default: BASE_LOG_KEYS_OPSHUB. Text lines do not change.
 * Thread-safe: a line being written uses either the old or the new setting. */
void base_log_set_keys(enum base_log_keys keys, const char *service);
/* The `context` of a line logged from source file `file` (__FILE__) into
 * buf: "src/http/api.c" -> "http", "src/main.c" -> "main"; "" for NULL.
 * Returns buf. */
const char *base_log_context_of(const char *file, char *buf, size_t n);
/* Batch mode: debug/info lines are kept (at most 64 KiB) until
 * base_log_flush, a warn/error line or the buffer filling up; turning it
 * off flushes. Thread-safe. */
void base_log_batch(bool on);
void base_log_flush(void);
enum base_log_level base_log_level_get(void);
/* "debug"/"info"/"warn"/"warning"/"error"/"off" -> level; -1 if unknown. */
int base_log_level_parse(const char *s);
const char *base_log_level_name(enum base_log_level level);

/* Writes one line; `src_file` is the caller's __FILE__ (its context) or
 * NULL (context "opshub"). The base_log_* macros pass it. */
void base_log_write_at(const char *src_file, enum base_log_level level, const char *msg,
                       const struct base_log_field *fields, size_t n);
void base_log_write(enum base_log_level level, const char *msg,
                    const struct base_log_field *fields, size_t n);

#define BASE_LOG_(level, msg, ...) do { \
        if ((level) >= base_log_level_get()) { \
            const struct base_log_field f_[] = { {0}, __VA_ARGS__ }; \
            base_log_write_at(__FILE__, (level), (msg), f_ + 1, sizeof(f_) / sizeof(f_[0]) - 1); \
        } \
    } while (0)
#define base_log_debug(msg, ...) BASE_LOG_(BASE_LOG_DEBUG, msg, __VA_ARGS__)
#define base_log_info(msg, ...) BASE_LOG_(BASE_LOG_INFO, msg, __VA_ARGS__)
#define base_log_warn(msg, ...) BASE_LOG_(BASE_LOG_WARN, msg, __VA_ARGS__)
#define base_log_error(msg, ...) BASE_LOG_(BASE_LOG_ERROR, msg, __VA_ARGS__)

/* Copies url into out with any userinfo password and the values of query
 * parameters named like password/token/secret/key replaced by "***". */
char *base_log_redact_url(const char *url, char *out, size_t n);

#endif
