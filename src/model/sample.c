/*
 * model/sample: names and helpers for samples.
 */
#include "model/sample.h"

#include <math.h>
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
}

void sample_set_error(struct sample *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
}

bool sample_value_name_ok(const char *name)
{
    if (!name || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return false;
    size_t i = 1;
    for (; name[i]; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return false;
    return i < SAMPLE_VALUE_NAME_MAX;
}

int sample_value_set(struct sample *s, const char *name, double v)
{
    if (!sample_value_name_ok(name) || !isfinite(v))
        return -1;
    for (uint32_t i = 0; i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        if (strcmp(s->values[i].name, name) == 0) {
            s->values[i].value = v;
            return 0;
        }
    }
    if (s->n_values >= SAMPLE_VALUES_MAX)
        return -1;
    struct sample_value *sv = &s->values[s->n_values++];
    snprintf(sv->name, sizeof(sv->name), "%s", name);
    sv->value = v;
    return 0;
}

bool sample_value_get(const struct sample *s, const char *name, double *v)
{
    for (uint32_t i = 0; i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        if (strcmp(s->values[i].name, name) == 0) {
            *v = s->values[i].value;
            return true;
        }
    }
    return false;
}
