/*
 * base/err: error code names and the collected-errors list used by parsers.
 */
#include "base/err.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <string.h>

const char *base_strerror(int code)
{
    switch (code) {
    case BASE_OK: return "ok";
    case BASE_ERR_NOMEM: return "out of memory";
    case BASE_ERR_TOO_BIG: return "too big";
    case BASE_ERR_INVALID: return "invalid";
    case BASE_ERR_NOT_FOUND: return "not found";
    case BASE_ERR_IO: return "i/o error";
    case BASE_ERR_TIMEOUT: return "timed out";
    case BASE_ERR_BUSY: return "busy";
    case BASE_ERR_UNAVAILABLE: return "unavailable";
    case BASE_ERR_EXISTS: return "already exists";
    case BASE_ERR_CANCELED: return "canceled";
    default: return "unknown error";
    }
}

void base_errors_init(struct base_errors *e, size_t max)
{
    memset(e, 0, sizeof(*e));
    e->max = max ? max : 1000;
}

void base_errors_free(struct base_errors *e)
{
    for (size_t i = 0; i < e->len; i++) {
        base_free(e->items[i].file);
        base_free(e->items[i].path);
    }
    base_free(e->items);
    memset(e, 0, sizeof(*e));
}

int base_errors_add(struct base_errors *e, const char *file, int line, int col,
                    const char *path, const char *fmt, ...)
{
    if (e->len >= e->max) {
        e->dropped++;
        return 0;
    }
    if (e->len == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        struct base_error *items = base_realloc(e->items, cap * sizeof(*items));
        if (!items) {
            e->dropped++;
            return BASE_ERR_NOMEM;
        }
        e->items = items;
        e->cap = cap;
    }
    struct base_error *err = &e->items[e->len];
    memset(err, 0, sizeof(*err));
    err->line = line;
    err->col = col;
    if ((file && !(err->file = base_strdup(file))) || (path && !(err->path = base_strdup(path)))) {
        base_free(err->file);
        e->dropped++;
        return BASE_ERR_NOMEM;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    e->len++;
    return 0;
}

char *base_error_format(const struct base_error *err, char *buf, size_t n)
{
    if (err->file && err->line > 0)
        snprintf(buf, n, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
    else if (err->file)
        snprintf(buf, n, "%s: %s", err->file, err->msg);
    else if (err->path)
        snprintf(buf, n, "%s: %s", err->path, err->msg);
    else
        snprintf(buf, n, "%s", err->msg);
    return buf;
}

void base_errors_print(const struct base_errors *e, FILE *out)
{
    char line[BASE_ERROR_MSG_MAX + 512];
    for (size_t i = 0; i < e->len; i++)
        fprintf(out, "%s\n", base_error_format(&e->items[i], line, sizeof(line)));
    if (e->dropped)
        fprintf(out, "(%zu more errors not shown)\n", e->dropped);
}
