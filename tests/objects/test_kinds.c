/*
 * Unit tests for objects/kind and objects/confs: the registry lists every
 * kind once in merge order; each kind validates through the loader,
 * renders canonically, names its sealed fields, finds ids with their
 * source and says what blocks a delete; the running configuration is built
 * stage by stage over the file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "objects/confs.h"
#include "objects/kind.h"
#include "probe/registry.h"

#include <string.h>

static struct conf *load(const char *yaml)
{
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    assert_int_equal(conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e), 0);
    base_errors_free(&e);
    return c;
}

static void test_kinds_registry_order_and_lookup(void **state)
{
    size_t n;
    const struct objects_kind *const *k = objects_kinds(&n);
    assert_true(n >= 2);
    /* checks name projects: projects merge first */
    assert_true(objects_kind_index(&objects_kind_project) < objects_kind_index(&objects_kind_check));
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(objects_kind_find(k[i]->name), k[i]);
        assert_int_equal(objects_kind_index(k[i]), (int)i);
        assert_non_null(k[i]->validate);
        assert_non_null(k[i]->canonical);
        assert_non_null(k[i]->secrets);
        assert_non_null(k[i]->find);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(k[j]->name, k[i]->name);
    }
    assert_null(objects_kind_find("nope"));
    assert_null(objects_kind_find(NULL));
}

static void test_kinds_check_validates_seals_and_finds(void **state)
{
    struct conf *file = load("projects: [{id: shop}]\n"
                             "checks:\n  - {id: web, type: http, url: 'http://127.0.0.1:1/', project: shop}\n");
    const struct objects_kind *k = &objects_kind_check;
    json_t *obj = json_pack("{s:s, s:s, s:s, s:{s:s}, s:s}", "id", "api", "type", "http", "url",
                            "http://u:p@127.0.0.1:2/", "headers", "X-Token", "t", "project", "shop");
    struct conf *one = NULL;
    struct conf_json_error err;
    assert_int_equal(k->validate(probe_registry_types(), obj, file, &one, &err), 0);
    json_t *canon = k->canonical(one);
    assert_string_equal(json_string_value(json_object_get(canon, "type")), "http");
    const char *secrets[OBJECTS_SECRETS_MAX + 1];
    k->secrets(one, secrets);
    size_t ns = 0;
    while (secrets[ns])
        ns++;
    assert_int_equal(ns, 5); /* what the http type seals: url, headers, body, basic_auth, bearer_token */
    assert_string_equal(secrets[0], "url");
    bool auth = false, bearer = false;
    for (size_t i = 0; i < ns; i++) {
        auth |= strcmp(secrets[i], "basic_auth") == 0;
        bearer |= strcmp(secrets[i], "bearer_token") == 0;
    }
    assert_true(auth && bearer);
    enum conf_source src = CONF_SOURCE_API;
    assert_true(k->find(file, "web", &src));
    assert_int_equal(src, CONF_SOURCE_FILE);
    assert_false(k->find(file, "api", &src));
    /* the file's id is taken */
    json_object_set_new(obj, "id", json_string("web"));
    struct conf *dup = NULL;
    assert_int_equal(k->validate(probe_registry_types(), obj, file, &dup, &err), BASE_ERR_EXISTS);
    char why[300];
    assert_true(objects_kind_project.in_use(file, "shop", why, sizeof(why)));
    assert_non_null(strstr(why, "still has checks"));
    assert_false(objects_kind_project.in_use(file, "other", why, sizeof(why)));
    json_decref(obj);
    json_decref(canon);
    conf_destroy(one);
    conf_destroy(file);
}

static void test_confs_stages_over_the_file(void **state)
{
    struct conf *file = load("projects: [{id: shop}]\n"
                             "checks:\n  - {id: web, type: tcp, address: '127.0.0.1:1'}\n");
    struct objects_confs *c = NULL;
    assert_int_equal(objects_confs_build(NULL, file, probe_registry_types(), &c), 0);
    assert_ptr_equal(objects_confs_file(c), file);
    assert_ptr_equal(objects_confs_before(c, &objects_kind_project), file);
    /* without API objects no stage copies the file: every stage is the file */
    const struct conf *before_checks = objects_confs_before(c, &objects_kind_check);
    assert_ptr_equal(before_checks, file);
    assert_non_null(conf_project_find(before_checks, "shop"));
    const struct conf *run = objects_confs_run(c);
    assert_ptr_equal(run, file);
    const struct conf_check *web = conf_check_find(run, "web");
    assert_non_null(web);
    assert_int_equal(web->source, CONF_SOURCE_FILE);
    assert_int_equal(web->hash, conf_check_find(file, "web")->hash);
    assert_true(run->indexed);
    objects_confs_destroy(c);
    conf_destroy(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_registry_order_and_lookup),
        cmocka_unit_test(test_kinds_check_validates_seals_and_finds),
        cmocka_unit_test(test_confs_stages_over_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
