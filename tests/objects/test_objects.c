/*
 * Unit tests for objects/db against a real SQLite store (store_conn_open on
 * a temp file, migrations applied): insert/get/list pages, optimistic
 * versions (conflict vs missing), delete, objects_gen bumps, sealing and
 * opening secrets, and key rotation (re-seal with the current key, refuse
 * and change nothing when a key is missing).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/alloc.h"
#include "base/err.h"
#include "objects/db.h"
#include "store/store_test_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static void ring(struct auth_secret_keyring *kr, const char *cur, const char *old)
{
    assert_int_equal(auth_secret_keyring_init(kr, cur, NULL, 0), 0);
    if (old)
        assert_int_equal(auth_secret_keyring_add_old(kr, old, NULL, 0), 0);
}

static void put(struct store_conn *c, const struct auth_secret_keyring *kr, const char *id, const char *secret)
{
    struct objects_row r;
    memset(&r, 0, sizeof(r));
    snprintf(r.kind, sizeof(r.kind), "check");
    snprintf(r.id, sizeof(r.id), "%s", id);
    r.definition = base_strdup("{\"id\":\"x\"}");
    if (secret)
        assert_int_equal(objects_seal(kr, secret, &r.secret, r.key_id), 0);
    r.created_at = r.updated_at = 1000;
    snprintf(r.created_by, sizeof(r.created_by), "test");
    snprintf(r.updated_by, sizeof(r.updated_by), "test");
    char err[256] = "";
    assert_int_equal(objects_db_insert(c, &r, err, sizeof(err)), 0);
    assert_int_equal(r.version, 1);
    objects_row_clear(&r);
}

static char *open_secret(struct store_conn *c, const struct auth_secret_keyring *kr, const char *id)
{
    struct objects_row r;
    assert_int_equal(objects_db_get(c, "check", id, &r, NULL, 0), 0);
    char *plain = NULL;
    int rc = objects_open(kr, r.secret, &plain);
    objects_row_clear(&r);
    return rc == 0 ? plain : NULL;
}

static void test_objects_insert_get_list_pages_and_gen(void **state)
{
    struct fx *f = *state;
    struct auth_secret_keyring kr;
    ring(&kr, KEY_A, NULL);
    int64_t g0 = -1, g1 = -1;
    assert_int_equal(objects_db_gen(f->c, &g0, NULL, 0), 0);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "c%d", i);
        put(f->c, &kr, id, i % 2 ? "{\"url\":\"http://u:pw@h/\"}" : NULL);
    }
    assert_int_equal(objects_db_gen(f->c, &g1, NULL, 0), 0);
    assert_int_equal(g1, g0 + 5);
    struct objects_row dup;
    memset(&dup, 0, sizeof(dup));
    snprintf(dup.kind, sizeof(dup.kind), "check");
    snprintf(dup.id, sizeof(dup.id), "c1");
    dup.definition = base_strdup("{}");
    assert_int_equal(objects_db_insert(f->c, &dup, NULL, 0), BASE_ERR_EXISTS);
    objects_row_clear(&dup);

    struct objects_row *rows = NULL;
    size_t n = 0;
    bool more = false;
    assert_int_equal(objects_db_list(f->c, "check", NULL, 2, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(rows[0].id, "c0");
    assert_string_equal(rows[1].id, "c1");
    assert_null(rows[0].secret);
    assert_non_null(rows[1].secret);
    assert_int_equal(strncmp(rows[1].secret, "v1:", 3), 0);
    assert_null(strstr(rows[1].secret, "pw@"));
    char last[OBJECTS_ID_MAX];
    snprintf(last, sizeof(last), "%s", rows[1].id);
    objects_rows_free(rows, n);
    assert_int_equal(objects_db_list(f->c, "check", last, 10, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 3);
    assert_false(more);
    assert_string_equal(rows[0].id, "c2");
    objects_rows_free(rows, n);
    assert_int_equal(objects_db_list(f->c, "project", NULL, 10, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 0);

    char *plain = open_secret(f->c, &kr, "c1");
    assert_non_null(plain);
    assert_string_equal(plain, "{\"url\":\"http://u:pw@h/\"}");
    base_free(plain);
    auth_secret_keyring_free(&kr);
}

static void test_objects_update_delete_with_versions(void **state)
{
    struct fx *f = *state;
    struct auth_secret_keyring kr;
    ring(&kr, KEY_A, NULL);
    put(f->c, &kr, "v", NULL);
    struct objects_row r;
    assert_int_equal(objects_db_get(f->c, "check", "v", &r, NULL, 0), 0);
    base_free(r.definition);
    r.definition = base_strdup("{\"id\":\"v\",\"interval\":\"5s\"}");
    r.updated_at = 2000;
    assert_int_equal(objects_db_update(f->c, &r, 1, NULL, 0), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(objects_db_update(f->c, &r, 1, NULL, 0), BASE_ERR_BUSY); /* stale version */
    assert_int_equal(objects_db_update(f->c, &r, 0, NULL, 0), 0);             /* any version */
    assert_int_equal(r.version, 3);
    objects_row_clear(&r);
    struct objects_row again;
    assert_int_equal(objects_db_get(f->c, "check", "v", &again, NULL, 0), 0);
    assert_string_equal(again.definition, "{\"id\":\"v\",\"interval\":\"5s\"}");
    assert_int_equal(again.created_at, 1000);
    assert_int_equal(again.updated_at, 2000);
    objects_row_clear(&again);
    assert_int_equal(objects_db_delete(f->c, "check", "v", 2, NULL, 0), BASE_ERR_BUSY);
    assert_int_equal(objects_db_delete(f->c, "check", "v", 3, NULL, 0), 0);
    assert_int_equal(objects_db_delete(f->c, "check", "v", 0, NULL, 0), BASE_ERR_NOT_FOUND);
    assert_int_equal(objects_db_get(f->c, "check", "v", &again, NULL, 0), BASE_ERR_NOT_FOUND);
    memset(&r, 0, sizeof(r));
    snprintf(r.kind, sizeof(r.kind), "check");
    snprintf(r.id, sizeof(r.id), "ghost");
    r.definition = base_strdup("{}");
    assert_int_equal(objects_db_update(f->c, &r, 0, NULL, 0), BASE_ERR_NOT_FOUND);
    objects_row_clear(&r);
    auth_secret_keyring_free(&kr);
}

