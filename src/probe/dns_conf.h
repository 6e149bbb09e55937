/*
 * probe/dns_conf: the settings of the dns check type (field table,
 * validation with positions, the target, the values and their metrics)
 * and the pure helpers its runs and tests use: record names, the `server`
 * address and what an `expect` entry may be for a record type. For
 * probe/dns.c, probe/dns_answer.c and their tests only. No I/O.
 */
#ifndef PROBE_DNS_CONF_H
#define PROBE_DNS_CONF_H

#include "conf/check.h"
#include "probe/dns.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBE_DNS_NAME_MAX 253      /* without a trailing dot (RFC 1035's 255 on the wire) */
#define PROBE_DNS_LABEL_MAX 63
#define PROBE_DNS_EXPECT_MAX 32     /* entries in `expect` */
#define PROBE_DNS_SERVER_MAX 64     /* "[v6]:port" for c-ares, NUL included */

extern const struct conf_field probe_dns_conf_fields[];
extern const struct conf_check_value probe_dns_conf_values[];

/* "A", "AAAA", ... indexed by enum probe_dns_record; NULL-terminated. */
extern const char *const probe_dns_record_names[];

/* The record of a check's settings (NULL record: A). */
enum probe_dns_record probe_dns_conf_record(const struct probe_dns_conf *c);
/* The record's type number on the wire (1 for A, 28 for AAAA, ...). */
int probe_dns_conf_record_type(enum probe_dns_record r);

/* A reason when `name` cannot be queried (empty, longer than 253 bytes
 * without its trailing dot, an empty or 64+ byte label, a space or control
 * byte), else NULL. */
const char *probe_dns_conf_name_bad(const char *name);

/* Reads `server` ("192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53",
 * "2001:db8::1"; the port 53 when absent) into c-ares' form for
 * ares_set_servers_ports_csv ("192.0.2.1:5353", "[::1]:53") in out
 * (PROBE_DNS_SERVER_MAX bytes): 0, or -1 with the reason in *why. Only IP
 * addresses: a resolver's name would need a resolver. */
int probe_dns_conf_server_parse(const char *server, char *out, size_t n, const char **why);

/* A reason when `want` can never match an answer of record r ("not an IPv4
 * address" for A, an MX without a host, an empty string), else NULL. */
const char *probe_dns_conf_expect_bad(enum probe_dns_record r, const char *want);

void probe_dns_conf_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c);
/* "name A" or "name MX @192.0.2.1:53". */
void probe_dns_conf_target(const struct conf_check *c, char *buf, size_t n);

#endif
