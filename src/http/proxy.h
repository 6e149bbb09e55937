/*
 * http/proxy: the client address of a request that came through trusted
 * reverse proxies (server.trusted_proxies). Reads `Forwarded` (RFC 7239,
 * the for= parameters) and `X-Forwarded-For` only when the TCP peer is
 * trusted, and walks them from the right past trusted hops. Pure: no
 * allocation, no state; every input is bounded (HTTP_PROXY_HOPS_MAX).
 */
#ifndef HTTP_PROXY_H
#define HTTP_PROXY_H

#include "base/cidr.h"
#include "http/server.h"

#include <stddef.h>

/* More hops than this in the header (all its lines together) and it is
 * not read: the peer's address is used. */
#define HTTP_PROXY_HOPS_MAX 32

enum http_proxy_source {
    HTTP_PROXY_PEER,        /* the peer's own address: not trusted, no header, or none usable */
    HTTP_PROXY_FORWARDED,   /* from Forwarded */
    HTTP_PROXY_XFF,         /* from X-Forwarded-For */
    HTTP_PROXY_BOTH,        /* both headers present and naming the same client */
};

/* Writes the client address of a request into out (n bytes; at least
 * BASE_IP_TEXT_MAX to never cut) and says where it came from.
 * peer: the TCP peer's address text (as the server wrote it); trusted:
 * the networks of trusted proxies (list[0..n_trusted), borrowed).
 * Rules, in order:
 * - peer not parsable or not in trusted (or n_trusted 0): out = peer;
 *   the headers are not read.
 * - Each header's lines are one list, in order. A list is walked from its
 *   right end: trusted addresses are skipped; the first address that is
 *   not trusted is the client. An entry that is not an address ("unknown",
 *   an obfuscated "_name", a missing for=, garbage) stops the walk: the
 *   client is then the last trusted address passed (the hop that saw it),
 *   or the peer when it is the right-most entry. When every entry is
 *   trusted, the left-most is the client.
 * - A list that cannot be read (Forwarded syntax, more than
 *   HTTP_PROXY_HOPS_MAX entries) gives no answer.
 * - Only one header present: its answer. Both present: their answers
 *   must be the same address, else the peer is used: a proxy that
 *   appends to one of them passes the other through from the client
 *   unchanged, so neither can be preferred safely.
 * Addresses are written canonically (base_ip_format), ports dropped. */
enum http_proxy_source http_proxy_client(const struct base_cidr *trusted, size_t n_trusted, const char *peer,
                                         const struct http_header *headers, size_t n_headers, char *out,
                                         size_t n);

#endif
