/*
 * cli/cmd_check: `opshub check` — runs checks once, concurrently, on a
 * private loop with the same probe engine as the daemon; prints a table
 * (one row per check, its named values on an indented line below) or JSON,
 * and exits with the Nagios convention: 0 all up, 1 any degraded, 2 any
 * down or an error. Stores nothing.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "conf/conf.h"
#include "probe/registry.h"
#include "probe/probe.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct result {
    const struct conf_check *check;
    struct probe_run *run;   /* while running */
    struct sample sample;
    char *detail;            /* the sample's detail (JSON object text), or NULL */
    bool done;
};

struct check_run {
    struct result *results;
    size_t n, done;
    bool progress;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: opshub check [--config FILE] [--json] [ID...]\n\n"
            "Runs the configured checks (all, or the ids given) once and prints the results.\n"
            "Exit 0 when all are up, 1 when any is degraded, 2 when any is down or on error.\n\n"
            "  -c, --config FILE   configuration file (default ./opshub.yaml)\n"
            "  -j, --json          print JSON instead of a table\n"
            "  -h, --help          this help\n");
}

static void on_done(void *data, const struct sample *s)
{
    struct result *r = data;
    r->sample = *s;
    const char *detail = probe_run_detail(r->run);
    r->detail = detail ? base_strdup(detail) : NULL;
    r->run = NULL;
    r->done = true;
}

/* A whole number a double holds exactly (|x| < 2^53): printed as an integer. */
static bool is_whole(double x)
{
    return x == x && x > -9007199254740992.0 && x < 9007199254740992.0 && x == (double)(int64_t)x;
}

/* One table line per check; its values on an indented line below. */
static void print_table(const struct check_run *cr)
{
    size_t w = 2, tw = 4;
    for (size_t i = 0; i < cr->n; i++) {
        if (strlen(cr->results[i].check->id) > w)
            w = strlen(cr->results[i].check->id);
        if (strlen(cr->results[i].check->type->name) > tw)
            tw = strlen(cr->results[i].check->type->name);
    }
    printf("%-*s  %-*s  %-8s  %9s  %4s  %s\n", (int)w, "ID", (int)tw, "TYPE", "STATUS", "LATENCY", "CODE", "ERROR");
    for (size_t i = 0; i < cr->n; i++) {
        const struct result *r = &cr->results[i];
        char latency[32], code[8];
        snprintf(latency, sizeof(latency), "%.1fms", r->sample.latency_ms);
        snprintf(code, sizeof(code), "%d", r->sample.code);
        printf("%-*s  %-*s  %-8s  %9s  %4s  %s\n", (int)w, r->check->id, (int)tw, r->check->type->name,
               sample_result_name(r->sample.result), latency, r->sample.code ? code : "-", r->sample.error);
        for (uint32_t v = 0; v < r->sample.n_values && v < SAMPLE_VALUES_MAX; v++) {
            double x = r->sample.values[v].value;
            const char *name = sample_value_name(&r->sample.values[v]), *sep = v ? " " : "    ";
            const char *end = v + 1 == r->sample.n_values ? "\n" : "";
            if (is_whole(x))  /* byte counts and codes exactly (270553174016, not 2.70553e+11) */
                printf("%s%s=%.0f%s", sep, name, x, end);
            else  /* fixed decimals for small durations (0.000058, not 5.8e-05) */
                printf(x != 0 && x > -0.001 && x < 0.001 ? "%s%s=%.6f%s" : "%s%s=%.6g%s", sep, name, x, end);
        }
        if (r->detail)
            printf("    detail %s\n", r->detail);
    }
}

static json_t *values_json(const struct sample *s)
{
    json_t *o = json_object();
    for (uint32_t i = 0; o && i < s->n_values && i < SAMPLE_VALUES_MAX; i++)
        json_object_set_new(o, sample_value_name(&s->values[i]),
                            is_whole(s->values[i].value) ? json_integer((json_int_t)s->values[i].value)
                                                         : json_real(s->values[i].value));
    return o;
}

