/*
 * base/jpath: the JSON path of a value inside a request or API object, as
 * error messages show it: members joined with '.', array items as [i]
 * ("expect.status[1]", "labels.team"). Keys come from clients, so each is
 * cut to 64 bytes at a character boundary and control characters (C0, DEL,
 * C1) are shown as '?'. A fixed buffer; appending past it stops quietly.
 * Shared by http/body (request bodies) and conf/json (API objects).
 */
#ifndef BASE_JPATH_H
#define BASE_JPATH_H

#include <stddef.h>

#define BASE_JPATH_MAX 192        /* bytes, NUL included */
#define BASE_JPATH_KEY_SHOWN 64   /* bytes of one key shown */

struct base_jpath {
    char buf[BASE_JPATH_MAX];
    size_t len;
};

/* Appends up to `max` bytes of s (NUL-terminated), as described above. */
void base_jpath_append(struct base_jpath *p, const char *s, size_t max);
/* ".key" (no dot at the start), the key cut to BASE_JPATH_KEY_SHOWN bytes. */
void base_jpath_key(struct base_jpath *p, const char *key);
/* "[i]". */
void base_jpath_index(struct base_jpath *p, size_t i);
/* Back to an earlier length (from p->len before a descent). */
void base_jpath_restore(struct base_jpath *p, size_t len);

#endif
