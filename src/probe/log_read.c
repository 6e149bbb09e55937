/*
 * probe/log_read: the work of one log check run, on a pool thread. The
 * order within a run is what keeps counts exact across rotation: first the
 * rotated file still being finished (lines a writer added to it before it
 * reopened), then the file that was at the path at the previous run, found
 * again by its inode among the rotated names and read to its end, then the
 * file now at the path. Only complete lines count (an unterminated tail is
 * read again next run), except a rotated file's tail, which will not grow,
 * and a line past PROBE_LOG_LINE_MAX, which counts once when its first
 * 64 KiB are in. Owns the buffers and compiled patterns of the run.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "probe/log_read.h"

#include "base/alloc.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u * 1024)           /* one pread: big enough to amortise the call */
#define CANDIDATES_MAX 64             /* rotated names examined per run */
#define MATCH_LIMIT 100000            /* PCRE2 limits: a pathological pattern costs a bounded time per line */
#define DEPTH_LIMIT 10000
#define HEAP_LIMIT_KIB 8192

struct pattern {
    pcre2_code *re;
    pcre2_match_data *md;
};

struct scanner {
    struct probe_log_read *j;
    struct pattern pat[PROBE_LOG_PATTERNS_MAX];
    pcre2_general_context *gc;
    pcre2_match_context *mc;
    char *chunk;
    char *line;                       /* the current line's first PROBE_LOG_LINE_MAX bytes */
    size_t len;                       /* bytes in line */
    uint64_t total;                   /* bytes of the current line so far */
};

static void note(struct probe_log_read *j, bool down, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(struct probe_log_read *j, bool down, const char *fmt, ...)
{
    /* The first reason stays, unless a down one comes after a degraded one. */
    if (j->error[0] && (j->down || !down))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof(j->error), fmt, ap);
    va_end(ap);
    if (down)
        j->down = true;
    else
        j->degraded = true;
}

/* ---- patterns ---- */

static void *pcre_malloc(size_t n, void *ud)
{
    (void)ud;
    return base_malloc(n);
}

static void pcre_free(void *p, void *ud)
{
    (void)ud;
    base_free(p);
}

static int scanner_init(struct scanner *s, struct probe_log_read *j)
{
    memset(s, 0, sizeof(*s));
    s->j = j;
    if (!(s->chunk = base_malloc(CHUNK)) || !(s->line = base_malloc(PROBE_LOG_LINE_MAX)))
        return BASE_ERR_NOMEM;
    if (!(s->gc = pcre2_general_context_create(pcre_malloc, pcre_free, NULL)) ||
        !(s->mc = pcre2_match_context_create(s->gc)))
        return BASE_ERR_NOMEM;
    pcre2_set_match_limit(s->mc, MATCH_LIMIT);
    pcre2_set_depth_limit(s->mc, DEPTH_LIMIT);
    pcre2_set_heap_limit(s->mc, HEAP_LIMIT_KIB);
    for (size_t i = 0; i < j->n_patterns; i++) {
        int err;
        PCRE2_SIZE off;
        /* The load validated the pattern with the same options. */
        s->pat[i].re = pcre2_compile((PCRE2_SPTR)j->regex[i], PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &err, &off, NULL);
        if (!s->pat[i].re || !(s->pat[i].md = pcre2_match_data_create_from_pattern(s->pat[i].re, s->gc)))
            return s->pat[i].re ? BASE_ERR_NOMEM : BASE_ERR_INVALID;
        (void)pcre2_jit_compile(s->pat[i].re, PCRE2_JIT_COMPLETE); /* without JIT it still matches, slower */
    }
    return 0;
}

static void scanner_free(struct scanner *s)
{
    for (size_t i = 0; i < PROBE_LOG_PATTERNS_MAX; i++) {
        pcre2_match_data_free(s->pat[i].md);
        pcre2_code_free(s->pat[i].re);
    }
    pcre2_match_context_free(s->mc);
    pcre2_general_context_free(s->gc);
    base_free(s->chunk);
    base_free(s->line);
}

