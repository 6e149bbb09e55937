/*
 * model/sample: names and helpers for samples.
 */
#include "model/sample.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* ---- value names ----
 * Names are kept once per process in an append-only table: names[id] is
 * written (under names_mu) before the id is published in a hash slot with
 * a release store, so lookups read without the lock. The slots outnumber
 * the names two to one and a name is never removed, so probing always ends
 * at the name or at an empty slot. */

#define NAME_SLOTS (2 * SAMPLE_NAMES_MAX)

static char names[SAMPLE_NAMES_MAX][SAMPLE_VALUE_NAME_MAX];
static _Atomic uint16_t name_slots[NAME_SLOTS]; /* id + 1; 0 = empty */
static _Atomic uint32_t names_known;
static _Atomic uint64_t names_refused;
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return h;
}

/* The id of name, or -1; *slot is where probing stopped. */
static int name_find(const char *name, uint32_t *slot)
{
    uint32_t i = name_hash(name) % NAME_SLOTS;
    for (;;) {
        uint16_t v = atomic_load_explicit(&name_slots[i], memory_order_acquire);
        if (v == 0) {
            *slot = i;
            return -1;
        }
        if (strcmp(names[v - 1], name) == 0)
            return v - 1;
        i = (i + 1) % NAME_SLOTS;
    }
}

/* The id of a valid name, added if new; -1 when the table is full. */
static int name_intern(const char *name)
{
    uint32_t slot;
    int id = name_find(name, &slot);
    if (id >= 0)
        return id;
    pthread_mutex_lock(&names_mu);
    id = name_find(name, &slot); /* another thread may have added it */
    uint32_t n = atomic_load_explicit(&names_known, memory_order_relaxed);
    if (id < 0 && n < SAMPLE_NAMES_MAX) {
        id = (int)n;
        memcpy(names[id], name, strlen(name) + 1);
        atomic_store_explicit(&names_known, n + 1, memory_order_release);
        atomic_store_explicit(&name_slots[slot], (uint16_t)(id + 1), memory_order_release);
    }
    pthread_mutex_unlock(&names_mu);
    if (id < 0)
        atomic_fetch_add_explicit(&names_refused, 1, memory_order_relaxed);
    return id;
}

const char *sample_value_name(const struct sample_value *v)
{
    return v->name < atomic_load_explicit(&names_known, memory_order_acquire) ? names[v->name] : "";
}

void sample_names_stats(uint32_t *known, uint64_t *refused)
{
    *known = atomic_load_explicit(&names_known, memory_order_relaxed);
    *refused = atomic_load_explicit(&names_refused, memory_order_relaxed);
}

int sample_value_set(struct sample *s, const char *name, double v)
{
    if (!sample_value_name_ok(name) || !isfinite(v))
        return -1;
    int id = name_intern(name);
    if (id < 0)
        return -1;
    for (uint32_t i = 0; i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        if (s->values[i].name == id) {
            s->values[i].value = v;
            return 0;
        }
    }
    if (s->n_values >= SAMPLE_VALUES_MAX)
        return -1;
    s->values[s->n_values++] = (struct sample_value){.value = v, .name = (uint16_t)id};
    return 0;
}

bool sample_value_get(const struct sample *s, const char *name, double *v)
{
    uint32_t slot;
    int id = name && sample_value_name_ok(name) ? name_find(name, &slot) : -1;
    for (uint32_t i = 0; id >= 0 && i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        if (s->values[i].name == id) {
            *v = s->values[i].value;
            return true;
        }
    }
    return false;
}
