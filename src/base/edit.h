/*
 * base/edit: Levenshtein distance between two short words, for the "did
 * you mean" hints of the config loader and the request validator. Each
 * caller keeps its own rule for what counts as close.
 */
#ifndef BASE_EDIT_H
#define BASE_EDIT_H

#include <stddef.h>

#define BASE_EDIT_MAX 64  /* longer words are never compared */

/* Edits (insert, delete, replace a byte) from a to b; SIZE_MAX when either
 * is longer than BASE_EDIT_MAX bytes. */
size_t base_edit_distance(const char *a, const char *b);

#endif
