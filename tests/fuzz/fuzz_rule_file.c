/*
 * libFuzzer target for Prometheus rule files: any bytes are read as a rule
 * file (conf_load_rule_files: YAML, groups, rules, durations, labels), then
 * every expression and template of what loaded is parsed (rules_validate:
 * the PromQL parser, the template parser), as `opshub rules check` does.
 * It must never crash, hang or leak; a file that fails has at least one
 * error, and one that loads and validates has groups with named rules.
 * The bytes reach the loader through a memfd (/proc/self/fd/N), as a file.
 */
#include "conf/conf.h"
#include "rules/rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("rules.yml", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    const char *paths[] = {path};
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    int rc = conf_load_rule_files(paths, 1, &c, &errs);
    if (rc == 0) {
        if (!c)
            abort();
        if (rules_validate(c, &errs) == 0) {
            for (size_t g = 0; g < c->n_rule_groups; g++)
                for (size_t r = 0; r < c->rule_groups[g].n_rules; r++)
                    if (!c->rule_groups[g].rules[r].name || !c->rule_groups[g].rules[r].expr)
                        abort();
        } else if (errs.len == 0 && errs.dropped == 0) {
            abort();
        }
        conf_destroy(c);
    } else if (c || (rc == BASE_ERR_INVALID && errs.len == 0 && errs.dropped == 0)) {
        abort();
    }
    base_errors_free(&errs);
    return 0;
}
