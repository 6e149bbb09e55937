/*
 * Unit tests for the log check type (the state file's own are in
 * test_log_state.c): the work of one run driven synchronously against
 * files in a temporary directory (first sight from the end or the start,
 * partial lines, long lines, rename + create, copytruncate with and
 * without its copy, a rotated file compressed before it was read, a
 * missing file, the per-run read cap, an abandoned run, overlapping runs,
 * a writer still appending to the rotated file, a malformed state file),
 * the settings and their FILE:LINE:COL errors, and runs through the
 * engine (values, thresholds, the last matching lines, cancellation).
 */
#include "probe/probe_test.h"

#include "probe/log.h"
#include "probe/log_read.h"
#include "probe/log_state.h"
#include "probe/registry.h"
#include "base/err.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct dir {
    char path[256];
    char log[300], state[300];
};

static void dir_make(struct dir *d)
{
    snprintf(d->path, sizeof(d->path), "/tmp/opshub-test-log-XXXXXX");
    assert_non_null(mkdtemp(d->path));
    snprintf(d->log, sizeof(d->log), "%s/app.log", d->path);
    snprintf(d->state, sizeof(d->state), "%s/state/t.state", d->path);
}

static void dir_remove(struct dir *d)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void write_new(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* Truncates in place, as logrotate's copytruncate does. */
static void truncate_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    close(fd);
}

static void rotate(const struct dir *d)
{
    char to[320];
    snprintf(to, sizeof(to), "%s.1", d->log);
    assert_int_equal(rename(d->log, to), 0);
}

/* One run of the job, as the pool would do it: patterns errors=ERROR and
 * pay=payment.*failed. */
static struct probe_log_read *run_job(const struct dir *d, bool from_start, int64_t now_ms)
{
    struct probe_log_read *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    snprintf(j->path, sizeof(j->path), "%s", d->log);
    snprintf(j->state_file, sizeof(j->state_file), "%s", d->state);
    snprintf(j->state_tmp, sizeof(j->state_tmp), "%s.tmp", d->state);
    j->from_start = from_start;
    j->n_patterns = 2;
    snprintf(j->regex[0], sizeof(j->regex[0]), "ERROR");
    snprintf(j->regex[1], sizeof(j->regex[1]), "payment.*failed");
    j->now_ms = now_ms;
    j->budget = PROBE_LOG_READ_MAX;
    atomic_init(&j->phase, PROBE_LOG_READ_RUNNING);
    probe_log_read_run(j);
    return j;
}

/* Runs the job and checks its counts; frees it. */
static void expect_run(const struct dir *d, uint64_t lines, uint64_t errors, uint64_t pay)
{
    struct probe_log_read *j = run_job(d, false, 1000);
    if (j->lines != lines || j->matches[0] != errors || j->matches[1] != pay || !j->committed)
        fail_msg("lines %llu errors %llu pay %llu committed %d (expected %llu %llu %llu); error '%s'",
                 (unsigned long long)j->lines, (unsigned long long)j->matches[0],
                 (unsigned long long)j->matches[1], j->committed, (unsigned long long)lines,
                 (unsigned long long)errors, (unsigned long long)pay, j->error);
    free(j);
}

/* ---- one run's work ---- */

static void test_log_first_run_starts_at_the_end_then_counts_exactly(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "old ERROR\nold payment 1 failed\n");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR one\nfine\npayment 2 failed\nERROR payment 3 failed\n");
    expect_run(&d, 4, 2, 2);
    expect_run(&d, 0, 0, 0);
    dir_remove(&d);
}

static void test_log_from_start_counts_history(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "ERROR a\nERROR b\r\nok\n");
    struct probe_log_read *j = run_job(&d, true, 1000);
    assert_true(j->lines == 3 && j->matches[0] == 2 && j->committed);
    assert_true(j->prev_ts_ms == 0);
    assert_int_equal(j->n_last, 2);
    assert_string_equal(j->last[1], "ERROR b"); /* the \r is not part of the line */
    free(j);
    /* the next run knows when the previous one was */
    j = run_job(&d, true, 61000);
    assert_true(j->prev_ts_ms == 1000 && j->lines == 0);
    free(j);
    dir_remove(&d);
}

