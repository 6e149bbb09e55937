/*
 * conf/files: the files of one configuration load. Reads a file under the
 * size limit and parses it into a node tree naming that file; expands the
 * main file's `include:` glob patterns (relative to the main file's
 * directory) into the ordered list of files to read; keeps the load within
 * CONF_MAX_FILES and CONF_MAX_TOTAL_BYTES and reads no file twice. Errors name the file, or the include pattern that failed, at
 * FILE:LINE:COL. Knows nothing of the schema: conf.c decides what a file
 * may hold.
 */
#include "conf/conf_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_MIN 4096

/* Reads the whole of fd, at most CONF_MAX_FILE + 1 bytes (one more shows an
 * oversized file), into a NUL-terminated buffer the caller frees with
 * base_free. hint is the size fstat saw; the file may change while read. */
static int read_fd(int fd, size_t hint, char **out, size_t *out_len)
{
    size_t cap = (hint < CONF_MAX_FILE ? hint : CONF_MAX_FILE) + 2, len = 0;
    if (cap < READ_MIN)
        cap = READ_MIN;
    char *buf = base_malloc(cap);
    if (!buf)
        return BASE_ERR_NOMEM;
    for (;;) {
        if (len + 1 == cap) {
            if (len > CONF_MAX_FILE)
                break;
            size_t grown = cap * 2 < CONF_MAX_FILE + 2 ? cap * 2 : CONF_MAX_FILE + 2;
            char *bigger = base_realloc(buf, grown);
            if (!bigger) {
                base_free(buf);
                return BASE_ERR_NOMEM;
            }
            buf = bigger;
            cap = grown;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            base_free(buf);
            errno = saved;
            return BASE_ERR_IO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* Reports a problem with a whole file: at the include pattern that named it
 * when there is one (its line is where to fix it), else at the file itself. */
static void file_error(struct conf_ctx *ctx, const char *path, const struct conf_node *from,
                       const char *problem)
{
    if (from) {
        conf_value_error(ctx, from, "included file '%s': %s", path, problem);
        return;
    }
    const char *saved = ctx->file;
    ctx->file = path;
    conf_value_error(ctx, NULL, "%s", problem);
    ctx->file = saved;
}

/* True when this device:inode was read before in the load; else records it. */
static int seen_before(struct conf_ctx *ctx, const struct stat *st, bool *seen)
{
    char key[48];
    snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
    *seen = base_map_get(&ctx->files_seen, key) != NULL;
    if (*seen)
        return 0;
    char *copy = base_arena_strdup(ctx->keep, key);
    if (!copy || base_map_put(&ctx->files_seen, copy, copy) != 0)
        return BASE_ERR_NOMEM;
    return 0;
}

/* Opens and reads path; 0, BASE_ERR_EXISTS (read before), or an error after reporting. */
static int read_file(struct conf_ctx *ctx, const char *path, const struct conf_node *from,
                     char **text, size_t *len)
{
    char problem[160];
    struct stat st;
    bool seen = false;
    int rc = BASE_ERR_IO;
    /* An included file must be a regular file: O_NONBLOCK so that a FIFO
     * matched by a pattern cannot stall the load in open(). The main file
     * may be anything readable (--config /dev/stdin). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | (from ? O_NONBLOCK : 0));
    if (fd < 0 || fstat(fd, &st) != 0)
        goto io_fail;
    if (from && !S_ISREG(st.st_mode)) {
        snprintf(problem, sizeof(problem), "%s", S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        rc = BASE_ERR_INVALID;
        goto report;
    }
    if ((rc = seen_before(ctx, &st, &seen)) != 0)
        goto fail;
    if (seen) {
        close(fd);
        return BASE_ERR_EXISTS;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > CONF_MAX_FILE) {
        snprintf(problem, sizeof(problem), "file is too large (%ju bytes; at most %u)",
                 (uintmax_t)st.st_size, CONF_MAX_FILE);
        rc = BASE_ERR_INVALID;
        goto report;
    }
    rc = read_fd(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, text, len);
    if (rc == BASE_ERR_IO)
        goto io_fail;
    if (rc)
        goto fail;
    close(fd);
    if (*len > CONF_MAX_FILE) {
        base_free(*text);
        *text = NULL;
        snprintf(problem, sizeof(problem), "file is too large (more than %u bytes)", CONF_MAX_FILE);
        file_error(ctx, path, from, problem);
        return BASE_ERR_INVALID;
    }
    return 0;
io_fail:
    snprintf(problem, sizeof(problem), "cannot read: %s", strerror(errno));
report:
    file_error(ctx, path, from, problem);
fail:
    if (rc == BASE_ERR_NOMEM)
        ctx->nomem = true;
    if (fd >= 0)
        close(fd);
    return rc;
}

int conf_files_parse(struct conf_ctx *ctx, const char *path, const struct conf_node *from,
                     struct conf_node **root)
{
    char *text = NULL;
    size_t len = 0;
    *root = NULL;
    int rc = read_file(ctx, path, from, &text, &len);
    if (rc)
        return rc;
    ctx->n_bytes += len;
    if (ctx->n_bytes > CONF_MAX_TOTAL_BYTES) {
        char problem[160];
        snprintf(problem, sizeof(problem), "the configuration files are larger than %u MiB in total",
                 CONF_MAX_TOTAL_BYTES >> 20);
        file_error(ctx, path, from, problem);
        base_free(text);
        return BASE_ERR_INVALID;
    }
    const char *saved = ctx->file;
    ctx->file = path;
    rc = conf_yaml_parse(ctx, text, len, root);
    ctx->file = saved;
    base_free(text);
    return rc;
}

/* ---- include patterns ---- */

struct file_list {
    const char **paths;
    const struct conf_node **from;
    size_t n, cap;
    bool full; /* CONF_MAX_FILES reached (and reported) */
};

static bool has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Appends a copy of path (conf arena); false after reporting. */
static bool list_add(struct conf_ctx *ctx, struct file_list *l, const char *path,
                     const struct conf_node *from)
{
    if (l->n + 1 >= CONF_MAX_FILES) { /* the main file is one of them */
        conf_value_error(ctx, from, "too many included files (at most %d in all)", CONF_MAX_FILES - 1);
        l->full = true;
        return false;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **paths = base_arena_alloc(ctx->keep, cap * sizeof(*paths));
        const struct conf_node **from_ = base_arena_alloc(ctx->keep, cap * sizeof(*from_));
        if (!paths || !from_) {
            ctx->nomem = true;
            return false;
        }
        if (l->n) {
            memcpy(paths, l->paths, l->n * sizeof(*paths));
            memcpy(from_, l->from, l->n * sizeof(*from_));
        }
        l->paths = paths;
        l->from = from_;
        l->cap = cap;
    }
    l->paths[l->n] = base_arena_strdup(&ctx->conf->arena, path);
    l->from[l->n] = conf_value_pin(ctx, from);
    if (!l->paths[l->n] || !l->from[l->n]) {
        ctx->nomem = true;
        return false;
    }
    l->n++;
    return true;
}

/* glob(3)'s error callback has no context argument: the first failure of
 * the current call is kept here (one load runs on one thread). */
static _Thread_local int glob_errno;
static _Thread_local char glob_errpath[256];

static int on_glob_error(const char *epath, int eerrno)
{
    if (eerrno == ENOENT || eerrno == ENOTDIR)
        return 0; /* a directory that is not there matches nothing */
    glob_errno = eerrno;
    snprintf(glob_errpath, sizeof(glob_errpath), "%s", epath);
    return 1;
}

/* dir + pattern, dir's glob characters escaped when `escape`; in ctx->tmp. */
static char *join(struct conf_ctx *ctx, const char *dir, size_t dir_len, const char *pattern,
                  bool escape)
{
    size_t plen = strlen(pattern);
    char *out = base_arena_alloc(&ctx->tmp, dir_len * 2 + plen + 1);
    size_t o = 0;
    if (!out) {
        ctx->nomem = true;
        return NULL;
    }
    for (size_t i = 0; i < dir_len; i++) {
        if (escape && strchr("*?[\\", dir[i]))
            out[o++] = '\\';
        out[o++] = dir[i];
    }
    memcpy(out + o, pattern, plen + 1);
    return out;
}

static void expand_glob(struct conf_ctx *ctx, struct file_list *l, const char *pattern,
                        const struct conf_node *at, const char *shown)
{
    glob_t g;
    memset(&g, 0, sizeof(g));
    glob_errno = 0;
    int rc = glob(pattern, GLOB_MARK, on_glob_error, &g);
    if (rc == GLOB_NOSPACE) {
        ctx->nomem = true;
    } else if (rc == GLOB_ABORTED) {
        conf_value_error(ctx, at, "include '%s': cannot read directory '%s': %s", shown,
                         glob_errpath, strerror(glob_errno ? glob_errno : EIO));
    } else if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
        /* A pattern for every .yaml file in a conf.d that is still empty: normal. */
        char where[512];
        snprintf(where, sizeof(where), "%s:%d:%d", at->file ? at->file : ctx->file, at->line, at->col);
        base_log_info("include pattern matched no files", BASE_LOG_STR("pattern", shown),
                      BASE_LOG_STR("at", where));
    } else if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            size_t len = strlen(g.gl_pathv[i]);
            if (len && g.gl_pathv[i][len - 1] == '/')
                continue; /* GLOB_MARK: a directory */
            if (!list_add(ctx, l, g.gl_pathv[i], at))
                break;
        }
    }
    globfree(&g);
}

static void expand_one(struct conf_ctx *ctx, struct file_list *l, const struct conf_node *item,
                       const char *main_path)
{
    const char *t, *slash = strrchr(main_path, '/');
    size_t len, dir_len = slash ? (size_t)(slash - main_path) + 1 : 0;
    char shown[80];
    if (conf_value_text(ctx, item, "a file pattern", &t, &len))
        return;
    conf_value_show(item, t, false, shown, sizeof(shown));
    if (len == 0) {
        conf_value_error(ctx, item, "an include pattern must not be empty");
        return;
    }
    if (t[0] == '/')
        dir_len = 0;
    bool glob_chars = has_glob_chars(t);
    char *path = join(ctx, main_path, dir_len, t, glob_chars);
    if (!path)
        return;
    if (glob_chars)
        expand_glob(ctx, l, path, item, shown);
    else
        list_add(ctx, l, path, item); /* reading it reports a missing file */
}

void conf_files_expand(struct conf_ctx *ctx, const struct conf_node *include, const char *main_path,
                       const char ***paths, const struct conf_node ***from, size_t *n)
{
    struct file_list l = {0};
    const struct conf_node *single[1] = {include};
    *paths = NULL;
    *from = NULL;
    *n = 0;
    if (conf_value_is_null(include))
        return;
    bool seq = include->kind == CONF_NODE_SEQ;
    if (!seq && include->kind != CONF_NODE_SCALAR) {
        conf_value_error(ctx, include, "expected a list of file patterns (e.g. [conf.d/*.yaml]), got %s",
                         conf_value_kind_name(include));
        return;
    }
    for (const struct conf_node *it = seq ? include->child : single[0]; it && !ctx->nomem && !l.full;
         it = seq ? it->next : NULL)
        expand_one(ctx, &l, it, main_path);
    *paths = l.paths;
    *from = l.from;
    *n = l.n;
}
