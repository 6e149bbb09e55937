/*
 * probe/dns_answer: a response's answers through c-ares' parsers. CNAME
 * has no parser of its own in c-ares 1.18: ares_parse_a_reply follows the
 * CNAME records of any response and returns the name they lead to as
 * h_name with the names on the way as aliases, which is the CNAME's target
 * for a CNAME query (one record). Each answer is kept with its length (a
 * TXT string may hold a NUL byte).
 */
#include "probe/dns_answer.h"

#include "probe/dns_conf.h"
#include "probe/probe_int.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_LEN 12

/* The length of each answer of a->items, in the bytes before it: kept
 * beside the text so that a->items stay plain pointers for readers. */
static size_t item_len(const struct probe_dns_answer *a, size_t i)
{
    size_t len;
    memcpy(&len, a->items[i] - sizeof(len), sizeof(len));
    return len;
}

/* Appends one answer (len bytes; a name lower-cased and without its
 * trailing dot); counts it dropped past the caps. */
static void add(struct probe_dns_answer *a, const char *s, size_t len, bool name)
{
    if (name && len > 1 && s[len - 1] == '.')
        len--;
    if (a->n == PROBE_DNS_ANSWERS_MAX || sizeof(a->text) - a->used < sizeof(size_t) + len + 1) {
        a->dropped++;
        return;
    }
    memcpy(a->text + a->used, &len, sizeof(len));
    char *d = a->text + a->used + sizeof(len);
    for (size_t i = 0; i < len; i++)
        d[i] = name ? (char)tolower((unsigned char)s[i]) : s[i];
    d[len] = '\0';
    a->items[a->n++] = d;
    a->used += sizeof(len) + len + 1;
}

static void add_str(struct probe_dns_answer *a, const char *s, bool name)
{
    add(a, s, strlen(s), name);
}

static int parse_addresses(enum probe_dns_record r, const unsigned char *abuf, int alen, struct probe_dns_answer *a)
{
    char text[INET6_ADDRSTRLEN];
    int n = PROBE_DNS_ANSWERS_MAX;
    if (r == PROBE_DNS_A) {
        struct ares_addrttl ttls[PROBE_DNS_ANSWERS_MAX];
        int rc = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);
        for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
            if (inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof(text)))
                add_str(a, text, false);
        return rc;
    }
    struct ares_addr6ttl ttls[PROBE_DNS_ANSWERS_MAX];
    int rc = ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n);
    for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
        if (inet_ntop(AF_INET6, &ttls[i].ip6addr, text, sizeof(text)))
            add_str(a, text, false);
    return rc;
}

static int parse_cname(const unsigned char *abuf, int alen, struct probe_dns_answer *a)
{
    struct hostent *h = NULL;
    int rc = ares_parse_a_reply(abuf, alen, &h, NULL, NULL);
    if (rc == ARES_SUCCESS && (!h || !h->h_aliases || !h->h_aliases[0] || !h->h_name))
        rc = ARES_ENODATA; /* addresses without a CNAME */
    if (rc == ARES_SUCCESS)
        add_str(a, h->h_name, true);
    if (h)
        ares_free_hostent(h);
    return rc;
}

static int parse_mx(const unsigned char *abuf, int alen, struct probe_dns_answer *a)
{
    struct ares_mx_reply *mx = NULL;
    int rc = ares_parse_mx_reply(abuf, alen, &mx);
    for (struct ares_mx_reply *m = rc == ARES_SUCCESS ? mx : NULL; m; m = m->next) {
        char text[16 + PROBE_DNS_NAME_MAX + 2];
        int w = snprintf(text, sizeof(text), "%u %s", (unsigned)m->priority, m->host ? m->host : "");
        if (w > 0 && (size_t)w < sizeof(text))
            add_str(a, text, true);
        else
            a->dropped++;
    }
    if (mx)
        ares_free_data(mx);
    return rc;
}

/* Each TXT record's strings joined into one answer. */
static int parse_txt(const unsigned char *abuf, int alen, struct probe_dns_answer *a)
{
    struct ares_txt_ext *txt = NULL;
    int rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
    char joined[PROBE_DNS_ANSWER_BYTES / 4];
    size_t len = 0;
    bool open = false, cut = false;
    for (struct ares_txt_ext *t = rc == ARES_SUCCESS ? txt : NULL; t; t = t->next) {
        if (t->record_start && open) {
            if (cut)
                a->dropped++;
            else
                add(a, joined, len, false);
            len = 0;
            cut = false;
        }
        open = true;
        if (t->length > sizeof(joined) - len)
            cut = true;
        else if (t->length) {
            memcpy(joined + len, t->txt, t->length);
            len += t->length;
        }
    }
    if (open) {
        if (cut)
            a->dropped++;
        else
            add(a, joined, len, false);
    }
    if (txt)
        ares_free_data(txt);
    return rc;
}

