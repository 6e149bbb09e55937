/*
 * base/chain: pieces, appended and spliced.
 */
#include "base/chain.h"

#include "base/alloc.h"

#include <string.h>

void base_chain_init(struct base_chain *c, size_t piece_size, size_t max)
{
    memset(c, 0, sizeof(*c));
    c->piece_size = piece_size ? piece_size : 4096;
    c->max = max;
}

void base_chain_free(struct base_chain *c)
{
    for (size_t i = 0; i < c->n; i++)
        base_free(c->pieces[i].data);
    base_free(c->pieces);
    c->pieces = NULL;
    c->n = c->cap = 0;
    c->total = 0;
}

static int reserve(struct base_chain *c, size_t extra)
{
    if (c->n + extra <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : 8;
    while (cap < c->n + extra)
        cap *= 2;
    struct base_chain_piece *p = base_realloc(c->pieces, cap * sizeof(*p));
    if (!p)
        return BASE_ERR_NOMEM;
    c->pieces = p;
    c->cap = cap;
    return 0;
}

int base_chain_append(struct base_chain *c, const void *p, size_t n)
{
    if (n > c->max - c->total)
        return BASE_ERR_TOO_BIG;
    size_t room = c->n ? c->piece_size - c->pieces[c->n - 1].len : 0;
    size_t more = n > room ? (n - room + c->piece_size - 1) / c->piece_size : 0;
    if (reserve(c, more))
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < more; i++) {
        char *d = base_malloc(c->piece_size);
        if (!d) {
            /* nothing written yet: drop the pieces added for this append */
            for (size_t k = 0; k < i; k++)
                base_free(c->pieces[--c->n].data);
            return BASE_ERR_NOMEM;
        }
        c->pieces[c->n].data = d;
        c->pieces[c->n].len = 0;
        c->n++;
    }
    const char *src = p;
    size_t i = c->n - more - (room ? 1 : 0);
    while (n) {
        struct base_chain_piece *pc = &c->pieces[i++];
        size_t k = c->piece_size - pc->len < n ? c->piece_size - pc->len : n;
        memcpy(pc->data + pc->len, src, k);
        pc->len += k;
        c->total += k;
        src += k;
        n -= k;
    }
    return 0;
}

int base_chain_splice(struct base_chain *dst, struct base_chain *src)
{
    if (src->n && src->piece_size != dst->piece_size)
        return BASE_ERR_INVALID;
    if (src->total > dst->max - dst->total)
        return BASE_ERR_TOO_BIG;
    if (reserve(dst, src->n))
        return BASE_ERR_NOMEM;
    memcpy(dst->pieces + dst->n, src->pieces, src->n * sizeof(*src->pieces));
    dst->n += src->n;
    dst->total += src->total;
    base_free(src->pieces);
    src->pieces = NULL;
    src->n = src->cap = 0;
    src->total = 0;
    return 0;
}
