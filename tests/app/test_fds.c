/*
 * tests/app/test_fds: the open-file limit shared between probes and HTTP
 * connections.
 */
#include "app/fds.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_fds_cap_is_what_the_limit_leaves_after_the_reserve(void **state)
{
    (void)state;
    struct app_fd_plan p;
    /* ulimit -n 1024, one check: 1024 - 64 - 2 = 958 connections, not 4096. */
    app_fd_plan(1024, 1, 2048, 4096, &p);
    assert_int_equal(p.reserve, 66);
    assert_int_equal(p.max_connections, 958);
    assert_false(p.short_of_fds);
    /* A generous limit: the configured cap. */
    app_fd_plan(1048576, 100, 2048, 4096, &p);
    assert_int_equal(p.max_connections, 4096);
    /* Many checks: the reserve follows the runs in flight, not the checks. */
    app_fd_plan(8192, 100000, 2048, 4096, &p);
    assert_int_equal(p.reserve, 64 + 2048 * 2);
    assert_int_equal(p.max_connections, 8192 - 64 - 4096);
}

static void test_fds_too_low_a_limit_keeps_a_minimum_and_says_so(void **state)
{
    (void)state;
    struct app_fd_plan p;
    app_fd_plan(256, 500, 2048, 4096, &p);
    assert_int_equal(p.max_connections, APP_HTTP_MIN_CONNECTIONS);
    assert_true(p.short_of_fds);
    app_fd_plan(-1, 5, 2048, 4096, &p);  /* unknown limit: the configured cap */
    assert_int_equal(p.max_connections, 4096);
    assert_false(p.short_of_fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fds_cap_is_what_the_limit_leaves_after_the_reserve),
        cmocka_unit_test(test_fds_too_low_a_limit_keeps_a_minimum_and_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
