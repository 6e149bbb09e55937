/*
 * libFuzzer target for configuration split across files: the input becomes
 * the included files of a fixed main file (split at the first NUL byte into
 * conf.d/a.yaml and conf.d/b.yaml) in a private directory, and the whole set
 * is loaded with conf_load_file. The main file's include pattern is fixed,
 * so nothing outside that directory is ever read. Must never crash, hang or
 * leak; a success has unique ids, every check's project declared in some
 * file and every check's file one of the three; a failure names one of the
 * three files in every error.
 */
#include "base/log.h"
#include "conf/conf.h"
#include "probe/registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], main_path[96], a_path[96], b_path[96];

static const char main_yaml[] =
    "include: [conf.d/*.yaml]\n"
    "projects: [{id: shop}]\n"
    "checks:\n"
    "  - {id: main-check, type: tcp, address: '127.0.0.1:1', project: shop}\n";

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

static void cleanup(void)
{
    char sub[80];
    snprintf(sub, sizeof(sub), "%s/conf.d", dir);
    unlink(a_path);
    unlink(b_path);
    unlink(main_path);
    rmdir(sub);
    rmdir(dir);
}

static void prepare(void)
{
    /* tmpfs when there is one: every run writes the files again */
    snprintf(dir, sizeof(dir), "%s/opshub-fuzz-include-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(main_path, sizeof(main_path), "%s/main.yaml", dir);
    snprintf(a_path, sizeof(a_path), "%s/conf.d/a.yaml", dir);
    snprintf(b_path, sizeof(b_path), "%s/conf.d/b.yaml", dir);
    char sub[80];
    snprintf(sub, sizeof(sub), "%s/conf.d", dir);
    if (mkdir(sub, 0755) != 0)
        abort();
    write_file(main_path, (const uint8_t *)main_yaml, strlen(main_yaml));
    atexit(cleanup);
    base_log_setup(BASE_LOG_WARN, BASE_LOG_FORMAT_JSON, NULL);
}

static bool is_ours(const char *file)
{
    return file && (strcmp(file, main_path) == 0 || strcmp(file, a_path) == 0 ||
                    strcmp(file, b_path) == 0);
}

static void check_success(const struct conf *c)
{
    if (!c || c->n_files < 1 || c->n_files > 3 || strcmp(c->files[0], main_path) != 0)
        abort();
    for (size_t i = 0; i < c->n_checks; i++) {
        const struct conf_check *cc = &c->checks[i];
        if (!cc->id || !is_ours(cc->file) || conf_check_find(c, cc->id) != cc)
            abort();
        bool declared = !cc->project;
        for (size_t j = 0; j < c->n_projects && !declared; j++)
            declared = strcmp(c->projects[j].id, cc->project) == 0;
        if (!declared)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        prepare();
    const uint8_t *nul = memchr(data, '\0', size);
    size_t a_len = nul ? (size_t)(nul - data) : size;
    write_file(a_path, data, a_len);
    if (nul)
        write_file(b_path, nul + 1, size - a_len - 1);
    else
        unlink(b_path);
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    int rc = conf_load_file(probe_registry_types(), main_path, &c, &errs);
    if (rc == 0) {
        check_success(c);
        conf_destroy(c);
    } else if (c || rc != BASE_ERR_INVALID || (errs.len == 0 && errs.dropped == 0)) {
        abort();
    }
    for (size_t i = 0; i < errs.len; i++)
        if (!is_ours(errs.items[i].file))
            abort();
    base_errors_free(&errs);
    return 0;
}
