/*
 * http/static: the files of one directory (server.static_dir), served from
 * memory. A load walks the directory once and reads every servable file
 * into an immutable snapshot with its content type, a strong ETag (from a
 * SHA-256 of the content) and its cache policy; a lookup answers from the
 * snapshot alone, so serving never touches the disk and never blocks the
 * loop. Loading does block: it runs before the loop serves (start) or on
 * libuv's thread pool (http_static_load_async, for SIGHUP).
 *
 * Never serves outside the root: the walk opens every directory and file
 * relative to its parent with O_NOFOLLOW, follows a symlink to a file only
 * when the opened file lies inside the root, and skips hidden names
 * (".x"), special files, directories' symlinks and files over the size
 * cap. A lookup refuses "." and ".." segments, empty segments, absolute
 * paths, backslashes, '%' (a second encoding) and control bytes before it
 * looks. Directories are not files: their path answers 404.
 */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define HTTP_STATIC_FILE_MAX (16u * 1024 * 1024)   /* larger files are skipped with a note */
#define HTTP_STATIC_TOTAL_MAX (64u * 1024 * 1024)  /* more in all fails the load */
#define HTTP_STATIC_FILES_MAX 10000                /* more files fail the load */
#define HTTP_STATIC_ENTRIES_MAX 100000             /* more directory entries seen fail the load */
#define HTTP_STATIC_DEPTH_MAX 16                   /* deeper directories are skipped with a note */
#define HTTP_STATIC_PATH_MAX 1024                  /* longer relative paths are skipped / refused */
#define HTTP_STATIC_NOTES_MAX 8                    /* skip notes kept (the count is exact) */
#define HTTP_STATIC_ERR_MAX 512

struct http_static_limits {
    size_t file_max;    /* 0 = HTTP_STATIC_FILE_MAX */
    size_t total_max;   /* 0 = HTTP_STATIC_TOTAL_MAX */
    size_t files_max;   /* 0 = HTTP_STATIC_FILES_MAX */
};

struct http_static;

struct http_static_stats {
    size_t files;       /* servable files held */
    size_t bytes;       /* their total size */
    size_t skipped;     /* files and directories left out, with a reason (hidden ones not counted) */
};

/* Walks `root` (a directory; it may itself be a symlink) and reads every
 * servable file. Blocking: call it before the loop serves or on a worker
 * thread. On success *out is a new snapshot (caller destroys it; it is
 * immutable and may be read from any thread) and 0 is returned. On failure
 * *out is NULL, err names the directory and the reason ("server.static_dir
 * '/srv/x': No such file or directory", "... more than 64 MiB of files")
 * and BASE_ERR_IO, BASE_ERR_TOO_BIG or BASE_ERR_NOMEM is returned. limits
 * may be NULL (the defaults). */
int http_static_load(const char *root, const struct http_static_limits *limits, struct http_static **out,
                     char *err, size_t errlen);
void http_static_destroy(struct http_static *s);
void http_static_stats_get(const struct http_static *s, struct http_static_stats *out);
/* The i-th of the first HTTP_STATIC_NOTES_MAX skip notes ("assets/big.js:
 * larger than 16 MiB"), NULL past the last one kept. Borrowed from s. */
const char *http_static_note(const struct http_static *s, size_t i);

/* A file already in memory (the web build compiled into the binary). */
struct http_static_blob {
    const char *path;             /* relative, as http_static_lookup takes it: "assets/app.3f9a1c2b.js" */
    const unsigned char *data;
    size_t len;
};
/* A snapshot of blobs[0..n) (copied: the snapshot owns its bytes, like a
 * loaded one), with the same content types, ETags and cache policy. 0, or
 * BASE_ERR_NOMEM, or BASE_ERR_INVALID for a path a lookup would refuse. */
int http_static_from_blobs(const struct http_static_blob *blobs, size_t n, struct http_static **out);

/* Called on the loop when an asynchronous load ends: s (transferred to the
 * callee) on success, else NULL with rc and err as http_static_load's. */
typedef void (*http_static_loaded_cb)(void *data, struct http_static *s, int rc, const char *err);
/* http_static_load on libuv's thread pool; root and limits are copied. cb
 * always runs (the loop does not end before it). 0, or BASE_ERR_NOMEM /
 * a libuv error (cb will then not run). Loop thread only. */
int http_static_load_async(uv_loop_t *loop, const char *root, const struct http_static_limits *limits,
                           http_static_loaded_cb cb, void *data);

/* An answer for one request. */
struct http_static_reply {
    int status;                /* 200, 304, 400 (a refused path) or 404 */
    const char *content_type;  /* 200 only */
    const char *body;          /* 200 only: borrowed from the snapshot */
    size_t len;
    char headers[160];         /* 200 and 304: "ETag: ...\r\nCache-Control: ...\r\n" */
    const char *error;         /* 400 and 404: why, for people (a static string) */
};

/* Answers GET (and HEAD) of `path`, relative to the root without a leading
 * slash ("assets/app.3f9a1c2b.js"), as the server decoded it. if_none_match
 * is the request's If-None-Match header or NULL: when it names the file's
 * ETag (weak comparison, or "*") the answer is 304. A name with a component
 * of 8 or more hex digits between dots before its extension
 * ("app.3f9a1c2b.js", "app.3f9a1c2b.js.map") is immutable: "Cache-Control:
 * public, max-age=31536000, immutable"; every other file "no-cache" (the
 * client revalidates with the ETag). s may be NULL (404). */
void http_static_lookup(const struct http_static *s, const char *path, const char *if_none_match,
                        struct http_static_reply *out);

/* The content type of a file name from its extension (case-insensitive):
 * html, js, mjs, css, svg, png, ico, woff2, json, map, txt, webp; text
 * types carry "; charset=utf-8"; anything else is application/octet-stream. */
const char *http_static_content_type(const char *name);
/* True when the name's cache policy is immutable (see http_static_lookup). */
bool http_static_is_hashed(const char *name);

#endif
