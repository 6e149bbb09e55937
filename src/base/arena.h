/*
 * base/arena: bump allocator for bounded lifetimes (one config parse, one
 * HTTP request): many small allocations, released in one call (h2o's
 * h2o_mem_pool_t, nginx's ngx_pool_t). Not thread-safe; one owner.
 */
#ifndef BASE_ARENA_H
#define BASE_ARENA_H

#include <stddef.h>

struct base_arena_block;

struct base_arena {
    struct base_arena_block *head;
    size_t block_size;
    size_t total;  /* bytes handed out, for limits and metrics */
};

/* block_size 0 picks 4 KiB. */
void base_arena_init(struct base_arena *a, size_t block_size);
/* Frees every block; pointers handed out become invalid. */
void base_arena_free(struct base_arena *a);
/* Returns 16-byte aligned memory owned by the arena, or NULL on OOM. */
void *base_arena_alloc(struct base_arena *a, size_t n);
void *base_arena_calloc(struct base_arena *a, size_t n);
char *base_arena_strdup(struct base_arena *a, const char *s);
char *base_arena_strndup(struct base_arena *a, const char *s, size_t n);

#endif