static void keep_last(struct probe_log_read *j, const char *line, size_t len)
{
    char *slot = j->last[j->last_next];
    size_t n = len < PROBE_LOG_LAST_LINE_MAX - 1 ? len : PROBE_LOG_LAST_LINE_MAX - 1;
    memcpy(slot, line, n);
    slot[n] = '\0'; /* NUL bytes inside the line shorten it: it is only shown */
    j->last_next = (j->last_next + 1) % PROBE_LOG_LAST_LINES;
    if (j->n_last < PROBE_LOG_LAST_LINES)
        j->n_last++;
}

/* The current line is complete: count it, once. */
static void line_done(struct scanner *s)
{
    struct probe_log_read *j = s->j;
    size_t len = s->len;
    if (len && s->line[len - 1] == '\r')
        len--;
    bool any = false;
    for (size_t i = 0; i < j->n_patterns; i++) {
        int m = pcre2_match(s->pat[i].re, (PCRE2_SPTR)s->line, len, 0, 0, s->pat[i].md, s->mc);
        if (m >= 0) {
            j->matches[i]++;
            any = true;
        } else if (m != PCRE2_ERROR_NOMATCH) {
            j->limit_hits++;
        }
    }
    if (any)
        keep_last(j, s->line, len);
    j->lines++;
    s->len = 0;
    s->total = 0;
}

/* ---- reading one file ---- */

/* Feeds bytes to the scanner; *skipping is true inside a line counted
 * already; *line_start follows the start of the current line. */
static void feed(struct scanner *s, const char *p, size_t n, uint64_t pos, bool *skipping, uint64_t *line_start)
{
    const char *base = p, *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t seg = (size_t)((nl ? nl : end) - p);
        if (!*skipping) {
            size_t room = PROBE_LOG_LINE_MAX - s->len, take = seg < room ? seg : room;
            memcpy(s->line + s->len, p, take);
            s->len += take;
            s->total += seg;
        }
        if (nl) {
            if (!*skipping)
                line_done(s);
            *skipping = false;
            *line_start = pos + (uint64_t)(nl + 1 - base);
        }
        p = nl ? nl + 1 : end;
    }
}

/* Reads fd from f->offset, at most the job's budget. `final`: the file
 * will not grow (a rotated one): its unterminated tail counts now. */
static int read_from(struct scanner *s, int fd, struct probe_log_file *f, bool final)
{
    struct probe_log_read *j = s->j;
    uint64_t pos = f->offset, line_start = f->offset;
    bool skipping = f->in_line, eof = false;
    s->len = 0;
    s->total = 0;
    while (j->budget > 0) {
        /* a run abandoned at its deadline stops here, not 64 MiB later */
        if (atomic_load(&j->phase) == PROBE_LOG_READ_ABANDONED)
            return -ECANCELED;
        size_t want = j->budget < CHUNK ? (size_t)j->budget : CHUNK;
        ssize_t n = pread(fd, s->chunk, want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) {
            eof = true;
            break;
        }
        feed(s, s->chunk, (size_t)n, pos, &skipping, &line_start);
        pos += (uint64_t)n;
        j->budget -= (uint64_t)n;
        j->bytes_read += (uint64_t)n;
    }
    if (skipping || (!s->total && !s->len)) {
        f->offset = pos;
        f->in_line = skipping;
    } else if ((eof && final) || s->total >= PROBE_LOG_LINE_MAX) {
        line_done(s);
        f->offset = pos;
        f->in_line = true;
    } else {
        f->offset = line_start; /* an unfinished line: read again next run */
        f->in_line = false;
    }
    return 0;
}

/* The fingerprint of fd's first min(size, PROBE_LOG_HEAD_MAX) bytes. */
static int head_of(int fd, uint64_t size, uint64_t *len, uint64_t *hash)
{
    char buf[PROBE_LOG_HEAD_MAX];
    size_t want = size < sizeof(buf) ? (size_t)size : sizeof(buf), got = 0;
    while (got < want) {
        ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        got += (size_t)n;
    }
    *len = got;
    *hash = probe_log_state_hash(buf, got);
    return 0;
}

