/*
 * probe/registry: the check types this opshub runs, in one table. Adding a
 * type is one file under src/probe (its settings table, values, start and
 * cancel: see probe/tcp.c for a small one) and one line in registry.c.
 * The daemon and the CLI hand this registry to the config loader.
 */
#ifndef PROBE_REGISTRY_H
#define PROBE_REGISTRY_H

#include "conf/conf.h"

/* Every type, in a fixed order (http first). Static; never NULL. */
const struct conf_check_types *probe_registry_types(void);

#endif
