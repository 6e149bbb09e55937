/*
 * base/err: opshub's error codes (0 ok, negative on failure, one string
 * table) and the person-readable error list that parsers fill: each entry
 * names a place (FILE:LINE:COL or a JSON field path) and a message. Parsers
 * collect every error they find, not only the first.
 */
#ifndef BASE_ERR_H
#define BASE_ERR_H

#include <stdio.h>
#include <stddef.h>

#if defined(__GNUC__)
#define WARN_UNUSED __attribute__((warn_unused_result))
#define BASE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WARN_UNUSED
#define BASE_PRINTF(a, b)
#endif

enum base_err_code {
    BASE_OK = 0,
    BASE_ERR_NOMEM = -1,
    BASE_ERR_TOO_BIG = -2,
    BASE_ERR_INVALID = -3,
    BASE_ERR_NOT_FOUND = -4,
    BASE_ERR_IO = -5,
    BASE_ERR_TIMEOUT = -6,
    BASE_ERR_BUSY = -7,
    BASE_ERR_UNAVAILABLE = -8,
    BASE_ERR_EXISTS = -9,
    BASE_ERR_CANCELED = -10,
};

/* Static name of a code ("out of memory", ...). Never NULL. */
const char *base_strerror(int code);

#define BASE_ERROR_MSG_MAX 320

struct base_error {
    char *file;     /* owned; NULL when the error has no file */
    int line, col;  /* 1-based; 0 when unknown */
    char *path;     /* owned; JSON/YAML field path ("checks[2].url"), may be NULL */
    char msg[BASE_ERROR_MSG_MAX];
};

struct base_errors {
    struct base_error *items;
    size_t len, cap;
    size_t max;     /* further errors are counted in `dropped`, not stored */
    size_t dropped;
};

/* Initialises an empty list keeping at most `max` errors (0 = 1000). */
void base_errors_init(struct base_errors *e, size_t max);
void base_errors_free(struct base_errors *e);
/* Appends one error; file and path are copied (either may be NULL). Returns
 * 0, or BASE_ERR_NOMEM (the error is then counted as dropped). */
int base_errors_add(struct base_errors *e, const char *file, int line, int col,
                    const char *path, const char *fmt, ...) BASE_PRINTF(6, 7);
/* Prints "FILE:LINE:COL: message" (or "path: message") lines to `out`. */
void base_errors_print(const struct base_errors *e, FILE *out);
/* Formats one error into buf ("FILE:LINE:COL: message"); returns buf. */
char *base_error_format(const struct base_error *err, char *buf, size_t n);

#endif
