/*
 * model/scrape: a batch of scraped series in one arena.
 */
#include "model/scrape.h"

#include "base/alloc.h"
#include "base/err.h"

#include <string.h>

struct scrape_batch *scrape_batch_new(int64_t ts_ms)
{
    struct scrape_batch *b = base_calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->ts_ms = ts_ms;
    base_arena_init(&b->arena, 64 * 1024);
    return b;
}

int scrape_batch_add(struct scrape_batch *b, const char *name, const struct scrape_label *labels, size_t n_labels,
                     enum scrape_type type, double value, int64_t ts_ms)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct scrape_series *s = base_realloc(b->series, cap * sizeof(*s));
        if (!s)
            return BASE_ERR_NOMEM;
        b->series = s;
        b->cap = cap;
    }
    struct scrape_label *ls = n_labels ? base_arena_alloc(&b->arena, n_labels * sizeof(*ls)) : NULL;
    const char *nm = base_arena_strdup(&b->arena, name);
    if ((n_labels && !ls) || !nm)
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < n_labels; i++) {
        /* insertion by name: at most a few dozen labels */
        struct scrape_label l = {base_arena_strdup(&b->arena, labels[i].name),
                                 base_arena_strdup(&b->arena, labels[i].value)};
        if (!l.name || !l.value)
            return BASE_ERR_NOMEM;
        size_t j = i;
        while (j > 0 && strcmp(ls[j - 1].name, l.name) > 0) {
            ls[j] = ls[j - 1];
            j--;
        }
        ls[j] = l;
    }
    b->series[b->n++] = (struct scrape_series){
        .name = nm, .labels = ls, .n_labels = (uint32_t)n_labels, .type = type, .value = value,
        .ts_ms = ts_ms >= 0 ? ts_ms : b->ts_ms,
        .ts_explicit = ts_ms >= 0,
    };
    return 0;
}

void scrape_batch_destroy(struct scrape_batch *b)
{
    if (!b)
        return;
    base_free(b->series);
    base_arena_free(&b->arena);
    base_free(b);
}
