/*
 * probe/command: the `command` check type: runs a program the Nagios
 * plugin way (started by probe/command_spawn: posix_spawn on the pool).
 * `command` is an argv list (no shell), or one string run by /bin/sh -c
 * when `shell: true`. The exit code decides: 0
 * up, 1 degraded, 2 down, 3 (unknown) and anything else down. With
 * `shell: true` and a list, the first item is the script and the others
 * its $0, $1, ... (sh -c script name args), so values reach a script
 * without being parsed by the shell. The first
 * output line is the error text; performance data becomes values
 * (probe/perfdata).
 *
 * Isolation: the program gets only a fixed environment (PATH with the
 * monitoring-plugins directory, LC_ALL=C so numbers print with a point)
 * plus the check's `env`, never the daemon's own (which holds its
 * secrets); stdin is /dev/null; the working directory is `workdir` or /.
 * It runs in a new session, so its whole process group is killed (SIGKILL)
 * on timeout, and stragglers still holding its output are killed when it
 * exits. Output is read up to `output_max` and the rest drained unread; a
 * run is never left without its exit status reaped.
 */
#ifndef PROBE_COMMAND_H
#define PROBE_COMMAND_H

#include "conf/conf.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBE_COMMAND_ARGS_MAX 256              /* argv entries */
#define PROBE_COMMAND_TEXT_MAX (64 * 1024)      /* bytes of all of argv, or of the shell string */
#define PROBE_COMMAND_ENV_MAX 64                /* env entries */
#define PROBE_COMMAND_OUTPUT_DEFAULT (16 * 1024)
#define PROBE_COMMAND_OUTPUT_MAX (1024 * 1024)
#define PROBE_COMMAND_STDERR_MAX 1024           /* bytes of stderr kept (for the error text) */
#define PROBE_COMMAND_REAP_MS 5000              /* after SIGKILL, wait this long for the exit */
/* The environment every program starts from; `env` adds to it or replaces. */
#define PROBE_COMMAND_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/nagios/plugins"

/* argv (with shell: the script, then $0, $1, ...), or the one string of a
 * shell command. */
struct probe_command_argv {
    const char **items;       /* in the conf arena */
    size_t n;
    bool is_string;           /* given as a string: needs shell: true */
};

/* The settings of a command check (conf_check.settings). */
struct probe_command_conf {
    struct probe_command_argv command;  /* secret: arguments may hold passwords */
    bool shell;
    struct conf_kv *env;                /* secret */
    size_t n_env;
    const char *workdir;                /* absolute; NULL: / */
    size_t output_max;                  /* bytes of stdout read */
};

extern const struct conf_check_type probe_command_type;

#endif
