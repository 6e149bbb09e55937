/*
 * tests/store/store_test_conn: a cmocka fixture giving a test a fresh
 * SQLite store_conn (migrations applied) in its own temp directory, removed
 * afterwards. For the unit tests of domain SQL (auth/db, objects/db). Test
 * code only; static so each test executable gets its own copy.
 */
#ifndef TESTS_STORE_TEST_CONN_H
#define TESTS_STORE_TEST_CONN_H

#include "store/sql.h"
#include "store/store_test_pg.h"

#include <stdio.h>
#include <stdlib.h>

struct fx {
    char dir[256];
    struct store_conn *c;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || test_mkdtemp(f->dir, sizeof(f->dir)) != 0)
        return -1;
    char url[320], err[256] = "";
    snprintf(url, sizeof(url), "sqlite://%s/t.db", f->dir);
    if (store_conn_open(url, &f->c, err, sizeof(err)) != 0) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_conn_close(f->c);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

#endif
