/*
 * probe/proc on a real loop with real programs: stdin larger than a pipe's
 * buffer reaches the program whole (sha256sum of 1 MiB against the
 * digest computed here), a program that never reads stdin still finishes
 * (EPIPE is no error), stdout kept up to its maximum while out_total counts
 * everything, stderr, exit status, a signal, the deadline (process group
 * killed, the grandchild too), a program that is not there, and a cancel
 * that gets no result but is still closed with nothing left running.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "probe/proc.h"

#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct got {
    int done, closed;
    struct probe_proc_result r;
    char out[4096], err[1024];
};

static void on_done(void *data, const struct probe_proc_result *r)
{
    struct got *g = data;
    g->done++;
    g->r = *r;
    memcpy(g->out, r->out, r->out_len < sizeof(g->out) - 1 ? r->out_len : sizeof(g->out) - 1);
    memcpy(g->err, r->errout, r->err_len < sizeof(g->err) - 1 ? r->err_len : sizeof(g->err) - 1);
    g->r.out = g->out;
    g->r.errout = g->err;
}

static void on_closed(void *data)
{
    ((struct got *)data)->closed++;
}

static void run(struct got *g, const char *const *argv, size_t argc, const char *in, size_t in_len, int64_t timeout_ms,
                size_t out_max)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct probe_command_conf c = {.command = {.items = (const char **)argv, .n = argc}};
    memset(g, 0, sizeof(*g));
    struct probe_proc *p = probe_proc_start(&loop, &c, in, in_len, timeout_ms, out_max, on_done, on_closed, g);
    assert_non_null(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g->closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_large_stdin_reaches_program(void **state)
{
    (void)state;
    size_t n = 1024 * 1024;
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(i * 31 + (i >> 8));
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((unsigned char *)buf, n, md);
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    const char *argv[] = {"sha256sum"};
    struct got g;
    run(&g, argv, 1, buf, n, 10000, 4096);
    free(buf);
    assert_int_equal(g.done, 1);
    assert_int_equal(g.r.err, 0);
    assert_true(g.r.exited);
    assert_int_equal(g.r.exit_status, 0);
    assert_false(g.r.timed_out);
    assert_memory_equal(g.out, hex, 64);
}

static void test_program_ignoring_stdin(void **state)
{
    (void)state;
    size_t n = 512 * 1024;
    char *buf = calloc(1, n);
    const char *argv[] = {"sh", "-c", "echo out; echo oops >&2; exit 7"};
    struct got g;
    run(&g, argv, 3, buf, n, 10000, 4096);
    free(buf);
    assert_int_equal(g.done, 1);
    assert_int_equal(g.r.exit_status, 7);
    assert_string_equal(g.out, "out\n");
    assert_string_equal(g.err, "oops\n");
}

static void test_no_stdin_is_dev_null(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "wc -c"};
    struct got g;
    run(&g, argv, 3, NULL, 0, 10000, 4096);
    assert_int_equal(g.r.exit_status, 0);
    assert_int_equal(atoi(g.out), 0);
    /* an empty stdin is a closed pipe: EOF at once */
    run(&g, argv, 3, "", 0, 10000, 4096);
    assert_int_equal(atoi(g.out), 0);
}

static void test_output_max(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "head -c 100000 /dev/zero"};
    struct got g;
    run(&g, argv, 3, NULL, 0, 10000, 1000);
    assert_int_equal(g.r.out_len, 1000);
    assert_int_equal(g.r.out_total, 100000);
}

static void test_signal(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "kill -TERM $$"};
    struct got g;
    run(&g, argv, 3, NULL, 0, 10000, 100);
    assert_true(g.r.exited);
    assert_int_equal(g.r.term_signal, SIGTERM);
}

static void test_deadline_kills_group(void **state)
{
    (void)state;
    char pidfile[] = "/tmp/opshub-test-proc-XXXXXX";
    int fd = mkstemp(pidfile);
    close(fd);
    char script[256];
    snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; wait", pidfile);
    const char *argv[] = {"sh", "-c", script};
    struct got g;
    run(&g, argv, 3, "x", 1, 300, 100);
    assert_int_equal(g.done, 1);
    assert_true(g.r.timed_out);
    FILE *f = fopen(pidfile, "r");
    int gpid = 0;
    assert_int_equal(fscanf(f, "%d", &gpid), 1);
    fclose(f);
    unlink(pidfile);
    /* the grandchild was in the killed group: gone (or a zombie of init) within a moment */
    int alive = 1;
    for (int i = 0; i < 100 && alive; i++) {
        char path[64], st = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", gpid);
        FILE *s = fopen(path, "r");
        if (!s) {
            alive = 0;
            break;
        }
        if (fscanf(s, "%*d %*s %c", &st) == 1 && st == 'Z')
            alive = 0;
        fclose(s);
        if (alive)
            usleep(10000);
    }
    assert_int_equal(alive, 0);
}

static void test_missing_program(void **state)
{
    (void)state;
    const char *argv[] = {"/nonexistent/opshub-no-such-program"};
    struct got g;
    run(&g, argv, 1, "x", 1, 1000, 100);
    assert_int_equal(g.done, 1);
    assert_int_equal(g.r.err, UV_ENOENT);
    assert_false(g.r.exited);
}

static void test_cancel(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *argv[] = {"sleep", "30"};
    struct probe_command_conf c = {.command = {.items = argv, .n = 2}};
    struct got g;
    memset(&g, 0, sizeof(g));
    struct probe_proc *p = probe_proc_start(&loop, &c, "abc", 3, 10000, 100, on_done, on_closed, &g);
    assert_non_null(p);
    /* let it start, then cancel */
    uv_run(&loop, UV_RUN_NOWAIT);
    usleep(50000);
    uv_run(&loop, UV_RUN_NOWAIT);
    probe_proc_cancel(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(g.done, 0);
    assert_int_equal(g.closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
    /* and nothing left to reap */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* as in the daemon */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_stdin_reaches_program),
        cmocka_unit_test(test_program_ignoring_stdin),
        cmocka_unit_test(test_no_stdin_is_dev_null),
        cmocka_unit_test(test_output_max),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_deadline_kills_group),
        cmocka_unit_test(test_missing_program),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