/* Extends the fingerprint while the file is shorter than its reach. */
static void update_head(int fd, uint64_t size, struct probe_log_file *f)
{
    if (f->head_len < PROBE_LOG_HEAD_MAX && size > f->head_len && head_of(fd, size, &f->head_len, &f->head_hash))
        f->head_len = 0;
}

/* ---- rotated files ---- */

/* Is the open file fd (stat st) the one f describes? By its inode, or for
 * a copy (copytruncate) by its size and the fingerprint of its start. */
static bool is_file(int fd, const struct stat *st, const struct probe_log_file *f, bool by_head)
{
    uint64_t len, hash;
    if (!by_head)
        return (uint64_t)st->st_ino == f->ino && (uint64_t)st->st_dev == f->dev;
    if ((uint64_t)st->st_ino == f->ino && (uint64_t)st->st_dev == f->dev)
        return false; /* the truncated file itself */
    return (uint64_t)st->st_size >= f->offset && head_of(fd, f->head_len, &len, &hash) == 0 && len == f->head_len &&
           hash == f->head_hash;
}

/* Opens the file among the rotated names that is f (see is_file): an fd,
 * or -1 when none is. */
static int open_rotated(struct probe_log_read *j, const struct probe_log_file *f, bool by_head, struct stat *st)
{
    char one[PROBE_LOG_PATH_MAX + 8];
    const char *single = one;
    glob_t g = {0};
    size_t n = 1;
    if (j->rotated[0]) {
        if (glob(j->rotated, GLOB_NOSORT, NULL, &g) != 0) {
            globfree(&g);
            return -1;
        }
        n = g.gl_pathc < CANDIDATES_MAX ? g.gl_pathc : CANDIDATES_MAX;
    } else {
        snprintf(one, sizeof(one), "%s.1", j->path);
    }
    int fd = -1;
    for (size_t i = 0; i < n && fd < 0; i++) {
        const char *name = j->rotated[0] ? g.gl_pathv[i] : single;
        struct stat s;
        if (stat(name, &s) != 0 || !S_ISREG(s.st_mode) || (!by_head && !is_file(-1, &s, f, false)))
            continue;
        fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && (fstat(fd, st) != 0 || !is_file(fd, st, f, by_head))) {
            close(fd); /* rotated again between the stat and the open, or not the copy */
            fd = -1;
        }
    }
    if (j->rotated[0])
        globfree(&g);
    return fd;
}

/* Reads what is left of rotated file f (found by its inode, or for a
 * copy by its start): true when it was found. */
static bool finish_rotated(struct scanner *s, struct probe_log_file *f, bool by_head)
{
    struct stat st;
    int fd = open_rotated(s->j, f, by_head, &st);
    if (fd < 0)
        return false;
    uint64_t size = (uint64_t)st.st_size;
    if (size >= f->offset && read_from(s, fd, f, true) == 0 && size > f->offset)
        s->j->bytes_behind += size - f->offset;
    close(fd);
    return size >= f->offset;
}

/* Same inode as before: was it truncated (copytruncate) or rewritten from
 * the start since? Then the lines it held past the offset are read from
 * the copy among the rotated names (the one starting with the same bytes),
 * and the file is read again from 0. Lines written between logrotate's
 * copy and its truncate are in neither file. */
static void check_truncated(struct scanner *s, int fd, uint64_t size, struct probe_log_file *f)
{
    uint64_t len, hash;
    bool reset = size < f->offset;
    if (!reset && f->head_len)
        reset = size < f->head_len || head_of(fd, f->head_len, &len, &hash) != 0 || hash != f->head_hash;
    if (!reset)
        return;
    if (f->head_len && f->offset) {
        struct probe_log_file copy = *f;
        (void)finish_rotated(s, &copy, true);
    }
    f->offset = 0;
    f->in_line = false;
    f->head_len = 0;
}