static void test_objects_rekey_reseals_with_the_current_key(void **state)
{
    struct fx *f = *state;
    struct auth_secret_keyring a, b_with_a, b_only;
    ring(&a, KEY_A, NULL);
    put(f->c, &a, "s1", "{\"token\":\"xoxb-1\"}");
    put(f->c, &a, "s2", "{\"token\":\"xoxb-2\"}");
    put(f->c, &a, "plain", NULL);
    ring(&b_only, KEY_B, NULL);
    size_t done = 99;
    char failed[128], err[256];
    /* Without the old key nothing can be re-sealed, and nothing changes. */
    assert_int_equal(objects_db_rekey(f->c, &b_only, &done, failed, sizeof(failed), err, sizeof(err)),
                     BASE_ERR_NOT_FOUND);
    assert_int_equal(done, 0);
    assert_string_equal(failed, "check s1");
    assert_non_null(strstr(err, "ENCRYPTION_KEY_OLD_BASE64"));
    assert_null(strstr(err, "xoxb"));
    char *p = open_secret(f->c, &a, "s1");
    assert_non_null(p);
    base_free(p);

    char ids[4][AUTH_SECRET_KEYID_LEN + 1];
    int64_t counts[4];
    size_t nk = 0;
    assert_int_equal(objects_db_key_usage(f->c, ids, counts, 4, &nk, NULL, 0), 0);
    assert_int_equal(nk, 1);
    assert_string_equal(ids[0], auth_secret_keyring_current_id(&a));
    assert_int_equal(counts[0], 2);

    ring(&b_with_a, KEY_B, KEY_A);
    assert_int_equal(objects_db_rekey(f->c, &b_with_a, &done, failed, sizeof(failed), err, sizeof(err)), 0);
    assert_int_equal(done, 2);
    p = open_secret(f->c, &b_only, "s2"); /* the new key alone opens it now */
    assert_non_null(p);
    assert_string_equal(p, "{\"token\":\"xoxb-2\"}");
    base_free(p);
    assert_null(open_secret(f->c, &a, "s2"));
    assert_int_equal(objects_db_key_usage(f->c, ids, counts, 4, &nk, NULL, 0), 0);
    assert_int_equal(nk, 1);
    assert_string_equal(ids[0], auth_secret_keyring_current_id(&b_only));
    /* A second run has nothing to do. */
    assert_int_equal(objects_db_rekey(f->c, &b_with_a, &done, failed, sizeof(failed), err, sizeof(err)), 0);
    assert_int_equal(done, 0);
    auth_secret_keyring_free(&a);
    auth_secret_keyring_free(&b_only);
    auth_secret_keyring_free(&b_with_a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_objects_insert_get_list_pages_and_gen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_objects_update_delete_with_versions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_objects_rekey_reseals_with_the_current_key, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
