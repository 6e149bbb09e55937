/*
 * base/proc: figures about this process from /proc (Linux), for /health and
 * the standard process_* metrics. Each call reads a small file; returns a
 * negative value when the figure cannot be read.
 */
#ifndef BASE_PROC_H
#define BASE_PROC_H

#include <stdint.h>

int64_t base_proc_rss_bytes(void);
double base_proc_cpu_seconds(void);  /* user + system */
int base_proc_open_fds(void);
/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit. */
long base_proc_raise_fd_limit(void);
/* RLIMIT_NOFILE's soft limit in force, or -1. */
long base_proc_fd_limit(void);
/* Gives freed heap memory back to the system (glibc malloc_trim): after a
 * burst of many small allocations freed, they would otherwise stay in the
 * process's RSS. Takes a few ms on a large heap: call it now and then. */
void base_proc_release_free_memory(void);
/* Marks every descriptor from `from` up close-on-exec, so that a program
 * this process starts inherits none of them (a library's socket opened
 * without the flag, a descriptor this process itself inherited). One
 * close_range(2) call, else a walk of /proc/self/fd. 0, or -1 when
 * neither works. */
int base_proc_cloexec_from(int from);

#endif
