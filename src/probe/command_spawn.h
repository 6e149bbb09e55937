/*
 * probe/command_spawn: starts the program of a command check without
 * fork(). uv_spawn forks the whole daemon on the loop thread and waits
 * there until the child has called exec: on this kind of machine that
 * blocked the loop 3.2 ms per run (median, 20 runs/s; p90 8.6 ms, max 18
 * ms; docs/decisions.md), mostly copying page tables and the copy-on-write
 * faults and TLB shootdowns of the daemon's other threads. posix_spawn
 * (glibc: clone with CLONE_VM|CLONE_VFORK, no copy) on a thread-pool
 * thread starts it instead; the loop learns of its exit through a pidfd.
 *
 * prepare runs on the loop (copies what the pool thread needs), run on a
 * pool thread (no libuv call, no shared state), free on the loop.
 */
#ifndef PROBE_COMMAND_SPAWN_H
#define PROBE_COMMAND_SPAWN_H

#include "probe/command.h"

#include <sys/types.h>

struct probe_command_spawn {
    /* in: one allocation owned by the struct */
    char **argv;              /* NULL-terminated; with shell: /bin/sh -c ... */
    char **envp;              /* NULL-terminated */
    const char *cwd;
    void *block;
    bool want_stdin;          /* stdin is a pipe whose write end is in_fd, else /dev/null */
    /* out of run */
    int err;                  /* 0, or a negative errno (a libuv error code) */
    const char *what;         /* what failed when not the program itself ("workdir"), else NULL */
    pid_t pid;                /* > 0 once started: leader of its own session and process group */
    int pidfd, out_fd, err_fd, in_fd; /* -1 when not open; taken (set to -1) by whoever closes them */
};

/* Fills sp from the settings: 0, or UV_ENOMEM. */
int probe_command_spawn_prepare(struct probe_command_spawn *sp, const struct probe_command_conf *c);
/* Starts the program (any thread): the program found in envp's PATH when
 * argv[0] has no '/', stdin /dev/null (or with want_stdin a pipe
 * whose write end is in_fd), stdout and stderr pipes whose read
 * ends are out_fd and err_fd, cwd, a new session, every signal at its
 * default and none blocked, no other descriptor of this process. On
 * failure nothing is left running or open and err says why. */
void probe_command_spawn_run(struct probe_command_spawn *sp);
/* Closes whatever descriptors are still held and frees the inputs. */
void probe_command_spawn_free(struct probe_command_spawn *sp);

#endif
