/*
 * conf/conf_int: private contract between the files of the config loader:
 * yaml.c (libyaml events -> a node tree with positions), json.c (jansson
 * values -> the same tree with JSON paths), value.c (typed reading of nodes,
 * error reporting, unknown-key suggestions), check.c (checks[]) and conf.c
 * (public API, top-level sections, merging). No other folder includes this
 * header. Everything here runs inside one load, one thread.
 */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include "base/map.h"
#include "conf/conf.h"

#include <stdbool.h>
#include <stddef.h>

#define CONF_MAX_FILE (8u * 1024 * 1024) /* bigger files are refused unread */
#define CONF_MAX_NODES 1000000           /* guard against node floods */
#define CONF_MAX_DEPTH 64                /* nesting; the schema needs 5 */
#define CONF_MIN_INTERVAL_MS 100
#define CONF_MAX_INTERVAL_MS (365LL * 24 * 3600 * 1000)

enum conf_node_kind { CONF_NODE_SCALAR, CONF_NODE_MAP, CONF_NODE_SEQ };

/* One YAML (or JSON) node. Lives in conf_ctx.tmp; freed when the load ends. */
struct conf_node {
    enum conf_node_kind kind;
    int line, col;            /* 1-based position of the node's first character; 0 from JSON */
    const char *path;         /* from JSON: "expect.status[1]" ("" = the top); NULL from YAML */
    size_t ord;               /* from JSON: document order, for "the first error" */
    const char *text;         /* scalar as parsed (escapes resolved), NUL-terminated */
    size_t len;
    bool quoted;              /* quoted or block scalar: never null, never a JSON literal */
    bool has_nul;             /* text contains a NUL byte ("\0" escape) */
    struct conf_node *key;    /* set on the values of a mapping: their key */
    struct conf_node *child;  /* mapping: its values in order (each with ->key); list: items */
    struct conf_node *last;
    struct conf_node *next;
    size_t n;                 /* number of children */
};

struct conf_ctx {
    struct conf *conf;        /* being built; surviving strings go to conf->arena */
    struct base_errors *errs; /* may be NULL: errors are then only counted */
    const char *file;
    struct base_arena tmp;    /* node tree and scratch */
    size_t n_errors;
    bool nomem;
    /* Projects a check's `project` may name, for "did you mean". */
    const struct conf_project *projects;
    size_t n_projects;
    /* JSON mode: values are taken literally (no ${VAR}: API input must not
     * read the server's environment), errors name node paths, not FILE:LINE:COL,
     * and the error first in document order is kept in *first. */
    bool json;
    struct conf_json_error *first;
    size_t first_ord;
    bool has_first;
};

/* ---- yaml.c ---- */

/* Parses text into a node tree in ctx->tmp. *root is NULL for an empty
 * stream. Returns 0, or BASE_ERR_INVALID / BASE_ERR_NOMEM after reporting. */
int conf_yaml_parse(struct conf_ctx *ctx, const char *text, size_t len, struct conf_node **root);

/* ---- value.c: each reader reports its own errors and returns 0 or -1 ---- */

void conf_value_error(struct conf_ctx *ctx, const struct conf_node *at, const char *fmt, ...)
    BASE_PRINTF(3, 4);
/* An error about a member missing from `map`: at the map in YAML, at the
 * member's would-be path ("expect.url") in JSON. */
void conf_value_error_member(struct conf_ctx *ctx, const struct conf_node *map, const char *member,
                             const char *fmt, ...) BASE_PRINTF(4, 5);
/* Where a node is, for "first defined at ...": "line N" or its JSON path. */
const char *conf_value_where(const struct conf_node *n, char *buf, size_t size);
/* Calloc in the conf arena; records OOM in ctx. */
void *conf_value_alloc(struct conf_ctx *ctx, size_t n);
bool conf_value_is_null(const struct conf_node *n);
/* "a string", "a mapping", "a list" or "nothing" for null. */
const char *conf_value_kind_name(const struct conf_node *n);
/* Checks the kind, reporting "expected a mapping/list, got ..." otherwise. */
int conf_value_expect(struct conf_ctx *ctx, const struct conf_node *n, enum conf_node_kind kind);
/* Closest of cands[0..n) to word by edit distance, or NULL when none is close. */
const char *conf_value_suggest(const char *word, const char *const *cands, size_t n);
/* Sorts the values of `map` into vals[i] by names[i] (NULL when absent);
 * reports unknown keys (with a suggestion), duplicate keys and non-string keys. */
