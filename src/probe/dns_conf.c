/*
 * probe/dns_conf: the dns check type's settings. `expect` is a list of
 * strings (a CUSTOM field); whether each entry suits the record type is
 * checked in validate, where the record is known, at the entry's position.
 * A server must be an IP address: naming a resolver would need a resolver.
 */
#include "probe/dns_conf.h"

#include "base/err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPECT_ENTRY_MAX 1024

const char *const probe_dns_record_names[] = {"A", "AAAA", "CNAME", "MX", "TXT", "NS", NULL};

/* RFC 1035 / 3596 type numbers, indexed by enum probe_dns_record. */
static const int record_types[] = {1, 28, 5, 15, 16, 2};

enum probe_dns_record probe_dns_conf_record(const struct probe_dns_conf *c)
{
    for (int i = 0; c->record && probe_dns_record_names[i]; i++)
        if (strcmp(c->record, probe_dns_record_names[i]) == 0)
            return (enum probe_dns_record)i;
    return PROBE_DNS_A;
}

int probe_dns_conf_record_type(enum probe_dns_record r)
{
    return record_types[r];
}

const char *probe_dns_conf_name_bad(const char *name)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--; /* the root's dot is not part of the length */
    if (n == 0)
        return "must not be empty";
    if (n > PROBE_DNS_NAME_MAX)
        return "is longer than 253 characters";
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch <= ' ' || ch == 0x7f)
            return "must not contain spaces or control characters";
        if (ch != '.') {
            if (++label > PROBE_DNS_LABEL_MAX)
                return "has a label longer than 63 characters";
            continue;
        }
        if (label == 0)
            return "has an empty label (two dots in a row, or a leading dot)";
        label = 0;
    }
    return NULL;
}

/* ---- server ---- */

static int port_parse(const char *s, unsigned *port)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5)
        return -1;
    unsigned long p = strtoul(s, &end, 10);
    if (p < 1 || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

int probe_dns_conf_server_parse(const char *server, char *out, size_t n, const char **why)
{
    char host[PROBE_DNS_SERVER_MAX];
    unsigned port = 53;
    unsigned char addr[16];
    const char *colon = strchr(server, ':');
    bool v6 = false;
    *why = "server must be an IP address with an optional port (192.0.2.1:53, [2001:db8::1]:53)";
    if (server[0] == '[') {
        const char *close = strchr(server, ']');
        if (!close || (size_t)(close - server - 1) >= sizeof(host))
            return -1;
        memcpy(host, server + 1, (size_t)(close - server - 1));
        host[close - server - 1] = '\0';
        if (close[1] && (close[1] != ':' || port_parse(close + 2, &port) != 0)) {
            *why = "server has a bad port (expected 1-65535)";
            return -1;
        }
        v6 = true;
    } else if (colon && strchr(colon + 1, ':')) {
        if (strlen(server) >= sizeof(host))
            return -1;
        snprintf(host, sizeof(host), "%s", server); /* a bare IPv6 address: no port */
        v6 = true;
    } else {
        size_t hl = colon ? (size_t)(colon - server) : strlen(server);
        if (hl >= sizeof(host))
            return -1;
        memcpy(host, server, hl);
        host[hl] = '\0';
        if (colon && port_parse(colon + 1, &port) != 0) {
            *why = "server has a bad port (expected 1-65535)";
            return -1;
        }
    }
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
        return -1;
    int w = snprintf(out, n, v6 ? "[%s]:%u" : "%s:%u", host, port);
    if (w < 0 || (size_t)w >= n)
        return -1;
    *why = NULL;
    return 0;
}

/* ---- expect ---- */

const char *probe_dns_conf_expect_bad(enum probe_dns_record r, const char *want)
{
    unsigned char addr[16];
    if (!want[0])
        return "must not be empty";
    switch (r) {
    case PROBE_DNS_A:
        return inet_pton(AF_INET, want, addr) == 1 ? NULL : "is not an IPv4 address (an A record holds one)";
    case PROBE_DNS_AAAA:
        return inet_pton(AF_INET6, want, addr) == 1 ? NULL : "is not an IPv6 address (an AAAA record holds one)";
    case PROBE_DNS_CNAME:
    case PROBE_DNS_NS:
        return probe_dns_conf_name_bad(want) ? "is not a host name" : NULL;
    case PROBE_DNS_MX: {
        const char *host = want;
        size_t digits = strspn(want, "0123456789");
        if (digits && want[digits] == ' ') {
            if (digits > 5 || strtoul(want, NULL, 10) > 65535)
                return "has a preference above 65535";
            host = want + digits + 1;
        }
        return probe_dns_conf_name_bad(host) ? "is not \"PREFERENCE HOST\" or \"HOST\" (10 mail.example.com)" : NULL;
    }
    case PROBE_DNS_TXT:
        return NULL;
    }
    return NULL;
}

static int expect_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    if (n->kind != CONF_NODE_SEQ) {
        conf_value_error(ctx, n, "expect must be a list of strings, got %s", conf_value_kind_name(n));
        return -1;
    }
    if (n->n == 0 || n->n > PROBE_DNS_EXPECT_MAX) {
        conf_value_error(ctx, n, "expect must list 1 to %d answers", PROBE_DNS_EXPECT_MAX);
        return -1;
    }
    return conf_strings_parse(ctx, n, "expect", EXPECT_ENTRY_MAX, field);
}

