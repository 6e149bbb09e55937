/*
 * http/static: a directory read once into memory, then served from there.
 * Why memory and not uv_fs per request: the dashboard's files are a few
 * MB, built once per deploy; holding them makes a request one hash lookup
 * and one copy with no disk I/O, no file descriptor per client, no
 * asynchronous state to cancel when a client leaves, and no window in
 * which a file is replaced between stat and read. The content hash is
 * computed once per load, so the ETag is strong and identical on every
 * host that serves the same bytes (size+mtime+inode ETags change on every
 * deploy and differ between replicas). The price: new files appear on
 * SIGHUP, and memory holds at most HTTP_STATIC_TOTAL_MAX.
 * Owns the snapshot's files; the loader touches only the directory it is
 * given and never follows a path out of it.
 */
#include "http/static.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/map.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTE_MAX 256
#define IMMUTABLE "public, max-age=31536000, immutable"

struct static_file {
    char *path;                 /* relative to the root, the map key */
    char *data;
    size_t len;
    const char *content_type;   /* static */
    bool immutable;
    char etag[40];              /* "\"<32 hex>\"" */
};

struct http_static {
    struct base_map by_path;    /* path -> struct static_file */
    struct static_file **files;
    size_t n_files, cap_files;
    size_t bytes;
    size_t skipped;
    char notes[HTTP_STATIC_NOTES_MAX][NOTE_MAX];
};