void conf_value_fields(struct conf_ctx *ctx, const struct conf_node *map,
                       const char *const *names, size_t n, const struct conf_node **vals);
/* Text that may be quoted in a message: the raw text when it used ${...}
 * (never a variable's value), truncated, control bytes replaced. `url`
 * redacts credentials. Returns buf. */
const char *conf_value_show(const struct conf_node *n, const char *expanded, bool url,
                            char *buf, size_t size);
/* The scalar after interpolation, in ctx->tmp. */
int conf_value_text(struct conf_ctx *ctx, const struct conf_node *n, const char *what,
                    const char **out, size_t *len);
/* The scalar after interpolation, copied into the conf arena. */
int conf_value_string(struct conf_ctx *ctx, const struct conf_node *n, const char **out);
int conf_value_int(struct conf_ctx *ctx, const struct conf_node *n, long long lo, long long hi,
                   long long *out);
int conf_value_bool(struct conf_ctx *ctx, const struct conf_node *n, bool *out);
/* A duration > 0. */
int conf_value_duration(struct conf_ctx *ctx, const struct conf_node *n, int64_t *ms);
/* Bytes ("65536", "64KiB", "1MiB", "1MB"), 1..max. */
int conf_value_size(struct conf_ctx *ctx, const struct conf_node *n, size_t max, size_t *out);
/* An id matching [a-z0-9][a-z0-9._-]{0,62}, copied into the conf arena. */
int conf_value_id(struct conf_ctx *ctx, const struct conf_node *n, const char **out);
/* An absolute http:// or https:// URL with a host (checked with curl_url). */
int conf_value_url(struct conf_ctx *ctx, const struct conf_node *n, const char **out);
/* HOST:PORT with port 1-65535, IPv6 hosts in brackets; empty host allowed
 * only when allow_empty_host. */
int conf_value_hostport(struct conf_ctx *ctx, const struct conf_node *n, bool allow_empty_host,
                        const char **out);
/* A mapping of string keys to string values. key_bad/value_bad return a
 * reason when an entry is unacceptable (NULL when fine). */
int conf_value_kv(struct conf_ctx *ctx, const struct conf_node *map,
                  const char *(*key_bad)(const char *k),
                  const char *(*value_bad)(const char *v, size_t len),
                  struct conf_kv **out, size_t *n_out);
/* Reports a duplicate id through `seen` (id -> first node), else inserts it. */
int conf_value_unique(struct conf_ctx *ctx, struct base_map *seen, const char *id,
                      const struct conf_node *at, const char *kind);

/* ---- json.c ---- */

/* Builds the node tree of a jansson value in ctx->tmp (ctx->json must be
 * set). Returns 0, or BASE_ERR_INVALID / BASE_ERR_NOMEM after reporting. */
int conf_json_parse(struct conf_ctx *ctx, const json_t *value, struct conf_node **root);

/* ---- check.c ---- */

/* Fills conf->checks from the `checks` list. projects maps id -> struct conf_project. */
void conf_check_parse_list(struct conf_ctx *ctx, const struct conf_node *list,
                           const struct base_map *projects);
/* Built-in defaults of a check (every field but id, url, address); the
 * default status range is allocated in `a`. 0 or BASE_ERR_NOMEM. */
int conf_check_set_defaults(struct conf_check *cc, struct base_arena *a);
/* FNV-1a 64 over every semantic field (not line/col). */
uint64_t conf_check_compute_hash(const struct conf_check *cc);
/* Parses one check mapping into *cc; ids maps id -> node (duplicates). */
void conf_check_parse_one(struct conf_ctx *ctx, const struct conf_node *node, struct conf_check *cc,
                          struct base_map *ids, const struct base_map *projects);
/* Deep copy of src into dst with every string and array in `a`; `project`
 * replaces src->project (an id owned by the destination). 0 or BASE_ERR_NOMEM. */
int conf_check_copy(struct conf_check *dst, const struct conf_check *src, struct base_arena *a,
                    const char *project);

/* ---- conf.c ---- */

/* An empty conf with every default; NULL on OOM. */
struct conf *conf_alloc(const char *path);
/* Parses one project mapping into *p (id, name, environments); 0 or -1. */
int conf_project_parse_one(struct conf_ctx *ctx, const struct conf_node *item, struct conf_project *p,
                           struct base_map *seen);

#endif
