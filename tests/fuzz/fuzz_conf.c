/*
 * libFuzzer target for the config loader: any bytes go through
 * conf_load_string (YAML parse, ${VAR} expansion, schema validation). It must
 * never crash, hang or leak, and must either succeed with a usable conf or
 * fail with at least one positioned error.
 */
#include "conf/conf.h"
#include "probe/registry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int env_ready;
    if (!env_ready) {
        /* Fixed environment so ${...} takes both paths deterministically. */
        setenv("OPSHUB_FUZZ_SET", "127.0.0.1:4000", 1);
        setenv("OPSHUB_FUZZ_EMPTY", "", 1);
        unsetenv("OPSHUB_FUZZ_UNSET");
        env_ready = 1;
    }
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    int rc = conf_load_string(probe_registry_types(), "fuzz.yaml", (const char *)data, size, &c, &errs);
    if (rc == 0) {
        if (!c)
            abort();
        for (size_t i = 0; i < c->n_checks; i++) {
            const struct conf_check *cc = &c->checks[i];
            if (!cc->id || cc->timeout_ms <= 0 || cc->timeout_ms >= cc->interval_ms)
                abort();
            if (!usable(cc))
                abort();
            if (conf_check_find(c, cc->id) != cc)
                abort();
        }
        conf_destroy(c);
    } else if (c || (rc == BASE_ERR_INVALID && errs.len == 0 && errs.dropped == 0)) {
        abort();
    }
    base_errors_free(&errs);
    return 0;
}