static int parse_ns(const unsigned char *abuf, int alen, struct probe_dns_answer *a)
{
    struct hostent *h = NULL;
    int rc = ares_parse_ns_reply(abuf, alen, &h);
    for (char **n = rc == ARES_SUCCESS && h ? h->h_aliases : NULL; n && *n; n++)
        add_str(a, *n, true);
    if (h)
        ares_free_hostent(h);
    return rc;
}

int probe_dns_answer_parse(enum probe_dns_record r, const unsigned char *abuf, size_t alen,
                           struct probe_dns_answer *a)
{
    memset(a, 0, offsetof(struct probe_dns_answer, text));
    if (!abuf || alen < HEADER_LEN)
        return ARES_EBADRESP;
    a->has_header = true;
    a->rcode = abuf[3] & 0x0fu;
    a->answer_rrs = (unsigned)abuf[6] << 8 | abuf[7];
    a->authority_rrs = (unsigned)abuf[8] << 8 | abuf[9];
    a->additional_rrs = (unsigned)abuf[10] << 8 | abuf[11];
    int len = alen > INT_MAX ? INT_MAX : (int)alen;
    int rc = ARES_ENODATA;
    switch (r) {
    case PROBE_DNS_A:
    case PROBE_DNS_AAAA:
        rc = parse_addresses(r, abuf, len, a);
        break;
    case PROBE_DNS_CNAME:
        rc = parse_cname(abuf, len, a);
        break;
    case PROBE_DNS_MX:
        rc = parse_mx(abuf, len, a);
        break;
    case PROBE_DNS_TXT:
        rc = parse_txt(abuf, len, a);
        break;
    case PROBE_DNS_NS:
        rc = parse_ns(abuf, len, a);
        break;
    }
    if (rc == ARES_SUCCESS && a->n == 0 && a->dropped == 0)
        rc = ARES_ENODATA;
    return rc;
}

/* ---- matching ---- */

/* s[0..len) equals the name `want` ignoring case and a trailing dot. */
static bool name_equal(const char *s, size_t len, const char *want, size_t wlen)
{
    if (wlen > 1 && want[wlen - 1] == '.')
        wlen--;
    return len == wlen && strncasecmp(s, want, len) == 0;
}

static bool mx_equal(const char *item, size_t len, const char *want)
{
    const char *sp = memchr(item, ' ', len);
    if (!sp)
        return false;
    const char *host = sp + 1;
    size_t hlen = len - (size_t)(host - item);
    size_t digits = strspn(want, "0123456789");
    if (digits && want[digits] == ' ') {
        if (strtoul(want, NULL, 10) != strtoul(item, NULL, 10))
            return false;
        want += digits + 1;
    }
    return name_equal(host, hlen, want, strlen(want));
}

bool probe_dns_answer_has(const struct probe_dns_answer *a, enum probe_dns_record r, const char *want)
{
    unsigned char w[16], got[16];
    int family = r == PROBE_DNS_AAAA ? AF_INET6 : AF_INET;
    bool addr = r == PROBE_DNS_A || r == PROBE_DNS_AAAA;
    if (addr && inet_pton(family, want, w) != 1)
        return false;
    size_t wlen = strlen(want);
    for (size_t i = 0; i < a->n; i++) {
        const char *item = a->items[i];
        size_t len = item_len(a, i);
        switch (r) {
        case PROBE_DNS_A:
        case PROBE_DNS_AAAA:
            if (inet_pton(family, item, got) == 1 && memcmp(w, got, family == AF_INET ? 4 : 16) == 0)
                return true;
            break;
        case PROBE_DNS_CNAME:
        case PROBE_DNS_NS:
            if (name_equal(item, len, want, wlen))
                return true;
            break;
        case PROBE_DNS_MX:
            if (mx_equal(item, len, want))
                return true;
            break;
        case PROBE_DNS_TXT:
            if (len == wlen && memcmp(item, want, len) == 0)
                return true;
            break;
        }
    }
    return false;
}

void probe_dns_answer_list(const struct probe_dns_answer *a, char *out, size_t n)
{
    char raw[1024];
    size_t used = 0;
    if (!a->n && !a->dropped) {
        snprintf(out, n, "nothing");
        return;
    }
    for (size_t i = 0; i < a->n && used < sizeof(raw); i++) {
        size_t len = item_len(a, i);
        size_t room = sizeof(raw) - used;
        size_t take = len < room ? len : room;
        if (i && room > 2) {
            memcpy(raw + used, ", ", 2);
            used += 2;
            room -= 2;
            take = len < room ? len : room;
        }
        memcpy(raw + used, a->items[i], take);
        used += take;
    }
    char more[48] = "";
    if (a->dropped)
        snprintf(more, sizeof(more), " and %zu more", a->dropped);
    size_t mlen = strlen(more);
    if (n <= mlen + 4) {
        probe_escape(raw, used, out, n);
        return;
    }
    probe_escape(raw, used, out, n - mlen);
    size_t olen = strlen(out);
    memcpy(out + olen, more, mlen + 1);
}
