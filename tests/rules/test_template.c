/*
 * Unit tests for rules/template: the values Prometheus' template functions
 * give (humanize, humanize1024, humanizePercentage, humanizeDuration in Go's
 * %.4g), $value and $labels, printf, case functions, reReplaceAll,
 * if/else/end with comparisons, trim markers and comments; every parse
 * error with its position; expansion errors shown as Prometheus shows them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rules/template.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct template_kv labels[] = {{"check", "api"}, {"instance", "10.0.0.1:9100"}, {"severity", "critical"}};

static void expands(const char *text, double value, const char *want)
{
    char why[160];
    size_t pos;
    struct template *t = template_parse(text, why, sizeof(why), &pos);
    if (!t)
        fail_msg("%s: %s at %zu", text, why, pos);
    struct template_data d = {value, labels, 3, NULL, 0, NULL, 0, NULL, 0};
    char out[1024];
    template_expand(t, &d, out, sizeof(out));
    template_free(t);
    if (strcmp(out, want) != 0)
        fail_msg("%s ($value %g): got '%s', want '%s'", text, value, out, want);
}

static void refused(const char *text, const char *msg, size_t want_pos)
{
    char why[160];
    size_t pos;
    struct template *t = template_parse(text, why, sizeof(why), &pos);
    if (t)
        fail_msg("%s: parsed", text);
    if (!strstr(why, msg))
        fail_msg("%s: '%s', expected '%s'", text, why, msg);
    if (pos != want_pos)
        fail_msg("%s: position %zu, expected %zu", text, pos, want_pos);
}

static void test_template_values_and_functions(void **state)
{
    expands("plain text", 0, "plain text");
    expands("{{ $value }}", 0.5, "0.5");
    expands("{{ $value }}", 1e6, "1e+06");
    expands("{{ $value }}", 123456, "123456");
    expands("{{ $value }}", 1234567, "1.234567e+06");
    expands("{{ $value }}", 0.00001, "1e-05");
    expands("{{ .Value }}/{{ .Labels.check }}", 2, "2/api");
    expands("{{ $labels.check }} on {{ $labels.instance }} is down", 0, "api on 10.0.0.1:9100 is down");
    expands("[{{ $labels.nope }}]", 0, "[]");
    expands("{{ $externalLabels.cluster }}", 0, "");
    expands("{{ $value | humanize }}", 1234567, "1.235M");
    expands("{{ humanize $value }}", 0.001234, "1.234m");
    expands("{{ humanize 0 }}", 0, "0");
    expands("{{ humanize -1500 }}", 0, "-1.5k");
    expands("{{ $value | humanize1024 }}", 1048576, "1Mi");
    expands("{{ humanize1024 2048 }}", 0, "2ki");
    expands("{{ humanize1024 0.5 }}", 0, "0.5");
    expands("{{ $value | humanizePercentage }}", 0.1234, "12.34%");
    expands("{{ humanizeDuration 3661 }}", 0, "1h 1m 1s");
    expands("{{ humanizeDuration 90061 }}", 0, "1d 1h 1m 1s");
    expands("{{ humanizeDuration 45.5 }}", 0, "45.5s");
    expands("{{ humanizeDuration 0.25 }}", 0, "250ms");
    expands("{{ humanizeDuration 0 }}", 0, "0s");
    expands("{{ humanizeDuration -90 }}", 0, "-1m 30s");
    expands("{{ humanize \"2048\" }}", 0, "2.048k");
    expands("{{ printf \"%.2f\" $value }}", 3.14159, "3.14");
    expands("{{ printf \"%s=%d (%5.1f%%)\" \"x\" 5 $value }}", 12.34, "x=5 ( 12.3%)");
    expands("{{ $labels.severity | toUpper }}", 0, "CRITICAL");
    expands("{{ toLower \"MiXed\" }}", 0, "mixed");
    expands("{{ title \"hello big world\" }}", 0, "Hello Big World");
    expands("{{ reReplaceAll \"(a+)\" \"<$1>\" \"caaat\" }}", 0, "c<aaa>t");
    expands("{{ reReplaceAll \":.*\" \"\" $labels.instance }}", 0, "10.0.0.1");
    expands("{{ if gt $value 80.0 }}high{{ else }}low{{ end }}", 95, "high");
    expands("{{ if gt $value 80.0 }}high{{ else }}low{{ end }}", 5, "low");
    expands("{{ if eq $labels.severity \"critical\" }}page{{ end }}!", 0, "page!");
    expands("{{ if $labels.nope }}yes{{ else }}{{ if $value }}value{{ end }}{{ end }}", 1, "value");
    expands("a  {{- 1 -}}  b", 0, "a1b");
    expands("x{{/* a comment */}}y", 0, "xy");
    expands("{{ (printf \"%s-%s\" $labels.check \"x\") | toUpper }}", 0, "API-X");
    expands("{{ humanize }}", 0, "<error expanding template: wrong number of arguments for humanize: 0>");
    expands("{{ humanize \"abc\" }}", 0, "<error expanding template: cannot convert \"abc\" to a number>");
    expands("{{ reReplaceAll \"(\" \"\" \"x\" }}", 0,
            "<error expanding template: reReplaceAll: bad pattern: missing closing parenthesis>");
}

