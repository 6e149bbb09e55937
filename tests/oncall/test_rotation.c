/*
 * Rotations (conf/oncall + oncall/rotation) against instants worked out
 * by hand from the zones' offsets: weekly handoffs in UTC+6 (Asia/Dhaka), daily
 * ones in UTC+7 (Asia/Bangkok) and across Novosibirsk's 2016 move from +6 to +7,
 * daily handoffs that stay at 09:00 across Berlin's and New York's
 * changes of summer time (23- and 25-hour shifts), shifts in hours that
 * count absolute time, business-hours windows (mon-fri 09:00-18:00) in
 * UTC+6 and across a DST change, a night window crossing midnight,
 * overrides, contiguous spans, and the configuration's errors at their
 * line and column.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/time.h"
#include "conf/conf.h"
#include "conf/oncall.h"
#include "oncall/rotation.h"
#include "probe/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t T(const char *iso)
{
    int64_t ms = 0;
    assert_int_equal(base_time_parse(iso, &ms), 0);
    return ms;
}

struct fx {
    struct conf *c;
    struct oncall_rotation *r;
};

static void load(struct fx *f, const char *yaml)
{
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &f->c, &e);
    if (rc) {
        char line[1024];
        for (size_t i = 0; i < e.len; i++)
            fprintf(stderr, "  got: %s\n", base_error_format(&e.items[i], line, sizeof(line)));
    }
    assert_int_equal(rc, 0);
    base_errors_free(&e);
    assert_true(f->c->n_rotations >= 1);
    char why[200];
    f->r = oncall_rotation_new(&f->c->rotations[0], why, sizeof(why));
    assert_non_null(f->r);
}

static void unload(struct fx *f)
{
    oncall_rotation_free(f->r);
    conf_destroy(f->c);
}

static void expect(struct fx *f, const char *at, const char *user, const char *start, const char *end)
{
    struct oncall_span s;
    oncall_rotation_at(f->r, T(at), &s);
    if ((user == NULL) != (s.user == NULL) || (user && strcmp(user, s.user))) {
        fprintf(stderr, "at %s: expected %s, got %s\n", at, user ? user : "nobody", s.user ? s.user : "nobody");
        fail();
    }
    if (start)
        assert_int_equal(s.start_ms, T(start));
    if (end)
        assert_int_equal(s.end_ms, T(end));
}

static void test_weekly_in_utc_plus_6(void **state)
{
    (void)state;
    struct fx f;
    /* start is a Saturday: the first shift begins on the next Monday, 2026-01-05, 09:00 +06 */
    load(&f, "rotations:\n"
             "  - {id: ops, members: [alice, bob, carol], length: 1w, handoff: 'mon 09:00',\n"
             "     timezone: Asia/Dhaka, start: 2026-01-03}\n");
    expect(&f, "2026-01-05T02:59:59Z", NULL, NULL, "2026-01-05T03:00:00Z");
    expect(&f, "2026-01-05T03:00:00Z", "alice", "2026-01-05T03:00:00Z", "2026-01-12T03:00:00Z");
    expect(&f, "2026-01-12T02:59:59Z", "alice", NULL, NULL);
    expect(&f, "2026-01-12T03:00:00Z", "bob", "2026-01-12T03:00:00Z", "2026-01-19T03:00:00Z");
    expect(&f, "2026-01-20T00:00:00Z", "carol", NULL, NULL);
    expect(&f, "2026-01-26T03:00:00Z", "alice", NULL, NULL);
    /* 52 weeks later: 52 = 17*3 + 1 -> bob */
    expect(&f, "2027-01-04T03:00:00Z", "bob", "2027-01-04T03:00:00Z", "2027-01-11T03:00:00Z");
    unload(&f);
}