/* ---- names ---- */

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"},       {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},  {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},    {"txt", "text/plain; charset=utf-8"},
    {"png", "image/png"},                       {"ico", "image/x-icon"},
    {"webp", "image/webp"},                     {"woff2", "font/woff2"},
    {"json", "application/json"},               {"map", "application/json"},
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const char *http_static_content_type(const char *name)
{
    const char *base = base_name(name);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
            if (strcasecmp(dot + 1, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

static bool is_hex_run(const char *p, size_t len)
{
    if (len < 8 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F')))
            return false;
    return true;
}

/* "app.3f9a1c2b.js": a component between dots, neither the first (the
 * name) nor the last (the extension), of 8 to 64 hex digits. */
bool http_static_is_hashed(const char *name)
{
    const char *base = base_name(name);
    const char *dot = strchr(base, '.');
    if (!dot || dot == base)
        return false;
    for (const char *p = dot + 1, *next; (next = strchr(p, '.')) != NULL; p = next + 1)
        if (is_hex_run(p, (size_t)(next - p)))
            return true;
    return false;
}

/* Bytes a served name may not hold: a second encoding, a Windows
 * separator, control bytes. */
static bool is_bad_byte(unsigned char c)
{
    return c == '%' || c == '\\' || c < 0x20 || c == 0x7f;
}

static bool name_is_servable(const char *name)
{
    if (name[0] == '.')
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (is_bad_byte(*p))
            return false;
    return true;
}

/* Why a request path is refused before any lookup (400), or NULL. */
static const char *path_refusal(const char *path)
{
    if (!path[0])
        return "path not allowed: empty";
    if (path[0] == '/')
        return "path not allowed: absolute";
    if (strlen(path) > HTTP_STATIC_PATH_MAX)
        return "path not allowed: too long";
    for (const char *seg = path, *end; seg; seg = *end ? end + 1 : NULL) {
        end = strchr(seg, '/');
        if (!end)
            end = seg + strlen(seg);
        size_t len = (size_t)(end - seg);
        if (len == 0)
            return "path not allowed: empty segment";
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return "path not allowed: '.' and '..' segments";
        for (size_t i = 0; i < len; i++)
            if (is_bad_byte((unsigned char)seg[i]))
                return "path not allowed: '%', '\\' and control bytes are refused";
    }
    return NULL;
}

static bool has_hidden_segment(const char *path)
{
    for (const char *seg = path; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
        if (seg[0] == '.')
            return true;
    return false;
}

/* ---- loading ---- */

struct walk {
    struct http_static *s;
    struct http_static_limits lim;
    char root_real[PATH_MAX];
    size_t root_len;
    size_t entries;
    const char *root;          /* as configured, for messages */
    char *err;
    size_t errlen;
    int rc;
};

static void note(struct walk *w, const char *rel, const char *why)
{
    if (w->s->skipped < HTTP_STATIC_NOTES_MAX)
        snprintf(w->s->notes[w->s->skipped], NOTE_MAX, "%.120s: %.120s", rel, why);
    w->s->skipped++;
}

static int walk_fail(struct walk *w, int rc, const char *why)
{
    if (w->rc == 0) {
        w->rc = rc;
        snprintf(w->err, w->errlen, "server.static_dir '%.200s': %s", w->root, why);
    }
    return rc;
}

/* The opened file lies inside the root and under no hidden name: checked
 * on the descriptor itself, so a symlink swapped meanwhile cannot fool it. */
static bool is_inside_root(const struct walk *w, int fd)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0 || (size_t)n >= sizeof(target) - 1)
        return false;
    target[n] = '\0';
    if ((size_t)n <= w->root_len + 1 || memcmp(target, w->root_real, w->root_len) != 0 ||
        target[w->root_len] != '/')
        return false;
    return !has_hidden_segment(target + w->root_len + 1);
}

static int sha256_etag(const char *data, size_t len, char *out, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < 16 || n < 35)
        return BASE_ERR_NOMEM;
    static const char hex[] = "0123456789abcdef";
    out[0] = '"';
    for (int i = 0; i < 16; i++) {
        out[1 + 2 * i] = hex[md[i] >> 4];
        out[2 + 2 * i] = hex[md[i] & 15];
    }
    out[33] = '"';
    out[34] = '\0';
    return 0;
}

static int read_all(int fd, char *data, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        ssize_t r = read(fd, data + *got, size - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break; /* shrank since fstat: keep what is there */
        *got += (size_t)r;
    }
    return 0;
}

static int keep_file(struct walk *w, struct static_file *f)
{
    struct http_static *s = w->s;
    if (s->n_files == s->cap_files) {
        size_t cap = s->cap_files ? s->cap_files * 2 : 64;
        struct static_file **grown = base_realloc(s->files, cap * sizeof(*grown));
        if (!grown)
            return BASE_ERR_NOMEM;
        s->files = grown;
        s->cap_files = cap;
    }
    if (base_map_put(&s->by_path, f->path, f) != 0)
        return BASE_ERR_NOMEM;
    s->files[s->n_files++] = f;
    s->bytes += f->len;
    return 0;
}

static void file_free(struct static_file *f)
{
    if (!f)
        return;
    base_free(f->path);
    base_free(f->data);
    base_free(f);
}

/* Reads one regular file (or a symlink to one inside the root). */
static void add_file(struct walk *w, int dfd, const char *name, const char *rel, bool is_link)
{
    struct static_file *f = NULL;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (is_link ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        note(w, rel, strerror(errno));
        return;
    }
    struct stat st;
    if (is_link && !is_inside_root(w, fd)) {
        note(w, rel, "symlink leading out of the directory or to a hidden name");
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        note(w, rel, "not a regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > w->lim.file_max) {
        char why[80];
        snprintf(why, sizeof(why), "larger than %zu bytes", w->lim.file_max);
        note(w, rel, why);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    if (w->s->n_files >= w->lim.files_max) {
        walk_fail(w, BASE_ERR_TOO_BIG, "too many files");
        goto out;
    }
    if (size > w->lim.total_max - w->s->bytes) {
        char why[80];
        snprintf(why, sizeof(why), "more than %zu bytes of files in all", w->lim.total_max);
        walk_fail(w, BASE_ERR_TOO_BIG, why);
        goto out;
    }
    f = base_calloc(1, sizeof(*f));
    if (!f || !(f->path = base_strdup(rel)) || !(f->data = base_malloc(size ? size : 1))) {
        walk_fail(w, BASE_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (read_all(fd, f->data, size, &f->len) != 0) {
        note(w, rel, strerror(errno));
        goto out;
    }
    f->content_type = http_static_content_type(rel);
    f->immutable = http_static_is_hashed(rel);
    if (sha256_etag(f->data, f->len, f->etag, sizeof(f->etag)) != 0 || keep_file(w, f) != 0) {
        walk_fail(w, BASE_ERR_NOMEM, "out of memory");
        goto out;
    }
    f = NULL;
out:
    file_free(f);
    close(fd);
}

static void walk_dir(struct walk *w, int dfd, const char *rel, int depth);

static void walk_entry(struct walk *w, int dfd, const char *name, const char *rel, int depth)
{
    if (!name_is_servable(name)) {
        note(w, rel, "a name with '%', '\\' or a control byte");
        return;
    }
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        note(w, rel, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth + 1 > HTTP_STATIC_DEPTH_MAX) {
            note(w, rel, "directory nested too deep");
            return;
        }
        int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0)
            note(w, rel, strerror(errno));
        else
            walk_dir(w, cfd, rel, depth + 1);
    } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
        add_file(w, dfd, name, rel, S_ISLNK(st.st_mode));
    } else {
        note(w, rel, "not a regular file");
    }
}

/* Takes dfd (closed here). Hidden names are left out without a note. */
static void walk_dir(struct walk *w, int dfd, const char *rel, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        note(w, rel[0] ? rel : ".", strerror(errno));
        close(dfd);
        return;
    }
    struct dirent *e;
    while (w->rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (++w->entries > HTTP_STATIC_ENTRIES_MAX) {
            walk_fail(w, BASE_ERR_TOO_BIG, "too many directory entries");
            break;
        }
        char child[HTTP_STATIC_PATH_MAX + 1];
        int n = snprintf(child, sizeof(child), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (n < 0 || (size_t)n >= sizeof(child)) {
            note(w, rel[0] ? rel : ".", "an entry's path is too long");
            continue;
        }
        walk_entry(w, dirfd(d), e->d_name, child, depth);
    }
    closedir(d);
}

static int open_root(struct walk *w)
{
    if (!w->root || !w->root[0])
        return walk_fail(w, BASE_ERR_IO, "empty path");
    if (!realpath(w->root, w->root_real))
        return walk_fail(w, BASE_ERR_IO, strerror(errno));
    if (strcmp(w->root_real, "/") == 0)
        return walk_fail(w, BASE_ERR_IO, "refusing to serve the whole filesystem");
    w->root_len = strlen(w->root_real);
    int fd = open(w->root_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return walk_fail(w, BASE_ERR_IO, strerror(errno));
    return fd;
}

int http_static_load(const char *root, const struct http_static_limits *limits, struct http_static **out,
                     char *err, size_t errlen)
{
    struct walk w = {.root = root, .err = err, .errlen = errlen};
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    w.lim.file_max = limits && limits->file_max ? limits->file_max : HTTP_STATIC_FILE_MAX;
    w.lim.total_max = limits && limits->total_max ? limits->total_max : HTTP_STATIC_TOTAL_MAX;
    w.lim.files_max = limits && limits->files_max ? limits->files_max : HTTP_STATIC_FILES_MAX;
    w.s = base_calloc(1, sizeof(*w.s));
    if (!w.s)
        return walk_fail(&w, BASE_ERR_NOMEM, "out of memory");
    base_map_init(&w.s->by_path);
    int fd = open_root(&w);
    if (fd >= 0)
        walk_dir(&w, fd, "", 0);
    if (w.rc != 0) {
        http_static_destroy(w.s);
        return w.rc;
    }
    *out = w.s;
    return 0;
}

int http_static_from_blobs(const struct http_static_blob *blobs, size_t n, struct http_static **out)
{
    struct walk w = {.root = "<built in>"};
    *out = NULL;
    w.s = base_calloc(1, sizeof(*w.s));
    if (!w.s)
        return BASE_ERR_NOMEM;
    base_map_init(&w.s->by_path);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct http_static_blob *b = &blobs[i];
        if (!b->path || path_refusal(b->path) || has_hidden_segment(b->path)) {
            rc = BASE_ERR_INVALID;
            break;
        }
        struct static_file *f = base_calloc(1, sizeof(*f));
        if (!f || !(f->path = base_strdup(b->path)) || !(f->data = base_malloc(b->len ? b->len : 1))) {
            file_free(f);
            rc = BASE_ERR_NOMEM;
            break;
        }
        memcpy(f->data, b->data, b->len);
        f->len = b->len;
        f->content_type = http_static_content_type(b->path);
        f->immutable = http_static_is_hashed(b->path);
        if (sha256_etag(f->data, f->len, f->etag, sizeof(f->etag)) != 0 || keep_file(&w, f) != 0) {
            file_free(f);
            rc = BASE_ERR_NOMEM;
        }
    }
    if (rc != 0) {
        http_static_destroy(w.s);
        return rc;
    }
    *out = w.s;
    return 0;
}

void http_static_destroy(struct http_static *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++)
        file_free(s->files[i]);
    base_free(s->files);
    base_map_free(&s->by_path);
    base_free(s);
}

void http_static_stats_get(const struct http_static *s, struct http_static_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    out->files = s->n_files;
    out->bytes = s->bytes;
    out->skipped = s->skipped;
}

const char *http_static_note(const struct http_static *s, size_t i)
{
    return s && i < s->skipped && i < HTTP_STATIC_NOTES_MAX ? s->notes[i] : NULL;
}

/* ---- loading off the loop ---- */

struct load_job {
    uv_work_t work;
    char *root;
    struct http_static_limits lim;
    http_static_loaded_cb cb;
    void *data;
    struct http_static *s;
    int rc;
    char err[HTTP_STATIC_ERR_MAX];
};

static void load_work(uv_work_t *req)
{
    struct load_job *j = req->data;
    j->rc = http_static_load(j->root, &j->lim, &j->s, j->err, sizeof(j->err));
}

static void load_after(uv_work_t *req, int status)
{
    struct load_job *j = req->data;
    if (status == UV_ECANCELED) {
        j->rc = BASE_ERR_CANCELED;
        snprintf(j->err, sizeof(j->err), "server.static_dir '%.200s': load canceled", j->root);
    }
    j->cb(j->data, j->s, j->rc, j->err);
    base_free(j->root);
    base_free(j);
}

int http_static_load_async(uv_loop_t *loop, const char *root, const struct http_static_limits *limits,
                           http_static_loaded_cb cb, void *data)
{
    struct load_job *j = base_calloc(1, sizeof(*j));
    if (!j || !(j->root = base_strdup(root ? root : ""))) {
        base_free(j);
        return BASE_ERR_NOMEM;
    }
    if (limits)
        j->lim = *limits;
    j->cb = cb;
    j->data = data;
    j->work.data = j;
    int rc = uv_queue_work(loop, &j->work, load_work, load_after);
    if (rc != 0) {
        base_free(j->root);
        base_free(j);
    }
    return rc;
}

/* ---- answering ---- */

/* If-None-Match: "*" or a list of entity tags, each compared weakly (a
 * W/ prefix is ignored). A malformed list matches nothing. */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return false;
        const char *end = strchr(p + 1, '"');
        if (!end)
            return false;
        if ((size_t)(end - p + 1) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = end + 1;
    }
    return false;
}

void http_static_lookup(const struct http_static *s, const char *path, const char *if_none_match,
                        struct http_static_reply *out)
{
    memset(out, 0, sizeof(*out));
    const char *refusal = path ? path_refusal(path) : "path not allowed: empty";
    if (refusal) {
        out->status = 400;
        out->error = refusal;
        return;
    }
    const struct static_file *f = s && !has_hidden_segment(path) ? base_map_get(&s->by_path, path) : NULL;
    if (!f) {
        out->status = 404;
        out->error = s ? "no such file" : "static files are not configured";
        return;
    }
    snprintf(out->headers, sizeof(out->headers), "ETag: %s\r\nCache-Control: %s\r\n", f->etag,
             f->immutable ? IMMUTABLE : "no-cache");
    if (if_none_match && etag_matches(if_none_match, f->etag)) {
        out->status = 304;
        return;
    }
    out->status = 200;
    out->content_type = f->content_type;
    out->body = f->data;
    out->len = f->len;
}
