/*
 * conf/merge: a new conf from the file's and the API-created definitions
 * (conf_merge_checks): a deep copy of the base conf (settings, file list,
 * projects, checks) followed by the extra projects and checks, every string
 * copied into the new conf's arena so each conf can be destroyed alone.
 * Checks keep their hash, file and position, so a reload can diff them;
 * extra ones are marked as from the API.
 */
#include "conf/conf_int.h"

#include <string.h>

static int copy_str(struct base_arena *a, const char **s)
{
    if (!*s)
        return 0;
    *s = base_arena_strdup(a, *s);
    return *s ? 0 : BASE_ERR_NOMEM;
}

/* Server, storage and log sections and the file list of src, strings
 * copied into dst; `files` maps each file name to dst's copy. */
static int copy_settings(struct conf *dst, const struct conf *src, struct base_map *files)
{
    struct base_arena *a = &dst->arena;
    dst->server = src->server;
    dst->storage = src->storage;
    dst->log = src->log;
    dst->status_page = src->status_page;
    if (conf_status_page_copy(&dst->status_page, a) != 0)
        return BASE_ERR_NOMEM;
    struct conf_server *s = &dst->server;
    if (copy_str(a, &s->listen) || copy_str(a, &s->base_url) || copy_str(a, &s->rate_limit) ||
        copy_str(a, &s->global_rate_limit) || copy_str(a, &s->login_rate_limit) ||
        copy_str(a, &s->cors_origins) || copy_str(a, &s->tls_cert) || copy_str(a, &s->tls_key) ||
        copy_str(a, &s->static_dir) || copy_str(a, &dst->storage.url) || copy_str(a, &dst->log.service))
        return BASE_ERR_NOMEM;
    if (s->n_trusted_proxies) {
        struct base_cidr *nets = base_arena_alloc(a, s->n_trusted_proxies * sizeof(*nets));
        if (!nets)
            return BASE_ERR_NOMEM;
        memcpy(nets, s->trusted_proxies, s->n_trusted_proxies * sizeof(*nets));
        s->trusted_proxies = nets;
    }
    if (copy_str(a, &s->metrics_bearer_token) || copy_str(a, &s->metrics_username) ||
        copy_str(a, &s->metrics_password))
        return BASE_ERR_NOMEM;
    if (src->n_files && !(dst->files = base_arena_alloc(a, src->n_files * sizeof(*dst->files))))
        return BASE_ERR_NOMEM;
    for (size_t i = 0; i < src->n_files; i++) {
        dst->files[i] = src->files[i];
        if (copy_str(a, &dst->files[i]) || base_map_put(files, dst->files[i], (void *)dst->files[i]))
            return BASE_ERR_NOMEM;
    }
    dst->n_files = src->n_files;
    return 0;
}

static int add_project(struct conf *c, struct base_map *by_id, const struct conf_project *src, bool from_api)
{
    struct conf_project *p = &c->projects[c->n_projects];
    if (base_map_get(by_id, src->id))
        return BASE_ERR_EXISTS;
    *p = *src;
    p->environments = NULL;
    if (copy_str(&c->arena, &p->id))
        return BASE_ERR_NOMEM;
    if (src->name == src->id)
        p->name = p->id;
    else if (copy_str(&c->arena, &p->name))
        return BASE_ERR_NOMEM;
    if (src->n_environments) {
        p->environments = base_arena_alloc(&c->arena, src->n_environments * sizeof(*p->environments));
        if (!p->environments)
            return BASE_ERR_NOMEM;
        for (size_t i = 0; i < src->n_environments; i++) {
            p->environments[i] = src->environments[i];
            if (copy_str(&c->arena, &p->environments[i]))
                return BASE_ERR_NOMEM;
        }
    }
    if (base_map_put(by_id, p->id, p) != 0)
        return BASE_ERR_NOMEM;
    if (from_api)
        p->source = CONF_SOURCE_API;
    c->n_projects++;
    return 0;
}

/* The check's file name in c: one copy per file, shared by its checks. */
static int set_check_file(struct conf *c, struct base_map *files, struct conf_check *cc)
{
    if (!cc->file)
        return 0;
    const char *copy = base_map_get(files, cc->file);
    if (!copy && (!(copy = base_arena_strdup(&c->arena, cc->file)) ||
                  base_map_put(files, copy, (void *)copy) != 0))
        return BASE_ERR_NOMEM;
    cc->file = copy;
    return 0;
}

static int add_check(struct conf *c, struct base_map *projects, struct base_map *ids,
                     struct base_map *files, const struct conf_check *src, bool from_api)
{
    struct conf_check *cc = &c->checks[c->n_checks];
    const char *project = NULL;
    if (!src->id)
        return BASE_ERR_INVALID;
    if (base_map_get(ids, src->id))
        return BASE_ERR_EXISTS;
    if (src->project) {
        const struct conf_project *p = base_map_get(projects, src->project);
        if (!p)
            return BASE_ERR_INVALID;
        project = p->id;
    }
    if (conf_check_copy(cc, src, &c->arena, project) || set_check_file(c, files, cc) ||
        base_map_put(ids, cc->id, cc) != 0)
        return BASE_ERR_NOMEM;
    if (from_api)
        cc->source = CONF_SOURCE_API;
    c->n_checks++;
    return 0;
}

int conf_merge_checks(const struct conf *base, const struct conf *const *extra, size_t n,
                      struct conf **out)
{
    struct base_map projects, ids, files;
    struct conf *c = NULL;
    size_t n_projects = base ? base->n_projects : 0, n_checks = base ? base->n_checks : 0;
    int rc = BASE_ERR_NOMEM;
    *out = NULL;
    base_map_init(&projects);
    base_map_init(&ids);
    base_map_init(&files);
    for (size_t i = 0; i < n; i++) {
        if (extra[i]) {
            n_projects += extra[i]->n_projects;
            n_checks += extra[i]->n_checks;
        }
    }
    if (!(c = conf_alloc(base ? base->path : "<api>")))
        goto fail;
    c->types = base ? base->types : NULL;
    for (size_t i = 0; !c->types && i < n; i++)
        c->types = extra[i] ? extra[i]->types : NULL;
    if (base && copy_settings(c, base, &files))
        goto fail;
    if (n_projects && !(c->projects = base_arena_alloc(&c->arena, n_projects * sizeof(*c->projects))))
        goto fail;
    if (n_checks && !(c->checks = base_arena_alloc(&c->arena, n_checks * sizeof(*c->checks))))
        goto fail;
    /* Source 0 is base, then extra[0..n). Projects first: checks refer to them. */
    for (size_t i = 0; i <= n; i++) {
        const struct conf *src = i == 0 ? base : extra[i - 1];
        for (size_t j = 0; src && j < src->n_projects; j++)
            if ((rc = add_project(c, &projects, &src->projects[j], i > 0)) != 0)
                goto fail;
    }
    for (size_t i = 0; i <= n; i++) {
        const struct conf *src = i == 0 ? base : extra[i - 1];
        for (size_t j = 0; src && j < src->n_checks; j++)
            if ((rc = add_check(c, &projects, &ids, &files, &src->checks[j], i > 0)) != 0)
                goto fail;
    }
    base_map_free(&projects);
    base_map_free(&ids);
    base_map_free(&files);
    conf_index(c);
    *out = c;
    return 0;
fail:
    base_map_free(&projects);
    base_map_free(&ids);
    base_map_free(&files);
    conf_destroy(c);
    return rc;
}
