/*
 * conf/status_page: parsing the `status_page:` section (see status_page.h).
 */
#include "conf/status_page.h"

#include "base/arena.h"
#include "base/err.h"
#include "base/map.h"
#include "conf/conf_int.h"

#include <string.h>

/* A non-empty string of at most CONF_STATUS_TEXT_MAX bytes. */
static int text(struct conf_ctx *ctx, const struct conf_node *n, const char *what, const char **out)
{
    if (conf_value_string(ctx, n, out) != 0)
        return -1;
    size_t len = strlen(*out);
    if (len == 0 || len > CONF_STATUS_TEXT_MAX) {
        conf_value_error(ctx, n, "%s must be 1 to %d bytes", what, CONF_STATUS_TEXT_MAX);
        return -1;
    }
    return 0;
}

/* A path on this server: the page must not make the browser fetch
 * anything from elsewhere. */
static void parse_logo(struct conf_ctx *ctx, const struct conf_node *n, struct conf_status_page *sp)
{
    const char *v;
    if (conf_value_string(ctx, n, &v) != 0)
        return;
    if (v[0] != '/' || v[1] == '/' || strlen(v) > 512 || strpbrk(v, "\"'<> \\")) {
        conf_value_error(ctx, n, "logo must be a path on this server such as /assets/logo.svg (the status page "
                         "loads nothing from other hosts)");
        return;
    }
    sp->logo = v;
}

static int parse_checks(struct conf_ctx *ctx, const struct conf_node *n, struct conf_status_component *c)
{
    if (conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return -1;
    if (n->n == 0 || n->n > CONF_STATUS_CHECKS_MAX) {
        conf_value_error(ctx, n, "checks must list 1 to %d check ids", CONF_STATUS_CHECKS_MAX);
        return -1;
    }
    c->checks = conf_value_alloc(ctx, n->n * sizeof(*c->checks));
    if (!c->checks)
        return -1;
    struct base_map seen;
    base_map_init(&seen);
    int rc = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        const char *id;
        if (conf_value_id(ctx, it, &id) != 0 || conf_value_unique(ctx, &seen, id, it, "check in this component")) {
            rc = -1;
            continue;
        }
        c->checks[c->n_checks++] = id;
    }
    base_map_free(&seen);
    return rc;
}

static void parse_component(struct conf_ctx *ctx, const struct conf_node *item, struct conf_status_component *c,
                            struct base_map *names)
{
    static const char *const fields[] = {"name", "description", "checks"};
    const struct conf_node *f[3];
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, fields, 3, f);
    if (!f[0])
        conf_value_error_member(ctx, item, "name", "component is missing 'name'");
    else if (text(ctx, f[0], "name", &c->name) == 0)
        conf_value_unique(ctx, names, c->name, f[0], "component name");
    if (f[1])
        text(ctx, f[1], "description", &c->description);
    if (!f[2])
        conf_value_error_member(ctx, item, "checks", "component is missing 'checks' (the check ids it is made of)");
    else
        parse_checks(ctx, f[2], c);
}

void conf_status_page_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_status_page *sp)
{
    static const char *const fields[] = {"enabled", "title", "description", "logo", "history_days", "components"};
    const struct conf_node *f[6];
    memset(sp, 0, sizeof(*sp));
    sp->title = "Status";
    sp->history_days = CONF_STATUS_HISTORY_DAYS;
    if (!n)
        return;
    sp->enabled = true;
    if (conf_value_is_null(n))
        return;
    if (conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, n, fields, 6, f);
    if (f[0])
        conf_value_bool(ctx, f[0], &sp->enabled);
    if (f[1])
        text(ctx, f[1], "title", &sp->title);
    if (f[2])
        text(ctx, f[2], "description", &sp->description);
    if (f[3])
        parse_logo(ctx, f[3], sp);
    long long days;
    if (f[4] && conf_value_int(ctx, f[4], 1, CONF_STATUS_HISTORY_DAYS_MAX, &days) == 0)
        sp->history_days = (int)days;
    if (!f[5] || conf_value_is_null(f[5]) || conf_value_expect(ctx, f[5], CONF_NODE_SEQ))
        return;
    if (f[5]->n > CONF_STATUS_COMPONENTS_MAX) {
        conf_value_error(ctx, f[5], "at most %d components", CONF_STATUS_COMPONENTS_MAX);
        return;
    }
    sp->components = conf_value_alloc(ctx, (f[5]->n ? f[5]->n : 1) * sizeof(*sp->components));
    if (!sp->components)
        return;
    struct base_map names;
    base_map_init(&names);
    for (const struct conf_node *it = f[5]->child; it; it = it->next)
        parse_component(ctx, it, &sp->components[sp->n_components++], &names);
    base_map_free(&names);
}

static int copy_str(struct base_arena *a, const char **s)
{
    if (!*s)
        return 0;
    *s = base_arena_strdup(a, *s);
    return *s ? 0 : BASE_ERR_NOMEM;
}

int conf_status_page_copy(struct conf_status_page *sp, struct base_arena *a)
{
    if (copy_str(a, &sp->title) || copy_str(a, &sp->description) || copy_str(a, &sp->logo))
        return BASE_ERR_NOMEM;
    if (!sp->n_components) {
        sp->components = NULL;
        return 0;
    }
    struct conf_status_component *cs = base_arena_alloc(a, sp->n_components * sizeof(*cs));
    if (!cs)
        return BASE_ERR_NOMEM;
    memcpy(cs, sp->components, sp->n_components * sizeof(*cs));
    for (size_t i = 0; i < sp->n_components; i++) {
        struct conf_status_component *c = &cs[i];
        if (copy_str(a, &c->name) || copy_str(a, &c->description))
            return BASE_ERR_NOMEM;
        const char **ids = base_arena_alloc(a, c->n_checks * sizeof(*ids));
        if (!ids)
            return BASE_ERR_NOMEM;
        for (size_t k = 0; k < c->n_checks; k++) {
            ids[k] = c->checks[k];
            if (copy_str(a, &ids[k]))
                return BASE_ERR_NOMEM;
        }
        c->checks = ids;
    }
    sp->components = cs;
    return 0;
}
