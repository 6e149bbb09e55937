/*
 * Unit tests for configuration split across files (src/conf/files.c and the
 * include handling of src/conf/conf.c): `include:` globs relative to the
 * main file, load order, every error path with the included file's
 * FILE:LINE:COL (missing and unreadable files, bad YAML, keys an included
 * file may not hold, nested includes, duplicate ids across files naming both
 * places, unknown projects), projects shared across files, limits, merging,
 * allocation failure at every step, and 100,000 checks in 100 files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/log.h"
#include "conf/conf.h"
#include "probe/http.h"
#include "probe/registry.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", dir, rel);
}

/* Writes dir/rel (creating conf.d/ as needed). */
static void put(const char *rel, const char *text)
{
    char p[512];
    path_of(p, sizeof(p), rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    mkdir(p, 0755);
    *slash = '/';
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void mkdir_in(const char *rel)
{
    char p[512];
    path_of(p, sizeof(p), rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    struct stat st; /* tmpfs when there is one: a test writes 10,000 files */
    bool shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0;
    snprintf(dir, sizeof(dir), "%s/opshub-test-files-XXXXXX", shm ? "/dev/shm" : "/tmp");
    assert_non_null(mkdtemp(dir));
    base_log_setup(BASE_LOG_WARN, BASE_LOG_FORMAT_JSON, NULL); /* "matched no files" is info */
    return 0;
}

static int teardown(void **state)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    return 0;
}

struct loaded {
    struct conf *c;
    struct base_errors e;
    int rc;
};

/* Writes main.yaml with `text` and loads it. */
static void load_main(struct loaded *l, const char *text)
{
    char p[512];
    put("main.yaml", text);
    path_of(p, sizeof(p), "main.yaml");
    base_errors_init(&l->e, 0);
    l->c = NULL;
    l->rc = conf_load_file(probe_registry_types(), p, &l->c, &l->e);
}

static void unload(struct loaded *l)
{
    conf_destroy(l->c);
    base_errors_free(&l->e);
}

static void dump(const struct base_errors *e)
{
    char line[1024];
    for (size_t i = 0; i < e->len; i++)
        fprintf(stderr, "  got: %s\n", base_error_format(&e->items[i], line, sizeof(line)));
}

/* Some error is in dir/rel at line:col and contains needle. */
static bool has_error(const struct base_errors *e, const char *rel, int line, int col, const char *needle)
{
    char p[512];
    path_of(p, sizeof(p), rel);
    for (size_t i = 0; i < e->len; i++) {
        const struct base_error *x = &e->items[i];
        if (x->file && strcmp(x->file, p) == 0 && x->line == line && x->col == col &&
            strstr(x->msg, needle))
            return true;
    }
    fprintf(stderr, "  missing error %s:%d:%d '%s'\n", rel, line, col, needle);
    dump(e);
    return false;
}

static void expect_ok(struct loaded *l, const char *main_text)
{
    load_main(l, main_text);
    if (l->rc)
        dump(&l->e);
    assert_int_equal(l->rc, 0);
    assert_non_null(l->c);
    assert_int_equal(l->e.len, 0);
}

static void expect_one_error(const char *main_text, const char *rel, int line, int col, const char *needle)
{
    struct loaded l;
    load_main(&l, main_text);
    if (l.e.len != 1)
        dump(&l.e);
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_null(l.c);
    assert_int_equal(l.e.len, 1);
    assert_true(has_error(&l.e, rel, line, col, needle));
    unload(&l);
}

static const char *file_of(const struct conf_check *cc)
{
    const char *slash = cc->file ? strrchr(cc->file, '/') : NULL;
    return slash ? slash + 1 : "";
}

static void test_include_reads_every_file_in_order(void **state)
{
    put("conf.d/b.yaml", "checks:\n  - {id: b1, type: tcp, address: 'h:1', project: shop}\n");
    put("conf.d/a.yaml", "projects: [{id: web}]\n"
                         "checks:\n  - {id: a1, type: tcp, address: 'h:1', project: web}\n"
                         "  - {id: a2, type: tcp, address: 'h:2'}\n");
    put("conf.d/notes.txt", "not yaml at all: [");
    mkdir_in("conf.d/sub.yaml"); /* a directory matching the pattern is skipped */
    put("extra.yaml", "checks: [{id: x1, type: tcp, address: 'h:3', project: web}]\n");
    struct loaded l;
    expect_ok(&l, "include: [conf.d/*.yaml, extra.yaml]\n"
                  "projects: [{id: shop}]\n"
                  "checks:\n  - {id: m1, type: tcp, address: 'h:4', project: web}\n");
    struct conf *c = l.c;
    static const char *const ids[] = {"m1", "a1", "a2", "b1", "x1"};
    static const char *const files[] = {"main.yaml", "a.yaml", "a.yaml", "b.yaml", "extra.yaml"};
    assert_int_equal(c->n_checks, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(c->checks[i].id, ids[i]);
        assert_string_equal(file_of(&c->checks[i]), files[i]);
        assert_ptr_equal(conf_check_find(c, ids[i]), &c->checks[i]);
    }
    assert_int_equal(c->checks[1].line, 3); /* lines are in their own file */
    assert_int_equal(c->checks[1].col, 5);
    /* projects of any file, for checks of any file (m1 names one read later) */
    assert_int_equal(c->n_projects, 2);
    assert_string_equal(c->projects[0].id, "shop");
    assert_string_equal(c->projects[1].id, "web");
    assert_string_equal(c->checks[0].project, "web");
    assert_string_equal(c->checks[3].project, "shop");
    assert_string_equal(c->checks[4].project, "web");
    assert_int_equal(c->n_files, 4);
    char p[512];
    path_of(p, sizeof(p), "conf.d/a.yaml");
    assert_string_equal(c->files[1], p);
    path_of(p, sizeof(p), "extra.yaml");
    assert_string_equal(c->files[3], p);
    unload(&l);
}

static void test_include_patterns_are_relative_to_the_main_file(void **state)
{
    /* the working directory is elsewhere; an absolute pattern works too */
    char cwd[512], abs_pattern[600];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir("/"), 0);
    put("conf.d/a.yaml", "checks: [{id: a, type: tcp, address: 'h:1'}]\n");
    put("other/b.yaml", "checks: [{id: b, type: tcp, address: 'h:1'}]\n");
    snprintf(abs_pattern, sizeof(abs_pattern), "include: [conf.d/a.yaml, '%s/other/*.yaml']\n", dir);
    struct loaded l;
    expect_ok(&l, abs_pattern);
    assert_int_equal(l.c->n_checks, 2);
    assert_string_equal(file_of(&l.c->checks[1]), "b.yaml");
    unload(&l);
    /* one pattern may be given without a list; ${VAR} is expanded */
    setenv("OPSHUB_TEST_CONF_D", "conf.d", 1);
    expect_ok(&l, "include: ${OPSHUB_TEST_CONF_D}/*.yaml\n");
    assert_int_equal(l.c->n_checks, 1);
    unload(&l);
    unsetenv("OPSHUB_TEST_CONF_D");
    assert_int_equal(chdir(cwd), 0);
}

static void test_include_patterns_that_match_nothing_are_fine(void **state)
{
    struct loaded l;
    mkdir_in("empty.d");
    expect_ok(&l, "include: [empty.d/*.yaml, nowhere.d/*.yaml]\n"
                  "checks: [{id: a, type: tcp, address: 'h:1'}]\n");
    assert_int_equal(l.c->n_checks, 1);
    assert_int_equal(l.c->n_files, 1);
    unload(&l);
    expect_ok(&l, "include: []\n");
    unload(&l);
    expect_ok(&l, "include:\n");
    unload(&l);
}

static void test_include_reads_no_file_twice(void **state)
{
    put("conf.d/a.yaml", "checks: [{id: a, type: tcp, address: 'h:1'}]\n");
    /* main.yaml matches *.yaml itself; a.yaml is named by two patterns */
    struct loaded l;
    expect_ok(&l, "include: ['*.yaml', conf.d/a.yaml, conf.d/*.yaml]\n"
                  "checks: [{id: m, type: tcp, address: 'h:1'}]\n");
    assert_int_equal(l.c->n_checks, 2);
    assert_int_equal(l.c->n_files, 2);
    unload(&l);
}

static void test_include_missing_literal_file_is_an_error_at_the_pattern(void **state)
{
    expect_one_error("checks: []\ninclude:\n  - conf.d/missing.yaml\n", "main.yaml", 3, 5,
                     "included file '");
    expect_one_error("checks: []\ninclude:\n  - conf.d/missing.yaml\n", "main.yaml", 3, 5,
                     "missing.yaml': cannot read: No such file or directory");
}

static void test_include_unreadable_files_are_errors(void **state)
{
    char p[512], q[512];
    path_of(p, sizeof(p), "loop.yaml");
    assert_int_equal(symlink(p, p), 0); /* reading it fails whoever runs the test */
    expect_one_error("include: [loop.yaml]\n", "main.yaml", 1, 11,
                     "loop.yaml': cannot read: Too many levels of symbolic links");
    mkdir_in("adir");
    expect_one_error("include: [adir]\n", "main.yaml", 1, 11, "adir': is a directory");
    path_of(q, sizeof(q), "fifo.yaml");
    assert_int_equal(mkfifo(q, 0644), 0); /* never blocks the load */
    expect_one_error("include: ['fifo.*']\n", "main.yaml", 1, 11, "fifo.yaml': not a regular file");
    unlink(p);
    unlink(q);
}

static void test_include_bad_yaml_names_the_included_file(void **state)
{
    put("conf.d/a.yaml", "checks:\n  - {id: a, type: tcp, address: 'h:1'}\n");
    put("conf.d/b.yaml", "checks:\n  - id: b\n    type: tcp\n   address: [\n");
    expect_one_error("include: [conf.d/*.yaml]\n", "conf.d/b.yaml", 4, 4, "YAML syntax error");
    put("conf.d/b.yaml", "checks: [{id: b, type: tcp, address: 'h:1', interval: soon}]\n");
    expect_one_error("include: [conf.d/*.yaml]\n", "conf.d/b.yaml", 1, 55, "bad duration 'soon'");
    put("conf.d/b.yaml", "checks: [{id: b, type: tcp, address: 'h:1'}]\nchekcs: []\n");
    expect_one_error("include: [conf.d/*.yaml]\n", "conf.d/b.yaml", 2, 1,
                     "unknown key 'chekcs' (did you mean 'checks'?)");
    put("conf.d/b.yaml", "- just a list\n");
    expect_one_error("include: [conf.d/*.yaml]\n", "conf.d/b.yaml", 1, 1,
                     "expected a mapping at the top level, got a list");
    put("conf.d/b.yaml", "# only comments: an empty file is fine\n");
    struct loaded l;
    expect_ok(&l, "include: [conf.d/*.yaml]\n");
    assert_int_equal(l.c->n_checks, 1);
    unload(&l);
}

static void test_include_files_hold_only_lists(void **state)
{
    put("conf.d/a.yaml", "checks: []\nserver: {listen: '127.0.0.1:1'}\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 2, 1,
                     "'server' is not allowed in an included file (only projects, checks and alerts");
    put("conf.d/a.yaml", "storage: {}\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 1, 1, "'storage' is not allowed");
    put("conf.d/a.yaml", "projects: []\nlog: {level: debug}\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 2, 1, "'log' is not allowed");
    put("conf.d/a.yaml", "alerts: []\nrule_files: [r.yml]\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 2, 1, "'rule_files' is not allowed");
    put("conf.d/a.yaml", "incidents: {}\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 1, 1, "'incidents' is not allowed");
    put("conf.d/a.yaml", "deploys: []\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 1, 1,
                     "'deploys' is not supported by this version of opshub yet");
    put("conf.d/a.yaml", "checks: {id: a}\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 1, 9, "expected a list, got a mapping");
}

static void test_include_does_not_nest(void **state)
{
    put("conf.d/a.yaml", "checks: []\ninclude: [b.yaml]\n");
    put("conf.d/b.yaml", "checks: [{id: b, type: tcp, address: 'h:1'}]\n");
    expect_one_error("include: [conf.d/a.yaml]\n", "conf.d/a.yaml", 2, 1,
                     "'include' is not allowed in an included file (no nested includes");
}

static void test_include_duplicate_ids_across_files_name_both_places(void **state)
{
    char want[600], main_path[512];
    path_of(main_path, sizeof(main_path), "main.yaml");
    put("conf.d/a.yaml", "projects:\n  - {id: shop}\nchecks:\n  - {id: web, type: tcp, address: 'h:1'}\n");
    put("conf.d/b.yaml", "checks:\n  - type: tcp\n    address: 'h:1'\n    id: web\n");
    struct loaded l;
    load_main(&l, "projects: [{id: shop}]\ninclude: [conf.d/*.yaml]\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_int_equal(l.e.len, 2);
    snprintf(want, sizeof(want), "duplicate project id 'shop' (first defined at %s:1:17)", main_path);
    assert_true(has_error(&l.e, "conf.d/a.yaml", 2, 10, want));
    path_of(main_path, sizeof(main_path), "conf.d/a.yaml");
    snprintf(want, sizeof(want), "duplicate check id 'web' (first defined at %s:4:10)", main_path);
    assert_true(has_error(&l.e, "conf.d/b.yaml", 4, 9, want));
    unload(&l);
    /* within one file: as before, "line N" */
    put("conf.d/b.yaml", "checks:\n  - {id: x, type: tcp, address: 'h:1'}\n  - {id: x, type: tcp, address: 'h:1'}\n");
    expect_one_error("include: [conf.d/b.yaml]\n", "conf.d/b.yaml", 3, 10,
                     "duplicate check id 'x' (first defined at line 2)");
}

static void test_include_unknown_projects_are_reported_once_all_files_are_read(void **state)
{
    put("conf.d/a.yaml", "checks:\n  - {id: a, type: tcp, address: 'h:1', project: wbe}\n");
    put("conf.d/z.yaml", "projects: [{id: web}]\n");
    expect_one_error("include: [conf.d/*.yaml]\n", "conf.d/a.yaml", 2, 49,
                     "unknown project 'wbe' (did you mean 'web'?)");
    put("conf.d/z.yaml", "checks: []\n");
    expect_one_error("include: [conf.d/*.yaml]\n", "conf.d/a.yaml", 2, 49,
                     "unknown project 'wbe' (no projects are declared)");
    /* a project in a file that has errors is not declared: its users say so too */
    put("conf.d/z.yaml", "projects: [{id: wbe, name: [x]}]\n");
    struct loaded l;
    load_main(&l, "include: [conf.d/*.yaml]\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    assert_true(has_error(&l.e, "conf.d/z.yaml", 1, 28, "expected a string, got a list"));
    unload(&l);
}

static void test_include_reports_every_error_of_every_file_in_file_order(void **state)
{
    put("conf.d/a.yaml", "checks:\n  - {id: A, type: tcp, address: 'h:1'}\n  - {id: b, type: tcp, address: x}\n");
    put("conf.d/b.yaml", "checks: [{id: c, type: tcp, address: 'h:1', confirm: 0}]\nserver: {}\n");
    struct loaded l;
    load_main(&l, "log: {level: loud}\ninclude: [conf.d/*.yaml, missing.yaml]\n"
                  "checks: [{id: m, type: http}]\n");
    assert_int_equal(l.rc, BASE_ERR_INVALID);
    static const struct { const char *file; int line, col; const char *msg; } want[] = {
        {"main.yaml", 1, 14, "unknown log level 'loud'"},
        {"main.yaml", 2, 26, "missing.yaml': cannot read"},
        {"main.yaml", 3, 10, "http check is missing 'url'"},
        {"conf.d/a.yaml", 2, 10, "bad id 'A'"},
        {"conf.d/a.yaml", 3, 33, "bad address 'x'"},
        {"conf.d/b.yaml", 1, 54, "out of range"},
        {"conf.d/b.yaml", 2, 1, "'server' is not allowed"},
    };
    if (l.e.len != 7)
        dump(&l.e);
    assert_int_equal(l.e.len, 7);
    for (size_t i = 0; i < 7; i++) {
        char p[512];
        path_of(p, sizeof(p), want[i].file);
        const struct base_error *x = &l.e.items[i];
        if (strcmp(x->file, p) != 0 || x->line != want[i].line || x->col != want[i].col ||
            !strstr(x->msg, want[i].msg)) {
            fprintf(stderr, "  error %zu should be %s:%d:%d %s\n", i, want[i].file, want[i].line,
                    want[i].col, want[i].msg);
            dump(&l.e);
            fail();
        }
    }
    unload(&l);
}

static void test_include_value_errors(void **state)
{
    expect_one_error("include: {a: b}\n", "main.yaml", 1, 10, "expected a list of file patterns");
    expect_one_error("include: ['']\n", "main.yaml", 1, 11, "an include pattern must not be empty");
    expect_one_error("include: [[a]]\n", "main.yaml", 1, 11, "expected a file pattern, got a list");
    unsetenv("OPSHUB_TEST_UNSET");
    expect_one_error("include: ['${OPSHUB_TEST_UNSET}/*.yaml']\n", "main.yaml", 1, 11, "OPSHUB_TEST_UNSET");
    /* text has no directory and must not read files */
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    const char *text = "include: [/etc/*]\n";
    assert_int_equal(conf_load_string(probe_registry_types(), "t.yaml", text, strlen(text), &c, &e), BASE_ERR_INVALID);
    assert_int_equal(e.len, 1);
    assert_int_equal(e.items[0].line, 1);
    assert_non_null(strstr(e.items[0].msg, "'include' works only in a configuration file"));
    base_errors_free(&e);
}

static void test_include_limits_the_number_of_files(void **state)
{
    mkdir_in("many.d");
    for (int i = 0; i < 10000; i++) { /* with the main file, one too many */
        char name[64];
        snprintf(name, sizeof(name), "many.d/%05d.yaml", i);
        put(name, "");
    }
    expect_one_error("include: [many.d/*.yaml]\n", "main.yaml", 1, 11, "too many included files (at most 9999");
    char p[512];
    path_of(p, sizeof(p), "many.d/09999.yaml");
    assert_int_equal(unlink(p), 0);
    struct loaded l;
    expect_ok(&l, "include: [many.d/*.yaml]\n");
    assert_int_equal(l.c->n_files, 10000);
    unload(&l);
}

static void test_include_limits_each_file_size(void **state)
{
    char p[512];
    path_of(p, sizeof(p), "big.yaml");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fseek(f, 8L * 1024 * 1024, SEEK_SET), 0); /* 8 MiB + 1 byte, sparse */
    fputc('\n', f);
    fclose(f);
    expect_one_error("include: [big.yaml]\n", "main.yaml", 1, 11,
                     "big.yaml': file is too large (8388609 bytes; at most 8388608)");
    unlink(p);
}

static void test_include_checks_survive_merging(void **state)
{
    put("conf.d/a.yaml", "checks: [{id: a, type: tcp, address: 'h:1'}]\n");
    struct loaded l;
    expect_ok(&l, "include: [conf.d/a.yaml]\nlog: {keys: service, service: shop-api}\n");
    struct conf *merged = NULL;
    assert_int_equal(conf_merge_checks(l.c, NULL, 0, &merged), 0);
    char p[512];
    path_of(p, sizeof(p), "conf.d/a.yaml");
    assert_int_equal(merged->n_files, 2);
    assert_string_equal(merged->files[1], p);
    unload(&l); /* the copy owns its strings */
    assert_string_equal(merged->checks[0].file, p);
    assert_ptr_equal(merged->checks[0].file, merged->files[1]); /* one copy per file */
    assert_string_equal(merged->log.service, "shop-api");
    /* an API check with a file check's id names the file it is in */
    json_t *obj = json_pack("{s:s, s:s, s:s}", "id", "a", "type", "tcp", "address", "h:2");
    struct conf *one = NULL;
    struct conf_json_error err;
    assert_int_equal(conf_check_from_json(probe_registry_types(), obj, merged, &one, &err), BASE_ERR_EXISTS);
    char want[700];
    snprintf(want, sizeof(want), "duplicate check id 'a' (first defined at line 1 of %s)", p);
    assert_string_equal(err.message, want);
    json_decref(obj);
    conf_destroy(merged);
}

static void test_include_survives_allocation_failure_at_every_step(void **state)
{
    put("conf.d/a.yaml", "projects: [{id: web}]\nchecks: [{id: a, type: tcp, address: 'h:1', project: late}]\n");
    put("conf.d/b.yaml", "projects: [{id: late}]\nchecks: [{id: b, type: tcp, address: 'h:1', project: web}]\n");
    put("main.yaml", "include: [conf.d/*.yaml]\nchecks: [{id: m, type: tcp, address: 'h:1', project: late}]\n");
    char p[512];
    path_of(p, sizeof(p), "main.yaml");
    int rc = -1;
    long n;
    for (n = 0; n < 100000 && rc != 0; n++) {
        struct base_errors e;
        struct conf *c = (struct conf *)1;
        base_errors_init(&e, 0);
        base_alloc_fail_after(n);
        rc = conf_load_file(probe_registry_types(), p, &c, &e);
        base_alloc_fail_after(-1);
        if (rc == 0) {
            assert_int_equal(c->n_checks, 3);
            assert_string_equal(c->checks[1].project, "late");
            conf_destroy(c);
        } else {
            assert_int_equal(rc, BASE_ERR_NOMEM); /* never a bogus config error */
            assert_null(c);
        }
        base_errors_free(&e);
    }
    assert_int_equal(rc, 0);
    assert_true(n > 10); /* arenas allocate in blocks: a dozen allocations in all */
    /* and a broken set of files */
    put("conf.d/b.yaml", "checks: [{id: a, type: tcp, address: 'h:1', project: nope}]\nserver: {}\n");
    rc = -1;
    for (n = 0; n < 100000 && rc != BASE_ERR_INVALID; n++) {
        struct base_errors e;
        struct conf *c = NULL;
        base_errors_init(&e, 0);
        base_alloc_fail_after(n);
        rc = conf_load_file(probe_registry_types(), p, &c, &e);
        base_alloc_fail_after(-1);
        assert_null(c);
        assert_true(rc == BASE_ERR_NOMEM || rc == BASE_ERR_INVALID);
        base_errors_free(&e);
    }
    assert_int_equal(rc, BASE_ERR_INVALID);
}

/* 100,000 checks do not fit one 8 MiB file with readable lines; in 100
 * included files they load, each check knowing its file. */
static void test_include_loads_100000_checks_from_100_files(void **state)
{
    mkdir_in("fleet.d");
    size_t total = 0;
    for (int f = 0; f < 100; f++) {
        char name[128];
        snprintf(name, sizeof(name), "%s/fleet.d/%03d.yaml", dir, f);
        FILE *out = fopen(name, "w");
        assert_non_null(out);
        fputs("checks:\n", out);
        for (int i = f * 1000; i < (f + 1) * 1000; i++)
            fprintf(out, "  - id: check-%06d\n    project: fleet\n    type: http\n"
                         "    url: http://127.0.0.1:8080/health/%d\n    interval: 30s\n"
                         "    timeout: 5s\n    labels: {team: ops, shard: '%d'}\n", i, i, f);
        total += (size_t)ftell(out);
        fclose(out);
    }
    assert_true(total > 8u * 1024 * 1024); /* more than one file may hold */
    struct loaded l;
    expect_ok(&l, "projects: [{id: fleet}]\ninclude: [fleet.d/*.yaml]\n");
    assert_int_equal(l.c->n_checks, 100000);
    assert_int_equal(l.c->n_files, 101);
    const struct conf_check *last = &l.c->checks[99999];
    assert_string_equal(last->id, "check-099999");
    assert_string_equal(file_of(last), "099.yaml");
    assert_int_equal(last->line, 2 + 7 * 999); /* "checks:", then 7 lines a check */
    assert_string_equal(last->project, "fleet");
    assert_string_equal(((const struct probe_http_conf *)last->settings)->url, "http://127.0.0.1:8080/health/99999");
    unload(&l);
}

/* The seeds of the fuzz target for included files, split and loaded the
 * way it does: valid-* load, the others fail with errors. */
static void test_include_fuzz_seeds_load_as_named(void **state)
{
    const char *src = getenv("OPSHUB_TEST_SRCDIR");
    char corpus[1024];
    snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/fuzz_conf_include", src ? src : "..");
    DIR *d = opendir(corpus);
    assert_non_null(d);
    put("main.yaml", "include: [conf.d/*.yaml]\nprojects: [{id: shop}]\n"
                     "checks:\n  - {id: main-check, type: tcp, address: '127.0.0.1:1', project: shop}\n");
    mkdir_in("conf.d");
    int seen = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        char path[1400], text[4096];
        snprintf(path, sizeof(path), "%s/%s", corpus, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        put("conf.d/a.yaml", text); /* up to the first NUL */
        char b[512];
        path_of(b, sizeof(b), "conf.d/b.yaml");
        unlink(b);
        if (strlen(text) < n)
            put("conf.d/b.yaml", text + strlen(text) + 1);
        struct conf *c = NULL;
        struct base_errors e;
        base_errors_init(&e, 0);
        path_of(path, sizeof(path), "main.yaml");
        int rc = conf_load_file(probe_registry_types(), path, &c, &e);
        if ((rc == 0) != (strncmp(de->d_name, "valid-", 6) == 0)) {
            fprintf(stderr, "  seed %s: rc %d\n", de->d_name, rc);
            dump(&e);
            fail();
        }
        assert_true(rc == 0 || e.len > 0);
        conf_destroy(c);
        base_errors_free(&e);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_include_reads_every_file_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_patterns_are_relative_to_the_main_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_patterns_that_match_nothing_are_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_reads_no_file_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_missing_literal_file_is_an_error_at_the_pattern, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_include_unreadable_files_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_bad_yaml_names_the_included_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_files_hold_only_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_does_not_nest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_duplicate_ids_across_files_name_both_places, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_include_unknown_projects_are_reported_once_all_files_are_read,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_reports_every_error_of_every_file_in_file_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_include_value_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_limits_the_number_of_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_limits_each_file_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_checks_survive_merging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_survives_allocation_failure_at_every_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_loads_100000_checks_from_100_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_fuzz_seeds_load_as_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
