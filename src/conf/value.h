/*
 * conf/value: the configuration's node tree and the typed readers over it,
 * for the loader's own files and for the modules that define check types
 * (their custom fields, see conf/schema.h). A node comes from YAML (with
 * FILE:LINE:COL) or from JSON (with a JSON path); every reader reports its
 * own error at the node's position and returns -1, so callers just keep
 * going and every error of a file is collected. Values that came from the
 * environment are never quoted back in messages. Everything runs inside
 * one load, on one thread; struct conf_ctx is the loader's (opaque here).
 */
#ifndef CONF_VALUE_H
#define CONF_VALUE_H

#include "base/cidr.h"
#include "base/err.h"
#include "base/map.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_ctx;

/* A string map entry (labels, headers): both in the conf arena. */
struct conf_kv {
    const char *key;
    const char *value;
};

enum conf_node_kind { CONF_NODE_SCALAR, CONF_NODE_MAP, CONF_NODE_SEQ };

/* One YAML (or JSON) node. Lives while its file is read (a load reads one
 * file at a time): keep nothing that points into it. */
struct conf_node {
    enum conf_node_kind kind;
    int line, col;            /* 1-based position of the node's first character; 0 from JSON */
    const char *file;         /* the file it was read from (conf arena); NULL from JSON */
    const char *path;         /* from JSON: "expect.status[1]" ("" = the top); NULL from YAML */
    size_t ord;               /* from JSON: document order, for "the first error" */
    const char *text;         /* scalar as parsed (escapes resolved), NUL-terminated */
    size_t len;
    bool quoted;              /* quoted or block scalar: never null, never a JSON literal */
    bool has_nul;             /* text contains a NUL byte ("\0" escape) */
    bool pinned;              /* a copy of a position that outlives its tree (the loader's) */
    struct conf_node *key;    /* set on the values of a mapping: their key */
    struct conf_node *child;  /* mapping: its values in order (each with ->key); list: items */
    struct conf_node *last;
    struct conf_node *next;
    size_t n;                 /* number of children */
};

/* The value of member `key` of a mapping (the node with ->key), or NULL
 * when map is not a mapping or has no such key. For a type's checks
 * across fields: where to put an error. */
const struct conf_node *conf_value_member(const struct conf_node *map, const char *key);

void conf_value_error(struct conf_ctx *ctx, const struct conf_node *at, const char *fmt, ...)
    BASE_PRINTF(3, 4);
/* An error about a member missing from `map`: at the map in YAML, at the
 * member's would-be path ("expect.url") in JSON. */
void conf_value_error_member(struct conf_ctx *ctx, const struct conf_node *map, const char *member,
                             const char *fmt, ...) BASE_PRINTF(4, 5);
/* Where n is, for "first defined at ..." in an error reported at `at`:
 * "line N" in the same file, "FILE:LINE:COL" in another one, or n's JSON path. */
const char *conf_value_where(const struct conf_node *n, const struct conf_node *at, char *buf,
                             size_t size);
/* Calloc in the arena of the configuration being built; records OOM in ctx. */
void *conf_value_alloc(struct conf_ctx *ctx, size_t n);
/* Records that an allocation failed (the load then fails with BASE_ERR_NOMEM). */
void conf_value_nomem(struct conf_ctx *ctx);
/* True when the load reads JSON (API input): strings literal, errors by path. */
bool conf_value_is_json(const struct conf_ctx *ctx);
bool conf_value_is_null(const struct conf_node *n);
/* "a string", "a mapping", "a list" or "nothing" for null. */
const char *conf_value_kind_name(const struct conf_node *n);
/* Checks the kind, reporting "expected a mapping/list, got ..." otherwise. */
int conf_value_expect(struct conf_ctx *ctx, const struct conf_node *n, enum conf_node_kind kind);
/* Closest of cands[0..n) to word by edit distance, or NULL when none is close. */
const char *conf_value_suggest(const char *word, const char *const *cands, size_t n);
/* Sorts the values of `map` into vals[i] by names[i] (NULL when absent);
 * reports unknown keys (with a suggestion), duplicate keys and non-string
 * keys. */
void conf_value_fields(struct conf_ctx *ctx, const struct conf_node *map,
                       const char *const *names, size_t n, const struct conf_node **vals);
