/*
 * probe/log_state: the log check's state file. A line-based text format,
 * versioned, with the path hex-encoded (any byte may appear in a path) and
 * an `end` line, so that a file cut short is refused rather than read as
 * an older position:
 *
 *   opshub-log-state 1
 *   path 2f7661722f6c6f672f6170702e6c6f67
 *   ts_ms 1700000000000
 *   cur <dev> <ino> <offset> <head_len> <head_hash> <in_line 0|1>
 *   old <dev> <ino> <offset> <head_len> <head_hash> <in_line 0|1>
 *   end
 *
 * cur and old are optional. Owns nothing; blocking I/O only in load/save.
 */
#include "probe/log_state.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "opshub-log-state 1"

uint64_t probe_log_state_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- encode ---- */

static int put(char *buf, size_t size, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = *at < size ? vsnprintf(buf + *at, size - *at, fmt, ap) : -1;
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *at)
        return -1;
    *at += (size_t)n;
    return 0;
}

static int put_file(char *buf, size_t size, size_t *at, const char *key, const struct probe_log_file *f)
{
    return put(buf, size, at, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n", key, f->dev,
               f->ino, f->offset, f->head_len, f->head_hash, f->in_line ? 1 : 0);
}

int probe_log_state_encode(const struct probe_log_state *st, char *buf, size_t size)
{
    size_t at = 0, plen = strnlen(st->path, sizeof(st->path));
    if (plen == sizeof(st->path) || put(buf, size, &at, MAGIC "\npath "))
        return -1;
    for (size_t i = 0; i < plen; i++)
        if (put(buf, size, &at, "%02x", (unsigned char)st->path[i]))
            return -1;
    if (put(buf, size, &at, "\nts_ms %" PRId64 "\n", st->ts_ms < 0 ? 0 : st->ts_ms))
        return -1;
    if (st->has_cur && put_file(buf, size, &at, "cur", &st->cur))
        return -1;
    if (st->has_old && put_file(buf, size, &at, "old", &st->old))
        return -1;
    if (put(buf, size, &at, "end\n") || at > (size_t)INT32_MAX)
        return -1;
    return (int)at;
}

/* ---- parse ---- */

/* A decimal number of at most 20 digits that fits in 64 bits, ending at a
 * space or the end of the field: advances *p. */
static bool read_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
        if (++digits > 20)
            return false;
    }
    if (!digits || (s < end && *s != ' '))
        return false;
    *p = s < end ? s + 1 : s;
    *out = v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool parse_path(const char *s, const char *end, char *out, size_t size)
{
    size_t n = (size_t)(end - s);
    if (!n || n % 2 || n / 2 >= size)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false; /* a NUL would cut the path short */
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    return true;
}

static bool parse_file(const char *s, const char *end, struct probe_log_file *f)
{
    uint64_t in_line;
    if (!read_u64(&s, end, &f->dev) || !read_u64(&s, end, &f->ino) || !read_u64(&s, end, &f->offset) ||
        !read_u64(&s, end, &f->head_len) || !read_u64(&s, end, &f->head_hash) || !read_u64(&s, end, &in_line))
        return false;
    if (s != end || in_line > 1 || f->head_len > PROBE_LOG_HEAD_MAX || f->offset > (uint64_t)INT64_MAX)
        return false;
    f->in_line = in_line == 1;
    return true;
}

enum { K_PATH, K_TS, K_CUR, K_OLD, K_END, K_N };
static const char *const keys[K_N] = {"path", "ts_ms", "cur", "old", "end"};

/* One line (without its \n): which key, its argument. */
static int parse_line(const char *s, const char *end, struct probe_log_state *st, int *key, const char **why)
{
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    const char *kend = sp ? sp : end, *arg = sp ? sp + 1 : end;
    *key = -1;
    for (int k = 0; k < K_N; k++)
        if ((size_t)(kend - s) == strlen(keys[k]) && memcmp(s, keys[k], (size_t)(kend - s)) == 0)
            *key = k;
    uint64_t ts;
    switch (*key) {
    case K_PATH:
        *why = "bad path";
        return parse_path(arg, end, st->path, sizeof(st->path)) ? 0 : -1;
    case K_TS:
        *why = "bad ts_ms";
        if (!read_u64(&arg, end, &ts) || arg != end || ts > (uint64_t)INT64_MAX)
            return -1;
        st->ts_ms = (int64_t)ts;
        return 0;
    case K_CUR:
        *why = "bad cur line";
        st->has_cur = true;
        return parse_file(arg, end, &st->cur) ? 0 : -1;
    case K_OLD:
        *why = "bad old line";
        st->has_old = true;
        return parse_file(arg, end, &st->old) ? 0 : -1;
    case K_END:
        *why = "bad end line";
        return sp ? -1 : 0;
    default:
        *why = "unknown line";
        return -1;
    }
}

int probe_log_state_parse(const char *text, size_t len, struct probe_log_state *st, const char **why)
{
    memset(st, 0, sizeof(*st));
    const char *p = text, *end = text + len;
    size_t mlen = strlen(MAGIC);
    unsigned seen = 0;
    *why = "not a log state file (version 1)";
    if (len > PROBE_LOG_STATE_MAX || len < mlen + 1 || memcmp(p, MAGIC "\n", mlen + 1) != 0)
        goto fail;
    p += mlen + 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        int key;
        if (!nl) {
            *why = "unterminated line";
            goto fail;
        }
        if (seen & (1u << K_END)) {
            *why = "text after the end line";
            goto fail;
        }
        if (parse_line(p, nl, st, &key, why))
            goto fail;
        if (seen & (1u << key)) {
            *why = "repeated line";
            goto fail;
        }
        seen |= 1u << key;
        p = nl + 1;
    }
    if (!(seen & (1u << K_END))) {
        *why = "cut short (no end line)";
        goto fail;
    }
    if (!(seen & (1u << K_PATH)) || !(seen & (1u << K_TS))) {
        *why = "path or ts_ms missing";
        goto fail;
    }
    return 0;
fail:
    memset(st, 0, sizeof(*st));
    return -1;
}

/* ---- files ---- */

int probe_log_state_load(const char *file, struct probe_log_state *st, const char **why, int *sys_err)
{
    char buf[PROBE_LOG_STATE_MAX + 1];
    size_t n = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *sys_err = errno;
        return errno == ENOENT ? BASE_ERR_NOT_FOUND : BASE_ERR_IO;
    }
    while (n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *sys_err = errno;
            close(fd);
            return BASE_ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > PROBE_LOG_STATE_MAX) {
        *why = "bigger than 8192 bytes";
        return BASE_ERR_INVALID;
    }
    return probe_log_state_parse(buf, n, st, why) ? BASE_ERR_INVALID : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync of the directory holding `file`, so the rename itself is durable. */
static int sync_dir(const char *file)
{
    char copy[PROBE_LOG_PATH_MAX + 256];   /* any state file name (data dir + id) fits */
    if ((size_t)snprintf(copy, sizeof(copy), "%s", file) >= sizeof(copy))
        return -ENAMETOOLONG;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

int probe_log_state_save(const char *file, const char *tmp, const struct probe_log_state *st)
{
    char buf[PROBE_LOG_STATE_MAX];
    int len = probe_log_state_encode(st, buf, sizeof(buf));
    if (len < 0)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, buf, (size_t)len);
    if (!rc && fsync(fd))
        rc = -errno;
    if (close(fd) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, file))
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return sync_dir(file);
}