static void test_template_refusals(void **state)
{
    refused("{{ $nope }}", "undefined variable or field \"$nope\"", 3);
    refused("ab {{ foo 1 }}", "function \"foo\" not defined", 6);
    refused("{{ if 1 }}x", "{{if}} without {{end}}", 3);
    refused("x{{ end }}", "unexpected {{end}}", 10);
    refused("{{ range $labels }}x{{ end }}", "{{range}} is not supported", 3);
    refused("{{ if 1 }}a{{ else if 2 }}b{{ end }}", "{{else if}} is not supported", 14);
    refused("text {{ $value", "unclosed action", 5);
    refused("{{ \"open }}", "unterminated quoted string", 3);
    refused("{{ $value 1 }}", "a value cannot take arguments", 3);
    refused("{{ 1 | }}", "missing value in a pipeline", 6);
    refused("{{ (humanize 1 }}", "unclosed left parenthesis", 15);
    refused("{{ $labels.a.b }}", "bad label reference", 3);
    refused("{{ 1 humanize }}", "a function (humanize) can only start a command", 5);
    char deep[200];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof(deep), "{{ ");
    for (int i = 0; i < 40; i++)
        deep[n++] = '(';
    memcpy(deep + n, "}}", 3);
    refused(deep, "nested deeper than 32", 35);
}

/* Notification templates see $annotations; alert rules' templates do not. */
static void test_template_annotations_only_when_asked(void **state)
{
    char why[160];
    size_t pos;
    assert_null(template_parse("{{ $annotations.summary }}", why, sizeof(why), &pos));
    assert_non_null(strstr(why, "undefined variable"));
    struct template *t = template_parse_flags("{{ .Annotations.summary | toUpper }}/{{ $annotations.nope }}/{{ $value }}",
                                              TEMPLATE_PARSE_ANNOTATIONS, why, sizeof(why), &pos);
    assert_non_null(t);
    static const struct template_kv ann[] = {{"summary", "api is down"}};
    struct template_data d = {2, labels, 3, NULL, 0, ann, 1, NULL, 0};
    char out[128];
    template_expand(t, &d, out, sizeof(out));
    assert_string_equal(out, "API IS DOWN//2");
    template_free(t);
}

static void test_template_output_is_bounded(void **state)
{
    char why[160];
    size_t pos;
    struct template *t = template_parse("{{ $labels.check }}{{ $labels.check }}{{ $labels.check }}", why, sizeof(why), &pos);
    assert_non_null(t);
    struct template_data d = {0, labels, 3, NULL, 0, NULL, 0, NULL, 0};
    char out[5];
    template_expand(t, &d, out, sizeof(out));
    assert_string_equal(out, "apia");
    template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_values_and_functions),
        cmocka_unit_test(test_template_refusals),
        cmocka_unit_test(test_template_annotations_only_when_asked),
        cmocka_unit_test(test_template_output_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