static void test_log_first_sight_inside_an_unterminated_line(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "ERROR complete\nERROR half");
    expect_run(&d, 0, 0, 0);
    append(d.log, " done\nERROR next\n"); /* the rest of the half line is not a line */
    expect_run(&d, 1, 1, 0);
    dir_remove(&d);
}

static void test_log_partial_line_counts_when_its_newline_comes(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ok\nERR");
    expect_run(&d, 1, 0, 0);
    append(d.log, "OR split");
    expect_run(&d, 0, 0, 0);
    append(d.log, " here\n");
    expect_run(&d, 1, 1, 0);
    dir_remove(&d);
}

static void test_log_long_line_counts_once(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    size_t n = PROBE_LOG_LINE_MAX + 1000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    memcpy(big, "ERROR", 5);
    big[n] = '\0';
    append(d.log, big);            /* no newline yet: past the cap it counts now */
    expect_run(&d, 1, 1, 0);
    append(d.log, big);            /* the same line goes on: not counted again */
    expect_run(&d, 0, 0, 0);
    append(d.log, "\npayment x failed\n");
    expect_run(&d, 1, 0, 1);
    memset(big, 'y', n);
    memcpy(big + PROBE_LOG_LINE_MAX + 10, "ERROR", 5); /* past the first 64 KiB: not matched */
    append(d.log, big);
    append(d.log, "\n");
    expect_run(&d, 1, 0, 0);
    free(big);
    dir_remove(&d);
}

static void test_log_rename_and_create_loses_nothing(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "start\n");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR before rotation\npartial ERROR tail");
    rotate(&d);
    write_new(d.log, "ERROR in the new file\npayment y failed\n");
    /* the rest of the old file (its tail included), then the new one */
    expect_run(&d, 4, 3, 1);
    expect_run(&d, 0, 0, 0);
    dir_remove(&d);
}

static void test_log_writer_late_on_the_rotated_file_is_counted(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    char rotated[320];
    snprintf(rotated, sizeof(rotated), "%s.1", d.log);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR 1\n");
    rotate(&d);
    expect_run(&d, 1, 1, 0);                /* renamed, not created yet: down, but counted */
    append(rotated, "ERROR 2 written before the writer reopened\n");
    write_new(d.log, "ERROR 3\n");
    expect_run(&d, 2, 2, 0);
    expect_run(&d, 0, 0, 0);
    dir_remove(&d);
}

static void test_log_copytruncate_reads_from_the_start(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "2024-01-01 start\n");
    expect_run(&d, 0, 0, 0);
    append(d.log, "2024-01-01 ERROR a\n2024-01-01 ERROR b\n");
    expect_run(&d, 2, 2, 0);
    truncate_file(d.log);
    append(d.log, "2024-01-02 ERROR c\n");      /* shorter than the offset */
    expect_run(&d, 1, 1, 0);
    /* truncated and refilled past the old offset: the first bytes differ */
    truncate_file(d.log);
    append(d.log, "2024-01-03 ERROR d and a long line to pass the offset\n2024-01-03 payment z failed\n");
    expect_run(&d, 2, 1, 1);
    dir_remove(&d);
}

/* copytruncate: the lines written after the previous run are read from
 * the copy (found by the fingerprint of its start), then the truncated
 * file from its start; an older copy with other first bytes is ignored. */
static void test_log_copytruncate_finishes_from_the_copy(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    char copy[330];
    snprintf(copy, sizeof(copy), "%s.1", d.log);
    write_new(copy, "2023-12-31 an older copy\nERROR old\nERROR old\nERROR old\nERROR old\n");
    write_new(d.log, "2024-01-01 start\n");
    expect_run(&d, 0, 0, 0);
    append(d.log, "2024-01-01 ERROR a\n");
    expect_run(&d, 1, 1, 0);
    append(d.log, "2024-01-01 ERROR b\n2024-01-01 payment q failed\n");
    /* logrotate copytruncate: copy, then truncate in place */
    write_new(copy, "2024-01-01 start\n2024-01-01 ERROR a\n2024-01-01 ERROR b\n2024-01-01 payment q failed\n");
    truncate_file(d.log);
    append(d.log, "2024-01-02 ERROR c\n");
    expect_run(&d, 3, 2, 1);
    expect_run(&d, 0, 0, 0);
    dir_remove(&d);
}

