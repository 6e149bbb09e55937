/*
 * probe/command_conf: the settings table and checks of the command check
 * type (struct probe_command_conf in probe/command.h), used by the type's
 * entry in probe/command.c.
 */
#ifndef PROBE_COMMAND_CONF_H
#define PROBE_COMMAND_CONF_H

#include "conf/conf.h"

extern const struct conf_field probe_command_conf_fields[];

int probe_command_conf_init(void *settings, struct base_arena *a);
void probe_command_conf_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c);
/* The program's path only (arguments may hold passwords). */
void probe_command_conf_target(const struct conf_check *c, char *buf, size_t n);

#endif
