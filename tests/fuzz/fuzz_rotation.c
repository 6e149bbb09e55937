/*
 * libFuzzer target for rotations (conf/oncall + oncall/rotation): the
 * first 8 bytes pick an instant (1970..2300), the rest is a configuration.
 * For every rotation it loads, the answer at that instant must hold at it
 * (start <= t < end), name a member, an override's user or nobody, and the
 * spans of the next 14 days must be contiguous and in order.
 */
#include "conf/conf.h"
#include "conf/oncall.h"
#include "oncall/rotation.h"
#include "probe/registry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool known_user(const struct conf_rotation *c, const char *u)
{
    if (!u)
        return true;
    for (size_t i = 0; i < c->n_members; i++)
        if (!strcmp(c->members[i], u))
            return true;
    for (size_t i = 0; i < c->n_overrides; i++)
        if (!strcmp(c->overrides[i].user, u))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t raw = 0;
    memcpy(&raw, data, 8);
    int64_t t = (int64_t)(raw % (UINT64_C(10413792000000))); /* 1970 .. 2300, in ms */
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    if (conf_load_string(probe_registry_types(), "fuzz.yaml", (const char *)data + 8, size - 8, &c, &errs) == 0) {
        for (size_t i = 0; i < c->n_rotations; i++) {
            char why[200];
            struct oncall_rotation *r = oncall_rotation_new(&c->rotations[i], why, sizeof(why));
            if (!r)
                continue;
            struct oncall_span s;
            oncall_rotation_at(r, t, &s);
            if (!(s.start_ms <= t && t < s.end_ms) || !known_user(&c->rotations[i], s.user))
                abort();
            static struct oncall_span sp[200];
            size_t n = oncall_rotation_spans(r, t, t + 14LL * 86400000, sp, 200);
            for (size_t k = 0; k < n; k++) {
                if (sp[k].start_ms >= sp[k].end_ms || (k && sp[k].start_ms != sp[k - 1].end_ms) ||
                    !known_user(&c->rotations[i], sp[k].user))
                    abort();
            }
            if (n && sp[0].start_ms > t)
                abort();
            oncall_rotation_free(r);
        }
        conf_destroy(c);
    }
    base_errors_free(&errs);
    return 0;
}
