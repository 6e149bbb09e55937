/*
 * probe/dns: the `dns` check type: one query (A, AAAA, CNAME, MX, TXT or
 * NS) through c-ares, driven on the libuv loop (a uv_poll_t per socket
 * c-ares opens, a uv_timer_t for its retransmissions, one more for the
 * run's deadline), to the check's `server` or to the system's resolvers
 * as c-ares reads them (/etc/resolv.conf). Every `expect` entry must be
 * among the answers. A finished or canceled run destroys its channel and
 * frees itself when its last handle is closed, holding the engine open
 * until then.
 */
#ifndef PROBE_DNS_H
#define PROBE_DNS_H

#include "conf/conf.h"

#include <stddef.h>

/* The record types a check may ask for, in the order of
 * probe_dns_record_names. */
enum probe_dns_record {
    PROBE_DNS_A,
    PROBE_DNS_AAAA,
    PROBE_DNS_CNAME,
    PROBE_DNS_MX,
    PROBE_DNS_TXT,
    PROBE_DNS_NS,
};

/* The expected answers: strings in the conf arena. */
/* The settings of a dns check (conf_check.settings). */
struct probe_dns_conf {
    const char *name;               /* `query_name`: as written (a trailing dot allowed); `name` is every check's display name */
    const char *record;             /* one of probe_dns_record_names; NULL = "A" */
    const char *server;             /* "ip", "ip:port", "[v6]:port" or "v6"; NULL = the system's */
    struct conf_strings expect;     /* answers that must all be there */
};

extern const struct conf_check_type probe_dns_type;

#endif