static void test_daily_handoff_across_dst(void **state)
{
    (void)state;
    struct fx f;
    /* Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; the 09:00 handoffs are 08:00Z before, 07:00Z after */
    load(&f, "rotations:\n"
             "  - {id: eu, members: [anna, ben], length: daily, handoff: '09:00', timezone: Europe/Berlin,\n"
             "     start: 2026-03-01}\n");
    /* 2026-03-01 anna, 03-02 ben, ...: day 27 (03-28) is odd -> ben; 03-29 anna; 03-30 ben */
    expect(&f, "2026-03-28T12:00:00Z", "ben", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z");
    expect(&f, "2026-03-29T06:59:59Z", "ben", NULL, NULL);
    expect(&f, "2026-03-29T07:00:00Z", "anna", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z");
    unload(&f);
    /* New York: 2026-11-01 02:00 EDT -> 01:00 EST: a 25-hour shift */
    load(&f, "rotations:\n"
             "  - {id: us, members: [cy, di], length: 1d, handoff: '09:00', timezone: America/New_York,\n"
             "     start: 2026-10-31}\n");
    expect(&f, "2026-10-31T13:00:00Z", "cy", "2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z");
    expect(&f, "2026-11-01T14:00:00Z", "di", "2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z");
    unload(&f);
}

static void test_utc_plus_7_and_a_change_of_offset(void **state)
{
    (void)state;
    struct fx f;
    /* Bangkok, UTC+7 all year: the 09:00 handoff is 02:00Z */
    load(&f, "rotations:\n"
             "  - {id: th, members: [kit, lek], length: daily, handoff: '09:00', timezone: Asia/Bangkok,\n"
             "     start: 2026-12-01}\n");
    /* 12-01 kit, 12-02 lek, 12-03 kit, 12-04 lek */
    expect(&f, "2026-12-04T01:59:59Z", "kit", "2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z");
    expect(&f, "2026-12-04T02:00:00Z", "lek", "2026-12-04T02:00:00Z", "2026-12-05T02:00:00Z");
    unload(&f);
    /* Novosibirsk moved from UTC+6 to UTC+7 on 2016-07-24 (02:00 local): the tz database's
     * history counts, so the 09:00 handoff is 03:00Z before and 02:00Z after, a 23-hour shift */
    load(&f, "rotations:\n"
             "  - {id: nsk, members: [ivan, olga], length: daily, handoff: '09:00', timezone: Asia/Novosibirsk,\n"
             "     start: 2016-07-22}\n");
    expect(&f, "2016-07-23T12:00:00Z", "olga", "2016-07-23T03:00:00Z", "2016-07-24T02:00:00Z");
    expect(&f, "2016-07-24T02:00:00Z", "ivan", "2016-07-24T02:00:00Z", "2016-07-25T02:00:00Z");
    unload(&f);
}

static void test_hours_count_absolute_time(void **state)
{
    (void)state;
    struct fx f;
    load(&f, "rotations:\n"
             "  - {id: half, members: [a, b], length: 12h, handoff: '09:00', timezone: Europe/Berlin,\n"
             "     start: 2026-03-28}\n");
    expect(&f, "2026-03-28T08:00:00Z", "a", "2026-03-28T08:00:00Z", "2026-03-28T20:00:00Z");
    expect(&f, "2026-03-29T07:30:00Z", "b", "2026-03-28T20:00:00Z", "2026-03-29T08:00:00Z");
    expect(&f, "2026-03-29T08:00:00Z", "a", "2026-03-29T08:00:00Z", "2026-03-29T20:00:00Z");
    unload(&f);
}

static void test_business_hours_utc_plus_6(void **state)
{
    (void)state;
    struct fx f;
    load(&f, "rotations:\n"
             "  - {id: biz, members: [alice, bob], length: weekly, handoff: 'mon 09:00', timezone: Asia/Dhaka,\n"
             "     start: 2026-01-05, restrict: [{days: mon-fri, from: '09:00', to: '18:00'}]}\n");
    /* Wednesday 2026-01-07 10:00 +06 = 04:00Z: alice until 18:00 +06 */
    expect(&f, "2026-01-07T04:00:00Z", "alice", "2026-01-07T03:00:00Z", "2026-01-07T12:00:00Z");
    /* 18:00 +06: nobody until Thursday 09:00 */
    expect(&f, "2026-01-07T12:00:00Z", NULL, "2026-01-07T12:00:00Z", "2026-01-08T03:00:00Z");
    /* Saturday: nobody from Friday 18:00 to Monday 09:00, when bob's week begins */
    expect(&f, "2026-01-10T06:00:00Z", NULL, "2026-01-09T12:00:00Z", "2026-01-12T03:00:00Z");
    expect(&f, "2026-01-12T03:00:00Z", "bob", "2026-01-12T03:00:00Z", "2026-01-12T12:00:00Z");
    unload(&f);
}

static void test_business_hours_across_dst(void **state)
{
    (void)state;
    struct fx f;
    load(&f, "rotations:\n"
             "  - {id: biz, members: [anna], length: weekly, handoff: 'mon 09:00', timezone: Europe/Berlin,\n"
             "     start: 2026-03-02, restrict: [{days: mon-fri, from: '09:00', to: '18:00'}]}\n");
    expect(&f, "2026-03-27T08:00:00Z", "anna", "2026-03-27T08:00:00Z", "2026-03-27T17:00:00Z");
    /* the weekend holds the change; Monday's 09:00 is 07:00Z */
    expect(&f, "2026-03-28T12:00:00Z", NULL, "2026-03-27T17:00:00Z", "2026-03-30T07:00:00Z");
    expect(&f, "2026-03-30T07:00:00Z", "anna", "2026-03-30T07:00:00Z", "2026-03-30T16:00:00Z");
    unload(&f);
}

static void test_night_window_and_overrides(void **state)
{
    (void)state;
    struct fx f;
    load(&f, "rotations:\n"
             "  - id: night\n"
             "    members: [alice, bob]\n"
             "    length: 1w\n"
             "    handoff: 'mon 09:00'\n"
             "    timezone: UTC\n"
             "    start: 2026-01-05\n"
             "    restrict: [{days: [mon-fri], from: '18:00', to: '09:00'}]\n"
             "    overrides:\n"
             "      - {user: carol, from: '2026-01-06T20:00:00Z', to: '2026-01-07T02:00:00Z'}\n"
             "      - {user: dave, from: '2026-01-10T10:00:00Z', to: '2026-01-10T11:00:00Z'}\n");
    /* Friday's night window runs into Saturday 09:00 */
    expect(&f, "2026-01-10T08:00:00Z", "alice", "2026-01-09T18:00:00Z", "2026-01-10T09:00:00Z");
    /* an override outside the windows still puts its user on call */
    expect(&f, "2026-01-10T10:30:00Z", "dave", "2026-01-10T10:00:00Z", "2026-01-10T11:00:00Z");
    /* Tuesday night: alice, carol replaces her for six hours */
    expect(&f, "2026-01-06T19:00:00Z", "alice", "2026-01-06T18:00:00Z", "2026-01-06T20:00:00Z");
    expect(&f, "2026-01-06T21:00:00Z", "carol", "2026-01-06T20:00:00Z", "2026-01-07T02:00:00Z");
    struct oncall_span s;
    oncall_rotation_at(f.r, T("2026-01-06T21:00:00Z"), &s);
    assert_true(s.override);
    expect(&f, "2026-01-07T02:00:00Z", "alice", "2026-01-07T02:00:00Z", "2026-01-07T09:00:00Z");
    /* the spans of that day: contiguous, alternating answers */
    struct oncall_span sp[32];
    size_t n = oncall_rotation_spans(f.r, T("2026-01-06T00:00:00Z"), T("2026-01-07T12:00:00Z"), sp, 32);
    const char *want[] = {"alice", NULL, "alice", "carol", "alice", NULL};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_int_equal(sp[i].start_ms, sp[i - 1].end_ms);
        if (want[i])
            assert_string_equal(sp[i].user, want[i]);
        else
            assert_null(sp[i].user);
    }
    assert_int_equal(sp[0].start_ms, T("2026-01-05T18:00:00Z"));
    assert_int_equal(sp[5].end_ms, T("2026-01-07T18:00:00Z"));
    unload(&f);
}

/* An error on line `line` at the column where `at` begins in that line, containing needle. */
static void expect_error(const char *yaml, int line, const char *at, const char *needle)
{
    const char *l = yaml;
    for (int i = 1; i < line; i++)
        l = strchr(l, '\n') + 1;
    const char *hit = strstr(l, at);
    assert_non_null(hit);
    int col = (int)(hit - l) + 1;
    struct base_errors e;
    struct conf *c = NULL;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    assert_int_equal(rc, BASE_ERR_INVALID);
    bool found = false;
    char buf[1024];
    for (size_t i = 0; i < e.len; i++) {
        if (e.items[i].line == line && e.items[i].col == col && strstr(e.items[i].msg, needle))
            found = true;
    }
    if (!found) {
        fprintf(stderr, "missing %d:%d %s in:\n", line, col, needle);
        for (size_t i = 0; i < e.len; i++)
            fprintf(stderr, "  %s\n", base_error_format(&e.items[i], buf, sizeof(buf)));
    }
    assert_true(found);
    base_errors_free(&e);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("rotations:\n  - {id: a, members: [x], timezone: Mars/Olympus}\n", 2, "Mars", "Mars/Olympus");
    expect_error("rotations:\n  - {id: a, members: [x], length: daily, handoff: 'mon 09:00'}\n", 2, "'mon", "whole weeks");
    expect_error("rotations:\n  - {id: a, members: [x], handoff: '9am'}\n", 2, "'9am", "HH:MM");
    expect_error("rotations:\n  - {id: a, members: [x], length: 30m}\n", 2, "30m", "1h to 366d");
    expect_error("rotations:\n  - {id: a, members: ['bad name']}\n", 2, "'bad", "not a user name");
    expect_error("rotations:\n  - {id: a}\n", 2, "{id", "needs 'members'");
    expect_error("rotations:\n  - {id: a, members: [x], start: 2026-02-30}\n", 2, "2026-02-30", "not a day");
    expect_error("rotations:\n  - {id: a, members: [x], restrict: [{days: mon-xyz, from: '09:00', to: '18:00'}]}\n",
                 2, "mon-xyz", "weekdays");
    expect_error("rotations:\n  - {id: a, members: [x], restrict: [{from: '09:00', to: '25:00'}]}\n", 2, "'25:00", "HH:MM");
    expect_error("rotations:\n  - {id: a, members: [x], overrides: [{user: y, from: '2026-01-02T00:00:00Z',"
                 " to: '2026-01-01T00:00:00Z'}]}\n", 2, "'2026-01-01", "ends after it starts");
    expect_error("escalation_policies:\n  - {id: p, steps: [{targets: [{rotation: nope}]}]}\n", 2, "nope", "no rotation has the id 'nope'");
    expect_error("escalation_policies:\n  - {id: p, steps: [{targets: [{channel: nope}]}]}\n", 2, "nope", "no channel has the id 'nope'");
    expect_error("escalation_policies:\n  - {id: p, steps: [{targets: [{pager: x}]}]}\n", 2, "pager", "target kind");
    expect_error("escalation_policies:\n  - {id: p, steps: []}\n", 2, "[]", "1 to 20 steps");
    expect_error("escalation_policies:\n  - {id: p, repeat: 99, steps: [{targets: [{user: x}]}]}\n", 2, "99", "");
}

static void test_policy_parsed(void **state)
{
    (void)state;
    struct fx f;
    load(&f, "notify:\n  channels:\n    - {id: pager, type: webhook, url: 'http://127.0.0.1:9/'}\n"
             "rotations:\n  - {id: ops, members: [alice, bob]}\n"
             "escalation_policies:\n"
             "  - id: primary\n"
             "    repeat: 2\n"
             "    steps:\n"
             "      - {delay: 0s, targets: [{rotation: ops}, {channel: pager}]}\n"
             "      - {delay: 15m, targets: [{user: cto}]}\n");
    const struct conf_policy *p = conf_policy_find(f.c, "primary");
    assert_non_null(p);
    assert_int_equal(p->repeat, 2);
    assert_int_equal(p->n_steps, 2);
    assert_int_equal(p->steps[0].delay_ms, 0);
    assert_int_equal(p->steps[1].delay_ms, 15 * 60000);
    assert_int_equal(p->steps[0].n_targets, 2);
    assert_int_equal(p->steps[0].targets[0].kind, CONF_TARGET_ROTATION);
    assert_string_equal(p->steps[0].targets[1].id, "pager");
    assert_int_equal(p->steps[1].targets[0].kind, CONF_TARGET_USER);
    /* the defaults: weekly from Monday 2024-01-01 00:00 UTC */
    expect(&f, "2024-01-08T00:00:00Z", "bob", "2024-01-08T00:00:00Z", "2024-01-15T00:00:00Z");
    unload(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weekly_in_utc_plus_6),
        cmocka_unit_test(test_daily_handoff_across_dst),
        cmocka_unit_test(test_utc_plus_7_and_a_change_of_offset),
        cmocka_unit_test(test_hours_count_absolute_time),
        cmocka_unit_test(test_business_hours_utc_plus_6),
        cmocka_unit_test(test_business_hours_across_dst),
        cmocka_unit_test(test_night_window_and_overrides),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_policy_parsed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
