/*
 * conf/interp: environment interpolation in configuration values
 * (docs/api.md, Configuration files): ${VAR}, ${VAR:-default} and $$ for a literal '$'. Pure text in, text
 * out; reads the environment with getenv and nothing else. Error messages
 * name variables but never contain their values (they may be secrets).
 */
#ifndef CONF_INTERP_H
#define CONF_INTERP_H

#include "base/arena.h"

#include <stddef.h>

/* Longest value an expansion may produce. */
#define CONF_INTERP_MAX (16u * 1024 * 1024)
/* Longest variable name accepted inside ${...}. */
#define CONF_INTERP_NAME_MAX 128

/* Expands s[0..n) into a NUL-terminated copy allocated in arena `a`
 * (*out, length *out_len; both owned by the arena). ${VAR:-default} uses the
 * default when VAR is unset or empty; ${VAR} with VAR unset is an error; a
 * '$' not followed by '{' or '$' is kept as is. Returns 0, BASE_ERR_NOMEM, or
 * BASE_ERR_INVALID with a message (variable names only, no values) in
 * err[0..errn). *expanded (may be NULL) tells whether any ${...} was seen. */
int conf_interp_expand(struct base_arena *a, const char *s, size_t n, char **out,
                       size_t *out_len, int *expanded, char *err, size_t errn);

#endif
