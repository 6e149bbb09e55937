/*
 * Unit tests for probe/log_state: the log check's state file round trips
 * (any byte in the path, the extremes of every number), the parser refuses
 * every malformed, repeated, missing or out-of-range line whole, and a
 * save replaces the file atomically (a failed write leaves the old state,
 * a crashed writer's temporary file does not matter).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "probe/log_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void make_dir(char *path, size_t size)
{
    snprintf(path, size, "/tmp/opshub-test-log-state-XXXXXX");
    assert_non_null(mkdtemp(path));
}

static void remove_dir(const char *path)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static void write_new(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void test_log_state_round_trips(void **state)
{
    (void)state;
    struct probe_log_state a, b;
    memset(&a, 0, sizeof(a));
    snprintf(a.path, sizeof(a.path), "/var/log/odd name\nwith newline\xff.log");
    a.ts_ms = 1700000000123;
    a.has_cur = a.has_old = true;
    a.cur = (struct probe_log_file){UINT64_MAX, 42, (uint64_t)INT64_MAX, 256, UINT64_MAX - 1, true};
    a.old = (struct probe_log_file){1, 2, 3, 0, 0, false};
    char buf[PROBE_LOG_STATE_MAX];
    int n = probe_log_state_encode(&a, buf, sizeof(buf));
    assert_true(n > 0);
    const char *why = NULL;
    assert_int_equal(probe_log_state_parse(buf, (size_t)n, &b, &why), 0);
    assert_string_equal(b.path, a.path);
    assert_true(b.ts_ms == a.ts_ms && b.has_cur && b.has_old);
    assert_memory_equal(&b.cur, &a.cur, sizeof(a.cur));
    assert_memory_equal(&b.old, &a.old, sizeof(a.old));
    /* without cur and old */
    a.has_cur = a.has_old = false;
    n = probe_log_state_encode(&a, buf, sizeof(buf));
    assert_int_equal(probe_log_state_parse(buf, (size_t)n, &b, &why), 0);
    assert_false(b.has_cur || b.has_old);
    /* too small a buffer is refused, not cut */
    assert_int_equal(probe_log_state_encode(&a, buf, 20), -1);
}

static void expect_refused(const char *text, const char *reason)
{
    struct probe_log_state st;
    const char *why = NULL;
    if (probe_log_state_parse(text, strlen(text), &st, &why) == 0)
        fail_msg("accepted: %s", text);
    assert_non_null(why);
    if (!strstr(why, reason))
        fail_msg("reason '%s' for %s (expected '%s')", why, text, reason);
    assert_int_equal(st.has_cur, false);
    assert_int_equal(st.path[0], '\0');
}

static void test_log_state_parser_refuses_malformed_text(void **state)
{
    (void)state;
    expect_refused("", "not a log state file");
    expect_refused("opshub-log-state 2\npath 2f\nts_ms 1\nend\n", "not a log state file");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\n", "cut short");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\nend", "unterminated");
    expect_refused("opshub-log-state 1\npath 2f\nend\n", "missing");
    expect_refused("opshub-log-state 1\npath 2f\npath 2f\nts_ms 1\nend\n", "repeated");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\nend\nend\n", "after the end");
    expect_refused("opshub-log-state 1\npath 2\nts_ms 1\nend\n", "bad path");
    expect_refused("opshub-log-state 1\npath 2f00\nts_ms 1\nend\n", "bad path");
    expect_refused("opshub-log-state 1\npath 2F\nts_ms 1\nend\n", "bad path");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms -1\nend\n", "bad ts_ms");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 99999999999999999999\nend\n", "bad ts_ms");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\ncur 1 2 3 4 5\nend\n", "bad cur");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\ncur 1 2 3 257 5 0\nend\n", "bad cur");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\ncur 1 2 3 4 5 2\nend\n", "bad cur");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\ncur 1 2 9223372036854775808 4 5 0\nend\n", "bad cur");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\nold 1 2 3 4 5 0 6\nend\n", "bad old");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\ncur 1  2 3 4 5 0\nend\n", "bad cur");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\nnew 1\nend\n", "unknown line");
    expect_refused("opshub-log-state 1\npath 2f\nts_ms 1\nend x\n", "bad end");
}

static void test_log_state_save_replaces_atomically(void **state)
{
    (void)state;
    struct { char path[256]; } d;
    make_dir(d.path, sizeof(d.path));
    char file[320], tmp[330], bad_tmp[340];
    snprintf(file, sizeof(file), "%s/s.state", d.path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    snprintf(bad_tmp, sizeof(bad_tmp), "%s/missing/s.tmp", d.path);
    struct probe_log_state a, b;
    memset(&a, 0, sizeof(a));
    snprintf(a.path, sizeof(a.path), "/x.log");
    a.ts_ms = 5;
    a.has_cur = true;
    a.cur.offset = 100;
    assert_int_equal(probe_log_state_save(file, tmp, &a), 0);
    assert_int_equal(access(tmp, F_OK), -1); /* renamed away */
    const char *why = NULL;
    int sys = 0;
    assert_int_equal(probe_log_state_load(file, &b, &why, &sys), 0);
    assert_true(b.cur.offset == 100);
    /* a write that fails leaves the old state whole */
    a.cur.offset = 200;
    assert_true(probe_log_state_save(file, bad_tmp, &a) < 0);
    assert_int_equal(probe_log_state_load(file, &b, &why, &sys), 0);
    assert_true(b.cur.offset == 100);
    /* a leftover temporary file of a crashed writer does not matter */
    write_new(tmp, "garbage");
    assert_int_equal(probe_log_state_save(file, tmp, &a), 0);
    assert_int_equal(probe_log_state_load(file, &b, &why, &sys), 0);
    assert_true(b.cur.offset == 200);
    /* none, and a malformed one */
    char none[330];
    snprintf(none, sizeof(none), "%s/none.state", d.path);
    assert_int_equal(probe_log_state_load(none, &b, &why, &sys), BASE_ERR_NOT_FOUND);
    write_new(none, "opshub-log-state 1\npath 2f\n");
    assert_int_equal(probe_log_state_load(none, &b, &why, &sys), BASE_ERR_INVALID);
    remove_dir(d.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_state_round_trips),
        cmocka_unit_test(test_log_state_parser_refuses_malformed_text),
        cmocka_unit_test(test_log_state_save_replaces_atomically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
