/*
 * base/cidr: IP address and CIDR text to 16 bytes and back, and prefix
 * matching (see cidr.h). inet_pton does the address syntax; this file adds
 * the length bound, the IPv4 mapping and the prefix rules.
 */
#include "base/cidr.h"

#include "base/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int base_ip_parse(const char *s, size_t n, struct base_ip *out)
{
    char text[BASE_IP_TEXT_MAX];
    if (n == 0 || n >= sizeof(text) || memchr(s, '\0', n))
        return BASE_ERR_INVALID;
    memcpy(text, s, n);
    text[n] = '\0';
    struct base_ip ip;
    if (memchr(text, ':', n)) {
        if (inet_pton(AF_INET6, text, ip.b) != 1)
            return BASE_ERR_INVALID;
    } else {
        memcpy(ip.b, v4_prefix, sizeof(v4_prefix));
        if (inet_pton(AF_INET, text, ip.b + 12) != 1)
            return BASE_ERR_INVALID;
    }
    *out = ip;
    return 0;
}

bool base_ip_is_v4(const struct base_ip *ip)
{
    return memcmp(ip->b, v4_prefix, sizeof(v4_prefix)) == 0;
}

char *base_ip_format(const struct base_ip *ip, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    bool v4 = base_ip_is_v4(ip);
    if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? ip->b + 12 : ip->b, buf, (socklen_t)n))
        buf[0] = '\0';
    return buf;
}

/* Zeroes the bits of ip past the first `bits`; true when any was set. */
static bool clear_host_bits(struct base_ip *ip, unsigned bits)
{
    bool had = false;
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
        uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);
        had |= (ip->b[i] & (uint8_t)~mask) != 0;
        ip->b[i] &= mask;
    }
    return had;
}

int base_cidr_parse(const char *s, size_t n, struct base_cidr *out, const char **why)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    struct base_ip ip;
    *why = "not an IPv4 or IPv6 address";
    if (base_ip_parse(s, alen, &ip))
        return BASE_ERR_INVALID;
    /* The family is the text's: "::ffff:10.0.0.0/104" is IPv6 notation. */
    bool v4_text = !memchr(s, ':', alen);
    unsigned max = v4_text ? 32 : 128, bits = max;
    if (slash) {
        const char *p = slash + 1, *end = s + n;
        *why = v4_text ? "bad prefix length (expected /0 to /32)" : "bad prefix length (expected /0 to /128)";
        if (p == end || end - p > 3 || (*p == '0' && end - p > 1))
            return BASE_ERR_INVALID;
        bits = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return BASE_ERR_INVALID;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > max)
            return BASE_ERR_INVALID;
    }
    bits += 128 - max;
    if (clear_host_bits(&ip, bits)) {
        *why = "address has bits set past the prefix length";
        return BASE_ERR_INVALID;
    }
    out->net = ip;
    out->bits = (uint8_t)bits;
    *why = NULL;
    return 0;
}

char *base_cidr_format(const struct base_cidr *c, char *buf, size_t n)
{
    char ip[BASE_IP_TEXT_MAX];
    bool v4 = base_ip_is_v4(&c->net) && c->bits >= 96;
    if (v4)
        base_ip_format(&c->net, ip, sizeof(ip));
    else if (!inet_ntop(AF_INET6, c->net.b, ip, sizeof(ip)))
        ip[0] = '\0';
    snprintf(buf, n, "%s/%u", ip, v4 ? c->bits - 96u : (unsigned)c->bits);
    return buf;
}

bool base_cidr_contains(const struct base_cidr *c, const struct base_ip *ip)
{
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net.b, ip->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (ip->b[full] & mask) == c->net.b[full];
}

bool base_cidr_list_contains(const struct base_cidr *list, size_t n, const struct base_ip *ip)
{
    for (size_t i = 0; i < n; i++)
        if (base_cidr_contains(&list[i], ip))
            return true;
    return false;
}
