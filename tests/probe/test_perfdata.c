/*
 * Unit tests for probe/perfdata: the output of real monitoring-plugins
 * (check_disk, check_load, check_http), the plugin guidelines' multi-line
 * form, quoting, every unit, names that need cleaning, and what is dropped:
 * "U", junk, comma decimals, hex and inf, duplicates and data past the cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "probe/perfdata.h"

#include <stdio.h>
#include <string.h>

#define S(lit) (lit), (sizeof(lit) - 1)

static const struct probe_perfdata_item *item(const struct probe_perfdata *pd, const char *name)
{
    for (size_t i = 0; i < pd->n_items; i++)
        if (!strcmp(pd->items[i].name, name))
            return &pd->items[i];
    fail_msg("no value %s", name);
    return NULL;
}

static void summary_is(const struct probe_perfdata *pd, const char *want)
{
    if (pd->summary_len != strlen(want) || memcmp(pd->summary, want, pd->summary_len))
        fail_msg("summary '%.*s', want '%s'", (int)pd->summary_len, pd->summary, want);
}

static void test_real_plugins(void **state)
{
    struct probe_perfdata pd;
    probe_perfdata_parse(S("DISK OK - free space: / 3326 MiB (56% inode=99%);| /=2643MB;5948;5958;0;5968\n"), &pd);
    summary_is(&pd, "DISK OK - free space: / 3326 MiB (56% inode=99%);");
    assert_int_equal(pd.n_items, 1);
    assert_string_equal(pd.items[0].label, "/");
    assert_true(item(&pd, "root_bytes")->value == 2643.0 * 1048576);

    probe_perfdata_parse(S("OK - load average: 0.96, 0.27, 0.09|load1=0.960;5.000;10.000;0; "
                           "load5=0.270;5.000;10.000;0; load15=0.090;5.000;10.000;0;\n"), &pd);
    assert_int_equal(pd.n_items, 3);
    assert_int_equal(pd.dropped, 0);
    assert_true(item(&pd, "load1")->value == 0.96);
    assert_true(item(&pd, "load15")->value == 0.09);

    probe_perfdata_parse(S("HTTP OK: HTTP/1.1 200 OK - 612 bytes in 0.001 second response time "
                           "|time=0.000521s;;;0.000000;10.000000 size=612B;;;0\n"), &pd);
    summary_is(&pd, "HTTP OK: HTTP/1.1 200 OK - 612 bytes in 0.001 second response time");
    assert_true(item(&pd, "time_seconds")->value == 0.000521);
    assert_true(item(&pd, "size_bytes")->value == 612);
}

static void test_multiline_and_quotes(void **state)
{
    struct probe_perfdata pd;
    static const char out[] = "  OK - fine  | 'time'=250ms;1;2;0; size=2KB\n"
                              "long text | 'rx bytes'=7c\n"
                              "tx=3c 'it''s'=1e3us\n"
                              "| more=1\n";
    probe_perfdata_parse(S(out), &pd);
    summary_is(&pd, "OK - fine");
    assert_int_equal(pd.n_items, 6);
    assert_true(item(&pd, "time_seconds")->value == 0.25);
    assert_true(item(&pd, "size_bytes")->value == 2048);
    assert_true(item(&pd, "rx_bytes_total")->value == 7);
    assert_true(item(&pd, "tx_total")->value == 3);
    assert_string_equal(item(&pd, "it_s_seconds")->label, "it's");
    assert_true(item(&pd, "it_s_seconds")->value == 1e-3);
    /* a bar on a later line is data too, once the long text ended */
    assert_true(item(&pd, "more")->value == 1);

    /* long text without a bar: no data at all */
    probe_perfdata_parse(S("CRITICAL - down\nsecond line\nthird = 5\n"), &pd);
    summary_is(&pd, "CRITICAL - down");
    assert_int_equal(pd.n_items, 0);
    assert_int_equal(pd.dropped, 0);
}

