/*
 * app/fds: how the open-file limit is shared. The HTTP server's connection
 * cap is what the limit leaves after a reserve for the rest of the daemon
 * (store, logs, listener, loop, threads) and for the probes (a socket and
 * a resolver's wakeup pair per run in flight, runs in flight being at most
 * the number of checks and the scheduler's cap). A flood of idle clients
 * then meets the cap, never the probes' sockets: opshub's own checks do
 * not fail because its HTTP server is busy.
 */
#ifndef APP_FDS_H
#define APP_FDS_H

#include <stdbool.h>
#include <stddef.h>

#define APP_FD_RESERVE_BASE 64       /* store, log, listener, loop, signals, threads */
#define APP_FD_PER_PROBE 2           /* socket + the resolver's wakeup (libcurl) */
#define APP_HTTP_MIN_CONNECTIONS 16  /* kept even when the limit is too low for all */

struct app_fd_plan {
    long limit;                /* RLIMIT_NOFILE in force; <= 0: unknown */
    size_t reserve;            /* descriptors kept out of the HTTP server's reach */
    size_t max_connections;    /* the HTTP connection cap */
    bool short_of_fds;         /* the limit does not cover reserve + the minimum cap */
};

/* Shares `fd_limit` between `n_checks` checks (at most `max_in_flight` runs
 * at once) and HTTP connections, capping these at `configured_max`. */
void app_fd_plan(long fd_limit, size_t n_checks, size_t max_in_flight, size_t configured_max,
                 struct app_fd_plan *out);

#endif
