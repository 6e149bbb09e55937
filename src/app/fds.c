/*
 * app/fds: the open-file limit shared between probes and HTTP connections.
 */
#include "app/fds.h"

void app_fd_plan(long fd_limit, size_t n_checks, size_t max_in_flight, size_t configured_max,
                 struct app_fd_plan *out)
{
    size_t probes = n_checks < max_in_flight ? n_checks : max_in_flight;
    out->limit = fd_limit;
    out->reserve = APP_FD_RESERVE_BASE + probes * APP_FD_PER_PROBE;
    out->short_of_fds = false;
    out->max_connections = configured_max;
    if (fd_limit <= 0)
        return;
    size_t avail = (size_t)fd_limit > out->reserve ? (size_t)fd_limit - out->reserve : 0;
    if (avail < out->max_connections)
        out->max_connections = avail;
    if (out->max_connections < APP_HTTP_MIN_CONNECTIONS) {
        out->max_connections = APP_HTTP_MIN_CONNECTIONS;
        out->short_of_fds = true;
    }
}
