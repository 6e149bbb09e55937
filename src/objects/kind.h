/*
 * objects/kind: the kinds of object the API can create, each registered
 * once here: its name (the only place "check" and "project" are spelled),
 * how one object of it is validated (by the configuration loader's own
 * rules, errors naming JSON paths) and rendered canonically, which fields
 * are sealed at rest, how it is found in a configuration, what still uses
 * it, and the order in which the kinds merge into the running
 * configuration (projects before the checks that name them). Later kinds
 * (alert rules, channels, silences, maintenance windows, escalation
 * policies, backup jobs) are one more entry each. Pure functions over
 * configurations; no I/O.
 */
#ifndef OBJECTS_KIND_H
#define OBJECTS_KIND_H

#include "conf/conf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OBJECTS_SECRETS_MAX 32

struct objects_kind {
    const char *name;                   /* "check": the api_objects kind and the audit noun */
    /* Validates one object against `base` (ids taken, references). On
     * success *out is a new conf holding just it. conf_check_from_json's
     * contract (BASE_ERR_INVALID / BASE_ERR_EXISTS / BASE_ERR_NOMEM). */
    int (*validate)(const struct conf_check_types *types, const json_t *obj, const struct conf *base,
                    struct conf **out, struct conf_json_error *err);
    /* The canonical JSON of the one object of a validated conf (new
     * reference, NULL on OOM). */
    json_t *(*canonical)(const struct conf *one);
    /* The top-level fields of that object sealed at rest, NULL-terminated
     * (static strings; at most OBJECTS_SECRETS_MAX). */
    void (*secrets)(const struct conf *one, const char **names);
    /* Whether `id` exists in c, and where it came from. */
    bool (*find)(const struct conf *c, const char *id, enum conf_source *source);
    /* Why `id` cannot be deleted from run (something refers to it): a
     * message in why, or false when nothing does. May be NULL. */
    bool (*in_use)(const struct conf *run, const char *id, char *why, size_t n);
};

extern const struct objects_kind objects_kind_project;
extern const struct objects_kind objects_kind_check;

/* Every kind in merge order (a kind may refer to earlier ones). */
const struct objects_kind *const *objects_kinds(size_t *n);
/* The kind called `name`, or NULL. */
const struct objects_kind *objects_kind_find(const char *name);
/* Its position in objects_kinds, or -1. */
int objects_kind_index(const struct objects_kind *k);

#endif
