/*
 * conf/conf_int: private contract between the files of the config loader:
 * yaml.c (libyaml events -> a node tree with positions), json.c (jansson
 * values -> the same tree with JSON paths), value.c (typed reading of nodes,
 * error reporting, unknown-key suggestions), schema.c (field tables),
 * check.c (one check and the check types' fields), files.c (reading files,
 * `include:` globs), conf.c (public API, top-level sections, lists gathered
 * across files, id indices) and merge.c (conf_merge_checks). No other
 * folder includes this header. Everything here runs inside one load, one
 * thread.
 */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include "base/map.h"
#include "conf/conf.h"
#include "conf/value.h"

#include <stdbool.h>
#include <stddef.h>

#define CONF_MAX_FILE (8u * 1024 * 1024) /* bigger files are refused unread */
#define CONF_MAX_NODES 1000000           /* per file: guard against node floods */
/* One load (the main file and every included one) reads at most this many
 * files and bytes. Each file's node tree (about 130 bytes a node) is freed
 * once the file is read, so the per-file limits bound that memory. */
#define CONF_MAX_FILES 10000
#define CONF_MAX_TOTAL_BYTES (64u * 1024 * 1024)
#define CONF_MAX_DEPTH 64                /* nesting; the schema needs 5 */
#define CONF_MIN_INTERVAL_MS 100
#define CONF_MAX_INTERVAL_MS (365LL * 24 * 3600 * 1000)

/* A check's `project` that was not declared when the check was read. */
struct conf_late_ref {
    const char *id;                 /* conf arena */
    const struct conf_node *at;     /* pinned */
    struct conf_late_ref *next;
};

struct conf_ctx {
    struct conf *conf;        /* being built; surviving strings go to conf->arena */
    struct base_errors *errs; /* may be NULL: errors are then only counted */
    const char *file;         /* the file being read: new nodes and errors without a node */
    struct base_arena tmp;    /* node trees and scratch */
    size_t n_errors;
    bool nomem;
    /* YAML loads: `keep` holds what outlives one file's tree (ctx->tmp is
     * freed after each file): pinned positions, the include list, late
     * project references. NULL from JSON (one tree). */
    struct base_arena *keep;
    /* Checks naming a project no file read so far declares: recorded in
     * late_refs (conf_project_ref_later), checked once every file is read. */
    bool late_projects;
    struct conf_late_ref *late_refs;
    /* Bytes of every file of the load, against CONF_MAX_TOTAL_BYTES;
     * files_seen maps "device:inode" of each file read so none is read twice. */
    size_t n_bytes;
    struct base_map files_seen;
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
    /* Keys a check may have: the common fields, then every type's (built
     * in tmp by check.c when first needed; cleared with each file's tree). */
    const char **check_names;
    size_t n_check_names;
};

/* ---- yaml.c ---- */

/* Parses text into a node tree in ctx->tmp. *root is NULL for an empty
 * stream. Returns 0, or BASE_ERR_INVALID / BASE_ERR_NOMEM after reporting. */
int conf_yaml_parse(struct conf_ctx *ctx, const char *text, size_t len, struct conf_node **root);

/* ---- value.c: the readers are public, in conf/value.h; the loader's own: ---- */

/* A copy of n's position (kind, file, line, col, JSON path) in ctx->keep
 * that stays valid when n's tree is freed; n itself without ctx->keep, or
 * when n is pinned already. NULL (and nomem) on OOM. */
const struct conf_node *conf_value_pin(struct conf_ctx *ctx, const struct conf_node *n);

/* ---- json.c ---- */

/* Builds the node tree of a jansson value in ctx->tmp (ctx->json must be
 * set). Returns 0, or BASE_ERR_INVALID / BASE_ERR_NOMEM after reporting. */
int conf_json_parse(struct conf_ctx *ctx, const json_t *value, struct conf_node **root);

/* ---- files.c ---- */

