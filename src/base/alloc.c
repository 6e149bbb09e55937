/*
 * base/alloc: allocation hooks with failure injection for tests. Owns nothing
 * but one atomic countdown; production builds pay one relaxed atomic load.
 */
#include "base/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;
static atomic_long alloc_count;

static int should_fail(void)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    if (atomic_load_explicit(&fail_countdown, memory_order_relaxed) < 0)
        return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 0;
}

long base_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
    return atomic_exchange(&alloc_count, 0);
}

void *base_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *base_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *base_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void base_free(void *p)
{
    free(p);
}

char *base_strndup(const char *s, size_t n)
{
    char *d = base_malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *base_strdup(const char *s)
{
    return s ? base_strndup(s, strlen(s)) : NULL;
}
