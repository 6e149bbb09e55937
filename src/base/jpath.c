/*
 * base/jpath: JSON paths for error messages (see jpath.h). Pure string
 * work on a caller's fixed buffer; never reads past a NUL.
 */
#include "base/jpath.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void base_jpath_append(struct base_jpath *p, const char *s, size_t max)
{
    size_t i = 0;
    while (s[i] && i < max) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        for (size_t k = 1; k < n; k++)
            if (!s[i + k])
                n = k; /* malformed tail: never read past the NUL */
        bool control = c < 0x20 || c == 0x7F ||
                       (c == 0xC2 && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F);
        size_t out = control ? 1 : n;
        if (i + n > max || p->len + out >= sizeof(p->buf))
            break;
        if (control)
            p->buf[p->len] = '?';
        else
            memcpy(p->buf + p->len, s + i, n);
        p->len += out;
        i += n;
    }
    p->buf[p->len] = '\0';
}

void base_jpath_key(struct base_jpath *p, const char *key)
{
    if (p->len)
        base_jpath_append(p, ".", 1);
    base_jpath_append(p, key, BASE_JPATH_KEY_SHOWN);
}

void base_jpath_index(struct base_jpath *p, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof(idx), "[%zu]", i);
    base_jpath_append(p, idx, sizeof(idx));
}

void base_jpath_restore(struct base_jpath *p, size_t len)
{
    p->len = len;
    p->buf[len] = '\0';
}