static void lost_rotated(struct probe_log_read *j, const struct probe_log_file *f)
{
    note(j, false, "the rotated file with the rest of %.100s (from byte %" PRIu64 ") was not found "
         "(compressed or removed before it was read): its lines after that byte are not counted", j->path, f->offset);
}

/* ---- the run ---- */

static void load_state(struct probe_log_read *j, struct probe_log_state *st, bool *known)
{
    const char *why = "";
    int sys = 0, rc = probe_log_state_load(j->state_file, st, &why, &sys);
    *known = rc == 0 && strcmp(st->path, j->path) == 0;
    if (rc == 0 && *known) {
        j->prev_ts_ms = st->ts_ms;
        return;
    }
    memset(st, 0, sizeof(*st));
    snprintf(st->path, sizeof(st->path), "%s", j->path);
    if (rc == BASE_ERR_INVALID)
        note(j, false, "state file was malformed (%s): started again from the %s of the file", why,
             j->from_start ? "start" : "end");
    else if (rc == BASE_ERR_IO)
        note(j, true, "cannot read the state file: %s", strerror(sys));
}

/* The file now at the path: opened, fstat'ed, and placed in st->cur. */
static int follow_current(struct scanner *s, struct probe_log_state *st, bool known)
{
    struct probe_log_read *j = s->j;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        note(j, true, "cannot open %.160s: %s", j->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)sb.st_size;
    bool same = st->has_cur && st->cur.dev == (uint64_t)sb.st_dev && st->cur.ino == (uint64_t)sb.st_ino;
    if (same) {
        check_truncated(s, fd, size, &st->cur);
    } else {
        memset(&st->cur, 0, sizeof(st->cur));
        st->cur.dev = (uint64_t)sb.st_dev;
        st->cur.ino = (uint64_t)sb.st_ino;
        if (!known && !j->from_start && size > 0) {
            /* First sight of the file: from its end, inside the last line
             * when it is unterminated (its rest is not a line of its own). */
            char last = '\n';
            st->cur.offset = size;
            st->cur.in_line = pread(fd, &last, 1, (off_t)(size - 1)) == 1 && last != '\n';
        }
    }
    st->has_cur = true;
    int rc = read_from(s, fd, &st->cur, false);
    if (rc)
        note(j, true, "cannot read %.160s: %s", j->path, strerror(-rc));
    if (size > st->cur.offset)
        j->bytes_behind += size - st->cur.offset;
    update_head(fd, size, &st->cur);
    close(fd);
    return rc;
}

/* Did the file at the path change since the previous run (a rotation)? */
static bool rotated_away(const struct probe_log_read *j, const struct probe_log_state *st)
{
    struct stat sb;
    if (!st->has_cur)
        return false;
    if (stat(j->path, &sb) != 0)
        return errno == ENOENT; /* renamed, not created again yet */
    return (uint64_t)sb.st_dev != st->cur.dev || (uint64_t)sb.st_ino != st->cur.ino;
}

/* Makes the directory of the state file (the data directory's log-state/,
 * made on first use): 0 or a negative errno. */
