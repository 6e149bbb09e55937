/*
 * probe/log: the `log` check type: follows a log file across rotation
 * (rename + create, copytruncate, delaycompress) and counts the lines
 * matching named PCRE2 patterns since the previous run. All file work
 * (state file, reads, matching) runs on libuv's pool in one job per run
 * (probe/log_read.c); the loop side only queues it, bounds it with the
 * check's timeout and reports the sample. The offsets live in a state file
 * per check under the daemon's data directory (probe/log_state.c), so a
 * restart neither counts a line twice nor misses one.
 */
#ifndef PROBE_LOG_H
#define PROBE_LOG_H

#include "conf/conf.h"

#include <stddef.h>

struct probe_run;

/* Patterns per check: each gives two sample values, and a sample holds
 * SAMPLE_VALUES_MAX (12); two more are the type's own. */
#define PROBE_LOG_PATTERNS_MAX 5
/* A pattern name is a sample value name part: "<name>_matches_per_minute"
 * must stay under SAMPLE_VALUE_NAME_MAX (32) bytes. */
#define PROBE_LOG_NAME_MAX 12
#define PROBE_LOG_REGEX_MAX 1024
/* Bytes read per run over all files; the rest waits for the next run. */
#define PROBE_LOG_READ_MAX (64u * 1024 * 1024)
/* A longer line counts once and is matched on its first 64 KiB. */
#define PROBE_LOG_LINE_MAX (64u * 1024)
/* The last matching lines kept per run, each cut to 512 bytes. */
#define PROBE_LOG_LAST_LINES 5
#define PROBE_LOG_LAST_LINE_MAX 512

struct probe_log_pattern {
    const char *name;        /* [a-z_][a-z0-9_]*, at most PROBE_LOG_NAME_MAX bytes */
    const char *regex;       /* PCRE2, UTF-8, compiled at load to validate it */
    long long warn, crit;    /* matches in one run that make it degraded / down; 0 = none */
};

struct probe_log_patterns {
    struct probe_log_pattern *items;
    size_t n;
};

/* The settings of a log check (conf_check.settings). */
struct probe_log_conf {
    const char *path;        /* absolute */
    const char *rotated;     /* absolute glob of rotated names; NULL = "<path>.1" */
    const char *from;        /* "end" (default) or "start": where a never-seen file is first read */
    struct probe_log_patterns patterns;
};

extern const struct conf_check_type probe_log_type;

#endif
