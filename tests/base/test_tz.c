/*
 * Unit tests for base/tz and base/cron. The oracle is the C library's own
 * reading of the same system tz database: this test is single-threaded,
 * so it may switch TZ and ask localtime_r (opshub cannot: see tz.h).
 * Offsets of ten zones (DST north and south, +06, +05:45, +12:45, -03:30)
 * every 6 hours from 1970 to 2045, local -> instant away from changes,
 * the gap and overlap rules, POSIX rules alone, bad files, and cron's
 * next fire against a minute-by-minute walk with localtime_r.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/cron.h"
#include "base/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const zones[] = {"Europe/Berlin", "America/New_York", "Asia/Dhaka", "Asia/Almaty",
                                    "Australia/Sydney", "America/Sao_Paulo", "Asia/Kathmandu", "Pacific/Chatham",
                                    "America/St_Johns", "UTC"};

static void use_tz(const char *name)
{
    setenv("TZ", name, 1);
    tzset();
}

static long libc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return tm.tm_gmtoff;
}

static void test_tz_offsets_match_the_c_library(void **state)
{
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        char why[200] = "";
        struct base_tz *tz = base_tz_load(zones[z], why, sizeof(why));
        if (!tz)
            fail_msg("%s: %s", zones[z], why);
        use_tz(zones[z]);
        for (int64_t t = 0; t < 2366841600LL; t += 6 * 3600 + 17) {
            long want = libc_offset(t);
            int32_t got = base_tz_offset(tz, t);
            if (got != want)
                fail_msg("%s at %lld: offset %d, the C library says %ld", zones[z], (long long)t, got, want);
        }
        base_tz_free(tz);
    }
}

static void test_tz_local_to_instant(void **state)
{
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        struct base_tz *tz = base_tz_load(zones[z], NULL, 0);
        assert_non_null(tz);
        use_tz(zones[z]);
        for (int64_t t = 946684800; t < 2208988800LL; t += 7 * 3600 + 13 * 60) {
            int64_t local = t + libc_offset(t);
            int64_t back = base_tz_from_local(tz, local);
            /* the same wall clock: t itself, or the first of two instants that read the same */
            if (back != t) {
                assert_true(back < t);
                assert_int_equal(back + libc_offset(back), local);
            }
        }
        base_tz_free(tz);
    }
}

static void test_tz_gap_and_overlap(void **state)
{
    struct base_tz *tz = base_tz_load("Europe/Berlin", NULL, 0);
    assert_non_null(tz);
    /* 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00 UTC */
    int64_t day = base_tz_days_from_civil(2026, 3, 29) * 86400;
    assert_int_equal(base_tz_from_local(tz, day + 2 * 3600 + 30 * 60), day + 1 * 3600 + 30 * 60); /* 03:30 CEST */
    assert_int_equal(base_tz_from_local(tz, day + 1 * 3600 + 59 * 60), day + 59 * 60);            /* CET */
    assert_int_equal(base_tz_from_local(tz, day + 3 * 3600), day + 3600);                         /* CEST */
    /* 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:30 happens twice: the first */
    day = base_tz_days_from_civil(2026, 10, 25) * 86400;
    assert_int_equal(base_tz_from_local(tz, day + 2 * 3600 + 30 * 60), day + 30 * 60);
    assert_int_equal(base_tz_offset(tz, day + 30 * 60), 7200);
    assert_int_equal(base_tz_offset(tz, day + 90 * 60), 3600);
    base_tz_free(tz);
}