static void test_log_compressed_rotation_is_a_reported_gap(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR never read\n");
    /* rotated and gzip'ed to .1.gz at once (the new file made first, so
     * that it cannot reuse the old inode) */
    char next[330];
    snprintf(next, sizeof(next), "%s.new", d.log);
    write_new(next, "ERROR new\n");
    assert_int_equal(unlink(d.log), 0);
    assert_int_equal(rename(next, d.log), 0);
    struct probe_log_read *j = run_job(&d, false, 1000);
    assert_true(j->lines == 1 && j->matches[0] == 1 && j->committed);
    assert_true(j->degraded && !j->down);
    assert_non_null(strstr(j->error, "was not found (compressed or removed before it was read)"));
    free(j);
    dir_remove(&d);
}

static void test_log_missing_file_is_down_and_read_from_start_when_it_appears(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    struct probe_log_read *j = run_job(&d, false, 1000);
    assert_true(j->down && j->committed);
    assert_non_null(strstr(j->error, "No such file or directory"));
    assert_non_null(strstr(j->error, "cannot open"));
    free(j);
    write_new(d.log, "ERROR created after the check started\n");
    expect_run(&d, 1, 1, 0);
    dir_remove(&d);
}

static void test_log_read_cap_continues_next_run(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR 1\nERROR 2\nERROR 3\n"); /* 8 bytes a line */
    struct probe_log_read *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    snprintf(j->path, sizeof(j->path), "%s", d.log);
    snprintf(j->state_file, sizeof(j->state_file), "%s", d.state);
    snprintf(j->state_tmp, sizeof(j->state_tmp), "%s.tmp", d.state);
    j->n_patterns = 1;
    snprintf(j->regex[0], sizeof(j->regex[0]), "ERROR");
    j->budget = 12;                          /* a line and a half */
    probe_log_read_run(j);
    assert_true(j->lines == 1 && j->matches[0] == 1 && j->bytes_behind == 16);
    free(j);
    expect_run(&d, 2, 2, 0);
    dir_remove(&d);
}

static void test_log_abandoned_run_commits_nothing(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR 1\n");
    struct probe_log_read *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    snprintf(j->path, sizeof(j->path), "%s", d.log);
    snprintf(j->state_file, sizeof(j->state_file), "%s", d.state);
    snprintf(j->state_tmp, sizeof(j->state_tmp), "%s.tmp", d.state);
    j->n_patterns = 1;
    snprintf(j->regex[0], sizeof(j->regex[0]), "ERROR");
    j->budget = PROBE_LOG_READ_MAX;
    assert_true(probe_log_read_abandon(j));
    probe_log_read_run(j);
    assert_false(j->committed);
    assert_false(probe_log_read_abandon(j));
    free(j);
    expect_run(&d, 1, 1, 0);                 /* the same line, counted by the next run */
    dir_remove(&d);
}

static void *job_thread(void *arg)
{
    struct probe_log_read *j = arg;
    probe_log_read_run(j);
    return NULL;
}

/* Overlapping runs of one check (a run-now beside a scheduled run) take
 * turns on the state lock: the second starts where the first ended and
 * counts nothing twice. The test plays the first run: it holds the lock,
 * moves the state past the new line, then lets the job go. */
static void test_log_overlapping_runs_take_turns(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "");
    expect_run(&d, 0, 0, 0);
    append(d.log, "ERROR counted by the other run\n");
    char lock[330];
    snprintf(lock, sizeof(lock), "%s.lock", d.state);
    int fd = open(lock, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    struct probe_log_read *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    snprintf(j->path, sizeof(j->path), "%s", d.log);
    snprintf(j->state_file, sizeof(j->state_file), "%s", d.state);
    snprintf(j->state_tmp, sizeof(j->state_tmp), "%s.tmp2", d.state);
    j->n_patterns = 1;
    snprintf(j->regex[0], sizeof(j->regex[0]), "ERROR");
    j->budget = PROBE_LOG_READ_MAX;
    atomic_init(&j->phase, PROBE_LOG_READ_RUNNING);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, job_thread, j), 0);
    usleep(100 * 1000); /* the job starts and waits (were it not to, it would count the line) */
    struct probe_log_state st;
    const char *why = NULL;
    int sys = 0;
    assert_int_equal(probe_log_state_load(d.state, &st, &why, &sys), 0);
    struct stat sb;
    assert_int_equal(stat(d.log, &sb), 0);
    st.cur.offset = (uint64_t)sb.st_size;
    char tmp[340];
    snprintf(tmp, sizeof(tmp), "%s.tmp3", d.state);
    assert_int_equal(probe_log_state_save(d.state, tmp, &st), 0);
    assert_false(j->committed);
    close(fd);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(j->committed && j->lines == 0 && j->matches[0] == 0);
    free(j);
    dir_remove(&d);
}

