/*
 * libFuzzer target for rules/promql: the input is a PromQL expression. It
 * either parses or fails with a position inside the text and a message;
 * what parses is evaluated, at one instant and over a few steps, against a
 * small store of counters, gauges and a histogram (stale markers and a gap
 * included). Neither may crash, leak, read out of bounds or hang: the
 * evaluator's sample limit is kept small.
 */
#include "rules/promql.h"
#include "series/series.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 1700000000000LL

static struct series_db *db;

static void add(const char *name, const char *k, const char *v, const char *k2, const char *v2, int64_t t, double x)
{
    struct series_label l[3] = {{"__name__", name}, {k, v}, {k2, v2}};
    /* sorted: "__name__" < lower-case names */
    series_db_append(db, l, k2 ? 3 : 2, t, x);
}

static void seed(void)
{
    struct series_limits lim = {SERIES_DEFAULT_WINDOW_MS, 10000, 64u * 1024 * 1024};
    db = series_db_new(&lim);
    if (!db)
        abort();
    series_db_set_now(db, T0 + 3600000);
    static const char *const les[] = {"0.1", "0.5", "1", "+Inf"};
    for (int i = 0; i < 80; i++) {
        int64_t t = T0 + i * 15000LL;
        add("req_total", "code", "200", "job", "api", t, i < 40 ? i * 3.0 : (i - 40) * 2.0);
        add("req_total", "code", "500", "job", "api", t, i / 7);
        if (i < 20 || i > 50)
            add("temp", "job", "api", "room", "a", t, (i % 5) - 2.5);
        add("temp", "job", "db", "room", "b", t, i == 60 ? series_stale_nan() : i * 0.25);
        for (int b = 0; b < 4; b++)
            add("lat_bucket", "job", "api", "le", les[b], t, i * (b + 1));
        add("info", "job", "api", "version", "1.2", t, 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db)
        seed();
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct promql_error err;
    struct promql_expr *e = promql_parse(text, &err);
    if (!e) {
        if (err.pos > strlen(text) || !err.msg[0])
            abort();
        free(text);
        return 0;
    }
    struct promql_opts o;
    promql_opts_default(&o);
    o.max_samples = 200000;
    o.default_step_ms = 60000;
    struct promql_result r;
    int rc = promql_eval_instant(db, e, T0 + 900000, &o, &r, &err);
    if (rc == 0 && r.type != promql_expr_type(e))
        abort();
    if (rc != 0 && !err.msg[0])
        abort();
    promql_result_free(&r);
    enum promql_type t = promql_expr_type(e);
    if (t == PROMQL_SCALAR || t == PROMQL_VECTOR) {
        rc = promql_eval_range(db, e, T0 + 600000, T0 + 1200000, 120000, &o, &r, &err);
        for (size_t i = 0; rc == 0 && i < r.n; i++)
            if (r.series[i].n == 0 || r.series[i].n > 6)
                abort();
        promql_result_free(&r);
    }
    promql_expr_free(e);
    free(text);
    return 0;
}