static void test_tz_rules_alone(void **state)
{
    static const char *const good[] = {"UTC0", "<+06>-6", "EST5EDT,M3.2.0,M11.1.0", "CET-1CEST,M3.5.0,M10.5.0/3",
                                       "AEST-10AEDT,M10.1.0,M4.1.0/3", "<-03>3", "NZST-12NZDT,M9.5.0,M4.1.0/3",
                                       "IST-1GMT0,M10.5.0,M3.5.0/1", "<+0545>-5:45", "EST5EDT", "XXX3YYY,J60,300/25"};
    static const char *const bad[] = {"", "U", "UTC", "+06", "<+6>-6", "<+06-6", "CET-1CEST,M13.5.0,M10.5.0",
                                      "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M3.5.0",
                                      "CET-99", "CET-1CEST,J0,J5", "EST5EDT,M3.2.0,M11.1.0,", "A\001B5"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (base_tz_rule_check(good[i], strlen(good[i])) != 0)
            fail_msg("refused '%s'", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (base_tz_rule_check(bad[i], strlen(bad[i])) == 0)
            fail_msg("took '%s'", bad[i]);
}

/* A TZif version 2 file with no transitions, only a footer rule. */
static size_t footer_only(unsigned char *buf, const char *rule)
{
    memset(buf, 0, 200);
    size_t n = 0;
    for (int block = 0; block < 2; block++) {
        memcpy(buf + n, "TZif2", 5);
        buf[n + 39] = 1; /* typecnt */
        buf[n + 43] = 4; /* charcnt */
        n += 44;
        n += 6 + 4; /* one type (offset 0) and its abbreviation */
    }
    buf[n++] = '\n';
    memcpy(buf + n, rule, strlen(rule));
    n += strlen(rule);
    buf[n++] = '\n';
    return n;
}

static void test_tz_footer_rule_and_bad_files(void **state)
{
    unsigned char buf[256];
    size_t n = footer_only(buf, "EST5EDT,M3.2.0,M11.1.0");
    char why[200];
    struct base_tz *tz = base_tz_parse("test", buf, n, why, sizeof(why));
    assert_non_null(tz);
    struct base_tz *ny = base_tz_load("America/New_York", NULL, 0);
    assert_non_null(ny);
    for (int64_t t = 1735689600; t < 1893456000; t += 3 * 3600 + 7)
        assert_int_equal(base_tz_offset(tz, t), base_tz_offset(ny, t));
    base_tz_free(ny);
    base_tz_free(tz);
    /* southern hemisphere rule */
    n = footer_only(buf, "AEST-10AEDT,M10.1.0,M4.1.0/3");
    tz = base_tz_parse("test", buf, n, why, sizeof(why));
    struct base_tz *syd = base_tz_load("Australia/Sydney", NULL, 0);
    assert_non_null(tz);
    for (int64_t t = 1735689600; t < 1893456000; t += 3 * 3600 + 7)
        assert_int_equal(base_tz_offset(tz, t), base_tz_offset(syd, t));
    base_tz_free(syd);
    base_tz_free(tz);
    /* damaged files */
    n = footer_only(buf, "EST5EDT,M3.2.0,M11.1.0");
    for (size_t cut = 0; cut < n - 1; cut += 7)
        base_tz_free(base_tz_parse("test", buf, cut, why, sizeof(why)));
    buf[0] = 'X';
    assert_null(base_tz_parse("test", buf, n, why, sizeof(why)));
    assert_non_null(strstr(why, "not a TZif file"));
    n = footer_only(buf, "nonsense rule");
    assert_null(base_tz_parse("test", buf, n, why, sizeof(why)));
    assert_non_null(strstr(why, "POSIX TZ rule"));
    /* names */
    assert_null(base_tz_load("../etc/passwd", why, sizeof(why)));
    assert_non_null(strstr(why, "not a time zone name"));
    assert_null(base_tz_load("Mars/Olympus_Mons", why, sizeof(why)));
    assert_non_null(strstr(why, "unknown time zone"));
    assert_null(base_tz_load("/etc/localtime", why, sizeof(why)));
}

/* ---- cron ---- */

static void parse_ok(const char *s, struct base_cron *c)
{
    char why[200];
    size_t pos;
    if (base_cron_parse(s, c, why, sizeof(why), &pos) != 0)
        fail_msg("'%s': %s at %zu", s, why, pos);
}

static void test_cron_parses_and_refuses(void **state)
{
    struct base_cron c;
    parse_ok("*/15 9-17 * * mon-fri", &c);
    assert_true(c.minutes == (1ULL | 1ULL << 15 | 1ULL << 30 | 1ULL << 45));
    assert_int_equal(c.hours, 0x3fe00);
    assert_int_equal(c.wdays, 0x3e);
    parse_ok("0 2 * * 7", &c);
    assert_int_equal(c.wdays, 1);
    parse_ok("5/20 0 1,15 JAN,jul *", &c);
    assert_true(c.minutes == (1ULL << 5 | 1ULL << 25 | 1ULL << 45));
    assert_int_equal(c.months, 1 << 1 | 1 << 7);
    parse_ok("@weekly", &c);
    assert_int_equal(c.wdays, 1);
    parse_ok("  0   0  * * * ", &c);
    static const struct {
        const char *text;
        size_t pos;
        const char *why;
    } bad[] = {
        {"", 0, "5 fields"},           {"* * * *", 7, "5 fields"},       {"* * * * * *", 10, "5 fields"},
        {"60 * * * *", 0, "minute"},   {"* 24 * * *", 2, "hour"},         {"* * 0 * *", 4, "day of month"},
        {"* * * 13 *", 6, "month"},    {"* * * * 8", 8, "day of week"},   {"5-1 * * * *", 2, "before it starts"},
        {"*/0 * * * *", 2, "step"},    {"1,,2 * * * *", 2, "minute"},     {"1, * * * *", 2, "must not end"},
        {"* * * foo *", 6, "month"},   {"@often", 0, "unknown macro"},    {"1x * * * *", 1, "unexpected"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[200] = "";
        size_t pos = 999;
        if (base_cron_parse(bad[i].text, &c, why, sizeof(why), &pos) == 0)
            fail_msg("took '%s'", bad[i].text);
        if (!strstr(why, bad[i].why) || pos != bad[i].pos)
            fail_msg("'%s': '%s' at %zu, expected '%s' at %zu", bad[i].text, why, pos, bad[i].why, bad[i].pos);
    }
}

/* The next fire by walking minute by minute with the C library. */
static int64_t walk_next(const struct base_cron *c, int64_t after)
{
    for (int64_t t = (after / 60 + 1) * 60; t < after + 400LL * 86400; t += 60) {
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        bool md = (c->mdays >> tm.tm_mday) & 1, wd = (c->wdays >> tm.tm_wday) & 1;
        bool day = c->mday_star || c->wday_star ? (c->mday_star || md) && (c->wday_star || wd) : md || wd;
        if (day && ((c->months >> (tm.tm_mon + 1)) & 1) && ((c->hours >> tm.tm_hour) & 1) &&
            ((c->minutes >> tm.tm_min) & 1))
            return t;
    }
    return -1;
}

static void test_cron_next_matches_a_walk(void **state)
{
    static const char *const schedules[] = {"0 2 * * 0", "*/20 9-17 * * mon-fri", "0 0 1 * *", "30 3 15 * fri",
                                            "0 12 29 2 *", "45 23 * * *", "0 4 * jan,jul mon"};
    static const char *const tzs[] = {"Asia/Dhaka", "America/New_York", "UTC", "Asia/Kathmandu"};
    for (size_t z = 0; z < 4; z++) {
        struct base_tz *tz = base_tz_load(tzs[z], NULL, 0);
        assert_non_null(tz);
        use_tz(tzs[z]);
        for (size_t s = 0; s < sizeof(schedules) / sizeof(schedules[0]); s++) {
            struct base_cron c;
            parse_ok(schedules[s], &c);
            /* away from DST changes' hours: times there differ by design (see cron.h) */
            for (int64_t after = 1767225600; after < 1798761600; after += 11 * 86400 + 3 * 3600 + 7) {
                int64_t want = walk_next(&c, after);
                int64_t got = base_cron_next(&c, tz, after * 1000);
                if (want >= 0 && got != want * 1000)
                    fail_msg("%s in %s after %lld: %lld, the walk says %lld", schedules[s], tzs[z],
                             (long long)after, (long long)got, (long long)want * 1000);
            }
        }
        base_tz_free(tz);
    }
}

static void test_cron_next_across_dst(void **state)
{
    struct base_tz *tz = base_tz_load("Europe/Berlin", NULL, 0);
    struct base_cron c;
    parse_ok("30 2 * * *", &c);
    int64_t day = base_tz_days_from_civil(2026, 3, 29) * 86400;
    /* 02:30 does not exist on 2026-03-29: it fires at 03:30 CEST (01:30 UTC) */
    assert_int_equal(base_cron_next(&c, tz, (day - 3600) * 1000), (day + 5400) * 1000);
    /* 2026-10-25: 02:30 happens twice, it fires once (00:30 UTC), next at 01:30 UTC the day after */
    day = base_tz_days_from_civil(2026, 10, 25) * 86400;
    assert_int_equal(base_cron_next(&c, tz, (day - 3600) * 1000), (day + 1800) * 1000);
    assert_int_equal(base_cron_next(&c, tz, (day + 1800) * 1000), (day + 86400 + 5400) * 1000);
    parse_ok("0 0 30 2 *", &c);
    assert_int_equal(base_cron_next(&c, tz, 0), -1);
    base_tz_free(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_offsets_match_the_c_library),
        cmocka_unit_test(test_tz_local_to_instant),
        cmocka_unit_test(test_tz_gap_and_overlap),
        cmocka_unit_test(test_tz_rules_alone),
        cmocka_unit_test(test_tz_footer_rule_and_bad_files),
        cmocka_unit_test(test_cron_parses_and_refuses),
        cmocka_unit_test(test_cron_next_matches_a_walk),
        cmocka_unit_test(test_cron_next_across_dst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