static void expect_hash(uint64_t *h, const void *field)
{
    conf_strings_hash(h, field);
}

static int expect_copy(void *field, struct base_arena *a)
{
    return conf_strings_copy(field, a);
}

static int expect_json(const void *field, json_t **out)
{
    return conf_strings_json(field, out);
}

static const struct conf_field_ops expect_ops = {expect_parse, expect_hash, expect_copy, expect_json};

/* ---- the check ---- */

void probe_dns_conf_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_dns_conf *c = cc->settings;
    const struct conf_node *at;
    const char *why;
    char shown[80];
    if (c->name && (why = probe_dns_conf_name_bad(c->name)) && (at = conf_value_member(map, "query_name")))
        conf_value_error(ctx, at, "query_name %s", why);
    if (c->server && (at = conf_value_member(map, "server"))) {
        char csv[PROBE_DNS_SERVER_MAX];
        if (probe_dns_conf_server_parse(c->server, csv, sizeof(csv), &why) != 0)
            conf_value_error(ctx, at, "%s, got '%s'", why, conf_value_show(at, c->server, false, shown, sizeof(shown)));
    }
    at = conf_value_member(map, "expect");
    if (!at || at->kind != CONF_NODE_SEQ || at->n != c->expect.n)
        return; /* absent, or already reported */
    enum probe_dns_record r = probe_dns_conf_record(c);
    size_t i = 0;
    for (const struct conf_node *it = at->child; it; it = it->next, i++)
        if ((why = probe_dns_conf_expect_bad(r, c->expect.items[i])))
            conf_value_error(ctx, it, "expect entry '%s' %s",
                             conf_value_show(it, c->expect.items[i], false, shown, sizeof(shown)), why);
}

void probe_dns_conf_target(const struct conf_check *c, char *buf, size_t n)
{
    const struct probe_dns_conf *d = c->settings;
    const char *rec = probe_dns_record_names[probe_dns_conf_record(d)];
    snprintf(buf, n, "%s %s%s%s", d && d->name ? d->name : "", rec, d && d->server ? " @" : "",
             d && d->server ? d->server : "");
}

#define F(m) offsetof(struct probe_dns_conf, m)
const struct conf_field probe_dns_conf_fields[] = {
    CONF_FIELD("query_name", CONF_FIELD_STRING, F(name), CONF_FIELD_REQUIRED,
               "The name to query (absolute: no search domains are appended)", .example = "api.example.com"),
    CONF_FIELD("record", CONF_FIELD_ENUM, F(record), 0, "A (default), AAAA, CNAME, MX, TXT or NS",
               .choices = probe_dns_record_names, .example = "AAAA"),
    CONF_FIELD("server", CONF_FIELD_STRING, F(server), 0,
               "Resolver to ask: IP[:port] or [IPv6]:port, port 53 by default; default the system's (/etc/resolv.conf)",
               .example = "'127.0.0.1:5353'"),
    CONF_FIELD("expect", CONF_FIELD_CUSTOM, F(expect), 0,
               "Answers that must all be present: addresses (A/AAAA), host names (CNAME, NS, MX as \"10 host\" "
               "or \"host\"), TXT strings",
               .ops = &expect_ops, .example = "['192.0.2.10', '192.0.2.11']"),
    CONF_FIELD_END,
};
#undef F

const struct conf_check_value probe_dns_conf_values[] = {
    {"lookup_time_seconds", "From the query sent to the response read (absent without a response)",
     "probe_dns_lookup_time_seconds", NULL, NULL},
    {"answer_rrs", "Records in the response's answer section", "probe_dns_answer_rrs", NULL, NULL},
    {"authority_rrs", "Records in the response's authority section", "probe_dns_authority_rrs", NULL, NULL},
    {"additional_rrs", "Records in the response's additional section", "probe_dns_additional_rrs", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
