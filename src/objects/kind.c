/*
 * objects/kind: the registry of API object kinds.
 */
#include "objects/kind.h"

#include <stdio.h>
#include <string.h>

/* ---- project ---- */

static int project_validate(const struct conf_check_types *types, const json_t *obj, const struct conf *base,
                            struct conf **out, struct conf_json_error *err)
{
    (void)types;
    return conf_project_from_json(obj, base, out, err);
}

static json_t *project_canonical(const struct conf *one)
{
    return one->n_projects ? conf_project_to_json(&one->projects[0]) : NULL;
}

static void project_secrets(const struct conf *one, const char **names)
{
    (void)one;
    names[0] = NULL;
}

static bool project_find(const struct conf *c, const char *id, enum conf_source *source)
{
    const struct conf_project *p = conf_project_find(c, id);
    if (p && source)
        *source = p->source;
    return p != NULL;
}

static bool project_in_use(const struct conf *run, const char *id, char *why, size_t n)
{
    for (size_t i = 0; run && i < run->n_checks; i++) {
        if (run->checks[i].project && strcmp(run->checks[i].project, id) == 0) {
            snprintf(why, n, "project '%.80s' still has checks (e.g. '%.80s'): move or delete them first", id,
                     run->checks[i].id);
            return true;
        }
    }
    return false;
}

const struct objects_kind objects_kind_project = {
    .name = "project",
    .validate = project_validate,
    .canonical = project_canonical,
    .secrets = project_secrets,
    .find = project_find,
    .in_use = project_in_use,
};

/* ---- check ---- */

static json_t *check_canonical(const struct conf *one)
{
    return one->n_checks ? conf_check_to_json(&one->checks[0]) : NULL;
}

/* Sealed: the fields its type marks secret (URLs, headers, bodies, payloads). */
static void check_secrets(const struct conf *one, const char **names)
{
    size_t n = 0;
    const struct conf_field *f = one->n_checks && one->checks[0].type ? one->checks[0].type->fields : NULL;
    for (; f && f->name && n < OBJECTS_SECRETS_MAX; f++)
        if (f->flags & CONF_FIELD_SECRET)
            names[n++] = f->name;
    names[n] = NULL;
}

static bool check_find(const struct conf *c, const char *id, enum conf_source *source)
{
    const struct conf_check *cc = conf_check_find(c, id);
    if (cc && source)
        *source = cc->source;
    return cc != NULL;
}

const struct objects_kind objects_kind_check = {
    .name = "check",
    .validate = conf_check_from_json,
    .canonical = check_canonical,
    .secrets = check_secrets,
    .find = check_find,
};

/* ---- the registry ---- */

static const struct objects_kind *const kinds[] = {
    &objects_kind_project,
    &objects_kind_check,
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const struct objects_kind *const *objects_kinds(size_t *n)
{
    *n = N_KINDS;
    return kinds;
}

const struct objects_kind *objects_kind_find(const char *name)
{
    for (size_t i = 0; name && i < N_KINDS; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

int objects_kind_index(const struct objects_kind *k)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i] == k)
            return (int)i;
    return -1;
}