/* Reads the file at path (at most CONF_MAX_FILE bytes) and parses it into
 * a tree in ctx->tmp, nodes naming `path` (which must outlive the load).
 * `from` is the include pattern that named it (NULL for the main file), for
 * messages. Counts its bytes against CONF_MAX_TOTAL_BYTES; an included
 * file must be a regular file. *root is NULL for an empty file. Returns 0;
 * BASE_ERR_EXISTS when the same file was read before in this load (skip
 * it: nothing reported); BASE_ERR_IO / BASE_ERR_INVALID / BASE_ERR_NOMEM
 * after reporting. */
int conf_files_parse(struct conf_ctx *ctx, const char *path, const struct conf_node *from,
                     struct conf_node **root);
/* The files named by the main file's `include` value (a list of glob
 * patterns, or one), relative to the directory of main_path: each pattern's
 * matches in glob(3) order (directories skipped), patterns in the order
 * given. A pattern without glob characters must name an existing file; a
 * pattern with them may match nothing. *paths (conf arena) and *from (the
 * pinned pattern node of each path; arrays in ctx->keep) get *n entries.
 * Errors are reported at the pattern; the patterns that worked still count. */
void conf_files_expand(struct conf_ctx *ctx, const struct conf_node *include, const char *main_path,
                       const char ***paths, const struct conf_node ***from, size_t *n);

/* ---- check.c ---- */

/* FNV-1a 64 over the type and every field of the common and the type's
 * tables (not line/col/source). */
uint64_t conf_check_compute_hash(const struct conf_check *cc);
/* "unknown project 'x'" at n, with the closest of ctx->projects as a hint. */
void conf_check_unknown_project(struct conf_ctx *ctx, const struct conf_node *n, const char *pid);
/* Parses one check mapping into *cc; ids maps id -> node (duplicates). */
void conf_check_parse_one(struct conf_ctx *ctx, const struct conf_node *node, struct conf_check *cc,
                          struct base_map *ids, const struct base_map *projects);
/* Deep copy of src into dst with every string and array in `a`; `project`
 * replaces src->project (an id owned by the destination). 0 or BASE_ERR_NOMEM. */
int conf_check_copy(struct conf_check *dst, const struct conf_check *src, struct base_arena *a,
                    const char *project);

/* ---- conf.c ---- */

/* An empty conf with every default; NULL on OOM. */
/* sso.c: server.auth.github and server.auth.oidc (n may be NULL: absent). */
void conf_sso_parse_github(struct conf_ctx *ctx, const struct conf_node *n, struct conf_github *out);
void conf_sso_parse_oidc(struct conf_ctx *ctx, const struct conf_node *n, struct conf_oidc *out);

/* rules.c: why k is no label name Prometheus accepts (NULL when it is). */
const char *conf_label_name_bad(const char *k);

/* notify.c: a list of strings (or one string) into an arena array of at most max entries
 * (`what` names it in the error). */
int conf_string_list(struct conf_ctx *ctx, const struct conf_node *n, size_t max, const char *what,
                     const char *const **out, size_t *n_out);
/* notify.c: match: {name: value} and match_re: {name: regex} (anchored PCRE2, checked here)
 * as one array in the conf arena; errors at the members. Routes, inhibition rules and
 * maintenance windows read their matchers with it. */
void conf_matchers_parse(struct conf_ctx *ctx, const struct conf_node *eq, const struct conf_node *re,
                         const struct conf_matcher **out, size_t *n_out);
/* maintenance.c: the `maintenance:` list. */
void conf_maintenance_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_maintenance **out,
                            size_t *n_out);
/* remote_write.c: the `remote_write:` list. */
void conf_remote_write_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_remote_write **out,
                             size_t *n_out);

struct conf *conf_alloc(const char *path);
/* Builds the id indices of a complete conf; without memory for them the
 * lookups stay linear (slower, still right). */
void conf_index(struct conf *c);
/* Records that a check at `at` names project `pid` (conf arena), not
 * declared yet (ctx->late_projects); the load reports it if no file does. */
void conf_project_ref_later(struct conf_ctx *ctx, const struct conf_node *at, const char *pid);
/* Parses one project mapping into *p (id, name, environments); 0 or -1. */
int conf_project_parse_one(struct conf_ctx *ctx, const struct conf_node *item, struct conf_project *p,
                           struct base_map *seen);

#endif
