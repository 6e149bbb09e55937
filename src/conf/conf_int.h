/*
 * conf/conf_int: private contract between the files of the config loader:
 * yaml.c (libyaml events -> a node tree with positions), json.c (jansson
 * values -> the same tree with JSON paths), value.c (typed reading of nodes,
 * error reporting, unknown-key suggestions), schema.c (field tables),
 * check.c (checks[] and the check types' fields), conf.c (public API,
 * top-level sections, id indices) and merge.c (conf_merge_checks). No
 * other folder includes this header. Everything here runs inside one load,
 * one thread.
 */
#ifndef CONF_CONF_INT_H
#define CONF_CONF_INT_H

#include "base/map.h"
#include "conf/conf.h"
#include "conf/value.h"

#include <stdbool.h>
#include <stddef.h>

#define CONF_MAX_FILE (8u * 1024 * 1024) /* bigger files are refused unread */
#define CONF_MAX_NODES 1000000           /* guard against node floods */
#define CONF_MAX_DEPTH 64                /* nesting; the schema needs 5 */
#define CONF_MIN_INTERVAL_MS 100
#define CONF_MAX_INTERVAL_MS (365LL * 24 * 3600 * 1000)

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
    /* Keys a check may have: the common fields, then every type's (built
     * once per load in tmp by check.c). */
    const char **check_names;
    size_t n_check_names;
};

/* ---- yaml.c ---- */

/* Parses text into a node tree in ctx->tmp. *root is NULL for an empty
 * stream. Returns 0, or BASE_ERR_INVALID / BASE_ERR_NOMEM after reporting. */
int conf_yaml_parse(struct conf_ctx *ctx, const char *text, size_t len, struct conf_node **root);

/* ---- value.c: the readers are public, in conf/value.h ---- */

/* ---- json.c ---- */

/* Builds the node tree of a jansson value in ctx->tmp (ctx->json must be
 * set). Returns 0, or BASE_ERR_INVALID / BASE_ERR_NOMEM after reporting. */
int conf_json_parse(struct conf_ctx *ctx, const json_t *value, struct conf_node **root);

/* ---- check.c ---- */

/* Fills conf->checks from the `checks` list. projects maps id -> struct conf_project. */
void conf_check_parse_list(struct conf_ctx *ctx, const struct conf_node *list,
                           const struct base_map *projects);
/* FNV-1a 64 over the type and every field of the common and the type's
 * tables (not line/col/source). */
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
/* Builds the id indices of a complete conf; without memory for them the
 * lookups stay linear (slower, still right). */
void conf_index(struct conf *c);
/* Parses one project mapping into *p (id, name, environments); 0 or -1. */
int conf_project_parse_one(struct conf_ctx *ctx, const struct conf_node *item, struct conf_project *p,
                           struct base_map *seen);

#endif
