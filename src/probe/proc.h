/*
 * probe/proc: one run of a program on the loop, for whoever needs one
 * (the command check type, the notification layer's command channel).
 * It starts the program on a pool thread (probe/command_spawn: posix_spawn,
 * not a fork of the daemon on the loop), optionally writes bytes to its
 * stdin, reads stdout up to a maximum and stderr up to
 * PROBE_COMMAND_STDERR_MAX (the rest drained unread), and ends it at a
 * deadline: the program leads its own session, so its whole process group
 * is SIGKILLed on timeout, and stragglers still holding its output are
 * killed when it exits.
 *
 * Callbacks, both on the loop: `done` once with the result (never after
 * probe_proc_cancel), then `closed` once every handle is closed and the
 * exit status reaped (or PROBE_COMMAND_REAP_MS after a SIGKILL that did
 * not take): the proc is freed right after `closed`. A run is never left
 * without its exit status reaped, so a cancel or a timeout never leaves a
 * zombie behind.
 */
#ifndef PROBE_PROC_H
#define PROBE_PROC_H

#include "probe/command.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define PROBE_PROC_STDIN_MAX (4 * 1024 * 1024)

struct probe_proc_result {
    /* the program did not run (or could not be watched): a libuv error
     * code, and what failed when not the program itself ("workdir" with
     * cwd, "pidfd_open", "watch", "queue"), else NULL */
    int err;
    const char *what;
    const char *cwd;
    bool timed_out;           /* killed at the deadline */
    bool exited;              /* exit_status or term_signal is set */
    int64_t exit_status;      /* -1: reaped by someone else */
    int term_signal;          /* > 0: ended by this signal */
    double exit_ms;           /* from the start to the exit */
    const char *out, *errout; /* what was kept of stdout / stderr (not NUL-terminated) */
    size_t out_len, err_len;
    uint64_t out_total;       /* bytes written to stdout, also those past the maximum */
};

typedef void (*probe_proc_done_cb)(void *data, const struct probe_proc_result *r);
typedef void (*probe_proc_closed_cb)(void *data);

struct probe_proc;

/* Starts c's program (c is copied) with stdin_data on its stdin (NULL:
 * /dev/null), at most timeout_ms, keeping out_max bytes of stdout. NULL
 * when out of memory (no callback then). */
struct probe_proc *probe_proc_start(uv_loop_t *loop, const struct probe_command_conf *c, const char *stdin_data,
                                    size_t stdin_len, int64_t timeout_ms, size_t out_max, probe_proc_done_cb done,
                                    probe_proc_closed_cb closed, void *data);
/* No `done` after this (if it has not come yet): the program is killed
 * and reaped, then `closed`. Not to be called after `closed`. */
void probe_proc_cancel(struct probe_proc *p);

#endif
