/*
 * objects/confs: merging API objects into the file's configuration.
 */
#include "objects/confs.h"

#include "base/alloc.h"
#include "base/log.h"

#define STAGES_MAX 16

struct objects_confs {
    const struct conf *file;
    struct conf *stage[STAGES_MAX]; /* NULL: the kind added nothing, the stage before it stands */
    size_t n;
};

/* Stage i, or the one it stands for. */
static const struct conf *resolve(const struct objects_confs *c, size_t i)
{
    for (size_t k = i + 1; k > 0; k--)
        if (c->stage[k - 1])
            return c->stage[k - 1];
    return c->file;
}

/* stage = prev + the valid items of kind k; NULL (no copy of prev) when
 * there are none. */
static int build_stage(const struct objects_svc *objects, const struct objects_kind *k, const struct conf *prev,
                       const struct conf_check_types *types, struct conf **stage)
{
    size_t n = 0, ne = 0;
    const struct objects_item *items = objects ? objects_svc_items(objects, k, &n) : NULL;
    struct conf **extra = base_calloc(n + 1, sizeof(*extra));
    int rc = extra ? 0 : BASE_ERR_NOMEM;
    struct conf_json_error je;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int r = items[i].secret_ok ? k->validate(types, items[i].full, prev, &extra[ne], &je) : BASE_ERR_INVALID;
        if (r == BASE_ERR_NOMEM)
            rc = r;
        else if (r)
            base_log_error("API object skipped", BASE_LOG_STR("kind", k->name), BASE_LOG_STR("id", items[i].id),
                           BASE_LOG_STR("field", items[i].secret_ok ? je.field : ""),
                           BASE_LOG_STR("error", items[i].secret_ok ? je.message : "its secret cannot be opened"));
        else
            ne++;
    }
    *stage = NULL;
    if (rc == 0 && ne)
        rc = conf_merge_checks(prev, (const struct conf *const *)extra, ne, stage);
    for (size_t i = 0; i < ne; i++)
        conf_destroy(extra[i]);
    base_free(extra);
    return rc;
}

int objects_confs_build(const struct objects_svc *objects, const struct conf *file,
                        const struct conf_check_types *types, struct objects_confs **out)
{
    size_t nk;
    const struct objects_kind *const *kinds = objects_kinds(&nk);
    struct objects_confs *c = base_calloc(1, sizeof(*c));
    *out = NULL;
    if (!c || nk > STAGES_MAX || nk == 0) {
        base_free(c);
        return BASE_ERR_NOMEM;
    }
    c->file = file;
    for (size_t i = 0; i < nk; i++) {
        int rc = build_stage(objects, kinds[i], i ? resolve(c, i - 1) : file, types, &c->stage[i]);
        if (rc) {
            objects_confs_destroy(c);
            return rc;
        }
        c->n++;
    }
    *out = c;
    return 0;
}

const struct conf *objects_confs_run(const struct objects_confs *c)
{
    return resolve(c, c->n - 1);
}

const struct conf *objects_confs_before(const struct objects_confs *c, const struct objects_kind *k)
{
    int i = objects_kind_index(k);
    return i > 0 ? resolve(c, (size_t)i - 1) : c->file;
}

const struct conf *objects_confs_file(const struct objects_confs *c)
{
    return c->file;
}

void objects_confs_destroy(struct objects_confs *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (c->stage[i])
            conf_destroy(c->stage[i]);
    base_free(c);
}
