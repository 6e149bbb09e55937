/*
 * base/alloc: every heap allocation in opshub goes through these hooks so that
 * tests can make the n-th allocation fail (curl's torture tests, SQLite's OOM
 * tests). Functions return NULL on failure and never abort: a monitor must
 * stay up when a probe response is huge. Thread-safe (the counter is atomic).
 */
#ifndef BASE_ALLOC_H
#define BASE_ALLOC_H

#include <stddef.h>

void *base_malloc(size_t n);
void *base_calloc(size_t count, size_t size);
void *base_realloc(void *p, size_t n);
void base_free(void *p);
/* Copies of a NUL-terminated string / of n bytes plus a NUL. Caller frees. */
char *base_strdup(const char *s);
char *base_strndup(const char *s, size_t n);

/* Test hook: the allocation `n` calls from now fails (0 = the next one);
 * a negative n disables injection. Returns the number of allocations made
 * since the last call, so a test can iterate over every failure point. */
long base_alloc_fail_after(long n);

#endif
