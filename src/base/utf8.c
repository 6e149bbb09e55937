/*
 * base/utf8: strict UTF-8 decoding of one sequence at a time, by the table
 * of well-formed byte sequences in Unicode's chapter 3 (Table 3-7): the
 * second byte's range depends on the first, which is what rules out
 * overlong forms, surrogates and values past U+10FFFF.
 */
#include "base/utf8.h"

size_t base_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    uint32_t v;
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0Fu;
        if (c == 0xE0)
            lo = 0xA0; /* below: overlong */
        else if (c == 0xED)
            hi = 0x9F; /* above: surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07u;
        if (c == 0xF0)
            lo = 0x90; /* below: overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above: past U+10FFFF */
    } else {
        return 0; /* 0x80..0xC1 (continuation, overlong lead), 0xF5..0xFF */
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    v = (v << 6) | (p[1] & 0x3Fu);
    for (size_t i = 2; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    if (cp)
        *cp = v;
    return len;
}

bool base_utf8_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}