static void test_units(void **state)
{
    static const struct {
        const char *uom, *name;
        double factor;
    } cases[] = {
        {"", "x", 1}, {"s", "x_seconds", 1}, {"ms", "x_seconds", 1e-3}, {"us", "x_seconds", 1e-6},
        {"%", "x_ratio", 0.01}, {"B", "x_bytes", 1}, {"KB", "x_bytes", 1024}, {"kB", "x_bytes", 1024},
        {"MB", "x_bytes", 1048576}, {"GB", "x_bytes", 1073741824.0}, {"TB", "x_bytes", 1099511627776.0},
        {"MiB", "x_bytes", 1048576}, {"c", "x_total", 1}, {"widgets", "x", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[64], name[SAMPLE_VALUE_NAME_MAX];
        double f;
        bool known = probe_perfdata_name("x", 1, cases[i].uom, strlen(cases[i].uom), name, &f);
        assert_string_equal(name, cases[i].name);
        assert_true(f == cases[i].factor);
        assert_int_equal(known, strcmp(cases[i].uom, "widgets") != 0);
        snprintf(text, sizeof(text), "t | x=2%s;1;2", cases[i].uom);
        struct probe_perfdata pd;
        probe_perfdata_parse(text, strlen(text), &pd);
        assert_int_equal(pd.n_items, 1);
        assert_true(pd.items[0].value == 2 * cases[i].factor);
    }
}

static void test_names(void **state)
{
    static const struct {
        const char *label, *uom, *name;
    } cases[] = {
        {"/", "MB", "root_bytes"},
        {"//", "", "root"},
        {"/var/lib", "MB", "var_lib_bytes"},
        {"Used Memory", "%", "used_memory_ratio"},
        {"1min", "", "_1min"},
        {"...", "", "value"},
        {"time_seconds", "s", "time_seconds"},   /* no second suffix */
        /* cut to fit the suffix, no '_' left at the cut */
        {"a-very-long-label-that-goes-on-and-on-and-on", "ms", "a_very_long_label_that_seconds"},
        {"a-very-long-label-that-goes-on-and-on-and-on", "", "a_very_long_label_that_goes_on"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[SAMPLE_VALUE_NAME_MAX];
        double f;
        probe_perfdata_name(cases[i].label, strlen(cases[i].label), cases[i].uom, strlen(cases[i].uom), name, &f);
        if (strcmp(name, cases[i].name))
            fail_msg("label '%s' %s: name %s, want %s", cases[i].label, cases[i].uom, name, cases[i].name);
        assert_true(sample_value_name_ok(name));
    }
}

static void test_dropped(void **state)
{
    struct probe_perfdata pd;
    probe_perfdata_parse(S("t | a=U b=1,5 c=0x10 d=inf e=nan f= =3 g h=1;2 h=2 'open=1 i=2\n"), &pd);
    /* U, the comma decimal, hex, inf, nan, empty value, no label, no '=', a repeated name,
     * and the unterminated quote eats the rest of the line */
    assert_int_equal(pd.n_items, 1);
    assert_true(item(&pd, "h")->value == 1);
    assert_int_equal(pd.dropped, 10);

    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "OK |");
    for (int i = 0; i < PROBE_PERFDATA_ITEMS_MAX + 5; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, " v%d=%d", i, i);
    probe_perfdata_parse(big, n, &pd);
    assert_int_equal(pd.n_items, PROBE_PERFDATA_ITEMS_MAX);
    assert_int_equal(pd.dropped, 5);

    /* nothing, NULs, a lone bar */
    probe_perfdata_parse(NULL, 0, &pd);
    assert_int_equal(pd.summary_len, 0);
    probe_perfdata_parse(S("a\0b | x=1\0 y=2"), &pd);
    assert_int_equal(pd.n_items, 1);
    probe_perfdata_parse(S("|"), &pd);
    assert_int_equal(pd.n_items + pd.dropped + pd.summary_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_plugins),
        cmocka_unit_test(test_multiline_and_quotes),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
