/*
 * probe/registry: the list of check types.
 */
#include "probe/registry.h"

#include "probe/command.h"
#include "probe/dns.h"
#include "probe/heartbeat.h"
#include "probe/host.h"
#include "probe/http.h"
#include "probe/log.h"
#include "probe/postgres.h"
#include "probe/prometheus.h"
#include "probe/redis.h"
#include "probe/tcp.h"
#include "probe/tls.h"

static const struct conf_check_type *const types[] = {
    &probe_http_type,
    &probe_tcp_type,
    &probe_heartbeat_type,
    &probe_disk_type, &probe_memory_type, &probe_cpu_type,
    &probe_tls_type,
    &probe_postgres_type,
    &probe_redis_type,
    &probe_command_type,
    &probe_dns_type,
    &probe_prometheus_type,
    &probe_log_type,
};

static const struct conf_check_types registry = {types, sizeof(types) / sizeof(types[0])};

const struct conf_check_types *probe_registry_types(void)
{
    return &registry;
}
