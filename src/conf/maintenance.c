/*
 * conf/maintenance: the `maintenance:` list (see conf.h, struct
 * conf_maintenance): recurring windows (a 5-field cron schedule in a time
 * zone of the system tz database, and a duration) or one-off ones (from,
 * to), scoped to projects and/or label matchers. Schedules and zones are
 * checked here, at the position of the field.
 */
#include "conf/conf_int.h"

#include "base/cron.h"
#include "base/map.h"
#include "base/time.h"
#include "base/tz.h"

#include <stdio.h>
#include <string.h>

static void parse_one(struct conf_ctx *ctx, const struct conf_node *item, struct conf_maintenance *w,
                      struct base_map *ids)
{
    enum { F_ID, F_DESC, F_SCHEDULE, F_DURATION, F_TZ, F_FROM, F_TO, F_PROJECTS, F_MATCH, F_MATCH_RE, F_PUBLIC, F_N };
    static const char *const names[F_N] = {"id", "description", "schedule", "duration", "timezone", "from", "to",
                                           "projects", "match", "match_re", "public"};
    const struct conf_node *f[F_N];
    w->public = true;
    w->line = item->line;
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, F_N, f);
    if (!f[F_ID])
        conf_value_error_member(ctx, item, "id", "a maintenance window is missing 'id'");
    else if (conf_value_id(ctx, f[F_ID], &w->id) == 0)
        conf_value_unique(ctx, ids, w->id, f[F_ID], "maintenance window");
    if (f[F_DESC] && conf_value_string(ctx, f[F_DESC], &w->description) == 0 && strlen(w->description) > 1024)
        conf_value_error(ctx, f[F_DESC], "a description is at most 1024 bytes");
    bool recurring = f[F_SCHEDULE] != NULL, once = f[F_FROM] || f[F_TO];
    if (recurring && once) {
        conf_value_error(ctx, (f[F_FROM] ? f[F_FROM] : f[F_TO])->key,
                         "a window is recurring (schedule, duration) or one-off (from, to), not both");
        return;
    }
    if (!recurring && !once) {
        conf_value_error_member(ctx, item, "schedule", "a maintenance window needs 'schedule' and 'duration' "
                                "(recurring) or 'from' and 'to' (one-off)");
        return;
    }
    w->timezone = "UTC";
    if (f[F_TZ]) {
        if (!recurring)
            conf_value_error(ctx, f[F_TZ]->key, "'timezone' is for a schedule (give from/to with their offset)");
        else if (conf_value_string(ctx, f[F_TZ], &w->timezone) == 0) {
            char why[200];
            struct base_tz *tz = base_tz_load(w->timezone, why, sizeof(why));
            if (!tz)
                conf_value_error(ctx, f[F_TZ], "%s", why);
            base_tz_free(tz);
        }
    }
    if (recurring) {
        if (conf_value_string(ctx, f[F_SCHEDULE], &w->schedule) == 0) {
            char why[200];
            size_t pos = 0;
            if (base_cron_parse(w->schedule, &w->cron, why, sizeof(why), &pos) != 0)
                conf_value_error(ctx, f[F_SCHEDULE], "bad schedule '%s' (at character %zu): %s", w->schedule,
                                 pos + 1, why);
        }
        if (!f[F_DURATION])
            conf_value_error_member(ctx, item, "duration", "a recurring window needs 'duration' (2h)");
        else if (conf_value_duration(ctx, f[F_DURATION], &w->duration_ms) == 0 &&
                 (w->duration_ms < 60000 || w->duration_ms > 31LL * 86400000))
            conf_value_error(ctx, f[F_DURATION], "duration must be from 1m to 31d");
    } else {
        if (!f[F_FROM] || !f[F_TO])
            conf_value_error_member(ctx, item, f[F_FROM] ? "to" : "from", "a one-off window needs 'from' and 'to'");
        else if (conf_value_time(ctx, f[F_FROM], &w->from_ms) == 0 && conf_value_time(ctx, f[F_TO], &w->to_ms) == 0 &&
                 w->to_ms <= w->from_ms)
            conf_value_error(ctx, f[F_TO], "'to' must be after 'from'");
    }
    if (f[F_PROJECTS]) {
        const struct conf_node *p = f[F_PROJECTS];
        if (conf_value_expect(ctx, p, CONF_NODE_SEQ) == 0 && p->n) {
            const char **v = conf_value_alloc(ctx, p->n * sizeof(*v));
            size_t k = 0;
            for (const struct conf_node *it = p->child; v && it; it = it->next)
                if (conf_value_id(ctx, it, &v[k]) == 0)
                    k++;
            w->projects = v;
            w->n_projects = k;
        }
    }
    conf_matchers_parse(ctx, f[F_MATCH], f[F_MATCH_RE], &w->matchers, &w->n_matchers);
    if (!w->n_projects && !w->n_matchers)
        conf_value_error_member(ctx, item, "projects", "a maintenance window needs 'projects' or 'match'/"
                                "'match_re' (what it mutes); to mute everything, say match_re: {alertname: '.+'}");
    if (f[F_PUBLIC])
        conf_value_bool(ctx, f[F_PUBLIC], &w->public);
}

void conf_maintenance_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_maintenance **out,
                            size_t *n_out)
{
    if (!n || conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    if (n->n > CONF_MAINTENANCE_MAX) {
        conf_value_error(ctx, n, "maintenance lists at most %d windows", CONF_MAINTENANCE_MAX);
        return;
    }
    struct conf_maintenance *w = n->n ? conf_value_alloc(ctx, n->n * sizeof(*w)) : NULL;
    if (n->n && !w)
        return;
    struct base_map ids;
    base_map_init(&ids);
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next)
        parse_one(ctx, it, &w[k++], &ids);
    base_map_free(&ids);
    *out = w;
    *n_out = k;
}