static void test_log_malformed_state_starts_again_degraded(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "ERROR old\n");
    expect_run(&d, 0, 0, 0);
    write_new(d.state, "opshub-log-state 1\npath zz\n");
    append(d.log, "ERROR lost to the broken state\n");
    struct probe_log_read *j = run_job(&d, false, 1000);
    assert_true(j->degraded && j->committed && j->lines == 0);
    assert_non_null(strstr(j->error, "state file was malformed (bad path)"));
    free(j);
    append(d.log, "ERROR after\n");
    expect_run(&d, 1, 1, 0);
    dir_remove(&d);
}

/* ---- settings ---- */

#define HEAD "checks:\n  - id: c\n    type: log\n"

/* Loads yaml expecting exactly one error at line:col containing needle. */
static void expect_one_error(const char *yaml, int line, int col, const char *needle)
{
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    char text[1024] = "";
    if (e.len)
        base_error_format(&e.items[0], text, sizeof(text));
    if (rc != BASE_ERR_INVALID || e.len != 1 || e.items[0].line != line || e.items[0].col != col ||
        !strstr(e.items[0].msg, needle))
        fail_msg("expected one error %d:%d '%s'; rc %d, %zu errors, first: %s", line, col, needle, rc, e.len, text);
    conf_destroy(c);
    base_errors_free(&e);
}

static void test_log_settings_load(void **state)
{
    (void)state;
    const char *yaml = HEAD "    path: /var/log/app.log\n"
                            "    patterns: {errors: 'ERROR|CRITICAL|FATAL', payments: {regex: 'payment.*failed', crit: 1}}\n";
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    if (rc) {
        char text[512] = "";
        if (e.len)
            base_error_format(&e.items[0], text, sizeof(text));
        fail_msg("load failed: %s", text);
    }
    const struct probe_log_conf *lc = c->checks[0].settings;
    assert_string_equal(lc->path, "/var/log/app.log");
    assert_int_equal(lc->patterns.n, 2);
    assert_string_equal(lc->patterns.items[0].name, "errors");
    assert_string_equal(lc->patterns.items[0].regex, "ERROR|CRITICAL|FATAL");
    assert_string_equal(lc->patterns.items[1].name, "payments");
    assert_true(lc->patterns.items[1].crit == 1 && lc->patterns.items[1].warn == 0);
    conf_destroy(c);
    base_errors_free(&e);
}

static void test_log_config_errors_have_positions(void **state)
{
    (void)state;
    expect_one_error(HEAD "    patterns: {errors: ERROR}\n", 2, 5, "path");
    expect_one_error(HEAD "    path: /var/log/a.log\n", 2, 5, "patterns");
    expect_one_error(HEAD "    path: var/log/a.log\n    patterns: {errors: ERROR}\n", 4, 11,
                     "path must be an absolute path");
    expect_one_error(HEAD "    path: /a.log\n    rotated: a.log-*\n    patterns: {errors: ERROR}\n", 5, 14,
                     "rotated must be an absolute path");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {}\n", 5, 15, "patterns is empty");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {errors: 'ERROR('}\n", 5, 24,
                     "bad regex for pattern 'errors': missing closing parenthesis at offset 6");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {errors: ''}\n", 5, 24, "an empty regex");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {Errors: ERROR}\n", 5, 16,
                     "bad pattern name 'Errors'");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {9lives: ERROR}\n", 5, 16, "names start with a-z or _");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {err-or: ERROR}\n", 5, 16, "names are a-z, 0-9 and _");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {abcdefghijklm: ERROR}\n", 5, 16,
                     "longer than 12 characters");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {a: x, b: x, c: x, d: x, e: x, f: x}\n", 5, 46,
                     "too many patterns: at most 5");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {a: {warn: 1}}\n", 5, 19, "missing 'regex'");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {a: {regex: x, warn: 5, crit: 2}}\n", 5, 36,
                     "warn (5) must not exceed crit (2)");
    expect_one_error(HEAD "    path: /a.log\n    patterns: {errors: ERROR}\n    from: middle\n", 6, 11, "from");
}