static int make_state_dir(const struct probe_log_read *j)
{
    char dir[sizeof(j->state_file)];
    snprintf(dir, sizeof(dir), "%s", j->state_file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    return mkdir(dir, 0750) == 0 || errno == EEXIST ? 0 : -errno;
}

/* Two runs of one check may overlap (a run-now beside a scheduled run, a
 * run abandoned at its deadline still working): each would count the same
 * lines from the same state. An exclusive flock on "<state>.lock", held
 * from before the state is read until after it is written, puts them one
 * after the other; the second then starts where the first ended. Returns
 * the locked fd (closing it unlocks), or -1 with the reason noted. */
#define LOCK_WAIT_MS 2000   /* longest wait for another run's state lock */

static int lock_state(struct probe_log_read *j)
{
    char name[sizeof(j->state_file) + 8];
    snprintf(name, sizeof(name), "%s.lock", j->state_file);
    int fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == ENOENT && make_state_dir(j) == 0)
        fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        note(j, true, "cannot open the state lock: %s", strerror(errno));
        return -1;
    }
    /* Another run of this check holds it (a run-now beside a scheduled run):
     * wait for it, but never block a pool thread for long nor past this
     * run's own abandonment. */
    for (int tries = 0;; tries++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            note(j, true, "cannot lock the state: %s", strerror(errno));
            break;
        }
        if (tries >= LOCK_WAIT_MS / 10 || atomic_load(&j->phase) == PROBE_LOG_READ_ABANDONED) {
            note(j, true, "another run of this check still holds its state (for %d ms)", LOCK_WAIT_MS);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    close(fd);
    return -1;
}

static void commit(struct probe_log_read *j, const struct probe_log_state *st)
{
    int expected = PROBE_LOG_READ_RUNNING;
    if (!atomic_compare_exchange_strong(&j->phase, &expected, PROBE_LOG_READ_COMMITTING))
        return; /* abandoned: the next run reads these lines again */
    int rc = probe_log_state_save(j->state_file, j->state_tmp, st);
    if (rc == -ENOENT && make_state_dir(j) == 0)
        rc = probe_log_state_save(j->state_file, j->state_tmp, st);
    if (rc) {
        note(j, true, "cannot write the state file: %s", strerror(-rc));
        return;
    }
    j->committed = true;
}

static void run_stateless(struct scanner *s)
{
    struct probe_log_state st;
    memset(&st, 0, sizeof(st));
    /* opshub check: the whole current file, its tail included. */
    int fd = open(s->j->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        note(s->j, true, "cannot open %.160s: %s", s->j->path, strerror(errno));
    } else {
        int rc = read_from(s, fd, &st.cur, true);
        if (rc)
            note(s->j, true, "cannot read %.160s: %s", s->j->path, strerror(-rc));
        if ((uint64_t)sb.st_size > st.cur.offset)
            s->j->bytes_behind = (uint64_t)sb.st_size - st.cur.offset;
    }
    if (fd >= 0)
        close(fd);
}

void probe_log_read_run(struct probe_log_read *j)
{
    struct scanner s;
    struct probe_log_state st;
    bool known = false;
    int lock = -1;
    int rc = scanner_init(&s, j);
    if (rc) {
        note(j, true, rc == BASE_ERR_NOMEM ? "out of memory" : "a pattern does not compile");
        goto out;
    }
    if (!j->state_file[0]) {
        run_stateless(&s);
        goto out;
    }
    if ((lock = lock_state(j)) < 0)
        goto out;
    load_state(j, &st, &known);
    if (j->down)
        goto out;
    if (st.has_old && !finish_rotated(&s, &st.old, false))
        st.has_old = false;
    if (rotated_away(j, &st)) {
        /* The file of the previous run, finished under its rotated name
         * before the new file is read: lines stay in order, none lost. */
        struct probe_log_file prev = st.cur;
        if (finish_rotated(&s, &prev, false)) {
            st.old = prev;
            st.has_old = true;
        } else {
            lost_rotated(j, &prev);
        }
        st.has_cur = false;
        known = true; /* the new file at the path is read from its start */
    }
    /* A file that cannot be opened keeps its place: when it can be read
     * again (permissions fixed), reading goes on from there. */
    (void)follow_current(&s, &st, known);
    st.ts_ms = j->now_ms;
    commit(j, &st);
out:
    if (lock >= 0)
        close(lock);
    scanner_free(&s);
}

bool probe_log_read_abandon(struct probe_log_read *j)
{
    int expected = PROBE_LOG_READ_RUNNING;
    return atomic_compare_exchange_strong(&j->phase, &expected, PROBE_LOG_READ_ABANDONED);
}
