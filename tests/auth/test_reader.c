/*
 * Unit tests for auth/reader, the identity service's own read connection:
 * jobs run in order on a thread that is not the loop's, against a real
 * SQLite file, and their results come back on the loop; an unreachable
 * database fails fast with BASE_ERR_UNAVAILABLE and a readable reason;
 * closing cancels jobs not started, runs every done callback, refuses new
 * jobs and leaves no handle on the loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/db.h"
#include "auth/reader.h"
#include "base/err.h"
#include "store/store_test_pg.h"

#include <stdio.h>
#include <string.h>

struct env {
    uv_loop_t loop;
    char dir[256];
    char url[512];
};

static int env_setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    if (!e || uv_loop_init(&e->loop) != 0 || test_mkdtemp(e->dir, sizeof(e->dir)) != 0)
        return -1;
    snprintf(e->url, sizeof(e->url), "sqlite://%s/r.db", e->dir);
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    uv_run(&e->loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&e->loop); /* fails if the reader left a handle behind */
    test_rmtree(e->dir);
    free(e);
    return rc == 0 ? 0 : -1;
}

struct job {
    int order;             /* its place among the done callbacks (1-based), 0 = not yet */
    int status;
    char err[256];
    int64_t gen;
    bool on_other_thread;
    bool fail_unavailable; /* work reports a lost connection */
};

static uv_thread_t loop_thread;
static int done_count;

static int gen_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct job *j = data;
    uv_thread_t self = uv_thread_self();
    j->on_other_thread = !uv_thread_equal(&self, &loop_thread);
    if (j->fail_unavailable) {
        snprintf(err, errlen, "connection lost (simulated)");
        return BASE_ERR_UNAVAILABLE;
    }
    return auth_db_gen(c, &j->gen, err, errlen);
}

static void gen_done(void *data, int status, const char *errmsg)
{
    struct job *j = data;
    j->order = ++done_count;
    j->status = status;
    snprintf(j->err, sizeof(j->err), "%s", errmsg ? errmsg : "(null)");
}

static void on_closed(void *data)
{
    *(bool *)data = true;
}

static void close_reader(struct env *e, struct auth_reader *r)
{
    bool closed = false;
    auth_reader_close(r, on_closed, &closed);
    while (!closed)
        uv_run(&e->loop, UV_RUN_ONCE);
}

static void run_until_done(struct env *e, struct job *j)
{
    while (!j->order)
        uv_run(&e->loop, UV_RUN_ONCE);
}

static void test_reader_runs_jobs_in_order_off_the_loop(void **state)
{
    struct env *e = *state;
    loop_thread = uv_thread_self();
    done_count = 0;
    char err[256] = "";
    struct auth_reader *r = auth_reader_new(&e->loop, e->url, err, sizeof(err));
    assert_non_null(r);
    struct job j[4];
    memset(j, 0, sizeof(j));
    j[1].fail_unavailable = true;
    for (int i = 0; i < 4; i++)
        assert_int_equal(auth_reader_call(r, gen_work, gen_done, &j[i]), 0);
    run_until_done(e, &j[3]);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(j[i].order, i + 1);
        assert_true(j[i].on_other_thread);
    }
    assert_int_equal(j[0].status, 0);
    assert_int_equal(j[0].gen, 0); /* a fresh database, migrated by the reader's open */
    assert_int_equal(j[1].status, BASE_ERR_UNAVAILABLE);
    assert_string_equal(j[1].err, "connection lost (simulated)");
    assert_int_equal(j[2].status, 0); /* the connection was opened again */
    assert_int_equal(j[3].status, 0);
    assert_int_equal(auth_reader_call(r, NULL, gen_done, &j[0]), BASE_ERR_INVALID);
    close_reader(e, r);
}

static void test_reader_unreachable_database_fails_fast(void **state)
{
    struct env *e = *state;
    loop_thread = uv_thread_self();
    done_count = 0;
    char url[600], err[256] = "", file[300];
    snprintf(file, sizeof(file), "%s/a-file", e->dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(url, sizeof(url), "sqlite://%s/x.db", file); /* a directory that cannot exist */
    struct auth_reader *r = auth_reader_new(&e->loop, url, err, sizeof(err));
    assert_non_null(r);
    struct job j[2];
    memset(j, 0, sizeof(j));
    uint64_t t0 = uv_hrtime();
    assert_int_equal(auth_reader_call(r, gen_work, gen_done, &j[0]), 0);
    assert_int_equal(auth_reader_call(r, gen_work, gen_done, &j[1]), 0);
    run_until_done(e, &j[1]);
    assert_true(uv_hrtime() - t0 < 2000000000ull);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(j[i].status, BASE_ERR_UNAVAILABLE);
        assert_false(j[i].on_other_thread); /* work never ran */
        assert_non_null(strstr(j[i].err, "auth reader"));
    }
    close_reader(e, r);
}

/* A job that blocks its thread until released, so others stay queued. */
static uv_sem_t gate, running;

static int gated_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    uv_sem_post(&running);
    uv_sem_wait(&gate);
    return gen_work(c, data, err, errlen);
}

static void test_reader_close_cancels_queued_jobs(void **state)
{
    struct env *e = *state;
    loop_thread = uv_thread_self();
    done_count = 0;
    char err[256] = "";
    assert_int_equal(uv_sem_init(&gate, 0), 0);
    assert_int_equal(uv_sem_init(&running, 0), 0);
    struct auth_reader *r = auth_reader_new(&e->loop, e->url, err, sizeof(err));
    assert_non_null(r);
    struct job j[3];
    memset(j, 0, sizeof(j));
    assert_int_equal(auth_reader_call(r, gated_work, gen_done, &j[0]), 0);
    assert_int_equal(auth_reader_call(r, gen_work, gen_done, &j[1]), 0);
    assert_int_equal(auth_reader_call(r, gen_work, gen_done, &j[2]), 0);
    uv_sem_wait(&running); /* the first job holds the thread; the others wait in the queue */
    bool closed = false;
    auth_reader_close(r, on_closed, &closed);
    assert_int_equal(auth_reader_call(r, gen_work, gen_done, &j[0]), BASE_ERR_CANCELED);
    uv_sem_post(&gate);
    while (!closed)
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_int_equal(j[0].status, 0); /* the running job finished */
    assert_int_equal(j[1].status, BASE_ERR_CANCELED);
    assert_int_equal(j[2].status, BASE_ERR_CANCELED);
    assert_int_equal(done_count, 3);
    uv_sem_destroy(&gate);
    uv_sem_destroy(&running);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reader_runs_jobs_in_order_off_the_loop, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_reader_unreachable_database_fails_fast, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_reader_close_cancels_queued_jobs, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
