/*
 * base/map: open-addressing hash map from NUL-terminated string keys to
 * pointers. Keys are borrowed: they must stay valid while in the map
 * (typically they point into the value). Not thread-safe.
 */
#ifndef BASE_MAP_H
#define BASE_MAP_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct base_map_slot {
    const char *key;  /* NULL = empty; BASE_MAP_TOMBSTONE = deleted */
    void *value;
    uint64_t hash;
};

struct base_map {
    struct base_map_slot *slots;
    size_t cap;       /* power of two */
    size_t len;       /* live entries */
    size_t used;      /* live + tombstones */
};

void base_map_init(struct base_map *m);
void base_map_free(struct base_map *m);
/* Inserts or replaces. 0 or BASE_ERR_NOMEM. */
int base_map_put(struct base_map *m, const char *key, void *value) WARN_UNUSED;
void *base_map_get(const struct base_map *m, const char *key);
/* Removes and returns the value, NULL when absent. */
void *base_map_remove(struct base_map *m, const char *key);
uint64_t base_map_hash(const char *s);
/* FNV-1a of a sequence of strings: feed each one with the previous result,
 * starting from BASE_HASH_SEED; a separator byte ends each string, so that
 * ("ab", "c") and ("a", "bc") differ. For label sets and fingerprints. */
#define BASE_HASH_SEED 14695981039346656037ULL
uint64_t base_hash_more(uint64_t h, const char *s);
/* Iteration in slot order: start with *pos = 0; true with the next live
 * entry (and *pos past it), false at the end. Removing the entry just
 * returned is allowed; any other change restarts nothing and may skip or
 * repeat entries. */
bool base_map_next(const struct base_map *m, size_t *pos, const char **key, void **value);

#endif