/* ---- through the engine ---- */

static struct base_clock_manual clk; /* the engine's: per-minute rates without sleeping */

static int engine_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    base_arena_init(&f->arena, 4096);
    base_clock_manual_init(&clk, 1700000000000);
    f->e = probe_engine_new(&f->loop, &clk.clock);
    assert_non_null(f->e);
    *state = f;
    return 0;
}

static struct conf_check log_check(struct fx *f, const char *path, long long crit)
{
    struct conf_check c = check_defaults(f, &probe_log_type);
    struct probe_log_conf *lc = c.settings;
    struct probe_log_pattern *p = base_arena_calloc(&f->arena, 2 * sizeof(*p));
    assert_non_null(p);
    p[0] = (struct probe_log_pattern){"errors", "ERROR|FATAL", 0, crit};
    p[1] = (struct probe_log_pattern){"pay", "payment.*failed", 1, 0};
    lc->path = path;
    lc->patterns.items = p;
    lc->patterns.n = 2;
    return c;
}

static void test_log_engine_run_reports_values_and_last_lines(void **state)
{
    struct fx *f = *state;
    struct dir d;
    dir_make(&d);
    assert_int_equal(probe_engine_set_data_dir(f->e, d.path), 0);
    write_new(d.log, "");
    struct conf_check c = log_check(f, d.log, 3);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "errors_matches") == 0 && sample_v(&r.s, "errors_matches_per_minute") == -1);
    char state_file[400];
    snprintf(state_file, sizeof(state_file), "%s/log-state/t.state", d.path);
    assert_int_equal(access(state_file, R_OK), 0);

    append(d.log, "ERROR 1\nFATAL 2\nok\n");
    base_clock_manual_advance(&clk, 30000);
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_string_equal(r.s.error, "");
    assert_true(sample_v(&r.s, "errors_matches") == 2 && sample_v(&r.s, "pay_matches") == 0);
    assert_true(sample_v(&r.s, "errors_matches_per_minute") == 4); /* 2 in half a minute */
    assert_true(sample_v(&r.s, "pay_matches_per_minute") == 0);
    assert_true(sample_v(&r.s, "lines") == 3 && sample_v(&r.s, "bytes_behind") == 0);

    /* the last lines, read from the done callback */
    append(d.log, "payment 7 failed\n");
    for (int i = 0; i < 6; i++)
        append(d.log, "ERROR\x01 n\n");
    memset(&r, 0, sizeof(r));
    struct probe_run *run = probe_start(f->e, &c, on_result, &r);
    assert_non_null(run);
    assert_true(run_until(f, &r.done, 1, 5000));
    assert_int_equal(r.s.result, SAMPLE_DOWN);           /* errors reached crit 3 */
    assert_string_equal(r.s.error, "errors: 6 matching lines (crit 3)");
    assert_true(sample_v(&r.s, "pay_matches") == 1);
    dir_remove(&d);
}

struct lines_probe {
    struct probe_run *run;
    int done;
    char text[4096];
};

static void on_result_lines(void *data, const struct sample *s)
{
    (void)s;
    struct lines_probe *lp = data;
    const char *d = probe_run_detail(lp->run);
    snprintf(lp->text, sizeof(lp->text), "%s", d ? d : "");
    lp->done++;
}

