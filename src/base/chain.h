/*
 * base/chain: a byte string kept as a list of fixed-size pieces, for
 * outputs too big to move around in one buffer (an 8-35 MB /metrics page):
 * appending never copies what is already there (no realloc of megabytes
 * inside one loop turn), two chains join by moving piece pointers, and the
 * pieces can be written out as they are (writev). Bounded like base_buf:
 * the total may not pass `max`. Not thread-safe.
 */
#ifndef BASE_CHAIN_H
#define BASE_CHAIN_H

#include "base/err.h"

#include <stddef.h>

struct base_chain_piece {
    char *data;               /* base_malloc'd, piece_size bytes */
    size_t len;
};

struct base_chain {
    struct base_chain_piece *pieces;
    size_t n, cap;
    size_t piece_size;
    size_t total, max;
};

/* piece_size > 0; nothing allocated until the first append. */
void base_chain_init(struct base_chain *c, size_t piece_size, size_t max);
/* Frees every piece; the chain is empty and reusable. */
void base_chain_free(struct base_chain *c);
/* Copies n bytes at the end. 0, BASE_ERR_TOO_BIG (total would pass max),
 * BASE_ERR_NOMEM; on error the chain is unchanged. */
int base_chain_append(struct base_chain *c, const void *p, size_t n) WARN_UNUSED;
/* Moves every piece of src to the end of dst without copying bytes (the
 * last piece of dst may stay partly filled); src is left empty. Both must
 * have the same piece_size. 0, BASE_ERR_TOO_BIG, BASE_ERR_INVALID (piece
 * sizes differ), BASE_ERR_NOMEM (then nothing moved). */
int base_chain_splice(struct base_chain *dst, struct base_chain *src) WARN_UNUSED;

#endif
