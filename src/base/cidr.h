/*
 * base/cidr: IP addresses and CIDR networks as 16 bytes, for lists of
 * trusted networks (server.trusted_proxies). An IPv4 address is held as
 * its IPv4-mapped IPv6 form (::ffff:a.b.c.d, a /n network as /96+n), so
 * one comparison covers both families and a dual-stack peer
 * "::ffff:127.0.0.1" matches "127.0.0.0/8". Pure: no allocation, no
 * locale, no name resolution.
 */
#ifndef BASE_CIDR_H
#define BASE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASE_IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN: the longest text base_ip_format writes, NUL included */

struct base_ip {
    uint8_t b[16];          /* network order; IPv4 as ::ffff:a.b.c.d */
};

struct base_cidr {
    struct base_ip net;     /* host bits are zero */
    uint8_t bits;           /* prefix length over the 128 bits (IPv4 /n is 96 + n) */
};

/* Parses s[0..n): dotted IPv4 ("192.0.2.1") or IPv6 text ("2001:db8::1",
 * "::ffff:192.0.2.1"), no brackets, port or zone. 0, or BASE_ERR_INVALID. */
int base_ip_parse(const char *s, size_t n, struct base_ip *out);
/* True for an IPv4 (or IPv4-mapped) address. */
bool base_ip_is_v4(const struct base_ip *ip);
/* Canonical text into buf (at least BASE_IP_TEXT_MAX bytes to never cut):
 * dotted for IPv4 and IPv4-mapped addresses, RFC 5952 for IPv6. Returns buf. */
char *base_ip_format(const struct base_ip *ip, char *buf, size_t n);

/* Parses s[0..n): an address with an optional "/prefix" (0-32 for IPv4,
 * 0-128 for IPv6); a plain address is /32 or /128. 0, or BASE_ERR_INVALID
 * with *why a static reason (bad address, bad prefix, or host bits set
 * past the prefix: "10.0.0.1/8" is refused, not silently 10.0.0.0/8). */
int base_cidr_parse(const char *s, size_t n, struct base_cidr *out, const char **why);
/* The network's canonical text ("10.0.0.0/8", "2001:db8::/32"). Returns buf. */
char *base_cidr_format(const struct base_cidr *c, char *buf, size_t n);
bool base_cidr_contains(const struct base_cidr *c, const struct base_ip *ip);
/* True when any of list[0..n) contains ip. */
bool base_cidr_list_contains(const struct base_cidr *list, size_t n, const struct base_ip *ip);

#endif