static void test_log_last_lines_from_the_callback(void **state)
{
    struct fx *f = *state;
    struct dir d;
    dir_make(&d);
    assert_int_equal(probe_engine_set_data_dir(f->e, d.path), 0);
    write_new(d.log, "");
    struct conf_check c = log_check(f, d.log, 0);
    struct result r;
    run_check(f, &c, &r, 5000);
    append(d.log, "ERROR 1\nok\npayment 2 failed\nERROR 3\nERROR 4\nERROR 5\nERROR\t6\n");
    struct lines_probe lp = {0};
    lp.run = probe_start(f->e, &c, on_result_lines, &lp);
    assert_non_null(lp.run);
    assert_true(run_until(f, &lp.done, 1, 5000));
    assert_string_equal(lp.text,
                        "{\"last_matches\":[\"payment 2 failed\",\"ERROR 3\",\"ERROR 4\",\"ERROR 5\",\"ERROR\\t6\"]}");
    dir_remove(&d);
}

static void test_log_stateless_counts_the_whole_file(void **state)
{
    struct fx *f = *state;
    struct dir d;
    dir_make(&d);
    write_new(d.log, "ERROR 1\nERROR 2\nERROR tail");
    struct conf_check c = log_check(f, d.log, 0);
    struct result r;
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "errors_matches") == 3 && sample_v(&r.s, "errors_matches_per_minute") == -1);
    run_check(f, &c, &r, 5000);
    assert_true(sample_v(&r.s, "errors_matches") == 3); /* nothing remembered */
    struct stat sb;
    char state_dir[300];
    snprintf(state_dir, sizeof(state_dir), "%s/log-state", d.path);
    assert_int_equal(stat(state_dir, &sb), -1);
    /* a missing file is down with the reason */
    c = log_check(f, "/nonexistent/opshub/app.log", 0);
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "cannot open /nonexistent/opshub/app.log: No such file or directory");
    dir_remove(&d);
}

static void test_log_cancel_commits_nothing_and_leaks_nothing(void **state)
{
    struct fx *f = *state;
    struct dir d;
    dir_make(&d);
    assert_int_equal(probe_engine_set_data_dir(f->e, d.path), 0);
    write_new(d.log, "");
    struct conf_check c = log_check(f, d.log, 0);
    struct result r;
    run_check(f, &c, &r, 5000);
    append(d.log, "ERROR 1\n");
    for (int i = 0; i < 20; i++) {        /* canceled at once: queued or running */
        memset(&r, 0, sizeof(r));
        struct probe_run *run = probe_start(f->e, &c, on_result, &r);
        assert_non_null(run);
        probe_cancel(run);
        run_for(f, i % 4);
        assert_int_equal(r.done, 0);
    }
    run_for(f, 50);
    run_check(f, &c, &r, 5000);
    /* at most once: a cancel during a commit loses the count (documented), never doubles it */
    assert_true(sample_v(&r.s, "errors_matches") <= 1);
    fx_close_engine(f);
    dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_first_run_starts_at_the_end_then_counts_exactly),
        cmocka_unit_test(test_log_from_start_counts_history),
        cmocka_unit_test(test_log_first_sight_inside_an_unterminated_line),
        cmocka_unit_test(test_log_partial_line_counts_when_its_newline_comes),
        cmocka_unit_test(test_log_long_line_counts_once),
        cmocka_unit_test(test_log_rename_and_create_loses_nothing),
        cmocka_unit_test(test_log_writer_late_on_the_rotated_file_is_counted),
        cmocka_unit_test(test_log_copytruncate_reads_from_the_start),
        cmocka_unit_test(test_log_copytruncate_finishes_from_the_copy),
        cmocka_unit_test(test_log_compressed_rotation_is_a_reported_gap),
        cmocka_unit_test(test_log_missing_file_is_down_and_read_from_start_when_it_appears),
        cmocka_unit_test(test_log_read_cap_continues_next_run),
        cmocka_unit_test(test_log_abandoned_run_commits_nothing),
        cmocka_unit_test(test_log_overlapping_runs_take_turns),
        cmocka_unit_test(test_log_malformed_state_starts_again_degraded),
        cmocka_unit_test(test_log_settings_load),
        cmocka_unit_test(test_log_config_errors_have_positions),
        cmocka_unit_test_setup_teardown(test_log_engine_run_reports_values_and_last_lines, engine_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_last_lines_from_the_callback, engine_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_stateless_counts_the_whole_file, engine_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_cancel_commits_nothing_and_leaks_nothing, engine_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
