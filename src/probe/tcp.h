/*
 * probe/tcp: TCP checks on uv_tcp: resolve (uv_getaddrinfo, skipped for IP
 * literals), connect (trying each address in turn), optionally send a
 * payload and wait for an expected substring in the reply (read into a
 * fixed 4 KiB buffer). One uv_timer_t bounds the whole run. A finished or
 * canceled run closes its handles and frees itself in the last close
 * callback, holding the engine open until then.
 */
#ifndef PROBE_TCP_H
#define PROBE_TCP_H

#include "probe/probe_int.h"

#define PROBE_TCP_READ_MAX 4096

/* Starts a TCP run; NULL on OOM. The check is borrowed for the call only.
 * A bad address is reported as a DOWN sample on the next loop turn. */
struct probe_run *probe_tcp_start(struct probe_engine *e, const struct conf_check *c);
/* Closes the run's handles; the run is freed in the last close callback. */
void probe_tcp_cancel(struct probe_run *r);

#endif
