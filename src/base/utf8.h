/*
 * base/utf8: reading UTF-8 strictly (RFC 3629), for everything that writes
 * client text where it must stay valid: JSON strings, log lines, error
 * messages. A sequence is well-formed only in its shortest form, outside
 * the surrogates U+D800..U+DFFF and at most U+10FFFF. Owns nothing.
 */
#ifndef BASE_UTF8_H
#define BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER, the stand-in for a byte that is not part of
 * a well-formed sequence. */
#define BASE_UTF8_REPLACEMENT "\xEF\xBF\xBD"
#define BASE_UTF8_REPLACEMENT_LEN 3

/* The length (1..4) of the well-formed sequence starting s[0..n), its code
 * point in *cp (may be NULL); 0 when s does not start with one: a stray
 * continuation byte, an overlong form, a surrogate, a value past U+10FFFF,
 * a byte that never starts a sequence, or a sequence cut short by n. n must
 * be at least 1. */
size_t base_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* True for the control characters a terminal acts on: C0 (U+0000..U+001F),
 * DEL (U+007F) and C1 (U+0080..U+009F). */
bool base_utf8_is_control(uint32_t cp);

#endif
