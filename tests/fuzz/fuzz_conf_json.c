/*
 * libFuzzer target for API-created checks and projects (src/conf/json.c):
 * any bytes that jansson reads as JSON (duplicate keys rejected, its own
 * depth limit) go through conf_check_from_json and conf_project_from_json
 * against a small running config. Must never crash, hang or leak; a valid
 * check must survive conf_check_to_json -> text -> conf_check_from_json
 * with the same hash and merge into the running config.
 */
#include "conf/conf.h"
#include "probe/registry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 8 /* array inputs: objects tried per run */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_yaml[] =
    "projects:\n"
    "  - {id: shop, name: Shop, environments: [prod]}\n"
    "  - {id: billing}\n"
    "checks:\n"
    "  - {id: existing, type: http, url: 'http://127.0.0.1:1/'}\n";

static struct conf *base_conf(void)
{
    static struct conf *base;
    if (!base) {
        struct base_errors errs;
        base_errors_init(&errs, 0);
        if (conf_load_string(probe_registry_types(), "base.yaml", base_yaml, strlen(base_yaml), &base, &errs) != 0)
            abort();
        base_errors_free(&errs);
    }
    return base;
}

static void check_failure(int rc, const struct conf *c, const struct conf_json_error *err)
{
    if (c || !err->message[0])
        abort();
    if (rc != BASE_ERR_INVALID && rc != BASE_ERR_EXISTS && rc != BASE_ERR_NOMEM)
        abort();
    if (rc == BASE_ERR_EXISTS && strcmp(err->field, "id") != 0)
        abort();
}

/* The canonical JSON, as stored and read back, gives the same check. */
static void round_trip(const struct conf *base, const struct conf_check *cc)
{
    struct conf_json_error err;
    struct conf *again = NULL;
    json_t *j = conf_check_to_json(cc);
    if (!j)
        abort();
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text)
        abort();
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!back || conf_check_from_json(probe_registry_types(), back, base, &again, &err) != 0 ||
        again->checks[0].hash != cc->hash)
        abort();
    conf_destroy(again);
    json_decref(back);
    free(text);
    json_decref(j);
}

/* A loaded check has a type, its settings and, unless passive, something
 * to probe (the URL, the address). */
static bool usable(const struct conf_check *cc)
{
    char target[512] = "";
    if (!cc->type || !cc->settings)
        return false;
    if (cc->type->target)
        cc->type->target(cc, target, sizeof(target));
    return cc->type->passive || target[0] != '\0';
}

static void one(const json_t *obj)
{
    struct conf *base = base_conf(), *c = NULL, *merged = NULL;
    struct conf_json_error err = {"", ""};
    int rc = conf_check_from_json(probe_registry_types(), obj, base, &c, &err);
    if (rc == 0) {
        const struct conf_check *cc = &c->checks[0];
        if (!c || c->n_checks != 1 || !cc->id || cc->timeout_ms <= 0 || cc->timeout_ms >= cc->interval_ms ||
            !usable(cc))
            abort();
        round_trip(base, cc);
        const struct conf *extra[] = {c};
        if (conf_merge_checks(base, extra, 1, &merged) != 0 || merged->n_checks != base->n_checks + 1 ||
            merged->checks[base->n_checks].hash != cc->hash)
            abort();
        conf_destroy(merged);
        conf_destroy(c);
    } else {
        check_failure(rc, c, &err);
    }
    rc = conf_project_from_json(obj, base, &c, &err);
    if (rc == 0) {
        json_t *j = conf_project_to_json(&c->projects[0]);
        if (c->n_projects != 1 || !j)
            abort();
        json_decref(j);
        conf_destroy(c);
    } else {
        check_failure(rc, c, &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (!v)
        return 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && i < MAX_ITEMS; i++)
            one(json_array_get(v, i));
    } else {
        one(v);
    }
    json_decref(v);
    return 0;
}