/* Text that may be quoted in a message: the raw text when it used ${...}
 * (never a variable's value), truncated, control bytes replaced. `url`
 * redacts credentials. Returns buf. */
const char *conf_value_show(const struct conf_node *n, const char *expanded, bool url,
                            char *buf, size_t size);
/* The scalar after interpolation, valid while the node's file is read
 * (conf_value_keep copies it into the conf). */
int conf_value_text(struct conf_ctx *ctx, const struct conf_node *n, const char *what,
                    const char **out, size_t *len);
/* The scalar after interpolation, copied into the conf arena. */
int conf_value_string(struct conf_ctx *ctx, const struct conf_node *n, const char **out);
/* Copies len bytes of text into the conf arena (NUL added); NULL on OOM
 * (recorded). */
const char *conf_value_keep(struct conf_ctx *ctx, const char *text, size_t len);
int conf_value_int(struct conf_ctx *ctx, const struct conf_node *n, long long lo, long long hi,
                   long long *out);
int conf_value_bool(struct conf_ctx *ctx, const struct conf_node *n, bool *out);
/* One of names[0..count) exactly, its index in *out; otherwise "unknown
 * <what> 'x' (did you mean 'y'? expected a, b or c)". */
int conf_value_choice(struct conf_ctx *ctx, const struct conf_node *n, const char *what,
                      const char *const *names, size_t count, size_t *out);
/* A duration > 0. */
int conf_value_duration(struct conf_ctx *ctx, const struct conf_node *n, int64_t *ms);
/* Bytes ("65536", "64KiB", "1MiB", "1MB"), 1..max. */
int conf_value_size(struct conf_ctx *ctx, const struct conf_node *n, size_t max, size_t *out);
/* An id matching [a-z0-9][a-z0-9._-]{0,62}, copied into the conf arena. */
int conf_value_id(struct conf_ctx *ctx, const struct conf_node *n, const char **out);
/* An absolute http:// or https:// URL with a host (checked with curl_url). */
int conf_value_url(struct conf_ctx *ctx, const struct conf_node *n, const char **out);
/* NULL when url (len bytes) is an absolute http(s) URL with a host and no
 * spaces or control characters (libcurl's URL parser), else the reason. */
const char *conf_url_problem(const char *url, size_t len);
/* HOST:PORT with port 1-65535, IPv6 hosts in brackets; empty host allowed
 * only when allow_empty_host. */
int conf_value_hostport(struct conf_ctx *ctx, const struct conf_node *n, bool allow_empty_host,
                        const char **out);
/* A list of IP networks ("10.0.0.0/8", "2001:db8::/32"; a plain address
 * is /32 or /128), or one such string; at most max entries, duplicates
 * refused. *out is an array in the conf arena (NULL when empty). */
int conf_value_cidr_list(struct conf_ctx *ctx, const struct conf_node *n, size_t max,
                         const struct base_cidr **out, size_t *n_out);
/* A mapping of string keys to string values. key_bad/value_bad return a
 * reason when an entry is unacceptable (NULL when fine). */
int conf_value_kv(struct conf_ctx *ctx, const struct conf_node *map,
                  const char *(*key_bad)(const char *k),
                  const char *(*value_bad)(const char *v, size_t len),
                  struct conf_kv **out, size_t *n_out);
/* HTTP header fields (for conf_value_kv): a name of RFC 9110 token
 * characters; a value without line breaks or control characters (tab
 * allowed). NULL when fine, else the reason. */
const char *conf_value_header_name_bad(const char *k);
const char *conf_value_header_value_bad(const char *v, size_t len);
/* An environment variable's name ([A-Za-z_][A-Za-z0-9_]*, at most 128
 * bytes), for conf_value_kv: NULL when fine, else the reason. */
const char *conf_value_env_name_bad(const char *k);
/* A user name of opshub (1..64 of [A-Za-z0-9._@-], starting with a letter
 * or a digit): NULL when fine, else the reason. */
const char *conf_value_username_bad(const char *s);
/* An RFC 3339 time ("2026-12-06T02:00:00+06:00") as unix milliseconds. */
int conf_value_time(struct conf_ctx *ctx, const struct conf_node *n, int64_t *ms);
/* Reports a duplicate id through `seen` (id -> first node), else inserts it. */
int conf_value_unique(struct conf_ctx *ctx, struct base_map *seen, const char *id,
                      const struct conf_node *at, const char *kind);

#endif
