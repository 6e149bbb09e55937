/*
 * base/map: linear probing with tombstones, FNV-1a hashes, grows at 70%.
 */
#include "base/map.h"

#include "base/alloc.h"

#include <string.h>

static const char tombstone[1];
#define BASE_MAP_TOMBSTONE tombstone

uint64_t base_map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t base_hash_more(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0xff;
    return h * 1099511628211ULL;
}

void base_map_init(struct base_map *m)
{
    memset(m, 0, sizeof(*m));
}

void base_map_free(struct base_map *m)
{
    base_free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct base_map_slot *find(const struct base_map *m, const char *key, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct base_map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != BASE_MAP_TOMBSTONE && s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
}

static int grow(struct base_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    if (m->len * 10 < m->cap * 4 && m->cap)
        cap = m->cap; /* mostly tombstones: rehash at the same size */
    struct base_map_slot *slots = base_calloc(cap, sizeof(*slots));
    if (!slots)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct base_map_slot *s = &m->slots[i];
        if (!s->key || s->key == BASE_MAP_TOMBSTONE)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    base_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->len;
    return 0;
}

int base_map_put(struct base_map *m, const char *key, void *value)
{
    uint64_t h = base_map_hash(key);
    struct base_map_slot *s = find(m, key, h);
    if (s) {
        s->key = key;
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 10 > m->cap * 7) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != BASE_MAP_TOMBSTONE)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->slots[i].hash = h;
    m->len++;
    return 0;
}

void *base_map_get(const struct base_map *m, const char *key)
{
    struct base_map_slot *s = find(m, key, base_map_hash(key));
    return s ? s->value : NULL;
}

void *base_map_remove(struct base_map *m, const char *key)
{
    struct base_map_slot *s = find(m, key, base_map_hash(key));
    if (!s)
        return NULL;
    void *v = s->value;
    s->key = BASE_MAP_TOMBSTONE;
    s->value = NULL;
    m->len--;
    return v;
}

bool base_map_next(const struct base_map *m, size_t *pos, const char **key, void **value)
{
    for (size_t i = *pos; i < m->cap; i++) {
        const struct base_map_slot *s = &m->slots[i];
        if (s->key && s->key != BASE_MAP_TOMBSTONE) {
            *pos = i + 1;
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return true;
        }
    }
    *pos = m->cap;
    return false;
}
