/*
 * base/arena: a list of blocks; large requests get a block of their own.
 */
#include "base/arena.h"

#include "base/alloc.h"

#include <stdalign.h>
#include <string.h>

struct base_arena_block {
    struct base_arena_block *next;
    size_t used, size;
    alignas(16) unsigned char data[];
};

void base_arena_init(struct base_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
    a->total = 0;
}

void base_arena_free(struct base_arena *a)
{
    struct base_arena_block *b = a->head;
    while (b) {
        struct base_arena_block *next = b->next;
        base_free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *base_arena_alloc(struct base_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct base_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        b = base_malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->used = 0;
        b->size = size;
        /* A dedicated big block goes behind the head so the head keeps serving. */
        if (a->head && n > a->block_size) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *base_arena_calloc(struct base_arena *a, size_t n)
{
    void *p = base_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *base_arena_strndup(struct base_arena *a, const char *s, size_t n)
{
    char *d = base_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *base_arena_strdup(struct base_arena *a, const char *s)
{
    return s ? base_arena_strndup(a, s, strlen(s)) : NULL;
}
