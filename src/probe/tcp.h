/*
 * probe/tcp: the `tcp` check type: connect to host:port (resolving names
 * on libuv's pool, trying each address in turn), optionally send a payload
 * and wait for an expected substring in the reply. One uv_timer_t bounds
 * the whole run. A finished or canceled run closes its handles and frees
 * itself in the last close callback, holding the engine open until then.
 */
#ifndef PROBE_TCP_H
#define PROBE_TCP_H

#include "conf/conf.h"

#define PROBE_TCP_READ_MAX 4096

/* The settings of a tcp check (conf_check.settings). */
struct probe_tcp_conf {
    const char *address;     /* host:port or [v6]:port */
    const char *send;        /* may be NULL */
    const char *expect;      /* banner substring expected in the reply; may be NULL */
};

extern const struct conf_check_type probe_tcp_type;

#endif
