/*
 * probe/log_state: what a log check remembers between runs (and across a
 * restart of the daemon): the file it follows (device, inode, the offset
 * of the next line, a fingerprint of the first bytes), the rotated file it
 * may still be finishing, and when the last run was. Kept as a small text
 * file per check, written atomically (temporary file, fsync, rename, fsync
 * of the directory). The file is read back on every run, so its parser
 * treats it as untrusted: anything malformed is refused whole. Pure
 * functions plus blocking file I/O: callers run them on libuv's pool.
 */
#ifndef PROBE_LOG_STATE_H
#define PROBE_LOG_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_LOG_STATE_MAX 8192       /* bytes of a state file; a bigger one is refused */
#define PROBE_LOG_PATH_MAX 1024        /* bytes of the followed path, NUL included */
#define PROBE_LOG_HEAD_MAX 256         /* bytes of a file's start its fingerprint covers */

/* One file being read. */
struct probe_log_file {
    uint64_t dev, ino;
    uint64_t offset;      /* next byte to read: a line's start, unless in_line */
    uint64_t head_len;    /* bytes the fingerprint covers (0: none taken yet) */
    uint64_t head_hash;   /* probe_log_state_hash of those bytes */
    bool in_line;         /* offset is inside a line already counted (long or unterminated) */
};

struct probe_log_state {
    char path[PROBE_LOG_PATH_MAX];  /* the path the check follows; another path starts afresh */
    int64_t ts_ms;                  /* wall time of the run that wrote it */
    bool has_cur, has_old;
    struct probe_log_file cur;      /* the file at `path` */
    struct probe_log_file old;      /* a rotated file still being finished */
};

/* FNV-1a 64 of n bytes. */
uint64_t probe_log_state_hash(const void *p, size_t n);

/* Writes st as text into buf (size bytes): the length, or -1 when it does
 * not fit. */
int probe_log_state_encode(const struct probe_log_state *st, char *buf, size_t size);
/* Parses text[0..len) (no NUL needed) into *st: 0, or -1 with a reason
 * (static text) in *why when anything is malformed, missing, repeated or
 * out of range. *st is zeroed first. */
int probe_log_state_parse(const char *text, size_t len, struct probe_log_state *st, const char **why);

/* Reads and parses the state file at `file`: 0; BASE_ERR_NOT_FOUND when
 * there is none; BASE_ERR_INVALID (with *why) when it is malformed;
 * BASE_ERR_IO (errno in *sys_err) when it cannot be read. Blocking. */
int probe_log_state_load(const char *file, struct probe_log_state *st, const char **why, int *sys_err);
/* Writes st to `file` atomically: `tmp` (a name unique to the writer, in
 * the same directory) is written and fsynced, renamed over `file`, and the
 * directory fsynced, so a crash leaves the old state or the new one, never
 * a mix. 0, or a negative errno. Blocking. */
int probe_log_state_save(const char *file, const char *tmp, const struct probe_log_state *st);

#endif
