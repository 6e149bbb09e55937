/*
 * probe/dns_answer: what a DNS response says, read with c-ares' own
 * parsers (ares_parse_*_reply; only the 12-byte header's counts are read
 * here), as the canonical answer strings `expect` is matched against, and
 * the matching itself. The response comes from the network: every length
 * is checked, every answer and the whole list are capped. No I/O.
 */
#ifndef PROBE_DNS_ANSWER_H
#define PROBE_DNS_ANSWER_H

#include "probe/dns.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBE_DNS_ANSWERS_MAX 64        /* answers kept */
#define PROBE_DNS_ANSWER_BYTES 8192     /* their text, NULs included */

struct probe_dns_answer {
    bool has_header;                    /* the response had a whole header */
    unsigned rcode;                     /* from the header */
    unsigned answer_rrs, authority_rrs, additional_rrs;
    size_t n;                           /* answers kept */
    size_t dropped;                     /* answers past the caps */
    const char *items[PROBE_DNS_ANSWERS_MAX]; /* into text */
    size_t used;
    char text[PROBE_DNS_ANSWER_BYTES];
};

/* Reads the header counts of abuf[0..alen) (when alen >= 12), then the
 * answers of record r with c-ares' parser into a (reset first): A/AAAA as
 * inet_ntop text, CNAME/NS as host names and MX as "10 host" (lower case,
 * without a trailing dot), TXT as each record's strings joined. Returns an
 * ARES_* status: ARES_SUCCESS with at least one answer, ARES_ENODATA when
 * the response holds none of that type, or c-ares' parse error. */
int probe_dns_answer_parse(enum probe_dns_record r, const unsigned char *abuf, size_t alen,
                           struct probe_dns_answer *a);

/* Whether `want` (an expect entry valid for r) is among a's answers:
 * addresses compared as addresses ("::1" matches "0::1"), names without
 * case and trailing dot, MX as "PREF HOST" or just the host, TXT exactly. */
bool probe_dns_answer_has(const struct probe_dns_answer *a, enum probe_dns_record r, const char *want);

/* The answers as "a, b, c" (and " and N more" past the caps), escaped with
 * probe_escape and cut to fit n bytes; "nothing" without answers. */
void probe_dns_answer_list(const struct probe_dns_answer *a, char *out, size_t n);

#endif
