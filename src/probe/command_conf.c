/*
 * probe/command_conf: the settings of the command check type: the
 * `command` field (an argv list, or a string for shell: true), env,
 * workdir and output_max, with the checks across them. No message quotes
 * an argument or an env value: either may hold a password.
 */
#include "probe/command_conf.h"

#include "probe/command.h"

#include "base/err.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* ---- the command field ---- */

static int argv_parse(struct conf_ctx *ctx, const struct conf_node *n, void *field)
{
    struct probe_command_argv *av = field;
    if (n->kind == CONF_NODE_SCALAR) {
        const char *s;
        if (conf_value_string(ctx, n, &s))
            return -1;
        const char **items = conf_value_alloc(ctx, sizeof(*items));
        if (!items)
            return -1;
        items[0] = s;
        av->items = items;
        av->n = 1;
        av->is_string = true;
        return 0;
    }
    if (n->kind != CONF_NODE_SEQ) {
        conf_value_error(ctx, n, "command: expected a list of arguments (or a string with shell: true), got %s",
                         conf_value_kind_name(n));
        return -1;
    }
    if (n->n == 0) {
        conf_value_error(ctx, n, "command: the list is empty (the first item is the program)");
        return -1;
    }
    if (n->n > PROBE_COMMAND_ARGS_MAX) {
        conf_value_error(ctx, n, "command: %zu arguments, at most %d", n->n, PROBE_COMMAND_ARGS_MAX);
        return -1;
    }
    struct conf_strings list;
    if (conf_strings_parse(ctx, n, "command", 0, &list))
        return -1;
    av->items = list.items;
    av->n = list.n;
    av->is_string = false;
    return 0;
}

static void argv_hash(uint64_t *h, const void *field)
{
    const struct probe_command_argv *av = field;
    struct conf_strings list = {av->items, av->n};
    conf_schema_hash_int(h, av->is_string);
    conf_strings_hash(h, &list);
}

static int argv_copy(void *field, struct base_arena *a)
{
    struct probe_command_argv *av = field;
    struct conf_strings list = {av->items, av->n};
    int rc = conf_strings_copy(&list, a);
    av->items = list.items;
    return rc;
}

static int argv_json(const void *field, json_t **out)
{
    const struct probe_command_argv *av = field;
    struct conf_strings list = {av->items, av->n};
    if (!av->is_string || !av->n)
        return conf_strings_json(&list, out);
    *out = json_string(av->items[0]);
    return *out ? 0 : BASE_ERR_NOMEM;
}

static const struct conf_field_ops argv_ops = {argv_parse, argv_hash, argv_copy, argv_json};

#define F(m) offsetof(struct probe_command_conf, m)
const struct conf_field probe_command_conf_fields[] = {
    CONF_FIELD("command", CONF_FIELD_CUSTOM, F(command), CONF_FIELD_REQUIRED | CONF_FIELD_SECRET,
     "The program and its arguments as a list (no shell), or one string with shell: true (sealed at rest: "
     "arguments may hold passwords)", .ops = &argv_ops,
               .example = "[/usr/lib/nagios/plugins/check_disk, -w, 20%, -c, 10%, -p, /]"),
    CONF_FIELD("shell", CONF_FIELD_BOOL, F(shell), 0,
     "Run the command with /bin/sh -c: a string is the script; a list is the script and then $0, $1, ... "
     "(arguments passed without being parsed by the shell); default false",
               .example = "true"),
    CONF_FIELD("env", CONF_FIELD_KV, F(env), CONF_FIELD_SECRET,
     "Environment variables added to the fixed PATH and LC_ALL=C (the daemon's own are never passed; sealed "
     "at rest)", .count_offset = F(n_env), .key_bad = conf_value_env_name_bad, .example = "{PGPASSFILE: /etc/opshub/pgpass}"),
    CONF_FIELD("workdir", CONF_FIELD_STRING, F(workdir), 0, "Absolute working directory; default /",
               .example = "/var/backups"),
    CONF_FIELD("output_max", CONF_FIELD_SIZE, F(output_max), 0,
     "Bytes of standard output read (the rest is discarded unread); default 16KiB, at most 1MiB",
               .max = PROBE_COMMAND_OUTPUT_MAX, .example = "64KiB"),
    CONF_FIELD_END,
};
#undef F

int probe_command_conf_init(void *settings, struct base_arena *a)
{
    (void)a;
    struct probe_command_conf *c = settings;
    c->output_max = PROBE_COMMAND_OUTPUT_DEFAULT;
    return 0;
}

/* Where an error about `key` goes: the member, else the whole check. */
static const struct conf_node *at_member(const struct conf_node *map, const char *key)
{
    const struct conf_node *n = conf_value_member(map, key);
    return n ? n : map;
}

void probe_command_conf_validate(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *cc)
{
    const struct probe_command_conf *c = cc->settings;
    const struct probe_command_argv *av = &c->command;
    if (av->n) {
        const struct conf_node *at = at_member(map, "command");
        size_t total = 0;
        for (size_t i = 0; i < av->n; i++)
            total += strlen(av->items[i]) + 1;
        if (av->is_string && !c->shell)
            conf_value_error(ctx, at, "command is a string: give a list of arguments, or set shell: true to run "
                             "it with /bin/sh -c");
        else if (!av->items[0][0])
            conf_value_error(ctx, at, av->is_string ? "command must not be empty" : "command: the program (the "
                             "first item) must not be empty");
        else if (total > PROBE_COMMAND_TEXT_MAX)
            conf_value_error(ctx, at, "command is longer than %d bytes", PROBE_COMMAND_TEXT_MAX);
    }
    if (c->n_env > PROBE_COMMAND_ENV_MAX)
        conf_value_error(ctx, at_member(map, "env"), "env has %zu variables, at most %d", c->n_env,
                         PROBE_COMMAND_ENV_MAX);
    if (c->workdir && c->workdir[0] != '/')
        conf_value_error(ctx, at_member(map, "workdir"), "workdir must be an absolute path");
    if (c->output_max < 256)
        conf_value_error(ctx, at_member(map, "output_max"), "output_max must be at least 256 bytes");
}

void probe_command_conf_target(const struct conf_check *cc, char *buf, size_t n)
{
    const struct probe_command_conf *c = cc->settings;
    /* the program only: arguments may hold passwords */
    if (!c || !c->command.n)
        snprintf(buf, n, "%s", "");
    else
        snprintf(buf, n, "%s", c->shell ? "/bin/sh" : c->command.items[0]);
}
