/*
 * model/sample: names and helpers for samples.
 */
#include "model/sample.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sample_result_name(enum sample_result r)
{
    switch (r) {
    case SAMPLE_UP: return "up";
    case SAMPLE_DEGRADED: return "degraded";
    case SAMPLE_DOWN: return "down";
    }
    return "unknown";
}

int sample_result_parse(const char *s)
{
    if (strcmp(s, "up") == 0)
        return SAMPLE_UP;
    if (strcmp(s, "degraded") == 0)
        return SAMPLE_DEGRADED;
    if (strcmp(s, "down") == 0)
        return SAMPLE_DOWN;
    return -1;
}

void sample_init(struct sample *s, int64_t ts_ms)
{
    memset(s, 0, sizeof(*s));
    s->ts_ms = ts_ms;
    s->result = SAMPLE_UP;
    s->dns_ms = s->connect_ms = s->tls_ms = s->ttfb_ms = -1;
}

void sample_set_error(struct sample *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
}