static int print_json(const struct check_run *cr, const size_t counts[3])
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < cr->n; i++) {
        const struct result *r = &cr->results[i];
        json_t *detail = r->detail ? json_loads(r->detail, 0, NULL) : NULL;
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:f, s:i, s:s, s:o*, s:o*}", "id", r->check->id,
                                              "type", r->check->type->name,
                                              "status", sample_result_name(r->sample.result),
                                              "latency_ms", r->sample.latency_ms, "code", r->sample.code,
                                              "error", r->sample.error, "values", values_json(&r->sample),
                                              "detail", detail));
    }
    json_t *doc = json_pack("{s:o, s:{s:I, s:I, s:I}}", "checks", list ? list : json_array(), "summary",
                            "up", (json_int_t)counts[0], "degraded", (json_int_t)counts[1], "down", (json_int_t)counts[2]);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

static void on_engine_closed(void *data)
{
    (void)data;
}

static int run_checks(struct check_run *cr)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct probe_engine *e = probe_engine_new(&loop, NULL);
    if (!e) {
        uv_loop_close(&loop);
        return -1;
    }
    for (size_t i = 0; i < cr->n; i++)
        if (!(cr->results[i].run = probe_start(e, cr->results[i].check, on_done, &cr->results[i]))) {
            sample_init(&cr->results[i].sample, 0);
            cr->results[i].sample.result = SAMPLE_DOWN;
            sample_set_error(&cr->results[i].sample, "could not start the probe (out of memory)");
            cr->results[i].done = true;
        }
    /* Drive the loop until every result is in, showing progress on a terminal. */
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < cr->n; i++)
            done += cr->results[i].done;
        if (cr->progress && done != cr->done)
            fprintf(stderr, "\rchecking... %zu/%zu", done, cr->n);
        cr->done = done;
        if (done == cr->n)
            break;
        uv_run(&loop, UV_RUN_ONCE);
    }
    if (cr->progress)
        fprintf(stderr, "\r\033[K");
    probe_engine_close(e, on_engine_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

int cli_cmd_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    const char *path = "opshub.yaml";
    bool json = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:jh", options, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    struct conf *c = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    if (conf_load_file(probe_registry_types(), path, &c, &errs) != 0) {
        base_errors_print(&errs, stderr);
        if (!errs.len)
            fprintf(stderr, "%s: cannot load configuration\n", path);
        base_errors_free(&errs);
        return 2;
    }
    base_errors_free(&errs);

    int exit_code = 2;
    struct check_run cr = {0};
    cr.progress = !json && isatty(STDERR_FILENO);
    cr.results = base_calloc(c->n_checks ? c->n_checks : 1, sizeof(*cr.results));
    if (!cr.results)
        goto out;
    for (int i = optind; i < argc; i++)
        if (!conf_check_find(c, argv[i])) {
            fprintf(stderr, "opshub check: unknown check id '%s' in %s\n", argv[i], path);
            goto out;
        }
    for (size_t i = 0; i < c->n_checks; i++) {
        const struct conf_check *cc = &c->checks[i];
        bool wanted = optind >= argc;
        for (int j = optind; j < argc && !wanted; j++)
            wanted = strcmp(argv[j], cc->id) == 0;
        if (wanted && (cc->enabled || optind < argc))
            cr.results[cr.n++].check = cc;
    }
    if (run_checks(&cr) != 0) {
        fprintf(stderr, "opshub check: could not run the checks\n");
        goto out;
    }
    size_t counts[3] = {0};
    for (size_t i = 0; i < cr.n; i++)
        counts[cr.results[i].sample.result <= SAMPLE_DOWN ? cr.results[i].sample.result : SAMPLE_DOWN]++;
    if (json) {
        if (print_json(&cr, counts) != 0)
            goto out;
    } else {
        print_table(&cr);
    }
    exit_code = counts[SAMPLE_DOWN] ? 2 : counts[SAMPLE_DEGRADED] ? 1 : 0;
out:
    for (size_t i = 0; cr.results && i < cr.n; i++)
        base_free(cr.results[i].detail);
    base_free(cr.results);
    conf_destroy(c);
    return exit_code;
}
